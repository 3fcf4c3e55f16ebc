/* spec.c: config.json -> struct spec: the entry points, the top level of the document
 * (ociVersion, root, hostname, hooks, annotations) and freeing.
 *
 * The sections live next door: process (spec_process.c), mounts (spec_mounts.c), linux
 * (spec_linux.c, spec_resources.c, spec_seccomp.c); typed JSON access in spec_json.c.
 *
 * Invariants: the first error wins and names the JSON path; a struct being filled is always
 * in a state spec_free() can release, so error paths just free it; unknown members are
 * ignored (forward compatibility); the file is read only through the sys_* seam. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/spec.h"
#include "core/spec_internal.h"
#include "core/strv.h"

/* Largest config.json spec_load() reads: real ones are tens of kilobytes. */
#define SPEC_MAX_SIZE (64u << 20)

static const char *const hook_names[SPEC_HOOK__COUNT] = {
  [SPEC_HOOK_PRESTART] = "prestart",
  [SPEC_HOOK_CREATE_RUNTIME] = "createRuntime",
  [SPEC_HOOK_CREATE_CONTAINER] = "createContainer",
  [SPEC_HOOK_START_CONTAINER] = "startContainer",
  [SPEC_HOOK_POSTSTART] = "poststart",
  [SPEC_HOOK_POSTSTOP] = "poststop",
};

void
spec_process_free (struct spec_process *p)
{
  if (p == NULL)
    return;
  free (p->additional_gids);
  free (p->username);
  strv_free (p->args);
  free (p->command_line);
  strv_free (p->env);
  free (p->cwd);
  strv_free (p->caps.bounding);
  strv_free (p->caps.effective);
  strv_free (p->caps.inheritable);
  strv_free (p->caps.permitted);
  strv_free (p->caps.ambient);
  free (p->rlimits);
  free (p->apparmor_profile);
  free (p->selinux_label);
  free (p);
}

static void
kv_free (struct spec_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (kv[i].key);
      free (kv[i].value);
    }
  free (kv);
}

void
spec_free (struct spec *s)
{
  if (s == NULL)
    return;
  free (s->oci_version);
  spec_process_free (s->process);
  free (s->root_path);
  free (s->hostname);
  free (s->domainname);
  for (size_t i = 0; i < s->n_mounts; i++)
    spec_mount_clear (&s->mounts[i]);
  free (s->mounts);
  for (int k = 0; k < SPEC_HOOK__COUNT; k++)
    {
      for (size_t i = 0; i < s->n_hooks[k]; i++)
        {
          free (s->hooks[k][i].path);
          strv_free (s->hooks[k][i].args);
          strv_free (s->hooks[k][i].env);
        }
      free (s->hooks[k]);
    }
  kv_free (s->annotations, s->n_annotations);
  spec_linux_clear (&s->linux_);
  if (s->json)
    json_decref (s->json);
  free (s);
}

void
spec_kv_free (struct spec_kv *kv, size_t n)
{
  kv_free (kv, n);
}

/* "1.0.0" ... "1.3.x", with an optional "-pre-release" and "+build" suffix. */
static bool
oci_version_supported (const char *v, bool *v1_0)
{
  char *end;
  unsigned long major, minor;

  if (v[0] < '0' || v[0] > '9')
    return false;
  major = strtoul (v, &end, 10);
  if (*end != '.' || end[1] < '0' || end[1] > '9')
    return false;
  minor = strtoul (end + 1, &end, 10);
  if (*end != '.' || end[1] < '0' || end[1] > '9')
    return false;
  strtoul (end + 1, &end, 10);
  if (*end != '\0' && *end != '-' && *end != '+')
    return false;
  if ((*end == '-' || *end == '+') && end[1] == '\0')
    return false;
  *v1_0 = major == 1 && minor == 0;
  return major == 1 && minor <= 3;
}

static int
parse_version (struct spec_ctx *c, json_t *root, struct spec *s)
{
  int r = spec_jstring (c, root, "ociVersion", true, &s->oci_version);

  if (r < 0)
    return r;
  if (!oci_version_supported (s->oci_version, &c->v1_0))
    return spec_ctx_fail (c, "ociVersion", "unsupported version \"%s\"", s->oci_version);
  return 0;
}

