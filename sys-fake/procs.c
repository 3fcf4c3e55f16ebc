/* procs.c: processes, their lifecycle, namespaces, signals and waiting.
 *
 * Pids are global and never reused (unless a test asks: fake_pid_recycle); getpid() reports the pid
 * in the caller's own pid namespace (1 for the first process of a new one); other calls take and
 * return global pids, except between processes of the same non-initial pid namespace.  A process is
 * alive, then a zombie until its parent waits (auto-reaped when the parent is pid 1, the
 * fake init, or gone), then reaped: hidden from every lookup but kept in memory.
 * Signals: every delivery is recorded; SIGKILL always terminates (a process still running
 * runtime code on a coroutine is abandoned); other fatal-by-default signals terminate an
 * execed process unless the test marked them caught; non-fatal ones are only recorded. */
#include "sys-fake/internal.h"
#include <sys/prctl.h>

struct fake_proc *
fake_self (struct fake_kernel *k)
{
  struct fake_proc *p = fake_sched_proc (k);

  return p && !p->reaped ? p : NULL;
}

struct fake_proc *
fake_proc_any (struct fake_kernel *k, pid_t pid)
{
  for (size_t i = 0; i < k->n_procs; i++)
    if (k->procs[i]->pid == pid && !k->procs[i]->reaped)
      return k->procs[i];
  return NULL;
}

bool
fake_proc_privileged (struct fake_proc *p)
{
  return p->euid == 0 || (p->userns_created && p->userns_created == p->ns[FAKE_NS_USER]);
}

void
fake_strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

char **
fake_strv_copy (char *const *v)
{
  size_t n = 0;
  char **c;

  while (v && v[n])
    n++;
  c = fake_xcalloc (n + 1, sizeof *c);
  for (size_t i = 0; i < n; i++)
    c[i] = fake_xstrdup (v[i]);
  return c;
}

static void
fake_proc_dtor (void *ptr)
{
  struct fake_proc *p = ptr;

  free (p->exec_path);
  fake_strv_free (p->exec_argv);
  fake_strv_free (p->exec_envp);
  free (p->groups);
  free (p->session_keyring);
  free (p->lsm_exec_label);
  free (p->apparmor_exec);
  free (p->root_path);
  free (p->cwd_path);
  free (p->cgroup_path);
  free (p->signals);
  free (p->fds);
  free (p->cg);
}

static void
fake_proc_defaults (struct fake_kernel *k, struct fake_proc *p)
{
  static const struct
  {
    int res;
    rlim_t cur, max;
  } lim[] = { { RLIMIT_NOFILE, 1024, 524288 },      { RLIMIT_STACK, 8 << 20, RLIM_INFINITY },
              { RLIMIT_CORE, 0, RLIM_INFINITY },    { RLIMIT_NPROC, 63405, 63405 },
              { RLIMIT_MEMLOCK, 8 << 20, 8 << 20 }, { RLIMIT_SIGPENDING, 63405, 63405 },
              { RLIMIT_MSGQUEUE, 819200, 819200 } };

  for (int i = 0; i < RLIM_NLIMITS; i++)
    p->rlimits[i].rlim_cur = p->rlimits[i].rlim_max = RLIM_INFINITY;
  for (size_t i = 0; i < sizeof lim / sizeof *lim; i++)
    {
      p->rlimits[lim[i].res].rlim_cur = lim[i].cur;
      p->rlimits[lim[i].res].rlim_max = lim[i].max;
    }
  for (int t = 0; t < FAKE_NS_COUNT; t++)
    p->ns[t] = k->init_ns[t];
  p->pid_for_children = k->init_ns[FAKE_NS_PID];
  p->time_for_children = k->init_ns[FAKE_NS_TIME];
  p->root = p->cwd = k->top;
  p->umask = 022;
  p->dumpable = true;
  p->cap_bset = (1ULL << 41) - 1;
  p->cap_eff = p->cap_perm = p->cap_bset;
  p->pgid = p->pid;
  p->sid = 1;
  p->ns_pid = p->pid;
}

