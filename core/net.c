/* net.c: attach, detach, prune and inspect of focker's bridge network (see net.h).
 *
 * Order of an attach, each step undone on a later failure: lease (committed first, marked
 * incomplete with our pid, so a crash leaves a record prune can act on), bridge (shared,
 * never undone), netns file, veth, addresses and routes inside, the container's files, the
 * rule set, then the lease marked complete.  The lease file's lock is held throughout, so
 * attaches and detaches are serialised and the rule set always matches the leases. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/net.h"
#include "core/net_internal.h"
#include "core/state.h"
#include "core/strv.h"
#include "core/undo.h"

void
net_veth_name (char out[16], const char *id)
{
  uint32_t h = 2166136261u; /* FNV-1a */

  for (const char *p = id; *p; p++)
    h = (h ^ (uint8_t)*p) * 16777619u;
  snprintf (out, 16, "fk%08x", h);
}

void
net_attach_result_free (struct net_attach_result *res)
{
  free (res->netns_path);
  free (res->hosts_path);
  free (res->resolv_path);
  free (res->hostname_path);
  free (res->hostname);
  memset (res, 0, sizeof *res);
}

static char *
netns_path (const struct net_paths *p, const char *id)
{
  return xasprintf ("%s/.network/netns/%s", p->run_root, id);
}

static char *
files_dir (const struct net_paths *p, const char *id)
{
  return xasprintf ("%s/.network/files/%s", p->run_root, id);
}

int
net_publish_parse (struct net_publish *p, const char *spec, struct focker_err **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *proto = strchr (s, '/'), *parts[3] = { NULL }, *save = NULL;
  int n = 0;
  long port[2];

  memset (p, 0, sizeof *p);
  p->proto = IPPROTO_TCP;
  if (proto)
    {
      *proto++ = '\0';
      if (strcmp (proto, "udp") == 0)
        p->proto = IPPROTO_UDP;
      else if (strcmp (proto, "tcp") != 0)
        return focker_fail (err, -EINVAL, "publish %s: protocol \"%s\" is not tcp or udp", spec,
                            proto);
    }
  for (char *t = strtok_r (s, ":", &save); t; t = strtok_r (NULL, ":", &save))
    {
      if (n == 3)
        return focker_fail (err, -EINVAL, "publish %s: not [IP:]HOST:CTR[/tcp|udp]", spec);
      parts[n++] = t;
    }
  if (n < 2 || (n == 3 && ipv4_parse (&p->host_ip, parts[0]) < 0))
    return focker_fail (err, -EINVAL, "publish %s: not [IP:]HOST:CTR[/tcp|udp] (IPv4)", spec);
  for (int i = 0; i < 2; i++)
    {
      char *end;
      port[i] = strtol (parts[n - 2 + i], &end, 10);
      if (*end || port[i] < 1 || port[i] > 65535)
        return focker_fail (err, -EINVAL, "publish %s: port \"%s\" is not 1 to 65535", spec,
                            parts[n - 2 + i]);
    }
  p->host_port = (uint16_t)port[0];
  p->ctr_port = (uint16_t)port[1];
  return 0;
}

static int
write_sysctl (const char *key, struct focker_err **err)
{
  _cleanup_free_ char *path = xasprintf ("/proc/sys/%s", key);
  _cleanup_close_ int fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  int r;

  if (fd < 0)
    return focker_fail (err, fd, "open %s", path);
  r = write_all (fd, "1\n", 2);
  if (r < 0)
    return focker_fail (err, r, "write %s", path);
  return 0;
}

/* The bridge with the gateway address, up, forwarding on.  Shared by every container and
 * left in place (as docker0 is). */
static int
bridge_ensure (int sock, const struct ipam *ipam, struct focker_err **err)
{
  int r, idx;

  r = rtnl_bridge_add (sock, NET_BRIDGE);
  if (r < 0 && r != -EEXIST)
    return focker_fail (err, r, "create bridge %s", NET_BRIDGE);
  idx = rtnl_link_index (sock, NET_BRIDGE);
  if (idx < 0)
    return focker_fail (err, idx, "find bridge %s", NET_BRIDGE);
  r = rtnl_addr_add (sock, idx, ipam->gateway, ipam->prefix);
  if (r < 0 && r != -EEXIST)
    return focker_fail (err, r, "add the gateway address to %s", NET_BRIDGE);
  r = rtnl_link_up (sock, NET_BRIDGE);
  if (r < 0)
    return focker_fail (err, r, "set %s up", NET_BRIDGE);
  /* forwarding for published ports and outbound traffic; route_localnet lets a connection
   * to 127.0.0.1 be DNAT'd out of the bridge (its source is then masqueraded) */
  if ((r = write_sysctl ("net/ipv4/ip_forward", err)) < 0
      || (r = write_sysctl ("net/ipv4/conf/" NET_BRIDGE "/route_localnet", err)) < 0)
    return r;
  return idx;
}

