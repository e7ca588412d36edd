/*
 * test_client.c: libprecis against a real precisd (tests/support/srvproc)
 * on an ephemeral port and a fresh data directory per test: every
 * operation, the error codes (server-reported and transport), auth,
 * persistence across a restart, and pipelined precis_search_batch.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "precis/precis.h"
#include "srvproc.h"
#include "testutil.h"

static char *g_dir;
static srvproc g_srv;
static precis_conn *g_c;

static void start(const char *extra[]) {
  int port = srvproc_start(g_dir, extra, &g_srv);
  cr_assert_gt(port, 0, "precisd did not start");
  precis_error err;
  if (!extra) {
    int rc = precis_connect("127.0.0.1", (uint16_t)port, NULL, 10000, &g_c, &err);
    cr_assert_eq(rc, PRECIS_OK, "connect: %s", err.msg);
  }
}

static void setup(void) {
  g_dir = tu_tmpdir("client");
  start(NULL);
}

static void teardown(void) {
  precis_close(g_c);
  g_c = NULL;
  if (g_srv.pid) srvproc_stop(&g_srv);
  srvproc_cleanup(&g_srv);
  tu_rmrf_free(g_dir);
}

static void restart(void) {
  precis_close(g_c);
  g_c = NULL;
  cr_assert_eq(srvproc_stop(&g_srv), 0, "precisd did not exit cleanly");
  srvproc_cleanup(&g_srv);
  start(NULL);
}

#define OK(call)                                                                 \
  do {                                                                           \
    precis_error e_;                                                             \
    int rc_ = (call);                                                            \
    (void)e_;                                                                    \
    cr_assert_eq(rc_, PRECIS_OK, "%s -> %s: %s", #call, precis_status_name(rc_), \
                 precis_conn_last_error(g_c));                                   \
  } while (0)

static void create(const char *name, uint32_t dim, precis_metric m) {
  precis_collection_config cfg;
  precis_collection_config_init(&cfg, dim);
  cfg.metric = m;
  precis_collection_info info;
  OK(precis_collection_create(g_c, name, &cfg, &info, NULL));
  cr_assert_str_eq(info.name, name);
  cr_assert_eq(info.dim, dim);
  cr_assert_eq(info.metric, m);
}

/* Six points on the axes of R^4 (and two mixes), with payloads. */
static const float axes[6][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0},
                                 {0, 0, 0, 1}, {1, 1, 0, 0}, {0, 0, 1, 1}};

static void load_axes(const char *coll) {
  precis_point pts[6];
  char text[6][32], meta[6][64];
  for (int i = 0; i < 6; i++) {
    snprintf(text[i], sizeof text[i], "point number %d", i);
    snprintf(meta[i], sizeof meta[i], "{\"n\":%d,\"group\":\"g%d\"}", i, i % 2);
    pts[i] = (precis_point){.id = (uint64_t)(100 + i),
                            .vector = axes[i],
                            .dim = 4,
                            .text = text[i],
                            .metadata = meta[i],
                            .tokens = i == 0 ? -1 : 10 + i};
  }
  uint64_t up = 0;
  OK(precis_upsert(g_c, coll, pts, 6, &up, NULL));
  cr_assert_eq(up, 6);
}

TestSuite(client, .init = setup, .fini = teardown, .timeout = 120);

