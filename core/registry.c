/* registry.c: pull and push over the OCI distribution API (see registry.h).
 *
 * A session holds what one command learned about one registry: the scheme (https, or http
 * for a local registry that does not speak TLS), and the Authorization header (Basic, or a
 * Bearer token fetched from the challenge's realm for this repository's scope).  Requests go
 * through the transport; a 401 is answered once per request by authenticating again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <jansson.h>
#include <nettle/base64.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/layer_stream.h"
#include "core/registry.h"
#include "core/registry_internal.h"
#include "core/strv.h"

#define DOC_MAX (4 * 1024 * 1024)

static const char accept_manifests[]
    = "Accept: " MT_MANIFEST ", " MT_INDEX ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST;

void
session_free (struct session *x)
{
  reg_ref_free (&x->ref);
  free (x->base);
  free (x->auth);
  free (x->challenge);
  free (x->pick);
  free (x->ca_pem);
  free (x->cert_pem);
  free (x->key_pem);
}

static int
name_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* `name` ends in `suffix`, after at least one character. */
static bool
has_suffix (const char *name, const char *suffix)
{
  size_t l = strlen (name), n = strlen (suffix);

  return l > n && strcmp (name + l - n, suffix) == 0;
}

static bool
listed (char **names, const char *name)
{
  for (char **n = names; *n; n++)
    if (strcmp (*n, name) == 0)
      return true;
  return false;
}

/* A cert dir file goes to the helper in a JSON string: it must be text (PEM), or it would
 * be dropped there without a word.  A DER file is the likely case: say how to convert it. */
static int
pem_text (const char *path, const char *text, size_t len, struct focker_err **err)
{
  json_t *j = memchr (text, '\0', len) ? NULL : json_stringn (text, len);

  if (j == NULL)
    return focker_fail (err, -EINVAL,
                        "%s: not a PEM text file (a DER one converts with `openssl x509 -inform "
                        "der -in FILE -out FILE.crt`)",
                        path);
  json_decref (j);
  return 0;
}

/* The *.crt files of the cert dir, in name order, one PEM text in *out.  An unreadable one
 * (in certs.d, perhaps another user's) adds nothing: TLS then fails naming --cert-dir.  One
 * that is not text is an error naming it. */
static int
read_cas (char **out, const char *dir, char **names, struct focker_err **err)
{
  struct focker_err *e = NULL;
  char *pem = NULL;
  size_t len = 0;

  for (char **n = names; *n; n++)
    {
      size_t got = 0;
      _cleanup_free_ char *path = NULL, *text = NULL;
      if (!has_suffix (*n, ".crt"))
        continue;
      path = path_join (dir, *n);
      if (read_file_at (&text, &got, AT_FDCWD, path, 1 << 20, &e) < 0)
        {
          focker_err_free (TAKE_PTR (e));
          continue;
        }
      if (pem_text (path, text, got, err) < 0)
        {
          free (pem);
          return -EINVAL;
        }
      pem = xrealloc (pem, len + got + 2);
      memcpy (pem + len, text, got);
      len += got;
      pem[len++] = '\n';
      pem[len] = '\0';
    }
  *out = pem;
  return 0;
}

/* The client certificate: NAME.cert and its NAME.key, as docker and podman pair them; one
 * without the other is an error naming it.  libcurl presents one certificate: the first pair
 * in name order.  The key is read by focker (the helper runs as nobody) and goes to the
 * helper on its request pipe only: error messages name its file, never its content. */
