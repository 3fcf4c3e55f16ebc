/* main.c: the focker command line, runc/crun compatible.
 *
 * argv -> typed options -> one core call -> output and exit status.  Only this file exits.
 * Global options come before the subcommand (`focker --root R --log F --log-format json
 * create ...`), in both `--opt=value` and `--opt value` forms, as podman (conmon) and
 * containerd's shim send them. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/cgroup.h"
#include "core/cleanup.h"
#include "core/container.h"
#include "core/log.h"
#include "core/spec.h"
#include "core/store.h"

struct global_opts g
    = { .root = FOCKER_DEFAULT_ROOT, .storage_root = STORE_DEFAULT_ROOT, .log_format = "text" };

static void
log_json_line (FILE *f, const char *level, const char *msg)
{
  json_t *o = json_object ();
  char ts[64];
  time_t now = time (NULL);
  struct tm tm;
  char *line;

  gmtime_r (&now, &tm);
  strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_object_set_new (o, "level", json_string (level));
  json_object_set_new (o, "msg", json_string (msg));
  json_object_set_new (o, "time", json_string (ts));
  line = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (line)
    fprintf (f, "%s\n", line);
  free (line);
  json_decref (o);
}

void
cli_log (const char *level, const char *fmt, ...)
{
  char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (msg == NULL)
    return;
  if (strcmp (level, "debug") != 0 || g.debug)
    fprintf (stderr, "focker: %s%s\n", strcmp (level, "warning") == 0 ? "warning: " : "", msg);
  if (g.log)
    {
      FILE *f = fopen (g.log, "ae");
      if (f)
        {
          if (strcmp (g.log_format, "json") == 0)
            log_json_line (f, level, msg);
          else
            fprintf (f, "%s: %s\n", level, msg);
          fclose (f);
        }
    }
  free (msg);
}

int
cli_fail (struct focker_err *err)
{
  const char *why = err->code ? strerror (-err->code) : NULL;
  /* add strerror unless the message already says as much */
  if (why && err->code != -ENOEXEC && err->code != -ECANCELED && err->code != -EPROTO)
    cli_log ("error", "%s: %s", err->msg, why);
  else
    cli_log ("error", "%s", err->msg);
  focker_err_free (err);
  return 1;
}

void
cli_print_size (uint64_t n, char *buf, size_t len)
{
  if (n >= 1024 * 1024)
    snprintf (buf, len, "%.1fMB", (double)n / (1024 * 1024));
  else if (n >= 1024)
    snprintf (buf, len, "%.1fkB", (double)n / 1024);
  else
    snprintf (buf, len, "%lluB", (unsigned long long)n);
}

int
cli_usage_error (const char *cmd, const char *fmt, ...)
{
  char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  cli_log ("error", "%s%s%s", cmd ? cmd : "", cmd ? ": " : "", msg ? msg : "usage error");
  free (msg);
  return 1;
}

/* What a registry's cert dir holds, as podman and skopeo read it (core/registry.c). */
#define CERT_DIR_HELP                                                                              \
  "--cert-dir DIR, else /etc/containers/certs.d/HOST[:PORT]: its *.crt are the registry's CAs, "   \
  "NAME.cert with NAME.key a client certificate"