/* Inside the container's namespace: lo up, eth0 up with the address, default route. */
static int
configure_inside (int nsfd, uint32_t ip, const struct ipam *ipam, struct focker_err **err)
{
  _cleanup_close_ int sock = sys_netlink_open (NETLINK_ROUTE, nsfd);
  int r, idx;

  if (sock < 0)
    return focker_fail (err, sock, "open a netlink socket in the container's namespace");
  if ((r = rtnl_link_up (sock, "lo")) < 0)
    return focker_fail (err, r, "set lo up in the container");
  if ((idx = rtnl_link_index (sock, "eth0")) < 0)
    return focker_fail (err, idx, "find eth0 in the container");
  if ((r = rtnl_addr_add (sock, idx, ip, ipam->prefix)) < 0)
    return focker_fail (err, r, "add the address to eth0");
  if ((r = rtnl_link_up (sock, "eth0")) < 0)
    return focker_fail (err, r, "set eth0 up in the container");
  if ((r = rtnl_route_default (sock, idx, ipam->gateway)) < 0)
    return focker_fail (err, r, "add the default route in the container");
  return 0;
}

int
net_loopback_up (const char *netns_path, struct focker_err **err)
{
  _cleanup_close_ int nsfd = sys_openat (AT_FDCWD, netns_path, O_RDONLY | O_CLOEXEC, 0);
  _cleanup_close_ int sock = -1;
  int r;

  if (nsfd < 0)
    return focker_fail (err, nsfd, "open network namespace %s", netns_path);
  sock = sys_netlink_open (NETLINK_ROUTE, nsfd);
  if (sock < 0)
    return focker_fail (err, sock, "open a netlink socket in %s", netns_path);
  if ((r = rtnl_link_up (sock, "lo")) < 0)
    return focker_fail (err, r, "set lo up in %s", netns_path);
  return 0;
}

/* The host's resolv.conf without loopback nameservers (unreachable from another network
 * namespace); a comment says so when none remains. */
static char *
resolv_conf (void)
{
  _cleanup_free_ char *host = NULL;
  _cleanup_err_ struct focker_err *e = NULL;
  size_t len, out_len = 0;
  bool any = false;
  char *out, *save = NULL;

  if (read_file_at (&host, &len, AT_FDCWD, "/etc/resolv.conf", 1 << 20, &e) < 0)
    host = xstrdup ("");
  out = xmalloc (strlen (host) + 200);
  for (char *line = strtok_r (host, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char addr[64];
      if (sscanf (line, " nameserver %63s", addr) == 1)
        {
          if (strncmp (addr, "127.", 4) == 0 || strcmp (addr, "::1") == 0)
            continue;
          any = true;
        }
      out_len += (size_t)sprintf (out + out_len, "%s\n", line);
    }
  if (!any)
    sprintf (out + out_len, "# focker: the host has no nameserver a container can reach\n");
  return out;
}

static int
write_files (struct net_attach_result *res, const struct net_paths *paths, const char *id,
             const char *ip, struct focker_err **err)
{
  _cleanup_free_ char *dir = files_dir (paths, id);
  _cleanup_free_ char *hosts = xasprintf ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                                          "ip6-loopback\n%s\t%s\n",
                                          ip, res->hostname);
  _cleanup_free_ char *resolv = resolv_conf ();
  _cleanup_free_ char *hostname = xasprintf ("%s\n", res->hostname);
  _cleanup_close_ int fd = -1;
  int r;

  if ((r = mkdir_p_at (AT_FDCWD, dir, 0755, err)) < 0)
    return r;
  if ((fd = r = open_dir_at (AT_FDCWD, dir, err)) < 0)
    return r;
  if ((r = write_file_atomic_at (fd, "hosts", hosts, strlen (hosts), 0644, false, err)) < 0
      || (r = write_file_atomic_at (fd, "resolv.conf", resolv, strlen (resolv), 0644, false, err))
             < 0
      || (r = write_file_atomic_at (fd, "hostname", hostname, strlen (hostname), 0644, false, err))
             < 0)
    return r;
  res->hosts_path = path_join (dir, "hosts");
  res->resolv_path = path_join (dir, "resolv.conf");
  res->hostname_path = path_join (dir, "hostname");
  return 0;
}

