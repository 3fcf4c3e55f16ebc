/* task.c: calls that create or change a process: clone, unshare, setns, execve,
 * credentials, prctl, rlimits, umask, sessions, host and domain names.
 *
 * clone copies the caller (credentials, fds, namespaces, root, cwd, cgroups), applies the
 * CLONE_NEW* flags, and runs the child function on its own coroutine at once (sched.c).
 * Unlike a real fork the child shares the parent's memory: the fn argument is the parent's.
 * CLONE_NEWPID and CLONE_NEWTIME through unshare only affect children, as on Linux.
 * Privilege is "euid 0 in its user namespace", or having created it (the kernel gives the
 * creator every capability there); capabilities are not modelled beyond the
 * bounding and ambient sets prctl records.  Ids must be mapped in the caller's user
 * namespace (EINVAL otherwise), which makes a child that setresuid()s before its parent
 * wrote uid_map fail as it would on Linux. */
#include "sys-fake/internal.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#define FAKE_CLONE_NS                                                                              \
  (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER         \
   | CLONE_NEWCGROUP | CLONE_NEWTIME)

/* Give `p` the new namespaces `flags` asks for; `child` says a clone (pid and time apply to
 * the process itself) rather than unshare (they apply to its future children). */
static void
fake_ns_apply (struct fake_kernel *k, struct fake_proc *p, uint64_t flags, bool child)
{
  if (flags & CLONE_NEWUSER)
    {
      /* the creator has every capability in the new namespace, whatever its ids */
      p->ns[FAKE_NS_USER] = fake_ns_new (k, FAKE_NS_USER, p->ns[FAKE_NS_USER]);
      p->ns[FAKE_NS_USER]->owner_uid = p->euid;
      p->ns[FAKE_NS_USER]->owner_gid = p->egid;
      p->userns_created = p->ns[FAKE_NS_USER];
    }
  for (int t = 0; t < FAKE_NS_COUNT; t++)
    {
      if (t == FAKE_NS_USER || !(flags & (uint64_t)fake_ns_clone_flag (t)))
        continue;
      if (t == FAKE_NS_PID)
        {
          p->pid_for_children = fake_ns_new (k, FAKE_NS_PID, p->pid_for_children);
          if (child)
            p->ns[FAKE_NS_PID] = p->pid_for_children;
        }
      else if (t == FAKE_NS_TIME)
        {
          p->time_for_children = fake_ns_new (k, FAKE_NS_TIME, NULL);
          if (child)
            p->ns[FAKE_NS_TIME] = p->time_for_children;
        }
      else
        p->ns[t] = fake_ns_new (k, (enum fake_ns_type)t, p->ns[t]);
    }
}

static int
fake_clone_check (struct fake_kernel *k, struct fake_proc *p, struct sys_clone_args *a,
                  struct fake_inode **cg)
{
  uint64_t ok = FAKE_CLONE_NS | CLONE_PIDFD | CLONE_INTO_CGROUP | CLONE_VM | CLONE_VFORK
                | CLONE_PARENT | CLONE_CLEAR_SIGHAND;

  if (a == NULL || a->fn == NULL)
    return -EINVAL;
  if (a->flags & ~ok)
    return -ENOSYS; /* CLONE_FILES, CLONE_FS, CLONE_THREAD ...: not modelled */
  if ((a->flags & CLONE_INTO_CGROUP) && !fake_version_at_least (k, 5, 7))
    return fake_version_at_least (k, 5, 3) ? -EINVAL : -ENOSYS;
  if ((a->flags & CLONE_NEWTIME) && !fake_version_at_least (k, 5, 6))
    return -EINVAL;
  if ((a->flags & CLONE_PIDFD) && !fake_version_at_least (k, 5, 2))
    return -EINVAL;
  if ((a->flags & FAKE_CLONE_NS & ~(uint64_t)CLONE_NEWUSER) && !(a->flags & CLONE_NEWUSER)
      && !fake_proc_privileged (p))
    return -EPERM;
  if (a->flags & CLONE_INTO_CGROUP)
    {
      struct fake_file *f = fake_fd_get (p, a->cgroup_fd);
      if (f == NULL)
        return -EBADF;
      if (f->kind != FF_VNODE || f->ino->cgh == NULL)
        return -EINVAL;
      *cg = f->ino;
    }
  return 0;
}

