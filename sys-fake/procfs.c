/* procfs.c: the parts of /proc (and /dev/ptmx) the runtime uses, synthesized on lookup.
 *
 * They exist whatever is (or is not) mounted: a lookup in a directory named "proc" directly
 * under the caller's root (or of "proc" itself when that directory is missing) yields
 * synthetic nodes for self, thread-self, <pid> and sys; "ptmx" in "dev" under the root
 * yields a pty multiplexer when the VFS has none.  Modelled: /proc/<pid>/fd/N and
 * /proc/<pid>/ns/<type> and /proc/<pid>/root magic links, uid_map, gid_map, setgroups (user
 * namespace maps, writable once), oom_score_adj, cgroup, and /proc/sys/... (values recorded per
 * kernel, or per network namespace for net/...).  Synthetic inodes are never linked into a
 * directory; they live until the kernel is freed like every inode. */
#include "sys-fake/internal.h"
#include <dirent.h>

static struct fake_inode *
fake_synth_new (struct fake_kernel *k, struct fake_inode *parent, enum fake_synth kind, mode_t mode,
                pid_t pid, int arg, const char *name)
{
  struct fake_inode *ino = fake_inode_new (k, mode);

  ino->synth = kind;
  ino->spid = pid;
  ino->sarg = arg;
  ino->parent = parent;
  ino->name = fake_xstrdup (name);
  ino->skey = fake_xstrdup (name);
  return ino;
}

static const char *const fake_proc_files[]
    = { "uid_map", "gid_map", "setgroups", "oom_score_adj", "cgroup" };

/* What OCI runtimes mask: present so masking them can be asserted. */
static const char *const fake_proc_masked_files[]
    = { "kcore",         "keys",          "timer_list", "timer_stats", "sched_debug",
        "latency_stats", "sysrq-trigger", "kallsyms",   "kmsg" };
static const char *const fake_proc_masked_dirs[]
    = { "acpi", "scsi", "asound", "irq", "bus", "fs", "firmware" };

static bool
fake_is_number (const char *s, long *out)
{
  char *end;

  if (*s < '0' || *s > '9')
    return false;
  *out = strtol (s, &end, 10);
  return *end == '\0';
}

static struct fake_inode *
fake_proc_root_child (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *dir,
                      const char *name)
{
  long n;

  if (strcmp (name, "self") == 0 || strcmp (name, "thread-self") == 0)
    return fake_synth_new (k, dir, FS_PROC_PID, S_IFDIR | 0555, p->pid, 0, name);
  if (fake_is_number (name, &n))
    return fake_proc_any (k, (pid_t)n)
               ? fake_synth_new (k, dir, FS_PROC_PID, S_IFDIR | 0555, (pid_t)n, 0, name)
               : NULL;
  for (size_t i = 0; i < sizeof fake_proc_masked_files / sizeof *fake_proc_masked_files; i++)
    if (strcmp (name, fake_proc_masked_files[i]) == 0)
      return fake_synth_new (k, dir, FS_PROC_FILE, S_IFREG | 0400, p->pid, 0, name);
  for (size_t i = 0; i < sizeof fake_proc_masked_dirs / sizeof *fake_proc_masked_dirs; i++)
    if (strcmp (name, fake_proc_masked_dirs[i]) == 0)
      return fake_synth_new (k, dir, FS_PROC_MISC, S_IFDIR | 0555, p->pid, 0, name);
  if (strcmp (name, "sys") == 0)
    {
      struct fake_inode *s = fake_synth_new (k, dir, FS_SYSCTL, S_IFDIR | 0555, 0, 0, name);
      free (s->skey);
      s->skey = fake_xstrdup ("");
      return s;
    }
  return NULL;
}

