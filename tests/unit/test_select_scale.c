/*
 * test_select_scale.c: selection tests of coverage AUTO and of the one quality scale (MMR's lambda, the diversity knob, finite extremes). Instances and checks: selfix.h.
 */
#include "selfix.h"

/* ---- coverage AUTO ---- */

static void assert_same_selection(const select_result *a, const select_result *b,
                                  const char *what) {
  cr_assert_eq(a->n, b->n, "%s: sizes %zu and %zu", what, a->n, b->n);
  cr_assert(!memcmp(a->idx, b->idx, a->n * sizeof *a->idx), "%s: indices differ", what);
  cr_assert(!memcmp(a->gain, b->gain, a->n * sizeof *a->gain), "%s: gains differ", what);
  cr_assert(!memcmp(a->represents, b->represents, a->n * sizeof *a->represents),
            "%s: represents differ", what);
  cr_assert(a->objective == b->objective, "%s: objective %.17g vs %.17g", what, a->objective,
            b->objective);
  cr_assert(a->coverage_ratio == b->coverage_ratio, "%s: coverage ratio", what);
}

Test(select, auto_resolves_by_exact_work) {
  /* the cases the threshold was chosen for (select.h) */
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 300, 384, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 300, 384, 1), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1000, 100, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1000, 384, 0), SELECT_COVER_SAMPLE);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1000, 384, 1), SELECT_COVER_SPARSE);
  /* issue 13: larger pools stay EXACT (the old n*n*dim <= 1.25e8 switched at
   * 570 at 384-d and 1,118 at 100-d), within the old bound's worst latency */
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 732, 384, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 733, 384, 0), SELECT_COVER_SAMPLE);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1140, 100, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1141, 100, 1), SELECT_COVER_SPARSE);
  /* the boundary: n*n*(dim + row cost) at the threshold is still EXACT */
  size_t nb = 1;
  const unsigned long long d600 = 600 + SELECT_AUTO_ROW_COST;
  while ((unsigned long long)(nb + 1) * (nb + 1) * d600 <= SELECT_AUTO_EXACT_WORK) nb++;
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, nb, 600, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, nb + 1, 600, 0), SELECT_COVER_SAMPLE);
  size_t dmax = (size_t)(SELECT_AUTO_EXACT_WORK - SELECT_AUTO_ROW_COST);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1, dmax, 0), SELECT_COVER_EXACT);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1, dmax + 1, 0), SELECT_COVER_SAMPLE);
  cr_assert_eq(select_coverage_resolve(SELECT_COVER_AUTO, 1, SIZE_MAX, 0), SELECT_COVER_SAMPLE);
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

/* EXACT coverage against a plain greedy in double (issue 13: the Gram
 * matrix's blocked mirror, the first gains taken with it, the SIMD gain
 * kernel): pool sizes around the 64-row blocks, the 4 x 4 transposes and
 * the 8 float lanes. At every step the engine's pick must have the largest
 * true marginal gain of F (ties within float rounding), and its reported
 * gain must be that marginal gain; the reference then follows the engine's
 * pick, so ties cannot make the walk diverge. */