struct fake_vfork
{
  pid_t pid;
};

static bool
fake_vfork_done (struct fake_kernel *k, void *arg)
{
  struct fake_proc *c = fake_proc_any (k, ((struct fake_vfork *)arg)->pid);

  return c == NULL || !c->alive || c->execed;
}

pid_t
fake_do_clone (struct sys_clone_args *a)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k), *c;
  struct fake_inode *cg = NULL;
  struct fake_ns *pidns;
  pid_t seen;
  int r = fake_clone_check (k, p, a, &cg);

  if (r < 0)
    return r;
  c = fake_proc_new (k, p);
  if (a->flags & CLONE_PARENT)
    c->ppid = p->ppid;
  fake_ns_apply (k, c, a->flags, true);
  pidns = c->ns[FAKE_NS_PID] = (a->flags & CLONE_NEWPID) ? c->ns[FAKE_NS_PID] : p->pid_for_children;
  if (!(a->flags & CLONE_NEWPID))
    c->pid_for_children = pidns;
  c->ns_pid = pidns == k->init_ns[FAKE_NS_PID] ? c->pid : pidns->next_pid++;
  if (cg)
    fake_cgroup_enter (k, c, cg);
  if (a->flags & CLONE_PIDFD)
    {
      struct fake_file *f = fake_file_new (k, FF_PIDFD);
      f->pid = c->pid;
      f->start = c->starttime;
      f->flags = O_RDWR;
      a->pidfd = fake_fd_install (k, p, f, true, 0);
    }
  seen = p->ns[FAKE_NS_PID] == pidns && pidns != k->init_ns[FAKE_NS_PID] ? c->ns_pid : c->pid;
  fake_sched_start (k, c, a->fn, a->arg);
  if (a->flags & CLONE_VFORK)
    {
      struct fake_vfork v = { c->pid };
      fake_sched_wait (k, fake_vfork_done, &v);
    }
  return seen;
}

int
fake_do_unshare (int flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  int ok = FAKE_CLONE_NS | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_THREAD | CLONE_SIGHAND
           | CLONE_VM;

  if (flags & ~ok)
    return -EINVAL;
  if ((flags & CLONE_NEWTIME) && !fake_version_at_least (k, 5, 6))
    return -EINVAL;
  if ((flags & FAKE_CLONE_NS & ~CLONE_NEWUSER) && !(flags & CLONE_NEWUSER)
      && !fake_proc_privileged (p))
    return -EPERM;
  fake_ns_apply (k, p, (uint64_t)(unsigned)flags, false);
  return 0;
}

static void
fake_join_ns (struct fake_kernel *k, struct fake_proc *p, struct fake_ns *ns)
{
  switch (ns->type)
    {
    case FAKE_NS_MNT:
      /* like Linux, root and cwd move to the namespace's root */
      p->ns[FAKE_NS_MNT] = ns;
      if (ns->root_mount)
        {
          struct fake_inode *root = fake_host_lookup (k, ns->root_mount->target, true);
          if (root)
            p->root = p->cwd = root;
        }
      break;
    case FAKE_NS_PID:
      p->pid_for_children = ns;
      break;
    case FAKE_NS_TIME:
      p->time_for_children = ns;
      break;
    default:
      p->ns[ns->type] = ns;
    }
}

/* setns on a pidfd (5.8+): every namespace in `flags` of the target at once, all or nothing;
 * the user namespace is joined first (the kernel does the same), joining one's own user
 * namespace is EINVAL. */
static int
fake_setns_pidfd (struct fake_kernel *k, struct fake_proc *p, struct fake_file *f, int flags)
{
  static const enum fake_ns_type order[]
      = { FAKE_NS_USER, FAKE_NS_MNT,    FAKE_NS_UTS, FAKE_NS_IPC,
          FAKE_NS_PID,  FAKE_NS_CGROUP, FAKE_NS_NET, FAKE_NS_TIME };
  struct fake_proc *t;

  if (!fake_version_at_least (k, 5, 8))
    return -EINVAL;
  if (flags == 0 || (flags & ~FAKE_CLONE_NS))
    return -EINVAL;
  t = fake_pidfd_target (k, f);
  if (t == NULL || !t->alive || t->zombie)
    return -ESRCH;
  if (!fake_proc_privileged (p))
    return -EPERM;
  if ((flags & CLONE_NEWUSER) && t->ns[FAKE_NS_USER] == p->ns[FAKE_NS_USER])
    return -EINVAL;
  for (size_t i = 0; i < sizeof order / sizeof *order; i++)
    if (flags & fake_ns_clone_flag (order[i]))
      fake_join_ns (k, p, t->ns[order[i]]);
  return 0;
}

