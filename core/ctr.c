/* ctr.c: user container records: create (record + bundle + config.json), remove, names,
 * id prefixes, state.json (see ctr.h for the layout).
 *
 * Order on create, each step on the undo list: the record directory, the name (linked
 * under locks/containers), container.json, the network (bridge: the lease, netns, veth and
 * rules; container.json then gets its NetworkSettings), the bundle (its store record first,
 * then the overlay), config.json edited.  Every bad option is refused before the first
 * of these, on a scratch copy of the default config. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <netinet/in.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/container.h"
#include "core/ctr.h"
#include "core/ctr_net.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/net.h"
#include "core/spec.h"
#include "core/strv.h"
#include "core/undo.h"
#include "sys/sys.h"

char *
ctr_dir (struct store *s, const char *id)
{
  return xasprintf ("%s/containers/%s", s->root, id);
}

static bool
is_hex (const char *s, size_t max)
{
  size_t n = 0;
  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')) || n >= max)
      return false;
  return n > 0;
}

/* docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
static bool
name_valid (const char *n)
{
  if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z')
        || (n[0] >= '0' && n[0] <= '9')))
    return false;
  for (const char *p = n; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '_' || *p == '.' || *p == '-'))
      return false;
  return strlen (n) <= 128;
}

static int
open_containers (struct store *s, bool create, struct focker_err **err)
{
  int r;

  if (create)
    {
      r = mkdir_p_at (s->fd, "containers/names", 0700, err);
      if (r < 0)
        return r;
    }
  r = sys_openat (s->fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (r < 0)
    return focker_fail (err, r, "open %s/containers", s->root);
  return r;
}

/* ---- undo steps ---- */

struct undo_at
{
  int dirfd; /* borrowed: the containers dir stays open for the whole create */
  char name[];
};

static void
undo_unlink_name (void *data)
{
  struct undo_at *u = data;
  sys_unlinkat (u->dirfd, u->name, 0);
}

static void
undo_rm_record (void *data)
{
  struct undo_at *u = data;
  rm_rf_at (u->dirfd, u->name);
}

static void
push_at (struct undo *undo, void (*fn) (void *), int dirfd, const char *name)
{
  struct undo_at *u = xmalloc (sizeof *u + strlen (name) + 1);
  u->dirfd = dirfd;
  strcpy (u->name, name);
  undo_push (undo, fn, u);
}

struct undo_bundle
{
  struct store *s;
  char dir[];
};

static void
undo_unbundle (void *data)
{
  struct undo_bundle *u = data;
  image_unbundle (u->s, u->dir, NULL);
}

struct undo_net
{
  const char *mode, *storage_root, *run_root; /* borrowed: live for the whole create */
  char id[];
};

static void
undo_net (void *data)
{
  struct undo_net *u = data;
  _cleanup_err_ struct focker_err *e = NULL;
  ctr_net_detach (u->mode, u->storage_root, u->run_root, u->id, &e);
}

/* ---- create ---- */

/* docker's "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}] of o's published ports
 * (already checked by validate) */
static json_t *
port_map (const struct ctr_opts *o)
{
  json_t *ports = json_object ();

  for (size_t i = 0; o->publish && o->publish[i]; i++)
    {
      struct net_publish p;
      char ip[16], port[8];
      _cleanup_free_ char *key = NULL;
      _cleanup_err_ struct focker_err *e = NULL;
      if (net_publish_parse (&p, o->publish[i], &e) < 0)
        continue;
      key = xasprintf ("%u/%s", p.ctr_port, p.proto == IPPROTO_UDP ? "udp" : "tcp");
      snprintf (port, sizeof port, "%u", p.host_port);
      if (json_object_get (ports, key) == NULL)
        json_object_set_new (ports, key, json_array ());
      json_array_append_new (
          json_object_get (ports, key),
          json_pack ("{s:s,s:s}", "HostIp", ipv4_str (ip, p.host_ip), "HostPort", port));
    }
  return ports;
}

static json_t *
network_settings (const struct ctr_opts *o, const struct ctr_net_plan *net)
{
  /* only the bridge publishes: host and none discard -p (with a warning), so ps shows none */
  bool bridge = strcmp (o->network, "bridge") == 0;
  return json_pack ("{s:s,s:s,s:i,s:s,s:o}", "IPAddress", net->ip, "Gateway", net->gateway,
                    "IPPrefixLen", net->prefix, "SandboxKey", net->netns_path ?: "", "Ports",
                    bridge ? port_map (o) : json_object ());
}

