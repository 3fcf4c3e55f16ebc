/* spec_resources.c: linux.resources (also the document of `update --resources FILE`):
 * device rules, memory, cpu, pids, blockIO, hugepageLimits, network, rdma, unified.
 *
 * Scalars are described by tables (JSON key -> has_ flag and value offsets in struct
 * spec_resources), so each one is type- and range-checked the same way.  Invariants: every
 * scalar's has_ flag is set iff the member was present; device rules have a known type and
 * an access string over "rwm"; rdma is type-checked and kept only in the JSON. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/spec_internal.h"

enum field_kind
{
  F_I64,
  F_U64,
  F_U16,
  F_BOOL,
};

struct field
{
  const char *key;
  enum field_kind kind;
  size_t has; /* offsetof the bool has_ flag */
  size_t val; /* offsetof the value */
  int64_t min;
};

#define R(x) offsetof (struct spec_resources, x)

static const struct field memory_fields[] = {
  { "limit", F_I64, R (has_memory_limit), R (memory_limit), -1 },
  { "reservation", F_I64, R (has_memory_reservation), R (memory_reservation), -1 },
  { "swap", F_I64, R (has_memory_swap), R (memory_swap), -1 },
  { "kernel", F_I64, R (has_memory_kernel), R (memory_kernel), -1 },
  { "kernelTCP", F_I64, R (has_memory_kernel_tcp), R (memory_kernel_tcp), -1 },
  { "swappiness", F_U64, R (has_memory_swappiness), R (memory_swappiness), 0 },
  { "disableOOMKiller", F_BOOL, R (has_disable_oom_killer), R (disable_oom_killer), 0 },
  { "useHierarchy", F_BOOL, R (has_use_hierarchy), R (use_hierarchy), 0 },
  { "checkBeforeUpdate", F_BOOL, R (has_check_before_update), R (check_before_update), 0 },
  { NULL, 0, 0, 0, 0 },
};

static const struct field cpu_fields[] = {
  { "shares", F_U64, R (has_cpu_shares), R (cpu_shares), 0 },
  { "quota", F_I64, R (has_cpu_quota), R (cpu_quota), INT64_MIN },
  { "burst", F_U64, R (has_cpu_burst), R (cpu_burst), 0 },
  { "period", F_U64, R (has_cpu_period), R (cpu_period), 0 },
  { "realtimeRuntime", F_I64, R (has_cpu_rt_runtime), R (cpu_rt_runtime), INT64_MIN },
  { "realtimePeriod", F_U64, R (has_cpu_rt_period), R (cpu_rt_period), 0 },
  { "idle", F_I64, R (has_cpu_idle), R (cpu_idle), INT64_MIN },
  { NULL, 0, 0, 0, 0 },
};

static const struct field blkio_fields[] = {
  { "weight", F_U16, R (has_blkio_weight), R (blkio_weight), 0 },
  { "leafWeight", F_U16, R (has_blkio_leaf_weight), R (blkio_leaf_weight), 0 },
  { NULL, 0, 0, 0, 0 },
};

#undef R

static int
parse_fields (struct spec_ctx *c, json_t *obj, const struct field *f, void *base)
{
  char *b = base;
  uint64_t u;
  int64_t i;
  int r = 0;

  for (; f->key && r >= 0; f++)
    {
      bool *has = (bool *)(b + f->has);
      switch (f->kind)
        {
        case F_I64:
          if ((r = spec_ji64 (c, obj, f->key, false, f->min, INT64_MAX, &i)) > 0)
            *(int64_t *)(b + f->val) = i;
          break;
        case F_U64:
          if ((r = spec_ju64 (c, obj, f->key, false, UINT64_MAX, &u)) > 0)
            *(uint64_t *)(b + f->val) = u;
          break;
        case F_U16:
          if ((r = spec_ju64 (c, obj, f->key, false, UINT16_MAX, &u)) > 0)
            *(uint16_t *)(b + f->val) = (uint16_t)u;
          break;
        case F_BOOL:
          r = spec_jbool (c, obj, f->key, (bool *)(b + f->val));
          break;
        }
      if (r > 0)
        *has = true;
    }
  return r < 0 ? r : 0;
}

