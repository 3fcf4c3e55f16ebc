/* net.h: container networking on focker's bridge (issue 7).
 *
 * One network, "bridge": the bridge focker0 with the subnet's first address (default
 * 172.17.0.0/16, gateway 172.17.0.1), made on first use.  Attaching an id gives it a network
 * namespace (a file kept by a bind mount, as `ip netns` does), a veth pair (fk<8 hex> on the
 * bridge, eth0 inside), an address leased from net/leases.json under the storage root
 * (core/ipam.h), loopback up, a default route through the gateway, and hosts, resolv.conf
 * and hostname files for the container to bind.  Published ports and masquerade are the nat
 * chains of the nf_tables table `ip focker`, rebuilt whole from the lease file on every
 * change (core/net_nft.c); focker touches no other table.
 *
 * Runtime files live under `<run_root>/.network/`: `netns/<id>` and `files/<id>/`.
 *
 * Everything an attach does is undone when a later step fails, and net_detach() removes it
 * from what the names and the lease say, so it also cleans up after an attach that was
 * killed half-way; net_prune() does so for every lease whose owner is gone. */
#ifndef FOCKER_NET_H
#define FOCKER_NET_H

#include <stddef.h>
#include <stdint.h>
#include "core/err.h"
#include "core/ipam.h"

#define NET_BRIDGE "focker0"
#define NET_TABLE "focker"
#define NET_DEFAULT_NAME "bridge"

struct net_paths
{
  const char *storage_root; /* leases: <storage_root>/net/ */
  const char *run_root;     /* netns and files: <run_root>/.network/ */
};

struct net_attach_req
{
  const char *id;       /* container id (container_id_valid) */
  const char *network;  /* NULL or "bridge" */
  const char *hostname; /* NULL: the id, cut to 63 characters */
  const struct net_publish *publish;
  size_t n_publish;
  const char *subnet; /* NULL: as recorded (default 172.17.0.0/16); applied on first use */
};

struct net_attach_result
{
  char *netns_path; /* for config.json linux.namespaces [{type: network, path}] */
  char ip[16], gateway[16];
  int prefix;
  char *hosts_path, *resolv_path, *hostname_path; /* bind at /etc/hosts, /etc/resolv.conf,
                                                     /etc/hostname */
  char *hostname;
  char veth[16]; /* the host end */
};
void net_attach_result_free (struct net_attach_result *res);

/* Attach `req->id`.  Errors (nothing is left behind): -EINVAL bad input, -EEXIST attached
 * already, -EADDRINUSE a host port another container publishes, -ENOSPC no free address,
 * or the kernel's error naming the step. */
int net_attach (struct net_attach_result *out, const struct net_paths *paths,
                const struct net_attach_req *req, struct focker_err **err);

/* Undo everything of `id` that exists (veth, netns file, files, lease, its rules).  -ENOENT
 * when nothing of it existed. */
int net_detach (const struct net_paths *paths, const char *id, struct focker_err **err);

/* The stale state sweep: detach leases whose attach never completed and whose focker is
 * gone, and complete leases whose netns file is gone (a reboot emptied /run); remove netns
 * files and file dirs with no lease; rebuild the rules.  *n_removed (may be NULL) counts
 * the ids cleaned. */
int net_prune (const struct net_paths *paths, size_t *n_removed, struct focker_err **err);

/* The network as JSON text (malloc'd): name, bridge, subnet, gateway, leases. */
int net_inspect (char **json, const struct net_paths *paths, struct focker_err **err);

/* Set the loopback of the network namespace at `netns_path` (a namespace file such as
 * /proc/PID/ns/net) up, through a netlink socket made in that namespace: what
 * `--network none` gives a container whose namespace the runtime made.  Errors name the
 * path and the step. */
int net_loopback_up (const char *netns_path, struct focker_err **err);

/* Parse a publish spec "[IP:]HOST:CTR[/tcp|udp]". */
int net_publish_parse (struct net_publish *p, const char *spec, struct focker_err **err);

/* The host end of `id`'s veth: "fk" and 8 hex digits of a hash of the id (ids are longer
 * than an interface name and may hold characters one cannot). */
void net_veth_name (char out[16], const char *id);

#endif
