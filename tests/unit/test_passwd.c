/* test_passwd.c: docker's user specs resolved in a container's /etc/passwd and /etc/group
 * (core/passwd.c) on the fake kernel: names, numbers, explicit groups, supplementary groups
 * from the member lists, the host's files never read, and a fault loop. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "core/cleanup.h"
#include "core/passwd.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"
#include "sys/sys.h"

#define PASSWD "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home:/bin/sh\nbroken line\n"
#define GROUP "root:x:0:\nstaff:x:50:bob,app\nwheel:x:10:app\nother:x:60:bob\napp:x:1001:\n"

static struct fake_kernel *
kernel_with_rootfs (int *rootfd)
{
  struct fake_kernel *k = fake_kernel_new (NULL);

  assert_int_equal (fake_write_file (k, "/r/etc/passwd", PASSWD, 0644), 0);
  assert_int_equal (fake_write_file (k, "/r/etc/group", GROUP, 0644), 0);
  /* the host's files list other ids under the same names: never read */
  assert_int_equal (
      fake_write_file (k, "/etc/passwd", "app:x:7:7::/:/bin/sh\nbob:x:8:8::/:\n", 0644), 0);
  assert_int_equal (fake_write_file (k, "/etc/group", "staff:x:9:app\n", 0644), 0);
  *rootfd = sys_openat (AT_FDCWD, "/r", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  assert_true (*rootfd >= 0);
  return k;
}

static void
specs_resolve_as_docker_does (void **state)
{
  static const struct
  {
    const char *spec;
    uid_t uid;
    gid_t gid;
    size_t n_sgids;
  } cases[] = {
    { "app", 1000, 1001, 2 },     /* its passwd group, and staff and wheel name it */
    { "1000", 1000, 1001, 2 },    /* a listed number is that user */
    { "app:wheel", 1000, 10, 0 }, /* an explicit group: no supplementary ones (runc) */
    { "app:77", 1000, 77, 0 },     { "1000:5", 1000, 5, 0 }, { "4242", 4242, 0, 0 },
    { "4242:staff", 4242, 50, 0 }, { "root", 0, 0, 0 },      { "", 0, 0, 0 },
  };
  int rootfd;
  struct fake_kernel *k = kernel_with_rootfs (&rootfd);

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      struct user_ids ids;
      if (user_resolve (&ids, cases[i].spec, rootfd, &err) < 0)
        fail_msg ("%s: %s", cases[i].spec, err->msg);
      assert_int_equal (ids.uid, cases[i].uid);
      assert_int_equal (ids.gid, cases[i].gid);
      assert_int_equal (ids.n_sgids, cases[i].n_sgids);
      if (ids.n_sgids)
        {
          assert_int_equal (ids.sgids[0], 50);
          assert_int_equal (ids.sgids[1], 10);
        }
      user_ids_free (&ids);
    }
  fake_kernel_free (k);
}

static void
missing_names_are_errors_naming_them (void **state)
{
  static const struct
  {
    const char *spec, *msg;
  } cases[] = {
    { "bob", "user \"bob\": no such user in the container's /etc/passwd" },
    { "app:nogroup", "user \"app:nogroup\": no group \"nogroup\" in the container's /etc/group" },
  };
  int rootfd;
  struct fake_kernel *k = kernel_with_rootfs (&rootfd);

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      _cleanup_err_ struct focker_err *err = NULL;
      struct user_ids ids;
      assert_int_equal (user_resolve (&ids, cases[i].spec, rootfd, &err), -ENOENT);
      assert_string_equal (err->msg, cases[i].msg);
    }
  fake_kernel_free (k);
}

/* A rootfs whose /etc/passwd is a symlink out of it still reads its own (absent) file. */
static void
files_are_read_inside_the_root (void **state)
{
  _cleanup_err_ struct focker_err *err = NULL;
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct user_ids ids;
  int rootfd;

  (void)state;
  assert_int_equal (fake_write_file (k, "/other/passwd", "bob:x:8:8::/:\n", 0644), 0);
  assert_int_equal (fake_mkdir_p (k, "/r/etc", 0755), 0);
  fake_symlink (k, "../../other/passwd", "/r/etc/passwd");
  rootfd = sys_openat (AT_FDCWD, "/r", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  assert_int_equal (user_resolve (&ids, "bob", rootfd, &err), -ENOENT);
  assert_non_null (strstr (err->msg, "user \"bob\": read the container's /etc/passwd"));
  /* a number needs no passwd */
  assert_int_equal (user_resolve (&ids, "8", rootfd, NULL), 0);
  assert_int_equal (ids.gid, 0);
  fake_kernel_free (k);
}

static int
resolve_run (struct fx_fault *f, void *ctx)
{
  _cleanup_err_ struct focker_err *err = NULL;
  int rootfd;
  struct fake_kernel *k = kernel_with_rootfs (&rootfd);
  pid_t self = fake_current_pid (k);
  size_t fds = fake_open_fds (k, self);
  struct user_ids ids = { 0 };
  int r;

  (void)ctx;
  fx_fault_arm (f, k);
  r = user_resolve (&ids, "app", rootfd, &err);
  fx_fault_disarm (f);
  assert_int_equal (fake_open_fds (k, self), fds);
  if (r < 0)
    {
      assert_non_null (err);
      assert_int_equal (err->code, r);
      assert_non_null (strstr (err->msg, "user \"app\": read the container's /etc/"));
    }
  else
    {
      assert_int_equal (ids.gid, 1001);
      assert_int_equal (ids.n_sgids, 2);
    }
  user_ids_free (&ids);
  fake_kernel_free (k);
  return r;
}

static void
resolve_survives_every_fault (void **state)
{
  (void)state;
  assert_true (fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, resolve_run, NULL) > 2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (specs_resolve_as_docker_does),
    cmocka_unit_test (missing_names_are_errors_naming_them),
    cmocka_unit_test (files_are_read_inside_the_root),
    cmocka_unit_test (resolve_survives_every_fault),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
