/* store.h: the image store (default /var/lib/focker).
 *
 *   blobs/sha256/<hex>     content-addressed blobs, verified while written: bytes go to
 *                          blobs/.tmp-* and are renamed to their digest only when complete
 *                          and hashed to the digest expected, listed in a durable record
 *                          under unsynced/ first (a reader never sees a partial blob under a
 *                          final name; after a power cut, recovery removes a damaged one)
 *   index.json, oci-layout an OCI image layout; names are the manifests'
 *                          org.opencontainers.image.ref.name annotations
 *   layers/sha256/<hex>    each layer unpacked once, by diff-id, shared by every image using
 *                          it (unpacked into layers/.tmp-* and renamed when complete)
 *   bundles/<key>.json     bundles made from images: the layers they use, a reference for gc
 *                          while the bundle's rootfs directory exists
 *   unsynced/<boot>.<pid>.<n>  records of names made before their data was durable (see
 *                          "unsynced records" below and core/store_intent.c)
 *   locks/                 flock files: `store` (every command holds it shared, gc
 *                          exclusive), `index` (read-modify-write of index.json), one per
 *                          layer being unpacked
 *
 * Reference counts are computed, not stored: gc walks every name's manifest and config and
 * every live bundle record, and removes what none of them uses, so a crash can never leave a
 * count wrong. */
#ifndef FOCKER_STORE_H
#define FOCKER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/digest.h"
#include "core/err.h"

#define STORE_DEFAULT_ROOT "/var/lib/focker"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define ANNOT_REF_NAME "org.opencontainers.image.ref.name"

struct store_intent;

struct store
{
  char *root;
  int fd;                      /* the store's top directory */
  int lockfd;                  /* locks/store, held shared (exclusive for gc) until store_close */
  struct store_intent *intent; /* this command's record of unsynced names, once it has one */
};

/* Open (creating with `create`) the store at root and take its lock, shared or exclusive. */
int store_open (struct store **out, const char *root, bool create, bool exclusive,
                struct focker_err **err);
void store_close (struct store *s);
/* Open locks/<name> (creating it) and flock it with `op`: the fd, to close to unlock. */
int store_lock (struct store *s, const char *name, int op, struct focker_err **err);

/* Scope-bound json_decref for jansson documents (json_t *). */
void store_json_decrefp (void *j);
#define _cleanup_json_ __attribute__ ((cleanup (store_json_decrefp)))

/* ---- unsynced records (core/store_intent.c) ---- */

/* Names under blobs/sha256 and layers/sha256 are made by renames without an fsync of the
 * data; before the first such rename the names to be made are listed in a record,
 * unsynced/<boot-id>.<pid>.<n>, which is fsync'd (with its directory) and flocked until
 * store_close.  After a reboot the records of the old boot are checked (store_recover). */

/* List a name to be made (kind 'B': blobs/sha256/<hex>, 'L': layers/sha256/<hex>), to be
 * written by the next store_intent_sync (no I/O now). */
void store_intent_add (struct store *s, char kind, const char *digest);
/* Make every name added durable in the record (creating it the first time).  Only after it
 * returned 0 may those names be made without an fsync of their data.  On failure they are
 * not covered, and a record this call made is removed. */
int store_intent_sync (struct store *s, struct focker_err **err);
/* store_intent_add + store_intent_sync. */
int store_intent_cover (struct store *s, char kind, const char *digest, struct focker_err **err);
/* Release the record's lock (store_close): it stays until its data is known durable. */
void store_intent_close (struct store *s);
/* Called by store_open with the store lock held.  Records of another boot: with the store
 * lock taken exclusive for the time, each listed blob is hashed again and removed if its
 * content is not its digest, each listed layer is removed (unpacked again when next
 * needed), then the record.  A `writer` also removes the records of this boot whose
 * command ended, after a syncfs: all of them when `exclusive` (gc), else once there are
 * enough to be worth the wait.  With no record: one openat and getdents of unsynced/. */
int store_recover (struct store *s, bool writer, bool exclusive, struct focker_err **err);

/* ---- blobs ---- */

struct blob_writer
{
  struct store *s;
  int fd;
  char *tmp; /* name under blobs/ */
  struct digest *d;
  uint64_t size;
  bool checked; /* blob_check passed: got is final */
  char got[DIGEST_LEN + 1];
};

int blob_begin (struct blob_writer *w, struct store *s, struct focker_err **err);
int blob_write (struct blob_writer *w, const void *buf, size_t len, struct focker_err **err);
/* Check the content: its digest against `expect` (NULL: any); *out gets the digest.  On failure the
 * writer is released and its temporary removed; on success it stays open, unnamed, until
 * blob_commit or blob_abort. */
int blob_check (struct blob_writer *w, const char *expect, char out[DIGEST_LEN + 1],
                struct focker_err **err);
/* Finish: check (unless blob_check did), list the digest in the store's record of unsynced
 * names (store_intent_cover), rename into place.  *out gets the digest.
 * The writer is released whatever the result. */
int blob_commit (struct blob_writer *w, const char *expect, char out[DIGEST_LEN + 1],
                 struct focker_err **err);
void blob_abort (struct blob_writer *w);
/* A writer over a temporary that is already complete (`tmp`, a name under the store, written
 * by someone else: a download): its content is hashed now; blob_commit then verifies and
 * renames it, blob_abort removes it.  On failure the file is left alone. */
