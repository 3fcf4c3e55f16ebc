/* store.c: the image store's directories, locks, blobs and layers (see store.h).
 *
 * Invariants: a name under blobs/sha256/ or layers/sha256/ is only ever created by a rename
 * of a complete, verified temporary, listed first in the command's durable record under
 * unsynced/ (store_intent.c) instead of an fsync of its data; every command holds locks/store
 * shared, so gc (which holds it exclusive) never removes a temporary or an unreferenced blob
 * another command is about to use. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <linux/fs.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/store.h"
#include "core/unpack.h"

#define SMALL_BLOB_MAX (4 * 1024 * 1024)

static const char *const store_dirs[]
    = { "blobs", "blobs/sha256", "layers", "layers/sha256", "locks", "bundles", "unsynced", NULL };

void
store_close (struct store *s)
{
  if (s == NULL)
    return;
  store_intent_close (s);
  if (s->lockfd >= 0)
    sys_close (s->lockfd);
  if (s->fd >= 0)
    sys_close (s->fd);
  free (s->root);
  free (s);
}

int
store_lock (struct store *s, const char *name, int op, struct focker_err **err)
{
  _cleanup_free_ char *path = xasprintf ("locks/%s", name);
  _cleanup_close_ int fd = -1;
  int r;

  fd = sys_openat (s->fd, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return focker_fail (err, fd, "open lock %s/%s", s->root, path);
  r = sys_flock (fd, op);
  if (r < 0)
    return focker_fail (err, r, "lock %s/%s", s->root, path);
  return TAKE_FD (fd);
}

/* oci-layout, once: under the store lock (gc removes the temporary of a killed writer) and
 * the index lock (two first commands in a new store would write one temporary and the
 * second rename would find it gone). */
static int
write_layout (struct store *s, struct focker_err **err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  _cleanup_close_ int lockfd = store_lock (s, "index", LOCK_EX, err);

  if (lockfd < 0)
    return lockfd;
  if (exists_at (s->fd, "oci-layout"))
    return 0;
  return write_file_atomic_at (s->fd, "oci-layout", layout, sizeof layout - 1, 0644, true, err);
}

int
store_open (struct store **out, const char *root, bool create, bool exclusive,
            struct focker_err **err)
{
  struct store *s = xcalloc (1, sizeof *s);
  int r;

