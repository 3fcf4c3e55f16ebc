/* container.c: the OCI lifecycle, runtime side (see container.h; the init is in init.c).
 *
 * Every host change made by create is on the undo list as soon as it exists (the state
 * directory, the init process), so a failure at any step leaves nothing behind.  Commands
 * that change a container's state take the state directory's lock first. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <jansson.h>
#include "core/cgroup.h"
#include "core/cleanup.h"
#include "core/container.h"
#include "core/container_internal.h"
#include "core/fsutil.h"
#include "core/hooks.h"
#include "core/init.h"
#include "core/log.h"
#include "core/passwd.h"
#include "core/spec.h"
#include "core/sync.h"
#include "core/undo.h"

struct undo_state
{
  int rootfd;
  bool cancelled; /* the name no longer refers to our lock file */
  char id[];
};

static void
undo_rm_state (void *data)
{
  struct undo_state *u = data;
  if (!u->cancelled)
    state_remove (u->rootfd, u->id, false);
}

void
container_undo_kill_child (void *data)
{
  struct undo_child *u = data;
  siginfo_t info;
  if (u->pid <= 0) /* already reaped */
    return;
  sys_kill (u->pid, SIGKILL);
  sys_waitid (P_PID, (id_t)u->pid, &info, WEXITED);
}

/* Move an fd to >= min (close-on-exec) so it cannot collide with preserved fds 3..min-1. */
int
container_fd_above (int fd, int min)
{
  int nfd;
  if (fd < 0 || fd >= min)
    return fd;
  nfd = sys_fcntl (fd, F_DUPFD_CLOEXEC, min);
  sys_close (fd);
  return nfd;
}

static int
validate_for_create (const struct spec *s, struct focker_err **err)
{
  bool has_mnt = false, has_uts = false;

  if (s->process == NULL)
    return focker_fail (err, -EINVAL, "config.json: process: required to create a container");
  if (s->root_path == NULL)
    return focker_fail (err, -EINVAL, "config.json: root.path: required");
  for (size_t i = 0; s->has_linux && i < s->linux_.n_namespaces; i++)
    {
      has_mnt |= s->linux_.namespaces[i].type == CLONE_NEWNS;
      has_uts |= s->linux_.namespaces[i].type == CLONE_NEWUTS;
    }
  /* Without its own mount namespace every mount would land on the host. */
  if (!has_mnt)
    return focker_fail (err, -EINVAL,
                        "config.json: linux.namespaces: a mount namespace is required");
  if ((s->hostname || s->domainname) && !has_uts)
    return focker_fail (err, -EINVAL,
                        "config.json: hostname: needs a uts namespace in linux.namespaces");
  if (s->process->terminal && s->process->args == NULL)
    return focker_fail (err, -EINVAL, "config.json: process.args: required");
  return 0;
}

static char *
resolve_rootfs (const char *bundle, const char *root_path)
{
  return root_path[0] == '/' ? xstrdup (root_path) : path_join (bundle, root_path);
}

/* Open namespaces to join and compute the flags of the ones to create. */
static int
plan_namespaces (struct init_ctx *c, uint64_t *clone_flags, int *pid_join_fd,
                 struct focker_err **err)
{
  const struct spec *s = c->spec;
  bool join_user = false;
  int new_flags = 0;

  for (size_t i = 0; s->has_linux && i < s->linux_.n_namespaces; i++)
    {
      const struct spec_namespace *ns = &s->linux_.namespaces[i];
      int fd;
      if (ns->path == NULL)
        {
          new_flags |= ns->type;
          continue;
        }
      fd = sys_openat (AT_FDCWD, ns->path, O_RDONLY | O_CLOEXEC, 0);
      if (fd < 0)
        return focker_fail (err, fd, "config.json: linux.namespaces[%zu].path: open %s", i,
                            ns->path);
      if (ns->type == CLONE_NEWPID)
        {
          *pid_join_fd = fd;
          continue;
        }
      if (c->n_join >= INIT_MAX_JOIN)
        {
          sys_close (fd);
          return focker_fail (err, -EINVAL, "config.json: linux.namespaces: too many paths");
        }
      /* the user namespace is joined first: the others are owned by it */
      if (ns->type == CLONE_NEWUSER)
        {
          join_user = true;
          memmove (c->join_fds + 1, c->join_fds, sizeof (int) * (size_t)c->n_join);
          memmove (c->join_types + 1, c->join_types, sizeof (int) * (size_t)c->n_join);
          c->join_fds[0] = fd;
          c->join_types[0] = CLONE_NEWUSER;
        }
      else
        {
          c->join_fds[c->n_join] = fd;
          c->join_types[c->n_join] = ns->type;
        }
      c->n_join++;
    }
  c->new_time = (new_flags & CLONE_NEWTIME) != 0;
  new_flags &= ~CLONE_NEWTIME;
  /* a cgroup namespace is rooted at the creator's cgroup: the init unshares it only after
   * the parent has moved it into the container's cgroup (before SYNC_GO) */
  c->new_cgroup = (new_flags & CLONE_NEWCGROUP) != 0;
  new_flags &= ~CLONE_NEWCGROUP;
  if (join_user)
    {
      /* new namespaces must belong to the joined user namespace: create them after setns;
       * only a new pid namespace has to come with the clone */
      c->unshare_flags = new_flags & ~CLONE_NEWPID;
      new_flags &= CLONE_NEWPID;
    }
  c->new_user = (new_flags & CLONE_NEWUSER) != 0;
  *clone_flags = (uint64_t)new_flags;
  return 0;
}

static char *
id_map_text (const struct spec_id_map *m, size_t n)
{
  char *out = xstrdup ("");
  for (size_t i = 0; i < n; i++)
    {
      char *next = xasprintf ("%s%u %u %u\n", out, m[i].container_id, m[i].host_id, m[i].size);
      free (out);
      out = next;
    }
  return out;
}

static int
write_map_file (pid_t pid, const char *file, const char *text, struct focker_err **err)
{
  _cleanup_free_ char *path = xasprintf ("/proc/%d/%s", (int)pid, file);
  _cleanup_close_ int fd = sys_openat (AT_FDCWD, path, O_WRONLY | O_CLOEXEC, 0);
  int r;

  if (fd < 0)
    return focker_fail (err, fd, "open %s", path);
  r = write_all (fd, text, strlen (text));
  if (r < 0)
    return focker_fail (err, r, "write %s", path);
  return 0;
}

/* newuidmap PID ID HOSTID SIZE ... (or newgidmap), run from the runtime: setuid root, they
 * write what /etc/subuid (/etc/subgid) gives the caller, and refuse the rest. */
