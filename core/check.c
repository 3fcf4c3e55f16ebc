/* check.c: the probes behind `focker check` (see check.h).
 *
 * Invariants: every probe goes through the seam (files read with sys_openat/sys_read,
 * openat2 probed with a harmless O_PATH open of "/"), never writes, and never fails the
 * report: a file that cannot be read is itself the finding.  Version gates are used only
 * where no harmless probe exists (clone3: the seam's clone falls back by itself; idmapped
 * mounts: mount_setattr is not in the seam). */
#include "core/check.h"
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "sys/sys.h"
#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add (struct check_report *r, const char *name, enum check_status st, bool required,
                 const char *fix, const char *fmt, ...) __attribute__ ((format (printf, 6, 7)));

static void
add (struct check_report *r, const char *name, enum check_status st, bool required, const char *fix,
     const char *fmt, ...)
{
  va_list ap;
  char *detail = NULL;

  va_start (ap, fmt);
  if (vasprintf (&detail, fmt, ap) < 0)
    detail = NULL;
  va_end (ap);
  r->items = xrealloc (r->items, (r->n + 1) * sizeof *r->items);
  r->items[r->n++]
      = (struct check_item){ xstrdup (name), st, required, detail ? detail : xstrdup (""),
                             fix ? xstrdup (fix) : NULL };
}

/* The content of a small file with trailing newlines cut, or NULL if it cannot be read. */
static char *
slurp (const char *path)
{
  _cleanup_err_ struct focker_err *err = NULL;
  char *buf = NULL;
  size_t len = 0;

  if (read_file_at (&buf, &len, AT_FDCWD, path, 1 << 20, &err) < 0)
    return NULL;
  while (len > 0 && buf[len - 1] == '\n')
    buf[--len] = '\0';
  return buf;
}

static bool
exists (const char *path)
{
  struct stat st;
  return sys_fstatat (AT_FDCWD, path, &st, 0) == 0;
}

static bool
version_at_least (const struct check_report *r, int major, int minor)
{
  return r->kmajor > major || (r->kmajor == major && r->kminor >= minor);
}

static void
probe_namespaces (struct check_report *r)
{
  static const struct
  {
    const char *ns, *why;
    bool required;
  } nss[] = {
    { "mnt", "mounts", true },          { "pid", "process isolation", true },
    { "uts", "hostname", false },       { "ipc", "IPC isolation", false },
    { "net", "networking", false },     { "user", "rootless and uid maps", false },
    { "cgroup", "cgroup view", false }, { "time", "time namespace (5.6)", false },
  };
  for (size_t i = 0; i < sizeof nss / sizeof nss[0]; i++)
    {
      _cleanup_free_ char *path = xasprintf ("/proc/self/ns/%s", nss[i].ns);
      _cleanup_free_ char *name = xasprintf ("namespace.%s", nss[i].ns);
      bool ok = exists (path);
      add (r, name, ok ? CHECK_OK : (nss[i].required ? CHECK_MISSING : CHECK_WARN), nss[i].required,
           ok ? NULL : "a kernel built with this namespace (CONFIG_*_NS)", "%s: %s", nss[i].why,
           ok ? "available" : "no /proc/self/ns entry");
    }
}

static void
probe_userns (struct check_report *r)
{
  _cleanup_free_ char *max = slurp ("/proc/sys/user/max_user_namespaces");
  _cleanup_free_ char *clone = slurp ("/proc/sys/kernel/unprivileged_userns_clone");

  if (max && strcmp (max, "0") == 0)
    add (r, "userns.sysctl", CHECK_WARN, false, "sysctl -w user.max_user_namespaces=15000",
         "user.max_user_namespaces=0: no user namespaces (no rootless, no uid maps)");
  else if (clone && strcmp (clone, "0") == 0)
    add (r, "userns.sysctl", CHECK_WARN, false, "sysctl -w kernel.unprivileged_userns_clone=1",
         "kernel.unprivileged_userns_clone=0: only root can create user namespaces");
  else
    add (r, "userns.sysctl", CHECK_OK, false, NULL, "user.max_user_namespaces=%s%s%s",
         max ? max : "?", clone ? ", kernel.unprivileged_userns_clone=" : "", clone ? clone : "");
}

/* cgroup layout: v2 (unified), v1, or hybrid (v1 controllers plus a cgroup2 at unified/).
 * A v1 controller counts when its hierarchy is mounted at /sys/fs/cgroup/NAME. */
