/* registry_ref.c: the pure parts of the registry client (see registry.h): references,
 * platforms, WWW-Authenticate challenges, credentials from an auth file.  No network; the
 * only kernel calls are the auth file's read. */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include <nettle/base64.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/registry.h"
#include "core/strv.h"

#define AUTH_FILE_MAX (1024 * 1024)

void
reg_ref_free (struct reg_ref *r)
{
  free (r->registry);
  free (r->host);
  free (r->repo);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof *r);
}

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A path component: [a-z0-9]+ with single '.', '_', "__" or runs of '-' between. */
static bool
component_valid (const char *s, size_t n)
{
  if (n == 0 || !is_lower_alnum (s[0]) || !is_lower_alnum (s[n - 1]))
    return false;
  for (size_t i = 1; i < n; i++)
    {
      if (is_lower_alnum (s[i]) || s[i] == '-')
        continue;
      if (s[i] == '.' || s[i] == '_')
        {
          if (s[i] == '_' && s[i + 1] == '_' && i + 2 < n && is_lower_alnum (s[i + 2]))
            {
              i++;
              continue;
            }
          if (!is_lower_alnum (s[i + 1]))
            return false;
          continue;
        }
      return false;
    }
  return true;
}

static bool
repo_valid (const char *repo)
{
  const char *p = repo;

  if (*repo == '\0' || strlen (repo) > 255)
    return false;
  for (;;)
    {
      const char *slash = strchr (p, '/');
      size_t n = slash ? (size_t)(slash - p) : strlen (p);
      if (!component_valid (p, n))
        return false;
      if (slash == NULL)
        return true;
      p = slash + 1;
    }
}

static bool
tag_valid (const char *t)
{
  size_t n = strlen (t);

  if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(is_lower_alnum (t[i]) || (t[i] >= 'A' && t[i] <= 'Z') || strchr ("._-", t[i])))
      return false;
  return true;
}

static bool
host_valid (const char *h)
{
  if (*h == '\0' || strlen (h) > 253)
    return false;
  for (const char *c = h; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
          || strchr (".-:[]", *c)))
      return false;
  return h[0] != '-' && h[0] != '.' && h[0] != ':';
}

int
reg_ref_parse (struct reg_ref *out, const char *s, struct focker_err **err)
{
  _cleanup_free_ char *rest = NULL;
  const char *slash;
  char *at, *colon, *name;

  memset (out, 0, sizeof *out);
  if (s == NULL || *s == '\0' || strlen (s) > 512)
    return focker_fail (err, -EINVAL, "image reference \"%s\": empty or too long", s ? s : "");
  slash = strchr (s, '/');
  if (slash
      && (memchr (s, '.', (size_t)(slash - s)) || memchr (s, ':', (size_t)(slash - s))
          || strncmp (s, "localhost/", 10) == 0))
    {
      out->registry = xstrndup (s, (size_t)(slash - s));
      rest = xstrdup (slash + 1);
    }
  else
    {
      out->registry = xstrdup ("docker.io");
      rest = xstrdup (s);
    }
  if (!host_valid (out->registry))
    goto bad;
  out->host
      = xstrdup (strcmp (out->registry, "docker.io") == 0 ? "registry-1.docker.io" : out->registry);
  at = strchr (rest, '@');
  if (at)
    {
      *at = '\0';
      if (!digest_valid (at + 1))
        {
          reg_ref_free (out);
          return focker_fail (err, -EINVAL, "image reference \"%s\": \"%s\" is not a sha256 digest",
                              s, at + 1);
        }
      out->digest = xstrdup (at + 1);
    }
  name = rest;
  colon = strrchr (name, ':');
  if (colon && strchr (colon, '/') == NULL)
    {
      *colon = '\0';
      if (!tag_valid (colon + 1))
        goto bad;
      out->tag = xstrdup (colon + 1);
    }
  else if (out->digest == NULL)
    out->tag = xstrdup ("latest");
  if (strcmp (out->registry, "docker.io") == 0 && strchr (name, '/') == NULL)
    out->repo = xasprintf ("library/%s", name);
  else
    out->repo = xstrdup (name);
  if (!repo_valid (out->repo))
    goto bad;
  return 0;
bad:
  reg_ref_free (out);
  return focker_fail (err, -EINVAL,
                      "image reference \"%s\": not REGISTRY/NAME[:TAG|@DIGEST] (names are lower "
                      "case)",
                      s);
}

char *
reg_ref_store_name (const struct reg_ref *r)
{
  if (r->tag)
    return xasprintf ("%s/%s:%s", r->registry, r->repo, r->tag);
  return xasprintf ("%s/%s@%s", r->registry, r->repo, r->digest);
}

