/* net.c: network namespaces as files, and netlink (rtnetlink links, addresses and routes;
 * nf_tables tables, chains and rules as decoded text), per network namespace.
 *
 * Messages are decoded from the bytes focker sends, like the kernel does, so the tests
 * check what was encoded, not what the caller meant.  Errors follow the kernel for the
 * cases focker relies on: EEXIST (NLM_F_EXCL on an existing link, address, route, table),
 * ENODEV (a link that is not there), ENOENT (a table or chain that is not there),
 * ENETUNREACH (a gateway outside every address of the route's link).  A netfilter batch
 * applies whole or not at all. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include "sys-fake/internal.h"

struct fake_link
{
  unsigned long ns;
  int index, master;
  char name[IFNAMSIZ], kind[16];
  bool up;
  struct fake_link *peer;
};

struct fake_addr
{
  unsigned long ns;
  int index, prefix;
  uint32_t ip;
};

struct fake_route
{
  unsigned long ns;
  int oif;
  uint32_t gw;
};

struct fake_nft
{
  unsigned long ns;
  char **lines;
  size_t n;
};

struct fake_net
{
  struct fake_link **links;
  size_t n_links;
  struct fake_addr *addrs;
  size_t n_addrs;
  struct fake_route *routes;
  size_t n_routes;
  struct fake_nft *nft;
  size_t n_nft;
  unsigned long *seeded; /* namespaces that have their lo */
  size_t n_seeded;
  int last_index;
};

static struct fake_net *
net_of (struct fake_kernel *k)
{
  if (k->net == NULL)
    {
      k->net = fake_xcalloc (1, sizeof *k->net);
      k->net->last_index = 1;
    }
  return k->net;
}

static void
nft_lines_free (char **lines, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (lines[i]);
  free (lines);
}

void
fake_net_free (struct fake_kernel *k)
{
  struct fake_net *n = k->net;

  if (n == NULL)
    return;
  for (size_t i = 0; i < n->n_links; i++)
    free (n->links[i]);
  free (n->links);
  free (n->addrs);
  free (n->routes);
  for (size_t i = 0; i < n->n_nft; i++)
    nft_lines_free (n->nft[i].lines, n->nft[i].n);
  free (n->nft);
  free (n->seeded);
  free (n);
  k->net = NULL;
}

static struct fake_link *
link_add (struct fake_net *n, unsigned long ns, const char *name, const char *kind)
{
  struct fake_link *l = fake_xcalloc (1, sizeof *l);

  l->ns = ns;
  l->index = strcmp (name, "lo") == 0 ? 1 : ++n->last_index;
  snprintf (l->name, sizeof l->name, "%s", name);
  snprintf (l->kind, sizeof l->kind, "%s", kind);
  n->links = fake_xrealloc (n->links, (n->n_links + 1) * sizeof *n->links);
  n->links[n->n_links++] = l;
  return l;
}

/* Every namespace has its loopback, down, from the start. */
static void
ns_seed (struct fake_net *n, unsigned long ns)
{
  for (size_t i = 0; i < n->n_seeded; i++)
    if (n->seeded[i] == ns)
      return;
  n->seeded = fake_xrealloc (n->seeded, (n->n_seeded + 1) * sizeof *n->seeded);
  n->seeded[n->n_seeded++] = ns;
  link_add (n, ns, "lo", "loopback");
}

static struct fake_link *
link_find (struct fake_net *n, unsigned long ns, int index, const char *name)
{
  ns_seed (n, ns);
  for (size_t i = 0; i < n->n_links; i++)
    if (n->links[i]->ns == ns
        && (index ? n->links[i]->index == index : name && strcmp (n->links[i]->name, name) == 0))
      return n->links[i];
  return NULL;
}

static void
link_drop (struct fake_net *n, struct fake_link *l)
{
  for (size_t i = 0; i < n->n_addrs;)
    if (n->addrs[i].ns == l->ns && n->addrs[i].index == l->index)
      n->addrs[i] = n->addrs[--n->n_addrs];
    else
      i++;
  for (size_t i = 0; i < n->n_routes;)
    if (n->routes[i].ns == l->ns && n->routes[i].oif == l->index)
      n->routes[i] = n->routes[--n->n_routes];
    else
      i++;
  for (size_t i = 0; i < n->n_links; i++)
    if (n->links[i] == l)
      {
        n->links[i] = n->links[--n->n_links];
        break;
      }
  free (l);
}

