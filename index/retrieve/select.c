/*
 * select.c: the selection API (select.h): default parameters, validation,
 * the TOPK and MMR modes, and the statistics every result carries.
 * COMPRESS lives in select_compress.c.
 *
 * Statistics (all modes, so that users can compare modes):
 *   - the similarity rows of the selected points (k x n) come from the mode
 *     when it already computed them (MMR, COMPRESS), else from one sgemm;
 *   - assign/represents: each pool point goes to its most similar selected
 *     point, ties to the earliest selected;
 *   - objective: F(S) = a*sum rel + b*coverage + c*log det(I + L_S), always
 *     evaluated exactly (true similarities, dense Cholesky of I + L_S), also
 *     when COMPRESS optimised a SPARSE or SAMPLE surrogate of the coverage;
 *   - coverage_ratio = sum_v rel(v)*max(0, max_s sim(v,s)) / sum_v rel(v),
 *     clamped to [0,1] (0 when all relevance is 0);
 *   - redundancy: mean pairwise similarity inside S; mean_relevance.
 * If a token budget leaves nothing selectable, the result is empty (n = 0),
 * assign[] is all UINT32_MAX and the statistics are 0.
 *
 * Coverage AUTO is resolved once, before the SAMPLE/SPARSE input checks
 * (select_coverage_resolve, threshold in select.h); the modes see the
 * resolved form and the result reports it (select_result.coverage).
 *
 * Input checks: relevance must be finite and in [0,1] (checked first);
 * non-finite vector components are detected after the selection, from the
 * similarity row of the first selected point (any NaN/inf component makes
 * that row non-finite), and fail the call with INVALID_VECTOR - cheaper
 * than a pass over all n*dim components on every query. Vectors are
 * otherwise trusted to be L2-normalised.
 */
#include "select.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "precis/limits.h"
#include "select_internal.h"

/* The defaults, in one place (tuned by bench/study_select.c). */
#define SELECT_DEFAULT_MODE   SELECT_COMPRESS
#define SELECT_DEFAULT_K      PRECIS_DEFAULT_K
#define SELECT_DEFAULT_LAMBDA PRECIS_DEFAULT_LAMBDA
/* Chosen across corpora (docs/RETRIEVAL.md, "How the defaults were
 * chosen"): the log-det term with quality exp(theta*cosine) alone (a = b =
 * 0) lies on the relevance/diversity front of MMR and greedy log-det; the
 * coverage term moved COMPRESS below it. theta comes from `diversity`
 * (select_theta_for_diversity). */
#define SELECT_DEFAULT_A     PRECIS_DEFAULT_A
#define SELECT_DEFAULT_B     PRECIS_DEFAULT_B
#define SELECT_DEFAULT_C     PRECIS_DEFAULT_C
#define SELECT_DEFAULT_THETA PRECIS_DEFAULT_THETA
/* AUTO: EXACT on small pools, SAMPLE/SPARSE where the Gram matrix would
 * dominate (select.h, SELECT_AUTO_EXACT_WORK; bench/README.md "select"). */
#define SELECT_DEFAULT_COVERAGE SELECT_COVER_AUTO
#define SELECT_DEFAULT_SAMPLE   128u
#define SELECT_DEFAULT_SEED     0x5eed5e1ec7ULL
#define SELECT_MAX_THETA        PRECIS_MAX_THETA

float select_theta_for_diversity(float diversity) {
  if (!(diversity > 0.0f)) return SELECT_MAX_THETA;
  if (diversity > 1.0f) diversity = 1.0f;
  double t = SELECT_DIVERSITY_THETA_MID * pow(SELECT_DIVERSITY_THETA_RATIO, 1.0 - 2.0 * diversity);
  return t > SELECT_MAX_THETA ? SELECT_MAX_THETA : (float)t;
}

float select_floor_for_diversity(float diversity) {
  if (!(diversity > 0.0f)) return 1.0f;
  if (diversity > 1.0f) diversity = 1.0f;
  return 1.0f - PRECIS_FLOOR_SPAN * diversity;
}

void select_params_set_diversity(select_params *p, float diversity) {
  p->theta = select_theta_for_diversity(diversity);
  p->floor = select_floor_for_diversity(diversity);
  if (!(diversity > 0.0f)) p->mode = SELECT_TOPK; /* the TOPK end, exactly */
}

