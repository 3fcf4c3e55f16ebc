/* test_robust.c: robustness of the lifecycle on the fake kernel (issue 9): every command
 * refuses ids that would leave the state root, list skips what is not a container, create
 * holds the state lock until it has recorded the container (so a concurrent delete --force
 * cannot take a live create for the remains of a killed one), and the crash decorator stops
 * its own process only.  Assertions are on the fake kernel's state and, for order, its
 * journal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "core/container.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"

#define ROOT FX_ROOT
#define BUNDLE FX_BUNDLE

static const char *const config
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]}}";

static int
setup (void **state)
{
  struct fx_world *w = calloc (1, sizeof *w);

  fx_world_init (w, NULL, config);
  *state = w;
  return 0;
}

static int
teardown (void **state)
{
  fx_world_fini (*state);
  free (*state);
  return 0;
}

static void
create_ok (struct fx_world *w, const char *id)
{
  struct create_opts o = { .root = ROOT, .id = id, .bundle = BUNDLE };
  struct focker_err *err = NULL;
  pid_t pid = 0;
  int r = container_create (&o, &pid, &err);

  if (r < 0)
    fail_msg ("create %s: %s", id, err ? err->msg : "(no message)");
  assert_true (pid > 0);
  fx_next_command (w);
}

static void
every_command_refuses_ids_that_leave_the_root (void **state)
{
  struct fx_world *w = *state;
  static const char *const bad[] = { "..", ".", "../c1", "a/b", "/etc", "", "c1\n", "c 1" };
  struct create_opts o = { .root = ROOT, .bundle = BUNDLE };
  struct container_state *st = NULL;
  struct focker_err *err = NULL;
  pid_t pid = 0;

  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      o.id = bad[i];
      assert_int_equal (container_create (&o, &pid, &err), -EINVAL);
      assert_non_null (strstr (err->msg, "invalid container id"));
      focker_err_free (err);
      err = NULL;
      assert_int_equal (container_start (ROOT, bad[i], &err), -EINVAL);
      focker_err_free (err);
      err = NULL;
      assert_int_equal (container_kill (ROOT, bad[i], SIGKILL, false, &err), -EINVAL);
      focker_err_free (err);
      err = NULL;
      assert_int_equal (container_state (&st, NULL, ROOT, bad[i], &err), -EINVAL);
      assert_null (st);
      focker_err_free (err);
      err = NULL;
      assert_int_equal (container_delete (ROOT, bad[i], true, &err), -EINVAL);
      focker_err_free (err);
      err = NULL;
    }
  /* nothing was made: not even the state root */
  assert_false (fake_exists (w->k, ROOT));
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
}

static void
list_returns_containers_and_skips_what_is_not_one (void **state)
{
  struct fx_world *w = *state;
  struct container_state **list = NULL;
  struct focker_err *err = NULL;
  bool seen1 = false, seen2 = false;
  size_t n = 0;

  assert_int_equal (container_list (&list, ROOT, &err), 0); /* no root yet: empty */
  assert_null (list[0]);
  container_list_free (list);
  create_ok (w, "c1");
  create_ok (w, "c2");
  /* the remains of a killed create, a torn state, and names that are not ids */
  assert_int_equal (fake_write_file (w->k, ROOT "/half", "", 0600), 0);
  assert_int_equal (fake_write_file (w->k, ROOT "/torn=state.json", "{\"id\": ", 0600), 0);
  assert_int_equal (fake_mkdir_p (w->k, ROOT "/.hidden", 0700), 0);
  assert_int_equal (fake_write_file (w->k, ROOT "/file", "x", 0600), 0);
  assert_int_equal (container_list (&list, ROOT, &err), 0);
  for (; list[n]; n++)
    {
      seen1 |= strcmp (list[n]->id, "c1") == 0;
      seen2 |= strcmp (list[n]->id, "c2") == 0;
      assert_int_equal (state_status (list[n]), STATUS_CREATED);
    }
  assert_int_equal (n, 2);
  assert_true (seen1 && seen2);
  container_list_free (list);
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
  assert_int_equal (container_delete (ROOT, "c1", true, &err), 0);
  assert_int_equal (container_delete (ROOT, "c2", true, &err), 0);
  assert_int_equal (container_delete (ROOT, "half", true, &err), 0);
  assert_int_equal (container_delete (ROOT, "torn", true, &err), 0);
  assert_null (err);
  assert_false (fake_exists (w->k, ROOT "/half"));
  assert_false (fake_exists (w->k, ROOT "/torn"));
}

/* The first call of `id` made by `pid` at or after journal index `from`, or -1. */
static long
find_call (struct fake_kernel *k, enum sys_id id, pid_t pid, size_t from)
{
  for (long i = fake_journal_find (k, id, from); i >= 0;
       i = fake_journal_find (k, id, (size_t)i + 1))
    if (fake_journal_at (k, (size_t)i)->pid == pid)
      return i;
  return -1;
}

