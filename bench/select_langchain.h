/*
 * select_langchain.h: the LangChain.js route of `precis-bench select`: runs
 * LangChain.js's own maximalMarginalRelevance (`@langchain/core/utils/math`,
 * the version scripts/fetch-langchain.sh pins) under node on the same pools,
 * query vectors, k and lambda, timed inside node (bench/langchain_mmr.cjs).
 *
 * Pools go to node through a temporary binary file (float32), never argv.
 * Where things are: node is $PRECIS_NODE or `node` on PATH; the script is
 * $PRECIS_LANGCHAIN_SCRIPT or bench/langchain_mmr.cjs; the package is under
 * $PRECIS_LANGCHAIN_DIR or .deps/langchain (both relative to the working
 * directory, else to the directory above the precis-bench binary).
 *
 * Conventions: lcjs_ prefix; the result is caller-owned, released with
 * lcjs_result_free; a route that cannot run (no node, no package) returns
 * -1 with the reason in result.why and leaves the rest of the bench alone.
 */
#ifndef PRECIS_BENCH_SELECT_LANGCHAIN_H
#define PRECIS_BENCH_SELECT_LANGCHAIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char why[256];    /* why the route did not run ("" when it ran) */
  char version[64]; /* "@langchain/core version, node version" */
  double med_ms, p99_ms;
  size_t per_pool; /* ids per pool: min(k, n) */
  uint32_t *ids;   /* pools * per_pool: LangChain's selection, in order */
} lcjs_result;

/* Runs LangChain.js MMR on `pools` pools of n x dim (vecs[p], row-major) with
 * query vectors queries[p] (dim each): `warmup` untimed calls then `reps`
 * timed calls per pool. 0 on success, -1 with out->why set otherwise. */
int lcjs_run(const float *const *queries, const float *const *vecs, int pools, size_t n, size_t dim,
             uint32_t k, float lambda, int warmup, int reps, lcjs_result *out);
void lcjs_result_free(lcjs_result *r);

#endif /* PRECIS_BENCH_SELECT_LANGCHAIN_H */
