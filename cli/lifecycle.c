/* lifecycle.c: the OCI runtime subcommands (create, start, run, state, kill, delete, list,
 * spec, features), each parsing its options and making one core call. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/container.h"
#include "core/ctr.h"
#include "core/spec.h"

static const struct
{
  const char *name;
  int sig;
} signals[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
  { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
  { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
  { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
  { "SYS", SIGSYS },
};

int
cli_parse_signal (const char *s)
{
  char *end;
  long n;

  if (*s >= '0' && *s <= '9')
    {
      n = strtol (s, &end, 10);
      return (*end == '\0' && n > 0 && n < NSIG) ? (int)n : -1;
    }
  if (strncasecmp (s, "SIG", 3) == 0)
    s += 3;
  if (strncasecmp (s, "RTMIN", 5) == 0 || strncasecmp (s, "RTMAX", 5) == 0)
    {
      int base = strncasecmp (s, "RTMIN", 5) == 0 ? SIGRTMIN : SIGRTMAX;
      n = 0;
      if (s[5] == '+' || s[5] == '-')
        {
          n = strtol (s + 5, &end, 10);
          if (*end)
            return -1;
        }
      else if (s[5])
        return -1;
      n += base;
      return (n >= SIGRTMIN && n <= SIGRTMAX) ? (int)n : -1;
    }
  for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
    if (strcasecmp (s, signals[i].name) == 0)
      return signals[i].sig;
  return -1;
}

/* Options shared by create and run. */
enum
{
  O_BUNDLE = 256,
  O_PID_FILE,
  O_CONSOLE_SOCKET,
  O_PRESERVE_FDS,
  O_NO_PIVOT,
  O_NO_NEW_KEYRING,
  O_DETACH,
  O_KEEP,
  O_FORCE,
  O_ALL,
  O_FORMAT,
  O_QUIET,
  O_ROOTLESS,
  O_HELP,
  O_NO_SUBREAPER,
};