static int
read_client_pair (struct session *x, const char *dir, char **names, struct focker_err **err)
{
  for (char **n = names; *n; n++)
    {
      bool cert = has_suffix (*n, ".cert");
      _cleanup_free_ char *other = NULL, *cpath = NULL, *kpath = NULL;
      size_t len = 0;
      int r;

      if (!cert && !has_suffix (*n, ".key"))
        continue;
      other
          = xasprintf ("%.*s%s", (int)(strlen (*n) - (cert ? 5 : 4)), *n, cert ? ".key" : ".cert");
      if (!listed (names, other))
        return focker_fail (err, -EINVAL,
                            cert ? "%s/%s: a client certificate without its key %s"
                                 : "%s/%s: a client key without its certificate %s",
                            dir, *n, other);
      if (!cert || x->cert_pem)
        continue;
      cpath = path_join (dir, *n);
      kpath = path_join (dir, other);
      if ((r = read_file_at (&x->cert_pem, &len, AT_FDCWD, cpath, 1 << 20, err)) < 0
          || (r = pem_text (cpath, x->cert_pem, len, err)) < 0
          || (r = read_file_at (&x->key_pem, &len, AT_FDCWD, kpath, 1 << 20, err)) < 0
          || (r = pem_text (kpath, x->key_pem, len, err)) < 0)
        return r;
    }
  return 0;
}

/* The registry's cert dir, read as podman and skopeo read theirs: its *.crt are the CAs, a
 * NAME.cert with its NAME.key the client certificate.  A missing certs.d dir is no error (most
 * registries have none); a --cert-dir the user named must be there: a typo would otherwise
 * read as an untrusted registry. */
static int
load_cert_dir (struct session *x, const char *dir, bool named, struct focker_err **err)
{
  _cleanup_strv_ char **names = NULL;
  struct focker_err *e = NULL;
  int r;

  if ((r = list_dir_at (&names, AT_FDCWD, dir, &e)) < 0)
    {
      focker_err_free (e);
      return named ? focker_fail (err, r, "--cert-dir %s", dir) : 0;
    }
  qsort (names, strv_length (names), sizeof *names, name_cmp);
  r = read_cas (&x->ca_pem, dir, names, err);
  return r < 0 ? r : read_client_pair (x, dir, names, err);
}

struct reg_tls
session_tls (struct session *x, const char *url)
{
  const char *p = strstr (url, "://");
  size_t n = strlen (x->ref.host);

  if (p == NULL || strncmp (p + 3, x->ref.host, n) != 0 || (p[3 + n] != '/' && p[3 + n] != '\0'))
    return (struct reg_tls){ 0 };
  return (struct reg_tls){ .ca_pem = x->ca_pem, .cert_pem = x->cert_pem, .key_pem = x->key_pem };
}

int
session_init (struct session *x, const char *ref, const struct reg_opts *o, const char *actions,
              struct focker_err **err)
{
  memset (x, 0, sizeof *x);
  x->o = o;
  x->actions = actions;
  x->parallel = o->parallel ? o->parallel : 3;
  if (reg_ref_parse (&x->ref, ref, err) < 0)
    return -EINVAL;
  /* a local registry is asked over plain HTTP first (most run without TLS, and a failed TLS
   * attempt costs the helper its CA store: ~150 ms); one that answers as TLS servers answer
   * plain HTTP gets https next.  Any other registry: https, then http only with
   * --tls-verify=false. */
  x->http_ok = !o->tls_verify || reg_host_is_local (x->ref.host);
  x->base = xasprintf ("%s://%s", reg_host_is_local (x->ref.host) ? "http" : "https", x->ref.host);
  /* with --tls-verify=false too: a registry that asks for a client certificate still does */
  _cleanup_free_ char *dir
      = o->cert_dir ? xstrdup (o->cert_dir) : xasprintf (REG_CERTS_D "/%s", x->ref.host);
  int r = load_cert_dir (x, dir, o->cert_dir != NULL, err);
  if (r < 0)
    session_free (x);
  return r;
}

static char *
url_escape (const char *s)
{
  char *out = xmalloc (strlen (s) * 3 + 1), *p = out;

  for (; *s; s++)
    if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
        || strchr ("-._~", *s))
      *p++ = *s;
    else
      p += sprintf (p, "%%%02X", (unsigned char)*s);
  *p = '\0';
  return out;
}

static char *
base64 (const char *s)
{
  size_t n = strlen (s);
  char *out = xmalloc (BASE64_ENCODE_RAW_LENGTH (n) + 1);

  base64_encode_raw (out, n, (const uint8_t *)s);
  out[BASE64_ENCODE_RAW_LENGTH (n)] = '\0';
  return out;
}

