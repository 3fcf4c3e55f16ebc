/* test_spec.c: the config.json parser (core/spec*.c) against real podman 4.3 and containerd
 * 1.6 configs (tests/fixtures/oci/), the top-level and process rejections with their exact
 * messages, the default spec, and spec_load through the seam on the fake kernel.
 * linux.* (resources, seccomp, devices), mounts and the wrong-type sweep are in
 * test_spec_linux.c. */
#include "tests/unit/spec_test.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"

static const char *const config_fixtures[] = {
  "containerd-privileged.json", "containerd-resources.json",
  "containerd-run.json",        "containerd-tty.json",
  "podman-network-host.json",   "podman-privileged.json",
  "podman-publish-port.json",   "podman-resources-security.json",
  "podman-run-echo.json",       "podman-tty.json",
  "podman-uidmap.json",
};

/* ---- real-world inputs --------------------------------------------------------------- */

static void
every_fixture_parses (void **state)
{
  for (size_t i = 0; i < sizeof config_fixtures / sizeof config_fixtures[0]; i++)
    {
      struct spec *s = parse_fixture (config_fixtures[i]);
      assert_string_equal (s->oci_version, "1.0.2-dev");
      assert_non_null (s->process);
      assert_non_null (s->root_path);
      assert_true (s->has_linux);
      assert_true (s->n_mounts > 0);
      assert_non_null (s->json);
      spec_free (s);
    }
}

static void
podman_run_echo_yields_its_values (void **state)
{
  struct spec *s = parse_fixture ("podman-run-echo.json");
  const struct spec_process *p = s->process;
  const struct spec_linux *l = &s->linux_;

  assert_int_equal (strv_length (p->args), 2);
  assert_string_equal (p->args[0], "echo");
  assert_string_equal (p->args[1], "hi");
  assert_string_equal (p->cwd, "/");
  assert_string_equal (strv_env_get (p->env, "TERM"), "xterm");
  assert_true (p->has_umask);
  assert_int_equal (p->umask, 022);
  assert_false (p->terminal);
  assert_true (p->has_capabilities);
  assert_int_equal (strv_length (p->caps.bounding), 14);
  assert_null (p->caps.ambient);
  assert_int_equal (p->n_rlimits, 2);
  assert_int_equal (p->rlimits[0].type, RLIMIT_NOFILE);
  assert_int_equal (p->rlimits[0].soft, 20000);
  assert_int_equal (p->rlimits[0].hard, 20000);
  assert_int_equal (p->rlimits[1].type, RLIMIT_NPROC);
  assert_int_equal (p->rlimits[1].hard, 32768);
  assert_string_equal (s->hostname, "ee2032077e60");
  assert_false (s->root_readonly);

  assert_int_equal (l->n_namespaces, 5);
  assert_int_equal (l->namespaces[0].type, CLONE_NEWPID);
  assert_null (l->namespaces[0].path);
  assert_int_equal (l->namespaces[1].type, CLONE_NEWNET);
  assert_string_equal (l->namespaces[1].path,
                       "/run/netns/netns-521c1f1f-df8a-5daa-f37a-ee7442c15e84");
  assert_true (l->has_seccomp);
  assert_string_equal (l->seccomp.default_action, "SCMP_ACT_ERRNO");
  assert_true (l->seccomp.has_default_errno_ret);
  assert_int_equal (l->seccomp.default_errno_ret, 38);
  assert_int_equal (strv_length (l->seccomp.architectures), 3);
  assert_true (l->seccomp.n_syscalls > 10);
  assert_true (l->seccomp.syscalls[0].has_errno_ret);
  assert_int_equal (l->seccomp.syscalls[0].errno_ret, 1);
  /* personality(0xffffffff) rule: args[0] == 4294967295 */
  assert_int_equal (l->seccomp.syscalls[6].n_args, 1);
  assert_int_equal (l->seccomp.syscalls[6].args[0].value, 4294967295u);
  assert_int_equal (l->seccomp.syscalls[6].args[0].op, 4); /* SCMP_CMP_EQ */
  assert_true (l->has_resources);
  assert_true (l->resources.has_pids_limit);
  assert_int_equal (l->resources.pids_limit, 2048);
  assert_int_equal (l->resources.n_devices, 1);
  assert_false (l->resources.devices[0].allow);
  assert_int_equal (l->resources.devices[0].major, -1);
  assert_string_equal (l->resources.devices[0].access, "rwm");
  assert_int_equal (strv_length (l->masked_paths), 11);
  assert_string_equal (l->readonly_paths[4], "/proc/sys");
  assert_int_equal (s->n_annotations, 8);
  assert_string_equal (s->annotations[0].key, "io.container.manager");
  assert_string_equal (s->annotations[0].value, "libpod");

  const struct spec_mount *dev = find_mount (s, "/dev");
  assert_int_equal (dev->flags, MS_NOSUID | MS_NOEXEC | MS_STRICTATIME);
  assert_string_equal (dev->data, "mode=755,size=65536k");
  const struct spec_mount *hosts = find_mount (s, "/etc/hosts");
  assert_true (hosts->bind);
  assert_false (hosts->recursive);
  assert_int_equal (hosts->propagation, MS_PRIVATE | MS_REC);
  assert_null (hosts->data);
  spec_free (s);
}

