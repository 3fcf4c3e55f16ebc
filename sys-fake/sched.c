/* sched.c: the fake kernel's cooperative scheduler.
 *
 * The test runs on the "main" context; every cloned child runs its function on its own
 * ucontext coroutine with a malloc'd stack.  Switches happen only inside calls:
 *   - clone switches to the new child at once (the child runs first);
 *   - a blocking call waits on a readiness predicate and switches to another context;
 *   - after every call the main context makes, it yields to any other runnable context, so
 *     the test observes a settled system (children run until they block, exit or exec).
 * Picking is deterministic: coroutines in creation order, the main context last.
 *
 * A blocked context's readiness predicate may look at its own open files without holding a
 * reference: nobody else can close them, and when it is killed its context is abandoned and
 * the predicate never runs again.
 * Invariants: a stack is never freed while it is running (finished contexts are reaped by
 * the next context that runs); a context whose frames were abandoned (execve succeeded, or
 * the process was killed) keeps the live part of its stack in a process-global graveyard
 * that is never freed, because memory the runtime allocated before exec would otherwise
 * look leaked to LeakSanitizer/valgrind (a real exec discards the address space instead). */
#include "sys-fake/internal.h"
#include <pthread.h>

#if defined(__SANITIZE_ADDRESS__)
#define FAKE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAKE_ASAN 1
#endif
#endif
#ifdef FAKE_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FAKE_VALGRIND 1
#endif
#endif

enum fake_ctx_state
{
  CTX_READY, /* can run: preempted, or a parent waiting for its child's first stop */
  CTX_RUNNING,
  CTX_BLOCKED, /* waiting until ready(arg) holds */
  CTX_DONE,    /* its function returned: frames unwound, the stack can go */
  CTX_DEAD,    /* abandoned with live frames (exec, kill): the stack goes to the graveyard */
};

struct fake_ctx
{
  ucontext_t uc;
  char *stack;
  size_t stack_size;
  unsigned vg_id;
  struct fake_proc *proc;
  enum fake_ctx_state state;
  fake_ready_fn ready;
  void *ready_arg;
  int (*fn) (void *);
  void *arg;
  char *sp_hint; /* an address in its deepest frame when it last switched out */
  void *asan_fake;
  const void *bottom;
  size_t size;
  struct fake_ctx *next;
};

struct fake_sched
{
  struct fake_ctx main;
  struct fake_ctx *head; /* coroutines in creation order */
  struct fake_ctx *cur;
};

struct fake_grave
{
  struct fake_grave *next;
  ucontext_t uc;
  size_t len;
  char live[];
};
static struct fake_grave *fake_graveyard;

static void
fake_main_bounds (struct fake_ctx *m)
{
  pthread_attr_t a;
  void *addr;
  size_t size;

  if (pthread_getattr_np (pthread_self (), &a) != 0)
    return;
  if (pthread_attr_getstack (&a, &addr, &size) == 0)
    {
      m->bottom = addr;
      m->size = size;
    }
  pthread_attr_destroy (&a);
}

void
fake_sched_init (struct fake_kernel *k)
{
  struct fake_sched *s = fake_xcalloc (1, sizeof *s);

  s->main.state = CTX_RUNNING;
  s->cur = &s->main;
  fake_main_bounds (&s->main);
  k->sched = s;
}

/* Keep the live part of an abandoned stack reachable (see the header), then free it. */
static void
fake_ctx_bury (struct fake_ctx *c)
{
  if (c->stack == NULL)
    return;
#ifdef FAKE_ASAN
  ASAN_UNPOISON_MEMORY_REGION (c->stack, c->stack_size);
#endif
  if (c->sp_hint && c->sp_hint >= c->stack && c->sp_hint < c->stack + c->stack_size)
    {
      /* from its deepest frame up: what lies below was never the runtime's */
      char *from = (char *)(((uintptr_t)c->sp_hint + 7) & ~(uintptr_t)7);
      size_t len = (size_t)(c->stack + c->stack_size - from);
      struct fake_grave *g = fake_xmalloc (sizeof *g + len);

      g->uc = c->uc;
      g->len = len;
      memcpy (g->live, from, len);
      g->next = fake_graveyard;
      fake_graveyard = g;
    }
}