char *
session_url (struct session *x, const char *path)
{
  if (strncmp (path, "https://", 8) == 0 || strncmp (path, "http://", 7) == 0)
    return xstrdup (path);
  return xasprintf ("%s%s", x->base, path);
}

/* The registry's own words for an error answer ({"errors": [{"message": ...}]}), or "". */
static const char *
error_message (const struct reg_response *r)
{
  _cleanup_json_ json_t *doc = NULL;
  static char msg[200];
  const char *m;

  msg[0] = '\0';
  if (r->body == NULL)
    return msg;
  doc = json_loadb (r->body, r->body_len, 0, NULL);
  m = json_string_value (
      json_object_get (json_array_get (json_object_get (doc, "errors"), 0), "message"));
  if (m)
    snprintf (msg, sizeof msg, " (%s)", m);
  return msg;
}

int
session_fail_status (struct session *x, const struct reg_response *r, struct focker_err **err,
                     const char *what)
{
  if (r->status == 0 && r->error && strstr (r->error, "client certificate"))
    return focker_fail (err, -EACCES,
                        "%s: %s: %s (give it NAME.cert with its NAME.key in --cert-dir DIR or "
                        "%s/%s/)",
                        x->ref.registry, what, r->error, REG_CERTS_D, x->ref.host);
  if (r->status == 0 && r->error && strstr (r->error, "certificate"))
    return focker_fail (err, -EIO,
                        "%s: %s: %s (trust its CA with --cert-dir DIR or %s/%s/*.crt, or skip "
                        "the check with --tls-verify=false)",
                        x->ref.registry, what, r->error, REG_CERTS_D, x->ref.host);
  if (r->status == 0)
    return focker_fail (err, -EIO, "%s: %s: %s", x->ref.registry, what,
                        r->error ? r->error : "no answer");
  if (r->status == 401 || r->status == 403)
    return focker_fail (err, -EACCES, "%s: %s: access denied%s%s", x->ref.registry, what,
                        x->o->user ? "" : " (no credentials: --creds USER:PASS or an auth file)",
                        error_message (r));
  return focker_fail (err, r->status == 404 ? -ENOENT : -EIO, "%s: %s: the registry answered %d%s",
                      x->ref.registry, what, r->status, error_message (r));
}

/* Run one request and wait for it (nothing else may be in flight). */
static int
transfer (struct session *x, const struct reg_request *rq, struct reg_response *resp,
          struct focker_err **err)
{
  int h = x->o->t->start (x->o->t, rq, err), r;

  if (h < 0)
    return h;
  do
    r = x->o->t->wait (x->o->t, -1, resp, err);
  while (r == -ETIMEDOUT);
  return r < 0 ? r : 0;
}

