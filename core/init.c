/* init.c: the container init, from clone to execve.
 *
 * Order matters and each step says why:
 *  1. non-dumpable, and killed with its parent: until the state is recorded nobody else may
 *     attach to it, and a create that dies must not leave it behind;
 *  2. every inherited fd above the preserved ones is made close-on-exec, so no host fd reaches
 *     the container (runc CVE-2024-21626);
 *  3. user namespace maps (written by the parent), then namespace joins, user first, since the
 *     others are owned by it;
 *  4. the parent runs prestart/createRuntime hooks, then the rootfs is built and pivoted into;
 *  5. `created` is reported and the init waits on exec.sock for `start`;
 *  6. startContainer hooks, credentials, cwd, then execve.  Nothing runs after execve. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include "core/cleanup.h"
#include "core/confine.h"
#include "core/fsutil.h"
#include "core/hooks.h"
#include "core/init.h"
#include "core/rootfs.h"
#include "core/strv.h"
#include "core/sync.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool
is_executable (const char *path)
{
  struct stat st;
  return sys_fstatat (AT_FDCWD, path, &st, 0) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 0111);
}

int
init_find_executable (char **out, const char *arg0, char *const *env, struct focker_err **err)
{
  const char *path = strv_env_get (env, "PATH");
  _cleanup_free_ char *copy = NULL;
  char *save = NULL;

  if (strchr (arg0, '/'))
    {
      struct stat st;
      int r = sys_fstatat (AT_FDCWD, arg0, &st, 0);
      if (r < 0)
        return focker_fail (err, r, "exec %s", arg0);
      if (!S_ISREG (st.st_mode) || !(st.st_mode & 0111))
        return focker_fail (err, -EACCES, "exec %s: not an executable file", arg0);
      *out = xstrdup (arg0);
      return 0;
    }
  copy = xstrdup (path ? path : DEFAULT_PATH);
  for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *candidate = path_join (*dir ? dir : ".", arg0);
      if (is_executable (candidate))
        {
          *out = TAKE_PTR (candidate);
          return 0;
        }
    }
  return focker_fail (err, -ENOENT, "exec \"%s\": executable file not found in $PATH", arg0);
}

uint8_t *
init_fds_passed (int preserve)
{
  uint8_t *bits;

  if (preserve <= 0)
    return NULL;
  bits = xcalloc ((size_t)preserve / 8 + 1, 1);
  for (int i = 0; i < preserve; i++)
    if (sys_fcntl (3 + i, F_GETFD, 0) >= 0)
      bits[i / 8] |= (uint8_t)(1u << (i % 8));
  return bits;
}

int
init_fds_hygiene (int preserve, const uint8_t *passed)
{
  unsigned first = 3u + (unsigned)preserve;
  int r = sys_close_range (first, ~0u, CLOSE_RANGE_CLOEXEC);

  if (r == -ENOSYS || r == -EINVAL)
    {
      /* kernels before 5.11: walk the fd table */
      for (int fd = (int)first; fd < 65536; fd++)
        {
          int fl = sys_fcntl (fd, F_GETFD, 0);
          if (fl >= 0 && !(fl & FD_CLOEXEC))
            sys_fcntl (fd, F_SETFD, fl | FD_CLOEXEC);
        }
      r = 0;
    }
  if (r < 0)
    return r;
  for (int fd = 3; fd < (int)first; fd++)
    {
      int i = fd - 3, fl = sys_fcntl (fd, F_GETFD, 0);
      bool theirs = passed == NULL || (passed[i / 8] & (1u << (i % 8)));

      if (fl < 0)
        continue;
      if (theirs && (fl & FD_CLOEXEC))
        sys_fcntl (fd, F_SETFD, fl & ~FD_CLOEXEC);
      else if (!theirs && !(fl & FD_CLOEXEC))
        sys_fcntl (fd, F_SETFD, fl | FD_CLOEXEC);
    }
  return 0;
}

