/* cgroup_bpf.c: device rules -> a BPF_PROG_TYPE_CGROUP_DEVICE program (see cgroup_bpf.h).
 *
 * The program reads its context, struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
 * u32 minor; } (access_type: the device type in the low 16 bits, the access in the high 16),
 * into registers once, then tests the rules from the last to the first: the first block that
 * matches returns its verdict, so the last matching rule of the list wins.  Falling off the
 * end returns 0 (deny), which is v1's "deny a" start.
 *
 *   r2 = type   r3 = access   r4 = major   r5 = minor   (r1 is scratch after the prologue)
 *
 * Only a handful of opcodes are used (32-bit loads from the context, AND/RSH/MOV, JNE/JEQ
 * against an immediate or a register, MOV r0 and EXIT); the fake kernel's interpreter
 * (sys-fake/bpf.c) runs exactly these. */
#include <stdint.h>
#include <string.h>
#include "core/cgroup_bpf.h"
#include "core/cleanup.h"
#include "core/fsutil.h"

#define INSN(c, d, s, o, i)                                                                        \
  ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

unsigned
cgroup_bpf_access (const char *access)
{
  unsigned a = 0;

  if (access == NULL || *access == '\0')
    return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  for (const char *p = access; *p; p++)
    a |= *p == 'r'   ? BPF_DEVCG_ACC_READ
         : *p == 'w' ? BPF_DEVCG_ACC_WRITE
         : *p == 'm' ? BPF_DEVCG_ACC_MKNOD
                     : 0;
  return a;
}

struct prog
{
  struct bpf_insn *i;
  size_t n, cap;
};

static void
emit (struct prog *p, struct bpf_insn insn)
{
  if (p->n == p->cap)
    {
      p->cap = p->cap ? p->cap * 2 : 64;
      p->i = xrealloc (p->i, p->cap * sizeof *p->i);
    }
  p->i[p->n++] = insn;
}

/* Device numbers the kernel passes are 12-bit majors and 20-bit minors: anything beyond
 * INT32_MAX can match nothing, and would not fit the immediate of a comparison. */
static bool
number_ok (int64_t v)
{
  return v < 0 || v <= INT32_MAX;
}

/* One rule's block.  Every test jumps to the end of the block when it fails, so the jump
 * offsets are counted from the block's length, known before emitting it.  Returns whether
 * the block matches every access (it has no test): nothing after it can run, and the kernel's
 * verifier refuses unreachable instructions. */
static bool
emit_rule (struct prog *p, const struct spec_device_rule *r)
{
  const unsigned all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  unsigned acc = cgroup_bpf_access (r->access) & all;
  bool any_type = r->type == 0 || r->type == 'a';
  bool test_acc = acc != all;
  int len, at = 0;

  len = (any_type ? 0 : 1) + (test_acc ? 3 : 0) + (r->major >= 0 ? 1 : 0) + (r->minor >= 0 ? 1 : 0)
        + 2;
  /* a jump's offset counts from the next instruction: from test k (0-based), the block's end
   * is len - k - 1 instructions on */
  if (!any_type)
    {
      int t = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
      emit (p, INSN (BPF_JMP | BPF_JNE | BPF_K, 2, 0, (int16_t)(len - at - 1), t));
      at++;
    }
  if (test_acc)
    {
      emit (p, INSN (BPF_ALU64 | BPF_MOV | BPF_X, 1, 3, 0, 0));
      emit (p, INSN (BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, (int32_t)acc));
      at += 2;
      if (r->allow)
        /* an allow covers the access only when no bit of it is outside the rule */
        emit (p, INSN (BPF_JMP | BPF_JNE | BPF_X, 1, 3, (int16_t)(len - at - 1), 0));
      else
        /* a deny refuses an access it touches */
        emit (p, INSN (BPF_JMP | BPF_JEQ | BPF_K, 1, 0, (int16_t)(len - at - 1), 0));
      at++;
    }
  if (r->major >= 0)
    {
      emit (p, INSN (BPF_JMP | BPF_JNE | BPF_K, 4, 0, (int16_t)(len - at - 1), (int32_t)r->major));
      at++;
    }
  if (r->minor >= 0)
    {
      emit (p, INSN (BPF_JMP | BPF_JNE | BPF_K, 5, 0, (int16_t)(len - at - 1), (int32_t)r->minor));
      at++;
    }
  emit (p, INSN (BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r->allow ? 1 : 0));
  emit (p, INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return len == 2;
}

size_t
cgroup_bpf_devices (struct bpf_insn **out, const struct spec_device_rule *rules, size_t n)
{
  struct prog p = { 0 };

  /* r2 = ctx->access_type & 0xffff; r3 = ctx->access_type >> 16 */
  emit (&p, INSN (BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0));
  emit (&p, INSN (BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff));
  emit (&p, INSN (BPF_LDX | BPF_W | BPF_MEM, 3, 1, 0, 0));
  emit (&p, INSN (BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16));
  /* r4 = ctx->major; r5 = ctx->minor */
  emit (&p, INSN (BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0));
  emit (&p, INSN (BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0));
  for (size_t i = n; i-- > 0;)
    if (number_ok (rules[i].major) && number_ok (rules[i].minor) && emit_rule (&p, &rules[i]))
      goto done; /* a rule matching everything: the rules before it never decide */
  emit (&p, INSN (BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  emit (&p, INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
done:
  *out = p.i;
  return p.n;
}
