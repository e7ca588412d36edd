/* test_format.c: the format version of a data directory (index/store/format.h,
 * docs/STORAGE.md "Format version"): a store written in format 1 (big-endian
 * values, "PRSLOTS1" slot files, a reverse edge index) or format 2 (the
 * reverse edge index) is migrated on open and keeps every count, link,
 * sequence and payload index, and its reverse index is gone; a newer or
 * unknown marker is refused with a clear status and message, and nothing is
 * changed. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "byteorder.h"
#include "engine.h"
#include "format.h"
#include "store.h"
#include "testutil.h"

static char *dir;

static void setup(void) { dir = tu_tmpdir("format"); }
static void teardown(void) { tu_rmrf_free(dir); }
TestSuite(format, .init = setup, .fini = teardown);

static char logbuf[16384];

static void capture(void *ctx, int level, const char *msg) {
  (void)ctx, (void)level;
  size_t n = strlen(logbuf);
  snprintf(logbuf + n, sizeof logbuf - n, "%s\n", msg);
}

static engine *open_ok(void) {
  engine *e;
  precis_error err;
  engine_options o;
  engine_options_default(&o);
  o.log = capture;
  logbuf[0] = 0;
  int rc = engine_open(dir, &o, &e, &err);
  cr_assert_eq(rc, PRECIS_OK, "engine_open: %s", err.msg);
  return e;
}

static store *open_store(void) {
  char p[4200];
  snprintf(p, sizeof p, "%s/db", dir);
  store_options so = {true, false, 0};
  store *st;
  precis_error err;
  cr_assert_eq(store_open(p, &so, &st, &err), PRECIS_OK, "%s", err.msg);
  return st;
}

static void set_marker(const char *m) {
  store *st = open_store();
  store_batch *b = store_batch_create(st);
  store_batch_put(b, STORE_CF_META, FORMAT_KEY, strlen(FORMAT_KEY), m, strlen(m));
  precis_error err;
  cr_assert_eq(store_write(st, b, &err), PRECIS_OK, "%s", err.msg);
  store_batch_destroy(b);
  store_close(st);
}

static char *get_marker(void) {
  store *st = open_store();
  char *v;
  size_t vl;
  precis_error err;
  cr_assert_eq(store_get(st, STORE_CF_META, FORMAT_KEY, strlen(FORMAT_KEY), &v, &vl, &err),
               PRECIS_OK, "%s", err.msg);
  char *s = strndup(v, vl);
  store_free(v);
  store_close(st);
  return s;
}

static void reverse(unsigned char *p, size_t n) {
  for (size_t i = 0; i < n / 2; i++) {
    unsigned char t = p[i];
    p[i] = p[n - 1 - i], p[n - 1 - i] = t;
  }
}

/* Rewrite the edges as formats 1 and 2 stored them into b: a kNN list
 * (cid|src|0 -> n x (dst, weight)) becomes one key per edge (cid|src|0|dst
 * -> weight), and every edge gets its reverse key (REDGE: cid|dst|kind|src).
 * Returns how many edges. */
static int add_reverse_index(store *st, store_batch *b) {
  int n = 0;
  store_iter *it = store_iter_create(st, STORE_CF_EDGE, "", 0);
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    const unsigned char *v = (const unsigned char *)store_iter_value(it, &vl);
    unsigned char e[64], r[64];
    if (kl == 13 && k[12] == 0) { /* a kNN list */
      cr_assert(vl > 0 && vl % 12 == 0);
      store_batch_delete(b, STORE_CF_EDGE, k, kl);
      for (size_t i = 0; i < vl; i += 12) {
        memcpy(e, k, 13);
        store_put_be64(e + 13, byte_get_le64(v + i));
        store_batch_put(b, STORE_CF_EDGE, e, 21, v + i + 8, 4);
        memcpy(r, e, 21);
        memcpy(r + 4, e + 13, 8);
        memcpy(r + 13, e + 4, 8);
        store_batch_put(b, STORE_CF_REDGE, r, 21, v + i + 8, 4);
        n++;
      }
      continue;
    }
    cr_assert(kl > 21 && kl == 21u + k[12]);
    memcpy(r, k, kl);
    memcpy(r + 4, k + kl - 8, 8); /* dst first */
    memcpy(r + kl - 8, k + 4, 8); /* src last */
    store_batch_put(b, STORE_CF_REDGE, r, kl, v, vl);
    n++;
  }
  store_iter_destroy(it);
  return n;
}

