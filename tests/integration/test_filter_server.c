/* test_filter_server.c: filters end to end (libprecis JSON form -> wire
 * Filter -> server -> engine): random filters on search and retrieve against
 * brute force, the filter report, and the errors for bad filters. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filtergen.h"
#include "precis/precis.h"
#include "srvproc.h"
#include "testutil.h"

#define N    1500
#define DIM  12
#define SEED 3

static char *g_dir;
static srvproc g_srv;
static precis_conn *g_c;
static float *vecs;
static uint64_t ids[N];
static fg_attrs attrs[N];

static void setup(void) {
  g_dir = tu_tmpdir("filtersrv");
  int port = srvproc_start(g_dir, NULL, &g_srv);
  cr_assert_gt(port, 0, "precisd did not start");
  precis_error err;
  cr_assert_eq(precis_connect("127.0.0.1", (uint16_t)port, NULL, 30000, &g_c, &err), PRECIS_OK,
               "%s", err.msg);
  precis_collection_config cfg;
  precis_collection_config_init(&cfg, DIM);
  cfg.index_spec = "HNSW16";
  cr_assert_eq(precis_collection_create(g_c, "f", &cfg, NULL, &err), PRECIS_OK, "%s", err.msg);
  vecs = tu_random_vectors(N, DIM, SEED, 1);
  precis_point *p = calloc(N, sizeof *p);
  char(*meta)[256] = calloc(N, 256);
  for (size_t i = 0; i < N; i++) {
    ids[i] = 10 + i;
    fg_attrs_of(SEED, i, &attrs[i]);
    fg_meta_json(&attrs[i], meta[i], 256);
    p[i] = (precis_point){ids[i], vecs + i * DIM, DIM, "x", meta[i], -1};
  }
  cr_assert_eq(precis_upsert(g_c, "f", p, N, NULL, &err), PRECIS_OK, "%s", err.msg);
  free(p);
  free(meta);
}

static void teardown(void) {
  precis_close(g_c);
  if (g_srv.pid) srvproc_stop(&g_srv);
  srvproc_cleanup(&g_srv);
  tu_rmrf_free(g_dir);
  free(vecs);
}

TestSuite(filter_server, .init = setup, .fini = teardown, .timeout = 180);

static bool passes(const fg_filter *F, uint64_t id) {
  return id >= 10 && id < 10 + N && fg_eval(F, id, &attrs[id - 10]);
}

/* A random filter (*F, its JSON form *json and parsed *pf) and a random
 * unit query q (DIM floats). */
static void random_case(uint64_t *rng, fg_filter **F, char **json, precis_filter **pf, float *q) {
  precis_error err;
  *F = fg_random(rng, ids, N);
  *json = fg_json(*F);
  cr_assert_eq(precis_filter_parse(*json, pf, &err), PRECIS_OK, "%s: %s", *json, err.msg);
  double nq = 0;
  for (int d = 0; d < DIM; d++) q[d] = tu_randf(rng), nq += (double)q[d] * q[d];
  for (int d = 0; d < DIM; d++) q[d] = (float)(q[d] / sqrt(nq));
}

Test(filter_server, random_filters_search_and_retrieve) {
  uint64_t rng = 77;
  precis_error err;
  for (int t = 0; t < 30; t++) {
    fg_filter *F;
    char *json;
    precis_filter *pf;
    float q[DIM];
    random_case(&rng, &F, &json, &pf, q);
    size_t want[10];
    double ws[10];
    size_t nw = fg_brute_topk(F, ids, attrs, vecs, N, DIM, q, 10, want, ws);
    /* exact search equals brute force */
    precis_hit hits[10];
    size_t nh;
    precis_filter_report rep;
    precis_search_opts so = {.exact = 1};
    cr_assert_eq(precis_search_filtered(g_c, "f", q, DIM, 10, &so, pf, hits, &nh, &rep, &err),
                 PRECIS_OK, "%s", err.msg);
    cr_assert_eq(nh, nw < 10 ? nw : 10, "filter %s", json);
    for (size_t i = 0; i < nh; i++)
      cr_assert_eq(hits[i].id, ids[want[i]], "filter %s rank %zu", json, i);
    cr_assert_eq(rep.plan, PRECIS_FILTER_PLAN_SCAN);
    /* ANN search: only passing points */
    so.exact = 0;
    cr_assert_eq(precis_search_filtered(g_c, "f", q, DIM, 10, &so, pf, hits, &nh, &rep, &err),
                 PRECIS_OK, "%s", err.msg);
    cr_assert_neq(rep.plan, PRECIS_FILTER_PLAN_NONE);
    for (size_t i = 0; i < nh; i++)
      cr_assert(passes(F, hits[i].id), "filter %s: hit %llu", json, (unsigned long long)hits[i].id);
    /* retrieve in every mode, with hops */
    for (int mode = 0; mode < 3; mode++) {
      precis_retrieve_params p;
      precis_retrieve_params_init(&p);
      p.vector = q;
      p.dim = DIM;
      p.mode = (precis_mode)mode;
      p.hops = (uint32_t)(t % 3);
      p.filter = pf;
      p.max_represented_ids = 1000;
      precis_retrieve_result *r;
      cr_assert_eq(precis_retrieve(g_c, "f", &p, &r, &err), PRECIS_OK, "%s", err.msg);
      cr_assert_neq(r->filter_report.plan, PRECIS_FILTER_PLAN_NONE);
      for (size_t i = 0; i < r->n; i++) {
        cr_assert(passes(F, r->items[i].id), "filter %s mode %d: item %llu", json, mode,
                  (unsigned long long)r->items[i].id);
        for (size_t j = 0; j < r->items[i].n_represented_ids; j++)
          cr_assert(passes(F, r->items[i].represented_ids[j]));
      }
      precis_retrieve_result_free(r);
    }
    precis_filter_free(pf);
    free(json);
    free(F);
  }
}

