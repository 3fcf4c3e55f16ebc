/* test_run.c: `run` (create, start, wait, delete) and namespaces joined by path, on the fake
 * kernel.  The container's process is a fake program, so its exit status is the test's. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/container.h"
#include "tests/unit/fixture.h"

static const char *const config_fmt
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}%s]}}";

static const struct create_opts opts = { .root = FX_ROOT, .id = "c1", .bundle = FX_BUNDLE };

static void
world_init (struct fx_world *w, const char *extra_ns)
{
  char config[4096];

  snprintf (config, sizeof config, config_fmt, extra_ns);
  fx_world_init (w, NULL, config);
}

static int
exits_with_arg (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg)
{
  (void)k;
  (void)argv;
  (void)envp;
  return *(int *)arg;
}

static void
run_returns_the_exit_status_and_deletes (void **state)
{
  static int codes[] = { 0, 7, 255 };
  (void)state;
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
    {
      struct focker_err *err = NULL;
      struct fx_world w;
      int status = -1;

      world_init (&w, ",{\"type\":\"pid\"}");
      fake_program (w.k, "/bin/sh", exits_with_arg, &codes[i]);
      FX_OK (&w, container_run (&opts, false, NULL, &status, &err), err);
      assert_int_equal (status, codes[i]);
      assert_true (fx_nothing_left (&w, "c1"));
      fx_world_fini (&w);
    }
}

/* A config the caller parsed is used as it is (config.json is not read again) and freed by
 * create whatever happens: no leak under ASan or valgrind, on success or on an early error. */
static void
run_takes_a_parsed_config (void **state)
{
  static const char *const ids[] = { "c1", "bad/id" };
  (void)state;
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
    {
      struct create_opts o = { .root = FX_ROOT, .id = ids[i], .bundle = FX_BUNDLE };
      char config[4096];
      struct focker_err *err = NULL;
      struct fx_world w;
      int code = 9, r;

      world_init (&w, "");
      snprintf (config, sizeof config, config_fmt, "");
      assert_int_equal (spec_parse (&o.spec, config, strlen (config), "config.json", &err), 0);
      fake_program (w.k, "/bin/sh", exits_with_arg, &code);
      /* what the bundle holds now is not what was parsed */
      assert_int_equal (fake_write_file (w.k, FX_BUNDLE "/config.json", "{", 0644), 0);
      r = container_run (&o, false, NULL, &code, &err);
      if (i == 0)
        {
          FX_OK (&w, r, err);
          assert_int_equal (code, 9);
        }
      else
        {
          assert_int_equal (r, -EINVAL);
          focker_err_free (err);
        }
      assert_true (fx_nothing_left (&w, "c1"));
      fx_world_fini (&w);
    }
}

