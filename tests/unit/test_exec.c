/* test_exec.c: `focker exec` on the fake kernel.
 *
 * A container is created and started (as separate focker commands), then exec runs in a
 * fresh command process.  Assertions are on the kernel's state: the new process's
 * namespaces, cgroup, credentials and confinement against the init's; the journal only for
 * order (the user namespace joined first, seccomp the last call before execve).  The fault
 * loop fails every call of exec once and from then on, and checks that nothing is left: no
 * process but the container's init, no fd, no pid file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/container.h"
#include "core/exec.h"
#include "core/spec.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"

#define ROOT FX_ROOT
#define BUNDLE FX_BUNDLE

static const char *const base_config
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\",\"A=1\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}%s},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
      "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\"}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\"},"
      "{\"type\":\"ipc\"},{\"type\":\"network\"},{\"type\":\"cgroup\"}%s]%s}}";

#define USERNS_NS ",{\"type\":\"user\"}"
#define USERNS_MAPS                                                                                \
  ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"                       \
  "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]"
#define CONFINED_PROCESS                                                                           \
  ",\"noNewPrivileges\":true,\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],"         \
  "\"effective\":[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\"]}"
#define SECCOMP                                                                                    \
  ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"ptrace\"],"      \
  "\"action\":\"SCMP_ACT_ERRNO\"}]}"

#define assert_ok(call, e) FX_OK (w, call, e)

/* A started container c1; the current process is a fresh command. */
static struct fx_world *
world_new (const struct fake_personality *p, const char *process, const char *ns,
           const char *linux_extra)
{
  static const struct create_opts opts = { .root = ROOT, .id = "c1", .bundle = BUNDLE };
  struct fx_world *w = calloc (1, sizeof *w);
  struct focker_err *err = NULL;
  char config[4096];

  snprintf (config, sizeof config, base_config, process, ns, linux_extra);
  fx_world_init (w, p, config);
  assert_int_equal (fake_write_file (w->k, BUNDLE "/rootfs/bin/ls", "ELF", 0755), 0);
  assert_int_equal (fake_write_file (w->k, BUNDLE "/rootfs/etc/passwd",
                                     "root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n", 0644),
                    0);
  assert_int_equal (
      fake_write_file (w->k, BUNDLE "/rootfs/etc/group", "app:x:1001:\nstaff:x:50:app\n", 0644), 0);
  assert_ok (container_create (&opts, &w->init, &err), err);
  fx_next_command (w);
  assert_ok (container_start (ROOT, "c1", &err), err);
  fx_next_command (w);
  return w;
}

static void
world_free (struct fx_world *w)
{
  fx_world_fini (w);
  free (w);
}

static char *const ls_args[] = { "ls", "-l", NULL };

static struct exec_opts
detached (void)
{
  return (struct exec_opts){ .root = ROOT, .id = "c1", .args = ls_args, .detach = true };
}

static pid_t
exec_ok (struct fx_world *w, const struct exec_opts *o)
{
  struct focker_err *err = NULL;
  int status = -1;
  pid_t pid = 0;

  (void)w;
  assert_ok (container_exec (o, NULL, &pid, &status, &err), err);
  assert_null (err);
  assert_int_equal (status, 0);
  assert_true (pid > 0);
  return pid;
}