Test(filter_server, bad_filters) {
  precis_error err;
  precis_filter *pf = NULL;
  /* the client catches malformed JSON and unknown fields */
  const char *bad_json[] = {"",
                            "[]",
                            "{\"must\":{}}",
                            "{\"must\":[{\"key\":\"a\"}]}",
                            "{\"must\":[{\"key\":\"a\",\"match\":1.5}]}",
                            "{\"must\":[{\"key\":\"a\",\"match\":1,\"any\":[1]}]}",
                            "{\"must\":[{\"key\":\"a\",\"range\":{\"between\":1}}]}",
                            "{\"must\":[{\"has_id\":[-1]}]}",
                            "{\"filter\":[]}",
                            "{\"must\":[{\"key\":\"a\",\"any\":[]}]}"};
  for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
    cr_assert_eq(precis_filter_parse(bad_json[i], &pf, &err), PRECIS_E_INVALID_ARGUMENT, "%s",
                 bad_json[i]);
    cr_assert_null(pf);
  }
  /* too deep for the client */
  char deep[1024] = "";
  for (int i = 0; i < PRECIS_MAX_FILTER_DEPTH + 1; i++) strcat(deep, "{\"must\":[");
  strcat(deep, "{\"key\":\"a\",\"exists\":true}");
  for (int i = 0; i < PRECIS_MAX_FILTER_DEPTH + 1; i++) strcat(deep, "]}");
  cr_assert_eq(precis_filter_parse(deep, &pf, &err), PRECIS_E_OUT_OF_RANGE, "%s", err.msg);
  /* the server checks the rest and keeps serving */
  float q[DIM] = {1};
  precis_hit hits[5];
  size_t nh;
  struct {
    const char *json;
    int code;
  } server_side[] = {
      {"{\"must\":[{\"key\":\"ts\",\"date_range\":{\"gte\":\"2024-02-30\"}}]}",
       PRECIS_E_INVALID_ARGUMENT},
      {"{\"must\":[{\"key\":\"a..b\",\"exists\":true}]}", PRECIS_E_INVALID_ARGUMENT},
      {"{\"must\":[{\"key\":\"n\",\"range\":{}}]}", PRECIS_E_INVALID_ARGUMENT},
  };
  for (size_t i = 0; i < sizeof server_side / sizeof *server_side; i++) {
    int rc = precis_filter_parse(server_side[i].json, &pf, &err);
    if (rc == PRECIS_OK) {
      rc = precis_search_filtered(g_c, "f", q, DIM, 5, NULL, pf, hits, &nh, NULL, &err);
      precis_filter_free(pf);
    }
    cr_assert_eq(rc, server_side[i].code, "%s: %s", server_side[i].json, err.msg);
  }
  /* more conditions than the limit: built as two lists the client accepts */
  size_t cap = 64 + 2 * 200 * 40;
  char *big = malloc(cap);
  size_t n = (size_t)snprintf(big, cap, "{\"must\":[");
  for (int i = 0; i < 200; i++)
    n += (size_t)snprintf(big + n, cap - n, "%s{\"key\":\"a\",\"exists\":false}", i ? "," : "");
  n += (size_t)snprintf(big + n, cap - n, "],\"must_not\":[");
  for (int i = 0; i < 200; i++)
    n += (size_t)snprintf(big + n, cap - n, "%s{\"key\":\"b\",\"exists\":true}", i ? "," : "");
  snprintf(big + n, cap - n, "]}");
  cr_assert_eq(precis_filter_parse(big, &pf, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(precis_search_filtered(g_c, "f", q, DIM, 5, NULL, pf, hits, &nh, NULL, &err),
               PRECIS_E_OUT_OF_RANGE);
  precis_filter_free(pf);
  free(big);
  cr_assert_eq(precis_search(g_c, "f", q, DIM, 5, NULL, hits, &nh, &err), PRECIS_OK,
               "server still serves");
  cr_assert_eq(nh, 5);
}

Test(filter_server, payload_indexes_over_the_wire) {
  precis_error err;
  cr_assert_eq(precis_payload_index_create(g_c, "f", "cat", PRECIS_PINDEX_KEYWORD, &err), PRECIS_OK,
               "%s", err.msg);
  cr_assert_eq(precis_payload_index_create(g_c, "f", "n", PRECIS_PINDEX_INTEGER, &err), PRECIS_OK,
               "%s", err.msg);
  cr_assert_eq(precis_payload_index_create(g_c, "f", "cat", PRECIS_PINDEX_FLOAT, &err),
               PRECIS_E_ALREADY_EXISTS);
  cr_assert_eq(precis_payload_index_create(g_c, "f", "x", (precis_pindex_type)7, &err),
               PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(precis_payload_index_create(g_c, "f", ".x", PRECIS_PINDEX_BOOL, &err),
               PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(precis_payload_index_create(g_c, "nope", "x", PRECIS_PINDEX_BOOL, &err),
               PRECIS_E_NOT_FOUND);
  cr_assert_eq(precis_payload_index_drop(g_c, "f", "zz", &err), PRECIS_E_NOT_FOUND);
  precis_pindex_info *inf = NULL;
  size_t n = 0;
  for (int t = 0; t < 3000; t++) {
    free(inf);
    cr_assert_eq(precis_payload_index_list(g_c, "f", &inf, &n, &err), PRECIS_OK);
    cr_assert_eq(n, 2);
    if (inf[0].ready && inf[1].ready) break;
    usleep(10000);
  }
  cr_assert_str_eq(inf[0].key, "cat");
  cr_assert_eq(inf[1].type, PRECIS_PINDEX_INTEGER);
  cr_assert(inf[0].ready && inf[1].ready);
  free(inf);
  precis_filter *pf;
  cr_assert_eq(
      precis_filter_parse(
          "{\"must\":[{\"key\":\"cat\",\"match\":\"c7\"},{\"key\":\"n\",\"any\":[1,2,3,500]}]}",
          &pf, &err),
      PRECIS_OK);
  float q[DIM] = {1};
  precis_hit hits[10];
  size_t nh;
  precis_filter_report rep;
  cr_assert_eq(precis_search_filtered(g_c, "f", q, DIM, 10, NULL, pf, hits, &nh, &rep, &err),
               PRECIS_OK);
  cr_assert_eq(rep.plan, PRECIS_FILTER_PLAN_SCAN);
  cr_assert(!rep.unindexed, "both conditions answered by indexes");
  for (size_t i = 0; i < nh; i++) {
    const fg_attrs *a = &attrs[hits[i].id - 10];
    cr_assert(a->cat == 7 && (a->n == 1 || a->n == 2 || a->n == 3 || a->n == 500));
  }
  precis_filter_free(pf);
  cr_assert_eq(precis_payload_index_drop(g_c, "f", "cat", &err), PRECIS_OK);
  cr_assert_eq(precis_payload_index_list(g_c, "f", &inf, &n, &err), PRECIS_OK);
  cr_assert_eq(n, 1);
  free(inf);
}

Test(filter_server, count_scroll_delete_set_payload) {
  uint64_t rng = 5;
  precis_error err;
  for (int t = 0; t < 10; t++) {
    fg_filter *F = fg_random(&rng, ids, N);
    char *json = fg_json(F);
    precis_filter *pf;
    cr_assert_eq(precis_filter_parse(json, &pf, &err), PRECIS_OK, "%s", err.msg);
    size_t want = 0;
    for (size_t i = 0; i < N; i++) want += fg_eval(F, ids[i], &attrs[i]);
    uint64_t n;
    cr_assert_eq(precis_count(g_c, "f", pf, &n, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_eq(n, want, "%s", json);
    uint64_t cursor = 0;
    int more = 1;
    size_t seen = 0, next_i = 0;
    while (more) {
      precis_points *p;
      cr_assert_eq(precis_scroll(g_c, "f", pf, cursor, 50, t == 0, &p, &cursor, &more, &err),
                   PRECIS_OK, "%s", err.msg);
      for (size_t j = 0; j < p->n; j++, seen++, next_i++) {
        while (!fg_eval(F, ids[next_i], &attrs[next_i])) next_i++;
        cr_assert_eq(p->points[j].id, ids[next_i]);
        if (t == 0) cr_assert_eq(p->points[j].dim, DIM);
      }
      precis_points_free(p);
    }
    cr_assert_eq(seen, want);
    precis_filter_free(pf);
    free(json);
    free(F);
  }
  uint64_t all;
  cr_assert_eq(precis_count(g_c, "f", NULL, &all, &err), PRECIS_OK);
  cr_assert_eq(all, N);
  /* set payload, then delete by the new value */
  uint64_t some[3] = {ids[1], ids[2], ids[3]}, upd, del;
  cr_assert_eq(precis_set_payload(g_c, "f", some, 3, "{\"doomed\":true}", 1, &upd, &err), PRECIS_OK,
               "%s", err.msg);
  cr_assert_eq(upd, 3);
  precis_points *p;
  cr_assert_eq(precis_get(g_c, "f", some, 1, 0, &p, &err), PRECIS_OK);
  cr_assert(
      strstr(p->points[0].metadata, "\"doomed\":true") && strstr(p->points[0].metadata, "\"cat\""),
      "%s", p->points[0].metadata);
  precis_points_free(p);
  precis_filter *pf;
  cr_assert_eq(precis_filter_parse("{\"must\":[{\"key\":\"doomed\",\"match\":true}]}", &pf, &err),
               PRECIS_OK);
  cr_assert_eq(precis_delete_by_filter(g_c, "f", NULL, &del, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(precis_delete_by_filter(g_c, "f", pf, &del, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(del, 3);
  cr_assert_eq(precis_count(g_c, "f", NULL, &all, &err), PRECIS_OK);
  cr_assert_eq(all, N - 3);
  cr_assert_eq(precis_count(g_c, "f", pf, &all, &err), PRECIS_OK);
  cr_assert_eq(all, 0);
  precis_filter_free(pf);
  cr_assert_eq(precis_set_payload(g_c, "f", some, 1, "not json", 0, &upd, &err),
               PRECIS_E_INVALID_JSON);
  uint64_t cur;
  int mo;
  cr_assert_eq(precis_scroll(g_c, "f", NULL, 0, 20000, 0, &p, &cur, &mo, &err),
               PRECIS_E_OUT_OF_RANGE);
}

/* group_by over the wire, beside random filters: TOPK over exact seeds is
 * the filtered top-40 with at most 2 points per category, brute force; a
 * bad path is an error, not ignored. */
Test(filter_server, group_by_with_filters) {
  uint64_t rng = 909;
  precis_error err;
  enum { S = 40 };
  for (int t = 0; t < 12; t++) {
    fg_filter *F;
    char *json;
    precis_filter *pf;
    float q[DIM];
    random_case(&rng, &F, &json, &pf, q);
    size_t top[S];
    double ts[S];
    size_t ntop = fg_brute_topk(F, ids, attrs, vecs, N, DIM, q, S, top, ts);
    if (ntop > S) ntop = S;
    uint64_t want[10];
    size_t nw = 0;
    int per_cat[10] = {0};
    for (size_t i = 0; i < ntop && nw < 10; i++)
      if (per_cat[attrs[top[i]].cat]++ < 2) want[nw++] = ids[top[i]];
    precis_retrieve_params p;
    precis_retrieve_params_init(&p);
    p.vector = q;
    p.dim = DIM;
    p.mode = PRECIS_MODE_TOPK;
    p.exact_seeds = 1;
    p.seeds = S;
    p.filter = pf;
    p.group_by = "cat";
    p.group_limit = 2;
    precis_retrieve_result *r;
    cr_assert_eq(precis_retrieve(g_c, "f", &p, &r, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_eq(r->n, nw, "filter %s: %zu items, want %zu", json, r->n, nw);
    for (size_t i = 0; i < nw; i++) cr_assert_eq(r->items[i].id, want[i], "%s rank %zu", json, i);
    precis_retrieve_result_free(r);
    /* the default mode keeps the cap too */
    p.mode = PRECIS_MODE_COMPRESS;
    cr_assert_eq(precis_retrieve(g_c, "f", &p, &r, &err), PRECIS_OK, "%s", err.msg);
    int seen[10] = {0};
    for (size_t i = 0; i < r->n; i++)
      cr_assert_leq(++seen[attrs[r->items[i].id - 10].cat], 2, "%s: a category thrice", json);
    precis_retrieve_result_free(r);
    precis_filter_free(pf);
    free(json);
    free(F);
  }
  float q[DIM] = {1};
  precis_retrieve_params p;
  precis_retrieve_params_init(&p);
  p.vector = q;
  p.dim = DIM;
  p.group_by = "nested..a";
  precis_retrieve_result *r = NULL;
  cr_assert_eq(precis_retrieve(g_c, "f", &p, &r, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert(strstr(err.msg, "group_by") != NULL, "%s", err.msg);
  p.group_by = "nested.a";
  p.group_limit = 0;
  cr_assert_eq(precis_retrieve(g_c, "f", &p, &r, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert(strstr(err.msg, "group_limit") != NULL, "%s", err.msg);
}
