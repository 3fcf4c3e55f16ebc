/* test_contract.c: the same test bodies against the fake kernel and the real one.
 *
 * Each body builds its fixture through the seam under a base directory and asserts on what
 * it can observe through the seam, so it means the same thing on both backends.  Every body
 * runs three times: on the fake, on sys_linux in a temporary directory (no privilege needed),
 * and on sys_linux with openat2 failing with ENOSYS (what a kernel before 5.6 says), which
 * drives the fallback path walker.  If the fake drifts from the kernel, one of the runs fails. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/rootfs.h"
#include "core/unpack.h"
#include "tests/unit/tarbuild.h"
#include "sys-fake/fake.h"

enum backend
{
  BACKEND_FAKE,
  BACKEND_LINUX,
  BACKEND_LINUX_NO_OPENAT2,
};

struct env
{
  enum backend backend;
  struct fake_kernel *k;
  char base[256];
};

static const char *const backend_names[] = { "fake", "linux", "linux without openat2" };

static void
env_open (struct env *e, enum backend b)
{
  memset (e, 0, sizeof *e);
  e->backend = b;
  if (b == BACKEND_FAKE)
    {
      e->k = fake_kernel_new (NULL);
      strcpy (e->base, "/work");
      assert_int_equal (sys_mkdirat (AT_FDCWD, e->base, 0755), 0);
      return;
    }
  strcpy (e->base, "/tmp/focker-contract.XXXXXX");
  assert_non_null (mkdtemp (e->base));
  sys = b == BACKEND_LINUX ? &sys_linux
                           : sys_fault_wrap (&sys_linux, 1, 1, ENOSYS, SYS_MASK (openat2));
}

static void
env_close (struct env *e)
{
  if (e->backend == BACKEND_FAKE)
    {
      fake_kernel_free (e->k);
      sys = &sys_linux;
      return;
    }
  sys = &sys_linux;
  assert_int_equal (rm_rf_at (AT_FDCWD, e->base), 0);
}

static int
env_dir (struct env *e)
{
  int fd = sys_openat (AT_FDCWD, e->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  assert_true (fd >= 0);
  return fd;
}

static void
put (int dirfd, const char *path, const char *content)
{
  struct focker_err *err = NULL;
  int r = write_file_atomic_at (dirfd, path, content, strlen (content), 0644, false, &err);
  if (r < 0)
    fail_msg ("write %s: %s", path, err->msg);
}

static char *
get_fd (int fd)
{
  static char buf[256];
  ssize_t n = sys_read (fd, buf, sizeof buf - 1);
  assert_true (n >= 0);
  buf[n] = '\0';
  return buf;
}

/* The same body, on every backend. */
#define CONTRACT(name)                                                                             \
  static void name##_body (struct env *e);                                                         \
  static void name (void **state)                                                                  \
  {                                                                                                \
    (void)state;                                                                                   \
    for (int b = BACKEND_FAKE; b <= BACKEND_LINUX_NO_OPENAT2; b++)                                 \
      {                                                                                            \
        struct env e;                                                                              \
        env_open (&e, (enum backend)b);                                                            \
        print_message ("  on %s\n", backend_names[b]);                                             \
        name##_body (&e);                                                                          \
        env_close (&e);                                                                            \
      }                                                                                            \
  }                                                                                                \
  static void name##_body (struct env *e)

