/* files.c: the file-system calls of the fake kernel (open, stat, create, remove, rename,
 * ownership, locks, directory reading) and reading/writing inode-backed files.
 *
 * Errors follow Linux for the cases focker meets: ENOENT, EEXIST, ENOTDIR, EISDIR,
 * ENOTEMPTY, ELOOP, EBADF, EINVAL, EXDEV (openat2 containment), EBUSY (mount points, cgroups
 * with members).  Permission bits are stored and reported but not enforced, except that
 * execve needs an x bit and device nodes need privilege in the initial user namespace.
 * New files get mode & ~umask and the caller's effective uid/gid (the group of a set-group-ID
 * parent directory instead). */
#include "sys-fake/internal.h"
#include <dirent.h>
#include <sys/file.h>
#include <sys/sysmacros.h>

/* XATTR_CREATE / XATTR_REPLACE of <sys/xattr.h>, without pulling in its prototypes */
#define XATTR_CREATE_FLAG 1
#define XATTR_REPLACE_FLAG 2

int fake_fifo_open (struct fake_kernel *k, struct fake_inode *ino, int flags, bool rd, bool wr,
                    struct fake_file **out);
void fake_stat_fill (struct fake_inode *ino, struct stat *st);

void
fake_stat_fill (struct fake_inode *ino, struct stat *st)
{
  memset (st, 0, sizeof *st);
  st->st_dev = ino->synth != FS_NONE ? makedev (0, 22) : makedev (8, 3);
  /* kernfs numbers a cgroup hierarchy's root 1 */
  st->st_ino = fake_cg_is_root (ino) ? 1 : ino->ino;
  st->st_mode = ino->mode;
  st->st_nlink = 1 + fake_body (ino)->extra_links;
  if (S_ISDIR (ino->mode))
    {
      st->st_nlink = 2;
      for (size_t i = 0; i < ino->n_kids; i++)
        st->st_nlink += S_ISDIR (ino->kids[i]->mode);
      st->st_size = 4096;
    }
  else if (S_ISLNK (ino->mode) && ino->link)
    st->st_size = (off_t)strlen (ino->link);
  else if (S_ISREG (ino->mode))
    st->st_size = (off_t)fake_body (ino)->data.len;
  st->st_uid = ino->uid;
  st->st_gid = ino->gid;
  st->st_rdev = ino->rdev;
  st->st_blksize = 4096;
  st->st_blocks = (st->st_size + 511) / 512;
  st->st_atim = st->st_mtim = st->st_ctim = ino->mtime;
}

static void
fake_stat_file (struct fake_file *f, struct stat *st)
{
  if (f->ino)
    {
      fake_stat_fill (f->ino, st);
      return;
    }
  memset (st, 0, sizeof *st);
  st->st_nlink = 1;
  st->st_blksize = 4096;
  switch (f->kind)
    {
    case FF_PIPE:
      st->st_mode = S_IFIFO | 0600;
      st->st_ino = f->pipe->ino;
      st->st_dev = makedev (0, 13);
      break;
    case FF_CONN:
      st->st_mode = f->conn->pty ? S_IFCHR | 0620 : S_IFSOCK | 0777;
      st->st_rdev = f->conn->pty
                        ? (f->side ? makedev (136, (unsigned)f->conn->pty_index) : makedev (5, 2))
                        : 0;
      st->st_ino = f->conn->ino;
      break;
    case FF_NS:
      st->st_mode = S_IFREG | 0444;
      st->st_ino = f->ns->id;
      st->st_dev = makedev (0, 4);
      break;
    case FF_CONSOLE:
      st->st_mode = S_IFCHR | 0620;
      st->st_rdev = makedev (136, 0);
      break;
    default:
      st->st_mode = S_IFREG | 0600;
      break;
    }
}

/* ---- open ---- */

int
fake_open_inode (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *ino, int flags,
                 struct fake_file **out)
{
  int acc = flags & O_ACCMODE;
  bool rd = acc != O_WRONLY, wr = acc != O_RDONLY;
  struct fake_file *f;

  if (!(flags & O_PATH))
    {
      /* the cgroup's device programs decide on device nodes (4 = write, 2 = read) */
      int r = fake_bpf_device_check (k, p, ino->mode, ino->rdev, (wr ? 4u : 0) | (rd ? 2u : 0));
      if (r < 0)
        return r;
      if (S_ISFIFO (ino->mode))
        return fake_fifo_open (k, ino, flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC), rd, wr,
                               out);
      if (S_ISSOCK (ino->mode))
        return -ENXIO;
      if (ino->synth == FS_PTMX || (S_ISCHR (ino->mode) && ino->rdev == makedev (5, 2)))
        return fake_pty_open_master (k, out);
      if (ino->nsref)
        {
          f = fake_file_new (k, FF_NS);
          f->ns = ino->nsref;
          f->rd = true;
          f->flags = O_RDONLY;
          *out = f;
          return 0;
        }
    }
  f = fake_file_new (k, FF_VNODE);
  f->ino = ino;
  f->flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOCTTY);
  f->rd = !(flags & O_PATH) && rd;
  f->wr = !(flags & O_PATH) && wr;
  *out = f;
  return 0;
}

