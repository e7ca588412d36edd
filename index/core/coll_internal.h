/* coll_internal.h: helpers shared by coll*.c and the graph module only. */
#ifndef PRECIS_INDEX_COLL_INTERNAL_H
#define PRECIS_INDEX_COLL_INTERNAL_H

#include "coll.h"

/* META key: tag byte + cid ('s' sequence, 'n' count, 'k' kNN edges, 'l' links). */
void coll__meta_key(unsigned char *k, char tag, uint32_t cid);
/* Put the sequence and count counters into a batch. */
void coll__batch_counters(coll *c, store_batch *b, uint64_t seq, uint64_t count);
int coll__slots_push(coll *c, uint64_t id);
/* Rebuild the index from the stored vectors with the exclusive lock held;
 * on failure the old index stays. */
int coll__rebuild(coll *c, const char *why, precis_error *err);
/* The same when the index is known to be out of step with the store: on
 * failure the index is dropped (coll__drop_index), so that `count` and the
 * live map never diverge. */
int coll__rebuild_or_drop(coll *c, const char *why, precis_error *err);
/* No index from now on (searches scan RocksDB) until upkeep builds one;
 * exclusive lock held. */
void coll__drop_index(coll *c);
/* Rebuild with no lock held: built from an iterator without the lock,
 * swapped in under a short exclusive lock (writes made meanwhile are
 * replayed from the log). Holds save_mu throughout. */
int coll__rebuild_aside(coll *c, const char *why, precis_error *err);
/* Replay the writes logged after sequence `from` into the index (or, with
 * no index, the live map); *replayed counts the ids touched. Exclusive lock
 * held (coll_build.c). */
int coll__replay_log(coll *c, uint64_t from, uint64_t *replayed, precis_error *err);
/* First logged sequence (0 when the log is empty); point and graph
 * entries alike (coll.c). */
int coll__first_log_seq(coll *c, uint64_t *first, precis_error *err);
/* coll_save_index; wait = false: skip when a save or rebuild is running. */
int coll__save_index(coll *c, bool wait, precis_error *err);
/* Check a query/point vector: dimension, finiteness, cosine non-zero.
 * Writes the prepared copy (normalised for cosine) into out. */
int coll__prepare_vector(const coll *c, const float *v, uint32_t dim, float *out, const char *what,
                         precis_error *err);

/* Exact top-k helpers (coll_read.c): push into a bounded min-heap of cap
 * hits, sort best first, and the exact score of stored vector v for the
 * prepared query q. */
void coll__heap_push(engine_hit *h, size_t *len, size_t cap, engine_hit x);
void coll__hits_sort(engine_hit *hits, size_t n);
float coll__exact_score(const coll *c, const float *v, const float *q);
/* coll_delete; with `locked` the caller holds the write lock (and no
 * periodic save runs). */
int coll__delete(coll *c, const uint64_t *ids, size_t n, size_t *deleted, bool locked,
                 precis_error *err);
/* Stage the payload-index postings of point id, from its stored metadata
 * (if any) to new_meta (NULL: deleted), into b (coll_write.c). */
int coll__stage_pidx(coll *c, store_batch *b, uint64_t id, const char *new_meta, size_t new_len,
                     precis_error *err);
/* k and the per-call parameters of a search: OUT_OF_RANGE. */
int coll__search_check(uint32_t k, const engine_search_params *sp, precis_error *err);

#endif
