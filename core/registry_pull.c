/* registry_pull.c: fetching blobs, several at once (see registry.h).
 *
 * Each blob is a job: its lock locks/pull-<hex> is taken before any transfer, every job's in
 * digest order (see lock_jobs); skip it if the store has it, open (or reopen,
 * to resume) blobs/.tmp-pull-<hex>, GET it from the size already there (HTTP Range), and
 * when the file holds as many bytes as the descriptor says, hand it to the store's verifying
 * writer (sha256 checked, then renamed to its digest).  A transfer cut off is resumed from
 * where it stopped, up to MAX_ATTEMPTS times (from the start where the server ignores ranges).  A
 * 401 while fetches run (a token expired) stops new starts until the running ones end, then
 * authenticates once. */
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/fsutil.h"
#include "core/layer_stream.h"
#include "core/registry_internal.h"

#define MAX_ATTEMPTS 5

enum job_state
{
  JOB_PENDING,
  JOB_RUNNING,
  JOB_DONE
};

struct job
{
  char digest[DIGEST_LEN + 1];
  uint64_t size;
  enum job_state state;
  int lockfd, fd, handle, attempts;
  bool ranged;      /* the request running asked for a range */
  struct digest *d; /* the temporary's content so far, hashed as it was written */
  uint64_t hashed;  /* bytes fed to d (== the file's size when nothing was missed) */
  char *tmp;        /* blobs/.tmp-pull-<hex> once opened */
  bool verified;    /* downloaded and checked: w holds it, unnamed, until the batch commit */
  struct blob_writer w;
  bool layer;              /* a layer blob (not the config): unpacked as it downloads */
  bool whole;              /* verified, and fed whole to the unpacker */
  struct layer_stream *ls; /* its unpacker, fed through `feed` */
  int feed;                /* -1 once the blob is complete (or the stream dropped) */
  uint64_t teed;           /* bytes fed to it: the whole blob, or the stream is useless */
};

/* Stop feeding the unpacker (it sees the end of the blob). */
static void
job_feed_end (struct job *j)
{
  if (j->feed >= 0)
    sys_close (j->feed);
  j->feed = -1;
}

/* The unpacker cannot get the blob whole (a download started over, or it stopped reading):
 * stop it now; the layer is unpacked from the blob after the download. */
static void
job_stream_drop (struct job *j)
{
  job_feed_end (j);
  layer_stream_abort (TAKE_PTR (j->ls));
}

static void
job_release (struct session *x, struct job *j, bool remove)
{
  if (j->verified)
    blob_abort (&j->w);
  j->verified = false;
  if (j->fd >= 0)
    sys_close (j->fd);
  if (remove && j->tmp)
    sys_unlinkat (x->s->fd, j->tmp, 0);
  if (j->lockfd >= 0)
    sys_close (j->lockfd);
  free (j->tmp);
  j->tmp = NULL;
  j->fd = j->lockfd = -1;
  digest_free (j->d);
  j->d = NULL;
  j->hashed = 0;
}

static void
progress (struct session *x, struct job *j, int what, uint64_t done)
{
  struct reg_progress p = { .digest = j->digest, .done = done, .total = j->size, .what = what };

  if (x->o->progress)
    x->o->progress (x->o->progress_arg, &p);
}

static int
file_size (int fd, uint64_t *size)
{
  struct stat st;
  int r = sys_fstatat (fd, "", &st, AT_EMPTY_PATH);

  if (r == 0)
    *size = (uint64_t)st.st_size;
  return r;
}

/* Verify the complete download; it is named in commit_verified, after every download. */
static int
job_verify (struct session *x, struct job *j, struct focker_err **err)
{
  char got[DIGEST_LEN + 1];
  int r;

  sys_close (j->fd);
  j->fd = -1;
  job_feed_end (j);
  /* hashed as it came: no second read, unless some bytes were not (a failed write) */
  if (j->d && j->hashed == j->size)
    r = blob_adopt_hashed (&j->w, x->s, j->tmp, TAKE_PTR (j->d), j->size, err);
  else
    r = blob_adopt (&j->w, x->s, j->tmp, err);
  if (r < 0)
    return r;
  free (TAKE_PTR (j->tmp)); /* the writer owns the file now: commit renames or abort removes it */
  r = blob_check (&j->w, j->digest, got, err);
  if (r < 0)
    return r;
  j->verified = true;
  j->state = JOB_DONE;
  progress (x, j, REG_PROGRESS_DONE, j->size);
  return 0;
}

/* List in the store's record, in one write and one fsync, every name the pull is about to
 * make: the verified blobs and, from the config among them, the layers' diff-ids (the
 * manifest's digest the caller added).  A config that cannot be read here lists nothing:
 * each layer is then listed, with an fsync of its own, when it is named. */
