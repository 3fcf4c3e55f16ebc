/* user.c: the docker-like face: run/create IMAGE, start NAME, ps, stop, kill -s, rm, logs,
 * exec NAME, inspect NAME, wait.
 *
 * A user container is a runtime container whose id is the record's full 64-hex id under the
 * same --root (see core/ctr.h), so the shared verbs mean the same on both faces; this file
 * decides which face a command line asks for (cli_oci_form) and resolves names and id
 * prefixes to full ids. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/cleanup.h"
#include "core/container.h"
#include "core/ctr.h"
#include "core/image.h"
#include "core/store.h"
#include "core/strv.h"

static bool
is_image (const char *ref)
{
  struct store *s = NULL;
  struct image *img = NULL;
  struct focker_err *err = NULL;
  bool yes = false;

  if (store_open (&s, g.storage_root, false, false, &err) == 0)
    {
      yes = store_image_get (&img, s, ref, &err) == 0;
      image_free (img);
      store_close (s);
    }
  focker_err_free (err);
  return yes;
}

bool
cli_oci_form (int argc, char **argv)
{
  static const char *const oci_only[]
      = { "-b",         "--bundle",         "--pid-file", "--console-socket", "--preserve-fds",
          "--no-pivot", "--no-new-keyring", "--keep",     "--no-subreaper",   NULL };
  int operands = 0, first = -1;

  for (int i = 1; i < argc; i++)
    {
      for (const char *const *o = oci_only; *o; o++)
        {
          size_t n = strlen (*o);
          if (strncmp (argv[i], *o, n) == 0
              && (argv[i][n] == '\0' || argv[i][n] == '=' || (n == 2 && argv[i][n])))
            return true;
        }
      if (strcmp (argv[i], "-d") == 0 || strcmp (argv[i], "--detach") == 0)
        continue;
      if (argv[i][0] == '-')
        return false; /* an option only the user face has */
      operands++;
      if (first < 0)
        first = i;
    }
  /* runc's `run ID` in a bundle directory: one operand that is no image, ./config.json */
  return operands == 1 && access ("config.json", F_OK) == 0 && !is_image (argv[first]);
}

/* ---- run / create ---- */

enum
{
  U_RM = 300,
  U_NAME,
  U_ENV_FILE,
  U_MOUNT,
  U_HOSTNAME,
  U_MEMORY,
  U_CPUS,
  U_PIDS,
  U_CAP_ADD,
  U_CAP_DROP,
  U_SECOPT,
  U_READ_ONLY,
  U_NETWORK,
  U_ENTRYPOINT,
  U_PUBLISH,
};

