/* sys.h: the seam between focker's logic and the kernel.
 *
 * Every kernel entry point core/ uses is named once in SYS_CALLS(X).  The list generates
 * struct sys_ops (one slot per call), the SYS_ID_<name> enum, the name table, and the
 * static inline sys_<name>() wrappers that call through the process-global `sys` table.
 *
 * Contract of every slot: returns >= 0 on success or a negative errno on failure; it never
 * sets errno for the caller to read and never exits.  A backend that forgets a slot fails
 * to compile (the backend tables are generated from the same list).
 *
 * Backends: sys_linux (sys/linux.c), the fake kernel (sys-fake/), and decorators that wrap
 * any backend: trace (sys/trace.c) and fault injection (sys/fault.c).
 *
 * Only CLI start-up and test setup/teardown assign `sys`. */
#ifndef FOCKER_SYS_H
#define FOCKER_SYS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/openat2.h>
#include <linux/sched.h>

/* A set of calls, one bit per enum sys_id (see SYS_MASK below). */
typedef unsigned __int128 sys_mask_t;

/* Forward declarations for the few structured arguments. */
struct sys_clone_args;
struct sock_fprog;

/* Confinement slots (core/confine.c):
 *  capset (eff, perm, inh): the calling thread's capability sets as 64-bit masks (bit N =
 *    capability N); the Linux backend packs them into a _LINUX_CAPABILITY_VERSION_3 capset.
 *  seccomp_load (prog, flags): seccomp(SECCOMP_SET_MODE_FILTER, flags, prog); returns the
 *    notify listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0.
 *  keyctl_join_session (name): keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session
 *    keyring named `name` (or joins the existing one of that name); returns its serial.
 *  personality (persona): personality(2); returns the previous persona.
 *
 * Credentials:
 *  getids (euid, egid): the caller's effective uid and gid (geteuid(2), getegid(2)); 0.
 *
 * BPF slots (core/cgroup_bpf.c, the cgroup v2 device filter):
 *  bpf_prog_load (type, insns, n_insns, log, log_size): BPF_PROG_LOAD of `n_insns` struct
 *    bpf_insn of program type `type` (BPF_PROG_TYPE_*), license "GPL" (the device programs
 *    call no helper; the license only labels them); the verifier's log goes to `log` when it
 *    is not NULL.  Returns the program fd (close-on-exec).
 *  bpf_prog_attach (prog_fd, target_fd, type, flags): BPF_PROG_ATTACH to the cgroup open at
 *    `target_fd` with attach type `type` (BPF_CGROUP_DEVICE ...) and BPF_F_* flags.
 *  bpf_prog_detach (prog_fd, target_fd, type): BPF_PROG_DETACH of that program.
 *  bpf_prog_query (target_fd, type, ids, n_ids): BPF_PROG_QUERY of the programs attached
 *    directly to the cgroup: in, *n_ids is the room in `ids`; out, how many there are
 *    (-ENOSPC when more than the room, as the kernel).
 *  bpf_prog_get_fd_by_id (id): BPF_PROG_GET_FD_BY_ID; a new fd for the program. */

/* Arguments of sys_clone: what the kernel's clone3() takes, minus the stack (the child
 * runs fn(arg) on a copy of the caller's stack, like fork) plus the function to run. */
struct sys_clone_args
{
  uint64_t flags;     /* CLONE_NEW*, CLONE_PIDFD, CLONE_INTO_CGROUP ... */
  int exit_signal;    /* usually SIGCHLD */
  int cgroup_fd;      /* with CLONE_INTO_CGROUP */
  int pidfd;          /* out: with CLONE_PIDFD */
  int (*fn) (void *); /* run in the child; its return value is the exit status */
  void *arg;
};

/* File slots for the image store and layer unpacking (core/unpack.c):
 *  utimensat (dirfd, path, times, flags): path NULL sets the times of dirfd itself (futimens).
 *  fchmodat (dirfd, path, mode, flags): flags 0 only (the kernel follows a final symlink, so
 *    callers use it on names they just created as non-symlinks).
 *  fsetxattr / fgetxattr (fd, ...): also on an O_PATH fd (a symlink or device node opened
 *    without being opened for I/O): the Linux backend then goes through /proc/self/fd/N.
 *  fs_getflags / fs_setflags (fd, ...): the inode flags of FS_IOC_GETFLAGS/FS_IOC_SETFLAGS
 *    (FS_TOPDIR_FL ...); -ENOTTY or -EOPNOTSUPP where the filesystem has none. */

