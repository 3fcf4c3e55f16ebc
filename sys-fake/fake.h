/* fake.h: the in-memory fake kernel behind struct sys_ops, for unit tests.
 *
 * A small stateful model of the parts of Linux focker uses: a VFS, mount tables per mount
 * namespace, processes with namespaces, credentials and fd tables, pipes, unix sockets,
 * ptys, cgroupfs, and a cooperative scheduler that runs each cloned child on its own
 * coroutine.  Tests drive the runtime through `sys` and then assert on the resulting state
 * (fake_proc, fake_mount_find, fake_read_file ...); the journal answers ordering questions.
 *
 * One kernel is "current" at a time: the sys_ops slots take no context argument, so
 * fake_install() (also done by fake_kernel_new) points `sys` at fake_sys_ops and makes `k`
 * the kernel every call goes to.  Not thread-safe.
 *
 * Paths given to the test API are absolute host paths, resolved from the top of the VFS and
 * never through mounts (bind mounts do not mirror content, see README.md).
 * sys-fake/README.md lists exactly what is modelled and what returns -ENOSYS. */
#ifndef FOCKER_FAKE_H
#define FOCKER_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "sys/sys.h"

struct fake_kernel;

enum fake_cgroup_mode
{
  FAKE_CGROUP_V2,
  FAKE_CGROUP_V1,
  FAKE_CGROUP_HYBRID
};

/* Kernel feature set.  Version gates: openat2 5.6, close_range 5.9 (CLOSE_RANGE_CLOEXEC
 * 5.11), pidfd_send_signal 5.1, pidfd_open 5.3, waitid(P_PIDFD) 5.4, CLONE_INTO_CGROUP 5.7,
 * CLONE_NEWTIME 5.6. */
struct fake_personality
{
  int major, minor;
  enum fake_cgroup_mode cgroup;
  bool root_is_ramfs; /* the root mount is the initial rootfs: pivot_root fails EINVAL */
  bool v1_hugetlb;    /* v1 and hybrid: hugetlb is a v1 hierarchy (not in cgroup2) */
};

enum fake_ns_type
{
  FAKE_NS_MNT,
  FAKE_NS_PID,
  FAKE_NS_NET,
  FAKE_NS_UTS,
  FAKE_NS_IPC,
  FAKE_NS_USER,
  FAKE_NS_CGROUP,
  FAKE_NS_TIME,
  FAKE_NS_COUNT
};

struct fake_ns;
struct fake_inode;
struct fake_ctx;
struct fake_fd;
struct fake_cg_member;

/* A process.  Fields marked "snapshot" are refreshed by fake_proc(); the others are live. */
struct fake_proc
{
  pid_t pid;    /* global pid (as seen from the initial pid namespace) */
  pid_t ns_pid; /* pid as seen in its own pid namespace: what getpid() returns */
  pid_t ppid;
  bool alive;  /* not yet exited (an execed process is alive) */
  bool zombie; /* exited, not yet waited for */
  bool execed;
  bool stopped;
  int exit_status; /* waitid-style si_status: exit code, or the signal with killed_by_signal */
  bool killed_by_signal;
  int term_signal;
  char *exec_path; /* as passed to execve */
  char **exec_argv, **exec_envp;
  uid_t uid, euid, suid;
  gid_t gid, egid, sgid;
  gid_t *groups;
  size_t n_groups;
  mode_t umask;
  bool no_new_privs;
  bool dumpable;
  bool keep_caps;
  bool child_subreaper;
  int pdeathsig;
  uint64_t cap_bset;                   /* bounding set, bit per capability (PR_CAPBSET_DROP) */
  uint64_t cap_ambient;                /* PR_CAP_AMBIENT raises */
  int seccomp_filters;                 /* PR_SET_SECCOMP / seccomp_load filters loaded */
  unsigned seccomp_last_len;           /* instructions in the last filter */
  unsigned seccomp_last_flags;         /* SECCOMP_FILTER_FLAG_* of the last seccomp_load */
  uint64_t cap_eff, cap_perm, cap_inh; /* capset; full for root at boot */
  unsigned long persona;               /* personality(2) */
  char *session_keyring;               /* keyctl_join_session name, NULL = inherited one */
  char *lsm_exec_label;                /* last write to /proc/<pid>/attr/exec (SELinux) */
  char *apparmor_exec;                 /* last write to /proc/<pid>/attr/apparmor/exec */
  char comm[16];                       /* PR_SET_NAME */
  char *root_path;                     /* snapshot: absolute host path of its root */
  char *cwd_path;                      /* snapshot: absolute host path of its cwd */
  struct rlimit rlimits[RLIM_NLIMITS];
  unsigned long ns_id[FAKE_NS_COUNT];              /* snapshot: its namespaces' ids */
  unsigned long ns_for_children_id[FAKE_NS_COUNT]; /* snapshot: pid and time differ */
  const char *hostname, *domainname;               /* snapshot: from its uts namespace */
  const char *uid_map, *gid_map; /* snapshot: its user namespace's maps, NULL if unset */
  const char *setgroups;         /* snapshot: "allow" or "deny" */
  pid_t pgid, sid;
  bool is_session_leader;
  int ctty_fd_set;   /* fd passed to a successful set_ctty, -1 if none */
  char *cgroup_path; /* snapshot: path in the v2 (or, v1 only, last written) hierarchy */
  int *signals;      /* every signal sent to it, in order (signal 0 probes excluded) */
  size_t n_signals;
  sigset_t caught; /* tests may add signals an execed program handles: they don't kill it */
  int oom_score_adj;
  unsigned long long starttime;

