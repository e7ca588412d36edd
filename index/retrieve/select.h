/*
 * select.h: choosing the final set from a candidate pool. Pure math over
 * vectors and relevance: no RocksDB, no FAISS, no I/O.
 *
 * Modes:
 *   SELECT_TOPK      the k most relevant (ties broken by lower pool index).
 *   SELECT_MMR       maximal marginal relevance, on one scale:
 *                    argmax lambda*qual(i) - (1-lambda)*max_{s in S} sim(i,s)
 *                    with qual in the units of sim (cosine): lambda 1 is
 *                    TOPK by quality, 0 the most diverse set.
 *   SELECT_COMPRESS  lazy greedy on the monotone submodular
 *                    F(S) = a*sum_{s in S} rel(s)
 *                         + b*sum_{v in pool} rel(v)*max(0, max_{s in S} sim(v,s))
 *                         + c*log det(I + L_S),  L = diag(q) K diag(q),
 *                    q_i = 30 * exp(theta*(qual(i) - max qual)), K = pool
 *                    similarity matrix (the constant makes the identity a
 *                    negligible regulariser: greedy picks the DPP's picks).
 *                    With b = c = 0 the result equals SELECT_TOPK.
 * Budgets: k (count) and optionally a token budget (each point costs its
 * token count). A budget is a constraint in every mode, never a preference:
 * the picks are the mode's own, among the items that still fit, and the
 * set never exceeds it.
 *
 * Conventions: similarity is the dot product of the given vectors, which the
 * caller L2-normalises. Pointers in select_pool are borrowed for the call.
 * select_result is caller-owned; its arrays are allocated by select_run and
 * released with select_result_free. Deterministic for the same input.
 */
#ifndef PRECIS_INDEX_SELECT_H
#define PRECIS_INDEX_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "precis/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SELECT_COMPRESS = 0, SELECT_TOPK = 1, SELECT_MMR = 2 } select_mode;

typedef enum {
  SELECT_COVER_EXACT = 0,  /* full pool x pool similarities (BLAS ssyrk) */
  SELECT_COVER_SPARSE = 1, /* only the neighbour lists given in the pool */
  SELECT_COVER_SAMPLE = 2, /* a deterministic sample of the pool */
  SELECT_COVER_AUTO = 3    /* EXACT while it is cheap, else a fast form */
} select_coverage;

/* AUTO: EXACT while n*n*(dim + SELECT_AUTO_ROW_COST) is at most
 * SELECT_AUTO_EXACT_WORK; above it SPARSE when the pool carries its
 * neighbour lists (nbr_off != NULL), else SAMPLE (sample points, default
 * 128). EXACT costs the Gram matrix (n*n*dim/2 multiply-adds in ssyrk, at
 * the BLAS peak) plus about 100 float operations' worth per pool pair
 * outside BLAS (mirroring, the lazy coverage gains: about 3.5 passes over G),
 * hence the two terms. 2.6e8 bounds EXACT at about the latency of the old
 * bound's worst case (n*n*dim <= 1.25e8 at 100-d, pool 1,118): it switches
 * at n = 732 at 384-d (was 570) and n = 1,140 at 100-d (was 1,118); pool
 * 300 at 384-d and pool 1,000 at 100-d stay EXACT, pool 1,000 at 384-d
 * (4.8e8) goes to a fast form. The timings behind it come from
 * `precis-bench select` and live in bench/README.md ("select"). */
#define SELECT_AUTO_ROW_COST   100ull
#define SELECT_AUTO_EXACT_WORK 260000000ull

/* The form `requested` resolves to for a pool of n points of dimension dim
 * (has_lists: the pool carries neighbour lists). Only AUTO changes; every
 * other value, valid or not, is returned as it is. */
select_coverage select_coverage_resolve(select_coverage requested, size_t n, size_t dim,
                                        int has_lists);

typedef struct {
  size_t n; /* pool size, >= 1 */
  size_t dim;
  const float *vectors;   /* n*dim row-major, L2-normalised */
  const float *relevance; /* n values, expected in [0,1]: the order of
                               TOPK, the a-term and the coverage weights */
  /* Optional: n values in the units of the pool similarities (cosine to
   * the query, graph boost included), finite. MMR's relevance and the
   * log-det quality q = exp(theta*quality) use it, so that relevance and
   * redundancy share one scale. NULL: relevance is used. */
  const float *quality;
  const uint32_t *tokens; /* n token counts; may be NULL without a budget */
  /* Optional sparse neighbourhood (CSR) for SELECT_COVER_SPARSE: the
   * neighbours of pool point v are nbr_idx[nbr_off[v] .. nbr_off[v+1]) with
   * similarities nbr_sim[...]. Self-similarity (1) is implied. */
  const uint32_t *nbr_off;
  const uint32_t *nbr_idx;
  const float *nbr_sim;
  /* Optional neighbourhoods for COMPRESS's log-det similarity: the set
   * A_v of pool point v (its kNN-graph neighbours and itself, as keys that
   * name points, sorted ascending, no repeats) is
   * set_ids[set_off[v] .. set_off[v+1]).
   * With params.shared > 0 the log-det term compares i and j by
   *   (1 - shared)*sim(i,j) + shared*|A_i & A_j| / sqrt(|A_i| |A_j|),
   * a sum of two positive semidefinite kernels with unit diagonal. NULL:
   * the similarity alone. */
  const uint32_t *set_off;
  const uint64_t *set_ids;
} select_pool;

