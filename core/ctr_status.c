/* ctr_status.c: what ps, inspect and wait say about a user container, and the log format.
 *
 * state.json is the monitor's word; it is believed only while the monitor lives.  A record
 * saying "running" whose monitor is gone is CTR_UNKNOWN: the container may still run (the
 * runtime says so) or may have exited with a status nobody recorded.  Pure functions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/ctr.h"
#include "core/err.h"

int64_t
ctr_parse_time (const char *s)
{
  struct tm tm = { 0 };
  const char *end;

  if (s == NULL)
    return 0;
  end = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == NULL)
    return 0;
  return (int64_t)timegm (&tm);
}

void
ctr_view_from (struct ctr_view *v, void *state, bool monitor_alive, bool runtime_running)
{
  json_t *st = state;
  const char *status = json_string_value (json_object_get (st, "Status"));
  json_t *code = json_object_get (st, "ExitCode");

  memset (v, 0, sizeof *v);
  v->exit_code = json_is_integer (code) ? (int)json_integer_value (code) : -1;
  v->started = ctr_parse_time (json_string_value (json_object_get (st, "StartedAt")));
  v->finished = ctr_parse_time (json_string_value (json_object_get (st, "FinishedAt")));
  v->pid = (long)json_integer_value (json_object_get (st, "Pid"));
  if (status == NULL || strcmp (status, "created") == 0)
    v->status = CTR_CREATED;
  else if (strcmp (status, "exited") == 0)
    v->status = CTR_EXITED;
  else if (monitor_alive)
    v->status = CTR_RUNNING;
  else
    {
      /* the monitor died: nobody records an exit any more */
      v->status = runtime_running ? CTR_UNKNOWN : CTR_EXITED;
      if (!runtime_running)
        v->exit_code = -1;
    }
  if (v->status != CTR_RUNNING && v->status != CTR_UNKNOWN)
    v->pid = 0;
}

char *
ctr_human_duration (int64_t d)
{
  if (d < 1)
    return xstrdup ("Less than a second");
  if (d < 60)
    return xasprintf ("%lld second%s", (long long)d, d == 1 ? "" : "s");
  if (d < 3600)
    return xasprintf ("%lld minute%s", (long long)(d / 60), d / 60 == 1 ? "" : "s");
  if (d < 2 * 86400)
    return xasprintf ("%lld hour%s", (long long)(d / 3600), d / 3600 == 1 ? "" : "s");
  return xasprintf ("%lld days", (long long)(d / 86400));
}

char *
ctr_status_text (const struct ctr_view *v, int64_t now)
{
  _cleanup_free_ char *d = NULL;

  switch (v->status)
    {
    case CTR_CREATED:
      return xstrdup ("Created");
    case CTR_RUNNING:
      d = ctr_human_duration (now - v->started);
      return xasprintf ("Up %s", d);
    case CTR_UNKNOWN:
      d = ctr_human_duration (now - v->started);
      return xasprintf ("Up %s (no monitor: exit status will not be recorded)", d);
    case CTR_EXITED:
    default:
      if (v->exit_code < 0)
        return xstrdup ("Exited (unknown)");
      if (v->finished == 0)
        return xasprintf ("Exited (%d)", v->exit_code);
      d = ctr_human_duration (now - v->finished);
      return xasprintf ("Exited (%d) %s ago", v->exit_code, d);
    }
}

/* Length of the valid UTF-8 sequence at p (of n bytes left), 0 if invalid. */
static size_t
utf8_seq (const unsigned char *p, size_t n)
{
  size_t len = p[0] < 0x80             ? 1
               : (p[0] & 0xe0) == 0xc0 ? 2
               : (p[0] & 0xf0) == 0xe0 ? 3
               : (p[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
  if (len == 0 || len > n || (len == 2 && p[0] < 0xc2))
    return 0;
  for (size_t i = 1; i < len; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  return len;
}

char *
ctr_log_line (const char *stream, const char *data, size_t len, const char *time)
{
  json_t *o = json_object ();
  char *text, *clean = xmalloc (len * 3 + 1);
  size_t out = 0;

  /* JSON strings are UTF-8: an invalid byte becomes U+FFFD, as docker's json-file writes */
  for (size_t i = 0; i < len;)
    {
      size_t n = utf8_seq ((const unsigned char *)data + i, len - i);
      if (n == 0)
        {
          memcpy (clean + out, "\xef\xbf\xbd", 3);
          out += 3;
          i++;
          continue;
        }
      memcpy (clean + out, data + i, n);
      out += n;
      i += n;
    }
  json_object_set_new (o, "log", json_stringn (clean, out));
  free (clean);
  json_object_set_new (o, "stream", json_string (stream));
  json_object_set_new (o, "time", json_string (time));
  text = json_dumps (o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
  json_decref (o);
  if (text == NULL)
    return NULL;
  {
    char *line = xasprintf ("%s\n", text);
    free (text);
    return line;
  }
}

int
ctr_log_parse (const char *line, char **stream, char **time, char **text)
{
  json_t *o = json_loads (line, JSON_ALLOW_NUL, NULL);
  const char *l, *s, *t;

  l = json_string_value (json_object_get (o, "log"));
  s = json_string_value (json_object_get (o, "stream"));
  t = json_string_value (json_object_get (o, "time"));
  if (l == NULL || s == NULL || t == NULL)
    {
      json_decref (o);
      return -EINVAL;
    }
  *stream = xstrdup (s);
  *time = xstrdup (t);
  *text = xmalloc (json_string_length (json_object_get (o, "log")) + 1);
  memcpy (*text, l, json_string_length (json_object_get (o, "log")) + 1);
  json_decref (o);
  return (int)0;
}
