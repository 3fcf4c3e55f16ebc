/* rootfs.h: the container's filesystem view (mounts, devices, pivot_root, masked paths).
 * Runs inside the container init, in the container's mount namespace. */
#ifndef FOCKER_ROOTFS_H
#define FOCKER_ROOTFS_H

#include <stdbool.h>
#include "core/cgroup.h"
#include "core/err.h"
#include "core/spec.h"

/* Open `path` inside the tree at rootfd, never leaving it (symlinks and ".." are resolved
 * as if rootfd were "/").  Returns an fd or a negative errno. */
int rootfs_open_in_root (int rootfd, const char *path, int flags);

/* Like rootfs_open_in_root with O_PATH, creating what is missing (directories, and the last
 * component as an empty file when `as_file`). */
int rootfs_ensure_in_root (int rootfd, const char *path, bool as_file, struct focker_err **err);

/* Called once by rootfs_setup, before the first cgroup mount (or after the last mount when
 * there is none), when the caller passes one because a cgroup mount depends on the init's
 * placement (cgroup namespace, user namespace): the placement is waited for there, so that
 * the mounts before it proceed while the parent places the init.  It sets *cgroup_self to
 * /proc/self/cgroup as read before the cgroup namespace, or NULL (see
 * cgroup_mount_container).  With no gate, the caller waits for the placement itself. */
struct rootfs_cgroup_gate
{
  int (*open) (void *ctx, char **cgroup_self, struct focker_err **err);
  void *ctx;
};

/* Before pivot_root: propagation, the rootfs bind, every spec mount, default devices.
 * `host`: the cgroup layout the runtime found before the clone, or NULL (found when a cgroup
 * mount needs it). */
int rootfs_setup (const struct spec *s, const char *bundle, const char *rootfs,
                  const struct cgroup_host *host, const struct rootfs_cgroup_gate *gate,
                  struct focker_err **err);

/* pivot_root into rootfs and detach the old root (MS_MOVE + chroot when / is a ramfs). */
int rootfs_pivot (const char *rootfs, struct focker_err **err);

/* MS_MOVE the rootfs over / and chroot (ramfs roots, --no-pivot). */
int rootfs_pivot_chroot (const char *rootfs, struct focker_err **err);

/* After pivot_root: masked and read-only paths, sysctls, root.readonly. */
int rootfs_finish (const struct spec *s, struct focker_err **err);

/* `host_view`: the container shares the runtime's cgroup and user namespaces (see
 * cgroup_mount_container). */
int rootfs_mount_cgroup (int rootfd, const char *target, const struct spec_mount *m,
                         const char *cgroup_self, bool host_view, const struct cgroup_host *host,
                         struct focker_err **err);

#endif
