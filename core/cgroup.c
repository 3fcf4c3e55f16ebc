/* cgroup.c: the cgroup manager (see cgroup.h): host detection, placement, directories,
 * process listing, freezing, removal, the container's /sys/fs/cgroup, and the state record.
 * The per-controller writes are in cgroup_v1.c and cgroup_v2.c. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <jansson.h>
#include "core/cgroup_internal.h"
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/undo.h"

#define CG_FILE_MAX (1 << 20)
/* /proc/self/ns/cgroup of the initial cgroup namespace (the kernel's PROC_CGROUP_INIT_INO) */
#define CGROUP_NS_INITIAL_INO 0xEFFFFFFBu

/* ---- file helpers ---- */

int
cg_write (const char *dir, const char *file, const char *value)
{
  _cleanup_free_ char *path = path_join (dir, file);
  _cleanup_close_ int fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  ssize_t n;

  if (fd < 0)
    return fd;
  /* one write: cgroupfs takes a value per write(2) */
  n = sys_write (fd, value, strlen (value));
  return n < 0 ? (int)n : 0;
}

int
cg_read (char **out, const char *dir, const char *file)
{
  _cleanup_free_ char *path = path_join (dir, file);
  struct focker_err *e = NULL;
  size_t len;
  int r = read_file_at (out, &len, AT_FDCWD, path, CG_FILE_MAX, &e);

  focker_err_free (e);
  return r;
}

bool
cg_exists (const char *dir, const char *file)
{
  _cleanup_free_ char *path = path_join (dir, file);
  struct stat st;
  return sys_fstatat (AT_FDCWD, path, &st, 0) == 0;
}

int
cg_set (const char *dir, const char *file, const char *value, const char *field,
        struct focker_err **err)
{
  int r = cg_write (dir, file, value);

  if (r == -ENOENT)
    return focker_fail (err, -EOPNOTSUPP,
                        "linux.resources.%s: this host cannot apply it (no %s/%s)", field, dir,
                        file);
  if (r < 0)
    return focker_fail (err, r, "linux.resources.%s: write \"%s\" to %s/%s", field, value, dir,
                        file);
  return 0;
}

bool
cg_word_in (const char *word, const char *list)
{
  size_t n = strlen (word);

  for (const char *s = list; s && *s;)
    {
      s += strspn (s, " ,\n");
      if (strncmp (s, word, n) == 0 && (s[n] == '\0' || strchr (" ,\n", s[n])))
        return true;
      s += strcspn (s, " ,\n");
    }
  return false;
}

void
cg_sleep_ms (int ms)
{
  sys_poll (NULL, 0, ms);
}

/* ---- host detection ---- */

static const char *const known_v1[]
    = { "cpu",  "cpuacct", "cpuset",   "memory",  "devices",    "freezer", "blkio",
        "pids", "net_cls", "net_prio", "hugetlb", "perf_event", "rdma",    "misc" };

static char *
v1_ctls_of (const char *dirname)
{
  _cleanup_free_ char *copy = xstrdup (dirname);
  char *save = NULL;

  for (char *w = strtok_r (copy, ",", &save); w; w = strtok_r (NULL, ",", &save))
    {
      bool known = false;
      for (size_t i = 0; i < sizeof known_v1 / sizeof *known_v1; i++)
        known |= strcmp (w, known_v1[i]) == 0;
      if (!known)
        return xasprintf ("name=%s", dirname);
    }
  return xstrdup (dirname);
}

static void
host_add (struct cgroup_host *h, const char *mount, const char *ctls, bool v2)
{
  struct cgroup_hier *x;

  h->h = xrealloc (h->h, (h->n + 1) * sizeof *h->h);
  x = &h->h[h->n++];
  x->mount = xstrdup (mount);
  x->ctls = xstrdup (ctls);
  x->v2 = v2;
  x->v2_controllers = NULL;
  if (v2 && cg_read (&x->v2_controllers, mount, "cgroup.controllers") < 0)
    x->v2_controllers = xstrdup ("");
}

