/* spec_linux.c: the "linux" object of config.json: namespaces, id mappings, devices,
 * sysctl, cgroupsPath, rootfs propagation, masked and read-only paths, personality, time
 * offsets, intelRdt; resources and seccomp are in their own files.
 *
 * Invariants: namespace types are known and unique, with absolute paths; id mappings have
 * size > 0 and only come with a user namespace; devices have an absolute path, a known type
 * and major/minor (except fifos); masked/read-only paths are absolute. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include "core/err.h"
#include "core/spec_internal.h"
#include "core/strv.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

static const struct
{
  const char *name;
  int flag;
} ns_table[] = {
  { "mount", CLONE_NEWNS },      { "pid", CLONE_NEWPID },   { "network", CLONE_NEWNET },
  { "uts", CLONE_NEWUTS },       { "ipc", CLONE_NEWIPC },   { "user", CLONE_NEWUSER },
  { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

int
spec_namespace_from_name (const char *name)
{
  for (size_t i = 0; i < sizeof ns_table / sizeof ns_table[0]; i++)
    if (strcmp (name, ns_table[i].name) == 0)
      return ns_table[i].flag;
  return -1;
}

const char *
spec_namespace_name (int clone_flag)
{
  for (size_t i = 0; i < sizeof ns_table / sizeof ns_table[0]; i++)
    if (ns_table[i].flag == clone_flag)
      return ns_table[i].name;
  return NULL;
}

void
spec_linux_clear (struct spec_linux *l)
{
  for (size_t i = 0; i < l->n_namespaces; i++)
    free (l->namespaces[i].path);
  free (l->namespaces);
  free (l->uid_mappings);
  free (l->gid_mappings);
  spec_kv_free (l->sysctl, l->n_sysctl);
  for (size_t i = 0; i < l->n_devices; i++)
    free (l->devices[i].path);
  free (l->devices);
  free (l->cgroups_path);
  spec_resources_clear (&l->resources);
  free (l->rootfs_propagation);
  strv_free (l->masked_paths);
  strv_free (l->readonly_paths);
  free (l->mount_label);
  spec_seccomp_clear (&l->seccomp);
  free (l->personality_domain);
  strv_free (l->personality_flags);
  free (l->intel_rdt_clos_id);
}

static int
parse_namespace (struct spec_ctx *c, json_t *e, struct spec_linux *l, size_t i)
{
  struct spec_namespace *ns = &l->namespaces[i];
  char *type = NULL;
  int r;

  if (!json_is_object (e))
    return spec_ctx_fail (c, NULL, "must be an object");
  r = spec_jstring (c, e, "type", true, &type);
  if (r >= 0 && (ns->type = spec_namespace_from_name (type)) < 0)
    r = spec_ctx_fail (c, "type", "unknown namespace \"%s\"", type);
  for (size_t j = 0; r >= 0 && j < i; j++)
    if (l->namespaces[j].type == ns->type)
      r = spec_ctx_fail (c, "type", "duplicate namespace \"%s\"", type);
  if (r >= 0 && (r = spec_jstring (c, e, "path", false, &ns->path)) > 0)
    r = spec_check_abs (c, "path", ns->path);
  free (type);
  return r;
}

static int
parse_namespaces (struct spec_ctx *c, json_t *obj, struct spec_linux *l)
{
  json_t *arr = NULL, *e;
  size_t mark, i;
  int r;

  r = spec_jarray (c, obj, "namespaces", false, &arr);
  if (r <= 0)
    return r;
  l->namespaces = xcalloc (json_array_size (arr), sizeof *l->namespaces);
  mark = spec_ctx_key (c, "namespaces");
  json_array_foreach (arr, i, e)
  {
    size_t m2 = spec_ctx_index (c, i);
    r = parse_namespace (c, e, l, i);
    spec_ctx_pop (c, m2);
    l->n_namespaces = i + 1;
    if (r < 0)
      break;
  }
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_id_mappings (struct spec_ctx *c, json_t *obj, struct spec_linux *l)
{
  bool userns = false;
  int r;

  r = spec_jid_maps (c, obj, "uidMappings", &l->uid_mappings, &l->n_uid_mappings);
  if (r >= 0)
    r = spec_jid_maps (c, obj, "gidMappings", &l->gid_mappings, &l->n_gid_mappings);
  if (r < 0)
    return r;
  for (size_t i = 0; i < l->n_namespaces; i++)
    userns |= l->namespaces[i].type == CLONE_NEWUSER;
  /* mappings only mean something to a user namespace this container creates */
  if (!userns && l->n_uid_mappings)
    return spec_ctx_fail (c, "uidMappings", "given without a user namespace");
  if (!userns && l->n_gid_mappings)
    return spec_ctx_fail (c, "gidMappings", "given without a user namespace");
  return 0;
}

