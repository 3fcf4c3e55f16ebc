/* spec_process.c: the "process" object of config.json (also the whole document of
 * `exec --process FILE`), and the name tables for capabilities and rlimits.
 *
 * Invariants: cwd is absolute; args is non-empty unless commandLine is given; capability
 * and rlimit names are known to this build; rlimits are unique with soft <= hard; the
 * scheduler, ioPriority and execCPUAffinity objects are type-checked even where the
 * struct keeps nothing of them yet. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "core/err.h"
#include "core/spec_internal.h"
#include "core/strv.h"

static const char *const cap_names[SPEC_CAP_LAST + 2] = {
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
  NULL,
};

int
spec_cap_from_name (const char *name)
{
  for (int i = 0; i <= SPEC_CAP_LAST; i++)
    if (strcmp (name, cap_names[i]) == 0)
      return i;
  return -1;
}

const char *
spec_cap_name (int cap)
{
  return cap >= 0 && cap <= SPEC_CAP_LAST ? cap_names[cap] : NULL;
}

static const struct
{
  const char *name;
  int type;
} rlimit_table[] = {
  { "RLIMIT_CPU", RLIMIT_CPU },           { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_DATA", RLIMIT_DATA },         { "RLIMIT_STACK", RLIMIT_STACK },
  { "RLIMIT_CORE", RLIMIT_CORE },         { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_NPROC", RLIMIT_NPROC },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },   { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },       { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },     { "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

int
spec_rlimit_from_name (const char *name)
{
  for (size_t i = 0; i < sizeof rlimit_table / sizeof rlimit_table[0]; i++)
    if (strcmp (name, rlimit_table[i].name) == 0)
      return rlimit_table[i].type;
  return -1;
}

static int
parse_user (struct spec_ctx *c, json_t *p, struct spec_process *out)
{
  json_t *user = NULL, *gids = NULL, *e;
  uint64_t v;
  size_t mark, i;
  int r;

  r = spec_jobject (c, p, "user", false, &user);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, "user");
  if ((r = spec_ju64 (c, user, "uid", false, UINT32_MAX, &v)) > 0)
    out->uid = (uid_t)v;
  if (r >= 0 && (r = spec_ju64 (c, user, "gid", false, UINT32_MAX, &v)) > 0)
    out->gid = (gid_t)v;
  if (r >= 0 && (r = spec_ju64 (c, user, "umask", false, 07777, &v)) > 0)
    {
      out->has_umask = true;
      out->umask = (mode_t)v;
    }
  if (r >= 0)
    r = spec_jstring (c, user, "username", false, &out->username);
  if (r >= 0)
    r = spec_jarray (c, user, "additionalGids", false, &gids);
  if (r > 0)
    {
      size_t m2 = spec_ctx_key (c, "additionalGids");
      out->additional_gids = xcalloc (json_array_size (gids), sizeof (gid_t));
      json_array_foreach (gids, i, e)
      {
        size_t m3 = spec_ctx_index (c, i);
        r = spec_jvalue_u64 (c, NULL, e, UINT32_MAX, &v);
        spec_ctx_pop (c, m3);
        if (r < 0)
          break;
        out->additional_gids[out->n_additional_gids++] = (gid_t)v;
      }
      spec_ctx_pop (c, m2);
    }
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_caps (struct spec_ctx *c, json_t *p, struct spec_process *out)
{
  static const char *const sets[]
      = { "bounding", "effective", "inheritable", "permitted", "ambient" };
  char ***dst[] = { &out->caps.bounding, &out->caps.effective, &out->caps.inheritable,
                    &out->caps.permitted, &out->caps.ambient };
  json_t *caps = NULL;
  size_t mark;
  int r;

  r = spec_jobject (c, p, "capabilities", false, &caps);
  if (r <= 0)
    return r;
  out->has_capabilities = true;
  mark = spec_ctx_key (c, "capabilities");
  for (size_t k = 0; k < sizeof sets / sizeof sets[0] && r >= 0; k++)
    {
      char ***v = dst[k];

      r = spec_jstrv (c, caps, sets[k], v);
      for (size_t i = 0; r > 0 && (*v)[i]; i++)
        if (spec_cap_from_name ((*v)[i]) < 0)
          {
            size_t m2 = spec_ctx_key (c, sets[k]);
            spec_ctx_index (c, i);
            r = spec_ctx_fail (c, NULL, "unknown capability \"%s\"", (*v)[i]);
            spec_ctx_pop (c, m2);
          }
    }
  spec_ctx_pop (c, mark);
  return r;
}

static int
parse_rlimit (struct spec_ctx *c, json_t *e, struct spec_process *out, size_t i)
{
  struct spec_rlimit *rl = &out->rlimits[i];
  char *type = NULL;
  int r;

  if (!json_is_object (e))
    return spec_ctx_fail (c, NULL, "must be an object");
  r = spec_jstring (c, e, "type", true, &type);
  if (r >= 0 && (rl->type = spec_rlimit_from_name (type)) < 0)
    r = spec_ctx_fail (c, "type", "unknown rlimit \"%s\"", type);
  for (size_t j = 0; r >= 0 && j < i; j++)
    if (out->rlimits[j].type == rl->type)
      r = spec_ctx_fail (c, "type", "duplicate rlimit \"%s\"", type);
  if (r >= 0)
    r = spec_ju64 (c, e, "soft", true, UINT64_MAX, &rl->soft);
  if (r >= 0)
    r = spec_ju64 (c, e, "hard", true, UINT64_MAX, &rl->hard);
  if (r >= 0 && rl->soft > rl->hard)
    r = spec_ctx_fail (c, "soft", "soft limit %llu exceeds hard limit %llu",
                       (unsigned long long)rl->soft, (unsigned long long)rl->hard);
  free (type);
  return r;
}

static int
parse_rlimits (struct spec_ctx *c, json_t *p, struct spec_process *out)
{
  json_t *arr = NULL, *e;
  size_t mark, i;
  int r;

  r = spec_jarray (c, p, "rlimits", false, &arr);
  if (r <= 0)
    return r;
  out->rlimits = xcalloc (json_array_size (arr), sizeof *out->rlimits);
  mark = spec_ctx_key (c, "rlimits");
  json_array_foreach (arr, i, e)
  {
    size_t m2 = spec_ctx_index (c, i);
    r = parse_rlimit (c, e, out, i);
    spec_ctx_pop (c, m2);
    if (r < 0)
      break;
    out->n_rlimits = i + 1;
  }
  spec_ctx_pop (c, mark);
  return r;
}

/* process.scheduler (1.2): checked, kept only in the JSON for now. */
static int
parse_scheduler (struct spec_ctx *c, json_t *p)
{
  static const char *const policies[]
      = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",       "SCHED_BATCH",
          "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE", NULL };
  static const char *const flags[] = { "SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",
                                       "SCHED_FLAG_DL_OVERRUN",     "SCHED_FLAG_KEEP_POLICY",
                                       "SCHED_FLAG_KEEP_PARAMS",    "SCHED_FLAG_UTIL_CLAMP_MIN",
                                       "SCHED_FLAG_UTIL_CLAMP_MAX", NULL };
  json_t *obj = NULL;
  char *policy = NULL;
  char **fl = NULL;
  int64_t i64;
  uint64_t u64;
  size_t mark;
  int r;

  r = spec_jobject (c, p, "scheduler", false, &obj);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, "scheduler");
  r = spec_jstring (c, obj, "policy", true, &policy);
  if (r >= 0)
    r = spec_check_enum (c, "policy", policy, policies, "scheduler policy");
  if (r >= 0)
    r = spec_ji64 (c, obj, "nice", false, -20, 19, &i64);
  if (r >= 0)
    r = spec_ji64 (c, obj, "priority", false, INT32_MIN, INT32_MAX, &i64);
  if (r >= 0)
    r = spec_jstrv (c, obj, "flags", &fl);
  for (size_t i = 0; r > 0 && fl && fl[i]; i++)
    {
      size_t m2 = spec_ctx_key (c, "flags");
      spec_ctx_index (c, i);
      r = spec_check_enum (c, NULL, fl[i], flags, "scheduler flag");
      spec_ctx_pop (c, m2);
    }
  if (r >= 0)
    r = spec_ju64 (c, obj, "runtime", false, UINT64_MAX, &u64);
  if (r >= 0)
    r = spec_ju64 (c, obj, "deadline", false, UINT64_MAX, &u64);
  if (r >= 0)
    r = spec_ju64 (c, obj, "period", false, UINT64_MAX, &u64);
  spec_ctx_pop (c, mark);
  free (policy);
  strv_free (fl);
  return r;
}

