/* test_net.c: networking logic on the fake kernel: the netlink writer (decoded back), the
 * lease file and its allocator (allocation, release, exhaustion, persistence, the lock,
 * publish conflicts), and publish spec parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sched.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/rtnetlink.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/ipam.h"
#include "core/net.h"
#include "core/nl.h"
#include "sys-fake/fake.h"
#include "sys/sys.h"
#include "tests/unit/fixture.h"

#define STORE "/var/lib/focker"

/* ---- the netlink writer ---- */

static void
nl_message_decodes_back (void **state)
{
  struct nl_buf b;
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 7 };
  const struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
  size_t len;

  nl_buf_init (&b);
  size_t m = nl_msg_begin (&b, RTM_NEWLINK, NLM_F_CREATE, &ifi, sizeof ifi);
  nl_put_str (&b, IFLA_IFNAME, "abc");
  size_t n = nl_nest_begin (&b, IFLA_LINKINFO);
  nl_put_str (&b, IFLA_INFO_KIND, "bridge");
  nl_nest_end (&b, n);
  nl_put_u32 (&b, IFLA_MASTER, 42);
  nl_put_u8 (&b, IFLA_OPERSTATE, 6);
  nl_msg_end (&b, m);
  size_t m2 = nl_msg_begin (&b, RTM_DELLINK, 0, &ifi, sizeof ifi);
  nl_msg_end (&b, m2);

  const struct nlmsghdr *h = (const struct nlmsghdr *)b.data;
  assert_int_equal (h->nlmsg_len, m2);
  assert_int_equal (h->nlmsg_type, RTM_NEWLINK);
  assert_int_equal (h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
  assert_int_equal (h->nlmsg_seq, 1);
  assert_int_equal (((const struct ifinfomsg *)NLMSG_DATA (h))->ifi_index, 7);
  const void *attrs = nl_msg_attrs (h, sizeof ifi, &len);
  assert_int_equal (nl_attr_parse (tb, IFLA_MAX, attrs, len), 0);
  assert_string_equal (nl_attr_data (tb[IFLA_IFNAME]), "abc");
  assert_int_equal (nl_attr_len (tb[IFLA_IFNAME]), 4);
  assert_int_equal (nl_attr_u32 (tb[IFLA_MASTER]), 42);
  assert_int_equal (*(const uint8_t *)nl_attr_data (tb[IFLA_OPERSTATE]), 6);
  assert_true (tb[IFLA_LINKINFO]->nla_type & NLA_F_NESTED);
  assert_int_equal (nl_attr_parse (li, IFLA_INFO_MAX, nl_attr_data (tb[IFLA_LINKINFO]),
                                   nl_attr_len (tb[IFLA_LINKINFO])),
                    0);
  assert_string_equal (nl_attr_data (li[IFLA_INFO_KIND]), "bridge");
  /* the second message follows, aligned, with the next sequence number */
  h = (const struct nlmsghdr *)(b.data + m2);
  assert_int_equal (h->nlmsg_type, RTM_DELLINK);
  assert_int_equal (h->nlmsg_seq, 2);
  assert_int_equal (h->nlmsg_len, b.len - m2);
  assert_int_equal (b.len % 4, 0);
  nl_buf_free (&b);
}

static void
nl_parse_refuses_an_attribute_past_the_end (void **state)
{
  struct nl_buf b;
  const struct nlattr *tb[8];

  nl_buf_init (&b);
  nl_put_u32 (&b, 1, 5);
  nl_put_be32 (&b, 2, 0x01020304);
  assert_int_equal (nl_attr_parse (tb, 7, b.data, b.len), 0);
  assert_int_equal (nl_attr_be32 (tb[2]), 0x01020304);
  assert_int_equal (((const uint8_t *)nl_attr_data (tb[2]))[0], 1);
  assert_null (tb[3]);
  assert_int_equal (nl_attr_parse (tb, 7, b.data, b.len - 2), -EINVAL);
  ((struct nlattr *)b.data)->nla_len = 2;
  assert_int_equal (nl_attr_parse (tb, 7, b.data, b.len), -EINVAL);
  nl_buf_free (&b);
}

/* ---- publish specs ---- */

