/* confine.h: what the container init does to confine the process it becomes.
 *
 * Two halves, because the init must not read the creator's memory after `created`:
 *  - before `created` (confine_prepare, confine_session): everything is computed or opened
 *    while the spec is readable and the host is still visible (before pivot_root): the
 *    capability masks, the compiled seccomp program, whether SELinux/AppArmor are enabled,
 *    the connection to the seccomp listener; the session keyring and personality are set;
 *    an error here fails `create` with a message naming the field;
 *  - after `start` (confine_before_user, confine_after_user, confine_last), from the
 *    struct confine the init owns, around the uid switch in this order:
 *      LSM exec labels; bounding set drop; PR_SET_KEEPCAPS; [seccomp when early]
 *      -- setgroups/setresgid/setresuid (core/init.c) --
 *      keepcaps off; capset effective/permitted/inheritable; ambient raises
 *      -- chdir, umask --
 *      [seccomp when late]; execve.
 *
 * seccomp is loaded last, right before execve, so nothing the runtime does is filtered.
 * Loading needs no_new_privs or CAP_SYS_ADMIN: when the process has neither at the end
 * (no noNewPrivileges, and its capabilities lack CAP_SYS_ADMIN), it is loaded before the
 * uid switch instead, as runc and crun do; the profile must then allow what follows
 * (setresuid, capset, prctl, chdir, execve). */
#ifndef FOCKER_CONFINE_H
#define FOCKER_CONFINE_H

#include <stdbool.h>
#include "core/caps.h"
#include "core/err.h"
#include "core/seccomp.h"
#include "core/spec.h"

struct confine
{
  struct caps_plan caps;
  int last_cap;
  bool has_seccomp;
  struct seccomp_prog seccomp;
  bool seccomp_late;       /* load right before execve (else before the uid switch) */
  int listener_fd;         /* connected to linux.seccomp.listenerPath, or -1 */
  char *listener_metadata; /* linux.seccomp.listenerMetadata, or NULL */
  char *selinux_label;     /* process.selinuxLabel, NULL when unset or SELinux is off */
  char *apparmor_profile;  /* process.apparmorProfile, NULL when unset or AppArmor is off */
};

/* Compute and open everything (see above).  Must run before pivot_root. */
int confine_prepare (struct confine **out, const struct spec *s, struct focker_err **err);

/* A new session keyring named `id` (unless `no_new_keyring`; skipped where the kernel has
 * no keyrings), and linux.personality. */
int confine_session (const struct spec *s, const char *id, bool no_new_keyring,
                     struct focker_err **err);

/* Before setresuid: LSM exec labels, bounding set, keepcaps, early seccomp.  `state_json`
 * is the container state sent to a seccomp listener. */
int confine_before_user (const struct confine *c, const char *state_json, struct focker_err **err);

/* After setresuid: effective, permitted, inheritable and ambient capabilities. */
int confine_after_user (const struct confine *c, struct focker_err **err);

/* Right before execve: the late seccomp load (and the listener handoff). */
int confine_last (const struct confine *c, const char *state_json, struct focker_err **err);

/* Personality number for linux.personality: 0 and *out, or -EINVAL naming a bad flag. */
int confine_personality (unsigned long *out, const struct spec_linux *l, struct focker_err **err);

void confine_free (struct confine *c);

/* Is SELinux enabled on this host (selinuxfs mounted)?  Asked before pivot_root. */
bool confine_selinux_enabled (void);

#endif
