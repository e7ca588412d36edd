/* test_server.c: precisd over raw frames (proto/frame.h + the generated
 * protobuf-c code; no client library). Each test starts its own server on
 * an ephemeral port with a fresh data directory. No timing assertions: the
 * socket receive timeout only keeps a broken server from hanging a test. */
#include "srvfix.h"

TestSuite(server, .fini = stop_server, .timeout = 120);

Test(server, health_and_stats, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  Precis__V1__Response *r = do_health(&c);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->result_case, PRECIS__V1__RESPONSE__RESULT_HEALTH);
  cr_assert_gt(strlen(r->health->version), 0);
  cr_assert_gt(strlen(r->health->faiss), 0);
  FREE_RESP(r);

  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__StatsRequest st = PRECIS__V1__STATS_REQUEST__INIT;
  q.id = 77;
  q.op_case = PRECIS__V1__REQUEST__OP_STATS;
  q.stats = &st;
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->result_case, PRECIS__V1__RESPONSE__RESULT_STATS);
  cr_assert_geq(r->stats->connections, 1);
  cr_assert_geq(r->stats->requests, 2);
  cr_assert_eq(r->stats->workers, 2);
  cr_assert_gt(r->stats->rss_bytes, 0);
  cr_assert_gt(r->stats->bytes_in, 0);
  FREE_RESP(r);
  rc_close(&c);
}

Test(server, collection_points_search, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  Precis__V1__Response *r = do_create(&c, "docs", DIM);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->result_case, PRECIS__V1__RESPONSE__RESULT_COLLECTION);
  cr_assert_str_eq(r->collection->info->name, "docs");
  cr_assert_eq(r->collection->info->config->dim, DIM);
  FREE_RESP(r);

  r = do_create(&c, "docs", DIM);
  assert_status(r, PRECIS_E_ALREADY_EXISTS);
  cr_assert_eq(r->result_case, PRECIS__V1__RESPONSE__RESULT__NOT_SET);
  FREE_RESP(r);

  r = do_upsert(&c, "docs", 1, 20);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->upsert->upserted, 20);
  FREE_RESP(r);

  /* describe / list */
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DescribeCollectionRequest d = PRECIS__V1__DESCRIBE_COLLECTION_REQUEST__INIT;
  d.name = "docs";
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_DESCRIBE_COLLECTION;
  q.describe_collection = &d;
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->collection->info->count, 20);
  FREE_RESP(r);
  d.name = "nope";
  q.id = ++g_id;
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_E_NOT_FOUND);
  FREE_RESP(r);

  Precis__V1__Request lq = PRECIS__V1__REQUEST__INIT;
  Precis__V1__ListCollectionsRequest lc = PRECIS__V1__LIST_COLLECTIONS_REQUEST__INIT;
  lq.id = ++g_id;
  lq.op_case = PRECIS__V1__REQUEST__OP_LIST_COLLECTIONS;
  lq.list_collections = &lc;
  r = rc_call(&c, &lq);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->collections->n_collections, 1);
  cr_assert_str_eq(r->collections->collections[0]->name, "docs");
  FREE_RESP(r);

  /* search: each point's own vector finds it first */
  for (uint64_t i = 1; i <= 20; i += 7) {
    float v[DIM];
    point_vec(i, v);
    Precis__V1__Request sq;
    Precis__V1__SearchRequest sr;
    fill_search(&sq, &sr, "docs", v, 3);
    sq.id = ++g_id;
    r = rc_call(&c, &sq);
    assert_status(r, PRECIS_OK);
    cr_assert_eq(r->result_case, PRECIS__V1__RESPONSE__RESULT_SEARCH);
    cr_assert_eq(r->search->n_hits, 3);
    cr_assert_eq(r->search->hits[0]->id, i);
    FREE_RESP(r);
  }

  /* wrong dimension: the engine's status comes back unchanged */
  {
    float v[DIM + 1] = {1};
    Precis__V1__Request sq;
    Precis__V1__SearchRequest sr;
    fill_search(&sq, &sr, "docs", v, 3);
    sr.n_vector = DIM + 1;
    sq.id = ++g_id;
    r = rc_call(&c, &sq);
    assert_status(r, PRECIS_E_DIMENSION_MISMATCH);
    FREE_RESP(r);
  }

  /* get with vectors, one missing */
  uint64_t ids[3] = {5, 999, 6};
  r = do_get(&c, "docs", ids, 3, true);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->get->n_points, 2);
  cr_assert_eq(r->get->n_missing, 1);
  cr_assert_eq(r->get->missing[0], 999);
  cr_assert_eq(r->get->points[0]->id, 5);
  cr_assert_str_eq(r->get->points[0]->text, "text of point 5");
  cr_assert_eq(r->get->points[0]->n_vector, DIM);
  FREE_RESP(r);

  /* delete */
  Precis__V1__Request dq = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DeleteRequest del = PRECIS__V1__DELETE_REQUEST__INIT;
  uint64_t dids[2] = {5, 4242};
  del.collection = "docs";
  del.ids = dids;
  del.n_ids = 2;
  dq.id = ++g_id;
  dq.op_case = PRECIS__V1__REQUEST__OP_DELETE;
  dq.delete_ = &del;
  r = rc_call(&c, &dq);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->delete_->deleted, 1);
  FREE_RESP(r);
  r = do_get(&c, "docs", ids, 1, false);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->get->n_points, 0);
  cr_assert_eq(r->get->n_missing, 1);
  FREE_RESP(r);

  /* drop */
  Precis__V1__Request xq = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DropCollectionRequest drop = PRECIS__V1__DROP_COLLECTION_REQUEST__INIT;
  drop.name = "docs";
  xq.id = ++g_id;
  xq.op_case = PRECIS__V1__REQUEST__OP_DROP_COLLECTION;
  xq.drop_collection = &drop;
  r = rc_call(&c, &xq);
  assert_status(r, PRECIS_OK);
  FREE_RESP(r);
  r = do_get(&c, "docs", ids, 1, false);
  assert_status(r, PRECIS_E_NOT_FOUND);
  FREE_RESP(r);
  rc_close(&c);
}

