/* exec.h: run another process in a running container (`focker exec`, runc's semantics).
 *
 * The process is built from --process (a full OCI process object) or from the container's
 * own process with the flags applied; it joins every namespace of the container's init that
 * differs from the runtime's (the user namespace first), the container's cgroup (or a
 * sub-cgroup of it), and gets the confinement the init gets: capabilities, no_new_privs,
 * LSM labels, rlimits, user and groups, and the container's seccomp filter, loaded last. */
#ifndef FOCKER_EXEC_H
#define FOCKER_EXEC_H

#include <stdbool.h>
#include <sys/types.h>
#include "core/container.h"
#include "core/err.h"
#include "core/spec.h"

struct exec_opts
{
  const char *root;
  const char *id;
  const char *process_path; /* --process FILE (relative to the cwd), or NULL */
  char *const *args;        /* the command, when there is no --process */
  bool detach;
  bool tty;                   /* process.terminal (also with --process) */
  const char *pid_file;       /* absolute, or NULL */
  const char *console_socket; /* needed with a terminal */
  /* overrides of the container's process (ignored with --process, as runc does) */
  const char *cwd;
  char *const *env; /* K=V, replacing a variable of the same name */
  bool has_uid, has_gid;
  /* docker's -u (user face): "name", "uid", "name:group" ... resolved in the container's own
   * /etc/passwd and /etc/group (core/passwd.h), with their supplementary groups; replaces
   * has_uid/has_gid */
  const char *user_spec;
  uid_t uid;
  gid_t gid;
  const gid_t *additional_gids;
  size_t n_additional_gids;
  char *const *caps; /* added to the bounding, effective and permitted sets */
  bool no_new_privs;
  const char *apparmor;
  const char *process_label;
  int preserve_fds;
  char *const *cgroups; /* --cgroup [CTL[,CTL]:]SUB...: existing sub-cgroups, or NULL */
};

/* Build the process `exec` runs (pure, no kernel call except reading --process): the
 * container's process `base` with the overrides of `o`, or the --process object.  Errors
 * name the file or the flag. */
int exec_process_build (struct spec_process **out, const struct spec_process *base,
                        const struct exec_opts *o, struct focker_err **err);

/* Run the process.  Refuses a container that is not running (created, paused, stopped).
 * Without `detach`, waits for it, forwarding what `pending` returns, and sets *exit_status
 * to its code (128+N when killed by signal N); with `detach`, returns once it has exec'd,
 * *exit_status 0.  *pid (when not NULL) is its host pid.  On failure no process is left. */
int container_exec (const struct exec_opts *o, pending_signal_fn pending, pid_t *pid,
                    int *exit_status, struct focker_err **err);

#endif
