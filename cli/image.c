/* image.c: the image subcommands: import, load, save, images, inspect, rmi, gc, bundle,
 * unbundle, image build-default.  Each opens the store (--storage-root, default
 * /var/lib/focker), makes one core call and prints its result. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/ctr.h"
#include "core/image.h"
#include "core/image_archive.h"
#include "core/strv.h"
#include "core/store.h"

int
cli_open_store (struct store **s, bool exclusive)
{
  struct focker_err *err = NULL;

  if (store_open (s, g.storage_root, true, exclusive, &err) < 0)
    return cli_fail (err);
  return 0;
}

/* A layer is unpacked with its files' owners and an image's rootfs is an overlay mounted on
 * the host: neither is allowed to a plain user outside a user namespace (rootless podman
 * does both inside one, with its subordinate ids; focker does not yet).  One line saying
 * so, before the store is opened, rather than the chown or mount error met half-way. */
int
cli_images_need_root (const char *cmd)
{
  if (!g.rootless)
    return 0;
  cli_usage_error (cmd, "running rootless, images are not supported (unpacking layers and "
                        "mounting their rootfs need root): run an OCI bundle made with "
                        "`focker spec --rootless` (focker run --bundle DIR ID)");
  return 1;
}

/* Options common to the simple commands: only --help and those listed. */
static int
parse (int argc, char **argv, const char *cmd, const struct option *opts, const char *shortopts,
       int (*on) (int c, void *arg), void *arg, int min_args, int max_args)
{
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, shortopts, opts, NULL)) != -1)
    {
      if (c == '?')
        return cli_usage_error (cmd, "unknown option %s", argv[optind - 1]);
      if (c == ':')
        return cli_usage_error (cmd, "option %s needs a value", argv[optind - 1]);
      if (on == NULL || on (c, arg) != 0)
        return cli_usage_error (cmd, "bad option %s", argv[optind - 1]);
    }
  if (argc - optind < min_args || (max_args >= 0 && argc - optind > max_args))
    return cli_usage_error (cmd, "expected %d%s argument%s, got %d", min_args,
                            max_args == min_args ? "" : " or more", min_args == 1 ? "" : "s",
                            argc - optind);
  return 0;
}

static const struct option no_opts[] = { { NULL, 0, NULL, 0 } };

int
cmd_import (int argc, char **argv)
{
  struct store *s;
  struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  int r;

  if (parse (argc, argv, "import", no_opts, "+", NULL, NULL, 2, 2)
      || cli_images_need_root ("import") || cli_open_store (&s, false))
    return 1;
  r = image_import (s, AT_FDCWD, argv[optind], argv[optind + 1], id, &err);
  store_close (s);
  if (r < 0)
    return cli_fail (err);
  printf ("%s\n", id);
  return 0;
}

struct images_args
{
  bool json, quiet;
};

static int
images_opt (int c, void *arg)
{
  struct images_args *a = arg;

  if (c == 'q')
    a->quiet = true;
  else if (c == 'f' && strcmp (optarg, "json") == 0)
    a->json = true;
  else if (c != 'f' || strcmp (optarg, "table") != 0)
    return -1;
  return 0;
}

int
cmd_images (int argc, char **argv)
{
  static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
                                        { "quiet", no_argument, NULL, 'q' },
                                        { NULL, 0, NULL, 0 } };
  struct images_args a = { 0 };
  struct store *s;
  struct focker_err *err = NULL;
  char *text = NULL;
  json_t *list, *e;
  size_t i;
  int r;

  if (parse (argc, argv, "images", opts, "+:qf:", images_opt, &a, 0, 0)
      || cli_open_store (&s, false))
    return 1;
  r = image_list_json (&text, s, &err);
  store_close (s);
  if (r < 0)
    return cli_fail (err);
  if (a.json)
    {
      printf ("%s\n", text);
      free (text);
      return 0;
    }
  list = json_loads (text, 0, NULL);
  free (text);
  if (!a.quiet)
    printf ("%-40s %-12s %-10s %s\n", "NAME", "ID", "SIZE", "CREATED");
  json_array_foreach (list, i, e)
  {
    const char *id = json_string_value (json_object_get (e, "id"));
    char size[32];
    cli_print_size ((uint64_t)json_integer_value (json_object_get (e, "size")), size, sizeof size);
    if (a.quiet)
      printf ("%s\n", json_string_value (json_object_get (e, "name")));
    else
      printf ("%-40s %-12.12s %-10s %s\n", json_string_value (json_object_get (e, "name")), id + 7,
              size, json_string_value (json_object_get (e, "created")) ?: "");
  }
  json_decref (list);
  return 0;
}

