/* test_store.c: the image store on the fake kernel: import, names, shared layers, gc, bundles,
 * the image config -> config.json conversion, and fault loops over import and bundle that
 * check the store's invariants after every fault: every blob under its final name has the
 * digest of its content, no temporary is left, no name refers to anything missing, and gc
 * brings the store back to empty. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/file.h>
#include <linux/fs.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/image.h"
#include "core/image_archive.h"
#include "core/spec.h"
#include "core/store.h"
#include "core/strv.h"
#include "sys-fake/fake.h"
#include "tests/unit/fixture.h"
#include "tests/unit/tarbuild.h"

#define STORE "/var/lib/focker"
#define IN "/in.tar.gz"

static struct fake_kernel *
kernel_with_tar (void)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct tarb *t = tarb_new (TARB_GZIP);
  const char *buf;
  size_t len;

  tarb_dir (t, "bin", 0755, 10);
  tarb_file (t, "bin/sh", "ELF", 0755);
  tarb_file (t, "etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home:/bin/sh\n", 0644);
  tarb_file (t, "etc/group", "root:x:0:\nstaff:x:50:\n", 0644);
  tarb_symlink (t, "bin/ls", "sh");
  buf = tarb_end (t, &len);
  put_bytes (IN, buf, len);
  tarb_free (t);
  return k;
}

static void
import_names_an_image_and_unpacks_its_layer (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  struct image *img, *by_id;
  _cleanup_free_ char *layer = NULL, *prefix = NULL, *passwd = NULL;

  if (image_import (s, AT_FDCWD, IN, "app", id, &err) < 0)
    fail_msg ("import: %s", err->msg);
  assert_int_equal (store_image_get (&img, s, "app:latest", &err), 0);
  assert_string_equal (img->id, id);
  assert_int_equal (img->n_layers, 1);
  assert_string_equal (
      json_string_value (json_object_get (
          json_array_get (json_object_get (img->manifest, "layers"), 0), "mediaType")),
      MT_LAYER_GZIP);
  layer = xasprintf (STORE "/layers/sha256/%s", DIGEST_HEX (img->diff_ids[0]));
  passwd = xasprintf ("%s/etc/passwd", layer);
  assert_true (fake_exists (k, passwd));
  /* layers/ carries the allocator hint: each layer in a block group of its own */
  unsigned flags = 0;
  int lfd = sys_openat (AT_FDCWD, STORE "/layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  assert_true (lfd >= 0);
  assert_int_equal (sys_fs_getflags (lfd, &flags), 0);
  assert_int_equal (flags & FS_TOPDIR_FL, FS_TOPDIR_FL);
  sys_close (lfd);
  prefix = xstrndup (DIGEST_HEX (id), 12);
  assert_int_equal (store_image_get (&by_id, s, prefix, &err), 0);
  assert_string_equal (by_id->manifest_digest, img->manifest_digest);
  assert_null (by_id->name);
  struct image *none = NULL;
  assert_true (store_image_get (&none, s, "nope", &err) < 0);
  assert_null (none);
  assert_int_equal (err->code, -ENOENT);
  assert_non_null (strstr (err->msg, "nope"));
  fx_store_check (STORE);
  image_free (img);
  image_free (by_id);
  store_close (s);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  fake_kernel_free (k);
}

/* The reference count `focker inspect` shows for the image's only layer. */
static void
expect_refs (struct store *s, const char *ref, long want)
{
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *text = NULL;
  json_t *o;

  if (image_inspect_json (&text, s, ref, &err) < 0)
    fail_msg ("inspect %s: %s", ref, err->msg);
  o = json_loads (text, 0, NULL);
  assert_int_equal (json_integer_value (json_object_get (
                        json_array_get (json_object_get (o, "layers"), 0), "refs")),
                    want);
  json_decref (o);
}

static void
layers_are_shared_and_gc_removes_what_no_name_uses (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  struct gc_report rep;
  char id[DIGEST_LEN + 1];

  assert_int_equal (image_import (s, AT_FDCWD, IN, "a", id, &err), 0);
  assert_int_equal (image_import (s, AT_FDCWD, IN, "b:1", id, &err), 0);
  assert_int_equal (fx_count_in (STORE "/layers/sha256"), 1);
  expect_refs (s, "a", 2);
  assert_int_equal (image_remove (s, "a", &err), 0);
  assert_int_equal (image_remove (s, "a", &err), -ENOENT);
  expect_refs (s, "b:1", 1);
  focker_err_free (TAKE_PTR (err));
  store_close (s);

  s = fx_store_open (STORE, true);
  assert_int_equal (store_gc (s, &rep, &err), 0);
  assert_int_equal (rep.layers, 0); /* b:1 still uses it */
  assert_int_equal (fx_count_in (STORE "/layers/sha256"), 1);
  assert_int_equal (image_remove (s, "b:1", &err), 0);
  assert_int_equal (store_gc (s, &rep, &err), 0);
  assert_int_equal (rep.layers, 1);
  assert_int_equal (fx_count_in (STORE "/layers/sha256"), 0);
  assert_int_equal (fx_count_in (STORE "/blobs/sha256"), 0);
  assert_int_equal (fx_count_in (STORE "/locks"), 2); /* store and index: no layer lock left */
  fx_store_check (STORE);
  store_close (s);
  fake_kernel_free (k);
}

/* A command killed between writing index.json's (or oci-layout's) temporary and renaming it
 * leaves the temporary in the store's top directory: gc removes it, and only it. */
