/* store_index.c: names (index.json), images (manifest + config), and gc (see store.h).
 *
 * index.json is rewritten whole (atomically, durably) under locks/index, so concurrent tags
 * never lose one another's names. */
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/store.h"
#include "core/strv.h"

#define INDEX_MAX (16 * 1024 * 1024)

void
store_json_decrefp (void *j)
{
  json_decref (*(json_t **)j);
}

/* Open locks/index and flock it (LOCK_SH to read index.json, LOCK_EX to rewrite it). */
static int
index_lock (struct store *s, int op, struct focker_err **err)
{
  _cleanup_close_ int fd = -1;
  int r;

  fd = sys_openat (s->fd, "locks/index", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return focker_fail (err, fd, "open lock %s/locks/index", s->root);
  r = sys_flock (fd, op);
  if (r < 0)
    return focker_fail (err, r, "lock %s/locks/index", s->root);
  return TAKE_FD (fd);
}

char *
store_normalize_ref (const char *ref)
{
  const char *slash, *colon, *at = ref ? strchr (ref, '@') : NULL;

  if (at)
    {
      /* NAME@DIGEST, as a pull by digest names its image */
      _cleanup_free_ char *name = xstrndup (ref, (size_t)(at - ref));
      _cleanup_free_ char *norm = digest_valid (at + 1) ? store_normalize_ref (name) : NULL;
      slash = strrchr (name, '/');
      colon = strrchr (name, ':');
      if (norm == NULL || (colon && (slash == NULL || colon > slash)))
        return NULL;
      return xstrdup (ref);
    }
  if (ref == NULL || *ref == '\0' || strlen (ref) > 255)
    return NULL;
  for (const char *c = ref; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
          || strchr ("._-/:", *c)))
      return NULL;
  if (ref[0] == '/' || ref[0] == '.' || ref[0] == '-' || ref[strlen (ref) - 1] == ':'
      || ref[strlen (ref) - 1] == '/')
    return NULL;
  slash = strrchr (ref, '/');
  colon = strrchr (ref, ':');
  if (colon && (slash == NULL || colon > slash))
    return xstrdup (ref);
  return xasprintf ("%s:latest", ref);
}

