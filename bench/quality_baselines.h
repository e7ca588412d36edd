/*
 * quality_baselines.h: the selection baselines of `precis-bench quality`,
 * run on the same candidate pool as Precis (the ANN top-`pool` points):
 *
 *   cosine MMR (LangChain's maximal_marginal_relevance): repeatedly pick
 *     argmax  lambda * cos(q, d) - (1 - lambda) * max_{s in S} cos(d, s)
 *     (the first pick is the most similar point);
 *   greedy log-det (a DPP MAP by greedy inclusion): L = diag(w) S diag(w),
 *     S the cosine Gram matrix of the pool, quality w_i = exp(theta *
 *     cos(q, d_i)); each step adds the point that most increases
 *     log det(L_S) (incremental Cholesky, Chen et al. 2018). When no point
 *     adds volume any more, the rest are filled in by similarity.
 *
 * qbl_pool holds what both need, computed once per query.
 */
#ifndef PRECIS_BENCH_QUALITY_BASELINES_H
#define PRECIS_BENCH_QUALITY_BASELINES_H

#include <stddef.h>

typedef struct {
  size_t n;
  double *rel;  /* n: cos(q, d_i) */
  double *gram; /* n x n: cos(d_i, d_j) */
} qbl_pool;

/* Builds the pool of n vectors (n x dim, unit length) for query q. 0 or -1. */
int qbl_pool_init(qbl_pool *p, const float *q, const float *vecs, size_t n, size_t dim);
void qbl_pool_free(qbl_pool *p);

/* Pick k (or n when fewer) pool indices into sel; returns how many. */
size_t qbl_cos_mmr(const qbl_pool *p, double lambda, size_t k, size_t *sel);
size_t qbl_logdet(const qbl_pool *p, double theta, size_t k, size_t *sel);

#endif