static void
publish_specs_parse_and_bad_ones_are_named (void **state)
{
  struct net_publish p;
  struct focker_err *err = NULL;

  assert_int_equal (net_publish_parse (&p, "8080:80", &err), 0);
  assert_int_equal (p.host_ip, 0);
  assert_int_equal (p.host_port, 8080);
  assert_int_equal (p.ctr_port, 80);
  assert_int_equal (p.proto, IPPROTO_TCP);
  assert_int_equal (net_publish_parse (&p, "127.0.0.1:53:5353/udp", &err), 0);
  assert_int_equal (p.host_ip, 0x7f000001);
  assert_int_equal (p.proto, IPPROTO_UDP);
  const char *bad[] = { "80", "1:2:3:4", "0:80", "8080:65536", "8080:80/sctp", "x:1:2", "a:80" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_int_equal (net_publish_parse (&p, bad[i], &err), -EINVAL);
      assert_non_null (strstr (err->msg, bad[i]));
      focker_err_free (err);
      err = NULL;
    }
}

/* ---- the lease file ---- */

static struct ipam *
open_ipam (const char *subnet)
{
  struct ipam *ipam = NULL;
  _cleanup_err_ struct focker_err *err = NULL;

  if (ipam_open (&ipam, STORE, subnet, &err) < 0)
    fail_msg ("ipam_open: %s", err->msg);
  return ipam;
}

static uint32_t
lease (struct ipam *ipam, const char *id, const char *publish)
{
  struct net_publish p;
  struct ipam_lease req = { .id = (char *)id, .publish = &p, .n_publish = publish != NULL };
  _cleanup_err_ struct focker_err *err = NULL;
  uint32_t ip = 0;

  if (publish)
    assert_int_equal (net_publish_parse (&p, publish, &err), 0);
  if (ipam_alloc (ipam, &req, &ip, &err) < 0)
    fail_msg ("ipam_alloc %s: %s", id, err->msg);
  return ip;
}

static bool
ipam_find_complete (const char *id)
{
  struct ipam *ipam = open_ipam (NULL);
  struct ipam_lease *l = ipam_find (ipam, id);
  bool r = l && l->complete;
  ipam_close (ipam);
  return r;
}

