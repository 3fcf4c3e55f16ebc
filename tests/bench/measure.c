/* measure.c: run each runtime's command(s) N times, interleaved, and report median/p90 wall
   time and median peak RSS per runtime, plus ratios of the first runtime to each other one.

   Built by tests/bench/bench.sh (cc -O2), standalone: no focker code, no libraries, so the
   harness cannot share a bug with the thing it measures.

   Why it is built this way:
   - Wall time is CLOCK_MONOTONIC taken immediately before fork and after wait4 of that one
     child; no shell sits between us and the runtime, so its cost is not counted.
   - Peak RSS is ru_maxrss from wait4 of the direct child (the runtime process).  Per wait4
     semantics this is the max over the runtime and the descendants it reaped itself (for
     `run` that includes its init stage before the exec of /bin/true), which is the same rule
     for every runtime.  getrusage (RUSAGE_CHILDREN) would be a running max over all runs
     and useless per run.
   - Runtimes are interleaved within each iteration, and the order is rotated every
     iteration (ABC, BCA, CAB, ...) so slow drift (page cache, thermal, other load) and
     "who goes after whom" effects land on every runtime equally.  Warm-up iterations are run
     the same way and discarded.
   - Every run's exit status is checked; one failing run aborts everything with the command
     and its captured output, since timings of failing runs are meaningless.  Children's
     stdout and stderr go to a memfd that is shown only on failure; stdin is /dev/null.
   - measure is a child subreaper and reaps strays after every run: a container started by
     `create`+`start` is orphaned when the runtime exits, and pid 1 here need not reap it.
     A process still ours when all runs are done (after a 1 s grace) was leaked by a
     runtime: measure names it, kills it, and fails.
   - -m FILE: unshare a private mount namespace once, at start, and bind /dev/null over FILE
     (the hybrid-host cgroup2 cgroup.controllers, which crun 1.8 refuses).  Doing it here,
     once, for all runtimes keeps the conditions identical and adds no per-run cost.

   Usage:
     measure [-n ITERS] [-w WARMUP] [-i IDPREFIX] [-m FILE]
             -r NAME -s LABEL=CMD [-s LABEL=CMD]... [-r NAME -s ...]...
   CMD is split on blanks (no quoting; keep paths free of spaces).  Every "@ID@" in it is
   replaced by a container id unique to (runtime, iteration), the same for all steps of one
   iteration, e.g. create, start, delete.  Exit status: 0 ok, 1 a run failed, 2 usage or
   setup error.  */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNTIMES 8
#define MAX_STEPS 8
#define ID_TOKEN "@ID@"

struct step
{
  char *label;
  char **argv; /* template, may hold ID_TOKEN */
  size_t argc;
  double *ms; /* per measured iteration */
  long *rss;  /* KiB */
};

struct runtime
{
  char *name;
  struct step steps[MAX_STEPS];
  size_t nsteps;
  double *total_ms; /* sum of the steps, per measured iteration */
  long *max_rss;    /* max over the steps, per measured iteration */
};

static struct runtime runtimes[MAX_RUNTIMES];
static size_t nruntimes;
static int out_fd = -1;

static void __attribute__ ((noreturn, format (printf, 2, 3))) die (int status, const char *fmt, ...)
{
  va_list ap;
  fputs ("measure: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (status);
}

static void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n, size);
  if (p == NULL)
    die (2, "out of memory");
  return p;
}

static char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    die (2, "out of memory");
  return p;
}

static long
parse_count (const char *s, const char *what, long min)
{
  char *end;
  errno = 0;
  long v = strtol (s, &end, 10);
  if (errno || end == s || *end || v < min || v > 100000)
    die (2, "bad %s: '%s'", what, s);
  return v;
}

/* Split CMD on blanks into a NULL-terminated vector.  */
static char **
split (const char *cmd, size_t *argc)
{
  char *copy = xstrdup (cmd);
  char **v = xcalloc (strlen (cmd) / 2 + 2, sizeof *v);
  size_t n = 0;
  for (char *save = NULL, *tok = strtok_r (copy, " \t\n", &save); tok;
       tok = strtok_r (NULL, " \t\n", &save))
    v[n++] = xstrdup (tok);
  free (copy);
  if (n == 0)
    die (2, "empty command");
  *argc = n;
  return v;
}

