/* err.h: focker's error contract.
 *
 * A function that can fail returns int (>= 0 success, negative errno failure) or a pointer
 * (NULL on failure), and takes `struct focker_err **err` last.  On failure *err is set with a
 * message naming the object (lower case, no trailing period); on success *err is untouched.
 * Only cli/ turns an error into output and an exit status. */
#ifndef FOCKER_ERR_H
#define FOCKER_ERR_H

#include <stdarg.h>

struct focker_err
{
  int code;  /* negative errno, or -EINVAL for bad input */
  char *msg; /* "config.json: process.args: must be a non-empty array" */
};

/* Set *err (replacing nothing: *err must be NULL) and return `code` as a negative value.
 * `code` may be given positive or negative. */
int focker_fail (struct focker_err **err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int focker_failv (struct focker_err **err, int code, const char *fmt, va_list ap);

/* Prepend "PREFIX: " to an existing error's message; returns (*err)->code. */
int focker_err_prefix (struct focker_err **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

void focker_err_free (struct focker_err *err);

/* Out of memory is the one failure core/ does not return: it aborts with a message. */
void *xmalloc (size_t n);
void *xcalloc (size_t n, size_t size);
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
