/* test_spec_linux.c: the "linux" and "mounts" parts of the config.json parser: resources,
 * seccomp, namespaces, devices, mount options -> flags, nested-path error messages, and a
 * sweep that puts a wrong-typed value at every node of two documents (under ASan this walks
 * every error path and proves none leaks). */
#include "tests/unit/spec_test.h"

static void
wrong_type_names_nested_path (void **state)
{
  json_t *j = fixture_json ("podman-resources-security.json");
  json_t *mem
      = json_object_get (json_object_get (json_object_get (j, "linux"), "resources"), "memory");
  json_object_set_new (mem, "limit", json_string ("64m"));
  expect_fail_json (j, "config.json: linux.resources.memory.limit: must be an integer");

  expect_fail ("{" MIN ",'linux':{'resources':{'blockIO':{'throttleReadBpsDevice':[{'major':8,"
               "'minor':0,'rate':'fast'}]}}}}",
               "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].rate: must be an "
               "integer");
  expect_fail ("{" MIN ",'linux':{'resources':{'memory':{'limit':-2}}}}",
               "config.json: linux.resources.memory.limit: out of range: -2 not in "
               "[-1, 9223372036854775807]");
  expect_fail ("{" MIN ",'linux':{'resources':{'memory':{'disableOOMKiller':1}}}}",
               "config.json: linux.resources.memory.disableOOMKiller: must be a boolean");
  expect_fail ("{" MIN ",'linux':{'resources':{'cpu':{'cpus':2}}}}",
               "config.json: linux.resources.cpu.cpus: must be a string");
  expect_fail ("{" MIN ",'linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}}",
               "config.json: linux.resources.devices[0].access: must be a combination of "
               "\"rwm\", not \"rwx\"");
  expect_fail ("{" MIN ",'linux':{'resources':{'devices':[{'access':'rwm'}]}}}",
               "config.json: linux.resources.devices[0].allow: missing");
  expect_fail ("{" MIN ",'linux':{'resources':{'unified':{'memory.max':1}}}}",
               "config.json: linux.resources.unified.memory.max: must be a string");
  expect_fail ("{" MIN ",'linux':{'resources':{'rdma':{'mlx5_1':{'hcaHandles':'x'}}}}}",
               "config.json: linux.resources.rdma.mlx5_1.hcaHandles: must be an integer");
  expect_fail ("{" MIN ",'linux':{'resources':{'rdma':{'mlx5 1':{'hcaHandles':1}}}}}",
               "config.json: linux.resources.rdma.mlx5 1: not an RDMA device name");
  expect_fail ("{" MIN ",'linux':{'resources':{'blockIO':{'weight':70000}}}}",
               "config.json: linux.resources.blockIO.weight: out of range: 70000 > 65535");
  expect_fail ("{" MIN ",'linux':[]}", "config.json: linux: must be an object");
  expect_fail ("{" MIN ",'annotations':{'a':1}}", "config.json: annotations.a: must be a string");
  expect_fail ("{" MIN ",'hostname':7}", "config.json: hostname: must be a string");
  expect_fail ("{'ociVersion':'1.1.0','root':{'readonly':true}}",
               "config.json: root.path: missing");
}

