/* test_fake.c: the fake kernel itself, one property per test.
 *
 * Every test gets a fresh kernel (setup/teardown) and drives it through `sys`, the way the
 * runtime does, then asserts on the resulting state; the journal only for order. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "sys-fake/fake.h"

static int
setup (void **state)
{
  *state = fake_kernel_new (NULL);
  return 0;
}

static int
teardown (void **state)
{
  fake_kernel_free (*state);
  return 0;
}

static struct fake_kernel *
with_personality (void **state, int major, int minor, enum fake_cgroup_mode cg, bool ramfs)
{
  struct fake_personality p = { major, minor, cg, ramfs };

  fake_kernel_free (*state);
  *state = fake_kernel_new (&p);
  return *state;
}

static pid_t
self (void **state)
{
  return fake_current_pid (*state);
}

static int
open_rd (const char *path)
{
  return sys_openat (AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
}

static char *
read_fd (int fd)
{
  static char buf[512];
  ssize_t n = sys_read (fd, buf, sizeof buf - 1);

  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

static pid_t
spawn_child (int (*fn) (void *), void *arg, uint64_t flags)
{
  struct sys_clone_args a = { .flags = flags, .exit_signal = SIGCHLD, .fn = fn, .arg = arg };
  return sys_clone (&a);
}

/* ---- VFS ---- */