static int
parse_io_priority (struct spec_ctx *c, json_t *p, struct spec_process *out)
{
  /* IOPRIO_CLASS_RT = 1, BE = 2, IDLE = 3 in the kernel's numbering */
  static const char *const classes[]
      = { "IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", NULL };
  json_t *obj = NULL;
  char *class = NULL;
  int64_t prio = 0;
  size_t mark;
  int r;

  r = spec_jobject (c, p, "ioPriority", false, &obj);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, "ioPriority");
  r = spec_jstring (c, obj, "class", true, &class);
  if (r >= 0)
    r = spec_check_enum (c, "class", class, classes, "io priority class");
  if (r == 0)
    r = spec_ctx_fail (c, "class", "unknown io priority class \"%s\"", class);
  if (r > 0)
    out->io_priority_class = r;
  if (r >= 0)
    r = spec_ji64 (c, obj, "priority", false, 0, 7, &prio);
  out->io_priority = (int)prio;
  out->has_io_priority = r >= 0;
  spec_ctx_pop (c, mark);
  free (class);
  return r;
}

static int
parse_cpu_affinity (struct spec_ctx *c, json_t *p)
{
  json_t *obj = NULL;
  char *s = NULL;
  size_t mark;
  int r;

  r = spec_jobject (c, p, "execCPUAffinity", false, &obj);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, "execCPUAffinity");
  r = spec_jstring (c, obj, "initial", false, &s);
  if (r >= 0)
    r = spec_jstring (c, obj, "final", false, &s);
  spec_ctx_pop (c, mark);
  free (s);
  return r;
}

