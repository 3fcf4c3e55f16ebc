/* sys.c: the process-global backend pointer and the call-name table. */
#include <errno.h>
#include <string.h>
#include "sys/sys.h"

_Static_assert(SYS_ID__COUNT <= 128, "sys_mask_t needs one bit per call: widen it");

const struct sys_ops *sys = &sys_linux;

#define SYS_X_NAME(ret, name, params, args) [SYS_ID_##name] = #name,
const char *const sys_names[SYS_ID__COUNT] = { SYS_CALLS (SYS_X_NAME) };
#undef SYS_X_NAME

int
sys_mask_parse (sys_mask_t *out, const char *names, const char **bad)
{
  sys_mask_t mask = 0;

  for (const char *p = names; *p;)
    {
      size_t len = strcspn (p, ",");
      int id;

      for (id = 0; id < SYS_ID__COUNT; id++)
        if (strlen (sys_names[id]) == len && strncmp (sys_names[id], p, len) == 0)
          break;
      if (id == SYS_ID__COUNT)
        {
          *bad = p;
          return -EINVAL;
        }
      mask |= SYS_MASK_ID (id);
      p += len;
      if (*p == ',')
        p++;
    }
  *out = mask;
  return 0;
}
