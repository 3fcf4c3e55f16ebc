/* test_cgroup_files.c: every field of linux.resources, on cgroup v1 and v2, down to the file
 * it lands in and the value written there; the fields a layout cannot apply fail with one
 * line naming the field (and the file, where there is one) and leave nothing behind; and a
 * fault loop over the writes of a config that sets every field. */
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

#define V2 "/sys/fs/cgroup/focker-c1/"
#define MEM1 "/sys/fs/cgroup/memory/focker-c1/"
#define CPU1 "/sys/fs/cgroup/cpu/focker-c1/"
#define BLK1 "/sys/fs/cgroup/blkio/focker-c1/"
#define HUGE1 "/sys/fs/cgroup/hugetlb/focker-c1/"
#define HUGEPAGES                                                                                  \
  "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304},"                                  \
  "{\"pageSize\":\"1GB\",\"limit\":2147483648}]"

static const char *const config_fmt
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
      "\"user\":{\"uid\":0,\"gid\":0}},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}],"
      "\"resources\":{%s}}}";

static const struct create_opts opts = { .root = FX_ROOT, .id = "c1", .bundle = FX_BUNDLE };

struct file_want
{
  const char *path, *value;
};

struct resources_case
{
  enum fake_cgroup_mode mode;
  const char *resources; /* the members of linux.resources */
  const char *error;     /* a substring of the one-line error, or NULL: create succeeds */
  struct file_want want[5];
  bool v1_hugetlb; /* the host binds hugetlb to a v1 hierarchy (fake_personality) */
};

