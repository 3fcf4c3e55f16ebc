/* net_nft.c: focker's nf_tables rule set, table `ip focker`.
 *
 * Why one rule set rebuilt per change: the lease file is the record of what should be
 * published, so the table is a pure function of it.  A batch "add table; delete table; add
 * table, chains, rules" replaces whatever was there atomically (the kernel applies a batch
 * whole or not at all), needs no rule handles kept anywhere, and is the same operation for
 * attach, detach and the crash sweep.  No other table is read or written.
 *
 * Chains (all type nat, so the kernel's conntrack NATs the whole connection):
 *   prerouting  (hook prerouting, priority -100)   one dnat rule per published port
 *   output      (hook output, priority -100)       the same rules, for the host's own
 *                                                  connections (127.0.0.1 included)
 *   postrouting (hook postrouting, priority 100)   masquerade:
 *     oifname "focker0" ip saddr 127.0.0.0/8     host loopback to a container: the reply
 *                                                  must come back to a routable address
 *     oifname "focker0" ip saddr SUBNET          hairpin: container -> host port -> container
 *     oifname != "focker0" ip saddr SUBNET       containers' outbound traffic
 * A dnat rule: [fib daddr type local | ip daddr HOSTIP] meta l4proto P th dport HOSTPORT
 * dnat to CTRIP:CTRPORT.  "type local" is what docker's "-m addrtype --dst-type LOCAL"
 * means: traffic for this host on any of its addresses, not traffic routed through it. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include "core/cleanup.h"
#include "core/net.h"
#include "core/net_internal.h"

static size_t
nft_begin (struct nl_buf *b, int type, uint16_t flags, int family)
{
  struct nfgenmsg g = { .nfgen_family = (uint8_t)family, .version = NFNETLINK_V0 };
  return nl_msg_begin (b, (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | type), flags, &g, sizeof g);
}

/* Batch markers are not acknowledged: the seam waits for the last message that is. */
static void
batch_marker (struct nl_buf *b, int type)
{
  struct nfgenmsg g = { .nfgen_family = AF_UNSPEC,
                        .version = NFNETLINK_V0,
                        .res_id = htons (NFNL_SUBSYS_NFTABLES) };
  size_t m = nl_msg_begin (b, (uint16_t)type, 0, &g, sizeof g);
  struct nlmsghdr *h = (struct nlmsghdr *)(b->data + m);
  h->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
  nl_msg_end (b, m);
}

static void
table_msg (struct nl_buf *b, int type, uint16_t flags)
{
  size_t m = nft_begin (b, type, flags, NFPROTO_IPV4);
  nl_put_str (b, NFTA_TABLE_NAME, NET_TABLE);
  nl_msg_end (b, m);
}

static void
chain_msg (struct nl_buf *b, const char *name, int hook, int prio)
{
  size_t m = nft_begin (b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, NFPROTO_IPV4);
  nl_put_str (b, NFTA_CHAIN_TABLE, NET_TABLE);
  nl_put_str (b, NFTA_CHAIN_NAME, name);
  size_t h = nl_nest_begin (b, NFTA_CHAIN_HOOK);
  nl_put_be32 (b, NFTA_HOOK_HOOKNUM, (uint32_t)hook);
  nl_put_be32 (b, NFTA_HOOK_PRIORITY, (uint32_t)prio);
  nl_nest_end (b, h);
  nl_put_be32 (b, NFTA_CHAIN_POLICY, NF_ACCEPT);
  nl_put_str (b, NFTA_CHAIN_TYPE, "nat");
  nl_msg_end (b, m);
}

/* Rule building: rule_begin, expressions, rule_end. */
struct rule
{
  struct nl_buf *b;
  size_t msg, exprs;
};

static void
rule_begin (struct rule *r, struct nl_buf *b, const char *chain)
{
  r->b = b;
  r->msg = nft_begin (b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NFPROTO_IPV4);
  nl_put_str (b, NFTA_RULE_TABLE, NET_TABLE);
  nl_put_str (b, NFTA_RULE_CHAIN, chain);
  r->exprs = nl_nest_begin (b, NFTA_RULE_EXPRESSIONS);
}

