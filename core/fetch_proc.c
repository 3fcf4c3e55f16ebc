/* fetch_proc.c: the real registry transport: each request is one focker-fetch process
 * (cli/fetch/focker-fetch.c describes the protocol).
 *
 * Why a process: libcurl cannot be linked statically on Debian 12 and focker must stay
 * static (CONTRIBUTING.md).  The child gets the request on a pipe (never in argv, which
 * other users can read in /proc), writes its result line and small bodies to another pipe,
 * and blob bodies to a third, which focker copies into the store's temporary file: focker
 * is the only writer of a download, so what it verifies is what the helper cannot change
 * afterwards (a child of the helper could keep an fd of the file; it cannot keep one focker
 * never gave).  When focker runs as root
 * the helper runs as nobody with no_new_privs: it needs no privilege, only the fds it is
 * given, and the code parsing what a registry sends then runs unprivileged. */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/registry.h"
#include "core/strv.h"

#define NOBODY 65534
#define RESULT_MAX (17 * 1024 * 1024)

struct proc_req
{
  bool used;
  pid_t pid;
  int res_fd;          /* the helper's stdout, -1 at its end */
  int body_rd;         /* the body pipe's read end, -1 at its end (or for none) */
  int out_fd;          /* where the body goes (the caller's) */
  int werr;            /* writing the body to out_fd failed: the errno */
  struct digest *hash; /* the request's: fed what is written to out_fd */
  uint64_t hashed;
  int tee_fd;      /* the request's tee_fd, -1 once dropped */
  char *pend;      /* body bytes written to out_fd that tee_fd has not taken yet */
  size_t pend_len; /* while > 0, no more of the body is read */
  uint64_t teed;
  char *buf;
  size_t len;
};

/* Helpers started ahead of a request (see proc_start). */
#define SPARES 3

struct spare
{
  pid_t pid;
  int in_wr, res_rd, body_rd; /* its stdin, stdout and body pipe (-1: none) */
};

struct proc_transport
{
  struct reg_transport t;
  char *helper;
  struct proc_req *reqs;
  size_t n;
  struct spare spares[SPARES];
  size_t n_spares;
  bool spared;     /* the spares were started (once per transport) */
  pid_t *unreaped; /* helpers whose wait failed: proc_cancel kills and reaps them */
  size_t n_unreaped;
};

struct child_args
{
  const char *helper;
  int fds[5];   /* what becomes fd 0..4 in the child, -1 for none */
  pid_t parent; /* focker, as getppid() names it while it lives */
};