int
cgroup_host_detect (struct cgroup_host **out, struct focker_err **err)
{
  struct cgroup_host *h = xcalloc (1, sizeof *h);
  _cleanup_close_ int dfd = -1;
  bool v1 = false, v2 = false;
  char buf[4096];

  if (cg_exists (CGROUP_ROOT, "cgroup.controllers"))
    {
      host_add (h, CGROUP_ROOT, "", true);
      h->layout = CGROUP_LAYOUT_V2;
      *out = h;
      return 0;
    }
  dfd = sys_openat (AT_FDCWD, CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd == -ENOENT)
    {
      *out = h;
      return 0;
    }
  if (dfd < 0)
    {
      cgroup_host_free (h);
      return focker_fail (err, dfd, "cgroup: open %s", CGROUP_ROOT);
    }
  for (;;)
    {
      ssize_t got = sys_getdents64 (dfd, buf, sizeof buf);
      if (got < 0)
        {
          cgroup_host_free (h);
          return focker_fail (err, (int)got, "cgroup: list %s", CGROUP_ROOT);
        }
      if (got == 0)
        break;
      for (ssize_t off = 0; off < got;)
        {
          struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(buf + off);
          _cleanup_free_ char *mount = NULL, *ctls = NULL;
          struct stat st;
          off += d->d_reclen;
          if (d->d_name[0] == '.')
            continue;
          /* cpu -> cpu,cpuacct style links name the same hierarchy twice; the entry's type
           * says so without a stat where the filesystem fills it in (tmpfs does) */
          if (d->d_type == DT_UNKNOWN
              && (sys_fstatat (dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
                  || !S_ISDIR (st.st_mode)))
            continue;
          if (d->d_type != DT_UNKNOWN && d->d_type != DT_DIR)
            continue;
          mount = path_join (CGROUP_ROOT, d->d_name);
          /* `tasks` first: a hybrid host has many v1 hierarchies and one v2, and no
           * hierarchy has both files (cgroup2 has no `tasks`, v1 no cgroup.controllers) */
          if (cg_exists (mount, "tasks"))
            {
              ctls = v1_ctls_of (d->d_name);
              host_add (h, mount, ctls, false);
              v1 = true;
            }
          else if (cg_exists (mount, "cgroup.controllers"))
            {
              host_add (h, mount, "", true);
              v2 = true;
            }
        }
    }
  h->layout = v1 && v2 ? CGROUP_LAYOUT_HYBRID
              : v1     ? CGROUP_LAYOUT_V1
              : v2     ? CGROUP_LAYOUT_V2
                       : CGROUP_LAYOUT_NONE;
  *out = h;
  return 0;
}

void
cgroup_host_free (struct cgroup_host *h)
{
  if (h == NULL)
    return;
  for (size_t i = 0; i < h->n; i++)
    {
      free (h->h[i].mount);
      free (h->h[i].ctls);
      free (h->h[i].v2_controllers);
    }
  free (h->h);
  free (h);
}

const char *
cgroup_layout_name (enum cgroup_layout l)
{
  static const char *const names[] = { "none", "v1", "v2", "hybrid" };
  return names[l];
}

/* ---- placement ---- */

static void
cg_add_dir (struct cgroup *cg, const char *ctls, const char *mount, const char *path)
{
  cg->dirs = xrealloc (cg->dirs, (cg->n + 1) * sizeof *cg->dirs);
  cg->dirs[cg->n].ctls = xstrdup (ctls);
  cg->dirs[cg->n].mount = xstrdup (mount);
  cg->dirs[cg->n].path = xstrdup (path);
  cg->n++;
}

static void
cg_add_created (struct cgroup *cg, const char *path)
{
  for (size_t i = 0; i < cg->n_created; i++)
    if (strcmp (cg->created[i], path) == 0)
      return;
  cg->created = xrealloc (cg->created, (cg->n_created + 2) * sizeof *cg->created);
  cg->created[cg->n_created++] = xstrdup (path);
  cg->created[cg->n_created] = NULL;
}

/* The runtime's own cgroup in the hierarchy `ctls` ("" = v2), from /proc/self/cgroup. */
static char *
own_cgroup (const char *text, const char *ctls)
{
  for (const char *line = text; line && *line;)
    {
      const char *c1 = strchr (line, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      const char *end = strchr (line, '\n');
      size_t n = end ? (size_t)(end - line) : strlen (line);
      if (c2 && c2 < line + n && (size_t)(c2 - c1 - 1) == strlen (ctls)
          && strncmp (c1 + 1, ctls, strlen (ctls)) == 0)
        return xstrndup (c2 + 1, (size_t)(line + n - c2 - 1));
      line = end ? end + 1 : NULL;
    }
  return xstrdup ("/");
}

static int
check_path (const char *p, struct focker_err **err)
{
  _cleanup_free_ char *copy = xstrdup (p);
  char *save = NULL;

  for (char *w = strtok_r (copy, "/", &save); w; w = strtok_r (NULL, "/", &save))
    if (strcmp (w, "..") == 0 || strcmp (w, ".") == 0)
      return focker_fail (err, -EINVAL,
                          "config.json: linux.cgroupsPath: \"%s\": no . or .. allowed", p);
  return 0;
}

static int
plan_systemd (const char *path, struct focker_err **err)
{
  struct stat st;

  /* systemd's cgroup manager is reached over D-Bus; without a running systemd (this is how
   * sd_booted() tells) there is nobody to create the scope */
  if (sys_fstatat (AT_FDCWD, "/run/systemd/system", &st, 0) < 0)
    return focker_fail (err, -EOPNOTSUPP,
                        "--systemd-cgroup: systemd is not running on this host (no "
                        "/run/systemd/system); use the cgroupfs manager");
  return focker_fail (err, -EOPNOTSUPP,
                      "--systemd-cgroup: the systemd cgroup manager is not supported yet (path "
                      "\"%s\")",
                      path ? path : "");
}

int
cgroup_plan (struct cgroup **out, const struct cgroup_host *host, const char *cgroups_path,
             const char *id, bool systemd, struct focker_err **err)
{
  _cleanup_cgroup_ struct cgroup *cg = xcalloc (1, sizeof *cg);
  _cleanup_free_ char *self = NULL, *rel = NULL;
  bool deflt = cgroups_path == NULL || *cgroups_path == '\0';
  int r;

  cg->created = xcalloc (1, sizeof *cg->created);
  if (systemd)
    return plan_systemd (cgroups_path, err);
  if (!deflt && strchr (cgroups_path, ':'))
    return focker_fail (err, -EINVAL,
                        "config.json: linux.cgroupsPath: \"%s\" is the systemd form "
                        "(slice:prefix:name); it needs --systemd-cgroup",
                        cgroups_path);
  /* `id` is the container id, or the absolute default path */
  rel = deflt ? (id[0] == '/' ? xstrdup (id) : xasprintf ("/focker-%s", id))
              : xstrdup (cgroups_path);
  r = check_path (rel, err);
  if (r < 0)
    return r;
  if (rel[0] != '/')
    {
      struct focker_err *e = NULL;
      size_t len;
      if (read_file_at (&self, &len, AT_FDCWD, "/proc/self/cgroup", CG_FILE_MAX, &e) < 0)
        {
          focker_err_free (e);
          self = xstrdup ("");
        }
    }
  for (size_t i = 0; i < host->n; i++)
    {
      const struct cgroup_hier *h = &host->h[i];
      _cleanup_free_ char *base = NULL, *full = NULL, *at = NULL;
      char *p;
      if (rel[0] == '/')
        base = xstrdup (rel);
      else
        {
          _cleanup_free_ char *mine = own_cgroup (self, h->ctls);
          base = path_join (mine, rel);
        }
      full = path_join (h->mount, base);
      while (strlen (full) > 1 && full[strlen (full) - 1] == '/')
        full[strlen (full) - 1] = '\0';
      cg_add_dir (cg, h->ctls, h->mount, full);
      /* every level below the mount that does not exist yet is ours to remove */
      at = xstrdup (full);
      for (p = at + strlen (h->mount); p && *p;)
        {
          char *slash = strchr (p + 1, '/');
          if (slash)
            *slash = '\0';
          if (!exists_at (AT_FDCWD, at))
            cg_add_created (cg, at);
          if (slash)
            *slash = '/';
          p = slash;
        }
    }
  *out = TAKE_PTR (cg);
  return 0;
}

/* ---- directories ---- */

static int
rmdir_retry (const char *path, bool leaf)
{
  int r = 0;

  for (int i = 0; i < 200; i++)
    {
      r = sys_unlinkat (AT_FDCWD, path, AT_REMOVEDIR);
      if (r == 0 || r == -ENOENT)
        return 0;
      if (r != -EBUSY || !leaf)
        break;
      /* killed processes leave the cgroup a moment after they are reaped */
      cg_sleep_ms (5);
    }
  /* an ancestor still holding another container's cgroup stays */
  return (!leaf && (r == -EBUSY || r == -ENOTEMPTY)) ? 0 : r;
}

struct undo_cgdir
{
  char path[1];
};

static void
undo_cgdir (void *data)
{
  struct undo_cgdir *u = data;
  rmdir_retry (u->path, true);
}

/* A new v1 cpuset cgroup starts empty and refuses tasks until it has cpus and mems. */
static int
cpuset_inherit (const char *dir, struct focker_err **err)
{
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
  _cleanup_free_ char *parent = xstrdup (dir);
  char *slash = strrchr (parent, '/');

  if (slash)
    *slash = '\0';
  for (size_t i = 0; i < 2; i++)
    {
      _cleanup_free_ char *mine = NULL, *theirs = NULL;
      int r;
      if (cg_read (&mine, dir, files[i]) < 0 || strspn (mine, " \n") != strlen (mine))
        continue;
      r = cg_read (&theirs, parent, files[i]);
      if (r < 0)
        return focker_fail (err, r, "cgroup: read %s/%s", parent, files[i]);
      if (strspn (theirs, " \n") == strlen (theirs))
        continue;
      r = cg_write (dir, files[i], theirs);
      if (r < 0)
        return focker_fail (err, r, "cgroup: write %s/%s", dir, files[i]);
    }
  return 0;
}

/* v2: a controller is usable in a cgroup only when every ancestor enables it for its
 * children.  Best effort: an ancestor with processes of its own refuses (EBUSY), and a
 * resource that needs the controller then fails naming the file it could not write.  These
 * are not undone: other cgroups may rely on them by then (runc and systemd leave them too). */
static void
v2_enable (const struct cgroup_dir *d)
{
  _cleanup_free_ char *avail = NULL, *want = xstrdup (""), *at = xstrdup (d->path);
  char *save = NULL;

  if (cg_read (&avail, d->mount, "cgroup.controllers") < 0)
    return;
  for (char *w = strtok_r (avail, " \n", &save); w; w = strtok_r (NULL, " \n", &save))
    {
      char *n = xasprintf ("%s%s+%s", want, *want ? " " : "", w);
      free (want);
      want = n;
    }
  if (*want == '\0')
    return;
  for (char *p = at + strlen (d->mount); p;)
    {
      char saved = *p;
      *p = '\0';
      cg_write (at, "cgroup.subtree_control", want);
      *p = saved;
      p = saved ? strchr (p + 1, '/') : NULL;
    }
}

/* Is `dir` at or under `top`? */
static bool
path_under (const char *dir, const char *top)
{
  size_t n = strlen (top);
  return strncmp (dir, top, n) == 0 && (dir[n] == '/' || dir[n] == '\0');
}

/* Is path one of the container's own (leaf) cgroups, and does it hold processes? */
static bool
leaf_busy (const struct cgroup *cg, const char *path)
{
  _cleanup_free_ char *text = NULL;

  for (size_t i = 0; i < cg->n; i++)
    if (strcmp (cg->dirs[i].path, path) == 0)
      return cg_read (&text, path, "cgroup.procs") >= 0 && text[strspn (text, " \n")] != '\0';
  return false;
}

static bool
planned_to_create (const struct cgroup *cg, const char *path)
{
  for (size_t i = 0; i < cg->n_created; i++)
    if (strcmp (cg->created[i], path) == 0)
      return true;
  return false;
}

int
cgroup_create (const struct cgroup *cg, struct undo *undo, struct focker_err **err)
{
  /* A leaf that existed when planned is checked before anything is made; one the plan found
   * missing (the usual case: one open of cgroup.procs fewer per hierarchy) only if its mkdir
   * finds it made since. */
  for (size_t i = 0; i < cg->n; i++)
    if (!planned_to_create (cg, cg->dirs[i].path) && leaf_busy (cg, cg->dirs[i].path))
      return focker_fail (err, -EBUSY, "cgroup: %s already holds processes", cg->dirs[i].path);
  for (size_t i = 0; i < cg->n_created; i++)
    {
      const char *path = cg->created[i];
      struct undo_cgdir *u;
      int r = sys_mkdirat (AT_FDCWD, path, 0755);
      if (r == -EEXIST && leaf_busy (cg, path))
        /* another container's (or the remains of one): its delete would kill ours */
        return focker_fail (err, -EBUSY, "cgroup: %s already holds processes", path);
      if (r == -EEXIST)
        continue; /* the shared default parent, made by another container */
      if (r < 0)
        return focker_fail (err, r, "cgroup: mkdir %s", path);
      u = xmalloc (sizeof *u + strlen (path));
      strcpy (u->path, path);
      undo_push (undo, undo_cgdir, u);
    }
  for (size_t i = 0; i < cg->n; i++)
    {
      const struct cgroup_dir *d = &cg->dirs[i];
      if (*d->ctls == '\0')
        v2_enable (d);
      else if (cg_word_in ("cpuset", d->ctls))
        for (size_t j = 0; j < cg->n_created; j++)
          if (path_under (d->path, cg->created[j]))
            {
              int r = cpuset_inherit (cg->created[j], err);
              if (r < 0)
                return r;
            }
    }
  return 0;
}

const char *
cgroup_v2_dir (const struct cgroup *cg)
{
  for (size_t i = 0; i < cg->n; i++)
    if (*cg->dirs[i].ctls == '\0')
      return cg->dirs[i].path;
  return NULL;
}

int
cgroup_enter (const struct cgroup *cg, pid_t pid, unsigned skip, struct focker_err **err)
{
  char v[32];

  snprintf (v, sizeof v, "%d", (int)pid);
  for (size_t i = 0; i < cg->n; i++)
    {
      int r;
      if (skip & (*cg->dirs[i].ctls == '\0' ? CGROUP_SKIP_V2 : CGROUP_SKIP_V1))
        continue;
      r = cg_write (cg->dirs[i].path, "cgroup.procs", v);
      if (r < 0)
        return focker_fail (err, r, "cgroup: move %d into %s", (int)pid, cg->dirs[i].path);
    }
  return 0;
}

int
cgroup_self_place_open (const struct cgroup *cg, int **out, struct focker_err **err)
{
  int *fds = xmalloc (cg->n * sizeof *fds);

  for (size_t i = 0; i < cg->n; i++)
    fds[i] = -1; /* all of them: a failure closes what was opened */
  for (size_t i = 0; i < cg->n; i++)
    {
      _cleanup_free_ char *path = NULL;
      if (*cg->dirs[i].ctls == '\0')
        continue;
      path = path_join (cg->dirs[i].path, "tasks");
      fds[i] = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
      if (fds[i] < 0)
        {
          int r = fds[i];
          cgroup_self_place_close (cg, fds);
          return focker_fail (err, r, "cgroup: open %s", path);
        }
    }
  *out = fds;
  return 0;
}

void
cgroup_self_place_close (const struct cgroup *cg, int *fds)
{
  if (fds == NULL)
    return;
  for (size_t i = 0; i < cg->n; i++)
    if (fds[i] >= 0)
      sys_close (fds[i]);
  free (fds);
}

int
cgroup_self_place (const struct cgroup *cg, const int *fds, struct focker_err **err)
{
  int r = 0;

  for (size_t i = 0; i < cg->n; i++)
    if (fds[i] >= 0)
      {
        /* "0": the writer itself, and through `tasks` the thread alone */
        ssize_t n = r < 0 ? 0 : sys_write (fds[i], "0", 1);
        if (n < 0)
          r = focker_fail (err, (int)n, "cgroup: move into %s", cg->dirs[i].path);
        sys_close (fds[i]);
      }
  return r;
}

/* ---- controllers ---- */

/* The directory driving controller `v1` (named `v2` in cgroup v2): a v1 hierarchy carrying
 * it, else the v2 directory when the controller is enabled there. */
static const char *
ctl_dir (const struct cgroup *cg, const char *v2ctls, const char *v1, const char *v2, bool *is_v2)
{
  for (size_t i = 0; i < cg->n; i++)
    if (*cg->dirs[i].ctls && cg_word_in (v1, cg->dirs[i].ctls))
      {
        *is_v2 = false;
        return cg->dirs[i].path;
      }
  *is_v2 = true;
  if (v2 && v2ctls && cg_word_in (v2, v2ctls))
    return cgroup_v2_dir (cg);
  return NULL;
}

static int
no_controller (const char *field, const char *ctl, struct focker_err **err)
{
  return focker_fail (err, -EOPNOTSUPP,
                      "linux.resources.%s: this host has no %s controller for the container "
                      "(neither a v1 hierarchy nor enabled in cgroup v2)",
                      field, ctl);
}

static bool
has_memory (const struct spec_resources *r)
{
  return r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap
         || r->has_memory_kernel || r->has_memory_kernel_tcp || r->has_memory_swappiness
         || r->has_disable_oom_killer || r->has_use_hierarchy;
}

static bool
has_cpu (const struct spec_resources *r)
{
  return r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_burst || r->has_cpu_period
         || r->has_cpu_rt_runtime || r->has_cpu_rt_period || r->has_cpu_idle;
}

static bool
has_blkio (const struct spec_resources *r)
{
  return r->has_blkio_weight || r->has_blkio_leaf_weight || r->n_blkio_weight_devices
         || r->n_throttle_read_bps || r->n_throttle_write_bps || r->n_throttle_read_iops
         || r->n_throttle_write_iops;
}

int
cgroup_apply (const struct cgroup *cg, const struct spec_resources *r, struct focker_err **err)
{
  _cleanup_free_ char *v2ctls = NULL;
  const char *v2dir = cgroup_v2_dir (cg), *d;
  bool v2;
  int rc = 0;

  if (v2dir && cg_read (&v2ctls, v2dir, "cgroup.controllers") < 0)
    v2ctls = xstrdup ("");
  if (has_memory (r))
    {
      d = ctl_dir (cg, v2ctls, "memory", "memory", &v2);
      if (d == NULL)
        return no_controller ("memory", "memory", err);
      rc = v2 ? cgroup_v2_memory (d, r, err) : cgroup_v1_memory (d, r, err);
      if (rc < 0)
        return rc;
    }
  if (has_cpu (r))
    {
      d = ctl_dir (cg, v2ctls, "cpu", "cpu", &v2);
      if (d == NULL)
        return no_controller ("cpu", "cpu", err);
      rc = v2 ? cgroup_v2_cpu (d, r, err) : cgroup_v1_cpu (d, r, err);
      if (rc < 0)
        return rc;
    }
  if (r->cpu_cpus || r->cpu_mems)
    {
      d = ctl_dir (cg, v2ctls, "cpuset", "cpuset", &v2);
      if (d == NULL)
        return no_controller ("cpu.cpus", "cpuset", err);
      rc = cgroup_cpuset (d, r, err);
      if (rc < 0)
        return rc;
    }
  if (r->has_pids_limit)
    {
      d = ctl_dir (cg, v2ctls, "pids", "pids", &v2);
      if (d == NULL)
        return no_controller ("pids.limit", "pids", err);
      rc = cgroup_pids_limit (d, r, err);
      if (rc < 0)
        return rc;
    }
  if (has_blkio (r))
    {
      d = ctl_dir (cg, v2ctls, "blkio", "io", &v2);
      if (d == NULL)
        return no_controller ("blockIO", "blkio/io", err);
      rc = v2 ? cgroup_v2_io (d, r, err) : cgroup_v1_blkio (d, r, err);
      if (rc < 0)
        return rc;
    }
  if (r->n_hugepage_limits)
    {
      d = ctl_dir (cg, v2ctls, "hugetlb", "hugetlb", &v2);
      if (d == NULL)
        return no_controller ("hugepageLimits", "hugetlb", err);
      rc = cgroup_hugetlb (d, r, v2 ? "max" : "limit_in_bytes", err);
      if (rc < 0)
        return rc;
    }
  if (r->has_net_class_id || r->n_net_priorities)
    {
      bool v2a, v2b;
      const char *cls = ctl_dir (cg, NULL, "net_cls", NULL, &v2a);
      const char *prio = ctl_dir (cg, NULL, "net_prio", NULL, &v2b);
      rc = cgroup_v1_net (cls, prio, r, err);
      if (rc < 0)
        return rc;
    }
  if (r->n_rdma)
    {
      d = ctl_dir (cg, v2ctls, "rdma", "rdma", &v2);
      if (d == NULL)
        return no_controller ("rdma", "rdma", err);
      rc = cgroup_rdma_limit (d, r, err);
      if (rc < 0)
        return rc;
    }
  if (r->n_unified)
    {
      if (v2dir == NULL)
        return focker_fail (err, -EOPNOTSUPP,
                            "linux.resources.unified: this host has no cgroup v2 hierarchy");
      rc = cgroup_v2_unified (v2dir, v2ctls, r, err);
    }
  return rc;
}

int
cgroup_apply_devices (const struct cgroup *cg, const struct spec_resources *r,
                      const struct spec_device *devs, size_t n_devs, struct focker_err **err)
{
  _cleanup_free_ struct spec_device_rule *rules = NULL;
  size_t n = cgroup_device_rules (&rules, r, devs, n_devs);
  const char *v1 = NULL, *v2dir = cgroup_v2_dir (cg);
  bool v2;

  if (!cgroup_devices_prefer_bpf || v2dir == NULL)
    v1 = ctl_dir (cg, NULL, "devices", NULL, &v2);
  if (v1)
    return cgroup_v1_devices (v1, rules, n, err);
  if (v2dir)
    return cgroup_v2_devices (v2dir, rules, n, err);
  return 0;
}

/* ---- processes ---- */

static const char *
procs_dir (const struct cgroup *cg)
{
  /* v2 lists every process of the subtree's leaf; on v1 any hierarchy holds them all */
  const char *v2 = cgroup_v2_dir (cg);
  if (v2)
    return v2;
  for (size_t i = 0; i < cg->n; i++)
    if (cg_word_in ("pids", cg->dirs[i].ctls) || cg_word_in ("freezer", cg->dirs[i].ctls))
      return cg->dirs[i].path;
  return cg->n ? cg->dirs[0].path : NULL;
}

int
cgroup_pids (pid_t **out, size_t *n, const struct cgroup *cg, struct focker_err **err)
{
  const char *dir = procs_dir (cg);
  _cleanup_free_ char *text = NULL;
  pid_t *pids = xcalloc (1, sizeof *pids);
  size_t k = 0;
  int r;

  if (dir == NULL)
    {
      *out = pids;
      *n = 0;
      return 0;
    }
  r = cg_read (&text, dir, "cgroup.procs");
  if (r < 0)
    {
      free (pids);
      return focker_fail (err, r, "cgroup: read %s/cgroup.procs", dir);
    }
  for (char *p = text; *p;)
    {
      char *end;
      long v = strtol (p, &end, 10);
      if (end == p)
        break;
      if (v > 0)
        {
          pids = xrealloc (pids, (k + 1) * sizeof *pids);
          pids[k++] = (pid_t)v;
        }
      p = end;
    }
  *out = pids;
  *n = k;
  return 0;
}

int
cgroup_signal_all (const struct cgroup *cg, int sig)
{
  _cleanup_free_ pid_t *pids = NULL;
  struct focker_err *e = NULL;
  size_t n = 0;
  int r = cgroup_pids (&pids, &n, cg, &e), sent = 0;

  focker_err_free (e);
  if (r < 0)
    return r;
  for (size_t i = 0; i < n; i++)
    if (sys_kill (pids[i], sig) == 0)
      sent++;
  return sent;
}

int
cgroup_freeze (const struct cgroup *cg, bool freeze, struct focker_err **err)
{
  bool v2;
  const char *d = ctl_dir (cg, NULL, "freezer", NULL, &v2);

  if (d)
    return cgroup_v1_freeze (d, freeze, err);
  d = cgroup_v2_dir (cg);
  if (d)
    return cgroup_v2_freeze (d, freeze, err);
  return focker_fail (err, -EOPNOTSUPP, "cgroup: no freezer (neither v1 freezer nor cgroup v2)");
}

int
cgroup_destroy (const struct cgroup *cg, struct focker_err **err)
{
  bool v2;
  const char *fr = ctl_dir (cg, NULL, "freezer", NULL, &v2);

  if (cg->n)
    {
      /* SIGKILL first, then thaw: a frozen process dies as soon as it is thawed */
      for (int round = 0; round < 100 && cgroup_signal_all (cg, SIGKILL) > 0; round++)
        {
          if (fr)
            cg_write (fr, "freezer.state", "THAWED");
          else if (cgroup_v2_dir (cg))
            cg_write (cgroup_v2_dir (cg), "cgroup.freeze", "0");
          cg_sleep_ms (round ? 10 : 1);
        }
    }
  for (size_t i = cg->n_created; i-- > 0;)
    {
      const char *p = cg->created[i];
      bool leaf = false;
      int r;
      for (size_t j = 0; j < cg->n; j++)
        leaf |= strcmp (cg->dirs[j].path, p) == 0;
      r = rmdir_retry (p, leaf);
      if (r < 0)
        return focker_fail (err, r, "cgroup: remove %s", p);
    }
  return 0;
}

/* ---- the container's /sys/fs/cgroup ---- */

/* A hierarchy cgroupfs refused to mount in a user namespace: bind the container's own
 * directory of it instead (runc's way for v1), the host path taken from `self` (the init's
 * /proc/self/cgroup before its cgroup namespace).  Never the hierarchy's root: a path of "/"
 * or one leaving the hierarchy is refused, and the directory stays empty. */
static char *
own_source (const char *mount, const char *ctls, const char *self)
{
  _cleanup_free_ char *own = own_cgroup (self, ctls);

  if (strcmp (own, "/") == 0 || strstr (own, "/..") || own[0] != '/')
    return NULL;
  return xasprintf ("%s%s", mount, own);
}

static int
mount_own_bind (const struct cgroup_hier *h, const char *at, unsigned long fl, const char *self)
{
  _cleanup_free_ char *src = own_source (h->mount, h->ctls, self);
  int r;

  if (src == NULL)
    return -EPERM;
  r = sys_mount (src, at, NULL, MS_BIND | MS_REC, NULL);
  if (r < 0)
    return r;
  /* the bind starts with the source's flags: read-only (and the rest) need a remount */
  return sys_mount (NULL, at, NULL,
                    MS_BIND | MS_REMOUNT | (fl & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)),
                    NULL);
}

/* A user namespace without its own cgroup namespace may not mount cgroup2 (EPERM).  Bind
 * the container's own directory, or where that is unknown the host's hierarchy, read-only,
 * as runc does for that case. */
static int
mount_cgroup2_bind (const char *target, unsigned long fl, int (*reopen) (void *ctx, char **target),
                    void *ctx, const char *self, struct focker_err **err)
{
  _cleanup_free_ char *top = xstrdup (target);
  _cleanup_free_ char *src = self ? own_source (CGROUP_ROOT, "", self) : NULL;
  int r;

  r = sys_mount (src ? src : CGROUP_ROOT, target, NULL, MS_BIND | MS_REC, NULL);
  if (r < 0)
    return focker_fail (err, r,
                        "mount /sys/fs/cgroup: bind %s (no cgroup namespace to mount "
                        "cgroup2 in)",
                        src ? src : CGROUP_ROOT);
  r = reopen (ctx, &top);
  if (r < 0)
    return focker_fail (err, r, "mount /sys/fs/cgroup: reopen");
  r = sys_mount (NULL, top, NULL,
                 MS_BIND | MS_REMOUNT | MS_RDONLY | (fl & (MS_NOSUID | MS_NODEV | MS_NOEXEC)),
                 NULL);
  if (r < 0)
    return focker_fail (err, r, "mount /sys/fs/cgroup: remount the bind read-only");
  return 0;
}

/* Is the runtime's mount of hierarchy `h` the hierarchy's root (kernfs numbers a root 1),
 * seen from the initial cgroup namespace?  Then a new mount of the hierarchy outside any
 * cgroup namespace shows exactly what it shows. */
static bool
host_mount_is_root (const struct cgroup_hier *h, int *initial_ns)
{
  struct stat st;

  if (*initial_ns < 0)
    *initial_ns = sys_fstatat (AT_FDCWD, "/proc/self/ns/cgroup", &st, 0) == 0
                  && st.st_ino == CGROUP_NS_INITIAL_INO;
  return *initial_ns && sys_fstatat (AT_FDCWD, h->mount, &st, 0) == 0 && st.st_ino == 1;
}

/* A bind of the runtime's mount of `h`, given the flags a new mount would have had. */
static int
mount_host_bind (const struct cgroup_hier *h, const char *at, unsigned long fl)
{
  int r = sys_mount (h->mount, at, NULL, MS_BIND, NULL);

  if (r < 0)
    return r;
  return sys_mount (NULL, at, NULL,
                    MS_BIND | MS_REMOUNT
                        | (fl & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME)),
                    NULL);
}