static int
parse_device (struct spec_ctx *c, json_t *e, void *out)
{
  struct spec_device *d = out;
  static const char *const types[] = { "c", "b", "u", "p", NULL };
  char *type = NULL;
  uint64_t u;
  int r;

  if (!json_is_object (e))
    return spec_ctx_fail (c, NULL, "must be an object");
  r = spec_jstring (c, e, "path", true, &d->path);
  if (r >= 0)
    r = spec_check_abs (c, "path", d->path);
  if (r >= 0)
    r = spec_jstring (c, e, "type", true, &type);
  if (r >= 0)
    r = spec_check_enum (c, "type", type, types, "device type");
  if (r >= 0)
    d->type = type[0];
  if (r >= 0)
    r = spec_ji64 (c, e, "major", d->type != 'p', 0, INT64_MAX, &d->major);
  if (r >= 0)
    r = spec_ji64 (c, e, "minor", d->type != 'p', 0, INT64_MAX, &d->minor);
  /* podman writes the S_IFCHR/S_IFBLK bits into fileMode too */
  if (r >= 0 && (r = spec_ju64 (c, e, "fileMode", false, 0177777, &u)) > 0)
    {
      d->has_file_mode = true;
      d->file_mode = (mode_t)u;
    }
  if (r >= 0 && (r = spec_ju64 (c, e, "uid", false, UINT32_MAX, &u)) > 0)
    {
      d->has_uid = true;
      d->uid = (uid_t)u;
    }
  if (r >= 0 && (r = spec_ju64 (c, e, "gid", false, UINT32_MAX, &u)) > 0)
    {
      d->has_gid = true;
      d->gid = (gid_t)u;
    }
  free (type);
  return r;
}

static int
parse_propagation (struct spec_ctx *c, json_t *obj, struct spec_linux *l)
{
  static const char *const names[] = { "private", "rprivate",   "slave",       "rslave", "shared",
                                       "rshared", "unbindable", "runbindable", NULL };
  static const unsigned long flags[]
      = { MS_PRIVATE, MS_PRIVATE | MS_REC, MS_SLAVE,      MS_SLAVE | MS_REC,
          MS_SHARED,  MS_SHARED | MS_REC,  MS_UNBINDABLE, MS_UNBINDABLE | MS_REC };
  int r;

  r = spec_jstring (c, obj, "rootfsPropagation", false, &l->rootfs_propagation);
  if (r <= 0)
    return r;
  r = spec_check_enum (c, "rootfsPropagation", l->rootfs_propagation, names, "rootfs propagation");
  if (r < 0)
    return r;
  l->rootfs_propagation_flags = flags[r];
  return 0;
}