static const struct option create_opts[] = {
  { "bundle", required_argument, NULL, 'b' },
  { "pid-file", required_argument, NULL, O_PID_FILE },
  { "console-socket", required_argument, NULL, O_CONSOLE_SOCKET },
  { "preserve-fds", required_argument, NULL, O_PRESERVE_FDS },
  { "no-pivot", no_argument, NULL, O_NO_PIVOT },
  { "no-new-keyring", no_argument, NULL, O_NO_NEW_KEYRING },
  { "detach", no_argument, NULL, 'd' },
  { "keep", no_argument, NULL, O_KEEP },
  { "no-subreaper", no_argument, NULL, O_NO_SUBREAPER },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static char *
absolute (const char *path)
{
  char cwd[PATH_MAX];
  char *out;

  if (path[0] == '/')
    return strdup (path);
  if (getcwd (cwd, sizeof cwd) == NULL)
    return NULL;
  if (strcmp (path, ".") == 0)
    return strdup (cwd);
  if (asprintf (&out, "%s/%s", cwd, path) < 0)
    return NULL;
  return out;
}

struct create_args
{
  struct create_opts o;
  bool detach;
  char *bundle_abs, *pid_file_abs;
};

static int
parse_create (int argc, char **argv, struct create_args *a, bool is_run)
{
  const char *bundle = ".";
  int c;

  a->o.root = g.root;
  a->o.systemd_cgroup = g.systemd_cgroup;
  a->o.rootless = g.rootless;
  opterr = 0;
  while ((c = getopt_long (argc, argv, is_run ? ":b:dh" : ":b:h", create_opts, NULL)) != -1)
    switch (c)
      {
      case 'b':
        bundle = optarg;
        break;
      case O_PID_FILE:
        a->o.pid_file = optarg;
        break;
      case O_CONSOLE_SOCKET:
        a->o.console_socket = optarg;
        break;
      case O_PRESERVE_FDS:
        {
          char *end;
          long n = strtol (optarg, &end, 10);
          if (*end || n < 0 || n > 65536)
            return cli_usage_error (argv[0], "--preserve-fds: not a count: \"%s\"", optarg);
          a->o.preserve_fds = (int)n;
          break;
        }
      case O_NO_PIVOT:
        a->o.no_pivot = true;
        break;
      case O_NO_NEW_KEYRING:
        a->o.no_new_keyring = true;
        break;
      case 'd':
        if (!is_run)
          return cli_usage_error (argv[0], "unknown option --detach");
        a->detach = true;
        break;
      case O_KEEP:
      case O_NO_SUBREAPER:
        break;
      case 'h':
        printf ("usage: focker %s [--bundle DIR] [--pid-file F] [--console-socket S] "
                "[--preserve-fds N]%s ID\n",
                argv[0], is_run ? " [--detach]" : "");
        exit (0);
      case ':':
        return cli_usage_error (argv[0], "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error (argv[0], "unknown option %s", argv[optind - 1]);
      }
  if (optind != argc - 1)
    return cli_usage_error (argv[0], "expects exactly one container id");
  a->o.id = argv[optind];
  a->bundle_abs = absolute (bundle);
  if (a->o.pid_file)
    a->pid_file_abs = absolute (a->o.pid_file);
  if (a->bundle_abs == NULL || (a->o.pid_file && a->pid_file_abs == NULL))
    return cli_usage_error (argv[0], "cannot resolve paths: %s", strerror (errno));
  a->o.bundle = a->bundle_abs;
  a->o.pid_file = a->pid_file_abs;
  return 0;
}

int
cmd_create (int argc, char **argv)
{
  struct create_args a = { 0 };
  struct focker_err *err = NULL;
  int r;

  if (!cli_oci_form (argc, argv))
    return cmd_user_run (argc, argv, false);
  if (parse_create (argc, argv, &a, false))
    return 1;
  r = container_create (&a.o, NULL, &err);
  free (a.bundle_abs);
  free (a.pid_file_abs);
  return r < 0 ? cli_fail (err) : 0;
}

static volatile sig_atomic_t pending_sig;

static void
on_signal (int sig)
{
  pending_sig = sig;
}

int
cli_take_pending_signal (void)
{
  int sig = pending_sig;
  pending_sig = 0;
  return sig;
}

void
cli_forward_signals (void)
{
  static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2 };
  struct sigaction sa = { .sa_handler = on_signal };

  /* no SA_RESTART: the wait in core must wake up to forward the signal */
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaction (forwarded[i], &sa, NULL);
}

/* The bundle's config, parsed once for run's terminal check and for create (which takes it);
 * NULL when it cannot be read or parsed: that is create's to report. */
static struct spec *
load_config (const char *bundle)
{
  char path[PATH_MAX];
  struct spec *s = NULL;
  struct focker_err *e = NULL;

  snprintf (path, sizeof path, "%s/config.json", bundle);
  if (spec_load (&s, AT_FDCWD, path, &e) < 0)
    {
      focker_err_free (e);
      return NULL;
    }
  return s;
}

int
cmd_run (int argc, char **argv)
{
  struct create_args a = { 0 };
  struct focker_err *err = NULL;
  struct term_attach term;
  bool attach = false;
  int status = 0, r;

  if (!cli_oci_form (argc, argv))
    return cmd_user_run (argc, argv, true);
  if (parse_create (argc, argv, &a, true))
    return 1;
  if (!a.detach)
    cli_forward_signals ();
  a.o.spec = load_config (a.o.bundle);
  /* a terminal and nobody to give it to: it is ours */
  if (!a.detach && a.o.console_socket == NULL && a.o.spec && a.o.spec->process
      && a.o.spec->process->terminal)
    {
      if (term_attach_begin (&term) < 0)
        {
          spec_free (a.o.spec);
          return cli_usage_error ("run", "cannot attach a terminal: %s", strerror (errno));
        }
      attach = true;
      a.o.console_socket = term.sock;
    }
  r = container_run (&a.o, a.detach, cli_take_pending_signal, &status, &err);
  if (attach)
    term_attach_end (&term);
  free (a.bundle_abs);
  free (a.pid_file_abs);
  if (r < 0)
    return cli_fail (err);
  return status;
}

/* Subcommands taking just an ID and simple flags. */
static int
parse_simple (int argc, char **argv, const struct option *opts, const char *shorts,
              int (*on_opt) (int c, void *ctx), void *ctx, int min_args, int max_args)
{
  char optstring[32];
  int c;

  /* a leading ':' makes getopt report a missing value as ':' rather than '?' */
  snprintf (optstring, sizeof optstring, ":%s", shorts);
  opterr = 0;
  while ((c = getopt_long (argc, argv, optstring, opts, NULL)) != -1)
    {
      if (c == '?')
        return cli_usage_error (argv[0], "unknown option %s", argv[optind - 1]);
      if (c == ':')
        return cli_usage_error (argv[0], "option %s needs a value", argv[optind - 1]);
      if (on_opt (c, ctx) < 0)
        return 1;
    }
  if (argc - optind < min_args || argc - optind > max_args)
    {
      if (min_args == max_args)
        return cli_usage_error (argv[0], "expects %d argument%s", min_args,
                                min_args == 1 ? "" : "s");
      return cli_usage_error (argv[0], "expects %d to %d arguments", min_args, max_args);
    }
  return 0;
}

static int
no_opts (int c, void *ctx)
{
  (void)ctx;
  if (c == 'h')
    {
      printf ("usage: focker COMMAND ID\n");
      exit (0);
    }
  return 0;
}

static const struct option help_only[]
    = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };

