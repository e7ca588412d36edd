/*
 * study_select.c: `precis-bench select`, latency and quality of the final
 * selection (index/retrieve/select.h) on synthetic pools.
 *
 * Pools are deterministic: unit vectors around max(4, n/25) Gaussian cluster
 * centres (a point's cluster is its category), relevance = min-max rescaled
 * similarity to a query near one centre, tokens 50..400. `--pools P` builds
 * P such pools per size and dimension (seeds S..S+P-1). The SPARSE modes get
 * the exact 16-NN lists of the pool (built outside the timed region, as the
 * engine reads its kNN graph); COMPRESS-auto runs without lists, as
 * engine_retrieve calls it (AUTO -> EXACT or SAMPLE), COMPRESS-auto-lists
 * with them (AUTO -> EXACT or SPARSE). Each configuration runs `--reps` times
 * per pool after 3 warm-up runs, one thread (OpenBLAS limited to 1 thread;
 * OPENBLAS_NUM_THREADS=1 does the same); time covers select_run +
 * select_result_free. Default parameters (select_params_default) apart from
 * mode, coverage, k, sample and budget; the COMPRESS-<form> modes add the
 * coverage term (b 0.5, theta 1, the defaults before issue 10), COMPRESS
 * alone is today's default (b 0, diversity 0.5: theta and the similarity
 * floor); MMR runs without the floor, as LangChain's MMR does (retrieve
 * adds the floor of lambda 0.5 by default). Shared neighbours need the
 * graph's lists and are not run here (their cost is measured through
 * `precis-bench quality`, bench/README.md). Reported: median and p99 wall
 * latency over all runs, median thread CPU time (steadier on a shared
 * machine), the coverage form that ran (select_result.coverage), and means
 * over the pools of the result statistics (objective F, coverage ratio,
 * redundancy, mean relevance, distinct categories); for COMPRESS, the mean
 * over the pools of objective / objective of COMPRESS-exact and the mean
 * categories relative to COMPRESS-exact's (an untimed reference run), so
 * that latency and quality can be compared on the same pools. `--modes`
 * keeps the modes whose name contains one of the given words (e.g.
 * "MMR,COMPRESS-sparse").
 *
 * LangChain.js (select_langchain.h): unless `--langchain off`, each size x
 * dim x k also runs LangChain.js's maximalMarginalRelevance under node on
 * the same pools and query vectors, with Precis MMR's lambda and the same k,
 * 3 warm-up calls and `--reps` timed calls per pool, timed inside node; its
 * row reports median and p99 wall time, every Precis row the ratio LangChain
 * median / its median, and the MMR row on how many pools Precis MMR chose
 * the same ids in the same order. Without node or the package the route
 * says why and the rest runs.
 *
 * `--gram on` adds, per size x dim, the thread-CPU median of EXACT's Gram
 * matrix alone (ssyrk, as select_compress.c computes it) and of a full sgemm
 * (this core's BLAS peak), with GFLOP/s: where EXACT's time goes.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "precis/limits.h"
#include "bench_util.h"
#include "select.h"
#include "select_langchain.h"

#define SB_MAX_LIST  16
#define SB_KNN       16
#define SB_MAX_POOLS 64

typedef struct {
  const char *name;
  select_mode mode;
  select_coverage cov;
  int lists; /* pass the pool's kNN lists */
  int cover; /* the coverage objective: b 0.5, theta 1 (the defaults before
              * issue 10); 0: select_params_default (b 0, diversity 0.5) */
} sb_mode;

static const sb_mode sb_modes[] = {
    {"TOPK", SELECT_TOPK, SELECT_COVER_EXACT, 0, 0},
    {"MMR", SELECT_MMR, SELECT_COVER_EXACT, 0, 0},
    {"COMPRESS", SELECT_COMPRESS, SELECT_COVER_AUTO, 0, 0},
    {"COMPRESS-exact", SELECT_COMPRESS, SELECT_COVER_EXACT, 0, 1},
    {"COMPRESS-sparse", SELECT_COMPRESS, SELECT_COVER_SPARSE, 1, 1},
    {"COMPRESS-sample", SELECT_COMPRESS, SELECT_COVER_SAMPLE, 0, 1},
    {"COMPRESS-auto", SELECT_COMPRESS, SELECT_COVER_AUTO, 0, 1},
    {"COMPRESS-auto-lists", SELECT_COMPRESS, SELECT_COVER_AUTO, 1, 1},
};
#define SB_NMODES (sizeof sb_modes / sizeof sb_modes[0])

