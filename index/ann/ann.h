/*
 * ann.h: the approximate-nearest-neighbour adapter over FAISS's C API.
 * The only file that includes <faiss/c_api/...> is ann.c (plus the C++
 * compatibility/extension files). FAISS's last-error convention is
 * translated here, once, into precis_status + message.
 *
 * Conventions:
 *   - Labels are dense: the i-th vector ever added gets label i (0-based).
 *     The collection layer maps labels to point ids and keeps tombstones;
 *     FAISS never sees point ids.
 *   - Metric: ANN_METRIC_IP (max inner product; cosine = IP over normalised
 *     vectors) or ANN_METRIC_L2 (squared L2).
 *   - Thread-safety: ann_search() may run concurrently with other
 *     ann_search() calls on the same handle (per-call parameters never touch
 *     the shared index); everything else needs exclusive access.
 */
#ifndef PRECIS_INDEX_ANN_H
#define PRECIS_INDEX_ANN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ann ann;

typedef enum { ANN_METRIC_IP = 0, ANN_METRIC_L2 = 1 } ann_metric;

typedef struct {
  uint32_t ef_search; /* HNSW; 0 = index default */
  uint32_t nprobe;    /* IVF; 0 = index default */
  int exact;          /* brute force over the index's full-precision vectors
                       * (ann_can_exact); ef_search and nprobe ignored */
} ann_search_params;

/* ---- index specs (issue 11) ----
 * Only these families of FAISS factory strings are accepted, with bounded
 * parameters (docs/FAISS.md, "Index specs"):
 *   Flat
 *   HNSW<M> | HNSW<M>,Flat                      M in 2..ANN_MAX_HNSW_M
 *   IVF<nlist>,Flat | IVF<nlist>,PQ<m>[x<b>] | IVF<nlist>,SQ<q>
 *                                               nlist in 1..ANN_MAX_IVF_NLIST
 *   PQ<m>[x<b>]                                 m divides dim, b in 1..12
 *   SQ<q>                                       q one of 4, 6, 8, fp16
 * Anything else is INVALID_ARGUMENT; a parameter outside its range is
 * OUT_OF_RANGE; the message names the rule. */
#define ANN_MAX_HNSW_M    128
#define ANN_MAX_IVF_NLIST 65536
#define ANN_MAX_PQ_BITS   12

/* Estimated memory of an index: fixed (centroids, codebooks) plus a cost
 * per vector added (stored codes, graph links). */
typedef struct {
  uint64_t fixed_bytes;
  uint64_t per_vector_bytes;
} ann_cost;

/* Parse and bound `spec` for vectors of `dim` (see above); *cost may be
 * NULL. */
int ann_spec_check(uint32_t dim, const char *spec, ann_cost *cost, precis_error *err);
/* Refuse (OUT_OF_RANGE) adds that would take the index's estimated memory
 * past `bytes`; 0 = no limit (the default). */
void ann_set_budget(ann *a, uint64_t bytes);
/* Give an index loaded from disk the cost estimate of `spec` (the factory
 * string it was built from), so that its budget applies again
 * (ann_check_room); an unparsable spec is refused as by ann_create. */
int ann_set_cost_spec(ann *a, const char *spec, precis_error *err);
/* Test hook (fault injection), process-wide: after `countdown` more
 * successful ann_add calls, every ann_add fails with PRECIS_E_INTERNAL;
 * -1 disables. Never set in production. */
void ann_debug_fail_adds_after(long countdown);
/* Estimated bytes the index holds now (its cost model x its vectors); 0
 * for an index whose spec has no estimate. */
uint64_t ann_memory_estimate(const ann *a);
/* 0 when n more vectors fit the budget, else OUT_OF_RANGE with a message. */
int ann_check_room(const ann *a, size_t n, precis_error *err);

/* Build an empty index from a FAISS factory string ("HNSW32", "Flat",
 * "IVF256,Flat", ...), checked by ann_spec_check() first. Bad spec ->
 * PRECIS_E_INVALID_ARGUMENT or OUT_OF_RANGE. */
int ann_create(uint32_t dim, ann_metric metric, const char *spec, ann **out, precis_error *err);
void ann_destroy(ann *a);