int
fake_do_setns (int fd, int nstype)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_file *f = fake_fd_get (p, fd);
  struct fake_ns *ns;

  if (f == NULL)
    return -EBADF;
  if (f->kind == FF_PIDFD)
    return fake_setns_pidfd (k, p, f, nstype);
  if (f->kind != FF_NS)
    return -EINVAL;
  ns = f->ns;
  if (nstype != 0 && nstype != fake_ns_clone_flag (ns->type))
    return -EINVAL;
  if (!fake_proc_privileged (p))
    return -EPERM;
  fake_join_ns (k, p, ns);
  return 0;
}

/* ---- execve ---- */

int
fake_do_execve (const char *path, char *const argv[], char *const envp[])
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  struct fake_inode *ino;
  const char *base;
  int r = fake_resolve_simple (k, AT_FDCWD, path, true, &ino);

  if (r < 0)
    return r;
  if (!S_ISREG (ino->mode) || !(ino->mode & 0111))
    return -EACCES;
  free (p->exec_path);
  fake_strv_free (p->exec_argv);
  fake_strv_free (p->exec_envp);
  p->exec_path = fake_xstrdup (path);
  p->exec_argv = fake_strv_copy (argv);
  p->exec_envp = fake_strv_copy (envp);
  p->execed = true;
  p->dumpable = true;
  sigemptyset (&p->caught);
  base = strrchr (path, '/');
  snprintf (p->comm, sizeof p->comm, "%s", base ? base + 1 : path);
  fake_fds_close_all (k, p, true);
  /* the test's own context cannot be abandoned: it returns 0 and carries on */
  if (p->ctx && !fake_sched_in_main (k))
    {
      const struct fake_program *prog = fake_program_find (k, path);
      if (prog)
        {
          /* the runtime's frames below stay live, abandoned as on retire */
          int status = prog->fn (k, p->exec_argv, p->exec_envp, prog->arg);
          fake_sched_exit_current (k, p, status);
        }
      fake_sched_retire (k, p->ctx);
    }
  return 0;
}

static void
fake_program_dtor (void *body)
{
  free (((struct fake_program *)body)->path);
}

void
fake_program (struct fake_kernel *k, const char *path, fake_program_fn fn, void *arg)
{
  struct fake_program *prog = fake_obj_new (k, sizeof *prog, fake_program_dtor);

  prog->path = fake_xstrdup (path);
  prog->fn = fn;
  prog->arg = arg;
  prog->next = k->programs;
  k->programs = prog;
}

const struct fake_program *
fake_program_find (struct fake_kernel *k, const char *path)
{
  for (const struct fake_program *p = k->programs; p; p = p->next)
    if (strcmp (p->path, path) == 0)
      return p;
  return NULL;
}

/* ---- credentials ---- */

/* Is `id` inside one of the ranges of `map` ("inside outside count" lines)? */
static bool
fake_id_mapped (const char *map, unsigned long id)
{
  const char *s = map;

  while (s && *s)
    {
      unsigned long in, out, count;
      if (sscanf (s, "%lu %lu %lu", &in, &out, &count) == 3 && id >= in && id - in < count)
        return true;
      s = strchr (s, '\n');
      s = s ? s + 1 : NULL;
    }
  return false;
}

static bool
fake_ids_mapped (struct fake_proc *p, bool gid, const unsigned *ids, size_t n)
{
  struct fake_ns *user = p->ns[FAKE_NS_USER];

  if (user->parent == NULL)
    return true;
  for (size_t i = 0; i < n; i++)
    if (ids[i] != (unsigned)-1 && !fake_id_mapped (gid ? user->gid_map : user->uid_map, ids[i]))
      return false;
  return true;
}

/* Without privilege an id can only be set to one of the current real/effective/saved. */
static bool
fake_ids_allowed (struct fake_proc *p, const unsigned cur[3], const unsigned want[3])
{
  if (fake_proc_privileged (p))
    return true;
  for (int i = 0; i < 3; i++)
    if (want[i] != (unsigned)-1 && want[i] != cur[0] && want[i] != cur[1] && want[i] != cur[2])
      return false;
  return true;
}

