/* fds.c: open file descriptions and per-process fd tables.
 *
 * A struct fake_file is an open file description: shared by dup/fork/fd passing, counted,
 * and released when its last reference goes.  Release has effects (a pipe end's count, a
 * listener closing, flocks dropped), which is why these are counted while everything else
 * lives until the kernel is freed.  An fd table entry holds one reference plus the
 * close-on-exec flag.  Numbers are allocated lowest-free first, below RLIMIT_NOFILE.
 * read/write/fcntl/dup3/close/close_range dispatch here by kind. */
#include "sys-fake/internal.h"

ssize_t fake_vnode_read (struct fake_kernel *k, struct fake_file *f, void *buf, size_t n);
ssize_t fake_vnode_write (struct fake_kernel *k, struct fake_file *f, const void *buf, size_t n);
ssize_t fake_stream_read (struct fake_kernel *k, struct fake_file *f, void *buf, size_t n);
ssize_t fake_stream_write (struct fake_kernel *k, struct fake_file *f, const void *buf, size_t n);

struct fake_file *
fake_file_new (struct fake_kernel *k, enum fake_file_kind kind)
{
  struct fake_file *f = fake_xcalloc (1, sizeof *f);

  f->refs = 1;
  f->kind = kind;
  f->next = k->files;
  if (k->files)
    k->files->prev = f;
  k->files = f;
  return f;
}

struct fake_file *
fake_file_ref (struct fake_file *f)
{
  f->refs++;
  return f;
}

static void
fake_conn_drop_passed (struct fake_kernel *k, struct fake_conn *c)
{
  for (int side = 0; side < 2; side++)
    {
      struct fake_file **v = c->passed[side];
      size_t n = c->n_passed[side];

      c->passed[side] = NULL;
      c->n_passed[side] = 0;
      for (size_t i = 0; i < n; i++)
        fake_file_unref (k, v[i]);
      free (v);
    }
}

static void
fake_conn_close_side (struct fake_kernel *k, struct fake_conn *c, int side)
{
  if (--c->open[side] == 0 && c->open[1 - side] == 0)
    fake_conn_drop_passed (k, c);
}

static void
fake_file_release (struct fake_kernel *k, struct fake_file *f)
{
  struct fake_pipe *pipe = f->pipe;

  fake_flock_release (f);
  if (pipe)
    {
      pipe->readers -= f->rd;
      pipe->writers -= f->wr;
    }
  if (f->kind == FF_CONN)
    fake_conn_close_side (k, f->conn, f->side);
  if (f->kind == FF_BPF)
    fake_bpf_unref (f->bpf);
  if (f->kind == FF_LISTEN)
    {
      struct fake_listener *l = f->lis;
      l->open = false;
      while (l->n_pending)
        fake_conn_close_side (k, l->pending[--l->n_pending], 1);
    }
}

void
fake_file_unref (struct fake_kernel *k, struct fake_file *f)
{
  if (f == NULL || --f->refs > 0)
    return;
  fake_file_release (k, f);
  if (f->prev)
    f->prev->next = f->next;
  else
    k->files = f->next;
  if (f->next)
    f->next->prev = f->prev;
  free (f);
}

struct fake_file *
fake_fd_get (struct fake_proc *p, int fd)
{
  if (p == NULL || fd < 0 || (size_t)fd >= p->n_fds)
    return NULL;
  return p->fds[fd].f;
}

static void
fake_fds_grow (struct fake_proc *p, size_t n)
{
  if (n <= p->n_fds)
    return;
  p->fds = fake_xrealloc (p->fds, n * sizeof *p->fds);
  memset (p->fds + p->n_fds, 0, (n - p->n_fds) * sizeof *p->fds);
  p->n_fds = n;
}

int
fake_fd_install (struct fake_kernel *k, struct fake_proc *p, struct fake_file *f, bool cloexec,
                 int min)
{
  rlim_t max = p->rlimits[RLIMIT_NOFILE].rlim_cur;
  size_t fd = (size_t)(min < 0 ? 0 : min);

  while (fd < p->n_fds && p->fds[fd].f)
    fd++;
  if (fd >= max)
    {
      fake_file_unref (k, f);
      return -EMFILE;
    }
  fake_fds_grow (p, fd + 1);
  p->fds[fd].f = f;
  p->fds[fd].cloexec = cloexec;
  return (int)fd;
}

int
fake_fd_close (struct fake_kernel *k, struct fake_proc *p, int fd)
{
  struct fake_file *f = fake_fd_get (p, fd);

  if (f == NULL)
    return -EBADF;
  p->fds[fd].f = NULL;
  p->fds[fd].cloexec = false;
  fake_file_unref (k, f);
  return 0;
}

