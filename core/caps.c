/* caps.c: capability masks from process.capabilities, and their application through
 * sys_prctl (bounding, ambient) and sys_capset (effective, permitted, inheritable).
 *
 * Invariant: the masks only hold capabilities the running kernel knows (<= last_cap), so
 * no kernel call is made for a capability it would refuse with EINVAL. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include "core/caps.h"
#include "core/cleanup.h"
#include "core/log.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

int
caps_last_cap (void)
{
  _cleanup_close_ int fd
      = sys_openat (AT_FDCWD, "/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC, 0);
  char buf[16] = { 0 };
  ssize_t n = fd >= 0 ? sys_read (fd, buf, sizeof buf - 1) : -1;
  char *end;
  long v;

  if (n > 0)
    {
      v = strtol (buf, &end, 10);
      if (end != buf && (*end == '\n' || *end == '\0') && v >= 0 && v < 64)
        return (int)v;
    }
  /* kernels before 3.2, or no /proc: the bounding set refuses unknown numbers */
  for (v = 0; v < 63; v++)
    if (sys_prctl (PR_CAPBSET_READ, (unsigned long)v + 1, 0, 0, 0) < 0)
      return v == 0 ? SPEC_CAP_LAST : (int)v;
  return SPEC_CAP_LAST;
}

static int
mask_of (uint64_t *out, char **names, const char *set, int last_cap, struct focker_err **err)
{
  *out = 0;
  for (size_t i = 0; names && names[i]; i++)
    {
      int cap = spec_cap_from_name (names[i]);
      if (cap < 0)
        return focker_fail (err, -EINVAL, "process.capabilities.%s[%zu]: unknown capability \"%s\"",
                            set, i, names[i]);
      if (cap > last_cap)
        {
          focker_log ("warning", "process.capabilities.%s: %s is not known to this kernel, skipped",
                      set, names[i]);
          continue;
        }
      *out |= 1ULL << cap;
    }
  return 0;
}

int
caps_plan_make (struct caps_plan *out, const struct spec_process *p, int last_cap,
                struct focker_err **err)
{
  const struct spec_capabilities *c = &p->caps;
  int r;

  memset (out, 0, sizeof *out);
  if (!p->has_capabilities)
    return 0;
  out->set = true;
  if ((r = mask_of (&out->bounding, c->bounding, "bounding", last_cap, err)) < 0
      || (r = mask_of (&out->effective, c->effective, "effective", last_cap, err)) < 0
      || (r = mask_of (&out->permitted, c->permitted, "permitted", last_cap, err)) < 0
      || (r = mask_of (&out->inheritable, c->inheritable, "inheritable", last_cap, err)) < 0
      || (r = mask_of (&out->ambient, c->ambient, "ambient", last_cap, err)) < 0)
    return r;
  return 0;
}

int
caps_drop_bounding (const struct caps_plan *plan, int last_cap, struct focker_err **err)
{
  if (!plan->set)
    return 0;
  for (int cap = 0; cap <= last_cap; cap++)
    {
      int r;
      if (plan->bounding & (1ULL << cap))
        continue;
      r = sys_prctl (PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0);
      if (r < 0 && r != -EINVAL)
        return focker_fail (err, r, "process.capabilities.bounding: drop %s",
                            spec_cap_name (cap) ?: "capability");
    }
  return 0;
}

int
caps_apply (const struct caps_plan *plan, struct focker_err **err)
{
  int r;

  if (!plan->set)
    return 0;
  r = sys_capset (plan->effective, plan->permitted, plan->inheritable);
  if (r < 0)
    return focker_fail (err, r, "process.capabilities: set effective, permitted and inheritable");
  r = sys_prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  /* EINVAL: a kernel before 4.3 has no ambient set; fine unless one was asked for */
  if (r < 0 && !(r == -EINVAL && plan->ambient == 0))
    return focker_fail (err, r, "process.capabilities.ambient: clear");
  for (int cap = 0; cap < 64; cap++)
    {
      if (!(plan->ambient & (1ULL << cap)))
        continue;
      r = sys_prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0);
      /* The kernel refuses a capability that is not both permitted and inheritable.  runc
       * and crun warn and go on, and configs rely on it (`crun spec` lists ambient
       * capabilities with an empty inheritable set), so do the same.  Debug level: this runs
       * in the init, whose stderr is the container's. */
      if (r == -EPERM)
        {
          focker_log ("debug",
                      "process.capabilities.ambient: %s not raised: it must be permitted and "
                      "inheritable too",
                      spec_cap_name (cap) ?: "capability");
          continue;
        }
      if (r < 0)
        return focker_fail (err, r, "process.capabilities.ambient: raise %s",
                            spec_cap_name (cap) ?: "capability");
    }
  return 0;
}