int
fake_do_setresuid (uid_t r, uid_t e, uid_t s)
{
  struct fake_proc *p = fake_self (fake_current_kernel);
  unsigned want[3] = { r, e, s }, cur[3] = { p->uid, p->euid, p->suid };

  if (!fake_ids_mapped (p, false, want, 3))
    return -EINVAL;
  if (!fake_ids_allowed (p, cur, want))
    return -EPERM;
  {
    bool had_root = p->uid == 0 || p->euid == 0 || p->suid == 0;
    if (r != (uid_t)-1)
      p->uid = r;
    if (e != (uid_t)-1)
      p->euid = e;
    if (s != (uid_t)-1)
      p->suid = s;
    /* capabilities(7), "effect of user ID changes": leaving uid 0 in all three ids clears
     * the permitted, effective and ambient sets unless PR_SET_KEEPCAPS; an euid change
     * from 0 clears the effective set */
    if (had_root && p->uid && p->euid && p->suid && !p->keep_caps)
      p->cap_perm = p->cap_eff = p->cap_ambient = 0;
    if (p->euid != 0)
      p->cap_eff = 0;
    if (had_root && p->uid && p->euid && p->suid)
      p->cap_ambient = 0;
  }
  return 0;
}

int
fake_do_setresgid (gid_t r, gid_t e, gid_t s)
{
  struct fake_proc *p = fake_self (fake_current_kernel);
  unsigned want[3] = { r, e, s }, cur[3] = { p->gid, p->egid, p->sgid };

  if (!fake_ids_mapped (p, true, want, 3))
    return -EINVAL;
  if (!fake_ids_allowed (p, cur, want))
    return -EPERM;
  if (r != (gid_t)-1)
    p->gid = r;
  if (e != (gid_t)-1)
    p->egid = e;
  if (s != (gid_t)-1)
    p->sgid = s;
  return 0;
}

int
fake_do_setgroups (size_t n, const gid_t *list)
{
  struct fake_proc *p = fake_self (fake_current_kernel);
  struct fake_ns *user = p->ns[FAKE_NS_USER];

  if (n > 65536)
    return -EINVAL;
  if (n && list == NULL)
    return -EFAULT;
  if (!fake_proc_privileged (p))
    return -EPERM;
  /* in a user namespace: only once gid_map is written, and never with setgroups=deny */
  if (user->parent && (user->setgroups_deny || user->gid_map == NULL))
    return -EPERM;
  if (!fake_ids_mapped (p, true, list, n))
    return -EINVAL;
  free (p->groups);
  p->groups = fake_xcalloc (n, sizeof *p->groups);
  if (n)
    memcpy (p->groups, list, n * sizeof *list);
  p->n_groups = n;
  return 0;
}

int
fake_do_getids (uid_t *euid, gid_t *egid)
{
  struct fake_proc *p = fake_self (fake_current_kernel);

  *euid = p->euid;
  *egid = p->egid;
  return 0;
}

int
fake_do_prlimit (pid_t pid, int resource, const struct rlimit *nv, struct rlimit *old)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *me = fake_self (k);
  struct fake_proc *t = pid ? fake_proc_any (k, pid) : me;

  if (resource < 0 || resource >= RLIM_NLIMITS)
    return -EINVAL;
  if (t == NULL || !t->alive)
    return -ESRCH;
  if (nv && nv->rlim_cur > nv->rlim_max)
    return -EINVAL;
  if (nv && nv->rlim_max > t->rlimits[resource].rlim_max && !fake_proc_privileged (me))
    return -EPERM;
  if (nv && resource == RLIMIT_NOFILE && nv->rlim_max > 1048576)
    return -EPERM; /* fs.nr_open */
  if (old)
    *old = t->rlimits[resource];
  if (nv)
    t->rlimits[resource] = *nv;
  return 0;
}

int
fake_do_umask (mode_t mask)
{
  struct fake_proc *p = fake_self (fake_current_kernel);
  mode_t old = p->umask;

  p->umask = mask & 0777;
  return (int)old;
}

