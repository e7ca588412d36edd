/*
 * test_select.c: unit tests of the selection module (index/select.h):
 * TOPK/MMR/COMPRESS semantics, the greedy guarantees (against a brute-force
 * optimum and a direct log-det), budgets, result statistics, validation.
 * The reference objective here is computed independently: dot products in
 * double, a dense Cholesky for log det(I + L_S).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "precis/limits.h"
#include "select.h"

/* ---- deterministic instances ---- */

static uint64_t rng_state = 88172645463325252ULL;

static void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15ULL + 1; }

static uint64_t rng_u64(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng_state = x;
  return x;
}

static double rng_unif(void) { return (double)(rng_u64() >> 11) / 9007199254740992.0; }

static double rng_gauss(void) {
  double u = rng_unif(), v = rng_unif();
  if (u < 1e-300) u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

typedef struct {
  size_t n, dim;
  float *vec, *rel;
  uint32_t *tok;
  uint32_t *off, *nbr;
  float *sim;
} inst;

/* Clustered unit vectors; relevance in [0,1]; tokens 0..max_tok. */
static inst inst_make(size_t n, size_t dim, size_t clusters, uint32_t max_tok) {
  inst I = {.n = n, .dim = dim};
  I.vec = malloc(n * dim * sizeof *I.vec);
  I.rel = malloc(n * sizeof *I.rel);
  I.tok = malloc(n * sizeof *I.tok);
  float *cent = malloc(clusters * dim * sizeof *cent);
  cr_assert(I.vec && I.rel && I.tok && cent);
  for (size_t i = 0; i < clusters * dim; i++) cent[i] = (float)rng_gauss();
  for (size_t i = 0; i < n; i++) {
    size_t c = (size_t)(rng_u64() % clusters);
    double nn = 0;
    for (size_t d = 0; d < dim; d++) {
      float x = cent[c * dim + d] + 0.5f * (float)rng_gauss();
      I.vec[i * dim + d] = x;
      nn += (double)x * x;
    }
    nn = sqrt(nn);
    for (size_t d = 0; d < dim; d++) I.vec[i * dim + d] = (float)(I.vec[i * dim + d] / nn);
    I.rel[i] = (float)rng_unif();
    I.tok[i] = max_tok ? (uint32_t)(rng_u64() % (max_tok + 1)) : 0;
  }
  free(cent);
  return I;
}

static double dotd(const inst *I, size_t i, size_t j) {
  double s = 0;
  for (size_t d = 0; d < I->dim; d++) s += (double)I->vec[i * I->dim + d] * I->vec[j * I->dim + d];
  return s;
}

/* Complete neighbour graph (every other point, exact similarity). */
static void inst_complete_graph(inst *I) {
  size_t n = I->n;
  I->off = malloc((n + 1) * sizeof *I->off);
  I->nbr = malloc(n * (n - 1 + 1) * sizeof *I->nbr);
  I->sim = malloc(n * (n - 1 + 1) * sizeof *I->sim);
  cr_assert(I->off && I->nbr && I->sim);
  uint32_t e = 0;
  for (size_t v = 0; v < n; v++) {
    I->off[v] = e;
    for (size_t u = 0; u < n; u++) {
      if (u == v) continue;
      I->nbr[e] = (uint32_t)u;
      I->sim[e] = (float)dotd(I, v, u);
      e++;
    }
  }
  I->off[n] = e;
}

/* A random sparse graph (deg random neighbours each, may repeat). */
static void inst_random_graph(inst *I, size_t deg) {
  size_t n = I->n;
  I->off = malloc((n + 1) * sizeof *I->off);
  I->nbr = malloc((n * deg + 1) * sizeof *I->nbr);
  I->sim = malloc((n * deg + 1) * sizeof *I->sim);
  cr_assert(I->off && I->nbr && I->sim);
  uint32_t e = 0;
  for (size_t v = 0; v < n; v++) {
    I->off[v] = e;
    for (size_t j = 0; j < deg; j++) {
      size_t u = (size_t)(rng_u64() % n);
      I->nbr[e] = (uint32_t)u;
      I->sim[e] = (float)dotd(I, v, u);
      e++;
    }
  }
  I->off[n] = e;
}

static void inst_free(inst *I) {
  free(I->vec);
  free(I->rel);
  free(I->tok);
  free(I->off);
  free(I->nbr);
  free(I->sim);
}

static select_pool inst_pool(const inst *I) {
  return (select_pool){.n = I->n, .dim = I->dim, .vectors = I->vec, .relevance = I->rel,
                       .tokens = I->tok, .nbr_off = I->off, .nbr_idx = I->nbr,
                       .nbr_sim = I->sim};
}

/* ---- reference objective ---- */

static double ref_logdet(const inst *I, const uint32_t *S, size_t m, double theta) {
  if (m == 0) return 0;
  double qmax = -INFINITY; /* q = 1000 * exp(theta * (rel - max rel)), select_internal.h */
  for (size_t i = 0; i < I->n; i++)
    if (I->rel[i] > qmax) qmax = I->rel[i];
  double *A = calloc(m * m, sizeof *A);
  cr_assert(A);
  for (size_t s = 0; s < m; s++)
    for (size_t t = 0; t < m; t++) {
      double qs = 30.0 * exp(theta * (I->rel[S[s]] - qmax)),
             qt = 30.0 * exp(theta * (I->rel[S[t]] - qmax));
      A[s * m + t] = qs * qt * dotd(I, S[s], S[t]) + (s == t);
    }
  double ld = 0;
  for (size_t j = 0; j < m; j++) {
    double d = A[j * m + j];
    for (size_t l = 0; l < j; l++) d -= A[j * m + l] * A[j * m + l];
    cr_assert(d > 0.5, "I + L must be positive definite (pivot %g)", d);
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
  return ld;
}

static double ref_coverage(const inst *I, const uint32_t *S, size_t m) {
  double cov = 0;
  for (size_t v = 0; v < I->n; v++) {
    double mx = 0;
    for (size_t s = 0; s < m; s++) {
      double x = dotd(I, v, S[s]);
      if (x > mx) mx = x;
    }
    cov += I->rel[v] * mx;
  }
  return cov;
}

static double ref_F(const inst *I, const select_params *p, const uint32_t *S, size_t m) {
  double r = 0;
  for (size_t s = 0; s < m; s++) r += I->rel[S[s]];
  return p->a * r + p->b * ref_coverage(I, S, m) + p->c * ref_logdet(I, S, m, p->theta);
}

static void run_ok(const inst *I, const select_params *p, select_result *r) {
  select_pool pool = inst_pool(I);
  precis_error err = {0};
  int rc = select_run(&pool, p, r, &err);
  cr_assert_eq(rc, PRECIS_OK, "select_run failed: %d %s", rc, err.msg);
}

/* Invariants every result must satisfy. */
static void check_result(const inst *I, const select_params *p, const select_result *r) {
  size_t n = I->n;
  size_t kmax = p->k < n ? p->k : n;
  cr_assert_leq(r->n, kmax);
  bool *seen = calloc(n, sizeof *seen);
  cr_assert(seen);
  uint64_t tok = 0;
  for (size_t t = 0; t < r->n; t++) {
    cr_assert_lt(r->idx[t], n, "idx outside the pool");
    cr_assert(!seen[r->idx[t]], "idx %u selected twice", r->idx[t]);
    seen[r->idx[t]] = true;
    tok += I->tok[r->idx[t]];
  }
  free(seen);
  if (p->token_budget) cr_assert_leq(tok, p->token_budget, "budget exceeded");
  if (r->n == 0) return;
  uint64_t rep = 0;
  for (size_t t = 0; t < r->n; t++) rep += r->represents[t];
  cr_assert_eq(rep, n, "represents must sum to the pool size");
  for (size_t v = 0; v < n; v++) {
    cr_assert_lt(r->assign[v], r->n);
    double own = dotd(I, v, r->idx[r->assign[v]]);
    for (size_t t = 0; t < r->n; t++) cr_assert_geq(own, dotd(I, v, r->idx[t]) - 1e-5);
  }
  cr_assert(r->coverage_ratio >= 0.0 && r->coverage_ratio <= 1.0);
  double f = ref_F(I, p, r->idx, r->n);
  cr_assert(fabs(r->objective - f) <= 1e-4 * (1 + fabs(f)), "objective %g vs reference %g",
            r->objective, f);
}

/* Defaults with the coverage term on (b 0.5, theta 1), so that the tests of
 * coverage and its forms exercise it; select_params_default has b = 0. */
static select_params params(select_mode mode, uint32_t k) {
  select_params p;
  select_params_default(&p);
  p.mode = mode;
  p.k = k;
  p.b = 0.5f;
  p.theta = 1.0f;
  return p;
}

/* ---- tests ---- */

Test(select, defaults) {
  select_params p;
  memset(&p, 0xff, sizeof p);
  select_params_default(&p);
  cr_assert_eq(p.mode, SELECT_COMPRESS);
  cr_assert_eq(p.k, 10);
  cr_assert_float_eq(p.lambda, 0.5f, 1e-9);
  cr_assert(p.a == 0 && p.b == 0 && p.c == 1 && p.theta == PRECIS_DEFAULT_THETA);
  cr_assert_float_eq(select_theta_for_diversity(PRECIS_DEFAULT_DIVERSITY), PRECIS_DEFAULT_THETA,
                     1e-5, "PRECIS_DEFAULT_THETA is theta at the default diversity");
  cr_assert_eq(p.coverage, SELECT_COVER_AUTO);
  cr_assert_eq(p.sample, 128);
  cr_assert_eq(p.token_budget, 0);
}

Test(select, compress_without_b_c_is_topk) {
  rng_seed(1);
  for (int it = 0; it < 60; it++) {
    size_t n = 1 + (size_t)(rng_u64() % 80);
    inst I = inst_make(n, 8, 4, 0);
    if (it % 2) /* force ties: quantised relevance */
      for (size_t i = 0; i < n; i++) I.rel[i] = (float)((int)(I.rel[i] * 4) / 4.0);
    select_params pt = params(SELECT_TOPK, 1 + (uint32_t)(rng_u64() % 90));
    select_params pc = pt;
    pc.mode = SELECT_COMPRESS;
    pc.a = 0.25f + (float)rng_unif();
    pc.b = pc.c = 0;
    select_result rt, rc;
    run_ok(&I, &pt, &rt);
    run_ok(&I, &pc, &rc);
    cr_assert_eq(rt.n, rc.n);
    cr_assert_eq(rt.n, pt.k < n ? pt.k : n);
    for (size_t t = 0; t < rt.n; t++) {
      cr_assert_eq(rt.idx[t], rc.idx[t], "instance %d position %zu", it, t);
      if (t) { /* TOPK order: relevance desc, index asc */
        float a = I.rel[rt.idx[t - 1]], b = I.rel[rt.idx[t]];
        cr_assert(a > b || (a == b && rt.idx[t - 1] < rt.idx[t]));
      }
    }
    check_result(&I, &pc, &rc);
    select_result_free(&rt);
    select_result_free(&rc);
    inst_free(&I);
  }
}

Test(select, compress_gains_non_increasing) {
  rng_seed(2);
  for (int it = 0; it < 60; it++) {
    size_t n = 5 + (size_t)(rng_u64() % 120);
    inst I = inst_make(n, 16, 5, 0);
    inst_random_graph(&I, 8);
    select_params p = params(SELECT_COMPRESS, 1 + (uint32_t)(rng_u64() % 30));
    p.coverage = (select_coverage)(it % 3);
    p.sample = 1 + (uint32_t)(rng_u64() % n);
    p.a = (float)rng_unif();
    p.b = (float)rng_unif();
    p.c = (float)rng_unif();
    p.theta = (float)(4 * rng_unif());
    select_result r;
    run_ok(&I, &p, &r);
    for (size_t t = 1; t < r.n; t++)
      cr_assert_leq(r.gain[t], r.gain[t - 1] + 1e-4 * (1 + fabsf(r.gain[t - 1])),
                    "gain rose at step %zu: %g > %g", t, r.gain[t], r.gain[t - 1]);
    if (p.coverage == SELECT_COVER_EXACT) { /* gains telescope to F */
      double sum = 0;
      for (size_t t = 0; t < r.n; t++) sum += r.gain[t];
      cr_assert(fabs(sum - r.objective) <= 1e-4 * (1 + fabs(sum)));
    }
    check_result(&I, &p, &r);
    select_result_free(&r);
    inst_free(&I);
  }
}

Test(select, volume_gains_match_direct_log_det) {
  rng_seed(3);
  for (int it = 0; it < 40; it++) {
    size_t n = 3 + (size_t)(rng_u64() % 40);
    inst I = inst_make(n, 6, 3, 0);
    select_params p = params(SELECT_COMPRESS, 1 + (uint32_t)(rng_u64() % 12));
    p.a = p.b = 0;
    p.c = 1;
    p.theta = (float)(3 * rng_unif());
    select_result r;
    run_ok(&I, &p, &r);
    cr_assert_eq(r.n, p.k < n ? p.k : n);
    uint32_t S[64];
    double prev = 0;
    for (size_t t = 0; t < r.n; t++) {
      S[t] = r.idx[t];
      double cur = ref_logdet(&I, S, t + 1, p.theta);
      double want = cur - prev;
      cr_assert(fabs(r.gain[t] - want) <= 1e-4 * (1 + fabs(want)),
                "step %zu: gain %g, direct log det difference %g", t, r.gain[t], want);
      /* and it is the greedy choice */
      for (size_t j = 0; j < n; j++) {
        bool in = false;
        for (size_t s = 0; s <= t; s++) in |= S[s] == j;
        if (in) continue;
        S[t] = (uint32_t)j;
        double alt = ref_logdet(&I, S, t + 1, p.theta) - prev;
        cr_assert_leq(alt, want + 1e-4 * (1 + fabs(want)), "step %zu: %zu is better", t, j);
      }
      S[t] = r.idx[t];
      prev = cur;
    }
    check_result(&I, &p, &r);
    select_result_free(&r);
    inst_free(&I);
  }
}

static double brute_opt(const inst *I, const select_params *p, size_t k) {
  double best = 0;
  uint32_t S[16];
  for (uint32_t mask = 1; mask < (1u << I->n); mask++) {
    size_t m = 0;
    for (uint32_t i = 0; i < I->n; i++)
      if (mask & (1u << i)) S[m++] = i;
    if (m > k) continue;
    double f = ref_F(I, p, S, m);
    if (f > best) best = f;
  }
  return best;
}

Test(select, greedy_within_one_minus_1_over_e_of_brute_force) {
  rng_seed(4);
  int modular = 0;
  for (int it = 0; it < 240; it++) {
    size_t n = 2 + (size_t)(rng_u64() % 11);
    inst I = inst_make(n, 4, 1 + (size_t)(rng_u64() % 4), 0);
    select_params p = params(SELECT_COMPRESS, 1 + (uint32_t)(rng_u64() % 4));
    p.a = (float)rng_unif();
    p.b = (float)rng_unif();
    p.c = (float)rng_unif();
    p.theta = (float)(3 * rng_unif());
    bool mod = it % 4 == 0;
    if (mod) {
      p.a = 0.1f + (float)rng_unif();
      p.b = p.c = 0;
      modular++;
    }
    select_result r;
    run_ok(&I, &p, &r);
    check_result(&I, &p, &r);
    double g = ref_F(&I, &p, r.idx, r.n), opt = brute_opt(&I, &p, p.k);
    cr_assert_geq(g, (1 - exp(-1.0)) * opt - 1e-6, "instance %d: greedy %g, optimum %g", it,
                  g, opt);
    if (mod) cr_assert(fabs(g - opt) <= 1e-6 * (1 + opt), "modular: %g vs %g", g, opt);
    select_result_free(&r);
    inst_free(&I);
  }
  cr_assert_geq(modular, 50);
}

Test(select, mmr_hand_computed) {
  /* p0 (1,0) rel .9; p1 at 10 deg rel .85; p2 (0,1) rel .5; p3 at 45 deg rel .6
   * lambda .5: pick p0 (.45); then p1: .425 - .5cos10 = -.0674,
   * p2: .25 - 0 = .25, p3: .3 - .5*.7071 = -.0536 -> p2; then
   * p1: -.0674 (max sim cos10), p3: -.0536 -> p3. */
  double a10 = 10 * 3.141592653589793 / 180, a45 = 3.141592653589793 / 4;
  float vec[8] = {1, 0, (float)cos(a10), (float)sin(a10), 0, 1, (float)cos(a45),
                  (float)sin(a45)};
  float rel[4] = {0.9f, 0.85f, 0.5f, 0.6f};
  select_pool pool = {.n = 4, .dim = 2, .vectors = vec, .relevance = rel};
  select_params p = params(SELECT_MMR, 3);
  p.lambda = 0.5f;
  select_result r;
  precis_error err;
  cr_assert_eq(select_run(&pool, &p, &r, &err), PRECIS_OK);
  cr_assert_eq(r.n, 3);
  cr_assert_eq(r.idx[0], 0);
  cr_assert_eq(r.idx[1], 2);
  cr_assert_eq(r.idx[2], 3);
  cr_assert_float_eq(r.gain[0], 0.45f, 1e-5);
  cr_assert_float_eq(r.gain[1], 0.25f, 1e-5);
  cr_assert_float_eq(r.gain[2], (float)(0.3 - 0.5 * cos(a45)), 1e-5);
  /* p1 (10 deg) is represented by p0 */
  cr_assert_eq(r.assign[1], 0);
  cr_assert_eq(r.represents[0] + r.represents[1] + r.represents[2], 4);
  select_result_free(&r);
  /* TOPK on the same pool takes p1 second */
  p.mode = SELECT_TOPK;
  cr_assert_eq(select_run(&pool, &p, &r, &err), PRECIS_OK);
  cr_assert(r.idx[0] == 0 && r.idx[1] == 1 && r.idx[2] == 3);
  select_result_free(&r);
}

Test(select, token_budget_never_exceeded) {
  rng_seed(5);
  for (int it = 0; it < 150; it++) {
    size_t n = 1 + (size_t)(rng_u64() % 60);
    inst I = inst_make(n, 8, 3, 200);
    inst_random_graph(&I, 6);
    select_params p = params((select_mode)(it % 3), 1 + (uint32_t)(rng_u64() % 20));
    p.coverage = (select_coverage)((it / 3) % 3);
    p.sample = 1 + (uint32_t)(rng_u64() % (n + 3));
    p.token_budget = 1 + rng_u64() % 600;
    p.lambda = (float)rng_unif();
    p.b = (float)rng_unif();
    select_result r;
    run_ok(&I, &p, &r);
    check_result(&I, &p, &r);
    /* something fits -> something is selected */
    bool any = false;
    for (size_t i = 0; i < n; i++) any |= I.tok[i] <= p.token_budget;
    cr_assert_eq(r.n > 0, any);
    select_result_free(&r);
    inst_free(&I);
  }
}

Test(select, budget_prefers_best_single_item) {
  /* ratio greedy takes the cheap item first (0.1/1 > 1/100), then the
   * valuable one no longer fits; the single valuable item is better. */
  float vec[4] = {1, 0, 0, 1};
  float rel[2] = {1.0f, 0.1f};
  uint32_t tok[2] = {100, 1};
  select_pool pool = {.n = 2, .dim = 2, .vectors = vec, .relevance = rel, .tokens = tok};
  select_params p = params(SELECT_COMPRESS, 5);
  p.a = 1;
  p.b = p.c = 0;
  p.token_budget = 100;
  select_result r;
  cr_assert_eq(select_run(&pool, &p, &r, NULL), PRECIS_OK);
  cr_assert_eq(r.n, 1);
  cr_assert_eq(r.idx[0], 0);
  select_result_free(&r);
  /* TOPK takes in relevance order and skips what does not fit */
  p.mode = SELECT_TOPK;
  p.token_budget = 50;
  cr_assert_eq(select_run(&pool, &p, &r, NULL), PRECIS_OK);
  cr_assert_eq(r.n, 1);
  cr_assert_eq(r.idx[0], 1);
  select_result_free(&r);
  /* nothing fits: empty result */
  tok[1] = 60;
  cr_assert_eq(select_run(&pool, &p, &r, NULL), PRECIS_OK);
  cr_assert_eq(r.n, 0);
  cr_assert_eq(r.assign[0], UINT32_MAX);
  cr_assert_eq(r.objective, 0.0);
  select_result_free(&r);
}

Test(select, all_modes_invariants_and_full_coverage) {
  rng_seed(6);
  for (int it = 0; it < 60; it++) {
    size_t n = 1 + (size_t)(rng_u64() % 50);
    inst I = inst_make(n, 12, 4, 0);
    inst_random_graph(&I, 5);
    select_params p = params((select_mode)(it % 3), 1 + (uint32_t)(rng_u64() % 60));
    p.coverage = (select_coverage)((it / 3) % 3);
    p.sample = 1 + (uint32_t)(rng_u64() % n);
    select_result r;
    run_ok(&I, &p, &r);
    cr_assert_eq(r.n, p.k < n ? p.k : n);
    check_result(&I, &p, &r);
    if (r.n == n) cr_assert(fabs(r.coverage_ratio - 1.0) <= 1e-5, "%g", r.coverage_ratio);
    /* deterministic */
    select_result r2;
    run_ok(&I, &p, &r2);
    cr_assert_eq(r.n, r2.n);
    cr_assert(!memcmp(r.idx, r2.idx, r.n * sizeof *r.idx));
    cr_assert(!memcmp(r.gain, r2.gain, r.n * sizeof *r.gain));
    cr_assert(!memcmp(r.assign, r2.assign, n * sizeof *r.assign));
    select_result_free(&r);
    select_result_free(&r2);
    inst_free(&I);
  }
}

Test(select, sparse_complete_graph_equals_exact) {
  rng_seed(7);
  for (int it = 0; it < 30; it++) {
    size_t n = 2 + (size_t)(rng_u64() % 60);
    inst I = inst_make(n, 10, 4, 0);
    inst_complete_graph(&I);
    select_params pe = params(SELECT_COMPRESS, 1 + (uint32_t)(rng_u64() % 15));
    pe.c = it % 2 ? 0.0f : 1.0f;
    pe.theta = 2;
    select_params ps = pe;
    ps.coverage = SELECT_COVER_SPARSE;
    select_params pm = pe; /* SAMPLE of the whole pool is EXACT too */
    pm.coverage = SELECT_COVER_SAMPLE;
    pm.sample = (uint32_t)n + 5;
    select_result re, rs, rm;
    run_ok(&I, &pe, &re);
    run_ok(&I, &ps, &rs);
    run_ok(&I, &pm, &rm);
    cr_assert_eq(re.n, rs.n);
    cr_assert_eq(re.n, rm.n);
    for (size_t t = 0; t < re.n; t++) {
      cr_assert_eq(re.idx[t], rs.idx[t], "instance %d step %zu", it, t);
      cr_assert_eq(re.idx[t], rm.idx[t]);
      cr_assert(fabsf(re.gain[t] - rs.gain[t]) <= 1e-4f * (1 + fabsf(re.gain[t])));
    }
    /* the rows come from ssyrk (EXACT) or sgemv (SPARSE): float rounding, scaled by q^2 */
    cr_assert(fabs(re.objective - rs.objective) <= 1e-5 * (1 + re.objective), "%g vs %g", re.objective, rs.objective);
    select_result_free(&re);
    select_result_free(&rs);
    select_result_free(&rm);
    inst_free(&I);
  }
}

Test(select, sample_is_deterministic_and_seeded) {
  rng_seed(8);
  inst I = inst_make(400, 16, 8, 0);
  select_params p = params(SELECT_COMPRESS, 20);
  p.coverage = SELECT_COVER_SAMPLE;
  p.sample = 50;
  p.seed = 42;
  select_result r1, r2;
  run_ok(&I, &p, &r1);
  run_ok(&I, &p, &r2);
  cr_assert_eq(r1.n, 20);
  cr_assert(!memcmp(r1.idx, r2.idx, r1.n * sizeof *r1.idx));
  check_result(&I, &p, &r1);
  select_result_free(&r1);
  select_result_free(&r2);
  inst_free(&I);
}

static int run_code(select_pool *pool, select_params *p) {
  select_result r;
  memset(&r, 0x5a, sizeof r);
  precis_error err = {0};
  int rc = select_run(pool, p, &r, &err);
  if (rc != PRECIS_OK) {
    cr_assert_eq(err.code, rc);
    cr_assert(err.msg[0] != 0, "an error needs a message");
    cr_assert(r.n == 0 && r.idx == NULL && r.assign == NULL, "result must be left empty");
  }
  select_result_free(&r);
  return rc;
}

Test(select, bad_parameters) {
  rng_seed(9);
  inst I = inst_make(10, 4, 2, 10);
  select_pool pool = inst_pool(&I);
  select_params p = params(SELECT_COMPRESS, 3);
  cr_assert_eq(run_code(&pool, &p), PRECIS_OK);

#define EXPECT(code, stmt)                                                     \
  do {                                                                         \
    select_pool pl = pool;                                                     \
    select_params pp = p;                                                      \
    (void)pl;                                                                  \
    stmt;                                                                      \
    cr_assert_eq(run_code(&pl, &pp), code, "%s", #stmt);                        \
  } while (0)

  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.k = 0);
  EXPECT(PRECIS_OK, pp.k = 1000); /* k > n returns n */
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.lambda = -0.1f);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.lambda = 1.5f);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.lambda = NAN);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.a = -1);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.b = NAN);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.c = INFINITY);
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pp.a = pp.b = pp.c = 0);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.theta = -1);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.theta = PRECIS_MAX_THETA + 0.5f);
  EXPECT(PRECIS_OK, pp.theta = PRECIS_MAX_THETA);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.theta = NAN);
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pp.mode = (select_mode)7);
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pp.coverage = (select_coverage)9);
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pp.coverage = (select_coverage)(SELECT_COVER_AUTO + 1));
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pp.coverage = (select_coverage)-1);
  EXPECT(PRECIS_OK, pp.coverage = SELECT_COVER_AUTO);
  /* AUTO on this small pool is EXACT: SAMPLE's and SPARSE's inputs are not
   * needed, so neither a zero sample nor missing lists is an error */
  EXPECT(PRECIS_OK, (pp.coverage = SELECT_COVER_AUTO, pp.sample = 0));
  EXPECT(PRECIS_E_OUT_OF_RANGE, (pp.coverage = SELECT_COVER_SAMPLE, pp.sample = 0));
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pl.n = 0);
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pl.dim = 0);
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pl.vectors = NULL);
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pl.relevance = NULL);
  EXPECT(PRECIS_E_INVALID_ARGUMENT, (pp.token_budget = 10, pl.tokens = NULL));
  EXPECT(PRECIS_E_INVALID_ARGUMENT, pp.coverage = SELECT_COVER_SPARSE); /* no lists */
  cr_assert_eq(select_run(NULL, &p, &(select_result){0}, NULL), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(select_run(&pool, NULL, &(select_result){0}, NULL), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(select_run(&pool, &p, NULL, NULL), PRECIS_E_INVALID_ARGUMENT);

  I.rel[3] = NAN;
  EXPECT(PRECIS_E_OUT_OF_RANGE, (void)0);
  I.rel[3] = 1.5f;
  EXPECT(PRECIS_E_OUT_OF_RANGE, (void)0);
  I.rel[3] = 0.5f;
  /* a non-finite component anywhere, selected or not, in every mode */
  size_t spots[3] = {7, 0, I.n * I.dim - 1};
  for (int mode = 0; mode < 3; mode++)
    for (int s = 0; s < 3; s++)
      for (int kind = 0; kind < 2; kind++) {
        float keep = I.vec[spots[s]];
        I.vec[spots[s]] = kind ? NAN : -INFINITY;
        EXPECT(PRECIS_E_INVALID_VECTOR, pp.mode = (select_mode)mode);
        I.vec[spots[s]] = keep;
      }

  /* malformed neighbour lists */
  inst_random_graph(&I, 3);
  pool = inst_pool(&I);
  p.coverage = SELECT_COVER_SPARSE;
  cr_assert_eq(run_code(&pool, &p), PRECIS_OK);
  I.nbr[4] = 10;
  EXPECT(PRECIS_E_INVALID_ARGUMENT, (void)0);
  I.nbr[4] = 1;
  I.sim[2] = NAN;
  EXPECT(PRECIS_E_INVALID_ARGUMENT, (void)0);
  I.sim[2] = 0.5f;
  I.off[5] = I.off[4] - 1;
  EXPECT(PRECIS_E_INVALID_ARGUMENT, (void)0);
#undef EXPECT
  inst_free(&I);
}

Test(select, large_theta_stays_finite_and_monotone) {
  rng_seed(10);
  inst I = inst_make(200, 16, 3, 0);
  for (size_t i = 0; i < 20; i++) /* near duplicates with top relevance */
    memcpy(I.vec + (i + 20) * 16, I.vec + i * 16, 16 * sizeof(float)), I.rel[i] = 1,
                                                                       I.rel[i + 20] = 1;
  select_params p = params(SELECT_COMPRESS, 30);
  p.theta = 20;
  select_result r;
  run_ok(&I, &p, &r);
  cr_assert_eq(r.n, 30);
  for (size_t t = 0; t < r.n; t++) {
    cr_assert(isfinite(r.gain[t]) && r.gain[t] >= 0);
    if (t) cr_assert_leq(r.gain[t], r.gain[t - 1] * (1 + 1e-5f) + 1e-5f);
  }
  cr_assert(isfinite(r.objective));
  select_result_free(&r);
  inst_free(&I);
}

Test(select, assign_ties_go_to_earliest_selected) {
  float vec[6] = {1, 0, 1, 0, 0, 1}; /* p0 and p1 identical */
  float rel[3] = {0.9f, 0.8f, 0.1f};
  select_pool pool = {.n = 3, .dim = 2, .vectors = vec, .relevance = rel};
  select_params p = params(SELECT_TOPK, 3);
  select_result r;
  cr_assert_eq(select_run(&pool, &p, &r, NULL), PRECIS_OK);
  cr_assert(r.n == 3 && r.idx[0] == 0 && r.idx[1] == 1 && r.idx[2] == 2);
  cr_assert(r.assign[0] == 0 && r.assign[1] == 0 && r.assign[2] == 2);
  cr_assert(r.represents[0] == 2 && r.represents[1] == 0 && r.represents[2] == 1);
  cr_assert_float_eq(r.redundancy, 1.0 / 3.0, 1e-6); /* pairs: 1, 0, 0 */
  cr_assert_float_eq(r.mean_relevance, 0.6, 1e-6);
  cr_assert_float_eq(r.coverage_ratio, 1.0, 1e-6);
  select_result_free(&r);
}

/* ---- coverage AUTO ---- */

static void assert_same_selection(const select_result *a, const select_result *b,
                                  const char *what) {
  cr_assert_eq(a->n, b->n, "%s: sizes %zu and %zu", what, a->n, b->n);
  cr_assert(!memcmp(a->idx, b->idx, a->n * sizeof *a->idx), "%s: indices differ", what);
  cr_assert(!memcmp(a->gain, b->gain, a->n * sizeof *a->gain), "%s: gains differ", what);
  cr_assert(!memcmp(a->represents, b->represents, a->n * sizeof *a->represents),
            "%s: represents differ", what);
  cr_assert(a->objective == b->objective, "%s: objective %.17g vs %.17g", what,
            a->objective, b->objective);
  cr_assert(a->coverage_ratio == b->coverage_ratio, "%s: coverage ratio", what);
}

Test(select, auto_resolves_by_exact_work) {
  /* the cases the threshold was chosen for (select.h) */
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 300, 384, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 300, 384, 1), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1000, 100, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1000, 384, 0), SELECT_COVER_SAMPLE);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1000, 384, 1), SELECT_COVER_SPARSE);
  /* the boundary: n*n*dim at the threshold is still EXACT */
  size_t nb = 1;
  while ((unsigned long long)(nb + 1) * (nb + 1) * 600 <= SELECT_AUTO_EXACT_WORK) nb++;
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, nb, 600, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, nb + 1, 600, 0), SELECT_COVER_SAMPLE);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1, SELECT_AUTO_EXACT_WORK, 0),
               SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1, SELECT_AUTO_EXACT_WORK + 1, 0),
               SELECT_COVER_SAMPLE);
  /* products that would wrap around stay above the threshold */
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, SIZE_MAX, 2, 0), SELECT_COVER_SAMPLE);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, (size_t)1 << 32, 1, 0),
               SELECT_COVER_SAMPLE);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, (size_t)1 << 31, 8, 0),
               SELECT_COVER_SAMPLE);
  /* every other value is left alone */
  for (int c = SELECT_COVER_EXACT; c <= SELECT_COVER_SAMPLE; c++)
    cr_assert_eq(select_coverage_resolve((select_coverage)c, 5000, 4096, 1), c);
  cr_assert_eq(select_coverage_resolve((select_coverage)9, 10, 10, 0), 9);
}

