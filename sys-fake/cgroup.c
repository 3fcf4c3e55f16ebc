/* cgroup.c: cgroupfs as files in the fake VFS, per personality (v2, v1, hybrid).
 *
 * The host hierarchies are seeded under /sys/fs/cgroup and listed in the host mount table.
 * A directory with `cgh` set is a cgroup: mkdir inside one creates a cgroup already holding
 * its interface files (for v2: the core files plus those of the controllers enabled in the
 * parent's cgroup.subtree_control); rmdir succeeds despite those files unless a live
 * process or a child cgroup is inside (EBUSY).  Writing a pid to cgroup.procs moves the
 * process ("0" is the writer); cgroup.procs, cgroup.controllers, cgroup.subtree_control and
 * cgroup.events are generated on read; every other control file keeps the last value
 * written (a write replaces the content, as cgroupfs does).  Values are not validated.
 *
 * The v1 devices controller keeps its whitelist in devices.list, as the kernel shows it: "a
 * *:* rwm" when everything is allowed, else one line per allowed device.  A write to
 * devices.allow or devices.deny changes it as the kernel does (a rule of type 'a' resets it;
 * otherwise an exception to the default is added, or access bits of the same device's
 * exception cleared); a child cgroup starts with its parent's list.  Not modelled: the
 * exceptions of an allow-everything list (the kernel does not show them either), and the
 * parent's list limiting what a child may allow. */
#include "sys-fake/internal.h"
#include <sys/mount.h>

struct fake_cghier
{
  bool v2;
  int id;     /* hierarchy id in /proc/PID/cgroup */
  char *name; /* v1 controller ("memory", "name=systemd"); "" for v2 */
  struct fake_inode *root;
};

static const char fake_v2_controllers[] = "cpuset cpu io memory hugetlb pids rdma misc";
/* hybrid: a controller bound to a v1 hierarchy is not available in cgroup2 */
static const char fake_hybrid_v2_controllers[] = "hugetlb rdma misc";
static const char fake_hybrid_v1_hugetlb_v2_controllers[] = "rdma misc";

struct fake_cgfile
{
  const char *ctl, *name, *value;
};

static const struct fake_cgfile fake_v2_files[] = {
  { "", "cgroup.procs", "" },
  { "", "cgroup.threads", "" },
  { "", "cgroup.controllers", "" },
  { "", "cgroup.subtree_control", "" },
  { "", "cgroup.events", "" },
  { "", "cgroup.freeze", "0\n" },
  { "", "cgroup.type", "domain\n" },
  { "", "cgroup.max.depth", "max\n" },
  { "", "cgroup.max.descendants", "max\n" },
  { "", "cgroup.stat", "nr_descendants 0\nnr_dying_descendants 0\n" },
  { "", "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n" },
  { "cpu", "cpu.max", "max 100000\n" },
  { "cpu", "cpu.weight", "100\n" },
  { "cpu", "cpu.weight.nice", "0\n" },
  { "cpu", "cpu.max.burst", "0\n" },
  { "cpu", "cpu.idle", "0\n" },
  { "cpuset", "cpuset.cpus", "" },
  { "cpuset", "cpuset.mems", "" },
  { "cpuset", "cpuset.cpus.effective", "0-3\n" },
  { "cpuset", "cpuset.mems.effective", "0\n" },
  { "io", "io.max", "" },
  { "io", "io.weight", "default 100\n" },
  { "io", "io.stat", "" },
  { "memory", "memory.max", "max\n" },
  { "memory", "memory.min", "0\n" },
  { "memory", "memory.low", "0\n" },
  { "memory", "memory.high", "max\n" },
  { "memory", "memory.swap.max", "max\n" },
  { "memory", "memory.current", "0\n" },
  { "memory", "memory.oom.group", "0\n" },
  { "memory", "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n" },
  { "memory", "memory.stat", "anon 0\nfile 0\n" },
  { "hugetlb", "hugetlb.2MB.max", "max\n" },
  { "hugetlb", "hugetlb.1GB.max", "max\n" },
  { "pids", "pids.max", "max\n" },
  { "pids", "pids.current", "0\n" },
  { "rdma", "rdma.max", "" },
  { "misc", "misc.max", "" },
};