void select_params_default(select_params *p) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->mode = SELECT_DEFAULT_MODE;
  p->k = SELECT_DEFAULT_K;
  p->token_budget = 0;
  p->lambda = SELECT_DEFAULT_LAMBDA;
  p->a = SELECT_DEFAULT_A;
  p->b = SELECT_DEFAULT_B;
  p->c = SELECT_DEFAULT_C;
  p->theta = SELECT_DEFAULT_THETA;
  p->coverage = SELECT_DEFAULT_COVERAGE;
  p->sample = SELECT_DEFAULT_SAMPLE;
  p->seed = SELECT_DEFAULT_SEED;
}

select_coverage select_coverage_resolve(select_coverage requested, size_t n, size_t dim,
                                        int has_lists) {
  if (requested != SELECT_COVER_AUTO) return requested;
  /* n <= PRECIS_MAX_POOL and dim <= PRECIS_MAX_DIM after validation; the
   * saturating product keeps unchecked callers from wrapping around */
  unsigned long long nn = (unsigned long long)n, d = (unsigned long long)dim;
  unsigned long long work = ULLONG_MAX;
  if (d <= ULLONG_MAX - SELECT_AUTO_ROW_COST) d += SELECT_AUTO_ROW_COST;
  if (nn <= 0xffffffffull && (nn * nn == 0 || d <= ULLONG_MAX / (nn * nn))) work = nn * nn * d;
  if (work <= SELECT_AUTO_EXACT_WORK) return SELECT_COVER_EXACT;
  return has_lists ? SELECT_COVER_SPARSE : SELECT_COVER_SAMPLE;
}

void select_result_free(select_result *r) {
  if (!r) return;
  free(r->idx);
  free(r->gain);
  free(r->represents);
  free(r->assign);
  memset(r, 0, sizeof *r);
}

double select_quality_max(const select_pool *pool) {
  double m = -INFINITY;
  for (size_t i = 0; i < pool->n; i++)
    if (select_quality(pool, i) > m) m = select_quality(pool, i);
  return pool->n ? m : 0.0;
}

void select_sim_row(const select_pool *pool, uint32_t j, float *row) {
  cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)pool->n, (int)pool->dim, 1.0f, pool->vectors,
              (int)pool->dim, pool->vectors + (size_t)j * pool->dim, 1, 0.0f, row, 1);
}

/* ---- validation ---- */

static bool select_weight_ok(float x) { return isfinite(x) && x >= 0.0f; }

static int select_validate_sparse(const select_pool *pool, precis_error *err) {
  if (!pool->nbr_off || !pool->nbr_idx || !pool->nbr_sim)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "select: SPARSE coverage needs nbr_off, nbr_idx and nbr_sim");
  for (size_t v = 0; v < pool->n; v++) {
    if (pool->nbr_off[v + 1] < pool->nbr_off[v])
      return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                              "select: nbr_off decreases at pool point %zu", v);
  }
  for (uint32_t e = pool->nbr_off[0]; e < pool->nbr_off[pool->n]; e++) {
    if (pool->nbr_idx[e] >= pool->n)
      return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                              "select: neighbour %u of entry %u outside the pool of %zu",
                              pool->nbr_idx[e], e, pool->n);
    if (!isfinite(pool->nbr_sim[e]))
      return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                              "select: neighbour similarity %u is not finite", e);
  }
  return PRECIS_OK;
}

/* Non-finite floats have an all-ones exponent; OR-reduce a flag without an
 * early exit (explicit SIMD where the compiler has vector extensions). */
static bool select_all_finite(const float *x, size_t count) {
  const uint32_t mask = 0x7f800000u;
  uint32_t bad = 0;
  size_t i = 0;
#if defined(__GNUC__)
  typedef uint32_t v4u __attribute__((vector_size(16)));
  v4u acc = {0, 0, 0, 0}, vm = {mask, mask, mask, mask};
  for (; i + 4 <= count; i += 4) {
    v4u u;
    memcpy(&u, x + i, sizeof u);
    acc |= (v4u)((u & vm) == vm);
  }
  bad = acc[0] | acc[1] | acc[2] | acc[3];
#endif
  for (; i < count; i++) {
    uint32_t u;
    memcpy(&u, &x[i], sizeof u);
    bad |= (uint32_t)((u & mask) == mask);
  }
  return bad == 0;
}