static int
run_id_map_helper (const char *prog, const char *field, pid_t pid, const struct spec_id_map *m,
                   size_t n, unsigned id, struct focker_err **err)
{
  extern char **environ;
  _cleanup_free_ char *path = NULL;
  _cleanup_err_ struct focker_err *e = NULL;
  char **argv = xcalloc (3 * n + 3, sizeof *argv);
  struct spec_hook h = { .args = argv };
  int r;

  r = init_find_executable (&path, prog, environ, &e);
  if (r < 0)
    r = focker_fail (err, r,
                     "config.json: linux.%s: running rootless, a map other than of "
                     "the caller's own id (%u) needs %s (package uidmap), not found",
                     field, id, prog);
  else
    {
      h.path = path;
      argv[0] = xstrdup (prog);
      argv[1] = xasprintf ("%d", (int)pid);
      for (size_t i = 0; i < n; i++)
        {
          argv[2 + 3 * i] = xasprintf ("%u", m[i].container_id);
          argv[3 + 3 * i] = xasprintf ("%u", m[i].host_id);
          argv[4 + 3 * i] = xasprintf ("%u", m[i].size);
        }
      _cleanup_free_ char *where = xasprintf ("config.json: linux.%s", field);
      r = hooks_run_program (&h, where, "", &e);
      if (r < 0)
        r = focker_fail (err, r,
                         "%s (running rootless, only the ids /etc/sub%cid gives this "
                         "user, %u, can be mapped)",
                         e->msg, field[0], id);
    }
  for (size_t i = 0; i < 3 * n + 3; i++)
    free (argv[i]);
  free (argv);
  return r;
}

/* The uid or gid map of a new user namespace.  Root writes the file.  Rootless, the kernel
 * lets the caller write a single line mapping its own id (gid_map only once setgroups is
 * "deny"); anything else goes through newuidmap/newgidmap. */
static int
write_one_map (bool gid, const struct spec_id_map *m, size_t n, bool rootless, unsigned id,
               pid_t pid, struct focker_err **err)
{
  const char *field = gid ? "gidMappings" : "uidMappings";
  _cleanup_free_ char *text = id_map_text (m, n);
  int r;

  if (n == 0)
    return focker_fail (err, -EINVAL, "config.json: linux.%s: required with a new user namespace",
                        field);
  if (rootless && !(n == 1 && m[0].size == 1 && m[0].host_id == id))
    return run_id_map_helper (gid ? "newgidmap" : "newuidmap", field, pid, m, n, id, err);
  if (rootless && gid)
    {
      r = write_map_file (pid, "setgroups", "deny", err);
      if (r < 0)
        return r;
    }
  return write_map_file (pid, gid ? "gid_map" : "uid_map", text, err);
}

static int
write_id_maps (const struct spec *s, bool rootless, pid_t pid, struct focker_err **err)
{
  const struct spec_linux *l = &s->linux_;
  uid_t euid = 0;
  gid_t egid = 0;
  int r;

  if (rootless)
    {
      r = sys_getids (&euid, &egid);
      if (r < 0)
        return focker_fail (err, r, "get the caller's uid and gid");
    }
  /* rootless and no maps: the caller is root in the container, as crun maps it */
  if (rootless && l->n_uid_mappings == 0 && l->n_gid_mappings == 0)
    {
      struct spec_id_map u = { 0, euid, 1 }, g = { 0, egid, 1 };
      r = write_one_map (false, &u, 1, true, euid, pid, err);
      return r < 0 ? r : write_one_map (true, &g, 1, true, egid, pid, err);
    }
  /* root (--rootless true) may write any map itself, and is in no /etc/subuid */
  rootless = rootless && euid != 0;
  r = write_one_map (false, l->uid_mappings, l->n_uid_mappings, rootless, euid, pid, err);
  if (r < 0)
    return r;
  return write_one_map (true, l->gid_mappings, l->n_gid_mappings, rootless, egid, pid, err);
}

/* What later commands read back of the config: exec the process and linux (namespaces,
 * confinement, cgroup), update and events linux.resources and linux.devices, start and
 * delete the hooks.  root and mounts (most of a config) are the init's alone, annotations
 * are kept on their own, hostname and domainname live in the container's uts namespace. */
static json_t *
state_config (const void *config)
{
  static const char *const kept[] = { "ociVersion", "process", "linux", "hooks" };
  json_t *o = json_object ();

  for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
    {
      json_t *v = json_object_get ((const json_t *)config, kept[i]);
      if (v)
        json_object_set (o, kept[i], v);
    }
  return o;
}

static struct container_state *
new_state (const struct create_opts *o, const struct spec *s, const char *rootfs, pid_t pid)
{
  struct container_state *st = xcalloc (1, sizeof *st);
  json_t *ann = json_object_get ((json_t *)s->json, "annotations");

  st->id = xstrdup (o->id);
  st->pid = pid;
  st->bundle = xstrdup (o->bundle);
  st->rootfs = xstrdup (rootfs);
  st->created = state_now_rfc3339 ();
  st->owner = xstrdup ("");
  if (json_is_object (ann))
    st->annotations = json_incref (ann);
  st->config = state_config (s->json);
  return st;
}

int
container_write_pid_file (const char *path, pid_t pid, struct focker_err **err)
{
  _cleanup_free_ char *dir = xstrdup (path);
  _cleanup_close_ int dirfd = -1;
  char *slash = strrchr (dir, '/');
  char text[32];
  const char *base = path;
  int r;

  if (slash)
    {
      *slash = '\0';
      base = slash + 1;
      dirfd = open_dir_at (AT_FDCWD, *dir ? dir : "/", err);
      if (dirfd < 0)
        return focker_err_prefix (err, "pid file %s", path);
    }
  snprintf (text, sizeof text, "%d", (int)pid);
  r = write_file_atomic_at (slash ? dirfd : AT_FDCWD, base, text, strlen (text), 0644, false, err);
  if (r < 0)
    return focker_err_prefix (err, "pid file %s", path);
  return 0;
}

struct create_run
{
  struct init_ctx init;
  struct spec *spec;
  char *rootfs;
  int rootfd, lockfd;
  int state_tmpfd; /* state.json's temporary, made while the init works, or -1 */
  int pid_join_fd, pid_restore_fd;
  pid_t pid;
  struct cgroup *cg;           /* NULL on a host without cgroups */
  struct cgroup_host *cg_host; /* as found by create_cgroup; the init uses it too */
  bool cloned_into_cgroup;
  uint8_t *passed_fds; /* init_fds_passed, before anything was opened */
};

static void
create_run_release (struct create_run *cr)
{
  int *fds[] = { &cr->init.to_init[0],
                 &cr->init.to_init[1],
                 &cr->init.from_init[0],
                 &cr->init.from_init[1],
                 &cr->init.exec_listen,
                 &cr->init.console_fd,
                 &cr->rootfd,
                 &cr->lockfd,
                 &cr->state_tmpfd,
                 &cr->pid_join_fd,
                 &cr->pid_restore_fd };
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if (*fds[i] >= 0)
      {
        sys_close (*fds[i]);
        *fds[i] = -1;
      }
  for (int i = 0; i < cr->init.n_join; i++)
    if (cr->init.join_fds[i] >= 0)
      sys_close (cr->init.join_fds[i]);
  cr->init.n_join = 0;
  spec_free (cr->spec);
  free (cr->rootfs);
  cgroup_free (cr->cg);
  cr->cg = NULL;
  cgroup_host_free (cr->cg_host);
  cr->cg_host = NULL;
  cr->init.cgroup_host = NULL;
}

