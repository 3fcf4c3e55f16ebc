/* test_cgroup.c: the cgroup manager on the fake kernel, for each host layout (v2, v1,
 * hybrid): placement, the files written and their conversions, pause/resume, update, ps,
 * removal, and fault loops over create and delete that must leave no cgroup directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include "core/cgroup.h"
#include "core/cgroup_bpf.h"
#include "core/container.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"

#define ROOT FX_ROOT
#define BUNDLE FX_BUNDLE

static const char *const config_fmt
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"mounts\":[{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
      "\"options\":[\"ro\",\"nosuid\"]}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}]"
      "%s%s}}";

/* What podman and containerd send, in one. */
static const char *const resources
    = ",\"resources\":{\"memory\":{\"limit\":67108864,\"swap\":134217728,\"reservation\":"
      "33554432},\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\"},"
      "\"pids\":{\"limit\":50},\"blockIO\":{\"weight\":500},"
      "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\","
      "\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}";

static struct fx_world *
world_new (enum fake_cgroup_mode mode, const char *path_json, const char *res_json)
{
  struct fake_personality p = { .major = 6, .minor = 18, .cgroup = mode };
  struct fx_world *w = calloc (1, sizeof *w);
  char config[4096];

  snprintf (config, sizeof config, config_fmt, path_json ? path_json : "",
            res_json ? res_json : "");
  fx_world_init (w, &p, config);
  assert_int_equal (fake_mkdir_p (w->k, BUNDLE "/rootfs/sys/fs/cgroup", 0755), 0);
  return w;
}

static void
world_free (struct fx_world *w)
{
  fx_world_fini (w);
  free (w);
}

static const struct create_opts opts = { .root = ROOT, .id = "c1", .bundle = BUNDLE };

#define assert_ok(call, e) FX_OK (w, call, e)

static pid_t
create_ok (struct fx_world *w)
{
  struct focker_err *err = NULL;
  pid_t pid = 0;
  assert_ok (container_create (&opts, &pid, &err), err);
  return pid;
}

static void
assert_file (const char *path, const char *want)
{
  char *got = fx_read (path);
  if (got == NULL)
    fail_msg ("%s: missing", path);
  if (strcmp (got, want) != 0)
    fail_msg ("%s: expected [%s], got [%s]", path, want, got);
  free (got);
}

static bool
pid_in (const char *procs_path, pid_t pid)
{
  char *text = fx_read (procs_path), want[32];
  bool in;

  snprintf (want, sizeof want, "%d\n", (int)pid);
  in = text && (strncmp (text, want, strlen (want)) == 0 || strstr (text, want) != NULL);
  free (text);
  return in;
}

static const char *const v1_ctls[]
    = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd" };

/* No directory named focker* left in any hierarchy. */
static bool
no_cgroup_left (struct fx_world *w)
{
  (void)w;
  return fx_no_cgroup_left ();
}

static void
detect_reports_each_layout (void **state)
{
  static const enum fake_cgroup_mode modes[]
      = { FAKE_CGROUP_V2, FAKE_CGROUP_V1, FAKE_CGROUP_HYBRID };
  static const enum cgroup_layout want[]
      = { CGROUP_LAYOUT_V2, CGROUP_LAYOUT_V1, CGROUP_LAYOUT_HYBRID };
  (void)state;
  for (size_t i = 0; i < 3; i++)
    {
      struct fx_world *w = world_new (modes[i], NULL, NULL);
      struct cgroup_host *h = NULL;
      struct focker_err *err = NULL;
      assert_ok (cgroup_host_detect (&h, &err), err);
      assert_int_equal (h->layout, want[i]);
      assert_int_equal (h->n, i == 0 ? 1 : i == 1 ? 9 : 10);
      cgroup_host_free (h);
      world_free (w);
    }
}

static void
v2_places_the_init_and_converts_values (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_V2, NULL, resources);
  pid_t pid = create_ok (w);
  struct fake_proc *init = fake_proc (w->k, pid);

  (void)state;
  assert_string_equal (init->cgroup_path, "/focker-c1");
  assert_true (pid_in ("/sys/fs/cgroup/focker-c1/cgroup.procs", pid));
  assert_file ("/sys/fs/cgroup/focker-c1/memory.max", "67108864");
  /* v1's memsw is memory+swap; v2's swap.max is the swap alone */
  assert_file ("/sys/fs/cgroup/focker-c1/memory.swap.max", "67108864");
  assert_file ("/sys/fs/cgroup/focker-c1/memory.low", "33554432");
  /* shares 512 -> 1 + (510 * 9999) / 262142 */
  assert_file ("/sys/fs/cgroup/focker-c1/cpu.weight", "20");
  assert_file ("/sys/fs/cgroup/focker-c1/cpu.max", "50000 100000");
  assert_file ("/sys/fs/cgroup/focker-c1/cpuset.cpus", "0-1");
  assert_file ("/sys/fs/cgroup/focker-c1/pids.max", "50");
  /* blkio 500 -> 1 + (490 * 9999) / 990 */
  assert_file ("/sys/fs/cgroup/focker-c1/io.weight", "default 4950");
  /* its own cgroup namespace, made after it was placed */
  assert_false (fake_same_ns (w->k, pid, w->cli, FAKE_NS_CGROUP));
  assert_true (fake_journal_find (w->k, SYS_ID_unshare, 0)
               > fake_journal_find (w->k, SYS_ID_clone, 0));
  world_free (w);
}

/* The journal index of the first open of a path ending in `suffix`, -1 if none. */
static long
first_open_of (struct fake_kernel *k, const char *suffix)
{
  for (size_t i = 0; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if (c->id == SYS_ID_openat && strstr (c->args, suffix))
        return (long)i;
    }
  return -1;
}