static void
gc_removes_what_a_killed_tag_left (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, true);
  _cleanup_err_ struct focker_err *err = NULL;
  struct gc_report rep;
  char id[DIGEST_LEN + 1];

  assert_int_equal (image_import (s, AT_FDCWD, IN, "a", id, &err), 0);
  put_bytes (STORE "/.index.json.tmp", "{\"manifests\": [", 15);
  put_bytes (STORE "/.oci-layout.tmp", "", 0);
  assert_int_equal (store_gc (s, &rep, &err), 0);
  assert_int_equal (rep.tmps, 2);
  assert_false (fake_exists (k, STORE "/.index.json.tmp"));
  assert_false (fake_exists (k, STORE "/.oci-layout.tmp"));
  assert_true (fake_exists (k, STORE "/index.json"));
  assert_true (fake_exists (k, STORE "/oci-layout"));
  assert_int_equal (rep.blobs + rep.layers, 0);
  fx_store_check (STORE);
  store_close (s);
  fake_kernel_free (k);
}

static void
a_blob_with_another_digest_is_refused (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  char want[DIGEST_LEN + 1], got[DIGEST_LEN + 1];

  digest_buffer ("good", 4, want);
  assert_true (store_blob_put (s, "evil", 4, want, got, &err) < 0);
  assert_non_null (strstr (err->msg, want));
  assert_int_equal (fx_count_in (STORE "/blobs/sha256"), 0);
  fx_store_check (STORE);
  store_close (s);
  fake_kernel_free (k);
}

static void
image_config_becomes_config_json (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *text = NULL;
  json_t *ic = json_loads ("{\"Entrypoint\":[\"/bin/app\"],\"Cmd\":[\"--serve\"],"
                           "\"Env\":[\"PATH=/app/bin\",\"MODE=prod\"],\"WorkingDir\":\"/srv\","
                           "\"User\":\"app:staff\",\"Labels\":{\"version\":\"1.2\"},"
                           "\"StopSignal\":\"SIGQUIT\"}",
                           0, NULL);
  struct spec *spec = NULL;
  int rootfd;

  assert_int_equal (fake_write_file (k, "/r/etc/passwd", "app:x:1000:1001::/:/bin/sh\n", 0644), 0);
  assert_int_equal (fake_write_file (k, "/r/etc/group", "staff:x:50:\n", 0644), 0);
  rootfd = sys_openat (AT_FDCWD, "/r", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (image_spec_json (&text, ic, rootfd, &err) < 0)
    fail_msg ("spec: %s", err->msg);
  if (spec_parse (&spec, text, strlen (text), "config.json", &err) < 0)
    fail_msg ("spec_parse: %s", err->msg);
  assert_int_equal (strv_length (spec->process->args), 2);
  assert_string_equal (spec->process->args[0], "/bin/app");
  assert_string_equal (spec->process->args[1], "--serve");
  assert_string_equal (strv_env_get (spec->process->env, "PATH"), "/app/bin");
  assert_string_equal (strv_env_get (spec->process->env, "MODE"), "prod");
  assert_string_equal (strv_env_get (spec->process->env, "TERM"), "xterm");
  assert_string_equal (spec->process->cwd, "/srv");
  assert_int_equal (spec->process->uid, 1000);
  assert_int_equal (spec->process->gid, 50);
  assert_false (spec->process->terminal);
  json_t *doc = json_loads (text, 0, NULL);
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (doc, "annotations"), "version")), "1.2");
  assert_string_equal (json_string_value (json_object_get (json_object_get (doc, "annotations"),
                                                           "org.opencontainers.image.stopSignal")),
                       "SIGQUIT");
  json_decref (doc);
  spec_free (spec);
  json_decref (ic);

  /* a numeric user: its passwd group when listed, else 0 */
  for (int i = 0; i < 2; i++)
    {
      ic = json_loads (i ? "{\"Cmd\":[\"sh\"],\"User\":\"1000\"}"
                         : "{\"Cmd\":[\"sh\"],\"User\":\"4242\"}",
                       0, NULL);
      free (TAKE_PTR (text));
      assert_int_equal (image_spec_json (&text, ic, rootfd, &err), 0);
      assert_int_equal (spec_parse (&spec, text, strlen (text), "config.json", &err), 0);
      assert_int_equal (spec->process->uid, i ? 1000 : 4242);
      assert_int_equal (spec->process->gid, i ? 1001 : 0);
      spec_free (spec);
      spec = NULL;
      json_decref (ic);
    }

  /* a user the rootfs does not list is an error naming it */
  ic = json_loads ("{\"Cmd\":[\"sh\"],\"User\":\"ghost\"}", 0, NULL);
  free (TAKE_PTR (text));
  assert_true (image_spec_json (&text, ic, rootfd, &err) < 0);
  assert_non_null (strstr (err->msg, "ghost"));
  json_decref (ic);
  sys_close (rootfd);
  fake_kernel_free (k);
}

