/* ipc.c: pipes, fifos, unix stream sockets, ptys and poll.
 *
 * All are in-memory byte queues.  A pipe has reader and writer counts (of open file
 * descriptions): a read on an empty pipe returns EOF once no writer is left, and blocks
 * (scheduler) while one is; a write with no reader is EPIPE (no SIGPIPE is sent).  A unix
 * connection and a pty are a struct fake_conn: two queues, side 0 (client / pty master)
 * reads b[0], side 1 (accepted end / pty slave) reads b[1].  Fds passed with send_fd queue
 * on the receiving side; tests take them with fake_conn_take_fd.  A connect succeeds as soon
 * as it is queued on a live listener, as with a listen backlog. */
#include "sys-fake/internal.h"

/* ---- byte streams ---- */

static bool
fake_stream_can_read (struct fake_kernel *k, void *arg)
{
  struct fake_file *f = arg;

  if (f->kind == FF_PIPE)
    return f->pipe->b.len > 0 || f->pipe->writers == 0;
  return f->conn->b[f->side].len > 0 || f->conn->open[1 - f->side] == 0;
}

ssize_t
fake_stream_read (struct fake_kernel *k, struct fake_file *f, void *buf, size_t n)
{
  struct fake_buf *b = f->kind == FF_PIPE ? &f->pipe->b : &f->conn->b[f->side];
  int r;

  if (n == 0)
    return 0;
  if (!fake_stream_can_read (k, f))
    {
      if (f->flags & O_NONBLOCK)
        return -EAGAIN;
      r = fake_sched_wait (k, fake_stream_can_read, f);
      if (r < 0)
        return r;
    }
  if (b->len == 0 && f->kind == FF_CONN && f->conn->pty)
    return -EIO; /* the other side of the pty is closed */
  return (ssize_t)fake_buf_take (b, buf, n);
}

static bool
fake_stream_can_write (struct fake_kernel *k, void *arg)
{
  struct fake_file *f = arg;

  if (f->kind == FF_PIPE)
    return f->pipe->readers == 0 || f->pipe->b.len < FAKE_PIPE_CAP;
  return true;
}

ssize_t
fake_stream_write (struct fake_kernel *k, struct fake_file *f, const void *buf, size_t n)
{
  size_t done = 0;

  if (f->kind == FF_CONN)
    {
      if (f->conn->open[1 - f->side] == 0)
        return f->conn->pty ? -EIO : -EPIPE;
      fake_buf_put (&f->conn->b[1 - f->side], buf, n);
      return (ssize_t)n;
    }
  while (done < n)
    {
      struct fake_pipe *pipe = f->pipe;
      size_t room;

      if (pipe->readers == 0)
        return done ? (ssize_t)done : -EPIPE;
      room = FAKE_PIPE_CAP - pipe->b.len;
      if (room == 0)
        {
          int r;
          if (f->flags & O_NONBLOCK)
            return done ? (ssize_t)done : -EAGAIN;
          r = fake_sched_wait (k, fake_stream_can_write, f);
          if (r < 0)
            return done ? (ssize_t)done : r;
          continue;
        }
      if (room > n - done)
        room = n - done;
      fake_buf_put (&pipe->b, (const char *)buf + done, room);
      done += room;
    }
  return (ssize_t)done;
}

/* ---- pipes and fifos ---- */

static void
fake_pipe_dtor (void *p)
{
  free (((struct fake_pipe *)p)->b.d);
}

static struct fake_pipe *
fake_pipe_new (struct fake_kernel *k)
{
  struct fake_pipe *pipe = fake_obj_new (k, sizeof *pipe, fake_pipe_dtor);

  pipe->ino = k->next_ino++;
  return pipe;
}

static struct fake_file *
fake_pipe_end (struct fake_kernel *k, struct fake_pipe *pipe, bool rd, bool wr, int flags)
{
  struct fake_file *f = fake_file_new (k, FF_PIPE);

  f->pipe = pipe;
  f->rd = rd;
  f->wr = wr;
  f->flags = flags;
  pipe->readers += rd;
  pipe->writers += wr;
  pipe->r_opens += rd;
  pipe->w_opens += wr;
  return f;
}

