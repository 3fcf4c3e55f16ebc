/* fuzz_inroot.c: libFuzzer target for the in-root path walk (rootfs_open_in_root,
 * rootfs_ensure_in_root) against the fake kernel.
 *
 * Input: lines.  Every line but the last plants a symlink inside the root, "LINK TARGET"
 * (LINK relative to the root, TARGET anything: absolute, "..", loops); the last line is the
 * path to resolve, and the first byte of the input picks open (even) or ensure (odd, as a file
 * when bit 1 is set).  The root is /jail/r in a fresh fake kernel; /jail/outside, /etc and
 * /tmp are the outside that symlinks point at.
 *
 * Invariant: nothing is created outside the root (the entry counts of /, /jail,
 * /jail/outside, /etc and /tmp do not change), an fd that is returned refers to something
 * inside the root, no fd is left open, and no crash, sanitizer report or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/rootfs.h"
#include "sys-fake/fake.h"

#define ROOT "/jail/r"

static const char *const outside[] = { "/", "/jail", "/jail/outside", "/etc", "/tmp" };

static void
plant (struct fake_kernel *k, char *line)
{
  char *sp = strchr (line, ' ');
  char path[512];

  if (sp == NULL || sp == line || sp[1] == '\0')
    return;
  *sp = '\0';
  /* the link itself must be inside the root: that is the setup, not the code under test */
  if (strstr (line, "..") || strlen (line) > 200 || strlen (sp + 1) > 200)
    return;
  snprintf (path, sizeof path, ROOT "/%s", line);
  (void)fake_symlink (k, sp + 1, path);
}

static void
check_fd_inside (int fd)
{
  char proc[64], target[4096];
  ssize_t n;

  snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
  n = sys_readlinkat (AT_FDCWD, proc, target, sizeof target - 1);
  if (n < 0)
    return; /* not modelled for this kind of fd */
  target[n] = '\0';
  if (strncmp (target, ROOT, strlen (ROOT)) != 0
      || (target[strlen (ROOT)] != '\0' && target[strlen (ROOT)] != '/'))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct fake_kernel *k;
  struct focker_err *err = NULL;
  size_t before[sizeof outside / sizeof *outside], fds;
  char *text, *line, *next;
  int rootfd, fd, op;

  if (size == 0 || size > 4096)
    return 0;
  op = data[0];
  text = malloc (size);
  memcpy (text, data + 1, size - 1);
  text[size - 1] = '\0';

  k = fake_kernel_new (NULL);
  if (fake_mkdir_p (k, ROOT "/etc", 0755) < 0 || fake_mkdir_p (k, "/jail/outside", 0755) < 0
      || fake_mkdir_p (k, "/tmp", 01777) < 0 || fake_mkdir_p (k, "/etc", 0755) < 0)
    abort ();
  line = text;
  while ((next = strchr (line, '\n')) != NULL)
    {
      *next = '\0';
      plant (k, line);
      line = next + 1;
    }
  for (size_t i = 0; i < sizeof outside / sizeof *outside; i++)
    before[i] = fake_dir_count (k, outside[i]);
  fds = fake_open_fds (k, fake_current_pid (k));

  rootfd = sys_openat (AT_FDCWD, ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (rootfd < 0)
    abort ();
  if (op & 1)
    fd = rootfs_ensure_in_root (rootfd, line, (op & 2) != 0, &err);
  else
    fd = rootfs_open_in_root (rootfd, line, O_PATH | O_CLOEXEC);
  if (fd >= 0)
    {
      check_fd_inside (fd);
      sys_close (fd);
    }
  else if ((op & 1) && (err == NULL || err->msg == NULL))
    abort ();
  sys_close (rootfd);

  for (size_t i = 0; i < sizeof outside / sizeof *outside; i++)
    if (fake_dir_count (k, outside[i]) != before[i])
      abort ();
  if (fake_open_fds (k, fake_current_pid (k)) != fds)
    abort ();
  focker_err_free (err);
  fake_kernel_free (k);
  free (text);
  return 0;
}
