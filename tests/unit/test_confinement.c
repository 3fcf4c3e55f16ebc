/* test_confinement.c: capabilities, seccomp, no_new_privs, keyring, personality and LSM
 * labels of the container process, on the fake kernel.
 *
 * State first: "the caps of the process after start are exactly X", "the session keyring is
 * named after the id"; the journal only for order ("the seccomp load is the last call before
 * execve").  The compiled seccomp programs are run through a small classic-BPF interpreter
 * below, so the tests check what the filter answers, not how libseccomp lays it out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <cmocka.h>
#include "core/caps.h"
#include "core/confine.h"
#include "core/container.h"
#include "core/log.h"
#include "core/seccomp.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"

#define ROOT FX_ROOT
#define BUNDLE FX_BUNDLE

#define CAP(n) (1ULL << (n))
#define CAP_CHOWN_ 0
#define CAP_KILL_ 5
#define CAP_SETGID_ 6
#define CAP_SETUID_ 7
#define CAP_NET_BIND_SERVICE_ 10
#define CAP_SYS_ADMIN_ 21

/* %s: extra process fields; %s: extra linux fields */
static const char *const config_fmt
    = "{\"ociVersion\":\"1.0.2\","
      "\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\"%s},"
      "\"root\":{\"path\":\"rootfs\"},"
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]%s}}";

static const char *const caps_json
    = ",\"user\":{\"uid\":1000,\"gid\":1000},"
      "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
      "\"effective\":[\"CAP_CHOWN\",\"CAP_NET_BIND_SERVICE\"],"
      "\"permitted\":[\"CAP_CHOWN\",\"CAP_NET_BIND_SERVICE\"],"
      "\"inheritable\":[\"CAP_NET_BIND_SERVICE\"],"
      "\"ambient\":[\"CAP_NET_BIND_SERVICE\"]}";

static const char *const seccomp_json
    = ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
      "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
      "\"syscalls\":[{\"names\":[\"read\",\"write\",\"execve\",\"exit_group\",\"no_such_call\"],"
      "\"action\":\"SCMP_ACT_ALLOW\"},"
      "{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}";

static char warnings[2048];

static void
capture_log (const char *level, const char *msg)
{
  size_t n = strlen (warnings);
  snprintf (warnings + n, sizeof warnings - n, "%s: %s\n", level, msg);
}

static struct fx_world *
world_new (const char *process_extra, const char *linux_extra)
{
  struct fx_world *w = calloc (1, sizeof *w);
  char config[8192];

  snprintf (config, sizeof config, config_fmt, process_extra, linux_extra);
  fx_world_init (w, NULL, config);
  warnings[0] = '\0';
  focker_log_set (capture_log);
  return w;
}

static void
world_free (struct fx_world *w)
{
  focker_log_set (NULL);
  fx_world_fini (w);
  free (w);
}

#define assert_ok(call, e) FX_OK (w, call, e)

static const struct create_opts opts = { .root = ROOT, .id = "c1", .bundle = BUNDLE };

/* create, then start as a second command; the init's pid */
static pid_t
create_start (struct fx_world *w, const struct create_opts *o)
{
  struct focker_err *err = NULL;
  pid_t pid = 0;

  assert_ok (container_create (o, &pid, &err), err);
  fx_next_command (w);
  assert_ok (container_start (ROOT, "c1", &err), err);
  assert_true (fake_proc (w->k, pid)->execed);
  return pid;
}

/* Journal index of the last call `id` made by `pid`, or -1. */
static long
last_call (struct fake_kernel *k, pid_t pid, enum sys_id id)
{
  for (size_t i = fake_journal_len (k); i-- > 0;)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if (c->pid == pid && c->id == id)
        return (long)i;
    }
  return -1;
}

