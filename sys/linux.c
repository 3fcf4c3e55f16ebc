/* linux.c: the real backend of the seam.
 *
 * Each slot is a thin wrapper over one kernel entry point (or a few, for the semantic calls:
 * unix_listen, send_fd, pty_peer ...).  Every slot returns >= 0 or a negative errno; the
 * conversion is the function neg_errno(), never a macro, so the call is evaluated once. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/file.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/personality.h>
#include "sys/sys.h"

static long
neg_errno (long r)
{
  return r < 0 ? -errno : r;
}

static int
l_openat (int dirfd, const char *path, int flags, mode_t mode)
{
  return neg_errno (openat (dirfd, path, flags, mode));
}

static int
l_openat2 (int dirfd, const char *path, struct open_how *how, size_t size)
{
  return neg_errno (syscall (SYS_openat2, dirfd, path, how, size));
}

static int
l_close (int fd)
{
  return neg_errno (close (fd));
}

static ssize_t
l_read (int fd, void *buf, size_t count)
{
  ssize_t r;
  do
    r = read (fd, buf, count);
  while (r < 0 && errno == EINTR);
  return neg_errno (r);
}

static ssize_t
l_write (int fd, const void *buf, size_t count)
{
  ssize_t r;
  do
    r = write (fd, buf, count);
  while (r < 0 && errno == EINTR);
  return neg_errno (r);
}

static int
l_fstatat (int dirfd, const char *path, struct stat *st, int flags)
{
  return neg_errno (fstatat (dirfd, path, st, flags));
}

static int
l_mkdirat (int dirfd, const char *path, mode_t mode)
{
  return neg_errno (mkdirat (dirfd, path, mode));
}

static int
l_mknodat (int dirfd, const char *path, mode_t mode, dev_t dev)
{
  return neg_errno (mknodat (dirfd, path, mode, dev));
}

static int
l_symlinkat (const char *target, int dirfd, const char *path)
{
  return neg_errno (symlinkat (target, dirfd, path));
}

static ssize_t
l_readlinkat (int dirfd, const char *path, char *buf, size_t size)
{
  return neg_errno (readlinkat (dirfd, path, buf, size));
}

static int
l_unlinkat (int dirfd, const char *path, int flags)
{
  return neg_errno (unlinkat (dirfd, path, flags));
}

static int
l_renameat (int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
  return neg_errno (renameat (olddirfd, oldpath, newdirfd, newpath));
}

static int
l_fchownat (int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
  return neg_errno (fchownat (dirfd, path, uid, gid, flags));
}

static int
l_fchmod (int fd, mode_t mode)
{
  return neg_errno (fchmod (fd, mode));
}

static int
l_fchmodat (int dirfd, const char *path, mode_t mode, int flags)
{
  return neg_errno (fchmodat (dirfd, path, mode, flags));
}

static int
l_linkat (int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
  return neg_errno (linkat (olddirfd, oldpath, newdirfd, newpath, flags));
}

static int
l_utimensat (int dirfd, const char *path, const struct timespec *times, int flags)
{
  /* the raw call: glibc refuses path NULL (the futimens form) with EINVAL */
  return neg_errno (syscall (SYS_utimensat, dirfd, path, times, flags));
}

/* The ioctl takes an int, whatever the long in its number says. */
static int
l_fs_getflags (int fd, unsigned *flags)
{
  int v = 0;

  if (ioctl (fd, FS_IOC_GETFLAGS, &v) < 0)
    return -errno;
  *flags = (unsigned)v;
  return 0;
}

static int
l_fs_setflags (int fd, unsigned flags)
{
  int v = (int)flags;

  return neg_errno (ioctl (fd, FS_IOC_SETFLAGS, &v));
}

/* An O_PATH fd (a symlink, a device node) cannot take f*xattr (EBADF): its /proc/self/fd
 * magic link names the very inode, and the l* variant does not follow it further. */
static int
l_fsetxattr (int fd, const char *name, const void *value, size_t size, int flags)
{
  char path[64];

  if (fsetxattr (fd, name, value, size, flags) == 0)
    return 0;
  if (errno != EBADF)
    return -errno;
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  return neg_errno (setxattr (path, name, value, size, flags));
}

static ssize_t
l_fgetxattr (int fd, const char *name, void *value, size_t size)
{
  char path[64];
  ssize_t r = fgetxattr (fd, name, value, size);

  if (r >= 0 || errno != EBADF)
    return neg_errno (r);
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  return neg_errno (getxattr (path, name, value, size));
}

