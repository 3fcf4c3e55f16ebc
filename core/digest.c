/* digest.c: sha256 through Nettle (see digest.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/sha2.h>
#include "core/digest.h"

struct digest
{
  struct sha256_ctx ctx;
};

struct digest *
digest_new (void)
{
  struct digest *d = malloc (sizeof *d);

  if (d == NULL)
    {
      fputs ("focker: out of memory\n", stderr);
      abort ();
    }
  sha256_init (&d->ctx);
  return d;
}

void
digest_update (struct digest *d, const void *buf, size_t len)
{
  if (len)
    sha256_update (&d->ctx, len, buf);
}

void
digest_final (struct digest *d, char out[DIGEST_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  uint8_t md[SHA256_DIGEST_SIZE];

  sha256_digest (&d->ctx, sizeof md, md);
  memcpy (out, "sha256:", 7);
  for (size_t i = 0; i < sizeof md; i++)
    {
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[8 + 2 * i] = hex[md[i] & 15];
    }
  out[DIGEST_LEN] = '\0';
}

void
digest_free (struct digest *d)
{
  free (d);
}

void
digest_buffer (const void *buf, size_t len, char out[DIGEST_LEN + 1])
{
  struct digest *d = digest_new ();

  digest_update (d, buf, len);
  digest_final (d, out);
  digest_free (d);
}

bool
digest_valid (const char *s)
{
  if (s == NULL || strncmp (s, "sha256:", 7) != 0 || strlen (s) != DIGEST_LEN)
    return false;
  for (const char *c = s + 7; *c; c++)
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
      return false;
  return true;
}
