/* layer_stream.c: unpacking a layer while its blob downloads (see layer_stream.h).
 *
 * The unpacker is a clone of focker without exec (it runs unpack_layer, as the pull itself
 * would): fds 3 (the layer's temporary directory), 4 (the pipe it reads the blob from), 5
 * (where it writes its result: the diff-id, or "ERRNO message"), 6 (the store's lock, held
 * shared for gc's sake); everything else is closed, so it holds no other unpacker's pipe
 * open (each must see its own end of file).  Its exit status says whether the result is a
 * diff-id. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/layer_stream.h"
#include "core/unpack.h"

#define PIPE_BYTES (1024 * 1024) /* the most an unprivileged process may ask for, by default */

struct layer_stream
{
  struct store *s;
  char *tmp;  /* layers/.tmp-* */
  pid_t pid;  /* the unpacker, 0 once reaped */
  int res_fd; /* its result pipe */
};

struct stream_args
{
  int fds[4]; /* what becomes fd 3..6 in the child */
};

static int
stream_main (void *arg)
{
  struct stream_args a = *(struct stream_args *)arg; /* the parent's copy may go */
  struct focker_err *err = NULL;
  char diff[DIGEST_LEN + 1], msg[512];
  int high[4], r;

  /* first out of the way (a source may be a target's number), then into place */
  for (int i = 0; i < 4; i++)
    if ((high[i] = sys_fcntl (a.fds[i], F_DUPFD, 10)) < 0)
      return 126;
  for (int i = 0; i < 4; i++)
    if (sys_dup3 (high[i], 3 + i, 0) < 0)
      return 126;
  if (sys_close_range (7, ~0U, 0) < 0 || sys_prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return 126;
  r = unpack_layer (3, 4, diff, &err);
  if (r == 0)
    snprintf (msg, sizeof msg, "%s", diff);
  else
    snprintf (msg, sizeof msg, "%d %s", -r, err ? err->msg : "");
  focker_err_free (err);
  (void)write_all (5, msg, strlen (msg));
  return r == 0 ? 0 : 1;
}

int
layer_stream_begin (struct layer_stream **out, struct store *s, int *feed, struct focker_err **err)
{
  _cleanup_close_ int dfd = -1, data_rd = -1, data_wr = -1, res_rd = -1, res_wr = -1;
  _cleanup_free_ char *tmp = NULL;
  int fds[2], r;
  pid_t pid;

  dfd = store_layer_tmp (s, &tmp, err);
  if (dfd < 0)
    return dfd;
  r = sys_pipe2 (fds, O_CLOEXEC);
  if (r == 0)
    {
      data_rd = fds[0];
      data_wr = fds[1];
      r = sys_pipe2 (fds, O_CLOEXEC);
    }
  if (r == 0)
    {
      res_rd = fds[0];
      res_wr = fds[1];
      r = sys_fcntl (data_wr, F_SETFL, O_NONBLOCK);
    }
  if (r < 0)
    {
      rm_rf_at (s->fd, tmp);
      return focker_fail (err, r, "unpack %s/%s: pipe", s->root, tmp);
    }
  /* a larger pipe lets the download run further ahead of the unpacker: only a hint */
  (void)sys_fcntl (data_wr, F_SETPIPE_SZ, PIPE_BYTES);
  struct stream_args a = { .fds = { dfd, data_rd, res_wr, s->lockfd } };
  struct sys_clone_args ca = { .exit_signal = SIGCHLD, .fn = stream_main, .arg = &a };
  pid = sys_clone (&ca);
  if (pid < 0)
    {
      rm_rf_at (s->fd, tmp);
      return focker_fail (err, pid, "unpack %s/%s: start", s->root, tmp);
    }
  struct layer_stream *ls = xcalloc (1, sizeof *ls);
  ls->s = s;
  ls->tmp = TAKE_PTR (tmp);
  ls->pid = pid;
  ls->res_fd = TAKE_FD (res_rd);
  *feed = TAKE_FD (data_wr);
  *out = ls;
  return 0;
}

static void
stream_free (struct layer_stream *ls)
{
  if (ls->pid > 0)
    {
      siginfo_t info;
      sys_kill (ls->pid, SIGKILL);
      sys_waitid (P_PID, (id_t)ls->pid, &info, WEXITED);
    }
  if (ls->res_fd >= 0)
    sys_close (ls->res_fd);
  /* after the unpacker is gone: nothing writes into the tree any more */
  if (ls->tmp)
    rm_rf_at (ls->s->fd, ls->tmp);
  free (ls->tmp);
  free (ls);
}

int
layer_stream_end (struct layer_stream *ls, bool use, const char *blob, const char *expect_diff,
                  char diff_id[DIGEST_LEN + 1], struct focker_err **err)
{
  char res[600];
  siginfo_t info;
  ssize_t n;
  int r;

  n = read_all (ls->res_fd, res, sizeof res - 1);
  sys_close (ls->res_fd);
  ls->res_fd = -1;
  memset (&info, 0, sizeof info);
  do
    r = sys_waitid (P_PID, (id_t)ls->pid, &info, WEXITED);
  while (r == -EINTR);
  if (r == 0)
    ls->pid = 0;
  res[n > 0 ? n : 0] = '\0';
  /* the unpacker's own errors are not reported here: the caller unpacks the verified blob
   * again, which meets the same error if it is the layer's (and none if it was the feed's) */
  if (!use || r < 0 || info.si_code != CLD_EXITED || info.si_status != 0 || !digest_valid (res))
    {
      stream_free (ls);
      return 0;
    }
  r = store_layer_name (ls->s, ls->tmp, res, expect_diff, blob, err);
  free (TAKE_PTR (ls->tmp)); /* named, dropped or removed: no longer ours */
  stream_free (ls);
  if (r < 0)
    return r;
  memcpy (diff_id, res, DIGEST_LEN + 1);
  return 1;
}

void
layer_stream_abort (struct layer_stream *ls)
{
  if (ls)
    stream_free (ls);
}
