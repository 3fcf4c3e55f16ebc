/* sync.c: parent <-> init messages (see sync.h). */
#include <errno.h>
#include <string.h>
#include "core/fsutil.h"
#include "core/sync.h"
#include "sys/sys.h"

int
sync_send (int fd, enum sync_type type, int code, const char *payload)
{
  struct sync_msg m = { .type = (int32_t)type, .code = code };
  size_t hdr = offsetof (struct sync_msg, payload);

  if (payload)
    {
      size_t n = strlen (payload);
      if (n > SYNC_PAYLOAD_MAX)
        n = SYNC_PAYLOAD_MAX;
      memcpy (m.payload, payload, n);
      m.len = (uint32_t)n;
    }
  return write_all (fd, &m, hdr + m.len);
}

int
sync_recv (int fd, struct sync_msg *m)
{
  size_t hdr = offsetof (struct sync_msg, payload);
  ssize_t r;

  r = read_all (fd, m, hdr);
  if (r < 0)
    return (int)r;
  if ((size_t)r < hdr)
    return -EPIPE;
  if (m->len > SYNC_PAYLOAD_MAX)
    return -EPROTO;
  r = read_all (fd, m->payload, m->len);
  if (r < 0)
    return (int)r;
  if ((size_t)r < m->len)
    return -EPIPE;
  m->payload[m->len] = '\0';
  return 0;
}

int
sync_expect (int fd, enum sync_type want, struct sync_msg *m, struct focker_err **err)
{
  int r = sync_recv (fd, m);

  if (r == -EPIPE)
    return focker_fail (err, -ECHILD, "container init exited before it was ready");
  if (r < 0)
    return focker_fail (err, r, "read from container init");
  if (m->type == SYNC_ERROR)
    return focker_fail (err, m->code < 0 ? m->code : -EIO, "%s", m->payload);
  if (m->type != (int32_t)want)
    return focker_fail (err, -EPROTO, "container init: unexpected message %d", m->type);
  return 0;
}