/* Checks pool and parameters; *cov receives the coverage form to run
 * (AUTO resolved), which the SAMPLE and SPARSE checks apply to. */
static int select_validate(const select_pool *pool, const select_params *p, select_coverage *cov,
                           precis_error *err) {
  if (!pool || !p)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "select: NULL pool or params");
  if (pool->n == 0) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "select: empty pool");
  if (pool->dim == 0)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "select: dimension 0");
  if (pool->n > PRECIS_MAX_POOL)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "select: pool of %zu exceeds PRECIS_MAX_POOL (%d)", pool->n,
                            PRECIS_MAX_POOL);
  if (pool->dim > PRECIS_MAX_DIM)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "select: dimension %zu exceeds PRECIS_MAX_DIM (%d)", pool->dim,
                            PRECIS_MAX_DIM);
  if (!pool->vectors || !pool->relevance)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "select: pool vectors or relevance is NULL");
  if (p->mode != SELECT_COMPRESS && p->mode != SELECT_TOPK && p->mode != SELECT_MMR)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "select: unknown mode %d",
                            (int)p->mode);
  if (p->coverage != SELECT_COVER_EXACT && p->coverage != SELECT_COVER_SPARSE &&
      p->coverage != SELECT_COVER_SAMPLE && p->coverage != SELECT_COVER_AUTO)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "select: unknown coverage %d",
                            (int)p->coverage);
  *cov = select_coverage_resolve(p->coverage, pool->n, pool->dim, pool->nbr_off != NULL);
  if (p->k < 1) return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "select: k must be >= 1");
  if (!(p->lambda >= 0.0f && p->lambda <= 1.0f))
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "select: lambda must be in [0,1]");
  if (!select_weight_ok(p->a) || !select_weight_ok(p->b) || !select_weight_ok(p->c))
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "select: weights a, b, c must be finite and >= 0");
  if (p->a == 0.0f && p->b == 0.0f && p->c == 0.0f)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "select: weights a, b, c are all 0");
  if (!(p->theta >= 0.0f && p->theta <= SELECT_MAX_THETA))
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "select: theta must be in [0,%g]",
                            (double)SELECT_MAX_THETA);
  if (!(p->floor >= 0.0f && p->floor <= 1.0f))
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "select: floor must be in [0,1]");
  if (!(p->shared >= 0.0f && p->shared <= 1.0f))
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "select: shared must be in [0,1]");
  if (p->token_budget > PRECIS_MAX_TOKEN_BUDGET)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "select: token budget exceeds PRECIS_MAX_TOKEN_BUDGET (%u)",
                            PRECIS_MAX_TOKEN_BUDGET);
  if (p->token_budget > 0 && !pool->tokens)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "select: a token budget needs the pool's token counts");
  bool cover = p->mode == SELECT_COMPRESS && p->b > 0.0f;
  if (cover && *cov == SELECT_COVER_SAMPLE && p->sample < 1)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "select: SAMPLE needs sample >= 1");
  for (size_t i = 0; i < pool->n; i++) {
    float r = pool->relevance[i];
    if (!(r >= 0.0f && r <= 1.0f))
      return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                              "select: relevance of pool point %zu is not in [0,1]", i);
  }
  if (pool->quality)
    for (size_t i = 0; i < pool->n; i++)
      if (!isfinite(pool->quality[i]) || fabsf(pool->quality[i]) > SELECT_MAX_QUALITY)
        return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                                "select: quality of pool point %zu is not finite or exceeds %g", i,
                                (double)SELECT_MAX_QUALITY);
  if (select_mixes(pool, p)) {
    int rc = select_sets_validate(pool, err);
    if (rc) return rc;
  }
  if (cover && *cov == SELECT_COVER_SPARSE) return select_validate_sparse(pool, err);
  return PRECIS_OK;
}

/* ---- ranking: by a score desc, then index asc ---- */

typedef struct {
  float rel;
  uint32_t i;
} select_ranked;

