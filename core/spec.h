/* spec.h: the OCI runtime-spec config (config.json) as C structs.
 *
 * spec_parse() turns a JSON document into a struct spec, validating every field it knows
 * (types, ranges, enums, absolute paths) and naming the JSON path of the first bad field in
 * its error: `config.json: linux.namespaces[2].type: unknown namespace "nett"`.
 * Accepted ociVersion: 1.0.0 through 1.3.x (with -dev/-rc suffixes).
 *
 * Conventions: string arrays are NULL-terminated (char **, NULL when absent); every
 * "has_" flag says whether an optional scalar was present.  struct spec owns all memory;
 * spec_free() releases it.  The original document is kept in `json` (a jansson json_t *)
 * for fields passed through untouched (annotations order, unknown extensions). */
#ifndef FOCKER_SPEC_H
#define FOCKER_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/err.h"

struct spec_kv
{
  char *key;
  char *value;
};

struct spec_id_map
{
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
};

struct spec_rlimit
{
  int type; /* RLIMIT_NOFILE ... */
  uint64_t soft;
  uint64_t hard;
};

struct spec_hook
{
  char *path;
  char **args;
  char **env;
  int timeout; /* seconds; 0 = none */
};

enum spec_hook_kind
{
  SPEC_HOOK_PRESTART,
  SPEC_HOOK_CREATE_RUNTIME,
  SPEC_HOOK_CREATE_CONTAINER,
  SPEC_HOOK_START_CONTAINER,
  SPEC_HOOK_POSTSTART,
  SPEC_HOOK_POSTSTOP,
  SPEC_HOOK__COUNT
};

struct spec_capabilities
{
  /* capability names as written ("CAP_CHOWN"); validated against the known list */
  char **bounding, **effective, **inheritable, **permitted, **ambient;
};

struct spec_process
{
  bool terminal;
  bool has_console_size;
  unsigned console_height, console_width;
  uid_t uid;
  gid_t gid;
  bool has_umask;
  mode_t umask;
  gid_t *additional_gids;
  size_t n_additional_gids;
  char *username; /* process.user.username (windows field; kept, unused on linux) */
  char **args;    /* non-empty unless the spec is for exec with commandLine */
  char *command_line;
  char **env;
  char *cwd; /* absolute */
  bool has_capabilities;
  struct spec_capabilities caps;
  struct spec_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  char *apparmor_profile;
  bool has_oom_score_adj;
  int oom_score_adj;
  char *selinux_label;
  /* process.scheduler, ioPriority, execCPUAffinity: parsed for validity, applied later */
  bool has_io_priority;
  int io_priority_class; /* IOPRIO_CLASS_RT/BE/IDLE */
  int io_priority;
};

/* A mount as config.json gives it, with options already split into kernel terms. */
struct spec_mount
{
  char *destination; /* absolute in the container (relative accepted for 1.0 and made absolute) */
  char *type;        /* "bind", "proc", "tmpfs" ... ; NULL when absent (then bind if options say) */
  char *source;
  char **options; /* as written */
  /* derived from options: */
  unsigned long flags;       /* MS_RDONLY|MS_NOSUID|... to set */
  unsigned long clear_flags; /* flags named with their negation ("rw", "suid", "dev", "exec") */
  unsigned long propagation; /* MS_PRIVATE|MS_REC ... or 0 */
  bool bind;                 /* "bind" or "rbind" option, or type "bind" */
  bool recursive;            /* "rbind" */
  char *data;                /* the unrecognized options joined with ',' (mode=755,size=64k) */
  /* recursive attribute options ("rro", "rnosuid", "rnoatime" ...; runc 1.1 / crun): MS_* bits
   * to set / clear on the whole mount tree (mount_setattr with AT_RECURSIVE) */
  unsigned long rec_flags, rec_clear_flags;
  bool idmap;           /* "idmap" or "ridmap": idmapped mount */
  bool idmap_recursive; /* "ridmap" */
  bool tmpcopyup;       /* "tmpcopyup": recorded; focker does not copy up */
  struct spec_id_map *uid_mappings, *gid_mappings; /* idmapped mounts (1.1+) */
  size_t n_uid_mappings, n_gid_mappings;
};