static void
exec_joins_every_namespace_and_the_cgroup (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  struct exec_opts o = detached ();
  size_t mark = fake_journal_len (w->k);
  pid_t pid = exec_ok (w, &o);
  long nondumpable = -1, join = fake_journal_find (w->k, SYS_ID_setns, mark);
  struct fake_proc *p = fake_proc (w->k, pid), *init = fake_proc (w->k, w->init);

  (void)state;
  assert_true (p->execed);
  assert_string_equal (p->exec_path, "/bin/ls");
  assert_string_equal (p->exec_argv[1], "-l");
  assert_string_equal (p->exec_envp[1], "A=1");
  for (int t = 0; t < FAKE_NS_COUNT; t++)
    if (!fake_same_ns (w->k, pid, w->init, (enum fake_ns_type)t))
      fail_msg ("namespace type %d differs from the init's", t);
  assert_false (fake_same_ns (w->k, pid, w->cli, FAKE_NS_PID));
  assert_true (p->ns_pid > 1);
  assert_string_equal (p->root_path, init->root_path);
  assert_string_equal (p->cgroup_path, init->cgroup_path);
  /* a child of the runtime (CLONE_PARENT), seeing only stdio */
  assert_int_equal (p->ppid, w->cli);
  assert_int_equal (fake_open_fds (w->k, pid), 3);
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
  /* non-dumpable before it joins anything (copied to the process until its execve) */
  for (size_t i = mark; i < fake_journal_len (w->k) && nondumpable < 0; i++)
    {
      const struct fake_call *c = fake_journal_at (w->k, i);
      if (c->id == SYS_ID_prctl && strcmp (c->args, "4 0 0 0 0") == 0)
        nondumpable = (long)i;
    }
  assert_true (nondumpable >= 0 && join > nondumpable);
  /* the joiner was reaped: only the init and the new process are left */
  assert_int_equal (fx_live_processes (w), 2);
  world_free (w);
}

/* Index of the first setns journaled by a process other than `not` from `from`, or -1. */
static long
find_setns (struct fx_world *w, size_t from)
{
  return fake_journal_find (w->k, SYS_ID_setns, from);
}

static void
user_namespace_is_joined_first_with_a_pidfd (void **state)
{
  struct fx_world *w = world_new (NULL, "", USERNS_NS, USERNS_MAPS);
  size_t mark = fake_journal_len (w->k);
  struct exec_opts o = detached ();
  char want[32];
  pid_t pid = exec_ok (w, &o);
  long i = find_setns (w, mark);

  (void)state;
  /* one call with every flag, user included: the kernel orders it first */
  assert_true (i >= 0);
  snprintf (want, sizeof want, " %d",
            CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID
                | CLONE_NEWCGROUP);
  assert_non_null (strstr (fake_journal_at (w->k, (size_t)i)->args, want));
  assert_int_equal (find_setns (w, (size_t)i + 1), -1);
  assert_true (fake_same_ns (w->k, pid, w->init, FAKE_NS_USER));
  assert_true (fake_same_ns (w->k, pid, w->init, FAKE_NS_MNT));
  world_free (w);
}

static void
old_kernels_join_through_proc_files_user_first (void **state)
{
  struct fake_personality old = { .major = 5, .minor = 4, .cgroup = FAKE_CGROUP_V2 };
  struct fx_world *w = world_new (&old, "", USERNS_NS, USERNS_MAPS);
  size_t mark = fake_journal_len (w->k);
  struct exec_opts o = detached ();
  pid_t pid = exec_ok (w, &o);
  long first, i;
  int joins = 0;
  char user[16];

  (void)state;
  /* the pidfd is tried, refused (EINVAL before 5.8), then each file, user first */
  first = find_setns (w, mark);
  assert_true (first >= 0);
  assert_int_equal (fake_journal_at (w->k, (size_t)first)->result, -EINVAL);
  i = find_setns (w, (size_t)first + 1);
  snprintf (user, sizeof user, " %d", CLONE_NEWUSER);
  assert_non_null (strstr (fake_journal_at (w->k, (size_t)i)->args, user));
  for (; i >= 0; i = find_setns (w, (size_t)i + 1))
    {
      assert_int_equal (fake_journal_at (w->k, (size_t)i)->result, 0);
      joins++;
    }
  assert_int_equal (joins, 7);
  for (int t = 0; t < FAKE_NS_COUNT; t++)
    assert_true (fake_same_ns (w->k, pid, w->init, (enum fake_ns_type)t));
  world_free (w);
}