int
cmd_inspect (int argc, char **argv)
{
  struct store *s;
  struct focker_err *err = NULL;
  char *text = NULL;
  int r;

  char id[CTR_ID_LEN + 1];

  if (parse (argc, argv, "inspect", no_opts, "+", NULL, NULL, 1, 1))
    return 1;
  /* a container by that name or id prefix first, as docker does */
  if (cli_user_resolve (argv[optind], id))
    return cmd_user_inspect (id);
  if (cli_open_store (&s, false))
    return 1;
  r = image_inspect_json (&text, s, argv[optind], &err);
  store_close (s);
  if (r < 0)
    return cli_fail (err);
  printf ("%s\n", text);
  free (text);
  return 0;
}

int
cmd_rmi (int argc, char **argv)
{
  struct store *s;
  int status = 0;

  if (parse (argc, argv, "rmi", no_opts, "+", NULL, NULL, 1, -1) || cli_open_store (&s, false))
    return 1;
  for (int i = optind; i < argc; i++)
    {
      struct focker_err *err = NULL;
      if (image_remove (s, argv[i], &err) < 0)
        status = cli_fail (err);
      else
        printf ("untagged %s\n", argv[i]);
    }
  store_close (s);
  return status;
}

int
cmd_gc (int argc, char **argv)
{
  struct store *s;
  struct focker_err *err = NULL;
  struct gc_report rep;
  char size[32];
  int r;

  if (parse (argc, argv, "gc", no_opts, "+", NULL, NULL, 0, 0) || cli_open_store (&s, true))
    return 1;
  r = store_gc (s, &rep, &err);
  store_close (s);
  if (r < 0)
    return cli_fail (err);
  cli_print_size (rep.bytes, size, sizeof size);
  printf ("removed %zu blobs, %zu layers, %zu leftovers (%s)\n", rep.blobs, rep.layers, rep.tmps,
          size);
  return 0;
}

/* An absolute form of a directory argument (the directory need not exist yet). */
static char *
absolute (const char *path)
{
  char cwd[PATH_MAX];
  char *res;
  size_t n;

  if (path[0] == '/')
    res = strdup (path);
  else if (getcwd (cwd, sizeof cwd) == NULL)
    return NULL;
  else if (asprintf (&res, "%s/%s", strcmp (cwd, "/") == 0 ? "" : cwd, path) < 0)
    return NULL;
  n = strlen (res);
  while (n > 1 && res[n - 1] == '/')
    res[--n] = '\0';
  return res;
}

static int
bundle_opt (int c, void *arg)
{
  if (c != 'c')
    return -1;
  *(bool *)arg = true;
  return 0;
}

