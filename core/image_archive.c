/* image_archive.c: load (OCI layout directory, oci-archive, docker save archive) and save
 * (oci-archive); see image_archive.h.
 *
 * An archive is read once, front to back, through libarchive over sys_read: every regular
 * file that can be a blob goes straight into the store through a verifying blob writer
 * (blobs/sha256/<hex> must match its name; docker's layer.tar and config files are stored
 * under the digest computed while writing), index.json and manifest.json are kept in memory.
 * Images are then assembled from the store and named last. */
#include <errno.h>
#include <string.h>
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/image_archive.h"
#include "core/strv.h"
#include "core/tar_write.h"

#define DOC_MAX (16 * 1024 * 1024)
#define ANNOT_CONTAINERD_NAME "io.containerd.image.name"

struct file_map
{
  char *path;
  char digest[DIGEST_LEN + 1];
  char *link; /* a symlink entry: the path it points to */
};

struct loader
{
  struct store *s;
  int layoutfd; /* a layout directory, or -1 for an archive */
  json_t *index, *docker;
  struct file_map *files;
  size_t n_files;
  char **names;
  /* archive reading */
  int fd;
  int read_error;
  char buf[64 * 1024];  /* the archive's raw input (archive_cb) */
  char data[64 * 1024]; /* entry data handed out by libarchive */
};

static void
loader_free (struct loader *l)
{
  json_decref (l->index);
  json_decref (l->docker);
  for (size_t i = 0; i < l->n_files; i++)
    {
      free (l->files[i].path);
      free (l->files[i].link);
    }
  free (l->files);
}

static void
map_add (struct loader *l, const char *path, const char *digest, const char *link)
{
  l->files = xrealloc (l->files, (l->n_files + 1) * sizeof *l->files);
  memset (&l->files[l->n_files], 0, sizeof *l->files);
  l->files[l->n_files].path = xstrdup (path);
  if (digest)
    memcpy (l->files[l->n_files].digest, digest, DIGEST_LEN + 1);
  if (link)
    l->files[l->n_files].link = xstrdup (link);
  l->n_files++;
}

/* The digest of the archive file at path, following symlink entries (docker dedups layers
 * with them). */
static const char *
map_find (struct loader *l, const char *path, int depth)
{
  for (size_t i = 0; i < l->n_files && depth < 8; i++)
    if (strcmp (l->files[i].path, path) == 0)
      {
        if (l->files[i].link == NULL)
          return l->files[i].digest;
        /* relative to the link's directory */
        const char *slash = strrchr (path, '/');
        _cleanup_free_ char *t
            = l->files[i].link[0] == '/' || slash == NULL
                  ? xstrdup (l->files[i].link + (l->files[i].link[0] == '/'))
                  : xasprintf ("%.*s/%s", (int)(slash - path), path, l->files[i].link);
        /* fold "dir/../x" */
        char *dd;
        while ((dd = strstr (t, "/../")) != NULL)
          {
            char *start = dd;
            while (start > t && start[-1] != '/')
              start--;
            memmove (start, dd + 4, strlen (dd + 4) + 1);
          }
        if (strncmp (t, "../", 3) == 0)
          return NULL;
        return map_find (l, t, depth + 1);
      }
  return NULL;
}

/* ---- assembling images from blobs ---- */

/* Make sure `digest` is in the store: from the layout directory when loading one. */
static int
ensure_blob (struct loader *l, const char *digest, struct focker_err **err)
{
  _cleanup_free_ char *path = NULL;
  _cleanup_close_ int fd = -1;
  char got[DIGEST_LEN + 1];

  if (!digest_valid (digest))
    return focker_fail (err, -EINVAL, "descriptor digest \"%s\": not a sha256 digest",
                        digest ? digest : "");
  if (store_blob_exists (l->s, digest))
    return 0;
  if (l->layoutfd < 0)
    return focker_fail (err, -ENOENT, "blob %s: not in the archive", digest);
  path = xasprintf ("blobs/sha256/%s", DIGEST_HEX (digest));
  fd = sys_openat (l->layoutfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0)
    return focker_fail (err, fd, "blob %s: open %s", digest, path);
  return store_blob_from_fd (l->s, fd, digest, got, NULL, err);
}

static int load_image (struct loader *l, const char *manifest, const char *name, int depth,
                       struct focker_err **err);

/* An index inside the layout: the manifest for linux on this architecture, or the only one. */
static int
load_nested_index (struct loader *l, json_t *idx, const char *name, int depth,
                   struct focker_err **err)
{
  json_t *list = json_object_get (idx, "manifests"), *m, *pick = NULL;
  size_t i;