Test(server, links_edges_retrieve_snapshot, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  Precis__V1__Response *r = do_create(&c, "g", DIM);
  assert_status(r, PRECIS_OK);
  FREE_RESP(r);
  r = do_upsert(&c, "g", 1, 30);
  assert_status(r, PRECIS_OK);
  FREE_RESP(r);

  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__AddLinksRequest al = PRECIS__V1__ADD_LINKS_REQUEST__INIT;
  Precis__V1__Edge e1 = PRECIS__V1__EDGE__INIT, e2 = PRECIS__V1__EDGE__INIT;
  e1.src = 1, e1.dst = 2, e1.kind = "cites", e1.weight = 1.0f;
  e2.src = 1, e2.dst = 3, e2.kind = "cites", e2.weight = 0.5f;
  Precis__V1__Edge *es[2] = {&e1, &e2};
  al.collection = "g";
  al.links = es;
  al.n_links = 2;
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_ADD_LINKS;
  q.add_links = &al;
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->links->changed, 2);
  FREE_RESP(r);

  Precis__V1__Request lq = PRECIS__V1__REQUEST__INIT;
  Precis__V1__ListEdgesRequest le = PRECIS__V1__LIST_EDGES_REQUEST__INIT;
  le.collection = "g";
  le.id = 1;
  le.links = 1;
  le.outgoing = 1;
  lq.id = ++g_id;
  lq.op_case = PRECIS__V1__REQUEST__OP_LIST_EDGES;
  lq.list_edges = &le;
  r = rc_call(&c, &lq);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->edges->n_edges, 2);
  for (size_t i = 0; i < 2; i++) cr_assert_str_eq(r->edges->edges[i]->kind, "cites");
  FREE_RESP(r);

  Precis__V1__Request rq = PRECIS__V1__REQUEST__INIT;
  Precis__V1__RemoveLinksRequest rl = PRECIS__V1__REMOVE_LINKS_REQUEST__INIT;
  rl.collection = "g";
  rl.links = es;
  rl.n_links = 1;
  rq.id = ++g_id;
  rq.op_case = PRECIS__V1__REQUEST__OP_REMOVE_LINKS;
  rq.remove_links = &rl;
  r = rc_call(&c, &rq);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->links->changed, 1);
  FREE_RESP(r);

  /* retrieve from a stored point's vector, server defaults */
  Precis__V1__Request tq = PRECIS__V1__REQUEST__INIT;
  Precis__V1__RetrieveRequest rt = PRECIS__V1__RETRIEVE_REQUEST__INIT;
  rt.collection = "g";
  rt.use_query_point = 1;
  rt.query_point = 7;
  TU_PB_SET(rt, k, 5);
  TU_PB_SET(rt, mode, PRECIS__V1__MODE__MODE_TOPK);
  tq.id = ++g_id;
  tq.op_case = PRECIS__V1__REQUEST__OP_RETRIEVE;
  tq.retrieve = &rt;
  r = rc_call(&c, &tq);
  if (code_of(r) != PRECIS_E_UNIMPLEMENTED) {
    assert_status(r, PRECIS_OK);
    cr_assert_eq(r->result_case, PRECIS__V1__RESPONSE__RESULT_RETRIEVE);
    cr_assert_gt(r->retrieve->n_items, 0);
    cr_assert_leq(r->retrieve->n_items, 5);
    cr_assert_eq(r->retrieve->items[0]->id, 7);
  }
  FREE_RESP(r);
  rt.query_point = 9999; /* absent */
  tq.id = ++g_id;
  r = rc_call(&c, &tq);
  assert_status(r, PRECIS_E_NOT_FOUND);
  FREE_RESP(r);

  /* snapshot: valid name, then the same again, then an invalid one */
  Precis__V1__Request sq = PRECIS__V1__REQUEST__INIT;
  Precis__V1__SnapshotRequest sn = PRECIS__V1__SNAPSHOT_REQUEST__INIT;
  sn.name = "snap-1";
  sq.id = ++g_id;
  sq.op_case = PRECIS__V1__REQUEST__OP_SNAPSHOT;
  sq.snapshot = &sn;
  r = rc_call(&c, &sq);
  assert_status(r, PRECIS_OK);
  FREE_RESP(r);
  char path[4200];
  snprintf(path, sizeof path, "%s/snapshots/snap-1", g_dir);
  struct stat sb;
  cr_assert_eq(stat(path, &sb), 0, "snapshot directory %s", path);
  sq.id = ++g_id;
  r = rc_call(&c, &sq);
  assert_status(r, PRECIS_E_ALREADY_EXISTS);
  FREE_RESP(r);
  sn.name = "../evil";
  sq.id = ++g_id;
  r = rc_call(&c, &sq);
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  FREE_RESP(r);
  rc_close(&c);
}