Test(client, collections_lifecycle) {
  create("docs", 4, PRECIS_METRIC_COSINE);
  create("other", 8, PRECIS_METRIC_L2);
  precis_collection_info info;
  OK(precis_collection_describe(g_c, "docs", &info, NULL));
  cr_assert_eq(info.dim, 4);
  cr_assert_eq(info.count, 0);

  precis_collection_info *all;
  size_t n;
  OK(precis_collection_list(g_c, &all, &n, NULL));
  cr_assert_eq(n, 2);
  int seen = 0;
  for (size_t i = 0; i < n; i++)
    seen += !strcmp(all[i].name, "docs") + !strcmp(all[i].name, "other");
  cr_assert_eq(seen, 2);
  precis_collection_infos_free(all);

  precis_collection_config cfg;
  precis_collection_config_init(&cfg, 4);
  precis_error err;
  cr_assert_eq(precis_collection_create(g_c, "docs", &cfg, NULL, &err), PRECIS_E_ALREADY_EXISTS);
  cr_assert_eq(err.code, PRECIS_E_ALREADY_EXISTS);

  OK(precis_collection_drop(g_c, "other", NULL));
  cr_assert_eq(precis_collection_describe(g_c, "other", &info, &err), PRECIS_E_NOT_FOUND);
  OK(precis_collection_list(g_c, &all, &n, NULL));
  cr_assert_eq(n, 1);
  precis_collection_infos_free(all);
}

Test(client, upsert_get_delete) {
  create("docs", 4, PRECIS_METRIC_COSINE);
  load_axes("docs");
  precis_collection_info info;
  OK(precis_collection_describe(g_c, "docs", &info, NULL));
  cr_assert_eq(info.count, 6);

  uint64_t ids[3] = {101, 999, 104};
  precis_points *p;
  OK(precis_get(g_c, "docs", ids, 3, 1, &p, NULL));
  cr_assert_eq(p->n, 2);
  cr_assert_eq(p->n_missing, 1);
  cr_assert_eq(p->missing[0], 999);
  for (size_t i = 0; i < p->n; i++) {
    const precis_stored_point *s = &p->points[i];
    int k = (int)(s->id - 100);
    cr_assert(k == 1 || k == 4);
    char want[32];
    snprintf(want, sizeof want, "point number %d", k);
    cr_assert_str_eq(s->text, want);
    cr_assert(strstr(s->metadata, "\"group\""), "%s", s->metadata);
    cr_assert_eq(s->tokens, 10 + k);
    cr_assert_eq(s->dim, 4);
    cr_assert_not_null(s->vector);
    /* cosine collections may store normalised vectors: compare directions */
    float dot = 0, na = 0, nb = 0;
    for (int j = 0; j < 4; j++) {
      dot += s->vector[j] * axes[k][j];
      na += s->vector[j] * s->vector[j];
      nb += axes[k][j] * axes[k][j];
    }
    cr_assert_float_eq(dot / sqrtf(na * nb), 1.0f, 1e-5);
  }
  precis_points_free(p);

  /* without vectors; the server computes tokens for point 100 */
  uint64_t id0 = 100;
  OK(precis_get(g_c, "docs", &id0, 1, 0, &p, NULL));
  cr_assert_eq(p->n, 1);
  cr_assert_null(p->points[0].vector);
  cr_assert_gt(p->points[0].tokens, 0);
  precis_points_free(p);

  uint64_t del[2] = {101, 555}, deleted = 0;
  OK(precis_delete(g_c, "docs", del, 2, &deleted, NULL));
  cr_assert_eq(deleted, 1);
  OK(precis_get(g_c, "docs", del, 1, 0, &p, NULL));
  cr_assert_eq(p->n, 0);
  cr_assert_eq(p->n_missing, 1);
  precis_points_free(p);

  /* upsert replaces */
  float v[4] = {0, 0, 0, 2};
  precis_point np = {.id = 103, .vector = v, .dim = 4, .text = "replaced", .tokens = 1};
  OK(precis_upsert(g_c, "docs", &np, 1, NULL, NULL));
  uint64_t id3 = 103;
  OK(precis_get(g_c, "docs", &id3, 1, 0, &p, NULL));
  cr_assert_str_eq(p->points[0].text, "replaced");
  cr_assert_str_eq(p->points[0].metadata, "{}");
  precis_points_free(p);
}