/* Answer a challenge: set x->auth. */
static int
authenticate (struct session *x, const char *header, struct focker_err **err)
{
  struct reg_challenge c;
  _cleanup_free_ char *userpass = NULL, *basic = NULL, *url = NULL, *scope = NULL, *service = NULL;
  _cleanup_json_ json_t *doc = NULL;
  struct reg_response resp = { 0 };
  char *headers[2] = { NULL, NULL };
  const char *token;
  int r;

  if (x->auth_tries++ >= 3)
    return focker_fail (err, -EACCES, "%s: authentication failed", x->ref.registry);
  r = reg_challenge_parse (&c, header, err);
  if (r < 0)
    return focker_err_prefix (err, "%s", x->ref.registry);
  if (x->o->user)
    {
      userpass = xasprintf ("%s:%s", x->o->user, x->o->pass ? x->o->pass : "");
      basic = base64 (userpass);
    }
  if (strcmp (c.scheme, "basic") == 0)
    {
      reg_challenge_free (&c);
      if (basic == NULL)
        return focker_fail (err, -EACCES,
                            "%s: the registry asks for a password (--creds USER:PASS or an auth "
                            "file)",
                            x->ref.registry);
      if (x->auth && strncmp (x->auth, "Authorization: Basic", 20) == 0)
        return focker_fail (err, -EACCES, "%s: user %s: authentication failed", x->ref.registry,
                            x->o->user);
      free (x->auth);
      x->auth = xasprintf ("Authorization: Basic %s", basic);
      return 0;
    }
  /* the password goes to the realm: over TLS, unless the registry itself may be plain HTTP */
  if (basic && strncmp (c.realm, "https://", 8) != 0 && !x->http_ok)
    {
      r = focker_fail (err, -EACCES, "%s: token service %s is not https: credentials not sent",
                       x->ref.registry, c.realm);
      reg_challenge_free (&c);
      return r;
    }
  /* our own scope: one token then serves every request of this command */
  url = xasprintf ("repository:%s:%s", x->ref.repo, x->actions);
  scope = url_escape (url);
  free (TAKE_PTR (url));
  service = c.service ? url_escape (c.service) : NULL;
  url = xasprintf ("%s%sscope=%s%s%s", c.realm, strchr (c.realm, '?') ? "&" : "?", scope,
                   service ? "&service=" : "", service ? service : "");
  reg_challenge_free (&c);
  if (basic)
    headers[0] = xasprintf ("Authorization: Basic %s", basic);
  struct reg_request rq = { .method = "GET",
                            .url = url,
                            .headers = headers,
                            .body_fd = -1,
                            .out_fd = -1,
                            .tee_fd = -1,
                            .tls_verify = x->o->tls_verify,
                            .tls = session_tls (x, url),
                            .spares = !x->no_spares };
  r = transfer (x, &rq, &resp, err);
  free (headers[0]);
  if (r < 0)
    return r;
  if (resp.status != 200)
    {
      r = session_fail_status (x, &resp, err, "token");
      reg_response_free (&resp);
      return r;
    }
  doc = json_loadb (resp.body ? resp.body : "", resp.body_len, 0, NULL);
  reg_response_free (&resp);
  token = json_string_value (json_object_get (doc, "token"));
  if (token == NULL)
    token = json_string_value (json_object_get (doc, "access_token"));
  if (token == NULL || *token == '\0' || strpbrk (token, "\r\n"))
    return focker_fail (err, -EACCES, "%s: the token server gave no token", x->ref.registry);
  free (x->auth);
  x->auth = xasprintf ("Authorization: Bearer %s", token);
  return 0;
}

void
session_headers (struct session *x, const char *url, char **out, size_t n, const char *extra)
{
  size_t i = 0, b = strlen (x->base);

  memset (out, 0, n * sizeof *out);
  if (extra)
    out[i++] = (char *)extra;
  /* the credentials go to the registry only: an upload Location elsewhere gets none */
  if (x->auth && strncmp (url, x->base, b) == 0 && (url[b] == '/' || url[b] == '?'))
    out[i++] = x->auth;
}

int
session_note_answer (struct session *x, struct reg_response *resp, bool *retry,
                     struct focker_err **err)
{
  *retry = false;
  if (!x->scheme_known)
    {
      bool https = strncmp (x->base, "https://", 8) == 0;
      /* a --tls-verify=false registry without TLS; or a local one that is a TLS server: no
       * HTTP answer, or the 400 TLS servers give a plain HTTP request */
      if ((https && resp->status == 0 && x->http_ok)
          || (!https && (resp->status == 0 || resp->status == 400)))
        {
          free (x->base);
          x->base = xasprintf ("%s://%s", https ? "http" : "https", x->ref.host);
          x->scheme_known = true;
          *retry = true;
          return 0;
        }
    }
  if (resp->status != 0)
    x->scheme_known = true;
  if (resp->status == 401)
    {
      int r = authenticate (x, reg_response_header (resp, "www-authenticate"), err);
      if (r < 0)
        return r;
      *retry = true;
    }
  return 0;
}