static json_t *
record_json (const struct ctr_opts *o, const struct image *img, const char *created)
{
  json_t *cfg, *host, *rec;

  cfg = json_pack ("{s:s,s:s?,s:s?,s:s?,s:b,s:b,s:o,s:o}", "Image", o->image, "User", o->user,
                   "WorkingDir", o->workdir, "Hostname", o->hostname, "Tty", o->tty, "OpenStdin",
                   o->interactive, "Env", json_array (), "Cmd", json_array ());
  for (size_t i = 0; o->env && o->env[i]; i++)
    json_array_append_new (json_object_get (cfg, "Env"), json_string (o->env[i]));
  for (size_t i = 0; o->cmd && o->cmd[i]; i++)
    json_array_append_new (json_object_get (cfg, "Cmd"), json_string (o->cmd[i]));
  if (o->entrypoint)
    json_object_set_new (cfg, "Entrypoint", json_string (o->entrypoint));
  host
      = json_pack ("{s:b,s:s,s:I,s:I,s:I,s:b,s:o,s:o,s:o,s:o,s:o}", "AutoRemove", o->auto_remove,
                   "NetworkMode", o->network, "Memory", (json_int_t)o->memory, "NanoCpus",
                   (json_int_t)o->cpu_quota * 10000, "PidsLimit", (json_int_t)o->pids_limit,
                   "ReadonlyRootfs", o->read_only, "Binds", json_array (), "Mounts", json_array (),
                   "CapAdd", json_array (), "CapDrop", json_array (), "SecurityOpt", json_array ());
  json_object_set_new (host, "PortBindings", port_map (o));
  static const char *const keys[] = { "Binds", "Mounts", "CapAdd", "CapDrop", "SecurityOpt" };
  char **const lists[] = { o->volumes, o->mounts, o->cap_add, o->cap_drop, o->security_opt };
  for (size_t k = 0; k < 5; k++)
    for (size_t i = 0; lists[k] && lists[k][i]; i++)
      json_array_append_new (json_object_get (host, keys[k]), json_string (lists[k][i]));
  rec = json_pack ("{s:s,s:s,s:s,s:s,s:o,s:o}", "Id", o->id, "Name", o->name ? o->name : "",
                   "Created", created, "ImageId", img->id, "Config", cfg, "HostConfig", host);
  return rec;
}

