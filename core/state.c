/* state.c: a container's files under the runtime root (see state.h). */
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/state.h"

#define STATE_MAX (1 << 20)
#define OCI_STATE_VERSION "1.2.0"

bool
container_id_valid (const char *id)
{
  size_t n = strlen (id);

  /* a leading '.' is the root's own: .network/, .<id>=state.json.tmp (and list skips it) */
  if (n == 0 || n > STATE_ID_MAX || id[0] == '.')
    return false;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '_' || *p == '.' || *p == '+' || *p == '-'))
      return false;
  return true;
}

int
container_id_fail (const char *id, struct focker_err **err)
{
  if (id[0] == '.' && strcmp (id, ".") != 0 && strcmp (id, "..") != 0)
    return focker_fail (err, -EINVAL,
                        "invalid container id \"%s\": an id may not begin with \".\" (the "
                        "runtime root keeps its own files under such names)",
                        id);
  return focker_fail (err, -EINVAL, "invalid container id \"%s\"", id);
}

int
state_root_open (const char *root, bool create, struct focker_err **err)
{
  int fd;

  if (create)
    {
      int r = mkdir_p_at (AT_FDCWD, root, 0700, err);
      if (r < 0)
        return focker_err_prefix (err, "runtime root %s", root);
    }
  fd = sys_openat (AT_FDCWD, root, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0)
    return focker_fail (err, fd, "runtime root %s", root);
  return fd;
}

char *
state_name (const char *id, const char *what)
{
  return xasprintf ("%s" STATE_SEP "%s", id, what);
}

int
state_lock_create (int rootfd, const char *id, struct focker_err **err)
{
  int fd = sys_openat (rootfd, id, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd == -EEXIST)
    return focker_fail (err, fd, "container %s already exists", id);
  if (fd < 0)
    return focker_fail (err, fd, "container %s: create lock file", id);
  return fd;
}

int
state_lock_open (int rootfd, const char *id, struct focker_err **err)
{
  int fd = sys_openat (rootfd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd == -ENOENT)
    return focker_fail (err, fd, "container %s does not exist", id);
  if (fd < 0)
    return focker_fail (err, fd, "container %s: open lock file", id);
  return fd;
}

int
state_lock (int lockfd, const char *id, struct focker_err **err)
{
  int r = sys_flock (lockfd, LOCK_EX);
  if (r < 0)
    return focker_fail (err, r, "container %s: lock", id);
  return 0;
}

int
state_check_linked (int rootfd, int lockfd, const char *id, struct focker_err **err)
{
  struct stat ours, linked;
  int r = sys_fstatat (lockfd, "", &ours, AT_EMPTY_PATH);

  if (r < 0)
    return focker_fail (err, r, "container %s: stat lock file", id);
  if (S_ISDIR (ours.st_mode))
    return focker_fail (err, -EISDIR,
                        "container %s: a state directory of an older focker (not supported: "
                        "kill its processes, remove its cgroups and the directory)",
                        id);
  r = sys_fstatat (rootfd, id, &linked, AT_SYMLINK_NOFOLLOW);
  if (r == -ENOENT || (r == 0 && (ours.st_ino != linked.st_ino || ours.st_dev != linked.st_dev)))
    return focker_fail (err, -ENOENT, "container %s was deleted while being created", id);
  if (r < 0)
    return focker_fail (err, r, "container %s: stat lock file", id);
  return 0;
}

static int
unlink_names (int rootfd, const char *id, const char *const *what, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *name = what[i][0] == '.'
                                      ? xasprintf (".%s" STATE_SEP "%s", id, what[i] + 1)
                                      : state_name (id, what[i]);
      int r = sys_unlinkat (rootfd, name, 0);
      if (r < 0 && r != -ENOENT)
        return r;
    }
  return 0;
}

int
state_remove (int rootfd, const char *id, bool old)
{
  static const char *const what[] = { STATE_EXEC_SOCK, STATE_JSON, "." STATE_JSON ".tmp" };
  /* after state.json: without a state a delete --force reads the intent */
  static const char *const what_old[] = { STATE_CGROUP_OLD, "." STATE_CGROUP_OLD ".tmp" };
  int r = unlink_names (rootfd, id, what, sizeof what / sizeof *what);

  if (r == 0 && old)
    r = unlink_names (rootfd, id, what_old, sizeof what_old / sizeof *what_old);
  if (r < 0)
    return r;
  r = sys_unlinkat (rootfd, id, 0);
  return r == -ENOENT ? 0 : r;
}

