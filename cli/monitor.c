/* monitor.c: the per-container monitor (focker's conmon): owns the container's stdio, writes
 * its log, waits for its init, records the exit, runs --rm.
 *
 * The monitor creates and starts the runtime container itself, so the init is its child and
 * it learns the exit status from waitid (no polling of /proc).  Its stdio: fds 0, 1 and 2
 * are pointed at the container's pipes (or a pty through a console socket with -t) while
 * `create` clones the init, which inherits them, then at /dev/null again, so a detached
 * monitor holds nothing of the command that started it (a `$(focker run -d ...)` returns).
 *
 * Detached (`run -d`, `start`): fork, setsid, report "started" or the error over a pipe to
 * the parent, which exits.  Foreground (`run`): the focker command is the monitor, and also
 * copies the output to its own stdout/stderr, forwards stdin (-i) and signals.
 *
 * cli/ code: it makes plain libc calls (fork, poll, waitid); the core calls it makes (create,
 * start, delete, the record) go through the seam. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/cleanup.h"
#include "core/container.h"
#include "core/ctr.h"
#include "core/net.h"
#include "core/state.h"
#include "core/store.h"

struct mon
{
  const struct monitor_opts *o;
  int logfd;
  int out_r, err_r; /* pipes from the container, or -1 */
  int in_w;         /* pipe to its stdin (-i), or -1 */
  int master;       /* pty master (-t), or -1 */
  bool tty_in;      /* foreground -t: our stdin goes to the pty (in_w is a dup of master) */
  bool raw;         /* and our terminal is in raw mode: no EOF to pass on */
  int winch_fd;     /* foreground -t: readable on SIGWINCH, or -1 */
  pid_t pid;
  bool tee; /* foreground: copy output to our stdout/stderr */
  int tee_out, tee_err;
};

static void
log_chunk (struct mon *m, const char *stream, const char *buf, size_t n)
{
  _cleanup_free_ char *now = state_now_rfc3339 ();
  _cleanup_free_ char *line = ctr_log_line (stream, buf, n, now);

  if (line && write (m->logfd, line, strlen (line)) < 0)
    {
      /* a full disk loses log lines, never the container */
    }
  if (m->tee)
    {
      int fd = strcmp (stream, "stderr") == 0 ? m->tee_err : m->tee_out;
      for (size_t off = 0; off < n;)
        {
          ssize_t w = write (fd, buf + off, n - off);
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            break;
          off += (size_t)w;
        }
    }
}