static int
l_fsync (int fd)
{
  return neg_errno (fsync (fd));
}

static int
l_syncfs (int fd)
{
  return neg_errno (syncfs (fd));
}

static int
l_ftruncate (int fd, off_t length)
{
  return neg_errno (ftruncate (fd, length));
}

static int
l_sync_file_range (int fd, off_t offset, off_t nbytes, unsigned flags)
{
  return neg_errno (sync_file_range (fd, offset, nbytes, flags));
}

static int
l_flock (int fd, int op)
{
  int r;
  do
    r = flock (fd, op);
  while (r < 0 && errno == EINTR);
  return neg_errno (r);
}

static ssize_t
l_getdents64 (int fd, void *buf, size_t count)
{
  return neg_errno (syscall (SYS_getdents64, fd, buf, count));
}

static int
l_dup3 (int oldfd, int newfd, int flags)
{
  return neg_errno (dup3 (oldfd, newfd, flags));
}

static int
l_fcntl (int fd, int cmd, long arg)
{
  return neg_errno (fcntl (fd, cmd, arg));
}

static int
l_pipe2 (int fds[2], int flags)
{
  return neg_errno (pipe2 (fds, flags));
}

static int
l_close_range (unsigned first, unsigned last, unsigned flags)
{
  return neg_errno (syscall (SYS_close_range, first, last, flags));
}

static int
l_poll (struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
  return neg_errno (poll (fds, nfds, timeout_ms));
}

/* Unix socket addresses hold 108 bytes; a name relative to a directory fd is reached through
 * /proc/self/fd so that deep state directories still work. */
static int
unix_addr (struct sockaddr_un *addr, int dirfd, const char *name)
{
  int n;

  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (dirfd == AT_FDCWD || name[0] == '/')
    n = snprintf (addr->sun_path, sizeof addr->sun_path, "%s", name);
  else
    n = snprintf (addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  return n < 0 || (size_t)n >= sizeof addr->sun_path ? -ENAMETOOLONG : 0;
}

/* A listening socket bound at dirfd/name.  A name too long for an address (a long container
 * id) is bound under a short temporary name in the same directory and renamed into place. */
static int
unix_bind_listen (int fd, int dirfd, const char *name)
{
  struct sockaddr_un addr;
  char tmp[64];
  int r = unix_addr (&addr, dirfd, name);

  if (r == 0)
    return bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen (fd, 8) < 0 ? -errno : 0;
  if (r != -ENAMETOOLONG || dirfd == AT_FDCWD || strchr (name, '/'))
    return r;
  snprintf (tmp, sizeof tmp, ".sock-%d-%lx", (int)getpid (), (unsigned long)random ());
  if (unix_addr (&addr, dirfd, tmp) < 0)
    return -ENAMETOOLONG;
  if (bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return -errno;
  r = listen (fd, 8) < 0 ? -errno : 0;
  if (r == 0 && syscall (SYS_renameat2, dirfd, tmp, dirfd, name, RENAME_NOREPLACE) < 0)
    r = errno == EEXIST ? -EADDRINUSE : -errno;
  if (r < 0)
    unlinkat (dirfd, tmp, 0);
  return r;
}

static int
l_unix_listen (int dirfd, const char *name)
{
  int fd, r;

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  r = unix_bind_listen (fd, dirfd, name);
  if (r < 0)
    {
      close (fd);
      return r;
    }
  return fd;
}

static int
l_unix_connect (int dirfd, const char *name)
{
  struct sockaddr_un addr;
  char link[64];
  int fd, r, path = -1;

  r = unix_addr (&addr, dirfd, name);
  if (r == -ENAMETOOLONG && dirfd != AT_FDCWD)
    {
      /* too long for an address: reach the socket through an O_PATH fd of it */
      path = openat (dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (path < 0)
        return -errno;
      snprintf (link, sizeof link, "/proc/self/fd/%d", path);
      r = unix_addr (&addr, AT_FDCWD, link);
    }
  if (r < 0)
    return r;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    r = -errno;
  else
    {
      do
        r = connect (fd, (struct sockaddr *)&addr, sizeof addr);
      while (r < 0 && errno == EINTR);
      if (r < 0)
        {
          r = -errno;
          close (fd);
        }
      else
        r = fd;
    }
  if (path >= 0)
    close (path);
  return r;
}

static int
l_accept (int fd)
{
  int r;
  do
    r = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);
  while (r < 0 && errno == EINTR);
  return neg_errno (r);
}

static int
l_send_fd (int sock, int fd, const void *data, size_t len)
{
  char control[CMSG_SPACE (sizeof (int))] = { 0 };
  char dummy = 0;
  struct iovec iov = { .iov_base = (void *)(len ? data : &dummy), .iov_len = len ? len : 1 };
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control
  };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg);
  ssize_t r;

  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof fd);
  do
    r = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