#define FAKE_V1_UNLIMITED "9223372036854771712\n"
static const struct fake_cgfile fake_v1_files[] = {
  { "", "cgroup.procs", "" },
  { "", "tasks", "" },
  { "", "notify_on_release", "0\n" },
  { "", "cgroup.clone_children", "0\n" },
  { "cpu", "cpu.shares", "1024\n" },
  { "cpu", "cpu.cfs_quota_us", "-1\n" },
  { "cpu", "cpu.cfs_period_us", "100000\n" },
  { "cpu", "cpu.rt_runtime_us", "0\n" },
  { "cpu", "cpu.rt_period_us", "1000000\n" },
  { "cpu", "cpu.cfs_burst_us", "0\n" },
  { "cpu", "cpu.idle", "0\n" },
  { "cpu", "cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n" },
  { "cpuacct", "cpuacct.usage", "0\n" },
  { "cpuacct", "cpuacct.stat", "user 0\nsystem 0\n" },
  { "cpuset", "cpuset.cpus", "" },
  { "cpuset", "cpuset.mems", "" },
  { "cpuset", "cpuset.cpu_exclusive", "0\n" },
  { "memory", "memory.limit_in_bytes", FAKE_V1_UNLIMITED },
  { "memory", "memory.soft_limit_in_bytes", FAKE_V1_UNLIMITED },
  { "memory", "memory.memsw.limit_in_bytes", FAKE_V1_UNLIMITED },
  { "memory", "memory.kmem.limit_in_bytes", FAKE_V1_UNLIMITED },
  { "memory", "memory.usage_in_bytes", "0\n" },
  { "memory", "memory.swappiness", "60\n" },
  { "memory", "memory.use_hierarchy", "1\n" },
  { "memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n" },
  { "devices", "devices.allow", "" },
  { "devices", "devices.deny", "" },
  { "devices", "devices.list", "a *:* rwm\n" },
  { "freezer", "freezer.state", "THAWED\n" },
  { "freezer", "freezer.self_freezing", "0\n" },
  { "blkio", "blkio.weight", "500\n" },
  { "blkio", "blkio.leaf_weight", "500\n" },
  { "blkio", "blkio.weight_device", "" },
  { "blkio", "blkio.leaf_weight_device", "" },
  { "blkio", "blkio.throttle.read_bps_device", "" },
  { "blkio", "blkio.throttle.write_bps_device", "" },
  { "blkio", "blkio.throttle.read_iops_device", "" },
  { "blkio", "blkio.throttle.write_iops_device", "" },
  { "pids", "pids.max", "max\n" },
  { "pids", "pids.current", "0\n" },
  { "hugetlb", "hugetlb.2MB.limit_in_bytes", FAKE_V1_UNLIMITED },
  { "hugetlb", "hugetlb.1GB.limit_in_bytes", FAKE_V1_UNLIMITED },
  { "hugetlb", "hugetlb.2MB.usage_in_bytes", "0\n" },
  { "hugetlb", "hugetlb.1GB.usage_in_bytes", "0\n" },
};

static const char *const fake_v1_hiers[]
    = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd" };

static bool
fake_word_in (const char *word, const char *list)
{
  size_t n = strlen (word);

  for (const char *s = list; s && *s;)
    {
      while (*s == ' ' || *s == '\n')
        s++;
      if (strncmp (s, word, n) == 0 && (s[n] == '\0' || s[n] == ' ' || s[n] == '\n'))
        return true;
      s = strchr (s, ' ');
    }
  return false;
}

static void
fake_cg_file_add (struct fake_kernel *k, struct fake_inode *dir, const char *name,
                  const char *value)
{
  struct fake_inode *f;

  if (fake_dir_lookup (dir, name))
    return;
  f = fake_inode_new (k, S_IFREG | 0644);
  fake_buf_put (&f->data, value, strlen (value));
  fake_dir_link (dir, f, name);
}

