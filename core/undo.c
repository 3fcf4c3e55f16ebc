/* undo.c: the rollback list (see undo.h). */
#include <stdlib.h>
#include "core/err.h"
#include "core/undo.h"

void
undo_push (struct undo *u, void (*fn) (void *), void *data)
{
  struct undo_step *s = xmalloc (sizeof *s);

  s->fn = fn;
  s->data = data;
  s->next = u->top;
  u->top = s;
}

void
undo_run (struct undo *u)
{
  while (u->top)
    {
      struct undo_step *s = u->top;
      u->top = s->next;
      s->fn (s->data);
      free (s->data);
      free (s);
    }
}

void
undo_drop (struct undo *u)
{
  while (u->top)
    {
      struct undo_step *s = u->top;
      u->top = s->next;
      free (s->data);
      free (s);
    }
}