Test(select, auto_small_pool_is_exact_and_identical) {
  rng_seed(11);
  for (int it = 0; it < 24; it++) {
    size_t dim = it % 3 ? 16 : 384;
    size_t n = it == 0 ? 300 : 2 + (size_t)(rng_u64() % 200); /* 300 x 384: the default */
    inst I = inst_make(n, dim, 6, 0);
    if (it % 2) inst_random_graph(&I, 6); /* lists do not matter below the threshold */
    select_params pe = params((select_mode)(it % 4 == 3 ? SELECT_MMR : SELECT_COMPRESS),
                              1 + (uint32_t)(rng_u64() % 20));
    pe.coverage = SELECT_COVER_EXACT;
    pe.theta = (float)(3 * rng_unif());
    select_params pa = pe;
    pa.coverage = SELECT_COVER_AUTO;
    select_result re, ra;
    run_ok(&I, &pe, &re);
    run_ok(&I, &pa, &ra);
    cr_assert_eq(re.coverage, SELECT_COVER_EXACT);
    cr_assert_eq(ra.coverage, SELECT_COVER_EXACT, "instance %d: n %zu dim %zu", it, n, dim);
    assert_same_selection(&re, &ra, "AUTO vs EXACT");
    cr_assert(!memcmp(re.assign, ra.assign, n * sizeof *re.assign));
    check_result(&I, &pa, &ra);
    select_result_free(&re);
    select_result_free(&ra);
    inst_free(&I);
  }
}

