/* retrieve.c: one retrieval: ANN seeds -> bounded graph expansion -> exact
 * relevance -> selection (TOPK | MMR | COMPRESS) -> the items and the set
 * metrics.
 *
 * Relevance rule (documented in docs/RETRIEVAL.md): with s_min, s_max the
 * lowest and highest seed similarity, r(x) = clamp((x - s_min)/(s_max - s_min))
 * (1 when all seeds tie). A seed's graph score is r(sim); a point reached
 * from u over an edge of weight w has graph score g(u) * w * decay (the best
 * path wins). relevance = (1 - graph_weight) * r(sim) + graph_weight * g.
 * With graph_weight = 0 relevance orders points exactly as similarity does.
 * kNN edges are followed outwards; knowledge links in both directions (a
 * reversed is_a reaches the hyponyms). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coll_filter.h"
#include "coll_internal.h"
#include "graph_internal.h"
#include "payload.h"
#include "select.h"

_Static_assert((int)SELECT_COVER_EXACT == ENGINE_COVERAGE_EXACT &&
                   (int)SELECT_COVER_SPARSE == ENGINE_COVERAGE_SPARSE &&
                   (int)SELECT_COVER_SAMPLE == ENGINE_COVERAGE_SAMPLE &&
                   (int)SELECT_COVER_AUTO == ENGINE_COVERAGE_AUTO,
               "engine_coverage and select_coverage share their numbers");

void engine_retrieve_params_default(engine_retrieve_params *p) {
  memset(p, 0, sizeof *p);
  p->k = PRECIS_DEFAULT_K;
  p->mode = ENGINE_MODE_COMPRESS;
  p->hops = 0;
  p->fanout = PRECIS_DEFAULT_FANOUT;
  p->pool = PRECIS_DEFAULT_POOL;
  p->edge_kinds = ENGINE_EDGE_KNN | ENGINE_EDGE_LINKS;
  p->graph_weight = PRECIS_DEFAULT_GRAPH_WEIGHT;
  p->decay = PRECIS_DEFAULT_DECAY;
  p->lambda = PRECIS_DEFAULT_LAMBDA;
  select_params sp;
  select_params_default(&sp);
  p->a = sp.a;
  p->b = sp.b;
  p->c = sp.c;
  p->theta = PRECIS_THETA_AUTO; /* sp.theta at hops 0, see limits.h */
  p->coverage = (int)sp.coverage;
  p->max_represented_ids = PRECIS_DEFAULT_MAX_REPRESENTED;
}

void engine_retrieve_result_free(engine_retrieve_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) {
    free(r->items[i].text);
    free(r->items[i].meta);
    free(r->items[i].represented_ids);
  }
  free(r->items);
  free(r);
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int check(const engine_retrieve_params *p, precis_error *err) {
#define RANGE(cond, ...) \
  if (!(cond)) return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, __VA_ARGS__)
  RANGE(p->k >= 1 && p->k <= PRECIS_MAX_K, "k = %u outside 1..%d", p->k, PRECIS_MAX_K);
  RANGE(p->hops <= PRECIS_MAX_HOPS, "hops = %u outside 0..%d", p->hops, PRECIS_MAX_HOPS);
  RANGE(p->fanout >= 1 && p->fanout <= PRECIS_MAX_FANOUT, "fanout = %u outside 1..%d", p->fanout, PRECIS_MAX_FANOUT);
  RANGE(p->pool >= 1 && p->pool <= PRECIS_MAX_POOL, "pool = %u outside 1..%d", p->pool, PRECIS_MAX_POOL);
  RANGE(p->seeds <= PRECIS_MAX_SEEDS, "seeds = %u outside 0..%d", p->seeds, PRECIS_MAX_SEEDS);
  RANGE(p->graph_weight >= 0 && p->graph_weight <= 1, "graph_weight outside 0..1");
  RANGE(p->decay > 0 && p->decay <= 1, "decay outside (0, 1]");
  RANGE(p->token_budget <= PRECIS_MAX_TOKEN_BUDGET, "token_budget above %u", PRECIS_MAX_TOKEN_BUDGET);
  RANGE(p->theta == PRECIS_THETA_AUTO || (p->theta >= 0 && p->theta <= PRECIS_MAX_THETA),
        "theta must be in [0, %g] or %g (automatic)", (double)PRECIS_MAX_THETA,
        (double)PRECIS_THETA_AUTO);
  RANGE(p->ef_search <= 4096, "ef_search above 4096");
  RANGE(p->max_represented_ids <= 1000, "max_represented_ids above 1000");
  RANGE((int)p->mode >= 0 && p->mode <= ENGINE_MODE_MMR, "unknown mode %d", (int)p->mode);
  RANGE(p->coverage >= ENGINE_COVERAGE_EXACT && p->coverage <= ENGINE_COVERAGE_AUTO,
        "unknown coverage %d", p->coverage);