  json_array_foreach (list, i, m)
  {
    json_t *p = json_object_get (m, "platform");
    const char *arch = json_string_value (json_object_get (p, "architecture"));
    const char *os = json_string_value (json_object_get (p, "os"));
    if (pick == NULL && os && arch && strcmp (os, "linux") == 0
        && strcmp (arch, image_arch ()) == 0)
      pick = m;
  }
  if (pick == NULL && json_array_size (list) == 1)
    pick = json_array_get (list, 0);
  if (pick == NULL)
    return focker_fail (err, -EINVAL, "image %s: no manifest for linux/%s", name, image_arch ());
  return load_image (l, json_string_value (json_object_get (pick, "digest")), name, depth + 1, err);
}

static int
load_image (struct loader *l, const char *manifest, const char *name, int depth,
            struct focker_err **err)
{
  _cleanup_free_ char *text = NULL;
  _cleanup_json_ json_t *man = NULL;
  struct image *img = NULL;
  size_t len;
  int r;

  if (depth > 4)
    return focker_fail (err, -ELOOP, "image %s: indexes nested too deep", name);
  r = ensure_blob (l, manifest, err);
  if (r == 0)
    r = store_blob_read (&text, &len, l->s, manifest, err);
  if (r < 0)
    return r;
  man = json_loadb (text, len, 0, NULL);
  if (man == NULL)
    return focker_fail (err, -EINVAL, "manifest %s: not JSON", manifest);
  if (json_is_array (json_object_get (man, "manifests")))
    return load_nested_index (l, man, name, depth, err);
  r = ensure_blob (
      l, json_string_value (json_object_get (json_object_get (man, "config"), "digest")), err);
  for (size_t i = 0; r == 0 && i < json_array_size (json_object_get (man, "layers")); i++)
    r = ensure_blob (l,
                     json_string_value (json_object_get (
                         json_array_get (json_object_get (man, "layers"), i), "digest")),
                     err);
  if (r == 0)
    r = store_image_from_manifest (&img, l->s, manifest, err);
  for (size_t i = 0; r == 0 && i < img->n_layers; i++)
    {
      char diff[DIGEST_LEN + 1];
      r = store_layer_ensure (l->s, img->layers[i], img->diff_ids[i], diff, err);
    }
  image_free (img);
  if (r == 0)
    r = store_tag (l->s, name, manifest, len, err);
  if (r < 0)
    return focker_err_prefix (err, "image %s", name);
  strv_push (&l->names, name);
  return 0;
}

static int
load_oci_index (struct loader *l, struct focker_err **err)
{
  json_t *m;
  size_t i;
  int r;

  if (!json_is_array (json_object_get (l->index, "manifests")))
    return focker_fail (err, -EINVAL, "index.json: no manifests array");
  json_array_foreach (json_object_get (l->index, "manifests"), i, m)
  {
    json_t *an = json_object_get (m, "annotations");
    const char *n = json_string_value (json_object_get (an, ANNOT_CONTAINERD_NAME));
    _cleanup_free_ char *name = NULL;
    if (n == NULL)
      n = json_string_value (json_object_get (an, ANNOT_REF_NAME));
    if (n == NULL)
      return focker_fail (err, -EINVAL, "index.json: manifests[%zu]: no %s annotation to name it",
                          i, ANNOT_REF_NAME);
    name = store_normalize_ref (n);
    if (name == NULL)
      return focker_fail (err, -EINVAL, "index.json: manifests[%zu]: bad name \"%s\"", i, n);
    r = load_image (l, json_string_value (json_object_get (m, "digest")), name, 0, err);
    if (r < 0)
      return r;
  }
  return 0;
}

