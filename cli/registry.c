/* registry.c: `focker pull` and `focker push`: options, credentials (--creds or a
 * docker-style auth file), the helper's path, progress on stderr (redrawn lines on a
 * terminal, plain lines otherwise), then one core call. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "core/registry.h"
#include "core/store.h"

struct reg_cli
{
  const char *platform, *creds, *authfile, *cert_dir;
  bool tls_verify, quiet;
};

enum
{
  OPT_PLATFORM = 256,
  OPT_CREDS,
  OPT_TLS_VERIFY,
  OPT_AUTHFILE,
  OPT_CERT_DIR
};

static const struct option reg_opts_long[] = {
  { "platform", required_argument, NULL, OPT_PLATFORM },
  { "creds", required_argument, NULL, OPT_CREDS },
  { "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
  { "authfile", required_argument, NULL, OPT_AUTHFILE },
  { "cert-dir", required_argument, NULL, OPT_CERT_DIR },
  { "quiet", no_argument, NULL, 'q' },
  { NULL, 0, NULL, 0 },
};

static int
parse_reg (int argc, char **argv, const char *cmd, struct reg_cli *o, int nargs)
{
  int c;

  o->tls_verify = true;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:q", reg_opts_long, NULL)) != -1)
    switch (c)
      {
      case OPT_PLATFORM:
        if (strcmp (cmd, "pull") != 0)
          return cli_usage_error (cmd, "--platform is for pull");
        o->platform = optarg;
        break;
      case OPT_CREDS:
        o->creds = optarg;
        break;
      case OPT_AUTHFILE:
        o->authfile = optarg;
        break;
      case OPT_CERT_DIR:
        o->cert_dir = optarg;
        break;
      case OPT_TLS_VERIFY:
        if (optarg == NULL || strcmp (optarg, "true") == 0)
          o->tls_verify = true;
        else if (strcmp (optarg, "false") == 0)
          o->tls_verify = false;
        else
          return cli_usage_error (cmd, "--tls-verify: \"%s\" is not true or false", optarg);
        break;
      case 'q':
        o->quiet = true;
        break;
      case ':':
        return cli_usage_error (cmd, "option %s needs a value", argv[optind - 1]);
      default:
        return cli_usage_error (cmd, "unknown option %s", argv[optind - 1]);
      }
  if (argc - optind != nargs)
    return cli_usage_error (cmd, "usage: focker %s",
                            nargs == 1 ? "pull [--platform OS/ARCH[/VARIANT]] "
                                         "[--creds USER:PASS] "
                                         "[--cert-dir DIR] [--tls-verify=false] REF"
                                       : "push [--creds USER:PASS] "
                                         "[--cert-dir DIR] [--tls-verify=false] IMAGE REF");
  return 0;
}

/* --creds, else the first auth file with an entry for the registry. */
static int
find_creds (const struct reg_cli *o, const char *ref, char **user, char **pass)
{
  struct focker_err *err = NULL;
  struct reg_ref r;
  char *paths[4] = { NULL };
  size_t n = 0;
  int ret = 0;

  if (o->creds)
    {
      const char *colon = strchr (o->creds, ':');
      if (colon == NULL || colon == o->creds)
        return cli_usage_error (NULL, "--creds: not USER:PASSWORD");
      *user = strndup (o->creds, (size_t)(colon - o->creds));
      *pass = strdup (colon + 1);
      return 0;
    }
  if (reg_ref_parse (&r, ref, &err) < 0)
    return cli_fail (err);
  if (o->authfile)
    paths[n++] = strdup (o->authfile);
  else
    {
      const char *env = getenv ("REGISTRY_AUTH_FILE"), *xdg = getenv ("XDG_RUNTIME_DIR"),
                 *home = getenv ("HOME");
      if (env && *env)
        paths[n++] = strdup (env);
      if (xdg && *xdg && asprintf (&paths[n], "%s/containers/auth.json", xdg) > 0)
        n++;
      if (home && *home && asprintf (&paths[n], "%s/.docker/config.json", home) > 0)
        n++;
    }
  for (size_t i = 0; i < n; i++)
    {
      if (ret == 0 && *user == NULL)
        {
          int rr = reg_creds_from_file (user, pass, paths[i], r.registry, &err);
          if (rr < 0 && rr != -ENOENT)
            ret = cli_fail (err);
        }
      free (paths[i]);
    }
  reg_ref_free (&r);
  return ret;
}

/* ---- progress ---- */

struct bar
{
  char digest[20];
  uint64_t done, total;
  const char *state;
};

struct progress
{
  bool tty;
  struct bar *bars;
  size_t n, drawn;
  const char *verb;
};

static void
draw (struct progress *p)
{
  if (p->drawn)
    fprintf (stderr, "\033[%zuA", p->drawn);
  for (size_t i = 0; i < p->n; i++)
    {
      struct bar *b = &p->bars[i];
      int pct = b->total ? (int)(b->done * 100 / b->total) : 100;
      char line[40];
      int w = pct * 30 / 100;
      memset (line, '#', (size_t)w);
      memset (line + w, '.', (size_t)(30 - w));
      line[30] = '\0';
      char done[32], total[32];
      cli_print_size (b->done, done, sizeof done);
      cli_print_size (b->total, total, sizeof total);
      fprintf (stderr, "\r%s [%s] %3d%% %s/%s %s\033[K\n", b->digest, line, pct, done, total,
               b->state);
    }
  p->drawn = p->n;
  fflush (stderr);
}

