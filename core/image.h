/* image.h: images in the store: import a rootfs tarball, build the default busybox image,
 * list, inspect, remove, and turn an image into an OCI bundle.
 *
 * Every function takes an open store (store.h); names are normalized ("busybox" is
 * "busybox:latest"). */
#ifndef FOCKER_IMAGE_H
#define FOCKER_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include "core/err.h"
#include "core/store.h"

#define DEFAULT_IMAGE_NAME "focker/busybox:latest"

/* One layer of an image being assembled. */
struct layer_desc
{
  char blob[DIGEST_LEN + 1];
  char diff_id[DIGEST_LEN + 1];
  const char *media_type;
  uint64_t size;
};

/* Write config and manifest blobs for `layers` (bottom first) and name the manifest.
 * `config` is the image config's "config" object (a json_t *, Env, Cmd ...) or NULL; the
 * reference is stolen.  *id (may be NULL) gets the config digest. */
int image_commit (struct store *s, const char *name, const struct layer_desc *layers, size_t n,
                  void *config, const char *created, char id[DIGEST_LEN + 1],
                  struct focker_err **err);

/* `focker import FILE NAME`: a rootfs tarball (tar, gzip, zstd, xz, bzip2) as a one-layer
 * image. */
int image_import (struct store *s, int dirfd, const char *path, const char *name,
                  char id[DIGEST_LEN + 1], struct focker_err **err);

/* The default image: busybox (a static binary at `busybox`, normally /bin/busybox) and its
 * applet links, /etc/passwd and /etc/group, as one reproducible layer (the same busybox
 * gives the same digest). */
int image_build_default (struct store *s, const char *busybox, const char *name,
                         char id[DIGEST_LEN + 1], struct focker_err **err);

/* The layer media type of a blob from its first bytes (tar, tar+gzip, tar+zstd; xz and
 * bzip2, which OCI has no type for, are refused). */
int image_sniff_media_type (struct store *s, const char *blob, const char **mt,
                            struct focker_err **err);
/* This build's OCI architecture name: "amd64", "arm64" ... */
const char *image_arch (void);

/* `focker images`: a JSON array of {name, id, digest, size, layers, created} (malloc'd
 * text). */
int image_list_json (char **out, struct store *s, struct focker_err **err);
/* `focker inspect`: {name, id, digest, size, config, layers: [{digest, diff_id, mediaType,
 * size, unpacked, refs}]} (malloc'd text); refs: how many names and live bundles use the
 * layer. */
int image_inspect_json (char **out, struct store *s, const char *ref, struct focker_err **err);
/* `focker rmi NAME`: remove the name; gc removes what is no longer used. */
int image_remove (struct store *s, const char *ref, struct focker_err **err);

/* ---- bundles (image_bundle.c) ---- */

struct bundle_opts
{
  const char *image;
  const char *dir; /* absolute; must not exist, or be an empty directory */
  bool copy;       /* copy the layers instead of mounting an overlay */
  /* a json_t * object or NULL: keys replacing the image config's (User, WorkingDir, Env,
   * Entrypoint, Cmd) before it becomes config.json */
  const void *config_override;
};

/* Write an OCI bundle: DIR/rootfs (overlayfs: the layers as lowerdirs, DIR/upper and
 * DIR/work; or a copy when overlay cannot be mounted or `copy` is set: *copied says which),
 * DIR/config.json from focker's defaults and the image config. */
int image_bundle (struct store *s, const struct bundle_opts *o, bool *copied,
                  struct focker_err **err);
/* Undo image_bundle: unmount DIR/rootfs, remove what it made, forget the bundle. */
int image_unbundle (struct store *s, const char *dir, struct focker_err **err);

/* The config.json for an image config (a json_t * object, may be NULL); the rootfs at
 * rootfd resolves user names.  malloc'd text. */
int image_spec_json (char **out, const void *image_config, int rootfd, struct focker_err **err);

#endif
