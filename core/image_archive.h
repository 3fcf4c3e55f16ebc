/* image_archive.h: `focker load` and `focker save`.
 *
 * load takes an OCI image layout directory, an oci-archive (that layout as a tar, optionally
 * compressed), or a `docker save` archive (manifest.json with Config, RepoTags and Layers
 * paths; docker 25+ archives also hold an OCI layout, which is preferred).  Every blob is
 * verified against its digest as it is written to the store; every layer is unpacked and its
 * diff-id checked against the config; names come last.  save writes one image as an
 * oci-archive (uncompressed tar; the blobs as they are in the store). */
#ifndef FOCKER_IMAGE_ARCHIVE_H
#define FOCKER_IMAGE_ARCHIVE_H

#include "core/err.h"
#include "core/store.h"

/* Load `path` (relative to AT_FDCWD).  *names (may be NULL) gets the names loaded, a
 * NULL-terminated list (strv_free). */
int image_load (struct store *s, const char *path, char ***names, struct focker_err **err);

/* Load an archive (read front to back: a pipe will do) from an open fd: `focker load` from
 * stdin. */
int image_load_fd (struct store *s, int fd, char ***names, struct focker_err **err);

/* Save image `ref` to the file `path` (written to a temporary next to it and renamed). */
int image_save (struct store *s, const char *ref, const char *path, struct focker_err **err);

/* Save image `ref` as an oci-archive written to an open fd (stdout, a pipe). */
int image_save_fd (struct store *s, const char *ref, int fd, struct focker_err **err);

#endif