static void
resources_parse_every_field (void **state)
{
  struct spec *s = parse_sq (
      "{" MIN ",'linux':{'resources':{"
      "'memory':{'limit':536870912,'reservation':1,'swap':-1,'kernel':-1,'kernelTCP':5,"
      "'swappiness':60,'disableOOMKiller':true,'useHierarchy':false,'checkBeforeUpdate':true},"
      "'cpu':{'shares':512,'quota':-1,'burst':10,'period':100000,'realtimeRuntime':950000,"
      "'realtimePeriod':1000000,'cpus':'2-3','mems':'0-7','idle':1},"
      "'pids':{'limit':-1},"
      "'blockIO':{'weight':10,'leafWeight':20,'weightDevice':[{'major':8,'minor':0,'weight':500,"
      "'leafWeight':300},{'major':8,'minor':16,'weight':500}],"
      "'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':600}],"
      "'throttleWriteBpsDevice':[{'major':8,'minor':1,'rate':601}],"
      "'throttleReadIOPSDevice':[{'major':8,'minor':2,'rate':602}],"
      "'throttleWriteIOPSDevice':[{'major':8,'minor':16,'rate':300}]},"
      "'hugepageLimits':[{'pageSize':'2MB','limit':9223372036854772000}],"
      "'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':500}]},"
      "'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000}},"
      "'unified':{'memory.high':'1G','io.weight':'default 100'},"
      "'devices':[{'allow':true,'type':'b','major':8,'minor':0,'access':'r'}]}}}");
  const struct spec_resources *r = &s->linux_.resources;

  assert_true (r->has_memory_limit && r->has_memory_reservation && r->has_memory_swap);
  assert_int_equal (r->memory_limit, 536870912);
  assert_int_equal (r->memory_swap, -1);
  assert_int_equal (r->memory_kernel_tcp, 5);
  assert_int_equal (r->memory_swappiness, 60);
  assert_true (r->has_disable_oom_killer && r->disable_oom_killer);
  assert_true (r->has_use_hierarchy && !r->use_hierarchy);
  assert_true (r->has_check_before_update && r->check_before_update);
  assert_int_equal (r->cpu_shares, 512);
  assert_int_equal (r->cpu_quota, -1);
  assert_int_equal (r->cpu_burst, 10);
  assert_int_equal (r->cpu_rt_runtime, 950000);
  assert_int_equal (r->cpu_rt_period, 1000000);
  assert_true (r->has_cpu_idle);
  assert_string_equal (r->cpu_cpus, "2-3");
  assert_string_equal (r->cpu_mems, "0-7");
  assert_true (r->has_pids_limit);
  assert_int_equal (r->pids_limit, -1);
  assert_int_equal (r->blkio_weight, 10);
  assert_int_equal (r->blkio_leaf_weight, 20);
  assert_int_equal (r->n_blkio_weight_devices, 2);
  assert_true (r->blkio_weight_devices[0].has_leaf_weight);
  assert_int_equal (r->blkio_weight_devices[0].leaf_weight, 300);
  assert_false (r->blkio_weight_devices[1].has_leaf_weight);
  assert_int_equal (r->throttle_read_bps[0].rate, 600);
  assert_int_equal (r->throttle_write_bps[0].minor, 1);
  assert_int_equal (r->throttle_read_iops[0].rate, 602);
  assert_int_equal (r->throttle_write_iops[0].minor, 16);
  assert_int_equal (r->n_hugepage_limits, 1);
  assert_string_equal (r->hugepage_limits[0].page_size, "2MB");
  assert_true (r->has_net_class_id);
  assert_int_equal (r->net_class_id, 1048577);
  assert_string_equal (r->net_priorities[0].key, "eth0");
  assert_string_equal (r->net_priorities[0].value, "500");
  assert_int_equal (r->n_unified, 2);
  assert_string_equal (r->unified[1].key, "io.weight");
  assert_string_equal (r->unified[1].value, "default 100");
  assert_int_equal (r->devices[0].type, 'b');
  assert_int_equal (r->n_rdma, 1);
  assert_string_equal (r->rdma[0].device, "mlx5_1");
  assert_true (r->rdma[0].has_hca_handles && r->rdma[0].has_hca_objects);
  assert_int_equal (r->rdma[0].hca_handles, 3);
  assert_int_equal (r->rdma[0].hca_objects, 10000);
  spec_free (s);
}

static void
mounts_are_checked (void **state)
{
  expect_fail ("{" MIN ",'mounts':[{'destination':'/proc','type':'proc'},{'destination':'tmp',"
               "'type':'tmpfs'}]}",
               "config.json: mounts[1].destination: must be an absolute path: \"tmp\"");
  expect_fail ("{" MIN ",'mounts':[{'type':'tmpfs'}]}",
               "config.json: mounts[0].destination: missing");
  expect_fail ("{" MIN ",'mounts':[{'destination':'/x','options':'ro'}]}",
               "config.json: mounts[0].options: must be an array of strings");
  expect_fail ("{" MIN ",'mounts':[{'destination':'/x','uidMappings':[{'containerID':0,"
               "'hostID':1000,'size':0}]}]}",
               "config.json: mounts[0].uidMappings[0].size: must be greater than 0");

  /* 1.0.x allowed relative destinations: they are relative to "/" */
  struct spec *s = parse_sq ("{'ociVersion':'1.0.2-dev','mounts':[{'destination':'tmp','type':"
                             "'tmpfs','source':'tmpfs'}]}");
  assert_string_equal (s->mounts[0].destination, "/tmp");
  spec_free (s);
}

