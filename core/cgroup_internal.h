/* cgroup_internal.h: what cgroup.c shares with the v1 and v2 writers (cgroup_v1.c,
 * cgroup_v2.c).  Every cgroupfs access is a file access through the seam. */
#ifndef FOCKER_CGROUP_INTERNAL_H
#define FOCKER_CGROUP_INTERNAL_H

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

/* Is `word` one of the separated words of `list` (separators: space, comma, newline)? */
bool cg_word_in (const char *word, const char *list);

/* Per-controller writers.  `dir` is the container's directory in the hierarchy that carries
 * the controller. */
int cgroup_v1_memory (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v1_cpu (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v1_cpuset (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v1_blkio (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v1_hugetlb (const char *dir, const struct spec_resources *r, struct focker_err **err);
/* The device rules (cgroup_device_rules) to the v1 devices cgroup, in order. */
int cgroup_v1_devices (const char *dir, const struct spec_device_rule *rules, size_t n,
                       struct focker_err **err);
int cgroup_v1_net (const char *cls_dir, const char *prio_dir, const struct spec_resources *r,
                   struct focker_err **err);
int cgroup_v1_freeze (const char *dir, bool freeze, struct focker_err **err);

int cgroup_v2_memory (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v2_cpu (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v2_cpuset (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v2_io (const char *dir, const struct spec_resources *r, struct focker_err **err);
int cgroup_v2_hugetlb (const char *dir, const struct spec_resources *r, struct focker_err **err);
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
