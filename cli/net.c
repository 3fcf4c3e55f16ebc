/* net.c: `focker network`, the plumbing face of core/net.h: attach an id to the bridge
 * network (printing what a container config needs), detach it, list, inspect, prune.
 * The user-facing `run -p` calls the same core functions. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/net.h"

static const char network_usage[]
    = "usage: focker network attach [--publish [IP:]HOST:CTR[/tcp|udp]]... [--hostname H] "
      "[--subnet CIDR] [--network bridge] ID\n"
      "       focker network detach ID\n"
      "       focker network ls\n"
      "       focker network inspect [bridge]\n"
      "       focker network prune\n";

static struct net_paths
paths (void)
{
  return (struct net_paths){ .storage_root = g.storage_root, .run_root = g.root };
}

static int
print_attach (const struct net_attach_result *res)
{
  json_t *o = json_pack ("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "netns", res->netns_path, "ip",
                         res->ip, "prefix", res->prefix, "gateway", res->gateway, "veth", res->veth,
                         "hostname", res->hostname, "hosts", res->hosts_path, "resolvConf",
                         res->resolv_path, "hostnameFile", res->hostname_path);
  char *s = json_dumps (o, JSON_INDENT (2));
  printf ("%s\n", s);
  free (s);
  json_decref (o);
  return 0;
}

static int
cmd_attach (int argc, char **argv)
{
  static const struct option opts[] = {
    { "publish", required_argument, NULL, 'p' },
    { "hostname", required_argument, NULL, 'h' },
    { "subnet", required_argument, NULL, 's' },
    { "network", required_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 },
  };
  struct net_attach_req req = { 0 };
  struct net_publish *pub = calloc ((size_t)argc, sizeof *pub);
  struct net_attach_result res;
  struct net_paths p = paths ();
  struct focker_err *err = NULL;
  int c, r;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:p:", opts, NULL)) != -1)
    switch (c)
      {
      case 'p':
        if (net_publish_parse (&pub[req.n_publish++], optarg, &err) < 0)
          {
            free (pub);
            return cli_fail (err);
          }
        break;
      case 'h':
        req.hostname = optarg;
        break;
      case 's':
        req.subnet = optarg;
        break;
      case 'n':
        req.network = optarg;
        break;
      case ':':
        free (pub);
        return cli_usage_error ("network attach", "option %s needs a value", argv[optind - 1]);
      default:
        free (pub);
        return cli_usage_error ("network attach", "unknown option %s", argv[optind - 1]);
      }
  if (optind != argc - 1)
    {
      free (pub);
      return cli_usage_error ("network attach", "expected one ID");
    }
  req.id = argv[optind];
  req.publish = pub;
  r = net_attach (&res, &p, &req, &err);
  free (pub);
  if (r < 0)
    return cli_fail (err);
  print_attach (&res);
  net_attach_result_free (&res);
  return 0;
}

int
cmd_network (int argc, char **argv)
{
  struct net_paths p = paths ();
  struct focker_err *err = NULL;
  const char *sub = argc > 1 ? argv[1] : NULL;
  char *json = NULL;
  size_t n = 0;

  if (sub == NULL || strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0)
    {
      fputs (network_usage, sub ? stdout : stderr);
      return sub ? 0 : 1;
    }
  if (strcmp (sub, "attach") == 0)
    return cmd_attach (argc - 1, argv + 1);
  if (strcmp (sub, "detach") == 0)
    {
      if (argc != 3)
        return cli_usage_error ("network detach", "expected one ID");
      return net_detach (&p, argv[2], &err) < 0 ? cli_fail (err) : 0;
    }
  if (strcmp (sub, "prune") == 0 && argc == 2)
    {
      if (net_prune (&p, &n, &err) < 0)
        return cli_fail (err);
      printf ("%zu\n", n);
      return 0;
    }
  if (strcmp (sub, "ls") == 0 && argc == 2)
    {
      printf ("NAME\tDRIVER\tBRIDGE\n%s\tbridge\t%s\n", NET_DEFAULT_NAME, NET_BRIDGE);
      return 0;
    }
  if (strcmp (sub, "inspect") == 0 && argc <= 3)
    {
      if (argc == 3 && strcmp (argv[2], NET_DEFAULT_NAME) != 0)
        return cli_usage_error ("network inspect", "no network \"%s\" (only \"%s\")", argv[2],
                                NET_DEFAULT_NAME);
      if (net_inspect (&json, &p, &err) < 0)
        return cli_fail (err);
      printf ("%s\n", json);
      free (json);
      return 0;
    }
  return cli_usage_error ("network", "unknown or malformed subcommand \"%s\" (see network --help)",
                          sub);
}