static const struct cli_command commands[] = {
  { "create", cmd_create, "create a container: IMAGE [CMD...] (user), --bundle B ID (OCI)" },
  { "start", cmd_start, "start a container: NAME (user, [-a] [-i]), ID (OCI)" },
  { "run", cmd_run, "run a container: IMAGE [CMD...] (user), --bundle B ID (OCI)" },
  { "stop", cmd_stop, "stop user containers: [-t SECONDS] NAME..." },
  { "rm", cmd_rm, "remove user containers: [-f] NAME..." },
  { "logs", cmd_logs, "print a user container's output: [-f] [--tail N] [-t] NAME" },
  { "wait", cmd_wait, "wait for user containers to exit, print their exit codes" },
  { "state", cmd_state, "print the state of a container" },
  { "kill", cmd_kill, "send a signal to a container" },
  { "delete", cmd_delete, "delete a container" },
  { "list", cmd_list, "list containers" },
  { "spec", cmd_spec, "write a default config.json", true },
  { "features", cmd_features, "print the features this runtime supports", true },
  { "check", cmd_check, "what this kernel supports, and what it does not", true },
  { "exec", cmd_exec, "run another process in a running container" },
  { "pause", cmd_pause, "freeze every process of a container" },
  { "resume", cmd_resume, "thaw a paused container" },
  { "update", cmd_update, "change a live container's resource limits" },
  { "ps", cmd_ps, "list user containers [-a] [-q] [--format json]; ps ID: its processes" },
  { "events", cmd_events, "print a container's stats and OOM events as JSON lines" },
  { "checkpoint", cmd_unsupported, "checkpoint (not supported)", true },
  { "restore", cmd_unsupported, "restore (not supported)", true },
  { "import", cmd_import, "import a rootfs tarball as an image: import FILE NAME", true },
  { "load", cmd_load,
    "load images: load [-i] PATH|- (an OCI layout dir, an oci-archive, a docker save archive; "
    "stdin without PATH)",
    true },
  { "save", cmd_save, "save an image as an oci-archive: save IMAGE [-o FILE] (stdout without -o)",
    true },
  { "pull", cmd_pull,
    "fetch an image from a registry: pull [--platform OS/ARCH[/VARIANT]] [--creds USER:PASS] "
    "[--cert-dir DIR] [--tls-verify=false] REGISTRY/NAME[:TAG|@DIGEST] (" CERT_DIR_HELP ")",
    true },
  { "push", cmd_push,
    "send an image to a registry: push [--creds USER:PASS] [--cert-dir DIR] "
    "[--tls-verify=false] IMAGE REGISTRY/NAME[:TAG] (" CERT_DIR_HELP ")",
    true },
  { "images", cmd_images, "list images [--format table|json] [-q]", true },
  { "inspect", cmd_inspect, "print a user container's record, or an image's manifest and config",
    true },
  { "rmi", cmd_rmi, "remove image names (gc removes what no image uses)", true },
  { "gc", cmd_gc, "remove blobs and layers no image or bundle uses", true },
  { "bundle", cmd_bundle, "write an OCI bundle from an image: bundle [--copy] IMAGE DIR", true },
  { "unbundle", cmd_unbundle, "unmount and remove a bundle made by bundle", true },
  { "image", cmd_image, "image build-default [--busybox PATH] [NAME]: the busybox image", true },
  { "network", cmd_network,
    "network attach|detach|ls|inspect|prune: the bridge network, addresses, published ports" },
  { NULL, NULL, NULL },
};

static void
usage (FILE *f)
{
  fprintf (f, "usage: focker [--root DIR] [--storage-root DIR] [--rootless true|false|auto] "
              "[--log FILE] "
              "[--log-format text|json] [--debug] COMMAND [OPTIONS] ...\n\ncommands:\n");
  for (const struct cli_command *c = commands; c->name; c++)
    fprintf (f, "  %-11s %s\n", c->name, c->help);
}

/* core/'s warnings and debug lines go where ours go (--log, --debug) */
static void
log_from_core (const char *level, const char *msg)
{
  cli_log (level, "%s", msg);
}

static int
install_backend (void)
{
  focker_log_set (log_from_core);
  const char *trace = getenv ("FOCKER_TRACE");
  const char *crash = getenv ("FOCKER_CRASH_AT");
  const char *calls = getenv ("FOCKER_CRASH_CALLS");
  if (trace && strcmp (trace, "1") == 0)
    sys = sys_trace_wrap (&sys_linux);
  /* test hook (tests/e2e/t_crash.sh): SIGKILL ourselves right after kernel call N, counting
   * only the calls FOCKER_CRASH_CALLS names when it is set (tests/e2e/t_pull.sh) */
  if (crash && atol (crash) > 0)
    {
      sys_mask_t mask = 0;
      const char *bad = NULL;
      if (calls && *calls && sys_mask_parse (&mask, calls, &bad) < 0)
        {
          fprintf (stderr, "focker: FOCKER_CRASH_CALLS: \"%.*s\" is not a kernel call\n",
                   (int)strcspn (bad, ","), bad);
          return -EINVAL;
        }
      sys = sys_crash_wrap (sys, atol (crash), mask);
    }
  /* test hook (tests/e2e/t_cgroup.sh): the cgroup v2 device program on a hybrid host too */
  if (getenv ("FOCKER_TEST_DEVICES_BPF") && strcmp (getenv ("FOCKER_TEST_DEVICES_BPF"), "1") == 0)
    cgroup_devices_prefer_bpf = true;
  return 0;
}

/* The default runtime root of a rootless focker: $XDG_RUNTIME_DIR/focker, as runc uses
 * $XDG_RUNTIME_DIR/runc (a per-user tmpfs the login session owns).  NULL without it. */
static const char *
rootless_root (void)
{
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  static char *root;

  if (xdg == NULL || xdg[0] != '/')
    return NULL;
  if (root == NULL && asprintf (&root, "%s/focker", xdg) < 0)
    root = NULL;
  return root;
}

/* In a user namespace other than the initial one: its uid_map is not the whole range mapped
 * to itself (runc's test). */