/* Copy of S with every ID_TOKEN replaced by ID.  */
static char *
substitute (const char *s, const char *id)
{
  size_t tl = strlen (ID_TOKEN), il = strlen (id), n = 0;
  for (const char *p = strstr (s, ID_TOKEN); p; p = strstr (p + tl, ID_TOKEN))
    n++;
  char *r = xcalloc (strlen (s) + n * il + 1, 1), *o = r;
  for (const char *p = s, *q; *p; p = q + tl)
    {
      q = strstr (p, ID_TOKEN);
      if (q == NULL)
        {
          strcpy (o, p);
          break;
        }
      memcpy (o, p, q - p);
      o += q - p;
      memcpy (o, id, il);
      o += il;
    }
  return r;
}

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
show_output (void)
{
  char buf[4096];
  ssize_t n;
  if (lseek (out_fd, 0, SEEK_SET) < 0)
    return;
  fputs ("---- its output ----\n", stderr);
  while ((n = read (out_fd, buf, sizeof buf)) > 0)
    fwrite (buf, 1, n, stderr);
  fputs ("--------------------\n", stderr);
}

/* Run ARGV once; return wall ms and peak RSS (KiB).  Aborts the benchmark if it fails.  */
static void
run_once (const struct runtime *rt, const struct step *st, char **argv, double *ms, long *rss)
{
  if (ftruncate (out_fd, 0) < 0 || lseek (out_fd, 0, SEEK_SET) < 0)
    die (2, "resetting the output buffer: %s", strerror (errno));
  fflush (NULL);

  double t0 = now_ms ();
  pid_t pid = fork ();
  if (pid < 0)
    die (2, "fork: %s", strerror (errno));
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null < 0 || dup2 (null, 0) < 0 || dup2 (out_fd, 1) < 0 || dup2 (out_fd, 2) < 0)
        _exit (126);
      execv (argv[0], argv);
      dprintf (2, "measure: exec %s: %s\n", argv[0], strerror (errno));
      _exit (127);
    }

  int status;
  struct rusage ru;
  pid_t r;
  while ((r = wait4 (pid, &status, 0, &ru)) < 0 && errno == EINTR)
    ;
  double t1 = now_ms ();
  if (r < 0)
    die (2, "wait4: %s", strerror (errno));

  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      fprintf (stderr, "measure: FAILED: %s %s:", rt->name, st->label);
      for (char **a = argv; *a; a++)
        fprintf (stderr, " %s", *a);
      if (WIFEXITED (status))
        fprintf (stderr, "\nmeasure: exited with status %d\n", WEXITSTATUS (status));
      else
        fprintf (stderr, "\nmeasure: killed by signal %d\n", WTERMSIG (status));
      show_output ();
      fprintf (stderr, "measure: a benchmark of failing runs is meaningless; stopping\n");
      exit (1);
    }
  *ms = t1 - t0;
  *rss = ru.ru_maxrss;

  /* Reap orphaned container processes that were reparented to us.  */
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Q-quantile of V[N]: the median interpolates between the middle two, other quantiles use
   the nearest rank.  */
static double
quantile (const double *v, size_t n, double q)
{
  double *s = xcalloc (n, sizeof *s);
  memcpy (s, v, n * sizeof *s);
  qsort (s, n, sizeof *s, cmp_double);
  double r;
  if (q == 0.5)
    r = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  else
    {
      size_t k = (size_t)ceil (q * n);
      r = s[k ? k - 1 : 0];
    }
  free (s);
  return r;
}

static double
median_rss (const long *v, size_t n)
{
  double *d = xcalloc (n, sizeof *d);
  for (size_t i = 0; i < n; i++)
    d[i] = v[i];
  double r = quantile (d, n, 0.5);
  free (d);
  return r;
}

/* Kill and reap whatever is still our child (reparented container processes).  Returns how
   many there were.  */
