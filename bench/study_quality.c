/*
 * study_quality.c: `precis-bench quality`, retrieval quality on every study
 * corpus (scripts/README-data.md, "Corpus format"), in-process or through
 * precisd, with one code path apart from the transport (quality_transport.h).
 *
 * Per corpus: a fresh collection (cosine, defaults), every entry upserted
 * (vector, text, metadata {"label"}), its knowledge links added, the kNN
 * graph rebuilt. Then every held-out query (the entry and every link touching
 * it were never ingested) is retrieved with k 10 for each row:
 *
 *   graph      h0 (hops 0), h1 / h2 (hops 1 / 2 with the server's edge
 *              defaults: nothing sent but hops), the three by default;
 *              links-1 / links-2 (hops 1 / 2 over knowledge links only,
 *              sent), all-1 / all-2 (kNN edges and links), knn-1 (hops 1
 *              over kNN edges only);
 *   family     DEFAULT: the server defaults, nothing sent (the headline row);
 *              TOPK; MMR over lambda; COMPRESS over theta; and, at hops 0 on
 *              the same candidate pool (the ANN top-P points, P = the pool
 *              Precis reported for the DEFAULT row, vectors fetched with get),
 *              cosine MMR over lambda and greedy log-det over theta
 *              (quality_baselines.h). The families are the table
 *              qs_default_families (one line each; --sweep adds or replaces).
 *
 * Metrics, averaged over the queries: sim = mean exact cosine of the 10 to
 * the query, sim % of TOPK at hops 0; labels = distinct labels among the 10,
 * and their ratio to TOPK hops 0; redundancy = mean pairwise cosine; recall
 * = share of the query's linked entries among the 10 (queries with links
 * only), and its ratio to TOPK hops 0; graph % = items reached through the
 * graph; p50/p99 of the retrieve call (baselines: the selection alone).
 * Ratios carry 95 % bootstrap intervals, paired over queries (the same
 * resample for the row and TOPK).
 *
 * Front check (hops 0): at every operating point of a compared family (MMR,
 * cosine MMR, log-det), COMPRESS's (sim %, labels) curve is interpolated
 * linearly at the point's sim %; gap = COMPRESS labels - the point's labels,
 * with a paired bootstrap interval. A point with more sim % than any COMPRESS
 * point is compared with COMPRESS's highest-sim point (a dominated COMPRESS
 * is "below"); one with less sim % than any is not compared. Verdict: below
 * (interval under 0), on, above. The corpus's verdict is family-wise: a
 * point counts as below beyond noise only if Holm's test over every
 * compared point of the corpus rejects "gap >= 0" at one-sided
 * QS_FRONT_ALPHA (bootstrap p-values), so that 23-31 points per corpus do
 * not flag ties by chance.
 *
 * Output: a summary per corpus on stdout (and DIR/summary.md), every row in
 * DIR/<corpus>.<transport>.tsv, the front check in DIR/front.<transport>.tsv.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_util.h"
#include "dataset.h"
#include "precis/limits.h"
#include "quality_baselines.h"
#include "quality_transport.h"
#include "study_quality.h"

/* One line per family: "NAME knob=value ... knob=v1,v2,..." (at most one
 * knob with a list: the sweep). kind: who selects; curve 1: COMPRESS's
 * curve of the front check, 2: compared against it. */
static const struct {
  const char *spec;
  qs_kind kind;
  int curve;
} qs_default_families[] = {
    {"DEFAULT", QS_PRECIS, 0},
    {"TOPK mode=1", QS_PRECIS, 0},
    {"MMR mode=2 lambda=0.1,0.3,0.5,0.7,0.9", QS_PRECIS, 2},
    {"COMPRESS mode=0 diversity=0,0.005,0.01,0.02,0.05,0.1,0.15,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1",
     QS_PRECIS, 1},
    /* the expert knob on the log-det baseline's grid, without the floor:
     * the same operating points */
    {"COMPRESS-theta mode=0 similarity_floor=0 theta=0,0.5,1,2,4,8,16,32,64,128,256,512,1024",
     QS_PRECIS, 1},
    {"cosMMR lambda=0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1", QS_COSMMR, 2},
    {"logdet theta=0,0.5,1,2,4,8,16,32", QS_LOGDET, 2},
};

static const qs_graph qs_graphs[] = {
    {"h0", 0, QT_EDGES_DEFAULT}, {"links-1", 1, QT_EDGES_LINKS}, {"links-2", 2, QT_EDGES_LINKS},
    {"all-1", 1, QT_EDGES_ALL},  {"all-2", 2, QT_EDGES_ALL},     {"knn-1", 1, QT_EDGES_KNN},
    {"h1", 1, QT_EDGES_DEFAULT}, {"h2", 2, QT_EDGES_DEFAULT},
};
#define QS_NGRAPHS (sizeof qs_graphs / sizeof qs_graphs[0])