int
session_request (struct session *x, const char *method, const char *path, const char *extra,
                 const char *body, int body_fd, uint64_t body_size, struct reg_response *resp,
                 struct focker_err **err)
{
  for (;;)
    {
      _cleanup_free_ char *url = session_url (x, path);
      char *headers[3];
      bool retry;
      int r;

      session_headers (x, url, headers, 3, extra);
      struct reg_request rq = { .method = method,
                                .url = url,
                                .headers = headers,
                                .body = body,
                                .body_fd = body_fd,
                                .body_size = body_size,
                                .out_fd = -1,
                                .tee_fd = -1,
                                .tls_verify = x->o->tls_verify,
                                .tls = session_tls (x, url),
                                .spares = !x->no_spares };
      memset (resp, 0, sizeof *resp);
      r = transfer (x, &rq, resp, err);
      if (r < 0)
        return r;
      if (body_fd >= 0 && resp->status == 401)
        return 0; /* the body is consumed: the caller decides */
      r = session_note_answer (x, resp, &retry, err);
      if (r < 0 || !retry)
        {
          if (r < 0)
            reg_response_free (resp);
          return r;
        }
      reg_response_free (resp);
    }
}

/* ---- pull ---- */

static int
fetch_manifest (struct session *x, const char *reference, char **body, size_t *len,
                char digest[DIGEST_LEN + 1], char **media_type, struct focker_err **err)
{
  _cleanup_free_ char *path = xasprintf ("/v2/%s/manifests/%s", x->ref.repo, reference);
  _cleanup_free_ char *what = xasprintf ("%s:%s manifest", x->ref.repo, reference);
  struct reg_response resp;
  const char *hd, *ct;
  int r;

  r = session_request (x, "GET", path, accept_manifests, NULL, -1, 0, &resp, err);
  if (r < 0)
    return r;
  if (resp.status != 200 || resp.body == NULL || resp.error)
    {
      r = resp.status == 200 ? focker_fail (err, -EIO, "%s: %s: %s", x->ref.registry, what,
                                            resp.error ? resp.error : "empty")
                             : session_fail_status (x, &resp, err, what);
      reg_response_free (&resp);
      return r;
    }
  if (resp.body_len > DOC_MAX)
    {
      reg_response_free (&resp);
      return focker_fail (err, -EFBIG, "%s: %s: larger than %d bytes", x->ref.registry, what,
                          DOC_MAX);
    }
  digest_buffer (resp.body, resp.body_len, digest);
  hd = reg_response_header (&resp, "docker-content-digest");
  if ((digest_valid (reference) && strcmp (reference, digest) != 0)
      || (hd && digest_valid (hd) && strcmp (hd, digest) != 0))
    {
      r = focker_fail (err, -EINVAL, "%s: %s: its content has digest %s, not %s", x->ref.registry,
                       what, digest, digest_valid (reference) ? reference : hd);
      reg_response_free (&resp);
      return r;
    }
  ct = reg_response_header (&resp, "content-type");
  *media_type = xstrndup (ct ? ct : "", ct ? strcspn (ct, "; ") : 0);
  *body = TAKE_PTR (resp.body);
  *len = resp.body_len;
  reg_response_free (&resp);
  return 0;
}

/* The manifest to pull: REF's, or the platform's one from REF's index. */
static int
resolve_manifest (struct session *x, char **body, size_t *len, char digest[DIGEST_LEN + 1],
                  struct focker_err **err)
{
  struct reg_platform want;
  const char *reference = x->ref.digest ? x->ref.digest : x->ref.tag;
  int r;

