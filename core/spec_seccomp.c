/* spec_seccomp.c: linux.seccomp, validated against the names libseccomp and the runtime
 * spec define; core/seccomp.c compiles it later.
 *
 * Invariants: every action, architecture, flag and operator is a known name; each rule
 * has a non-empty "names" list and an action; argument indexes are < 6 (the syscall ABI). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/spec_internal.h"
#include "core/strv.h"

static const char *const actions[] = {
  "SCMP_ACT_KILL",        "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",       "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",       "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",      NULL,
};

static const char *const arches[] = {
  "SCMP_ARCH_NATIVE",
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_SH",
  "SCMP_ARCH_SHEB",
  NULL,
};

static const char *const filter_flags[] = {
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
  NULL,
};

/* in libseccomp's order: SCMP_CMP_NE is 1 ... SCMP_CMP_MASKED_EQ is 7 */
static const char *const operators[] = {
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

void
spec_seccomp_clear (struct spec_seccomp *sc)
{
  free (sc->default_action);
  strv_free (sc->architectures);
  strv_free (sc->flags);
  free (sc->listener_path);
  free (sc->listener_metadata);
  for (size_t i = 0; i < sc->n_syscalls; i++)
    {
      strv_free (sc->syscalls[i].names);
      free (sc->syscalls[i].action);
      free (sc->syscalls[i].args);
    }
  free (sc->syscalls);
}

static int
check_strv_enum (struct spec_ctx *c, const char *key, char **v, const char *const *names,
                 const char *what)
{
  int r = 0;

  for (size_t i = 0; r >= 0 && v && v[i]; i++)
    {
      size_t mark = spec_ctx_key (c, key);
      spec_ctx_index (c, i);
      r = spec_check_enum (c, NULL, v[i], names, what);
      spec_ctx_pop (c, mark);
    }
  return r;
}

static int
parse_arg (struct spec_ctx *c, json_t *e, void *out)
{
  struct spec_seccomp_arg *a = out;
  char *op = NULL;
  uint64_t index = 0;
  int r;

  if (!json_is_object (e))
    return spec_ctx_fail (c, NULL, "must be an object");
  r = spec_ju64 (c, e, "index", true, 5, &index);
  a->index = (unsigned)index;
  if (r >= 0)
    r = spec_ju64 (c, e, "value", true, UINT64_MAX, &a->value);
  if (r >= 0)
    r = spec_ju64 (c, e, "valueTwo", false, UINT64_MAX, &a->value_two);
  if (r >= 0)
    r = spec_jstring (c, e, "op", true, &op);
  if (r >= 0)
    r = spec_check_enum (c, "op", op, operators, "seccomp operator");
  if (r >= 0)
    a->op = r + 1;
  free (op);
  return r;
}

static int
parse_rule (struct spec_ctx *c, json_t *e, void *out)
{
  struct spec_seccomp_rule *rule = out;
  uint64_t u;
  int r;

  if (!json_is_object (e))
    return spec_ctx_fail (c, NULL, "must be an object");
  r = spec_jstrv (c, e, "names", &rule->names);
  if (r >= 0 && (rule->names == NULL || rule->names[0] == NULL))
    r = spec_ctx_fail (c, "names", "must be a non-empty array of strings");
  if (r >= 0)
    r = spec_jstring (c, e, "action", true, &rule->action);
  if (r >= 0)
    r = spec_check_enum (c, "action", rule->action, actions, "seccomp action");
  if (r >= 0 && (r = spec_ju64 (c, e, "errnoRet", false, UINT32_MAX, &u)) > 0)
    {
      rule->has_errno_ret = true;
      rule->errno_ret = (unsigned)u;
    }
  if (r >= 0)
    r = spec_jarray_of (c, e, "args", sizeof *rule->args, &rule->args, &rule->n_args, parse_arg);
  return r;
}

int
spec_parse_seccomp (struct spec_ctx *c, json_t *obj, struct spec_seccomp *sc)
{
  uint64_t u;
  int r;

  r = spec_jstring (c, obj, "defaultAction", true, &sc->default_action);
  if (r >= 0)
    r = spec_check_enum (c, "defaultAction", sc->default_action, actions, "seccomp action");
  if (r >= 0 && (r = spec_ju64 (c, obj, "defaultErrnoRet", false, UINT32_MAX, &u)) > 0)
    {
      sc->has_default_errno_ret = true;
      sc->default_errno_ret = (unsigned)u;
    }
  if (r >= 0 && (r = spec_jstrv (c, obj, "architectures", &sc->architectures)) > 0)
    r = check_strv_enum (c, "architectures", sc->architectures, arches, "seccomp architecture");
  if (r >= 0 && (r = spec_jstrv (c, obj, "flags", &sc->flags)) > 0)
    r = check_strv_enum (c, "flags", sc->flags, filter_flags, "seccomp flag");
  if (r >= 0)
    r = spec_jstring (c, obj, "listenerPath", false, &sc->listener_path);
  if (r >= 0)
    r = spec_jstring (c, obj, "listenerMetadata", false, &sc->listener_metadata);
  if (r >= 0)
    r = spec_jarray_of (c, obj, "syscalls", sizeof *sc->syscalls, &sc->syscalls, &sc->n_syscalls,
                        parse_rule);
  return r < 0 ? r : 0;
}
