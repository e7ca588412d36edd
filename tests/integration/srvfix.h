/* srvfix.h: the precisd fixture and request builders shared by the server
 * tests (test_server.c: operations and parameters; test_server_wire.c:
 * framing, pipelining, flow control, auth, restart and signals). Included
 * by exactly one test file per binary: it defines the fixture's state. */
#ifndef PRECIS_TESTS_SRVFIX_H
#define PRECIS_TESTS_SRVFIX_H

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "precis.pb-c.h"
#include "precis/limits.h"
#include "precis/status.h"
#include "rawconn.h"
#include "srvproc.h"
#include "testutil.h"
#include "tu_params.h"

#define DIM 8

/* ---- fixture ---- */

static srvproc g_srv;
static char *g_dir;

static inline void start_with(const char *extra[]) {
  g_dir = tu_tmpdir("srvtest");
  cr_assert_not_null(g_dir);
  int port = srvproc_start(g_dir, extra, &g_srv);
  cr_assert_gt(port, 0, "precisd did not start");
}

static inline void start_default(void) { start_with(NULL); }

static inline void stop_server(void) {
  if (g_srv.pid > 0) {
    /* every test ends with a clean shutdown (under ASan: no leaks) */
    int st = srvproc_stop(&g_srv);
    if (st != 0) srvproc_dump_log(&g_srv);
    cr_expect_eq(st, 0, "precisd exit status %d after SIGTERM", st);
  }
  srvproc_cleanup(&g_srv);
  tu_rmrf_free(g_dir);
  g_dir = NULL;
}

/* ---- request builders ---- */

static uint64_t g_id = 100;

static inline Precis__V1__Response *do_health(rconn *c) {
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__HealthRequest h = PRECIS__V1__HEALTH_REQUEST__INIT;
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_HEALTH;
  q.health = &h;
  return rc_call(c, &q);
}

static inline void expect_healthy(int port) {
  rconn c;
  rc_open(&c, port);
  Precis__V1__Response *r = do_health(&c);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->result_case, PRECIS__V1__RESPONSE__RESULT_HEALTH);
  precis__v1__response__free_unpacked(r, NULL);
  rc_close(&c);
}

static inline Precis__V1__Response *do_create(rconn *c, const char *name, uint32_t dim) {
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__CreateCollectionRequest cc = PRECIS__V1__CREATE_COLLECTION_REQUEST__INIT;
  Precis__V1__CollectionConfig cfg = PRECIS__V1__COLLECTION_CONFIG__INIT;
  cfg.dim = dim;
  cfg.metric = PRECIS__V1__METRIC__METRIC_COSINE;
  cc.name = (char *)name;
  cc.config = &cfg;
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_CREATE_COLLECTION;
  q.create_collection = &cc;
  return rc_call(c, &q);
}

/* Point i: a deterministic unit-ish vector, distinct per i. */
static inline void point_vec(uint64_t i, float *v) {
  uint64_t s = 0x1234567ull + i * 7919u;
  for (int d = 0; d < DIM; d++) v[d] = tu_randf(&s);
  v[i % DIM] += 3.0f; /* well separated */
}

static inline Precis__V1__Response *do_upsert(rconn *c, const char *coll, uint64_t first,
                                              size_t n) {
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__UpsertRequest up = PRECIS__V1__UPSERT_REQUEST__INIT;
  Precis__V1__Point *pts = calloc(n, sizeof *pts);
  Precis__V1__Point **pp = calloc(n, sizeof *pp);
  float *vecs = calloc(n * DIM, sizeof *vecs);
  char(*texts)[32] = calloc(n, sizeof *texts);
  for (size_t i = 0; i < n; i++) {
    precis__v1__point__init(&pts[i]);
    pts[i].id = first + i;
    point_vec(first + i, vecs + i * DIM);
    pts[i].vector = vecs + i * DIM;
    pts[i].n_vector = DIM;
    snprintf(texts[i], sizeof texts[i], "text of point %lu", (unsigned long)(first + i));
    pts[i].text = texts[i];
    pts[i].metadata = (char *)"{\"k\":1}";
    pp[i] = &pts[i];
  }
  up.collection = (char *)coll;
  up.points = pp;
  up.n_points = n;
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_UPSERT;
  q.upsert = &up;
  Precis__V1__Response *r = rc_call(c, &q);
  free(pts);
  free(pp);
  free(vecs);
  free(texts);
  return r;
}

static inline void fill_search(Precis__V1__Request *q, Precis__V1__SearchRequest *s,
                               const char *coll, float *v, uint32_t k) {
  precis__v1__request__init(q);
  precis__v1__search_request__init(s);
  s->collection = (char *)coll;
  s->vector = v;
  s->n_vector = DIM;
  TU_PB_SET(*s, k, k);
  TU_PB_SET(*s, exact, 1);
  q->op_case = PRECIS__V1__REQUEST__OP_SEARCH;
  q->search = s;
}

static inline Precis__V1__Response *do_get(rconn *c, const char *coll, uint64_t *ids, size_t n,
                                           bool vectors) {
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__GetRequest g = PRECIS__V1__GET_REQUEST__INIT;
  g.collection = (char *)coll;
  g.ids = ids;
  g.n_ids = n;
  g.with_vectors = vectors;
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_GET;
  q.get = &g;
  return rc_call(c, &q);
}

#define FREE_RESP(r) precis__v1__response__free_unpacked((r), NULL)

/* ---- tests ---- */

#endif /* PRECIS_TESTS_SRVFIX_H */
