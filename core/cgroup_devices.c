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

int
cgroup_v1_devices (const char *dir, const struct spec_device_rule *rules, size_t n,
                   struct focker_err **err)
{
  for (size_t i = 0; i < n; i++)
    {
      char v[96];
      int rc;
      v1_rule_text (v, sizeof v, &rules[i]);
      rc = cg_set (dir, rules[i].allow ? "devices.allow" : "devices.deny", v, "devices", err);
      if (rc < 0)
        return rc;
    }
  return 0;
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
