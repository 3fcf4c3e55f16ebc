/* container_cgroup.c: the commands that act on a container's cgroup: pause, resume, update,
 * ps.  Each takes the container's lock, reads its state and works on the cgroup directories
 * recorded there (never on paths derived again from the config). */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include "core/cgroup.h"
#include "core/cleanup.h"
#include "core/container.h"
#include "core/spec.h"

/* Open, lock and read; *cg from the state.  The lock is held until state_ref_close (ref). */
static int
open_cgroup (struct state_ref *ref, struct container_state **st, struct cgroup **cg,
             const char *root, const char *id, struct focker_err **err)
{
  _cleanup_state_ref_ struct state_ref fds = STATE_REF_NONE;
  int r;

  r = container_open_locked (&fds, st, root, id, err);
  if (r < 0)
    return r;
  if ((*st)->cgroup == NULL || cgroup_from_json (cg, (*st)->cgroup) < 0 || (*cg)->n == 0)
    {
      state_free (*st);
      *st = NULL;
      return focker_fail (err, -EOPNOTSUPP, "container %s has no cgroup", id);
    }
  *ref = fds;
  fds = STATE_REF_NONE;
  return 0;
}

static int
set_paused (const char *root, const char *id, bool pause, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_cgroup_ struct cgroup *cg = NULL;
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  enum container_status status;
  int r;

  r = open_cgroup (&ref, &st, &cg, root, id, err);
  if (r < 0)
    return r;
  status = state_status (st);
  if (pause && status != STATUS_RUNNING && status != STATUS_CREATED)
    return focker_fail (err, -EINVAL, "container %s is not running: %s", id,
                        state_status_name (status));
  if (!pause && status != STATUS_PAUSED)
    return focker_fail (err, -EINVAL, "container %s is not paused: %s", id,
                        state_status_name (status));
  r = cgroup_freeze (cg, pause, err);
  if (r < 0)
    {
      if (pause)
        cgroup_freeze (cg, false, NULL);
      return focker_err_prefix (err, "container %s", id);
    }
  st->paused = pause;
  r = state_write (ref.rootfd, st, err);
  if (r < 0 && pause)
    cgroup_freeze (cg, false, NULL);
  return r;
}

int
container_pause (const char *root, const char *id, struct focker_err **err)
{
  return set_paused (root, id, true, err);
}

int
container_resume (const char *root, const char *id, struct focker_err **err)
{
  return set_paused (root, id, false, err);
}

/* Merge `from` into `into`: objects key by key, recursively; anything else replaces. */
static void
json_merge (json_t *into, json_t *from)
{
  const char *key;
  json_t *v;

  json_object_foreach (from, key, v)
  {
    json_t *cur = json_object_get (into, key);
    if (json_is_object (cur) && json_is_object (v))
      json_merge (cur, v);
    else
      json_object_set (into, key, v);
  }
}

/* linux.devices of the recorded config: only what the device rules need (type, numbers). */
static size_t
recorded_devices (struct spec_device **out, json_t *config)
{
  json_t *arr = json_object_get (json_object_get (config, "linux"), "devices"), *d;
  struct spec_device *v = xcalloc (json_array_size (arr) + 1, sizeof *v);
  size_t i, k = 0;

  json_array_foreach (arr, i, d)
  {
    const char *t = json_string_value (json_object_get (d, "type"));
    json_t *ma = json_object_get (d, "major"), *mi = json_object_get (d, "minor");
    if (t == NULL || !json_is_integer (ma) || !json_is_integer (mi))
      continue;
    v[k].type = t[0];
    v[k].major = json_integer_value (ma);
    v[k].minor = json_integer_value (mi);
    k++;
  }
  *out = v;
  return k;
}

