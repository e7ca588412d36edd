/*
 * study_filter.c: `precis-bench filter`: filtered search and retrieval
 * quality and speed (issue 14).
 *
 * GloVe (glove-small by default) gets a synthetic attribute r, uniform in
 * 0..999 (a hash of the id); the filters r < 500, 100, 10, 1 select 50 %,
 * 10 %, 1 % and 0.1 % of the points. WordNet (wordnet-small) gets its
 * lexicographer category as a real keyword field, filtered by `match` on a
 * frequent, a middling and a rare category. Each set runs twice: without a
 * payload index (conditions checked on stored metadata) and with one (float
 * index on r, keyword index on category).
 *
 * Per filter, over the queries:
 *   search recall@10  against brute force over the passing points
 *   search QPS        one thread, in-process, default efSearch
 *   retrieve TOPK     recall@10 against the same brute force (hops 0)
 *   retrieve MMR, COMPRESS  overlap@10 with the same retrieval seeded by an
 *                     exact filtered search (the brute-force candidate
 *                     set), hops 1: what filtering loses in the ANN seeds
 *   pass              share of returned items that pass the filter (must
 *                     be 1)
 * plus unfiltered search QPS for the 1 % ratio.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_util.h"
#include "dataset.h"
#include "engine.h"
#include "filtergen.h"

#define FB_DIM  100
#define FB_K    10
#define FB_REPS 3

static int fb_indexed_only;         /* --indexed-only: skip the runs without an index */
static engine_pindex_info fb_pinfo; /* the set's payload index, once ready */

/* fg_wait_indexes_ready, then note the index's memory for the table. */
static bool fb_ready(engine *e) {
  engine_pindex_info *inf;
  size_t n;
  precis_error err;
  if (!fg_wait_indexes_ready(e, "f") || engine_payload_index_list(e, "f", &inf, &n, &err))
    return false;
  if (n) fb_pinfo = inf[0];
  free(inf);
  return true;
}

typedef struct {
  const char *label; /* "r < 10" or "category = noun.artifact" */
  double share;      /* of the points passing */
  int index;         /* payload index present */
  double s_recall, s_qps, t_recall, mmr_overlap, cmp_overlap, pass;
  size_t plan_scan, plan_ann;
} fb_row;

typedef struct {
  const char *set;
  size_t n, nq;
  float *base, *q; /* normalised */
  int *attr;       /* r, or category */
} fb_data;

static uint32_t fb_hash(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (uint32_t)x;
}

static void normalise_rows(float *v, size_t n, size_t dim) {
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t d = 0; d < dim; d++) s += (double)v[i * dim + d] * v[i * dim + d];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0;
    for (size_t d = 0; d < dim; d++) v[i * dim + d] *= inv;
  }
}

/* brute-force top-k ids among points with pass(attr) */
typedef bool (*fb_pass)(int attr, int arg);
static bool pass_lt(int a, int arg) { return a < arg; }
static bool pass_eq(int a, int arg) { return a == arg; }
static bool pass_all(int a, int arg) {
  (void)a, (void)arg;
  return true;
}

static size_t fb_brute(const fb_data *d, const float *q, fb_pass pass, int arg, uint64_t *out) {
  double best[FB_K];
  size_t len = 0;
  for (size_t i = 0; i < d->n; i++) {
    if (!pass(d->attr[i], arg)) continue;
    double s = 0;
    for (size_t j = 0; j < FB_DIM; j++) s += (double)d->base[i * FB_DIM + j] * q[j];
    size_t at;
    if (len < FB_K)
      at = len++;
    else if (s <= best[FB_K - 1])
      continue;
    else
      at = FB_K - 1;
    for (; at > 0 && best[at - 1] < s; at--) best[at] = best[at - 1], out[at] = out[at - 1];
    best[at] = s;
    out[at] = i;
  }
  return len;
}

static size_t overlap(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
  size_t o = 0;
  for (size_t i = 0; i < na; i++)
    for (size_t j = 0; j < nb; j++) o += a[i] == b[j];
  return o;
}