uint32_t ann_dim(const ann *a);
size_t ann_ntotal(const ann *a);
int ann_is_trained(const ann *a);
/* Train (IVF etc.) on n vectors; no-op for indexes that need none. */
int ann_train(ann *a, size_t n, const float *x, precis_error *err);
/* Append n vectors; they get labels ntotal .. ntotal+n-1. */
int ann_add(ann *a, size_t n, const float *x, precis_error *err);
/* ann_add that also returns each new vector's k nearest among the vectors
 * indexed before the call (labels, distances as ann_search gives them;
 * n x k, best first, -1 padded), found by the insertion itself: HNSW over
 * the fast storage only (faissx_hnsw_add_knn). *done false (and PRECIS_OK)
 * when the index is of another kind: nothing was added. On failure the
 * index may hold part of the vectors (rebuild it). */
int ann_add_knn(ann *a, size_t n, const float *x, size_t k, int64_t *labels, float *distances,
                bool *done, precis_error *err);
/* Set an index parameter by name ("efSearch", "efConstruction", "nprobe")
 * through faiss_ParameterSpace_set_index_parameter (or the extension where
 * FAISS's ParameterSpace lacks it). Unknown name -> INVALID_ARGUMENT. */
int ann_set_param(ann *a, const char *name, double value, precis_error *err);
/* k nearest for each of nq queries. dist and labels are nq*k caller arrays;
 * missing results get label -1. `p` may be NULL. */
int ann_search(const ann *a, size_t nq, const float *q, size_t k, const ann_search_params *p,
               float *dist, int64_t *labels, precis_error *err);
/* ann_search of one query restricted to the labels for which keep(ctx,
 * label) is nonzero (a FAISS IDSelector). HNSW still walks through other
 * labels, so raise ef_search as the kept share drops. keep is called on the
 * calling thread only and must not fail loudly: it records its own errors
 * in ctx. */
typedef int (*ann_keep_fn)(void *ctx, int64_t label);
/* 1 when ann_search_sel's walk stops on the ef best kept labels (HNSW over
 * full-precision storage with the own beam search), so ef_search need not
 * be raised for the kept share; 0 when it must be. */
int ann_sel_adaptive(const ann *a);
int ann_search_sel(const ann *a, const float *q, size_t k, const ann_search_params *p,
                   ann_keep_fn keep, void *ctx, float *dist, int64_t *labels, precis_error *err);
/* Exact raw distances (as ann_search reports them) from q to the vectors
 * of the n labels, in memory; UNIMPLEMENTED unless ann_can_exact(a). */
int ann_exact_distances(const ann *a, const float *q, size_t n, const int64_t *labels, float *dist,
                        precis_error *err);
/* 1 when the index holds its vectors at full precision (Flat, HNSW<M>), so
 * that ann_search with `exact` is a brute-force scan in memory; 0 for
 * compressed or transformed indexes (PQ, SQ, IVF, PCA...), where an exact
 * search with `exact` fails with UNIMPLEMENTED. */
int ann_can_exact(const ann *a);
/* The index's own full-precision vectors, label after label (ann_dim floats
 * each, ann_ntotal of them), or NULL when it keeps none (see ann_can_exact).
 * Borrowed: valid until the next ann_add/ann_train. */
const float *ann_vectors(const ann *a);
/* Write atomically: temp file, fsync, rename, fsync of the directory. */
int ann_save(const ann *a, const char *path, precis_error *err);
/* ann_save in two steps, so that the index is read under its owner's lock
 * and the slow part runs without it: ann_save_begin writes the temp file
 * (needs the index unchanged meanwhile, like ann_search); ann_save_finish
 * syncs and renames it (index not touched) and frees *p either way;
 * ann_save_abort removes the temp file and frees p (NULL is a no-op). */
typedef struct ann_pending ann_pending;
int ann_save_begin(const ann *a, const char *path, ann_pending **p, precis_error *err);
int ann_save_finish(ann_pending *p, precis_error *err);
void ann_save_abort(ann_pending *p);
/* 1 when the index is a plain Flat index (IndexFlat), else 0. */
int ann_is_flat(const ann *a);
/* Missing file -> NOT_FOUND; unreadable or corrupt -> CORRUPTION. */
int ann_load(const char *path, ann **out, precis_error *err);

/* Static description of the FAISS build linked in. */
const char *ann_faiss_build(void);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_INDEX_ANN_H */