static void
ipam_allocates_in_order_reuses_released_and_persists (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct ipam *ipam = open_ipam (NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  char b[16];

  assert_string_equal (ipv4_str (b, ipam->gateway), "172.17.0.1");
  assert_int_equal (ipam->prefix, 16);
  assert_int_equal (lease (ipam, "a", NULL), 0xac110002);
  assert_int_equal (lease (ipam, "b", "8080:80"), 0xac110003);
  assert_int_equal (lease (ipam, "c", NULL), 0xac110004);
  assert_int_equal (ipam_release (ipam, "b"), 0);
  assert_int_equal (ipam_release (ipam, "b"), -ENOENT);
  assert_int_equal (lease (ipam, "d", NULL), 0xac110003);
  assert_int_equal (ipam_commit (ipam, &err), 0);
  ipam_close (ipam);

  /* a later command sees the same leases */
  ipam = open_ipam (NULL);
  assert_int_equal (ipam->n_leases, 3);
  assert_int_equal (ipam_find (ipam, "d")->ip, 0xac110003);
  assert_null (ipam_find (ipam, "b"));
  assert_int_equal (lease (ipam, "e", NULL), 0xac110005);
  ipam_close (ipam); /* not committed: dropped */
  ipam = open_ipam (NULL);
  assert_null (ipam_find (ipam, "e"));
  ipam_close (ipam);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  fake_kernel_free (k);
}

static void
ipam_refuses_duplicates_taken_ports_and_a_full_subnet (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct ipam *ipam = open_ipam ("10.5.0.0/30"); /* one address besides the gateway */
  struct focker_err *err = NULL;
  struct net_publish p[2];
  struct ipam_lease req = { .id = "x", .publish = p, .n_publish = 1 };
  uint32_t ip;

  assert_int_equal (lease (ipam, "a", "8080:80"), 0x0a050002);
  assert_int_equal (ipam_alloc (ipam, &(struct ipam_lease){ .id = "a" }, &ip, &err), -EEXIST);
  focker_err_free (TAKE_PTR (err));
  /* same port and protocol on an overlapping address */
  net_publish_parse (&p[0], "127.0.0.1:8080:90", &err);
  assert_int_equal (ipam_alloc (ipam, &req, &ip, &err), -EADDRINUSE);
  assert_string_equal (err->msg, "host port 8080/tcp is already published by container a");
  focker_err_free (TAKE_PTR (err));
  /* twice in one request */
  net_publish_parse (&p[0], "9000:90", &err);
  net_publish_parse (&p[1], "9000:91", &err);
  req.n_publish = 2;
  assert_int_equal (ipam_alloc (ipam, &req, &ip, &err), -EADDRINUSE);
  focker_err_free (TAKE_PTR (err));
  /* udp on the same number is another port; the subnet is full though */
  net_publish_parse (&p[0], "8080:80/udp", &err);
  req.n_publish = 1;
  assert_int_equal (ipam_alloc (ipam, &req, &ip, &err), -ENOSPC);
  assert_string_equal (err->msg, "network 10.5.0.0/30: no free address (1 leases)");
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (ipam_release (ipam, "a"), 0);
  assert_int_equal (ipam_alloc (ipam, &req, &ip, &err), 0);
  assert_int_equal (ip, 0x0a050002);
  ipam_close (ipam);
  fake_kernel_free (k);
}

static void
ipam_subnet_changes_only_without_leases (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct ipam *ipam = open_ipam ("10.1.0.0/24");
  struct focker_err *err = NULL;

  lease (ipam, "a", NULL);
  assert_int_equal (ipam_commit (ipam, &err), 0);
  ipam_close (ipam);
  ipam = open_ipam (NULL);
  assert_int_equal (ipam->net, 0x0a010000);
  ipam_close (ipam);
  assert_int_equal (ipam_open (&ipam, STORE, "10.2.0.0/24", &err), -EBUSY);
  assert_string_equal (err->msg, "subnet 10.2.0.0/24: the network has 10.1.0.0/24 and 1 lease");
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (ipam_open (&ipam, STORE, "10.2.0.0/33", &err), -EINVAL);
  focker_err_free (TAKE_PTR (err));
  ipam = open_ipam (NULL);
  ipam_release (ipam, "a");
  assert_int_equal (ipam_commit (ipam, &err), 0);
  ipam_close (ipam);
  ipam = open_ipam ("10.2.0.0/24");
  assert_int_equal (lease (ipam, "b", NULL), 0x0a020002);
  ipam_close (ipam);
  fake_kernel_free (k);
}

static void
ipam_refuses_a_lease_file_it_cannot_read (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct ipam *ipam = open_ipam (NULL);
  struct focker_err *err = NULL;

  ipam_close (ipam);
  fake_write_file (k, STORE "/net/leases.json", "{\"subnet\": 3}", 0600);
  assert_int_equal (ipam_open (&ipam, STORE, NULL, &err), -EINVAL);
  assert_string_equal (err->msg, STORE "/net/leases.json: not a lease file focker wrote");
  focker_err_free (err);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  fake_kernel_free (k);
}

/* Two commands: while one holds the allocator, the other waits for it (here: the fake finds
 * nothing else to run and says EDEADLK); once the first has committed, the second sees its
 * lease and takes the next address. */
static void
ipam_lock_serialises_two_commands (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  pid_t first = fake_current_pid (k), second = fake_spawn (k);
  struct ipam *a, *b = NULL;
  struct focker_err *err = NULL;

  fake_set_current (k, first);
  a = open_ipam (NULL);

  assert_int_equal (lease (a, "one", NULL), 0xac110002);
  fake_set_current (k, second);
  assert_int_equal (ipam_open (&b, STORE, NULL, &err), -EDEADLK);
  assert_string_equal (err->msg, "lock " STORE "/net/lock");
  focker_err_free (TAKE_PTR (err));
  fake_set_current (k, first);
  assert_int_equal (ipam_commit (a, &err), 0);
  ipam_close (a);
  fake_set_current (k, second);
  b = open_ipam (NULL);
  assert_non_null (ipam_find (b, "one"));
  assert_int_equal (lease (b, "two", NULL), 0xac110003);
  ipam_close (b);
  fake_kernel_free (k);
}

static int
ipam_commit_run (struct fx_fault *f, void *ctx)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct ipam *ipam = NULL;
  struct focker_err *err = NULL;
  int r;

  (void)ctx;
  fx_fault_arm (f, k);
  r = ipam_open (&ipam, STORE, NULL, &err);
  if (r == 0)
    {
      uint32_t ip;
      struct ipam_lease req = { .id = "a" };
      r = ipam_alloc (ipam, &req, &ip, &err);
      if (r == 0)
        r = ipam_commit (ipam, &err);
      ipam_close (ipam);
    }
  fx_fault_disarm (f);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  if (r < 0)
    {
      assert_non_null (err);
      assert_int_equal (err->code, r);
      focker_err_free (err);
    }
  /* the lease is there exactly when the commit succeeded */
  ipam = open_ipam (NULL);
  assert_int_equal (ipam->n_leases, r == 0 ? 1 : 0);
  ipam_close (ipam);
  fake_kernel_free (k);
  return r;
}

