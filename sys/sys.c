/* sys.c: the process-global backend pointer and the call-name table. */
#include "sys/sys.h"

_Static_assert(SYS_ID__COUNT <= 128, "sys_mask_t needs one bit per call: widen it");

const struct sys_ops *sys = &sys_linux;

#define SYS_X_NAME(ret, name, params, args) [SYS_ID_##name] = #name,
const char *const sys_names[SYS_ID__COUNT] = { SYS_CALLS (SYS_X_NAME) };
#undef SYS_X_NAME