static void
containerd_run_yields_its_values (void **state)
{
  struct spec *s = parse_fixture ("containerd-run.json");
  const struct spec_resources *res = &s->linux_.resources;

  assert_string_equal (s->root_path, "rootfs");
  assert_string_equal (s->linux_.cgroups_path, "/default/c1");
  assert_int_equal (strv_length (s->process->args), 3);
  assert_string_equal (s->process->args[2], "exit 3");
  assert_true (s->process->no_new_privileges);
  assert_int_equal (s->process->n_additional_gids, 1);
  assert_int_equal (s->process->additional_gids[0], 0);
  assert_null (s->hostname);
  assert_true (res->has_cpu_shares);
  assert_int_equal (res->cpu_shares, 1024);
  assert_false (res->has_memory_limit);
  assert_int_equal (res->n_devices, 10);
  assert_true (res->devices[8].allow);
  assert_int_equal (res->devices[8].type, 'c');
  assert_int_equal (res->devices[8].major, 136);
  assert_int_equal (res->devices[8].minor, -1); /* absent = wildcard */
  const struct spec_mount *shm = find_mount (s, "/dev/shm");
  assert_string_equal (shm->type, "tmpfs");
  assert_string_equal (shm->source, "shm");
  assert_false (shm->bind);
  assert_string_equal (shm->data, "mode=1777,size=65536k");
  const struct spec_mount *pts = find_mount (s, "/dev/pts");
  assert_string_equal (pts->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  spec_free (s);
}

static void
podman_uidmap_yields_mappings (void **state)
{
  struct spec *s = parse_fixture ("podman-uidmap.json");
  const struct spec_linux *l = &s->linux_;

  assert_int_equal (l->n_uid_mappings, 1);
  assert_int_equal (l->uid_mappings[0].container_id, 0);
  assert_int_equal (l->uid_mappings[0].host_id, 100000);
  assert_int_equal (l->uid_mappings[0].size, 65536);
  assert_int_equal (l->n_gid_mappings, 1);
  assert_int_equal (l->gid_mappings[0].host_id, 100000);
  assert_int_equal (l->namespaces[5].type, CLONE_NEWUSER);
  spec_free (s);
}

static void
podman_resources_security_yields_limits (void **state)
{
  struct spec *s = parse_fixture ("podman-resources-security.json");
  const struct spec_resources *res = &s->linux_.resources;

  assert_true (s->root_readonly);
  assert_string_equal (s->process->cwd, "/tmp");
  assert_true (s->process->no_new_privileges);
  assert_int_equal (strv_length (s->process->caps.bounding), 1);
  assert_string_equal (s->process->caps.bounding[0], "CAP_NET_BIND_SERVICE");
  assert_true (res->has_memory_limit);
  assert_int_equal (res->memory_limit, 67108864);
  assert_true (res->has_memory_swap);
  assert_int_equal (res->memory_swap, 134217728);
  assert_int_equal (res->cpu_quota, 50000);
  assert_int_equal (res->cpu_period, 100000);
  assert_int_equal (res->pids_limit, 50);
  assert_int_equal (res->devices[1].major, 10);
  assert_int_equal (res->devices[1].minor, 229);
  /* the fixture has a tmpfs with tmpcopyup and a volume with rbind */
  bool tmpcopyup = false, rbind = false;
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      tmpcopyup |= s->mounts[i].tmpcopyup;
      rbind |= s->mounts[i].bind && s->mounts[i].recursive;
    }
  assert_true (tmpcopyup);
  assert_true (rbind);
  spec_free (s);
}

