/* test_upkeep.c: index upkeep (index/core/upkeep.h) and the engine's locking
 * rules: the automatic index choice with hysteresis, training at counts
 * that batches reach, periodic saves by operations and by time, the saved
 * index's spec on reopen, saves that fail, rebuilds aside with concurrent
 * writes, drop against in-flight calls, the kNN graph rebuild cut short,
 * and the bugs of issue 12 (duplicate ids counted once, exact link keys). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "tu_params.h"
#include "testutil.h"

static char *dir;
static engine *E;
static char logbuf[1 << 16];
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t save_ops, save_ms, max_index;

static void capture(void *ctx, int level, const char *msg) {
  (void)ctx;
  (void)level;
  pthread_mutex_lock(&log_mu);
  size_t n = strlen(logbuf);
  snprintf(logbuf + n, sizeof logbuf - n, "%s\n", msg);
  pthread_mutex_unlock(&log_mu);
}

static size_t log_count(const char *what) {
  size_t n = 0;
  for (const char *p = logbuf; (p = strstr(p, what)); p++) n++;
  return n;
}

static void open_engine(void) {
  engine_options o;
  engine_options_default(&o);
  o.sync_writes = 0;
  o.log = capture;
  o.save_every_ops = save_ops;
  o.save_every_ms = save_ms;
  o.max_index_bytes = max_index;
  precis_error err;
  cr_assert_eq(engine_open(dir, &o, &E, &err), PRECIS_OK, "engine_open: %s", err.msg);
}

static void setup(void) {
  dir = tu_tmpdir("upkeep");
  logbuf[0] = 0;
  save_ops = 0;
  save_ms = 0;
  max_index = 0;
  open_engine();
}
static void teardown(void) {
  engine_close(E);
  tu_rmrf_free(dir);
}
static void reopen(void) {
  engine_close(E);
  logbuf[0] = 0;
  open_engine();
}
TestSuite(upkeep, .init = setup, .fini = teardown, .timeout = 240);

static void create(const char *name, uint32_t dim, const char *spec) {
  engine_collection_config c = {0};
  c.dim = dim;
  if (spec) snprintf(c.index_spec, sizeof c.index_spec, "%s", spec);
  precis_error err;
  cr_assert_eq(engine_collection_create(E, name, &c, &err), PRECIS_OK, "%s", err.msg);
}

/* ids first..first+n-1 with the vectors v (n x dim), in batches. */
static void put(const char *coll, const float *v, uint32_t dim, uint64_t first, size_t n,
                size_t batch) {
  engine_point_in *p = calloc(batch, sizeof *p);
  for (size_t s = 0; s < n; s += batch) {
    size_t m = n - s < batch ? n - s : batch;
    for (size_t i = 0; i < m; i++)
      p[i] = (engine_point_in){first + s + i, v + (s + i) * dim, dim, NULL, 0, NULL, 0, 1};
    precis_error err;
    cr_assert_eq(engine_upsert(E, coll, p, m, &err), PRECIS_OK, "%s", err.msg);
  }
  free(p);
}

static void del_range(const char *coll, uint64_t first, size_t n) {
  uint64_t *ids = malloc(n * sizeof *ids);
  for (size_t i = 0; i < n; i++) ids[i] = first + i;
  precis_error err;
  for (size_t s = 0; s < n; s += 1000) {
    size_t m = n - s < 1000 ? n - s : 1000;
    cr_assert_eq(engine_delete(E, coll, ids + s, m, NULL, &err), PRECIS_OK, "%s", err.msg);
  }
  free(ids);
}

static engine_collection_info describe(const char *coll) {
  engine_collection_info info;
  precis_error err;
  cr_assert_eq(engine_collection_describe(E, coll, &info, &err), PRECIS_OK, "%s", err.msg);
  return info;
}

/* ---- automatic index choice ---- */

/* Past 10,000 points the index turns HNSW; it turns Flat again only below
 * 8,000, so a collection hovering near the switch rebuilds once. */
