/* test_realdata.c: the engine on real data prepared by scripts/fetch-data.sh
 * (make test fetches it): HNSW recall against exact search on real sentence
 * and word vectors; COMPRESS against TOPK on labelled WordNet synsets; and,
 * on the study corpora manpages-small and wordnet-rel-small (held-out
 * queries, knowledge links), the direction issue 10 requires: COMPRESS has
 * more distinct labels than TOPK, one hop over the links recalls more of a
 * held-out entry's linked entries than TOPK. */
#include <criterion/criterion.h>
#include <math.h>
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
    for (size_t i = 0; i < m; i++)
      p[i] = (engine_point_in){s + i, v + (s + i) * dim, dim, NULL, 0, NULL, 0, 0};
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
  cr_log_info(
      "wordnet-small: distinct categories in top 10: TOPK %.2f, COMPRESS %.2f; mean similarity "
      "%.4f vs %.4f",
      cats[0], cats[1], relsum[0] / (10.0 * nq), relsum[1] / (10.0 * nq));
  cr_assert_gt(cats[1], cats[0], "COMPRESS %.2f categories, TOPK %.2f", cats[1], cats[0]);
  ds_wn_meta_free(&meta);
  free(q);
  free(v);
}

/* ---- study corpora (scripts/README-data.md, "Corpus format"): the
 * direction issue 10 asks for, averaged over every held-out query (>= 100;
 * the query and every link touching it were never ingested) ---- */

typedef struct {
  double sim, labels, recall; /* means; recall over queries with linked entries */
  double items;               /* mean items returned */
} realdata_score;

static void corpus_load_ingest(const char *name, ds_corpus *c) {
  cr_assert(ds_available(name), "data set %s missing: run scripts/fetch-data.sh test", name);
  cr_assert_eq(ds_corpus_load(name, 0, 1, c), 0, "cannot load %s", name);
  cr_assert_geq(c->nq, 100, "%s: %zu held-out queries", name, c->nq);
  cr_assert_gt(c->nlinks, 0);
  engine_collection_config cfg = {.dim = (uint32_t)c->dim, .metric = ENGINE_METRIC_COSINE};
  precis_error err;
  cr_assert_eq(engine_collection_create(E, name, &cfg, &err), PRECIS_OK, "%s", err.msg);
  enum { B = 1000 };
  static engine_point_in p[B];
  static engine_edge l[B];
  for (size_t s = 0; s < c->n; s += B) {
    size_t m = c->n - s < B ? c->n - s : B;
    for (size_t i = 0; i < m; i++)
      p[i] = (engine_point_in){c->ids[s + i],
                               c->vec + (s + i) * c->dim,
                               (uint32_t)c->dim,
                               c->text[s + i],
                               c->text[s + i] ? strlen(c->text[s + i]) : 0,
                               NULL,
                               0,
                               -1}; /* tokens counted from the text */
    cr_assert_eq(engine_upsert(E, name, p, m, &err), PRECIS_OK, "%s", err.msg);
  }
  for (size_t s = 0; s < c->nlinks; s += B) {
    size_t m = c->nlinks - s < B ? c->nlinks - s : B;
    for (size_t i = 0; i < m; i++) {
      memset(&l[i], 0, sizeof l[i]);
      l[i].src = c->links[s + i].src;
      l[i].dst = c->links[s + i].dst;
      memcpy(l[i].kind, c->links[s + i].kind, sizeof l[i].kind);
      l[i].weight = c->links[s + i].weight;
    }
    cr_assert_eq(engine_links_change(E, name, l, m, true, NULL, &err), PRECIS_OK, "%s", err.msg);
  }
  cr_assert_eq(engine_graph_rebuild(E, name, &err), PRECIS_OK, "%s", err.msg);
}

/* Every query retrieved with the engine defaults, except `mode` (-1: the
 * default), `hops` (over knowledge links only: the default edges) and, with
 * `budget` > 0, k 50 and that token budget. */
