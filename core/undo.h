/* undo.h: the rollback list for multi-step host changes.
 *
 * Each step that changes the host (a state dir, a mount outside the container, a cgroup dir)
 * pushes its inverse as soon as it succeeds.  On failure undo_run() executes the inverses in
 * reverse order; on success undo_drop() forgets them.  Undo actions never fail loudly: they
 * are best-effort by nature, and a runtime killed mid-way is cleaned by `delete --force`. */
#ifndef FOCKER_UNDO_H
#define FOCKER_UNDO_H

#include <stddef.h>

struct undo_step
{
  void (*fn) (void *data);
  void *data;             /* owned: freed with free() after fn ran or on drop */
  struct undo_step *next; /* the step pushed before this one */
};

struct undo
{
  struct undo_step *top;
};

/* Push an action; `data` is owned by the list from now on. */
void undo_push (struct undo *u, void (*fn) (void *), void *data);

/* Run every action, newest first, then empty the list. */
void undo_run (struct undo *u);

/* Forget every action without running it (success). */
void undo_drop (struct undo *u);

/* Cleanup helper: a list still holding steps when it leaves scope is run (the failure path). */
static inline void
cleanup_undop (struct undo *u)
{
  undo_run (u);
}
#define _cleanup_undo_ __attribute__ ((cleanup (cleanup_undop)))

#endif
