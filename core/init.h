/* init.h: what `create` hands the container init it clones, and the init's entry point. */
#ifndef FOCKER_INIT_H
#define FOCKER_INIT_H

#include <stdbool.h>
#include <stdint.h>
#include "core/cgroup.h"
#include "core/spec.h"

#define INIT_MAX_JOIN 8

struct init_ctx
{
  const struct spec *spec;
  const char *id;
  const char *bundle;
  const char *rootfs;
  int to_init[2];   /* parent writes [1], init reads [0] */
  int from_init[2]; /* init writes [1], parent reads [0] */
  int exec_listen;  /* exec.sock listener: `start` connects here */
  int console_fd;   /* connected console socket, or -1 */
  int state_lockfd; /* the creator's locked lock file, or -1: closed first thing, so that the
                     * lock is the creator's alone and `start` can take it */
  int preserve_fds;
  const uint8_t *preserve_passed; /* see init_fds_passed */
  bool no_pivot;
  bool no_new_keyring;         /* keep the caller's session keyring (--no-new-keyring) */
  struct confine *confine;     /* the init's own: made in init_prepare, used after `start` */
  bool new_user;               /* CLONE_NEWUSER at clone: wait for the maps */
  bool dumpable_for_maps;      /* rootless: the unprivileged parent (or newuidmap, on its behalf)
                                * writes the maps, which needs /proc/PID to be the caller's */
  int unshare_flags;           /* namespaces to create after joining a user namespace by path */
  bool new_time;               /* unshare CLONE_NEWTIME in the init */
  bool new_cgroup;             /* unshare CLONE_NEWCGROUP once placed in the container's cgroup */
  int join_fds[INIT_MAX_JOIN]; /* namespaces to join, user first */
  int join_types[INIT_MAX_JOIN];
  int n_join;
  const struct cgroup_host *cgroup_host; /* the runtime's, found before the clone, or NULL */
  const struct cgroup *place_cg;         /* v1 cgroups the init moves itself into first */
  int *place_fds;                        /* their `tasks`, opened by the runtime */
};

/* The container init, run in the clone child; returns the exit status on failure (after
 * reporting the error to the parent or to `start`), never returns on success. */
int init_main (void *ctx);

/* Find the program to exec: args[0] as a path, or searched in the PATH of `env`, within the
 * current root.  *out is malloc'd. */
int init_find_executable (char **out, const char *arg0, char *const *env, struct focker_err **err);

/* Pieces the init shares with `exec` (core/exec.c), in the order they run: */

/* Which of fds 3 .. 3+preserve-1 are open now: a bit each, malloc'd, or NULL when preserve
 * is 0.  Taken when a command begins, before it opens anything: the caller's fds.  A range
 * with gaps ("--preserve-fds 2" with only fd 3 open) would otherwise hand the container
 * whatever the runtime opened in a gap, such as its state directory. */
uint8_t *init_fds_passed (int preserve);

/* Mark every fd >= 3 + preserve close-on-exec and clear the flag on those of 3 .. 3+preserve-1
 * that `passed` (from init_fds_passed; NULL: all of them) says the caller passed; any other
 * fd there is the runtime's and stays close-on-exec.  No host fd reaches the process unless
 * --preserve-fds says so. */
int init_fds_hygiene (int preserve, const uint8_t *passed);

/* A pty from the devpts of the current root; the master goes to the connected console
 * socket *console_fd (closed and set to -1), the slave becomes stdio and the controlling
 * terminal of a new session.  Errors name the step. */
int init_terminal (const struct spec_process *p, int *console_fd, struct focker_err **err);

/* process.oomScoreAdj, when set, written to /proc/self/oom_score_adj. */
int init_oom_score_adj (const struct spec_process *p, struct focker_err **err);

/* Become the process: no_new_privs, LSM labels and capabilities around the uid switch
 * (core/confine.h), cwd resolved inside the root, umask, SIGPIPE default, seccomp last, then
 * execve(exe).  Returns only on failure. */
struct confine;
int init_become (const struct spec_process *p, const struct confine *conf, const char *exe,
                 const char *state_json, struct focker_err **err);

#endif