int
fake_do_pipe2 (int fds[2], int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_pipe *pipe;
  int r0, r1;

  if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
    return -EINVAL;
  if (fds == NULL)
    return -EFAULT;
  pipe = fake_pipe_new (k);
  r0 = fake_fd_install (k, p, fake_pipe_end (k, pipe, true, false, O_RDONLY | (flags & O_NONBLOCK)),
                        flags & O_CLOEXEC, 0);
  if (r0 < 0)
    return r0;
  r1 = fake_fd_install (k, p, fake_pipe_end (k, pipe, false, true, O_WRONLY | (flags & O_NONBLOCK)),
                        flags & O_CLOEXEC, 0);
  if (r1 < 0)
    {
      fake_fd_close (k, p, r0);
      return r1;
    }
  fds[0] = r0;
  fds[1] = r1;
  return 0;
}

struct fake_fifo_wait
{
  struct fake_pipe *pipe;
  bool reader;
  unsigned long opens;
};

static bool
fake_fifo_peer (struct fake_kernel *k, void *arg)
{
  struct fake_fifo_wait *w = arg;

  if (w->reader)
    return w->pipe->writers > 0 || w->pipe->w_opens != w->opens;
  return w->pipe->readers > 0 || w->pipe->r_opens != w->opens;
}

/* Opening a fifo waits for the other side, as on Linux (O_RDWR never waits). */
int
fake_fifo_open (struct fake_kernel *k, struct fake_inode *ino, int flags, bool rd, bool wr,
                struct fake_file **out)
{
  struct fake_fifo_wait w;
  struct fake_file *f;
  int r;

  if (ino->fifo == NULL)
    ino->fifo = fake_pipe_new (k);
  w.pipe = ino->fifo;
  w.reader = rd && !wr;
  w.opens = w.reader ? w.pipe->w_opens : w.pipe->r_opens;
  if (!rd && wr && (flags & O_NONBLOCK) && w.pipe->readers == 0)
    return -ENXIO;
  f = fake_pipe_end (k, ino->fifo, rd, wr, flags);
  f->ino = ino;
  if (!(rd && wr) && !(flags & O_NONBLOCK))
    {
      r = fake_sched_wait (k, fake_fifo_peer, &w);
      if (r < 0)
        {
          fake_file_unref (k, f);
          return r;
        }
    }
  *out = f;
  return 0;
}

/* ---- unix sockets ---- */

static void
fake_conn_dtor (void *p)
{
  struct fake_conn *c = p;

  free (c->b[0].d);
  free (c->b[1].d);
  free (c->passed[0]);
  free (c->passed[1]);
}

static struct fake_conn *
fake_conn_new (struct fake_kernel *k)
{
  struct fake_conn *c = fake_obj_new (k, sizeof *c, fake_conn_dtor);

  c->ino = k->next_ino++;
  return c;
}

static struct fake_file *
fake_conn_end (struct fake_kernel *k, struct fake_conn *c, int side)
{
  struct fake_file *f = fake_file_new (k, FF_CONN);

  f->conn = c;
  f->side = side;
  f->rd = f->wr = true;
  f->flags = O_RDWR;
  return f;
}

static void
fake_listener_dtor (void *p)
{
  free (((struct fake_listener *)p)->pending);
}

int
fake_do_unix_listen (int dirfd, const char *name)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *ino;
  struct fake_listener *l;
  struct fake_file *f;
  int r;

  r = fake_create_at (k, p, dirfd, name, S_IFSOCK | (0777 & ~p->umask), 0, &ino);
  if (r == -EEXIST)
    return -EADDRINUSE;
  if (r < 0)
    return r;
  l = fake_obj_new (k, sizeof *l, fake_listener_dtor);
  l->open = true;
  l->ino = ino->ino;
  ino->listener = l;
  f = fake_file_new (k, FF_LISTEN);
  f->lis = l;
  f->ino = ino;
  f->rd = f->wr = true;
  f->flags = O_RDWR;
  return fake_fd_install (k, p, f, true, 0);
}

