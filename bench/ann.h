/* ann.h: what the two halves of `precis-bench ann` share (study_ann.c:
 * in-process, hnswlib and the report; ann_rpc.c: the RPC routes). */
#ifndef PRECIS_BENCH_ANN_H
#define PRECIS_BENCH_ANN_H

#include <stddef.h>
#include <stdint.h>

#define AB_DIM         100
#define AB_K           10
#define AB_MAX_LIST    16
#define AB_COLL        "glove"
#define AB_WARM        20
#define AB_MAX_POLL    4 /* --poll-us values compared */
#define AB_POLL_ROUNDS 2

typedef struct {
  size_t n, nq;
  float *base, *q;
  int32_t *gt; /* nq x 100 */
} ab_data;

typedef struct {
  uint32_t m, ef; /* ef 0 = exact */
  double recall, qps, cpu_qps, p50_ms, p99_ms;
  double rpc1_qps, rpcN_qps, rpc1_recall, rpcN_recall, rpc1_p50_ms;
  double rpcP_qps, rpcP_recall; /* one connection, pipelined */
  double hn_recall, hn_qps;     /* hnswlib in-process, same M/efC/ef */
  double hn_cpu_qps;            /* the same per thread-CPU second */
  int has_rpc, has_hn;
  /* one connection, one query in flight, per --poll-us value (best of
   * AB_POLL_ROUNDS alternating rounds); 0 = not run */
  double rpc1_poll_qps[AB_MAX_POLL], rpc1_poll_recall[AB_MAX_POLL];
  /* in-process with --pause-us between queries: queries / summed search
   * time (the pauses excluded); 0 = not run */
  double pause_qps;
} ab_row;

typedef struct {
  uint32_t m;
  double upsert_s, rebuild_s;
  uint64_t ann_total;
  double hn_build_s; /* hnswlib insert time, 0 = not run */
} ab_build;

/* recall@10 of query qi's returned ids against the ground truth. */
double ab_recall(const ab_data *d, size_t qi, const uint64_t *ids, size_t n);

/* The RPC sweep (ann_rpc.c): precisd serves `dir` (the engine closed);
 * for each row, one connection one query at a time, `conns` connections,
 * and one connection pipelined. Then, for each further --poll-us value,
 * precisd restarted with it and the one-connection sweep repeated
 * (rows' rpc1_poll_qps). Returns 0, 1 when skipped (note says why), -1
 * on failure. */
int ab_rpc(const char *dir, const ab_data *d, size_t nq, int conns, const int *poll_us, int npoll,
           ab_row *rows, size_t nrows, double *lat, char *note, size_t notelen);

#endif