static int retrieve_ids(engine *e, const float *q, engine_mode mode, uint32_t hops, bool exact,
                        const engine_filter *f, fb_pass pass, int arg, const fb_data *d,
                        uint64_t *ids, size_t *n, size_t *passed) {
  engine_retrieve_params p;
  engine_retrieve_params_default(&p);
  p.query = q;
  p.dim = FB_DIM;
  p.k = FB_K;
  p.mode = mode;
  p.hops = hops;
  p.exact_seeds = exact;
  p.filter = f;
  if (mode == ENGINE_MODE_TOPK) p.graph_weight = 0;
  engine_retrieve_result *r;
  precis_error err;
  if (engine_retrieve(e, "f", &p, &r, &err)) {
    fprintf(stderr, "filter: retrieve: %s\n", err.msg);
    return -1;
  }
  *n = r->n;
  for (size_t i = 0; i < r->n; i++) {
    ids[i] = r->items[i].id;
    *passed += pass(d->attr[ids[i]], arg);
  }
  engine_retrieve_result_free(r);
  return 0;
}

static int fb_run_filter(engine *e, const fb_data *d, const char *key, bool keyword, int arg,
                         const char *kwval, fb_row *row) {
  engine_filter_cond c = {.key = key};
  if (keyword) {
    c.kind = ENGINE_FILTER_MATCH, c.vtype = ENGINE_FVAL_KEYWORD, c.keyword = kwval;
  } else {
    c.kind = ENGINE_FILTER_RANGE, c.has_lt = true, c.lt = arg;
  }
  fb_pass pass = !key ? pass_all : keyword ? pass_eq : pass_lt;
  engine_filter_group g = {&c, NULL, NULL, 1, 0, 0};
  engine_filter *f = NULL; /* no key: the unfiltered baseline */
  precis_error err;
  if (key && engine_filter_compile(&g, 1, &f, &err)) return -1;
  size_t npass = 0;
  for (size_t i = 0; i < d->n; i++) npass += pass(d->attr[i], arg);
  row->share = (double)npass / (double)d->n;
  double rs = 0, rt = 0, om = 0, oc = 0, t_ns = 0;
  size_t items = 0, items_pass = 0;
  for (size_t qi = 0; qi < d->nq; qi++) {
    const float *q = d->q + qi * FB_DIM;
    uint64_t truth[FB_K], got[FB_K], ref[FB_K];
    size_t nt = fb_brute(d, q, pass, arg, truth), ng, nr;
    if (!nt) continue;
    engine_hit hits[FB_K];
    engine_filter_report rep;
    if (engine_search_filtered(e, "f", q, FB_DIM, FB_K, NULL, f, hits, &ng, &rep, &err)) goto fail;
    if (!f) rep.plan = ENGINE_FPLAN_NONE;
    row->plan_scan += rep.plan == ENGINE_FPLAN_SCAN;
    row->plan_ann += rep.plan == ENGINE_FPLAN_ANN;
    for (size_t i = 0; i < ng; i++) got[i] = hits[i].id, items_pass += pass(d->attr[got[i]], arg);
    items += ng;
    rs += (double)overlap(got, ng, truth, nt) / (double)nt;
    size_t ni = 0;
    if (retrieve_ids(e, q, ENGINE_MODE_TOPK, 0, false, f, pass, arg, d, got, &ng, &items_pass))
      goto fail;
    items += ng;
    rt += (double)overlap(got, ng, truth, nt) / (double)nt;
    for (int m = 0; m < 2; m++) {
      engine_mode mode = m ? ENGINE_MODE_COMPRESS : ENGINE_MODE_MMR;
      if (retrieve_ids(e, q, mode, 1, false, f, pass, arg, d, got, &ng, &items_pass) ||
          retrieve_ids(e, q, mode, 1, true, f, pass, arg, d, ref, &nr, &ni))
        goto fail;
      items += ng;
      double o = nr ? (double)overlap(got, ng, ref, nr) / (double)nr : 1;
      if (m)
        oc += o;
      else
        om += o;
    }
  }
  /* QPS: the searches alone, back to back, best of FB_REPS passes (the
   * machine is shared; the best pass is the least disturbed) */
  t_ns = 0;
  for (int rep = 0; rep < FB_REPS; rep++) {
    engine_hit hits[FB_K];
    size_t ng;
    uint64_t t0 = bench_now_ns();
    for (size_t qi = 0; qi < d->nq; qi++)
      if (engine_search_filtered(e, "f", d->q + qi * FB_DIM, FB_DIM, FB_K, NULL, f, hits, &ng, NULL,
                                 &err))
        goto fail;
    double t = (double)(bench_now_ns() - t0);
    if (rep == 0 || t < t_ns) t_ns = t;
  }
  row->s_recall = rs / (double)d->nq;
  row->t_recall = rt / (double)d->nq;
  row->mmr_overlap = om / (double)d->nq;
  row->cmp_overlap = oc / (double)d->nq;
  row->s_qps = t_ns > 0 ? (double)d->nq / (t_ns / 1e9) : 0;
  row->pass = items ? (double)items_pass / (double)items : 1;
  engine_filter_destroy(f);
  return 0;
fail:
  fprintf(stderr, "filter: %s\n", err.msg);
  engine_filter_destroy(f);
  return -1;
}

