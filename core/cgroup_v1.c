/* cgroup_v1.c: linux.resources written to cgroup v1 controllers (one hierarchy each).
 *
 * The OCI fields are v1's own units, so values go through unchanged; the order of memory
 * writes respects the kernel's rule that memsw >= limit at all times. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "core/cgroup_internal.h"
#include "core/cleanup.h"

static void
i64 (char *buf, size_t n, int64_t v)
{
  snprintf (buf, n, "%" PRId64, v);
}

/* The memory files after memory.limit and memsw (whose order depends on the values). */
static const struct cg_field v1_memory[] = {
  CG_FIELD (memory_reservation, CG_I64, "memory.soft_limit_in_bytes", "memory.reservation", false),
  /* kernel memory limits are gone from recent kernels (5.16 refuses, 6.x has no file):
   * deprecated in the runtime-spec, applied only where the file exists */
  CG_FIELD (memory_kernel, CG_I64, "memory.kmem.limit_in_bytes", "memory.kernel", true),
  CG_FIELD (memory_kernel_tcp, CG_I64, "memory.kmem.tcp.limit_in_bytes", "memory.kernelTCP", true),
  CG_FIELD (memory_swappiness, CG_U64, "memory.swappiness", "memory.swappiness", false),
  CG_FIELD (disable_oom_killer, CG_BOOL, "memory.oom_control", "memory.disableOOMKiller", false),
  CG_FIELD (use_hierarchy, CG_BOOL, "memory.use_hierarchy", "memory.useHierarchy", false),
};

/* memory.limit or memsw when only one of them is set. */
static const struct cg_field v1_limit_or_swap[] = {
  CG_FIELD (memory_limit, CG_I64, "memory.limit_in_bytes", "memory.limit", false),
  CG_FIELD (memory_swap, CG_I64, "memory.memsw.limit_in_bytes", "memory.swap", false),
};

int
cgroup_v1_memory (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  int rc;

  if (r->has_memory_limit && r->has_memory_swap)
    {
      /* memsw must stay >= limit: raising both, memsw goes first; lowering, limit first */
      char l[32], s[32];
      i64 (l, sizeof l, r->memory_limit);
      i64 (s, sizeof s, r->memory_swap);
      if (cg_write (dir, "memory.memsw.limit_in_bytes", s) == 0)
        rc = cg_set (dir, "memory.limit_in_bytes", l, "memory.limit", err);
      else
        {
          rc = cg_set (dir, "memory.limit_in_bytes", l, "memory.limit", err);
          if (rc == 0)
            rc = cg_set (dir, "memory.memsw.limit_in_bytes", s, "memory.swap", err);
        }
      if (rc < 0)
        return rc;
    }
  else if ((rc = cg_set_fields (dir, r, v1_limit_or_swap, CG_LEN (v1_limit_or_swap), err)) < 0)
    return rc; /* one of the two at most: no order to keep */
  return cg_set_fields (dir, r, v1_memory, CG_LEN (v1_memory), err);
}

/* In this order: the period before the quota, because the kernel checks a quota against the
 * current period (and the rt runtime against the rt period). */
static const struct cg_field v1_cpu[] = {
  CG_FIELD (cpu_shares, CG_U64, "cpu.shares", "cpu.shares", false),
  CG_FIELD (cpu_period, CG_U64, "cpu.cfs_period_us", "cpu.period", false),
  CG_FIELD (cpu_quota, CG_I64, "cpu.cfs_quota_us", "cpu.quota", false),
  CG_FIELD (cpu_burst, CG_U64, "cpu.cfs_burst_us", "cpu.burst", false),
  CG_FIELD (cpu_rt_period, CG_U64, "cpu.rt_period_us", "cpu.realtimePeriod", false),
  CG_FIELD (cpu_rt_runtime, CG_I64, "cpu.rt_runtime_us", "cpu.realtimeRuntime", false),
  CG_FIELD (cpu_idle, CG_I64, "cpu.idle", "cpu.idle", false),
};

int
cgroup_v1_cpu (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  return cg_set_fields (dir, r, v1_cpu, CG_LEN (v1_cpu), err);
}

int
cgroup_cpuset (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  int rc;

  if (r->cpu_cpus && (rc = cg_set (dir, "cpuset.cpus", r->cpu_cpus, "cpu.cpus", err)) < 0)
    return rc;
  if (r->cpu_mems && (rc = cg_set (dir, "cpuset.mems", r->cpu_mems, "cpu.mems", err)) < 0)
    return rc;
  return 0;
}

int
cgroup_pids_limit (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  char v[32];

  /* runc: a limit <= 0 means unlimited */
  if (r->pids_limit <= 0)
    snprintf (v, sizeof v, "max");
  else
    i64 (v, sizeof v, r->pids_limit);
  return cg_set (dir, "pids.max", v, "pids.limit", err);
}

int
cgroup_rdma_limit (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  for (size_t i = 0; i < r->n_rdma; i++)
    {
      const struct spec_rdma *d = &r->rdma[i];
      _cleanup_free_ char *field = xasprintf ("rdma.%s", d->device);
      char v[160];
      int rc, n = snprintf (v, sizeof v, "%s", d->device);
      if (!d->has_hca_handles && !d->has_hca_objects)
        continue;
      if (d->has_hca_handles)
        n += snprintf (v + n, sizeof v - (size_t)n, " hca_handle=%" PRIu32, d->hca_handles);
      if (d->has_hca_objects)
        snprintf (v + n, sizeof v - (size_t)n, " hca_object=%" PRIu32, d->hca_objects);
      if ((rc = cg_set (dir, "rdma.max", v, field, err)) < 0)
        return rc;
    }
  return 0;
}

