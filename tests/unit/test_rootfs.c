/* test_rootfs.c: how the container's filesystems are mounted, on the fake kernel. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <cmocka.h>
#include "core/container.h"
#include "tests/unit/fixture.h"

static const char *const config
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
      "\"mode=755\"]},"
      "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}],"
      "\"mountLabel\":\"system_u:object_r:container_file_t:s0:c1,c2\"}}";

static int
exits_with (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg)
{
  (void)k;
  (void)argv;
  (void)envp;
  return *(int *)arg;
}

static const struct create_opts opts = { .root = FX_ROOT, .id = "c1", .bundle = FX_BUNDLE };

/* linux.mountLabel: a context= option on tmpfs and the like when SELinux is on; procfs keeps
 * the policy's label; with SELinux off the label is ignored. */
static void
mount_label_goes_on_labelable_filesystems (void **state)
{
  (void)state;
  for (int selinux = 0; selinux < 2; selinux++)
    {
      const struct fake_mount *dev, *tmp, *proc;
      struct focker_err *err = NULL;
      struct fx_world w;
      pid_t init = 0;

      fx_world_init (&w, NULL, config);
      if (selinux)
        assert_int_equal (fake_write_file (w.k, "/sys/fs/selinux/enforce", "1", 0644), 0);
      FX_OK (&w, container_create (&opts, &init, &err), err);
      dev = fake_mount_find (w.k, init, "/dev");
      tmp = fake_mount_find (w.k, init, "/tmp");
      proc = fake_mount_find (w.k, init, "/proc");
      assert_non_null (dev);
      assert_non_null (tmp);
      assert_non_null (proc);
      if (selinux)
        {
          assert_string_equal (dev->data,
                               "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
          assert_string_equal (tmp->data,
                               "context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
        }
      else
        {
          assert_string_equal (dev->data, "mode=755");
          assert_true (tmp->data == NULL || strstr (tmp->data, "context=") == NULL);
        }
      assert_true (proc->data == NULL || strstr (proc->data, "context=") == NULL);
      fx_next_command (&w);
      FX_OK (&w, container_delete (FX_ROOT, "c1", true, &err), err);
      fx_world_fini (&w);
    }
}

static const char *const placed_config
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
      "\"options\":[\"ro\"]}]%s,"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}%s]}}";

/* Index in the journal of the first (or last) call matching pid, id and an args substring. */
static long
journal_index (struct fake_kernel *k, pid_t pid, enum sys_id id, const char *arg, bool last)
{
  long found = -1;

  for (size_t i = 0; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if (c->pid == pid && c->id == id && (arg == NULL || strstr (c->args, arg)))
        {
          found = (long)i;
          if (!last)
            break;
        }
    }
  return found;
}

/* A fake v1 host, the container created from placed_config with a prestart hook or not and
 * a cgroup namespace or not: the init's pid. */
static pid_t
create_on_v1 (struct fx_world *w, bool hooks, bool cgns)
{
  static const struct fake_personality p = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_V1 };
  struct focker_err *err = NULL;
  char cfg[4096];
  pid_t init = 0;

  snprintf (cfg, sizeof cfg, placed_config,
            hooks ? ",\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]}" : "",
            cgns ? ",{\"type\":\"cgroup\"}" : "");
  fx_world_init (w, &p, cfg);
  if (hooks)
    {
      static int zero = 0;
      assert_int_equal (fake_write_file (w->k, "/bin/true", "ELF", 0755), 0);
      fake_program (w->k, "/bin/true", exits_with, &zero);
    }
  FX_OK (w, container_create (&opts, &init, &err), err);
  return init;
}

/* Delete the container and check that nothing is left, then end the world. */
static void
delete_and_end (struct fx_world *w)
{
  struct focker_err *err = NULL;

  fx_next_command (w);
  FX_OK (w, container_delete (FX_ROOT, "c1", true, &err), err);
  assert_true (fx_nothing_left (w, "c1"));
  fx_world_fini (w);
}

/* On a v1 host the init is moved into its cgroups while it sets up its root (the first move
 * waits for an RCU grace period).  With a cgroup namespace, the mounts before the first
 * cgroup mount come first, the namespace and the cgroup mount after the last move; without
 * one, the whole root (pivot_root included) is made before the first move.  With runtime
 * hooks, which may look for the cgroup, the moves come before the init goes on; without, GO
 * and the moves come before the init's first report is read. */
