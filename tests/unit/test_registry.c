/* test_registry.c: pull and push on the fake kernel against a scripted registry (an
 * in-memory reg_transport): references, platforms, auth challenges and auth files as tables;
 * a multi-layer pull into the store, an index, pulls by digest, Basic and Bearer auth, a
 * transfer cut off and resumed with a range, a download a killed pull left and the next one
 * resumes, a blob with the wrong content refused, a fault loop over pull, and push. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/registry.h"
#include "core/store.h"
#include "core/strv.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"
#include "tests/unit/tarbuild.h"

#define STORE "/var/lib/focker"
#define REG "https://reg.test"
#define BASIC_UP "Authorization: Basic dTpw" /* u:p */
#define CHALLENGE_BEARER                                                                           \
  "Bearer "                                                                                        \
  "realm=\"https://auth.test/token\",service=\"reg.test\",scope=\"repository:lib/app:pull\""

/* ---- the scripted registry ---- */

struct item
{
  char *key; /* a blob's digest, or "manifest:<tag or digest>" */
  char *mt;
  char *data;
  size_t len;
};

enum fake_auth
{
  AUTH_NONE,
  AUTH_BASIC,
  AUTH_BEARER
};

struct done
{
  int h;
  struct reg_response r;
};

struct fake_reg
{
  struct reg_transport t;
  struct item items[32];
  size_t n_items;
  enum fake_auth auth;
  const char *cut; /* this blob is cut off at cut_at bytes, cuts times */
  size_t cut_at;
  int cuts;
  const char *corrupt;   /* this blob is served with one byte changed */
  bool http_realm;       /* the Bearer challenge names an http:// token service */
  bool no_ranges;        /* answer 200 to a range request, as focker-fetch reports it */
  const char *location;  /* where POST sends uploads (default: the registry's own path) */
  size_t auth_elsewhere; /* requests to another host that carried an Authorization header */
  uid_t helper_uid;      /* the uid the (fake) focker-fetch ran as */
  int helper_bodies;     /* blob bodies it was asked to write to fd 3 */
  int helper_body_files; /* ... of which fd 3 was not a pipe (the download itself) */
  const char *local;     /* "http" or "https": the registry is localhost:5000, on this scheme */
  int wrong_scheme;      /* what the other scheme answers: 0 (no HTTP) or 400 */
  size_t http_asks, https_asks; /* requests to localhost:5000 over each scheme */
  struct done q[8];
  size_t nq, max_inflight;
  int next_h;
  size_t blob_gets, token_gets, uploads;
  uint64_t last_range;
  size_t ca_asks; /* requests that carried CAs: each ca_pem equal to ca_expect */
  const char *ca_expect;
  size_t cert_asks; /* requests that carried a client certificate: cert_expect, key_expect */
  const char *cert_expect, *key_expect;
};

static struct fake_reg *the_reg;

static void
reg_put (struct fake_reg *f, const char *key, const char *mt, const char *data, size_t len)
{
  struct item *it = &f->items[f->n_items++];

  it->key = xstrdup (key);
  it->mt = mt ? xstrdup (mt) : NULL;
  it->data = xmalloc (len + 1);
  memcpy (it->data, data, len);
  it->len = len;
}

static struct item *
reg_get (struct fake_reg *f, const char *key)
{
  for (size_t i = 0; i < f->n_items; i++)
    if (strcmp (f->items[i].key, key) == 0)
      return &f->items[i];
  return NULL;
}

static bool
has_header (const struct reg_request *rq, const char *h)
{
  for (char *const *p = rq->headers; p && *p; p++)
    if (strcmp (*p, h) == 0)
      return true;
  return false;
}

static void
answer (struct reg_response *r, int status, const char *body)
{
  r->status = status;
  if (body)
    {
      r->body = xstrdup (body);
      r->body_len = strlen (body);
    }
}

static void
header (struct reg_response *r, const char *name, const char *value)
{
  char *line = xasprintf ("%s: %s", name, value);
  strv_push (&r->headers, line);
  free (line);
}

static bool
authorized (struct fake_reg *f, const struct reg_request *rq, struct reg_response *r)
{
  if (f->auth == AUTH_BASIC && !has_header (rq, BASIC_UP))
    header (r, "www-authenticate", "Basic realm=\"reg\"");
  else if (f->auth == AUTH_BEARER && !has_header (rq, "Authorization: Bearer T1"))
    header (r, "www-authenticate",
            f->http_realm ? "Bearer realm=\"http://auth.test/token\"" : CHALLENGE_BEARER);
  else
    return true;
  answer (r, 401, "{\"errors\":[{\"message\":\"authentication required\"}]}");
  return false;
}

static void
serve_blob (struct fake_reg *f, const struct reg_request *rq, struct item *it,
            struct reg_response *r)
{
  size_t from = rq->range_from, end = it->len;
  _cleanup_free_ char *data = xmalloc (it->len + 1);

  memcpy (data, it->data, it->len);
  if (f->corrupt && strcmp (f->corrupt, it->key) == 0)
    data[it->len / 2] ^= 1;
  f->blob_gets++;
  f->last_range = rq->range_from;
  if (f->cut && strcmp (f->cut, it->key) == 0 && f->cuts > 0)
    {
      f->cuts--;
      if (end > f->cut_at)
        end = f->cut_at > from ? f->cut_at : from;
      r->error = xstrdup ("transfer closed with outstanding read data remaining");
    }
  if (from > 0 && f->no_ranges)
    {
      answer (r, 200, NULL);
      r->error = xstrdup ("the server ignored the range");
      return;
    }
  answer (r, from > 0 ? 206 : 200, NULL);
  if (from >= end)
    return;
  if (write_all (rq->out_fd, data + from, end - from) < 0)
    {
      free (r->error);
      r->error = xstrdup ("cannot write the response body");
    }
  else
    {
      if (rq->hash)
        {
          digest_update (rq->hash, data + from, end - from);
          r->hashed = end - from;
        }
      /* as the helper transport does: the tee gets what the file got, or is dropped */
      if (rq->tee_fd >= 0 && write_all (rq->tee_fd, data + from, end - from) == 0)
        r->teed = end - from;
    }
}

/* The TLS material a request carries: the CAs and client certificate expected, and the
 * certificate only to the registry itself (never to the token service or blob storage). */
static void
check_tls (struct fake_reg *f, const struct reg_request *rq)
{
  if (rq->tls.ca_pem)
    {
      assert_non_null (f->ca_expect);
      assert_string_equal (rq->tls.ca_pem, f->ca_expect);
      f->ca_asks++;
    }
  if (rq->tls.cert_pem || rq->tls.key_pem)
    {
      assert_non_null (f->cert_expect);
      assert_string_equal (rq->tls.cert_pem, f->cert_expect);
      assert_string_equal (rq->tls.key_pem, f->key_expect);
      assert_int_equal (strncmp (rq->url, REG "/", strlen (REG "/")), 0);
      f->cert_asks++;
    }
}

static void
serve (struct fake_reg *f, const struct reg_request *rq, struct reg_response *r)
{
  const char *path = rq->url + strlen (REG);
  char digest[DIGEST_LEN + 1];
  struct item *it;

  check_tls (f, rq);
  if (strncmp (rq->url, "https://storage.test/", 21) == 0)
    {
      /* blob storage on another host (the upload Location points here) */
      for (char *const *h = rq->headers; h && *h; h++)
        f->auth_elsewhere += strncmp (*h, "Authorization:", 14) == 0;
      path = strstr (rq->url, "/v2/lib/app/");
      assert_non_null (path);
      path += strlen ("/v2/lib/app/");
      goto upload;
    }

  if (strncmp (rq->url, "https://auth.test/token?", 24) == 0)
    {
      f->token_gets++;
      if (strstr (rq->url, "scope=repository%3Alib%2Fapp%3Apull") == NULL)
        answer (r, 400, "{}");
      else if (has_header (rq, BASIC_UP))
        answer (r, 200, "{\"token\":\"T1\"}");
      else
        answer (r, 401, "{}");
      return;
    }
  assert_true (strncmp (rq->url, REG "/v2/lib/app/", strlen (REG "/v2/lib/app/")) == 0);
  if (!authorized (f, rq, r))
    return;
  path += strlen ("/v2/lib/app/");
  if (strncmp (path, "manifests/", 10) == 0)
    {
      _cleanup_free_ char *key = xasprintf ("manifest:%s", path + 10);
      if (strcmp (rq->method, "PUT") == 0)
        {
          digest_buffer (rq->body, strlen (rq->body), digest);
          reg_put (f, key, "application/vnd.oci.image.manifest.v1+json", rq->body,
                   strlen (rq->body));
          free (key);
          key = xasprintf ("manifest:%s", digest);
          reg_put (f, key, "application/vnd.oci.image.manifest.v1+json", rq->body,
                   strlen (rq->body));
          answer (r, 201, NULL);
          return;
        }
      it = reg_get (f, key);
      if (it == NULL)
        {
          answer (r, 404,
                  "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
                  "unknown\"}]}");
          return;
        }
      answer (r, 200, NULL);
      r->body = xmalloc (it->len + 1);
      memcpy (r->body, it->data, it->len);
      r->body[it->len] = '\0';
      r->body_len = it->len;
      header (r, "content-type", it->mt);
      digest_buffer (it->data, it->len, digest);
      header (r, "docker-content-digest", digest);
      return;
    }
  if (strcmp (path, "blobs/uploads/") == 0 && strcmp (rq->method, "POST") == 0)
    {
      answer (r, 202, NULL);
      header (r, "location", f->location ? f->location : "/v2/lib/app/blobs/uploads/u1?state=s");
      return;
    }
upload:
  if (strncmp (path, "blobs/uploads/u1?state=s&digest=", 32) == 0)
    {
      _cleanup_free_ char *data = xmalloc (rq->body_size + 1);
      assert_string_equal (rq->method, "PUT");
      assert_int_equal (read_all (rq->body_fd, data, rq->body_size), (ssize_t)rq->body_size);
      digest_buffer (data, rq->body_size, digest);
      assert_string_equal (digest, path + 32);
      reg_put (f, digest, NULL, data, rq->body_size);
      f->uploads++;
      answer (r, 201, NULL);
      return;
    }
  if (strncmp (path, "blobs/", 6) == 0 && (it = reg_get (f, path + 6)) != NULL)
    {
      if (strcmp (rq->method, "HEAD") == 0)
        answer (r, 200, NULL);
      else
        serve_blob (f, rq, it, r);
      return;
    }
  answer (r, 404, "{\"errors\":[{\"message\":\"blob unknown\"}]}");
}