/* What exists of `id` outside the lease file, removed: veth, netns file, files.  Returns
 * how many of the three existed, or the first error other than "not there". */
static int
remove_resources (const struct net_paths *paths, const char *id, struct focker_err **err)
{
  _cleanup_free_ char *ns = netns_path (paths, id);
  _cleanup_free_ char *dir = files_dir (paths, id);
  char veth[16];
  int r, found = 0;

  net_veth_name (veth, id);
  {
    _cleanup_close_ int sock = sys_netlink_open (NETLINK_ROUTE, -1);
    if (sock < 0)
      return focker_fail (err, sock, "open a netlink socket");
    r = rtnl_link_del (sock, veth);
    if (r < 0 && r != -ENODEV)
      return focker_fail (err, r, "delete link %s", veth);
    found += r == 0;
  }
  r = sys_netns_remove (ns);
  if (r < 0 && r != -ENOENT)
    return focker_fail (err, r, "remove network namespace %s", ns);
  found += r == 0;
  /* exists_at would take a failing stat for a missing directory */
  struct stat st;
  r = sys_fstatat (AT_FDCWD, dir, &st, AT_SYMLINK_NOFOLLOW);
  if (r < 0 && r != -ENOENT)
    return focker_fail (err, r, "stat %s", dir);
  if (r == 0)
    {
      found++;
      r = rm_rf_at (AT_FDCWD, dir);
      if (r < 0)
        return focker_fail (err, r, "remove %s", dir);
    }
  return found;
}

struct undo_resources
{
  const struct net_paths *paths;
  char id[];
};

static void
undo_resources (void *data)
{
  struct undo_resources *u = data;
  _cleanup_err_ struct focker_err *e = NULL;
  remove_resources (u->paths, u->id, &e);
}

struct undo_lease
{
  struct ipam *ipam;
  char id[];
};

static void
undo_lease (void *data)
{
  struct undo_lease *u = data;
  _cleanup_err_ struct focker_err *e = NULL;
  ipam_release (u->ipam, u->id);
  if (ipam_commit (u->ipam, &e) == 0)
    nft_apply (u->ipam);
}

static int
validate (const struct net_attach_req *req, struct focker_err **err)
{
  if (!container_id_valid (req->id))
    return container_id_fail (req->id, err);
  if (req->network && strcmp (req->network, NET_DEFAULT_NAME) != 0)
    return focker_fail (err, -EINVAL, "network \"%s\": only \"%s\" exists", req->network,
                        NET_DEFAULT_NAME);
  if (req->hostname)
    {
      size_t n = strlen (req->hostname);
      if (n == 0 || n > 63 || strpbrk (req->hostname, " \t\n/"))
        return focker_fail (err, -EINVAL, "hostname \"%s\": 1 to 63 characters, no spaces or /",
                            req->hostname);
    }
  return 0;
}

static int
attach_steps (struct net_attach_result *res, struct undo *undo, struct ipam *ipam,
              const struct net_paths *paths, const struct net_attach_req *req,
              struct focker_err **err)
{
  struct ipam_lease want = { .id = (char *)req->id,
                             .hostname = res->hostname,
                             .pid = sys_getpid (),
                             .publish = (struct net_publish *)req->publish,
                             .n_publish = req->n_publish };
  /* with its start time: prune must not take a process that reused the pid for this one */
  (void)sys_proc_starttime (want.pid, &want.pid_start, NULL);
  _cleanup_close_ int host = -1, nsfd = -1;
  _cleanup_free_ char *nsdir = xasprintf ("%s/.network/netns", paths->run_root);
  uint32_t ip;
  int r, br;

  if ((r = ipam_alloc (ipam, &want, &ip, err)) < 0 || (r = ipam_commit (ipam, err)) < 0)
    {
      ipam_release (ipam, req->id);
      return r;
    }
  struct undo_lease *ul = xmalloc (sizeof *ul + strlen (req->id) + 1);
  ul->ipam = ipam;
  strcpy (ul->id, req->id);
  undo_push (undo, undo_lease, ul);

  if ((host = sys_netlink_open (NETLINK_ROUTE, -1)) < 0)
    return focker_fail (err, host, "open a netlink socket");
  /* a new subnet (allowed only with no lease, so nothing is on the bridge): a bridge made
   * for the old one would keep routing it */
  if (ipam->subnet_changed && (r = rtnl_link_del (host, NET_BRIDGE)) < 0 && r != -ENODEV)
    return focker_fail (err, r, "delete bridge %s of the old subnet", NET_BRIDGE);
  if ((br = bridge_ensure (host, ipam, err)) < 0)
    return br;

