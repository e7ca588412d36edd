/* test_oom_engine.c: every allocation of one engine read call fails in
 * turn (SQLite's OOM loop). Linked with tests/fault/fault_alloc.c and the
 * wrap flags (Makefile), so the engine's own malloc/calloc/realloc/strdup
 * can be made to fail; RocksDB, FAISS and jansson allocate unaffected.
 *
 * For each call (retrieve in every mode, with hops, a filter answered by a
 * payload index or by stored metadata, group_by with its per-request memo,
 * a token budget; filtered search, count and scroll): the result without
 * faults is the baseline; then for n = 1, 2, ... allocation n of the call
 * fails, until a run completes without reaching allocation n. Every run
 * must return OK or NO_MEMORY (never another status, never a crash), an OK
 * run must equal the baseline (a failure the engine absorbs may not change
 * the answer), and the next run without faults must equal it too (nothing
 * half-built is left behind). ASan and valgrind (make test under
 * SANITIZE, PRECIS_VALGRIND) check that nothing leaks on any of these paths. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fault/fault_alloc.h"
#include "engine.h"
#include "filtergen.h"
#include "testutil.h"
#include "tu_params.h"

#define DIM 8
#define N   300

static char *g_dir;
static engine *E;
static float *g_vecs;
static engine_filter *g_fidx, *g_fmeta; /* indexed key; unindexed key */

static void setup(void) {
  g_dir = tu_tmpdir("oom-engine");
  precis_error err;
  cr_assert_eq(engine_open(g_dir, NULL, &E, &err), PRECIS_OK, "%s", err.msg);
  engine_collection_config cfg = {0};
  cfg.dim = DIM;
  cfg.metric = ENGINE_METRIC_COSINE;
  cfg.knn_k = 6;
  cr_assert_eq(engine_collection_create(E, "o", &cfg, &err), PRECIS_OK, "%s", err.msg);
  g_vecs = tu_random_vectors(N, DIM, 1234, 0);
  engine_point_in pts[N];
  static char meta[N][96], text[N][48];
  for (int i = 0; i < N; i++) {
    snprintf(meta[i], sizeof meta[i], "{\"doc\":\"d%d\",\"tag\":%d,\"grp\":{\"n\":%d}}", i % 23,
             i % 5, i % 7);
    snprintf(text[i], sizeof text[i], "point %d with a few words of text", i);
    pts[i] = (engine_point_in){(uint64_t)i + 1, g_vecs + i * DIM, DIM, text[i], strlen(text[i]),
                               meta[i],         strlen(meta[i]),  -1};
  }
  cr_assert_eq(engine_upsert(E, "o", pts, N, &err), PRECIS_OK, "%s", err.msg);
  engine_edge links[N / 2];
  for (int i = 0; i < N / 2; i++) {
    links[i] = (engine_edge){.src = (uint64_t)i + 1,
                             .dst = (uint64_t)(i * 7) % N + 1,
                             .weight = 0.5f + (float)(i % 3) / 6};
    snprintf(links[i].kind, sizeof links[i].kind, "%s", i % 2 ? "cites" : "part_of");
  }
  size_t changed = 0;
  cr_assert_eq(engine_links_change(E, "o", links, N / 2, true, &changed, &err), PRECIS_OK, "%s",
               err.msg);
  cr_assert_gt(changed, 100);
  cr_assert_eq(engine_payload_index_create(E, "o", "tag", ENGINE_PINDEX_INTEGER, &err), PRECIS_OK,
               "%s", err.msg);
  cr_assert(fg_wait_indexes_ready(E, "o"), "payload index not ready");
  /* tag any of {1, 3} (indexed); grp.n >= 2 (not indexed) */
  static const int64_t tags[] = {1, 3};
  engine_filter_cond ci = {
      .kind = ENGINE_FILTER_ANY, .key = "tag", .integers = tags, .n_integers = 2};
  engine_filter_group gi = {&ci, NULL, NULL, 1, 0, 0};
  cr_assert_eq(engine_filter_compile(&gi, 1, &g_fidx, &err), PRECIS_OK, "%s", err.msg);
  engine_filter_cond cm = {.kind = ENGINE_FILTER_RANGE, .key = "grp.n", .has_gte = true, .gte = 2};
  engine_filter_group gm = {&cm, NULL, NULL, 1, 0, 0};
  cr_assert_eq(engine_filter_compile(&gm, 1, &g_fmeta, &err), PRECIS_OK, "%s", err.msg);
}