typedef struct {
  const char *mode;
  uint32_t n, dim, k;
  double med_ms, p99_ms, cpu_med_ms;
  double objective, coverage, redundancy, mean_rel, cats; /* means over pools */
  double obj_ratio, cats_ratio;                           /* vs COMPRESS-exact; < 0: not reported */
  double selected;
  unsigned forms;  /* bit c: a run used coverage form c */
  double lc_ratio; /* LangChain.js MMR median / this median; < 0: not run */
  int same_ids;    /* MMR: pools where LangChain chose the same ids; < 0: - */
  int lc;          /* the LangChain.js row itself */
} sb_row;

typedef struct {
  size_t n, dim;
  float *vec, *rel, *qual; /* qual: cosine to the query (select_pool.quality) */
  float *query;            /* dim: the query vector (the LangChain.js route) */
  uint32_t *tok, *off, *nbr, *cat;
  float *sim;
} sb_pool;

/* ---- deterministic data ---- */

static uint64_t sb_rng;

static uint64_t sb_next(void) {
  uint64_t x = sb_rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return sb_rng = x;
}

static double sb_unif(void) { return ((double)(sb_next() >> 11) + 0.5) / 9007199254740992.0; }

static float sb_gauss(void) {
  return (float)(sqrt(-2.0 * log(sb_unif())) * cos(6.283185307179586 * sb_unif()));
}

static void sb_normalise(float *v, size_t dim) {
  double s = 0;
  for (size_t d = 0; d < dim; d++) s += (double)v[d] * v[d];
  float inv = (float)(1.0 / sqrt(s > 0 ? s : 1));
  for (size_t d = 0; d < dim; d++) v[d] *= inv;
}

static void sb_pool_free(sb_pool *p) {
  free(p->vec);
  free(p->query);
  free(p->rel);
  free(p->qual);
  free(p->tok);
  free(p->off);
  free(p->nbr);
  free(p->sim);
  free(p->cat);
}

/* Exact SB_KNN nearest neighbours of every point (one sgemm). */
static int sb_knn(sb_pool *p) {
  size_t n = p->n, deg = n - 1 < SB_KNN ? n - 1 : SB_KNN;
  float *G = malloc(n * n * sizeof *G);
  p->off = malloc((n + 1) * sizeof *p->off);
  p->nbr = malloc((n * deg + 1) * sizeof *p->nbr);
  p->sim = malloc((n * deg + 1) * sizeof *p->sim);
  if (!G || !p->off || !p->nbr || !p->sim) {
    free(G);
    return -1;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)p->dim, 1.0f, p->vec,
              (int)p->dim, p->vec, (int)p->dim, 0.0f, G, (int)n);
  for (size_t v = 0; v < n; v++) {
    uint32_t *ni = p->nbr + v * deg;
    float *ns = p->sim + v * deg;
    size_t have = 0;
    for (size_t u = 0; u < n; u++) {
      if (u == v) continue;
      float s = G[v * n + u];
      if (have == deg && s <= ns[deg - 1]) continue;
      size_t at = have < deg ? have++ : deg - 1;
      while (at > 0 && ns[at - 1] < s) {
        ns[at] = ns[at - 1];
        ni[at] = ni[at - 1];
        at--;
      }
      ns[at] = s;
      ni[at] = (uint32_t)u;
    }
    p->off[v] = (uint32_t)(v * deg);
  }
  p->off[n] = (uint32_t)(n * deg);
  free(G);
  return 0;
}

