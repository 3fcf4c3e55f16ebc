/* ipam.c: the lease file and the address allocator (see ipam.h).
 *
 * leases.json: {"subnet":"172.17.0.0/16","gateway":"172.17.0.1","leases":[{"id":ID,
 * "ip":"172.17.0.2","hostname":H,"pid":N,"pidStart":T,"complete":true,"publish":[{"hostIp":"0.0.0.0",
 * "hostPort":8080,"containerPort":80,"proto":"tcp"}]}]}.  A file that does not parse is an
 * error naming it, never silently replaced: it holds the only record of what to undo. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/ipam.h"

#define LEASES "leases.json"
#define LEASES_MAX (4 * 1024 * 1024)

int
ipv4_parse (uint32_t *ip, const char *s)
{
  struct in_addr a;

  if (inet_pton (AF_INET, s, &a) != 1)
    return -EINVAL;
  *ip = ntohl (a.s_addr);
  return 0;
}

int
cidr_parse (uint32_t *net, int *prefix, const char *s)
{
  const char *slash = strchr (s, '/');
  char addr[16];
  char *end;
  long n;

  if (slash == NULL || (size_t)(slash - s) >= sizeof addr)
    return -EINVAL;
  memcpy (addr, s, (size_t)(slash - s));
  addr[slash - s] = '\0';
  n = strtol (slash + 1, &end, 10);
  if (*end || end == slash + 1 || n < 8 || n > 30 || ipv4_parse (net, addr) < 0)
    return -EINVAL;
  *prefix = (int)n;
  return 0;
}

const char *
ipv4_str (char buf[16], uint32_t ip)
{
  snprintf (buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return buf;
}

static void
lease_free (struct ipam_lease *l)
{
  free (l->id);
  free (l->hostname);
  free (l->publish);
}

void
ipam_close (struct ipam *ipam)
{
  if (ipam == NULL)
    return;
  for (size_t i = 0; i < ipam->n_leases; i++)
    lease_free (&ipam->leases[i]);
  free (ipam->leases);
  if (ipam->lockfd >= 0)
    sys_close (ipam->lockfd);
  if (ipam->dirfd >= 0)
    sys_close (ipam->dirfd);
  free (ipam);
}

static void
set_subnet (struct ipam *ipam, uint32_t net, int prefix)
{
  ipam->prefix = prefix;
  ipam->mask = prefix ? ~0u << (32 - prefix) : 0;
  ipam->net = net & ipam->mask;
  ipam->gateway = ipam->net + 1;
}

static int
parse_publish (struct ipam_lease *l, json_t *arr)
{
  size_t i;
  json_t *p;

  l->n_publish = json_array_size (arr);
  l->publish = xcalloc (l->n_publish + 1, sizeof *l->publish);
  json_array_foreach (arr, i, p)
  {
    const char *hip = json_string_value (json_object_get (p, "hostIp"));
    const char *proto = json_string_value (json_object_get (p, "proto"));
    json_int_t hp = json_integer_value (json_object_get (p, "hostPort"));
    json_int_t cp = json_integer_value (json_object_get (p, "containerPort"));
    if (hip == NULL || proto == NULL || ipv4_parse (&l->publish[i].host_ip, hip) < 0 || hp <= 0
        || hp > 65535 || cp <= 0 || cp > 65535)
      return -EINVAL;
    l->publish[i].host_port = (uint16_t)hp;
    l->publish[i].ctr_port = (uint16_t)cp;
    l->publish[i].proto = strcmp (proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
  }
  return 0;
}

static int
parse_leases (struct ipam *ipam, const char *text, size_t len)
{
  json_t *o = json_loadb (text, len, 0, NULL);
  json_t *arr, *e;
  uint32_t net;
  int prefix;
  size_t i;
  int r = -EINVAL;

  if (o == NULL)
    return -EINVAL;
  const char *subnet = json_string_value (json_object_get (o, "subnet"));
  arr = json_object_get (o, "leases");
  if (subnet == NULL || cidr_parse (&net, &prefix, subnet) < 0 || !json_is_array (arr))
    goto out;
  set_subnet (ipam, net, prefix);
  ipam->leases = xcalloc (json_array_size (arr) + 1, sizeof *ipam->leases);
  json_array_foreach (arr, i, e)
  {
    struct ipam_lease *l = &ipam->leases[ipam->n_leases++];
    const char *id = json_string_value (json_object_get (e, "id"));
    const char *ip = json_string_value (json_object_get (e, "ip"));
    const char *host = json_string_value (json_object_get (e, "hostname"));
    if (id == NULL || ip == NULL || ipv4_parse (&l->ip, ip) < 0)
      goto out;
    l->id = xstrdup (id);
    l->hostname = xstrdup (host ? host : id);
    l->pid = (pid_t)json_integer_value (json_object_get (e, "pid"));
    l->pid_start = (unsigned long long)json_integer_value (json_object_get (e, "pidStart"));
    l->complete = json_is_true (json_object_get (e, "complete"));
    if (parse_publish (l, json_object_get (e, "publish")) < 0)
      goto out;
  }
  r = 0;
out:
  json_decref (o);
  return r;
}

int
ipam_open (struct ipam **out, const char *storage_root, const char *subnet, struct focker_err **err)
{
  struct ipam *ipam = xcalloc (1, sizeof *ipam);
  _cleanup_free_ char *dir = path_join (storage_root, "net");
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  uint32_t net;
  int prefix, r;

  ipam->dirfd = ipam->lockfd = -1;
  if (subnet && cidr_parse (&net, &prefix, subnet) < 0)
    {
      r = focker_fail (err, -EINVAL, "subnet \"%s\": not A.B.C.D/N with N from 8 to 30", subnet);
      goto fail;
    }
  if ((r = mkdir_p_at (AT_FDCWD, dir, 0700, err)) < 0
      || (r = ipam->dirfd = open_dir_at (AT_FDCWD, dir, err)) < 0)
    goto fail;
  ipam->lockfd = sys_openat (ipam->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (ipam->lockfd < 0)
    {
      r = focker_fail (err, ipam->lockfd, "open %s/lock", dir);
      goto fail;
    }
  r = sys_flock (ipam->lockfd, LOCK_EX);
  if (r < 0)
    {
      focker_fail (err, r, "lock %s/lock", dir);
      goto fail;
    }
  r = read_file_at (&text, &len, ipam->dirfd, LEASES, LEASES_MAX, err);
  if (r == -ENOENT)
    {
      focker_err_free (*err);
      *err = NULL;
      if (subnet == NULL)
        cidr_parse (&net, &prefix, IPAM_DEFAULT_SUBNET);
      set_subnet (ipam, net, prefix);
    }
  else if (r < 0)
    goto fail;
  else if (parse_leases (ipam, text, len) < 0)
    {
      r = focker_fail (err, -EINVAL, "%s/%s: not a lease file focker wrote", dir, LEASES);
      goto fail;
    }
  else if (subnet
           && ((net & (prefix ? ~0u << (32 - prefix) : 0)) != ipam->net || prefix != ipam->prefix))
    {
      char a[16];
      if (ipam->n_leases > 0)
        {
          r = focker_fail (err, -EBUSY, "subnet %s: the network has %s/%d and %zu lease%s", subnet,
                           ipv4_str (a, ipam->net), ipam->prefix, ipam->n_leases,
                           ipam->n_leases == 1 ? "" : "s");
          goto fail;
        }
      set_subnet (ipam, net, prefix);
      ipam->subnet_changed = true;
    }
  *out = ipam;
  return 0;
fail:
  ipam_close (ipam);
  return r;
}

struct ipam_lease *
ipam_find (struct ipam *ipam, const char *id)
{
  for (size_t i = 0; i < ipam->n_leases; i++)
    if (strcmp (ipam->leases[i].id, id) == 0)
      return &ipam->leases[i];
  return NULL;
}

static const char *
proto_name (uint8_t proto)
{
  return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* A published port of `req` another lease has: same protocol and port, and addresses that
 * overlap (equal, or either is 0 = every address). */