int
fake_do_unix_connect (int dirfd, const char *name)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *ino;
  struct fake_listener *l;
  struct fake_conn *c;
  int r;

  r = fake_resolve_simple (k, dirfd, name, true, &ino);
  if (r < 0)
    return r;
  l = ino->listener;
  if (!S_ISSOCK (ino->mode) || l == NULL || !l->open)
    return -ECONNREFUSED;
  c = fake_conn_new (k);
  c->open[0] = c->open[1] = 1; /* the server side is held by the backlog until accepted */
  l->pending = fake_xrealloc (l->pending, (l->n_pending + 1) * sizeof *l->pending);
  l->pending[l->n_pending++] = c;
  return fake_fd_install (k, p, fake_conn_end (k, c, 0), true, 0);
}

static bool
fake_listener_ready (struct fake_kernel *k, void *arg)
{
  struct fake_listener *l = arg;

  return l->n_pending > 0 || !l->open;
}

int
fake_do_accept (int fd)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_file *f = fake_fd_get (p, fd);
  struct fake_listener *l;
  struct fake_conn *c;
  int r;

  if (f == NULL)
    return -EBADF;
  if (f->kind == FF_CONN && !f->conn->pty)
    return -EINVAL;
  if (f->kind != FF_LISTEN)
    return -ENOTSOCK;
  l = f->lis;
  if (l->n_pending == 0)
    {
      if (f->flags & O_NONBLOCK)
        return -EAGAIN;
      r = fake_sched_wait (k, fake_listener_ready, l);
      if (r < 0)
        return r;
      if (l->n_pending == 0)
        return -EBADF;
    }
  c = l->pending[0];
  memmove (l->pending, l->pending + 1, --l->n_pending * sizeof *l->pending);
  return fake_fd_install (k, p, fake_conn_end (k, c, 1), true, 0);
}

int
fake_do_send_fd (int sock, int fd, const void *data, size_t len)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_file *s = fake_fd_get (p, sock), *f = fake_fd_get (p, fd);
  struct fake_conn *c;
  int peer;

  if (s == NULL || f == NULL)
    return -EBADF;
  if (s->kind != FF_CONN || s->conn->pty)
    return -ENOTSOCK;
  c = s->conn;
  peer = 1 - s->side;
  if (c->open[peer] == 0)
    return -EPIPE;
  /* like the Linux backend: an empty payload is sent as one NUL byte */
  fake_buf_put (&c->b[peer], len ? data : "", len ? len : 1);
  c->passed[peer]
      = fake_xrealloc (c->passed[peer], (c->n_passed[peer] + 1) * sizeof *c->passed[peer]);
  c->passed[peer][c->n_passed[peer]++] = fake_file_ref (f);
  return 0;
}

int
fake_conn_take_fd (struct fake_kernel *k, pid_t pid, int fd)
{
  struct fake_proc *p = fake_proc (k, pid);
  struct fake_file *s = fake_fd_get (p, fd), *f;
  struct fake_conn *c;

  if (s == NULL)
    return -EBADF;
  if (s->kind != FF_CONN || s->conn->pty)
    return -ENOTSOCK;
  c = s->conn;
  if (c->n_passed[s->side] == 0)
    return -EAGAIN;
  f = c->passed[s->side][0];
  c->n_passed[s->side]--;
  memmove (c->passed[s->side], c->passed[s->side] + 1,
           c->n_passed[s->side] * sizeof *c->passed[s->side]);
  return fake_fd_install (k, p, f, true, 0);
}

/* ---- ptys ---- */

int
fake_pty_open_master (struct fake_kernel *k, struct fake_file **out)
{
  struct fake_conn *c = fake_conn_new (k);

  c->pty = true;
  c->locked = true;
  c->pty_index = k->next_pty++;
  c->open[0] = 1;
  *out = fake_conn_end (k, c, 0);
  return 0;
}

static struct fake_file *
fake_pty_master (struct fake_proc *p, int fd, int *err)
{
  struct fake_file *f = fake_fd_get (p, fd);

  *err = f == NULL ? -EBADF : -ENOTTY;
  if (f == NULL || f->kind != FF_CONN || !f->conn->pty || f->side != 0)
    return NULL;
  return f;
}

int
fake_do_pty_unlock (int master)
{
  struct fake_kernel *k = fake_current_kernel;
  int err;
  struct fake_file *f = fake_pty_master (fake_self (k), master, &err);

  if (f == NULL)
    return err;
  f->conn->locked = false;
  return 0;
}