  if ((r = mkdir_p_at (AT_FDCWD, nsdir, 0755, err)) < 0)
    return r;
  struct undo_resources *ur = xmalloc (sizeof *ur + strlen (req->id) + 1);
  ur->paths = paths;
  strcpy (ur->id, req->id);
  undo_push (undo, undo_resources, ur);
  res->netns_path = netns_path (paths, req->id);
  if ((r = sys_netns_create (res->netns_path)) < 0)
    return focker_fail (err, r, "create network namespace %s", res->netns_path);
  if ((nsfd = sys_openat (AT_FDCWD, res->netns_path, O_RDONLY | O_CLOEXEC, 0)) < 0)
    return focker_fail (err, nsfd, "open %s", res->netns_path);
  net_veth_name (res->veth, req->id);
  if ((r = rtnl_veth_add (host, res->veth, "eth0", nsfd, br)) < 0)
    return focker_fail (err, r, "create veth %s", res->veth);
  if ((r = rtnl_link_up (host, res->veth)) < 0)
    return focker_fail (err, r, "set %s up", res->veth);
  if ((r = configure_inside (nsfd, ip, ipam, err)) < 0)
    return r;
  ipv4_str (res->ip, ip);
  ipv4_str (res->gateway, ipam->gateway);
  res->prefix = ipam->prefix;
  if ((r = write_files (res, paths, req->id, res->ip, err)) < 0)
    return r;
  if ((r = nft_apply (ipam)) < 0)
    return focker_fail (err, r, "apply the nf_tables rules of table ip %s", NET_TABLE);
  ipam_find (ipam, req->id)->complete = true;
  ipam_find (ipam, req->id)->pid = 0;
  ipam_find (ipam, req->id)->pid_start = 0;
  return ipam_commit (ipam, err);
}

int
net_attach (struct net_attach_result *out, const struct net_paths *paths,
            const struct net_attach_req *req, struct focker_err **err)
{
  struct ipam *ipam = NULL;
  struct undo undo = { NULL };
  int r;

  memset (out, 0, sizeof *out);
  if ((r = validate (req, err)) < 0)
    return r;
  if ((r = ipam_open (&ipam, paths->storage_root, req->subnet, err)) < 0)
    return r;
  out->hostname = xstrndup (req->hostname ? req->hostname : req->id, 63);
  r = attach_steps (out, &undo, ipam, paths, req, err);
  if (r < 0)
    {
      undo_run (&undo);
      net_attach_result_free (out);
      focker_err_prefix (err, "attach %s", req->id);
    }
  else
    undo_drop (&undo);
  ipam_close (ipam);
  return r < 0 ? r : 0;
}

/* Remove what exists of `id`, then release its lease (committed) and rebuild the rules.
 * The resources go first: a detach that fails or dies later leaves a lease whose netns
 * file is gone, which the next detach or prune finishes; a rule set that cannot be applied
 * (no nf_tables) does not keep a veth and a namespace alive. */
static int
detach_locked (struct ipam *ipam, const struct net_paths *paths, const char *id,
               struct focker_err **err)
{
  int found, r;

  if ((found = remove_resources (paths, id, err)) < 0)
    return found;
  bool had_lease = ipam_release (ipam, id) == 0;
  if (had_lease && (r = ipam_commit (ipam, err)) < 0)
    return r;
  if ((r = nft_apply (ipam)) < 0)
    return focker_fail (err, r, "apply the nf_tables rules of table ip %s", NET_TABLE);
  return had_lease || found > 0;
}

int
net_detach (const struct net_paths *paths, const char *id, struct focker_err **err)
{
  struct ipam *ipam = NULL;
  int r;

  if (!container_id_valid (id))
    return container_id_fail (id, err);
  if ((r = ipam_open (&ipam, paths->storage_root, NULL, err)) < 0)
    return r;
  r = detach_locked (ipam, paths, id, err);
  ipam_close (ipam);
  if (r == 0)
    return focker_fail (err, -ENOENT, "container %s is not attached", id);
  return r < 0 ? focker_err_prefix (err, "detach %s", id) : 0;
}

/* Is the focker that made an incomplete lease gone: exited (a zombie too), or its pid taken
 * by another process (a different start time; a lease of an older focker has none, and its
 * pid alone is believed)?  Only an answer of "no such process" counts, never a failed read. */
static bool
attacher_gone (const struct ipam_lease *l)
{
  unsigned long long start = 0;
  char state = 0;
  int r;

  if (l->pid <= 0)
    return true;
  r = sys_proc_starttime (l->pid, &start, &state);
  if (r == -ESRCH)
    return true;
  if (r < 0)
    return false;
  return state == 'Z' || state == 'X' || state == 'x' || (l->pid_start && start != l->pid_start);
}

