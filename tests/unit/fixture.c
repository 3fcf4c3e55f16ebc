/* fixture.c: see fixture.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include "core/cleanup.h"
#include "core/container.h"
#include "core/digest.h"
#include "core/fsutil.h"
#include "core/store.h"
#include "core/strv.h"
#include "tests/unit/fixture.h"

void
fx_world_init (struct fx_world *w, const struct fake_personality *p, const char *config)
{
  w->k = fake_kernel_new (p);
  assert_int_equal (fake_write_file (w->k, FX_BUNDLE "/config.json", config, 0644), 0);
  assert_int_equal (fake_write_file (w->k, FX_BUNDLE "/rootfs/bin/sh", "ELF", 0755), 0);
  for (const char *const *d = (const char *const[]){ "proc", "dev", "sys", "tmp", NULL }; *d; d++)
    {
      char path[64];
      snprintf (path, sizeof path, FX_BUNDLE "/rootfs/%s", *d);
      assert_int_equal (fake_mkdir_p (w->k, path, 0755), 0);
    }
  w->cli = fake_current_pid (w->k);
}

void
fx_world_fini (struct fx_world *w)
{
  fake_kernel_free (w->k);
  w->k = NULL;
}

void
fx_next_command (struct fx_world *w)
{
  fake_exit (w->k, w->cli, 0);
  w->cli = fake_spawn (w->k);
}

int
fx_live_processes (struct fx_world *w)
{
  int n = 0;

  for (pid_t p = 2; p < 4096; p++)
    {
      struct fake_proc *fp = fake_proc (w->k, p);
      if (fp && fp->alive && !fp->zombie && p != w->cli)
        n++;
    }
  return n;
}

char *
fx_read (const char *path)
{
  int fd = sys_openat (AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  char *buf;
  ssize_t n;

  if (fd < 0)
    return NULL;
  buf = calloc (1, 65536);
  n = sys_read (fd, buf, 65535);
  sys_close (fd);
  assert_true (n >= 0);
  return buf;
}

/* A directory whose name starts with "focker" in `dir`? */
static bool
has_focker_entry (const char *dir)
{
  int fd = sys_openat (AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  char buf[4096];
  bool found = false;
  ssize_t got;

  if (fd < 0)
    return false;
  while (!found && (got = sys_getdents64 (fd, buf, sizeof buf)) > 0)
    for (ssize_t off = 0; off < got;)
      {
        struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(buf + off);
        off += d->d_reclen;
        if (strncmp (d->d_name, "focker", 6) == 0 && d->d_type == DT_DIR)
          found = true;
      }
  sys_close (fd);
  return found;
}

bool
fx_no_cgroup_left (void)
{
  static const char *const hiers[]
      = { "",         "unified/", "cpu/",   "cpuacct/", "cpuset/",  "memory/",
          "devices/", "freezer/", "blkio/", "pids/",    "systemd/", "hugetlb/" };
  char path[256];

  for (size_t i = 0; i < sizeof hiers / sizeof *hiers; i++)
    {
      snprintf (path, sizeof path, "/sys/fs/cgroup/%s", hiers[i]);
      if (has_focker_entry (path))
        return false;
    }
  return true;
}

bool
fx_nothing_left (struct fx_world *w, const char *id)
{
  char path[256];

  if (!fx_no_cgroup_left ())
    return false;
  /* the lock file <id> and its siblings <id>=..., and temporary files .<id>=... */
  snprintf (path, sizeof path, FX_ROOT "/%s", id);
  if (fake_exists (w->k, path))
    return false;
  snprintf (path, sizeof path, "%s=", id);
  if (fake_dir_count_prefix (w->k, FX_ROOT, path))
    return false;
  snprintf (path, sizeof path, ".%s=", id);
  return fake_dir_count_prefix (w->k, FX_ROOT, path) == 0;
}

void
fx_dump_journal (struct fake_kernel *k, size_t n)
{
  size_t len = k ? fake_journal_len (k) : 0;

  for (size_t i = len > n ? len - n : 0; i < len; i++)
    {
      const struct fake_call *c = fake_journal_at (k, i);
      print_error ("  [%zu] pid %d %s(%s) = %ld%s\n", i, (int)c->pid, sys_names[c->id], c->args,
                   c->result, c->injected ? " (injected)" : "");
    }
}

size_t
fx_count_calls (struct fake_kernel *k, enum sys_id id)
{
  size_t n = 0;

  for (long i = fake_journal_find (k, id, 0); i >= 0; i = fake_journal_find (k, id, (size_t)i + 1))
    n++;
  return n;
}

void
fx_ok_fn (struct fake_kernel *k, int r, struct focker_err *err, const char *what)
{
  if (r < 0)
    {
      fx_dump_journal (k, 25);
      fail_msg ("%s: unexpected error %d: %s", what, r, err ? err->msg : "(no message)");
    }
}

char **
fx_names_in (const char *dir)
{
  _cleanup_err_ struct focker_err *err = NULL;
  char **names = NULL;

  if (list_dir_at (&names, AT_FDCWD, dir, &err) < 0)
    fail_msg ("list %s: %s", dir, err->msg);
  return names;
}

size_t
fx_count_in (const char *dir)
{
  char **names = fx_names_in (dir);
  size_t n = strv_length (names);

  strv_free (names);
  return n;
}

void
fx_store_check (const char *root)
{
  _cleanup_free_ char *bdir = xasprintf ("%s/blobs/sha256", root);
  _cleanup_free_ char *top = xasprintf ("%s/blobs", root), *ltop = xasprintf ("%s/layers", root);
  char **blobs = fx_names_in (bdir), **tops = fx_names_in (top), **ltops = fx_names_in (ltop);
  char **names = fx_names_in (root);

  for (char **b = blobs; *b; b++)
    {
      _cleanup_free_ char *path = xasprintf ("%s/%s", bdir, *b), *buf = NULL;
      _cleanup_err_ struct focker_err *err = NULL;
      char d[DIGEST_LEN + 1];
      size_t len;
      assert_int_equal (read_file_at (&buf, &len, AT_FDCWD, path, 1 << 26, &err), 0);
      digest_buffer (buf, len, d);
      assert_string_equal (DIGEST_HEX (d), *b);
    }
  for (char **n = tops; *n; n++)
    assert_string_equal (*n, "sha256");
  for (char **n = ltops; *n; n++)
    assert_string_equal (*n, "sha256");
  for (char **n = names; *n; n++) /* index.json's and oci-layout's temporaries */
    if ((*n)[0] == '.' && strlen (*n) > 4 && strcmp (*n + strlen (*n) - 4, ".tmp") == 0)
      fail_msg ("%s/%s left", root, *n);
  strv_free (names);
  strv_free (blobs);
  strv_free (tops);
  strv_free (ltops);
}

/* Is "<kind> sha256:<hex>" a line of any record's text in `texts`? */
static bool
fx_listed (char **texts, char kind, const char *hex)
{
  _cleanup_free_ char *line = xasprintf ("%c sha256:%s\n", kind, hex);

  for (char **t = texts; *t; t++)
    if (strstr (*t, line))
      return true;
  return false;
}

size_t
fx_store_covered (const char *root)
{
  _cleanup_free_ char *udir = xasprintf ("%s/unsynced", root);
  _cleanup_free_ char *bdir = xasprintf ("%s/blobs/sha256", root);
  _cleanup_free_ char *ldir = xasprintf ("%s/layers/sha256", root);
  char **records = fx_names_in (udir), **blobs = fx_names_in (bdir), **layers = fx_names_in (ldir);
  char **texts = xcalloc (1, sizeof *texts);
  size_t n = 0;

  for (char **r = records; *r; r++, n++)
    {
      _cleanup_free_ char *path = xasprintf ("%s/%s", udir, *r), *buf = NULL;
      _cleanup_err_ struct focker_err *err = NULL;
      size_t len;
      if ((*r)[0] == '.')
        fail_msg ("half-made record %s/%s left", udir, *r);
      assert_int_equal (read_file_at (&buf, &len, AT_FDCWD, path, 1 << 20, &err), 0);
      strv_push (&texts, buf);
    }
  for (char **b = blobs; *b; b++)
    if (!fx_listed (texts, 'B', *b))
      fail_msg ("blob %s named but in no record", *b);
  for (char **l = layers; *l; l++)
    if (!fx_listed (texts, 'L', *l))
      fail_msg ("layer %s named but in no record", *l);
  strv_free (texts);
  strv_free (records);
  strv_free (blobs);
  strv_free (layers);
  return n;
}

struct store *
fx_store_open (const char *root, bool exclusive)
{
  _cleanup_err_ struct focker_err *err = NULL;
  struct store *s = NULL;

  if (store_open (&s, root, true, exclusive, &err) < 0)
    fail_msg ("store_open: %s", err->msg);
  return s;
}

void
fx_fault_arm (struct fx_fault *f, struct fake_kernel *k)
{
  f->k = k;
  f->armed = true;
  fake_fail_nth (k, f->n, f->persist, f->error, f->mask);
}

void
fx_fault_disarm (struct fx_fault *f)
{
  assert_true (f->armed);
  fake_fail_nth (f->k, 0, false, 0, 0);
  f->hit = fake_faults_hit (f->k) > 0;
  f->armed = false;
}

void
fx_fault_err (struct fx_fault *f, int r, struct focker_err **err)
{
  if (r >= 0 && *err)
    fail_msg ("fault at call %ld (persist %d): success with an error set: %s", f->n, f->persist,
              (*err)->msg);
  if (r >= 0)
    return;
  if (*err == NULL)
    fail_msg ("fault at call %ld (persist %d): %d without an error message", f->n, f->persist, r);
  if ((*err)->code != r)
    fail_msg ("fault at call %ld (persist %d): returned %d, the error says %d (%s)", f->n,
              f->persist, r, (*err)->code, (*err)->msg);
  if (strchr ((*err)->msg, '\n'))
    fail_msg ("fault at call %ld (persist %d): an error of two lines: %s", f->n, f->persist,
              (*err)->msg);
  focker_err_free (*err);
  *err = NULL;
}

/* Nothing of `id` left, and the current command holds only its stdio. */
static void
fx_assert_clean (struct fx_fault *f, struct fx_world *w, const char *id, const char *what)
{
  const char *left = NULL;

  if (fake_open_fds (w->k, w->cli) != 3)
    left = "an fd";
  else if (fx_live_processes (w) != 0)
    left = "a process";
  else if (!fx_nothing_left (w, id))
    left = "state or a cgroup";
  if (left == NULL)
    return;
  fx_dump_journal (w->k, 30);
  fail_msg ("fault at call %ld (persist %d): %s left %s", f->n, f->persist, what, left);
}

void
fx_delete_clean (struct fx_fault *f, struct fx_world *w, const char *id, const char *what)
{
  struct focker_err *err = NULL;

  fx_next_command (w);
  FX_CHECK (w->k, container_delete (FX_ROOT, id, true, &err), err);
  fx_assert_clean (f, w, id, what);
}

int
fx_create_fault_run (struct fx_fault *f, struct fx_world *w, const struct create_opts *o)
{
  struct focker_err *err = NULL;
  char path[256];
  pid_t pid = 0;
  int r;

  assert_string_equal (o->root, FX_ROOT);
  fx_fault_arm (f, w->k);
  r = container_create (o, &pid, &err);
  fx_fault_disarm (f);
  fx_fault_err (f, r, &err);
  if (fake_open_fds (w->k, w->cli) != 3)
    fail_msg ("fault at call %ld (persist %d): create left an fd", f->n, f->persist);
  snprintf (path, sizeof path, "%s/%s=state.json", o->root, o->id);
  if (r >= 0
      && (!fake_proc (w->k, pid) || !fake_proc (w->k, pid)->alive || !fake_exists (w->k, path)))
    {
      fx_dump_journal (w->k, 30);
      fail_msg ("fault at call %ld was ignored but the container is not created", f->n);
    }
  if (r >= 0 || f->persist)
    fx_delete_clean (f, w, o->id, "create, then delete --force,");
  else
    fx_assert_clean (f, w, o->id, "a failed create");
  return r;
}

int
fx_delete_fault_run (struct fx_fault *f, struct fx_world *w, const char *id)
{
  struct focker_err *err = NULL;
  int r;

  fx_next_command (w);
  fx_fault_arm (f, w->k);
  r = container_delete (FX_ROOT, id, true, &err);
  fx_fault_disarm (f);
  fx_fault_err (f, r, &err);
  if (fake_open_fds (w->k, w->cli) != 3)
    fail_msg ("fault at call %ld (persist %d): delete left an fd", f->n, f->persist);
  if (r < 0)
    fx_delete_clean (f, w, id, "a failed delete, then delete --force,");
  else
    fx_assert_clean (f, w, id, "delete");
  return r;
}

long
fx_fault_loop (enum fx_fault_mode mode, int (*body) (struct fx_fault *f, void *ctx), void *ctx)
{
  return fx_fault_loop_calls (mode, EIO, 0, body, ctx);
}

long
fx_fault_loop_calls (enum fx_fault_mode mode, int error, sys_mask_t mask,
                     int (*body) (struct fx_fault *f, void *ctx), void *ctx)
{
  long runs = 0;

  for (int persist = mode == FX_FAULT_PERSIST; persist <= (mode != FX_FAULT_ONCE); persist++)
    for (long n = 1;; n++)
      {
        struct fx_fault f = { .n = n, .persist = persist, .error = error, .mask = mask };
        int r = body (&f, ctx);

        runs++;
        if (f.armed || f.k == NULL)
          fail_msg ("fault loop: run %ld did not arm and disarm its fault", n);
        if (!f.hit && n == 1)
          fail_msg ("fault loop: the first run reached no fault: it tests nothing");
        if (!f.hit)
          {
            if (r != 0)
              fail_msg ("fault loop: run %ld reached no fault and still failed (%d)", n, r);
            break;
          }
      }
  return runs;
}