static void
privileged_fixtures_keep_devices (void **state)
{
  struct spec *s = parse_fixture ("podman-privileged.json");
  const struct spec_linux *l = &s->linux_;

  assert_true (l->n_devices > 10);
  assert_string_equal (l->devices[0].path, "/dev/autofs");
  assert_int_equal (l->devices[0].type, 'c');
  assert_int_equal (l->devices[0].major, 10);
  assert_int_equal (l->devices[0].minor, 235);
  assert_true (l->devices[0].has_file_mode);
  assert_int_equal (l->devices[0].file_mode, 8612); /* S_IFCHR | 0644, as podman writes it */
  assert_true (l->devices[0].has_uid);
  assert_true (l->resources.devices[0].allow);
  spec_free (s);

  s = parse_fixture ("containerd-privileged.json");
  assert_int_equal (s->linux_.devices[0].file_mode, 0644);
  assert_int_equal (s->linux_.n_namespaces, 5);
  spec_free (s);
}

static void
tty_fixtures_set_terminal (void **state)
{
  struct spec *s = parse_fixture ("podman-tty.json");
  assert_true (s->process->terminal);
  spec_free (s);
  s = parse_fixture ("containerd-tty.json");
  assert_true (s->process->terminal);
  spec_free (s);
}

static void
exec_process_fixtures_parse (void **state)
{
  static const char *const names[] = { "podman-exec-process.json", "containerd-exec-process.json" };
  for (int i = 0; i < 2; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      _cleanup_free_ char *text = NULL;
      struct spec_process *p = NULL;
      size_t len;

      text = read_fixture (names[i], &len);
      if (spec_parse_process (&p, text, len, "process.json", &err) < 0)
        fail_msg ("%s", err->msg);
      assert_int_equal (strv_length (p->args), 2);
      assert_string_equal (p->args[0], "echo");
      assert_string_equal (p->args[1], "exec-hi");
      assert_string_equal (p->cwd, "/");
      assert_int_equal (p->rlimits[0].type, RLIMIT_NOFILE);
      assert_int_equal (strv_length (p->caps.effective), 14);
      assert_int_equal (p->no_new_privileges, i == 1);
      spec_process_free (p);
    }
}

static void
exec_process_rejects_relative_cwd (void **state)
{
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *text = J ("{'args':['ls'],'cwd':'tmp'}");
  struct spec_process *p = NULL;

  assert_int_equal (spec_parse_process (&p, text, strlen (text), "process.json", &err), -EINVAL);
  assert_null (p);
  assert_string_equal (err->msg, "process.json: cwd: must be an absolute path: \"tmp\"");
}

/* ---- rejections ---------------------------------------------------------------------- */

static void
unknown_namespace_names_its_index (void **state)
{
  json_t *j = fixture_json ("podman-run-echo.json");
  json_t *ns = json_array_get (json_object_get (json_object_get (j, "linux"), "namespaces"), 2);

  json_object_set_new (ns, "type", json_string ("nett"));
  expect_fail_json (j, "config.json: linux.namespaces[2].type: unknown namespace \"nett\"");
}

static void
duplicate_namespace_is_rejected (void **state)
{
  expect_fail ("{" MIN ",'linux':{'namespaces':[{'type':'pid'},{'type':'mount'},{'type':'pid'}]}}",
               "config.json: linux.namespaces[2].type: duplicate namespace \"pid\"");
  expect_fail ("{" MIN ",'linux':{'namespaces':[{'type':'network','path':'run/netns/x'}]}}",
               "config.json: linux.namespaces[0].path: must be an absolute path: \"run/netns/x\"");
  expect_fail ("{" MIN ",'linux':{'namespaces':[{'path':'/x'}]}}",
               "config.json: linux.namespaces[0].type: missing");
}