Test(select, auto_large_pool_reports_the_fast_form) {
  rng_seed(12);
  inst I = inst_make(1000, 384, 40, 0); /* the case: 3.84e8 > threshold */
  select_params pa = params(SELECT_COMPRESS, 10);
  cr_assert_eq(pa.coverage, SELECT_COVER_AUTO, "AUTO is the default");
  select_params ps = pa;
  ps.coverage = SELECT_COVER_SAMPLE;
  select_result ra, rs;

  /* without neighbour lists (as engine_retrieve calls it): SAMPLE */
  run_ok(&I, &pa, &ra);
  run_ok(&I, &ps, &rs);
  cr_assert_eq(ra.coverage, SELECT_COVER_SAMPLE);
  cr_assert_eq(rs.coverage, SELECT_COVER_SAMPLE);
  cr_assert_eq(ra.n, 10);
  assert_same_selection(&ra, &rs, "AUTO vs SAMPLE");
  check_result(&I, &pa, &ra);
  select_result_free(&ra);
  select_result_free(&rs);

  /* SAMPLE's parameter is checked once AUTO chose SAMPLE */
  select_pool pool = inst_pool(&I);
  select_params bad = pa;
  bad.sample = 0;
  cr_assert_eq(run_code(&pool, &bad), PRECIS_E_OUT_OF_RANGE);

  /* with neighbour lists: SPARSE, and so are its checks */
  inst_random_graph(&I, 8);
  ps.coverage = SELECT_COVER_SPARSE;
  run_ok(&I, &pa, &ra);
  run_ok(&I, &ps, &rs);
  cr_assert_eq(ra.coverage, SELECT_COVER_SPARSE);
  assert_same_selection(&ra, &rs, "AUTO vs SPARSE");
  check_result(&I, &pa, &ra);
  select_result_free(&ra);
  select_result_free(&rs);
  pool = inst_pool(&I);
  I.nbr[5] = 1000; /* outside the pool */
  cr_assert_eq(run_code(&pool, &pa), PRECIS_E_INVALID_ARGUMENT);
  I.nbr[5] = 0;

  /* TOPK and MMR compute no coverage but name the resolved form too */
  select_params pt = pa;
  pt.mode = SELECT_TOPK;
  run_ok(&I, &pt, &ra);
  cr_assert_eq(ra.coverage, SELECT_COVER_SPARSE);
  select_result_free(&ra);
  inst_free(&I);
}

