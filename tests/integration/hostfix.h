/* hostfix.h: the precisd fixture, hand-made protobuf writer and probes shared by the hostile-client tests (test_hostile.c: rows 1-6; test_hostile_limits.c: rows 7-11, fairness and limits). Included by exactly one test file per binary: it defines the fixture's state. */
#ifndef PRECIS_TESTS_HOSTFIX_H
#define PRECIS_TESTS_HOSTFIX_H

#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rawconn.h"
#include "srvproc.h"
#include "testutil.h"

/* RSS bounds are asserted only without ASan: its quarantine keeps up to
 * 256 MiB of freed memory resident, so there the figures are only logged
 * (the plain build, also run in CI, checks them). */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED 0
#else
#define RSS_CHECKED 1
#endif
#define rss_assert_lt(a, b, ...)                          \
  do {                                                    \
    if (RSS_CHECKED) cr_assert_lt((a), (b), __VA_ARGS__); \
  } while (0)

/* ---- fixture ---- */

static srvproc g_srv;
static char *g_dir;
static char g_token_path[4200];
#define TOKEN "hostile-test-token"

static inline void start_with(const char *extra[]) {
  g_dir = tu_tmpdir("hostile");
  cr_assert_not_null(g_dir);
  cr_assert_gt(srvproc_start(g_dir, extra, &g_srv), 0, "precisd did not start");
}

static inline void stop_server(void) {
  if (g_srv.pid > 0) {
    int st = srvproc_stop(&g_srv);
    if (st != 0) srvproc_dump_log(&g_srv);
    cr_expect_eq(st, 0, "precisd exit status %d after SIGTERM", st);
  }
  srvproc_cleanup(&g_srv);
  if (g_token_path[0]) unlink(g_token_path);
  g_token_path[0] = 0;
  tu_rmrf_free(g_dir);
  g_dir = NULL;
}

static inline void start_default(void) { start_with(NULL); }

static inline void write_token(void) {
  snprintf(g_token_path, sizeof g_token_path, "/tmp/precis-hostile-token-%d", (int)getpid());
  FILE *f = fopen(g_token_path, "w");
  cr_assert_not_null(f);
  fputs(TOKEN "\n", f);
  fclose(f);
  chmod(g_token_path, 0600);
}

/* ---- hand-made protobuf ---- */

typedef struct {
  uint8_t *p;
  size_t n, cap;
} pbw;

static inline void pw_put(pbw *w, const void *d, size_t n) {
  if (w->n + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->n + n) cap *= 2;
    w->p = realloc(w->p, cap);
    cr_assert_not_null(w->p);
    w->cap = cap;
  }
  if (n) memcpy(w->p + w->n, d, n);
  w->n += n;
}
static inline void pw_varint(pbw *w, uint64_t v) {
  uint8_t b[10];
  size_t k = 0;
  do {
    b[k] = (uint8_t)(v & 0x7F);
    v >>= 7;
    if (v) b[k] |= 0x80;
    k++;
  } while (v);
  pw_put(w, b, k);
}
static inline void pw_uint(pbw *w, uint32_t field, uint64_t v) {
  pw_varint(w, (uint64_t)field << 3);
  pw_varint(w, v);
}
static inline void pw_bytes(pbw *w, uint32_t field, const void *d, size_t n) {
  pw_varint(w, ((uint64_t)field << 3) | 2);
  pw_varint(w, n);
  pw_put(w, d, n);
}
static inline void pw_sub(pbw *w, uint32_t field, pbw *sub) {
  pw_bytes(w, field, sub->p, sub->n);
  free(sub->p);
  memset(sub, 0, sizeof *sub);
}
/* A Request {id, op = sub} sent as one frame; sub is consumed. */
static inline void send_op(rconn *c, uint64_t id, uint32_t op, pbw *sub) {
  pbw q = {0};
  pw_uint(&q, 1, id);
  pw_sub(&q, op, sub);
  rc_send_payload(c, q.p, q.n);
  free(q.p);
}
static inline Precis__V1__Response *call_op(rconn *c, uint64_t id, uint32_t op, pbw *sub) {
  send_op(c, id, op, sub);
  Precis__V1__Response *r = rc_recv(c);
  cr_assert_not_null(r, "connection closed while waiting for a response");
  cr_assert_eq(r->id, id);
  return r;
}
#define FREE(r) precis__v1__response__free_unpacked((r), NULL)

enum {
  OP_AUTH = 10,
  OP_HEALTH = 11,
  OP_STATS = 12,
  OP_CREATE = 13,
  OP_DROP = 14,
  OP_DESCRIBE = 15,
  OP_LIST = 16,
  OP_UPSERT = 17,
  OP_GET = 18,
  OP_ADD_LINKS = 20,
  OP_RETRIEVE = 24,
  OP_SNAPSHOT = 26
};