static void
v1_placement_overlaps_the_root_setup_unless_hooks_run (void **state)
{
  (void)state;
  for (int hooks = 0; hooks < 2; hooks++)
    for (int cgns = 0; cgns < 2; cgns++)
      {
        struct fx_world w;
        pid_t init = create_on_v1 (&w, hooks, cgns);
        long first_move, last_move, proc_mount, unshare, cgroup_mount, pivot;

        /* the moves: cgroup.procs opened O_WRONLY|O_CLOEXEC (the args say flags in decimal) */
        first_move = journal_index (w.k, w.cli, SYS_ID_openat, "cgroup.procs -100 524289", false);
        last_move = journal_index (w.k, w.cli, SYS_ID_openat, "cgroup.procs -100 524289", true);
        proc_mount = journal_index (w.k, init, SYS_ID_mount, "proc /proc/self/fd", false);
        unshare = journal_index (w.k, init, SYS_ID_unshare, NULL, false);
        pivot = journal_index (w.k, init, SYS_ID_pivot_root, NULL, false);
        /* /sys/fs/cgroup on a v1 host: a tmpfs, then one cgroup mount per hierarchy */
        cgroup_mount = journal_index (w.k, init, SYS_ID_mount, "tmpfs /proc/self/fd", false);
        assert_true (first_move >= 0 && proc_mount >= 0 && cgroup_mount >= 0 && pivot >= 0);
        /* the parent reads the init's first report only after the moves: with hooks the moves
         * come first, without them GO and the moves follow the clone at once */
        long after_clone = journal_index (w.k, w.cli, SYS_ID_clone, NULL, false);
        long first_read = -1;
        for (size_t i = (size_t)after_clone; first_read < 0 && i < fake_journal_len (w.k); i++)
          if (fake_journal_at (w.k, i)->pid == w.cli && fake_journal_at (w.k, i)->id == SYS_ID_read)
            first_read = (long)i;
        assert_true (after_clone >= 0 && first_read > after_clone);
        assert_true (last_move < first_read);
        if (hooks)
          assert_true (last_move < proc_mount);
        else if (cgns)
          assert_true (proc_mount < first_move && pivot > last_move);
        else
          assert_true (pivot < first_move);
        if (cgns)
          assert_true (last_move < unshare && unshare < cgroup_mount);
        else
          assert_true (unshare < 0);
        /* placed in every hierarchy all the same */
        assert_string_equal (fake_proc (w.k, init)->cgroup_path, "/focker-c1");
        delete_and_end (&w);
      }
}

/* Without a cgroup namespace of its own, the container's v1 hierarchies are read-only binds
 * of the runtime's mounts (the same view as new mounts, without the kernel's cgroup_mutex);
 * with one, new cgroup mounts rooted at its cgroup. */
static void
cgroup_mounts_bind_the_hosts_outside_a_cgroup_namespace (void **state)
{
  (void)state;
  for (int cgns = 0; cgns < 2; cgns++)
    {
      struct fx_world w;
      pid_t init = create_on_v1 (&w, false, cgns);
      const struct fake_mount *m = fake_mount_find (w.k, init, "/sys/fs/cgroup/pids");

      assert_non_null (m);
      assert_true (m->flags & MS_RDONLY);
      assert_string_equal (m->fstype, "cgroup");
      assert_string_equal (m->source, cgns ? "cgroup" : "/sys/fs/cgroup/pids");
      delete_and_end (&w);
    }
}

/* The init goes on while the parent places it: when it fails meanwhile, the parent's write
 * of PLACED meets a closed pipe, and the init's own error is still the one reported. */
static void
an_init_failing_during_placement_reports_its_own_error (void **state)
{
  struct fake_personality p = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_V1 };
  struct focker_err *err = NULL;
  struct fx_world w;
  char cfg[4096], host[200];

  (void)state;
  memset (host, 'h', sizeof host - 1);
  host[sizeof host - 1] = '\0';
  snprintf (cfg, sizeof cfg,
            "{\"ociVersion\":\"1.0.2\",\"hostname\":\"%s\","
            "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\"},"
            "\"root\":{\"path\":\"rootfs\"},"
            "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"uts\"}]}}",
            host);
  fx_world_init (&w, &p, cfg);
  assert_true (container_create (&opts, NULL, &err) < 0);
  if (strstr (err->msg, "hostname") == NULL)
    fail_msg ("expected the init's error naming hostname, got \"%s\"", err->msg);
  focker_err_free (err);
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

/* The parent fails to place the init while the init waits at its gate: the parent's own
 * error is reported (not a wait on each other), and nothing is left. */
static void
a_placement_failure_ends_the_waiting_init (void **state)
{
  struct fake_personality p = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_V1 };
  struct focker_err *err = NULL;
  struct fx_world w;
  char cfg[4096];
  long n = 0;

  (void)state;
  snprintf (cfg, sizeof cfg, placed_config, "", ",{\"type\":\"cgroup\"}");
  /* a dry run: which openat is the parent's first move */
  fx_world_init (&w, &p, cfg);
  FX_OK (&w, container_create (&opts, NULL, &err), err);
  for (size_t i = 0; i < fake_journal_len (w.k); i++)
    {
      const struct fake_call *c = fake_journal_at (w.k, i);
      if (c->id != SYS_ID_openat)
        continue;
      n++;
      if (c->pid == w.cli && strstr (c->args, "cgroup.procs -100 524289"))
        break;
    }
  fx_world_fini (&w);
  fx_world_init (&w, &p, cfg);
  fake_fail_nth (w.k, n, false, EACCES, SYS_MASK (openat));
  assert_int_equal (container_create (&opts, NULL, &err), -EACCES);
  if (strstr (err->msg, "cgroup: move") == NULL)
    fail_msg ("expected the parent's move error, got \"%s\"", err->msg);
  focker_err_free (err);
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (mount_label_goes_on_labelable_filesystems),
    cmocka_unit_test (v1_placement_overlaps_the_root_setup_unless_hooks_run),
    cmocka_unit_test (cgroup_mounts_bind_the_hosts_outside_a_cgroup_namespace),
    cmocka_unit_test (an_init_failing_during_placement_reports_its_own_error),
    cmocka_unit_test (a_placement_failure_ends_the_waiting_init),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