/* Journal index of the call of `pid` made right before journal entry `at`. */
static long
previous_call_of (struct fake_kernel *k, pid_t pid, long at)
{
  for (long i = at - 1; i >= 0; i--)
    if (fake_journal_at (k, (size_t)i)->pid == pid)
      return i;
  return -1;
}

/* ---- a classic BPF interpreter, enough for seccomp programs ---- */

static uint32_t
bpf_run (const struct sock_filter *f, size_t len, uint32_t arch, int nr)
{
  struct seccomp_data d = { .nr = nr, .arch = arch };
  uint32_t a = 0, x = 0, mem[16] = { 0 };

  for (size_t pc = 0; pc < len; pc++)
    {
      const struct sock_filter *i = &f[pc];
      switch (i->code)
        {
        case BPF_LD | BPF_W | BPF_ABS:
          assert_true (i->k + 4 <= sizeof d);
          memcpy (&a, (const char *)&d + i->k, 4);
          break;
        case BPF_LD | BPF_IMM:
          a = i->k;
          break;
        case BPF_LDX | BPF_IMM:
          x = i->k;
          break;
        case BPF_ST:
          mem[i->k & 15] = a;
          break;
        case BPF_LD | BPF_MEM:
          a = mem[i->k & 15];
          break;
        case BPF_ALU | BPF_AND | BPF_K:
          a &= i->k;
          break;
        case BPF_MISC | BPF_TAX:
          x = a;
          break;
        case BPF_MISC | BPF_TXA:
          a = x;
          break;
        case BPF_JMP | BPF_JA:
          pc += i->k;
          break;
        case BPF_JMP | BPF_JEQ | BPF_K:
          pc += a == i->k ? i->jt : i->jf;
          break;
        case BPF_JMP | BPF_JGT | BPF_K:
          pc += a > i->k ? i->jt : i->jf;
          break;
        case BPF_JMP | BPF_JGE | BPF_K:
          pc += a >= i->k ? i->jt : i->jf;
          break;
        case BPF_JMP | BPF_JSET | BPF_K:
          pc += (a & i->k) ? i->jt : i->jf;
          break;
        case BPF_RET | BPF_K:
          return i->k;
        case BPF_RET | BPF_A:
          return a;
        default:
          fail_msg ("bpf: unhandled instruction %#x at %zu", i->code, pc);
        }
    }
  fail_msg ("bpf: fell off the end");
  return 0;
}

static struct spec *
parse_linux (const char *linux_extra)
{
  char config[8192];
  struct spec *s = NULL;
  struct focker_err *err = NULL;

  snprintf (config, sizeof config, config_fmt, "", linux_extra);
  FX_CHECK (NULL, spec_parse (&s, config, strlen (config), "config.json", &err), err);
  return s;
}

static uint32_t
nr_of (const char *name)
{
  int nr = seccomp_syscall_resolve_name_arch (SCMP_ARCH_X86_64, name);
  assert_true (nr >= 0);
  return (uint32_t)nr;
}

/* ---- capabilities ---- */

static void
caps_after_start_are_exactly_the_config (void **state)
{
  struct fx_world *w = world_new (caps_json, "");
  pid_t pid = create_start (w, &opts);
  struct fake_proc *p = fake_proc (w->k, pid);

  (void)state;
  assert_int_equal (p->uid, 1000);
  assert_int_equal (p->gid, 1000);
  assert_true (p->cap_bset == (CAP (CAP_CHOWN_) | CAP (CAP_KILL_) | CAP (CAP_NET_BIND_SERVICE_)));
  assert_true (p->cap_eff == (CAP (CAP_CHOWN_) | CAP (CAP_NET_BIND_SERVICE_)));
  assert_true (p->cap_perm == (CAP (CAP_CHOWN_) | CAP (CAP_NET_BIND_SERVICE_)));
  assert_true (p->cap_inh == CAP (CAP_NET_BIND_SERVICE_));
  assert_true (p->cap_ambient == CAP (CAP_NET_BIND_SERVICE_));
  /* keep-caps was only for the uid switch */
  assert_false (p->keep_caps);
  /* and nothing was applied before start */
  world_free (w);
}