static int sb_pool_make(sb_pool *p, size_t n, size_t dim, uint64_t seed) {
  memset(p, 0, sizeof *p);
  p->n = n;
  p->dim = dim;
  sb_rng = seed * 0x9e3779b97f4a7c15ULL + n * 1000003u + dim;
  if (!sb_rng) sb_rng = 1;
  size_t nc = n / 25 > 4 ? n / 25 : 4;
  float *cent = malloc(nc * dim * sizeof *cent);
  float *query = malloc(dim * sizeof *query);
  p->vec = malloc(n * dim * sizeof *p->vec);
  p->rel = malloc(n * sizeof *p->rel);
  p->qual = malloc(n * sizeof *p->qual);
  p->tok = malloc(n * sizeof *p->tok);
  p->cat = malloc(n * sizeof *p->cat);
  if (!cent || !query || !p->vec || !p->rel || !p->qual || !p->tok || !p->cat) goto fail;
  for (size_t c = 0; c < nc; c++) {
    for (size_t d = 0; d < dim; d++) cent[c * dim + d] = sb_gauss();
    sb_normalise(cent + c * dim, dim);
  }
  float spread = 0.6f / sqrtf((float)dim); /* per-component noise */
  for (size_t i = 0; i < n; i++) {
    size_t c = (size_t)(sb_next() % nc);
    p->cat[i] = (uint32_t)c;
    for (size_t d = 0; d < dim; d++) p->vec[i * dim + d] = cent[c * dim + d] + spread * sb_gauss();
    sb_normalise(p->vec + i * dim, dim);
    p->tok[i] = 50 + (uint32_t)(sb_next() % 351);
  }
  for (size_t d = 0; d < dim; d++) query[d] = cent[d] + 2 * spread * sb_gauss();
  sb_normalise(query, dim);
  float lo = 1e30f, hi = -1e30f;
  for (size_t i = 0; i < n; i++) {
    float s = 0;
    for (size_t d = 0; d < dim; d++) s += query[d] * p->vec[i * dim + d];
    p->rel[i] = s;
    p->qual[i] = s; /* quality: the cosine itself (select.h) */
    lo = s < lo ? s : lo;
    hi = s > hi ? s : hi;
  }
  for (size_t i = 0; i < n; i++) p->rel[i] = hi > lo ? (p->rel[i] - lo) / (hi - lo) : 1.0f;
  free(cent);
  p->query = query;
  return sb_knn(p);
fail:
  free(cent);
  free(query);
  sb_pool_free(p);
  return -1;
}

/* ---- measurement ---- */

static size_t sb_cats(const sb_pool *sp, const select_result *res) {
  size_t d = 0;
  for (size_t t = 0; t < res->n; t++) {
    size_t u = 0;
    while (u < t && sp->cat[res->idx[u]] != sp->cat[res->idx[t]]) u++;
    d += u == t;
  }
  return d;
}

static void sb_select_pool(const sb_pool *sp, int lists, select_pool *pool) {
  *pool = (select_pool){.n = sp->n,
                        .dim = sp->dim,
                        .vectors = sp->vec,
                        .relevance = sp->rel,
                        .quality = sp->qual,
                        .tokens = sp->tok};
  if (lists) {
    pool->nbr_off = sp->off;
    pool->nbr_idx = sp->nbr;
    pool->nbr_sim = sp->sim;
  }
}

static void sb_params(const sb_mode *m, uint32_t k, uint32_t sample, uint64_t budget,
                      select_params *p) {
  select_params_default(p);
  p->mode = m->mode;
  p->coverage = m->cov;
  if (m->cover) {
    p->b = 0.5f;
    p->theta = 1.0f;
  } else if (m->mode == SELECT_COMPRESS) {                    /* what retrieve runs by default: */
    select_params_set_diversity(p, PRECIS_DEFAULT_DIVERSITY); /* theta, floor */
  } /* MMR without the floor: LangChain's MMR, to compare ids with it */
  p->k = k;
  p->sample = sample;
  p->token_budget = budget;
}

/* Untimed COMPRESS-exact on one pool: the reference objective and categories. */
static int sb_reference(const sb_pool *sp, uint32_t k, uint32_t sample, uint64_t budget,
                        double *obj, double *cats) {
  static const sb_mode exact = {"COMPRESS-exact", SELECT_COMPRESS, SELECT_COVER_EXACT, 0, 1};
  select_pool pool;
  select_params p;
  select_result res;
  precis_error err;
  sb_select_pool(sp, 0, &pool);
  sb_params(&exact, k, sample, budget, &p);
  if (select_run(&pool, &p, &res, &err)) {
    fprintf(stderr, "select: %s\n", err.msg);
    return -1;
  }
  *obj = res.objective;
  *cats = (double)sb_cats(sp, &res);
  select_result_free(&res);
  return 0;
}

/* Runs mode m on each of the np pools, reps timed runs each; t and tc hold
 * np*reps values. */