static void
bundle_mounts_an_overlay_and_gc_keeps_its_layers (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  struct bundle_opts o = { .image = "app", .dir = "/b1" };
  const struct fake_mount *m;
  struct gc_report rep;
  char id[DIGEST_LEN + 1];
  bool copied;

  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  if (image_bundle (s, &o, &copied, &err) < 0)
    fail_msg ("bundle: %s", err->msg);
  assert_false (copied);
  m = fake_mount_find (k, fake_current_pid (k), "/b1/rootfs");
  assert_non_null (m);
  assert_string_equal (m->fstype, "overlay");
  assert_non_null (strstr (m->data, "upperdir=/b1/upper,workdir=/b1/work"));
  assert_non_null (strstr (m->data, "lowerdir=" STORE "/layers/sha256/"));
  assert_true (fake_exists (k, "/b1/config.json"));
  expect_refs (s, "app", 2); /* the name and the bundle */
  assert_int_equal (image_remove (s, "app", &err), 0);
  store_close (s);
  s = fx_store_open (STORE, true);
  assert_int_equal (store_gc (s, &rep, &err), 0);
  assert_int_equal (fx_count_in (STORE "/layers/sha256"), 1); /* the bundle uses it */
  assert_int_equal (image_unbundle (s, "/b1", &err), 0);
  assert_null (fake_mount_find (k, fake_current_pid (k), "/b1/rootfs"));
  assert_false (fake_exists (k, "/b1"));
  assert_int_equal (store_gc (s, &rep, &err), 0);
  assert_int_equal (fx_count_in (STORE "/layers/sha256"), 0);
  store_close (s);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  fake_kernel_free (k);
}

#define OTHER_BOOT "11111111-2222-4333-8444-555555555555"

/* Import "app", close the store (the record's lock goes), reboot. */
static struct image *
import_then_reboot (struct fake_kernel *k)
{
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  struct image *img;

  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  assert_int_equal (store_image_get (&img, s, "app", &err), 0);
  assert_int_equal (fx_store_covered (STORE), 1);
  store_close (s);
  fake_reboot (k, OTHER_BOOT);
  return img;
}

/* After a power cut a blob listed in a record may be torn: the first command after the
 * reboot hashes it again and removes it, and the image then fails naming it and saying what
 * to do, where it once trusted the name. */
static void
a_blob_torn_by_a_crash_is_removed_after_the_reboot (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct image *img = import_then_reboot (k);
  _cleanup_free_ char *blob = xasprintf (STORE "/blobs/sha256/%s", DIGEST_HEX (img->layers[0]));
  _cleanup_free_ char *layer = xasprintf (STORE "/layers/sha256/%s", DIGEST_HEX (img->diff_ids[0]));
  _cleanup_err_ struct focker_err *err = NULL;
  struct bundle_opts o = { .image = "app", .dir = "/b5" };
  struct store *s;
  bool copied;

  put_bytes (blob, "\x1f\x8b", 2); /* a prefix of the gzip stream: what writeback got to */
  s = fx_store_open (STORE, false);
  assert_false (fake_exists (k, blob));
  assert_false (fake_exists (k, layer));
  assert_int_equal (fx_count_in (STORE "/unsynced"), 0);
  fx_store_check (STORE);
  assert_int_equal (image_bundle (s, &o, &copied, &err), -ENOENT);
  assert_non_null (strstr (err->msg, "image app"));
  assert_non_null (strstr (err->msg, img->layers[0]));
  assert_non_null (strstr (err->msg, "pull the image again"));
  assert_null (strchr (err->msg, '\n'));
  assert_false (fake_exists (k, "/b5"));
  image_free (img);
  store_close (s);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  fake_kernel_free (k);
}

/* An image whose config blob is gone (recovery removed it after a crash) does not hide the
 * others: `images` lists them and warns about it, gc refuses naming it and saying how to
 * remove it, and rmi removes it without reading it; gc then runs. */
static void
a_damaged_image_can_be_listed_around_and_removed (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *config = NULL, *list = NULL;
  struct tarb *t = tarb_new (TARB_GZIP);
  char id[DIGEST_LEN + 1], other[DIGEST_LEN + 1];
  struct gc_report rep;
  struct image *img;
  const char *buf;
  size_t len;
  json_t *l;

  (void)state;
  tarb_file (t, "other", "x", 0644);
  buf = tarb_end (t, &len);
  put_bytes ("/other.tar.gz", buf, len);
  tarb_free (t);
  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  assert_int_equal (image_import (s, AT_FDCWD, "/other.tar.gz", "other", other, &err), 0);
  config = xasprintf (STORE "/blobs/sha256/%s", DIGEST_HEX (id));
  assert_int_equal (sys_unlinkat (AT_FDCWD, config, 0), 0);
  assert_int_equal (image_list_json (&list, s, &err), 0);
  l = json_loads (list, 0, NULL);
  assert_int_equal (json_array_size (l), 1);
  assert_string_equal (json_string_value (json_object_get (json_array_get (l, 0), "id")), other);
  json_decref (l);
  assert_true (store_gc (s, &rep, &err) < 0);
  assert_non_null (strstr (err->msg, "image app:latest cannot be read"));
  assert_non_null (strstr (err->msg, "focker rmi app:latest"));
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (image_remove (s, "app", &err), 0);
  free (TAKE_PTR (config));
  assert_int_equal (store_gc (s, &rep, &err), 0);
  assert_true (rep.blobs > 0);
  assert_int_equal (store_image_get (&img, s, "app", &err), -ENOENT);
  assert_non_null (strstr (err->msg, "not in the store"));
  focker_err_free (TAKE_PTR (err));
  store_close (s);
  fake_kernel_free (k);
}

/* A layer listed in a record is removed after the reboot (its files may be empty: nothing
 * fsync'd them), and the next bundle unpacks it again from its blob, which checked good. */