static int
join_namespaces (struct init_ctx *c, struct focker_err **err)
{
  int r;

  for (int i = 0; i < c->n_join; i++)
    {
      r = sys_setns (c->join_fds[i], c->join_types[i]);
      if (r < 0)
        return focker_fail (err, r, "join %s namespace", spec_namespace_name (c->join_types[i]));
      sys_close (c->join_fds[i]);
      c->join_fds[i] = -1;
    }
  if (c->unshare_flags)
    {
      r = sys_unshare (c->unshare_flags);
      if (r < 0)
        return focker_fail (err, r, "create namespaces after joining the user namespace");
    }
  if (c->new_time)
    {
      r = sys_unshare (CLONE_NEWTIME);
      if (r < 0)
        return focker_fail (err, r, "create time namespace");
    }
  return 0;
}

static int
write_proc_self (const char *file, const char *value, struct focker_err **err)
{
  _cleanup_close_ int fd = sys_openat (AT_FDCWD, file, O_WRONLY | O_CLOEXEC, 0);
  int r;

  if (fd < 0)
    return focker_fail (err, fd, "open %s", file);
  r = write_all (fd, value, strlen (value));
  if (r < 0)
    return focker_fail (err, r, "write %s", file);
  return 0;
}

static int
set_time_offsets (const struct spec *s, struct focker_err **err)
{
  _cleanup_free_ char *v = NULL;

  if (!s->has_linux || !s->linux_.has_time_offsets)
    return 0;
  v = xasprintf ("monotonic %lld %u\nboottime %lld %u\n", (long long)s->linux_.monotonic_secs,
                 s->linux_.monotonic_nanosecs, (long long)s->linux_.boottime_secs,
                 s->linux_.boottime_nanosecs);
  return write_proc_self ("/proc/self/timens_offsets", v, err);
}

int
init_oom_score_adj (const struct spec_process *p, struct focker_err **err)
{
  char v[16];
  int r;

  if (!p->has_oom_score_adj)
    return 0;
  snprintf (v, sizeof v, "%d", p->oom_score_adj);
  r = write_proc_self ("/proc/self/oom_score_adj", v, err);
  if (r < 0)
    return focker_err_prefix (err, "process.oomScoreAdj");
  return 0;
}

static int
set_names (const struct spec *s, struct focker_err **err)
{
  int r;

  if (s->hostname)
    {
      r = sys_sethostname (s->hostname, strlen (s->hostname));
      if (r < 0)
        return focker_fail (err, r, "hostname: set \"%s\"", s->hostname);
    }
  if (s->domainname)
    {
      r = sys_setdomainname (s->domainname, strlen (s->domainname));
      if (r < 0)
        return focker_fail (err, r, "domainname: set \"%s\"", s->domainname);
    }
  return 0;
}

