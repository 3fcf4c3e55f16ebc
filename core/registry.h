/* registry.h: the OCI distribution API client: pull and push.
 *
 * All the logic lives here (references, manifests and indexes, platform choice, auth
 * challenges and tokens, verification, resuming, parallel fetches); the HTTP transfer itself
 * is behind `struct reg_transport`: the real one runs the focker-fetch helper (fetch_proc.c,
 * one process per request), the unit tests script a registry in memory.
 *
 * Blobs are fetched into blobs/.tmp-pull-<hex> (under locks/pull-<hex>, so two pulls of one
 * blob do not write one file), appended to with HTTP Range when a transfer is cut off, and
 * handed to the store's verifying blob writer: size and sha256 must match the descriptor
 * before the blob gets its final name.  A failed pull removes its temporaries; one killed
 * leaves its partial files, which the next pull of the same blob resumes (and gc removes). */
#ifndef FOCKER_REGISTRY_H
#define FOCKER_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include "core/digest.h"
#include "core/err.h"
#include "core/store.h"

/* ---- references ---- */

struct reg_ref
{
  char *registry; /* as written, "docker.io" by default: the name's prefix in the store */
  char *host;     /* where to connect: "registry-1.docker.io" for docker.io */
  char *repo;     /* "library/busybox" */
  char *tag;      /* NULL when pulled by digest only */
  char *digest;   /* "sha256:<hex>" or NULL */
};

/* REGISTRY/NAME[:TAG|@DIGEST], docker's rules: the first component is a registry if it has
 * a '.' or ':' or is "localhost", else the registry is docker.io (and a one-component name
 * gets "library/"); the tag defaults to "latest" unless a digest is given. */
int reg_ref_parse (struct reg_ref *out, const char *s, struct focker_err **err);
void reg_ref_free (struct reg_ref *r);
/* The store name: "REGISTRY/REPO:TAG", or "REGISTRY/REPO@DIGEST" (malloc'd). */
char *reg_ref_store_name (const struct reg_ref *r);
/* May this registry be reached over plain HTTP?  localhost, 127.0.0.1 and [::1] (any port),
 * as podman decides; anything else only with --tls-verify=false. */
bool reg_host_is_local (const char *host);

/* ---- platforms ---- */

struct reg_platform
{
  char os[32], arch[32], variant[32]; /* variant "" when not given */
};

/* "OS/ARCH[/VARIANT]"; NULL or "" means this host (linux/<arch of this build>). */
int reg_platform_parse (struct reg_platform *out, const char *s, struct focker_err **err);
/* The index of the manifest in an index's "manifests" array (a json_t * array) that fits
 * `want`: os and architecture equal, the variant equal when `want` names one (otherwise the
 * arch's usual one, v8 for arm64 and v7 for arm, is preferred, any accepted).  -ENOENT when
 * none fits. */
int reg_platform_select (const void *manifests, const struct reg_platform *want);

/* ---- auth ---- */

struct reg_challenge
{
  char scheme[16]; /* "basic" or "bearer", lower case */
  char *realm, *service, *scope;
};

/* Parse a WWW-Authenticate value: SCHEME [k=v|k="quoted", ...].  -EINVAL for a malformed
 * one or a scheme other than Basic and Bearer; a Bearer challenge needs an https or http
 * realm. */
int reg_challenge_parse (struct reg_challenge *out, const char *header, struct focker_err **err);
void reg_challenge_free (struct reg_challenge *c);

/* Credentials for `registry` from a docker-style auth file: {"auths": {"REGISTRY":
 * {"auth": base64("USER:PASS")}}} (keys may also be "https://REGISTRY" or docker.io's
 * "https://index.docker.io/v1/").  0 with *user and *pass malloc'd, -ENOENT if the file or
 * the entry is absent. */
int reg_creds_from_file (char **user, char **pass, const char *path, const char *registry,
                         struct focker_err **err);

/* ---- the transport ---- */

/* What a request trusts and presents in TLS (all NULL: the system's CAs, no client
 * certificate). */
struct reg_tls
{
  const char *ca_pem;   /* PEM certificates trusted instead of the system's CAs */
  const char *cert_pem; /* a client certificate (PEM), presented with key_pem */
  const char *key_pem;  /* its private key (PEM): goes to the helper's stdin only */
};

