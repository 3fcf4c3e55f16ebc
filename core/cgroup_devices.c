/* cgroup_devices.c: which device nodes a container may use.
 *
 * One ordered list of rules, built as runc builds it: deny everything, the config's
 * linux.resources.devices, the devices every container gets (runc's AllowedDevices), then
 * rwm on each node linux.devices creates.  The last rule matching an access decides.  On
 * cgroup v1 the list is written to the devices cgroup's devices.deny/devices.allow in order;
 * on cgroup v2 it becomes a BPF device program (cgroup_bpf.c) attached to the container's
 * directory, replacing the one attached before (update), with no moment without a filter:
 * the new program is attached before the old one is detached. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cgroup_bpf.h"
#include "core/cgroup_internal.h"
#include "core/cleanup.h"

bool cgroup_devices_prefer_bpf;

#define RULE(t, ma, mi)                                                                            \
  {                                                                                                \
    .allow = true, .type = (t), .major = (ma), .minor = (mi), .access = "rwm"                      \
  }

static const struct spec_device_rule default_rules[] = {
  /* mknod of any device: creating a node is harmless, opening it is what the rules guard */
  { .allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m" },
  { .allow = true, .type = 'b', .major = -1, .minor = -1, .access = "m" },
  RULE ('c', 1, 3),    /* null */
  RULE ('c', 1, 5),    /* zero */
  RULE ('c', 1, 7),    /* full */
  RULE ('c', 1, 8),    /* random */
  RULE ('c', 1, 9),    /* urandom */
  RULE ('c', 5, 0),    /* tty */
  RULE ('c', 5, 1),    /* console */
  RULE ('c', 5, 2),    /* ptmx */
  RULE ('c', 136, -1), /* pts */
  RULE ('c', 10, 200), /* net/tun */
};

size_t
cgroup_device_rules (struct spec_device_rule **out, const struct spec_resources *r,
                     const struct spec_device *devs, size_t n_devs)
{
  size_t n_def = sizeof default_rules / sizeof *default_rules;
  size_t n_res = r ? r->n_devices : 0;
  struct spec_device_rule *v = xcalloc (1 + n_res + n_def + n_devs, sizeof *v);
  size_t k = 0;

  v[k++] = (struct spec_device_rule){
    .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"
  };
  for (size_t i = 0; i < n_res; i++)
    v[k++] = r->devices[i];
  for (size_t i = 0; i < n_def; i++)
    v[k++] = default_rules[i];
  for (size_t i = 0; i < n_devs; i++)
    {
      /* a fifo is not a device the cgroup guards */
      if (devs[i].type == 'p')
        continue;
      v[k++] = (struct spec_device_rule){ .allow = true,
                                          .type = devs[i].type == 'b' ? 'b' : 'c',
                                          .major = devs[i].major,
                                          .minor = devs[i].minor,
                                          .access = "rwm" };
    }
  *out = v;
  return k;
}

/* ---- cgroup v1 ---- */

static void
v1_rule_text (char *buf, size_t n, const struct spec_device_rule *d)
{
  char maj[24], min[24];
  const char *acc = d->access && *d->access ? d->access : "rwm";

  if (d->major < 0)
    snprintf (maj, sizeof maj, "*");
  else
    snprintf (maj, sizeof maj, "%" PRId64, d->major);
  if (d->minor < 0)
    snprintf (min, sizeof min, "*");
  else
    snprintf (min, sizeof min, "%" PRId64, d->minor);
  if ((d->type == 0 || d->type == 'a') && strcmp (acc, "rwm") == 0)
    /* "a" alone switches the list's default (allow or deny everything) */
    snprintf (buf, n, "a");
  else
    snprintf (buf, n, "%c %s:%s %s", d->type ? d->type : 'a', maj, min, acc);
}

/* The whitelist a v1 devices cgroup holds, as the kernel keeps it: a default (allow or deny
 * everything) and exceptions to it, each a device (wildcards as -1) with access bits. */
enum
{
  ACC_R = 1,
  ACC_W = 2,
  ACC_M = 4
};

struct v1_exc
{
  char type;
  int64_t major, minor;
  unsigned acc;
};

struct v1_list
{
  bool allow_all;
  struct v1_exc *v;
  size_t n, cap;
};

static unsigned
acc_bits (const char *s)
{
  unsigned b = 0;
  for (; s && *s && *s != '\n'; s++)
    b |= *s == 'r' ? ACC_R : *s == 'w' ? ACC_W : *s == 'm' ? ACC_M : 0;
  return b;
}