static struct fake_inode *
fake_proc_pid_child (struct fake_kernel *k, struct fake_inode *dir, const char *name)
{
  struct fake_proc *t = fake_proc_any (k, dir->spid);
  long n;

  if (dir->synth == FS_PROC_PID)
    {
      if (strcmp (name, "fd") == 0)
        return fake_synth_new (k, dir, FS_PROC_FDDIR, S_IFDIR | 0500, dir->spid, 0, name);
      if (strcmp (name, "ns") == 0)
        return fake_synth_new (k, dir, FS_PROC_NSDIR, S_IFDIR | 0511, dir->spid, 0, name);
      if (strcmp (name, "attr") == 0)
        return fake_synth_new (k, dir, FS_PROC_ATTRDIR, S_IFDIR | 0555, dir->spid, 0, name);
      if (strcmp (name, "root") == 0)
        return fake_synth_new (k, dir, FS_PROC_ROOTLNK, S_IFLNK | 0777, dir->spid, 0, name);
      for (size_t i = 0; i < sizeof fake_proc_files / sizeof *fake_proc_files; i++)
        if (strcmp (name, fake_proc_files[i]) == 0)
          return fake_synth_new (k, dir, FS_PROC_FILE, S_IFREG | 0644, dir->spid, 0, name);
      return NULL;
    }
  if (dir->synth == FS_PROC_ATTRDIR)
    {
      struct fake_inode *a;
      if (dir->sarg == 0 && strcmp (name, "apparmor") == 0)
        return fake_synth_new (k, dir, FS_PROC_ATTRDIR, S_IFDIR | 0555, dir->spid, 1, name);
      if (strcmp (name, "exec") != 0 && strcmp (name, "current") != 0)
        return NULL;
      a = fake_synth_new (k, dir, FS_PROC_FILE, S_IFREG | 0666, dir->spid, 0, name);
      free (a->skey);
      a->skey = fake_xasprintf ("attr/%s%s", dir->sarg ? "apparmor/" : "", name);
      return a;
    }
  if (dir->synth == FS_PROC_FDDIR)
    return fake_is_number (name, &n) && fake_fd_get (t, (int)n)
               ? fake_synth_new (k, dir, FS_PROC_FD, S_IFLNK | 0700, dir->spid, (int)n, name)
               : NULL;
  for (int i = 0; i < FAKE_NS_COUNT; i++)
    {
      char alt[32];
      snprintf (alt, sizeof alt, "%s_for_children", fake_ns_names[i]);
      if (strcmp (name, fake_ns_names[i]) == 0)
        return fake_synth_new (k, dir, FS_PROC_NS, S_IFLNK | 0777, dir->spid, i, name);
      if ((i == FAKE_NS_PID || i == FAKE_NS_TIME) && strcmp (name, alt) == 0)
        return fake_synth_new (k, dir, FS_PROC_NS, S_IFLNK | 0777, dir->spid, i + FAKE_NS_COUNT,
                               name);
    }
  return NULL;
}

struct fake_inode *
fake_procfs_lookup (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *dir,
                    const char *name, struct fake_inode *root)
{
  switch (dir->synth)
    {
    case FS_NONE:
      if (dir == root && strcmp (name, "proc") == 0 && !fake_dir_lookup (dir, name))
        return fake_synth_new (k, dir, FS_PROC_ROOT, S_IFDIR | 0555, 0, 0, name);
      if (dir->parent == root && dir->name && strcmp (dir->name, "proc") == 0)
        return fake_proc_root_child (k, p, dir, name);
      if (dir->parent == root && dir->name && strcmp (dir->name, "dev") == 0
          && strcmp (name, "ptmx") == 0 && !fake_dir_lookup (dir, name))
        return fake_synth_new (k, dir, FS_PTMX, S_IFCHR | 0666, 0, 0, name);
      return NULL;
    case FS_PROC_ROOT:
      return fake_proc_root_child (k, p, dir, name);
    case FS_PROC_PID:
    case FS_PROC_FDDIR:
    case FS_PROC_NSDIR:
    case FS_PROC_ATTRDIR:
      return fake_proc_pid_child (k, dir, name);
    case FS_SYSCTL:
      {
        struct fake_inode *s = fake_synth_new (k, dir, FS_SYSCTL, S_IFREG | 0644, 0, 0, name);
        free (s->skey);
        s->skey = *dir->skey ? fake_xasprintf ("%s/%s", dir->skey, name) : fake_xstrdup (name);
        return s;
      }
    default:
      return NULL;
    }
}

bool
fake_procfs_is_magic (struct fake_inode *ino)
{
  return ino
         && (ino->synth == FS_PROC_FD || ino->synth == FS_PROC_NS || ino->synth == FS_PROC_ROOTLNK);
}

static struct fake_ns *
fake_link_ns (struct fake_proc *t, int arg)
{
  if (arg == FAKE_NS_PID + FAKE_NS_COUNT)
    return t->pid_for_children;
  if (arg == FAKE_NS_TIME + FAKE_NS_COUNT)
    return t->time_for_children;
  return t->ns[arg];
}

int
fake_procfs_follow (struct fake_kernel *k, struct fake_inode *link, struct fake_inode **to,
                    struct fake_file **file, struct fake_ns **ns)
{
  struct fake_proc *t = fake_proc_any (k, link->spid);
  struct fake_file *f;