/* TIOCSWINSZ works on either end of a pty. */
int
fake_do_pty_set_size (int fd, unsigned rows, unsigned cols)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL)
    return -EBADF;
  if (f->kind != FF_CONN || !f->conn->pty)
    return -ENOTTY;
  f->conn->rows = (unsigned short)rows;
  f->conn->cols = (unsigned short)cols;
  return 0;
}

int
fake_do_pty_peer (int master, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  int err;
  struct fake_file *f = fake_pty_master (p, master, &err), *s;

  if (f == NULL)
    return err;
  if (flags & ~(O_ACCMODE | O_NOCTTY | O_CLOEXEC | O_NONBLOCK))
    return -EINVAL;
  if (f->conn->locked)
    return -EIO;
  f->conn->open[1]++;
  s = fake_conn_end (k, f->conn, 1);
  s->flags = flags & (O_ACCMODE | O_NONBLOCK);
  return fake_fd_install (k, p, s, flags & O_CLOEXEC, 0);
}

/* ---- poll ---- */

static short
fake_poll_one (struct fake_kernel *k, struct fake_file *f)
{
  switch (f->kind)
    {
    case FF_PIPE:
      if (f->rd)
        return (short)((f->pipe->b.len ? POLLIN : 0) | (f->pipe->writers ? 0 : POLLHUP));
      return f->pipe->readers == 0 ? POLLERR : f->pipe->b.len < FAKE_PIPE_CAP ? POLLOUT : 0;
    case FF_CONN:
      {
        struct fake_conn *c = f->conn;
        bool peer = c->open[1 - f->side] > 0;
        return (short)((c->b[f->side].len ? POLLIN : 0) | (peer ? POLLOUT : POLLIN | POLLHUP));
      }
    case FF_LISTEN:
      return f->lis->n_pending ? POLLIN : 0;
    case FF_PIDFD:
      {
        struct fake_proc *t = fake_proc (k, f->pid);
        return (t == NULL || t->starttime != f->start || !t->alive) ? POLLIN : 0;
      }
    case FF_VNODE:
      return POLLIN | POLLOUT;
    case FF_CONSOLE:
      return POLLOUT;
    default:
      return 0;
    }
}

struct fake_poll
{
  struct pollfd *fds;
  nfds_t n;
};

static int
fake_poll_scan (struct fake_kernel *k, struct fake_poll *w)
{
  struct fake_proc *p = fake_self (k);
  int ready = 0;

  for (nfds_t i = 0; i < w->n; i++)
    {
      struct fake_file *f;
      short ev;

      w->fds[i].revents = 0;
      if (w->fds[i].fd < 0)
        continue;
      f = fake_fd_get (p, w->fds[i].fd);
      ev = f ? fake_poll_one (k, f) : POLLNVAL;
      w->fds[i].revents = (short)(ev & (w->fds[i].events | POLLERR | POLLHUP | POLLNVAL));
      ready += w->fds[i].revents != 0;
    }
  return ready;
}

struct fake_poll_wait
{
  struct fake_poll poll;
  struct fake_proc *p;
};

/* Evaluated from other contexts too: it looks at the waiter's own fd table. */
static bool
fake_poll_ready_for (struct fake_kernel *k, void *arg)
{
  struct fake_poll_wait *w = arg;

  for (nfds_t i = 0; i < w->poll.n; i++)
    {
      struct fake_file *f;

      if (w->poll.fds[i].fd < 0)
        continue;
      f = fake_fd_get (w->p, w->poll.fds[i].fd);
      if (f == NULL || (fake_poll_one (k, f) & (w->poll.fds[i].events | POLLERR | POLLHUP)))
        return true;
    }
  return false;
}

int
fake_do_poll (struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_poll_wait w = { { fds, nfds }, p };
  int ready, r;

  if (nfds > p->rlimits[RLIMIT_NOFILE].rlim_cur)
    return -EINVAL;
  if (fds == NULL && nfds)
    return -EFAULT;
  ready = fake_poll_scan (k, &w.poll);
  if (ready || timeout_ms == 0)
    return ready;
  r = fake_sched_wait (k, fake_poll_ready_for, &w);
  if (r == -EDEADLK && timeout_ms > 0)
    {
      k->now_ns += (uint64_t)timeout_ms * 1000000ULL;
      return 0;
    }
  if (r < 0)
    return r;
  return fake_poll_scan (k, &w.poll);
}