/* Read what fd has; false at EOF (or error). */
static bool
pump (struct mon *m, int fd, const char *stream)
{
  char buf[16384];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false;
  log_chunk (m, stream, buf, (size_t)n);
  return true;
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* The loop: copy until the init exits, then drain what is left.  Returns the exit status. */
static int
monitor_loop (struct mon *m)
{
  int pidfd = (int)syscall (SYS_pidfd_open, m->pid, 0);
  /* detached (-d -i) the pipe is held open and never written: focker has no attach */
  int in_r = m->in_w >= 0 && !m->o->detach ? 0 : -1;
  bool exited = false;
  siginfo_t info;

  if (m->out_r >= 0)
    fcntl (m->out_r, F_SETFL, O_NONBLOCK);
  if (m->err_r >= 0)
    fcntl (m->err_r, F_SETFL, O_NONBLOCK);
  if (m->master >= 0)
    fcntl (m->master, F_SETFL, O_NONBLOCK);
  while (!exited)
    {
      struct pollfd p[6] = {
        { .fd = m->out_r, .events = POLLIN },  { .fd = m->err_r, .events = POLLIN },
        { .fd = m->master, .events = POLLIN }, { .fd = in_r, .events = POLLIN },
        { .fd = pidfd, .events = POLLIN },     { .fd = m->winch_fd, .events = POLLIN },
      };
      int sig = cli_take_pending_signal ();
      if (sig > 0)
        kill (m->pid, sig);
      if (poll (p, 6, pidfd >= 0 ? -1 : 200) < 0 && errno != EINTR)
        break;
      if (p[5].revents & POLLIN)
        {
          char c[16];
          while (read (m->winch_fd, c, sizeof c) > 0)
            ;
          if (m->master >= 0)
            term_copy_size (m->master);
        }
      if ((p[0].revents & (POLLIN | POLLHUP)) && !pump (m, m->out_r, "stdout"))
        close_fd (&m->out_r);
      if ((p[1].revents & (POLLIN | POLLHUP)) && !pump (m, m->err_r, "stderr"))
        close_fd (&m->err_r);
      if ((p[2].revents & (POLLIN | POLLHUP)) && !pump (m, m->master, "stdout"))
        close_fd (&m->master);
      if (p[3].revents & (POLLIN | POLLHUP))
        {
          char buf[4096];
          ssize_t n = read (0, buf, sizeof buf);
          if (n <= 0 || write (m->in_w, buf, (size_t)n) != n)
            {
              struct termios tio;
              in_r = -1;
              /* on a pty, the end of our input is its end-of-file character */
              if (m->tty_in && !m->raw && n == 0 && tcgetattr (m->in_w, &tio) == 0
                  && write (m->in_w, &tio.c_cc[VEOF], 1) < 0)
                {
                }
              close_fd (&m->in_w); /* EOF reaches the container */
            }
        }
      if (pidfd < 0 || (p[4].revents & POLLIN))
        {
          memset (&info, 0, sizeof info);
          if (waitid (P_PID, (id_t)m->pid, &info, WEXITED | WNOHANG) < 0)
            {
              if (errno == ECHILD) /* not ours after all: nothing to wait for */
                break;
            }
          else if (info.si_pid == m->pid)
            exited = true;
        }
    }
  /* the pid namespace is gone with its init: the pipes have hit EOF or will at once */
  while (m->out_r >= 0 && pump (m, m->out_r, "stdout"))
    ;
  while (m->err_r >= 0 && pump (m, m->err_r, "stderr"))
    ;
  while (m->master >= 0 && pump (m, m->master, "stdout"))
    ;
  if (pidfd >= 0)
    close (pidfd);
  if (!exited)
    return -1;
  return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

void
cli_delete_quiet (const char *id)
{
  struct focker_err *err = NULL;
  container_delete (g.root, id, true, &err);
  focker_err_free (err);
}

static int
open_store_quiet (struct store **s, struct focker_err **err)
{
  return store_open (s, g.storage_root, true, false, err);
}

/* The record of a container that never ran, when `run` made it for this run only. */
static void
remove_after_failure (const struct monitor_opts *o)
{
  struct focker_err *err = NULL;
  struct store *s = NULL;

  if (o->remove_on_failure && open_store_quiet (&s, &err) == 0)
    {
      ctr_remove (s, g.root, o->id, true, &err);
      store_close (s);
    }
  focker_err_free (err);
}

static void
record (const char *id, json_t *fields)
{
  struct store *s = NULL;
  struct focker_err *err = NULL;

  if (open_store_quiet (&s, &err) == 0)
    {
      ctr_update_state (s, id, fields, &err);
      store_close (s);
    }
  focker_err_free (err);
  json_decref (fields);
}

/* The container runs, this process its monitor (the exit of an earlier run forgotten). */
static void
record_running (const char *id, pid_t pid)
{
  _cleanup_free_ char *now = state_now_rfc3339 ();

  json_t *fields = json_pack ("{s:s,s:I,s:s,s:s,s:n}", "Status", "running", "Pid", (json_int_t)pid,
                              "StartedAt", now, "FinishedAt", "", "ExitCode");
  json_t *self = ctr_monitor_fields (getpid ());

  /* with its start time, so that a process that later takes this pid is not believed */
  json_object_update (fields, self);
  json_decref (self);
  record (id, fields);
}

/* The console socket for -t: a listener in a private directory; the pty master arrives on it
 * during create, and is taken after. */
static int
console_listen (char dir[64], char sock[96])
{
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  int fd;

  snprintf (dir, 64, "/tmp/focker-mon-XXXXXX");
  if (mkdtemp (dir) == NULL)
    return -1;
  snprintf (sock, 96, "%s/tty.sock", dir);
  snprintf (a.sun_path, sizeof a.sun_path, "%s", sock);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *)&a, sizeof a) < 0 || listen (fd, 1) < 0)
    {
      if (fd >= 0)
        close (fd);
      rmdir (dir);
      return -1;
    }
  return fd;
}

