/* test_faults_engine.c: engine-level fault injection. With
 * engine_debug_fail_writes_after() every RocksDB write of the engine fails
 * with IO; for each kind of write (upsert of new and of existing points,
 * delete, link add and remove, collection create and drop) the test checks
 * that the failed call returns IO, changes nothing (describe counters, the
 * points, their links, search results), that the engine stays usable (the
 * same call succeeds once writes work again), and that after a reopen the
 * state is the one the successful calls made. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "testutil.h"
#include "tu_params.h"

#define DIM 8
#define N   200

static char *g_dir;
static engine *g_e;
static float *g_vecs; /* vectors of ids 1..N+40 */

static void open_engine(void) {
  precis_error err;
  cr_assert_eq(engine_open(g_dir, NULL, &g_e, &err), PRECIS_OK, "%s", err.msg);
}

static void setup(void) {
  g_dir = tu_tmpdir("faults-engine");
  g_vecs = tu_random_vectors(N + 40, DIM, 77, 0);
  open_engine();
  precis_error err;
  engine_collection_config cfg = {0};
  cfg.dim = DIM;
  cfg.metric = ENGINE_METRIC_L2;
  cfg.knn_k = 4;
  cr_assert_eq(engine_collection_create(g_e, "f", &cfg, &err), PRECIS_OK, "%s", err.msg);
  engine_point_in pts[N];
  for (int i = 0; i < N; i++)
    pts[i] = (engine_point_in){(uint64_t)i + 1, g_vecs + i * DIM, DIM, "t", 1, "{\"v\":0}", 7, -1};
  cr_assert_eq(engine_upsert(g_e, "f", pts, N, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(tu_link(g_e, "f", 1, 2, "cites", 0.5f, true, &err), PRECIS_OK, "%s", err.msg);
}

static void teardown(void) {
  engine_close(g_e);
  g_e = NULL;
  free(g_vecs);
  tu_rmrf_free(g_dir);
}

TestSuite(faults_engine, .init = setup, .fini = teardown);

/* A fingerprint of everything a failed write could have touched. */
typedef struct {
  engine_collection_info info;
  char text[8][32], meta[8][32];
  int found[8];
  uint64_t top1[4];
  size_t links_of_1;
  size_t ncolls;
} snap;

static const uint64_t PROBE[8] = {1, 2, 3, 50, N, N + 1, N + 2, N + 39};

static void take(snap *s) {
  precis_error err;
  memset(s, 0, sizeof *s);
  cr_assert_eq(engine_collection_describe(g_e, "f", &s->info, &err), PRECIS_OK, "%s", err.msg);
  engine_point *p = NULL;
  cr_assert_eq(engine_get(g_e, "f", PROBE, 8, true, &p, &err), PRECIS_OK, "%s", err.msg);
  for (int i = 0; i < 8; i++) {
    s->found[i] = p[i].found;
    if (p[i].found) {
      snprintf(s->text[i], sizeof s->text[i], "%s", p[i].text);
      snprintf(s->meta[i], sizeof s->meta[i], "%s", p[i].meta);
    }
  }
  engine_points_free(p, 8);
  engine_search_params sp = {.exact = true};
  for (int i = 0; i < 4; i++) {
    engine_hit h[1];
    size_t nh = 0;
    cr_assert_eq(
        engine_search(g_e, "f", g_vecs + (size_t)(PROBE[i] - 1) * DIM, DIM, 1, &sp, h, &nh, &err),
        PRECIS_OK, "%s", err.msg);
    s->top1[i] = nh ? h[0].id : 0;
  }
  engine_edge *e = NULL;
  cr_assert_eq(engine_edges_list(g_e, "f", 1, ENGINE_EDGE_LINKS, NULL, ENGINE_DIR_OUT, &e,
                                 &s->links_of_1, &err),
               PRECIS_OK, "%s", err.msg);
  free(e);
  engine_collection_info *all = NULL;
  cr_assert_eq(engine_collection_list(g_e, &all, &s->ncolls, &err), PRECIS_OK);
  free(all);
}

static void same(const snap *a, const snap *b, const char *what) {
  cr_assert_eq(a->info.count, b->info.count, "%s: count changed", what);
  cr_assert_eq(a->info.links, b->info.links, "%s: links changed", what);
  cr_assert_eq(a->info.knn_edges, b->info.knn_edges, "%s: kNN edges changed", what);
  cr_assert_eq(a->info.seq, b->info.seq, "%s: seq changed", what);
  cr_assert_eq(a->info.tombstones, b->info.tombstones, "%s: tombstones changed", what);
  cr_assert_eq(a->ncolls, b->ncolls, "%s: collections changed", what);
  cr_assert_eq(a->links_of_1, b->links_of_1, "%s: links of point 1 changed", what);
  for (int i = 0; i < 8; i++) {
    cr_assert_eq(a->found[i], b->found[i], "%s: point %lu appeared/vanished", what,
                 (unsigned long)PROBE[i]);
    cr_assert_str_eq(a->text[i], b->text[i], "%s: text of %lu changed", what,
                     (unsigned long)PROBE[i]);
    cr_assert_str_eq(a->meta[i], b->meta[i], "%s: metadata of %lu changed", what,
                     (unsigned long)PROBE[i]);
  }
  for (int i = 0; i < 4; i++) cr_assert_eq(a->top1[i], b->top1[i], "%s: search changed", what);
}

/* in this order: the links touch points 2 and 3 before the delete */
enum { W_UPSERT_NEW, W_UPSERT_OLD, W_LINK_ADD, W_LINK_REMOVE, W_DELETE, W_CREATE, W_DROP, W_N };
static const char *NAMES[W_N] = {"upsert new", "upsert existing", "link add", "link remove",
                                 "delete",     "create",          "drop"};

static int do_write(int w, precis_error *err) {
  engine_point_in pts[40];
  switch (w) {
    case W_UPSERT_NEW:
      for (int i = 0; i < 40; i++)
        pts[i] = (engine_point_in){(uint64_t)N + 1 + (uint64_t)i,
                                   g_vecs + (size_t)(N + i) * DIM,
                                   DIM,
                                   "new",
                                   3,
                                   "{\"v\":1}",
                                   7,
                                   -1};
      return engine_upsert(g_e, "f", pts, 40, err);
    case W_UPSERT_OLD:
      for (int i = 0; i < 3; i++)
        pts[i] = (engine_point_in){
            (uint64_t)i + 1, g_vecs + (size_t)(N + i) * DIM, DIM, "changed", 7, "{\"v\":2}", 7, -1};
      return engine_upsert(g_e, "f", pts, 3, err);
    case W_DELETE: {
      uint64_t ids[3] = {2, 3, 50};
      return engine_delete(g_e, "f", ids, 3, NULL, err);
    }
    case W_LINK_ADD: {
      engine_edge l[2] = {{1, 3, "see", 0.25f}, {1, 50, "see", 1.0f}};
      return engine_links_change(g_e, "f", l, 2, true, NULL, err);
    }
    case W_LINK_REMOVE:
      return tu_link(g_e, "f", 1, 2, "cites", 1.0f, false, err);
    case W_CREATE: {
      engine_collection_config cfg = {0};
      cfg.dim = 4;
      return engine_collection_create(g_e, "g", &cfg, err);
    }
    case W_DROP:
      return engine_collection_drop(g_e, "g", err);
  }
  return -1;
}

Test(faults_engine, failed_write_changes_nothing) {
  for (int w = 0; w < W_N; w++) {
    /* W_DROP drops "g", which the successful W_CREATE made */
    snap before, after;
    take(&before);
    precis_error err;
    memset(&err, 0, sizeof err);
    engine_debug_fail_writes_after(g_e, 0);
    int rc = do_write(w, &err);
    engine_debug_fail_writes_after(g_e, -1);
    cr_assert_eq(rc, PRECIS_E_IO, "%s under an injected I/O error returned %d (%s)", NAMES[w], rc,
                 err.msg);
    cr_assert_eq(err.code, PRECIS_E_IO, "%s: error record", NAMES[w]);
    take(&after);
    same(&before, &after, NAMES[w]);
    /* the edges in memory dropped what the failed batch staged */
    cr_assert_eq(engine_graph_check(g_e, "f", &err), PRECIS_OK, "%s: %s", NAMES[w], err.msg);
    /* the engine stays usable: the same write succeeds now */
    rc = do_write(w, &err);
    cr_assert_eq(rc, PRECIS_OK, "%s after the fault: %s", NAMES[w], err.msg);
  }
  /* the successful writes, not the failed ones, survive a reopen */
  snap live, reopened;
  take(&live);
  engine_close(g_e);
  g_e = NULL;
  open_engine();
  take(&reopened);
  same(&live, &reopened, "reopen");
  cr_assert_eq(live.info.count, N + 40 - 3);
  cr_assert_str_eq(live.text[0], "changed");
  cr_assert_eq(live.found[1], 0);
}

/* Faults at every write position of a longer sequence: each failure
 * leaves the engine as it was, and the count is always the sum of the
 * successful upserts. */
Test(faults_engine, countdown_in_a_stream) {
  precis_error err;
  uint64_t expected = N;
  for (long after = 0; after < 6; after++) {
    engine_debug_fail_writes_after(g_e, after);
    for (int b = 0; b < 8; b++) {
      engine_point_in pts[5];
      uint64_t base = 1000 + (uint64_t)after * 100 + (uint64_t)b * 5;
      for (int i = 0; i < 5; i++)
        pts[i] = (engine_point_in){
            base + (uint64_t)i, g_vecs + (size_t)((b * 5 + i) % N) * DIM, DIM, "s", 1, NULL, 0, -1};
      int rc = engine_upsert(g_e, "f", pts, 5, &err);
      if (b < after)
        cr_assert_eq(rc, PRECIS_OK, "write %d before the fault: %s", b, err.msg);
      else
        cr_assert_eq(rc, PRECIS_E_IO, "write %d after the fault", b);
      if (rc == PRECIS_OK) expected += 5;
      uint64_t n = 0;
      cr_assert_eq(engine_count(g_e, "f", &n, &err), PRECIS_OK);
      cr_assert_eq(n, expected);
    }
    engine_debug_fail_writes_after(g_e, -1);
  }
  engine_close(g_e);
  g_e = NULL;
  open_engine();
  uint64_t n = 0;
  cr_assert_eq(engine_count(g_e, "f", &n, &err), PRECIS_OK);
  cr_assert_eq(n, expected);
}

/* A batch large enough to write RocksDB beside the index insertion: when
 * the write fails, the vectors the index already took stay invisible
 * (tombstones), the counters and the graph are unchanged, and the same
 * batch succeeds afterwards and survives a reopen. */
Test(faults_engine, failed_large_write_leaves_nothing_visible) {
  const size_t m = 200;
  float *v = tu_random_vectors(m, DIM, 99, 0);
  engine_point_in *pts = calloc(m, sizeof *pts);
  for (size_t i = 0; i < m; i++)
    pts[i] = (engine_point_in){5001 + i, v + i * DIM, DIM, "n", 1, NULL, 0, -1};
  snap before, after;
  take(&before);
  precis_error err;
  engine_debug_fail_writes_after(g_e, 0);
  cr_assert_eq(engine_upsert(g_e, "f", pts, m, &err), PRECIS_E_IO);
  engine_debug_fail_writes_after(g_e, -1);
  take(&after);
  cr_assert_eq(before.info.count, after.info.count);
  cr_assert_eq(before.info.seq, after.info.seq);
  cr_assert_eq(before.info.knn_edges, after.info.knn_edges);
  for (int i = 0; i < 4; i++) cr_assert_eq(before.top1[i], after.top1[i]);
  cr_assert_eq(engine_graph_check(g_e, "f", &err), PRECIS_OK, "%s", err.msg);
  engine_search_params sp = {.exact = true};
  for (size_t i = 0; i < m; i += 17) {
    engine_hit h[1];
    size_t nh = 0;
    cr_assert_eq(engine_search(g_e, "f", v + i * DIM, DIM, 1, &sp, h, &nh, &err), PRECIS_OK);
    cr_assert(nh == 1 && h[0].id < 5001, "point %zu of the failed batch is searchable", 5001 + i);
    cr_assert_eq(engine_search(g_e, "f", v + i * DIM, DIM, 1, NULL, h, &nh, &err), PRECIS_OK);
    cr_assert(nh == 1 && h[0].id < 5001, "point %zu of the failed batch is searchable", 5001 + i);
  }
  cr_assert_eq(engine_upsert(g_e, "f", pts, m, &err), PRECIS_OK, "%s", err.msg);
  for (int round = 0; round < 2; round++) {
    engine_collection_info info;
    cr_assert_eq(engine_collection_describe(g_e, "f", &info, &err), PRECIS_OK);
    cr_assert_eq(info.count, before.info.count + m);
    for (size_t i = 0; i < m; i += 17) {
      engine_hit h[1];
      size_t nh = 0;
      cr_assert_eq(engine_search(g_e, "f", v + i * DIM, DIM, 1, &sp, h, &nh, &err), PRECIS_OK);
      cr_assert(nh == 1 && h[0].id == 5001 + i, "round %d: point %zu not found", round, 5001 + i);
    }
    cr_assert_eq(engine_graph_check(g_e, "f", &err), PRECIS_OK, "%s", err.msg);
    engine_close(g_e);
    g_e = NULL;
    open_engine();
  }
  free(pts);
  free(v);
}

/* An HNSW collection: the index takes the vectors first (their kNN lists
 * come from the insertion, coll_write.c add_with_knn), then the write.
 * hnsw_fill makes "h" with 300 points; returns the vectors of 40 more. */
static float *hnsw_fill(void) {
  precis_error err;
  engine_collection_config cfg = {0};
  cfg.dim = DIM;
  cfg.metric = ENGINE_METRIC_L2;
  cfg.knn_k = 4;
  snprintf(cfg.index_spec, sizeof cfg.index_spec, "HNSW16");
  cr_assert_eq(engine_collection_create(g_e, "h", &cfg, &err), PRECIS_OK, "%s", err.msg);
  float *v = tu_random_vectors(340, DIM, 123, 0);
  engine_point_in pts[300];
  for (int i = 0; i < 300; i++)
    pts[i] = (engine_point_in){(uint64_t)i + 1, v + i * DIM, DIM, "h", 1, NULL, 0, -1};
  cr_assert_eq(engine_upsert(g_e, "h", pts, 300, &err), PRECIS_OK, "%s", err.msg);
  return v;
}

static void upsert_40(const float *v, int want) {
  engine_point_in pts[40];
  for (int i = 0; i < 40; i++)
    pts[i] = (engine_point_in){1001 + (uint64_t)i, v + (300 + i) * DIM, DIM, "n", 1, NULL, 0, -1};
  precis_error err;
  cr_assert_eq(engine_upsert(g_e, "h", pts, 40, &err), want, "%s", err.msg);
}

/* the nearest point to each of the 40 (exact and ANN): one of them iff on */
static void expect_40(const float *v, bool on) {
  precis_error err;
  engine_search_params ex = {.exact = true};
  for (int i = 0; i < 40; i++)
    for (int pass = 0; pass < 2; pass++) {
      engine_hit h[1];
      size_t nh = 0;
      cr_assert_eq(
          engine_search(g_e, "h", v + (300 + i) * DIM, DIM, 1, pass ? &ex : NULL, h, &nh, &err),
          PRECIS_OK, "%s", err.msg);
      cr_assert_eq(nh, 1);
      if (on)
        cr_assert_eq(h[0].id, 1001 + (uint64_t)i, "point %d not found", 1001 + i);
      else
        cr_assert(h[0].id < 1001, "point %d of the failed batch is searchable", 1001 + i);
    }
}

Test(faults_engine, hnsw_failed_write_after_the_insertion_leaves_nothing_visible) {
  float *v = hnsw_fill();
  precis_error err;
  engine_collection_info before, after;
  cr_assert_eq(engine_collection_describe(g_e, "h", &before, &err), PRECIS_OK);
  engine_debug_fail_writes_after(g_e, 0);
  upsert_40(v, PRECIS_E_IO);
  engine_debug_fail_writes_after(g_e, -1);
  cr_assert_eq(engine_collection_describe(g_e, "h", &after, &err), PRECIS_OK);
  cr_assert_eq(after.count, before.count);
  cr_assert_eq(after.seq, before.seq);
  cr_assert_eq(after.knn_edges, before.knn_edges);
  cr_assert_eq(after.tombstones, before.tombstones + 40, "the inserted vectors stay as tombstones");
  cr_assert_eq(engine_graph_check(g_e, "h", &err), PRECIS_OK, "%s", err.msg);
  expect_40(v, false);
  upsert_40(v, PRECIS_OK); /* the same batch, now written */
  for (int round = 0; round < 2; round++) {
    cr_assert_eq(engine_collection_describe(g_e, "h", &after, &err), PRECIS_OK);
    cr_assert_eq(after.count, before.count + 40);
    expect_40(v, true);
    cr_assert_eq(engine_graph_check(g_e, "h", &err), PRECIS_OK, "%s", err.msg);
    engine_close(g_e);
    g_e = NULL;
    open_engine();
  }
  free(v);
}

Test(faults_engine, hnsw_failed_insertion_still_writes_and_repairs_the_index) {
  float *v = hnsw_fill();
  precis_error err;
  engine_collection_info before, after;
  cr_assert_eq(engine_collection_describe(g_e, "h", &before, &err), PRECIS_OK);
  engine_debug_fail_index_adds_after(
      0); /* the insertion fails: kNN from a search, then a rebuild */
  upsert_40(v, PRECIS_OK);
  engine_debug_fail_index_adds_after(-1);
  cr_assert_eq(engine_collection_describe(g_e, "h", &after, &err), PRECIS_OK);
  cr_assert_eq(after.count, before.count + 40);
  cr_assert_gt(after.knn_edges, before.knn_edges);
  cr_assert_eq(engine_graph_check(g_e, "h", &err), PRECIS_OK, "%s", err.msg);
  expect_40(v, true);
  free(v);
}
