/*
 * study_quality_wordnet.c: `precis-bench quality-wordnet`, the first quality
 * study (before `precis-bench quality` ran every corpus): what the selection
 * modes and the graph expansion buy on WordNet (is_a links, kNN edges,
 * coverage of the exact top-100), through the in-process engine.
 *
 * Setup (timed, reported): a fresh data directory in $TMPDIR, one cosine
 * collection with the default configuration (dim 100), every corpus synset
 * upserted in batches of 1000 (vector from vectors.f32, text from
 * corpus.jsonl, metadata {"category": lex_filenum, "pos": ...} from meta.tsv),
 * the is_a links of corpus.jsonl added in atomic batches of 1000
 * (engine_links_change, kind "is_a", weight 1), then engine_graph_rebuild.
 * The engine runs with sync_writes = 0 (durability is not measured here).
 *
 * Then every held-out query (queries.f32; not in the corpus) is retrieved
 * with k = 10 under each graph setting (hops 0; hops 1 and 2 over kNN edges,
 * over is_a links, and over both) and each selection (TOPK; MMR for each
 * lambda; COMPRESS with the default weights for each theta), everything else
 * at the engine defaults (include/precis/limits.h; the header of the output
 * names them). Metrics, averaged over the queries:
 *   sim        mean exact cosine of the selected items to the query;
 *   sim %      sim as a percentage of TOPK at hops 0 (the best possible);
 *   redund.    mean pairwise cosine inside the selected set;
 *   cats       distinct WordNet categories (lexnames) among the 10;
 *   cover      facility-location coverage of the query's exact top-100
 *              (gt100): sum_v w_v * max(0, max_s cos(v,s)) / sum_v w_v over
 *              the 100 exact neighbours v, w_v = max(0, cos(q,v));
 *   graph %    share of the selected items reached only through the graph
 *              (hops > 0);
 *   hyp rec    over the queries with a hypernym in the corpus: mean share
 *              of those hypernyms (queries.jsonl hypernyms_in_corpus) found
 *              among the 10;
 *   hyp hit    share of those queries with at least one hypernym found;
 *   p50 / p99  engine_retrieve wall time in ms (one thread, BLAS 1 thread).
 * The PNG shows the relevance / diversity trade-off curves of MMR (lambda)
 * and COMPRESS (theta) at hops 0 and with hops 1 over kNN edges and over
 * is_a links (DIR/quality.tsv holds every row).
 *
 * --reopen N (instead of the queries): the points are upserted with
 * ENGINE_UPSERT_DEFER_GRAPH (the graph rebuild after the links builds every
 * kNN list anyway), the engine is closed (saving the index and the graph
 * snapshot) and opened once untimed; then N timed engine_open + describe +
 * engine_close with the graph snapshot, and N with <cid>.graph moved aside
 * (the graph loaded from the edges family); the median and min of each, and
 * engine_graph_check once per mode (not timed).
 */
#include <sys/stat.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_util.h"
#include "dataset.h"
#include "engine.h"

#define QB_DIM      100
#define QB_K        10
#define QB_MAX_LIST 16
#define QB_COLL     "wordnet"

typedef struct {
  const char *name;
  uint32_t hops;
  unsigned kinds;
  int isa_only;
} qb_graph;

static const qb_graph qb_graphs[] = {
    {"none", 0, ENGINE_EDGE_KNN | ENGINE_EDGE_LINKS, 0},
    {"knn-1", 1, ENGINE_EDGE_KNN, 0},
    {"isa-1", 1, ENGINE_EDGE_LINKS, 1},
    {"both-1", 1, ENGINE_EDGE_KNN | ENGINE_EDGE_LINKS, 0},
    {"knn-2", 2, ENGINE_EDGE_KNN, 0},
    {"isa-2", 2, ENGINE_EDGE_LINKS, 1},
    {"both-2", 2, ENGINE_EDGE_KNN | ENGINE_EDGE_LINKS, 0},
};
#define QB_NGRAPHS (sizeof qb_graphs / sizeof qb_graphs[0])

typedef struct {
  char name[48];
  const char *family; /* TOPK, MMR, COMPRESS */
  engine_mode mode;
  double param; /* lambda or theta */
  int is_default;
} qb_sel;