Test(client, search_nearest) {
  create("docs", 4, PRECIS_METRIC_COSINE);
  load_axes("docs");
  precis_hit hits[6];
  size_t n = 0;
  float q[4] = {0.9f, 0.1f, 0.0f, 0.0f};
  OK(precis_search(g_c, "docs", q, 4, 3, NULL, hits, &n, NULL));
  cr_assert_eq(n, 3);
  cr_assert_eq(hits[0].id, 100); /* closest: e1 */
  cr_assert_eq(hits[1].id, 104); /* then (1,1,0,0) */
  cr_assert_eq(hits[2].id, 101);
  cr_assert_geq(hits[0].score, hits[1].score);

  precis_search_opts exact = {.exact = 1};
  float q2[4] = {0, 0, 0.2f, 1.0f};
  OK(precis_search(g_c, "docs", q2, 4, 2, &exact, hits, &n, NULL));
  cr_assert_eq(n, 2);
  cr_assert_eq(hits[0].id, 103);
  cr_assert_eq(hits[1].id, 105);

  precis_hit many[50];
  OK(precis_search(g_c, "docs", q, 4, 50, NULL, many, &n, NULL));
  cr_assert_eq(n, 6); /* k > count: every point, once */
}

Test(client, links) {
  create("docs", 4, PRECIS_METRIC_COSINE);
  load_axes("docs");
  precis_edge e[3];
  precis_edge_set(&e[0], 100, 102, "cites", 0.5f);
  precis_edge_set(&e[1], 100, 103, "see", 1.0f);
  precis_edge_set(&e[2], 101, 102, "cites", 0.75f);
  uint64_t changed = 0;
  OK(precis_link_add(g_c, "docs", e, 3, &changed, NULL));
  cr_assert_eq(changed, 3);

  precis_edge *out;
  size_t n;
  OK(precis_edges_list(g_c, "docs", 100, PRECIS_EDGES_LINKS | PRECIS_EDGES_OUT, NULL, &out, &n,
                       NULL));
  cr_assert_eq(n, 2);
  int cites = 0, see = 0;
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(out[i].src, 100);
    if (!strcmp(out[i].kind, "cites")) {
      cites++;
      cr_assert_eq(out[i].dst, 102);
      cr_assert_float_eq(out[i].weight, 0.5f, 1e-6);
    }
    see += !strcmp(out[i].kind, "see");
  }
  cr_assert_eq(cites, 1);
  cr_assert_eq(see, 1);
  precis_edges_free(out);

  OK(precis_edges_list(g_c, "docs", 100, PRECIS_EDGES_LINKS, "see", &out, &n, NULL));
  cr_assert_eq(n, 1);
  cr_assert_eq(out[0].dst, 103);
  precis_edges_free(out);

  OK(precis_edges_list(g_c, "docs", 102, PRECIS_EDGES_LINKS | PRECIS_EDGES_IN, NULL, &out, &n,
                       NULL));
  cr_assert_eq(n, 2);
  precis_edges_free(out);

  OK(precis_link_remove(g_c, "docs", &e[0], 1, &changed, NULL));
  cr_assert_eq(changed, 1);
  OK(precis_edges_list(g_c, "docs", 100, PRECIS_EDGES_LINKS | PRECIS_EDGES_OUT, NULL, &out, &n,
                       NULL));
  cr_assert_eq(n, 1);
  cr_assert_str_eq(out[0].kind, "see");
  precis_edges_free(out);

  OK(precis_graph_rebuild(g_c, "docs", NULL));
  OK(precis_edges_list(g_c, "docs", 100, PRECIS_EDGES_KNN, NULL, &out, &n, NULL));
  cr_assert_gt(n, 0, "no kNN edges after a rebuild");
  precis_edges_free(out);
}

