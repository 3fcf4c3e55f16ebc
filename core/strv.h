/* strv.h: NULL-terminated string arrays (char **), owned element by element. */
#ifndef FOCKER_STRV_H
#define FOCKER_STRV_H

#include <stddef.h>

void strv_free (char **v);
size_t strv_length (char *const *v);
char **strv_copy (char *const *v);
/* Append a copy of s, keeping the terminating NULL. */
void strv_push (char ***v, const char *s);
/* Value of NAME in a KEY=VALUE list, or NULL. */
const char *strv_env_get (char *const *env, const char *name);

#endif