static void
mount_options_become_flags (void **state)
{
  struct spec *s = parse_sq (
      "{" MIN ",'mounts':["
      "{'destination':'/a','type':'tmpfs','options':['ro','nosuid','nodev','noexec','sync',"
      "'dirsync','mand','noatime','nodiratime','relatime','strictatime','lazytime','mode=755',"
      "'size=65536k','remount']},"
      "{'destination':'/b','type':'none','source':'/src','options':['rbind','rw','suid','dev',"
      "'exec','async','nomand','atime','diratime','norelatime','nostrictatime','rslave']},"
      "{'destination':'/c','type':'bind','source':'/src','options':['ro','rw','shared',"
      "'private']},"
      "{'destination':'/d','source':'/src','options':['bind','unbindable','rro','rnosuid',"
      "'rnoexec','rrw','idmap','newinstance','ptmxmode=0666','gid=5']},"
      "{'destination':'/e','type':'none','source':'/src','options':['rbind','ridmap',"
      "'runbindable','tmpcopyup']},"
      "{'destination':'/f','type':'proc','source':'proc'}]}");

  const struct spec_mount *a = &s->mounts[0];
  assert_int_equal (a->flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS
                                  | MS_DIRSYNC | MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME
                                  | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME | MS_REMOUNT);
  assert_int_equal (a->clear_flags, 0);
  assert_int_equal (a->propagation, 0);
  assert_false (a->bind);
  assert_string_equal (a->data, "mode=755,size=65536k");
  assert_int_equal (strv_length (a->options), 15);

  const struct spec_mount *b = &s->mounts[1];
  assert_true (b->bind);
  assert_true (b->recursive);
  assert_int_equal (b->flags, 0);
  assert_int_equal (b->clear_flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS
                                        | MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME | MS_RELATIME
                                        | MS_STRICTATIME);
  assert_int_equal (b->propagation, MS_SLAVE | MS_REC);
  assert_null (b->data);

  /* type "bind" alone is a bind mount; a later option wins over an earlier one */
  const struct spec_mount *c = &s->mounts[2];
  assert_true (c->bind);
  assert_false (c->recursive);
  assert_int_equal (c->flags, 0);
  assert_int_equal (c->clear_flags, MS_RDONLY);
  assert_int_equal (c->propagation, MS_PRIVATE);

  const struct spec_mount *d = &s->mounts[3];
  assert_true (d->bind);
  assert_null (d->type);
  assert_int_equal (d->propagation, MS_UNBINDABLE);
  assert_int_equal (d->rec_flags, MS_NOSUID | MS_NOEXEC);
  assert_int_equal (d->rec_clear_flags, MS_RDONLY);
  assert_true (d->idmap);
  assert_false (d->idmap_recursive);
  assert_string_equal (d->data, "newinstance,ptmxmode=0666,gid=5");

  const struct spec_mount *e = &s->mounts[4];
  assert_true (e->bind && e->recursive);
  assert_true (e->idmap && e->idmap_recursive);
  assert_true (e->tmpcopyup);
  assert_int_equal (e->propagation, MS_UNBINDABLE | MS_REC);
  assert_null (e->data);

  const struct spec_mount *f = &s->mounts[5];
  assert_null (f->options);
  assert_int_equal (f->flags, 0);
  assert_null (f->data);
  assert_false (f->bind);
  spec_free (s);
}

