/* digest.h: sha256 digests in the OCI form "sha256:<64 lowercase hex>".
 *
 * The hashing is Nettle's (GnuTLS's crypto library, with SHA-NI code), pure computation: no
 * kernel call.  Not libcrypto: see CONTRIBUTING.md.  A digest
 * string is always DIGEST_LEN characters plus the NUL. */
#ifndef FOCKER_DIGEST_H
#define FOCKER_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define DIGEST_LEN 71 /* strlen ("sha256:") + 64 */
#define DIGEST_HEX(d) ((d) + 7)

struct digest;

/* A running sha256.  Aborts on out of memory like every x* allocator. */
struct digest *digest_new (void);
void digest_update (struct digest *d, const void *buf, size_t len);
/* Write "sha256:<hex>" to out (DIGEST_LEN + 1 bytes).  The digest can no longer be updated. */
void digest_final (struct digest *d, char out[DIGEST_LEN + 1]);
void digest_free (struct digest *d);

/* sha256 of a buffer, as "sha256:<hex>". */
void digest_buffer (const void *buf, size_t len, char out[DIGEST_LEN + 1]);

/* Is `s` exactly "sha256:" followed by 64 lowercase hex digits? */
bool digest_valid (const char *s);

static inline void
cleanup_digestp (struct digest **d)
{
  digest_free (*d);
}
#define _cleanup_digest_ __attribute__ ((cleanup (cleanup_digestp)))

#endif
