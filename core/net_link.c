/* net_link.c: the rtnetlink requests focker makes (links, addresses, routes).
 *
 * Each function builds one request with core/nl.c and sends it through sys_netlink_talk on
 * a NETLINK_ROUTE socket that was opened in the namespace to change.  Links are named in
 * the request (IFLA_IFNAME with ifi_index 0), so no index has to be looked up first except
 * where the kernel wants one (a bridge master, an address, a route). */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include "core/net_internal.h"
#include "sys/sys.h"

static int
talk (int sock, struct nl_buf *b, void *reply, size_t reply_size)
{
  int r = sys_netlink_talk (sock, b->data, b->len, reply, reply_size);
  nl_buf_free (b);
  return r;
}

int
rtnl_link_index (int sock, const char *name)
{
  struct nl_buf b;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  union
  {
    struct nlmsghdr h;
    char buf[4096];
  } reply;
  int r;

  nl_buf_init (&b);
  size_t m = nl_msg_begin (&b, RTM_GETLINK, 0, &ifi, sizeof ifi);
  nl_put_u32 (&b, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  nl_put_str (&b, IFLA_IFNAME, name);
  nl_msg_end (&b, m);
  r = talk (sock, &b, &reply, sizeof reply);
  if (r < 0)
    return r;
  if (r < (int)(NLMSG_HDRLEN + sizeof ifi) || reply.h.nlmsg_type != RTM_NEWLINK)
    return -EPROTO;
  memcpy (&ifi, (char *)&reply + NLMSG_HDRLEN, sizeof ifi);
  return ifi.ifi_index;
}

/* RTM_NEWLINK for a new link of `kind` named `name`; the caller adds attributes between
 * begin and end. */
static size_t
newlink_begin (struct nl_buf *b, const char *name, const char *kind, size_t *linkinfo)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  size_t m = nl_msg_begin (b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);

  nl_put_str (b, IFLA_IFNAME, name);
  *linkinfo = nl_nest_begin (b, IFLA_LINKINFO);
  nl_put_str (b, IFLA_INFO_KIND, kind);
  return m;
}

int
rtnl_bridge_add (int sock, const char *name)
{
  struct nl_buf b;
  size_t li;

  nl_buf_init (&b);
  size_t m = newlink_begin (&b, name, "bridge", &li);
  nl_nest_end (&b, li);
  nl_msg_end (&b, m);
  return talk (sock, &b, NULL, 0);
}

int
rtnl_link_up (int sock, const char *name)
{
  struct nl_buf b;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };

  nl_buf_init (&b);
  size_t m = nl_msg_begin (&b, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  nl_put_str (&b, IFLA_IFNAME, name);
  nl_msg_end (&b, m);
  return talk (sock, &b, NULL, 0);
}

int
rtnl_veth_add (int sock, const char *name, const char *peer, int peer_netns_fd, int master)
{
  struct nl_buf b;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  size_t li;

  nl_buf_init (&b);
  size_t m = newlink_begin (&b, name, "veth", &li);
  size_t data = nl_nest_begin (&b, IFLA_INFO_DATA);
  /* The peer is made directly in the container's namespace, under its final name: it never
   * exists in the host's namespace, where eth0 may be taken. */
  size_t p = nl_nest_begin (&b, VETH_INFO_PEER);
  nl_append (&b, &ifi, sizeof ifi); /* VETH_INFO_PEER holds an ifinfomsg, then attributes */
  nl_put_str (&b, IFLA_IFNAME, peer);
  nl_put_u32 (&b, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
  nl_nest_end (&b, p);
  nl_nest_end (&b, data);
  nl_nest_end (&b, li);
  nl_put_u32 (&b, IFLA_MASTER, (uint32_t)master);
  nl_msg_end (&b, m);
  return talk (sock, &b, NULL, 0);
}

int
rtnl_link_del (int sock, const char *name)
{
  struct nl_buf b;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };

  nl_buf_init (&b);
  size_t m = nl_msg_begin (&b, RTM_DELLINK, 0, &ifi, sizeof ifi);
  nl_put_str (&b, IFLA_IFNAME, name);
  nl_msg_end (&b, m);
  return talk (sock, &b, NULL, 0);
}

int
rtnl_addr_add (int sock, int ifindex, uint32_t ip, int prefix)
{
  struct nl_buf b;
  struct ifaddrmsg ifa = { .ifa_family = AF_INET,
                           .ifa_prefixlen = (unsigned char)prefix,
                           .ifa_scope = RT_SCOPE_UNIVERSE,
                           .ifa_index = (unsigned)ifindex };
  uint32_t bcast = ip | ~(~0u << (32 - prefix));

  nl_buf_init (&b);
  size_t m = nl_msg_begin (&b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  nl_put_be32 (&b, IFA_LOCAL, ip);
  nl_put_be32 (&b, IFA_ADDRESS, ip);
  nl_put_be32 (&b, IFA_BROADCAST, bcast);
  nl_msg_end (&b, m);
  return talk (sock, &b, NULL, 0);
}

int
rtnl_route_default (int sock, int ifindex, uint32_t gateway)
{
  struct nl_buf b;
  struct rtmsg rt = { .rtm_family = AF_INET,
                      .rtm_table = RT_TABLE_MAIN,
                      .rtm_protocol = RTPROT_BOOT,
                      .rtm_scope = RT_SCOPE_UNIVERSE,
                      .rtm_type = RTN_UNICAST };

  nl_buf_init (&b);
  size_t m = nl_msg_begin (&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  nl_put_be32 (&b, RTA_GATEWAY, gateway);
  nl_put_u32 (&b, RTA_OIF, (uint32_t)ifindex);
  nl_msg_end (&b, m);
  return talk (sock, &b, NULL, 0);
}