static int
cover_verified (struct session *x, struct job *jobs, size_t n, struct focker_err **err)
{
  bool any = false;

  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *text = NULL;
      _cleanup_json_ json_t *cfg = NULL;
      struct focker_err *e2 = NULL;
      json_t *d;
      size_t len, k;
      if (!jobs[i].verified)
        continue;
      any = true;
      store_intent_add (x->s, 'B', jobs[i].digest);
      if (jobs[i].layer || read_file_at (&text, &len, x->s->fd, jobs[i].w.tmp, 1 << 22, &e2) < 0)
        {
          focker_err_free (e2);
          continue;
        }
      cfg = json_loadb (text, len, 0, NULL);
      json_array_foreach (json_object_get (json_object_get (cfg, "rootfs"), "diff_ids"), k, d)
      {
        if (json_is_string (d))
          store_intent_add (x->s, 'L', json_string_value (d));
      }
    }
  /* nothing fetched (the image is here): no record, unless the manifest is named */
  return any ? store_intent_sync (x->s, err) : 0;
}

/* Name the verified downloads, in a row after every transfer has ended, once the names are
 * listed in the store's durable record (no fsync of the data: see store_intent.c).  Each
 * blob's lock is held until its name exists, so nobody else writes its temporary meanwhile
 * (a streamed layer's until the layer is named too: see pull_stream).  After a failure the
 * blobs verified so far are still named, as `load` keeps what it verified. */
static int
commit_verified (struct session *x, struct job *jobs, size_t n, int r, struct focker_err **err)
{
  struct focker_err *e1 = NULL;
  int c = cover_verified (x, jobs, n, r < 0 ? &e1 : err);

  focker_err_free (e1);
  if (r == 0 && c < 0)
    r = c;
  for (size_t i = 0; i < n; i++)
    if (jobs[i].verified)
      {
        struct focker_err *e2 = NULL;
        char got[DIGEST_LEN + 1];

        jobs[i].verified = false; /* blob_commit releases the writer, whatever happens */
        c = blob_commit (&jobs[i].w, jobs[i].digest, got, r < 0 ? &e2 : err);
        focker_err_free (e2);
        if (r == 0 && c < 0)
          r = c;
      }
  return r;
}

