/* mounts.c: namespaces as objects, and one mount tree per mount namespace.
 *
 * A mount records source, target (an absolute host path: the VFS path of the inode it was
 * mounted on), fstype, per-mount flags, data and propagation, plus its parent mount.  Mounts
 * do not change path resolution: a bind mount or a tmpfs only adds an entry, contents are
 * not mirrored.  The tree is walked like Linux walks paths: from the namespace's root mount,
 * crossing into the first (shallowest) child mount whose target prefixes the path, the
 * topmost when several are stacked.  Mount structures are never freed before the kernel, so
 * a pointer from fake_mount_find stays valid after an umount (it is just no longer listed).
 * Propagation is recorded and checked (pivot_root refuses shared mounts, MS_UNBINDABLE
 * sources), but mount events do not propagate between namespaces. */
#include "sys-fake/internal.h"
#include <sys/mount.h>

const char *const fake_ns_names[FAKE_NS_COUNT]
    = { "mnt", "pid", "net", "uts", "ipc", "user", "cgroup", "time" };

static const int fake_ns_flags[FAKE_NS_COUNT]
    = { CLONE_NEWNS,  CLONE_NEWPID,  CLONE_NEWNET,    CLONE_NEWUTS,
        CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWCGROUP, CLONE_NEWTIME };

int
fake_ns_type_from_clone (int flag)
{
  for (int i = 0; i < FAKE_NS_COUNT; i++)
    if (fake_ns_flags[i] == flag)
      return i;
  return -1;
}

int
fake_ns_clone_flag (enum fake_ns_type t)
{
  return fake_ns_flags[t];
}

static void
fake_ns_dtor (void *p)
{
  struct fake_ns *ns = p;

  free (ns->mounts);
  free (ns->uid_map);
  free (ns->gid_map);
}

struct fake_ns *
fake_ns_new (struct fake_kernel *k, enum fake_ns_type type, struct fake_ns *from)
{
  struct fake_ns *ns = fake_obj_new (k, sizeof *ns, fake_ns_dtor);

  ns->type = type;
  ns->id = k->next_ns_id++;
  ns->next_pid = 1;
  if (type == FAKE_NS_USER || type == FAKE_NS_PID)
    ns->parent = from;
  if (type == FAKE_NS_MNT && from)
    fake_mounts_copy (k, ns, from);
  if (type == FAKE_NS_UTS)
    {
      strcpy (ns->hostname, from ? from->hostname : "fakehost");
      strcpy (ns->domainname, from ? from->domainname : "(none)");
    }
  return ns;
}

/* ---- the tree ---- */

static void
fake_mount_dtor (void *p)
{
  struct fake_mount *m = p;

  free (m->source);
  free (m->target);
  free (m->fstype);
  free (m->data);
}

