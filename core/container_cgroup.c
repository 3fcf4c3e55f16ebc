/* container_cgroup.c: the commands that act on a container's cgroup: pause, resume, update,
 * ps.  Each takes the container's lock, reads its state and works on the cgroup directories
 * recorded there (never on paths derived again from the config). */
#include <errno.h>
#include <string.h>
#include "core/cgroup.h"
#include "core/cleanup.h"
#include "core/container.h"

/* Open, lock and read; *cg from the state.  The lock is held while *dirfd is open. */
static int
open_cgroup (int *dirfd, struct container_state **st, struct cgroup **cg, const char *root,
             const char *id, struct focker_err **err)
{
  _cleanup_close_ int fd = -1;
  int r;

  r = container_open_locked (&fd, st, root, id, err);
  if (r < 0)
    return r;
  if ((*st)->cgroup == NULL || cgroup_from_json (cg, (*st)->cgroup) < 0 || (*cg)->n == 0)
    {
      state_free (*st);
      *st = NULL;
      return focker_fail (err, -EOPNOTSUPP, "container %s has no cgroup", id);
    }
  *dirfd = TAKE_FD (fd);
  return 0;
}

static int
set_paused (const char *root, const char *id, bool pause, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_cgroup_ struct cgroup *cg = NULL;
  _cleanup_close_ int dirfd = -1;
  enum container_status status;
  int r;

  r = open_cgroup (&dirfd, &st, &cg, root, id, err);
  if (r < 0)
    return r;
  status = state_status (st);
  if (pause && status != STATUS_RUNNING && status != STATUS_CREATED)
    return focker_fail (err, -EINVAL, "container %s is not running: %s", id,
                        state_status_name (status));
  if (!pause && status != STATUS_PAUSED)
    return focker_fail (err, -EINVAL, "container %s is not paused: %s", id,
                        state_status_name (status));
  r = cgroup_freeze (cg, pause, err);
  if (r < 0)
    {
      if (pause)
        cgroup_freeze (cg, false, NULL);
      return focker_err_prefix (err, "container %s", id);
    }
  st->paused = pause;
  r = state_write (dirfd, st, err);
  if (r < 0 && pause)
    cgroup_freeze (cg, false, NULL);
  return r;
}

int
container_pause (const char *root, const char *id, struct focker_err **err)
{
  return set_paused (root, id, true, err);
}

int
container_resume (const char *root, const char *id, struct focker_err **err)
{
  return set_paused (root, id, false, err);
}

int
container_update (const char *root, const char *id, const struct spec_resources *res,
                  struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_cgroup_ struct cgroup *cg = NULL;
  _cleanup_close_ int dirfd = -1;
  int r;

  r = open_cgroup (&dirfd, &st, &cg, root, id, err);
  if (r < 0)
    return r;
  if (state_status (st) == STATUS_STOPPED)
    return focker_fail (err, -EINVAL, "container %s is stopped", id);
  r = cgroup_apply (cg, res, err);
  if (r >= 0 && res->n_devices)
    r = cgroup_apply_devices (cg, res, NULL, 0, err);
  if (r < 0)
    return focker_err_prefix (err, "update %s", id);
  return 0;
}

int
container_pids (pid_t **pids, size_t *n, const char *root, const char *id, struct focker_err **err)
{
  _cleanup_state_ struct container_state *st = NULL;
  _cleanup_cgroup_ struct cgroup *cg = NULL;
  _cleanup_close_ int dirfd = -1;
  int r;

  r = open_cgroup (&dirfd, &st, &cg, root, id, err);
  if (r < 0)
    return r;
  r = cgroup_pids (pids, n, cg, err);
  if (r < 0)
    return focker_err_prefix (err, "container %s", id);
  return 0;
}