static double unfiltered_qps(engine *e, const fb_data *d) {
  engine_hit hits[FB_K];
  size_t n;
  precis_error err;
  double best = 0;
  for (int rep = 0; rep < FB_REPS; rep++) {
    uint64_t t0 = bench_now_ns();
    for (size_t qi = 0; qi < d->nq; qi++)
      if (engine_search(e, "f", d->q + qi * FB_DIM, FB_DIM, FB_K, NULL, hits, &n, &err)) return 0;
    double qps = (double)d->nq / ((double)(bench_now_ns() - t0) / 1e9);
    if (qps > best) best = qps;
  }
  return best;
}

/* Load the set into a fresh engine; keyword names (WordNet) or NULL. */
static engine *fb_load(const fb_data *d, char **names, const char *key, char **dir) {
  engine_options eo;
  engine_options_default(&eo);
  eo.sync_writes = 0;
  engine_collection_config cfg = {.dim = FB_DIM, .metric = ENGINE_METRIC_COSINE};
  snprintf(cfg.index_spec, sizeof cfg.index_spec, "HNSW32");
  precis_error err;
  engine *e = NULL;
  *dir = bu_tmpdir("filter");
  if (!*dir || engine_open(*dir, &eo, &e, &err) || engine_collection_create(e, "f", &cfg, &err)) {
    fprintf(stderr, "filter: open: %s\n", err.msg);
    engine_close(e);
    return NULL;
  }
  engine_point_in pts[1000];
  static char meta[1000][96];
  fprintf(stderr, "filter: %s: upserting %zu points ...\n", d->set, d->n);
  for (size_t at = 0; at < d->n; at += 1000) {
    size_t k = d->n - at < 1000 ? d->n - at : 1000;
    for (size_t j = 0; j < k; j++) {
      int a = d->attr[at + j];
      int ml = names ? snprintf(meta[j], sizeof meta[j], "{\"%s\":\"%s\"}", key, names[a])
                     : snprintf(meta[j], sizeof meta[j], "{\"%s\":%d}", key, a);
      pts[j] = (engine_point_in){.id = at + j,
                                 .vector = d->base + (at + j) * FB_DIM,
                                 .dim = FB_DIM,
                                 .meta = meta[j],
                                 .meta_len = (size_t)ml,
                                 .tokens = 0};
    }
    if (engine_upsert(e, "f", pts, k, &err)) {
      fprintf(stderr, "filter: upsert: %s\n", err.msg);
      engine_close(e);
      return NULL;
    }
  }
  return e;
}