static int
l_mount (const char *source, const char *target, const char *fstype, unsigned long flags,
         const void *data)
{
  return neg_errno (mount (source, target, fstype, flags, data));
}

static int
l_umount2 (const char *target, int flags)
{
  return neg_errno (umount2 (target, flags));
}

static int
l_pivot_root (const char *new_root, const char *put_old)
{
  return neg_errno (syscall (SYS_pivot_root, new_root, put_old));
}

static int
l_chroot (const char *path)
{
  return neg_errno (chroot (path));
}

static int
l_chdir (const char *path)
{
  return neg_errno (chdir (path));
}

static int
l_fchdir (int fd)
{
  return neg_errno (fchdir (fd));
}

/* clone3 when the kernel has it (5.3+), else the legacy clone with the same flags.  No stack
 * is given: the child runs on a copy of the parent's, like fork, and leaves with _exit so no
 * atexit handler or stdio buffer of the parent runs twice. */
static pid_t
l_clone (struct sys_clone_args *a)
{
  struct clone_args ca;
  int pidfd = -1;
  long r;

  memset (&ca, 0, sizeof ca);
  ca.flags = a->flags;
  ca.exit_signal = (uint64_t)a->exit_signal;
  if (a->flags & CLONE_PIDFD)
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
  if (a->flags & CLONE_INTO_CGROUP)
    ca.cgroup = (uint64_t)a->cgroup_fd;
  r = syscall (SYS_clone3, &ca, sizeof ca);
  if (r < 0 && errno == ENOSYS && !(a->flags & CLONE_INTO_CGROUP))
    r = syscall (SYS_clone, (unsigned long)a->flags | (unsigned)a->exit_signal, NULL,
                 (a->flags & CLONE_PIDFD) ? &pidfd : NULL, NULL, 0);
  if (r == 0)
    _exit (a->fn (a->arg));
  if (r < 0)
    return -errno;
  a->pidfd = pidfd;
  return (pid_t)r;
}

static int
l_unshare (int flags)
{
  return neg_errno (unshare (flags));
}

static int
l_setns (int fd, int nstype)
{
  return neg_errno (setns (fd, nstype));
}

static int
l_waitid (idtype_t idtype, id_t id, siginfo_t *info, int options)
{
  int r;
  do
    r = waitid (idtype, id, info, options);
  while (r < 0 && errno == EINTR);
  return neg_errno (r);
}

static int
l_kill (pid_t pid, int sig)
{
  return neg_errno (kill (pid, sig));
}

static int
l_pidfd_open (pid_t pid, unsigned flags)
{
  return neg_errno (syscall (SYS_pidfd_open, pid, flags));
}

static int
l_pidfd_send_signal (int pidfd, int sig, unsigned flags)
{
  return neg_errno (syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, flags));
}

static pid_t
l_getpid (void)
{
  return getpid ();
}

static pid_t
l_getppid (void)
{
  return getppid ();
}

/* Fields 3 (state) and 22 (starttime) of /proc/PID/stat; the command name may hold spaces
 * and parentheses, so parsing starts after the last ')'. */
static int
l_proc_starttime (pid_t pid, unsigned long long *starttime, char *state)
{
  char path[64], buf[1024];
  ssize_t n;
  int fd;
  char *p;

  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? -ESRCH : -errno;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -ESRCH;
  buf[n] = '\0';
  p = strrchr (buf, ')');
  if (p == NULL || p[1] == '\0')
    return -EIO;
  p += 2;
  if (state)
    *state = *p;
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p, ' ');
      if (p == NULL)
        return -EIO;
      p++;
    }
  if (starttime)
    *starttime = strtoull (p, NULL, 10);
  return 0;
}

static int
l_sethostname (const char *name, size_t len)
{
  return neg_errno (sethostname (name, len));
}

static int
l_setdomainname (const char *name, size_t len)
{
  return neg_errno (setdomainname (name, len));
}

static int
l_prctl (int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
  return neg_errno (prctl (option, a2, a3, a4, a5));
}

static int
l_setresuid (uid_t r, uid_t e, uid_t s)
{
  /* the raw call: glibc's wrapper would broadcast to other threads, there are none */
  return neg_errno (syscall (SYS_setresuid, r, e, s));
}