static void
fake_proc_inherit (struct fake_proc *p, struct fake_proc *parent)
{
  p->ppid = parent->pid;
  p->uid = parent->uid, p->euid = parent->euid, p->suid = parent->suid;
  p->gid = parent->gid, p->egid = parent->egid, p->sgid = parent->sgid;
  p->n_groups = parent->n_groups;
  p->groups = fake_xcalloc (parent->n_groups, sizeof *p->groups);
  if (parent->n_groups)
    memcpy (p->groups, parent->groups, parent->n_groups * sizeof *p->groups);
  p->umask = parent->umask;
  memcpy (p->rlimits, parent->rlimits, sizeof p->rlimits);
  memcpy (p->ns, parent->ns, sizeof p->ns);
  p->pid_for_children = parent->pid_for_children;
  p->time_for_children = parent->time_for_children;
  p->root = parent->root;
  p->cwd = parent->cwd;
  p->no_new_privs = parent->no_new_privs;
  p->dumpable = parent->dumpable;
  p->keep_caps = parent->keep_caps;
  p->cap_bset = parent->cap_bset;
  p->cap_ambient = parent->cap_ambient;
  p->seccomp_filters = parent->seccomp_filters;
  p->seccomp_last_len = parent->seccomp_last_len;
  p->seccomp_last_flags = parent->seccomp_last_flags;
  p->cap_eff = parent->cap_eff;
  p->cap_perm = parent->cap_perm;
  p->cap_inh = parent->cap_inh;
  p->persona = parent->persona;
  p->session_keyring = parent->session_keyring ? fake_xstrdup (parent->session_keyring) : NULL;
  memcpy (p->comm, parent->comm, sizeof p->comm);
  p->pgid = parent->pgid;
  p->sid = parent->sid;
  p->oom_score_adj = parent->oom_score_adj;
  fake_fds_copy (p, parent);
  fake_cgroup_inherit (p, parent);
}

struct fake_proc *
fake_proc_new (struct fake_kernel *k, struct fake_proc *parent)
{
  struct fake_proc *p = fake_obj_new (k, sizeof *p, fake_proc_dtor);

  p->pid = k->next_pid++;
  p->starttime = ++k->tick;
  p->alive = true;
  p->ctty_fd_set = -1;
  p->ctty_index = -1;
  sigemptyset (&p->caught);
  fake_proc_defaults (k, p);
  if (parent)
    fake_proc_inherit (p, parent);
  else
    strcpy (p->comm, "focker");
  k->procs = fake_xrealloc (k->procs, (k->n_procs + 1) * sizeof *k->procs);
  k->procs[k->n_procs++] = p;
  return p;
}

/* ---- the test API ---- */

pid_t
fake_spawn (struct fake_kernel *k)
{
  struct fake_proc *p = fake_proc_new (k, NULL);
  struct fake_file *console = fake_file_new (k, FF_CONSOLE);

  p->ppid = 1;
  console->rd = console->wr = true;
  console->flags = O_RDWR;
  fake_fd_install (k, p, console, false, 0);
  fake_fd_install (k, p, fake_file_ref (console), false, 0);
  fake_fd_install (k, p, fake_file_ref (console), false, 0);
  fake_sched_set_main_proc (k, p);
  return p->pid;
}

pid_t
fake_pid_recycle (struct fake_kernel *k, pid_t pid)
{
  struct fake_proc *p;

  if (fake_proc_any (k, pid))
    return -EBUSY;
  p = fake_proc_new (k, NULL);
  k->next_pid--;
  p->pid = p->pgid = p->ns_pid = pid;
  p->ppid = 1;
  return pid;
}

void
fake_exit (struct fake_kernel *k, pid_t pid, int status)
{
  struct fake_proc *p = fake_proc_any (k, pid);

  if (p && p->alive)
    fake_proc_exit (k, p, status & 0xff, 0);
  if (fake_sched_in_main (k))
    fake_settle (k);
}

int
fake_kill (struct fake_kernel *k, pid_t pid, int sig)
{
  struct fake_proc *p = fake_proc_any (k, pid);
  int r = p ? fake_proc_signal (k, p, sig) : -ESRCH;

  if (fake_sched_in_main (k))
    fake_settle (k);
  return r;
}

