/* ctr_net.c: the network modes of a user container (see ctr_net.h).
 *
 * bridge: core/net's attach (netns file, veth, lease, published ports), whose files are bound
 * into the container: one source of truth, written with the address only core/net knows and
 * removed by its detach (a copy in the record would go stale and need its own cleanup).
 * none: a new network namespace made by the runtime (only loopback exists in it); /etc/hosts
 * names localhost and the container's hostname on the loopback addresses, resolv.conf has no
 * server (there is nothing to reach).  host: no network or uts namespace; the host's
 * /etc/hosts and /etc/resolv.conf are copied, as docker does. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/ctr_net.h"
#include "core/fsutil.h"
#include "core/net.h"
#include "core/strv.h"
#include "sys/sys.h"

int
ctr_net_check (const struct ctr_opts *o, struct focker_err **err)
{
  const char *mode = o->network;
  bool bridge = strcmp (mode, "bridge") == 0;

  if (!bridge && strcmp (mode, "none") != 0 && strcmp (mode, "host") != 0)
    return focker_fail (err, -EINVAL, "--network %s: unknown mode (bridge, none or host)", mode);
  for (size_t i = 0; o->publish && o->publish[i]; i++)
    {
      struct net_publish p;
      int r = net_publish_parse (&p, o->publish[i], err);
      if (r < 0)
        return focker_err_prefix (err, "-p");
      /* host and none: parsed, then discarded (docker runs; the CLI warns) */
    }
  if (bridge && o->run_root == NULL)
    return focker_fail (err, -EINVAL,
                        "--network bridge needs a runtime root (--root, or XDG_RUNTIME_DIR)");
  return 0;
}

/* core/net's "attach ID: host port P/tcp is already published by container ID2" as a user
 * reads it: without our own 64-hex id, the other one cut to 12 digits as ps shows it. */
static int
clash_message (struct focker_err **err)
{
  const char *m = strstr ((*err)->msg, "host port ");
  char *msg, *other;
  int code = (*err)->code;

  if (m == NULL)
    return code;
  msg = xstrdup (m);
  other = strstr (msg, "by container ");
  if (other && strlen (other + 13) == CTR_ID_LEN)
    other[13 + CTR_SHORT_LEN] = '\0';
  focker_err_free (*err);
  *err = NULL;
  focker_fail (err, code, "%s", msg);
  free (msg);
  return code;
}

static int
attach_bridge (struct ctr_net_plan *plan, const struct ctr_opts *o, const char *storage_root,
               struct focker_err **err)
{
  struct net_paths paths = { .storage_root = storage_root, .run_root = o->run_root };
  size_t n = o->publish ? strv_length (o->publish) : 0;
  _cleanup_free_ struct net_publish *pub = xcalloc (n + 1, sizeof *pub);
  struct net_attach_req req
      = { .id = o->id, .hostname = o->hostname, .publish = pub, .n_publish = n };
  struct net_attach_result res;
  int r;

  for (size_t i = 0; i < n; i++)
    if ((r = net_publish_parse (&pub[i], o->publish[i], err)) < 0)
      return r;
  r = net_attach (&res, &paths, &req, err);
  if (r == -EADDRINUSE)
    return clash_message (err);
  if (r < 0)
    return r;
  plan->netns_path = TAKE_PTR (res.netns_path);
  plan->files_dir = xstrndup (res.hosts_path, strrchr (res.hosts_path, '/') - res.hosts_path);
  memcpy (plan->ip, res.ip, sizeof plan->ip);
  memcpy (plan->gateway, res.gateway, sizeof plan->gateway);
  plan->prefix = res.prefix;
  net_attach_result_free (&res);
  return 0;
}

/* The host's copy of `path`, or `fallback` where the host has none. */
static int
copy_host_file (int dirfd, const char *name, const char *path, const char *fallback,
                struct focker_err **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  struct focker_err *e = NULL;

  if (read_file_at (&text, &len, AT_FDCWD, path, 1 << 20, &e) < 0)
    {
      focker_err_free (e);
      return write_file_atomic_at (dirfd, name, fallback, strlen (fallback), 0644, false, err);
    }
  return write_file_atomic_at (dirfd, name, text, len, 0644, false, err);
}

int
ctr_net_attach (struct ctr_net_plan *plan, const struct ctr_opts *o, const char *storage_root,
                int dirfd, struct focker_err **err)
{
  _cleanup_free_ char *hosts = NULL, *hn = NULL;
  const char *mode = o->network, *hostname = o->hostname ? o->hostname : "focker";
  int r;

  memset (plan, 0, sizeof *plan);
  if ((r = ctr_net_check (o, err)) < 0)
    return r;
  if (strcmp (mode, "bridge") == 0)
    return attach_bridge (plan, o, storage_root, err);
  if (strcmp (mode, "host") == 0)
    {
      plan->host = true;
      if ((r = copy_host_file (dirfd, "hosts", "/etc/hosts", "127.0.0.1\tlocalhost\n", err)) < 0
          || (r = copy_host_file (dirfd, "resolv.conf", "/etc/resolv.conf", "", err)) < 0)
        return r;
      return copy_host_file (dirfd, "hostname", "/etc/hostname", "localhost\n", err);
    }
  hosts = xasprintf ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "127.0.1.1\t%s\n",
                     hostname);
  hn = xasprintf ("%s\n", hostname);
  if ((r = write_file_atomic_at (dirfd, "hosts", hosts, strlen (hosts), 0644, false, err)) < 0)
    return r;
  if ((r = write_file_atomic_at (dirfd, "resolv.conf", "", 0, 0644, false, err)) < 0)
    return r;
  return write_file_atomic_at (dirfd, "hostname", hn, strlen (hn), 0644, false, err);
}

int
ctr_net_detach (const char *mode, const char *storage_root, const char *run_root, const char *id,
                struct focker_err **err)
{
  struct net_paths paths = { .storage_root = storage_root, .run_root = run_root };
  int r;

  if (strcmp (mode, "bridge") != 0)
    return 0;
  if (run_root == NULL)
    return focker_fail (err, -EINVAL, "detach %.12s: bridge networking needs a runtime root", id);
  r = net_detach (&paths, id, err);
  if (r == -ENOENT)
    {
      if (err)
        focker_err_free (TAKE_PTR (*err));
      return 0;
    }
  return r;
}

void
ctr_net_plan_release (struct ctr_net_plan *plan)
{
  free (plan->netns_path);
  free (plan->files_dir);
  plan->netns_path = NULL;
  plan->files_dir = NULL;
}
