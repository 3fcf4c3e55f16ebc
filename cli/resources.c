/* resources.c: the subcommands that act on a container's cgroup: pause, resume, update, ps.
 * Each parses its options and makes one core call. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/container.h"
#include "core/spec.h"

static int
id_only (int argc, char **argv, const char *usage)
{
  static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    {
      if (c == 'h')
        {
          printf ("usage: focker %s\n", usage);
          exit (0);
        }
      return cli_usage_error (argv[0], "unknown option %s", argv[optind - 1]);
    }
  if (argc - optind != 1)
    return cli_usage_error (argv[0], "expects 1 argument");
  return 0;
}

int
cmd_pause (int argc, char **argv)
{
  struct focker_err *err = NULL;

  if (id_only (argc, argv, "pause ID"))
    return 1;
  return container_pause (g.root, argv[optind], &err) < 0 ? cli_fail (err) : 0;
}

int
cmd_resume (int argc, char **argv)
{
  struct focker_err *err = NULL;

  if (id_only (argc, argv, "resume ID"))
    return 1;
  return container_resume (g.root, argv[optind], &err) < 0 ? cli_fail (err) : 0;
}

/* 256m, 1g, 1024, -1 (unlimited); docker's suffixes, powers of 1024. */
static int
parse_bytes (const char *s, int64_t *out)
{
  char *end;
  long long v;
  int64_t mul = 1;

  errno = 0;
  v = strtoll (s, &end, 10);
  if (end == s || errno)
    return -1;
  if (v == -1 && *end == '\0')
    {
      *out = -1;
      return 0;
    }
  switch (*end)
    {
    case '\0':
      break;
    case 'b':
    case 'B':
      mul = 1;
      end++;
      break;
    case 'k':
    case 'K':
      mul = 1LL << 10;
      end++;
      break;
    case 'm':
    case 'M':
      mul = 1LL << 20;
      end++;
      break;
    case 'g':
    case 'G':
      mul = 1LL << 30;
      end++;
      break;
    case 't':
    case 'T':
      mul = 1LL << 40;
      end++;
      break;
    default:
      return -1;
    }
  if ((*end == 'b' || *end == 'B') && mul > 1)
    end++;
  if (*end || v < 0 || v > INT64_MAX / mul)
    return -1;
  *out = v * mul;
  return 0;
}

static int
parse_num (const char *s, int64_t *out)
{
  char *end;
  errno = 0;
  *out = strtoll (s, &end, 10);
  return (end == s || *end || errno) ? -1 : 0;
}

enum
{
  UPD_RESOURCES = 'r',
  UPD_BLKIO_WEIGHT = 256,
  UPD_CPU_PERIOD,
  UPD_CPU_QUOTA,
  UPD_CPU_SHARES,
  UPD_CPU_RT_PERIOD,
  UPD_CPU_RT_RUNTIME,
  UPD_CPUSET_CPUS,
  UPD_CPUSET_MEMS,
  UPD_MEMORY,
  UPD_MEMORY_RESERVATION,
  UPD_MEMORY_SWAP,
  UPD_PIDS_LIMIT,
  UPD_KERNEL_MEMORY,
};

/* Set doc[obj][key] (creating the object). */
static void
set_in (json_t *doc, const char *obj, const char *key, json_t *v)
{
  json_t *o = json_object_get (doc, obj);

  if (o == NULL)
    json_object_set_new (doc, obj, o = json_object ());
  json_object_set_new (o, key, v);
}

/* One runc-style flag into the linux.resources document; -1 on a bad value. */
static int
update_flag (json_t *doc, int c, const char *v)
{
  static const struct
  {
    int c;
    const char *obj, *key;
  } bytes[] = { { UPD_MEMORY, "memory", "limit" },
                { UPD_MEMORY_RESERVATION, "memory", "reservation" },
                { UPD_MEMORY_SWAP, "memory", "swap" },
                { UPD_KERNEL_MEMORY, "memory", "kernel" } },
    nums[] = { { UPD_CPU_PERIOD, "cpu", "period" },
               { UPD_CPU_QUOTA, "cpu", "quota" },
               { UPD_CPU_SHARES, "cpu", "shares" },
               { UPD_CPU_RT_PERIOD, "cpu", "realtimePeriod" },
               { UPD_CPU_RT_RUNTIME, "cpu", "realtimeRuntime" },
               { UPD_PIDS_LIMIT, "pids", "limit" } };
  int64_t n;

  for (size_t i = 0; i < sizeof bytes / sizeof *bytes; i++)
    if (bytes[i].c == c)
      {
        if (parse_bytes (v, &n) < 0)
          return -1;
        set_in (doc, bytes[i].obj, bytes[i].key, json_integer (n));
        return 0;
      }
  if (c == UPD_CPUSET_CPUS || c == UPD_CPUSET_MEMS)
    {
      set_in (doc, "cpu", c == UPD_CPUSET_CPUS ? "cpus" : "mems", json_string (v));
      return 0;
    }
  if (parse_num (v, &n) < 0)
    return -1;
  if (c == UPD_BLKIO_WEIGHT)
    {
      if (n < 10 || n > 1000)
        return -1;
      set_in (doc, "blockIO", "weight", json_integer (n));
      return 0;
    }
  for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
    if (nums[i].c == c)
      {
        /* the parser checks the range of each field (shares and periods are unsigned) */
        set_in (doc, nums[i].obj, nums[i].key, json_integer (n));
        return 0;
      }
  return -1;
}