static void
on_progress (void *arg, const struct reg_progress *ev)
{
  struct progress *p = arg;
  struct bar *b = NULL;
  char short_digest[20];

  snprintf (short_digest, sizeof short_digest, "%.19s", ev->digest);
  for (size_t i = 0; i < p->n; i++)
    if (strcmp (p->bars[i].digest, short_digest) == 0)
      b = &p->bars[i];
  if (b == NULL)
    {
      p->bars = realloc (p->bars, (p->n + 1) * sizeof *p->bars);
      if (p->bars == NULL)
        abort ();
      b = &p->bars[p->n++];
      memset (b, 0, sizeof *b);
      memcpy (b->digest, short_digest, sizeof short_digest);
    }
  b->done = ev->done;
  b->total = ev->total;
  b->state = ev->what == REG_PROGRESS_EXISTS ? "exists"
             : ev->what == REG_PROGRESS_DONE ? "done"
                                             : p->verb;
  if (p->tty)
    draw (p);
  else if (ev->what != REG_PROGRESS_BYTES)
    {
      char total[32];
      cli_print_size (ev->total, total, sizeof total);
      fprintf (stderr, "%s %s (%s)\n", ev->digest, b->state, total);
    }
}

/* ---- commands ---- */

static int
setup (struct reg_cli *c, const char *ref, struct reg_opts *o, struct progress *p, const char *verb,
       char **user, char **pass)
{
  struct focker_err *err = NULL;
  char self[PATH_MAX], *helper = NULL;
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);

  self[n > 0 ? n : 0] = '\0';
  if (find_creds (c, ref, user, pass))
    return 1;
  if (reg_find_helper (&helper, getenv ("FOCKER_FETCH"), self, FOCKER_FETCH_PATH, &err) < 0)
    return cli_fail (err);
  memset (o, 0, sizeof *o);
  memset (p, 0, sizeof *p);
  o->t = reg_proc_new (helper);
  free (helper);
  o->user = *user;
  o->pass = *pass;
  o->platform = c->platform;
  o->tls_verify = c->tls_verify;
  o->cert_dir = c->cert_dir;
  p->tty = isatty (2);
  p->verb = verb;
  if (!c->quiet)
    {
      o->progress = on_progress;
      o->progress_arg = p;
    }
  return 0;
}

/* pull or push: set up, open the store, one core call, clean up; 0 or 1 */
static int
run (struct reg_cli *c, const char *ref, const char *verb,
     int (*call) (struct store *s, const struct reg_opts *o, void *arg, struct focker_err **err),
     void *arg)
{
  struct reg_opts o;
  struct progress p;
  struct focker_err *err = NULL;
  struct store *s;
  char *user = NULL, *pass = NULL;
  int r;

  if (setup (c, ref, &o, &p, verb, &user, &pass))
    return 1;
  r = store_open (&s, g.storage_root, true, false, &err);
  if (r == 0)
    {
      r = call (s, &o, arg, &err);
      store_close (s);
    }
  reg_proc_free (o.t);
  free (p.bars);
  free (user);
  free (pass);
  return r < 0 ? cli_fail (err) : 0;
}

struct pull_args
{
  const char *ref;
  char *name, id[DIGEST_LEN + 1];
};

static int
do_pull (struct store *s, const struct reg_opts *o, void *arg, struct focker_err **err)
{
  struct pull_args *a = arg;
  return registry_pull (s, a->ref, o, &a->name, a->id, err);
}

/* `focker pull [--platform P] [--creds U:P] [--tls-verify=false] REF` */
int
cmd_pull (int argc, char **argv)
{
  struct reg_cli c = { 0 };
  struct pull_args a = { 0 };

  if (parse_reg (argc, argv, "pull", &c, 1) || cli_images_need_root ("pull"))
    return 1;
  a.ref = argv[optind];
  if (run (&c, a.ref, "fetching", do_pull, &a))
    return 1;
  if (!c.quiet)
    fprintf (stderr, "pulled %s\n", a.name);
  printf ("%s\n", a.id);
  free (a.name);
  return 0;
}

struct push_args
{
  const char *image, *dest;
  char digest[DIGEST_LEN + 1];
};

static int
do_push (struct store *s, const struct reg_opts *o, void *arg, struct focker_err **err)
{
  struct push_args *a = arg;
  return registry_push (s, a->image, a->dest, o, a->digest, err);
}

/* `focker push [--creds U:P] [--tls-verify=false] IMAGE REF` */
int
cmd_push (int argc, char **argv)
{
  struct reg_cli c = { 0 };
  struct push_args a = { 0 };

  if (parse_reg (argc, argv, "push", &c, 2))
    return 1;
  a.image = argv[optind];
  a.dest = argv[optind + 1];
  if (run (&c, a.dest, "uploading", do_push, &a))
    return 1;
  printf ("%s\n", a.digest);
  return 0;
}
