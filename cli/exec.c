/* exec.c: `focker exec [OPTIONS] ID [COMMAND [ARG...]]`, runc's flags (see core/exec.h).
 *
 * With a terminal (--tty, or process.terminal in --process) and no --console-socket, the
 * pty is attached to our own stdin/stdout (cli/terminal.c); detached, that is refused as
 * runc refuses it: nobody would be left to hold the terminal. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/ctr.h"
#include "core/exec.h"

enum
{
  X_PID_FILE = 256,
  X_CONSOLE_SOCKET,
  X_CWD,
  X_NO_NEW_PRIVS,
  X_APPARMOR,
  X_PROCESS_LABEL,
  X_PRESERVE_FDS,
  X_CGROUP,
};

static const struct option exec_options[] = {
  { "process", required_argument, NULL, 'p' },
  { "detach", no_argument, NULL, 'd' },
  { "pid-file", required_argument, NULL, X_PID_FILE },
  { "tty", no_argument, NULL, 't' },
  { "console-socket", required_argument, NULL, X_CONSOLE_SOCKET },
  { "cwd", required_argument, NULL, X_CWD },
  { "env", required_argument, NULL, 'e' },
  { "user", required_argument, NULL, 'u' },
  { "additional-gids", required_argument, NULL, 'g' },
  { "cap", required_argument, NULL, 'c' },
  { "no-new-privs", no_argument, NULL, X_NO_NEW_PRIVS },
  { "apparmor", required_argument, NULL, X_APPARMOR },
  { "process-label", required_argument, NULL, X_PROCESS_LABEL },
  { "preserve-fds", required_argument, NULL, X_PRESERVE_FDS },
  { "cgroup", required_argument, NULL, X_CGROUP },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

struct exec_args
{
  struct exec_opts o;
  char **env, **caps, **cgroups;
  size_t n_env, n_caps, n_cgroups;
  gid_t *gids;
  char *pid_file_abs;
  const char *user; /* -u as given: docker's forms on a user container, runc's UID[:GID] else */
  char user_id[65];
};