bool
reg_host_is_local (const char *host)
{
  static const char *const local[] = { "localhost", "127.0.0.1", "[::1]", NULL };

  for (const char *const *l = local; *l; l++)
    {
      size_t n = strlen (*l);
      if (strncmp (host, *l, n) == 0 && (host[n] == '\0' || host[n] == ':'))
        return true;
    }
  return false;
}

/* ---- platforms ---- */

static const char *
default_variant (const char *arch)
{
  if (strcmp (arch, "arm64") == 0)
    return "v8";
  if (strcmp (arch, "arm") == 0)
    return "v7";
  return "";
}

int
reg_platform_parse (struct reg_platform *out, const char *s, struct focker_err **err)
{
  _cleanup_strv_ char **parts = NULL;
  _cleanup_free_ char *copy = NULL;
  char *save = NULL;

  memset (out, 0, sizeof *out);
  if (s == NULL || *s == '\0')
    {
      strcpy (out->os, "linux");
      snprintf (out->arch, sizeof out->arch, "%s", image_arch ());
      return 0;
    }
  copy = xstrdup (s);
  for (char *p = strtok_r (copy, "/", &save); p; p = strtok_r (NULL, "/", &save))
    strv_push (&parts, p);
  size_t n = strv_length (parts);
  if (n < 2 || n > 3 || s[strlen (s) - 1] == '/' || strstr (s, "//"))
    return focker_fail (err, -EINVAL, "--platform \"%s\": not OS/ARCH[/VARIANT]", s);
  for (size_t i = 0; i < n; i++)
    if (strlen (parts[i]) >= sizeof out->os)
      return focker_fail (err, -EINVAL, "--platform \"%s\": not OS/ARCH[/VARIANT]", s);
  strcpy (out->os, parts[0]);
  strcpy (out->arch, parts[1]);
  if (n == 3)
    strcpy (out->variant, parts[2]);
  return 0;
}

int
reg_platform_select (const void *manifests, const struct reg_platform *want)
{
  const json_t *list = manifests;
  int any = -1, usual = -1;

  for (size_t i = 0; i < json_array_size (list); i++)
    {
      json_t *p = json_object_get (json_array_get (list, i), "platform");
      const char *os = json_string_value (json_object_get (p, "os"));
      const char *arch = json_string_value (json_object_get (p, "architecture"));
      const char *variant = json_string_value (json_object_get (p, "variant"));
      if (os == NULL || arch == NULL || strcmp (os, want->os) != 0
          || strcmp (arch, want->arch) != 0)
        continue;
      if (variant == NULL)
        variant = "";
      if (want->variant[0])
        {
          if (strcmp (variant, want->variant) == 0
              || (variant[0] == '\0' && strcmp (want->variant, default_variant (arch)) == 0))
            return (int)i;
          continue;
        }
      if (usual < 0 && (variant[0] == '\0' || strcmp (variant, default_variant (arch)) == 0))
        usual = (int)i;
      if (any < 0)
        any = (int)i;
    }
  if (usual >= 0)
    return usual;
  return any >= 0 ? any : -ENOENT;
}

/* ---- challenges ---- */

void
reg_challenge_free (struct reg_challenge *c)
{
  free (c->realm);
  free (c->service);
  free (c->scope);
  memset (c, 0, sizeof *c);
}

static bool
is_token_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c));
}

/* One auth-param at *p: NAME=TOKEN or NAME="QUOTED" (with \-escapes); advances *p past a
 * following comma. */
static int
parse_param (const char **p, char **name, char **value)
{
  const char *s = *p, *start;
  char *v;
  size_t n = 0;

  while (*s == ' ' || *s == '\t')
    s++;
  start = s;
  while (is_token_char (*s))
    s++;
  if (s == start || *s != '=')
    return -EINVAL;
  *name = xstrndup (start, (size_t)(s - start));
  s++;
  v = xmalloc (strlen (s) + 1);
  if (*s == '"')
    {
      for (s++; *s && *s != '"'; s++)
        {
          if (*s == '\\' && s[1])
            s++;
          v[n++] = *s;
        }
      if (*s != '"')
        {
          free (v);
          free (TAKE_PTR (*name));
          return -EINVAL;
        }
      s++;
    }
  else
    while (is_token_char (*s) || *s == '/' || *s == ':')
      v[n++] = *s++;
  v[n] = '\0';
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s == ',')
    s++;
  else if (*s != '\0')
    {
      free (v);
      free (TAKE_PTR (*name));
      return -EINVAL;
    }
  *value = v;
  *p = s;
  return 0;
}