static int sb_measure(const sb_pool *sps, int np, const sb_mode *m, uint32_t k, uint32_t sample,
                      uint64_t budget, int reps, double *t, double *tc, sb_row *row) {
  select_params p;
  sb_params(m, k, sample, budget, &p);
  precis_error err;
  double ratio = 0, cats = 0, ref_cats = 0;
  int compress = m->mode == SELECT_COMPRESS;
  for (int pi = 0; pi < np; pi++) {
    const sb_pool *sp = &sps[pi];
    select_pool pool;
    sb_select_pool(sp, m->lists, &pool);
    double obj = 0, ncat = 0;
    for (int r = -3; r < reps; r++) {
      select_result res;
      uint64_t c0 = bench_thread_cpu_ns(), t0 = bench_now_ns();
      int rc = select_run(&pool, &p, &res, &err);
      if (rc == 0 && r == reps - 1) {
        obj = res.objective;
        ncat = (double)sb_cats(sp, &res);
        row->objective += res.objective / np;
        row->coverage += res.coverage_ratio / np;
        row->redundancy += res.redundancy / np;
        row->mean_rel += res.mean_relevance / np;
        row->selected += (double)res.n / np;
        row->forms |= 1u << (unsigned)res.coverage;
      }
      select_result_free(&res);
      uint64_t t1 = bench_now_ns(), c1 = bench_thread_cpu_ns();
      if (rc) {
        fprintf(stderr, "select: %s\n", err.msg);
        return -1;
      }
      if (r >= 0) {
        t[pi * reps + r] = (double)(t1 - t0) / 1e6;
        tc[pi * reps + r] = (double)(c1 - c0) / 1e6;
      }
    }
    cats += ncat / np;
    if (compress) { /* outside the timed runs */
      double robj, rcats;
      if (sb_reference(sp, k, sample, budget, &robj, &rcats)) return -1;
      ratio += (robj != 0 ? obj / robj : 1.0) / np;
      ref_cats += rcats / np;
    }
  }
  size_t nt = (size_t)np * (size_t)reps;
  row->cats = cats;
  row->obj_ratio = compress ? ratio : -1;
  row->cats_ratio = compress && ref_cats > 0 ? cats / ref_cats : -1;
  row->med_ms = bench_quantile(t, nt, 0.5);
  row->p99_ms = bench_quantile(t, nt, 0.99);
  row->cpu_med_ms = bench_quantile(tc, nt, 0.5);
  return 0;
}

/* ---- output ---- */

typedef struct {
  int reps, pools, blas1, langchain, gram;
  uint32_t sample;
  uint64_t budget;
  char lc_note[384]; /* the LangChain.js route: versions, or why it did not run */
} sb_conf;

/* ---- the Gram matrix alone (--gram on) ---- */

typedef struct {
  uint32_t n, dim;
  double syrk_ms, gemm_ms; /* medians over the pools x reps */
} sb_gram;

/* The BLAS work of EXACT coverage on its own: ssyrk (the upper triangle, as
 * select_compress.c computes it) and, for the peak, a full sgemm X X^T. */
static int sb_gram_measure(const sb_pool *sps, int np, int reps, double *t, sb_gram *out) {
  size_t n = sps[0].n, dim = sps[0].dim;
  float *G = malloc(n * n * sizeof *G);
  if (!G) return -1;
  for (int form = 0; form < 2; form++) {
    for (int pi = 0; pi < np; pi++)
      for (int r = -3; r < reps; r++) {
        uint64_t c0 = bench_thread_cpu_ns();
        if (form == 0)
          cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)dim, 1.0f, sps[pi].vec,
                      (int)dim, 0.0f, G, (int)n);
        else
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)dim, 1.0f,
                      sps[pi].vec, (int)dim, sps[pi].vec, (int)dim, 0.0f, G, (int)n);
        uint64_t c1 = bench_thread_cpu_ns();
        if (r >= 0) t[pi * reps + r] = (double)(c1 - c0) / 1e6;
      }
    double med = bench_quantile(t, (size_t)np * (size_t)reps, 0.5);
    if (form == 0)
      out->syrk_ms = med;
    else
      out->gemm_ms = med;
  }
  out->n = (uint32_t)n;
  out->dim = (uint32_t)dim;
  free(G);
  return 0;
}

/* GFLOP/s count 2 flops per multiply-add actually needed: n*n*dim/2 for the
 * triangle, n*n*dim for sgemm. */