static void
linux_fields_are_checked (void **state)
{
  expect_fail ("{" MIN ",'linux':{'uidMappings':[{'containerID':0,'hostID':1000,'size':0}],"
               "'namespaces':[{'type':'user'}]}}",
               "config.json: linux.uidMappings[0].size: must be greater than 0");
  expect_fail ("{" MIN ",'linux':{'gidMappings':[{'containerID':0,'size':1}],"
               "'namespaces':[{'type':'user'}]}}",
               "config.json: linux.gidMappings[0].hostID: missing");
  expect_fail ("{" MIN ",'linux':{'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
               "config.json: linux.uidMappings: given without a user namespace");
  expect_fail ("{" MIN ",'linux':{'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]}}",
               "config.json: linux.devices[0].type: unknown device type \"x\"");
  expect_fail ("{" MIN ",'linux':{'devices':[{'path':'/dev/x','type':'c','minor':1}]}}",
               "config.json: linux.devices[0].major: missing");
  expect_fail ("{" MIN ",'linux':{'devices':[{'path':'dev/x','type':'c','major':1,'minor':1}]}}",
               "config.json: linux.devices[0].path: must be an absolute path: \"dev/x\"");
  expect_fail ("{" MIN ",'linux':{'maskedPaths':['/proc/kcore','proc/keys']}}",
               "config.json: linux.maskedPaths[1]: must be an absolute path: \"proc/keys\"");
  expect_fail ("{" MIN ",'linux':{'readonlyPaths':['sys']}}",
               "config.json: linux.readonlyPaths[0]: must be an absolute path: \"sys\"");
  expect_fail ("{" MIN ",'linux':{'rootfsPropagation':'rprivat'}}",
               "config.json: linux.rootfsPropagation: unknown rootfs propagation \"rprivat\"");
  expect_fail ("{" MIN ",'linux':{'personality':{'domain':'LINUX64'}}}",
               "config.json: linux.personality.domain: unknown personality domain \"LINUX64\"");
  expect_fail ("{" MIN ",'linux':{'sysctl':{'net.ipv4.ip_forward':1}}}",
               "config.json: linux.sysctl.net.ipv4.ip_forward: must be a string");
  expect_fail ("{" MIN ",'linux':{'timeOffsets':{'boottime':{'secs':1,'nanosecs':1000000000}}}}",
               "config.json: linux.timeOffsets.boottime.nanosecs: out of range: 1000000000 > "
               "999999999");

  struct spec *s = parse_sq (
      "{" MIN ",'linux':{'namespaces':[{'type':'mount'},{'type':'pid'},{'type':'network'},"
      "{'type':'uts'},{'type':'ipc'},{'type':'user'},{'type':'cgroup'},{'type':'time'}],"
      "'uidMappings':[{'containerID':0,'hostID':1000,'size':1}],"
      "'devices':[{'path':'/dev/fifo','type':'p'},{'path':'/dev/sda','type':'b','major':8,"
      "'minor':0,'fileMode':432,'uid':0,'gid':6}],"
      "'rootfsPropagation':'rslave','mountLabel':'m','personality':{'domain':'LINUX32',"
      "'flags':[]},'timeOffsets':{'monotonic':{'secs':-86400,'nanosecs':5},'boottime':"
      "{'secs':600}},'intelRdt':{'closID':'guaranteed_group','enableCMT':true},"
      "'sysctl':{'net.core.somaxconn':'256'}}}");
  const struct spec_linux *l = &s->linux_;
  assert_int_equal (l->n_namespaces, 8);
  assert_int_equal (l->namespaces[6].type, CLONE_NEWCGROUP);
  assert_int_equal (l->namespaces[7].type, CLONE_NEWTIME);
  assert_int_equal (l->devices[0].type, 'p');
  assert_false (l->devices[0].has_file_mode);
  assert_int_equal (l->devices[1].file_mode, 0660);
  assert_int_equal (l->devices[1].gid, 6);
  assert_string_equal (l->rootfs_propagation, "rslave");
  assert_int_equal (l->rootfs_propagation_flags, MS_SLAVE | MS_REC);
  assert_string_equal (l->mount_label, "m");
  assert_true (l->has_personality);
  assert_string_equal (l->personality_domain, "LINUX32");
  assert_true (l->has_time_offsets);
  assert_int_equal (l->monotonic_secs, -86400);
  assert_int_equal (l->monotonic_nanosecs, 5);
  assert_int_equal (l->boottime_secs, 600);
  assert_string_equal (l->intel_rdt_clos_id, "guaranteed_group");
  assert_string_equal (l->sysctl[0].key, "net.core.somaxconn");
  assert_string_equal (l->sysctl[0].value, "256");
  spec_free (s);
}