CONTRACT (open_in_root_never_leaves_the_root)
{
  _cleanup_close_ int base = env_dir (e);
  _cleanup_close_ int root = -1;

  assert_int_equal (mkdir_p_at (base, "root/etc", 0755, NULL), 0);
  assert_int_equal (mkdir_p_at (base, "etc", 0755, NULL), 0);
  put (base, "etc/marker", "outside");
  put (base, "root/etc/marker", "inside");
  assert_int_equal (sys_symlinkat ("/../../etc", base, "root/abs"), 0);
  assert_int_equal (sys_symlinkat ("../../../etc", base, "root/rel"), 0);
  root = sys_openat (base, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  assert_true (root >= 0);
  for (const char *const *p
       = (const char *const[]){ "abs/marker", "rel/marker", "/../etc/marker", "../../etc/marker",
                                "etc/../../etc/marker", NULL };
       *p; p++)
    {
      _cleanup_close_ int fd = rootfs_open_in_root (root, *p, O_RDONLY);
      if (fd < 0)
        fail_msg ("%s: open_in_root(%s) = %d", backend_names[e->backend], *p, fd);
      assert_string_equal (get_fd (fd), "inside");
    }
}

CONTRACT (open_in_root_reports_missing_and_loops)
{
  _cleanup_close_ int base = env_dir (e);
  _cleanup_close_ int root = -1;

  assert_int_equal (mkdir_p_at (base, "root", 0755, NULL), 0);
  assert_int_equal (sys_symlinkat ("loop2", base, "root/loop1"), 0);
  assert_int_equal (sys_symlinkat ("loop1", base, "root/loop2"), 0);
  root = sys_openat (base, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  assert_int_equal (rootfs_open_in_root (root, "missing/file", O_RDONLY), -ENOENT);
  assert_int_equal (rootfs_open_in_root (root, "loop1", O_RDONLY), -ELOOP);
}

CONTRACT (ensure_in_root_creates_through_inner_symlinks_only)
{
  _cleanup_close_ int base = env_dir (e);
  _cleanup_close_ int root = -1, fd = -1;
  struct stat st;

  assert_int_equal (mkdir_p_at (base, "root", 0755, NULL), 0);
  assert_int_equal (sys_symlinkat ("/../../outside", base, "root/evil"), 0);
  root = sys_openat (base, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  fd = rootfs_ensure_in_root (root, "/evil/sub/dir", false, NULL);
  assert_true (fd >= 0);
  assert_int_equal (sys_fstatat (base, "root/outside/sub/dir", &st, 0), 0);
  assert_true (S_ISDIR (st.st_mode));
  assert_int_equal (sys_fstatat (base, "outside", &st, 0), -ENOENT);
  sys_close (TAKE_FD (fd));
  fd = rootfs_ensure_in_root (root, "/etc/hostname", true, NULL);
  assert_true (fd >= 0);
  assert_int_equal (sys_fstatat (base, "root/etc/hostname", &st, 0), 0);
  assert_true (S_ISREG (st.st_mode));
}

CONTRACT (rm_rf_does_not_follow_symlinks)
{
  _cleanup_close_ int base = env_dir (e);
  struct stat st;

  assert_int_equal (mkdir_p_at (base, "t/d/e", 0755, NULL), 0);
  assert_int_equal (mkdir_p_at (base, "keep", 0755, NULL), 0);
  put (base, "keep/precious", "x");
  put (base, "t/f", "x");
  put (base, "t/d/e/g", "x");
  assert_int_equal (sys_symlinkat ("../keep", base, "t/link"), 0);
  assert_int_equal (rm_rf_at (base, "t"), 0);
  assert_int_equal (sys_fstatat (base, "t", &st, AT_SYMLINK_NOFOLLOW), -ENOENT);
  assert_int_equal (sys_fstatat (base, "keep/precious", &st, 0), 0);
  assert_int_equal (rm_rf_at (base, "t"), 0); /* missing is fine */
}

CONTRACT (atomic_write_replaces_and_leaves_no_temp)
{
  _cleanup_close_ int base = env_dir (e);
  _cleanup_free_ char *text = NULL;
  struct stat st;

  put (base, "state.json", "one");
  put (base, "state.json", "two");
  assert_int_equal (read_file_at (&text, NULL, base, "state.json", 100, NULL), 0);
  assert_string_equal (text, "two");
  assert_int_equal (sys_fstatat (base, ".state.json.tmp", &st, 0), -ENOENT);
}

CONTRACT (mkdir_p_refuses_a_file_in_the_way)
{
  _cleanup_close_ int base = env_dir (e);
  struct focker_err *err = NULL;

  put (base, "file", "x");
  assert_int_equal (mkdir_p_at (base, "a/b/c", 0755, NULL), 0);
  assert_int_equal (mkdir_p_at (base, "a/b/c", 0755, NULL), 0);
  assert_int_equal (mkdir_p_at (base, "file/sub", 0755, &err), -ENOTDIR);
  assert_non_null (err);
  focker_err_free (err);
}

CONTRACT (unix_socket_handshake_and_eof)
{
  _cleanup_close_ int base = env_dir (e);
  _cleanup_close_ int l = -1, c = -1, a = -1;
  char buf[8];

  l = sys_unix_listen (base, "s.sock");
  assert_true (l >= 0);
  assert_int_equal (sys_unix_listen (base, "s.sock"), -EADDRINUSE);
  c = sys_unix_connect (base, "s.sock");
  assert_true (c >= 0);
  a = sys_accept (l);
  assert_true (a >= 0);
  assert_int_equal (sys_write (c, "S", 1), 1);
  assert_int_equal (sys_read (a, buf, sizeof buf), 1);
  assert_int_equal (buf[0], 'S');
  sys_close (TAKE_FD (a));
  assert_int_equal (sys_read (c, buf, sizeof buf), 0);
  assert_int_equal (sys_unix_connect (base, "none.sock"), -ENOENT);
}

static int
child_exit_7 (void *arg)
{
  (void)arg;
  return 7;
}

CONTRACT (clone_child_status_is_reported_once)
{
  struct sys_clone_args ca = { .exit_signal = SIGCHLD, .fn = child_exit_7 };
  siginfo_t info;
  pid_t pid;

  (void)e;
  pid = sys_clone (&ca);
  assert_true (pid > 0);
  memset (&info, 0, sizeof info);
  assert_int_equal (sys_waitid (P_PID, (id_t)pid, &info, WEXITED), 0);
  assert_int_equal (info.si_pid, pid);
  assert_int_equal (info.si_code, CLD_EXITED);
  assert_int_equal (info.si_status, 7);
  assert_int_equal (sys_waitid (P_PID, (id_t)pid, &info, WEXITED), -ECHILD);
  assert_int_equal (sys_kill (pid, 0), -ESRCH);
}

CONTRACT (pipe_eof_only_when_every_writer_is_closed)
{
  int fds[2];
  char c;
  int dup;

  (void)e;
  assert_int_equal (sys_pipe2 (fds, O_CLOEXEC), 0);
  dup = sys_fcntl (fds[1], F_DUPFD_CLOEXEC, 10);
  assert_true (dup >= 10);
  assert_int_equal (sys_fcntl (dup, F_GETFD, 0) & FD_CLOEXEC, FD_CLOEXEC);
  sys_close (fds[1]);
  assert_int_equal (sys_write (dup, "x", 1), 1);
  assert_int_equal (sys_read (fds[0], &c, 1), 1);
  sys_close (dup);
  assert_int_equal (sys_read (fds[0], &c, 1), 0);
  sys_close (fds[0]);
}

/* Unpack a layer on either kernel: what needs no privilege (files, dirs, symlinks, hard
 * links, modes, times, owner = ourselves), and a planted symlink refused on both. */
static int
unpack_into (int base, const char *dir, struct tarb *t, struct focker_err **err)
{
  _cleanup_close_ int dfd = -1, src = -1;
  char diff[DIGEST_LEN + 1];
  const char *buf;
  size_t len;

  assert_int_equal (sys_mkdirat (base, dir, 0755), 0);
  buf = tarb_end (t, &len);
  src = sys_openat (base, "layer.tar", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true (src >= 0);
  assert_int_equal (write_all (src, buf, len), 0);
  sys_close (src);
  src = sys_openat (base, "layer.tar", O_RDONLY | O_CLOEXEC, 0);
  dfd = sys_openat (base, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  return unpack_layer (dfd, src, diff, err);
}

CONTRACT (unpack_makes_entries_and_refuses_planted_symlinks)
{
  _cleanup_close_ int base = env_dir (e);
  _cleanup_close_ int fd = -1;
  _cleanup_err_ struct focker_err *err = NULL;
  uid_t uid = e->backend == BACKEND_FAKE ? 0 : getuid ();
  gid_t gid = e->backend == BACKEND_FAKE ? 0 : getgid ();
  struct tarb *t = tarb_new (TARB_GZIP);
  struct stat st, st2;
  char link[64];
  ssize_t n;

  tarb_dir (t, "d", 0750, 5000);
  tarb_file_owned (t, "d/f", "content", 0640, uid, gid, 6000);
  tarb_symlink (t, "d/l", "f");
  tarb_hardlink (t, "d/h", "d/f");
  if (unpack_into (base, "ok", t, &err) < 0)
    fail_msg ("%s: unpack: %s", backend_names[e->backend], err->msg);
  tarb_free (t);
  assert_int_equal (sys_fstatat (base, "ok/d", &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal (st.st_mode, S_IFDIR | 0750);
  assert_int_equal (st.st_mtim.tv_sec, 5000);
  assert_int_equal (sys_fstatat (base, "ok/d/f", &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal (st.st_mode, S_IFREG | 0640);
  assert_int_equal (st.st_mtim.tv_sec, 6000);
  assert_int_equal (sys_fstatat (base, "ok/d/h", &st2, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal (st2.st_ino, st.st_ino);
  n = sys_readlinkat (base, "ok/d/l", link, sizeof link);
  assert_int_equal (n, 1);
  fd = sys_openat (base, "ok/d/h", O_RDONLY | O_CLOEXEC, 0);
  assert_string_equal (get_fd (fd), "content");

  assert_int_equal (sys_mkdirat (base, "outside", 0755), 0);
  t = tarb_new (TARB_NONE);
  tarb_symlink (t, "l", "../outside");
  tarb_file (t, "l/evil", "x", 0644);
  assert_true (unpack_into (base, "bad", t, &err) < 0);
  tarb_free (t);
  assert_non_null (strstr (err->msg, "\"l/evil\""));
  assert_int_equal (sys_fstatat (base, "outside/evil", &st, AT_SYMLINK_NOFOLLOW), -ENOENT);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (open_in_root_never_leaves_the_root),
    cmocka_unit_test (unpack_makes_entries_and_refuses_planted_symlinks),
    cmocka_unit_test (open_in_root_reports_missing_and_loops),
    cmocka_unit_test (ensure_in_root_creates_through_inner_symlinks_only),
    cmocka_unit_test (rm_rf_does_not_follow_symlinks),
    cmocka_unit_test (atomic_write_replaces_and_leaves_no_temp),
    cmocka_unit_test (mkdir_p_refuses_a_file_in_the_way),
    cmocka_unit_test (unix_socket_handshake_and_eof),
    cmocka_unit_test (clone_child_status_is_reported_once),
    cmocka_unit_test (pipe_eof_only_when_every_writer_is_closed),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
