/* registry_push.c: `focker push IMAGE REGISTRY/NAME[:TAG]` (see registry.h).
 *
 * Blobs first (each asked for with HEAD and uploaded only when missing: POST an upload
 * session, then one PUT of the whole blob with its digest, the monolithic upload of the
 * distribution spec), the manifest last, so the tag never names an incomplete image. */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include "core/cleanup.h"
#include "core/registry_internal.h"

static void
push_progress (struct session *x, const char *digest, uint64_t size, int what)
{
  struct reg_progress p = { .digest = digest, .done = size, .total = size, .what = what };

  if (x->o->progress)
    x->o->progress (x->o->progress_arg, &p);
}

static int
push_blob (struct session *x, const char *digest, struct focker_err **err)
{
  _cleanup_free_ char *path = xasprintf ("/v2/%s/blobs/%s", x->ref.repo, digest);
  _cleanup_free_ char *up = xasprintf ("/v2/%s/blobs/uploads/", x->ref.repo), *put = NULL;
  _cleanup_close_ int fd = -1;
  struct reg_response resp;
  uint64_t size;
  const char *loc;
  int r;

  r = session_request (x, "HEAD", path, NULL, NULL, -1, 0, &resp, err);
  if (r < 0)
    return r;
  int status = resp.status;
  reg_response_free (&resp);
  if (status == 200)
    {
      push_progress (x, digest, 0, REG_PROGRESS_EXISTS);
      return 0;
    }
  r = store_blob_size (x->s, digest, &size, err);
  if (r < 0)
    return r;
  push_progress (x, digest, size, REG_PROGRESS_START);
  for (int tries = 0;; tries++)
    {
      r = session_request (x, "POST", up, NULL, NULL, -1, 0, &resp, err);
      if (r < 0)
        return r;
      loc = reg_response_header (&resp, "location");
      if (resp.status != 202 || loc == NULL)
        {
          r = session_fail_status (x, &resp, err, "start an upload");
          reg_response_free (&resp);
          return r;
        }
      put = xasprintf ("%s%sdigest=%s", loc, strchr (loc, '?') ? "&" : "?", digest);
      reg_response_free (&resp);
      fd = store_blob_open (x->s, digest, err);
      if (fd < 0)
        return fd;
      r = session_request (x, "PUT", put, "Content-Type: application/octet-stream", NULL, fd, size,
                           &resp, err);
      free (TAKE_PTR (put));
      sys_close (TAKE_FD (fd));
      if (r < 0)
        return r;
      if (resp.status == 401 && tries == 0)
        {
          /* the token ran out during the upload: authenticate, then start over */
          bool retry;
          r = session_note_answer (x, &resp, &retry, err);
          reg_response_free (&resp);
          if (r < 0)
            return r;
          continue;
        }
      if (resp.status != 201)
        {
          _cleanup_free_ char *what = xasprintf ("upload blob %s", digest);
          r = session_fail_status (x, &resp, err, what);
          reg_response_free (&resp);
          return r;
        }
      reg_response_free (&resp);
      push_progress (x, digest, size, REG_PROGRESS_DONE);
      return 0;
    }
}

int
registry_push (struct store *s, const char *image, const char *dest, const struct reg_opts *o,
               char digest[DIGEST_LEN + 1], struct focker_err **err)
{
  struct session x;
  struct image *img = NULL;
  _cleanup_free_ char *body = NULL, *path = NULL, *ct = NULL;
  struct reg_response resp;
  size_t len;
  int r;

  if (session_init (&x, dest, o, "pull,push", err) < 0)
    return -EINVAL;
  x.s = s;
  if (x.ref.digest)
    {
      session_free (&x);
      return focker_fail (err, -EINVAL, "push %s: give a tag, not a digest", dest);
    }
  r = store_image_get (&img, s, image, err);
  for (size_t i = 0; r == 0 && i < img->n_layers; i++)
    r = push_blob (&x, img->layers[i], err);
  if (r == 0)
    r = push_blob (&x, img->id, err);
  if (r == 0)
    r = store_blob_read (&body, &len, s, img->manifest_digest, err);
  if (r == 0)
    {
      const char *mt = json_string_value (json_object_get (img->manifest, "mediaType"));
      ct = xasprintf ("Content-Type: %s", mt ? mt : MT_MANIFEST);
      path = xasprintf ("/v2/%s/manifests/%s", x.ref.repo, x.ref.tag);
      r = session_request (&x, "PUT", path, ct, body, -1, len, &resp, err);
    }
  if (r == 0)
    {
      if (resp.status != 201)
        r = session_fail_status (&x, &resp, err, "put the manifest");
      else
        memcpy (digest, img->manifest_digest, DIGEST_LEN + 1);
      reg_response_free (&resp);
    }
  image_free (img);
  session_free (&x);
  return r;
}