  /* internal: owned by the fake */
  struct fake_ns *ns[FAKE_NS_COUNT];
  struct fake_ns *pid_for_children, *time_for_children;
  struct fake_inode *root, *cwd;
  struct fake_fd *fds;
  size_t n_fds;
  struct fake_cg_member *cg;
  size_t n_cg;
  struct fake_ctx *ctx;           /* its coroutine while it runs runtime code, else NULL */
  struct fake_ns *userns_created; /* the user namespace it created: privileged there */
  bool reaped;
  int ctty_index;
};

struct fake_mount
{
  char *source;              /* as given ("none" if NULL); bind mounts: absolute host path */
  char *target;              /* absolute host path */
  char *fstype;              /* bind mounts: the fstype of the mount holding the source */
  char *data;                /* NULL if none */
  unsigned long flags;       /* per-mount flags: MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC ... */
  unsigned long propagation; /* MS_SHARED, MS_PRIVATE, MS_SLAVE or MS_UNBINDABLE */
  unsigned long id;
  struct fake_mount *parent; /* NULL for a namespace's root mount */
  bool is_initial_root;      /* the boot root mount, copies included */
};

struct fake_call
{
  pid_t pid;
  enum sys_id id;
  char args[160]; /* short summary, string arguments (paths) first */
  long result;
  bool injected;
};

extern const struct sys_ops fake_sys_ops;

/* Lifecycle.  NULL personality: 6.18, cgroup v2, root is a real fs.  The new kernel is
 * installed (fake_install); it seeds the host VFS (/dev, /proc, /sys/fs/cgroup ...), a host
 * mount table, pid 1 (fake init) and one spawned process (fake_spawn) as the current
 * process.  fake_kernel_free releases everything; it does not restore `sys`. */
struct fake_kernel *fake_kernel_new (const struct fake_personality *p);
void fake_kernel_free (struct fake_kernel *k);
void fake_install (struct fake_kernel *k);

/* VFS seeding and inspection: absolute host paths; 0 or a negative errno. */
int fake_mkdir_p (struct fake_kernel *k, const char *path, mode_t mode);
int fake_write_file (struct fake_kernel *k, const char *path, const char *content, mode_t mode);
char *fake_read_file (struct fake_kernel *k, const char *path); /* malloc'd; NULL if absent */
bool fake_exists (struct fake_kernel *k, const char *path);     /* does not follow the last link */
int fake_lstat (struct fake_kernel *k, const char *path, struct stat *st);
int fake_symlink (struct fake_kernel *k, const char *target, const char *path);
int fake_mknod (struct fake_kernel *k, const char *path, mode_t mode, dev_t rdev);
size_t fake_dir_count (struct fake_kernel *k, const char *path); /* (size_t) -1 if absent */
/* Entries of the directory whose names begin with prefix (0 if absent). */
size_t fake_dir_count_prefix (struct fake_kernel *k, const char *path, const char *prefix);
/* Value of xattr `name` of path (not following a last symlink), malloc'd and NUL-terminated;
 * NULL if absent. */
