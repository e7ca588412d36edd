/* test_crash_pidx.c: crash consistency of payload indexes. A child upserts
 * batches (some moving an earlier point to another keyword, some deleting
 * one, some moving one by set_payload, some deleting one by filter), with
 * payload indexes declared up front and one more declared on the
 * live collection in a later cycle (so that kills also hit its background
 * build); the parent kills it with SIGKILL at a random moment, reopens, lets
 * unfinished builds complete, and checks that what the indexes answer is
 * exactly what the stored metadata says: for every keyword value and ranges
 * of the integer field, the exact filtered top-1000 through the index
 * (reported as indexed) equals the one evaluated on the metadata, and every
 * acknowledged batch is found through the integer index. */
#include <criterion/criterion.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "filtergen.h"
#include "testutil.h"

#define DIM    8
#define BATCH  40
#define CYCLES 5
#define NG     29 /* keyword values g0..g28, and "moved" */

static void child(const char *dir, int fd, uint32_t first_batch, int cycle) {
  engine *e;
  precis_error err;
  if (engine_open(dir, NULL, &e, &err)) _exit(3);
  engine_collection_config cfg = {0};
  cfg.dim = DIM;
  snprintf(cfg.index_spec, sizeof cfg.index_spec, "HNSW16");
  engine_collection_create(e, "c", &cfg, &err);                          /* exists after cycle 0 */
  engine_payload_index_create(e, "c", "g", ENGINE_PINDEX_KEYWORD, &err); /* idem */
  engine_payload_index_create(e, "c", "b", ENGINE_PINDEX_INTEGER, &err);
  if (cycle >= 2) engine_payload_index_create(e, "c", "h", ENGINE_PINDEX_KEYWORD, &err);
  uint32_t ready = 0;
  if (write(fd, &ready, sizeof ready) != sizeof ready) _exit(6);
  float *vecs = tu_random_vectors(BATCH + 1, DIM, first_batch, 1);
  static char meta[BATCH + 1][96];
  engine_point_in pts[BATCH + 1];
  for (uint32_t b = first_batch;; b++) {
    size_t n = 0;
    for (int j = 0; j < BATCH; j++, n++) {
      snprintf(meta[n], sizeof meta[n], "{\"b\":%u,\"g\":\"g%u\",\"h\":\"h%d\"}", b, b % NG, j % 3);
      pts[n] = (engine_point_in){(uint64_t)b * 1000 + (uint64_t)j,
                                 vecs + (size_t)j * DIM,
                                 DIM,
                                 NULL,
                                 0,
                                 meta[n],
                                 strlen(meta[n]),
                                 1};
    }
    if (b % 3 == 0 && b > first_batch) { /* move a point of the previous batch */
      snprintf(meta[n], sizeof meta[n], "{\"b\":%u,\"g\":\"moved\"}", b - 1);
      pts[n] = (engine_point_in){(uint64_t)(b - 1) * 1000 + 38,
                                 vecs + (size_t)BATCH * DIM,
                                 DIM,
                                 NULL,
                                 0,
                                 meta[n],
                                 strlen(meta[n]),
                                 1};
      n++;
    }
    if (engine_upsert(e, "c", pts, n, &err)) _exit(4);
    if (b % 4 == 0 && b > first_batch) {
      uint64_t id = (uint64_t)(b - 1) * 1000 + 39;
      if (engine_delete(e, "c", &id, 1, NULL, &err)) _exit(5);
    }
    if (b % 5 == 0 && b > first_batch) { /* metadata only: to "moved" */
      uint64_t id = (uint64_t)(b - 1) * 1000 + 37;
      const char *patch = "{\"g\":\"moved\",\"h\":\"h9\"}";
      if (engine_set_payload(e, "c", &id, 1, patch, strlen(patch), true, NULL, &err)) _exit(7);
    }
    if (b % 7 == 0 && b > first_batch) { /* by filter: b - 1 and g of point 36 */
      char kw[16];
      snprintf(kw, sizeof kw, "g%u", (b - 1) % NG);
      engine_filter_cond dc[3] = {
          {.kind = ENGINE_FILTER_MATCH, .key = "b", .vtype = ENGINE_FVAL_INTEGER, .integer = b - 1},
          {.kind = ENGINE_FILTER_MATCH, .key = "g", .vtype = ENGINE_FVAL_KEYWORD, .keyword = kw},
          {.kind = ENGINE_FILTER_MATCH, .key = "h", .vtype = ENGINE_FVAL_KEYWORD, .keyword = "h0"}};
      engine_filter_group g = {dc, NULL, NULL, 3, 0, 0};
      engine_filter *f;
      uint64_t gone;
      if (engine_filter_compile(&g, 1, &f, &err)) _exit(8);
      if (engine_delete_filtered(e, "c", f, &gone, &err)) _exit(8);
      engine_filter_destroy(f);
    }
    if (write(fd, &b, sizeof b) != sizeof b) _exit(6);
  }
}

static void wait_ready(engine *e) {
  cr_assert(fg_wait_indexes_ready(e, "c"), "payload indexes not ready after reopen");
}

/* exact top-1000 for condition c, through the indexes (direct) and through
 * the metadata (the same condition nested one group down) */