/* Keys of a family; with knn_lists_only, of EDGE: the kNN lists of the
 * current layout (cid|src|0, 13 bytes), or (size_t)-1 when a kNN edge of
 * format 2's layout (cid|src|0|dst) is left. */
static size_t family_keys_where(store_cf cf, bool knn_lists_only) {
  store *st = open_store();
  size_t n = 0;
  bool old = false;
  store_iter *it = store_iter_create(st, cf, "", 0);
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    if (!knn_lists_only || (kl == 13 && k[12] == 0))
      n++;
    else if (kl == 21 && k[12] == 0)
      old = true;
  }
  store_iter_destroy(it);
  store_close(st);
  return old ? (size_t)-1 : n;
}

static size_t family_keys(store_cf cf) { return family_keys_where(cf, false); }

/* After a migration: no reverse index, and the kNN edges as one list per
 * point with none left in format 2's layout. */
static void assert_format3_edges(void) {
  cr_assert_eq(family_keys(STORE_CF_REDGE), 0, "the reverse edge index is gone");
  size_t lists = family_keys_where(STORE_CF_EDGE, true);
  cr_assert(lists > 0 && lists != (size_t)-1, "kNN edges as one list per point (%zd)",
            (ssize_t)lists);
}

/* Rewrite the closed store in format 2's layout (add_reverse_index) with
 * the "precis-2" marker; returns the number of edges. */
static int downgrade_to_v2(void) {
  store *st = open_store();
  store_batch *b = store_batch_create(st);
  int nrev = add_reverse_index(st, b);
  store_batch_put(b, STORE_CF_META, FORMAT_KEY, strlen(FORMAT_KEY), "precis-2", 8);
  precis_error err;
  cr_assert_eq(store_write(st, b, &err), PRECIS_OK, "%s", err.msg);
  store_batch_destroy(b);
  store_close(st);
  return nrev;
}

/* Rewrite a current store as format 1 wrote it: META counters and the
 * next collection id, replay-log ids and the field numbers of payload-index
 * declarations big-endian; slot files of the old kind. Format 1 had no
 * graph snapshots and no graph entries in the replay log: both go. */
static void downgrade_to_v1(bool old_slots) {
  store *st = open_store();
  store_batch *b = store_batch_create(st);
  store_cf cfs[] = {STORE_CF_META, STORE_CF_LOG, STORE_CF_PIDX};
  int changed[3] = {0};
  for (int c = 0; c < 3; c++) {
    store_iter *it = store_iter_create(st, cfs[c], "", 0);
    for (; store_iter_valid(it); store_iter_next(it)) {
      size_t kl, vl;
      const char *k = store_iter_key(it, &kl);
      const char *v = store_iter_value(it, &vl);
      unsigned char buf[4096];
      cr_assert_leq(vl, sizeof buf);
      memcpy(buf, v, vl);
      if (cfs[c] == STORE_CF_LOG && kl != 12) {
        store_batch_delete(b, cfs[c], k, kl);
        continue;
      }
      if (cfs[c] == STORE_CF_META && kl == 8 && !memcmp(k, "next_cid", 8))
        reverse(buf, 4);
      else if (cfs[c] == STORE_CF_META && kl == 5 && strchr("snkl", k[0]))
        reverse(buf, 8);
      else if (cfs[c] == STORE_CF_LOG)
        for (size_t i = 0; i < vl; i += 8) reverse(buf + i, 8);
      else if (cfs[c] == STORE_CF_PIDX && kl > 5 && k[4] == 'D')
        reverse(buf + 2, 2);
      else
        continue;
      changed[c]++;
      store_batch_put(b, cfs[c], k, kl, buf, vl);
    }
    store_iter_destroy(it);
  }
  cr_assert_gt(changed[0], 4, "META counters rewritten");
  cr_assert_gt(changed[1], 0, "replay log rewritten");
  cr_assert_gt(changed[2], 0, "payload-index declarations rewritten");
  cr_assert_gt(add_reverse_index(st, b), 0, "reverse edge index written");
  store_batch_put(b, STORE_CF_META, FORMAT_KEY, strlen(FORMAT_KEY), "precis-1", 8);
  precis_error err;
  cr_assert_eq(store_write(st, b, &err), PRECIS_OK, "%s", err.msg);
  store_batch_destroy(b);
  store_close(st);
  char gp[4200];
  for (int c = 1; c <= 2; c++) {
    snprintf(gp, sizeof gp, "%s/ann/%d.graph", dir, c);
    unlink(gp);
  }
  if (!old_slots) return;
  /* an old slot file: refused by its magic, the index is rebuilt */
  char p[4200];
  snprintf(p, sizeof p, "%s/ann/1.slots", dir);
  FILE *f = fopen(p, "wb");
  cr_assert(f);
  fwrite("PRSLOTS1\1\0\0\0\0\0\0\0", 1, 16, f);
  fclose(f);
}