void
fake_proc_refresh (struct fake_kernel *k, struct fake_proc *p)
{
  struct fake_ns *user = p->ns[FAKE_NS_USER];

  free (p->root_path);
  free (p->cwd_path);
  free (p->cgroup_path);
  p->root_path = fake_inode_path (p->root);
  p->cwd_path = fake_inode_path (p->cwd);
  p->cgroup_path = fake_cgroup_path (p);
  for (int t = 0; t < FAKE_NS_COUNT; t++)
    p->ns_id[t] = p->ns_for_children_id[t] = p->ns[t]->id;
  p->ns_for_children_id[FAKE_NS_PID] = p->pid_for_children->id;
  p->ns_for_children_id[FAKE_NS_TIME] = p->time_for_children->id;
  p->hostname = p->ns[FAKE_NS_UTS]->hostname;
  p->domainname = p->ns[FAKE_NS_UTS]->domainname;
  p->uid_map = user->parent ? user->uid_map : "         0          0 4294967295\n";
  p->gid_map = user->parent ? user->gid_map : "         0          0 4294967295\n";
  p->setgroups = user->setgroups_deny ? "deny" : "allow";
}

struct fake_proc *
fake_proc (struct fake_kernel *k, pid_t pid)
{
  struct fake_proc *p = fake_proc_any (k, pid);

  if (p)
    fake_proc_refresh (k, p);
  return p;
}

pid_t
fake_current_pid (struct fake_kernel *k)
{
  struct fake_proc *p = fake_self (k);

  return p ? p->pid : 0;
}

int
fake_set_current (struct fake_kernel *k, pid_t pid)
{
  struct fake_proc *p = fake_proc_any (k, pid);

  if (p == NULL || !p->alive)
    return -ESRCH;
  if (p->ctx || p->execed || !fake_sched_in_main (k))
    return -EBUSY;
  fake_sched_set_main_proc (k, p);
  return 0;
}

bool
fake_same_ns (struct fake_kernel *k, pid_t a, pid_t b, enum fake_ns_type type)
{
  struct fake_proc *pa = fake_proc_any (k, a), *pb = fake_proc_any (k, b);

  return pa && pb && pa->ns[type] == pb->ns[type];
}

/* ---- exit ---- */

static void
fake_proc_reap (struct fake_proc *p)
{
  p->zombie = false;
  p->reaped = true;
}

static pid_t
fake_new_parent (struct fake_kernel *k, struct fake_proc *dying)
{
  /* the nearest living subreaper ancestor adopts orphans, else pid 1 */
  for (struct fake_proc *a = fake_proc_any (k, dying->ppid); a && a->pid != 1;
       a = fake_proc_any (k, a->ppid))
    if (a->alive && a->child_subreaper)
      return a->pid;
  return 1;
}

static void
fake_proc_orphans (struct fake_kernel *k, struct fake_proc *p)
{
  pid_t adopter = fake_new_parent (k, p);

  for (size_t i = 0; i < k->n_procs; i++)
    {
      struct fake_proc *q = k->procs[i];
      if (q->reaped || q->ppid != p->pid)
        continue;
      q->ppid = adopter;
      if (q->zombie && adopter == 1)
        fake_proc_reap (q);
      if (q->alive && q->pdeathsig)
        fake_proc_signal (k, q, q->pdeathsig);
    }
}

/* When the init of a pid namespace dies, the kernel kills everything else in it. */
static void
fake_pidns_teardown (struct fake_kernel *k, struct fake_proc *p)
{
  struct fake_ns *ns = p->ns[FAKE_NS_PID];

  if (ns == k->init_ns[FAKE_NS_PID] || p->ns_pid != 1)
    return;
  for (size_t i = 0; i < k->n_procs; i++)
    {
      struct fake_proc *q = k->procs[i];
      for (struct fake_ns *n = q->ns[FAKE_NS_PID]; n && q->alive; n = n->parent)
        if (n == ns)
          {
            fake_proc_signal (k, q, SIGKILL);
            break;
          }
    }
}

void
fake_proc_exit (struct fake_kernel *k, struct fake_proc *p, int status, int sig)
{
  struct fake_proc *parent;

  if (!p->alive)
    return;
  p->alive = false;
  p->zombie = true;
  p->stopped = false;
  p->killed_by_signal = sig != 0;
  p->term_signal = sig;
  p->exit_status = sig ? sig : status;
  if (p->ctx && fake_self (k) != p)
    fake_sched_abandon (k, p->ctx);
  fake_fds_close_all (k, p, false);
  fake_proc_orphans (k, p);
  fake_pidns_teardown (k, p);
  parent = fake_proc_any (k, p->ppid);
  if (p->ppid == 1 || parent == NULL)
    fake_proc_reap (p);
}

