/* rootfs.c: building the container's filesystem view inside its mount namespace.
 *
 * Runs in the container init, after the mount namespace exists and before the user process
 * is exec'd.  Invariants:
 *  - every mount destination is resolved inside the rootfs without following a symlink out of
 *    it (openat2 RESOLVE_IN_ROOT, or a lexical walk that restarts at the root on each symlink
 *    when openat2 is missing), and the mount is made onto the resolved fd through
 *    /proc/self/fd/N, so a symlink swapped in after the check cannot redirect it (the runc
 *    CVE-2021-30465 class);
 *  - our mount namespace is made private (or as rootfsPropagation says) before anything is
 *    mounted, so no mount propagates back to the host;
 *  - the old root is detached after pivot_root, with propagation cut first, so the host's
 *    mounts are neither visible nor unmounted on the host. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include "core/cgroup.h"
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/confine.h"
#include "core/rootfs.h"

#define MAX_SYMLINKS 40

/* Lexically clean `path` (made relative to the root): drop ".", empty components, and ".."
 * at the top, which inside a root means the root itself. */
static char *
clean_in_root (const char *path)
{
  char *out = xcalloc (1, strlen (path) + 2);
  size_t len = 0;
  const char *p = path;

  while (*p)
    {
      const char *end;
      size_t n;

      while (*p == '/')
        p++;
      end = strchrnul (p, '/');
      n = (size_t)(end - p);
      if (n == 0 || (n == 1 && p[0] == '.'))
        ;
      else if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          while (len > 0 && out[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
          out[len] = '\0';
        }
      else
        {
          if (len > 0)
            out[len++] = '/';
          memcpy (out + len, p, n);
          len += n;
          out[len] = '\0';
        }
      p = end;
    }
  if (len == 0)
    strcpy (out, ".");
  return out;
}

/* The fallback resolver for kernels without openat2: walk component by component with
 * O_NOFOLLOW; on a symlink, splice its target into the remaining path and restart from the
 * root, so that neither ".." nor an absolute target can leave it. */
static int
open_in_root_walk (int rootfd, const char *path, int flags)
{
  _cleanup_free_ char *cur = clean_in_root (path);

  for (int links = 0; links <= MAX_SYMLINKS; links++)
    {
      _cleanup_close_ int dirfd = sys_openat (rootfd, ".", O_PATH | O_CLOEXEC, 0);
      char *p = cur;
      bool restarted = false;

      if (dirfd < 0)
        return dirfd;
      if (strcmp (cur, ".") == 0)
        return sys_openat (rootfd, ".", flags | O_CLOEXEC, 0);
      while (*p && !restarted)
        {
          char *slash = strchr (p, '/');
          bool last = slash == NULL;
          struct stat st;
          int r;

          if (slash)
            *slash = '\0';
          r = sys_fstatat (dirfd, p, &st, AT_SYMLINK_NOFOLLOW);
          if (r < 0)
            return r;
          if (S_ISLNK (st.st_mode))
            {
              char target[4096];
              ssize_t n = sys_readlinkat (dirfd, p, target, sizeof target - 1);
              char *prefix, *next;
              if (n < 0)
                return (int)n;
              target[n] = '\0';
              *p = '\0';
              prefix = target[0] == '/' ? xstrdup ("") : xstrdup (cur);
              next = xasprintf ("%s/%s/%s", prefix, target, last ? "" : slash + 1);
              free (prefix);
              free (cur);
              cur = clean_in_root (next);
              free (next);
              restarted = true;
              break;
            }
          if (last)
            return sys_openat (dirfd, p, flags | O_NOFOLLOW | O_CLOEXEC, 0);
          r = sys_openat (dirfd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
          if (r < 0)
            return r;
          sys_close (dirfd);
          dirfd = r;
          *slash = '/';
          p = slash + 1;
        }
      if (!restarted)
        return sys_openat (dirfd, ".", flags | O_CLOEXEC, 0);
    }
  return -ELOOP;
}

int
rootfs_open_in_root (int rootfd, const char *path, int flags)
{
  struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  int fd;

  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  fd = sys_openat2 (rootfd, path, &how, sizeof how);
  if (fd == -ENOSYS || fd == -EAGAIN)
    fd = open_in_root_walk (rootfd, path, flags);
  return fd;
}

/* Make sure `path` exists inside the root (as a directory, or as an empty file when
 * `as_file`), creating missing parents as directories; return an O_PATH fd to it. */
static int ensure_in_root (int rootfd, const char *path, bool as_file, int depth,
                           struct focker_err **err);

/* The last component exists but did not resolve: a symlink whose target is missing.  Create
 * the target, resolved inside the root like any other path, then open the original path. */
static int
ensure_through_symlink (int rootfd, int parent, const char *base, const char *dir, bool as_file,
                        int depth, struct focker_err **err)
{
  _cleanup_free_ char *target = NULL;
  _cleanup_close_ int fd = -1;
  char buf[4096];
  ssize_t n;
  int r;

  n = sys_readlinkat (parent, base, buf, sizeof buf - 1);
  if (n < 0)
    {
      /* not a symlink: it appeared in between, or it is not a directory */
      fd = sys_openat (parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
      return fd >= 0 ? TAKE_FD (fd) : focker_fail (err, fd, "open %s/%s in rootfs", dir, base);
    }
  if (depth >= MAX_SYMLINKS)
    return focker_fail (err, -ELOOP, "create %s/%s in rootfs: too many symlinks", dir, base);
  buf[n] = '\0';
  target = buf[0] == '/' ? xstrdup (buf) : xasprintf ("%s/%s", dir, buf);
  fd = ensure_in_root (rootfd, target, as_file, depth + 1, err);
  if (fd < 0)
    return fd;
  sys_close (TAKE_FD (fd));
  {
    _cleanup_free_ char *full = xasprintf ("%s/%s", dir, base);
    r = rootfs_open_in_root (rootfd, full, O_PATH);
  }
  return r >= 0 ? r : focker_fail (err, r, "open %s/%s in rootfs", dir, base);
}

int
rootfs_ensure_in_root (int rootfd, const char *path, bool as_file, struct focker_err **err)
{
  return ensure_in_root (rootfd, path, as_file, 0, err);
}

static int
ensure_in_root (int rootfd, const char *path, bool as_file, int depth, struct focker_err **err)
{
  _cleanup_free_ char *clean = clean_in_root (path);
  _cleanup_close_ int parent = -1;
  char *slash, *base;
  int fd, r;

  fd = rootfs_open_in_root (rootfd, clean, O_PATH);
  if (fd >= 0 || fd != -ENOENT)
    return fd >= 0 ? fd : focker_fail (err, fd, "resolve %s in rootfs", path);
  slash = strrchr (clean, '/');
  if (slash)
    {
      *slash = '\0';
      parent = ensure_in_root (rootfd, clean, false, depth, err);
      if (parent < 0)
        return parent;
      base = slash + 1;
    }
  else
    {
      parent = sys_openat (rootfd, ".", O_PATH | O_CLOEXEC, 0);
      if (parent < 0)
        return focker_fail (err, parent, "open rootfs");
      base = clean;
    }
  if (as_file)
    {
      /* O_NOFOLLOW|O_EXCL: a symlink planted at the last component is refused, not followed */
      r = sys_openat (parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (r >= 0)
        sys_close (r);
    }
  else
    r = sys_mkdirat (parent, base, 0755);
  if (r < 0 && r != -EEXIST)
    return focker_fail (err, r, "create %s in rootfs", path);
  if (r == -EEXIST)
    return ensure_through_symlink (rootfd, parent, base, slash ? clean : "", as_file, depth, err);
  fd = sys_openat (parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0)
    return focker_fail (err, fd, "open %s in rootfs", path);
  return fd;
}

static char *
fd_path (int fd)
{
  return xasprintf ("/proc/self/fd/%d", fd);
}

/* After mounting onto a path, an fd opened before still points at what is underneath:
 * reopen the destination so later remounts and propagation changes reach the new mount. */
static int
reopen_target (int rootfd, const char *dest, int *fd, char **target, struct focker_err **err)
{
  int nfd = rootfs_open_in_root (rootfd, dest, O_PATH);

  if (nfd < 0)
    return focker_fail (err, nfd, "mount %s: reopen after mount", dest);
  sys_close (*fd);
  free (*target);
  *fd = nfd;
  *target = fd_path (nfd);
  return 0;
}

static bool
source_is_dir (const char *source)
{
  struct stat st;
  return sys_fstatat (AT_FDCWD, source, &st, 0) == 0 && S_ISDIR (st.st_mode);
}

/* Remount a bind mount to apply per-mount flags: a bind ignores them on the first call. */
static int
bind_remount (const char *target, unsigned long flags)
{
  unsigned long rf = MS_BIND | MS_REMOUNT
                     | (flags
                        & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME
                           | MS_RELATIME | MS_STRICTATIME));
  return sys_mount (NULL, target, NULL, rf, NULL);
}

/* linux.mountLabel goes on the filesystems that take a context= option (tmpfs, devpts, ...);
 * procfs, sysfs, cgroupfs and mqueue are labelled by the policy, as runc leaves them. */
static char *
labelled_data (const char *type, const char *data, const char *label)
{
  static const char *const unlabelled[] = { "proc", "sysfs", "cgroup", "cgroup2", "mqueue" };

  if (label == NULL)
    return data ? xstrdup (data) : NULL;
  for (size_t i = 0; i < sizeof unlabelled / sizeof *unlabelled; i++)
    if (strcmp (type, unlabelled[i]) == 0)
      return data ? xstrdup (data) : NULL;
  return data && *data ? xasprintf ("%s,context=\"%s\"", data, label)
                       : xasprintf ("context=\"%s\"", label);
}

static int
mount_one (const struct spec_mount *m, const char *bundle, int rootfd, const char *label,
           const char *cgroup_self, bool cgroup_host_view, const struct cgroup_host *host,
           struct focker_err **err)
{
  _cleanup_free_ char *source = NULL, *target = NULL, *data = NULL;
  _cleanup_close_ int fd = -1;
  const char *type = m->type;
  unsigned long flags = m->flags;
  bool bind = m->bind || (type && strcmp (type, "bind") == 0);
  int r;

  if (m->source && bind && m->source[0] != '/')
    source = path_join (bundle, m->source);
  else
    source = xstrdup (m->source ? m->source : "none");
  if (!bind && type && (strcmp (type, "proc") == 0 || strcmp (type, "sysfs") == 0))
    {
      /* procfs and sysfs only on a real directory (runc CVE-2019-16884): a symlink there,
       * even one resolving inside the root, is how an image redirects /proc to a directory
       * of its own that an LSM would not label as procfs */
      struct stat st;
      const char *rel = m->destination + strspn (m->destination, "/");
      if (*rel && sys_fstatat (rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        return focker_fail (err, -ELOOP, "mount %s: %s must be a directory, not a symlink",
                            m->destination, type);
    }
  fd = rootfs_ensure_in_root (rootfd, m->destination, bind && !source_is_dir (source), err);
  if (fd < 0)
    return focker_err_prefix (err, "mount %s", m->destination);
  target = fd_path (fd);

  if (bind)
    {
      r = sys_mount (source, target, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL);
      if (r < 0)
        return focker_fail (err, r, "mount %s: bind %s", m->destination, source);
      r = reopen_target (rootfd, m->destination, &fd, &target, err);
      if (r < 0)
        return r;
      if (flags & ~(MS_BIND | MS_REC))
        {
          r = bind_remount (target, flags);
          if (r < 0)
            return focker_fail (err, r, "mount %s: remount bind with options", m->destination);
        }
    }
  else
    {
      if (type == NULL)
        return focker_fail (err, -EINVAL, "mount %s: no type given", m->destination);
      if (strcmp (type, "cgroup") == 0)
        return rootfs_mount_cgroup (rootfd, target, m, cgroup_self, cgroup_host_view, host, err);
      data = labelled_data (type, m->data, label);
      r = sys_mount (source, target, type, flags & ~(MS_REC | MS_BIND), data);
      if (r == -EPERM && strcmp (type, "sysfs") == 0)
        {
          /* sysfs cannot be mounted without owning the network namespace: bind the host's
           * (read-only), as runc and crun do */
          r = sys_mount ("/sys", target, NULL, MS_BIND | MS_REC, NULL);
          if (r == 0)
            r = reopen_target (rootfd, m->destination, &fd, &target, err);
          if (r == 0)
            r = bind_remount (target, flags | MS_RDONLY);
        }
      if (r < 0)
        return focker_fail (err, r, "mount %s: mount %s type %s", m->destination, source, type);
      /* the fd still names the directory under the new mount: only a propagation change
       * needs the mount itself (one openat2 fewer for each of the usual /proc, /dev ...) */
      if (m->propagation)
        {
          r = reopen_target (rootfd, m->destination, &fd, &target, err);
          if (r < 0)
            return r;
        }
    }
  if (m->propagation)
    {
      r = sys_mount (NULL, target, NULL, m->propagation, NULL);
      if (r < 0)
        return focker_fail (err, r, "mount %s: set propagation", m->destination);
    }
  return 0;
}

struct cgroup_reopen
{
  int rootfd;
  const char *dest;
  int fd;
};

static int
cgroup_reopen (void *ctx, char **target)
{
  struct cgroup_reopen *c = ctx;
  int nfd = rootfs_open_in_root (c->rootfd, c->dest, O_PATH);

  if (nfd < 0)
    return nfd;
  if (c->fd >= 0)
    sys_close (c->fd);
  c->fd = nfd;
  free (*target);
  *target = fd_path (nfd);
  return 0;
}

/* The container's /sys/fs/cgroup (cgroup.c): cgroup2 on a v2 host; on v1 and hybrid hosts a
 * tmpfs with one mount per hierarchy.  The init is in its cgroup namespace by now, so each
 * new mount is rooted at the container's own cgroup. */
int
rootfs_mount_cgroup (int rootfd, const char *target, const struct spec_mount *m,
                     const char *cgroup_self, bool host_view, const struct cgroup_host *host,
                     struct focker_err **err)
{
  struct cgroup_reopen c = { .rootfd = rootfd, .dest = m->destination, .fd = -1 };
  int r = cgroup_mount_container (target, m->flags, cgroup_reopen, &c, cgroup_self, host_view, host,
                                  err);

  if (c.fd >= 0)
    sys_close (c.fd);
  if (r < 0)
    return focker_err_prefix (err, "mount %s", m->destination);
  return 0;
}

struct default_device
{
  const char *name;
  unsigned major, minor;
};

static const struct default_device default_devices[] = {
  { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
  { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

/* rootfs_ensure_in_root under the caller's umask `mask` (create_devices clears it for the
 * nodes only), or -1: the umask as it is. */
static int
ensure_in_root_masked (int rootfd, const char *path, bool as_file, int mask,
                       struct focker_err **err)
{
  int cleared = mask >= 0 ? sys_umask ((mode_t)mask) : -1;
  int fd = rootfs_ensure_in_root (rootfd, path, as_file, err);

  if (cleared >= 0)
    sys_umask ((mode_t)cleared);
  return fd;
}

/* Create a device node in the rootfs; where mknod is not allowed (a user namespace), bind
 * the host's node instead.  Its directory is made under the umask `mask` (see
 * ensure_in_root_masked); a node of /dev is made through `devfd`. */
static int
make_device (int rootfd, int devfd, int mask, const char *path, mode_t type, unsigned major,
             unsigned minor, mode_t mode, uid_t uid, gid_t gid, struct focker_err **err)
{
  _cleanup_free_ char *clean = clean_in_root (path);
  _cleanup_free_ char *dir = NULL;
  _cleanup_close_ int dirfd = -1;
  char *slash = strrchr (clean, '/');
  const char *base = slash ? slash + 1 : clean;
  int r;

  dir = slash ? xstrndup (clean, (size_t)(slash - clean)) : xstrdup (".");
  if (devfd < 0 || strcmp (dir, "dev") != 0)
    {
      dirfd = ensure_in_root_masked (rootfd, dir, false, mask, err);
      if (dirfd < 0)
        return focker_err_prefix (err, "device %s", path);
    }
  /* the umask is 0 here (create_devices): the node gets exactly the config's mode */
  r = sys_mknodat (dirfd >= 0 ? dirfd : devfd, base, type | (mode & 07777), makedev (major, minor));
  if (r == -EEXIST)
    {
      /* whatever the image has there is replaced */
      sys_unlinkat (dirfd >= 0 ? dirfd : devfd, base, 0);
      r = sys_mknodat (dirfd >= 0 ? dirfd : devfd, base, type | (mode & 07777),
                       makedev (major, minor));
    }
  if (r == 0)
    {
      r = sys_fchownat (dirfd >= 0 ? dirfd : devfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
      if (r < 0)
        return focker_fail (err, r, "device %s: chown", path);
      return 0;
    }
  if (r != -EPERM)
    return focker_fail (err, r, "device %s: mknod", path);
  {
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *target = NULL;
    fd = ensure_in_root_masked (rootfd, path, true, mask, err);
    if (fd < 0)
      return focker_err_prefix (err, "device %s", path);
    target = fd_path (fd);
    r = sys_mount (path, target, NULL, MS_BIND, NULL);
    if (r < 0)
      return focker_fail (err, r, "device %s: bind from host", path);
  }
  return 0;
}

/* The nodes, with the umask cleared (create_devices); `mask` is the caller's, for what
 * else is made on the way. */
static int
make_devices (const struct spec *s, int rootfd, int devfd, int mask, struct focker_err **err)
{
  int r;
  for (size_t i = 0; i < sizeof default_devices / sizeof *default_devices; i++)
    {
      _cleanup_free_ char *path = xasprintf ("/dev/%s", default_devices[i].name);
      r = make_device (rootfd, devfd, mask, path, S_IFCHR, default_devices[i].major,
                       default_devices[i].minor, 0666, 0, 0, err);
      if (r < 0)
        return r;
    }
  for (size_t i = 0; s->has_linux && i < s->linux_.n_devices; i++)
    {
      const struct spec_device *d = &s->linux_.devices[i];
      mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
      r = make_device (rootfd, devfd, mask, d->path, type, (unsigned)d->major, (unsigned)d->minor,
                       d->has_file_mode ? d->file_mode : 0666, d->has_uid ? d->uid : 0,
                       d->has_gid ? d->gid : 0, err);
      if (r < 0)
        return r;
    }
  return 0;
}

static int
create_devices (const struct spec *s, int rootfd, struct focker_err **err)
{
  static const char *const links[][2] = {
    { "/proc/self/fd", "dev/fd" },       { "/proc/self/fd/0", "dev/stdin" },
    { "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
    { "/proc/kcore", "dev/core" },
  };
  _cleanup_close_ int devfd = -1, nodes = -1;
  int r, old;

  /* every node of /dev/NAME is made through this one fd of the rootfs's /dev */
  nodes = rootfs_ensure_in_root (rootfd, "dev", false, err);
  if (nodes < 0)
    return focker_err_prefix (err, "device /dev");
  /* the nodes get exactly the config's mode: focker's own umask (022 from a shell) would
   * make /dev/null 0644, unwritable for a non-root container user (runc clears it too) */
  old = sys_umask (0);
  r = make_devices (s, rootfd, nodes, old, err);
  if (old >= 0)
    sys_umask ((mode_t)old);
  if (r < 0)
    return r;
  devfd = rootfs_open_in_root (rootfd, "dev", O_PATH | O_DIRECTORY);
  if (devfd < 0)
    return focker_fail (err, devfd, "open /dev in rootfs");
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    {
      r = sys_symlinkat (links[i][0], rootfd, links[i][1]);
      if (r < 0 && r != -EEXIST)
        return focker_fail (err, r, "symlink /%s", links[i][1]);
    }
  if (exists_at (rootfd, "dev/pts/ptmx"))
    {
      sys_unlinkat (rootfd, "dev/ptmx", 0);
      r = sys_symlinkat ("pts/ptmx", rootfd, "dev/ptmx");
      if (r < 0 && r != -EEXIST)
        return focker_fail (err, r, "symlink /dev/ptmx");
    }
  return 0;
}

static bool
mounts_dev (const struct spec *s)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    if (strcmp (s->mounts[i].destination, "/dev") == 0)
      return !(s->mounts[i].bind || (s->mounts[i].type && !strcmp (s->mounts[i].type, "bind")));
  return false;
}

/* Does the config give the container a namespace of this type (new or joined)? */
static bool
has_namespace (const struct spec *s, int type)
{
  for (size_t i = 0; s->has_linux && i < s->linux_.n_namespaces; i++)
    if (s->linux_.namespaces[i].type == type)
      return true;
  return false;
}

static bool
is_cgroup_mount (const struct spec_mount *m)
{
  return !m->bind && m->type
         && (strcmp (m->type, "cgroup") == 0 || strcmp (m->type, "cgroup2") == 0);
}

int
rootfs_setup (const struct spec *s, const char *bundle, const char *rootfs,
              const struct cgroup_host *host, const struct rootfs_cgroup_gate *gate,
              struct focker_err **err)
{
  unsigned long prop = s->has_linux && s->linux_.rootfs_propagation_flags
                           ? s->linux_.rootfs_propagation_flags
                           : MS_REC | MS_PRIVATE;
  _cleanup_close_ int rootfd = -1;
  _cleanup_free_ char *cgroup_self = NULL;
  const char *label = NULL;
  bool gated = gate == NULL;
  /* the container shares the runtime's cgroup and user namespaces and nothing propagates:
   * its cgroup mounts may be binds of the runtime's own (cgroup_mount_container) */
  bool host_view = prop == (MS_REC | MS_PRIVATE) && !has_namespace (s, CLONE_NEWCGROUP)
                   && !has_namespace (s, CLONE_NEWUSER);
  int r;

  if (s->has_linux && s->linux_.mount_label && *s->linux_.mount_label && confine_selinux_enabled ())
    label = s->linux_.mount_label;
  /* Cut propagation towards the host first: nothing mounted below may reach it. */
  r = sys_mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  if (r < 0)
    return focker_fail (err, r, "make / private in the container mount namespace");
  if (prop != (MS_REC | MS_PRIVATE))
    {
      r = sys_mount (NULL, "/", NULL, prop, NULL);
      if (r < 0)
        return focker_fail (err, r, "linux.rootfsPropagation: apply to /");
    }
  /* pivot_root needs the new root to be a mount point */
  r = sys_mount (rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
  if (r < 0)
    return focker_fail (err, r, "bind rootfs %s", rootfs);
  rootfd = sys_openat (AT_FDCWD, rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (rootfd < 0)
    return focker_fail (err, rootfd, "open rootfs %s", rootfs);
  for (size_t i = 0; i <= s->n_mounts; i++)
    {
      /* a gate given is needed by the first cgroup mount (its caller says so) */
      if (!gated && (i == s->n_mounts || is_cgroup_mount (&s->mounts[i])))
        {
          gated = true;
          r = gate->open (gate->ctx, &cgroup_self, err);
          if (r < 0)
            return r;
        }
      if (i == s->n_mounts)
        break;
      r = mount_one (&s->mounts[i], bundle, rootfd, label, cgroup_self, host_view, host, err);
      if (r < 0)
        return r;
    }
  if (mounts_dev (s))
    {
      r = create_devices (s, rootfd, err);
      if (r < 0)
        return r;
    }
  return 0;
}

/* Open the new root and make it the working directory: its fd, or a negative errno. */
static int
chdir_rootfs (const char *rootfs, struct focker_err **err)
{
  _cleanup_close_ int fd = sys_openat (AT_FDCWD, rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  int r;

  if (fd < 0)
    return focker_fail (err, fd, "open rootfs %s", rootfs);
  r = sys_fchdir (fd);
  if (r < 0)
    return focker_fail (err, r, "chdir to rootfs %s", rootfs);
  return TAKE_FD (fd);
}

/* Move the new root over / and chroot into it: for a root that cannot be pivoted (ramfs) or
 * when asked (--no-pivot).  Weaker than pivot_root: the old root stays reachable to a process
 * that can escape a chroot, which CAP_SYS_CHROOT in the container allows. */
int
rootfs_pivot_chroot (const char *rootfs, struct focker_err **err)
{
  _cleanup_close_ int newroot = chdir_rootfs (rootfs, err);
  int r;

  if (newroot < 0)
    return newroot;
  r = sys_mount (".", "/", NULL, MS_MOVE, NULL);
  if (r < 0)
    return focker_fail (err, r, "move rootfs %s over /", rootfs);
  r = sys_chroot (".");
  if (r < 0)
    return focker_fail (err, r, "chroot into rootfs %s", rootfs);
  r = sys_chdir ("/");
  if (r < 0)
    return focker_fail (err, r, "chdir /");
  return 0;
}

int
rootfs_pivot (const char *rootfs, struct focker_err **err)
{
  _cleanup_close_ int newroot = chdir_rootfs (rootfs, err);
  int r;

  if (newroot < 0)
    return newroot;
  /* pivot_root(".", ".") stacks the old root on top of the new one; no put_old directory
   * has to exist in the image. */
  r = sys_pivot_root (".", ".");
  if (r == -EINVAL)
    {
      /* The current root is the initramfs (ramfs), which cannot be pivoted away from. */
      return rootfs_pivot_chroot (rootfs, err);
    }
  if (r < 0)
    return focker_fail (err, r, "pivot_root into %s", rootfs);
  /* The old root is on top now.  Make it a slave first so detaching it cannot propagate an
   * unmount to the host's mounts, then detach it. */
  r = sys_mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL);
  if (r < 0)
    return focker_fail (err, r, "make old root a slave");
  r = sys_umount2 (".", MNT_DETACH);
  if (r < 0)
    return focker_fail (err, r, "detach old root");
  r = sys_chdir ("/");
  if (r < 0)
    return focker_fail (err, r, "chdir /");
  return 0;
}

static int
mask_path (int rootfd, const char *path, struct focker_err **err)
{
  _cleanup_close_ int fd = rootfs_open_in_root (rootfd, path, O_PATH);
  _cleanup_free_ char *target = NULL;
  struct stat st;
  int r;

  if (fd == -ENOENT)
    return 0;
  if (fd < 0)
    return focker_fail (err, fd, "masked path %s", path);
  r = sys_fstatat (fd, "", &st, AT_EMPTY_PATH);
  if (r < 0)
    return focker_fail (err, r, "masked path %s: stat", path);
  target = fd_path (fd);
  if (S_ISDIR (st.st_mode))
    r = sys_mount ("tmpfs", target, "tmpfs", MS_RDONLY, "size=0");
  else
    r = sys_mount ("/dev/null", target, NULL, MS_BIND, NULL);
  if (r < 0)
    return focker_fail (err, r, "masked path %s: mount", path);
  return 0;
}

static int
readonly_path (int rootfd, const char *path, struct focker_err **err)
{
  _cleanup_close_ int fd = rootfs_open_in_root (rootfd, path, O_PATH);
  _cleanup_free_ char *target = NULL;
  int r;

  if (fd == -ENOENT)
    return 0;
  if (fd < 0)
    return focker_fail (err, fd, "readonly path %s", path);
  target = fd_path (fd);
  r = sys_mount (target, target, NULL, MS_BIND | MS_REC, NULL);
  if (r < 0)
    return focker_fail (err, r, "readonly path %s: bind", path);
  r = reopen_target (rootfd, path, &fd, &target, err);
  if (r < 0)
    return r;
  r = sys_mount (NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
  if (r < 0)
    return focker_fail (err, r, "readonly path %s: remount read-only", path);
  return 0;
}

int
rootfs_finish (const struct spec *s, struct focker_err **err)
{
  _cleanup_close_ int rootfd = sys_openat (AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  int r;

  if (rootfd < 0)
    return focker_fail (err, rootfd, "open /");
  /* sysctls first: readonlyPaths usually holds /proc/sys (runc's order too) */
  for (size_t i = 0; s->has_linux && i < s->linux_.n_sysctl; i++)
    {
      _cleanup_free_ char *path = xasprintf ("/proc/sys/%s", s->linux_.sysctl[i].key);
      _cleanup_close_ int fd = -1;
      for (char *c = path + 10; *c; c++)
        if (*c == '.')
          *c = '/';
      fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0);
      if (fd < 0)
        return focker_fail (err, fd, "linux.sysctl: %s", s->linux_.sysctl[i].key);
      r = write_all (fd, s->linux_.sysctl[i].value, strlen (s->linux_.sysctl[i].value));
      if (r < 0)
        return focker_fail (err, r, "linux.sysctl: %s: write", s->linux_.sysctl[i].key);
    }
  for (char **p = s->has_linux ? s->linux_.masked_paths : NULL; p && *p; p++)
    if ((r = mask_path (rootfd, *p, err)) < 0)
      return r;
  for (char **p = s->has_linux ? s->linux_.readonly_paths : NULL; p && *p; p++)
    if ((r = readonly_path (rootfd, *p, err)) < 0)
      return r;
  if (s->root_readonly)
    {
      r = sys_mount (NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
      if (r < 0)
        return focker_fail (err, r, "root.readonly: remount / read-only");
    }
  return 0;
}
