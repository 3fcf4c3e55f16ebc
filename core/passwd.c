/* passwd.c: user specs resolved in a container's /etc/passwd and /etc/group (see passwd.h).
 *
 * Both files are colon-separated lines: passwd "name:x:uid:gid:...", group
 * "name:x:gid:member,member".  Lines that do not parse are skipped, as libc skips them. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/passwd.h"
#include "core/rootfs.h"

#define DB_MAX (1 << 20)

/* The file's text (NUL-terminated, malloc'd) or a negative errno. */
static int
db_read (char **out, int rootfd, const char *file)
{
  _cleanup_close_ int fd = rootfs_open_in_root (rootfd, file, O_RDONLY);
  _cleanup_free_ char *text = NULL;
  ssize_t n;

  if (fd < 0)
    return fd;
  text = xmalloc (DB_MAX);
  n = read_all (fd, text, DB_MAX - 1);
  if (n < 0)
    return (int)n;
  text[n] = '\0';
  *out = TAKE_PTR (text);
  return 0;
}

/* Split the line at `*cursor` into its first four fields (cut in place) and advance the
 * cursor; false at the end of the text. */
static bool
db_next (char **cursor, char *f[4])
{
  char *line = *cursor, *nl, *p;

  if (line == NULL || *line == '\0')
    return false;
  nl = strchr (line, '\n');
  if (nl)
    *nl++ = '\0';
  *cursor = nl;
  memset (f, 0, 4 * sizeof *f);
  p = line;
  for (int i = 0; i < 4 && p; i++)
    {
      f[i] = p;
      p = strchr (p, ':');
      if (p)
        *p++ = '\0';
    }
  return true;
}

static bool
numeric (const char *s, unsigned long *v)
{
  char *end;

  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  *v = strtoul (s, &end, 10);
  return *end == '\0' && errno == 0 && *v < 0xffffffffUL;
}

/* The entry of `text` whose name (field 0), or numeric id (field 2) when `by_id`, is `key`:
 * its id, its name and field 3 (passwd: the gid), copied. */
static bool
db_find (const char *text, const char *key, bool by_id, unsigned long *id, char **name, char **f3)
{
  _cleanup_free_ char *copy = xstrdup (text);
  char *cursor = copy, *f[4];
  unsigned long v;

  while (db_next (&cursor, f))
    if (f[2] && numeric (f[2], &v) && strcmp (by_id ? f[2] : f[0], key) == 0)
      {
        *id = v;
        *name = xstrdup (f[0]);
        *f3 = xstrdup (f[3] ? f[3] : "");
        return true;
      }
  return false;
}

/* Every group of /etc/group listing `name` as a member. */
static void
member_groups (struct user_ids *out, const char *text, const char *name)
{
  _cleanup_free_ char *copy = xstrdup (text);
  char *cursor = copy, *f[4];
  unsigned long gid;

  while (db_next (&cursor, f))
    {
      char *save = NULL;
      if (f[3] == NULL || f[2] == NULL || !numeric (f[2], &gid))
        continue;
      for (char *m = strtok_r (f[3], ",", &save); m; m = strtok_r (NULL, ",", &save))
        if (strcmp (m, name) == 0)
          {
            out->sgids = realloc (out->sgids, (out->n_sgids + 1) * sizeof *out->sgids);
            if (out->sgids == NULL)
              abort ();
            out->sgids[out->n_sgids++] = (gid_t)gid;
            break;
          }
    }
}

static int
resolve_group (struct user_ids *out, const char *spec, const char *group, int rootfd,
               struct focker_err **err)
{
  _cleanup_free_ char *text = NULL, *name = NULL, *members = NULL;
  unsigned long gid;
  int r;

  if (numeric (group, &gid))
    {
      out->gid = (gid_t)gid;
      return 0;
    }
  r = db_read (&text, rootfd, "/etc/group");
  if (r < 0)
    return focker_fail (err, r, "user \"%s\": read the container's /etc/group", spec);
  if (!db_find (text, group, false, &gid, &name, &members))
    return focker_fail (err, -ENOENT, "user \"%s\": no group \"%s\" in the container's /etc/group",
                        spec, group);
  out->gid = (gid_t)gid;
  return 0;
}

int
user_resolve (struct user_ids *out, const char *spec, int rootfd, struct focker_err **err)
{
  _cleanup_free_ char *u = xstrdup (spec), *passwd = NULL, *name = NULL, *pw_gid = NULL;
  _cleanup_free_ char *groups = NULL;
  struct user_ids ids = { 0 };
  char *g = strchr (u, ':');
  unsigned long uid = 0, gid = 0;
  bool listed = false, is_num;
  int r;

  if (g)
    *g++ = '\0';
  is_num = *u == '\0' || numeric (u, &uid);
  if (*u)
    {
      r = db_read (&passwd, rootfd, "/etc/passwd");
      if (r < 0 && (r != -ENOENT || !is_num))
        return focker_fail (err, r, "user \"%s\": read the container's /etc/passwd", spec);
      if (r == 0)
        listed = db_find (passwd, u, is_num, &uid, &name, &pw_gid);
      if (!listed && !is_num)
        return focker_fail (err, -ENOENT,
                            "user \"%s\": no such user in the container's /etc/passwd", spec);
    }
  ids.uid = (uid_t)uid;
  if (listed && numeric (pw_gid, &gid))
    ids.gid = (gid_t)gid;
  if (g && *g)
    {
      r = resolve_group (&ids, spec, g, rootfd, err);
      if (r < 0)
        return r;
    }
  else if (listed)
    {
      r = db_read (&groups, rootfd, "/etc/group");
      if (r < 0 && r != -ENOENT)
        return focker_fail (err, r, "user \"%s\": read the container's /etc/group", spec);
      if (r == 0) /* no /etc/group: no supplementary groups */
        member_groups (&ids, groups, name);
    }
  *out = ids;
  return 0;
}

char *
user_name_of (uid_t uid, int rootfd)
{
  _cleanup_free_ char *passwd = NULL, *gid = NULL;
  char key[16], *name = NULL;
  unsigned long id;

  snprintf (key, sizeof key, "%u", (unsigned)uid);
  if (db_read (&passwd, rootfd, "/etc/passwd") == 0)
    db_find (passwd, key, true, &id, &name, &gid);
  return name;
}

void
user_ids_free (struct user_ids *ids)
{
  free (ids->sgids);
  ids->sgids = NULL;
  ids->n_sgids = 0;
}