/* ---- one scale: quality, MMR's lambda, the diversity knob ---- */

/* Pool: a tight cluster of near-duplicates nearest the query and spread-out
 * points a little farther. quality = cosine to the query. */
typedef struct {
  size_t n, dim;
  float *v, *rel, *qual;
} qpool;

static qpool qpool_make(size_t n, size_t dim, uint64_t seed) {
  qpool P = {n, dim, calloc(n * dim, sizeof(float)), calloc(n, sizeof(float)),
             calloc(n, sizeof(float))};
  rng_seed(seed);
  float *q = calloc(dim, sizeof(float));
  q[0] = 1;
  for (size_t i = 0; i < n; i++) {
    float *x = P.v + i * dim;
    if (i < n / 2) { /* near-duplicates of one direction close to q */
      x[0] = 1;
      x[1] = 0.3f;
      for (size_t d = 2; d < dim; d++) x[d] = 0.01f * (float)(rng_unif() - 0.5);
    } else {
      x[0] = 0.8f;
      for (size_t d = 1; d < dim; d++) x[d] = (float)(rng_unif() - 0.5);
    }
    double nr = 0;
    for (size_t d = 0; d < dim; d++) nr += (double)x[d] * x[d];
    for (size_t d = 0; d < dim; d++) x[d] /= (float)sqrt(nr);
    P.qual[i] = x[0]; /* cos to q */
  }
  float lo = 1, hi = -1;
  for (size_t i = 0; i < n; i++) {
    if (P.qual[i] < lo) lo = P.qual[i];
    if (P.qual[i] > hi) hi = P.qual[i];
  }
  for (size_t i = 0; i < n; i++) P.rel[i] = hi > lo ? (P.qual[i] - lo) / (hi - lo) : 1;
  free(q);
  return P;
}

