/* vfs.c: the fake kernel's single inode tree and its path resolution.
 *
 * There is one tree, rooted at k->top (the host "/").  Mounts never change what a path
 * resolves to (mounts.c only keeps tables), so an inode has exactly one place: its parent
 * and name (no hard links), which is how an inode's absolute host path is computed.
 * Resolution follows Linux: symlinks (40 at most, then ELOOP), ".." stops at the
 * resolution root, trailing slashes demand a directory, RESOLVE_* flags of openat2, and
 * /proc and /dev/ptmx entries supplied by procfs.c whatever the VFS holds there. */
#include "sys-fake/internal.h"

static void
fake_inode_dtor (void *p)
{
  struct fake_inode *ino = p;

  free (ino->name);
  free (ino->kids);
  free (ino->kid_pos);
  free (ino->data.d);
  free (ino->link);
  free (ino->skey);
  free (ino->cg_subtree);
  free (ino->locks);
  free (ino->bpf);
  for (size_t i = 0; i < ino->n_xattrs; i++)
    {
      free (ino->xattr_names[i]);
      free (ino->xattr_vals[i].d);
    }
  free (ino->xattr_names);
  free (ino->xattr_vals);
}

/* In a set-group-ID directory a new entry takes the directory's group, and a new directory
 * is set-group-ID too (inode_init_owner). */
void
fake_inherit_gid (struct fake_inode *dir, struct fake_inode *ino)
{
  if (!(dir->mode & S_ISGID))
    return;
  ino->gid = dir->gid;
  if (S_ISDIR (ino->mode))
    ino->mode |= S_ISGID;
}

struct fake_inode *
fake_inode_new (struct fake_kernel *k, mode_t mode)
{
  struct fake_inode *ino = fake_obj_new (k, sizeof *ino, fake_inode_dtor);

  ino->ino = k->next_ino++;
  ino->mode = mode;
  ino->mtime.tv_sec = 1700000000 + (time_t)(k->now_ns / 1000000000ULL);
  return ino;
}

struct fake_inode *
fake_dir_lookup (struct fake_inode *dir, const char *name)
{
  for (size_t i = 0; i < dir->n_kids; i++)
    if (strcmp (dir->kids[i]->name, name) == 0)
      return dir->kids[i];
  return NULL;
}

void
fake_dir_link (struct fake_inode *dir, struct fake_inode *child, const char *name)
{
  if (dir->n_kids == dir->cap_kids)
    {
      dir->cap_kids = dir->cap_kids ? dir->cap_kids * 2 : 8;
      dir->kids = fake_xrealloc (dir->kids, dir->cap_kids * sizeof *dir->kids);
      dir->kid_pos = fake_xrealloc (dir->kid_pos, dir->cap_kids * sizeof *dir->kid_pos);
    }
  /* positions 0 and 1 are "." and ".." */
  if (dir->next_pos < 2)
    dir->next_pos = 2;
  dir->kid_pos[dir->n_kids] = dir->next_pos++;
  dir->kids[dir->n_kids++] = child;
  free (child->name);
  child->name = fake_xstrdup (name);
  child->parent = dir;
}

void
fake_dir_unlink (struct fake_inode *child)
{
  struct fake_inode *dir = child->parent;

  if (dir == NULL)
    return;
  for (size_t i = 0; i < dir->n_kids; i++)
    if (dir->kids[i] == child)
      {
        memmove (&dir->kids[i], &dir->kids[i + 1], (dir->n_kids - i - 1) * sizeof *dir->kids);
        memmove (&dir->kid_pos[i], &dir->kid_pos[i + 1],
                 (dir->n_kids - i - 1) * sizeof *dir->kid_pos);
        dir->n_kids--;
        break;
      }
  child->parent = NULL;
}

char *
fake_inode_path (struct fake_inode *ino)
{
  char *path = fake_xstrdup ("");

  for (struct fake_inode *i = ino; i && i->parent; i = i->parent)
    {
      char *n = fake_xasprintf ("/%s%s", i->name, path);
      free (path);
      path = n;
    }
  if (*path == '\0')
    {
      free (path);
      return fake_xstrdup ("/");
    }
  return path;
}

bool
fake_inode_under (struct fake_inode *ino, struct fake_inode *top)
{
  for (struct fake_inode *i = ino; i; i = i->parent)
    if (i == top)
      return true;
  return false;
}

/* ---- resolution ---- */

static int
fake_resolve_start (struct fake_kernel *k, struct fake_proc *p, int dirfd, const char *path,
                    struct fake_lookup *lk, struct fake_inode **cur)
{
  struct fake_inode *base;

