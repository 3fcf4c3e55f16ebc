/* tarbuild.c: see tarbuild.h.  Each archive is written twice, compressed as asked and plain,
 * so tests can compare diff-ids with the sha256 of the plain stream. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/fsutil.h"
#include "sys/sys.h"
#include "tests/unit/tarbuild.h"

#define TARB_CAP (4 * 1024 * 1024)

struct tarb
{
  struct archive *a[2]; /* [0] as asked, [1] plain */
  char *buf[2];
  size_t used[2];
  bool ended;
};

struct tarb *
tarb_new (enum tarb_filter filter)
{
  struct tarb *t = calloc (1, sizeof *t);

  for (int i = 0; i < 2; i++)
    {
      t->a[i] = archive_write_new ();
      archive_write_set_format_pax_restricted (t->a[i]);
      if (i == 0 && filter == TARB_GZIP)
        archive_write_add_filter_gzip (t->a[i]);
      if (i == 0 && filter == TARB_ZSTD)
        archive_write_add_filter_zstd (t->a[i]);
      archive_write_set_bytes_in_last_block (t->a[i], 1);
      t->buf[i] = malloc (TARB_CAP);
      if (archive_write_open_memory (t->a[i], t->buf[i], TARB_CAP, &t->used[i]) != ARCHIVE_OK)
        abort ();
    }
  return t;
}

static void
tarb_put (struct tarb *t, struct archive_entry *e, const char *content)
{
  for (int i = 0; i < 2; i++)
    {
      if (archive_write_header (t->a[i], e) != ARCHIVE_OK)
        {
          fprintf (stderr, "tarb: %s\n", archive_error_string (t->a[i]));
          abort ();
        }
      if (content)
        archive_write_data (t->a[i], content, strlen (content));
    }
  archive_entry_free (e);
}

static struct archive_entry *
tarb_entry (const char *path, mode_t mode, long mtime)
{
  struct archive_entry *e = archive_entry_new ();

  archive_entry_set_pathname (e, path);
  archive_entry_set_mode (e, mode);
  archive_entry_set_mtime (e, mtime, 0);
  return e;
}

void
tarb_file_owned (struct tarb *t, const char *path, const char *content, mode_t mode, uid_t uid,
                 gid_t gid, long mtime)
{
  struct archive_entry *e = tarb_entry (path, S_IFREG | mode, mtime);

  archive_entry_set_uid (e, uid);
  archive_entry_set_gid (e, gid);
  archive_entry_set_size (e, (la_int64_t)strlen (content));
  tarb_put (t, e, content);
}

void
tarb_bytes (struct tarb *t, const char *path, const void *data, size_t len)
{
  struct archive_entry *e = tarb_entry (path, S_IFREG | 0644, 1000);

  archive_entry_set_size (e, (la_int64_t)len);
  for (int i = 0; i < 2; i++)
    {
      if (archive_write_header (t->a[i], e) != ARCHIVE_OK)
        abort ();
      archive_write_data (t->a[i], data, len);
    }
  archive_entry_free (e);
}

void
tarb_sparse (struct tarb *t, const char *path, const void *data, size_t len, size_t data_at,
             size_t data_len)
{
  struct archive_entry *e = tarb_entry (path, S_IFREG | 0644, 1000);

  archive_entry_set_size (e, (la_int64_t)len);
  archive_entry_sparse_add_entry (e, (la_int64_t)data_at, (la_int64_t)data_len);
  for (int i = 0; i < 2; i++)
    {
      if (archive_write_header (t->a[i], e) != ARCHIVE_OK)
        abort ();
      archive_write_data (t->a[i], data, len);
    }
  archive_entry_free (e);
}

void
tarb_file (struct tarb *t, const char *path, const char *content, mode_t mode)
{
  tarb_file_owned (t, path, content, mode, 0, 0, 1000);
}

void
tarb_xattr_file (struct tarb *t, const char *path, const char *content, const char *xname,
                 const char *xvalue)
{
  struct archive_entry *e = tarb_entry (path, S_IFREG | 0644, 1000);

  archive_entry_set_size (e, (la_int64_t)strlen (content));
  archive_entry_xattr_add_entry (e, xname, xvalue, strlen (xvalue));
  tarb_put (t, e, content);
}

void
tarb_dir_owned (struct tarb *t, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
  struct archive_entry *e = tarb_entry (path, S_IFDIR | mode, 1000);

  archive_entry_set_uid (e, uid);
  archive_entry_set_gid (e, gid);
  tarb_put (t, e, NULL);
}

void
tarb_dir (struct tarb *t, const char *path, mode_t mode, long mtime)
{
  tarb_put (t, tarb_entry (path, S_IFDIR | mode, mtime), NULL);
}

void
tarb_symlink (struct tarb *t, const char *path, const char *target)
{
  struct archive_entry *e = tarb_entry (path, S_IFLNK | 0777, 1000);

  archive_entry_set_symlink (e, target);
  tarb_put (t, e, NULL);
}

void
tarb_hardlink (struct tarb *t, const char *path, const char *target)
{
  struct archive_entry *e = tarb_entry (path, S_IFREG | 0644, 1000);

  archive_entry_set_hardlink (e, target);
  archive_entry_set_size (e, 0);
  tarb_put (t, e, NULL);
}

void
tarb_node (struct tarb *t, const char *path, mode_t type, dev_t rdev)
{
  struct archive_entry *e = tarb_entry (path, type | 0640, 1000);

  archive_entry_set_rdev (e, rdev);
  tarb_put (t, e, NULL);
}

static void
tarb_close (struct tarb *t)
{
  if (t->ended)
    return;
  for (int i = 0; i < 2; i++)
    archive_write_close (t->a[i]);
  t->ended = true;
}

const char *
tarb_end (struct tarb *t, size_t *len)
{
  tarb_close (t);
  *len = t->used[0];
  return t->buf[0];
}

const char *
tarb_plain (struct tarb *t, size_t *len)
{
  tarb_close (t);
  *len = t->used[1];
  return t->buf[1];
}

void
tarb_free (struct tarb *t)
{
  for (int i = 0; i < 2; i++)
    {
      archive_write_free (t->a[i]);
      free (t->buf[i]);
    }
  free (t);
}

void
put_bytes (const char *path, const void *buf, size_t len)
{
  int fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || write_all (fd, buf, len) < 0)
    abort ();
  sys_close (fd);
}