/* Create the interface files of `dir` for the controllers in `ctls` ("" = core only). */
static void
fake_cg_populate (struct fake_kernel *k, struct fake_inode *dir, const char *ctls, bool root)
{
  struct fake_cghier *h = dir->cgh;
  const struct fake_cgfile *v = h->v2 ? fake_v2_files : fake_v1_files;
  size_t n = h->v2 ? sizeof fake_v2_files / sizeof *fake_v2_files
                   : sizeof fake_v1_files / sizeof *fake_v1_files;

  for (size_t i = 0; i < n; i++)
    {
      if (*v[i].ctl && !fake_word_in (v[i].ctl, ctls))
        continue;
      if (root && h->v2 && *v[i].ctl && strcmp (v[i].ctl, "cpuset") != 0)
        continue; /* the v2 root has no limits */
      if (root && strcmp (v[i].name, "freezer.state") == 0)
        continue;
      fake_cg_file_add (k, dir, v[i].name, v[i].value);
    }
  if (h->v2 && fake_version_at_least (k, 5, 14) && !root)
    fake_cg_file_add (k, dir, "cgroup.kill", "");
}

/* Replace the content of control file `name` in `dir`. */
static void
fake_cg_set (struct fake_inode *dir, const char *name, const char *value)
{
  struct fake_inode *f = fake_dir_lookup (dir, name);

  if (f == NULL)
    return;
  f->data.len = 0;
  fake_buf_put (&f->data, value, strlen (value));
}

static void
fake_cg_hier_dtor (void *p)
{
  free (((struct fake_cghier *)p)->name);
}

static struct fake_cghier *
fake_cg_hier_new (struct fake_kernel *k, const char *path, bool v2, const char *name)
{
  struct fake_cghier *h = fake_obj_new (k, sizeof *h, fake_cg_hier_dtor);
  bool only_v2 = k->pers.cgroup == FAKE_CGROUP_V2;

  h->v2 = v2;
  h->name = fake_xstrdup (name);
  h->id = v2 ? 0 : (int)k->n_cgh + 1;
  fake_mkdir_p (k, path, 0555);
  h->root = fake_host_lookup (k, path, true);
  h->root->cgh = h;
  h->root->cg_subtree = fake_xstrdup ("");
  k->cgh = fake_xrealloc (k->cgh, (k->n_cgh + 1) * sizeof *k->cgh);
  k->cgh[k->n_cgh++] = h;
  fake_cg_populate (k, h->root, v2 ? (only_v2 ? fake_v2_controllers : "") : name, true);
  if (!v2 && strcmp (name, "cpuset") == 0)
    {
      fake_cg_set (h->root, "cpuset.cpus", "0-3\n");
      fake_cg_set (h->root, "cpuset.mems", "0\n");
    }
  return h;
}

bool
fake_cg_is_root (const struct fake_inode *ino)
{
  return ino->cgh && ino->cgh->root == ino;
}

/* A v1 hierarchy of controller `c` at /sys/fs/cgroup/<c>, mounted. */
static void
fake_cg_v1_hier_add (struct fake_kernel *k, const char *c)
{
  char *path = fake_xasprintf ("/sys/fs/cgroup/%s", c);
  bool systemd = strcmp (c, "systemd") == 0;
  unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME;

  fake_cg_hier_new (k, path, false, systemd ? "name=systemd" : c);
  fake_mount_add (k, k->init_ns[FAKE_NS_MNT], "cgroup", path, "cgroup", fl,
                  systemd ? "xattr,name=systemd" : c);
  free (path);
}