Test(upkeep, auto_index_switches_with_hysteresis) {
  const uint32_t dim = 4;
  create("a", dim, NULL);
  float *v = tu_random_vectors(10100, dim, 1, 1);
  put("a", v, dim, 0, 9990, 1000);
  cr_assert_str_eq(describe("a").config.index_spec, "auto:Flat");
  put("a", v + 9990 * dim, dim, 9990, 20, 20); /* 10,010 */
  cr_assert_str_eq(describe("a").config.index_spec, "auto:HNSW32");
  size_t rebuilds = log_count("rebuilding");
  cr_assert_eq(rebuilds, 1, "log: %s", logbuf);
  /* hover around the switch */
  for (int round = 0; round < 5; round++) {
    del_range("a", 9980, 30);                    /* 9,980 */
    put("a", v + 9980 * dim, dim, 9980, 30, 30); /* 10,010 */
  }
  cr_assert_str_eq(describe("a").config.index_spec, "auto:HNSW32");
  cr_assert_eq(log_count("rebuilding"), rebuilds, "hovering rebuilt: %s", logbuf);
  /* well below: Flat again */
  del_range("a", 7000, 3010); /* 7,000 */
  cr_assert_str_eq(describe("a").config.index_spec, "auto:Flat");
  cr_assert_eq(describe("a").count, 7000);
  engine_hit h[1];
  size_t nh;
  precis_error err;
  cr_assert_eq(engine_search(E, "a", v + 123 * dim, dim, 1, NULL, h, &nh, &err), PRECIS_OK, "%s",
               err.msg);
  cr_assert_eq(h[0].id, 123);
  free(v);
}

/* The spec after reopen is the one of the index loaded, not one guessed
 * from the slot count: a Flat index with more than 10,000 slots (many of
 * them tombstones) but fewer live points stays Flat, and the next write
 * does not rebuild it. */
Test(upkeep, reopen_keeps_the_spec_of_the_loaded_index) {
  const uint32_t dim = 4;
  create("s", dim, NULL);
  float *v = tu_random_vectors(9000, dim, 2, 1);
  put("s", v, dim, 0, 9000, 1000);
  put("s", v, dim, 0, 1500, 500); /* overwrites: 10,500 slots, 9,000 points */
  engine_collection_info before = describe("s");
  cr_assert_eq(before.ann_total, 10500);
  cr_assert_str_eq(before.config.index_spec, "auto:Flat");
  reopen();
  engine_collection_info after = describe("s");
  cr_assert_str_eq(after.config.index_spec, "auto:Flat", "log: %s", logbuf);
  cr_assert_eq(after.ann_total, 10500);
  cr_assert(strstr(logbuf, "loaded saved index"), "log: %s", logbuf);
  put("s", v + 8999 * dim, dim, 20000, 1, 1);
  cr_assert_eq(describe("s").ann_total, 10501, "a needless rebuild ran: %s", logbuf);
  cr_assert_eq(log_count("rebuilding"), 0, "log: %s", logbuf);
  free(v);
}

/* An index that needs training builds at the first batch past 256 points,
 * and, when that is too few, at each doubling reached (batches of 1,000
 * never hit an exact power of two). */
Test(upkeep, ivf_trains_at_counts_batches_reach) {
  const uint32_t dim = 8;
  create("i", dim, "IVF16,Flat");
  create("j", dim, "IVF1200,Flat");
  float *v = tu_random_vectors(3000, dim, 3, 1);
  put("i", v, dim, 0, 1000, 1000);
  cr_assert_eq(describe("i").ann_total, 1000, "IVF16 not trained after 1,000 points");
  put("i", v + 1000 * dim, dim, 1000, 1000, 1000);
  cr_assert_eq(describe("i").ann_total, 2000);
  put("j", v, dim, 0, 1000, 1000); /* 1,000 < 1,200 centroids: cannot train */
  cr_assert_eq(describe("j").ann_total, 0);
  put("j", v + 1000 * dim, dim, 1000, 1000, 1000); /* 2,000: trains */
  engine_collection_info j = describe("j");
  cr_assert_eq(j.ann_total, 2000, "IVF1200 not trained at 2,000 points: %s", logbuf);
  cr_assert_eq(j.count, 2000);
  engine_hit h[1];
  size_t nh;
  precis_error err;
  engine_search_params sp = {false, 0, 1200};
  cr_assert_eq(engine_search(E, "j", v + 1500 * dim, dim, 1, &sp, h, &nh, &err), PRECIS_OK, "%s",
               err.msg);
  cr_assert_eq(h[0].id, 1500);
  free(v);
}

