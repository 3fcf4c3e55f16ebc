/* store_intent.c: records of names made before their data is durable (see store.h).
 *
 * A command names a blob (blobs/sha256/<hex>) or a layer (layers/sha256/<hex>) by a rename
 * of a temporary whose data may still be in the page cache: a power cut can then leave the
 * name over empty or partial content.  So before the first such rename it lists what it
 * will name in unsynced/<boot-id>.<pid>.<n>, fsyncs that record and its directory, and holds
 * an flock on it until store_close.  Invariants:
 *   - a name whose data is not known durable is listed in a durable record first;
 *   - a record is removed only when what it lists is known good: after a reboot (another
 *     boot id), once each listed blob was hashed again (and removed if wrong) and each listed
 *     layer removed, under the store lock held exclusive; in the same boot, when its flock is
 *     free (its command ended) and a syncfs of the store returned;
 *   - a record is made as .new-<name>, flocked, then renamed: nobody sees an unlocked
 *     record of a live command under its final name. */
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/store.h"
#include "core/strv.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_LEN 36
#define NEW_PREFIX ".new-"
/* free records of this boot a writing command lets pile up before it pays a syncfs */
#define TIDY_MIN 16

static bool
strv_has (char *const *v, const char *s)
{
  for (; *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

struct store_intent
{
  int fd;        /* the record, flocked; -1 until the first sync */
  char *name;    /* under unsynced/ */
  char **listed; /* "B sha256:..." lines already durable in the record */
  char **pending;
  bool torn; /* a write failed part way: start the next one on a new line */
};

static int
boot_id (char out[BOOT_ID_LEN + 1], struct focker_err **err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len;
  int r = read_file_at (&buf, &len, AT_FDCWD, BOOT_ID_PATH, 128, err);

  if (r < 0)
    return r;
  if (len < BOOT_ID_LEN || strspn (buf, "0123456789abcdef-") != BOOT_ID_LEN)
    return focker_fail (err, -EINVAL, "%s: not a boot id", BOOT_ID_PATH);
  memcpy (out, buf, BOOT_ID_LEN);
  out[BOOT_ID_LEN] = '\0';
  return 0;
}

static struct store_intent *
intent_get (struct store *s)
{
  if (s->intent == NULL)
    {
      s->intent = xcalloc (1, sizeof *s->intent);
      s->intent->fd = -1;
      s->intent->listed = xcalloc (1, sizeof (char *));
      s->intent->pending = xcalloc (1, sizeof (char *));
    }
  return s->intent;
}

void
store_intent_add (struct store *s, char kind, const char *digest)
{
  struct store_intent *in = intent_get (s);
  _cleanup_free_ char *line = xasprintf ("%c %s", kind, digest);

  if (!digest_valid (digest) || strv_has (in->listed, line) || strv_has (in->pending, line))
    return;
  strv_push (&in->pending, line);
}

/* Create the record (flocked, as .new-<name> then renamed) with `text`, durable. */
static int
intent_create (struct store *s, struct store_intent *in, const char *text, struct focker_err **err)
{
  static unsigned counter;
  char boot[BOOT_ID_LEN + 1];
  _cleanup_free_ char *name = NULL, *tmp = NULL;
  _cleanup_close_ int dfd = -1, fd = -1;
  struct timespec ts = { 0 };
  int r = boot_id (boot, err);

  if (r < 0)
    return r;
  sys_clock_gettime (CLOCK_MONOTONIC, &ts);
  name = xasprintf ("%s.%d.%u-%ld%09ld", boot, (int)sys_getpid (), ++counter, (long)ts.tv_sec,
                    ts.tv_nsec);
  tmp = xasprintf (NEW_PREFIX "%s", name);
  /* store_open made it (and synced the root) unless the store was opened without create */
  r = sys_mkdirat (s->fd, "unsynced", 0700);
  if (r == 0 && (r = sys_fsync (s->fd)) < 0)
    return focker_fail (err, r, "sync %s", s->root);
  if (r < 0 && r != -EEXIST)
    return focker_fail (err, r, "mkdir %s/unsynced", s->root);
  dfd = open_dir_at (s->fd, "unsynced", err);
  if (dfd < 0)
    return dfd;
  fd = sys_openat (dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return focker_fail (err, fd, "create %s/unsynced/%s", s->root, tmp);
  if ((r = sys_flock (fd, LOCK_EX)) < 0 || (r = write_all (fd, text, strlen (text))) < 0
      || (r = sys_fsync (fd)) < 0)
    r = focker_fail (err, r, "write %s/unsynced/%s", s->root, tmp);
  else if ((r = sys_renameat (dfd, tmp, dfd, name)) < 0)
    r = focker_fail (err, r, "rename %s/unsynced/%s", s->root, tmp);
  else if ((r = sys_fsync (dfd)) < 0)
    {
      r = focker_fail (err, r, "sync %s/unsynced", s->root);
      sys_unlinkat (dfd, name, 0);
    }
  if (r < 0)
    {
      sys_unlinkat (dfd, tmp, 0);
      return r;
    }
  in->fd = TAKE_FD (fd);
  in->name = TAKE_PTR (name);
  return 0;
}

int
store_intent_sync (struct store *s, struct focker_err **err)
{
  struct store_intent *in = intent_get (s);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  int r;

  if (in->pending[0] == NULL)
    return 0;
  for (char **l = in->pending; *l; l++)
    len += strlen (*l) + 1;
  text = xcalloc (1, len + 2);
  if (in->torn)
    strcat (text, "\n");
  for (char **l = in->pending; *l; l++)
    strcat (strcat (text, *l), "\n");
  if (in->fd < 0)
    r = intent_create (s, in, text, err);
  else if ((r = write_all (in->fd, text, strlen (text))) < 0 || (r = sys_fsync (in->fd)) < 0)
    {
      in->torn = true;
      r = focker_fail (err, r, "write %s/unsynced/%s", s->root, in->name);
    }
  if (r < 0)
    return r;
  in->torn = false;
  for (char **l = in->pending; *l; l++)
    strv_push (&in->listed, *l);
  strv_free (in->pending);
  in->pending = xcalloc (1, sizeof (char *));
  return 0;
}

int
store_intent_cover (struct store *s, char kind, const char *digest, struct focker_err **err)
{
  store_intent_add (s, kind, digest);
  return store_intent_sync (s, err);
}

void
store_intent_close (struct store *s)
{
  struct store_intent *in = s->intent;

  if (in == NULL)
    return;
  if (in->fd >= 0)
    sys_close (in->fd); /* the record stays: a later command removes it once data is durable */
  free (in->name);
  strv_free (in->listed);
  strv_free (in->pending);
  free (in);
  s->intent = NULL;
}

/* ---- recovery ---- */

/* The boot id a record's name starts with. */
static bool
record_of_boot (const char *name, const char *boot)
{
  if (strncmp (name, NEW_PREFIX, strlen (NEW_PREFIX)) == 0)
    name += strlen (NEW_PREFIX);
  return strncmp (name, boot, BOOT_ID_LEN) == 0 && name[BOOT_ID_LEN] == '.';
}

/* A listed blob: hashed again, removed when its content is not its digest.  One that cannot
 * be read (no fd left, EIO) is an error, not a verdict: it stays, and the record with it. */
static int
recover_blob (struct store *s, const char *digest, struct focker_err **err)
{
  _cleanup_free_ char *path = xasprintf ("blobs/sha256/%s", DIGEST_HEX (digest));
  _cleanup_close_ int fd = sys_openat (s->fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  _cleanup_free_ char *buf = NULL;
  _cleanup_digest_ struct digest *d = NULL;
  char got[DIGEST_LEN + 1];
  ssize_t n = 0;
  int r;

  if (fd == -ENOENT)
    return 0;
  if (fd < 0)
    return focker_fail (err, fd, "check %s/%s after a crash: open", s->root, path);
  buf = xmalloc (64 * 1024);
  d = digest_new ();
  while ((n = sys_read (fd, buf, 64 * 1024)) > 0)
    digest_update (d, buf, (size_t)n);
  if (n < 0)
    return focker_fail (err, (int)n, "check %s/%s after a crash: read", s->root, path);
  digest_final (d, got);
  if (strcmp (got, digest) == 0)
    return 0;
  focker_log ("warning", "image store %s: blob %s was damaged by a crash: removed", s->root,
              digest);
  r = sys_unlinkat (s->fd, path, 0);
  if (r < 0 && r != -ENOENT)
    return focker_fail (err, r, "remove %s/%s", s->root, path);
  return 0;
}

static int
recover_record (struct store *s, const char *name, struct focker_err **err)
{
  _cleanup_free_ char *path = xasprintf ("unsynced/%s", name), *text = NULL;
  char *save = NULL;
  size_t len;
  int r = read_file_at (&text, &len, s->fd, path, 1 << 24, err);

  if (r < 0)
    return r;
  /* a region the crash lost may read as zeros: garbage, like any torn line, and the lines
   * after it still count */
  for (size_t i = 0; i < len; i++)
    if (text[i] == '\0')
      text[i] = '\n';
  for (char *l = strtok_r (text, "\n", &save); l && r == 0; l = strtok_r (NULL, "\n", &save))
    {
      if (strlen (l) < 2 || l[1] != ' ' || !digest_valid (l + 2))
        continue; /* a line torn by the crash: nothing was named under it */
      if (l[0] == 'B')
        r = recover_blob (s, l + 2, err);
      else if (l[0] == 'L')
        {
          _cleanup_free_ char *dir = xasprintf ("layers/sha256/%s", DIGEST_HEX (l + 2));
          /* unpacked again from its blob when next needed */
          r = rm_rf_at (s->fd, dir);
          if (r < 0)
            r = focker_fail (err, r, "remove %s/%s", s->root, dir);
        }
    }
  return r;
}

/* Under the store lock held exclusive: every record of another boot. */
static int
recover_other_boots (struct store *s, const char *boot, struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  size_t n = 0;
  int r = list_dir_at (&names, s->fd, "unsynced", err);

  for (char **p = names; r == 0 && *p; p++)
    if (!record_of_boot (*p, boot))
      {
        r = recover_record (s, *p, err);
        n++;
      }
  /* the removals durable before the records that asked for them go */
  if (r == 0 && n > 0 && (r = sys_syncfs (s->fd)) < 0)
    r = focker_fail (err, r, "sync %s", s->root);
  for (char **p = names; r == 0 && *p; p++)
    if (!record_of_boot (*p, boot))
      {
        _cleanup_free_ char *path = xasprintf ("unsynced/%s", *p);
        r = sys_unlinkat (s->fd, path, 0);
        if (r < 0 && r != -ENOENT)
          r = focker_fail (err, r, "remove %s/%s", s->root, path);
        r = r == -ENOENT ? 0 : r;
      }
  return r;
}

/* Records of this boot whose command ended: after a syncfs their data is durable.  With
 * `all` (the store held exclusive: no record is being made) .new- ones too, and at any
 * count; else only when at least TIDY_MIN are free. */
static int
tidy_this_boot (struct store *s, char **names, const char *boot, bool all, struct focker_err **err)
{
  _cleanup_close_ int dfd = -1;
  _cleanup_free_ int *fds = NULL;
  _cleanup_strv_ char **take = NULL;
  size_t n = 0;
  int r = 0;

  for (char **p = names; !all && *p; p++)
    n += record_of_boot (*p, boot) && (*p)[0] != '.';
  if (!all && n < TIDY_MIN)
    return 0; /* not even enough candidates: open none */
  n = 0;
  dfd = open_dir_at (s->fd, "unsynced", err);
  if (dfd < 0)
    return dfd;
  fds = xcalloc (strv_length (names) + 1, sizeof *fds);
  take = xcalloc (1, sizeof *take);
  for (char **p = names; *p; p++)
    {
      int fd;
      if (!record_of_boot (*p, boot) || (!all && (*p)[0] == '.'))
        continue;
      fd = sys_openat (dfd, *p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
      if (fd < 0)
        continue;
      if (sys_flock (fd, LOCK_EX | LOCK_NB) < 0)
        {
          sys_close (fd); /* its command runs */
          continue;
        }
      fds[n++] = fd;
      strv_push (&take, *p);
    }
  if (n > 0 && (all || n >= TIDY_MIN))
    {
      r = sys_syncfs (s->fd);
      if (r < 0)
        r = focker_fail (err, r, "sync %s", s->root);
      for (char **p = take; r == 0 && *p; p++)
        (void)sys_unlinkat (dfd, *p, 0);
    }
  while (n > 0)
    sys_close (fds[--n]);
  return r;
}

/* Records of another boot seen by a command holding the store shared.  Nobody may use what
 * is about to be checked, so recovery holds the store exclusive; but once one command has
 * recovered, the others must not wait for it exclusive too: that would wait for every
 * command holding the store, a pull of minutes say, with nothing left to do.  So one command
 * at a time takes locks/recover, looks again, and only if records are still there waits for
 * the store exclusive.  The store lock is let go before locks/recover is waited for: a
 * recoverer waiting for the store exclusive would otherwise wait on us while we wait on
 * it.  *names is listed again. */
static int
recover_shared (struct store *s, char ***names, const char *boot, struct focker_err **err)
{
  _cleanup_close_ int rfd = -1;
  bool other = false;
  int r = sys_flock (s->lockfd, LOCK_UN);

  if (r < 0)
    return focker_fail (err, r, "unlock %s/locks/store", s->root);
  rfd = store_lock (s, "recover", LOCK_EX, err);
  r = rfd < 0 ? rfd : 0;
  if (r == 0)
    {
      strv_free (TAKE_PTR (*names));
      r = list_dir_at (names, s->fd, "unsynced", err);
    }
  for (char **p = r == 0 ? *names : NULL; p && *p; p++)
    other = other || !record_of_boot (*p, boot);
  if (r == 0 && other && (r = sys_flock (s->lockfd, LOCK_EX)) < 0)
    focker_fail (err, r, "lock %s/locks/store", s->root);
  if (r == 0 && other)
    r = recover_other_boots (s, boot, err);
  /* shared again, whatever happened: the caller goes on (or fails) holding it */
  {
    int r2 = sys_flock (s->lockfd, LOCK_SH);
    if (r == 0 && r2 < 0)
      r = focker_fail (err, r2, "lock %s/locks/store", s->root);
  }
  return r;
}

int
store_recover (struct store *s, bool writer, bool exclusive, struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  char boot[BOOT_ID_LEN + 1];
  bool other = false;
  int r = list_dir_at (&names, s->fd, "unsynced", err);

  if (r == -ENOENT || (r == 0 && names[0] == NULL))
    {
      focker_err_free (TAKE_PTR (*err));
      return 0;
    }
  if (r < 0 || (r = boot_id (boot, err)) < 0)
    return r;
  for (char **p = names; *p; p++)
    other = other || !record_of_boot (*p, boot);
  if (other && exclusive)
    r = recover_other_boots (s, boot, err);
  else if (other)
    r = recover_shared (s, &names, boot, err);
  if (r < 0)
    return r;
  if (writer)
    r = tidy_this_boot (s, names, boot, exclusive, err);
  return r;
}