static realdata_score corpus_score_qb(const char *name, const ds_corpus *c, int mode, uint32_t hops,
                                      uint64_t budget, double *qsim) {
  enum { KB = 50 };
  realdata_score s = {0, 0, 0, 0};
  size_t nrec = 0;
  for (size_t qi = 0; qi < c->nq; qi++) {
    engine_retrieve_params rp;
    engine_retrieve_params_default(&rp);
    if (mode >= 0) rp.mode = (engine_mode)mode;
    rp.hops = hops;
    if (budget) {
      rp.k = KB;
      rp.token_budget = budget;
    }
    rp.query = c->qvec + qi * c->dim;
    rp.dim = (uint32_t)c->dim;
    engine_retrieve_result *r;
    precis_error err;
    cr_assert_eq(engine_retrieve(E, name, &rp, &r, &err), PRECIS_OK, "%s", err.msg);
    if (budget)
      cr_assert(r->n <= KB);
    else
      cr_assert_eq(r->n, 10);
    uint32_t labs[KB];
    uint64_t used = 0;
    size_t nl = 0, found = 0;
    double sim = 0;
    for (size_t j = 0; j < r->n; j++) {
      long row = ds_corpus_row(c, r->items[j].id);
      cr_assert_geq(row, 0, "retrieve returned unknown id %llu",
                    (unsigned long long)r->items[j].id);
      uint32_t lab = c->label[row];
      used += r->items[j].tokens;
      size_t t = 0;
      while (t < nl && labs[t] != lab) t++;
      if (t == nl) labs[nl++] = lab;
      for (size_t h = 0; h < c->nqlinked[qi]; h++) found += c->qlinked[qi][h] == r->items[j].id;
      double d = 0, qq = 0, vv = 0; /* cosine, whatever the stored norms */
      for (size_t k = 0; k < c->dim; k++) {
        double a = c->qvec[qi * c->dim + k], b = c->vec[row * c->dim + k];
        d += a * b;
        qq += a * a;
        vv += b * b;
      }
      sim += qq > 0 && vv > 0 ? d / sqrt(qq * vv) : 0;
    }
    cr_assert_leq(used, budget ? budget : UINT64_MAX);
    s.labels += (double)nl;
    s.items += (double)r->n;
    s.sim += r->n ? sim / (double)r->n : 0;
    if (qsim) qsim[qi] = r->n ? sim / (double)r->n : NAN;
    if (c->nqlinked[qi]) {
      s.recall += (double)found / (double)c->nqlinked[qi];
      nrec++;
    }
    engine_retrieve_result_free(r);
  }
  s.labels /= (double)c->nq;
  s.items /= (double)c->nq;
  s.sim /= (double)c->nq;
  s.recall = nrec ? s.recall / (double)nrec : 0;
  cr_assert_geq(nrec, 100, "%s: only %zu queries have linked entries", name, nrec);
  return s;
}

static realdata_score corpus_score_q(const char *name, const ds_corpus *c, int mode, uint32_t hops,
                                     double *qsim) {
  return corpus_score_qb(name, c, mode, hops, 0, qsim);
}

static realdata_score corpus_score(const char *name, const ds_corpus *c, int mode, uint32_t hops) {
  return corpus_score_q(name, c, mode, hops, NULL);
}

/* COMPRESS at the defaults has more distinct labels among its 10 than TOPK;
 * it and MMR at its default lambda keep the similarity floor (0.975 of
 * TOPK's mean similarity) on every query, not only on average. */
static void compress_more_labels(const char *name) {
  ds_corpus c;
  corpus_load_ingest(name, &c);
  double *qt = calloc(c.nq, sizeof *qt), *qd = calloc(c.nq, sizeof *qd),
         *qm = calloc(c.nq, sizeof *qm);
  cr_assert(qt && qd && qm);
  realdata_score t = corpus_score_q(name, &c, ENGINE_MODE_TOPK, 0, qt);
  realdata_score d = corpus_score_q(name, &c, -1, 0, qd);
  corpus_score_q(name, &c, ENGINE_MODE_MMR, 0, qm);
  for (size_t qi = 0; qi < c.nq; qi++) {
    double need = qt[qi] - (1 - 0.975) * fabs(qt[qi]) - 1e-5;
    cr_assert_geq(qd[qi], need, "%s query %zu: COMPRESS %.5f, TOPK %.5f", name, qi, qd[qi], qt[qi]);
    cr_assert_geq(qm[qi], need, "%s query %zu: MMR %.5f, TOPK %.5f", name, qi, qm[qi], qt[qi]);
  }
  free(qt);
  free(qd);
  free(qm);
  cr_log_info(
      "%s: %zu queries: distinct labels TOPK %.3f, COMPRESS (defaults) %.3f (%.3fx) at %.1f %% of "
      "TOPK's similarity",
      name, c.nq, t.labels, d.labels, d.labels / t.labels, 100 * d.sim / t.sim);
  cr_assert_gt(d.labels, t.labels, "%s: COMPRESS %.3f labels, TOPK %.3f", name, d.labels, t.labels);
  ds_corpus_free(&c);
}

