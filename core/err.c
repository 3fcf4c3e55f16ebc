/* err.c: the error contract (see err.h) and the allocation helpers that abort on OOM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"

static void
oom (void)
{
  static const char msg[] = "focker: out of memory\n";
  fputs (msg, stderr);
  abort ();
}

int
focker_failv (struct focker_err **err, int code, const char *fmt, va_list ap)
{
  struct focker_err *e;

  if (code > 0)
    code = -code;
  if (code == 0)
    code = -EINVAL;
  if (err == NULL)
    return code;
  if (*err != NULL) /* keep the first, most specific error */
    return code;
  e = xcalloc (1, sizeof *e);
  e->code = code;
  if (vasprintf (&e->msg, fmt, ap) < 0)
    oom ();
  *err = e;
  return code;
}

int
focker_fail (struct focker_err **err, int code, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = focker_failv (err, code, fmt, ap);
  va_end (ap);
  return r;
}

int
focker_err_prefix (struct focker_err **err, const char *fmt, ...)
{
  char *prefix, *msg;
  va_list ap;

  if (err == NULL || *err == NULL)
    return -EINVAL;
  va_start (ap, fmt);
  if (vasprintf (&prefix, fmt, ap) < 0)
    oom ();
  va_end (ap);
  if (asprintf (&msg, "%s: %s", prefix, (*err)->msg) < 0)
    oom ();
  free (prefix);
  free ((*err)->msg);
  (*err)->msg = msg;
  return (*err)->code;
}

void
focker_err_free (struct focker_err *err)
{
  if (err == NULL)
    return;
  free (err->msg);
  free (err);
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    oom ();
  return p;
}

char *
xstrndup (const char *s, size_t n)
{
  char *p = strndup (s, n);
  if (p == NULL)
    oom ();
  return p;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *p;

  va_start (ap, fmt);
  if (vasprintf (&p, fmt, ap) < 0)
    oom ();
  va_end (ap);
  return p;
}