static void same_answer(engine *e, const engine_filter_cond *c, const float *q, bool indexed) {
  engine_filter_cond nest = {.kind = ENGINE_FILTER_GROUP, .group = 1};
  engine_filter_group gi = {c, NULL, NULL, 1, 0, 0};
  engine_filter_group gm[2] = {{&nest, NULL, NULL, 1, 0, 0}, {c, NULL, NULL, 1, 0, 0}};
  engine_filter *fi, *fm;
  precis_error err;
  cr_assert_eq(engine_filter_compile(&gi, 1, &fi, &err), PRECIS_OK);
  cr_assert_eq(engine_filter_compile(gm, 2, &fm, &err), PRECIS_OK);
  static engine_hit hi[1000], hm[1000];
  size_t ni, nm;
  engine_filter_report ri, rm;
  engine_search_params sp = {.exact = true};
  cr_assert_eq(engine_search_filtered(e, "c", q, DIM, 1000, &sp, fi, hi, &ni, &ri, &err), PRECIS_OK,
               "%s", err.msg);
  cr_assert_eq(engine_search_filtered(e, "c", q, DIM, 1000, &sp, fm, hm, &nm, &rm, &err), PRECIS_OK,
               "%s", err.msg);
  cr_assert(rm.unindexed);
  if (indexed) cr_assert(!ri.unindexed, "key %s: not answered by its index", c->key);
  cr_assert_eq(ni, nm, "key %s: index finds %zu points, metadata %zu", c->key, ni, nm);
  for (size_t i = 0; i < ni; i++) cr_assert_eq(hi[i].id, hm[i].id, "key %s rank %zu", c->key, i);
  engine_filter_destroy(fi);
  engine_filter_destroy(fm);
}

static void verify(const char *dir, uint32_t acked_end, uint32_t first, bool have_h) {
  engine *e;
  precis_error err;
  cr_assert_eq(engine_open(dir, NULL, &e, &err), PRECIS_OK, "%s", err.msg);
  wait_ready(e);
  float q[DIM] = {1, 0.5f, 0, 0, 0, 0, 0, 0.25f};
  char kw[16];
  engine_filter_cond c = {
      .kind = ENGINE_FILTER_MATCH, .key = "g", .vtype = ENGINE_FVAL_KEYWORD, .keyword = kw};
  for (int g = 0; g <= NG; g++) {
    if (g == NG)
      snprintf(kw, sizeof kw, "moved");
    else
      snprintf(kw, sizeof kw, "g%d", g);
    same_answer(e, &c, q, true);
  }
  c.key = "h";
  for (int h = 0; h < 3; h++) {
    snprintf(kw, sizeof kw, "h%d", h);
    same_answer(e, &c, q, have_h);
  }
  /* every acknowledged batch, through the integer index */
  engine_filter_cond m = {.kind = ENGINE_FILTER_MATCH, .key = "b", .vtype = ENGINE_FVAL_INTEGER};
  for (uint32_t b = first; b < acked_end; b++) {
    m.integer = b;
    engine_filter_group g = {&m, NULL, NULL, 1, 0, 0};
    engine_filter *f;
    cr_assert_eq(engine_filter_compile(&g, 1, &f, &err), PRECIS_OK);
    static engine_hit h[100];
    size_t nh;
    engine_filter_report r;
    cr_assert_eq(engine_search_filtered(e, "c", q, DIM, 100, NULL, f, h, &nh, &r, &err), PRECIS_OK);
    cr_assert(!r.unindexed);
    /* at most 39 deleted, and the h0 points (j % 3 == 0) by filter */
    size_t lo = b % 7 == 6 ? BATCH - 1 - (BATCH + 2) / 3 : BATCH - 1;
    cr_assert(nh >= lo && nh <= BATCH, "batch %u: %zu points through the index", b, nh);
    for (size_t i = 0; i < nh; i++) cr_assert_eq(h[i].id / 1000, b);
    engine_filter_destroy(f);
    if (b % 5 == 0) same_answer(e, &m, q, true);
  }
  engine_close(e);
}

Test(crash_pidx, sigkill_keeps_payload_indexes_consistent, .timeout = 300) {
  omp_set_num_threads(1); /* see test_crash.c: libgomp and fork */
  char *dir = tu_tmpdir("crashpidx");
  uint64_t rs = (uint64_t)time(NULL);
  uint32_t next = 1;
  for (int cycle = 0; cycle < CYCLES; cycle++) {
    int fds[2];
    pid_t pid = tu_fork_child(fds);
    cr_assert(pid >= 0);
    if (pid == 0) {
      child(dir, fds[1], next, cycle);
    }
    close(fds[1]);
    uint32_t ready;
    cr_assert_eq(read(fds[0], &ready, sizeof ready), (ssize_t)sizeof ready, "child failed to open");
    struct timespec ts = {0, (long)(50 + tu_rand(&rs) % 300) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st), "child ended on its own (status %d)", st);
    uint32_t b, acked_end = next;
    while (read(fds[0], &b, sizeof b) == sizeof b) acked_end = b + 1;
    close(fds[0]);
    verify(dir, acked_end, next, cycle >= 2);
    next = acked_end + 1; /* a batch in flight may have landed: start past it */
  }
  cr_assert(next > 3, "the child made too little progress to test anything");
  tu_rmrf_free(dir);
}
