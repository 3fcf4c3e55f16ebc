/* spec_json.c: typed access to the jansson tree for the config.json parser.
 *
 * Every getter checks the JSON type and range of one member and, on failure, names its
 * full path through struct spec_ctx.  Invariants: nothing is allocated on an error path
 * except what is already stored in the caller's output; null members count as absent.
 *
 * Integers: json_loadb keeps integers exact up to INT64_MAX.  A document with a larger
 * integer (UINT64_MAX for "unlimited") is re-read with JSON_DECODE_INT_AS_REAL by
 * spec_parse(), so the getters also accept integral reals, mapping 2^64 to UINT64_MAX. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/spec_internal.h"

size_t
spec_ctx_key (struct spec_ctx *c, const char *key)
{
  size_t mark = c->len;
  int n = snprintf (c->path + c->len, sizeof c->path - c->len, "%s%s", c->len ? "." : "", key);

  if (n > 0)
    c->len += (size_t)n < sizeof c->path - c->len ? (size_t)n : sizeof c->path - c->len - 1;
  return mark;
}

size_t
spec_ctx_index (struct spec_ctx *c, size_t i)
{
  size_t mark = c->len;
  int n = snprintf (c->path + c->len, sizeof c->path - c->len, "[%zu]", i);

  if (n > 0)
    c->len += (size_t)n < sizeof c->path - c->len ? (size_t)n : sizeof c->path - c->len - 1;
  return mark;
}

void
spec_ctx_pop (struct spec_ctx *c, size_t mark)
{
  c->len = mark;
  c->path[mark] = '\0';
}

int
spec_ctx_fail (struct spec_ctx *c, const char *key, const char *fmt, ...)
{
  char *msg;
  va_list ap;
  size_t mark = c->len;
  int r;

  if (key)
    spec_ctx_key (c, key);
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (c->len)
    r = focker_fail (c->err, -EINVAL, "%s: %s: %s", c->name, c->path, msg ? msg : fmt);
  else
    r = focker_fail (c->err, -EINVAL, "%s: %s", c->name, msg ? msg : fmt);
  free (msg);
  spec_ctx_pop (c, mark);
  return r;
}

json_t *
spec_jmember (json_t *obj, const char *key)
{
  json_t *v = json_object_get (obj, key);

  return json_is_null (v) ? NULL : v;
}

int
spec_jstring (struct spec_ctx *c, json_t *obj, const char *key, bool required, char **out)
{
  json_t *v = spec_jmember (obj, key);

  if (v == NULL)
    return required ? spec_ctx_fail (c, key, "missing") : 0;
  if (!json_is_string (v))
    return spec_ctx_fail (c, key, "must be a string");
  free (*out);
  *out = xstrdup (json_string_value (v));
  return 1;
}

int
spec_jbool (struct spec_ctx *c, json_t *obj, const char *key, bool *out)
{
  json_t *v = spec_jmember (obj, key);

  if (v == NULL)
    return 0;
  if (!json_is_boolean (v))
    return spec_ctx_fail (c, key, "must be a boolean");
  *out = json_is_true (v);
  return 1;
}

int
spec_jvalue_u64 (struct spec_ctx *c, const char *key, json_t *v, uint64_t max, uint64_t *out)
{
  uint64_t u;

  if (json_is_integer (v))
    {
      json_int_t i = json_integer_value (v);
      if (i < 0)
        return spec_ctx_fail (c, key, "must not be negative");
      u = (uint64_t)i;
    }
  else if (json_is_real (v))
    {
      double d = json_real_value (v);
      if (d < 0)
        return spec_ctx_fail (c, key, "must not be negative");
      if (!(d <= 18446744073709551616.0))
        return spec_ctx_fail (c, key, "out of range");
      /* the nearest double to UINT64_MAX is 2^64 */
      u = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
      if (d < 18446744073709551615.0 && (double)u != d)
        return spec_ctx_fail (c, key, "must be an integer");
    }
  else
    return spec_ctx_fail (c, key, "must be an integer");
  if (u > max)
    return spec_ctx_fail (c, key, "out of range: %llu > %llu", (unsigned long long)u,
                          (unsigned long long)max);
  *out = u;
  return 1;
}

