/* test_lifecycle.c: create/start/state/kill/delete on the fake kernel, with fault loops.
 *
 * Each test gets a fresh fake kernel seeded with a bundle (/bundle: config.json, a rootfs
 * holding /bin/sh) and plays the runtime commands as separate processes, the way podman
 * runs `create`, then `start`, then `delete`.  Assertions are on the kernel's state: the
 * processes, their roots and namespaces, mount tables, fds and the state directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>
#include "core/container.h"
#include "core/state.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"

#define ROOT FX_ROOT
#define BUNDLE FX_BUNDLE

static const char *const base_config
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\",\"-c\",\"echo hi\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},\"hostname\":\"fk\","
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
      "\"mode=755\"]},"
      "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\"},"
      "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"ro\"]}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\"},"
      "{\"type\":\"ipc\"},{\"type\":\"network\"}%s],"
      "\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"]%s}}";

static struct fx_world *
world_new (const struct fake_personality *p, const char *extra_ns, const char *extra_linux)
{
  struct fx_world *w = calloc (1, sizeof *w);
  char config[4096];

  snprintf (config, sizeof config, base_config, extra_ns, extra_linux);
  fx_world_init (w, p, config);
  return w;
}

static void
world_free (struct fx_world *w)
{
  fx_world_fini (w);
  free (w);
}

static int
setup (void **state)
{
  *state = world_new (NULL, "", "");
  return 0;
}

static int
teardown (void **state)
{
  world_free (*state);
  return 0;
}

static const struct create_opts opts = { .root = ROOT, .id = "c1", .bundle = BUNDLE };

#define assert_ok(call, e) FX_OK (w, call, e)

static pid_t
create_ok (struct fx_world *w)
{
  struct focker_err *err = NULL;
  pid_t pid = 0;
  int r = container_create (&opts, &pid, &err);
  assert_ok (r, err);
  assert_null (err);
  assert_true (pid > 0);
  return pid;
}

static void
create_runs_nothing_until_start (void **state)
{
  struct fx_world *w = *state;
  pid_t pid = create_ok (w);
  struct fake_proc *init = fake_proc (w->k, pid);
  struct container_state *st = NULL;
  enum container_status status;
  struct focker_err *err = NULL;

  assert_non_null (init);
  assert_true (init->alive);
  assert_false (init->execed);
  assert_true (fake_exists (w->k, ROOT "/c1=state.json"));
  fx_next_command (w);
  assert_ok (container_state (&st, &status, ROOT, "c1", &err), err);
  assert_int_equal (status, STATUS_CREATED);
  assert_int_equal (st->pid, pid);
  assert_string_equal (st->bundle, BUNDLE);
  /* the config kept is what later commands read back: no mounts, no root */
  assert_non_null (json_object_get (st->config, "process"));
  assert_non_null (json_object_get (st->config, "linux"));
  assert_null (json_object_get (st->config, "mounts"));
  assert_null (json_object_get (st->config, "root"));
  state_free (st);
}

static void
init_is_confined_before_start (void **state)
{
  struct fx_world *w = *state;
  pid_t pid = create_ok (w);
  struct fake_proc *init = fake_proc (w->k, pid);
  const struct fake_mount *m;

  assert_string_equal (init->root_path, BUNDLE "/rootfs");
  assert_string_equal (init->hostname, "fk");
  assert_int_equal (init->ns_pid, 1);
  assert_false (init->dumpable);
  for (int t = FAKE_NS_MNT; t <= FAKE_NS_IPC; t++)
    assert_false (fake_same_ns (w->k, pid, w->cli, (enum fake_ns_type)t));
  m = fake_mount_find (w->k, pid, "/proc");
  assert_non_null (m);
  assert_string_equal (m->fstype, "proc");
  m = fake_mount_find (w->k, pid, "/sys");
  assert_non_null (m);
  assert_true (m->flags & MS_RDONLY);
  m = fake_mount_find (w->k, pid, "/proc/sys");
  assert_non_null (m);
  assert_true (m->flags & MS_RDONLY);
  assert_true (fake_exists (w->k, BUNDLE "/rootfs/dev/null"));
  assert_true (fake_exists (w->k, BUNDLE "/rootfs/dev/fd"));
  /* the host's mount table is untouched */
  assert_null (fake_mount_find (w->k, w->cli, BUNDLE "/rootfs/proc"));
}

