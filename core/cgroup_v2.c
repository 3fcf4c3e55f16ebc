/* cgroup_v2.c: linux.resources written to the cgroup v2 directory.
 *
 * The OCI fields are v1 units; they are converted as runc and crun do: cpu.shares to
 * cpu.weight, blkio weights to io.weight, memory.swap (memory+swap in v1) to memory.swap.max
 * (swap alone), quota/period to cpu.max.  A v1-only field with no v2 equivalent is an error
 * naming it, unless it asks for the default. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "core/cgroup_internal.h"
#include "core/cleanup.h"

static void
limit_text (char *buf, size_t n, int64_t v)
{
  if (v < 0)
    snprintf (buf, n, "max");
  else
    snprintf (buf, n, "%" PRId64, v);
}

static int
v1_only (const char *field, struct focker_err **err)
{
  return focker_fail (err, -EOPNOTSUPP,
                      "linux.resources.%s: cgroup v2 has no equivalent on this host", field);
}

/* Written around memory.swap.max, whose value is checked against the limit first. */
static const struct cg_field v2_memory_max
    = CG_FIELD (memory_limit, CG_MAX, "memory.max", "memory.limit", false);
static const struct cg_field v2_memory_low
    = CG_FIELD (memory_reservation, CG_MAX, "memory.low", "memory.reservation", false);

int
cgroup_v2_memory (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  char v[32];
  int rc;

  if ((rc = cg_set_fields (dir, r, &v2_memory_max, 1, err)) < 0)
    return rc;
  if (r->has_memory_swap)
    {
      /* v1's memsw is memory+swap; v2's swap.max is swap alone */
      int64_t swap = r->memory_swap;
      if (swap > 0)
        {
          if (!r->has_memory_limit || r->memory_limit < 0)
            return focker_fail (err, -EINVAL,
                                "linux.resources.memory.swap: needs memory.limit on cgroup v2");
          if (swap < r->memory_limit)
            return focker_fail (err, -EINVAL,
                                "linux.resources.memory.swap: %" PRId64
                                " is below memory.limit %" PRId64,
                                swap, r->memory_limit);
          swap -= r->memory_limit;
        }
      limit_text (v, sizeof v, swap);
      if ((rc = cg_set (dir, "memory.swap.max", v, "memory.swap", err)) < 0)
        return rc;
    }
  if ((rc = cg_set_fields (dir, r, &v2_memory_low, 1, err)) < 0)
    return rc;
  if (r->has_memory_swappiness && r->memory_swappiness != (uint64_t)-1)
    return v1_only ("memory.swappiness", err);
  if (r->has_disable_oom_killer && r->disable_oom_killer)
    return v1_only ("memory.disableOOMKiller", err);
  /* kernel, kernelTCP: deprecated, no v2 file (accounted with the rest of the memory);
   * useHierarchy: v2 is always hierarchical */
  return 0;
}

/* After cpu.weight and cpu.max (written from converted and combined fields). */
static const struct cg_field v2_cpu[] = {
  CG_FIELD (cpu_burst, CG_U64, "cpu.max.burst", "cpu.burst", false),
  CG_FIELD (cpu_idle, CG_I64, "cpu.idle", "cpu.idle", false),
};

int
cgroup_v2_cpu (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  char v[64];
  int rc;

  if (r->has_cpu_shares && r->cpu_shares)
    {
      snprintf (v, sizeof v, "%" PRIu64, cgroup_shares_to_weight (r->cpu_shares));
      if ((rc = cg_set (dir, "cpu.weight", v, "cpu.shares", err)) < 0)
        return rc;
    }
  if (r->has_cpu_quota || r->has_cpu_period)
    {
      uint64_t period = r->has_cpu_period && r->cpu_period ? r->cpu_period : 100000;
      if (r->has_cpu_quota && r->cpu_quota > 0)
        snprintf (v, sizeof v, "%" PRId64 " %" PRIu64, r->cpu_quota, period);
      else
        snprintf (v, sizeof v, "max %" PRIu64, period);
      if ((rc = cg_set (dir, "cpu.max", v, r->has_cpu_quota ? "cpu.quota" : "cpu.period", err)) < 0)
        return rc;
    }
  if ((rc = cg_set_fields (dir, r, v2_cpu, CG_LEN (v2_cpu), err)) < 0)
    return rc;
  if ((r->has_cpu_rt_runtime && r->cpu_rt_runtime) || (r->has_cpu_rt_period && r->cpu_rt_period))
    return v1_only (r->has_cpu_rt_runtime ? "cpu.realtimeRuntime" : "cpu.realtimePeriod", err);
  return 0;
}