/* Open the job's temporary: a new one, or what a killed pull left, to resume. */
static int
job_open (struct session *x, struct job *j, uint64_t *have, struct focker_err **err)
{
  int r;

  if (store_blob_exists (x->s, j->digest))
    {
      job_release (x, j, false);
      j->state = JOB_DONE;
      progress (x, j, REG_PROGRESS_EXISTS, j->size);
      return 0;
    }
  if (j->tmp == NULL)
    j->tmp = xasprintf ("blobs/.tmp-pull-%s", DIGEST_HEX (j->digest));
  if (j->fd >= 0 && (r = file_size (j->fd, have)) < 0)
    return focker_fail (err, r, "stat %s/%s", x->s->root, j->tmp);
  for (int again = 0; j->fd < 0; again++)
    {
      j->fd = sys_openat (x->s->fd, j->tmp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                          0644);
      if (j->fd < 0)
        return focker_fail (err, j->fd, "create %s/%s", x->s->root, j->tmp);
      r = file_size (j->fd, have);
      if (r < 0)
        return focker_fail (err, r, "stat %s/%s", x->s->root, j->tmp);
      if (*have > j->size && again == 0)
        {
          /* more than the blob has: not a prefix of it; start over */
          sys_close (j->fd);
          j->fd = -1;
          r = sys_unlinkat (x->s->fd, j->tmp, 0);
          if (r < 0)
            return focker_fail (err, r, "remove %s/%s", x->s->root, j->tmp);
        }
    }
  if (j->d == NULL)
    {
      /* a resumed file: its prefix first */
      _cleanup_close_ int rfd = sys_openat (x->s->fd, j->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
      _cleanup_free_ char *buf = xmalloc (64 * 1024);
      ssize_t n = 0;
      if (rfd < 0)
        return focker_fail (err, rfd, "open %s/%s", x->s->root, j->tmp);
      j->d = digest_new ();
      j->hashed = 0;
      while (j->hashed < *have && (n = sys_read (rfd, buf, 64 * 1024)) > 0)
        {
          size_t take = (uint64_t)n > *have - j->hashed ? (size_t)(*have - j->hashed) : (size_t)n;
          digest_update (j->d, buf, take);
          j->hashed += take;
        }
      if (n < 0)
        return focker_fail (err, (int)n, "read %s/%s", x->s->root, j->tmp);
    }
  return 1;
}

static int
job_start (struct session *x, struct job *j, struct focker_err **err)
{
  _cleanup_free_ char *url = NULL;
  uint64_t have = 0;
  char *headers[2];
  int r;

  r = job_open (x, j, &have, err);
  if (r <= 0)
    return r;
  if (have == j->size)
    return job_verify (x, j, err);
  if (j->attempts == 0)
    progress (x, j, REG_PROGRESS_START, have);
  if (j->layer && j->attempts == 0 && have == 0 && j->ls == NULL)
    {
      r = layer_stream_begin (&j->ls, x->s, &j->feed, err);
      if (r < 0)
        return r;
    }
  if (j->ls && j->teed != have)
    job_stream_drop (j); /* a resumed download the unpacker did not see all of */
  url = xasprintf ("%s/v2/%s/blobs/%s", x->base, x->ref.repo, j->digest);
  session_headers (x, url, headers, 2, NULL);
  struct reg_request rq = { .method = "GET",
                            .url = url,
                            .headers = headers,
                            .body_fd = -1,
                            .out_fd = j->fd,
                            .range_from = have,
                            .hash = j->d,
                            .tee_fd = j->feed,
                            .tls_verify = x->o->tls_verify,
                            .tls = session_tls (x, url),
                            .spares = true };
  j->handle = x->o->t->start (x->o->t, &rq, err);
  if (j->handle < 0)
    return j->handle;
  j->state = JOB_RUNNING;
  j->ranged = have > 0;
  j->attempts++;
  return 0;
}

/* A job's request ended. */
static int
job_end (struct session *x, struct job *j, struct reg_response *resp, struct focker_err **err)
{
  uint64_t have = 0;
  int r;

  j->state = JOB_PENDING;
  j->hashed += resp->hashed;
  j->teed += resp->teed;
  if (resp->status == 401)
    {
      if (x->challenge == NULL)
        {
          const char *c = reg_response_header (resp, "www-authenticate");
          x->challenge = xstrdup (c ? c : "");
        }
      j->attempts--;
      return 0;
    }
  if (resp->status == 416 || (resp->status == 200 && j->ranged))
    {
      /* the range we asked for is past the end (what we have is not this blob's prefix), or
       * the server ignores ranges: start over */
      r = sys_unlinkat (x->s->fd, j->tmp, 0);
      sys_close (j->fd);
      j->fd = -1;
      digest_free (TAKE_PTR (j->d));
      j->hashed = 0;
      job_stream_drop (j);
      if (r < 0)
        return focker_fail (err, r, "remove %s/%s", x->s->root, j->tmp);
    }
  else if (resp->status != 0 && resp->status != 200 && resp->status != 206)
    return session_fail_status (x, resp, err, j->digest);
  else
    {
      r = file_size (j->fd, &have);
      if (r < 0)
        return focker_fail (err, r, "stat %s/%s", x->s->root, j->tmp);
      if (have > j->size)
        return focker_fail (err, -EINVAL,
                            "%s: blob %s: more than the %llu bytes its descriptor "
                            "gives",
                            x->ref.registry, j->digest, (unsigned long long)j->size);
      if (have == j->size)
        return job_verify (x, j, err);
    }
  if (j->attempts >= MAX_ATTEMPTS)
    return focker_fail (err, -EIO, "%s: blob %s: cut off at %llu of %llu bytes, %d times: %s",
                        x->ref.registry, j->digest, (unsigned long long)have,
                        (unsigned long long)j->size, j->attempts,
                        resp->error ? resp->error : "short answer");
  return 0; /* pending again: resumed from `have` */
}

static void
report_bytes (struct session *x, struct job *jobs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      uint64_t have;
      if (jobs[i].state == JOB_RUNNING && file_size (jobs[i].fd, &have) == 0)
        progress (x, &jobs[i], REG_PROGRESS_BYTES, have);
    }
}

static int
run_jobs (struct session *x, struct job *jobs, size_t n, struct focker_err **err)
{
  for (;;)
    {
      size_t running = 0, pending = 0;
      int r;

      for (size_t i = 0; i < n; i++)
        running += jobs[i].state == JOB_RUNNING;
      if (x->challenge && running == 0)
        {
          struct reg_response fake = { .status = 401 };
          _cleanup_free_ char *c = TAKE_PTR (x->challenge);
          char *hdr[2] = { xasprintf ("www-authenticate: %s", c), NULL };
          bool retry;
          fake.headers = hdr;
          r = session_note_answer (x, &fake, &retry, err);
          free (hdr[0]);
          if (r < 0)
            return r;
        }
      for (size_t i = 0; i < n && !x->challenge; i++)
        if (jobs[i].state == JOB_PENDING && running < x->parallel)
          {
            r = job_start (x, &jobs[i], err);
            if (r < 0)
              return r;
            running += jobs[i].state == JOB_RUNNING;
          }
      for (size_t i = 0; i < n; i++)
        pending += jobs[i].state != JOB_DONE;
      if (pending == 0)
        return 0;
      if (running == 0)
        continue;
      struct reg_response resp = { 0 };
      int h = x->o->t->wait (x->o->t, x->o->progress_ms ? x->o->progress_ms : 200, &resp, err);
      if (h == -ETIMEDOUT)
        {
          report_bytes (x, jobs, n);
          continue;
        }
      if (h < 0)
        return h;
      r = -ESRCH;
      for (size_t i = 0; i < n; i++)
        if (jobs[i].state == JOB_RUNNING && jobs[i].handle == h)
          r = job_end (x, &jobs[i], &resp, err);
      reg_response_free (&resp);
      if (r == -ESRCH)
        return focker_fail (err, -EIO, "registry transport: an unknown request ended");
      if (r < 0)
        return r;
    }
}