static void
start_execs_the_process (void **state)
{
  struct fx_world *w = *state;
  pid_t pid = create_ok (w);
  struct focker_err *err = NULL;
  struct fake_proc *init;

  fx_next_command (w);
  assert_ok (container_start (ROOT, "c1", &err), err);
  init = fake_proc (w->k, pid);
  assert_true (init->execed);
  assert_string_equal (init->exec_path, "/bin/sh");
  assert_string_equal (init->exec_argv[0], "sh");
  assert_string_equal (init->exec_argv[2], "echo hi");
  assert_string_equal (init->exec_envp[0], "PATH=/bin");
  /* only stdio reaches the process */
  assert_int_equal (fake_open_fds (w->k, pid), 3);
  assert_false (fake_exists (w->k, ROOT "/c1=exec.sock"));
}

/* start writes nothing: the unlinked exec.sock is what says the container was started. */
static void
start_is_recorded_by_the_socket_alone (void **state)
{
  struct fx_world *w = *state;
  struct container_state *st = NULL;
  enum container_status status;
  struct focker_err *err = NULL;
  size_t before;

  create_ok (w);
  fx_next_command (w);
  assert_ok (container_state (&st, &status, ROOT, "c1", &err), err);
  assert_int_equal (status, STATUS_CREATED);
  state_free (st);
  before = fake_journal_len (w->k);
  assert_ok (container_start (ROOT, "c1", &err), err);
  assert_int_equal (fake_journal_find (w->k, SYS_ID_renameat, before), -1);
  fx_next_command (w);
  assert_ok (container_state (&st, &status, ROOT, "c1", &err), err);
  assert_int_equal (status, STATUS_RUNNING);
  state_free (st);
}

static void
seccomp_free_exec_is_the_last_call (void **state)
{
  struct fx_world *w = *state;
  pid_t pid = create_ok (w);
  struct focker_err *err = NULL;
  long pivot, exec;

  fx_next_command (w);
  assert_ok (container_start (ROOT, "c1", &err), err);
  pivot = fake_journal_find (w->k, SYS_ID_pivot_root, 0);
  exec = fake_journal_find (w->k, SYS_ID_execve, 0);
  assert_true (pivot >= 0 && exec > pivot);
  /* the old root is detached after the pivot, never before */
  assert_true (fake_journal_find (w->k, SYS_ID_umount2, (size_t)pivot) > pivot);
  (void)pid;
}

static void
state_is_stopped_after_init_exits_unwaited (void **state)
{
  struct fx_world *w = *state;
  pid_t pid = create_ok (w);
  struct container_state *st = NULL;
  enum container_status status;
  struct focker_err *err = NULL;

  fx_next_command (w);
  assert_ok (container_start (ROOT, "c1", &err), err);
  fx_next_command (w); /* nobody waits: the init is pid 1's now */
  fake_exit (w->k, pid, 0);
  assert_ok (container_state (&st, &status, ROOT, "c1", &err), err);
  assert_int_equal (status, STATUS_STOPPED);
  state_free (st);
}

static void
delete_refuses_live_container_without_force (void **state)
{
  struct fx_world *w = *state;
  pid_t pid = create_ok (w);
  struct focker_err *err = NULL;
  int r;

  fx_next_command (w);
  r = container_delete (ROOT, "c1", false, &err);
  assert_int_equal (r, -EBUSY);
  assert_non_null (strstr (err->msg, "not stopped: created"));
  focker_err_free (err);
  err = NULL;
  assert_true (fake_proc (w->k, pid)->alive);
  assert_ok (container_delete (ROOT, "c1", true, &err), err);
  assert_false (fake_exists (w->k, ROOT "/c1"));
  assert_int_equal (fx_live_processes (w), 0);
}

static void
delete_force_on_missing_id_succeeds (void **state)
{
  struct focker_err *err = NULL;

  assert_int_equal (container_delete (ROOT, "nope", true, &err), 0);
  assert_null (err);
  assert_int_equal (container_delete (ROOT, "nope", false, &err), -ENOENT);
  assert_non_null (strstr (err->msg, "container nope does not exist"));
  focker_err_free (err);
}