static int
fake_start (struct reg_transport *t, const struct reg_request *rq, struct focker_err **err)
{
  struct fake_reg *f = (struct fake_reg *)t;
  struct done *d = &f->q[f->nq++];

  assert_true (f->nq < 8);
  memset (d, 0, sizeof *d);
  d->h = f->next_h++;
  if (f->local && strstr (rq->url, "://localhost:5000/") != NULL)
    {
      const char *path = strstr (rq->url, "://localhost:5000/") + strlen ("://localhost:5000");
      bool https = strncmp (rq->url, "https://", 8) == 0;
      _cleanup_free_ char *url = xasprintf (REG "%s", path);
      struct reg_request mapped = *rq;
      *(https ? &f->https_asks : &f->http_asks) += 1;
      if (strcmp (f->local, https ? "https" : "http") != 0)
        {
          d->r.status = f->wrong_scheme;
          d->r.error = f->wrong_scheme ? NULL : xstrdup ("wrong version number");
          return d->h;
        }
      mapped.url = url;
      serve (f, &mapped, &d->r);
      return d->h;
    }
  serve (f, rq, &d->r);
  if (f->nq > f->max_inflight)
    f->max_inflight = f->nq;
  return d->h;
}

static int
fake_wait (struct reg_transport *t, int timeout_ms, struct reg_response *resp,
           struct focker_err **err)
{
  struct fake_reg *f = (struct fake_reg *)t;
  int h;

  if (f->nq == 0)
    return focker_fail (err, -ECHILD, "fake registry: nothing to wait for");
  h = f->q[0].h;
  *resp = f->q[0].r;
  memmove (&f->q[0], &f->q[1], (f->nq - 1) * sizeof f->q[0]);
  f->nq--;
  return h;
}

static void
fake_cancel (struct reg_transport *t)
{
  struct fake_reg *f = (struct fake_reg *)t;

  for (size_t i = 0; i < f->nq; i++)
    reg_response_free (&f->q[i].r);
  f->nq = 0;
}

static struct fake_reg *
fake_reg_new (void)
{
  struct fake_reg *f = xcalloc (1, sizeof *f);

  f->t.start = fake_start;
  f->t.wait = fake_wait;
  f->t.cancel = fake_cancel;
  the_reg = f;
  return f;
}

static void
fake_reg_free (struct fake_reg *f)
{
  fake_cancel (&f->t);
  for (size_t i = 0; i < f->n_items; i++)
    {
      free (f->items[i].key);
      free (f->items[i].mt);
      free (f->items[i].data);
    }
  free (f);
}

/* ---- images in the registry ---- */

struct img_digests
{
  char manifest[DIGEST_LEN + 1], config[DIGEST_LEN + 1], layers[3][DIGEST_LEN + 1];
  size_t manifest_len;
};

/* A three-layer image (plain tar layers: the diff-id is the blob digest) under `tag`; each
 * layer has /<marker>-<i>. */
static void
publish_image (struct fake_reg *f, const char *tag, const char *marker, const char *arch,
               struct img_digests *out)
{
  json_t *diffs = json_array (), *layers = json_array ();
  struct img_digests d;
  char *text;

  for (int i = 0; i < 3; i++)
    {
      struct tarb *t = tarb_new (TARB_NONE);
      char path[64];
      size_t len;
      /* marker "evil": layer 1 tries to write outside itself */
      snprintf (path, sizeof path, "%s%s-%d", i == 1 && strcmp (marker, "evil") == 0 ? "../" : "",
                marker, i);
      tarb_file (t, path, "content of a layer, padded a little to be worth a range", 0644);
      const char *buf = tarb_end (t, &len);
      digest_buffer (buf, len, d.layers[i]);
      reg_put (f, d.layers[i], NULL, buf, len);
      json_array_append_new (diffs, json_string (d.layers[i]));
      json_array_append_new (layers, json_pack ("{s:s, s:s, s:I}", "mediaType", MT_LAYER, "digest",
                                                d.layers[i], "size", (json_int_t)len));
      tarb_free (t);
    }
  json_t *cfg
      = json_pack ("{s:s, s:s, s:{s:[s]}, s:{s:s, s:o}}", "architecture", arch, "os", "linux",
                   "config", "Cmd", "/bin/sh", "rootfs", "type", "layers", "diff_ids", diffs);
  text = json_dumps (cfg, JSON_COMPACT);
  digest_buffer (text, strlen (text), d.config);
  reg_put (f, d.config, NULL, text, strlen (text));
  json_t *man = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                           MT_MANIFEST, "config", "mediaType", MT_CONFIG, "digest", d.config,
                           "size", (json_int_t)strlen (text), "layers", layers);
  free (text);
  text = json_dumps (man, JSON_COMPACT);
  digest_buffer (text, strlen (text), d.manifest);
  d.manifest_len = strlen (text);
  char *key = xasprintf ("manifest:%s", tag);
  reg_put (f, key, MT_MANIFEST, text, strlen (text));
  free (key);
  key = xasprintf ("manifest:%s", d.manifest);
  reg_put (f, key, MT_MANIFEST, text, strlen (text));
  free (key);
  free (text);
  json_decref (cfg);
  json_decref (man);
  if (out)
    *out = d;
}

/* An index under `tag` naming two images: linux/amd64 and linux/arm64/v8. */
static void
publish_index (struct fake_reg *f, const char *tag, char digest[DIGEST_LEN + 1])
{
  struct img_digests a, b;
  char *text, *key;

  publish_image (f, "amd", "amd", "amd64", &a);
  publish_image (f, "arm", "arm", "arm64", &b);
  json_t *idx = json_pack (
      "{s:i, s:s, s:[{s:s, s:s, s:I, s:{s:s, s:s}}, {s:s, s:s, s:I, s:{s:s, s:s, s:s}}]}",
      "schemaVersion", 2, "mediaType", MT_INDEX, "manifests", "mediaType", MT_MANIFEST, "digest",
      b.manifest, "size", (json_int_t)b.manifest_len, "platform", "os", "linux", "architecture",
      "arm64", "mediaType", MT_MANIFEST, "digest", a.manifest, "size", (json_int_t)a.manifest_len,
      "platform", "os", "linux", "architecture", "amd64", "variant", "v1");
  text = json_dumps (idx, JSON_COMPACT);
  digest_buffer (text, strlen (text), digest);
  key = xasprintf ("manifest:%s", tag);
  reg_put (f, key, MT_INDEX, text, strlen (text));
  free (key);
  key = xasprintf ("manifest:%s", digest);
  reg_put (f, key, MT_INDEX, text, strlen (text));
  free (key);
  free (text);
  json_decref (idx);
}

static struct reg_opts
opts (struct fake_reg *f)
{
  return (struct reg_opts){ .t = &f->t, .tls_verify = true };
}

/* A fake kernel, a scripted registry, an open store, options using the registry. */
#define WORLD(k, f, s, o)                                                                          \
  struct fake_kernel *k = fake_kernel_new (NULL);                                                  \
  struct fake_reg *f = fake_reg_new ();                                                            \
  struct store *s = fx_store_open (STORE, false);                                                  \
  struct reg_opts o = opts (f)
#define WORLD_END(k, f, s)                                                                         \
  do                                                                                               \
    {                                                                                              \
      store_close (s);                                                                             \
      fake_reg_free (f);                                                                           \
      fake_kernel_free (k);                                                                        \
    }                                                                                              \
  while (0)

static int
pull (struct store *s, const char *ref, const struct reg_opts *o, char **name,
      struct focker_err **err)
{
  char id[DIGEST_LEN + 1];
  return registry_pull (s, ref, o, name, id, err);
}

static void
layer_has (struct fake_kernel *k, struct store *s, const char *diff_id, const char *file)
{
  _cleanup_free_ char *dir = store_layer_path (s, diff_id);
  _cleanup_free_ char *path = xasprintf ("%s/%s", dir, file);
  assert_true (fake_exists (k, path));
}

/* ---- tables ---- */

