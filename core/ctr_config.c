/* ctr_config.c: the user's `run` options -> the image config overrides and config.json edits.
 *
 * Pure: JSON in, JSON out, no kernel call, so every flag is a table test.  Options that
 * change what the image says (-u, -w, -e, --entrypoint, CMD) override the image config
 * before it is converted (image_spec_json resolves user names in the image's /etc/passwd);
 * the rest edit the converted config.json.  Bad values are refused here, before any host
 * change is made. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/ctr.h"
#include "core/spec.h"
#include "core/strv.h"

/* docker's default capability set (moby's oci/caps/defaults.go lists the same 14) */
static const char *const default_caps[] = { "CAP_CHOWN",
                                            "CAP_DAC_OVERRIDE",
                                            "CAP_FSETID",
                                            "CAP_FOWNER",
                                            "CAP_MKNOD",
                                            "CAP_NET_RAW",
                                            "CAP_SETGID",
                                            "CAP_SETUID",
                                            "CAP_SETFCAP",
                                            "CAP_SETPCAP",
                                            "CAP_NET_BIND_SERVICE",
                                            "CAP_SYS_CHROOT",
                                            "CAP_KILL",
                                            "CAP_AUDIT_WRITE",
                                            NULL };

int
ctr_parse_size (const char *s, int64_t *out)
{
  char *end;
  double v;
  int64_t mult = 1;

  if (s == NULL || *s < '0' || *s > '9')
    return -EINVAL;
  v = strtod (s, &end);
  if (end[0] && end[1] && !((end[1] == 'b' || end[1] == 'B') && end[2] == '\0'))
    return -EINVAL;
  switch (*end)
    {
    case '\0':
    case 'b':
    case 'B':
      break;
    case 'k':
    case 'K':
      mult = 1024;
      break;
    case 'm':
    case 'M':
      mult = 1024 * 1024;
      break;
    case 'g':
    case 'G':
      mult = 1024LL * 1024 * 1024;
      break;
    default:
      return -EINVAL;
    }
  if ((*end == 'b' || *end == 'B') && end[1])
    return -EINVAL;
  if (v <= 0 || v * (double)mult > 9.0e18)
    return -EINVAL;
  *out = (int64_t)(v * (double)mult);
  return 0;
}

int
ctr_parse_cpus (const char *s, int64_t *quota)
{
  char *end;
  double v;

  if (s == NULL || *s < '0' || *s > '9')
    return -EINVAL;
  v = strtod (s, &end);
  if (*end || v < 0.01 || v > 4096)
    return -EINVAL;
  *quota = (int64_t)(v * 100000 + 0.5);
  return 0;
}