char *fake_getxattr (struct fake_kernel *k, const char *path, const char *name);
/* Whether two paths are hard links to one file (not following last symlinks). */
bool fake_same_inode (struct fake_kernel *k, const char *a, const char *b);
/* A file at `path` referring to a new namespace of `type` (like a bind-mounted nsfs file,
 * /run/netns/x): opening it gives an fd usable with setns.  Returns the namespace id. */
unsigned long fake_ns_file (struct fake_kernel *k, const char *path, enum fake_ns_type type);
/* The id of the network namespace a file (netns_create's) refers to, 0 if none. */
unsigned long fake_ns_file_id (struct fake_kernel *k, const char *path);
/* The network state of namespace `ns` as text (malloc'd), one line each, in this order:
 * "link NAME KIND[ up][ master M][ peer P[ elsewhere]]" by index, each followed by its
 * "addr NAME A.B.C.D/N"; "route default via GW dev NAME"; the nf_tables objects as
 * "table FAM T", "chain FAM T C type TYPE hook N priority P policy accept", "rule FAM T C:
 * EXPR; EXPR;" with expressions decoded ("meta l4proto r1", "payload th 2 2 r1", "cmp r1 eq
 * 0x1f90", "r1 = r1 & 0xff000000 ^ 0x00000000", "r1 = 0xac110002", "fib daddr type r1",
 * "dnat ip addr r1 port r2", "masq"). */
char *fake_net_dump (struct fake_kernel *k, unsigned long ns);

/* Processes.  fake_spawn: a new top-level process (child of pid 1) in the initial
 * namespaces, root and cwd /, uid 0, fds 0-2 on the console; it becomes the current process
 * of the test's context.  fake_exit: the process exits with `status` (fds closed, children
 * reparented, zombie until waited for, auto-reaped when its parent is pid 1). */
pid_t fake_spawn (struct fake_kernel *k);
void fake_exit (struct fake_kernel *k, pid_t pid, int status);
/* Pid reuse: a new top-level process (child of pid 1, initial namespaces, no fds) takes the
 * pid of a process that is gone (reaped), with a later start time.  Returns pid, or -EBUSY
 * while a process (a zombie too) still holds it. */
pid_t fake_pid_recycle (struct fake_kernel *k, pid_t pid);
struct fake_proc *fake_proc (struct fake_kernel *k, pid_t pid); /* NULL if none or reaped */
pid_t fake_current_pid (struct fake_kernel *k);
size_t fake_open_fds (struct fake_kernel *k, pid_t pid);
/* Make the test's context act as process `pid` (one that runs no coroutine and has not
 * execed), e.g. to play podman's side of a console socket.  0, -ESRCH or -EBUSY. */
int fake_set_current (struct fake_kernel *k, pid_t pid);
/* Run every other runnable process until all are blocked, exited or execed.  The fake does
 * this after each call the test's context makes; call it after poking state directly. */
void fake_settle (struct fake_kernel *k);
/* Deliver a signal as the kernel would (same rules as kill from pid 1); 0 or -ESRCH. */
int fake_kill (struct fake_kernel *k, pid_t pid, int sig);

/* Programs.  A process that execs `path` (the path as given to execve) goes on to run `fn`
 * on its own coroutine, as the new program: it may make calls (sys_read of its stdin, ...)
 * and block; its return value is its exit status.  Without a program an exec'd process
 * stays alive, doing nothing, until killed or fake_exit'ed.  The last registration of a
 * path wins; the strings are copied. */
typedef int (*fake_program_fn) (struct fake_kernel *k, char *const argv[], char *const envp[],
                                void *arg);
void fake_program (struct fake_kernel *k, const char *path, fake_program_fn fn, void *arg);