static struct v1_exc *
v1_find (struct v1_list *l, char type, int64_t major, int64_t minor)
{
  for (size_t i = 0; i < l->n; i++)
    if (l->v[i].type == type && l->v[i].major == major && l->v[i].minor == minor)
      return &l->v[i];
  return NULL;
}

/* The kernel's dev_exception_add: merge into the same device's exception. */
static void
v1_add (struct v1_list *l, char type, int64_t major, int64_t minor, unsigned acc)
{
  struct v1_exc *e = v1_find (l, type, major, minor);

  if (e)
    {
      e->acc |= acc;
      return;
    }
  if (l->n == l->cap)
    {
      l->cap = l->cap ? 2 * l->cap : 16;
      l->v = xrealloc (l->v, l->cap * sizeof *l->v);
    }
  l->v[l->n++] = (struct v1_exc){ type, major, minor, acc };
}

/* The kernel's dev_exception_rm: clear bits of the same device's exception only. */
static void
v1_rm (struct v1_list *l, char type, int64_t major, int64_t minor, unsigned acc)
{
  struct v1_exc *e = v1_find (l, type, major, minor);

  if (e == NULL)
    return;
  e->acc &= ~acc;
  if (e->acc == 0)
    *e = l->v[--l->n];
}

/* What writing `d` to devices.allow or devices.deny does to the list. */
static void
v1_apply (struct v1_list *l, const struct spec_device_rule *d)
{
  if (d->type == 0 || d->type == 'a')
    {
      /* any rule of type 'a' resets the list (the kernel reads only its first letter) */
      l->allow_all = d->allow;
      l->n = 0;
      return;
    }
  /* an exception is the opposite of the default */
  if (d->allow != l->allow_all)
    v1_add (l, d->type, d->major, d->minor, acc_bits (d->access && *d->access ? d->access : "rwm"));
  else
    v1_rm (l, d->type, d->major, d->minor, acc_bits (d->access && *d->access ? d->access : "rwm"));
}

static int64_t
v1_num (const char *s, char **end)
{
  if (*s == '*')
    {
      *end = (char *)s + 1;
      return -1;
    }
  return strtoll (s, end, 10);
}

/* devices.list: "a *:* rwm" alone when everything is allowed (the exceptions, if any, are not
 * shown), otherwise one allowed device per line.  False when it cannot be read or parsed. */
static bool
v1_parse_list (struct v1_list *l, const char *text)
{
  const char *s = text;

  *l = (struct v1_list){ 0 };
  while (*s)
    {
      char type = *s, *end;
      int64_t major, minor;
      const char *nl = strchr (s, '\n');

      if ((type != 'a' && type != 'b' && type != 'c') || s[1] != ' ')
        return false;
      major = v1_num (s + 2, &end);
      if (*end != ':')
        return false;
      minor = v1_num (end + 1, &end);
      if (*end != ' ')
        return false;
      if (type == 'a')
        l->allow_all = true;
      else
        v1_add (l, type, major, minor, acc_bits (end + 1));
      if (nl == NULL)
        break;
      s = nl + 1;
    }
  return true;
}

static int
v1_write (const char *dir, bool allow, const struct v1_exc *e, unsigned acc,
          struct focker_err **err)
{
  char acc_s[4] = { 0 }, *p = acc_s;
  struct spec_device_rule d
      = { .allow = allow, .type = e->type, .major = e->major, .minor = e->minor };
  char v[96];

  if (acc & ACC_R)
    *p++ = 'r';
  if (acc & ACC_W)
    *p++ = 'w';
  if (acc & ACC_M)
    *p++ = 'm';
  d.access = acc_s;
  v1_rule_text (v, sizeof v, &d);
  return cg_set (dir, allow ? "devices.allow" : "devices.deny", v, "devices", err);
}

/* From the list the cgroup has to `want`, touching nothing both allow: what is newly allowed
 * first, then what is no longer allowed.  Only when both deny by default; otherwise the
 * current exceptions are not known and the list is written whole. */
static int
v1_transition (const char *dir, struct v1_list *have, struct v1_list *want, struct focker_err **err)
{
  for (size_t i = 0; i < want->n; i++)
    {
      struct v1_exc *h = v1_find (have, want->v[i].type, want->v[i].major, want->v[i].minor);
      unsigned add = want->v[i].acc & ~(h ? h->acc : 0);
      int rc = add ? v1_write (dir, true, &want->v[i], add, err) : 0;
      if (rc < 0)
        return rc;
    }
  for (size_t i = 0; i < have->n; i++)
    {
      struct v1_exc *w = v1_find (want, have->v[i].type, have->v[i].major, have->v[i].minor);
      unsigned drop = have->v[i].acc & ~(w ? w->acc : 0);
      int rc = drop ? v1_write (dir, false, &have->v[i], drop, err) : 0;
      if (rc < 0)
        return rc;
    }
  return 0;
}