static void
ipam_commit_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, ipam_commit_run, NULL);
}

/* ---- attach and detach on the fake network ---- */

#define RUN "/run/focker"
static const struct net_paths paths = { .storage_root = STORE, .run_root = RUN };

static struct fake_kernel *
net_kernel (void)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  fake_write_file (k, "/etc/resolv.conf",
                   "nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.org\n", 0644);
  return k;
}

static char *
host_dump (struct fake_kernel *k)
{
  return fake_net_dump (k, fake_ns_id (k, 1, FAKE_NS_NET));
}

static int
attach (struct net_attach_result *res, const char *id, const char *publish, struct focker_err **err)
{
  struct net_publish p;
  struct net_attach_req req = { .id = id, .publish = &p, .n_publish = publish != NULL };

  if (publish)
    assert_int_equal (net_publish_parse (&p, publish, err), 0);
  return net_attach (res, &paths, &req, err);
}

static size_t
n_leases (void)
{
  struct ipam *ipam = open_ipam (NULL);
  size_t n = ipam->n_leases;
  ipam_close (ipam);
  return n;
}

/* No lease, netns file, files or link of `id`, and the host's network as `baseline`. */
static void
assert_detached (struct fake_kernel *k, const char *id, const char *baseline)
{
  _cleanup_free_ char *dump = host_dump (k);
  _cleanup_free_ char *ns = xasprintf (RUN "/.network/netns/%s", id);
  _cleanup_free_ char *files = xasprintf (RUN "/.network/files/%s", id);

  assert_string_equal (dump, baseline);
  assert_false (exists_at (AT_FDCWD, ns));
  assert_false (exists_at (AT_FDCWD, files));
  assert_int_equal (n_leases (), 0);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
}

static const char dnat_8080[]
    = "fib daddr type r1; cmp r1 eq 0x02000000; meta l4proto r1; cmp r1 eq 0x06; "
      "payload th 2 2 r1; cmp r1 eq 0x1f90; r1 = 0xac110002; r2 = 0x0050; "
      "dnat ip addr r1 port r2;\n";

static const char table_and_masquerade[]
    = "table ip focker\n"
      "chain ip focker prerouting type nat hook 0 priority -100 policy accept\n"
      "chain ip focker output type nat hook 3 priority -100 policy accept\n"
      "chain ip focker postrouting type nat hook 4 priority 100 policy accept\n";

static const char masquerade_rules[]
    = "rule ip focker postrouting: meta oifname r1; cmp r1 eq \"focker0\"; payload nh 12 4 r1; "
      "r1 = r1 & 0xff000000 ^ 0x00000000; cmp r1 eq 0x7f000000; masq;\n"
      "rule ip focker postrouting: meta oifname r1; cmp r1 eq \"focker0\"; payload nh 12 4 r1; "
      "r1 = r1 & 0xffff0000 ^ 0x00000000; cmp r1 eq 0xac110000; masq;\n"
      "rule ip focker postrouting: meta oifname r1; cmp r1 neq \"focker0\"; payload nh 12 4 r1; "
      "r1 = r1 & 0xffff0000 ^ 0x00000000; cmp r1 eq 0xac110000; masq;\n";

