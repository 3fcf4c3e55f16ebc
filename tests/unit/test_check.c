/* test_check.c: `focker check` probes on the fake kernel's personalities.
 *
 * 5.4 has no openat2 (and no idmapped mounts, no overlay in a user namespace); 6.1 runs
 * cgroup v1; 6.12 cgroup v2.  The image check reads an ELF ABI note built here in memory
 * and written into the fake VFS, so the comparison with the kernel is tested both ways. */
#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "core/check.h"
#include "sys-fake/fake.h"
#include "sys/sys.h"

static struct fake_kernel *
with_personality (void **state, int major, int minor, enum fake_cgroup_mode cg)
{
  struct fake_personality p = { major, minor, cg, false };

  fake_kernel_free (*state);
  *state = fake_kernel_new (&p);
  return *state;
}

static int
teardown (void **state)
{
  fake_kernel_free (*state);
  *state = NULL;
  return 0;
}

static const struct check_item *
item (const struct check_report *r, const char *name)
{
  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->items[i].name, name) == 0)
      return &r->items[i];
  fail_msg ("no item %s", name);
  return NULL;
}

static struct check_report *
host (void)
{
  struct check_report *r = NULL;
  struct focker_err *err = NULL;
  assert_int_equal (check_host (&r, &err), 0);
  assert_null (err);
  return r;
}

/* A minimal ELF64 with one PT_NOTE holding NT_GNU_ABI_TAG "GNU" Linux major.minor.sub. */
static size_t
make_elf (unsigned char *buf, uint32_t major, uint32_t minor, uint32_t sub)
{
  Elf64_Ehdr eh = { 0 };
  Elf64_Phdr ph = { 0 };
  Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 16, .n_type = NT_GNU_ABI_TAG };
  uint32_t desc[4] = { ELF_NOTE_OS_LINUX, major, minor, sub };
  size_t note = sizeof eh + sizeof ph;

  memcpy (eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_phoff = sizeof eh;
  eh.e_phentsize = sizeof ph;
  eh.e_phnum = 1;
  ph.p_type = PT_NOTE;
  ph.p_offset = note;
  ph.p_filesz = sizeof nh + 4 + sizeof desc;
  memcpy (buf, &eh, sizeof eh);
  memcpy (buf + sizeof eh, &ph, sizeof ph);
  memcpy (buf + note, &nh, sizeof nh);
  memcpy (buf + note + sizeof nh, "GNU", 4);
  memcpy (buf + note + sizeof nh + 4, desc, sizeof desc);
  return note + ph.p_filesz;
}

static void
check_on_5_4_has_no_openat2_or_idmapped_mounts (void **state)
{
  with_personality (state, 5, 4, FAKE_CGROUP_V2);
  struct check_report *r = host ();

  assert_int_equal (item (r, "openat2")->status, CHECK_WARN);
  assert_non_null (item (r, "openat2")->fix);
  assert_int_equal (item (r, "clone3")->status, CHECK_OK);
  assert_int_equal (item (r, "idmapped_mounts")->status, CHECK_WARN);
  assert_string_equal (item (r, "kernel")->detail, "5.4");
  assert_true (item (r, "namespace.mnt")->required);
  check_report_free (r);
}

static void
check_on_6_1_v1_lists_mounted_v1_controllers (void **state)
{
  with_personality (state, 6, 1, FAKE_CGROUP_V1);
  struct check_report *r = host ();
  const struct check_item *cg = item (r, "cgroup");

  assert_int_equal (cg->status, CHECK_OK);
  assert_non_null (strstr (cg->detail, "v1 controllers:"));
  assert_non_null (strstr (cg->detail, "memory"));
  assert_int_equal (item (r, "openat2")->status, CHECK_OK);
  assert_int_equal (item (r, "idmapped_mounts")->status, CHECK_OK);
  check_report_free (r);
}

static void
check_on_6_12_v2_says_v2 (void **state)
{
  with_personality (state, 6, 12, FAKE_CGROUP_V2);
  struct check_report *r = host ();

  assert_int_equal (strncmp (item (r, "cgroup")->detail, "v2", 2), 0);
  assert_int_equal (item (r, "namespace.mnt")->status, CHECK_OK);
  assert_true (check_report_ok (r));
  check_report_free (r);
}

