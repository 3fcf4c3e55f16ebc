/* state.h: a container's record on disk, under the runtime root (--root, /run/focker).
 *
 * Flat: no directory per container (its rmdir cost a synchronous ext4 discard).  <root>/<id>
 * is the lock file, made with O_EXCL by create (which claims the id) and unlinked last by
 * delete; it holds the cgroup intent (core/cgroup.h: written once by create before any
 * cgroup dir is made; empty when there is none), so that a killed create costs no file of
 * its own.  Its siblings are <root>/<id>=state.json and =exec.sock ('=' is not an id
 * character, so no id's names can be another's); an older focker also made =cgroup.json. state.json
 * is written whole (temp file + rename) while the lock file is locked with flock, so concurrent
 * commands never see a torn or half-updated state; a command that waited for the lock checks that
 * <root>/<id> is still the file it locked (state_check_linked).
 * The status is never stored: it is derived from the init process (alive? same start time?
 * a zombie?) and whether it was started, so `state` says "stopped" as soon as the init exits
 * even when nothing waits for it.  Started means <root>/<id>=exec.sock is gone: `start`
 * unlinks it once the init has exec'd (runc's exec fifo tells the same), so start does not
 * write state.json again.  A directory <root>/<id> is an older focker's state: refused. */
#ifndef FOCKER_STATE_H
#define FOCKER_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include "core/err.h"

/* The separator between an id and the name of one of its files, and those names. */
#define STATE_SEP "="
#define STATE_JSON "state.json"
#define STATE_EXEC_SOCK "exec.sock" /* the start handshake's socket (core/container.c) */
/* The cgroup intent of a container an older focker made (this one keeps it in the lock
 * file): read, and removed, by delete. */
#define STATE_CGROUP_OLD "cgroup.json"
/* The longest id: its longest name, an older focker's ".<id>=cgroup.json.tmp" (a temp
 * file), fits NAME_MAX.  Kept at that value: changing it would change which ids are valid. */
#define STATE_ID_MAX (255 - sizeof ("." STATE_SEP STATE_CGROUP_OLD ".tmp") + 1)

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

/* An open container: the runtime root and the container's lock file <root>/<id>. */
struct state_ref
{
  int rootfd;
  int lockfd;
};
#define STATE_REF_NONE ((struct state_ref){ .rootfd = -1, .lockfd = -1 })

/* Is `id` a valid container id (1-STATE_ID_MAX chars of [A-Za-z0-9_.+-], not beginning with
 * '.': those names are the root's own, .network/ and temporaries)? */
bool container_id_valid (const char *id);
/* Fail with the reason `id` is not valid: "invalid container id \"ID\"" (and why, for a
 * leading '.'); returns -EINVAL. */
int container_id_fail (const char *id, struct focker_err **err);

/* The name of the container's file `what` (STATE_JSON ...) in the root: "<id>=<what>". */
char *state_name (const char *id, const char *what);

/* Open (creating it 0700 when `create`) the runtime root directory. */
int state_root_open (const char *root, bool create, struct focker_err **err);

/* Create the lock file <root>/<id> and return its fd, open for reading and writing (the
 * cgroup intent goes into it) (fails when the id is taken, with "container ID already
 * exists"). */
int state_lock_create (int rootfd, const char *id, struct focker_err **err);

/* Open <root>/<id> ("container ID does not exist" when missing). */
int state_lock_open (int rootfd, const char *id, struct focker_err **err);

/* Take the container's lock (exclusive, blocking); released when the fd closes. */
int state_lock (int lockfd, const char *id, struct focker_err **err);

/* Is <root>/<id> still the file `lockfd` is?  -ENOENT ("container ID was deleted while being
 * created") when a delete removed it (and maybe a create made the id again) while we waited
 * for its lock; -EISDIR for an older focker's state directory. */
int state_check_linked (int rootfd, int lockfd, const char *id, struct focker_err **err);

/* Remove every file of the container, the lock file last (a delete killed half-way leaves
 * the lock file, which a later delete --force finds); with `old`, also the files only an
 * older focker made (=cgroup.json and its temporary).  0 or a negative errno. */
int state_remove (int rootfd, const char *id, bool old);

int state_write (int rootfd, const struct container_state *st, struct focker_err **err);

/* state_write in two steps: the temporary file made ahead (an fd, or a negative errno), then
 * written and renamed into place (state_write_prepared takes the fd). */
int state_write_prepare (int rootfd, const char *id, struct focker_err **err);
int state_write_prepared (int rootfd, int tmpfd, const struct container_state *st,
                          struct focker_err **err);
int state_read (struct container_state **out, int rootfd, const char *id, struct focker_err **err);
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

/* `sec` seconds and `nsec` nanoseconds after the epoch, in UTC, as RFC 3339 with nanoseconds
 * ("2026-11-29T16:12:04.000000001Z"). */
char *state_rfc3339 (time_t sec, long nsec);

static inline void
cleanup_statep (struct container_state **s)
{
  state_free (*s);
}
#define _cleanup_state_ __attribute__ ((cleanup (cleanup_statep)))

void state_ref_close (struct state_ref *ref);
#define _cleanup_state_ref_ __attribute__ ((cleanup (state_ref_close)))

#endif