/* The document in `file` ("-": stdin), whole (up to 1 MiB). */
static int
read_doc (char **out, size_t *out_len, const char *file, struct focker_err **err)
{
  FILE *f = strcmp (file, "-") == 0 ? stdin : fopen (file, "re");
  char *buf = NULL;
  size_t len = 0, cap = 0, got;

  if (f == NULL)
    return focker_fail (err, -errno, "--resources: open %s", file);
  do
    {
      if (cap - len < 4096)
        {
          cap = cap ? cap * 2 : 8192;
          buf = realloc (buf, cap);
          if (buf == NULL)
            abort ();
        }
      got = fread (buf + len, 1, cap - len, f);
      len += got;
    }
  while (got > 0 && len < (1u << 20));
  if (f != stdin)
    fclose (f);
  *out = buf;
  *out_len = len;
  return 0;
}

int
cmd_update (int argc, char **argv)
{
  static const struct option opts[] = {
    { "resources", required_argument, NULL, UPD_RESOURCES },
    { "blkio-weight", required_argument, NULL, UPD_BLKIO_WEIGHT },
    { "cpu-period", required_argument, NULL, UPD_CPU_PERIOD },
    { "cpu-quota", required_argument, NULL, UPD_CPU_QUOTA },
    { "cpu-share", required_argument, NULL, UPD_CPU_SHARES },
    { "cpu-shares", required_argument, NULL, UPD_CPU_SHARES },
    { "cpu-rt-period", required_argument, NULL, UPD_CPU_RT_PERIOD },
    { "cpu-rt-runtime", required_argument, NULL, UPD_CPU_RT_RUNTIME },
    { "cpuset-cpus", required_argument, NULL, UPD_CPUSET_CPUS },
    { "cpuset-mems", required_argument, NULL, UPD_CPUSET_MEMS },
    { "memory", required_argument, NULL, UPD_MEMORY },
    { "memory-reservation", required_argument, NULL, UPD_MEMORY_RESERVATION },
    { "memory-swap", required_argument, NULL, UPD_MEMORY_SWAP },
    { "kernel-memory", required_argument, NULL, UPD_KERNEL_MEMORY },
    { "pids-limit", required_argument, NULL, UPD_PIDS_LIMIT },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  json_t *flags = json_object ();
  struct focker_err *err = NULL;
  const char *file = NULL;
  char *doc = NULL;
  size_t len = 0;
  bool any_flag = false;
  int c, r;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "r:h", opts, NULL)) != -1)
    {
      if (c == 'h')
        {
          printf ("usage: focker update [--resources FILE|-] [--memory N] [--cpu-quota N] "
                  "[--cpu-period N] [--cpu-shares N] [--cpuset-cpus L] [--cpuset-mems L] "
                  "[--pids-limit N] [--blkio-weight N] ... ID\n");
          exit (0);
        }
      if (c == '?' || c == ':')
        return cli_usage_error ("update", "bad option %s", argv[optind - 1]);
      if (c == UPD_RESOURCES)
        file = optarg;
      else if (update_flag (flags, c, optarg) < 0)
        return cli_usage_error ("update", "invalid value \"%s\"", optarg);
      else
        any_flag = true;
    }
  if (argc - optind != 1)
    return cli_usage_error ("update", "expects 1 argument");
  if (file && any_flag)
    return cli_usage_error ("update", "--resources and resource flags cannot be combined");
  if (!file && !any_flag)
    return cli_usage_error ("update", "nothing to update: give --resources FILE or flags");
  if (file && read_doc (&doc, &len, file, &err) < 0)
    return cli_fail (err);
  if (!file)
    {
      doc = json_dumps (flags, JSON_COMPACT);
      len = doc ? strlen (doc) : 0;
    }
  json_decref (flags);
  r = container_update (g.root, argv[optind], doc ? doc : "", len,
                        file ? (strcmp (file, "-") == 0 ? "stdin" : file) : "flags", &err);
  free (doc);
  return r < 0 ? cli_fail (err) : 0;
}