static void qpool_free(qpool *P) {
  free(P->v);
  free(P->rel);
  free(P->qual);
}

static double mean_pairwise(const qpool *P, const select_result *r) {
  double s = 0;
  size_t c = 0;
  for (size_t a = 0; a < r->n; a++)
    for (size_t b = a + 1; b < r->n; b++, c++) {
      const float *x = P->v + r->idx[a] * P->dim, *y = P->v + r->idx[b] * P->dim;
      double d = 0;
      for (size_t t = 0; t < P->dim; t++) d += (double)x[t] * y[t];
      s += d;
    }
  return c ? s / (double)c : 0;
}

static double mean_quality(const qpool *P, const select_result *r) {
  double s = 0;
  for (size_t a = 0; a < r->n; a++) s += P->qual[r->idx[a]];
  return r->n ? s / (double)r->n : 0;
}

static select_result qrun(const qpool *P, select_params p) {
  select_pool pl = {.n = P->n, .dim = P->dim, .vectors = P->v, .relevance = P->rel,
                    .quality = P->qual};
  select_result r;
  precis_error err = {0};
  int rc = select_run(&pl, &p, &r, &err);
  cr_assert_eq(rc, PRECIS_OK, "%s", err.msg);
  return r;
}

Test(select, mmr_lambda_one_is_topk_by_quality) {
  for (uint64_t seed = 1; seed <= 5; seed++) {
    qpool P = qpool_make(60, 12, seed);
    /* relevance in a different order than quality: MMR must follow quality */
    for (size_t i = 0; i < P.n; i++) P.rel[i] = (float)((i * 7) % P.n) / (float)P.n;
    select_params p = params(SELECT_MMR, 10);
    p.lambda = 1.0f;
    select_result r = qrun(&P, p);
    cr_assert_eq(r.n, 10);
    for (size_t t = 0; t < r.n; t++)
      for (size_t i = 0; i < P.n; i++) {
        bool chosen = false;
        for (size_t u = 0; u < r.n; u++) chosen |= r.idx[u] == i;
        if (!chosen) cr_assert(P.qual[i] <= P.qual[r.idx[t]], "lambda 1 skipped a better point");
      }
    select_result_free(&r);
    qpool_free(&P);
  }
}

