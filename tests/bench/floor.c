/* floor.c: the kernel work of `run` on the `crun spec` bundle, and nothing else.

   A yardstick for tests/bench: how fast can a container of that bundle start and end on
   this host when no time goes to parsing, checking, state records beyond one file, error
   handling or cleanup of failures?  focker's distance to it is its own overhead; the floor
   itself is the kernel's price (namespaces, mounts, pivot_root, cgroup v1 moves and
   directories, the state file on the runtime root's filesystem).

   It does what the bundle's config asks, hard-coded: one state file in the runtime root
   written atomically (no directory: focker's layout since it dropped its own), one directory per
   cgroup hierarchy (cpuset copied, the default device rules on v1 devices), clone3 with the pid,
   network, ipc, uts and mount namespaces (into the cgroup2 directory), the child's moves of itself
   into the v1 cgroups (a write of "0" to each `tasks` the parent opened), the seven mounts of the
   config, default device nodes and links, pivot_root, masked and read-only paths, a read-only root,
   the hostname, no_new_privs, the bounding set and capabilities of the config, RLIMIT_NOFILE, then
   exec of /bin/true; the parent waits, removes the cgroups and the state file.  No error is
   recovered from: a failing step exits non-zero.

   Not part of focker and never run by the tests: build and run it by hand, e.g.
     cc -O2 -static -o /tmp/floor tests/bench/floor.c
     measure -m /sys/fs/cgroup/unified/cgroup.controllers -r floor \
       -s "run=/tmp/floor --root /tmp/st --bundle $PWD/bundle @ID@" -r focker -s ...
   Usage: floor --root DIR --bundle DIR ID (root, a hybrid or v1 cgroup host). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define CG "/sys/fs/cgroup"

static char *hiers[32]; /* directory names under /sys/fs/cgroup: v1 hierarchies */
static int nhiers;
static char cgname[300];

static void
die (const char *what)
{
  fprintf (stderr, "floor: %s: %s\n", what, strerror (errno));
  exit (1);
}

static void
put (const char *path, const char *value)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, value, strlen (value)) < 0)
    die (path);
  close (fd);
}