static void
seccomp_is_checked (void **state)
{
#define SC(x) "{" MIN ",'linux':{'seccomp':{" x "}}}"
  expect_fail (SC ("'defaultAction':'SCMP_ACT_DENY'"),
               "config.json: linux.seccomp.defaultAction: unknown seccomp action "
               "\"SCMP_ACT_DENY\"");
  expect_fail (SC ("'architectures':['SCMP_ARCH_X86_64']"),
               "config.json: linux.seccomp.defaultAction: missing");
  expect_fail (SC ("'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64',"
                   "'SCMP_ARCH_VAX']"),
               "config.json: linux.seccomp.architectures[1]: unknown seccomp architecture "
               "\"SCMP_ARCH_VAX\"");
  expect_fail (SC ("'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_FAST']"),
               "config.json: linux.seccomp.flags[0]: unknown seccomp flag "
               "\"SECCOMP_FILTER_FLAG_FAST\"");
  expect_fail (SC ("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':"
                   "'SCMP_ACT_ERRNO'}]"),
               "config.json: linux.seccomp.syscalls[0].names: must be a non-empty array of "
               "strings");
  expect_fail (SC ("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':"
                   "'SCMP_ACT_ERRNO'},{'names':['kill'],'action':'SCMP_ACT_ALLOW','args':"
                   "[{'index':0,'value':1,'op':'SCMP_CMP_ABOUT'}]}]"),
               "config.json: linux.seccomp.syscalls[1].args[0].op: unknown seccomp operator "
               "\"SCMP_CMP_ABOUT\"");
  expect_fail (SC ("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['kill'],'action':"
                   "'SCMP_ACT_ALLOW','args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]"),
               "config.json: linux.seccomp.syscalls[0].args[0].index: out of range: 6 > 5");
  expect_fail (SC ("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['kill']}]"),
               "config.json: linux.seccomp.syscalls[0].action: missing");

  struct spec *s = parse_sq (
      SC ("'defaultAction':'SCMP_ACT_KILL_PROCESS','defaultErrnoRet':1,'architectures':"
          "['SCMP_ARCH_AARCH64'],'flags':['SECCOMP_FILTER_FLAG_TSYNC','SECCOMP_FILTER_FLAG_LOG',"
          "'SECCOMP_FILTER_FLAG_SPEC_ALLOW','SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],"
          "'listenerPath':'/run/seccomp.sock','listenerMetadata':'meta','syscalls':["
          "{'names':['clone'],'action':'SCMP_ACT_NOTIFY','args':[{'index':0,'value':2114060288,"
          "'valueTwo':0,'op':'SCMP_CMP_MASKED_EQ'}]},{'names':['kill'],'action':'SCMP_ACT_LOG'},"
          "{'names':['ptrace'],'action':'SCMP_ACT_TRACE'},{'names':['a'],'action':"
          "'SCMP_ACT_TRAP'},{'names':['b'],'action':'SCMP_ACT_KILL_THREAD'},{'names':['c'],"
          "'action':'SCMP_ACT_KILL','args':[{'index':5,'value':1,'op':'SCMP_CMP_NE'}]}]"));
  const struct spec_seccomp *sc = &s->linux_.seccomp;
  assert_true (s->linux_.has_seccomp);
  assert_string_equal (sc->default_action, "SCMP_ACT_KILL_PROCESS");
  assert_int_equal (strv_length (sc->flags), 4);
  assert_string_equal (sc->listener_path, "/run/seccomp.sock");
  assert_string_equal (sc->listener_metadata, "meta");
  assert_int_equal (sc->n_syscalls, 6);
  assert_int_equal (sc->syscalls[0].args[0].op, 7);
  assert_int_equal (sc->syscalls[0].args[0].value, 2114060288);
  assert_false (sc->syscalls[1].has_errno_ret);
  assert_int_equal (sc->syscalls[5].args[0].index, 5);
  assert_int_equal (sc->syscalls[5].args[0].op, 1);
  spec_free (s);
#undef SC
}