  r = reg_platform_parse (&want, x->o->platform, err);
  for (int depth = 0; r == 0; depth++)
    {
      _cleanup_free_ char *mt = NULL, *pick = NULL;
      _cleanup_json_ json_t *doc = NULL;
      json_t *list;
      int i;

      r = fetch_manifest (x, reference, body, len, digest, &mt, err);
      if (r < 0)
        return r;
      doc = json_loadb (*body, *len, 0, NULL);
      if (!json_is_object (doc))
        r = focker_fail (err, -EINVAL, "%s: manifest %s: not a JSON object", x->ref.registry,
                         digest);
      else if (json_integer_value (json_object_get (doc, "schemaVersion")) != 2)
        r = focker_fail (err, -EOPNOTSUPP,
                         "%s: manifest %s: schema version 1 (focker reads OCI and Docker v2 "
                         "manifests)",
                         x->ref.registry, digest);
      list = json_object_get (doc, "manifests");
      if (r < 0 || !json_is_array (list))
        break; /* an image manifest (or an error) */
      if (depth > 0)
        r = focker_fail (err, -ELOOP, "%s: index %s names another index", x->ref.registry, digest);
      else if ((i = reg_platform_select (list, &want)) < 0)
        r = focker_fail (err, -ENOENT, "%s: %s has no image for %s/%s%s%s", x->ref.registry,
                         reference, want.os, want.arch, want.variant[0] ? "/" : "", want.variant);
      else
        {
          pick = xstrdup (
              json_string_value (json_object_get (json_array_get (list, (size_t)i), "digest")));
          if (!digest_valid (pick))
            r = focker_fail (err, -EINVAL, "%s: index %s: manifests[%d]: bad digest",
                             x->ref.registry, digest, i);
          free (x->pick);
          reference = x->pick = TAKE_PTR (pick); /* fetched and verified next round */
        }
      free (TAKE_PTR (*body));
      if (r < 0)
        return r;
    }
  if (r < 0)
    free (TAKE_PTR (*body));
  return r;
}

/* The layers of `img`, each named: from its unpacker when one ran (and was fed the whole
 * verified blob), else unpacked from the blob. */
static int
pull_layers (struct store *s, struct image *img, struct pull_stream *streams, size_t n,
             struct focker_err **err)
{
  int r = 0;

  for (size_t i = 0; r == 0 && i < img->n_layers; i++)
    {
      char diff[DIGEST_LEN + 1];
      r = 0;
      for (size_t j = 0; j < n; j++)
        if (streams[j].ls && strcmp (streams[j].blob, img->layers[i]) == 0)
          {
            r = layer_stream_end (TAKE_PTR (streams[j].ls), streams[j].whole, img->layers[i],
                                  img->diff_ids[i], diff, err);
            sys_close (streams[j].lockfd);
            streams[j].lockfd = -1;
          }
      if (r == 0)
        r = store_layer_ensure (s, img->layers[i], img->diff_ids[i], diff, err);
      r = r < 0 ? r : 0;
    }
  return r;
}

int
registry_pull (struct store *s, const char *ref, const struct reg_opts *o, char **name,
               char id[DIGEST_LEN + 1], struct focker_err **err)
{
  struct session x;
  _cleanup_free_ char *body = NULL;
  _cleanup_json_ json_t *man = NULL;
  struct image *img = NULL;
  struct pull_stream *streams = NULL;
  char digest[DIGEST_LEN + 1], got[DIGEST_LEN + 1];
  size_t len = 0, n_streams = 0;
  int r;

  if (session_init (&x, ref, o, "pull", err) < 0)
    return -EINVAL;
  x.s = s;
  /* a digest already in the store: its blobs are most likely here too */
  x.no_spares = x.ref.digest && store_blob_exists (s, x.ref.digest);
  r = resolve_manifest (&x, &body, &len, digest, err);
  if (r == 0)
    {
      man = json_loadb (body, len, 0, NULL);
      store_intent_add (s, 'B', digest); /* listed with the other blobs, in one write */
      r = pull_blobs (&x, man, &streams, &n_streams, err);
    }
  if (r == 0)
    r = store_blob_put (s, body, len, digest, got, err);
  if (r == 0)
    r = store_image_from_manifest (&img, s, digest, err);
  if (r == 0)
    r = pull_layers (s, img, streams, n_streams, err);
  for (size_t i = 0; i < n_streams; i++)
    {
      layer_stream_abort (streams[i].ls); /* a failure, or a blob no layer names */
      if (streams[i].lockfd >= 0)
        sys_close (streams[i].lockfd);
    }
  free (streams);
  if (r == 0)
    {
      *name = reg_ref_store_name (&x.ref);
      r = store_tag (s, *name, digest, len, err);
      if (r < 0)
        free (TAKE_PTR (*name));
      else
        memcpy (id, img->id, DIGEST_LEN + 1);
    }
  image_free (img);
  session_free (&x);
  return r;
}
