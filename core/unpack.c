/* unpack.c: a layer tar stream -> an overlayfs layer directory (see unpack.h).
 *
 * Two libarchive readers are chained so that one pass both unpacks and computes the diff-id:
 * `raw` reads the (possibly compressed) bytes from the source fd through sys_read and yields
 * the uncompressed stream; `tar` parses that stream, and its read callback hashes every byte
 * it hands over.  After the tar end marker the rest of the raw stream is hashed too: the
 * diff-id covers the whole uncompressed blob.
 *
 * Safety: a cleaned entry path has no empty, `.` or `..` component and is relative.  Its
 * parent directory is opened beneath the layer fd without following any symlink; the last
 * component is created with calls that never follow one (O_CREAT|O_EXCL, mkdirat, mknodat,
 * symlinkat, linkat without AT_SYMLINK_FOLLOW) after an lstat said the name is free, so no
 * entry can make us write outside the layer, whatever earlier entries planted. */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <archive.h>
#include <archive_entry.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/unpack.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."

/* ---- a set of strings (open addressing) ---- */

struct strset
{
  char **slot;
  size_t cap, n;
};

static size_t
strset_hash (const char *s)
{
  size_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static char **
strset_find (struct strset *set, const char *s)
{
  size_t i = strset_hash (s) & (set->cap - 1);

  while (set->slot[i] && strcmp (set->slot[i], s) != 0)
    i = (i + 1) & (set->cap - 1);
  return &set->slot[i];
}

static bool
strset_has (struct strset *set, const char *s)
{
  return set->cap && *strset_find (set, s) != NULL;
}

static void
strset_add (struct strset *set, const char *s)
{
  if ((set->n + 1) * 2 > set->cap)
    {
      struct strset bigger = { .cap = set->cap ? set->cap * 2 : 64 };
      bigger.slot = xcalloc (bigger.cap, sizeof *bigger.slot);
      for (size_t i = 0; i < set->cap; i++)
        if (set->slot[i])
          *strset_find (&bigger, set->slot[i]) = set->slot[i];
      free (set->slot);
      set->slot = bigger.slot;
      set->cap = bigger.cap;
    }
  char **at = strset_find (set, s);
  if (*at == NULL)
    {
      *at = xstrdup (s);
      set->n++;
    }
}

static void
strset_free (struct strset *set)
{
  for (size_t i = 0; i < set->cap; i++)
    free (set->slot[i]);
  free (set->slot);
}

/* ---- the unpack context ---- */

struct dir_time
{
  char *path;
  struct timespec mtime;
};

struct unpack
{
  int dirfd, srcfd;
  struct archive *raw, *tar;
  struct digest *diff;
  int read_error;          /* the errno of a failed sys_read, 0 if none */
  bool no_openat2;         /* the kernel has no openat2: walk component by component */
  struct strset entries;   /* paths of entries unpacked so far (whiteouts excluded) */
  struct strset whiteouts; /* paths of whiteout devices made by this layer */
  struct strset made;      /* directories made for entries below them (no entry of their own yet) */
  char *pdir;              /* the directory pfd is open on (NULL: none), the last entries' parent */
  int pfd;
  bool pgid_known; /* pgid is the group a new entry in pdir gets (asked once per pfd) */
  gid_t pgid;
  bool psgid;            /* pdir is set-group-ID: new directories in it are too */
  uid_t euid;            /* the owner a created entry gets */
  gid_t egid;            /* its group, outside set-group-ID directories */
  int old_umask;         /* the caller's, restored at the end (the unpack runs with 0) */
  bool exact;            /* a create's mode is what it asks: umask 0, no default ACL seen */
  struct dir_time *dirs; /* directory mtimes, set last (later entries change them) */
  size_t n_dirs;
  char inbuf[64 * 1024];
};

/* libarchive hands out blocks of its own buffers (archive_read_data_block): the uncompressed
 * stream is hashed and the entries' data written from there, never copied. */
static const char zeros[64 * 1024];

static la_ssize_t
raw_read (struct archive *a, void *data, const void **buf)
{
  struct unpack *u = data;
  ssize_t n = sys_read (u->srcfd, u->inbuf, sizeof u->inbuf);

  if (n < 0)
    {
      u->read_error = (int)-n;
      archive_set_error (a, (int)-n, "read");
      return -1;
    }
  *buf = u->inbuf;
  return n;
}

/* The next block of the uncompressed stream, hashed; valid until the next call. */
static la_ssize_t
raw_block (struct unpack *u, const void **buf)
{
  size_t n = 0;
  la_int64_t offset;
  int r = archive_read_data_block (u->raw, buf, &n, &offset);

  if (r == ARCHIVE_EOF)
    return 0;
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
    return -1;
  digest_update (u->diff, *buf, n);
  return (la_ssize_t)n;
}

static la_ssize_t
tar_read (struct archive *a, void *data, const void **buf)
{
  struct unpack *u = data;
  la_ssize_t n = raw_block (u, buf);

  if (n < 0)
    archive_set_error (a, EINVAL, "%s", archive_error_string (u->raw));
  return n;
}

/* A libarchive failure: the read error if the source failed, else a malformed stream. */
static int
archive_fail (struct unpack *u, struct archive *a, struct focker_err **err, const char *what)
{
  if (u->read_error)
    return focker_fail (err, -u->read_error, "layer: read");
  return focker_fail (err, -EINVAL, "layer: %s: %s", what,
                      archive_error_string (a) ? archive_error_string (a) : "malformed archive");
}

/* ---- paths ---- */

/* "./a//b/" -> "a/b"; "./" -> "".  Refuses absolute paths and `..` components. */
static int
clean_path (char **out, const char *raw, struct focker_err **err)
{
  _cleanup_free_ char *copy = NULL;
  _cleanup_free_ char *res = NULL;
  size_t used = 0;
  char *save = NULL;

  if (raw == NULL || *raw == '\0')
    return focker_fail (err, -EINVAL, "layer entry with an empty name");
  if (raw[0] == '/')
    return focker_fail (err, -EINVAL, "layer entry \"%s\": absolute path", raw);
  copy = xstrdup (raw);
  res = xcalloc (1, strlen (raw) + 1);
  for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      if (strcmp (c, "..") == 0)
        return focker_fail (err, -EINVAL, "layer entry \"%s\": \"..\" in the path", raw);
      if (used)
        res[used++] = '/';
      memcpy (res + used, c, strlen (c));
      used += strlen (c);
    }
  res[used] = '\0';
  *out = TAKE_PTR (res);
  return 0;
}