static void
attach_then_detach_on_the_fake (void **state)
{
  struct fake_kernel *k = net_kernel ();
  struct net_attach_result res;
  struct focker_err *err = NULL;
  char veth[16];
  struct net_publish p;
  struct net_attach_req req = { .id = "c1", .hostname = "web", .publish = &p, .n_publish = 1 };

  net_publish_parse (&p, "8080:80", &err);
  if (net_attach (&res, &paths, &req, &err) < 0)
    fail_msg ("net_attach: %s", err->msg);
  net_veth_name (veth, "c1");
  assert_string_equal (res.veth, veth);
  assert_string_equal (res.ip, "172.17.0.2");
  assert_string_equal (res.gateway, "172.17.0.1");
  assert_int_equal (res.prefix, 16);
  assert_string_equal (res.netns_path, RUN "/.network/netns/c1");

  /* the host: the bridge with the gateway, the veth on it, the rules */
  _cleanup_free_ char *want
      = xasprintf ("link lo loopback\nlink focker0 bridge up\naddr focker0 172.17.0.1/16\n"
                   "link %s veth up master focker0 peer eth0 elsewhere\n%s"
                   "rule ip focker prerouting: %s"
                   "rule ip focker output: %s%s",
                   veth, table_and_masquerade, dnat_8080, dnat_8080, masquerade_rules);
  _cleanup_free_ char *dump = host_dump (k);
  assert_string_equal (dump, want);
  assert_string_equal (fake_sysctl (k, fake_current_pid (k), "net/ipv4/ip_forward"), "1");
  assert_string_equal (
      fake_sysctl (k, fake_current_pid (k), "net/ipv4/conf/focker0/route_localnet"), "1");

  /* the container's namespace */
  _cleanup_free_ char *inside = fake_net_dump (k, fake_ns_file_id (k, res.netns_path));
  _cleanup_free_ char *want_inside = xasprintf (
      "link lo loopback up\nlink eth0 veth up peer %s elsewhere\naddr eth0 172.17.0.2/16\n"
      "route default via 172.17.0.1 dev eth0\n",
      veth);
  assert_string_equal (inside, want_inside);

  /* its files: no loopback nameserver */
  _cleanup_free_ char *hosts = fx_read (res.hosts_path);
  _cleanup_free_ char *resolv = fx_read (res.resolv_path);
  _cleanup_free_ char *hostname = fx_read (res.hostname_path);
  assert_non_null (strstr (hosts, "127.0.0.1\tlocalhost\n"));
  assert_non_null (strstr (hosts, "172.17.0.2\tweb\n"));
  assert_string_equal (resolv, "nameserver 10.0.0.2\nsearch example.org\n");
  assert_string_equal (hostname, "web\n");
  assert_true (ipam_find_complete ("c1"));
  net_attach_result_free (&res);

  assert_int_equal (net_detach (&paths, "c1", &err), 0);
  _cleanup_free_ char *after = xasprintf ("link lo loopback\nlink focker0 bridge up\n"
                                          "addr focker0 172.17.0.1/16\n%s%s",
                                          table_and_masquerade, masquerade_rules);
  assert_detached (k, "c1", after);
  assert_int_equal (net_detach (&paths, "c1", &err), -ENOENT);
  assert_string_equal (err->msg, "container c1 is not attached");
  focker_err_free (err);
  fake_kernel_free (k);
}

/* A kernel where the bridge and table exist already (an earlier container came and went):
 * the state every failed attach must return to.  *baseline gets the host's dump. */
static struct fake_kernel *
kernel_after_one_container (char **baseline)
{
  struct fake_kernel *k = net_kernel ();
  struct net_attach_result res;
  struct focker_err *err = NULL;

  if (attach (&res, "first", "9000:90", &err) < 0 || net_detach (&paths, "first", &err) < 0)
    fail_msg ("%s", err->msg);
  net_attach_result_free (&res);
  *baseline = host_dump (k);
  return k;
}

/* Detach what is left of `id`, if anything is. */
static void
detach_if_attached (const char *id)
{
  struct focker_err *err = NULL;
  int r = net_detach (&paths, id, &err);

  if (r < 0)
    {
      assert_int_equal (r, -ENOENT);
      focker_err_free (err);
    }
}

static int
attach_run (struct fx_fault *f, void *ctx)
{
  _cleanup_free_ char *baseline = NULL;
  struct fake_kernel *k = kernel_after_one_container (&baseline);
  struct net_attach_result res;
  struct focker_err *err = NULL;
  int r;

  (void)ctx;
  fx_fault_arm (f, k);
  r = attach (&res, "c1", "8080:80", &err);
  fx_fault_disarm (f);
  if (r == 0)
    {
      net_attach_result_free (&res);
      assert_true (ipam_find_complete ("c1"));
      assert_int_equal (net_detach (&paths, "c1", &err), 0);
    }
  else
    {
      assert_non_null (err);
      assert_int_equal (err->code, r);
      focker_err_free (TAKE_PTR (err));
      if (f->persist)
        detach_if_attached ("c1");
    }
  assert_detached (k, "c1", baseline);
  assert_int_equal (attach (&res, "c1", "8080:80", &err), 0);
  net_attach_result_free (&res);
  fake_kernel_free (k);
  return r;
}