static void
elf_abi_tag_is_parsed_and_garbage_is_refused (void **state)
{
  unsigned char buf[256] = { 0 };
  int maj, min, sub;
  size_t len = make_elf (buf, 3, 2, 0);

  assert_int_equal (check_elf_abi_tag (buf, len, &maj, &min, &sub), 0);
  assert_int_equal (maj, 3);
  assert_int_equal (min, 2);
  assert_int_equal (sub, 0);
  for (size_t cut = 0; cut < len; cut++) /* truncated: never read past the end */
    assert_true (check_elf_abi_tag (buf, cut, &maj, &min, &sub) < 0);
  buf[0] = 0;
  assert_int_equal (check_elf_abi_tag (buf, len, &maj, &min, &sub), -EINVAL);
}

static void
write_bin (const char *path, const unsigned char *buf, size_t len)
{
  int fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  assert_true (fd >= 0);
  assert_int_equal (sys_write (fd, buf, len), (ssize_t)len);
  assert_int_equal (sys_close (fd), 0);
}

static void
image_libc_newer_than_the_kernel_is_a_required_miss (void **state)
{
  struct fake_kernel *k = with_personality (state, 5, 4, FAKE_CGROUP_V2);
  unsigned char buf[256] = { 0 };
  struct focker_err *err = NULL;
  struct check_report *r = host ();

  assert_int_equal (fake_mkdir_p (k, "/img/lib/x86_64-linux-gnu", 0755), 0);
  assert_int_equal (fake_mkdir_p (k, "/old/lib/x86_64-linux-gnu", 0755), 0);
  write_bin ("/img/lib/x86_64-linux-gnu/libc.so.6", buf, make_elf (buf, 6, 1, 0));
  write_bin ("/old/lib/x86_64-linux-gnu/libc.so.6", buf, make_elf (buf, 3, 2, 0));

  assert_int_equal (check_image (r, "/img", &err), 0);
  const struct check_item *libc = item (r, "image.libc");
  assert_int_equal (libc->status, CHECK_MISSING);
  assert_true (libc->required);
  assert_non_null (strstr (libc->detail, "needs Linux 6.1.0, have 5.4"));
  assert_false (check_report_ok (r));
  check_report_free (r);

  r = host ();
  assert_int_equal (check_image (r, "/old", &err), 0);
  assert_int_equal (item (r, "image.libc")->status, CHECK_OK);
  assert_true (check_report_ok (r));

  assert_true (check_image (r, "/missing", &err) < 0);
  assert_non_null (err);
  focker_err_free (err);
  check_report_free (r);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
}

/* gzip of TEXT, as the kernel serves /proc/config.gz */
static size_t
gzip_of (unsigned char *out, size_t cap, const char *text)
{
  struct archive *a = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();
  size_t used = 0;

  assert_int_equal (archive_write_set_format_raw (a), ARCHIVE_OK);
  assert_int_equal (archive_write_add_filter_gzip (a), ARCHIVE_OK);
  assert_int_equal (archive_write_open_memory (a, out, cap, &used), ARCHIVE_OK);
  archive_entry_set_filetype (e, AE_IFREG);
  assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
  assert_int_equal (archive_write_data (a, text, strlen (text)), (la_ssize_t)strlen (text));
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_entry_free (e);
  archive_write_free (a);
  return used;
}

/* nf_tables, bridge and veth: loaded, built in (modules.builtin, /proc/config.gz,
 * /boot/config-RELEASE), a module (modules.dep), or missing, which alone is a warning with a
 * fix.  A built-in feature without parameters has no /sys/module entry (this host's veth). */