Test(select, mmr_lambda_moves_from_relevance_to_diversity) {
  qpool P = qpool_make(80, 16, 7);
  double prev_red = 2, prev_q = 2;
  const float lams[] = {1.0f, 0.7f, 0.5f, 0.3f, 0.0f};
  double red[5];
  for (int i = 0; i < 5; i++) {
    select_params p = params(SELECT_MMR, 8);
    p.lambda = lams[i];
    select_result r = qrun(&P, p);
    red[i] = mean_pairwise(&P, &r);
    double q = mean_quality(&P, &r);
    cr_assert(red[i] <= prev_red + 1e-9, "lambda %g: redundancy rose", (double)lams[i]);
    cr_assert(q <= prev_q + 1e-9, "lambda %g: quality rose", (double)lams[i]);
    prev_red = red[i];
    prev_q = q;
    select_result_free(&r);
  }
  /* on one scale lambda 0.5 already leaves the near-duplicate cluster */
  cr_assert(red[2] < red[0] - 0.1, "lambda 0.5 does not diversify: %g vs %g", red[2], red[0]);
  /* lambda 0: after the first pick, each pick minimises its max similarity
   * to the chosen set (brute force over the pool) */
  select_params p = params(SELECT_MMR, 4);
  p.lambda = 0.0f;
  select_result r = qrun(&P, p);
  for (size_t t = 1; t < r.n; t++) {
    double best = 1e9, got = 0;
    for (size_t i = 0; i < P.n; i++) {
      bool used = false;
      for (size_t u = 0; u < t; u++) used |= r.idx[u] == i;
      if (used) continue;
      double mx = -1e9;
      for (size_t u = 0; u < t; u++) {
        double d = 0;
        for (size_t k = 0; k < P.dim; k++) d += (double)P.v[i * P.dim + k] * P.v[r.idx[u] * P.dim + k];
        if (d > mx) mx = d;
      }
      if (mx < best) best = mx;
      if (i == r.idx[t]) got = mx;
    }
    cr_assert(got <= best + 1e-5, "pick %zu is not the most diverse: %g > %g", t, got, best);
  }
  select_result_free(&r);
  qpool_free(&P);
}