static void
unknown_capability_is_named (void **state)
{
  json_t *j = fixture_json ("containerd-run.json");
  json_t *caps = json_object_get (json_object_get (j, "process"), "capabilities");

  json_array_set_new (json_object_get (caps, "bounding"), 3, json_string ("CAP_TEST"));
  expect_fail_json (
      j, "config.json: process.capabilities.bounding[3]: unknown capability \"CAP_TEST\"");
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'/','capabilities':{'ambient':['chown']}}}",
               "config.json: process.capabilities.ambient[0]: unknown capability \"chown\"");
}

static void
oci_version_is_checked (void **state)
{
  expect_fail ("{'ociVersion':'2.0.0'}", "config.json: ociVersion: unsupported version \"2.0.0\"");
  expect_fail ("{'ociVersion':'1.4.0'}", "config.json: ociVersion: unsupported version \"1.4.0\"");
  expect_fail ("{'ociVersion':'0.5.0-dev'}",
               "config.json: ociVersion: unsupported version \"0.5.0-dev\"");
  expect_fail ("{'ociVersion':'1.0'}", "config.json: ociVersion: unsupported version \"1.0\"");
  expect_fail ("{'ociVersion':'1.1.0-'}",
               "config.json: ociVersion: unsupported version \"1.1.0-\"");
  expect_fail ("{'ociVersion':'banana'}",
               "config.json: ociVersion: unsupported version \"banana\"");
  expect_fail ("{'ociVersion':1}", "config.json: ociVersion: must be a string");
  expect_fail ("{'root':{'path':'rootfs'}}", "config.json: ociVersion: missing");

  static const char *const good[]
      = { "1.0.0", "1.0.2-dev", "1.1.0-rc.1", "1.1.0", "1.2.1", "1.3.0", "1.3.12+build.5" };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    {
      char doc[128];
      snprintf (doc, sizeof doc, "{\"ociVersion\":\"%s\"}", good[i]);
      struct spec *s = parse_ok (doc);
      assert_string_equal (s->oci_version, good[i]);
      assert_null (s->process);
      spec_free (s);
    }
}

static void
process_fields_are_checked (void **state)
{
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'tmp'}}",
               "config.json: process.cwd: must be an absolute path: \"tmp\"");
  expect_fail ("{" MIN ",'process':{'args':['sh']}}", "config.json: process.cwd: missing");
  expect_fail ("{" MIN ",'process':{'args':[],'cwd':'/'}}",
               "config.json: process.args: must be a non-empty array of strings");
  expect_fail ("{" MIN ",'process':{'cwd':'/'}}",
               "config.json: process.args: must be a non-empty array of strings");
  expect_fail ("{" MIN ",'process':{'args':'sh','cwd':'/'}}",
               "config.json: process.args: must be an array of strings");
  expect_fail ("{" MIN ",'process':{'args':['sh',3],'cwd':'/'}}",
               "config.json: process.args[1]: must be a string");
  expect_fail ("{" MIN ",'process':[]}", "config.json: process: must be an object");
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'/','user':{'uid':-1}}}",
               "config.json: process.user.uid: must not be negative");
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'/','user':{'additionalGids':[1,'x']}}}",
               "config.json: process.user.additionalGids[1]: must be an integer");
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'/','oomScoreAdj':1001}}",
               "config.json: process.oomScoreAdj: out of range: 1001 not in [-1000, 1000]");
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'/','terminal':'yes'}}",
               "config.json: process.terminal: must be a boolean");
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'/','consoleSize':{'height':10}}}",
               "config.json: process.consoleSize.width: missing");
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'/','ioPriority':{'class':'BE'}}}",
               "config.json: process.ioPriority.class: unknown io priority class \"BE\"");
  expect_fail ("{" MIN ",'process':{'args':['sh'],'cwd':'/','scheduler':{'policy':'SCHED_RR',"
               "'flags':['SCHED_FLAG_RECLAIM','X']}}}",
               "config.json: process.scheduler.flags[1]: unknown scheduler flag \"X\"");

  /* commandLine (windows) stands in for args */
  struct spec *s = parse_sq ("{" MIN ",'process':{'commandLine':'cmd /c dir','cwd':'/'}}");
  assert_null (s->process->args);
  assert_string_equal (s->process->command_line, "cmd /c dir");
  spec_free (s);

  s = parse_sq ("{" MIN ",'process':{'args':['sh'],'cwd':'/','oomScoreAdj':-500,"
                "'consoleSize':{'height':24,'width':80},"
                "'ioPriority':{'class':'IOPRIO_CLASS_IDLE','priority':7},"
                "'scheduler':{'policy':'SCHED_BATCH','nice':5},'user':{'uid':1000,'gid':100,"
                "'umask':63,'additionalGids':[10,20]},'selinuxLabel':'l','apparmorProfile':'a'}}");
  assert_true (s->process->has_oom_score_adj);
  assert_int_equal (s->process->oom_score_adj, -500);
  assert_true (s->process->has_console_size);
  assert_int_equal (s->process->console_width, 80);
  assert_true (s->process->has_io_priority);
  assert_int_equal (s->process->io_priority_class, 3);
  assert_int_equal (s->process->io_priority, 7);
  assert_int_equal (s->process->uid, 1000);
  assert_int_equal (s->process->gid, 100);
  assert_int_equal (s->process->umask, 077);
  assert_int_equal (s->process->n_additional_gids, 2);
  assert_int_equal (s->process->additional_gids[1], 20);
  assert_string_equal (s->process->selinux_label, "l");
  assert_string_equal (s->process->apparmor_profile, "a");
  spec_free (s);
}