static int
check_publish (struct ipam *ipam, const struct ipam_lease *req, struct focker_err **err)
{
  for (size_t i = 0; i < req->n_publish; i++)
    {
      const struct net_publish *p = &req->publish[i];
      for (size_t j = 0; j < i; j++)
        if (req->publish[j].host_port == p->host_port && req->publish[j].proto == p->proto
            && (!p->host_ip || !req->publish[j].host_ip || p->host_ip == req->publish[j].host_ip))
          return focker_fail (err, -EADDRINUSE, "host port %u/%s is published twice", p->host_port,
                              proto_name (p->proto));
      for (size_t l = 0; l < ipam->n_leases; l++)
        for (size_t j = 0; j < ipam->leases[l].n_publish; j++)
          {
            const struct net_publish *q = &ipam->leases[l].publish[j];
            if (q->host_port == p->host_port && q->proto == p->proto
                && (!p->host_ip || !q->host_ip || p->host_ip == q->host_ip))
              return focker_fail (err, -EADDRINUSE,
                                  "host port %u/%s is already published by container %s",
                                  p->host_port, proto_name (p->proto), ipam->leases[l].id);
          }
    }
  return 0;
}

int
ipam_alloc (struct ipam *ipam, const struct ipam_lease *req, uint32_t *ip, struct focker_err **err)
{
  uint32_t last = ipam->net | ~ipam->mask; /* the broadcast address */
  int r;

  if (ipam_find (ipam, req->id))
    return focker_fail (err, -EEXIST, "container %s is attached already", req->id);
  if ((r = check_publish (ipam, req, err)) < 0)
    return r;
  for (uint32_t a = ipam->gateway + 1; a < last; a++)
    {
      bool used = false;
      for (size_t i = 0; i < ipam->n_leases && !used; i++)
        used = ipam->leases[i].ip == a;
      if (used)
        continue;
      ipam->leases = xrealloc (ipam->leases, (ipam->n_leases + 1) * sizeof *ipam->leases);
      struct ipam_lease *l = &ipam->leases[ipam->n_leases++];
      *l = *req;
      l->id = xstrdup (req->id);
      l->hostname = xstrdup (req->hostname ? req->hostname : req->id);
      l->ip = a;
      l->publish = xcalloc (req->n_publish + 1, sizeof *l->publish);
      if (req->n_publish)
        memcpy (l->publish, req->publish, req->n_publish * sizeof *l->publish);
      *ip = a;
      return 0;
    }
  char b[16];
  return focker_fail (err, -ENOSPC, "network %s/%d: no free address (%zu leases)",
                      ipv4_str (b, ipam->net), ipam->prefix, ipam->n_leases);
}