/* ---- every error path ---------------------------------------------------------------- */

static size_t fuzz_runs, fuzz_rejects;

static void
fuzz_parse (json_t *root)
{
  _cleanup_err_ struct focker_err *err = NULL;
  char *text = json_dumps (root, 0);
  struct spec *s = NULL;
  int r = spec_parse (&s, text, strlen (text), "config.json", &err);

  fuzz_runs++;
  if (r == 0)
    {
      assert_null (err);
      spec_free (s);
    }
  else
    {
      fuzz_rejects++;
      assert_int_equal (r, -EINVAL);
      assert_null (s);
      assert_non_null (err);
      assert_int_equal (err->code, -EINVAL);
      assert_true (strncmp (err->msg, "config.json: ", 13) == 0);
      assert_null (strstr (err->msg, "(null)"));
    }
  free (text);
}

/* Replace `node` (inside `root`) by each value of the wrong kind in turn, parse, put it back.
 * Under ASan this walks every error path of the parser and proves nothing leaks on any. */
static void
fuzz_walk (json_t *root, json_t *node)
{
  json_t *bad[] = { json_integer (-1), json_string ("x"), json_true (),
                    json_array (),     json_object (),    json_real (1.5) };
  const char *key;
  json_t *child, *tmp;
  size_t i;

  if (json_is_object (node))
    json_object_foreach_safe (node, tmp, key, child)
    {
      json_incref (child);
      for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        {
          json_object_set (node, key, bad[b]);
          fuzz_parse (root);
        }
      json_object_set (node, key, child);
      fuzz_walk (root, child);
      json_decref (child);
    }
  else if (json_is_array (node))
    for (i = 0; i < json_array_size (node); i++)
      {
        child = json_incref (json_array_get (node, i));
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
          {
            json_array_set (node, i, bad[b]);
            fuzz_parse (root);
          }
        json_array_set (node, i, child);
        fuzz_walk (root, child);
        json_decref (child);
      }
  for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
    json_decref (bad[b]);
}

