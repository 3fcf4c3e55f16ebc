/* fuzz_spec.c: libFuzzer target for config.json: spec_parse() on any bytes.
 *
 * Invariant: no crash, no sanitizer report, no leak; a failure sets exactly an error with a
 * message and a negative code, a success returns a spec (and no error). */
#include <stdint.h>
#include <stdlib.h>
#include "core/cleanup.h"
#include "core/spec.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct spec *s = NULL;
  struct focker_err *err = NULL;
  int r = spec_parse (&s, (const char *)data, size, "config.json", &err);

  if (r < 0 && (err == NULL || err->msg == NULL || err->code >= 0 || s != NULL))
    abort ();
  if (r >= 0 && (err != NULL || s == NULL))
    abort ();
  spec_free (s);
  focker_err_free (err);
  return 0;
}