static void
kill_signals_the_init (void **state)
{
  struct fx_world *w = *state;
  pid_t pid = create_ok (w);
  struct focker_err *err = NULL;
  struct fake_proc *init;

  fx_next_command (w);
  assert_ok (container_start (ROOT, "c1", &err), err);
  assert_ok (container_kill (ROOT, "c1", SIGKILL, false, &err), err);
  init = fake_proc (w->k, pid);
  assert_true (init == NULL || !init->alive || init->zombie);
  assert_int_equal (container_kill (ROOT, "c1", SIGTERM, false, &err), -ESRCH);
  focker_err_free (err);
}

/* The init exits unwaited and another process takes its pid (with a later start time, as
 * on Linux): the container reads as stopped, and neither kill (of the init, or --all) nor
 * delete --force signals the stranger; with pidfds (6.18) and without them (5.0: kill(2)
 * after the start-time check). */
static void
recycled_init_pid_is_never_signalled (void **state)
{
  (void)state;
  for (int old_kernel = 0; old_kernel <= 1; old_kernel++)
    {
      struct fake_personality p
          = { .major = old_kernel ? 5 : 6, .minor = old_kernel ? 0 : 18, .cgroup = FAKE_CGROUP_V2 };
      struct fx_world *w = world_new (&p, "", "");
      pid_t pid = create_ok (w);
      struct container_state *st = NULL;
      enum container_status status;
      struct focker_err *err = NULL;
      struct fake_proc *stranger;

      fx_next_command (w);
      assert_ok (container_start (ROOT, "c1", &err), err);
      fx_next_command (w); /* nobody waits: the init is pid 1's, reaped when it exits */
      fake_exit (w->k, pid, 0);
      assert_null (fake_proc (w->k, pid));
      assert_int_equal (fake_pid_recycle (w->k, pid), pid);
      stranger = fake_proc (w->k, pid);
      assert_non_null (stranger);
      assert_ok (container_state (&st, &status, ROOT, "c1", &err), err);
      assert_int_equal (status, STATUS_STOPPED);
      state_free (st);
      assert_int_equal (container_kill (ROOT, "c1", SIGTERM, false, &err), -ESRCH);
      assert_string_equal (err->msg, "container c1 is not running");
      focker_err_free (err);
      err = NULL;
      assert_int_equal (container_kill (ROOT, "c1", SIGKILL, true, &err), -ESRCH);
      focker_err_free (err);
      err = NULL;
      assert_ok (container_delete (ROOT, "c1", true, &err), err);
      assert_true (stranger->alive);
      assert_int_equal (stranger->n_signals, 0);
      assert_true (fx_nothing_left (w, "c1"));
      world_free (w);
    }
}

static void
bad_input_leaves_nothing (void **state)
{
  struct fx_world *w = *state;
  struct focker_err *err = NULL;
  struct create_opts o = opts;

  o.id = "../escape";
  assert_int_equal (container_create (&o, NULL, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "invalid container id"));
  focker_err_free (err);
  err = NULL;
  /* dot names are the root's own (.network/ of the user face's networks, temporaries) */
  fake_mkdir_p (w->k, ROOT "/.network", 0700);
  for (int i = 0; i < 2; i++)
    {
      o.id = i ? ".network" : ".c1";
      assert_int_equal (container_create (&o, NULL, &err), -EINVAL);
      assert_non_null (strstr (err->msg, "an id may not begin with \".\""));
      focker_err_free (err);
      err = NULL;
      assert_int_equal (container_delete (ROOT, o.id, true, &err), -EINVAL);
      focker_err_free (err);
      err = NULL;
    }
  assert_false (fake_exists (w->k, ROOT "/.c1"));
  assert_true (fake_exists (w->k, ROOT "/.network"));
  assert_int_equal (fake_write_file (w->k, BUNDLE "/config.json", "{\"ociVersion\":", 0644), 0);
  assert_true (container_create (&opts, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "config.json"));
  focker_err_free (err);
  assert_false (fake_exists (w->k, ROOT "/c1"));
  assert_int_equal (fx_live_processes (w), 0);
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
}

static void
missing_executable_fails_create_and_leaves_nothing (void **state)
{
  struct fx_world *w = *state;
  struct focker_err *err = NULL;
  struct create_opts o = opts;

  fake_write_file (w->k, BUNDLE "/rootfs/bin/sh", "", 0644); /* not executable */
  assert_true (container_create (&o, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "process.args[0]"));
  focker_err_free (err);
  assert_false (fake_exists (w->k, ROOT "/c1"));
  assert_int_equal (fx_live_processes (w), 0);
}