static void
a_layer_named_before_a_crash_is_unpacked_again (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct image *img = import_then_reboot (k);
  _cleanup_free_ char *layer = xasprintf (STORE "/layers/sha256/%s", DIGEST_HEX (img->diff_ids[0]));
  _cleanup_free_ char *passwd = xasprintf ("%s/etc/passwd", layer);
  _cleanup_err_ struct focker_err *err = NULL;
  struct bundle_opts o = { .image = "app", .dir = "/b6" };
  struct store *s;
  bool copied;

  put_bytes (passwd, "", 0); /* a file whose data never reached the disk */
  s = fx_store_open (STORE, false);
  assert_false (fake_exists (k, layer));
  assert_int_equal (fx_count_in (STORE "/blobs/sha256"), 3); /* config, manifest, layer */
  assert_int_equal (fx_count_in (STORE "/unsynced"), 0);
  if (image_bundle (s, &o, &copied, &err) < 0)
    fail_msg ("bundle: %s", err->msg);
  assert_true (fake_exists (k, passwd));
  /* unpacked again: listed again, alone (the blobs checked good after the reboot) */
  char **names = fx_names_in (STORE "/unsynced");
  _cleanup_free_ char *path = xasprintf (STORE "/unsynced/%s", names[0]), *text = NULL;
  _cleanup_free_ char *line = xasprintf ("L %s\n", img->diff_ids[0]);
  size_t len;
  assert_null (names[1]);
  strv_free (names);
  assert_int_equal (read_file_at (&text, &len, AT_FDCWD, path, 4096, &err), 0);
  assert_string_equal (text, line);
  assert_int_equal (image_unbundle (s, "/b6", &err), 0);
  image_free (img);
  store_close (s);
  fake_kernel_free (k);
}

/* Records of this boot: one whose flock is held (its command runs) stays; once it ended, gc
 * (the store held exclusive) syncs the file system and only then removes the record. */
static void
records_of_this_boot_go_after_a_syncfs_once_their_command_ended (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false), *gc;
  _cleanup_err_ struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  size_t start;
  long synced = -1, removed = -1;

  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  store_close (s);
  char **names = fx_names_in (STORE "/unsynced");
  _cleanup_free_ char *path = xasprintf (STORE "/unsynced/%s", names[0]);
  strv_free (names);
  int held = sys_openat (AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0); /* a command still running */
  assert_int_equal (sys_flock (held, LOCK_EX), 0);
  gc = fx_store_open (STORE, true);
  store_close (gc);
  assert_true (fake_exists (k, path));
  sys_close (held);
  start = fake_journal_len (k);
  gc = fx_store_open (STORE, true);
  assert_int_equal (fx_count_in (STORE "/unsynced"), 0);
  for (size_t i = start; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if (c->id == SYS_ID_syncfs && synced < 0)
        synced = (long)i;
      if (c->id == SYS_ID_unlinkat && removed < 0)
        removed = (long)i;
    }
  assert_true (synced >= 0 && removed > synced);
  store_close (gc);
  fake_kernel_free (k);
}

/* A writing command that is not gc removes the ended records of this boot only once 16 have
 * piled up (a syncfs waits for everything dirty on the file system). */
static void
a_writer_removes_records_once_sixteen_piled_up (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  _cleanup_err_ struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  struct store *s;

  for (int i = 0; i < 16; i++)
    {
      s = fx_store_open (STORE, false);
      assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
      store_close (s);
      assert_int_equal (fx_count_in (STORE "/unsynced"), (size_t)i + 1);
    }
  assert_int_equal (fx_count_calls (k, SYS_ID_syncfs), 0);
  s = fx_store_open (STORE, false);
  assert_int_equal (fx_count_in (STORE "/unsynced"), 0);
  assert_int_equal (fx_count_calls (k, SYS_ID_syncfs), 1);
  store_close (s);
  fake_kernel_free (k);
}

/* Recovery removes only a blob it read whole and found wrong.  One it cannot open or read
 * (EMFILE here, any transient error) is kept: the open fails and the next one checks it
 * again.  Every openat of the open fails in turn. */
static void
a_blob_recovery_cannot_read_is_kept (void **state)
{
  for (long n = 1;; n++)
    {
      struct fake_kernel *k = kernel_with_tar ();
      struct image *img = import_then_reboot (k);
      struct focker_err *err = NULL;
      struct store *s = NULL;
      long hit;
      int r;

      fake_fail_nth (k, n, false, EMFILE, SYS_MASK (openat));
      r = store_open (&s, STORE, true, false, &err);
      hit = fake_faults_hit (k);
      fake_fail_nth (k, 0, false, 0, 0);
      focker_err_free (err);
      if (r == 0)
        store_close (s);
      if (fx_count_in (STORE "/blobs/sha256") != 3)
        fail_msg ("openat #%ld failing with EMFILE during recovery: %zu of 3 good blobs left", n,
                  fx_count_in (STORE "/blobs/sha256"));
      image_free (img);
      fake_kernel_free (k);
      if (hit == 0)
        break;
    }
}

/* A record holding a NUL byte (a region whose writeback failed, then a later append that
 * synced) is read to its end: the NUL is garbage like a torn line, and a torn blob listed
 * after it is removed. */
