/*
 * select_compress.c: SELECT_COMPRESS, greedy maximisation of the monotone
 * submodular
 *   F(S) = a*sum_{s in S} rel(s)                                (relevance)
 *        + b*sum_v rel(v)*max(0, max_{s in S} sim(v,s))          (coverage)
 *        + c*log det(I + L_S), L = diag(q) K diag(q),
 *          q = SELECT_Q_TOP * exp(theta*(qual - max qual)) (select_internal.h)
 *                                                                (volume)
 *
 * Design:
 *  - Volume, eager: the incremental Cholesky of Chen, Zhang & Zhou,
 *    "Fast greedy MAP inference for DPP" (NeurIPS 2018), applied to I + L.
 *    Every candidate i keeps c_i (its row of the Cholesky factor restricted
 *    to S) and d_i^2 = 1 + L_ii - ||c_i||^2, the Schur complement of i, so
 *    that its marginal gain is log d_i^2. After selecting j:
 *        e_i = (L_ji - <c_j, c_i>) / d_j,  c_i <- [c_i, e_i],  d_i^2 -= e_i^2
 *    for all i at once: one dgemv over the n x |S| factor (column-major), so
 *    O(n*|S|) per step and every volume gain is exact and current. d_i^2 is
 *    clamped to >= 1 (true for every Schur complement of I + L, which is
 *    >= I): this keeps gains >= 0 and non-increasing when large theta makes
 *    the recurrence lose digits. Rows of K come from the Gram matrix (EXACT)
 *    or one sgemv per selected point.
 *  - Coverage, lazy: gain_i = sum_v rel(v)*max(0, sim(v,i) - best[v]) with
 *    best[v] the current coverage of v. It costs O(n) per candidate and
 *    only decreases, so candidates sit in a max-heap keyed by a stale upper
 *    bound of their total gain (a*rel + b*stale coverage + c*stale volume);
 *    the top is re-evaluated (coverage recomputed, volume read off the eager
 *    state) and selected only when its bound is current (evaluated after the
 *    last selection). This is exact greedy, ties to the lower pool index.
 *    With b = 0 there is nothing expensive to be lazy about: each step is a
 *    linear scan of the exact gains (with b = c = 0 this is TOPK exactly).
 *    Coverage variants share one code path: EXACT uses the n x n Gram
 *    matrix (ssyrk, mirrored and first gains in one blocked pass); SAMPLE an n x m matrix against m deterministic targets
 *    (seeded xorshift, sorted), scaled by n/m; SPARSE the transposed
 *    neighbour lists (for each i, the points v that list i) plus sim(v,v) = 1.
 *  - Token budget: a constraint, not a preference. Keys are the gains, as
 *    without a budget; items that no longer fit are dropped (the remaining
 *    budget only shrinks). Still capped at k. Not the cost-benefit greedy
 *    (gain / cost, plus the best single item): every item's log-det gain is
 *    about log(30^2), whatever its length, so dividing by tokens ranked by
 *    brevity (docs/RETRIEVAL.md, "Token budgets").
 * Gains reported are the marginal gains of the optimised function; with
 * SPARSE or SAMPLE its coverage term is the surrogate (select.c reports F
 * itself as the objective).
 */
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "select_internal.h"

typedef struct {
  double gain;       /* an upper bound until stamp == the selections made */
  uint32_t i, stamp; /* stamp: selections made when gain was evaluated */
} select_hent;

typedef struct {
  const select_pool *pool;
  size_t n;
  bool cover, sparse, vol;
  /* dense coverage: G[i*m + t] = sim(i, target t) */
  size_t m;
  float *G;     /* owned */
  float *wt;    /* m target weights: relevance of each target (owned) */
  double scale; /* n/m for SAMPLE, else 1 */
  bool gram;    /* G is the full n x n Gram matrix */
  /* sparse coverage: transposed lists */
  uint32_t *tr_off, *tr_len, *tr_idx;
  float *tr_sim;
  float *best;  /* m (dense) or n (sparse) current coverage */
  double *cov0; /* EXACT: n first coverage gains, from select_gram (owned) */
  /* volume */
  double *q, *d2, *vg, *C, *e, *cj;
  float *mix; /* the log-det similarity row when it mixes in shared
                 neighbours (select_mix_row), else NULL */
} select_cstate;