void
fake_cgroup_seed (struct fake_kernel *k)
{
  struct fake_ns *mnt = k->init_ns[FAKE_NS_MNT];
  unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME;

  if (k->pers.cgroup == FAKE_CGROUP_V2)
    {
      fake_cg_hier_new (k, "/sys/fs/cgroup", true, "");
      fake_mount_add (k, mnt, "cgroup2", "/sys/fs/cgroup", "cgroup2", fl,
                      "nsdelegate,memory_recursiveprot");
      return;
    }
  fake_mkdir_p (k, "/sys/fs/cgroup", 0755);
  fake_mount_add (k, mnt, "tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=755");
  for (size_t i = 0; i < sizeof fake_v1_hiers / sizeof *fake_v1_hiers; i++)
    fake_cg_v1_hier_add (k, fake_v1_hiers[i]);
  if (k->pers.v1_hugetlb)
    fake_cg_v1_hier_add (k, "hugetlb");
  if (k->pers.cgroup == FAKE_CGROUP_HYBRID)
    {
      fake_cg_hier_new (k, "/sys/fs/cgroup/unified", true, "");
      fake_mount_add (k, mnt, "cgroup2", "/sys/fs/cgroup/unified", "cgroup2", fl, "nsdelegate");
    }
}

/* ---- membership ---- */

void
fake_cgroup_inherit (struct fake_proc *child, struct fake_proc *parent)
{
  child->cg = fake_xcalloc (parent->n_cg, sizeof *child->cg);
  if (parent->n_cg)
    memcpy (child->cg, parent->cg, parent->n_cg * sizeof *child->cg);
  child->n_cg = parent->n_cg;
}

int
fake_cgroup_enter (struct fake_kernel *k, struct fake_proc *p, struct fake_inode *dir)
{
  for (size_t i = 0; i < p->n_cg; i++)
    if (p->cg[i].h == dir->cgh)
      {
        p->cg[i].dir = dir;
        return 0;
      }
  p->cg = fake_xrealloc (p->cg, (p->n_cg + 1) * sizeof *p->cg);
  p->cg[p->n_cg].h = dir->cgh;
  p->cg[p->n_cg].dir = dir;
  p->n_cg++;
  return 0;
}

static struct fake_inode *
fake_cg_of (struct fake_proc *p, struct fake_cghier *h)
{
  for (size_t i = 0; i < p->n_cg; i++)
    if (p->cg[i].h == h)
      return p->cg[i].dir;
  return h->root;
}

static char *
fake_cg_rel (struct fake_cghier *h, struct fake_inode *dir)
{
  char *top = fake_inode_path (h->root), *at = fake_inode_path (dir), *rel;
  size_t n = strlen (top);

  rel = fake_xstrdup (strncmp (at, top, n) == 0 && at[n] == '/' ? at + n : "/");
  free (top);
  free (at);
  return rel;
}

char *
fake_cgroup_path (struct fake_proc *p)
{
  struct fake_cg_member *m = NULL;

  for (size_t i = 0; i < p->n_cg; i++)
    if (m == NULL || p->cg[i].h->v2 || !m->h->v2)
      m = p->cg[i].h->v2 || m == NULL || !m->h->v2 ? &p->cg[i] : m;
  return m ? fake_cg_rel (m->h, m->dir) : fake_xstrdup ("/");
}

char *
fake_cgroup_proc_file (struct fake_kernel *k, struct fake_proc *p)
{
  char *out = fake_xstrdup ("");

  for (size_t i = k->n_cgh; i-- > 0;)
    {
      struct fake_cghier *h = k->cgh[i];
      char *rel = fake_cg_rel (h, fake_cg_of (p, h)), *line;

      line = fake_xasprintf ("%s%d:%s:%s\n", out, h->id, h->v2 ? "" : h->name, rel);
      free (out);
      free (rel);
      out = line;
    }
  return out;
}

/* Does a live process sit in `dir` (or, with `deep`, below it)? */
static bool
fake_cg_populated (struct fake_kernel *k, struct fake_inode *dir, bool deep)
{
  for (size_t i = 0; i < k->n_procs; i++)
    {
      struct fake_proc *p = k->procs[i];
      struct fake_inode *at;
      if (!p->alive)
        continue;
      at = fake_cg_of (p, dir->cgh);
      if (at == dir || (deep && fake_inode_under (at, dir)))
        return true;
    }
  return false;
}