static void
print_cmdline (pid_t pid)
{
  char path[64], buf[4096];
  FILE *f;
  size_t n;

  snprintf (path, sizeof path, "/proc/%d/cmdline", (int)pid);
  f = fopen (path, "re");
  n = f ? fread (buf, 1, sizeof buf - 1, f) : 0;
  if (f)
    fclose (f);
  for (size_t i = 0; i + 1 < n; i++)
    if (buf[i] == '\0')
      buf[i] = ' ';
  buf[n] = '\0';
  printf ("%-8d %s\n", (int)pid, buf);
}

int
cmd_ps (int argc, char **argv)
{
  static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct focker_err *err = NULL;
  bool json = false;
  pid_t *pids = NULL;
  size_t n = 0;
  int c;

  /* with no ID: the user containers (docker's ps); with one: its processes (runc's) */
  bool operand = false;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "-f") == 0 || strcmp (argv[i], "--format") == 0)
      i++;
    else if (argv[i][0] != '-')
      operand = true;
  if (!operand)
    return cmd_user_ps (argc, argv);
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+f:h", opts, NULL)) != -1)
    {
      if (c == 'h')
        {
          printf ("usage: focker ps [--format table|json] ID\n");
          exit (0);
        }
      if (c != 'f')
        return cli_usage_error ("ps", "bad option %s", argv[optind - 1]);
      if (strcmp (optarg, "json") == 0)
        json = true;
      else if (strcmp (optarg, "table") != 0)
        return cli_usage_error ("ps", "--format: unknown format \"%s\"", optarg);
    }
  /* runc passes anything after the id to ps(1); only the id is used here */
  if (argc - optind < 1)
    return cli_usage_error ("ps", "expects an ID");
  if (container_pids (&pids, &n, g.root, argv[optind], &err) < 0)
    return cli_fail (err);
  if (json)
    {
      json_t *a = json_array ();
      char *text;
      for (size_t i = 0; i < n; i++)
        json_array_append_new (a, json_integer (pids[i]));
      text = json_dumps (a, JSON_COMPACT);
      printf ("%s\n", text ? text : "[]");
      free (text);
      json_decref (a);
    }
  else
    {
      printf ("%-8s %s\n", "PID", "CMD");
      for (size_t i = 0; i < n; i++)
        print_cmdline (pids[i]);
    }
  free (pids);
  return 0;
}

/* Go's duration form, as runc's --interval takes it: 5s, 100ms, 1m, 1h, 1.5s; > 0. */
static int
parse_interval (const char *s, int *ms)
{
  static const struct
  {
    const char *unit;
    double ms;
  } units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
  char *end;
  double v;

  errno = 0;
  v = strtod (s, &end);
  if (end == s || errno || v <= 0)
    return -1;
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (strcmp (end, units[i].unit) == 0)
      {
        double t = v * units[i].ms;
        if (t < 1 || t > 86400000)
          return -1;
        *ms = (int)t;
        return 0;
      }
  return -1;
}

static int
print_line (void *ctx, const char *line)
{
  (void)ctx;
  /* one event per line, out at once: a reader follows them live */
  if (printf ("%s\n", line) < 0 || fflush (stdout) != 0)
    return -EPIPE;
  return 0;
}

int
cmd_events (int argc, char **argv)
{
  static const struct option opts[] = { { "stats", no_argument, NULL, 's' },
                                        { "interval", required_argument, NULL, 'i' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct focker_err *err = NULL;
  bool stats = false;
  int interval = 5000, c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (c)
      {
      case 'h':
        printf ("usage: focker events [--stats] [--interval 5s] ID\n");
        exit (0);
      case 's':
        stats = true;
        break;
      case 'i':
        if (parse_interval (optarg, &interval) < 0)
          return cli_usage_error ("events", "--interval: \"%s\" is not a duration (5s, 500ms, 1m)",
                                  optarg);
        break;
      default:
        return cli_usage_error ("events", "bad option %s", argv[optind - 1]);
      }
  if (argc - optind != 1)
    return cli_usage_error ("events", "expects 1 argument");
  if (container_events (g.root, argv[optind], stats, interval, print_line, NULL, &err) < 0)
    return cli_fail (err);
  return 0;
}
