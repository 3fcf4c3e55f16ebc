/* spec_test.h: helpers shared by test_spec.c and test_spec_linux.c (static inline, so each
 * test binary carries its own copy and no test support object is needed).
 *
 * Fixtures are found under $FOCKER_SRCDIR (default "."), the repository root.  Small
 * documents are written with single quotes ('ociVersion') and turned into JSON by J(),
 * which keeps the test bodies readable. */
#ifndef FOCKER_SPEC_TEST_H
#define FOCKER_SPEC_TEST_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sched.h>
#include <cmocka.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/spec.h"
#include "core/strv.h"

static inline char *
read_fixture (const char *name, size_t *len)
{
  const char *dir = getenv ("FOCKER_SRCDIR");
  char path[4096];
  FILE *f;
  char *buf;
  long n;

  snprintf (path, sizeof path, "%s/tests/fixtures/oci/%s", dir ? dir : ".", name);
  f = fopen (path, "rb");
  if (f == NULL)
    fail_msg ("cannot open fixture %s", path);
  fseek (f, 0, SEEK_END);
  n = ftell (f);
  fseek (f, 0, SEEK_SET);
  buf = malloc ((size_t)n + 1);
  assert_non_null (buf);
  assert_int_equal (fread (buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose (f);
  *len = (size_t)n;
  return buf;
}

/* Single quotes -> double quotes (the test documents contain no apostrophes). */
static inline char *
J (const char *s)
{
  char *d = strdup (s);
  for (char *p = d; *p; p++)
    if (*p == '\'')
      *p = '"';
  return d;
}

static inline struct spec *
parse_ok (const char *text)
{
  _cleanup_err_ struct focker_err *err = NULL;
  struct spec *s = NULL;
  int r = spec_parse (&s, text, strlen (text), "config.json", &err);

  if (r < 0)
    fail_msg ("unexpected error: %s", err ? err->msg : "(none)");
  assert_null (err);
  assert_non_null (s);
  return s;
}

static inline struct spec *
parse_fixture (const char *name)
{
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *text = NULL;
  struct spec *s = NULL;
  size_t len;

  text = read_fixture (name, &len);
  if (spec_parse (&s, text, len, name, &err) < 0)
    fail_msg ("%s: %s", name, err->msg);
  return s;
}

static inline void
expect_fail_text (const char *text, const char *msg)
{
  _cleanup_err_ struct focker_err *err = NULL;
  struct spec *s = NULL;
  int r = spec_parse (&s, text, strlen (text), "config.json", &err);

  if (r == 0)
    {
      spec_free (s);
      fail_msg ("accepted, expected: %s", msg);
    }
  assert_int_equal (r, -EINVAL);
  assert_null (s);
  assert_non_null (err);
  assert_int_equal (err->code, -EINVAL);
  assert_string_equal (err->msg, msg);
}

/* Document in single-quote notation must fail with exactly `msg`. */
static inline void
expect_fail (const char *squoted, const char *msg)
{
  _cleanup_free_ char *text = J (squoted);
  expect_fail_text (text, msg);
}

static inline struct spec *
parse_sq (const char *squoted)
{
  _cleanup_free_ char *text = J (squoted);
  return parse_ok (text);
}

/* A fixture as a jansson tree, to be changed by the test and parsed again. */
static inline json_t *
fixture_json (const char *name)
{
  _cleanup_free_ char *text = NULL;
  json_error_t je;
  size_t len;
  json_t *j;

  text = read_fixture (name, &len);
  j = json_loadb (text, len, 0, &je);
  assert_non_null (j);
  return j;
}

static inline void
expect_fail_json (json_t *j, const char *msg)
{
  char *text = json_dumps (j, 0);
  json_decref (j);
  expect_fail_text (text, msg);
  free (text);
}

#define MIN "'ociVersion':'1.1.0','root':{'path':'rootfs'}"

static inline const struct spec_mount *
find_mount (const struct spec *s, const char *dest)
{
  for (size_t i = 0; i < s->n_mounts; i++)
    if (strcmp (s->mounts[i].destination, dest) == 0)
      return &s->mounts[i];
  fail_msg ("no mount at %s", dest);
  return NULL;
}

#endif