/* Kind of a kernel feature set, asked with sys_kernel_version(): the fake reports its
 * personality, the real backend uname(2). */

/* Network slots (core/net.c):
 *  netns_create (path): a new network namespace kept by a bind mount of its nsfs file on
 *    `path` (created, like `ip netns add`); the caller stays in its own.  -EEXIST if path
 *    exists.
 *  netns_remove (path): unmount (detached) and unlink what netns_create made; -ENOENT.
 *  netlink_open (protocol, netns_fd): a close-on-exec AF_NETLINK socket of `protocol`
 *    (NETLINK_ROUTE, NETLINK_NETFILTER) in the network namespace open at `netns_fd` (-1: the
 *    caller's).  A socket stays in the namespace it was made in, so one socket configures a
 *    container's namespace without any process entering it.
 *  netlink_talk (fd, req, len, reply, reply_size): send `len` bytes of netlink messages (one
 *    request, or a netfilter batch) to the kernel and read until the last message that asked
 *    for an acknowledgement is acknowledged.  Returns the first error the kernel reported
 *    (negative), else the length of the first non-ack message copied to `reply` (truncated
 *    to reply_size), else 0. */

/*     X(ret,     name,              params,                                      args) */
#define SYS_CALLS(X)                                                                               \
  X (int, openat, (int dirfd, const char *path, int flags, mode_t mode),                           \
     (dirfd, path, flags, mode))                                                                   \
  X (int, openat2, (int dirfd, const char *path, struct open_how *how, size_t size),               \
     (dirfd, path, how, size))                                                                     \
  X (int, close, (int fd), (fd))                                                                   \
  X (ssize_t, read, (int fd, void *buf, size_t count), (fd, buf, count))                           \
  X (ssize_t, write, (int fd, const void *buf, size_t count), (fd, buf, count))                    \
  X (int, fstatat, (int dirfd, const char *path, struct stat *st, int flags),                      \
     (dirfd, path, st, flags))                                                                     \
  X (int, mkdirat, (int dirfd, const char *path, mode_t mode), (dirfd, path, mode))                \
  X (int, mknodat, (int dirfd, const char *path, mode_t mode, dev_t dev),                          \
     (dirfd, path, mode, dev))                                                                     \
  X (int, symlinkat, (const char *target, int dirfd, const char *path), (target, dirfd, path))     \
  X (ssize_t, readlinkat, (int dirfd, const char *path, char *buf, size_t size),                   \
     (dirfd, path, buf, size))                                                                     \
  X (int, unlinkat, (int dirfd, const char *path, int flags), (dirfd, path, flags))                \
  X (int, renameat, (int olddirfd, const char *oldpath, int newdirfd, const char *newpath),        \
     (olddirfd, oldpath, newdirfd, newpath))                                                       \
  X (int, fchownat, (int dirfd, const char *path, uid_t uid, gid_t gid, int flags),                \
     (dirfd, path, uid, gid, flags))                                                               \
  X (int, fchmod, (int fd, mode_t mode), (fd, mode))                                               \
  X (int, fchmodat, (int dirfd, const char *path, mode_t mode, int flags),                         \
     (dirfd, path, mode, flags))                                                                   \
  X (int, linkat,                                                                                  \
     (int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags),            \
     (olddirfd, oldpath, newdirfd, newpath, flags))                                                \
  X (int, utimensat, (int dirfd, const char *path, const struct timespec *times, int flags),       \
     (dirfd, path, times, flags))                                                                  \
  X (int, fsetxattr, (int fd, const char *name, const void *value, size_t size, int flags),        \
     (fd, name, value, size, flags))                                                               \
  X (ssize_t, fgetxattr, (int fd, const char *name, void *value, size_t size),                     \
     (fd, name, value, size))                                                                      \
  X (int, fs_getflags, (int fd, unsigned *flags), (fd, flags))                                     \
  X (int, fs_setflags, (int fd, unsigned flags), (fd, flags))                                      \
  X (int, fsync, (int fd), (fd))                                                                   \
  X (int, ftruncate, (int fd, off_t length), (fd, length))                                         \
  X (int, sync_file_range, (int fd, off_t offset, off_t nbytes, unsigned flags),                   \
     (fd, offset, nbytes, flags))                                                                  \
  X (int, syncfs, (int fd), (fd))                                                                  \
  X (int, flock, (int fd, int op), (fd, op))                                                       \
  X (ssize_t, getdents64, (int fd, void *buf, size_t count), (fd, buf, count))                     \
  X (int, dup3, (int oldfd, int newfd, int flags), (oldfd, newfd, flags))                          \
  X (int, fcntl, (int fd, int cmd, long arg), (fd, cmd, arg))                                      \
  X (int, pipe2, (int fds[2], int flags), (fds, flags))                                            \
  X (int, close_range, (unsigned first, unsigned last, unsigned flags), (first, last, flags))      \
  X (int, poll, (struct pollfd * fds, nfds_t nfds, int timeout_ms), (fds, nfds, timeout_ms))       \
  X (int, unix_listen, (int dirfd, const char *name), (dirfd, name))                               \
  X (int, unix_connect, (int dirfd, const char *name), (dirfd, name))                              \
  X (int, accept, (int fd), (fd))                                                                  \
  X (int, send_fd, (int sock, int fd, const void *data, size_t len), (sock, fd, data, len))        \
  X (int, mount,                                                                                   \
     (const char *source, const char *target, const char *fstype, unsigned long flags,             \
      const void *data),                                                                           \
     (source, target, fstype, flags, data))                                                        \
  X (int, umount2, (const char *target, int flags), (target, flags))                               \
  X (int, pivot_root, (const char *new_root, const char *put_old), (new_root, put_old))            \
  X (int, chroot, (const char *path), (path))                                                      \
  X (int, chdir, (const char *path), (path))                                                       \
  X (int, fchdir, (int fd), (fd))                                                                  \
  X (pid_t, clone, (struct sys_clone_args * args), (args))                                         \
  X (int, unshare, (int flags), (flags))                                                           \
  X (int, setns, (int fd, int nstype), (fd, nstype))                                               \
  X (int, waitid, (idtype_t idtype, id_t id, siginfo_t * info, int options),                       \
     (idtype, id, info, options))                                                                  \
  X (int, kill, (pid_t pid, int sig), (pid, sig))                                                  \
  X (int, pidfd_open, (pid_t pid, unsigned flags), (pid, flags))                                   \
  X (int, pidfd_send_signal, (int pidfd, int sig, unsigned flags), (pidfd, sig, flags))            \
  X (pid_t, getpid, (void), ())                                                                    \
  X (pid_t, getppid, (void), ())                                                                   \
  X (int, proc_starttime, (pid_t pid, unsigned long long *starttime, char *state),                 \
     (pid, starttime, state))                                                                      \
  X (int, sethostname, (const char *name, size_t len), (name, len))                                \
  X (int, setdomainname, (const char *name, size_t len), (name, len))                              \
  X (int, prctl,                                                                                   \
     (int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5),         \
     (option, a2, a3, a4, a5))                                                                     \
  X (int, setresuid, (uid_t ruid, uid_t euid, uid_t suid), (ruid, euid, suid))                     \
  X (int, setresgid, (gid_t rgid, gid_t egid, gid_t sgid), (rgid, egid, sgid))                     \
  X (int, setgroups, (size_t n, const gid_t *list), (n, list))                                     \
  X (int, getids, (uid_t * euid, gid_t * egid), (euid, egid))                                      \
  X (int, prlimit, (pid_t pid, int resource, const struct rlimit *nv, struct rlimit *old),         \
     (pid, resource, nv, old))                                                                     \
  X (int, umask, (mode_t mask), (mask))                                                            \
  X (int, setsid, (void), ())                                                                      \
  X (int, set_ctty, (int fd), (fd))                                                                \
  X (int, pty_peer, (int master, int flags), (master, flags))                                      \
  X (int, pty_unlock, (int master), (master))                                                      \
  X (int, pty_set_size, (int fd, unsigned rows, unsigned cols), (fd, rows, cols))                  \
  X (int, execve, (const char *path, char *const argv[], char *const envp[]), (path, argv, envp))  \
  X (int, capset, (uint64_t effective, uint64_t permitted, uint64_t inheritable),                  \
     (effective, permitted, inheritable))                                                          \
  X (int, seccomp_load, (const struct sock_fprog *prog, unsigned flags), (prog, flags))            \
  X (int, bpf_prog_load,                                                                           \
     (unsigned type, const void *insns, unsigned n_insns, char *log, size_t log_size),             \
     (type, insns, n_insns, log, log_size))                                                        \
  X (int, bpf_prog_attach, (int prog_fd, int target_fd, unsigned type, unsigned flags),            \
     (prog_fd, target_fd, type, flags))                                                            \
  X (int, bpf_prog_detach, (int prog_fd, int target_fd, unsigned type),                            \
     (prog_fd, target_fd, type))                                                                   \
  X (int, bpf_prog_query, (int target_fd, unsigned type, uint32_t *ids, uint32_t *n_ids),          \
     (target_fd, type, ids, n_ids))                                                                \
  X (int, bpf_prog_get_fd_by_id, (uint32_t id), (id))                                              \
  X (int, keyctl_join_session, (const char *name), (name))                                         \
  X (int, personality, (unsigned long persona), (persona))                                         \
  X (int, signal_default, (int sig), (sig))                                                        \
  X (int, clock_gettime, (clockid_t clk, struct timespec * ts), (clk, ts))                         \
  X (int, kernel_version, (int *major, int *minor), (major, minor))                                \
  X (int, netns_create, (const char *path), (path))                                                \
  X (int, netns_remove, (const char *path), (path))                                                \
  X (int, netlink_open, (int protocol, int netns_fd), (protocol, netns_fd))                        \
  X (int, netlink_talk, (int fd, const void *req, size_t len, void *reply, size_t reply_size),     \
     (fd, req, len, reply, reply_size))

