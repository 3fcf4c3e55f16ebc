/* container.h: the OCI lifecycle (create, start, state, kill, delete, run, list).
 *
 * `create` clones the container init into its new namespaces.  The init builds the rootfs,
 * pivots into it and then blocks on a unix socket in the state directory (exec.sock); the
 * user process does not run until `start` connects there.  Through that connection `start`
 * also learns whether the exec succeeded: the socket is close-on-exec, so EOF without a
 * message means the process is running, and a message is the init's error. */
#ifndef FOCKER_CONTAINER_H
#define FOCKER_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include "core/err.h"
#include "core/spec.h"
#include "core/state.h"

#define FOCKER_DEFAULT_ROOT "/run/focker"

struct create_opts
{
  const char *root; /* runtime state root */
  const char *id;
  const char *bundle;         /* absolute path */
  const char *pid_file;       /* absolute path, or NULL */
  const char *console_socket; /* path, or NULL */
  int preserve_fds;           /* fds 3 .. 3+N-1 reach the container */
  bool no_pivot;              /* MS_MOVE + chroot instead of pivot_root */
  bool no_new_keyring;
  bool systemd_cgroup; /* --systemd-cgroup: cgroupsPath is slice:prefix:name */
  bool rootless;       /* --rootless: no cgroup unless delegated; id maps as an
                        * unprivileged user may write them (see container_create) */
  struct spec *spec;   /* the bundle's config.json, parsed by the caller, or NULL: create
                        * loads it.  container_create frees it, whatever it returns. */
};

/* Create the container: on success the init waits for `start`, state.json records it, and
 * *pid (when not NULL) is its host pid.  On failure nothing is left: no state directory, no
 * process.
 *
 * Rootless (o->rootless): a cgroup that cannot be made (EACCES, EPERM, EROFS: not delegated
 * to this user) is done without when the config asks it for nothing (no linux.resources
 * besides device rules, no linux.cgroupsPath); otherwise that is the error.  A new user
 * namespace without mappings maps the caller's uid and gid to 0; a map of just the caller's
 * own id is written directly (gid_map after "deny" to setgroups, so additionalGids are
 * refused), any other through newuidmap/newgidmap, which check /etc/subuid and /etc/subgid. */
int container_create (const struct create_opts *o, pid_t *pid, struct focker_err **err);

int container_start (const char *root, const char *id, struct focker_err **err);

/* Open <root>/<id>, take its lock and read its state; the lock is held while ref->lockfd is
 * open (state_ref_close).  "container ID does not exist" when it does not. */
int container_open_locked (struct state_ref *ref, struct container_state **st, const char *root,
                           const char *id, struct focker_err **err);

/* Read the state and its current status. */
int container_state (struct container_state **out, enum container_status *status, const char *root,
                     const char *id, struct focker_err **err);

/* Send `sig` to the init (with `all`, to every process of the container). */
int container_kill (const char *root, const char *id, int sig, bool all, struct focker_err **err);

/* Delete a stopped container (with `force`, kill it first; a missing id is then success). */
int container_delete (const char *root, const char *id, bool force, struct focker_err **err);

/* Every container under root, as states (NULL-terminated array). */
int container_list (struct container_state ***out, const char *root, struct focker_err **err);
void container_list_free (struct container_state **list);

/* Freeze every process of the container (waiting until the kernel says frozen) and record
 * "paused"; resume thaws.  Both need the container's cgroup. */
int container_pause (const char *root, const char *id, struct focker_err **err);
int container_resume (const char *root, const char *id, struct focker_err **err);

/* Apply a linux.resources document (JSON text; `name` names it in messages) to a live
 * container's cgroup, and record it: the fields it gives replace those in the config kept in
 * state.json (objects merge, arrays replace), so later updates and `events` see them.  A
 * memory.swap without memory.limit takes the recorded limit (cgroup v2 needs both). */
int container_update (const char *root, const char *id, const char *doc, size_t len,
                      const char *name, struct focker_err **err);

/* The pids in the container's cgroup (malloc'd array, as the runtime's pid namespace sees
 * them). */
int container_pids (pid_t **pids, size_t *n, const char *root, const char *id,
                    struct focker_err **err);

/* `events`: with `stats_only`, one stats event and return; otherwise a stats event every
 * `interval_ms` and an oom event whenever the OOM killer kills in the container's cgroup,
 * until the container stops (a final OOM check comes after it stopped).  Each event is one
 * line of JSON as runc writes them ({"type":"stats","id":ID,"data":{...}},
 * {"type":"oom","id":ID}), handed to `emit`; a negative return from it ends the loop with
 * that value.  The container's lock is held only while its state is read. */
typedef int (*events_emit_fn) (void *ctx, const char *line);
int container_events (const char *root, const char *id, bool stats_only, int interval_ms,
                      events_emit_fn emit, void *ctx, struct focker_err **err);

/* A signal to forward (or 0), asked by `run` while it waits; set by the CLI's handlers. */
typedef int (*pending_signal_fn) (void);

/* create + start + wait + delete; *exit_status is the container's status (128+N when killed
 * by signal N).  With `detach`, return after start with *exit_status 0. */
int container_run (const struct create_opts *o, bool detach, pending_signal_fn pending,
                   int *exit_status, struct focker_err **err);

#endif
