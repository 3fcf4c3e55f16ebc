/* image_bundle.c: an image -> an OCI bundle (config.json + rootfs), and back.
 *
 * The rootfs is an overlay of the image's unpacked layers (lowerdirs, top first) with the
 * bundle's own upper/ and work/, mounted on the host at DIR/rootfs so that any runtime (focker,
 * crun, runc) runs the bundle.  Where overlay cannot be mounted the layers are copied into
 * DIR/rootfs, bottom first, applying whiteouts and opaque directories as overlayfs would.
 * A record in the store's bundles/ lists the layers the bundle uses, so gc keeps them while
 * the bundle exists. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/passwd.h"
#include "core/rootfs.h"
#include "core/spec.h"
#include "core/strv.h"

/* ---- config.json ---- */

/* Image config "User" (docker's forms, see passwd.h) -> process.user. */
static int
resolve_user (json_t *user, const char *spec, int rootfd, struct focker_err **err)
{
  struct user_ids ids;
  int r = user_resolve (&ids, spec, rootfd, err);

  if (r < 0)
    return r;
  json_object_set_new (user, "uid", json_integer (ids.uid));
  json_object_set_new (user, "gid", json_integer (ids.gid));
  if (ids.n_sgids)
    {
      json_t *gids = json_array ();
      for (size_t i = 0; i < ids.n_sgids; i++)
        json_array_append_new (gids, json_integer (ids.sgids[i]));
      json_object_set_new (user, "additionalGids", gids);
    }
  user_ids_free (&ids);
  return 0;
}

static json_t *
merge_env (json_t *defaults, json_t *image_env)
{
  json_t *env = json_array (), *e;
  size_t i, j;

  json_array_foreach (defaults, i, e)
  {
    const char *kv = json_string_value (e);
    const char *eq = kv ? strchr (kv, '=') : NULL;
    bool overridden = false;
    json_t *ie;
    if (eq == NULL)
      continue;
    json_array_foreach (image_env, j, ie)
    {
      const char *v = json_string_value (ie);
      if (v && strncmp (v, kv, (size_t)(eq - kv + 1)) == 0)
        overridden = true;
    }
    if (!overridden)
      json_array_append (env, e);
  }
  json_array_foreach (image_env, i, e) if (json_is_string (e)) json_array_append (env, e);
  return env;
}

int
image_spec_json (char **out, const void *image_config, int rootfd, struct focker_err **err)
{
  _cleanup_free_ char *def = spec_default_json (false);
  _cleanup_json_ json_t *spec = json_loads (def, 0, NULL);
  json_t *ic = (json_t *)image_config;
  json_t *proc = json_object_get (spec, "process");
  json_t *args = json_array (), *e, *labels, *annots;
  const char *s;
  size_t i;
  int r;

  if (spec == NULL || proc == NULL)
    {
      json_decref (args);
      return focker_fail (err, -EINVAL, "default config.json does not parse");
    }
  json_array_foreach (json_object_get (ic, "Entrypoint"), i, e) if (json_is_string (e))
      json_array_append (args, e);
  json_array_foreach (json_object_get (ic, "Cmd"), i, e) if (json_is_string (e))
      json_array_append (args, e);
  if (json_array_size (args) == 0)
    {
      json_decref (args);
      return focker_fail (err, -EINVAL, "image config: no Entrypoint and no Cmd: nothing to run");
    }
  json_object_set_new (proc, "args", args);
  json_object_set_new (proc, "terminal", json_false ());
  json_object_set_new (proc, "env",
                       merge_env (json_object_get (proc, "env"), json_object_get (ic, "Env")));
  s = json_string_value (json_object_get (ic, "WorkingDir"));
  json_object_set_new (proc, "cwd", json_string (s && *s == '/' ? s : "/"));
  s = json_string_value (json_object_get (ic, "User"));
  if (s && *s && (r = resolve_user (json_object_get (proc, "user"), s, rootfd, err)) < 0)
    return r;
  json_object_set_new (json_object_get (spec, "root"), "readonly", json_false ());
  annots = json_object ();
  labels = json_object_get (ic, "Labels");
  if (json_is_object (labels))
    json_object_update (annots, labels);
  s = json_string_value (json_object_get (ic, "StopSignal"));
  if (s)
    json_object_set_new (annots, "org.opencontainers.image.stopSignal", json_string (s));
  if (json_object_size (annots))
    json_object_set_new (spec, "annotations", annots);
  else
    json_decref (annots);
  *out = json_dumps (spec, JSON_INDENT (2));
  return 0;
}