static void sb_gram_markdown(FILE *f, const sb_gram *g, size_t ng) {
  if (!ng) return;
  fprintf(f,
          "\n### EXACT coverage: the Gram matrix alone (thread CPU, median)\n\n"
          "| pool | dim | ssyrk ms | ssyrk GFLOP/s | sgemm ms | sgemm GFLOP/s |\n"
          "|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < ng; i++) {
    double w = (double)g[i].n * g[i].n * g[i].dim;
    fprintf(f, "| %u | %u | %.3f | %.1f | %.3f | %.1f |\n", g[i].n, g[i].dim, g[i].syrk_ms,
            w / g[i].syrk_ms / 1e6, g[i].gemm_ms, 2 * w / g[i].gemm_ms / 1e6);
  }
}

/* ---- LangChain.js (select_langchain.h) ---- */

static const sb_mode sb_mmr = {"MMR", SELECT_MMR, SELECT_COVER_EXACT, 0, 0};

/* Runs LangChain.js MMR on the np pools with Precis MMR's lambda; fills the
 * row and *lc (ids). Returns 0, or -1 when it did not run (c->lc_note says
 * why; the caller goes on without it). */
static int sb_langchain(const sb_pool *sps, int np, uint32_t k, sb_conf *c, sb_row *row,
                        lcjs_result *lc) {
  const float *q[SB_MAX_POOLS], *v[SB_MAX_POOLS];
  select_params p;
  sb_params(&sb_mmr, k, c->sample, 0, &p);
  for (int i = 0; i < np; i++) {
    q[i] = sps[i].query;
    v[i] = sps[i].vec;
  }
  if (lcjs_run(q, v, np, sps[0].n, sps[0].dim, k, p.lambda, 3, c->reps, lc)) {
    snprintf(c->lc_note, sizeof c->lc_note, "LangChain.js MMR not run: %s", lc->why);
    fprintf(stderr, "precis-bench select: %s\n", c->lc_note);
    return -1;
  }
  snprintf(c->lc_note, sizeof c->lc_note,
           "LangChain.js: maximalMarginalRelevance of @langchain/core %s, lambda %g, 3 warm-up "
           "and %d timed calls per pool, timed inside node",
           lc->version, (double)p.lambda, c->reps);
  row->lc = 1;
  row->med_ms = lc->med_ms;
  row->p99_ms = lc->p99_ms;
  row->cpu_med_ms = -1;
  row->selected = (double)lc->per_pool;
  row->obj_ratio = row->cats_ratio = -1;
  row->lc_ratio = 1;
  row->same_ids = -1;
  double cats = 0;
  for (int i = 0; i < np; i++) {
    select_result r = {.n = lc->per_pool, .idx = lc->ids + (size_t)i * lc->per_pool};
    cats += (double)sb_cats(&sps[i], &r) / np;
  }
  row->cats = cats;
  return 0;
}

/* Pools on which Precis MMR (untimed, no budget) chose LangChain's ids in
 * LangChain's order. */
static int sb_same_ids(const sb_pool *sps, int np, uint32_t k, const sb_conf *c,
                       const lcjs_result *lc) {
  select_params p;
  sb_params(&sb_mmr, k, c->sample, 0, &p);
  int same = 0;
  for (int i = 0; i < np; i++) {
    select_pool pool;
    select_result res;
    precis_error err;
    sb_select_pool(&sps[i], 0, &pool);
    if (select_run(&pool, &p, &res, &err)) return -1;
    const uint32_t *want = lc->ids + (size_t)i * lc->per_pool;
    same += res.n == lc->per_pool && !memcmp(res.idx, want, res.n * sizeof *want);
    select_result_free(&res);
  }
  return same;
}

/* The coverage forms that ran ("-" for TOPK and MMR, which optimise none). */
static const char *sb_form(const sb_row *r, char *buf, size_t len) {
  static const char *names[] = {"exact", "sparse", "sample", "auto"};
  if (strncmp(r->mode, "COMPRESS", 8)) return "-";
  buf[0] = 0;
  for (unsigned c = 0; c < 4; c++)
    if (r->forms & (1u << c)) {
      size_t at = strlen(buf);
      snprintf(buf + at, len - at, "%s%s", at ? "+" : "", names[c]);
    }
  return buf;
}