/* ---- families ---- */

static int qs_parse_family(const char *spec, qs_kind kind, int curve, qs_family *f) {
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->curve = curve;
  f->knob = -1;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", spec);
  char *save = NULL, *tok = strtok_r(buf, " ", &save);
  if (!tok) return -1;
  snprintf(f->name, sizeof f->name, "%s", tok);
  while ((tok = strtok_r(NULL, " ", &save))) {
    char *eq = strchr(tok, '=');
    if (!eq) return -1;
    *eq = 0;
    int k = qt_knob_find(tok);
    if (k < 0) {
      fprintf(stderr, "precis-bench quality: unknown knob '%s' in '%s'\n", tok, spec);
      return -1;
    }
    double v[QS_MAX_GRID];
    int n = bu_parse_flist(eq + 1, v, QS_MAX_GRID);
    if (n <= 0) return -1;
    if (n == 1 && strchr(eq + 1, ',') == NULL) {
      qt_req_set(&f->fixed, k, v[0]);
    } else {
      if (f->knob >= 0) return -1; /* one sweep per family */
      f->knob = k;
      memcpy(f->grid, v, (size_t)n * sizeof *v);
      f->ngrid = n;
    }
  }
  return 0;
}

/* --sweep "NAME ...": replaces the family of that name or adds a Precis one
 * (a COMPRESS* name joins COMPRESS's curve, any other is compared with it) */
static int qs_add_sweep(qs_opts *o, const char *spec) {
  qs_family f;
  if (qs_parse_family(spec, QS_PRECIS, 2, &f)) return -1;
  if (!strncmp(f.name, "COMPRESS", 8)) f.curve = 1;
  for (int i = 0; i < o->nfam; i++)
    if (!strcmp(o->fam[i].name, f.name)) {
      f.kind = o->fam[i].kind;
      f.curve = o->fam[i].curve;
      o->fam[i] = f;
      return 0;
    }
  if (o->nfam == QS_MAX_FAM) return -1;
  o->fam[o->nfam++] = f;
  return 0;
}

/* ---- metrics of one selected set ---- */

static double qs_dot(const float *a, const float *b, size_t dim) {
  double s = 0;
  for (size_t i = 0; i < dim; i++) s += (double)a[i] * b[i];
  return s;
}

/* distinct labels among corpus rows[0..n) (n <= QS_K_MAX * 4) */
static size_t qs_labels(const ds_corpus *c, const long *rows, size_t n) {
  uint32_t labs[QS_K_MAX * 4];
  size_t nl = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t l = c->label[rows[i]];
    size_t j = 0;
    while (j < nl && labs[j] != l) j++;
    if (j == nl && nl < QS_K_MAX * 4) labs[nl++] = l;
  }
  return nl;
}

/* rows: corpus rows of the selected items; hops: per item (may be NULL) */
static void qs_score(const ds_corpus *c, size_t qi, const long *rows, const uint32_t *hops,
                     size_t n, qs_row *r) {
  const float *q = c->qvec + qi * c->dim;
  double sim = 0, red = 0, gs = 0;
  size_t pairs = 0, nl, found = 0;
  for (size_t i = 0; i < n; i++) {
    const float *v = c->vec + (size_t)rows[i] * c->dim;
    sim += qs_dot(q, v, c->dim);
    for (size_t j = 0; j < i; j++, pairs++)
      red += qs_dot(v, c->vec + (size_t)rows[j] * c->dim, c->dim);
    if (hops && hops[i] > 0) gs++;
  }
  nl = qs_labels(c, rows, n);
  for (size_t h = 0; h < c->nqlinked[qi]; h++)
    for (size_t i = 0; i < n; i++)
      if (c->ids[rows[i]] == c->qlinked[qi][h]) {
        found++;
        break;
      }
  r->sim[qi] = n ? sim / (double)n : 0;
  r->labels[qi] = (double)nl;
  r->red[qi] = pairs ? red / (double)pairs : 0;
  r->gshare[qi] = n ? gs / (double)n : 0;
  r->rec[qi] = c->nqlinked[qi] ? (double)found / (double)c->nqlinked[qi] : NAN;
  r->items[qi] = (double)n;
  r->tokens[qi] = NAN; /* the caller knows them, or not */
}

/* ---- running the rows ---- */

