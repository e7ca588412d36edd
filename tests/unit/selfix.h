/* selfix.h: deterministic instances, the reference objective and result checks shared by the selection tests (test_select.c, test_select_scale.c). */
#ifndef PRECIS_TESTS_SELFIX_H
#define PRECIS_TESTS_SELFIX_H

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

static inline void rng_seed(uint64_t s) { rng_state = s * 0x9e3779b97f4a7c15ULL + 1; }

static inline uint64_t rng_u64(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng_state = x;
  return x;
}

static inline double rng_unif(void) { return (double)(rng_u64() >> 11) / 9007199254740992.0; }

static inline double rng_gauss(void) {
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
static inline inst inst_make(size_t n, size_t dim, size_t clusters, uint32_t max_tok) {
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

static inline double dotd(const inst *I, size_t i, size_t j) {
  double s = 0;
  for (size_t d = 0; d < I->dim; d++) s += (double)I->vec[i * I->dim + d] * I->vec[j * I->dim + d];
  return s;
}

/* Complete neighbour graph (every other point, exact similarity). */
static inline void inst_complete_graph(inst *I) {
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
static inline void inst_random_graph(inst *I, size_t deg) {
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

static inline void inst_free(inst *I) {
  free(I->vec);
  free(I->rel);
  free(I->tok);
  free(I->off);
  free(I->nbr);
  free(I->sim);
}

static inline select_pool inst_pool(const inst *I) {
  return (select_pool){.n = I->n,
                       .dim = I->dim,
                       .vectors = I->vec,
                       .relevance = I->rel,
                       .tokens = I->tok,
                       .nbr_off = I->off,
                       .nbr_idx = I->nbr,
                       .nbr_sim = I->sim};
}

/* ---- reference objective ---- */

static inline double ref_logdet(const inst *I, const uint32_t *S, size_t m, double theta) {
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

static inline double ref_coverage(const inst *I, const uint32_t *S, size_t m) {
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

static inline double ref_F(const inst *I, const select_params *p, const uint32_t *S, size_t m) {
  double r = 0;
  for (size_t s = 0; s < m; s++) r += I->rel[S[s]];
  return p->a * r + p->b * ref_coverage(I, S, m) + p->c * ref_logdet(I, S, m, p->theta);
}

static inline void run_ok(const inst *I, const select_params *p, select_result *r) {
  select_pool pool = inst_pool(I);
  precis_error err = {0};
  int rc = select_run(&pool, p, r, &err);
  cr_assert_eq(rc, PRECIS_OK, "select_run failed: %d %s", rc, err.msg);
}

/* Invariants every result must satisfy. */
static inline void check_result(const inst *I, const select_params *p, const select_result *r) {
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
static inline select_params params(select_mode mode, uint32_t k) {
  select_params p;
  select_params_default(&p);
  p.mode = mode;
  p.k = k;
  p.b = 0.5f;
  p.theta = 1.0f;
  return p;
}

static inline int run_code(select_pool *pool, select_params *p) {
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

#endif /* PRECIS_TESTS_SELFIX_H */