/* Reopen through a magic link to something that is not an inode (pipe, ns, socket). */
int
fake_file_reopen (struct fake_kernel *k, struct fake_file *src, int flags, struct fake_file **out)
{
  int acc = flags & O_ACCMODE;
  struct fake_file *f;

  if (src->kind == FF_CONN || src->kind == FF_LISTEN || src->kind == FF_PIDFD)
    return (flags & O_PATH) ? -EINVAL : -ENXIO;
  f = fake_file_new (k, src->kind);
  f->flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
  f->ns = src->ns;
  f->pipe = src->pipe;
  if (!(flags & O_PATH))
    {
      f->rd = acc != O_WRONLY;
      f->wr = acc != O_RDONLY;
    }
  if (f->pipe)
    {
      f->pipe->readers += f->rd;
      f->pipe->writers += f->wr;
    }
  *out = f;
  return 0;
}

static int
fake_open_new (struct fake_kernel *k, struct fake_proc *p, struct fake_lookup *lk, int flags,
               mode_t mode, struct fake_inode **out)
{
  struct fake_inode *ino;

  if (!(flags & O_CREAT))
    return -ENOENT;
  if (lk->slash)
    return -EISDIR;
  if (flags & O_DIRECTORY)
    return -EINVAL;
  if (lk->dir->synth != FS_NONE)
    return -EACCES;
  if (lk->dir->parent == NULL && lk->dir != k->top)
    return -ENOENT;
  ino = fake_inode_new (k, S_IFREG | (mode & 07777 & ~p->umask));
  ino->uid = p->euid;
  ino->gid = p->egid;
  fake_inherit_gid (lk->dir, ino);
  fake_dir_link (lk->dir, ino, lk->name);
  *out = ino;
  return 0;
}

static int
fake_open_existing (struct fake_inode *ino, int flags)
{
  int acc = flags & O_ACCMODE;

  if ((flags & O_CREAT) && (flags & O_EXCL))
    return -EEXIST;
  if (S_ISLNK (ino->mode) && !(flags & O_PATH))
    return -ELOOP;
  if ((flags & O_DIRECTORY) && !S_ISDIR (ino->mode))
    return -ENOTDIR;
  if (S_ISDIR (ino->mode) && !(flags & O_PATH) && (acc != O_RDONLY || (flags & O_CREAT)))
    return -EISDIR;
  if ((flags & O_TRUNC) && S_ISREG (ino->mode) && acc != O_RDONLY && !(flags & O_PATH)
      && ino->synth == FS_NONE)
    {
      struct fake_inode *b = fake_body (ino);
      b->data.len = 0;
      if (b->data.d)
        b->data.d[0] = '\0';
    }
  return 0;
}

static int
fake_open (int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_lookup lk = { .resolve = resolve };
  struct fake_file *f = NULL;
  struct fake_inode *ino;
  int r;

  if ((flags & O_ACCMODE) == O_ACCMODE)
    return -EINVAL;
  if (flags & O_PATH)
    flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  lk.follow = !(flags & O_NOFOLLOW) && !((flags & O_CREAT) && (flags & O_EXCL));
  lk.parent = (flags & O_CREAT) != 0;
  r = fake_resolve (k, p, dirfd, path, &lk);
  if (r < 0)
    return r;
  if (lk.magic_ns)
    {
      f = fake_file_new (k, FF_NS);
      f->ns = lk.magic_ns;
      f->rd = true;
    }
  else if (lk.magic && (r = fake_file_reopen (k, lk.magic, flags, &f)) < 0)
    return r;
  if (f == NULL)
    {
      ino = lk.ino;
      r = ino ? fake_open_existing (ino, flags) : fake_open_new (k, p, &lk, flags, mode, &ino);
      if (r < 0)
        return r;
      r = fake_open_inode (k, p, ino, flags, &f);
      if (r < 0)
        return r;
    }
  return fake_fd_install (k, p, f, (flags & O_CLOEXEC) != 0, 0);
}

int
fake_do_openat (int dirfd, const char *path, int flags, mode_t mode)
{
  return fake_open (dirfd, path, flags, mode, 0);
}