static void
caps_are_untouched_until_start (void **state)
{
  struct fx_world *w = world_new (caps_json, "");
  struct focker_err *err = NULL;
  pid_t pid = 0;

  (void)state;
  assert_ok (container_create (&opts, &pid, &err), err);
  assert_true (fake_proc (w->k, pid)->cap_bset == (1ULL << 41) - 1);
  assert_int_equal (fake_proc (w->k, pid)->uid, 0);
  world_free (w);
}

static void
bounding_is_dropped_before_the_uid_switch_and_caps_set_after (void **state)
{
  struct fx_world *w = world_new (caps_json, "");
  pid_t pid = create_start (w, &opts);
  long setuid = last_call (w->k, pid, SYS_ID_setresuid);
  long capset = last_call (w->k, pid, SYS_ID_capset);
  long drop = -1;

  (void)state;
  for (size_t i = 0; i < fake_journal_len (w->k); i++)
    {
      const struct fake_call *c = fake_journal_at (w->k, i);
      if (c->pid == pid && c->id == SYS_ID_prctl && strncmp (c->args, "24 ", 3) == 0)
        drop = (long)i; /* PR_CAPBSET_DROP */
    }
  assert_true (drop >= 0 && setuid > drop);
  assert_true (capset > setuid);
  world_free (w);
}

static void
caps_unknown_to_the_kernel_are_skipped_with_a_warning (void **state)
{
  struct fx_world *w = world_new (",\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_BPF\","
                                  "\"CAP_CHECKPOINT_RESTORE\"],\"effective\":[\"CAP_CHOWN\"],"
                                  "\"permitted\":[\"CAP_CHOWN\",\"CAP_BPF\"]}",
                                  "");
  int fd = sys_openat (AT_FDCWD, "/proc/sys/kernel/cap_last_cap", O_WRONLY, 0);
  pid_t pid;

  (void)state;
  /* a 5.4 kernel: CAP_BPF (39) and CAP_CHECKPOINT_RESTORE (40) do not exist */
  assert_true (fd >= 0);
  assert_int_equal (sys_write (fd, "38\n", 3), 3);
  sys_close (fd);
  pid = create_start (w, &opts);
  assert_non_null (strstr (warnings, "CAP_BPF is not known to this kernel"));
  assert_non_null (strstr (warnings, "CAP_CHECKPOINT_RESTORE is not known"));
  assert_true (fake_proc (w->k, pid)->cap_perm == CAP (CAP_CHOWN_));
  /* caps 39 and 40 were never named to the kernel */
  for (size_t i = 0; i < fake_journal_len (w->k); i++)
    {
      const struct fake_call *c = fake_journal_at (w->k, i);
      if (c->pid == pid && c->id == SYS_ID_prctl)
        assert_true (strcmp (c->args, "24 0x27 0 0 0") != 0
                     && strcmp (c->args, "24 0x28 0 0 0") != 0);
    }
  world_free (w);
}

static void
unknown_capability_name_fails_create_naming_it (void **state)
{
  struct fx_world *w = world_new (",\"capabilities\":{\"bounding\":[\"CAP_TEST\"]}", "");
  struct focker_err *err = NULL;

  (void)state;
  assert_int_equal (container_create (&opts, NULL, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "CAP_TEST"));
  focker_err_free (err);
  assert_false (fake_exists (w->k, ROOT "/c1"));
  world_free (w);
}

/* ---- seccomp ---- */

