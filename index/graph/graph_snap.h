/*
 * graph_snap.h: the graph snapshot of a collection, <ann_dir>/<cid>.graph,
 * written beside the ANN index with the sequence it reflects, and the graph
 * entries of the replay log that bring it up to date on open. Internal to
 * index/. Format: docs/STORAGE.md "Graph snapshot".
 *
 * Conventions:
 *   - Every write that changes edges records the ids at both ends of each
 *     changed edge under LOG cid|seq|'g' (gsnap_stage_log), in its own
 *     batch; a 1-byte value means the ids were lost (out of memory while
 *     staging) and the snapshot cannot be replayed past it.
 *   - Open: gsnap_load loads a valid snapshot of seq S and reloads, from
 *     RocksDB, both edge lists of every id logged after S. Anything wrong
 *     (missing, checksum, version, another collection, newer than the data,
 *     older than the log, a lost log entry) returns nonzero with the reason,
 *     and the caller loads the whole graph (gmem_load).
 *   - Ownership: a gsnap_image owns its buffer (gsnap_image_free).
 */
#ifndef PRECIS_INDEX_GRAPH_SNAP_H
#define PRECIS_INDEX_GRAPH_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "coll.h"

#define GSNAP_MAGIC   "PRGRAPH\n"
#define GSNAP_VERSION 1u
#define GSNAP_LOG_TAG 'g'

typedef struct {
  unsigned char *buf; /* the whole file */
  size_t len;
} gsnap_image;

/* The path of collection id's snapshot in dir. */
void gsnap_path(const char *dir, uint32_t id, char *out, size_t n);
/* Encode the in-memory graph as of `seq` (collection lock held, shared is
 * enough). PRECIS_E_UNIMPLEMENTED when the copy is unusable (no snapshot). */
int gsnap_take(coll *c, uint64_t seq, gsnap_image *im, precis_error *err);
/* Write the image atomically (common/file.h); no lock needed. */
int gsnap_write(const gsnap_image *im, const char *path, precis_error *err);
void gsnap_image_free(gsnap_image *im);
/* On open (c->seq read, no other user): load the snapshot at `path` into
 * c->gm and replay the logged ids after its seq. Nonzero: the reason is in
 * why, c->gm is to be reloaded with gmem_load. */
int gsnap_load(coll *c, const char *path, uint64_t *snap_seq, uint64_t *replayed, char *why,
               size_t whylen);
/* Put the graph log entry of the write with sequence seq into b: the ids
 * the staged edge changes touch (nothing when none). */
void gsnap_stage_log(coll *c, store_batch *b, uint64_t seq);

#endif /* PRECIS_INDEX_GRAPH_SNAP_H */