/* ---- directories ---- */

static const char *
fake_cg_available (struct fake_inode *dir)
{
  if (dir == dir->cgh->root && !dir->cgh->v2)
    return dir->cgh->name;
  if (dir == dir->cgh->root)
    {
      const struct fake_personality *p = &fake_current_kernel->pers;
      if (p->cgroup != FAKE_CGROUP_HYBRID)
        return fake_v2_controllers;
      return p->v1_hugetlb ? fake_hybrid_v1_hugetlb_v2_controllers : fake_hybrid_v2_controllers;
    }
  return dir->parent && dir->parent->cg_subtree ? dir->parent->cg_subtree : "";
}

int
fake_cgroup_mkdir (struct fake_kernel *k, struct fake_inode *dir)
{
  struct fake_cghier *h = dir->parent->cgh;
  struct fake_inode *plist = fake_dir_lookup (dir->parent, "devices.list");

  dir->cgh = h;
  dir->mode = S_IFDIR | 0755;
  dir->cg_subtree = fake_xstrdup ("");
  fake_cg_populate (k, dir, h->v2 ? fake_cg_available (dir) : h->name, false);
  if (plist && !h->v2)
    {
      char *v = fake_xmalloc (plist->data.len + 1);
      memcpy (v, plist->data.d, plist->data.len);
      v[plist->data.len] = '\0';
      fake_cg_set (dir, "devices.list", v);
      free (v);
    }
  return 0;
}

int
fake_cgroup_rmdir (struct fake_kernel *k, struct fake_inode *dir)
{
  if (dir == dir->cgh->root)
    return -EBUSY;
  for (size_t i = 0; i < dir->n_kids; i++)
    if (S_ISDIR (dir->kids[i]->mode))
      return -EBUSY; /* child cgroups first */
  if (fake_cg_populated (k, dir, false))
    return -EBUSY;
  fake_bpf_detach_all (dir);
  fake_dir_unlink (dir);
  return 0;
}

bool
fake_cgroup_is_v2 (struct fake_inode *dir)
{
  return dir->cgh && dir->cgh->v2;
}

struct fake_inode *
fake_cgroup_parent (struct fake_inode *dir)
{
  return dir == dir->cgh->root ? NULL : dir->parent;
}

struct fake_inode *
fake_cgroup_v2_of (struct fake_kernel *k, struct fake_proc *p)
{
  for (size_t i = 0; i < k->n_cgh; i++)
    if (k->cgh[i]->v2)
      return fake_cg_of (p, k->cgh[i]);
  return NULL;
}

bool
fake_cgroup_file (struct fake_inode *ino)
{
  return S_ISREG (ino->mode) && ino->parent && ino->parent->cgh;
}

/* ---- control files ---- */

void
fake_cgroup_refresh (struct fake_kernel *k, struct fake_inode *ino)
{
  struct fake_inode *dir = ino->parent;
  char *v = NULL;

  if (strcmp (ino->name, "cgroup.procs") == 0 || strcmp (ino->name, "tasks") == 0)
    {
      v = fake_xstrdup ("");
      for (size_t i = 0; i < k->n_procs; i++)
        if (k->procs[i]->alive && fake_cg_of (k->procs[i], dir->cgh) == dir)
          {
            char *n = fake_xasprintf ("%s%d\n", v, k->procs[i]->pid);
            free (v);
            v = n;
          }
    }
  else if (dir->cgh->v2 && strcmp (ino->name, "cgroup.controllers") == 0)
    v = fake_xasprintf ("%s\n", fake_cg_available (dir));
  else if (dir->cgh->v2 && strcmp (ino->name, "cgroup.subtree_control") == 0)
    v = fake_xasprintf ("%s\n", dir->cg_subtree);
  else if (dir->cgh->v2 && strcmp (ino->name, "cgroup.events") == 0)
    {
      /* freezing is immediate here: frozen follows the last cgroup.freeze write */
      struct fake_inode *fr = fake_dir_lookup (dir, "cgroup.freeze");
      bool frozen = fr && fr->data.len > 0 && fr->data.d[0] == '1';
      v = fake_xasprintf ("populated %d\nfrozen %d\n", fake_cg_populated (k, dir, true), frozen);
    }
  if (v == NULL)
    return;
  if (strcmp (v, "\n") == 0)
    *v = '\0';
  ino->data.len = 0;
  fake_buf_put (&ino->data, v, strlen (v));
  free (v);
}