static void
references_parse_as_docker_does (void **state)
{
  static const struct
  {
    const char *in, *registry, *host, *repo, *tag, *digest;
  } ok[] = {
    { "busybox", "docker.io", "registry-1.docker.io", "library/busybox", "latest", NULL },
    { "user/app:1.0", "docker.io", "registry-1.docker.io", "user/app", "1.0", NULL },
    { "localhost:5000/a/b", "localhost:5000", "localhost:5000", "a/b", "latest", NULL },
    { "localhost/app", "localhost", "localhost", "app", "latest", NULL },
    { "quay.io/x/y_z.w-v:Tag_1", "quay.io", "quay.io", "x/y_z.w-v", "Tag_1", NULL },
    { "127.0.0.1:5000/app@sha256:"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "127.0.0.1:5000", "127.0.0.1:5000", "app", NULL,
      "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
    { "r.io/a__b:t@sha256:"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "r.io", "r.io", "a__b", "t",
      "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
  };
  static const char *const bad[] = {
    "",        "UPPER/case",  "r.io/",           "r.io/a//b", "r.io/a:",    "r.io/a:-tag",
    "r.io/-a", "a@sha256:12", "r.io/a@md5:0123", "r io/a",    "r.io/a:t:u", "r.io/a..b",
    "/abs",    "r.io/a/",
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      struct reg_ref r;
      if (reg_ref_parse (&r, ok[i].in, &err) < 0)
        fail_msg ("%s: %s", ok[i].in, err->msg);
      assert_string_equal (r.registry, ok[i].registry);
      assert_string_equal (r.host, ok[i].host);
      assert_string_equal (r.repo, ok[i].repo);
      if (ok[i].tag)
        assert_string_equal (r.tag, ok[i].tag);
      else
        assert_null (r.tag);
      if (ok[i].digest)
        assert_string_equal (r.digest, ok[i].digest);
      else
        assert_null (r.digest);
      reg_ref_free (&r);
    }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      struct reg_ref r;
      if (reg_ref_parse (&r, bad[i], &err) == 0)
        fail_msg ("\"%s\" was accepted", bad[i]);
      assert_int_equal (err->code, -EINVAL);
      assert_non_null (strstr (err->msg, "image reference"));
    }
  assert_true (reg_host_is_local ("localhost:5000"));
  assert_true (reg_host_is_local ("127.0.0.1"));
  assert_true (reg_host_is_local ("[::1]:80"));
  assert_false (reg_host_is_local ("localhost.evil.com"));
  assert_false (reg_host_is_local ("127.0.0.10:5000"));
}

static void
platform_is_chosen_from_an_index (void **state)
{
  json_t *list = json_loads (
      "[{\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
      "{\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
      "{\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
      "{\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
      "{\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
      "{\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}},"
      "{\"no\":\"platform\"}]",
      0, NULL);
  static const struct
  {
    const char *want;
    int index;
  } cases[] = {
    { "linux/amd64", 4 },    { "windows/amd64", 5 },      { "linux/arm", 2 },
    { "linux/arm/v6", 1 },   { "linux/arm/v7", 2 },       { "linux/arm64", 3 },
    { "linux/arm64/v8", 3 }, { "linux/arm/v5", -ENOENT }, { "linux/s390x", -ENOENT },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      struct reg_platform p;
      assert_int_equal (reg_platform_parse (&p, cases[i].want, &err), 0);
      if (reg_platform_select (list, &p) != cases[i].index)
        fail_msg ("%s: got %d, want %d", cases[i].want, reg_platform_select (list, &p),
                  cases[i].index);
    }
  struct reg_platform host;
  _cleanup_err_ struct focker_err *err = NULL;
  assert_int_equal (reg_platform_parse (&host, NULL, &err), 0);
  assert_string_equal (host.os, "linux");
  assert_string_equal (host.arch, image_arch ());
  for (const char *const *b
       = (const char *const[]){ "linux", "linux/", "/amd64", "a/b/c/d", "linux//amd64", NULL };
       *b; b++)
    {
      _cleanup_err_ struct focker_err *e = NULL;
      assert_int_equal (reg_platform_parse (&host, *b, &e), -EINVAL);
      assert_non_null (strstr (e->msg, "--platform"));
    }
  json_decref (list);
}

static void
auth_challenges_parse_and_hostile_ones_are_refused (void **state)
{
  static const struct
  {
    const char *in, *scheme, *realm, *service, *scope;
  } ok[] = {
    { CHALLENGE_BEARER, "bearer", "https://auth.test/token", "reg.test",
      "repository:lib/app:pull" },
    { "Basic realm=\"Registry Realm\"", "basic", "Registry Realm", NULL, NULL },
    { "BASIC", "basic", NULL, NULL, NULL },
    { "bearer realm=http://a/t, service=s , other=\"x\"", "bearer", "http://a/t", "s", NULL },
    { "Bearer realm=\"https://a/t\",scope=\"repository:a:pull,push\"", "bearer", "https://a/t",
      NULL, "repository:a:pull,push" },
    { "Bearer realm=\"https://a/\\\"q\"", "bearer", "https://a/\"q", NULL, NULL },
  };
  static const char *const bad[] = {
    "",
    "Bearer",                                         /* no realm */
    "Bearer realm=\"file:///etc/passwd\"",            /* not http(s) */
    "Bearer realm=\"https://a/t",                     /* unterminated */
    "Bearer realm=\"https://a/t\" junk",              /* garbage after a parameter */
    "Bearer realm=\"https://a\",realm=\"https://b\"", /* which one? */
    "Bearer =x",
    "Bearer realm",
    "\"Bearer\" realm=x",
    "Bearerrealmrealmrealmrealmrealm realm=x", /* scheme too long */
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      struct reg_challenge c;
      if (reg_challenge_parse (&c, ok[i].in, &err) < 0)
        fail_msg ("%s: %s", ok[i].in, err->msg);
      assert_string_equal (c.scheme, ok[i].scheme);
#define EQ(a, b)                                                                                   \
  do                                                                                               \
    if (b)                                                                                         \
      assert_string_equal (a, b);                                                                  \
    else                                                                                           \
      assert_null (a);                                                                             \
  while (0)
      EQ (c.realm, ok[i].realm);
      EQ (c.service, ok[i].service);
      EQ (c.scope, ok[i].scope);
      reg_challenge_free (&c);
    }
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      struct reg_challenge c;
      if (reg_challenge_parse (&c, bad[i], &err) == 0)
        fail_msg ("\"%s\" was accepted", bad[i]);
      assert_int_equal (err->code, -EINVAL);
    }
  _cleanup_err_ struct focker_err *err = NULL;
  struct reg_challenge c;
  assert_int_equal (reg_challenge_parse (&c, "Negotiate abc", &err), -EOPNOTSUPP);
  assert_non_null (strstr (err->msg, "Negotiate"));
}

static void
credentials_come_from_an_auth_file (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  char *user = NULL, *pass = NULL;

  assert_int_equal (fake_write_file (k, "/auth.json",
                                     "{\"auths\":{\"reg.test\":{\"auth\":\"dTpwOnc=\"},"
                                     "\"https://index.docker.io/v1/\":{\"auth\":\"ZDpo\"},"
                                     "\"bad.test\":{\"auth\":\"!!!\"},"
                                     "\"nocolon.test\":{\"auth\":\"dXNlcg==\"}}}",
                                     0600),
                    0);
  assert_int_equal (reg_creds_from_file (&user, &pass, "/auth.json", "reg.test", &err), 0);
  assert_string_equal (user, "u");
  assert_string_equal (pass, "p:w"); /* the password may hold a colon */
  free (user);
  free (pass);
  assert_int_equal (reg_creds_from_file (&user, &pass, "/auth.json", "docker.io", &err), 0);
  assert_string_equal (user, "d");
  assert_string_equal (pass, "h");
  free (user);
  free (pass);
  assert_int_equal (reg_creds_from_file (&user, &pass, "/auth.json", "other.test", &err), -ENOENT);
  assert_int_equal (reg_creds_from_file (&user, &pass, "/missing.json", "reg.test", &err), -ENOENT);
  assert_null (err);
  assert_int_equal (reg_creds_from_file (&user, &pass, "/auth.json", "bad.test", &err), -EINVAL);
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (reg_creds_from_file (&user, &pass, "/auth.json", "nocolon.test", &err),
                    -EINVAL);
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (fake_write_file (k, "/bad.json", "[1]", 0600), 0);
  assert_int_equal (reg_creds_from_file (&user, &pass, "/bad.json", "reg.test", &err), -EINVAL);
  fake_kernel_free (k);
}

/* ---- pulls ---- */

/* Does the journal from `from` on show pid `pid` calling execve (a helper, not an unpacker)? */
static bool
execs_after (struct fake_kernel *k, pid_t pid, size_t from)
{
  for (size_t i = from; i < fake_journal_len (k); i++)
    if (fake_journal_at (k, i)->pid == pid && fake_journal_at (k, i)->id == SYS_ID_execve)
      return true;
  return false;
}

/* Processes left besides pid 1 and the test's: unpackers (and with `helpers`, focker-fetch
 * processes too) not reaped. */
static int
children_left (struct fake_kernel *k, bool helpers)
{
  int n = 0;

  for (pid_t p = 2; p < 8192; p++)
    n += p != fake_current_pid (k) && fake_proc (k, p) != NULL
         && (helpers || !execs_after (k, p, 0));
  return n;
}

/* focker-fetch processes left (live or zombies). */
static int
helpers_left (struct fake_kernel *k)
{
  return children_left (k, true) - children_left (k, false);
}

/* Journal entries from `from` on of `id` whose arguments hold `needle`. */
static size_t
calls_with (struct fake_kernel *k, size_t from, enum sys_id id, const char *needle)
{
  size_t n = 0;

  for (size_t i = from; i < fake_journal_len (k); i++)
    n += fake_journal_at (k, i)->id == id && strstr (fake_journal_at (k, i)->args, needle);
  return n;
}

/* How many layer blobs of `d` were opened from the store (an unpack from the blob, not from
 * the download) since journal entry `from`. */
static size_t
layer_blob_reads (struct fake_kernel *k, size_t from, const struct img_digests *d)
{
  size_t n = 0;

  for (int i = 0; i < 3; i++)
    {
      char path[100];
      snprintf (path, sizeof path, "blobs/sha256/%s", DIGEST_HEX (d->layers[i]));
      n += calls_with (k, from, SYS_ID_openat, path);
    }
  return n;
}

