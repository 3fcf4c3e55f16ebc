/* fuzz_process.c: libFuzzer target for process.json (exec --process): spec_parse_process().
 *
 * Invariant: no crash, no sanitizer report, no leak; exactly one of a process or an error. */
#include <stdint.h>
#include <stdlib.h>
#include "core/cleanup.h"
#include "core/spec.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct spec_process *p = NULL;
  struct focker_err *err = NULL;
  int r = spec_parse_process (&p, (const char *)data, size, "process.json", &err);

  if (r < 0 && (err == NULL || err->msg == NULL || err->code >= 0 || p != NULL))
    abort ();
  if (r >= 0 && (err != NULL || p == NULL))
    abort ();
  spec_process_free (p);
  focker_err_free (err);
  return 0;
}