/* Total order (rel desc, index asc): deterministic whatever qsort does. */
static int select_cmp_ranked(const void *x, const void *y) {
  const select_ranked *a = x, *b = y;
  if (a->rel != b->rel) return a->rel > b->rel ? -1 : 1;
  return a->i < b->i ? -1 : (a->i > b->i);
}

/* ---- the similarity floor (select_internal.h) ---- */

/* Moves the heap's worst entry (the last in select_cmp_ranked's order) to
 * the top: a is worse than b when it sorts after it. */
static void select_heap_down(select_ranked *h, size_t hn, size_t at) {
  for (;;) {
    size_t l = 2 * at + 1, r = l + 1, w = at;
    if (l < hn && select_cmp_ranked(&h[l], &h[w]) > 0) w = l;
    if (r < hn && select_cmp_ranked(&h[r], &h[w]) > 0) w = r;
    if (w == at) return;
    select_ranked x = h[at];
    h[at] = h[w];
    h[w] = x;
    at = w;
  }
}

int select_floor_init(select_floor *f, const select_work *w) {
  const select_pool *pool = w->pool;
  size_t n = pool->n;
  memset(f, 0, sizeof *f);
  if (!(w->p->floor > 0.0f) || n <= w->kmax) return PRECIS_OK;
  bool running = w->p->token_budget > 0;
  /* Count mode needs only the 2 kmax + 1 best: at most kmax - 1 are taken
   * when a step looks for the best kmax remaining. A budget may skip any
   * number of points, so it orders the whole pool. */
  size_t T = running || n < 2 * w->kmax + 1 ? n : 2 * w->kmax + 1;
  select_ranked *qi = malloc(T * sizeof *qi); /* by quality */
  f->order = malloc(T * sizeof *f->order);
  f->rank = malloc(n * sizeof *f->rank);
  f->taken = calloc(n, 1);
  if (!qi || !f->order || !f->rank || !f->taken) {
    free(qi);
    return PRECIS_E_NO_MEMORY;
  }
  for (size_t i = 0; i < n; i++) { /* the T best, in a heap with the worst on top */
    select_ranked x = {select_quality(pool, i), (uint32_t)i};
    f->rank[i] = UINT32_MAX;
    if (i < T) {
      qi[i] = x;
      if (i + 1 == T)
        for (size_t at = T / 2; at-- > 0;) select_heap_down(qi, T, at);
    } else if (select_cmp_ranked(&x, &qi[0]) < 0) {
      qi[0] = x;
      select_heap_down(qi, T, 0);
    }
  }
  qsort(qi, T, sizeof *qi, select_cmp_ranked);
  /* m: the mean quality of what TOPK takes (the kmax best, or with a token
   * budget the best that fit, in quality order) */
  double m = 0.0;
  uint64_t budget = w->p->token_budget, used = 0;
  size_t cnt = 0;
  for (size_t r = 0; r < T; r++) {
    f->order[r] = qi[r].i;
    f->rank[qi[r].i] = (uint32_t)r;
    if (cnt == w->kmax) continue;
    uint64_t c = select_cost(pool, qi[r].i);
    if (budget && c > budget - used) continue;
    used += c;
    m += qi[r].rel;
    cnt++;
  }
  free(qi);
  if (cnt == 0) { /* nothing fits: no selection to bound */
    select_floor_free(f);
    return PRECIS_OK;
  }
  m /= (double)cnt;
  double fl = w->p->floor > 1.0f ? 1.0 : (double)w->p->floor;
  f->on = true;
  f->running = running;
  f->kmax = w->kmax;
  f->norder = T;
  f->need = m - (1.0 - fl) * fabs(m);
  f->eps = 1e-9 * (double)w->kmax * (1.0 + fabs(m));
  f->cnt = SIZE_MAX;
  return PRECIS_OK;
}

void select_floor_free(select_floor *f) {
  free(f->order);
  free(f->rank);
  free(f->taken);
  memset(f, 0, sizeof *f);
}

