/* fake.c: the fake kernel's lifecycle, its sys_ops table, the journal and fault injection.
 *
 * Every slot of fake_sys_ops is a wrapper generated from SYS_CALLS: it journals the call
 * (at entry, so calls made by a child that runs inside the parent's clone come after it),
 * decides whether the fault countdown fires, runs fake_do_<name> otherwise, records the
 * result, and then lets woken processes run when the caller is the test's own context.
 * Invariants: the journal holds every call made while a kernel is installed, in entry
 * order; an injected fault has no side effect except that close still releases the fd. */
#include "sys-fake/internal.h"
#include <stdarg.h>
#include <sys/sysmacros.h>

struct fake_kernel *fake_current_kernel;

/* FOCKER_FAKE_TRACE=1 in the environment prints every call as it returns. */
static int fake_trace = -1;

/* ---- memory ---- */

void *
fake_xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
fake_xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
fake_xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

char *
fake_xstrdup (const char *s)
{
  return strcpy (fake_xmalloc (strlen (s) + 1), s);
}

char *
fake_xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return s;
}

void *
fake_obj_new (struct fake_kernel *k, size_t size, void (*dtor) (void *))
{
  struct fake_obj *o = fake_xcalloc (1, sizeof *o + size);

  o->dtor = dtor;
  o->next = k->objs;
  k->objs = o;
  return o->body;
}

void
fake_buf_put (struct fake_buf *b, const void *p, size_t n)
{
  if (b->len + n + 1 > b->cap)
    {
      b->cap = (b->len + n + 1) * 2;
      b->d = fake_xrealloc (b->d, b->cap);
    }
  memcpy (b->d + b->len, p, n);
  b->len += n;
  b->d[b->len] = '\0';
}

size_t
fake_buf_take (struct fake_buf *b, void *p, size_t n)
{
  if (n > b->len)
    n = b->len;
  if (n == 0)
    return 0;
  memcpy (p, b->d, n);
  memmove (b->d, b->d + n, b->len - n);
  b->len -= n;
  if (b->d)
    b->d[b->len] = '\0';
  return n;
}

bool
fake_version_at_least (struct fake_kernel *k, int major, int minor)
{
  return k->pers.major > major || (k->pers.major == major && k->pers.minor >= minor);
}

/* ---- lifecycle ---- */

