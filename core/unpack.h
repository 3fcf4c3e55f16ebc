/* unpack.h: unpack one image layer (a tar stream) into a directory, as an overlayfs layer.
 *
 * libarchive only reads: the stream comes through a read callback over sys_read, and every
 * entry is created through the seam relative to the layer's directory fd, never following a
 * symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS where the kernel has it, a
 * component-by-component O_NOFOLLOW walk otherwise).  OCI whiteouts become overlayfs ones:
 * `.wh.NAME` a 0/0 character device NAME, `.wh..wh..opq` the xattr trusted.overlay.opaque=y
 * on its directory.
 *
 * Refused, with an error naming the entry: absolute paths, `..` components, an entry whose
 * parent path crosses a symlink or a non-directory (planted by an earlier entry), hard links
 * to anything not unpacked earlier in the same layer, a bare `.wh.`, `.wh..` and `.wh...`,
 * two entries for one path, `trusted.overlay.*` xattrs, unknown entry types.  The caller owns
 * the directory: on failure it holds whatever was unpacked so far and is removed by the
 * caller (the store unpacks into a temporary directory). */
#ifndef FOCKER_UNPACK_H
#define FOCKER_UNPACK_H

#include "core/digest.h"
#include "core/err.h"

/* Unpack the layer read from `srcfd` (tar; gzip, zstd, xz or bzip2 compressed or not) into
 * the directory `dirfd` (normally empty).  *diff_id gets the sha256 of the uncompressed
 * stream.  0, or a negative errno with *err set (-EINVAL for a malformed or hostile archive,
 * the kernel's errno for a failed call). */
int unpack_layer (int dirfd, int srcfd, char diff_id[DIGEST_LEN + 1], struct focker_err **err);

#endif