static json_t *
strv_json (char *const *v)
{
  json_t *a = json_array ();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

void *
ctr_config_override (const struct ctr_opts *o)
{
  json_t *ov = json_object ();

  if (o->user)
    json_object_set_new (ov, "User", json_string (o->user));
  if (o->workdir)
    json_object_set_new (ov, "WorkingDir", json_string (o->workdir));
  if (o->entrypoint)
    {
      /* docker: --entrypoint replaces the image's and drops its Cmd */
      json_t *ep = json_array ();
      if (*o->entrypoint)
        json_array_append_new (ep, json_string (o->entrypoint));
      json_object_set_new (ov, "Entrypoint", ep);
      json_object_set_new (ov, "Cmd", json_array ());
    }
  if (o->cmd && o->cmd[0])
    json_object_set_new (ov, "Cmd", strv_json (o->cmd));
  return ov;
}

/* ---- mounts ---- */

static json_t *
bind_mount (const char *src, const char *dst, bool ro)
{
  json_t *opts = json_pack ("[ss]", "rbind", "rprivate");
  if (ro)
    json_array_append_new (opts, json_string ("ro"));
  return json_pack ("{s:s,s:s,s:s,s:o}", "destination", dst, "type", "bind", "source", src,
                    "options", opts);
}

/* -v SRC:DST[:ro|rw] with SRC and DST absolute (no named volumes) */
static int
parse_volume (json_t *mounts, const char *v, struct focker_err **err)
{
  _cleanup_strv_ char **f = NULL;
  char *copy = xstrdup (v), *save = NULL;
  bool ro = false;
  size_t n;

  for (char *t = strtok_r (copy, ":", &save); t; t = strtok_r (NULL, ":", &save))
    strv_push (&f, t);
  free (copy);
  n = strv_length (f);
  if (n == 3 && strcmp (f[2], "ro") == 0)
    ro = true;
  else if (n == 3 && strcmp (f[2], "rw") != 0)
    return focker_fail (err, -EINVAL, "-v %s: unknown option \"%s\" (ro or rw)", v, f[2]);
  if (n < 2 || n > 3)
    return focker_fail (err, -EINVAL, "-v %s: expected SRC:DST[:ro]", v);
  if (f[0][0] != '/')
    return focker_fail (err, -EINVAL, "-v %s: the source must be an absolute host path", v);
  if (f[1][0] != '/')
    return focker_fail (err, -EINVAL, "-v %s: the destination must be an absolute path", v);
  json_array_append_new (mounts, bind_mount (f[0], f[1], ro));
  return 0;
}

/* --mount type=bind,source=S,target=T[,readonly] | type=tmpfs,target=T[,tmpfs-size=N] */
static int
parse_mount (json_t *mounts, const char *v, struct focker_err **err)
{
  _cleanup_free_ char *copy = xstrdup (v);
  const char *type = NULL, *src = NULL, *dst = NULL, *size = NULL;
  char *save = NULL;
  bool ro = false;

  for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (t, '=');
      const char *val = eq ? eq + 1 : "";
      if (eq)
        *eq = '\0';
      if (strcmp (t, "type") == 0)
        type = val;
      else if (strcmp (t, "source") == 0 || strcmp (t, "src") == 0)
        src = val;
      else if (strcmp (t, "target") == 0 || strcmp (t, "destination") == 0
               || strcmp (t, "dst") == 0)
        dst = val;
      else if (strcmp (t, "readonly") == 0 || strcmp (t, "ro") == 0)
        ro = !eq || strcmp (val, "true") == 0 || strcmp (val, "1") == 0;
      else if (strcmp (t, "tmpfs-size") == 0)
        size = val;
      else
        return focker_fail (err, -EINVAL, "--mount %s: unknown key \"%s\"", v, t);
    }
  if (dst == NULL || dst[0] != '/')
    return focker_fail (err, -EINVAL, "--mount %s: target= must be an absolute path", v);
  if (type && strcmp (type, "tmpfs") == 0)
    {
      json_t *opts = json_pack ("[ss]", "nosuid", "nodev");
      int64_t bytes;
      if (src)
        return focker_fail (err, -EINVAL, "--mount %s: a tmpfs has no source", v);
      if (size)
        {
          if (ctr_parse_size (size, &bytes) < 0)
            {
              json_decref (opts);
              return focker_fail (err, -EINVAL, "--mount %s: bad tmpfs-size \"%s\"", v, size);
            }
          json_array_append_new (opts, json_sprintf ("size=%lld", (long long)bytes));
        }
      if (ro)
        json_array_append_new (opts, json_string ("ro"));
      json_array_append_new (mounts, json_pack ("{s:s,s:s,s:s,s:o}", "destination", dst, "type",
                                                "tmpfs", "source", "tmpfs", "options", opts));
      return 0;
    }
  if (type == NULL || strcmp (type, "bind") != 0)
    return focker_fail (err, -EINVAL, "--mount %s: type must be bind or tmpfs", v);
  if (src == NULL || src[0] != '/')
    return focker_fail (err, -EINVAL, "--mount %s: source= must be an absolute host path", v);
  json_array_append_new (mounts, bind_mount (src, dst, ro));
  return 0;
}

/* ---- capabilities ---- */

static char *
cap_name (const char *c)
{
  char *n = strncasecmp (c, "CAP_", 4) == 0 ? xstrdup (c) : xasprintf ("CAP_%s", c);
  for (char *p = n; *p; p++)
    if (*p >= 'a' && *p <= 'z')
      *p = (char)(*p - 'a' + 'A');
  return n;
}

static bool
cap_known (const char *name)
{
  for (int cap = 0; cap <= SPEC_CAP_LAST; cap++)
    if (spec_cap_name (cap) && strcmp (spec_cap_name (cap), name) == 0)
      return true;
  return false;
}

static void
caps_remove (char ***set, const char *name)
{
  char **out = NULL;
  for (size_t i = 0; *set && (*set)[i]; i++)
    if (strcmp ((*set)[i], name) != 0)
      strv_push (&out, (*set)[i]);
  strv_free (*set);
  *set = out ? out : calloc (1, sizeof (char *));
}