/* The call ids: SYS_ID_openat, SYS_ID_close, ... (not SYS_<name>: glibc owns those). */
#define SYS_X_ID(ret, name, params, args) SYS_ID_##name,
enum sys_id
{
  SYS_CALLS (SYS_X_ID) SYS_ID__COUNT
};
#undef SYS_X_ID

/* The table every backend fills. */
#define SYS_X_SLOT(ret, name, params, args) ret (*name) params;
struct sys_ops
{
  SYS_CALLS (SYS_X_SLOT)
};
#undef SYS_X_SLOT

/* The backend in use.  Assigned by cli/ at start-up and by tests. */
extern const struct sys_ops *sys;

/* The real Linux backend. */
extern const struct sys_ops sys_linux;

/* "openat", "close", ... indexed by enum sys_id. */
extern const char *const sys_names[SYS_ID__COUNT];

/* Wrappers used at every call site: sys_openat (...) calls sys->openat (...). */
#define SYS_X_WRAP(ret, name, params, args)                                                        \
  static inline ret sys_##name params                                                              \
  {                                                                                                \
    return sys->name args;                                                                         \
  }
SYS_CALLS (SYS_X_WRAP)
#undef SYS_X_WRAP

/* Trace decorator: wraps `inner`, writes "name(args) = result" for every call to fd 2.
 * Returns the decorated table (static storage; one trace decorator per process). */