/* Split "a/b/c" into dir "a/b" (malloc'd) and base "c" (pointing into path). */
static char *
split_path (const char *path, const char **base)
{
  const char *slash = strrchr (path, '/');

  *base = slash ? slash + 1 : path;
  return slash ? xstrndup (path, (size_t)(slash - path)) : xstrdup ("");
}

static int
refuse_walk (const char *raw, const char *at, struct focker_err **err)
{
  return focker_fail (err, -EINVAL,
                      "layer entry \"%s\": \"%s\" is a symlink or not a directory (refusing to "
                      "write through it)",
                      raw, at);
}

/* Open the layer directory `dir` ("" for the top) beneath the layer fd, following no symlink;
 * with `create`, missing directories are made (0755, root) on the way. */
static int
open_dir (struct unpack *u, const char *dir, bool create, const char *raw, struct focker_err **err)
{
  const int dflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  _cleanup_close_ int cur = -1;
  _cleanup_free_ char *copy = NULL;
  char *save = NULL;
  int fd;

  if (*dir && !u->no_openat2)
    {
      struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
      };
      fd = sys_openat2 (u->dirfd, dir, &how, sizeof how);
      if (fd >= 0)
        return fd;
      if (fd == -ELOOP || fd == -ENOTDIR || fd == -EXDEV)
        return refuse_walk (raw, dir, err);
      if (fd == -ENOSYS)
        u->no_openat2 = true;
      else if (fd != -ENOENT)
        return focker_fail (err, fd, "layer entry \"%s\": open %s", raw, dir);
      else if (!create)
        return focker_fail (err, fd, "layer entry \"%s\": open %s", raw, dir);
    }
  cur = sys_openat (u->dirfd, ".", dflags, 0);
  if (cur < 0)
    return focker_fail (err, cur, "layer: open its directory");
  copy = xstrdup (dir);
  for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      fd = sys_openat (cur, c, dflags, 0);
      if (fd == -ENOENT && create)
        {
          int r = sys_mkdirat (cur, c, 0755);
          if (r < 0)
            return focker_fail (err, r, "layer entry \"%s\": mkdir %s", raw, c);
          /* the path so far: dir up to the end of this component */
          _cleanup_free_ char *made = xstrndup (dir, (size_t)(c - copy) + strlen (c));
          strset_add (&u->made, made);
          fd = sys_openat (cur, c, dflags, 0);
        }
      if (fd == -ELOOP || fd == -ENOTDIR)
        return refuse_walk (raw, c, err);
      if (fd < 0)
        return focker_fail (err, fd, "layer entry \"%s\": open %s", raw, c);
      sys_close (cur);
      cur = fd;
    }
  return TAKE_FD (cur);
}

