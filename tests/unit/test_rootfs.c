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

/* Index in the journal of the first (or last) call matching pid (-1: any), id and an args
 * substring. */
static long
journal_index (struct fake_kernel *k, pid_t pid, enum sys_id id, const char *arg, bool last)
{
  long found = -1;

  for (size_t i = 0; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if ((pid < 0 || c->pid == pid) && c->id == id && (arg == NULL || strstr (c->args, arg)))
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

/* The init's v1 cgroup `tasks` files, opened by the parent before the clone: the number of
 * them (journal indexes of the first and last in *first, *last). */
static int
tasks_opens (struct fx_world *w, long *first, long *last)
{
  int n = 0;

  *first = *last = -1;
  for (size_t i = 0; i < fake_journal_len (w->k); i++)
    {
      const struct fake_call *c = fake_journal_at (w->k, i);
      if (c->pid == w->cli && c->id == SYS_ID_openat && strstr (c->args, "/tasks -100 524289"))
        {
          if (n++ == 0)
            *first = (long)i;
          *last = (long)i;
        }
    }
  return n;
}

/* On a v1 host the init moves itself into its cgroups, first thing: a write of "0" to each
 * `tasks` the parent opened before the clone (the kernel moves a thread writing about itself
 * without the RCU grace period a move by pid may wait for).  So the runtime's hooks, a
 * cgroup namespace and the init's mounts all find it placed, and the parent moves nothing.
 * The init's first calls (closes aside) are its two prctls, then one write a hierarchy,
 * before any report or mount. */
static void
the_init_places_itself_in_v1_before_anything_else (void **state)
{
  (void)state;
  for (int hooks = 0; hooks < 2; hooks++)
    for (int cgns = 0; cgns < 2; cgns++)
      {
        struct fx_world w;
        pid_t init = create_on_v1 (&w, hooks, cgns);
        long first_tasks, last_tasks, clone, unshare;
        int n = tasks_opens (&w, &first_tasks, &last_tasks), seen = 0, writes = 0;

        clone = journal_index (w.k, w.cli, SYS_ID_clone, NULL, false);
        unshare = journal_index (w.k, init, SYS_ID_unshare, NULL, false);
        assert_true (n > 1 && clone > last_tasks);
        /* nobody writes a pid to a cgroup.procs */
        assert_int_equal (journal_index (w.k, -1, SYS_ID_openat, "cgroup.procs -100 524289", false),
                          -1);
        for (size_t i = (size_t)clone; i < fake_journal_len (w.k) && seen < 2 + n; i++)
          {
            const struct fake_call *c = fake_journal_at (w.k, i);
            if (c->pid != init || c->id == SYS_ID_close)
              continue;
            seen++;
            if (c->id == SYS_ID_write)
              writes++;
            else if (c->id != SYS_ID_prctl)
              fail_msg ("init call %s before its cgroup moves", sys_names[c->id]);
          }
        assert_int_equal (writes, n);
        if (cgns)
          assert_true (unshare > clone);
        else
          assert_true (unshare < 0);
        /* placed in every hierarchy */
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

/* The init cannot move itself (a v1 cpuset without cpus refuses with ENOSPC): its error,
 * naming the cgroup, is the one reported, and nothing is left.  The same when the parent
 * cannot open a `tasks` file. */
static void
a_placement_failure_is_reported_and_leaves_nothing (void **state)
{
  struct fake_personality p = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_V1 };
  char cfg[4096];

  (void)state;
  snprintf (cfg, sizeof cfg, placed_config, "", ",{\"type\":\"cgroup\"}");
  for (int in_init = 0; in_init < 2; in_init++)
    {
      struct focker_err *err = NULL;
      struct fx_world w;
      long first_tasks, last_tasks, n = 0, at;
      pid_t init;
      enum sys_id id = in_init ? SYS_ID_write : SYS_ID_openat;

      /* a dry run: which write is the init's first move, or which openat the parent's last
       * `tasks` */
      fx_world_init (&w, &p, cfg);
      FX_OK (&w, container_create (&opts, &init, &err), err);
      tasks_opens (&w, &first_tasks, &last_tasks);
      at = in_init ? journal_index (w.k, init, SYS_ID_write, NULL, false) : last_tasks;
      assert_true (at >= 0);
      for (long i = 0; i <= at; i++)
        n += fake_journal_at (w.k, (size_t)i)->id == id;
      fx_world_fini (&w);
      fx_world_init (&w, &p, cfg);
      fake_fail_nth (w.k, n, false, in_init ? ENOSPC : EACCES,
                     in_init ? SYS_MASK (write) : SYS_MASK (openat));
      assert_int_equal (container_create (&opts, NULL, &err), in_init ? -ENOSPC : -EACCES);
      if (strstr (err->msg, in_init ? "cgroup: move into /sys/fs/cgroup/" : "/tasks") == NULL)
        fail_msg ("expected an error naming the cgroup, got \"%s\"", err->msg);
      focker_err_free (err);
      assert_true (fx_nothing_left (&w, "c1"));
      fx_world_fini (&w);
    }
}

/* The same with a user namespace: the parent writes the init's id maps and then MAPS_DONE
 * before anything else, so an init that failed its first move (and exited) must still be
 * the one whose error is reported, not the parent's failed signal. */
static void
a_placement_failure_in_a_user_namespace_reports_the_inits_error (void **state)
{
  struct fake_personality p = { .major = 6, .minor = 18, .cgroup = FAKE_CGROUP_V1 };
  char cfg[4096];
  struct focker_err *err = NULL;
  struct fx_world w;
  long n = 0, at;
  pid_t init;

  (void)state;
  snprintf (cfg, sizeof cfg, placed_config, "",
            ",{\"type\":\"user\"}],"
            "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
            "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
            "\"x\":[0");
  fx_world_init (&w, &p, cfg);
  FX_OK (&w, container_create (&opts, &init, &err), err);
  at = journal_index (w.k, init, SYS_ID_write, NULL, false);
  assert_true (at >= 0);
  for (long i = 0; i <= at; i++)
    n += fake_journal_at (w.k, (size_t)i)->id == SYS_ID_write;
  fx_world_fini (&w);
  fx_world_init (&w, &p, cfg);
  fake_fail_nth (w.k, n, false, ENOSPC, SYS_MASK (write));
  if (container_create (&opts, NULL, &err) != -ENOSPC
      || strstr (err->msg, "cgroup: move into /sys/fs/cgroup/") == NULL)
    fail_msg ("expected the init's ENOSPC naming the cgroup, got %d \"%s\"", err->code, err->msg);
  focker_err_free (err);
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (mount_label_goes_on_labelable_filesystems),
    cmocka_unit_test (the_init_places_itself_in_v1_before_anything_else),
    cmocka_unit_test (cgroup_mounts_bind_the_hosts_outside_a_cgroup_namespace),
    cmocka_unit_test (an_init_failing_during_placement_reports_its_own_error),
    cmocka_unit_test (a_placement_failure_is_reported_and_leaves_nothing),
    cmocka_unit_test (a_placement_failure_in_a_user_namespace_reports_the_inits_error),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
