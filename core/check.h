/* check.h: `focker check`: what this host's kernel offers focker, and what it does not.
 *
 * Every probe reads a file or makes a harmless call through the seam, so the same code runs
 * on the fake kernel's personalities in unit tests.  A probe never changes the host.  Items
 * marked required (mount and pid namespaces, a root that pivot_root can leave) make the
 * report fail; the rest say what will not work and how to fix it. */
#ifndef FOCKER_CHECK_H
#define FOCKER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include "core/err.h"

enum check_status
{
  CHECK_OK,      /* available */
  CHECK_WARN,    /* missing or restricted; focker works without it, some features do not */
  CHECK_MISSING, /* missing */
};

struct check_item
{
  char *name; /* "namespace.user", "openat2", "image.libc" */
  enum check_status status;
  bool required; /* focker cannot run a container without it */
  char *detail;  /* what was found */
  char *fix;     /* how to get it, or NULL */
};

struct check_report
{
  int kmajor, kminor;
  struct check_item *items;
  size_t n;
};

/* Probe the running kernel.  Returns 0 and *out (free with check_report_free); fails only
 * when the kernel version cannot be read. */
int check_host (struct check_report **out, struct focker_err **err);

/* Append what an image's root filesystem needs from the kernel: the NT_GNU_ABI_TAG note of
 * its dynamic loader and libc ("GNU/Linux 3.2.0" = kernel 3.2 or newer) against the running
 * kernel, and a libselinux on a host without SELinux.  `rootfs` is a directory (there is no
 * image store yet).  Fails if rootfs cannot be opened. */
int check_image (struct check_report *r, const char *rootfs, struct focker_err **err);

/* Parse the ABI note of an ELF64 little-endian image in memory: 0 and the minimum kernel
 * version, -ENOENT if it has no NT_GNU_ABI_TAG, -EINVAL if it is not such an ELF. */
int check_elf_abi_tag (const unsigned char *buf, size_t len, int *major, int *minor, int *sub);

/* true when no required item is missing. */
bool check_report_ok (const struct check_report *r);

void check_report_free (struct check_report *r);

#endif