/* Open every fd the init needs, above the preserved range. */
static int
create_open_fds (struct create_run *cr, const struct create_opts *o, struct focker_err **err)
{
  int min = 3 + o->preserve_fds, r;
  int *fds[] = { &cr->init.to_init[0],   &cr->init.to_init[1],  &cr->init.from_init[0],
                 &cr->init.from_init[1], &cr->init.exec_listen, &cr->init.console_fd };

  if (cr->spec->process->terminal)
    {
      if (o->console_socket == NULL)
        return focker_fail (err, -EINVAL,
                            "process.terminal is true but no --console-socket was given");
      cr->init.console_fd = sys_unix_connect (AT_FDCWD, o->console_socket);
      if (cr->init.console_fd < 0)
        return focker_fail (err, cr->init.console_fd, "console socket %s: connect",
                            o->console_socket);
    }
  else if (o->console_socket)
    /* as runc: a client that waits on the socket for a pty would wait forever */
    return focker_fail (err, -EINVAL, "--console-socket given but process.terminal is false");
  if ((r = sys_pipe2 (cr->init.to_init, O_CLOEXEC)) < 0
      || (r = sys_pipe2 (cr->init.from_init, O_CLOEXEC)) < 0)
    return focker_fail (err, r, "create sync pipes");
  {
    _cleanup_free_ char *sock = state_name (o->id, STATE_EXEC_SOCK);
    cr->init.exec_listen = sys_unix_listen (cr->rootfd, sock);
    if (cr->init.exec_listen < 0)
      return focker_fail (err, cr->init.exec_listen, "container %s: listen on %s", o->id, sock);
  }
  for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
    if ((*fds[i] = container_fd_above (*fds[i], min)) < 0 && *fds[i] != -1)
      return focker_fail (err, *fds[i], "move fd above --preserve-fds range");
  return 0;
}

/* Does linux.resources ask a cgroup for anything beyond device rules?  (Device rules guard
 * device nodes; in a user namespace none can be made, only the host's bound in, which the
 * user may open anyway: runc skips them there too.) */
static bool
asks_limits (const struct spec *s)
{
  json_t *res = json_object_get (json_object_get ((json_t *)s->json, "linux"), "resources");
  const char *key;
  json_t *v;

  json_object_foreach (res, key, v)
  {
    if (strcmp (key, "devices") == 0 || json_is_null (v))
      continue;
    if ((json_is_object (v) && json_object_size (v) == 0)
        || (json_is_array (v) && json_array_size (v) == 0))
      continue;
    return true;
  }
  return false;
}

/* Rootless, and the cgroup could not be made: what was made of it goes, and the container
 * runs without one if its config asks the cgroup for nothing; else one line saying why. */
static int
rootless_no_cgroup (struct create_run *cr, const struct create_opts *o, struct focker_err **err)
{
  const struct spec_linux *l = &cr->spec->linux_;
  _cleanup_free_ char *path = xstrdup (cr->cg->n ? cr->cg->dirs[0].path : "");
  struct focker_err *e = NULL;

  cgroup_destroy (cr->cg, &e);
  focker_err_free (e);
  cgroup_free (cr->cg);
  cr->cg = NULL;
  /* no intent any more: a delete must not remove dirs of that name someone makes later */
  {
    int r = sys_ftruncate (cr->lockfd, 0);
    if (r < 0)
      return focker_fail (err, r, "container %s: clear the cgroup intent in the lock file", o->id);
  }
  if (cr->spec->has_linux && l->cgroups_path && *l->cgroups_path)
    return focker_fail (err, -EACCES,
                        "config.json: linux.cgroupsPath: \"%s\" cannot be made: running "
                        "rootless, and the cgroup is not delegated to this user",
                        l->cgroups_path);
  if (cr->spec->has_linux && l->has_resources && asks_limits (cr->spec))
    return focker_fail (err, -EACCES,
                        "config.json: linux.resources: running rootless, and no cgroup is "
                        "delegated to this user (%s cannot be made): no limit can be applied",
                        path);
  focker_log ("debug",
              "container %s: rootless, no cgroup (%s cannot be made, no "
              "linux.resources asked)",
              o->id, path);
  return 0;
}

/* The container's cgroup: recorded in the lock file first (so `delete --force` finds what a
 * killed create made), then made, then limited, all before the init exists. */
static int
create_cgroup (struct create_run *cr, const struct create_opts *o, struct undo *undo,
               struct focker_err **err)
{
  struct cgroup_host *host;
  const struct spec_linux *l = &cr->spec->linux_;
  _cleanup_free_ char *deflt = NULL;
  bool in_userns
      = cr->init.new_user || (cr->init.n_join && cr->init.join_types[0] == CLONE_NEWUSER);
  int r;