  if (t == NULL)
    return -ENOENT;
  if (link->synth == FS_PROC_NS)
    {
      *ns = fake_link_ns (t, link->sarg);
      return 0;
    }
  if (link->synth == FS_PROC_ROOTLNK)
    {
      if (t->zombie) /* a zombie has no fs struct: Linux says ENOENT */
        return -ENOENT;
      *to = t->root;
      return 0;
    }
  f = fake_fd_get (t, link->sarg);
  if (f == NULL)
    return -ENOENT;
  if (f->kind == FF_VNODE)
    *to = f->ino;
  else
    *file = f;
  return 0;
}

char *
fake_file_describe (struct fake_file *f)
{
  switch (f->kind)
    {
    case FF_VNODE:
      {
        char *path = fake_inode_path (f->ino);
        if (f->ino->parent == NULL && f->ino->synth == FS_NONE)
          {
            char *d = fake_xasprintf ("%s (deleted)", path);
            free (path);
            return d;
          }
        return path;
      }
    case FF_PIPE:
      return f->ino ? fake_inode_path (f->ino) : fake_xasprintf ("pipe:[%lu]", f->pipe->ino);
    case FF_CONN:
      if (f->conn->pty)
        return f->side ? fake_xasprintf ("/dev/pts/%d", f->conn->pty_index)
                       : fake_xstrdup ("/dev/ptmx");
      return fake_xasprintf ("socket:[%lu]", f->conn->ino);
    case FF_LISTEN:
      return fake_xasprintf ("socket:[%lu]", f->lis->ino);
    case FF_NS:
      return fake_xasprintf ("%s:[%lu]", fake_ns_names[f->ns->type], f->ns->id);
    case FF_PIDFD:
      return fake_xstrdup ("anon_inode:[pidfd]");
    default:
      return fake_xstrdup ("/dev/pts/0");
    }
}

int
fake_procfs_readlink (struct fake_kernel *k, struct fake_inode *link, char **out)
{
  struct fake_proc *t = fake_proc_any (k, link->spid);
  struct fake_file *f;

  if (t == NULL)
    return -ENOENT;
  if (link->synth == FS_PROC_NS)
    {
      struct fake_ns *ns = fake_link_ns (t, link->sarg);
      *out = fake_xasprintf ("%s:[%lu]", fake_ns_names[ns->type], ns->id);
      return 0;
    }
  if (link->synth == FS_PROC_ROOTLNK)
    {
      *out = fake_inode_path (t->root);
      return 0;
    }
  f = fake_fd_get (t, link->sarg);
  if (f == NULL)
    return -ENOENT;
  *out = fake_file_describe (f);
  return 0;
}

/* ---- file contents ---- */

static const char fake_identity_map[] = "         0          0 4294967295\n";

static char *
fake_procfs_content (struct fake_kernel *k, struct fake_inode *ino)
{
  struct fake_proc *t = fake_proc_any (k, ino->spid);
  struct fake_ns *user;

  if (ino->synth == FS_SYSCTL)
    {
      const char *v = fake_sysctl (k, fake_self (k)->pid, ino->skey);
      if (!v && strcmp (ino->skey, "kernel/osrelease") == 0)
        return fake_xasprintf ("%d.%d.0-fake\n", k->pers.major, k->pers.minor);
      if (!v && strcmp (ino->skey, "kernel/random/boot_id") == 0)
        return fake_xstrdup (FAKE_BOOT_ID "\n");
      return fake_xasprintf ("%s%s", v ? v : "", v ? "\n" : "");
    }
  if (t == NULL)
    return NULL;
  user = t->ns[FAKE_NS_USER];
  if (strcmp (ino->skey, "uid_map") == 0 || strcmp (ino->skey, "gid_map") == 0)
    {
      const char *m = ino->skey[0] == 'u' ? user->uid_map : user->gid_map;
      return fake_xstrdup (user->parent == NULL ? fake_identity_map : m ? m : "");
    }
  if (strcmp (ino->skey, "setgroups") == 0)
    return fake_xstrdup (user->setgroups_deny ? "deny\n" : "allow\n");
  if (strcmp (ino->skey, "oom_score_adj") == 0)
    return fake_xasprintf ("%d\n", t->oom_score_adj);
  if (strcmp (ino->skey, "cgroup") == 0)
    return fake_cgroup_proc_file (k, t);
  if (strcmp (ino->skey, "attr/current") == 0)
    return fake_xstrdup ("unconfined\n");
  return fake_xstrdup ("");
}