static void
rlimits_are_checked (void **state)
{
#define RL(x) "{" MIN ",'process':{'args':['sh'],'cwd':'/','rlimits':[" x "]}}"
  expect_fail (RL ("{'type':'RLIMIT_FOO','soft':1,'hard':1}"),
               "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  expect_fail (RL ("{'type':'RLIMIT_CORE','soft':1,'hard':1},{'type':'RLIMIT_CORE','soft':1,"
                   "'hard':2}"),
               "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_CORE\"");
  expect_fail (RL ("{'type':'RLIMIT_NOFILE','soft':2048,'hard':1024}"),
               "config.json: process.rlimits[0].soft: soft limit 2048 exceeds hard limit 1024");
  expect_fail (RL ("{'type':'RLIMIT_NOFILE','soft':1}"),
               "config.json: process.rlimits[0].hard: missing");
  expect_fail (RL ("{'type':'RLIMIT_NOFILE','soft':1.5,'hard':2}"),
               "config.json: process.rlimits[0].soft: must be an integer");

  /* "unlimited" as runc writes it: 2^64-1, beyond what a JSON int64 holds */
  struct spec *s = parse_sq (
      RL ("{'type':'RLIMIT_CORE','soft':18446744073709551615,'hard':18446744073709551615},"
          "{'type':'RLIMIT_NOFILE','soft':1024,'hard':4096}"));
  assert_int_equal (s->process->rlimits[0].type, RLIMIT_CORE);
  assert_true (s->process->rlimits[0].soft == UINT64_MAX);
  assert_true (s->process->rlimits[0].hard == UINT64_MAX);
  assert_int_equal (s->process->rlimits[1].soft, 1024);
  assert_int_equal (s->process->rlimits[1].hard, 4096);
  spec_free (s);
#undef RL
}

/* jansson's column is that of the last character of the offending token */
static void
malformed_json_reports_line_and_column (void **state)
{
  expect_fail_text ("{\n  \"ociVersion\": \"1.1.0\",\n  \"hostname\" \"x\"\n}\n",
                    "config.json: line 3 column 16: ':' expected near '\"x\"'");
  expect_fail_text ("{\n  \"ociVersion\": \"1.1.0\",\n  \"ociVersion\": \"1.2.0\"\n}\n",
                    "config.json: line 3 column 14: duplicate object key near '\"ociVersion\"'");
  expect_fail_text ("", "config.json: line 1 column 0: '[' or '{' expected near end of file");
  expect_fail_text ("[1]", "config.json: must be a JSON object");
}

static void
duplicate_key_in_nested_object_is_rejected (void **state)
{
  expect_fail_text ("{\"ociVersion\":\"1.1.0\",\"linux\":{\"sysctl\":{\"a\":\"1\",\"a\":\"2\"}}}",
                    "config.json: line 1 column 52: duplicate object key near '\"a\"'");
}