static ssize_t
fake_cg_procs_write (struct fake_kernel *k, struct fake_inode *dir, const char *v, size_t n)
{
  char *end;
  long pid = strtol (v, &end, 10);
  struct fake_proc *t;

  while (*end == '\n' || *end == ' ')
    end++;
  if (end == v || *end)
    return -EINVAL;
  t = pid == 0 ? fake_self (k) : fake_proc_any (k, (pid_t)pid);
  if (t == NULL || !t->alive)
    return -ESRCH;
  /* v2: no processes in an inner cgroup that delegates controllers */
  if (dir->cgh->v2 && dir != dir->cgh->root && *dir->cg_subtree)
    return -EBUSY;
  fake_cgroup_enter (k, t, dir);
  return (ssize_t)n;
}

static const char *const fake_v2_ctl[]
    = { "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc" };
#define FAKE_V2_NCTL (sizeof fake_v2_ctl / sizeof *fake_v2_ctl)

static int
fake_cg_subtree_parse (struct fake_inode *dir, const char *v, bool on[FAKE_V2_NCTL])
{
  const char *avail = fake_cg_available (dir);
  char *copy = fake_xstrdup (v), *save = NULL;
  int r = 0;

  for (size_t i = 0; i < FAKE_V2_NCTL; i++)
    on[i] = fake_word_in (fake_v2_ctl[i], dir->cg_subtree);
  for (char *w = strtok_r (copy, " \n", &save); w && r == 0; w = strtok_r (NULL, " \n", &save))
    {
      size_t i = 0;
      if (w[0] != '+' && w[0] != '-')
        r = -EINVAL;
      else if (!fake_word_in (w + 1, avail))
        r = -ENOENT;
      while (r == 0 && i < FAKE_V2_NCTL && strcmp (fake_v2_ctl[i], w + 1) != 0)
        i++;
      if (r == 0 && i < FAKE_V2_NCTL)
        on[i] = w[0] == '+';
    }
  free (copy);
  return r;
}

static ssize_t
fake_cg_subtree_write (struct fake_kernel *k, struct fake_inode *dir, const char *v, size_t n)
{
  bool on[FAKE_V2_NCTL];
  char *next = fake_xstrdup ("");
  int r = fake_cg_subtree_parse (dir, v, on);

  if (r < 0)
    return free (next), r;
  if (dir != dir->cgh->root && strchr (v, '+') && fake_cg_populated (k, dir, false))
    return free (next), -EBUSY; /* no internal processes */
  for (size_t i = 0; i < FAKE_V2_NCTL; i++)
    {
      char *s;
      if (!on[i])
        continue;
      s = fake_xasprintf ("%s%s%s", next, *next ? " " : "", fake_v2_ctl[i]);
      free (next);
      next = s;
      if (fake_word_in (fake_v2_ctl[i], dir->cg_subtree))
        continue;
      for (size_t j = 0; j < dir->n_kids; j++)
        if (dir->kids[j]->cgh)
          fake_cg_populate (k, dir->kids[j], fake_v2_ctl[i], false);
    }
  free (dir->cg_subtree);
  dir->cg_subtree = next;
  return (ssize_t)n;
}

static void
fake_cg_kill (struct fake_kernel *k, struct fake_inode *dir)
{
  for (size_t i = 0; i < k->n_procs; i++)
    {
      struct fake_proc *p = k->procs[i];
      if (p->alive && fake_inode_under (fake_cg_of (p, dir->cgh), dir))
        fake_proc_signal (k, p, SIGKILL);
    }
}