/* The kernel checks a quota against the current period (and memsw against the memory
 * limit): the period goes first, and raising both memory values, memsw first. */
static void
v1_writes_the_period_before_the_quota (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_V1, NULL, resources);
  long period, quota, memsw, limit;

  (void)state;
  create_ok (w);
  period = first_open_of (w->k, "cpu.cfs_period_us");
  quota = first_open_of (w->k, "cpu.cfs_quota_us");
  memsw = first_open_of (w->k, "memory.memsw.limit_in_bytes");
  limit = first_open_of (w->k, "memory.limit_in_bytes");
  assert_true (period >= 0 && quota > period);
  assert_true (memsw >= 0 && limit > memsw);
  world_free (w);
}

static void
v1_writes_v1_files_and_places_before_the_namespace (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_V1, NULL, resources);
  pid_t pid = create_ok (w);
  long unshare = -1, last_procs = -1;

  (void)state;
  /* the init's tasks were opened (it moves itself) before it unshared its cgroup namespace */
  for (size_t i = 0; i < fake_journal_len (w->k); i++)
    {
      const struct fake_call *c = fake_journal_at (w->k, i);
      if (c->id == SYS_ID_openat && strstr (c->args, "c1/tasks"))
        last_procs = (long)i;
      if (c->id == SYS_ID_unshare && unshare < 0)
        unshare = (long)i;
    }
  assert_true (last_procs >= 0 && unshare > last_procs);
  for (size_t i = 0; i < sizeof v1_ctls / sizeof *v1_ctls; i++)
    {
      char path[128];
      snprintf (path, sizeof path, "/sys/fs/cgroup/%s/focker-c1/cgroup.procs", v1_ctls[i]);
      if (!pid_in (path, pid))
        fail_msg ("init %d is not in %s", (int)pid, path);
    }
  assert_file ("/sys/fs/cgroup/memory/focker-c1/memory.limit_in_bytes", "67108864");
  assert_file ("/sys/fs/cgroup/memory/focker-c1/memory.memsw.limit_in_bytes", "134217728");
  assert_file ("/sys/fs/cgroup/memory/focker-c1/memory.soft_limit_in_bytes", "33554432");
  assert_file ("/sys/fs/cgroup/cpu/focker-c1/cpu.shares", "512");
  assert_file ("/sys/fs/cgroup/cpu/focker-c1/cpu.cfs_quota_us", "50000");
  assert_file ("/sys/fs/cgroup/cpu/focker-c1/cpu.cfs_period_us", "100000");
  assert_file ("/sys/fs/cgroup/cpuset/focker-c1/cpuset.cpus", "0-1");
  /* a new cpuset level inherits mems from its parent, or it could hold no task */
  assert_file ("/sys/fs/cgroup/cpuset/focker-c1/cpuset.mems", "0\n");
  assert_file ("/sys/fs/cgroup/pids/focker-c1/pids.max", "50");
  assert_file ("/sys/fs/cgroup/blkio/focker-c1/blkio.weight", "500");
  /* deny everything, then the config's rules, then runc's default devices (the fake keeps
   * the last write of each file) */
  assert_file ("/sys/fs/cgroup/devices/focker-c1/devices.deny", "a");
  assert_file ("/sys/fs/cgroup/devices/focker-c1/devices.allow", "c 10:200 rwm");
  /* /sys/fs/cgroup in the container: a tmpfs with one cgroup mount per hierarchy */
  {
    const struct fake_mount *m = fake_mount_find (w->k, pid, "/sys/fs/cgroup/memory");
    assert_non_null (m);
    assert_string_equal (m->fstype, "cgroup");
    assert_string_equal (m->data, "memory");
  }
  world_free (w);
}

static void
hybrid_uses_v1_controllers_and_the_unified_hierarchy (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_HYBRID, NULL, resources);
  pid_t pid = create_ok (w);
  struct focker_err *err = NULL;

  (void)state;
  assert_true (pid_in ("/sys/fs/cgroup/unified/focker-c1/cgroup.procs", pid));
  assert_true (pid_in ("/sys/fs/cgroup/memory/focker-c1/cgroup.procs", pid));
  assert_file ("/sys/fs/cgroup/memory/focker-c1/memory.limit_in_bytes", "67108864");
  assert_file ("/sys/fs/cgroup/pids/focker-c1/pids.max", "50");
  fx_next_command (w);
  assert_ok (container_delete (ROOT, "c1", true, &err), err);
  assert_true (no_cgroup_left (w));
  world_free (w);
}

static void
cgroups_path_forms (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_V2, ",\"cgroupsPath\":\"/focker-abs/x1\"", NULL);
  struct cgroup_host *h = NULL;
  struct cgroup *cg = NULL;
  struct focker_err *err = NULL;
  pid_t pid = create_ok (w);

  (void)state;
  assert_string_equal (fake_proc (w->k, pid)->cgroup_path, "/focker-abs/x1");
  fx_next_command (w);
  assert_ok (container_delete (ROOT, "c1", true, &err), err);
  assert_false (fake_exists (w->k, "/sys/fs/cgroup/focker-abs"));
  /* relative: under the runtime's own cgroup */
  assert_ok (cgroup_host_detect (&h, &err), err);
  assert_ok (cgroup_plan (&cg, h, "focker-rel/c1", "c1", false, &err), err);
  assert_string_equal (cg->dirs[0].path, "/sys/fs/cgroup/focker-rel/c1");
  cgroup_free (cg);
  /* the systemd form needs --systemd-cgroup, which needs systemd */
  assert_int_equal (cgroup_plan (&cg, h, "system.slice:focker:c1", "c1", false, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "--systemd-cgroup"));
  focker_err_free (err);
  err = NULL;
  assert_int_equal (cgroup_plan (&cg, h, "system.slice:focker:c1", "c1", true, &err), -EOPNOTSUPP);
  assert_non_null (strstr (err->msg, "systemd is not running"));
  focker_err_free (err);
  err = NULL;
  assert_int_equal (cgroup_plan (&cg, h, "/a/../../etc", "c1", false, &err), -EINVAL);
  focker_err_free (err);
  cgroup_host_free (h);
  world_free (w);
}