static void
hooks_are_checked (void **state)
{
  expect_fail ("{" MIN ",'hooks':{'poststart':[{'path':'/bin/true','timeout':0}]}}",
               "config.json: hooks.poststart[0].timeout: must be greater than 0");
  expect_fail ("{" MIN ",'hooks':{'createRuntime':[{'path':'/a'},{'path':'hook'}]}}",
               "config.json: hooks.createRuntime[1].path: must be an absolute path: \"hook\"");
  expect_fail ("{" MIN ",'hooks':{'prestart':{'path':'/a'}}}",
               "config.json: hooks.prestart: must be an array");
  expect_fail ("{" MIN ",'hooks':{'poststop':[{'args':['x']}]}}",
               "config.json: hooks.poststop[0].path: missing");

  struct spec *s
      = parse_sq ("{" MIN ",'hooks':{'prestart':[{'path':'/p','args':['p','1'],'env':['A=1']}],"
                  "'createRuntime':[{'path':'/cr','timeout':5}],'createContainer':[{'path':'/cc'}],"
                  "'startContainer':[{'path':'/sc'},{'path':'/sc2'}],'poststart':[{'path':'/ps'}],"
                  "'poststop':[{'path':'/pst'}]}}");
  assert_int_equal (s->n_hooks[SPEC_HOOK_PRESTART], 1);
  assert_string_equal (s->hooks[SPEC_HOOK_PRESTART][0].args[1], "1");
  assert_string_equal (s->hooks[SPEC_HOOK_PRESTART][0].env[0], "A=1");
  assert_int_equal (s->hooks[SPEC_HOOK_PRESTART][0].timeout, 0);
  assert_int_equal (s->hooks[SPEC_HOOK_CREATE_RUNTIME][0].timeout, 5);
  assert_string_equal (s->hooks[SPEC_HOOK_CREATE_CONTAINER][0].path, "/cc");
  assert_int_equal (s->n_hooks[SPEC_HOOK_START_CONTAINER], 2);
  assert_string_equal (s->hooks[SPEC_HOOK_START_CONTAINER][1].path, "/sc2");
  assert_string_equal (s->hooks[SPEC_HOOK_POSTSTART][0].path, "/ps");
  assert_string_equal (s->hooks[SPEC_HOOK_POSTSTOP][0].path, "/pst");
  spec_free (s);
}

static void
unknown_keys_and_nulls_are_ignored (void **state)
{
  struct spec *s = parse_sq ("{" MIN ",'futureField':{'x':[1,2]},'hostname':null,'domainname':"
                             "'example.org','process':{'args':['sh'],'cwd':'/','future':true,"
                             "'env':null},'linux':{'netDevices':{'eth1':{}},'memoryPolicy':"
                             "{'mode':'MPOL_BIND'},'namespaces':[{'type':'pid','extra':1}]},"
                             "'vm':{'hypervisor':{}}}");
  assert_null (s->hostname);
  assert_string_equal (s->domainname, "example.org");
  assert_null (s->process->env);
  assert_int_equal (s->linux_.n_namespaces, 1);
  /* the document is kept whole for pass-through fields */
  assert_true (json_is_object (json_object_get (s->json, "futureField")));
  spec_free (s);
}

static void
name_tables_round_trip (void **state)
{
  static const char *const ns[]
      = { "mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time" };
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    {
      int flag = spec_namespace_from_name (ns[i]);
      assert_true (flag > 0);
      assert_string_equal (spec_namespace_name (flag), ns[i]);
    }
  assert_int_equal (spec_namespace_from_name ("mount"), CLONE_NEWNS);
  assert_int_equal (spec_namespace_from_name ("net"), -1);
  assert_null (spec_namespace_name (0));
  assert_int_equal (spec_rlimit_from_name ("RLIMIT_NOFILE"), RLIMIT_NOFILE);
  assert_int_equal (spec_rlimit_from_name ("RLIMIT_RTTIME"), RLIMIT_RTTIME);
  assert_int_equal (spec_rlimit_from_name ("NOFILE"), -1);
  assert_int_equal (spec_cap_from_name ("CAP_CHOWN"), 0);
  assert_int_equal (spec_cap_from_name ("CAP_SYS_ADMIN"), 21);
  assert_int_equal (spec_cap_from_name ("CAP_CHECKPOINT_RESTORE"), 40);
  assert_int_equal (spec_cap_from_name ("CAP_TEST"), -1);
  assert_string_equal (spec_cap_name (SPEC_CAP_LAST), "CAP_CHECKPOINT_RESTORE");
  assert_null (spec_cap_name (41));
  for (int c = 0; c <= SPEC_CAP_LAST; c++)
    assert_int_equal (spec_cap_from_name (spec_cap_name (c)), c);
}

