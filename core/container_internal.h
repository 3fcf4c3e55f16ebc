/* container_internal.h: pieces of the lifecycle (container.c) that `exec` (exec.c) reuses.
 * Not an API for cli/. */
#ifndef FOCKER_CONTAINER_INTERNAL_H
#define FOCKER_CONTAINER_INTERNAL_H

#include <sys/types.h>
#include "core/container.h"
#include "core/spec.h"

/* Undo step: SIGKILL the child `pid` and reap it. */
struct undo_child
{
  pid_t pid;
};
void container_undo_kill_child (void *data);

/* Move `fd` to a close-on-exec fd >= min (closing the old one), so it cannot collide with the
 * preserved fds 3 .. min-1.  Returns the new fd, `fd` itself when already >= min or < 0. */
int container_fd_above (int fd, int min);

/* process.rlimits set on `pid` from outside (prlimit), as runc does. */
int container_set_rlimits (const struct spec_process *p, pid_t pid, struct focker_err **err);

/* Write `pid` to `path` atomically (temporary file + rename). */
int container_write_pid_file (const char *path, pid_t pid, struct focker_err **err);

/* The container's config as recorded in its state, parsed; NULL when absent or unreadable. */
struct spec *container_state_spec (const struct container_state *st);

/* The target of /proc/PID/ns/NAME (PID 0: /proc/self) in buf, "net:[4026531840]"; 0 or a
 * negative errno. */
int container_read_ns_link (pid_t pid, const char *name, char *buf, size_t size);

/* Wait for the child `pid`, forwarding what `pending` returns; *exit_status is its exit code,
 * or 128+N when killed by signal N. */
int container_wait_pid (pid_t pid, pending_signal_fn pending, int *exit_status,
                        struct focker_err **err);

#endif