static int qs_run_precis(qt *t, const char *coll, const ds_corpus *c, const qs_opts *o, size_t nq,
                         qs_row *r, uint32_t *pool_out) {
  uint32_t k = o->k;
  qt_req req = r->f->fixed;
  if (o->budget && !(req.set & (1u << QK_token_budget)))
    qt_req_set(&req, QK_token_budget, o->budget);
  if (r->f->knob >= 0) qt_req_set(&req, r->f->knob, r->param);
  if (r->g->hops) qt_req_set(&req, QK_hops, r->g->hops);
  req.edges = r->g->edges;
  qt_item items[QS_K_MAX * 4];
  long rows[QS_K_MAX * 4];
  uint32_t hops[QS_K_MAX * 4];
  double pool = 0;
  for (size_t qi = 0; qi < nq; qi++) {
    size_t n, m = 0;
    uint32_t ps = 0;
    uint64_t t0 = bench_now_ns();
    if (qt_retrieve(t, coll, c->qvec + qi * c->dim, (uint32_t)c->dim, k, &req, items, QS_K_MAX * 4,
                    &n, &ps))
      return -1;
    r->lat[qi] = (double)(bench_now_ns() - t0) / 1e6;
    double tok = 0;
    for (size_t i = 0; i < n; i++) {
      long row = ds_corpus_row(c, items[i].id);
      if (row < 0) continue;
      rows[m] = row;
      tok += items[i].tokens;
      hops[m++] = items[i].hops;
    }
    qs_score(c, qi, rows, hops, m, r);
    r->tokens[qi] = tok;
    pool += ps;
    if (pool_out) pool_out[qi] = ps;
  }
  r->pool = nq ? pool / (double)nq : 0;
  return 0;
}

/* every baseline row (rows[0..n) of kind COSMMR / LOGDET) on each query's pool */
static int qs_run_baselines(qt *t, const char *coll, const ds_corpus *c, uint32_t k, size_t nq,
                            const uint32_t *pool_sz, qs_row *rows, size_t n) {
  uint32_t maxp = 1;
  for (size_t qi = 0; qi < nq; qi++)
    if (pool_sz[qi] > maxp) maxp = pool_sz[qi];
  uint64_t *ids = malloc(maxp * sizeof *ids);
  float *vecs = malloc((size_t)maxp * c->dim * sizeof *vecs);
  long *prow = malloc(maxp * sizeof *prow);
  int rc = ids && vecs && prow ? 0 : -1;
  for (size_t qi = 0; !rc && qi < nq; qi++) {
    size_t got;
    const float *q = c->qvec + qi * c->dim;
    if (qt_pool(t, coll, q, (uint32_t)c->dim, pool_sz[qi] ? pool_sz[qi] : k, ids, vecs, &got)) {
      rc = -1;
      break;
    }
    for (size_t i = 0; i < got; i++) prow[i] = ds_corpus_row(c, ids[i]);
    qbl_pool p;
    if (qbl_pool_init(&p, q, vecs, got, c->dim)) {
      rc = -1;
      break;
    }
    for (size_t ri = 0; ri < n; ri++) {
      qs_row *r = &rows[ri];
      size_t sel[QS_K_MAX], rws = 0;
      long srow[QS_K_MAX];
      uint64_t t0 = bench_now_ns();
      size_t m = r->f->kind == QS_COSMMR ? qbl_cos_mmr(&p, r->param, k, sel)
                                         : qbl_logdet(&p, r->param, k, sel);
      r->lat[qi] = (double)(bench_now_ns() - t0) / 1e6;
      for (size_t i = 0; i < m; i++)
        if (prow[sel[i]] >= 0) srow[rws++] = prow[sel[i]];
      qs_score(c, qi, srow, NULL, rws, r);
      r->pool += (double)got / (double)nq;
    }
    qbl_pool_free(&p);
  }
  free(ids);
  free(vecs);
  free(prow);
  return rc;
}

/* The exact top S corpus rows of q, best first (insertion into a sorted
 * array): rows in top, cosines in ts; returns how many (S or fewer). */
static size_t qs_exact_top(const ds_corpus *c, const float *q, size_t S, long *top, float *ts) {
  size_t m = 0;
  for (size_t r = 0; r < c->n && S; r++) {
    float v = (float)qs_dot(q, c->vec + r * c->dim, c->dim);
    if (m == S && v <= ts[S - 1]) continue;
    size_t j = m < S ? m++ : S - 1;
    while (j > 0 && ts[j - 1] < v) {
      ts[j] = ts[j - 1];
      top[j] = top[j - 1];
      j--;
    }
    ts[j] = v;
    top[j] = (long)r;
  }
  return m;
}