/* ---- signals ---- */

static bool
fake_sig_fatal (int sig)
{
  switch (sig)
    {
    case SIGCHLD:
    case SIGCONT:
    case SIGURG:
    case SIGWINCH:
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      return false;
    default:
      return true;
    }
}

int
fake_proc_signal (struct fake_kernel *k, struct fake_proc *p, int sig)
{
  if (p->reaped)
    return -ESRCH;
  if (sig == 0)
    return 0;
  p->signals = fake_xrealloc (p->signals, (p->n_signals + 1) * sizeof *p->signals);
  p->signals[p->n_signals++] = sig;
  if (!p->alive || p == k->init)
    return 0;
  if (sig == SIGKILL)
    fake_proc_exit (k, p, 0, SIGKILL);
  else if (sig == SIGSTOP || (p->execed && (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)))
    p->stopped = true;
  else if (sig == SIGCONT)
    p->stopped = false;
  else if (p->execed && fake_sig_fatal (sig) && !sigismember (&p->caught, sig))
    fake_proc_exit (k, p, 0, sig);
  return 0;
}

/* A process that signalled itself to death leaves its coroutine for good. */
static void
fake_self_check (struct fake_kernel *k)
{
  struct fake_proc *me = fake_self (k);

  if (me && !me->alive && me->ctx && !fake_sched_in_main (k))
    fake_sched_retire (k, me->ctx);
}

/* A pid as the caller names it: global, or ns-local inside a non-initial pid namespace. */
static struct fake_proc *
fake_proc_named (struct fake_kernel *k, pid_t pid)
{
  struct fake_proc *me = fake_self (k);
  struct fake_ns *ns = me->ns[FAKE_NS_PID];

  if (ns == k->init_ns[FAKE_NS_PID])
    return fake_proc_any (k, pid);
  for (size_t i = 0; i < k->n_procs; i++)
    if (!k->procs[i]->reaped && k->procs[i]->ns[FAKE_NS_PID] == ns && k->procs[i]->ns_pid == pid)
      return k->procs[i];
  return NULL;
}

static pid_t
fake_pid_seen_by (struct fake_kernel *k, struct fake_proc *viewer, struct fake_proc *p)
{
  if (viewer->ns[FAKE_NS_PID] == k->init_ns[FAKE_NS_PID])
    return p->pid;
  return p->ns[FAKE_NS_PID] == viewer->ns[FAKE_NS_PID] ? p->ns_pid : p->pid;
}

int
fake_do_kill (pid_t pid, int sig)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *t;
  int r;

  if (sig < 0 || sig > SIGRTMAX)
    return -EINVAL;
  if (pid <= 0)
    return -ENOSYS; /* process groups are not modelled */
  t = fake_proc_named (k, pid);
  if (t == NULL)
    return -ESRCH;
  r = fake_proc_signal (k, t, sig);
  fake_self_check (k);
  return r;
}

pid_t
fake_do_getpid (void)
{
  return fake_self (fake_current_kernel)->ns_pid;
}

/* The parent's pid in the caller's pid namespace; 0 when the parent is outside it (as for
 * the init of a new pid namespace, whose parent is in the one above). */
pid_t
fake_do_getppid (void)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *self = fake_self (k), *parent = fake_proc_any (k, self->ppid);

  if (parent == NULL || parent->ns[FAKE_NS_PID] != self->ns[FAKE_NS_PID])
    return 0;
  return parent->ns_pid;
}

int
fake_do_proc_starttime (pid_t pid, unsigned long long *starttime, char *state)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *t = fake_proc_named (k, pid);

  if (t == NULL)
    return -ESRCH;
  if (starttime)
    *starttime = t->starttime;
  if (state)
    *state = t->zombie ? 'Z' : t->stopped ? 'T' : t == fake_self (k) ? 'R' : 'S';
  return 0;
}