/* ---- v1 devices ---- */

struct fake_devex
{
  char type;
  long major, minor; /* -1: any */
  unsigned acc;      /* 1 r, 2 w, 4 m */
};

static unsigned
fake_dev_acc (const char *s)
{
  unsigned a = 0;
  for (; *s && *s != '\n' && *s != ' '; s++)
    a |= *s == 'r' ? 1u : *s == 'w' ? 2u : *s == 'm' ? 4u : 0u;
  return a;
}

static const char *
fake_dev_num (const char *s, long *v)
{
  char *end;
  if (*s == '*')
    {
      *v = -1;
      return s + 1;
    }
  *v = strtol (s, &end, 10);
  return end;
}

/* One rule or list line "c 1:3 rwm"; false when it is not one. */
static bool
fake_dev_parse (const char *s, struct fake_devex *e)
{
  e->type = s[0];
  if ((e->type != 'a' && e->type != 'b' && e->type != 'c') || (s[1] != ' ' && s[1] != '\0'))
    return false;
  if (s[1] == '\0' || e->type == 'a')
    {
      e->major = e->minor = -1;
      e->acc = 7;
      return true;
    }
  s = fake_dev_num (s + 2, &e->major);
  if (*s != ':')
    return false;
  s = fake_dev_num (s + 1, &e->minor);
  if (*s != ' ')
    return false;
  e->acc = fake_dev_acc (s + 1);
  return true;
}

/* devices.list of `dir` as a default and exceptions; returns the count, *all the default. */
static size_t
fake_dev_list (struct fake_inode *dir, struct fake_devex **out, bool *all)
{
  struct fake_inode *f = fake_dir_lookup (dir, "devices.list");
  char *text = fake_xmalloc (f->data.len + 1), *line, *save = NULL;
  size_t n = 0;

  memcpy (text, f->data.d, f->data.len);
  text[f->data.len] = '\0';
  *out = fake_xmalloc ((f->data.len / 6 + 2) * sizeof **out);
  *all = false;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      struct fake_devex e;
      if (!fake_dev_parse (line, &e))
        continue;
      if (e.type == 'a')
        *all = true;
      else
        (*out)[n++] = e;
    }
  free (text);
  return n;
}

static void
fake_dev_store (struct fake_inode *dir, const struct fake_devex *v, size_t n, bool all)
{
  struct fake_inode *f = fake_dir_lookup (dir, "devices.list");

  f->data.len = 0;
  if (all)
    {
      fake_buf_put (&f->data, "a *:* rwm\n", 10);
      return;
    }
  for (size_t i = 0; i < n; i++)
    {
      char line[80], maj[24] = "*", min[24] = "*", acc[4] = { 0 }, *a = acc;
      int len;
      if (v[i].major >= 0)
        snprintf (maj, sizeof maj, "%ld", v[i].major);
      if (v[i].minor >= 0)
        snprintf (min, sizeof min, "%ld", v[i].minor);
      if (v[i].acc & 1u)
        *a++ = 'r';
      if (v[i].acc & 2u)
        *a++ = 'w';
      if (v[i].acc & 4u)
        *a++ = 'm';
      len = snprintf (line, sizeof line, "%c %s:%s %s\n", v[i].type, maj, min, acc);
      fake_buf_put (&f->data, line, (size_t)len);
    }
}