void
state_ref_close (struct state_ref *ref)
{
  if (ref->lockfd >= 0)
    sys_close (ref->lockfd);
  if (ref->rootfd >= 0)
    sys_close (ref->rootfd);
  ref->lockfd = ref->rootfd = -1;
}

static json_t *
state_to_object (const struct container_state *st)
{
  json_t *o = json_object ();

  json_object_set_new (o, "id", json_string (st->id));
  json_object_set_new (o, "pid", json_integer (st->pid));
  json_object_set_new (o, "starttime", json_integer ((json_int_t)st->starttime));
  json_object_set_new (o, "bundle", json_string (st->bundle ? st->bundle : ""));
  json_object_set_new (o, "rootfs", json_string (st->rootfs ? st->rootfs : ""));
  json_object_set_new (o, "created", json_string (st->created ? st->created : ""));
  json_object_set_new (o, "owner", json_string (st->owner ? st->owner : ""));
  json_object_set_new (o, "started", json_boolean (st->started));
  json_object_set_new (o, "paused", json_boolean (st->paused));
  if (st->annotations)
    json_object_set (o, "annotations", (json_t *)st->annotations);
  if (st->config)
    json_object_set (o, "config", (json_t *)st->config);
  if (st->cgroup)
    json_object_set (o, "cgroup", (json_t *)st->cgroup);
  return o;
}

int
state_write_prepare (int rootfd, const char *id, struct focker_err **err)
{
  _cleanup_free_ char *name = state_name (id, STATE_JSON);
  int fd = write_file_atomic_open (rootfd, name, 0600, err);

  if (fd < 0 && err)
    focker_err_prefix (err, "container %s", id);
  return fd;
}

int
state_write_prepared (int rootfd, int tmpfd, const struct container_state *st,
                      struct focker_err **err)
{
  json_t *o = state_to_object (st);
  _cleanup_free_ char *text = json_dumps (o, JSON_COMPACT);
  _cleanup_free_ char *name = state_name (st->id, STATE_JSON);
  int r;

  json_decref (o);
  if (text == NULL)
    {
      sys_close (tmpfd);
      return focker_fail (err, -ENOMEM, "container %s: encode state", st->id);
    }
  /* /run is a tmpfs: rename gives atomicity, and nothing in it survives a reboot anyway */
  r = write_file_atomic_fd (rootfd, name, tmpfd, text, strlen (text), false, err);
  if (r < 0)
    return focker_err_prefix (err, "container %s", st->id);
  return 0;
}

int
state_write (int rootfd, const struct container_state *st, struct focker_err **err)
{
  int fd = state_write_prepare (rootfd, st->id, err);

  return fd < 0 ? fd : state_write_prepared (rootfd, fd, st, err);
}

static char *
dup_str (json_t *o, const char *key)
{
  const char *s = json_string_value (json_object_get (o, key));
  return xstrdup (s ? s : "");
}

int
state_read (struct container_state **out, int rootfd, const char *id, struct focker_err **err)
{
  _cleanup_free_ char *text = NULL, *name = state_name (id, STATE_JSON);
  _cleanup_free_ char *sock = state_name (id, STATE_EXEC_SOCK);
  struct container_state *st;
  json_error_t jerr;
  json_t *o, *v;
  struct stat sb;
  size_t len;
  int r;

  r = read_file_at (&text, &len, rootfd, name, STATE_MAX, err);
  if (r == -ENOENT)
    {
      focker_err_free (TAKE_PTR (*err));
      return focker_fail (err, -ENOENT, "container %s: no state (still being created?)", id);
    }
  if (r < 0)
    return focker_err_prefix (err, "container %s", id);
  o = json_loadb (text, len, 0, &jerr);
  if (!json_is_object (o) || !json_is_integer (json_object_get (o, "pid")))
    {
      json_decref (o);
      return focker_fail (err, -EINVAL, "container %s: state.json is corrupt", id);
    }
  st = xcalloc (1, sizeof *st);
  st->id = dup_str (o, "id");
  st->pid = (pid_t)json_integer_value (json_object_get (o, "pid"));
  st->starttime = (unsigned long long)json_integer_value (json_object_get (o, "starttime"));
  st->bundle = dup_str (o, "bundle");
  st->rootfs = dup_str (o, "rootfs");
  st->created = dup_str (o, "created");
  st->owner = dup_str (o, "owner");
  st->started = json_is_true (json_object_get (o, "started"))
                || sys_fstatat (rootfd, sock, &sb, AT_SYMLINK_NOFOLLOW) == -ENOENT;
  st->paused = json_is_true (json_object_get (o, "paused"));
  if ((v = json_object_get (o, "annotations")))
    st->annotations = json_incref (v);
  if ((v = json_object_get (o, "config")))
    st->config = json_incref (v);
  if ((v = json_object_get (o, "cgroup")) && json_is_object (v))
    st->cgroup = json_incref (v);
  json_decref (o);
  *out = st;
  return 0;
}