static int
console_take (int lfd)
{
  int conn = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC), fd;

  if (conn < 0)
    return -1;
  fd = cli_recv_fd (conn);
  close (conn);
  return fd;
}

/* --network none: bring up the loopback of the namespace the runtime made (core/net, by
 * netlink from a socket made in that namespace). */
static int
loopback_up (pid_t pid, struct focker_err **err)
{
  char path[64];

  snprintf (path, sizeof path, "/proc/%d/ns/net", (int)pid);
  return net_loopback_up (path, err);
}

/* 126: found but not executable, 127: not found (docker's codes for a failed exec); the
 * init reports both from create (the lookup in $PATH) or from start (execve) */
static int
start_failure_status (const struct focker_err *err)
{
  if (strstr (err->msg, "executable file not found")
      || (err->code == -ENOEXEC && strstr (err->msg, "No such file")))
    return 127;
  if (strstr (err->msg, "not an executable file")
      || (err->code == -ENOEXEC && strstr (err->msg, "exec ")))
    return 126;
  return 125;
}

/* Create and start the runtime container with its stdio on pipes (or a pty).  On failure
 * *status is the exit status to report and *err says why. */
static int
launch (struct mon *m, int *status, struct focker_err **err)
{
  _cleanup_free_ char *bundle = NULL;
  struct create_opts co = { 0 };
  int out[2] = { -1, -1 }, er[2] = { -1, -1 }, in[2] = { -1, -1 };
  int saved[3], devnull, lfd = -1, r;
  char tdir[64] = "", tsock[96] = "";

  bundle = xasprintf ("%s/containers/%s/bundle", g.storage_root, m->o->id);
  co.root = g.root;
  co.id = m->o->id;
  co.bundle = bundle;
  co.systemd_cgroup = g.systemd_cgroup;
  co.rootless = g.rootless;
  *status = 125;
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (m->o->tty)
    {
      lfd = console_listen (tdir, tsock);
      if (lfd < 0)
        return focker_fail (err, -errno, "container %.12s: console socket", m->o->id);
      co.console_socket = tsock;
    }
  else if (pipe2 (out, O_CLOEXEC) < 0 || pipe2 (er, O_CLOEXEC) < 0
           || (m->o->interactive && pipe2 (in, O_CLOEXEC) < 0))
    return focker_fail (err, -errno, "container %.12s: pipes", m->o->id);
  for (int i = 0; i < 3; i++)
    saved[i] = fcntl (i, F_DUPFD_CLOEXEC, 3);
  dup2 (in[0] >= 0 ? in[0] : devnull, 0);
  dup2 (out[1] >= 0 ? out[1] : devnull, 1);
  dup2 (er[1] >= 0 ? er[1] : devnull, 2);
  r = container_create (&co, &m->pid, err);
  for (int i = 0; i < 3; i++)
    {
      dup2 (saved[i] >= 0 ? saved[i] : devnull, i);
      if (saved[i] >= 0)
        close (saved[i]);
    }
  close_fd (&out[1]);
  close_fd (&er[1]);
  close_fd (&in[0]);
  close (devnull);
  m->out_r = out[0];
  m->err_r = er[0];
  m->in_w = in[1];
  if (lfd >= 0)
    {
      if (r == 0)
        m->master = console_take (lfd);
      close (lfd);
      unlink (tsock);
      rmdir (tdir);
    }
  if (r < 0)
    {
      *status = start_failure_status (*err);
      return r;
    }
  if (m->master >= 0 && m->tee)
    term_copy_size (m->master); /* before the process can ask for it */
  r = m->o->loopback_up ? loopback_up (m->pid, err) : 0;
  if (r == 0)
    r = container_start (g.root, m->o->id, err);
  if (r < 0)
    {
      *status = start_failure_status (*err);
      cli_delete_quiet (m->o->id);
      return r;
    }
  record_running (m->o->id, m->pid);
  return 0;
}

/* After the init exited: record, delete the runtime container, and --rm. */
static void
finish (struct mon *m, int status)
{
  _cleanup_free_ char *now = state_now_rfc3339 ();
  struct focker_err *err = NULL;
  struct store *s = NULL;

  record (m->o->id, json_pack ("{s:s,s:i,s:s,s:I}", "Status", "exited", "ExitCode", status,
                               "FinishedAt", now, "Pid", (json_int_t)0));
  container_delete (g.root, m->o->id, true, &err);
  focker_err_free (err);
  err = NULL;
  if (m->o->auto_remove && open_store_quiet (&s, &err) == 0)
    {
      ctr_remove (s, g.root, m->o->id, true, &err);
      store_close (s);
    }
  focker_err_free (err);
}

