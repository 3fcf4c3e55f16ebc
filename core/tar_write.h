/* tar_write.h: a minimal ustar writer for the archives focker makes itself (the default
 * image's layer, `focker save`).
 *
 * Not libarchive's writer: linking it statically pulls in every write format, xar among them,
 * and with it libxml2 and ICU (34 MB).  Reading stays libarchive's.  Entries: regular files,
 * directories, symlinks; a name longer than 100 bytes must split at a '/' into at most 155
 * + 100 (ustar's prefix and name), link targets up to 100 bytes; sizes below 8 GiB; owner
 * root, mtime fixed by the caller (reproducible output). */
#ifndef FOCKER_TAR_WRITE_H
#define FOCKER_TAR_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Output goes to `put` (a buffer, an fd, a digest ...); it returns 0 or a negative errno. */
struct tar_out
{
  int (*put) (void *ctx, const void *buf, size_t len);
  void *ctx;
  uint64_t written;
  long mtime;
};

/* Header of a regular file of `size` bytes; the caller then writes the data with tar_data and
 * closes the entry with tar_pad. */
int tar_file_begin (struct tar_out *t, const char *name, mode_t mode, uint64_t size);
int tar_data (struct tar_out *t, const void *buf, size_t len);
int tar_pad (struct tar_out *t);
int tar_file (struct tar_out *t, const char *name, mode_t mode, const void *data, size_t len);
int tar_dir (struct tar_out *t, const char *name, mode_t mode);
int tar_symlink (struct tar_out *t, const char *name, const char *target);
/* The end-of-archive marker (two zero blocks). */
int tar_finish (struct tar_out *t);

#endif