static void
probe_cgroup (struct check_report *r)
{
  static const char *const v1s[]
      = { "cpu",  "cpuacct", "cpuset",  "memory",     "devices", "freezer", "blkio",
          "pids", "hugetlb", "net_cls", "perf_event", "rdma",    "misc" };
  _cleanup_free_ char *v2 = slurp ("/sys/fs/cgroup/cgroup.controllers");
  _cleanup_free_ char *list = NULL;

  if (v2)
    {
      add (r, "cgroup", CHECK_OK, false, NULL, "v2, controllers: %s", *v2 ? v2 : "(none)");
      return;
    }
  list = xstrdup ("");
  for (size_t i = 0; i < sizeof v1s / sizeof v1s[0]; i++)
    {
      _cleanup_free_ char *procs = xasprintf ("/sys/fs/cgroup/%s/cgroup.procs", v1s[i]);
      if (!exists (procs))
        continue;
      char *n = xasprintf ("%s%s%s", list, *list ? " " : "", v1s[i]);
      free (list);
      list = n;
    }
  if (!*list)
    add (r, "cgroup", CHECK_WARN, false, "mount cgroup2 on /sys/fs/cgroup",
         "no cgroup hierarchy mounted: resource limits cannot be applied");
  else
    add (r, "cgroup", CHECK_OK, false, NULL, "%s, v1 controllers: %s",
         exists ("/sys/fs/cgroup/unified/cgroup.controllers") ? "hybrid" : "v1", list);
}

static bool
has_filesystem (const char *fs)
{
  _cleanup_free_ char *all = slurp ("/proc/filesystems");
  _cleanup_free_ char *needle = xasprintf ("\t%s\n", fs);
  _cleanup_free_ char *hay = all ? xasprintf ("%s\n", all) : NULL;
  return hay && strstr (hay, needle);
}

static void
probe_filesystems (struct check_report *r)
{
  bool ov = has_filesystem ("overlay");
  add (r, "overlay", ov ? CHECK_OK : CHECK_WARN, false, ov ? NULL : "modprobe overlay", "%s",
       ov ? "in /proc/filesystems" : "not in /proc/filesystems: image layers cannot be stacked");
  if (!ov)
    return;
  bool uov = version_at_least (r, 5, 11);
  add (r, "overlay.userns", uov ? CHECK_OK : CHECK_WARN, false,
       uov ? NULL : "a 5.11 or newer kernel, or fuse-overlayfs", "%s",
       uov ? "overlay mounts in a user namespace (5.11+)" : "kernel older than 5.11");
}

/* The root mount, from /proc/self/mountinfo: "rootfs" means the initramfs, which
 * pivot_root(2) cannot leave (EINVAL). */