static int
parse_personality (struct spec_ctx *c, json_t *obj, struct spec_linux *l)
{
  static const char *const domains[] = { "LINUX", "LINUX32", NULL };
  json_t *p = NULL;
  size_t mark;
  int r;

  r = spec_jobject (c, obj, "personality", false, &p);
  if (r <= 0)
    return r;
  l->has_personality = true;
  mark = spec_ctx_key (c, "personality");
  r = spec_jstring (c, p, "domain", true, &l->personality_domain);
  if (r >= 0)
    r = spec_check_enum (c, "domain", l->personality_domain, domains, "personality domain");
  if (r >= 0)
    r = spec_jstrv (c, p, "flags", &l->personality_flags);
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_time_offset (struct spec_ctx *c, json_t *obj, const char *key, int64_t *secs, uint32_t *nsecs)
{
  json_t *o = NULL;
  uint64_t ns = 0;
  size_t mark;
  int r;

  r = spec_jobject (c, obj, key, false, &o);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, key);
  r = spec_ji64 (c, o, "secs", false, INT64_MIN, INT64_MAX, secs);
  if (r >= 0)
    r = spec_ju64 (c, o, "nanosecs", false, 999999999, &ns);
  *nsecs = (uint32_t)ns;
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_time_offsets (struct spec_ctx *c, json_t *obj, struct spec_linux *l)
{
  json_t *t = NULL;
  size_t mark;
  int r;

  r = spec_jobject (c, obj, "timeOffsets", false, &t);
  if (r <= 0)
    return r;
  l->has_time_offsets = true;
  mark = spec_ctx_key (c, "timeOffsets");
  r = parse_time_offset (c, t, "monotonic", &l->monotonic_secs, &l->monotonic_nanosecs);
  if (r >= 0)
    r = parse_time_offset (c, t, "boottime", &l->boottime_secs, &l->boottime_nanosecs);
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_intel_rdt (struct spec_ctx *c, json_t *obj, struct spec_linux *l)
{
  json_t *o = NULL;
  char *s = NULL;
  bool b;
  size_t mark;
  int r;

  r = spec_jobject (c, obj, "intelRdt", false, &o);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, "intelRdt");
  r = spec_jstring (c, o, "closID", false, &l->intel_rdt_clos_id);
  if (r >= 0)
    r = spec_jstring (c, o, "l3CacheSchema", false, &s);
  if (r >= 0)
    r = spec_jstring (c, o, "memBwSchema", false, &s);
  if (r >= 0)
    r = spec_jbool (c, o, "enableCMT", &b);
  if (r >= 0)
    r = spec_jbool (c, o, "enableMBM", &b);
  spec_ctx_pop (c, mark);
  free (s);
  return r;
}

static int
resources_fn (struct spec_ctx *c, json_t *o, void *out)
{
  return spec_parse_resources (c, o, out);
}

static int
seccomp_fn (struct spec_ctx *c, json_t *o, void *out)
{
  return spec_parse_seccomp (c, o, out);
}

int
spec_parse_linux (struct spec_ctx *c, json_t *obj, struct spec_linux *l)
{
  int r;

  r = parse_namespaces (c, obj, l);
  if (r >= 0)
    r = parse_id_mappings (c, obj, l);
  if (r >= 0)
    r = spec_jkv (c, obj, "sysctl", &l->sysctl, &l->n_sysctl);
  if (r >= 0)
    r = spec_jarray_of (c, obj, "devices", sizeof *l->devices, &l->devices, &l->n_devices,
                        parse_device);
  if (r >= 0)
    r = spec_jstring (c, obj, "cgroupsPath", false, &l->cgroups_path);
  if (r >= 0 && (r = spec_jobject_parse (c, obj, "resources", resources_fn, &l->resources)) > 0)
    l->has_resources = true;
  if (r >= 0)
    r = parse_propagation (c, obj, l);
  if (r >= 0 && (r = spec_jstrv (c, obj, "maskedPaths", &l->masked_paths)) > 0)
    r = spec_check_abs_strv (c, "maskedPaths", l->masked_paths);
  if (r >= 0 && (r = spec_jstrv (c, obj, "readonlyPaths", &l->readonly_paths)) > 0)
    r = spec_check_abs_strv (c, "readonlyPaths", l->readonly_paths);
  if (r >= 0)
    r = spec_jstring (c, obj, "mountLabel", false, &l->mount_label);
  if (r >= 0 && (r = spec_jobject_parse (c, obj, "seccomp", seccomp_fn, &l->seccomp)) > 0)
    l->has_seccomp = true;
  if (r >= 0)
    r = parse_personality (c, obj, l);
  if (r >= 0)
    r = parse_time_offsets (c, obj, l);
  if (r >= 0)
    r = parse_intel_rdt (c, obj, l);
  return r < 0 ? r : 0;
}