static void
seccomp_load_is_the_last_call_before_execve (void **state)
{
  struct fx_world *w = world_new (",\"noNewPrivileges\":true", seccomp_json);
  pid_t pid = create_start (w, &opts);
  struct fake_proc *p = fake_proc (w->k, pid);
  long load = last_call (w->k, pid, SYS_ID_seccomp_load);
  long exec = last_call (w->k, pid, SYS_ID_execve);

  (void)state;
  assert_true (p->no_new_privs);
  assert_int_equal (p->seccomp_filters, 1);
  assert_true (load >= 0);
  assert_int_equal (previous_call_of (w->k, pid, exec), load);
  /* the unknown syscall name was skipped, with a debug line naming it */
  assert_non_null (strstr (warnings, "no_such_call"));
  world_free (w);
}

static void
seccomp_without_nnp_or_sys_admin_loads_before_the_uid_switch (void **state)
{
  struct fx_world *w = world_new (caps_json, seccomp_json);
  pid_t pid = create_start (w, &opts);
  long load = last_call (w->k, pid, SYS_ID_seccomp_load);
  long setuid = last_call (w->k, pid, SYS_ID_setresuid);

  (void)state;
  /* otherwise the load would need CAP_SYS_ADMIN the process no longer has */
  assert_true (load >= 0 && load < setuid);
  assert_int_equal (fake_proc (w->k, pid)->seccomp_filters, 1);
  world_free (w);
}

static void
seccomp_filter_answers_as_configured (void **state)
{
  struct spec *s = parse_linux (seccomp_json);
  struct seccomp_prog prog;
  struct focker_err *err = NULL;

  (void)state;
  FX_CHECK (NULL, seccomp_compile (&prog, &s->linux_.seccomp, &err), err);
  assert_true (prog.enosys_stub);
  assert_int_equal (bpf_run (prog.insns, prog.len, AUDIT_ARCH_X86_64, (int)nr_of ("read")),
                    SECCOMP_RET_ALLOW);
  assert_int_equal (bpf_run (prog.insns, prog.len, AUDIT_ARCH_X86_64, (int)nr_of ("mkdir")),
                    SECCOMP_RET_ERRNO | 38);
  /* known to the profile's range but not allowed: the default, EPERM (1) */
  assert_int_equal (bpf_run (prog.insns, prog.len, AUDIT_ARCH_X86_64, (int)nr_of ("getpid")),
                    SECCOMP_RET_ERRNO | 1);
  /* newer than anything the profile names (clone3 for this profile): ENOSYS, so libc falls
   * back to clone */
  assert_int_equal (bpf_run (prog.insns, prog.len, AUDIT_ARCH_X86_64, (int)nr_of ("clone3")),
                    SECCOMP_RET_ERRNO | ENOSYS);
  /* the same on i386, with its own numbers */
  assert_int_equal (bpf_run (prog.insns, prog.len, AUDIT_ARCH_I386, 435),
                    SECCOMP_RET_ERRNO | ENOSYS);
  assert_int_equal (bpf_run (prog.insns, prog.len, AUDIT_ARCH_I386, 3 /* read */),
                    SECCOMP_RET_ALLOW);
  seccomp_prog_clear (&prog);
  spec_free (s);
}

static void
seccomp_allow_default_gets_no_enosys_stub (void **state)
{
  struct spec *s = parse_linux (
      ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\","
      "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\",\"SECCOMP_FILTER_FLAG_TSYNC\"],"
      "\"syscalls\":[{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\","
      "\"args\":[{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"},"
      "{\"index\":0,\"value\":131072,\"op\":\"SCMP_CMP_EQ\"}]},"
      "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_KILL_PROCESS\","
      "\"args\":[{\"index\":0,\"value\":255,\"valueTwo\":16,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}");
  struct seccomp_prog prog;
  struct focker_err *err = NULL;

  (void)state;
  FX_CHECK (NULL, seccomp_compile (&prog, &s->linux_.seccomp, &err), err);
  assert_false (prog.enosys_stub);
  assert_false (prog.notify);
  assert_int_equal (prog.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW
                                    | SECCOMP_FILTER_FLAG_TSYNC);
  assert_int_equal (bpf_run (prog.insns, prog.len, AUDIT_ARCH_X86_64, (int)nr_of ("clone3")),
                    SECCOMP_RET_ALLOW);
  seccomp_prog_clear (&prog);
  spec_free (s);
}