/* A link and its veth peer go together, as in the kernel. */
static void
link_del (struct fake_net *n, struct fake_link *l)
{
  struct fake_link *peer = l->peer;

  if (peer)
    link_drop (n, peer);
  link_drop (n, l);
}

/* ---- namespaces as files ---- */

static struct fake_ns *
net_ns_of_path (struct fake_kernel *k, const char *path)
{
  struct fake_inode *ino = fake_host_lookup (k, path, true);
  return ino && ino->nsref && ino->nsref->type == FAKE_NS_NET ? ino->nsref : NULL;
}

int
fake_do_netns_create (const char *path)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_inode *ino = NULL;

  if (path == NULL)
    return -EFAULT;
  if (fake_resolve_simple (k, AT_FDCWD, path, false, &ino) == 0 && ino)
    return -EEXIST;
  if (fake_ns_file (k, path, FAKE_NS_NET) == 0)
    return -ENOENT;
  return 0;
}

int
fake_do_netns_remove (const char *path)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_ns *ns;
  struct fake_net *n = net_of (k);

  if (path == NULL)
    return -EFAULT;
  ns = net_ns_of_path (k, path);
  int r = fake_do_unlinkat (AT_FDCWD, path, 0);
  if (r < 0 || ns == NULL)
    return r;
  /* the last reference: the namespace and its links go */
  for (size_t i = n->n_links; i-- > 0;)
    if (i < n->n_links && n->links[i]->ns == ns->id)
      link_del (n, n->links[i]);
  for (size_t i = 0; i < n->n_nft; i++)
    if (n->nft[i].ns == ns->id)
      {
        nft_lines_free (n->nft[i].lines, n->nft[i].n);
        n->nft[i] = n->nft[--n->n_nft];
        break;
      }
  return 0;
}

int
fake_do_netlink_open (int protocol, int netns_fd)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_ns *ns = p->ns[FAKE_NS_NET];
  struct fake_file *f;
  int fd;

  if (protocol != NETLINK_ROUTE && protocol != NETLINK_NETFILTER)
    return -EPROTONOSUPPORT;
  if (netns_fd >= 0)
    {
      struct fake_file *nf = fake_fd_get (p, netns_fd);
      if (nf == NULL)
        return -EBADF;
      if (nf->kind == FF_NS && nf->ns)
        ns = nf->ns;
      else if (nf->kind == FF_VNODE && nf->ino && nf->ino->nsref)
        ns = nf->ino->nsref;
      else
        return -EINVAL;
      if (ns->type != FAKE_NS_NET)
        return -EINVAL;
    }
  f = fake_file_new (k, FF_NETLINK);
  f->ns = ns;
  f->side = protocol;
  fd = fake_fd_install (k, p, f, true, 0);
  if (fd < 0)
    fake_file_unref (k, f);
  return fd;
}

/* ---- rtnetlink ---- */

struct msg_ctx
{
  struct fake_kernel *k;
  struct fake_net *n;
  unsigned long ns;
  void *reply;
  size_t reply_size;
  int got;
};

static int
parse (const struct nlattr **tb, int max, const void *buf, size_t len)
{
  const uint8_t *p = buf;
  size_t off = 0;

  memset (tb, 0, (size_t)(max + 1) * sizeof *tb);
  while (off + NLA_HDRLEN <= len)
    {
      const struct nlattr *a = (const struct nlattr *)(p + off);
      if (a->nla_len < NLA_HDRLEN || off + a->nla_len > len)
        return -EINVAL;
      if ((a->nla_type & NLA_TYPE_MASK) <= max)
        tb[a->nla_type & NLA_TYPE_MASK] = a;
      off += NLA_ALIGN (a->nla_len);
    }
  return 0;
}

#define ADATA(a) ((const void *)((const uint8_t *)(a) + NLA_HDRLEN))
#define ALEN(a) ((size_t)((a)->nla_len - NLA_HDRLEN))

static uint32_t
a_u32 (const struct nlattr *a)
{
  uint32_t v = 0;
  if (a && ALEN (a) == 4)
    memcpy (&v, ADATA (a), 4);
  return v;
}

static const char *
a_str (const struct nlattr *a)
{
  return a && ALEN (a) > 0 && ((const char *)ADATA (a))[ALEN (a) - 1] == '\0' ? ADATA (a) : NULL;
}