static void fb_table(FILE *f, const char *set, const fb_row *rows, size_t n, double qps0) {
  fprintf(f, "\n#### %s\n\n", set);
  fprintf(f,
          "| filter | passing | payload index | plans scan/ANN | search recall@10 | search QPS | x "
          "unfiltered | retrieve TOPK recall@10 | MMR overlap@10 | COMPRESS overlap@10 | items "
          "passing |\n");
  fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < n; i++) {
    const fb_row *r = &rows[i];
    if (!r->label) continue; /* skipped (--indexed-only) */
    fprintf(f, "| %s | %.2f %% | %s | %zu/%zu | %.3f | %.0f | %.2f | %.3f | %.3f | %.3f | %.3f |\n",
            r->label, 100 * r->share, r->index ? "yes" : "no", r->plan_scan, r->plan_ann,
            r->s_recall, r->s_qps, qps0 > 0 ? r->s_qps / qps0 : 0, r->t_recall, r->mmr_overlap,
            r->cmp_overlap, r->pass);
  }
  fprintf(f, "\nUnfiltered search: %.0f QPS.\n", qps0);
  if (fb_pinfo.key[0])
    fprintf(f, "Payload index on %s: %s, %llu distinct values, %.1f KiB of bitmaps.\n",
            fb_pinfo.key, fb_pinfo.in_memory ? "in memory" : "on disk only",
            (unsigned long long)fb_pinfo.values, (double)fb_pinfo.mem_bytes / 1024);
  memset(&fb_pinfo, 0, sizeof fb_pinfo);
}

static int fb_glove(const char *set, size_t maxq, FILE *out) {
  if (bu_need_set("filter", set)) return 1;
  fb_data d = {.set = set};
  char p[4096];
  ds_path(p, sizeof p, set, "base.f32");
  if (ds_load_f32(p, FB_DIM, &d.base, &d.n)) {
    perror(p);
    return 1;
  }
  ds_path(p, sizeof p, set, "queries.f32");
  if (ds_load_f32(p, FB_DIM, &d.q, &d.nq)) {
    perror(p);
    free(d.base);
    return 1;
  }
  if (maxq && maxq < d.nq) d.nq = maxq;
  d.attr = malloc(d.n * sizeof *d.attr);
  for (size_t i = 0; i < d.n; i++) d.attr[i] = (int)(fb_hash(i) % 1000);
  char *dir;
  engine *e = fb_load(&d, NULL, "r", &dir);
  int rc = 1;
  fb_row rows[9] = {{0}};
  static char labels[4][16];
  const int cut[4] = {500, 100, 10, 1};
  double qps0 = 0;
  if (!e) goto out;
  qps0 = unfiltered_qps(e, &d);
  rows[8].label = "(no filter)";
  fprintf(stderr, "filter: %s, no filter ...\n", set);
  if (fb_run_filter(e, &d, NULL, false, 0, NULL, &rows[8])) goto out;
  for (int ix = fb_indexed_only; ix < 2; ix++) {
    if (ix) {
      precis_error err;
      if (engine_payload_index_create(e, "f", "r", ENGINE_PINDEX_FLOAT, &err) || !fb_ready(e))
        goto out;
    }
    for (int s = 0; s < 4; s++) {
      fb_row *r = &rows[ix * 4 + s];
      snprintf(labels[s], sizeof labels[s], "r < %d", cut[s]);
      r->label = labels[s];
      r->index = ix;
      fprintf(stderr, "filter: %s, %s, index %d ...\n", set, r->label, ix);
      if (fb_run_filter(e, &d, "r", false, cut[s], NULL, r)) goto out;
    }
  }
  fb_table(out, set, rows, 9, qps0);
  rc = 0;
out:
  engine_close(e);
  bu_rmrf_free(dir);
  free(d.base);
  free(d.q);
  free(d.attr);
  return rc;
}

