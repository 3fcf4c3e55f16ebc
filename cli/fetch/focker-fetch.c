/* focker-fetch: one HTTP request for focker's registry client (core/registry*.c).
 *
 * focker is linked statically and libcurl cannot be on Debian 12 (no static GSSAPI or
 * p11-kit), so the transfer lives in this small dynamically linked program, as git's
 * git-remote-https does; every decision (what to fetch, auth, verification, resuming) is
 * focker's.  The protocol:
 *
 *   fd 0  the request, one JSON object: {"method", "url", "headers": ["Name: value", ...],
 *         "body": "text" (optional), "body_fd": bool (the body is read from fd 4,
 *         "body_size" bytes), "out_fd": bool (a 200/206 body is written to fd 3, a pipe;
 *         otherwise it follows the result line on stdout), "range_from": N (asks for bytes
 *         N-: a server answering 200 instead of 206 gets nothing written and the error "the
 *         server ignored the range"), "tls_verify": bool, "ca_file": path,
 *         "ca_pem": PEM text of the CAs to trust (instead of the system's), "cert_pem" and
 *         "key_pem": a client certificate and its key, PEM text (never a file: the helper
 *         runs as nobody, and the key goes nowhere but this pipe)}
 *   fd 1  the result: one JSON line {"status": N, "headers": [[name, value], ...] (the
 *         final response's, after redirects), "error": "..." (the transfer failed: no
 *         answer, or a body cut off)}, then the body when it did not go to fd 3 (at most
 *         16 MiB; a non-2xx body never goes to fd 3)
 *
 * Exit status 0 when a result was written (whatever the HTTP status), 2 for a bad request.
 * Redirects are followed (at most 10, http(s) only, never from https to http); libcurl drops
 * the Authorization header on a redirect to another host. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/ssl.h>

#define MEM_MAX (16 * 1024 * 1024)
#define REQ_MAX (16 * 1024 * 1024)

struct xfer
{
  CURL *c;
  json_t *headers;
  bool out_fd, write_failed, ranged, ignored_range;
  char *mem;
  size_t mem_len;
  const char *body;
  size_t body_len, body_off;
};

/* The server asked for a client certificate and the request had none (set by OpenSSL's
 * callback, which it calls only when no certificate is set).  How the refusal then shows in
 * libcurl's error varies (an alert, a reset, a closed connection), so a transfer that got no
 * HTTP answer after such a request says so instead (a server that only invites one, and
 * answered, is not refusing). */
static bool cert_asked;

static size_t
on_header (char *buf, size_t size, size_t n, void *arg)
{
  struct xfer *x = arg;
  size_t len = size * n, name_len;
  const char *colon;

  if (len >= 5 && strncmp (buf, "HTTP/", 5) == 0)
    {
      /* a new response (after a redirect or a 100 Continue): only the last one counts */
      json_array_clear (x->headers);
      return len;
    }
  colon = memchr (buf, ':', len);
  if (colon == NULL)
    return len;
  name_len = (size_t)(colon - buf);
  colon++;
  while (colon < buf + len && (*colon == ' ' || *colon == '\t'))
    colon++;
  size_t vlen = (size_t)(buf + len - colon);
  while (vlen > 0 && (colon[vlen - 1] == '\r' || colon[vlen - 1] == '\n'))
    vlen--;
  json_t *pair = json_pack ("[s#s#]", buf, (int)name_len, colon, (int)vlen);
  if (pair) /* a header that is not UTF-8 is dropped */
    json_array_append_new (x->headers, pair);
  return len;
}

static size_t
on_body (char *buf, size_t size, size_t n, void *arg)
{
  struct xfer *x = arg;
  size_t len = size * n;
  long status = 0;

  curl_easy_getinfo (x->c, CURLINFO_RESPONSE_CODE, &status);
  if (x->out_fd && x->ranged && status == 200)
    {
      /* asked for a range, got the whole body: focker starts over; nothing is written */
      x->ignored_range = true;
      return 0;
    }
  if (x->out_fd && (status == 200 || status == 206))
    {
      for (size_t off = 0; off < len;)
        {
          ssize_t w = write (3, buf + off, len - off);
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            {
              x->write_failed = true;
              return 0;
            }
          off += (size_t)w;
        }
      return len;
    }
  if (x->mem_len + len > MEM_MAX)
    return 0;
  x->mem = realloc (x->mem, x->mem_len + len + 1);
  if (x->mem == NULL)
    return 0;
  memcpy (x->mem + x->mem_len, buf, len);
  x->mem_len += len;
  return len;
}

