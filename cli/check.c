/* check.c: `focker check [--format text|json] [ROOTFS]`: what this host's kernel offers.
 *
 * Prints one line per probe (core/check.c) with its status, what was found and the fix; with
 * ROOTFS (an image's root filesystem directory: there is no image store yet) also what its
 * libc needs from the kernel.  Exit status 1 when something required is missing. */
#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "core/check.h"

static const char *const status_names[] = { "ok", "warn", "missing" };

static void
print_text (const struct check_report *r)
{
  printf ("%-18s %-8s %s\n", "FEATURE", "STATUS", "DETAIL");
  for (size_t i = 0; i < r->n; i++)
    {
      const struct check_item *it = &r->items[i];
      printf ("%-18s %-8s %s%s\n", it->name, status_names[it->status], it->detail,
              it->required ? " [required]" : "");
      if (it->fix && it->status != CHECK_OK)
        printf ("%-18s %-8s fix: %s\n", "", "", it->fix);
    }
  printf ("%s\n", check_report_ok (r) ? "focker can run containers on this host"
                                      : "focker cannot run containers here: see [required]");
}

static void
print_json (const struct check_report *r)
{
  json_t *items = json_array ();
  for (size_t i = 0; i < r->n; i++)
    {
      const struct check_item *it = &r->items[i];
      json_array_append_new (items, json_pack ("{s:s, s:s, s:b, s:s, s:s?}", "name", it->name,
                                               "status", status_names[it->status], "required",
                                               it->required, "detail", it->detail, "fix", it->fix));
    }
  json_t *root = json_pack ("{s:s, s:b, s:o}", "kernel", r->items[0].detail, "ok",
                            check_report_ok (r), "items", items);
  char *s = json_dumps (root, JSON_INDENT (1));
  if (s)
    printf ("%s\n", s);
  free (s);
  json_decref (root);
}

int
cmd_check (int argc, char **argv)
{
  static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *format = "text";
  struct focker_err *err = NULL;
  struct check_report *r = NULL;
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+f:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        format = optarg;
        break;
      case 'h':
        printf ("usage: focker check [--format text|json] [IMAGE-ROOTFS-DIR]\n"
                "what this kernel supports; with a rootfs directory, also what its libc needs\n");
        return 0;
      default:
        return cli_usage_error ("check", "unknown option");
      }
  if (strcmp (format, "text") != 0 && strcmp (format, "json") != 0)
    return cli_usage_error ("check", "--format: text or json, not %s", format);
  if (argc - optind > 1)
    return cli_usage_error ("check", "at most one rootfs directory");
  if (check_host (&r, &err) < 0)
    return cli_fail (err);
  if (optind < argc && check_image (r, argv[optind], &err) < 0)
    {
      check_report_free (r);
      return cli_fail (err);
    }
  if (strcmp (format, "json") == 0)
    print_json (r);
  else
    print_text (r);
  int ok = check_report_ok (r);
  check_report_free (r);
  return ok ? 0 : 1;
}
