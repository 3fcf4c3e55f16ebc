/* spec_copy.c: deep copies of the parts of a spec a process keeps after its creator is gone.
 *
 * The container init outlives `create`; what it still needs after reporting `created` (the
 * process to exec, the startContainer hooks) it copies first, so that it never reads memory
 * its creator owns.  (With a real clone the init has its own copy of the address space
 * anyway; the fake kernel runs the init as a coroutine on the shared heap, where this
 * matters.) */
#include <string.h>
#include "core/spec.h"
#include "core/strv.h"

static char *
dup_or_null (const char *s)
{
  return s ? xstrdup (s) : NULL;
}

static char **
strv_dup_or_null (char *const *v)
{
  return v ? strv_copy (v) : NULL;
}

struct spec_process *
spec_process_dup (const struct spec_process *p)
{
  struct spec_process *c = xmalloc (sizeof *c);

  *c = *p;
  c->additional_gids = NULL;
  if (p->n_additional_gids)
    {
      c->additional_gids = xcalloc (p->n_additional_gids, sizeof *c->additional_gids);
      memcpy (c->additional_gids, p->additional_gids,
              p->n_additional_gids * sizeof *c->additional_gids);
    }
  c->username = dup_or_null (p->username);
  c->args = strv_dup_or_null (p->args);
  c->command_line = dup_or_null (p->command_line);
  c->env = strv_dup_or_null (p->env);
  c->cwd = dup_or_null (p->cwd);
  c->caps.bounding = strv_dup_or_null (p->caps.bounding);
  c->caps.effective = strv_dup_or_null (p->caps.effective);
  c->caps.inheritable = strv_dup_or_null (p->caps.inheritable);
  c->caps.permitted = strv_dup_or_null (p->caps.permitted);
  c->caps.ambient = strv_dup_or_null (p->caps.ambient);
  c->rlimits = NULL;
  if (p->n_rlimits)
    {
      c->rlimits = xcalloc (p->n_rlimits, sizeof *c->rlimits);
      memcpy (c->rlimits, p->rlimits, p->n_rlimits * sizeof *c->rlimits);
    }
  c->apparmor_profile = dup_or_null (p->apparmor_profile);
  c->selinux_label = dup_or_null (p->selinux_label);
  return c;
}

struct spec *
spec_hooks_dup (const struct spec *s, enum spec_hook_kind kind)
{
  struct spec *c = xcalloc (1, sizeof *c);

  c->n_hooks[kind] = s->n_hooks[kind];
  if (s->n_hooks[kind])
    c->hooks[kind] = xcalloc (s->n_hooks[kind], sizeof *c->hooks[kind]);
  for (size_t i = 0; i < s->n_hooks[kind]; i++)
    {
      const struct spec_hook *h = &s->hooks[kind][i];
      c->hooks[kind][i].path = xstrdup (h->path);
      c->hooks[kind][i].args = strv_dup_or_null (h->args);
      c->hooks[kind][i].env = strv_dup_or_null (h->env);
      c->hooks[kind][i].timeout = h->timeout;
    }
  return c;
}