/* The attributes after a family header of hdr_len bytes. */
static int
msg_attrs (const struct nlmsghdr *h, size_t hdr_len, const struct nlattr **tb, int max)
{
  size_t off = NLMSG_HDRLEN + NLMSG_ALIGN (hdr_len);
  if (h->nlmsg_len < off)
    return -EINVAL;
  return parse (tb, max, (const uint8_t *)h + off, h->nlmsg_len - off);
}

static int
veth_new (struct msg_ctx *c, const char *name, const struct nlattr *data)
{
  const struct nlattr *vd[VETH_INFO_MAX + 1], *pt[IFLA_MAX + 1];
  unsigned long peer_ns = c->ns;
  const char *peer_name = "veth0";

  if (data && parse (vd, VETH_INFO_MAX, ADATA (data), ALEN (data)) == 0 && vd[VETH_INFO_PEER])
    {
      const struct nlattr *p = vd[VETH_INFO_PEER];
      size_t skip = NLMSG_ALIGN (sizeof (struct ifinfomsg));
      if (ALEN (p) < skip
          || parse (pt, IFLA_MAX, (const uint8_t *)ADATA (p) + skip, ALEN (p) - skip) < 0)
        return -EINVAL;
      if (a_str (pt[IFLA_IFNAME]))
        peer_name = a_str (pt[IFLA_IFNAME]);
      if (pt[IFLA_NET_NS_FD])
        {
          struct fake_file *f = fake_fd_get (fake_self (c->k), (int)a_u32 (pt[IFLA_NET_NS_FD]));
          struct fake_ns *ns = f == NULL                 ? NULL
                               : f->kind == FF_NS        ? f->ns
                               : f->ino && f->ino->nsref ? f->ino->nsref
                                                         : NULL;
          if (f == NULL)
            return -EBADF;
          if (ns == NULL || ns->type != FAKE_NS_NET)
            return -EINVAL;
          peer_ns = ns->id;
        }
    }
  if (link_find (c->n, peer_ns, 0, peer_name) || strcmp (peer_name, name) == 0)
    return -EEXIST;
  struct fake_link *a = link_add (c->n, c->ns, name, "veth");
  struct fake_link *b = link_add (c->n, peer_ns, peer_name, "veth");
  a->peer = b;
  b->peer = a;
  return 0;
}

static int
rt_newlink (struct msg_ctx *c, const struct nlmsghdr *h)
{
  const struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
  struct ifinfomsg ifi;
  struct fake_link *l;
  int r;

  if (h->nlmsg_len < NLMSG_LENGTH (sizeof ifi) || msg_attrs (h, sizeof ifi, tb, IFLA_MAX) < 0)
    return -EINVAL;
  memcpy (&ifi, NLMSG_DATA (h), sizeof ifi);
  const char *name = a_str (tb[IFLA_IFNAME]);
  l = link_find (c->n, c->ns, ifi.ifi_index, name);
  if (l == NULL)
    {
      if (!(h->nlmsg_flags & NLM_F_CREATE) || ifi.ifi_index)
        return -ENODEV;
      if (name == NULL || tb[IFLA_LINKINFO] == NULL
          || parse (li, IFLA_INFO_MAX, ADATA (tb[IFLA_LINKINFO]), ALEN (tb[IFLA_LINKINFO])) < 0
          || a_str (li[IFLA_INFO_KIND]) == NULL)
        return -EINVAL;
      const char *kind = a_str (li[IFLA_INFO_KIND]);
      if (strcmp (kind, "bridge") == 0)
        link_add (c->n, c->ns, name, "bridge");
      else if (strcmp (kind, "veth") == 0)
        {
          if ((r = veth_new (c, name, li[IFLA_INFO_DATA])) < 0)
            return r;
        }
      else
        return -EOPNOTSUPP;
      l = link_find (c->n, c->ns, 0, name);
    }
  else if ((h->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL))
    return -EEXIST;
  if (tb[IFLA_MASTER])
    {
      struct fake_link *m = link_find (c->n, c->ns, (int)a_u32 (tb[IFLA_MASTER]), NULL);
      if (m == NULL || strcmp (m->kind, "bridge") != 0)
        {
          if (h->nlmsg_flags & NLM_F_CREATE)
            link_del (c->n, l);
          return m == NULL ? -ENODEV : -EOPNOTSUPP;
        }
      l->master = m->index;
    }
  if (ifi.ifi_change & IFF_UP)
    l->up = (ifi.ifi_flags & IFF_UP) != 0;
  return 0;
}

