/* crash.c: a decorator that kills its own process with SIGKILL right after call N returns.
 *
 * Enabled by FOCKER_CRASH_AT=N at CLI start-up; the crash-safety e2e test (tests/e2e/t_crash.sh)
 * runs a command with N = 1, 2, 3 ... and checks that `delete --force` then leaves the host
 * exactly as it was.  SIGKILL, not exit: nothing runs after it (no atexit, no cleanup
 * attribute, no undo list), as when the OOM killer or a power cut stops the runtime.
 *
 * Only calls made by the process that installed the decorator are counted.  The container
 * init is a clone child that inherits this table: its calls pass straight through, so the
 * init never kills itself.  Its death at any point is an ordinary error the parent handles
 * (the unit tests' fault loops cover it); the parent's death is the case this decorator is
 * for, and the init follows it through its parent-death signal until `create` detaches it.
 * Hook processes and the user process (after execve) are not counted either.
 *
 * With a mask (FOCKER_CRASH_CALLS=renameat,fsync,...) only the calls it names count: a test
 * that cannot afford a point after every call of a long command (pull: hundreds of reads and
 * polls of its downloads) can still stop after each call that changes what is on disk. */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "sys/sys.h"

static const struct sys_ops *crash_inner;
static long crash_countdown;
static pid_t crash_pid;
static sys_mask_t crash_mask;

static void
crash_after (enum sys_id id)
{
  if (crash_mask && !(crash_mask & SYS_MASK_ID (id)))
    return;
  /* raw getpid: the decorator must not count (or recurse through) the seam itself */
  if (crash_countdown <= 0 || (pid_t)syscall (SYS_getpid) != crash_pid)
    return;
  if (--crash_countdown == 0)
    syscall (SYS_kill, crash_pid, SIGKILL);
}

#define SYS_X_CRASH(ret, name, params, args)                                                       \
  static ret crash_##name params                                                                   \
  {                                                                                                \
    ret r_ = crash_inner->name args;                                                               \
    crash_after (SYS_ID_##name);                                                                   \
    return r_;                                                                                     \
  }
SYS_CALLS (SYS_X_CRASH)
#undef SYS_X_CRASH

#define SYS_X_SLOT(ret, name, params, args) .name = crash_##name,
static const struct sys_ops crash_ops = { SYS_CALLS (SYS_X_SLOT) };
#undef SYS_X_SLOT

const struct sys_ops *
sys_crash_wrap (const struct sys_ops *inner, long nth, sys_mask_t mask)
{
  crash_inner = inner;
  crash_countdown = nth;
  crash_mask = mask;
  crash_pid = (pid_t)syscall (SYS_getpid);
  return &crash_ops;
}