/* A second container may not move into a cgroup that holds another's processes: deleting
 * either would kill both.  The first is left as it was. */
static void
busy_cgroup_is_refused (void **state)
{
  static const enum fake_cgroup_mode modes[] = { FAKE_CGROUP_V2, FAKE_CGROUP_V1 };
  (void)state;
  for (size_t i = 0; i < 2; i++)
    {
      struct fx_world *w = world_new (modes[i], ",\"cgroupsPath\":\"/shared/x\"", NULL);
      struct create_opts o2 = opts;
      struct focker_err *err = NULL;
      pid_t pid = create_ok (w);

      fx_next_command (w);
      o2.id = "c2";
      assert_int_equal (container_create (&o2, NULL, &err), -EBUSY);
      assert_non_null (strstr (err->msg, "/shared/x already holds processes"));
      focker_err_free (err);
      err = NULL;
      assert_false (fake_exists (w->k, ROOT "/c2"));
      assert_non_null (fake_proc (w->k, pid));
      assert_string_equal (fake_proc (w->k, pid)->cgroup_path, "/shared/x");
      fx_next_command (w);
      assert_ok (container_delete (ROOT, "c1", true, &err), err);
      assert_true (no_cgroup_left (w));
      world_free (w);
    }
}

static void
unsupported_limit_names_field_and_file (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_V2, NULL,
                                  ",\"resources\":{\"hugepageLimits\":[{\"pageSize\":\"64KB\","
                                  "\"limit\":1}]}");
  struct focker_err *err = NULL;
  int r = container_create (&opts, NULL, &err);

  (void)state;
  assert_true (r < 0);
  assert_non_null (strstr (err->msg, "hugepageLimits"));
  assert_non_null (strstr (err->msg, "hugetlb.64KB.max"));
  focker_err_free (err);
  assert_true (no_cgroup_left (w));
  assert_false (fake_exists (w->k, ROOT "/c1"));
  world_free (w);
}

static void
pause_resume_ps_update (void **state)
{
  static const enum fake_cgroup_mode modes[] = { FAKE_CGROUP_V2, FAKE_CGROUP_V1 };
  (void)state;
  for (size_t i = 0; i < 2; i++)
    {
      struct fx_world *w = world_new (modes[i], NULL, resources);
      pid_t pid = create_ok (w), *pids = NULL;
      struct container_state *st = NULL;
      static const char upd[] = "{\"pids\":{\"limit\":7}}";
      struct focker_err *err = NULL;
      enum container_status status;
      const char *base = i == 0 ? "/sys/fs/cgroup/focker-c1" : "/sys/fs/cgroup/freezer/focker-c1";
      char path[128];
      size_t n = 0;

      fx_next_command (w);
      assert_ok (container_start (ROOT, "c1", &err), err);
      assert_ok (container_pause (ROOT, "c1", &err), err);
      snprintf (path, sizeof path, "%s/%s", base, i == 0 ? "cgroup.freeze" : "freezer.state");
      assert_file (path, i == 0 ? "1" : "FROZEN");
      assert_ok (container_state (&st, &status, ROOT, "c1", &err), err);
      assert_int_equal (status, STATUS_PAUSED);
      state_free (st);
      assert_int_equal (container_pause (ROOT, "c1", &err), -EINVAL);
      focker_err_free (err);
      err = NULL;
      assert_ok (container_resume (ROOT, "c1", &err), err);
      assert_file (path, i == 0 ? "0" : "THAWED");
      assert_ok (container_state (&st, &status, ROOT, "c1", &err), err);
      assert_int_equal (status, STATUS_RUNNING);
      state_free (st);
      assert_ok (container_pids (&pids, &n, ROOT, "c1", &err), err);
      assert_int_equal (n, 1);
      assert_int_equal (pids[0], pid);
      free (pids);
      assert_ok (container_update (ROOT, "c1", upd, strlen (upd), "test", &err), err);
      assert_file (i == 0 ? "/sys/fs/cgroup/focker-c1/pids.max"
                          : "/sys/fs/cgroup/pids/focker-c1/pids.max",
                   "7");
      /* a paused container is deleted with --force and leaves no cgroup */
      assert_ok (container_pause (ROOT, "c1", &err), err);
      assert_ok (container_delete (ROOT, "c1", true, &err), err);
      assert_true (no_cgroup_left (w));
      world_free (w);
    }
}

static void
conversions_match_runc (void **state)
{
  (void)state;
  assert_int_equal (cgroup_shares_to_weight (2), 1);
  assert_int_equal (cgroup_shares_to_weight (1024), 39);
  assert_int_equal (cgroup_shares_to_weight (262144), 10000);
  assert_int_equal (cgroup_blkio_to_io_weight (10), 1);
  assert_int_equal (cgroup_blkio_to_io_weight (1000), 10000);
}

/* One create with a fault on the layout *ctx (fx_create_fault_run), and no device program
 * left either. */