static int
rt_link_get_del (struct msg_ctx *c, const struct nlmsghdr *h)
{
  const struct nlattr *tb[IFLA_MAX + 1];
  struct ifinfomsg ifi;
  struct fake_link *l;

  if (h->nlmsg_len < NLMSG_LENGTH (sizeof ifi) || msg_attrs (h, sizeof ifi, tb, IFLA_MAX) < 0)
    return -EINVAL;
  memcpy (&ifi, NLMSG_DATA (h), sizeof ifi);
  l = link_find (c->n, c->ns, ifi.ifi_index, a_str (tb[IFLA_IFNAME]));
  if (l == NULL)
    return -ENODEV;
  if (h->nlmsg_type == RTM_DELLINK)
    {
      if (l->index == 1)
        return -EOPNOTSUPP;
      link_del (c->n, l);
      return 0;
    }
  /* the answer: RTM_NEWLINK, its ifinfomsg and name */
  uint8_t buf[NLMSG_LENGTH (sizeof ifi) + NLA_HDRLEN + IFNAMSIZ] = { 0 };
  struct nlmsghdr *rh = (struct nlmsghdr *)buf;
  struct ifinfomsg *ri = NLMSG_DATA (rh);
  struct nlattr *a = (struct nlattr *)(buf + NLMSG_LENGTH (sizeof ifi));
  rh->nlmsg_len = sizeof buf;
  rh->nlmsg_type = RTM_NEWLINK;
  rh->nlmsg_seq = h->nlmsg_seq;
  ri->ifi_index = l->index;
  ri->ifi_flags = l->up ? IFF_UP : 0;
  a->nla_len = NLA_HDRLEN + IFNAMSIZ;
  a->nla_type = IFLA_IFNAME;
  memcpy (a + 1, l->name, strlen (l->name));
  if (c->reply && !c->got)
    {
      c->got = (int)(sizeof buf < c->reply_size ? sizeof buf : c->reply_size);
      memcpy (c->reply, buf, (size_t)c->got);
    }
  return 0;
}

static int
rt_newaddr (struct msg_ctx *c, const struct nlmsghdr *h)
{
  const struct nlattr *tb[IFA_MAX + 1];
  struct ifaddrmsg ifa;

  if (h->nlmsg_len < NLMSG_LENGTH (sizeof ifa) || msg_attrs (h, sizeof ifa, tb, IFA_MAX) < 0)
    return -EINVAL;
  memcpy (&ifa, NLMSG_DATA (h), sizeof ifa);
  if (ifa.ifa_family != AF_INET || !tb[IFA_LOCAL] || ifa.ifa_prefixlen > 32)
    return -EINVAL;
  if (link_find (c->n, c->ns, (int)ifa.ifa_index, NULL) == NULL)
    return -ENODEV;
  uint32_t ip = ntohl (a_u32 (tb[IFA_LOCAL]));
  for (size_t i = 0; i < c->n->n_addrs; i++)
    if (c->n->addrs[i].ns == c->ns && c->n->addrs[i].index == (int)ifa.ifa_index
        && c->n->addrs[i].ip == ip)
      return (h->nlmsg_flags & NLM_F_EXCL) ? -EEXIST : 0;
  c->n->addrs = fake_xrealloc (c->n->addrs, (c->n->n_addrs + 1) * sizeof *c->n->addrs);
  c->n->addrs[c->n->n_addrs++] = (struct fake_addr){
    .ns = c->ns, .index = (int)ifa.ifa_index, .ip = ip, .prefix = ifa.ifa_prefixlen
  };
  return 0;
}

