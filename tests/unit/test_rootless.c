/* test_rootless.c: create/start/delete by a non-root caller (create_opts.rootless) on the
 * fake kernel.
 *
 * The fake models what decides it: cgroupfs refuses mkdir to a caller that is neither root
 * nor the owner of the parent (nothing is delegated here); a user namespace's maps may be
 * written by an unprivileged owner only as one line mapping its own euid (egid), gid_map
 * only after "deny" to setgroups; newuidmap and newgidmap are programs the tests register
 * (setuid root: they write what they are given, or refuse). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/cleanup.h"
#include "core/container.h"
#include "core/state.h"
#include "tests/unit/fixture.h"

#define UID 1000

/* A rootless bundle as `focker spec --rootless` makes it, minus what the fake does not
 * need; %s: more of linux (maps, resources), %s: more of process.user. */
static const char *const config_fmt
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\",\"-c\",\"echo hi\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0%s}},"
      "\"root\":{\"path\":\"rootfs\"},\"hostname\":\"fk\","
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\"},"
      "{\"type\":\"ipc\"},{\"type\":\"network\"},{\"type\":\"user\"}]%s}}";

#define OWN_MAPS                                                                                   \
  ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"                             \
  "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]"
#define SUB_MAPS                                                                                   \
  ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1},"                              \
  "{\"containerID\":1,\"hostID\":100000,\"size\":65536}],"                                         \
  "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1},"                               \
  "{\"containerID\":1,\"hostID\":100000,\"size\":65536}]"

static const struct create_opts opts
    = { .root = FX_ROOT, .id = "c1", .bundle = FX_BUNDLE, .rootless = true };

/* The current command runs as uid and gid UID. */
static void
become_user (struct fx_world *w)
{
  struct fake_proc *p = fake_proc (w->k, w->cli);
  p->uid = p->euid = p->suid = UID;
  p->gid = p->egid = p->sgid = UID;
  p->cap_eff = p->cap_perm = 0;
}

static void
world (struct fx_world *w, const char *user_extra, const char *linux_extra)
{
  char config[4096];

  snprintf (config, sizeof config, config_fmt, user_extra, linux_extra);
  fx_world_init (w, NULL, config);
  become_user (w);
}

static pid_t
create_ok (struct fx_world *w)
{
  struct focker_err *err = NULL;
  pid_t pid = 0;

  FX_OK (w, container_create (&opts, &pid, &err), err);
  assert_true (pid > 0);
  return pid;
}

static void
create_fails (struct fx_world *w, const char *want)
{
  struct focker_err *err = NULL;
  int r = container_create (&opts, NULL, &err);

  if (r >= 0)
    fail_msg ("create succeeded, expected \"%s\"", want);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("error \"%s\" does not say \"%s\"", err->msg, want);
  assert_true (fx_nothing_left (w, "c1"));
  focker_err_free (err);
}

static void
own_ids_are_mapped_directly_and_no_cgroup_is_made (void **state)
{
  struct fx_world w;
  struct focker_err *err = NULL;
  struct fake_proc *init;
  char *json;
  pid_t pid;

  (void)state;
  world (&w, "", OWN_MAPS);
  pid = create_ok (&w);
  init = fake_proc (w.k, pid);
  assert_string_equal (init->uid_map, "0 1000 1\n");
  assert_string_equal (init->gid_map, "0 1000 1\n");
  assert_string_equal (init->setgroups, "deny");
  assert_false (init->dumpable); /* dumpable only while the maps were written */
  assert_true (fx_no_cgroup_left ());
  json = fx_read (FX_ROOT "/c1=state.json");
  assert_null (strstr (json, "\"cgroup\""));
  free (json);
  json = fx_read (FX_ROOT "/c1"); /* the lock file: no cgroup intent left in it */
  assert_string_equal (json, "");
  free (json);
  fx_next_command (&w);
  become_user (&w);
  FX_OK (&w, container_start (FX_ROOT, "c1", &err), err);
  assert_true (fake_proc (w.k, pid)->execed);
  assert_int_equal (container_pause (FX_ROOT, "c1", &err), -EOPNOTSUPP);
  assert_string_equal (err->msg, "container c1 has no cgroup");
  focker_err_free (TAKE_PTR (err));
  FX_OK (&w, container_delete (FX_ROOT, "c1", true, &err), err);
  assert_true (fx_nothing_left (&w, "c1"));
  fx_world_fini (&w);
}

static void
user_namespace_without_maps_maps_the_caller_to_root (void **state)
{
  struct fx_world w;
  struct fake_proc *init;

  (void)state;
  world (&w, "", "");
  init = fake_proc (w.k, create_ok (&w));
  assert_string_equal (init->uid_map, "0 1000 1\n");
  assert_string_equal (init->gid_map, "0 1000 1\n");
  assert_int_equal (init->euid, 0);
  fx_world_fini (&w);
}

static void
what_needs_privilege_fails_with_one_line_and_leaves_nothing (void **state)
{
  static const struct
  {
    const char *user, *linux_, *want;
  } cases[] = {
    { "", OWN_MAPS ",\"resources\":{\"pids\":{\"limit\":10}}",
      "linux.resources: running rootless, and no cgroup is delegated to this user" },
    { "", OWN_MAPS ",\"cgroupsPath\":\"/mine\"",
      "linux.cgroupsPath: \"/mine\" cannot be made: running rootless" },
    { ",\"additionalGids\":[5]", OWN_MAPS, "process.user.additionalGids: cannot be set rootless" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      struct fx_world w;
      world (&w, cases[i].user, cases[i].linux_);
      create_fails (&w, cases[i].want);
      fx_world_fini (&w);
    }
}

/* Device rules alone ask the cgroup for nothing a rootless container could be refused. */
static void
device_rules_alone_run_without_a_cgroup (void **state)
{
  struct fx_world w;

  (void)state;
  world (&w, "", OWN_MAPS ",\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}");
  create_ok (&w);
  assert_true (fx_no_cgroup_left ());
  fx_world_fini (&w);
}

/* A delegated subtree (the user owns the cgroup) is used, limits and all. */
static void
a_delegated_cgroup_is_used (void **state)
{
  struct fx_world w;
  struct fake_proc *init;
  char *max;

  (void)state;
  world (&w, "", OWN_MAPS ",\"cgroupsPath\":\"/user/c1\",\"resources\":{\"pids\":{\"limit\":10}}");
  fake_proc (w.k, w.cli)->euid = 0;
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/sys/fs/cgroup/user", 0755), 0);
  assert_int_equal (sys_fchownat (AT_FDCWD, "/sys/fs/cgroup/user", UID, UID, 0), 0);
  become_user (&w);
  init = fake_proc (w.k, create_ok (&w));
  assert_string_equal (init->cgroup_path, "/user/c1");
  max = fake_read_file (w.k, "/sys/fs/cgroup/user/c1/pids.max");
  assert_non_null (max);
  assert_string_equal (max, "10");
  free (max);
  fx_world_fini (&w);
}

/* newuidmap/newgidmap as the tests play them: setuid root, they write the map they are
 * given (arg NULL), or refuse (arg non-NULL) as /etc/subuid would. */
static int
idmap_helper (struct fake_kernel *k, char *const argv[], char *const envp[], void *arg)
{
  bool gid = strcmp (argv[0], "newgidmap") == 0;
  char path[64], text[256] = "";
  int fd;

  (void)envp;
  if (arg)
    return 1;
  for (size_t i = 2; argv[i] && argv[i + 1] && argv[i + 2]; i += 3)
    snprintf (text + strlen (text), sizeof text - strlen (text), "%s %s %s\n", argv[i], argv[i + 1],
              argv[i + 2]);
  fake_proc (k, sys_getpid ())->euid = 0; /* the setuid bit */
  snprintf (path, sizeof path, "/proc/%s/%s", argv[1], gid ? "gid_map" : "uid_map");
  fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0 || sys_write (fd, text, strlen (text)) != (ssize_t)strlen (text))
    return 1;
  sys_close (fd);
  return 0;
}

static void
helpers (struct fx_world *w, bool refuse)
{
  for (const char *const *p
       = (const char *const[]){ "/usr/bin/newuidmap", "/usr/bin/newgidmap", NULL };
       *p; p++)
    {
      assert_int_equal (fake_write_file (w->k, *p, "ELF", 04755), 0);
      fake_program (w->k, *p, idmap_helper, refuse ? (void *)1 : NULL);
    }
}

static void
other_maps_go_through_newuidmap (void **state)
{
  struct fx_world w;
  struct fake_proc *init;

  (void)state;
  setenv ("PATH", "/usr/bin:/bin", 1);
  world (&w, ",\"additionalGids\":[5]", SUB_MAPS);
  helpers (&w, false);
  init = fake_proc (w.k, create_ok (&w));
  assert_string_equal (init->uid_map, "0 1000 1\n1 100000 65536\n");
  assert_string_equal (init->gid_map, "0 1000 1\n1 100000 65536\n");
  assert_string_equal (init->setgroups, "allow");
  fx_world_fini (&w);

  world (&w, "", SUB_MAPS);
  helpers (&w, true);
  create_fails (&w, "linux.uidMappings: /usr/bin/newuidmap exited with status 1 (running "
                    "rootless, only the ids /etc/subuid gives this user, 1000, can be mapped)");
  fx_world_fini (&w);

  world (&w, "", SUB_MAPS);
  create_fails (&w, "linux.uidMappings: running rootless, a map other than of the caller's own "
                    "id (1000) needs newuidmap");
  fx_world_fini (&w);
}

/* --rootless true as root: root writes any map itself (it is in no /etc/subuid). */
static void
root_with_rootless_true_writes_maps_itself (void **state)
{
  struct fx_world w;
  struct fake_proc *init;
  char config[4096];

  (void)state;
  snprintf (config, sizeof config, config_fmt, "", SUB_MAPS);
  fx_world_init (&w, NULL, config);
  init = fake_proc (w.k, create_ok (&w));
  assert_string_equal (init->uid_map, "0 1000 1\n1 100000 65536\n");
  assert_string_equal (init->setgroups, "allow");
  assert_false (fx_no_cgroup_left ()); /* root makes its cgroup */
  fx_world_fini (&w);
}

static int
child_waits (void *arg)
{
  int *go = arg;
  char c;

  sys_read (go[0], &c, 1);
  return 0;
}

static int
write_proc (pid_t pid, const char *file, const char *text)
{
  char path[64];
  int fd, r;

  snprintf (path, sizeof path, "/proc/%d/%s", (int)pid, file);
  fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return fd;
  r = (int)sys_write (fd, text, strlen (text));
  sys_close (fd);
  return r < 0 ? r : 0;
}

/* The kernel's rules for an unprivileged writer, as the fake models them. */
static void
an_unprivileged_owner_may_map_only_its_own_ids (void **state)
{
  struct fx_world w;
  int go[2];
  struct sys_clone_args ca
      = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD, .fn = child_waits, .arg = go };
  siginfo_t info;
  pid_t pid;

  (void)state;
  world (&w, "", "");
  assert_int_equal (sys_pipe2 (go, O_CLOEXEC), 0);
  pid = sys_clone (&ca);
  assert_true (pid > 0);
  assert_int_equal (write_proc (pid, "uid_map", "0 1000 1\n1 100000 65536\n"), -EPERM);
  assert_int_equal (write_proc (pid, "uid_map", "0 1001 1\n"), -EPERM);
  assert_int_equal (write_proc (pid, "uid_map", "0 1000 2\n"), -EPERM);
  assert_int_equal (write_proc (pid, "uid_map", "0 1000 1\n"), 0);
  assert_int_equal (write_proc (pid, "gid_map", "0 1000 1\n"), -EPERM); /* setgroups allowed */
  assert_int_equal (write_proc (pid, "setgroups", "deny"), 0);
  assert_int_equal (write_proc (pid, "gid_map", "0 1000 1\n"), 0);
  assert_int_equal (sys_write (go[1], "g", 1), 1);
  assert_int_equal (sys_waitid (P_PID, (id_t)pid, &info, WEXITED), 0);
  sys_close (go[0]);
  sys_close (go[1]);
  fx_world_fini (&w);
}

