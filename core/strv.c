/* strv.c: NULL-terminated string arrays. */
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/strv.h"

void
strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

size_t
strv_length (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

char **
strv_copy (char *const *v)
{
  size_t n = strv_length (v);
  char **r = xcalloc (n + 1, sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

void
strv_push (char ***v, const char *s)
{
  size_t n = strv_length (*v);
  *v = xrealloc (*v, (n + 2) * sizeof **v);
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

const char *
strv_env_get (char *const *env, const char *name)
{
  size_t len = strlen (name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, len) == 0 && env[i][len] == '=')
      return env[i] + len + 1;
  return NULL;
}