#undef RANGE
  for (size_t i = 0; i < p->n_link_kinds; i++) {
    int rc = graph_check_kind(p->link_kinds[i], err);
    if (rc) return rc;
  }
  return PRECIS_OK;
}

typedef struct {
  size_t n, cap;
  uint64_t *id, *via;
  uint32_t *hops;
  float *g;       /* graph score */
  idmap pos;      /* id -> index */
} pool_t;

static int pool_add(pool_t *P, uint64_t id, uint64_t via, uint32_t hops, float g) {
  uint64_t at;
  if (idmap_get(&P->pos, id, &at)) {
    if (g > P->g[at]) P->g[at] = g;
    return 0;
  }
  if (P->n == P->cap) return 1; /* full */
  P->id[P->n] = id;
  P->via[P->n] = via;
  P->hops[P->n] = hops;
  P->g[P->n] = g;
  if (idmap_put(&P->pos, id, P->n)) return -1;
  P->n++;
  return 0;
}

static bool kind_allowed(const engine_retrieve_params *p, const char *kind) {
  if (!kind[0]) return p->edge_kinds & ENGINE_EDGE_KNN;
  if (!(p->edge_kinds & ENGINE_EDGE_LINKS)) return false;
  if (!p->n_link_kinds) return true;
  for (size_t i = 0; i < p->n_link_kinds; i++)
    if (!strcmp(p->link_kinds[i], kind)) return true;
  return false;
}

typedef struct {
  uint64_t other;
  float w;
} nbr_t;

static int cmp_nbr(const void *a, const void *b) {
  const nbr_t *x = a, *y = b;
  if (x->w != y->w) return x->w < y->w ? 1 : -1;
  return x->other < y->other ? -1 : x->other > y->other;
}

/* The strongest `fanout` allowed edges of u (out-edges; links both ways).
 * Keys sort by kind length, so kNN edges (length 0) come first: each scan
 * covers only the kinds it may use. */
static int neighbours(coll *c, const engine_retrieve_params *p, uint64_t u,
                      nbr_t *buf, size_t cap, size_t *n, precis_error *err) {
  unsigned char prefix[13];
  store_put_be32(prefix, c->id);
  store_put_be64(prefix + 4, u);
  bool knn = p->edge_kinds & ENGINE_EDGE_KNN, links = p->edge_kinds & ENGINE_EDGE_LINKS;
  *n = 0;
  for (int dir = 0; dir < 2; dir++) {
    if (dir && !links) break;            /* reverse scans serve links only */
    if (!dir && !knn && !links) continue;
    size_t plen = 12;
    if (!dir && knn && !links) { prefix[12] = 0; plen = 13; } /* kNN only */
    store_iter *it = store_iter_create(c->st, dir ? STORE_CF_REDGE : STORE_CF_EDGE, prefix, plen);
    if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "expand");
    if (plen == 12 && (dir || !knn)) { /* links only: skip the kNN keys */
      unsigned char from[13];
      memcpy(from, prefix, 12);
      from[12] = 1;
      store_iter_seek(it, from, 13);
    }
    for (; store_iter_valid(it) && *n < cap; store_iter_next(it)) {
      size_t kl, vl;
      const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
      const char *v = store_iter_value(it, &vl);
      uint64_t a, other;
      char kind[PRECIS_MAX_LINK_KIND_LEN + 1];
      if (graph__parse_key(k, kl, &a, kind, &other) || vl != 4) continue;
      if (dir && !kind[0]) continue; /* kNN edges: outwards only */
      if (!kind_allowed(p, kind)) continue;
      buf[*n].other = other;
      memcpy(&buf[*n].w, v, 4);
      (*n)++;
    }
    int rc = store_iter_status(it, err);
    store_iter_destroy(it);
    if (rc) return rc;
  }
  qsort(buf, *n, sizeof *buf, cmp_nbr);
  if (*n > p->fanout) *n = p->fanout;
  return PRECIS_OK;
}