static void
every_wrong_type_fails_cleanly (void **state)
{
  static const char *const rich
      = "{'ociVersion':'1.2.0','root':{'path':'r','readonly':true},"
        "'process':{'terminal':true,'consoleSize':{'height':1,'width':2},'user':{'uid':1,'gid':2,"
        "'umask':18,'additionalGids':[3],'username':'u'},'args':['a'],'env':['A=1'],'cwd':'/',"
        "'capabilities':{'bounding':['CAP_KILL'],'effective':['CAP_KILL'],'inheritable':[],"
        "'permitted':['CAP_KILL'],'ambient':[]},'rlimits':[{'type':'RLIMIT_NOFILE','soft':1,"
        "'hard':2}],'noNewPrivileges':true,'apparmorProfile':'p','oomScoreAdj':1,'selinuxLabel':"
        "'l','scheduler':{'policy':'SCHED_RR','nice':1,'priority':1,'flags':["
        "'SCHED_FLAG_RECLAIM'],'runtime':1,'deadline':1,'period':1},'ioPriority':{'class':"
        "'IOPRIO_CLASS_BE','priority':1},'execCPUAffinity':{'initial':'0','final':'1'}},"
        "'hostname':'h','domainname':'d','mounts':[{'destination':'/m','type':'bind','source':"
        "'/s','options':['rbind','ro','mode=1'],'uidMappings':[{'containerID':0,'hostID':1,"
        "'size':1}],'gidMappings':[{'containerID':0,'hostID':1,'size':1}]}],"
        "'hooks':{'prestart':[{'path':'/h','args':['h'],'env':['E=1'],'timeout':1}],"
        "'poststop':[{'path':'/h'}]},'annotations':{'a':'b'},"
        "'linux':{'namespaces':[{'type':'user'},{'type':'network','path':'/n'}],"
        "'uidMappings':[{'containerID':0,'hostID':1,'size':1}],'gidMappings':[{'containerID':0,"
        "'hostID':1,'size':1}],'sysctl':{'a':'b'},'devices':[{'path':'/dev/x','type':'c',"
        "'major':1,'minor':2,'fileMode':438,'uid':0,'gid':0}],'cgroupsPath':'/c',"
        "'resources':{'devices':[{'allow':true,'type':'c','major':1,'minor':2,'access':'rwm'}],"
        "'memory':{'limit':1,'swappiness':1,'disableOOMKiller':true},'cpu':{'shares':1,'quota':1,"
        "'cpus':'0','mems':'0'},'pids':{'limit':1},'blockIO':{'weight':10,'weightDevice':[{'major':"
        "1,'minor':2,'weight':3,'leafWeight':4}],'throttleReadBpsDevice':[{'major':1,'minor':2,"
        "'rate':3}]},'hugepageLimits':[{'pageSize':'2MB','limit':1}],'network':{'classID':1,"
        "'priorities':[{'name':'eth0','priority':1}]},'rdma':{'m':{'hcaHandles':1,'hcaObjects':"
        "1}},'unified':{'a':'b'}},'rootfsPropagation':'rslave','maskedPaths':['/a'],"
        "'readonlyPaths':['/b'],'mountLabel':'m','seccomp':{'defaultAction':'SCMP_ACT_ERRNO',"
        "'defaultErrnoRet':1,'architectures':['SCMP_ARCH_X86_64'],'flags':["
        "'SECCOMP_FILTER_FLAG_LOG'],'listenerPath':'/l','listenerMetadata':'m','syscalls':["
        "{'names':['read'],'action':'SCMP_ACT_ALLOW','errnoRet':1,'args':[{'index':0,'value':1,"
        "'valueTwo':2,'op':'SCMP_CMP_EQ'}]}]},'personality':{'domain':'LINUX','flags':[]},"
        "'timeOffsets':{'monotonic':{'secs':1,'nanosecs':2}},'intelRdt':{'closID':'c',"
        "'l3CacheSchema':'L3:0=1','memBwSchema':'MB:0=1','enableCMT':true,'enableMBM':true}}}";
  _cleanup_free_ char *text = J (rich);
  json_t *root = json_loads (text, 0, NULL);

  assert_non_null (root);
  spec_free (parse_ok (text));
  fuzz_runs = fuzz_rejects = 0;
  fuzz_walk (root, root);
  json_decref (root);
  assert_true (fuzz_runs > 1000);
  assert_true (fuzz_rejects > fuzz_runs / 2);

  /* a real document too, without its 400-name seccomp list (the rich one covers seccomp) */
  root = fixture_json ("podman-run-echo.json");
  json_object_del (json_object_get (root, "linux"), "seccomp");
  fuzz_walk (root, root);
  json_decref (root);
}

static void
resources_document_parses_alone (void **state)
{
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *good = J ("{'memory':{'limit':1048576},'pids':{'limit':10}}");
  _cleanup_free_ char *bad = J ("{'cpu':{'shares':'many'}}");
  struct spec_resources *r = NULL;

  assert_int_equal (spec_parse_resources_doc (&r, good, strlen (good), "r.json", &err), 0);
  assert_true (r->has_memory_limit);
  assert_int_equal (r->memory_limit, 1048576);
  assert_int_equal (r->pids_limit, 10);
  spec_resources_free (r);
  r = NULL;
  assert_int_equal (spec_parse_resources_doc (&r, bad, strlen (bad), "r.json", &err), -EINVAL);
  assert_null (r);
  assert_string_equal (err->msg, "r.json: cpu.shares: must be an integer");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (wrong_type_names_nested_path),
    cmocka_unit_test (resources_parse_every_field),
    cmocka_unit_test (mounts_are_checked),
    cmocka_unit_test (mount_options_become_flags),
    cmocka_unit_test (linux_fields_are_checked),
    cmocka_unit_test (seccomp_is_checked),
    cmocka_unit_test (every_wrong_type_fails_cleanly),
    cmocka_unit_test (resources_document_parses_alone),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