int
fake_do_pidfd_open (pid_t pid, unsigned flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *t;
  struct fake_file *f;

  if (!fake_version_at_least (k, 5, 3))
    return -ENOSYS;
  if ((flags & ~(unsigned)O_NONBLOCK) || pid <= 0)
    return -EINVAL;
  t = fake_proc_named (k, pid);
  if (t == NULL)
    return -ESRCH;
  f = fake_file_new (k, FF_PIDFD);
  f->pid = t->pid;
  f->start = t->starttime;
  f->flags = O_RDWR | (int)flags;
  return fake_fd_install (k, fake_self (k), f, true, 0);
}

struct fake_proc *
fake_pidfd_target (struct fake_kernel *k, struct fake_file *f)
{
  struct fake_proc *t = fake_proc_any (k, f->pid);

  return t && t->starttime == f->start ? t : NULL;
}

int
fake_do_pidfd_send_signal (int pidfd, int sig, unsigned flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_file *f = fake_fd_get (fake_self (k), pidfd);
  struct fake_proc *t;
  int r;

  if (!fake_version_at_least (k, 5, 1))
    return -ENOSYS;
  if (flags || sig < 0 || sig > SIGRTMAX)
    return -EINVAL;
  if (f == NULL || f->kind != FF_PIDFD)
    return -EBADF;
  t = fake_pidfd_target (k, f);
  if (t == NULL)
    return -ESRCH;
  r = fake_proc_signal (k, t, sig);
  fake_self_check (k);
  return r;
}

/* ---- waitid ---- */

struct fake_wait
{
  struct fake_proc *me;
  idtype_t type;
  pid_t pid;
};

static bool
fake_wait_match (struct fake_wait *w, struct fake_proc *q)
{
  return !q->reaped && q->ppid == w->me->pid && (w->type == P_ALL || q->pid == w->pid);
}

static bool
fake_wait_ready (struct fake_kernel *k, void *arg)
{
  struct fake_wait *w = arg;
  bool any = false;

  for (size_t i = 0; i < k->n_procs; i++)
    if (fake_wait_match (w, k->procs[i]))
      {
        if (k->procs[i]->zombie)
          return true;
        any = true;
      }
  return !any;
}

static int
fake_wait_collect (struct fake_kernel *k, struct fake_wait *w, siginfo_t *info, int options)
{
  for (size_t i = 0; i < k->n_procs; i++)
    {
      struct fake_proc *q = k->procs[i];
      if (!fake_wait_match (w, q) || !q->zombie)
        continue;
      if (info)
        {
          memset (info, 0, sizeof *info);
          info->si_signo = SIGCHLD;
          info->si_pid = fake_pid_seen_by (k, w->me, q);
          info->si_uid = q->uid;
          info->si_code = q->killed_by_signal ? CLD_KILLED : CLD_EXITED;
          info->si_status = q->exit_status;
        }
      if (!(options & WNOWAIT))
        fake_proc_reap (q);
      return 1;
    }
  return 0;
}

int
fake_do_waitid (idtype_t idtype, id_t id, siginfo_t *info, int options)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_wait w = { fake_self (k), idtype, 0 };
  int r;

  if ((options
       & ~(WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT | __WALL | __WCLONE | __WNOTHREAD))
      || !(options & (WEXITED | WSTOPPED | WCONTINUED)))
    return -EINVAL;
  if (idtype == P_PIDFD)
    {
      struct fake_file *f = fake_fd_get (w.me, (int)id);
      if (!fake_version_at_least (k, 5, 4))
        return -EINVAL;
      if (f == NULL)
        return -EBADF;
      if (f->kind != FF_PIDFD)
        return -EINVAL;
      w.pid = f->pid;
    }
  else if (idtype == P_PID)
    {
      struct fake_proc *t = fake_proc_named (k, (pid_t)id);
      w.pid = t ? t->pid : -1;
    }
  else if (idtype != P_ALL)
    return -ENOSYS; /* P_PGID: process groups are not modelled */
  if (fake_wait_collect (k, &w, info, options))
    return 0;
  if (fake_wait_ready (k, &w))
    return -ECHILD; /* no matching child at all */
  if (options & WNOHANG)
    {
      if (info)
        memset (info, 0, sizeof *info);
      return 0;
    }
  r = fake_sched_wait (k, fake_wait_ready, &w);
  if (r < 0)
    return r;
  return fake_wait_collect (k, &w, info, options) ? 0 : -ECHILD;
}