static void
pull_fetches_every_layer_in_parallel_and_unpacks_them (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL, *name2 = NULL;
  struct img_digests d;
  struct image *img;

  publish_image (f, "latest", "app", "amd64", &d);
  if (pull (s, "reg.test/lib/app", &o, &name, &err) < 0)
    fail_msg ("pull: %s", err->msg);
  assert_string_equal (name, "reg.test/lib/app:latest");
  assert_int_equal (f->blob_gets, 4);
  assert_true (f->max_inflight >= 3); /* config and layers at once */
  assert_int_equal (store_image_get (&img, s, name, &err), 0);
  assert_string_equal (img->manifest_digest, d.manifest);
  assert_int_equal (img->n_layers, 3);
  for (int i = 0; i < 3; i++)
    {
      char file[16];
      snprintf (file, sizeof file, "app-%d", i);
      layer_has (k, s, d.layers[i], file);
    }
  image_free (img);
  fx_store_check (STORE);
  /* a second name for the same blobs: nothing fetched again */
  reg_put (f, "manifest:v2", MT_MANIFEST, reg_get (f, "manifest:latest")->data,
           reg_get (f, "manifest:latest")->len);
  assert_int_equal (pull (s, "reg.test/lib/app:v2", &o, &name2, &err), 0);
  assert_int_equal (f->blob_gets, 4);
  store_close (s);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  fake_reg_free (f);
  fake_kernel_free (k);
}

/* A local registry is asked over http first, and over https when it answers as a TLS server
 * does: nothing at all, or a 400. */
static void
a_local_registry_is_asked_over_http_then_https (void **state)
{
  static const struct
  {
    const char *serves;
    int wrong;
    size_t http_asks, https_asks;
  } cases[] = {
    { "http", 0, 5, 0 },  /* plain HTTP: https is never tried */
    { "https", 0, 1, 5 }, /* TLS: the plain request gets no HTTP answer */
    { "https", 400, 1, 5 },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      WORLD (k, f, s, o);
      _cleanup_err_ struct focker_err *err = NULL;
      _cleanup_free_ char *name = NULL;
      struct img_digests d;

      f->local = cases[i].serves;
      f->wrong_scheme = cases[i].wrong;
      publish_image (f, "latest", "app", "amd64", &d);
      if (pull (s, "localhost:5000/lib/app", &o, &name, &err) < 0)
        fail_msg ("case %zu: pull: %s", i, err->msg);
      assert_int_equal (f->http_asks, cases[i].http_asks);
      assert_int_equal (f->https_asks, cases[i].https_asks);
      assert_int_equal (f->blob_gets, 4);
      WORLD_END (k, f, s);
    }
}

static void
pull_of_an_index_takes_the_platform_asked_for (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  char *name = NULL, idx[DIGEST_LEN + 1];
  struct image *img;

  publish_index (f, "multi", idx);
  if (pull (s, "reg.test/lib/app:multi", &o, &name, &err) < 0)
    fail_msg ("pull: %s", err->msg);
  assert_int_equal (store_image_get (&img, s, name, &err), 0);
  assert_string_equal (json_string_value (json_object_get (img->config, "architecture")),
                       image_arch ());
  image_free (img);
  free (name);
  o.platform = "linux/arm64";
  _cleanup_free_ char *by_digest = xasprintf ("reg.test/lib/app@%s", idx);
  assert_int_equal (pull (s, by_digest, &o, &name, &err), 0);
  assert_string_equal (name, by_digest);
  assert_int_equal (store_image_get (&img, s, name, &err), 0);
  assert_string_equal (json_string_value (json_object_get (img->config, "architecture")), "arm64");
  image_free (img);
  free (name);
  o.platform = "linux/s390x";
  assert_int_equal (pull (s, "reg.test/lib/app:multi", &o, &name, &err), -ENOENT);
  assert_non_null (strstr (err->msg, "no image for linux/s390x"));
  WORLD_END (k, f, s);
}

static void
pull_answers_basic_and_bearer_challenges (void **state)
{
  for (int mode = AUTH_BASIC; mode <= AUTH_BEARER; mode++)
    {
      WORLD (k, f, s, o);
      _cleanup_err_ struct focker_err *err = NULL;
      _cleanup_free_ char *name = NULL;

      f->auth = mode;
      publish_image (f, "latest", "app", "amd64", NULL);
      assert_int_equal (pull (s, "reg.test/lib/app", &o, &name, &err), -EACCES);
      assert_non_null (strstr (err->msg, "reg.test"));
      focker_err_free (TAKE_PTR (err));
      o.user = "u";
      o.pass = "wrong";
      assert_int_equal (pull (s, "reg.test/lib/app", &o, &name, &err), -EACCES);
      focker_err_free (TAKE_PTR (err));
      o.pass = "p";
      if (pull (s, "reg.test/lib/app", &o, &name, &err) < 0)
        fail_msg ("pull: %s", err->msg);
      if (mode == AUTH_BEARER)
        {
          assert_int_equal (f->token_gets, 3); /* the token is fetched once per pull */
          /* a token service over plain http gets no password from an https registry */
          f->http_realm = true;
          free (TAKE_PTR (name));
          assert_int_equal (pull (s, "reg.test/lib/app", &o, &name, &err), -EACCES);
          assert_non_null (strstr (err->msg, "not https"));
          assert_int_equal (f->token_gets, 3);
        }
      fx_store_check (STORE);
      WORLD_END (k, f, s);
    }
}

static void
a_transfer_cut_off_is_resumed_with_a_range (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  struct img_digests d;

  publish_image (f, "latest", "app", "amd64", &d);
  o.parallel = 1;
  f->cut = d.layers[1];
  f->cut_at = 700;
  f->cuts = 2;
  if (pull (s, "reg.test/lib/app", &o, &name, &err) < 0)
    fail_msg ("pull: %s", err->msg);
  assert_int_equal (f->blob_gets, 6); /* the cut layer three times */
  fx_store_check (STORE);
  store_close (s);
  /* cut off every time: an error naming the blob, nothing left */
  s = fx_store_open (STORE, false);
  publish_image (f, "other", "other", "amd64", &d);
  f->cut = d.layers[0];
  f->cuts = 100;
  free (TAKE_PTR (name));
  assert_int_equal (pull (s, "reg.test/lib/app:other", &o, &name, &err), -EIO);
  assert_non_null (strstr (err->msg, d.layers[0]));
  assert_non_null (strstr (err->msg, "cut off"));
  fx_store_check (STORE);
  WORLD_END (k, f, s);
}

static void
a_download_a_killed_pull_left_is_resumed (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL, *tmp = NULL;
  struct img_digests d;

  publish_image (f, "latest", "app", "amd64", &d);
  struct item *it = reg_get (f, d.layers[2]);
  tmp = xasprintf (STORE "/blobs/.tmp-pull-%s", DIGEST_HEX (d.layers[2]));
  put_bytes (tmp, it->data, 1000);
  o.parallel = 1;
  if (pull (s, "reg.test/lib/app", &o, &name, &err) < 0)
    fail_msg ("pull: %s", err->msg);
  assert_int_equal (f->last_range, 1000); /* the last fetch was layer 2, from byte 1000 */
  assert_false (fake_exists (k, tmp));
  fx_store_check (STORE);
  /* a registry that ignores ranges: the partial file is started over */
  struct image *img;
  assert_int_equal (store_image_get (&img, s, name, &err), 0);
  image_free (img);
  assert_int_equal (image_remove (s, name, &err), 0);
  store_close (s);
  s = fx_store_open (STORE, true);
  struct gc_report rep;
  assert_int_equal (store_gc (s, &rep, &err), 0);
  put_bytes (tmp, it->data, 1000);
  f->no_ranges = true;
  size_t gets = f->blob_gets;
  free (TAKE_PTR (name));
  if (pull (s, "reg.test/lib/app", &o, &name, &err) < 0)
    fail_msg ("pull: %s", err->msg);
  assert_int_equal (f->blob_gets, gets + 5); /* 4 blobs, the partial one twice */
  assert_int_equal (f->last_range, 0);
  assert_false (fake_exists (k, tmp));
  fx_store_check (STORE);
  WORLD_END (k, f, s);
}

static void
a_blob_with_the_wrong_content_is_refused_and_nothing_is_left (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL, *blob = NULL;
  struct image *img = NULL;
  struct img_digests d;

  publish_image (f, "latest", "app", "amd64", &d);
  f->corrupt = d.layers[1];
  assert_int_equal (pull (s, "reg.test/lib/app", &o, &name, &err), -EINVAL);
  assert_non_null (strstr (err->msg, d.layers[1]));
  focker_err_free (TAKE_PTR (err));
  blob = xasprintf (STORE "/blobs/sha256/%s", DIGEST_HEX (d.layers[1]));
  assert_false (fake_exists (k, blob));
  assert_true (store_image_get (&img, s, "reg.test/lib/app", &err) < 0);
  focker_err_free (TAKE_PTR (err));
  fx_store_check (STORE);
  /* a missing tag: one line naming it, nothing fetched */
  assert_int_equal (pull (s, "reg.test/lib/app:nope", &o, &name, &err), -ENOENT);
  assert_non_null (strstr (err->msg, "lib/app:nope"));
  assert_non_null (strstr (err->msg, "404"));
  WORLD_END (k, f, s);
}

/* A cut-off transfer resumed still feeds the same unpacker; a partial download a killed
 * pull left, started over by a registry that ignores ranges, is unpacked from its blob. */
static void
layers_resumed_or_started_over (void)
{
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL, *tmp = NULL;
  struct img_digests d;
  size_t start;

  for (int started_over = 0; started_over <= 1; started_over++)
    {
      WORLD (k, f, s, o);
      publish_image (f, "latest", "app", "amd64", &d);
      if (started_over)
        {
          tmp = xasprintf (STORE "/blobs/.tmp-pull-%s", DIGEST_HEX (d.layers[2]));
          put_bytes (tmp, reg_get (f, d.layers[2])->data, 1000);
          f->no_ranges = true;
        }
      else
        {
          o.parallel = 1;
          f->cut = d.layers[1];
          f->cut_at = 700;
          f->cuts = 2;
        }
      start = fake_journal_len (k);
      free (TAKE_PTR (name));
      FX_CHECK (k, pull (s, "reg.test/lib/app", &o, &name, &err), err);
      assert_int_equal (f->blob_gets, started_over ? 5 : 6);
      assert_int_equal (layer_blob_reads (k, start, &d), started_over ? 1 : 0);
      layer_has (k, s, d.layers[1], "app-1");
      layer_has (k, s, d.layers[2], "app-2");
      assert_int_equal (children_left (k, true), 0);
      fx_store_check (STORE);
      WORLD_END (k, f, s);
    }
}