typedef struct {
  select_mode mode;
  uint32_t k;            /* >= 1 */
  uint64_t token_budget; /* 0 = none */
  float lambda;          /* MMR, in [0,1] */
  float a, b, c;         /* COMPRESS weights, >= 0, not all 0 */
  float theta;           /* volume quality exponent, >= 0 */
  /* Similarity floor of MMR and COMPRESS, in [0,1]; 0 = off (TOPK needs
   * none: it is the top). With m the mean quality of what TOPK takes (the
   * kmax = min(k, n) best points; with a token budget the best that fit),
   * the selection keeps its mean quality >= m - (1-floor)|m|:
   *   count only: a candidate is taken only if the set can still be filled
   *     up to kmax with the best remaining points and meet the floor, so
   *     the mean holds for every query (the best remaining point is always
   *     admissible, so the set is never short);
   *   token budget: the running mean of the set must meet it at every
   *     step; when no fitting candidate does, the selection stops there
   *     (the set may then be shorter than TOPK's, never below the floor).
   * In count mode a candidate the floor turns away never becomes
   * admissible again (the bound on the rest only rises). */
  float floor;
  /* Weight of shared neighbours beside the cosine, [0,1], in COMPRESS's
   * log-det similarity and in MMR's redundancy (used only when the pool
   * carries set_off/set_ids; 0 = the cosine alone). */
  float shared;
  select_coverage coverage;
  uint32_t sample; /* SAMPLE: pool points used for coverage */
  uint64_t seed;   /* SAMPLE: deterministic seed */
} select_params;

/* Defaults: COMPRESS, k 10, lambda 0.5, a 0, b 0, c 1, theta 2, floor 0
 * (off: retrieve sets the automatic floor), AUTO, sample 128 (chosen by
 * measurement, see select.c). */
void select_params_default(select_params *p);

typedef struct {
  size_t n;              /* selected count */
  uint32_t *idx;         /* n pool indices, in selection order */
  float *gain;           /* n marginal gains of F (mode's own score for
                                TOPK/MMR: relevance / MMR score) */
  uint32_t *represents;  /* n: pool points whose most similar selected
                                point is this one (ties: earliest selected) */
  uint32_t *assign;      /* pool n: position in idx of each pool point's
                                representative */
  double objective;      /* F(S) with the given a, b, c */
  double coverage_ratio; /* sum rel(v)*max sim(v,S) / sum rel(v) */
  double redundancy;     /* mean pairwise similarity inside S (0 if n<2) */
  double mean_relevance;
  select_coverage coverage; /* the form that ran: EXACT, SPARSE or SAMPLE,
                                never AUTO. Only COMPRESS with b > 0 computes
                                coverage; other modes report the form AUTO
                                (or the requested form) resolved to. */
} select_result;

/* The one diversity knob of COMPRESS, in [0, 1]: 0 is TOPK, 1 the most
 * diverse end of the curve. It sets theta of the log-det quality,
 *   theta(d) = SELECT_DIVERSITY_THETA_MID * RATIO^(1 - 2d)
 * (35.9 at d = 0.1, 12.2 at 0.25, 2 at 0.5, 0.33 at 0.75, 0.05 at 1),
 * capped at PRECIS_MAX_THETA, and the similarity floor
 * 1 - PRECIS_FLOOR_SPAN * d (select_floor_for_diversity), which together
 * move the result from TOPK towards more distinct items. The mapping was
 * fitted on some corpora and reported on others (docs/RETRIEVAL.md). */
#define SELECT_DIVERSITY_THETA_MID   2.0
#define SELECT_DIVERSITY_THETA_RATIO 37.0
/* |quality| bound (q itself cannot overflow: 30 * exp(theta * (quality -
 * max)) <= 30); callers clamp (retrieve does), select_run refuses more. */
#define SELECT_MAX_QUALITY 5.0f
float select_theta_for_diversity(float diversity);
/* The automatic similarity floor for a diversity d (COMPRESS) or 1 - lambda
 * (MMR): 1 - PRECIS_FLOOR_SPAN * d, d clamped to [0, 1]. */
float select_floor_for_diversity(float diversity);
/* Applies a diversity to COMPRESS params: d <= 0 switches to SELECT_TOPK
 * (exactly the TOPK end); theta = select_theta_for_diversity(d) and
 * floor = select_floor_for_diversity(d). a, b, c are left as they are. */
void select_params_set_diversity(select_params *p, float diversity);

/* Runs the selection. On failure (bad parameters -> OUT_OF_RANGE or
 * INVALID_ARGUMENT, allocation -> NO_MEMORY) *out is left empty. */
int select_run(const select_pool *pool, const select_params *p, select_result *out,
               precis_error *err);
void select_result_free(select_result *r);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_INDEX_SELECT_H */