static int
create_fault_run (struct fx_fault *f, void *ctx)
{
  struct fx_world *w = world_new (*(const enum fake_cgroup_mode *)ctx, NULL, resources);
  int r = fx_create_fault_run (f, w, &opts);

  assert_int_equal (fake_bpf_live (w->k), 0);
  world_free (w);
  return r;
}

/* Every single fault in create, on each layout: no cgroup directory is left on failure. */
static void
create_faults_leave_no_cgroup (void **state)
{
  static const enum fake_cgroup_mode modes[]
      = { FAKE_CGROUP_V2, FAKE_CGROUP_V1, FAKE_CGROUP_HYBRID };
  (void)state;
  for (size_t m = 0; m < 3; m++)
    fx_fault_loop (FX_FAULT_ONCE, create_fault_run, (void *)&modes[m]);
}

/* Persistent faults: create cannot clean up, `delete --force` must (from the intent file). */
static void
persistent_create_faults_are_cleaned_by_delete_force (void **state)
{
  static const enum fake_cgroup_mode hybrid = FAKE_CGROUP_HYBRID;
  (void)state;
  fx_fault_loop (FX_FAULT_PERSIST, create_fault_run, (void *)&hybrid);
}

/* An older focker kept the cgroup intent in <id>=cgroup.json and left the lock file empty:
 * delete --force of its container reads the intent there (a create killed before its
 * state.json, init dead) and removes the file either way. */
static void
delete_force_reads_an_older_fockers_cgroup_json (void **state)
{
  (void)state;
  for (int killed = 0; killed <= 1; killed++)
    {
      struct fx_world *w = world_new (FAKE_CGROUP_HYBRID, NULL, resources);
      struct focker_err *err = NULL;
      pid_t pid = create_ok (w);
      char *intent = fx_read (ROOT "/c1");

      assert_true (intent && intent[0] == '{');
      assert_int_equal (fake_write_file (w->k, ROOT "/c1=cgroup.json", intent, 0600), 0);
      assert_int_equal (fake_write_file (w->k, ROOT "/c1", "", 0600), 0);
      free (intent);
      if (killed)
        {
          siginfo_t info;
          assert_int_equal (sys_kill (pid, SIGKILL), 0);
          assert_int_equal (sys_waitid (P_PID, (id_t)pid, &info, WEXITED), 0);
          assert_int_equal (sys_unlinkat (AT_FDCWD, ROOT "/c1=state.json", 0), 0);
        }
      assert_false (no_cgroup_left (w));
      fx_next_command (w);
      assert_ok (container_delete (ROOT, "c1", true, &err), err);
      assert_true (fx_nothing_left (w, "c1"));
      world_free (w);
    }
}

/* A lock file whose intent does not parse (a write torn by SIGKILL, before any cgroup dir
 * was made): delete --force removes the state and nothing else. */
static void
delete_force_takes_a_torn_intent_for_none (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_HYBRID, NULL, NULL);
  struct focker_err *err = NULL;

  (void)state;
  assert_int_equal (fake_mkdir_p (w->k, ROOT, 0700), 0);
  assert_int_equal (fake_write_file (w->k, ROOT "/c1", "{\"dirs\":[{\"controllers\":\"cpu", 0600),
                    0);
  assert_ok (container_delete (ROOT, "c1", true, &err), err);
  assert_true (fx_nothing_left (w, "c1"));
  world_free (w);
}

static int
delete_fault_run (struct fx_fault *f, void *ctx)
{
  struct fx_world *w = world_new (FAKE_CGROUP_HYBRID, NULL, resources);
  int r;

  (void)ctx;
  create_ok (w);
  r = fx_delete_fault_run (f, w, "c1");
  world_free (w);
  return r;
}

static void
delete_faults_leave_no_cgroup (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, delete_fault_run, NULL);
}

/* linux.devices: a node the config creates, allowed in the cgroup as runc does */
static const char *const fuse_node
    = ",\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}]";