/* Each layer is unpacked by a child process fed the download as it is written, named only
 * after its blob is verified and durable and before index.json names the image; the blob is
 * never read back.  A transfer cut off and resumed still feeds the same unpacker; a
 * download started over (or one a killed pull left) is unpacked from the blob instead. */
static void
layers_are_unpacked_as_their_blobs_download (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  struct img_digests d;
  size_t start = fake_journal_len (k);
  long last_blob = -1, first_layer = -1, index = -1;

  publish_image (f, "latest", "app", "amd64", &d);
  FX_CHECK (k, pull (s, "reg.test/lib/app", &o, &name, &err), err);
  for (int i = 0; i < 3; i++)
    {
      char file[16];
      snprintf (file, sizeof file, "app-%d", i);
      layer_has (k, s, d.layers[i], file);
    }
  assert_int_equal (layer_blob_reads (k, start, &d), 0);
  for (size_t i = start; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if (c->id != SYS_ID_renameat)
        continue;
      if (strstr (c->args, "blobs/sha256/"))
        last_blob = (long)i;
      else if (strstr (c->args, "layers/sha256/") && first_layer < 0)
        first_layer = (long)i;
      else if (strstr (c->args, "index.json"))
        index = (long)i;
    }
  assert_true (last_blob >= 0 && first_layer > last_blob && index > first_layer);
  /* the files were made by other processes than the pull's: one per layer */
  size_t made = 0;
  for (size_t i = start; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if ((c->id == SYS_ID_openat || c->id == SYS_ID_openat2) && strstr (c->args, "app-"))
        {
          assert_int_not_equal (c->pid, fake_current_pid (k));
          made++;
        }
    }
  assert_int_equal (made, 3);
  assert_int_equal (children_left (k, true), 0);
  fx_store_check (STORE);
  WORLD_END (k, f, s);

  layers_resumed_or_started_over ();
}

/* Two images sharing two layers, listed the other way round: "one" [a, b], "two" [b, a]. */
static void
publish_crossed (struct fake_reg *f, char shared[2][DIGEST_LEN + 1])
{
  json_int_t len[2];

  for (int i = 0; i < 2; i++)
    {
      struct tarb *t = tarb_new (TARB_NONE);
      char path[16];
      size_t n;
      snprintf (path, sizeof path, "shared-%d", i);
      tarb_file (t, path, "a layer two images share", 0644);
      const char *buf = tarb_end (t, &n);
      digest_buffer (buf, n, shared[i]);
      reg_put (f, shared[i], NULL, buf, n);
      len[i] = (json_int_t)n;
      tarb_free (t);
    }
  for (int img = 0; img < 2; img++)
    {
      const char *tag = img ? "two" : "one";
      json_t *diffs = json_array (), *layers = json_array ();
      char cfgd[DIGEST_LEN + 1], *text, *key;
      for (int j = 0; j < 2; j++)
        {
          int i = img ? 1 - j : j;
          json_array_append_new (diffs, json_string (shared[i]));
          json_array_append_new (layers, json_pack ("{s:s, s:s, s:I}", "mediaType", MT_LAYER,
                                                    "digest", shared[i], "size", len[i]));
        }
      json_t *cfg = json_pack ("{s:s, s:s, s:{s:[s]}, s:{s:s, s:o}}", "architecture", "amd64", "os",
                               "linux", "config", "Cmd", tag, "rootfs", "type", "layers",
                               "diff_ids", diffs);
      text = json_dumps (cfg, JSON_COMPACT);
      digest_buffer (text, strlen (text), cfgd);
      reg_put (f, cfgd, NULL, text, strlen (text));
      json_t *man = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2,
                               "mediaType", MT_MANIFEST, "config", "mediaType", MT_CONFIG, "digest",
                               cfgd, "size", (json_int_t)strlen (text), "layers", layers);
      free (text);
      text = json_dumps (man, JSON_COMPACT);
      key = xasprintf ("manifest:%s", tag);
      reg_put (f, key, MT_MANIFEST, text, strlen (text));
      free (key);
      free (text);
      json_decref (cfg);
      json_decref (man);
    }
}

struct second_pull
{
  struct store *s;
  struct reg_opts o;
  pid_t pid;
};

static int
pull_two (void *arg)
{
  struct second_pull *p = arg;
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  int r;

  /* another focker process: it shares only the store's descriptors with the first pull (a
   * copy of one holding a pull lock would hold that lock) */
  struct store own = *p->s; /* its own record (the coroutine shares the first's memory) */

  own.intent = NULL;
  for (int fd = 3; fd < 64; fd++)
    if (fd != p->s->fd && fd != p->s->lockfd)
      (void)sys_close (fd);
  r = pull (&own, "reg.test/lib/app:two", &p->o, &name, &err);
  store_intent_close (&own);

  if (r < 0)
    fprintf (stderr, "second pull: %s\n", err->msg);
  return r < 0 ? 1 : 0;
}

static void
start_pull_two (struct fake_kernel *k, void *arg)
{
  struct second_pull *p = arg;
  struct sys_clone_args ca = { .exit_signal = SIGCHLD, .fn = pull_two, .arg = p };

  p->pid = sys_clone (&ca);
}

/* Two pulls of images sharing two blobs in opposite orders, the second started while the first
 * holds some of its locks and is about to take another (its third flock: in manifest order it
 * would hold the config's and a's and wait on b, which the second would hold, waiting on a):
 * both finish, and each layer is unpacked once. */
static void
pulls_sharing_blobs_in_opposite_orders_both_finish (void **state)
{
  WORLD (k, f, s, o);
  struct fake_reg *f2 = fake_reg_new (); /* the second pull's own transport */
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  char shared[2][DIGEST_LEN + 1], again[2][DIGEST_LEN + 1];
  struct second_pull p = { .s = s, .o = opts (f2), .pid = -1 };
  siginfo_t info = { 0 };
  size_t start = fake_journal_len (k), made = 0;

  publish_crossed (f, shared);
  publish_crossed (f2, again);
  fake_on_call (k, SYS_ID_flock, 3, start_pull_two, &p);
  FX_CHECK (k, pull (s, "reg.test/lib/app:one", &o, &name, &err), err);
  assert_true (p.pid > 0);
  assert_int_equal (sys_waitid (P_PID, (id_t)p.pid, &info, WEXITED), 0);
  assert_int_equal (info.si_code, CLD_EXITED);
  assert_int_equal (info.si_status, 0);
  layer_has (k, s, shared[0], "shared-0");
  layer_has (k, s, shared[1], "shared-1");
  for (size_t i = start; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if ((c->id == SYS_ID_openat || c->id == SYS_ID_openat2) && strstr (c->args, "shared-")
          && c->result >= 0)
        made++;
    }
  assert_int_equal (made, 2);
  assert_int_equal (children_left (k, true), 0);
  fx_store_check (STORE);
  fake_reg_free (f2);
  WORLD_END (k, f, s);
}

static int fake_fetch (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg);
static struct reg_transport *fetch_helper (struct fake_kernel *k, fake_program_fn fn, void *arg);

/* The registry's cert dir, read as podman reads it: its *.crt, in name order, are the CAs;
 * NAME.cert with its NAME.key the client certificate (the first pair in name order); other
 * files are neither.  Both go with every request to the registry, in a pull and a push, in
 * memory and through the helper (on its stdin), and the certificate to no other host. */
static void
a_registrys_cert_dir_is_its_cas_and_client_certificate (void **state)
{
  for (int round = 0; round < 3; round++)
    {
      WORLD (k, f, s, o);
      _cleanup_err_ struct focker_err *err = NULL;
      _cleanup_free_ char *name = NULL;
      const char *dir = round ? "/home/me/certs" : REG_CERTS_D "/reg.test";
      static const char *const files[][2] = {
        { "b.crt", "CERT B" },    { "a.crt", "CERT A" },    { "z.cert", "CLIENT Z" },
        { "z.key", "KEY Z" },     { "c.cert", "CLIENT C" }, { "c.key", "KEY C" },
        { "notes.txt", "NOTES" },
      };
      char digest[DIGEST_LEN + 1];
      size_t asks;

      for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        {
          _cleanup_free_ char *path = xasprintf ("%s/%s", dir, files[i][0]);
          assert_int_equal (fake_write_file (k, path, files[i][1], 0600), 0);
        }
      if (round > 0)
        o.cert_dir = dir;
      if (round == 2)
        o.t = fetch_helper (k, fake_fetch, f);
      f->ca_expect = "CERT A\nCERT B\n";
      f->cert_expect = "CLIENT C";
      f->key_expect = "KEY C";
      f->auth = AUTH_BEARER; /* the token service gets neither */
      o.user = "u";
      o.pass = "p";
      publish_image (f, "latest", "app", "amd64", NULL);
      FX_CHECK (k, pull (s, "reg.test/lib/app", &o, &name, &err), err);
      assert_true (f->ca_asks >= 5); /* the manifest, the config and the three layers */
      assert_true (f->cert_asks >= 5);
      assert_int_equal (f->token_gets, 1);
      asks = f->cert_asks;
      FX_CHECK (k, registry_push (s, name, "reg.test/lib/app:back", &o, digest, &err), err);
      assert_true (f->cert_asks >= asks + 3); /* a blob's HEAD at least, and the manifest */
      if (round == 2)
        reg_proc_free (o.t);
      WORLD_END (k, f, s);
    }
}

/* NAME.cert and NAME.key go in pairs, as docker and podman pair them: one without the other
 * (a .key beside a CA's .crt is not a pair) fails naming the dir and the file, before any
 * request, in a pull and a push, and no message holds the key. */