struct spec_namespace
{
  int type;   /* CLONE_NEWNS, CLONE_NEWPID, ... CLONE_NEWTIME */
  char *path; /* join this namespace instead of creating one; NULL = new */
};

struct spec_device
{
  char *path; /* absolute in the container */
  char type;  /* 'c', 'b', 'u', 'p' */
  int64_t major, minor;
  bool has_file_mode;
  mode_t file_mode;
  bool has_uid, has_gid;
  uid_t uid;
  gid_t gid;
};

struct spec_device_rule /* linux.resources.devices[] */
{
  bool allow;
  char type;            /* 'a', 'c', 'b' (0 when absent = 'a') */
  int64_t major, minor; /* -1 = wildcard */
  char *access;         /* "rwm" subset */
};

struct spec_throttle
{
  int64_t major, minor;
  uint64_t rate;
};

struct spec_weight_device
{
  int64_t major, minor;
  bool has_weight, has_leaf_weight;
  uint16_t weight, leaf_weight;
};

struct spec_hugepage
{
  char *page_size;
  uint64_t limit;
};

struct spec_rdma /* linux.resources.rdma.<device> */
{
  char *device;
  bool has_hca_handles, has_hca_objects;
  uint32_t hca_handles, hca_objects;
};

struct spec_resources
{
  struct spec_device_rule *devices;
  size_t n_devices;
  /* memory: every value present only when its has_ flag is set; -1 means unlimited */
  bool has_memory_limit, has_memory_reservation, has_memory_swap, has_memory_kernel,
      has_memory_kernel_tcp, has_memory_swappiness, has_disable_oom_killer, has_use_hierarchy,
      has_check_before_update;
  int64_t memory_limit, memory_reservation, memory_swap, memory_kernel, memory_kernel_tcp;
  uint64_t memory_swappiness;
  bool disable_oom_killer, use_hierarchy, check_before_update;
  /* cpu */
  bool has_cpu_shares, has_cpu_quota, has_cpu_burst, has_cpu_period, has_cpu_rt_runtime,
      has_cpu_rt_period, has_cpu_idle;
  uint64_t cpu_shares, cpu_period, cpu_rt_period, cpu_burst;
  int64_t cpu_quota, cpu_rt_runtime, cpu_idle;
  char *cpu_cpus, *cpu_mems;
  /* pids */
  bool has_pids_limit;
  int64_t pids_limit;
  /* blockIO */
  bool has_blkio_weight, has_blkio_leaf_weight;
  uint16_t blkio_weight, blkio_leaf_weight;
  struct spec_weight_device *blkio_weight_devices;
  size_t n_blkio_weight_devices;
  struct spec_throttle *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
      *throttle_write_iops;
  size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
  /* hugepages, network, rdma, unified */
  struct spec_hugepage *hugepage_limits;
  size_t n_hugepage_limits;
  bool has_net_class_id;
  uint32_t net_class_id;
  struct spec_kv *net_priorities; /* value = priority as decimal text */
  size_t n_net_priorities;
  struct spec_rdma *rdma;
  size_t n_rdma;
  struct spec_kv *unified; /* raw cgroup v2 file -> value */
  size_t n_unified;
};

/* linux.seccomp, validated; compiled by core/seccomp.c (issue: confinement). */
struct spec_seccomp_arg
{
  unsigned index;
  uint64_t value, value_two;
  int op; /* SCMP_CMP_* as libseccomp numbers them: NE=1, LT, LE, EQ, GE, GT, MASKED_EQ=7 */
};

struct spec_seccomp_rule
{
  char **names;
  char *action; /* "SCMP_ACT_ALLOW" ... validated */
  bool has_errno_ret;
  unsigned errno_ret;
  struct spec_seccomp_arg *args;
  size_t n_args;
};

struct spec_seccomp
{
  char *default_action;
  bool has_default_errno_ret;
  unsigned default_errno_ret;
  char **architectures;
  char **flags;
  char *listener_path;
  char *listener_metadata;
  struct spec_seccomp_rule *syscalls;
  size_t n_syscalls;
};

