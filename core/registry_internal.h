/* registry_internal.h: what registry.c, registry_pull.c and registry_push.c share. */
#ifndef FOCKER_REGISTRY_INTERNAL_H
#define FOCKER_REGISTRY_INTERNAL_H

#include "core/registry.h"

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct session
{
  struct store *s;
  const struct reg_opts *o;
  struct reg_ref ref;
  const char *actions; /* the token scope's: "pull" or "pull,push" */
  unsigned parallel;
  char *base;   /* "https://HOST" or "http://HOST" */
  bool http_ok; /* may use plain HTTP (a local registry, or --tls-verify=false) */
  bool scheme_known;
  char *auth; /* "Authorization: ..." or NULL */
  int auth_tries;
  char *challenge; /* a 401's challenge seen while fetches run, answered when they end */
  char *pick;      /* the manifest chosen from an index */
  char *ca_pem;    /* the registry's CA certificates (its cert dir's *.crt), or NULL */
  char *cert_pem;  /* its client certificate (NAME.cert there), or NULL */
  char *key_pem;   /* and that certificate's key (NAME.key) */
  bool no_spares;  /* no blob transfers are expected: start no helpers ahead */
};

int session_init (struct session *x, const char *ref, const struct reg_opts *o, const char *actions,
                  struct focker_err **err);
void session_free (struct session *x);
/* The TLS material for `url`: the registry's CAs and client certificate (none for another
 * host, a token service, which keeps the system's CAs and gets no client certificate). */
struct reg_tls session_tls (struct session *x, const char *url);
/* base + path (a path that is a URL already is kept). */
char *session_url (struct session *x, const char *path);
/* The request headers for `url`: `extra` (may be NULL) and the Authorization header when the
 * URL is the registry's (never another host's); out[n]. */
void session_headers (struct session *x, const char *url, char **out, size_t n, const char *extra);
/* After an answer: fall back to http, or authenticate on a 401; *retry says to send again. */
int session_note_answer (struct session *x, struct reg_response *resp, bool *retry,
                         struct focker_err **err);
/* One request, with the http fallback and authentication; the response's body in memory.  A
 * request with a body_fd is not repeated: a 401 comes back to the caller. */
int session_request (struct session *x, const char *method, const char *path, const char *extra,
                     const char *body, int body_fd, uint64_t body_size, struct reg_response *resp,
                     struct focker_err **err);
/* An error for an unexpected answer to `what`. */
int session_fail_status (struct session *x, const struct reg_response *r, struct focker_err **err,
                         const char *what);

/* A layer unpacked while its blob downloaded (core/layer_stream.h). */
struct pull_stream
{
  char blob[DIGEST_LEN + 1];
  struct layer_stream *ls;
  bool whole; /* the unpacker was fed exactly the verified blob */
  int lockfd; /* the blob's locks/pull-<hex>, held until the layer is named: a pull of the
                 same image beside this one waits for it there and then finds the layer,
                 rather than unpack it from the blob a second time */
};

/* Fetch the config and layer blobs of `manifest` (a json_t *) that the store lacks, and name
 * them (each made durable first).  Layers fetched are unpacked as they download: *streams
 * (malloc'd, *n_streams of them) to finish with layer_stream_end or layer_stream_abort. */
int pull_blobs (struct session *x, void *manifest, struct pull_stream **streams, size_t *n_streams,
                struct focker_err **err);

#endif
