/* fsutil.c: filesystem helpers over the seam (see fsutil.h). */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/strv.h"

ssize_t
read_all (int fd, void *buf, size_t len)
{
  size_t got = 0;

  while (got < len)
    {
      ssize_t r = sys_read (fd, (char *)buf + got, len - got);
      if (r < 0)
        return r;
      if (r == 0)
        break;
      got += (size_t)r;
    }
  return (ssize_t)got;
}

int
write_all (int fd, const void *buf, size_t len)
{
  size_t done = 0;

  while (done < len)
    {
      ssize_t r = sys_write (fd, (const char *)buf + done, len - done);
      if (r < 0)
        return (int)r;
      if (r == 0)
        return -EIO;
      done += (size_t)r;
    }
  return 0;
}

int
read_fd (char **out, size_t *len, int fd, size_t max)
{
  _cleanup_free_ char *buf = NULL;
  size_t cap = 4096, used = 0;

  buf = xmalloc (cap);
  for (;;)
    {
      ssize_t r;
      if (used + 1 >= cap)
        {
          if (cap > max)
            return -EFBIG;
          cap *= 2;
          buf = xrealloc (buf, cap);
        }
      r = sys_read (fd, buf + used, cap - used - 1);
      if (r < 0)
        return (int)r;
      if (r == 0)
        break;
      used += (size_t)r;
    }
  if (used > max)
    return -EFBIG;
  buf[used] = '\0';
  if (len)
    *len = used;
  *out = TAKE_PTR (buf);
  return 0;
}

int
read_file_at (char **out, size_t *len, int dirfd, const char *path, size_t max,
              struct focker_err **err)
{
  _cleanup_close_ int fd = -1;
  int r;

  fd = sys_openat (dirfd, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return focker_fail (err, fd, "open %s", path);
  r = read_fd (out, len, fd, max);
  if (r == -EFBIG)
    return focker_fail (err, r, "read %s: larger than %zu bytes", path, max);
  if (r < 0)
    return focker_fail (err, r, "read %s", path);
  return 0;
}

static char *
atomic_tmp_name (const char *name)
{
  const char *slash = strrchr (name, '/');
  /* the temporary file must sit next to the target: rename is atomic only within a dir */
  return slash ? xasprintf ("%.*s/.%s.tmp", (int)(slash - name), name, slash + 1)
               : xasprintf (".%s.tmp", name);
}

int
write_file_atomic_open (int dirfd, const char *name, mode_t mode, struct focker_err **err)
{
  _cleanup_free_ char *tmp = atomic_tmp_name (name);
  int fd = sys_openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

  if (fd < 0)
    return focker_fail (err, fd, "create %s", tmp);
  return fd;
}

int
write_file_atomic_fd (int dirfd, const char *name, int tmpfd, const void *data, size_t len,
                      bool durable, struct focker_err **err)
{
  _cleanup_free_ char *tmp = atomic_tmp_name (name);
  _cleanup_close_ int fd = tmpfd;
  int r;

  r = write_all (fd, data, len);
  if (r == 0 && durable)
    r = sys_fsync (fd);
  if (r == 0)
    {
      r = sys_close (TAKE_FD (fd));
      if (r == 0)
        r = sys_renameat (dirfd, tmp, dirfd, name);
    }
  if (r < 0)
    {
      sys_unlinkat (dirfd, tmp, 0);
      return focker_fail (err, r, "write %s", name);
    }
  return 0;
}

int
write_file_atomic_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                      bool durable, struct focker_err **err)
{
  int fd = write_file_atomic_open (dirfd, name, mode, err);

  if (fd < 0)
    return fd;
  return write_file_atomic_fd (dirfd, name, fd, data, len, durable, err);
}

int
mkdir_p_at (int dirfd, const char *path, mode_t mode, struct focker_err **err)
{
  _cleanup_free_ char *p = xstrdup (path);
  char *slash = p;

  while (*slash == '/')
    slash++;
  for (;;)
    {
      int r;
      slash = strchr (slash, '/');
      if (slash)
        *slash = '\0';
      r = sys_mkdirat (dirfd, p, mode);
      if (r < 0 && r != -EEXIST)
        return focker_fail (err, r, "mkdir %s", p);
      if (r == -EEXIST)
        {
          struct stat st;
          r = sys_fstatat (dirfd, p, &st, 0);
          if (r < 0)
            return focker_fail (err, r, "stat %s", p);
          if (!S_ISDIR (st.st_mode))
            return focker_fail (err, -ENOTDIR, "mkdir %s: exists and is not a directory", p);
        }
      if (slash == NULL)
        return 0;
      *slash = '/';
      while (*++slash == '/')
        ;
      if (*slash == '\0')
        return 0;
    }
}

static int
rm_children (int fd)
{
  char buf[4096];
  int result = 0;

  for (;;)
    {
      ssize_t n = sys_getdents64 (fd, buf, sizeof buf);
      if (n < 0)
        return (int)n;
      if (n == 0)
        return result;
      for (ssize_t off = 0; off < n;)
        {
          struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(buf + off);
          off += d->d_reclen;
          if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
            continue;
          int r = rm_rf_at (fd, d->d_name);
          if (r < 0 && result == 0)
            result = r;
        }
    }
}

int
rm_rf_at (int dirfd, const char *name)
{
  struct stat st;
  int r;

  r = sys_fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
  if (r == -ENOENT)
    return 0;
  if (r < 0)
    return r;
  if (!S_ISDIR (st.st_mode))
    {
      r = sys_unlinkat (dirfd, name, 0);
      return r == -ENOENT ? 0 : r;
    }
  {
    _cleanup_close_ int fd
        = sys_openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
      return fd == -ENOENT ? 0 : fd;
    r = rm_children (fd);
  }
  if (r < 0)
    return r;
  r = sys_unlinkat (dirfd, name, AT_REMOVEDIR);
  return r == -ENOENT ? 0 : r;
}

int
open_dir_at (int dirfd, const char *path, struct focker_err **err)
{
  int fd = sys_openat (dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0)
    return focker_fail (err, fd, "open directory %s", path);
  return fd;
}

bool
exists_at (int dirfd, const char *path)
{
  struct stat st;
  return sys_fstatat (dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

char *
path_join (const char *a, const char *b)
{
  size_t la = strlen (a);
  while (la > 1 && a[la - 1] == '/')
    la--;
  while (*b == '/')
    b++;
  if (la == 1 && a[0] == '/')
    return xasprintf ("/%s", b);
  return xasprintf ("%.*s/%s", (int)la, a, b);
}

int
list_dir_at (char ***out, int dirfd, const char *path, struct focker_err **err)
{
  _cleanup_close_ int fd = open_dir_at (dirfd, path, err);
  _cleanup_strv_ char **names = xcalloc (1, sizeof *names);
  char buf[4096];

  if (fd < 0)
    return fd;
  for (;;)
    {
      ssize_t n = sys_getdents64 (fd, buf, sizeof buf);
      if (n < 0)
        return focker_fail (err, (int)n, "read directory %s", path);
      if (n == 0)
        break;
      for (ssize_t off = 0; off < n;)
        {
          struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(buf + off);
          off += d->d_reclen;
          if (strcmp (d->d_name, ".") != 0 && strcmp (d->d_name, "..") != 0)
            strv_push (&names, d->d_name);
        }
    }
  *out = TAKE_PTR (names);
  return 0;
}