/* before 5.3 there is no pidfd at all: the /proc files only */
static void
kernels_without_pidfd_join_through_proc_files (void **state)
{
  struct fake_personality old = { .major = 5, .minor = 2, .cgroup = FAKE_CGROUP_V1 };
  struct fx_world *w = world_new (&old, "", USERNS_NS, USERNS_MAPS);
  struct exec_opts o = detached ();
  pid_t pid = exec_ok (w, &o);

  (void)state;
  for (int t = 0; t < FAKE_NS_COUNT; t++)
    assert_true (fake_same_ns (w->k, pid, w->init, (enum fake_ns_type)t));
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
  world_free (w);
}

static void
exec_gets_the_container_confinement_seccomp_last (void **state)
{
  struct fx_world *w = world_new (NULL, CONFINED_PROCESS, "", SECCOMP);
  struct exec_opts o = detached ();
  pid_t pid = exec_ok (w, &o);
  struct fake_proc *p = fake_proc (w->k, pid), *init = fake_proc (w->k, w->init);
  long exec = -1, last = -1;

  (void)state;
  assert_true (p->no_new_privs);
  assert_int_equal (p->cap_eff, init->cap_eff);
  assert_int_equal (p->cap_perm, init->cap_perm);
  assert_int_equal (p->cap_bset, init->cap_bset);
  assert_int_equal (p->seccomp_filters, 1);
  assert_int_equal (p->seccomp_last_len, init->seccomp_last_len);
  assert_false (p->dumpable && !p->execed);
  /* seccomp is the last thing the process did before execve */
  for (size_t i = 0; i < fake_journal_len (w->k); i++)
    {
      const struct fake_call *c = fake_journal_at (w->k, i);
      if (c->pid != pid)
        continue;
      if (c->id == SYS_ID_execve)
        exec = (long)i;
      else if (exec < 0)
        last = (long)i;
    }
  assert_true (exec > 0);
  assert_int_equal (fake_journal_at (w->k, (size_t)last)->id, SYS_ID_seccomp_load);
  world_free (w);
}

static void
flags_override_the_container_process (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  static char *const env[] = { "A=2", "B=3", NULL };
  static const gid_t gids[] = { 10, 20 };
  struct exec_opts o = detached ();
  struct fake_proc *p;
  pid_t pid;

  (void)state;
  assert_int_equal (fake_mkdir_p (w->k, BUNDLE "/rootfs/tmp/work", 0755), 0);
  o.env = env;
  o.cwd = "/tmp/work";
  o.has_uid = o.has_gid = true;
  o.uid = 1000;
  o.gid = 1001;
  o.additional_gids = gids;
  o.n_additional_gids = 2;
  o.no_new_privs = true;
  pid = exec_ok (w, &o);
  p = fake_proc (w->k, pid);
  assert_string_equal (p->exec_envp[0], "PATH=/bin");
  assert_string_equal (p->exec_envp[1], "A=2");
  assert_string_equal (p->exec_envp[2], "B=3");
  assert_null (p->exec_envp[3]);
  assert_string_equal (p->cwd_path, BUNDLE "/rootfs/tmp/work");
  assert_int_equal (p->uid, 1000);
  assert_int_equal (p->euid, 1000);
  assert_int_equal (p->gid, 1001);
  assert_int_equal (p->n_groups, 2);
  assert_int_equal (p->groups[1], 20);
  assert_true (p->no_new_privs);
  world_free (w);
}

/* docker's -u on a user container: names from the container's /etc/passwd and /etc/group
 * (the host's list no "app"), with the supplementary groups that name the user. */
static void
user_spec_resolves_in_the_container (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  struct exec_opts o = detached ();
  struct focker_err *err = NULL;
  struct fake_proc *p;
  int status;
  pid_t pid;

  (void)state;
  o.user_spec = "app";
  pid = exec_ok (w, &o);
  p = fake_proc (w->k, pid);
  assert_int_equal (p->uid, 1000);
  assert_int_equal (p->gid, 1001);
  assert_int_equal (p->n_groups, 1);
  assert_int_equal (p->groups[0], 50);
  o.user_spec = "app:staff";
  p = fake_proc (w->k, exec_ok (w, &o));
  assert_int_equal (p->gid, 50);
  assert_int_equal (p->n_groups, 0);
  o.user_spec = "ghost";
  assert_int_equal (container_exec (&o, NULL, &pid, &status, &err), -ENOENT);
  assert_string_equal (err->msg,
                       "exec in c1: user \"ghost\": no such user in the container's /etc/passwd");
  focker_err_free (err);
  world_free (w);
}