static void select_cstate_free(select_cstate *s) {
  free(s->G);
  free(s->wt);
  free(s->tr_off);
  free(s->tr_len);
  free(s->tr_idx);
  free(s->tr_sim);
  free(s->best);
  free(s->cov0);
  free(s->q);
  free(s->d2);
  free(s->vg);
  free(s->C);
  free(s->e);
  free(s->cj);
  free(s->mix);
}

/* ---- coverage setup ---- */

static double select_cov_gain(const select_cstate *s, uint32_t i);

/* The full Gram matrix G = X X^T, exactly symmetric, and the first coverage
 * gains cov0[i] (best = 0: the coverage term of F({i})), in one pass over
 * G. ssyrk fills the upper triangle (one symmetric rank-dim product in
 * float, half the multiply-adds of sgemm; OpenBLAS runs it at its sgemm
 * peak, bench/README.md "select"). Then, by block rows of
 * SELECT_GRAM_BLOCK: the block row I is mirrored onto the block column below
 * it while it is in cache (4 x 4 register transposes); the rows of I are then complete (earlier block
 * rows mirrored their columns < i0), and their cov0 is taken before they
 * leave the cache. */
#define SELECT_GRAM_BLOCK 64

/* G[y][x] = G[x][y] for x in [i, i+4), y in [j, j+4), y > x. */
static inline void select_mirror4(float *G, size_t n, size_t i, size_t i1, size_t j, size_t j1) {
#if defined(__GNUC__) && !defined(__clang__)
  if (i + 4 <= i1 && j + 4 <= j1 && j >= i + 4) { /* a whole 4 x 4 tile above the diagonal */
    typedef float v4 __attribute__((vector_size(16)));
    typedef int32_t v4i __attribute__((vector_size(16)));
    const v4i lo = {0, 4, 1, 5}, hi = {2, 6, 3, 7}, l2 = {0, 1, 4, 5}, h2 = {2, 3, 6, 7};
    v4 r0, r1, r2, r3;
    memcpy(&r0, G + i * n + j, sizeof r0);
    memcpy(&r1, G + (i + 1) * n + j, sizeof r1);
    memcpy(&r2, G + (i + 2) * n + j, sizeof r2);
    memcpy(&r3, G + (i + 3) * n + j, sizeof r3);
    v4 t0 = __builtin_shuffle(r0, r1, lo), t1 = __builtin_shuffle(r2, r3, lo);
    v4 t2 = __builtin_shuffle(r0, r1, hi), t3 = __builtin_shuffle(r2, r3, hi);
    r0 = __builtin_shuffle(t0, t1, l2);
    r1 = __builtin_shuffle(t0, t1, h2);
    r2 = __builtin_shuffle(t2, t3, l2);
    r3 = __builtin_shuffle(t2, t3, h2);
    memcpy(G + j * n + i, &r0, sizeof r0);
    memcpy(G + (j + 1) * n + i, &r1, sizeof r1);
    memcpy(G + (j + 2) * n + i, &r2, sizeof r2);
    memcpy(G + (j + 3) * n + i, &r3, sizeof r3);
    return;
  }
#endif
  for (size_t x = i; x < i + 4 && x < i1; x++)
    for (size_t y = j; y < j + 4 && y < j1; y++)
      if (y > x) G[y * n + x] = G[x * n + y];
}

static void select_gram(select_cstate *s, double *cov0) {
  const select_pool *pool = s->pool;
  size_t n = s->n, B = SELECT_GRAM_BLOCK;
  float *G = s->G;
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)pool->dim, 1.0f, pool->vectors,
              (int)pool->dim, 0.0f, G, (int)n);
  for (size_t i0 = 0; i0 < n; i0 += B) {
    size_t i1 = n - i0 < B ? n : i0 + B;
    for (size_t jb = i0; jb < n; jb += B) {
      size_t j1 = n - jb < B ? n : jb + B;
      for (size_t i = i0; i < i1; i += 4)
        for (size_t j = jb; j < j1; j += 4) select_mirror4(G, n, i, i1, j, j1);
    }
    for (size_t i = i0; i < i1; i++) cov0[i] = select_cov_gain(s, (uint32_t)i);
  }
}

static uint64_t select_splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t select_xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dULL;
}

static int select_cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return a < b ? -1 : (a > b);
}