void select_floor_step(select_floor *f, const select_work *w) {
  if (!f->on || f->running || f->cnt == w->cnt) return;
  size_t rem = f->kmax > w->cnt + 1 ? f->kmax - w->cnt - 1 : 0, seen = 0, r = 0;
  double base = 0.0;
  for (; r < f->norder && seen < rem; r++)
    if (!f->taken[f->order[r]]) {
      base += select_quality(w->pool, f->order[r]);
      seen++;
    }
  f->base = base;
  f->cut = r;
  f->next = 0.0;
  for (; r < f->norder; r++)
    if (!f->taken[f->order[r]]) {
      f->next = select_quality(w->pool, f->order[r]);
      break;
    }
  f->cnt = w->cnt;
}

bool select_floor_ok(const select_floor *f, const select_work *w, uint32_t i) {
  if (!f->on) return true;
  double q = select_quality(w->pool, i);
  if (f->running) return f->tot + q >= (double)(w->cnt + 1) * f->need - f->eps;
  double fill = f->rank[i] < f->cut ? f->base - q + f->next : f->base;
  return f->tot + q + fill >= (double)f->kmax * f->need - f->eps;
}

void select_floor_take(select_floor *f, const select_work *w, uint32_t i) {
  if (!f->on) return;
  f->taken[i] = 1;
  f->tot += select_quality(w->pool, i);
}

size_t select_floor_fallback(const select_floor *f, const select_work *w) {
  if (!f->on || f->running) return w->pool->n;
  for (size_t r = 0; r < f->norder; r++)
    if (!f->taken[f->order[r]]) return f->order[r];
  return w->pool->n;
}

/* ---- TOPK ---- */

/* Partial selection would do for small k; n <= PRECIS_MAX_POOL keeps a full
 * sort cheap. */
static int select_topk(select_work *w, precis_error *err) {
  const select_pool *pool = w->pool;
  select_ranked *order = malloc(pool->n * sizeof *order);
  if (!order) return precis_error_set(err, PRECIS_E_NO_MEMORY, "select: out of memory");
  for (size_t i = 0; i < pool->n; i++)
    order[i] = (select_ranked){.rel = pool->relevance[i], .i = (uint32_t)i};
  qsort(order, pool->n, sizeof *order, select_cmp_ranked);
  uint64_t budget = w->p->token_budget, used = 0;
  for (size_t r = 0; r < pool->n && w->cnt < w->kmax; r++) {
    uint32_t i = order[r].i;
    if (budget) {
      uint64_t c = select_cost(pool, i);
      if (c > budget - used) continue;
      used += c;
    }
    w->idx[w->cnt] = i;
    w->gain[w->cnt] = pool->relevance[i];
    w->cnt++;
  }
  free(order);
  return PRECIS_OK;
}

/* ---- MMR ---- */

static int select_mmr(select_work *w, precis_error *err) {
  const select_pool *pool = w->pool;
  size_t n = pool->n;
  double lam = w->p->lambda;
  uint64_t budget = w->p->token_budget, used = 0;
  float *maxsim = malloc(n * sizeof *maxsim);
  unsigned char *dead = calloc(n, 1);
  bool mix = select_mixes(pool, w->p);
  float *mrow = mix ? malloc(n * sizeof *mrow) : NULL;
  select_floor fl;
  int frc = select_floor_init(&fl, w);
  if (!maxsim || !dead || (mix && !mrow) || frc) {
    free(maxsim);
    free(dead);
    free(mrow);
    select_floor_free(&fl);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "select: out of memory");
  }
  while (w->cnt < w->kmax) {
    size_t best = n;
    double best_score = 0.0;
    select_floor_step(&fl, w);
    for (size_t i = 0; i < n; i++) {
      if (dead[i]) continue;
      if (budget && select_cost(pool, (uint32_t)i) > budget - used) {
        dead[i] = 1; /* the remaining budget only shrinks */
        continue;
      }
      if (!select_floor_ok(&fl, w, (uint32_t)i)) continue;
      /* first pick: the most relevant (its MMR score is lambda*rel) */
      double qi = select_quality(pool, i);
      double s = w->cnt == 0 ? qi : lam * qi - (1.0 - lam) * maxsim[i];
      if (best == n || s > best_score) {
        best = i;
        best_score = s;
      }
    }
    if (best == n && (best = select_floor_fallback(&fl, w)) < n)
      best_score = w->cnt == 0 ? select_quality(pool, best)
                               : lam * select_quality(pool, best) - (1.0 - lam) * maxsim[best];
    if (best == n) break;
    if (w->cnt == 0) best_score = lam * select_quality(pool, best);
    float *row = w->rows + w->cnt * n;
    select_sim_row(pool, (uint32_t)best, row);
    const float *red = row;
    if (mix) {
      select_mix_row(w, (uint32_t)best, row, mrow);
      red = mrow;
    }
    if (w->cnt == 0) {
      memcpy(maxsim, red, n * sizeof *red);
    } else {
      for (size_t i = 0; i < n; i++)
        if (red[i] > maxsim[i]) maxsim[i] = red[i];
    }
    dead[best] = 1;
    select_floor_take(&fl, w, (uint32_t)best);
    if (budget) used += select_cost(pool, (uint32_t)best);
    w->idx[w->cnt] = (uint32_t)best;
    w->gain[w->cnt] = (float)best_score;
    w->cnt++;
    w->rows_cnt = w->cnt;
  }
  free(maxsim);
  free(dead);
  free(mrow);
  select_floor_free(&fl);
  return PRECIS_OK;
}