#define FAKE_RESOLVE_ALL                                                                           \
  (RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH                 \
   | RESOLVE_IN_ROOT | RESOLVE_CACHED)

int
fake_do_openat2 (int dirfd, const char *path, struct open_how *how, size_t size)
{
  struct fake_kernel *k = fake_current_kernel;

  if (!fake_version_at_least (k, 5, 6))
    return -ENOSYS;
  if (how == NULL)
    return -EFAULT;
  if (size < sizeof *how)
    return -EINVAL;
  if ((how->flags >> 32) || (how->resolve & ~(uint64_t)FAKE_RESOLVE_ALL))
    return -EINVAL;
  if (how->mode && !(how->flags & (O_CREAT | __O_TMPFILE)))
    return -EINVAL;
  if ((how->resolve & RESOLVE_BENEATH) && (how->resolve & RESOLVE_IN_ROOT))
    return -EINVAL;
  return fake_open (dirfd, path, (int)how->flags, (mode_t)how->mode, how->resolve);
}

/* ---- stat and friends ---- */

/* The file an *at call with AT_EMPTY_PATH and "" refers to. */
static int
fake_empty_path (struct fake_proc *p, int dirfd, struct fake_file **f, struct fake_inode **ino)
{
  if (dirfd == AT_FDCWD)
    {
      *f = NULL;
      *ino = p->cwd;
      return 0;
    }
  *f = fake_fd_get (p, dirfd);
  if (*f == NULL)
    return -EBADF;
  *ino = (*f)->ino;
  return 0;
}

int
fake_do_fstatat (int dirfd, const char *path, struct stat *st, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_lookup lk = { .follow = !(flags & AT_SYMLINK_NOFOLLOW) };
  struct fake_file *f;
  struct fake_inode *ino;
  int r;

  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
    return -EINVAL;
  if (st == NULL || path == NULL)
    return -EFAULT;
  if (*path == '\0' && (flags & AT_EMPTY_PATH))
    {
      r = fake_empty_path (p, dirfd, &f, &ino);
      if (r < 0)
        return r;
      if (f)
        fake_stat_file (f, st);
      else
        fake_stat_fill (ino, st);
      return 0;
    }
  r = fake_resolve (k, p, dirfd, path, &lk);
  if (r < 0)
    return r;
  if (lk.magic)
    fake_stat_file (lk.magic, st);
  else if (lk.magic_ns)
    {
      struct fake_file tmp = { .kind = FF_NS, .ns = lk.magic_ns };
      fake_stat_file (&tmp, st);
    }
  else
    fake_stat_fill (lk.ino, st);
  return 0;
}

/* A new cgroup needs root in the initial user namespace, or a parent the caller owns (a
 * subtree delegated to it by chown); other permission bits are not enforced. */
static int
fake_cgroup_mkdir_allowed (struct fake_kernel *k, struct fake_proc *p, int dirfd, const char *path)
{
  char *copy, *slash;
  struct fake_inode *dir;
  int r;

  if (p->euid == 0 && p->ns[FAKE_NS_USER] == k->init_ns[FAKE_NS_USER])
    return 0;
  copy = fake_xstrdup (path);
  slash = strrchr (copy, '/');
  if (slash == copy)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  r = fake_resolve_simple (k, dirfd, slash ? copy : ".", true, &dir);
  free (copy);
  if (r < 0)
    return 0; /* creating it reports that */
  return dir->cgh && dir->uid != p->euid ? -EACCES : 0;
}

int
fake_do_mkdirat (int dirfd, const char *path, mode_t mode)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *ino;
  int r;

  r = fake_cgroup_mkdir_allowed (k, p, dirfd, path);
  if (r < 0)
    return r;
  r = fake_create_at (k, p, dirfd, path, S_IFDIR | (mode & 07777 & ~p->umask), 0, &ino);
  if (r < 0)
    return r;
  if (ino->parent && ino->parent->cgh)
    return fake_cgroup_mkdir (k, ino);
  return 0;
}

int
fake_do_mknodat (int dirfd, const char *path, mode_t mode, dev_t dev)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  mode_t type = mode & S_IFMT;
  struct fake_inode *ino;

  if (type == 0)
    type = S_IFREG;
  if (type == S_IFDIR)
    return -EPERM;
  if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
    return -EINVAL;
  /* device nodes need CAP_MKNOD in the initial user namespace: containers bind-mount them */
  if ((type == S_IFCHR || type == S_IFBLK)
      && (!fake_proc_privileged (p) || p->ns[FAKE_NS_USER] != k->init_ns[FAKE_NS_USER]))
    return -EPERM;
  if (fake_bpf_device_check (k, p, type, dev, 1 /* mknod */) < 0)
    return -EPERM;
  return fake_create_at (k, p, dirfd, path, type | (mode & 07777 & ~p->umask),
                         (type == S_IFCHR || type == S_IFBLK) ? dev : 0, &ino);
}