/* The files are the container's as its init sees them (/proc/PID/root), not whatever the
 * state's rootfs path holds: on Linux a volume bound over /etc/passwd exists only in the
 * container's mount namespace.  Here the recorded rootfs is pointed at a tree without
 * "app", which exec must not read. */
static void
user_spec_reads_the_init_root_not_the_state_path (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  struct exec_opts o = detached ();
  char *json = fake_read_file (w->k, ROOT "/c1=state.json"), *at;
  char *moved;
  struct fake_proc *p;

  (void)state;
  assert_non_null (json);
  at = strstr (json, "\"" BUNDLE "/rootfs\"");
  assert_non_null (at);
  *at = '\0';
  moved = xasprintf ("%s\"/elsewhere\"%s", json, at + strlen ("\"" BUNDLE "/rootfs\""));
  assert_int_equal (fake_write_file (w->k, ROOT "/c1=state.json", moved, 0600), 0);
  assert_int_equal (
      fake_write_file (w->k, "/elsewhere/etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644), 0);
  o.user_spec = "app";
  p = fake_proc (w->k, exec_ok (w, &o));
  assert_int_equal (p->uid, 1000);
  assert_int_equal (p->gid, 1001);
  free (moved);
  free (json);
  world_free (w);
}

static void
process_file_replaces_the_container_process (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  struct exec_opts o = detached ();
  struct fake_proc *p;
  pid_t pid;

  (void)state;
  assert_int_equal (fake_write_file (w->k, "/tmp/p.json",
                                     "{\"args\":[\"/bin/ls\",\"x\"],\"cwd\":\"/tmp\","
                                     "\"env\":[\"Z=9\"],\"user\":{\"uid\":5,\"gid\":6}}",
                                     0644),
                    0);
  o.args = NULL;
  o.process_path = "/tmp/p.json";
  o.env = (char *const[]){ "IGNORED=1", NULL }; /* flags do not apply to --process (runc) */
  pid = exec_ok (w, &o);
  p = fake_proc (w->k, pid);
  assert_string_equal (p->exec_argv[1], "x");
  assert_string_equal (p->exec_envp[0], "Z=9");
  assert_null (p->exec_envp[1]);
  assert_int_equal (p->uid, 5);
  assert_int_equal (p->gid, 6);
  world_free (w);
}

static void
pid_file_names_the_process (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  struct exec_opts o = detached ();
  char want[16], *text;
  pid_t pid;

  (void)state;
  o.pid_file = "/run/e.pid";
  pid = exec_ok (w, &o);
  snprintf (want, sizeof want, "%d", (int)pid);
  text = fake_read_file (w->k, "/run/e.pid");
  assert_non_null (text);
  assert_string_equal (text, want);
  free (text);
  world_free (w);
}

static void
terminal_master_goes_to_the_console_socket (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  struct exec_opts o = detached ();
  struct fake_proc *p;
  int listener, conn, master;
  pid_t pid;

  (void)state;
  listener = sys_unix_listen (AT_FDCWD, "/tmp/console.sock");
  assert_true (listener >= 0);
  o.tty = true;
  o.console_socket = "/tmp/console.sock";
  pid = exec_ok (w, &o);
  p = fake_proc (w->k, pid);
  assert_true (p->is_session_leader);
  assert_true (p->ctty_fd_set >= 0);
  conn = sys_accept (listener);
  assert_true (conn >= 0);
  master = fake_conn_take_fd (w->k, w->cli, conn);
  assert_true (master >= 0);
  sys_close (master);
  sys_close (conn);
  sys_close (listener);
  world_free (w);
}

/* podman and containerd's shim leave fds open in the runtime: none reaches the process,
 * except the first N with --preserve-fds N */
static void
inherited_fds_reach_the_process_only_when_preserved (void **state)
{
  struct fake_personality hybrid = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_HYBRID };
  struct fx_world *w = world_new (&hybrid, "", "", "");
  struct exec_opts o = detached ();
  int a, b;
  pid_t pid;

  (void)state;
  a = sys_openat (AT_FDCWD, "/bundle/config.json", O_RDONLY, 0);
  b = sys_openat (AT_FDCWD, "/bundle/config.json", O_RDONLY, 0);
  assert_int_equal (a, 3);
  assert_int_equal (b, 4);
  pid = exec_ok (w, &o);
  assert_int_equal (fake_open_fds (w->k, pid), 3);
  o.preserve_fds = 1;
  pid = exec_ok (w, &o);
  assert_int_equal (fake_open_fds (w->k, pid), 4);
  /* a gap in the range: fd 4 free, so the runtime's own fds (the state directory, the lock
   * file, a pidfd) land there; the process still gets only fd 3 of the range.  On a hybrid
   * host, so the joiner's `tasks` fds are in play too. */
  sys_close (b);
  o.preserve_fds = 3;
  pid = exec_ok (w, &o);
  if (fake_open_fds (w->k, pid) != 4)
    {
      char path[64], target[256] = "";
      for (int fd = 4; fd < 6 && !*target; fd++)
        {
          snprintf (path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
          sys_readlinkat (AT_FDCWD, path, target, sizeof target - 1);
        }
      fail_msg ("the process has %zu fds (\"%s\")", fake_open_fds (w->k, pid), target);
    }
  sys_close (a);
  world_free (w);
}

/* --cgroup [CTL:]SUB (runc): a controller's hierarchy takes the value naming it, the others
 * (and the v2 directory) the plain one */
static void
cgroup_flag_picks_sub_cgroups_per_controller (void **state)
{
  struct fake_personality hybrid = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_HYBRID };
  struct fx_world *w = world_new (&hybrid, "", "", "");
  struct exec_opts o = detached ();
  char want[16], *procs;
  pid_t pid;

  (void)state;
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/sys/fs/cgroup/memory/focker-c1/m", 0755), 0);
  /* the plain value applies to every other hierarchy: it must exist in each */
  for (const char *const *h
       = (const char *const[]){ "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "pids",
                                "systemd", "unified", NULL };
       *h; h++)
    {
      char path[96];
      snprintf (path, sizeof path, "/sys/fs/cgroup/%s/focker-c1/s", *h);
      assert_int_equal (sys_mkdirat (AT_FDCWD, path, 0755), 0);
    }
  o.cgroups = (char *const[]){ "memory:m", "s", NULL };
  pid = exec_ok (w, &o);
  snprintf (want, sizeof want, "%d", (int)pid);
  procs = fake_read_file (w->k, "/sys/fs/cgroup/memory/focker-c1/m/cgroup.procs");
  assert_non_null (procs);
  assert_non_null (strstr (procs, want));
  free (procs);
  procs = fake_read_file (w->k, "/sys/fs/cgroup/pids/focker-c1/s/cgroup.procs");
  assert_non_null (procs);
  assert_non_null (strstr (procs, want));
  free (procs);
  assert_string_equal (fake_proc (w->k, pid)->cgroup_path, "/focker-c1/s");
  /* the v1 moves are the joiner's own (a write to each `tasks` the runtime opened): no pid is
   * written to a cgroup.procs but the unified one */
  {
    int v1_procs = 0, tasks = 0;
    for (size_t i = 0; i < fake_journal_len (w->k); i++)
      {
        const struct fake_call *c = fake_journal_at (w->k, i);
        if (c->id != SYS_ID_openat)
          continue;
        if (strstr (c->args, "/cgroup.procs -100 524289") && !strstr (c->args, "/unified/"))
          v1_procs++;
        if (strstr (c->args, "/s/tasks -100 524289") || strstr (c->args, "/m/tasks -100 524289"))
          tasks++;
      }
    assert_int_equal (v1_procs, 0);
    assert_int_equal (tasks, 9);
  }
  /* a sub-cgroup that does not exist is an error naming it */
  {
    struct focker_err *err = NULL;
    int status;
    o.cgroups = (char *const[]){ "cpu:nope", NULL };
    assert_true (container_exec (&o, NULL, NULL, &status, &err) < 0);
    assert_non_null (strstr (err->msg, "--cgroup nope: /sys/fs/cgroup/cpu"));
    focker_err_free (err);
  }
  world_free (w);
}

/* Without --detach exec waits.  The fake's exec'd program runs until told: the `pending`
 * callback (polled by the wait) plays its life: first a signal to forward, then its end. */
static struct fx_world *waiting_world;
static int waiting_step;
static int waiting_exit; /* >= 0: exit code; < 0: killed by signal -N */

static int
waiting_pending (void)
{
  struct fx_world *w = waiting_world;
  for (pid_t p = 2; p < 4096; p++)
    {
      struct fake_proc *fp = fake_proc (w->k, p);
      if (!fp || !fp->alive || !fp->execed || p == w->init)
        continue;
      if (waiting_step++ == 0)
        {
          sigaddset (&fp->caught, SIGTERM); /* the program handles SIGTERM */
          return SIGTERM;
        }
      assert_int_equal (fp->signals[fp->n_signals - 1], SIGTERM); /* forwarded */
      if (waiting_exit >= 0)
        fake_exit (w->k, p, waiting_exit);
      else
        fake_kill (w->k, p, -waiting_exit);
      return 0;
    }
  return 0;
}

static void
exec_waits_and_returns_the_exit_status (void **state)
{
  (void)state;
  for (int i = 0; i < 2; i++)
    {
      struct fx_world *w = world_new (NULL, "", "", "");
      struct exec_opts o = detached ();
      struct focker_err *err = NULL;
      int status = -1;

      o.detach = false;
      waiting_world = w;
      waiting_step = 0;
      waiting_exit = i == 0 ? 7 : -SIGKILL;
      assert_ok (container_exec (&o, waiting_pending, NULL, &status, &err), err);
      assert_int_equal (status, i == 0 ? 7 : 128 + SIGKILL);
      assert_int_equal (fx_live_processes (w), 1);
      world_free (w);
    }
}

static void
refuses_a_container_that_is_not_running (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  struct exec_opts o = detached ();
  struct focker_err *err = NULL;
  int status;

  (void)state;
  assert_ok (container_pause (ROOT, "c1", &err), err);
  assert_true (container_exec (&o, NULL, NULL, &status, &err) < 0);
  assert_non_null (strstr (err->msg, "container c1 is paused"));
  assert_null (strchr (err->msg, '\n'));
  focker_err_free (err);
  err = NULL;
  assert_ok (container_resume (ROOT, "c1", &err), err);
  fake_exit (w->k, w->init, 0);
  assert_true (container_exec (&o, NULL, NULL, &status, &err) < 0);
  assert_string_equal (err->msg, "container c1 is not running: stopped");
  focker_err_free (err);
  err = NULL;
  o.id = "nope";
  assert_true (container_exec (&o, NULL, NULL, &status, &err) < 0);
  assert_non_null (strstr (err->msg, "container nope does not exist"));
  focker_err_free (err);
  assert_int_equal (fx_live_processes (w), 0);
  world_free (w);
}

static void
refuses_a_created_container (void **state)
{
  static const struct create_opts copts = { .root = ROOT, .id = "c2", .bundle = BUNDLE };
  struct fx_world *w = world_new (NULL, "", "", "");
  struct exec_opts o = detached ();
  struct focker_err *err = NULL;
  int status;

  (void)state;
  assert_ok (container_create (&copts, NULL, &err), err);
  fx_next_command (w);
  o.id = "c2";
  assert_true (container_exec (&o, NULL, NULL, &status, &err) < 0);
  assert_string_equal (err->msg, "container c2 is not running: created");
  focker_err_free (err);
  world_free (w);
}

static void
bad_flags_fail_before_any_process (void **state)
{
  struct fx_world *w = world_new (NULL, "", "", "");
  struct focker_err *err = NULL;
  struct exec_opts o = detached ();
  int status;
  struct
  {
    const char *what;
    struct exec_opts o;
  } cases[] = {
    { "--cwd: tmp is not an absolute path", o },
    { "--env: \"NOEQUALS\" is not KEY=VALUE", o },
    { "--cap: unknown capability \"CAP_NOPE\"", o },
    { "no --console-socket", o },
    { "--process: ", o },
    { "--cgroup ../x: must be a relative path", o },
  };

  (void)state;
  cases[0].o.cwd = "tmp";
  cases[1].o.env = (char *const[]){ "NOEQUALS", NULL };
  cases[2].o.caps = (char *const[]){ "CAP_NOPE", NULL };
  cases[3].o.tty = true;
  cases[4].o.process_path = "/missing.json";
  cases[5].o.cgroups = (char *const[]){ "../x", NULL };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      assert_true (container_exec (&cases[i].o, NULL, NULL, &status, &err) < 0);
      if (strstr (err->msg, cases[i].what) == NULL)
        fail_msg ("case %zu: \"%s\" lacks \"%s\"", i, err->msg, cases[i].what);
      focker_err_free (err);
      err = NULL;
      assert_int_equal (fx_live_processes (w), 1);
      assert_int_equal (fake_open_fds (w->k, w->cli), 3);
    }
  world_free (w);
}

