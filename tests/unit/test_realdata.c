/* test_realdata.c: the engine on real data prepared by scripts/fetch-data.sh
 * (make test fetches it): HNSW recall against exact search on real sentence
 * and word vectors, and COMPRESS against TOPK on labelled WordNet synsets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "engine.h"
#include "testutil.h"

static char *dir;
static engine *E;

static void setup(void) {
  dir = tu_tmpdir("real");
  engine_options o;
  engine_options_default(&o);
  o.sync_writes = 0;
  o.log = NULL;
  precis_error err;
  cr_assert_eq(engine_open(dir, &o, &E, &err), PRECIS_OK, "%s", err.msg);
}
static void teardown(void) {
  engine_close(E);
  tu_rmrf_free(dir);
}
TestSuite(realdata, .init = setup, .fini = teardown, .timeout = 600);

static float *load(const char *set, const char *file, size_t dim, size_t *n) {
  char p[1024];
  cr_assert_eq(ds_path(p, sizeof p, set, file), 0);
  cr_assert(ds_available(set), "data set %s missing: run scripts/fetch-data.sh test", set);
  float *v;
  cr_assert_eq(ds_load_f32(p, dim, &v, n), 0, "cannot load %s", p);
  return v;
}

static void ingest(const char *coll, uint32_t dim, const char *spec, const float *v, size_t n) {
  engine_collection_config c = {0};
  c.dim = dim;
  snprintf(c.index_spec, sizeof c.index_spec, "%s", spec);
  precis_error err;
  cr_assert_eq(engine_collection_create(E, coll, &c, &err), PRECIS_OK, "%s", err.msg);
  size_t B = 1000;
  engine_point_in *p = calloc(B, sizeof *p);
  for (size_t s = 0; s < n; s += B) {
    size_t m = n - s < B ? n - s : B;
    for (size_t i = 0; i < m; i++) p[i] = (engine_point_in){s + i, v + (s + i) * dim, dim, NULL, 0, NULL, 0, 0};
    cr_assert_eq(engine_upsert(E, coll, p, m, &err), PRECIS_OK, "%s", err.msg);
  }
  free(p);
}

/* mean recall@10 of the collection's default ANN search against exact */
static double recall_vs_exact(const char *coll, const float *q, size_t nq, uint32_t dim) {
  double sum = 0;
  for (size_t i = 0; i < nq; i++) {
    engine_hit a[10], x[10];
    size_t na, nx;
    precis_error err;
    engine_search_params exact = {true, 0, 0};
    cr_assert_eq(engine_search(E, coll, q + i * dim, dim, 10, NULL, a, &na, &err), PRECIS_OK);
    cr_assert_eq(engine_search(E, coll, q + i * dim, dim, 10, &exact, x, &nx, &err), PRECIS_OK);
    size_t hit = 0;
    for (size_t j = 0; j < na; j++)
      for (size_t t = 0; t < nx; t++) hit += a[j].id == x[t].id;
    sum += (double)hit / 10.0;
  }
  return sum / (double)nq;
}

Test(realdata, fiori_hnsw_recall_at_10) {
  size_t n;
  float *v = load("fiori", "vectors.f32", 384, &n);
  cr_assert_eq(n, 778);
  ingest("fiori", 384, "HNSW32", v, n);
  /* queries: every 7th document vector, slightly perturbed so it is not an
   * exact copy of a stored point */
  size_t nq = 0;
  float *q = malloc(n * 384 * sizeof *q);
  uint64_t s = 1;
  for (size_t i = 0; i < n; i += 7, nq++)
    for (size_t d = 0; d < 384; d++) q[nq * 384 + d] = v[i * 384 + d] + 0.02f * tu_randf(&s);
  double r = recall_vs_exact("fiori", q, nq, 384);
  cr_log_info("fiori: HNSW32 recall@10 = %.4f over %zu queries", r, nq);
  cr_assert_geq(r, 0.95, "HNSW recall@10 %.4f below 0.95", r);
  free(q);
  free(v);
}

Test(realdata, glove_small_hnsw_recall_against_ground_truth) {
  size_t n, nq, ng;
  float *base = load("glove-small", "base.f32", 100, &n);
  float *q = load("glove-small", "queries.f32", 100, &nq);
  char p[1024];
  ds_path(p, sizeof p, "glove-small", "gt100.i32");
  int32_t *gt;
  cr_assert_eq(ds_load_i32(p, 100, &gt, &ng), 0);
  cr_assert_eq(ng, nq);
  ingest("glove", 100, "HNSW32", base, n);
  double sum = 0;
  for (size_t i = 0; i < nq; i++) {
    engine_hit h[10];
    size_t nh;
    precis_error err;
    cr_assert_eq(engine_search(E, "glove", q + i * 100, 100, 10, NULL, h, &nh, &err), PRECIS_OK);
    size_t hit = 0;
    for (size_t j = 0; j < nh; j++)
      for (size_t t = 0; t < 10; t++) hit += h[j].id == (uint64_t)gt[i * 100 + t];
    sum += hit / 10.0;
  }
  double r = sum / (double)nq;
  cr_log_info("glove-small: HNSW32 recall@10 = %.4f over %zu queries", r, nq);
  cr_assert_geq(r, 0.95, "recall@10 %.4f below 0.95", r);
  free(gt);
  free(q);
  free(base);
}

Test(realdata, wordnet_compress_covers_more_categories_than_topk) {
  size_t n, nq;
  float *v = load("wordnet-small", "vectors.f32", 100, &n);
  float *q = load("wordnet-small", "queries.f32", 100, &nq);
  char p[1024];
  ds_path(p, sizeof p, "wordnet-small", "meta.tsv");
  ds_wn_meta meta;
  cr_assert_eq(ds_load_wn_meta(p, &meta), 0);
  cr_assert_eq(meta.n, n);
  ingest("wn", 100, "", v, n); /* point id = row */
  cr_assert_geq(nq, 100);
  double cats[2] = {0, 0}, relsum[2] = {0, 0};
  engine_mode modes[2] = {ENGINE_MODE_TOPK, ENGINE_MODE_COMPRESS};
  for (size_t i = 0; i < nq; i++) {
    for (int m = 0; m < 2; m++) {
      engine_retrieve_params rp;
      engine_retrieve_params_default(&rp);
      rp.mode = modes[m];
      rp.query = q + i * 100;
      rp.dim = 100;
      engine_retrieve_result *r;
      precis_error err;
      cr_assert_eq(engine_retrieve(E, "wn", &rp, &r, &err), PRECIS_OK, "%s", err.msg);
      cr_assert_eq(r->n, 10);
      unsigned char seen[256] = {0};
      int distinct = 0;
      for (size_t j = 0; j < r->n; j++) {
        uint8_t c = meta.category[r->items[j].id];
        if (!seen[c]++) distinct++;
        relsum[m] += r->items[j].similarity;
      }
      cats[m] += distinct;
      engine_retrieve_result_free(r);
    }
  }
  cats[0] /= (double)nq;
  cats[1] /= (double)nq;
  cr_log_info("wordnet-small: distinct categories in top 10: TOPK %.2f, COMPRESS %.2f; mean similarity %.4f vs %.4f",
              cats[0], cats[1], relsum[0] / (10.0 * nq), relsum[1] / (10.0 * nq));
  cr_assert_gt(cats[1], cats[0], "COMPRESS %.2f categories, TOPK %.2f", cats[1], cats[0]);
  ds_wn_meta_free(&meta);
  free(q);
  free(v);
}
