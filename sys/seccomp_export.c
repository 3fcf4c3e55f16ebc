/* seccomp_export.c: get a compiled libseccomp filter into memory.
 *
 * Not a seam slot.  libseccomp 2.5 can only export a program to a file descriptor
 * (seccomp_export_bpf_mem arrived in 2.6), so this lends it a real anonymous memory file,
 * reads the program back and closes the file.  It touches no host or container state, which
 * is why it runs under every backend, the fake included: core/ stays free of kernel calls and
 * the fake's journal sees only what changes the kernel's model (the load). */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <seccomp.h>
#include "sys/sys.h"

int
sys_seccomp_export (void *scmp_ctx, void **prog, size_t *len)
{
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
  *prog = NULL;
  *len = 0;
  return seccomp_export_bpf_mem (scmp_ctx, NULL, len) < 0 ? -EINVAL
         : (*prog = malloc (*len ? *len : 1)) == NULL
             ? -ENOMEM
             : seccomp_export_bpf_mem (scmp_ctx, *prog, len);
#else
  int fd = memfd_create ("focker-seccomp", MFD_CLOEXEC);
  char *buf = NULL;
  size_t n = 0, cap = 0;
  ssize_t got;
  int r;

  if (fd < 0)
    return -errno;
  r = seccomp_export_bpf (scmp_ctx, fd);
  if (r < 0 || lseek (fd, 0, SEEK_SET) < 0)
    {
      r = r < 0 ? r : -errno;
      close (fd);
      return r;
    }
  for (;;)
    {
      if (n == cap)
        {
          char *nb = realloc (buf, cap = cap ? cap * 2 : 4096);
          if (nb == NULL)
            {
              free (buf);
              close (fd);
              return -ENOMEM;
            }
          buf = nb;
        }
      got = read (fd, buf + n, cap - n);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          r = -errno;
          free (buf);
          close (fd);
          return r;
        }
      if (got == 0)
        break;
      n += (size_t)got;
    }
  close (fd);
  *prog = buf;
  *len = n;
  return 0;
#endif
}
