/* ctr_net.c: the "none" and "host" network modes (see ctr_net.h).
 *
 * none: a new network namespace made by the runtime (only loopback exists in it); /etc/hosts
 * names localhost and the container's hostname on the loopback addresses, resolv.conf has no
 * server (there is nothing to reach).  host: no network or uts namespace; the host's
 * /etc/hosts and /etc/resolv.conf are copied, as docker does. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include "core/cleanup.h"
#include "core/ctr_net.h"
#include "core/fsutil.h"
#include "sys/sys.h"

int
net_mode_check (const char *mode, struct focker_err **err)
{
  if (strcmp (mode, "none") == 0 || strcmp (mode, "host") == 0)
    return 0;
  if (strcmp (mode, "bridge") == 0)
    return focker_fail (err, -ENOTSUP,
                        "--network bridge: not available yet (use --network none or host)");
  return focker_fail (err, -EINVAL, "--network %s: unknown mode (none or host)", mode);
}

/* The host's copy of `path`, or `fallback` where the host has none. */
static int
copy_host_file (int dirfd, const char *name, const char *path, const char *fallback,
                struct focker_err **err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  struct focker_err *e = NULL;

  if (read_file_at (&text, &len, AT_FDCWD, path, 1 << 20, &e) < 0)
    {
      focker_err_free (e);
      return write_file_atomic_at (dirfd, name, fallback, strlen (fallback), 0644, false, err);
    }
  return write_file_atomic_at (dirfd, name, text, len, 0644, false, err);
}

int
net_attach (struct net_plan *plan, const char *mode, const char *id, const char *hostname,
            int dirfd, struct focker_err **err)
{
  _cleanup_free_ char *hosts = NULL, *hn = NULL;
  int r;

  (void)id;
  memset (plan, 0, sizeof *plan);
  if ((r = net_mode_check (mode, err)) < 0)
    return r;
  if (strcmp (mode, "host") == 0)
    {
      plan->host = true;
      if ((r = copy_host_file (dirfd, "hosts", "/etc/hosts", "127.0.0.1\tlocalhost\n", err)) < 0
          || (r = copy_host_file (dirfd, "resolv.conf", "/etc/resolv.conf", "", err)) < 0)
        return r;
      return copy_host_file (dirfd, "hostname", "/etc/hostname", "localhost\n", err);
    }
  hosts = xasprintf ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "127.0.1.1\t%s\n",
                     hostname);
  hn = xasprintf ("%s\n", hostname);
  if ((r = write_file_atomic_at (dirfd, "hosts", hosts, strlen (hosts), 0644, false, err)) < 0)
    return r;
  if ((r = write_file_atomic_at (dirfd, "resolv.conf", "", 0, 0644, false, err)) < 0)
    return r;
  return write_file_atomic_at (dirfd, "hostname", hn, strlen (hn), 0644, false, err);
}

int
net_detach (const char *mode, const char *id, struct focker_err **err)
{
  (void)mode;
  (void)id;
  (void)err;
  return 0;
}

void
net_plan_release (struct net_plan *plan)
{
  free (plan->netns_path);
  plan->netns_path = NULL;
}