/* Fail call N of an attach, once (the undo list cleans up) and persistently (the undo list
 * fails too; detach of the half-attached id cleans up): nothing of it is left, and a later
 * attach succeeds. */
static void
attach_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, attach_run, NULL);
}

static int
detach_run (struct fx_fault *f, void *ctx)
{
  _cleanup_free_ char *baseline = NULL;
  struct fake_kernel *k = kernel_after_one_container (&baseline);
  struct net_attach_result res;
  struct focker_err *err = NULL;
  int r;

  (void)ctx;
  assert_int_equal (attach (&res, "c1", "8080:80", &err), 0);
  net_attach_result_free (&res);
  fx_fault_arm (f, k);
  r = net_detach (&paths, "c1", &err);
  fx_fault_disarm (f);
  if (r < 0)
    {
      assert_int_equal (err->code, r);
      focker_err_free (TAKE_PTR (err));
      detach_if_attached ("c1");
    }
  assert_detached (k, "c1", baseline);
  fake_kernel_free (k);
  return r;
}

/* Fail call N of a detach: a second detach finishes the job. */
static void
detach_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, detach_run, NULL);
}

static int
died_attach_run (struct fx_fault *f, void *ctx)
{
  _cleanup_free_ char *baseline = NULL;
  struct fake_kernel *k = kernel_after_one_container (&baseline);
  struct net_attach_result res;
  struct focker_err *err = NULL;
  pid_t survivor = fake_current_pid (k), dying = fake_spawn (k);
  size_t removed = 0;

  (void)ctx;
  assert_int_equal (attach (&res, "keep", "7000:70", &err), 0);
  net_attach_result_free (&res);
  fake_set_current (k, survivor);
  _cleanup_free_ char *with_keep = host_dump (k);
  fake_set_current (k, dying);
  fx_fault_arm (f, k);
  int r = attach (&res, "c1", "8080:80", &err);
  fx_fault_disarm (f);
  if (r < 0)
    focker_err_free (TAKE_PTR (err));
  else
    net_attach_result_free (&res);
  fake_exit (k, dying, 137);
  fake_set_current (k, survivor);
  assert_int_equal (net_prune (&paths, &removed, &err), 0);
  if (r == 0)
    assert_int_equal (net_detach (&paths, "c1", &err), 0);
  _cleanup_free_ char *dump = host_dump (k);
  assert_string_equal (dump, with_keep);
  assert_true (ipam_find_complete ("keep"));
  assert_int_equal (net_detach (&paths, "keep", &err), 0);
  assert_detached (k, "c1", baseline);
  fake_kernel_free (k);
  return r;
}

/* A focker that dies half-way through an attach (here: every call from N on fails, then
 * the process exits without undoing anything): prune, from another command, restores the
 * state, and leaves a complete attach alone. */
static void
prune_cleans_after_an_attach_that_died_at_every_call (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_PERSIST, died_attach_run, NULL);
}

static bool
has_lease (const char *id)
{
  struct ipam *ipam = open_ipam (NULL);
  bool r = ipam_find (ipam, id) != NULL;
  ipam_close (ipam);
  return r;
}

/* An incomplete lease belongs to the focker attaching it while that process lives: prune
 * leaves it alone, and takes it once another process has that pid (a later start time).
 * A lease file of an older focker (no pidStart) can only believe the pid. */
static void
prune_takes_an_incomplete_lease_whose_pid_was_reused (void **state)
{
  struct fake_kernel *k = net_kernel ();
  pid_t me = fake_current_pid (k), attacher = fake_spawn (k);
  unsigned long long start = 0;
  size_t removed = 0;
  struct focker_err *err = NULL;

  (void)state;
  assert_int_equal (fake_set_current (k, me), 0);
  assert_int_equal (sys_proc_starttime (attacher, &start, NULL), 0);
  for (int old_file = 0; old_file <= 1; old_file++)
    {
      _cleanup_free_ char *pid_start
          = old_file ? xstrdup ("") : xasprintf (",\"pidStart\":%llu", start);
      _cleanup_free_ char *text
          = xasprintf ("{\"subnet\":\"172.17.0.0/16\",\"gateway\":\"172.17.0.1\","
                       "\"leases\":[{\"id\":\"c1\",\"ip\":\"172.17.0.2\",\"hostname\":\"c1\","
                       "\"pid\":%d%s,\"complete\":false,\"publish\":[]}]}",
                       (int)attacher, pid_start);
      assert_int_equal (fake_write_file (k, STORE "/net/leases.json", text, 0600), 0);
      assert_int_equal (net_prune (&paths, &removed, &err), 0);
      assert_true (has_lease ("c1")); /* its attacher lives */
      if (old_file == 0)
        {
          fake_exit (k, attacher, 0);
          assert_int_equal (fake_pid_recycle (k, attacher), attacher);
        }
      assert_int_equal (net_prune (&paths, &removed, &err), 0);
      /* the stranger with that pid: the lease is stale, unless the file cannot tell */
      assert_int_equal (has_lease ("c1"), old_file == 1);
    }
  fake_kernel_free (k);
}