static void sb_ratio(char *buf, size_t len, double x) {
  if (x < 0)
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.3f", x);
}

static void sb_markdown(FILE *f, const sb_row *rows, size_t nrows, const sb_conf *c) {
  select_params d;
  select_params_default(&d);
  fprintf(f, "## select: selection latency (one thread) and quality\n\n");
  fprintf(f,
          "%d pool(s) per size x dim, reps %d per pool after 3 warm-up runs; BLAS "
          "threads: %s; COMPRESS a=%g b=%g c=%g theta=%g; SAMPLE %u targets; SPARSE "
          "exact %d-NN lists; AUTO exact up to n*n*(dim + %llu) = %.3g; token budget %s\n\n",
          c->pools, c->reps,
          c->blas1 ? "1 (openblas_set_num_threads)" : "unknown BLAS, not limited", (double)d.a,
          (double)d.b, (double)d.c, (double)d.theta, c->sample, SB_KNN,
          (unsigned long long)SELECT_AUTO_ROW_COST, (double)SELECT_AUTO_EXACT_WORK,
          c->budget ? "set" : "none");
  if (c->budget) fprintf(f, "token budget: %llu\n\n", (unsigned long long)c->budget);
  if (c->lc_note[0]) fprintf(f, "%s\n\n", c->lc_note);
  fprintf(f,
          "| mode | pool | dim | k | form | median ms | p99 ms | cpu median ms | LangChain.js "
          "MMR / this | same ids as LangChain.js | selected | objective | obj / exact | cats "
          "| cats / exact | coverage | redundancy | mean rel |\n");
  fprintf(f,
          "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
          "---:|---:|\n");
  for (size_t i = 0; i < nrows; i++) {
    const sb_row *r = &rows[i];
    char form[64], oratio[32], cratio[32], cpu[32], lratio[32], same[32];
    sb_ratio(oratio, sizeof oratio, r->obj_ratio);
    sb_ratio(cratio, sizeof cratio, r->cats_ratio);
    sb_ratio(cpu, sizeof cpu, r->cpu_med_ms);
    if (r->lc_ratio < 0)
      snprintf(lratio, sizeof lratio, "-");
    else
      snprintf(lratio, sizeof lratio, "%.1fx", r->lc_ratio);
    if (r->same_ids < 0)
      snprintf(same, sizeof same, "-");
    else
      snprintf(same, sizeof same, "%d of %d", r->same_ids, c->pools);
    if (r->lc) /* LangChain's own row: no Precis statistics */
      fprintf(f,
              "| %s | %u | %u | %u | - | %.3f | %.3f | - | %s | - | %.1f | - | - | %.2f | - | - | "
              "- | - |\n",
              r->mode, r->n, r->dim, r->k, r->med_ms, r->p99_ms, lratio, r->selected, r->cats);
    else
      fprintf(f,
              "| %s | %u | %u | %u | %s | %.3f | %.3f | %s | %s | %s | %.1f | %.3f | %s | %.2f | "
              "%s | %.3f | %.3f | %.3f |\n",
              r->mode, r->n, r->dim, r->k, sb_form(r, form, sizeof form), r->med_ms, r->p99_ms, cpu,
              lratio, same, r->selected, r->objective, oratio, r->cats, cratio, r->coverage,
              r->redundancy, r->mean_rel);
  }
}

static void sb_json(FILE *f, const sb_row *rows, size_t nrows, const sb_conf *c) {
  fprintf(f,
          "{\"study\":\"select\",\"pools\":%d,\"reps\":%d,\"blas_threads\":%s,"
          "\"sample\":%u,\"knn\":%d,\"auto_row_cost\":%llu,\"auto_exact_work\":%llu,\"token_"
          "budget\":%llu,"
          "\"rows\":[",
          c->pools, c->reps, c->blas1 ? "1" : "null", c->sample, SB_KNN,
          (unsigned long long)SELECT_AUTO_ROW_COST, (unsigned long long)SELECT_AUTO_EXACT_WORK,
          (unsigned long long)c->budget);
  for (size_t i = 0; i < nrows; i++) {
    const sb_row *r = &rows[i];
    char form[64];
    fprintf(f,
            "%s\n{\"mode\":\"%s\",\"pool\":%u,\"dim\":%u,\"k\":%u,\"form\":\"%s\","
            "\"median_ms\":%.4f,\"p99_ms\":%.4f,\"cpu_median_ms\":%.4f,\"selected\":%.4g,"
            "\"objective\":%.6g,\"objective_vs_exact\":%.6g,\"categories\":%.4g,"
            "\"categories_vs_exact\":%.6g,\"coverage_ratio\":%.6g,\"redundancy\":%.6g,"
            "\"mean_relevance\":%.6g,\"langchain_vs_this\":%.6g,\"same_ids\":%d}",
            i ? "," : "", r->mode, r->n, r->dim, r->k, sb_form(r, form, sizeof form), r->med_ms,
            r->p99_ms, r->cpu_med_ms, r->selected, r->objective, r->obj_ratio, r->cats,
            r->cats_ratio, r->coverage, r->redundancy, r->mean_rel, r->lc_ratio, r->same_ids);
  }
  fprintf(f, "\n]");
  if (c->lc_note[0]) {
    fprintf(f, ",\"langchain\":");
    bu_json_str(f, c->lc_note);
  }
  fprintf(f, "}\n");
}

