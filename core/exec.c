/* exec.c: `focker exec`, a new process in a running container (see exec.h).
 *
 * Three processes, so that the new one ends up in the container's pid namespace as a child
 * of the runtime (which waits for it):
 *   runtime (P)  clones
 *   joiner  (C)  non-dumpable; moves itself into the container's v1 cgroups (tasks files P
 *                opened); inherited fds close-on-exec; waits until P has placed it in the
 *                v2 cgroup and set the rlimits; joins the namespaces of the
 *                container's init that differ from ours (setns on a pidfd with every flag at
 *                once on 5.8+, which orders the user namespace first itself; else each
 *                /proc/PID/ns file, user first, all opened before the first setns); clones
 *                the process with CLONE_PARENT, reports its pid and exits.  setns(PID) only
 *                affects children, hence this second clone;
 *   process (G)  a child of P in every namespace of the container; waits until P has
 *                recorded its pid (so that a failing P can always kill it: G exits on EOF),
 *                then keyring, terminal, oomScoreAdj and the init's own confinement steps
 *                (init_become: credentials between the capability steps, seccomp last), and
 *                execve.  Its report pipe is close-on-exec: EOF tells P that exec happened,
 *                a message is the reason it did not.
 * Nothing of P's reaches G: the joiner marks every fd above the preserved ones close-on-exec
 * and G stays non-dumpable (nobody in the container can ptrace it or read its memory) until
 * execve. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <jansson.h>
#include "core/cgroup.h"
#include "core/cleanup.h"
#include "core/confine.h"
#include "core/container_internal.h"
#include "core/exec.h"
#include "core/fsutil.h"
#include "core/init.h"
#include "core/log.h"
#include "core/passwd.h"
#include "core/strv.h"
#include "core/sync.h"
#include "core/undo.h"

#define EXEC_MAX_NS 8
#define PROCESS_FILE_MAX (1 << 20)

/* The namespaces in join order: user first, it owns the others. */
static const struct
{
  const char *name;
  int flag;
} ns_order[EXEC_MAX_NS] = {
  { "user", CLONE_NEWUSER },     { "mnt", CLONE_NEWNS },    { "uts", CLONE_NEWUTS },
  { "ipc", CLONE_NEWIPC },       { "net", CLONE_NEWNET },   { "pid", CLONE_NEWPID },
  { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

struct exec_ctx
{
  const struct spec *spec; /* the container's, with `process` the exec'd one */
  const struct confine *confine;
  const char *id;
  const char *state_json;
  pid_t init_pid;
  unsigned long long init_starttime;
  int init_pidfd; /* or -1 (kernels before 5.3) */
  int ns_flags;   /* the init's namespaces that differ from ours */
  int to_child[2], from_child[2];
  int console_fd;
  int preserve_fds;
  const uint8_t *preserve_passed; /* see init_fds_passed */
  const struct cgroup *place_cg;  /* v1 cgroups the joiner moves itself into first, or NULL */
  int *place_fds;                 /* their `tasks`, opened by the runtime */
};

/* ---- the process ---- */

static int
env_set (char ***env, const char *kv, struct focker_err **err)
{
  const char *eq = strchr (kv, '=');
  size_t n;

  if (eq == NULL || eq == kv)
    return focker_fail (err, -EINVAL, "--env: \"%s\" is not KEY=VALUE", kv);
  n = (size_t)(eq - kv) + 1;
  for (size_t i = 0; *env && (*env)[i]; i++)
    if (strncmp ((*env)[i], kv, n) == 0)
      {
        free ((*env)[i]);
        (*env)[i] = xstrdup (kv);
        return 0;
      }
  strv_push (env, kv);
  return 0;
}

/* runc's --cap: added to the bounding, effective and permitted sets, and to the ambient set
 * when the process has inheritable capabilities (ambient needs them). */
static int
caps_add (struct spec_process *p, char *const *caps, struct focker_err **err)
{
  for (size_t i = 0; caps && caps[i]; i++)
    {
      if (spec_cap_from_name (caps[i]) < 0)
        return focker_fail (err, -EINVAL, "--cap: unknown capability \"%s\"", caps[i]);
      if (!p->has_capabilities)
        continue; /* no capabilities object: the process keeps every capability */
      strv_push (&p->caps.bounding, caps[i]);
      strv_push (&p->caps.effective, caps[i]);
      strv_push (&p->caps.permitted, caps[i]);
      if (p->caps.inheritable && p->caps.inheritable[0])
        strv_push (&p->caps.ambient, caps[i]);
    }
  return 0;
}

static int
apply_overrides (struct spec_process *p, const struct exec_opts *o, struct focker_err **err)
{
  int r;

  if (o->args == NULL || o->args[0] == NULL)
    return focker_fail (err, -EINVAL, "exec: no command given (ARGS or --process)");
  strv_free (p->args);
  p->args = strv_copy (o->args);
  p->terminal = o->tty;
  if (o->cwd)
    {
      if (o->cwd[0] != '/')
        return focker_fail (err, -EINVAL, "--cwd: %s is not an absolute path", o->cwd);
      free (p->cwd);
      p->cwd = xstrdup (o->cwd);
    }
  for (size_t i = 0; o->env && o->env[i]; i++)
    if ((r = env_set (&p->env, o->env[i], err)) < 0)
      return r;
  if (o->has_uid)
    p->uid = o->uid;
  if (o->has_gid)
    p->gid = o->gid;
  if (o->n_additional_gids)
    {
      free (p->additional_gids);
      p->additional_gids = xcalloc (o->n_additional_gids, sizeof (gid_t));
      memcpy (p->additional_gids, o->additional_gids, o->n_additional_gids * sizeof (gid_t));
      p->n_additional_gids = o->n_additional_gids;
    }
  r = caps_add (p, o->caps, err);
  if (r < 0)
    return r;
  if (o->no_new_privs)
    p->no_new_privileges = true;
  if (o->apparmor)
    {
      free (p->apparmor_profile);
      p->apparmor_profile = xstrdup (o->apparmor);
    }
  if (o->process_label)
    {
      free (p->selinux_label);
      p->selinux_label = xstrdup (o->process_label);
    }
  return 0;
}

int
exec_process_build (struct spec_process **out, const struct spec_process *base,
                    const struct exec_opts *o, struct focker_err **err)
{
  struct spec_process *p = NULL;
  int r;

  if (o->process_path)
    {
      _cleanup_free_ char *text = NULL;
      size_t len = 0;
      r = read_file_at (&text, &len, AT_FDCWD, o->process_path, PROCESS_FILE_MAX, err);
      if (r < 0)
        return focker_err_prefix (err, "--process");
      r = spec_parse_process (&p, text, len, o->process_path, err);
      if (r < 0)
        return r;
      if (p->args == NULL || p->args[0] == NULL)
        {
          spec_process_free (p);
          return focker_fail (err, -EINVAL, "%s: args: must be a non-empty array of strings",
                              o->process_path);
        }
      p->terminal |= o->tty;
      *out = p;
      return 0;
    }
  if (base == NULL)
    return focker_fail (err, -EINVAL, "config.json: process: missing, and no --process given");
  p = spec_process_dup (base);
  r = apply_overrides (p, o, err);
  if (r < 0)
    {
      spec_process_free (p);
      return r;
    }
  *out = p;
  return 0;
}

/* ---- the child side ---- */

static int
join_by_files (struct exec_ctx *c, struct focker_err **err)
{
  int fds[EXEC_MAX_NS], types[EXEC_MAX_NS], n = 0, r = 0;
  unsigned long long start = 0;

  /* every file opened before the first setns: after joining the mount namespace,
   * /proc/PID would be looked up in the container's /proc */
  for (int i = 0; i < EXEC_MAX_NS && r >= 0; i++)
    {
      char path[64];
      if (!(c->ns_flags & ns_order[i].flag))
        continue;
      snprintf (path, sizeof path, "/proc/%d/ns/%s", (int)c->init_pid, ns_order[i].name);
      fds[n] = sys_openat (AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
      if (fds[n] < 0)
        r = focker_fail (err, fds[n], "open %s", path);
      else
        types[n++] = ns_order[i].flag;
    }
  /* the files were the init's unless its pid was reused meanwhile */
  if (r >= 0 && (sys_proc_starttime (c->init_pid, &start, NULL) < 0 || start != c->init_starttime))
    r = focker_fail (err, -ESRCH, "container %s: init %d exited", c->id, (int)c->init_pid);
  for (int i = 0; i < n; i++)
    {
      if (r >= 0 && (r = sys_setns (fds[i], types[i])) < 0)
        focker_fail (err, r, "join %s namespace", spec_namespace_name (types[i]));
      sys_close (fds[i]);
    }
  return r;
}

static int
join_namespaces (struct exec_ctx *c, struct focker_err **err)
{
  if (c->ns_flags == 0)
    return 0;
  if (c->init_pidfd >= 0)
    {
      /* 5.8+: one call, all or nothing, the kernel orders the user namespace first */
      int r = sys_setns (c->init_pidfd, c->ns_flags);
      if (r != -EINVAL)
        return r < 0 ? focker_fail (err, r, "join the namespaces of init %d", (int)c->init_pid) : 0;
      /* older kernels: a pidfd is not a namespace file */
    }
  return join_by_files (c, err);
}

/* A new session keyring, never the runtime's: the container's own when we may join it
 * (by name), else an anonymous one. */
static int
exec_keyring (const struct exec_ctx *c, struct focker_err **err)
{
  int r = sys_keyctl_join_session (c->id);

  if (r == -EACCES || r == -EPERM)
    r = sys_keyctl_join_session (NULL);
  if (r == -ENOSYS)
    return 0;
  return r < 0 ? focker_fail (err, r, "join a session keyring") : 0;
}

static int
process_become (struct exec_ctx *c, struct focker_err **err)
{
  const struct spec_process *p = c->spec->process;
  _cleanup_free_ char *exe = NULL;
  struct sync_msg m;
  int r;

  /* P has recorded our pid: from now on its failure path can kill us */
  r = sync_expect (c->to_child[0], SYNC_GO, &m, err);
  if (r < 0)
    return r;
  sys_close (c->to_child[0]);
  c->to_child[0] = -1;
  r = exec_keyring (c, err);
  if (r >= 0)
    r = confine_session (c->spec, c->id, true, err); /* personality */
  if (r >= 0 && p->terminal)
    r = init_terminal (p, &c->console_fd, err);
  if (r >= 0)
    r = init_oom_score_adj (p, err);
  if (r >= 0)
    r = init_find_executable (&exe, p->args[0], p->env, err);
  if (r < 0)
    return r;
  return init_become (p, c->confine, exe, c->state_json, err);
}

static int
process_main (void *arg)
{
  /* our own copy, taken before we first block: the joiner's is gone soon */
  struct exec_ctx ctx = *(struct exec_ctx *)arg;
  struct exec_ctx *c = &ctx;
  _cleanup_err_ struct focker_err *err = NULL;
  int r = process_become (c, &err);

  /* only reached on failure */
  sync_send (c->from_child[1], SYNC_ERROR, r, err ? err->msg : "exec failed");
  return 127;
}

static int
joiner_main (void *arg)
{
  /* our own copy (on the fake kernel memory is shared): the process we clone copies it
   * again before it first blocks */
  struct exec_ctx ctx = *(struct exec_ctx *)arg;
  struct exec_ctx *c = &ctx;
  _cleanup_err_ struct focker_err *err = NULL;
  /* CLONE_PARENT: the process is the runtime's child, and inherits our exit signal
   * (clone3 refuses one of its own with CLONE_PARENT) */
  struct sys_clone_args ca
      = { .flags = CLONE_PARENT, .exit_signal = 0, .fn = process_main, .arg = c };
  struct sync_msg m;
  pid_t pid;
  int r;

  sys_close (c->to_child[1]);
  sys_close (c->from_child[0]);
  /* nobody in the container may ptrace us or read our memory while we hold the runtime's
   * state; the flag is copied to the process we clone and lasts until its execve */
  sys_prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  r = c->place_cg ? cgroup_self_place (c->place_cg, c->place_fds, &err) : 0;
  if (r >= 0 && (r = init_fds_hygiene (c->preserve_fds, c->preserve_passed)) < 0)
    focker_fail (&err, r, "close inherited fds");
  if (r >= 0)
    r = sync_expect (c->to_child[0], SYNC_GO, &m, &err);
  if (r >= 0)
    r = join_namespaces (c, &err);
  if (r >= 0 && (pid = sys_clone (&ca)) < 0)
    r = focker_fail (&err, pid, "clone the process");
  if (r < 0)
    {
      sync_send (c->from_child[1], SYNC_ERROR, r, err->msg);
      return 1;
    }
  r = sync_send (c->from_child[1], SYNC_CREATED, (int)pid, NULL);
  if (r < 0)
    {
      /* the runtime cannot learn its pid, so cannot kill it: do it for it (the process
       * also holds the report pipe the runtime reads: it would wait forever) */
      sys_kill (pid, SIGKILL);
      return 1;
    }
  return 0;
}

/* ---- the runtime side ---- */

/* The init's namespaces that are not ours.  A kind the kernel lacks (no time namespaces
 * before 5.6) is skipped. */
static int
differing_namespaces (pid_t pid, const char *id, struct focker_err **err)
{
  int flags = 0;

  for (int i = 0; i < EXEC_MAX_NS; i++)
    {
      char theirs[64], ours[64];
      int r = container_read_ns_link (pid, ns_order[i].name, theirs, sizeof theirs);
      if (r == -ENOENT && strcmp (ns_order[i].name, "time") == 0)
        continue;
      if (r < 0)
        return focker_fail (err, r, "container %s: read /proc/%d/ns/%s", id, (int)pid,
                            ns_order[i].name);
      r = container_read_ns_link (0, ns_order[i].name, ours, sizeof ours);
      if (r < 0)
        return focker_fail (err, r, "read /proc/self/ns/%s", ns_order[i].name);
      if (strcmp (theirs, ours) != 0)
        flags |= ns_order[i].flag;
    }
  return flags;
}

/* Does the v1 hierarchy carrying `ctls` ("cpu,cpuacct") carry one of `want` ("cpu,memory")? */
static bool
ctls_overlap (const char *ctls, const char *want, size_t want_len)
{
  for (const char *w = want; w < want + want_len;)
    {
      size_t n = strcspn (w, ",");
      if (n > (size_t)(want + want_len - w))
        n = (size_t)(want + want_len - w);
      for (const char *c = ctls; *c;)
        {
          size_t m = strcspn (c, ",");
          if (m == n && n > 0 && strncmp (c, w, n) == 0)
            return true;
          c += m + (c[m] == ',');
        }
      w += n + 1;
    }
  return false;
}

/* The sub-cgroup the --cgroup values pick for directory `d` ([CTL[,CTL]:]PATH, runc's
 * form): one naming a controller of d's hierarchy first, else the one without controllers
 * (the only kind that applies to the v2 directory), else NULL (d itself). */
static const char *
sub_for_dir (const struct cgroup_dir *d, char *const *subs)
{
  const char *plain = NULL;

  for (size_t i = 0; subs && subs[i]; i++)
    {
      const char *colon = strchr (subs[i], ':');
      if (colon == NULL || colon == subs[i])
        plain = colon ? colon + 1 : subs[i];
      else if (*d->ctls && ctls_overlap (d->ctls, subs[i], (size_t)(colon - subs[i])))
        return colon + 1;
    }
  return plain;
}

/* The container's cgroup, or the existing sub-cgroups --cgroup picks (see above). */
static int
exec_cgroup (struct cgroup **out, const struct container_state *st, char *const *subs,
             struct focker_err **err)
{
  _cleanup_cgroup_ struct cgroup *cg = NULL;

  *out = NULL;
  for (size_t i = 0; subs && subs[i]; i++)
    {
      const char *colon = strchr (subs[i], ':');
      const char *path = colon ? colon + 1 : subs[i];
      if (path[0] == '\0' || path[0] == '/' || strstr (path, ".."))
        return focker_fail (err, -EINVAL,
                            "--cgroup %s: must be a relative path below the container's cgroup",
                            subs[i]);
    }
  if (st->cgroup == NULL || cgroup_from_json (&cg, st->cgroup) < 0 || cg->n == 0)
    {
      if (subs && subs[0])
        return focker_fail (err, -ENOENT, "--cgroup %s: the container has no cgroup", subs[0]);
      return 0;
    }
  for (size_t i = 0; i < cg->n; i++)
    {
      const char *sub = sub_for_dir (&cg->dirs[i], subs);
      struct stat stb;
      char *path;
      int r;
      if (sub == NULL)
        continue;
      path = path_join (cg->dirs[i].path, sub);
      free (cg->dirs[i].path);
      cg->dirs[i].path = path;
      r = sys_fstatat (AT_FDCWD, path, &stb, 0);
      if (r < 0 || !S_ISDIR (stb.st_mode))
        return focker_fail (err, r < 0 ? r : -ENOTDIR, "--cgroup %s: %s", sub, path);
    }
  *out = TAKE_PTR (cg);
  return 0;
}

struct exec_run
{
  struct exec_ctx ctx;
  struct spec *spec;
  struct spec view; /* spec with the exec'd process */
  struct spec_process *process;
  struct confine *confine;
  struct cgroup *cg;
  char *state_json;
  pid_t joiner, pid;
  uint8_t *passed_fds; /* init_fds_passed, before anything was opened */
};

static void
exec_run_release (struct exec_run *x)
{
  int *fds[] = { &x->ctx.to_child[0],   &x->ctx.to_child[1], &x->ctx.from_child[0],
                 &x->ctx.from_child[1], &x->ctx.console_fd,  &x->ctx.init_pidfd };
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if (*fds[i] >= 0)
      {
        sys_close (*fds[i]);
        *fds[i] = -1;
      }
  confine_free (x->confine);
  x->confine = NULL;
  spec_process_free (x->process);
  x->process = NULL;
  spec_free (x->spec);
  x->spec = NULL;
  cgroup_free (x->cg);
  x->cg = NULL;
  free (x->state_json);
  x->state_json = NULL;
}

/* docker's -u: the ids come from the container's own /etc/passwd and /etc/group, read as the
 * container sees them: through its init's root, /proc/PID/root, which is the root of the
 * init's mount namespace (a volume bound over /etc/passwd is there, and nowhere in the
 * state's rootfs path), never the host's files.  The files are then opened below that root
 * with RESOLVE_IN_ROOT (user_resolve), so no symlink in the container leads out of it.  The
 * init's start time is compared after the open: the root was its own, not that of a
 * process that took its pid. */
static int
exec_resolve_user (struct spec_process *p, const char *spec, const struct container_state *st,
                   struct focker_err **err)
{
  _cleanup_close_ int rootfd = -1;
  struct user_ids ids;
  char path[64];
  int r;

  snprintf (path, sizeof path, "/proc/%d/root", (int)st->pid);
  rootfd = sys_openat (AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (rootfd < 0 && rootfd != -ENOENT && rootfd != -ESRCH)
    return focker_fail (err, rootfd, "open the container's root %s", path);
  if (rootfd < 0 || !state_init_alive (st))
    return focker_fail (err, -ESRCH, "container %s is not running: its init exited", st->id);
  r = user_resolve (&ids, spec, rootfd, err);
  if (r < 0)
    return r;
  p->uid = ids.uid;
  p->gid = ids.gid;
  free (p->additional_gids);
  p->additional_gids = TAKE_PTR (ids.sgids);
  p->n_additional_gids = ids.n_sgids;
  return 0;
}

/* Everything decided and opened before the clone. */
static int
exec_prepare (struct exec_run *x, const struct exec_opts *o, const struct container_state *st,
              struct focker_err **err)
{
  int min = 3 + o->preserve_fds, r;
  int *fds[] = { &x->ctx.to_child[0],   &x->ctx.to_child[1], &x->ctx.from_child[0],
                 &x->ctx.from_child[1], &x->ctx.console_fd,  &x->ctx.init_pidfd };

  x->spec = container_state_spec (st);
  if (x->spec == NULL)
    return focker_fail (err, -EINVAL, "container %s: state.json holds no readable config", o->id);
  r = exec_process_build (&x->process, x->spec->process, o, err);
  if (r < 0)
    return r;
  if (o->user_spec && !o->process_path
      && (r = exec_resolve_user (x->process, o->user_spec, st, err)) < 0)
    return r;
  if (x->process->terminal && o->console_socket == NULL)
    return focker_fail (err, -EINVAL, "process.terminal is true but no --console-socket was given");
  x->view = *x->spec;
  x->view.process = x->process;
  r = confine_prepare (&x->confine, &x->view, err);
  if (r < 0)
    return r;
  r = exec_cgroup (&x->cg, st, o->cgroups, err);
  if (r < 0)
    return r;
  /* the pidfd pins the init: the namespaces we read and join are its own */
  r = sys_pidfd_open (st->pid, 0);
  if (r < 0 && r != -ENOSYS) /* ENOSYS: before 5.3, the namespaces by /proc/PID/ns only */
    return focker_fail (err, r, "container %s: open init %d", o->id, (int)st->pid);
  x->ctx.init_pidfd = r < 0 ? -1 : r;
  if (!state_init_alive (st))
    return focker_fail (err, -ESRCH, "container %s is not running: its init exited", o->id);
  r = differing_namespaces (st->pid, o->id, err);
  if (r < 0)
    return r;
  x->ctx.ns_flags = r;
  if (x->process->terminal)
    {
      x->ctx.console_fd = sys_unix_connect (AT_FDCWD, o->console_socket);
      if (x->ctx.console_fd < 0)
        return focker_fail (err, x->ctx.console_fd, "console socket %s: connect",
                            o->console_socket);
    }
  if ((r = sys_pipe2 (x->ctx.to_child, O_CLOEXEC)) < 0
      || (r = sys_pipe2 (x->ctx.from_child, O_CLOEXEC)) < 0)
    return focker_fail (err, r, "create sync pipes");
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if ((*fds[i] = container_fd_above (*fds[i], min)) < 0 && *fds[i] != -1)
      return focker_fail (err, *fds[i], "move fd above --preserve-fds range");
  x->state_json = state_to_json (st, STATUS_RUNNING, false);
  x->ctx.spec = &x->view;
  x->ctx.confine = x->confine;
  x->ctx.id = o->id;
  x->ctx.state_json = x->state_json;
  x->ctx.init_pid = st->pid;
  x->ctx.init_starttime = st->starttime;
  x->ctx.preserve_fds = o->preserve_fds;
  return 0;
}

static struct undo_child *
push_kill (struct undo *undo, pid_t pid)
{
  struct undo_child *u = xmalloc (sizeof *u);
  u->pid = pid;
  undo_push (undo, container_undo_kill_child, u);
  return u;
}

/* Something on our side failed before the joiner was told to go (`r`, *err): the joiner may
 * have failed first (its own move into a v1 cgroup, say) and exited, which is why; its
 * message then says what went wrong.  Closing our end ends its wait for GO otherwise: it
 * then reports -ECHILD, and our own error stands. */
static int
joiner_failed (struct exec_run *x, int r, struct focker_err **err)
{
  struct focker_err *joiner_err = NULL;
  struct sync_msg m;

  sys_close (x->ctx.to_child[1]);
  x->ctx.to_child[1] = -1;
  if (sync_expect (x->ctx.from_child[0], SYNC_CREATED, &m, &joiner_err) < 0
      && joiner_err->code != -ECHILD)
    {
      focker_err_free (*err);
      *err = joiner_err;
      return joiner_err->code;
    }
  focker_err_free (joiner_err);
  return r;
}

/* Clone the joiner, place it, let it join and clone the process, then let that exec. */
static int
exec_spawn (struct exec_run *x, struct undo *undo, struct focker_err **err)
{
  struct sys_clone_args ca = { .exit_signal = SIGCHLD, .fn = joiner_main, .arg = &x->ctx };
  struct undo_child *joiner_undo;
  struct sync_msg m;
  siginfo_t info;
  int r;

  if (x->cg)
    {
      /* the joiner moves itself into the v1 cgroups (see cgroup_self_place_open) */
      r = cgroup_self_place_open (x->cg, &x->ctx.place_fds, err);
      if (r < 0)
        return r;
      x->ctx.place_cg = x->cg;
    }
  x->joiner = sys_clone (&ca);
  cgroup_self_place_close (x->cg, x->ctx.place_fds);
  x->ctx.place_fds = NULL;
  if (x->joiner < 0)
    return focker_fail (err, x->joiner, "clone");
  joiner_undo = push_kill (undo, x->joiner);
  sys_close (x->ctx.to_child[0]);
  sys_close (x->ctx.from_child[1]);
  x->ctx.to_child[0] = x->ctx.from_child[1] = -1;
  r = x->cg ? cgroup_enter (x->cg, x->joiner, CGROUP_SKIP_V1, err) : 0;
  if (r >= 0)
    r = container_set_rlimits (x->process, x->joiner, err);
  if (r >= 0 && (r = sync_send (x->ctx.to_child[1], SYNC_GO, 0, NULL)) < 0)
    focker_fail (err, r, "signal the exec process");
  if (r < 0)
    return joiner_failed (x, r, err);
  r = sync_expect (x->ctx.from_child[0], SYNC_CREATED, &m, err);
  if (r < 0)
    return r;
  x->pid = (pid_t)m.code;
  push_kill (undo, x->pid);
  /* the joiner is done: reap it (it is not the process anyone waits for) */
  if (sys_waitid (P_PID, (id_t)x->joiner, &info, WEXITED) >= 0)
    joiner_undo->pid = 0; /* reaped: its pid may be another's now */
  r = sync_send (x->ctx.to_child[1], SYNC_GO, 0, NULL);
  if (r < 0)
    return focker_fail (err, r, "signal the exec process");
  /* EOF: the report pipe closed on execve; a message: why exec did not happen */
  r = sync_recv (x->ctx.from_child[0], &m);
  if (r == -EPIPE)
    return 0;
  if (r < 0)
    return focker_fail (err, r, "read from the exec process");
  if (m.type == SYNC_ERROR)
    return focker_fail (err, m.code < 0 ? m.code : -EIO, "%s", m.payload);
  return focker_fail (err, -EPROTO, "exec process: unexpected message %d", m.type);
}

static int
check_running (const struct container_state *st, const char *id, struct focker_err **err)
{
  enum container_status status = state_status (st);

  if (status == STATUS_PAUSED)
    return focker_fail (err, -EBUSY, "container %s is paused: resume it before exec", id);
  if (status != STATUS_RUNNING)
    return focker_fail (err, -EINVAL, "container %s is not running: %s", id,
                        state_status_name (status));
  return 0;
}

int
container_exec (const struct exec_opts *o, pending_signal_fn pending, pid_t *pid, int *exit_status,
                struct focker_err **err)
{
  struct exec_run x = {
    .ctx = { .init_pidfd = -1, .to_child = { -1, -1 }, .from_child = { -1, -1 }, .console_fd = -1 }
  };
  _cleanup_state_ struct container_state *st = NULL;
  struct undo undo = { 0 };
  struct state_ref ref = STATE_REF_NONE;
  int r;

  *exit_status = 0;
  x.passed_fds = init_fds_passed (o->preserve_fds);
  x.ctx.preserve_passed = x.passed_fds;
  r = container_open_locked (&ref, &st, o->root, o->id, err);
  if (r >= 0)
    r = check_running (st, o->id, err);
  if (r < 0)
    {
      state_ref_close (&ref);
      free (x.passed_fds);
      return r;
    }
  r = exec_prepare (&x, o, st, err);
  if (r >= 0)
    r = exec_spawn (&x, &undo, err);
  if (r >= 0 && o->pid_file)
    r = container_write_pid_file (o->pid_file, x.pid, err);
  /* the container's lock is not held while the process runs */
  state_ref_close (&ref);
  if (r < 0)
    {
      /* close our ends first: a child blocked on a pipe sees EOF */
      exec_run_release (&x);
      undo_run (&undo);
      free (x.passed_fds); /* after the undo: the joiner may be reading it (fake kernel) */
      return focker_err_prefix (err, "exec in %s", o->id);
    }
  undo_drop (&undo);
  exec_run_release (&x);
  free (x.passed_fds);
  if (pid)
    *pid = x.pid;
  if (o->detach)
    return 0;
  return container_wait_pid (x.pid, pending, exit_status, err);
}