static void
a_record_with_a_nul_still_has_its_later_lines_recovered (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct image *img = import_then_reboot (k);
  _cleanup_free_ char *blob = xasprintf (STORE "/blobs/sha256/%s", DIGEST_HEX (img->layers[0]));
  _cleanup_err_ struct focker_err *err = NULL;
  char **names = fx_names_in (STORE "/unsynced");
  _cleanup_free_ char *path = xasprintf (STORE "/unsynced/%s", names[0]), *text = NULL;
  size_t len;
  struct store *s;

  strv_free (names);
  assert_int_equal (read_file_at (&text, &len, AT_FDCWD, path, 1 << 20, &err), 0);
  char *nul = xmalloc (len + 2);
  memcpy (nul, "\0\n", 2); /* a torn line, then every line as it was */
  memcpy (nul + 2, text, len);
  put_bytes (path, nul, len + 2);
  free (nul);
  put_bytes (blob, "\x1f\x8b", 2);
  s = fx_store_open (STORE, false);
  store_close (s);
  if (fake_exists (k, blob))
    fail_msg ("torn blob %s kept: the record's lines after a NUL were not read", img->layers[0]);
  image_free (img);
  fake_kernel_free (k);
}

static void
records_gone_and_a_command_runs (struct fake_kernel *k, void *arg)
{
  char **names = fx_names_in (STORE "/unsynced");
  int *held = arg;

  (void)k;
  /* another command got the store exclusive first, recovered, and runs on (a pull) */
  for (char **p = names; *p; p++)
    {
      _cleanup_free_ char *path = xasprintf (STORE "/unsynced/%s", *p);
      assert_int_equal (sys_unlinkat (AT_FDCWD, path, 0), 0);
    }
  strv_free (names);
  *held = sys_openat (AT_FDCWD, STORE "/locks/store", O_RDONLY | O_CLOEXEC, 0);
  assert_int_equal (sys_flock (*held, LOCK_SH), 0);
}

/* Two commands start together after a reboot and both list the old records; one recovers
 * and goes on holding the store shared (a long pull).  The other must not wait for the store
 * exclusive, that is for the whole of that command, with nothing left to recover: it looks
 * again under locks/recover and goes on shared.  (The fake reports such a wait as EDEADLK:
 * nothing else can run.) */
static void
an_open_does_not_wait_for_exclusive_once_the_records_are_gone (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct image *img = import_then_reboot (k);
  struct focker_err *err = NULL;
  struct store *s = NULL;
  int held = -1, r;

  /* flock #1: store_open's LOCK_SH; #2: the next one, when the other command has recovered */
  fake_on_call (k, SYS_ID_flock, 2, records_gone_and_a_command_runs, &held);
  r = store_open (&s, STORE, true, false, &err);
  if (r < 0)
    fail_msg ("store_open waited for another command's whole run: %s", err->msg);
  store_close (s);
  sys_close (held);
  image_free (img);
  fake_kernel_free (k);
}

/* The first open of a new store makes unsynced/ and syncs the root at once: a record is
 * fsync'd with unsynced/, whose own name must be durable before it.  Later opens do not. */
static void
a_new_store_syncs_its_root_once_unsynced_is_made (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct store *s;
  long at;

  (void)state;
  s = fx_store_open (STORE, false);
  store_close (s);
  at = -1;
  for (size_t i = 0; i < fake_journal_len (k); i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      if (c->id == SYS_ID_mkdirat && strncmp (c->args, "unsynced ", 9) == 0 && c->result == 0)
        at = (long)i;
    }
  assert_true (at >= 0);
  assert_int_equal (fake_journal_at (k, (size_t)at + 1)->id, SYS_ID_fsync);
  assert_int_equal (fake_journal_at (k, (size_t)at + 1)->result, 0);
  {
    size_t fsyncs = fx_count_calls (k, SYS_ID_fsync);
    s = fx_store_open (STORE, false);
    store_close (s);
    assert_int_equal (fx_count_calls (k, SYS_ID_fsync), fsyncs);
  }
  fake_kernel_free (k);
}

static void
bundle_copies_when_asked (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  struct bundle_opts o = { .image = "app", .dir = "/b2", .copy = true };
  char id[DIGEST_LEN + 1];
  bool copied;
  struct stat st;

  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  if (image_bundle (s, &o, &copied, &err) < 0)
    fail_msg ("bundle: %s", err->msg);
  assert_true (copied);
  assert_null (fake_mount_find (k, fake_current_pid (k), "/b2/rootfs"));
  assert_int_equal (fake_lstat (k, "/b2/rootfs/bin/sh", &st), 0);
  assert_int_equal (st.st_mode, S_IFREG | 0755);
  assert_int_equal (fake_lstat (k, "/b2/rootfs/bin/ls", &st), 0);
  assert_true (S_ISLNK (st.st_mode));
  assert_int_equal (image_unbundle (s, "/b2", &err), 0);
  assert_false (fake_exists (k, "/b2"));
  store_close (s);
  fake_kernel_free (k);
}

/* No overlayfs (mount says ENODEV): the bundle is a copy, and says so. */
static void
bundle_falls_back_to_a_copy_without_overlay (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  struct bundle_opts o = { .image = "app", .dir = "/b4" };
  char id[DIGEST_LEN + 1];
  bool copied = false;

  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  fake_fail_nth (k, 1, true, ENODEV, SYS_MASK (mount));
  if (image_bundle (s, &o, &copied, &err) < 0)
    fail_msg ("bundle: %s", err->msg);
  fake_fail_nth (k, 0, false, 0, 0);
  assert_true (copied);
  assert_true (fake_exists (k, "/b4/rootfs/bin/sh"));
  assert_true (fake_exists (k, "/b4/config.json"));
  assert_int_equal (image_unbundle (s, "/b4", &err), 0);
  assert_false (fake_exists (k, "/b4"));
  store_close (s);
  fake_kernel_free (k);
}

struct store_ops
{
  void (*prepare) (struct store *s);
  int (*op) (struct store *s, struct focker_err **err);
};