int
fake_do_symlinkat (const char *target, int dirfd, const char *path)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_inode *ino;
  int r;

  if (target == NULL)
    return -EFAULT;
  if (*target == '\0')
    return -ENOENT;
  r = fake_create_at (k, fake_self (k), dirfd, path, S_IFLNK | 0777, 0, &ino);
  if (r == 0)
    ino->link = fake_xstrdup (target);
  return r;
}

ssize_t
fake_do_readlinkat (int dirfd, const char *path, char *buf, size_t size)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_lookup lk = { .follow = false };
  struct fake_inode *ino;
  char *target = NULL;
  size_t n;
  int r;

  if (size == 0)
    return -EINVAL;
  if (path && *path == '\0')
    {
      struct fake_file *f = fake_fd_get (p, dirfd);
      if (f == NULL || f->ino == NULL)
        return f ? -ENOENT : -EBADF;
      ino = f->ino;
    }
  else
    {
      r = fake_resolve (k, p, dirfd, path, &lk);
      if (r < 0)
        return r;
      ino = lk.ino;
    }
  if (ino && fake_procfs_is_magic (ino))
    {
      r = fake_procfs_readlink (k, ino, &target);
      if (r < 0)
        return r;
    }
  else if (ino && S_ISLNK (ino->mode))
    target = fake_xstrdup (ino->link);
  else
    return -EINVAL;
  n = strlen (target);
  if (n > size)
    n = size;
  memcpy (buf, target, n);
  free (target);
  return (ssize_t)n;
}

static int
fake_rmdir (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *ino)
{
  if (!S_ISDIR (ino->mode))
    return -ENOTDIR;
  if (ino == p->root || ino == k->top)
    return -EBUSY;
  if (ino->cgh)
    return fake_cgroup_rmdir (k, ino);
  if (ino->n_kids)
    return -ENOTEMPTY;
  fake_dir_unlink (ino);
  return 0;
}

int
fake_do_unlinkat (int dirfd, const char *path, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_lookup lk = { .parent = true };
  struct fake_inode *ino;
  int r;

  if (flags & ~AT_REMOVEDIR)
    return -EINVAL;
  r = fake_resolve (k, p, dirfd, path, &lk);
  if (r < 0)
    return r;
  ino = lk.ino;
  if (ino == NULL)
    return lk.magic || lk.magic_ns ? -EPERM : -ENOENT;
  if (strcmp (lk.name, ".") == 0)
    return (flags & AT_REMOVEDIR) ? -EINVAL : -EISDIR;
  if (strcmp (lk.name, "..") == 0)
    return (flags & AT_REMOVEDIR) ? -ENOTEMPTY : -EISDIR;
  if (ino->synth != FS_NONE || lk.dir->synth != FS_NONE)
    return -EPERM;
  if (fake_mount_busy (k, p, ino))
    return -EBUSY;
  if (flags & AT_REMOVEDIR)
    return fake_rmdir (k, p, ino);
  if (S_ISDIR (ino->mode))
    return -EISDIR;
  if (fake_cgroup_file (ino))
    return -EPERM;
  fake_dir_unlink (ino);
  return 0;
}

static int
fake_rename_check (struct fake_kernel *k, struct fake_proc *p, struct fake_lookup *o,
                   struct fake_lookup *n)
{
  struct fake_inode *src = o->ino, *dst = n->ino;

  if (src == NULL)
    return -ENOENT;
  if (strcmp (o->name, ".") == 0 || strcmp (o->name, "..") == 0 || strcmp (n->name, ".") == 0
      || strcmp (n->name, "..") == 0)
    return -EBUSY;
  if (src->synth != FS_NONE || n->dir->synth != FS_NONE)
    return -EXDEV;
  if (fake_mount_busy (k, p, src) || (dst && fake_mount_busy (k, p, dst)))
    return -EBUSY;
  if (dst == NULL)
    return S_ISDIR (src->mode) && fake_inode_under (n->dir, src) ? -EINVAL : 0;
  if (S_ISDIR (src->mode))
    {
      if (!S_ISDIR (dst->mode))
        return -ENOTDIR;
      if (dst->n_kids)
        return -ENOTEMPTY;
      if (fake_inode_under (n->dir, src))
        return -EINVAL;
    }
  else if (S_ISDIR (dst->mode))
    return -EISDIR;
  return 0;
}