static int
index_read (json_t **out, struct store *s, struct focker_err **err)
{
  _cleanup_free_ char *text = NULL;
  json_error_t jerr;
  json_t *idx;
  size_t len;
  int r;

  r = read_file_at (&text, &len, s->fd, "index.json", INDEX_MAX, err);
  if (r == -ENOENT)
    {
      focker_err_free (*err);
      *err = NULL;
      idx = json_pack ("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MT_INDEX, "manifests");
      *out = idx;
      return 0;
    }
  if (r < 0)
    return focker_err_prefix (err, "image store %s", s->root);
  idx = json_loadb (text, len, 0, &jerr);
  if (idx == NULL || !json_is_array (json_object_get (idx, "manifests")))
    {
      json_decref (idx);
      return focker_fail (err, -EINVAL, "%s/index.json: not an OCI index", s->root);
    }
  *out = idx;
  return 0;
}

int
store_index_load (void **idx, struct store *s, struct focker_err **err)
{
  _cleanup_close_ int lockfd = -1;
  json_t *j = NULL;
  int r;

  lockfd = index_lock (s, LOCK_SH, err);
  if (lockfd < 0)
    return lockfd;
  r = index_read (&j, s, err);
  if (r < 0)
    return r;
  *idx = j;
  return 0;
}

static const char *
entry_name (json_t *m)
{
  return json_string_value (json_object_get (json_object_get (m, "annotations"), ANNOT_REF_NAME));
}

/* Read-modify-write of index.json: drop `name`, then add it for `digest` unless NULL. */
static int
index_update (struct store *s, const char *name, const char *digest, uint64_t size,
              struct focker_err **err)
{
  _cleanup_close_ int lockfd = -1;
  _cleanup_json_ json_t *idx = NULL;
  _cleanup_free_ char *text = NULL;
  json_t *list, *m;
  size_t i;
  bool found = false;
  int r;

  lockfd = index_lock (s, LOCK_EX, err);
  if (lockfd < 0)
    return lockfd;
  r = index_read (&idx, s, err);
  if (r < 0)
    return r;
  list = json_object_get (idx, "manifests");
  for (i = 0; i < json_array_size (list);)
    {
      const char *n = entry_name (json_array_get (list, i));
      if (n && strcmp (n, name) == 0)
        {
          json_array_remove (list, i);
          found = true;
        }
      else
        i++;
    }
  if (digest == NULL && !found)
    return focker_fail (err, -ENOENT, "image %s: no such name", name);
  if (digest)
    {
      m = json_pack ("{s:s, s:s, s:I, s:{s:s}}", "mediaType", MT_MANIFEST, "digest", digest, "size",
                     (json_int_t)size, "annotations", ANNOT_REF_NAME, name);
      json_array_append_new (list, m);
    }
  text = json_dumps (idx, JSON_COMPACT);
  return write_file_atomic_at (s->fd, "index.json", text, strlen (text), 0644, true, err);
}

int
store_tag (struct store *s, const char *name, const char *digest, uint64_t size,
           struct focker_err **err)
{
  return index_update (s, name, digest, size, err);
}

int
store_untag (struct store *s, const char *name, struct focker_err **err)
{
  return index_update (s, name, NULL, 0, err);
}

/* ---- images ---- */

void
image_free (struct image *img)
{
  if (img == NULL)
    return;
  free (img->name);
  json_decref (img->manifest);
  json_decref (img->config);
  free (img->layers);
  free (img->diff_ids);
  free (img);
}

static int
load_json_blob (json_t **out, struct store *s, const char *digest, const char *what,
                struct focker_err **err)
{
  _cleanup_free_ char *text = NULL;
  json_error_t jerr;
  size_t len;
  int r;

  r = store_blob_read (&text, &len, s, digest, err);
  if (r < 0)
    return r;
  *out = json_loadb (text, len, 0, &jerr);
  if (*out == NULL || !json_is_object (*out))
    {
      json_decref (*out);
      return focker_fail (err, -EINVAL, "%s %s: not a JSON object", what, digest);
    }
  return 0;
}

static int
image_fill (struct image *img, struct store *s, struct focker_err **err)
{
  json_t *cfg = json_object_get (img->manifest, "config");
  json_t *layers = json_object_get (img->manifest, "layers");
  json_t *diffs;
  const char *id = json_string_value (json_object_get (cfg, "digest"));
  size_t i;
  int r;

  if (!digest_valid (id) || !json_is_array (layers))
    return focker_fail (err, -EINVAL, "manifest %s: no config digest or layers",
                        img->manifest_digest);
  memcpy (img->id, id, DIGEST_LEN + 1);
  r = load_json_blob ((json_t **)&img->config, s, id, "config", err);
  if (r < 0)
    return r;
  diffs = json_object_get (json_object_get (img->config, "rootfs"), "diff_ids");
  if (!json_is_array (diffs) || json_array_size (diffs) != json_array_size (layers))
    return focker_fail (err, -EINVAL, "config %s: rootfs.diff_ids does not match the layers", id);
  img->n_layers = json_array_size (layers);
  img->layers = xcalloc (img->n_layers + 1, sizeof *img->layers);
  img->diff_ids = xcalloc (img->n_layers + 1, sizeof *img->diff_ids);
  img->size = (uint64_t)json_integer_value (json_object_get (cfg, "size"));
  for (i = 0; i < img->n_layers; i++)
    {
      json_t *l = json_array_get (layers, i);
      const char *d = json_string_value (json_object_get (l, "digest"));
      const char *diff = json_string_value (json_array_get (diffs, i));
      if (!digest_valid (d) || !digest_valid (diff))
        return focker_fail (err, -EINVAL, "manifest %s: layers[%zu]: bad digest",
                            img->manifest_digest, i);
      memcpy (img->layers[i], d, DIGEST_LEN + 1);
      memcpy (img->diff_ids[i], diff, DIGEST_LEN + 1);
      img->size += (uint64_t)json_integer_value (json_object_get (l, "size"));
    }
  return 0;
}

int
store_image_from_manifest (struct image **out, struct store *s, const char *digest,
                           struct focker_err **err)
{
  struct image *img = xcalloc (1, sizeof *img);
  int r;

  if (!digest_valid (digest))
    {
      image_free (img);
      return focker_fail (err, -EINVAL, "manifest \"%s\": not a sha256 digest", digest);
    }
  memcpy (img->manifest_digest, digest, DIGEST_LEN + 1);
  r = load_json_blob ((json_t **)&img->manifest, s, digest, "manifest", err);
  if (r == 0)
    r = image_fill (img, s, err);
  if (r < 0)
    {
      image_free (img);
      return r;
    }
  *out = img;
  return 0;
}

/* Is ref an id or an id prefix (>= 12 hex digits) of the config `id`? */
static bool
id_matches (const char *ref, const char *id)
{
  const char *hex = strncmp (ref, "sha256:", 7) == 0 ? ref + 7 : ref;
  size_t n = strlen (hex);

  if (n < 12 || n > 64 || strspn (hex, "0123456789abcdef") != n)
    return false;
  return strncmp (DIGEST_HEX (id), hex, n) == 0;
}

/* The name a pull from docker.io gives `name` (normalized) when it names no registry:
 * "busybox:latest" -> "docker.io/library/busybox:latest", "u/app:1" -> "docker.io/u/app:1";
 * NULL when it names one (a first component with '.' or ':', or "localhost"). */
static char *
docker_io_name (const char *name)
{
  const char *slash = name ? strchr (name, '/') : NULL;

  if (name == NULL)
    return NULL;
  if (slash == NULL)
    return xasprintf ("docker.io/library/%s", name);
  if (memchr (name, '.', (size_t)(slash - name)) || memchr (name, ':', (size_t)(slash - name))
      || strncmp (name, "localhost/", 10) == 0)
    return NULL;
  return xasprintf ("docker.io/%s", name);
}

/* The index entry named `ref`: the name as given first, then as `focker pull` of it names it
 * (docker.io/...); NULL if none. */
static json_t *
entry_find (json_t *idx, const char *ref)
{
  _cleanup_free_ char *name = store_normalize_ref (ref);
  _cleanup_free_ char *pulled = docker_io_name (name);
  json_t *m;
  size_t i;

  for (int pass = 0; pass < 2; pass++)
    json_array_foreach (json_object_get (idx, "manifests"), i, m)
    {
      const char *n = entry_name (m);
      const char *want = pass == 0 ? name : pulled;
      if (want && n && strcmp (n, want) == 0)
        return m;
    }
  return NULL;
}

int
store_name_find (char **out, struct store *s, const char *ref, struct focker_err **err)
{
  _cleanup_json_ json_t *idx = NULL;
  json_t *m;
  int r = store_index_load ((void **)&idx, s, err);

  if (r < 0)
    return r;
  m = entry_find (idx, ref);
  if (m == NULL)
    return focker_fail (err, -ENOENT, "image %s: not in the store %s", ref, s->root);
  *out = xstrdup (entry_name (m));
  return 0;
}

int
store_image_get (struct image **out, struct store *s, const char *ref, struct focker_err **err)
{
  _cleanup_json_ json_t *idx = NULL;
  json_t *list, *m;
  size_t i;
  int r;

  r = store_index_load ((void **)&idx, s, err);
  if (r < 0)
    return r;
  list = json_object_get (idx, "manifests");
  m = entry_find (idx, ref);
  if (m)
    {
      const char *want = entry_name (m);
      r = store_image_from_manifest (out, s, json_string_value (json_object_get (m, "digest")),
                                     err);
      if (r < 0)
        return focker_err_prefix (err, "image %s", want);
      (*out)->name = xstrdup (want);
      return 0;
    }
  /* by id: the config digest of any named image */
  json_array_foreach (list, i, m)
  {
    struct image *img;
    if (store_image_from_manifest (&img, s, json_string_value (json_object_get (m, "digest")), err)
        < 0)
      {
        focker_err_free (*err);
        *err = NULL;
        continue;
      }
    if (id_matches (ref, img->id))
      {
        *out = img;
        return 0;
      }
    image_free (img);
  }
  return focker_fail (err, -ENOENT, "image %s: not in the store %s", ref, s->root);
}

/* ---- gc ---- */

struct keep
{
  char (*d)[DIGEST_LEN + 1];
  size_t n;
};

static void
keep_add (struct keep *k, const char *digest)
{
  if (!digest_valid (digest))
    return;
  k->d = xrealloc (k->d, (k->n + 1) * sizeof *k->d);
  memcpy (k->d[k->n++], digest, DIGEST_LEN + 1);
}

static bool
keep_has_hex (struct keep *k, const char *hex)
{
  for (size_t i = 0; i < k->n; i++)
    if (strcmp (DIGEST_HEX (k->d[i]), hex) == 0)
      return true;
  return false;
}

/* Every blob and diff-id a named image uses. */
static int
gc_mark_images (struct store *s, struct keep *blobs, struct keep *layers, struct focker_err **err)
{
  _cleanup_json_ json_t *idx = NULL;
  json_t *m;
  size_t i;
  int r;

  r = index_read (&idx, s, err);
  if (r < 0)
    return r;
  json_array_foreach (json_object_get (idx, "manifests"), i, m)
  {
    const char *md = json_string_value (json_object_get (m, "digest"));
    struct image *img;
    keep_add (blobs, md);
    r = store_image_from_manifest (&img, s, md, err);
    if (r < 0 && entry_name (m))
      return focker_err_prefix (err,
                                "gc: refusing to collect while image %s cannot be read (remove "
                                "it with `focker rmi %s`, or pull it again)",
                                entry_name (m), entry_name (m));
    if (r < 0)
      return focker_err_prefix (err, "gc: refusing to collect with an unreadable image");
    keep_add (blobs, img->id);
    for (size_t l = 0; l < img->n_layers; l++)
      {
        keep_add (blobs, img->layers[l]);
        keep_add (layers, img->diff_ids[l]);
      }
    image_free (img);
  }
  return 0;
}

/* The store's directory `dir` opened and its names listed: the fd, or a negative errno. */
static int
open_listed (char ***names, struct store *s, const char *dir, struct focker_err **err)
{
  _cleanup_close_ int dfd = open_dir_at (s->fd, dir, err);
  int r;

  if (dfd < 0)
    return dfd;
  r = list_dir_at (names, dfd, ".", err);
  if (r < 0)
    return r;
  return TAKE_FD (dfd);
}

/* Layers of bundles whose rootfs still exists (their record names the bundle directory).
 * With rep (gc, the store locked exclusive) the records of bundles that are gone are
 * removed and counted. */
static int
gc_mark_bundles (struct store *s, struct keep *layers, struct gc_report *rep,
                 struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  _cleanup_close_ int dfd = open_listed (&names, s, "bundles", err);

  if (dfd < 0)
    return dfd;
  for (char **name = names; *name; name++)
    {
      _cleanup_free_ char *text = NULL, *cfg = NULL;
      _cleanup_json_ json_t *rec = NULL;
      struct focker_err *e2 = NULL;
      json_t *l;
      size_t i;

      if ((*name)[0] == '.')
        continue;
      if (read_file_at (&text, NULL, dfd, *name, 1 << 20, &e2) < 0
          || (rec = json_loads (text, 0, NULL)) == NULL)
        {
          focker_err_free (e2);
          continue;
        }
      cfg = xasprintf ("%s/rootfs",
                       json_string_value (json_object_get (rec, "bundle")) ?: "/nonexistent");
      if (!exists_at (AT_FDCWD, cfg))
        {
          /* the bundle is gone (unbundle, or removed by hand): its record holds nothing */
          if (rep && sys_unlinkat (dfd, *name, 0) == 0)
            rep->tmps++;
          continue;
        }
      json_array_foreach (json_object_get (rec, "layers"), i, l)
          keep_add (layers, json_string_value (l));
    }
  return 0;
}

/* Remove from dir what `keep` does not hold (keep NULL: only temporaries). */
static int
gc_sweep (struct store *s, const char *dir, struct keep *keep, size_t *count, struct gc_report *rep,
          struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  _cleanup_close_ int dfd = open_listed (&names, s, dir, err);
  int r;

  if (dfd < 0)
    return dfd;
  for (char **name = names; *name; name++)
    {
      bool tmp = strncmp (*name, ".tmp-", 5) == 0;
      struct stat st;

      if (strcmp (*name, "sha256") == 0 || (!tmp && (keep == NULL || keep_has_hex (keep, *name))))
        continue;
      if (sys_fstatat (dfd, *name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode))
        rep->bytes += (uint64_t)st.st_size;
      r = rm_rf_at (dfd, *name);
      if (r < 0)
        return focker_fail (err, r, "gc: remove %s/%s/%s", s->root, dir, *name);
      (*count)++;
    }
  return 0;
}

int
store_layer_refs (struct store *s, const char (*diff_ids)[DIGEST_LEN + 1], size_t n, size_t *counts,
                  struct focker_err **err)
{
  struct keep blobs = { 0 }, layers = { 0 };
  int r;

  r = gc_mark_images (s, &blobs, &layers, err);
  if (r == 0)
    r = gc_mark_bundles (s, &layers, NULL, err);
  for (size_t i = 0; r == 0 && i < n; i++)
    {
      counts[i] = 0;
      for (size_t j = 0; j < layers.n; j++)
        counts[i] += strcmp (layers.d[j], diff_ids[i]) == 0;
    }
  free (blobs.d);
  free (layers.d);
  return r;
}

/* Per-layer lock files of layers gone, and every blob download's lock: nobody holds or waits on one
 * while gc holds the store lock exclusive (every command takes it, shared, before any other lock).
 */
static int
gc_sweep_locks (struct store *s, struct keep *layers, struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  int r = list_dir_at (&names, s->fd, "locks", err);

  for (char **n = names; r == 0 && *n; n++)
    if ((strncmp (*n, "layer-", 6) == 0 && !keep_has_hex (layers, *n + 6))
        || strncmp (*n, "pull-", 5) == 0)
      {
        _cleanup_free_ char *path = xasprintf ("locks/%s", *n);
        r = sys_unlinkat (s->fd, path, 0);
        if (r == -ENOENT)
          r = 0;
        else if (r < 0)
          r = focker_fail (err, r, "gc: remove %s/%s", s->root, path);
      }
  return r;
}

/* The temporaries of index.json and oci-layout (write_file_atomic_at's ".NAME.tmp") that a
 * command killed before its rename left: no command writes one while gc holds the store
 * lock exclusive. */
static int
gc_sweep_top (struct store *s, struct gc_report *rep, struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  int r = list_dir_at (&names, s->fd, ".", err);

  for (char **n = names; r == 0 && *n; n++)
    {
      size_t len = strlen (*n);
      if ((*n)[0] != '.' || len < 5 || strcmp (*n + len - 4, ".tmp") != 0)
        continue;
      r = sys_unlinkat (s->fd, *n, 0);
      if (r == 0)
        rep->tmps++;
      else if (r == -ENOENT)
        r = 0;
      else
        r = focker_fail (err, r, "gc: remove %s/%s", s->root, *n);
    }
  return r;
}

int
store_gc (struct store *s, struct gc_report *rep, struct focker_err **err)
{
  struct keep blobs = { 0 }, layers = { 0 };
  int r;

  memset (rep, 0, sizeof *rep);
  r = gc_mark_images (s, &blobs, &layers, err);
  if (r == 0)
    r = gc_mark_bundles (s, &layers, rep, err);
  if (r == 0)
    r = gc_sweep (s, "blobs/sha256", &blobs, &rep->blobs, rep, err);
  if (r == 0)
    r = gc_sweep (s, "layers/sha256", &layers, &rep->layers, rep, err);
  if (r == 0)
    r = gc_sweep (s, "blobs", NULL, &rep->tmps, rep, err);
  if (r == 0)
    r = gc_sweep (s, "layers", NULL, &rep->tmps, rep, err);
  if (r == 0)
    r = gc_sweep_locks (s, &layers, err);
  if (r == 0)
    r = gc_sweep_top (s, rep, err);
  free (blobs.d);
  free (layers.d);
  return r;
}
