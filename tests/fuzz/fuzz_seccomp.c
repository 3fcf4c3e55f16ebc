/* fuzz_seccomp.c: libFuzzer target for the seccomp profile compiler: the input is the value
 * of linux.seccomp in an otherwise fixed config.json; a profile that parses is compiled with
 * libseccomp (seccomp_compile), never loaded.
 *
 * Invariant: no crash, no sanitizer report, no leak; parse and compile either succeed or set
 * exactly an error with a message and a negative code; every libseccomp context made is
 * released.  That last one is checked here, by wrapping seccomp_init and seccomp_release,
 * because LeakSanitizer is told to ignore memory libseccomp allocates (seccomp.supp: its
 * 2.5.4 leaks rule nodes on its own). */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/seccomp.h"
#include "core/spec.h"
#include <seccomp.h>

static long live_contexts;

/* these override libseccomp's (the executable comes first in symbol lookup) */
scmp_filter_ctx
seccomp_init (uint32_t def_action)
{
  static scmp_filter_ctx (*real) (uint32_t);
  scmp_filter_ctx ctx;

  if (real == NULL)
    real = (scmp_filter_ctx (*) (uint32_t))dlsym (RTLD_NEXT, "seccomp_init");
  ctx = real (def_action);
  if (ctx != NULL)
    live_contexts++;
  return ctx;
}

void
seccomp_release (scmp_filter_ctx ctx)
{
  static void (*real) (scmp_filter_ctx);

  if (real == NULL)
    real = (void (*) (scmp_filter_ctx))dlsym (RTLD_NEXT, "seccomp_release");
  if (ctx != NULL)
    live_contexts--;
  real (ctx);
}

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
      if (live_contexts != 0)
        {
          fprintf (stderr, "fuzz_seccomp: %ld libseccomp contexts not released\n", live_contexts);
          abort ();
        }
    }
  spec_free (s);
  return 0;
}