static int
child_main (void *arg)
{
  struct child_args *c = arg;
  extern char **environ;
  char *const argv[] = { (char *)"focker-fetch", NULL };
  int high[5];
  uid_t euid = 0;
  gid_t egid = 0;

  /* first out of the way (a source may be a target's number), then into place */
  for (int i = 0; i < 5; i++)
    if (c->fds[i] >= 0 && (high[i] = sys_fcntl (c->fds[i], F_DUPFD, 10)) < 0)
      return 126;
  for (int i = 0; i < 5; i++)
    if (c->fds[i] >= 0 && sys_dup3 (high[i], i, 0) < 0)
      return 126;
  /* nothing of ours past stdio but what it was given (3: the body, 4: the output) */
  sys_close_range (5, ~0U, 0);
  for (int i = 3; i < 5; i++)
    if (c->fds[i] < 0)
      sys_close (i);
  sys_getids (&euid, &egid);
  if (euid == 0
      && (sys_setgroups (0, NULL) < 0 || sys_setresgid (NOBODY, NOBODY, NOBODY) < 0
          || sys_setresuid (NOBODY, NOBODY, NOBODY) < 0))
    return 126;
  /* after the uid change, which clears it: a killed focker takes its transfers with it, so
   * nothing writes into a partial download the next pull resumes.  A focker that died
   * before this point sent no signal and never will: the child was reparented, so getppid()
   * no longer names it, and the helper goes too. */
  if (sys_prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
      || sys_prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    return 126;
  if (sys_getppid () != c->parent)
    return 126;
  sys_signal_default (SIGPIPE);
  sys_execve (c->helper, argv, environ);
  return 127;
}

static char *
request_json (const struct reg_request *rq)
{
  json_t *j = json_pack ("{s:s, s:s, s:b, s:b, s:I, s:b}", "method", rq->method, "url", rq->url,
                         "out_fd", rq->out_fd >= 0, "body_fd", rq->body_fd >= 0, "range_from",
                         (json_int_t)rq->range_from, "tls_verify", rq->tls_verify);
  json_t *h = json_array ();
  char *text;

  for (char *const *p = rq->headers; p && *p; p++)
    json_array_append_new (h, json_string (*p));
  json_object_set_new (j, "headers", h);
  if (rq->body)
    json_object_set_new (j, "body", json_string (rq->body));
  /* the client key travels this way only: on the helper's stdin, never in argv, a file or
   * the environment */
  if (rq->tls.ca_pem)
    json_object_set_new (j, "ca_pem", json_string (rq->tls.ca_pem));
  if (rq->tls.cert_pem && rq->tls.key_pem)
    {
      json_object_set_new (j, "cert_pem", json_string (rq->tls.cert_pem));
      json_object_set_new (j, "key_pem", json_string (rq->tls.key_pem));
    }
  if (rq->body_fd >= 0)
    json_object_set_new (j, "body_size", json_integer ((json_int_t)rq->body_size));
  text = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  if (text == NULL)
    abort (); /* only out of memory, or a header that is not UTF-8: never from core/ */
  return text;
}

/* Start a helper: *h gets its pid and our ends of its stdin, stdout and (with `body`) body
 * pipe; `body_fd` (or -1) becomes its fd 4. */
static int
spawn (struct proc_transport *p, bool body, int body_fd, struct spare *h, struct focker_err **err)
{
  int in[2], out[2], bp[2] = { -1, -1 }, r;

  r = sys_pipe2 (in, O_CLOEXEC);
  if (r < 0)
    return focker_fail (err, r, "%s: pipe", p->helper);
  r = sys_pipe2 (out, O_CLOEXEC);
  if (r >= 0 && body && (r = sys_pipe2 (bp, O_CLOEXEC)) < 0)
    {
      sys_close (out[0]);
      sys_close (out[1]);
    }
  if (r < 0)
    {
      sys_close (in[0]);
      sys_close (in[1]);
      return focker_fail (err, r, "%s: pipe", p->helper);
    }
  /* the body comes through a pipe focker copies and hashes: the helper never holds the
   * download's fd */
  struct child_args c = { .helper = p->helper,
                          .fds = { in[0], out[1], 2, bp[1], body_fd },
                          .parent = sys_getpid () };
  struct sys_clone_args ca = { .exit_signal = SIGCHLD, .fn = child_main, .arg = &c };
  pid_t pid = sys_clone (&ca);
  sys_close (in[0]);
  sys_close (out[1]);
  if (bp[1] >= 0)
    sys_close (bp[1]);
  if (pid < 0)
    {
      sys_close (in[1]);
      sys_close (out[0]);
      if (bp[0] >= 0)
        sys_close (bp[0]);
      return focker_fail (err, pid, "%s: start", p->helper);
    }
  *h = (struct spare){ .pid = pid, .in_wr = in[1], .res_rd = out[0], .body_rd = bp[0] };
  return 0;
}

/* Reap helper `pid` (waitid again on EINTR).  One whose wait fails otherwise is remembered,
 * for proc_cancel to kill and reap: left alone it would stay a zombie until focker exits, one
 * more per failure in a long command.  Not after ECHILD: the pid is no longer ours to kill
 * (another process may have it). */
static int
reap (struct proc_transport *p, pid_t pid, siginfo_t *info)
{
  int r;

  do
    {
      memset (info, 0, sizeof *info);
      r = sys_waitid (P_PID, (id_t)pid, info, WEXITED);
    }
  while (r == -EINTR);
  if (r < 0 && r != -ECHILD)
    {
      p->unreaped = xrealloc (p->unreaped, (p->n_unreaped + 1) * sizeof *p->unreaped);
      p->unreaped[p->n_unreaped++] = pid;
    }
  return r;
}

/* Kill and reap an unreaped helper: its pid is still ours (an unreaped child's pid is not
 * reused), so the signal cannot reach another process. */
static void
kill_and_reap (struct proc_transport *p, pid_t pid)
{
  siginfo_t info;

  sys_kill (pid, SIGKILL);
  (void)reap (p, pid, &info);
}

/* Killed before its pipes close: a spare that read the end of its stdin would say "bad
 * request" on focker's stderr. */
static void
spare_kill (struct proc_transport *p, struct spare *h)
{
  siginfo_t info;

  sys_kill (h->pid, SIGKILL);
  sys_close (h->in_wr);
  sys_close (h->res_rd);
  if (h->body_rd >= 0)
    sys_close (h->body_rd);
  (void)reap (p, h->pid, &info);
}

static int
proc_start (struct reg_transport *t, const struct reg_request *rq, struct focker_err **err)
{
  struct proc_transport *p = (struct proc_transport *)t;
  _cleanup_free_ char *text = request_json (rq);
  struct spare h;
  size_t slot;
  int r;

  if (rq->body_fd < 0 && p->n_spares > 0)
    {
      /* started ahead, with a body pipe, waiting for a request */
      h = p->spares[--p->n_spares];
      if (rq->out_fd < 0)
        {
          sys_close (h.body_rd);
          h.body_rd = -1;
        }
    }
  else if ((r = spawn (p, rq->out_fd >= 0, rq->body_fd, &h, err)) < 0)
    return r;
  /* a helper that died before reading gives EPIPE: its exit status tells the story */
  (void)write_all (h.in_wr, text, strlen (text));
  sys_close (h.in_wr);
  for (slot = 0; slot < p->n && p->reqs[slot].used; slot++)
    ;
  if (slot == p->n)
    {
      p->reqs = xrealloc (p->reqs, (p->n + 1) * sizeof *p->reqs);
      p->n++;
    }
  p->reqs[slot] = (struct proc_req){
    .used = true,
    .pid = h.pid,
    .res_fd = h.res_rd,
    .body_rd = h.body_rd,
    .out_fd = rq->out_fd,
    .hash = rq->hash,
    .tee_fd = rq->out_fd >= 0 ? rq->tee_fd : -1,
  };
  /* A helper's start (exec, 34 shared libraries, libcurl's and OpenSSL's set-up) costs tens
   * of ms under load: while the first request (a manifest) runs, the helpers for the blobs
   * that usually follow start too (unless the request says none follow: a pull of a digest
   * the store has; the first request that expects more starts them).  Only a head start: one that
   * cannot be started is not an error, and those never used are killed by reg_proc_free. */
  if (!p->spared && rq->spares)
    {
      p->spared = true;
      while (p->n_spares < SPARES)
        {
          struct focker_err *e2 = NULL;
          if (spawn (p, true, -1, &p->spares[p->n_spares], &e2) < 0)
            {
              focker_err_free (e2);
              break;
            }
          p->n_spares++;
        }
    }
  return (int)slot;
}

/* Turn the helper's output into *resp. */
static int
parse_result (struct proc_transport *p, struct proc_req *q, struct reg_response *resp,
              struct focker_err **err)
{
  char *nl = q->buf ? memchr (q->buf, '\n', q->len) : NULL;
  _cleanup_json_ json_t *j = NULL;
  json_t *h;
  size_t i;

  memset (resp, 0, sizeof *resp);
  if (nl)
    j = json_loadb (q->buf, (size_t)(nl - q->buf), 0, NULL);
  if (!json_is_object (j))
    return focker_fail (err, -EPROTO, "%s: no result", p->helper);
  resp->status = (int)json_integer_value (json_object_get (j, "status"));
  resp->hashed = q->hashed;
  resp->teed = q->teed;
  json_array_foreach (json_object_get (j, "headers"), i, h)
  {
    const char *name = json_string_value (json_array_get (h, 0));
    const char *value = json_string_value (json_array_get (h, 1));
    if (name == NULL || value == NULL)
      continue;
    char *line = xasprintf ("%s: %s", name, value);
    for (char *c = line; *c != ':'; c++)
      if (*c >= 'A' && *c <= 'Z')
        *c = (char)(*c + 32);
    strv_push (&resp->headers, line);
    free (line);
  }
  if (json_is_string (json_object_get (j, "error")))
    resp->error = xstrdup (json_string_value (json_object_get (j, "error")));
  resp->body_len = q->len - (size_t)(nl + 1 - q->buf);
  if (resp->body_len > 0)
    {
      resp->body = xmalloc (resp->body_len + 1);
      memcpy (resp->body, nl + 1, resp->body_len);
      resp->body[resp->body_len] = '\0';
    }
  return 0;
}

/* The helper closed its stdout: reap it, and answer for it. */
static int
finish (struct proc_transport *p, size_t slot, struct reg_response *resp, struct focker_err **err)
{
  struct proc_req *q = &p->reqs[slot];
  siginfo_t info;
  int r;

  r = reap (p, q->pid, &info);
  if (r < 0)
    r = focker_fail (err, r, "%s: wait", p->helper);
  else if (info.si_code == CLD_EXITED && info.si_status == 127)
    r = focker_fail (err, -ENOENT, "%s: cannot execute", p->helper);
  else if (info.si_code != CLD_EXITED || info.si_status != 0)
    r = focker_fail (err, -EPROTO, "%s %s %d", p->helper,
                     info.si_code == CLD_EXITED ? "exited with status" : "killed by signal",
                     info.si_status);
  else if (q->werr < 0)
    r = focker_fail (err, q->werr, "%s: write the download", p->helper);
  else
    r = parse_result (p, q, resp, err);
  free (q->buf);
  free (q->pend);
  *q = (struct proc_req){ 0 };
  return r < 0 ? r : (int)slot;
}

static long
now_ms (void)
{
  struct timespec ts = { 0 };

  sys_clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Give tee_fd what it takes of buf (q->pend itself, or bytes just read); the rest waits in
 * q->pend.  A tee_fd that fails is dropped: its reader is gone or broken, and the transfer
 * does not depend on it. */
static void
tee_bytes (struct proc_req *q, const char *buf, size_t len)
{
  ssize_t n = sys_write (q->tee_fd, buf, len);

  if (n == -EAGAIN || n == -EINTR)
    n = 0;
  if (n < 0)
    {
      q->tee_fd = -1;
      q->pend_len = 0;
      return;
    }
  q->teed += (uint64_t)n;
  if (buf == q->pend)
    memmove (q->pend, q->pend + n, len - (size_t)n);
  else if ((size_t)n < len)
    {
      q->pend = xrealloc (q->pend, len - (size_t)n);
      memcpy (q->pend, buf + n, len - (size_t)n);
    }
  q->pend_len = len - (size_t)n;
}

/* Read what fd `which` of request q has: the result into q->buf, the body on to out_fd (and
 * tee_fd).  At its end the fd is closed and set to -1.  For tee_fd: write what waits. */
static int
pump (struct proc_transport *p, struct proc_req *q, int *which, struct focker_err **err)
{
  char buf[65536];
  ssize_t got;

  if (which == &q->tee_fd)
    {
      tee_bytes (q, q->pend, q->pend_len);
      return 0;
    }
  got = sys_read (*which, buf, sizeof buf);

  if (got == -EINTR || got == -EAGAIN)
    return 0;
  if (got <= 0)
    {
      sys_close (*which);
      *which = -1;
      return 0;
    }
  if (which == &q->body_rd)
    {
      int r = write_all (q->out_fd, buf, (size_t)got);
      if (r == 0 && q->hash)
        {
          digest_update (q->hash, buf, (size_t)got);
          q->hashed += (uint64_t)got;
        }
      if (r == 0 && q->tee_fd >= 0)
        tee_bytes (q, buf, (size_t)got);
      if (r < 0)
        {
          /* the helper sees EPIPE and ends; finish() reports this */
          q->werr = r;
          q->pend_len = 0;
          sys_close (q->body_rd);
          q->body_rd = -1;
        }
      return 0;
    }
  if (q->len + (size_t)got > RESULT_MAX)
    return focker_fail (err, -EFBIG, "%s: answer too large", p->helper);
  q->buf = xrealloc (q->buf, q->len + (size_t)got);
  memcpy (q->buf + q->len, buf, (size_t)got);
  q->len += (size_t)got;
  return 0;
}

static int
proc_wait (struct reg_transport *t, int timeout_ms, struct reg_response *resp,
           struct focker_err **err)
{
  struct proc_transport *p = (struct proc_transport *)t;
  _cleanup_free_ struct pollfd *fds = xcalloc (3 * p->n + 1, sizeof *fds);
  _cleanup_free_ int **which = xcalloc (3 * p->n + 1, sizeof *which);
  _cleanup_free_ size_t *slots = xcalloc (3 * p->n + 1, sizeof *slots);
  long deadline = timeout_ms >= 0 ? now_ms () + timeout_ms : -1;
  int r;

  for (;;)
    {
      nfds_t n = 0;
      for (size_t i = 0; i < p->n; i++)
        {
          struct proc_req *q = &p->reqs[i];
          if (!q->used)
            continue;
          if (q->res_fd < 0 && q->body_rd < 0 && q->pend_len == 0)
            return finish (p, i, resp, err);
          /* while the tee has bytes to take, the body waits: it is read no faster than the
           * tee drains, and nothing is buffered beyond one read */
          int *f3[3] = { &q->res_fd, q->pend_len ? &q->tee_fd : &q->body_rd, NULL };
          for (int **f = f3; *f; f++)
            if (**f >= 0)
              {
                fds[n]
                    = (struct pollfd){ .fd = **f, .events = *f == &q->tee_fd ? POLLOUT : POLLIN };
                which[n] = *f;
                slots[n++] = i;
              }
        }
      if (n == 0)
        return focker_fail (err, -ECHILD, "%s: no request to wait for", p->helper);
      long left = deadline < 0 ? -1 : deadline - now_ms ();
      if (deadline >= 0 && left <= 0)
        return -ETIMEDOUT;
      r = sys_poll (fds, n, (int)left);
      if (r == -EINTR)
        continue;
      if (r < 0)
        return focker_fail (err, r, "%s: poll", p->helper);
      if (r == 0)
        return -ETIMEDOUT;
      for (nfds_t i = 0; i < n; i++)
        if (fds[i].revents && (r = pump (p, &p->reqs[slots[i]], which[i], err)) < 0)
          return r;
    }
}

static void
proc_cancel (struct reg_transport *t)
{
  struct proc_transport *p = (struct proc_transport *)t;
  pid_t *again;
  size_t n_again;

  for (size_t i = 0; i < p->n; i++)
    if (p->reqs[i].used)
      {
        siginfo_t info;
        sys_kill (p->reqs[i].pid, SIGKILL);
        if (p->reqs[i].res_fd >= 0)
          sys_close (p->reqs[i].res_fd);
        if (p->reqs[i].body_rd >= 0)
          sys_close (p->reqs[i].body_rd);
        (void)reap (p, p->reqs[i].pid, &info);
        free (p->reqs[i].buf);
        free (p->reqs[i].pend);
        p->reqs[i] = (struct proc_req){ 0 };
      }
  /* every helper whose wait failed, before or just now: once more (one that fails again is
   * kept for the next cancel) */
  again = TAKE_PTR (p->unreaped);
  n_again = p->n_unreaped;
  p->n_unreaped = 0;
  for (size_t i = 0; i < n_again; i++)
    kill_and_reap (p, again[i]);
  free (again);
}

struct reg_transport *
reg_proc_new (const char *helper)
{
  struct proc_transport *p = xcalloc (1, sizeof *p);

  p->t.start = proc_start;
  p->t.wait = proc_wait;
  p->t.cancel = proc_cancel;
  p->helper = xstrdup (helper);
  return &p->t;
}

void
reg_proc_free (struct reg_transport *t)
{
  struct proc_transport *p = (struct proc_transport *)t;

  if (p == NULL)
    return;
  while (p->n_spares > 0)
    spare_kill (p, &p->spares[--p->n_spares]);
  proc_cancel (t); /* after the spares: it retries every wait that failed */
  free (p->unreaped);
  free (p->reqs);
  free (p->helper);
  free (p);
}

int
reg_find_helper (char **out, const char *env, const char *self, const char *libexec,
                 struct focker_err **err)
{
  _cleanup_free_ char *next = NULL;
  struct stat st;

  if (env && *env)
    {
      if (sys_fstatat (AT_FDCWD, env, &st, 0) < 0 || !S_ISREG (st.st_mode))
        return focker_fail (err, -ENOENT, "registry helper %s (FOCKER_FETCH) not found", env);
      *out = xstrdup (env);
      return 0;
    }
  if (self && strrchr (self, '/'))
    {
      next = xasprintf ("%.*s/focker-fetch", (int)(strrchr (self, '/') - self), self);
      if (sys_fstatat (AT_FDCWD, next, &st, 0) == 0 && S_ISREG (st.st_mode))
        {
          *out = TAKE_PTR (next);
          return 0;
        }
    }
  if (sys_fstatat (AT_FDCWD, libexec, &st, 0) == 0 && S_ISREG (st.st_mode))
    {
      *out = xstrdup (libexec);
      return 0;
    }
  return focker_fail (err, -ENOENT,
                      "registry helper focker-fetch not found (looked in %s and %s; set "
                      "FOCKER_FETCH or install it)",
                      next ? next : "the binary's directory", libexec);
}