static int
store_fault_run (struct fx_fault *f, void *ctx)
{
  const struct store_ops *o = ctx;
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  struct image *img = NULL;
  struct gc_report rep;
  int r;

  o->prepare (s);
  fx_fault_arm (f, k);
  r = o->op (s, &err);
  fx_fault_disarm (f);
  if (!f->persist)
    fx_store_covered (STORE); /* nothing named without a record, no half-made record */
  store_close (s);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  s = fx_store_open (STORE, true);
  if (r == 0)
    {
      assert_int_equal (store_image_get (&img, s, "app", &err), 0);
      image_free (img);
      fx_store_check (STORE);
    }
  else
    {
      assert_non_null (err);
      assert_int_equal (err->code, r);
      focker_err_free (TAKE_PTR (err));
      assert_true (store_image_get (&img, s, "app", &err) < 0);
      focker_err_free (TAKE_PTR (err));
      if (!f->persist)
        fx_store_check (STORE); /* a single fault: cleanup ran */
      assert_int_equal (store_gc (s, &rep, &err), 0);
      fx_store_check (STORE);
      /* the exclusive open removed the records, half-made ones too: their command ended */
      assert_int_equal (fx_count_in (STORE "/unsynced"), 0);
      assert_int_equal (fx_count_in (STORE "/blobs/sha256"), 0);
      assert_int_equal (fx_count_in (STORE "/layers/sha256"), 0);
    }
  store_close (s);
  fake_kernel_free (k);
  return r;
}

/* The store fault loop: `prepare` (unfaulted) then `op` with call n failing, once and
 * persistently, for every n.  Afterwards (faults off): on success "app" names a complete
 * image; on failure no name, a consistent store after a single fault, and gc empties it. */
static void
store_fault_loop (void (*prepare) (struct store *s),
                  int (*op) (struct store *s, struct focker_err **err))
{
  struct store_ops o = { prepare, op };

  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, store_fault_run, &o);
}

static void
prepare_nothing (struct store *s)
{
  (void)s;
}

static int
op_import (struct store *s, struct focker_err **err)
{
  char id[DIGEST_LEN + 1];

  return image_import (s, AT_FDCWD, IN, "app", id, err);
}

static void
import_survives_every_fault (void **state)
{
  store_fault_loop (prepare_nothing, op_import);
}

/* An archive of "app" in /out.tar, and an empty store. */
static void
prepare_archive (struct store *s)
{
  _cleanup_err_ struct focker_err *err = NULL;
  struct gc_report rep;
  char id[DIGEST_LEN + 1];

  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  assert_int_equal (image_save (s, "app", "/out.tar", &err), 0);
  assert_int_equal (image_remove (s, "app", &err), 0);
  assert_int_equal (store_gc (s, &rep, &err), 0); /* one process: nothing to exclude */
}

static int
op_load (struct store *s, struct focker_err **err)
{
  return image_load (s, "/out.tar", NULL, err);
}

static void
load_survives_every_fault (void **state)
{
  store_fault_loop (prepare_archive, op_load);
}

/* The same archive through an open fd, as `focker load` reads stdin. */
static int
op_load_fd (struct store *s, struct focker_err **err)
{
  int fd = sys_openat (AT_FDCWD, "/out.tar", O_RDONLY | O_CLOEXEC, 0), r;

  if (fd < 0)
    return focker_fail (err, fd, "open /out.tar");
  r = image_load_fd (s, fd, NULL, err);
  sys_close (fd);
  return r;
}

static void
load_from_an_fd_survives_every_fault (void **state)
{
  store_fault_loop (prepare_archive, op_load_fd);
}

/* A name without a registry also finds what `focker pull` of it names: docker.io/library/NAME
 * for one component, docker.io/NAME for more; the name as given wins. */
static void
short_names_find_images_pulled_from_docker_io (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  struct image *img;

  assert_int_equal (image_import (s, AT_FDCWD, IN, "docker.io/library/app", id, &err), 0);
  assert_int_equal (image_import (s, AT_FDCWD, IN, "docker.io/u/tool:1", id, &err), 0);
  assert_int_equal (store_image_get (&img, s, "app", &err), 0);
  assert_string_equal (img->name, "docker.io/library/app:latest");
  image_free (img);
  assert_int_equal (store_image_get (&img, s, "u/tool:1", &err), 0);
  assert_string_equal (img->name, "docker.io/u/tool:1");
  image_free (img);
  assert_int_equal (store_image_get (&img, s, "localhost/app", &err), -ENOENT);
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (store_image_get (&img, s, "tool:1", &err), -ENOENT);
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  assert_int_equal (store_image_get (&img, s, "app", &err), 0);
  assert_string_equal (img->name, "app:latest");
  image_free (img);
  assert_int_equal (image_remove (s, "u/tool:1", &err), 0);
  assert_int_equal (store_image_get (&img, s, "docker.io/u/tool:1", &err), -ENOENT);
  store_close (s);
  fake_kernel_free (k);
}