/* ---- what a selection could gain in labels ----
 * A label oracle (it knows the labels): from the exact top
 * max(QS_ORACLE_PER_K * k, QS_ORACLE_POOL) points (30 at k 10), the most
 * similar point of each of the m best labels, the rest filled with the
 * most similar others, for the largest m
 * whose k keep QS_TARGET_SIM of the exact top k's mean similarity. Returns
 * its distinct labels over the exact top k's (ratio of the means over the
 * queries; docs/RETRIEVAL.md, "What the labels allow"; the same as
 * bench/emu/bounds.py with pool 30); NAN when memory runs out. */
static double qs_oracle(const ds_corpus *c, uint32_t k) {
  const size_t P0 = (size_t)QS_ORACLE_PER_K * k, P = P0 > QS_ORACLE_POOL ? P0 : QS_ORACLE_POOL;
  long *top = malloc(P * sizeof *top), sel[QS_K_MAX];
  float *ts = malloc(P * sizeof *ts);
  size_t *first = malloc(P * sizeof *first);
  unsigned char *taken = malloc(P);
  double l0 = 0, l1 = 0;
  if (!top || !ts || !first || !taken) goto done;
  for (size_t qi = 0; qi < c->nq; qi++) {
    size_t m = qs_exact_top(c, c->qvec + qi * c->dim, P, top, ts), kk = k < m ? k : m, nf = 0;
    double m0 = 0;
    for (size_t i = 0; i < kk; i++) m0 += ts[i];
    m0 /= kk ? (double)kk : 1;
    for (size_t i = 0; i < m; i++) { /* the first (most similar) point of each label */
      size_t j = 0;
      while (j < nf && c->label[top[first[j]]] != c->label[top[i]]) j++;
      if (j == nf) first[nf++] = i;
    }
    size_t ns = 0;
    for (size_t want = kk < nf ? kk : nf; want > 0; want--) {
      double sum = 0;
      memset(taken, 0, P);
      ns = 0;
      for (size_t j = 0; j < want; j++) {
        taken[first[j]] = 1;
        sel[ns++] = top[first[j]];
        sum += ts[first[j]];
      }
      for (size_t i = 0; i < m && ns < kk; i++)
        if (!taken[i]) {
          sel[ns++] = top[i];
          sum += ts[i];
        }
      if (sum / (double)ns >= m0 - (1 - QS_TARGET_SIM) * fabs(m0)) break;
    }
    if (!ns) /* no label at all: the top k */
      for (; ns < kk; ns++) sel[ns] = top[ns];
    l0 += (double)qs_labels(c, top, kk);
    l1 += (double)qs_labels(c, sel, ns);
  }
done:
  free(top);
  free(ts);
  free(first);
  free(taken);
  return l0 > 0 ? l1 / l0 : NAN;
}

/* ---- what one hop can reach ----
 * The share of a query's linked entries that the default walk's pool can
 * hold at all: among the default seeds (the exact top max(10k, 50)) or one
 * knowledge link, either way, from the expand_from (4k) best. No
 * ranking of that pool recalls more at hops 1, so the ratio of this to
 * TOPK's recall bounds the hops-1 target's ratio (docs/RETRIEVAL.md, "What
 * the labels allow, and what a walk can reach"; bench/emu/bounds.py is the
 * same bound with the 30 nearest points for the seeds). Mean over the
 * queries with links; NAN when none has any or memory runs out. */