/* ---- retrieve: coverage over the wire ---- */

#define CDIM    384
#define CPOINTS 1000

static void upsert_random(rconn *c, const char *coll, size_t n, uint32_t dim) {
  float *vecs = tu_random_vectors(n, dim, 97, 1);
  Precis__V1__Point *pts = calloc(n, sizeof *pts);
  Precis__V1__Point **pp = calloc(n, sizeof *pp);
  cr_assert(vecs && pts && pp);
  for (size_t i = 0; i < n; i++) {
    precis__v1__point__init(&pts[i]);
    pts[i].id = i + 1;
    pts[i].vector = vecs + i * dim;
    pts[i].n_vector = dim;
    pts[i].text = (char *)"x";
    pp[i] = &pts[i];
  }
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__UpsertRequest up = PRECIS__V1__UPSERT_REQUEST__INIT;
  up.collection = (char *)coll;
  up.points = pp;
  up.n_points = n;
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_UPSERT;
  q.upsert = &up;
  Precis__V1__Response *r = rc_call(c, &q);
  assert_status(r, PRECIS_OK);
  FREE_RESP(r);
  free(pts);
  free(pp);
  free(vecs);
}

#define UNSET INT_MIN

/* Send a Request whose RetrieveRequest carries the retired field 26
 * (`defaults: true`, as clients before presence sent it) and read the
 * response. */