struct spec_linux
{
  struct spec_namespace *namespaces;
  size_t n_namespaces;
  struct spec_id_map *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  struct spec_kv *sysctl;
  size_t n_sysctl;
  struct spec_device *devices;
  size_t n_devices;
  char *cgroups_path;
  bool has_resources;
  struct spec_resources resources;
  char *rootfs_propagation;               /* "private", "rslave" ... validated */
  unsigned long rootfs_propagation_flags; /* MS_PRIVATE|MS_REC ... or 0 */
  char **masked_paths;
  char **readonly_paths;
  char *mount_label;
  bool has_seccomp;
  struct spec_seccomp seccomp;
  bool has_personality;
  char *personality_domain; /* "LINUX" or "LINUX32" */
  char **personality_flags;
  /* linux.timeOffsets */
  bool has_time_offsets;
  int64_t monotonic_secs, boottime_secs;
  uint32_t monotonic_nanosecs, boottime_nanosecs;
  char *intel_rdt_clos_id;
};

struct spec
{
  char *oci_version;
  struct spec_process *process; /* NULL when absent (allowed for create only if hooks-only) */
  char *root_path;              /* as written: relative paths are relative to the bundle */
  bool root_readonly;
  char *hostname;
  char *domainname;
  struct spec_mount *mounts;
  size_t n_mounts;
  struct spec_hook *hooks[SPEC_HOOK__COUNT];
  size_t n_hooks[SPEC_HOOK__COUNT];
  struct spec_kv *annotations;
  size_t n_annotations;
  bool has_linux;
  struct spec_linux linux_;
  void *json; /* json_t * of the whole document */
};

/* Parse and validate a config.json document held in memory.  `name` prefixes errors
 * ("config.json").  Returns 0 and *out, or a negative errno and *err. */
int spec_parse (struct spec **out, const char *text, size_t len, const char *name,
                struct focker_err **err);

/* Read `path` through the seam (relative to dirfd, AT_FDCWD allowed) and spec_parse() it;
 * the error names the file. */
int spec_load (struct spec **out, int dirfd, const char *path, struct focker_err **err);

/* Parse a process object alone (exec --process FILE). */
int spec_parse_process (struct spec_process **out, const char *text, size_t len, const char *name,
                        struct focker_err **err);

/* Parse a linux.resources object alone (update --resources FILE). */
int spec_parse_resources_doc (struct spec_resources **out, const char *text, size_t len,
                              const char *name, struct focker_err **err);

void spec_free (struct spec *s);

/* Deep copies: the process object, and a spec holding only the hooks of one kind (free both
 * with spec_process_free / spec_free). */
struct spec_process *spec_process_dup (const struct spec_process *p);
struct spec *spec_hooks_dup (const struct spec *s, enum spec_hook_kind kind);
void spec_process_free (struct spec_process *p);
void spec_resources_free (struct spec_resources *r);

/* The default config.json `focker spec` writes (like `crun spec`), rootless variant when
 * `rootless`.  Returns a newly allocated, pretty-printed JSON text.  The rootless variant
 * maps container root to host uid/gid 1000; cli/ should call spec_default_json_ids() with
 * the caller's real ids (core/ does not ask the kernel who is calling). */
char *spec_default_json (bool rootless);

/* Same, with the host ids the rootless variant maps container uid/gid 0 to (size 1, like
 * `runc spec --rootless`).  The ids are ignored when !rootless. */
char *spec_default_json_ids (bool rootless, uid_t host_uid, gid_t host_gid);

/* Namespace type name <-> CLONE_NEW* flag: "mount" <-> CLONE_NEWNS ... ; -1 / NULL if unknown. */
int spec_namespace_from_name (const char *name);
const char *spec_namespace_name (int clone_flag);

/* RLIMIT_NOFILE <-> "RLIMIT_NOFILE"; -1 / NULL if unknown. */
int spec_rlimit_from_name (const char *name);

/* Capability name <-> number: "CAP_CHOWN" <-> 0 ... "CAP_CHECKPOINT_RESTORE" <-> 40
 * (SPEC_CAP_LAST); -1 / NULL if unknown.  Names are exact (upper case, with CAP_). */
#define SPEC_CAP_LAST 40
int spec_cap_from_name (const char *name);
const char *spec_cap_name (int cap);

/* Cleanup helper. */
static inline void
cleanup_specp (struct spec **s)
{
  spec_free (*s);
}
#define _cleanup_spec_ __attribute__ ((cleanup (cleanup_specp)))

#endif
