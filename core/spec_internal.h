/* spec_internal.h: shared between the core/spec*.c files, not part of the public API.
 *
 * Parsing walks the jansson tree with a `struct spec_ctx` that tracks the JSON path of the
 * value being looked at ("linux.namespaces[2]"), so every error names the exact field:
 * `config.json: linux.namespaces[2].type: unknown namespace "nett"`.
 *
 * Invariants: every parse_* / jget_* helper returns >= 0 on success or a negative errno with
 * *ctx->err set (first error wins); everything it allocates is stored into the output
 * struct at once, so the caller frees a half-filled struct with the normal free functions
 * and nothing leaks on any error path.  JSON null is treated as an absent member. */
#ifndef FOCKER_SPEC_INTERNAL_H
#define FOCKER_SPEC_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/spec.h"

struct spec_ctx
{
  const char *name; /* "config.json": the first word of every message */
  struct focker_err **err;
  bool v1_0;       /* ociVersion 1.0.x: relative mount destinations are accepted */
  size_t len;      /* length of the path in `path` */
  char path[1024]; /* "linux.namespaces[2]"; truncated (never overflowed) if deeper */
};

/* Path bookkeeping: push a member name or an index, returning the mark to pop back to. */
size_t spec_ctx_key (struct spec_ctx *c, const char *key);
size_t spec_ctx_index (struct spec_ctx *c, size_t i);
void spec_ctx_pop (struct spec_ctx *c, size_t mark);

/* Fail with "NAME: PATH[.key]: message"; `key` may be NULL for the current path. */
int spec_ctx_fail (struct spec_ctx *c, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Member `key` of `obj`, or NULL when absent or JSON null. */
json_t *spec_jmember (json_t *obj, const char *key);

/* Typed getters for member `key` of object `obj`.  Return 1 when present (and *out set),
 * 0 when absent (*out untouched; an error instead when `required`), negative on error. */
int spec_jstring (struct spec_ctx *c, json_t *obj, const char *key, bool required, char **out);
int spec_jbool (struct spec_ctx *c, json_t *obj, const char *key, bool *out);
int spec_ji64 (struct spec_ctx *c, json_t *obj, const char *key, bool required, int64_t min,
               int64_t max, int64_t *out);
int spec_ju64 (struct spec_ctx *c, json_t *obj, const char *key, bool required, uint64_t max,
               uint64_t *out);
int spec_jobject (struct spec_ctx *c, json_t *obj, const char *key, bool required, json_t **out);
int spec_jarray (struct spec_ctx *c, json_t *obj, const char *key, bool required, json_t **out);
/* Object member `key`, when present, parsed by fn with the error path extended by `key`:
 * 1 when present and parsed, 0 when absent, negative on error. */
int spec_jobject_parse (struct spec_ctx *c, json_t *obj, const char *key,
                        int (*fn) (struct spec_ctx *, json_t *, void *), void *out);
/* Array member `key` of objects: stores a new array of *n elements of `size` into the pointer
 * at `outp` (any struct pointer; written with memcpy) and calls fn on each, with its index in
 * the error path; an element that is not an object is an error. */
int spec_jarray_of (struct spec_ctx *c, json_t *obj, const char *key, size_t size, void *outp,
                    size_t *n, int (*fn) (struct spec_ctx *, json_t *, void *));
/* An array of strings (NULL-terminated copy); elements are checked one by one. */
int spec_jstrv (struct spec_ctx *c, json_t *obj, const char *key, char ***out);
/* An object whose values are all strings ("annotations", "sysctl", "unified"). */
int spec_jkv (struct spec_ctx *c, json_t *obj, const char *key, struct spec_kv **out, size_t *n);
/* An array of {containerID, hostID, size} with size > 0. */
int spec_jid_maps (struct spec_ctx *c, json_t *obj, const char *key, struct spec_id_map **out,
                   size_t *n);

/* Value checks: `v` is a JSON value already looked up at path + key. */
int spec_jvalue_u64 (struct spec_ctx *c, const char *key, json_t *v, uint64_t max, uint64_t *out);
int spec_jvalue_i64 (struct spec_ctx *c, const char *key, json_t *v, int64_t min, int64_t max,
                     int64_t *out);

/* Fail unless `path` is absolute ("must be an absolute path"). */
int spec_check_abs (struct spec_ctx *c, const char *key, const char *path);
/* Every entry of a string array must be absolute; names the entry by index. */
int spec_check_abs_strv (struct spec_ctx *c, const char *key, char **v);
/* Fail unless `s` is one of the NULL-terminated `names`; returns its index. */
int spec_check_enum (struct spec_ctx *c, const char *key, const char *s, const char *const *names,
                     const char *what);

/* Sections, one per file. */
int spec_parse_process_obj (struct spec_ctx *c, json_t *obj, struct spec_process *p);
int spec_parse_mounts (struct spec_ctx *c, json_t *root, struct spec *s);
int spec_parse_linux (struct spec_ctx *c, json_t *obj, struct spec_linux *l);
int spec_parse_resources (struct spec_ctx *c, json_t *obj, struct spec_resources *r);
int spec_parse_seccomp (struct spec_ctx *c, json_t *obj, struct spec_seccomp *sc);

void spec_kv_free (struct spec_kv *kv, size_t n);
void spec_mount_clear (struct spec_mount *m);
void spec_linux_clear (struct spec_linux *l);
void spec_resources_clear (struct spec_resources *r);
void spec_seccomp_clear (struct spec_seccomp *sc);

/* Mount options -> flags (spec_mounts.c); exposed for the tests through struct spec_mount. */
void spec_mount_options_apply (struct spec_mount *m);

#endif