void
fake_fds_close_all (struct fake_kernel *k, struct fake_proc *p, bool only_cloexec)
{
  for (size_t i = 0; i < p->n_fds; i++)
    if (p->fds[i].f && (!only_cloexec || p->fds[i].cloexec))
      fake_fd_close (k, p, (int)i);
}

void
fake_fds_copy (struct fake_proc *to, struct fake_proc *from)
{
  fake_fds_grow (to, from->n_fds);
  for (size_t i = 0; i < from->n_fds; i++)
    if (from->fds[i].f)
      {
        to->fds[i].f = fake_file_ref (from->fds[i].f);
        to->fds[i].cloexec = from->fds[i].cloexec;
      }
}

size_t
fake_open_fds (struct fake_kernel *k, pid_t pid)
{
  struct fake_proc *p = fake_proc_any (k, pid);
  size_t n = 0;

  for (size_t i = 0; p && i < p->n_fds; i++)
    n += p->fds[i].f != NULL;
  return n;
}

/* ---- calls ---- */

int
fake_do_close (int fd)
{
  struct fake_kernel *k = fake_current_kernel;

  return fake_fd_close (k, fake_self (k), fd);
}

ssize_t
fake_do_read (int fd, void *buf, size_t count)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL || (f->flags & O_PATH) || !f->rd)
    return -EBADF;
  if (buf == NULL && count)
    return -EFAULT;
  switch (f->kind)
    {
    case FF_VNODE:
      return fake_vnode_read (k, f, buf, count);
    case FF_PIPE:
    case FF_CONN:
      return fake_stream_read (k, f, buf, count);
    case FF_CONSOLE:
      return 0;
    case FF_LISTEN:
      return -ENOTCONN;
    default:
      return -EINVAL;
    }
}

ssize_t
fake_do_write (int fd, const void *buf, size_t count)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL || (f->flags & O_PATH) || !f->wr)
    return -EBADF;
  if (buf == NULL && count)
    return -EFAULT;
  switch (f->kind)
    {
    case FF_VNODE:
      return fake_vnode_write (k, f, buf, count);
    case FF_PIPE:
    case FF_CONN:
      return fake_stream_write (k, f, buf, count);
    case FF_CONSOLE:
      fake_buf_put (&k->console, buf, count);
      return (ssize_t)count;
    case FF_LISTEN:
      return -ENOTCONN;
    default:
      return -EINVAL;
    }
}

int
fake_do_dup3 (int oldfd, int newfd, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_file *f = fake_fd_get (p, oldfd);

  if (f == NULL)
    return -EBADF;
  if (oldfd == newfd || (flags & ~O_CLOEXEC))
    return -EINVAL;
  if (newfd < 0 || (rlim_t)newfd >= p->rlimits[RLIMIT_NOFILE].rlim_cur)
    return -EBADF;
  fake_file_ref (f);
  fake_fd_close (k, p, newfd);
  fake_fds_grow (p, (size_t)newfd + 1);
  p->fds[newfd].f = f;
  p->fds[newfd].cloexec = (flags & O_CLOEXEC) != 0;
  return newfd;
}

#define FAKE_SETFL (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

int
fake_do_fcntl (int fd, int cmd, long arg)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_file *f = fake_fd_get (p, fd);

  if (f == NULL)
    return -EBADF;
  switch (cmd)
    {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (arg < 0 || (rlim_t)arg >= p->rlimits[RLIMIT_NOFILE].rlim_cur)
        return -EINVAL;
      return fake_fd_install (k, p, fake_file_ref (f), cmd == F_DUPFD_CLOEXEC, (int)arg);
    case F_GETFD:
      return p->fds[fd].cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
      p->fds[fd].cloexec = (arg & FD_CLOEXEC) != 0;
      return 0;
    case F_GETFL:
      return f->flags;
    case F_SETFL:
      if (f->flags & O_PATH)
        return -EBADF;
      f->flags = (f->flags & ~FAKE_SETFL) | ((int)arg & FAKE_SETFL);
      return 0;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
      return f->kind == FF_PIPE ? FAKE_PIPE_CAP : -EBADF;
    default:
      return -ENOSYS;
    }
}

int
fake_do_close_range (unsigned first, unsigned last, unsigned flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);

  if (!fake_version_at_least (k, 5, 9))
    return -ENOSYS;
  if ((flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE)) || first > last)
    return -EINVAL;
  if ((flags & CLOSE_RANGE_CLOEXEC) && !fake_version_at_least (k, 5, 11))
    return -EINVAL;
  for (size_t fd = first; fd <= last && fd < p->n_fds; fd++)
    {
      if (p->fds[fd].f == NULL)
        continue;
      if (flags & CLOSE_RANGE_CLOEXEC)
        p->fds[fd].cloexec = true;
      else
        fake_fd_close (k, p, (int)fd);
    }
  return 0;
}