/* Fail each call once, then from that call on: a failed exec leaves the init alone and
 * nothing else (no process, no fd, no pid file); one the fault missed ran the process.
 * ctx: the kernel personality (NULL: v2; a hybrid host adds the runtime's opens of the v1
 * `tasks` files and the joiner's own moves). */
static int
exec_fault_run (struct fx_fault *f, void *ctx)
{
  struct fx_world *w = world_new (ctx, CONFINED_PROCESS, USERNS_NS, USERNS_MAPS SECCOMP);
  struct exec_opts o = detached ();
  struct focker_err *err = NULL;
  int status = 0, r;
  pid_t pid = 0;

  o.pid_file = "/run/e.pid";
  o.user_spec = "app";
  fx_fault_arm (f, w->k);
  r = container_exec (&o, NULL, &pid, &status, &err);
  fx_fault_disarm (f);
  fake_settle (w->k);
  if (fake_open_fds (w->k, w->cli) != 3)
    fail_msg ("fault at call %ld (persist %d): %zu fds left", f->n, f->persist,
              fake_open_fds (w->k, w->cli));
  /* with every call failing from the Nth on, even the kill of a process that already
   * exec'd fails: only the report and the fds are promised then */
  if (r < 0 && !f->persist && (fx_live_processes (w) != 1 || fake_exists (w->k, "/run/e.pid")))
    {
      fx_dump_journal (w->k, 30);
      fail_msg ("fault at call %ld (persist %d) left %s (error: %s)", f->n, f->persist,
                fx_live_processes (w) != 1 ? "a process" : "the pid file", err->msg);
    }
  fx_fault_err (f, r, &err);
  assert_true (fake_proc (w->k, w->init)->alive);
  if (r == 0)
    {
      assert_true (fake_proc (w->k, pid)->execed);
      assert_true (fake_exists (w->k, "/run/e.pid"));
    }
  world_free (w);
  return r;
}