Test(select, exact_coverage_greedy_matches_brute_force) {
  static const size_t sizes[] = {1, 3, 5, 8, 63, 64, 65, 67, 130, 203};
  static const size_t dims[] = {3, 16, 100};
  rng_seed(31);
  for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++) {
      size_t n = sizes[si], dim = dims[di];
      inst I = inst_make(n, dim, 1 + n / 12, 0);
      select_params p = params(SELECT_COMPRESS, 8);
      p.coverage = SELECT_COVER_EXACT;
      p.a = (float)(0.5 * rng_unif());
      p.b = 0.25f + (float)rng_unif();
      p.c = (float)rng_unif();
      p.theta = (float)(3 * rng_unif());
      select_result r;
      run_ok(&I, &p, &r);
      cr_assert_eq(r.coverage, SELECT_COVER_EXACT);
      cr_assert_eq(r.n, n < 8 ? n : 8);
      check_result(&I, &p, &r);
      uint32_t *S = malloc((r.n + 1) * sizeof *S);
      bool *in = calloc(n, sizeof *in);
      cr_assert(S && in);
      for (size_t t = 0; t < r.n; t++) {
        double base = ref_F(&I, &p, S, t), best = -INFINITY, mine = 0;
        for (uint32_t i = 0; i < n; i++) {
          if (in[i]) continue;
          S[t] = i;
          double g = ref_F(&I, &p, S, t + 1) - base;
          if (g > best) best = g;
          if (i == r.idx[t]) mine = g;
        }
        double tol = 1e-4 * (1 + fabs(best));
        cr_assert(!in[r.idx[t]], "n %zu dim %zu step %zu: picked twice", n, dim, t);
        cr_assert_geq(mine, best - tol, "n %zu dim %zu step %zu: gain %.9g, best %.9g", n, dim, t,
                      mine, best);
        cr_assert(fabs((double)r.gain[t] - mine) <= tol,
                  "n %zu dim %zu step %zu: gain %.9g vs %.9g", n, dim, t, (double)r.gain[t], mine);
        S[t] = r.idx[t];
        in[r.idx[t]] = true;
      }
      free(S);
      free(in);
      select_result_free(&r);
      inst_free(&I);
    }
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

/* relevance = quality min-max scaled to [0, 1] */
static void qpool_scale(qpool *P) {
  float lo = 1e9f, hi = -1e9f;
  for (size_t i = 0; i < P->n; i++) {
    if (P->qual[i] < lo) lo = P->qual[i];
    if (P->qual[i] > hi) hi = P->qual[i];
  }
  for (size_t i = 0; i < P->n; i++) P->rel[i] = hi > lo ? (P->qual[i] - lo) / (hi - lo) : 1;
}

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
  qpool_scale(&P);
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
  select_pool pl = {
      .n = P->n, .dim = P->dim, .vectors = P->v, .relevance = P->rel, .quality = P->qual};
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
        for (size_t k = 0; k < P.dim; k++)
          d += (double)P.v[i * P.dim + k] * P.v[r.idx[u] * P.dim + k];
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

/* ---- the similarity floor ---- */

/* A pool whose quality is the cosine to a random query, shifted by `shift`
 * (a negative shift makes every mean negative: the floor then allows a loss
 * of (1 - floor)|m|); relevance is the min-max scaled quality. */
static qpool fpool_make(size_t n, size_t dim, double shift) {
  qpool P = {n, dim, calloc(n * dim, sizeof(float)), calloc(n, sizeof(float)),
             calloc(n, sizeof(float))};
  float *q = calloc(dim, sizeof(float));
  for (size_t d = 0; d < dim; d++) q[d] = (float)rng_gauss();
  for (size_t i = 0; i < n; i++) {
    float *x = P.v + i * dim;
    double nr = 0, qn = 0, dot = 0;
    for (size_t d = 0; d < dim; d++) {
      x[d] = q[d] * (float)(i % 3) + (float)rng_gauss(); /* some points near q */
      nr += (double)x[d] * x[d];
    }
    for (size_t d = 0; d < dim; d++) {
      x[d] /= (float)sqrt(nr);
      qn += (double)q[d] * q[d];
      dot += (double)x[d] * q[d];
    }
    P.qual[i] = (float)(dot / sqrt(qn) + shift);
  }
  qpool_scale(&P);
  free(q);
  return P;
}

/* the mean quality of the best min(k, n) points */
static double top_mean(const qpool *P, size_t k) {
  float *q = malloc(P->n * sizeof *q);
  memcpy(q, P->qual, P->n * sizeof *q);
  size_t m = k < P->n ? k : P->n;
  double s = 0;
  for (size_t t = 0; t < m; t++) { /* selection of the m largest */
    size_t b = t;
    for (size_t i = t + 1; i < P->n; i++)
      if (q[i] > q[b]) b = i;
    float x = q[t];
    q[t] = q[b];
    q[b] = x;
    s += q[t];
  }
  free(q);
  return s / (double)m;
}

/* Every mode that diversifies keeps the floor on every pool, never returns
 * a short set, and floor 1 returns exactly the best points. */
