/* ctr_net.h: the network of a user container, behind one small interface so that bridge
 * networking (core/net*) plugs in without touching the user layer.
 *
 * Before the OCI create the user layer calls net_attach: it prepares the container's network
 * (for bridge: a bind-mounted netns file, a veth, an address) and writes the files the
 * container sees as /etc/hosts, /etc/resolv.conf and /etc/hostname into the record dir.
 * plan->netns_path goes into config.json's network namespace `path` (NULL: the runtime makes
 * a new empty one); plan->host shares the host's network and uts namespaces.  After the
 * container is removed (and on every failed create) the user layer calls net_detach, which
 * must succeed on what a crashed attach left half-made, and on nothing. */
#ifndef FOCKER_CTR_NET_H
#define FOCKER_CTR_NET_H

#include <stdbool.h>
#include "core/err.h"

struct net_plan
{
  char *netns_path; /* malloc'd, or NULL */
  bool host;
};

/* Is mode one this build can attach ("none", "host")?  -ENOTSUP with one line otherwise. */
int net_mode_check (const char *mode, struct focker_err **err);

/* Attach container id in `mode`; the files go into dirfd (hosts, resolv.conf, hostname). */
int net_attach (struct net_plan *plan, const char *mode, const char *id, const char *hostname,
                int dirfd, struct focker_err **err);
/* Undo net_attach for id (nothing to do for none and host). */
int net_detach (const char *mode, const char *id, struct focker_err **err);
void net_plan_release (struct net_plan *plan);

#endif