int
container_update (const char *root, const char *id, const char *doc, size_t len, const char *name,
                  struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_cgroup_ struct cgroup *cg = NULL;
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  _cleanup_free_ char *merged_text = NULL;
  _cleanup_free_ struct spec_device *devs = NULL;
  struct spec_resources *upd = NULL, *all = NULL;
  json_t *given, *linux_, *merged;
  size_t n_devs;
  int r;

  r = spec_parse_resources_doc (&upd, doc, len, name, err);
  if (r < 0)
    return r;
  r = open_cgroup (&ref, &st, &cg, root, id, err);
  if (r < 0)
    goto out;
  if (state_status (st) == STATUS_STOPPED)
    {
      r = focker_fail (err, -EINVAL, "container %s is stopped", id);
      goto out;
    }
  /* what the container has from now on: the recorded resources with the given fields
   * replaced, kept in the recorded config so later updates (and events) see them */
  if (!json_is_object ((json_t *)st->config))
    {
      json_decref (st->config);
      st->config = json_object ();
    }
  linux_ = json_object_get (st->config, "linux");
  if (!json_is_object (linux_))
    json_object_set_new (st->config, "linux", linux_ = json_object ());
  merged = json_object_get (linux_, "resources");
  if (!json_is_object (merged))
    json_object_set_new (linux_, "resources", merged = json_object ());
  given = json_loadb (doc, len, 0, NULL);
  json_merge (merged, given);
  json_decref (given);
  merged_text = json_dumps (merged, JSON_COMPACT);
  r = spec_parse_resources_doc (&all, merged_text, strlen (merged_text), name, err);
  if (r < 0)
    goto out;
  /* cgroup v2 takes swap alone: it needs the limit, from before when not given now */
  if (upd->has_memory_swap && !upd->has_memory_limit && all->has_memory_limit)
    {
      upd->has_memory_limit = true;
      upd->memory_limit = all->memory_limit;
    }
  r = cgroup_apply (cg, upd, err);
  if (r >= 0 && upd->n_devices)
    {
      n_devs = recorded_devices (&devs, st->config);
      r = cgroup_apply_devices (cg, upd, devs, n_devs, err);
    }
  if (r < 0)
    {
      focker_err_prefix (err, "update %s", id);
      goto out;
    }
  r = state_write (ref.rootfd, st, err);
out:
  spec_resources_free (upd);
  spec_resources_free (all);
  return r;
}

static int
emit_event (events_emit_fn emit, void *ctx, const char *type, const char *id, json_t *data)
{
  json_t *o = json_pack ("{s:s,s:s}", "type", type, "id", id);
  _cleanup_free_ char *line = NULL;

  if (data)
    json_object_set_new (o, "data", data);
  line = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (o);
  return line ? emit (ctx, line) : -ENOMEM;
}

static uint64_t
now_ms (void)
{
  struct timespec ts = { 0, 0 };

  sys_clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* How often the OOM counter is looked at: an oom event comes at most this late. */
#define EVENTS_TICK_MS 100

int
container_events (const char *root, const char *id, bool stats_only, int interval_ms,
                  events_emit_fn emit, void *ctx, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_cgroup_ struct cgroup *cg = NULL;
  struct state_ref ref = STATE_REF_NONE;
  int r;
  int64_t ooms, seen;
  uint64_t next;

  r = open_cgroup (&ref, &st, &cg, root, id, err);
  if (r < 0)
    return r;
  /* the lock is for reading the state; holding it would block every other command */
  state_ref_close (&ref);
  if (state_status (st) == STATUS_STOPPED)
    return focker_fail (err, -EINVAL, "container %s is not running", id);
  if (stats_only)
    return emit_event (emit, ctx, "stats", id, cgroup_stats (cg));
  if (interval_ms <= 0)
    return focker_fail (err, -EINVAL, "events: the interval must be positive");
  seen = cgroup_oom_kills (cg);
  next = now_ms () + (uint64_t)interval_ms;
  for (bool alive = true; alive;)
    {
      sys_poll (NULL, 0, interval_ms < EVENTS_TICK_MS ? interval_ms : EVENTS_TICK_MS);
      /* a process killed by the OOM killer may have been the last: look at the counter
       * once more after the container stopped */
      alive = state_init_alive (st);
      ooms = cgroup_oom_kills (cg);
      if (ooms > seen && seen >= 0)
        {
          r = emit_event (emit, ctx, "oom", id, NULL);
          if (r < 0)
            return r;
        }
      if (ooms >= 0)
        seen = ooms;
      if (alive && now_ms () >= next)
        {
          r = emit_event (emit, ctx, "stats", id, cgroup_stats (cg));
          if (r < 0)
            return r;
          next += (uint64_t)interval_ms;
        }
    }
  return 0;
}

int
container_pids (pid_t **pids, size_t *n, const char *root, const char *id, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_cgroup_ struct cgroup *cg = NULL;
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  int r;

  r = open_cgroup (&ref, &st, &cg, root, id, err);
  if (r < 0)
    return r;
  r = cgroup_pids (pids, n, cg, err);
  if (r < 0)
    return focker_err_prefix (err, "container %s", id);
  return 0;
}
