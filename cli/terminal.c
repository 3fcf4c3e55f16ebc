/* terminal.c: a container's pty attached to focker's own stdin/stdout (`run` with
 * process.terminal and no --console-socket, `exec --tty` without one).
 *
 * focker is its own console socket: a listener in a private directory (0700) whose path is
 * handed to create/exec, so the pty master arrives exactly as it would at podman's or
 * containerd's socket.  A thread receives it and copies both ways while the main thread
 * waits for the process.  When stdin is a terminal it is put in raw mode (keys reach the
 * container's line discipline, not ours) and the pty gets its window size, again on every
 * SIGWINCH; termios is restored by term_attach_end, which every exit path of the commands
 * calls.  When stdin is not a terminal, its EOF is passed on as the pty's EOF character.
 *
 * The thread makes no allocation and uses no stdio: the main thread clones the container's
 * processes with raw clone3, and a child must not inherit a lock the thread held. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include "cli/cli.h"

static int winch_pipe[2] = { -1, -1 };

static void
on_winch (int sig)
{
  int saved = errno;
  char c = 0;
  (void)sig;
  if (write (winch_pipe[1], &c, 1) < 0)
    { /* full: a resize is already pending */
    }
  errno = saved;
}

int
cli_recv_fd (int conn)
{
  char data[16], control[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control
  };
  struct cmsghdr *cmsg;
  int fd = -1;

  if (recvmsg (conn, &msg, MSG_CMSG_CLOEXEC) < 0)
    return -1;
  cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
    memcpy (&fd, CMSG_DATA (cmsg), sizeof fd);
  return fd;
}

void
term_copy_size (int master)
{
  struct winsize ws;
  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    ioctl (master, TIOCSWINSZ, &ws);
}

static int
write_full (int fd, const char *buf, ssize_t n)
{
  while (n > 0)
    {
      ssize_t w = write (fd, buf, (size_t)n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      buf += w;
      n -= w;
    }
  return 0;
}

/* Copy what the pty holds until it is empty for `quiet_ms` or closed. */
static void
drain (int master, int quiet_ms)
{
  char buf[4096];
  struct pollfd p = { .fd = master, .events = POLLIN };

  while (poll (&p, 1, quiet_ms) > 0)
    {
      ssize_t n = read (master, buf, sizeof buf);
      if (n <= 0 || write_full (STDOUT_FILENO, buf, n) < 0)
        return;
    }
}

static void
proxy (struct term_attach *t, int master)
{
  bool in_open = true;
  char buf[4096];

  term_copy_size (master);
  for (;;)
    {
      struct pollfd p[4] = { { .fd = master, .events = POLLIN },
                             { .fd = t->stop_pipe[0], .events = POLLIN },
                             { .fd = winch_pipe[0], .events = POLLIN },
                             { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN } };
      if (poll (p, 4, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return;
        }
      if (p[0].revents)
        {
          ssize_t n = read (master, buf, sizeof buf);
          /* EIO: every holder of the pty's other end is gone */
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (n <= 0 || write_full (STDOUT_FILENO, buf, n) < 0)
            return;
        }
      if (p[1].revents)
        {
          /* the process exited: what it wrote may still be on its way through the pty */
          drain (master, 100);
          return;
        }
      if (p[2].revents)
        {
          char c[16];
          if (read (winch_pipe[0], c, sizeof c) > 0)
            term_copy_size (master);
        }
      if (p[3].revents)
        {
          ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
          if (n > 0)
            write_full (master, buf, n);
          else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            {
              struct termios tio;
              in_open = false;
              /* pass the end of our input on as the pty's end-of-file character */
              if (!t->raw && tcgetattr (master, &tio) == 0)
                write_full (master, (const char *)&tio.c_cc[VEOF], 1);
            }
        }
    }
}

static void *
attach_thread (void *arg)
{
  struct term_attach *t = arg;
  int conn, master;

  for (;;)
    {
      struct pollfd p[2] = { { .fd = t->listen_fd, .events = POLLIN },
                             { .fd = t->stop_pipe[0], .events = POLLIN } };
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return NULL;
        }
      if (p[1].revents)
        return NULL; /* never connected: the process had no terminal after all */
      if (p[0].revents)
        break;
    }
  conn = accept4 (t->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return NULL;
  master = cli_recv_fd (conn);
  close (conn);
  if (master < 0)
    return NULL;
  t->raw = term_raw_begin (&t->saved);
  proxy (t, master);
  close (master);
  return NULL;
}

bool
term_raw_begin (struct termios *saved)
{
  struct termios raw;

  if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, saved) < 0)
    return false;
  raw = *saved;
  cfmakeraw (&raw);
  return tcsetattr (STDIN_FILENO, TCSANOW, &raw) == 0;
}

void
term_raw_end (const struct termios *saved)
{
  tcsetattr (STDIN_FILENO, TCSANOW, saved);
}

int
term_winch_begin (void)
{
  struct sigaction sa = { .sa_handler = on_winch, .sa_flags = SA_RESTART };

  if (winch_pipe[0] < 0 && pipe2 (winch_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    return -1;
  sigaction (SIGWINCH, &sa, NULL);
  return winch_pipe[0];
}

void
term_winch_end (void)
{
  signal (SIGWINCH, SIG_DFL);
}

int
term_attach_begin (struct term_attach *t)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  memset (t, 0, sizeof *t);
  t->listen_fd = t->stop_pipe[0] = t->stop_pipe[1] = -1;
  snprintf (t->dir, sizeof t->dir, "/tmp/focker-tty.XXXXXX");
  if (mkdtemp (t->dir) == NULL)
    return -1;
  snprintf (t->sock, sizeof t->sock, "%s/console.sock", t->dir);
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", t->sock);
  t->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (t->listen_fd < 0 || bind (t->listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0
      || listen (t->listen_fd, 1) < 0 || pipe2 (t->stop_pipe, O_CLOEXEC) < 0)
    goto fail;
  if (term_winch_begin () < 0)
    goto fail;
  if (pthread_create (&t->thread, NULL, attach_thread, t) != 0)
    goto fail;
  t->started = true;
  return 0;
fail:
  term_attach_end (t);
  return -1;
}

void
term_attach_end (struct term_attach *t)
{
  if (t->started)
    {
      char c = 0;
      if (write (t->stop_pipe[1], &c, 1) < 0)
        { /* the thread has returned already */
        }
      pthread_join (t->thread, NULL);
      t->started = false;
    }
  if (t->raw)
    {
      term_raw_end (&t->saved);
      t->raw = false;
    }
  term_winch_end ();
  if (t->listen_fd >= 0)
    close (t->listen_fd);
  if (t->stop_pipe[0] >= 0)
    close (t->stop_pipe[0]);
  if (t->stop_pipe[1] >= 0)
    close (t->stop_pipe[1]);
  t->listen_fd = t->stop_pipe[0] = t->stop_pipe[1] = -1;
  if (t->sock[0])
    unlink (t->sock);
  if (t->dir[0])
    rmdir (t->dir);
  t->sock[0] = t->dir[0] = '\0';
}