  if (p == NULL || dirfd == AT_FDCWD)
    base = p ? p->cwd : k->top;
  else
    {
      struct fake_file *f = fake_fd_get (p, dirfd);
      if (f == NULL)
        return -EBADF;
      if (f->kind != FF_VNODE || !S_ISDIR (f->ino->mode))
        return -ENOTDIR;
      base = f->ino;
    }
  if (lk->root == NULL)
    lk->root = p ? p->root : k->top;
  if (lk->resolve & (RESOLVE_IN_ROOT | RESOLVE_BENEATH))
    lk->root = base;
  if (path[0] == '/' && (lk->resolve & RESOLVE_BENEATH))
    return -EXDEV;
  *cur = path[0] == '/' ? lk->root : base;
  return 0;
}

/* Replace the remaining path with `target` + "/" + rest. */
static char *
fake_splice (const char *target, const char *rest, bool slash)
{
  if (*rest)
    return fake_xasprintf ("%s/%s", target, rest);
  return fake_xasprintf ("%s%s", target, slash ? "/" : "");
}

static struct fake_inode *
fake_lookup_child (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *dir,
                   const char *name)
{
  struct fake_inode *synth = p ? fake_procfs_lookup (k, p, dir, name, p->root) : NULL;

  return synth ? synth : fake_dir_lookup (dir, name);
}

static int
fake_dotdot (struct fake_proc *p, struct fake_lookup *lk, struct fake_inode **cur)
{
  if (*cur == lk->root || (p && *cur == p->root && !(lk->resolve & RESOLVE_IN_ROOT)))
    {
      if ((lk->resolve & RESOLVE_BENEATH) && *cur == lk->root)
        return -EXDEV;
      return 0;
    }
  if ((*cur)->parent)
    *cur = (*cur)->parent;
  return 0;
}

/* A link met while walking: a symlink restarts the walk on its target, a magic link jumps
 * to what it refers to.  Returns 1 if `*s` was replaced (the caller continues), 0 if the
 * walk landed on *child. */
static int
fake_follow (struct fake_kernel *k, struct fake_lookup *lk, struct fake_inode **cur,
             struct fake_inode **child, char **buf, const char *rest, bool slash, int *links)
{
  if (++*links > FAKE_MAXSYMLINKS)
    return -ELOOP;
  if (fake_procfs_is_magic (*child))
    {
      struct fake_inode *to = NULL;
      int r;

      if (lk->resolve & (RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS))
        return -ELOOP;
      if (lk->resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT))
        return -EXDEV;
      r = fake_procfs_follow (k, *child, &to, &lk->magic, &lk->magic_ns);
      if (r < 0)
        return r;
      *child = to;
      return 0;
    }
  if (lk->resolve & RESOLVE_NO_SYMLINKS)
    return -ELOOP;
  if ((*child)->link[0] == '/')
    {
      if (lk->resolve & RESOLVE_BENEATH)
        return -EXDEV;
      *cur = lk->root;
    }
  char *n = fake_splice ((*child)->link, rest, slash);
  free (*buf);
  *buf = n;
  return 1;
}

/* The walk reached its last component, `child` in `dir` (NULL if absent). */
static int
fake_walk_end (struct fake_lookup *lk, struct fake_inode *dir, struct fake_inode *child, bool slash)
{
  lk->dir = dir;
  lk->ino = child;
  lk->slash = slash;
  if (child == NULL && lk->magic == NULL && lk->magic_ns == NULL && !lk->parent)
    return -ENOENT;
  if (child && slash && !S_ISDIR (child->mode))
    return -ENOTDIR;
  return 0;
}

static int
fake_walk (struct fake_kernel *k, struct fake_proc *p, struct fake_lookup *lk,
           struct fake_inode *cur, char *buf)
{
  char *s = buf;
  int links = 0, r;

