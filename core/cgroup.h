/* cgroup.h: the cgroup manager, one interface over cgroup v1, v2 and hybrid hosts.
 *
 * The host layout is found from cgroupfs itself (files, through the seam): /sys/fs/cgroup
 * holding cgroup.controllers is a v2 host; otherwise every directory under it holding
 * `tasks` is a v1 hierarchy and one holding cgroup.controllers (usually `unified`) makes the
 * host hybrid.  A container has one directory per hierarchy (struct cgroup); each
 * controller is driven where the host binds it: a v1 hierarchy when one carries it, else
 * the v2 directory when the controller is enabled there (cgroup_v1.c, cgroup_v2.c).
 *
 * Invariants: only directories this runtime created are removed (struct cgroup.created,
 * recorded in the state before they exist, so a create killed half-way can be cleaned by
 * `delete --force`); removal happens after every process in the cgroup is gone. */
#ifndef FOCKER_CGROUP_H
#define FOCKER_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/err.h"
#include "core/spec.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

enum cgroup_layout
{
  CGROUP_LAYOUT_NONE,
  CGROUP_LAYOUT_V1,
  CGROUP_LAYOUT_V2,
  CGROUP_LAYOUT_HYBRID,
};

/* One mounted hierarchy of the host. */
struct cgroup_hier
{
  char *mount; /* "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup" */
  char *ctls;  /* v1: "memory", "cpu,cpuacct", "name=systemd"; v2: "" */
  bool v2;
  char *v2_controllers; /* v2: the root's cgroup.controllers ("cpu memory ..."), else NULL */
};

struct cgroup_host
{
  enum cgroup_layout layout;
  struct cgroup_hier *h;
  size_t n;
};

/* Find the host's layout.  A host without any cgroup hierarchy gives CGROUP_LAYOUT_NONE. */
int cgroup_host_detect (struct cgroup_host **out, struct focker_err **err);
void cgroup_host_free (struct cgroup_host *h);
const char *cgroup_layout_name (enum cgroup_layout l);

/* A container's cgroup: one directory per hierarchy. */
struct cgroup_dir
{
  char *ctls;  /* as in struct cgroup_hier; "" for the v2 directory */
  char *mount; /* the hierarchy's mount point */
  char *path;  /* absolute, at or under mount */
};

struct cgroup
{
  struct cgroup_dir *dirs;
  size_t n;
  char **created; /* directories made by the runtime, parents first; NULL-terminated */
  size_t n_created;
};

/* Where the container goes: `cgroups_path` absolute (from each hierarchy's root), relative
 * (to the runtime's own cgroup, as runc), or NULL: the default, /focker/<id> (`id` not
 * starting with '/'), or `id` itself when it is an absolute path; the default's parent is
 * the runtime's own and is removed by the last container leaving it.  With
 * `systemd`, the path is the systemd form slice:prefix:name and needs a running systemd.
 * Pure except for reading /proc/self/cgroup and checking which directories exist. */
int cgroup_plan (struct cgroup **out, const struct cgroup_host *host, const char *cgroups_path,
                 const char *id, bool systemd, struct focker_err **err);

/* Make the directories (pushing their removal on `undo`), copy cpuset.cpus/mems into new
 * v1 cpuset levels, enable the v2 controllers the host offers in the ancestors. */
struct undo;
int cgroup_create (const struct cgroup *cg, struct undo *undo, struct focker_err **err);

/* Apply linux.resources, except the device rules (cgroup_apply_devices).  Errors name the
 * field and the file. */
int cgroup_apply (const struct cgroup *cg, const struct spec_resources *r, struct focker_err **err);

/* The device rules of a container, in order (the last matching rule wins): deny all,
 * r->devices (r may be NULL), the devices every container gets (null, zero, full, random,
 * urandom, tty, console, ptmx, pts, net/tun, and mknod of any), then rwm on each of `devs`
 * (linux.devices; fifos are left out).  The entries borrow r's strings.  *out is malloc'd;
 * returns the count. */
size_t cgroup_device_rules (struct spec_device_rule **out, const struct spec_resources *r,
                            const struct spec_device *devs, size_t n_devs);

/* Apply the device rules above: to the v1 devices cgroup when the host has one, else as a
 * BPF device program on the v2 directory; a host with neither is left alone (the container's
 * /dev still holds only the nodes its config lists). */
int cgroup_apply_devices (const struct cgroup *cg, const struct spec_resources *r,
                          const struct spec_device *devs, size_t n_devs, struct focker_err **err);

/* Test hook: use the BPF device program even where a v1 devices hierarchy exists (a hybrid
 * host's cgroup2 then carries the filter).  Set by cli/ from FOCKER_TEST_DEVICES_BPF=1 (see
 * CONTRIBUTING.md); never set in normal use. */
extern bool cgroup_devices_prefer_bpf;

/* Move `pid` into every directory but those `skip` names: CGROUP_SKIP_V2, the v2 one (the
 * process was cloned into it with CLONE_INTO_CGROUP); CGROUP_SKIP_V1, the v1 ones (it
 * placed itself there: cgroup_self_place). */
#define CGROUP_SKIP_V1 1u
#define CGROUP_SKIP_V2 2u
int cgroup_enter (const struct cgroup *cg, pid_t pid, unsigned skip, struct focker_err **err);