/* ---- the default spec ---------------------------------------------------------------- */

static void
default_spec_round_trips (void **state)
{
  _cleanup_free_ char *text = spec_default_json (false);
  struct spec *s = parse_ok (text);

  assert_string_equal (s->hostname, "focker");
  assert_true (s->process->terminal);
  assert_string_equal (s->process->args[0], "sh");
  assert_null (s->process->args[1]);
  assert_string_equal (s->process->cwd, "/");
  assert_string_equal (strv_env_get (s->process->env, "TERM"), "xterm");
  assert_non_null (strv_env_get (s->process->env, "PATH"));
  assert_int_equal (strv_length (s->process->caps.bounding), 3);
  assert_int_equal (strv_length (s->process->caps.effective), 3);
  assert_int_equal (strv_length (s->process->caps.permitted), 3);
  assert_int_equal (s->process->rlimits[0].type, RLIMIT_NOFILE);
  assert_int_equal (s->process->rlimits[0].hard, 1024);
  assert_true (s->process->no_new_privileges);
  assert_string_equal (s->root_path, "rootfs");
  assert_true (s->root_readonly);
  assert_int_equal (s->n_mounts, 7);
  assert_string_equal (find_mount (s, "/sys/fs/cgroup")->type, "cgroup");
  assert_string_equal (find_mount (s, "/dev/mqueue")->type, "mqueue");
  assert_int_equal (s->linux_.n_namespaces, 6);
  assert_int_equal (s->linux_.n_uid_mappings, 0);
  assert_true (strv_length (s->linux_.masked_paths) >= 10);
  assert_true (strv_length (s->linux_.readonly_paths) >= 5);
  assert_true (text[strlen (text) - 1] == '\n');
  spec_free (s);
}

static void
rootless_default_spec_round_trips (void **state)
{
  _cleanup_free_ char *text = spec_default_json_ids (true, 4242, 4343);
  _cleanup_free_ char *text2 = spec_default_json (true);
  struct spec *s = parse_ok (text);
  bool userns = false;

  for (size_t i = 0; i < s->linux_.n_namespaces; i++)
    userns |= s->linux_.namespaces[i].type == CLONE_NEWUSER;
  assert_true (userns);
  assert_int_equal (s->linux_.n_uid_mappings, 1);
  assert_int_equal (s->linux_.uid_mappings[0].container_id, 0);
  assert_int_equal (s->linux_.uid_mappings[0].host_id, 4242);
  assert_int_equal (s->linux_.uid_mappings[0].size, 1);
  assert_int_equal (s->linux_.gid_mappings[0].host_id, 4343);
  assert_false (s->linux_.has_resources);
  const struct spec_mount *sysfs = find_mount (s, "/sys");
  assert_true (sysfs->bind && sysfs->recursive);
  assert_string_equal (sysfs->source, "/sys");
  assert_string_equal (find_mount (s, "/dev/pts")->data, "newinstance,ptmxmode=0666,mode=0620");
  spec_free (s);

  s = parse_ok (text2);
  assert_int_equal (s->linux_.uid_mappings[0].host_id, 1000);
  spec_free (s);
}

/* ---- spec_load through the seam (fake kernel) --------------------------------------- */

