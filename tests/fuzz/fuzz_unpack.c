/* fuzz_unpack.c: libFuzzer target for the layer unpacker (unpack_layer) against the fake
 * kernel.
 *
 * Input: a layer stream (tar, optionally compressed; the seeds in corpus/unpack are small
 * tars with symlinks, hard links, whiteouts and `..` names).  It is unpacked into /l/layer of
 * a fresh fake kernel; /l/outside, /, /l and /etc are the outside.
 *
 * Invariant: nothing is created, changed or marked outside the layer (entry counts, a marker
 * file's content, no opaque xattr), no fd is left open, and no crash, sanitizer report or
 * leak, whatever the result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/unpack.h"
#include "sys-fake/fake.h"

static const char *const outside[] = { "/", "/l", "/l/outside", "/etc" };

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct fake_kernel *k;
  struct focker_err *err = NULL;
  size_t before[sizeof outside / sizeof *outside], fds;
  char diff[DIGEST_LEN + 1], *marker, *opq;
  int dirfd, src;

  if (size > 65536)
    return 0;
  k = fake_kernel_new (NULL);
  if (fake_mkdir_p (k, "/l/layer", 0755) < 0 || fake_write_file (k, "/l/outside/m", "m", 0644) < 0
      || fake_mkdir_p (k, "/etc", 0755) < 0)
    abort ();
  src = sys_openat (AT_FDCWD, "/l/src", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (src < 0 || write_all (src, data, size) < 0)
    abort ();
  sys_close (src);
  for (size_t i = 0; i < sizeof outside / sizeof *outside; i++)
    before[i] = fake_dir_count (k, outside[i]);
  fds = fake_open_fds (k, fake_current_pid (k));
  src = sys_openat (AT_FDCWD, "/l/src", O_RDONLY | O_CLOEXEC, 0);
  dirfd = sys_openat (AT_FDCWD, "/l/layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (unpack_layer (dirfd, src, diff, &err) < 0)
    {
      if (err == NULL || err->msg == NULL)
        abort ();
      focker_err_free (err);
    }
  sys_close (dirfd);
  sys_close (src);
  if (fake_open_fds (k, fake_current_pid (k)) != fds)
    abort ();
  for (size_t i = 0; i < sizeof outside / sizeof *outside; i++)
    if (fake_dir_count (k, outside[i]) != before[i])
      abort ();
  marker = fake_read_file (k, "/l/outside/m");
  opq = fake_getxattr (k, "/l/outside", "trusted.overlay.opaque");
  if (marker == NULL || strcmp (marker, "m") != 0 || opq != NULL)
    abort ();
  free (marker);
  fake_kernel_free (k);
  return 0;
}
