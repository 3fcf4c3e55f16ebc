/* cgroup_fields.c: the table-driven writer of scalar linux.resources fields, shared by the
 * v1 and v2 writers (cgroup_v1.c, cgroup_v2.c).  A table lists its files in the order the
 * kernel needs them written; this walks it in that order and stops at the first error. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "core/cgroup_internal.h"

/* The member at `off` in r, as a T (the table's offsets come from offsetof on members of
 * that type, so the access is aligned). */
#define MEMBER(T, r, off) (*(const T *)(const void *)((const char *)(r) + (off)))

static void
format_field (char *buf, size_t n, const struct spec_resources *r, const struct cg_field *f)
{
  switch (f->fmt)
    {
    case CG_I64:
      snprintf (buf, n, "%" PRId64, MEMBER (int64_t, r, f->value));
      break;
    case CG_MAX:
      if (MEMBER (int64_t, r, f->value) < 0)
        snprintf (buf, n, "max");
      else
        snprintf (buf, n, "%" PRId64, MEMBER (int64_t, r, f->value));
      break;
    case CG_U64:
      snprintf (buf, n, "%" PRIu64, MEMBER (uint64_t, r, f->value));
      break;
    case CG_BOOL:
      snprintf (buf, n, "%s", MEMBER (bool, r, f->value) ? "1" : "0");
      break;
    }
}

int
cg_set_fields (const char *dir, const struct spec_resources *r, const struct cg_field *f, size_t n,
               struct focker_err **err)
{
  for (size_t i = 0; i < n; i++)
    {
      char v[32];
      int rc;

      if (!MEMBER (bool, r, f[i].has) || (f[i].if_exists && !cg_exists (dir, f[i].file)))
        continue;
      format_field (v, sizeof v, r, &f[i]);
      if ((rc = cg_set (dir, f[i].file, v, f[i].field, err)) < 0)
        return rc;
    }
  return 0;
}