int
spec_jvalue_i64 (struct spec_ctx *c, const char *key, json_t *v, int64_t min, int64_t max,
                 int64_t *out)
{
  int64_t i;

  if (json_is_integer (v))
    i = json_integer_value (v);
  else if (json_is_real (v))
    {
      double d = json_real_value (v);
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return spec_ctx_fail (c, key, "out of range");
      i = (int64_t)d;
      if ((double)i != d)
        return spec_ctx_fail (c, key, "must be an integer");
    }
  else
    return spec_ctx_fail (c, key, "must be an integer");
  if (i < min || i > max)
    return spec_ctx_fail (c, key, "out of range: %lld not in [%lld, %lld]", (long long)i,
                          (long long)min, (long long)max);
  *out = i;
  return 1;
}

int
spec_ji64 (struct spec_ctx *c, json_t *obj, const char *key, bool required, int64_t min,
           int64_t max, int64_t *out)
{
  json_t *v = spec_jmember (obj, key);

  if (v == NULL)
    return required ? spec_ctx_fail (c, key, "missing") : 0;
  return spec_jvalue_i64 (c, key, v, min, max, out);
}

int
spec_ju64 (struct spec_ctx *c, json_t *obj, const char *key, bool required, uint64_t max,
           uint64_t *out)
{
  json_t *v = spec_jmember (obj, key);

  if (v == NULL)
    return required ? spec_ctx_fail (c, key, "missing") : 0;
  return spec_jvalue_u64 (c, key, v, max, out);
}

int
spec_jobject (struct spec_ctx *c, json_t *obj, const char *key, bool required, json_t **out)
{
  json_t *v = spec_jmember (obj, key);

  if (v == NULL)
    return required ? spec_ctx_fail (c, key, "missing") : 0;
  if (!json_is_object (v))
    return spec_ctx_fail (c, key, "must be an object");
  *out = v;
  return 1;
}

int
spec_jobject_parse (struct spec_ctx *c, json_t *obj, const char *key,
                    int (*fn) (struct spec_ctx *, json_t *, void *), void *out)
{
  json_t *o = NULL;
  size_t mark;
  int r;

  r = spec_jobject (c, obj, key, false, &o);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, key);
  r = fn (c, o, out);
  spec_ctx_pop (c, mark);
  return r < 0 ? r : 1;
}

int
spec_jarray (struct spec_ctx *c, json_t *obj, const char *key, bool required, json_t **out)
{
  json_t *v = spec_jmember (obj, key);

  if (v == NULL)
    return required ? spec_ctx_fail (c, key, "missing") : 0;
  if (!json_is_array (v))
    return spec_ctx_fail (c, key, "must be an array");
  *out = v;
  return 1;
}

int
spec_jstrv (struct spec_ctx *c, json_t *obj, const char *key, char ***out)
{
  json_t *v = spec_jmember (obj, key), *e;
  size_t i, n, mark;
  char **r;

  if (v == NULL)
    return 0;
  if (!json_is_array (v))
    return spec_ctx_fail (c, key, "must be an array of strings");
  n = json_array_size (v);
  json_array_foreach (v, i, e) if (!json_is_string (e))
  {
    mark = spec_ctx_key (c, key);
    spec_ctx_index (c, i);
    spec_ctx_fail (c, NULL, "must be a string");
    spec_ctx_pop (c, mark);
    return -EINVAL;
  }
  r = xcalloc (n + 1, sizeof *r);
  for (i = 0; i < n; i++)
    r[i] = xstrdup (json_string_value (json_array_get (v, i)));
  *out = r;
  return 1;
}

