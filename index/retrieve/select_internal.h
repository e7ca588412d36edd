/*
 * select_internal.h: private interface between the parts of the selection
 * module. Not installed, not for other modules.
 *
 *   select.c           API, parameter validation, TOPK, MMR, the result
 *                      statistics (assign, represents, objective, ...).
 *   select_compress.c  COMPRESS: lazy greedy on the submodular objective.
 *
 * A select_work carries one call: the validated pool and parameters, the
 * selection being built (idx/gain in order) and the similarity rows of the
 * selected points, which the statistics reuse when a mode already computed
 * them.
 */
#ifndef PRECIS_INDEX_SELECT_INTERNAL_H
#define PRECIS_INDEX_SELECT_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "select.h"

/* Shared-neighbour bitsets of one call (select_shared.c): bits[v*words ..]
 * holds pool point v's keys that occur in two sets or more; NULL: merge
 * the sorted sets instead. */
typedef struct {
  size_t words;
  uint64_t *bits;
} select_sets;

typedef struct {
  const select_pool *pool;
  const select_params *p; /* coverage resolved: never SELECT_COVER_AUTO */
  size_t kmax;            /* min(k, n) */
  uint32_t *idx;          /* kmax: selection, in order */
  float *gain;            /* kmax */
  size_t cnt;             /* selected so far */
  float *rows;            /* kmax x n: rows[t*n + v] = sim(idx[t], v) ... */
  size_t rows_cnt;        /* ... valid for t < rows_cnt (a prefix of idx) */
  select_sets sets;       /* when the similarity mixes in shared neighbours */
} select_work;

/* Cost of a point for the token budget (0 without a budget). */
static inline uint64_t select_cost(const select_pool *pool, uint32_t i) {
  return pool->tokens ? pool->tokens[i] : 0;
}

/* The quality of pool point i: pool->quality[i], or relevance without it. */
static inline float select_quality(const select_pool *pool, size_t i) {
  return pool->quality ? pool->quality[i] : pool->relevance[i];
}

/* The log-det quality of pool point i:
 *   q_i = SELECT_Q_TOP * exp(theta * (quality_i - qmax)),  qmax = max quality.
 * Scaling every q by one constant leaves the DPP's MAP (det L_S) where it
 * is, but not that of det(I + L_S): with q near 1 (small theta) the identity
 * weighs, and greedy on det(I + L_S) chose measurably less diverse sets than
 * the DPP at the same theta (0.12-0.17 fewer labels on pydoc at theta <= 1).
 * With the best quality at SELECT_Q_TOP (q^2 = 900) the identity is a
 * 0.1 % regularisation: the objective stays monotone submodular, its greedy
 * picks what the DPP's greedy picks on the study corpora (bench/emu), and q
 * never overflows. A larger constant would only lose float precision in
 * the Schur complements of near-duplicates. */
#define SELECT_Q_TOP 30.0
double select_quality_max(const select_pool *pool);
static inline double select_q(const select_pool *pool, size_t i, double theta, double qmax) {
  return SELECT_Q_TOP * exp(theta * ((double)select_quality(pool, i) - qmax));
}

/* The similarity floor (select_params.floor) of one call. Quality sums are
 * in double; a slack of 1e-9 per item absorbs rounding, so the best
 * remaining point is always admissible in count mode. */
typedef struct {
  bool on;
  bool running; /* token budget: the running mean must hold */
  size_t kmax;
  double need;     /* the per-item mean to keep: m - (1 - floor)|m|, m the
                       mean quality of what TOPK takes */
  double eps;      /* rounding slack of a whole set */
  double tot;      /* quality sum of the selection */
  uint32_t *order; /* the norder best pool points by quality desc, ties
                      lower index (count mode: 2 kmax + 1; budget: all) */
  size_t norder;
  uint32_t *rank; /* rank[i] = position of i in order, UINT32_MAX if none */
  unsigned char *taken;
  /* select_floor_step: the best rem = kmax - cnt - 1 remaining points */
  double base; /* their quality sum */
  double next; /* quality of the (rem + 1)-th remaining point */
  size_t cut;  /* i (not taken) is among them iff rank[i] < cut */
  size_t cnt;  /* selections when the step was prepared */
} select_floor;

/* Sets up the floor for w: off when w->p->floor is 0 or the pool has no
 * more than kmax points (every point is then taken). Returns PRECIS_OK or
 * PRECIS_E_NO_MEMORY; call select_floor_free in every case. */
int select_floor_init(select_floor *f, const select_work *w);
void select_floor_free(select_floor *f);
/* Prepares the admissibility checks for the next pick (w->cnt made). */
void select_floor_step(select_floor *f, const select_work *w);
/* May pool point i be the next pick? (true when the floor is off) */
bool select_floor_ok(const select_floor *f, const select_work *w, uint32_t i);
/* Records pick i (call after every pick, also with the floor off). */
void select_floor_take(select_floor *f, const select_work *w, uint32_t i);
/* The pick when the floor admitted no candidate: in count mode the best
 * point not taken (admissible in exact arithmetic; this guards rounding);
 * with a token budget none (n): the selection stops there. */
size_t select_floor_fallback(const select_floor *f, const select_work *w);

/* Whether the log-det term and MMR's redundancy mix in shared neighbours
 * (select.h). */
static inline bool select_mixes(const select_pool *pool, const select_params *p) {
  return p->shared > 0.0f && pool->set_off && pool->set_ids;
}
/* Shared neighbours (select_shared.c). validate: the sets are sorted and
 * in range of set_off; build: the bitsets of w (PRECIS_OK or
 * PRECIS_E_NO_MEMORY; nothing to do unless select_mixes); free: always. */
int select_sets_validate(const select_pool *pool, precis_error *err);
int select_sets_build(select_work *w);
void select_sets_free(select_work *w);
/* |A_i & A_j| / sqrt(|A_i| |A_j|) of two pool points' neighbourhoods. */
double select_shared_sim(const select_work *w, uint32_t i, uint32_t j);
/* The log-det similarity row of j: out[v] = (1 - shared)*krow[v] +
 * shared*select_shared_sim(j, v) (out is not krow). */
void select_mix_row(const select_work *w, uint32_t j, const float *krow, float *out);

/* row[v] = <vectors[j], vectors[v]> for every pool point v (one sgemv). */
void select_sim_row(const select_pool *pool, uint32_t j, float *row);

/* COMPRESS over a validated pool/params; fills w->idx/gain/cnt and, where
 * it computed them, w->rows. Returns PRECIS_OK or PRECIS_E_NO_MEMORY. */
int select_compress_run(select_work *w, precis_error *err);

#endif /* PRECIS_INDEX_SELECT_INTERNAL_H */
