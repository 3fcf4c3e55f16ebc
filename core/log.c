/* log.c: hands core/'s warning and debug lines to the installed handler (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/log.h"

static focker_log_fn handler;

focker_log_fn
focker_log_set (focker_log_fn fn)
{
  focker_log_fn old = handler;
  handler = fn;
  return old;
}

void
focker_log (const char *level, const char *fmt, ...)
{
  char *msg = NULL;
  va_list ap;

  if (handler == NULL)
    return;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (msg)
    handler (level, msg);
  free (msg);
}