static int
rt_newroute (struct msg_ctx *c, const struct nlmsghdr *h)
{
  const struct nlattr *tb[RTA_MAX + 1];
  struct rtmsg rt;
  bool reachable = false;

  if (h->nlmsg_len < NLMSG_LENGTH (sizeof rt) || msg_attrs (h, sizeof rt, tb, RTA_MAX) < 0)
    return -EINVAL;
  memcpy (&rt, NLMSG_DATA (h), sizeof rt);
  if (rt.rtm_family != AF_INET || rt.rtm_dst_len != 0 || !tb[RTA_GATEWAY] || !tb[RTA_OIF])
    return -EINVAL; /* only default routes through a gateway are modelled */
  int oif = (int)a_u32 (tb[RTA_OIF]);
  uint32_t gw = ntohl (a_u32 (tb[RTA_GATEWAY]));
  if (link_find (c->n, c->ns, oif, NULL) == NULL)
    return -ENODEV;
  for (size_t i = 0; i < c->n->n_addrs; i++)
    {
      const struct fake_addr *a = &c->n->addrs[i];
      uint32_t mask = a->prefix ? ~0u << (32 - a->prefix) : 0;
      if (a->ns == c->ns && a->index == oif && (a->ip & mask) == (gw & mask))
        reachable = true;
    }
  if (!reachable)
    return -ENETUNREACH;
  for (size_t i = 0; i < c->n->n_routes; i++)
    if (c->n->routes[i].ns == c->ns)
      return -EEXIST;
  c->n->routes = fake_xrealloc (c->n->routes, (c->n->n_routes + 1) * sizeof *c->n->routes);
  c->n->routes[c->n->n_routes++] = (struct fake_route){ .ns = c->ns, .oif = oif, .gw = gw };
  return 0;
}

static int
rtnl_one (struct msg_ctx *c, const struct nlmsghdr *h)
{
  switch (h->nlmsg_type)
    {
    case RTM_NEWLINK:
      return rt_newlink (c, h);
    case RTM_DELLINK:
    case RTM_GETLINK:
      return rt_link_get_del (c, h);
    case RTM_NEWADDR:
      return rt_newaddr (c, h);
    case RTM_NEWROUTE:
      return rt_newroute (c, h);
    default:
      return -EOPNOTSUPP;
    }
}

/* ---- nf_tables ---- */

static const char *
family_name (int f)
{
  return f == NFPROTO_IPV4 ? "ip" : f == NFPROTO_IPV6 ? "ip6" : f == NFPROTO_INET ? "inet" : "?";
}

