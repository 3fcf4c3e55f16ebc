/* fixture.h: what the unit tests share: a fake kernel seeded with a bundle, the process
 * playing the current focker command, reading files back through the seam, and checks that
 * nothing was left behind.  Linked into every test binary (tests/unit/fixture.c). */
#ifndef FOCKER_TESTS_FIXTURE_H
#define FOCKER_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/err.h"
#include "sys-fake/fake.h"

#define FX_ROOT "/run/focker"
#define FX_BUNDLE "/bundle"

struct fx_world
{
  struct fake_kernel *k;
  pid_t cli;  /* the process playing the current focker command */
  pid_t init; /* the container's init, for tests that keep one started */
};

/* A new fake kernel (NULL personality: the default) with FX_BUNDLE/config.json holding
 * `config` and a rootfs with /bin/sh and the usual mount points. */
void fx_world_init (struct fx_world *w, const struct fake_personality *p, const char *config);
void fx_world_fini (struct fx_world *w);
/* The current command exits; a fresh process plays the next one. */
void fx_next_command (struct fx_world *w);

/* Processes alive besides pid 1 and the current command. */
int fx_live_processes (struct fx_world *w);

/* A file's content as read through the seam (malloc'd), NULL if it cannot be opened. */
char *fx_read (const char *path);
/* No cgroup directory named focker* in any hierarchy (of the current fake kernel). */
bool fx_no_cgroup_left (void);
/* That, and no state file of `id` (its lock file, <id>=..., .<id>=... temporaries). */
bool fx_nothing_left (struct fx_world *w, const char *id);
/* The last n calls of the journal, on the test's output. */
void fx_dump_journal (struct fake_kernel *k, size_t n);
/* How many calls of `id` the journal holds. */
size_t fx_count_calls (struct fake_kernel *k, enum sys_id id);
void fx_ok_fn (struct fake_kernel *k, int r, struct focker_err *err, const char *what);

struct store;
/* The image store at `root`, created if need be, its lock shared or exclusive. */
struct store *fx_store_open (const char *root, bool exclusive);
/* The names in a directory of the fake (strv_free), and how many there are. */
char **fx_names_in (const char *dir);
size_t fx_count_in (const char *dir);
/* The image store at `root` is consistent: every blob's content hashes to its name, and no
 * temporary is left under blobs/ or layers/. */
void fx_store_check (const char *root);
/* Every name under root's blobs/sha256 and layers/sha256 is listed in a record under
 * unsynced/ (for a store whose names were all made since its records were last removed),
 * and no half-made record (.new-*) is left.  Returns how many records there are. */
size_t fx_store_covered (const char *root);

/* The fault loop (SQLite's driver): `body` runs once for each n = 1, 2, ... with the nth
 * counted call of its operation failing with EIO, once (persist false) and then from the nth
 * call on (persist true), until a run does not reach its fault; that run must succeed (and
 * must not be the first: an operation making no counted call tests nothing).
 * The body builds its world, arms the fault (fx_fault_arm) just before the operation,
 * disarms it (fx_fault_disarm) just after, checks that nothing is left, and frees the world;
 * it returns the operation's result.  fx_fault_loop_calls injects another errno, or counts
 * (and fails) only the calls in `mask` (SYS_MASK (write) | ...; 0: every call). */
enum fx_fault_mode
{
  FX_FAULT_ONCE_THEN_PERSIST,
  FX_FAULT_ONCE,    /* single faults only */
  FX_FAULT_PERSIST, /* persistent faults only */
};
struct fx_fault
{
  long n;
  bool persist;
  int error;       /* the failing calls return -error */
  sys_mask_t mask; /* the calls counted; 0: all */
  bool armed, hit;
  struct fake_kernel *k;
};
void fx_fault_arm (struct fx_fault *f, struct fake_kernel *k);
/* Disarms, and sets f->hit: did the run reach its fault? */
void fx_fault_disarm (struct fx_fault *f);
/* Returns the number of runs. */
long fx_fault_loop (enum fx_fault_mode mode, int (*body) (struct fx_fault *f, void *ctx),
                    void *ctx);
long fx_fault_loop_calls (enum fx_fault_mode mode, int error, sys_mask_t mask,
                          int (*body) (struct fx_fault *f, void *ctx), void *ctx);
/* The error contract of one run: r < 0 comes with *err set, its code r and a message of one
 * line (then freed and reset to NULL), r >= 0 with no error. */
void fx_fault_err (struct fx_fault *f, int r, struct focker_err **err);

struct create_opts;
/* One run of a fault loop over `create` (o->root must be FX_ROOT): the create with the fault
 * armed and the error contract (fx_fault_err); a create the fault missed made a waiting init
 * and its state.json.  That container, and whatever a persistent fault kept create from
 * undoing, is then removed by `delete --force` as the next command, which must succeed.
 * Either way nothing of o->id may be left (state, cgroup, process) and neither command may
 * keep an fd beyond its stdio.  Returns the create's result. */
int fx_create_fault_run (struct fx_fault *f, struct fx_world *w, const struct create_opts *o);

/* The next command deletes id (under FX_ROOT) with --force, which must succeed; then nothing
 * of id may be left (state, cgroup, process) nor an fd of that command's.  `what` names the
 * sequence in the failure message. */
void fx_delete_clean (struct fx_fault *f, struct fx_world *w, const char *id, const char *what);

/* fx_create_fault_run's counterpart for `delete --force` of id (under FX_ROOT), created by
 * the caller: run as the next command with the fault armed; one that failed must succeed
 * when repeated (fx_delete_clean). */
int fx_delete_fault_run (struct fx_fault *f, struct fx_world *w, const char *id);

/* Fails the test with err's message and the end of k's journal (k may be NULL) when `call`
 * returns < 0.  A macro, so the call runs before `err` is read (function arguments have no
 * order). */
#define FX_CHECK(k, call, err)                                                                     \
  do                                                                                               \
    {                                                                                              \
      int r_ = (call);                                                                             \
      fx_ok_fn ((k), r_, (err), #call);                                                            \
    }                                                                                              \
  while (0)
#define FX_OK(w, call, err) FX_CHECK ((w)->k, call, err)

#endif