static bool
lease_stale (const struct net_paths *paths, const struct ipam_lease *l)
{
  if (!l->complete)
    return attacher_gone (l);
  /* only a netns file known to be gone makes a complete lease stale, never a failed stat */
  _cleanup_free_ char *ns = netns_path (paths, l->id);
  struct stat st;
  return sys_fstatat (AT_FDCWD, ns, &st, AT_SYMLINK_NOFOLLOW) == -ENOENT;
}

/* Names in `sub` of the runtime dir that no lease has, added to `ids`. */
static void
orphans (char ***ids, size_t *n, struct ipam *ipam, const struct net_paths *paths, const char *sub)
{
  _cleanup_free_ char *dir = xasprintf ("%s/.network/%s", paths->run_root, sub);
  _cleanup_strv_ char **names = NULL;
  _cleanup_err_ struct focker_err *e = NULL;

  if (list_dir_at (&names, AT_FDCWD, dir, &e) < 0)
    return;
  for (char **p = names; *p; p++)
    if (ipam_find (ipam, *p) == NULL && container_id_valid (*p))
      {
        *ids = xrealloc (*ids, (*n + 2) * sizeof **ids);
        (*ids)[(*n)++] = xstrdup (*p);
        (*ids)[*n] = NULL;
      }
}

int
net_prune (const struct net_paths *paths, size_t *n_removed, struct focker_err **err)
{
  struct ipam *ipam = NULL;
  _cleanup_strv_ char **ids = NULL;
  size_t n = 0, removed = 0;
  int r;

  if ((r = ipam_open (&ipam, paths->storage_root, NULL, err)) < 0)
    return r;
  for (size_t i = 0; i < ipam->n_leases; i++)
    if (lease_stale (paths, &ipam->leases[i]))
      {
        ids = xrealloc (ids, (n + 2) * sizeof *ids);
        ids[n++] = xstrdup (ipam->leases[i].id);
        ids[n] = NULL;
      }
  orphans (&ids, &n, ipam, paths, "netns");
  orphans (&ids, &n, ipam, paths, "files");
  for (size_t i = 0; i < n; i++)
    {
      if ((r = detach_locked (ipam, paths, ids[i], err)) < 0)
        break;
      removed += r > 0;
    }
  /* the rules again, also when nothing was stale: a crash may have left them behind */
  if (r >= 0 && (r = nft_apply (ipam)) < 0)
    focker_fail (err, r, "apply the nf_tables rules of table ip %s", NET_TABLE);
  ipam_close (ipam);
  if (n_removed)
    *n_removed = removed;
  return r < 0 ? r : 0;
}

int
net_inspect (char **json, const struct net_paths *paths, struct focker_err **err)
{
  struct ipam *ipam = NULL;
  char a[16], gw[16];
  int r;

  if ((r = ipam_open (&ipam, paths->storage_root, NULL, err)) < 0)
    return r;
  json_t *leases = json_array ();
  for (size_t i = 0; i < ipam->n_leases; i++)
    {
      const struct ipam_lease *l = &ipam->leases[i];
      json_t *pub = json_array ();
      char veth[16], hip[16], ip[16];
      for (size_t j = 0; j < l->n_publish; j++)
        json_array_append_new (pub,
                               json_sprintf ("%s:%u:%u/%s", ipv4_str (hip, l->publish[j].host_ip),
                                             l->publish[j].host_port, l->publish[j].ctr_port,
                                             l->publish[j].proto == IPPROTO_UDP ? "udp" : "tcp"));
      net_veth_name (veth, l->id);
      json_array_append_new (leases,
                             json_pack ("{s:s,s:s,s:s,s:s,s:b,s:o}", "id", l->id, "ip",
                                        ipv4_str (ip, l->ip), "hostname", l->hostname, "veth", veth,
                                        "complete", l->complete, "publish", pub));
    }
  _cleanup_free_ char *subnet = xasprintf ("%s/%d", ipv4_str (a, ipam->net), ipam->prefix);
  json_t *o = json_pack ("{s:s,s:s,s:s,s:s,s:s,s:o}", "name", NET_DEFAULT_NAME, "bridge",
                         NET_BRIDGE, "subnet", subnet, "gateway", ipv4_str (gw, ipam->gateway),
                         "table", "ip " NET_TABLE, "leases", leases);
  ipam_close (ipam);
  *json = json_dumps (o, JSON_INDENT (2));
  json_decref (o);
  if (*json == NULL)
    abort ();
  return 0;
}