struct start_args
{
  bool attach, interactive;
};

static int
start_opt (int c, void *ctx)
{
  struct start_args *a = ctx;
  if (c == 'a')
    a->attach = true;
  else if (c == 'i')
    a->interactive = true;
  return no_opts (c, NULL);
}

int
cmd_start (int argc, char **argv)
{
  static const struct option opts[] = { { "attach", no_argument, NULL, 'a' },
                                        { "interactive", no_argument, NULL, 'i' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct focker_err *err = NULL;
  char id[CTR_ID_LEN + 1];
  struct start_args a = { false, false };

  if (parse_simple (argc, argv, opts, "aih", start_opt, &a, 1, 1))
    return 1;
  /* a user container starts through its monitor; anything else is the OCI start */
  if (cli_user_resolve (argv[optind], id))
    return cmd_user_start (id, a.attach || a.interactive, a.interactive);
  if (a.attach || a.interactive)
    return cli_usage_error ("start", "-%c: %s is not a user container", a.attach ? 'a' : 'i',
                            argv[optind]);
  return container_start (g.root, argv[optind], &err) < 0 ? cli_fail (err) : 0;
}

int
cmd_state (int argc, char **argv)
{
  struct focker_err *err = NULL;
  struct container_state *st = NULL;
  enum container_status status;
  char *json;

  if (parse_simple (argc, argv, help_only, "h", no_opts, NULL, 1, 1))
    return 1;
  if (container_state (&st, &status, g.root, argv[optind], &err) < 0)
    return cli_fail (err);
  json = state_to_json (st, status, true);
  printf ("%s\n", json);
  free (json);
  state_free (st);
  return 0;
}

struct kill_args
{
  bool all;
  const char *signal;
};

static int
kill_opt (int c, void *ctx)
{
  struct kill_args *k = ctx;
  if (c == 'a')
    k->all = true;
  else if (c == 's')
    k->signal = optarg;
  return no_opts (c, NULL);
}

int
cmd_kill (int argc, char **argv)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                        { "signal", required_argument, NULL, 's' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct focker_err *err = NULL;
  struct kill_args k = { 0 };
  char id[CTR_ID_LEN + 1];
  const char *target;
  int sig = SIGTERM;

  /* runc's `kill [--all] ID [SIG]` and docker's `kill [-s SIG] NAME` */
  if (parse_simple (argc, argv, opts, "as:h", kill_opt, &k, 1, 2))
    return 1;
  if (k.signal && argc - optind == 2)
    return cli_usage_error ("kill", "a signal both with -s and as an argument");
  if (k.signal || argc - optind == 2)
    {
      const char *name = k.signal ? k.signal : argv[optind + 1];
      sig = cli_parse_signal (name);
      if (sig < 0)
        return cli_usage_error ("kill", "unknown signal \"%s\"", name);
    }
  else if (cli_user_resolve (argv[optind], id))
    sig = SIGKILL; /* docker's default */
  target = cli_user_resolve (argv[optind], id) ? id : argv[optind];
  if (target == id && !k.all)
    return cmd_user_kill (id, sig);
  return container_kill (g.root, target, sig, k.all, &err) < 0 ? cli_fail (err) : 0;
}

static int
delete_opt (int c, void *ctx)
{
  if (c == 'f')
    *(bool *)ctx = true;
  return no_opts (c, NULL);
}

int
cmd_delete (int argc, char **argv)
{
  static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct focker_err *err = NULL;
  bool force = false;

  if (parse_simple (argc, argv, opts, "fh", delete_opt, &force, 1, 1))
    return 1;
  return container_delete (g.root, argv[optind], force, &err) < 0 ? cli_fail (err) : 0;
}

struct list_args
{
  bool quiet;
  bool json;
  bool bad_format;
};

static int
list_opt (int c, void *ctx)
{
  struct list_args *a = ctx;
  if (c == 'q')
    a->quiet = true;
  else if (c == 'f')
    {
      if (strcmp (optarg, "json") == 0)
        a->json = true;
      else if (strcmp (optarg, "table") != 0)
        {
          cli_usage_error ("list", "--format: unknown format \"%s\" (table or json)", optarg);
          return -1;
        }
    }
  return no_opts (c, NULL);
}

int
cmd_list (int argc, char **argv)
{
  static const struct option opts[] = { { "quiet", no_argument, NULL, 'q' },
                                        { "format", required_argument, NULL, 'f' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct list_args a = { 0 };
  struct focker_err *err = NULL;
  struct container_state **list = NULL;

  if (parse_simple (argc, argv, opts, "qf:h", list_opt, &a, 0, 0))
    return 1;
  if (container_list (&list, g.root, &err) < 0)
    return cli_fail (err);
  if (a.json)
    {
      printf ("[");
      for (size_t i = 0; list[i]; i++)
        {
          char *j = state_to_json (list[i], state_status (list[i]), false);
          printf ("%s%s", i ? "," : "", j);
          free (j);
        }
      printf ("]\n");
    }
  else if (a.quiet)
    for (size_t i = 0; list[i]; i++)
      printf ("%s\n", list[i]->id);
  else
    {
      printf ("%-20s %-8s %-8s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
              "OWNER");
      for (size_t i = 0; list[i]; i++)
        {
          enum container_status s = state_status (list[i]);
          printf ("%-20s %-8d %-8s %-40s %-31s %s\n", list[i]->id,
                  s == STATUS_STOPPED ? 0 : (int)list[i]->pid, state_status_name (s),
                  list[i]->bundle, list[i]->created, *list[i]->owner ? list[i]->owner : "root");
        }
    }
  container_list_free (list);
  return 0;
}

struct spec_args
{
  const char *bundle;
  bool rootless;
};

static int
spec_opt (int c, void *ctx)
{
  struct spec_args *a = ctx;
  if (c == 'b')
    a->bundle = optarg;
  else if (c == O_ROOTLESS)
    a->rootless = true;
  return no_opts (c, NULL);
}

int
cmd_spec (int argc, char **argv)
{
  static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' },
                                        { "rootless", no_argument, NULL, O_ROOTLESS },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  struct spec_args a = { .bundle = "." };
  char path[PATH_MAX];
  char *text;
  FILE *f;
  int fd;

  if (parse_simple (argc, argv, opts, "b:h", spec_opt, &a, 0, 0))
    return 1;
  snprintf (path, sizeof path, "%s/config.json", a.bundle);
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return cli_usage_error ("spec", "%s: %s", path,
                            errno == EEXIST ? "file exists" : strerror (errno));
  /* rootless: map container root to whoever runs `spec`, as runc spec --rootless does */
  text = spec_default_json_ids (a.rootless, getuid (), getgid ());
  f = fdopen (fd, "w");
  if (f == NULL || fprintf (f, "%s\n", text) < 0 || fclose (f) != 0)
    {
      free (text);
      return cli_usage_error ("spec", "write %s: %s", path, strerror (errno));
    }
  free (text);
  return 0;
}

int
cmd_features (int argc, char **argv)
{
  static const char *const ns[]
      = { "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time" };
  static const char *const hooks[] = { "prestart",       "createRuntime", "createContainer",
                                       "startContainer", "poststart",     "poststop" };
  static const char *const mopts[]
      = { "async",      "atime",       "bind",        "defaults", "dev",         "diratime",
          "dirsync",    "exec",        "lazytime",    "mand",     "noatime",     "nodev",
          "nodiratime", "noexec",      "nolazytime",  "nomand",   "norelatime",  "nostrictatime",
          "nosuid",     "nosymfollow", "private",     "rbind",    "relatime",    "remount",
          "ro",         "rprivate",    "rshared",     "rslave",   "runbindable", "rw",
          "shared",     "slave",       "strictatime", "suid",     "sync",        "unbindable" };
  json_t *o = json_object (), *linux_ = json_object (), *a;
  char *text;

  if (parse_simple (argc, argv, help_only, "h", no_opts, NULL, 0, 0))
    return 1;
  json_object_set_new (o, "ociVersionMin", json_string ("1.0.0"));
  json_object_set_new (o, "ociVersionMax", json_string ("1.3.0"));
  a = json_array ();
  for (size_t i = 0; i < sizeof hooks / sizeof *hooks; i++)
    json_array_append_new (a, json_string (hooks[i]));
  json_object_set_new (o, "hooks", a);
  a = json_array ();
  for (size_t i = 0; i < sizeof mopts / sizeof *mopts; i++)
    json_array_append_new (a, json_string (mopts[i]));
  json_object_set_new (o, "mountOptions", a);
  a = json_array ();
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
    json_array_append_new (a, json_string (ns[i]));
  json_object_set_new (linux_, "namespaces", a);
  a = json_array ();
  for (int cap = 0; cap <= SPEC_CAP_LAST; cap++)
    if (spec_cap_name (cap))
      json_array_append_new (a, json_string (spec_cap_name (cap)));
  json_object_set_new (linux_, "capabilities", a);
  json_object_set_new (linux_, "cgroup",
                       json_pack ("{s:b,s:b,s:b,s:b,s:b}", "v1", 1, "v2", 1, "systemd", 0,
                                  "systemdUser", 0, "rdma", 1));
  json_object_set_new (
      linux_, "seccomp",
      json_pack ("{s:b,s:[sssssssss],s:[sssssss],s:[sss],s:[ssss]}", "enabled", 1, "actions",
                 "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                 "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                 "SCMP_ACT_TRAP", "operators", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                 "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", "archs",
                 "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "knownFlags",
                 "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                 "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
  json_object_set_new (linux_, "apparmor", json_pack ("{s:b}", "enabled", 1));
  json_object_set_new (linux_, "selinux", json_pack ("{s:b}", "enabled", 1));
  json_object_set_new (linux_, "intelRdt", json_pack ("{s:b}", "enabled", 0));
  json_object_set_new (linux_, "mountExtensions", json_pack ("{s:{s:b}}", "idmap", "enabled", 0));
  json_object_set_new (o, "linux", linux_);
  json_object_set_new (o, "annotations",
                       json_pack ("{s:s}", "io.github.focker.version", FOCKER_VERSION));
  text = json_dumps (o, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  printf ("%s\n", text);
  free (text);
  json_decref (o);
  return 0;
}

int
cmd_unsupported (int argc, char **argv)
{
  (void)argc;
  return cli_usage_error (argv[0], "not supported by this version of focker");
}