static int
l_setresgid (gid_t r, gid_t e, gid_t s)
{
  return neg_errno (syscall (SYS_setresgid, r, e, s));
}

static int
l_setgroups (size_t n, const gid_t *list)
{
  return neg_errno (syscall (SYS_setgroups, n, list));
}

static int
l_getids (uid_t *euid, gid_t *egid)
{
  *euid = geteuid ();
  *egid = getegid ();
  return 0;
}

static int
l_prlimit (pid_t pid, int resource, const struct rlimit *nv, struct rlimit *old)
{
  return neg_errno (prlimit (pid, resource, nv, old));
}

static int
l_umask (mode_t mask)
{
  return (int)umask (mask);
}

static int
l_setsid (void)
{
  return neg_errno (setsid ());
}

static int
l_set_ctty (int fd)
{
  return neg_errno (ioctl (fd, TIOCSCTTY, 0));
}

static int
l_pty_peer (int master, int flags)
{
  return neg_errno (ioctl (master, TIOCGPTPEER, flags));
}

static int
l_pty_unlock (int master)
{
  int unlock = 0;
  return neg_errno (ioctl (master, TIOCSPTLCK, &unlock));
}

static int
l_pty_set_size (int fd, unsigned rows, unsigned cols)
{
  struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
  return neg_errno (ioctl (fd, TIOCSWINSZ, &ws));
}

static int
l_execve (const char *path, char *const argv[], char *const envp[])
{
  return neg_errno (execve (path, argv, envp));
}

static int
l_capset (uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {
    { .effective = (uint32_t)effective,
      .permitted = (uint32_t)permitted,
      .inheritable = (uint32_t)inheritable },
    { .effective = (uint32_t)(effective >> 32),
      .permitted = (uint32_t)(permitted >> 32),
      .inheritable = (uint32_t)(inheritable >> 32) },
  };
  return neg_errno (syscall (SYS_capset, &h, d));
}

static int
l_seccomp_load (const struct sock_fprog *prog, unsigned flags)
{
  return neg_errno (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog));
}

static int
l_bpf (int cmd, union bpf_attr *attr)
{
  return neg_errno (syscall (SYS_bpf, cmd, attr, sizeof *attr));
}

static int
l_bpf_prog_load (unsigned type, const void *insns, unsigned n_insns, char *log, size_t log_size)
{
  union bpf_attr a;

  memset (&a, 0, sizeof a);
  a.prog_type = type;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = n_insns;
  a.license = (uint64_t)(uintptr_t) "GPL";
  if (log && log_size)
    {
      a.log_buf = (uint64_t)(uintptr_t)log;
      a.log_size = (uint32_t)log_size;
      a.log_level = 1;
    }
  a.prog_flags = 0;
  /* the fd is close-on-exec: the kernel makes every bpf fd O_CLOEXEC */
  return l_bpf (BPF_PROG_LOAD, &a);
}

static int
l_bpf_prog_attach (int prog_fd, int target_fd, unsigned type, unsigned flags)
{
  union bpf_attr a;

  memset (&a, 0, sizeof a);
  a.target_fd = (uint32_t)target_fd;
  a.attach_bpf_fd = (uint32_t)prog_fd;
  a.attach_type = type;
  a.attach_flags = flags;
  return l_bpf (BPF_PROG_ATTACH, &a);
}

static int
l_bpf_prog_detach (int prog_fd, int target_fd, unsigned type)
{
  union bpf_attr a;

  memset (&a, 0, sizeof a);
  a.target_fd = (uint32_t)target_fd;
  a.attach_bpf_fd = (uint32_t)prog_fd;
  a.attach_type = type;
  return l_bpf (BPF_PROG_DETACH, &a);
}

static int
l_bpf_prog_query (int target_fd, unsigned type, uint32_t *ids, uint32_t *n_ids)
{
  union bpf_attr a;
  int r;

  memset (&a, 0, sizeof a);
  a.query.target_fd = (uint32_t)target_fd;
  a.query.attach_type = type;
  a.query.prog_ids = (uint64_t)(uintptr_t)ids;
  a.query.prog_cnt = *n_ids;
  r = l_bpf (BPF_PROG_QUERY, &a);
  if (r == 0 || r == -ENOSPC)
    *n_ids = a.query.prog_cnt;
  return r;
}

static int
l_bpf_prog_get_fd_by_id (uint32_t id)
{
  union bpf_attr a;

  memset (&a, 0, sizeof a);
  a.prog_id = id;
  return l_bpf (BPF_PROG_GET_FD_BY_ID, &a);
}

