/* ipam.h: the address allocator of focker's bridge network, and its lease file.
 *
 * State lives under the storage root in net/: `leases.json` (the subnet, the gateway, one
 * lease per attached id with its address, hostname, published ports and whether the attach
 * completed) and `lock`, flock'd exclusive by ipam_open and released by ipam_close.  Every
 * change happens between the two, so concurrent attaches never hand out one address twice
 * and never both publish one host port.  leases.json is replaced atomically (temp + rename)
 * and durably: a lease is released only by ipam_release. */
#ifndef FOCKER_IPAM_H
#define FOCKER_IPAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/err.h"

#define IPAM_DEFAULT_SUBNET "172.17.0.0/16"

/* A published port: host_ip:host_port/proto -> the container's ctr_port.  Addresses and
 * ports in host byte order; host_ip 0 is every host address. */
struct net_publish
{
  uint32_t host_ip;
  uint16_t host_port, ctr_port;
  uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
};

struct ipam_lease
{
  char *id;
  uint32_t ip;
  char *hostname;
  pid_t pid;                    /* the focker that made it, while !complete */
  unsigned long long pid_start; /* that focker's start time (/proc/PID/stat), against pid
                                 * reuse; 0 in a lease file of an older focker */
  bool complete;                /* attach finished: the rest of the network state exists */
  struct net_publish *publish;
  size_t n_publish;
};

struct ipam
{
  int dirfd;  /* <storage root>/net */
  int lockfd; /* net/lock, flock'd exclusive */
  uint32_t net, mask, gateway;
  int prefix;
  bool subnet_changed; /* ipam_open's subnet replaced the recorded one */
  struct ipam_lease *leases;
  size_t n_leases;
};

/* Open and lock the allocator under `storage_root` (created if missing).  `subnet` (CIDR,
 * NULL: the recorded one, or IPAM_DEFAULT_SUBNET on first use) may change the subnet only
 * while no lease exists; otherwise a different subnet is -EBUSY. */
int ipam_open (struct ipam **out, const char *storage_root, const char *subnet,
               struct focker_err **err);
/* Unlock and free (changes not committed are dropped). */
void ipam_close (struct ipam *ipam);

/* Lease the lowest free address of the subnet (after the gateway) for `req->id`, with
 * req's hostname, pid and published ports (copied).  Errors: -EEXIST for an id that has a
 * lease, -EADDRINUSE when a published host port (same protocol, overlapping address) is
 * another lease's, -ENOSPC when the subnet is full.  *ip gets the address. */
int ipam_alloc (struct ipam *ipam, const struct ipam_lease *req, uint32_t *ip,
                struct focker_err **err);
/* The lease of `id`, NULL if none. */
struct ipam_lease *ipam_find (struct ipam *ipam, const char *id);
/* Forget the lease of `id`: 0, or -ENOENT. */
int ipam_release (struct ipam *ipam, const char *id);
/* Write leases.json (atomically, durably). */
int ipam_commit (struct ipam *ipam, struct focker_err **err);

/* Parse "A.B.C.D" (host order) and "A.B.C.D/N"; -EINVAL. */
int ipv4_parse (uint32_t *ip, const char *s);
int cidr_parse (uint32_t *net, int *prefix, const char *s);
/* "A.B.C.D" into buf (16 bytes). */
const char *ipv4_str (char buf[16], uint32_t ip);

#endif
