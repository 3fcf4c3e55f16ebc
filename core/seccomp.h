/* seccomp.h: linux.seccomp compiled to a BPF program in memory, with libseccomp.
 *
 * Compiled in the init before `created` (a bad profile fails `create`), loaded after
 * `start` by core/confine.c through sys_seccomp_load, the only part that crosses the seam.
 *
 * Rules followed (as runc and crun do):
 *  - syscall names libseccomp does not know are skipped (debug line), never fatal;
 *  - rules whose action equals the default action are dropped (libseccomp refuses them);
 *  - several conditions on the same argument make one rule per condition (OR), since
 *    libseccomp refuses two comparisons of one argument in a rule;
 *  - unless the default action lets syscalls through (ALLOW, LOG, TRACE), a stub before the
 *    filter answers ENOSYS for syscall numbers above the highest one the profile names for
 *    that architecture: a syscall newer than the profile (clone3 for an old profile) then
 *    fails the way it does on an older kernel, and libc falls back instead of giving up on
 *    EPERM.  x32 syscalls on x86_64 are left to the filter. */
#ifndef FOCKER_SECCOMP_H
#define FOCKER_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/filter.h>
#include "core/err.h"
#include "core/spec.h"

struct seccomp_prog
{
  struct sock_filter *insns;
  size_t len;       /* instructions */
  unsigned flags;   /* SECCOMP_FILTER_FLAG_* to load with (NEW_LISTENER when notifying) */
  bool notify;      /* a rule uses SCMP_ACT_NOTIFY: the load returns a listener fd */
  bool enosys_stub; /* the ENOSYS stub was prepended */
};

/* Compile `sc` into *out.  Errors name the field: linux.seccomp.syscalls[3].action ... */
int seccomp_compile (struct seccomp_prog *out, const struct spec_seccomp *sc,
                     struct focker_err **err);

void seccomp_prog_clear (struct seccomp_prog *p);

#endif
