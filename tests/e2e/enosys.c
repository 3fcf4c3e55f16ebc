/* enosys.c: run a command with openat2, clone3, mount_setattr and pidfd_open failing with
 * ENOSYS.
 *
 * Usage: build/enosys COMMAND [ARGS...]
 * A test harness, not part of focker: it installs a seccomp filter (inherited by every
 * descendant, containers included) so the fallbacks that kernels older than 5.3 / 5.6 / 5.12
 * take run on a new kernel too (without pidfd_open, exec joins namespaces through
 * /proc/PID/ns files, as before 5.8) (`make vm-check` runs the e2e suite under it).  Other
 * syscalls and other architectures' calling conventions are allowed untouched. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define NR_IS(nr) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, (nr), 3, 0)

int
main (int argc, char **argv)
{
  struct sock_filter code[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 4, 0),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 3, 0),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_mount_setattr, 2, 0),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
  };
  struct sock_fprog prog = { sizeof code / sizeof code[0], code };

  if (argc < 2)
    {
      fprintf (stderr, "usage: enosys COMMAND [ARGS...]\n");
      return 2;
    }
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
      || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
    {
      perror ("enosys: seccomp");
      return 1;
    }
  execvp (argv[1], argv + 1);
  perror (argv[1]);
  return 127;
}