static int select_setup_dense(select_cstate *s, const select_params *p) {
  const select_pool *pool = s->pool;
  size_t n = s->n, dim = pool->dim;
  size_t m = n;
  if (p->coverage == SELECT_COVER_SAMPLE && p->sample < n) m = p->sample;
  s->m = m;
  s->scale = (double)n / (double)m;
  s->G = malloc(n * m * sizeof *s->G);
  s->wt = malloc(m * sizeof *s->wt);
  s->best = calloc(m, sizeof *s->best);
  if (!s->G || !s->wt || !s->best) return PRECIS_E_NO_MEMORY;
  if (m == n) {
    s->gram = true;
    s->cov0 = malloc(n * sizeof *s->cov0);
    if (!s->cov0) return PRECIS_E_NO_MEMORY;
    memcpy(s->wt, pool->relevance, n * sizeof *s->wt);
    select_gram(s, s->cov0);
    return PRECIS_OK;
  }
  /* partial Fisher-Yates with a seeded xorshift, targets sorted */
  uint32_t *perm = malloc(n * sizeof *perm);
  float *tv = malloc(m * dim * sizeof *tv);
  if (!perm || !tv) {
    free(perm);
    free(tv);
    return PRECIS_E_NO_MEMORY;
  }
  uint64_t sm = p->seed, st = select_splitmix(&sm);
  if (st == 0) st = 1;
  for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
  for (size_t t = 0; t < m; t++) {
    size_t r = t + (size_t)(((select_xorshift(&st) >> 32) * (uint64_t)(n - t)) >> 32);
    uint32_t x = perm[t];
    perm[t] = perm[r];
    perm[r] = x;
  }
  qsort(perm, m, sizeof *perm, select_cmp_u32);
  for (size_t t = 0; t < m; t++) {
    memcpy(tv + t * dim, pool->vectors + (size_t)perm[t] * dim, dim * sizeof *tv);
    s->wt[t] = pool->relevance[perm[t]];
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)dim, 1.0f,
              pool->vectors, (int)dim, tv, (int)dim, 0.0f, s->G, (int)m);
  free(perm);
  free(tv);
  return PRECIS_OK;
}

/* For each i, the (v, sim(v,i)) with i in v's list: the targets i covers.
 * Self entries are dropped (sim(v,v) = 1 is implied), a v listing i twice
 * counts once with its larger similarity. */
static int select_setup_sparse(select_cstate *s) {
  const select_pool *pool = s->pool;
  size_t n = s->n;
  const uint32_t *off = pool->nbr_off, *idx = pool->nbr_idx;
  size_t nnz = (size_t)(off[n] - off[0]);
  s->tr_off = calloc(n + 1, sizeof *s->tr_off);
  s->tr_len = calloc(n, sizeof *s->tr_len);
  s->tr_idx = malloc((nnz ? nnz : 1) * sizeof *s->tr_idx);
  s->tr_sim = malloc((nnz ? nnz : 1) * sizeof *s->tr_sim);
  s->best = calloc(n, sizeof *s->best);
  if (!s->tr_off || !s->tr_len || !s->tr_idx || !s->tr_sim || !s->best) return PRECIS_E_NO_MEMORY;
  for (size_t v = 0; v < n; v++)
    for (uint32_t e = off[v]; e < off[v + 1]; e++)
      if (idx[e] != v) s->tr_off[idx[e] + 1]++;
  for (size_t i = 0; i < n; i++) s->tr_off[i + 1] += s->tr_off[i];
  for (size_t v = 0; v < n; v++)
    for (uint32_t e = off[v]; e < off[v + 1]; e++) {
      uint32_t u = idx[e];
      if (u == v) continue;
      uint32_t pos = s->tr_off[u] + s->tr_len[u];
      if (s->tr_len[u] > 0 && s->tr_idx[pos - 1] == v) {
        if (pool->nbr_sim[e] > s->tr_sim[pos - 1]) s->tr_sim[pos - 1] = pool->nbr_sim[e];
      } else {
        s->tr_idx[pos] = (uint32_t)v;
        s->tr_sim[pos] = pool->nbr_sim[e];
        s->tr_len[u]++;
      }
    }
  s->scale = 1.0;
  return PRECIS_OK;
}

/* ---- coverage gains and updates ---- */