ssize_t
fake_procfs_read (struct fake_kernel *k, struct fake_file *f, void *buf, size_t n)
{
  char *s;
  size_t len;

  if (f->ino->synth != FS_PROC_FILE && f->ino->synth != FS_SYSCTL)
    return -EINVAL;
  s = fake_procfs_content (k, f->ino);
  if (s == NULL)
    return -ESRCH;
  len = strlen (s);
  if ((size_t)f->pos >= len)
    n = 0;
  else if (n > len - (size_t)f->pos)
    n = len - (size_t)f->pos;
  memcpy (buf, s + f->pos, n);
  f->pos += (off_t)n;
  free (s);
  return (ssize_t)n;
}

static bool
fake_map_valid (const char *s)
{
  char *copy = fake_xstrdup (s), *save = NULL;
  bool ok = true;
  int lines = 0;

  for (char *l = strtok_r (copy, "\n", &save); l && ok; l = strtok_r (NULL, "\n", &save))
    {
      unsigned long a, b, c;
      char extra;
      ok = sscanf (l, "%lu %lu %lu %c", &a, &b, &c, &extra) == 3 && c > 0;
      lines++;
    }
  free (copy);
  return ok && lines > 0 && lines <= 340;
}

/* user_namespaces(7): a writer without privilege (euid 0 here) may map only its own euid
 * (egid), as one line of count 1, in a namespace it owns, and gid_map only once setgroups
 * is "deny". */
static bool
fake_map_allowed (struct fake_proc *w, struct fake_ns *user, bool gid, const char *v)
{
  unsigned long in, out, count;
  unsigned long own = gid ? w->egid : w->euid;
  char extra;

  if (w->euid == 0)
    return true;
  if (w->euid != user->owner_uid || strchr (v, '\n') != strrchr (v, '\n')
      || sscanf (v, "%lu %lu %lu %c", &in, &out, &count, &extra) != 3)
    return false;
  return out == own && count == 1 && (!gid || user->setgroups_deny);
}

static ssize_t
fake_map_write (struct fake_kernel *k, struct fake_proc *t, const char *key, const char *v,
                size_t n)
{
  struct fake_ns *user = t->ns[FAKE_NS_USER];
  char **slot = key[0] == 'u' ? &user->uid_map : &user->gid_map;

  /* a map can be written once, and never for the initial namespace */
  if (user->parent == NULL || *slot)
    return -EPERM;
  if (!fake_map_valid (v))
    return -EINVAL;
  if (!fake_map_allowed (fake_self (k), user, key[0] == 'g', v))
    return -EPERM;
  *slot = fake_xstrdup (v);
  return (ssize_t)n;
}

static ssize_t
fake_sysctl_write (struct fake_kernel *k, const char *key, const char *v, size_t n)
{
  struct fake_proc *p = fake_self (k);
  char *val = fake_xstrdup (v);
  size_t len = strlen (val);

  while (len && (val[len - 1] == '\n' || val[len - 1] == ' '))
    val[--len] = '\0';
  k->sysctls = fake_xrealloc (k->sysctls, (k->n_sysctls + 1) * sizeof *k->sysctls);
  k->sysctls[k->n_sysctls].key = fake_xstrdup (key);
  k->sysctls[k->n_sysctls].net_ns = strncmp (key, "net/", 4) == 0 ? p->ns[FAKE_NS_NET]->id : 0;
  k->sysctls[k->n_sysctls].value = val;
  k->n_sysctls++;
  return (ssize_t)n;
}

void
fake_reboot (struct fake_kernel *k, const char *boot_id)
{
  (void)fake_sysctl_write (k, "kernel/random/boot_id", boot_id, strlen (boot_id));
}