static bool
caps_has (char **set, const char *name)
{
  for (size_t i = 0; set && set[i]; i++)
    if (strcmp (set[i], name) == 0)
      return true;
  return false;
}

/* docker's order: the default set, --cap-add (ALL: every capability), then --cap-drop
 * (ALL: none). */
static int
apply_caps (json_t *proc, const struct ctr_opts *o, struct focker_err **err)
{
  _cleanup_strv_ char **set = strv_copy ((char *const *)default_caps);
  json_t *caps;

  for (size_t i = 0; o->cap_add && o->cap_add[i]; i++)
    {
      _cleanup_free_ char *n = cap_name (o->cap_add[i]);
      if (strcmp (n, "CAP_ALL") == 0)
        {
          for (int cap = 0; cap <= SPEC_CAP_LAST; cap++)
            if (spec_cap_name (cap) && !caps_has (set, spec_cap_name (cap)))
              strv_push (&set, spec_cap_name (cap));
          continue;
        }
      if (!cap_known (n))
        return focker_fail (err, -EINVAL, "--cap-add: unknown capability \"%s\"", o->cap_add[i]);
      if (!caps_has (set, n))
        strv_push (&set, n);
    }
  for (size_t i = 0; o->cap_drop && o->cap_drop[i]; i++)
    {
      _cleanup_free_ char *n = cap_name (o->cap_drop[i]);
      if (strcmp (n, "CAP_ALL") == 0)
        {
          strv_free (set);
          set = calloc (1, sizeof (char *));
          continue;
        }
      if (!cap_known (n))
        return focker_fail (err, -EINVAL, "--cap-drop: unknown capability \"%s\"", o->cap_drop[i]);
      caps_remove (&set, n);
    }
  caps = json_object ();
  json_object_set_new (caps, "bounding", strv_json (set));
  json_object_set_new (caps, "effective", strv_json (set));
  json_object_set_new (caps, "permitted", strv_json (set));
  json_object_set_new (proc, "capabilities", caps);
  return 0;
}

/* ---- security options ---- */

static int
apply_security (json_t *spec, json_t *proc, const struct ctr_opts *o, struct focker_err **err)
{
  json_t *linux_ = json_object_get (spec, "linux");

  for (size_t i = 0; o->security_opt && o->security_opt[i]; i++)
    {
      const char *v = o->security_opt[i];
      char sep = strchr (v, '=') ? '=' : ':';
      if (strcmp (v, "no-new-privileges") == 0 || strcmp (v, "no-new-privileges=true") == 0
          || strcmp (v, "no-new-privileges:true") == 0)
        json_object_set_new (proc, "noNewPrivileges", json_true ());
      else if (strcmp (v, "seccomp=unconfined") == 0 || strcmp (v, "seccomp:unconfined") == 0)
        json_object_del (linux_, "seccomp");
      else if (strncmp (v, "seccomp", 7) == 0 && v[7] == sep)
        {
          json_error_t je;
          json_t *prof = o->seccomp_profile ? json_loads (o->seccomp_profile, 0, &je) : NULL;
          if (!json_is_object (prof))
            {
              json_decref (prof);
              return focker_fail (err, -EINVAL,
                                  "--security-opt %s: not a JSON seccomp profile (the OCI "
                                  "linux.seccomp object)",
                                  v);
            }
          json_object_set_new (linux_, "seccomp", prof);
        }
      else if (strncmp (v, "label", 5) == 0 && v[5] == sep && strncmp (v + 6, "type:", 5) == 0
               && v[11])
        json_object_set_new (proc, "selinuxLabel",
                             json_sprintf ("system_u:system_r:%s:s0", v + 11));
      else if (strncmp (v, "label", 5) == 0 && v[5] == sep && strcmp (v + 6, "disable") == 0)
        json_object_del (proc, "selinuxLabel");
      else
        return focker_fail (err, -EINVAL,
                            "--security-opt %s: unknown (seccomp=FILE|unconfined, "
                            "no-new-privileges, label=type:T)",
                            v);
    }
  return 0;
}

/* ---- resources and namespaces ---- */