static int
open_bundle (void)
{
  int fd = sys_openat (AT_FDCWD, "/bundle", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  assert_true (fd >= 0);
  return fd;
}

static void
spec_load_reads_through_the_seam (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *text = NULL;
  struct spec *s = NULL;
  size_t len, fds;
  int dirfd;

  text = read_fixture ("podman-run-echo.json", &len);
  assert_int_equal (fake_mkdir_p (k, "/bundle", 0755), 0);
  assert_int_equal (fake_write_file (k, "/bundle/config.json", text, 0644), 0);
  fds = fake_open_fds (k, fake_current_pid (k));
  dirfd = open_bundle ();

  assert_int_equal (spec_load (&s, dirfd, "config.json", &err), 0);
  assert_null (err);
  assert_string_equal (s->process->args[0], "echo");
  assert_int_equal (s->linux_.seccomp.default_errno_ret, 38);
  spec_free (s);
  s = NULL;
  assert_true (fake_journal_find (k, SYS_ID_read, 0) >= 0);

  /* a missing file: the errno of the open, naming the file */
  assert_int_equal (spec_load (&s, dirfd, "missing.json", &err), -ENOENT);
  assert_null (s);
  assert_string_equal (err->msg, "open missing.json");
  focker_err_free (err);
  err = NULL;

  /* a parse error names the file as given */
  assert_int_equal (fake_write_file (k, "/bundle/bad.json", "{\"ociVersion\":\"9.0.0\"}", 0644), 0);
  assert_int_equal (spec_load (&s, dirfd, "bad.json", &err), -EINVAL);
  assert_string_equal (err->msg, "bad.json: ociVersion: unsupported version \"9.0.0\"");

  sys_close (dirfd);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), fds);
  fake_kernel_free (k);
  sys = &sys_linux;
}

/* A document larger than the first read buffer, read with every possible fault. */
static int
spec_load_run (struct fx_fault *f, void *ctx)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  struct spec *s = NULL;
  size_t fds;
  int dirfd, r;

  assert_int_equal (fake_mkdir_p (k, "/bundle", 0755), 0);
  assert_int_equal (fake_write_file (k, "/bundle/config.json", ctx, 0644), 0);
  fds = fake_open_fds (k, fake_current_pid (k));
  dirfd = open_bundle ();
  fx_fault_arm (f, k);
  r = spec_load (&s, dirfd, "config.json", &err);
  fx_fault_disarm (f);
  sys_close (dirfd);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), fds);
  if (f->hit)
    {
      assert_int_equal (r, -EIO);
      assert_null (s);
    }
  else
    {
      assert_int_equal (r, 0);
      assert_int_equal (strlen (json_string_value (
                            json_object_get (json_object_get (s->json, "annotations"), "big"))),
                        99999);
      spec_free (s);
      assert_true (f->n > 4); /* one openat, several reads: every one was failed once */
    }
  fx_fault_err (f, r, &err);
  fake_kernel_free (k);
  return r;
}

static void
spec_load_survives_every_fault (void **state)
{
  json_t *j = fixture_json ("podman-run-echo.json");
  char *big = malloc (100000);
  char *text;

  memset (big, 'a', 99999);
  big[99999] = '\0';
  json_object_set_new (json_object_get (j, "annotations"), "big", json_string (big));
  text = json_dumps (j, 0);
  json_decref (j);
  free (big);
  fx_fault_loop_calls (FX_FAULT_ONCE_THEN_PERSIST, EIO, SYS_MASK (openat) | SYS_MASK (read),
                       spec_load_run, text);
  sys = &sys_linux;
  free (text);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (every_fixture_parses),
    cmocka_unit_test (podman_run_echo_yields_its_values),
    cmocka_unit_test (containerd_run_yields_its_values),
    cmocka_unit_test (podman_uidmap_yields_mappings),
    cmocka_unit_test (podman_resources_security_yields_limits),
    cmocka_unit_test (privileged_fixtures_keep_devices),
    cmocka_unit_test (tty_fixtures_set_terminal),
    cmocka_unit_test (exec_process_fixtures_parse),
    cmocka_unit_test (exec_process_rejects_relative_cwd),
    cmocka_unit_test (unknown_namespace_names_its_index),
    cmocka_unit_test (duplicate_namespace_is_rejected),
    cmocka_unit_test (unknown_capability_is_named),
    cmocka_unit_test (oci_version_is_checked),
    cmocka_unit_test (process_fields_are_checked),
    cmocka_unit_test (rlimits_are_checked),
    cmocka_unit_test (malformed_json_reports_line_and_column),
    cmocka_unit_test (duplicate_key_in_nested_object_is_rejected),
    cmocka_unit_test (hooks_are_checked),
    cmocka_unit_test (unknown_keys_and_nulls_are_ignored),
    cmocka_unit_test (name_tables_round_trip),
    cmocka_unit_test (default_spec_round_trips),
    cmocka_unit_test (rootless_default_spec_round_trips),
    cmocka_unit_test (spec_load_reads_through_the_seam),
    cmocka_unit_test (spec_load_survives_every_fault),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