typedef struct {
  const qb_graph *g;
  const qb_sel *s;
  double sim, sim_pct, redund, cats, cover, graph_share, hyp_rec, hyp_hit, pool;
  double p50, p99, mean_ms;
  size_t nq, nq_hyp;
} qb_row;

/* ---- data ---- */

typedef struct {
  size_t n, nq;
  float *vec;      /* n x dim, corpus rows */
  uint64_t *ids;   /* row -> id */
  int64_t *row_of; /* id -> row (or -1), size max_id + 1 */
  uint64_t max_id;
  ds_wn_meta meta; /* per corpus row */
  float *qvec;     /* nq x dim */
  uint64_t *qids;
  int32_t *gt;    /* nq x 100 corpus rows */
  float *gts;     /* nq x 100 cosines */
  uint64_t **hyp; /* per query: hypernyms in corpus */
  size_t *nhyp;
  char **text; /* per corpus row (from corpus.jsonl) */
  /* links */
  engine_edge *links;
  size_t nlinks;
} qb_data;

static void qb_data_free(qb_data *d) {
  free(d->vec);
  free(d->ids);
  free(d->row_of);
  ds_wn_meta_free(&d->meta);
  free(d->qvec);
  free(d->qids);
  free(d->gt);
  free(d->gts);
  for (size_t i = 0; d->hyp && i < d->nq; i++) free(d->hyp[i]);
  free(d->hyp);
  free(d->nhyp);
  for (size_t i = 0; d->text && i < d->n; i++) free(d->text[i]);
  free(d->text);
  free(d->links);
}

static int qb_load_file(const char *set, const char *file, int kind, size_t dim, void **out,
                        size_t *n) {
  char p[4096];
  if (ds_path(p, sizeof p, set, file)) return -1;
  int rc = kind == 0   ? ds_load_f32(p, dim, (float **)out, n)
           : kind == 1 ? ds_load_i32(p, dim, (int32_t **)out, n)
                       : ds_load_u64(p, (uint64_t **)out, n);
  if (rc) perror(p);
  return rc;
}

/* Opens <set>/<file> for reading; prints why and returns NULL on failure.
 * p receives the path (for messages). */
static FILE *qb_open(const char *set, const char *file, char *p, size_t cap) {
  FILE *f = ds_path(p, cap, set, file) ? NULL : fopen(p, "r");
  if (!f) perror(p);
  return f;
}