static void
fake_seed_vfs (struct fake_kernel *k)
{
  static const struct
  {
    const char *path;
    unsigned maj, min;
  } devs[] = { { "/dev/null", 1, 3 },   { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
               { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
               { "/dev/ptmx", 5, 2 } };
  static const char *const dirs[]
      = { "/dev/pts", "/dev/shm", "/proc", "/sys/fs", "/run", "/etc", "/usr/bin" };

  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    fake_mkdir_p (k, dirs[i], 0755);
  fake_mkdir_p (k, "/tmp", 01777);
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++)
    fake_mknod (k, devs[i].path, S_IFCHR | 0666, makedev (devs[i].maj, devs[i].min));
}

struct fake_kernel *
fake_kernel_new (const struct fake_personality *p)
{
  struct fake_kernel *k = fake_xcalloc (1, sizeof *k);
  static const struct fake_personality def = { 6, 18, FAKE_CGROUP_V2, false };

  k->pers = p ? *p : def;
  if (fake_trace < 0)
    fake_trace = getenv ("FOCKER_FAKE_TRACE") != NULL;
  k->next_ino = 2;
  k->next_pid = 1;
  k->next_ns_id = 4026531835UL;
  k->next_mnt_id = 21;
  k->now_ns = 1000000000ULL;
  fake_install (k);
  fake_sched_init (k);
  k->top = fake_inode_new (k, S_IFDIR | 0755);
  k->top->name = fake_xstrdup ("");
  for (int t = 0; t < FAKE_NS_COUNT; t++)
    k->init_ns[t] = fake_ns_new (k, (enum fake_ns_type)t, NULL);
  /* the initial cgroup namespace has the kernel's fixed inode (PROC_CGROUP_INIT_INO) */
  k->init_ns[FAKE_NS_MNT]->id = k->init_ns[FAKE_NS_CGROUP]->id;
  k->init_ns[FAKE_NS_CGROUP]->id = 0xEFFFFFFBUL;
  fake_seed_vfs (k);
  fake_mounts_seed (k, k->init_ns[FAKE_NS_MNT]);
  k->init = fake_proc_new (k, NULL);
  k->next_pid = 1000;
  fake_cgroup_seed (k);
  fake_spawn (k);
  /* the kernel's last capability (CAP_CHECKPOINT_RESTORE since 5.9); tests may write it */
  k->sysctls = fake_xcalloc (1, sizeof *k->sysctls);
  k->sysctls[0].key = fake_xstrdup ("kernel/cap_last_cap");
  k->sysctls[0].value = fake_xstrdup ("40");
  k->n_sysctls = 1;
  return k;
}

void
fake_kernel_free (struct fake_kernel *k)
{
  if (k == NULL)
    return;
  fake_sched_fini (k);
  fake_net_free (k);
  while (k->files)
    {
      struct fake_file *f = k->files;
      k->files = f->next;
      free (f);
    }
  while (k->objs)
    {
      struct fake_obj *o = k->objs;
      k->objs = o->next;
      if (o->dtor)
        o->dtor (o->body);
      free (o);
    }
  for (size_t i = 0; i < k->n_sysctls; i++)
    {
      free (k->sysctls[i].key);
      free (k->sysctls[i].value);
    }
  free (k->sysctls);
  free (k->procs);
  free (k->cgh);
  free (k->bpf);
  free (k->calls);
  free (k->console.d);
  if (fake_current_kernel == k)
    fake_current_kernel = NULL;
  free (k);
}

void
fake_install (struct fake_kernel *k)
{
  fake_current_kernel = k;
  sys = &fake_sys_ops;
}

const char *
fake_console (struct fake_kernel *k)
{
  return k->console.d ? k->console.d : "";
}

const char *
fake_sysctl (struct fake_kernel *k, pid_t pid, const char *key)
{
  struct fake_proc *p = fake_proc_any (k, pid);
  unsigned long net = p ? p->ns[FAKE_NS_NET]->id : 0;

  for (size_t i = k->n_sysctls; i-- > 0;)
    if (strcmp (k->sysctls[i].key, key) == 0
        && (k->sysctls[i].net_ns == 0 || k->sysctls[i].net_ns == net))
      return k->sysctls[i].value;
  return NULL;
}

/* ---- journal ---- */

size_t
fake_journal_len (struct fake_kernel *k)
{
  return k->n_calls;
}

const struct fake_call *
fake_journal_at (struct fake_kernel *k, size_t i)
{
  return i < k->n_calls ? &k->calls[i] : NULL;
}

long
fake_journal_find (struct fake_kernel *k, enum sys_id id, size_t from)
{
  for (size_t i = from; i < k->n_calls; i++)
    if (k->calls[i].id == id)
      return (long)i;
  return -1;
}

static size_t
fake_call_begin (struct fake_kernel *k, enum sys_id id)
{
  struct fake_proc *p = fake_self (k);
  struct fake_call *c;

  if (k->n_calls == k->cap_calls)
    {
      k->cap_calls = k->cap_calls ? k->cap_calls * 2 : 256;
      k->calls = fake_xrealloc (k->calls, k->cap_calls * sizeof *k->calls);
    }
  c = &k->calls[k->n_calls];
  memset (c, 0, sizeof *c);
  c->pid = p ? p->pid : 0;
  c->id = id;
  return k->n_calls++;
}

/* Argument summary: pass 0 writes the strings (paths), pass 1 the integers; pointers to
 * structures are left out. */
struct fake_fmt
{
  char s[160];
  size_t len;
};

static void
fake_fmt_arg (struct fake_fmt *f, int pass, char kind, uintptr_t v)
{
  char tmp[96];

  if (kind == 'p' || (pass == 0) != (kind == 's'))
    return;
  if (kind == 's')
    snprintf (tmp, sizeof tmp, "%.90s", v ? (const char *)v : "(null)");
  else if (kind == 'i')
    snprintf (tmp, sizeof tmp, "%ld", (long)v);
  else
    snprintf (tmp, sizeof tmp, v < 10 ? "%lu" : "%#lx", (unsigned long)v);
  f->len += (size_t)snprintf (f->s + f->len, sizeof f->s - f->len, "%s%s", f->len ? " " : "", tmp);
  if (f->len >= sizeof f->s)
    f->len = sizeof f->s - 1;
}

#define FAKE_KIND(a)                                                                               \
  _Generic ((a), const char *: 's', int: 'i', long: 'i', unsigned int: 'u',       \
            unsigned long: 'u', default: 'p')
#define FAKE_ONE(a) fake_fmt_arg (&fmt_, pass_, FAKE_KIND (a), (uintptr_t)(a));
#define FAKE_NARGS(...) FAKE_NARGS_ (__VA_ARGS__ __VA_OPT__ (, ) 5, 4, 3, 2, 1, 0)
#define FAKE_NARGS_(a, b, c, d, e, n, ...) n
#define FAKE_CAT(a, b) FAKE_CAT_ (a, b)
#define FAKE_CAT_(a, b) a##b
#define FAKE_FMT_0()
#define FAKE_FMT_1(a) FAKE_ONE (a)
#define FAKE_FMT_2(a, b) FAKE_ONE (a) FAKE_ONE (b)
#define FAKE_FMT_3(a, b, c) FAKE_FMT_2 (a, b) FAKE_ONE (c)
#define FAKE_FMT_4(a, b, c, d) FAKE_FMT_3 (a, b, c) FAKE_ONE (d)
#define FAKE_FMT_5(a, b, c, d, e) FAKE_FMT_4 (a, b, c, d) FAKE_ONE (e)
#define FAKE_FMT_ARGS(...) FAKE_CAT (FAKE_FMT_, FAKE_NARGS (__VA_ARGS__)) (__VA_ARGS__)

/* ---- faults ---- */

#define FAKE_UNCOUNTED                                                                             \
  (SYS_MASK (getpid) | SYS_MASK (getppid) | SYS_MASK (clock_gettime) | SYS_MASK (kernel_version)   \
   | SYS_MASK (proc_starttime))

void
fake_fail_nth (struct fake_kernel *k, long n, bool persist, int error, sys_mask_t mask)
{
  /* disarming (n <= 0) keeps the count, so a test can disarm first and then ask */
  if (n > 0)
    k->faults_hit = 0;
  k->fault_countdown = n > 0 ? n : 0;
  k->fault_error = error < 0 ? -error : error;
  k->fault_mask = mask ? mask : ~FAKE_UNCOUNTED;
  k->fault_persist = persist;
}

long
fake_faults_hit (struct fake_kernel *k)
{
  return k->faults_hit;
}

static bool
fake_fault_fire (struct fake_kernel *k, enum sys_id id)
{
  if (k->fault_countdown == 0 || !(k->fault_mask & SYS_MASK_ID (id)))
    return false;
  if (k->fault_countdown > 0 && --k->fault_countdown > 0)
    return false;
  k->faults_hit++;
  k->fault_countdown = k->fault_persist ? -1 : 0;
  return true;
}

void
fake_on_call (struct fake_kernel *k, enum sys_id id, long n,
              void (*fn) (struct fake_kernel *k, void *arg), void *arg)
{
  k->hook_id = id;
  k->hook_countdown = n > 0 ? n : 0;
  k->hook_fn = fn;
  k->hook_arg = arg;
}

static void
fake_hook_fire (struct fake_kernel *k, enum sys_id id)
{
  if (k->hook_countdown <= 0 || id != k->hook_id || --k->hook_countdown > 0)
    return;
  k->hook_fn (k, k->hook_arg);
}

/* ---- the table ---- */

static void
fake_trace_call (const struct fake_call *c)
{
  fprintf (stderr, "fake[%d] %s(%s) = %ld%s\n", (int)c->pid, sys_names[c->id], c->args, c->result,
           c->injected ? " (injected)" : "");
}

#define FAKE_X_WRAP(ret, name, params, cargs)                                                      \
  static ret fake_op_##name params                                                                 \
  {                                                                                                \
    struct fake_kernel *k = fake_current_kernel;                                                   \
    struct fake_fmt fmt_ = { .len = 0 };                                                           \
    size_t slot;                                                                                   \
    bool inj;                                                                                      \
    long r;                                                                                        \
                                                                                                   \
    if (k == NULL)                                                                                 \
      return (ret)-ENOSYS;                                                                         \
    slot = fake_call_begin (k, SYS_ID_##name);                                                     \
    /* sethostname's name is not NUL-terminated: leave it out */                                   \
    for (int pass_ = SYS_ID_##name == SYS_ID_sethostname || SYS_ID_##name == SYS_ID_setdomainname; \
         pass_ < 2; pass_++)                                                                       \
      {                                                                                            \
        FAKE_FMT_ARGS cargs                                                                        \
      }                                                                                            \
    memcpy (k->calls[slot].args, fmt_.s, sizeof fmt_.s);                                           \
    fake_hook_fire (k, SYS_ID_##name);                                                             \
    inj = fake_fault_fire (k, SYS_ID_##name);                                                      \
    if (fake_self (k) == NULL)                                                                     \
      r = -ESRCH;                                                                                  \
    else if (inj)                                                                                  \
      {                                                                                            \
        if (SYS_ID_##name == SYS_ID_close)                                                         \
          (void)fake_do_##name cargs;                                                              \
        r = -k->fault_error;                                                                       \
      }                                                                                            \
    else                                                                                           \
      r = (long)fake_do_##name cargs;                                                              \
    k->calls[slot].result = r;                                                                     \
    k->calls[slot].injected = inj;                                                                 \
    if (fake_trace)                                                                                \
      fake_trace_call (&k->calls[slot]);                                                           \
    fake_sched_preempt (k);                                                                        \
    return (ret)r;                                                                                 \
  }
SYS_CALLS (FAKE_X_WRAP)
#undef FAKE_X_WRAP

#define FAKE_X_SLOT(ret, name, params, args) .name = fake_op_##name,
const struct sys_ops fake_sys_ops = { SYS_CALLS (FAKE_X_SLOT) };
#undef FAKE_X_SLOT

/* ---- time and version ---- */

/* Signal dispositions are not modelled: only the argument is checked. */
int
fake_do_signal_default (int sig)
{
  return sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP ? -EINVAL : 0;
}

int
fake_do_clock_gettime (clockid_t clk, struct timespec *ts)
{
  struct fake_kernel *k = fake_current_kernel;
  uint64_t base;

  switch (clk)
    {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
      base = 1700000000ULL * 1000000000ULL;
      break;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
      base = 0;
      break;
    default:
      return -EINVAL;
    }
  if (ts == NULL)
    return -EFAULT;
  /* virtual time: deterministic, and every reading is later than the previous one */
  k->now_ns += 1000000;
  ts->tv_sec = (time_t)((base + k->now_ns) / 1000000000ULL);
  ts->tv_nsec = (long)((base + k->now_ns) % 1000000000ULL);
  return 0;
}

int
fake_do_kernel_version (int *major, int *minor)
{
  struct fake_kernel *k = fake_current_kernel;

  if (major == NULL || minor == NULL)
    return -EFAULT;
  *major = k->pers.major;
  *minor = k->pers.minor;
  return 0;
}
