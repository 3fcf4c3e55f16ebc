/* bpf.c: cgroup device programs (BPF_PROG_TYPE_CGROUP_DEVICE): load, attach, detach, query,
 * get-fd-by-id, and an interpreter that runs them when a process in the cgroup opens or
 * makes a device node.
 *
 * A program is checked at load by a small verifier for the instructions the interpreter
 * knows: ALU/ALU64 ADD SUB AND OR LSH RSH MOV (immediate or register), JMP JA JEQ JNE JGT JGE
 * JSET (immediate or register), EXIT, and 32/16/8-bit loads from the context through r1
 * before anything writes r1.  Jumps go forward only, inside the program, and the last
 * instruction is EXIT, so every run ends; no instruction may be unreachable (the kernel
 * refuses those too).  Anything else is EINVAL with a line in the log.
 * A program lives while an fd or an attachment holds it (get-fd-by-id fails after).
 * Programs attached to a v2 cgroup and to each of its ancestors must all allow (1) an access
 * to a device node; otherwise open and mknod fail with EPERM. */
#include "sys-fake/internal.h"
#include <linux/bpf.h>
#include <sys/sysmacros.h>

#define FAKE_BPF_MAX_INSNS 4096
#define FAKE_BPF_MAX_ATTACHED 64
#define FAKE_BPF_CTX_SIZE 12

static void
fake_bpf_dtor (void *p)
{
  free (((struct fake_bpf_prog *)p)->insns);
}

static void
fake_bpf_log (char *log, size_t size, unsigned at, const char *why)
{
  if (log && size)
    snprintf (log, size, "fake verifier: insn %u: %s\n", at, why);
}

static bool
fake_bpf_alu_op_ok (unsigned op)
{
  return op == BPF_ADD || op == BPF_SUB || op == BPF_AND || op == BPF_OR || op == BPF_LSH
         || op == BPF_RSH || op == BPF_MOV;
}

static bool
fake_bpf_jmp_op_ok (unsigned op)
{
  return op == BPF_JA || op == BPF_JEQ || op == BPF_JNE || op == BPF_JGT || op == BPF_JGE
         || op == BPF_JSET || op == BPF_EXIT;
}

/* The verifier: NULL if the program is fine, else why not (and at which instruction). */
static const char *
fake_bpf_check (const struct bpf_insn *v, unsigned n, unsigned *at)
{
  bool r1_ctx = true;

  if (n == 0 || n > FAKE_BPF_MAX_INSNS)
    return "program size";
  if (v[n - 1].code != (BPF_JMP | BPF_EXIT))
    return (*at = n - 1), "the last instruction is not exit";
  for (unsigned i = 0; i < n; i++)
    {
      const struct bpf_insn *x = &v[i];
      unsigned cls = BPF_CLASS (x->code);
      *at = i;
      if (x->dst_reg > 9 || x->src_reg > 9)
        return "register out of range";
      if (cls == BPF_ALU || cls == BPF_ALU64)
        {
          if (!fake_bpf_alu_op_ok (BPF_OP (x->code)))
            return "unknown alu op";
          if (x->dst_reg == 1)
            r1_ctx = false;
        }
      else if (cls == BPF_JMP)
        {
          unsigned op = BPF_OP (x->code);
          if (!fake_bpf_jmp_op_ok (op))
            return "unknown jump op";
          if (op != BPF_EXIT && (x->off < 0 || i + 1 + (unsigned)x->off >= n))
            return "jump backwards or out of the program";
        }
      else if (cls == BPF_LDX)
        {
          unsigned size = BPF_SIZE (x->code) == BPF_W ? 4 : BPF_SIZE (x->code) == BPF_H ? 2 : 1;
          if (BPF_MODE (x->code) != BPF_MEM || BPF_SIZE (x->code) == BPF_DW)
            return "unknown load";
          if (x->src_reg != 1 || !r1_ctx)
            return "load from something else than the context";
          if (x->off < 0 || x->off % size || x->off + size > FAKE_BPF_CTX_SIZE)
            return "invalid context access";
          if (x->dst_reg == 1)
            r1_ctx = false;
        }
      else
        return "unknown instruction class";
    }
  /* as the kernel's verifier: no instruction may be unreachable */
  {
    bool *seen = fake_xcalloc (n, sizeof *seen);
    const char *why = NULL;
    seen[0] = true;
    for (unsigned i = 0; i < n; i++)
      {
        unsigned op = BPF_OP (v[i].code);
        bool jmp = BPF_CLASS (v[i].code) == BPF_JMP;
        if (!seen[i])
          {
            *at = i;
            why = "unreachable insn";
            break;
          }
        if (jmp && op == BPF_EXIT)
          continue;
        if (jmp)
          seen[i + 1 + (unsigned)v[i].off] = true;
        if (!(jmp && op == BPF_JA) && i + 1 < n)
          seen[i + 1] = true;
      }
    free (seen);
    return why;
  }
}