/* Run the program for `rules` in the fake kernel: attach it to a fresh v2 cgroup and ask. */
static int
run_rules (struct fake_kernel *k, const struct spec_device_rule *rules, size_t n, char type,
           unsigned maj, unsigned min, const char *acc)
{
  struct bpf_insn *insns = NULL;
  size_t n_insns = cgroup_bpf_devices (&insns, rules, n);
  int cg, prog, r;

  r = sys_mkdirat (AT_FDCWD, "/sys/fs/cgroup/t", 0755);
  assert_true (r == 0 || r == -EEXIST);
  cg = sys_openat (AT_FDCWD, "/sys/fs/cgroup/t", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  assert_true (cg >= 0);
  prog = sys_bpf_prog_load (BPF_PROG_TYPE_CGROUP_DEVICE, insns, (unsigned)n_insns, NULL, 0);
  assert_true (prog >= 0);
  assert_int_equal (sys_bpf_prog_attach (prog, cg, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI), 0);
  r = fake_cgroup_device_access (k, "/sys/fs/cgroup/t", type, maj, min, acc);
  assert_int_equal (sys_bpf_prog_detach (prog, cg, BPF_CGROUP_DEVICE), 0);
  sys_close (prog);
  sys_close (cg);
  free (insns);
  return r;
}

/* The program has v1's meaning: the last matching rule decides, no match denies; an allow
 * must cover the whole access, a deny refuses any access it touches. */
static void
bpf_program_last_matching_rule_wins (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_V2, NULL, NULL);
  const struct spec_device_rule rules[] = {
    { .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
    { .allow = true, .type = 'c', .major = 1, .minor = -1, .access = "rwm" },
    { .allow = false, .type = 'c', .major = 1, .minor = 3, .access = "w" },
    { .allow = true, .type = 'b', .major = 8, .minor = 0, .access = "r" },
    { .allow = true, .type = 'c', .major = 5000000000, .minor = 1, .access = "rwm" },
  };
  const struct spec_device_rule all[]
      = { { .allow = true, .type = 'a', .major = -1, .minor = -1 } };

  (void)state;
  assert_int_equal (run_rules (w->k, rules, 5, 'c', 1, 5, "rw"), 1);
  assert_int_equal (run_rules (w->k, rules, 5, 'c', 1, 3, "r"), 1);
  assert_int_equal (run_rules (w->k, rules, 5, 'c', 1, 3, "w"), 0);
  assert_int_equal (run_rules (w->k, rules, 5, 'c', 1, 3, "rw"), 0);
  assert_int_equal (run_rules (w->k, rules, 5, 'b', 8, 0, "r"), 1);
  assert_int_equal (run_rules (w->k, rules, 5, 'b', 8, 0, "rw"), 0);
  assert_int_equal (run_rules (w->k, rules, 5, 'b', 1, 5, "r"), 0);
  assert_int_equal (run_rules (w->k, rules, 5, 'c', 2, 0, "m"), 0);
  /* a rule no device number can match is left out, not truncated into another number */
  assert_int_equal (run_rules (w->k, rules, 5, 'c', (unsigned)(5000000000 & 0xffffffff), 1, "r"),
                    0);
  assert_int_equal (run_rules (w->k, all, 1, 'b', 8, 0, "rwm"), 1);
  assert_int_equal (run_rules (w->k, rules, 0, 'c', 1, 3, "r"), 0);
  assert_int_equal (fake_bpf_live (w->k), 0);
  world_free (w);
}

static void
assert_device (struct fx_world *w, const char *cg, char type, unsigned maj, unsigned min,
               const char *acc, int want)
{
  int got = fake_cgroup_device_access (w->k, cg, type, maj, min, acc);
  if (got != want)
    fail_msg ("%s: %c %u:%u %s: expected %d, got %d", cg, type, maj, min, acc, want, got);
}

/* cgroup v2: the device rules become one BPF program on the container's cgroup: the
 * defaults and the config's rules and nodes are allowed, anything else is denied, and a
 * process in the cgroup cannot open a denied node. */
static void
v2_device_program_allows_the_listed_devices_only (void **state)
{
  struct fx_world *w = world_new (FAKE_CGROUP_V2, fuse_node, resources);
  const char *cg = "/sys/fs/cgroup/focker-c1";
  struct focker_err *err = NULL;
  int fd;

  (void)state;
  create_ok (w);
  assert_int_equal (fake_cgroup_bpf_count (w->k, cg), 1);
  assert_device (w, cg, 'c', 1, 3, "rw", 1);    /* null, by the config and the defaults */
  assert_device (w, cg, 'c', 1, 9, "r", 1);     /* urandom */
  assert_device (w, cg, 'c', 136, 4, "rw", 1);  /* a pty */
  assert_device (w, cg, 'c', 10, 229, "rw", 1); /* linux.devices */
  assert_device (w, cg, 'b', 8, 0, "m", 1);     /* mknod is allowed, opening is not */
  assert_device (w, cg, 'b', 8, 0, "r", 0);     /* sda */
  assert_device (w, cg, 'c', 4, 1, "w", 0);     /* tty1 */
  /* the fake enforces it: a process moved into the cgroup cannot open sda */
  assert_int_equal (fake_mknod (w->k, "/dev/sda", S_IFBLK | 0660, makedev (8, 0)), 0);
  fx_next_command (w);
  fd = sys_openat (AT_FDCWD, "/sys/fs/cgroup/focker-c1/cgroup.procs", O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "0", 1), 1);
  sys_close (fd);
  assert_int_equal (sys_openat (AT_FDCWD, "/dev/sda", O_RDONLY | O_CLOEXEC, 0), -EPERM);
  fd = sys_openat (AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC, 0);
  assert_true (fd >= 0);
  sys_close (fd);
  fake_exit (w->k, w->cli, 0);
  w->cli = fake_spawn (w->k);
  assert_ok (container_delete (ROOT, "c1", true, &err), err);
  assert_true (no_cgroup_left (w));
  assert_int_equal (fake_bpf_live (w->k), 0);
  world_free (w);
}

/* update with device rules replaces the program: one attached after, never none between. */
static int
v2_update_fault_run (struct fx_fault *f, void *ctx)
{
  const char *cg = "/sys/fs/cgroup/focker-c1";
  static const char upd[]
      = "{\"devices\":[{\"allow\":true,\"type\":\"b\",\"major\":8,\"minor\":0,\"access\":\"r\"}]}";
  struct fx_world *w = world_new (FAKE_CGROUP_V2, fuse_node, resources);
  struct focker_err *err = NULL;
  int r;

  (void)ctx;
  create_ok (w);
  fx_next_command (w);
  fx_fault_arm (f, w->k);
  r = container_update (ROOT, "c1", upd, strlen (upd), "test", &err);
  fx_fault_disarm (f);
  fx_fault_err (f, r, &err);
  /* the container is never without a filter */
  assert_true (fake_cgroup_bpf_count (w->k, cg) >= 1);
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
  if (r == 0)
    {
      assert_int_equal (fake_cgroup_bpf_count (w->k, cg), 1);
      assert_int_equal (fake_bpf_live (w->k), 1);
      assert_device (w, cg, 'b', 8, 0, "r", 1);
      assert_device (w, cg, 'b', 8, 0, "w", 0);
      assert_device (w, cg, 'c', 1, 3, "rw", 1);
      /* the config's linux.devices nodes stay allowed */
      assert_device (w, cg, 'c', 10, 229, "rw", 1);
    }
  else
    assert_device (w, cg, 'b', 8, 0, "w", 0);
  fx_delete_clean (f, w, "c1", "update, then delete");
  assert_int_equal (fake_bpf_live (w->k), 0);
  world_free (w);
  return r;
}