static int
throttle (const char *dir, const char *file, const char *field, const struct spec_throttle *t,
          size_t n, struct focker_err **err)
{
  for (size_t i = 0; i < n; i++)
    {
      char v[96];
      int rc;
      snprintf (v, sizeof v, "%" PRId64 ":%" PRId64 " %" PRIu64, t[i].major, t[i].minor, t[i].rate);
      if ((rc = cg_set (dir, file, v, field, err)) < 0)
        return rc;
    }
  return 0;
}

int
cgroup_v1_blkio (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  char v[96];
  int rc;

  if (r->has_blkio_weight)
    {
      /* CFQ's blkio.weight, or BFQ's file on kernels without CFQ */
      const char *f = cg_exists (dir, "blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
      snprintf (v, sizeof v, "%u", (unsigned)r->blkio_weight);
      if ((rc = cg_set (dir, f, v, "blockIO.weight", err)) < 0)
        return rc;
    }
  if (r->has_blkio_leaf_weight)
    {
      snprintf (v, sizeof v, "%u", (unsigned)r->blkio_leaf_weight);
      if ((rc = cg_set (dir, "blkio.leaf_weight", v, "blockIO.leafWeight", err)) < 0)
        return rc;
    }
  for (size_t i = 0; i < r->n_blkio_weight_devices; i++)
    {
      const struct spec_weight_device *w = &r->blkio_weight_devices[i];
      const char *f = cg_exists (dir, "blkio.weight_device") ? "blkio.weight_device"
                                                             : "blkio.bfq.weight_device";
      if (w->has_weight)
        {
          snprintf (v, sizeof v, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
                    (unsigned)w->weight);
          if ((rc = cg_set (dir, f, v, "blockIO.weightDevice", err)) < 0)
            return rc;
        }
      if (w->has_leaf_weight)
        {
          snprintf (v, sizeof v, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
                    (unsigned)w->leaf_weight);
          if ((rc = cg_set (dir, "blkio.leaf_weight_device", v, "blockIO.weightDevice", err)) < 0)
            return rc;
        }
    }
  if ((rc = throttle (dir, "blkio.throttle.read_bps_device", "blockIO.throttleReadBpsDevice",
                      r->throttle_read_bps, r->n_throttle_read_bps, err))
          < 0
      || (rc = throttle (dir, "blkio.throttle.write_bps_device", "blockIO.throttleWriteBpsDevice",
                         r->throttle_write_bps, r->n_throttle_write_bps, err))
             < 0
      || (rc = throttle (dir, "blkio.throttle.read_iops_device", "blockIO.throttleReadIOPSDevice",
                         r->throttle_read_iops, r->n_throttle_read_iops, err))
             < 0
      || (rc = throttle (dir, "blkio.throttle.write_iops_device", "blockIO.throttleWriteIOPSDevice",
                         r->throttle_write_iops, r->n_throttle_write_iops, err))
             < 0)
    return rc;
  return 0;
}

int
cgroup_hugetlb (const char *dir, const struct spec_resources *r, const char *suffix,
                struct focker_err **err)
{
  for (size_t i = 0; i < r->n_hugepage_limits; i++)
    {
      _cleanup_free_ char *f = xasprintf ("hugetlb.%s.%s", r->hugepage_limits[i].page_size, suffix);
      char v[32];
      int rc;
      snprintf (v, sizeof v, "%" PRIu64, r->hugepage_limits[i].limit);
      if ((rc = cg_set (dir, f, v, "hugepageLimits", err)) < 0)
        return rc;
    }
  return 0;
}

int
cgroup_v1_net (const char *cls_dir, const char *prio_dir, const struct spec_resources *r,
               struct focker_err **err)
{
  int rc;

  if (r->has_net_class_id)
    {
      char v[32];
      if (cls_dir == NULL)
        return focker_fail (err, -EOPNOTSUPP,
                            "linux.resources.network.classID: this host has no net_cls v1 "
                            "hierarchy");
      snprintf (v, sizeof v, "%u", (unsigned)r->net_class_id);
      if ((rc = cg_set (cls_dir, "net_cls.classid", v, "network.classID", err)) < 0)
        return rc;
    }
  for (size_t i = 0; i < r->n_net_priorities; i++)
    {
      _cleanup_free_ char *v = NULL;
      if (prio_dir == NULL)
        return focker_fail (err, -EOPNOTSUPP,
                            "linux.resources.network.priorities: this host has no net_prio v1 "
                            "hierarchy");
      v = xasprintf ("%s %s", r->net_priorities[i].key, r->net_priorities[i].value);
      if ((rc = cg_set (prio_dir, "net_prio.ifpriomap", v, "network.priorities", err)) < 0)
        return rc;
    }
  return 0;
}

int
cgroup_v1_freeze (const char *dir, bool freeze, struct focker_err **err)
{
  const char *want = freeze ? "FROZEN" : "THAWED";
  int r;

  for (int i = 0; i < 1000; i++)
    {
      _cleanup_free_ char *now = NULL;
      /* FREEZING means in progress; writing FROZEN again retries tasks that were busy */
      r = cg_write (dir, "freezer.state", want);
      if (r < 0)
        return focker_fail (err, r, "cgroup: write %s to %s/freezer.state", want, dir);
      r = cg_read (&now, dir, "freezer.state");
      if (r < 0)
        return focker_fail (err, r, "cgroup: read %s/freezer.state", dir);
      if (strncmp (now, want, strlen (want)) == 0)
        return 0;
      cg_sleep_ms (i < 10 ? 1 : 10);
    }
  return focker_fail (err, -ETIMEDOUT, "cgroup: %s did not become %s", dir, want);
}