/* Run a checked program on a context. */
static uint64_t
fake_bpf_run (const struct fake_bpf_prog *prog, const uint8_t ctx[FAKE_BPF_CTX_SIZE])
{
  uint64_t reg[10] = { 0 };

  for (unsigned pc = 0; pc < prog->n;)
    {
      const struct bpf_insn *x = &prog->insns[pc++];
      unsigned cls = BPF_CLASS (x->code), op = BPF_OP (x->code);
      uint64_t src = BPF_SRC (x->code) == BPF_X ? reg[x->src_reg] : (uint64_t)(int64_t)x->imm;
      uint64_t *d = &reg[x->dst_reg];

      if (cls == BPF_LDX)
        {
          uint32_t w = 0;
          unsigned size = BPF_SIZE (x->code) == BPF_W ? 4 : BPF_SIZE (x->code) == BPF_H ? 2 : 1;
          memcpy (&w, ctx + x->off, size);
          *d = w;
          continue;
        }
      if (cls == BPF_ALU || cls == BPF_ALU64)
        {
          uint64_t v = *d;
          v = op == BPF_ADD   ? v + src
              : op == BPF_SUB ? v - src
              : op == BPF_AND ? v & src
              : op == BPF_OR  ? v | src
              : op == BPF_LSH ? v << (src & 63)
              : op == BPF_RSH ? (cls == BPF_ALU ? (uint32_t)v : v) >> (src & 63)
                              : src;
          *d = cls == BPF_ALU ? (uint32_t)v : v;
          continue;
        }
      if (op == BPF_EXIT)
        return reg[0];
      if (op == BPF_JA || (op == BPF_JEQ && *d == src) || (op == BPF_JNE && *d != src)
          || (op == BPF_JGT && *d > src) || (op == BPF_JGE && *d >= src)
          || (op == BPF_JSET && (*d & src)))
        pc += (unsigned)x->off;
    }
  return 0; /* unreachable for a checked program */
}

static struct fake_bpf_prog *
fake_bpf_of_fd (struct fake_proc *p, int fd, int *err)
{
  struct fake_file *f = fake_fd_get (p, fd);

  *err = f == NULL ? -EBADF : f->kind != FF_BPF ? -EINVAL : 0;
  return *err ? NULL : f->bpf;
}

/* The v2 cgroup directory open at `fd`. */
static struct fake_inode *
fake_bpf_cgroup_of_fd (struct fake_proc *p, int fd)
{
  struct fake_file *f = fake_fd_get (p, fd);

  if (f == NULL || f->kind != FF_VNODE || !S_ISDIR (f->ino->mode) || f->ino->cgh == NULL
      || !fake_cgroup_is_v2 (f->ino))
    return NULL;
  return f->ino;
}

void
fake_bpf_unref (struct fake_bpf_prog *prog)
{
  if (prog && --prog->refs == 0)
    prog->live = false;
}

/* rmdir of a cgroup: its programs are detached. */
void
fake_bpf_detach_all (struct fake_inode *dir)
{
  for (size_t i = 0; i < dir->n_bpf; i++)
    fake_bpf_unref (dir->bpf[i]);
  free (dir->bpf);
  dir->bpf = NULL;
  dir->n_bpf = 0;
}