static int sb_write(const char *dir, const char *name, const sb_row *rows, size_t nrows,
                    const sb_conf *c, const sb_gram *grams, size_t ngram, int json) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return -1;
  }
  if (json)
    sb_json(f, rows, nrows, c);
  else {
    sb_markdown(f, rows, nrows, c);
    sb_gram_markdown(f, grams, ngram);
  }
  return fclose(f) == 0 ? 0 : -1;
}

/* NULL list: all; else a comma-separated list of words, one of which the
 * mode's name must contain. */
static int sb_mode_wanted(const char *list, const char *name) {
  if (!list) return 1;
  char word[64];
  while (*list) {
    size_t len = strcspn(list, ",");
    if (len > 0 && len < sizeof word) {
      memcpy(word, list, len);
      word[len] = 0;
      if (strstr(name, word)) return 1;
    }
    list += len;
    if (*list == ',') list++;
  }
  return 0;
}

static void sb_usage(FILE *f) {
  fprintf(f,
          "usage: precis-bench select [--sizes 100,300,1000] [--dims 100,384] [--ks 10]\n"
          "                           [--pools 1] [--reps 50] [--sample 128]\n"
          "                           [--budget TOKENS] [--modes TOPK,MMR,...] [--seed S]\n"
          "                           [--langchain on|off] [--gram on|off] [--out DIR]\n"
          "modes: TOPK MMR COMPRESS (the default: b 0, diversity 0.5) and, with the\n"
          "       coverage term (b 0.5, theta 1): COMPRESS-exact COMPRESS-sparse\n"
          "       COMPRESS-sample COMPRESS-auto\n"
          "       COMPRESS-auto-lists (AUTO with the pool's kNN lists)\n"
          "LangChain.js MMR runs beside them unless --langchain off (node and\n"
          "scripts/fetch-langchain.sh; select_langchain.h); --gram on adds the\n"
          "time of EXACT's Gram matrix alone (ssyrk, and sgemm for the BLAS peak)\n");
}