Test(select, similarity_floor_holds_for_mmr_and_compress) {
  rng_seed(31);
  const float floors[] = {0.5f, 0.9f, 0.975f, 1.0f};
  for (int it = 0; it < 80; it++) {
    size_t n = 1 + (size_t)(rng_u64() % 120);
    qpool P = fpool_make(n, 8, it % 4 == 3 ? -1.5 : 0.0);
    uint32_t k = 1 + (uint32_t)(rng_u64() % 15);
    double m = top_mean(&P, k);
    for (int f = 0; f < 4; f++)
      for (int mode = 0; mode < 4; mode++) {
        select_params p = params(mode < 2 ? SELECT_MMR : SELECT_COMPRESS, k);
        p.lambda = mode == 0 ? 0.0f : 0.3f;
        p.theta = 0.0f;  /* the most diverse log-det */
        if (mode == 3) { /* the lazy path: coverage on */
          p.b = 1.0f;
          p.coverage = SELECT_COVER_EXACT;
        }
        p.floor = floors[f];
        select_result r = qrun(&P, p);
        cr_assert_eq(r.n, k < n ? k : n, "iteration %d mode %d: short set", it, mode);
        double got = mean_quality(&P, &r), need = m - (1.0 - floors[f]) * fabs(m);
        cr_assert(got >= need - 1e-5, "iteration %d mode %d floor %g: mean %g < %g", it, mode,
                  (double)floors[f], got, need);
        if (floors[f] == 1.0f) cr_assert(fabs(got - m) < 1e-5, "floor 1 is not the top set");
        select_result_free(&r);
      }
    qpool_free(&P);
  }
}

/* The floor is what bounds the loss: on a pool with a near-duplicate cluster
 * nearest the query (cosine 0.96) and spread points farther (about 0.55),
 * the most diverse MMR falls far below the top set's similarity without
 * it, holds 0.9 with it (room for about one spread point), and still
 * diversifies. */
Test(select, similarity_floor_binds_and_keeps_diversity) {
  qpool P = qpool_make(80, 16, 7);
  double m = top_mean(&P, 8);
  select_params p = params(SELECT_MMR, 8);
  p.lambda = 0.0f;
  select_result free_r = qrun(&P, p);
  p.floor = 0.9f;
  select_result floor_r = qrun(&P, p);
  select_params t = params(SELECT_TOPK, 8);
  select_result top_r = qrun(&P, t);
  double q_free = mean_quality(&P, &free_r), q_floor = mean_quality(&P, &floor_r);
  cr_assert_lt(q_free, 0.9 * m, "the pool does not test the floor: %g vs %g", q_free, m);
  cr_assert_geq(q_floor, 0.9 * m - 1e-6, "%g < 0.9 x %g", q_floor, m);
  cr_assert_lt(mean_pairwise(&P, &floor_r), mean_pairwise(&P, &top_r) - 0.05,
               "with the floor MMR no longer diversifies");
  select_result_free(&free_r);
  select_result_free(&floor_r);
  select_result_free(&top_r);
  qpool_free(&P);
}

/* With a token budget the running mean holds while fitting points meet it,
 * and the budget is never exceeded. */
Test(select, similarity_floor_with_a_token_budget) {
  rng_seed(32);
  for (int it = 0; it < 40; it++) {
    size_t n = 20 + (size_t)(rng_u64() % 60);
    qpool P = fpool_make(n, 8, 0.0);
    uint32_t *tok = malloc(n * sizeof *tok);
    for (size_t i = 0; i < n; i++) tok[i] = 1 + (uint32_t)(rng_u64() % 3);
    for (int mode = 0; mode < 2; mode++) {
      select_params p = params(mode ? SELECT_COMPRESS : SELECT_MMR, 10);
      p.lambda = 0.0f;
      p.theta = 0.0f;
      p.floor = 0.95f;
      p.token_budget = 30; /* any 10 points fit: TOPK's set is the count's */
      select_pool pl = {.n = n,
                        .dim = P.dim,
                        .vectors = P.v,
                        .relevance = P.rel,
                        .quality = P.qual,
                        .tokens = tok};
      select_result r;
      precis_error err = {0};
      cr_assert_eq(select_run(&pl, &p, &r, &err), PRECIS_OK, "%s", err.msg);
      uint64_t used = 0;
      for (size_t t = 0; t < r.n; t++) used += tok[r.idx[t]];
      cr_assert_leq(used, 30);
      double m = top_mean(&P, 10);
      cr_assert_geq(mean_quality(&P, &r), m - 0.05 * fabs(m) - 1e-5, "iteration %d mode %d", it,
                    mode);
      select_result_free(&r);
    }
    free(tok);
    qpool_free(&P);
  }
}