static void teardown(void) {
  fault_alloc_fail_nth(0);
  engine_filter_destroy(g_fidx);
  engine_filter_destroy(g_fmeta);
  engine_close(E);
  E = NULL;
  free(g_vecs);
  tu_rmrf_free(g_dir);
}

TestSuite(oom_engine, .init = setup, .fini = teardown, .timeout = 600);

/* The loop itself: run(ctx) returns the status and leaves its answer where
 * same(ctx) compares it with the baseline and drop(ctx) frees it. */
typedef struct {
  int (*run)(void *ctx);
  bool (*same)(void *ctx); /* the answer equals the baseline */
  void (*keep)(void *ctx); /* take the answer as the baseline */
  void (*drop)(void *ctx); /* free the answer (not the baseline) */
} oom_call;

static void oom_loop(const char *what, const oom_call *c, void *ctx) {
  fault_alloc_fail_nth(0);
  cr_assert_eq(c->run(ctx), PRECIS_OK, "%s: baseline", what);
  c->keep(ctx);
  long n = 1, failed_runs = 0;
  for (;; n++) {
    cr_assert_lt(n, 100000, "%s: no end to the allocations", what);
    fault_alloc_fail_nth(n);
    int rc = c->run(ctx);
    long f = fault_alloc_failures();
    fault_alloc_fail_nth(0);
    cr_assert(rc == PRECIS_OK || rc == PRECIS_E_NO_MEMORY,
              "%s: allocation %ld failed -> status %d (%s)", what, n, rc, precis_strerror(rc));
    if (rc == PRECIS_OK)
      cr_assert(c->same(ctx), "%s: allocation %ld failed, OK, other answer", what, n);
    c->drop(ctx);
    if (f == 0) break; /* the call made fewer than n allocations */
    failed_runs += rc != PRECIS_OK;
    cr_assert_eq(c->run(ctx), PRECIS_OK, "%s: after allocation %ld failed", what, n);
    cr_assert(c->same(ctx), "%s: after allocation %ld failed, a different answer", what, n);
    c->drop(ctx);
  }
  cr_log_info("%s: %ld allocations, %ld of them reported NO_MEMORY", what, n - 1, failed_runs);
  /* a call that allocates nothing would test nothing */
  cr_assert_gt(n - 1, 0, "%s: no allocation was made", what);
  cr_assert_gt(failed_runs, 0, "%s: no failure reached the caller", what);
}

/* ---- retrieve ---- */
typedef struct {
  engine_retrieve_params p;
  engine_retrieve_result *base, *got;
} rctx;

static int r_run(void *x) {
  rctx *c = x;
  precis_error err;
  c->got = NULL;
  int rc = engine_retrieve(E, "o", &c->p, &c->got, &err);
  if (rc != PRECIS_OK) cr_assert_null(c->got, "a failed retrieve left a result");
  return rc;
}
static bool r_same(void *x) {
  rctx *c = x;
  const engine_retrieve_result *a = c->base, *b = c->got;
  if (a->n != b->n || a->pool_size != b->pool_size) return false;
  for (size_t i = 0; i < a->n; i++) {
    const engine_retrieved *u = a->items + i, *v = b->items + i;
    if (u->id != v->id || u->hops != v->hops || u->via != v->via || u->represents != v->represents)
      return false;
    if (fabsf(u->relevance - v->relevance) > 1e-6f || strcmp(u->text, v->text) ||
        strcmp(u->meta, v->meta))
      return false;
  }
  return true;
}
static void r_keep(void *x) {
  rctx *c = x;
  c->base = c->got;
  c->got = NULL;
}
static void r_drop(void *x) {
  rctx *c = x;
  engine_retrieve_result_free(c->got);
  c->got = NULL;
}
static const oom_call R_CALL = {r_run, r_same, r_keep, r_drop};

static void retrieve_case(const char *what, engine_mode mode, uint32_t hops, const engine_filter *f,
                          const char *group_by, uint32_t budget) {
  rctx c = {0};
  engine_retrieve_params_default(&c.p);
  c.p.query = g_vecs + 17 * DIM;
  c.p.dim = DIM;
  c.p.k = 8;
  c.p.mode = mode;
  c.p.hops = hops;
  c.p.filter = f;
  c.p.group_by = group_by;
  if (group_by) c.p.group_limit = 2;
  if (budget) c.p.token_budget = budget;
  oom_loop(what, &R_CALL, &c);
  cr_assert_gt(c.base->n, 0, "%s: an empty answer tests little", what);
  engine_retrieve_result_free(c.base);
}