/* Mounts. */
size_t fake_mount_count (struct fake_kernel *k, pid_t pid);
/* The topmost mount at `path` (as seen from pid's root), or NULL. */
const struct fake_mount *fake_mount_find (struct fake_kernel *k, pid_t pid, const char *path);
/* i-th mount of pid's mount namespace, in table order (NULL past the end). */
const struct fake_mount *fake_mount_at (struct fake_kernel *k, pid_t pid, size_t i);

/* Sockets, ptys, console. */
/* Take the oldest fd passed (send_fd) to the socket `fd` of process `pid`: installs it in
 * that process (close-on-exec) and returns its number; -EAGAIN if none queued, -EBADF,
 * -ENOTSOCK. */
int fake_conn_take_fd (struct fake_kernel *k, pid_t pid, int fd);
/* Everything written to the console (fds 0-2 of spawned processes); NUL-terminated. */
const char *fake_console (struct fake_kernel *k);
/* /proc/sys/kernel/random/boot_id until a test writes another (a reboot: see fake_reboot). */
#define FAKE_BOOT_ID "00000000-0000-4000-8000-000000000001"
/* A reboot as the store sees one: a new boot_id (the files stay: writes are durable at once). */
void fake_reboot (struct fake_kernel *k, const char *boot_id);
/* Value of a /proc/sys key ("net/ipv4/ip_forward") as seen by pid, NULL if never written. */
const char *fake_sysctl (struct fake_kernel *k, pid_t pid, const char *key);
/* The id of a process's namespace of a type (as fake_ns_file returns), 0 if no process. */
unsigned long fake_ns_id (struct fake_kernel *k, pid_t pid, enum fake_ns_type type);
/* Whether two processes share a namespace of a type. */
bool fake_same_ns (struct fake_kernel *k, pid_t a, pid_t b, enum fake_ns_type type);

/* cgroup v2 device programs.  fake_cgroup_device_access runs the programs attached to the
 * v2 cgroup directory `cgroup` (absolute host path) and to its ancestors, as the kernel does
 * for an access ("r", "w", "m" or a mix) to a device of `type` 'c' or 'b': 1 when every one
 * allows it (or none is attached), 0 when one denies, -ENOENT when `cgroup` is not a
 * cgroup.  On a v1 devices cgroup it answers from the whitelist (devices.list) instead.
 * fake_cgroup_bpf_count: programs attached directly to it.  fake_bpf_live: loaded programs still
 * held by an fd or an attachment. */
int fake_cgroup_device_access (struct fake_kernel *k, const char *cgroup, char type, unsigned major,
                               unsigned minor, const char *access);
size_t fake_cgroup_bpf_count (struct fake_kernel *k, const char *cgroup);
/* v1 devices: from now on, after every write to the devices cgroup `cgroup`'s
 * devices.allow/deny, check that it still allows `access` to the device; _lost counts the
 * writes after which it did not (a moment the container could not use the device). */
void fake_cgroup_devices_watch (struct fake_kernel *k, const char *cgroup, char type,
                                unsigned major, unsigned minor, const char *access);
size_t fake_cgroup_devices_watch_lost (struct fake_kernel *k);
size_t fake_bpf_live (struct fake_kernel *k);

/* Journal: every call through the fake, in order of entry. */
size_t fake_journal_len (struct fake_kernel *k);
const struct fake_call *fake_journal_at (struct fake_kernel *k, size_t i);
long fake_journal_find (struct fake_kernel *k, enum sys_id id, size_t from); /* index or -1 */

/* Faults, SQLite test_vfs style: counting only calls whose bit is in `mask` (0: every call
 * except getpid, getppid, clock_gettime, kernel_version, proc_starttime), the nth fails with -error
 * (either sign accepted) and no side effect (close still releases the fd); with `persist`
 * every later counted call fails too.  n <= 0 disarms. */
void fake_fail_nth (struct fake_kernel *k, long n, bool persist, int error, sys_mask_t mask);
long fake_faults_hit (struct fake_kernel *k);

/* Run fn(k, arg) once, just before the nth call of `id` from now (by any process; in that
 * process's context, before the call does anything): a test's way to make something happen
 * at an exact point, such as a parent dying before its child's next call.  n <= 0 disarms. */
void fake_on_call (struct fake_kernel *k, enum sys_id id, long n,
                   void (*fn) (struct fake_kernel *k, void *arg), void *arg);

#endif