int retrieve__run(coll *c, const engine_retrieve_params *p,
                  engine_retrieve_result **out, precis_error *err);

int retrieve__run(coll *c, const engine_retrieve_params *p,
                  engine_retrieve_result **out, precis_error *err) {
  uint64_t t0 = now_us();
  int rc = check(p, err);
  if (rc) return rc;
  size_t dim = c->cfg.dim;
  float *q = malloc((p->dim ? p->dim : 1) * sizeof(float));
  if (!q) return precis_error_set(err, PRECIS_E_NO_MEMORY, "retrieve");
  if ((rc = coll__prepare_vector(c, p->query, p->dim, q, "query", err))) { free(q); return rc; }
  uint32_t poolcap = p->pool;
  uint32_t nseeds = p->seeds ? p->seeds : (p->k * 10 > 40 ? p->k * 10 : 40);
  if (nseeds > poolcap) nseeds = poolcap;

  pool_t P = {0};
  idmap_init(&P.pos);
  coll_fctx fx; /* filter hook: verdicts of this request */
  engine_filter_report frep = {0};
  coll__fctx_init(&fx, c, p->filter);
#define FILTER_FAILS(id) (p->filter && !coll__fctx_pass(&fx, (id)))
  engine_hit *hits = malloc(nseeds * sizeof *hits);
  nbr_t *nb = malloc(1024 * sizeof *nb);
  float *vecs = NULL, *rel = NULL, *sim = NULL, *nsim = NULL;
  uint32_t *tokens = NULL, *off = NULL, *nidx = NULL;
  engine_retrieve_result *R = NULL;
  select_result sr = {0};
  P.cap = poolcap;
  P.id = malloc(poolcap * sizeof *P.id);
  P.via = malloc(poolcap * sizeof *P.via);
  P.hops = malloc(poolcap * sizeof *P.hops);
  P.g = malloc(poolcap * sizeof *P.g);
  if (!hits || !nb || !P.id || !P.via || !P.hops || !P.g) { free(q); q = NULL; rc = PRECIS_E_NO_MEMORY; goto out_nolock; }

  pthread_rwlock_rdlock(&c->lock);
  /* 1. seeds */
  size_t nh = 0;
  engine_search_params sp = {p->exact_seeds, p->ef_search, 0};
  /* filter hook (coll_filter.h): filtered seeds; FILTER_FAILS gates the pool */
  if (p->filter) {
    rc = coll__search_filtered_locked(&fx, q, nseeds, &sp, hits, &nh, &frep, err);
    if (rc) goto out;
  } else if ((rc = coll__search_locked(c, q, nseeds, &sp, hits, &nh, err))) goto out;
  uint64_t t1 = now_us();
  float smin = INFINITY, smax = -INFINITY;
  for (size_t i = 0; i < nh; i++) {
    if (hits[i].score < smin) smin = hits[i].score;
    if (hits[i].score > smax) smax = hits[i].score;
  }
  float span = smax - smin;
#define RESCALE(x) (span > 0 ? fminf(1.0f, fmaxf(0.0f, ((x) - smin) / span)) : 1.0f)
  for (size_t i = 0; i < nh; i++)
    if (pool_add(&P, hits[i].id, hits[i].id, 0, RESCALE(hits[i].score)) < 0) { rc = PRECIS_E_NO_MEMORY; goto out; }
  /* 2. expansion, hop by hop, strongest edges first */
  size_t lo = 0;
  for (uint32_t h = 1; h <= p->hops && P.n < P.cap; h++) {
    size_t hi = P.n;
    for (size_t u = lo; u < hi && P.n < P.cap; u++) {
      size_t nn;
      if ((rc = neighbours(c, p, P.id[u], nb, 1024, &nn, err))) goto out;
      for (size_t j = 0; j < nn; j++) {
        if (!idmap_get(&c->live, nb[j].other, NULL)) continue;
        if (FILTER_FAILS(nb[j].other)) { /* never enters the pool: no path through it */
          if (fx.rc) { rc = fx.rc; if (err) *err = fx.err; goto out; }
          continue;
        }
        int r = pool_add(&P, nb[j].other, P.id[u], h, P.g[u] * nb[j].w * p->decay);
        if (r < 0) { rc = PRECIS_E_NO_MEMORY; goto out; }
      }
    }
    lo = hi;
  }
  uint64_t t2 = now_us();
  /* 3. exact similarity and relevance of every pool point */
  size_t n = P.n;
  vecs = malloc((n ? n : 1) * dim * sizeof(float));
  rel = malloc((n ? n : 1) * sizeof(float));
  sim = malloc((n ? n : 1) * sizeof(float));
  if (!vecs || !rel || !sim) { rc = PRECIS_E_NO_MEMORY; goto out; }
  for (size_t i = 0; i < n; i++) {
    float *v = vecs + i * dim;
    if ((rc = coll__read_vector(c, P.id[i], v, err))) goto out;
    double dot = 0, nrm = 0, l2 = 0;
    for (size_t d = 0; d < dim; d++) {
      dot += (double)v[d] * q[d];
      nrm += (double)v[d] * v[d];
      double df = (double)v[d] - q[d];
      l2 += df * df;
    }
    sim[i] = c->cfg.metric == ENGINE_METRIC_L2 ? (float)-l2 : (float)dot;
    float r = RESCALE(sim[i]);
    rel[i] = (1 - p->graph_weight) * r + p->graph_weight * (P.hops[i] == 0 ? r : P.g[i]);
    if (nrm > 0) { /* selection compares directions */
      float inv = (float)(1.0 / sqrt(nrm));
      for (size_t d = 0; d < dim; d++) v[d] *= inv;
    }
  }
#undef RESCALE
  if (p->token_budget) {
    tokens = malloc((n ? n : 1) * sizeof *tokens);
    if (!tokens) { rc = PRECIS_E_NO_MEMORY; goto out; }
    for (size_t i = 0; i < n; i++) {
      unsigned char k[12];
      coll__point_key(k, c->id, P.id[i]);
      char *v, *t, *m;
      size_t vl;
      if ((rc = store_get(c->st, STORE_CF_PAY, k, 12, &v, &vl, err))) goto out;
      rc = payload_decode(v, vl, &tokens[i], &t, &m, err);
      store_free(v);
      if (rc) goto out;
      free(t);
      free(m);
    }
  }
  /* sparse coverage: the kNN edges inside the pool. Only on request: AUTO
   * gets no lists and so resolves to EXACT or SAMPLE, because reading the
   * lists (one RocksDB scan per pool point) costs more than EXACT itself
   * (pool 1,000 x 384-d, this stage: 8.7 ms SPARSE, 7.7 EXACT, 3.7 SAMPLE;
   * docs/RETRIEVAL.md). */
  if (p->coverage == ENGINE_COVERAGE_SPARSE) {
    off = malloc((n + 1) * sizeof *off);
    nidx = malloc((n * PRECIS_MAX_KNN_K + 1) * sizeof *nidx);
    nsim = malloc((n * PRECIS_MAX_KNN_K + 1) * sizeof *nsim);
    if (!off || !nidx || !nsim) { rc = PRECIS_E_NO_MEMORY; goto out; }
    engine_retrieve_params knn_only = *p;
    knn_only.edge_kinds = ENGINE_EDGE_KNN;
    knn_only.fanout = PRECIS_MAX_KNN_K;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      off[i] = (uint32_t)m;
      size_t nn;
      if ((rc = neighbours(c, &knn_only, P.id[i], nb, 1024, &nn, err))) goto out;
      for (size_t j = 0; j < nn; j++) {
        uint64_t at;
        if (!idmap_get(&P.pos, nb[j].other, &at) || at == i) continue;
        nidx[m] = (uint32_t)at;
        nsim[m] = nb[j].w;
        m++;
      }
    }
    off[n] = (uint32_t)m;
  }
  /* 4. selection */
  R = calloc(1, sizeof *R);
  if (!R) { rc = PRECIS_E_NO_MEMORY; goto out; }
  R->pool_size = (uint32_t)n;
  R->seed_count = (uint32_t)nh;
  /* what select_run resolves to; set from its result below (an empty pool
   * runs no selection) */
  R->coverage_used = (int)select_coverage_resolve((select_coverage)p->coverage, n, dim,
                                                  off != NULL);
  if (n > 0) {
    select_pool sp2 = {n, dim, vecs, rel, tokens, off, nidx, nsim};
    select_params sel;
    select_params_default(&sel);
    sel.mode = (select_mode)p->mode;
    sel.k = p->k;
    sel.token_budget = p->token_budget;
    sel.lambda = p->lambda;
    sel.a = p->a;
    sel.b = p->b;
    sel.c = p->c;
    sel.theta = p->theta != PRECIS_THETA_AUTO ? p->theta
                : p->hops > 0                ? PRECIS_DEFAULT_THETA_EXPANDED
                                             : PRECIS_DEFAULT_THETA;
    sel.coverage = (select_coverage)p->coverage;
    if ((rc = select_run(&sp2, &sel, &sr, err))) goto out;
  }
  uint64_t t3 = now_us();
  /* 5. items */
  R->items = calloc(sr.n ? sr.n : 1, sizeof *R->items);
  if (!R->items) { rc = PRECIS_E_NO_MEMORY; goto out; }
  for (size_t t = 0; t < sr.n; t++) {
    engine_retrieved *it = &R->items[t];
    size_t i = sr.idx[t];
    R->n = t + 1;
    it->id = P.id[i];
    it->relevance = rel[i];
    it->similarity = sim[i];
    it->gain = sr.gain[t];
    it->hops = P.hops[i];
    it->via = P.via[i];
    it->represents = sr.represents[t];
    uint32_t cap = p->max_represented_ids;
    if (cap) {
      it->represented_ids = malloc(cap * sizeof(uint64_t));
      if (!it->represented_ids) { rc = PRECIS_E_NO_MEMORY; goto out; }
      for (size_t v = 0; v < n && it->n_represented_ids < cap; v++)
        if (sr.assign[v] == t && v != i) it->represented_ids[it->n_represented_ids++] = P.id[v];
    }
    unsigned char k[12];
    coll__point_key(k, c->id, it->id);
    char *v;
    size_t vl;
    if ((rc = store_get(c->st, STORE_CF_PAY, k, 12, &v, &vl, err))) goto out;
    rc = payload_decode(v, vl, &it->tokens, &it->text, &it->meta, err);
    store_free(v);
    if (rc) goto out;
  }
  if (n > 0) R->coverage_used = (int)sr.coverage;
  R->objective = sr.objective;
  R->coverage_ratio = sr.coverage_ratio;
  R->redundancy = sr.redundancy;
  R->mean_relevance = sr.mean_relevance;
  R->t_seed_us = t1 - t0;
  R->t_expand_us = t2 - t1;
  R->t_select_us = t3 - t2;
  R->t_total_us = now_us() - t0;
  if (p->filter) { frep.checked = fx.checked; R->filter_report = frep; }
out:
  pthread_rwlock_unlock(&c->lock);
out_nolock:
  if (rc == PRECIS_E_NO_MEMORY) precis_error_set(err, rc, "retrieve");
  select_result_free(&sr);
  free(q);
  free(hits);
  free(nb);
  free(P.id);
  free(P.via);
  free(P.hops);
  free(P.g);
  idmap_free(&P.pos);
  coll__fctx_free(&fx);
#undef FILTER_FAILS
  free(vecs);
  free(rel);
  free(sim);
  free(tokens);
  free(off);
  free(nidx);
  free(nsim);
  if (rc) {
    engine_retrieve_result_free(R);
    return rc;
  }
  *out = R;
  return PRECIS_OK;
}