static void
run_detached_leaves_it_running (void **state)
{
  struct container_state *st = NULL;
  enum container_status status;
  struct focker_err *err = NULL;
  struct fx_world w;
  int code = -1;

  (void)state;
  world_init (&w, ",{\"type\":\"pid\"}");
  FX_OK (&w, container_run (&opts, true, NULL, &code, &err), err);
  assert_int_equal (code, 0);
  fx_next_command (&w);
  FX_OK (&w, container_state (&st, &status, FX_ROOT, "c1", &err), err);
  assert_int_equal (status, STATUS_RUNNING);
  state_free (st);
  FX_OK (&w, container_delete (FX_ROOT, "c1", true, &err), err);
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

/* Namespaces given by path are joined (the user namespace first), the others created. */
static void
namespaces_given_by_path_are_joined (void **state)
{
  struct focker_err *err = NULL;
  struct fx_world w;
  unsigned long net, uts, ipc, pid_ns;
  pid_t init = 0;
  long first_setns;

  (void)state;
  world_init (&w, ",{\"type\":\"network\",\"path\":\"/run/netns/n1\"},"
                  "{\"type\":\"uts\",\"path\":\"/run/ns/uts\"},"
                  "{\"type\":\"ipc\",\"path\":\"/run/ns/ipc\"},"
                  "{\"type\":\"pid\",\"path\":\"/run/ns/pid\"}");
  net = fake_ns_file (w.k, "/run/netns/n1", FAKE_NS_NET);
  uts = fake_ns_file (w.k, "/run/ns/uts", FAKE_NS_UTS);
  ipc = fake_ns_file (w.k, "/run/ns/ipc", FAKE_NS_IPC);
  pid_ns = fake_ns_file (w.k, "/run/ns/pid", FAKE_NS_PID);
  FX_OK (&w, container_create (&opts, &init, &err), err);
  assert_int_equal (fake_ns_id (w.k, init, FAKE_NS_NET), net);
  assert_int_equal (fake_ns_id (w.k, init, FAKE_NS_UTS), uts);
  assert_int_equal (fake_ns_id (w.k, init, FAKE_NS_IPC), ipc);
  assert_int_equal (fake_ns_id (w.k, init, FAKE_NS_PID), pid_ns);
  /* a new mount namespace; the runtime itself is back in its own pid namespace */
  assert_false (fake_same_ns (w.k, init, w.cli, FAKE_NS_MNT));
  assert_int_not_equal (fake_ns_id (w.k, w.cli, FAKE_NS_PID), pid_ns);
  first_setns = fake_journal_find (w.k, SYS_ID_setns, 0);
  assert_true (first_setns >= 0);
  fx_next_command (&w);
  FX_OK (&w, container_delete (FX_ROOT, "c1", true, &err), err);
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

static void
a_namespace_path_that_cannot_be_opened_is_named (void **state)
{
  struct focker_err *err = NULL;
  struct fx_world w;

  (void)state;
  world_init (&w, ",{\"type\":\"network\",\"path\":\"/run/netns/missing\"}");
  assert_int_equal (container_create (&opts, NULL, &err), -ENOENT);
  if (strstr (err->msg, "linux.namespaces[1].path: open /run/netns/missing") == NULL)
    fail_msg ("got \"%s\"", err->msg);
  focker_err_free (err);
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

/* Every call of a create joining namespaces fails in turn: nothing is left, and the
 * runtime's children are born in its own pid namespace again (the join is for the init's
 * clone only).  ctx: the kernel personality (NULL: v2; v1 adds the `tasks` opens). */
static int
create_joining_namespaces_run (struct fx_fault *f, void *ctx)
{
  char config[4096];
  struct fx_world w;
  const struct fake_proc *cli;
  int r;

  snprintf (config, sizeof config, config_fmt,
            ",{\"type\":\"network\",\"path\":\"/run/netns/n1\"},"
            "{\"type\":\"pid\",\"path\":\"/run/ns/pid\"}");
  fx_world_init (&w, ctx, config);
  fake_ns_file (w.k, "/run/netns/n1", FAKE_NS_NET);
  fake_ns_file (w.k, "/run/ns/pid", FAKE_NS_PID);
  r = fx_create_fault_run (f, &w, &opts);
  cli = fake_proc (w.k, w.cli);
  if (cli->ns_for_children_id[FAKE_NS_PID] != cli->ns_id[FAKE_NS_PID])
    fail_msg ("fault at call %ld: the runtime's children would be born in the joined pid "
              "namespace",
              f->n);
  fx_world_fini (&w);
  return r;
}

static void
create_joining_namespaces_fault_loop (void **state)
{
  static const struct fake_personality v1 = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_V1 };

  (void)state;
  fx_fault_loop (FX_FAULT_ONCE, create_joining_namespaces_run, NULL);
  fx_fault_loop (FX_FAULT_ONCE, create_joining_namespaces_run, (void *)&v1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (run_returns_the_exit_status_and_deletes),
    cmocka_unit_test (run_takes_a_parsed_config),
    cmocka_unit_test (run_detached_leaves_it_running),
    cmocka_unit_test (namespaces_given_by_path_are_joined),
    cmocka_unit_test (a_namespace_path_that_cannot_be_opened_is_named),
    cmocka_unit_test (create_joining_namespaces_fault_loop),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
