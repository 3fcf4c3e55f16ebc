/* ctr_net.h: the network of a user container, behind one small interface between the user
 * layer (core/ctr.c) and the bridge network (core/net.h).
 *
 * Before the OCI create the user layer calls ctr_net_attach: for "bridge" it attaches the
 * id through net_attach (a bind-mounted netns file, a veth, an address, the published
 * ports), whose hosts, resolv.conf and hostname files are the ones bound into the
 * container (plan->files_dir); for "none" and "host" it writes those files into the record
 * dir.  plan->netns_path goes into config.json's network namespace `path` (NULL: the
 * runtime makes a new empty one); plan->host shares the host's network and uts namespaces.
 * After the container is removed (and on every failed create) the user layer calls
 * ctr_net_detach, which succeeds on what a crashed attach left half-made, and on nothing. */
#ifndef FOCKER_CTR_NET_H
#define FOCKER_CTR_NET_H

#include <stdbool.h>
#include "core/ctr.h"
#include "core/err.h"

struct ctr_net_plan
{
  char *netns_path; /* malloc'd, or NULL */
  char *files_dir;  /* malloc'd: where hosts, resolv.conf, hostname are; NULL: the record dir */
  bool host;
  char ip[16], gateway[16]; /* bridge: the container's address and its gateway, else "" */
  int prefix;
};

/* Is o's network mode one this build can attach ("bridge", "none", "host"), and are its
 * published ports (o->publish) well-formed and allowed with it?  -EINVAL with one line. */
int ctr_net_check (const struct ctr_opts *o, struct focker_err **err);

/* Attach o->id in o->network; the none/host files go into dirfd (hosts, resolv.conf,
 * hostname).  storage_root holds bridge leases, o->run_root its netns and files.
 * -EADDRINUSE "-p SPEC: host port P/tcp is already published by container ID". */
int ctr_net_attach (struct ctr_net_plan *plan, const struct ctr_opts *o, const char *storage_root,
                    int dirfd, struct focker_err **err);
/* Undo ctr_net_attach for id in `mode` (nothing to do for none and host; for bridge what is
 * left of it, 0 when nothing is). */
int ctr_net_detach (const char *mode, const char *storage_root, const char *run_root,
                    const char *id, struct focker_err **err);
void ctr_net_plan_release (struct ctr_net_plan *plan);

#endif
