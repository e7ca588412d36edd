/* test_graph_snap.c: the graph snapshot (index/graph/graph_snap.h). After
 * every reopen the in-memory graph equals RocksDB (engine_graph_check), and
 * the engine's log says whether it came from the snapshot (with how many
 * points replayed) or, naming the reason, from a full load: clean close;
 * writes after the last save with no save at exit; a corrupt byte; a
 * truncated file; a wrong version; another collection's snapshot; a
 * snapshot older than the log or newer than the data; a backup restored. */
#include <criterion/criterion.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "graph_mem.h"
#include "testutil.h"
#include "tu_params.h"

#define DIM 8

static char *dir;
static engine *E;
static char logbuf[1 << 16];
static size_t loglen;

static void sink(void *ctx, int level, const char *msg) {
  (void)ctx;
  (void)level;
  int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s\n", msg);
  if (n > 0 && (size_t)n < sizeof logbuf - loglen) loglen += (size_t)n;
}

static void open_at(const char *d) {
  engine_options o;
  engine_options_default(&o);
  o.log = sink;
  loglen = 0;
  logbuf[0] = 0;
  precis_error err;
  cr_assert_eq(engine_open(d, &o, &E, &err), PRECIS_OK, "%s", err.msg);
}

static void close_engine(void) { /* a failed assertion's teardown closes nothing twice */
  engine_close(E);
  E = NULL;
}

static void setup(void) {
  omp_set_num_threads(1); /* a forked child runs OpenMP regions (test_crash.c) */
  dir = tu_tmpdir("gsnap");
  open_at(dir);
}
static void teardown(void) {
  close_engine();
  tu_rmrf_free(dir);
}
TestSuite(gsnap, .init = setup, .fini = teardown);

static void reopen(void) {
  close_engine();
  open_at(dir);
}

static void mkcoll(const char *name) {
  engine_collection_config c = {0};
  c.dim = DIM;
  c.knn_k = 6;
  snprintf(c.index_spec, sizeof c.index_spec, "Flat");
  precis_error err;
  cr_assert_eq(engine_collection_create(E, name, &c, &err), PRECIS_OK, "%s", err.msg);
}