static const struct resources_case cases[] = {
  /* ---- v2: conversions from the v1 units of the spec ---- */
  { FAKE_CGROUP_V2,
    "\"memory\":{\"limit\":-1,\"swap\":-1,\"reservation\":-1}",
    NULL,
    { { V2 "memory.max", "max" }, { V2 "memory.swap.max", "max" }, { V2 "memory.low", "max" } } },
  { FAKE_CGROUP_V2, "\"memory\":{\"swap\":1000}", "memory.swap: needs memory.limit on cgroup v2" },
  { FAKE_CGROUP_V2, "\"memory\":{\"limit\":2000,\"swap\":1000}",
    "memory.swap: 1000 is below memory.limit 2000" },
  { FAKE_CGROUP_V2, "\"memory\":{\"swappiness\":10}",
    "memory.swappiness: cgroup v2 has no equivalent" },
  { FAKE_CGROUP_V2, "\"memory\":{\"disableOOMKiller\":true}",
    "memory.disableOOMKiller: cgroup v2 has no equivalent" },
  /* asking for the default of a v1-only knob is fine; kernel memory is accounted anyway */
  { FAKE_CGROUP_V2,
    "\"memory\":{\"limit\":4096,\"disableOOMKiller\":false,\"kernel\":1000,\"kernelTCP\":1000,"
    "\"useHierarchy\":true}",
    NULL,
    { { V2 "memory.max", "4096" } } },
  { FAKE_CGROUP_V2,
    "\"cpu\":{\"shares\":0,\"quota\":-1,\"period\":50000}",
    NULL,
    { { V2 "cpu.max", "max 50000" }, { V2 "cpu.weight", "100\n" } } },
  { FAKE_CGROUP_V2, "\"cpu\":{\"quota\":20000}", NULL, { { V2 "cpu.max", "20000 100000" } } },
  { FAKE_CGROUP_V2,
    "\"cpu\":{\"burst\":1000,\"idle\":1,\"mems\":\"0\"}",
    NULL,
    { { V2 "cpu.max.burst", "1000" }, { V2 "cpu.idle", "1" }, { V2 "cpuset.mems", "0" } } },
  { FAKE_CGROUP_V2, "\"cpu\":{\"realtimeRuntime\":950000}",
    "cpu.realtimeRuntime: cgroup v2 has no equivalent" },
  { FAKE_CGROUP_V2, "\"cpu\":{\"realtimePeriod\":1000000}",
    "cpu.realtimePeriod: cgroup v2 has no equivalent" },
  { FAKE_CGROUP_V2, "\"pids\":{\"limit\":0}", NULL, { { V2 "pids.max", "max" } } },
  { FAKE_CGROUP_V2, "\"blockIO\":{\"leafWeight\":300}",
    "blockIO.leafWeight: cgroup v2 has no equivalent" },
  /* weightDevice entries without a weight are leaf weights only: nothing for v2 */
  { FAKE_CGROUP_V2,
    "\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":10},"
    "{\"major\":8,\"minor\":16,\"leafWeight\":20}]}",
    NULL,
    { { V2 "io.weight", "8:0 1" } } },
  { FAKE_CGROUP_V2,
    "\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1000}]}",
    NULL,
    { { V2 "io.max", "8:0 rbps=1000" } } },
  { FAKE_CGROUP_V2,
    "\"blockIO\":{\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":2000}]}",
    NULL,
    { { V2 "io.max", "8:0 wbps=2000" } } },
  { FAKE_CGROUP_V2,
    "\"blockIO\":{\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":30}]}",
    NULL,
    { { V2 "io.max", "8:0 riops=30" } } },
  { FAKE_CGROUP_V2,
    "\"blockIO\":{\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":40}]}",
    NULL,
    { { V2 "io.max", "8:0 wiops=40" } } },
  { FAKE_CGROUP_V2,
    "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]",
    NULL,
    { { V2 "hugetlb.2MB.max", "4194304" } } },
  { FAKE_CGROUP_V2,
    "\"unified\":{\"memory.high\":\"1000\",\"cgroup.freeze\":\"0\"}",
    NULL,
    { { V2 "memory.high", "1000" } } },
  { FAKE_CGROUP_V2, "\"unified\":{\"nodot\":\"1\"}", "unified[\"nodot\"]: not a cgroup file name" },
  { FAKE_CGROUP_V2, "\"unified\":{\"foo.bar\":\"1\"}", "controller foo is not enabled" },
  { FAKE_CGROUP_V2, "\"network\":{\"classID\":1048577}",
    "network.classID: this host has no net_cls v1 hierarchy" },
  { FAKE_CGROUP_V2, "\"network\":{\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]}",
    "network.priorities: this host has no net_prio v1 hierarchy" },

  /* ---- v1: the spec's own units, one hierarchy per controller ---- */
  { FAKE_CGROUP_V1, "\"memory\":{\"limit\":-1}", NULL, { { MEM1 "memory.limit_in_bytes", "-1" } } },
  { FAKE_CGROUP_V1,
    "\"memory\":{\"swap\":268435456}",
    NULL,
    { { MEM1 "memory.memsw.limit_in_bytes", "268435456" } } },
  /* kernelTCP has no file on this kernel: skipped, as the spec deprecates it */
  { FAKE_CGROUP_V1,
    "\"memory\":{\"kernel\":1000,\"kernelTCP\":1000,\"swappiness\":10,"
    "\"disableOOMKiller\":true,\"useHierarchy\":false}",
    NULL,
    { { MEM1 "memory.kmem.limit_in_bytes", "1000" },
      { MEM1 "memory.swappiness", "10" },
      { MEM1 "memory.oom_control", "1" },
      { MEM1 "memory.use_hierarchy", "0" } } },
  { FAKE_CGROUP_V1,
    "\"cpu\":{\"burst\":1000,\"realtimePeriod\":1000000,\"realtimeRuntime\":950000,\"idle\":1}",
    NULL,
    { { CPU1 "cpu.cfs_burst_us", "1000" },
      { CPU1 "cpu.rt_period_us", "1000000" },
      { CPU1 "cpu.rt_runtime_us", "950000" },
      { CPU1 "cpu.idle", "1" } } },
  { FAKE_CGROUP_V1,
    "\"cpu\":{\"mems\":\"0\"}",
    NULL,
    { { "/sys/fs/cgroup/cpuset/focker-c1/cpuset.mems", "0" } } },
  { FAKE_CGROUP_V1,
    "\"blockIO\":{\"leafWeight\":300,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":10,"
    "\"leafWeight\":20}]}",
    NULL,
    { { BLK1 "blkio.leaf_weight", "300" },
      { BLK1 "blkio.weight_device", "8:0 10" },
      { BLK1 "blkio.leaf_weight_device", "8:0 20" } } },
  { FAKE_CGROUP_V1,
    "\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1}],"
    "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":2}],"
    "\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":3}],"
    "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":4}]}",
    NULL,
    { { BLK1 "blkio.throttle.read_bps_device", "8:0 1" },
      { BLK1 "blkio.throttle.write_bps_device", "8:0 2" },
      { BLK1 "blkio.throttle.read_iops_device", "8:0 3" },
      { BLK1 "blkio.throttle.write_iops_device", "8:0 4" } } },
  { FAKE_CGROUP_V1,
    "\"pids\":{\"limit\":7}",
    NULL,
    { { "/sys/fs/cgroup/pids/focker-c1/pids.max", "7" } } },
  { FAKE_CGROUP_V1, "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]",
    "hugepageLimits: this host has no hugetlb controller" },
  /* a v1 hugetlb hierarchy: <size>.limit_in_bytes, in bytes; on a hybrid host too (v1 first) */
  { FAKE_CGROUP_V1,
    HUGEPAGES,
    NULL,
    { { HUGE1 "hugetlb.2MB.limit_in_bytes", "4194304" },
      { HUGE1 "hugetlb.1GB.limit_in_bytes", "2147483648" } },
    true },
  { FAKE_CGROUP_HYBRID,
    HUGEPAGES,
    NULL,
    { { HUGE1 "hugetlb.2MB.limit_in_bytes", "4194304" },
      { HUGE1 "hugetlb.1GB.limit_in_bytes", "2147483648" } },
    true },
  { FAKE_CGROUP_V1, "\"unified\":{\"memory.high\":\"1000\"}",
    "unified: this host has no cgroup v2 hierarchy" },
  { FAKE_CGROUP_V1, "\"network\":{\"classID\":1048577}",
    "network.classID: this host has no net_cls v1 hierarchy" },
};

