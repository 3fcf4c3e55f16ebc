/* fixture.c: see fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include "core/fsutil.h"
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
      = { "",         "unified/", "cpu/",   "cpuacct/", "cpuset/", "memory/",
          "devices/", "freezer/", "blkio/", "pids/",    "systemd/" };
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
  snprintf (path, sizeof path, FX_ROOT "/%s", id);
  return !fake_exists (w->k, path);
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

void
fx_ok_fn (struct fake_kernel *k, int r, struct focker_err *err, const char *what)
{
  if (r < 0)
    {
      fx_dump_journal (k, 25);
      fail_msg ("%s: unexpected error %d: %s", what, r, err ? err->msg : "(no message)");
    }
}
