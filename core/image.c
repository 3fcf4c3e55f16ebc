/* image.c: assembling images (import, the default image), listing, inspecting, removing.
 *
 * An image is written bottom-up: layer blobs, each layer unpacked (which gives its diff-id),
 * the config blob, the manifest blob, and last the name in index.json, so a name never
 * refers to anything missing; a command killed half-way leaves only unnamed blobs and layers
 * that gc removes. */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/log.h"
#include "core/state.h"
#include "core/tar_write.h"

#if defined(__x86_64__)
#define IMAGE_ARCH "amd64"
#elif defined(__aarch64__)
#define IMAGE_ARCH "arm64"
#elif defined(__i386__)
#define IMAGE_ARCH "386"
#elif defined(__riscv) && __riscv_xlen == 64
#define IMAGE_ARCH "riscv64"
#else
#define IMAGE_ARCH "unknown"
#endif

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int
image_commit (struct store *s, const char *name, const struct layer_desc *layers, size_t n,
              void *config, const char *created, char id[DIGEST_LEN + 1], struct focker_err **err)
{
  _cleanup_json_ json_t *cfg = NULL, *man = NULL;
  _cleanup_free_ char *cfg_text = NULL, *man_text = NULL;
  char cfg_digest[DIGEST_LEN + 1], man_digest[DIGEST_LEN + 1];
  json_t *diffs = json_array (), *mlayers = json_array ();
  int r;

  for (size_t i = 0; i < n; i++)
    {
      json_array_append_new (diffs, json_string (layers[i].diff_id));
      json_array_append_new (mlayers, json_pack ("{s:s, s:s, s:I}", "mediaType",
                                                 layers[i].media_type, "digest", layers[i].blob,
                                                 "size", (json_int_t)layers[i].size));
    }
  cfg = json_pack ("{s:s, s:s, s:o, s:{s:s, s:o}}", "architecture", IMAGE_ARCH, "os", "linux",
                   "config", config ? (json_t *)config : json_object (), "rootfs", "type", "layers",
                   "diff_ids", diffs);
  if (created)
    json_object_set_new (cfg, "created", json_string (created));
  cfg_text = json_dumps (cfg, JSON_COMPACT);
  r = store_blob_put (s, cfg_text, strlen (cfg_text), NULL, cfg_digest, err);
  if (r < 0)
    {
      json_decref (mlayers);
      return r;
    }
  man = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                   MT_MANIFEST, "config", "mediaType", MT_CONFIG, "digest", cfg_digest, "size",
                   (json_int_t)strlen (cfg_text), "layers", mlayers);
  man_text = json_dumps (man, JSON_COMPACT);
  r = store_blob_put (s, man_text, strlen (man_text), NULL, man_digest, err);
  if (r < 0)
    return r;
  r = store_tag (s, name, man_digest, strlen (man_text), err);
  if (r < 0)
    return r;
  if (id)
    memcpy (id, cfg_digest, sizeof cfg_digest);
  return 0;
}

const char *
image_arch (void)
{
  return IMAGE_ARCH;
}

/* The layer media type from the blob's first bytes. */
int
image_sniff_media_type (struct store *s, const char *blob, const char **mt, struct focker_err **err)
{
  _cleanup_close_ int fd = store_blob_open (s, blob, err);
  unsigned char m[6] = { 0 };
  ssize_t n;

  if (fd < 0)
    return fd;
  n = read_all (fd, m, sizeof m);
  if (n < 0)
    return focker_fail (err, (int)n, "read blob %s", blob);
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
    *mt = MT_LAYER_GZIP;
  else if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
    *mt = MT_LAYER_ZSTD;
  else if ((n >= 6
            && memcmp (m,
                       "\xfd"
                       "7zXZ",
                       5)
                   == 0)
           || (n >= 3 && memcmp (m, "BZh", 3) == 0))
    return focker_fail (err, -EINVAL,
                        "xz and bzip2 have no OCI layer media type: import a tar, tar.gz or "
                        "tar.zst");
  else
    *mt = MT_LAYER;
  return 0;
}

