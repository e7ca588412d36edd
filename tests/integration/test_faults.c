/*
 * test_faults.c: precisd on a full disk.
 *
 * The data directory lives on a real, small file system: a 4 MiB tmpfs
 * mounted for the test (needs root and permission to mount; the test is
 * skipped with a message otherwise). Upserts are sent until one fails; then:
 *   - the failure is a clean status (IO), not a dropped connection;
 *   - the server stays up: health answers, reads and searches work on the
 *     same connection and on a new one, and further writes fail the same way;
 *   - nothing of the failed batch is visible and every acknowledged point is
 *     intact (describe count, get with vectors);
 * then the file system grows (mount -o remount,size=64m) and:
 *   - writes succeed again (at the latest after a restart, which the test
 *     performs when the running server stays read-only: RocksDB keeps a
 *     background error after a failed WAL write);
 *   - after a clean restart all acknowledged data is still there.
 * Engine-level fault injection (store_debug_fail_writes_after) is in
 * tests/unit/test_faults_engine.c.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "precis/precis.h"
#include "srvproc.h"
#include "testutil.h"

#define DIM        32
#define BATCH      40
#define TEXT_BYTES 1500
#define MAX_POINTS 200000

static char *g_mnt;
static int g_mounted;

static void vec_of(uint64_t id, float *v) {
  uint64_t s = id * 0x9e3779b97f4a7c15ULL + 1;
  for (int j = 0; j < DIM; j++) v[j] = tu_randf(&s);
}
static void text_of(uint64_t id, char *b) {
  int n = snprintf(b, TEXT_BYTES, "point %" PRIu64 " ", id);
  for (int i = n; i < TEXT_BYTES - 1; i++) b[i] = (char)('a' + (id + (uint64_t)i) % 26);
  b[TEXT_BYTES - 1] = 0;
}

static void unmount_fs(void) {
  if (g_mounted) {
    if (umount2(g_mnt, MNT_DETACH) != 0) cr_log_warn("umount %s: %s", g_mnt, strerror(errno));
    g_mounted = 0;
  }
  if (g_mnt) {
    rmdir(g_mnt);
    free(g_mnt);
    g_mnt = NULL;
  }
}

static precis_conn *connect_to(int port) {
  precis_conn *c = NULL;
  precis_error err;
  int rc = precis_connect("127.0.0.1", (uint16_t)port, NULL, 20000, &c, &err);
  cr_assert_eq(rc, PRECIS_OK, "connect: %s", err.msg);
  return c;
}

/* Every point 1..n present with its vector and text; n+1.. absent. */
static void check_points(precis_conn *c, uint64_t n) {
  precis_error err;
  precis_collection_info info;
  cr_assert_eq(precis_collection_describe(c, "full", &info, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(info.count, n, "describe count %" PRIu64 ", acknowledged %" PRIu64, info.count, n);
  static uint64_t ids[512];
  static char t[TEXT_BYTES];
  for (uint64_t lo = 1; lo <= n + BATCH; lo += 512) {
    size_t k = 0;
    for (uint64_t id = lo; id <= n + BATCH && k < 512; id++) ids[k++] = id;
    precis_points *p = NULL;
    cr_assert_eq(precis_get(c, "full", ids, k, 1, &p, &err), PRECIS_OK, "get: %s", err.msg);
    for (size_t i = 0; i < p->n; i++) {
      const precis_stored_point *sp = &p->points[i];
      cr_assert_leq(sp->id, n, "point %" PRIu64 " of an unacknowledged batch is visible", sp->id);
      float v[DIM];
      vec_of(sp->id, v);
      text_of(sp->id, t);
      cr_assert(sp->dim == DIM && memcmp(sp->vector, v, sizeof v) == 0,
                "point %" PRIu64 ": vector differs", sp->id);
      cr_assert_str_eq(sp->text, t, "point %" PRIu64 ": text differs", sp->id);
    }
    for (size_t i = 0; i < p->n_missing; i++)
      cr_assert_gt(p->missing[i], n, "acknowledged point %" PRIu64 " is missing", p->missing[i]);
    precis_points_free(p);
  }
}

/* Upsert batch starting at id `first`; returns the status. */
static int upsert_batch(precis_conn *c, uint64_t first, precis_error *err) {
  static float vecs[BATCH][DIM];
  static char texts[BATCH][TEXT_BYTES];
  precis_point pts[BATCH];
  for (int i = 0; i < BATCH; i++) {
    uint64_t id = first + (uint64_t)i;
    vec_of(id, vecs[i]);
    text_of(id, texts[i]);
    pts[i] = (precis_point){id, vecs[i], DIM, texts[i], "{\"f\":1}", -1};
  }
  return precis_upsert(c, "full", pts, BATCH, NULL, err);
}

static void search_self(precis_conn *c, uint64_t id) {
  precis_error err;
  float v[DIM];
  vec_of(id, v);
  precis_search_opts ex = {1, 0, 0};
  precis_hit h[1];
  size_t nh = 0;
  cr_assert_eq(precis_search(c, "full", v, DIM, 1, &ex, h, &nh, &err), PRECIS_OK, "%s", err.msg);
  cr_assert(nh == 1 && h[0].id == id, "exact search for %" PRIu64 " found %" PRIu64, id,
            nh ? h[0].id : 0);
}

Test(faults, disk_full, .fini = unmount_fs, .timeout = 600) {
  if (geteuid() != 0) cr_skip_test("disk-full test needs root to mount a small tmpfs");
  g_mnt = tu_tmpdir("faults-mnt");
  cr_assert(g_mnt);
  if (mount("tmpfs", g_mnt, "tmpfs", 0, "size=4m") != 0)
    cr_skip_test("cannot mount a tmpfs on %s (%s): disk-full test skipped", g_mnt, strerror(errno));
  g_mounted = 1;
  char data[PATH_MAX];
  snprintf(data, sizeof data, "%s/data", g_mnt);

  srvproc srv;
  int port = srvproc_start(data, NULL, &srv);
  cr_assert_gt(port, 0, "precisd did not start on the tmpfs");
  precis_conn *c = connect_to(port);
  precis_error err;
  precis_collection_config cfg;
  precis_collection_config_init(&cfg, DIM);
  cfg.metric = PRECIS_METRIC_IP;
  cfg.index_spec = "Flat";
  cfg.knn_k = 4;
  cr_assert_eq(precis_collection_create(c, "full", &cfg, NULL, &err), PRECIS_OK, "%s", err.msg);

  /* fill the disk */
  uint64_t acked = 0;
  int rc = PRECIS_OK;
  while (acked < MAX_POINTS) {
    memset(&err, 0, sizeof err);
    rc = upsert_batch(c, acked + 1, &err);
    if (rc != PRECIS_OK) break;
    acked += BATCH;
  }
  cr_assert_neq(rc, PRECIS_OK, "4 MiB never filled up after %" PRIu64 " points", acked);
  cr_log_info("disk full after %" PRIu64 " points: %s: %s", acked, precis_status_name(rc), err.msg);
  if (rc != PRECIS_E_IO) srvproc_dump_log(&srv);
  cr_assert_eq(rc, PRECIS_E_IO, "a full disk must be reported as IO, got %s: %s",
               precis_status_name(rc), err.msg);
  cr_assert_gt(acked, 0);

  /* the server stays up and serves reads; writes keep failing cleanly */
  precis_health h;
  cr_assert_eq(precis_health_check(c, &h, &err), PRECIS_OK, "health after ENOSPC: %s", err.msg);
  check_points(c, acked);
  search_self(c, 1);
  search_self(c, acked);
  rc = upsert_batch(c, acked + 1, &err);
  cr_assert_eq(rc, PRECIS_E_IO, "second write on a full disk: %s: %s", precis_status_name(rc),
               err.msg);
  precis_conn *c2 = connect_to(port);
  cr_assert_eq(precis_health_check(c2, &h, &err), PRECIS_OK, "%s", err.msg);
  check_points(c2, acked);
  precis_close(c2);

  /* grow the file system: writes work again (after a restart if needed) */
  cr_assert_eq(mount("tmpfs", g_mnt, "tmpfs", MS_REMOUNT, "size=64m"), 0, "remount: %s",
               strerror(errno));
  rc = upsert_batch(c, acked + 1, &err);
  int restarted = 0;
  if (rc != PRECIS_OK) {
    cr_log_info(
        "after growing the disk, the running server still refuses writes (%s: %s); "
        "restarting it",
        precis_status_name(rc), err.msg);
    precis_close(c);
    int st = srvproc_stop(&srv);
    cr_assert_eq(st, 0, "precisd did not stop cleanly after ENOSPC (status %d)", st);
    srvproc_cleanup(&srv);
    port = srvproc_start(data, NULL, &srv);
    cr_assert_gt(port, 0, "precisd did not restart");
    c = connect_to(port);
    check_points(c, acked);
    rc = upsert_batch(c, acked + 1, &err);
    restarted = 1;
  }
  cr_assert_eq(rc, PRECIS_OK, "write after freeing space: %s: %s", precis_status_name(rc), err.msg);
  acked += BATCH;
  cr_log_info("writes resume %s", restarted ? "after a restart" : "without a restart");
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(upsert_batch(c, acked + 1, &err), PRECIS_OK, "%s", err.msg);
    acked += BATCH;
  }
  check_points(c, acked);
  search_self(c, acked);

  /* and everything survives a clean restart */
  precis_close(c);
  cr_assert_eq(srvproc_stop(&srv), 0, "precisd did not stop cleanly");
  srvproc_cleanup(&srv);
  port = srvproc_start(data, NULL, &srv);
  cr_assert_gt(port, 0);
  c = connect_to(port);
  check_points(c, acked);
  search_self(c, 1);
  precis_close(c);
  cr_assert_eq(srvproc_stop(&srv), 0);
  srvproc_cleanup(&srv);
}