static double qs_reach(const ds_corpus *c, uint32_t k) {
  const size_t S0 = (size_t)k * PRECIS_DEFAULT_SEEDS_PER_K;
  const size_t S = S0 > PRECIS_DEFAULT_SEEDS_MIN ? S0 : PRECIS_DEFAULT_SEEDS_MIN;
  const size_t E = PRECIS_DEFAULT_EXPAND_FROM(k);
  size_t n = c->n, *deg = calloc(n + 1, sizeof *deg), *adj = NULL;
  long *top = malloc(S * sizeof *top);
  float *ts = malloc(S * sizeof *ts);
  unsigned char *in = calloc(n ? n : 1, 1);
  double sum = 0;
  size_t nl = 0;
  if (!deg || !top || !ts || !in) goto done;
  /* adjacency by row, both directions (compressed rows: deg[r]..deg[r+1]) */
  for (size_t i = 0; i < c->nlinks; i++) {
    long a = ds_corpus_row(c, c->links[i].src), b = ds_corpus_row(c, c->links[i].dst);
    if (a < 0 || b < 0) continue;
    deg[a + 1]++;
    deg[b + 1]++;
  }
  for (size_t r = 0; r < n; r++) deg[r + 1] += deg[r];
  if (!(adj = malloc((deg[n] ? deg[n] : 1) * sizeof *adj))) goto done;
  {
    size_t *fill = calloc(n ? n : 1, sizeof *fill);
    if (!fill) goto done;
    for (size_t i = 0; i < c->nlinks; i++) {
      long a = ds_corpus_row(c, c->links[i].src), b = ds_corpus_row(c, c->links[i].dst);
      if (a < 0 || b < 0) continue;
      adj[deg[a] + fill[a]++] = (size_t)b;
      adj[deg[b] + fill[b]++] = (size_t)a;
    }
    free(fill);
  }
  for (size_t qi = 0; qi < c->nq; qi++) {
    if (!c->nqlinked[qi]) continue;
    size_t m = qs_exact_top(c, c->qvec + qi * c->dim, S, top, ts);
    for (size_t j = 0; j < m; j++) in[top[j]] = 1;
    for (size_t j = 0; j < m && j < E; j++)
      for (size_t a = deg[top[j]]; a < deg[top[j] + 1]; a++) in[adj[a]] = 1;
    size_t found = 0;
    for (size_t h = 0; h < c->nqlinked[qi]; h++) {
      long r = ds_corpus_row(c, c->qlinked[qi][h]);
      found += r >= 0 && in[r];
    }
    sum += (double)found / (double)c->nqlinked[qi];
    nl++;
    memset(in, 0, n);
  }
done:
  free(deg);
  free(adj);
  free(top);
  free(ts);
  free(in);
  return nl ? sum / (double)nl : NAN;
}

/* ---- one corpus ---- */

static int qs_rows_run(qt *t, const char *coll, const ds_corpus *c, const qs_opts *o, qs_result *R,
                       uint32_t *pool_sz);

static int qs_corpus(qt *t, const char *name, const qs_opts *o, qs_result *R, ds_corpus *c) {
  memset(R, 0, sizeof *R);
  R->corpus = name;
  R->transport = strncmp(qt_name(t), "precisd", 7) ? "engine" : "precisd";
  fprintf(stderr, "quality: %s: loading\n", name);
  if (ds_corpus_load(name, o->maxq, 1, c)) return -1;
  R->c = c;
  R->nq = c->nq;
  for (size_t i = 0; i < c->nq; i++) R->nq_linked += c->nqlinked[i] > 0;
  R->k = o->k;
  R->reach = c->nlinks && R->nq_linked ? qs_reach(c, o->k) : NAN;
  R->oracle = qs_oracle(c, o->k);
  char coll[PRECIS_MAX_NAME_LEN + 1];
  snprintf(coll, sizeof coll, "quality_%.48s", name);
  for (char *p = coll; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '_' || *p == '-' || *p == '.'))
      *p = '_';
  fprintf(stderr, "quality: %s: ingesting %zu entries, %zu links (%s)\n", name, c->n, c->nlinks,
          qt_name(t));
  if (qt_ingest(t, coll, c, !o->no_rebuild, o->shuffle, o->batch, &R->st)) return -1;
  size_t cap = 0;
  for (int f = 0; f < o->nfam; f++)
    cap += (size_t)(o->fam[f].ngrid ? o->fam[f].ngrid : 1) * QS_NGRAPHS;
  R->rows = calloc(cap, sizeof *R->rows);
  uint32_t *pool_sz = calloc(R->nq ? R->nq : 1, sizeof *pool_sz);
  int rc = qs_rows_run(t, coll, c, o, R, pool_sz);
  free(pool_sz);
  return rc ? rc : qs_summarise(R, o->boot);
}