static void
v2_update_replaces_the_device_program (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE, v2_update_fault_run, NULL);
}

/* cgroup v1 update with device rules: only what differs is written, allows first, so a device
 * the container keeps (null) is allowed after every single write, faults or not; the
 * resulting whitelist is what the new rules say. */
static int
v1_update_fault_run (struct fx_fault *f, void *ctx)
{
  const char *cg = "/sys/fs/cgroup/devices/focker-c1";
  static const char add[]
      = "{\"devices\":[{\"allow\":true,\"type\":\"b\",\"major\":8,\"minor\":0,\"access\":\"r\"}]}";
  static const char swap[]
      = "{\"devices\":[{\"allow\":true,\"type\":\"b\",\"major\":8,\"minor\":1,\"access\":\"r\"}]}";
  struct fx_world *w = world_new (FAKE_CGROUP_V1, fuse_node, resources);
  struct focker_err *err = NULL;
  int r;

  (void)ctx;
  create_ok (w);
  assert_device (w, cg, 'c', 1, 3, "rwm", 1);
  assert_device (w, cg, 'b', 8, 0, "r", 0);
  fx_next_command (w);
  fake_cgroup_devices_watch (w->k, cg, 'c', 1, 3, "rwm");
  fx_fault_arm (f, w->k);
  r = container_update (ROOT, "c1", add, strlen (add), "test", &err);
  fx_fault_disarm (f);
  fx_fault_err (f, r, &err);
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
  if (r == 0)
    {
      assert_device (w, cg, 'b', 8, 0, "r", 1);
      assert_device (w, cg, 'b', 8, 0, "w", 0);
      assert_device (w, cg, 'c', 10, 229, "rw", 1);
      /* only added: nothing written to devices.deny since create's "a" */
      assert_file ("/sys/fs/cgroup/devices/focker-c1/devices.deny", "a");
      fx_next_command (w);
      assert_ok (container_update (ROOT, "c1", swap, strlen (swap), "test", &err), err);
      assert_device (w, cg, 'b', 8, 0, "r", 0);
      assert_device (w, cg, 'b', 8, 1, "r", 1);
      assert_device (w, cg, 'c', 10, 229, "rw", 1);
    }
  if (fake_cgroup_devices_watch_lost (w->k) != 0)
    fail_msg ("fault at call %ld: /dev/null was refused during update", f->n);
  fx_delete_clean (f, w, "c1", "update, then delete");
  assert_int_equal (fake_bpf_live (w->k), 0);
  world_free (w);
  return r;
}

static void
v1_update_changes_only_what_differs (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE, v1_update_fault_run, NULL);
}

/* v1 and hybrid hosts: the same rules go to the devices cgroup, linux.devices last; no
 * program is attached on a hybrid host's cgroup2, unless the test hook asks for it. */
static void
v1_device_list_includes_linux_devices_and_hook_forces_bpf (void **state)
{
  static const enum fake_cgroup_mode modes[] = { FAKE_CGROUP_V1, FAKE_CGROUP_HYBRID };
  (void)state;
  for (size_t i = 0; i < 2; i++)
    {
      struct fx_world *w = world_new (modes[i], fuse_node, resources);
      create_ok (w);
      assert_file ("/sys/fs/cgroup/devices/focker-c1/devices.deny", "a");
      assert_file ("/sys/fs/cgroup/devices/focker-c1/devices.allow", "c 10:229 rwm");
      if (modes[i] == FAKE_CGROUP_HYBRID)
        assert_int_equal (fake_cgroup_bpf_count (w->k, "/sys/fs/cgroup/unified/focker-c1"), 0);
      world_free (w);
    }
  {
    struct fx_world *w = world_new (FAKE_CGROUP_HYBRID, fuse_node, resources);
    cgroup_devices_prefer_bpf = true;
    create_ok (w);
    cgroup_devices_prefer_bpf = false;
    assert_file ("/sys/fs/cgroup/devices/focker-c1/devices.deny", "");
    assert_int_equal (fake_cgroup_bpf_count (w->k, "/sys/fs/cgroup/unified/focker-c1"), 1);
    assert_device (w, "/sys/fs/cgroup/unified/focker-c1", 'c', 10, 229, "rw", 1);
    assert_device (w, "/sys/fs/cgroup/unified/focker-c1", 'b', 8, 0, "r", 0);
    world_free (w);
  }
}

/* The recorded config of c1, as state.json holds it. */
static char *
recorded (struct fx_world *w)
{
  return fake_read_file (w->k, ROOT "/c1=state.json");
}

/* update records what it applied: a later update and the state see it; a memory.swap alone
 * takes the recorded memory.limit (cgroup v2 needs both); a refused update records nothing. */
