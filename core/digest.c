/* digest.c: sha256 through libcrypto's EVP interface (see digest.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "core/digest.h"

struct digest
{
  EVP_MD_CTX *ctx;
};

struct digest *
digest_new (void)
{
  struct digest *d = malloc (sizeof *d);

  if (d == NULL || (d->ctx = EVP_MD_CTX_new ()) == NULL
      || EVP_DigestInit_ex (d->ctx, EVP_sha256 (), NULL) != 1)
    {
      fputs ("focker: out of memory\n", stderr);
      abort ();
    }
  return d;
}

void
digest_update (struct digest *d, const void *buf, size_t len)
{
  if (len)
    EVP_DigestUpdate (d->ctx, buf, len);
}

void
digest_final (struct digest *d, char out[DIGEST_LEN + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  EVP_DigestFinal_ex (d->ctx, md, &n);
  memcpy (out, "sha256:", 7);
  for (unsigned int i = 0; i < n && i < 32; i++)
    snprintf (out + 7 + 2 * i, 3, "%02x", md[i]);
  out[DIGEST_LEN] = '\0';
}

void
digest_free (struct digest *d)
{
  if (d == NULL)
    return;
  EVP_MD_CTX_free (d->ctx);
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