static inline Precis__V1__Response *create_raw(rconn *c, const void *name, size_t nlen,
                                               uint32_t dim, const char *spec) {
  pbw cfg = {0}, cc = {0};
  pw_uint(&cfg, 1, dim);
  if (spec) pw_bytes(&cfg, 3, spec, strlen(spec));
  pw_bytes(&cc, 1, name, nlen);
  pw_sub(&cc, 2, &cfg);
  return call_op(c, 7, OP_CREATE, &cc);
}
static inline Precis__V1__Response *create(rconn *c, const char *name, uint32_t dim,
                                           const char *spec) {
  return create_raw(c, name, strlen(name), dim, spec);
}

/* Point {id, vector (dim floats), text, metadata} as bytes. */
static inline void point_raw(pbw *pt, uint64_t id, uint32_t dim, const void *text, size_t tlen,
                             const void *meta, size_t mlen) {
  pw_uint(pt, 1, id);
  float v[64];
  for (uint32_t d = 0; d < dim; d++) v[d] = (float)((id * 31 + d * 7) % 13) - 6.0f + 0.5f;
  pw_bytes(pt, 2, v, dim * sizeof(float));
  if (tlen) pw_bytes(pt, 3, text, tlen);
  if (mlen) pw_bytes(pt, 4, meta, mlen);
}
static inline Precis__V1__Response *upsert_one(rconn *c, const char *coll, uint64_t id,
                                               uint32_t dim, const void *text, size_t tlen,
                                               const void *meta, size_t mlen) {
  pbw pt = {0}, up = {0};
  point_raw(&pt, id, dim, text, tlen, meta, mlen);
  pw_bytes(&up, 1, coll, strlen(coll));
  pw_sub(&up, 2, &pt);
  return call_op(c, 8, OP_UPSERT, &up);
}

static inline Precis__V1__Response *health(rconn *c) {
  pbw h = {0};
  pw_put(&h, "", 0);
  return call_op(c, 9, OP_HEALTH, &h);
}

static inline void create_ok(rconn *c, const char *name, uint32_t dim, const char *spec) {
  Precis__V1__Response *r = create(c, name, dim, spec);
  assert_status(r, PRECIS_OK);
  precis__v1__response__free_unpacked(r, NULL);
}

static inline void expect_healthy(void) {
  rconn c;
  rc_open(&c, g_srv.port);
  Precis__V1__Response *r = health(&c);
  assert_status(r, PRECIS_OK);
  FREE(r);
  rc_close(&c);
}

static inline void expect_msg(const Precis__V1__Response *r, const char *needle) {
  cr_assert_not_null(strstr(msg_of(r), needle), "message \"%s\" lacks \"%s\"", msg_of(r), needle);
}

/* VmRSS of the server in bytes. */
static inline uint64_t server_rss(void) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)g_srv.pid);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  uint64_t kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lu kB", &kb) == 1) break;
  fclose(f);
  return kb << 10;
}

static inline void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Open connections reported by stats (the asking one included). */
static inline uint64_t stats_connections(void) {
  rconn c;
  rc_open(&c, g_srv.port);
  pbw s = {0};
  Precis__V1__Response *r = call_op(&c, 11, OP_STATS, &s);
  assert_status(r, PRECIS_OK);
  uint64_t n = r->stats->connections;
  FREE(r);
  rc_close(&c);
  return n;
}

static inline void start_auth(void) {
  write_token();
  const char *args[] = {"--auth-token-file", g_token_path, "--max-auth-failures", "5", NULL};
  start_with(args);
}

/* Collection "big" (dim 4) with point 1 holding 1 MiB of text. */
static inline void big_point(rconn *c) {
  Precis__V1__Response *r = create(c, "big", 4, "Flat");
  assert_status(r, PRECIS_OK);
  FREE(r);
  size_t tlen = 1u << 20;
  char *text = malloc(tlen);
  memset(text, 'x', tlen);
  r = upsert_one(c, "big", 1, 4, text, tlen, NULL, 0);
  assert_status(r, PRECIS_OK);
  FREE(r);
  free(text);
}

/* n pipelined get{ids:[1]*10} (10 MiB responses each), ids from first. */
static inline void send_big_gets(rconn *h, int n, uint64_t first) {
  for (int i = 0; i < n; i++) {
    pbw g = {0}, packed = {0};
    pw_bytes(&g, 1, "big", 3);
    for (int k = 0; k < 10; k++) pw_varint(&packed, 1);
    pw_sub(&g, 2, &packed);
    send_op(h, first + (uint64_t)i, OP_GET, &g);
  }
}

TestSuite(hostile, .fini = stop_server, .timeout = 180);

#endif /* PRECIS_TESTS_HOSTFIX_H */
