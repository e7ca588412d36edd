/*
 * test_select.c: unit tests of the selection module (index/retrieve/select.h):
 * TOPK/MMR/COMPRESS semantics, the greedy guarantees (against a brute-force
 * optimum and a direct log-det), budgets, result statistics, validation.
 * The reference objective here is computed independently: dot products in
 * double, a dense Cholesky for log det(I + L_S).
 */
#include "selfix.h"

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
    cr_assert_geq(g, (1 - exp(-1.0)) * opt - 1e-6, "instance %d: greedy %g, optimum %g", it, g,
                  opt);
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
  float vec[8] = {1, 0, (float)cos(a10), (float)sin(a10), 0, 1, (float)cos(a45), (float)sin(a45)};
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

/* Random parameters for instance `it` of a property test over every mode
 * and coverage form: k 1..20, sample 1..n+3, lambda in [0, 1). */
static select_params random_params(int it, size_t n) {
  select_params p = params((select_mode)(it % 3), 1 + (uint32_t)(rng_u64() % 20));
  p.coverage = (select_coverage)((it / 3) % 3);
  p.sample = 1 + (uint32_t)(rng_u64() % (n + 3));
  p.lambda = (float)rng_unif();
  return p;
}

Test(select, token_budget_never_exceeded) {
  rng_seed(5);
  for (int it = 0; it < 150; it++) {
    size_t n = 1 + (size_t)(rng_u64() % 60);
    inst I = inst_make(n, 8, 3, 200);
    inst_random_graph(&I, 6);
    select_params p = random_params(it, n);
    p.token_budget = 1 + rng_u64() % 600;
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

Test(select, budget_is_a_constraint_not_a_preference) {
  /* A is the most relevant and long; B and C are short and close to it.
   * With budget 115 COMPRESS takes A, then one of B and C (C: further from
   * A), and the other no longer fits. The
   * cost-benefit greedy this replaced (gain / tokens, then the best single
   * item) took B and C: every log-det gain is about log(30^2) whatever an
   * item's length, so gain per token ranked by brevity. */
  float vec[6] = {1, 0, 0.8f, 0.6f, 0.6f, 0.8f};
  float rel[3] = {1.0f, 0.8f, 0.7f};
  uint32_t tok[3] = {100, 10, 10};
  select_pool pool = {.n = 3, .dim = 2, .vectors = vec, .relevance = rel, .tokens = tok};
  select_params p = params(SELECT_COMPRESS, 5);
  p.b = 0;
  p.token_budget = 115;
  select_result r;
  for (int cover = 0; cover < 2; cover++) { /* the scan (b = 0) and the lazy greedy (b > 0) */
    p.b = cover ? 0.5f : 0.0f;
    cr_assert_eq(select_run(&pool, &p, &r, NULL), PRECIS_OK);
    cr_assert_eq(r.n, 2, "b %g: %zu items", (double)p.b, r.n);
    cr_assert(r.idx[0] == 0 && r.idx[1] != 0, "b %g: took %u, %u", (double)p.b, r.idx[0], r.idx[1]);
    select_result_free(&r);
  }
  /* a modular objective (a only) takes in relevance order too */
  p.a = 1;
  p.b = p.c = 0;
  p.token_budget = 100;
  cr_assert_eq(select_run(&pool, &p, &r, NULL), PRECIS_OK);
  cr_assert(r.n == 1 && r.idx[0] == 0);
  select_result_free(&r);
  /* TOPK takes in relevance order and skips what does not fit */
  p.mode = SELECT_TOPK;
  p.token_budget = 50;
  cr_assert_eq(select_run(&pool, &p, &r, NULL), PRECIS_OK);
  cr_assert_eq(r.n, 2);
  cr_assert(r.idx[0] == 1 && r.idx[1] == 2);
  select_result_free(&r);
  /* nothing fits: empty result */
  tok[1] = tok[2] = 60;
  cr_assert_eq(select_run(&pool, &p, &r, NULL), PRECIS_OK);
  cr_assert_eq(r.n, 0);
  cr_assert_eq(r.assign[0], UINT32_MAX);
  cr_assert_eq(r.objective, 0.0);
  select_result_free(&r);
}

/* A budget that any k items fit changes nothing: every mode returns the
 * set and order it returns without a budget (no floor: the floor runs on
 * the final mean with a count and on the running mean with a budget). */
Test(select, roomy_budget_equals_count) {
  rng_seed(17);
  for (int it = 0; it < 120; it++) {
    size_t n = 1 + (size_t)(rng_u64() % 60);
    inst I = inst_make(n, 8, 3, 400);
    inst_random_graph(&I, 6);
    select_params p = random_params(it, n);
    p.b = it % 2 ? (float)rng_unif() : 0.0f;
    p.theta = (float)(4 * rng_unif());
    uint64_t most = 0;
    for (size_t i = 0; i < n; i++) most = I.tok[i] > most ? I.tok[i] : most;
    select_result r0, r1;
    run_ok(&I, &p, &r0);
    p.token_budget = (uint64_t)p.k * (most ? most : 1);
    run_ok(&I, &p, &r1);
    cr_assert_eq(r1.n, r0.n, "instance %d: %zu items against %zu", it, r1.n, r0.n);
    for (size_t t = 0; t < r0.n; t++)
      cr_assert_eq(r1.idx[t], r0.idx[t], "instance %d (mode %d, b %g) position %zu", it,
                   (int)p.mode, (double)p.b, t);
    check_result(&I, &p, &r1);
    select_result_free(&r0);
    select_result_free(&r1);
    inst_free(&I);
  }
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
    cr_assert(fabs(re.objective - rs.objective) <= 1e-5 * (1 + re.objective), "%g vs %g",
              re.objective, rs.objective);
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

Test(select, bad_parameters) {
  rng_seed(9);
  inst I = inst_make(10, 4, 2, 10);
  select_pool pool = inst_pool(&I);
  select_params p = params(SELECT_COMPRESS, 3);
  cr_assert_eq(run_code(&pool, &p), PRECIS_OK);

#define EXPECT(code, stmt)                               \
  do {                                                   \
    select_pool pl = pool;                               \
    select_params pp = p;                                \
    (void)pl;                                            \
    stmt;                                                \
    cr_assert_eq(run_code(&pl, &pp), code, "%s", #stmt); \
  } while (0)

  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.k = 0);
  EXPECT(PRECIS_OK, pp.k = 1000); /* k > n returns n */
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.lambda = -0.1f);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.lambda = 1.5f);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.lambda = NAN);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.floor = -0.1f);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.floor = 1.01f);
  EXPECT(PRECIS_E_OUT_OF_RANGE, pp.floor = NAN);
  EXPECT(PRECIS_OK, pp.floor = 1.0f);
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
