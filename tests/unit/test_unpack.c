/* test_unpack.c: the layer unpacker on the fake kernel.
 *
 * Tar streams are built in memory (tarbuild.c), put in the fake VFS as /src.tar and unpacked
 * into /layer.  Assertions are on the fake VFS: entry types, modes, owners, times, xattrs,
 * hard links, the overlayfs form of every OCI whiteout rule, and, for every hostile archive,
 * an error naming the entry and nothing changed outside /layer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <cmocka.h>
#include "core/cleanup.h"
#include "core/digest.h"
#include "core/tar_write.h"
#include "core/unpack.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"
#include "tests/unit/tarbuild.h"
#include "tests/unit/fixture.h"

#define LAYER "/layer"
#define SRC "/src.tar"

static struct fake_kernel *
kernel (const struct fake_personality *p)
{
  struct fake_kernel *k = fake_kernel_new (p);

  assert_int_equal (fake_mkdir_p (k, LAYER, 0700), 0);
  assert_int_equal (fake_write_file (k, "/outside/secret", "keep", 0600), 0);
  assert_int_equal (fake_write_file (k, SRC, "", 0600), 0);
  return k;
}

/* Unpack t into /layer; returns the result, *err set on failure. */
static int
unpack (struct tarb *t, char diff[DIGEST_LEN + 1], struct focker_err **err)
{
  size_t len;
  const char *buf = tarb_end (t, &len);
  int dirfd, srcfd, r;

  put_bytes (SRC, buf, len);
  dirfd = sys_openat (AT_FDCWD, LAYER, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  srcfd = sys_openat (AT_FDCWD, SRC, O_RDONLY | O_CLOEXEC, 0);
  assert_true (dirfd >= 0 && srcfd >= 0);
  r = unpack_layer (dirfd, srcfd, diff, err);
  sys_close (dirfd);
  sys_close (srcfd);
  return r;
}

static void
expect_ok (struct tarb *t)
{
  _cleanup_err_ struct focker_err *err = NULL;
  char diff[DIGEST_LEN + 1];

  if (unpack (t, diff, &err) < 0)
    fail_msg ("unpack: %s", err->msg);
}

static void
expect_mode (struct fake_kernel *k, const char *path, mode_t mode)
{
  struct stat st;

  assert_int_equal (fake_lstat (k, path, &st), 0);
  assert_int_equal (st.st_mode, mode);
}

static void
expect_content (struct fake_kernel *k, const char *path, const char *want)
{
  char *got = fake_read_file (k, path);

  if (got == NULL)
    fail_msg ("%s: missing", path);
  assert_string_equal (got, want);
  free (got);
}

static bool
is_whiteout (struct fake_kernel *k, const char *path)
{
  struct stat st;

  return fake_lstat (k, path, &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0);
}

static bool
is_opaque (struct fake_kernel *k, const char *path)
{
  char *v = fake_getxattr (k, path, "trusted.overlay.opaque");
  bool yes = v && strcmp (v, "y") == 0;

  free (v);
  return yes;
}

static void
unpacks_every_entry_type (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  struct tarb *t = tarb_new (TARB_NONE);
  char diff[DIGEST_LEN + 1], want[DIGEST_LEN + 1];
  _cleanup_err_ struct focker_err *err = NULL;
  const char *plain;
  size_t len;
  struct stat st;

  tarb_dir (t, "./", 0755, 500);
  tarb_dir (t, "etc/", 0750, 600);
  tarb_file_owned (t, "etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644, 0, 0, 700);
  tarb_file_owned (t, "bin/su", "ELF", 04755, 1000, 100, 800);
  tarb_symlink (t, "bin/sh", "/bin/busybox");
  tarb_hardlink (t, "bin/su2", "bin/su");
  tarb_node (t, "dev/null", S_IFCHR, makedev (1, 3));
  tarb_node (t, "dev/sda", S_IFBLK, makedev (8, 0));
  tarb_node (t, "run/fifo", S_IFIFO, 0);
  tarb_xattr_file (t, "bin/ping", "ELF", "security.capability", "cap");
  tarb_file (t, "usr/lib/x", "x", 0644);
  tarb_dir (t, "usr", 0700, 900); /* after its children: only its metadata is applied */
  assert_int_equal (unpack (t, diff, &err), 0);

  expect_mode (k, LAYER, S_IFDIR | 0755);
  expect_mode (k, LAYER "/etc", S_IFDIR | 0750);
  assert_int_equal (fake_lstat (k, LAYER "/etc", &st), 0);
  assert_int_equal (st.st_mtim.tv_sec, 600); /* set after its children were made */
  expect_content (k, LAYER "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  assert_int_equal (fake_lstat (k, LAYER "/etc/passwd", &st), 0);
  assert_int_equal (st.st_mtim.tv_sec, 700);
  assert_int_equal (fake_lstat (k, LAYER "/bin/su", &st), 0);
  assert_int_equal (st.st_mode, S_IFREG | 04755); /* set-id bits survive the chown */
  assert_int_equal (st.st_uid, 1000);
  assert_int_equal (st.st_gid, 100);
  expect_mode (k, LAYER "/bin", S_IFDIR | 0755); /* made implicitly */
  expect_mode (k, LAYER "/usr", S_IFDIR | 0700);
  assert_int_equal (fake_lstat (k, LAYER "/usr", &st), 0);
  assert_int_equal (st.st_mtim.tv_sec, 900);
  expect_content (k, LAYER "/usr/lib/x", "x");
  assert_int_equal (fake_lstat (k, LAYER "/bin/sh", &st), 0);
  assert_true (S_ISLNK (st.st_mode));
  assert_true (fake_same_inode (k, LAYER "/bin/su2", LAYER "/bin/su"));
  assert_int_equal (fake_lstat (k, LAYER "/dev/null", &st), 0);
  assert_int_equal (st.st_mode, S_IFCHR | 0640);
  assert_int_equal (st.st_rdev, makedev (1, 3));
  expect_mode (k, LAYER "/dev/sda", S_IFBLK | 0640);
  expect_mode (k, LAYER "/run/fifo", S_IFIFO | 0640);
  char *cap = fake_getxattr (k, LAYER "/bin/ping", "security.capability");
  assert_string_equal (cap, "cap");
  free (cap);

  plain = tarb_plain (t, &len);
  digest_buffer (plain, len, want);
  assert_string_equal (diff, want);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  tarb_free (t);
  fake_kernel_free (k);
}

static void
compressed_layers_give_the_uncompressed_diff_id (void **state)
{
  for (int f = TARB_GZIP; f <= TARB_ZSTD; f++)
    {
      struct fake_kernel *k = kernel (NULL);
      struct tarb *t = tarb_new (f);
      char diff[DIGEST_LEN + 1], want[DIGEST_LEN + 1], packed[DIGEST_LEN + 1];
      _cleanup_err_ struct focker_err *err = NULL;
      const char *buf;
      size_t len;

      tarb_file (t, "hello", "hello world\n", 0644);
      assert_int_equal (unpack (t, diff, &err), 0);
      expect_content (k, LAYER "/hello", "hello world\n");
      buf = tarb_plain (t, &len);
      digest_buffer (buf, len, want);
      assert_string_equal (diff, want);
      buf = tarb_end (t, &len);
      digest_buffer (buf, len, packed);
      assert_string_not_equal (diff, packed);
      tarb_free (t);
      fake_kernel_free (k);
    }
}

static void
whiteouts_become_overlay_whiteouts (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  struct tarb *t = tarb_new (TARB_NONE);

  tarb_file (t, "etc/.wh.motd", "", 0644);           /* a file of a lower layer is deleted */
  tarb_file (t, "var/cache/.wh..wh..opq", "", 0644); /* a dir hides the lower ones' content */
  tarb_file (t, "var/cache/new", "n", 0644);         /* ... but keeps its own */
  tarb_file (t, "keep", "same layer", 0644);
  tarb_file (t, ".wh.keep", "", 0644); /* same-layer files are not hidden */
  tarb_file (t, ".wh.tmp", "", 0644);
  tarb_dir (t, "tmp", 0755, 1000); /* deleted, then a new dir: opaque */
  tarb_file (t, "opt/app/x", "x", 0644);
  tarb_file (t, "opt/.wh.app", "", 0644);  /* implicit dir of this layer: opaque */
  tarb_file (t, ".wh..wh.plnk", "", 0644); /* aufs bookkeeping: ignored */
  tarb_dir (t, "srv", 0755, 1000);
  tarb_file (t, "srv/a", "a", 0644);
  tarb_file (t, ".wh.srv", "", 0644); /* a dir of this layer stays, the lower one's goes */
  expect_ok (t);

  assert_true (is_whiteout (k, LAYER "/etc/motd"));
  assert_false (fake_exists (k, LAYER "/etc/.wh.motd"));
  assert_true (is_opaque (k, LAYER "/var/cache"));
  expect_content (k, LAYER "/var/cache/new", "n");
  assert_false (is_opaque (k, LAYER "/var"));
  expect_content (k, LAYER "/keep", "same layer");
  expect_mode (k, LAYER "/tmp", S_IFDIR | 0755);
  assert_true (is_opaque (k, LAYER "/tmp"));
  assert_true (is_opaque (k, LAYER "/opt/app"));
  expect_content (k, LAYER "/opt/app/x", "x");
  assert_false (fake_exists (k, LAYER "/.wh..wh.plnk"));
  assert_false (fake_exists (k, LAYER "/plnk"));
  assert_true (is_opaque (k, LAYER "/srv"));
  expect_content (k, LAYER "/srv/a", "a");
  tarb_free (t);
  fake_kernel_free (k);
}

/* A hostile archive: its builder, and the entry the error must name. */
struct hostile
{
  const char *what;
  void (*build) (struct tarb *t);
  const char *names;
};

static void
h_dotdot (struct tarb *t)
{
  tarb_file (t, "../evil", "x", 0644);
}
static void
h_dotdot_deep (struct tarb *t)
{
  tarb_file (t, "a/../../outside/evil", "x", 0644);
}
static void
h_absolute (struct tarb *t)
{
  tarb_file (t, "/outside/evil", "x", 0644);
}
static void
h_symlink_plant (struct tarb *t)
{
  tarb_symlink (t, "l", "/outside");
  tarb_file (t, "l/evil", "x", 0644);
}
static void
h_symlink_dotdot (struct tarb *t)
{
  tarb_symlink (t, "up", "..");
  tarb_file (t, "up/outside/evil", "x", 0644);
}
static void
h_symlink_deep (struct tarb *t)
{
  tarb_dir (t, "a", 0755, 1);
  tarb_symlink (t, "a/b", "../../outside");
  tarb_file (t, "a/b/c/evil", "x", 0644);
}
static void
h_symlink_replace (struct tarb *t)
{
  tarb_symlink (t, "secret", "/outside/secret");
  tarb_file (t, "secret", "overwritten", 0644); /* must not write through it */
}
static void
h_hardlink_out (struct tarb *t)
{
  tarb_hardlink (t, "pw", "../outside/secret");
}
static void
h_hardlink_abs (struct tarb *t)
{
  tarb_hardlink (t, "pw", "/outside/secret");
}
static void
h_hardlink_absent (struct tarb *t)
{
  tarb_hardlink (t, "pw", "etc/shadow");
}
static void
h_hardlink_via_symlink (struct tarb *t)
{
  tarb_symlink (t, "o", "/outside");
  tarb_hardlink (t, "pw", "o/secret");
}
static void
h_wh_bare (struct tarb *t)
{
  tarb_file (t, "etc/.wh.", "", 0644);
}
static void
h_wh_dotdot (struct tarb *t)
{
  tarb_file (t, "etc/.wh...", "", 0644);
}
static void
h_wh_dot (struct tarb *t)
{
  tarb_file (t, ".wh..", "", 0644);
}
static void
h_wh_escape (struct tarb *t)
{
  tarb_file (t, "../outside/.wh.secret", "", 0644);
}
static void
h_wh_symlink (struct tarb *t)
{
  tarb_symlink (t, "o", "/outside");
  tarb_file (t, "o/.wh.secret", "", 0644);
}
static void
h_wh_opq_symlink (struct tarb *t)
{
  tarb_symlink (t, "o", "/outside");
  tarb_file (t, "o/.wh..wh..opq", "", 0644);
}
static void
h_dup_file (struct tarb *t)
{
  tarb_file (t, "etc/hosts", "a", 0644);
  tarb_file (t, "etc/hosts", "b", 0644);
}
static void
h_dup_dir (struct tarb *t)
{
  tarb_dir (t, "etc", 0755, 1);
  tarb_dir (t, "etc/", 0700, 1);
}
static void
h_dup_whiteout (struct tarb *t)
{
  tarb_file (t, ".wh.x", "", 0644);
  tarb_file (t, ".wh.x", "", 0644);
}
static void
h_under_file (struct tarb *t)
{
  tarb_file (t, "f", "x", 0644);
  tarb_file (t, "f/g", "x", 0644);
}
static void
h_overlay_xattr (struct tarb *t)
{
  tarb_xattr_file (t, "x", "", "trusted.overlay.redirect", "/outside");
}

static const struct hostile hostiles[] = {
  { "../ path", h_dotdot, "../evil" },
  { "escaping .. inside", h_dotdot_deep, "a/../../outside/evil" },
  { "absolute path", h_absolute, "/outside/evil" },
  { "write through a planted symlink", h_symlink_plant, "l/evil" },
  { "symlink to ..", h_symlink_dotdot, "up/outside/evil" },
  { "planted symlink deeper", h_symlink_deep, "a/b/c/evil" },
  { "file over a symlink", h_symlink_replace, "secret" },
  { "hard link with ..", h_hardlink_out, "pw" },
  { "hard link absolute", h_hardlink_abs, "pw" },
  { "hard link to no entry", h_hardlink_absent, "pw" },
  { "hard link through a symlink", h_hardlink_via_symlink, "pw" },
  { "bare .wh.", h_wh_bare, "etc/.wh." },
  { "whiteout of ..", h_wh_dotdot, "etc/.wh..." },
  { "whiteout of .", h_wh_dot, ".wh.." },
  { "whiteout escaping", h_wh_escape, "../outside/.wh.secret" },
  { "whiteout through a symlink", h_wh_symlink, "o/.wh.secret" },
  { "opaque through a symlink", h_wh_opq_symlink, "o/.wh..wh..opq" },
  { "duplicate file", h_dup_file, "etc/hosts" },
  { "duplicate dir", h_dup_dir, "etc/" },
  { "duplicate whiteout", h_dup_whiteout, ".wh.x" },
  { "entry under a file", h_under_file, "f/g" },
  { "overlay xattr", h_overlay_xattr, "x" },
};

static void
run_hostiles (const struct fake_personality *p)
{
  for (size_t i = 0; i < sizeof hostiles / sizeof *hostiles; i++)
    {
      struct fake_kernel *k = kernel (p);
      struct tarb *t = tarb_new (TARB_NONE);
      _cleanup_err_ struct focker_err *err = NULL;
      char diff[DIGEST_LEN + 1];
      size_t top = fake_dir_count (k, "/");
      char quoted[256];
      int r;

      hostiles[i].build (t);
      r = unpack (t, diff, &err);
      if (r >= 0)
        fail_msg ("%s: accepted", hostiles[i].what);
      assert_non_null (err);
      assert_int_equal (err->code, r);
      snprintf (quoted, sizeof quoted, "\"%s\"", hostiles[i].names);
      if (strstr (err->msg, quoted) == NULL)
        fail_msg ("%s: error does not name %s: %s", hostiles[i].what, quoted, err->msg);
      /* nothing written outside the layer */
      assert_int_equal (fake_dir_count (k, "/outside"), 1);
      expect_content (k, "/outside/secret", "keep");
      assert_false (fake_exists (k, "/evil"));
      assert_int_equal (fake_dir_count (k, "/"), top);
      assert_null (fake_getxattr (k, "/outside", "trusted.overlay.opaque"));
      assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
      tarb_free (t);
      fake_kernel_free (k);
    }
}

static void
hostile_archives_are_refused (void **state)
{
  run_hostiles (NULL);
}

/* Without openat2 (before 5.6) the component walk must refuse the same archives. */
static void
hostile_archives_are_refused_without_openat2 (void **state)
{
  struct fake_personality p = { .major = 5, .minor = 4 };

  run_hostiles (&p);
}

static void
garbage_is_refused (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  char diff[DIGEST_LEN + 1];
  int dirfd, srcfd;

  put_bytes (SRC, "this is not a tar archive, not even close to one.........", 56);
  dirfd = sys_openat (AT_FDCWD, LAYER, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  srcfd = sys_openat (AT_FDCWD, SRC, O_RDONLY | O_CLOEXEC, 0);
  assert_true (unpack_layer (dirfd, srcfd, diff, &err) < 0);
  assert_non_null (err);
  assert_int_equal (fake_dir_count (k, LAYER), 0);
  sys_close (dirfd);
  sys_close (srcfd);
  fake_kernel_free (k);
}

static int
unpack_run (struct fx_fault *f, void *ctx)
{
  struct fake_kernel *k = kernel (NULL);
  struct tarb *t = tarb_new (TARB_GZIP);
  _cleanup_err_ struct focker_err *err = NULL;
  char diff[DIGEST_LEN + 1];
  size_t len;
  const char *buf;
  int dirfd, srcfd, r;

  (void)ctx;
  tarb_dir (t, "etc", 0755, 5);
  tarb_file (t, "etc/hosts", "h", 0644);
  tarb_symlink (t, "etc/l", "hosts");
  tarb_hardlink (t, "etc/h2", "etc/hosts");
  tarb_file (t, "etc/.wh.gone", "", 0644);
  tarb_file (t, "var/.wh..wh..opq", "", 0644);
  tarb_node (t, "dev/null", S_IFCHR, makedev (1, 3));
  buf = tarb_end (t, &len);
  put_bytes (SRC, buf, len);
  dirfd = sys_openat (AT_FDCWD, LAYER, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  srcfd = sys_openat (AT_FDCWD, SRC, O_RDONLY | O_CLOEXEC, 0);
  fx_fault_arm (f, k);
  r = unpack_layer (dirfd, srcfd, diff, &err);
  fx_fault_disarm (f);
  sys_close (dirfd);
  sys_close (srcfd);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  /* the run that reaches no fault: the loop checks it succeeded */
  if (f->hit && r == 0)
    {
      expect_content (k, LAYER "/etc/h2", "h");
      assert_true (is_whiteout (k, LAYER "/etc/gone"));
    }
  else if (f->hit)
    {
      assert_non_null (err);
      assert_int_equal (err->code, r);
    }
  tarb_free (t);
  fake_kernel_free (k);
  return r;
}

/* Every call failing in turn: an error and no fd left; success means the full layer. */
/* Entries of one directory share its fd, and a free name costs no stat: a file is a create,
 * its data and its metadata. */
static void
files_of_one_directory_cost_no_walk_and_no_stat (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  struct tarb *t = tarb_new (TARB_GZIP);

  tarb_dir (t, "usr", 0755, 1);
  tarb_dir (t, "usr/lib", 0755, 1);
  for (int i = 0; i < 50; i++)
    {
      char name[32];
      snprintf (name, sizeof name, "usr/lib/f%d", i);
      tarb_file (t, name, "x", 0644);
    }
  tarb_dir (t, "usr/lib/sub", 0755, 1);
  tarb_file (t, "usr/lib/sub/g", "y", 0644);
  expect_ok (t);
  expect_content (k, LAYER "/usr/lib/f49", "x");
  expect_content (k, LAYER "/usr/lib/sub/g", "y");
  /* one open of each parent directory at a change of directory, and the directories' own
   * (their times are set last, by path) */
  assert_true (fx_count_calls (k, SYS_ID_openat2) <= 8);
  /* one stat of each parent directory (the group its new entries get), none per name */
  assert_true (fx_count_calls (k, SYS_ID_fstatat) <= 4);
  /* root's entries owned 0:0 are created so: no chown */
  assert_int_equal (fx_count_calls (k, SYS_ID_fchownat), 0);
  tarb_free (t);
  fake_kernel_free (k);
}

static void
expect_owner (struct fake_kernel *k, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
  struct stat st;

  assert_int_equal (fake_lstat (k, path, &st), 0);
  assert_int_equal (st.st_mode, mode);
  assert_int_equal (st.st_uid, uid);
  assert_int_equal (st.st_gid, gid);
}

/* The chown is skipped only where the create gave the entry's owner already: root's 0:0
 * outside set-group-ID directories, the directory's group inside one.  Every other owner is
 * set, and a directory made early for entries below it is chowned whatever its parent is now. */
static void
entries_not_created_with_their_owner_are_chowned (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  struct tarb *t = tarb_new (TARB_NONE);

  tarb_dir_owned (t, "srv", 02775, 0, 5);
  tarb_file_owned (t, "srv/root", "r", 0644, 0, 0, 1);     /* the create gives group 5 */
  tarb_file_owned (t, "srv/staff", "s", 0644, 0, 5, 1);    /* the create gives it all */
  tarb_file_owned (t, "srv/user", "u", 0644, 1000, 5, 1);  /* another owner */
  tarb_dir_owned (t, "srv/sub", 0755, 0, 0);               /* made set-group-ID, group 5 */
  tarb_file_owned (t, "late/early/f", "f", 0644, 0, 0, 1); /* makes late/ and late/early/ */
  tarb_dir_owned (t, "late", 02755, 0, 7);
  tarb_dir_owned (t, "late/early", 0755, 0, 7); /* its parent is group 7 now, it is not */
  expect_ok (t);
  expect_owner (k, LAYER "/srv", S_IFDIR | 02775, 0, 5);
  expect_owner (k, LAYER "/srv/root", S_IFREG | 0644, 0, 0);
  expect_owner (k, LAYER "/srv/staff", S_IFREG | 0644, 0, 5);
  expect_owner (k, LAYER "/srv/user", S_IFREG | 0644, 1000, 5);
  expect_owner (k, LAYER "/srv/sub", S_IFDIR | 0755, 0, 0);
  expect_owner (k, LAYER "/late/early", S_IFDIR | 0755, 0, 7);
  expect_owner (k, LAYER "/late/early/f", S_IFREG | 0644, 0, 0);
  tarb_free (t);
  fake_kernel_free (k);
}

/* The unpack clears the umask, so a create gives the entry's mode and no chmod follows; a
 * default ACL (on the layer directory or from an entry) would mask it as the umask did, so
 * from there on every mode is set by chmod.  The caller's umask is back afterwards. */
static void
modes_come_from_the_create_while_nothing_masks_them (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  struct tarb *t = tarb_new (TARB_NONE);

  assert_int_equal (sys_umask (022), 022);
  tarb_dir (t, "tmp", 01777, 1);
  tarb_file (t, "tmp/shared", "s", 0666);
  tarb_file_owned (t, "tmp/su", "s", 04755, 0, 0, 1);
  tarb_node (t, "tmp/fifo", S_IFIFO, 0);
  expect_ok (t);
  expect_mode (k, LAYER "/tmp", S_IFDIR | 01777);
  expect_mode (k, LAYER "/tmp/shared", S_IFREG | 0666);
  expect_mode (k, LAYER "/tmp/su", S_IFREG | 04755);
  expect_mode (k, LAYER "/tmp/fifo", S_IFIFO | 0640);
  assert_int_equal (fx_count_calls (k, SYS_ID_fchmod), 1); /* tmp/su's */
  assert_int_equal (fx_count_calls (k, SYS_ID_fchmodat), 0);
  assert_int_equal (sys_umask (022), 022);
  tarb_free (t);
  fake_kernel_free (k);

  /* a default ACL from an entry: what is created below it is chmod'ed */
  k = kernel (NULL);
  t = tarb_new (TARB_NONE);
  tarb_file (t, "a", "a", 0644);
  tarb_xattr_file (t, "acl", "", "system.posix_acl_default", "acl");
  tarb_file (t, "b", "b", 0644);
  expect_ok (t);
  expect_mode (k, LAYER "/b", S_IFREG | 0644);
  assert_int_equal (fx_count_calls (k, SYS_ID_fchmod), 2); /* acl's and b's */
  tarb_free (t);
  fake_kernel_free (k);

  /* a default ACL on the layer directory: every mode is chmod'ed */
  k = kernel (NULL);
  t = tarb_new (TARB_NONE);
  int fd = sys_openat (AT_FDCWD, LAYER, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  assert_int_equal (sys_fsetxattr (fd, "system.posix_acl_default", "acl", 3, 0), 0);
  sys_close (fd);
  tarb_file (t, "a", "a", 0644);
  expect_ok (t);
  assert_int_equal (fx_count_calls (k, SYS_ID_fchmod), 1);
  tarb_free (t);
  fake_kernel_free (k);
}

/* Review: the top entry ("./") does not move pfd, so when it comes after entries at the top
 * the cached set-group-ID state of the top is stale: an entry created there afterwards gets
 * the top's new group without a chown, and a directory inherits S_ISGID without a chmod. */
static void
top_entry_after_top_level_entries_keeps_owner_and_mode (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  struct tarb *t = tarb_new (TARB_NONE);

  tarb_file_owned (t, "a", "a", 0644, 0, 0, 1);
  tarb_dir_owned (t, "./", 02755, 0, 5);
  tarb_file_owned (t, "b", "b", 0644, 0, 0, 1);
  tarb_dir_owned (t, "c", 0755, 0, 0);
  expect_ok (t);
  expect_owner (k, LAYER, S_IFDIR | 02755, 0, 5);
  expect_owner (k, LAYER "/a", S_IFREG | 0644, 0, 0);
  expect_owner (k, LAYER "/b", S_IFREG | 0644, 0, 0);
  expect_owner (k, LAYER "/c", S_IFDIR | 0755, 0, 0);
  tarb_free (t);
  fake_kernel_free (k);
}

/* The first `len` bytes of path (read through the seam: the data may hold NULs), malloc'd. */
static char *
read_bytes (const char *path, size_t len)
{
  char *buf = calloc (1, len);
  int fd = sys_openat (AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  size_t got = 0;
  ssize_t n = 1;

  assert_true (fd >= 0);
  while (got < len && (n = sys_read (fd, buf + got, len - got)) > 0)
    got += (size_t)n;
  assert_int_equal (got, len);
  sys_close (fd);
  return buf;
}

/* Data is written from libarchive's blocks as they come: a sparse entry's holes, the
 * trailing one included, are written as zeros, and a file larger than a block is whole. */
static void
sparse_and_large_files_are_written_whole (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  struct tarb *t = tarb_new (TARB_GZIP);
  const size_t len = 300 * 1024, big = 200 * 1024 + 7;
  char *data = calloc (1, len), *got;
  struct stat st;

  memcpy (data + 100 * 1024, "middle", 6);
  tarb_sparse (t, "sparse", data, len, 100 * 1024, 4096);
  for (size_t i = 0; i < big; i++)
    data[i] = (char)(i * 7 + i / 65536);
  tarb_bytes (t, "big", data, big);
  expect_ok (t);
  assert_int_equal (fake_lstat (k, LAYER "/sparse", &st), 0);
  assert_int_equal (st.st_size, len);
  got = read_bytes (LAYER "/sparse", len);
  for (size_t i = 0; i < len; i++)
    if (got[i] != (i >= 100 * 1024 && i < 100 * 1024 + 6 ? "middle"[i - 100 * 1024] : 0))
      fail_msg ("sparse: byte %zu is %d", i, got[i]);
  free (got);
  assert_int_equal (fake_lstat (k, LAYER "/big", &st), 0);
  assert_int_equal (st.st_size, big);
  got = read_bytes (LAYER "/big", big);
  assert_memory_equal (got, data, big);
  free (got);
  free (data);
  tarb_free (t);
  fake_kernel_free (k);
}

static void
unpack_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, unpack_run, NULL);
}

struct buf
{
  char d[64 * 1024];
  size_t len;
};

static int
buf_put (void *ctx, const void *data, size_t len)
{
  struct buf *b = ctx;

  if (b->len + len > sizeof b->d)
    return -ENOSPC;
  memcpy (b->d + b->len, data, len);
  b->len += len;
  return 0;
}

/* focker's own ustar writer (the default image, save) makes what libarchive reads back,
 * long names (prefix + name) included. */
static void
tar_writer_output_unpacks (void **state)
{
  struct fake_kernel *k = kernel (NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  struct buf *b = calloc (1, sizeof *b);
  struct tar_out t = { .put = buf_put, .ctx = b, .mtime = 42 };
  char longdir[160], longfile[260], path[320], diff[DIGEST_LEN + 1];
  int dirfd, srcfd;
  struct stat st;

  /* 141 characters: stored as prefix "aaa..." and name "bbb..." */
  snprintf (longdir, sizeof longdir, "%060d/%080d", 1, 2);
  snprintf (longfile, sizeof longfile, "%s/%090d", longdir, 7);
  assert_int_equal (tar_dir (&t, "etc", 0750), 0);
  assert_int_equal (tar_file (&t, "etc/motd", 0640, "hello", 5), 0);
  assert_int_equal (tar_symlink (&t, "etc/link", "motd"), 0);
  assert_int_equal (tar_dir (&t, longdir, 0755), 0);
  assert_int_equal (tar_file (&t, longfile, 0600, "deep", 4), 0);
  assert_int_equal (tar_file (&t, "x/../../too-long-a-name-is-refused", 0600, "", 0), 0);
  memset (path, 'n', 120);
  path[120] = '\0';
  assert_int_equal (tar_file (&t, path, 0600, "", 0), -ENAMETOOLONG); /* no '/' to split at */
  assert_int_equal (tar_finish (&t), 0);
  /* the hostile entry is there so that unpack must refuse it after the others */
  put_bytes (SRC, b->d, b->len);
  dirfd = sys_openat (AT_FDCWD, LAYER, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  srcfd = sys_openat (AT_FDCWD, SRC, O_RDONLY | O_CLOEXEC, 0);
  assert_true (unpack_layer (dirfd, srcfd, diff, &err) < 0);
  assert_non_null (strstr (err->msg, "too-long-a-name-is-refused"));
  sys_close (dirfd);
  sys_close (srcfd);
  expect_content (k, LAYER "/etc/motd", "hello");
  expect_mode (k, LAYER "/etc/motd", S_IFREG | 0640);
  assert_int_equal (fake_lstat (k, LAYER "/etc/motd", &st), 0);
  assert_int_equal (st.st_mtim.tv_sec, 42);
  assert_int_equal (fake_lstat (k, LAYER "/etc/link", &st), 0);
  assert_true (S_ISLNK (st.st_mode));
  snprintf (path, sizeof path, LAYER "/%s", longfile);
  expect_content (k, path, "deep");
  free (b);
  fake_kernel_free (k);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (unpacks_every_entry_type),
    cmocka_unit_test (compressed_layers_give_the_uncompressed_diff_id),
    cmocka_unit_test (whiteouts_become_overlay_whiteouts),
    cmocka_unit_test (hostile_archives_are_refused),
    cmocka_unit_test (hostile_archives_are_refused_without_openat2),
    cmocka_unit_test (garbage_is_refused),
    cmocka_unit_test (tar_writer_output_unpacks),
    cmocka_unit_test (files_of_one_directory_cost_no_walk_and_no_stat),
    cmocka_unit_test (entries_not_created_with_their_owner_are_chowned),
    cmocka_unit_test (modes_come_from_the_create_while_nothing_masks_them),
    cmocka_unit_test (sparse_and_large_files_are_written_whole),
    cmocka_unit_test (top_entry_after_top_level_entries_keeps_owner_and_mode),
    cmocka_unit_test (unpack_survives_every_fault),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
