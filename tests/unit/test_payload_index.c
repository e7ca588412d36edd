/* test_payload_index.c: payload indexes: declaration errors, background
 * build on a live collection, use by the planner (exact, and reported as
 * indexed), maintenance through upserts and deletes, persistence across
 * reopen, drop; random filters over indexed fields against brute force. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "filtergen.h"
#include "testutil.h"

#define N    3000
#define DIM  16
#define SEED 11

static char *dir;
static engine *E;
static float *vecs;
static uint64_t ids[N];
static fg_attrs attrs[N];

static void open_engine(void) {
  precis_error err;
  cr_assert_eq(engine_open(dir, NULL, &E, &err), PRECIS_OK, "%s", err.msg);
}
static void setup(void) {
  dir = tu_tmpdir("pidx");
  open_engine();
  precis_error err;
  vecs = fg_engine_load(E, "p", "HNSW16", N, DIM, SEED, ids, attrs, &err);
  cr_assert_not_null(vecs, "%s", err.msg);
}
static void teardown(void) {
  engine_close(E);
  tu_rmrf_free(dir);
  free(vecs);
}
TestSuite(pidx, .init = setup, .fini = teardown, .timeout = 120);

static void wait_ready(void) {
  cr_assert(fg_wait_indexes_ready(E, "p"), "payload indexes not ready");
}

static void create_all(void) {
  precis_error err;
  struct {
    const char *key;
    engine_pindex_type t;
  } idx[] = {{"cat", ENGINE_PINDEX_KEYWORD},     {"tags", ENGINE_PINDEX_KEYWORD},
             {"n", ENGINE_PINDEX_INTEGER},       {"f", ENGINE_PINDEX_FLOAT},
             {"flag", ENGINE_PINDEX_BOOL},       {"ts", ENGINE_PINDEX_DATETIME},
             {"nested.a", ENGINE_PINDEX_KEYWORD}};
  for (size_t i = 0; i < sizeof idx / sizeof *idx; i++)
    cr_assert_eq(engine_payload_index_create(E, "p", idx[i].key, idx[i].t, &err), PRECIS_OK, "%s",
                 err.msg);
  wait_ready();
}

static engine_filter *match_cat(const char *kw) {
  static engine_filter_cond c;
  c = (engine_filter_cond){
      .kind = ENGINE_FILTER_MATCH, .key = "cat", .vtype = ENGINE_FVAL_KEYWORD, .keyword = kw};
  engine_filter_group g = {&c, NULL, NULL, 1, 0, 0};
  engine_filter *f;
  precis_error err;
  cr_assert_eq(engine_filter_compile(&g, 1, &f, &err), PRECIS_OK);
  return f;
}

/* exact filtered top-k of the engine vs the oracle, for filter F */
static void check_exact(const fg_filter *F, const engine_filter *f, const float *q,
                        engine_filter_report *rep) {
  size_t want[10];
  double ws[10], nq = 0;
  float qn[DIM]; /* the engine compares with the normalised query (cosine) */
  for (int d = 0; d < DIM; d++) nq += (double)q[d] * q[d];
  for (int d = 0; d < DIM; d++) qn[d] = (float)(q[d] / sqrt(nq));
  size_t pass = fg_brute_topk(F, ids, attrs, vecs, N, DIM, qn, 10, want, ws);
  engine_hit hits[10];
  size_t nh;
  precis_error err;
  engine_search_params sp = {.exact = true};
  cr_assert_eq(engine_search_filtered(E, "p", q, DIM, 10, &sp, f, hits, &nh, rep, &err), PRECIS_OK,
               "%s", err.msg);
  cr_assert_eq(nh, pass < 10 ? pass : 10, "%zu hits, %zu pass: %s", nh, pass, fg_json(F));
  for (size_t i = 0; i < nh; i++)
    cr_assert_float_eq((double)hits[i].score, ws[i], 1e-4, "rank %zu: %s", i, fg_json(F));
}