static int
fake_bpf_new_fd (struct fake_kernel *k, struct fake_proc *p, struct fake_bpf_prog *prog)
{
  struct fake_file *f = fake_file_new (k, FF_BPF);
  int fd;

  f->bpf = prog;
  prog->refs++;
  fd = fake_fd_install (k, p, f, true, 0);
  if (fd < 0)
    fake_file_unref (k, f);
  return fd;
}

int
fake_do_bpf_prog_load (unsigned type, const void *insns, unsigned n_insns, char *log,
                       size_t log_size)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_bpf_prog *prog;
  const char *why;
  unsigned at = 0;

  if (!fake_proc_privileged (p))
    return -EPERM;
  if (type != BPF_PROG_TYPE_CGROUP_DEVICE)
    return -EINVAL;
  if (insns == NULL)
    return -EFAULT;
  why = fake_bpf_check (insns, n_insns, &at);
  if (why)
    {
      fake_bpf_log (log, log_size, at, why);
      return -EINVAL;
    }
  prog = fake_obj_new (k, sizeof *prog, fake_bpf_dtor);
  prog->id = ++k->last_bpf_id;
  prog->n = n_insns;
  prog->insns = fake_xmalloc (n_insns * sizeof *prog->insns);
  memcpy (prog->insns, insns, n_insns * sizeof *prog->insns);
  prog->live = true;
  k->bpf = fake_xrealloc (k->bpf, (k->n_bpf + 1) * sizeof *k->bpf);
  k->bpf[k->n_bpf++] = prog;
  return fake_bpf_new_fd (k, p, prog);
}

/* What attach and detach check first: privilege, a v2 cgroup at target_fd, a program at
 * prog_fd, the device attach type. */
static int
fake_bpf_attach_args (int prog_fd, int target_fd, unsigned type, struct fake_inode **cg,
                      struct fake_bpf_prog **prog)
{
  struct fake_proc *p = fake_self (fake_current_kernel);
  int r;

  if (!fake_proc_privileged (p))
    return -EPERM;
  *cg = fake_bpf_cgroup_of_fd (p, target_fd);
  if (*cg == NULL)
    return -EBADF;
  *prog = fake_bpf_of_fd (p, prog_fd, &r);
  if (*prog == NULL)
    return r;
  return type == BPF_CGROUP_DEVICE ? 0 : -EINVAL;
}

int
fake_do_bpf_prog_attach (int prog_fd, int target_fd, unsigned type, unsigned flags)
{
  struct fake_inode *cg;
  struct fake_bpf_prog *prog;
  int r = fake_bpf_attach_args (prog_fd, target_fd, type, &cg, &prog);

  if (r < 0)
    return r;
  if (flags & ~BPF_F_ALLOW_MULTI)
    return -EINVAL;
  for (size_t i = 0; i < cg->n_bpf; i++)
    if (cg->bpf[i] == prog)
      return -EEXIST;
  if (!(flags & BPF_F_ALLOW_MULTI))
    {
      /* a single program replaces the one attached; it may not join a multi list */
      if (cg->bpf_multi && cg->n_bpf)
        return -EPERM;
      fake_bpf_detach_all (cg);
    }
  else if (!cg->bpf_multi && cg->n_bpf)
    return -EPERM;
  if (cg->n_bpf >= FAKE_BPF_MAX_ATTACHED)
    return -E2BIG;
  cg->bpf_multi = (flags & BPF_F_ALLOW_MULTI) != 0;
  cg->bpf = fake_xrealloc (cg->bpf, (cg->n_bpf + 1) * sizeof *cg->bpf);
  cg->bpf[cg->n_bpf++] = prog;
  prog->refs++;
  return 0;
}

int
fake_do_bpf_prog_detach (int prog_fd, int target_fd, unsigned type)
{
  struct fake_inode *cg;
  struct fake_bpf_prog *prog;
  int r = fake_bpf_attach_args (prog_fd, target_fd, type, &cg, &prog);

  if (r < 0)
    return r;
  for (size_t i = 0; i < cg->n_bpf; i++)
    if (cg->bpf[i] == prog)
      {
        memmove (&cg->bpf[i], &cg->bpf[i + 1], (cg->n_bpf - i - 1) * sizeof *cg->bpf);
        cg->n_bpf--;
        fake_bpf_unref (prog);
        return 0;
      }
  return -ENOENT;
}