/* the rows of one corpus: every graph x family x value (baselines at hops 0) */
static int qs_rows_run(qt *t, const char *coll, const ds_corpus *c, const qs_opts *o, qs_result *R,
                       uint32_t *pool_sz) {
  const char *name = R->corpus;
  if (!R->rows || !pool_sz) return -1;
  for (size_t g = 0; g < QS_NGRAPHS; g++) {
    const qs_graph *gr = &qs_graphs[g];
    /* without links the default walk has nothing to follow (it runs as hops 0) */
    bool links_only = gr->edges == QT_EDGES_LINKS || (gr->edges == QT_EDGES_DEFAULT && gr->hops);
    if (!(o->graphs & (1u << g)) || (links_only && !c->nlinks)) continue;
    for (int f = 0; f < o->nfam; f++) {
      const qs_family *fa = &o->fam[f];
      /* the baselines select k on the pool: at hops 0, and not under a budget */
      if (fa->kind != QS_PRECIS && (gr->hops || o->budget)) continue;
      for (int v = 0; v < (fa->ngrid ? fa->ngrid : 1); v++) {
        qs_row *r = &R->rows[R->nrows++];
        r->f = fa;
        r->g = gr;
        r->param = fa->knob >= 0 ? fa->grid[v] : NAN;
        if (qs_row_alloc(r, R->nq)) return -1;
      }
    }
  }
  int have_ref = 0, have_default = 0;
  for (size_t i = 0; i < R->nrows; i++) {
    if (!strcmp(R->rows[i].f->name, "TOPK") && !R->rows[i].g->hops) {
      R->ref = i;
      have_ref = 1;
    }
    have_default |= !strcmp(R->rows[i].f->name, "DEFAULT") && !R->rows[i].g->hops;
  }
  if (!have_ref || !have_default) {
    fprintf(stderr,
            "precis-bench quality: the study needs the TOPK and DEFAULT families and graph h0\n");
    return -1;
  }
  /* warm-up */
  {
    qs_row w = R->rows[0];
    size_t nw = R->nq < 10 ? R->nq : 10;
    if (qs_run_precis(t, coll, c, o, nw, &w, NULL)) return -1;
  }
  /* DEFAULT h0 first: its pool sizes are the baselines' pools */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < R->nrows; i++) {
      qs_row *r = &R->rows[i];
      int is_def = !strcmp(r->f->name, "DEFAULT") && !r->g->hops;
      if (r->f->kind != QS_PRECIS || is_def != !pass) continue;
      char nm[96];
      qs_row_name(r, nm, sizeof nm);
      fprintf(stderr, "quality: %s: %s / %s\n", name, r->g->name, nm);
      if (qs_run_precis(t, coll, c, o, R->nq, r, is_def ? pool_sz : NULL)) return -1;
    }
  size_t b0 = R->nrows, nb = 0;
  for (size_t i = 0; i < R->nrows; i++)
    if (R->rows[i].f->kind != QS_PRECIS) {
      if (b0 == R->nrows) b0 = i;
      nb++;
    }
  if (nb) {
    if (o->bpool)
      for (size_t qi = 0; qi < R->nq; qi++) pool_sz[qi] = o->bpool;
    fprintf(stderr, "quality: %s: baselines (%zu rows) on the %s pools\n", name, nb,
            o->bpool ? "--baseline-pool" : "DEFAULT");
    if (qs_run_baselines(t, coll, c, o->k, R->nq, pool_sz, R->rows + b0, nb)) return -1;
  }
  return 0;
}

static void qs_result_free(qs_result *R) {
  for (size_t i = 0; R->rows && i < R->nrows; i++) qs_row_free(&R->rows[i]);
  free(R->rows);
  free(R->front);
  memset(R, 0, sizeof *R);
}

/* ---- driver ---- */

#define QS_STR_(x) #x
#define QS_STR(x)  QS_STR_(x) /* a number macro as a string literal */

/* what `precis-bench quality` runs without --corpora: every study corpus
 * that `make data-quality` builds, apart from the small variants */
#define QS_DEFAULT_CORPORA                                                                     \
  "fiori-study,wordnet-small,manpages,wordnet-rel,pydoc,debpkg,foldoc,maxima,octave,postgres," \
  "handbook,erlang,nodejs"