static bool
fake_path_prefix (const char *top, const char *path)
{
  size_t n = strlen (top);

  if (strcmp (top, "/") == 0)
    return path[0] == '/';
  return strncmp (path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The mount `path` is in, walking from `start`.  Mounts stacked on the start's own root are
 * only entered when `path` is that root itself (as umount2(".") after pivot_root(".", ".")
 * sees them, while "/proc" is still looked up in the new root). */
static struct fake_mount *
fake_mount_walk (struct fake_ns *ns, struct fake_mount *start, const char *path)
{
  struct fake_mount *m = start;

  for (;;)
    {
      struct fake_mount *best = NULL;

      for (size_t i = 0; i < ns->n_mounts; i++)
        {
          struct fake_mount *c = ns->mounts[i];
          if (c->parent != m || !fake_path_prefix (c->target, path))
            continue;
          if (m == start && strcmp (c->target, m->target) == 0 && strcmp (path, m->target))
            continue;
          if (best == NULL || strlen (c->target) <= strlen (best->target))
            best = c;
        }
      if (best == NULL)
        return m;
      m = best;
    }
}

struct fake_mount *
fake_mount_exact (struct fake_ns *mnt, const char *host_path)
{
  struct fake_mount *m;

  if (mnt->root_mount == NULL)
    return NULL;
  m = fake_mount_walk (mnt, mnt->root_mount, host_path);
  return strcmp (m->target, host_path) == 0 ? m : NULL;
}

static struct fake_mount *
fake_mount_covering (struct fake_ns *mnt, const char *host_path)
{
  return mnt->root_mount ? fake_mount_walk (mnt, mnt->root_mount, host_path) : NULL;
}

static void
fake_mount_append (struct fake_ns *mnt, struct fake_mount *m)
{
  if (mnt->n_mounts == mnt->cap_mounts)
    {
      mnt->cap_mounts = mnt->cap_mounts ? mnt->cap_mounts * 2 : 16;
      mnt->mounts = fake_xrealloc (mnt->mounts, mnt->cap_mounts * sizeof *mnt->mounts);
    }
  mnt->mounts[mnt->n_mounts++] = m;
}

struct fake_mount *
fake_mount_add (struct fake_kernel *k, struct fake_ns *mnt, const char *source, const char *target,
                const char *fstype, unsigned long flags, const char *data)
{
  struct fake_mount *m = fake_obj_new (k, sizeof *m, fake_mount_dtor);

  m->id = k->next_mnt_id++;
  m->source = fake_xstrdup (source ? source : "none");
  m->target = fake_xstrdup (target);
  m->fstype = fake_xstrdup (fstype);
  m->data = data ? fake_xstrdup (data) : NULL;
  m->flags = flags;
  m->parent = fake_mount_covering (mnt, target);
  /* a mount created under a shared mount is shared too (a new peer group) */
  m->propagation = m->parent && m->parent->propagation == MS_SHARED ? MS_SHARED : MS_PRIVATE;
  if (mnt->root_mount == NULL)
    mnt->root_mount = m;
  fake_mount_append (mnt, m);
  return m;
}

void
fake_mounts_seed (struct fake_kernel *k, struct fake_ns *mnt)
{
  bool ramfs = k->pers.root_is_ramfs;
  struct fake_mount *root = fake_mount_add (k, mnt, ramfs ? "rootfs" : "/dev/root", "/",
                                            ramfs ? "rootfs" : "ext4", MS_RELATIME, NULL);

  root->is_initial_root = true;
  root->propagation = MS_SHARED; /* what systemd sets up on a host */
  fake_mount_add (k, mnt, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  fake_mount_add (k, mnt, "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  fake_mount_add (k, mnt, "udev", "/dev", "devtmpfs", MS_NOSUID, NULL);
  fake_mount_add (k, mnt, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL);
  fake_mount_add (k, mnt, "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, NULL);
  fake_mount_add (k, mnt, "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, NULL);
}

static struct fake_mount *
fake_mount_clone (struct fake_kernel *k, const struct fake_mount *src)
{
  struct fake_mount *m = fake_obj_new (k, sizeof *m, fake_mount_dtor);

  *m = *src;
  m->id = k->next_mnt_id++;
  m->source = fake_xstrdup (src->source);
  m->target = fake_xstrdup (src->target);
  m->fstype = fake_xstrdup (src->fstype);
  m->data = src->data ? fake_xstrdup (src->data) : NULL;
  return m;
}

void
fake_mounts_copy (struct fake_kernel *k, struct fake_ns *to, struct fake_ns *from)
{
  size_t n = from->n_mounts;
  struct fake_mount **map = fake_xcalloc (n, sizeof *map);

  for (size_t i = 0; i < n; i++)
    {
      map[i] = fake_mount_clone (k, from->mounts[i]);
      fake_mount_append (to, map[i]);
      if (from->mounts[i] == from->root_mount)
        to->root_mount = map[i];
    }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      if (from->mounts[i]->parent == from->mounts[j])
        map[i]->parent = map[j];
  free (map);
}

static bool
fake_mount_descends (const struct fake_mount *m, const struct fake_mount *top)
{
  for (; m; m = m->parent)
    if (m == top)
      return true;
  return false;
}

/* Remove `m` (and, with `tree`, every mount below it) from the table. */
static void
fake_mount_remove (struct fake_ns *mnt, struct fake_mount *m, bool tree)
{
  size_t j = 0;

  for (size_t i = 0; i < mnt->n_mounts; i++)
    {
      struct fake_mount *c = mnt->mounts[i];
      if (c == m || (tree && fake_mount_descends (c, m)))
        continue;
      mnt->mounts[j++] = c;
    }
  mnt->n_mounts = j;
}

/* Move `top` and its subtree to the end of the table: they were mounted last. */
static void
fake_mount_to_end (struct fake_ns *mnt, struct fake_mount *top)
{
  size_t n = mnt->n_mounts, j = 0, k = 0;
  struct fake_mount **moved = fake_xcalloc (n, sizeof *moved);

  for (size_t i = 0; i < n; i++)
    {
      struct fake_mount *c = mnt->mounts[i];
      if (fake_mount_descends (c, top))
        moved[k++] = c;
      else
        mnt->mounts[j++] = c;
    }
  memcpy (mnt->mounts + j, moved, k * sizeof *moved);
  free (moved);
}

/* Re-root the targets of `top` and its subtree from prefix `from` to prefix `to`. */
static void
fake_mount_rebase (struct fake_ns *mnt, struct fake_mount *top, const char *from, const char *to)
{
  size_t n = strcmp (from, "/") == 0 ? 0 : strlen (from);

  for (size_t i = 0; i < mnt->n_mounts; i++)
    {
      struct fake_mount *c = mnt->mounts[i];
      char *t;

      if (!fake_mount_descends (c, top))
        continue;
      if (strcmp (c->target, from) == 0)
        t = fake_xstrdup (to);
      else
        t = fake_xasprintf ("%s%s", strcmp (to, "/") == 0 ? "" : to, c->target + n);
      free (c->target);
      c->target = t;
    }
}

bool
fake_mount_busy (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *ino)
{
  struct fake_ns *mnt = p->ns[FAKE_NS_MNT];
  char *path = fake_inode_path (ino);
  bool busy = false;

  for (size_t i = 0; i < mnt->n_mounts && !busy; i++)
    busy = strcmp (mnt->mounts[i]->target, path) == 0;
  free (path);
  return busy;
}

/* ---- the test API ---- */

size_t
fake_mount_count (struct fake_kernel *k, pid_t pid)
{
  struct fake_proc *p = fake_proc_any (k, pid);

  return p ? p->ns[FAKE_NS_MNT]->n_mounts : 0;
}

const struct fake_mount *
fake_mount_find (struct fake_kernel *k, pid_t pid, const char *path)
{
  struct fake_proc *p = fake_proc_any (k, pid);
  char *root, *host;
  const struct fake_mount *m;

  if (p == NULL || path == NULL || path[0] != '/')
    return NULL;
  root = fake_inode_path (p->root);
  if (strcmp (root, "/") == 0)
    host = fake_xstrdup (path);
  else if (strcmp (path, "/") == 0)
    host = fake_xstrdup (root);
  else
    host = fake_xasprintf ("%s%s", root, path);
  m = fake_mount_exact (p->ns[FAKE_NS_MNT], host);
  free (root);
  free (host);
  return m;
}

const struct fake_mount *
fake_mount_at (struct fake_kernel *k, pid_t pid, size_t i)
{
  struct fake_proc *p = fake_proc_any (k, pid);

  return p && i < p->ns[FAKE_NS_MNT]->n_mounts ? p->ns[FAKE_NS_MNT]->mounts[i] : NULL;
}

/* ---- calls ---- */

#define FAKE_MS_PERMOUNT                                                                           \
  (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_MANDLOCK | MS_DIRSYNC        \
   | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME)
#define FAKE_MS_PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)

static const char *const fake_fstypes[]
    = { "proc",      "sysfs",       "tmpfs",   "devpts",   "mqueue",     "cgroup",   "cgroup2",
        "overlay",   "devtmpfs",    "ramfs",   "bpf",      "securityfs", "debugfs",  "fusectl",
        "hugetlbfs", "binfmt_misc", "tracefs", "configfs", "pstore",     "efivarfs", "ext4",
        "xfs",       "btrfs",       "nfs",     "fuse",     "squashfs",   "autofs",   "nsfs" };

static int
fake_mount_target (struct fake_kernel *k, struct fake_proc *p, const char *path, bool follow,
                   struct fake_inode **ino, char **host)
{
  int r;

  if (path == NULL)
    return -EFAULT;
  r = fake_resolve_simple (k, AT_FDCWD, path, follow, ino);
  if (r < 0)
    return r;
  *host = fake_inode_path (*ino);
  return 0;
}

static int
fake_mount_bind (struct fake_kernel *k, struct fake_ns *mnt, const char *source,
                 struct fake_inode *tino, const char *tpath, unsigned long flags)
{
  struct fake_inode *sino;
  struct fake_mount *sm;
  char *spath;
  size_t n, slen;
  int r;

  r = fake_mount_target (k, fake_self (k), source, true, &sino, &spath);
  if (r < 0)
    return r;
  sm = fake_mount_covering (mnt, spath);
  if (S_ISDIR (sino->mode) != S_ISDIR (tino->mode))
    r = -ENOTDIR;
  else if (sm->propagation == MS_UNBINDABLE)
    r = -EINVAL;
  if (r < 0)
    return free (spath), r;
  /* a bind mount starts with the source mount's flags: read-only needs a remount */
  fake_mount_add (k, mnt, spath, tpath, sm->fstype, sm->flags & FAKE_MS_PERMOUNT, NULL);
  n = mnt->n_mounts - 1;
  slen = strcmp (spath, "/") == 0 ? 0 : strlen (spath);
  for (size_t i = 0; (flags & MS_REC) && i < n; i++)
    {
      struct fake_mount *c = mnt->mounts[i];
      char *t;
      if (c == sm || !fake_mount_descends (c, sm) || !fake_path_prefix (spath, c->target)
          || c->propagation == MS_UNBINDABLE)
        continue;
      t = fake_xasprintf ("%s%s", strcmp (tpath, "/") == 0 ? "" : tpath, c->target + slen);
      fake_mount_add (k, mnt, c->source, t, c->fstype, c->flags, c->data);
      free (t);
    }
  free (spath);
  return 0;
}

static int
fake_mount_propagation (struct fake_ns *mnt, const char *tpath, unsigned long flags)
{
  unsigned long type = flags & FAKE_MS_PROPAGATION;
  struct fake_mount *m = fake_mount_exact (mnt, tpath);

  if ((type & (type - 1)) || (flags & ~(FAKE_MS_PROPAGATION | MS_REC | MS_SILENT)))
    return -EINVAL;
  if (m == NULL)
    return -EINVAL; /* only a mount root can change propagation */
  for (size_t i = 0; i < mnt->n_mounts; i++)
    if (mnt->mounts[i] == m || ((flags & MS_REC) && fake_mount_descends (mnt->mounts[i], m)))
      mnt->mounts[i]->propagation = type;
  return 0;
}

static int
fake_mount_move (struct fake_kernel *k, struct fake_ns *mnt, const char *source,
                 struct fake_inode *tino, const char *tpath)
{
  struct fake_inode *sino;
  struct fake_mount *sm;
  char *spath;
  int r;

  r = fake_mount_target (k, fake_self (k), source, true, &sino, &spath);
  if (r < 0)
    return r;
  sm = fake_mount_exact (mnt, spath);
  if (sm == NULL || sm == mnt->root_mount || (sm->parent && sm->parent->propagation == MS_SHARED))
    r = -EINVAL;
  else if (S_ISDIR (sino->mode) != S_ISDIR (tino->mode))
    r = -ENOTDIR;
  else if (fake_path_prefix (spath, tpath))
    r = -ELOOP;
  if (r == 0)
    {
      struct fake_mount *parent = fake_mount_covering (mnt, tpath);
      fake_mount_rebase (mnt, sm, spath, tpath);
      sm->parent = parent;
      fake_mount_to_end (mnt, sm);
    }
  free (spath);
  return r;
}

static int
fake_mount_new (struct fake_kernel *k, struct fake_ns *mnt, const char *source,
                struct fake_inode *tino, const char *tpath, const char *fstype, unsigned long flags,
                const char *data)
{
  bool known = false;

  if (fstype == NULL)
    return -EINVAL;
  for (size_t i = 0; i < sizeof fake_fstypes / sizeof *fake_fstypes; i++)
    known = known || strcmp (fstype, fake_fstypes[i]) == 0;
  if (!known)
    return -ENODEV;
  if (!S_ISDIR (tino->mode))
    return -ENOTDIR;
  if (strcmp (fstype, "overlay") == 0 && (data == NULL || strstr (data, "lowerdir=") == NULL))
    return -EINVAL;
  fake_mount_add (k, mnt, source, tpath, fstype, flags & FAKE_MS_PERMOUNT, data);
  return 0;
}

int
fake_do_mount (const char *source, const char *target, const char *fstype, unsigned long flags,
               const void *data)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_ns *mnt = p->ns[FAKE_NS_MNT];
  struct fake_inode *tino;
  char *tpath;
  int r;

  if (!fake_proc_privileged (p))
    return -EPERM;
  if ((flags & MS_MGC_MSK) == MS_MGC_VAL)
    flags &= ~MS_MGC_MSK;
  r = fake_mount_target (k, p, target, true, &tino, &tpath);
  if (r < 0)
    return r;
  if (flags & MS_REMOUNT)
    {
      struct fake_mount *m = fake_mount_exact (mnt, tpath);
      if (m == NULL)
        r = -EINVAL;
      else
        {
          m->flags = flags & FAKE_MS_PERMOUNT;
          if (!(flags & MS_BIND) && data)
            {
              free (m->data);
              m->data = fake_xstrdup (data);
            }
        }
    }
  else if (flags & MS_BIND)
    r = fake_mount_bind (k, mnt, source, tino, tpath, flags);
  else if (flags & FAKE_MS_PROPAGATION)
    r = fake_mount_propagation (mnt, tpath, flags);
  else if (flags & MS_MOVE)
    r = fake_mount_move (k, mnt, source, tino, tpath);
  else if (fstype && (strcmp (fstype, "cgroup") == 0 || strcmp (fstype, "cgroup2") == 0)
           && p->ns[FAKE_NS_USER] != k->init_ns[FAKE_NS_USER]
           && p->ns[FAKE_NS_CGROUP] == k->init_ns[FAKE_NS_CGROUP])
    /* cgroupfs wants CAP_SYS_ADMIN over the caller's cgroup namespace: in a user namespace
     * that means a cgroup namespace of its own */
    r = -EPERM;
  else
    r = fake_mount_new (k, mnt, source, tino, tpath, fstype, flags, data);
  free (tpath);
  return r;
}

int
fake_do_umount2 (const char *target, int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_ns *mnt = p->ns[FAKE_NS_MNT];
  struct fake_inode *tino;
  struct fake_mount *m;
  char *tpath;
  int r;

  if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW))
    return -EINVAL;
  if (!fake_proc_privileged (p))
    return -EPERM;
  r = fake_mount_target (k, p, target, !(flags & UMOUNT_NOFOLLOW), &tino, &tpath);
  if (r < 0)
    return r;
  m = fake_mount_exact (mnt, tpath);
  free (tpath);
  if (m == NULL)
    return -EINVAL;
  if (m == mnt->root_mount)
    return -EBUSY;
  if (!(flags & MNT_DETACH))
    for (size_t i = 0; i < mnt->n_mounts; i++)
      if (mnt->mounts[i]->parent == m)
        return -EBUSY;
  fake_mount_remove (mnt, m, true);
  return 0;
}

static int
fake_pivot_check (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *nino,
                  struct fake_inode *oino, struct fake_mount *rm, struct fake_mount *nm,
                  const char *opath)
{
  struct fake_ns *mnt = p->ns[FAKE_NS_MNT];
  struct fake_mount *om = fake_mount_covering (mnt, opath);

  if (!S_ISDIR (nino->mode) || !S_ISDIR (oino->mode))
    return -ENOTDIR;
  if (rm == NULL || nm == NULL)
    return -EINVAL; /* both the current root and new_root must be mount points */
  if (nm == rm)
    return -EBUSY;
  if (!fake_inode_under (nino, p->root) || !fake_inode_under (oino, nino))
    return -EINVAL;
  if (k->pers.root_is_ramfs && rm->is_initial_root)
    return -EINVAL; /* the initial ramfs cannot be pivoted away from */
  /* Linux refuses to pivot across shared mounts: the old root would propagate */
  if (om->propagation == MS_SHARED || (nm->parent && nm->parent->propagation == MS_SHARED)
      || (rm->parent ? rm->parent : rm)->propagation == MS_SHARED)
    return -EINVAL;
  return 0;
}

int
fake_do_pivot_root (const char *new_root, const char *put_old)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_ns *mnt = p->ns[FAKE_NS_MNT];
  struct fake_inode *nino, *oino, *old_root = p->root;
  struct fake_mount *rm, *nm;
  char *npath = NULL, *opath = NULL, *rpath = fake_inode_path (p->root);
  int r;

  if (!fake_proc_privileged (p))
    return free (rpath), -EPERM;
  r = fake_mount_target (k, p, new_root, true, &nino, &npath);
  if (r == 0)
    r = fake_mount_target (k, p, put_old, true, &oino, &opath);
  if (r == 0)
    {
      rm = fake_mount_exact (mnt, rpath);
      nm = fake_mount_exact (mnt, npath);
      r = fake_pivot_check (k, p, nino, oino, rm, nm, opath);
    }
  if (r == 0)
    {
      nm->parent = rm->parent;
      if (rm == mnt->root_mount)
        mnt->root_mount = nm;
      rm->parent = fake_mount_covering (mnt, opath);
      fake_mount_rebase (mnt, rm, rpath, opath);
      fake_mount_to_end (mnt, rm);
      for (size_t i = 0; i < k->n_procs; i++)
        {
          struct fake_proc *q = k->procs[i];
          if (q->reaped || q->ns[FAKE_NS_MNT] != mnt)
            continue;
          if (q->root == old_root)
            q->root = nino;
          if (q->cwd == old_root)
            q->cwd = nino;
        }
    }
  free (npath);
  free (opath);
  free (rpath);
  return r;
}

int
fake_do_chroot (const char *path)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *ino;
  int r;

  if (!fake_proc_privileged (p))
    return -EPERM;
  r = fake_resolve_simple (k, AT_FDCWD, path, true, &ino);
  if (r < 0)
    return r;
  if (!S_ISDIR (ino->mode))
    return -ENOTDIR;
  p->root = ino;
  return 0;
}

int
fake_do_chdir (const char *path)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_inode *ino;
  int r = fake_resolve_simple (k, AT_FDCWD, path, true, &ino);

  if (r < 0)
    return r;
  if (!S_ISDIR (ino->mode))
    return -ENOTDIR;
  fake_self (k)->cwd = ino;
  return 0;
}

int
fake_do_fchdir (int fd)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);

  if (f == NULL)
    return -EBADF;
  if (f->kind != FF_VNODE || !S_ISDIR (f->ino->mode))
    return -ENOTDIR;
  fake_self (k)->cwd = f->ino;
  return 0;
}