/* corpus.jsonl: text and is_a links per synset. */
static int qb_load_corpus(const char *set, qb_data *d) {
  char p[4096];
  FILE *f = qb_open(set, "corpus.jsonl", p, sizeof p);
  if (!f) return -1;
  d->text = calloc(d->n, sizeof *d->text);
  size_t lcap = 1024;
  d->links = malloc(lcap * sizeof *d->links);
  if (!d->text || !d->links) {
    fclose(f);
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = 0;
  while ((len = getline(&line, &cap, f)) > 0) {
    json_error_t je;
    json_t *o = json_loadb(line, (size_t)len, 0, &je);
    if (!o) {
      fprintf(stderr, "%s: line %d: %s\n", p, je.line, je.text);
      rc = -1;
      break;
    }
    json_int_t id = json_integer_value(json_object_get(o, "id"));
    if (id < 0 || (uint64_t)id > d->max_id || d->row_of[id] < 0) {
      json_decref(o);
      continue;
    }
    size_t row = (size_t)d->row_of[id];
    const char *t = json_string_value(json_object_get(o, "text"));
    d->text[row] = strdup(t ? t : "");
    json_t *links = json_object_get(o, "links"), *l;
    size_t i;
    json_array_foreach(links, i, l) {
      json_int_t dst = json_integer_value(json_object_get(l, "dst"));
      const char *kind = json_string_value(json_object_get(l, "kind"));
      double w = json_number_value(json_object_get(l, "weight"));
      if (dst < 0 || (uint64_t)dst > d->max_id || d->row_of[dst] < 0) continue;
      if (d->nlinks == lcap) {
        lcap *= 2;
        engine_edge *nl = realloc(d->links, lcap * sizeof *nl);
        if (!nl) {
          rc = -1;
          break;
        }
        d->links = nl;
      }
      engine_edge *e = &d->links[d->nlinks++];
      memset(e, 0, sizeof *e);
      e->src = (uint64_t)id;
      e->dst = (uint64_t)dst;
      snprintf(e->kind, sizeof e->kind, "%s", kind ? kind : "is_a");
      e->weight = w > 0 && w <= 1 ? (float)w : 1.0f;
    }
    json_decref(o);
    if (rc) break;
  }
  free(line);
  fclose(f);
  return rc;
}

/* queries.jsonl: hypernyms_in_corpus per query, in query_ids order. */
static int qb_load_hyp(const char *set, qb_data *d) {
  char p[4096];
  FILE *f = qb_open(set, "queries.jsonl", p, sizeof p);
  if (!f) return -1;
  d->hyp = calloc(d->nq, sizeof *d->hyp);
  d->nhyp = calloc(d->nq, sizeof *d->nhyp);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = d->hyp && d->nhyp ? 0 : -1;
  while (!rc && (len = getline(&line, &cap, f)) > 0) {
    json_error_t je;
    json_t *o = json_loadb(line, (size_t)len, 0, &je);
    if (!o) {
      fprintf(stderr, "%s: line %d: %s\n", p, je.line, je.text);
      rc = -1;
      break;
    }
    json_int_t id = json_integer_value(json_object_get(o, "id"));
    size_t qi = d->nq;
    for (size_t i = 0; i < d->nq; i++)
      if (d->qids[i] == (uint64_t)id) {
        qi = i;
        break;
      }
    json_t *h = json_object_get(o, "hypernyms_in_corpus");
    if (qi < d->nq && json_array_size(h)) {
      d->hyp[qi] = malloc(json_array_size(h) * sizeof(uint64_t));
      if (!d->hyp[qi]) rc = -1;
      for (size_t i = 0; !rc && i < json_array_size(h); i++)
        d->hyp[qi][d->nhyp[qi]++] = (uint64_t)json_integer_value(json_array_get(h, i));
    }
    json_decref(o);
  }
  free(line);
  fclose(f);
  return rc;
}

static int qb_load(const char *set, size_t maxq, qb_data *d) {
  memset(d, 0, sizeof *d);
  size_t n, nids, nq, nqids, ngt, ngts;
  char p[4096];
  if (qb_load_file(set, "vectors.f32", 0, QB_DIM, (void **)&d->vec, &n) ||
      qb_load_file(set, "ids.u64", 2, 1, (void **)&d->ids, &nids) ||
      qb_load_file(set, "queries.f32", 0, QB_DIM, (void **)&d->qvec, &nq) ||
      qb_load_file(set, "query_ids.u64", 2, 1, (void **)&d->qids, &nqids) ||
      qb_load_file(set, "gt100.i32", 1, 100, (void **)&d->gt, &ngt) ||
      qb_load_file(set, "gt100.f32", 0, 100, (void **)&d->gts, &ngts))
    return -1;
  if (n != nids || nq != nqids || ngt != nq || ngts != nq) {
    fprintf(stderr, "precis-bench quality: %s: inconsistent file sizes\n", set);
    return -1;
  }
  d->n = n;
  d->nq = maxq && maxq < nq ? maxq : nq;
  ds_path(p, sizeof p, set, "meta.tsv");
  if (ds_load_wn_meta(p, &d->meta) || d->meta.n != n) {
    fprintf(stderr, "precis-bench quality: %s: bad meta.tsv\n", p);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (d->ids[i] > d->max_id) d->max_id = d->ids[i];
  d->row_of = malloc((d->max_id + 1) * sizeof *d->row_of);
  if (!d->row_of) return -1;
  for (uint64_t i = 0; i <= d->max_id; i++) d->row_of[i] = -1;
  for (size_t i = 0; i < n; i++) d->row_of[d->ids[i]] = (int64_t)i;
  if (qb_load_hyp(set, d)) return -1;
  return qb_load_corpus(set, d);
}

/* ---- ingest ---- */

typedef struct {
  double upsert_s, links_s, rebuild_s;
  engine_collection_info info;
} qb_setup;

static const char *qb_pos_name(char pos) {
  static char b[2];
  b[0] = pos ? pos : '?';
  b[1] = 0;
  return b;
}

static int qb_ingest(engine *e, const qb_data *d, unsigned flags, qb_setup *st) {
  precis_error err;
  engine_collection_config cfg = {.dim = QB_DIM, .metric = ENGINE_METRIC_COSINE};
  if (engine_collection_create(e, QB_COLL, &cfg, &err)) goto fail;
  enum { B = 1000 };
  engine_point_in pts[B];
  char meta[B][64];
  uint64_t t0 = bench_now_ns();
  for (size_t at = 0; at < d->n; at += B) {
    size_t m = d->n - at < B ? d->n - at : B;
    for (size_t j = 0; j < m; j++) {
      size_t r = at + j;
      int ml = snprintf(meta[j], sizeof meta[j], "{\"category\":%u,\"pos\":\"%s\"}",
                        d->meta.category[r], qb_pos_name(d->meta.pos[r]));
      const char *t = d->text[r] ? d->text[r] : "";
      pts[j] = (engine_point_in){.id = d->ids[r],
                                 .vector = d->vec + r * QB_DIM,
                                 .dim = QB_DIM,
                                 .text = t,
                                 .text_len = strlen(t),
                                 .meta = meta[j],
                                 .meta_len = (size_t)ml,
                                 .tokens = -1};
    }
    if (engine_upsert_flags(e, QB_COLL, pts, m, flags, &err)) goto fail;
  }
  uint64_t t1 = bench_now_ns();
  for (size_t at = 0; at < d->nlinks; at += B) {
    size_t m = d->nlinks - at < B ? d->nlinks - at : B;
    if (engine_links_change(e, QB_COLL, d->links + at, m, true, NULL, &err)) goto fail;
  }
  uint64_t t2 = bench_now_ns();
  if (engine_graph_rebuild(e, QB_COLL, &err)) goto fail;
  uint64_t t3 = bench_now_ns();
  if (engine_collection_describe(e, QB_COLL, &st->info, &err)) goto fail;
  st->upsert_s = (double)(t1 - t0) / 1e9;
  st->links_s = (double)(t2 - t1) / 1e9;
  st->rebuild_s = (double)(t3 - t2) / 1e9;
  return 0;
fail:
  fprintf(stderr, "precis-bench quality: ingest: %s\n", err.msg);
  return -1;
}

/* ---- measurement ---- */

static float qb_dot(const float *a, const float *b) {
  float s = 0;
  for (int i = 0; i < QB_DIM; i++) s += a[i] * b[i];
  return s;
}

static int qb_measure(engine *e, const qb_data *d, const qb_graph *g, const qb_sel *s, qb_row *row,
                      double *lat) {
  precis_error err;
  static const char *const isa[] = {"is_a"};
  engine_retrieve_params p;
  engine_retrieve_params_default(&p);
  p.dim = QB_DIM;
  p.k = QB_K;
  p.mode = s->mode;
  if (s->mode == ENGINE_MODE_MMR) p.lambda = (float)s->param;
  if (s->mode == ENGINE_MODE_COMPRESS) p.theta = (float)s->param;
  p.hops = g->hops;
  p.follow_knn = (g->kinds & ENGINE_EDGE_KNN) != 0;
  p.follow_links = (g->kinds & ENGINE_EDGE_LINKS) != 0;
  if (g->isa_only) {
    p.link_kinds = isa;
    p.n_link_kinds = 1;
  }
  memset(row, 0, sizeof *row);
  row->g = g;
  row->s = s;
  for (size_t qi = 0; qi < d->nq; qi++) {
    const float *q = d->qvec + qi * QB_DIM;
    p.query = q;
    engine_retrieve_result *r = NULL;
    uint64_t t0 = bench_now_ns();
    int rc = engine_retrieve(e, QB_COLL, &p, &r, &err);
    uint64_t t1 = bench_now_ns();
    if (rc) {
      fprintf(stderr, "precis-bench quality: retrieve: %s\n", err.msg);
      return -1;
    }
    lat[qi] = (double)(t1 - t0) / 1e6;
    size_t n = r->n;
    const float *sv[QB_K * 4];
    size_t ns = 0;
    double simsum = 0, gshare = 0;
    uint64_t catmask = 0;
    for (size_t i = 0; i < n && ns < QB_K * 4; i++) {
      uint64_t id = r->items[i].id;
      int64_t row_i = id <= d->max_id ? d->row_of[id] : -1;
      if (row_i < 0) continue;
      sv[ns++] = d->vec + (size_t)row_i * QB_DIM;
      simsum += r->items[i].similarity;
      if (r->items[i].hops > 0) gshare += 1;
      catmask |= 1ull << (d->meta.category[row_i] & 63);
    }
    double red = 0;
    size_t pairs = 0;
    for (size_t i = 0; i < ns; i++)
      for (size_t j = i + 1; j < ns; j++, pairs++) red += qb_dot(sv[i], sv[j]);
    double cov = 0, wsum = 0;
    for (int v = 0; v < 100; v++) {
      int32_t gr = d->gt[qi * 100 + v];
      if (gr < 0 || (size_t)gr >= d->n) continue;
      double w = d->gts[qi * 100 + v];
      if (w <= 0) continue;
      const float *vv = d->vec + (size_t)gr * QB_DIM;
      double best = 0;
      for (size_t i = 0; i < ns; i++) {
        double c = qb_dot(vv, sv[i]);
        if (c > best) best = c;
      }
      cov += w * best;
      wsum += w;
    }
    if (d->nhyp[qi]) {
      size_t found = 0;
      for (size_t h = 0; h < d->nhyp[qi]; h++)
        for (size_t i = 0; i < n; i++)
          if (r->items[i].id == d->hyp[qi][h]) {
            found++;
            break;
          }
      row->hyp_rec += (double)found / (double)d->nhyp[qi];
      row->hyp_hit += found > 0;
      row->nq_hyp++;
    }
    row->sim += ns ? simsum / (double)ns : 0;
    row->redund += pairs ? red / (double)pairs : 0;
    row->cats += __builtin_popcountll(catmask);
    row->cover += wsum > 0 ? cov / wsum : 0;
    row->graph_share += n ? gshare / (double)n : 0;
    row->pool += r->pool_size;
    engine_retrieve_result_free(r);
  }
  double nq = (double)d->nq;
  row->nq = d->nq;
  row->sim /= nq;
  row->redund /= nq;
  row->cats /= nq;
  row->cover /= nq;
  row->graph_share /= nq;
  row->pool /= nq;
  if (row->nq_hyp) {
    row->hyp_rec /= (double)row->nq_hyp;
    row->hyp_hit /= (double)row->nq_hyp;
  }
  double tot = 0;
  for (size_t i = 0; i < d->nq; i++) tot += lat[i];
  row->mean_ms = tot / nq;
  row->p50 = bench_quantile(lat, d->nq, 0.5);
  row->p99 = bench_quantile(lat, d->nq, 0.99);
  return 0;
}

/* ---- output ---- */

typedef struct {
  const char *set;
  size_t n, nq, nlinks;
  qb_setup st;
  int blas1;
} qb_ctx;

static void qb_markdown(FILE *f, const qb_ctx *c, const qb_row *rows, size_t nrows) {
  fprintf(f, "## quality: selection modes and graph expansion on %s\n\n", c->set);
  bu_env_md(f);
  fprintf(f,
          "corpus %zu synsets, %zu is_a links, %zu held-out queries, k %d; collection "
          "defaults (index %s, knn_k %u, ef_search %u); retrieve defaults (seeds max(%dk, "
          "%d), pool %d, fanout %d, graph_weight %g, decay %g after hop 1); BLAS threads "
          "%s\n\n",
          c->n, c->nlinks, c->nq, QB_K,
          c->st.info.config.index_spec[0] ? c->st.info.config.index_spec : "auto",
          c->st.info.config.knn_k, c->st.info.config.hnsw_ef_search, PRECIS_DEFAULT_SEEDS_PER_K,
          PRECIS_DEFAULT_SEEDS_MIN, PRECIS_DEFAULT_POOL, PRECIS_DEFAULT_FANOUT,
          (double)PRECIS_DEFAULT_GRAPH_WEIGHT, (double)PRECIS_DEFAULT_DECAY,
          c->blas1 ? "1" : "not limited");
  fprintf(f,
          "setup: upsert %.1f s (%.0f points/s, sync_writes 0), links %.1f s, "
          "graph rebuild %.1f s (%llu kNN edges, %llu links)\n\n",
          c->st.upsert_s, (double)c->n / c->st.upsert_s, c->st.links_s, c->st.rebuild_s,
          (unsigned long long)c->st.info.knn_edges, (unsigned long long)c->st.info.links);
  fprintf(f,
          "| graph | selection | sim | sim %% | redund. | cats | cover | graph %% "
          "| hyp rec | hyp hit | pool | p50 ms | p99 ms |\n");
  fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < nrows; i++) {
    const qb_row *r = &rows[i];
    fprintf(f,
            "| %s | %s | %.3f | %.1f | %.3f | %.2f | %.3f | %.1f | %.3f | %.3f | %.0f "
            "| %.2f | %.2f |\n",
            r->g->name, r->s->name, r->sim, r->sim_pct, r->redund, r->cats, r->cover,
            100 * r->graph_share, r->hyp_rec, r->hyp_hit, r->pool, r->p50, r->p99);
  }
  fprintf(f,
          "\nsim %% is relative to TOPK with hops 0. hyp rec/hit over the %zu queries "
          "that have a hypernym in the corpus.\n",
          nrows ? rows[0].nq_hyp : 0);
}

static void qb_json(FILE *f, const qb_ctx *c, const qb_row *rows, size_t nrows) {
  fprintf(f, "{\"study\":\"quality\",");
  bu_env_json(f);
  fprintf(f,
          ",\"set\":\"%s\",\"corpus\":%zu,\"links\":%zu,\"queries\":%zu,\"k\":%d,"
          "\"setup\":{\"upsert_s\":%.3f,\"links_s\":%.3f,\"graph_rebuild_s\":%.3f,"
          "\"knn_edges\":%llu},\"rows\":[",
          c->set, c->n, c->nlinks, c->nq, QB_K, c->st.upsert_s, c->st.links_s, c->st.rebuild_s,
          (unsigned long long)c->st.info.knn_edges);
  for (size_t i = 0; i < nrows; i++) {
    const qb_row *r = &rows[i];
    fprintf(f,
            "%s\n{\"graph\":\"%s\",\"hops\":%u,\"selection\":\"%s\",\"family\":\"%s\","
            "\"param\":%g,\"sim\":%.5f,\"sim_pct\":%.3f,\"redundancy\":%.5f,"
            "\"categories\":%.4f,\"coverage\":%.5f,\"graph_share\":%.5f,"
            "\"hyp_recall\":%.5f,\"hyp_hit\":%.5f,\"queries_with_hyp\":%zu,\"pool\":%.1f,"
            "\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"mean_ms\":%.4f}",
            i ? "," : "", r->g->name, r->g->hops, r->s->name, r->s->family, r->s->param, r->sim,
            r->sim_pct, r->redund, r->cats, r->cover, r->graph_share, r->hyp_rec, r->hyp_hit,
            r->nq_hyp, r->pool, r->p50, r->p99, r->mean_ms);
  }
  fprintf(f, "\n]}\n");
}

/* Plot input: one line per (graph, family, param). */
static void qb_tsv(FILE *f, const qb_ctx *c, const qb_row *rows, size_t nrows) {
  fprintf(f, "# title: %s, %zu synsets, %zu queries\n", c->set, c->n, c->nq);
  fprintf(f, "# graph\tfamily\tparam\tsim_pct\tcategories\tcoverage\tredundancy\n");
  for (size_t i = 0; i < nrows; i++) {
    const qb_row *r = &rows[i];
    fprintf(f, "%s\t%s\t%g\t%.3f\t%.4f\t%.5f\t%.5f\n", r->g->name, r->s->family, r->s->param,
            r->sim_pct, r->cats, r->cover, r->redund);
  }
}

static void qb_usage(FILE *f) {
  fprintf(
      f,
      "usage: precis-bench quality-wordnet [--set wordnet-small|wordnet] [--queries N]\n"
      "                                    [--lambdas 0.3,0.5,0.7,0.9] [--thetas 0.5,1,2,4]\n"
      "                                    [--graphs none,knn-1,isa-1,both-1,knn-2,isa-2,both-2]\n"
      "                                    [--out DIR] [--reopen N]\n");
}

static int qb_graph_wanted(const char *list, const char *name) {
  if (!list) return 1;
  size_t nl = strlen(name);
  for (const char *s = list; *s;) {
    size_t len = strcspn(s, ",");
    if (len == nl && !strncmp(s, name, len)) return 1;
    s += len;
    if (*s == ',') s++;
  }
  return 0;
}

/* ---- reopen with and without the graph snapshot (--reopen) ---- */

static int qb_cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* One timed open + describe (+ graph check when asked) + close, seconds. */
static double qb_open_once(const char *dir, const engine_options *eo, int check) {
  engine *e;
  precis_error err;
  engine_collection_info info;
  uint64_t t0 = bench_now_ns();
  if (engine_open(dir, eo, &e, &err) || engine_collection_describe(e, QB_COLL, &info, &err)) {
    fprintf(stderr, "precis-bench quality-wordnet: reopen: %s\n", err.msg);
    return -1;
  }
  double s = (double)(bench_now_ns() - t0) / 1e9;
  if (check && engine_graph_check(e, QB_COLL, &err)) {
    fprintf(stderr, "precis-bench quality-wordnet: graph check: %s\n", err.msg);
    s = -1;
  }
  engine_close(e);
  return s;
}

static int qb_reopen(engine **e, const char *dir, const engine_options *eo, const qb_ctx *c,
                     int n) {
  engine_close(*e);
  *e = NULL;
  char gp[4200], away[4300];
  snprintf(gp, sizeof gp, "%s/ann/%u.graph", dir, c->st.info.id);
  snprintf(away, sizeof away, "%s.away", gp);
  struct stat sb;
  if (stat(gp, &sb) != 0) {
    fprintf(stderr, "precis-bench quality-wordnet: no graph snapshot %s\n", gp);
    return -1;
  }
  if (qb_open_once(dir, eo, 0) < 0) return -1; /* WAL recovery, untimed */
  double t[2][64];
  if (n > 64) n = 64;
  for (int mode = 0; mode < 2; mode++) {
    if (mode == 1 && rename(gp, away) != 0) return -1;
    for (int i = 0; i < n; i++)
      if ((t[mode][i] = qb_open_once(dir, eo, i == 0)) < 0) return -1;
    if (mode == 1 && rename(away, gp) != 0) return -1;
    qsort(t[mode], (size_t)n, sizeof(double), qb_cmp_d);
  }
  printf("## Reopen, %s (%zu points, %llu kNN edges, %llu links; graph snapshot %lld bytes)\n\n",
         c->set, c->n, (unsigned long long)c->st.info.knn_edges,
         (unsigned long long)c->st.info.links, (long long)sb.st_size);
  printf("| engine_open + describe, %d runs | median | min |\n|---|---:|---:|\n", n);
  printf("| graph from the snapshot | %.3f s | %.3f s |\n", t[0][n / 2], t[0][0]);
  printf("| graph from the edges family | %.3f s | %.3f s |\n", t[1][n / 2], t[1][0]);
  printf("\nmedian ratio %.2fx (graph equal to RocksDB after both: engine_graph_check)\n",
         t[1][n / 2] / t[0][n / 2]);
  return 0;
}

int bench_quality_wordnet(int argc, char **argv) {
  const char *set = "wordnet-small", *out = NULL, *graphs = NULL;
  size_t maxq = 0;
  int reopen = 0;
  double lambdas[QB_MAX_LIST] = {0.3, 0.5, 0.7, 0.9}, thetas[QB_MAX_LIST] = {0.5, 1, 2, 4};
  int nl = 4, nt = 4;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      qb_usage(stdout);
      return 0;
    }
    if (!v) {
      qb_usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--set"))
      set = v;
    else if (!strcmp(a, "--queries"))
      maxq = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--lambdas"))
      nl = bu_parse_flist(v, lambdas, QB_MAX_LIST);
    else if (!strcmp(a, "--thetas"))
      nt = bu_parse_flist(v, thetas, QB_MAX_LIST);
    else if (!strcmp(a, "--graphs"))
      graphs = v;
    else if (!strcmp(a, "--out"))
      out = v;
    else if (!strcmp(a, "--reopen"))
      reopen = atoi(v);
    else {
      qb_usage(stderr);
      return 2;
    }
  }
  if (nl < 0 || nt < 0 || strncmp(set, "wordnet", 7)) {
    qb_usage(stderr);
    return 2;
  }
  if (bu_need_set("quality", set)) return 1;
  int blas1 = bench_blas_single_thread();

  /* selections: TOPK, MMR per lambda, COMPRESS per theta (default marked) */
  qb_sel sels[1 + 2 * QB_MAX_LIST];
  size_t nsel = 0;
  sels[nsel++] = (qb_sel){.name = "TOPK", .family = "TOPK", .mode = ENGINE_MODE_TOPK};
  for (int i = 0; i < nl; i++) {
    qb_sel *s = &sels[nsel++];
    *s = (qb_sel){.family = "MMR", .mode = ENGINE_MODE_MMR, .param = lambdas[i]};
    snprintf(s->name, sizeof s->name, "MMR l=%g", lambdas[i]);
  }
  /* the engine's automatic theta: PRECIS_DEFAULT_THETA (default diversity) */
  for (int i = 0; i < nt; i++) {
    qb_sel *s = &sels[nsel++];
    *s = (qb_sel){.family = "COMPRESS", .mode = ENGINE_MODE_COMPRESS, .param = thetas[i]};
    int d0 = fabs(thetas[i] - PRECIS_DEFAULT_THETA) < 1e-6;
    s->is_default = d0;
    snprintf(s->name, sizeof s->name, "COMPRESS t=%g%s", thetas[i], d0 ? " (default)" : "");
  }

  qb_data d;
  qb_row *rows = NULL;
  double *lat = NULL;
  char *dir = NULL;
  engine *e = NULL;
  int rc = 1;
  fprintf(stderr, "quality: loading %s ...\n", set);
  if (qb_load(set, maxq, &d)) goto done;
  dir = bu_tmpdir("quality");
  if (!dir) {
    perror("mkdtemp");
    goto done;
  }
  engine_options eo;
  engine_options_default(&eo);
  eo.sync_writes = 0;
  precis_error err;
  if (engine_open(dir, &eo, &e, &err)) {
    fprintf(stderr, "precis-bench quality: open: %s\n", err.msg);
    goto done;
  }
  qb_ctx ctx = {.set = set, .n = d.n, .nq = d.nq, .nlinks = d.nlinks, .blas1 = blas1};
  fprintf(stderr, "quality: ingesting %zu synsets, %zu links ...\n", d.n, d.nlinks);
  if (qb_ingest(e, &d, reopen > 0 ? ENGINE_UPSERT_DEFER_GRAPH : 0, &ctx.st)) goto done;
  if (reopen > 0) {
    rc = qb_reopen(&e, dir, &eo, &ctx, reopen) ? 1 : 0;
    goto done;
  }
  rows = calloc(QB_NGRAPHS * nsel, sizeof *rows);
  lat = malloc(d.nq * sizeof *lat);
  if (!rows || !lat) goto done;
  size_t nrows = 0;
  /* warm-up: a few queries in each mode */
  {
    qb_data w = d;
    w.nq = d.nq < 10 ? d.nq : 10;
    qb_row tmp;
    for (size_t s = 0; s < nsel; s++)
      if (qb_measure(e, &w, &qb_graphs[3], &sels[s], &tmp, lat)) goto done;
  }
  for (size_t g = 0; g < QB_NGRAPHS; g++) {
    if (!qb_graph_wanted(graphs, qb_graphs[g].name)) continue;
    for (size_t s = 0; s < nsel; s++) {
      fprintf(stderr, "quality: %s / %s\n", qb_graphs[g].name, sels[s].name);
      if (qb_measure(e, &d, &qb_graphs[g], &sels[s], &rows[nrows], lat)) goto done;
      nrows++;
    }
  }
  double ref = 0;
  for (size_t i = 0; i < nrows; i++)
    if (rows[i].g->hops == 0 && rows[i].s->mode == ENGINE_MODE_TOPK) ref = rows[i].sim;
  for (size_t i = 0; i < nrows; i++) rows[i].sim_pct = ref > 0 ? 100 * rows[i].sim / ref : 0;
  qb_markdown(stdout, &ctx, rows, nrows);
  rc = 0;
  if (out) {
    FILE *f;
    if ((f = bu_open_out(out, "quality.md"))) {
      qb_markdown(f, &ctx, rows, nrows);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if ((f = bu_open_out(out, "quality.json"))) {
      qb_json(f, &ctx, rows, nrows);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if ((f = bu_open_out(out, "quality.tsv"))) {
      qb_tsv(f, &ctx, rows, nrows);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if (!rc) rc = bu_plot("quality", out) ? 1 : 0;
  }
done:
  engine_close(e);
  bu_rmrf_free(dir);
  qb_data_free(&d);
  free(rows);
  free(lat);
  return rc;
}