static void
a_client_certificate_without_its_key_fails_naming_the_file (void **state)
{
  static const struct
  {
    const char *dir, *files[2], *msg;
  } cases[] = {
    { "/home/me/certs",
      { "me.cert", NULL },
      "/home/me/certs/me.cert: a client certificate without its key me.key" },
    { "/home/me/certs",
      { "me.key", NULL },
      "/home/me/certs/me.key: a client key without its certificate me.cert" },
    { "/home/me/certs",
      { "me.crt", "me.key" },
      "/home/me/certs/me.key: a client key without its certificate me.cert" },
    { "/home/me/certs",
      { "me.cert", "you.key" },
      "/home/me/certs/me.cert: a client certificate without its key me.key" },
    { NULL,
      { "me.key", NULL },
      REG_CERTS_D "/reg.test/me.key: a client key without its certificate me.cert" },
  };

  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int push = 0; push <= 1; push++)
      {
        WORLD (k, f, s, o);
        _cleanup_err_ struct focker_err *err = NULL;
        _cleanup_free_ char *name = NULL;
        const char *dir = cases[i].dir ? cases[i].dir : REG_CERTS_D "/reg.test";
        char digest[DIGEST_LEN + 1];
        int r;

        for (int j = 0; j < 2 && cases[i].files[j]; j++)
          {
            _cleanup_free_ char *path = xasprintf ("%s/%s", dir, cases[i].files[j]);
            assert_int_equal (fake_write_file (k, path, "SECRET KEY", 0600), 0);
          }
        o.cert_dir = cases[i].dir;
        publish_image (f, "latest", "app", "amd64", NULL);
        r = push ? registry_push (s, "x", "reg.test/lib/app:x", &o, digest, &err)
                 : pull (s, "reg.test/lib/app", &o, &name, &err);
        assert_true (r < 0);
        assert_int_equal (err->code, r);
        assert_string_equal (err->msg, cases[i].msg);
        assert_int_equal (f->next_h, 0); /* no request */
        assert_null (name);
        WORLD_END (k, f, s);
      }
}

/* A CA file that is not text (a Latin-1 comment pasted by hand, a DER .crt) must not make
 * every CA of the dir vanish on the way to the helper (a JSON string cannot hold it): the
 * pull fails before any request, naming the file and saying how to convert a DER one. */
static void
a_cert_dir_crt_that_is_not_utf8_is_not_silently_dropped (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  int r;

  assert_int_equal (fake_write_file (k, "/home/me/certs/a.crt", "CERT A\n", 0600), 0);
  assert_int_equal (fake_write_file (k, "/home/me/certs/b.crt", "CERT B M\xfcller\n", 0600), 0);
  o.cert_dir = "/home/me/certs";
  o.t = fetch_helper (k, fake_fetch, f);
  f->ca_expect = "CERT A\n\nCERT B M\xfcller\n\n";
  publish_image (f, "latest", "app", "amd64", NULL);
  r = pull (s, "reg.test/lib/app", &o, &name, &err);
  assert_true (r < 0);
  if (strstr (err->msg, "/home/me/certs/b.crt: not a PEM text file") == NULL)
    fail_msg ("got \"%s\"", err->msg);
  assert_int_equal (f->ca_asks, 0);
  reg_proc_free (o.t);
  WORLD_END (k, f, s);
}

/* A --cert-dir that is not there is an error naming it, before any request (a typo would
 * otherwise read as an untrusted registry); a missing certs.d dir is no error. */
static void
a_missing_cert_dir_fails_naming_it (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;

  publish_image (f, "latest", "app", "amd64", NULL);
  o.cert_dir = "/home/me/no-such-certs";
  assert_int_equal (pull (s, "reg.test/lib/app", &o, &name, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "--cert-dir /home/me/no-such-certs"));
  assert_int_equal (f->blob_gets, 0);
  assert_null (name);
  focker_err_free (TAKE_PTR (err));
  o.cert_dir = NULL;
  FX_CHECK (k, pull (s, "reg.test/lib/app", &o, &name, &err), err);
  fx_store_check (STORE);
  WORLD_END (k, f, s);
}

/* A layer that would write outside itself: the pull fails naming the entry, and neither the
 * unpacker's tree nor any process is left. */
static void
a_hostile_layer_fails_the_pull_and_leaves_nothing (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  struct image *img = NULL;

  publish_image (f, "latest", "evil", "amd64", NULL);
  assert_int_equal (pull (s, "reg.test/lib/app", &o, &name, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "../evil-1"));
  focker_err_free (TAKE_PTR (err));
  assert_true (store_image_get (&img, s, "reg.test/lib/app", &err) < 0);
  assert_int_equal (children_left (k, true), 0);
  assert_false (fake_exists (k, "/var/lib/evil-1"));
  fx_store_check (STORE);
  WORLD_END (k, f, s);
}

static int
pull_run (struct fx_fault *fault, void *ctx)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  struct image *img = NULL;
  int r;

  (void)ctx;
  publish_image (f, "latest", "app", "amd64", NULL);
  fx_fault_arm (fault, k);
  r = pull (s, "reg.test/lib/app", &o, &name, &err);
  fx_fault_disarm (fault);
  store_close (s);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  /* persistent faults may fail the reaping itself (a zombie): single ones may not */
  if (!fault->persist && children_left (k, true) != 0)
    {
      fx_dump_journal (k, 40);
      fail_msg ("n %ld persist %d: %d children left", fault->n, fault->persist,
                children_left (k, true));
    }
  s = fx_store_open (STORE, false);
  if (r < 0)
    {
      assert_non_null (err);
      assert_int_equal (err->code, r);
      focker_err_free (TAKE_PTR (err));
      assert_true (store_image_get (&img, s, "reg.test/lib/app", &err) < 0);
      focker_err_free (TAKE_PTR (err));
      if (!fault->persist)
        fx_store_check (STORE); /* a single fault: cleanup ran */
      /* persistent faults may have stopped the cleanup itself: gc removes the rest */
      struct gc_report rep;
      store_close (s);
      s = fx_store_open (STORE, true);
      assert_int_equal (store_gc (s, &rep, &err), 0);
      fx_store_check (STORE);
      store_close (s);
      s = fx_store_open (STORE, false);
      assert_int_equal (pull (s, "reg.test/lib/app", &o, &name, &err), 0);
    }
  assert_int_equal (store_image_get (&img, s, "reg.test/lib/app", &err), 0);
  image_free (img);
  fx_store_check (STORE);
  WORLD_END (k, f, s);
  return r;
}

/* Every kernel call of a pull failing in turn (once, and from then on): an error and a
 * consistent store (no temporary, no name) each time, and a later pull succeeds. */
static void
pull_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, pull_run, NULL);
}

/* ---- push ---- */

static void
push_uploads_missing_blobs_then_the_manifest (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  char digest[DIGEST_LEN + 1], id[DIGEST_LEN + 1];
  struct image *img;

  assert_int_equal (fake_write_file (k, "/busybox", "\177ELF busybox", 0755), 0);
  if (image_build_default (s, "/busybox", "mine", id, &err) < 0)
    fail_msg ("build-default: %s", err->msg);
  f->auth = AUTH_BEARER;
  o.user = "u";
  o.pass = "p";
  if (registry_push (s, "mine", "reg.test/lib/app:pushed", &o, digest, &err) < 0)
    fail_msg ("push: %s", err->msg);
  assert_int_equal (f->uploads, 2); /* the layer and the config */
  assert_non_null (reg_get (f, "manifest:pushed"));
  assert_int_equal (store_image_get (&img, s, "mine", &err), 0);
  assert_string_equal (digest, img->manifest_digest);
  image_free (img);
  /* the registry loses its blobs, and sends uploads to another host: no credentials there */
  for (size_t i = 0; i < f->n_items; i++)
    if (strncmp (f->items[i].key, "sha256:", 7) == 0)
      f->items[i].key[0] = 'X';
  f->location = "https://storage.test/v2/lib/app/blobs/uploads/u1?state=s";
  if (registry_push (s, "mine", "reg.test/lib/app:elsewhere", &o, digest, &err) < 0)
    fail_msg ("push: %s", err->msg);
  assert_int_equal (f->uploads, 4);
  assert_int_equal (f->auth_elsewhere, 0);
  f->location = NULL;
  /* again: every blob is there already */
  assert_int_equal (registry_push (s, "mine", "reg.test/lib/app:again", &o, digest, &err), 0);
  assert_int_equal (f->uploads, 4);
  /* and back */
  assert_int_equal (image_remove (s, "mine", &err), 0);
  assert_int_equal (pull (s, "reg.test/lib/app:again", &o, &name, &err), 0);
  assert_int_equal (store_image_get (&img, s, name, &err), 0);
  assert_string_equal (img->id, id);
  image_free (img);
  assert_int_equal (registry_push (s, "missing", "reg.test/lib/app:x", &o, digest, &err), -ENOENT);
  WORLD_END (k, f, s);
}

/* ---- the real transport (fetch_proc.c) on the fake kernel ---- */

/* focker-fetch as a fake program: the request from stdin, answered by the scripted registry,
 * the result on stdout and a blob body on fd 3; it records the uid it runs as. */