int
fake_do_renameat (int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_lookup o = { .parent = true }, n = { .parent = true };
  int r;

  r = fake_resolve (k, p, olddirfd, oldpath, &o);
  if (r == 0)
    r = fake_resolve (k, p, newdirfd, newpath, &n);
  if (r < 0)
    return r;
  r = fake_rename_check (k, p, &o, &n);
  if (r < 0 || o.ino == n.ino)
    return r;
  /* atomic replace: nobody can observe the new name missing */
  if (n.ino)
    fake_dir_unlink (n.ino);
  fake_dir_unlink (o.ino);
  fake_dir_link (n.dir, o.ino, n.name);
  return 0;
}

int
fake_do_fchownat (int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_lookup lk = { .follow = !(flags & AT_SYMLINK_NOFOLLOW) };
  struct fake_file *f;
  struct fake_inode *ino;
  int r;

  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
    return -EINVAL;
  if (path && *path == '\0' && (flags & AT_EMPTY_PATH))
    r = fake_empty_path (p, dirfd, &f, &ino);
  else
    {
      r = fake_resolve (k, p, dirfd, path, &lk);
      ino = lk.ino;
    }
  if (r < 0)
    return r;
  if (ino == NULL)
    return 0; /* a pipe or socket: nothing recorded */
  if (!fake_proc_privileged (p))
    return -EPERM;
  if (uid != (uid_t)-1)
    ino->uid = uid;
  if (gid != (gid_t)-1)
    ino->gid = gid;
  /* as notify_change: chown clears set-user-ID, and set-group-ID with group execute, of
   * anything but a directory, even for root */
  if (!S_ISDIR (ino->mode))
    ino->mode &= (ino->mode & S_IXGRP) ? ~(mode_t)(S_ISUID | S_ISGID) : ~(mode_t)S_ISUID;
  return 0;
}

int
fake_do_fchmod (int fd, mode_t mode)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL || (f->flags & O_PATH))
    return -EBADF;
  if (f->ino)
    f->ino->mode = (f->ino->mode & S_IFMT) | (mode & 07777);
  return 0;
}

int
fake_do_fsync (int fd)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL || (f->flags & O_PATH))
    return -EBADF;
  return f->kind == FF_VNODE ? 0 : -EINVAL;
}

/* Writeback is not modelled: every write is durable at once, so there is nothing to wait
 * for; the fd is checked as the kernel does. */
int
fake_do_syncfs (int fd)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  return f == NULL ? -EBADF : 0;
}

/* Regular files only, through a writable fd (EINVAL otherwise, as the kernel says for pipes,
 * directories and read-only fds alike but EBADF for O_PATH); growing fills with zeros. */
int
fake_do_ftruncate (int fd, off_t length)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);
  struct fake_inode *ino;

  if (f == NULL || (f->flags & O_PATH))
    return -EBADF;
  if (length < 0 || f->kind != FF_VNODE || !S_ISREG (f->ino->mode) || f->ino->synth != FS_NONE)
    return -EINVAL;
  if (!f->wr)
    return -EINVAL;
  ino = fake_body (f->ino);
  if ((size_t)length + 1 > ino->data.cap)
    {
      ino->data.cap = (size_t)length + 1;
      ino->data.d = fake_xrealloc (ino->data.d, ino->data.cap);
    }
  if ((size_t)length > ino->data.len)
    memset (ino->data.d + ino->data.len, 0, (size_t)length - ino->data.len);
  ino->data.len = (size_t)length;
  ino->data.d[length] = '\0';
  return 0;
}

/* Writeback is not modelled: only the fd is checked, as the kernel does (ESPIPE for a pipe,
 * EINVAL for unknown flags). */
int
fake_do_sync_file_range (int fd, off_t offset, off_t nbytes, unsigned flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL || (f->flags & O_PATH))
    return -EBADF;
  if (offset < 0 || nbytes < 0
      || (flags
          & ~(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)))
    return -EINVAL;
  return f->kind == FF_VNODE ? 0 : -ESPIPE;
}

/* ---- flock ---- */

struct fake_lock_want
{
  struct fake_file *f;
  int op;
};

static bool
fake_flock_free (struct fake_kernel *k, void *arg)
{
  struct fake_lock_want *w = arg;
  struct fake_inode *ino = w->f->ino;

  for (size_t i = 0; i < ino->n_locks; i++)
    if (ino->locks[i] != w->f && (w->op == LOCK_EX || ino->locks[i]->lock == LOCK_EX))
      return false;
  return true;
}