Test(select, diversity_zero_is_topk_and_more_diversifies_monotonically) {
  qpool P = qpool_make(80, 16, 11);
  select_params t = params(SELECT_TOPK, 8);
  select_result rt = qrun(&P, t);
  double prev_red = 2;
  const float ds[] = {0.0f, 0.25f, 0.5f, 0.75f, 1.0f};
  for (int i = 0; i < 5; i++) {
    select_params p;
    select_params_default(&p);
    p.k = 8;
    select_params_set_diversity(&p, ds[i]);
    select_result r = qrun(&P, p);
    if (i == 0)
      for (size_t u = 0; u < r.n; u++) cr_assert_eq(r.idx[u], rt.idx[u], "diversity 0 is not TOPK");
    double red = mean_pairwise(&P, &r);
    cr_assert(red <= prev_red + 1e-6, "diversity %g: redundancy rose (%g > %g)", (double)ds[i], red,
              prev_red);
    prev_red = red;
    select_result_free(&r);
  }
  cr_assert(select_theta_for_diversity(0.25f) > select_theta_for_diversity(0.75f));
  select_result_free(&rt);
  qpool_free(&P);
}

Test(select, quality_must_be_finite) {
  qpool P = qpool_make(10, 4, 3);
  P.qual[4] = NAN;
  select_pool pl = {.n = P.n, .dim = P.dim, .vectors = P.v, .relevance = P.rel, .quality = P.qual};
  select_params p = params(SELECT_MMR, 3);
  select_result r;
  precis_error err = {0};
  cr_assert_eq(select_run(&pl, &p, &r, &err), PRECIS_E_OUT_OF_RANGE);
  qpool_free(&P);
}

Test(select, extreme_theta_and_quality_stay_finite) {
  qpool P = qpool_make(60, 8, 5);
  for (size_t i = 0; i < P.n; i++) P.qual[i] = i % 3 ? SELECT_MAX_QUALITY : -SELECT_MAX_QUALITY;
  select_params p = params(SELECT_COMPRESS, 12);
  p.b = 0;
  p.theta = PRECIS_MAX_THETA;
  select_result r = qrun(&P, p);
  cr_assert_eq(r.n, 12);
  for (size_t t = 0; t < r.n; t++) cr_assert(isfinite(r.gain[t]) && r.gain[t] >= 0);
  cr_assert(isfinite(r.objective));
  select_result_free(&r);
  P.qual[3] = SELECT_MAX_QUALITY * 1.01f;
  select_pool pl = {.n = P.n, .dim = P.dim, .vectors = P.v, .relevance = P.rel, .quality = P.qual};
  precis_error err = {0};
  cr_assert_eq(select_run(&pl, &p, &r, &err), PRECIS_E_OUT_OF_RANGE);
  qpool_free(&P);
}