/* ---- periodic saves ---- */

Test(upkeep, saves_by_operation_count) {
  engine_close(E);
  save_ops = 500;
  open_engine();
  const uint32_t dim = 4;
  create("o", dim, "Flat");
  float *v = tu_random_vectors(1200, dim, 4, 1);
  put("o", v, dim, 0, 400, 100);
  cr_assert_eq(describe("o").index_seq, 0, "saved before 500 changes");
  put("o", v + 400 * dim, dim, 400, 200, 100); /* 500 changes at seq 5, then seq 6 */
  engine_collection_info i = describe("o");
  cr_assert_eq(i.index_seq, 5, "index_seq %llu", (unsigned long long)i.index_seq);
  cr_assert_eq(i.seq, 6);
  put("o", v + 600 * dim, dim, 600, 600, 100); /* 500 more at seq 10 */
  cr_assert_eq(describe("o").index_seq, 10);
  free(v);
}

Test(upkeep, saves_by_time) {
  engine_close(E);
  save_ms = 1;
  open_engine();
  const uint32_t dim = 4;
  create("t", dim, "Flat");
  float *v = tu_random_vectors(20, dim, 5, 1);
  put("t", v, dim, 0, 10, 10);
  usleep(20000);
  put("t", v + 10 * dim, dim, 10, 10, 10);
  engine_collection_info i = describe("t");
  cr_assert_eq(i.index_seq, i.seq, "index_seq %llu, seq %llu", (unsigned long long)i.index_seq,
               (unsigned long long)i.seq);
  free(v);
}

