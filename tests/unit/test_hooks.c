/* test_hooks.c: OCI hooks on the fake kernel.  The hook binaries are fake programs
 * (fake_program) that read the state from their stdin and record what they saw; the tests
 * check the order of the six kinds, the state each one is given, where each runs, argv and
 * env, and that a failing hook fails its command with one line and leaves nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "core/container.h"
#include "tests/unit/fixture.h"

static const char *const config_fmt
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\"}]},"
      "\"hooks\":{%s}}";

static const struct create_opts opts = { .root = FX_ROOT, .id = "c1", .bundle = FX_BUNDLE };

#define MAX_RUNS 16

/* What each run of a hook program saw. */
struct hook_run
{
  char kind[32];   /* argv[1] */
  char status[16]; /* "status" of the state on stdin */
  char env[64];    /* envp[0] */
  pid_t pid;
  unsigned long mnt_ns;
};

struct hook_log
{
  struct hook_run runs[MAX_RUNS];
  int n;
  int exit_status; /* what the program returns when argv[2] is "fail" */
};

static unsigned long
mnt_ns_of (struct fake_kernel *k, pid_t pid)
{
  return fake_ns_id (k, pid, FAKE_NS_MNT);
}

/* The hook: read the state to EOF, note it, exit 0 (or the log's status for "fail"). */
static int
recorder (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg)
{
  struct hook_log *log = arg;
  struct hook_run *run;
  char buf[8192];
  size_t len = 0;
  ssize_t n;
  json_t *state;

  while (len < sizeof buf - 1 && (n = sys_read (0, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)n;
  buf[len] = '\0';
  if (log->n >= MAX_RUNS)
    return 99;
  run = &log->runs[log->n++];
  snprintf (run->kind, sizeof run->kind, "%s", argv[1] ? argv[1] : "");
  snprintf (run->env, sizeof run->env, "%s", envp[0] ? envp[0] : "");
  run->pid = sys_getpid ();
  run->mnt_ns = mnt_ns_of (k, run->pid);
  state = json_loads (buf, 0, NULL);
  if (state && json_is_string (json_object_get (state, "status")))
    snprintf (run->status, sizeof run->status, "%s",
              json_string_value (json_object_get (state, "status")));
  json_decref (state);
  return argv[1] && argv[2] && strcmp (argv[2], "fail") == 0 ? log->exit_status : 0;
}

static void
world_init (struct fx_world *w, const char *hooks, struct hook_log *log)
{
  char config[4096];

  snprintf (config, sizeof config, config_fmt, hooks);
  fx_world_init (w, NULL, config);
  /* the host's hook, and the container's own for startContainer (run after pivot_root) */
  assert_int_equal (fake_write_file (w->k, "/hooks/rec", "ELF", 0755), 0);
  assert_int_equal (fake_write_file (w->k, FX_BUNDLE "/rootfs/hooks/rec", "ELF", 0755), 0);
  fake_program (w->k, "/hooks/rec", recorder, log);
}

/* clang-format cannot lay out string literals glued to macro calls: the hook lists below
 * are kept as written */
/* clang-format off */
#define HOOKX(kind, extra) "{\"path\":\"/hooks/rec\",\"args\":[\"rec\",\"" kind "\"" extra "]}"
#define HOOK(kind) HOOKX (kind, "")
/* clang-format on */

static void
every_kind_runs_in_order_with_its_state (void **state)
{
  struct hook_log log = { 0 };
  struct focker_err *err = NULL;
  struct fx_world w;
  pid_t init = 0;
  static const struct
  {
    const char *kind, *status;
    bool in_container;
  } want[] = {
    { "prestart", "creating", false },       { "createRuntime", "creating", false },
    { "createContainer", "creating", true }, { "startContainer", "created", true },
    { "poststart", "running", false },       { "poststop", "stopped", false },
  };

  (void)state;
  /* clang-format off */
  world_init (&w,
              "\"prestart\":[" HOOK ("prestart") "],"
              "\"createRuntime\":[" HOOK ("createRuntime") "],"
              "\"createContainer\":[" HOOK ("createContainer") "],"
              "\"startContainer\":[" HOOK ("startContainer") "],"
              "\"poststart\":[{\"path\":\"/hooks/rec\",\"args\":[\"rec\",\"poststart\"],"
              "\"env\":[\"HOOK=yes\"]}],"
              "\"poststop\":[" HOOK ("poststop") "]",
              &log);
  /* clang-format on */
  FX_OK (&w, container_create (&opts, &init, &err), err);
  assert_int_equal (log.n, 3);
  fx_next_command (&w);
  FX_OK (&w, container_start (FX_ROOT, "c1", &err), err);
  assert_int_equal (log.n, 5);
  fx_next_command (&w);
  FX_OK (&w, container_delete (FX_ROOT, "c1", true, &err), err);
  assert_int_equal (log.n, 6);
  for (int i = 0; i < 6; i++)
    {
      const struct hook_run *r = &log.runs[i];
      if (strcmp (r->kind, want[i].kind) != 0)
        fail_msg ("hook %d: expected %s, ran %s", i, want[i].kind, r->kind);
      if (strcmp (r->status, want[i].status) != 0)
        fail_msg ("%s: expected status %s, got [%s]", r->kind, want[i].status, r->status);
      /* createContainer/startContainer see the container's mounts; the others the host's */
      if ((r->mnt_ns != mnt_ns_of (w.k, 1)) != want[i].in_container)
        fail_msg ("%s ran in the %s mount namespace", r->kind,
                  want[i].in_container ? "host's" : "container's");
    }
  /* env is the hook's own, and empty when it has none */
  assert_string_equal (log.runs[4].env, "HOOK=yes");
  assert_string_equal (log.runs[0].env, "");
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

/* A failing hook of each kind run by create: create fails naming the hook and its status,
 * and the hooks after it do not run. */
static void
failing_create_hooks_fail_create_and_leave_nothing (void **state)
{
  static const char *const kinds[] = { "prestart", "createRuntime", "createContainer" };
  (void)state;
  for (size_t i = 0; i < 3; i++)
    {
      struct hook_log log = { .exit_status = 3 };
      struct focker_err *err = NULL;
      struct fx_world w;
      char hooks[1024], want[128];
      int r;

      /* clang-format off */
      snprintf (hooks, sizeof hooks,
                "\"%s\":[{\"path\":\"/hooks/rec\",\"args\":[\"rec\",\"%s\",\"fail\"]}],"
                "\"poststart\":[" HOOK ("poststart") "]",
                kinds[i], kinds[i]);
      /* clang-format on */
      world_init (&w, hooks, &log);
      r = container_create (&opts, NULL, &err);
      assert_true (r < 0);
      snprintf (want, sizeof want, "hooks.%s[0]: /hooks/rec exited with status 3", kinds[i]);
      if (strstr (err->msg, want) == NULL || strchr (err->msg, '\n'))
        fail_msg ("expected \"%s\" on one line, got \"%s\"", want, err->msg);
      focker_err_free (err);
      assert_int_equal (log.n, 1);
      assert_true (fx_nothing_left (&w, "c1"));
      fx_world_fini (&w);
    }
}

/* A hook that cannot be executed, and a failing poststop hook, which only warns. */
static void
missing_hook_and_failing_poststop (void **state)
{
  struct hook_log log = { .exit_status = 1 };
  struct focker_err *err = NULL;
  struct fx_world w;
  int r;

  (void)state;
  world_init (&w, "\"prestart\":[{\"path\":\"/hooks/missing\"}]", &log);
  r = container_create (&opts, NULL, &err);
  assert_true (r < 0);
  if (strstr (err->msg, "hooks.prestart[0]: /hooks/missing: cannot execute") == NULL)
    fail_msg ("got \"%s\"", err->msg);
  focker_err_free (err);
  err = NULL;
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);

  /* clang-format off */
  world_init (&w, "\"poststop\":[" HOOKX ("poststop", ",\"fail\"") "]", &log);
  /* clang-format on */
  FX_OK (&w, container_create (&opts, NULL, &err), err);
  fx_next_command (&w);
  FX_OK (&w, container_delete (FX_ROOT, "c1", true, &err), err);
  assert_int_equal (log.n, 1);
  assert_string_equal (log.runs[0].kind, "poststop");
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

/* Every call of a create with hooks fails in turn: nothing left, whatever failed. */
static int
create_with_hooks_run (struct fx_fault *f, void *ctx)
{
  struct hook_log log = { 0 };
  struct fx_world w;
  int r;

  (void)ctx;
  /* clang-format off */
  world_init (&w,
              "\"prestart\":[" HOOK ("prestart") "],"
              "\"createContainer\":[" HOOK ("createContainer") "]",
              &log);
  /* clang-format on */
  r = fx_create_fault_run (f, &w, &opts);
  fx_world_fini (&w);
  return r;
}

static void
create_with_hooks_fault_loop (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE, create_with_hooks_run, NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (every_kind_runs_in_order_with_its_state),
    cmocka_unit_test (failing_create_hooks_fail_create_and_leave_nothing),
    cmocka_unit_test (missing_hook_and_failing_poststop),
    cmocka_unit_test (create_with_hooks_fault_loop),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
