/*
 * faiss_ext.h: the few FAISS operations Precis needs that FAISS's C API
 * lacks (implemented in faiss_ext.cpp, compiled in every build mode).
 *
 * Same conventions as the C API: a FaissIndex* is a faiss::Index*; functions
 * that can fail return 0 on success and a negative FaissErrorCode on failure,
 * with the message available from faiss_get_last_error() (the extension sets
 * FAISS's own thread-local faiss_last_exception, so this holds both with the
 * compatibility layer and with a real libfaiss_c).
 */
#ifndef PRECIS_INDEX_FAISS_EXT_H
#define PRECIS_INDEX_FAISS_EXT_H

#include <stddef.h>

#include <faiss/c_api/Index_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* k-NN search of n queries with per-call parameters that never modify the
 * (shared, const) index, so concurrent calls with different parameters are
 * safe. ef_search (HNSW, also an IVF's HNSW quantizer) and nprobe (IVF):
 * 0 = the index's own default; a parameter that does not apply to the index
 * type is ignored. Never uses more OpenMP threads than there are queries. */
int faissx_search(const FaissIndex *index, idx_t n, const float *x, idx_t k, int ef_search,
                  size_t nprobe, float *distances, idx_t *labels);

/* faissx_search restricted to the labels for which keep(ctx, label) returns
 * nonzero (a faiss::IDSelector over the callback; Flat, HNSW and IVF honour
 * it in FAISS >= 1.7.3). HNSW walks through non-members but returns only
 * members, so at low selectivity a larger ef_search is needed. keep must not
 * throw; it is called from the searching thread(s). */
typedef int (*faissx_keep_fn)(void *ctx, idx_t label);
/* 1 when faissx_search_sel of one query runs the own beam search, whose ef
 * best and stop rule count members only (so ef_search need not grow as the
 * kept share drops); 0 for FAISS's own loops. */
int faissx_sel_adaptive(const FaissIndex *index);
int faissx_search_sel(const FaissIndex *index, idx_t n, const float *x, idx_t k, int ef_search,
                      size_t nprobe, faissx_keep_fn keep, void *ctx, float *distances,
                      idx_t *labels);

/* The flat index holding `index`'s vectors at full precision: the index
 * itself when it is an IndexFlat, the storage of an IndexHNSWFlat; NULL when
 * the index keeps only codes (PQ, SQ, IVF) or transforms its input. Borrowed:
 * valid as long as `index` and not modified by adds to it (the storage grows
 * with the index). Searching it is a brute-force scan of the same labels. */
const FaissIndex *faissx_exact_view(const FaissIndex *index);

/* Exact distances (inner product, or squared L2, as the index's metric)
 * between query x and the n vectors with the given labels, read from the
 * full-precision storage (faissx_exact_view). -1 when the index has none or
 * a label is out of range. */
int faissx_exact_distances(const FaissIndex *index, const float *x, idx_t n, const idx_t *labels,
                           float *distances);
/* The full-precision vectors of faissx_exact_view(index), row after row
 * (d floats each, labels 0..ntotal-1), or NULL when it is NULL. Borrowed:
 * valid until the next add to the index. */
const float *faissx_flat_vectors(const FaissIndex *index);

/* Give an HNSW index over flat float storage distance kernels built for
 * AVX2/FMA, when the CPU has them (chosen at run time; the environment
 * variable PRECIS_FAISS_KERNELS=generic keeps FAISS's own, for comparison).
 * Results are those of FAISS's kernels up to float rounding; the index is
 * saved and loaded as before. 1 when swapped, 0 when left as it is,
 * negative on error (see the conventions above). Needs exclusive access. */
int faissx_accelerate(FaissIndex *index);

/* Add n vectors to an HNSW index over the fast storage (after
 * faissx_accelerate) on every OpenMP thread (hnsw_add.cpp), and give each
 * new vector i its k nearest among the vectors indexed before this call:
 * labels[i*k..] and distances[i*k..] (the index's convention: inner product,
 * or squared L2), best first, -1 padded; vectors of this call are never
 * listed. They come from the insertion's own level-0 search
 * (efConstruction candidates, exact distances). 0 on success; 1 when the
 * index is of another kind (or PRECIS_HNSW_ADD=faiss): nothing was added,
 * use faiss_Index_add; negative on error (the index may then hold some of
 * the vectors: rebuild it). k may be 0 (labels and distances unused: a plain
 * add). Needs exclusive access. */
int faissx_hnsw_add_knn(FaissIndex *index, idx_t n, const float *x, idx_t k, idx_t *labels,
                        float *distances);

/* 1 if the last FAISS error of this thread was an allocation failure. Only
 * exact where the exception was stored unsliced (compat layer, extension);
 * a real libfaiss_c stores std exceptions sliced, which reads as 0. */
int faissx_last_error_is_oom(void);

/* Static "faiss X.Y.Z (<PRECIS_FAISS_DESC>)" of the headers built against. */
const char *faissx_build_desc(void);

#ifdef __cplusplus
} /* extern "C" */

/* C++ only, shared with faiss_compat.cpp: call inside a catch block; stores
 * the in-flight exception in faiss_last_exception and returns the C API
 * code (-2 FaissException, -4 std::exception, -1 anything else). */
int faissx_store_current_exception() noexcept;
#endif

#endif /* PRECIS_INDEX_FAISS_EXT_H */