void
fake_flock_release (struct fake_file *f)
{
  struct fake_inode *ino = f->ino;

  if (f->lock == 0 || ino == NULL)
    return;
  for (size_t i = 0; i < ino->n_locks; i++)
    if (ino->locks[i] == f)
      {
        memmove (&ino->locks[i], &ino->locks[i + 1], (ino->n_locks - i - 1) * sizeof *ino->locks);
        ino->n_locks--;
        break;
      }
  f->lock = 0;
}

int
fake_do_flock (int fd, int op)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);
  struct fake_lock_want w;
  int base = op & ~LOCK_NB, r;

  if (f == NULL || (f->flags & O_PATH))
    return -EBADF;
  if (base != LOCK_SH && base != LOCK_EX && base != LOCK_UN)
    return -EINVAL;
  if (f->ino == NULL)
    return -EINVAL;
  if (base == LOCK_UN || f->lock != base)
    fake_flock_release (f); /* like Linux, a conversion is not atomic */
  if (base == LOCK_UN || f->lock == base)
    return 0;
  w.f = f;
  w.op = base;
  if (!fake_flock_free (k, &w))
    {
      if (op & LOCK_NB)
        return -EWOULDBLOCK;
      r = fake_sched_wait (k, fake_flock_free, &w);
      if (r < 0)
        return r;
    }
  f->lock = base;
  f->ino->locks = fake_xrealloc (f->ino->locks, (f->ino->n_locks + 1) * sizeof *f->ino->locks);
  f->ino->locks[f->ino->n_locks++] = f;
  return 0;
}

/* ---- directories ---- */

static unsigned char
fake_dtype (mode_t mode)
{
  return S_ISDIR (mode)    ? DT_DIR
         : S_ISREG (mode)  ? DT_REG
         : S_ISLNK (mode)  ? DT_LNK
         : S_ISCHR (mode)  ? DT_CHR
         : S_ISBLK (mode)  ? DT_BLK
         : S_ISFIFO (mode) ? DT_FIFO
         : S_ISSOCK (mode) ? DT_SOCK
                           : DT_UNKNOWN;
}

struct fake_linux_dirent64
{
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* The entries of `dir` with their positions (getdents offsets): a real directory's stay what
 * they were when the entry was linked, so removing entries while reading (rm -rf) skips
 * none, as on a real filesystem. */
static size_t
fake_dir_entries (struct fake_kernel *k, struct fake_inode *dir, char ***names,
                  unsigned char **types, unsigned long **pos)
{
  size_t n;

  if (dir->synth != FS_NONE)
    {
      n = (size_t)fake_procfs_entries (k, dir, names, types);
      *pos = fake_xcalloc (n ? n : 1, sizeof **pos);
      for (size_t i = 0; i < n; i++)
        (*pos)[i] = i;
      return n;
    }
  n = dir->n_kids + 2;
  *names = fake_xcalloc (n, sizeof **names);
  *types = fake_xcalloc (n, 1);
  *pos = fake_xcalloc (n, sizeof **pos);
  (*names)[0] = fake_xstrdup (".");
  (*names)[1] = fake_xstrdup ("..");
  (*types)[0] = (*types)[1] = DT_DIR;
  (*pos)[1] = 1;
  for (size_t i = 0; i < dir->n_kids; i++)
    {
      (*names)[i + 2] = fake_xstrdup (dir->kids[i]->name);
      (*types)[i + 2] = fake_dtype (dir->kids[i]->mode);
      (*pos)[i + 2] = dir->kid_pos[i];
    }
  return n;
}

ssize_t
fake_do_getdents64 (int fd, void *buf, size_t count)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);
  char **names;
  unsigned char *types;
  unsigned long *pos;
  size_t n, used = 0;
  bool more = false;

  if (f == NULL || (f->flags & O_PATH))
    return -EBADF;
  if (f->ino == NULL || !S_ISDIR (f->ino->mode))
    return -ENOTDIR;
  n = fake_dir_entries (k, f->ino, &names, &types, &pos);
  for (size_t i = 0; i < n; i++)
    {
      size_t len = strlen (names[i]);
      size_t reclen = (offsetof (struct fake_linux_dirent64, d_name) + len + 1 + 7) & ~(size_t)7;
      struct fake_linux_dirent64 *d = (struct fake_linux_dirent64 *)((char *)buf + used);

      if (pos[i] < (unsigned long)f->pos)
        continue;
      if (used + reclen > count)
        {
          more = true;
          break;
        }
      memset (d, 0, reclen);
      d->d_ino = i < 2 ? f->ino->ino : 1000000 + i;
      if (i >= 2 && f->ino->synth == FS_NONE)
        d->d_ino = f->ino->kids[i - 2]->ino;
      d->d_off = (int64_t)pos[i] + 1;
      d->d_reclen = (unsigned short)reclen;
      d->d_type = types[i];
      memcpy (d->d_name, names[i], len + 1);
      used += reclen;
      f->pos = (off_t)pos[i] + 1;
    }
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
  free (types);
  free (pos);
  if (used == 0 && more)
    return -EINVAL;
  return (ssize_t)used;
}

