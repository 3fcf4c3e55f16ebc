/* cgroup_stats.c: what a container's cgroup has used, in runc's `events` shape, and its OOM
 * kill count.
 *
 * Every figure is read from cgroupfs through the seam: on v2 from the one directory (cpu.stat,
 * memory.current/max/stat/events, memory.swap.*, pids.*, io.stat, hugetlb.*); on v1 from the
 * hierarchy carrying each controller (cpuacct.*, cpu.stat, memory.*, memory.memsw.*, pids.*,
 * blkio.throttle.*, hugetlb.*).  Units are runc's: nanoseconds for CPU time, bytes for memory.  A
 * file the host lacks leaves its figure out (or 0), it is not an error: stats are best effort, as
 * in runc. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "core/cgroup_internal.h"
#include "core/cleanup.h"
#include "core/fsutil.h"

/* The container's directory for controller `v1` (named `v2` in cgroup v2), or NULL. */
static const char *
stat_dir (const struct cgroup *cg, const char *v1, bool *is_v2)
{
  for (size_t i = 0; i < cg->n; i++)
    if (*cg->dirs[i].ctls && cg_word_in (v1, cg->dirs[i].ctls))
      {
        *is_v2 = false;
        return cg->dirs[i].path;
      }
  *is_v2 = true;
  return cgroup_v2_dir (cg);
}

/* A file holding one number ("max" is UINT64_MAX, as runc reports it); false if absent. */
static bool
read_u64 (uint64_t *out, const char *dir, const char *file)
{
  _cleanup_free_ char *text = NULL;
  char *end;

  if (dir == NULL || cg_read (&text, dir, file) < 0)
    return false;
  if (strncmp (text, "max", 3) == 0)
    {
      *out = UINT64_MAX;
      return true;
    }
  *out = strtoull (text, &end, 10);
  return end != text;
}

/* The value of `key` in a "key value" per line file (cpu.stat, memory.stat, memory.events). */
static bool
keyed_u64 (uint64_t *out, const char *text, const char *key)
{
  size_t n = strlen (key);

  for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    if (strncmp (l, key, n) == 0 && l[n] == ' ')
      {
        *out = strtoull (l + n + 1, NULL, 10);
        return true;
      }
  return false;
}

static void
set_u64 (json_t *o, const char *key, uint64_t v)
{
  json_object_set_new (o, key, json_integer ((json_int_t)(v > INT64_MAX ? INT64_MAX : v)));
}

/* Every "key value" line of a file, as an object (memory.stat -> memory.raw). */
static json_t *
keyed_all (const char *text)
{
  json_t *o = json_object ();

  for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    {
      const char *sp = strchr (l, ' '), *nl = strchr (l, '\n');
      _cleanup_free_ char *key = NULL;
      if (sp == NULL || (nl && sp > nl))
        continue;
      key = xstrndup (l, (size_t)(sp - l));
      set_u64 (o, key, strtoull (sp + 1, NULL, 10));
    }
  return o;
}

static json_t *
cpu_stats (const struct cgroup *cg)
{
  json_t *cpu = json_object (), *usage = json_object (), *thr = json_object ();
  _cleanup_free_ char *stat = NULL, *acct = NULL, *percpu = NULL;
  bool v2;
  const char *d = stat_dir (cg, "cpuacct", &v2);
  uint64_t v;

  if (v2 && d && cg_read (&stat, d, "cpu.stat") >= 0)
    {
      if (keyed_u64 (&v, stat, "usage_usec"))
        set_u64 (usage, "total", v * 1000);
      if (keyed_u64 (&v, stat, "system_usec"))
        set_u64 (usage, "kernel", v * 1000);
      if (keyed_u64 (&v, stat, "user_usec"))
        set_u64 (usage, "user", v * 1000);
      if (keyed_u64 (&v, stat, "nr_periods"))
        set_u64 (thr, "periods", v);
      if (keyed_u64 (&v, stat, "nr_throttled"))
        set_u64 (thr, "throttledPeriods", v);
      if (keyed_u64 (&v, stat, "throttled_usec"))
        set_u64 (thr, "throttledTime", v * 1000);
    }
  else if (!v2)
    {
      const char *c;
      /* cpuacct.stat counts USER_HZ ticks: 100 per second on every architecture */
      if (read_u64 (&v, d, "cpuacct.usage"))
        set_u64 (usage, "total", v);
      if (cg_read (&acct, d, "cpuacct.stat") >= 0)
        {
          if (keyed_u64 (&v, acct, "system"))
            set_u64 (usage, "kernel", v * 10000000);
          if (keyed_u64 (&v, acct, "user"))
            set_u64 (usage, "user", v * 10000000);
        }
      if (cg_read (&percpu, d, "cpuacct.usage_percpu") >= 0)
        {
          json_t *a = json_array ();
          for (char *p = percpu, *end;; p = end)
            {
              uint64_t x = strtoull (p, &end, 10);
              if (end == p)
                break;
              json_array_append_new (a, json_integer ((json_int_t)x));
            }
          json_object_set_new (usage, "percpu", a);
        }
      c = stat_dir (cg, "cpu", &v2);
      if (!v2 && cg_read (&stat, c, "cpu.stat") >= 0)
        {
          if (keyed_u64 (&v, stat, "nr_periods"))
            set_u64 (thr, "periods", v);
          if (keyed_u64 (&v, stat, "nr_throttled"))
            set_u64 (thr, "throttledPeriods", v);
          if (keyed_u64 (&v, stat, "throttled_time"))
            set_u64 (thr, "throttledTime", v);
        }
    }
  json_object_set_new (cpu, "usage", usage);
  json_object_set_new (cpu, "throttling", thr);
  return cpu;
}