static int
fake_fetch (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg)
{
  struct fake_reg *f = arg;
  char buf[65536];
  size_t len = 0;
  ssize_t n;
  json_t *req, *h;
  struct reg_response r = { 0 };
  char **headers = NULL;
  uid_t uid;
  gid_t gid;
  size_t i;

  while ((n = sys_read (0, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)n;
  req = json_loadb (buf, len, 0, NULL);
  if (req == NULL)
    return 2;
  sys_getids (&uid, &gid);
  f->helper_uid = uid;
  json_array_foreach (json_object_get (req, "headers"), i, h)
      strv_push (&headers, json_string_value (h));
  struct reg_request rq = {
    .method = json_string_value (json_object_get (req, "method")),
    .url = json_string_value (json_object_get (req, "url")),
    .headers = headers,
    .body = json_string_value (json_object_get (req, "body")),
    .body_fd = json_is_true (json_object_get (req, "body_fd")) ? 4 : -1,
    .body_size = (uint64_t)json_integer_value (json_object_get (req, "body_size")),
    .out_fd = json_is_true (json_object_get (req, "out_fd")) ? 3 : -1,
    .tee_fd = -1, /* focker tees, never the helper */
    .range_from = (uint64_t)json_integer_value (json_object_get (req, "range_from")),
    .tls = { .ca_pem = json_string_value (json_object_get (req, "ca_pem")),
             .cert_pem = json_string_value (json_object_get (req, "cert_pem")),
             .key_pem = json_string_value (json_object_get (req, "key_pem")) },
  };
  /* the key comes on stdin only */
  for (char *const *e = envp; e && *e && f->key_expect; e++)
    assert_null (strstr (*e, f->key_expect));
  for (char *const *a = argv; a && *a && f->key_expect; a++)
    assert_null (strstr (*a, f->key_expect));
  if (rq.out_fd >= 0)
    {
      struct stat st;
      f->helper_bodies++;
      if (sys_fstatat (3, "", &st, AT_EMPTY_PATH) < 0 || !S_ISFIFO (st.st_mode))
        f->helper_body_files++;
    }
  serve (f, &rq, &r);
  json_t *res = json_pack ("{s:i, s:[]}", "status", r.status, "headers");
  for (char **p = r.headers; p && *p; p++)
    {
      char *colon = strchr (*p, ':');
      json_array_append_new (json_object_get (res, "headers"),
                             json_pack ("[s#s]", *p, (int)(colon - *p), colon + 2));
    }
  if (r.error)
    json_object_set_new (res, "error", json_string (r.error));
  char *line = json_dumps (res, JSON_COMPACT);
  write_all (1, line, strlen (line));
  write_all (1, "\n", 1);
  if (r.body)
    write_all (1, r.body, r.body_len);
  free (line);
  json_decref (res);
  json_decref (req);
  strv_free (headers);
  reg_response_free (&r);
  return 0;
}

/* An fd focker inherited without close-on-exec (`focker pull ... 4<>file`) reaches no
 * helper, whichever of fds 3 (the body pipe) and 4 (an upload) the helper is given: it runs
 * as nobody, talking to a registry. */
static int fd4_leaks;

static int
fetch_checking_fd4 (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg)
{
  if (sys_fcntl (3, F_GETFD, 0) >= 0 && sys_fcntl (4, F_GETFD, 0) >= 0)
    fd4_leaks++;
  return fake_fetch (k, argv, envp, arg);
}

static void
a_helper_gets_no_fd_it_was_not_given (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  int moved = -1, secret;

  /* make fd 4 an fd focker inherited, without close-on-exec */
  if (s->fd == 4 || s->lockfd == 4)
    {
      moved = sys_fcntl (4, F_DUPFD_CLOEXEC, 20);
      assert_true (moved >= 0);
      if (s->fd == 4)
        s->fd = moved;
      else
        s->lockfd = moved;
      sys_close (4);
    }
  assert_int_equal (fake_write_file (k, "/root/secret", "SECRET", 0600), 0);
  secret = sys_openat (AT_FDCWD, "/root/secret", O_RDWR, 0);
  assert_true (secret >= 0);
  if (secret != 4)
    {
      assert_int_equal (sys_dup3 (secret, 4, 0), 4);
      sys_close (secret);
    }
  fd4_leaks = 0;
  o.t = fetch_helper (k, fetch_checking_fd4, f);
  publish_image (f, "latest", "app", "amd64", NULL);
  FX_CHECK (k, pull (s, "reg.test/lib/app", &o, &name, &err), err);
  reg_proc_free (o.t);
  assert_int_equal (fd4_leaks, 0);
  sys_close (4);
  WORLD_END (k, f, s);
}

static int
exits_2 (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg)
{
  return 2;
}

static void
the_helper_process_transport_pulls_as_nobody (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL, *helper = NULL;
  struct img_digests d;
  struct image *img;

  publish_image (f, "latest", "app", "amd64", &d);
  f->cut = d.layers[0];
  f->cut_at = 600;
  f->cuts = 1;
  f->auth = AUTH_BEARER;
  o.user = "u";
  o.pass = "p";
  assert_int_equal (fake_write_file (k, "/usr/libexec/focker-fetch", "ELF", 0755), 0);
  fake_program (k, "/usr/libexec/focker-fetch", fake_fetch, f);
  assert_int_equal (
      reg_find_helper (&helper, NULL, "/usr/bin/focker", "/usr/libexec/focker-fetch", &err), 0);
  assert_string_equal (helper, "/usr/libexec/focker-fetch");
  o.t = reg_proc_new (helper);
  if (pull (s, "reg.test/lib/app", &o, &name, &err) < 0)
    fail_msg ("pull: %s", err->msg);
  assert_int_equal (f->helper_uid, 65534);
  /* every body came through a pipe focker copied: the helper never held a download */
  assert_true (f->helper_bodies >= 3);
  assert_int_equal (f->helper_body_files, 0);
  assert_int_equal (store_image_get (&img, s, name, &err), 0);
  assert_string_equal (img->manifest_digest, d.manifest);
  image_free (img);
  fx_store_check (STORE);
  /* a helper that fails, one that cannot be run: one line each, nothing left */
  fake_program (k, "/usr/libexec/focker-fetch", exits_2, NULL);
  assert_int_equal (pull (s, "reg.test/lib/app:x", &o, &name, &err), -EPROTO);
  assert_non_null (strstr (err->msg, "exited with status 2"));
  focker_err_free (TAKE_PTR (err));
  reg_proc_free (o.t);
  o.t = reg_proc_new ("/nonexistent/focker-fetch");
  assert_int_equal (pull (s, "reg.test/lib/app", &o, &name, &err), -ENOENT);
  assert_non_null (strstr (err->msg, "/nonexistent/focker-fetch: cannot execute"));
  focker_err_free (TAKE_PTR (err));
  reg_proc_free (o.t);
  assert_int_equal (reg_find_helper (&helper, "/nope", NULL, "/x", &err), -ENOENT);
  assert_non_null (strstr (err->msg, "FOCKER_FETCH"));
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (reg_find_helper (&helper, NULL, "/usr/bin/focker", "/x", &err), -ENOENT);
  assert_non_null (strstr (err->msg, "/usr/bin/focker-fetch"));
  fx_store_check (STORE);
  WORLD_END (k, f, s);
}

/* The helper transport with a fake focker-fetch at /focker-fetch running fn. */
static struct reg_transport *
fetch_helper (struct fake_kernel *k, fake_program_fn fn, void *arg)
{
  assert_int_equal (fake_write_file (k, "/focker-fetch", "ELF", 0755), 0);
  fake_program (k, "/focker-fetch", fn, arg);
  return reg_proc_new ("/focker-fetch");
}

/* No fsync runs while transfers do (one in the copy loop held the other transfers up); no
 * blob's data is fsync'd: after the transfers one record lists every blob and layer the
 * pull names, made durable (its fsync and its directory's) before the first blob's rename,
 * and index.json names the image last. */
static void
blobs_are_listed_in_one_record_after_the_transfers_and_before_the_name (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  pid_t self = fake_current_pid (k), running[16];
  size_t n_running = 0, fsyncs = 0, renames = 0, start = fake_journal_len (k);
  long last_fsync = -1, first_rename = -1, index_rename = -1, record = -1;
  _cleanup_free_ char *text = NULL, *path = NULL;
  char **names;
  size_t len, lines = 0;

  publish_image (f, "latest", "app", "amd64", NULL);
  o.t = fetch_helper (k, fake_fetch, f);
  FX_CHECK (k, pull (s, "reg.test/lib/app", &o, &name, &err), err);
  reg_proc_free (o.t);
  for (size_t i = start; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if (c->pid != self)
        continue;
      if (c->id == SYS_ID_clone && c->result > 0 && execs_after (k, (pid_t)c->result, i))
        {
          assert_true (n_running < 16);
          running[n_running++] = (pid_t)c->result;
        }
      else if (c->id == SYS_ID_waitid)
        for (size_t j = 0; j < n_running; j++)
          {
            char pid[24]; /* waitid's id, unsigned: in hex */
            snprintf (pid, sizeof pid, " %#lx ", (unsigned long)running[j]);
            if (strstr (c->args, pid))
              running[j] = running[--n_running];
          }
      else if (c->id == SYS_ID_fsync)
        {
          if (n_running > 0)
            {
              fx_dump_journal (k, fake_journal_len (k) - i + 5);
              fail_msg ("fsync [%zu] while %zu transfers run", i, n_running);
            }
          fsyncs++;
          last_fsync = (long)i;
        }
      else if (c->id == SYS_ID_renameat && strstr (c->args, ".new-"))
        record = (long)i;
      else if (c->id == SYS_ID_renameat && strstr (c->args, "blobs/sha256/"))
        {
          renames++;
          if (first_rename < 0)
            first_rename = (long)i;
        }
      else if (c->id == SYS_ID_renameat && strstr (c->args, "index.json"))
        index_rename = (long)i;
    }
  assert_int_equal (renames, 5); /* config, three layers, the manifest */
  assert_int_equal (fsyncs, 3);  /* the record, unsynced/, index.json */
  assert_true (record > 0 && record < first_rename);
  assert_true (index_rename > first_rename && index_rename > last_fsync - 2);
  assert_int_equal (fx_count_calls (k, SYS_ID_sync_file_range), 0);
  names = fx_names_in (STORE "/unsynced");
  assert_non_null (names[0]);
  assert_null (names[1]);
  path = xasprintf (STORE "/unsynced/%s", names[0]);
  assert_true (strncmp (names[0], FAKE_BOOT_ID ".", strlen (FAKE_BOOT_ID) + 1) == 0);
  strv_free (names);
  FX_CHECK (k, read_file_at (&text, &len, AT_FDCWD, path, 1 << 16, &err), err);
  for (char *l = text; (l = strchr (l, '\n')); l++)
    lines++;
  assert_int_equal (lines, 5 + 3); /* five blobs, three layers: one write */
  fx_store_check (STORE);
  WORLD_END (k, f, s);
}

/* The helpers for the blobs start while the manifest request runs (their start is most of
 * a small request's time); those never used are killed and reaped with the transport. */
static void
helpers_start_ahead_and_unused_ones_are_reaped (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  size_t start = fake_journal_len (k), ahead = 0;
  pid_t self = fake_current_pid (k);
  struct img_digests d;

  publish_image (f, "latest", "app", "amd64", &d);
  o.t = fetch_helper (k, fake_fetch, f);
  FX_CHECK (k, pull (s, "reg.test/lib/app", &o, &name, &err), err);
  reg_proc_free (o.t);
  /* helpers cloned before the first one (the manifest's) was reaped */
  for (size_t i = start; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if (c->pid == self && c->id == SYS_ID_waitid)
        break;
      ahead += c->pid == self && c->id == SYS_ID_clone && c->result > 0;
    }
  assert_int_equal (ahead, 1 + 3);
  /* the image is there: one request, and the helpers started for blobs go unused; nothing
   * named, so nothing written to the record (index.json's fsync only) */
  o.t = reg_proc_new ("/focker-fetch");
  free (TAKE_PTR (name));
  store_close (s); /* another command */
  s = fx_store_open (STORE, false);
  size_t fsyncs = fx_count_calls (k, SYS_ID_fsync);
  FX_CHECK (k, pull (s, "reg.test/lib/app", &o, &name, &err), err);
  assert_int_equal (fx_count_calls (k, SYS_ID_fsync), fsyncs + 1);
  assert_int_equal (children_left (k, true), 3);
  reg_proc_free (o.t);
  fake_settle (k);
  assert_int_equal (children_left (k, true), 0);
  assert_int_equal (fake_open_fds (k, self), 5); /* + the store's two: no record */
  /* by a digest the store has: no helper but the manifest's */
  _cleanup_free_ char *by_digest = xasprintf ("reg.test/lib/app@%s", d.manifest);
  o.t = reg_proc_new ("/focker-fetch");
  free (TAKE_PTR (name));
  start = fake_journal_len (k);
  FX_CHECK (k, pull (s, by_digest, &o, &name, &err), err);
  assert_int_equal (children_left (k, true), 0);
  assert_int_equal (calls_with (k, start, SYS_ID_execve, "focker-fetch"), 1);
  reg_proc_free (o.t);
  fx_store_check (STORE);
  WORLD_END (k, f, s);
}

static int
records_it_ran (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg)
{
  *(bool *)arg = true;
  return 0;
}

static void
focker_dies (struct fake_kernel *k, void *arg)
{
  fake_exit (k, *(pid_t *)arg, 0);
}

/* focker dies between the helper's clone and its PR_SET_PDEATHSIG (here: just before the
 * child's setresuid): no parent-death signal will ever come, so the helper must see that it
 * was reparented and exit instead of running an orphaned transfer. */
static void
the_helper_exits_when_focker_died_before_its_death_signal (void **state)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  pid_t focker = fake_current_pid (k);
  bool ran = false;

  (void)state;
  publish_image (f, "latest", "app", "amd64", NULL);
  o.t = fetch_helper (k, records_it_ran, &ran);
  fake_on_call (k, SYS_ID_setresuid, 1, focker_dies, &focker);
  assert_true (pull (s, "reg.test/lib/app", &o, &name, &err) < 0);
  reg_proc_free (o.t);
  assert_null (fake_proc (k, focker));
  assert_false (ran);
  {
    struct fx_world w = { .k = k, .cli = focker };
    assert_int_equal (fx_live_processes (&w), 0); /* the helper is gone too */
  }
  WORLD_END (k, f, s);
}

static int
pull_helper_run (struct fx_fault *fault, void *ctx)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *name = NULL;
  struct image *img = NULL;
  int r;

  (void)ctx;
  publish_image (f, "latest", "app", "amd64", NULL);
  o.t = fetch_helper (k, fake_fetch, f);
  fx_fault_arm (fault, k);
  r = pull (s, "reg.test/lib/app", &o, &name, &err);
  fx_fault_disarm (fault);
  reg_proc_free (o.t);
  fake_settle (k);
  /* + the store's two, and the record of what it named if it named anything */
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 5 + fx_store_covered (STORE));
  /* a helper whose wait failed too: reg_proc_free reaps it */
  if (children_left (k, true) != 0)
    {
      fx_dump_journal (k, 60);
      fail_msg ("n %ld: %d processes left", fault->n, children_left (k, true));
    }
  if (r < 0)
    {
      assert_int_equal (err->code, r);
      assert_true (store_image_get (&img, s, "reg.test/lib/app", &err) < 0);
      fx_store_check (STORE);
    }
  else
    {
      assert_int_equal (store_image_get (&img, s, "reg.test/lib/app", &err), 0);
      image_free (img);
    }
  WORLD_END (k, f, s);
  return r;
}