int
ipam_release (struct ipam *ipam, const char *id)
{
  struct ipam_lease *l = ipam_find (ipam, id);

  if (l == NULL)
    return -ENOENT;
  lease_free (l);
  size_t i = (size_t)(l - ipam->leases);
  memmove (l, l + 1, (ipam->n_leases - i - 1) * sizeof *l);
  ipam->n_leases--;
  return 0;
}

static json_t *
lease_json (const struct ipam_lease *l)
{
  json_t *pub = json_array ();
  char b[16];

  for (size_t i = 0; i < l->n_publish; i++)
    json_array_append_new (
        pub, json_pack ("{s:s,s:i,s:i,s:s}", "hostIp", ipv4_str (b, l->publish[i].host_ip),
                        "hostPort", (int)l->publish[i].host_port, "containerPort",
                        (int)l->publish[i].ctr_port, "proto", proto_name (l->publish[i].proto)));
  json_t *o
      = json_pack ("{s:s,s:s,s:s,s:i,s:b,s:o}", "id", l->id, "ip", ipv4_str (b, l->ip), "hostname",
                   l->hostname, "pid", (int)l->pid, "complete", l->complete, "publish", pub);
  if (l->pid_start)
    json_object_set_new (o, "pidStart", json_integer ((json_int_t)l->pid_start));
  return o;
}

int
ipam_commit (struct ipam *ipam, struct focker_err **err)
{
  json_t *arr = json_array ();
  char n[16], gw[16];
  _cleanup_free_ char *subnet = NULL;

  for (size_t i = 0; i < ipam->n_leases; i++)
    json_array_append_new (arr, lease_json (&ipam->leases[i]));
  subnet = xasprintf ("%s/%d", ipv4_str (n, ipam->net), ipam->prefix);
  json_t *o = json_pack ("{s:s,s:s,s:o}", "subnet", subnet, "gateway", ipv4_str (gw, ipam->gateway),
                         "leases", arr);
  _cleanup_free_ char *text = json_dumps (o, JSON_INDENT (1));
  json_decref (o);
  if (text == NULL)
    abort ();
  return write_file_atomic_at (ipam->dirfd, LEASES, text, strlen (text), 0600, true, err);
}