/* ---- statistics ---- */

/* log det(I + L_S) by a dense Cholesky; A[s][t] = [s==t] + q_s q_t K_st.
 * Pivots are clamped to >= 1 (exact Schur complements of I + L are). */
static int select_logdet(const select_work *w, double *out, precis_error *err) {
  size_t m = w->cnt, n = w->pool->n;
  double theta = w->p->theta;
  double *A = malloc(m * m * sizeof *A);
  double *q = malloc(m * sizeof *q);
  if (!A || !q) {
    free(A);
    free(q);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "select: out of memory");
  }
  double qmax = select_quality_max(w->pool);
  for (size_t s = 0; s < m; s++) q[s] = select_q(w->pool, w->idx[s], theta, qmax);
  for (size_t s = 0; s < m; s++)
    for (size_t t = s; t < m; t++) {
      double kst = w->rows[s * n + w->idx[t]];
      if (select_mixes(w->pool, w->p))
        kst =
            (1.0 - w->p->shared) * kst + w->p->shared * select_shared_sim(w, w->idx[s], w->idx[t]);
      double v = q[s] * q[t] * kst + (s == t ? 1.0 : 0.0);
      A[s * m + t] = v;
      A[t * m + s] = v;
    }
  double ld = 0.0;
  for (size_t j = 0; j < m; j++) {
    double d = A[j * m + j];
    for (size_t l = 0; l < j; l++) d -= A[j * m + l] * A[j * m + l];
    if (!(d >= 1.0)) d = 1.0;
    ld += log(d);
    double dj = sqrt(d);
    A[j * m + j] = dj;
    for (size_t i = j + 1; i < m; i++) {
      double x = A[i * m + j];
      for (size_t l = 0; l < j; l++) x -= A[i * m + l] * A[j * m + l];
      A[i * m + j] = x / dj;
    }
  }
  free(A);
  free(q);
  *out = ld;
  return PRECIS_OK;
}