static int
reap_leftovers (void)
{
  struct timespec tick = { 0, 10 * 1000 * 1000 };
  int left = 0;

  for (int i = 0; i < 100; i++) /* 1 s for the runtimes' own kills to land */
    {
      pid_t r;
      while ((r = waitpid (-1, NULL, WNOHANG)) > 0)
        ;
      if (r < 0)
        return 0; /* ECHILD: none left */
      nanosleep (&tick, NULL);
    }

  DIR *d = opendir ("/proc");
  struct dirent *e;
  while (d && (e = readdir (d)))
    {
      char path[300], buf[512], comm[64] = "?";
      int ppid = -1;
      if (e->d_name[0] < '0' || e->d_name[0] > '9')
        continue;
      snprintf (path, sizeof path, "/proc/%s/stat", e->d_name);
      FILE *f = fopen (path, "re");
      if (f == NULL)
        continue;
      if (fgets (buf, sizeof buf, f))
        {
          char *rp = strrchr (buf, ')'), *lp = strchr (buf, '(');
          if (lp && rp && rp > lp)
            {
              snprintf (comm, sizeof comm, "%.*s", (int)(rp - lp - 1), lp + 1);
              sscanf (rp + 1, " %*c %d", &ppid);
            }
        }
      fclose (f);
      if (ppid != getpid ())
        continue;
      fprintf (stderr, "measure: LEAKED by a runtime: pid %s (%s); killing it\n", e->d_name, comm);
      kill (atoi (e->d_name), SIGKILL);
      left++;
    }
  if (d)
    closedir (d);
  while (waitpid (-1, NULL, 0) > 0)
    ;
  return left;
}