  s->fd = s->lockfd = -1;
  s->root = xstrdup (root);
  if (create && (r = mkdir_p_at (AT_FDCWD, root, 0700, err)) < 0)
    goto fail;
  s->fd = sys_openat (AT_FDCWD, root, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (s->fd < 0)
    {
      r = focker_fail (err, s->fd, "open image store %s", root);
      goto fail;
    }
  for (const char *const *d = store_dirs; create && *d; d++)
    {
      r = sys_mkdirat (s->fd, *d, 0700);
      /* records in unsynced/ are fsync'd with their directory: its own name must be durable
       * first (once, when it is made) */
      if (r == 0 && strcmp (*d, "unsynced") == 0 && (r = sys_fsync (s->fd)) < 0)
        {
          r = focker_fail (err, r, "sync %s", root);
          goto fail;
        }
      if (r < 0 && r != -EEXIST)
        {
          r = focker_fail (err, r, "mkdir %s/%s", root, *d);
          goto fail;
        }
    }
  s->lockfd = store_lock (s, "store", exclusive ? LOCK_EX : LOCK_SH, err);
  if (s->lockfd < 0)
    {
      r = s->lockfd;
      goto fail;
    }
  if (create && !exists_at (s->fd, "oci-layout") && (r = write_layout (s, err)) < 0)
    goto fail;
  if ((r = store_recover (s, create, exclusive, err)) < 0)
    goto fail;
  *out = s;
  return 0;
fail:
  store_close (s);
  return r;
}

/* ---- blobs ---- */

static char *
tmp_name (const char *prefix)
{
  static unsigned counter;
  struct timespec ts = { 0 };

  sys_clock_gettime (CLOCK_MONOTONIC, &ts);
  return xasprintf ("%s.tmp-%d-%u-%ld%09ld", prefix, (int)sys_getpid (), ++counter, (long)ts.tv_sec,
                    ts.tv_nsec);
}

static char *
blob_path (const char *digest)
{
  return xasprintf ("blobs/sha256/%s", DIGEST_HEX (digest));
}

int
blob_begin (struct blob_writer *w, struct store *s, struct focker_err **err)
{
  memset (w, 0, sizeof *w);
  w->s = s;
  w->tmp = tmp_name ("blobs/");
  w->fd = sys_openat (s->fd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w->fd < 0)
    {
      int r = focker_fail (err, w->fd, "create %s/%s", s->root, w->tmp);
      free (TAKE_PTR (w->tmp));
      return r;
    }
  w->d = digest_new ();
  return 0;
}

int
blob_write (struct blob_writer *w, const void *buf, size_t len, struct focker_err **err)
{
  int r = write_all (w->fd, buf, len);

  if (r < 0)
    return focker_fail (err, r, "write %s/%s", w->s->root, w->tmp);
  digest_update (w->d, buf, len);
  w->size += len;
  return 0;
}

void
blob_abort (struct blob_writer *w)
{
  if (w->fd >= 0)
    sys_close (w->fd);
  if (w->tmp)
    sys_unlinkat (w->s->fd, w->tmp, 0);
  free (w->tmp);
  digest_free (w->d);
  memset (w, 0, sizeof *w);
  w->fd = -1;
}

/* The digest, final, against `expect`; on a mismatch the writer is released. */
static int
blob_verify (struct blob_writer *w, const char *expect, struct focker_err **err)
{
  int r;

  digest_final (w->d, w->got);
  if (expect && strcmp (expect, w->got) != 0)
    {
      r = focker_fail (err, -EINVAL, "blob %s: its content has digest %s", expect, w->got);
      blob_abort (w);
      return r;
    }
  w->checked = true;
  return 0;
}

int
blob_check (struct blob_writer *w, const char *expect, char out[DIGEST_LEN + 1],
            struct focker_err **err)
{
  int r = blob_verify (w, expect, err);

  if (r < 0)
    return r;
  memcpy (out, w->got, DIGEST_LEN + 1);
  return 0;
}

int
blob_commit (struct blob_writer *w, const char *expect, char out[DIGEST_LEN + 1],
             struct focker_err **err)
{
  char got[DIGEST_LEN + 1];
  _cleanup_free_ char *final = NULL;
  int r;