/* {limit, usage, max, failcnt} from the files named, any of which may be NULL or absent. */
static json_t *
mem_entry (const char *d, const char *limit, const char *usage, const char *max,
           const char *failcnt)
{
  json_t *e = json_object ();
  uint64_t v;

  set_u64 (e, "limit", limit && read_u64 (&v, d, limit) ? v : 0);
  if (usage && read_u64 (&v, d, usage))
    set_u64 (e, "usage", v);
  if (max && read_u64 (&v, d, max))
    set_u64 (e, "max", v);
  set_u64 (e, "failcnt", failcnt && read_u64 (&v, d, failcnt) ? v : 0);
  return e;
}

static json_t *
memory_stats (const struct cgroup *cg)
{
  json_t *mem = json_object (), *usage;
  _cleanup_free_ char *stat = NULL, *events = NULL;
  bool v2;
  const char *d = stat_dir (cg, "memory", &v2);
  uint64_t v;

  if (d == NULL)
    return mem;
  if (cg_read (&stat, d, "memory.stat") >= 0)
    {
      if (keyed_u64 (&v, stat, v2 ? "file" : "cache"))
        set_u64 (mem, "cache", v);
      json_object_set_new (mem, "raw", keyed_all (stat));
    }
  if (v2)
    {
      usage = mem_entry (d, "memory.max", "memory.current", "memory.peak", NULL);
      /* v2 counts hitting the limit in memory.events "max" */
      if (cg_read (&events, d, "memory.events") >= 0 && keyed_u64 (&v, events, "max"))
        set_u64 (usage, "failcnt", v);
      json_object_set_new (mem, "usage", usage);
      json_object_set_new (
          mem, "swap",
          mem_entry (d, "memory.swap.max", "memory.swap.current", "memory.swap.peak", NULL));
    }
  else
    {
      json_object_set_new (mem, "usage",
                           mem_entry (d, "memory.limit_in_bytes", "memory.usage_in_bytes",
                                      "memory.max_usage_in_bytes", "memory.failcnt"));
      json_object_set_new (mem, "swap",
                           mem_entry (d, "memory.memsw.limit_in_bytes",
                                      "memory.memsw.usage_in_bytes",
                                      "memory.memsw.max_usage_in_bytes", "memory.memsw.failcnt"));
    }
  return mem;
}

static json_t *
pids_stats (const struct cgroup *cg)
{
  json_t *pids = json_object ();
  bool v2;
  const char *d = stat_dir (cg, "pids", &v2);
  uint64_t v;

  if (read_u64 (&v, d, "pids.current"))
    set_u64 (pids, "current", v);
  /* "max" (no limit) is left out, as runc leaves out 0 */
  if (read_u64 (&v, d, "pids.max") && v != UINT64_MAX)
    set_u64 (pids, "limit", v);
  return pids;
}

static json_t *
blk_entry (uint64_t major, uint64_t minor, const char *op, uint64_t value)
{
  json_t *e = json_object ();

  set_u64 (e, "major", major);
  set_u64 (e, "minor", minor);
  json_object_set_new (e, "op", json_string (op));
  set_u64 (e, "value", value);
  return e;
}

/* v1: "MAJ:MIN Op value" lines (and a "Total value" line, left out). */
static json_t *
blkio_v1_list (const char *d, const char *file)
{
  _cleanup_free_ char *text = NULL;
  json_t *a = json_array ();

  if (cg_read (&text, d, file) < 0)
    return a;
  for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    {
      unsigned long long ma, mi, val;
      char op[16];
      if (sscanf (l, "%llu:%llu %15s %llu", &ma, &mi, op, &val) == 4)
        json_array_append_new (a, blk_entry (ma, mi, op, val));
    }
  return a;
}