static int
parse_root (struct spec_ctx *c, json_t *root, struct spec *s)
{
  json_t *obj = NULL;
  size_t mark;
  int r;

  r = spec_jobject (c, root, "root", false, &obj);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, "root");
  r = spec_jstring (c, obj, "path", true, &s->root_path);
  if (r >= 0 && s->root_path[0] == '\0')
    r = spec_ctx_fail (c, "path", "must not be empty");
  if (r >= 0)
    r = spec_jbool (c, obj, "readonly", &s->root_readonly);
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_hook (struct spec_ctx *c, json_t *e, struct spec_hook *h)
{
  int64_t timeout = 0;
  int r;

  if (!json_is_object (e))
    return spec_ctx_fail (c, NULL, "must be an object");
  r = spec_jstring (c, e, "path", true, &h->path);
  if (r >= 0)
    r = spec_check_abs (c, "path", h->path);
  if (r >= 0)
    r = spec_jstrv (c, e, "args", &h->args);
  if (r >= 0)
    r = spec_jstrv (c, e, "env", &h->env);
  if (r >= 0)
    r = spec_ji64 (c, e, "timeout", false, INT32_MIN, INT32_MAX, &timeout);
  if (r > 0 && timeout <= 0)
    r = spec_ctx_fail (c, "timeout", "must be greater than 0");
  h->timeout = (int)timeout;
  return r;
}