/* save to an open fd (stdout) writes the archive load reads back. */
static void
save_to_an_fd_then_load_it (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  struct image *img;
  int fd;

  assert_int_equal (image_import (s, AT_FDCWD, IN, "app:2", id, &err), 0);
  fd = sys_openat (AT_FDCWD, "/piped.tar", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  if (image_save_fd (s, "app:2", fd, &err) < 0)
    fail_msg ("save: %s", err->msg);
  sys_close (fd);
  assert_true (image_save_fd (s, "nosuch", 1, &err) < 0);
  assert_non_null (strstr (err->msg, "nosuch"));
  focker_err_free (TAKE_PTR (err));
  assert_int_equal (image_remove (s, "app:2", &err), 0);
  fd = sys_openat (AT_FDCWD, "/piped.tar", O_RDONLY | O_CLOEXEC, 0);
  if (image_load_fd (s, fd, NULL, &err) < 0)
    fail_msg ("load: %s", err->msg);
  sys_close (fd);
  assert_int_equal (store_image_get (&img, s, "app:2", &err), 0);
  assert_string_equal (img->id, id);
  image_free (img);
  store_close (s);
  fake_kernel_free (k);
}

static int
bundle_run (struct fx_fault *f, void *ctx)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  struct bundle_opts o = { .image = "app", .dir = "/b3" };
  char id[DIGEST_LEN + 1];
  bool copied = false;
  int r;

  (void)ctx;
  assert_int_equal (image_import (s, AT_FDCWD, IN, "app", id, &err), 0);
  size_t mounts = fake_mount_count (k, fake_current_pid (k));
  fx_fault_arm (f, k);
  r = image_bundle (s, &o, &copied, &err);
  fx_fault_disarm (f);
  /* + the store, its lock and the import's record */
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 6);
  if (r == 0)
    {
      assert_true (fake_exists (k, "/b3/config.json"));
      assert_int_equal (image_unbundle (s, "/b3", &err), 0);
    }
  else
    {
      assert_int_equal (err->code, r);
      if (!f->persist)
        {
          assert_int_equal (fake_mount_count (k, fake_current_pid (k)), mounts);
          assert_false (fake_exists (k, "/b3"));
        }
    }
  store_close (s);
  fake_kernel_free (k);
  return r;
}

/* After a failed bundle: no mount, no bundle directory, the image intact. */
static void
bundle_survives_every_fault (void **state)
{
  (void)state;
  fx_fault_loop (FX_FAULT_ONCE_THEN_PERSIST, bundle_run, NULL);
}

/* save writes an oci-archive that load reads back into an empty store, same image id. */
static void
save_then_load_round_trips (void **state)
{
  struct fake_kernel *k = kernel_with_tar ();
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  char id[DIGEST_LEN + 1];
  struct image *img;
  char **names = NULL;
  struct gc_report rep;

  assert_int_equal (image_import (s, AT_FDCWD, IN, "app:1", id, &err), 0);
  if (image_save (s, "app:1", "/out.tar", &err) < 0)
    fail_msg ("save: %s", err->msg);
  assert_false (fake_exists (k, "/.out.tar.tmp"));
  assert_int_equal (image_remove (s, "app:1", &err), 0);
  store_close (s);
  s = fx_store_open (STORE, true);
  assert_int_equal (store_gc (s, &rep, &err), 0);
  assert_int_equal (fx_count_in (STORE "/layers/sha256"), 0);
  if (image_load (s, "/out.tar", &names, &err) < 0)
    fail_msg ("load: %s", err->msg);
  assert_string_equal (names[0], "app:1");
  assert_null (names[1]);
  strv_free (names);
  assert_int_equal (store_image_get (&img, s, "app:1", &err), 0);
  assert_string_equal (img->id, id);
  image_free (img);
  assert_int_equal (fx_count_in (STORE "/layers/sha256"), 1);
  fx_store_check (STORE);
  store_close (s);
  assert_int_equal (fake_open_fds (k, fake_current_pid (k)), 3);
  fake_kernel_free (k);
}

/* A docker save archive: manifest.json names the config and layer files by path; docker
 * dedups a repeated layer with a symlink.  A path outside the archive is not found. */
static void
load_reads_docker_save_archives (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  struct tarb *layer = tarb_new (TARB_NONE), *arch = tarb_new (TARB_NONE);
  char diff[DIGEST_LEN + 1], cfgname[128], cfg[512], man[512];
  const char *lbuf, *abuf;
  size_t llen, alen;
  struct image *img;
  char **names = NULL;

  tarb_file (layer, "etc/hello", "hi", 0644);
  lbuf = tarb_end (layer, &llen);
  digest_buffer (lbuf, llen, diff);
  snprintf (cfg, sizeof cfg,
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
            diff, diff);
  char cd[DIGEST_LEN + 1];
  digest_buffer (cfg, strlen (cfg), cd);
  snprintf (cfgname, sizeof cfgname, "%s.json", DIGEST_HEX (cd));
  snprintf (man, sizeof man,
            "[{\"Config\":\"%s\",\"RepoTags\":[\"dk:1\",\"dk:2\"],"
            "\"Layers\":[\"a/layer.tar\",\"b/layer.tar\"]}]",
            cfgname);
  tarb_bytes (arch, "a/layer.tar", lbuf, llen);
  tarb_symlink (arch, "b/layer.tar", "../a/layer.tar");
  tarb_file (arch, cfgname, cfg, 0644);
  tarb_file (arch, "a/json", "{}", 0644);
  tarb_file (arch, "manifest.json", man, 0644);
  abuf = tarb_end (arch, &alen);
  put_bytes ("/docker.tar", abuf, alen);
  if (image_load (s, "/docker.tar", &names, &err) < 0)
    fail_msg ("load: %s", err->msg);
  assert_string_equal (names[0], "dk:1");
  assert_string_equal (names[1], "dk:2");
  strv_free (names);
  assert_int_equal (store_image_get (&img, s, "dk:2", &err), 0);
  assert_string_equal (img->id, cd);
  assert_int_equal (img->n_layers, 2);
  assert_string_equal (img->diff_ids[1], diff);
  image_free (img);
  fx_store_check (STORE);
  tarb_free (layer);
  tarb_free (arch);

  /* a layer path that leaves the archive */
  arch = tarb_new (TARB_NONE);
  snprintf (man, sizeof man,
            "[{\"Config\":\"%s\",\"RepoTags\":[\"dk:3\"],\"Layers\":[\"../etc/x\"]}]", cfgname);
  tarb_file (arch, cfgname, cfg, 0644);
  tarb_file (arch, "manifest.json", man, 0644);
  abuf = tarb_end (arch, &alen);
  put_bytes ("/docker2.tar", abuf, alen);
  assert_true (image_load (s, "/docker2.tar", NULL, &err) < 0);
  assert_non_null (strstr (err->msg, "\"../etc/x\" not in the archive"));
  tarb_free (arch);
  store_close (s);
  fake_kernel_free (k);
}

