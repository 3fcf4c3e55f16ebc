/* confine.c: capabilities, seccomp, LSM labels, keyring and personality for the init (see
 * confine.h for the order and why).
 *
 * Invariant: after confine_prepare returns, struct confine holds copies of everything it
 * needs; nothing in it points into the spec. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/confine.h"
#include "core/fsutil.h"
#include "core/log.h"

#define CAP_SYS_ADMIN_BIT (1ULL << 21)

bool
confine_selinux_enabled (void)
{
  struct stat st;
  /* selinuxfs is mounted exactly when SELinux is enabled */
  return sys_fstatat (AT_FDCWD, "/sys/fs/selinux/enforce", &st, 0) == 0;
}

static bool
apparmor_enabled (void)
{
  _cleanup_close_ int fd
      = sys_openat (AT_FDCWD, "/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC, 0);
  char c = 0;

  return fd >= 0 && sys_read (fd, &c, 1) == 1 && c == 'Y';
}

static int
prepare_lsm (struct confine *c, const struct spec *s)
{
  const struct spec_process *p = s->process;

  if (p->selinux_label && *p->selinux_label)
    {
      if (confine_selinux_enabled ())
        c->selinux_label = xstrdup (p->selinux_label);
      else
        focker_log ("debug", "process.selinuxLabel: SELinux is not enabled, label %s ignored",
                    p->selinux_label);
    }
  if (p->apparmor_profile && *p->apparmor_profile)
    {
      if (apparmor_enabled ())
        c->apparmor_profile = xstrdup (p->apparmor_profile);
      else
        focker_log ("debug", "process.apparmorProfile: AppArmor is not enabled, profile %s ignored",
                    p->apparmor_profile);
    }
  if (s->has_linux && s->linux_.mount_label && *s->linux_.mount_label && c->selinux_label == NULL
      && !confine_selinux_enabled ())
    focker_log ("debug", "linux.mountLabel: SELinux is not enabled, label ignored");
  return 0;
}

static int
prepare_seccomp (struct confine *c, const struct spec *s, struct focker_err **err)
{
  const struct spec_seccomp *sc = &s->linux_.seccomp;
  int r;

  if (!s->has_linux || !s->linux_.has_seccomp)
    return 0;
  r = seccomp_compile (&c->seccomp, sc, err);
  if (r < 0)
    return r;
  c->has_seccomp = true;
  /* loading needs no_new_privs or CAP_SYS_ADMIN (see confine.h) */
  c->seccomp_late
      = s->process->no_new_privileges
        || (c->caps.set ? (c->caps.effective & CAP_SYS_ADMIN_BIT) != 0 : s->process->uid == 0);
  if (!c->seccomp.notify)
    return 0;
  if (sc->listener_path == NULL || *sc->listener_path == '\0')
    return focker_fail (err, -EINVAL,
                        "linux.seccomp.listenerPath: required by the SCMP_ACT_NOTIFY rules");
  /* connected now: after pivot_root the host path is out of reach */
  c->listener_fd = sys_unix_connect (AT_FDCWD, sc->listener_path);
  if (c->listener_fd < 0)
    return focker_fail (err, c->listener_fd, "linux.seccomp.listenerPath: connect to %s",
                        sc->listener_path);
  c->listener_metadata = sc->listener_metadata ? xstrdup (sc->listener_metadata) : NULL;
  return 0;
}

int
confine_prepare (struct confine **out, const struct spec *s, struct focker_err **err)
{
  struct confine *c = xcalloc (1, sizeof *c);
  int r;

  c->listener_fd = -1;
  c->last_cap = caps_last_cap ();
  r = caps_plan_make (&c->caps, s->process, c->last_cap, err);
  if (r >= 0)
    r = prepare_seccomp (c, s, err);
  if (r >= 0)
    r = prepare_lsm (c, s);
  if (r < 0)
    {
      confine_free (c);
      return r;
    }
  *out = c;
  return 0;
}

static const struct
{
  const char *name;
  unsigned long flag;
} persona_flags[] = {
  { "UNAME26", UNAME26 },
  { "ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE },
  { "FDPIC_FUNCPTRS", FDPIC_FUNCPTRS },
  { "MMAP_PAGE_ZERO", MMAP_PAGE_ZERO },
  { "ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT },
  { "READ_IMPLIES_EXEC", READ_IMPLIES_EXEC },
  { "ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT },
  { "SHORT_INODE", SHORT_INODE },
  { "WHOLE_SECONDS", WHOLE_SECONDS },
  { "STICKY_TIMEOUTS", STICKY_TIMEOUTS },
  { "ADDR_LIMIT_3GB", ADDR_LIMIT_3GB },
};

int
confine_personality (unsigned long *out, const struct spec_linux *l, struct focker_err **err)
{
  unsigned long persona = strcmp (l->personality_domain, "LINUX32") == 0 ? PER_LINUX32 : PER_LINUX;

  for (size_t i = 0; l->personality_flags && l->personality_flags[i]; i++)
    {
      size_t j;
      for (j = 0; j < sizeof persona_flags / sizeof *persona_flags; j++)
        if (strcmp (l->personality_flags[i], persona_flags[j].name) == 0)
          break;
      if (j == sizeof persona_flags / sizeof *persona_flags)
        return focker_fail (err, -EINVAL, "linux.personality.flags[%zu]: unknown flag \"%s\"", i,
                            l->personality_flags[i]);
      persona |= persona_flags[j].flag;
    }
  *out = persona;
  return 0;
}

int
confine_session (const struct spec *s, const char *id, bool no_new_keyring, struct focker_err **err)
{
  int r;

  if (!no_new_keyring)
    {
      /* the container must not share (and read) the keys of whoever ran focker */
      r = sys_keyctl_join_session (id);
      if (r == -ENOSYS)
        focker_log ("debug", "session keyring: the kernel has no keyrings, skipped");
      else if (r < 0)
        return focker_fail (err, r, "join a new session keyring %s", id);
    }
  if (s->has_linux && s->linux_.has_personality)
    {
      unsigned long persona;
      r = confine_personality (&persona, &s->linux_, err);
      if (r < 0)
        return r;
      r = sys_personality (persona);
      if (r < 0)
        return focker_fail (err, r, "linux.personality: set %s", s->linux_.personality_domain);
    }
  return 0;
}

static int
write_attr (const char *path, const char *value)
{
  _cleanup_close_ int fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);

  if (fd < 0)
    return fd;
  return write_all (fd, value, strlen (value));
}

static int
apply_lsm (const struct confine *c, struct focker_err **err)
{
  int r;

  /* an enabled LSM that refuses the label is an error: never run unlabelled silently */
  if (c->selinux_label)
    {
      r = write_attr ("/proc/thread-self/attr/exec", c->selinux_label);
      if (r < 0)
        return focker_fail (err, r, "process.selinuxLabel: set exec label %s", c->selinux_label);
    }
  if (c->apparmor_profile)
    {
      _cleanup_free_ char *v = xasprintf ("exec %s", c->apparmor_profile);
      r = write_attr ("/proc/thread-self/attr/apparmor/exec", v);
      if (r == -ENOENT) /* kernels before 5.1 have no per-LSM directory */
        r = write_attr ("/proc/self/attr/exec", v);
      if (r < 0)
        return focker_fail (err, r, "process.apparmorProfile: set exec profile %s",
                            c->apparmor_profile);
    }
  return 0;
}

/* The ContainerProcessState of the runtime spec, sent with the listener fd. */
static char *
listener_state (const struct confine *c, const char *state_json)
{
  json_t *state = state_json ? json_loads (state_json, 0, NULL) : NULL;
  json_t *o = json_object ();
  json_t *pid = state ? json_object_get (state, "pid") : NULL;
  json_t *ver = state ? json_object_get (state, "ociVersion") : NULL;
  char *text;

  json_object_set_new (o, "ociVersion", json_string (ver ? json_string_value (ver) : "1.0.2"));
  json_object_set_new (o, "fds", json_pack ("[s]", "seccompFd"));
  json_object_set_new (o, "pid", json_integer (pid ? json_integer_value (pid) : 0));
  json_object_set_new (o, "metadata", json_string (c->listener_metadata ?: ""));
  json_object_set_new (o, "state", state ? state : json_object ());
  text = json_dumps (o, JSON_COMPACT);
  json_decref (o);
  if (text == NULL)
    abort ();
  return text;
}

static int
load_seccomp (const struct confine *c, const char *state_json, struct focker_err **err)
{
  struct sock_fprog prog = { .len = (unsigned short)c->seccomp.len, .filter = c->seccomp.insns };
  _cleanup_free_ char *msg = NULL;
  int fd, r;

  fd = sys_seccomp_load (&prog, c->seccomp.flags);
  if (fd < 0)
    return focker_fail (err, fd, "linux.seccomp: load the filter (%zu instructions)",
                        c->seccomp.len);
  if (!c->seccomp.notify)
    return 0;
  msg = listener_state (c, state_json);
  r = sys_send_fd (c->listener_fd, fd, msg, strlen (msg));
  sys_close (fd);
  if (r < 0)
    return focker_fail (err, r, "linux.seccomp.listenerPath: send the notify fd");
  return 0;
}

int
confine_before_user (const struct confine *c, const char *state_json, struct focker_err **err)
{
  int r;

  r = apply_lsm (c, err);
  if (r < 0)
    return r;
  /* dropping from the bounding set needs CAP_SETPCAP, which the uid switch may take away */
  r = caps_drop_bounding (&c->caps, c->last_cap, err);
  if (r < 0)
    return r;
  if (c->caps.set)
    {
      /* keep the permitted set across setresuid away from uid 0; capset trims it after */
      r = sys_prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0);
      if (r < 0)
        return focker_fail (err, r, "process.capabilities: keep capabilities across setuid");
    }
  if (c->has_seccomp && !c->seccomp_late)
    return load_seccomp (c, state_json, err);
  return 0;
}

int
confine_after_user (const struct confine *c, struct focker_err **err)
{
  int r;

  if (!c->caps.set)
    return 0;
  r = sys_prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (r < 0)
    return focker_fail (err, r, "process.capabilities: clear keep-capabilities");
  return caps_apply (&c->caps, err);
}

int
confine_last (const struct confine *c, const char *state_json, struct focker_err **err)
{
  if (c->has_seccomp && c->seccomp_late)
    return load_seccomp (c, state_json, err);
  return 0;
}

void
confine_free (struct confine *c)
{
  if (c == NULL)
    return;
  seccomp_prog_clear (&c->seccomp);
  if (c->listener_fd >= 0)
    sys_close (c->listener_fd);
  free (c->listener_metadata);
  free (c->selinux_label);
  free (c->apparmor_profile);
  free (c);
}