static void
exec_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, exec_fault_run, NULL);
}

static void
exec_survives_every_fault_on_a_hybrid_host (void **state)
{
  struct fake_personality hybrid = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_HYBRID };

  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, exec_fault_run, &hybrid);
}

/* The joiner cannot move itself (a v1 cpuset without cpus refuses with ENOSPC), or the
 * runtime cannot open a `tasks` file: one line naming the cgroup, the init untouched,
 * nothing else left. */
static void
a_placement_failure_of_the_joiner_is_reported_and_leaves_nothing (void **state)
{
  struct fake_personality hybrid = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_HYBRID };

  (void)state;
  for (int in_joiner = 0; in_joiner < 2; in_joiner++)
    {
      struct fx_world *w = world_new (&hybrid, "", "", "");
      struct exec_opts o = detached ();
      struct focker_err *err = NULL;
      size_t mark = fake_journal_len (w->k);
      long n = 0, at = -1;
      int status;
      enum sys_id id = in_joiner ? SYS_ID_write : SYS_ID_openat;

      /* a dry run: the joiner's first write (its first move), or the runtime's last open of a
       * `tasks` file; then the same exec with that call failing */
      o.pid_file = "/run/e.pid";
      exec_ok (w, &o);
      for (size_t i = mark; i < fake_journal_len (w->k) && at < 0; i++)
        {
          const struct fake_call *c = fake_journal_at (w->k, i);
          if (in_joiner ? c->id == SYS_ID_write && c->pid != w->cli
                        : c->id == SYS_ID_openat && c->pid == w->cli
                              && strstr (c->args, "/tasks -100") != NULL)
            at = (long)i;
        }
      if (!in_joiner)
        for (size_t i = (size_t)at + 1; i < fake_journal_len (w->k); i++)
          {
            const struct fake_call *c = fake_journal_at (w->k, i);
            if (c->id == SYS_ID_openat && c->pid == w->cli && strstr (c->args, "/tasks -100"))
              at = (long)i;
          }
      assert_true (at >= 0);
      for (size_t i = mark; i <= (size_t)at; i++)
        n += fake_journal_at (w->k, i)->id == id;
      world_free (w);

      w = world_new (&hybrid, "", "", "");
      fake_fail_nth (w->k, n, false, in_joiner ? ENOSPC : EACCES,
                     in_joiner ? SYS_MASK (write) : SYS_MASK (openat));
      assert_int_equal (container_exec (&o, NULL, NULL, &status, &err),
                        in_joiner ? -ENOSPC : -EACCES);
      fake_settle (w->k);
      if (strstr (err->msg, in_joiner ? "cgroup: move into /sys/fs/cgroup/" : "/tasks") == NULL)
        fail_msg ("expected an error naming the cgroup, got \"%s\"", err->msg);
      focker_err_free (err);
      assert_int_equal (fx_live_processes (w), 1);
      assert_true (fake_proc (w->k, w->init)->alive);
      assert_int_equal (fake_open_fds (w->k, w->cli), 3);
      assert_false (fake_exists (w->k, "/run/e.pid"));
      world_free (w);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (exec_joins_every_namespace_and_the_cgroup),
    cmocka_unit_test (user_namespace_is_joined_first_with_a_pidfd),
    cmocka_unit_test (old_kernels_join_through_proc_files_user_first),
    cmocka_unit_test (kernels_without_pidfd_join_through_proc_files),
    cmocka_unit_test (exec_gets_the_container_confinement_seccomp_last),
    cmocka_unit_test (flags_override_the_container_process),
    cmocka_unit_test (user_spec_resolves_in_the_container),
    cmocka_unit_test (user_spec_reads_the_init_root_not_the_state_path),
    cmocka_unit_test (process_file_replaces_the_container_process),
    cmocka_unit_test (pid_file_names_the_process),
    cmocka_unit_test (terminal_master_goes_to_the_console_socket),
    cmocka_unit_test (inherited_fds_reach_the_process_only_when_preserved),
    cmocka_unit_test (cgroup_flag_picks_sub_cgroups_per_controller),
    cmocka_unit_test (exec_waits_and_returns_the_exit_status),
    cmocka_unit_test (refuses_a_container_that_is_not_running),
    cmocka_unit_test (refuses_a_created_container),
    cmocka_unit_test (bad_flags_fail_before_any_process),
    cmocka_unit_test (exec_survives_every_fault),
    cmocka_unit_test (exec_survives_every_fault_on_a_hybrid_host),
    cmocka_unit_test (a_placement_failure_of_the_joiner_is_reported_and_leaves_nothing),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