int
reg_challenge_parse (struct reg_challenge *out, const char *header, struct focker_err **err)
{
  const char *p = header, *start;
  size_t n;

  memset (out, 0, sizeof *out);
  if (header == NULL)
    return focker_fail (err, -EINVAL, "registry asks for authentication without a challenge");
  while (*p == ' ')
    p++;
  start = p;
  while (is_token_char (*p))
    p++;
  n = (size_t)(p - start);
  if (n == 0 || n >= sizeof out->scheme || (*p != ' ' && *p != '\0'))
    goto bad;
  for (size_t i = 0; i < n; i++)
    out->scheme[i] = (char)((start[i] >= 'A' && start[i] <= 'Z') ? start[i] + 32 : start[i]);
  if (strcmp (out->scheme, "basic") != 0 && strcmp (out->scheme, "bearer") != 0)
    {
      int r = focker_fail (err, -EOPNOTSUPP,
                           "registry asks for authentication scheme \"%.*s\" (focker does Basic "
                           "and Bearer)",
                           (int)n, start);
      reg_challenge_free (out);
      return r;
    }
  while (*p)
    {
      _cleanup_free_ char *name = NULL;
      char *value = NULL;
      if (parse_param (&p, &name, &value) < 0)
        goto bad;
      char **slot = strcasecmp (name, "realm") == 0     ? &out->realm
                    : strcasecmp (name, "service") == 0 ? &out->service
                    : strcasecmp (name, "scope") == 0   ? &out->scope
                                                        : NULL;
      if (slot == NULL || *slot != NULL)
        {
          free (value);
          if (slot)
            goto bad; /* a repeated parameter: which one would be meant? */
          continue;
        }
      *slot = value;
    }
  if (strcmp (out->scheme, "bearer") == 0
      && (out->realm == NULL
          || (strncmp (out->realm, "https://", 8) != 0 && strncmp (out->realm, "http://", 7) != 0)))
    goto bad;
  return 0;
bad:
  reg_challenge_free (out);
  return focker_fail (err, -EINVAL, "registry's WWW-Authenticate header is malformed: \"%.200s\"",
                      header);
}

/* ---- credentials ---- */

int
reg_creds_from_file (char **user, char **pass, const char *path, const char *registry,
                     struct focker_err **err)
{
  _cleanup_free_ char *text = NULL, *https = NULL;
  _cleanup_json_ json_t *doc = NULL;
  struct base64_decode_ctx ctx;
  const char *b64 = NULL, *colon;
  json_t *auths;
  size_t len, out_len;
  int r;

  r = read_file_at (&text, &len, AT_FDCWD, path, AUTH_FILE_MAX, err);
  if (r == -ENOENT)
    {
      focker_err_free (TAKE_PTR (*err));
      return -ENOENT;
    }
  if (r < 0)
    return r;
  doc = json_loadb (text, len, 0, NULL);
  auths = json_object_get (doc, "auths");
  if (!json_is_object (doc) || (auths != NULL && !json_is_object (auths)))
    return focker_fail (err, -EINVAL, "auth file %s: not a JSON object with \"auths\"", path);
  https = xasprintf ("https://%s", registry);
  const char *keys[]
      = { registry, https,
          strcmp (registry, "docker.io") == 0 ? "https://index.docker.io/v1/" : NULL };
  for (size_t i = 0; b64 == NULL && i < 3 && keys[i]; i++)
    b64 = json_string_value (json_object_get (json_object_get (auths, keys[i]), "auth"));
  if (b64 == NULL)
    return -ENOENT;
  _cleanup_free_ char *plain = xmalloc (BASE64_DECODE_LENGTH (strlen (b64)) + 1);
  base64_decode_init (&ctx);
  out_len = BASE64_DECODE_LENGTH (strlen (b64));
  if (!base64_decode_update (&ctx, &out_len, (uint8_t *)plain, strlen (b64), b64)
      || !base64_decode_final (&ctx))
    return focker_fail (err, -EINVAL, "auth file %s: %s: \"auth\" is not base64", path, registry);
  plain[out_len] = '\0';
  colon = strchr (plain, ':');
  if (colon == NULL || strlen (plain) != out_len)
    return focker_fail (err, -EINVAL, "auth file %s: %s: \"auth\" is not USER:PASSWORD", path,
                        registry);
  *user = xstrndup (plain, (size_t)(colon - plain));
  *pass = xstrdup (colon + 1);
  return 0;
}

/* ---- responses ---- */

void
reg_response_free (struct reg_response *r)
{
  strv_free (r->headers);
  free (r->body);
  free (r->error);
  memset (r, 0, sizeof *r);
}

const char *
reg_response_header (const struct reg_response *r, const char *name)
{
  size_t n = strlen (name);

  for (char **h = r->headers; h && *h; h++)
    if (strncmp (*h, name, n) == 0 && (*h)[n] == ':')
      return *h + n + 1 + ((*h)[n + 1] == ' ');
  return NULL;
}