int
image_import (struct store *s, int dirfd, const char *path, const char *name,
              char id[DIGEST_LEN + 1], struct focker_err **err)
{
  _cleanup_free_ char *ref = store_normalize_ref (name), *created = NULL;
  _cleanup_close_ int fd = -1;
  struct layer_desc l = { .media_type = MT_LAYER };
  int r;

  if (ref == NULL)
    return focker_fail (err, -EINVAL, "import: \"%s\" is not a valid image name", name);
  fd = sys_openat (dirfd, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return focker_fail (err, fd, "import: open %s", path);
  r = store_blob_from_fd (s, fd, NULL, l.blob, &l.size, err);
  if (r < 0)
    return focker_err_prefix (err, "import %s", path);
  r = image_sniff_media_type (s, l.blob, &l.media_type, err);
  if (r == 0)
    r = store_layer_ensure (s, l.blob, NULL, l.diff_id, err);
  if (r < 0)
    return focker_err_prefix (err, "import %s", path);
  created = state_now_rfc3339 ();
  return image_commit (s, ref, &l, 1,
                       json_pack ("{s:[s], s:[s]}", "Env", DEFAULT_PATH, "Cmd", "sh"), created, id,
                       err);
}

/* ---- the default image ---- */

/* Applets linked to busybox in the default image (Debian's busybox-static has them all). */
static const char *const applets[]
    = { "sh",      "ash",      "ls",    "cat",   "echo",   "ps",    "mount", "umount",   "mkdir",
        "rm",      "rmdir",    "cp",    "mv",    "ln",     "touch", "id",    "hostname", "sleep",
        "true",    "false",    "env",   "grep",  "sed",    "awk",   "head",  "tail",     "wc",
        "sort",    "uniq",     "find",  "xargs", "vi",     "less",  "kill",  "top",      "df",
        "du",      "free",     "uname", "date",  "dmesg",  "tar",   "gzip",  "gunzip",   "chmod",
        "chown",   "stat",     "test",  "[",     "printf", "pwd",   "which", "whoami",   "basename",
        "dirname", "readlink", "seq",   "tee",   "cut",    "tr",    "sync",  "nproc",    "expr",
        "ip",      "httpd",    "nc",    "wget",  "ping",   NULL };

struct membuf
{
  char *d;
  size_t len, cap;
};

static int
membuf_put (void *ctx, const void *buf, size_t len)
{
  struct membuf *m = ctx;

  if (m->len + len > m->cap)
    {
      m->cap = (m->len + len) * 2;
      m->d = xrealloc (m->d, m->cap);
    }
  memcpy (m->d + m->len, buf, len);
  m->len += len;
  return 0;
}

static int
default_layer (struct membuf *m, const char *bb, size_t bb_len)
{
  static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                               "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
  static const char group[] = "root:x:0:\nnogroup:x:65534:\n";
  struct tar_out t = { .put = membuf_put, .ctx = m, .mtime = 0 };
  int r = 0;

  static const struct
  {
    const char *name;
    mode_t mode;
  } dirs[] = { { "bin", 0755 }, { "dev", 0755 },  { "etc", 0755 },  { "proc", 0555 },
               { "sys", 0555 }, { "tmp", 01777 }, { "root", 0700 }, { "var", 0755 } };
  for (size_t i = 0; r == 0 && i < sizeof dirs / sizeof *dirs; i++)
    r = tar_dir (&t, dirs[i].name, dirs[i].mode);
  if (r == 0)
    r = tar_file (&t, "bin/busybox", 0755, bb, bb_len);
  for (const char *const *a = applets; r == 0 && *a; a++)
    {
      char name[64];
      snprintf (name, sizeof name, "bin/%s", *a);
      r = tar_symlink (&t, name, "busybox");
    }
  if (r == 0)
    r = tar_file (&t, "etc/passwd", 0644, passwd, sizeof passwd - 1);
  if (r == 0)
    r = tar_file (&t, "etc/group", 0644, group, sizeof group - 1);
  if (r == 0)
    r = tar_finish (&t);
  return r;
}

int
image_build_default (struct store *s, const char *busybox, const char *name,
                     char id[DIGEST_LEN + 1], struct focker_err **err)
{
  _cleanup_free_ char *ref = store_normalize_ref (name ? name : DEFAULT_IMAGE_NAME);
  _cleanup_free_ char *bb = NULL;
  struct membuf m = { 0 };
  struct layer_desc l = { .media_type = MT_LAYER };
  size_t bb_len;
  int r;

  if (ref == NULL)
    return focker_fail (err, -EINVAL, "\"%s\" is not a valid image name", name);
  r = read_file_at (&bb, &bb_len, AT_FDCWD, busybox, 64 * 1024 * 1024, err);
  if (r < 0)
    return focker_err_prefix (err, "default image (needs busybox-static)");
  if (bb_len < 4 || memcmp (bb, "\177ELF", 4) != 0)
    return focker_fail (err, -ENOEXEC, "default image: %s is not an ELF binary", busybox);
  r = default_layer (&m, bb, bb_len);
  if (r < 0)
    {
      free (m.d);
      return focker_fail (err, r, "default image: build its layer");
    }
  l.size = m.len;
  r = store_blob_put (s, m.d, m.len, NULL, l.blob, err);
  free (m.d);
  if (r < 0)
    return r;
  r = store_layer_ensure (s, l.blob, NULL, l.diff_id, err);
  if (r < 0)
    return r;
  return image_commit (s, ref, &l, 1,
                       json_pack ("{s:[s], s:[s]}", "Env", DEFAULT_PATH, "Cmd", "sh"),
                       "1970-01-01T00:00:00Z", id, err);
}

/* ---- list, inspect, remove ---- */

int
image_list_json (char **out, struct store *s, struct focker_err **err)
{
  _cleanup_json_ json_t *idx = NULL, *res = json_array ();
  struct focker_err *e = NULL;
  json_t *m;
  size_t i;
  int r;

  r = store_index_load ((void **)&idx, s, err);
  if (r < 0)
    return r;
  json_array_foreach (json_object_get (idx, "manifests"), i, m)
  {
    const char *name
        = json_string_value (json_object_get (json_object_get (m, "annotations"), ANNOT_REF_NAME));
    struct image *img;
    if (name == NULL)
      continue;
    r = store_image_from_manifest (&img, s, json_string_value (json_object_get (m, "digest")), &e);
    if (r == -ENOENT)
      {
        /* a blob of it is gone (removed after a crash): the others are still listed */
        focker_log ("warning", "image %s: %s (or remove it: focker rmi %s)", name, e->msg, name);
        focker_err_free (TAKE_PTR (e));
        continue;
      }
    if (r < 0)
      {
        r = focker_err_prefix (&e, "image %s", name);
        if (err)
          *err = TAKE_PTR (e);
        focker_err_free (e);
        return r;
      }
    json_array_append_new (
        res, json_pack ("{s:s, s:s, s:s, s:I, s:I, s:s?}", "name", name, "id", img->id, "digest",
                        img->manifest_digest, "size", (json_int_t)img->size, "layers",
                        (json_int_t)img->n_layers, "created",
                        json_string_value (json_object_get (img->config, "created"))));
    image_free (img);
  }
  *out = json_dumps (res, JSON_INDENT (2));
  return 0;
}

int
image_inspect_json (char **out, struct store *s, const char *ref, struct focker_err **err)
{
  struct image *img;
  _cleanup_free_ size_t *refs = NULL;
  json_t *o, *layers;
  int r;

  r = store_image_get (&img, s, ref, err);
  if (r < 0)
    return r;
  refs = xcalloc (img->n_layers + 1, sizeof *refs);
  r = store_layer_refs (s, (const char (*)[DIGEST_LEN + 1]) img->diff_ids, img->n_layers, refs,
                        err);
  if (r < 0)
    {
      image_free (img);
      return r;
    }
  layers = json_array ();
  for (size_t i = 0; i < img->n_layers; i++)
    {
      _cleanup_free_ char *p = xasprintf ("layers/sha256/%s", DIGEST_HEX (img->diff_ids[i]));
      json_t *ml = json_array_get (json_object_get (img->manifest, "layers"), i);
      json_array_append_new (layers, json_pack ("{s:s, s:s, s:O, s:O, s:b, s:I}", "digest",
                                                img->layers[i], "diff_id", img->diff_ids[i],
                                                "mediaType", json_object_get (ml, "mediaType"),
                                                "size", json_object_get (ml, "size"), "unpacked",
                                                exists_at (s->fd, p), "refs", (json_int_t)refs[i]));
    }
  o = json_pack ("{s:s?, s:s, s:s, s:I, s:O, s:o}", "name", img->name, "id", img->id, "digest",
                 img->manifest_digest, "size", (json_int_t)img->size, "config", img->config,
                 "layers", layers);
  *out = json_dumps (o, JSON_INDENT (2));
  json_decref (o);
  image_free (img);
  return 0;
}

int
image_remove (struct store *s, const char *ref, struct focker_err **err)
{
  _cleanup_free_ char *name = NULL;
  _cleanup_json_ json_t *idx = NULL;
  struct focker_err *e = NULL;
  struct image *img;
  json_t *m;
  size_t i;
  int r;

  /* by name: without reading the image (its blobs may be gone) */
  r = store_name_find (&name, s, ref, &e);
  if (r == 0)
    return store_untag (s, name, err);
  if (r != -ENOENT)
    {
      if (err)
        *err = TAKE_PTR (e);
      focker_err_free (e);
      return r;
    }
  focker_err_free (e); /* not a name: an id, maybe */
  r = store_image_get (&img, s, ref, err);
  if (r < 0)
    return r;
  /* by id: every name of that image */
  r = store_index_load ((void **)&idx, s, err);
  json_array_foreach (json_object_get (idx, "manifests"), i, m)
  {
    const char *n
        = json_string_value (json_object_get (json_object_get (m, "annotations"), ANNOT_REF_NAME));
    const char *d = json_string_value (json_object_get (m, "digest"));
    if (r == 0 && n && d && strcmp (d, img->manifest_digest) == 0)
      r = store_untag (s, n, err);
  }
  image_free (img);
  return r;
}