/* ---- inode-backed read and write ---- */

void fake_cgroup_refresh (struct fake_kernel *k, struct fake_inode *ino);

ssize_t
fake_vnode_read (struct fake_kernel *k, struct fake_file *f, void *buf, size_t n)
{
  struct fake_inode *ino = f->ino;
  size_t avail;

  if (S_ISDIR (ino->mode))
    return -EISDIR;
  if (ino->synth != FS_NONE)
    return fake_procfs_read (k, f, buf, n);
  if (S_ISCHR (ino->mode) || S_ISBLK (ino->mode))
    {
      if (ino->rdev == makedev (1, 5) || ino->rdev == makedev (1, 7))
        {
          memset (buf, 0, n);
          return (ssize_t)n;
        }
      return 0;
    }
  if (fake_cgroup_file (ino))
    fake_cgroup_refresh (k, ino);
  ino = fake_body (ino);
  if ((size_t)f->pos >= ino->data.len)
    return 0;
  avail = ino->data.len - (size_t)f->pos;
  if (n > avail)
    n = avail;
  memcpy (buf, ino->data.d + f->pos, n);
  f->pos += (off_t)n;
  return (ssize_t)n;
}

ssize_t
fake_vnode_write (struct fake_kernel *k, struct fake_file *f, const void *buf, size_t n)
{
  struct fake_inode *ino = f->ino;
  size_t end;

  if (S_ISDIR (ino->mode))
    return -EISDIR;
  if (ino->synth != FS_NONE)
    return fake_procfs_write (k, f, buf, n);
  if (S_ISCHR (ino->mode) || S_ISBLK (ino->mode))
    return ino->rdev == makedev (1, 7) ? -ENOSPC : (ssize_t)n;
  if (fake_cgroup_file (ino))
    return fake_cgroup_write (k, f, buf, n);
  ino = fake_body (ino);
  if (f->flags & O_APPEND)
    f->pos = (off_t)ino->data.len;
  end = (size_t)f->pos + n;
  if (end + 1 > ino->data.cap)
    {
      ino->data.cap = (end + 1) * 2;
      ino->data.d = fake_xrealloc (ino->data.d, ino->data.cap);
    }
  if (end > ino->data.len)
    {
      if ((size_t)f->pos > ino->data.len)
        memset (ino->data.d + ino->data.len, 0, (size_t)f->pos - ino->data.len);
      ino->data.len = end;
      ino->data.d[end] = '\0';
    }
  memcpy (ino->data.d + f->pos, buf, n);
  f->pos = (off_t)end;
  ino->mtime.tv_sec = 1700000000 + (time_t)(k->now_ns / 1000000000ULL);
  return (ssize_t)n;
}

/* ---- links, modes, times, xattrs ---- */

int
fake_do_fchmodat (int dirfd, const char *path, mode_t mode, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_inode *ino;
  int r;

  if (flags != 0)
    return -EINVAL; /* the syscall has no flags (AT_SYMLINK_NOFOLLOW is a libc emulation) */
  r = fake_resolve_simple (k, dirfd, path, true, &ino);
  if (r < 0)
    return r;
  ino->mode = (ino->mode & S_IFMT) | (mode & 07777);
  return 0;
}

/* A hard link is a new name whose data and xattrs live in the first name's inode (see
 * README.md: mode, owner and times are copied at link time and are per name afterwards). */
int
fake_do_linkat (int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *src, *ino;
  int r;

  if (flags & ~AT_SYMLINK_FOLLOW)
    return -EINVAL;
  r = fake_resolve_simple (k, olddirfd, oldpath, (flags & AT_SYMLINK_FOLLOW) != 0, &src);
  if (r < 0)
    return r;
  if (S_ISDIR (src->mode))
    return -EPERM;
  if (src->synth != FS_NONE)
    return -EXDEV;
  r = fake_create_at (k, p, newdirfd, newpath, src->mode, src->rdev, &ino);
  if (r < 0)
    return r;
  src = fake_body (src);
  ino->hard = src;
  ino->ino = src->ino;
  ino->uid = src->uid;
  ino->gid = src->gid;
  ino->mtime = src->mtime;
  if (src->link)
    ino->link = fake_xstrdup (src->link);
  src->extra_links++;
  return 0;
}