static void
rule_end (struct rule *r)
{
  nl_nest_end (r->b, r->exprs);
  nl_msg_end (r->b, r->msg);
}

/* An expression: its list element and data nests; returns the two offsets in *e. */
static void
expr_begin (struct rule *r, const char *name, size_t e[2])
{
  e[0] = nl_nest_begin (r->b, NFTA_LIST_ELEM);
  nl_put_str (r->b, NFTA_EXPR_NAME, name);
  e[1] = nl_nest_begin (r->b, NFTA_EXPR_DATA);
}

static void
expr_end (struct rule *r, size_t e[2])
{
  nl_nest_end (r->b, e[1]);
  nl_nest_end (r->b, e[0]);
}

static void
put_data (struct nl_buf *b, uint16_t type, const void *v, size_t len)
{
  size_t n = nl_nest_begin (b, type);
  nl_put (b, NFTA_DATA_VALUE, v, len);
  nl_nest_end (b, n);
}

static void
e_meta (struct rule *r, uint32_t key)
{
  size_t e[2];
  expr_begin (r, "meta", e);
  nl_put_be32 (r->b, NFTA_META_KEY, key);
  nl_put_be32 (r->b, NFTA_META_DREG, NFT_REG_1);
  expr_end (r, e);
}

static void
e_payload (struct rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
  size_t e[2];
  expr_begin (r, "payload", e);
  nl_put_be32 (r->b, NFTA_PAYLOAD_DREG, NFT_REG_1);
  nl_put_be32 (r->b, NFTA_PAYLOAD_BASE, base);
  nl_put_be32 (r->b, NFTA_PAYLOAD_OFFSET, offset);
  nl_put_be32 (r->b, NFTA_PAYLOAD_LEN, len);
  expr_end (r, e);
}

static void
e_cmp (struct rule *r, uint32_t op, const void *v, size_t len)
{
  size_t e[2];
  expr_begin (r, "cmp", e);
  nl_put_be32 (r->b, NFTA_CMP_SREG, NFT_REG_1);
  nl_put_be32 (r->b, NFTA_CMP_OP, op);
  put_data (r->b, NFTA_CMP_DATA, v, len);
  expr_end (r, e);
}

/* reg1 = reg1 & mask (4 bytes) */
static void
e_mask (struct rule *r, uint32_t mask)
{
  size_t e[2];
  uint32_t m = htonl (mask), x = 0;
  expr_begin (r, "bitwise", e);
  nl_put_be32 (r->b, NFTA_BITWISE_SREG, NFT_REG_1);
  nl_put_be32 (r->b, NFTA_BITWISE_DREG, NFT_REG_1);
  nl_put_be32 (r->b, NFTA_BITWISE_LEN, 4);
  put_data (r->b, NFTA_BITWISE_MASK, &m, 4);
  put_data (r->b, NFTA_BITWISE_XOR, &x, 4);
  expr_end (r, e);
}

static void
e_immediate (struct rule *r, uint32_t reg, const void *v, size_t len)
{
  size_t e[2];
  expr_begin (r, "immediate", e);
  nl_put_be32 (r->b, NFTA_IMMEDIATE_DREG, reg);
  put_data (r->b, NFTA_IMMEDIATE_DATA, v, len);
  expr_end (r, e);
}

