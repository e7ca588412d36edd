/*
 * graph.h: the edges of a collection, persisted in RocksDB beside the points.
 *
 * Keys: EDGE  cid|src|klen|kind|dst -> f32 weight    (a knowledge link)
 *       EDGE  cid|src|0            -> n x (dst u64, weight f32), by dst
 *                                      (the point's kNN out-list, whole)
 * The in-edges of a point are read from the in-memory copy (graph_mem.h),
 * which derives them from the out-edges; RocksDB holds no reverse index
 * since data format 3 (docs/STORAGE.md).
 * kNN edges have the empty kind (shown as "knn"); knowledge links have a
 * client label [A-Za-z0-9_.:-]{1,32} other than "knn". Every edge change is
 * written in the same RocksDB batch as the point change that causes it, so
 * the graph is crash-consistent with the points without repair on open.
 */
#ifndef PRECIS_INDEX_GRAPH_H
#define PRECIS_INDEX_GRAPH_H

#include "coll.h"

/* Hooks called by coll_write.c with the collection's write lock held, before
 * the batch is written: add/refresh kNN edges of the upserted points, and
 * remove every edge touching deleted points. The upserted points'
 * neighbours among the points already indexed come from `pre` (n rows of
 * graph__knn_candidates(c, n) hits, pren[i] in row i, best first: what the
 * index insertion found, coll_write.c) or, when pre is NULL, from one
 * batched search; in a Flat collection (pre NULL), for a batch of
 * GRAPH_SCAN_MIN_BATCH or more, from one exact scan of the vectors, which
 * also finds every list a new point belongs in. A new
 * point takes the knn_k best as its out-list and enters the list of every
 * candidate it beats the weakest edge of. */
int graph__on_upsert(coll *c, store_batch *b, const uint64_t *ids, const float *vecs, size_t n,
                     const engine_hit *pre, const size_t *pren, precis_error *err);
/* Candidates per new point that graph__on_upsert considers in a batch of n
 * (and so the row length of `pre`): GRAPH_REVERSE_FACTOR x knn_k, at least
 * knn_k + 1. A point y whose own kNN list the new point x belongs in is
 * seldom among x's knn_k nearest (the relation is not symmetric), so the
 * reverse insertion looks further down x's candidates. Batches above
 * GRAPH_BATCH_BRUTE_MAX (bulk loads, to be followed by a rebuild) get
 * knn_k + 1, so that their working memory stays what it was. */
#define GRAPH_REVERSE_FACTOR  4
#define GRAPH_BATCH_BRUTE_MAX 2048
size_t graph__knn_candidates(const coll *c, size_t n);
int graph__on_delete(coll *c, store_batch *b, const uint64_t *ids, size_t n, precis_error *err);
/* After a successful write: commit the counters and the in-memory edges
 * the hooks staged; after a failed one, drop them. */
void graph__after_write(coll *c);
void graph__abort(coll *c);

#endif