/* Two pulls, each with its own transport: the image, then the image again (one request:
 * the three helpers started ahead go unused and are killed). */
static int
helper_wait_run (struct fx_fault *fault, void *ctx)
{
  WORLD (k, f, s, o);
  _cleanup_err_ struct focker_err *err = NULL;
  struct reg_transport *t[2];
  int r = 0;

  (void)ctx;
  publish_image (f, "latest", "app", "amd64", NULL);
  fx_fault_arm (fault, k);
  for (int i = 0; i < 2; i++)
    {
      _cleanup_free_ char *name = NULL;
      o.t = t[i] = fetch_helper (k, fake_fetch, f);
      int ri = pull (s, "reg.test/lib/app", &o, &name, &err);
      if (fault->error == EINTR)
        FX_CHECK (k, ri, err); /* a wait interrupted is a wait repeated */
      else if (ri < 0)
        assert_int_equal (err->code, ri);
      focker_err_free (TAKE_PTR (err));
      r = r < 0 ? r : ri;
      /* a single fault, in reg_proc_free's waits too, leaves nothing: its retry reaps */
      if (!fault->persist)
        reg_proc_free (t[i]);
    }
  fx_fault_disarm (fault);
  for (int i = 0; i < 2 && fault->persist; i++)
    reg_proc_free (t[i]);
  if (helpers_left (k) != 0)
    {
      fx_dump_journal (k, 40);
      fail_msg ("%s %s at waitid %ld: %d helpers left", fault->persist ? "persistent" : "one",
                strerrorname_np (fault->error), fault->n, helpers_left (k));
    }
  fake_settle (k);
  WORLD_END (k, f, s);
  return r;
}

/* Every wait for a helper (a request's, a spare's, a cancelled one's): interrupted once, it is
 * repeated and the pull succeeds; failing (once or from then on), the pull fails or not, and
 * reg_proc_free still kills and reaps every helper: none stays a zombie until focker exits. */
static void
every_helper_is_reaped_when_a_wait_fails (void **state)
{
  (void)state;
  fx_fault_loop_calls (FX_FAULT_ONCE, EINTR, SYS_MASK (waitid), helper_wait_run, NULL);
  fx_fault_loop_calls (FX_FAULT_ONCE_THEN_PERSIST, EIO, SYS_MASK (waitid), helper_wait_run, NULL);
}

/* The fault loop again, through the helper processes: a failing clone, pipe, dup, poll,
 * wait, or a call of the helper itself, is a clean error with no fd left and a consistent
 * store. */
static void
pull_through_the_helper_survives_every_fault (void **state)
{
  /* single faults only: persistent ones are the in-memory loop's (this one is slower) */
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE, pull_helper_run, NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (references_parse_as_docker_does),
    cmocka_unit_test (platform_is_chosen_from_an_index),
    cmocka_unit_test (auth_challenges_parse_and_hostile_ones_are_refused),
    cmocka_unit_test (credentials_come_from_an_auth_file),
    cmocka_unit_test (pull_fetches_every_layer_in_parallel_and_unpacks_them),
    cmocka_unit_test (a_local_registry_is_asked_over_http_then_https),
    cmocka_unit_test (pull_of_an_index_takes_the_platform_asked_for),
    cmocka_unit_test (pull_answers_basic_and_bearer_challenges),
    cmocka_unit_test (a_transfer_cut_off_is_resumed_with_a_range),
    cmocka_unit_test (a_download_a_killed_pull_left_is_resumed),
    cmocka_unit_test (a_blob_with_the_wrong_content_is_refused_and_nothing_is_left),
    cmocka_unit_test (layers_are_unpacked_as_their_blobs_download),
    cmocka_unit_test (pulls_sharing_blobs_in_opposite_orders_both_finish),
    cmocka_unit_test (a_registrys_cert_dir_is_its_cas_and_client_certificate),
    cmocka_unit_test (a_cert_dir_crt_that_is_not_utf8_is_not_silently_dropped),
    cmocka_unit_test (a_helper_gets_no_fd_it_was_not_given),
    cmocka_unit_test (a_client_certificate_without_its_key_fails_naming_the_file),
    cmocka_unit_test (a_missing_cert_dir_fails_naming_it),
    cmocka_unit_test (a_hostile_layer_fails_the_pull_and_leaves_nothing),
    cmocka_unit_test (pull_survives_every_fault),
    cmocka_unit_test (push_uploads_missing_blobs_then_the_manifest),
    cmocka_unit_test (the_helper_process_transport_pulls_as_nobody),
    cmocka_unit_test (blobs_are_listed_in_one_record_after_the_transfers_and_before_the_name),
    cmocka_unit_test (helpers_start_ahead_and_unused_ones_are_reaped),
    cmocka_unit_test (the_helper_exits_when_focker_died_before_its_death_signal),
    cmocka_unit_test (pull_through_the_helper_survives_every_fault),
    cmocka_unit_test (every_helper_is_reaped_when_a_wait_fails),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