static Precis__V1__Response *call_with_legacy_defaults(rconn *c, Precis__V1__Request *q) {
  size_t n = protobuf_c_message_get_packed_size(&q->retrieve->base);
  uint8_t *rr = malloc(n + 3), *buf = malloc(n + 32);
  cr_assert(rr && buf);
  protobuf_c_message_pack(&q->retrieve->base, rr);
  rr[n++] = 0xD0; /* field 26, varint */
  rr[n++] = 0x01;
  rr[n++] = 0x01; /* true */
  size_t m = 0;
  buf[m++] = 0x08; /* Request.id */
  for (uint64_t v = q->id;; v >>= 7) {
    buf[m++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    if (v < 0x80) break;
  }
  buf[m++] = 0xC2; /* Request.retrieve (24), length-delimited */
  buf[m++] = 0x01;
  for (uint64_t v = n;; v >>= 7) {
    buf[m++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    if (v < 0x80) break;
  }
  memcpy(buf + m, rr, n);
  rc_send_payload(c, buf, m + n);
  free(rr);
  free(buf);
  return rc_recv(c);
}

/* A retrieve by stored point 1 over a pool of `pool` exact seeds. cov UNSET:
 * coverage left off the wire; else sent with presence (any int). legacy:
 * the request also carries the retired `defaults: true` (field 26), which
 * the server ignores. */
static Precis__V1__Response *retrieve_cov(rconn *c, uint32_t pool, bool legacy, int cov) {
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__RetrieveRequest rt = PRECIS__V1__RETRIEVE_REQUEST__INIT;
  rt.collection = (char *)"cv";
  rt.use_query_point = 1;
  rt.query_point = 1;
  TU_PB_SET(rt, k, 10);
  TU_PB_SET(rt, pool, pool);
  TU_PB_SET(rt, seeds, pool);
  TU_PB_SET(rt, exact_seeds, 1);
  if (cov != UNSET) TU_PB_SET(rt, coverage, cov);
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_RETRIEVE;
  q.retrieve = &rt;
  return legacy ? call_with_legacy_defaults(c, &q) : rc_call(c, &q);
}

static void expect_form(rconn *c, uint32_t pool, bool dflt, int cov, Precis__V1__Coverage want) {
  Precis__V1__Response *r = retrieve_cov(c, pool, dflt, cov);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->result_case, PRECIS__V1__RESPONSE__RESULT_RETRIEVE);
  cr_assert_eq(r->retrieve->pool_size, pool);
  cr_assert_eq(r->retrieve->n_items, 10);
  cr_assert_eq(r->retrieve->coverage_used, want,
               "pool %u defaults %d coverage %d: ran %d, wanted %d", pool, dflt, cov,
               (int)r->retrieve->coverage_used, (int)want);
  FREE_RESP(r);
}

Test(server, retrieve_coverage_default_and_reported_form, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  Precis__V1__Response *r = do_create(&c, "cv", CDIM);
  assert_status(r, PRECIS_OK);
  FREE_RESP(r);
  upsert_random(&c, "cv", CPOINTS, CDIM);
  const int unset = UNSET;
  const Precis__V1__Coverage EXACT = PRECIS__V1__COVERAGE__COVERAGE_EXACT,
                             SPARSE = PRECIS__V1__COVERAGE__COVERAGE_SPARSE,
                             SAMPLE = PRECIS__V1__COVERAGE__COVERAGE_SAMPLE,
                             AUTO = PRECIS__V1__COVERAGE__COVERAGE_AUTO;

  /* pool 1,000 at 384-d: the server default (AUTO) runs SAMPLE */
  expect_form(&c, CPOINTS, true, unset, SAMPLE);
  expect_form(&c, CPOINTS, true, AUTO, SAMPLE);
  expect_form(&c, CPOINTS, false, AUTO, SAMPLE);
  /* an explicit EXACT is EXACT, with or without the retired `defaults` */
  expect_form(&c, CPOINTS, true, EXACT, EXACT);
  expect_form(&c, CPOINTS, false, EXACT, EXACT);
  /* not sent: the default (AUTO) also without `defaults` (a client from
   * before AUTO that meant EXACT now gets AUTO; docs/PROTOCOL.md) */
  expect_form(&c, CPOINTS, false, unset, SAMPLE);
  expect_form(&c, CPOINTS, true, SPARSE, SPARSE);
  expect_form(&c, CPOINTS, true, SAMPLE, SAMPLE);
  /* pool 300 at 384-d: AUTO stays EXACT */
  expect_form(&c, 300, true, unset, EXACT);
  expect_form(&c, 300, false, AUTO, EXACT);

  /* unknown values are refused, not mapped to a default */
  int bad[] = {AUTO + 1, 99, -1};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = retrieve_cov(&c, 300, true, bad[i]);
    assert_status(r, PRECIS_E_INVALID_ARGUMENT);
    cr_assert(strstr(msg_of(r), "unknown coverage"), "%s", msg_of(r));
    FREE_RESP(r);
  }
  rc_close(&c);
}

/* ---- parameter presence (issue 12; docs/PROTOCOL.md, "Parameters") ---- */

static Precis__V1__RetrieveRequest *presence_req(Precis__V1__Request *q,
                                                 Precis__V1__RetrieveRequest *rt) {
  precis__v1__request__init(q);
  precis__v1__retrieve_request__init(rt);
  rt->collection = (char *)"pp";
  rt->use_query_point = 1;
  rt->query_point = 1;
  q->id = ++g_id;
  q->op_case = PRECIS__V1__REQUEST__OP_RETRIEVE;
  q->retrieve = rt;
  return rt;
}