/* A save that fails leaves index_seq (and the dirty state) as they were. */
Test(upkeep, failed_save_changes_no_state) {
  const uint32_t dim = 4;
  create("f", dim, "Flat");
  float *v = tu_random_vectors(40, dim, 6, 1);
  put("f", v, dim, 0, 20, 10);
  precis_error err;
  cr_assert_eq(engine_save_indexes(E, &err), PRECIS_OK, "%s", err.msg);
  uint64_t saved = describe("f").index_seq;
  cr_assert_eq(saved, 2);
  put("f", v + 20 * dim, dim, 20, 20, 10);
  /* the index directory becomes a file: every save fails */
  char ann[4200], moved[4300];
  snprintf(ann, sizeof ann, "%s/ann", dir);
  snprintf(moved, sizeof moved, "%s/ann.away", dir);
  cr_assert_eq(rename(ann, moved), 0);
  FILE *f = fopen(ann, "w");
  cr_assert(f);
  fclose(f);
  cr_assert_neq(engine_save_indexes(E, &err), PRECIS_OK);
  engine_collection_info i = describe("f");
  cr_assert_eq(i.index_seq, saved, "index_seq moved to %llu on a failed save",
               (unsigned long long)i.index_seq);
  cr_assert_eq(i.seq, 4);
  unlink(ann);
  cr_assert_eq(rename(moved, ann), 0);
  cr_assert_eq(engine_save_indexes(E, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(describe("f").index_seq, 4, "the collection forgot it was dirty");
  free(v);
}

/* ---- concurrency ---- */

typedef struct {
  const char *coll;
  const float *v;
  uint32_t dim;
  uint64_t first;
  size_t n;
  atomic_int *stop;
  long ok, notfound, other; /* owned by the worker's thread until joined */
} worker;

static void *writer_run(void *arg) {
  worker *w = arg;
  for (size_t s = 0; s < w->n; s += 50) {
    engine_point_in p[50];
    size_t m = w->n - s < 50 ? w->n - s : 50;
    for (size_t i = 0; i < m; i++)
      p[i] =
          (engine_point_in){w->first + s + i, w->v + (s + i) * w->dim, w->dim, NULL, 0, NULL, 0, 1};
    precis_error err;
    int rc = engine_upsert(E, w->coll, p, m, &err);
    if (rc == PRECIS_OK)
      w->ok++;
    else if (rc == PRECIS_E_NOT_FOUND)
      w->notfound++;
    else
      w->other++;
  }
  return NULL;
}

/* Writes made while an index is rebuilt aside are replayed into it: a
 * writer crossing the HNSW switch rebuilds while another keeps writing, and
 * every point of both is found afterwards. */
Test(upkeep, writes_during_a_rebuild_aside_are_kept) {
  const uint32_t dim = 8;
  create("r", dim, NULL);
  float *v = tu_random_vectors(14000, dim, 7, 1);
  put("r", v, dim, 0, 9000, 1000);
  worker a = {"r", v + 9000 * dim, dim, 9000, 2000, NULL, 0, 0, 0};
  worker b = {"r", v + 11000 * dim, dim, 11000, 3000, NULL, 0, 0, 0};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, writer_run, &a);
  pthread_create(&tb, NULL, writer_run, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  cr_assert_eq(a.other + b.other + a.notfound + b.notfound, 0);
  engine_collection_info i = describe("r");
  cr_assert_eq(i.count, 14000);
  cr_assert_str_eq(i.config.index_spec, "auto:HNSW32");
  cr_assert_eq(i.ann_total - i.tombstones, 14000);
  precis_error err;
  size_t missing = 0;
  for (uint64_t id = 0; id < 14000; id += 7) {
    engine_hit h[1];
    size_t nh;
    engine_search_params sp = {true, 0, 0};
    cr_assert_eq(engine_search(E, "r", v + id * dim, dim, 1, &sp, h, &nh, &err), PRECIS_OK, "%s",
                 err.msg);
    if (nh != 1 || h[0].id != id) missing++;
  }
  cr_assert_eq(missing, 0, "%zu points missing from the index", missing);
  reopen();
  cr_assert_eq(describe("r").count, 14000);
  free(v);
}

static void *reader_run(void *arg) {
  worker *w = arg;
  while (!atomic_load(w->stop)) {
    engine_hit h[5];
    size_t nh;
    precis_error err;
    int rc = engine_search(E, w->coll, w->v, w->dim, 5, NULL, h, &nh, &err);
    if (rc == PRECIS_OK)
      w->ok++;
    else if (rc == PRECIS_E_NOT_FOUND)
      w->notfound++;
    else
      w->other++;
    engine_collection_info info;
    rc = engine_collection_describe(E, w->coll, &info, &err);
    if (rc != PRECIS_OK && rc != PRECIS_E_NOT_FOUND) w->other++;
  }
  return NULL;
}

/* A drop waits for the calls using the collection; calls after it get
 * NOT_FOUND; creates and drops go on while readers hammer the registry. */
Test(upkeep, drop_is_safe_against_in_flight_calls) {
  const uint32_t dim = 8;
  float *v = tu_random_vectors(3000, dim, 8, 1);
  atomic_int stop = 0;
  for (int round = 0; round < 4; round++) {
    create("d", dim, NULL);
    put("d", v, dim, 0, 2000, 500);
    worker r[3], w = {"d", v + 2000 * dim, dim, 2000, 1000, &stop, 0, 0, 0};
    pthread_t tr[3], tw;
    for (int i = 0; i < 3; i++) {
      r[i] = (worker){"d", v, dim, 0, 0, &stop, 0, 0, 0};
      pthread_create(&tr[i], NULL, reader_run, &r[i]);
    }
    pthread_create(&tw, NULL, writer_run, &w);
    create("other", dim, NULL); /* the registry's writers are not starved */
    precis_error err;
    cr_assert_eq(engine_collection_drop(E, "other", &err), PRECIS_OK, "%s", err.msg);
    usleep(10000);
    cr_assert_eq(engine_collection_drop(E, "d", &err), PRECIS_OK, "%s", err.msg);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(tr[i], NULL);
    pthread_join(tw, NULL);
    atomic_store(&stop, 0);
    for (int i = 0; i < 3; i++) cr_assert_eq(r[i].other, 0);
    cr_assert_eq(w.other, 0);
    engine_hit h[1];
    size_t nh;
    cr_assert_eq(engine_search(E, "d", v, dim, 1, NULL, h, &nh, &err), PRECIS_E_NOT_FOUND);
  }
  engine_collection_info *list;
  size_t n;
  precis_error err;
  cr_assert_eq(engine_collection_list(E, &list, &n, &err), PRECIS_OK);
  cr_assert_eq(n, 0);
  free(list);
  reopen();
  cr_assert_eq(engine_collection_list(E, &list, &n, &err), PRECIS_OK);
  cr_assert_eq(n, 0);
  free(list);
  free(v);
}

/* ---- graph ---- */

static uint64_t knn_out(const char *coll, uint64_t id) {
  engine_edge *e;
  size_t n;
  precis_error err;
  cr_assert_eq(engine_edges_list(E, coll, id, ENGINE_EDGE_KNN, NULL, ENGINE_DIR_OUT, &e, &n, &err),
               PRECIS_OK, "%s", err.msg);
  free(e);
  return n;
}

/* A kNN graph rebuild whose writes start failing midway leaves every point
 * with a whole kNN list (old or new) and the edge counter equal to the
 * edges stored, in memory and after reopen. */
Test(upkeep, graph_rebuild_cut_short_leaves_a_whole_graph) {
  const uint32_t dim = 8, n = 3000;
  engine_collection_config c = {0};
  c.dim = dim;
  c.knn_k = 16;
  snprintf(c.index_spec, sizeof c.index_spec, "Flat");
  precis_error err;
  cr_assert_eq(engine_collection_create(E, "g", &c, &err), PRECIS_OK, "%s", err.msg);
  float *v = tu_random_vectors(n, dim, 9, 1);
  put("g", v, dim, 0, n, 500);
  uint64_t before = describe("g").knn_edges;
  cr_assert_eq(before, (uint64_t)n * 16);
  engine_debug_fail_writes_after(E, 1);
  cr_assert_neq(engine_graph_rebuild(E, "g", &err), PRECIS_OK);
  engine_debug_fail_writes_after(E, -1);
  cr_assert_eq(engine_graph_check(E, "g", &err), PRECIS_OK, "%s", err.msg);
  for (int pass = 0; pass < 2; pass++) {
    uint64_t sum = 0;
    for (uint64_t id = 0; id < n; id++) {
      uint64_t k = knn_out("g", id);
      cr_assert_eq(k, 16, "point %llu has %llu kNN edges (pass %d)", (unsigned long long)id,
                   (unsigned long long)k, pass);
      sum += k;
    }
    cr_assert_eq(describe("g").knn_edges, sum, "counter %llu, edges %llu",
                 (unsigned long long)describe("g").knn_edges, (unsigned long long)sum);
    reopen();
  }
  cr_assert_eq(engine_graph_rebuild(E, "g", &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(describe("g").knn_edges, (uint64_t)n * 16);
  free(v);
}

/* ---- bugs of issue 12 ---- */

Test(upkeep, upserted_counts_distinct_ids) {
  create("u", 2, "Flat");
  float v[2] = {1, 0};
  engine_point_in p[4] = {{1, v, 2, NULL, 0, NULL, 0, 1},
                          {2, v, 2, NULL, 0, NULL, 0, 1},
                          {1, v, 2, NULL, 0, NULL, 0, 1},
                          {1, v, 2, NULL, 0, NULL, 0, 1}};
  size_t up = 99;
  precis_error err;
  cr_assert_eq(engine_upsert_counted(E, "u", p, 4, 0, &up, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(up, 2);
  cr_assert_eq(describe("u").count, 2);
}

/* Two different links whose old 64-bit de-duplication hashes collide
 * (src * phi ^ dst equal, same kind) both count. */
Test(upkeep, links_in_one_batch_deduplicate_on_exact_keys) {
  const uint64_t phi = 0x9e3779b97f4a7c15ULL;
  const uint64_t x = 3, y = (1 * phi ^ x) ^ (2 * phi);
  create("l", 2, "Flat");
  float v[2] = {1, 0};
  engine_point_in p[4] = {{1, v, 2, NULL, 0, NULL, 0, 1},
                          {2, v, 2, NULL, 0, NULL, 0, 1},
                          {x, v, 2, NULL, 0, NULL, 0, 1},
                          {y, v, 2, NULL, 0, NULL, 0, 1}};
  precis_error err;
  cr_assert_eq(engine_upsert(E, "l", p, 4, &err), PRECIS_OK, "%s", err.msg);
  engine_edge links[3] = {{1, x, "rel", 0.5f}, {2, y, "rel", 0.5f}, {1, x, "rel", 0.7f}};
  size_t changed = 0;
  cr_assert_eq(engine_links_change(E, "l", links, 3, true, &changed, &err), PRECIS_OK, "%s",
               err.msg);
  cr_assert_eq(changed, 2);
  cr_assert_eq(describe("l").links, 2);
  cr_assert_eq(engine_graph_check(E, "l", &err), PRECIS_OK, "%s", err.msg);
  /* single links (tu_link) go through the same function */
  cr_assert_eq(tu_link(E, "l", 2, y, "rel", 1.0f, false, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(tu_link(E, "l", 2, y, "rel", 1.0f, false, &err), PRECIS_E_NOT_FOUND);
  cr_assert_eq(tu_link(E, "l", 2, 99, "rel", 0.5f, true, &err), PRECIS_E_NOT_FOUND);
  cr_assert_eq(describe("l").links, 1);
  reopen();
  cr_assert_eq(describe("l").links, 1);
}

/* Issue 12, item 5: when the index cannot take the vectors of a durable
 * write and the fallback rebuild fails too, the index is dropped: `count`
 * and the live map agree, every point (old and new) is still found by an
 * exact scan of the store, and the next write rebuilds the index. */
Test(upkeep, failed_fallback_rebuild_drops_the_index_and_keeps_every_point) {
  const uint32_t dim = 8;
  create("f", dim, "Flat");
  float *v = tu_random_vectors(40, dim, 21, 1);
  put("f", v, dim, 0, 20, 20);
  cr_assert_eq(describe("f").ann_total, 20);
  engine_debug_fail_index_adds_after(0);   /* the insertion and the rebuild fail */
  put("f", v + 20 * dim, dim, 20, 10, 10); /* durable: the upsert succeeds */
  engine_debug_fail_index_adds_after(-1);
  engine_collection_info in = describe("f");
  cr_assert_eq(in.count, 30);
  cr_assert_eq(in.ann_total, 0, "the out-of-step index was dropped");
  cr_assert_gt(log_count("failed"), 0, "the failure is logged");
  for (int pass = 0; pass < 3; pass++) {
    /* pass 0: no index (store scan); 1: after the next write rebuilt it;
     * 2: after reopen */
    if (pass == 1) put("f", v + 30 * dim, dim, 30, 1, 1);
    if (pass == 2) reopen();
    uint64_t n = pass == 0 ? 30 : 31;
    cr_assert_eq(describe("f").count, n);
    if (pass > 0) cr_assert_eq(describe("f").ann_total, n, "pass %d: index rebuilt", pass);
    for (uint64_t id = 0; id < n; id++) {
      engine_hit h[1];
      size_t nh = 0;
      precis_error err;
      cr_assert_eq(engine_search(E, "f", v + id * dim, dim, 1, NULL, h, &nh, &err), PRECIS_OK, "%s",
                   err.msg);
      cr_assert_eq(nh, 1);
      cr_assert_eq(h[0].id, id, "pass %d: point %llu not found by its own vector", pass,
                   (unsigned long long)id);
    }
  }
  free(v);
}

/* The index memory budget applies to an index loaded from disk as to a new
 * one: reopened under a budget its 1,000 vectors already exceed, the
 * collection refuses writes that would grow it (and says so in the log),
 * still answers searches, and takes writes again once the budget allows. */
Test(upkeep, index_budget_applies_to_a_loaded_index) {
  const uint32_t dim = 8;
  create("b", dim, "Flat");
  float *v = tu_random_vectors(1001, dim, 5, 1);
  put("b", v, dim, 0, 1000, 500);
  max_index = 500 * dim * sizeof(float); /* room for about 500 Flat vectors */
  reopen();
  cr_assert_eq(describe("b").ann_total, 1000, "the saved index was loaded");
  cr_assert_gt(log_count("over the index memory budget"), 0);
  engine_point_in p = {1000, v + 1000 * dim, dim, NULL, 0, NULL, 0, 1};
  precis_error err;
  cr_assert_eq(engine_upsert(E, "b", &p, 1, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert(strstr(err.msg, "budget"), "%s", err.msg);
  engine_hit h[1];
  size_t nh = 0;
  cr_assert_eq(engine_search(E, "b", v + 7 * dim, dim, 1, NULL, h, &nh, &err), PRECIS_OK, "%s",
               err.msg);
  cr_assert_eq(nh, 1);
  cr_assert_eq(h[0].id, 7);
  max_index = 0;
  reopen();
  cr_assert_eq(engine_upsert(E, "b", &p, 1, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(describe("b").count, 1001);
  free(v);
}