int
spec_jkv (struct spec_ctx *c, json_t *obj, const char *key, struct spec_kv **out, size_t *n)
{
  json_t *v = spec_jmember (obj, key), *e;
  const char *k;
  size_t i = 0, mark;
  int r = 0;

  if (v == NULL)
    return 0;
  if (!json_is_object (v))
    return spec_ctx_fail (c, key, "must be an object of strings");
  mark = spec_ctx_key (c, key);
  json_object_foreach (v, k, e)
  {
    if (*k == '\0')
      r = spec_ctx_fail (c, NULL, "empty key");
    else if (!json_is_string (e))
      r = spec_ctx_fail (c, k, "must be a string");
    if (r < 0)
      break;
  }
  spec_ctx_pop (c, mark);
  if (r < 0)
    return r;
  *out = xcalloc (json_object_size (v), sizeof **out);
  json_object_foreach (v, k, e)
  {
    (*out)[i].key = xstrdup (k);
    (*out)[i].value = xstrdup (json_string_value (e));
    *n = ++i;
  }
  return 1;
}

int
spec_jid_maps (struct spec_ctx *c, json_t *obj, const char *key, struct spec_id_map **out,
               size_t *n)
{
  json_t *arr = NULL, *e;
  size_t i, mark;
  int r;

  r = spec_jarray (c, obj, key, false, &arr);
  if (r <= 0)
    return r;
  *out = xcalloc (json_array_size (arr), sizeof **out);
  *n = json_array_size (arr);
  mark = spec_ctx_key (c, key);
  json_array_foreach (arr, i, e)
  {
    struct spec_id_map *m = &(*out)[i];
    uint64_t cid = 0, hid = 0, size = 0;
    size_t m2 = spec_ctx_index (c, i);

    if (!json_is_object (e))
      r = spec_ctx_fail (c, NULL, "must be an object");
    if (r >= 0)
      r = spec_ju64 (c, e, "containerID", true, UINT32_MAX, &cid);
    if (r >= 0)
      r = spec_ju64 (c, e, "hostID", true, UINT32_MAX, &hid);
    if (r >= 0)
      r = spec_ju64 (c, e, "size", true, UINT32_MAX, &size);
    if (r >= 0 && size == 0)
      r = spec_ctx_fail (c, "size", "must be greater than 0");
    if (r < 0)
      break;
    m->container_id = (uint32_t)cid;
    m->host_id = (uint32_t)hid;
    m->size = (uint32_t)size;
    spec_ctx_pop (c, m2);
  }
  spec_ctx_pop (c, mark);
  return r < 0 ? r : 1;
}

int
spec_check_abs (struct spec_ctx *c, const char *key, const char *path)
{
  if (path[0] != '/')
    return spec_ctx_fail (c, key, "must be an absolute path: \"%s\"", path);
  return 0;
}

int
spec_check_abs_strv (struct spec_ctx *c, const char *key, char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    if (v[i][0] != '/')
      {
        size_t mark = spec_ctx_key (c, key);
        spec_ctx_index (c, i);
        spec_ctx_fail (c, NULL, "must be an absolute path: \"%s\"", v[i]);
        spec_ctx_pop (c, mark);
        return -EINVAL;
      }
  return 0;
}

int
spec_check_enum (struct spec_ctx *c, const char *key, const char *s, const char *const *names,
                 const char *what)
{
  for (int i = 0; names[i]; i++)
    if (strcmp (s, names[i]) == 0)
      return i;
  return spec_ctx_fail (c, key, "unknown %s \"%s\"", what, s);
}

/* Array member `key`: stores a new array of n elements of `size` into the pointer at
 * `outp` (any struct pointer; written with memcpy), calls fn on each with its path. */
int
spec_jarray_of (struct spec_ctx *c, json_t *obj, const char *key, size_t size, void *outp,
                size_t *n, int (*fn) (struct spec_ctx *, json_t *, void *))
{
  json_t *arr = NULL, *e;
  size_t mark, i;
  char *p;
  int r;

  r = spec_jarray (c, obj, key, false, &arr);
  if (r <= 0)
    return r;
  p = xcalloc (json_array_size (arr), size);
  memcpy (outp, &p, sizeof p);
  *n = json_array_size (arr);
  mark = spec_ctx_key (c, key);
  json_array_foreach (arr, i, e)
  {
    size_t m2 = spec_ctx_index (c, i);
    if (!json_is_object (e))
      r = spec_ctx_fail (c, NULL, "must be an object");
    else
      r = fn (c, e, p + i * size);
    spec_ctx_pop (c, m2);
    if (r < 0)
      break;
  }
  spec_ctx_pop (c, mark);
  return r;
}