  r = cgroup_host_detect (&cr->cg_host, err);
  if (r < 0)
    return r;
  /* the init's cgroup mounts need the same layout: it runs on a copy of this memory */
  host = cr->cg_host;
  cr->init.cgroup_host = host;
  if (host->layout == CGROUP_LAYOUT_NONE)
    return o->systemd_cgroup ? cgroup_plan (&cr->cg, host, NULL, o->id, true, err) : 0;
  /* One level below the root of each hierarchy, as runc and crun place theirs: a shared
   * parent would be made and removed again around most containers (20 more mkdir/rmdir on a
   * v1 host).  Ids are unique per runtime root: another --root's names carry its hash. */
  if (strcmp (o->root, FOCKER_DEFAULT_ROOT) == 0)
    deflt = xasprintf ("/focker-%s", o->id);
  else
    {
      uint32_t h = 2166136261u; /* FNV-1a of the root */
      for (const char *p = o->root; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
      deflt = xasprintf ("/focker-%08x-%s", (unsigned)h, o->id);
    }
  r = cgroup_plan (&cr->cg, host, cr->spec->has_linux ? l->cgroups_path : NULL, deflt,
                   o->systemd_cgroup, err);
  if (r < 0)
    return r;
  r = cgroup_write_intent (cr->lockfd, cr->cg, err);
  if (r < 0)
    return focker_err_prefix (err, "container %s", o->id);
  r = cgroup_create (cr->cg, undo, err);
  if (o->rootless && (r == -EACCES || r == -EPERM || r == -EROFS))
    {
      focker_err_free (TAKE_PTR (*err));
      return rootless_no_cgroup (cr, o, err);
    }
  if (r >= 0 && cr->spec->has_linux && l->has_resources)
    r = cgroup_apply (cr->cg, &l->resources, err);
  /* as runc: a container with resources or device nodes gets the device rules, whether its
   * config lists any or not; except rootless in a user namespace, where no device node can
   * be made (only the host's bound in, which the user may open anyway) and the kernel lets
   * no unprivileged user attach a device program (runc and crun skip them too) */
  if (r >= 0 && cr->spec->has_linux && (l->has_resources || l->n_devices)
      && !(o->rootless && in_userns))
    r = cgroup_apply_devices (cr->cg, l->has_resources ? &l->resources : NULL, l->devices,
                              l->n_devices, err);
  return r;
}

/* Clone the init straight into its v2 cgroup where the kernel can (5.7+): no window in
 * which it runs in the creator's cgroup.  Otherwise (or on v1) the parent moves it. */
static pid_t
clone_init (struct create_run *cr, struct sys_clone_args *ca)
{
  const char *v2 = cr->cg ? cgroup_v2_dir (cr->cg) : NULL;
  int major = 0, minor = 0;
  pid_t pid;

  if (v2 && sys_kernel_version (&major, &minor) == 0 && (major > 5 || (major == 5 && minor >= 7)))
    {
      _cleanup_close_ int fd
          = sys_openat (AT_FDCWD, v2, O_RDONLY | O_DIRECTORY | O_PATH | O_CLOEXEC, 0);
      if (fd >= 0)
        {
          struct sys_clone_args into = *ca;
          into.flags |= CLONE_INTO_CGROUP;
          into.cgroup_fd = fd;
          pid = sys_clone (&into);
          if (pid >= 0)
            cr->cloned_into_cgroup = true;
          if (pid >= 0 || (pid != -EINVAL && pid != -ENOSYS && pid != -EOPNOTSUPP))
            return pid;
        }
    }
  return sys_clone (ca);
}

static int
create_clone (struct create_run *cr, uint64_t flags, struct focker_err **err)
{
  struct sys_clone_args ca
      = { .flags = flags, .exit_signal = SIGCHLD, .fn = init_main, .arg = &cr->init };
  int r;

  if (cr->cg)
    {
      /* the init moves itself into its v1 cgroups (see cgroup_self_place_open); opened
       * before the pid namespace is joined, so that a failure here has nothing to restore */
      r = cgroup_self_place_open (cr->cg, &cr->init.place_fds, err);
      if (r < 0)
        return r;
      cr->init.place_cg = cr->cg;
    }
  if (cr->pid_join_fd >= 0)
    {
      /* setns(CLONE_NEWPID) only affects children: restore ours right after the clone so
       * that hooks run in the runtime's pid namespace */
      cr->pid_restore_fd = sys_openat (AT_FDCWD, "/proc/self/ns/pid", O_RDONLY | O_CLOEXEC, 0);
      if (cr->pid_restore_fd < 0)
        r = focker_fail (err, cr->pid_restore_fd, "open /proc/self/ns/pid");
      else if ((r = sys_setns (cr->pid_join_fd, CLONE_NEWPID)) < 0)
        focker_fail (err, r, "join pid namespace");
      if (r < 0)
        {
          cgroup_self_place_close (cr->cg, cr->init.place_fds);
          cr->init.place_fds = NULL;
          return r;
        }
    }
  cr->pid = clone_init (cr, &ca);
  cgroup_self_place_close (cr->cg, cr->init.place_fds);
  cr->init.place_fds = NULL;
  if (cr->pid_restore_fd >= 0)
    sys_setns (cr->pid_restore_fd, CLONE_NEWPID);
  if (cr->pid < 0)
    return focker_fail (err, cr->pid, "clone container init");
  return 0;
}

/* Everything between clone and `created`, on the parent side. */
/* process.rlimits, set on the init from here, as runc does: inside a user namespace the
 * init could not raise a hard limit (that takes CAP_SYS_RESOURCE in the initial one). */
int
container_set_rlimits (const struct spec_process *p, pid_t pid, struct focker_err **err)
{
  for (size_t i = 0; i < p->n_rlimits; i++)
    {
      struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
      int r = sys_prlimit (pid, p->rlimits[i].type, &rl, NULL);
      if (r < 0)
        return focker_fail (err, r, "process.rlimits[%zu]: set (soft %llu, hard %llu)", i,
                            (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    }
  return 0;
}

/* Something between the clone and `created` failed on our side (`r`, *err): the init may
 * have failed first (and exited), which is why.  Its own message then says what went wrong.
 * If it is alive it waits on us: closing our end ends that wait (EOF), or both sides would
 * wait on each other. */
static int
handshake_failed (struct create_run *cr, bool ns_ready_pending, int r, struct focker_err **err)
{
  struct focker_err *init_err = NULL;
  struct sync_msg m;
  int got = 0;

  sys_close (cr->init.to_init[1]);
  cr->init.to_init[1] = -1;
  if (ns_ready_pending)
    got = sync_expect (cr->init.from_init[0], SYNC_NS_READY, &m, &init_err);
  if (got >= 0)
    got = sync_expect (cr->init.from_init[0], SYNC_CREATED, &m, &init_err);
  if (got < 0 && init_err->code != -ECHILD)
    {
      r = init_err->code;
      if (err)
        {
          focker_err_free (*err);
          *err = TAKE_PTR (init_err);
        }
      focker_err_free (init_err);
      return r;
    }
  focker_err_free (init_err);
  return err && *err ? r : focker_fail (err, r, "signal container init");
}

static int
create_handshake (struct create_run *cr, const struct create_opts *o, bool place,
                  struct focker_err **err)
{
  struct container_state *st = NULL;
  _cleanup_free_ char *json = NULL;
  struct sync_msg m;
  /* Runtime hooks run once the init's namespaces exist.  Without them nothing waits for
   * that: GO and the placement follow at once, and the init finds GO waiting rather than
   * waiting a round trip for it (its NS_READY is read afterwards). */
  bool pipelined
      = !cr->spec->n_hooks[SPEC_HOOK_PRESTART] && !cr->spec->n_hooks[SPEC_HOOK_CREATE_RUNTIME];
  int r;

  sys_close (cr->init.to_init[0]);
  sys_close (cr->init.from_init[1]);
  cr->init.to_init[0] = cr->init.from_init[1] = -1;
  if (cr->init.new_user)
    {
      /* the init may have failed meanwhile (its own cgroup move comes before the wait for
       * the maps): its error then is the one to report */
      r = write_id_maps (cr->spec, o->rootless, cr->pid, err);
      if (r >= 0 && (r = sync_send (cr->init.to_init[1], SYNC_MAPS_DONE, 0, NULL)) < 0)
        focker_fail (err, r, "signal container init");
      if (r < 0)
        return handshake_failed (cr, true, r, err);
    }
  if (!pipelined)
    {
      r = sync_expect (cr->init.from_init[0], SYNC_NS_READY, &m, err);
      if (r < 0)
        return r;
    }
  r = container_set_rlimits (cr->spec->process, cr->pid, err);
  if (r >= 0)
    {
      st = new_state (o, cr->spec, cr->rootfs, cr->pid);
      json = state_to_json (st, STATUS_CREATING, false);
      state_free (st);
      r = hooks_run (cr->spec, SPEC_HOOK_PRESTART, json, err);
      if (r >= 0)
        r = hooks_run (cr->spec, SPEC_HOOK_CREATE_RUNTIME, json, err);
      if (r < 0)
        return r;
      r = sync_send (cr->init.to_init[1], SYNC_GO, 0, json);
    }
  if (r >= 0 && place)
    r = cgroup_enter (cr->cg, cr->pid,
                      CGROUP_SKIP_V1 | (cr->cloned_into_cgroup ? CGROUP_SKIP_V2 : 0), err);
  if (r >= 0)
    r = sync_send (cr->init.to_init[1], SYNC_PLACED, 0, NULL);
  if (r < 0)
    return handshake_failed (cr, pipelined, r, err);
  if (pipelined)
    {
      r = sync_expect (cr->init.from_init[0], SYNC_NS_READY, &m, err);
      if (r < 0)
        return r;
    }
  /* While the init mounts: the inode of state.json's temporary, which costs the filesystem
   * more than the write that follows (ext4 here: 0.1-2 ms).  Best effort: without it,
   * create_record makes it itself (and an undo removes it like the rest of the state). */
  cr->state_tmpfd = state_write_prepare (cr->rootfd, o->id, NULL);
  return sync_expect (cr->init.from_init[0], SYNC_CREATED, &m, err);
}

/* Has our child `pid` died of a signal?  Its pipes close a moment before it is a zombie:
 * give it up to ~50 ms.  (Peeked at with WNOWAIT: the zombie stays for whoever waits.) */
static bool
killed_by_signal (pid_t pid)
{
  for (int i = 0; i < 50; i++)
    {
      siginfo_t info;
      memset (&info, 0, sizeof info);
      if (sys_waitid (P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return false;
      if (info.si_pid == pid)
        return info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
      sys_poll (NULL, 0, 1);
    }
  return false;
}

/* Write the state and release the init.  With `out` (`run`), the init is told to go on to
 * exec (SYNC_DETACH_START) and, on success, *out is the state as written and *started says
 * whether the init took that word (it may have been killed before). */
static int
create_record (struct create_run *cr, const struct create_opts *o, struct container_state **out,
               bool *started, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = new_state (o, cr->spec, cr->rootfs, cr->pid);
  _cleanup_free_ char *json = NULL;
  struct sync_msg m;
  int r;

  if (cr->cg)
    st->cgroup = cgroup_to_json (cr->cg);
  r = sys_proc_starttime (cr->pid, &st->starttime, NULL);
  if (r < 0)
    return focker_fail (err, r, "container %s: read start time of init %d", o->id, (int)cr->pid);
  r = cr->state_tmpfd >= 0 ? state_write_prepared (cr->rootfd, TAKE_FD (cr->state_tmpfd), st, err)
                           : state_write (cr->rootfd, st, err);
  if (r < 0)
    return r;
  if (o->pid_file)
    {
      r = container_write_pid_file (o->pid_file, cr->pid, err);
      if (r < 0)
        return r;
    }
  json = state_to_json (st, STATUS_CREATED, false);
  r = sync_send (cr->init.to_init[1], SYNC_DETACH, out ? SYNC_DETACH_START : 0, json);
  if (r < 0 && !killed_by_signal (cr->pid))
    return focker_fail (err, r, "container %s: release init", o->id);
  if (r >= 0)
    r = sync_expect (cr->init.from_init[0], SYNC_DETACHED, &m, err);
  if (r >= 0 && started)
    *started = true;
  /* From here the container exists: a `kill` (which takes no lock) may end its init before
   * it acknowledges.  That is a container that stopped, not a failed create. */
  if (r < 0 && killed_by_signal (cr->pid))
    {
      if (err)
        focker_err_free (TAKE_PTR (*err));
      r = 0;
    }
  if (r >= 0 && out)
    *out = TAKE_PTR (st);
  return r;
}

static int
create_prepare (struct create_run *cr, const struct create_opts *o, struct undo *undo,
                struct focker_err **err)
{
  _cleanup_free_ char *config = NULL;
  struct undo_state *ud;
  struct stat st;
  int r;

  cr->spec = o->spec; /* ours to free from here */
  if (!container_id_valid (o->id))
    return container_id_fail (o->id, err);
  if (o->bundle[0] != '/')
    return focker_fail (err, -EINVAL, "bundle %s: must be an absolute path", o->bundle);
  if (cr->spec == NULL)
    {
      config = path_join (o->bundle, "config.json");
      r = spec_load (&cr->spec, AT_FDCWD, config, err);
      if (r < 0)
        return r;
    }
  r = validate_for_create (cr->spec, err);
  if (r < 0)
    return r;
  cr->rootfs = resolve_rootfs (o->bundle, cr->spec->root_path);
  r = sys_fstatat (AT_FDCWD, cr->rootfs, &st, 0);
  if (r < 0 || !S_ISDIR (st.st_mode))
    return focker_fail (err, r < 0 ? r : -ENOTDIR, "root.path: %s is not a directory", cr->rootfs);
  cr->init.spec = cr->spec;
  cr->init.id = o->id;
  cr->init.bundle = o->bundle;
  cr->init.rootfs = cr->rootfs;
  cr->init.preserve_fds = o->preserve_fds;
  cr->init.no_pivot = o->no_pivot;
  cr->init.no_new_keyring = o->no_new_keyring;
  cr->init.dumpable_for_maps = o->rootless;
  cr->rootfd = state_root_open (o->root, true, err);
  if (cr->rootfd < 0)
    return cr->rootfd;
  cr->lockfd = state_lock_create (cr->rootfd, o->id, err);
  if (cr->lockfd < 0)
    return cr->lockfd;
  ud = xmalloc (sizeof *ud + strlen (o->id) + 1);
  ud->rootfd = cr->rootfd;
  ud->cancelled = false;
  strcpy (ud->id, o->id);
  undo_push (undo, undo_rm_state, ud);
  /* held until create returns: start, kill and delete --force of this id wait for it rather
   * than take a lock file without state.json for the remains of a killed create (a killed
   * create's lock dies with it).  A delete --force that took the lock between our open and
   * our flock has removed the file: then the id is not ours any more. */
  r = state_lock (cr->lockfd, o->id, err);
  if (r < 0)
    return r;
  r = state_check_linked (cr->rootfd, cr->lockfd, o->id, err);
  if (r < 0)
    {
      /* deleted under us: what the id names now (if anything) is another create's */
      if (r == -ENOENT)
        ud->cancelled = true;
      return r;
    }
  cr->init.state_lockfd = cr->lockfd;
  return create_open_fds (cr, o, err);
}

/* What an unprivileged caller cannot have, said before anything is made. */
static int
rootless_check (const struct create_run *cr, struct focker_err **err)
{
  const struct spec_linux *l = &cr->spec->linux_;
  uid_t euid;
  gid_t egid;
  int r = sys_getids (&euid, &egid);

  if (r < 0)
    return focker_fail (err, r, "get the caller's uid and gid");
  if (euid == 0)
    return 0;
  if (!cr->init.new_user && !(cr->init.n_join && cr->init.join_types[0] == CLONE_NEWUSER))
    return focker_fail (err, -EPERM,
                        "config.json: linux.namespaces: running rootless (uid %u) "
                        "needs a user namespace (focker spec --rootless writes one)",
                        (unsigned)euid);
  /* a gid_map written by the caller itself comes after "deny" to setgroups */
  if (cr->init.new_user && cr->spec->process->n_additional_gids
      && (l->n_gid_mappings == 0
          || (l->n_gid_mappings == 1 && l->gid_mappings[0].size == 1
              && l->gid_mappings[0].host_id == egid)))
    return focker_fail (err, -EPERM,
                        "config.json: process.user.additionalGids: cannot be set rootless with "
                        "only the caller's own gid mapped (setgroups is denied); map more gids "
                        "(newgidmap, /etc/subgid) or drop them");
  return 0;
}

static int start_locked (int rootfd, struct container_state *st, struct focker_err **err);
static void start_poststart (struct container_state *st);

/* `run`'s start: the init, told SYNC_DETACH_START, execs without waiting on exec.sock and
 * reports through its pipe as it would through `start`'s connection: EOF once exec'd (the
 * pipe is close-on-exec), else why not.  Then, as `start`: exec.sock goes, poststart runs. */
static int
start_detached (struct create_run *cr, struct container_state *st, struct focker_err **err)
{
  _cleanup_free_ char *sock = state_name (st->id, STATE_EXEC_SOCK);
  struct sync_msg m;
  int r = sync_recv (cr->init.from_init[0], &m);

  sys_unlinkat (cr->rootfd, sock, 0);
  if (r >= 0 && m.type == SYNC_ERROR)
    return focker_fail (err, -ENOEXEC, "container %s: %s", st->id, m.payload);
  if (r >= 0)
    return focker_fail (err, -EPROTO, "container %s: init: unexpected message %d", st->id, m.type);
  if (r != -EPIPE)
    return focker_fail (err, r, "container %s: read from init", st->id);
  st->started = true;
  start_poststart (st);
  return 0;
}

/* Create; with `started`, start too while the lock is still held and the state still in
 * memory (`run`: no second open, lock and parse of state.json), and on success give that
 * state to *started for `run`'s delete.  *created says whether the container exists: a
 * failed start leaves it created, a failed create leaves nothing. */
static int
create_internal (const struct create_opts *o, pid_t *pid, struct container_state **started,
                 bool *created, struct focker_err **err)
{
  bool start = started != NULL;
  _cleanup_state_ struct container_state *st = NULL;
  bool told_start = false;
  struct create_run cr = { .init = { .to_init = { -1, -1 },
                                     .from_init = { -1, -1 },
                                     .exec_listen = -1,
                                     .console_fd = -1,
                                     .state_lockfd = -1 },
                           .rootfd = -1,
                           .lockfd = -1,
                           .state_tmpfd = -1,
                           .pid_join_fd = -1,
                           .pid_restore_fd = -1 };
  struct undo undo = { 0 };
  uint64_t flags = 0;
  int r;

  cr.passed_fds = init_fds_passed (o->preserve_fds);
  cr.init.preserve_passed = cr.passed_fds;
  r = create_prepare (&cr, o, &undo, err);
  if (r >= 0)
    r = plan_namespaces (&cr.init, &flags, &cr.pid_join_fd, err);
  if (r >= 0 && o->rootless)
    r = rootless_check (&cr, err);
  if (r >= 0)
    r = create_cgroup (&cr, o, &undo, err);
  if (r >= 0)
    r = create_clone (&cr, flags, err);
  if (r >= 0)
    {
      struct undo_child *uc = xmalloc (sizeof *uc);
      uc->pid = cr.pid;
      undo_push (&undo, container_undo_kill_child, uc);
      /* The init moves itself into its v1 cgroups first thing; only a v2 directory that
       * the clone could not enter is the parent's to fill.  Runtime hooks may look for the
       * container's cgroup: then that comes before they run.  Otherwise after GO, while the
       * init mounts (its cgroup_gate waits). */
      bool early
          = cr.spec->n_hooks[SPEC_HOOK_PRESTART] || cr.spec->n_hooks[SPEC_HOOK_CREATE_RUNTIME];
      if (cr.cg && early)
        r = cgroup_enter (cr.cg, cr.pid,
                          CGROUP_SKIP_V1 | (cr.cloned_into_cgroup ? CGROUP_SKIP_V2 : 0), err);
      if (r >= 0)
        r = create_handshake (&cr, o, cr.cg && !early, err);
    }
  if (r >= 0)
    r = create_record (&cr, o, start ? &st : NULL, &told_start, err);
  if (r < 0)
    {
      /* close our ends first so an init blocked on a pipe sees EOF, then undo */
      int rootfd = cr.rootfd;
      cr.rootfd = -1;
      create_run_release (&cr);
      undo_run (&undo);
      if (rootfd >= 0)
        sys_close (rootfd);
      free (cr.passed_fds); /* after the undo: the init may be reading it (fake kernel) */
      return r;
    }
  undo_drop (&undo);
  *pid = cr.pid;
  *created = true;
  /* an init killed before it took the word to start: start_locked says how it stands */
  if (start)
    r = told_start ? start_detached (&cr, st, err) : start_locked (cr.rootfd, st, err);
  create_run_release (&cr);
  free (cr.passed_fds);
  if (r >= 0 && started)
    *started = TAKE_PTR (st);
  return r;
}

int
container_create (const struct create_opts *o, pid_t *pid, struct focker_err **err)
{
  pid_t p = 0;
  bool created = false;
  int r = create_internal (o, &p, NULL, &created, err);
  if (r < 0)
    return focker_err_prefix (err, "create %s", o->id);
  if (pid)
    *pid = p;
  return 0;
}

/* The config kept in the state, parsed, when it has `kind` hooks (start and delete need
 * nothing else of it: parsing it back cost each of them about a fifth of its user space). */
static struct spec *
state_spec_for_hooks (const struct container_state *st, const char *kind)
{
  json_t *hooks = json_object_get (json_object_get ((json_t *)st->config, "hooks"), kind);

  return json_array_size (hooks) ? container_state_spec (st) : NULL;
}

/* Re-parse the config kept in the state. */
struct spec *
container_state_spec (const struct container_state *st)
{
  struct spec *s = NULL;
  struct focker_err *e = NULL;
  char *text;

  if (st->config == NULL)
    return NULL;
  text = json_dumps ((json_t *)st->config, JSON_COMPACT);
  if (text && spec_parse (&s, text, strlen (text), "state.json: config", &e) < 0)
    s = NULL;
  focker_err_free (e);
  free (text);
  return s;
}

/* Validate the id and open the root and <root>/<id>: "container ID does not exist" when the
 * root or the lock file is missing. */
static int
open_container (struct state_ref *ref, const char *root, const char *id, struct focker_err **err)
{
  if (!container_id_valid (id))
    return container_id_fail (id, err);
  ref->rootfd = state_root_open (root, false, err);
  if (ref->rootfd == -ENOENT)
    {
      focker_err_free (TAKE_PTR (*err));
      return focker_fail (err, -ENOENT, "container %s does not exist", id);
    }
  if (ref->rootfd < 0)
    return ref->rootfd;
  ref->lockfd = state_lock_open (ref->rootfd, id, err);
  return ref->lockfd < 0 ? ref->lockfd : 0;
}

int
container_state (struct container_state **out, enum container_status *status, const char *root,
                 const char *id, struct focker_err **err)
{
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  int r = open_container (&ref, root, id, err);

  /* no lock is taken: the stat tells an older focker's directory from a lock file */
  if (r >= 0 && (r = state_check_linked (ref.rootfd, ref.lockfd, id, err)) == -ENOENT)
    {
      focker_err_free (TAKE_PTR (*err));
      r = focker_fail (err, -ENOENT, "container %s does not exist", id);
    }
  if (r >= 0)
    r = state_read (out, ref.rootfd, id, err);
  if (r < 0)
    return r;
  if (status)
    *status = state_status (*out);
  return 0;
}

/* Open the container's lock file and lock it.  The file we waited on may have been deleted
 * (and the id created again) by whoever held the lock before us: then the container we
 * opened no longer exists, and nothing may be done by name (the name is another's now). */
static int
open_container_locked (struct state_ref *out, const char *root, const char *id,
                       struct focker_err **err)
{
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  int r;

  r = open_container (&ref, root, id, err);
  if (r < 0)
    return r;
  r = state_lock (ref.lockfd, id, err);
  if (r < 0)
    return r;
  r = state_check_linked (ref.rootfd, ref.lockfd, id, err);
  if (r == -ENOENT)
    {
      focker_err_free (TAKE_PTR (*err));
      return focker_fail (err, -ENOENT, "container %s does not exist", id);
    }
  if (r < 0)
    return r;
  *out = ref;
  ref = STATE_REF_NONE;
  return 0;
}

/* Open the container, lock it, read its state. */
int
container_open_locked (struct state_ref *out, struct container_state **st, const char *root,
                       const char *id, struct focker_err **err)
{
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  int r = open_container_locked (&ref, root, id, err);

  if (r < 0)
    return r;
  r = state_read (st, ref.rootfd, id, err);
  if (r < 0)
    return r;
  *out = ref;
  ref = STATE_REF_NONE;
  return 0;
}

/* Tell the init to exec; EOF means it did, a message is its error. */
static int
start_handshake (int rootfd, const char *id, struct focker_err **err)
{
  _cleanup_free_ char *sock = state_name (id, STATE_EXEC_SOCK);
  _cleanup_close_ int conn = -1;
  char buf[1024];
  ssize_t n;
  int r;

  conn = sys_unix_connect (rootfd, sock);
  /* Nobody listens: the init is gone or going (a concurrent kill; kill takes no lock), after
   * our status check said "created". */
  if (conn == -ECONNREFUSED || conn == -ENOENT)
    return focker_fail (err, -ESRCH, "container %s is not in created state: its init exited", id);
  if (conn < 0)
    return focker_fail (err, conn, "container %s: connect to init", id);
  r = write_all (conn, "S", 1);
  /* connected to the backlog of a listener that died right after: the same race */
  if (r == -EPIPE || r == -ECONNRESET)
    return focker_fail (err, -ESRCH, "container %s is not in created state: its init exited", id);
  if (r < 0)
    return focker_fail (err, r, "container %s: signal init", id);
  n = read_all (conn, buf, sizeof buf - 1);
  if (n == -ECONNRESET)
    return focker_fail (err, -ESRCH, "container %s is not in created state: its init exited", id);
  if (n < 0)
    return focker_fail (err, (int)n, "container %s: read from init", id);
  sys_unlinkat (rootfd, sock, 0);
  if (n > 0)
    {
      buf[n] = '\0';
      return focker_fail (err, -ENOEXEC, "container %s: %s", id, buf);
    }
  return 0;
}

static int
start_locked (int rootfd, struct container_state *st, struct focker_err **err)
{
  enum container_status status = state_status (st);
  int r;

  if (status != STATUS_CREATED)
    return focker_fail (err, -EINVAL, "container %s is not in created state: %s", st->id,
                        state_status_name (status));
  r = start_handshake (rootfd, st->id, err);
  if (r < 0)
    return r;
  /* recorded by the handshake's unlink of exec.sock (see state_read), not by writing the
   * state again */
  st->started = true;
  start_poststart (st);
  return 0;
}

static void
start_poststart (struct container_state *st)
{
  struct spec *s = state_spec_for_hooks (st, "poststart");

  if (s)
    {
      _cleanup_free_ char *json = state_to_json (st, STATUS_RUNNING, false);
      struct focker_err *hook_err = NULL;
      /* poststart failures are warnings: the container runs (runtime-spec) */
      if (hooks_run (s, SPEC_HOOK_POSTSTART, json, &hook_err) < 0)
        {
          fprintf (stderr, "focker: warning: %s\n", hook_err->msg);
          focker_err_free (hook_err);
        }
      spec_free (s);
    }
}

int
container_start (const char *root, const char *id, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  int r;

  r = container_open_locked (&ref, &st, root, id, err);
  if (r < 0)
    return r;
  return start_locked (ref.rootfd, st, err);
}

static int
signal_init (const struct container_state *st, int sig)
{
  _cleanup_close_ int pidfd = sys_pidfd_open (st->pid, 0);

  if (pidfd >= 0)
    {
      /* the pidfd pins the process: check it is still ours, then signal through it */
      if (!state_init_alive (st))
        return -ESRCH;
      return sys_pidfd_send_signal (pidfd, sig, 0);
    }
  if (!state_init_alive (st))
    return -ESRCH;
  return sys_kill (st->pid, sig);
}

int
container_read_ns_link (pid_t pid, const char *name, char *buf, size_t size)
{
  char path[64];
  ssize_t n;

  if (pid > 0)
    snprintf (path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
  else
    snprintf (path, sizeof path, "/proc/self/ns/%s", name);
  n = sys_readlinkat (AT_FDCWD, path, buf, size - 1);
  if (n < 0)
    return (int)n;
  buf[n] = '\0';
  return 0;
}

/* Signal every process in the init's pid namespace: they are the container's processes
 * (until the cgroup manager can list the cgroup's).  A container sharing the runtime's pid
 * namespace has no such boundary, so only its init is signalled. */
static int
signal_all (const struct container_state *st, int sig)
{
  _cleanup_close_ int proc = -1;
  char ns[64], self[64], buf[4096];
  int r;

  r = signal_init (st, sig);
  if (r < 0)
    return r;
  if (st->cgroup)
    {
      _cleanup_cgroup_ struct cgroup *cg = NULL;
      if (cgroup_from_json (&cg, st->cgroup) == 0 && cg->n > 0)
        {
          r = cgroup_signal_all (cg, sig);
          return r < 0 ? r : 0;
        }
    }
  /* the init may have died since it was signalled: the link read is its own only if the
   * pid still has its start time afterwards (else it could be the namespace of whatever
   * took the pid, another container's) */
  if (container_read_ns_link (st->pid, "pid", ns, sizeof ns) < 0 || !state_init_alive (st)
      || container_read_ns_link (0, "pid", self, sizeof self) < 0 || strcmp (ns, self) == 0)
    return 0;
  proc = sys_openat (AT_FDCWD, "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (proc < 0)
    return 0;
  for (;;)
    {
      ssize_t got = sys_getdents64 (proc, buf, sizeof buf);
      if (got <= 0)
        return 0;
      for (ssize_t off = 0; off < got;)
        {
          struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(buf + off);
          char other[64], *end;
          long pid = strtol (d->d_name, &end, 10);
          off += d->d_reclen;
          if (*end || pid <= 0 || pid == st->pid)
            continue;
          if (container_read_ns_link ((pid_t)pid, "pid", other, sizeof other) == 0
              && strcmp (other, ns) == 0)
            sys_kill ((pid_t)pid, sig);
        }
    }
}

int
container_kill (const char *root, const char *id, int sig, bool all, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  enum container_status status;
  int r;

  r = container_state (&st, &status, root, id, err);
  if (r < 0)
    return r;
  if (status == STATUS_STOPPED)
    return focker_fail (err, -ESRCH, "container %s is not running", id);
  r = all ? signal_all (st, sig) : signal_init (st, sig);
  if (r == -ESRCH)
    return focker_fail (err, r, "container %s is not running", id);
  if (r < 0)
    return focker_fail (err, r, "container %s: send signal %d", id, sig);
  return 0;
}

/* SIGKILL the init and wait (up to ~10 s) until it is gone or a zombie. */
static int
kill_and_wait (const struct container_state *st)
{
  int r = signal_init (st, SIGKILL);

  if (r < 0 && r != -ESRCH)
    return r;
  for (int i = 0; i < 10000 && state_init_alive (st); i++)
    sys_poll (NULL, 0, 1);
  return state_init_alive (st) ? -EBUSY : 0;
}

/* The cgroup intent in the container's lock file; with `old`, for a container an older focker
 * made (its lock file is empty), in <id>=cgroup.json.  NULL when there is none, when it
 * cannot be read or does not parse (a write torn before any dir was made). */
static struct cgroup *
intent_read (const struct state_ref *ref, const char *id, bool old)
{
  struct cgroup *cg = NULL;
  int r = cgroup_read_intent (&cg, ref->lockfd);

  if (r == -ENODATA && old)
    {
      _cleanup_free_ char *name = state_name (id, STATE_CGROUP_OLD);
      _cleanup_close_ int fd = sys_openat (ref->rootfd, name, O_RDONLY | O_CLOEXEC, 0);
      if (fd >= 0)
        cgroup_read_intent (&cg, fd);
    }
  return cg;
}

/* Delete the container `st` under its lock `ref`; `old`: its files may be an older focker's
 * (not when this process made it). */
static int
delete_locked (const struct state_ref *ref, struct container_state *st, bool force, bool old,
               struct focker_err **err)
{
  enum container_status status = state_status (st);
  struct spec *s;
  int r;

  _cleanup_cgroup_ struct cgroup *cg = NULL;

  if (st->cgroup == NULL || cgroup_from_json (&cg, st->cgroup) < 0)
    cg = intent_read (ref, st->id, old);
  if (status != STATUS_STOPPED)
    {
      if (!force)
        return focker_fail (err, -EBUSY, "cannot delete container %s that is not stopped: %s",
                            st->id, state_status_name (status));
      /* a frozen process only dies once thawed */
      if (cg && cgroup_signal_all (cg, SIGKILL) >= 0)
        cgroup_freeze (cg, false, NULL);
      r = kill_and_wait (st);
      if (r < 0)
        return focker_fail (err, r, "container %s: kill init %d", st->id, (int)st->pid);
    }
  if (cg)
    {
      r = cgroup_destroy (cg, err);
      if (r < 0)
        return focker_err_prefix (err, "container %s", st->id);
    }
  s = state_spec_for_hooks (st, "poststop");
  if (s)
    {
      _cleanup_free_ char *json = state_to_json (st, STATUS_STOPPED, false);
      struct focker_err *hook_err = NULL;
      if (hooks_run (s, SPEC_HOOK_POSTSTOP, json, &hook_err) < 0)
        {
          fprintf (stderr, "focker: warning: %s\n", hook_err->msg);
          focker_err_free (hook_err);
        }
      spec_free (s);
    }
  r = state_remove (ref->rootfd, st->id, old);
  if (r < 0)
    return focker_fail (err, r, "container %s: remove state", st->id);
  return 0;
}

int
container_delete (const char *root, const char *id, bool force, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  int r;

  r = open_container_locked (&ref, root, id, err);
  if (r == -ENOENT && force)
    {
      focker_err_free (TAKE_PTR (*err));
      return 0;
    }
  if (r < 0)
    return r;
  r = state_read (&st, ref.rootfd, id, err);
  if (r < 0)
    {
      /* No state.json, or a corrupt one: a create killed half-way (its init died with it,
       * by the parent-death signal).  --force removes what is there.  Any other error (EIO,
       * EMFILE) says nothing about the container: removing its state would orphan it. */
      if (!force || (r != -ENOENT && r != -EINVAL))
        return r;
      focker_err_free (TAKE_PTR (*err));
      {
        _cleanup_cgroup_ struct cgroup *cg = intent_read (&ref, id, true);
        if (cg)
          {
            r = cgroup_destroy (cg, err);
            if (r < 0)
              return focker_err_prefix (err, "container %s", id);
          }
      }
      r = state_remove (ref.rootfd, id, true);
      return r < 0 ? focker_fail (err, r, "container %s: remove state", id) : 0;
    }
  return delete_locked (&ref, st, force, true, err);
}

/* runc's OWNER: who owns the container's state, the uid owning its path under the runtime
 * root (the only function that knows which path that is), by the name the host's
 * /etc/passwd gives it, else "#UID"; "" when it cannot be told. */
static char *
state_owner (int rootfd, const char *id)
{
  _cleanup_close_ int hostfd = -1;
  struct stat stb;
  char *name;

  if (sys_fstatat (rootfd, id, &stb, AT_SYMLINK_NOFOLLOW) < 0)
    return xstrdup ("");
  hostfd = sys_openat (AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  name = hostfd >= 0 ? user_name_of (stb.st_uid, hostfd) : NULL;
  return name ? name : xasprintf ("#%u", (unsigned)stb.st_uid);
}

int
container_list (struct container_state ***out, const char *root, struct focker_err **err)
{
  _cleanup_close_ int rootfd = -1;
  struct container_state **list = xcalloc (1, sizeof *list);
  size_t n = 0;
  char buf[4096];

  rootfd = sys_openat (AT_FDCWD, root, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (rootfd == -ENOENT)
    {
      *out = list;
      return 0;
    }
  if (rootfd < 0)
    {
      free (list);
      return focker_fail (err, rootfd, "runtime root %s", root);
    }
  for (;;)
    {
      ssize_t got = sys_getdents64 (rootfd, buf, sizeof buf);
      if (got <= 0)
        break;
      for (ssize_t off = 0; off < got;)
        {
          struct linux_dirent64_hdr *d = (struct linux_dirent64_hdr *)(buf + off);
          struct container_state *st = NULL;
          struct focker_err *e = NULL;
          off += d->d_reclen;
          /* the lock files (a name with "=" is one of a container's other files, an
           * older focker's directory has no <id>=state.json) */
          if (d->d_name[0] == '.' || !container_id_valid (d->d_name))
            continue;
          if (state_read (&st, rootfd, d->d_name, &e) < 0)
            {
              focker_err_free (e);
              continue;
            }
          free (st->owner);
          st->owner = state_owner (rootfd, d->d_name);
          list = xrealloc (list, (n + 2) * sizeof *list);
          list[n++] = st;
          list[n] = NULL;
        }
    }
  *out = list;
  return 0;
}

void
container_list_free (struct container_state **list)
{
  for (size_t i = 0; list && list[i]; i++)
    state_free (list[i]);
  free (list);
}

int
container_wait_pid (pid_t pid, pending_signal_fn pending, int *exit_status, struct focker_err **err)
{
  _cleanup_close_ int pidfd = sys_pidfd_open (pid, 0);
  siginfo_t info;
  int r;

  for (;;)
    {
      if (pending)
        {
          int sig = pending ();
          if (sig > 0)
            sys_kill (pid, sig);
        }
      if (pidfd >= 0)
        {
          struct pollfd p = { .fd = pidfd, .events = POLLIN };
          r = sys_poll (&p, 1, -1);
          if (r == -EINTR)
            continue;
        }
      memset (&info, 0, sizeof info);
      r = sys_waitid (P_PID, (id_t)pid, &info, WEXITED | (pidfd >= 0 ? WNOHANG : 0));
      if (r == -EINTR)
        continue;
      if (r < 0)
        return focker_fail (err, r, "wait for container init %d", (int)pid);
      if (info.si_pid == pid)
        break;
    }
  *exit_status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
  return 0;
}

/* `run`'s delete --force: `st` is the state run wrote, so only the lock is taken (a
 * container deleted meanwhile is gone, as for `delete --force`). */
static int
delete_run (const char *root, struct container_state *st, struct focker_err **err)
{
  _cleanup_state_ref_ struct state_ref ref = STATE_REF_NONE;
  int r = open_container_locked (&ref, root, st->id, err);

  if (r == -ENOENT)
    {
      focker_err_free (TAKE_PTR (*err));
      return 0;
    }
  if (r < 0)
    return r;
  return delete_locked (&ref, st, true, false, err);
}

int
container_run (const struct create_opts *o, bool detach, pending_signal_fn pending,
               int *exit_status, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  pid_t pid = 0;
  bool created = false;
  int r;

  r = create_internal (o, &pid, &st, &created, err);
  if (r < 0 && !created)
    return focker_err_prefix (err, "create %s", o->id);
  if (r < 0)
    {
      container_delete (o->root, o->id, true, NULL);
      return r;
    }
  *exit_status = 0;
  if (detach)
    return 0;
  r = container_wait_pid (pid, pending, exit_status, err);
  if (r < 0)
    return r;
  return delete_run (o->root, st, err);
}
