/* net.c: network namespaces as files, and netlink. */
#include <errno.h>
#include "sys-fake/internal.h"

int
fake_do_netns_create (const char *path)
{
  return -ENOSYS;
}

int
fake_do_netns_remove (const char *path)
{
  return -ENOSYS;
}

int
fake_do_netlink_open (int protocol, int netns_fd)
{
  return -ENOSYS;
}

int
fake_do_netlink_talk (int fd, const void *req, size_t len, void *reply, size_t reply_size)
{
  return -ENOSYS;
}