/* The default image from a busybox binary: one layer with the applet links, the same id
 * every time it is built, listed and removable; not from a file that is not ELF. */
static void
default_image_is_reproducible_listed_and_removed (void **state)
{
  struct fake_kernel *k = fake_kernel_new (NULL);
  struct store *s = fx_store_open (STORE, false);
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *list = NULL, *insp = NULL;
  char id1[DIGEST_LEN + 1], id2[DIGEST_LEN + 1];
  struct image *img = NULL;
  json_t *l;

  (void)state;
  /* busybox --list is not run: the applets come from focker's own list */
  put_bytes ("/busybox", "\177ELF-not-really-busybox", 24);
  put_bytes ("/notelf", "#!/bin/sh\n", 10);
  if (image_build_default (s, "/busybox", NULL, id1, &err) < 0)
    fail_msg ("build-default: %s", err->msg);
  if (image_build_default (s, "/busybox", "other/name", id2, &err) < 0)
    fail_msg ("build-default again: %s", err->msg);
  assert_string_equal (id1, id2);
  assert_int_equal (store_image_get (&img, s, "focker/busybox", &err), 0);
  assert_int_equal (img->n_layers, 1);
  image_free (img);
  assert_int_equal (image_list_json (&list, s, &err), 0);
  l = json_loads (list, 0, NULL);
  assert_int_equal (json_array_size (l), 2);
  assert_string_equal (json_string_value (json_object_get (json_array_get (l, 0), "id")), id1);
  json_decref (l);
  assert_int_equal (image_inspect_json (&insp, s, "other/name", &err), 0);
  assert_non_null (strstr (insp, DIGEST_HEX (id1)));
  assert_int_equal (image_remove (s, "other/name", &err), 0);
  assert_true (image_remove (s, "other/name", &err) < 0);
  assert_non_null (strstr (err->msg, "other/name"));
  focker_err_free (TAKE_PTR (err));
  assert_true (image_build_default (s, "/notelf", NULL, id1, &err) < 0);
  assert_non_null (strstr (err->msg, "not an ELF binary"));
  focker_err_free (TAKE_PTR (err));
  assert_true (image_build_default (s, "/missing", NULL, id1, &err) < 0);
  assert_non_null (strstr (err->msg, "busybox"));
  focker_err_free (TAKE_PTR (err));
  assert_true (image_build_default (s, "/busybox", "Bad Name!", id1, &err) < 0);
  fx_store_check (STORE);
  store_close (s);
  fake_kernel_free (k);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (import_names_an_image_and_unpacks_its_layer),
    cmocka_unit_test (layers_are_shared_and_gc_removes_what_no_name_uses),
    cmocka_unit_test (gc_removes_what_a_killed_tag_left),
    cmocka_unit_test (a_blob_with_another_digest_is_refused),
    cmocka_unit_test (image_config_becomes_config_json),
    cmocka_unit_test (bundle_mounts_an_overlay_and_gc_keeps_its_layers),
    cmocka_unit_test (a_blob_torn_by_a_crash_is_removed_after_the_reboot),
    cmocka_unit_test (a_damaged_image_can_be_listed_around_and_removed),
    cmocka_unit_test (a_layer_named_before_a_crash_is_unpacked_again),
    cmocka_unit_test (records_of_this_boot_go_after_a_syncfs_once_their_command_ended),
    cmocka_unit_test (a_writer_removes_records_once_sixteen_piled_up),
    cmocka_unit_test (a_blob_recovery_cannot_read_is_kept),
    cmocka_unit_test (a_record_with_a_nul_still_has_its_later_lines_recovered),
    cmocka_unit_test (an_open_does_not_wait_for_exclusive_once_the_records_are_gone),
    cmocka_unit_test (a_new_store_syncs_its_root_once_unsynced_is_made),
    cmocka_unit_test (bundle_copies_when_asked),
    cmocka_unit_test (bundle_falls_back_to_a_copy_without_overlay),
    cmocka_unit_test (import_survives_every_fault),
    cmocka_unit_test (bundle_survives_every_fault),
    cmocka_unit_test (save_then_load_round_trips),
    cmocka_unit_test (load_survives_every_fault),
    cmocka_unit_test (load_from_an_fd_survives_every_fault),
    cmocka_unit_test (save_to_an_fd_then_load_it),
    cmocka_unit_test (short_names_find_images_pulled_from_docker_io),
    cmocka_unit_test (load_reads_docker_save_archives),
    cmocka_unit_test (default_image_is_reproducible_listed_and_removed),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