int
fake_do_bpf_prog_query (int target_fd, unsigned type, uint32_t *ids, uint32_t *n_ids)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *cg = fake_bpf_cgroup_of_fd (p, target_fd);
  uint32_t room;

  if (!fake_proc_privileged (p))
    return -EPERM;
  if (cg == NULL)
    return -EBADF;
  if (type != BPF_CGROUP_DEVICE)
    return -EINVAL;
  if (n_ids == NULL || (ids == NULL && *n_ids))
    return -EFAULT;
  room = *n_ids;
  for (size_t i = 0; i < cg->n_bpf && i < room; i++)
    ids[i] = cg->bpf[i]->id;
  *n_ids = (uint32_t)cg->n_bpf;
  return cg->n_bpf > room ? -ENOSPC : 0;
}

int
fake_do_bpf_prog_get_fd_by_id (uint32_t id)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);

  if (!fake_proc_privileged (p))
    return -EPERM;
  for (size_t i = 0; i < k->n_bpf; i++)
    if (k->bpf[i]->id == id && k->bpf[i]->live)
      return fake_bpf_new_fd (k, p, k->bpf[i]);
  return -ENOENT;
}

/* ---- enforcement and the test API ---- */

static int
fake_bpf_allowed (struct fake_inode *cg, char type, unsigned major, unsigned minor, unsigned acc)
{
  uint32_t access_type = (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR) | (acc << 16);
  uint8_t ctx[FAKE_BPF_CTX_SIZE];

  memcpy (ctx, &access_type, 4);
  memcpy (ctx + 4, &major, 4);
  memcpy (ctx + 8, &minor, 4);
  for (struct fake_inode *d = cg; d && d->cgh; d = fake_cgroup_parent (d))
    for (size_t i = 0; i < d->n_bpf; i++)
      if (fake_bpf_run (d->bpf[i], ctx) != 1)
        return 0;
  return 1;
}

int
fake_bpf_device_check (struct fake_kernel *k, struct fake_proc *p, mode_t mode, dev_t rdev,
                       unsigned acc)
{
  struct fake_inode *cg = p ? fake_cgroup_v2_of (k, p) : NULL;

  if (cg == NULL || !(S_ISCHR (mode) || S_ISBLK (mode)) || acc == 0)
    return 0;
  return fake_bpf_allowed (cg, S_ISBLK (mode) ? 'b' : 'c', major (rdev), minor (rdev), acc)
             ? 0
             : -EPERM;
}

int
fake_cgroup_device_access (struct fake_kernel *k, const char *cgroup, char type, unsigned maj,
                           unsigned min, const char *access)
{
  struct fake_inode *cg = fake_host_lookup (k, cgroup, true);
  unsigned acc = 0;

  if (cg == NULL || cg->cgh == NULL)
    return -ENOENT;
  if (!fake_cgroup_is_v2 (cg))
    return fake_v1_device_allowed (cg, type, maj, min,
                                   (strchr (access, 'r') ? 1u : 0u)
                                       | (strchr (access, 'w') ? 2u : 0u)
                                       | (strchr (access, 'm') ? 4u : 0u));
  for (const char *a = access; a && *a; a++)
    acc |= *a == 'r'   ? BPF_DEVCG_ACC_READ
           : *a == 'w' ? BPF_DEVCG_ACC_WRITE
           : *a == 'm' ? BPF_DEVCG_ACC_MKNOD
                       : 0;
  return fake_bpf_allowed (cg, type, maj, min, acc);
}

size_t
fake_cgroup_bpf_count (struct fake_kernel *k, const char *cgroup)
{
  struct fake_inode *cg = fake_host_lookup (k, cgroup, true);
  return cg ? cg->n_bpf : 0;
}

size_t
fake_bpf_live (struct fake_kernel *k)
{
  size_t n = 0;
  for (size_t i = 0; i < k->n_bpf; i++)
    n += k->bpf[i]->live;
  return n;
}