static void
create_holds_the_state_lock_until_the_state_is_recorded (void **state)
{
  struct fx_world *w = *state;
  struct create_opts o = { .root = ROOT, .id = "c1", .bundle = BUNDLE };
  struct focker_err *err = NULL;
  size_t start = fake_journal_len (w->k);
  pid_t creator = w->cli, pid = 0;
  long lock, clone, rename;

  assert_int_equal (container_create (&o, &pid, &err), 0);
  lock = find_call (w->k, SYS_ID_flock, creator, start);
  clone = find_call (w->k, SYS_ID_clone, creator, start);
  /* state.json is written whole: a temp file renamed into place */
  for (rename = find_call (w->k, SYS_ID_renameat, creator, start);
       rename >= 0 && !strstr (fake_journal_at (w->k, (size_t)rename)->args, "state.json");
       rename = find_call (w->k, SYS_ID_renameat, creator, (size_t)rename + 1))
    ;
  assert_true (lock >= 0 && clone >= 0 && rename >= 0);
  /* locked before the init exists, and never unlocked before state.json is in place */
  assert_true (lock < clone);
  assert_true (clone < rename);
  assert_null (strstr (fake_journal_at (w->k, (size_t)lock)->args, "LOCK_UN"));
  for (long i = lock + 1; i < rename; i++)
    if (fake_journal_at (w->k, (size_t)i)->id == SYS_ID_flock
        && fake_journal_at (w->k, (size_t)i)->pid == creator)
      fail_msg ("create took or dropped a lock again before recording the state");
  /* the init does not keep the creator's lock: start must be able to take it */
  fx_next_command (w);
  assert_int_equal (container_start (ROOT, "c1", &err), 0);
  assert_int_equal (container_delete (ROOT, "c1", true, &err), 0);
  assert_null (err);
}

static void
crash_decorator_passes_calls_through_until_its_point (void **state)
{
  struct fx_world *w = *state;
  const struct sys_ops *fake = sys;
  struct stat st;

  /* far from its point, the decorator changes nothing: results are the inner backend's */
  sys = sys_crash_wrap (fake, 1000000, 0);
  assert_int_equal (sys_fstatat (AT_FDCWD, BUNDLE "/config.json", &st, 0), 0);
  assert_int_equal (sys_fstatat (AT_FDCWD, BUNDLE "/none", &st, 0), -ENOENT);
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/made", 0700), 0);
  assert_true (fake_exists (w->k, "/made"));
  sys = fake;
}

/* With a mask, only the calls it names count: a forked child stops right after its second
 * mkdirat, whatever other calls come before and between (each step reported on a pipe). */
static void
crash_decorator_with_a_mask_counts_only_the_calls_it_names (void **state)
{
  struct fx_world *w = *state;
  const char *bad = NULL;
  sys_mask_t mask = 0;
  char got[8] = { 0 };
  int p[2], status = 0;
  ssize_t n;
  pid_t pid;

  assert_int_equal (sys_mask_parse (&mask, "mkdirat", &bad), 0);
  assert_true (mask == SYS_MASK (mkdirat));
  assert_int_equal (sys_mask_parse (&mask, "openat,renameat,fsync", &bad), 0);
  assert_true (mask == (SYS_MASK (openat) | SYS_MASK (renameat) | SYS_MASK (fsync)));
  assert_int_equal (sys_mask_parse (&mask, "openat,mkdir,fsync", &bad), -EINVAL);
  assert_string_equal (bad, "mkdir,fsync");
  assert_int_equal (pipe (p), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct stat st;
      close (p[0]);
      sys = sys_crash_wrap (sys, 2, SYS_MASK (mkdirat));
      sys_fstatat (AT_FDCWD, BUNDLE "/config.json", &st, 0);
      (void)!write (p[1], "a", 1);
      sys_mkdirat (AT_FDCWD, "/m1", 0700);
      (void)!write (p[1], "b", 1);
      sys_fstatat (AT_FDCWD, "/m1", &st, 0);
      sys_fstatat (AT_FDCWD, "/m1", &st, 0);
      (void)!write (p[1], "c", 1);
      sys_mkdirat (AT_FDCWD, "/m2", 0700);
      (void)!write (p[1], "d", 1);
      _exit (0);
    }
  close (p[1]);
  for (size_t len = 0; len < sizeof got - 1 && (n = read (p[0], got + len, 1)) > 0; len++)
    ;
  close (p[0]);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  assert_string_equal (got, "abc");
  assert_false (fake_exists (w->k, "/m1")); /* the child's own copy of the fake kernel */
}

static void
failing_hooks_fail_create_naming_the_hook_and_leave_nothing (void **state)
{
  struct fx_world *w = *state;
  static const struct
  {
    const char *hooks;
    const char *expect;
  } cases[] = {
    { "{\"prestart\":[{\"path\":\"/nohook\"}]}", "hooks.prestart[0]: /nohook: cannot execute" },
    { "{\"createRuntime\":[{\"path\":\"/bin/hang\",\"timeout\":1}]}",
      "hooks.createRuntime[0]: /bin/hang timed out after 1 s" },
  };
  struct create_opts o = { .root = ROOT, .id = "c1", .bundle = BUNDLE };

  assert_int_equal (fake_write_file (w->k, "/bin/hang", "ELF", 0755), 0);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char text[1024];
      struct focker_err *err = NULL;
      pid_t pid = 0;
      int r;

      snprintf (text, sizeof text, "%.*s,\"hooks\":%s}", (int)strlen (config) - 1, config,
                cases[i].hooks);
      assert_int_equal (fake_write_file (w->k, BUNDLE "/config.json", text, 0644), 0);
      r = container_create (&o, &pid, &err);
      assert_true (r < 0);
      assert_non_null (err);
      if (strstr (err->msg, cases[i].expect) == NULL)
        fail_msg ("expected [%s] in [%s]", cases[i].expect, err->msg);
      focker_err_free (err);
      fake_settle (w->k);
      assert_false (fake_exists (w->k, ROOT "/c1"));
      assert_int_equal (fx_live_processes (w), 0);
      assert_int_equal (fake_open_fds (w->k, w->cli), 3);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (every_command_refuses_ids_that_leave_the_root, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (list_returns_containers_and_skips_what_is_not_one, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (create_holds_the_state_lock_until_the_state_is_recorded, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (crash_decorator_passes_calls_through_until_its_point, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (crash_decorator_with_a_mask_counts_only_the_calls_it_names,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (failing_hooks_fail_create_naming_the_hook_and_leave_nothing,
                                     setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