int
fake_do_utimensat (int dirfd, const char *path, const struct timespec *times, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *ino;
  struct fake_file *f;
  int r;

  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
    return -EINVAL;
  if (path == NULL || (*path == '\0' && (flags & AT_EMPTY_PATH)))
    {
      r = fake_empty_path (p, dirfd, &f, &ino);
      if (r == 0 && ino == NULL)
        return -EBADF;
    }
  else
    r = fake_resolve_simple (k, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), &ino);
  if (r < 0)
    return r;
  if (times == NULL)
    ino->mtime.tv_sec = 1700000000 + (time_t)(k->now_ns / 1000000000ULL);
  else if (times[1].tv_nsec != UTIME_OMIT)
    ino->mtime = times[1];
  return 0;
}

static int
fake_xattr_inode (int fd, struct fake_inode **out)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL)
    return -EBADF;
  if (f->ino == NULL || f->ino->synth != FS_NONE)
    return -EOPNOTSUPP;
  *out = fake_body (f->ino);
  return 0;
}

static long
fake_xattr_find (struct fake_inode *ino, const char *name)
{
  for (size_t i = 0; i < ino->n_xattrs; i++)
    if (strcmp (ino->xattr_names[i], name) == 0)
      return (long)i;
  return -1;
}

/* Inode flags: kept on regular files and directories of the VFS; the ioctl needs an fd open
 * for I/O (O_PATH: EBADF), and synthetic files (procfs, cgroupfs) have none (ENOTTY). */
static int
fake_flags_inode (int fd, struct fake_inode **out)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL || (f->flags & O_PATH))
    return -EBADF;
  if (f->ino == NULL || f->ino->synth != FS_NONE
      || !(S_ISREG (f->ino->mode) || S_ISDIR (f->ino->mode)))
    return -ENOTTY;
  *out = fake_body (f->ino);
  return 0;
}

int
fake_do_fs_getflags (int fd, unsigned *flags)
{
  struct fake_inode *ino;
  int r = fake_flags_inode (fd, &ino);

  if (r == 0)
    *flags = ino->fsflags;
  return r;
}

int
fake_do_fs_setflags (int fd, unsigned flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *ino;
  int r = fake_flags_inode (fd, &ino);

  if (r < 0)
    return r;
  if (p->euid != ino->uid && !fake_proc_privileged (p))
    return -EPERM;
  ino->fsflags = flags;
  return 0;
}

int
fake_do_fsetxattr (int fd, const char *name, const void *value, size_t size, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_inode *ino;
  long i;
  int r;

  if (name == NULL || *name == '\0' || strlen (name) > 255)
    return -ERANGE;
  if (strncmp (name, "user.", 5) != 0 && strncmp (name, "trusted.", 8) != 0
      && strncmp (name, "security.", 9) != 0 && strcmp (name, "system.posix_acl_access") != 0
      && strcmp (name, "system.posix_acl_default") != 0)
    return -EOPNOTSUPP;
  if (strncmp (name, "trusted.", 8) == 0 && !fake_proc_privileged (fake_self (k)))
    return -EPERM;
  r = fake_xattr_inode (fd, &ino);
  if (r < 0)
    return r;
  i = fake_xattr_find (ino, name);
  if ((flags & XATTR_CREATE_FLAG) && i >= 0)
    return -EEXIST;
  if ((flags & XATTR_REPLACE_FLAG) && i < 0)
    return -ENODATA;
  if (i < 0)
    {
      ino->xattr_names
          = fake_xrealloc (ino->xattr_names, (ino->n_xattrs + 1) * sizeof *ino->xattr_names);
      ino->xattr_vals
          = fake_xrealloc (ino->xattr_vals, (ino->n_xattrs + 1) * sizeof *ino->xattr_vals);
      i = (long)ino->n_xattrs++;
      ino->xattr_names[i] = fake_xstrdup (name);
      memset (&ino->xattr_vals[i], 0, sizeof ino->xattr_vals[i]);
    }
  ino->xattr_vals[i].len = 0;
  fake_buf_put (&ino->xattr_vals[i], value, size);
  return 0;
}

ssize_t
fake_do_fgetxattr (int fd, const char *name, void *value, size_t size)
{
  struct fake_inode *ino;
  long i;
  int r = fake_xattr_inode (fd, &ino);

  if (r < 0)
    return r;
  i = fake_xattr_find (ino, name);
  if (i < 0)
    return -ENODATA;
  if (size == 0)
    return (ssize_t)ino->xattr_vals[i].len;
  if (size < ino->xattr_vals[i].len)
    return -ERANGE;
  memcpy (value, ino->xattr_vals[i].d, ino->xattr_vals[i].len);
  return (ssize_t)ino->xattr_vals[i].len;
}