static int select_stats(select_work *w, select_result *out, precis_error *err) {
  const select_pool *pool = w->pool;
  const select_params *p = w->p;
  size_t n = pool->n, m = w->cnt;
  const float *rel = pool->relevance;

  if (w->rows_cnt < m) { /* rows of the rest of S: one sgemm */
    size_t t0 = w->rows_cnt, cnt = m - t0;
    if (cnt == 1) {
      select_sim_row(pool, w->idx[t0], w->rows + t0 * n);
    } else {
      float *sv = malloc(cnt * pool->dim * sizeof *sv);
      if (!sv) return precis_error_set(err, PRECIS_E_NO_MEMORY, "select: out of memory");
      for (size_t t = 0; t < cnt; t++)
        memcpy(sv + t * pool->dim, pool->vectors + (size_t)w->idx[t0 + t] * pool->dim,
               pool->dim * sizeof *sv);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cnt, (int)n, (int)pool->dim, 1.0f,
                  sv, (int)pool->dim, pool->vectors, (int)pool->dim, 0.0f, w->rows + t0 * n,
                  (int)n);
      free(sv);
    }
    w->rows_cnt = m;
  }
  /* A non-finite component anywhere makes sim(idx[0], v) non-finite for
   * that v (x*inf and 0*inf are inf or NaN): one O(n) check of the first
   * row instead of an O(n*dim) pass over the vectors before the work. */
  if (m > 0 && !select_all_finite(w->rows, n))
    return precis_error_set(err, PRECIS_E_INVALID_VECTOR,
                            "select: a pool vector has a NaN or infinite component");

  double ld = 0.0;
  if (p->c > 0.0f && m > 0) {
    int rc = select_logdet(w, &ld, err);
    if (rc) return rc;
  }

  /* assign: running max over the selected rows, strict > keeps the earliest */
  double relsum = 0.0, cover = 0.0;
  for (size_t v = 0; v < n; v++) relsum += rel[v];
  if (m > 0) {
    const float *r0 = w->rows;
    for (size_t v = 0; v < n; v++) out->assign[v] = 0;
    float *mx = malloc(n * sizeof *mx);
    if (!mx) return precis_error_set(err, PRECIS_E_NO_MEMORY, "select: out of memory");
    memcpy(mx, r0, n * sizeof *mx);
    for (size_t t = 1; t < m; t++) {
      const float *rt = w->rows + t * n;
      for (size_t v = 0; v < n; v++)
        if (rt[v] > mx[v]) {
          mx[v] = rt[v];
          out->assign[v] = (uint32_t)t;
        }
    }
    for (size_t v = 0; v < n; v++) {
      out->represents[out->assign[v]]++;
      if (mx[v] > 0.0f) cover += (double)rel[v] * mx[v];
    }
    free(mx);
  } else {
    for (size_t v = 0; v < n; v++) out->assign[v] = UINT32_MAX;
  }

  double srel = 0.0, red = 0.0;
  for (size_t s = 0; s < m; s++) {
    srel += rel[w->idx[s]];
    for (size_t t = s + 1; t < m; t++) red += w->rows[s * n + w->idx[t]];
  }
  out->objective = p->a * srel + p->b * cover + p->c * ld;
  double ratio = relsum > 0.0 ? cover / relsum : 0.0;
  out->coverage_ratio = ratio < 0.0 ? 0.0 : ratio > 1.0 ? 1.0 : ratio;
  out->redundancy = m >= 2 ? red / ((double)m * (double)(m - 1) / 2.0) : 0.0;
  out->mean_relevance = m > 0 ? srel / (double)m : 0.0;
  return PRECIS_OK;
}

/* ---- entry point ---- */

int select_run(const select_pool *pool, const select_params *p, select_result *out,
               precis_error *err) {
  if (!out) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "select: NULL result");
  memset(out, 0, sizeof *out);
  select_coverage cov = SELECT_COVER_EXACT;
  int rc = select_validate(pool, p, &cov, err);
  if (rc) return rc;

  /* the modes see the resolved form, never AUTO */
  select_params eff = *p;
  eff.coverage = cov;
  size_t n = pool->n;
  select_work w = {.pool = pool, .p = &eff, .kmax = p->k < n ? p->k : n};
  w.idx = malloc(w.kmax * sizeof *w.idx);
  w.gain = malloc(w.kmax * sizeof *w.gain);
  w.rows = malloc(w.kmax * n * sizeof *w.rows);
  uint32_t *represents = calloc(w.kmax, sizeof *represents);
  uint32_t *assign = malloc(n * sizeof *assign);
  if (!w.idx || !w.gain || !w.rows || !represents || !assign || select_sets_build(&w)) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "select: out of memory");
    goto fail;
  }

  switch (p->mode) {
    case SELECT_TOPK:
      rc = select_topk(&w, err);
      break;
    case SELECT_MMR:
      rc = select_mmr(&w, err);
      break;
    default:
      rc = select_compress_run(&w, err);
      break;
  }
  if (rc) goto fail;

  out->idx = w.idx;
  out->gain = w.gain;
  out->represents = represents;
  out->assign = assign;
  out->n = w.cnt;
  out->coverage = cov;
  rc = select_stats(&w, out, err);
  if (rc) {
    memset(out, 0, sizeof *out);
    goto fail;
  }
  free(w.rows);
  select_sets_free(&w);
  return PRECIS_OK;

fail:
  select_sets_free(&w);
  free(w.idx);
  free(w.gain);
  free(w.rows);
  free(represents);
  free(assign);
  return rc;
}