static int
parse_console (struct spec_ctx *c, json_t *p, struct spec_process *out)
{
  json_t *obj = NULL;
  uint64_t h = 0, w = 0;
  size_t mark;
  int r;

  r = spec_jobject (c, p, "consoleSize", false, &obj);
  if (r <= 0)
    return r;
  mark = spec_ctx_key (c, "consoleSize");
  r = spec_ju64 (c, obj, "height", true, UINT32_MAX, &h);
  if (r >= 0)
    r = spec_ju64 (c, obj, "width", true, UINT32_MAX, &w);
  spec_ctx_pop (c, mark);
  out->has_console_size = r >= 0;
  out->console_height = (unsigned)h;
  out->console_width = (unsigned)w;
  return r;
}

static int
parse_command (struct spec_ctx *c, json_t *p, struct spec_process *out)
{
  int r;

  r = spec_jstring (c, p, "commandLine", false, &out->command_line);
  if (r >= 0)
    r = spec_jstrv (c, p, "args", &out->args);
  if (r >= 0 && (out->args == NULL || out->args[0] == NULL) && out->command_line == NULL)
    r = spec_ctx_fail (c, "args", "must be a non-empty array of strings");
  if (r >= 0)
    r = spec_jstrv (c, p, "env", &out->env);
  if (r >= 0)
    r = spec_jstring (c, p, "cwd", true, &out->cwd);
  if (r >= 0)
    r = spec_check_abs (c, "cwd", out->cwd);
  return r;
}

int
spec_parse_process_obj (struct spec_ctx *c, json_t *p, struct spec_process *out)
{
  int64_t oom = 0;
  int r;

  r = spec_jbool (c, p, "terminal", &out->terminal);
  if (r >= 0)
    r = parse_console (c, p, out);
  if (r >= 0)
    r = parse_user (c, p, out);
  if (r >= 0)
    r = parse_command (c, p, out);
  if (r >= 0)
    r = parse_caps (c, p, out);
  if (r >= 0)
    r = parse_rlimits (c, p, out);
  if (r >= 0)
    r = spec_jbool (c, p, "noNewPrivileges", &out->no_new_privileges);
  if (r >= 0)
    r = spec_jstring (c, p, "apparmorProfile", false, &out->apparmor_profile);
  if (r >= 0 && (r = spec_ji64 (c, p, "oomScoreAdj", false, -1000, 1000, &oom)) > 0)
    {
      out->has_oom_score_adj = true;
      out->oom_score_adj = (int)oom;
    }
  if (r >= 0)
    r = spec_jstring (c, p, "selinuxLabel", false, &out->selinux_label);
  if (r >= 0)
    r = parse_scheduler (c, p);
  if (r >= 0)
    r = parse_io_priority (c, p, out);
  if (r >= 0)
    r = parse_cpu_affinity (c, p);
  return r < 0 ? r : 0;
}