/* The layer directory `dir`, made if missing, as open_dir does; the fd stays open for the
 * next entries in the same directory (borrowed: not to be closed).  Safe to keep: no entry
 * removes or renames a directory, so the path names the same directory until the end. */
static int
parent_fd (struct unpack *u, const char *dir, const char *raw, struct focker_err **err)
{
  if (u->pdir && strcmp (u->pdir, dir) == 0)
    return u->pfd;
  if (u->pfd >= 0)
    sys_close (u->pfd);
  free (u->pdir);
  u->pdir = NULL;
  u->pgid_known = false;
  u->pfd = open_dir (u, dir, true, raw, err);
  if (u->pfd >= 0)
    u->pdir = xstrdup (dir);
  return u->pfd;
}

/* ---- metadata ---- */

static void
entry_times (struct archive_entry *e, struct timespec ts[2])
{
  ts[1].tv_sec = archive_entry_mtime_is_set (e) ? archive_entry_mtime (e) : 0;
  ts[1].tv_nsec = archive_entry_mtime_is_set (e) ? archive_entry_mtime_nsec (e) : 0;
  ts[0] = ts[1];
}

static int
check_xattrs (struct unpack *u, struct archive_entry *e, const char *raw, struct focker_err **err)
{
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      /* overlayfs reads its own trusted.overlay.* xattrs in lower layers (opaque, redirect,
       * metacopy): only the whiteout translation may set them */
      if (strncmp (name, "trusted.overlay.", 16) == 0)
        return focker_fail (err, -EINVAL, "layer entry \"%s\": xattr %s is reserved for overlayfs",
                            raw, name);
      /* a default ACL masks the mode of what is created below it, as the umask would */
      if (strcmp (name, "system.posix_acl_default") == 0)
        u->exact = false;
    }
  return 0;
}

/* Set the entry's xattrs on fd (which may be an O_PATH fd). */
static int
apply_xattrs (struct archive_entry *e, int fd, const char *raw, struct focker_err **err)
{
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      int r = sys_fsetxattr (fd, name, value, size, 0);
      if (r < 0)
        return focker_fail (err, r, "layer entry \"%s\": set xattr %s", raw, name);
    }
  return 0;
}

static int
entry_owner (struct archive_entry *e, uid_t *uid, gid_t *gid, const char *raw,
             struct focker_err **err)
{
  la_int64_t u = archive_entry_uid (e), g = archive_entry_gid (e);