/* docker save's manifest.json: [{Config, RepoTags, Layers}] of archive paths. */
static int
load_docker (struct loader *l, struct focker_err **err)
{
  json_t *e;
  size_t i;

  if (!json_is_array (l->docker))
    return focker_fail (err, -EINVAL, "manifest.json: not an array");
  json_array_foreach (l->docker, i, e)
  {
    const char *cfg_path = json_string_value (json_object_get (e, "Config"));
    const char *cfg = cfg_path ? map_find (l, cfg_path, 0) : NULL;
    json_t *layers = json_object_get (e, "Layers"), *tags = json_object_get (e, "RepoTags");
    _cleanup_json_ json_t *man = NULL;
    _cleanup_free_ char *text = NULL;
    json_t *mlayers = json_array (), *t;
    char man_digest[DIGEST_LEN + 1];
    uint64_t size;
    size_t j;
    int r;

    if (cfg == NULL)
      {
        json_decref (mlayers);
        return focker_fail (err, -EINVAL, "manifest.json[%zu]: Config \"%s\" not in the archive", i,
                            cfg_path ? cfg_path : "");
      }
    r = store_blob_size (l->s, cfg, &size, err);
    man = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                     MT_MANIFEST, "config", "mediaType", MT_CONFIG, "digest", cfg, "size",
                     (json_int_t)size, "layers", mlayers);
    json_array_foreach (layers, j, t)
    {
      const char *lp = json_string_value (t);
      const char *ld = lp ? map_find (l, lp, 0) : NULL;
      uint64_t lsize = 0;
      if (r == 0 && ld == NULL)
        r = focker_fail (err, -EINVAL, "manifest.json[%zu]: layer \"%s\" not in the archive", i,
                         lp ? lp : "");
      if (r == 0)
        r = store_blob_size (l->s, ld, &lsize, err);
      if (r == 0)
        {
          const char *mt = MT_LAYER;
          r = image_sniff_media_type (l->s, ld, &mt, err);
          json_array_append_new (mlayers, json_pack ("{s:s, s:s, s:I}", "mediaType", mt, "digest",
                                                     ld, "size", (json_int_t)lsize));
        }
    }
    if (r < 0)
      return r;
    text = json_dumps (man, JSON_COMPACT);
    r = store_blob_put (l->s, text, strlen (text), NULL, man_digest, err);
    if (r < 0)
      return r;
    if (json_array_size (tags) == 0)
      return focker_fail (err, -EINVAL, "manifest.json[%zu]: no RepoTags to name it", i);
    json_array_foreach (tags, j, t)
    {
      _cleanup_free_ char *name = store_normalize_ref (json_string_value (t));
      if (name == NULL)
        return focker_fail (err, -EINVAL, "manifest.json[%zu]: bad tag", i);
      r = load_image (l, man_digest, name, 0, err);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

/* ---- reading an archive ---- */

static la_ssize_t
archive_cb (struct archive *a, void *data, const void **buf)
{
  struct loader *l = data;
  ssize_t n = sys_read (l->fd, l->buf, sizeof l->buf);

  if (n < 0)
    {
      l->read_error = (int)-n;
      archive_set_error (a, (int)-n, "read");
      return -1;
    }
  *buf = l->buf;
  return n;
}

static int
archive_fail (struct loader *l, struct archive *a, const char *path, struct focker_err **err)
{
  if (l->read_error)
    return focker_fail (err, -l->read_error, "load %s: read", path);
  return focker_fail (err, -EINVAL, "load %s: %s", path,
                      archive_error_string (a) ?: "not a tar archive");
}

static int
read_doc (struct loader *l, struct archive *a, json_t **out, const char *path, const char *name,
          struct focker_err **err)
{
  _cleanup_free_ char *text = xmalloc (DOC_MAX);
  size_t used = 0;

  for (;;)
    {
      la_ssize_t n = archive_read_data (a, text + used, DOC_MAX - used);
      if (n < 0)
        return archive_fail (l, a, path, err);
      if (n == 0)
        break;
      used += (size_t)n;
      if (used == DOC_MAX)
        return focker_fail (err, -EFBIG, "load %s: %s: too large", path, name);
    }
  json_decref (*out);
  *out = json_loadb (text, used, 0, NULL);
  if (*out == NULL)
    return focker_fail (err, -EINVAL, "load %s: %s: not JSON", path, name);
  return 0;
}

/* Stream the current entry into the store (checked against `expect` unless NULL). */
static int
entry_to_blob (struct loader *l, struct archive *a, const char *expect, const char *path,
               const char *name, char out[DIGEST_LEN + 1], struct focker_err **err)
{
  struct blob_writer w;
  int r = blob_begin (&w, l->s, err);

  if (r < 0)
    return r;
  for (;;)
    {
      la_ssize_t n = archive_read_data (a, l->data, sizeof l->data);
      if (n < 0)
        {
          blob_abort (&w);
          return archive_fail (l, a, path, err);
        }
      if (n == 0)
        break;
      r = blob_write (&w, l->data, (size_t)n, err);
      if (r < 0)
        {
          blob_abort (&w);
          return r;
        }
    }
  r = blob_commit (&w, expect, out, err);
  return r < 0 ? focker_err_prefix (err, "load %s: %s", path, name) : 0;
}

static int
read_entry (struct loader *l, struct archive *a, struct archive_entry *e, const char *path,
            struct focker_err **err)
{
  const char *name = archive_entry_pathname (e);
  const char *base;
  char digest[DIGEST_LEN + 1];
  size_t n;

  while (name && strncmp (name, "./", 2) == 0)
    name += 2;
  if (name == NULL || *name == '\0')
    return 0;
  if (archive_entry_filetype (e) == AE_IFLNK)
    {
      map_add (l, name, NULL, archive_entry_symlink (e));
      return 0;
    }
  if (archive_entry_filetype (e) != AE_IFREG)
    return 0;
  if (strcmp (name, "index.json") == 0)
    return read_doc (l, a, &l->index, path, name, err);
  if (strcmp (name, "manifest.json") == 0)
    return read_doc (l, a, &l->docker, path, name, err);
  base = strrchr (name, '/') ? strrchr (name, '/') + 1 : name;
  n = strlen (name);
  if (strncmp (name, "blobs/sha256/", 13) == 0)
    {
      _cleanup_free_ char *expect = xasprintf ("sha256:%s", base);
      if (!digest_valid (expect))
        return focker_fail (err, -EINVAL, "load %s: %s: not a sha256 blob name", path, name);
      int r = entry_to_blob (l, a, expect, path, name, digest, err);
      if (r < 0)
        return r;
      map_add (l, name, digest, NULL);
      return 0;
    }
  /* docker's legacy layout: <id>/layer.tar and <id>.json (not <id>/json, the v1 metadata) */
  if ((n > 4 && strcmp (name + n - 4, ".tar") == 0)
      || (n > 5 && strcmp (name + n - 5, ".json") == 0 && strchr (name, '/') == NULL))
    {
      int r = entry_to_blob (l, a, NULL, path, name, digest, err);
      if (r < 0)
        return r;
      map_add (l, name, digest, NULL);
    }
  return 0;
}

static int
load_archive (struct loader *l, int fd, const char *path, struct focker_err **err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  int r = 0;

  if (a == NULL)
    abort ();
  l->fd = fd;
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_filter_xz (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_format_tar (a);
  if (archive_read_open (a, l, NULL, archive_cb, NULL) != ARCHIVE_OK)
    r = archive_fail (l, a, path, err);
  while (r == 0)
    {
      int ar = archive_read_next_header (a, &e);
      if (ar == ARCHIVE_EOF)
        break;
      if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
        r = archive_fail (l, a, path, err);
      else
        r = read_entry (l, a, e, path, err);
    }
  archive_read_free (a);
  return r;
}

/* Load from an open file or directory (`path` names it in errors). */
static int
load_fd (struct store *s, int fd, const char *path, char ***names, struct focker_err **err)
{
  struct loader l = { .s = s, .layoutfd = -1 };
  struct stat st;
  int r;

  r = sys_fstatat (fd, "", &st, AT_EMPTY_PATH);
  if (r < 0)
    return focker_fail (err, r, "load %s: stat", path);
  l.names = xcalloc (1, sizeof *l.names);
  if (S_ISDIR (st.st_mode))
    {
      _cleanup_free_ char *text = NULL;
      size_t len;
      l.layoutfd = fd;
      r = read_file_at (&text, &len, fd, "index.json", DOC_MAX, err);
      if (r < 0)
        r = focker_err_prefix (err, "load %s (an OCI image layout)", path);
      else if ((l.index = json_loadb (text, len, 0, NULL)) == NULL)
        r = focker_fail (err, -EINVAL, "load %s: index.json: not JSON", path);
    }
  else
    r = load_archive (&l, fd, path, err);
  if (r == 0 && l.index)
    r = load_oci_index (&l, err);
  else if (r == 0 && l.docker)
    r = load_docker (&l, err);
  else if (r == 0)
    r = focker_fail (err, -EINVAL, "load %s: no index.json and no manifest.json", path);
  if (r == 0 && names)
    *names = TAKE_PTR (l.names);
  strv_free (l.names);
  loader_free (&l);
  return r;
}

int
image_load (struct store *s, const char *path, char ***names, struct focker_err **err)
{
  _cleanup_close_ int fd = sys_openat (AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    return focker_fail (err, fd, "load %s", path);
  return load_fd (s, fd, path, names, err);
}

int
image_load_fd (struct store *s, int fd, char ***names, struct focker_err **err)
{
  return load_fd (s, fd, "stdin", names, err);
}

/* ---- save ---- */

static int
fd_put (void *ctx, const void *buf, size_t len)
{
  return write_all (*(int *)ctx, buf, len);
}

static int
save_blob (struct tar_out *t, struct store *s, const char *digest, uint64_t *size_out,
           struct focker_err **err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *name = NULL, *buf = NULL;
  uint64_t size = 0;
  int r;

  r = store_blob_size (s, digest, &size, err);
  if (r < 0)
    return r;
  fd = store_blob_open (s, digest, err);
  if (fd < 0)
    return fd;
  name = xasprintf ("blobs/sha256/%s", DIGEST_HEX (digest));
  buf = xmalloc (64 * 1024);
  r = tar_file_begin (t, name, 0644, size);
  for (uint64_t done = 0; r == 0 && done < size;)
    {
      ssize_t n = sys_read (fd, buf, 64 * 1024);
      if (n <= 0)
        return focker_fail (err, n < 0 ? (int)n : -EIO, "read blob %s", digest);
      r = tar_data (t, buf, (size_t)n);
      done += (uint64_t)n;
    }
  if (r == 0)
    r = tar_pad (t);
  if (r < 0)
    return focker_fail (err, r, "write %s", name);
  if (size_out)
    *size_out = size;
  return 0;
}

static int
save_to (int fd, struct store *s, struct image *img, struct focker_err **err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  struct tar_out t = { .put = fd_put, .ctx = &fd, .mtime = 0 };
  _cleanup_json_ json_t *idx = NULL;
  _cleanup_free_ char *text = NULL;
  uint64_t msize = 0;
  int r;

  r = tar_file (&t, "oci-layout", 0644, layout, sizeof layout - 1);
  if (r == 0)
    r = tar_dir (&t, "blobs", 0755);
  if (r == 0)
    r = tar_dir (&t, "blobs/sha256", 0755);
  if (r < 0)
    return focker_fail (err, r, "write the archive");
  r = save_blob (&t, s, img->manifest_digest, &msize, err);
  if (r == 0)
    r = save_blob (&t, s, img->id, NULL, err);
  for (size_t i = 0; r == 0 && i < img->n_layers; i++)
    r = save_blob (&t, s, img->layers[i], NULL, err);
  if (r < 0)
    return r;
  idx = json_pack ("{s:i, s:s, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2, "mediaType", MT_INDEX,
                   "manifests", "mediaType", MT_MANIFEST, "digest", img->manifest_digest, "size",
                   (json_int_t)msize);
  if (img->name)
    json_object_set_new (
        json_array_get (json_object_get (idx, "manifests"), 0), "annotations",
        json_pack ("{s:s, s:s}", ANNOT_REF_NAME, img->name, ANNOT_CONTAINERD_NAME, img->name));
  text = json_dumps (idx, JSON_COMPACT);
  r = tar_file (&t, "index.json", 0644, text, strlen (text));
  if (r == 0)
    r = tar_finish (&t);
  if (r == 0)
    r = sys_fsync (fd);
  if (r == -EINVAL)
    r = 0; /* a pipe: nothing to make durable */
  return r < 0 ? focker_fail (err, r, "write the archive") : 0;
}

int
image_save (struct store *s, const char *ref, const char *path, struct focker_err **err)
{
  const char *slash = strrchr (path, '/');
  _cleanup_free_ char *tmp = slash
                                 ? xasprintf ("%.*s/.%s.tmp", (int)(slash - path), path, slash + 1)
                                 : xasprintf (".%s.tmp", path);
  _cleanup_close_ int fd = -1;
  struct image *img = NULL;
  bool created = false;
  int r;

  r = store_image_get (&img, s, ref, err);
  if (r < 0)
    return r;
  fd = sys_openat (AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    r = focker_fail (err, fd, "save: create %s", tmp);
  else
    {
      created = true;
      r = save_to (fd, s, img, err);
    }
  if (r == 0)
    {
      r = sys_close (TAKE_FD (fd));
      if (r == 0)
        r = sys_renameat (AT_FDCWD, tmp, AT_FDCWD, path);
      if (r < 0)
        r = focker_fail (err, r, "save: write %s", path);
    }
  if (r < 0 && created)
    sys_unlinkat (AT_FDCWD, tmp, 0);
  image_free (img);
  return r < 0 ? focker_err_prefix (err, "save %s", path) : 0;
}

int
image_save_fd (struct store *s, const char *ref, int fd, struct focker_err **err)
{
  struct image *img = NULL;
  int r = store_image_get (&img, s, ref, err);

  if (r == 0)
    r = save_to (fd, s, img, err);
  image_free (img);
  return r < 0 ? focker_err_prefix (err, "save to stdout") : 0;
}