int
fake_do_setsid (void)
{
  struct fake_proc *p = fake_self (fake_current_kernel);

  if (p->pgid == p->pid)
    return -EPERM; /* a process group leader cannot start a session */
  p->sid = p->pgid = p->pid;
  p->is_session_leader = true;
  p->ctty_fd_set = -1;
  p->ctty_index = -1;
  return p->ns_pid;
}

int
fake_do_set_ctty (int fd)
{
  struct fake_proc *p = fake_self (fake_current_kernel);
  struct fake_file *f = fake_fd_get (p, fd);

  if (f == NULL)
    return -EBADF;
  if (f->kind != FF_CONN || !f->conn->pty)
    return -ENOTTY;
  if (!p->is_session_leader)
    return -EPERM;
  p->ctty_fd_set = fd;
  p->ctty_index = f->conn->pty_index;
  return 0;
}

static int
fake_set_uts (char *dst, const char *name, size_t len)
{
  struct fake_proc *p = fake_self (fake_current_kernel);

  if (len > 64)
    return -EINVAL;
  if (name == NULL && len)
    return -EFAULT;
  if (!fake_proc_privileged (p))
    return -EPERM;
  memcpy (dst, name, len);
  dst[len] = '\0';
  return 0;
}

int
fake_do_sethostname (const char *name, size_t len)
{
  struct fake_proc *p = fake_self (fake_current_kernel);

  return fake_set_uts (p->ns[FAKE_NS_UTS]->hostname, name, len);
}

int
fake_do_setdomainname (const char *name, size_t len)
{
  struct fake_proc *p = fake_self (fake_current_kernel);

  return fake_set_uts (p->ns[FAKE_NS_UTS]->domainname, name, len);
}

/* ---- prctl ---- */

static int
fake_prctl_get (struct fake_proc *p, int option, unsigned long a2)
{
  switch (option)
    {
    case PR_GET_NO_NEW_PRIVS:
      return p->no_new_privs;
    case PR_GET_DUMPABLE:
      return p->dumpable;
    case PR_GET_KEEPCAPS:
      return p->keep_caps;
    case PR_GET_CHILD_SUBREAPER:
      if (a2 == 0)
        return -EFAULT;
      *(int *)a2 = p->child_subreaper;
      return 0;
    case PR_GET_PDEATHSIG:
      if (a2 == 0)
        return -EFAULT;
      *(int *)a2 = p->pdeathsig;
      return 0;
    case PR_CAPBSET_READ:
      return a2 > 40 ? -EINVAL : (int)((p->cap_bset >> a2) & 1);
    case PR_GET_SECCOMP:
      return p->seccomp_filters ? SECCOMP_MODE_FILTER : 0;
    default:
      return -EINVAL;
    }
}

static int
fake_prctl_seccomp (struct fake_proc *p, unsigned long mode, unsigned long prog)
{
  const struct sock_fprog *f = (const struct sock_fprog *)prog;

  if (mode != SECCOMP_MODE_FILTER)
    return -EINVAL;
  if (f == NULL)
    return -EFAULT;
  if (f->len == 0 || f->len > 4096 || f->filter == NULL)
    return -EINVAL;
  /* loading a filter needs no_new_privs, or privilege */
  if (!p->no_new_privs && !fake_proc_privileged (p))
    return -EACCES;
  p->seccomp_filters++;
  p->seccomp_last_len = f->len;
  return 0;
}

static int
fake_prctl_ambient (struct fake_proc *p, unsigned long op, unsigned long cap)
{
  if (op == PR_CAP_AMBIENT_CLEAR_ALL)
    {
      p->cap_ambient = 0;
      return 0;
    }
  if (cap > 40)
    return -EINVAL;
  if (op == PR_CAP_AMBIENT_RAISE)
    {
      /* only a capability both permitted and inheritable can be ambient */
      if (!((p->cap_perm & p->cap_inh) >> cap & 1))
        return -EPERM;
      p->cap_ambient |= 1ULL << cap;
    }
  else if (op == PR_CAP_AMBIENT_LOWER)
    p->cap_ambient &= ~(1ULL << cap);
  else if (op == PR_CAP_AMBIENT_IS_SET)
    return (int)((p->cap_ambient >> cap) & 1);
  else
    return -EINVAL;
  return 0;
}