static int
add_job (struct job **jobs, size_t *n, json_t *desc, const char *what, bool layer,
         struct focker_err **err)
{
  const char *d = json_string_value (json_object_get (desc, "digest"));
  json_t *size = json_object_get (desc, "size");

  if (!digest_valid (d) || !json_is_integer (size) || json_integer_value (size) < 0)
    return focker_fail (err, -EINVAL, "manifest: %s: no sha256 digest or size", what);
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*jobs)[i].digest, d) == 0)
      return 0; /* one blob used twice: fetched once (a second lock would wait for us) */
  *jobs = xrealloc (*jobs, (*n + 1) * sizeof **jobs);
  struct job *j = &(*jobs)[(*n)++];
  memset (j, 0, sizeof *j);
  memcpy (j->digest, d, DIGEST_LEN + 1);
  j->size = (uint64_t)json_integer_value (size);
  j->fd = j->lockfd = j->handle = j->w.fd = j->feed = -1;
  j->layer = layer;
  return 0;
}

static int
job_cmp (const void *a, const void *b)
{
  return strcmp ((*(struct job *const *)a)->digest, (*(struct job *const *)b)->digest);
}

/* Lock every blob's pull-<hex>, in one global order (by digest), before any transfer.  A
 * pull keeps its locks until its blobs (and streamed layers) are named, so one that waited
 * for a lock while holding another in its manifest's order could wait forever on a pull of
 * an image listing the same two blobs the other way round.  In digest order the holder of
 * the lowest contended lock never waits on a pull that waits on it. */
static int
lock_jobs (struct session *x, struct job *jobs, size_t n, struct focker_err **err)
{
  _cleanup_free_ struct job **order = xmalloc ((n ? n : 1) * sizeof *order);

  for (size_t i = 0; i < n; i++)
    order[i] = &jobs[i];
  qsort (order, n, sizeof *order, job_cmp);
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *lock = xasprintf ("pull-%s", DIGEST_HEX (order[i]->digest));
      order[i]->lockfd = store_lock (x->s, lock, LOCK_EX, err);
      if (order[i]->lockfd < 0)
        return order[i]->lockfd;
    }
  return 0;
}

int
pull_blobs (struct session *x, void *manifest, struct pull_stream **streams, size_t *n_streams,
            struct focker_err **err)
{
  json_t *man = manifest, *layers = json_object_get (man, "layers"), *l;
  struct job *jobs = NULL;
  size_t n = 0, i;
  int r;

  *streams = NULL;
  *n_streams = 0;
  r = add_job (&jobs, &n, json_object_get (man, "config"), "config", false, err);
  if (r == 0 && !json_is_array (layers))
    r = focker_fail (err, -EINVAL, "manifest: no layers");
  json_array_foreach (layers, i, l)
  {
    if (r == 0)
      {
        char what[32];
        snprintf (what, sizeof what, "layers[%zu]", i);
        r = add_job (&jobs, &n, l, what, true, err);
      }
  }
  if (r == 0)
    r = lock_jobs (x, jobs, n, err);
  if (r == 0)
    r = run_jobs (x, jobs, n, err);
  if (r < 0)
    x->o->t->cancel (x->o->t);
  /* the unpackers go on while the blobs are made durable */
  for (i = 0; i < n; i++)
    jobs[i].whole = jobs[i].verified && jobs[i].teed == jobs[i].size;
  r = commit_verified (x, jobs, n, r, err);
  for (i = 0; i < n; i++)
    {
      if (jobs[i].ls && r == 0)
        {
          *streams = xrealloc (*streams, (*n_streams + 1) * sizeof **streams);
          struct pull_stream *ps = &(*streams)[(*n_streams)++];
          memcpy (ps->blob, jobs[i].digest, DIGEST_LEN + 1);
          ps->ls = TAKE_PTR (jobs[i].ls);
          ps->whole = jobs[i].whole;
          ps->lockfd = TAKE_FD (jobs[i].lockfd);
        }
      job_stream_drop (&jobs[i]);
      job_release (x, &jobs[i], true);
    }
  free (jobs);
  return r;
}