Test(server, retrieve_parameter_presence, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  Precis__V1__Response *r = do_create(&c, "pp", 16);
  assert_status(r, PRECIS_OK);
  FREE_RESP(r);
  upsert_random(&c, "pp", 400, 16);
  Precis__V1__Request q;
  Precis__V1__RetrieveRequest rt;

  /* nothing sent, no `defaults`: every default (was "a, b, c are all 0") */
  presence_req(&q, &rt);
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->retrieve->n_items, PRECIS_DEFAULT_K);
  size_t listed = 0;
  for (size_t i = 0; i < r->retrieve->n_items; i++)
    listed += r->retrieve->items[i]->n_represented_ids;
  cr_assert_gt(listed, 0, "the default max_represented_ids (16) lists ids");
  FREE_RESP(r);

  /* the same with the retired `defaults: true` (field 26): ignored */
  presence_req(&q, &rt);
  r = call_with_legacy_defaults(&c, &q);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->retrieve->n_items, PRECIS_DEFAULT_K);
  FREE_RESP(r);

  /* an explicit 0 is 0, not the default: no represented ids listed */
  presence_req(&q, &rt);
  TU_PB_SET(rt, max_represented_ids, 0);
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->retrieve->n_items, PRECIS_DEFAULT_K);
  for (size_t i = 0; i < r->retrieve->n_items; i++)
    cr_assert_eq(r->retrieve->items[i]->n_represented_ids, 0);
  FREE_RESP(r);

  /* explicit a = b = c = 0 are taken as sent, also with `defaults: true`
   * (which used to turn b = 0 into the default) */
  for (int legacy = 0; legacy < 2; legacy++) {
    presence_req(&q, &rt);
    TU_PB_SET(rt, a, 0);
    TU_PB_SET(rt, b, 0);
    TU_PB_SET(rt, c, 0);
    r = legacy ? call_with_legacy_defaults(&c, &q) : rc_call(&c, &q);
    assert_status(r, PRECIS_E_INVALID_ARGUMENT);
    cr_assert(strstr(msg_of(r), "all 0"), "%s", msg_of(r));
    FREE_RESP(r);
  }

  /* a value outside its row: the table's range and status */
  presence_req(&q, &rt);
  TU_PB_SET(rt, k, 0);
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  cr_assert(strstr(msg_of(r), "k = 0"), "%s", msg_of(r));
  FREE_RESP(r);
  presence_req(&q, &rt);
  TU_PB_SET(rt, nprobe, PRECIS_MAX_NPROBE + 1);
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  cr_assert(strstr(msg_of(r), "nprobe"), "%s", msg_of(r));
  FREE_RESP(r);
  presence_req(&q, &rt);
  TU_PB_SET(rt, mode, 7);
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  FREE_RESP(r);

  /* search: k not sent is the default; k sent as 0 is refused */
  float v[16] = {1};
  Precis__V1__SearchRequest sr;
  precis__v1__request__init(&q);
  precis__v1__search_request__init(&sr);
  sr.collection = (char *)"pp";
  sr.vector = v;
  sr.n_vector = 16;
  q.id = ++g_id;
  q.op_case = PRECIS__V1__REQUEST__OP_SEARCH;
  q.search = &sr;
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->search->n_hits, PRECIS_DEFAULT_K);
  FREE_RESP(r);
  TU_PB_SET(sr, k, 0);
  q.id = ++g_id;
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  FREE_RESP(r);

  /* a query above PRECIS_MAX_DIM is OUT_OF_RANGE, as in libprecis; one
   * within it that does not match the collection is DIMENSION_MISMATCH */
  float *big = calloc(PRECIS_MAX_DIM + 1, sizeof *big);
  cr_assert(big);
  big[0] = 1;
  for (int op = 0; op < 2; op++) {
    for (int over = 0; over < 2; over++) {
      size_t n = over ? PRECIS_MAX_DIM + 1 : 17;
      if (op == 0) {
        precis__v1__search_request__init(&sr);
        sr.collection = (char *)"pp";
        sr.vector = big;
        sr.n_vector = n;
        precis__v1__request__init(&q);
        q.op_case = PRECIS__V1__REQUEST__OP_SEARCH;
        q.search = &sr;
        q.id = ++g_id;
      } else {
        presence_req(&q, &rt);
        rt.use_query_point = 0;
        rt.vector = big;
        rt.n_vector = n;
      }
      r = rc_call(&c, &q);
      assert_status(r, over ? PRECIS_E_OUT_OF_RANGE : PRECIS_E_DIMENSION_MISMATCH);
      FREE_RESP(r);
    }
  }
  free(big);
  rc_close(&c);
}

/* ---- malformed input ---- */
