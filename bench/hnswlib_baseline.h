/*
 * hnswlib_baseline.h: a small C-callable baseline over hnswlib (Debian's
 * header-only libhnswlib-dev, 0.6.2 on Debian 12), so precis-bench and
 * bench/faiss_vs_hnswlib.cc can compare FAISS's HNSW with hnswlib's on the
 * same data. Inner-product metric only (cosine over normalised vectors),
 * which is what the glove/wordnet data sets are.
 *
 * Conventions (the same as index/ann/ann.h):
 *   - Labels are dense: the i-th vector ever added gets label i (0-based).
 *   - Scores are inner products, higher is better, best first; missing
 *     results get label -1 and score -INFINITY.
 *   - Not thread-safe: one call at a time per handle (hnswlib keeps efSearch
 *     and search counters in the index).
 *
 * Built without libhnswlib-dev installed, every function is a stub:
 * hnswb_available() returns 0 and hnswb_create() returns NULL.
 */
#ifndef PRECIS_BENCH_HNSWLIB_BASELINE_H
#define PRECIS_BENCH_HNSWLIB_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hnswb hnswb;

/* 1 when compiled against hnswlib, 0 for the stubs. */
int hnswb_available(void);
/* "hnswlib 0.6.2 (AVX)" etc.: the library and the SIMD level it was
 * compiled for (hnswlib picks SSE/AVX/AVX512 at compile time from the
 * compiler's -m flags). Static string. */
const char *hnswb_desc(void);

/* An empty inner-product index for up to max_elements vectors of `dim`
 * floats; M and ef_construction as in hnswlib (and FAISS: "HNSW<M>",
 * efConstruction). NULL on bad arguments, out of memory or no hnswlib. */
hnswb *hnswb_create(uint32_t dim, uint32_t M, uint32_t ef_construction, size_t max_elements);
void hnswb_destroy(hnswb *h);

/* Appends n vectors (n*dim floats) one by one; they get labels
 * size .. size+n-1. 0 on success, -1 when the capacity would be exceeded
 * or hnswlib fails (nothing is added then in the capacity case). */
int hnswb_add(hnswb *h, size_t n, const float *x);
/* Vectors added so far. */
size_t hnswb_size(const hnswb *h);

/* The k best for one query `q` (dim floats) with search breadth `ef`
 * (hnswlib uses max(ef, k); ef 0 = hnswlib's default 10). labels and
 * scores are k-element caller arrays. Returns the number found (<= k), -1
 * on error. */
int hnswb_search(hnswb *h, const float *q, size_t k, size_t ef, int64_t *labels, float *scores);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_BENCH_HNSWLIB_BASELINE_H */
