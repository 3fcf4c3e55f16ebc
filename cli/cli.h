/* cli.h: shared pieces of the command line (global options, logging, subcommands). */
#ifndef FOCKER_CLI_H
#define FOCKER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/err.h"

#define FOCKER_VERSION "0.1.0"
#define FOCKER_OCI_VERSION "1.2.0"

struct global_opts
{
  const char *root;         /* NULL: rootless without XDG_RUNTIME_DIR, and no --root (see main.c) */
  const char *storage_root; /* the image store (--storage-root, default /var/lib/focker) */
  const char *log;
  const char *log_format;
  bool debug;
  bool systemd_cgroup;
  bool rootless; /* --rootless true, or auto (the default) and euid != 0 */
};

extern struct global_opts g;

struct cli_command
{
  const char *name;
  int (*fn) (int argc, char **argv);
  const char *help;
  bool stateless; /* needs no runtime root (spec, features, check ...) */
};

/* Log a line at `level` ("error", "warning", "debug") to stderr and, with --log, to the log
 * file in --log-format. */
void cli_log (const char *level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Report err (freeing it) and return the exit status 1. */
int cli_fail (struct focker_err *err);

/* Report a usage error and return 1. */
/* A size for people: "1.9MB", "12.0kB", "512B". */
void cli_print_size (uint64_t n, char *buf, size_t len);
int cli_usage_error (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Parse a signal: "KILL", "SIGKILL", "9", "kill"; -1 if unknown. */
int cli_parse_signal (const char *s);

/* A container's pty on our stdin/stdout (cli/terminal.c): begin makes a console socket
 * (t->sock) and a thread that receives the pty master on it and copies both ways; end stops
 * the thread (after the process exited), restores termios and removes the socket. */
#include <pthread.h>
#include <termios.h>
struct term_attach
{
  char dir[64];
  char sock[96];
  int listen_fd;
  int stop_pipe[2];
  pthread_t thread;
  bool started;
  bool raw;
  struct termios saved;
};
int term_attach_begin (struct term_attach *t);
void term_attach_end (struct term_attach *t);
/* The pieces for a caller that relays a pty itself (the monitor of a foreground `run -t`):
 * our terminal in raw mode when stdin is one (true: *saved holds what to restore), the
 * window size of our terminal onto `master`, and a fd that turns readable on SIGWINCH
 * (-1 if none could be made; term_winch_end puts the default action back). */
bool term_raw_begin (struct termios *saved);
void term_raw_end (const struct termios *saved);
void term_copy_size (int master);
int term_winch_begin (void);
void term_winch_end (void);

/* Signals `run` and `exec` forward to the process they wait for: install the handlers, and
 * the callback core/ polls. */
void cli_forward_signals (void);
int cli_take_pending_signal (void);

/* ---- the user face (cli/user.c, cli/monitor.c) ---- */

/* Does this create/run command line ask for the OCI runtime (--bundle, --pid-file ...; or
 * runc's `run ID` in a bundle directory: one operand, ./config.json, and no such image)? */
bool cli_oci_form (int argc, char **argv);
/* A user container's name, id or id prefix -> its full id (65 bytes); false if none. */
bool cli_user_resolve (const char *ref, char *id);
const char *argv_current_option (void);

struct monitor_opts
{
  const char *id;
  bool detach, interactive, tty, auto_remove;
  bool remove_on_failure; /* run: a container that never ran leaves no record */
  bool loopback_up;       /* --network none: raise lo in the namespace the runtime made */
};
/* The focker command is the monitor: output on our terminal and in the log, signals and
 * stdin (-i) forwarded; returns the container's exit status (125 for our own errors, 126/127
 * when its command cannot be run). */
int monitor_foreground (const struct monitor_opts *o);
/* Fork a monitor that detaches; 0 once the container runs, else the exit status. */
int monitor_detached (const struct monitor_opts *o);

/* Open the image store (creating it), shared or exclusive; 1 with the error reported. */
struct store;
int cli_open_store (struct store **s, bool exclusive);
/* Rootless (g.rootless), refuse a command that unpacks or mounts an image (`cmd` names it):
 * 1 with one line reported, else 0. */
int cli_images_need_root (const char *cmd);
/* Receive one fd sent with SCM_RIGHTS on conn; -1 if none. */
int cli_recv_fd (int conn);

/* delete --force of the runtime container id, errors ignored (it may not exist) */
void cli_delete_quiet (const char *id);

int cmd_user_run (int argc, char **argv, bool start);
int cmd_user_ps (int argc, char **argv);
/* start: `attach` runs the monitor in the foreground (-a, -i); `stdin` (-i) passes our stdin
 * on to a container created with -i, as docker's start -ai does. */
int cmd_user_start (const char *id, bool attach, bool stdin_too);
int cmd_user_kill (const char *id, int sig);
int cmd_user_inspect (const char *id);
int cmd_stop (int argc, char **argv);
int cmd_rm (int argc, char **argv);
int cmd_logs (int argc, char **argv);
int cmd_wait (int argc, char **argv);
int cmd_exec (int argc, char **argv);
int cmd_create (int argc, char **argv);
int cmd_start (int argc, char **argv);
int cmd_run (int argc, char **argv);
int cmd_state (int argc, char **argv);
int cmd_kill (int argc, char **argv);
int cmd_delete (int argc, char **argv);
int cmd_list (int argc, char **argv);
int cmd_spec (int argc, char **argv);
int cmd_features (int argc, char **argv);
int cmd_unsupported (int argc, char **argv);
int cmd_pause (int argc, char **argv);
int cmd_resume (int argc, char **argv);
int cmd_update (int argc, char **argv);
int cmd_ps (int argc, char **argv);
int cmd_events (int argc, char **argv);
int cmd_check (int argc, char **argv);
int cmd_import (int argc, char **argv);
int cmd_images (int argc, char **argv);
int cmd_inspect (int argc, char **argv);
int cmd_rmi (int argc, char **argv);
int cmd_gc (int argc, char **argv);
int cmd_bundle (int argc, char **argv);
int cmd_unbundle (int argc, char **argv);
int cmd_image (int argc, char **argv);
int cmd_load (int argc, char **argv);
int cmd_save (int argc, char **argv);
int cmd_pull (int argc, char **argv);
int cmd_push (int argc, char **argv);
int cmd_network (int argc, char **argv);

#endif