static void put (char **s, size_t *len, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void
put (char **s, size_t *len, const char *fmt, ...)
{
  va_list ap;
  char tmp[512];

  va_start (ap, fmt);
  int n = vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  *s = fake_xrealloc (*s, *len + (size_t)n + 1);
  memcpy (*s + *len, tmp, (size_t)n + 1);
  *len += (size_t)n;
}

static uint32_t
be (const struct nlattr *a)
{
  return ntohl (a_u32 (a));
}

/* NFTA_DATA_VALUE of a data nest: a string when it is text padded with NULs, else hex. */
static void
put_data (char **s, size_t *len, const struct nlattr *nest)
{
  const struct nlattr *d[NFTA_DATA_MAX + 1];

  if (nest == NULL || parse (d, NFTA_DATA_MAX, ADATA (nest), ALEN (nest)) < 0
      || !d[NFTA_DATA_VALUE])
    {
      put (s, len, "?");
      return;
    }
  const uint8_t *v = ADATA (d[NFTA_DATA_VALUE]);
  size_t n = ALEN (d[NFTA_DATA_VALUE]), text = 0;
  while (text < n && v[text] >= 0x20 && v[text] < 0x7f)
    text++;
  bool padded = text > 0 && n > 4;
  for (size_t i = text; i < n; i++)
    padded = padded && v[i] == 0;
  if (padded)
    {
      put (s, len, "\"%.*s\"", (int)text, (const char *)v);
      return;
    }
  put (s, len, "0x");
  for (size_t i = 0; i < n; i++)
    put (s, len, "%02x", v[i]);
}

/* One expression as text: "meta l4proto", "payload nh 12 4", "cmp eq 0x06" ... */
static int
put_expr (char **s, size_t *len, const struct nlattr *elem)
{
  const struct nlattr *e[NFTA_EXPR_MAX + 1], *t[32];
  static const char *const cmp_ops[] = { "eq", "neq", "lt", "lte", "gt", "gte" };

  if (parse (e, NFTA_EXPR_MAX, ADATA (elem), ALEN (elem)) < 0 || a_str (e[NFTA_EXPR_NAME]) == NULL)
    return -EINVAL;
  const char *name = a_str (e[NFTA_EXPR_NAME]);
  memset (t, 0, sizeof t);
  if (e[NFTA_EXPR_DATA] && parse (t, 31, ADATA (e[NFTA_EXPR_DATA]), ALEN (e[NFTA_EXPR_DATA])) < 0)
    return -EINVAL;
  if (strcmp (name, "meta") == 0)
    {
      uint32_t key = be (t[NFTA_META_KEY]);
      put (s, len, "meta %s r%u",
           key == NFT_META_L4PROTO   ? "l4proto"
           : key == NFT_META_OIFNAME ? "oifname"
                                     : "?",
           be (t[NFTA_META_DREG]));
    }
  else if (strcmp (name, "payload") == 0)
    put (s, len, "payload %s %u %u r%u",
         be (t[NFTA_PAYLOAD_BASE]) == NFT_PAYLOAD_NETWORK_HEADER     ? "nh"
         : be (t[NFTA_PAYLOAD_BASE]) == NFT_PAYLOAD_TRANSPORT_HEADER ? "th"
                                                                     : "?",
         be (t[NFTA_PAYLOAD_OFFSET]), be (t[NFTA_PAYLOAD_LEN]), be (t[NFTA_PAYLOAD_DREG]));
  else if (strcmp (name, "cmp") == 0)
    {
      uint32_t op = be (t[NFTA_CMP_OP]);
      put (s, len, "cmp r%u %s ", be (t[NFTA_CMP_SREG]), op < 6 ? cmp_ops[op] : "?");
      put_data (s, len, t[NFTA_CMP_DATA]);
    }
  else if (strcmp (name, "bitwise") == 0)
    {
      put (s, len, "r%u = r%u & ", be (t[NFTA_BITWISE_DREG]), be (t[NFTA_BITWISE_SREG]));
      put_data (s, len, t[NFTA_BITWISE_MASK]);
      put (s, len, " ^ ");
      put_data (s, len, t[NFTA_BITWISE_XOR]);
    }
  else if (strcmp (name, "immediate") == 0)
    {
      put (s, len, "r%u = ", be (t[NFTA_IMMEDIATE_DREG]));
      put_data (s, len, t[NFTA_IMMEDIATE_DATA]);
    }
  else if (strcmp (name, "fib") == 0)
    put (s, len, "fib%s%s r%u", be (t[NFTA_FIB_FLAGS]) & NFTA_FIB_F_DADDR ? " daddr" : "",
         be (t[NFTA_FIB_RESULT]) == NFT_FIB_RESULT_ADDRTYPE ? " type" : " ?",
         be (t[NFTA_FIB_DREG]));
  else if (strcmp (name, "nat") == 0)
    put (s, len, "%s %s addr r%u port r%u", be (t[NFTA_NAT_TYPE]) == NFT_NAT_DNAT ? "dnat" : "snat",
         family_name ((int)be (t[NFTA_NAT_FAMILY])), be (t[NFTA_NAT_REG_ADDR_MIN]),
         be (t[NFTA_NAT_REG_PROTO_MIN]));
  else if (strcmp (name, "masq") == 0)
    put (s, len, "masq");
  else
    return -EOPNOTSUPP; /* no module for it */
  return 0;
}

struct nft_work
{
  char **lines;
  size_t n;
};

static ssize_t
line_find (struct nft_work *w, const char *prefix, bool exact)
{
  for (size_t i = 0; i < w->n; i++)
    if (exact ? strcmp (w->lines[i], prefix) == 0
              : strncmp (w->lines[i], prefix, strlen (prefix)) == 0)
      return (ssize_t)i;
  return -1;
}

static void
line_add (struct nft_work *w, char *line)
{
  w->lines = fake_xrealloc (w->lines, (w->n + 1) * sizeof *w->lines);
  w->lines[w->n++] = line;
}

static int
nft_one (struct nft_work *w, const struct nlmsghdr *h)
{
  const struct nlattr *tb[32];
  const struct nfgenmsg *g = NLMSG_DATA (h);
  int type = h->nlmsg_type & 0xff;
  bool excl = (h->nlmsg_flags & NLM_F_EXCL) != 0;
  char key[256];

  if ((h->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES || h->nlmsg_len < NLMSG_LENGTH (sizeof *g)
      || msg_attrs (h, sizeof *g, tb, 31) < 0)
    return -EINVAL;
  const char *fam = family_name (g->nfgen_family);
  switch (type)
    {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_DELTABLE:
      if (!a_str (tb[NFTA_TABLE_NAME]))
        return -EINVAL;
      snprintf (key, sizeof key, "table %s %s", fam, a_str (tb[NFTA_TABLE_NAME]));
      if (type == NFT_MSG_NEWTABLE)
        {
          if (line_find (w, key, true) >= 0)
            return excl ? -EEXIST : 0;
          line_add (w, fake_xstrdup (key));
          return 0;
        }
      if (line_find (w, key, true) < 0)
        return -ENOENT;
      {
        char sub[300];
        snprintf (sub, sizeof sub, "%s ", key + strlen ("table "));
        for (size_t i = 0; i < w->n;)
          {
            const char *l = w->lines[i];
            const char *rest = strchr (l, ' ');
            if (strcmp (l, key) == 0 || (rest && strncmp (rest + 1, sub, strlen (sub)) == 0))
              {
                free (w->lines[i]);
                memmove (&w->lines[i], &w->lines[i + 1], (w->n - i - 1) * sizeof *w->lines);
                w->n--;
              }
            else
              i++;
          }
      }
      return 0;
    case NFT_MSG_NEWCHAIN:
      {
        const struct nlattr *hk[NFTA_HOOK_MAX + 1] = { NULL };
        const char *table = a_str (tb[NFTA_CHAIN_TABLE]), *chain = a_str (tb[NFTA_CHAIN_NAME]);
        if (!table || !chain)
          return -EINVAL;
        snprintf (key, sizeof key, "table %s %s", fam, table);
        if (line_find (w, key, true) < 0)
          return -ENOENT;
        snprintf (key, sizeof key, "chain %s %s %s ", fam, table, chain);
        if (line_find (w, key, false) >= 0)
          return excl ? -EEXIST : 0;
        if (tb[NFTA_CHAIN_HOOK])
          parse (hk, NFTA_HOOK_MAX, ADATA (tb[NFTA_CHAIN_HOOK]), ALEN (tb[NFTA_CHAIN_HOOK]));
        line_add (
            w, fake_xasprintf ("%stype %s hook %u priority %d policy %s", key,
                               a_str (tb[NFTA_CHAIN_TYPE]) ? a_str (tb[NFTA_CHAIN_TYPE]) : "filter",
                               be (hk[NFTA_HOOK_HOOKNUM]), (int)be (hk[NFTA_HOOK_PRIORITY]),
                               be (tb[NFTA_CHAIN_POLICY]) == NF_ACCEPT ? "accept" : "drop"));
        return 0;
      }
    case NFT_MSG_NEWRULE:
      {
        const char *table = a_str (tb[NFTA_RULE_TABLE]), *chain = a_str (tb[NFTA_RULE_CHAIN]);
        char *s = NULL;
        size_t len = 0;
        if (!table || !chain || !tb[NFTA_RULE_EXPRESSIONS])
          return -EINVAL;
        snprintf (key, sizeof key, "table %s %s", fam, table);
        if (line_find (w, key, true) < 0)
          return -ENOENT;
        snprintf (key, sizeof key, "chain %s %s %s ", fam, table, chain);
        if (line_find (w, key, false) < 0)
          return -ENOENT;
        put (&s, &len, "rule %s %s %s:", fam, table, chain);
        const uint8_t *p = ADATA (tb[NFTA_RULE_EXPRESSIONS]);
        size_t n = ALEN (tb[NFTA_RULE_EXPRESSIONS]), off = 0;
        while (off + NLA_HDRLEN <= n)
          {
            const struct nlattr *a = (const struct nlattr *)(p + off);
            int r;
            if (a->nla_len < NLA_HDRLEN || off + a->nla_len > n)
              r = -EINVAL;
            else
              {
                put (&s, &len, " ");
                r = put_expr (&s, &len, a);
                put (&s, &len, ";");
              }
            if (r < 0)
              {
                free (s);
                return r;
              }
            off += NLA_ALIGN (a->nla_len);
          }
        line_add (w, s);
        return 0;
      }
    default:
      return -EOPNOTSUPP;
    }
}

static struct fake_nft *
nft_of (struct fake_net *n, unsigned long ns)
{
  for (size_t i = 0; i < n->n_nft; i++)
    if (n->nft[i].ns == ns)
      return &n->nft[i];
  n->nft = fake_xrealloc (n->nft, (n->n_nft + 1) * sizeof *n->nft);
  n->nft[n->n_nft] = (struct fake_nft){ .ns = ns };
  return &n->nft[n->n_nft++];
}

/* ---- talk ---- */

int
fake_do_netlink_talk (int fd, const void *req, size_t len, void *reply, size_t reply_size)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), fd);
  struct msg_ctx c = { .k = k, .reply = reply, .reply_size = reply_size };
  struct nft_work w = { NULL, 0 };
  struct fake_nft *t = NULL;
  const struct nlmsghdr *h;
  bool in_batch = false;
  int first = 0;

  if (f == NULL)
    return -EBADF;
  if (f->kind != FF_NETLINK)
    return -ENOTSOCK;
  if (req == NULL)
    return -EFAULT;
  c.n = net_of (k);
  c.ns = f->ns->id;
  if (f->side == NETLINK_NETFILTER)
    {
      t = nft_of (c.n, c.ns);
      for (size_t i = 0; i < t->n; i++)
        line_add (&w, fake_xstrdup (t->lines[i]));
    }
  for (size_t off = 0; off + NLMSG_HDRLEN <= len; off += NLMSG_ALIGN (h->nlmsg_len))
    {
      int r;
      h = (const struct nlmsghdr *)((const uint8_t *)req + off);
      if (h->nlmsg_len < NLMSG_HDRLEN || off + h->nlmsg_len > len)
        {
          first = first ? first : -EINVAL;
          break;
        }
      if (f->side == NETLINK_ROUTE)
        r = rtnl_one (&c, h);
      else if (h->nlmsg_type == NFNL_MSG_BATCH_BEGIN)
        {
          in_batch = true;
          continue;
        }
      else if (h->nlmsg_type == NFNL_MSG_BATCH_END)
        {
          if (in_batch && first == 0)
            {
              nft_lines_free (t->lines, t->n);
              t->lines = w.lines;
              t->n = w.n;
              w.lines = NULL;
              w.n = 0;
            }
          in_batch = false;
          continue;
        }
      else
        r = in_batch ? nft_one (&w, h) : -EINVAL;
      if (r < 0 && first == 0)
        first = r;
    }
  nft_lines_free (w.lines, w.n);
  return first < 0 ? first : c.got;
}