static int
device_rule_fn (struct spec_ctx *c, json_t *e, void *out)
{
  static const char *const types[] = { "a", "c", "b", NULL };
  struct spec_device_rule *d = out;
  char *type = NULL;
  int r;

  d->major = d->minor = -1;
  r = spec_jbool (c, e, "allow", &d->allow);
  if (r == 0)
    r = spec_ctx_fail (c, "allow", "missing");
  if (r >= 0 && (r = spec_jstring (c, e, "type", false, &type)) > 0)
    r = spec_check_enum (c, "type", type, types, "device type");
  if (r >= 0 && type)
    d->type = type[0];
  if (r >= 0)
    r = spec_ji64 (c, e, "major", false, -1, INT64_MAX, &d->major);
  if (r >= 0)
    r = spec_ji64 (c, e, "minor", false, -1, INT64_MAX, &d->minor);
  if (r >= 0 && (r = spec_jstring (c, e, "access", false, &d->access)) > 0
      && d->access[strspn (d->access, "rwm")] != '\0')
    r = spec_ctx_fail (c, "access", "must be a combination of \"rwm\", not \"%s\"", d->access);
  free (type);
  return r;
}

static int
throttle_fn (struct spec_ctx *c, json_t *e, void *out)
{
  struct spec_throttle *t = out;
  int r;

  r = spec_ji64 (c, e, "major", true, 0, INT64_MAX, &t->major);
  if (r >= 0)
    r = spec_ji64 (c, e, "minor", true, 0, INT64_MAX, &t->minor);
  if (r >= 0)
    r = spec_ju64 (c, e, "rate", true, UINT64_MAX, &t->rate);
  return r;
}

static int
weight_device_fn (struct spec_ctx *c, json_t *e, void *out)
{
  struct spec_weight_device *w = out;
  uint64_t u;
  int r;

  r = spec_ji64 (c, e, "major", true, 0, INT64_MAX, &w->major);
  if (r >= 0)
    r = spec_ji64 (c, e, "minor", true, 0, INT64_MAX, &w->minor);
  if (r >= 0 && (r = spec_ju64 (c, e, "weight", false, UINT16_MAX, &u)) > 0)
    {
      w->has_weight = true;
      w->weight = (uint16_t)u;
    }
  if (r >= 0 && (r = spec_ju64 (c, e, "leafWeight", false, UINT16_MAX, &u)) > 0)
    {
      w->has_leaf_weight = true;
      w->leaf_weight = (uint16_t)u;
    }
  return r;
}

static int
hugepage_fn (struct spec_ctx *c, json_t *e, void *out)
{
  struct spec_hugepage *h = out;
  int r;

  r = spec_jstring (c, e, "pageSize", true, &h->page_size);
  if (r >= 0)
    r = spec_ju64 (c, e, "limit", true, UINT64_MAX, &h->limit);
  return r;
}

static int
priority_fn (struct spec_ctx *c, json_t *e, void *out)
{
  struct spec_kv *kv = out;
  uint64_t prio;
  int r;

  r = spec_jstring (c, e, "name", true, &kv->key);
  if (r >= 0)
    r = spec_ju64 (c, e, "priority", true, UINT32_MAX, &prio);
  if (r >= 0)
    kv->value = xasprintf ("%llu", (unsigned long long)prio);
  return r;
}

static int
memory_fn (struct spec_ctx *c, json_t *o, void *out)
{
  struct spec_resources *res = out;
  return parse_fields (c, o, memory_fields, res);
}

static int
cpu_fn (struct spec_ctx *c, json_t *o, void *out)
{
  struct spec_resources *res = out;
  int r = parse_fields (c, o, cpu_fields, res);

  if (r >= 0)
    r = spec_jstring (c, o, "cpus", false, &res->cpu_cpus);
  if (r >= 0)
    r = spec_jstring (c, o, "mems", false, &res->cpu_mems);
  return r;
}

static int
pids_fn (struct spec_ctx *c, json_t *o, void *out)
{
  struct spec_resources *res = out;
  int r = spec_ji64 (c, o, "limit", false, INT64_MIN, INT64_MAX, &res->pids_limit);

  res->has_pids_limit = r > 0;
  return r;
}

static int
blkio_fn (struct spec_ctx *c, json_t *o, void *out)
{
  struct spec_resources *res = out;
  int r = parse_fields (c, o, blkio_fields, res);

  if (r >= 0)
    r = spec_jarray_of (c, o, "weightDevice", sizeof (struct spec_weight_device),
                        &res->blkio_weight_devices, &res->n_blkio_weight_devices, weight_device_fn);
  if (r >= 0)
    r = spec_jarray_of (c, o, "throttleReadBpsDevice", sizeof (struct spec_throttle),
                        &res->throttle_read_bps, &res->n_throttle_read_bps, throttle_fn);
  if (r >= 0)
    r = spec_jarray_of (c, o, "throttleWriteBpsDevice", sizeof (struct spec_throttle),
                        &res->throttle_write_bps, &res->n_throttle_write_bps, throttle_fn);
  if (r >= 0)
    r = spec_jarray_of (c, o, "throttleReadIOPSDevice", sizeof (struct spec_throttle),
                        &res->throttle_read_iops, &res->n_throttle_read_iops, throttle_fn);
  if (r >= 0)
    r = spec_jarray_of (c, o, "throttleWriteIOPSDevice", sizeof (struct spec_throttle),
                        &res->throttle_write_iops, &res->n_throttle_write_iops, throttle_fn);
  return r;
}