static int
l_keyctl_join_session (const char *name)
{
  return neg_errno (syscall (SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0));
}

static int
l_personality (unsigned long persona)
{
  return neg_errno (personality (persona));
}

/* Reset a signal's disposition to the default (SIG_DFL). */
static int
l_signal_default (int sig)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  return neg_errno (sigaction (sig, &sa, NULL));
}

static int
l_clock_gettime (clockid_t clk, struct timespec *ts)
{
  return neg_errno (clock_gettime (clk, ts));
}

static int
l_kernel_version (int *major, int *minor)
{
  struct utsname u;

  if (uname (&u) < 0)
    return -errno;
  if (sscanf (u.release, "%d.%d", major, minor) != 2)
    return -EINVAL;
  return 0;
}

static int
l_netns_create (const char *path)
{
  int self, fd, r = 0;

  self = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return -errno;
  fd = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0)
    {
      r = -errno;
      close (self);
      return r;
    }
  close (fd);
  /* The thread enters a new namespace only long enough to bind it to `path`. */
  if (unshare (CLONE_NEWNET) < 0)
    r = -errno;
  else
    {
      if (mount ("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
        r = -errno;
      if (setns (self, CLONE_NEWNET) < 0)
        {
          /* Still in the new namespace: nothing later may run as if it were the host's. */
          fprintf (stderr, "focker: cannot return to the original network namespace: %m\n");
          abort ();
        }
    }
  close (self);
  if (r < 0)
    unlink (path);
  return r;
}

static int
l_netns_remove (const char *path)
{
  int r = umount2 (path, MNT_DETACH) < 0 ? -errno : 0;

  if (unlink (path) < 0)
    return r == 0 || r == -EINVAL ? -errno : r;
  return r == -EINVAL ? 0 : r; /* a file that was not mounted (a half-made one) is removed */
}

static int
l_netlink_open (int protocol, int netns_fd)
{
  int self = -1, fd, r;
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

  if (netns_fd >= 0)
    {
      self = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      if (self < 0)
        return -errno;
      if (setns (netns_fd, CLONE_NEWNET) < 0)
        {
          r = -errno;
          close (self);
          return r;
        }
    }
  fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  r = fd < 0 ? -errno : fd;
  if (self >= 0)
    {
      if (setns (self, CLONE_NEWNET) < 0)
        {
          fprintf (stderr, "focker: cannot return to the original network namespace: %m\n");
          abort ();
        }
      close (self);
    }
  if (fd >= 0 && bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      r = -errno;
      close (fd);
    }
  return r;
}

static int
l_netlink_talk (int fd, const void *req, size_t len, void *reply, size_t reply_size)
{
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  const struct nlmsghdr *h;
  uint32_t last = 0;
  int first_err = 0, got = 0;
  size_t off;
  static char buf[65536] __attribute__ ((aligned (4)));

  for (off = 0; off + NLMSG_HDRLEN <= len; off += NLMSG_ALIGN (h->nlmsg_len))
    {
      h = (const struct nlmsghdr *)((const char *)req + off);
      if (h->nlmsg_len < NLMSG_HDRLEN)
        return -EINVAL;
      if (h->nlmsg_flags & NLM_F_ACK)
        last = h->nlmsg_seq;
    }
  if (sendto (fd, req, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
    return -errno;
  if (last == 0)
    return 0; /* nothing asked for an answer: waiting would never end */
  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      for (h = (const struct nlmsghdr *)buf; NLMSG_OK (h, (size_t)n); h = NLMSG_NEXT (h, n))
        {
          if (h->nlmsg_type == NLMSG_ERROR)
            {
              const struct nlmsgerr *e = NLMSG_DATA (h);
              if (e->error < 0 && first_err == 0)
                first_err = e->error;
              /* the last acknowledgement, or a batch refused as a whole */
              if (h->nlmsg_seq == last
                  || (e->error < 0 && e->msg.nlmsg_type == NFNL_MSG_BATCH_BEGIN))
                return first_err < 0 ? first_err : got;
            }
          else if (!got && h->nlmsg_type != NLMSG_DONE && reply)
            {
              got = (int)(h->nlmsg_len < reply_size ? h->nlmsg_len : reply_size);
              memcpy (reply, h, (size_t)got);
            }
        }
    }
}

#define SYS_X_LINUX(ret, name, params, args) .name = l_##name,
const struct sys_ops sys_linux = { SYS_CALLS (SYS_X_LINUX) };
#undef SYS_X_LINUX