static void
probe_pivot_root (struct check_report *r)
{
  _cleanup_free_ char *mi = slurp ("/proc/self/mountinfo");
  const char *fstype = NULL;
  char type[64] = "";

  for (char *save = NULL, *l = mi ? strtok_r (mi, "\n", &save) : NULL; l;
       l = strtok_r (NULL, "\n", &save))
    {
      char mp[4096];
      const char *sep = strstr (l, " - ");
      if (sscanf (l, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp (mp, "/") == 0 && sep
          && sscanf (sep + 3, "%63s", type) == 1)
        fstype = type;
    }
  if (!fstype)
    add (r, "pivot_root", CHECK_WARN, true, NULL, "root mount unknown (no /proc/self/mountinfo)");
  else if (strcmp (fstype, "rootfs") == 0)
    add (r, "pivot_root", CHECK_MISSING, true, "switch_root into a tmpfs, or use --no-pivot",
         "/ is the initramfs (rootfs): pivot_root fails");
  else
    add (r, "pivot_root", CHECK_OK, true, NULL, "/ is %s", fstype);
}

static void
probe_syscalls (struct check_report *r)
{
  _cleanup_free_ char *acts = slurp ("/proc/sys/kernel/seccomp/actions_avail");
  add (r, "seccomp", acts ? CHECK_OK : CHECK_WARN, false,
       acts ? NULL : "a kernel with CONFIG_SECCOMP_FILTER", "%s%s",
       acts ? "filter actions: " : "no seccomp filter support: profiles are refused",
       acts ? acts : "");

  struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
  int fd = sys_openat2 (AT_FDCWD, "/", &how, sizeof how);
  if (fd >= 0)
    sys_close (fd);
  add (r, "openat2", fd >= 0 ? CHECK_OK : CHECK_WARN, false,
       fd >= 0 ? NULL : "a 5.6 or newer kernel (focker uses a slower safe walk meanwhile)",
       fd >= 0 ? "RESOLVE_IN_ROOT available" : "unavailable (%s)", fd >= 0 ? "" : strerror (-fd));

  bool c3 = version_at_least (r, 5, 3), idm = version_at_least (r, 5, 12);
  add (r, "clone3", c3 ? CHECK_OK : CHECK_WARN, false, c3 ? NULL : "a 5.3 or newer kernel", "%s",
       c3 ? "kernel 5.3 or newer" : "older than 5.3: legacy clone is used");
  add (r, "idmapped_mounts", idm ? CHECK_OK : CHECK_WARN, false,
       idm ? NULL : "a 5.12 or newer kernel", "%s",
       idm ? "kernel 5.12 or newer" : "older than 5.12: rootfs files are chowned instead");
}

/* The kernel's build configuration: /proc/config.gz (CONFIG_IKCONFIG_PROC; gunzipped with
 * libarchive's raw reader, already linked for layers) or Debian's /boot/config-RELEASE. */
static char *
kernel_config (const char *release)
{
  _cleanup_err_ struct focker_err *err = NULL;
  _cleanup_free_ char *gz = NULL;
  size_t len = 0;

  if (read_file_at (&gz, &len, AT_FDCWD, "/proc/config.gz", 4 << 20, &err) == 0)
    {
      struct archive *a = archive_read_new ();
      struct archive_entry *e;
      char *text = NULL;
      size_t n = 0, cap = 0;
      la_ssize_t got = 0;

      archive_read_support_filter_gzip (a);
      archive_read_support_format_raw (a);
      /* the raw format takes any bytes: only what gunzipped is a config */
      if (archive_read_open_memory (a, gz, len) == ARCHIVE_OK
          && archive_read_next_header (a, &e) == ARCHIVE_OK
          && archive_filter_code (a, 0) == ARCHIVE_FILTER_GZIP)
        do
          {
            if (cap - n < 65536 + 1)
              text = xrealloc (text, cap = cap * 2 + 65536 + 1);
            got = archive_read_data (a, text + n, cap - n - 1);
            if (got > 0)
              n += (size_t)got;
          }
        while (got > 0 && n < (16u << 20));
      archive_read_free (a);
      if (text && got == 0)
        {
          text[n] = '\0';
          return text;
        }
      free (text);
    }
  if (!release)
    return NULL;
  _cleanup_free_ char *boot = xasprintf ("/boot/config-%s", release);
  return slurp (boot);
}

/* Does a list of module paths (modules.builtin, modules.dep: "kernel/net/x/MOD.ko[.xz]" at a
 * line's start) name MOD? */
static bool
lists_module (const char *list, const char *mod)
{
  size_t ml = strlen (mod);
  for (const char *l = list; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    {
      const char *end = l + strcspn (l, ":\n");
      const char *base = l;
      for (const char *c = l; c < end; c++)
        if (*c == '/')
          base = c + 1;
      if ((size_t)(end - base) > ml + 2 && strncmp (base, mod, ml) == 0
          && strncmp (base + ml, ".ko", 3) == 0)
        return true;
    }
  return false;
}

/* The kernel's own lists of what it has, read once per check and only as far as needed. */
struct kernel_lists
{
  char *release, *builtin, *dep, *cfg;
  bool read_mods, read_cfg;
};

static void
kernel_lists_clear (struct kernel_lists *k)
{
  free (k->release);
  free (k->builtin);
  free (k->dep);
  free (k->cfg);
}

/* A kernel feature that may be a module: loaded (/sys/module/MOD), built in, or a module the
 * kernel loads on first use (netlink asks for it).  A built-in feature with no parameters
 * has no /sys/module entry, so the kernel's own lists are read too: modules.builtin and
 * modules.dep under /lib/modules/RELEASE, then the kernel config (CONFIG=y or =m). */
static void
probe_module (struct check_report *r, struct kernel_lists *k, const char *name, const char *mod,
              const char *config, const char *what)
{
  _cleanup_free_ char *loaded = xasprintf ("/sys/module/%s", mod);
  _cleanup_free_ char *fix = xasprintf ("modprobe %s (or a kernel with %s)", mod, config);
  const char *how = NULL;

  if (exists (loaded))
    how = "loaded";
  if (!how && !k->read_mods)
    {
      k->read_mods = true;
      k->release = slurp ("/proc/sys/kernel/osrelease");
      if (k->release)
        {
          _cleanup_free_ char *b = xasprintf ("/lib/modules/%s/modules.builtin", k->release);
          _cleanup_free_ char *d = xasprintf ("/lib/modules/%s/modules.dep", k->release);
          k->builtin = slurp (b);
          k->dep = slurp (d);
        }
    }
  if (!how && lists_module (k->builtin, mod))
    how = "built into the kernel";
  else if (!how && lists_module (k->dep, mod))
    how = "a module, loaded on first use";
  if (!how && !k->read_cfg)
    {
      k->read_cfg = true;
      k->cfg = kernel_config (k->release);
    }
  if (!how && k->cfg)
    {
      _cleanup_free_ char *y = xasprintf ("\n%s=y\n", config);
      _cleanup_free_ char *m = xasprintf ("\n%s=m\n", config);
      if (strstr (k->cfg, y))
        how = "built into the kernel";
      else if (strstr (k->cfg, m))
        how = "a module, loaded on first use";
    }
  add (r, name, how ? CHECK_OK : CHECK_WARN, false, how ? NULL : fix, "%s: %s", what,
       how ? how : "not loaded, and neither built in nor a module by the kernel's lists");
}

static void
probe_lsm (struct check_report *r)
{
  _cleanup_free_ char *enforce = slurp ("/sys/fs/selinux/enforce");
  _cleanup_free_ char *aa = slurp ("/sys/module/apparmor/parameters/enabled");

  add (r, "selinux", CHECK_OK, false, NULL, "%s",
       !enforce                     ? "not enabled (labels in config.json are ignored)"
       : strcmp (enforce, "1") == 0 ? "enforcing"
                                    : "permissive");
  add (r, "apparmor", CHECK_OK, false, NULL, "%s",
       aa && aa[0] == 'Y' ? "enabled" : "not enabled (profiles in config.json are ignored)");
}

int
check_host (struct check_report **out, struct focker_err **err)
{
  struct check_report *r = xcalloc (1, sizeof *r);
  int ret = sys_kernel_version (&r->kmajor, &r->kminor);

  if (ret < 0)
    {
      check_report_free (r);
      return focker_fail (err, ret, "kernel version");
    }
  add (r, "kernel", CHECK_OK, false, NULL, "%d.%d", r->kmajor, r->kminor);
  probe_namespaces (r);
  probe_userns (r);
  probe_cgroup (r);
  probe_filesystems (r);
  probe_pivot_root (r);
  probe_syscalls (r);
  struct kernel_lists k = { 0 };
  probe_module (r, &k, "nftables", "nf_tables", "CONFIG_NF_TABLES", "port publishing (nf_tables)");
  probe_module (r, &k, "bridge", "bridge", "CONFIG_BRIDGE", "bridge networking");
  probe_module (r, &k, "veth", "veth", "CONFIG_VETH", "container network links");
  kernel_lists_clear (&k);
  probe_lsm (r);
  *out = r;
  return 0;
}

bool
check_report_ok (const struct check_report *r)
{
  for (size_t i = 0; i < r->n; i++)
    if (r->items[i].required && r->items[i].status == CHECK_MISSING)
      return false;
  return true;
}

void
check_report_free (struct check_report *r)
{
  if (!r)
    return;
  for (size_t i = 0; i < r->n; i++)
    {
      free (r->items[i].name);
      free (r->items[i].detail);
      free (r->items[i].fix);
    }
  free (r->items);
  free (r);
}

/* ---- image: the kernel its libc was built for ---------------------------------------- */

int
check_elf_abi_tag (const unsigned char *buf, size_t len, int *major, int *minor, int *sub)
{
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;

  if (len < sizeof *eh || memcmp (eh->e_ident, ELFMAG, SELFMAG) != 0
      || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB
      || eh->e_phentsize != sizeof (Elf64_Phdr) || eh->e_phoff > len
      || (len - eh->e_phoff) / sizeof (Elf64_Phdr) < eh->e_phnum)
    return -EINVAL;
  for (size_t i = 0; i < eh->e_phnum; i++)
    {
      Elf64_Phdr ph;
      memcpy (&ph, buf + eh->e_phoff + i * sizeof ph, sizeof ph);
      if (ph.p_type != PT_NOTE || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
        continue;
      size_t off = ph.p_offset, end = ph.p_offset + ph.p_filesz;
      while (end - off >= sizeof (Elf64_Nhdr))
        {
          Elf64_Nhdr nh;
          memcpy (&nh, buf + off, sizeof nh);
          size_t name_off = off + sizeof nh;
          size_t desc_off = name_off + ((nh.n_namesz + 3) & ~3u);
          size_t next = desc_off + ((nh.n_descsz + 3) & ~3u);
          if (next > end || next <= off)
            break;
          if (nh.n_type == NT_GNU_ABI_TAG && nh.n_namesz == 4
              && memcmp (buf + name_off, "GNU", 4) == 0 && nh.n_descsz >= 16)
            {
              uint32_t d[4];
              memcpy (d, buf + desc_off, sizeof d);
              if (d[0] != ELF_NOTE_OS_LINUX)
                return -EINVAL;
              *major = (int)d[1], *minor = (int)d[2], *sub = (int)d[3];
              return 0;
            }
          off = next;
        }
    }
  return -ENOENT;
}

/* Open `path` inside the rootfs: RESOLVE_IN_ROOT keeps absolute symlinks (lib64/ld-linux
 * points at /lib/...) inside it; without openat2, only paths with no symlink are opened. */
static int
open_in_rootfs (int rootfd, const char *path)
{
  struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
  int fd = sys_openat2 (rootfd, path, &how, sizeof how);
  if (fd == -ENOSYS)
    fd = sys_openat (rootfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  return fd;
}

static void
check_one_elf (struct check_report *r, int rootfd, const char *label, const char *const *paths)
{
  for (size_t i = 0; paths[i]; i++)
    {
      _cleanup_close_ int fd = open_in_rootfs (rootfd, paths[i]);
      _cleanup_free_ unsigned char *buf = NULL;
      int maj, min, sub;
      if (fd < 0)
        continue;
      buf = xmalloc (1 << 16); /* the note follows the program headers, near the start */
      ssize_t n = read_all (fd, buf, 1 << 16);
      int ret = n < 0 ? (int)n : check_elf_abi_tag (buf, (size_t)n, &maj, &min, &sub);
      if (ret == -ENOENT)
        add (r, label, CHECK_OK, false, NULL, "%s: no ABI note (musl or static)", paths[i]);
      else if (ret < 0)
        add (r, label, CHECK_WARN, false, NULL, "%s: not a 64-bit ELF (%s)", paths[i],
             strerror (-ret));
      else if (version_at_least (r, maj, min))
        add (r, label, CHECK_OK, false, NULL, "%s needs Linux %d.%d.%d, have %d.%d", paths[i], maj,
             min, sub, r->kmajor, r->kminor);
      else
        add (r, label, CHECK_MISSING, true, "a newer kernel, or an image with an older libc",
             "%s needs Linux %d.%d.%d, have %d.%d", paths[i], maj, min, sub, r->kmajor, r->kminor);
      return;
    }
  add (r, label, CHECK_OK, false, NULL, "none found");
}

int
check_image (struct check_report *r, const char *rootfs, struct focker_err **err)
{
  static const char *const loaders[] = { "lib64/ld-linux-x86-64.so.2",
                                         "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                                         "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                                         "lib/ld-linux-aarch64.so.1",
                                         "lib/ld-musl-x86_64.so.1",
                                         NULL };
  static const char *const libcs[] = { "lib/x86_64-linux-gnu/libc.so.6",
                                       "usr/lib/x86_64-linux-gnu/libc.so.6",
                                       "lib64/libc.so.6",
                                       "usr/lib64/libc.so.6",
                                       "lib/libc.so.6",
                                       NULL };
  static const char *const selinux[]
      = { "lib/x86_64-linux-gnu/libselinux.so.1", "usr/lib/x86_64-linux-gnu/libselinux.so.1",
          "usr/lib64/libselinux.so.1", "lib64/libselinux.so.1", NULL };
  _cleanup_close_ int rootfd = open_dir_at (AT_FDCWD, rootfs, err);

  if (rootfd < 0)
    return focker_err_prefix (err, "image rootfs");
  check_one_elf (r, rootfd, "image.loader", loaders);
  check_one_elf (r, rootfd, "image.libc", libcs);
  for (size_t i = 0; selinux[i]; i++)
    {
      _cleanup_close_ int fd = open_in_rootfs (rootfd, selinux[i]);
      if (fd < 0)
        continue;
      bool host = exists ("/sys/fs/selinux/enforce");
      add (r, "image.libselinux", host ? CHECK_OK : CHECK_WARN, false, NULL, "%s%s", selinux[i],
           host ? ""
                : ": SELinux-aware libc, host has no SELinux (focker masks "
                  "/sys/fs/selinux so it stays off)");
      break;
    }
  return 0;
}
