/* cleanup.h: scope-bound cleanup (systemd style).
 *
 * _cleanup_close_ closes through sys_close, so the fake kernel sees every close.  TAKE_FD and
 * TAKE_PTR move ownership out of a cleanup variable. */
#ifndef FOCKER_CLEANUP_H
#define FOCKER_CLEANUP_H

#include <stdlib.h>
#include "sys/sys.h"
#include "core/err.h"

static inline void
cleanup_freep (void *p)
{
  free (*(void **)p);
}

static inline void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    sys_close (*fd);
}

static inline void
cleanup_errp (struct focker_err **err)
{
  focker_err_free (*err);
}

void strv_free (char **v);
static inline void
cleanup_strvp (char ***v)
{
  strv_free (*v);
}

#define _cleanup_(f) __attribute__ ((cleanup (f)))
#define _cleanup_free_ _cleanup_ (cleanup_freep)
#define _cleanup_close_ _cleanup_ (cleanup_closep)
#define _cleanup_err_ _cleanup_ (cleanup_errp)
#define _cleanup_strv_ _cleanup_ (cleanup_strvp)

#define TAKE_FD(fd)                                                                                \
  ({                                                                                               \
    int _fd_ = (fd);                                                                               \
    (fd) = -1;                                                                                     \
    _fd_;                                                                                          \
  })

#define TAKE_PTR(p)                                                                                \
  ({                                                                                               \
    __typeof__ (p) _p_ = (p);                                                                      \
    (p) = NULL;                                                                                    \
    _p_;                                                                                           \
  })

#endif