/* A process may place itself in its v1 cgroups: `cgroup_self_place_open` opens each v1
 * directory's `tasks` for writing (out[i] for dirs[i], -1 for the v2 one), and the process,
 * single-threaded, writes "0" to each (`cgroup_self_place`): the kernel moves the writing
 * thread alone without taking cgroup_threadgroup_rwsem for writing (Linux 6.0, and stable
 * kernels since 2022), so the move never waits for the RCU grace period that a first move by pid
 * after a quiet spell does (4-20 ms here).  The permission check is the opener's credentials, so
 * the fds may be opened by the runtime and written by its child in a new user namespace.
 * The writer's copies of the fds are closed by cgroup_self_place, whatever happens; the
 * opener's (and the array) by cgroup_self_place_close. */
int cgroup_self_place_open (const struct cgroup *cg, int **out, struct focker_err **err);
void cgroup_self_place_close (const struct cgroup *cg, int *fds);
int cgroup_self_place (const struct cgroup *cg, const int *fds, struct focker_err **err);

/* The v2 directory, or NULL. */
const char *cgroup_v2_dir (const struct cgroup *cg);

/* The pids in the cgroup (malloc'd array). */
int cgroup_pids (pid_t **out, size_t *n, const struct cgroup *cg, struct focker_err **err);

/* Signal every process in the cgroup; returns how many were signalled or a negative errno. */
int cgroup_signal_all (const struct cgroup *cg, int sig);

/* What the cgroup has used, as the "data" object of runc's `events` (cpu, memory, pids,
 * blkio; a json_t the caller owns).  Best effort: a figure the host lacks is left out. */
void *cgroup_stats (const struct cgroup *cg);

/* How many processes the kernel's OOM killer has killed in the cgroup so far (v2
 * memory.events, v1 memory.oom_control), or -1 when the host does not say. */
int64_t cgroup_oom_kills (const struct cgroup *cg);

/* Freeze (v1 freezer.state, v2 cgroup.freeze) and wait until frozen; or thaw. */
int cgroup_freeze (const struct cgroup *cg, bool freeze, struct focker_err **err);

/* Kill what is left, thaw, and remove the directories in cg->created, children first,
 * retrying while the kernel still reports them busy.  A missing directory is fine; an
 * ancestor still used by another cgroup is left in place. */
int cgroup_destroy (const struct cgroup *cg, struct focker_err **err);

/* The container's /sys/fs/cgroup at `target` (a path to an open directory, reopened through
 * `reopen`): cgroup2 on a v2 host; a tmpfs holding one mount per v1 hierarchy (plus
 * `unified` on hybrid hosts) elsewhere.  `flags` are the mount's MS_* flags.  Where a user
 * namespace may not mount a hierarchy, `self` (/proc/self/cgroup read before the cgroup
 * namespace, or NULL) gives the container's own directory to bind there instead.  With
 * `host_view` (the container shares the runtime's cgroup and user namespaces, and the
 * runtime is in the initial cgroup namespace), a hierarchy the runtime has mounted at its
 * root is bound from that mount: the same view as a new mount, without the kernel's
 * cgroup_mutex, which a cgroup move holds through its RCU grace period.  `host` is the
 * layout as the runtime found it before the clone (the init's mount namespace is a copy of
 * the runtime's, so it holds there too), or NULL to find it here. */
int cgroup_mount_container (const char *target, unsigned long flags,
                            int (*reopen) (void *ctx, char **target), void *ctx, const char *self,
                            bool host_view, const struct cgroup_host *host,
                            struct focker_err **err);

/* State: to and from the JSON object kept in state.json ("cgroup"). */
void *cgroup_to_json (const struct cgroup *cg);
int cgroup_from_json (struct cgroup **out, const void *json);
/* The intent: the dirs create is about to make, written before any is made, into the
 * container's lock file (core/state.h).  cgroup_write_intent writes it at `fd`'s offset, in
 * a new empty file.  A write of less than a page is not torn by SIGKILL; a longer one torn
 * by it, or a short one for want of space (an error here), leaves text that does not parse,
 * and only before any dir was made.  cgroup_read_intent reads it from `fd`'s offset:
 * -ENODATA for an empty file (no intent), -EINVAL for text that is not a whole intent
 * (nothing was made), another negative errno when it cannot be read. */
int cgroup_write_intent (int fd, const struct cgroup *cg, struct focker_err **err);
int cgroup_read_intent (struct cgroup **out, int fd);

void cgroup_free (struct cgroup *cg);

/* Conversions from v1 values to v2 files, as runc and crun make them. */
uint64_t cgroup_shares_to_weight (uint64_t shares);
uint64_t cgroup_blkio_to_io_weight (uint64_t weight);

static inline void
cleanup_cgroupp (struct cgroup **c)
{
  cgroup_free (*c);
}
#define _cleanup_cgroup_ __attribute__ ((cleanup (cleanup_cgroupp)))

static inline void
cleanup_cgroup_hostp (struct cgroup_host **h)
{
  cgroup_host_free (*h);
}
#define _cleanup_cgroup_host_ __attribute__ ((cleanup (cleanup_cgroup_hostp)))

#endif