int
fake_do_prctl (int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
  struct fake_proc *p = fake_self (fake_current_kernel);

  switch (option)
    {
    case PR_SET_NO_NEW_PRIVS:
      if (a2 != 1 || a3 || a4 || a5)
        return -EINVAL;
      p->no_new_privs = true;
      return 0;
    case PR_SET_DUMPABLE:
      if (a2 > 1)
        return -EINVAL;
      p->dumpable = a2 == 1;
      return 0;
    case PR_SET_KEEPCAPS:
      if (a2 > 1)
        return -EINVAL;
      p->keep_caps = a2 == 1;
      return 0;
    case PR_SET_PDEATHSIG:
      if (a2 > (unsigned long)SIGRTMAX)
        return -EINVAL;
      p->pdeathsig = (int)a2;
      return 0;
    case PR_SET_CHILD_SUBREAPER:
      p->child_subreaper = a2 != 0;
      return 0;
    case PR_CAPBSET_DROP:
      if (a2 > 40)
        return -EINVAL;
      if (!fake_proc_privileged (p))
        return -EPERM;
      p->cap_bset &= ~(1ULL << a2);
      return 0;
    case PR_SET_NAME:
      if (a2 == 0)
        return -EFAULT;
      snprintf (p->comm, sizeof p->comm, "%s", (const char *)a2);
      return 0;
    case PR_SET_SECCOMP:
      return fake_prctl_seccomp (p, a2, a3);
    case PR_CAP_AMBIENT:
      return fake_prctl_ambient (p, a2, a3);
    default:
      return fake_prctl_get (p, option, a2);
    }
}

/* ---- capabilities, seccomp, keyrings, personality ---- */

int
fake_do_capset (uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
  struct fake_proc *p = fake_self (fake_current_kernel);
  uint64_t all = (1ULL << 41) - 1;

  if ((effective | permitted | inheritable) & ~all)
    return -EINVAL;
  /* capset(2): permitted can only shrink, effective must stay within it, inheritable may
   * only gain capabilities of the bounding set that are permitted (or, with CAP_SETPCAP
   * effective, any of the bounding set) */
  if (permitted & ~p->cap_perm)
    return -EPERM;
  if (effective & ~permitted)
    return -EPERM;
  if (inheritable & ~p->cap_inh
      & ~((p->cap_eff >> 8 & 1) ? p->cap_bset : (p->cap_perm & p->cap_bset)))
    return -EPERM;
  p->cap_eff = effective;
  p->cap_perm = permitted;
  p->cap_inh = inheritable;
  /* ambient capabilities no longer permitted and inheritable are lowered */
  p->cap_ambient &= permitted & inheritable;
  return 0;
}

int
fake_do_seccomp_load (const struct sock_fprog *prog, unsigned flags)
{
  struct fake_kernel *k = fake_current_kernel;
  struct fake_proc *p = fake_self (k);
  unsigned known = SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG
                   | SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_NEW_LISTENER;
  int fds[2], r;

  if (flags & ~known)
    return -EINVAL;
  /* the kernel refuses TSYNC with a listener (without TSYNC_ESRCH) */
  if ((flags & SECCOMP_FILTER_FLAG_TSYNC) && (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
    return -EINVAL;
  if (prog == NULL)
    return -EFAULT;
  if (prog->len == 0 || prog->len > 4096 || prog->filter == NULL)
    return -EINVAL;
  if (!p->no_new_privs && !fake_proc_privileged (p))
    return -EACCES;
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
    {
      /* the listener is modelled as the read end of a pipe nobody writes to */
      r = fake_do_pipe2 (fds, O_CLOEXEC);
      if (r < 0)
        return r;
      fake_fd_close (k, p, fds[1]);
    }
  p->seccomp_filters++;
  p->seccomp_last_len = prog->len;
  p->seccomp_last_flags = flags;
  return (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? fds[0] : 0;
}

int
fake_do_keyctl_join_session (const char *name)
{
  struct fake_proc *p = fake_self (fake_current_kernel);

  free (p->session_keyring);
  p->session_keyring = fake_xstrdup (name ? name : "_ses");
  return 1000 + p->pid;
}

int
fake_do_personality (unsigned long persona)
{
  struct fake_proc *p = fake_self (fake_current_kernel);
  unsigned long old = p->persona;

  if (persona != 0xffffffffUL)
    p->persona = persona;
  return (int)old;
}