static size_t
on_read_mem (char *buf, size_t size, size_t n, void *arg)
{
  struct xfer *x = arg;
  size_t len = size * n;

  if (len > x->body_len - x->body_off)
    len = x->body_len - x->body_off;
  memcpy (buf, x->body + x->body_off, len);
  x->body_off += len;
  return len;
}

static size_t
on_read_fd (char *buf, size_t size, size_t n, void *arg)
{
  ssize_t r;

  (void)arg;
  do
    r = read (4, buf, size * n);
  while (r < 0 && errno == EINTR);
  return r < 0 ? CURL_READFUNC_ABORT : (size_t)r;
}

static char *
read_request (size_t *len)
{
  char *buf = NULL;
  size_t n = 0;

  for (;;)
    {
      char *nb = realloc (buf, n + 65536 + 1);
      if (nb == NULL || n > REQ_MAX)
        {
          free (nb);
          return NULL;
        }
      buf = nb;
      ssize_t r = read (0, buf + n, 65536);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          free (buf);
          return NULL;
        }
      if (r == 0)
        break;
      n += (size_t)r;
    }
  *len = n;
  return buf;
}

static int
write_out (const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write (1, buf, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return -1;
      buf += w;
      len -= (size_t)w;
    }
  return 0;
}

static int
on_client_cert (SSL *ssl, X509 **cert, EVP_PKEY **key)
{
  cert_asked = true;
  return 0; /* none: the handshake goes on without one, and the server decides */
}

static CURLcode
on_ssl_ctx (CURL *c, void *ctx, void *arg)
{
  SSL_CTX_set_client_cert_cb (ctx, on_client_cert);
  return CURLE_OK;
}