const struct sys_ops *sys_trace_wrap (const struct sys_ops *inner);

/* Fault decorator: wraps `inner`; call number `nth` (1-based, counting only calls whose id
 * bit is set in `mask`, or every call when mask is 0) fails with `-error`; with `persist`
 * every later counted call fails too.  sys_fault_hits() says how many faults fired. */
const struct sys_ops *sys_fault_wrap (const struct sys_ops *inner, long nth, int persist, int error,
                                      sys_mask_t mask);
long sys_fault_hits (void);

/* Crash decorator: wraps `inner`; right after call number `nth` (1-based, counting only calls
 * whose id bit is set in `mask`, or every call when mask is 0) made by the calling process
 * returns, that process kills itself with SIGKILL.  Calls made by its children (the container
 * init, hooks) are not counted (see sys/crash.c). */
const struct sys_ops *sys_crash_wrap (const struct sys_ops *inner, long nth, sys_mask_t mask);

/* The mask of a comma-separated list of call names ("openat,renameat"): 0, or -EINVAL with
 * *bad pointing at the first name that is not a call. */
int sys_mask_parse (sys_mask_t *out, const char *names, const char **bad);

/* Not a slot: export a compiled libseccomp filter (`scmp_ctx`, a scmp_filter_ctx) as BPF
 * into malloc'd memory (*prog, *len bytes).  libseccomp 2.5 writes only to an fd; this uses
 * a private memfd (sys/seccomp_export.c), touching no host or container state, under every
 * backend.  0 or a negative errno. */
int sys_seccomp_export (void *scmp_ctx, void **prog, size_t *len);

/* Bit for `mask` arguments: SYS_MASK (openat) | SYS_MASK (mount). */
#define SYS_MASK(name) ((sys_mask_t)1 << SYS_ID_##name)
#define SYS_MASK_ID(id) ((sys_mask_t)1 << (id))

#endif