  for (;;)
    {
      struct fake_inode *child;
      char *e, *rest;
      bool last, slash;
      size_t len;

      while (*s == '/')
        s++;
      if (*s == '\0')
        {
          /* "/" or "dir/": the walk ends on a directory */
          lk->dir = cur->parent ? cur->parent : cur;
          strcpy (lk->name, ".");
          lk->ino = cur;
          lk->slash = true;
          free (buf);
          return 0;
        }
      e = strchrnul (s, '/');
      len = (size_t)(e - s);
      if (len > NAME_MAX)
        return free (buf), -ENAMETOOLONG;
      rest = e;
      while (*rest == '/')
        rest++;
      last = *rest == '\0';
      slash = *e == '/';
      if (!S_ISDIR (cur->mode) && cur->synth != FS_SYSCTL)
        return free (buf), -ENOTDIR;
      memcpy (lk->name, s, len);
      lk->name[len] = '\0';
      if (strcmp (lk->name, ".") == 0 || strcmp (lk->name, "..") == 0)
        {
          if (lk->name[1] == '.' && (r = fake_dotdot (p, lk, &cur)) < 0)
            return free (buf), r;
          s = rest;
          if (last)
            return free (buf), fake_walk_end (lk, cur, cur, slash);
          continue;
        }
      child = fake_lookup_child (k, p, cur, lk->name);
      lk->magic = NULL;
      lk->magic_ns = NULL;
      if (child && (S_ISLNK (child->mode) || fake_procfs_is_magic (child))
          && (!last || lk->follow || slash))
        {
          char *restcopy = fake_xstrdup (rest);
          r = fake_follow (k, lk, &cur, &child, &buf, restcopy, slash, &links);
          free (restcopy);
          if (r < 0)
            return free (buf), r;
          if (r == 1)
            {
              s = buf;
              continue;
            }
          if (child == NULL && !last)
            return free (buf), -ENOTDIR;
        }
      if (last)
        return free (buf), fake_walk_end (lk, cur, child, slash);
      if (child == NULL)
        return free (buf), -ENOENT;
      cur = child;
      s = rest;
    }
}

int
fake_resolve (struct fake_kernel *k, struct fake_proc *p, int dirfd, const char *path,
              struct fake_lookup *lk)
{
  struct fake_inode *cur;
  int r;

  if (path == NULL)
    return -EFAULT;
  if (*path == '\0')
    return -ENOENT;
  if (strlen (path) >= PATH_MAX)
    return -ENAMETOOLONG;
  r = fake_resolve_start (k, p, dirfd, path, lk, &cur);
  if (r < 0)
    return r;
  return fake_walk (k, p, lk, cur, fake_xstrdup (path));
}

int
fake_resolve_simple (struct fake_kernel *k, int dirfd, const char *path, bool follow,
                     struct fake_inode **out)
{
  struct fake_lookup lk = { .follow = follow };
  int r = fake_resolve (k, fake_self (k), dirfd, path, &lk);

  if (r < 0)
    return r;
  if (lk.ino == NULL)
    return -ENOENT;
  *out = lk.ino;
  return 0;
}

struct fake_inode *
fake_host_lookup (struct fake_kernel *k, const char *path, bool follow)
{
  struct fake_lookup lk = { .follow = follow };

  if (path == NULL || path[0] != '/' || fake_resolve (k, NULL, AT_FDCWD, path, &lk) < 0)
    return NULL;
  return lk.ino;
}

/* Create an inode at dirfd/path; EEXIST if the name exists (even as a dangling symlink). */
int
fake_create_at (struct fake_kernel *k, struct fake_proc *p, int dirfd, const char *path,
                mode_t mode, dev_t rdev, struct fake_inode **out)
{
  struct fake_lookup lk = { .parent = true };
  struct fake_inode *ino;
  int r = fake_resolve (k, p, dirfd, path, &lk);

  if (r < 0)
    return r;
  if (lk.ino || lk.magic || lk.magic_ns)
    return -EEXIST;
  if (lk.slash && !S_ISDIR (mode))
    return -ENOENT;
  if (lk.dir->synth != FS_NONE)
    return -EACCES;
  if (lk.dir->parent == NULL && lk.dir != k->top)
    return -ENOENT; /* the directory was removed */
  ino = fake_inode_new (k, mode);
  ino->rdev = rdev;
  ino->uid = p ? p->euid : 0;
  ino->gid = p ? p->egid : 0;
  fake_inherit_gid (lk.dir, ino);
  fake_dir_link (lk.dir, ino, lk.name);
  *out = ino;
  return 0;
}

/* ---- the test API ---- */