static void fill(engine *e) {
  engine_collection_config cfg = {0};
  cfg.dim = 8;
  precis_error err;
  cr_assert_eq(engine_collection_create(e, "a", &cfg, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(engine_collection_create(e, "b", &cfg, &err), PRECIS_OK, "%s", err.msg);
  float *v = tu_random_vectors(30, 8, 7, 1);
  engine_point_in p[30];
  char meta[30][32];
  for (int i = 0; i < 30; i++) {
    memset(&p[i], 0, sizeof p[i]);
    p[i].id = 100 + (uint64_t)i;
    p[i].vector = v + i * 8;
    p[i].dim = 8;
    snprintf(meta[i], sizeof meta[i], "{\"g\": %d}", i % 3);
    p[i].meta = meta[i];
    p[i].meta_len = strlen(meta[i]);
    p[i].tokens = -1;
  }
  cr_assert_eq(engine_upsert(e, "a", p, 30, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(engine_payload_index_create(e, "a", "g", ENGINE_PINDEX_INTEGER, &err), PRECIS_OK,
               "%s", err.msg);
  engine_edge l[2] = {{100, 101, "cites", 0.5f}, {102, 103, "cites", 0.25f}};
  cr_assert_eq(engine_links_change(e, "a", l, 2, true, NULL, &err), PRECIS_OK, "%s", err.msg);
  uint64_t del = 105;
  cr_assert_eq(engine_delete(e, "a", &del, 1, NULL, &err), PRECIS_OK, "%s", err.msg);
  free(v);
}

static void describe(engine *e, const char *name, engine_collection_info *info) {
  precis_error err;
  cr_assert_eq(engine_collection_describe(e, name, info, &err), PRECIS_OK, "%s", err.msg);
}

Test(format, new_store_gets_current_marker) {
  engine_close(open_ok());
  char *m = get_marker();
  char want[32];
  snprintf(want, sizeof want, "precis-%d", FORMAT_VERSION);
  cr_assert_str_eq(m, want);
  free(m);
}

static void upsert_new(engine *e, uint64_t first, int n) {
  float *v = tu_random_vectors((size_t)n, 8, first, 1);
  engine_point_in p[16];
  for (int i = 0; i < n; i++) {
    memset(&p[i], 0, sizeof p[i]);
    p[i].id = first + (uint64_t)i;
    p[i].vector = v + i * 8;
    p[i].dim = 8;
    p[i].tokens = -1;
  }
  precis_error err;
  cr_assert_eq(engine_upsert(e, "a", p, (size_t)n, &err), PRECIS_OK, "%s", err.msg);
  free(v);
}

/* A format-1 directory as a crash leaves it: the index saved at some
 * sequence, later writes only in the replay log. */
static void crashed_v1_store(engine_collection_info *before, bool old_slots) {
  int fds[2];
  pid_t pid = tu_fork_child(fds);
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    engine *e;
    precis_error err;
    if (engine_open(dir, NULL, &e, &err)) _exit(2);
    fill(e);
    if (engine_save_indexes(e, &err)) _exit(3);
    upsert_new(e, 200, 5);
    char done = 1;
    if (write(fds[1], &done, 1) != 1) _exit(4);
    for (;;) pause(); /* killed by the parent: no close, as in a crash */
  }
  int st;
  cr_assert(tu_kill_child_when_done(fds, pid, &st), "the child failed (status %d)", st);
  downgrade_to_v1(old_slots);
  before->count = 34;
  before->links = 2;
}

static void check_migrated(engine *e, const engine_collection_info *before) {
  char want[64];
  snprintf(want, sizeof want, "data format 1 migrated to %d", FORMAT_VERSION);
  cr_assert(strstr(logbuf, want), "%s", logbuf);
  engine_collection_info after;
  describe(e, "a", &after);
  cr_assert_eq(after.count, before->count);
  cr_assert_eq(after.links, before->links);
  cr_assert_gt(after.knn_edges, 0);
  /* upsert, link batch, delete, upsert (a link batch is a write sequence) */
  cr_assert_eq(after.seq, 4, "seq %llu", (unsigned long long)after.seq);
  precis_error gerr;
  cr_assert_eq(engine_graph_check(e, "a", &gerr), PRECIS_OK, "%s", gerr.msg);
  engine_pindex_info *pi;
  size_t npi;
  precis_error err;
  cr_assert_eq(engine_payload_index_list(e, "a", &pi, &npi, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(npi, 1);
  cr_assert_str_eq(pi[0].key, "g");
  cr_assert_eq(pi[0].type, ENGINE_PINDEX_INTEGER);
  free(pi);
  /* the collection-id counter survived: the next collection gets id 3 */
  engine_collection_config cfg = {0};
  cfg.dim = 4;
  cr_assert_eq(engine_collection_create(e, "c", &cfg, &err), PRECIS_OK, "%s", err.msg);
  engine_collection_info ci;
  describe(e, "c", &ci);
  cr_assert_eq(ci.id, 3, "new collection id %u", ci.id);
  /* the ANN index finds old points and those only the log held */
  float *v = tu_random_vectors(30, 8, 7, 1), *w = tu_random_vectors(5, 8, 200, 1);
  engine_hit hits[1];
  size_t nh = 0;
  cr_assert_eq(engine_search(e, "a", v + 3 * 8, 8, 1, NULL, hits, &nh, &err), PRECIS_OK, "%s",
               err.msg);
  cr_assert(nh == 1 && hits[0].id == 103);
  cr_assert_eq(engine_search(e, "a", w + 4 * 8, 8, 1, NULL, hits, &nh, &err), PRECIS_OK, "%s",
               err.msg);
  cr_assert(nh == 1 && hits[0].id == 204);
  free(v);
  free(w);
}

/* Format 1 with its replay log: the log's ids are read little-endian after
 * the migration, so the saved index is reused and the log replayed. */
Test(format, v1_store_is_migrated_and_replayed) {
  engine_collection_info before;
  crashed_v1_store(&before, false);
  engine *e = open_ok();
  cr_assert(strstr(logbuf, "replayed 5 changed points"), "%s", logbuf);
  cr_assert_null(strstr(logbuf, "rebuilding"), "%s", logbuf);
  check_migrated(e, &before);
  engine_close(e);
  assert_format3_edges();

  char *m = get_marker();
  char want[32];
  snprintf(want, sizeof want, "precis-%d", FORMAT_VERSION);
  cr_assert_str_eq(m, want);
  free(m);
  /* and it opens again in the current format, with nothing to migrate */
  e = open_ok();
  cr_assert_null(strstr(logbuf, "migrated"), "%s", logbuf);
  engine_collection_info after;
  describe(e, "a", &after);
  cr_assert_eq(after.links, 2);
  cr_assert_eq(after.count, 34);
  engine_close(e);
}

/* Format 1 with its old slot file: the index is rebuilt from the store. */
Test(format, v1_slot_file_is_rebuilt) {
  engine_collection_info before;
  crashed_v1_store(&before, true);
  engine *e = open_ok();
  cr_assert(strstr(logbuf, "rebuilding ANN index"), "%s", logbuf);
  check_migrated(e, &before);
  engine_close(e);
  assert_format3_edges();
}

/* Format 2 kept a reverse edge index (REDGE); format 3 drops it in the
 * migration and reads in-edges from the graph in memory (the replay after
 * a crash without the index: test_graph_snap). */
Test(format, v2_reverse_index_is_dropped) {
  engine *e = open_ok();
  fill(e);
  engine_close(e);
  int nrev = downgrade_to_v2();
  cr_assert_gt(nrev, 30);
  cr_assert_eq(family_keys(STORE_CF_REDGE), (size_t)nrev);
  precis_error err;

  e = open_ok();
  char want[64];
  snprintf(want, sizeof want, "data format 2 migrated to %d", FORMAT_VERSION);
  cr_assert(strstr(logbuf, want), "%s", logbuf);
  cr_assert_eq(engine_graph_check(e, "a", &err), PRECIS_OK, "%s", err.msg);
  /* in-edges come from memory: the link 100 -cites-> 101 is one of 101's */
  engine_edge *ed;
  size_t ne;
  cr_assert_eq(
      engine_edges_list(e, "a", 101, ENGINE_EDGE_LINKS, NULL, ENGINE_DIR_IN, &ed, &ne, &err),
      PRECIS_OK, "%s", err.msg);
  cr_assert_eq(ne, 1);
  cr_assert(ed[0].src == 100 && ed[0].dst == 101 && !strcmp(ed[0].kind, "cites"));
  cr_assert_float_eq(ed[0].weight, 0.5f, 1e-6);
  free(ed);
  engine_close(e);
  assert_format3_edges();
}

/* A format-2 kNN edge that is not a weight fails the migration with
 * CORRUPTION; the store is left in format 2, unchanged. */
Test(format, malformed_v2_knn_edge_fails_the_migration) {
  engine *e = open_ok();
  fill(e);
  engine_close(e);
  int nrev = downgrade_to_v2();
  store *st = open_store();
  unsigned char k[21];
  store_put_be32(k, 1);
  store_put_be64(k + 4, 100);
  k[12] = 0;
  store_put_be64(k + 13, 999999);
  store_batch *b = store_batch_create(st);
  store_batch_put(b, STORE_CF_EDGE, k, 21, "bad", 3);
  precis_error err;
  cr_assert_eq(store_write(st, b, &err), PRECIS_OK, "%s", err.msg);
  store_batch_destroy(b);
  store_close(st);
  int rc = engine_open(dir, NULL, &e, &err);
  cr_assert_eq(rc, PRECIS_E_CORRUPTION, "rc %d: %s", rc, err.msg);
  cr_assert(strstr(err.msg, "malformed kNN edge"), "%s", err.msg);
  char *m = get_marker();
  cr_assert_str_eq(m, "precis-2", "a failed migration leaves the old format");
  free(m);
  cr_assert_eq(family_keys(STORE_CF_REDGE), (size_t)nrev, "and its reverse index");
  cr_assert_eq(family_keys_where(STORE_CF_EDGE, true), (size_t)-1, "and its kNN edges");
}

/* A kNN list whose value is not whole entries is skipped when the graph
 * loads, and the graph check reports it as CORRUPTION. */
Test(format, malformed_knn_list_is_reported) {
  engine *e = open_ok();
  fill(e);
  engine_close(e);
  store *st = open_store();
  unsigned char k[13];
  store_put_be32(k, 1);
  store_put_be64(k + 4, 100);
  k[12] = 0;
  char *v;
  size_t vl;
  precis_error err;
  cr_assert_eq(store_get(st, STORE_CF_EDGE, k, 13, &v, &vl, &err), PRECIS_OK, "%s", err.msg);
  cr_assert(vl >= 12 && vl % 12 == 0, "point 100's kNN list: %zu bytes", vl);
  store_free(v);
  store_batch *b = store_batch_create(st);
  store_batch_put(b, STORE_CF_EDGE, k, 13, "short", 5);
  cr_assert_eq(store_write(st, b, &err), PRECIS_OK, "%s", err.msg);
  store_batch_destroy(b);
  store_close(st);
  char gp[4200];
  snprintf(gp, sizeof gp, "%s/ann/1.graph", dir); /* load the graph from the store */
  unlink(gp);
  e = open_ok();
  int rc = engine_graph_check(e, "a", &err);
  cr_assert_eq(rc, PRECIS_E_CORRUPTION, "rc %d: %s", rc, err.msg);
  cr_assert(strstr(err.msg, "malformed edge entry"), "%s", err.msg);
  engine_close(e);
}

Test(format, newer_version_is_refused) {
  engine *e = open_ok();
  fill(e);
  engine_close(e);
  set_marker("precis-99");
  precis_error err;
  int rc = engine_open(dir, NULL, &e, &err);
  cr_assert_eq(rc, PRECIS_E_UNIMPLEMENTED, "rc %d: %s", rc, err.msg);
  cr_assert_eq(err.code, PRECIS_E_UNIMPLEMENTED);
  cr_assert(strstr(err.msg, "version 99") && strstr(err.msg, "newer"), "%s", err.msg);
  char *m = get_marker();
  cr_assert_str_eq(m, "precis-99", "a refused store is left alone");
  free(m);
}

Test(format, unknown_marker_is_refused) {
  engine_close(open_ok());
  set_marker("lmdb-7");
  engine *e;
  precis_error err;
  int rc = engine_open(dir, NULL, &e, &err);
  cr_assert_eq(rc, PRECIS_E_CORRUPTION, "rc %d: %s", rc, err.msg);
  cr_assert(strstr(err.msg, "unknown data format"), "%s", err.msg);
}