static void
created_file_reads_back_with_mode_minus_umask (void **state)
{
  struct fake_kernel *k = *state;
  struct stat st;
  int fd;

  sys_umask (027);
  fd = sys_openat (AT_FDCWD, "/etc/x", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  assert_true (fd >= 0);
  assert_int_equal (sys_write (fd, "hello", 5), 5);
  assert_int_equal (sys_close (fd), 0);
  char *s = fake_read_file (k, "/etc/x");
  assert_string_equal (s, "hello");
  free (s);
  assert_int_equal (fake_lstat (k, "/etc/x", &st), 0);
  assert_int_equal (st.st_mode, S_IFREG | 0640);
  assert_int_equal (sys_openat (AT_FDCWD, "/etc/x", O_WRONLY | O_CREAT | O_EXCL, 0644), -EEXIST);
}

static void
open_errors_match_linux (void **state)
{
  struct fake_kernel *k = *state;

  fake_write_file (k, "/etc/f", "x", 0644);
  assert_int_equal (open_rd ("/etc/missing"), -ENOENT);
  assert_int_equal (open_rd ("/etc/f/sub"), -ENOTDIR);
  assert_int_equal (sys_openat (AT_FDCWD, "/etc/f", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
  assert_int_equal (sys_openat (AT_FDCWD, "/etc", O_WRONLY, 0), -EISDIR);
  assert_int_equal (sys_openat (99, "f", O_RDONLY, 0), -EBADF);
  assert_int_equal (sys_openat (AT_FDCWD, "/etc/f", O_ACCMODE, 0), -EINVAL);
}

static void
trunc_and_append_change_content (void **state)
{
  struct fake_kernel *k = *state;
  int fd;

  fake_write_file (k, "/etc/f", "abcdef", 0644);
  fd = sys_openat (AT_FDCWD, "/etc/f", O_WRONLY | O_APPEND, 0);
  sys_write (fd, "gh", 2);
  sys_close (fd);
  char *s = fake_read_file (k, "/etc/f");
  assert_string_equal (s, "abcdefgh");
  free (s);
  fd = sys_openat (AT_FDCWD, "/etc/f", O_WRONLY | O_TRUNC, 0);
  sys_write (fd, "z", 1);
  sys_close (fd);
  s = fake_read_file (k, "/etc/f");
  assert_string_equal (s, "z");
  free (s);
}

static void
ftruncate_shrinks_and_zero_fills_through_a_writable_fd_only (void **state)
{
  struct fake_kernel *k = *state;
  int fd, ro, path;
  char *s;

  fake_write_file (k, "/etc/f", "abcdef", 0644);
  fd = sys_openat (AT_FDCWD, "/etc/f", O_RDWR, 0);
  ro = sys_openat (AT_FDCWD, "/etc/f", O_RDONLY, 0);
  path = sys_openat (AT_FDCWD, "/etc/f", O_PATH, 0);
  assert_int_equal (sys_ftruncate (fd, 2), 0);
  s = fake_read_file (k, "/etc/f");
  assert_string_equal (s, "ab");
  free (s);
  assert_int_equal (sys_ftruncate (fd, 4), 0);
  assert_memory_equal (read_fd (ro), "ab\0\0", 4);
  assert_int_equal (sys_ftruncate (fd, 0), 0);
  s = fake_read_file (k, "/etc/f");
  assert_string_equal (s, "");
  free (s);
  assert_int_equal (sys_ftruncate (ro, 0), -EINVAL);
  assert_int_equal (sys_ftruncate (fd, -1), -EINVAL);
  assert_int_equal (sys_ftruncate (path, 0), -EBADF);
  assert_int_equal (sys_ftruncate (99, 0), -EBADF);
  sys_close (fd);
  sys_close (ro);
  sys_close (path);
}

static void
symlinks_are_followed_except_with_nofollow (void **state)
{
  struct fake_kernel *k = *state;
  int fd;

  fake_write_file (k, "/data/real/file", "content", 0644);
  fake_symlink (k, "real", "/data/rel");
  fake_symlink (k, "/data/rel/file", "/data/abs");
  fd = open_rd ("/data/abs");
  assert_true (fd >= 0);
  assert_string_equal (read_fd (fd), "content");
  sys_close (fd);
  assert_int_equal (sys_openat (AT_FDCWD, "/data/abs", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
  fd = sys_openat (AT_FDCWD, "/data/abs", O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
  assert_true (fd >= 0);
  char buf[64] = { 0 };
  assert_int_equal (sys_readlinkat (fd, "", buf, sizeof buf), 14);
  assert_string_equal (buf, "/data/rel/file");
  assert_true (fake_exists (k, "/data/abs"));
}

static void
symlink_loop_gives_eloop (void **state)
{
  struct fake_kernel *k = *state;

  fake_symlink (k, "b", "/data/a");
  fake_symlink (k, "a", "/data/b");
  assert_int_equal (open_rd ("/data/a"), -ELOOP);
}

static void
dotdot_cannot_climb_above_process_root (void **state)
{
  struct fake_kernel *k = *state;

  fake_write_file (k, "/jail/inside", "in", 0644);
  fake_write_file (k, "/secret", "out", 0644);
  fake_symlink (k, "/secret", "/jail/link");
  assert_int_equal (sys_chroot ("/jail"), 0);
  assert_int_equal (sys_chdir ("/"), 0);
  assert_int_equal (open_rd ("/../../secret"), -ENOENT);
  assert_int_equal (open_rd ("link"), -ENOENT);
  int fd = open_rd ("../inside");
  assert_true (fd >= 0);
  assert_string_equal (read_fd (fd), "in");
  assert_string_equal (fake_proc (k, self (state))->root_path, "/jail");
}

static int
open2 (int dirfd, const char *path, uint64_t resolve)
{
  struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = resolve };
  return sys_openat2 (dirfd, path, &how, sizeof how);
}

static void
openat2_in_root_keeps_absolute_symlinks_and_dotdot_inside (void **state)
{
  struct fake_kernel *k = *state;
  int root, fd;

  fake_write_file (k, "/rootfs/etc/passwd", "container", 0644);
  fake_write_file (k, "/etc/passwd", "host", 0644);
  fake_symlink (k, "/etc/passwd", "/rootfs/abs");
  fake_symlink (k, "../../../etc/passwd", "/rootfs/etc/rel");
  root = sys_openat (AT_FDCWD, "/rootfs", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  fd = open2 (root, "abs", RESOLVE_IN_ROOT);
  assert_string_equal (read_fd (fd), "container");
  fd = open2 (root, "etc/rel", RESOLVE_IN_ROOT);
  assert_string_equal (read_fd (fd), "container");
  fd = open2 (root, "/../etc/passwd", RESOLVE_IN_ROOT);
  assert_string_equal (read_fd (fd), "container");
  fd = open_rd ("/rootfs/abs");
  assert_string_equal (read_fd (fd), "host");
}

static void
openat2_beneath_and_no_symlinks_reject_escapes (void **state)
{
  struct fake_kernel *k = *state;
  int root;

  fake_write_file (k, "/rootfs/etc/passwd", "c", 0644);
  fake_symlink (k, "/etc/passwd", "/rootfs/abs");
  root = sys_openat (AT_FDCWD, "/rootfs", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  assert_int_equal (open2 (root, "abs", RESOLVE_BENEATH), -EXDEV);
  assert_int_equal (open2 (root, "../etc", RESOLVE_BENEATH), -EXDEV);
  assert_int_equal (open2 (root, "/etc", RESOLVE_BENEATH), -EXDEV);
  assert_int_equal (open2 (root, "abs", RESOLVE_NO_SYMLINKS), -ELOOP);
  assert_true (open2 (root, "etc/passwd", RESOLVE_BENEATH) >= 0);
  assert_int_equal (open2 (root, "x", RESOLVE_BENEATH | RESOLVE_IN_ROOT), -EINVAL);
}

static void
proc_self_fd_is_a_magic_link_to_the_open_file (void **state)
{
  struct fake_kernel *k = *state;
  char path[64], buf[64] = { 0 };
  int fd, again;

  fake_write_file (k, "/etc/f", "magic", 0644);
  fd = sys_openat (AT_FDCWD, "/etc/f", O_PATH | O_CLOEXEC, 0);
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  again = open_rd (path);
  assert_string_equal (read_fd (again), "magic");
  assert_int_equal (sys_readlinkat (AT_FDCWD, path, buf, sizeof buf), 6);
  assert_string_equal (buf, "/etc/f");
  struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_NO_MAGICLINKS };
  assert_int_equal (sys_openat2 (AT_FDCWD, path, &how, sizeof how), -ELOOP);
}

static void
unlink_rmdir_rename_follow_linux_errors (void **state)
{
  struct fake_kernel *k = *state;

  fake_write_file (k, "/d/full/f", "", 0644);
  fake_mkdir_p (k, "/d/empty", 0755);
  assert_int_equal (sys_unlinkat (AT_FDCWD, "/d/full", AT_REMOVEDIR), -ENOTEMPTY);
  assert_int_equal (sys_unlinkat (AT_FDCWD, "/d/full", 0), -EISDIR);
  assert_int_equal (sys_unlinkat (AT_FDCWD, "/d/full/f", AT_REMOVEDIR), -ENOTDIR);
  assert_int_equal (sys_unlinkat (AT_FDCWD, "/d/nothing", 0), -ENOENT);
  assert_int_equal (sys_renameat (AT_FDCWD, "/d/full", AT_FDCWD, "/d/full/sub"), -EINVAL);
  assert_int_equal (sys_renameat (AT_FDCWD, "/d/empty", AT_FDCWD, "/d/full"), -ENOTEMPTY);
  assert_int_equal (sys_unlinkat (AT_FDCWD, "/d/empty", AT_REMOVEDIR), 0);
  assert_false (fake_exists (k, "/d/empty"));
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/d/full", 0755), -EEXIST);
}

static void
rename_replaces_target_atomically (void **state)
{
  struct fake_kernel *k = *state;

  fake_write_file (k, "/s/state.json.tmp", "new", 0644);
  fake_write_file (k, "/s/state.json", "old", 0644);
  assert_int_equal (sys_renameat (AT_FDCWD, "/s/state.json.tmp", AT_FDCWD, "/s/state.json"), 0);
  char *s = fake_read_file (k, "/s/state.json");
  assert_string_equal (s, "new");
  free (s);
  assert_false (fake_exists (k, "/s/state.json.tmp"));
  assert_int_equal (fake_dir_count (k, "/s"), 1);
}

/* struct linux_dirent64, as getdents64 fills it */
struct dirent64_rec
{
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

/* Removing the entries already read, between getdents calls, skips none (rm -rf does it): a
 * real filesystem's offsets stay put when other entries go. */
static void
getdents_skips_nothing_while_entries_are_removed (void **state)
{
  struct fake_kernel *k = *state;
  char buf[512], path[32];
  int fd, removed = 0;
  ssize_t n;

  for (int i = 0; i < 300; i++)
    {
      snprintf (path, sizeof path, "/big/file-%03d", i);
      assert_int_equal (fake_write_file (k, path, "", 0644), 0);
    }
  fd = sys_openat (AT_FDCWD, "/big", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  while ((n = sys_getdents64 (fd, buf, sizeof buf)) > 0)
    for (ssize_t off = 0; off < n;)
      {
        struct dirent64_rec *d = (void *)(buf + off);
        if (d->type == DT_REG)
          {
            assert_int_equal (sys_unlinkat (fd, d->name, 0), 0);
            removed++;
          }
        off += d->reclen;
      }
  assert_int_equal (n, 0);
  sys_close (fd);
  assert_int_equal (removed, 300);
  assert_int_equal (sys_unlinkat (AT_FDCWD, "/big", AT_REMOVEDIR), 0);
}

static void
getdents_returns_linux_dirent64_records (void **state)
{
  struct fake_kernel *k = *state;
  char buf[4096];
  int fd, seen = 0;
  ssize_t n;

  fake_write_file (k, "/g/a", "", 0644);
  fake_mkdir_p (k, "/g/b", 0755);
  fd = sys_openat (AT_FDCWD, "/g", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  while ((n = sys_getdents64 (fd, buf, sizeof buf)) > 0)
    for (ssize_t off = 0; off < n;)
      {
        struct dirent64_rec *d = (void *)(buf + off);
        if (strcmp (d->name, "a") == 0)
          seen |= d->type == DT_REG ? 1 : 0;
        if (strcmp (d->name, "b") == 0)
          seen |= d->type == DT_DIR ? 2 : 0;
        if (strcmp (d->name, ".") == 0 || strcmp (d->name, "..") == 0)
          seen |= 4;
        off += d->reclen;
      }
  assert_int_equal (n, 0);
  assert_int_equal (seen, 7);
}

static void
fstatat_fills_type_owner_and_size (void **state)
{
  struct fake_kernel *k = *state;
  struct stat st;

  fake_write_file (k, "/f", "12345", 0600);
  assert_int_equal (sys_fchownat (AT_FDCWD, "/f", 1000, 1001, 0), 0);
  assert_int_equal (sys_fstatat (AT_FDCWD, "/f", &st, 0), 0);
  assert_int_equal (st.st_size, 5);
  assert_int_equal (st.st_uid, 1000);
  assert_int_equal (st.st_gid, 1001);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (sys_fstatat (AT_FDCWD, "/dev/null", &st, 0), 0);
  assert_true (S_ISCHR (st.st_mode));
  assert_int_equal (st.st_rdev, makedev (1, 3));
}

/* ---- fds ---- */

static void
fds_take_the_lowest_number_and_keep_cloexec (void **state)
{
  int a = open_rd ("/etc"), b;

  assert_int_equal (a, 3);
  b = sys_dup3 (a, 10, 0);
  assert_int_equal (b, 10);
  assert_int_equal (sys_fcntl (b, F_GETFD, 0), 0);
  assert_int_equal (sys_fcntl (a, F_GETFD, 0), FD_CLOEXEC);
  assert_int_equal (sys_fcntl (a, F_DUPFD_CLOEXEC, 5), 5);
  assert_int_equal (sys_dup3 (a, a, 0), -EINVAL);
  assert_int_equal (sys_close (a), 0);
  assert_int_equal (open_rd ("/etc"), 3);
  assert_int_equal (sys_close (42), -EBADF);
}

static void
close_range_closes_or_marks_cloexec (void **state)
{
  struct fake_kernel *k = *state;

  for (int i = 0; i < 4; i++)
    sys_openat (AT_FDCWD, "/etc", O_RDONLY, 0);
  assert_int_equal (fake_open_fds (k, self (state)), 7);
  assert_int_equal (sys_close_range (5, ~0u, CLOSE_RANGE_CLOEXEC), 0);
  assert_int_equal (sys_fcntl (6, F_GETFD, 0), FD_CLOEXEC);
  assert_int_equal (sys_fcntl (4, F_GETFD, 0), 0);
  assert_int_equal (sys_close_range (3, ~0u, 0), 0);
  assert_int_equal (fake_open_fds (k, self (state)), 3);
}

static void
pipe_gives_eof_once_writers_close_and_epipe_without_readers (void **state)
{
  int p[2];
  char c;

  assert_int_equal (sys_pipe2 (p, O_CLOEXEC), 0);
  assert_int_equal (sys_write (p[1], "ab", 2), 2);
  sys_close (p[1]);
  assert_int_equal (sys_read (p[0], &c, 1), 1);
  assert_int_equal (sys_read (p[0], &c, 1), 1);
  assert_int_equal (sys_read (p[0], &c, 1), 0);
  sys_close (p[0]);
  assert_int_equal (sys_pipe2 (p, O_CLOEXEC), 0);
  sys_close (p[0]);
  assert_int_equal (sys_write (p[1], "x", 1), -EPIPE);
}

static void
read_on_empty_pipe_with_own_writer_deadlocks (void **state)
{
  struct fake_kernel *k = *state;
  int p[2];
  char c;

  sys_pipe2 (p, O_CLOEXEC);
  assert_int_equal (sys_read (p[0], &c, 1), -EDEADLK);
  assert_true (fake_journal_find (k, SYS_ID_read, 0) >= 0);
  struct pollfd pfd = { .fd = p[0], .events = POLLIN };
  assert_int_equal (sys_poll (&pfd, 1, 100), 0);
  assert_int_equal (sys_poll (&pfd, 1, -1), -EDEADLK);
}

static void
fds_are_back_to_baseline_after_a_round_trip (void **state)
{
  struct fake_kernel *k = *state;
  int p[2], l, c, a;

  sys_pipe2 (p, O_CLOEXEC);
  l = sys_unix_listen (AT_FDCWD, "/run/s.sock");
  c = sys_unix_connect (AT_FDCWD, "/run/s.sock");
  a = sys_accept (l);
  int fds[] = { p[0], p[1], l, c, a };
  for (size_t i = 0; i < 5; i++)
    assert_int_equal (sys_close (fds[i]), 0);
  assert_int_equal (fake_open_fds (k, self (state)), 3);
}

/* ---- sockets, ptys ---- */

static void
unix_socket_connect_accept_carries_bytes_both_ways (void **state)
{
  struct fake_kernel *k = *state;
  int l, c, a;
  char buf[8] = { 0 };

  l = sys_unix_listen (AT_FDCWD, "/run/api.sock");
  assert_true (l >= 0);
  assert_true (fake_exists (k, "/run/api.sock"));
  assert_int_equal (sys_unix_listen (AT_FDCWD, "/run/api.sock"), -EADDRINUSE);
  c = sys_unix_connect (AT_FDCWD, "/run/api.sock");
  a = sys_accept (l);
  assert_true (c >= 0 && a >= 0);
  assert_int_equal (sys_fcntl (a, F_GETFD, 0), FD_CLOEXEC);
  sys_write (c, "req", 3);
  assert_int_equal (sys_read (a, buf, sizeof buf), 3);
  assert_string_equal (buf, "req");
  sys_write (a, "ok", 2);
  sys_close (a);
  assert_int_equal (sys_read (c, buf, sizeof buf), 2);
  assert_int_equal (sys_read (c, buf, sizeof buf), 0);
  assert_int_equal (sys_unix_connect (AT_FDCWD, "/run/none.sock"), -ENOENT);
  sys_close (l);
  assert_int_equal (sys_unix_connect (AT_FDCWD, "/run/api.sock"), -ECONNREFUSED);
}

static void
send_fd_queues_the_file_for_the_peer (void **state)
{
  struct fake_kernel *k = *state;
  int l = sys_unix_listen (AT_FDCWD, "/run/console.sock");
  int c = sys_unix_connect (AT_FDCWD, "/run/console.sock");
  int a = sys_accept (l);
  int m = sys_openat (AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0), got;
  char buf[8] = { 0 };

  assert_int_equal (sys_send_fd (c, m, "pty", 3), 0);
  sys_close (m);
  assert_int_equal (sys_read (a, buf, sizeof buf), 3);
  got = fake_conn_take_fd (k, self (state), a);
  assert_true (got >= 0);
  assert_int_equal (fake_conn_take_fd (k, self (state), a), -EAGAIN);
  /* the received master still drives its pty */
  assert_int_equal (sys_pty_unlock (got), 0);
  int s = sys_pty_peer (got, O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true (s >= 0);
  sys_write (got, "hi", 2);
  assert_int_equal (sys_read (s, buf, sizeof buf), 2);
}

static void
pty_peer_needs_unlock_and_ctty_needs_a_session (void **state)
{
  struct fake_kernel *k = *state;
  int m = sys_openat (AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0), s;

  assert_int_equal (sys_pty_peer (m, O_RDWR), -EIO);
  assert_int_equal (sys_pty_unlock (m), 0);
  s = sys_pty_peer (m, O_RDWR | O_CLOEXEC);
  assert_true (s >= 0);
  assert_int_equal (sys_set_ctty (s), -EPERM);
  assert_int_equal (sys_setsid (), -EPERM); /* a spawned command leads its process group */
  assert_int_equal (sys_set_ctty (0), -ENOTTY);
  assert_int_equal (sys_pty_unlock (0), -ENOTTY);
  assert_int_equal (fake_proc (k, self (state))->ctty_fd_set, -1);
}

/* ---- flock ---- */

static void
flock_conflicts_between_descriptions_and_releases_on_close (void **state)
{
  struct fake_kernel *k = *state;
  int a, b;

  fake_write_file (k, "/run/lock", "", 0644);
  a = open_rd ("/run/lock");
  b = open_rd ("/run/lock");
  assert_int_equal (sys_flock (a, LOCK_EX | LOCK_NB), 0);
  assert_int_equal (sys_flock (b, LOCK_SH | LOCK_NB), -EWOULDBLOCK);
  assert_int_equal (sys_flock (b, LOCK_EX), -EDEADLK);
  sys_close (a);
  assert_int_equal (sys_flock (b, LOCK_SH | LOCK_NB), 0);
  a = open_rd ("/run/lock");
  assert_int_equal (sys_flock (a, LOCK_SH | LOCK_NB), 0);
  assert_int_equal (sys_flock (a, LOCK_EX | LOCK_NB), -EWOULDBLOCK);
}

struct lock_arg
{
  int fd;
  int r;
};

static int
lock_child (void *arg)
{
  struct lock_arg *l = arg;
  l->r = sys_flock (l->fd, LOCK_EX);
  return 0;
}

static void
blocking_flock_waits_until_the_holder_unlocks (void **state)
{
  struct fake_kernel *k = *state;
  struct lock_arg l = { .r = 1 };
  int held;
  pid_t c;

  fake_write_file (k, "/run/lock", "", 0644);
  held = open_rd ("/run/lock");
  sys_flock (held, LOCK_EX);
  l.fd = sys_openat (AT_FDCWD, "/run/lock", O_RDONLY, 0);
  c = spawn_child (lock_child, &l, 0);
  assert_int_equal (l.r, 1); /* still blocked */
  assert_true (fake_proc (k, c)->alive);
  sys_flock (held, LOCK_UN);
  assert_int_equal (l.r, 0);
  assert_true (fake_proc (k, c)->zombie);
}

/* ---- clone, exec, wait ---- */

struct hs
{
  int to_child[2], to_parent[2];
  char got[16];
};

static int
handshake_child (void *arg)
{
  struct hs *h = arg;

  sys_close (h->to_child[1]);
  sys_close (h->to_parent[0]);
  sys_write (h->to_parent[1], "ping", 4);
  if (sys_read (h->to_child[0], h->got, 4) != 4)
    return 2;
  return 7;
}

static void
clone_child_runs_first_and_waits_on_its_parent (void **state)
{
  struct fake_kernel *k = *state;
  struct hs h = { 0 };
  siginfo_t si;
  char buf[8] = { 0 };
  pid_t c;

  sys_pipe2 (h.to_child, O_CLOEXEC);
  sys_pipe2 (h.to_parent, O_CLOEXEC);
  c = spawn_child (handshake_child, &h, 0);
  assert_true (c > 0);
  sys_close (h.to_child[0]);
  sys_close (h.to_parent[1]);
  assert_int_equal (sys_read (h.to_parent[0], buf, 4), 4); /* written before it blocked */
  assert_string_equal (buf, "ping");
  assert_true (fake_proc (k, c)->alive);
  assert_int_equal (fake_proc (k, c)->ppid, self (state));
  sys_write (h.to_child[1], "pong", 4);
  assert_string_equal (h.got, "pong");
  assert_int_equal (sys_waitid (P_PID, (id_t)c, &si, WEXITED), 0);
  assert_int_equal (si.si_code, CLD_EXITED);
  assert_int_equal (si.si_status, 7);
  assert_int_equal (si.si_pid, c);
  assert_null (fake_proc (k, c));
}

struct waiter
{
  pid_t child;
  int status;
};

static int
exits_3 (void *arg)
{
  return 3;
}

static int
parent_of_a_child (void *arg)
{
  struct waiter *w = arg;
  siginfo_t si;

  w->child = spawn_child (exits_3, NULL, 0);
  if (sys_waitid (P_PID, (id_t)w->child, &si, WEXITED) < 0)
    return 1;
  w->status = si.si_status;
  return 0;
}

static void
a_child_can_wait_for_its_own_child (void **state)
{
  struct waiter w = { 0 };
  siginfo_t si;
  pid_t c = spawn_child (parent_of_a_child, &w, 0);

  assert_int_equal (w.status, 3);
  assert_int_equal (sys_waitid (P_PID, (id_t)c, &si, WEXITED), 0);
  assert_int_equal (si.si_status, 0);
}

struct exec_arg
{
  const char *path;
  int r;
};

static int
exec_child (void *arg)
{
  struct exec_arg *e = arg;
  char *argv[] = { (char *)"sh", (char *)"-c", (char *)"true", NULL };
  char *envp[] = { (char *)"PATH=/bin", NULL };

  sys_openat (AT_FDCWD, "/etc", O_RDONLY, 0);             /* kept */
  sys_openat (AT_FDCWD, "/etc", O_RDONLY | O_CLOEXEC, 0); /* closed by exec */
  e->r = sys_execve (e->path, argv, envp);
  return 99;
}

static void
exec_retires_the_child_and_closes_cloexec_fds (void **state)
{
  struct fake_kernel *k = *state;
  struct exec_arg e = { "/bin/sh", 1 };
  struct fake_proc *p;
  pid_t c;

  fake_write_file (k, "/bin/sh", "ELF", 0755);
  c = spawn_child (exec_child, &e, 0);
  p = fake_proc (k, c);
  assert_int_equal (e.r, 1); /* execve never returned */
  assert_true (p->execed && p->alive && !p->zombie);
  assert_string_equal (p->exec_path, "/bin/sh");
  assert_string_equal (p->exec_argv[2], "true");
  assert_string_equal (p->exec_envp[0], "PATH=/bin");
  assert_int_equal (fake_open_fds (k, c), 4);
  fake_exit (k, c, 0);
  assert_int_equal (fake_open_fds (k, c), 0);
}

static void
exec_fails_for_missing_or_non_executable_files (void **state)
{
  struct fake_kernel *k = *state;
  struct exec_arg e = { "/bin/none", 1 };
  siginfo_t si;
  pid_t c;

  c = spawn_child (exec_child, &e, 0);
  assert_int_equal (e.r, -ENOENT);
  assert_int_equal (sys_waitid (P_PID, (id_t)c, &si, WEXITED), 0);
  assert_int_equal (si.si_status, 99);
  fake_write_file (k, "/bin/data", "", 0644);
  e.path = "/bin/data";
  c = spawn_child (exec_child, &e, 0);
  assert_int_equal (e.r, -EACCES);
}

static void
waitid_reports_signals_nohang_and_echild (void **state)
{
  struct fake_kernel *k = *state;
  struct exec_arg e = { "/bin/sh", 1 };
  siginfo_t si;
  pid_t c;

  fake_write_file (k, "/bin/sh", "ELF", 0755);
  c = spawn_child (exec_child, &e, 0);
  si.si_pid = 1;
  assert_int_equal (sys_waitid (P_PID, (id_t)c, &si, WEXITED | WNOHANG), 0);
  assert_int_equal (si.si_pid, 0);
  assert_int_equal (sys_waitid (P_PID, (id_t)c, &si, WEXITED), -EDEADLK);
  assert_int_equal (sys_kill (c, SIGWINCH), 0);
  assert_true (fake_proc (k, c)->alive);
  assert_int_equal (sys_kill (c, SIGTERM), 0);
  assert_true (fake_proc (k, c)->zombie);
  assert_int_equal (sys_kill (c, 0), 0); /* a zombie still exists */
  assert_int_equal (sys_waitid (P_PID, (id_t)c, &si, WEXITED | WNOWAIT), 0);
  assert_int_equal (sys_waitid (P_ALL, 0, &si, WEXITED), 0);
  assert_int_equal (si.si_code, CLD_KILLED);
  assert_int_equal (si.si_status, SIGTERM);
  assert_int_equal (sys_kill (c, 0), -ESRCH);
  assert_int_equal (sys_waitid (P_PID, (id_t)c, &si, WEXITED), -ECHILD);
  assert_int_equal (sys_waitid (P_PID, 1, &si, WEXITED), -ECHILD);
  int *sigs = fake_proc (k, self (state)) ? NULL : NULL;
  (void)sigs;
}

static void
caught_signals_do_not_kill_an_execed_process (void **state)
{
  struct fake_kernel *k = *state;
  struct exec_arg e = { "/bin/sh", 1 };
  pid_t c;

  fake_write_file (k, "/bin/sh", "ELF", 0755);
  c = spawn_child (exec_child, &e, 0);
  sigaddset (&fake_proc (k, c)->caught, SIGTERM);
  sys_kill (c, SIGTERM);
  assert_true (fake_proc (k, c)->alive);
  assert_int_equal (fake_proc (k, c)->n_signals, 1);
  assert_int_equal (fake_proc (k, c)->signals[0], SIGTERM);
  sys_kill (c, SIGKILL);
  assert_true (fake_proc (k, c)->killed_by_signal);
}

struct blocker
{
  int fd;
};

static int
blocks_forever (void *arg)
{
  struct blocker *b = arg;
  char c;
  char *mem = malloc (64); /* live when killed: must not be reported as a leak */

  sys_read (b->fd, &c, 1);
  free (mem);
  return 0;
}

static void
sigkill_abandons_a_child_blocked_in_runtime_code (void **state)
{
  struct fake_kernel *k = *state;
  struct blocker b;
  int p[2];
  siginfo_t si;
  pid_t c;

  sys_pipe2 (p, O_CLOEXEC);
  b.fd = p[0];
  c = spawn_child (blocks_forever, &b, 0);
  sys_close (p[0]);
  assert_true (fake_proc (k, c)->alive);
  assert_int_equal (sys_kill (c, SIGKILL), 0);
  assert_int_equal (sys_waitid (P_PID, (id_t)c, &si, WEXITED), 0);
  assert_int_equal (si.si_code, CLD_KILLED);
  assert_int_equal (si.si_status, SIGKILL);
  assert_int_equal (sys_write (p[1], "x", 1), -EPIPE); /* its read end went with it */
}

struct family
{
  pid_t grandchild;
  int fd;
};

static int
grandchild (void *arg)
{
  struct family *f = arg;
  char c;

  sys_read (f->fd, &c, 1);
  return 0;
}

static int
middle (void *arg)
{
  struct family *f = arg;

  f->grandchild = spawn_child (grandchild, f, 0);
  return 0; /* exits without waiting: the grandchild is orphaned */
}

static void
orphans_are_reparented_to_init_and_reaped_on_exit (void **state)
{
  struct fake_kernel *k = *state;
  struct family f;
  int p[2];
  pid_t m;

  sys_pipe2 (p, O_CLOEXEC);
  f.fd = p[0];
  m = spawn_child (middle, &f, 0);
  assert_true (fake_proc (k, m)->zombie);
  assert_int_equal (fake_proc (k, f.grandchild)->ppid, 1);
  sys_write (p[1], "x", 1);
  assert_null (fake_proc (k, f.grandchild)); /* exited, reaped by init */
  assert_non_null (fake_proc (k, m));        /* still waiting for its parent */
}

static void
pidfd_waits_signals_and_sees_exit (void **state)
{
  struct fake_kernel *k = *state;
  struct exec_arg e = { "/bin/sh", 1 };
  struct sys_clone_args a
      = { .flags = CLONE_PIDFD, .exit_signal = SIGCHLD, .fn = exec_child, .arg = &e };
  unsigned long long t0, t1;
  char st;
  siginfo_t si;
  pid_t c;

  fake_write_file (k, "/bin/sh", "ELF", 0755);
  c = sys_clone (&a);
  assert_true (a.pidfd >= 0);
  assert_int_equal (sys_proc_starttime (c, &t0, &st), 0);
  assert_int_equal (st, 'S');
  assert_int_equal (sys_pidfd_send_signal (a.pidfd, SIGTERM, 0), 0);
  assert_int_equal (sys_proc_starttime (c, &t1, &st), 0);
  assert_int_equal (st, 'Z');
  assert_int_equal (t0, t1);
  assert_int_equal (sys_waitid (P_PIDFD, (id_t)a.pidfd, &si, WEXITED), 0);
  assert_int_equal (si.si_pid, c);
  assert_int_equal (sys_pidfd_send_signal (a.pidfd, SIGTERM, 0), -ESRCH);
  assert_int_equal (sys_proc_starttime (c, &t1, &st), -ESRCH);
  int pfd = sys_pidfd_open (c, 0);
  assert_int_equal (pfd, -ESRCH);
}

static int
report_pid (void *arg)
{
  *(pid_t *)arg = sys_getpid ();
  return 0;
}

static void
new_pid_namespace_numbers_its_first_process_one (void **state)
{
  struct fake_kernel *k = *state;
  pid_t inner = 0, c;

  c = spawn_child (report_pid, &inner, CLONE_NEWPID);
  assert_int_equal (inner, 1);
  assert_true (c > 1);
  assert_int_equal (sys_unshare (CLONE_NEWPID), 0);
  assert_int_equal (sys_getpid (), fake_proc (k, self (state))->ns_pid);
  assert_false (fake_proc (k, self (state))->ns_id[FAKE_NS_PID]
                == fake_proc (k, self (state))->ns_for_children_id[FAKE_NS_PID]);
  spawn_child (report_pid, &inner, 0);
  assert_int_equal (inner, 1);
}

static void
unshare_and_setns_change_namespace_membership (void **state)
{
  struct fake_kernel *k = *state;
  pid_t me = self (state);
  unsigned long host_net = fake_proc (k, me)->ns_id[FAKE_NS_NET];
  int fd;

  fd = sys_openat (AT_FDCWD, "/proc/self/ns/net", O_RDONLY | O_CLOEXEC, 0);
  assert_true (fd >= 0);
  assert_int_equal (sys_unshare (CLONE_NEWNET | CLONE_NEWUTS), 0);
  assert_true (fake_proc (k, me)->ns_id[FAKE_NS_NET] != host_net);
  assert_int_equal (sys_sethostname ("ctr", 3), 0);
  assert_string_equal (fake_proc (k, me)->hostname, "ctr");
  assert_string_equal (fake_proc (k, 1)->hostname, "fakehost");
  assert_int_equal (sys_setns (fd, CLONE_NEWUTS), -EINVAL);
  assert_int_equal (sys_setns (fd, CLONE_NEWNET), 0);
  assert_int_equal (fake_proc (k, me)->ns_id[FAKE_NS_NET], host_net);
  unsigned long id = fake_ns_file (k, "/run/netns/x", FAKE_NS_NET);
  fd = open_rd ("/run/netns/x");
  assert_int_equal (sys_setns (fd, 0), 0);
  assert_int_equal (fake_proc (k, me)->ns_id[FAKE_NS_NET], id);
  char name[65];
  memset (name, 'a', sizeof name);
  assert_int_equal (sys_sethostname (name, 65), -EINVAL);
}

struct userns
{
  int go[2];
  int setuid_early, setuid_late, groups;
};

static int
userns_child (void *arg)
{
  struct userns *u = arg;
  char c;

  u->setuid_early = sys_setresuid (0, 0, 0);
  sys_read (u->go[0], &c, 1);
  u->groups = sys_setgroups (0, NULL);
  u->setuid_late = sys_setresuid (0, 0, 0);
  return 0;
}

static void
user_namespace_ids_need_the_maps_the_parent_writes (void **state)
{
  struct fake_kernel *k = *state;
  struct userns u = { 0 };
  char path[64];
  pid_t c;
  int fd;

  sys_pipe2 (u.go, O_CLOEXEC);
  c = spawn_child (userns_child, &u, CLONE_NEWUSER);
  assert_int_equal (u.setuid_early, -EINVAL);
  snprintf (path, sizeof path, "/proc/%d/uid_map", c);
  fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "0 100000 65536\n", 15), 15);
  sys_close (fd);
  fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "0 100000 65536\n", 15), -EPERM); /* only once */
  snprintf (path, sizeof path, "/proc/%d/setgroups", c);
  fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "deny", 4), 4);
  snprintf (path, sizeof path, "/proc/%d/gid_map", c);
  fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "0 100000 65536\n", 15), 15);
  sys_write (u.go[1], "g", 1);
  assert_int_equal (u.setuid_late, 0);
  assert_int_equal (u.groups, -EPERM); /* setgroups is denied */
  assert_string_equal (fake_proc (k, c)->uid_map, "0 100000 65536\n");
  assert_string_equal (fake_proc (k, c)->setgroups, "deny");
}

static void
credentials_limits_and_prctl_are_recorded (void **state)
{
  struct fake_kernel *k = *state;
  struct rlimit rl = { 64, 128 }, old;
  pid_t me = self (state);
  struct fake_proc *p;

  assert_int_equal (sys_prlimit (0, RLIMIT_NOFILE, &rl, &old), 0);
  assert_int_equal (old.rlim_cur, 1024);
  assert_int_equal (sys_prlimit (0, RLIMIT_NOFILE, &(struct rlimit){ 10, 5 }, NULL), -EINVAL);
  assert_int_equal (sys_prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  assert_int_equal (sys_prctl (PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
  assert_int_equal (sys_prctl (PR_CAPBSET_DROP, 21, 0, 0, 0), 0);
  assert_int_equal (sys_prctl (PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
  assert_int_equal (sys_setgroups (2, (gid_t[]){ 10, 20 }), 0);
  assert_int_equal (sys_setresgid (100, 100, 100), 0);
  assert_int_equal (sys_setresuid (1000, 1000, 1000), 0);
  assert_int_equal (sys_setresuid (0, 0, 0), -EPERM);
  p = fake_proc (k, me);
  assert_int_equal (p->rlimits[RLIMIT_NOFILE].rlim_max, 128);
  assert_true (p->no_new_privs);
  assert_false (p->dumpable);
  assert_false (p->cap_bset & (1ULL << 21));
  assert_int_equal (p->euid, 1000);
  assert_int_equal (p->egid, 100);
  assert_int_equal (p->n_groups, 2);
  assert_int_equal (sys_prctl (12345, 0, 0, 0, 0), -EINVAL);
}

static void
fifo_open_waits_for_the_other_side (void **state)
{
  struct fake_kernel *k = *state;
  int fd;

  assert_int_equal (sys_mknodat (AT_FDCWD, "/run/fifo", S_IFIFO | 0600, 0), 0);
  assert_int_equal (sys_openat (AT_FDCWD, "/run/fifo", O_WRONLY | O_NONBLOCK, 0), -ENXIO);
  assert_int_equal (sys_openat (AT_FDCWD, "/run/fifo", O_RDONLY, 0), -EDEADLK);
  fd = sys_openat (AT_FDCWD, "/run/fifo", O_RDWR | O_CLOEXEC, 0);
  assert_true (fd >= 0);
  assert_int_equal (sys_openat (AT_FDCWD, "/run/fifo", O_WRONLY | O_CLOEXEC, 0), fd + 1);
  struct stat st;
  fake_lstat (k, "/run/fifo", &st);
  assert_true (S_ISFIFO (st.st_mode));
}

/* ---- mounts ---- */

static void
bind_mounts_and_umount_change_the_mount_table (void **state)
{
  struct fake_kernel *k = *state;
  pid_t me = self (state);
  size_t base = fake_mount_count (k, me);
  const struct fake_mount *m;

  fake_mkdir_p (k, "/run/c1/rootfs/proc", 0755);
  assert_int_equal (sys_mount ("/run/c1/rootfs", "/run/c1/rootfs", NULL, MS_BIND | MS_REC, NULL),
                    0);
  assert_int_equal (sys_mount ("proc", "/run/c1/rootfs/proc", "proc", MS_NOSUID, NULL), 0);
  assert_int_equal (fake_mount_count (k, me), base + 2);
  m = fake_mount_find (k, me, "/run/c1/rootfs");
  assert_non_null (m);
  assert_string_equal (m->source, "/run/c1/rootfs");
  assert_string_equal (m->fstype, "tmpfs"); /* the bind source sits on /run */
  m = fake_mount_find (k, me, "/run/c1/rootfs/proc");
  assert_string_equal (m->fstype, "proc");
  assert_int_equal (m->flags, MS_NOSUID);
  assert_int_equal (sys_umount2 ("/run/c1/rootfs", 0), -EBUSY);
  assert_int_equal (sys_umount2 ("/run/c1", 0), -EINVAL);
  assert_int_equal (sys_umount2 ("/run/c1/rootfs", MNT_DETACH), 0);
  assert_int_equal (fake_mount_count (k, me), base);
  assert_null (fake_mount_find (k, me, "/run/c1/rootfs/proc"));
}

static void
mount_errors_and_remount_flags (void **state)
{
  struct fake_kernel *k = *state;
  pid_t me = self (state);

  fake_write_file (k, "/run/file", "", 0644);
  assert_int_equal (sys_mount ("tmpfs", "/run/none", "tmpfs", 0, NULL), -ENOENT);
  assert_int_equal (sys_mount ("tmpfs", "/run/file", "tmpfs", 0, NULL), -ENOTDIR);
  assert_int_equal (sys_mount ("x", "/run", "nosuchfs", 0, NULL), -ENODEV);
  assert_int_equal (sys_mount ("/missing", "/run/file", NULL, MS_BIND, NULL), -ENOENT);
  assert_int_equal (sys_mount ("/dev/null", "/run/file", NULL, MS_BIND, NULL), 0);
  assert_int_equal (sys_mount (NULL, "/run/file", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
  assert_true (fake_mount_find (k, me, "/run/file")->flags & MS_RDONLY);
  assert_int_equal (sys_mount (NULL, "/etc", NULL, MS_REMOUNT | MS_RDONLY, NULL), -EINVAL);
  assert_int_equal (sys_mount (NULL, "/etc", NULL, MS_PRIVATE, NULL), -EINVAL);
  assert_int_equal (sys_mount (NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL), 0);
  assert_int_equal (fake_mount_find (k, me, "/proc")->propagation, MS_PRIVATE);
}

static void
clone_newns_gets_a_private_copy_of_the_mount_table (void **state)
{
  struct fake_kernel *k = *state;
  pid_t me = self (state);
  size_t base = fake_mount_count (k, me);

  assert_int_equal (sys_unshare (CLONE_NEWNS), 0);
  fake_mkdir_p (k, "/mnt", 0755);
  assert_int_equal (sys_mount ("tmpfs", "/mnt", "tmpfs", 0, NULL), 0);
  assert_int_equal (fake_mount_count (k, me), base + 1);
  assert_int_equal (fake_mount_count (k, 1), base);
  assert_null (fake_mount_find (k, 1, "/mnt"));
  assert_false (fake_same_ns (k, me, 1, FAKE_NS_MNT));
}

static void
pivot_root_moves_root_and_puts_the_old_one_under_put_old (void **state)
{
  struct fake_kernel *k = *state;
  pid_t me = self (state);
  size_t host = fake_mount_count (k, 1);
  const struct fake_mount *m;

  fake_mkdir_p (k, "/run/c1/rootfs/.old", 0755);
  fake_mkdir_p (k, "/run/c1/rootfs/proc", 0755);
  sys_unshare (CLONE_NEWNS);
  sys_mount ("/run/c1/rootfs", "/run/c1/rootfs", NULL, MS_BIND | MS_REC, NULL);
  sys_mount ("proc", "/run/c1/rootfs/proc", "proc", 0, NULL);
  assert_int_equal (sys_pivot_root ("/run/c1/rootfs", "/run/c1/rootfs/.old"), -EINVAL); /* shared */
  sys_mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  assert_int_equal (sys_pivot_root ("/run/c1", "/run/c1/rootfs"), -EINVAL); /* not a mount */
  assert_int_equal (sys_pivot_root ("/run/c1/rootfs", "/etc"), -EINVAL);    /* old outside */
  assert_int_equal (sys_pivot_root ("/run/c1/rootfs", "/run/c1/rootfs/.old"), 0);
  assert_string_equal (fake_proc (k, me)->root_path, "/run/c1/rootfs");
  m = fake_mount_find (k, me, "/.old");
  assert_non_null (m);
  assert_true (m->is_initial_root);
  assert_non_null (fake_mount_find (k, me, "/.old/proc"));
  assert_string_equal (fake_mount_find (k, me, "/proc")->fstype, "proc");
  assert_int_equal (sys_umount2 ("/.old", MNT_DETACH), 0);
  assert_null (fake_mount_find (k, me, "/.old/proc"));
  assert_int_equal (fake_mount_count (k, me), 2);
  assert_int_equal (fake_mount_count (k, 1), host);
  assert_string_equal (fake_mount_find (k, 1, "/")->source, "/dev/root");
}

static void
pivot_root_dot_dot_then_detach_leaves_only_the_new_root (void **state)
{
  struct fake_kernel *k = *state;
  pid_t me = self (state);

  fake_mkdir_p (k, "/r/proc", 0755);
  sys_unshare (CLONE_NEWNS);
  sys_mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
  sys_mount ("/r", "/r", NULL, MS_BIND, NULL);
  sys_mount ("proc", "/r/proc", "proc", 0, NULL);
  assert_int_equal (sys_chdir ("/r"), 0);
  assert_int_equal (sys_pivot_root (".", "."), 0);
  assert_string_equal (fake_mount_find (k, me, "/proc")->fstype, "proc");
  assert_true (fake_mount_find (k, me, "/")->is_initial_root); /* old root on top */
  assert_int_equal (sys_umount2 (".", MNT_DETACH), 0);
  assert_string_equal (fake_mount_find (k, me, "/")->source, "/r");
  assert_int_equal (fake_mount_count (k, me), 2);
  assert_string_equal (fake_proc (k, me)->cwd_path, "/r");
}

static void
pivot_root_fails_on_an_initramfs_root (void **state)
{
  struct fake_kernel *k = with_personality (state, 6, 1, FAKE_CGROUP_V2, true);

  fake_mkdir_p (k, "/r/old", 0755);
  sys_unshare (CLONE_NEWNS);
  sys_mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  sys_mount ("/r", "/r", NULL, MS_BIND, NULL);
  assert_int_equal (sys_pivot_root ("/r", "/r/old"), -EINVAL);
  assert_int_equal (sys_chroot ("/r"), 0);
  assert_string_equal (fake_proc (k, self (state))->root_path, "/r");
}

static void
proc_masked_paths_exist_and_can_be_covered (void **state)
{
  struct fake_kernel *k = *state;
  pid_t me = self (state);

  assert_true (sys_openat (AT_FDCWD, "/proc/kcore", O_PATH | O_CLOEXEC, 0) >= 0);
  assert_int_equal (sys_mount ("/dev/null", "/proc/kcore", NULL, MS_BIND, NULL), 0);
  assert_int_equal (sys_mount ("tmpfs", "/proc/acpi", "tmpfs", MS_RDONLY, NULL), 0);
  assert_string_equal (fake_mount_find (k, me, "/proc/kcore")->source, "/dev/null");
  assert_true (fake_mount_find (k, me, "/proc/acpi")->flags & MS_RDONLY);
  assert_int_equal (open_rd ("/proc/nosuch"), -ENOENT);
}

/* ---- cgroups ---- */

static void
cgroup_v2_mkdir_populates_and_rmdir_is_busy_with_members (void **state)
{
  struct fake_kernel *k = *state;
  char *s;
  int fd;

  assert_string_equal (fake_mount_find (k, 1, "/sys/fs/cgroup")->fstype, "cgroup2");
  fd = sys_openat (AT_FDCWD, "/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "+memory +pids", 13), 13);
  assert_int_equal (sys_write (fd, "+nosuch", 7), -ENOENT);
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/sys/fs/cgroup/c1", 0755), 0);
  assert_true (fake_exists (k, "/sys/fs/cgroup/c1/memory.max"));
  assert_true (fake_exists (k, "/sys/fs/cgroup/c1/pids.max"));
  assert_false (fake_exists (k, "/sys/fs/cgroup/c1/cpu.max"));
  fd = sys_openat (AT_FDCWD, "/sys/fs/cgroup/c1/cgroup.procs", O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "0", 1), 1);
  assert_string_equal (fake_proc (k, self (state))->cgroup_path, "/c1");
  s = fake_read_file (k, "/sys/fs/cgroup/c1/cgroup.controllers");
  assert_string_equal (s, "memory pids\n");
  free (s);
  assert_int_equal (sys_unlinkat (AT_FDCWD, "/sys/fs/cgroup/c1", AT_REMOVEDIR), -EBUSY);
  fd = sys_openat (AT_FDCWD, "/sys/fs/cgroup/cgroup.procs", O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "0", 1), 1);
  assert_int_equal (sys_unlinkat (AT_FDCWD, "/sys/fs/cgroup/c1", AT_REMOVEDIR), 0);
  assert_false (fake_exists (k, "/sys/fs/cgroup/c1"));
}

static void
cgroup_v1_and_hybrid_seed_controller_hierarchies (void **state)
{
  struct fake_kernel *k = with_personality (state, 4, 19, FAKE_CGROUP_V1, false);
  const struct fake_mount *m = fake_mount_find (k, 1, "/sys/fs/cgroup/memory");

  assert_non_null (m);
  assert_string_equal (m->fstype, "cgroup");
  assert_string_equal (fake_mount_find (k, 1, "/sys/fs/cgroup")->fstype, "tmpfs");
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/sys/fs/cgroup/memory/c1", 0755), 0);
  assert_true (fake_exists (k, "/sys/fs/cgroup/memory/c1/memory.limit_in_bytes"));
  assert_true (fake_exists (k, "/sys/fs/cgroup/pids/pids.max"));
  assert_null (fake_mount_find (k, 1, "/sys/fs/cgroup/unified"));
  k = with_personality (state, 5, 4, FAKE_CGROUP_HYBRID, false);
  assert_string_equal (fake_mount_find (k, 1, "/sys/fs/cgroup/unified")->fstype, "cgroup2");
  assert_true (fake_exists (k, "/sys/fs/cgroup/freezer/cgroup.procs"));
}

/* ---- personalities ---- */

static void
old_kernels_lack_newer_calls (void **state)
{
  struct fake_kernel *k = with_personality (state, 5, 2, FAKE_CGROUP_V2, false);
  struct open_how how = { .flags = O_RDONLY };
  struct sys_clone_args a = { .flags = CLONE_NEWTIME, .exit_signal = SIGCHLD, .fn = exits_3 };
  int major, minor;

  assert_int_equal (sys_openat2 (AT_FDCWD, "/", &how, sizeof how), -ENOSYS);
  assert_int_equal (sys_close_range (3, ~0u, 0), -ENOSYS);
  assert_int_equal (sys_pidfd_open (1, 0), -ENOSYS);
  assert_int_equal (sys_clone (&a), -EINVAL);
  a.flags = CLONE_INTO_CGROUP;
  assert_int_equal (sys_clone (&a), -ENOSYS);
  assert_int_equal (sys_kernel_version (&major, &minor), 0);
  assert_int_equal (major * 100 + minor, 502);
  k = with_personality (state, 5, 10, FAKE_CGROUP_V2, false);
  assert_int_equal (sys_close_range (3, ~0u, CLOSE_RANGE_CLOEXEC), -EINVAL);
  assert_int_equal (sys_close_range (3, ~0u, 0), 0);
  assert_true (sys_openat2 (AT_FDCWD, "/", &how, sizeof how) >= 0);
  (void)k;
}

/* ---- journal and faults ---- */

static void
journal_records_every_call_in_order (void **state)
{
  struct fake_kernel *k = *state;
  size_t start = fake_journal_len (k);
  long i;

  sys_mkdirat (AT_FDCWD, "/j", 0755);
  sys_openat (AT_FDCWD, "/j/f", O_CREAT | O_WRONLY, 0644);
  sys_fcntl (3, F_SETLK, 0); /* not modelled */
  i = fake_journal_find (k, SYS_ID_mkdirat, start);
  assert_int_equal (i, (long)start);
  assert_int_equal (fake_journal_find (k, SYS_ID_openat, start), i + 1);
  assert_non_null (strstr (fake_journal_at (k, (size_t)i)->args, "/j"));
  assert_int_equal (fake_journal_at (k, (size_t)i + 1)->result, 3);
  assert_int_equal (fake_journal_at (k, (size_t)i + 2)->result, -ENOSYS);
  assert_int_equal (fake_journal_at (k, (size_t)i)->pid, self (state));
  assert_int_equal (fake_journal_find (k, SYS_ID_pivot_root, start), -1);
}

static void
journal_orders_a_childs_calls_inside_the_parents_clone (void **state)
{
  struct fake_kernel *k = *state;
  pid_t inner, c;
  long clone_at, getpid_at;

  c = spawn_child (report_pid, &inner, 0);
  clone_at = fake_journal_find (k, SYS_ID_clone, 0);
  getpid_at = fake_journal_find (k, SYS_ID_getpid, 0);
  assert_true (clone_at >= 0 && getpid_at > clone_at);
  assert_int_equal (fake_journal_at (k, (size_t)getpid_at)->pid, c);
  assert_int_equal (fake_journal_at (k, (size_t)clone_at)->result, c);
}

static void
nth_fault_fires_once_without_side_effects (void **state)
{
  struct fake_kernel *k = *state;

  fake_fail_nth (k, 2, false, EIO, 0);
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/a", 0755), 0);
  assert_int_equal (sys_getpid (), fake_proc (k, self (state))->ns_pid); /* not counted */
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/b", 0755), -EIO);
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/c", 0755), 0);
  assert_false (fake_exists (k, "/b"));
  assert_int_equal (fake_faults_hit (k), 1);
  assert_true (fake_journal_at (k, (size_t)fake_journal_find (k, SYS_ID_mkdirat, 0) + 2)->injected);
}

static void
persistent_fault_with_mask_fails_only_masked_calls (void **state)
{
  struct fake_kernel *k = *state;

  fake_fail_nth (k, 1, true, -EPERM, SYS_MASK (mount));
  assert_int_equal (sys_mkdirat (AT_FDCWD, "/m", 0755), 0);
  assert_int_equal (sys_mount ("tmpfs", "/m", "tmpfs", 0, NULL), -EPERM);
  assert_int_equal (sys_mount ("tmpfs", "/m", "tmpfs", 0, NULL), -EPERM);
  assert_int_equal (fake_faults_hit (k), 2);
  assert_null (fake_mount_find (k, self (state), "/m"));
  fake_fail_nth (k, 0, false, 0, 0);
  assert_int_equal (sys_mount ("tmpfs", "/m", "tmpfs", 0, NULL), 0);
}

static void
faulted_close_still_releases_the_fd (void **state)
{
  struct fake_kernel *k = *state;
  int fd = open_rd ("/etc");

  fake_fail_nth (k, 1, false, EINTR, SYS_MASK (close));
  assert_int_equal (sys_close (fd), -EINTR);
  assert_int_equal (fake_open_fds (k, self (state)), 3);
}

static void
faults_reach_calls_made_by_children (void **state)
{
  struct fake_kernel *k = *state;
  pid_t inner = 0;
  struct exec_arg e = { "/bin/sh", 1 };

  fake_write_file (k, "/bin/sh", "ELF", 0755);
  fake_fail_nth (k, 1, false, EAGAIN, SYS_MASK (execve));
  spawn_child (exec_child, &e, 0);
  assert_int_equal (e.r, -EAGAIN);
  spawn_child (report_pid, &inner, 0);
  assert_int_equal (fake_faults_hit (k), 1);
}

static void
sysctl_writes_are_recorded_per_network_namespace (void **state)
{
  struct fake_kernel *k = *state;
  int fd;

  sys_unshare (CLONE_NEWNET);
  fd = sys_openat (AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC, 0);
  assert_true (fd >= 0);
  assert_int_equal (sys_write (fd, "1\n", 2), 2);
  assert_string_equal (fake_sysctl (k, self (state), "net/ipv4/ip_forward"), "1");
  assert_null (fake_sysctl (k, 1, "net/ipv4/ip_forward"));
  fd = sys_openat (AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_write (fd, "-999", 4), 4);
  assert_int_equal (fake_proc (k, self (state))->oom_score_adj, -999);
}

int
main (void)
{
#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)
  const struct CMUnitTest tests[] = {
    T (created_file_reads_back_with_mode_minus_umask),
    T (open_errors_match_linux),
    T (trunc_and_append_change_content),
    T (ftruncate_shrinks_and_zero_fills_through_a_writable_fd_only),
    T (symlinks_are_followed_except_with_nofollow),
    T (symlink_loop_gives_eloop),
    T (dotdot_cannot_climb_above_process_root),
    T (openat2_in_root_keeps_absolute_symlinks_and_dotdot_inside),
    T (openat2_beneath_and_no_symlinks_reject_escapes),
    T (proc_self_fd_is_a_magic_link_to_the_open_file),
    T (unlink_rmdir_rename_follow_linux_errors),
    T (rename_replaces_target_atomically),
    T (getdents_returns_linux_dirent64_records),
    T (getdents_skips_nothing_while_entries_are_removed),
    T (fstatat_fills_type_owner_and_size),
    T (fds_take_the_lowest_number_and_keep_cloexec),
    T (close_range_closes_or_marks_cloexec),
    T (pipe_gives_eof_once_writers_close_and_epipe_without_readers),
    T (read_on_empty_pipe_with_own_writer_deadlocks),
    T (fds_are_back_to_baseline_after_a_round_trip),
    T (unix_socket_connect_accept_carries_bytes_both_ways),
    T (send_fd_queues_the_file_for_the_peer),
    T (pty_peer_needs_unlock_and_ctty_needs_a_session),
    T (flock_conflicts_between_descriptions_and_releases_on_close),
    T (blocking_flock_waits_until_the_holder_unlocks),
    T (clone_child_runs_first_and_waits_on_its_parent),
    T (a_child_can_wait_for_its_own_child),
    T (exec_retires_the_child_and_closes_cloexec_fds),
    T (exec_fails_for_missing_or_non_executable_files),
    T (waitid_reports_signals_nohang_and_echild),
    T (caught_signals_do_not_kill_an_execed_process),
    T (sigkill_abandons_a_child_blocked_in_runtime_code),
    T (orphans_are_reparented_to_init_and_reaped_on_exit),
    T (pidfd_waits_signals_and_sees_exit),
    T (new_pid_namespace_numbers_its_first_process_one),
    T (unshare_and_setns_change_namespace_membership),
    T (user_namespace_ids_need_the_maps_the_parent_writes),
    T (credentials_limits_and_prctl_are_recorded),
    T (fifo_open_waits_for_the_other_side),
    T (bind_mounts_and_umount_change_the_mount_table),
    T (mount_errors_and_remount_flags),
    T (clone_newns_gets_a_private_copy_of_the_mount_table),
    T (pivot_root_moves_root_and_puts_the_old_one_under_put_old),
    T (pivot_root_dot_dot_then_detach_leaves_only_the_new_root),
    T (pivot_root_fails_on_an_initramfs_root),
    T (proc_masked_paths_exist_and_can_be_covered),
    T (cgroup_v2_mkdir_populates_and_rmdir_is_busy_with_members),
    T (cgroup_v1_and_hybrid_seed_controller_hierarchies),
    T (old_kernels_lack_newer_calls),
    T (journal_records_every_call_in_order),
    T (journal_orders_a_childs_calls_inside_the_parents_clone),
    T (nth_fault_fires_once_without_side_effects),
    T (persistent_fault_with_mask_fails_only_masked_calls),
    T (faulted_close_still_releases_the_fd),
    T (faults_reach_calls_made_by_children),
    T (sysctl_writes_are_recorded_per_network_namespace),
  };
#undef T
  return cmocka_run_group_tests (tests, NULL, NULL);
}