static int
open_log (const char *id)
{
  _cleanup_free_ char *path = xasprintf ("%s/containers/%s/log.json", g.storage_root, id);
  return open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

int
monitor_foreground (const struct monitor_opts *o)
{
  struct mon m = { .o = o,
                   .out_r = -1,
                   .err_r = -1,
                   .in_w = -1,
                   .master = -1,
                   .winch_fd = -1,
                   .tee = true,
                   .tee_out = 1,
                   .tee_err = 2 };
  struct focker_err *err = NULL;
  int status;

  m.logfd = open_log (o->id);
  cli_forward_signals ();
  if (launch (&m, &status, &err) < 0)
    {
      cli_fail (err);
      close (m.logfd);
      remove_after_failure (o);
      return status;
    }
  if (m.master >= 0)
    {
      /* -t: the pty is relayed here, to our terminal and to the log (one stream, stdout, as
       * docker logs a tty container); our stdin goes to it, raw when it is a terminal */
      struct termios saved;
      m.raw = term_raw_begin (&saved);
      m.in_w = fcntl (m.master, F_DUPFD_CLOEXEC, 3);
      m.tty_in = m.in_w >= 0;
      m.winch_fd = term_winch_begin ();
      term_copy_size (m.master);
      status = monitor_loop (&m);
      term_winch_end ();
      if (m.raw)
        term_raw_end (&saved);
      close_fd (&m.in_w);
    }
  else
    status = monitor_loop (&m);
  close (m.logfd);
  finish (&m, status < 0 ? 255 : status);
  return status < 0 ? 125 : status;
}

int
monitor_detached (const struct monitor_opts *o)
{
  int report[2];
  pid_t child;
  char buf[4096];
  ssize_t n;

  if (pipe2 (report, O_CLOEXEC) < 0)
    return cli_usage_error ("run", "pipe: %s", strerror (errno));
  fflush (NULL);
  child = fork ();
  if (child < 0)
    return cli_usage_error ("run", "fork: %s", strerror (errno));
  if (child == 0)
    {
      struct mon m = { .o = o, .out_r = -1, .err_r = -1, .in_w = -1, .master = -1, .winch_fd = -1 };
      struct focker_err *err = NULL;
      int status, devnull = open ("/dev/null", O_RDWR);
      close (report[0]);
      setsid ();
      if (chdir ("/") < 0)
        _exit (125);
      /* nothing of the starting command's stdio stays with us */
      dup2 (devnull, 0);
      dup2 (devnull, 1);
      dup2 (devnull, 2);
      if (devnull > 2)
        close (devnull);
      signal (SIGINT, SIG_IGN);
      signal (SIGHUP, SIG_IGN);
      m.logfd = open_log (o->id);
      if (launch (&m, &status, &err) < 0)
        {
          const char *why = err->code ? strerror (-err->code) : "";
          dprintf (report[1], "%d %s%s%s", status, err->msg,
                   err->code && err->code != -ENOEXEC ? ": " : "",
                   err->code != -ENOEXEC ? why : "");
          focker_err_free (err);
          _exit (status);
        }
      if (write (report[1], "0", 1) < 0)
        {
        }
      close (report[1]);
      status = monitor_loop (&m);
      close (m.logfd);
      finish (&m, status < 0 ? 255 : status);
      _exit (0);
    }
  close (report[1]);
  n = read (report[0], buf, sizeof buf - 1);
  close (report[0]);
  if (n == 1 && buf[0] == '0')
    return 0;
  remove_after_failure (o);
  if (n <= 0)
    {
      waitpid (child, NULL, 0);
      cli_log ("error", "container %.12s: the monitor died before the container started", o->id);
      return 125;
    }
  buf[n] = '\0';
  waitpid (child, NULL, 0);
  {
    char *sp = strchr (buf, ' ');
    cli_log ("error", "%s", sp ? sp + 1 : buf);
    return atoi (buf) > 0 ? atoi (buf) : 125;
  }
}