static int fb_wordnet(const char *set, size_t maxq, FILE *out) {
  if (bu_need_set("filter", set)) return 1;
  fb_data d = {.set = set};
  char p[4096];
  ds_wn_meta m = {0};
  char *names[64] = {0};
  int rc = 1;
  ds_path(p, sizeof p, set, "vectors.f32");
  if (ds_load_f32(p, FB_DIM, &d.base, &d.n)) {
    perror(p);
    return 1;
  }
  ds_path(p, sizeof p, set, "queries.f32");
  if (ds_load_f32(p, FB_DIM, &d.q, &d.nq)) {
    perror(p);
    free(d.base);
    return 1;
  }
  normalise_rows(d.base, d.n, FB_DIM);
  normalise_rows(d.q, d.nq, FB_DIM);
  if (maxq && maxq < d.nq) d.nq = maxq;
  ds_path(p, sizeof p, set, "meta.tsv");
  if (ds_load_wn_meta(p, &m) || m.n != d.n) {
    perror(p);
    goto out0;
  }
  ds_path(p, sizeof p, set, "categories.txt");
  FILE *cf = fopen(p, "r");
  char line[128];
  for (int i = 0; cf && i < 64 && fgets(line, sizeof line, cf); i++) {
    line[strcspn(line, "\n")] = 0;
    names[i] = strdup(line);
  }
  if (cf) fclose(cf);
  d.attr = malloc(d.n * sizeof *d.attr);
  size_t cnt[64] = {0};
  for (size_t i = 0; i < d.n; i++)
    d.attr[i] = m.category[i] < 64 ? m.category[i] : 0, cnt[d.attr[i]]++;
  /* a frequent, a middling and a rare category (at least 10 points) */
  int order[64], no = 0;
  for (int i = 0; i < 64; i++)
    if (names[i] && cnt[i] >= 10) order[no++] = i;
  for (int i = 1; i < no; i++)
    for (int j = i; j > 0 && cnt[order[j]] > cnt[order[j - 1]]; j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  int pick[3] = {order[0], order[no / 2], order[no - 1]};
  char *dir;
  engine *e = fb_load(&d, names, "category", &dir);
  fb_row rows[6] = {{0}};
  double qps0 = 0;
  if (!e) goto out;
  qps0 = unfiltered_qps(e, &d);
  for (int ix = fb_indexed_only; ix < 2; ix++) {
    precis_error err;
    if (ix && (engine_payload_index_create(e, "f", "category", ENGINE_PINDEX_KEYWORD, &err) ||
               !fb_ready(e)))
      goto out;
    for (int s = 0; s < 3; s++) {
      fb_row *r = &rows[ix * 3 + s];
      r->label = names[pick[s]];
      r->index = ix;
      fprintf(stderr, "filter: %s, category %s, index %d ...\n", set, r->label, ix);
      if (fb_run_filter(e, &d, "category", true, pick[s], names[pick[s]], r)) goto out;
    }
  }
  fb_table(out, set, rows, 6, qps0);
  rc = 0;
out:
  engine_close(e);
  bu_rmrf_free(dir);
out0:
  for (int i = 0; i < 64; i++) free(names[i]);
  ds_wn_meta_free(&m);
  free(d.base);
  free(d.q);
  free(d.attr);
  return rc;
}

int bench_filter(int argc, char **argv) {
  const char *glove = "glove-small", *wordnet = "wordnet-small", *out = NULL;
  size_t maxq = 100;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--set") && i + 1 < argc)
      glove = argv[++i];
    else if (!strcmp(argv[i], "--wordnet") && i + 1 < argc)
      wordnet = argv[++i];
    else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
      maxq = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--indexed-only"))
      fb_indexed_only = 1;
    else {
      fprintf(stderr,
              "usage: precis-bench filter [--set glove-small|glove] [--wordnet "
              "wordnet-small|wordnet|none]\n"
              "                           [--queries N (100)] [--out DIR] [--indexed-only]\n");
      return !strcmp(argv[i], "--help") ? 0 : 2;
    }
  }
  bench_blas_single_thread();
  FILE *files[2] = {stdout, out ? bu_open_out(out, "filter.md") : NULL};
  if (out && !files[1]) return 1;
  char *tmp = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&tmp, &len);
  if (!mem) return 1;
  fprintf(mem, "### filter: %zu queries, k %d, HNSW32, default efSearch\n\n", maxq, FB_K);
  bu_env_md(mem);
  int rc = fb_glove(glove, maxq, mem);
  if (!rc && strcmp(wordnet, "none")) rc = fb_wordnet(wordnet, maxq, mem);
  fclose(mem);
  for (int i = 0; i < 2; i++)
    if (files[i]) fputs(tmp, files[i]);
  if (files[1]) fclose(files[1]);
  free(tmp);
  return rc;
}