int
cmd_bundle (int argc, char **argv)
{
  static const struct option opts[] = { { "copy", no_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
  struct bundle_opts o = { 0 };
  struct store *s;
  struct focker_err *err = NULL;
  char *dir;
  bool copied = false;
  int r;

  if (parse (argc, argv, "bundle", opts, "+", bundle_opt, &o.copy, 2, 2)
      || cli_images_need_root ("bundle"))
    return 1;
  dir = absolute (argv[optind + 1]);
  if (dir == NULL)
    return cli_usage_error ("bundle", "cannot make %s absolute", argv[optind + 1]);
  if (cli_open_store (&s, false))
    {
      free (dir);
      return 1;
    }
  o.image = argv[optind];
  o.dir = dir;
  r = image_bundle (s, &o, &copied, &err);
  store_close (s);
  if (r < 0)
    {
      free (dir);
      return cli_fail (err);
    }
  if (copied && !o.copy)
    cli_log ("warning", "overlayfs cannot be mounted here: %s/rootfs is a copy of the layers", dir);
  printf ("%s\n", dir);
  free (dir);
  return 0;
}

int
cmd_unbundle (int argc, char **argv)
{
  struct store *s;
  struct focker_err *err = NULL;
  char *dir;
  int r;

  if (parse (argc, argv, "unbundle", no_opts, "+", NULL, NULL, 1, 1))
    return 1;
  dir = absolute (argv[optind]);
  if (dir == NULL || cli_open_store (&s, false))
    {
      free (dir);
      return 1;
    }
  r = image_unbundle (s, dir, &err);
  store_close (s);
  free (dir);
  return r < 0 ? cli_fail (err) : 0;
}

static int
busybox_opt (int c, void *arg)
{
  if (c != 'b')
    return -1;
  *(const char **)arg = optarg;
  return 0;
}

/* `focker image build-default [--busybox PATH] [NAME]` */
int
cmd_image (int argc, char **argv)
{
  static const struct option opts[]
      = { { "busybox", required_argument, NULL, 'b' }, { NULL, 0, NULL, 0 } };
  const char *busybox = "/bin/busybox";
  struct store *s;
  struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  int r;

  if (argc < 2 || strcmp (argv[1], "build-default") != 0)
    return cli_usage_error ("image", "usage: focker image build-default [--busybox PATH] [NAME]");
  if (parse (argc - 1, argv + 1, "image build-default", opts, "+:", busybox_opt, &busybox, 0, 1)
      || cli_images_need_root ("image build-default"))
    return 1;
  if (cli_open_store (&s, false))
    return 1;
  r = image_build_default (s, busybox, optind < argc - 1 ? argv[optind + 1] : NULL, id, &err);
  store_close (s);
  if (r < 0)
    return cli_fail (err);
  printf ("%s\n", id);
  return 0;
}

static int
input_opt (int c, void *arg)
{
  if (c != 'i')
    return -1;
  *(const char **)arg = optarg;
  return 0;
}

/* `focker load [-i] [PATH]`: an OCI layout directory, an oci-archive or a docker save archive;
 * no PATH or "-": an archive on stdin. */
int
cmd_load (int argc, char **argv)
{
  static const struct option opts[]
      = { { "input", required_argument, NULL, 'i' }, { NULL, 0, NULL, 0 } };
  const char *input = NULL;
  struct store *s;
  struct focker_err *err = NULL;
  char **names = NULL;
  int r;

  if (parse (argc, argv, "load", opts, "+:i:", input_opt, &input, 0, 1)
      || cli_images_need_root ("load"))
    return 1;
  if (input == NULL && optind < argc)
    input = argv[optind];
  if ((input == NULL || strcmp (input, "-") == 0) && isatty (0))
    return cli_usage_error ("load", "no input: give [-i] PATH, or an archive on stdin");
  if (cli_open_store (&s, false))
    return 1;
  if (input == NULL || strcmp (input, "-") == 0)
    r = image_load_fd (s, 0, &names, &err);
  else
    r = image_load (s, input, &names, &err);
  store_close (s);
  if (r < 0)
    return cli_fail (err);
  for (char **n = names; *n; n++)
    printf ("loaded %s\n", *n);
  strv_free (names);
  return 0;
}

static int
output_opt (int c, void *arg)
{
  if (c != 'o')
    return -1;
  *(const char **)arg = optarg;
  return 0;
}

/* `focker save IMAGE [-o FILE]`: an oci-archive; no -o or "-o -": to stdout (not a terminal). */
int
cmd_save (int argc, char **argv)
{
  static const struct option opts[]
      = { { "output", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 } };
  const char *output = NULL;
  struct store *s;
  struct focker_err *err = NULL;
  int r;

  /* options may follow the image name (docker's habit) */
  if (parse (argc, argv, "save", opts, ":o:", output_opt, &output, 1, 1))
    return 1;
  if ((output == NULL || strcmp (output, "-") == 0) && isatty (1))
    return cli_usage_error ("save", "refusing to write an archive to a terminal: give -o FILE "
                                    "or redirect stdout");
  if (cli_open_store (&s, false))
    return 1;
  if (output == NULL || strcmp (output, "-") == 0)
    r = image_save_fd (s, argv[optind], 1, &err);
  else
    r = image_save (s, argv[optind], output, &err);
  store_close (s);
  return r < 0 ? cli_fail (err) : 0;
}