int
cgroup_v1_devices (const char *dir, const struct spec_device_rule *rules, size_t n,
                   struct focker_err **err)
{
  struct v1_list have = { 0 }, want = { 0 };
  _cleanup_free_ char *text = NULL;
  int rc = 0;

  for (size_t i = 0; i < n; i++)
    v1_apply (&want, &rules[i]);
  rc = cg_read (&text, dir, "devices.list");
  if (rc < 0 && rc != -ENOENT)
    {
      /* not knowing what the container has, a rewrite could take a device away */
      rc = focker_fail (err, rc, "linux.resources.devices: read %s/devices.list", dir);
      goto out;
    }
  rc = 0;
  if (text && v1_parse_list (&have, text) && !have.allow_all && !want.allow_all)
    {
      /* update: the cgroup denies by default already; change only what differs, so no
       * device the container keeps is ever refused to it, even for a moment (runc does the
       * same) */
      rc = v1_transition (dir, &have, &want, err);
      goto out;
    }
  for (size_t i = 0; i < n && rc >= 0; i++)
    {
      char v[96];
      v1_rule_text (v, sizeof v, &rules[i]);
      rc = cg_set (dir, rules[i].allow ? "devices.allow" : "devices.deny", v, "devices", err);
    }
out:
  free (have.v);
  free (want.v);
  return rc < 0 ? rc : 0;
}

/* ---- cgroup v2 ---- */

#define MAX_ATTACHED 64

static int
load_program (const struct spec_device_rule *rules, size_t n, struct focker_err **err)
{
  _cleanup_free_ struct bpf_insn *insns = NULL;
  size_t n_insns = cgroup_bpf_devices (&insns, rules, n);
  _cleanup_free_ char *log = NULL;
  int fd;

  fd = sys_bpf_prog_load (BPF_PROG_TYPE_CGROUP_DEVICE, insns, (unsigned)n_insns, NULL, 0);
  if (fd != -EINVAL && fd != -EACCES)
    return fd < 0 ? focker_fail (err, fd,
                                 "linux.resources.devices: load the cgroup v2 device "
                                 "program (%zu instructions)",
                                 n_insns)
                  : fd;
  /* refused by the verifier: load again for its log, to say why */
  log = xcalloc (1, 65536);
  fd = sys_bpf_prog_load (BPF_PROG_TYPE_CGROUP_DEVICE, insns, (unsigned)n_insns, log, 65536);
  if (fd >= 0)
    return fd;
  log[strcspn (log, "\n")] = '\0';
  return focker_fail (err, fd,
                      "linux.resources.devices: the kernel refused the cgroup v2 device program "
                      "(%zu instructions): %s",
                      n_insns, *log ? log : "no verifier log");
}

int
cgroup_v2_devices (const char *dir, const struct spec_device_rule *rules, size_t n,
                   struct focker_err **err)
{
  _cleanup_close_ int cgfd = -1, prog = -1;
  uint32_t old[MAX_ATTACHED], n_old = MAX_ATTACHED;
  int r;

  cgfd = sys_openat (AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (cgfd < 0)
    return focker_fail (err, cgfd, "linux.resources.devices: open %s", dir);
  r = sys_bpf_prog_query (cgfd, BPF_CGROUP_DEVICE, old, &n_old);
  if (r < 0)
    return focker_fail (err, r, "linux.resources.devices: list the device programs of %s", dir);
  prog = load_program (rules, n, err);
  if (prog < 0)
    return prog;
  /* ALLOW_MULTI: programs of the ancestors (systemd's) keep running too; all must allow */
  r = sys_bpf_prog_attach (prog, cgfd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
  if (r < 0)
    return focker_fail (err, r, "linux.resources.devices: attach the device program to %s", dir);
  for (uint32_t i = 0; i < n_old; i++)
    {
      _cleanup_close_ int fd = sys_bpf_prog_get_fd_by_id (old[i]);
      if (fd == -ENOENT)
        continue; /* gone meanwhile */
      if (fd < 0)
        return focker_fail (
            err, fd, "linux.resources.devices: open device program %" PRIu32 " of %s", old[i], dir);
      r = sys_bpf_prog_detach (fd, cgfd, BPF_CGROUP_DEVICE);
      if (r < 0 && r != -ENOENT)
        return focker_fail (err, r,
                            "linux.resources.devices: detach the previous device program %" PRIu32
                            " from %s",
                            old[i], dir);
    }
  return 0;
}
