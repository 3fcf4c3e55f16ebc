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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/rtnetlink.h>
#include "core/cleanup.h"
#include "core/ipam.h"
#include "core/net.h"
#include "core/nl.h"
#include "sys-fake/fake.h"
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

static void
ipam_commit_survives_every_fault (void **state)
{
  for (int persist = 0; persist <= 1; persist++)
    for (long n = 1;; n++)
      {
        struct fake_kernel *k = fake_kernel_new (NULL);
        struct ipam *ipam = NULL;
        struct focker_err *err = NULL;
        int r;

        fake_fail_nth (k, n, persist, -EIO, 0);
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
        fake_fail_nth (k, 0, false, 0, 0);
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
        bool done = fake_faults_hit (k) == 0;
        fake_kernel_free (k);
        if (done)
          break;
      }
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
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