Test(pidx, declaration_errors) {
  precis_error err;
  cr_assert_eq(engine_payload_index_create(E, "p", "cat", ENGINE_PINDEX_KEYWORD, &err), PRECIS_OK);
  cr_assert_eq(engine_payload_index_create(E, "p", "cat", ENGINE_PINDEX_INTEGER, &err),
               PRECIS_E_ALREADY_EXISTS);
  cr_assert_eq(engine_payload_index_create(E, "p", "a..b", ENGINE_PINDEX_INTEGER, &err),
               PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(engine_payload_index_create(E, "p", "x", (engine_pindex_type)9, &err),
               PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(engine_payload_index_create(E, "nope", "x", ENGINE_PINDEX_BOOL, &err),
               PRECIS_E_NOT_FOUND);
  cr_assert_eq(engine_payload_index_drop(E, "p", "x", &err), PRECIS_E_NOT_FOUND);
  for (int i = 1; i < PRECIS_MAX_PAYLOAD_INDEXES; i++) {
    char k[16];
    snprintf(k, sizeof k, "k%d", i);
    cr_assert_eq(engine_payload_index_create(E, "p", k, ENGINE_PINDEX_BOOL, &err), PRECIS_OK, "%s",
                 err.msg);
  }
  cr_assert_eq(engine_payload_index_create(E, "p", "one.more", ENGINE_PINDEX_BOOL, &err),
               PRECIS_E_OUT_OF_RANGE);
  wait_ready();
}

Test(pidx, built_on_a_live_collection_and_used) {
  create_all();
  uint64_t rng = 4;
  /* a rare category: answered by the keyword index alone */
  engine_filter *f = match_cat("c8");
  fg_filter F = {0};
  engine_filter_cond c = {
      .kind = ENGINE_FILTER_MATCH, .key = "cat", .vtype = ENGINE_FVAL_KEYWORD, .keyword = "c8"};
  F.g[0] = (engine_filter_group){&c, NULL, NULL, 1, 0, 0};
  F.ng = 1;
  float q[DIM];
  for (int d = 0; d < DIM; d++) q[d] = tu_randf(&rng);
  engine_filter_report rep;
  check_exact(&F, f, q, &rep);
  cr_assert_eq(rep.plan, ENGINE_FPLAN_SCAN);
  cr_assert(!rep.unindexed, "answered by the index alone");
  cr_assert_eq(rep.checked, 0, "no metadata read");
  size_t n8 = 0;
  for (size_t i = 0; i < N; i++) n8 += attrs[i].cat == 8;
  cr_assert_eq(rep.estimate, n8);
  /* non-exact search takes the same path */
  engine_hit hits[10];
  size_t nh;
  precis_error err;
  cr_assert_eq(engine_search_filtered(E, "p", q, DIM, 10, NULL, f, hits, &nh, &rep, &err),
               PRECIS_OK);
  cr_assert(!rep.unindexed);
  engine_filter_destroy(f);

  /* random filters over indexed fields: exact, and ANN only passing */
  for (int t = 0; t < 60; t++) {
    fg_filter *R = fg_random(&rng, ids, N);
    engine_filter *rf;
    cr_assert_eq(engine_filter_compile(R->g, R->ng, &rf, &err), PRECIS_OK, "%s", err.msg);
    for (int d = 0; d < DIM; d++) q[d] = tu_randf(&rng);
    check_exact(R, rf, q, &rep);
    cr_assert_eq(engine_search_filtered(E, "p", q, DIM, 10, NULL, rf, hits, &nh, &rep, &err),
                 PRECIS_OK);
    for (size_t i = 0; i < nh; i++) {
      size_t at = (hits[i].id - 1000) / 3;
      cr_assert(fg_eval(R, hits[i].id, &attrs[at]), "%s", fg_json(R));
    }
    engine_filter_destroy(rf);
    free(R);
  }
}

Test(pidx, maintained_by_writes_and_kept_across_reopen) {
  create_all();
  precis_error err;
  /* move points into the rare category c9, delete some c9 points */
  engine_point_in p[50];
  char meta[50][256];
  for (int i = 0; i < 50; i++) {
    size_t at = (size_t)i * 37;
    attrs[at].cat = 9;
    size_t ml = fg_meta_json(&attrs[at], meta[i], 256);
    p[i] = (engine_point_in){ids[at], vecs + at * DIM, DIM, "t", 1, meta[i], ml, -1};
  }
  cr_assert_eq(engine_upsert(E, "p", p, 50, &err), PRECIS_OK, "%s", err.msg);
  uint64_t gone[10];
  size_t ng = 0;
  for (size_t i = 0; i < N && ng < 10; i++)
    if (attrs[i].cat == 9 && i % 37) gone[ng++] = ids[i];
  cr_assert_eq(engine_delete(E, "p", gone, ng, NULL, &err), PRECIS_OK);
  for (size_t g = 0; g < ng; g++) attrs[(gone[g] - 1000) / 3].cat = -1; /* deleted: never passes */
  fg_filter F = {0};
  engine_filter_cond c = {
      .kind = ENGINE_FILTER_MATCH, .key = "cat", .vtype = ENGINE_FVAL_KEYWORD, .keyword = "c9"};
  F.g[0] = (engine_filter_group){&c, NULL, NULL, 1, 0, 0};
  F.ng = 1;
  engine_filter *f = match_cat("c9");
  for (int round = 0; round < 2; round++) {
    float q[DIM];
    memcpy(q, vecs + 5 * DIM, sizeof q);
    engine_filter_report rep;
    /* a k larger than the set: every passing point, no other */
    size_t want_n = 0;
    for (size_t i = 0; i < N; i++) want_n += attrs[i].cat == 9;
    engine_hit hits[200];
    size_t nh;
    engine_search_params sp = {.exact = true};
    cr_assert_eq(engine_search_filtered(E, "p", q, DIM, 200, &sp, f, hits, &nh, &rep, &err),
                 PRECIS_OK);
    cr_assert_eq(nh, want_n, "round %d: %zu hits, %zu points in c9", round, nh, want_n);
    cr_assert(!rep.unindexed);
    for (size_t i = 0; i < nh; i++) cr_assert_eq(attrs[(hits[i].id - 1000) / 3].cat, 9);
    check_exact(&F, f, q, &rep);
    /* the categories the moved points left: no stale postings */
    for (int cat = 0; cat < 3; cat++) {
      char kw[4];
      snprintf(kw, sizeof kw, "c%d", cat);
      engine_filter *fo = match_cat(kw);
      fg_filter O = {0};
      engine_filter_cond oc = {
          .kind = ENGINE_FILTER_MATCH, .key = "cat", .vtype = ENGINE_FVAL_KEYWORD, .keyword = kw};
      O.g[0] = (engine_filter_group){&oc, NULL, NULL, 1, 0, 0};
      O.ng = 1;
      engine_hit all[1000];
      cr_assert_eq(engine_search_filtered(E, "p", q, DIM, 1000, &sp, fo, all, &nh, &rep, &err),
                   PRECIS_OK);
      for (size_t i = 0; i < nh; i++)
        cr_assert_eq(attrs[(all[i].id - 1000) / 3].cat, cat, "stale posting");
      check_exact(&O, fo, q, &rep);
      engine_filter_destroy(fo);
    }
    if (round == 0) { /* reopen: postings and declarations persist */
      engine_filter_destroy(f);
      engine_close(E);
      open_engine();
      f = match_cat("c9");
      engine_pindex_info *inf;
      size_t n;
      cr_assert_eq(engine_payload_index_list(E, "p", &inf, &n, &err), PRECIS_OK);
      cr_assert_eq(n, 7);
      cr_assert_str_eq(inf[0].key, "cat");
      cr_assert(inf[0].ready);
      free(inf);
    }
  }
  /* drop: the filter still answers, from the stored metadata */
  cr_assert_eq(engine_payload_index_drop(E, "p", "cat", &err), PRECIS_OK);
  float q[DIM];
  memcpy(q, vecs, sizeof q);
  engine_filter_report rep;
  check_exact(&F, f, q, &rep);
  cr_assert(rep.unindexed);
  engine_filter_destroy(f);
}

/* Bounds equal to stored values: strict and inclusive ends are answered
 * exactly by the float and date-time indexes (reported as indexed). */
Test(pidx, range_bounds_at_stored_values) {
  create_all();
  precis_error err;
  uint64_t rng = 77;
  for (int t = 0; t < 40; t++) {
    size_t i = tu_rand(&rng) % N;
    char b[32], lo_s[48], hi_s[48];
    snprintf(b, sizeof b, "%.5f", (double)attrs[i].f);
    engine_filter_cond c = {.kind = ENGINE_FILTER_RANGE, .key = "f"};
    double lo = strtod(b, NULL), hi = lo + 0.01;
    if (t & 1)
      c.has_gt = true, c.gt = lo;
    else
      c.has_gte = true, c.gte = lo;
    if (t & 2)
      c.has_lt = true, c.lt = hi;
    else
      c.has_lte = true, c.lte = hi;
    if (t >= 20) { /* the same on the date-time of point i */
      time_t lo_t = (time_t)attrs[i].ts, hi_t = lo_t + 2 * 86400;
      struct tm tm;
      gmtime_r(&lo_t, &tm);
      strftime(lo_s, sizeof lo_s, "%Y-%m-%dT%H:%M:%SZ", &tm);
      gmtime_r(&hi_t, &tm);
      strftime(hi_s, sizeof hi_s, "%Y-%m-%dT%H:%M:%SZ", &tm);
      c = (engine_filter_cond){.kind = ENGINE_FILTER_DATE_RANGE, .key = "ts"};
      if (t & 1)
        c.dt_gt = lo_s;
      else
        c.dt_gte = lo_s;
      if (t & 2)
        c.dt_lt = hi_s;
      else
        c.dt_lte = hi_s;
    }
    fg_filter F = {0};
    F.g[0] = (engine_filter_group){&c, NULL, NULL, 1, 0, 0};
    F.ng = 1;
    size_t want = 0;
    for (size_t j = 0; j < N; j++) want += fg_eval(&F, ids[j], &attrs[j]);
    engine_filter *f;
    cr_assert_eq(engine_filter_compile(F.g, 1, &f, &err), PRECIS_OK, "%s", err.msg);
    uint64_t got;
    cr_assert_eq(engine_count_filtered(E, "p", f, &got, &err), PRECIS_OK);
    cr_assert_eq(got, want, "round %d: count %llu, want %zu: %s", t, (unsigned long long)got, want,
                 fg_json(&F));
    float q[DIM];
    memcpy(q, vecs + i * DIM, sizeof q);
    engine_filter_report rep;
    check_exact(&F, f, q, &rep);
    cr_assert(!rep.unindexed, "round %d: a range alone is answered by its index", t);
    engine_filter_destroy(f);
  }
}

/* ---- the in-memory bitmaps follow every write ---- */
static bool alive[N];

/* Random filters over the indexed fields: the exact filtered top-10 (served
 * from the in-memory bitmaps) equals brute force over the live points, and
 * ANN hits all pass. */
static void check_live(uint64_t *rng, const char *when) {
  static uint64_t lid[N];
  static fg_attrs la[N];
  static float lv[N * DIM];
  size_t n = 0;
  for (size_t i = 0; i < N; i++) {
    if (!alive[i]) continue;
    lid[n] = ids[i], la[n] = attrs[i];
    memcpy(lv + n * DIM, vecs + i * DIM, DIM * sizeof(float));
    n++;
  }
  precis_error err;
  for (int t = 0; t < 25; t++) {
    fg_filter *R = fg_random(rng, lid, n);
    engine_filter *f;
    cr_assert_eq(engine_filter_compile(R->g, R->ng, &f, &err), PRECIS_OK, "%s", err.msg);
    float q[DIM];
    memcpy(q, vecs + (size_t)(tu_rand(rng) % N) * DIM, sizeof q); /* unit already */
    size_t want[10];
    double ws[10];
    size_t pass = fg_brute_topk(R, lid, la, lv, n, DIM, q, 10, want, ws);
    engine_hit hits[10];
    size_t nh;
    engine_filter_report rep;
    engine_search_params sp = {.exact = true};
    cr_assert_eq(engine_search_filtered(E, "p", q, DIM, 10, &sp, f, hits, &nh, &rep, &err),
                 PRECIS_OK, "%s", err.msg);
    cr_assert_eq(nh, pass < 10 ? pass : 10, "%s: %zu hits, %zu pass: %s", when, nh, pass,
                 fg_json(R));
    for (size_t i = 0; i < nh; i++)
      cr_assert_float_eq((double)hits[i].score, ws[i], 1e-4, "%s: rank %zu: %s", when, i,
                         fg_json(R));
    uint64_t cnt;
    cr_assert_eq(engine_count_filtered(E, "p", f, &cnt, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_eq(cnt, pass, "%s: count %llu, brute force %zu: %s", when, (unsigned long long)cnt,
                 pass, fg_json(R));
    cr_assert_eq(engine_search_filtered(E, "p", q, DIM, 10, NULL, f, hits, &nh, &rep, &err),
                 PRECIS_OK);
    for (size_t i = 0; i < nh; i++) {
      size_t at = (hits[i].id - 1000) / 3;
      cr_assert(alive[at] && fg_eval(R, hits[i].id, &attrs[at]), "%s: ANN hit fails: %s", when,
                fg_json(R));
    }
    engine_filter_destroy(f);
    free(R);
  }
}

static void set_attrs_json(size_t at, char *buf) { fg_meta_json(&attrs[at], buf, 256); }

Test(pidx, in_memory_bitmaps_follow_every_write, .timeout = 240) {
  create_all();
  precis_error err;
  for (size_t i = 0; i < N; i++) alive[i] = true;
  engine_pindex_info *inf;
  size_t ni;
  cr_assert_eq(engine_payload_index_list(E, "p", &inf, &ni, &err), PRECIS_OK);
  for (size_t i = 0; i < ni; i++) {
    cr_assert(inf[i].in_memory, "%s not in memory", inf[i].key);
    cr_assert(inf[i].values > 0 && inf[i].mem_bytes > 0, "%s: %llu values, %llu bytes", inf[i].key,
              (unsigned long long)inf[i].values, (unsigned long long)inf[i].mem_bytes);
    /* bounded: a few bytes per posting, ~100 per distinct value */
    cr_assert(inf[i].mem_bytes < 16 * 4 * N + 160 * inf[i].values + 4096, "%s: %llu bytes",
              inf[i].key, (unsigned long long)inf[i].mem_bytes);
  }
  free(inf);
  uint64_t rng = 99;
  check_live(&rng, "after build");
  static char meta[60][256];
  for (int round = 0; round < 3; round++) {
    /* upsert: new attributes (and new values: a fresh seed) for 60 points */
    engine_point_in p[60];
    for (int j = 0; j < 60; j++) {
      size_t at = tu_rand(&rng) % N;
      for (int g = 0; g < j; g++) /* distinct ids */
        if (p[g].id == ids[at]) at = (at + 1) % N, g = -1;
      fg_attrs_of(1000 + (uint64_t)round, at, &attrs[at]);
      alive[at] = true;
      set_attrs_json(at, meta[j]);
      p[j] = (engine_point_in){ids[at], vecs + at * DIM, DIM, "t", 1, meta[j], strlen(meta[j]), -1};
    }
    cr_assert_eq(engine_upsert(E, "p", p, 60, &err), PRECIS_OK, "%s", err.msg);
    check_live(&rng, "after upsert");
    /* delete */
    uint64_t gone[40];
    for (int j = 0; j < 40; j++) {
      size_t at = tu_rand(&rng) % N;
      gone[j] = ids[at];
      alive[at] = false;
    }
    cr_assert_eq(engine_delete(E, "p", gone, 40, NULL, &err), PRECIS_OK, "%s", err.msg);
    check_live(&rng, "after delete");
    /* set payload, replace: a whole new metadata for 30 points */
    for (int j = 0; j < 30; j++) {
      size_t at = tu_rand(&rng) % N;
      fg_attrs_of(2000 + (uint64_t)round * 31 + (uint64_t)j, at, &attrs[at]);
      set_attrs_json(at, meta[0]);
      size_t up;
      cr_assert_eq(
          engine_set_payload(E, "p", &ids[at], 1, meta[0], strlen(meta[0]), false, &up, &err),
          PRECIS_OK, "%s", err.msg);
      cr_assert_eq(up, alive[at] ? 1u : 0u);
    }
    check_live(&rng, "after set_payload (replace)");
    /* set payload, merge: the category and the flag of 50 points */
    uint64_t mids[50];
    for (int j = 0; j < 50; j++) mids[j] = ids[tu_rand(&rng) % N];
    char patch[64];
    int cat = (int)(tu_rand(&rng) % 10);
    bool flag = tu_rand(&rng) & 1;
    snprintf(patch, sizeof patch, "{\"cat\":\"c%d\",\"flag\":%s}", cat, flag ? "true" : "false");
    cr_assert_eq(engine_set_payload(E, "p", mids, 50, patch, strlen(patch), true, NULL, &err),
                 PRECIS_OK, "%s", err.msg);
    for (int j = 0; j < 50; j++) {
      size_t at = (mids[j] - 1000) / 3;
      attrs[at].cat = cat;
      attrs[at].flag = flag;
    }
    check_live(&rng, "after set_payload (merge)");
    /* delete by filter: one category with the flag */
    engine_filter_cond dc[2] = {
        {.kind = ENGINE_FILTER_MATCH, .key = "cat", .vtype = ENGINE_FVAL_KEYWORD, .keyword = "c4"},
        {.kind = ENGINE_FILTER_MATCH, .key = "flag", .vtype = ENGINE_FVAL_BOOL, .flag = round & 1}};
    engine_filter_group dg = {dc, NULL, NULL, 2, 0, 0};
    engine_filter *df;
    cr_assert_eq(engine_filter_compile(&dg, 1, &df, &err), PRECIS_OK);
    uint64_t deleted;
    cr_assert_eq(engine_delete_filtered(E, "p", df, &deleted, &err), PRECIS_OK, "%s", err.msg);
    uint64_t want = 0;
    for (size_t i = 0; i < N; i++)
      if (alive[i] && attrs[i].cat == 4 && attrs[i].flag == (bool)(round & 1))
        alive[i] = false, want++;
    cr_assert_eq(deleted, want);
    engine_filter_destroy(df);
    check_live(&rng, "after delete by filter");
    /* restart */
    engine_close(E);
    open_engine();
    check_live(&rng, "after reopen");
  }
  /* many deletes: the ANN index is rebuilt and the slots change */
  uint64_t gone[PRECIS_MAX_BATCH > 1000 ? 1000 : PRECIS_MAX_BATCH];
  size_t ng = 0;
  for (size_t i = 0; i < N && ng < sizeof gone / sizeof *gone; i += 2)
    if (alive[i]) gone[ng++] = ids[i], alive[i] = false;
  cr_assert_eq(engine_delete(E, "p", gone, ng, NULL, &err), PRECIS_OK, "%s", err.msg);
  check_live(&rng, "after the rebuild");
  engine_point_in p[20];
  for (int j = 0; j < 20; j++) {
    size_t at = (size_t)j * 2; /* deleted above: new points again */
    fg_attrs_of(3000, at, &attrs[at]);
    alive[at] = true;
    set_attrs_json(at, meta[j]);
    p[j] = (engine_point_in){ids[at], vecs + at * DIM, DIM, "t", 1, meta[j], strlen(meta[j]), -1};
  }
  cr_assert_eq(engine_upsert(E, "p", p, 20, &err), PRECIS_OK, "%s", err.msg);
  check_live(&rng, "after upserts past the rebuild");
}