void
state_free (struct container_state *st)
{
  if (st == NULL)
    return;
  free (st->id);
  free (st->bundle);
  free (st->rootfs);
  free (st->created);
  free (st->owner);
  json_decref ((json_t *)st->annotations);
  json_decref ((json_t *)st->config);
  json_decref ((json_t *)st->cgroup);
  free (st);
}

bool
state_init_alive (const struct container_state *st)
{
  unsigned long long start = 0;
  char c = 0;

  if (st->pid <= 0)
    return false;
  if (sys_proc_starttime (st->pid, &start, &c) < 0)
    return false;
  if (c == 'Z' || c == 'X' || c == 'x')
    return false;
  return start == st->starttime;
}

enum container_status
state_status (const struct container_state *st)
{
  if (!state_init_alive (st))
    return STATUS_STOPPED;
  if (st->paused)
    return STATUS_PAUSED;
  return st->started ? STATUS_RUNNING : STATUS_CREATED;
}

const char *
state_status_name (enum container_status s)
{
  static const char *const names[] = { "creating", "created", "running", "paused", "stopped" };
  return names[s];
}

char *
state_to_json (const struct container_state *st, enum container_status status, bool pretty)
{
  json_t *o = json_object ();
  char *text;

  json_object_set_new (o, "ociVersion", json_string (OCI_STATE_VERSION));
  json_object_set_new (o, "id", json_string (st->id));
  json_object_set_new (o, "pid", json_integer (status == STATUS_STOPPED ? 0 : st->pid));
  json_object_set_new (o, "status", json_string (state_status_name (status)));
  json_object_set_new (o, "bundle", json_string (st->bundle ? st->bundle : ""));
  json_object_set_new (o, "rootfs", json_string (st->rootfs ? st->rootfs : ""));
  json_object_set_new (o, "created", json_string (st->created ? st->created : ""));
  json_object_set_new (o, "owner", json_string (st->owner ? st->owner : ""));
  if (st->annotations && json_object_size ((json_t *)st->annotations))
    json_object_set (o, "annotations", (json_t *)st->annotations);
  text = json_dumps (o, pretty ? JSON_INDENT (2) | JSON_PRESERVE_ORDER
                               : JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (o);
  if (text == NULL)
    abort ();
  return text;
}

static bool
leap_year (long y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

char *
state_rfc3339 (time_t sec, long nsec)
{
  static const int month_days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  long days = (long)(sec / 86400), rem = (long)(sec % 86400), year = 1970;
  int month = 0;

  /* By hand, not gmtime_r and strftime: glibc loads the time zone (/etc/localtime, five
   * calls) the first time either runs, in the middle of create. */
  if (rem < 0)
    {
      rem += 86400;
      days--;
    }
  while (days < 0)
    days += leap_year (--year) ? 366 : 365;
  while (days >= (leap_year (year) ? 366 : 365))
    days -= leap_year (year++) ? 366 : 365;
  while (days >= month_days[month] + (month == 1 && leap_year (year)))
    days -= month_days[month] + (month == 1 && leap_year (year)), month++;
  return xasprintf ("%04ld-%02d-%02ldT%02ld:%02ld:%02ld.%09ldZ", year, month + 1, days + 1,
                    rem / 3600, rem / 60 % 60, rem % 60, nsec);
}

char *
state_now_rfc3339 (void)
{
  struct timespec ts = { 0 };

  sys_clock_gettime (CLOCK_REALTIME, &ts);
  return state_rfc3339 (ts.tv_sec, ts.tv_nsec);
}