#if defined(__GNUC__)
typedef float select_v8 __attribute__((vector_size(32)));
typedef int32_t select_v8i __attribute__((vector_size(32)));
#endif
/* The dense coverage kernel is built twice on x86-64, for AVX2 and the
 * baseline, and the loader picks one for the CPU (ifunc). Both do the same
 * float operations in the same order (ISO C: no contraction into FMA), so
 * results do not depend on the CPU. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define SELECT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SELECT_CLONES
#endif

/* sum_t wt[t] * max(0, g[t] - best[t]): 8 float lanes in a fixed order
 * (deterministic), lanes added in double at the end. */
SELECT_CLONES static double select_cov_dense(const float *g, const float *best, const float *wt,
                                             size_t m) {
  size_t t = 0;
  double sum = 0.0;
#if defined(__GNUC__)
  select_v8 acc = {0, 0, 0, 0, 0, 0, 0, 0}, zero = acc;
  for (; t + 8 <= m; t += 8) {
    select_v8 x, b, w;
    memcpy(&x, g + t, sizeof x);
    memcpy(&b, best + t, sizeof b);
    memcpy(&w, wt + t, sizeof w);
    select_v8 d = x - b;
    d = (select_v8)((select_v8i)d & (d > zero));
    acc += w * d;
  }
  for (int l = 0; l < 4; l++) sum += (double)acc[l] + (double)acc[l + 4];
#endif
  for (; t < m; t++) {
    float d = g[t] - best[t];
    if (d > 0.0f) sum += (double)wt[t] * d;
  }
  return sum;
}

static double select_cov_gain(const select_cstate *s, uint32_t i) {
  if (s->sparse) {
    const float *rel = s->pool->relevance, *best = s->best;
    double sum = 0.0;
    float d = 1.0f - best[i];
    if (d > 0.0f) sum += (double)rel[i] * d;
    for (uint32_t e = s->tr_off[i], end = e + s->tr_len[i]; e < end; e++) {
      uint32_t v = s->tr_idx[e];
      d = s->tr_sim[e] - best[v];
      if (d > 0.0f) sum += (double)rel[v] * d;
    }
    return sum;
  }
  return s->scale * select_cov_dense(s->G + (size_t)i * s->m, s->best, s->wt, s->m);
}

static void select_cov_add(select_cstate *s, uint32_t j) {
  float *best = s->best;
  if (s->sparse) {
    if (best[j] < 1.0f) best[j] = 1.0f;
    for (uint32_t e = s->tr_off[j], end = e + s->tr_len[j]; e < end; e++) {
      uint32_t v = s->tr_idx[e];
      if (s->tr_sim[e] > best[v]) best[v] = s->tr_sim[e];
    }
    return;
  }
  const float *g = s->G + (size_t)j * s->m;
  for (size_t t = 0; t < s->m; t++)
    if (g[t] > best[t]) best[t] = g[t];
}

/* ---- volume ---- */

static int select_setup_vol(select_cstate *s, const select_params *p, size_t kmax) {
  size_t n = s->n, dim = s->pool->dim;
  double theta = p->theta, w = select_mixes(s->pool, p) ? p->shared : 0.0;
  if (w > 0.0 && !(s->mix = malloc(n * sizeof *s->mix))) return PRECIS_E_NO_MEMORY;
  s->q = malloc(n * sizeof *s->q);
  s->d2 = malloc(n * sizeof *s->d2);
  s->vg = malloc(n * sizeof *s->vg);
  s->C = malloc(n * kmax * sizeof *s->C);
  s->e = malloc(n * sizeof *s->e);
  s->cj = malloc(kmax * sizeof *s->cj);
  if (!s->q || !s->d2 || !s->vg || !s->C || !s->e || !s->cj) return PRECIS_E_NO_MEMORY;
  double qmax = select_quality_max(s->pool);
  for (size_t i = 0; i < n; i++) {
    const float *v = s->pool->vectors + i * dim;
    double kii = s->gram ? s->G[i * n + i] : cblas_sdot((int)dim, v, 1, v, 1);
    if (w > 0.0) kii = (1.0 - w) * kii + w; /* shared(i, i) = 1 */
    s->q[i] = select_q(s->pool, i, theta, qmax);
    double d2 = 1.0 + s->q[i] * s->q[i] * kii;
    s->d2[i] = d2 >= 1.0 ? d2 : 1.0;
    s->vg[i] = log(s->d2[i]);
  }
  return PRECIS_OK;
}