static void
copy (const char *from, const char *to)
{
  char buf[256];
  int fd = open (from, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    die (from);
  buf[n] = '\0';
  close (fd);
  put (to, buf);
}

static void
find_hierarchies (void)
{
  DIR *d = opendir (CG);
  struct dirent *e;
  char p[512];

  if (d == NULL)
    die (CG);
  while ((e = readdir (d)) && nhiers < 32)
    {
      snprintf (p, sizeof p, CG "/%s/tasks", e->d_name);
      if (e->d_name[0] != '.' && access (p, F_OK) == 0)
        hiers[nhiers++] = strdup (e->d_name);
    }
  closedir (d);
}

static void
make_cgroups (void)
{
  static const char *const allow[]
      = { "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
          "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm" };
  char p[600], q[600];

  for (int i = 0; i < nhiers; i++)
    {
      snprintf (p, sizeof p, CG "/%s/%s", hiers[i], cgname);
      if (mkdir (p, 0755) < 0)
        die (p);
      if (strcmp (hiers[i], "cpuset") == 0)
        {
          snprintf (p, sizeof p, CG "/cpuset/%s/cpuset.cpus", cgname);
          copy (CG "/cpuset/cpuset.cpus", p);
          snprintf (p, sizeof p, CG "/cpuset/%s/cpuset.mems", cgname);
          copy (CG "/cpuset/cpuset.mems", p);
        }
      if (strcmp (hiers[i], "devices") == 0)
        {
          snprintf (p, sizeof p, CG "/devices/%s/devices.deny", cgname);
          put (p, "a");
          snprintf (q, sizeof q, CG "/devices/%s/devices.allow", cgname);
          for (size_t j = 0; j < sizeof allow / sizeof *allow; j++)
            put (q, allow[j]);
        }
    }
  snprintf (p, sizeof p, CG "/unified/%s", cgname);
  if (mkdir (p, 0755) < 0)
    die (p);
}

static void
mnt (const char *src, const char *dst, const char *type, unsigned long fl, const char *data)
{
  if (mount (src, dst, type, fl, data) < 0)
    die (dst);
}

static void
child_mounts (const char *rootfs)
{
  static const char *const masked[]
      = { "proc/acpi",          "proc/asound",     "proc/kcore",       "proc/keys",
          "proc/latency_stats", "proc/timer_list", "proc/timer_stats", "proc/sched_debug",
          "sys/firmware",       "proc/scsi" };
  static const char *const ro[]
      = { "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger" };
  static const struct
  {
    const char *name;
    int major, minor;
  } devs[] = { { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
               { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 } };
  char p[600];
  struct stat st;
  const unsigned long ro_fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY;

  sethostname ("crun", 4);
  mnt (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mnt (rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
  if (chdir (rootfs) < 0)
    die (rootfs);
  mkdir ("proc", 0755);
  mkdir ("dev", 0755);
  mkdir ("sys", 0755);
  mnt ("proc", "proc", "proc", 0, NULL);
  mnt ("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  mkdir ("dev/pts", 0755);
  mnt ("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
       "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mkdir ("dev/shm", 0755);
  mnt ("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
  mkdir ("dev/mqueue", 0755);
  mnt ("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
  mnt ("sysfs", "sys", "sysfs", ro_fl, NULL);
  mnt ("tmpfs", "sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755");
  for (int i = 0; i < nhiers; i++)
    {
      snprintf (p, sizeof p, "sys/fs/cgroup/%s", hiers[i]);
      mkdir (p, 0755);
      mnt ("cgroup", p, "cgroup", ro_fl,
           strcmp (hiers[i], "systemd") == 0 ? "none,name=systemd" : hiers[i]);
    }
  mkdir ("sys/fs/cgroup/unified", 0755);
  mnt ("cgroup2", "sys/fs/cgroup/unified", "cgroup2", ro_fl, NULL);
  mnt (NULL, "sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND | ro_fl, NULL);
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++)
    {
      snprintf (p, sizeof p, "dev/%s", devs[i].name);
      if (mknod (p, S_IFCHR | 0666, makedev (devs[i].major, devs[i].minor)) < 0)
        die (p);
    }
  symlink ("/proc/self/fd", "dev/fd");
  symlink ("/proc/self/fd/0", "dev/stdin");
  symlink ("/proc/self/fd/1", "dev/stdout");
  symlink ("/proc/self/fd/2", "dev/stderr");
  symlink ("pts/ptmx", "dev/ptmx");
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    die ("pivot_root");
  mnt (NULL, ".", NULL, MS_REC | MS_SLAVE, NULL);
  if (umount2 (".", MNT_DETACH) < 0 || chdir ("/") < 0)
    die ("detach old root");
  for (size_t i = 0; i < sizeof masked / sizeof *masked; i++)
    {
      snprintf (p, sizeof p, "/%s", masked[i]);
      if (lstat (p, &st) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        mnt ("tmpfs", p, "tmpfs", MS_RDONLY, "size=0");
      else
        mnt ("/dev/null", p, NULL, MS_BIND, NULL);
    }
  for (size_t i = 0; i < sizeof ro / sizeof *ro; i++)
    {
      snprintf (p, sizeof p, "/%s", ro[i]);
      if (lstat (p, &st) < 0)
        continue;
      mnt (p, p, NULL, MS_BIND | MS_REC, NULL);
      mnt (NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_REC | MS_RDONLY, NULL);
    }
  mnt (NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
}

static void
child_become (void)
{
  const uint32_t keep = (1u << CAP_AUDIT_WRITE) | (1u << CAP_KILL) | (1u << CAP_NET_BIND_SERVICE);
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
  struct __user_cap_data_struct d[2] = { { .effective = keep, .permitted = keep } };
  struct rlimit rl = { 1024, 1024 };

  setrlimit (RLIMIT_NOFILE, &rl);
  prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  for (int c = 0; c <= CAP_LAST_CAP; c++)
    if (c > 31 || !(keep & (1u << c)))
      prctl (PR_CAPBSET_DROP, c, 0, 0, 0);
  if (syscall (SYS_capset, &h, d) < 0)
    die ("capset");
  execl ("/bin/true", "/bin/true", (char *)NULL);
  die ("exec /bin/true");
}

int
main (int argc, char **argv)
{
  const char *root = NULL, *bundle = NULL, *id = NULL;
  char rootfs[512], state[512], tmp[512], p[600];
  int tasks[32], cgfd, status, fd;
  struct clone_args ca = { 0 };
  pid_t pid;

  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--root") == 0 && i + 1 < argc)
      root = argv[++i];
    else if (strcmp (argv[i], "--bundle") == 0 && i + 1 < argc)
      bundle = argv[++i];
    else if (strcmp (argv[i], "run") != 0)
      id = argv[i];
  if (!root || !bundle || !id)
    {
      fprintf (stderr, "usage: floor --root DIR --bundle DIR [run] ID\n");
      return 2;
    }
  snprintf (rootfs, sizeof rootfs, "%s/rootfs", bundle);
  snprintf (cgname, sizeof cgname, "floor-%s", id);
  /* the state: one file in the root, written atomically */
  snprintf (state, sizeof state, "%s/%s=state.json", root, id);
  snprintf (tmp, sizeof tmp, "%s/.%s=state.json.tmp", root, id);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, "{}", 2) < 0 || close (fd) < 0 || rename (tmp, state) < 0)
    die ("state");
  find_hierarchies ();
  make_cgroups ();
  /* the v1 `tasks` files, for the child to move itself (no RCU grace period, as focker) */
  for (int i = 0; i < nhiers; i++)
    {
      snprintf (p, sizeof p, CG "/%s/%s/tasks", hiers[i], cgname);
      tasks[i] = open (p, O_WRONLY | O_CLOEXEC);
      if (tasks[i] < 0)
        die (p);
    }
  snprintf (p, sizeof p, CG "/unified/%s", cgname);
  cgfd = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ca.flags
      = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_INTO_CGROUP;
  ca.exit_signal = SIGCHLD;
  ca.cgroup = (uint64_t)cgfd;
  pid = (pid_t)syscall (SYS_clone3, &ca, sizeof ca);
  if (pid < 0)
    die ("clone3");
  if (pid == 0)
    {
      for (int i = 0; i < nhiers; i++)
        if (write (tasks[i], "0", 1) != 1)
          _exit (1);
      child_mounts (rootfs);
      child_become ();
    }
  for (int i = 0; i < nhiers; i++)
    close (tasks[i]);
  if (waitpid (pid, &status, 0) < 0)
    die ("wait");
  for (int i = 0; i < nhiers; i++)
    {
      snprintf (p, sizeof p, CG "/%s/%s", hiers[i], cgname);
      if (rmdir (p) < 0)
        die (p);
    }
  snprintf (p, sizeof p, CG "/unified/%s", cgname);
  if (rmdir (p) < 0)
    die (p);
  if (unlink (state) < 0)
    die ("remove state");
  return WIFEXITED (status) ? WEXITSTATUS (status) : 1;
}