  if (u < 0 || g < 0 || u >= (la_int64_t)UINT32_MAX || g >= (la_int64_t)UINT32_MAX)
    return focker_fail (err, -EINVAL, "layer entry \"%s\": owner %lld:%lld out of range", raw,
                        (long long)u, (long long)g);
  *uid = (uid_t)u;
  *gid = (gid_t)g;
  return 0;
}

/* What an entry needs after its create: chown unless the create already gave its owner (the
 * caller's euid, and the parent's group in a set-group-ID parent, else the caller's egid);
 * chmod unless the create can give its mode (`exact`: no set-id bit, which a chown or a write
 * could clear, and for a directory no set-group-ID parent, which would add one).  pfd -1: not
 * created now (the top, or a directory made earlier): chown and chmod. */
struct meta
{
  uid_t uid;
  gid_t gid;
  mode_t perm;
  bool chown, exact;
};

static int
entry_meta (struct unpack *u, struct archive_entry *e, int pfd, struct meta *m, const char *raw,
            struct focker_err **err)
{
  struct stat st;
  int r;

  r = entry_owner (e, &m->uid, &m->gid, raw, err);
  if (r < 0)
    return r;
  m->perm = archive_entry_perm (e) & 07777;
  m->chown = true;
  m->exact = false;
  if (pfd < 0)
    return 0;
  if (!u->pgid_known)
    {
      /* once per parent fd, not per entry: its mode and group cannot change while it is the
       * parent (an entry for pdir itself has another parent, so pfd moves first; the top,
       * its own parent, forgets it in unpack_entry) */
      r = sys_fstatat (pfd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
      if (r < 0)
        return focker_fail (err, r, "layer entry \"%s\": stat its directory", raw);
      u->psgid = (st.st_mode & S_ISGID) != 0;
      u->pgid = u->psgid ? st.st_gid : u->egid;
      u->pgid_known = true;
    }
  m->chown = m->uid != u->euid || m->gid != u->pgid;
  m->exact = u->exact && !(m->perm & (S_ISUID | S_ISGID))
             && !(archive_entry_filetype (e) == AE_IFDIR && u->psgid);
  return 0;
}

/* ---- entries ---- */

static int
set_opaque (int fd, const char *raw, struct focker_err **err)
{
  int r = sys_fsetxattr (fd, "trusted.overlay.opaque", "y", 1, 0);
  if (r < 0)
    return focker_fail (err, r, "layer entry \"%s\": mark its directory opaque", raw);
  return 0;
}

/* `.wh.NAME` in `dir`: a whiteout device NAME, or `.wh..wh..opq`: `dir` is opaque. */
static int
unpack_whiteout (struct unpack *u, const char *raw, const char *dir, const char *base,
                 struct focker_err **err)
{
  const char *name = base + strlen (WH_PREFIX);
  _cleanup_free_ char *target = NULL;
  struct stat st;
  int pfd, r;

  if (strcmp (base, WH_OPAQUE) == 0)
    {
      pfd = parent_fd (u, dir, raw, err);
      return pfd < 0 ? pfd : set_opaque (pfd, raw, err);
    }
  if (strncmp (base, WH_META, strlen (WH_META)) == 0)
    return 0; /* other .wh..wh. names are aufs bookkeeping: never applied */
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return focker_fail (err, -EINVAL, "layer entry \"%s\": whiteout of \"%s\"", raw, name);
  target = *dir ? xasprintf ("%s/%s", dir, name) : xstrdup (name);
  if (strset_has (&u->whiteouts, target))
    return focker_fail (err, -EINVAL, "layer entry \"%s\": duplicate whiteout", raw);
  pfd = parent_fd (u, dir, raw, err);
  if (pfd < 0)
    return pfd;
  r = sys_fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW);
  if (r == 0 && S_ISDIR (st.st_mode))
    {
      /* a directory of this layer (explicit, or made for entries below it): its own entries
       * stay, what the lower layers had there goes */
      _cleanup_close_ int fd = open_dir (u, target, false, raw, err);
      return fd < 0 ? fd : set_opaque (fd, raw, err);
    }
  if (r == 0)
    return 0; /* a file of this layer is not hidden by its whiteout (image-spec layer.md) */
  if (r != -ENOENT)
    return focker_fail (err, r, "layer entry \"%s\": stat %s", raw, target);
  r = sys_mknodat (pfd, name, S_IFCHR, makedev (0, 0));
  if (r < 0)
    return focker_fail (err, r, "layer entry \"%s\": make whiteout %s", raw, target);
  strset_add (&u->whiteouts, target);
  return 0;
}