static int
parse_hooks (struct spec_ctx *c, json_t *root, struct spec *s)
{
  json_t *obj = NULL, *arr, *e;
  size_t mark, i;
  int r;

  r = spec_jobject (c, root, "hooks", false, &obj);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, "hooks");
  for (int k = 0; k < SPEC_HOOK__COUNT && r >= 0; k++)
    {
      size_t m2;

      arr = NULL;
      r = spec_jarray (c, obj, hook_names[k], false, &arr);
      if (r <= 0)
        continue;
      s->hooks[k] = xcalloc (json_array_size (arr), sizeof *s->hooks[k]);
      s->n_hooks[k] = json_array_size (arr);
      m2 = spec_ctx_key (c, hook_names[k]);
      json_array_foreach (arr, i, e)
      {
        size_t m3 = spec_ctx_index (c, i);
        r = parse_hook (c, e, &s->hooks[k][i]);
        spec_ctx_pop (c, m3);
        if (r < 0)
          break;
      }
      spec_ctx_pop (c, m2);
    }
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_process (struct spec_ctx *c, json_t *root, struct spec *s)
{
  json_t *obj = NULL;
  size_t mark;
  int r;

  r = spec_jobject (c, root, "process", false, &obj);
  if (r <= 0)
    return r;
  s->process = xcalloc (1, sizeof *s->process);
  mark = spec_ctx_key (c, "process");
  r = spec_parse_process_obj (c, obj, s->process);
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_linux (struct spec_ctx *c, json_t *root, struct spec *s)
{
  json_t *obj = NULL;
  size_t mark;
  int r;

  r = spec_jobject (c, root, "linux", false, &obj);
  if (r <= 0)
    return r;
  s->has_linux = true;
  mark = spec_ctx_key (c, "linux");
  r = spec_parse_linux (c, obj, &s->linux_);
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_document (struct spec_ctx *c, json_t *root, struct spec *s)
{
  int r;

  if (!json_is_object (root))
    return spec_ctx_fail (c, NULL, "must be a JSON object");
  r = parse_version (c, root, s);
  if (r >= 0)
    r = parse_root (c, root, s);
  if (r >= 0)
    r = parse_process (c, root, s);
  if (r >= 0)
    r = spec_jstring (c, root, "hostname", false, &s->hostname);
  if (r >= 0)
    r = spec_jstring (c, root, "domainname", false, &s->domainname);
  if (r >= 0)
    r = spec_parse_mounts (c, root, s);
  if (r >= 0)
    r = parse_hooks (c, root, s);
  if (r >= 0)
    r = spec_jkv (c, root, "annotations", &s->annotations, &s->n_annotations);
  if (r >= 0)
    r = parse_linux (c, root, s);
  return r < 0 ? r : 0;
}

/* Parse JSON text, rejecting duplicate keys; errors carry line and column.  Integers beyond
 * int64 (UINT64_MAX for "unlimited") make jansson fail, so such a document is read again
 * with integers as reals (see spec_json.c). */
static json_t *
load_json (const char *text, size_t len, const char *name, struct focker_err **err)
{
  json_error_t je;
  json_t *root;

  root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL && json_error_code (&je) == json_error_numeric_overflow)
    root = json_loadb (text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
  if (root == NULL)
    focker_fail (err, -EINVAL, "%s: line %d column %d: %s", name, je.line, je.column, je.text);
  return root;
}

int
spec_parse (struct spec **out, const char *text, size_t len, const char *name,
            struct focker_err **err)
{
  struct spec_ctx c = { .name = name, .err = err };
  struct spec *s;
  json_t *root;
  int r;

  root = load_json (text, len, name, err);
  if (root == NULL)
    return -EINVAL;
  s = xcalloc (1, sizeof *s);
  s->json = root;
  r = parse_document (&c, root, s);
  if (r < 0)
    {
      spec_free (s);
      return r;
    }
  *out = s;
  return 0;
}

int
spec_parse_process (struct spec_process **out, const char *text, size_t len, const char *name,
                    struct focker_err **err)
{
  struct spec_ctx c = { .name = name, .err = err };
  struct spec_process *p;
  json_t *root;
  int r;

  root = load_json (text, len, name, err);
  if (root == NULL)
    return -EINVAL;
  p = xcalloc (1, sizeof *p);
  if (!json_is_object (root))
    r = spec_ctx_fail (&c, NULL, "must be a JSON object");
  else
    r = spec_parse_process_obj (&c, root, p);
  json_decref (root);
  if (r < 0)
    {
      spec_process_free (p);
      return r;
    }
  *out = p;
  return 0;
}

int
spec_parse_resources_doc (struct spec_resources **out, const char *text, size_t len,
                          const char *name, struct focker_err **err)
{
  struct spec_ctx c = { .name = name, .err = err };
  struct spec_resources *res;
  json_t *root;
  int r;

  root = load_json (text, len, name, err);
  if (root == NULL)
    return -EINVAL;
  res = xcalloc (1, sizeof *res);
  if (!json_is_object (root))
    r = spec_ctx_fail (&c, NULL, "must be a JSON object");
  else
    r = spec_parse_resources (&c, root, res);
  json_decref (root);
  if (r < 0)
    {
      spec_resources_free (res);
      return r;
    }
  *out = res;
  return 0;
}

void
spec_resources_free (struct spec_resources *r)
{
  if (r == NULL)
    return;
  spec_resources_clear (r);
  free (r);
}

/* Read a whole file through the seam. */
static int
read_all (int dirfd, const char *path, char **buf, size_t *len, struct focker_err **err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *b = NULL;
  size_t n = 0, cap = 0;
  ssize_t k;

  fd = sys_openat (dirfd, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return focker_fail (err, fd, "open %s", path);
  for (;;)
    {
      if (cap - n < 4096)
        {
          if (cap >= SPEC_MAX_SIZE)
            return focker_fail (err, -EFBIG, "%s: larger than %u bytes", path, SPEC_MAX_SIZE);
          cap = cap ? cap * 2 : 16384;
          b = xrealloc (b, cap);
        }
      k = sys_read (fd, b + n, cap - n);
      if (k == -EINTR)
        continue;
      if (k < 0)
        return focker_fail (err, (int)k, "read %s", path);
      if (k == 0)
        break;
      n += (size_t)k;
    }
  *buf = TAKE_PTR (b);
  *len = n;
  return 0;
}

int
spec_load (struct spec **out, int dirfd, const char *path, struct focker_err **err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  int r;

  r = read_all (dirfd, path, &buf, &len, err);
  if (r < 0)
    return r;
  return spec_parse (out, buf, len, path, err);
}
