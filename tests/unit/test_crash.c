/* test_crash.c: crash safety of the engine. A child process upserts batches
 * (with links) and reports each acknowledged batch through a pipe; the parent
 * kills it with SIGKILL at a random moment, reopens the data directory and
 * checks that every acknowledged batch is present, identical and searchable,
 * and that the batch in flight is either wholly present or wholly absent.
 * The child saves its indexes every few batches, so a kill also lands in
 * saves; the reopened graph comes from the graph snapshot plus the log
 * (index/graph/graph_snap.h) and must equal RocksDB. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "testutil.h"
#include "tu_params.h"

#define DIM    16
#define BATCH  40
#define CYCLES 6

static void vec_for(uint64_t id, float *v) {
  float *r = tu_random_vectors(1, DIM, id, 1);
  memcpy(v, r, DIM * sizeof(float));
  free(r);
}

static void child(const char *dir, int fd, uint32_t first_batch) {
  engine *e;
  precis_error err;
  engine_options o;
  engine_options_default(&o);
  o.save_every_ops = 3 * BATCH; /* a save every 3 batches */
  if (engine_open(dir, &o, &e, &err)) _exit(3);
  engine_collection_config cfg = {0};
  cfg.dim = DIM;
  snprintf(cfg.index_spec, sizeof cfg.index_spec, "HNSW16");
  engine_collection_create(e, "crash", &cfg, &err); /* exists after cycle 1 */
  uint32_t ready = 0; /* batches start at 1: 0 says "open, start the clock" */
  if (write(fd, &ready, sizeof ready) != sizeof ready) _exit(6);
  static float vecs[BATCH][DIM];
  static char text[BATCH][32];
  engine_point_in pts[BATCH];
  for (uint32_t b = first_batch;; b++) {
    for (int j = 0; j < BATCH; j++) {
      uint64_t id = (uint64_t)b * 1000 + (uint64_t)j;
      vec_for(id, vecs[j]);
      snprintf(text[j], sizeof text[j], "batch %u item %d", b, j);
      pts[j] = (engine_point_in){id, vecs[j], DIM, text[j], strlen(text[j]), "{\"b\":1}", 7, -1};
    }
    if (engine_upsert(e, "crash", pts, BATCH, &err)) _exit(4);
    if (tu_link(e, "crash", (uint64_t)b * 1000, (uint64_t)b * 1000 + 1, "next", 0.5f, true, &err))
      _exit(5);
    if (write(fd, &b, sizeof b) != sizeof b) _exit(6);
  }
}

static unsigned char acked[1 << 16]; /* batches whose child reported success */

static char opened_log[8192];
static void log_sink(void *ctx, int level, const char *msg) {
  (void)ctx;
  (void)level;
  size_t n = strlen(opened_log);
  snprintf(opened_log + n, sizeof opened_log - n, "%s\n", msg);
}