static void
seccomp_notify_default_is_refused_at_create (void **state)
{
  struct fx_world *w = world_new ("", ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}");
  struct focker_err *err = NULL;

  (void)state;
  assert_true (container_create (&opts, NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "linux.seccomp.defaultAction"));
  focker_err_free (err);
  assert_false (fake_exists (w->k, ROOT "/c1"));
  world_free (w);
}

static void
seccomp_notify_sends_the_listener_fd_and_state (void **state)
{
  struct fx_world *w = world_new (
      ",\"noNewPrivileges\":true",
      ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/notify.sock\","
      "\"listenerMetadata\":\"hello\",\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\"],"
      "\"syscalls\":[{\"names\":[\"mknod\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}");
  pid_t cli = w->cli, agent = fake_spawn (w->k);
  int l = sys_unix_listen (AT_FDCWD, "/run/notify.sock"), conn, fd;
  char buf[4096] = { 0 };
  pid_t pid;

  (void)state;
  assert_true (l >= 0);
  assert_int_equal (fake_set_current (w->k, cli), 0);
  pid = create_start (w, &opts);
  assert_true (fake_proc (w->k, pid)->seccomp_last_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  /* TSYNC is dropped: the kernel refuses it with a listener */
  assert_false (fake_proc (w->k, pid)->seccomp_last_flags & SECCOMP_FILTER_FLAG_TSYNC);
  assert_int_equal (fake_set_current (w->k, agent), 0);
  conn = sys_accept (l);
  assert_true (conn >= 0);
  fd = fake_conn_take_fd (w->k, agent, conn);
  assert_true (fd >= 0);
  assert_true (sys_read (conn, buf, sizeof buf - 1) > 0);
  assert_non_null (strstr (buf, "\"fds\":[\"seccompFd\"]"));
  assert_non_null (strstr (buf, "\"metadata\":\"hello\""));
  assert_non_null (strstr (buf, "\"id\":\"c1\""));
  /* the container process keeps neither the listener nor the connection */
  assert_int_equal (fake_open_fds (w->k, pid), 3);
  world_free (w);
}

/* ---- keyring, personality, LSM ---- */

static void
session_keyring_is_named_after_the_id_unless_disabled (void **state)
{
  for (int disabled = 0; disabled <= 1; disabled++)
    {
      struct fx_world *w = world_new ("", "");
      struct create_opts o = opts;
      pid_t pid;

      (void)state;
      o.no_new_keyring = disabled;
      pid = create_start (w, &o);
      if (disabled)
        assert_null (fake_proc (w->k, pid)->session_keyring);
      else
        assert_string_equal (fake_proc (w->k, pid)->session_keyring, "c1");
      world_free (w);
    }
}

static void
personality_is_set (void **state)
{
  struct fx_world *w = world_new (
      "", ",\"personality\":{\"domain\":\"LINUX32\",\"flags\":[\"ADDR_NO_RANDOMIZE\"]}");
  pid_t pid = create_start (w, &opts);

  (void)state;
  assert_int_equal (fake_proc (w->k, pid)->persona, PER_LINUX32 | ADDR_NO_RANDOMIZE);
  world_free (w);
}

static void
lsm_labels_are_ignored_when_the_lsm_is_off (void **state)
{
  struct fx_world *w = world_new (",\"selinuxLabel\":\"system_u:system_r:container_t:s0\","
                                  "\"apparmorProfile\":\"focker-default\"",
                                  "");
  pid_t pid = create_start (w, &opts);

  (void)state;
  assert_null (fake_proc (w->k, pid)->lsm_exec_label);
  assert_null (fake_proc (w->k, pid)->apparmor_exec);
  assert_non_null (strstr (warnings, "SELinux is not enabled"));
  assert_non_null (strstr (warnings, "AppArmor is not enabled"));
  world_free (w);
}

static void
lsm_labels_are_set_for_exec_when_the_lsm_is_on (void **state)
{
  struct fx_world *w = world_new (",\"selinuxLabel\":\"system_u:system_r:container_t:s0\","
                                  "\"apparmorProfile\":\"focker-default\"",
                                  "");
  pid_t pid;

  (void)state;
  assert_int_equal (fake_write_file (w->k, "/sys/fs/selinux/enforce", "1", 0644), 0);
  assert_int_equal (fake_write_file (w->k, "/sys/module/apparmor/parameters/enabled", "Y\n", 0644),
                    0);
  pid = create_start (w, &opts);
  assert_string_equal (fake_proc (w->k, pid)->lsm_exec_label, "system_u:system_r:container_t:s0");
  assert_string_equal (fake_proc (w->k, pid)->apparmor_exec, "exec focker-default");
  world_free (w);
}

/* ---- faults ---- */

/* Fail call 1, 2, 3 ... of `start` once: every failure is reported, and whenever the process
 * runs (a fault after the exec may still fail `start`), it runs exactly confined: a fault
 * never lets it run with more than the config gives. */
static int
start_fault_run (struct fx_fault *f, void *ctx)
{
  struct fx_world *w = world_new (ctx, seccomp_json);
  struct focker_err *err = NULL;
  struct fake_proc *p;
  pid_t pid = 0;
  int r;

  assert_ok (container_create (&opts, &pid, &err), err);
  fx_next_command (w);
  fx_fault_arm (f, w->k);
  r = container_start (ROOT, "c1", &err);
  fx_fault_disarm (f);
  fx_fault_err (f, r, &err);
  assert_int_equal (fake_open_fds (w->k, w->cli), 3);
  p = fake_proc (w->k, pid);
  if (r == 0 && !p->execed)
    fail_msg ("fault at call %ld was ignored but the process does not run", f->n);
  if (p && p->execed
      && (p->seccomp_filters != 1 || !p->no_new_privs || p->uid != 1000
          || p->cap_eff != (CAP (CAP_CHOWN_) | CAP (CAP_NET_BIND_SERVICE_))
          || p->cap_perm != (CAP (CAP_CHOWN_) | CAP (CAP_NET_BIND_SERVICE_))
          || p->cap_bset != (CAP (CAP_CHOWN_) | CAP (CAP_KILL_) | CAP (CAP_NET_BIND_SERVICE_))))
    {
      fx_dump_journal (w->k, 30);
      fail_msg ("fault at call %ld: the process runs without its confinement", f->n);
    }
  world_free (w);
  return r;
}

static void
start_with_confinement_survives_every_single_fault (void **state)
{
  char process[1024];

  (void)state;
  snprintf (process, sizeof process, "%s,\"noNewPrivileges\":true", caps_json);
  fx_fault_loop (FX_FAULT_ONCE, start_fault_run, process);
}

/* ---- the fake's model of the calls ---- */

static void
fake_capset_and_uid_switch_follow_the_kernel_rules (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct fake_proc *p = fake_proc (k, fake_current_pid (k));

  (void)state;
  /* leaving uid 0 without keep-caps clears permitted and effective */
  assert_int_equal (sys_setresuid (1000, 1000, 1000), 0);
  assert_true (p->cap_perm == 0 && p->cap_eff == 0);
  assert_int_equal (sys_capset (CAP (CAP_CHOWN_), CAP (CAP_CHOWN_), 0), -EPERM);
  fake_kernel_free (k);

  k = fake_kernel_new (NULL);
  p = fake_proc (k, fake_current_pid (k));
  assert_int_equal (sys_prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0), 0);
  assert_int_equal (sys_setresuid (1000, 1000, 1000), 0);
  assert_true (p->cap_eff == 0 && p->cap_perm == (1ULL << 41) - 1);
  /* effective must stay within permitted; permitted cannot grow back */
  assert_int_equal (sys_capset (CAP (CAP_KILL_), CAP (CAP_CHOWN_), 0), -EPERM);
  assert_int_equal (sys_capset (CAP (CAP_CHOWN_), CAP (CAP_CHOWN_), CAP (CAP_CHOWN_)), 0);
  assert_int_equal (sys_capset (CAP (CAP_KILL_), CAP (CAP_KILL_), 0), -EPERM);
  /* ambient needs permitted and inheritable */
  assert_int_equal (sys_prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL_, 0, 0), -EPERM);
  assert_int_equal (sys_prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN_, 0, 0), 0);
  assert_true (p->cap_ambient == CAP (CAP_CHOWN_));
  fake_kernel_free (k);
}

