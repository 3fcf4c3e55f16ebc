/* ctr.h: containers as users see them (`focker run IMAGE`, ps, rm, logs, inspect ...).
 *
 * A user container IS a runtime container: its runtime id is the record's 64-hex id, under the
 * same --root, so kill, exec, pause, state and delete mean the same on both faces.  Around it,
 * the record in the image store:
 *
 *   <storage-root>/containers/<id>/container.json   what the user asked (docker-like: Id,
 *                                                    Name, Created, Config, HostConfig ...)
 *   <storage-root>/containers/<id>/state.json       the monitor's record: Status, Pid,
 *                                                    ExitCode, StartedAt, FinishedAt,
 *                                                    MonitorPid, MonitorStartTime (its
 *                                                    /proc/PID/stat start time; written
 *                                                    atomically)
 *   <storage-root>/containers/<id>/bundle/          the OCI bundle (overlay rootfs, config.json)
 *   <storage-root>/containers/<id>/log.json         json-lines: {"log","stream","time"}
 *   <storage-root>/containers/<id>/{hosts,resolv.conf,hostname}   bound into the container
 *   <storage-root>/containers/names/<name>          the id; created O_EXCL under
 *                                                    locks/containers, so a name is unique
 *
 * container.json is written before the bundle is made and the names file before that, so a
 * crash at any point leaves something `rm -f` can find and remove. */
#ifndef FOCKER_CTR_H
#define FOCKER_CTR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/err.h"
#include "core/store.h"

#define CTR_ID_LEN 64
#define CTR_SHORT_LEN 12

/* What `focker run/create` was asked, parsed from the command line. */
struct ctr_opts
{
  const char *id; /* 64 hex, made by the caller */
  const char *name;
  const char *image;
  char **cmd;             /* NULL: the image's Cmd */
  const char *entrypoint; /* NULL: the image's; "" clears it */
  char **env;             /* K=V */
  char **volumes;         /* -v SRC:DST[:ro] */
  char **mounts;          /* --mount type=...,... */
  char **cap_add, **cap_drop;
  char **security_opt;
  const char *workdir, *user, *hostname;
  const char *network;         /* "bridge" (the CLI's default as root), "none", "host" */
  char **publish;              /* -p [IP:]HOST:CTR[/tcp|udp], bridge only */
  const char *run_root;        /* the runtime's --root: bridge netns files live under it */
  const char *seccomp_profile; /* text of --security-opt seccomp=FILE, read by the caller */
  int64_t memory;              /* bytes, 0: none */
  int64_t cpu_quota;           /* per 100000 us period, 0: none */
  int64_t pids_limit;          /* 0: none */
  bool read_only, tty, interactive, auto_remove;
};

/* Parse "256m", "1g", "512k", "100b", "1024" (bytes) into bytes; -EINVAL on anything else. */
int ctr_parse_size (const char *s, int64_t *out);
/* Parse "1.5" cpus into a CFS quota per 100 ms period (150000); at least 0.01. */
int ctr_parse_cpus (const char *s, int64_t *quota);

/* config.json (a json_t *) edited for o: mounts (-v, --mount, the network files under dir),
 * resources, capabilities, security options, read-only root, hostname, terminal, network
 * namespace (netns_path: join it, NULL: a new one, host: none). */
int ctr_config_apply (void *spec, const struct ctr_opts *o, const char *dir, const char *netns_path,
                      bool host_network, struct focker_err **err);
/* The image config keys o replaces (User, WorkingDir, Env, Entrypoint, Cmd): a json_t *. */
void *ctr_config_override (const struct ctr_opts *o);

/* Make the record and its bundle: names file, container.json, bundle with config.json edited,
 * network files.  On failure nothing is left.  -EEXIST "name N is already in use by
 * container ID", -ENOENT for a missing image. */
int ctr_create (struct store *s, const struct ctr_opts *o, struct focker_err **err);

/* Remove everything of container id: the runtime container (killed first with `force`, else
 * a running one is -EBUSY), the network, the bundle and its mount, the name, the record.
 * runtime_root: the --root of the runtime. */
int ctr_remove (struct store *s, const char *runtime_root, const char *id, bool force,
                struct focker_err **err);

/* Before a start: a bridge container whose network namespace is gone (a reboot emptied the
 * runtime root) is attached again with its recorded ports and hostname, and container.json
 * gets the new NetworkSettings (the address may differ).  0 when there is nothing to do;
 * on failure nothing new is left (-EADDRINUSE: another container took a port meanwhile). */
int ctr_net_restore (struct store *s, const char *run_root, const char *id,
                     struct focker_err **err);

/* A name, a full id or a unique id prefix -> the full id.  -ENOENT "no such container: X",
 * -EINVAL when a prefix is ambiguous. */
int ctr_resolve (struct store *s, const char *ref, char id[CTR_ID_LEN + 1],
                 struct focker_err **err);

/* Every record's id (strv). */
int ctr_list_ids (char ***out, struct store *s, struct focker_err **err);

/* "<root>/containers/<id>" (malloc'd). */
char *ctr_dir (struct store *s, const char *id);

/* Read container.json / state.json of id (json_t *; state.json may be absent: an empty
 * object, status "created"). */
int ctr_read_config (void **out, struct store *s, const char *id, struct focker_err **err);
int ctr_read_state (void **out, struct store *s, const char *id, struct focker_err **err);
/* Merge fields into state.json (atomically). */
int ctr_update_state (struct store *s, const char *id, void *fields, struct focker_err **err);

/* ---- status as users see it (ps, inspect, wait) ---- */

enum ctr_status
{
  CTR_CREATED,
  CTR_RUNNING,
  CTR_EXITED,
  CTR_UNKNOWN, /* the monitor died: the runtime container may still run, or be gone */
};

struct ctr_view
{
  enum ctr_status status;
  int exit_code;             /* CTR_EXITED; -1 unknown */
  int64_t started, finished; /* unix seconds, 0 when never */
  long pid;
};

/* Is the monitor state.json names (MonitorPid) still that process: there, not a zombie,
 * and with the start time it recorded (MonitorStartTime), so a process that took a dead
 * monitor's pid is not believed.  A record of an older focker has no start time: the pid
 * alone is believed then. */
bool ctr_monitor_alive (void *state);
/* The fields a monitor records about itself, `pid` (MonitorPid, MonitorStartTime): a json_t
 * object for ctr_update_state. */
void *ctr_monitor_fields (pid_t pid);

/* The status of a record: state.json, checked against the monitor and runtime liveness
 * (monitor_alive: is its monitor process still there; runtime_running: does the runtime
 * container run). */
void ctr_view_from (struct ctr_view *v, void *state, bool monitor_alive, bool runtime_running);
/* "Up 5 seconds", "Exited (3) 2 minutes ago", "Created", "Exited (unknown)" at time now. */
char *ctr_status_text (const struct ctr_view *v, int64_t now);
/* "5 seconds", "2 minutes", "3 hours", "4 days" */
char *ctr_human_duration (int64_t seconds);
/* Parse RFC 3339 UTC (our own timestamps) to unix seconds; 0 if it does not parse. */
int64_t ctr_parse_time (const char *s);

/* ---- logs (json-lines as docker's json-file driver) ---- */

/* One log line: {"log":"<text>","stream":"stdout|stderr","time":"<RFC 3339 nano>"}\n
 * (malloc'd). */
char *ctr_log_line (const char *stream, const char *data, size_t len, const char *time);
/* Parse one: stream, time and text (pointers into a malloc'd copy returned as *keep). */
int ctr_log_parse (const char *line, char **stream, char **time, char **text);

#endif
