/* cgroup_internal.h: what cgroup.c shares with the v1 and v2 writers (cgroup_v1.c,
 * cgroup_v2.c).  Every cgroupfs access is a file access through the seam. */
#ifndef FOCKER_CGROUP_INTERNAL_H
#define FOCKER_CGROUP_INTERNAL_H

#include <stddef.h>
#include "core/cgroup.h"

/* Write `value` to dir/file; 0 or a negative errno. */
int cg_write (const char *dir, const char *file, const char *value);

/* Read dir/file whole (malloc'd, NUL-terminated). */
int cg_read (char **out, const char *dir, const char *file);

bool cg_exists (const char *dir, const char *file);

/* Write for a config field: the error names the field, the file and the value; a missing
 * file says the host cannot apply the field. */
int cg_set (const char *dir, const char *file, const char *value, const char *field,
            struct focker_err **err);

/* One scalar of linux.resources written to one control file when its has_ flag is set. */
enum cg_fmt
{
  CG_I64,  /* int64_t, as is */
  CG_U64,  /* uint64_t, as is */
  CG_MAX,  /* int64_t, "max" when negative (v2's unlimited) */
  CG_BOOL, /* bool, "1" or "0" */
};
struct cg_field
{
  size_t has;   /* offsetof (struct spec_resources, has_<x>) */
  size_t value; /* offsetof (struct spec_resources, <x>) */
  enum cg_fmt fmt;
  const char *file;  /* the control file */
  const char *field; /* the OCI name under linux.resources, for errors */
  bool if_exists;    /* written only where the file exists (deprecated knobs) */
};
#define CG_FIELD(x, fmt, file, field, if_exists)                                                   \
  {                                                                                                \
    offsetof (struct spec_resources, has_##x), offsetof (struct spec_resources, x), fmt, file,     \
        field, if_exists                                                                           \
  }
#define CG_LEN(table) (sizeof (table) / sizeof *(table))

/* The fields of `f[0..n)` that `r` sets, written in table order (cg_set); the first error. */
int cg_set_fields (const char *dir, const struct spec_resources *r, const struct cg_field *f,
                   size_t n, struct focker_err **err);

/* Is `word` one of the separated words of `list` (separators: space, comma, newline)? */
bool cg_word_in (const char *word, const char *list);

/* Per-controller writers.  `dir` is the container's directory in the hierarchy that carries
 * the controller. */
/* The same files on v1 and v2: cpuset.cpus and cpuset.mems; hugetlb.<size>.<suffix>
 * ("limit_in_bytes" on v1, "max" on v2). */
int cgroup_cpuset (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_hugetlb (const char *dir, const struct spec_resources *r, const char *suffix,
                    struct focker_err **err);
int cgroup_v1_memory (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v1_cpu (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v1_blkio (const char *dir, const struct spec_resources *r, struct focker_err **err);
/* The device rules (cgroup_device_rules) to the v1 devices cgroup, in order. */
int cgroup_v1_devices (const char *dir, const struct spec_device_rule *rules, size_t n,
                       struct focker_err **err);
int cgroup_v1_net (const char *cls_dir, const char *prio_dir, const struct spec_resources *r,
                   struct focker_err **err);
int cgroup_v1_freeze (const char *dir, bool freeze, struct focker_err **err);

int cgroup_v2_memory (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v2_cpu (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v2_io (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v2_unified (const char *dir, const char *controllers, const struct spec_resources *r,
                       struct focker_err **err);
int cgroup_v2_freeze (const char *dir, bool freeze, struct focker_err **err);
/* The device rules as a BPF device program attached to `dir`, replacing those attached
 * before. */
int cgroup_v2_devices (const char *dir, const struct spec_device_rule *rules, size_t n,
                       struct focker_err **err);

/* Shared by both: pids.max; rdma.max (one "DEVICE hca_handle=N hca_object=N" line per
 * device, with only the limits given). */
int cgroup_pids_limit (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_rdma_limit (const char *dir, const struct spec_resources *r, struct focker_err **err);

/* Sleep `ms` milliseconds through the seam. */
void cg_sleep_ms (int ms);

#endif