static bool
in_user_namespace (void)
{
  FILE *f = fopen ("/proc/self/uid_map", "re");
  unsigned long a, b, n;
  bool initial;

  if (f == NULL)
    return false;
  initial = fscanf (f, "%lu %lu %lu", &a, &b, &n) == 3 && a == 0 && b == 0 && n == 4294967295UL;
  fclose (f);
  return !initial;
}

/* --rootless auto, runc's rule: euid != 0, or euid 0 in a user namespace that is not the
 * initial one (rootless podman calls the runtime as root of its own namespace, where no
 * cgroup can be made and /run/focker is not ours) unless $USER says root. */
static bool
rootless_auto (void)
{
  const char *user = getenv ("USER");

  if (geteuid () != 0)
    return true;
  return in_user_namespace () && (user == NULL || strcmp (user, "root") != 0);
}

enum
{
  OPT_ROOT = 256,
  OPT_STORAGE_ROOT,
  OPT_LOG,
  OPT_LOG_FORMAT,
  OPT_DEBUG,
  OPT_SYSTEMD_CGROUP,
  OPT_CGROUP_MANAGER,
  OPT_ROOTLESS,
  OPT_VERSION,
  OPT_HELP,
};

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "root", required_argument, NULL, OPT_ROOT },
    { "storage-root", required_argument, NULL, OPT_STORAGE_ROOT },
    { "log", required_argument, NULL, OPT_LOG },
    { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
    { "debug", no_argument, NULL, OPT_DEBUG },
    { "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
    { "cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER },
    { "rootless", required_argument, NULL, OPT_ROOTLESS },
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  const char *rootless = "auto";
  bool root_given = false;
  int c;

  if (install_backend () < 0)
    return 1;
  /* A write to a pipe or socket whose reader is gone (an init that died, a `start` killed
   * half-way) must be an EPIPE error we handle, not a signal that kills us mid-way.  The
   * container init and hooks reset it to the default before execve. */
  signal (SIGPIPE, SIG_IGN);
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:vh", opts, NULL)) != -1)
    switch (c)
      {
      case OPT_ROOT:
        g.root = optarg;
        root_given = true;
        break;
      case OPT_STORAGE_ROOT:
        g.storage_root = optarg;
        break;
      case OPT_LOG:
        g.log = optarg;
        break;
      case OPT_LOG_FORMAT:
        if (strcmp (optarg, "text") != 0 && strcmp (optarg, "json") != 0)
          return cli_usage_error (NULL, "--log-format: unknown format \"%s\" (text or json)",
                                  optarg);
        g.log_format = optarg;
        break;
      case OPT_DEBUG:
        g.debug = true;
        break;
      case OPT_SYSTEMD_CGROUP:
        g.systemd_cgroup = true;
        break;
      case OPT_CGROUP_MANAGER:
        if (strcmp (optarg, "cgroupfs") != 0 && strcmp (optarg, "systemd") != 0
            && strcmp (optarg, "disabled") != 0)
          return cli_usage_error (NULL, "--cgroup-manager: unknown manager \"%s\"", optarg);
        g.systemd_cgroup = strcmp (optarg, "systemd") == 0;
        break;
      case OPT_ROOTLESS:
        if (strcmp (optarg, "true") == 0 || strcmp (optarg, "false") == 0
            || strcmp (optarg, "auto") == 0)
          rootless = optarg;
        else
          return cli_usage_error (NULL, "--rootless: \"%s\" is not true, false or auto", optarg);
        break;
      case 'v':
      case OPT_VERSION:
        printf ("focker version %s\nspec: %s\n", FOCKER_VERSION, FOCKER_OCI_VERSION);
        return 0;
      case 'h':
      case OPT_HELP:
        usage (stdout);
        return 0;
      case ':':
        return cli_usage_error (NULL, "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error (NULL, "unknown global option %s", argv[optind - 1]);
      }
  if (optind >= argc)
    {
      usage (stderr);
      return 1;
    }
  g.rootless = strcmp (rootless, "auto") == 0 ? rootless_auto () : strcmp (rootless, "true") == 0;
  if (!root_given && g.rootless)
    g.root = rootless_root ();
  for (const struct cli_command *cmd = commands; cmd->name; cmd++)
    if (strcmp (cmd->name, argv[optind]) == 0)
      {
        if (g.root == NULL && !cmd->stateless)
          return cli_usage_error (cmd->name, "no runtime root: running rootless, /run/focker is "
                                             "root's; set XDG_RUNTIME_DIR or pass --root DIR");
        int sub_argc = argc - optind;
        char **sub_argv = argv + optind;
        optind = 0; /* a full re-initialisation of getopt for the subcommand */
        return cmd->fn (sub_argc, sub_argv);
      }
  return cli_usage_error (NULL, "unknown command \"%s\" (see focker --help)", argv[optind]);
}