/* Check every option on a scratch default config: no host change for a bad -v or --cap-add. */
static int
validate (const struct ctr_opts *o, struct focker_err **err)
{
  _cleanup_free_ char *def = spec_default_json (false);
  _cleanup_json_ json_t *spec = json_loads (def, 0, NULL);
  int r;

  if (o->id == NULL || strlen (o->id) != CTR_ID_LEN || !is_hex (o->id, CTR_ID_LEN))
    return focker_fail (err, -EINVAL, "container id must be %d hex digits", CTR_ID_LEN);
  if (o->name && !name_valid (o->name))
    return focker_fail (err, -EINVAL, "invalid container name \"%s\" ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                        o->name);
  if (o->workdir && o->workdir[0] != '/')
    return focker_fail (err, -EINVAL, "-w %s: the working directory must be absolute", o->workdir);
  if ((r = ctr_net_check (o, err)) < 0)
    return r;
  return ctr_config_apply (spec, o, "/x", NULL, false, err);
}

/* Does the name file at path point at a record that is gone (an rm killed half-way)? */
static bool
name_is_stale (int cdir, const char *path)
{
  _cleanup_free_ char *other = NULL;
  struct focker_err *e = NULL;
  size_t len;
  int r = read_file_at (&other, &len, cdir, path, 128, &e);

  focker_err_free (e);
  return r == 0 && len == CTR_ID_LEN && is_hex (other, CTR_ID_LEN) && !exists_at (cdir, other);
}

/* Claim the name under locks/containers: the id is written to names/.tmp-<id> and linked to
 * names/<name>, so a name exists only with its whole id, and link's EEXIST is the clash. */
static int
claim_name (struct store *s, int cdir, const struct ctr_opts *o, struct undo *undo,
            struct focker_err **err)
{
  _cleanup_close_ int lockfd = -1, fd = -1;
  _cleanup_free_ char *path = xasprintf ("names/%s", o->name);
  _cleanup_free_ char *tmp = xasprintf ("names/.tmp-%s", o->id);
  int r;

  lockfd = store_lock (s, "containers", LOCK_EX, err);
  if (lockfd < 0)
    return lockfd;
  fd = sys_openat (cdir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return focker_fail (err, fd, "create %s/containers/%s", s->root, tmp);
  push_at (undo, undo_unlink_name, cdir, tmp);
  r = write_all (fd, o->id, CTR_ID_LEN);
  if (r < 0)
    return focker_fail (err, r, "write %s/containers/%s", s->root, tmp);
  r = sys_linkat (cdir, tmp, cdir, path, 0);
  if (r == -EEXIST && name_is_stale (cdir, path))
    {
      sys_unlinkat (cdir, path, 0);
      r = sys_linkat (cdir, tmp, cdir, path, 0);
    }
  if (r == -EEXIST)
    {
      _cleanup_free_ char *other = NULL;
      size_t len;
      if (read_file_at (&other, &len, cdir, path, 128, err) < 0 || len < CTR_SHORT_LEN)
        {
          focker_err_free (TAKE_PTR (*err));
          return focker_fail (err, -EEXIST, "the container name \"%s\" is already in use", o->name);
        }
      return focker_fail (err, -EEXIST,
                          "the container name \"%s\" is already in use by container %.12s", o->name,
                          other);
    }
  if (r < 0)
    return focker_fail (err, r, "link %s/containers/%s", s->root, path);
  push_at (undo, undo_unlink_name, cdir, path);
  r = sys_unlinkat (cdir, tmp, 0);
  if (r < 0)
    return focker_fail (err, r, "remove %s/containers/%s", s->root, tmp);
  return 0;
}

static int
write_config (const char *bundle, const struct ctr_opts *o, const char *dir,
              const struct ctr_net_plan *net, struct focker_err **err)
{
  _cleanup_close_ int bfd = -1;
  _cleanup_free_ char *text = NULL, *out = NULL;
  _cleanup_json_ json_t *spec = NULL;
  size_t len;
  int r;

  bfd = open_dir_at (AT_FDCWD, bundle, err);
  if (bfd < 0)
    return bfd;
  r = read_file_at (&text, &len, bfd, "config.json", 1 << 22, err);
  if (r < 0)
    return r;
  spec = json_loadb (text, len, 0, NULL);
  if (spec == NULL)
    return focker_fail (err, -EINVAL, "%s/config.json: does not parse", bundle);
  r = ctr_config_apply (spec, o, dir, net->netns_path, net->host, err);
  if (r < 0)
    return r;
  out = json_dumps (spec, JSON_INDENT (2));
  return write_file_atomic_at (bfd, "config.json", out, strlen (out), 0644, false, err);
}

static int
create_steps (struct store *s, int cdir, const struct ctr_opts *o, struct image *img,
              struct undo *undo, struct focker_err **err)
{
  _cleanup_free_ char *dir = ctr_dir (s, o->id), *bundle = NULL, *text = NULL, *now = NULL;
  _cleanup_json_ json_t *rec = NULL, *ov = NULL;
  _cleanup_close_ int rfd = -1;
  struct ctr_net_plan net = { 0 };
  struct bundle_opts bo = { 0 };
  bool copied;
  int r;

  /* the record first: whatever a crash leaves after it, rm -f ID finds */
  r = sys_mkdirat (cdir, o->id, 0700);
  if (r < 0)
    return focker_fail (err, r, "mkdir %s", dir);
  push_at (undo, undo_rm_record, cdir, o->id);
  if (o->name && (r = claim_name (s, cdir, o, undo, err)) < 0)
    return r;
  rfd = sys_openat (cdir, o->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (rfd < 0)
    return focker_fail (err, rfd, "open %s", dir);
  now = state_now_rfc3339 ();
  rec = record_json (o, img, now);
  text = json_dumps (rec, JSON_INDENT (2));
  r = write_file_atomic_at (rfd, "container.json", text, strlen (text), 0600, false, err);
  if (r < 0)
    return r;
  /* a failed attach leaves nothing of itself (core/net undoes its own steps) */
  r = ctr_net_attach (&net, o, s->root, rfd, err);
  if (r < 0)
    return r;
  struct undo_net *un = xmalloc (sizeof *un + strlen (o->id) + 1);
  un->mode = o->network;
  un->storage_root = s->root;
  un->run_root = o->run_root;
  strcpy (un->id, o->id);
  undo_push (undo, undo_net, un);
  json_object_set_new (rec, "NetworkSettings", network_settings (o, &net));
  free (text);
  text = json_dumps (rec, JSON_INDENT (2));
  r = write_file_atomic_at (rfd, "container.json", text, strlen (text), 0600, false, err);
  if (r < 0)
    goto out;
  bundle = xasprintf ("%s/bundle", dir);
  ov = ctr_config_override (o);
  bo.image = img->id;
  bo.dir = bundle;
  bo.config_override = ov;
  r = image_bundle (s, &bo, &copied, err);
  if (r == 0)
    {
      struct undo_bundle *u = xmalloc (sizeof *u + strlen (bundle) + 1);
      u->s = s;
      strcpy (u->dir, bundle);
      undo_push (undo, undo_unbundle, u);
      r = write_config (bundle, o, net.files_dir ? net.files_dir : dir, &net, err);
    }
out:
  ctr_net_plan_release (&net);
  return r;
}

int
ctr_create (struct store *s, const struct ctr_opts *o, struct focker_err **err)
{
  _cleanup_close_ int cdir = -1;
  _cleanup_undo_ struct undo undo = { 0 }; /* runs before cdir, which its steps use, closes */
  struct image *img = NULL;
  int r;

  r = validate (o, err);
  if (r < 0)
    return r;
  r = store_image_get (&img, s, o->image, err);
  if (r < 0)
    return r;
  cdir = open_containers (s, true, err);
  r = cdir < 0 ? cdir : create_steps (s, cdir, o, img, &undo, err);
  image_free (img);
  if (r < 0)
    return r;
  undo_drop (&undo);
  return 0;
}

/* ---- the network again after a reboot ---- */

/* docker's PortBindings back into -p specs: "HostIp:HostPort:80/tcp" */
static char **
publish_of (json_t *bindings)
{
  char **out = xcalloc (1, sizeof *out);
  const char *key;
  json_t *arr, *b;
  size_t i;

  json_object_foreach (bindings, key, arr)
  {
    json_array_foreach (arr, i, b)
    {
      _cleanup_free_ char *spec
          = xasprintf ("%s:%s:%s", json_string_value (json_object_get (b, "HostIp")) ?: "0.0.0.0",
                       json_string_value (json_object_get (b, "HostPort")) ?: "", key);
      strv_push (&out, spec);
    }
  }
  return out;
}

int
ctr_net_restore (struct store *s, const char *run_root, const char *id, struct focker_err **err)
{
  _cleanup_json_ json_t *rec = NULL;
  _cleanup_strv_ char **publish = NULL;
  _cleanup_free_ char *ns = NULL, *text = NULL,
                      *path = xasprintf ("containers/%s/container.json", id);
  struct ctr_net_plan net = { 0 };
  struct stat st;
  void *j = NULL;
  json_t *host, *cfg;
  int r;

  if ((r = ctr_read_config (&j, s, id, err)) < 0)
    return r;
  rec = j;
  host = json_object_get (rec, "HostConfig");
  cfg = json_object_get (rec, "Config");
  if (strcmp (json_string_value (json_object_get (host, "NetworkMode")) ?: "", "bridge") != 0
      || run_root == NULL)
    return 0;
  ns = xasprintf ("%s/.network/netns/%s", run_root, id);
  r = sys_fstatat (AT_FDCWD, ns, &st, AT_SYMLINK_NOFOLLOW);
  if (r == 0)
    return 0;
  if (r != -ENOENT)
    return focker_fail (err, r, "stat %s", ns);
  /* what the lease file still says of it (a complete lease without its namespace) goes */
  if ((r = ctr_net_detach ("bridge", s->root, run_root, id, err)) < 0)
    return r;
  publish = publish_of (json_object_get (host, "PortBindings"));
  struct ctr_opts o = { .id = id,
                        .network = "bridge",
                        .run_root = run_root,
                        .hostname = json_string_value (json_object_get (cfg, "Hostname")),
                        .publish = publish };
  if ((r = ctr_net_attach (&net, &o, s->root, -1, err)) < 0)
    return r;
  json_object_set_new (rec, "NetworkSettings", network_settings (&o, &net));
  text = json_dumps (rec, JSON_INDENT (2));
  r = write_file_atomic_at (s->fd, path, text, strlen (text), 0600, false, err);
  ctr_net_plan_release (&net);
  if (r < 0)
    {
      _cleanup_err_ struct focker_err *e = NULL;
      ctr_net_detach ("bridge", s->root, run_root, id, &e);
    }
  return r;
}

/* ---- resolve, list ---- */

int
ctr_list_ids (char ***out, struct store *s, struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  char **ids = calloc (1, sizeof (char *));
  struct focker_err *e = NULL;
  int r;

  r = list_dir_at (&names, s->fd, "containers", &e);
  if (r == -ENOENT)
    {
      focker_err_free (e);
      *out = ids;
      return 0;
    }
  if (r < 0)
    {
      free (ids);
      *err = e;
      return r;
    }
  for (size_t i = 0; names[i]; i++)
    if (strlen (names[i]) == CTR_ID_LEN && is_hex (names[i], CTR_ID_LEN))
      strv_push (&ids, names[i]);
  *out = ids;
  return 0;
}

int
ctr_resolve (struct store *s, const char *ref, char id[CTR_ID_LEN + 1], struct focker_err **err)
{
  _cleanup_strv_ char **ids = NULL;
  const char *found = NULL;
  int r;

  if (ref[0] && name_valid (ref) && strchr (ref, '/') == NULL)
    {
      _cleanup_free_ char *path = xasprintf ("containers/names/%s", ref), *text = NULL;
      size_t len;
      struct focker_err *e = NULL;
      r = read_file_at (&text, &len, s->fd, path, 128, &e);
      focker_err_free (e);
      if (r == 0 && len == CTR_ID_LEN && is_hex (text, CTR_ID_LEN)
          && exists_at (s->fd, (free (path), path = xasprintf ("containers/%s", text))))
        {
          memcpy (id, text, CTR_ID_LEN + 1);
          return 0;
        }
    }
  if (is_hex (ref, CTR_ID_LEN))
    {
      r = ctr_list_ids (&ids, s, err);
      if (r < 0)
        return r;
      for (size_t i = 0; ids[i]; i++)
        if (strncmp (ids[i], ref, strlen (ref)) == 0)
          {
            if (found)
              return focker_fail (err, -EINVAL, "container id prefix %s is ambiguous", ref);
            found = ids[i];
          }
    }
  if (found == NULL)
    return focker_fail (err, -ENOENT, "no such container: %s", ref);
  memcpy (id, found, CTR_ID_LEN + 1);
  return 0;
}

/* ---- container.json, state.json ---- */

static int
read_json (void **out, struct store *s, const char *id, const char *file, bool may_miss,
           struct focker_err **err)
{
  _cleanup_free_ char *path = xasprintf ("containers/%s/%s", id, file), *text = NULL;
  struct focker_err *e = NULL;
  size_t len;
  json_t *j;
  int r;

  r = read_file_at (&text, &len, s->fd, path, 1 << 22, &e);
  if (r == -ENOENT && may_miss)
    {
      focker_err_free (e);
      *out = json_object ();
      return 0;
    }
  if (r < 0)
    {
      *err = e;
      return r;
    }
  j = json_loadb (text, len, 0, NULL);
  if (!json_is_object (j))
    {
      json_decref (j);
      return focker_fail (err, -EINVAL, "%s/%s: does not parse", s->root, path);
    }
  *out = j;
  return 0;
}

int
ctr_read_config (void **out, struct store *s, const char *id, struct focker_err **err)
{
  return read_json (out, s, id, "container.json", false, err);
}

int
ctr_read_state (void **out, struct store *s, const char *id, struct focker_err **err)
{
  return read_json (out, s, id, "state.json", true, err);
}

bool
ctr_monitor_alive (void *state)
{
  json_int_t pid = json_integer_value (json_object_get (state, "MonitorPid"));
  json_t *want = json_object_get (state, "MonitorStartTime");
  unsigned long long start = 0;
  char c = 0;

  if (pid <= 0 || pid > INT32_MAX || sys_proc_starttime ((pid_t)pid, &start, &c) < 0)
    return false;
  if (c == 'Z' || c == 'X' || c == 'x') /* a killed monitor nobody reaped yet is dead */
    return false;
  return !json_is_integer (want) || (unsigned long long)json_integer_value (want) == start;
}

void *
ctr_monitor_fields (pid_t pid)
{
  unsigned long long start = 0;
  json_t *o = json_pack ("{s:I}", "MonitorPid", (json_int_t)pid);

  if (sys_proc_starttime (pid, &start, NULL) == 0)
    json_object_set_new (o, "MonitorStartTime", json_integer ((json_int_t)start));
  return o;
}

int
ctr_update_state (struct store *s, const char *id, void *fields, struct focker_err **err)
{
  _cleanup_json_ json_t *st = NULL;
  _cleanup_free_ char *text = NULL, *path = xasprintf ("containers/%s/state.json", id);
  void *j = NULL;
  int r;

  r = ctr_read_state (&j, s, id, err);
  if (r < 0)
    return r;
  st = j;
  json_object_update (st, fields);
  text = json_dumps (st, JSON_COMPACT);
  return write_file_atomic_at (s->fd, path, text, strlen (text), 0600, false, err);
}

/* ---- remove ---- */

/* Unlink every name that holds id, and the temporary of a claim killed before its link.  By
 * content, not by container.json's Name: a create killed between linking the name and
 * writing container.json leaves a name only the names/ files know. */
static int
release_names (struct store *s, int cdir, const char *id, struct focker_err **err)
{
  _cleanup_close_ int lockfd = store_lock (s, "containers", LOCK_EX, err);
  _cleanup_strv_ char **names = NULL;
  _cleanup_free_ char *tmp = xasprintf (".tmp-%s", id);
  int r;

  if (lockfd < 0)
    return lockfd;
  r = list_dir_at (&names, cdir, "names", err);
  if (r < 0)
    return r;
  for (size_t i = 0; names[i]; i++)
    {
      _cleanup_free_ char *path = xasprintf ("names/%s", names[i]), *text = NULL;
      size_t len;
      bool ours = strcmp (names[i], tmp) == 0;
      if (!ours)
        {
          r = read_file_at (&text, &len, cdir, path, 128, err);
          if (r == -ENOENT)
            {
              focker_err_free (TAKE_PTR (*err));
              continue;
            }
          if (r < 0)
            return r;
          ours = len == CTR_ID_LEN && memcmp (text, id, CTR_ID_LEN) == 0;
        }
      if (ours && (r = sys_unlinkat (cdir, path, 0)) < 0 && r != -ENOENT)
        return focker_fail (err, r, "remove %s/containers/%s", s->root, path);
    }
  return 0;
}

int
ctr_remove (struct store *s, const char *runtime_root, const char *id, bool force,
            struct focker_err **err)
{
  _cleanup_free_ char *bundle = NULL, *rec_dir = xasprintf ("containers/%s", id);
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_close_ int cdir = -1;
  struct container_state *st = NULL;
  enum container_status status;
  struct focker_err *e = NULL;
  const char *mode;
  void *j = NULL;
  int r;

  r = container_state (&st, &status, runtime_root, id, &e);
  focker_err_free (e);
  e = NULL;
  if (r == 0)
    state_free (st);
  if (r == 0 && status != STATUS_STOPPED && !force)
    return focker_fail (err, -EBUSY,
                        "container %.12s is %s: stop it first, or remove it with rm -f", id,
                        state_status_name (status));
  r = container_delete (runtime_root, id, true, err);
  if (r < 0)
    return r;
  r = ctr_read_config (&j, s, id, &e);
  if (r < 0 && r != -ENOENT && r != -EINVAL)
    {
      /* the name is in there: removing the record without it would leak the name */
      *err = e;
      return r;
    }
  cfg = r == 0 ? j : NULL;
  focker_err_free (e);
  mode = json_string_value (json_object_get (json_object_get (cfg, "HostConfig"), "NetworkMode"));
  r = ctr_net_detach (mode ? mode : "none", s->root, runtime_root, id, err);
  if (r < 0)
    return r;
  bundle = xasprintf ("%s/containers/%s/bundle", s->root, id);
  e = NULL;
  r = image_unbundle (s, bundle, &e);
  if (r < 0 && r != -ENOENT)
    {
      *err = e;
      return r;
    }
  focker_err_free (e);
  cdir = open_containers (s, false, err);
  if (cdir < 0)
    return cdir;
  r = release_names (s, cdir, id, err);
  if (r < 0)
    return r;
  /* a monitor recording the exit of the container just killed may write state.json once */
  for (int tries = 0; (r = rm_rf_at (cdir, id)) == -ENOTEMPTY && tries < 3; tries++)
    ;
  if (r < 0)
    return focker_fail (err, r, "remove %s/%s", s->root, rec_dir);
  return 0;
}
