/* seccomp.c: compile linux.seccomp to BPF with libseccomp (see seccomp.h for the rules).
 *
 * Only library code runs here: libseccomp builds the filter in memory and
 * sys_seccomp_export() hands back the program; nothing is loaded.  (libseccomp may probe
 * the kernel's seccomp API level while it validates an action: that is a read-only query
 * it makes on its own.) */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include "core/cleanup.h"
#include "core/log.h"
#include "core/seccomp.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define X32_SYSCALL_BIT 0x40000000U
#define MAX_STUB_ARCHES 32

static int
action_of (uint32_t *out, const char *name, bool has_errno, unsigned errno_ret, const char *field,
           struct focker_err **err)
{
  uint16_t e = has_errno ? (uint16_t)errno_ret : EPERM;

  if (has_errno && errno_ret > 0xffff)
    return focker_fail (err, -EINVAL, "linux.seccomp.%s: errnoRet %u is out of range", field,
                        errno_ret);
  if (strcmp (name, "SCMP_ACT_KILL") == 0 || strcmp (name, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp (name, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (name, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp (name, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO (e);
  else if (strcmp (name, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE (e);
  else if (strcmp (name, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp (name, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp (name, "SCMP_ACT_NOTIFY") == 0)
    *out = SCMP_ACT_NOTIFY;
  else
    return focker_fail (err, -EINVAL, "linux.seccomp.%s: unknown action \"%s\"", field, name);
  return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token, 0 when libseccomp does not know it */
static uint32_t
arch_token (const char *name)
{
  char lower[32];
  size_t i;

  if (strcmp (name, "SCMP_ARCH_NATIVE") == 0)
    return seccomp_arch_native ();
  if (strncmp (name, "SCMP_ARCH_", 10) == 0)
    name += 10;
  for (i = 0; name[i] && i < sizeof lower - 1; i++)
    lower[i] = (char)tolower ((unsigned char)name[i]);
  lower[i] = '\0';
  return seccomp_arch_resolve_name (lower);
}

static int
add_arches (scmp_filter_ctx ctx, const struct spec_seccomp *sc, struct focker_err **err)
{
  for (size_t i = 0; sc->architectures && sc->architectures[i]; i++)
    {
      uint32_t a = arch_token (sc->architectures[i]);
      int r;

      if (a == 0)
        {
          focker_log ("debug",
                      "linux.seccomp.architectures: %s is not known to libseccomp, skipped",
                      sc->architectures[i]);
          continue;
        }
      r = seccomp_arch_add (ctx, a);
      if (r < 0 && r != -EEXIST)
        return focker_fail (err, r, "linux.seccomp.architectures[%zu]: add %s", i,
                            sc->architectures[i]);
    }
  return 0;
}

static bool
args_repeat_an_index (const struct spec_seccomp_rule *rule)
{
  for (size_t i = 0; i < rule->n_args; i++)
    for (size_t j = i + 1; j < rule->n_args; j++)
      if (rule->args[i].index == rule->args[j].index)
        return true;
  return false;
}

static struct scmp_arg_cmp
cmp_of (const struct spec_seccomp_arg *a)
{
  return (struct scmp_arg_cmp){
    .arg = a->index, .op = (enum scmp_compare)a->op, .datum_a = a->value, .datum_b = a->value_two
  };
}

static int
add_rule (scmp_filter_ctx ctx, const struct spec_seccomp_rule *rule, size_t ri, uint32_t def_action,
          bool *notify, struct focker_err **err)
{
  struct scmp_arg_cmp cmp[6];
  char field[48];
  uint32_t action;
  int r;

  snprintf (field, sizeof field, "syscalls[%zu].action", ri);
  r = action_of (&action, rule->action, rule->has_errno_ret, rule->errno_ret, field, err);
  if (r < 0)
    return r;
  if (action == def_action)
    return 0; /* what the default does anyway; libseccomp refuses such rules */
  if (action == SCMP_ACT_NOTIFY)
    *notify = true;
  for (size_t n = 0; rule->names[n]; n++)
    {
      int nr = seccomp_syscall_resolve_name (rule->names[n]);
      if (nr == __NR_SCMP_ERROR)
        {
          focker_log ("debug", "linux.seccomp.syscalls[%zu]: syscall %s is not known, skipped", ri,
                      rule->names[n]);
          continue;
        }
      if (rule->n_args > 6)
        return focker_fail (err, -EINVAL, "linux.seccomp.syscalls[%zu].args: more than 6", ri);
      if (args_repeat_an_index (rule))
        {
          /* one rule per condition: the syscall matches if any of them holds */
          for (size_t a = 0; a < rule->n_args && r >= 0; a++)
            {
              cmp[0] = cmp_of (&rule->args[a]);
              r = seccomp_rule_add_array (ctx, action, nr, 1, cmp);
            }
        }
      else
        {
          for (size_t a = 0; a < rule->n_args; a++)
            cmp[a] = cmp_of (&rule->args[a]);
          r = seccomp_rule_add_array (ctx, action, nr, (unsigned)rule->n_args, cmp);
        }
      if (r < 0)
        return focker_fail (err, r, "linux.seccomp.syscalls[%zu]: add rule for %s", ri,
                            rule->names[n]);
    }
  return 0;
}

static unsigned
load_flags (const struct spec_seccomp *sc, bool notify)
{
  unsigned flags = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;

  for (size_t i = 0; sc->flags && sc->flags[i]; i++)
    {
      const char *f = sc->flags[i];
      if (strcmp (f, "SECCOMP_FILTER_FLAG_LOG") == 0)
        flags |= SECCOMP_FILTER_FLAG_LOG;
      else if (strcmp (f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
        flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
      /* TSYNC: the init has one thread, so it changes nothing, and the kernel refuses it
       * together with a listener */
      else if (strcmp (f, "SECCOMP_FILTER_FLAG_TSYNC") == 0 && !notify)
        flags |= SECCOMP_FILTER_FLAG_TSYNC;
      /* only meaningful (and only accepted) with a listener */
      else if (strcmp (f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0 && notify)
        flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
      else
        focker_log ("debug", "linux.seccomp.flags: %s ignored", f);
    }
  return flags;
}

struct stub_arch
{
  uint32_t audit;
  uint32_t max;
};

static size_t
stub_arches (struct stub_arch *out, const struct spec_seccomp *sc)
{
  uint32_t tokens[MAX_STUB_ARCHES];
  size_t nt = 0, n = 0;

  tokens[nt++] = seccomp_arch_native ();
  for (size_t i = 0; sc->architectures && sc->architectures[i] && nt < MAX_STUB_ARCHES; i++)
    tokens[nt++] = arch_token (sc->architectures[i]);
  for (size_t t = 0; t < nt; t++)
    {
      struct stub_arch a = { .audit = tokens[t], .max = 0 };
      bool seen = false;

      /* x32 shares AUDIT_ARCH_X86_64 and is told apart by a bit of the number: left to the
       * filter.  0: unknown to libseccomp. */
      if (tokens[t] == 0 || tokens[t] == SCMP_ARCH_X32)
        continue;
      for (size_t j = 0; j < n; j++)
        seen |= out[j].audit == a.audit;
      if (seen)
        continue;
      for (size_t r = 0; r < sc->n_syscalls; r++)
        for (size_t k = 0; sc->syscalls[r].names[k]; k++)
          {
            int nr = seccomp_syscall_resolve_name_arch (tokens[t], sc->syscalls[r].names[k]);
            if (nr >= 0 && (uint32_t)nr > a.max)
              a.max = (uint32_t)nr;
          }
      if (a.max > 0)
        out[n++] = a;
    }
  return n;
}

/* Prepend the ENOSYS stub (see seccomp.h).  Per architecture:
 *   ld arch; jeq AUDIT ? go on : next arch; ld nr; [x86_64: jset X32 bit ? filter];
 *   jgt MAX ? go on : filter; ret ERRNO(ENOSYS)
 * and after the last architecture, the filter itself. */
static void
prepend_enosys_stub (struct seccomp_prog *p, const struct spec_seccomp *sc)
{
  struct stub_arch arches[MAX_STUB_ARCHES];
  size_t n = stub_arches (arches, sc), len = 0, at = 0;
  struct sock_filter *out;

  for (size_t i = 0; i < n; i++)
    len += arches[i].audit == AUDIT_ARCH_X86_64 ? 6 : 5;
  if (n == 0 || len > 250 || len + p->len > BPF_MAXINSNS)
    return;
  out = xcalloc (len + p->len, sizeof *out);
  for (size_t i = 0; i < n; i++)
    {
      bool x86_64 = arches[i].audit == AUDIT_ARCH_X86_64;
      size_t block = x86_64 ? 6 : 5;

      out[at++] = (struct sock_filter)BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                                                offsetof (struct seccomp_data, arch));
      out[at] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, arches[i].audit, 0,
                                              (uint8_t)(block - 2));
      at++;
      out[at++] = (struct sock_filter)BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                                                offsetof (struct seccomp_data, nr));
      if (x86_64)
        {
          out[at] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT,
                                                  (uint8_t)(len - at - 1), 0);
          at++;
        }
      out[at] = (struct sock_filter)BPF_JUMP (BPF_JMP | BPF_JGT | BPF_K, arches[i].max, 0,
                                              (uint8_t)(len - at - 1));
      at++;
      out[at++] = (struct sock_filter)BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    }
  memcpy (out + len, p->insns, p->len * sizeof *out);
  free (p->insns);
  p->insns = out;
  p->len += len;
  p->enosys_stub = true;
}

static void
cleanup_scmp (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}

int
seccomp_compile (struct seccomp_prog *out, const struct spec_seccomp *sc, struct focker_err **err)
{
  _cleanup_ (cleanup_scmp) scmp_filter_ctx ctx = NULL;
  uint32_t def;
  void *prog = NULL;
  size_t bytes = 0;
  bool notify = false;
  int r;

  memset (out, 0, sizeof *out);
  r = action_of (&def, sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret,
                 "defaultAction", err);
  if (r < 0)
    return r;
  if (def == SCMP_ACT_NOTIFY)
    return focker_fail (err, -EINVAL,
                        "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be "
                        "the default action");
  ctx = seccomp_init (def);
  if (ctx == NULL)
    return focker_fail (err, -EINVAL, "linux.seccomp.defaultAction: %s is not supported",
                        sc->default_action);
  /* a binary tree of syscalls instead of a list: big profiles cost less per syscall */
  (void)seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  r = add_arches (ctx, sc, err);
  if (r < 0)
    return r;
  for (size_t i = 0; i < sc->n_syscalls; i++)
    {
      r = add_rule (ctx, &sc->syscalls[i], i, def, &notify, err);
      if (r < 0)
        return r;
    }
  r = sys_seccomp_export (ctx, &prog, &bytes);
  if (r < 0)
    return focker_fail (err, r, "linux.seccomp: export the compiled filter");
  out->insns = prog;
  out->len = bytes / sizeof (struct sock_filter);
  out->notify = notify;
  out->flags = load_flags (sc, notify);
  if (def != SCMP_ACT_ALLOW && def != SCMP_ACT_LOG && (def & 0xffff0000U) != SCMP_ACT_TRACE (0))
    prepend_enosys_stub (out, sc);
  return 0;
}

void
seccomp_prog_clear (struct seccomp_prog *p)
{
  free (p->insns);
  memset (p, 0, sizeof *p);
}
