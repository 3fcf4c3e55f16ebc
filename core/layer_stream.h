/* layer_stream.h: unpacking a layer while its blob downloads.
 *
 * A child process (focker's own code, not exec'd) unpacks the layer from a pipe into a new
 * layers/.tmp-* with unpack_layer; the pull copies each body byte of the download into the
 * pipe as it writes it to the blob's temporary file.  The tree stays under its temporary
 * name until the caller says the bytes it was fed were exactly a verified blob: only then is
 * it named, by diff-id, as store_layer_ensure names one.  Anything else (the download
 * restarted, the child failed, the digest did not match) drops it, and the caller unpacks
 * from the verified blob instead.  The child holds the store's shared lock (so gc waits for
 * it) and dies with its parent (PR_SET_PDEATHSIG), so a killed pull leaves only a
 * temporary that gc removes. */
#ifndef FOCKER_LAYER_STREAM_H
#define FOCKER_LAYER_STREAM_H

#include <stdbool.h>
#include "core/digest.h"
#include "core/err.h"
#include "core/store.h"

struct layer_stream;

/* Start the unpacker: *feed gets the pipe's write end (O_NONBLOCK, close-on-exec), which
 * the caller writes the blob to and closes at its end. */
int layer_stream_begin (struct layer_stream **out, struct store *s, int *feed,
                        struct focker_err **err);
/* Wait for the unpacker (the caller has closed feed).  With `use` (what was fed is the
 * verified blob `blob`), name its tree as store_layer_name does (expect_diff: from the
 * image config): 1 and *diff_id set.  0 when the tree was dropped (not `use`, or the
 * unpacker failed): the caller unpacks from the blob.  A negative errno with *err set
 * otherwise (a diff-id other than expect_diff, a failed rename).  Frees ls. */
int layer_stream_end (struct layer_stream *ls, bool use, const char *blob, const char *expect_diff,
                      char diff_id[DIGEST_LEN + 1], struct focker_err **err);
/* Kill the unpacker, reap it, remove its tree, free ls (NULL: nothing). */
void layer_stream_abort (struct layer_stream *ls);

#endif
