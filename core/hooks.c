/* hooks.c: running OCI hooks (see hooks.h).
 *
 * A hook is a clone of the caller (no new namespaces: it runs wherever the caller runs, which
 * is the runtime's namespaces for prestart/createRuntime/poststart/poststop and the
 * container's for createContainer/startContainer) that execs the hook binary with the state
 * on stdin.  The wait uses a pidfd and poll so a timeout can kill the hook; kernels without
 * pidfds fall back to polling waitid. */
#include <errno.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/hooks.h"

static const char *const kind_names[SPEC_HOOK__COUNT]
    = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };

const char *
hooks_kind_name (enum spec_hook_kind kind)
{
  return kind_names[kind];
}

struct hook_child
{
  const struct spec_hook *hook;
  int stdin_fd;
};

static int
hook_child_main (void *arg)
{
  struct hook_child *c = arg;
  char *const default_argv[] = { c->hook->path, NULL };
  char *const empty_env[] = { NULL };

  if (sys_dup3 (c->stdin_fd, 0, 0) < 0)
    return 126;
  sys_signal_default (SIGPIPE); /* the runtime ignores it; a hook gets the default */
  sys_execve (c->hook->path, c->hook->args ? c->hook->args : default_argv,
              c->hook->env ? c->hook->env : empty_env);
  return 127;
}

/* Wait for the hook up to `timeout` seconds (0 = forever); -ETIMEDOUT after killing it. */
static int
hook_wait (pid_t pid, int pidfd, int timeout, siginfo_t *info)
{
  int r;

  if (timeout > 0)
    {
      if (pidfd >= 0)
        {
          struct pollfd p = { .fd = pidfd, .events = POLLIN };
          do
            r = sys_poll (&p, 1, timeout * 1000);
          while (r == -EINTR);
          if (r == 0)
            {
              sys_kill (pid, SIGKILL);
              sys_waitid (P_PID, (id_t)pid, info, WEXITED);
              return -ETIMEDOUT;
            }
        }
      else
        {
          for (int waited_ms = 0;; waited_ms += 10)
            {
              memset (info, 0, sizeof *info);
              r = sys_waitid (P_PID, (id_t)pid, info, WEXITED | WNOHANG);
              if (r < 0 || info->si_pid == pid)
                return r;
              if (waited_ms >= timeout * 1000)
                {
                  sys_kill (pid, SIGKILL);
                  sys_waitid (P_PID, (id_t)pid, info, WEXITED);
                  return -ETIMEDOUT;
                }
              sys_poll (NULL, 0, 10);
            }
        }
    }
  return sys_waitid (P_PID, (id_t)pid, info, WEXITED);
}

int
hooks_run_program (const struct spec_hook *h, const char *where, const char *state_json,
                   struct focker_err **err)
{
  _cleanup_close_ int pidfd = -1;
  int fds[2], r;
  struct hook_child child = { .hook = h };
  struct sys_clone_args ca
      = { .flags = CLONE_PIDFD, .exit_signal = SIGCHLD, .fn = hook_child_main, .arg = &child };
  siginfo_t info;
  pid_t pid;

  r = sys_pipe2 (fds, O_CLOEXEC);
  if (r < 0)
    return focker_fail (err, r, "%s: %s: pipe", where, h->path);
  child.stdin_fd = fds[0];
  pid = sys_clone (&ca);
  if (pid == -EINVAL || pid == -ENOSYS)
    {
      ca.flags = 0;
      pid = sys_clone (&ca);
    }
  sys_close (fds[0]);
  if (pid < 0)
    {
      sys_close (fds[1]);
      return focker_fail (err, pid, "%s: %s: start", where, h->path);
    }
  pidfd = (ca.flags & CLONE_PIDFD) ? ca.pidfd : -1;
  /* A hook that does not read its stdin gets EPIPE here: that is not an error. */
  (void)write_all (fds[1], state_json, strlen (state_json));
  sys_close (fds[1]);
  memset (&info, 0, sizeof info);
  r = hook_wait (pid, pidfd, h->timeout, &info);
  if (r == -ETIMEDOUT)
    return focker_fail (err, r, "%s: %s timed out after %d s", where, h->path, h->timeout);
  if (r < 0)
    return focker_fail (err, r, "%s: %s: wait", where, h->path);
  if (info.si_code == CLD_EXITED && info.si_status == 127)
    return focker_fail (err, -ENOENT, "%s: %s: cannot execute", where, h->path);
  if (info.si_code == CLD_EXITED && info.si_status != 0)
    return focker_fail (err, -ECANCELED, "%s: %s exited with status %d", where, h->path,
                        info.si_status);
  if (info.si_code != CLD_EXITED)
    return focker_fail (err, -ECANCELED, "%s: %s killed by signal %d", where, h->path,
                        info.si_status);
  return 0;
}

int
hooks_run (const struct spec *s, enum spec_hook_kind kind, const char *state_json,
           struct focker_err **err)
{
  for (size_t i = 0; i < s->n_hooks[kind]; i++)
    {
      _cleanup_free_ char *where = xasprintf ("hooks.%s[%zu]", kind_names[kind], i);
      int r = hooks_run_program (&s->hooks[kind][i], where, state_json, err);
      if (r < 0)
        return r;
    }
  return 0;
}