/* Make the name free for a new entry, or say that a directory entry lands on a directory made
 * implicitly (*exists).  A whiteout of this layer gives way; a directory replacing one must
 * hide the lower layers' directory (*opaque).  What is in the layer directory is known from
 * the sets (it starts empty, and only entries, whiteouts and made directories add names), so
 * a free name costs no stat; the creating calls (O_EXCL, mkdirat, ...) still fail on a name
 * that exists, whatever the sets say. */
static int
prepare_name (struct unpack *u, int pfd, const char *path, const char *base, bool is_dir,
              const char *raw, bool *exists, bool *opaque, struct focker_err **err)
{
  int r;

  *exists = *opaque = false;
  if (strset_has (&u->entries, path))
    return focker_fail (err, -EINVAL, "layer entry \"%s\": duplicate entry", raw);
  if (strset_has (&u->whiteouts, path))
    {
      r = sys_unlinkat (pfd, base, 0);
      if (r < 0)
        return focker_fail (err, r, "layer entry \"%s\": remove its whiteout", raw);
      *opaque = is_dir;
      return 0;
    }
  if (!strset_has (&u->made, path))
    return 0;
  if (is_dir)
    {
      *exists = true;
      return 0;
    }
  return focker_fail (err, -EINVAL, "layer entry \"%s\": conflicts with earlier entries", raw);
}

/* The entry's data at fd's offset `*pos`, up to `to`: zeros first if the block starts
 * later (a sparse entry's hole, written out as archive_read_data would). */
static int
write_at (int fd, int64_t *pos, int64_t to, const void *buf, size_t n)
{
  int r;

  while (*pos < to)
    {
      size_t gap = to - *pos < (int64_t)sizeof zeros ? (size_t)(to - *pos) : sizeof zeros;
      r = write_all (fd, zeros, gap);
      if (r < 0)
        return r;
      *pos += (int64_t)gap;
    }
  r = n ? write_all (fd, buf, n) : 0;
  *pos += (int64_t)n;
  return r;
}

static int
write_data (struct unpack *u, int fd, const char *raw, struct focker_err **err)
{
  int64_t pos = 0;

  for (;;)
    {
      const void *buf;
      size_t n = 0;
      la_int64_t offset = pos;
      int r = archive_read_data_block (u->tar, &buf, &n, &offset);
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN && r != ARCHIVE_EOF)
        return archive_fail (u, u->tar, err, raw);
      if (offset < pos)
        return focker_fail (err, -EINVAL, "layer entry \"%s\": data out of order", raw);
      /* at the end, offset is the entry's size: a trailing hole is written too */
      int w = write_at (fd, &pos, offset, buf, r == ARCHIVE_EOF ? 0 : n);
      if (w < 0)
        return focker_fail (err, w, "layer entry \"%s\": write", raw);
      if (r == ARCHIVE_EOF)
        return 0;
    }
}

/* Owner (if the create did not give it), mode (unless fd is an O_PATH fd) and xattrs of what
 * fd refers to, and with `times` its mtime. */