static void put(const char *coll, uint64_t first, size_t n, uint64_t seed) {
  float *v = tu_random_vectors(n, DIM, seed, 1);
  engine_point_in *p = calloc(n, sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = (engine_point_in){first + i, v + i * DIM, DIM, "text", 4, NULL, 0, -1};
  precis_error err;
  for (size_t s = 0; s < n; s += 25)
    cr_assert_eq(engine_upsert(E, coll, p + s, n - s < 25 ? n - s : 25, &err), PRECIS_OK, "%s",
                 err.msg);
  free(p);
  free(v);
}

static void add_link(const char *coll, uint64_t a, uint64_t b, const char *kind, bool add) {
  precis_error err;
  cr_assert_eq(tu_link(E, coll, a, b, kind, 0.5f, add, &err), PRECIS_OK, "%s", err.msg);
}

static void graph_equal(const char *coll, const char *when) {
  precis_error err;
  cr_assert_eq(engine_graph_check(E, coll, &err), PRECIS_OK, "%s: %s", when, err.msg);
}

static void log_has(const char *s) {
  cr_assert(strstr(logbuf, s), "log lacks \"%s\":\n%s", s, logbuf);
}

static void snap_path(uint32_t cid, char *p, size_t n) {
  snprintf(p, n, "%s/ann/%u.graph", dir, cid);
}

static size_t file_size(const char *p) {
  struct stat sb;
  cr_assert_eq(stat(p, &sb), 0, "%s missing", p);
  return (size_t)sb.st_size;
}

static void copy_file(const char *from, const char *to) {
  FILE *f = fopen(from, "rb");
  cr_assert(f, "%s", from);
  size_t n = file_size(from);
  char *b = malloc(n);
  cr_assert_eq(fread(b, 1, n, f), n);
  fclose(f);
  f = fopen(to, "wb");
  cr_assert(f, "%s", to);
  cr_assert_eq(fwrite(b, 1, n, f), n);
  fclose(f);
  free(b);
}

/* A collection with kNN edges and two kinds of links. */
static void populate(const char *coll) {
  mkcoll(coll);
  put(coll, 1, 150, 11);
  for (uint64_t i = 1; i <= 20; i++) add_link(coll, i, i + 50, i % 2 ? "is_a" : "part_of", true);
}

Test(gsnap, clean_close_loads_the_snapshot) {
  populate("g");
  graph_equal("g", "before close");
  reopen();
  log_has("collection g: loaded graph snapshot (seq ");
  log_has("reloaded the edges of 0 points");
  graph_equal("g", "after reopen");
  /* the copy is live: writes after a snapshot load keep it equal */
  put("g", 140, 20, 12);
  add_link("g", 3, 4, "is_a", true);
  uint64_t del[3] = {5, 51, 52};
  precis_error err;
  cr_assert_eq(engine_delete(E, "g", del, 3, NULL, &err), PRECIS_OK);
  graph_equal("g", "writes after the load");
}

/* Writes after the last save, then an exit with no save (as a crash): the
 * snapshot is loaded and the logged ids replayed from RocksDB. */
Test(gsnap, writes_after_the_save_are_replayed) {
  close_engine();
  int fds[2];
  pid_t pid = tu_fork_child(fds);
  cr_assert(pid >= 0);
  if (pid == 0) {
    open_at(dir);
    populate("g");
    precis_error err;
    if (engine_save_indexes(E, &err)) _exit(2);
    put("g", 100, 80, 13); /* overwrites 100..150, new points 151..179 */
    add_link("g", 7, 8, "is_a", true);
    add_link("g", 9, 10, "cites", true); /* a new kind */
    add_link("g", 1, 51, "is_a", false);
    add_link("g", 2, 52, "part_of", true); /* re-weight */
    uint64_t del[4] = {3, 53, 60, 61};
    if (engine_delete(E, "g", del, 4, NULL, &err)) _exit(3);
    if (engine_graph_rebuild(E, "g", &err)) _exit(4);
    put("g", 300, 5, 14);
    char done = 1;
    if (write(fds[1], &done, 1) != 1) _exit(5);
    for (;;) pause(); /* killed by the parent: no engine_close, no save */
  }
  int st;
  cr_assert(tu_kill_child_when_done(fds, pid, &st), "the child failed (status %d)", st);
  open_at(dir);
  log_has("collection g: loaded graph snapshot (seq ");
  cr_assert_null(strstr(logbuf, "reloaded the edges of 0 points"), "%s", logbuf);
  graph_equal("g", "after replay");
  engine_edge *e;
  size_t n;
  precis_error err;
  cr_assert_eq(
      engine_edges_list(E, "g", 9, ENGINE_EDGE_LINKS, "cites", ENGINE_DIR_OUT, &e, &n, &err),
      PRECIS_OK);
  cr_assert_eq(n, 1);
  free(e);
}

/* Each damaged or foreign snapshot falls back to a full load, says why,
 * and the graph still equals RocksDB. */
static void damaged_falls_back(void (*damage)(const char *path), const char *reason) {
  populate("g");
  reopen();
  log_has("collection g: loaded graph snapshot");
  close_engine();
  char p[4300];
  snap_path(1, p, sizeof p);
  damage(p);
  open_at(dir);
  log_has(reason);
  log_has("loading the graph from the store");
  graph_equal("g", reason);
}

static void flip_byte(const char *p) {
  FILE *f = fopen(p, "r+b");
  cr_assert(f);
  long at = (long)file_size(p) / 2;
  fseek(f, at, SEEK_SET);
  int c = fgetc(f);
  fseek(f, at, SEEK_SET);
  fputc(c ^ 0x10, f);
  fclose(f);
}
static void cut(const char *p) { cr_assert_eq(truncate(p, (off_t)file_size(p) - 7), 0); }
static void cut_to_header(const char *p) { cr_assert_eq(truncate(p, 20), 0); }
static void bump_version(const char *p) {
  FILE *f = fopen(p, "r+b");
  cr_assert(f);
  fseek(f, 8, SEEK_SET);
  fputc(2, f);
  fclose(f);
}

Test(gsnap, corrupt_byte_falls_back) { damaged_falls_back(flip_byte, "checksum mismatch"); }
Test(gsnap, truncated_file_falls_back) { damaged_falls_back(cut, "its header says"); }
Test(gsnap, file_shorter_than_a_header_falls_back) {
  damaged_falls_back(cut_to_header, "is truncated");
}
Test(gsnap, other_version_falls_back) { damaged_falls_back(bump_version, "format version 2"); }

Test(gsnap, snapshot_of_another_collection_falls_back) {
  populate("g"); /* id 1 */
  populate("h"); /* id 2 */
  add_link("h", 1, 2, "other", true);
  close_engine();
  char p1[4300], p2[4300];
  snap_path(1, p1, sizeof p1);
  snap_path(2, p2, sizeof p2);
  copy_file(p1, p2);
  open_at(dir);
  log_has("collection h: graph snapshot belongs to collection id 1, not 2");
  graph_equal("h", "foreign snapshot");
  log_has("collection g: loaded graph snapshot");
}

Test(gsnap, snapshot_older_than_the_log_falls_back) {
  populate("g");
  close_engine();
  char p[4300], old[4400];
  snap_path(1, p, sizeof p);
  snprintf(old, sizeof old, "%s.old", p);
  copy_file(p, old);
  open_at(dir);
  add_link("g", 30, 31, "is_a", true);
  put("g", 200, 10, 15);
  close_engine(); /* saves: the log up to here is trimmed */
  copy_file(old, p);
  open_at(dir);
  log_has("is older than the replay log");
  graph_equal("g", "old snapshot");
}

Test(gsnap, snapshot_newer_than_the_data_falls_back) {
  populate("g");
  char back[4300], p[4300], newer[4400];
  snprintf(back, sizeof back, "%s/backup", dir);
  precis_error err;
  cr_assert_eq(engine_snapshot(E, back, &err), PRECIS_OK, "%s", err.msg);
  add_link("g", 30, 31, "is_a", true);
  close_engine();
  snap_path(1, p, sizeof p);
  snprintf(newer, sizeof newer, "%s.newer", p);
  copy_file(p, newer);
  char d2[4300];
  snprintf(d2, sizeof d2, "%s/restored", dir);
  cr_assert_eq(engine_restore(back, d2, &err), PRECIS_OK, "%s", err.msg);
  /* the backup carries its own snapshot, which loads */
  open_at(d2);
  log_has("collection g: loaded graph snapshot");
  graph_equal("g", "restored backup");
  close_engine();
  char p2[4400];
  snprintf(p2, sizeof p2, "%s/ann/1.graph", d2);
  copy_file(newer, p2);
  open_at(d2);
  log_has("is newer than the data");
  graph_equal("g", "newer snapshot");
  close_engine();
  open_at(dir); /* for teardown */
}

/* Without a snapshot file (a data directory from before them, or removed)
 * the graph is loaded from the store, and the next save writes one. */
Test(gsnap, missing_snapshot_loads_from_the_store) {
  populate("g");
  close_engine();
  char p[4300];
  snap_path(1, p, sizeof p);
  cr_assert_eq(unlink(p), 0);
  open_at(dir);
  log_has("collection g: no graph snapshot; loading the graph from the store");
  graph_equal("g", "no snapshot");
  add_link("g", 40, 41, "is_a", true);
  reopen();
  log_has("collection g: loaded graph snapshot");
  graph_equal("g", "snapshot written again");
}

/* The body decoder against its encoder, and against crafted bodies (a valid
 * checksum does not make a file trustworthy): a round trip is byte-exact;
 * every strict prefix is refused; random byte changes are loaded or
 * refused, never read out of bounds (ASan, valgrind). */
Test(gsnap, body_round_trip_and_crafted_bodies) {
  populate("g");
  close_engine();
  char p[4300];
  snap_path(1, p, sizeof p);
  size_t len = file_size(p);
  unsigned char *f = malloc(len);
  FILE *fp = fopen(p, "rb");
  cr_assert_eq(fread(f, 1, len, fp), len);
  fclose(fp);
  const unsigned char *body = f + 32;
  size_t bl = len - 36;
  gmem *g = gmem_create(NULL, 1); /* decode and encode touch no store */
  precis_error err;
  cr_assert_eq(gmem_decode(g, body, bl, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(gmem_encoded_size(g), bl);
  unsigned char *again = malloc(bl);
  gmem_encode(g, again);
  cr_assert_eq(memcmp(again, body, bl), 0, "re-encoded body differs");
  cr_assert_eq(gmem_nkinds(g), 3, "knn, is_a, part_of");
  for (size_t cut = 0; cut < bl; cut += 1 + cut / 8)
    cr_assert_eq(gmem_decode(g, body, cut, &err), PRECIS_E_CORRUPTION, "prefix of %zu bytes", cut);
  uint64_t rs = 42;
  size_t loaded = 0;
  for (int i = 0; i < 3000; i++) {
    memcpy(again, body, bl);
    int nflip = 1 + (int)(tu_rand(&rs) % 3);
    for (int k = 0; k < nflip; k++) {
      /* half of the changes in the first 64 bytes: the counts and kinds */
      size_t at = tu_rand(&rs) % 2 ? tu_rand(&rs) % 64 : tu_rand(&rs) % bl;
      again[at] = (unsigned char)tu_rand(&rs);
    }
    int rc = gmem_decode(g, again, bl, &err);
    cr_assert(rc == PRECIS_OK || rc == PRECIS_E_CORRUPTION, "rc %d", rc);
    if (rc == PRECIS_OK) {
      loaded++;
      cr_assert_eq(gmem_encoded_size(g), bl);
    }
  }
  cr_assert_lt(loaded, 3000, "some crafted bodies must be refused");
  gmem_destroy(g);
  free(again);
  free(f);
  open_at(dir); /* for teardown */
}
