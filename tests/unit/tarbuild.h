/* tarbuild.h: tar streams built in memory with libarchive's write API, for the unpack and
 * store tests, and a helper putting bytes into the fake kernel's VFS. */
#ifndef FOCKER_TEST_TARBUILD_H
#define FOCKER_TEST_TARBUILD_H

#include <stddef.h>
#include <sys/types.h>

struct tarb;

enum tarb_filter
{
  TARB_NONE,
  TARB_GZIP,
  TARB_ZSTD,
};

struct tarb *tarb_new (enum tarb_filter filter);
void tarb_file (struct tarb *t, const char *path, const char *content, mode_t mode);
void tarb_file_owned (struct tarb *t, const char *path, const char *content, mode_t mode, uid_t uid,
                      gid_t gid, long mtime);
void tarb_bytes (struct tarb *t, const char *path, const void *data, size_t len);
/* A sparse entry of len bytes (holes must be zeros in data) whose only data region is
 * [data_at, data_at + data_len): the holes before and after it are not stored. */
void tarb_sparse (struct tarb *t, const char *path, const void *data, size_t len, size_t data_at,
                  size_t data_len);
void tarb_dir (struct tarb *t, const char *path, mode_t mode, long mtime);
void tarb_dir_owned (struct tarb *t, const char *path, mode_t mode, uid_t uid, gid_t gid);
void tarb_symlink (struct tarb *t, const char *path, const char *target);
void tarb_hardlink (struct tarb *t, const char *path, const char *target);
void tarb_node (struct tarb *t, const char *path, mode_t type, dev_t rdev);
void tarb_xattr_file (struct tarb *t, const char *path, const char *content, const char *xname,
                      const char *xvalue);
/* Finish: *len bytes at the returned buffer (owned by t until tarb_free). */
const char *tarb_end (struct tarb *t, size_t *len);
/* The uncompressed stream of the same entries (for diff-id checks), owned by t. */
const char *tarb_plain (struct tarb *t, size_t *len);
void tarb_free (struct tarb *t);

/* Write len bytes to a new file at `path` through the seam (the fake must be installed). */
void put_bytes (const char *path, const void *buf, size_t len);

#endif
