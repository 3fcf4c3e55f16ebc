/* hooks.h: OCI hooks (prestart, createRuntime, createContainer, startContainer, poststart,
 * poststop): each is executed with the container state JSON on its stdin, waited for, and
 * killed when its timeout passes. */
#ifndef FOCKER_HOOKS_H
#define FOCKER_HOOKS_H

#include "core/err.h"
#include "core/spec.h"

/* Run the hooks of one kind in order; the first failure stops the rest and is returned:
 * `hooks.prestart[1]: /usr/bin/x exited with status 2`. */
int hooks_run (const struct spec *s, enum spec_hook_kind kind, const char *state_json,
               struct focker_err **err);

/* Run one program as a hook is run (a clone of the caller that execs h->path with h->args,
 * h->env, `input` on its stdin, killed after h->timeout seconds): also how the runtime runs
 * newuidmap.  Errors are named by `where`: `WHERE: PATH exited with status N` (-ECANCELED),
 * `WHERE: PATH: cannot execute` (-ENOENT), `WHERE: PATH timed out after N s`. */
int hooks_run_program (const struct spec_hook *h, const char *where, const char *input,
                       struct focker_err **err);

const char *hooks_kind_name (enum spec_hook_kind kind);

#endif
