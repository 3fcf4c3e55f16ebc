/* trace.c: a decorator that writes every call and its result to stderr.
 *
 * Enabled by FOCKER_TRACE=1 at CLI start-up.  Lines look like `focker[1234] 12.345678: mount = -1
 * (EPERM)` (monotonic seconds). execve is logged before the call too, since on success it never
 * returns. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "sys/sys.h"

static const struct sys_ops *trace_inner;

static void
trace_log (enum sys_id id, long r, const char *when)
{
  char buf[160];
  struct timespec ts;
  long us;
  int n;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  us = (long)(ts.tv_sec % 1000) * 1000000 + ts.tv_nsec / 1000;
  if (r < 0)
    n = snprintf (buf, sizeof buf, "focker[%d] %ld.%06ld: %s%s = %ld (%s)\n", (int)getpid (),
                  us / 1000000, us % 1000000, sys_names[id], when, r,
                  strerrorname_np ((int)-r) ?: "?");
  else
    n = snprintf (buf, sizeof buf, "focker[%d] %ld.%06ld: %s%s = %ld\n", (int)getpid (),
                  us / 1000000, us % 1000000, sys_names[id], when, r);
  /* raw write: the trace must not recurse through the seam it is tracing */
  if (n > 0)
    (void)!write (2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

#define SYS_X_TRACE(ret, name, params, args)                                                       \
  static ret trace_##name params                                                                   \
  {                                                                                                \
    ret r_;                                                                                        \
    if (SYS_ID_##name == SYS_ID_execve)                                                            \
      trace_log (SYS_ID_##name, 0, " ...");                                                        \
    r_ = trace_inner->name args;                                                                   \
    trace_log (SYS_ID_##name, (long)r_, "");                                                       \
    return r_;                                                                                     \
  }
SYS_CALLS (SYS_X_TRACE)
#undef SYS_X_TRACE

#define SYS_X_SLOT(ret, name, params, args) .name = trace_##name,
static const struct sys_ops trace_ops = { SYS_CALLS (SYS_X_SLOT) };
#undef SYS_X_SLOT

const struct sys_ops *
sys_trace_wrap (const struct sys_ops *inner)
{
  trace_inner = inner;
  return &trace_ops;
}