/* One create with a fault (fx_create_fault_run): no fd, state, cgroup or process left after
 * a failure, or after `delete --force` of what it made. */
static int
create_fault_run (struct fx_fault *f, void *ctx)
{
  struct fx_world *w = world_new (NULL, "", "");
  int r;

  (void)ctx;
  r = fx_create_fault_run (f, w, &opts);
  world_free (w);
  return r;
}

/* SQLite-style: fail call 1, 2, 3 ... once.  Every failure must leave nothing (no state,
 * no cgroup, no process, no fd); a run the fault did not break must have created the
 * container. */
static void
create_survives_every_single_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE, create_fault_run, NULL);
}

/* With every call failing from the Nth on, create cannot even clean up after itself; the
 * promise is then that it reports the error, leaks no fd, and `delete --force` (once the
 * kernel works again) leaves nothing. */
static void
create_persistent_fault_is_cleaned_by_delete_force (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_PERSIST, create_fault_run, NULL);
}

/* A failed delete leaves no fd and can be repeated; after it nothing is left. */
static int
delete_fault_run (struct fx_fault *f, void *ctx)
{
  struct fx_world *w = world_new (NULL, "", "");
  int r;

  (void)ctx;
  create_ok (w);
  r = fx_delete_fault_run (f, w, "c1");
  world_free (w);
  return r;
}

static void
delete_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, delete_fault_run, NULL);
}

static void
pivot_falls_back_to_move_and_chroot_on_ramfs (void **state)
{
  struct fake_personality p
      = { .major = 6, .minor = 1, .cgroup = FAKE_CGROUP_V2, .root_is_ramfs = true };
  struct fx_world *w = world_new (&p, "", "");
  pid_t pid = create_ok (w);

  (void)state;
  assert_string_equal (fake_proc (w->k, pid)->root_path, BUNDLE "/rootfs");
  assert_true (fake_journal_find (w->k, SYS_ID_chroot, 0) >= 0);
  world_free (w);
}

static void
mount_destination_symlink_stays_inside_rootfs (void **state)
{
  for (int old_kernel = 0; old_kernel <= 1; old_kernel++)
    {
      /* 5.4 has no openat2: the fallback walker must give the same containment */
      struct fake_personality p
          = { .major = old_kernel ? 5 : 6, .minor = 4, .cgroup = FAKE_CGROUP_V2 };
      struct fx_world *w = world_new (&p, "", "");
      pid_t pid;

      (void)state;
      fake_mkdir_p (w->k, "/outside", 0755);
      fake_symlink (w->k, "/../../outside", BUNDLE "/rootfs/evil");
      fake_write_file (w->k, BUNDLE "/config.json",
                       "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"/bin/sh\"],"
                       "\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},\"mounts\":[{"
                       "\"destination\":\"/evil/sub\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}],"
                       "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}",
                       0644);
      pid = create_ok (w);
      assert_false (fake_exists (w->k, "/outside/sub"));
      assert_true (fake_exists (w->k, BUNDLE "/rootfs/outside/sub"));
      assert_non_null (fake_mount_find (w->k, pid, "/outside/sub"));
      world_free (w);
    }
}

static void
user_namespace_maps_are_written_before_the_init_goes_on (void **state)
{
  struct fx_world *w
      = world_new (NULL, ",{\"type\":\"user\"}",
                   ",\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
                   "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]");
  pid_t pid = create_ok (w);
  struct fake_proc *init = fake_proc (w->k, pid);

  (void)state;
  assert_non_null (init->uid_map);
  assert_string_equal (init->uid_map, "0 100000 65536\n");
  assert_string_equal (init->gid_map, "0 100000 65536\n");
  assert_false (fake_same_ns (w->k, pid, w->cli, FAKE_NS_USER));
  world_free (w);
}

static void
stray_fds_do_not_reach_the_container (void **state)
{
  struct fx_world *w = *state;
  pid_t pid;
  struct focker_err *err = NULL;
  int stray = sys_openat (AT_FDCWD, BUNDLE "/config.json", O_RDONLY, 0); /* no O_CLOEXEC */

  assert_true (stray >= 3);
  pid = create_ok (w);
  fx_next_command (w);
  assert_ok (container_start (ROOT, "c1", &err), err);
  assert_int_equal (fake_open_fds (w->k, pid), 3);
}

/* fd 3 open in the caller, then a container created with --preserve-fds n and started:
 * its init's pid. */
