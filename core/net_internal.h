/* net_internal.h: what core/net*.c share: rtnetlink steps (net_link.c) and the nf_tables
 * rule set (net_nft.c). */
#ifndef FOCKER_NET_INTERNAL_H
#define FOCKER_NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "core/ipam.h"
#include "core/nl.h"

/* rtnetlink over a socket opened (sys_netlink_open) in the namespace to change. */
int rtnl_link_index (int sock, const char *name); /* ifindex, or -ENODEV */
int rtnl_bridge_add (int sock, const char *name); /* -EEXIST if there */
int rtnl_link_up (int sock, const char *name);    /* by name */
int rtnl_veth_add (int sock, const char *name, const char *peer, int peer_netns_fd, int master);
int rtnl_link_del (int sock, const char *name);                     /* -ENODEV if none */
int rtnl_addr_add (int sock, int ifindex, uint32_t ip, int prefix); /* -EEXIST if there */
int rtnl_route_default (int sock, int ifindex, uint32_t gateway);

/* The whole `ip focker` table for these leases in one batch: create it if missing, delete
 * it, create it again with its chains and rules (so it applies atomically whatever was
 * there).  `b` gets the messages. */
void nft_plan (struct nl_buf *b, const struct ipam *ipam);
/* nft_plan applied through a netfilter socket of the caller's namespace. */
int nft_apply (const struct ipam *ipam);
/* A batch that deletes the table (if it exists). */
void nft_plan_delete (struct nl_buf *b);

#endif