static void
world_init (struct fx_world *w, enum fake_cgroup_mode mode, bool v1_hugetlb, const char *resources)
{
  struct fake_personality p = { .major = 6, .minor = 18, .cgroup = mode, .v1_hugetlb = v1_hugetlb };
  char config[4096];

  snprintf (config, sizeof config, config_fmt, resources);
  fx_world_init (w, &p, config);
}

static void
each_field_lands_in_its_file (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      const struct resources_case *c = &cases[i];
      struct focker_err *err = NULL;
      struct fx_world w;
      int r;

      world_init (&w, c->mode, c->v1_hugetlb, c->resources);
      r = container_create (&opts, NULL, &err);
      if (c->error)
        {
          if (r >= 0)
            fail_msg ("case %zu {%s}: created, expected \"%s\"", i, c->resources, c->error);
          if (strstr (err->msg, c->error) == NULL || strchr (err->msg, '\n'))
            fail_msg ("case %zu: expected \"%s\" in one line, got \"%s\"", i, c->error, err->msg);
          if (strstr (err->msg, "linux.resources.") == NULL)
            fail_msg ("case %zu: the error does not name the field: \"%s\"", i, err->msg);
          focker_err_free (err);
          if (!fx_nothing_left (&w, "c1"))
            fail_msg ("case %zu: a failed create left a cgroup or state", i);
          fx_world_fini (&w);
          continue;
        }
      if (r < 0)
        fail_msg ("case %zu {%s}: %s", i, c->resources, err ? err->msg : "?");
      for (size_t j = 0; j < sizeof c->want / sizeof *c->want && c->want[j].path; j++)
        {
          char *got = fx_read (c->want[j].path);
          if (got == NULL || strcmp (got, c->want[j].value) != 0)
            fail_msg ("case %zu: %s: expected [%s], got [%s]", i, c->want[j].path, c->want[j].value,
                      got ? got : "(missing)");
          free (got);
        }
      fx_next_command (&w);
      if (container_delete (FX_ROOT, "c1", true, &err) < 0)
        fail_msg ("case %zu: delete: %s", i, err->msg);
      if (!fx_nothing_left (&w, "c1"))
        fail_msg ("case %zu: delete left a cgroup or state", i);
      fx_world_fini (&w);
    }
}

/* Every write of a config setting every field a layout supports fails once, in turn: the
 * create fails with one line and leaves nothing, or (the write was not needed) succeeds. */
static const char *const every_v1
    = "\"memory\":{\"limit\":67108864,\"swap\":134217728,\"reservation\":1000,\"kernel\":1000,"
      "\"swappiness\":10,\"disableOOMKiller\":false,\"useHierarchy\":true},"
      "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"burst\":10,"
      "\"realtimePeriod\":1000000,\"realtimeRuntime\":950000,\"idle\":0,\"cpus\":\"0\","
      "\"mems\":\"0\"},\"pids\":{\"limit\":50},"
      "\"blockIO\":{\"weight\":500,\"leafWeight\":300,\"weightDevice\":[{\"major\":8,\"minor\":0,"
      "\"weight\":10,\"leafWeight\":20}],"
      "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1}],"
      "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":2}],"
      "\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":3}],"
      "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":4}]}";
static const char *const every_v2
    = "\"memory\":{\"limit\":67108864,\"swap\":134217728,\"reservation\":1000},"
      "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"burst\":10,\"idle\":0,"
      "\"cpus\":\"0\",\"mems\":\"0\"},\"pids\":{\"limit\":50},"
      "\"blockIO\":{\"weight\":500,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":10}],"
      "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1}],"
      "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":2}],"
      "\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":3}],"
      "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":4}]},"
      "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
      "\"unified\":{\"memory.high\":\"1000\"}";

/* Each write of a create failing with EINVAL (what the kernel answers a value it refuses),
 * on v1 and v2 with every field set: one line of error and nothing left, or (a write whose
 * failure is ignored by design: the memsw probe) a container delete --force removes. */
static const struct
{
  enum fake_cgroup_mode mode;
  const char *resources;
  bool v1_hugetlb;
} every_run[] = { { FAKE_CGROUP_V1, every_v1, false },
                  { FAKE_CGROUP_V2, every_v2, false },
                  { FAKE_CGROUP_V1, HUGEPAGES, true } };

static int
failed_write_run (struct fx_fault *f, void *ctx)
{
  const size_t i = *(const size_t *)ctx;
  struct fx_world w;
  int r;

  world_init (&w, every_run[i].mode, every_run[i].v1_hugetlb, every_run[i].resources);
  r = fx_create_fault_run (f, &w, &opts);
  fx_world_fini (&w);
  return r;
}

static void
every_failed_write_leaves_nothing (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof every_run / sizeof *every_run; i++)
    fx_fault_loop_calls (FX_FAULT_ONCE, EINVAL, SYS_MASK (write), failed_write_run, &i);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (each_field_lands_in_its_file),
    cmocka_unit_test (every_failed_write_leaves_nothing),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
