/* caps.h: process.capabilities as five 64-bit masks, and applying them.
 *
 * Bit N of a mask is capability N (CAP_CHOWN = 0 ...).  The masks are computed in the init
 * before `created` (caps_plan_make) and applied after `start` in the order the kernel needs:
 *   caps_drop_bounding   before the uid switch (PR_CAPBSET_DROP needs CAP_SETPCAP);
 *   PR_SET_KEEPCAPS      around setresuid, so permitted survives leaving uid 0;
 *   caps_apply           after it: capset (effective, permitted, inheritable), then the
 *                        ambient raises (each needs the capability permitted and inheritable). */
#ifndef FOCKER_CAPS_H
#define FOCKER_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include "core/err.h"
#include "core/spec.h"

struct caps_plan
{
  bool set; /* process.capabilities was given; otherwise capabilities are left alone */
  uint64_t bounding, effective, permitted, inheritable, ambient;
};

/* The highest capability number the running kernel knows: /proc/sys/kernel/cap_last_cap,
 * or probed with PR_CAPBSET_READ where that file cannot be read.  Never fails: the
 * fallback is SPEC_CAP_LAST. */
int caps_last_cap (void);

/* Fill *out from process.capabilities.  Names are validated by the parser (an unknown name
 * is an error naming it); a capability above `last_cap` (unknown to this kernel) is skipped
 * with a warning naming it.  Returns 0, or -EINVAL for a name that is not a capability. */
int caps_plan_make (struct caps_plan *out, const struct spec_process *p, int last_cap,
                    struct focker_err **err);

/* Drop every capability 0..last_cap not in the bounding mask from the bounding set. */
int caps_drop_bounding (const struct caps_plan *plan, int last_cap, struct focker_err **err);

/* capset the effective, permitted and inheritable masks, then clear the ambient set and
 * raise the ambient capabilities. */
int caps_apply (const struct caps_plan *plan, struct focker_err **err);

#endif