Test(oom_engine, retrieve_compress_at_hops_0_and_1) {
  retrieve_case("compress hops 0", ENGINE_MODE_COMPRESS, 0, NULL, NULL, 0);
  retrieve_case("compress hops 1", ENGINE_MODE_COMPRESS, 1, NULL, NULL, 0);
}

Test(oom_engine, retrieve_mmr_and_topk_over_two_hops) {
  /* hops 0: MMR's redundancy mixes in the shared neighbours (their sets and
   * the mixed row are allocations of their own) */
  retrieve_case("mmr hops 0", ENGINE_MODE_MMR, 0, NULL, NULL, 0);
  retrieve_case("mmr hops 2", ENGINE_MODE_MMR, 2, NULL, NULL, 0);
  retrieve_case("topk hops 1", ENGINE_MODE_TOPK, 1, NULL, NULL, 0);
}

Test(oom_engine, retrieve_with_filters) {
  retrieve_case("compress, indexed filter", ENGINE_MODE_COMPRESS, 1, g_fidx, NULL, 0);
  retrieve_case("mmr, unindexed filter", ENGINE_MODE_MMR, 0, g_fmeta, NULL, 0);
}

Test(oom_engine, retrieve_with_group_by_and_a_token_budget) {
  retrieve_case("compress, group_by", ENGINE_MODE_COMPRESS, 1, NULL, "doc", 0);
  retrieve_case("topk, group_by nested, filter", ENGINE_MODE_TOPK, 0, g_fidx, "grp.n", 0);
  retrieve_case("compress, token budget", ENGINE_MODE_COMPRESS, 0, NULL, NULL, 60);
}

/* ---- filtered search, count, scroll ---- */
typedef struct {
  const engine_filter *f;
  engine_hit base[10], got[10];
  size_t nbase, ngot;
} sctx;

static int s_run(void *x) {
  sctx *c = x;
  precis_error err;
  engine_search_params sp = {0};
  c->ngot = 0;
  return engine_search_filtered(E, "o", g_vecs + 40 * DIM, DIM, 10, &sp, c->f, c->got, &c->ngot,
                                NULL, &err);
}
static bool s_same(void *x) {
  sctx *c = x;
  if (c->nbase != c->ngot) return false;
  for (size_t i = 0; i < c->ngot; i++)
    if (c->base[i].id != c->got[i].id) return false;
  return true;
}
static void s_keep(void *x) {
  sctx *c = x;
  memcpy(c->base, c->got, sizeof c->got);
  c->nbase = c->ngot;
}
static void s_drop(void *x) { (void)x; }

Test(oom_engine, filtered_search) {
  static const oom_call call = {s_run, s_same, s_keep, s_drop};
  sctx a = {.f = g_fidx}, b = {.f = g_fmeta};
  oom_loop("search, indexed filter", &call, &a);
  oom_loop("search, unindexed filter", &call, &b);
  cr_assert_eq(a.nbase, 10);
  cr_assert_eq(b.nbase, 10);
}

typedef struct {
  const engine_filter *f;
  uint64_t count_base, count_got;
  engine_point *base, *got;
  size_t nbase, ngot;
  uint64_t next_base, next_got;
} pctx;

static int p_run(void *x) {
  pctx *c = x;
  precis_error err;
  c->got = NULL;
  c->ngot = 0;
  int rc = engine_count_filtered(E, "o", c->f, &c->count_got, &err);
  if (rc != PRECIS_OK) return rc;
  bool more = false;
  return engine_scroll(E, "o", c->f, 30, 25, true, &c->got, &c->ngot, &c->next_got, &more, &err);
}
static bool p_same(void *x) {
  pctx *c = x;
  if (c->count_base != c->count_got || c->nbase != c->ngot || c->next_base != c->next_got)
    return false;
  for (size_t i = 0; i < c->ngot; i++)
    if (c->base[i].id != c->got[i].id || strcmp(c->base[i].meta, c->got[i].meta)) return false;
  return true;
}
static void p_keep(void *x) {
  pctx *c = x;
  c->base = c->got;
  c->nbase = c->ngot;
  c->count_base = c->count_got;
  c->next_base = c->next_got;
  c->got = NULL;
}
static void p_drop(void *x) {
  pctx *c = x;
  if (c->got) engine_points_free(c->got, c->ngot);
  c->got = NULL;
}

