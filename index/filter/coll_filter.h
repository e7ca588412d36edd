/*
 * coll_filter.h: filtered reads of a collection: the per-request filter
 * context (memoised verdicts over the points' stored metadata), the
 * selectivity estimate, and filtered top-k search (exact scan of the passing
 * points, or ANN restricted to them through a FAISS IDSelector). Internal to
 * index/; the caller holds the collection lock (shared) throughout.
 *
 * Plan (docs/PROTOCOL.md, Filter): the share of points passing is estimated
 * from a sample of COLL_FILTER_SAMPLE live points (all of them in smaller
 * collections). Exact searches, collections without an ANN index, and
 * estimated shares below COLL_FILTER_SCAN_SHARE scan the passing points
 * exactly; otherwise FAISS searches with the filter as its IDSelector and
 * efSearch raised by min(0.5 / share, 16) (at most 4096), unless the walk
 * counts kept points only (ann_sel_adaptive: the own HNSW beam search).
 * With ready payload indexes the candidate bitmap (in memory) gives the
 * exact count: it is scored exactly when at most max(1024, 2 % of the
 * points) or, for an adaptive walk, when scoring it costs no more distances
 * than the walk would (card <= COLL_FILTER_SCAN_COST * ef / share) and its
 * vectors fit in COLL_FILTER_SCAN_BYTES (past that the scan is bound by
 * memory bandwidth; the measurement is in bench/README.md, "filter").
 * After Qdrant's planner, which scans below a cardinality threshold given
 * in bytes of vectors (full_scan_threshold). An ANN search that
 * finds fewer than k passing points falls back to the exact scan, so a
 * filter that few points pass never loses results to the graph walk.
 */
#ifndef PRECIS_INDEX_COLL_FILTER_H
#define PRECIS_INDEX_COLL_FILTER_H

#include <roaring/roaring.h>

#include "coll.h"
#include "filter.h"

#define COLL_FILTER_SAMPLE     256
#define COLL_FILTER_SCAN_SHARE 0.02
#define COLL_FILTER_SCAN_COST  32.0
#define COLL_FILTER_SCAN_BYTES (2u << 20)

typedef struct {
  coll *c;
  const engine_filter *f;
  idmap memo;                    /* id -> 1 passes, 2 fails */
  uint64_t checked;              /* metadata records evaluated */
  int rc;                        /* first failure reading a record (PRECIS_OK: none) */
  precis_error err;              /* its message */
  const roaring_bitmap_t *allow; /* ANN selector: only these slots (NULL: any) */
  bool allow_decided;            /* ...and they all pass */
} coll_fctx;

/* `f` is borrowed for the life of the context. */
void coll__fctx_init(coll_fctx *x, coll *c, const engine_filter *f);
void coll__fctx_free(coll_fctx *x);
/* Whether live point `id` passes. false also on a failure, which is kept in
 * x->rc / x->err (the first one). */
bool coll__fctx_pass(coll_fctx *x, uint64_t id);
/* Top-k of the live points passing x's filter (q prepared); `rep` may be
 * NULL. */
int coll__search_filtered_locked(coll_fctx *x, const float *q, uint32_t k,
                                 const engine_search_params *sp, engine_hit *hits, size_t *nhits,
                                 engine_filter_report *rep, precis_error *err);
/* The payload indexes' candidate set for x's filter: a bitmap of live slots
 * (caller frees with roaring_bitmap_free) holding every passing point, or
 * NULL when no ready index gives a set of at most `cap` postings per lookup
 * (0: max(1024, COLL_FILTER_SCAN_SHARE of the points)). *decided: every candidate
 * passes (no need to check the metadata). */
int coll__filter_candidates(coll_fctx *x, uint64_t cap, roaring_bitmap_t **out, bool *decided,
                            precis_error *err);
/* Slot s is live and (decided, or its point passes); *id its point. */
bool coll__slot_passes(coll_fctx *x, uint32_t s, bool decided, uint64_t *id);
/* coll_search with a filter (NULL: plain coll_search); takes the lock. */
int coll_search_filtered(coll *c, const float *q, uint32_t dim, uint32_t k,
                         const engine_search_params *sp, const engine_filter *f, engine_hit *hits,
                         size_t *nhits, engine_filter_report *rep, precis_error *err);

/* coll_query.c: the collection side of engine_count_filtered,
 * engine_scroll, engine_delete_filtered and engine_set_payload (engine.h);
 * they take the lock themselves. */
int coll_count_filtered(coll *c, const engine_filter *f, uint64_t *out, precis_error *err);
int coll_scroll(coll *c, const engine_filter *f, uint64_t cursor, uint32_t limit, bool with_vectors,
                engine_point **out, size_t *n, uint64_t *next_cursor, bool *more,
                precis_error *err);
int coll_delete_filtered(coll *c, const engine_filter *f, uint64_t *deleted, precis_error *err);
int coll_set_payload(coll *c, const uint64_t *ids, size_t n, const char *meta, size_t meta_len,
                     bool merge, size_t *updated, precis_error *err);

#endif /* PRECIS_INDEX_COLL_FILTER_H */