/* ---- test API ---- */

unsigned long
fake_ns_file_id (struct fake_kernel *k, const char *path)
{
  struct fake_ns *ns = net_ns_of_path (k, path);
  return ns ? ns->id : 0;
}

char *
fake_net_dump (struct fake_kernel *k, unsigned long ns)
{
  struct fake_net *n = net_of (k);
  char *s = fake_xstrdup ("");
  size_t len = 0;

  ns_seed (n, ns);
  for (int index = 1; index <= n->last_index; index++)
    {
      struct fake_link *l = link_find (n, ns, index, NULL);
      if (l == NULL)
        continue;
      put (&s, &len, "link %s %s%s", l->name, l->kind, l->up ? " up" : "");
      if (l->master)
        put (&s, &len, " master %s", link_find (n, ns, l->master, NULL)->name);
      if (l->peer)
        put (&s, &len, " peer %s%s", l->peer->name, l->peer->ns == ns ? "" : " elsewhere");
      put (&s, &len, "\n");
      for (size_t i = 0; i < n->n_addrs; i++)
        if (n->addrs[i].ns == ns && n->addrs[i].index == index)
          {
            uint32_t a = n->addrs[i].ip;
            put (&s, &len, "addr %s %u.%u.%u.%u/%d\n", l->name, a >> 24, (a >> 16) & 255,
                 (a >> 8) & 255, a & 255, n->addrs[i].prefix);
          }
    }
  for (size_t i = 0; i < n->n_routes; i++)
    if (n->routes[i].ns == ns)
      {
        uint32_t g = n->routes[i].gw;
        put (&s, &len, "route default via %u.%u.%u.%u dev %s\n", g >> 24, (g >> 16) & 255,
             (g >> 8) & 255, g & 255, link_find (n, ns, n->routes[i].oif, NULL)->name);
      }
  for (size_t i = 0; i < n->n_nft; i++)
    if (n->nft[i].ns == ns)
      for (size_t j = 0; j < n->nft[i].n; j++)
        put (&s, &len, "%s\n", n->nft[i].lines[j]);
  return s;
}
