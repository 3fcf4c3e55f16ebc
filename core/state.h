/* state.h: a container's record on disk, under the runtime root (--root, /run/focker).
 *
 * <root>/<id>/state.json is written whole (temp file + rename) while the container directory
 * is locked with flock, so concurrent commands never see a torn or half-updated state.
 * The status is never stored: it is derived from the init process (alive? same start time?
 * a zombie?) and whether it was started, so `state` says "stopped" as soon as the init exits
 * even when nothing waits for it.  Started means <root>/<id>/exec.sock is gone: `start`
 * unlinks it once the init has exec'd (runc's exec fifo tells the same), so start does not
 * write state.json again. */
#ifndef FOCKER_STATE_H
#define FOCKER_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include "core/err.h"

/* The start handshake's socket in the container's directory (core/container.c). */
#define STATE_EXEC_SOCK "exec.sock"

enum container_status
{
  STATUS_CREATING,
  STATUS_CREATED,
  STATUS_RUNNING,
  STATUS_PAUSED,
  STATUS_STOPPED,
};

struct container_state
{
  char *id;
  pid_t pid;                    /* host pid of the container init */
  unsigned long long starttime; /* /proc/PID/stat field 22, against pid reuse */
  char *bundle;                 /* absolute */
  char *rootfs;                 /* absolute */
  char *created;                /* RFC 3339, UTC */
  char *owner;                  /* "" for root, as runc */
  bool started;                 /* start succeeded: the user process was exec'd (read: no
                                 * exec.sock, or "started" in a state written by pause) */
  bool paused;
  void *annotations; /* json_t object, or NULL */
  void *config;      /* json_t: the spec's hooks.poststop, kept for delete */
  void *cgroup;      /* json_t: the container's cgroup dirs (core/cgroup.h) */
};

/* Is `id` a valid container id (1-1024 chars of [A-Za-z0-9_.+-], not "." or "..")? */
bool container_id_valid (const char *id);

/* Open (creating it 0700 when `create`) the runtime root directory. */
int state_root_open (const char *root, bool create, struct focker_err **err);

/* Create <root>/<id> (fails when it exists, with "container ID already exists"). */
int state_dir_create (int rootfd, const char *id, struct focker_err **err);

/* Open <root>/<id> ("container ID does not exist" when missing). */
int state_dir_open (int rootfd, const char *id, struct focker_err **err);

/* Take the container's lock (exclusive, blocking); released when the fd closes. */
int state_lock (int dirfd, const char *id, struct focker_err **err);

int state_write (int dirfd, const struct container_state *st, struct focker_err **err);
int state_read (struct container_state **out, int dirfd, const char *id, struct focker_err **err);
void state_free (struct container_state *st);

/* The status as of now. */
enum container_status state_status (const struct container_state *st);
const char *state_status_name (enum container_status s);

/* Is the recorded init process still the same live process? */
bool state_init_alive (const struct container_state *st);

/* The OCI state JSON (ociVersion, id, status, pid, bundle, annotations, plus runc's
 * rootfs, created, owner), pretty-printed when `pretty`. */
char *state_to_json (const struct container_state *st, enum container_status status, bool pretty);

/* Now, as RFC 3339 with nanoseconds, through sys_clock_gettime. */
char *state_now_rfc3339 (void);

static inline void
cleanup_statep (struct container_state **s)
{
  state_free (*s);
}
#define _cleanup_state_ __attribute__ ((cleanup (cleanup_statep)))

#endif
