/* fuzz_image.c: libFuzzer target for the image config parser: an image config (the JSON
 * blob an image's manifest names) becomes a config.json (image_spec_json), with users and
 * groups resolved in a small rootfs on the fake kernel; and the input's first line as an
 * image reference (store_normalize_ref).
 *
 * Invariant: no crash, no sanitizer report, no leak, no fd left open; a failure sets exactly
 * an error with a message and a negative code; a success is a config.json that parses. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/image.h"
#include "core/spec.h"
#include "core/store.h"
#include "sys-fake/fake.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct focker_err *err = NULL;
  char *line = strndup ((const char *)data, size), *nl, *out = NULL;
  json_t *config;
  size_t fds;
  int rootfd, r;

  if ((nl = strchr (line, '\n')))
    *nl = '\0';
  free (store_normalize_ref (line));
  free (line);
  if (fake_write_file (k, "/r/etc/passwd",
                       "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/:/bin/sh\n", 0644)
          < 0
      || fake_write_file (k, "/r/etc/group", "root:x:0:\nstaff:x:50:app\n", 0644) < 0)
    abort ();
  fds = fake_open_fds (k, fake_current_pid (k));
  rootfd = sys_openat (AT_FDCWD, "/r", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  config = json_loadb ((const char *)data, size, 0, NULL);
  r = image_spec_json (&out, config, rootfd, &err);
  json_decref (config);
  sys_close (rootfd);
  if (r < 0 && (err == NULL || err->msg == NULL || err->code >= 0))
    abort ();
  if (r >= 0)
    {
      struct spec *s = NULL;
      struct focker_err *perr = NULL;
      if (err != NULL || out == NULL
          || spec_parse (&s, out, strlen (out), "config.json", &perr) < 0)
        abort ();
      spec_free (s);
    }
  if (fake_open_fds (k, fake_current_pid (k)) != fds)
    abort ();
  free (out);
  focker_err_free (err);
  fake_kernel_free (k);
  return 0;
}