static void qs_usage(FILE *f) {
  fprintf(f,
          "usage: precis-bench quality [--corpora LIST] [--transport engine|server|both]\n"
          "                            [--server HOST:PORT] [--queries N] [--k K] [--graphs LIST]\n"
          "                            [--sweep \"NAME knob=v ... knob=v1,v2,...\"] [--boot N]\n"
          "                            [--baseline-pool N] [--no-rebuild] [--shuffle SEED]\n"
          "                            [--batch N] [--token-budget T]\n"
          "                            [--out DIR]\n"
          "  --corpora   default " QS_DEFAULT_CORPORA
          "\n"
          "              (data: make data-quality; small variants manpages-small,\n"
          "              wordnet-rel-small; NAME-use, the same through a trained\n"
          "              encoder: make data-use; your own data: scripts/corpus.py\n"
          "              from-jsonl, then PRECIS_DATA_DIR=its parent folder)\n"
          "  --transport engine (in-process, default), server (through precisd: spawned\n"
          "              on a temporary directory, or --server), both\n"
          "  --queries   held-out queries per corpus (default 200; 0 = all)\n"
          "  --k         results per query, 1.." QS_STR(QS_K_MAX)
          " (default " QS_STR(QS_K_DEFAULT) ": the k of issue 10's targets)\n"
          "  --graphs    of h0,links-1,links-2,all-1,all-2,knn-1,h1,h2 (default h0,h1,h2)\n"
          "  --sweep     add a family, or replace one of the same name (knobs:");
  for (int k = 0; k < QK_COUNT; k++) fprintf(f, " %s", qt_knob_name(k));
  fprintf(f,
          ")\n"
          "  --boot      bootstrap resamples (default " QS_STR(QS_BOOT_DEFAULT) ")\n"
          "  --baseline-pool  ANN top-N for cosMMR/logdet (default: the pool the\n"
          "              DEFAULT row reported for the query, i.e. Precis's own)\n"
          "  --no-rebuild  keep the kNN graph as the upserts kept it (a client that\n"
          "              never calls graph_rebuild); default: rebuilt after loading\n"
          "  --shuffle   load the entries in a random order (seed SEED, not 0); default:\n"
          "              the corpus's order\n"
          "  --batch     points per upsert, 1.." QS_STR(QT_BATCH) " (default " QS_STR(QT_BATCH) ")\n"
          "              1: a client that writes one point at a time\n"
          "  --token-budget  every Precis row also sends token_budget T (unless it\n"
          "              sets its own); k stays the cap. The baselines (cosMMR,\n"
          "              logdet) cannot honour a budget and are left out, so the\n"
          "              front check compares COMPRESS with MMR\n"
          "  --out       results directory (default bench/results/quality)\n");
}

