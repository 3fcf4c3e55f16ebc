/* passwd.h: docker's user spec ("name", "uid", "name:group", "uid:gid", "name:gid",
 * "uid:group") resolved in a container's own /etc/passwd and /etc/group.
 *
 * The files are read through the container's root (never the host's: symlinks and ".." stay
 * inside it), as runc's GetExecUser reads them for docker: a name must be listed; a numeric
 * user need not be (its group is then 0), a listed one takes its primary group from passwd;
 * an explicit group replaces that; without an explicit group, a listed user gets as
 * supplementary groups every group of /etc/group naming it as a member. */
#ifndef FOCKER_PASSWD_H
#define FOCKER_PASSWD_H

#include <stddef.h>
#include <sys/types.h>
#include "core/err.h"

struct user_ids
{
  uid_t uid;
  gid_t gid;
  gid_t *sgids; /* supplementary groups (malloc'd), n_sgids of them */
  size_t n_sgids;
};

/* Resolve `spec` in the tree at rootfd.  Errors name the user or group and the file:
 * user "bob": no such user in the container's /etc/passwd. */
int user_resolve (struct user_ids *out, const char *spec, int rootfd, struct focker_err **err);
void user_ids_free (struct user_ids *ids);

/* The name /etc/passwd of the tree at rootfd gives `uid` (malloc'd), or NULL when it lists
 * none (or cannot be read). */
char *user_name_of (uid_t uid, int rootfd);

#endif