Test(oom_engine, count_and_scroll_with_filters) {
  static const oom_call call = {p_run, p_same, p_keep, p_drop};
  pctx a = {.f = g_fidx}, b = {.f = g_fmeta};
  oom_loop("count+scroll, indexed filter", &call, &a);
  oom_loop("count+scroll, unindexed filter", &call, &b);
  cr_assert_eq(a.count_base, 2 * N / 5);
  cr_assert_eq(a.nbase, 25);
  cr_assert_eq(b.nbase, 25);
  engine_points_free(a.base, a.nbase);
  engine_points_free(b.base, b.nbase);
}

/* ---- writes ----
 * A write whose allocation n fails must be all or nothing: NO_MEMORY and
 * nothing changed (counters, the points, their links, exact search), or OK
 * and all of it applied; the stored graph always matches the one in memory,
 * and after a reopen the collection is the one the successful writes made. */
typedef struct {
  engine_collection_info info;
  uint64_t ids[6];
  int found[6];
  char meta[6][96];
  uint64_t top1[6];  /* exact nearest point to each id's current vector */
  size_t knn_out[6]; /* kNN edges out of each id */
  size_t links_of_1;
} wsnap;

static float g_wvec[6][DIM]; /* the vectors the write gives ids[] */

static void wtake(wsnap *s, const uint64_t *ids) {
  precis_error err;
  memset(s, 0, sizeof *s);
  memcpy(s->ids, ids, sizeof s->ids);
  cr_assert_eq(engine_collection_describe(E, "o", &s->info, &err), PRECIS_OK, "%s", err.msg);
  engine_point *p = NULL;
  cr_assert_eq(engine_get(E, "o", ids, 6, true, &p, &err), PRECIS_OK, "%s", err.msg);
  engine_search_params sp = {.exact = true};
  for (int i = 0; i < 6; i++) {
    s->found[i] = p[i].found;
    if (!p[i].found) continue;
    snprintf(s->meta[i], sizeof s->meta[i], "%s", p[i].meta);
    engine_hit h[1];
    size_t nh = 0;
    cr_assert_eq(engine_search(E, "o", p[i].vector, DIM, 1, &sp, h, &nh, &err), PRECIS_OK, "%s",
                 err.msg);
    s->top1[i] = nh ? h[0].id : 0;
    engine_edge *ke = NULL;
    cr_assert_eq(engine_edges_list(E, "o", ids[i], ENGINE_EDGE_KNN, NULL, ENGINE_DIR_OUT, &ke,
                                   &s->knn_out[i], &err),
                 PRECIS_OK, "%s", err.msg);
    free(ke);
  }
  engine_points_free(p, 6);
  engine_edge *e = NULL;
  cr_assert_eq(engine_edges_list(E, "o", 1, ENGINE_EDGE_LINKS, NULL, ENGINE_DIR_OUT, &e,
                                 &s->links_of_1, &err),
               PRECIS_OK, "%s", err.msg);
  free(e);
  cr_assert_eq(engine_graph_check(E, "o", &err), PRECIS_OK, "%s", err.msg);
}

static bool wsame(const wsnap *a, const wsnap *b) {
  if (a->info.count != b->info.count || a->info.links != b->info.links ||
      a->info.knn_edges != b->info.knn_edges || a->info.seq != b->info.seq ||
      a->links_of_1 != b->links_of_1)
    return false;
  for (int i = 0; i < 6; i++)
    if (a->found[i] != b->found[i] || strcmp(a->meta[i], b->meta[i]) || a->top1[i] != b->top1[i] ||
        a->knn_out[i] != b->knn_out[i])
      return false;
  return true;
}

enum { WO_UPSERT_NEW, WO_UPSERT_OLD, WO_DELETE, WO_LINK_ADD, WO_LINK_REMOVE, WO_N };
static const char *WO_NAMES[WO_N] = {"upsert new", "upsert existing", "delete", "link add",
                                     "link remove"};

/* The ids write w of round `it` touches (distinct per round where the
 * write cannot be repeated: new points, deletes, links). */
static void wids(int w, long it, uint64_t *ids) {
  for (int i = 0; i < 6; i++) {
    if (w == WO_UPSERT_OLD)
      ids[i] = (uint64_t)i * 11 + 2;
    else
      ids[i] = 100000 + (uint64_t)it * 10 + (uint64_t)i;
  }
}