int
fake_mkdir_p (struct fake_kernel *k, const char *path, mode_t mode)
{
  struct fake_inode *cur = k->top;
  char *buf, *save = NULL;

  if (path == NULL || path[0] != '/')
    return -EINVAL;
  buf = fake_xstrdup (path);
  for (char *c = strtok_r (buf, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      struct fake_inode *next = fake_dir_lookup (cur, c);
      if (next && S_ISLNK (next->mode))
        {
          char *at = fake_inode_path (next);
          next = fake_host_lookup (k, at, true);
          free (at);
        }
      if (next == NULL)
        {
          next = fake_inode_new (k, S_IFDIR | (mode & 07777));
          fake_dir_link (cur, next, c);
        }
      else if (!S_ISDIR (next->mode))
        return free (buf), -ENOTDIR;
      cur = next;
    }
  free (buf);
  return 0;
}

static int
fake_host_create (struct fake_kernel *k, const char *path, mode_t mode, dev_t rdev,
                  struct fake_inode **out)
{
  char *dir = fake_xstrdup (path), *slash = strrchr (dir, '/');
  int r;

  if (slash == NULL)
    return free (dir), -EINVAL;
  *slash = '\0';
  r = fake_mkdir_p (k, *dir ? dir : "/", 0755);
  free (dir);
  if (r < 0)
    return r;
  return fake_create_at (k, NULL, AT_FDCWD, path, mode, rdev, out);
}

int
fake_write_file (struct fake_kernel *k, const char *path, const char *content, mode_t mode)
{
  struct fake_inode *ino = fake_host_lookup (k, path, true);
  int r;

  if (ino == NULL)
    {
      r = fake_host_create (k, path, S_IFREG | (mode & 07777), 0, &ino);
      if (r < 0)
        return r;
    }
  if (!S_ISREG (ino->mode))
    return -EISDIR;
  ino->mode = S_IFREG | (mode & 07777);
  ino->data.len = 0;
  fake_buf_put (&ino->data, content, strlen (content));
  return 0;
}

char *
fake_read_file (struct fake_kernel *k, const char *path)
{
  struct fake_inode *ino = fake_host_lookup (k, path, true);

  if (ino == NULL || !S_ISREG (ino->mode))
    return NULL;
  if (fake_cgroup_file (ino))
    fake_cgroup_refresh (k, ino);
  ino = fake_body (ino);
  return fake_xstrdup (ino->data.d ? ino->data.d : "");
}

bool
fake_exists (struct fake_kernel *k, const char *path)
{
  return fake_host_lookup (k, path, false) != NULL;
}

void fake_stat_fill (struct fake_inode *ino, struct stat *st);

int
fake_lstat (struct fake_kernel *k, const char *path, struct stat *st)
{
  struct fake_inode *ino = fake_host_lookup (k, path, false);

  if (ino == NULL)
    return -ENOENT;
  fake_stat_fill (ino, st);
  return 0;
}

int
fake_symlink (struct fake_kernel *k, const char *target, const char *path)
{
  struct fake_inode *ino;
  int r = fake_host_create (k, path, S_IFLNK | 0777, 0, &ino);

  if (r == 0)
    ino->link = fake_xstrdup (target);
  return r;
}

int
fake_mknod (struct fake_kernel *k, const char *path, mode_t mode, dev_t rdev)
{
  struct fake_inode *ino;

  return fake_host_create (k, path, mode, rdev, &ino);
}

size_t
fake_dir_count (struct fake_kernel *k, const char *path)
{
  struct fake_inode *ino = fake_host_lookup (k, path, true);

  if (ino == NULL || !S_ISDIR (ino->mode))
    return (size_t)-1;
  return ino->n_kids;
}

size_t
fake_dir_count_prefix (struct fake_kernel *k, const char *path, const char *prefix)
{
  struct fake_inode *ino = fake_host_lookup (k, path, true);
  size_t n = 0;

  if (ino == NULL || !S_ISDIR (ino->mode))
    return 0;
  for (size_t i = 0; i < ino->n_kids; i++)
    n += strncmp (ino->kids[i]->name, prefix, strlen (prefix)) == 0;
  return n;
}

char *
fake_getxattr (struct fake_kernel *k, const char *path, const char *name)
{
  struct fake_inode *ino = fake_host_lookup (k, path, false);

  if (ino == NULL)
    return NULL;
  ino = fake_body (ino);
  for (size_t i = 0; i < ino->n_xattrs; i++)
    if (strcmp (ino->xattr_names[i], name) == 0)
      {
        char *v = fake_xmalloc (ino->xattr_vals[i].len + 1);
        memcpy (v, ino->xattr_vals[i].d, ino->xattr_vals[i].len);
        v[ino->xattr_vals[i].len] = '\0';
        return v;
      }
  return NULL;
}

bool
fake_same_inode (struct fake_kernel *k, const char *a, const char *b)
{
  struct fake_inode *x = fake_host_lookup (k, a, false), *y = fake_host_lookup (k, b, false);

  return x && y && fake_body (x) == fake_body (y);
}
