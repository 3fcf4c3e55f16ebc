/* fsutil.h: small filesystem helpers built on the seam (never on libc I/O).
 *
 * All paths are relative to a directory fd (AT_FDCWD allowed).  Writers that replace a file
 * do it atomically (temporary name + rename) so readers never see a torn file. */
#ifndef FOCKER_FSUTIL_H
#define FOCKER_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/err.h"

/* Read a whole file (at most `max` bytes; larger is -EFBIG).  *out is NUL-terminated. */
int read_file_at (char **out, size_t *len, int dirfd, const char *path, size_t max,
                  struct focker_err **err);

/* The same from an open fd, from its offset on: 0, or a negative errno (-EFBIG past `max`). */
int read_fd (char **out, size_t *len, int fd, size_t max);

/* Write `len` bytes to fd, retrying short writes. */
int write_all (int fd, const void *buf, size_t len);

/* Read until `len` bytes or EOF; returns bytes read. */
ssize_t read_all (int fd, void *buf, size_t len);

/* Write a file atomically: dirfd/.name.tmp then rename over dirfd/name, so readers see the
 * old or the new content, never a mix.  With `durable` the data is fsync'd before the rename
 * (needed where the file must survive a power loss, not for state on a tmpfs). */
int write_file_atomic_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                          bool durable, struct focker_err **err);

/* The same in two steps, so that the temporary file can be made ahead of time, off a
 * critical path: write_file_atomic_open creates (truncates) dirfd/.name.tmp and returns its
 * fd or a negative errno; write_file_atomic_fd takes that fd (closes it in every case),
 * writes, and renames as write_file_atomic_at does, unlinking the temporary on failure. */
int write_file_atomic_open (int dirfd, const char *name, mode_t mode, struct focker_err **err);
int write_file_atomic_fd (int dirfd, const char *name, int fd, const void *data, size_t len,
                          bool durable, struct focker_err **err);

/* mkdir -p relative to dirfd; existing directories are fine. */
int mkdir_p_at (int dirfd, const char *path, mode_t mode, struct focker_err **err);

/* Remove `name` under dirfd recursively (files, symlinks, dirs).  Missing is success.  Does
 * not cross into other mounts' content beyond what unlinkat allows (a busy mount point makes
 * it fail with EBUSY). */
int rm_rf_at (int dirfd, const char *name);

/* Open a directory (O_DIRECTORY|O_CLOEXEC). */
int open_dir_at (int dirfd, const char *path, struct focker_err **err);

/* Does dirfd/path exist (lstat)? */
bool exists_at (int dirfd, const char *path);

/* A record of getdents64 (the kernel's struct linux_dirent64). */
struct linux_dirent64_hdr
{
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* The names in directory dirfd/path (without "." and ".."), a NULL-terminated malloc'd list
 * (strv_free).  Reading all names first lets callers remove entries as they go. */
int list_dir_at (char ***out, int dirfd, const char *path, struct focker_err **err);

/* Join two path pieces with exactly one '/' between them. */
char *path_join (const char *a, const char *b);

#endif