/* A write of `rule` to devices.allow (allow) or devices.deny. */
static ssize_t
fake_dev_write (struct fake_kernel *k, struct fake_inode *dir, bool allow, const char *rule,
                size_t n)
{
  struct fake_devex r, *v;
  bool all;
  size_t cnt;
  char buf[96];

  snprintf (buf, sizeof buf, "%.*s", (int)(n < 95 ? n : 95), rule);
  buf[strcspn (buf, "\n")] = '\0';
  if (!fake_dev_parse (buf, &r))
    return -EINVAL;
  cnt = fake_dev_list (dir, &v, &all);
  if (r.type == 'a')
    {
      cnt = 0;
      all = allow;
    }
  else
    {
      size_t i;
      for (i = 0; i < cnt; i++)
        if (v[i].type == r.type && v[i].major == r.major && v[i].minor == r.minor)
          break;
      if (allow != all)
        {
          /* an exception: add, or merge into the same device's */
          if (i == cnt)
            {
              v[cnt] = r;
              v[cnt++].acc = 0;
            }
          v[i].acc |= r.acc;
        }
      else if (i < cnt && (v[i].acc &= ~r.acc) == 0)
        v[i] = v[--cnt];
    }
  fake_dev_store (dir, v, cnt, all);
  free (v);
  if (k->dev_watch && k->dev_watch == dir
      && fake_v1_device_allowed (dir, k->dev_watch_rule.type, k->dev_watch_rule.major,
                                 k->dev_watch_rule.minor, k->dev_watch_rule.acc)
             != 1)
    k->dev_watch_lost++;
  return (ssize_t)n;
}

int
fake_v1_device_allowed (struct fake_inode *dir, char type, long major, long minor, unsigned acc)
{
  struct fake_devex *v;
  bool all;
  size_t cnt;
  int ok = 0;

  if (fake_dir_lookup (dir, "devices.list") == NULL)
    return -ENOENT;
  cnt = fake_dev_list (dir, &v, &all);
  if (all)
    ok = 1;
  /* the kernel's match: one exception covering the device and every bit asked */
  for (size_t i = 0; i < cnt && !ok; i++)
    if (v[i].type == type && (v[i].major < 0 || v[i].major == major)
        && (v[i].minor < 0 || v[i].minor == minor) && (acc & ~v[i].acc) == 0)
      ok = 1;
  free (v);
  return ok;
}

void
fake_cgroup_devices_watch (struct fake_kernel *k, const char *cgroup, char type, unsigned major,
                           unsigned minor, const char *access)
{
  k->dev_watch = fake_host_lookup (k, cgroup, true);
  k->dev_watch_rule
      = (struct fake_dev_rule){ type, (long)major, (long)minor, fake_dev_acc (access) };
  k->dev_watch_lost = 0;
}

size_t
fake_cgroup_devices_watch_lost (struct fake_kernel *k)
{
  return k->dev_watch_lost;
}

ssize_t
fake_cgroup_write (struct fake_kernel *k, struct fake_file *f, const char *buf, size_t n)
{
  struct fake_inode *ino = f->ino, *dir = ino->parent;
  char *v = fake_xmalloc (n + 1);
  ssize_t r = (ssize_t)n;

  memcpy (v, buf, n);
  v[n] = '\0';
  if (strcmp (ino->name, "cgroup.procs") == 0 || strcmp (ino->name, "tasks") == 0)
    r = fake_cg_procs_write (k, dir, v, n);
  else if (dir->cgh->v2 && strcmp (ino->name, "cgroup.subtree_control") == 0)
    r = fake_cg_subtree_write (k, dir, v, n);
  else if (strcmp (ino->name, "cgroup.controllers") == 0
           || strcmp (ino->name, "cgroup.events") == 0)
    r = -EACCES;
  else if (!dir->cgh->v2
           && (strcmp (ino->name, "devices.allow") == 0 || strcmp (ino->name, "devices.deny") == 0))
    {
      r = fake_dev_write (k, dir, ino->name[8] == 'a', v, n);
      if (r >= 0)
        {
          /* the file keeps the last rule too, as the other control files do */
          ino->data.len = 0;
          fake_buf_put (&ino->data, v, n);
        }
    }
  else if (strcmp (ino->name, "cgroup.kill") == 0)
    {
      if (strcmp (v, "1") == 0 || strcmp (v, "1\n") == 0)
        fake_cg_kill (k, dir);
      else
        r = -ERANGE;
    }
  else
    {
      ino->data.len = 0;
      fake_buf_put (&ino->data, v, n);
    }
  free (v);
  return r;
}