static void
hide_file (const char *path)
{
  if (unshare (CLONE_NEWNS) < 0)
    die (2, "unshare(CLONE_NEWNS): %s (need root)", strerror (errno));
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    die (2, "making / private: %s", strerror (errno));
  if (mount ("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    die (2, "bind /dev/null over %s: %s", path, strerror (errno));
}

static void
report (size_t iters)
{
  int multi = 0;
  for (size_t r = 0; r < nruntimes; r++)
    multi |= runtimes[r].nsteps > 1;

  if (!multi)
    {
      printf ("%-8s %10s %8s %13s\n", "runtime", "median_ms", "p90_ms", "peak_rss_kib");
      for (size_t r = 0; r < nruntimes; r++)
        {
          struct runtime *rt = &runtimes[r];
          printf ("%-8s %10.2f %8.2f %13.0f\n", rt->name, quantile (rt->total_ms, iters, 0.5),
                  quantile (rt->total_ms, iters, 0.9), median_rss (rt->max_rss, iters));
        }
    }
  else
    {
      printf ("%-8s %-8s %10s %8s %13s\n", "runtime", "step", "median_ms", "p90_ms",
              "peak_rss_kib");
      for (size_t r = 0; r < nruntimes; r++)
        {
          struct runtime *rt = &runtimes[r];
          for (size_t s = 0; s < rt->nsteps; s++)
            {
              struct step *st = &rt->steps[s];
              printf ("%-8s %-8s %10.2f %8.2f %13.0f\n", rt->name, st->label,
                      quantile (st->ms, iters, 0.5), quantile (st->ms, iters, 0.9),
                      median_rss (st->rss, iters));
            }
          printf ("%-8s %-8s %10.2f %8.2f %13.0f\n", rt->name, "total",
                  quantile (rt->total_ms, iters, 0.5), quantile (rt->total_ms, iters, 0.9),
                  median_rss (rt->max_rss, iters));
        }
    }

  struct runtime *a = &runtimes[0];
  for (size_t r = 1; r < nruntimes; r++)
    {
      struct runtime *b = &runtimes[r];
      printf ("ratio %s/%s time %.2f  rss %.2f\n", a->name, b->name,
              quantile (a->total_ms, iters, 0.5) / quantile (b->total_ms, iters, 0.5),
              median_rss (a->max_rss, iters) / median_rss (b->max_rss, iters));
    }
}

int
main (int argc, char **argv)
{
  long iters = 30, warmup = 3;
  const char *prefix = NULL, *hide = NULL;
  char idbuf[64];
  int opt;

  while ((opt = getopt (argc, argv, "+n:w:i:m:r:s:")) != -1)
    switch (opt)
      {
      case 'n':
        iters = parse_count (optarg, "iteration count", 1);
        break;
      case 'w':
        warmup = parse_count (optarg, "warm-up count", 0);
        break;
      case 'i':
        prefix = optarg;
        break;
      case 'm':
        hide = optarg;
        break;
      case 'r':
        if (nruntimes == MAX_RUNTIMES)
          die (2, "too many runtimes");
        runtimes[nruntimes++].name = optarg;
        break;
      case 's':
        {
          struct runtime *rt = nruntimes ? &runtimes[nruntimes - 1] : NULL;
          char *eq = strchr (optarg, '=');
          if (rt == NULL)
            die (2, "-s before any -r");
          if (rt->nsteps == MAX_STEPS)
            die (2, "too many steps for %s", rt->name);
          if (eq == NULL || eq == optarg)
            die (2, "-s wants LABEL=CMD, got '%s'", optarg);
          struct step *st = &rt->steps[rt->nsteps++];
          st->label = strndup (optarg, eq - optarg);
          st->argv = split (eq + 1, &st->argc);
          if (st->argv[0][0] != '/')
            die (2, "%s: give the program as an absolute path", st->argv[0]);
          break;
        }
      default:
        die (2, "usage: measure [-n ITERS] [-w WARMUP] [-i IDPREFIX] [-m FILE] "
                "-r NAME -s LABEL=CMD [-s LABEL=CMD]... [-r NAME ...]...");
      }
  if (optind != argc || nruntimes == 0)
    die (2, "usage: measure [-n ITERS] [-w WARMUP] [-i IDPREFIX] [-m FILE] "
            "-r NAME -s LABEL=CMD [-s LABEL=CMD]... [-r NAME ...]...");
  for (size_t r = 0; r < nruntimes; r++)
    if (runtimes[r].nsteps == 0)
      die (2, "runtime %s has no -s step", runtimes[r].name);
  if (prefix == NULL)
    {
      snprintf (idbuf, sizeof idbuf, "measure-%ld-", (long)getpid ());
      prefix = idbuf;
    }

  out_fd = memfd_create ("measure-output", MFD_CLOEXEC);
  if (out_fd < 0)
    die (2, "memfd_create: %s", strerror (errno));
  if (hide)
    hide_file (hide);
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    die (2, "PR_SET_CHILD_SUBREAPER: %s", strerror (errno));

  for (size_t r = 0; r < nruntimes; r++)
    {
      struct runtime *rt = &runtimes[r];
      rt->total_ms = xcalloc (iters, sizeof *rt->total_ms);
      rt->max_rss = xcalloc (iters, sizeof *rt->max_rss);
      for (size_t s = 0; s < rt->nsteps; s++)
        {
          rt->steps[s].ms = xcalloc (iters, sizeof (double));
          rt->steps[s].rss = xcalloc (iters, sizeof (long));
        }
    }

  for (long it = 0; it < warmup + iters; it++)
    for (size_t k = 0; k < nruntimes; k++)
      {
        size_t r = (k + it) % nruntimes; /* rotate the order every iteration */
        struct runtime *rt = &runtimes[r];
        char id[256];
        double total = 0;
        long maxrss = 0;

        if (it < warmup)
          snprintf (id, sizeof id, "%s%s-w%ld", prefix, rt->name, it);
        else
          snprintf (id, sizeof id, "%s%s-%ld", prefix, rt->name, it - warmup);
        for (size_t s = 0; s < rt->nsteps; s++)
          {
            struct step *st = &rt->steps[s];
            char **v = xcalloc (st->argc + 1, sizeof *v);
            double ms;
            long rss;
            for (size_t i = 0; i < st->argc; i++)
              v[i] = substitute (st->argv[i], id);
            run_once (rt, st, v, &ms, &rss);
            for (size_t i = 0; i < st->argc; i++)
              free (v[i]);
            free (v);
            total += ms;
            if (rss > maxrss)
              maxrss = rss;
            if (it >= warmup)
              {
                st->ms[it - warmup] = ms;
                st->rss[it - warmup] = rss;
              }
          }
        if (it >= warmup)
          {
            rt->total_ms[it - warmup] = total;
            rt->max_rss[it - warmup] = maxrss;
          }
      }

  report (iters);
  if (reap_leftovers ())
    {
      fprintf (stderr, "measure: runtimes left processes behind; failing\n");
      return 1;
    }
  return 0;
}