static int
network_fn (struct spec_ctx *c, json_t *o, void *out)
{
  struct spec_resources *res = out;
  uint64_t id;
  int r;

  if ((r = spec_ju64 (c, o, "classID", false, UINT32_MAX, &id)) > 0)
    {
      res->has_net_class_id = true;
      res->net_class_id = (uint32_t)id;
    }
  if (r >= 0)
    r = spec_jarray_of (c, o, "priorities", sizeof (struct spec_kv), &res->net_priorities,
                        &res->n_net_priorities, priority_fn);
  return r;
}

/* rdma: { "mlx5_1": { "hcaHandles": 3, "hcaObjects": 10000 } }; a device name is one word
 * (it becomes a line of rdma.max). */
static int
rdma_fn (struct spec_ctx *c, json_t *o, void *out)
{
  struct spec_resources *res = out;
  const char *dev;
  json_t *v;
  uint64_t u;
  int r = 0;

  res->rdma = xcalloc (json_object_size (o) + 1, sizeof *res->rdma);
  json_object_foreach (o, dev, v)
  {
    size_t mark = spec_ctx_key (c, dev);
    struct spec_rdma *d = &res->rdma[res->n_rdma];
    if (*dev == '\0' || strlen (dev) > 63 || dev[strcspn (dev, " \t\n=")] != '\0')
      r = spec_ctx_fail (c, NULL, "not an RDMA device name");
    else if (!json_is_object (v))
      r = spec_ctx_fail (c, NULL, "must be an object");
    if (r >= 0)
      {
        d->device = xstrdup (dev);
        res->n_rdma++;
        r = spec_ju64 (c, v, "hcaHandles", false, UINT32_MAX, &u);
      }
    if (r > 0)
      d->has_hca_handles = true, d->hca_handles = (uint32_t)u;
    if (r >= 0)
      r = spec_ju64 (c, v, "hcaObjects", false, UINT32_MAX, &u);
    if (r > 0)
      d->has_hca_objects = true, d->hca_objects = (uint32_t)u;
    spec_ctx_pop (c, mark);
    if (r < 0)
      break;
  }
  return r < 0 ? r : 0;
}

int
spec_parse_resources (struct spec_ctx *c, json_t *obj, struct spec_resources *res)
{
  int r;

  r = spec_jarray_of (c, obj, "devices", sizeof (struct spec_device_rule), &res->devices,
                      &res->n_devices, device_rule_fn);
  if (r >= 0)
    r = spec_jobject_parse (c, obj, "memory", memory_fn, res);
  if (r >= 0)
    r = spec_jobject_parse (c, obj, "cpu", cpu_fn, res);
  if (r >= 0)
    r = spec_jobject_parse (c, obj, "pids", pids_fn, res);
  if (r >= 0)
    r = spec_jobject_parse (c, obj, "blockIO", blkio_fn, res);
  if (r >= 0)
    r = spec_jarray_of (c, obj, "hugepageLimits", sizeof (struct spec_hugepage),
                        &res->hugepage_limits, &res->n_hugepage_limits, hugepage_fn);
  if (r >= 0)
    r = spec_jobject_parse (c, obj, "network", network_fn, res);
  if (r >= 0)
    r = spec_jobject_parse (c, obj, "rdma", rdma_fn, res);
  if (r >= 0)
    r = spec_jkv (c, obj, "unified", &res->unified, &res->n_unified);
  return r < 0 ? r : 0;
}

void
spec_resources_clear (struct spec_resources *r)
{
  for (size_t i = 0; i < r->n_devices; i++)
    free (r->devices[i].access);
  free (r->devices);
  free (r->cpu_cpus);
  free (r->cpu_mems);
  free (r->blkio_weight_devices);
  free (r->throttle_read_bps);
  free (r->throttle_write_bps);
  free (r->throttle_read_iops);
  free (r->throttle_write_iops);
  for (size_t i = 0; i < r->n_hugepage_limits; i++)
    free (r->hugepage_limits[i].page_size);
  free (r->hugepage_limits);
  spec_kv_free (r->net_priorities, r->n_net_priorities);
  spec_kv_free (r->unified, r->n_unified);
  for (size_t i = 0; i < r->n_rdma; i++)
    free (r->rdma[i].device);
  free (r->rdma);
}