/* One hop over the knowledge links finds more of the held-out entry's linked
 * entries than TOPK at hops 0: with the selection at its default (`mode`
 * -1, what a user gets with hops 1) or with TOPK (the expansion alone). */
static void hop1_recall_above_topk(const char *name, int mode) {
  ds_corpus c;
  corpus_load_ingest(name, &c);
  realdata_score t = corpus_score(name, &c, ENGINE_MODE_TOPK, 0);
  realdata_score h = corpus_score(name, &c, mode, 1);
  cr_log_info(
      "%s: %zu queries: recall of linked entries TOPK %.4f, hops 1 over links (%s) %.4f (%.3fx) at "
      "%.1f %% of TOPK's similarity",
      name, c.nq, t.recall, mode < 0 ? "defaults" : "TOPK", h.recall, h.recall / t.recall,
      100 * h.sim / t.sim);
  cr_assert_gt(h.recall, t.recall, "%s: hops 1 recall %.4f, TOPK %.4f", name, h.recall, t.recall);
  ds_corpus_free(&c);
}

/* Under a token budget (k 50, so the budget binds) COMPRESS at the defaults
 * has more distinct labels than TOPK under the same budget, keeps the floor
 * against TOPK's budgeted set on every query, and returns about as many
 * items: a budget is a constraint, not a preference for short items. The
 * cost-benefit greedy this replaced returned 1.4-1.6x TOPK's items on these
 * corpora (the shortest that met the floor; docs/RETRIEVAL.md, "Token
 * budgets"). */
static void budget_compress_more_labels(const char *name, uint64_t budget) {
  ds_corpus c;
  corpus_load_ingest(name, &c);
  double *qt = calloc(c.nq, sizeof *qt), *qd = calloc(c.nq, sizeof *qd);
  cr_assert(qt && qd);
  realdata_score t = corpus_score_qb(name, &c, ENGINE_MODE_TOPK, 0, budget, qt);
  realdata_score d = corpus_score_qb(name, &c, -1, 0, budget, qd);
  for (size_t qi = 0; qi < c.nq; qi++) {
    if (isnan(qt[qi])) continue; /* nothing fits */
    double need = qt[qi] - (1 - 0.975) * fabs(qt[qi]) - 1e-5;
    cr_assert_geq(qd[qi], need, "%s query %zu: COMPRESS %.5f, TOPK %.5f", name, qi, qd[qi], qt[qi]);
  }
  free(qt);
  free(qd);
  cr_log_info(
      "%s, token budget %llu: %zu queries: items TOPK %.2f, COMPRESS %.2f; distinct labels "
      "TOPK %.3f, COMPRESS %.3f (%.3fx) at %.1f %% of TOPK's similarity",
      name, (unsigned long long)budget, c.nq, t.items, d.items, t.labels, d.labels,
      d.labels / t.labels, 100 * d.sim / t.sim);
  cr_assert_gt(d.labels, t.labels, "%s: COMPRESS %.3f labels, TOPK %.3f", name, d.labels, t.labels);
  cr_assert_leq(d.items, 1.15 * t.items, "%s: COMPRESS %.2f items, TOPK %.2f", name, d.items,
                t.items);
  ds_corpus_free(&c);
}

Test(realdata, manpages_budget_compress_more_labels_than_topk) {
  budget_compress_more_labels("manpages-small", 1000);
}
Test(realdata, wordnet_rel_budget_compress_more_labels_than_topk) {
  budget_compress_more_labels("wordnet-rel-small", 300);
}

Test(realdata, manpages_compress_more_labels_than_topk) { compress_more_labels("manpages-small"); }
Test(realdata, wordnet_rel_compress_more_labels_than_topk) {
  compress_more_labels("wordnet-rel-small");
}
Test(realdata, wordnet_rel_hop1_links_recall_above_topk) {
  hop1_recall_above_topk("wordnet-rel-small", -1);
}
/* Failed before issue 10's expansion budgets and summed graph evidence (the
 * seeds filled the pool and COMPRESS traded the linked entries away). */
Test(realdata, manpages_hop1_links_recall_above_topk) {
  hop1_recall_above_topk("manpages-small", -1);
}
Test(realdata, manpages_hop1_links_topk_recall_above_hops0) {
  hop1_recall_above_topk("manpages-small", ENGINE_MODE_TOPK);
}
Test(realdata, wordnet_rel_hop1_links_topk_recall_above_hops0) {
  hop1_recall_above_topk("wordnet-rel-small", ENGINE_MODE_TOPK);
}