static void
setup (struct xfer *x, json_t *req, struct curl_slist **hdrs)
{
  const char *method = json_string_value (json_object_get (req, "method"));
  const char *url = json_string_value (json_object_get (req, "url"));
  const char *ca = json_string_value (json_object_get (req, "ca_file"));
  const char *pem = json_string_value (json_object_get (req, "ca_pem"));
  const char *cert = json_string_value (json_object_get (req, "cert_pem"));
  const char *key = json_string_value (json_object_get (req, "key_pem"));
  json_int_t from = json_integer_value (json_object_get (req, "range_from"));
  json_t *h;
  size_t i;

  curl_easy_setopt (x->c, CURLOPT_URL, url);
  curl_easy_setopt (x->c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (x->c, CURLOPT_REDIR_PROTOCOLS_STR,
                    strncmp (url, "https:", 6) == 0 ? "https" : "http,https");
  curl_easy_setopt (x->c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (x->c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt (x->c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (x->c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (x->c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (x->c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (x->c, CURLOPT_USERAGENT, "focker");
  /* a libcurl over another TLS library refuses the option: no harm, a plainer error */
  curl_easy_setopt (x->c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
  curl_easy_setopt (x->c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (x->c, CURLOPT_HEADERDATA, x);
  curl_easy_setopt (x->c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (x->c, CURLOPT_WRITEDATA, x);
  if (json_is_false (json_object_get (req, "tls_verify")))
    {
      curl_easy_setopt (x->c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (x->c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  if (ca)
    curl_easy_setopt (x->c, CURLOPT_CAINFO, ca);
  if (pem)
    {
      /* the registry's CAs, read by focker (this helper may not be able to read them) */
      struct curl_blob b = { .data = (void *)pem, .len = strlen (pem), .flags = CURL_BLOB_COPY };
      curl_easy_setopt (x->c, CURLOPT_CAINFO_BLOB, &b);
    }
  if (cert && key)
    {
      /* the client certificate, for a registry that asks for one (mutual TLS) */
      struct curl_blob cb = { .data = (void *)cert, .len = strlen (cert), .flags = CURL_BLOB_COPY };
      struct curl_blob kb = { .data = (void *)key, .len = strlen (key), .flags = CURL_BLOB_COPY };
      curl_easy_setopt (x->c, CURLOPT_SSLCERT_BLOB, &cb);
      curl_easy_setopt (x->c, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt (x->c, CURLOPT_SSLKEY_BLOB, &kb);
      curl_easy_setopt (x->c, CURLOPT_SSLKEYTYPE, "PEM");
    }
  json_array_foreach (json_object_get (req, "headers"), i, h) *hdrs
      = curl_slist_append (*hdrs, json_string_value (h));
  if (from > 0)
    {
      char range[64];
      snprintf (range, sizeof range, "%lld-", (long long)from);
      curl_easy_setopt (x->c, CURLOPT_RANGE, range);
      x->ranged = true;
    }
  if (strcmp (method, "HEAD") == 0)
    curl_easy_setopt (x->c, CURLOPT_NOBODY, 1L);
  else if (strcmp (method, "PUT") == 0 || strcmp (method, "POST") == 0
           || strcmp (method, "PATCH") == 0)
    {
      curl_easy_setopt (x->c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (x->c, CURLOPT_CUSTOMREQUEST, method);
      if (json_is_true (json_object_get (req, "body_fd")))
        {
          curl_easy_setopt (x->c, CURLOPT_READFUNCTION, on_read_fd);
          curl_easy_setopt (x->c, CURLOPT_INFILESIZE_LARGE,
                            (curl_off_t)json_integer_value (json_object_get (req, "body_size")));
        }
      else
        {
          x->body = json_string_value (json_object_get (req, "body"));
          x->body_len = x->body ? strlen (x->body) : 0;
          if (x->body == NULL)
            x->body = "";
          curl_easy_setopt (x->c, CURLOPT_READFUNCTION, on_read_mem);
          curl_easy_setopt (x->c, CURLOPT_READDATA, x);
          curl_easy_setopt (x->c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
        }
      /* no "Expect: 100-continue" round trip */
      *hdrs = curl_slist_append (*hdrs, "Expect:");
    }
  else if (strcmp (method, "GET") != 0)
    curl_easy_setopt (x->c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (x->c, CURLOPT_HTTPHEADER, *hdrs);
}

int
main (int argc, char **argv)
{
  struct xfer x = { 0 };
  struct curl_slist *hdrs = NULL;
  json_t *req, *res;
  char *text, *line;
  size_t len;
  long status = 0;
  CURLcode cr;

  /* The request brings the client key and the registry's credentials.  Running as nobody
   * after an exec with equal ids, the kernel makes us dumpable again: any other nobody
   * process (another pull's helper, talking to a hostile registry) could then ptrace us or
   * read /proc/PID/mem.  Not dumpable: only root can. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    {
      perror ("focker-fetch: prctl PR_SET_DUMPABLE");
      return 2;
    }
  if (argc > 1)
    {
      fprintf (stderr, "focker-fetch: a helper of focker, not meant to be run by hand\n");
      return 2;
    }
  /* libcurl (and the TLS library under it) is set up before the request is read: focker
   * starts helpers ahead of their requests, so this runs while they wait */
  if (curl_global_init (CURL_GLOBAL_DEFAULT) != 0 || (x.c = curl_easy_init ()) == NULL)
    {
      fprintf (stderr, "focker-fetch: cannot initialize libcurl\n");
      return 2;
    }
  text = read_request (&len);
  req = text ? json_loadb (text, len, 0, NULL) : NULL;
  free (text);
  if (req == NULL || !json_is_string (json_object_get (req, "method"))
      || !json_is_string (json_object_get (req, "url")))
    {
      fprintf (stderr, "focker-fetch: bad request\n");
      return 2;
    }
  x.headers = json_array ();
  x.out_fd = json_is_true (json_object_get (req, "out_fd"));
  setup (&x, req, &hdrs);
  cr = curl_easy_perform (x.c);
  curl_easy_getinfo (x.c, CURLINFO_RESPONSE_CODE, &status);
  res = json_pack ("{s:I, s:O}", "status", (json_int_t)status, "headers", x.headers);
  if (cr != CURLE_OK)
    json_object_set_new (res, "error",
                         json_string (x.write_failed ? "cannot write the response body"
                                      : cert_asked && status == 0
                                          ? "the registry asks for a client certificate"
                                          : curl_easy_strerror (cr)));
  line = json_dumps (res, JSON_COMPACT);
  if (line == NULL || write_out (line, strlen (line)) < 0 || write_out ("\n", 1) < 0
      || (x.mem_len > 0 && write_out (x.mem, x.mem_len) < 0))
    return 2;
  free (line);
  free (x.mem);
  json_decref (res);
  json_decref (x.headers);
  json_decref (req);
  curl_slist_free_all (hdrs);
  curl_easy_cleanup (x.c);
  curl_global_cleanup ();
  return 0;
}