static void
check_finds_network_features_loaded_built_in_or_as_modules (void **state)
{
  struct fake_kernel *k = with_personality (state, 6, 1, FAKE_CGROUP_V2);
  unsigned char gz[4096];

  int fd = sys_openat (AT_FDCWD, "/proc/sys/kernel/osrelease", O_WRONLY | O_CLOEXEC, 0);
  assert_true (fd >= 0);
  assert_int_equal (sys_write (fd, "6.1.0-9-cloud-amd64\n", 20), 20);
  assert_int_equal (sys_close (fd), 0);
  struct check_report *r = host ();
  assert_int_equal (item (r, "veth")->status, CHECK_WARN);
  assert_non_null (strstr (item (r, "veth")->fix, "modprobe veth"));
  assert_non_null (strstr (item (r, "nftables")->fix, "CONFIG_NF_TABLES"));
  check_report_free (r);

  assert_int_equal (fake_mkdir_p (k, "/sys/module/bridge", 0755), 0);
  assert_int_equal (fake_mkdir_p (k, "/lib/modules/6.1.0-9-cloud-amd64", 0755), 0);
  assert_int_equal (fake_write_file (k, "/lib/modules/6.1.0-9-cloud-amd64/modules.builtin",
                                     "kernel/drivers/net/vethx.ko\nkernel/drivers/net/veth.ko\n",
                                     0444),
                    0);
  assert_int_equal (
      fake_write_file (
          k, "/lib/modules/6.1.0-9-cloud-amd64/modules.dep",
          "kernel/net/netfilter/nf_tables_x.ko:\n"
          "kernel/net/netfilter/nf_tables.ko.xz: kernel/net/netfilter/nfnetlink.ko.xz\n",
          0444),
      0);
  r = host ();
  assert_string_equal (item (r, "bridge")->detail, "bridge networking: loaded");
  assert_string_equal (item (r, "veth")->detail, "container network links: built into the kernel");
  assert_string_equal (item (r, "nftables")->detail,
                       "port publishing (nf_tables): a module, loaded on first use");
  assert_null (item (r, "nftables")->fix);
  check_report_free (r);

  /* no module lists: the kernel config decides, /proc/config.gz before /boot */
  assert_int_equal (
      fake_write_file (k, "/lib/modules/6.1.0-9-cloud-amd64/modules.builtin", "", 0444), 0);
  assert_int_equal (fake_write_file (k, "/lib/modules/6.1.0-9-cloud-amd64/modules.dep", "", 0444),
                    0);
  assert_int_equal (fake_mkdir_p (k, "/boot", 0755), 0);
  assert_int_equal (fake_write_file (k, "/boot/config-6.1.0-9-cloud-amd64",
                                     "#\nCONFIG_VETH=m\nCONFIG_NF_TABLES_INET=y\n", 0444),
                    0);
  r = host ();
  assert_string_equal (item (r, "veth")->detail,
                       "container network links: a module, loaded on first use");
  assert_int_equal (item (r, "nftables")->status, CHECK_WARN);
  check_report_free (r);

  write_bin ("/proc/config.gz", gz,
             gzip_of (gz, sizeof gz, "#\nCONFIG_NF_TABLES=y\nCONFIG_VETH=y\n"));
  r = host ();
  assert_string_equal (item (r, "nftables")->detail,
                       "port publishing (nf_tables): built into the kernel");
  assert_string_equal (item (r, "veth")->detail, "container network links: built into the kernel");
  check_report_free (r);

  /* a corrupt /proc/config.gz is no finding: /boot's config is read instead */
  write_bin ("/proc/config.gz", (const unsigned char *)"\x1f\x8bgarbage", 9);
  r = host ();
  assert_string_equal (item (r, "veth")->detail,
                       "container network links: a module, loaded on first use");
  check_report_free (r);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (check_on_5_4_has_no_openat2_or_idmapped_mounts, teardown),
    cmocka_unit_test_teardown (check_on_6_1_v1_lists_mounted_v1_controllers, teardown),
    cmocka_unit_test_teardown (check_on_6_12_v2_says_v2, teardown),
    cmocka_unit_test (elf_abi_tag_is_parsed_and_garbage_is_refused),
    cmocka_unit_test_teardown (image_libc_newer_than_the_kernel_is_a_required_miss, teardown),
    cmocka_unit_test_teardown (check_finds_network_features_loaded_built_in_or_as_modules,
                               teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