int bench_quality(int argc, char **argv) {
  static qs_opts o; /* large: keep off the stack */
  memset(&o, 0, sizeof o);
  o.maxq = 200;
  o.k = QS_K_DEFAULT;
  o.boot = QS_BOOT_DEFAULT;
  o.batch = QT_BATCH;
  o.out = "bench/results/quality";
  o.graphs = 1u | 64u | 128u; /* h0, h1, h2: the server's defaults */
  for (size_t i = 0; i < sizeof qs_default_families / sizeof *qs_default_families; i++)
    if (qs_parse_family(qs_default_families[i].spec, qs_default_families[i].kind,
                        qs_default_families[i].curve, &o.fam[o.nfam++])) {
      fprintf(stderr, "precis-bench quality: bad built-in family '%s'\n",
              qs_default_families[i].spec);
      return 2;
    }
  const char *corpora = NULL, *transport = "engine", *server = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      qs_usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--no-rebuild")) { /* the one option without a value */
      o.no_rebuild = 1;
      continue;
    }
    if (!v) {
      qs_usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--corpora"))
      corpora = v;
    else if (!strcmp(a, "--transport"))
      transport = v;
    else if (!strcmp(a, "--server"))
      server = v, transport = "server";
    else if (!strcmp(a, "--queries"))
      o.maxq = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--k")) {
      if (bu_parse_range("precis-bench quality", a, v, 1, QS_K_MAX, &o.k)) return 2;
    } else if (!strcmp(a, "--boot"))
      o.boot = atoi(v);
    else if (!strcmp(a, "--shuffle"))
      o.shuffle = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--batch")) {
      if (bu_parse_range("precis-bench quality", a, v, 1, QT_BATCH, &o.batch)) return 2;
    } else if (!strcmp(a, "--token-budget")) {
      if (bu_parse_range("precis-bench quality", a, v, 1, PRECIS_MAX_TOKEN_BUDGET, &o.budget))
        return 2;
    } else if (!strcmp(a, "--baseline-pool"))
      o.bpool = (uint32_t)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--out"))
      o.out = v;
    else if (!strcmp(a, "--sweep")) {
      if (qs_add_sweep(&o, v)) {
        fprintf(stderr, "precis-bench quality: bad --sweep '%s'\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--graphs")) {
      o.graphs = 0;
      char buf[256];
      snprintf(buf, sizeof buf, "%s", v);
      char *save = NULL;
      for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t g = 0;
        while (g < QS_NGRAPHS && strcmp(qs_graphs[g].name, t)) g++;
        if (g == QS_NGRAPHS) {
          fprintf(stderr, "precis-bench quality: unknown graph '%s'\n", t);
          return 2;
        }
        o.graphs |= 1u << g;
      }
      o.graphs |= 1u; /* h0 is the reference */
    } else {
      qs_usage(stderr);
      return 2;
    }
  }
  int use_engine = !strcmp(transport, "engine") || !strcmp(transport, "both");
  int use_server = !strcmp(transport, "server") || !strcmp(transport, "both");
  if (!use_engine && !use_server) {
    qs_usage(stderr);
    return 2;
  }
  bench_blas_single_thread();
  char names[QS_MAX_CORPORA][64];
  int nc = 0;
  bool named = corpora != NULL; /* a corpus the user named must be there */
  if (!named) corpora = QS_DEFAULT_CORPORA;
  {
    char buf[2048];
    if ((size_t)snprintf(buf, sizeof buf, "%s", corpora) >= sizeof buf) {
      fprintf(stderr, "precis-bench quality: --corpora is longer than %zu characters\n",
              sizeof buf - 1);
      return 2;
    }
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (nc == QS_MAX_CORPORA) { /* never drop one silently */
        fprintf(stderr, "precis-bench quality: more than %d corpora in one run\n", QS_MAX_CORPORA);
        return 2;
      }
      if (!ds_available(t)) {
        if (named) {
          fprintf(stderr,
                  "precis-bench quality: corpus %s is missing (make data-quality, "
                  "make data-use, or scripts/fetch-data.sh %s)\n",
                  t, t);
          return 2;
        }
        fprintf(stderr, "quality: corpus %s is missing (make data-quality): skipped\n", t);
        continue;
      }
      snprintf(names[nc++], sizeof names[0], "%s", t);
    }
  }
  if (!nc) {
    fprintf(stderr, "precis-bench quality: no corpus (run make data-quality)\n");
    return 1;
  }
  FILE *sum = bu_open_out(o.out, "summary.md");
  if (!sum) return 1;
  fprintf(sum, "## quality\n\n");
  bu_env_md(sum);
  fprintf(sum,
          "\nk %d, up to %zu queries per corpus, %d bootstrap resamples; [lo, hi] = 95 %% paired "
          "bootstrap interval over queries\n\n",
          (int)o.k, o.maxq, o.boot);
  printf("## quality\n\n");
  int rc = 0;
  for (int tr = 0; tr < 2 && !rc; tr++) {
    if (!(tr == 0 ? use_engine : use_server)) continue;
    qt *t = NULL;
    if (tr == 0 ? qt_open_engine(&t) : qt_open_server(server, &t)) {
      rc = 1;
      break;
    }
    char fname[128], head[QS_MAX_CORPORA][768];
    int nhead = 0;
    snprintf(fname, sizeof fname, "front.%s.tsv", tr ? "precisd" : "engine");
    FILE *ff = bu_open_out(o.out, fname);
    if (!ff) rc = 1;
    for (int i = 0; i < nc && !rc; i++) {
      qs_result R;
      ds_corpus c;
      uint64_t t0 = bench_now_ns();
      if (qs_corpus(t, names[i], &o, &R, &c)) {
        rc = 1;
      } else {
        qs_markdown(stdout, &R);
        qs_markdown(sum, &R);
        fflush(stdout);
        snprintf(fname, sizeof fname, "%.63s.%.16s.tsv", names[i], R.transport);
        FILE *f = bu_open_out(o.out, fname);
        if (f) {
          qs_tsv(f, &R);
          rc |= fclose(f) != 0;
        } else {
          rc = 1;
        }
        qs_front_tsv(ff, &R, i == 0);
        qs_headline(head[nhead++], sizeof head[0], &R);
        fprintf(stderr, "quality: %s done in %.0f s\n", names[i],
                (double)(bench_now_ns() - t0) / 1e9);
      }
      qs_result_free(&R);
      ds_corpus_free(&c);
    }
    if (ff) rc |= fclose(ff) != 0;
    for (int k = 0; k < 2 && nhead; k++) {
      FILE *f = k ? sum : stdout;
      fprintf(
          f,
          "### summary, server defaults (%s; targets of issue 10)\n\n"
          "| corpus | COMPRESS hops 0: sim %% / labels x TOPK (>= 97 %%, >= 1.3x; what a label "
          "oracle "
          "gets) | MMR lambda "
          "0.5: "
          "sim %% / labels x (>= 97 %%, >= 1.1x) | TOPK recall h0 | hops 1 links: recall x TOPK h0 "
          "(>= 1.5x at >= 90 %%; what one hop reaches) | hops 2 links: recall x | front: COMPRESS "
          "below MMR/log-det (points; beyond noise for the corpus) |\n"
          "|---|---|---|---:|---|---|---|\n",
          qt_name(t));
      for (int h = 0; h < nhead; h++) fprintf(f, "%s\n", head[h]);
      fprintf(f, "\n");
    }
    qt_close(t);
  }
  rc |= fclose(sum) != 0;
  if (!rc) fprintf(stderr, "quality: results in %s/\n", o.out);
  return rc;
}
