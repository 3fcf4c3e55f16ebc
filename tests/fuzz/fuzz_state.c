/* fuzz_state.c: libFuzzer target for state.json: state_read() of any bytes, through the fake
 * kernel (the file is <root>/c1=state.json in its VFS), then state_to_json() of what it read.
 *
 * Invariant: no crash, no sanitizer report, no leak, no fd left open; exactly one of a state
 * or an error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/state.h"
#include "sys-fake/fake.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static struct fake_kernel *k;
  static unsigned runs;
  struct container_state *st = NULL;
  struct focker_err *err = NULL;
  char *text = malloc (size + 1);
  size_t fds;
  int dirfd, r;

  /* a fresh kernel now and then: its journal of every call would grow without end */
  if (k != NULL && ++runs % 1000 == 0)
    {
      fake_kernel_free (k);
      k = NULL;
    }
  if (k == NULL)
    {
      k = fake_kernel_new (NULL);
      if (fake_mkdir_p (k, "/run/focker", 0700) < 0)
        abort ();
    }
  memcpy (text, data, size);
  text[size] = '\0';
  /* the fake's files hold C strings: an embedded NUL just ends the document early */
  if (fake_write_file (k, "/run/focker/c1=state.json", text, 0600) < 0)
    abort ();
  free (text);
  fds = fake_open_fds (k, fake_current_pid (k));
  dirfd = sys_openat (AT_FDCWD, "/run/focker", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dirfd < 0)
    abort ();
  r = state_read (&st, dirfd, "c1", &err);
  sys_close (dirfd);
  if (fake_open_fds (k, fake_current_pid (k)) != fds)
    abort ();
  if (r < 0 && (err == NULL || err->msg == NULL || err->code >= 0 || st != NULL))
    abort ();
  if (r >= 0)
    {
      char *json;
      if (err != NULL || st == NULL)
        abort ();
      json = state_to_json (st, state_status (st), true);
      free (json);
    }
  state_free (st);
  focker_err_free (err);
  return 0;
}