struct reg_request
{
  const char *method, *url;
  char *const *headers; /* "Name: value", NULL-terminated, may be NULL */
  const char *body;     /* a small request body (a manifest), or NULL */
  int body_fd;          /* -1, or an fd the request body (body_size bytes) is read from */
  uint64_t body_size;
  int out_fd;          /* -1: the response body comes back in memory; else a 200/206 body
                          is appended to it (a 200 to a range request: nothing, and an
                          error: the caller starts over) */
  uint64_t range_from; /* > 0: ask for bytes range_from- */
  struct digest *hash; /* with out_fd: the body bytes written there are also fed to it */
  int tee_fd;          /* -1, or (with out_fd) a pipe, O_NONBLOCK, that gets every body byte
                          written to out_fd too, in order; the body is read no faster than
                          it drains.  A tee_fd that fails (EPIPE: its reader is gone) is
                          dropped and the transfer goes on without it */
  bool tls_verify;
  struct reg_tls tls;
  bool spares; /* a hint: more requests usually follow (helpers may start ahead) */
};

struct reg_response
{
  int status;     /* 0: no HTTP answer */
  char **headers; /* "name: value", names lower case */
  char *body;     /* the body when out_fd was -1 (NUL-terminated) */
  size_t body_len;
  char *error;     /* the transfer failed (no answer, or the body was cut off) */
  uint64_t hashed; /* how many body bytes were fed to the request's hash */
  uint64_t teed;   /* how many went to its tee_fd */
};

void reg_response_free (struct reg_response *r);
/* A header's value (name in lower case), or NULL. */
const char *reg_response_header (const struct reg_response *r, const char *name);

struct reg_transport
{
  /* Start a request: a handle >= 0, or a negative errno. */
  int (*start) (struct reg_transport *t, const struct reg_request *rq, struct focker_err **err);
  /* Wait up to timeout_ms (-1: no limit) for one started request to end: its handle and
   * *resp, -ETIMEDOUT when none ended in time, another negative errno on failure. */
  int (*wait) (struct reg_transport *t, int timeout_ms, struct reg_response *resp,
               struct focker_err **err);
  /* Stop and forget every started request. */
  void (*cancel) (struct reg_transport *t);
};

/* The real transport: each request runs `helper` (focker-fetch) in a child process (as
 * nobody when focker runs as root), its request on a pipe.  Free with reg_proc_free. */
struct reg_transport *reg_proc_new (const char *helper);
void reg_proc_free (struct reg_transport *t);
/* Where focker-fetch is: `env` ($FOCKER_FETCH) if set, else next to `self` (the running
 * binary), else `libexec`.  -ENOENT with an error naming the paths tried. */
int reg_find_helper (char **out, const char *env, const char *self, const char *libexec,
                     struct focker_err **err);

/* ---- pull and push ---- */

struct reg_progress
{
  const char *digest; /* a blob */
  uint64_t done, total;
  enum
  {
    REG_PROGRESS_START,
    REG_PROGRESS_BYTES,
    REG_PROGRESS_EXISTS,
    REG_PROGRESS_DONE
  } what;
};

/* Where a registry's CA certificates (*.crt) and client certificate (NAME.cert with its
 * NAME.key) are looked for without --cert-dir, as podman and skopeo look: REG_CERTS_D/HOST[:PORT].
 */
#define REG_CERTS_D "/etc/containers/certs.d"

struct reg_opts
{
  struct reg_transport *t;
  const char *user, *pass; /* credentials, or NULL */
  const char *platform;    /* pull: "OS/ARCH[/VARIANT]" or NULL for this host */
  bool tls_verify;         /* false: no certificate checks, plain HTTP allowed */
  const char *cert_dir;    /* its *.crt are the registry's CAs, NAME.cert and NAME.key its
                              client certificate; NULL: REG_CERTS_D/HOST[:PORT] */
  unsigned parallel;       /* blobs fetched at once (0: 3) */
  int progress_ms;         /* how often `progress` gets byte counts (0: 200) */
  void (*progress) (void *arg, const struct reg_progress *p);
  void *progress_arg;
};

/* `focker pull REF`: fetch the manifest (choosing from an index by platform), the config and
 * the layers not in the store yet, verify each, unpack the layers, and name the image
 * (*name: the store name, malloc'd; *id: the config digest). */
int registry_pull (struct store *s, const char *ref, const struct reg_opts *o, char **name,
                   char id[DIGEST_LEN + 1], struct focker_err **err);

/* `focker push IMAGE DEST`: upload the blobs the registry lacks, then the manifest under
 * DEST's tag.  *digest gets the manifest's digest. */
int registry_push (struct store *s, const char *image, const char *dest, const struct reg_opts *o,
                   char digest[DIGEST_LEN + 1], struct focker_err **err);

#endif