static void
fake_ctx_free (struct fake_ctx *c)
{
  if (c->state == CTX_DEAD)
    fake_ctx_bury (c);
#ifdef FAKE_ASAN
  if (c->stack)
    ASAN_UNPOISON_MEMORY_REGION (c->stack, c->stack_size);
#endif
#ifdef FAKE_VALGRIND
  if (c->stack)
    VALGRIND_STACK_DEREGISTER (c->vg_id);
#endif
  free (c->stack);
  free (c);
}

/* Free every finished context except the running one. */
static void
fake_sched_reap (struct fake_sched *s)
{
  struct fake_ctx **pp = &s->head;

  while (*pp)
    {
      struct fake_ctx *c = *pp;
      if ((c->state == CTX_DONE || c->state == CTX_DEAD) && c != s->cur)
        {
          *pp = c->next;
          fake_ctx_free (c);
        }
      else
        pp = &c->next;
    }
}

static void
fake_ctx_switch (struct fake_kernel *k, struct fake_ctx *to)
{
  struct fake_sched *s = k->sched;
  struct fake_ctx *from = s->cur;
  char marker;
  bool dying = from->state == CTX_DONE || from->state == CTX_DEAD;

  from->sp_hint = &marker;
  s->cur = to;
  to->state = CTX_RUNNING;
#ifdef FAKE_ASAN
  __sanitizer_start_switch_fiber (dying ? NULL : &from->asan_fake, to->bottom, to->size);
#else
  (void)dying;
#endif
  swapcontext (&from->uc, &to->uc);
#ifdef FAKE_ASAN
  __sanitizer_finish_switch_fiber (from->asan_fake, NULL, NULL);
#endif
  fake_sched_reap (k->sched);
}

static bool
fake_ctx_runnable (struct fake_kernel *k, struct fake_ctx *c)
{
  return c->state == CTX_READY || (c->state == CTX_BLOCKED && c->ready (k, c->ready_arg));
}

/* Coroutines first, in creation order; the test's context last. */
static struct fake_ctx *
fake_sched_pick (struct fake_kernel *k)
{
  struct fake_sched *s = k->sched;

  for (struct fake_ctx *c = s->head; c; c = c->next)
    if (c != s->cur && fake_ctx_runnable (k, c))
      return c;
  if (s->cur != &s->main && fake_ctx_runnable (k, &s->main))
    return &s->main;
  return NULL;
}

/* Leave the running coroutine for good.  The test's context can always be resumed: if it is
 * blocked on something that will never happen, its own wait reports EDEADLK. */
static void __attribute__ ((noreturn)) fake_sched_leave (struct fake_kernel *k)
{
  struct fake_ctx *next = fake_sched_pick (k);

  if (next == NULL)
    next = &k->sched->main;
  fake_ctx_switch (k, next);
  abort ();
}

static struct fake_kernel *fake_boot_kernel;

static void
fake_ctx_entry (void)
{
  struct fake_kernel *k = fake_boot_kernel;
  struct fake_ctx *c = k->sched->cur;
  int status;

#ifdef FAKE_ASAN
  __sanitizer_finish_switch_fiber (NULL, NULL, NULL);
#endif
  status = c->fn (c->arg);
  if (c->proc)
    {
      struct fake_proc *p = c->proc;
      p->ctx = NULL;
      c->proc = NULL;
      fake_proc_exit (k, p, status & 0xff, 0);
    }
  if (c->state != CTX_DEAD)
    c->state = CTX_DONE;
  fake_sched_leave (k);
}