int bench_select(int argc, char **argv) {
  uint32_t sizes[SB_MAX_LIST] = {100, 300, 1000}, dims[SB_MAX_LIST] = {100, 384},
           ks[SB_MAX_LIST] = {10};
  int nsizes = 3, ndims = 2, nks = 1;
  sb_conf conf = {.reps = 50, .pools = 1, .sample = 128, .langchain = 1};
  uint64_t seed = 1;
  const char *out = NULL, *modes = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      sb_usage(stdout);
      return 0;
    }
    if (!v) {
      sb_usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--sizes"))
      nsizes = bench_parse_list(v, sizes, SB_MAX_LIST);
    else if (!strcmp(a, "--dims"))
      ndims = bench_parse_list(v, dims, SB_MAX_LIST);
    else if (!strcmp(a, "--ks"))
      nks = bench_parse_list(v, ks, SB_MAX_LIST);
    else if (!strcmp(a, "--pools"))
      conf.pools = atoi(v);
    else if (!strcmp(a, "--reps"))
      conf.reps = atoi(v);
    else if (!strcmp(a, "--sample"))
      conf.sample = (uint32_t)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--budget"))
      conf.budget = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--seed"))
      seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--modes"))
      modes = v;
    else if (!strcmp(a, "--out"))
      out = v;
    else if (!strcmp(a, "--langchain"))
      conf.langchain = strcmp(v, "off") != 0;
    else if (!strcmp(a, "--gram"))
      conf.gram = !strcmp(v, "on");
    else {
      sb_usage(stderr);
      return 2;
    }
  }
  if (nsizes < 1 || ndims < 1 || nks < 1 || conf.reps < 1 || conf.pools < 1 ||
      conf.pools > SB_MAX_POOLS) {
    sb_usage(stderr);
    return 2;
  }
  for (int i = 0; i < nsizes; i++)
    if (sizes[i] < 1) {
      fprintf(stderr, "precis-bench select: pool sizes must be >= 1\n");
      return 2;
    }
  conf.blas1 = bench_blas_single_thread();

  size_t cap = (size_t)nsizes * (size_t)ndims * (size_t)nks * (SB_NMODES + 1);
  size_t nt = (size_t)conf.reps * (size_t)conf.pools;
  sb_row *rows = calloc(cap, sizeof *rows);
  double *t = malloc(2 * nt * sizeof *t);
  sb_pool *sps = calloc((size_t)conf.pools, sizeof *sps);
  sb_gram *grams = calloc((size_t)nsizes * (size_t)ndims, sizeof *grams);
  size_t ngram = 0;
  size_t nrows = 0;
  int rc = 0;
  if (!rows || !t || !sps || !grams) {
    fprintf(stderr, "precis-bench select: out of memory\n");
    rc = 1;
    goto done;
  }
  for (int si = 0; si < nsizes && !rc; si++)
    for (int di = 0; di < ndims && !rc; di++) {
      int made = 0;
      for (; made < conf.pools; made++)
        if (sb_pool_make(&sps[made], sizes[si], dims[di], seed + (uint64_t)made)) {
          fprintf(stderr, "precis-bench select: out of memory\n");
          rc = 1;
          break;
        }
      for (int ki = 0; ki < nks && !rc; ki++) {
        lcjs_result lc = {0};
        double lc_med = -1;
        if (conf.langchain && made == conf.pools) {
          sb_row *row = &rows[nrows];
          *row = (sb_row){.mode = "LangChain.js MMR", .n = sizes[si], .dim = dims[di], .k = ks[ki]};
          if (sb_langchain(sps, conf.pools, ks[ki], &conf, row, &lc) == 0) {
            lc_med = row->med_ms;
            nrows++;
          } else {
            conf.langchain = 0; /* said why once; the rest runs without it */
          }
        }
        for (size_t mi = 0; mi < SB_NMODES && !rc; mi++) {
          if (!sb_mode_wanted(modes, sb_modes[mi].name)) continue;
          sb_row *row = &rows[nrows];
          *row = (sb_row){.mode = sb_modes[mi].name,
                          .n = sizes[si],
                          .dim = dims[di],
                          .k = ks[ki],
                          .lc_ratio = -1,
                          .same_ids = -1};
          if (sb_measure(sps, conf.pools, &sb_modes[mi], ks[ki], conf.sample, conf.budget,
                         conf.reps, t, t + nt, row)) {
            rc = 1;
            break;
          }
          if (lc_med > 0 && row->med_ms > 0) row->lc_ratio = lc_med / row->med_ms;
          if (lc.ids && sb_modes[mi].mode == SELECT_MMR)
            row->same_ids = sb_same_ids(sps, conf.pools, ks[ki], &conf, &lc);
          nrows++;
        }
        lcjs_result_free(&lc);
      }
      if (!rc && conf.gram && made == conf.pools) {
        if (sb_gram_measure(sps, conf.pools, conf.reps, t, &grams[ngram]))
          rc = 1;
        else
          ngram++;
      }
      for (int pi = 0; pi < made; pi++) sb_pool_free(&sps[pi]);
    }
  if (rc) goto done;
  sb_markdown(stdout, rows, nrows, &conf);
  sb_gram_markdown(stdout, grams, ngram);
  if (out) {
    if (bench_mkdir(out)) {
      perror(out);
      rc = 1;
    } else if (sb_write(out, "select.md", rows, nrows, &conf, grams, ngram, 0) ||
               sb_write(out, "select.json", rows, nrows, &conf, grams, ngram, 1)) {
      rc = 1;
    }
  }
done:
  free(rows);
  free(t);
  free(sps);
  free(grams);
  return rc;
}