/* ---- the copy fallback ---- */

static int copy_tree (int src, int dst, struct focker_err **err);

static bool
is_opaque (int fd)
{
  char v[2] = { 0 };
  return sys_fgetxattr (fd, "trusted.overlay.opaque", v, 1) == 1 && v[0] == 'y';
}

/* Owner, mode and times from st: through fd when >= 0, else by name (not following). */
static int
copy_meta (int dst, const char *name, const struct stat *st, int fd)
{
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  int r;

  if (fd >= 0)
    {
      r = sys_fchownat (fd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH);
      if (r == 0)
        r = sys_fchmod (fd, st->st_mode & 07777);
      return r == 0 ? sys_utimensat (fd, NULL, ts, 0) : r;
    }
  r = sys_fchownat (dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
  if (r == 0 && !S_ISLNK (st->st_mode))
    r = sys_fchmodat (dst, name, st->st_mode & 07777, 0);
  return r == 0 ? sys_utimensat (dst, name, ts, AT_SYMLINK_NOFOLLOW) : r;
}

static int
copy_file (int src, int dst, const char *name, const struct stat *st)
{
  _cleanup_close_ int in = sys_openat (src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  _cleanup_close_ int outfd = -1;
  char buf[65536];

  if (in < 0)
    return in;
  outfd = sys_openat (dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (outfd < 0)
    return outfd;
  for (;;)
    {
      ssize_t n = sys_read (in, buf, sizeof buf);
      if (n <= 0)
        {
          if (n < 0)
            return (int)n;
          break;
        }
      int r = write_all (outfd, buf, (size_t)n);
      if (r < 0)
        return r;
    }
  return copy_meta (dst, name, st, outfd);
}

static int
copy_dir (int src, int dst, const char *name, const struct stat *st, struct focker_err **err)
{
  const int dflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  _cleanup_close_ int s = sys_openat (src, name, dflags, 0), d = -1;
  struct stat dst_st;
  int r;

  if (s < 0)
    return focker_fail (err, s, "copy %s", name);
  r = sys_fstatat (dst, name, &dst_st, AT_SYMLINK_NOFOLLOW);
  if (r == 0 && (!S_ISDIR (dst_st.st_mode) || is_opaque (s)))
    {
      r = rm_rf_at (dst, name); /* replaced, or an opaque directory hides the lower one */
      if (r < 0)
        return focker_fail (err, r, "copy: remove %s", name);
      r = -ENOENT;
    }
  if (r == -ENOENT && (r = sys_mkdirat (dst, name, 0700)) < 0)
    return focker_fail (err, r, "copy: mkdir %s", name);
  d = sys_openat (dst, name, dflags, 0);
  if (d < 0)
    return focker_fail (err, d, "copy: open %s", name);
  r = copy_tree (s, d, err);
  if (r < 0)
    return focker_err_prefix (err, "%s", name);
  r = copy_meta (dst, name, st, d);
  return r < 0 ? focker_fail (err, r, "copy: %s: owner, mode, times", name) : 0;
}

/* Apply one layer directory onto dst: whiteouts delete, opaque directories replace. */
static int
copy_tree (int src, int dst, struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  int r = list_dir_at (&names, src, ".", err);

  for (char **n = names; r == 0 && *n; n++)
    {
      struct stat st;
      r = sys_fstatat (src, *n, &st, AT_SYMLINK_NOFOLLOW);
      if (r < 0)
        return focker_fail (err, r, "copy: stat %s", *n);
      if (S_ISCHR (st.st_mode) && st.st_rdev == 0)
        {
          r = rm_rf_at (dst, *n); /* a whiteout */
          if (r < 0)
            return focker_fail (err, r, "copy: whiteout %s", *n);
          continue;
        }
      if (S_ISDIR (st.st_mode))
        {
          r = copy_dir (src, dst, *n, &st, err);
          continue;
        }
      r = rm_rf_at (dst, *n);
      if (r == 0 && S_ISREG (st.st_mode))
        r = copy_file (src, dst, *n, &st);
      else if (r == 0 && S_ISLNK (st.st_mode))
        {
          char target[4097];
          ssize_t len = sys_readlinkat (src, *n, target, sizeof target - 1);
          r = len < 0 ? (int)len : 0;
          if (r == 0)
            {
              target[len] = '\0';
              r = sys_symlinkat (target, dst, *n);
            }
          if (r == 0)
            r = copy_meta (dst, *n, &st, -1);
        }
      else if (r == 0 && !S_ISSOCK (st.st_mode))
        {
          r = sys_mknodat (dst, *n, st.st_mode, st.st_rdev);
          if (r == 0)
            r = copy_meta (dst, *n, &st, -1);
        }
      if (r < 0)
        return focker_fail (err, r, "copy %s", *n);
    }
  return r;
}

static int
copy_layers (struct store *s, const struct image *img, int rootfd, struct focker_err **err)
{
  for (size_t i = 0; i < img->n_layers; i++)
    {
      _cleanup_free_ char *path = store_layer_path (s, img->diff_ids[i]);
      _cleanup_close_ int lfd = open_dir_at (AT_FDCWD, path, err);
      int r;
      if (lfd < 0)
        return lfd;
      r = copy_tree (lfd, rootfd, err);
      if (r < 0)
        return focker_err_prefix (err, "copy layer %s", img->diff_ids[i]);
    }
  return 0;
}

/* ---- bundles ---- */

static char *
record_name (const char *dir)
{
  char d[DIGEST_LEN + 1];

  digest_buffer (dir, strlen (dir), d);
  return xasprintf ("bundles/%.32s.json", DIGEST_HEX (d));
}

static int
mount_overlay (struct store *s, const struct image *img, const char *dir, struct focker_err **err)
{
  _cleanup_free_ char *lower = xstrdup (""), *opts = NULL, *target = NULL;

  if (strpbrk (dir, ",:\\") != NULL || strpbrk (s->root, ",:\\") != NULL)
    return focker_fail (err, -EINVAL,
                        "bundle %s: overlay options cannot hold ',' ':' or '\\' (in it or in "
                        "the store %s)",
                        dir, s->root);
  for (size_t i = img->n_layers; i-- > 0;)
    {
      _cleanup_free_ char *p = store_layer_path (s, img->diff_ids[i]);
      char *n = xasprintf ("%s%s%s", lower, *lower ? ":" : "", p);
      free (lower);
      lower = n;
    }
  if (img->n_layers == 0)
    {
      free (lower);
      lower = xasprintf ("%s/empty", dir);
    }
  opts = xasprintf ("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, dir, dir);
  if (strlen (opts) >= 4096)
    return focker_fail (err, -E2BIG, "bundle %s: %zu layers are too many for one overlay mount",
                        dir, img->n_layers);
  target = xasprintf ("%s/rootfs", dir);
  int r = sys_mount ("overlay", target, "overlay", 0, opts);
  return r < 0 ? focker_fail (err, r, "mount overlay on %s", target) : 0;
}

static void
bundle_cleanup (const char *dir, bool mounted, bool made_dir)
{
  _cleanup_close_ int dfd = sys_openat (AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  _cleanup_free_ char *rootfs = xasprintf ("%s/rootfs", dir);

  if (mounted)
    sys_umount2 (rootfs, MNT_DETACH);
  if (dfd >= 0)
    for (const char *const *n = (const char *const[]){ "config.json", "rootfs", "upper", "work",
                                                       "empty", ".config.json.tmp", NULL };
         *n; n++)
      rm_rf_at (dfd, *n);
  if (made_dir)
    sys_unlinkat (AT_FDCWD, dir, AT_REMOVEDIR);
}

/* Written before anything is mounted or copied: while DIR/rootfs exists, gc keeps the layers
 * it lists, even after a crash half-way through the bundle. */
static int
bundle_record (struct store *s, const struct image *img, const char *dir, struct focker_err **err)
{
  _cleanup_free_ char *name = record_name (dir), *text = NULL;
  _cleanup_json_ json_t *rec = NULL;
  json_t *layers = json_array ();

  for (size_t i = 0; i < img->n_layers; i++)
    json_array_append_new (layers, json_string (img->diff_ids[i]));
  rec = json_pack ("{s:s, s:s, s:s?, s:o}", "bundle", dir, "image", img->id, "name", img->name,
                   "layers", layers);
  text = json_dumps (rec, JSON_COMPACT);
  return write_file_atomic_at (s->fd, name, text, strlen (text), 0600, true, err);
}

static int
bundle_fill (struct store *s, const struct bundle_opts *o, struct image *img, bool *copied,
             bool *mounted, struct focker_err **err)
{
  _cleanup_close_ int dfd = -1, rootfd = -1;
  _cleanup_free_ char *spec = NULL;
  _cleanup_json_ json_t *ic = NULL;
  int r;

  dfd = open_dir_at (AT_FDCWD, o->dir, err);
  if (dfd < 0)
    return dfd;
  r = bundle_record (s, img, o->dir, err);
  if (r < 0)
    return r;
  for (const char *const *n = (const char *const[]){ "rootfs", "upper", "work", NULL }; *n; n++)
    if ((r = sys_mkdirat (dfd, *n, 0755)) < 0)
      return focker_fail (err, r, "mkdir %s/%s", o->dir, *n);
  if (img->n_layers == 0 && (r = sys_mkdirat (dfd, "empty", 0755)) < 0)
    return focker_fail (err, r, "mkdir %s/empty", o->dir);
  *copied = o->copy;
  if (!o->copy)
    {
      struct focker_err *oerr = NULL;
      r = mount_overlay (s, img, o->dir, &oerr);
      if (r == 0)
        *mounted = true;
      else if (r == -ENODEV || r == -EINVAL || r == -EPERM || r == -EOPNOTSUPP)
        {
          /* no overlayfs here (or not on this filesystem): a copy works everywhere */
          focker_err_free (oerr);
          *copied = true;
        }
      else
        {
          *err = oerr;
          return r;
        }
    }
  rootfd = sys_openat (dfd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (rootfd < 0)
    return focker_fail (err, rootfd, "open %s/rootfs", o->dir);
  if (*copied && (r = copy_layers (s, img, rootfd, err)) < 0)
    return r;
  ic = json_object_get (img->config, "config");
  if (o->config_override)
    {
      /* the user's -u, -w, -e, --entrypoint and CMD replace the image's before conversion */
      ic = json_is_object (ic) ? json_deep_copy (ic) : json_object ();
      json_object_update (ic, (json_t *)o->config_override);
    }
  else
    json_incref (ic);
  r = image_spec_json (&spec, ic, rootfd, err);
  if (r < 0)
    return focker_err_prefix (err, "image %s", o->image);
  return write_file_atomic_at (dfd, "config.json", spec, strlen (spec), 0644, false, err);
}

int
image_bundle (struct store *s, const struct bundle_opts *o, bool *copied, struct focker_err **err)
{
  struct image *img = NULL;
  bool made_dir = false, mounted = false;
  int r;

  if (o->dir == NULL || o->dir[0] != '/')
    return focker_fail (err, -EINVAL, "bundle directory must be an absolute path");
  r = store_image_get (&img, s, o->image, err);
  if (r < 0)
    return r;
  for (size_t i = 0; i < img->n_layers && r == 0; i++)
    {
      char diff[DIGEST_LEN + 1];
      r = store_layer_ensure (s, img->layers[i], img->diff_ids[i], diff, err);
    }
  if (r < 0)
    {
      focker_err_prefix (err, "image %s", o->image);
      goto out;
    }
  r = sys_mkdirat (AT_FDCWD, o->dir, 0700);
  if (r == 0)
    made_dir = true;
  else if (r == -EEXIST)
    {
      _cleanup_strv_ char **names = NULL;
      r = list_dir_at (&names, AT_FDCWD, o->dir, err);
      if (r == 0 && names[0] != NULL)
        r = focker_fail (err, -EEXIST, "bundle directory %s: exists and is not empty", o->dir);
    }
  else
    r = focker_fail (err, r, "mkdir %s", o->dir);
  if (r < 0)
    goto out;
  r = bundle_fill (s, o, img, copied, &mounted, err);
  if (r < 0)
    {
      _cleanup_free_ char *rec = record_name (o->dir);
      bundle_cleanup (o->dir, mounted, made_dir);
      sys_unlinkat (s->fd, rec, 0);
    }
out:
  image_free (img);
  return r;
}

int
image_unbundle (struct store *s, const char *dir, struct focker_err **err)
{
  _cleanup_free_ char *rootfs = NULL, *rec = NULL;
  int r;

  if (dir == NULL || dir[0] != '/')
    return focker_fail (err, -EINVAL, "bundle directory must be an absolute path");
  rec = record_name (dir);
  if (!exists_at (s->fd, rec))
    return focker_fail (err, -ENOENT, "bundle %s: not made by focker bundle from this store", dir);
  rootfs = xasprintf ("%s/rootfs", dir);
  r = sys_umount2 (rootfs, 0);
  if (r == -EBUSY)
    return focker_fail (err, r, "bundle %s: its rootfs is in use (a container still runs?)", dir);
  if (r < 0 && r != -EINVAL && r != -ENOENT)
    return focker_fail (err, r, "umount %s", rootfs);
  bundle_cleanup (dir, false, true);
  r = sys_unlinkat (s->fd, rec, 0);
  if (r < 0 && r != -ENOENT)
    return focker_fail (err, r, "remove %s/%s", s->root, rec);
  return 0;
}
