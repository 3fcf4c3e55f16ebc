/* fault.c: a decorator that makes the Nth call fail (SQLite's countdown, over any backend).
 *
 * Counting covers the calls whose bit is in the mask (all calls when the mask is 0).  A failed
 * call has no side effect, except close: Linux releases the fd even when close reports an
 * error, so the fault decorator closes it and then reports the error. */
#include "sys/sys.h"

static const struct sys_ops *fault_inner;
static long fault_countdown;
static int fault_persist;
static int fault_error;
static sys_mask_t fault_mask;
static long fault_hits;

static int
fault_fire (enum sys_id id)
{
  if (fault_mask && !(fault_mask & SYS_MASK_ID (id)))
    return 0;
  if (fault_countdown > 0 && --fault_countdown == 0)
    {
      fault_hits++;
      if (fault_persist)
        fault_countdown = -1;
      return 1;
    }
  if (fault_countdown == -1)
    {
      fault_hits++;
      return 1;
    }
  return 0;
}

#define SYS_X_FAULT(ret, name, params, args)                                                       \
  static ret fault_##name params                                                                   \
  {                                                                                                \
    if (fault_fire (SYS_ID_##name))                                                                \
      {                                                                                            \
        if (SYS_ID_##name == SYS_ID_close)                                                         \
          (void)fault_inner->name args;                                                            \
        return (ret)-fault_error;                                                                  \
      }                                                                                            \
    return fault_inner->name args;                                                                 \
  }
SYS_CALLS (SYS_X_FAULT)
#undef SYS_X_FAULT

#define SYS_X_SLOT(ret, name, params, args) .name = fault_##name,
static const struct sys_ops fault_ops = { SYS_CALLS (SYS_X_SLOT) };
#undef SYS_X_SLOT

const struct sys_ops *
sys_fault_wrap (const struct sys_ops *inner, long nth, int persist, int error, sys_mask_t mask)
{
  fault_inner = inner;
  fault_countdown = nth;
  fault_persist = persist;
  fault_error = error > 0 ? error : -error;
  fault_mask = mask;
  fault_hits = 0;
  return &fault_ops;
}

long
sys_fault_hits (void)
{
  return fault_hits;
}