/* Before round `it` of write w, without faults: what it needs in place. */
static void wprepare(int w, long it) {
  uint64_t ids[6];
  wids(w, it, ids);
  precis_error err;
  if (w == WO_DELETE || w == WO_LINK_ADD || w == WO_LINK_REMOVE) {
    engine_point_in pts[6];
    for (int i = 0; i < 6; i++)
      pts[i] = (engine_point_in){
          ids[i], g_vecs + (size_t)(ids[i] % N) * DIM, DIM, "p", 1, "{\"doc\":\"x\"}", 11, -1};
    cr_assert_eq(engine_upsert(E, "o", pts, 6, &err), PRECIS_OK, "%s", err.msg);
  }
  if (w == WO_LINK_REMOVE)
    for (int i = 0; i < 6; i++)
      cr_assert_eq(tu_link(E, "o", 1, ids[i], "see", 0.5f, true, &err), PRECIS_OK, "%s", err.msg);
}

static int wdo(int w, long it) {
  uint64_t ids[6];
  wids(w, it, ids);
  precis_error err;
  static char meta[6][48];
  engine_point_in pts[6];
  engine_edge l[6];
  switch (w) {
    case WO_UPSERT_NEW:
    case WO_UPSERT_OLD:
      for (int i = 0; i < 6; i++) {
        uint64_t s = (uint64_t)it * 977 + (uint64_t)i;
        for (int d = 0; d < DIM; d++) g_wvec[i][d] = tu_randf(&s);
        snprintf(meta[i], sizeof meta[i], "{\"doc\":\"w%ld\",\"tag\":%d}", it, i);
        pts[i] = (engine_point_in){ids[i], g_wvec[i], DIM, "w", 1, meta[i], strlen(meta[i]), -1};
      }
      return engine_upsert(E, "o", pts, 6, &err);
    case WO_DELETE:
      return engine_delete(E, "o", ids, 6, NULL, &err);
    case WO_LINK_ADD:
    case WO_LINK_REMOVE:
      for (int i = 0; i < 6; i++) {
        l[i] = (engine_edge){.src = 1, .dst = ids[i], .weight = 0.5f};
        snprintf(l[i].kind, sizeof l[i].kind, "see");
      }
      return engine_links_change(E, "o", l, 6, w == WO_LINK_ADD, NULL, &err);
  }
  return -1;
}

static void write_case(int w) {
  const char *what = WO_NAMES[w];
  long n = 1, failed = 0;
  for (;; n++) {
    cr_assert_lt(n, 100000, "%s: no end to the allocations", what);
    wprepare(w, n);
    uint64_t ids[6];
    wids(w, n, ids);
    wsnap before, after;
    wtake(&before, ids);
    fault_alloc_fail_nth(n);
    int rc = wdo(w, n);
    long f = fault_alloc_failures();
    fault_alloc_fail_nth(0);
    cr_assert(rc == PRECIS_OK || rc == PRECIS_E_NO_MEMORY,
              "%s: allocation %ld failed -> status %d (%s)", what, n, rc, precis_strerror(rc));
    wtake(&after, ids);
    if (rc != PRECIS_OK) {
      failed++;
      cr_assert(wsame(&before, &after), "%s: allocation %ld failed, NO_MEMORY, but it changed",
                what, n);
      continue;
    }
    cr_assert_eq(after.info.seq, before.info.seq + 1, "%s: allocation %ld: OK, not written", what,
                 n);
    for (int i = 0; i < 6; i++) {
      bool live =
          w == WO_UPSERT_NEW || w == WO_UPSERT_OLD || w == WO_LINK_ADD || w == WO_LINK_REMOVE;
      cr_assert_eq(after.found[i], live, "%s: allocation %ld: point %llu", what, n,
                   (unsigned long long)ids[i]);
      if (w == WO_UPSERT_NEW || w == WO_UPSERT_OLD) {
        cr_assert_eq(after.top1[i], ids[i], "%s: allocation %ld: %llu not found by its vector",
                     what, n, (unsigned long long)ids[i]);
        /* a failure absorbed after the commit may not leave the point
           outside the kNN graph */
        cr_assert_eq(after.knn_out[i], after.info.config.knn_k,
                     "%s: allocation %ld: %llu has %zu kNN edges", what, n,
                     (unsigned long long)ids[i], after.knn_out[i]);
      }
    }
    if (w == WO_LINK_ADD) cr_assert_eq(after.links_of_1, before.links_of_1 + 6);
    if (w == WO_LINK_REMOVE) cr_assert_eq(after.links_of_1, before.links_of_1 - 6);
    if (f == 0) break;
  }
  cr_log_info("%s: %ld allocations, %ld of them reported NO_MEMORY", what, n - 1, failed);
  cr_assert_gt(failed, 0, "%s: no failure reached the caller", what);
  /* what the successful writes made survives a reopen */
  uint64_t ids[6];
  wids(w, n, ids);
  wsnap live, reopened;
  wtake(&live, ids);
  precis_error err;
  engine_close(E);
  cr_assert_eq(engine_open(g_dir, NULL, &E, &err), PRECIS_OK, "%s", err.msg);
  wtake(&reopened, ids);
  cr_assert(wsame(&live, &reopened), "%s: the collection differs after a reopen", what);
}