/* ---- shared neighbours in the log-det similarity ---- */

/* Eight points with almost the same vector, in two graph communities (each
 * point's neighbourhood is its community): community A holds both ends of
 * the small spread of directions, B the middle. By cosine alone the first
 * two picks are A's two ends; by shared neighbours (weight 1) they come
 * from both communities. */
Test(select, shared_neighbours_separate_graph_communities) {
  enum { N = 8, D = 4 };
  float v[N * D], rel[N], qual[N];
  uint32_t off[N + 1];
  uint64_t ids[N * 4];
  for (int i = 0; i < N; i++) {
    float *x = v + i * D;
    x[0] = 1;
    static const float spread[N] = {0, 0.07f, 0.005f, 0.065f, 0.03f, 0.035f, 0.04f, 0.045f};
    x[1] = spread[i];
    x[2] = x[3] = 0;
    float nr = sqrtf(x[0] * x[0] + x[1] * x[1]);
    x[0] /= nr;
    x[1] /= nr;
    qual[i] = 0.9f - 0.001f * (float)i; /* point 0 first, then 1, 2 ... */
    rel[i] = 1.0f - 0.01f * (float)i;
    off[i] = (uint32_t)(i * 4);
    for (int t = 0; t < 4; t++) ids[i * 4 + t] = (uint64_t)(100 * (i < 4 ? 1 : 2) + t);
  }
  off[N] = N * 4;
  select_pool pl = {.n = N, .dim = D, .vectors = v, .relevance = rel, .quality = qual};
  pl.set_off = off;
  pl.set_ids = ids;
  select_params p = params(SELECT_COMPRESS, 4);
  p.b = 0.0f; /* the default objective: log-det alone */
  p.theta = 0.0f;
  p.shared = 1.0f;
  select_result r;
  precis_error err = {0};
  cr_assert_eq(select_run(&pl, &p, &r, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(r.n, 4);
  cr_assert_neq(r.idx[0] < 4, r.idx[1] < 4, "picks %u, %u: one community", r.idx[0], r.idx[1]);
  select_result_free(&r);
  /* without the weight the sets are ignored: the same call as no sets, and
   * cosine alone takes A's other end */
  p.shared = 0.0f;
  select_result a, b;
  cr_assert_eq(select_run(&pl, &p, &a, &err), PRECIS_OK);
  cr_assert(a.idx[0] < 4 && a.idx[1] < 4, "cosine alone: picks %u, %u", a.idx[0], a.idx[1]);
  pl.set_off = NULL;
  pl.set_ids = NULL;
  cr_assert_eq(select_run(&pl, &p, &b, &err), PRECIS_OK);
  cr_assert_eq(a.n, b.n);
  for (size_t t = 0; t < a.n; t++) cr_assert_eq(a.idx[t], b.idx[t]);
  select_result_free(&a);
  select_result_free(&b);
  /* MMR at lambda 0 diversifies on the same similarity: its second pick
   * comes from the other community with the weight, from A without */
  select_params pm = params(SELECT_MMR, 4);
  pm.lambda = 0.0f;
  pm.shared = 1.0f;
  pl.set_off = off;
  pl.set_ids = ids;
  cr_assert_eq(select_run(&pl, &pm, &r, &err), PRECIS_OK, "%s", err.msg);
  cr_assert(r.idx[0] == 0 && r.idx[1] >= 4, "MMR, shared 1: picks %u, %u", r.idx[0], r.idx[1]);
  select_result_free(&r);
  pm.shared = 0.0f;
  cr_assert_eq(select_run(&pl, &pm, &r, &err), PRECIS_OK, "%s", err.msg);
  cr_assert(r.idx[0] == 0 && r.idx[1] == 1, "MMR, cosine: picks %u, %u", r.idx[0], r.idx[1]);
  select_result_free(&r);
  /* bad input */
  p.shared = 1.5f;
  cr_assert_eq(select_run(&pl, &p, &r, &err), PRECIS_E_OUT_OF_RANGE);
  p.shared = 0.5f;
  ids[1] = ids[0]; /* a repeat: not strictly ascending */
  cr_assert_eq(select_run(&pl, &p, &r, &err), PRECIS_E_INVALID_ARGUMENT);
}

/* A random pool with neighbourhood sets: n unit vectors of dim d,
 * relevance in [0, 1], and for each point sz distinct keys below
 * universe, sorted (the form retrieve passes: set_off/set_ids). */
typedef struct {
  float *v, *rel;
  uint32_t *off;
  uint64_t *ids;
  select_pool pl;
} spool;

static spool spool_make(size_t n, size_t d, size_t sz, uint64_t universe, uint64_t seed) {
  spool P;
  rng_seed(seed);
  P.v = malloc(n * d * sizeof *P.v);
  P.rel = malloc(n * sizeof *P.rel);
  P.off = malloc((n + 1) * sizeof *P.off);
  P.ids = malloc(n * sz * sizeof *P.ids);
  cr_assert(P.v && P.rel && P.off && P.ids);
  for (size_t i = 0; i < n; i++) {
    double nr = 0;
    for (size_t t = 0; t < d; t++) {
      P.v[i * d + t] = (float)rng_gauss();
      nr += (double)P.v[i * d + t] * P.v[i * d + t];
    }
    for (size_t t = 0; t < d; t++) P.v[i * d + t] /= (float)sqrt(nr);
    P.rel[i] = (float)rng_unif();
    P.off[i] = (uint32_t)(i * sz);
    uint64_t *a = P.ids + i * sz;
    for (size_t t = 0; t < sz; t++) {
      uint64_t x;
      bool dup;
      do {
        x = rng_u64() % universe;
        dup = false;
        for (size_t u = 0; u < t; u++) dup |= a[u] == x;
      } while (dup);
      size_t y = t;
      for (; y > 0 && a[y - 1] > x; y--) a[y] = a[y - 1];
      a[y] = x;
    }
  }
  P.off[n] = (uint32_t)(n * sz);
  P.pl = (select_pool){.n = n, .dim = d, .vectors = P.v, .relevance = P.rel};
  P.pl.set_off = P.off;
  P.pl.set_ids = P.ids;
  return P;
}

static void spool_free(spool *P) {
  free(P->v);
  free(P->rel);
  free(P->off);
  free(P->ids);
}

/* The mixed similarity of two pools points of random_pool_sets, directly:
 * (1 - w) cosine + w |A_i & A_j| / sz, and 1 on the diagonal. */
static double mixed_sim(const float *v, const uint64_t *ids, size_t D, size_t sz, double w,
                        size_t i, size_t j) {
  if (i == j) return 1.0;
  double c = 0, both = 0;
  for (size_t d = 0; d < D; d++) c += (double)v[i * D + d] * v[j * D + d];
  for (size_t x = 0; x < sz; x++)
    for (size_t y = 0; y < sz; y++) both += ids[i * sz + x] == ids[j * sz + y];
  return (1.0 - w) * c + w * both / (double)sz;
}

/* The reported objective (log det(I + L_S) with the mixed similarity)
 * against a direct computation, on a small pool (bitsets) and on one too
 * large for them (merged sorted sets). */
static void shared_objective_matches(size_t n, size_t universe, uint64_t seed) {
  enum { D = 8, SZ = 12, K = 5 };
  spool P = spool_make(n, D, SZ, universe, seed);
  select_params p = params(SELECT_COMPRESS, K);
  p.b = 0.0f;
  p.theta = 0.0f; /* q = 30 for every point */
  p.shared = 0.6f;
  select_result r;
  precis_error err = {0};
  cr_assert_eq(select_run(&P.pl, &p, &r, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(r.n, K);
  double A[K][K];
  for (size_t s1 = 0; s1 < K; s1++)
    for (size_t t = 0; t < K; t++) {
      double k = mixed_sim(P.v, P.ids, D, SZ, 0.6, r.idx[s1], r.idx[t]);
      A[s1][t] = 900.0 * k + (s1 == t);
    }
  double ld = 0;
  for (size_t j = 0; j < K; j++) { /* dense Cholesky */
    double d = A[j][j];
    for (size_t l = 0; l < j; l++) d -= A[j][l] * A[j][l];
    ld += log(d);
    double dj = sqrt(d);
    A[j][j] = dj;
    for (size_t i = j + 1; i < K; i++) {
      double x = A[i][j];
      for (size_t l = 0; l < j; l++) x -= A[i][l] * A[j][l];
      A[i][j] = x / dj;
    }
  }
  cr_assert(fabs(r.objective - ld) < 1e-3 * fabs(ld), "n %zu: objective %g, direct %g", n,
            r.objective, ld);
  select_result_free(&r);
  spool_free(&P);
}

Test(select, shared_neighbours_objective_matches_direct_log_det) {
  shared_objective_matches(60, 200, 41);    /* bitsets */
  shared_objective_matches(5000, 4000, 42); /* too many shared keys: merge */
}

/* MMR's redundancy mixes the shared neighbours in as COMPRESS's log-det
 * does: its picks, on a small pool (bitsets) and a large one (merged
 * sets), equal a direct greedy over lambda rel - (1 - lambda) max mixed
 * similarity (the floor off), for several weights and lambdas. */
static void mmr_mixed_matches_direct(size_t n, size_t universe, uint64_t seed) {
  enum { D = 8, SZ = 12, K = 8 };
  spool P = spool_make(n, D, SZ, universe, seed);
  double *maxk = malloc(n * sizeof *maxk);
  bool *taken = malloc(n * sizeof *taken);
  cr_assert(maxk && taken);
  static const float ws[] = {0.0f, 0.5f, 1.0f}, lams[] = {0.0f, 0.3f, 0.7f};
  size_t differ = 0; /* picks that differ from the cosine-only run */
  uint32_t cos_only[K];
  for (size_t wi = 0; wi < 3; wi++)
    for (size_t li = 0; li < 3; li++) {
      select_params p = params(SELECT_MMR, K);
      p.lambda = lams[li];
      p.shared = ws[wi];
      p.floor = 0.0f;
      select_result r;
      precis_error err = {0};
      cr_assert_eq(select_run(&P.pl, &p, &r, &err), PRECIS_OK, "%s", err.msg);
      cr_assert_eq(r.n, K);
      for (size_t i = 0; i < n; i++) taken[i] = false;
      for (size_t t = 0; t < K; t++) {
        size_t best = n;
        double bs = 0;
        for (size_t i = 0; i < n; i++) {
          if (taken[i]) continue;
          double sc = t == 0 ? P.rel[i] : lams[li] * P.rel[i] - (1.0 - lams[li]) * maxk[i];
          if (best == n || sc > bs) best = i, bs = sc;
        }
        cr_assert_eq(r.idx[t], best, "w %g lambda %g pick %zu: %u, direct %zu", ws[wi], lams[li], t,
                     r.idx[t], best);
        taken[best] = true;
        for (size_t i = 0; i < n; i++) {
          double k = mixed_sim(P.v, P.ids, D, SZ, ws[wi], best, i);
          if (t == 0 || k > maxk[i]) maxk[i] = k;
        }
        if (wi == 0 && li == 0) cos_only[t] = r.idx[t];
        if (wi == 2 && li == 0) differ += r.idx[t] != cos_only[t];
      }
      select_result_free(&r);
    }
  cr_assert_gt(differ, 0, "the shared neighbours changed no pick at lambda 0");
  spool_free(&P);
  free(maxk);
  free(taken);
}

Test(select, mmr_redundancy_mixes_shared_neighbours) {
  mmr_mixed_matches_direct(60, 200, 43);    /* bitsets */
  mmr_mixed_matches_direct(5000, 4000, 44); /* merged sets */
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