/* Bad input is refused before any change: no lease file, no link, no namespace. */
static void
attach_refuses_bad_input_before_any_change (void **state)
{
  struct fake_kernel *k = net_kernel ();
  _cleanup_free_ char *before = host_dump (k);
  struct net_attach_result res;
  struct focker_err *err = NULL;
  const struct net_attach_req bad[] = {
    { .id = "a/b" },
    { .id = "" },
    { .id = "c1", .hostname = "has space" },
    { .id = "c1", .hostname = "" },
    { .id = "c1", .network = "host" },
    { .id = "c1", .subnet = "10.0.0.0/31" },
  };
  const char *msg[] = {
    "invalid container id \"a/b\"",
    "invalid container id \"\"",
    "hostname \"has space\": 1 to 63 characters, no spaces or /",
    "hostname \"\": 1 to 63 characters, no spaces or /",
    "network \"host\": only \"bridge\" exists",
    "subnet \"10.0.0.0/31\": not A.B.C.D/N with N from 8 to 30",
  };

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_int_equal (net_attach (&res, &paths, &bad[i], &err), -EINVAL);
      assert_string_equal (err->msg, msg[i]);
      focker_err_free (TAKE_PTR (err));
    }
  _cleanup_free_ char *after = host_dump (k);
  assert_string_equal (after, before);
  assert_false (exists_at (AT_FDCWD, STORE "/net/leases.json"));
  assert_false (exists_at (AT_FDCWD, RUN "/.network"));
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  fake_kernel_free (k);
}

/* A host whose only nameservers are on loopback (systemd-resolved's 127.0.0.53): the
 * container's resolv.conf says there is none it can reach. */
static void
resolv_conf_without_a_reachable_nameserver_says_so (void **state)
{
  struct fake_kernel *k = net_kernel ();
  struct net_attach_result res;
  struct focker_err *err = NULL;

  fake_write_file (k, "/etc/resolv.conf", "nameserver 127.0.0.53\nnameserver ::1\noptions edns0\n",
                   0644);
  assert_int_equal (attach (&res, "c1", NULL, &err), 0);
  _cleanup_free_ char *resolv = fx_read (res.resolv_path);
  assert_string_equal (resolv, "options edns0\n# focker: the host has no nameserver a container "
                               "can reach\n");
  net_attach_result_free (&res);
  assert_int_equal (net_detach (&paths, "c1", &err), 0);
  fake_kernel_free (k);
}

/* A host where the rules cannot be applied (here: the second netlink socket of a detach,
 * the netfilter one, is refused) still gets the veth, the namespace and the lease back;
 * prune rebuilds the rules later. */
static void
detach_without_nf_tables_still_removes_the_container_state (void **state)
{
  _cleanup_free_ char *baseline = NULL;
  struct fake_kernel *k = kernel_after_one_container (&baseline);
  struct net_attach_result res;
  struct focker_err *err = NULL;
  char veth[16];

  assert_int_equal (attach (&res, "c1", "8080:80", &err), 0);
  net_attach_result_free (&res);
  fake_fail_nth (k, 2, true, -EPROTONOSUPPORT, SYS_MASK (netlink_open));
  assert_int_equal (net_detach (&paths, "c1", &err), -EPROTONOSUPPORT);
  assert_string_equal (err->msg, "detach c1: apply the nf_tables rules of table ip focker");
  focker_err_free (TAKE_PTR (err));
  fake_fail_nth (k, 0, false, 0, 0);
  _cleanup_free_ char *dump = host_dump (k);
  net_veth_name (veth, "c1");
  assert_null (strstr (dump, veth));
  assert_false (exists_at (AT_FDCWD, RUN "/.network/netns/c1"));
  assert_int_equal (n_leases (), 0);
  assert_int_equal (net_prune (&paths, NULL, &err), 0);
  assert_detached (k, "c1", baseline);
  fake_kernel_free (k);
}

