/* test_filter.c: metadata filters in the engine: compile-time validation and
 * limits, RFC 3339 parsing, the semantics of each condition, and random
 * filters against brute force on filtered search (exact and ANN, every
 * selectivity) and filtered retrieval (each mode, with hops): nothing that
 * fails the filter is ever returned, seeded, or counted as represented. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "filter.h"
#include "filtergen.h"
#include "testutil.h"

static char *dir;
static engine *E;

static void setup(void) {
  dir = tu_tmpdir("filter");
  precis_error err;
  cr_assert_eq(engine_open(dir, NULL, &E, &err), PRECIS_OK, "%s", err.msg);
}
static void teardown(void) {
  engine_close(E);
  tu_rmrf_free(dir);
}

TestSuite(filter, .init = setup, .fini = teardown);

/* ---- compile ---- */
static int compile1(const engine_filter_cond *must, size_t n, engine_filter **f) {
  engine_filter_group g = {must, NULL, NULL, n, 0, 0};
  precis_error err;
  return engine_filter_compile(&g, 1, f, &err);
}

Test(filter, compile_rejects_malformed_and_oversized) {
  engine_filter *f = NULL;
  precis_error err;
  cr_assert_eq(engine_filter_compile(NULL, 0, &f, &err), PRECIS_E_INVALID_ARGUMENT);
  engine_filter_cond c = {.kind = ENGINE_FILTER_MATCH, .key = "", .vtype = ENGINE_FVAL_INTEGER};
  cr_assert_eq(compile1(&c, 1, &f), PRECIS_E_INVALID_ARGUMENT, "empty key");
  c.key = "a..b";
  cr_assert_eq(compile1(&c, 1, &f), PRECIS_E_INVALID_ARGUMENT, "empty key part");
  c.key = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q";
  cr_assert_eq(compile1(&c, 1, &f), PRECIS_E_OUT_OF_RANGE, "17 key parts");
  char longkey[PRECIS_MAX_FILTER_KEY_LEN + 2];
  memset(longkey, 'k', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = 0;
  c.key = longkey;
  cr_assert_eq(compile1(&c, 1, &f), PRECIS_E_OUT_OF_RANGE, "key too long");
  c.key = "a";
  c.kind = (engine_filter_kind)42;
  cr_assert_eq(compile1(&c, 1, &f), PRECIS_E_INVALID_ARGUMENT, "unknown kind");
  c.kind = ENGINE_FILTER_MATCH;
  c.vtype = ENGINE_FVAL_KEYWORD; /* keyword NULL */
  cr_assert_eq(compile1(&c, 1, &f), PRECIS_E_INVALID_ARGUMENT);
  engine_filter_cond r = {.kind = ENGINE_FILTER_RANGE, .key = "n"};
  cr_assert_eq(compile1(&r, 1, &f), PRECIS_E_INVALID_ARGUMENT, "range without bounds");
  r.has_gt = true;
  r.gt = NAN;
  cr_assert_eq(compile1(&r, 1, &f), PRECIS_E_INVALID_ARGUMENT, "NaN bound");
  engine_filter_cond d = {.kind = ENGINE_FILTER_DATE_RANGE, .key = "ts", .dt_gte = "2024-13-01"};
  cr_assert_eq(compile1(&d, 1, &f), PRECIS_E_INVALID_ARGUMENT, "bad month");
  d.dt_gte = "2024-02-30T00:00:00Z";
  cr_assert_eq(compile1(&d, 1, &f), PRECIS_E_INVALID_ARGUMENT, "30 February");
  d.dt_gte = "2024-02-03T10:00:00"; /* no offset */
  cr_assert_eq(compile1(&d, 1, &f), PRECIS_E_INVALID_ARGUMENT);
  engine_filter_cond a = {.kind = ENGINE_FILTER_ANY, .key = "x"};
  cr_assert_eq(compile1(&a, 1, &f), PRECIS_E_INVALID_ARGUMENT, "any-of without values");
  int64_t *many = calloc(PRECIS_MAX_FILTER_VALUES + 1, sizeof *many);
  a.integers = many;
  a.n_integers = PRECIS_MAX_FILTER_VALUES + 1;
  cr_assert_eq(compile1(&a, 1, &f), PRECIS_E_OUT_OF_RANGE, "too many values");
  free(many);
  /* too many conditions */
  engine_filter_cond *lots = calloc(PRECIS_MAX_FILTER_CONDITIONS + 1, sizeof *lots);
  for (int i = 0; i <= PRECIS_MAX_FILTER_CONDITIONS; i++)
    lots[i] = (engine_filter_cond){.kind = ENGINE_FILTER_EXISTS, .key = "a", .flag = true};
  cr_assert_eq(compile1(lots, PRECIS_MAX_FILTER_CONDITIONS + 1, &f), PRECIS_E_OUT_OF_RANGE);
  cr_assert_eq(compile1(lots, PRECIS_MAX_FILTER_CONDITIONS, &f), PRECIS_OK);
  engine_filter_destroy(f);
  free(lots);
}

Test(filter, compile_checks_the_group_tree) {
  engine_filter *f = NULL;
  precis_error err;
  engine_filter_cond to1 = {.kind = ENGINE_FILTER_GROUP, .group = 1};
  engine_filter_cond to0 = {.kind = ENGINE_FILTER_GROUP, .group = 0};
  engine_filter_cond leaf = {.kind = ENGINE_FILTER_EXISTS, .key = "a", .flag = true};
  engine_filter_cond two[2] = {to1, to1};
  engine_filter_group g[3] = {{two, NULL, NULL, 2, 0, 0}, {&leaf, NULL, NULL, 1, 0, 0}};
  cr_assert_eq(engine_filter_compile(g, 2, &f, &err), PRECIS_E_INVALID_ARGUMENT, "used twice");
  cr_assert(strstr(err.msg, "twice"), "%s", err.msg);
  g[0] = (engine_filter_group){&to0, NULL, NULL, 1, 0, 0};
  cr_assert_eq(engine_filter_compile(g, 1, &f, &err), PRECIS_E_INVALID_ARGUMENT, "self reference");
  g[0] = (engine_filter_group){&leaf, NULL, NULL, 1, 0, 0};
  cr_assert_eq(engine_filter_compile(g, 2, &f, &err), PRECIS_E_INVALID_ARGUMENT, "unused group");
  engine_filter_cond to2 = {.kind = ENGINE_FILTER_GROUP, .group = 2};
  g[0] = (engine_filter_group){&to2, NULL, NULL, 1, 0, 0};
  cr_assert_eq(engine_filter_compile(g, 2, &f, &err), PRECIS_E_INVALID_ARGUMENT, "out of range");
  /* a chain of PRECIS_MAX_FILTER_DEPTH groups compiles, one more does not */
  engine_filter_group chain[PRECIS_MAX_FILTER_DEPTH + 1];
  engine_filter_cond links[PRECIS_MAX_FILTER_DEPTH + 1];
  for (int i = 0; i <= PRECIS_MAX_FILTER_DEPTH; i++) {
    links[i] = (engine_filter_cond){.kind = ENGINE_FILTER_GROUP, .group = (uint32_t)i + 1};
    chain[i] = (engine_filter_group){&links[i], NULL, NULL, 1, 0, 0};
  }
  chain[PRECIS_MAX_FILTER_DEPTH - 1] = (engine_filter_group){&leaf, NULL, NULL, 1, 0, 0};
  cr_assert_eq(engine_filter_compile(chain, PRECIS_MAX_FILTER_DEPTH, &f, &err), PRECIS_OK, "%s",
               err.msg);
  engine_filter_destroy(f);
  chain[PRECIS_MAX_FILTER_DEPTH - 1] =
      (engine_filter_group){&links[PRECIS_MAX_FILTER_DEPTH - 1], NULL, NULL, 1, 0, 0};
  chain[PRECIS_MAX_FILTER_DEPTH] = (engine_filter_group){&leaf, NULL, NULL, 1, 0, 0};
  cr_assert_eq(engine_filter_compile(chain, PRECIS_MAX_FILTER_DEPTH + 1, &f, &err),
               PRECIS_E_OUT_OF_RANGE);
}

Test(filter, rfc3339) {
  int64_t t;
  cr_assert(filter_parse_datetime("1970-01-01T00:00:00Z", 20, &t));
  cr_assert_eq(t, 0);
  cr_assert(filter_parse_datetime("2024-01-01", 10, &t));
  cr_assert_eq(t, 1704067200LL * 1000000);
  cr_assert(filter_parse_datetime("2024-01-01T02:00:00+02:00", 25, &t));
  cr_assert_eq(t, 1704067200LL * 1000000);
  cr_assert(filter_parse_datetime("2023-12-31T23:00:00.250-01:00", 29, &t));
  cr_assert_eq(t, 1704067200LL * 1000000 + 250000);
  cr_assert(filter_parse_datetime("2024-02-29T12:00:00z", 20, &t));
  cr_assert(filter_parse_datetime("1969-12-31T23:59:59Z", 20, &t));
  cr_assert_eq(t, -1000000);
  const char *bad[] = {"2023-02-29",
                       "2024-1-01",
                       "2024-01-01T25:00:00Z",
                       "2024-01-01T00:00:00",
                       "2024-01-01T00:00:00+0200",
                       "2024-01-01T00:00:00.Z",
                       "2024-01-01T00:00:00Zjunk",
                       "",
                       "2024-01-01x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert(!filter_parse_datetime(bad[i], strlen(bad[i]), &t), "%s", bad[i]);
}

/* ---- semantics, one condition at a time, on JSON ---- */
static bool passes(const engine_filter_cond *c, uint64_t id, const char *meta) {
  engine_filter *f;
  precis_error err;
  engine_filter_group g = {c, NULL, NULL, 1, 0, 0};
  cr_assert_eq(engine_filter_compile(&g, 1, &f, &err), PRECIS_OK, "%s", err.msg);
  json_t *j = json_loads(meta, 0, NULL);
  cr_assert(j);
  bool r = filter_eval(f, id, j);
  json_decref(j);
  engine_filter_destroy(f);
  return r;
}

Test(filter, condition_semantics) {
  const char *m =
      "{\"lang\":\"en\",\"n\":3,\"x\":2.5,\"ok\":true,\"tags\":[\"a\",\"b\",7],"
      "\"doc\":{\"src\":\"web\",\"year\":2020},\"none\":null,\"d\":\"2024-05-01T10:00:00Z\","
      "\"whole\":4.0}";
  engine_filter_cond c = {
      .kind = ENGINE_FILTER_MATCH, .key = "lang", .vtype = ENGINE_FVAL_KEYWORD, .keyword = "en"};
  cr_assert(passes(&c, 1, m));
  c.keyword = "de";
  cr_assert(!passes(&c, 1, m));
  c.key = "doc.src", c.keyword = "web";
  cr_assert(passes(&c, 1, m), "dotted path");
  c.key = "doc.src.deeper";
  cr_assert(!passes(&c, 1, m));
  c.key = "tags", c.keyword = "b";
  cr_assert(passes(&c, 1, m), "array element");
  c.key = "n", c.vtype = ENGINE_FVAL_INTEGER, c.integer = 3;
  cr_assert(passes(&c, 1, m));
  c.key = "whole", c.integer = 4;
  cr_assert(passes(&c, 1, m), "4.0 equals 4");
  c.key = "x";
  cr_assert(!passes(&c, 1, m));
  c.key = "lang", c.integer = 0;
  cr_assert(!passes(&c, 1, m), "string is no integer");
  c.key = "ok", c.vtype = ENGINE_FVAL_BOOL, c.flag = true;
  cr_assert(passes(&c, 1, m));
  c.flag = false;
  cr_assert(!passes(&c, 1, m));
  c.key = "n";
  cr_assert(!passes(&c, 1, m), "3 is not false");

  const char *kw[] = {"zz", "b"};
  int64_t ints[] = {9, 7};
  engine_filter_cond a = {
      .kind = ENGINE_FILTER_ANY, .key = "tags", .keywords = kw, .n_keywords = 1};
  cr_assert(!passes(&a, 1, m));
  a.n_keywords = 2;
  cr_assert(passes(&a, 1, m));
  a.n_keywords = 0, a.integers = ints, a.n_integers = 2;
  cr_assert(passes(&a, 1, m), "7 in the array");
  a.kind = ENGINE_FILTER_NONE;
  cr_assert(!passes(&a, 1, m));
  a.key = "missing";
  cr_assert(passes(&a, 1, m), "none-of passes an absent field");
  a.kind = ENGINE_FILTER_ANY;
  cr_assert(!passes(&a, 1, m), "any-of fails an absent field");

  engine_filter_cond r = {.kind = ENGINE_FILTER_RANGE, .key = "x", .has_gt = true, .gt = 2.5};
  cr_assert(!passes(&r, 1, m));
  r.has_gt = false, r.has_gte = true, r.gte = 2.5;
  cr_assert(passes(&r, 1, m));
  r.has_lt = true, r.lt = 2.5;
  cr_assert(!passes(&r, 1, m));
  r = (engine_filter_cond){
      .kind = ENGINE_FILTER_RANGE, .key = "doc.year", .has_lte = true, .lte = 2020};
  cr_assert(passes(&r, 1, m));
  r.key = "lang";
  cr_assert(!passes(&r, 1, m), "a string is not in a numeric range");
  r.key = "tags", r.lte = 7, r.has_gte = true, r.gte = 7;
  cr_assert(passes(&r, 1, m), "numeric element of an array");

  engine_filter_cond d = {
      .kind = ENGINE_FILTER_DATE_RANGE, .key = "d", .dt_gte = "2024-05-01T12:00:00+02:00"};
  cr_assert(passes(&d, 1, m), "10:00Z is 12:00+02:00");
  d.dt_gte = NULL, d.dt_gt = "2024-05-01T12:00:00+02:00";
  cr_assert(!passes(&d, 1, m));
  d.dt_gt = NULL, d.dt_lt = "2024-05-02";
  cr_assert(passes(&d, 1, m));
  d.key = "lang";
  cr_assert(!passes(&d, 1, m), "not a date");

  engine_filter_cond e = {.kind = ENGINE_FILTER_EXISTS, .key = "none", .flag = true};
  cr_assert(!passes(&e, 1, m), "null does not exist");
  e.key = "lang";
  cr_assert(passes(&e, 1, m));
  e.flag = false;
  cr_assert(!passes(&e, 1, m));
  e.key = "absent";
  cr_assert(passes(&e, 1, m));
  engine_filter_cond nl = {.kind = ENGINE_FILTER_IS_NULL, .key = "none", .flag = true};
  cr_assert(passes(&nl, 1, m));
  nl.key = "absent";
  cr_assert(!passes(&nl, 1, m), "absent is not null");
  nl.flag = false;
  cr_assert(passes(&nl, 1, m));

  uint64_t ids[] = {5, 9, 1};
  engine_filter_cond h = {.kind = ENGINE_FILTER_HAS_ID, .ids = ids, .n_ids = 3};
  cr_assert(passes(&h, 9, m));
  cr_assert(!passes(&h, 2, m));

  /* should: at least one; must_not: none; nested group */
  engine_filter_cond en = {
      .kind = ENGINE_FILTER_MATCH, .key = "lang", .vtype = ENGINE_FVAL_KEYWORD, .keyword = "en"};
  engine_filter_cond de = en;
  de.keyword = "de";
  engine_filter_cond sh[2] = {de, en}, grp = {.kind = ENGINE_FILTER_GROUP, .group = 1};
  engine_filter_group g[2] = {{NULL, NULL, &grp, 0, 0, 1}, {NULL, sh, NULL, 0, 2, 0}};
  engine_filter *f;
  precis_error err;
  cr_assert_eq(engine_filter_compile(g, 2, &f, &err), PRECIS_OK, "%s", err.msg);
  json_t *j = json_loads(m, 0, NULL);
  cr_assert(!filter_eval(f, 1, j), "not (de or en)");
  engine_filter_destroy(f);
  g[1].n_should = 1; /* not (de) */
  cr_assert_eq(engine_filter_compile(g, 2, &f, &err), PRECIS_OK, "%s", err.msg);
  cr_assert(filter_eval(f, 1, j));
  engine_filter_destroy(f);
  json_decref(j);
}

/* ---- random filters against brute force ---- */
#define N    3000
#define DIM  16
#define SEED 7

static float *vecs;
static uint64_t ids[N];
static fg_attrs attrs[N];

static void load(const char *coll, const char *spec) {
  precis_error err;
  vecs = fg_engine_load(E, coll, spec, N, DIM, SEED, ids, attrs, &err);
  cr_assert_not_null(vecs, "%s", err.msg);
}

static int index_of(uint64_t id) {
  if (id < 1000 || (id - 1000) % 3 || (id - 1000) / 3 >= N) return -1;
  return (int)((id - 1000) / 3);
}

/* Brute-force filtered top-k: indices into the points, best first. */
static size_t brute(const fg_filter *F, const float *q, size_t k, size_t *out, double *score) {
  return fg_brute_topk(F, ids, attrs, vecs, N, DIM, q, k, out, score);
}

static size_t count_passing(const fg_filter *F) {
  size_t n = 0;
  for (size_t i = 0; i < N; i++) n += fg_eval(F, ids[i], &attrs[i]);
  return n;
}

static engine_filter *compile_fg(const fg_filter *F) {
  engine_filter *f;
  precis_error err;
  cr_assert_eq(engine_filter_compile(F->g, F->ng, &f, &err), PRECIS_OK, "%s", err.msg);
  return f;
}

static void normalise(float *q) {
  double s = 0;
  for (int d = 0; d < DIM; d++) s += (double)q[d] * q[d];
  for (int d = 0; d < DIM; d++) q[d] = (float)(q[d] / sqrt(s));
}

Test(filter, search_random_filters_match_brute_force, .timeout = 120) {
  load("s", "HNSW16");
  uint64_t rng = 99;
  double recall_sum = 0;
  int recall_n = 0, plans[3] = {0};
  for (int t = 0; t < 60; t++) {
    fg_filter *F = fg_random(&rng, ids, N);
    engine_filter *f = compile_fg(F);
    float q[DIM];
    for (int d = 0; d < DIM; d++) q[d] = tu_randf(&rng);
    normalise(q);
    const size_t k = 10;
    size_t want[10];
    double wscore[10];
    size_t nw = brute(F, q, k, want, wscore);
    size_t nwant = nw < k ? nw : k;
    for (int exact = 0; exact < 2; exact++) {
      engine_hit hits[10];
      size_t nh;
      engine_filter_report rep;
      engine_search_params sp = {.exact = exact};
      precis_error err;
      cr_assert_eq(engine_search_filtered(E, "s", q, DIM, k, &sp, f, hits, &nh, &rep, &err),
                   PRECIS_OK, "%s", err.msg);
      plans[rep.plan]++;
      for (size_t i = 0; i < nh; i++) {
        int at = index_of(hits[i].id);
        cr_assert(at >= 0 && fg_eval(F, hits[i].id, &attrs[at]), "filter %d: hit %llu fails %s", t,
                  (unsigned long long)hits[i].id, fg_json(F));
      }
      if (exact || nwant < k) {
        cr_assert_eq(nh, nwant, "filter %d (exact %d, %zu pass): %zu hits, want %zu: %s", t, exact,
                     nw, nh, nwant, fg_json(F));
        for (size_t i = 0; i < nh; i++)
          cr_assert_float_eq((double)hits[i].score, wscore[i], 1e-4, "filter %d rank %zu", t, i);
      } else {
        size_t found = 0;
        for (size_t i = 0; i < nh; i++)
          for (size_t j = 0; j < nwant; j++) found += hits[i].id == ids[want[j]];
        recall_sum += (double)found / (double)nwant;
        recall_n++;
      }
    }
    engine_filter_destroy(f);
    free(F);
  }
  cr_assert_gt(plans[ENGINE_FPLAN_SCAN], 0);
  cr_assert_gt(plans[ENGINE_FPLAN_ANN], 0, "some random filters should take the ANN path");
  cr_assert_geq(recall_sum / recall_n, 0.9, "mean filtered ANN recall %.3f over %d",
                recall_sum / recall_n, recall_n);
}

/* Fixed selectivities on n (uniform 0..999): 50 %, 10 %, 1 %, 0.1 %. */
Test(filter, search_each_selectivity, .timeout = 120) {
  load("sel", "HNSW16");
  const double shares[] = {0.5, 0.1, 0.01, 0.001};
  uint64_t rng = 5;
  for (int s = 0; s < 4; s++) {
    engine_filter_cond c = {
        .kind = ENGINE_FILTER_RANGE, .key = "n", .has_lt = true, .lt = 1000 * shares[s]};
    engine_filter_group g = {&c, NULL, NULL, 1, 0, 0};
    fg_filter F = {0};
    F.g[0] = g;
    F.ng = 1;
    engine_filter *f = compile_fg(&F);
    double recall = 0;
    const int Q = 20;
    for (int t = 0; t < Q; t++) {
      float q[DIM];
      for (int d = 0; d < DIM; d++) q[d] = tu_randf(&rng);
      normalise(q);
      size_t want[10];
      double ws[10];
      size_t nw = brute(&F, q, 10, want, ws);
      engine_hit hits[10];
      size_t nh;
      precis_error err;
      engine_filter_report rep;
      cr_assert_eq(engine_search_filtered(E, "sel", q, DIM, 10, NULL, f, hits, &nh, &rep, &err),
                   PRECIS_OK);
      cr_assert_eq(nh, nw < 10 ? nw : 10);
      size_t found = 0;
      for (size_t i = 0; i < nh; i++) {
        cr_assert_lt(attrs[index_of(hits[i].id)].n, 1000 * shares[s]);
        for (size_t j = 0; j < nh; j++) found += hits[i].id == ids[want[j]];
      }
      recall += nh ? (double)found / (double)nh : 1;
      cr_assert(rep.unindexed);
      if (shares[s] <= 0.01) cr_assert_eq(rep.plan, ENGINE_FPLAN_SCAN, "share %g", shares[s]);
    }
    cr_assert_geq(recall / Q, 0.9, "share %g: recall %.3f", shares[s], recall / Q);
    engine_filter_destroy(f);
  }
}

/* Retrieve parameters of these tests: k 10, pool 200. */
static engine_retrieve_params base_params(const float *q, engine_mode mode, uint32_t hops,
                                          bool exact) {
  engine_retrieve_params p;
  engine_retrieve_params_default(&p);
  p.query = q;
  p.dim = DIM;
  p.k = 10;
  p.mode = mode;
  p.hops = hops;
  p.pool = 200;
  p.exact_seeds = exact;
  return p;
}

static engine_retrieve_result *run_params(const char *coll, const engine_retrieve_params *p) {
  engine_retrieve_result *r;
  precis_error err;
  cr_assert_eq(engine_retrieve(E, coll, p, &r, &err), PRECIS_OK, "%s", err.msg);
  return r;
}

static engine_retrieve_result *run_retrieve(const char *coll, const float *q, engine_mode mode,
                                            uint32_t hops, const engine_filter *f, bool exact) {
  engine_retrieve_params p = base_params(q, mode, hops, exact);
  p.filter = f;
  p.max_represented_ids = 1000;
  if (exact) p.graph_weight = 0;
  return run_params(coll, &p);
}

Test(filter, retrieve_random_filters_every_mode_and_hops, .timeout = 240) {
  load("r", "HNSW16");
  uint64_t rng = 1234;
  for (int t = 0; t < 24; t++) {
    fg_filter *F = fg_random(&rng, ids, N);
    engine_filter *f = compile_fg(F);
    size_t npass = count_passing(F);
    float q[DIM];
    for (int d = 0; d < DIM; d++) q[d] = tu_randf(&rng);
    normalise(q);
    size_t want[10];
    double ws[10];
    size_t nw = brute(F, q, 10, want, ws);
    for (int mode = 0; mode < 3; mode++)
      for (uint32_t hops = 0; hops <= 2; hops += 1 + (t & 1)) {
        engine_retrieve_result *r = run_retrieve("r", q, (engine_mode)mode, hops, f, hops == 0);
        cr_assert_leq(r->pool_size, npass, "pool holds only passing points");
        cr_assert_eq(r->filter_report.plan != ENGINE_FPLAN_NONE, true);
        size_t represented = 0;
        for (size_t i = 0; i < r->n; i++) {
          const engine_retrieved *it = &r->items[i];
          int at = index_of(it->id);
          cr_assert(at >= 0 && fg_eval(F, it->id, &attrs[at]),
                    "filter %d mode %d hops %u: item %llu fails %s", t, mode, hops,
                    (unsigned long long)it->id, fg_json(F));
          for (uint32_t j = 0; j < it->n_represented_ids; j++) {
            int b = index_of(it->represented_ids[j]);
            cr_assert(b >= 0 && fg_eval(F, it->represented_ids[j], &attrs[b]),
                      "represented id fails the filter");
          }
          cr_assert_eq(it->n_represented_ids + 1 >= it->represents, true,
                       "represents %u, listed %u", it->represents, it->n_represented_ids);
          represented += it->represents;
          if (it->hops > 0) {
            int v = index_of(it->via);
            cr_assert(v >= 0 && fg_eval(F, it->via, &attrs[v]), "expanded through a failing point");
          }
        }
        cr_assert_leq(represented, r->pool_size);
        if (mode == ENGINE_MODE_TOPK && hops == 0) { /* exact seeds: brute force */
          size_t nwant = nw < 10 ? nw : 10;
          cr_assert_eq(r->n, nwant, "filter %d: %zu items, want %zu", t, r->n, nwant);
          for (size_t i = 0; i < r->n; i++)
            cr_assert_eq(r->items[i].id, ids[want[i]], "rank %zu", i);
        }
        if (mode != ENGINE_MODE_TOPK && hops == 0 && npass >= 10)
          cr_assert_eq(r->n, 10, "MMR/COMPRESS fill k from the filtered pool");
        engine_retrieve_result_free(r);
      }
    engine_filter_destroy(f);
    free(F);
  }
}

Test(filter, retrieve_unfiltered_is_unchanged) {
  load("u", "Flat");
  float q[DIM];
  memcpy(q, vecs, sizeof q);
  engine_retrieve_result *r = run_retrieve("u", q, ENGINE_MODE_TOPK, 1, NULL, true);
  cr_assert_eq(r->filter_report.plan, ENGINE_FPLAN_NONE);
  cr_assert_eq(r->items[0].id, ids[0]);
  engine_retrieve_result_free(r);
}

/* ---- group_by (index/retrieve/groups.h) ---- */

/* The group of point i under `key`, as the test's own rule from the
 * attributes (not the metadata): a label, or NULL for none. */
static const char *group_of(const fg_attrs *a, const char *key, char *buf, size_t cap) {
  static const char *cats[10] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
  static const char *nested[4] = {"x0", "x1", "x2", "x3"};
  if (!strcmp(key, "cat")) return cats[a->cat];
  if (!strcmp(key, "nested.a")) return nested[a->nested];
  if (!strcmp(key, "flag")) return a->flag ? "true" : "false";
  if (!strcmp(key, "n")) {
    snprintf(buf, cap, "%d", a->n);
    return buf;
  }
  if (!strcmp(key, "opt")) return a->opt == 2 ? "1" : NULL; /* absent and null: none */
  return NULL;                                              /* tags (arrays), missing: none */
}

static engine_retrieve_result *run_grouped(const char *coll, const float *q, engine_mode mode,
                                           uint32_t hops, uint32_t seeds, const char *key,
                                           uint32_t limit, bool exact) {
  engine_retrieve_params p = base_params(q, mode, hops, exact);
  p.seeds = seeds;
  p.group_by = key;
  p.group_limit = limit;
  return run_params(coll, &p);
}

Test(filter, retrieve_group_by_topk_matches_brute_force, .timeout = 120) {
  load("g", "Flat");
  const char *keys[] = {"cat", "nested.a", "flag", "n", "opt", "tags", "missing.key"};
  const uint32_t S = 60; /* exact seeds: the pool is the 60 nearest points */
  uint64_t rng = 4321;
  size_t *top = malloc(S * sizeof *top);
  double *ts = malloc(S * sizeof *ts);
  for (int t = 0; t < 10; t++) {
    float q[DIM];
    for (int d = 0; d < DIM; d++) q[d] = tu_randf(&rng);
    normalise(q);
    size_t ntop = fg_brute_topk(NULL, ids, attrs, vecs, N, DIM, q, S, top, ts);
    if (ntop > S) ntop = S;
    for (size_t ki = 0; ki < sizeof keys / sizeof *keys; ki++)
      for (uint32_t limit = 1; limit <= 3; limit++) {
        /* brute force: the pool in similarity order, at most `limit` per group */
        uint64_t want[10];
        size_t nw = 0;
        for (size_t i = 0; i < ntop && nw < 10; i++) {
          char b1[16], b2[16];
          const char *gi = group_of(&attrs[top[i]], keys[ki], b1, sizeof b1);
          size_t same = 0;
          for (size_t j = 0; gi && j < nw; j++) {
            const char *gj = group_of(&attrs[index_of(want[j])], keys[ki], b2, sizeof b2);
            same += gj && !strcmp(gi, gj);
          }
          if (!gi || same < limit) want[nw++] = ids[top[i]];
        }
        engine_retrieve_result *r =
            run_grouped("g", q, ENGINE_MODE_TOPK, 0, S, keys[ki], limit, true);
        cr_assert_eq(r->n, nw, "%s limit %u: %zu items, want %zu", keys[ki], limit, r->n, nw);
        for (size_t i = 0; i < nw; i++)
          cr_assert_eq(r->items[i].id, want[i], "%s limit %u rank %zu", keys[ki], limit, i);
        engine_retrieve_result_free(r);
      }
  }
  free(top);
  free(ts);
}

Test(filter, retrieve_group_by_caps_every_mode_and_hops, .timeout = 120) {
  load("h", "HNSW16");
  uint64_t rng = 77;
  for (int t = 0; t < 6; t++) {
    float q[DIM];
    for (int d = 0; d < DIM; d++) q[d] = tu_randf(&rng);
    normalise(q);
    for (int mode = 0; mode < 3; mode++)
      for (uint32_t hops = 0; hops <= 1; hops++)
        for (uint32_t limit = 1; limit <= 2; limit++) {
          engine_retrieve_result *r =
              run_grouped("h", q, (engine_mode)mode, hops, 0, "nested.a", limit, false);
          /* 4 values: at most 4 * limit items, and the pool held them */
          int count[4] = {0};
          for (size_t i = 0; i < r->n; i++) {
            int at = index_of(r->items[i].id);
            cr_assert(at >= 0);
            count[attrs[at].nested]++;
          }
          for (int g = 0; g < 4; g++)
            cr_assert_leq(count[g], (int)limit, "mode %d hops %u: %d items of x%d", mode, hops,
                          count[g], g);
          cr_assert_eq(r->n, 4 * limit, "mode %d hops %u: every value is in the pool", mode, hops);
          cr_assert_leq(r->pool_size, 4 * limit, "the pool keeps limit points per value");
          engine_retrieve_result_free(r);
        }
  }
}

Test(filter, retrieve_group_by_value_identity) {
  precis_error err;
  engine_collection_config cfg = {.dim = 2};
  cr_assert_eq(engine_collection_create(E, "v", &cfg, &err), PRECIS_OK, "%s", err.msg);
  char long_a[200], long_b[200];
  memset(long_a, 'a', 150);
  memcpy(long_b, long_a, 150);
  long_a[150] = long_b[150] = 0;
  long_b[149] = 'b'; /* same 64-byte prefix and length, another value */
  char ma[256], mb[256];
  snprintf(ma, sizeof ma, "{\"g\":\"%s\"}", long_a);
  snprintf(mb, sizeof mb, "{\"g\":\"%s\"}", long_b);
  const char *meta[] = {"{\"g\":3}",
                        "{\"g\":3.0}",
                        "{\"g\":\"3\"}",
                        "{\"g\":true}",
                        "{\"g\":1}",
                        "{\"g\":null}",
                        "{\"g\":[3]}",
                        "{}",
                        ma,
                        mb,
                        "{\"g\":3.5}"};
  enum { M = sizeof meta / sizeof *meta };
  float v[M][2];
  engine_point_in p[M];
  for (size_t i = 0; i < M; i++) { /* descending similarity to (1, 0) in id order */
    v[i][0] = 1.0f;
    v[i][1] = 0.05f * (float)i;
    p[i] = (engine_point_in){i + 1, v[i], 2, "t", 1, meta[i], strlen(meta[i]), -1};
  }
  cr_assert_eq(engine_upsert(E, "v", p, M, &err), PRECIS_OK, "%s", err.msg);
  float q[2] = {1, 0};
  engine_retrieve_params rp;
  engine_retrieve_params_default(&rp);
  rp.query = q;
  rp.dim = 2;
  rp.k = M;
  rp.mode = ENGINE_MODE_TOPK;
  rp.exact_seeds = true;
  rp.group_by = "g";
  engine_retrieve_result *r;
  cr_assert_eq(engine_retrieve(E, "v", &rp, &r, &err), PRECIS_OK, "%s", err.msg);
  /* 3.0 joins 3; "3", true, 1, 3.5 and each long string are their own;
   * null, [3] and {} are in no group */
  const uint64_t want[] = {1, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  cr_assert_eq(r->n, sizeof want / sizeof *want, "%zu items", r->n);
  for (size_t i = 0; i < r->n; i++) cr_assert_eq(r->items[i].id, want[i], "rank %zu", i);
  engine_retrieve_result_free(r);
  /* no group_by, or "": every point */
  rp.group_by = "";
  cr_assert_eq(engine_retrieve(E, "v", &rp, &r, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(r->n, M);
  engine_retrieve_result_free(r);
  /* bad keys are refused, not ignored */
  rp.group_by = "a..b";
  cr_assert_eq(engine_retrieve(E, "v", &rp, &r, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert(strstr(err.msg, "group_by") != NULL, "%s", err.msg);
  char longkey[PRECIS_MAX_FILTER_KEY_LEN + 2];
  memset(longkey, 'k', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = 0;
  rp.group_by = longkey;
  cr_assert_eq(engine_retrieve(E, "v", &rp, &r, &err), PRECIS_E_OUT_OF_RANGE);
  rp.group_by = "g";
  rp.group_limit = 0;
  cr_assert_eq(engine_retrieve(E, "v", &rp, &r, &err), PRECIS_E_OUT_OF_RANGE);
}

/* Automatic seeds widen (twice the seeds, up to the pool) while the result
 * is short of k; explicit seeds do not. 600 points along an arc, 50 per
 * group in similarity order, so the best of group g is point 50g. */
Test(filter, retrieve_group_by_widens_automatic_seeds) {
  precis_error err;
  engine_collection_config cfg = {.dim = 2};
  cr_assert_eq(engine_collection_create(E, "w", &cfg, &err), PRECIS_OK, "%s", err.msg);
  enum { M = 600 };
  static float v[M][2];
  static char meta[M][24];
  static engine_point_in p[M];
  for (size_t i = 0; i < M; i++) {
    v[i][0] = cosf(0.002f * (float)i);
    v[i][1] = sinf(0.002f * (float)i);
    snprintf(meta[i], sizeof meta[i], "{\"g\":%zu}", i / 50);
    p[i] = (engine_point_in){i + 1, v[i], 2, "t", 1, meta[i], strlen(meta[i]), -1};
  }
  cr_assert_eq(engine_upsert(E, "w", p, M, &err), PRECIS_OK, "%s", err.msg);
  float q[2] = {1, 0};
  struct {
    uint32_t seeds, pool;
    size_t want;
  } cases[] = {{0, 300, 6}, {0, 600, 10}, {100, 600, 2}, {0, 150, 3}};
  for (size_t t = 0; t < sizeof cases / sizeof *cases; t++)
    for (int mode = 0; mode < 3; mode++) {
      engine_retrieve_params rp;
      engine_retrieve_params_default(&rp);
      rp.query = q;
      rp.dim = 2;
      rp.k = 10;
      rp.mode = (engine_mode)mode;
      rp.exact_seeds = true;
      rp.seeds = cases[t].seeds;
      rp.pool = cases[t].pool;
      rp.group_by = "g";
      engine_retrieve_result *r;
      cr_assert_eq(engine_retrieve(E, "w", &rp, &r, &err), PRECIS_OK, "%s", err.msg);
      cr_assert_eq(r->n, cases[t].want, "case %zu mode %d: %zu items", t, mode, r->n);
      bool seen[12] = {false};
      for (size_t i = 0; i < r->n; i++) {
        uint64_t g = (r->items[i].id - 1) / 50;
        cr_assert(g < cases[t].want && !seen[g], "case %zu: item %llu", t,
                  (unsigned long long)r->items[i].id);
        seen[g] = true;
        cr_assert_eq((r->items[i].id - 1) % 50, 0, "the best of its group");
      }
      engine_retrieve_result_free(r);
    }
}