static void
apply_resources (json_t *linux_, const struct ctr_opts *o)
{
  json_t *res = json_object_get (linux_, "resources");

  if (res == NULL)
    json_object_set_new (linux_, "resources", res = json_object ());
  if (o->memory)
    json_object_set_new (res, "memory", json_pack ("{s:I}", "limit", (json_int_t)o->memory));
  if (o->cpu_quota)
    json_object_set_new (
        res, "cpu",
        json_pack ("{s:I,s:I}", "quota", (json_int_t)o->cpu_quota, "period", (json_int_t)100000));
  if (o->pids_limit)
    json_object_set_new (res, "pids", json_pack ("{s:I}", "limit", (json_int_t)o->pids_limit));
}

static void
apply_network (json_t *linux_, const char *netns_path, bool host_network)
{
  json_t *ns = json_object_get (linux_, "namespaces"), *e;
  size_t i;

  bool found = false;

  for (i = 0; i < json_array_size (ns); i++)
    {
      const char *type = json_string_value (json_object_get (json_array_get (ns, i), "type"));
      bool net = type && strcmp (type, "network") == 0, uts = type && strcmp (type, "uts") == 0;
      e = json_array_get (ns, i);
      if (host_network && (net || uts))
        json_array_remove (ns, i--);
      else if (net)
        {
          found = true;
          if (netns_path)
            json_object_set_new (e, "path", json_string (netns_path));
        }
    }
  if (!host_network && !found)
    json_array_append_new (ns, netns_path
                                   ? json_pack ("{s:s,s:s}", "type", "network", "path", netns_path)
                                   : json_pack ("{s:s}", "type", "network"));
}

int
ctr_config_apply (void *spec_, const struct ctr_opts *o, const char *dir, const char *netns_path,
                  bool host_network, struct focker_err **err)
{
  json_t *spec = spec_, *proc = json_object_get (spec, "process");
  json_t *linux_ = json_object_get (spec, "linux"), *mounts = json_object_get (spec, "mounts");
  json_t *env = json_object_get (proc, "env");
  int r;

  if (proc == NULL || linux_ == NULL || mounts == NULL || env == NULL)
    return focker_fail (err, -EINVAL, "config.json: no process, linux, mounts or env");
  for (size_t i = 0; o->env && o->env[i]; i++)
    {
      const char *eq = strchr (o->env[i], '=');
      size_t klen = eq ? (size_t)(eq - o->env[i]) : strlen (o->env[i]);
      json_t *e;
      size_t j;
      if (klen == 0 || eq == NULL)
        return focker_fail (err, -EINVAL, "-e %s: expected KEY=VALUE", o->env[i]);
      json_array_foreach (env, j, e)
      {
        const char *s = json_string_value (e);
        if (s && strncmp (s, o->env[i], klen + 1) == 0)
          {
            json_array_remove (env, j);
            break;
          }
      }
      json_array_append_new (env, json_string (o->env[i]));
    }
  for (size_t i = 0; o->volumes && o->volumes[i]; i++)
    if ((r = parse_volume (mounts, o->volumes[i], err)) < 0)
      return r;
  for (size_t i = 0; o->mounts && o->mounts[i]; i++)
    if ((r = parse_mount (mounts, o->mounts[i], err)) < 0)
      return r;
  if ((r = apply_caps (proc, o, err)) < 0)
    return r;
  json_object_set_new (proc, "noNewPrivileges", json_false ());
  if ((r = apply_security (spec, proc, o, err)) < 0)
    return r;
  if (dir)
    {
      /* what docker binds: the network files the user layer wrote for this container */
      static const char *const files[] = { "hosts", "resolv.conf", "hostname", NULL };
      for (const char *const *f = files; *f; f++)
        {
          _cleanup_free_ char *src = xasprintf ("%s/%s", dir, *f);
          _cleanup_free_ char *dst = xasprintf ("/etc/%s", *f);
          json_array_append_new (mounts, bind_mount (src, dst, false));
        }
    }
  if (host_network)
    json_object_del (spec, "hostname"); /* the host's uts namespace, as docker's host mode */
  else
    json_object_set_new (spec, "hostname", json_string (o->hostname ? o->hostname : "focker"));
  json_object_set_new (proc, "terminal", json_boolean (o->tty));
  json_object_set_new (json_object_get (spec, "root"), "readonly", json_boolean (o->read_only));
  apply_resources (linux_, o);
  apply_network (linux_, netns_path, host_network);
  return 0;
}