int
cgroup_mount_container (const char *target, unsigned long flags,
                        int (*reopen) (void *ctx, char **target), void *ctx, const char *self,
                        bool host_view, const struct cgroup_host *host, struct focker_err **err)
{
  int initial_ns = -1;
  _cleanup_cgroup_host_ struct cgroup_host *found = NULL;
  _cleanup_free_ char *top = NULL;
  unsigned long fl = (flags & ~(MS_REC | MS_BIND)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  int r;

  if (host == NULL)
    {
      r = cgroup_host_detect (&found, err);
      if (r < 0)
        return r;
      host = found;
    }
  if (host->layout == CGROUP_LAYOUT_V2)
    {
      /* in the container's cgroup namespace the new cgroup2 mount shows only its subtree */
      r = sys_mount ("cgroup2", target, "cgroup2", fl, NULL);
      /* EBUSY: seen on 6.1 for a rootless container in the caller's own cgroup */
      if (r == -EPERM || r == -EBUSY)
        return mount_cgroup2_bind (target, fl, reopen, ctx, self, err);
      if (r < 0)
        return focker_fail (err, r, "mount /sys/fs/cgroup: cgroup2");
      return 0;
    }
  r = sys_mount ("tmpfs", target, "tmpfs", (fl & ~MS_RDONLY), "mode=755");
  if (r < 0)
    return focker_fail (err, r, "mount /sys/fs/cgroup: tmpfs");
  /* the fd behind `target` still names the directory under the new tmpfs */
  top = xstrdup (target);
  r = reopen (ctx, &top);
  if (r < 0)
    return focker_fail (err, r, "mount /sys/fs/cgroup: reopen");
  for (size_t i = 0; i < host->n; i++)
    {
      const struct cgroup_hier *h = &host->h[i];
      const char *name = strrchr (h->mount, '/') + 1;
      _cleanup_free_ char *at = path_join (top, name), *opts = NULL;
      r = sys_mkdirat (AT_FDCWD, at, 0755);
      if (r < 0 && r != -EEXIST)
        return focker_fail (err, r, "mount /sys/fs/cgroup/%s: mkdir", name);
      /* outside a cgroup namespace of its own, a bind of the runtime's mount where that shows
       * the same (cgroup.h); else a new mount, which inside the container's cgroup namespace
       * is rooted at its cgroup */
      r = -1;
      if (host_view && host_mount_is_root (h, &initial_ns))
        r = mount_host_bind (h, at, fl);
      if (r < 0 && h->v2)
        r = sys_mount ("cgroup2", at, "cgroup2", fl, NULL);
      else if (r < 0)
        {
          opts = strncmp (h->ctls, "name=", 5) == 0 ? xasprintf ("none,%s", h->ctls)
                                                    : xstrdup (h->ctls);
          r = sys_mount ("cgroup", at, "cgroup", fl, opts);
        }
      /* in a user namespace v1 hierarchies (and cgroup2 without a cgroup namespace) may not
       * be mounted: bind the container's own directory, or leave it empty rather than show
       * the host's tree */
      if ((r == -EPERM || r == -EBUSY) && self)
        r = mount_own_bind (h, at, fl, self);
      if (r == -EPERM || r == -EBUSY)
        continue;
      if (r < 0)
        return focker_fail (err, r, "mount /sys/fs/cgroup/%s: %s", name, h->v2 ? "cgroup2" : opts);
    }
  if (flags & MS_RDONLY)
    {
      r = sys_mount (NULL, top, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | (fl & ~MS_RDONLY), NULL);
      if (r < 0)
        return focker_fail (err, r, "mount /sys/fs/cgroup: remount read-only");
    }
  return 0;
}

/* ---- state ---- */

void *
cgroup_to_json (const struct cgroup *cg)
{
  json_t *o = json_object (), *dirs = json_array (), *created = json_array ();

  for (size_t i = 0; i < cg->n; i++)
    json_array_append_new (dirs, json_pack ("{s:s,s:s,s:s}", "controllers", cg->dirs[i].ctls,
                                            "mount", cg->dirs[i].mount, "path", cg->dirs[i].path));
  for (size_t i = 0; i < cg->n_created; i++)
    json_array_append_new (created, json_string (cg->created[i]));
  json_object_set_new (o, "dirs", dirs);
  json_object_set_new (o, "created", created);
  return o;
}

int
cgroup_from_json (struct cgroup **out, const void *json)
{
  const json_t *o = json, *dirs = json_object_get (o, "dirs"), *created;
  struct cgroup *cg;
  size_t i;
  json_t *v;

  created = json_object_get (o, "created");
  if (!json_is_array (dirs) || !json_is_array (created))
    return -EINVAL;
  cg = xcalloc (1, sizeof *cg);
  cg->created = xcalloc (1, sizeof *cg->created);
  json_array_foreach (dirs, i, v)
  {
    const char *c = json_string_value (json_object_get (v, "controllers"));
    const char *m = json_string_value (json_object_get (v, "mount"));
    const char *p = json_string_value (json_object_get (v, "path"));
    if (c && m && p && p[0] == '/' && path_under (p, m))
      cg_add_dir (cg, c, m, p);
  }
  json_array_foreach (created, i, v) if (json_is_string (v) && json_string_value (v)[0] == '/')
      cg_add_created (cg, json_string_value (v));
  *out = cg;
  return 0;
}

int
cgroup_write_intent (int fd, const struct cgroup *cg, struct focker_err **err)
{
  json_t *o = cgroup_to_json (cg);
  _cleanup_free_ char *text = json_dumps (o, JSON_COMPACT);
  int r;

  json_decref (o);
  if (text == NULL)
    return focker_fail (err, -ENOMEM, "cgroup: encode");
  r = write_all (fd, text, strlen (text));
  if (r < 0)
    return focker_fail (err, r, "write the cgroup intent into the lock file");
  return 0;
}

int
cgroup_read_intent (struct cgroup **out, int fd)
{
  _cleanup_free_ char *text = NULL;
  json_t *o;
  size_t len;
  int r = read_fd (&text, &len, fd, CG_FILE_MAX);

  if (r < 0)
    return r;
  if (len == 0)
    return -ENODATA;
  o = json_loadb (text, len, 0, NULL);
  r = o ? cgroup_from_json (out, o) : -EINVAL;
  json_decref (o);
  return r;
}

void
cgroup_free (struct cgroup *cg)
{
  if (cg == NULL)
    return;
  for (size_t i = 0; i < cg->n; i++)
    {
      free (cg->dirs[i].ctls);
      free (cg->dirs[i].mount);
      free (cg->dirs[i].path);
    }
  free (cg->dirs);
  for (size_t i = 0; i < cg->n_created; i++)
    free (cg->created[i]);
  free (cg->created);
  free (cg);
}

/* ---- conversions ---- */

uint64_t
cgroup_shares_to_weight (uint64_t shares)
{
  /* runc: [2, 262144] -> [1, 10000], linear */
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t
cgroup_blkio_to_io_weight (uint64_t weight)
{
  /* runc: [10, 1000] -> [1, 10000], linear */
  if (weight == 0)
    return 0;
  if (weight < 10)
    weight = 10;
  if (weight > 1000)
    weight = 1000;
  return 1 + ((weight - 10) * 9999) / 990;
}