static void verify(const char *dir, uint32_t first, uint32_t acked_end, uint32_t *next) {
  engine *e;
  precis_error err;
  engine_options o;
  engine_options_default(&o);
  o.log = log_sink;
  opened_log[0] = 0;
  cr_assert_eq(engine_open(dir, &o, &e, &err), PRECIS_OK, "%s", err.msg);
  /* the last clean close (or a save of the child) left a graph snapshot */
  if (first != *next)
    cr_assert(strstr(opened_log, "collection crash: loaded graph snapshot"), "%s", opened_log);
  uint64_t ids[BATCH];
  float v[DIM];
  /* every acknowledged batch: complete, identical, searchable, linked */
  for (uint32_t b = first; b < acked_end; b++) {
    for (int j = 0; j < BATCH; j++) ids[j] = (uint64_t)b * 1000 + (uint64_t)j;
    engine_point *p;
    cr_assert_eq(engine_get(e, "crash", ids, BATCH, true, &p, &err), PRECIS_OK);
    for (int j = 0; j < BATCH; j++) {
      cr_assert(p[j].found, "acknowledged point %llu lost", (unsigned long long)ids[j]);
      vec_for(ids[j], v);
      for (int d = 0; d < DIM; d++) /* cosine stores the normalised vector */
        cr_assert_float_eq(p[j].vector[d], v[d], 1e-6, "point %llu differs",
                           (unsigned long long)ids[j]);
      cr_assert_str_eq(p[j].meta, "{\"b\":1}");
    }
    engine_points_free(p, BATCH);
    engine_hit h[1];
    size_t nh;
    vec_for(ids[7], v);
    cr_assert_eq(engine_search(e, "crash", v, DIM, 1, NULL, h, &nh, &err), PRECIS_OK);
    cr_assert_eq(h[0].id, ids[7], "point %llu not found by search", (unsigned long long)ids[7]);
    if (!acked[b]) continue; /* present from a killed child, link not promised */
    engine_edge *ed;
    size_t ne;
    cr_assert_eq(engine_edges_list(e, "crash", ids[0], ENGINE_EDGE_LINKS, "next", ENGINE_DIR_OUT,
                                   &ed, &ne, &err),
                 PRECIS_OK);
    cr_assert_eq(ne, 1, "acknowledged link of batch %u lost", b);
    free(ed);
  }
  /* batches after the last ack: all or nothing */
  uint32_t b = acked_end;
  for (;; b++) {
    for (int j = 0; j < BATCH; j++) ids[j] = (uint64_t)b * 1000 + (uint64_t)j;
    engine_point *p;
    cr_assert_eq(engine_get(e, "crash", ids, BATCH, false, &p, &err), PRECIS_OK);
    int found = 0;
    for (int j = 0; j < BATCH; j++) found += p[j].found;
    engine_points_free(p, BATCH);
    cr_assert(found == 0 || found == BATCH, "batch %u is partial: %d of %d", b, found, BATCH);
    if (!found) break;
  }
  engine_collection_info info;
  cr_assert_eq(engine_collection_describe(e, "crash", &info, &err), PRECIS_OK);
  cr_assert_eq(info.count, (uint64_t)(b - first) * BATCH, "count %llu after batches %u..%u",
               (unsigned long long)info.count, first, b - 1);
  /* one link per batch; the last batch may have died before its link */
  uint64_t promised = 0;
  for (uint32_t x = first; x < b; x++) promised += acked[x];
  cr_assert(info.links >= promised && info.links <= b - first, "links %llu for %u batches",
            (unsigned long long)info.links, b - first);
  /* the edges in memory, from the snapshot and the log, equal RocksDB's */
  cr_assert_eq(engine_graph_check(e, "crash", &err), PRECIS_OK, "%s\n%s", err.msg, opened_log);
  engine_close(e);
  *next = b;
}

Test(crash, sigkill_during_writes_loses_no_acknowledged_batch, .timeout = 240) {
  /* The parent forks a writer after it has searched (verify). libgomp's
   * thread pool does not survive fork(): a child whose parent ever ran a
   * parallel region with more than one thread may crash in its first one
   * (seen under ASan). One OpenMP thread in the parent keeps the pool empty;
   * the child inherits that setting. */
  omp_set_num_threads(1);
  char *dir = tu_tmpdir("crash");
  uint64_t rs = (uint64_t)time(NULL);
  uint32_t first = 1, next = 1;
  for (int cycle = 0; cycle < CYCLES; cycle++) {
    int fds[2];
    pid_t pid = tu_fork_child(fds);
    cr_assert(pid >= 0);
    if (pid == 0) {
      child(dir, fds[1], next);
    }
    close(fds[1]);
    /* The kill is meant to hit the writes, not engine_open: on a loaded
     * machine (or under valgrind) opening and replaying can take longer
     * than the whole random delay, leaving not even the collection. */
    uint32_t ready;
    cr_assert_eq(read(fds[0], &ready, sizeof ready), (ssize_t)sizeof ready, "child failed to open");
    cr_assert_eq(ready, 0);
    struct timespec ts = {0, (long)(50 + tu_rand(&rs) % 400) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st), "child ended on its own (status %d)", st);
    uint32_t b, acked_end = next;
    while (read(fds[0], &b, sizeof b) == sizeof b) {
      acked_end = b + 1;
      if (b < sizeof acked) acked[b] = 1;
    }
    close(fds[0]);
    verify(dir, first, acked_end, &next);
  }
  cr_assert(next > 3, "the child made too little progress to test anything");
  tu_rmrf_free(dir);
}