static void
e_fib_daddr_local (struct rule *r)
{
  size_t e[2];
  uint32_t local = RTN_LOCAL; /* the fib result is a host-order u32 */
  expr_begin (r, "fib", e);
  nl_put_be32 (r->b, NFTA_FIB_DREG, NFT_REG_1);
  nl_put_be32 (r->b, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
  nl_put_be32 (r->b, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR);
  expr_end (r, e);
  e_cmp (r, NFT_CMP_EQ, &local, sizeof local);
}

static void
e_oifname (struct rule *r, uint32_t op)
{
  char name[IFNAMSIZ] = NET_BRIDGE;
  e_meta (r, NFT_META_OIFNAME);
  e_cmp (r, op, name, sizeof name);
}

/* ip saddr & mask == net */
static void
e_saddr_in (struct rule *r, uint32_t net, uint32_t mask)
{
  uint32_t be = htonl (net);
  e_payload (r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
  e_mask (r, mask);
  e_cmp (r, NFT_CMP_EQ, &be, 4);
}

static void
e_masq (struct rule *r)
{
  size_t e[2];
  expr_begin (r, "masq", e);
  expr_end (r, e);
}

static void
dnat_rule (struct nl_buf *b, const char *chain, const struct net_publish *p, uint32_t ctr_ip)
{
  struct rule r;
  uint16_t hport = htons (p->host_port), cport = htons (p->ctr_port);
  uint32_t ip = htonl (ctr_ip), hip = htonl (p->host_ip);
  size_t e[2];

  rule_begin (&r, b, chain);
  if (p->host_ip == 0)
    e_fib_daddr_local (&r);
  else
    {
      e_payload (&r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
      e_cmp (&r, NFT_CMP_EQ, &hip, 4);
    }
  e_meta (&r, NFT_META_L4PROTO);
  e_cmp (&r, NFT_CMP_EQ, &p->proto, 1);
  e_payload (&r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
  e_cmp (&r, NFT_CMP_EQ, &hport, 2);
  e_immediate (&r, NFT_REG_1, &ip, 4);
  e_immediate (&r, NFT_REG_2, &cport, 2);
  expr_begin (&r, "nat", e);
  nl_put_be32 (b, NFTA_NAT_TYPE, NFT_NAT_DNAT);
  nl_put_be32 (b, NFTA_NAT_FAMILY, NFPROTO_IPV4);
  nl_put_be32 (b, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
  nl_put_be32 (b, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
  expr_end (&r, e);
  rule_end (&r);
}

void
nft_plan_delete (struct nl_buf *b)
{
  batch_marker (b, NFNL_MSG_BATCH_BEGIN);
  table_msg (b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  table_msg (b, NFT_MSG_DELTABLE, 0);
  batch_marker (b, NFNL_MSG_BATCH_END);
}

void
nft_plan (struct nl_buf *b, const struct ipam *ipam)
{
  struct rule r;

  batch_marker (b, NFNL_MSG_BATCH_BEGIN);
  table_msg (b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  table_msg (b, NFT_MSG_DELTABLE, 0);
  table_msg (b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  chain_msg (b, "prerouting", NF_INET_PRE_ROUTING, -100);
  chain_msg (b, "output", NF_INET_LOCAL_OUT, -100);
  chain_msg (b, "postrouting", NF_INET_POST_ROUTING, 100);
  for (size_t i = 0; i < ipam->n_leases; i++)
    for (size_t j = 0; j < ipam->leases[i].n_publish; j++)
      {
        dnat_rule (b, "prerouting", &ipam->leases[i].publish[j], ipam->leases[i].ip);
        dnat_rule (b, "output", &ipam->leases[i].publish[j], ipam->leases[i].ip);
      }
  rule_begin (&r, b, "postrouting");
  e_oifname (&r, NFT_CMP_EQ);
  e_saddr_in (&r, 0x7f000000, 0xff000000);
  e_masq (&r);
  rule_end (&r);
  rule_begin (&r, b, "postrouting");
  e_oifname (&r, NFT_CMP_EQ);
  e_saddr_in (&r, ipam->net, ipam->mask);
  e_masq (&r);
  rule_end (&r);
  rule_begin (&r, b, "postrouting");
  e_oifname (&r, NFT_CMP_NEQ);
  e_saddr_in (&r, ipam->net, ipam->mask);
  e_masq (&r);
  rule_end (&r);
  batch_marker (b, NFNL_MSG_BATCH_END);
}

int
nft_apply (const struct ipam *ipam)
{
  _cleanup_close_ int sock = sys_netlink_open (NETLINK_NETFILTER, -1);
  struct nl_buf b;
  int r;

  if (sock < 0)
    return sock;
  nl_buf_init (&b);
  nft_plan (&b, ipam);
  r = sys_netlink_talk (sock, b.data, b.len, NULL, 0);
  nl_buf_free (&b);
  return r;
}