/* --subnet while nothing is attached: the bridge gets the new gateway, not both. */
static void
a_new_subnet_readdresses_the_bridge (void **state)
{
  struct fake_kernel *k = net_kernel ();
  struct net_attach_result res;
  struct focker_err *err = NULL;
  struct net_attach_req req = { .id = "c1", .subnet = "10.1.0.0/24" };

  assert_int_equal (net_attach (&res, &paths, &req, &err), 0);
  assert_string_equal (res.gateway, "10.1.0.1");
  net_attach_result_free (&res);
  assert_int_equal (net_detach (&paths, "c1", &err), 0);
  req.subnet = "10.2.0.0/24";
  assert_int_equal (net_attach (&res, &paths, &req, &err), 0);
  assert_string_equal (res.ip, "10.2.0.2");
  net_attach_result_free (&res);
  _cleanup_free_ char *dump = host_dump (k);
  assert_non_null (strstr (dump, "addr focker0 10.2.0.1/24\n"));
  assert_null (strstr (dump, "10.1.0.1"));
  assert_int_equal (net_detach (&paths, "c1", &err), 0);
  fake_kernel_free (k);
}

/* --network none: the monitor raises lo in the namespace the runtime made, through
 * /proc/PID/ns/net of the container's init, by netlink from a socket made in that namespace:
 * the container's lo comes up, the host's stays as it was; every fault leaves no fd. */
static int
loopback_up_run (struct fx_fault *f, void *ctx)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  pid_t init = fake_current_pid (k), cli;
  char path[64];
  int r;

  (void)ctx;
  assert_int_equal (sys_unshare (CLONE_NEWNET), 0);
  cli = fake_spawn (k);
  snprintf (path, sizeof path, "/proc/%d/ns/net", (int)init);
  fx_fault_arm (f, k);
  r = net_loopback_up (path, &err);
  fx_fault_disarm (f);
  _cleanup_free_ char *inside = fake_net_dump (k, fake_ns_id (k, init, FAKE_NS_NET));
  _cleanup_free_ char *host = fake_net_dump (k, fake_ns_id (k, cli, FAKE_NS_NET));
  assert_int_equal (fake_open_fds (k, cli), 3);
  assert_null (strstr (host, "link lo loopback up"));
  if (r < 0)
    assert_non_null (strstr (err->msg, path));
  else
    assert_non_null (strstr (inside, "link lo loopback up"));
  fx_fault_err (f, r, &err);
  fake_kernel_free (k);
  return r;
}

static void
loopback_up_in_a_process_namespace_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, loopback_up_run, NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (nl_message_decodes_back),
    cmocka_unit_test (nl_parse_refuses_an_attribute_past_the_end),
    cmocka_unit_test (publish_specs_parse_and_bad_ones_are_named),
    cmocka_unit_test (ipam_allocates_in_order_reuses_released_and_persists),
    cmocka_unit_test (ipam_refuses_duplicates_taken_ports_and_a_full_subnet),
    cmocka_unit_test (ipam_subnet_changes_only_without_leases),
    cmocka_unit_test (ipam_refuses_a_lease_file_it_cannot_read),
    cmocka_unit_test (ipam_lock_serialises_two_commands),
    cmocka_unit_test (ipam_commit_survives_every_fault),
    cmocka_unit_test (attach_then_detach_on_the_fake),
    cmocka_unit_test (attach_refuses_bad_input_before_any_change),
    cmocka_unit_test (resolv_conf_without_a_reachable_nameserver_says_so),
    cmocka_unit_test (a_new_subnet_readdresses_the_bridge),
    cmocka_unit_test (attach_survives_every_fault),
    cmocka_unit_test (detach_survives_every_fault),
    cmocka_unit_test (detach_without_nf_tables_still_removes_the_container_state),
    cmocka_unit_test (prune_cleans_after_an_attach_that_died_at_every_call),
    cmocka_unit_test (prune_takes_an_incomplete_lease_whose_pid_was_reused),
    cmocka_unit_test (loopback_up_in_a_process_namespace_survives_every_fault),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