static const struct option run_opts[] = {
  { "rm", no_argument, NULL, U_RM },
  { "detach", no_argument, NULL, 'd' },
  { "interactive", no_argument, NULL, 'i' },
  { "tty", no_argument, NULL, 't' },
  { "name", required_argument, NULL, U_NAME },
  { "env", required_argument, NULL, 'e' },
  { "env-file", required_argument, NULL, U_ENV_FILE },
  { "volume", required_argument, NULL, 'v' },
  { "mount", required_argument, NULL, U_MOUNT },
  { "workdir", required_argument, NULL, 'w' },
  { "user", required_argument, NULL, 'u' },
  { "hostname", required_argument, NULL, U_HOSTNAME },
  { "memory", required_argument, NULL, 'm' },
  { "cpus", required_argument, NULL, U_CPUS },
  { "pids-limit", required_argument, NULL, U_PIDS },
  { "cap-add", required_argument, NULL, U_CAP_ADD },
  { "cap-drop", required_argument, NULL, U_CAP_DROP },
  { "security-opt", required_argument, NULL, U_SECOPT },
  { "read-only", no_argument, NULL, U_READ_ONLY },
  { "network", required_argument, NULL, U_NETWORK },
  { "net", required_argument, NULL, U_NETWORK },
  { "entrypoint", required_argument, NULL, U_ENTRYPOINT },
  { "publish", required_argument, NULL, 'p' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

struct run_args
{
  struct ctr_opts o;
  bool detach;
  char id[CTR_ID_LEN + 1];
  char *seccomp_text;
};

static void
run_args_free (struct run_args *a)
{
  strv_free (a->o.env);
  strv_free (a->o.volumes);
  strv_free (a->o.mounts);
  strv_free (a->o.cap_add);
  strv_free (a->o.cap_drop);
  strv_free (a->o.security_opt);
  strv_free (a->o.publish);
  free (a->seccomp_text);
}

static char *
slurp (const char *path)
{
  FILE *f = fopen (path, "re");
  char *text = NULL;
  size_t cap = 0;

  if (f == NULL)
    return NULL;
  if (getdelim (&text, &cap, '\0', f) < 0)
    {
      free (text);
      text = strdup ("");
    }
  fclose (f);
  return text;
}

/* --env-file: K=V lines; `#` comments and blank lines skipped; a bare K takes our value */
static int
read_env_file (struct run_args *a, const char *path)
{
  _cleanup_free_ char *text = slurp (path);
  char *save = NULL;

  if (text == NULL)
    return cli_usage_error ("run", "--env-file %s: %s", path, strerror (errno));
  for (char *l = strtok_r (text, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      while (*l == ' ' || *l == '\t')
        l++;
      if (*l == '\0' || *l == '#')
        continue;
      if (strchr (l, '=') == NULL)
        {
          const char *v = getenv (l);
          if (v)
            {
              _cleanup_free_ char *kv = xasprintf ("%s=%s", l, v);
              strv_push (&a->o.env, kv);
            }
          continue;
        }
      strv_push (&a->o.env, l);
    }
  return 0;
}

static int
run_opt (struct run_args *a, int c, const char *cmd)
{
  switch (c)
    {
    case U_RM:
      a->o.auto_remove = true;
      break;
    case 'd':
      a->detach = true;
      break;
    case 'i':
      a->o.interactive = true;
      break;
    case 't':
      a->o.tty = true;
      break;
    case U_NAME:
      a->o.name = optarg;
      break;
    case 'e':
      if (strchr (optarg, '=') == NULL)
        {
          const char *v = getenv (optarg);
          if (v)
            {
              _cleanup_free_ char *kv = xasprintf ("%s=%s", optarg, v);
              strv_push (&a->o.env, kv);
            }
        }
      else
        strv_push (&a->o.env, optarg);
      break;
    case U_ENV_FILE:
      return read_env_file (a, optarg);
    case 'v':
      strv_push (&a->o.volumes, optarg);
      break;
    case U_MOUNT:
      strv_push (&a->o.mounts, optarg);
      break;
    case 'w':
      a->o.workdir = optarg;
      break;
    case 'u':
      a->o.user = optarg;
      break;
    case U_HOSTNAME:
      a->o.hostname = optarg;
      break;
    case 'm':
      if (ctr_parse_size (optarg, &a->o.memory) < 0)
        return cli_usage_error (cmd, "--memory: not a size: \"%s\" (like 256m, 1g)", optarg);
      break;
    case U_CPUS:
      if (ctr_parse_cpus (optarg, &a->o.cpu_quota) < 0)
        return cli_usage_error (cmd, "--cpus: not a number of cpus: \"%s\" (like 1.5)", optarg);
      break;
    case U_PIDS:
      {
        char *end;
        long n = strtol (optarg, &end, 10);
        if (*end || n <= 0)
          return cli_usage_error (cmd, "--pids-limit: not a positive count: \"%s\"", optarg);
        a->o.pids_limit = n;
        break;
      }
    case U_CAP_ADD:
      strv_push (&a->o.cap_add, optarg);
      break;
    case U_CAP_DROP:
      strv_push (&a->o.cap_drop, optarg);
      break;
    case U_SECOPT:
      if ((strncmp (optarg, "seccomp=", 8) == 0 || strncmp (optarg, "seccomp:", 8) == 0)
          && strcmp (optarg + 8, "unconfined") != 0)
        {
          free (a->seccomp_text);
          a->seccomp_text = slurp (optarg + 8);
          if (a->seccomp_text == NULL)
            return cli_usage_error (cmd, "--security-opt %s: %s", optarg, strerror (errno));
          a->o.seccomp_profile = a->seccomp_text;
        }
      strv_push (&a->o.security_opt, optarg);
      break;
    case U_READ_ONLY:
      a->o.read_only = true;
      break;
    case U_NETWORK:
      a->o.network = optarg;
      break;
    case U_ENTRYPOINT:
      a->o.entrypoint = optarg;
      break;
    case 'p':
      strv_push (&a->o.publish, optarg);
      break;
    case 'h':
      printf ("usage: focker %s [--rm] [-d] [-i] [-t] [--name N] [-e K=V] [--env-file F] "
              "[-v SRC:DST[:ro]] [--mount type=bind|tmpfs,...] [-w DIR] [-u USER[:GROUP]] "
              "[--hostname H] [--memory SIZE] [--cpus N] [--pids-limit N] [--cap-add C] "
              "[--cap-drop C] [--security-opt OPT] [--read-only] [--network bridge|none|host] "
              "[-p [IP:]HOST:CTR[/tcp|udp]]... [--entrypoint E] IMAGE [CMD...]\n",
              cmd);
      exit (0);
    case ':':
      return cli_usage_error (cmd, "option %s needs a value", argv_current_option ());
    default:
      return cli_usage_error (cmd, "unknown option %s", argv_current_option ());
    }
  return 0;
}

static char **cur_argv;

const char *
argv_current_option (void)
{
  return cur_argv && optind > 0 ? cur_argv[optind - 1] : "?";
}

static int
parse_run (int argc, char **argv, struct run_args *a)
{
  unsigned char rnd[CTR_ID_LEN / 2];
  int c;

  /* docker's default, bridge; rootless focker cannot make veths or nf_tables rules, so its
   * containers get a namespace with only loopback unless asked otherwise */
  a->o.network = g.rootless ? "none" : "bridge";
  a->o.run_root = g.root;
  cur_argv = argv;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long (argc, argv, "+:dite:v:w:u:m:p:h", run_opts, NULL)) != -1)
    if (run_opt (a, c, argv[0]))
      return 1;
  if (optind >= argc)
    return cli_usage_error (argv[0], "expects an image (see focker %s --help)", argv[0]);
  a->o.image = argv[optind];
  a->o.cmd = argv + optind + 1;
  if (!a->o.cmd[0])
    a->o.cmd = NULL;
  if (getrandom (rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    return cli_usage_error (argv[0], "getrandom: %s", strerror (errno));
  for (size_t i = 0; i < sizeof rnd; i++)
    snprintf (a->id + 2 * i, 3, "%02x", rnd[i]);
  a->o.id = a->id;
  return 0;
}

static struct monitor_opts
monitor_opts_from (const struct run_args *a)
{
  struct monitor_opts m = { .id = a->id,
                            .detach = a->detach,
                            .interactive = a->o.interactive,
                            .tty = a->o.tty,
                            .auto_remove = a->o.auto_remove,
                            .remove_on_failure = true,
                            .loopback_up = strcmp (a->o.network, "none") == 0 && !g.rootless };
  return m;
}

int
cmd_user_run (int argc, char **argv, bool start)
{
  struct run_args a = { 0 };
  struct focker_err *err = NULL;
  struct store *s = NULL;
  char hostname[CTR_SHORT_LEN + 1];
  int r;

  if (parse_run (argc, argv, &a) || cli_images_need_root (argv[0]))
    {
      run_args_free (&a);
      return 125;
    }
  if (a.o.hostname == NULL)
    {
      /* docker's default: the short id */
      snprintf (hostname, sizeof hostname, "%.12s", a.id);
      a.o.hostname = hostname;
    }
  if (cli_open_store (&s, false))
    {
      run_args_free (&a);
      return 125;
    }
  r = ctr_create (s, &a.o, &err);
  store_close (s);
  if (r < 0)
    {
      run_args_free (&a);
      cli_fail (err);
      return 125;
    }
  /* docker's warning, after the record exists: a warning before a later error would make
   * the error two lines */
  if (a.o.publish && strcmp (a.o.network, "host") == 0)
    cli_log ("warning", "published ports are discarded when using host network mode");
  else if (a.o.publish && strcmp (a.o.network, "none") == 0)
    cli_log ("warning", "published ports (-p) are discarded with --network none");
  if (!start)
    {
      printf ("%s\n", a.id);
      run_args_free (&a);
      return 0;
    }
  {
    struct monitor_opts m = monitor_opts_from (&a);
    if (a.detach)
      {
        r = monitor_detached (&m);
        if (r == 0)
          printf ("%s\n", a.id);
      }
    else
      r = monitor_foreground (&m);
  }
  run_args_free (&a);
  return r;
}

/* ---- name resolution ---- */

/* ref -> full id of a user container; false (and nothing printed) if none. */
bool
cli_user_resolve (const char *ref, char *id)
{
  struct store *s = NULL;
  struct focker_err *err = NULL;
  bool ok = false;

  if (store_open (&s, g.storage_root, false, false, &err) == 0)
    {
      ok = ctr_resolve (s, ref, id, &err) == 0;
      store_close (s);
    }
  focker_err_free (err);
  return ok;
}

static int
resolve_or_fail (const char *cmd, const char *ref, char id[CTR_ID_LEN + 1])
{
  struct store *s = NULL;
  struct focker_err *err = NULL;
  int r;

  if (cli_open_store (&s, false))
    return -1;
  r = ctr_resolve (s, ref, id, &err);
  store_close (s);
  if (r < 0)
    {
      cli_fail (err);
      return -1;
    }
  (void)cmd;
  return 0;
}

/* ---- status ---- */

static bool
runtime_running (const char *id)
{
  struct container_state *st = NULL;
  enum container_status status;
  struct focker_err *err = NULL;
  bool yes = false;

  /* inspect needs no runtime root (rootless without one): nothing runs there then */
  if (g.root && container_state (&st, &status, g.root, id, &err) == 0)
    {
      yes = status == STATUS_RUNNING || status == STATUS_PAUSED;
      state_free (st);
    }
  focker_err_free (err);
  return yes;
}

static void
view_of (struct store *s, const char *id, struct ctr_view *v, json_t **state_out)
{
  struct focker_err *err = NULL;
  void *st = NULL;

  if (ctr_read_state (&st, s, id, &err) < 0)
    {
      focker_err_free (err);
      st = json_object ();
    }
  ctr_view_from (v, st, ctr_monitor_alive (st), runtime_running (id));
  if (state_out)
    *state_out = st;
  else
    json_decref (st);
}

static const char *
status_word (enum ctr_status s)
{
  static const char *const w[] = { "created", "running", "exited", "unknown" };
  return w[s];
}

static char *
command_of (json_t *cfg)
{
  _cleanup_free_ char *text = NULL, *bundle = NULL;
  json_t *spec, *args, *e;
  char *out = xstrdup ("");
  size_t i;

  bundle = xasprintf ("%s/containers/%s/bundle/config.json", g.storage_root,
                      json_string_value (json_object_get (cfg, "Id")));
  spec = json_load_file (bundle, 0, NULL);
  args = json_object_get (json_object_get (spec, "process"), "args");
  json_array_foreach (args, i, e)
  {
    char *n = xasprintf ("%s%s%s", out, i ? " " : "", json_string_value (e));
    free (out);
    out = n;
  }
  json_decref (spec);
  return out;
}

/* docker's PORTS: "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp" from NetworkSettings */
static char *
ports_text (json_t *cfg)
{
  json_t *ports = json_object_get (json_object_get (cfg, "NetworkSettings"), "Ports"), *arr, *b;
  const char *key;
  char *out = xstrdup ("");
  size_t i;

  json_object_foreach (ports, key, arr)
  {
    json_array_foreach (arr, i, b)
    {
      char *n = xasprintf ("%s%s%s:%s->%s", out, *out ? ", " : "",
                           json_string_value (json_object_get (b, "HostIp")) ?: "0.0.0.0",
                           json_string_value (json_object_get (b, "HostPort")) ?: "", key);
      free (out);
      out = n;
    }
  }
  return out;
}

/* A table printed as docker's tabwriter does: each column as wide as its widest cell, three
 * spaces between columns, the last one unpadded. */
#define PS_COLS 7
struct table
{
  char **cells; /* rows of PS_COLS */
  size_t n_rows;
};

static void
table_add (struct table *t, const char *const *row)
{
  t->cells = realloc (t->cells, (t->n_rows + 1) * PS_COLS * sizeof *t->cells);
  if (t->cells == NULL)
    abort ();
  for (size_t c = 0; c < PS_COLS; c++)
    t->cells[t->n_rows * PS_COLS + c] = xstrdup (row[c]);
  t->n_rows++;
}

static void
table_print (struct table *t)
{
  int width[PS_COLS] = { 0 };

  for (size_t i = 0; i < t->n_rows * PS_COLS; i++)
    if ((int)strlen (t->cells[i]) > width[i % PS_COLS])
      width[i % PS_COLS] = (int)strlen (t->cells[i]);
  for (size_t r = 0; r < t->n_rows; r++)
    for (size_t c = 0; c < PS_COLS; c++)
      {
        const char *cell = t->cells[r * PS_COLS + c];
        if (c + 1 < PS_COLS)
          printf ("%-*s   ", width[c], cell);
        else
          printf ("%s\n", cell);
      }
  for (size_t i = 0; i < t->n_rows * PS_COLS; i++)
    free (t->cells[i]);
  free (t->cells);
}

int
cmd_user_ps (int argc, char **argv)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
                                        { "quiet", no_argument, NULL, 'q' },
                                        { "format", required_argument, NULL, 'f' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  bool all = false, quiet = false, json = false;
  struct focker_err *err = NULL;
  _cleanup_strv_ char **ids = NULL;
  struct store *s = NULL;
  json_t *arr = json_array ();
  struct table t = { 0 };
  int64_t now = time (NULL);
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, ":aqf:h", opts, NULL)) != -1)
    if (c == 'a')
      all = true;
    else if (c == 'q')
      quiet = true;
    else if (c == 'f' && strcmp (optarg, "json") == 0)
      json = true;
    else if (c == 'f' && strcmp (optarg, "table") == 0)
      ;
    else if (c == 'h')
      {
        printf ("usage: focker ps [-a] [-q] [--format table|json]   (ps ID: its processes)\n");
        return 0;
      }
    else
      return cli_usage_error ("ps", "unknown option or format %s", argv[optind - 1]);
  if (cli_open_store (&s, false))
    return 1;
  if (ctr_list_ids (&ids, s, &err) < 0)
    {
      store_close (s);
      return cli_fail (err);
    }
  if (!json && !quiet)
    table_add (&t, (const char *[]){ "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                     "PORTS", "NAMES" });
  for (size_t i = 0; ids[i]; i++)
    {
      void *cj = NULL;
      json_t *st = NULL;
      struct ctr_view v;
      if (ctr_read_config (&cj, s, ids[i], &err) < 0)
        {
          focker_err_free (err);
          err = NULL;
          continue;
        }
      view_of (s, ids[i], &v, &st);
      if (all || v.status == CTR_RUNNING || v.status == CTR_UNKNOWN)
        {
          json_t *cfg = cj;
          _cleanup_free_ char *cmd = command_of (cfg);
          _cleanup_free_ char *status = ctr_status_text (&v, now);
          _cleanup_free_ char *age = ctr_human_duration (
              now - ctr_parse_time (json_string_value (json_object_get (cfg, "Created"))));
          const char *image
              = json_string_value (json_object_get (json_object_get (cfg, "Config"), "Image"));
          const char *name = json_string_value (json_object_get (cfg, "Name"));
          /* as docker: the ports of a container that runs */
          _cleanup_free_ char *ports = v.status == CTR_RUNNING || v.status == CTR_UNKNOWN
                                           ? ports_text (cfg)
                                           : xstrdup ("");
          if (json)
            json_array_append_new (
                arr, json_pack ("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Id", ids[i], "Image",
                                image ?: "", "Command", cmd, "Created",
                                json_string_value (json_object_get (cfg, "Created")) ?: "", "State",
                                status_word (v.status), "Status", status, "Ports", ports, "Names",
                                name ?: ""));
          else if (quiet)
            printf ("%.12s\n", ids[i]);
          else
            {
              _cleanup_free_ char *created = xasprintf ("%s ago", age);
              char short_id[13], short_cmd[25];
              snprintf (short_id, sizeof short_id, "%.12s", ids[i]);
              snprintf (short_cmd, sizeof short_cmd, "%.24s", cmd);
              table_add (&t, (const char *[]){ short_id, image ?: "", short_cmd, created, status,
                                               ports, name ?: "" });
            }
        }
      json_decref (st);
      json_decref (cj);
    }
  store_close (s);
  if (json)
    {
      char *text = json_dumps (arr, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
      printf ("%s\n", text);
      free (text);
    }
  table_print (&t);
  json_decref (arr);
  return 0;
}

/* ---- start ---- */

static bool
none_network (json_t *host)
{
  const char *mode = json_string_value (json_object_get (host, "NetworkMode"));
  return mode == NULL || strcmp (mode, "none") == 0;
}

int
cmd_user_start (const char *id, bool attach, bool stdin_too)
{
  struct store *s = NULL;
  struct focker_err *err = NULL;
  struct ctr_view v;
  void *cj = NULL;
  json_t *cfg, *conf, *host;
  int r;

  if (cli_open_store (&s, false))
    return 1;
  if (ctr_read_config (&cj, s, id, &err) < 0)
    {
      store_close (s);
      return cli_fail (err);
    }
  view_of (s, id, &v, NULL);
  cfg = cj;
  if (v.status == CTR_RUNNING || v.status == CTR_UNKNOWN)
    {
      store_close (s);
      json_decref (cfg);
      return 0; /* docker: starting a running container is a no-op */
    }
  /* after a reboot the bridge network's namespace is gone: attached again */
  if (ctr_net_restore (s, g.root, id, &err) < 0)
    {
      store_close (s);
      json_decref (cfg);
      return cli_fail (err);
    }
  store_close (s);
  /* the runtime container of an earlier run (a monitor killed before it deleted it) */
  cli_delete_quiet (id);
  conf = json_object_get (cfg, "Config");
  host = json_object_get (cfg, "HostConfig");
  {
    struct monitor_opts m
        = { .id = id,
            .detach = !attach,
            /* created with -i: detached, its stdin held open again (see monitor.c); with
             * start -ai (-i), ours passed on as run -i does; start -a alone gives none */
            .interactive
            = json_is_true (json_object_get (conf, "OpenStdin")) && (!attach || stdin_too),
            .tty = json_is_true (json_object_get (conf, "Tty")),
            .auto_remove = json_is_true (json_object_get (host, "AutoRemove")),
            .loopback_up = !g.rootless && none_network (host) };
    r = attach ? monitor_foreground (&m) : monitor_detached (&m);
  }
  json_decref (cfg);
  return r;
}

/* ---- stop, kill, rm, wait ---- */

static int
stop_signal (const char *id)
{
  _cleanup_free_ char *path = xasprintf ("%s/containers/%s/bundle/config.json", g.storage_root, id);
  json_t *spec = json_load_file (path, 0, NULL);
  const char *s = json_string_value (json_object_get (json_object_get (spec, "annotations"),
                                                      "org.opencontainers.image.stopSignal"));
  int sig = s ? cli_parse_signal (s) : -1;

  json_decref (spec);
  return sig > 0 ? sig : SIGTERM;
}

/* Wait up to ms for the container to stop (the runtime says so); true if it did. */
static bool
wait_stopped (const char *id, long ms)
{
  for (long waited = 0;; waited += 20)
    {
      if (!runtime_running (id))
        return true;
      if (ms >= 0 && waited >= ms)
        return false;
      struct timespec t = { 0, 20 * 1000 * 1000 };
      nanosleep (&t, NULL);
    }
}

/* Wait until the monitor recorded the exit (or died): the state a following ps shows. */
static void
wait_recorded (const char *id, long ms)
{
  for (long waited = 0; waited < ms; waited += 20)
    {
      struct store *s = NULL;
      struct focker_err *err = NULL;
      struct ctr_view v;
      if (store_open (&s, g.storage_root, false, false, &err) < 0)
        {
          focker_err_free (err);
          return;
        }
      view_of (s, id, &v, NULL);
      store_close (s);
      if (v.status == CTR_EXITED || v.status == CTR_CREATED)
        return;
      struct timespec t = { 0, 20 * 1000 * 1000 };
      nanosleep (&t, NULL);
    }
}

int
cmd_stop (int argc, char **argv)
{
  static const struct option opts[] = { { "time", required_argument, NULL, 't' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  long secs = 10;
  int c, rc = 0;

  opterr = 0;
  while ((c = getopt_long (argc, argv, ":t:h", opts, NULL)) != -1)
    if (c == 't')
      {
        char *end;
        secs = strtol (optarg, &end, 10);
        if (*end || secs < 0)
          return cli_usage_error ("stop", "-t: not a number of seconds: \"%s\"", optarg);
      }
    else if (c == 'h')
      {
        printf ("usage: focker stop [-t SECONDS] NAME...\n");
        return 0;
      }
    else
      return cli_usage_error ("stop", "unknown option %s", argv[optind - 1]);
  if (optind >= argc)
    return cli_usage_error ("stop", "expects at least one container");
  for (int i = optind; i < argc; i++)
    {
      char id[CTR_ID_LEN + 1];
      struct focker_err *err = NULL;
      if (resolve_or_fail ("stop", argv[i], id) < 0)
        {
          rc = 1;
          continue;
        }
      if (runtime_running (id))
        {
          container_kill (g.root, id, stop_signal (id), false, &err);
          focker_err_free (err);
          err = NULL;
          if (!wait_stopped (id, secs * 1000))
            {
              container_kill (g.root, id, SIGKILL, true, &err);
              focker_err_free (err);
              wait_stopped (id, 10000);
            }
        }
      wait_recorded (id, 5000);
      printf ("%s\n", argv[i]);
    }
  return rc;
}

int
cmd_user_kill (const char *id, int sig)
{
  struct focker_err *err = NULL;

  if (!runtime_running (id))
    return cli_usage_error ("kill", "container %.12s is not running", id);
  return container_kill (g.root, id, sig, false, &err) < 0 ? cli_fail (err) : 0;
}

int
cmd_rm (int argc, char **argv)
{
  static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
                                        { "volumes", no_argument, NULL, 'v' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  bool force = false;
  int c, rc = 0;

  opterr = 0;
  while ((c = getopt_long (argc, argv, ":fvh", opts, NULL)) != -1)
    if (c == 'f')
      force = true;
    else if (c == 'v')
      ; /* no anonymous volumes exist: -v has nothing more to remove */
    else if (c == 'h')
      {
        printf ("usage: focker rm [-f] [-v] NAME...\n");
        return 0;
      }
    else
      return cli_usage_error ("rm", "unknown option %s", argv[optind - 1]);
  if (optind >= argc)
    return cli_usage_error ("rm", "expects at least one container");
  for (int i = optind; i < argc; i++)
    {
      char id[CTR_ID_LEN + 1];
      struct focker_err *err = NULL;
      struct store *s = NULL;
      if (resolve_or_fail ("rm", argv[i], id) < 0 || cli_open_store (&s, false))
        {
          rc = 1;
          continue;
        }
      if (ctr_remove (s, g.root, id, force, &err) < 0)
        rc = cli_fail (err);
      else
        printf ("%s\n", argv[i]);
      store_close (s);
    }
  return rc;
}

int
cmd_wait (int argc, char **argv)
{
  int rc = 0;

  if (argc < 2 || argv[1][0] == '-')
    return cli_usage_error ("wait", "usage: focker wait NAME...");
  for (int i = 1; i < argc; i++)
    {
      char id[CTR_ID_LEN + 1];
      struct ctr_view v;
      if (resolve_or_fail ("wait", argv[i], id) < 0)
        return 1;
      for (;;)
        {
          struct store *s = NULL;
          if (cli_open_store (&s, false))
            return 1;
          view_of (s, id, &v, NULL);
          store_close (s);
          if (v.status == CTR_EXITED || !cli_user_resolve (id, id))
            break;
          struct timespec t = { 0, 50 * 1000 * 1000 };
          nanosleep (&t, NULL);
        }
      printf ("%d\n", v.exit_code);
      rc = v.exit_code < 0 ? 1 : 0;
    }
  return rc;
}

/* ---- logs ---- */

static void
print_log_line (const char *line, bool timestamps)
{
  char *stream = NULL, *time_ = NULL, *text = NULL;

  if (ctr_log_parse (line, &stream, &time_, &text) < 0)
    return;
  FILE *f = strcmp (stream, "stderr") == 0 ? stderr : stdout;
  if (timestamps)
    fprintf (f, "%s ", time_);
  fputs (text, f);
  fflush (f);
  free (stream);
  free (time_);
  free (text);
}

int
cmd_logs (int argc, char **argv)
{
  static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
                                        { "tail", required_argument, NULL, 'n' },
                                        { "timestamps", no_argument, NULL, 't' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  bool follow = false, ts = false;
  long tail = -1;
  char id[CTR_ID_LEN + 1];
  _cleanup_free_ char *path = NULL;
  char *line = NULL;
  size_t cap = 0, nlines = 0, skip = 0;
  FILE *f;
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, ":fn:th", opts, NULL)) != -1)
    if (c == 'f')
      follow = true;
    else if (c == 't')
      ts = true;
    else if (c == 'n')
      {
        char *end;
        tail = strcmp (optarg, "all") == 0 ? -1 : strtol (optarg, &end, 10);
        if (strcmp (optarg, "all") != 0 && (*end || tail < 0))
          return cli_usage_error ("logs", "--tail: not a count: \"%s\"", optarg);
      }
    else if (c == 'h')
      {
        printf ("usage: focker logs [-f] [--tail N] [-t] NAME\n");
        return 0;
      }
    else
      return cli_usage_error ("logs", "unknown option %s", argv[optind - 1]);
  if (optind != argc - 1)
    return cli_usage_error ("logs", "expects one container");
  if (resolve_or_fail ("logs", argv[optind], id) < 0)
    return 1;
  path = xasprintf ("%s/containers/%s/log.json", g.storage_root, id);
  f = fopen (path, "re");
  if (f == NULL && errno != ENOENT)
    return cli_usage_error ("logs", "%s: %s", path, strerror (errno));
  if (f && tail >= 0)
    {
      while (getline (&line, &cap, f) > 0)
        nlines++;
      skip = nlines > (size_t)tail ? nlines - (size_t)tail : 0;
      rewind (f);
    }
  for (;;)
    {
      while (f && getline (&line, &cap, f) > 0)
        {
          if (skip > 0)
            {
              skip--;
              continue;
            }
          print_log_line (line, ts);
        }
      if (!follow)
        break;
      {
        struct store *s = NULL;
        struct focker_err *err = NULL;
        struct ctr_view v = { 0 };
        if (store_open (&s, g.storage_root, false, false, &err) < 0)
          {
            focker_err_free (err);
            break;
          }
        view_of (s, id, &v, NULL);
        store_close (s);
        if (f)
          clearerr (f);
        else
          f = fopen (path, "re");
        if (v.status != CTR_RUNNING && v.status != CTR_UNKNOWN)
          {
            while (f && getline (&line, &cap, f) > 0)
              print_log_line (line, ts);
            break;
          }
        struct timespec t = { 0, 100 * 1000 * 1000 };
        nanosleep (&t, NULL);
      }
    }
  free (line);
  if (f)
    fclose (f);
  return 0;
}

/* ---- inspect ---- */

/* A mount of config.json as inspect shows it, or NULL for those every container has. */
static json_t *
user_mount (json_t *m)
{
  static const char *const ours[]
      = { "/dev", "/dev/shm", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname", NULL };
  const char *type = json_string_value (json_object_get (m, "type"));
  const char *dst = json_string_value (json_object_get (m, "destination"));
  bool rw = true;
  json_t *opt;
  size_t k;

  if (!type || !dst || (strcmp (type, "bind") != 0 && strcmp (type, "tmpfs") != 0))
    return NULL;
  for (const char *const *d = ours; *d; d++)
    if (strcmp (dst, *d) == 0)
      return NULL;
  json_array_foreach (json_object_get (m, "options"), k, opt)
  {
    if (strcmp (json_string_value (opt) ?: "", "ro") == 0)
      rw = false;
  }
  return json_pack ("{s:s,s:O,s:s,s:b}", "Type", type, "Source", json_object_get (m, "source"),
                    "Destination", dst, "RW", rw);
}

int
cmd_user_inspect (const char *id)
{
  struct store *s = NULL;
  struct focker_err *err = NULL;
  void *cj = NULL;
  json_t *st = NULL, *cfg, *state, *mounts;
  struct ctr_view v;
  char *text;

  if (cli_open_store (&s, false))
    return 1;
  if (ctr_read_config (&cj, s, id, &err) < 0)
    {
      store_close (s);
      return cli_fail (err);
    }
  cfg = cj;
  view_of (s, id, &v, &st);
  store_close (s);
  state = json_pack ("{s:s,s:b,s:I,s:i,s:s,s:s}", "Status", status_word (v.status), "Running",
                     v.status == CTR_RUNNING || v.status == CTR_UNKNOWN, "Pid", (json_int_t)v.pid,
                     "ExitCode", v.exit_code, "StartedAt",
                     json_string_value (json_object_get (st, "StartedAt")) ?: "", "FinishedAt",
                     json_string_value (json_object_get (st, "FinishedAt")) ?: "");
  json_object_set_new (cfg, "State", state);
  {
    /* Mounts: the binds the user asked for, as config.json has them */
    _cleanup_free_ char *path
        = xasprintf ("%s/containers/%s/bundle/config.json", g.storage_root, id);
    json_t *spec = json_load_file (path, 0, NULL), *m;
    size_t i;
    mounts = json_array ();
    json_array_foreach (json_object_get (spec, "mounts"), i, m)
    {
      json_t *um = user_mount (m);
      if (um)
        json_array_append_new (mounts, um);
    }
    json_decref (spec);
    json_object_set_new (cfg, "Mounts", mounts);
  }
  text = json_dumps (cfg, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  printf ("[%s]\n", text);
  free (text);
  json_decref (cfg);
  json_decref (st);
  return 0;
}