static void
push (char ***v, size_t *n, char *s)
{
  *v = realloc (*v, (*n + 2) * sizeof **v);
  if (*v == NULL)
    abort ();
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

static int
parse_id (const char *s, unsigned long *out)
{
  char *end;
  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  *out = strtoul (s, &end, 10);
  return (*end || errno || *out > UINT32_MAX - 1) ? -1 : 0;
}

/* --user UID[:GID] on a runtime container, numeric as with runc */
static int
parse_user (struct exec_opts *o, const char *s)
{
  char buf[64];
  char *colon;
  unsigned long v;

  snprintf (buf, sizeof buf, "%s", s);
  colon = strchr (buf, ':');
  if (colon)
    *colon = '\0';
  if (strlen (s) >= sizeof buf || parse_id (buf, &v) < 0)
    return -1;
  o->has_uid = true;
  o->uid = (uid_t)v;
  if (colon)
    {
      if (parse_id (colon + 1, &v) < 0)
        return -1;
      o->has_gid = true;
      o->gid = (gid_t)v;
    }
  return 0;
}

static int
parse_exec (int argc, char **argv, struct exec_args *a)
{
  int c;

  a->o.root = g.root;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:p:dtie:u:g:c:w:h", exec_options, NULL)) != -1)
    switch (c)
      {
      case 'p':
        a->o.process_path = optarg;
        break;
      case 'd':
        a->o.detach = true;
        break;
      case X_PID_FILE:
        a->o.pid_file = optarg;
        break;
      case 't':
        a->o.tty = true;
        break;
      case X_CONSOLE_SOCKET:
        a->o.console_socket = optarg;
        break;
      case 'i':
        break; /* docker's -i: stdin is passed on either way */
      case 'w':
      case X_CWD:
        a->o.cwd = optarg;
        break;
      case 'e':
        push (&a->env, &a->n_env, optarg);
        break;
      case 'u':
        a->user = optarg;
        break;
      case 'g':
        {
          unsigned long v;
          if (parse_id (optarg, &v) < 0)
            return cli_usage_error ("exec", "--additional-gids: not a gid: \"%s\"", optarg);
          a->gids = realloc (a->gids, (a->o.n_additional_gids + 1) * sizeof *a->gids);
          if (a->gids == NULL)
            abort ();
          a->gids[a->o.n_additional_gids++] = (gid_t)v;
          break;
        }
      case 'c':
        push (&a->caps, &a->n_caps, optarg);
        break;
      case X_NO_NEW_PRIVS:
        a->o.no_new_privs = true;
        break;
      case X_APPARMOR:
        a->o.apparmor = optarg;
        break;
      case X_PROCESS_LABEL:
        a->o.process_label = optarg;
        break;
      case X_PRESERVE_FDS:
        {
          char *end;
          long n = strtol (optarg, &end, 10);
          if (*end || *optarg == '\0' || n < 0 || n > 65536)
            return cli_usage_error ("exec", "--preserve-fds: not a count: \"%s\"", optarg);
          a->o.preserve_fds = (int)n;
          break;
        }
      case X_CGROUP:
        push (&a->cgroups, &a->n_cgroups, optarg);
        break;
      case 'h':
        printf (
            "usage: focker exec [--process P.json | ... ] [--detach] [--pid-file F] [--tty] "
            "[--console-socket S] [--cwd D] [--env K=V] [--user U[:G]] "
            "[--additional-gids G] [--cap C] [--no-new-privs] [--apparmor P] "
            "[--process-label L] [--preserve-fds N] [--cgroup [CTL:]SUB] ID [COMMAND [ARG...]]\n");
        exit (0);
      case ':':
        return cli_usage_error ("exec", "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error ("exec", "unknown option %s", argv[optind - 1]);
      }
  if (optind >= argc)
    return cli_usage_error ("exec", "expects a container id");
  a->o.id = argv[optind];
  /* a user container's name or id prefix: its runtime id */
  if (cli_user_resolve (argv[optind], a->user_id))
    {
      a->o.id = a->user_id;
      a->o.user_spec = a->user; /* names resolved in the container's /etc/passwd */
    }
  else if (a->user && parse_user (&a->o, a->user) < 0)
    return cli_usage_error ("exec", "--user: not UID[:GID]: \"%s\"", a->user);
  a->o.args = argv + optind + 1;
  if (a->o.process_path && a->o.args[0])
    return cli_usage_error ("exec", "give a command or --process, not both");
  if (!a->o.process_path && !a->o.args[0])
    return cli_usage_error ("exec", "expects a command after the container id (or --process)");
  a->o.env = a->env;
  a->o.caps = a->caps;
  a->o.cgroups = a->cgroups;
  a->o.additional_gids = a->gids;
  if (a->o.pid_file && a->o.pid_file[0] != '/')
    {
      char cwd[PATH_MAX];
      if (getcwd (cwd, sizeof cwd) == NULL
          || asprintf (&a->pid_file_abs, "%s/%s", cwd, a->o.pid_file) < 0)
        return cli_usage_error ("exec", "cannot resolve --pid-file: %s", strerror (errno));
      a->o.pid_file = a->pid_file_abs;
    }
  return 0;
}

/* Will the process have a terminal?  --tty, or terminal: true in --process. */
static bool
wants_terminal (const struct exec_opts *o)
{
  json_t *root;
  bool yes;

  if (o->tty || o->process_path == NULL)
    return o->tty;
  root = json_load_file (o->process_path, 0, NULL);
  yes = json_is_true (json_object_get (root, "terminal"));
  json_decref (root);
  return yes;
}

int
cmd_exec (int argc, char **argv)
{
  struct exec_args a = { 0 };
  struct focker_err *err = NULL;
  struct term_attach term;
  bool attach = false;
  int status = 0, r;

  r = parse_exec (argc, argv, &a);
  if (r == 0 && a.o.console_socket == NULL && wants_terminal (&a.o))
    {
      if (a.o.detach)
        r = cli_usage_error ("exec", "a terminal needs --console-socket when detached");
      else if (term_attach_begin (&term) < 0)
        r = cli_usage_error ("exec", "cannot attach a terminal: %s", strerror (errno));
      else
        {
          attach = true;
          a.o.console_socket = term.sock;
        }
    }
  if (r == 0)
    {
      if (!a.o.detach)
        cli_forward_signals ();
      r = container_exec (&a.o, cli_take_pending_signal, NULL, &status, &err) < 0 ? -1 : 0;
    }
  if (attach)
    term_attach_end (&term);
  free (a.env);
  free (a.caps);
  free (a.cgroups);
  free (a.gids);
  free (a.pid_file_abs);
  if (r < 0)
    return cli_fail (err);
  return r > 0 ? r : status;
}