int
fake_sched_start (struct fake_kernel *k, struct fake_proc *p, int (*fn) (void *), void *arg)
{
  struct fake_sched *s = k->sched;
  struct fake_ctx *c = fake_xcalloc (1, sizeof *c), **tail;

  c->stack_size = FAKE_STACK_SIZE;
  c->stack = fake_xmalloc (c->stack_size);
  c->bottom = c->stack;
  c->size = c->stack_size;
#ifdef FAKE_VALGRIND
  c->vg_id = VALGRIND_STACK_REGISTER (c->stack, c->stack + c->stack_size);
#endif
  c->fn = fn;
  c->arg = arg;
  c->proc = p;
  p->ctx = c;
  if (getcontext (&c->uc) < 0)
    abort ();
  c->uc.uc_stack.ss_sp = c->stack;
  c->uc.uc_stack.ss_size = c->stack_size;
  c->uc.uc_link = NULL;
  makecontext (&c->uc, fake_ctx_entry, 0);
  for (tail = &s->head; *tail; tail = &(*tail)->next)
    ;
  *tail = c;
  fake_boot_kernel = k;
  s->cur->state = CTX_READY;
  fake_ctx_switch (k, c);
  return 0;
}

int
fake_sched_wait (struct fake_kernel *k, fake_ready_fn ready, void *arg)
{
  struct fake_sched *s = k->sched;
  struct fake_ctx *me = s->cur;

  while (!ready (k, arg))
    {
      struct fake_ctx *next;

      me->state = CTX_BLOCKED;
      me->ready = ready;
      me->ready_arg = arg;
      next = fake_sched_pick (k);
      if (next == NULL)
        {
          me->state = CTX_RUNNING;
          return -EDEADLK;
        }
      fake_ctx_switch (k, next);
    }
  return 0;
}

void
fake_sched_preempt (struct fake_kernel *k)
{
  struct fake_sched *s = k->sched;
  struct fake_ctx *next;

  if (s->cur != &s->main)
    return;
  while ((next = fake_sched_pick (k)) != NULL)
    {
      s->main.state = CTX_READY;
      fake_ctx_switch (k, next);
    }
}

void
fake_settle (struct fake_kernel *k)
{
  fake_sched_preempt (k);
}

void
fake_sched_retire (struct fake_kernel *k, struct fake_ctx *c)
{
  if (c->proc)
    c->proc->ctx = NULL;
  c->proc = NULL;
  c->state = CTX_DEAD;
  fake_sched_leave (k);
}

void
fake_sched_exit_current (struct fake_kernel *k, struct fake_proc *p, int status)
{
  struct fake_ctx *c = k->sched->cur;

  p->ctx = NULL;
  c->proc = NULL;
  fake_proc_exit (k, p, status & 0xff, 0);
  c->state = CTX_DEAD;
  fake_sched_leave (k);
}

/* A process running on a coroutine that is not the current one was killed. */
void
fake_sched_abandon (struct fake_kernel *k, struct fake_ctx *c)
{
  if (c->proc)
    c->proc->ctx = NULL;
  c->proc = NULL;
  c->state = CTX_DEAD;
  if (c != k->sched->cur)
    fake_sched_reap (k->sched);
}

bool
fake_sched_in_main (struct fake_kernel *k)
{
  return k->sched->cur == &k->sched->main;
}

struct fake_proc *
fake_sched_proc (struct fake_kernel *k)
{
  return k->sched ? k->sched->cur->proc : NULL;
}

void
fake_sched_set_main_proc (struct fake_kernel *k, struct fake_proc *p)
{
  k->sched->main.proc = p;
}

void
fake_sched_fini (struct fake_kernel *k)
{
  struct fake_sched *s = k->sched;

  if (s == NULL)
    return;
  for (struct fake_ctx *c = s->head; c; c = c->next)
    if (c->state != CTX_DONE)
      {
        if (c->proc)
          c->proc->ctx = NULL;
        c->state = CTX_DEAD;
      }
  fake_sched_reap (s);
  free (s);
  k->sched = NULL;
}