Test(oom_engine, upserts_are_all_or_nothing) {
  write_case(WO_UPSERT_NEW);
  write_case(WO_UPSERT_OLD);
}

Test(oom_engine, deletes_and_links_are_all_or_nothing) {
  write_case(WO_DELETE);
  write_case(WO_LINK_ADD);
  write_case(WO_LINK_REMOVE);
}

/* An upsert of 20 new points into the Flat collection takes the exact
 * scan (graph_knn.c, batches of GRAPH_SCAN_MIN_BATCH or more): every
 * allocation of it fails in turn; NO_MEMORY changes nothing, OK writes all
 * 20, the stored graph always matches memory, and the lists stay exact
 * (each new point's nearest stored point is in its list). */
Test(oom_engine, a_batch_upsert_through_the_exact_scan_is_all_or_nothing) {
  enum { B = 20 };
  long n = 1, failed = 0;
  float vec[B][DIM];
  for (;; n++) {
    cr_assert_lt(n, 100000, "no end to the allocations");
    precis_error err;
    engine_collection_info before, after;
    cr_assert_eq(engine_collection_describe(E, "o", &before, &err), PRECIS_OK, "%s", err.msg);
    engine_point_in pts[B];
    for (int i = 0; i < B; i++) {
      uint64_t s = (uint64_t)n * 131 + (uint64_t)i;
      for (int d = 0; d < DIM; d++) vec[i][d] = tu_randf(&s);
      pts[i] = (engine_point_in){
          200000 + (uint64_t)n * 100 + (uint64_t)i, vec[i], DIM, "b", 1, "{}", 2, -1};
    }
    fault_alloc_fail_nth(n);
    int rc = engine_upsert(E, "o", pts, B, &err);
    long f = fault_alloc_failures();
    fault_alloc_fail_nth(0);
    cr_assert(rc == PRECIS_OK || rc == PRECIS_E_NO_MEMORY, "allocation %ld -> %d", n, rc);
    cr_assert_eq(engine_collection_describe(E, "o", &after, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_eq(engine_graph_check(E, "o", &err), PRECIS_OK, "allocation %ld: %s", n, err.msg);
    if (rc != PRECIS_OK) {
      failed++;
      cr_assert_eq(after.count, before.count, "allocation %ld: NO_MEMORY but written", n);
      cr_assert_eq(after.seq, before.seq);
      cr_assert_eq(after.knn_edges, before.knn_edges);
    } else {
      cr_assert_eq(after.count, before.count + B, "allocation %ld: OK, not all written", n);
      /* the first point's list holds the nearest stored point (exact search) */
      engine_search_params sp = {.exact = true};
      engine_hit h[2];
      size_t nh = 0;
      cr_assert_eq(engine_search(E, "o", vec[0], DIM, 2, &sp, h, &nh, &err), PRECIS_OK);
      cr_assert_eq(nh, 2);
      engine_edge *e = NULL;
      size_t ne = 0;
      cr_assert_eq(engine_edges_list(E, "o", pts[0].id, ENGINE_EDGE_KNN, NULL, ENGINE_DIR_OUT, &e,
                                     &ne, &err),
                   PRECIS_OK);
      bool found = false;
      for (size_t j = 0; j < ne; j++) found |= e[j].dst == h[1].id;
      free(e);
      cr_assert(found, "allocation %ld: the nearest point is not in the new point's list", n);
    }
    if (f == 0) break;
  }
  cr_log_info("exact-scan upsert: %ld allocations, %ld of them reported NO_MEMORY", n - 1, failed);
  cr_assert_gt(failed, 0);
}
