/* sync.h: the messages between `create` (the parent) and the container init, over two pipes.
 *
 * A message is a fixed header and `len` bytes of payload; each fits in PIPE_BUF so a write is
 * atomic.  Either side treats EOF as "the other side died". */
#ifndef FOCKER_SYNC_H
#define FOCKER_SYNC_H

#include <stdint.h>
#include "core/err.h"

enum sync_type
{
  SYNC_MAPS_DONE = 1, /* parent -> init: uid/gid maps written */
  SYNC_NS_READY,      /* init -> parent: namespaces joined/created */
  SYNC_GO,            /* parent -> init: runtime hooks ran; payload = state JSON */
  SYNC_PLACED,        /* parent -> init: the init is in every cgroup of the container */
  SYNC_CREATED,       /* init -> parent: ready, waiting for start */
  SYNC_DETACH,        /* parent -> init: state recorded, you are on your own; with code
                       * SYNC_DETACH_START (`run`), go on to exec as if `start` had come,
                       * reporting to the parent instead: EOF when exec'd, else SYNC_ERROR */
  SYNC_DETACHED,      /* init -> parent: parent-death signal cleared, the parent may exit */
  SYNC_ERROR,         /* init -> parent: payload = message, code = errno */
};

#define SYNC_DETACH_START 1

#define SYNC_PAYLOAD_MAX 3800

struct sync_msg
{
  int32_t type;
  int32_t code;
  uint32_t len;
  char payload[SYNC_PAYLOAD_MAX + 1];
};

int sync_send (int fd, enum sync_type type, int code, const char *payload);

/* Read one message; EOF is -EPIPE. */
int sync_recv (int fd, struct sync_msg *m);

/* Wait for `want`; an SYNC_ERROR becomes *err, EOF becomes "container init exited". */
int sync_expect (int fd, enum sync_type want, struct sync_msg *m, struct focker_err **err);

#endif