static void
fake_seccomp_load_needs_nnp_or_privilege_and_gives_a_listener (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct sock_filter insn = BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = { .len = 1, .filter = &insn };
  pid_t self = fake_current_pid (k);
  int fd;

  (void)state;
  assert_int_equal (sys_setresuid (1000, 1000, 1000), 0);
  assert_int_equal (sys_seccomp_load (&prog, 0), -EACCES);
  assert_int_equal (sys_prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  assert_int_equal (
      sys_seccomp_load (&prog, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_NEW_LISTENER),
      -EINVAL);
  fd = sys_seccomp_load (&prog, SECCOMP_FILTER_FLAG_NEW_LISTENER);
  assert_true (fd >= 3);
  assert_int_equal (fake_proc (k, self)->seccomp_filters, 1);
  assert_int_equal (fake_open_fds (k, self), 4);
  assert_int_equal (sys_keyctl_join_session ("x"), 1000 + self);
  assert_string_equal (fake_proc (k, self)->session_keyring, "x");
  assert_int_equal (sys_personality (PER_LINUX32), 0);
  assert_int_equal (sys_personality (0xffffffffUL), PER_LINUX32);
  fake_kernel_free (k);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (caps_after_start_are_exactly_the_config),
    cmocka_unit_test (caps_are_untouched_until_start),
    cmocka_unit_test (bounding_is_dropped_before_the_uid_switch_and_caps_set_after),
    cmocka_unit_test (caps_unknown_to_the_kernel_are_skipped_with_a_warning),
    cmocka_unit_test (unknown_capability_name_fails_create_naming_it),
    cmocka_unit_test (seccomp_load_is_the_last_call_before_execve),
    cmocka_unit_test (seccomp_without_nnp_or_sys_admin_loads_before_the_uid_switch),
    cmocka_unit_test (seccomp_filter_answers_as_configured),
    cmocka_unit_test (seccomp_allow_default_gets_no_enosys_stub),
    cmocka_unit_test (seccomp_notify_default_is_refused_at_create),
    cmocka_unit_test (seccomp_notify_sends_the_listener_fd_and_state),
    cmocka_unit_test (session_keyring_is_named_after_the_id_unless_disabled),
    cmocka_unit_test (personality_is_set),
    cmocka_unit_test (lsm_labels_are_ignored_when_the_lsm_is_off),
    cmocka_unit_test (lsm_labels_are_set_for_exec_when_the_lsm_is_on),
    cmocka_unit_test (start_with_confinement_survives_every_single_fault),
    cmocka_unit_test (fake_capset_and_uid_switch_follow_the_kernel_rules),
    cmocka_unit_test (fake_seccomp_load_needs_nnp_or_privilege_and_gives_a_listener),
  };
  /* libseccomp probes the kernel's seccomp API level; under valgrind (which does not emulate
   * seccomp(2)) the probe finds none.  Pin the level of a modern kernel so the compiler's
   * output does not depend on where the tests run. */
  seccomp_api_set (6);
  return cmocka_run_group_tests (tests, NULL, NULL);
}