/* Cholesky step for the t-th selected point j with similarity row krow. */
static void select_vol_add(select_cstate *s, uint32_t j, size_t t, const float *krow) {
  size_t n = s->n;
  double *C = s->C, *e = s->e;
  double dj = sqrt(s->d2[j]), qj = s->q[j];
  if (t > 0) {
    for (size_t l = 0; l < t; l++) s->cj[l] = C[l * n + j];
    cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)t, 1.0, C, (int)n, s->cj, 1, 0.0, e, 1);
  } else {
    memset(e, 0, n * sizeof *e);
  }
  double *col = C + t * n;
  for (size_t i = 0; i < n; i++) {
    double ei = (qj * s->q[i] * (double)krow[i] - e[i]) / dj;
    col[i] = ei;
    double d2 = s->d2[i] - ei * ei;
    if (!(d2 >= 1.0)) d2 = 1.0;
    if (d2 != s->d2[i]) {
      s->d2[i] = d2;
      s->vg[i] = log(d2);
    }
  }
}

/* ---- heap (max by key, ties to the lower index) ---- */

static bool select_hbefore(const select_hent *x, const select_hent *y) {
  return x->gain > y->gain || (x->gain == y->gain && x->i < y->i);
}

static void select_hdown(select_hent *h, size_t hn, size_t at) {
  select_hent x = h[at];
  for (;;) {
    size_t c = 2 * at + 1;
    if (c >= hn) break;
    if (c + 1 < hn && select_hbefore(&h[c + 1], &h[c])) c++;
    if (!select_hbefore(&h[c], &x)) break;
    h[at] = h[c];
    at = c;
  }
  h[at] = x;
}

/* ---- greedy ---- */

typedef struct {
  select_work *w;
  select_cstate *s;
  float a, b, c;
  uint64_t budget, used;
  bool rows;          /* similarity rows of the selection kept in w->rows */
  select_floor floor; /* the similarity floor (off unless params.floor > 0) */
} select_greedy;

static bool select_fits(const select_greedy *g, uint32_t i) {
  return !g->budget || select_cost(g->w->pool, i) <= g->budget - g->used;
}

static void select_take(select_greedy *g, uint32_t j, double gain) {
  select_work *w = g->w;
  select_cstate *s = g->s;
  size_t t = w->cnt, n = s->n;
  float *row = w->rows + t * n;
  const float *krow = NULL;
  if (s->gram) { /* rows are free: copy */
    memcpy(row, s->G + (size_t)j * n, n * sizeof *row);
    krow = row;
  } else if (s->vol) {
    select_sim_row(w->pool, j, row);
    krow = row;
  }
  if (s->vol && s->mix) {
    select_mix_row(w, j, krow, s->mix);
    krow = s->mix;
  }
  if (s->vol) select_vol_add(s, j, t, krow);
  if (s->cover) select_cov_add(s, j);
  select_floor_take(&g->floor, w, j);
  w->idx[t] = j;
  w->gain[t] = (float)gain;
  w->cnt = t + 1;
  if (g->rows) w->rows_cnt = w->cnt;
  if (g->budget) g->used += select_cost(w->pool, j);
}

/* The gain of i given its coverage gain cov (ignored without with_cover). */
static double select_gain_cov(const select_greedy *g, uint32_t i, bool with_cover, double cov) {
  double x = (double)g->a * g->w->pool->relevance[i];
  if (with_cover) x += (double)g->b * cov;
  if (g->s->vol) x += (double)g->c * g->s->vg[i];
  return x;
}

static double select_gain_now(const select_greedy *g, uint32_t i, bool with_cover) {
  return select_gain_cov(g, i, with_cover, with_cover ? select_cov_gain(g->s, i) : 0.0);
}