static pid_t
started_with_fd_3_and_preserve (struct fx_world *w, int n)
{
  struct create_opts o = opts;
  struct focker_err *err = NULL;
  pid_t pid = 0;

  assert_int_equal (sys_openat (AT_FDCWD, BUNDLE "/config.json", O_RDONLY, 0), 3);
  o.preserve_fds = n;
  assert_ok (container_create (&o, &pid, &err), err);
  fx_next_command (w);
  assert_ok (container_start (ROOT, "c1", &err), err);
  return pid;
}

static void
preserve_fds_reach_the_container (void **state)
{
  struct fx_world *w = *state;

  assert_int_equal (fake_open_fds (w->k, started_with_fd_3_and_preserve (w, 1)), 4);
}

/* --preserve-fds 2 with only fd 3 open in the caller: fd 4 is free, and whatever the
 * runtime opens there itself (the runtime root, the lock file, a cgroup `tasks`) must not
 * reach the container: it has fds 0-3 and nothing else. */
static void
a_gap_in_the_preserved_range_passes_no_runtime_fd (void **state)
{
  struct fx_world *w = *state;
  pid_t pid = started_with_fd_3_and_preserve (w, 2);

  if (fake_open_fds (w->k, pid) != 4)
    {
      char path[64], target[256] = "";
      snprintf (path, sizeof path, "/proc/%d/fd/4", (int)pid);
      sys_readlinkat (AT_FDCWD, path, target, sizeof target - 1);
      fail_msg ("the container has %zu fds; fd 4: \"%s\"", fake_open_fds (w->k, pid), target);
    }
}

/* state.json's "created" is formatted by hand (no time zone load): it must agree with libc's
 * UTC for epoch, leap days, century years and times before 1970. */
static void
created_time_is_utc_rfc3339 (void **state)
{
  static const time_t at[] = { 0,          -1,         59,         86399,     86400,
                               68169600,   951782400,  951868799,  951868800, 4107542399,
                               4107542400, 1796037124, 1709164800, -86400,    -2208988800 };
  (void)state;
  for (size_t i = 0; i < sizeof at / sizeof *at; i++)
    for (time_t t = at[i] - 1; t <= at[i] + 1; t++)
      {
        struct tm tm;
        char want[80], day[64];
        char *got = state_rfc3339 (t, 7);
        assert_non_null (gmtime_r (&t, &tm));
        strftime (day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf (want, sizeof want, "%s.000000007Z", day);
        assert_string_equal (got, want);
        free (got);
      }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (create_runs_nothing_until_start, setup, teardown),
    cmocka_unit_test_setup_teardown (init_is_confined_before_start, setup, teardown),
    cmocka_unit_test_setup_teardown (start_execs_the_process, setup, teardown),
    cmocka_unit_test_setup_teardown (start_is_recorded_by_the_socket_alone, setup, teardown),
    cmocka_unit_test_setup_teardown (seccomp_free_exec_is_the_last_call, setup, teardown),
    cmocka_unit_test_setup_teardown (state_is_stopped_after_init_exits_unwaited, setup, teardown),
    cmocka_unit_test_setup_teardown (delete_refuses_live_container_without_force, setup, teardown),
    cmocka_unit_test_setup_teardown (delete_force_on_missing_id_succeeds, setup, teardown),
    cmocka_unit_test_setup_teardown (kill_signals_the_init, setup, teardown),
    cmocka_unit_test (recycled_init_pid_is_never_signalled),
    cmocka_unit_test_setup_teardown (bad_input_leaves_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown (missing_executable_fails_create_and_leaves_nothing, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (stray_fds_do_not_reach_the_container, setup, teardown),
    cmocka_unit_test_setup_teardown (preserve_fds_reach_the_container, setup, teardown),
    cmocka_unit_test_setup_teardown (a_gap_in_the_preserved_range_passes_no_runtime_fd, setup,
                                     teardown),
    cmocka_unit_test (create_survives_every_single_fault),
    cmocka_unit_test (create_persistent_fault_is_cleaned_by_delete_force),
    cmocka_unit_test (delete_survives_every_fault),
    cmocka_unit_test (pivot_falls_back_to_move_and_chroot_on_ramfs),
    cmocka_unit_test (mount_destination_symlink_stays_inside_rootfs),
    cmocka_unit_test (user_namespace_maps_are_written_before_the_init_goes_on),
    cmocka_unit_test (created_time_is_utc_rfc3339),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