static int
io_max (const char *dir, const char *key, const char *field, const struct spec_throttle *t,
        size_t n, struct focker_err **err)
{
  for (size_t i = 0; i < n; i++)
    {
      char v[96];
      int rc;
      snprintf (v, sizeof v, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, t[i].major, t[i].minor, key,
                t[i].rate);
      if ((rc = cg_set (dir, "io.max", v, field, err)) < 0)
        return rc;
    }
  return 0;
}

int
cgroup_v2_io (const char *dir, const struct spec_resources *r, struct focker_err **err)
{
  /* BFQ takes the v1 scale as is; io.weight needs the conversion */
  bool bfq = cg_exists (dir, "io.bfq.weight");
  char v[96];
  int rc;

  if (r->has_blkio_weight)
    {
      if (bfq)
        snprintf (v, sizeof v, "%u", (unsigned)r->blkio_weight);
      else
        snprintf (v, sizeof v, "default %" PRIu64, cgroup_blkio_to_io_weight (r->blkio_weight));
      if ((rc = cg_set (dir, bfq ? "io.bfq.weight" : "io.weight", v, "blockIO.weight", err)) < 0)
        return rc;
    }
  if (r->has_blkio_leaf_weight)
    return v1_only ("blockIO.leafWeight", err);
  for (size_t i = 0; i < r->n_blkio_weight_devices; i++)
    {
      const struct spec_weight_device *w = &r->blkio_weight_devices[i];
      if (!w->has_weight)
        continue;
      snprintf (v, sizeof v, "%" PRId64 ":%" PRId64 " %" PRIu64, w->major, w->minor,
                bfq ? (uint64_t)w->weight : cgroup_blkio_to_io_weight (w->weight));
      if ((rc = cg_set (dir, bfq ? "io.bfq.weight" : "io.weight", v, "blockIO.weightDevice", err))
          < 0)
        return rc;
    }
  if ((rc = io_max (dir, "rbps", "blockIO.throttleReadBpsDevice", r->throttle_read_bps,
                    r->n_throttle_read_bps, err))
          < 0
      || (rc = io_max (dir, "wbps", "blockIO.throttleWriteBpsDevice", r->throttle_write_bps,
                       r->n_throttle_write_bps, err))
             < 0
      || (rc = io_max (dir, "riops", "blockIO.throttleReadIOPSDevice", r->throttle_read_iops,
                       r->n_throttle_read_iops, err))
             < 0
      || (rc = io_max (dir, "wiops", "blockIO.throttleWriteIOPSDevice", r->throttle_write_iops,
                       r->n_throttle_write_iops, err))
             < 0)
    return rc;
  return 0;
}

int
cgroup_v2_unified (const char *dir, const char *controllers, const struct spec_resources *r,
                   struct focker_err **err)
{
  for (size_t i = 0; i < r->n_unified; i++)
    {
      const char *key = r->unified[i].key;
      const char *dot = strchr (key, '.');
      _cleanup_free_ char *field = xasprintf ("unified[\"%s\"]", key);
      _cleanup_free_ char *ctl = dot ? xstrndup (key, (size_t)(dot - key)) : xstrdup (key);
      int rc;
      /* a file name, never a path out of the container's directory */
      if (dot == NULL || strchr (key, '/') || strcmp (key, "..") == 0)
        return focker_fail (err, -EINVAL, "linux.resources.%s: not a cgroup file name", field);
      if (strcmp (ctl, "cgroup") != 0 && !cg_word_in (ctl, controllers))
        return focker_fail (err, -EOPNOTSUPP,
                            "linux.resources.%s: controller %s is not enabled for the "
                            "container in cgroup v2 (%s)",
                            field, ctl, dir);
      if ((rc = cg_set (dir, key, r->unified[i].value, field, err)) < 0)
        return rc;
    }
  return 0;
}

int
cgroup_v2_freeze (const char *dir, bool freeze, struct focker_err **err)
{
  int r = cg_write (dir, "cgroup.freeze", freeze ? "1" : "0");

  if (r < 0)
    return focker_fail (err, r, "cgroup: write %s/cgroup.freeze", dir);
  /* cgroup.events says "frozen 1" once every task has stopped */
  for (int i = 0; i < 1000; i++)
    {
      _cleanup_free_ char *ev = NULL;
      const char *f;
      r = cg_read (&ev, dir, "cgroup.events");
      if (r < 0)
        return focker_fail (err, r, "cgroup: read %s/cgroup.events", dir);
      f = strstr (ev, "frozen ");
      if (f && (f[7] == '1') == freeze)
        return 0;
      cg_sleep_ms (i < 10 ? 1 : 10);
    }
  return focker_fail (err, -ETIMEDOUT, "cgroup: %s did not become %s", dir,
                      freeze ? "frozen" : "thawed");
}