/* b = 0: exact gains are O(1) each, scan them. */
static int select_greedy_scan(select_greedy *g) {
  select_work *w = g->w;
  size_t n = g->s->n;
  unsigned char *dead = calloc(n, 1);
  if (!dead) return PRECIS_E_NO_MEMORY;
  while (w->cnt < w->kmax) {
    size_t best = n;
    double bgain = 0.0;
    select_floor_step(&g->floor, w);
    for (size_t i = 0; i < n; i++) {
      if (dead[i]) continue;
      if (!select_fits(g, (uint32_t)i)) {
        dead[i] = 1;
        continue;
      }
      if (!select_floor_ok(&g->floor, w, (uint32_t)i)) continue;
      double gain = select_gain_now(g, (uint32_t)i, false);
      if (best == n || gain > bgain) {
        best = i;
        bgain = gain;
      }
    }
    if (best == n && (best = select_floor_fallback(&g->floor, w)) < n)
      bgain = select_gain_now(g, (uint32_t)best, false);
    if (best == n) break;
    dead[best] = 1;
    select_take(g, (uint32_t)best, bgain);
  }
  free(dead);
  return PRECIS_OK;
}

/* b > 0: lazy greedy on stale upper bounds. g0[i] = F({i}). */
static int select_greedy_lazy(select_greedy *g, const double *g0) {
  select_work *w = g->w;
  size_t n = g->s->n, hn = 0;
  select_hent *h = malloc(n * sizeof *h);
  if (!h) return PRECIS_E_NO_MEMORY;
  for (size_t i = 0; i < n; i++) {
    if (!select_fits(g, (uint32_t)i)) continue;
    h[hn++] = (select_hent){.gain = g0[i], .i = (uint32_t)i, .stamp = 0};
  }
  for (size_t at = hn / 2; at-- > 0;) select_hdown(h, hn, at);
  while (w->cnt < w->kmax && hn > 0) {
    select_hent top = h[0];
    select_floor_step(&g->floor, w);
    bool ok = select_fits(g, top.i) && select_floor_ok(&g->floor, w, top.i);
    if (!ok || top.stamp == w->cnt) {
      h[0] = h[--hn];
      if (hn) select_hdown(h, hn, 0);
      if (ok) select_take(g, top.i, top.gain);
      continue;
    }
    double gain = select_gain_now(g, top.i, true);
    h[0].gain = gain;
    h[0].stamp = (uint32_t)w->cnt;
    select_hdown(h, hn, 0);
  }
  free(h);
  /* the floor turned the rest away: fill up in relevance order */
  size_t j;
  while (w->cnt < w->kmax && (j = select_floor_fallback(&g->floor, w)) < n)
    select_take(g, (uint32_t)j, select_gain_now(g, (uint32_t)j, true));
  return PRECIS_OK;
}

int select_compress_run(select_work *w, precis_error *err) {
  const select_pool *pool = w->pool;
  const select_params *p = w->p;
  size_t n = pool->n;
  select_cstate s = {.pool = pool, .n = n, .scale = 1.0};
  s.cover = p->b > 0.0f;
  s.vol = p->c > 0.0f;
  s.sparse = s.cover && p->coverage == SELECT_COVER_SPARSE;
  select_greedy g = {.w = w, .s = &s, .a = p->a, .b = p->b, .c = p->c, .budget = p->token_budget};
  double *g0 = NULL;
  int rc = PRECIS_OK;

  if (s.cover) rc = s.sparse ? select_setup_sparse(&s) : select_setup_dense(&s, p);
  if (!rc && s.vol) rc = select_setup_vol(&s, p, w->kmax);
  if (rc) goto done;

  g.rows = s.gram || s.vol; /* select_take keeps the rows of S */
  if ((rc = select_floor_init(&g.floor, w))) goto done;
  if (s.cover) {
    g0 = malloc(n * sizeof *g0);
    if (!g0) {
      rc = PRECIS_E_NO_MEMORY;
      goto done;
    }
    for (size_t i = 0; i < n; i++) /* EXACT took the first coverage gains with G */
      g0[i] = s.cov0 ? select_gain_cov(&g, (uint32_t)i, s.cover, s.cov0[i])
                     : select_gain_now(&g, (uint32_t)i, s.cover);
  }
  rc = s.cover ? select_greedy_lazy(&g, g0) : select_greedy_scan(&g);
  if (rc) goto done;

done:
  free(g0);
  select_floor_free(&g.floor);
  select_cstate_free(&s);
  if (rc) w->cnt = w->rows_cnt = 0;
  return rc ? precis_error_set(err, rc, "select: out of memory") : PRECIS_OK;
}
