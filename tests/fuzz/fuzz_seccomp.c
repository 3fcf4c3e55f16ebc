/* fuzz_seccomp.c: libFuzzer target for the seccomp profile compiler: the input is the value
 * of linux.seccomp in an otherwise fixed config.json; a profile that parses is compiled with
 * libseccomp (seccomp_compile), never loaded.
 *
 * Invariant: no crash, no sanitizer report, no leak; parse and compile either succeed or set
 * exactly an error with a message and a negative code. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/seccomp.h"
#include "core/spec.h"

static const char head[]
    = "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
      "\"root\":{\"path\":\"rootfs\"},\"linux\":{\"seccomp\":";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t n = sizeof head - 1 + size + 2;
  char *text = malloc (n + 1);
  struct spec *s = NULL;
  struct focker_err *err = NULL;
  int r;

  memcpy (text, head, sizeof head - 1);
  memcpy (text + sizeof head - 1, data, size);
  memcpy (text + sizeof head - 1 + size, "}}", 3);
  r = spec_parse (&s, text, n, "config.json", &err);
  free (text);
  if (r < 0)
    {
      if (err == NULL || err->msg == NULL || err->code >= 0 || s != NULL)
        abort ();
      focker_err_free (err);
      return 0;
    }
  if (s->has_linux && s->linux_.has_seccomp)
    {
      struct seccomp_prog prog = { 0 };
      r = seccomp_compile (&prog, &s->linux_.seccomp, &err);
      if (r < 0 && (err == NULL || err->msg == NULL || err->code >= 0))
        abort ();
      if (r >= 0 && err != NULL)
        abort ();
      seccomp_prog_clear (&prog);
      focker_err_free (err);
    }
  spec_free (s);
  return 0;
}