  if (!w->checked && (r = blob_verify (w, expect, err)) < 0)
    return r;
  /* no fsync: the name is listed in a durable record first, and checked after a crash */
  r = sys_close (TAKE_FD (w->fd));
  if (r < 0)
    r = focker_fail (err, r, "write %s/%s", w->s->root, w->tmp);
  if (r == 0)
    r = store_intent_cover (w->s, 'B', w->got, err);
  if (r < 0)
    {
      blob_abort (w);
      return r;
    }
  memcpy (got, w->got, sizeof got);
  final = blob_path (got);
  r = sys_renameat (w->s->fd, w->tmp, w->s->fd, final);
  if (r < 0)
    {
      r = focker_fail (err, r, "rename %s/%s to %s", w->s->root, w->tmp, final);
      blob_abort (w);
      return r;
    }
  free (TAKE_PTR (w->tmp));
  blob_abort (w);
  memcpy (out, got, DIGEST_LEN + 1);
  return 0;
}

int
blob_adopt (struct blob_writer *w, struct store *s, const char *tmp, struct focker_err **err)
{
  _cleanup_free_ char *buf = xmalloc (64 * 1024);

  memset (w, 0, sizeof *w);
  w->s = s;
  w->fd = sys_openat (s->fd, tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (w->fd < 0)
    {
      int r = focker_fail (err, w->fd, "open %s/%s", s->root, tmp);
      w->fd = -1;
      return r;
    }
  w->d = digest_new ();
  for (;;)
    {
      ssize_t n = sys_read (w->fd, buf, 64 * 1024);
      if (n < 0)
        {
          int r = focker_fail (err, (int)n, "read %s/%s", s->root, tmp);
          blob_abort (w); /* w->tmp is not set yet: the file stays */
          return r;
        }
      if (n == 0)
        break;
      digest_update (w->d, buf, (size_t)n);
      w->size += (uint64_t)n;
    }
  w->tmp = xstrdup (tmp);
  return 0;
}

int
blob_adopt_hashed (struct blob_writer *w, struct store *s, const char *tmp, struct digest *d,
                   uint64_t size, struct focker_err **err)
{
  memset (w, 0, sizeof *w);
  w->s = s;
  w->fd = sys_openat (s->fd, tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (w->fd < 0)
    {
      int r = focker_fail (err, w->fd, "open %s/%s", s->root, tmp);
      digest_free (d);
      w->fd = -1;
      return r;
    }
  w->d = d;
  w->size = size;
  w->tmp = xstrdup (tmp);
  return 0;
}

int
store_blob_put (struct store *s, const void *buf, size_t len, const char *expect,
                char out[DIGEST_LEN + 1], struct focker_err **err)
{
  struct blob_writer w;
  int r;

  if (expect && store_blob_exists (s, expect))
    {
      char got[DIGEST_LEN + 1];
      digest_buffer (buf, len, got);
      if (strcmp (got, expect) != 0)
        return focker_fail (err, -EINVAL, "blob %s: its content has digest %s", expect, got);
      memcpy (out, got, sizeof got);
      return 0;
    }
  r = blob_begin (&w, s, err);
  if (r < 0)
    return r;
  r = blob_write (&w, buf, len, err);
  if (r < 0)
    {
      blob_abort (&w);
      return r;
    }
  return blob_commit (&w, expect, out, err);
}

int
store_blob_from_fd (struct store *s, int fd, const char *expect, char out[DIGEST_LEN + 1],
                    uint64_t *size, struct focker_err **err)
{
  struct blob_writer w;
  _cleanup_free_ char *buf = xmalloc (64 * 1024);
  int r;

  r = blob_begin (&w, s, err);
  if (r < 0)
    return r;
  for (;;)
    {
      ssize_t n = sys_read (fd, buf, 64 * 1024);
      if (n < 0)
        {
          blob_abort (&w);
          return focker_fail (err, (int)n, "read blob source");
        }
      if (n == 0)
        break;
      r = blob_write (&w, buf, (size_t)n, err);
      if (r < 0)
        {
          blob_abort (&w);
          return r;
        }
    }
  if (size)
    *size = w.size;
  return blob_commit (&w, expect, out, err);
}

bool
store_blob_exists (struct store *s, const char *digest)
{
  _cleanup_free_ char *path = NULL;

  if (!digest_valid (digest))
    return false;
  path = blob_path (digest);
  return exists_at (s->fd, path);
}

int
store_blob_size (struct store *s, const char *digest, uint64_t *size, struct focker_err **err)
{
  _cleanup_close_ int fd = store_blob_open (s, digest, err);
  struct stat st;
  int r;

  if (fd < 0)
    return fd;
  r = sys_fstatat (fd, "", &st, AT_EMPTY_PATH);
  if (r < 0)
    return focker_fail (err, r, "stat blob %s", digest);
  *size = (uint64_t)st.st_size;
  return 0;
}

/* A blob an image needs is not in the store (recovery removed it after a crash, or
 * someone removed it): what to do about it. */
static int
blob_missing (struct focker_err **err, const char *digest)
{
  return focker_fail (err, -ENOENT, "blob %s is missing from the store: pull the image again",
                      digest);
}

int
store_blob_open (struct store *s, const char *digest, struct focker_err **err)
{
  _cleanup_free_ char *path = NULL;
  int fd;

  if (!digest_valid (digest))
    return focker_fail (err, -EINVAL, "blob \"%s\": not a sha256 digest", digest);
  path = blob_path (digest);
  fd = sys_openat (s->fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd == -ENOENT)
    return blob_missing (err, digest);
  if (fd < 0)
    return focker_fail (err, fd, "blob %s", digest);
  return fd;
}

int
store_blob_read (char **out, size_t *len, struct store *s, const char *digest,
                 struct focker_err **err)
{
  _cleanup_free_ char *path = NULL, *buf = NULL;
  char got[DIGEST_LEN + 1];
  size_t n;
  int r;

  if (!digest_valid (digest))
    return focker_fail (err, -EINVAL, "blob \"%s\": not a sha256 digest", digest);
  path = blob_path (digest);
  r = read_file_at (&buf, &n, s->fd, path, SMALL_BLOB_MAX, err);
  if (r == -ENOENT)
    {
      focker_err_free (TAKE_PTR (*err));
      return blob_missing (err, digest);
    }
  if (r < 0)
    return focker_err_prefix (err, "blob %s", digest);
  digest_buffer (buf, n, got);
  if (strcmp (got, digest) != 0)
    return focker_fail (err, -EIO, "blob %s: corrupt (its content has digest %s)", digest, got);
  *out = TAKE_PTR (buf);
  if (len)
    *len = n;
  return 0;
}

/* ---- layers ---- */

char *
store_layer_path (struct store *s, const char *diff_id)
{
  return xasprintf ("%s/layers/sha256/%s", s->root, DIGEST_HEX (diff_id));
}

/* Layers are unrelated trees: FS_TOPDIR_FL on layers/ tells ext4's Orlov allocator so, and it
 * places each new layer directory (and with it the layer's files) in a block group of its
 * own instead of next to layers/.  Where the store's own removals (gc, rmi, an aborted
 * unpack) freed inodes in that group, a no-journal ext4 skips every inode freed in the last
 * minute at each allocation (recently_deleted), one buffer lookup each: measured here, 0.9 ms
 * per file created right after a layer's worth of files was removed.  A hint only: a
 * filesystem without the flag (tmpfs, xfs, btrfs) or a failure changes nothing. */
static void
layers_topdir_hint (struct store *s)
{
  _cleanup_close_ int fd
      = sys_openat (s->fd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  unsigned flags = 0;

  if (fd >= 0 && sys_fs_getflags (fd, &flags) == 0 && !(flags & FS_TOPDIR_FL))
    (void)sys_fs_setflags (fd, flags | FS_TOPDIR_FL);
}

int
store_layer_tmp (struct store *s, char **tmp, struct focker_err **err)
{
  _cleanup_free_ char *name = tmp_name ("layers/");
  int dfd, r;

  layers_topdir_hint (s);
  r = sys_mkdirat (s->fd, name, 0700);
  if (r < 0)
    return focker_fail (err, r, "mkdir %s/%s", s->root, name);
  dfd = sys_openat (s->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (dfd < 0)
    r = focker_fail (err, dfd, "open %s/%s", s->root, name);
  /* a layer without a "./" entry gets the usual root directory mode */
  else if ((r = sys_fchmod (dfd, 0755)) < 0)
    r = focker_fail (err, r, "chmod %s/%s", s->root, name);
  if (r < 0)
    {
      if (dfd >= 0)
        sys_close (dfd);
      rm_rf_at (s->fd, name);
      return r;
    }
  *tmp = TAKE_PTR (name);
  return dfd;
}

static int
layer_unpack_tmp (struct store *s, const char *blob, char **tmp, char diff[DIGEST_LEN + 1],
                  struct focker_err **err)
{
  _cleanup_close_ int dfd = -1, bfd = -1;
  int r;

  dfd = store_layer_tmp (s, tmp, err);
  if (dfd < 0)
    return dfd;
  bfd = store_blob_open (s, blob, err);
  if (bfd < 0)
    return bfd;
  r = unpack_layer (dfd, bfd, diff, err);
  if (r < 0)
    return focker_err_prefix (err, "layer %s", blob);
  return 0;
}

/* Rename layers/<tmp> (content diff-id `got`) to its name, under the layer's lock (held by
 * the caller); when the name exists already (the same content unpacked meanwhile), drop it. */
static int
layer_rename (struct store *s, const char *tmp, const char *got, struct focker_err **err)
{
  _cleanup_free_ char *final = xasprintf ("layers/sha256/%s", DIGEST_HEX (got));
  int r;

  if (exists_at (s->fd, final))
    return rm_rf_at (s->fd, tmp), 0;
  /* its files are not fsync'd: listed first, removed by recovery after a crash */
  r = store_intent_cover (s, 'L', got, err);
  if (r < 0)
    return r;
  r = sys_renameat (s->fd, tmp, s->fd, final);
  if (r < 0)
    return focker_fail (err, r, "rename %s/%s to %s", s->root, tmp, final);
  return 0;
}

static int
layer_check_diff (const char *what, const char *got, const char *expect_diff,
                  struct focker_err **err)
{
  if (expect_diff && strcmp (got, expect_diff) != 0)
    return focker_fail (err, -EINVAL, "layer %s: uncompressed content has digest %s, not %s", what,
                        got, expect_diff);
  return 0;
}

int
store_layer_name (struct store *s, const char *tmp, const char *got, const char *expect_diff,
                  const char *what, struct focker_err **err)
{
  _cleanup_free_ char *lockname = xasprintf ("layer-%s", DIGEST_HEX (got));
  _cleanup_close_ int lockfd = -1;
  int r = layer_check_diff (what, got, expect_diff, err);

  if (r == 0)
    {
      lockfd = store_lock (s, lockname, LOCK_EX, err);
      r = lockfd < 0 ? lockfd : layer_rename (s, tmp, got, err);
    }
  if (r < 0)
    rm_rf_at (s->fd, tmp);
  return r;
}

int
store_layer_ensure (struct store *s, const char *blob, const char *expect_diff,
                    char diff_id[DIGEST_LEN + 1], struct focker_err **err)
{
  _cleanup_free_ char *tmp = NULL, *final = NULL, *lockname = NULL;
  _cleanup_close_ int lockfd = -1;
  char got[DIGEST_LEN + 1];
  int r;

  if (expect_diff && !digest_valid (expect_diff))
    return focker_fail (err, -EINVAL, "layer diff-id \"%s\": not a sha256 digest", expect_diff);
  if (expect_diff)
    {
      /* one unpack per layer at a time: a second pull of the same layer waits, then finds
       * it done */
      lockname = xasprintf ("layer-%s", DIGEST_HEX (expect_diff));
      lockfd = store_lock (s, lockname, LOCK_EX, err);
      if (lockfd < 0)
        return lockfd;
      final = xasprintf ("layers/sha256/%s", DIGEST_HEX (expect_diff));
      if (exists_at (s->fd, final))
        {
          memcpy (diff_id, expect_diff, DIGEST_LEN + 1);
          return 0;
        }
    }
  r = layer_unpack_tmp (s, blob, &tmp, got, err);
  if (r == 0 && lockfd >= 0)
    r = layer_check_diff (blob, got, expect_diff, err);
  if (r == 0)
    r = lockfd >= 0 ? layer_rename (s, tmp, got, err)
                    : store_layer_name (s, tmp, got, NULL, blob, err);
  if (r < 0)
    {
      if (tmp)
        rm_rf_at (s->fd, tmp);
      return r;
    }
  memcpy (diff_id, got, sizeof got);
  return 0;
}