static void
update_records_the_new_resources (void **state)
{
  static const enum fake_cgroup_mode modes[] = { FAKE_CGROUP_V2, FAKE_CGROUP_V1 };
  (void)state;
  for (size_t i = 0; i < 2; i++)
    {
      struct fx_world *w = world_new (modes[i], NULL, resources);
      struct focker_err *err = NULL;
      static const char u1[] = "{\"memory\":{\"limit\":100663296},\"pids\":{\"limit\":9}}";
      static const char u2[] = "{\"memory\":{\"swap\":201326592}}";
      static const char bad[] = "{\"hugepageLimits\":[{\"pageSize\":\"64KB\",\"limit\":1}]}";
      char *text;

      create_ok (w);
      fx_next_command (w);
      assert_ok (container_update (ROOT, "c1", u1, strlen (u1), "test", &err), err);
      assert_ok (container_update (ROOT, "c1", u2, strlen (u2), "test", &err), err);
      if (i == 0)
        /* swap alone on v2: memory+swap 192 MiB minus the recorded 96 MiB limit */
        assert_file ("/sys/fs/cgroup/focker-c1/memory.swap.max", "100663296");
      else
        assert_file ("/sys/fs/cgroup/memory/focker-c1/memory.memsw.limit_in_bytes", "201326592");
      assert_true (container_update (ROOT, "c1", bad, strlen (bad), "test", &err) < 0);
      focker_err_free (err);
      err = NULL;
      text = recorded (w);
      assert_non_null (text);
      /* merged: the new limit and swap, the pids limit of the first update, the config's
       * reservation; nothing of the refused update */
      assert_non_null (strstr (text, "\"limit\":100663296"));
      assert_non_null (strstr (text, "\"swap\":201326592"));
      assert_non_null (strstr (text, "\"reservation\":33554432"));
      assert_non_null (strstr (text, "\"pids\":{\"limit\":9}"));
      assert_null (strstr (text, "hugepageLimits"));
      free (text);
      assert_ok (container_delete (ROOT, "c1", true, &err), err);
      world_free (w);
    }
}

struct events_seen
{
  struct fake_kernel *k;
  pid_t init;
  const char *oom_file, *oom_text; /* written at the first stats event, then the init dies */
  char *lines[8];
  size_t n;
};

static int
collect (void *ctx, const char *line)
{
  struct events_seen *e = ctx;

  if (e->n < 8)
    e->lines[e->n++] = strdup (line);
  if (e->n == 1 && e->oom_file)
    {
      /* the OOM killer strikes: the counter goes up and the container's init dies */
      assert_int_equal (fake_write_file (e->k, e->oom_file, e->oom_text, 0644), 0);
      assert_int_equal (fake_kill (e->k, e->init, SIGKILL), 0);
    }
  return 0;
}

/* events: stats every interval in runc's shape, an oom event when the kill counter moves,
 * and the end when the container stops; on v2 (memory.events) and v1 (memory.oom_control). */
static void
events_report_stats_and_oom_until_the_container_stops (void **state)
{
  static const enum fake_cgroup_mode modes[] = { FAKE_CGROUP_V2, FAKE_CGROUP_HYBRID };
  static const char *const files[] = { "/sys/fs/cgroup/focker-c1/memory.events",
                                       "/sys/fs/cgroup/memory/focker-c1/memory.oom_control" };
  static const char *const texts[] = { "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
                                       "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n" };
  (void)state;
  for (size_t i = 0; i < 2; i++)
    {
      struct fx_world *w = world_new (modes[i], NULL, resources);
      struct events_seen e = { .k = w->k, .oom_file = files[i], .oom_text = texts[i] };
      struct focker_err *err = NULL;

      e.init = create_ok (w);
      fx_next_command (w);
      assert_ok (container_start (ROOT, "c1", &err), err);
      fx_next_command (w);
      assert_ok (container_events (ROOT, "c1", false, 1000, collect, &e, &err), err);
      assert_int_equal (e.n, 2);
      assert_non_null (strstr (e.lines[0], "{\"type\":\"stats\",\"id\":\"c1\",\"data\":{"));
      assert_non_null (strstr (e.lines[0], "\"usage\":{\"limit\":67108864"));
      assert_non_null (strstr (e.lines[0], "\"pids\":{\"current\":"));
      assert_non_null (strstr (e.lines[0], "\"limit\":50}"));
      if (i == 0)
        /* every page size the cgroup has a limit file for */
        assert_non_null (strstr (e.lines[0], "\"hugetlb\":{\"2MB\":{\"failcnt\":0},\"1GB\":{"));
      assert_string_equal (e.lines[1], "{\"type\":\"oom\",\"id\":\"c1\"}");
      assert_int_equal (fake_open_fds (w->k, w->cli), 3);
      /* a stopped container has no events */
      assert_int_equal (container_events (ROOT, "c1", true, 1000, collect, &e, &err), -EINVAL);
      assert_non_null (strstr (err->msg, "not running"));
      focker_err_free (err);
      err = NULL;
      for (size_t j = 0; j < e.n; j++)
        free (e.lines[j]);
      assert_ok (container_delete (ROOT, "c1", false, &err), err);
      assert_true (no_cgroup_left (w));
      world_free (w);
    }
}

/* events --stats under every fault: an error names itself, or a line comes out; no fd left. */
static int
events_stats_fault_run (struct fx_fault *f, void *ctx)
{
  struct fx_world *w = world_new (FAKE_CGROUP_V2, NULL, resources);
  struct events_seen e = { .k = w->k };
  struct focker_err *err = NULL;
  int r;

  (void)ctx;
  create_ok (w);
  fx_next_command (w);
  fx_fault_arm (f, w->k);
  r = container_events (ROOT, "c1", true, 1000, collect, &e, &err);
  fx_fault_disarm (f);
  fx_fault_err (f, r, &err);
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
  assert_int_equal (e.n, r < 0 ? 0 : 1);
  for (size_t j = 0; j < e.n; j++)
    free (e.lines[j]);
  world_free (w);
  return r;
}

static void
events_stats_survive_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE, events_stats_fault_run, NULL);
}