static int
finish_fd (struct unpack *u, struct archive_entry *e, const struct meta *m, int fd, bool is_path_fd,
           bool times, const char *raw, struct focker_err **err)
{
  struct timespec ts[2];
  int r;

  if (m->chown)
    {
      r = sys_fchownat (fd, "", m->uid, m->gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
      if (r < 0)
        return focker_fail (err, r, "layer entry \"%s\": chown", raw);
    }
  /* after chown, which clears set-id bits */
  if (!is_path_fd && !m->exact)
    {
      r = sys_fchmod (fd, m->perm);
      if (r < 0)
        return focker_fail (err, r, "layer entry \"%s\": chmod", raw);
    }
  r = apply_xattrs (e, fd, raw, err);
  if (r < 0 || !times)
    return r;
  entry_times (e, ts);
  r = sys_utimensat (fd, NULL, ts, 0);
  if (r < 0)
    return focker_fail (err, r, "layer entry \"%s\": set times", raw);
  return 0;
}

/* Owner, mode, xattrs and opaqueness of the directory `base` in pfd (the top if path is ""). */
static int
finish_dir (struct unpack *u, struct archive_entry *e, const struct meta *m, int pfd,
            const char *path, const char *base, bool opaque, const char *raw,
            struct focker_err **err)
{
  _cleanup_close_ int fd = -1;
  int r;

  if (*path == '\0')
    fd = sys_openat (u->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  else
    fd = sys_openat (pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0)
    return focker_fail (err, fd, "layer entry \"%s\": open", raw);
  r = finish_fd (u, e, m, fd, false, false, raw, err);
  if (r == 0 && opaque)
    r = set_opaque (fd, raw, err);
  return r;
}

static int
unpack_dir (struct unpack *u, struct archive_entry *e, int pfd, const char *path, const char *base,
            bool exists, bool opaque, const char *raw, struct focker_err **err)
{
  struct meta m;
  int r;

  /* a directory made earlier for entries below it got its group from its parent as it was
   * then, which a later entry may have changed: chown it */
  r = entry_meta (u, e, exists ? -1 : pfd, &m, raw, err);
  if (r < 0)
    return r;
  if (!exists && (r = sys_mkdirat (pfd, base, m.exact ? m.perm : 0700)) < 0)
    return focker_fail (err, r, "layer entry \"%s\": mkdir", raw);
  /* made with its owner and mode, it needs an fd only for xattrs; its time is set last */
  if (m.chown || !m.exact || opaque || archive_entry_xattr_count (e) > 0)
    {
      r = finish_dir (u, e, &m, pfd, path, base, opaque, raw, err);
      if (r < 0)
        return r;
    }
  u->dirs = xrealloc (u->dirs, (u->n_dirs + 1) * sizeof *u->dirs);
  u->dirs[u->n_dirs].path = xstrdup (path);
  struct timespec ts[2];
  entry_times (e, ts);
  u->dirs[u->n_dirs++].mtime = ts[1];
  return 0;
}

static int
unpack_hardlink (struct unpack *u, const char *link, int pfd, const char *base, const char *raw,
                 struct focker_err **err)
{
  _cleanup_free_ char *target = NULL, *tdir = NULL;
  _cleanup_close_ int tfd = -1;
  const char *tbase;
  int r;

  r = clean_path (&target, link, err);
  if (r < 0)
    return focker_err_prefix (err, "layer entry \"%s\": hard link", raw);
  if (!strset_has (&u->entries, target))
    return focker_fail (err, -EINVAL,
                        "layer entry \"%s\": hard link to \"%s\", not an earlier entry of the "
                        "layer",
                        raw, link);
  tdir = split_path (target, &tbase);
  tfd = open_dir (u, tdir, false, raw, err);
  if (tfd < 0)
    return tfd;
  r = sys_linkat (tfd, tbase, pfd, base, 0);
  if (r < 0)
    return focker_fail (err, r, "layer entry \"%s\": hard link to %s", raw, target);
  return 0;
}

static int
unpack_file (struct unpack *u, struct archive_entry *e, int pfd, const char *base, const char *raw,
             struct focker_err **err)
{
  _cleanup_close_ int fd = -1;
  struct meta m;
  int r;

  r = entry_meta (u, e, pfd, &m, raw, err);
  if (r < 0)
    return r;
  fd = sys_openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   m.exact ? m.perm : 0600);
  if (fd < 0)
    return focker_fail (err, fd, "layer entry \"%s\": create", raw);
  r = write_data (u, fd, raw, err);
  if (r < 0)
    return r;
  return finish_fd (u, e, &m, fd, false, true, raw, err);
}

/* Symlinks, devices and fifos: made by name, then finished through an O_PATH fd. */
static int
unpack_special (struct unpack *u, struct archive_entry *e, int pfd, const char *base,
                const char *raw, struct focker_err **err)
{
  mode_t type = archive_entry_filetype (e);
  _cleanup_close_ int fd = -1;
  struct meta m;
  int r;

  r = entry_meta (u, e, pfd, &m, raw, err);
  if (r < 0)
    return r;
  if (type == AE_IFLNK)
    {
      const char *target = archive_entry_symlink (e);
      if (target == NULL || *target == '\0')
        return focker_fail (err, -EINVAL, "layer entry \"%s\": symlink without a target", raw);
      /* the target is never followed while unpacking: it may point anywhere */
      r = sys_symlinkat (target, pfd, base);
    }
  else
    {
      r = sys_mknodat (pfd, base, type | (m.exact ? m.perm : 0600), archive_entry_rdev (e));
      if (r == 0 && !m.exact)
        r = sys_fchmodat (pfd, base, m.perm, 0);
    }
  if (r < 0)
    return focker_fail (err, r, "layer entry \"%s\": create", raw);
  if (m.chown || archive_entry_xattr_count (e) > 0)
    {
      fd = sys_openat (pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
      if (fd < 0)
        return focker_fail (err, fd, "layer entry \"%s\": open", raw);
      r = finish_fd (u, e, &m, fd, true, false, raw, err);
      if (r < 0)
        return r;
    }
  /* by name: AT_SYMLINK_NOFOLLOW keeps it on the entry itself, even a symlink */
  struct timespec ts[2];
  entry_times (e, ts);
  r = sys_utimensat (pfd, base, ts, AT_SYMLINK_NOFOLLOW);
  if (r < 0)
    return focker_fail (err, r, "layer entry \"%s\": set times", raw);
  return 0;
}

static int
unpack_entry (struct unpack *u, struct archive_entry *e, struct focker_err **err)
{
  const char *raw = archive_entry_pathname (e);
  _cleanup_free_ char *path = NULL, *dir = NULL;
  const char *base, *link = archive_entry_hardlink (e);
  mode_t type = archive_entry_filetype (e);
  bool exists, opaque;
  int pfd, r;

  r = clean_path (&path, raw, err);
  if (r < 0)
    return r;
  r = check_xattrs (u, e, raw, err);
  if (r < 0)
    return r;
  dir = split_path (path, &base);
  if (strncmp (base, WH_PREFIX, strlen (WH_PREFIX)) == 0)
    return unpack_whiteout (u, raw, dir, base, err);
  if (link == NULL && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFCHR
      && type != AE_IFBLK && type != AE_IFIFO)
    return focker_fail (err, -EINVAL, "layer entry \"%s\": unsupported type %o", raw,
                        (unsigned)type);
  if (*path == '\0')
    {
      if (type != AE_IFDIR || link)
        return focker_fail (err, -EINVAL, "layer entry \"%s\": the top must be a directory", raw);
      if (strset_has (&u->entries, path))
        return focker_fail (err, -EINVAL, "layer entry \"%s\": duplicate entry", raw);
      strset_add (&u->entries, path);
      /* the top is its own entries' parent: what was learnt of it may change now */
      u->pgid_known = false;
      return unpack_dir (u, e, -1, path, base, true, false, raw, err);
    }
  pfd = parent_fd (u, dir, raw, err);
  if (pfd < 0)
    return pfd;
  r = prepare_name (u, pfd, path, base, link == NULL && type == AE_IFDIR, raw, &exists, &opaque,
                    err);
  if (r < 0)
    return r;
  if (link)
    r = unpack_hardlink (u, link, pfd, base, raw, err);
  else if (type == AE_IFDIR)
    r = unpack_dir (u, e, pfd, path, base, exists, opaque, raw, err);
  else if (type == AE_IFREG)
    r = unpack_file (u, e, pfd, base, raw, err);
  else
    r = unpack_special (u, e, pfd, base, raw, err);
  if (r == 0)
    strset_add (&u->entries, path);
  return r;
}

static int
set_dir_times (struct unpack *u, struct focker_err **err)
{
  for (size_t i = 0; i < u->n_dirs; i++)
    {
      struct timespec ts[2] = { u->dirs[i].mtime, u->dirs[i].mtime };
      _cleanup_close_ int fd = open_dir (u, u->dirs[i].path, false, u->dirs[i].path, err);
      if (fd < 0)
        return fd;
      int r = sys_utimensat (fd, NULL, ts, 0);
      if (r < 0)
        return focker_fail (err, r, "layer entry \"%s\": set times", u->dirs[i].path);
    }
  return 0;
}

static int
unpack_run (struct unpack *u, struct focker_err **err)
{
  struct archive_entry *e;
  int r;

  archive_read_support_filter_gzip (u->raw);
  archive_read_support_filter_zstd (u->raw);
  archive_read_support_filter_xz (u->raw);
  archive_read_support_filter_bzip2 (u->raw);
  archive_read_support_format_raw (u->raw);
  archive_read_support_format_tar (u->tar);
  if (archive_read_open (u->raw, u, NULL, raw_read, NULL) != ARCHIVE_OK
      || archive_read_next_header (u->raw, &e) != ARCHIVE_OK)
    return archive_fail (u, u->raw, err, "open");
  if (archive_read_open (u->tar, u, NULL, tar_read, NULL) != ARCHIVE_OK)
    return archive_fail (u, u->tar, err, "not a tar stream");
  for (;;)
    {
      r = archive_read_next_header (u->tar, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return archive_fail (u, u->tar, err, "read entry");
      r = unpack_entry (u, e, err);
      if (r < 0)
        return r;
    }
  /* what follows the end marker is part of the uncompressed stream the diff-id covers */
  for (;;)
    {
      const void *buf;
      la_ssize_t n = raw_block (u, &buf);
      if (n < 0)
        return archive_fail (u, u->raw, err, "read");
      if (n == 0)
        break;
    }
  return set_dir_times (u, err);
}

int
unpack_layer (int dirfd, int srcfd, char diff_id[DIGEST_LEN + 1], struct focker_err **err)
{
  struct unpack *u = xcalloc (1, sizeof *u);
  int r;

  u->dirfd = dirfd;
  u->srcfd = srcfd;
  u->pfd = -1;
  sys_getids (&u->euid, &u->egid);
  /* creates then give the entry's mode; a default ACL on the layer directory would mask it */
  u->old_umask = sys_umask (0);
  r = (int)sys_fgetxattr (dirfd, "system.posix_acl_default", NULL, 0);
  u->exact = r == -ENODATA || r == -EOPNOTSUPP;
  u->raw = archive_read_new ();
  u->tar = archive_read_new ();
  u->diff = digest_new ();
  if (u->raw == NULL || u->tar == NULL)
    abort (); /* out of memory, like x* */
  r = unpack_run (u, err);
  if (r == 0)
    digest_final (u->diff, diff_id);
  sys_umask ((mode_t)u->old_umask);
  archive_read_free (u->tar);
  archive_read_free (u->raw);
  digest_free (u->diff);
  strset_free (&u->entries);
  strset_free (&u->whiteouts);
  strset_free (&u->made);
  if (u->pfd >= 0)
    sys_close (u->pfd);
  free (u->pdir);
  for (size_t i = 0; i < u->n_dirs; i++)
    free (u->dirs[i].path);
  free (u->dirs);
  free (u);
  return r;
}