Test(client, errors) {
  precis_error err;
  precis_collection_info info;
  cr_assert_eq(precis_collection_describe(g_c, "nope", &info, &err), PRECIS_E_NOT_FOUND);
  cr_assert_eq(err.code, PRECIS_E_NOT_FOUND);
  cr_assert_neq(err.msg[0], '\0');
  cr_assert_eq(precis_conn_last_status(g_c), PRECIS_E_NOT_FOUND);
  cr_assert_str_eq(precis_conn_last_error(g_c), err.msg);

  float v3[3] = {1, 2, 3};
  precis_point p = {.id = 1, .vector = v3, .dim = 3, .tokens = -1};
  cr_assert_eq(precis_upsert(g_c, "nope", &p, 1, NULL, &err), PRECIS_E_NOT_FOUND);

  create("docs", 4, PRECIS_METRIC_COSINE);
  cr_assert_eq(precis_upsert(g_c, "docs", &p, 1, NULL, &err), PRECIS_E_DIMENSION_MISMATCH, "%s",
               err.msg);
  precis_hit h[2];
  size_t n;
  cr_assert_eq(precis_search(g_c, "docs", v3, 3, 2, NULL, h, &n, &err),
               PRECIS_E_DIMENSION_MISMATCH);
  float bad[4] = {1, NAN, 0, 0};
  precis_point pb = {.id = 2, .vector = bad, .dim = 4, .tokens = -1};
  cr_assert_eq(precis_upsert(g_c, "docs", &pb, 1, NULL, &err), PRECIS_E_INVALID_VECTOR);
  float ok4[4] = {1, 0, 0, 0};
  precis_point pm = {.id = 3, .vector = ok4, .dim = 4, .metadata = "[1,2]", .tokens = -1};
  cr_assert_eq(precis_upsert(g_c, "docs", &pm, 1, NULL, &err), PRECIS_E_INVALID_JSON);

  /* the connection is still good and the error record clears */
  precis_health hl;
  OK(precis_health_check(g_c, &hl, &err));
  cr_assert_eq(err.code, PRECIS_OK);
  cr_assert_str_eq(precis_conn_last_error(g_c), "");

  /* client-side argument checks */
  cr_assert_eq(precis_search(g_c, "docs", ok4, 4, 0, NULL, h, &n, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert_eq(precis_health_check(NULL, &hl, &err), PRECIS_E_INVALID_ARGUMENT);
}

/* A port nobody listens on: bind an ephemeral one, then close it. */
static uint16_t closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

Test(client, transport_errors) {
  precis_conn *c = NULL;
  precis_error err;
  cr_assert_eq(precis_connect("127.0.0.1", closed_port(), NULL, 2000, &c, &err),
               PRECIS_E_CONNECTION);
  cr_assert_null(c);
  cr_assert_eq(err.code, PRECIS_E_CONNECTION);
  cr_assert(strstr(err.msg, "refused"), "%s", err.msg);
  cr_assert_eq(precis_connect("no-such-host.invalid", 1, NULL, 2000, &c, &err),
               PRECIS_E_CONNECTION);

  /* server goes away under an open connection */
  srvproc_stop(&g_srv);
  precis_health h;
  int rc = precis_health_check(g_c, &h, &err);
  cr_assert_eq(rc, PRECIS_E_CONNECTION, "%s", precis_status_name(rc));
  cr_assert_eq(precis_health_check(g_c, &h, &err), PRECIS_E_CONNECTION);
  cr_assert(strstr(err.msg, "reconnect"), "%s", err.msg);
}

/* A listener that never answers: calls time out, and a timeout while
 * waiting for the answer leaves the connection usable. */
Test(client, timeout) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(fd, 4), 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  precis_conn *c = NULL;
  precis_error err;
  cr_assert_eq(precis_connect("127.0.0.1", ntohs(a.sin_port), NULL, 200, &c, &err), PRECIS_OK, "%s",
               err.msg);
  precis_health h;
  cr_assert_eq(precis_health_check(c, &h, &err), PRECIS_E_TIMEOUT);
  cr_assert_eq(precis_conn_last_status(c), PRECIS_E_TIMEOUT);
  cr_assert_eq(precis_health_check(c, &h, &err), PRECIS_E_TIMEOUT,
               "a receive timeout must not break the connection: %s", err.msg);
  precis_close(c);
  /* and auth against it fails with TIMEOUT, leaking nothing */
  cr_assert_eq(precis_connect("127.0.0.1", ntohs(a.sin_port), "tok", 200, &c, &err),
               PRECIS_E_TIMEOUT);
  cr_assert_null(c);
  close(fd);
}

Test(client, admin) {
  precis_health h;
  OK(precis_health_check(g_c, &h, NULL));
  cr_assert_neq(h.version[0], '\0');
  cr_assert_neq(h.faiss[0], '\0');
  create("docs", 4, PRECIS_METRIC_COSINE);
  load_axes("docs");
  precis_stats s;
  OK(precis_stats_get(g_c, &s, NULL));
  cr_assert_geq(s.requests, 3);
  cr_assert_geq(s.connections, 1);
  cr_assert_gt(s.workers, 0);
  OK(precis_snapshot(g_c, "snap1", NULL));
}

/* Two clusters along e1 and e2 of R^8 with a "topic" metadata field. */
static void load_clusters(const char *coll, int per) {
  precis_point *pts = calloc((size_t)per * 2, sizeof *pts);
  float *v = calloc((size_t)per * 2 * 8, sizeof *v);
  char(*meta)[48] = calloc((size_t)per * 2, sizeof *meta);
  uint64_t st = 42;
  for (int i = 0; i < per * 2; i++) {
    float *x = v + i * 8;
    for (int j = 0; j < 8; j++) x[j] = 0.05f * tu_randf(&st);
    x[i < per ? 0 : 1] += 1.0f;
    snprintf(meta[i], sizeof meta[i], "{\"topic\":\"t%d\"}", i < per ? 0 : 1);
    pts[i] = (precis_point){.id = (uint64_t)i,
                            .vector = x,
                            .dim = 8,
                            .text = i < per ? "about alpha" : "about beta",
                            .metadata = meta[i],
                            .tokens = 5};
  }
  OK(precis_upsert(g_c, coll, pts, (size_t)per * 2, NULL, NULL));
  free(pts);
  free(v);
  free(meta);
}

Test(client, retrieve) {
  create("kb", 8, PRECIS_METRIC_COSINE);
  load_clusters("kb", 20);
  precis_retrieve_params p;
  precis_retrieve_params_init(&p);
  float q[8] = {1, 0.8f, 0, 0, 0, 0, 0, 0};
  p.vector = q;
  p.dim = 8;
  p.k = 6;
  p.seeds = 40; /* the pool holds both clusters */
  p.mode = PRECIS_MODE_TOPK;
  precis_retrieve_result *r = NULL;
  precis_error err;
  int rc = precis_retrieve(g_c, "kb", &p, &r, &err);
  if (rc == PRECIS_E_UNIMPLEMENTED)
    cr_skip_test("retrieve not implemented by this server: %s", err.msg);
  cr_assert_eq(rc, PRECIS_OK, "%s", err.msg);
  cr_assert_eq(r->n, 6);
  for (size_t i = 0; i < r->n; i++) {
    cr_assert_lt(r->items[i].id, 40);
    cr_assert_str_eq(r->items[i].text, "about alpha"); /* q leans to e1 */
    cr_assert(strstr(r->items[i].metadata, "t0"), "%s", r->items[i].metadata);
    cr_assert_eq(r->items[i].tokens, 5);
    if (i) cr_assert_geq(r->items[i - 1].relevance, r->items[i].relevance);
  }
  cr_assert_geq(r->pool_size, r->n);
  cr_assert_gt(r->seed_count, 0);
  cr_assert(r->coverage_ratio >= 0 && r->coverage_ratio <= 1.0001);
  cr_assert_gt(r->mean_relevance, 0);
  double topk_cov = r->coverage_ratio;
  precis_retrieve_result_free(r);

  /* COMPRESS covers both clusters: its coverage is at least TOPK's. A beta
   * point costs about 3.4 % of TOPK's mean similarity here (cosine 0.62
   * against 0.78, one of six): more than the default floor allows (2.5 %),
   * within what diversity 1 allows (5 %). */
  p.mode = PRECIS_MODE_COMPRESS;
  p.diversity = 1.0f;
  OK(precis_retrieve(g_c, "kb", &p, &r, NULL));
  cr_assert_gt(r->n, 0);
  cr_assert_leq(r->n, 6);
  int beta = 0;
  uint32_t represents = 0;
  for (size_t i = 0; i < r->n; i++) {
    beta += !strcmp(r->items[i].text, "about beta");
    represents += r->items[i].represents;
    cr_assert_leq(r->items[i].n_represented_ids, p.max_represented_ids);
  }
  cr_assert_gt(beta, 0, "COMPRESS picked only one cluster");
  cr_assert_geq(r->coverage_ratio + 1e-6, topk_cov);
  cr_assert_leq(represents, r->pool_size);
  precis_retrieve_result_free(r);

  /* by stored point, MMR, token budget */
  precis_retrieve_params_init(&p);
  p.use_query_point = 1;
  p.query_point = 25;
  p.mode = PRECIS_MODE_MMR;
  p.token_budget = 12;
  OK(precis_retrieve(g_c, "kb", &p, &r, NULL));
  cr_assert_leq(r->n, 2); /* 5 tokens each */
  cr_assert_gt(r->n, 0);
  precis_retrieve_result_free(r);

  cr_assert_eq(precis_retrieve(g_c, "missing", &p, &r, &err), PRECIS_E_NOT_FOUND);
  cr_assert_null(r);
}

/* One retrieve by stored point 1 over `pool` exact seeds; returns the form
 * that ran and fills ids[10] with the selection. */
static precis_coverage retrieve_form(precis_retrieve_params *p, uint32_t pool, uint64_t ids[10]) {
  p->use_query_point = 1;
  p->query_point = 1;
  p->k = 10;
  p->pool = p->seeds = pool;
  p->exact_seeds = 1;
  precis_retrieve_result *r = NULL;
  OK(precis_retrieve(g_c, "cv", p, &r, NULL));
  cr_assert_eq(r->pool_size, pool);
  cr_assert_eq(r->n, 10);
  for (size_t i = 0; i < 10; i++) ids[i] = r->items[i].id;
  precis_coverage form = r->coverage_used;
  precis_retrieve_result_free(r);
  return form;
}

Test(client, retrieve_coverage_auto) {
  enum { N = 1000, D = 384 };
  create("cv", D, PRECIS_METRIC_COSINE);
  float *v = tu_random_vectors(N, D, 5, 1);
  precis_point *pts = calloc(N, sizeof *pts);
  cr_assert(v && pts);
  for (size_t i = 0; i < N; i++)
    pts[i] = (precis_point){.id = i + 1, .vector = v + i * D, .dim = D, .text = "t", .tokens = -1};
  OK(precis_upsert(g_c, "cv", pts, N, NULL, NULL));
  free(pts);
  free(v);

  precis_retrieve_params p;
  precis_retrieve_params_init(&p);
  cr_assert_eq(p.coverage, PRECIS_COVERAGE_AUTO, "AUTO is the client default");
  uint64_t a[10], b[10];
  /* pool 300 at 384-d: AUTO runs EXACT and selects what EXACT selects */
  cr_assert_eq(retrieve_form(&p, 300, a), PRECIS_COVERAGE_EXACT);
  p.coverage = PRECIS_COVERAGE_EXACT;
  cr_assert_eq(retrieve_form(&p, 300, b), PRECIS_COVERAGE_EXACT);
  cr_assert(!memcmp(a, b, sizeof a), "AUTO and EXACT differ on a small pool");
  /* pool 1,000 at 384-d: AUTO runs SAMPLE, the same set as SAMPLE */
  p.coverage = PRECIS_COVERAGE_AUTO;
  cr_assert_eq(retrieve_form(&p, N, a), PRECIS_COVERAGE_SAMPLE);
  p.coverage = PRECIS_COVERAGE_SAMPLE;
  cr_assert_eq(retrieve_form(&p, N, b), PRECIS_COVERAGE_SAMPLE);
  cr_assert(!memcmp(a, b, sizeof a), "AUTO and SAMPLE differ on a large pool");
  p.coverage = PRECIS_COVERAGE_SPARSE;
  cr_assert_eq(retrieve_form(&p, N, b), PRECIS_COVERAGE_SPARSE);
  /* every parameter is sent with presence: EXACT (0) stays EXACT */
  p.coverage = PRECIS_COVERAGE_EXACT;
  cr_assert_eq(retrieve_form(&p, N, b), PRECIS_COVERAGE_EXACT);
  p.coverage = PRECIS_COVERAGE_AUTO;
  cr_assert_eq(retrieve_form(&p, N, b), PRECIS_COVERAGE_SAMPLE);
  cr_assert(!memcmp(a, b, sizeof a));

  /* an unknown value is the server's INVALID_ARGUMENT */
  p.coverage = (precis_coverage)7;
  precis_retrieve_result *r = NULL;
  precis_error err;
  cr_assert_eq(precis_retrieve(g_c, "cv", &p, &r, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert(strstr(err.msg, "unknown coverage"), "%s", err.msg);
  cr_assert_null(r);
}

Test(client, persistence_across_restart) {
  create("docs", 4, PRECIS_METRIC_COSINE);
  load_axes("docs");
  precis_edge e;
  precis_edge_set(&e, 100, 105, "cites", 0.25f);
  OK(precis_link_add(g_c, "docs", &e, 1, NULL, NULL));
  uint64_t gone = 102;
  OK(precis_delete(g_c, "docs", &gone, 1, NULL, NULL));

  restart();

  precis_collection_info info;
  OK(precis_collection_describe(g_c, "docs", &info, NULL));
  cr_assert_eq(info.count, 5);
  cr_assert_eq(info.dim, 4);
  uint64_t ids[2] = {104, 102};
  precis_points *p;
  OK(precis_get(g_c, "docs", ids, 2, 1, &p, NULL));
  cr_assert_eq(p->n, 1);
  cr_assert_str_eq(p->points[0].text, "point number 4");
  cr_assert_eq(p->n_missing, 1);
  precis_points_free(p);
  precis_edge *out;
  size_t n;
  OK(precis_edges_list(g_c, "docs", 100, PRECIS_EDGES_LINKS, NULL, &out, &n, NULL));
  cr_assert_eq(n, 1);
  cr_assert_eq(out[0].dst, 105);
  precis_edges_free(out);
  precis_hit h[1];
  float q[4] = {0, 0, 0.1f, 1};
  OK(precis_search(g_c, "docs", q, 4, 1, NULL, h, &n, NULL));
  cr_assert_eq(h[0].id, 103);
}

Test(client, search_batch_1000) {
  enum { N = 300, D = 16, Q = 1000, K = 5 };
  create("vecs", D, PRECIS_METRIC_IP);
  float *base = tu_random_vectors(N, D, 7, 1);
  precis_point *pts = calloc(N, sizeof *pts);
  for (int i = 0; i < N; i++)
    pts[i] = (precis_point){.id = (uint64_t)i, .vector = base + i * D, .dim = D, .tokens = -1};
  OK(precis_upsert(g_c, "vecs", pts, N, NULL, NULL));
  free(pts);

  float *qs = tu_random_vectors(Q, D, 99, 1);
  precis_hit *hits = calloc((size_t)Q * K, sizeof *hits);
  size_t *nh = calloc(Q, sizeof *nh);
  int *st = calloc(Q, sizeof *st);
  precis_search_opts exact = {.exact = 1};
  OK(precis_search_batch(g_c, "vecs", qs, Q, D, K, &exact, hits, nh, st, NULL));
  for (int i = 0; i < Q; i++) {
    cr_assert_eq(st[i], PRECIS_OK);
    cr_assert_eq(nh[i], K, "query %d: %zu hits", i, nh[i]);
    size_t want[K];
    tu_topk_dot(base, N, D, qs + i * D, K, want);
    cr_assert_eq(hits[(size_t)i * K].id, (uint64_t)want[0], "query %d: got %llu, brute force %zu",
                 i, (unsigned long long)hits[(size_t)i * K].id, want[0]);
  }
  /* the same answers one at a time (ANN path this time) */
  precis_search_batch(g_c, "vecs", qs, Q, D, K, NULL, hits, nh, st, NULL);
  for (int i = 0; i < 20; i++) {
    precis_hit one[K];
    size_t n1;
    OK(precis_search(g_c, "vecs", qs + i * D, D, K, NULL, one, &n1, NULL));
    cr_assert_eq(n1, nh[i]);
    for (size_t j = 0; j < n1; j++) cr_assert_eq(one[j].id, hits[(size_t)i * K + j].id);
  }
  /* per-query errors do not break the batch or the connection */
  precis_error err;
  int rc = precis_search_batch(g_c, "nope", qs, 10, D, K, NULL, hits, nh, st, &err);
  cr_assert_eq(rc, PRECIS_E_NOT_FOUND);
  cr_assert(strstr(err.msg, "query 0"), "%s", err.msg);
  for (int i = 0; i < 10; i++) cr_assert_eq(st[i], PRECIS_E_NOT_FOUND);
  precis_health h;
  OK(precis_health_check(g_c, &h, NULL));
  free(base);
  free(qs);
  free(hits);
  free(nh);
  free(st);
}

/* ---- auth: its own server ---- */

static char g_tokfile[512];

static void setup_auth(void) {
  g_dir = tu_tmpdir("client-auth");
  snprintf(g_tokfile, sizeof g_tokfile, "%s.token", g_dir);
  FILE *f = fopen(g_tokfile, "w");
  cr_assert_not_null(f);
  fputs("s3cret-token\n", f);
  fclose(f);
  const char *extra[] = {"--auth-token-file", g_tokfile, NULL};
  start(extra);
}

static void teardown_auth(void) {
  teardown();
  unlink(g_tokfile);
}

Test(auth, token_required, .init = setup_auth, .fini = teardown_auth, .timeout = 60) {
  precis_conn *c = NULL;
  precis_error err;
  uint16_t port = (uint16_t)g_srv.port;
  /* no token: connect succeeds (nothing is sent), calls are refused */
  cr_assert_eq(precis_connect("127.0.0.1", port, NULL, 5000, &c, &err), PRECIS_OK);
  precis_collection_info *all;
  size_t n;
  cr_assert_eq(precis_collection_list(c, &all, &n, &err), PRECIS_E_UNAUTHENTICATED, "%s", err.msg);
  precis_close(c);
  c = NULL;
  cr_assert_eq(precis_connect("127.0.0.1", port, "wrong", 5000, &c, &err),
               PRECIS_E_UNAUTHENTICATED);
  cr_assert_null(c);
  cr_assert_eq(precis_connect("127.0.0.1", port, "s3cret-token", 5000, &c, &err), PRECIS_OK, "%s",
               err.msg);
  cr_assert_eq(precis_collection_list(c, &all, &n, &err), PRECIS_OK, "%s", err.msg);
  precis_collection_infos_free(all);
  precis_close(c);
}