/* rdma: rdma.max on v2 (and on a v1 rdma hierarchy); a host without the controller says
 * which field it cannot apply. */
static void
rdma_limits_land_in_rdma_max (void **state)
{
  static const char rdma[]
      = ",\"resources\":{\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3,\"hcaObjects\":10000}}}";
  struct fx_world *w = world_new (FAKE_CGROUP_V2, NULL, rdma);
  struct focker_err *err = NULL;

  (void)state;
  create_ok (w);
  assert_file ("/sys/fs/cgroup/focker-c1/rdma.max", "mlx5_1 hca_handle=3 hca_object=10000");
  world_free (w);
  /* hybrid: no v1 rdma hierarchy, the controller is cgroup2's */
  w = world_new (FAKE_CGROUP_HYBRID, NULL, rdma);
  create_ok (w);
  assert_file ("/sys/fs/cgroup/unified/focker-c1/rdma.max", "mlx5_1 hca_handle=3 hca_object=10000");
  world_free (w);
  w = world_new (FAKE_CGROUP_V1, NULL, rdma);
  assert_int_equal (container_create (&opts, NULL, &err), -EOPNOTSUPP);
  assert_non_null (strstr (err->msg, "linux.resources.rdma: this host has no rdma controller"));
  focker_err_free (err);
  assert_true (no_cgroup_left (w));
  world_free (w);
}

/* In a user namespace without a cgroup namespace cgroupfs may not be mounted: each hierarchy
 * of the container's /sys/fs/cgroup is then a read-only bind of the container's own
 * directory, never the host's tree, and never left empty. */
static void
user_namespace_gets_binds_of_its_own_cgroups (void **state)
{
  static const char *const cfg
      = "{\"ociVersion\":\"1.0.2\","
        "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
        "\"user\":{\"uid\":0,\"gid\":0}},"
        "\"root\":{\"path\":\"rootfs\"},"
        "\"mounts\":[{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\","
        "\"source\":\"cgroup\",\"options\":[\"ro\",\"nosuid\"]}],"
        "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":"
        "\"user\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
        "\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
        "\"resources\":{\"pids\":{\"limit\":5}}}}";
  static const enum fake_cgroup_mode modes[]
      = { FAKE_CGROUP_V1, FAKE_CGROUP_HYBRID, FAKE_CGROUP_V2 };
  (void)state;
  for (size_t i = 0; i < 3; i++)
    {
      struct fx_world *w = world_new (modes[i], NULL, NULL);
      const struct fake_mount *m;
      pid_t pid;

      assert_int_equal (fake_write_file (w->k, BUNDLE "/config.json", cfg, 0644), 0);
      pid = create_ok (w);
      if (modes[i] == FAKE_CGROUP_V2)
        {
          m = fake_mount_find (w->k, pid, "/sys/fs/cgroup");
          assert_non_null (m);
          assert_string_equal (m->source, "/sys/fs/cgroup/focker-c1");
          assert_true (m->flags & MS_RDONLY);
          world_free (w);
          continue;
        }
      m = fake_mount_find (w->k, pid, "/sys/fs/cgroup/pids");
      assert_non_null (m);
      assert_string_equal (m->source, "/sys/fs/cgroup/pids/focker-c1");
      assert_true (m->flags & MS_RDONLY);
      m = fake_mount_find (w->k, pid, "/sys/fs/cgroup/systemd");
      assert_non_null (m);
      assert_string_equal (m->source, "/sys/fs/cgroup/systemd/focker-c1");
      if (modes[i] == FAKE_CGROUP_HYBRID)
        {
          m = fake_mount_find (w->k, pid, "/sys/fs/cgroup/unified");
          assert_non_null (m);
          assert_string_equal (m->source, "/sys/fs/cgroup/unified/focker-c1");
        }
      world_free (w);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (detect_reports_each_layout),
    cmocka_unit_test (v2_places_the_init_and_converts_values),
    cmocka_unit_test (v1_writes_v1_files_and_places_before_the_namespace),
    cmocka_unit_test (v1_writes_the_period_before_the_quota),
    cmocka_unit_test (hybrid_uses_v1_controllers_and_the_unified_hierarchy),
    cmocka_unit_test (cgroups_path_forms),
    cmocka_unit_test (busy_cgroup_is_refused),
    cmocka_unit_test (unsupported_limit_names_field_and_file),
    cmocka_unit_test (pause_resume_ps_update),
    cmocka_unit_test (conversions_match_runc),
    cmocka_unit_test (create_faults_leave_no_cgroup),
    cmocka_unit_test (persistent_create_faults_are_cleaned_by_delete_force),
    cmocka_unit_test (delete_faults_leave_no_cgroup),
    cmocka_unit_test (delete_force_reads_an_older_fockers_cgroup_json),
    cmocka_unit_test (delete_force_takes_a_torn_intent_for_none),
    cmocka_unit_test (bpf_program_last_matching_rule_wins),
    cmocka_unit_test (v2_device_program_allows_the_listed_devices_only),
    cmocka_unit_test (v2_update_replaces_the_device_program),
    cmocka_unit_test (v1_device_list_includes_linux_devices_and_hook_forces_bpf),
    cmocka_unit_test (update_records_the_new_resources),
    cmocka_unit_test (v1_update_changes_only_what_differs),
    cmocka_unit_test (events_report_stats_and_oom_until_the_container_stops),
    cmocka_unit_test (events_stats_survive_every_fault),
    cmocka_unit_test (rdma_limits_land_in_rdma_max),
    cmocka_unit_test (user_namespace_gets_binds_of_its_own_cgroups),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