int blob_adopt (struct blob_writer *w, struct store *s, const char *tmp, struct focker_err **err);
/* The same for a temporary whose content was hashed as it was written (`d`, `size` bytes;
 * the writer takes `d` over, whatever the result). */
int blob_adopt_hashed (struct blob_writer *w, struct store *s, const char *tmp, struct digest *d,
                       uint64_t size, struct focker_err **err);

/* A whole blob from memory, or from an fd read to its end; *size may be NULL. */
int store_blob_put (struct store *s, const void *buf, size_t len, const char *expect,
                    char out[DIGEST_LEN + 1], struct focker_err **err);
int store_blob_from_fd (struct store *s, int fd, const char *expect, char out[DIGEST_LEN + 1],
                        uint64_t *size, struct focker_err **err);
bool store_blob_exists (struct store *s, const char *digest);
/* The size of a blob in the store. */
int store_blob_size (struct store *s, const char *digest, uint64_t *size, struct focker_err **err);
/* Open a blob for reading: an fd, or a negative errno (-ENOENT if absent). */
int store_blob_open (struct store *s, const char *digest, struct focker_err **err);
/* Read a small blob (a manifest, a config) and check its digest. */
int store_blob_read (char **out, size_t *len, struct store *s, const char *digest,
                     struct focker_err **err);

/* ---- layers ---- */

/* Make sure the layer in blob `blob` is unpacked: layers/sha256/<diff-id hex>.  With
 * `expect_diff` (from an image config) an existing layer is reused without reading the blob,
 * and a blob whose content has another diff-id is refused.  *diff_id gets the diff-id. */
int store_layer_ensure (struct store *s, const char *blob, const char *expect_diff,
                        char diff_id[DIGEST_LEN + 1], struct focker_err **err);
/* A new empty directory layers/.tmp-* (mode 0755) to unpack a layer into: its fd, and its
 * name under the store in *tmp (malloc'd).  gc removes one a killed command left. */
int store_layer_tmp (struct store *s, char **tmp, struct focker_err **err);
/* Name the layer unpacked into layers/<tmp> (`got`: its diff-id): layers/sha256/<got>,
 * under the layer's lock.  With `expect_diff`, `got` must be it (-EINVAL naming `what`, a
 * blob).  If the layer exists already, tmp is dropped; on failure it is removed. */
int store_layer_name (struct store *s, const char *tmp, const char *got, const char *expect_diff,
                      const char *what, struct focker_err **err);
/* "<root>/layers/sha256/<hex>" (malloc'd). */
char *store_layer_path (struct store *s, const char *diff_id);

/* ---- names ---- */

/* "busybox" -> "busybox:latest", "NAME@sha256:<hex>" as it is; NULL if the name is not a
 * valid reference. */
char *store_normalize_ref (const char *ref);

/* index.json's manifests array entries, under the index lock.  *idx: a json_t * (jansson). */
int store_index_load (void **idx, struct store *s, struct focker_err **err);
/* Point `name` at the manifest `digest` of `size` bytes (replacing what it named). */
int store_tag (struct store *s, const char *name, const char *digest, uint64_t size,
               struct focker_err **err);
/* Remove the name; -ENOENT if absent. */
int store_untag (struct store *s, const char *name, struct focker_err **err);

/* ---- images ---- */

struct image
{
  char *name; /* the reference it was found by, normalized; NULL when found by id */
  char manifest_digest[DIGEST_LEN + 1];
  char id[DIGEST_LEN + 1]; /* the config's digest */
  void *manifest, *config; /* json_t * */
  size_t n_layers;
  char (*layers)[DIGEST_LEN + 1];   /* layer blob digests, bottom first */
  char (*diff_ids)[DIGEST_LEN + 1]; /* from the config's rootfs */
  uint64_t size;                    /* blobs' total */
};

/* Find an image by name (a missing tag means latest), by id ("sha256:<hex>", or a prefix of
 * at least 12 hex digits of it).  -ENOENT with an error naming the reference if none. */
int store_image_get (struct image **out, struct store *s, const char *ref, struct focker_err **err);
/* The name `ref` has in the index (as given, or as `focker pull` names it), found without
 * reading the image's blobs: an image a crash damaged can still be removed.  -ENOENT if no
 * image has that name. */
int store_name_find (char **out, struct store *s, const char *ref, struct focker_err **err);
/* From a manifest blob already in the store. */
int store_image_from_manifest (struct image **out, struct store *s, const char *digest,
                               struct focker_err **err);
void image_free (struct image *img);

/* ---- gc ---- */

/* The reference count of each of n layers: how many image names and live bundles use it
 * (counts[i] for diff_ids[i]).  What gc computes; nothing is changed. */
int store_layer_refs (struct store *s, const char (*diff_ids)[DIGEST_LEN + 1], size_t n,
                      size_t *counts, struct focker_err **err);

struct gc_report
{
  size_t blobs, layers, tmps;
  uint64_t bytes;
};

/* Remove every blob and layer no name and no live bundle uses, and temporary leftovers of
 * killed writers.  Needs the store opened exclusive. */
int store_gc (struct store *s, struct gc_report *rep, struct focker_err **err);

#endif