/* A rootless create with each call failing once: nothing left (no cgroup either: none is
 * made without delegation), or the container made. */
static int
rootless_create_run (struct fx_fault *f, void *ctx)
{
  struct fx_world w;
  int r;

  (void)ctx;
  world (&w, "", OWN_MAPS);
  r = fx_create_fault_run (f, &w, &opts);
  fx_world_fini (&w);
  return r;
}

static void
rootless_create_survives_every_single_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE, rootless_create_run, NULL);
}

/* list's OWNER is who owns the state (runc's), not root: the rootless caller's name from the
 * host's /etc/passwd, "#UID" where it lists none. */
static void
list_names_the_owner_of_the_state (void **state)
{
  struct fx_world w;
  struct focker_err *err = NULL;
  struct container_state **list = NULL;

  (void)state;
  world (&w, "", OWN_MAPS);
  create_ok (&w);
  assert_int_equal (fake_write_file (w.k, "/etc/passwd",
                                     "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n",
                                     0644),
                    0);
  FX_OK (&w, container_list (&list, FX_ROOT, &err), err);
  assert_non_null (list[0]);
  assert_string_equal (list[0]->owner, "alice");
  container_list_free (list);
  assert_int_equal (fake_write_file (w.k, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644), 0);
  FX_OK (&w, container_list (&list, FX_ROOT, &err), err);
  assert_string_equal (list[0]->owner, "#1000");
  container_list_free (list);
  assert_int_equal (fake_open_fds (w.k, w.cli), 3);
  FX_OK (&w, container_delete (FX_ROOT, "c1", true, &err), err);
  fx_world_fini (&w);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (own_ids_are_mapped_directly_and_no_cgroup_is_made),
    cmocka_unit_test (user_namespace_without_maps_maps_the_caller_to_root),
    cmocka_unit_test (what_needs_privilege_fails_with_one_line_and_leaves_nothing),
    cmocka_unit_test (device_rules_alone_run_without_a_cgroup),
    cmocka_unit_test (a_delegated_cgroup_is_used),
    cmocka_unit_test (other_maps_go_through_newuidmap),
    cmocka_unit_test (root_with_rootless_true_writes_maps_itself),
    cmocka_unit_test (an_unprivileged_owner_may_map_only_its_own_ids),
    cmocka_unit_test (rootless_create_survives_every_single_fault),
    cmocka_unit_test (list_names_the_owner_of_the_state),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