int
init_terminal (const struct spec_process *p, int *console_fd, struct focker_err **err)
{
  _cleanup_close_ int master = -1, slave = -1;
  int r;

  master = sys_openat (AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0);
  if (master < 0)
    return focker_fail (err, master, "terminal: open /dev/ptmx");
  r = sys_pty_unlock (master);
  if (r < 0)
    return focker_fail (err, r, "terminal: unlock pty");
  slave = sys_pty_peer (master, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return focker_fail (err, slave, "terminal: open pty peer");
  if (p->has_console_size)
    {
      r = sys_pty_set_size (slave, p->console_height, p->console_width);
      if (r < 0)
        return focker_fail (err, r, "process.consoleSize: set %ux%u", p->console_height,
                            p->console_width);
    }
  r = sys_send_fd (*console_fd, master, "pty", 3);
  if (r < 0)
    return focker_fail (err, r, "terminal: send pty to console socket");
  sys_close (*console_fd);
  *console_fd = -1;
  r = sys_setsid ();
  if (r < 0)
    return focker_fail (err, r, "terminal: setsid");
  r = sys_set_ctty (slave);
  if (r < 0)
    return focker_fail (err, r, "terminal: set controlling terminal");
  for (int fd = 0; fd <= 2; fd++)
    if ((r = sys_dup3 (slave, fd, 0)) < 0)
      return focker_fail (err, r, "terminal: dup pty to fd %d", fd);
  return 0;
}

/* Wait until the parent has placed us in every cgroup of the container (the v1 ones we
 * entered ourselves first thing: this waits only for a v2 directory the clone did not enter),
 * then enter the cgroup namespace, rooted there.  `cgroup_self` may be NULL when no mount
 * needs it (the gate after the mounts). */
static int
cgroup_gate (void *ctx, char **cgroup_self, struct focker_err **err)
{
  struct init_ctx *c = ctx;
  struct sync_msg m;
  int r = sync_expect (c->to_init[0], SYNC_PLACED, &m, err);

  if (r < 0)
    return r;
  /* in a user namespace cgroupfs may refuse to be mounted: the container then gets binds of
   * its own cgroup directories, whose host paths only this file says (before the namespace
   * hides them) */
  if (c->new_user && cgroup_self)
    {
      struct focker_err *e = NULL;
      size_t len;
      if (read_file_at (cgroup_self, &len, AT_FDCWD, "/proc/self/cgroup", 1 << 16, &e) < 0)
        *cgroup_self = NULL;
      focker_err_free (e);
    }
  if (c->new_cgroup)
    {
      r = sys_unshare (CLONE_NEWCGROUP);
      if (r < 0)
        return focker_fail (err, r, "create cgroup namespace");
    }
  return 0;
}

/* Everything before `created` is reported. */
static int
init_prepare (struct init_ctx *c, char **exe, struct focker_err **err)
{
  const struct spec *s = c->spec;
  struct sync_msg m;
  int r;

  if (c->new_user)
    {
      /* An unprivileged parent can open /proc/PID/uid_map (and newuidmap accepts the pid)
       * only while the init is dumpable: /proc/PID of a non-dumpable process is root's.
       * Dumpable for this moment, the init can be traced only by the caller, whose
       * credentials and fds it has, or by root. */
      if (c->dumpable_for_maps)
        sys_prctl (PR_SET_DUMPABLE, 1, 0, 0, 0);
      r = sync_expect (c->to_init[0], SYNC_MAPS_DONE, &m, err);
      if (c->dumpable_for_maps)
        sys_prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
      if (r < 0)
        return r;
      /* become root of the new user namespace: only now is uid 0 mapped */
      if ((r = sys_setresgid (0, 0, 0)) < 0 || (r = sys_setresuid (0, 0, 0)) < 0)
        return focker_fail (err, r, "become root in the user namespace");
    }
  r = join_namespaces (c, err);
  if (r < 0)
    return r;
  r = set_time_offsets (s, err);
  if (r < 0)
    return r;
  /* before pivot_root: the host's /sys (LSM state) and the seccomp listener are reachable */
  r = confine_prepare (&c->confine, s, err);
  if (r < 0)
    return r;
  r = confine_session (s, c->id, c->no_new_keyring, err);
  if (r < 0)
    return r;
  r = sync_send (c->from_init[1], SYNC_NS_READY, 0, NULL);
  if (r < 0)
    return focker_fail (err, r, "report to the runtime");
  r = sync_expect (c->to_init[0], SYNC_GO, &m, err);
  if (r < 0)
    return r;
  r = set_names (s, err);
  if (r < 0)
    return r;
  /* Everything before the gate runs while the parent places us.  The gate comes as late as
   * it can: before the first cgroup mount when that mount depends on where we are (a cgroup
   * namespace rooted at our cgroup, or binds of our own directories in a user namespace),
   * before createContainer hooks (their processes inherit our cgroups), else once the root
   * is ready. */
  bool mounts_gated = c->new_cgroup || c->new_user;
  r = rootfs_setup (s, c->bundle, c->rootfs, c->cgroup_host,
                    mounts_gated ? &(struct rootfs_cgroup_gate){ cgroup_gate, c } : NULL, err);
  if (r < 0)
    return r;
  if (!mounts_gated && s->n_hooks[SPEC_HOOK_CREATE_CONTAINER])
    {
      r = cgroup_gate (c, NULL, err);
      if (r < 0)
        return r;
      mounts_gated = true;
    }
  r = hooks_run (s, SPEC_HOOK_CREATE_CONTAINER, m.payload, err);
  if (r < 0)
    return r;
  r = c->no_pivot ? rootfs_pivot_chroot (c->rootfs, err) : rootfs_pivot (c->rootfs, err);
  if (r < 0)
    return r;
  r = rootfs_finish (s, err);
  if (r < 0)
    return r;
  if (s->process->terminal)
    {
      r = init_terminal (s->process, &c->console_fd, err);
      if (r < 0)
        return r;
    }
  r = init_oom_score_adj (s->process, err);
  if (r < 0)
    return r;
  r = mkdir_p_at (AT_FDCWD, s->process->cwd, 0755, err);
  if (r < 0)
    return focker_err_prefix (err, "process.cwd");
  r = init_find_executable (exe, s->process->args[0], s->process->env, err);
  if (r < 0)
    return focker_err_prefix (err, "process.args[0]");
  return mounts_gated ? 0 : cgroup_gate (c, NULL, err);
}

static int
set_credentials (const struct spec_process *p, struct focker_err **err)
{
  int r;

  r = sys_setgroups (p->n_additional_gids, p->additional_gids);
  if (r < 0 && !(r == -EPERM && p->n_additional_gids == 0))
    return focker_fail (err, r, "process.user.additionalGids: setgroups");
  r = sys_setresgid (p->gid, p->gid, p->gid);
  if (r < 0)
    return focker_fail (err, r, "process.user.gid: set %u", (unsigned)p->gid);
  r = sys_setresuid (p->uid, p->uid, p->uid);
  if (r < 0)
    return focker_fail (err, r, "process.user.uid: set %u", (unsigned)p->uid);
  return 0;
}

/* chdir to process.cwd without following a magic link: until execve the init still holds
 * fds (close-on-exec, but open), and a cwd of /proc/self/fd/N would put the process in a
 * host directory outside its root (runc CVE-2024-21626).  Kernels without openat2 (before
 * 5.6) get a plain chdir. */
static int
enter_cwd (const char *cwd, struct focker_err **err)
{
  /* Resolved inside the container's root with no magic link followed (openat2, or the
   * walker on kernels without it, which reads a /proc/self/fd/N link as a plain path inside
   * the root): a cwd can never name a leaked host fd (runc CVE-2024-21626). */
  _cleanup_close_ int root = sys_openat (AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  _cleanup_close_ int fd = -1;
  int r;

  if (root < 0)
    return focker_fail (err, root, "process.cwd: open /");
  fd = rootfs_open_in_root (root, cwd, O_PATH | O_DIRECTORY);
  r = fd < 0 ? fd : sys_fchdir (fd);
  if (r < 0)
    return focker_fail (err, r, "process.cwd: chdir %s", cwd);
  return 0;
}

int
init_become (const struct spec_process *p, const struct confine *conf, const char *exe,
             const char *state_json, struct focker_err **err)
{
  int r;

  if (p->no_new_privileges)
    {
      r = sys_prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      if (r < 0)
        return focker_fail (err, r, "process.noNewPrivileges");
    }
  /* capabilities around the uid switch, seccomp last: see core/confine.h */
  r = confine_before_user (conf, state_json, err);
  if (r < 0)
    return r;
  r = set_credentials (p, err);
  if (r < 0)
    return r;
  r = confine_after_user (conf, err);
  if (r < 0)
    return r;
  r = enter_cwd (p->cwd, err);
  if (r < 0)
    return r;
  sys_umask (p->has_umask ? p->umask : 022);
  /* the runtime ignores SIGPIPE; the container's process gets the default, as anywhere */
  sys_signal_default (SIGPIPE);
  r = confine_last (conf, state_json, err);
  if (r < 0)
    return r;
  r = sys_execve (exe, p->args, p->env ? p->env : (char *[]){ NULL });
  return focker_fail (err, r, "exec %s", exe);
}

/* After `start`: startContainer hooks, then become the user process.  Uses only the init's
 * own copies (`p`, `hooks`): the creator's memory may be gone. */
static int
init_exec (const struct spec_process *p, const struct spec *hooks, const struct confine *conf,
           const char *exe, const char *state_json, struct focker_err **err)
{
  int r = hooks_run (hooks, SPEC_HOOK_START_CONTAINER, state_json, err);

  if (r < 0)
    return r;
  return init_become (p, conf, exe, state_json, err);
}

/* Accept `start`'s connection and its one byte.  A connection that closes without the byte
 * (a `start` killed half-way) is dropped, and transient accept errors are retried: neither
 * may kill a container that is waiting to be started.  Errors that mean the listener itself
 * is broken end the wait. */
static int
wait_for_start (int listen_fd)
{
  for (int failures = 0; failures < 1000;)
    {
      int conn = sys_accept (listen_fd);
      char byte;

      if (conn == -EBADF || conn == -EINVAL || conn == -ENOTSOCK)
        return conn;
      if (conn < 0)
        {
          failures++;
          continue;
        }
      if (sys_read (conn, &byte, 1) == 1)
        return conn;
      sys_close (conn);
    }
  return -EIO;
}

int
init_main (void *arg)
{
  /* our own copy of the context: the creator goes on changing (and later frees) its own */
  struct init_ctx ctx = *(struct init_ctx *)arg;
  struct init_ctx *c = &ctx;
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *exe = NULL;
  struct spec_process *process = NULL;
  struct spec *hooks = NULL;
  struct sync_msg go;
  int conn, r;

  sys_close (c->to_init[1]);
  sys_close (c->from_init[0]);
  if (c->state_lockfd >= 0)
    sys_close (c->state_lockfd);
  /* 1: nobody may ptrace or read /proc/PID/mem of the init while it holds host fds */
  sys_prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  sys_prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* before anything else: whatever the init starts, and the runtime's hooks, find it in its
   * cgroups */
  r = c->place_cg ? cgroup_self_place (c->place_cg, c->place_fds, &err) : 0;
  if (r >= 0)
    {
      r = init_fds_hygiene (c->preserve_fds, c->preserve_passed);
      if (r < 0)
        focker_fail (&err, r, "close inherited fds");
    }
  if (r >= 0)
    r = init_prepare (c, &exe, &err);
  if (r < 0)
    {
      sync_send (c->from_init[1], SYNC_ERROR, err->code, err->msg);
      confine_free (c->confine);
      return 1;
    }
  process = spec_process_dup (c->spec->process);
  hooks = spec_hooks_dup (c->spec, SPEC_HOOK_START_CONTAINER);
  c->spec = NULL; /* from here on, only our copies */
  sync_send (c->from_init[1], SYNC_CREATED, 0, NULL);
  /* wait until the runtime has recorded us; from then on its exit must not kill us */
  r = sync_recv (c->to_init[0], &go);
  if (r < 0 || go.type != SYNC_DETACH)
    goto out;
  sys_prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  /* the parent waits for this: exiting before the signal is cleared would kill us */
  sync_send (c->from_init[1], SYNC_DETACHED, 0, NULL);
  sys_close (c->to_init[0]);
  if (go.code == SYNC_DETACH_START)
    {
      /* `run` starts us itself, holding the lock `start` would take: its pipe is the
       * connection (close-on-exec too), and no round trip through exec.sock is needed */
      sys_close (c->exec_listen);
      r = init_exec (process, hooks, c->confine, exe, go.payload, &err);
      sync_send (c->from_init[1], SYNC_ERROR, err->code, err->msg);
      goto out;
    }
  sys_close (c->from_init[1]);

  conn = wait_for_start (c->exec_listen);
  if (conn < 0)
    goto out;
  sys_close (c->exec_listen);
  r = init_exec (process, hooks, c->confine, exe, go.payload, &err);
  /* only reached on failure: tell `start` why */
  write_all (conn, err->msg, strlen (err->msg));
out:
  confine_free (c->confine);
  spec_process_free (process);
  spec_free (hooks);
  return 127;
}