ssize_t
fake_procfs_write (struct fake_kernel *k, struct fake_file *f, const void *buf, size_t n)
{
  struct fake_inode *ino = f->ino;
  struct fake_proc *t = fake_proc_any (k, ino->spid);
  char *v = fake_xmalloc (n + 1);
  ssize_t r = -EINVAL;

  memcpy (v, buf, n);
  v[n] = '\0';
  if (ino->synth == FS_SYSCTL && strcmp (ino->skey, "kernel/random/boot_id") == 0)
    r = -EPERM; /* read-only; fake_reboot changes it */
  else if (ino->synth == FS_SYSCTL)
    r = fake_sysctl_write (k, ino->skey, v, n);
  else if (ino->synth != FS_PROC_FILE)
    r = -EINVAL;
  else if (t == NULL)
    r = -ESRCH;
  else if (strcmp (ino->skey, "uid_map") == 0 || strcmp (ino->skey, "gid_map") == 0)
    r = fake_map_write (k, t, ino->skey, v, n);
  else if (strcmp (ino->skey, "setgroups") == 0)
    {
      struct fake_ns *user = t->ns[FAKE_NS_USER];
      bool deny = strncmp (v, "deny", 4) == 0;
      if (user->parent == NULL || user->gid_map)
        r = -EPERM;
      else if (deny || strncmp (v, "allow", 5) == 0)
        {
          user->setgroups_deny = deny;
          r = (ssize_t)n;
        }
    }
  else if (strcmp (ino->skey, "attr/exec") == 0 || strcmp (ino->skey, "attr/apparmor/exec") == 0)
    {
      /* LSM exec attributes: recorded (with a trailing newline or NUL dropped) */
      char **slot = strchr (ino->skey + 5, '/') ? &t->apparmor_exec : &t->lsm_exec_label;
      size_t len = strlen (v);
      while (len && (v[len - 1] == '\n'))
        v[--len] = '\0';
      free (*slot);
      *slot = fake_xstrdup (v);
      r = (ssize_t)n;
    }
  else if (strcmp (ino->skey, "oom_score_adj") == 0)
    {
      char *end;
      long adj = strtol (v, &end, 10);
      if (end != v && adj >= -1000 && adj <= 1000)
        {
          t->oom_score_adj = (int)adj;
          r = (ssize_t)n;
        }
    }
  else
    r = -EACCES;
  free (v);
  return r;
}

/* ---- directory listings ---- */

static void
fake_entry_add (char ***names, unsigned char **types, size_t *n, char *name, unsigned char t)
{
  *names = fake_xrealloc (*names, (*n + 1) * sizeof **names);
  *types = fake_xrealloc (*types, *n + 1);
  (*names)[*n] = name;
  (*types)[*n] = t;
  (*n)++;
}

int
fake_procfs_entries (struct fake_kernel *k, struct fake_inode *dir, char ***names,
                     unsigned char **types)
{
  struct fake_proc *t = fake_proc_any (k, dir->spid);
  size_t n = 0;

  *names = NULL;
  *types = NULL;
  fake_entry_add (names, types, &n, fake_xstrdup ("."), DT_DIR);
  fake_entry_add (names, types, &n, fake_xstrdup (".."), DT_DIR);
  if (dir->synth == FS_PROC_ROOT)
    {
      fake_entry_add (names, types, &n, fake_xstrdup ("self"), DT_LNK);
      fake_entry_add (names, types, &n, fake_xstrdup ("sys"), DT_DIR);
      for (size_t i = 0; i < k->n_procs; i++)
        if (!k->procs[i]->reaped)
          fake_entry_add (names, types, &n, fake_xasprintf ("%d", k->procs[i]->pid), DT_DIR);
    }
  else if (dir->synth == FS_PROC_PID)
    {
      fake_entry_add (names, types, &n, fake_xstrdup ("fd"), DT_DIR);
      fake_entry_add (names, types, &n, fake_xstrdup ("ns"), DT_DIR);
      fake_entry_add (names, types, &n, fake_xstrdup ("root"), DT_LNK);
      for (size_t i = 0; i < sizeof fake_proc_files / sizeof *fake_proc_files; i++)
        fake_entry_add (names, types, &n, fake_xstrdup (fake_proc_files[i]), DT_REG);
    }
  else if (dir->synth == FS_PROC_FDDIR && t)
    {
      for (size_t i = 0; i < t->n_fds; i++)
        if (t->fds[i].f)
          fake_entry_add (names, types, &n, fake_xasprintf ("%zu", i), DT_LNK);
    }
  else if (dir->synth == FS_PROC_NSDIR)
    for (int i = 0; i < FAKE_NS_COUNT; i++)
      fake_entry_add (names, types, &n, fake_xstrdup (fake_ns_names[i]), DT_LNK);
  return (int)n;
}

unsigned long
fake_ns_file (struct fake_kernel *k, const char *path, enum fake_ns_type type)
{
  struct fake_ns *ns = fake_ns_new (k, type, k->init_ns[type]);
  struct fake_inode *ino;

  if (fake_write_file (k, path, "", 0444) < 0)
    return 0;
  ino = fake_host_lookup (k, path, true);
  ino->nsref = ns;
  return ns->id;
}

unsigned long
fake_ns_id (struct fake_kernel *k, pid_t pid, enum fake_ns_type type)
{
  struct fake_proc *p = fake_proc (k, pid);

  return p && p->ns[type] ? p->ns[type]->id : 0;
}