static json_t *
blkio_stats (const struct cgroup *cg)
{
  json_t *blk = json_object ();
  _cleanup_free_ char *text = NULL;
  bool v2;
  const char *d = stat_dir (cg, "blkio", &v2);

  if (d == NULL)
    return blk;
  if (!v2)
    {
      json_object_set_new (blk, "ioServiceBytesRecursive",
                           blkio_v1_list (d, "blkio.throttle.io_service_bytes_recursive"));
      json_object_set_new (blk, "ioServicedRecursive",
                           blkio_v1_list (d, "blkio.throttle.io_serviced_recursive"));
      return blk;
    }
  if (cg_read (&text, d, "io.stat") >= 0)
    {
      /* "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." per device */
      json_t *bytes = json_array (), *ios = json_array ();
      for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
        {
          unsigned long long ma, mi;
          _cleanup_free_ char *line = xstrndup (l, strcspn (l, "\n"));
          uint64_t rb = 0, wb = 0, rio = 0, wio = 0;
          if (sscanf (line, "%llu:%llu", &ma, &mi) != 2)
            continue;
          for (char *w = strchr (line, ' '); w; w = strchr (w + 1, ' '))
            {
              uint64_t *at = strncmp (w + 1, "rbytes=", 7) == 0   ? &rb
                             : strncmp (w + 1, "wbytes=", 7) == 0 ? &wb
                             : strncmp (w + 1, "rios=", 5) == 0   ? &rio
                             : strncmp (w + 1, "wios=", 5) == 0   ? &wio
                                                                  : NULL;
              if (at)
                *at = strtoull (strchr (w, '=') + 1, NULL, 10);
            }
          json_array_append_new (bytes, blk_entry (ma, mi, "Read", rb));
          json_array_append_new (bytes, blk_entry (ma, mi, "Write", wb));
          json_array_append_new (ios, blk_entry (ma, mi, "Read", rio));
          json_array_append_new (ios, blk_entry (ma, mi, "Write", wio));
        }
      json_object_set_new (blk, "ioServiceBytesRecursive", bytes);
      json_object_set_new (blk, "ioServicedRecursive", ios);
    }
  return blk;
}

/* One page size: {usage, max, failcnt} (v2 has no peak: max is left out there). */
static json_t *
hugetlb_entry (const char *d, const char *size, bool v2)
{
  _cleanup_free_ char *cur
      = xasprintf (v2 ? "hugetlb.%s.current" : "hugetlb.%s.usage_in_bytes", size);
  _cleanup_free_ char *peak = xasprintf ("hugetlb.%s.max_usage_in_bytes", size);
  _cleanup_free_ char *fail = xasprintf (v2 ? "hugetlb.%s.events" : "hugetlb.%s.failcnt", size);
  _cleanup_free_ char *events = NULL;
  json_t *e = json_object ();
  uint64_t v;

  if (read_u64 (&v, d, cur))
    set_u64 (e, "usage", v);
  if (!v2 && read_u64 (&v, d, peak))
    set_u64 (e, "max", v);
  if (v2)
    set_u64 (e, "failcnt",
             cg_read (&events, d, fail) >= 0 && keyed_u64 (&v, events, "max") ? v : 0);
  else
    set_u64 (e, "failcnt", read_u64 (&v, d, fail) ? v : 0);
  return e;
}

/* Every page size the hierarchy has a limit file for, keyed by its name ("2MB"). */
static json_t *
hugetlb_stats (const struct cgroup *cg)
{
  json_t *h = json_object ();
  bool v2;
  const char *d = stat_dir (cg, "hugetlb", &v2);
  const char *suffix = v2 ? ".max" : ".limit_in_bytes";
  _cleanup_close_ int fd = -1;
  char buf[4096];
  ssize_t n;

  if (d == NULL || (fd = sys_openat (AT_FDCWD, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)) < 0)
    return h;
  while ((n = sys_getdents64 (fd, buf, sizeof buf)) > 0)
    for (ssize_t off = 0; off < n;)
      {
        struct linux_dirent64_hdr *e = (struct linux_dirent64_hdr *)(buf + off);
        size_t len = strlen (e->d_name), sl = strlen (suffix);
        off += e->d_reclen;
        /* hugetlb.<size><suffix>, <size> without dots (not hugetlb.2MB.rsvd.max) */
        if (strncmp (e->d_name, "hugetlb.", 8) == 0 && len > 8 + sl
            && strcmp (e->d_name + len - sl, suffix) == 0
            && memchr (e->d_name + 8, '.', len - 8 - sl) == NULL)
          {
            _cleanup_free_ char *size = xstrndup (e->d_name + 8, len - 8 - sl);
            json_object_set_new (h, size, hugetlb_entry (d, size, v2));
          }
      }
  return h;
}

void *
cgroup_stats (const struct cgroup *cg)
{
  json_t *data = json_object ();

  json_object_set_new (data, "cpu", cpu_stats (cg));
  json_object_set_new (data, "memory", memory_stats (cg));
  json_object_set_new (data, "pids", pids_stats (cg));
  json_object_set_new (data, "blkio", blkio_stats (cg));
  json_object_set_new (data, "hugetlb", hugetlb_stats (cg));
  return data;
}

int64_t
cgroup_oom_kills (const struct cgroup *cg)
{
  _cleanup_free_ char *text = NULL;
  bool v2;
  const char *d = stat_dir (cg, "memory", &v2);
  uint64_t v;

  /* v2: memory.events; v1: memory.oom_control (4.13+) */
  if (d == NULL || cg_read (&text, d, v2 ? "memory.events" : "memory.oom_control") < 0)
    return -1;
  return keyed_u64 (&v, text, "oom_kill") ? (int64_t)v : -1;
}
