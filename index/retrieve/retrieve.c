/* retrieve.c: one retrieval: ANN seeds -> bounded graph expansion -> exact
 * relevance -> selection (TOPK | MMR | COMPRESS) -> the items and the set
 * metrics.
 *
 * Scoring rule (docs/RETRIEVAL.md, "Relevance"): let s_1 be the best seed
 * similarity and s_E that of the E-th seed (E = expand_from, default 4k); a
 * point's own score is r(x) = (sim(x) - s_E) / (s_1 - s_E). Walking an edge
 * of weight w from u carries the path score g(u) * w at hop 1 and
 * g(u) * w * decay at every later hop, where g(u) is max(0, r(u)) for a seed
 * and the best path into u for a reached point. At hop 1 a knowledge link
 * also carries its specificity (specificity()) and credits its analogue
 * (analogue()) when the vectors are in memory.
 * Every pool point, seed or not, sums the paths that reach it as its graph
 * evidence ev(x), and
 *   rel(x) = r(x) + graph_weight * ev(x)
 * so a point that several strong seeds link to ranks above one that a single
 * seed links to (the sum beat the best single path on every corpus measured,
 * docs/RETRIEVAL.md). With hops > 0 the `anchors` most similar seeds (default
 * ceil(k/4)) take ev = max(ev, the pool's largest), so they rank above every
 * point the walk reached: the walk adds to the nearest points and does not
 * displace them. With graph_weight 0, or hops 0, relevance orders points
 * exactly as similarity does. Selection sees rel twice: min-max scaled to
 * [0, 1] over the pool (TOPK's order, the a and b terms) and as `quality` in
 * cosine units, cos(x) + span * graph_weight * ev(x) with span the cosine
 * spread of the top E seeds, which MMR and the log-det term compare with the
 * pool's cosines, so that relevance and redundancy are on one scale.
 *
 * Expansion: hop 1 walks from the E most similar seeds, hop h > 1 from the
 * points hop h-1 added, strongest graph score first. With hops > 0 seeds
 * fill at most half the pool; hop h may fill it up to
 * seeds + (pool - seeds) * h / hops, so that later hops keep some room.
 * kNN edges are followed outwards (only with follow_knn, off by default);
 * knowledge links in both directions (a reversed is_a reaches the
 * hyponyms). A request that may follow no edge of the collection (hops > 0,
 * follow_knn off, and links off or none stored) runs as hops 0: same seeds,
 * same selection defaults (walkable_hops()). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coll_filter.h"
#include "coll_internal.h"
#include "graph_internal.h"
#include "groups.h"
#include "payload.h"
#include "select.h"
#include "vec.h"

_Static_assert((int)SELECT_COVER_EXACT == ENGINE_COVERAGE_EXACT &&
                   (int)SELECT_COVER_SPARSE == ENGINE_COVERAGE_SPARSE &&
                   (int)SELECT_COVER_SAMPLE == ENGINE_COVERAGE_SAMPLE &&
                   (int)SELECT_COVER_AUTO == ENGINE_COVERAGE_AUTO,
               "engine_coverage and select_coverage share their numbers");

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

typedef struct {
  size_t n, cap;
  uint64_t *id, *via, *end; /* end: the link end the strongest path credited */
  uint32_t *hops;
  float *g;  /* propagation score: max(0, r) for a seed, the best path
                     for a reached point; what the next hop passes on */
  float *ev; /* graph evidence: the sum of every path into the point */
  idmap pos; /* id -> index */
} pool_t;

/* A seed: it starts with no evidence. -1 out of memory, 1 pool full. */
static int pool_seed(pool_t *P, uint64_t id, float g) {
  if (idmap_get(&P->pos, id, NULL)) return 0;
  if (P->n == P->cap) return 1;
  P->id[P->n] = id;
  P->via[P->n] = id;
  P->end[P->n] = id;
  P->hops[P->n] = 0;
  P->g[P->n] = g;
  P->ev[P->n] = 0;
  if (idmap_put(&P->pos, id, P->n)) return -1;
  P->n++;
  return 0;
}

/* A path of score `path` from `via` over the link that ends at `end`
 * (`id` itself, or the point `id` is the analogue of) reaches `id` at hop
 * `hops`: a point in the pool gains the path as evidence (seeds too) and,
 * when it is stronger, as its propagation score, `via` and `end`; a new
 * point enters while `room` allows. -1 out of memory. */
static int pool_reach(pool_t *P, uint64_t id, uint64_t via, uint64_t end, uint32_t hops, float path,
                      size_t room) {
  uint64_t at;
  if (idmap_get(&P->pos, id, &at)) {
    P->ev[at] += path;
    if (P->hops[at] > 0 && path > P->g[at]) {
      P->g[at] = path;
      P->via[at] = via;
      P->end[at] = end;
    }
    return 0;
  }
  if (P->n >= room || P->n == P->cap) return 0;
  P->id[P->n] = id;
  P->via[P->n] = via;
  P->end[P->n] = end;
  P->hops[P->n] = hops;
  P->g[P->n] = path;
  P->ev[P->n] = path;
  if (idmap_put(&P->pos, id, P->n)) return -1;
  P->n++;
  return 0;
}

typedef struct {
  float g;
  uint32_t i;
} pool_rank;

static int pool__cmp_rank(const void *a, const void *b) {
  const pool_rank *x = a, *y = b;
  if (x->g != y->g) return x->g > y->g ? -1 : 1;
  return x->i < y->i ? -1 : (x->i > y->i);
}

/* Orders idx[0..n) by graph score, strongest first (ties: lower index).
 * Returns -1 when out of memory. */
static int pool__sort_by_g(const pool_t *P, uint32_t *idx, size_t n) {
  if (n < 2) return 0;
  pool_rank *r = malloc(n * sizeof *r);
  if (!r) return -1;
  for (size_t k = 0; k < n; k++) r[k] = (pool_rank){P->g[idx[k]], idx[k]};
  qsort(r, n, sizeof *r, pool__cmp_rank);
  for (size_t k = 0; k < n; k++) idx[k] = r[k].i;
  free(r);
  return 0;
}

static bool kind_allowed(const engine_retrieve_params *p, const char *kind) {
  if (!kind[0]) return p->follow_knn;
  if (!p->follow_links) return false;
  if (!p->n_link_kinds) return true;
  for (size_t i = 0; i < p->n_link_kinds; i++)
    if (!strcmp(p->link_kinds[i], kind)) return true;
  return false;
}

typedef struct {
  uint64_t other;
  float w;
  bool link; /* a knowledge link (not a kNN edge) */
} nbr_t;

static int cmp_nbr(const void *a, const void *b) {
  const nbr_t *x = a, *y = b;
  if (x->w != y->w) return x->w < y->w ? 1 : -1;
  return x->other < y->other ? -1 : x->other > y->other;
}

/* allow[kind] for every kind the edges in memory know; NULL when out of
 * memory. */
static uint8_t *kind_mask(const coll *c, const engine_retrieve_params *p) {
  uint32_t nk = gmem_nkinds(c->gm);
  uint8_t *allow = malloc(nk);
  if (!allow) return NULL;
  for (uint32_t k = 0; k < nk; k++) allow[k] = kind_allowed(p, gmem_kind_name(c->gm, k));
  return allow;
}

/* Keep buf[0..*n) the best `cap` offers so far, in cmp_nbr order. */
static void nbr_offer(nbr_t *buf, size_t *n, size_t cap, uint64_t other, float w, bool link) {
  nbr_t x = {other, w, link};
  if (*n == cap) {
    if (cmp_nbr(&x, &buf[cap - 1]) >= 0) return;
    (*n)--;
  }
  size_t i = (*n)++;
  for (; i > 0 && cmp_nbr(&x, &buf[i - 1]) < 0; i--) buf[i] = buf[i - 1];
  buf[i] = x;
}

/* The strongest `fanout` allowed edges of u, strongest first (ties: lower
 * id), from the edges in memory, however many u has: kNN edges outwards,
 * knowledge links both ways. */
static void neighbours(const coll *c, const uint8_t *allow, uint64_t u, nbr_t *buf, size_t fanout,
                       size_t *n) {
  size_t ne;
  const gmem_edge *e = gmem_out(c->gm, u, &ne);
  *n = 0;
  for (size_t i = 0; i < ne; i++)
    if (allow[e[i].kind])
      nbr_offer(buf, n, fanout, gmem_node_id(c->gm, e[i].node), e[i].w, e[i].kind != 0);
  e = gmem_in(c->gm, u, &ne);
  for (size_t i = 0; i < ne; i++)
    if (e[i].kind && allow[e[i].kind])
      nbr_offer(buf, n, fanout, gmem_node_id(c->gm, e[i].node), e[i].w, true);
}

/* Point id's vector in memory (base: ann_vectors), or NULL. */
static const float *vec_at(const coll *c, const float *base, uint64_t id) {
  uint64_t s;
  return idmap_get(&c->live, id, &s) && s < c->nslots ? base + s * c->cfg.dim : NULL;
}

/* The analogy of a knowledge link (docs/RETRIEVAL.md, "Analogy"): the link
 * u -> v carried over to the query is the point among v and v's kNN
 * neighbours nearest to t = qa + v - u by the collection's metric (cosine
 * and inner product: the largest x.t; L2: the smallest |x - t|^2), v itself
 * on a tie. Candidates other than v are live, not u, and pass the filter
 * (fx, when filtered). qa: the query (unit length for cosine); t: dim floats
 * of scratch. Returns the point (v when a vector is missing); a filter
 * failure is left in fx->rc. */
static uint64_t analogue(const coll *c, const float *base, const float *qa, uint64_t u, uint64_t v,
                         float *t, coll_fctx *fx, bool filtered) {
  size_t dim = c->cfg.dim;
  const float *vu = vec_at(c, base, u), *vv = vec_at(c, base, v);
  if (!vu || !vv) return v;
  /* the candidates' vectors first, fetched ahead (they are scattered) */
  const float *cv[PRECIS_MAX_KNN_K];
  uint64_t cid[PRECIS_MAX_KNN_K];
  size_t nc = 0, ne;
  const gmem_edge *e = gmem_out(c->gm, v, &ne);
  for (size_t i = 0; i < ne && nc < PRECIS_MAX_KNN_K; i++) {
    if (e[i].kind != 0) continue; /* kNN neighbours only */
    uint64_t x = gmem_node_id(c->gm, e[i].node);
    const float *vx = x == u ? NULL : vec_at(c, base, x);
    if (!vx) continue;
    __builtin_prefetch(vx);
    cid[nc] = x;
    cv[nc++] = vx;
  }
  for (size_t d = 0; d < dim; d++) t[d] = qa[d] + vv[d] - vu[d];
  bool l2 = c->cfg.metric == ENGINE_METRIC_L2;
  float best = l2 ? -vec_l2sq_f(vv, t, dim) : vec_dot_f(vv, t, dim);
  uint64_t at = v;
  for (size_t i = 0; i < nc; i++) {
    float sc = l2 ? -vec_l2sq_f(cv[i], t, dim) : vec_dot_f(cv[i], t, dim);
    if (sc <= best) continue;
    if (filtered && !coll__fctx_pass(fx, cid[i])) {
      if (fx->rc) return v;
      continue;
    }
    best = sc;
    at = cid[i];
  }
  return at;
}

/* Specificity (docs/RETRIEVAL.md, "Specificity"): the factor on hop 1's path
 * over a knowledge link u -> x (x after the analogy),
 *   exp(beta * (1 - clamp((sim(u, x) - sim(q, x)) / span, -C, C))),
 * sim in the collection's metric (cosine and inner product: x.y, qa the
 * query as the analogy uses it; L2: -|x - y|^2), span that of the seeds'
 * scores (the relevance scale), C = PRECIS_SPECIFICITY_CLAMP. An end one
 * span nearer its source than the query keeps the link's own weight; one
 * as near the query as its source counts e^beta times as much. 1 (the
 * link's own weight) when beta is 0, the seeds tie, a vector is missing or
 * d is not a number. */
static float specificity(const coll *c, const float *base, const float *qa, uint64_t u, uint64_t x,
                         float span, float beta) {
  if (beta == 0.0f || !(span > 0.0f)) return 1.0f;
  const float *vu = vec_at(c, base, u), *vx = vec_at(c, base, x);
  if (!vu || !vx) return 1.0f;
  size_t dim = c->cfg.dim;
  float d = c->cfg.metric == ENGINE_METRIC_L2 ? vec_l2sq_f(qa, vx, dim) - vec_l2sq_f(vu, vx, dim)
                                              : vec_dot_f(vu, vx, dim) - vec_dot_f(qa, vx, dim);
  d /= span;
  if (isnan(d)) return 1.0f; /* inf - inf on extreme inner products */
  if (d < -PRECIS_SPECIFICITY_CLAMP) d = -PRECIS_SPECIFICITY_CLAMP;
  if (d > PRECIS_SPECIFICITY_CLAMP) d = PRECIS_SPECIFICITY_CLAMP;
  return expf(beta * (1.0f - d));
}

/* Keeps the pool points with keep[i] set, in order, with their rows of
 * vecs (dim floats each), rel, sim and qual; rebuilds P->pos. Returns the
 * new size, or (size_t)-1 out of memory. */
static size_t pool_keep(pool_t *P, const unsigned char *keep, float *vecs, size_t dim, float *rel,
                        float *sim, float *qual) {
  size_t m = 0;
  idmap_free(&P->pos);
  idmap_init(&P->pos);
  for (size_t i = 0; i < P->n; i++) {
    if (!keep[i]) continue;
    if (m != i) {
      P->id[m] = P->id[i];
      P->via[m] = P->via[i];
      P->end[m] = P->end[i];
      P->hops[m] = P->hops[i];
      P->g[m] = P->g[i];
      P->ev[m] = P->ev[i];
      memmove(vecs + m * dim, vecs + i * dim, dim * sizeof *vecs);
      rel[m] = rel[i];
      sim[m] = sim[i];
      qual[m] = qual[i];
    }
    if (idmap_put(&P->pos, P->id[m], m)) return (size_t)-1;
    m++;
  }
  P->n = m;
  return m;
}

/* The neighbourhood of each of the n pool points (select_pool.set_ids):
 * its kNN out-neighbours and itself, sorted, without repeats. The keys are
 * gmem node numbers (below 2^32; a pool point without edges is 2^32 + its
 * pool index), not point ids: mapping every neighbour back to its id would
 * touch one cold cache line per edge. */
static int pool_sets(const coll *c, const pool_t *P, size_t n, uint32_t **off_out,
                     uint64_t **ids_out) {
  size_t cap = 0; /* kNN out-edges (at most knn_k each) and the point itself */
  for (size_t i = 0; i < n; i++) {
    size_t ne;
    const gmem_edge *e = gmem_out(c->gm, P->id[i], &ne);
    for (size_t j = 0; j < ne; j++) cap += e[j].kind == 0;
    cap++;
  }
  uint32_t *off = malloc((n + 1) * sizeof *off);
  uint64_t *ids = malloc(cap * sizeof *ids);
  if (!off || !ids) {
    free(off);
    free(ids);
    return PRECIS_E_NO_MEMORY;
  }
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    off[i] = (uint32_t)m;
    size_t ne, at = m;
    const gmem_edge *e = gmem_out(c->gm, P->id[i], &ne);
    uint32_t self;
    ids[m++] = gmem_node(c->gm, P->id[i], &self) ? self : (1ull << 32) + i;
    for (size_t j = 0; j < ne; j++)
      if (e[j].kind == 0) ids[m++] = e[j].node;
    for (size_t j = at + 1; j < m; j++) { /* insertion sort: a few dozen ids */
      uint64_t x = ids[j];
      size_t y = j;
      for (; y > at && ids[y - 1] > x; y--) ids[y] = ids[y - 1];
      ids[y] = x;
    }
    size_t u = at + 1; /* drop repeats */
    for (size_t j = at + 1; j < m; j++)
      if (ids[j] != ids[u - 1]) ids[u++] = ids[j];
    m = u;
  }
  off[n] = (uint32_t)m;
  *off_out = off;
  *ids_out = ids;
  return PRECIS_OK;
}

/* The seeds one retrieve asks the ANN index for, and (*cap) the most it
 * may ask for: the pool, or half of it when the graph is walked. */
static uint32_t seed_count(const engine_retrieve_params *p, uint32_t *cap) {
  uint32_t poolcap = p->pool;
  uint32_t most = p->hops > 0 ? poolcap - poolcap / 2 : poolcap;
  uint32_t nseeds = p->seeds ? p->seeds
                             : (p->k * PRECIS_DEFAULT_SEEDS_PER_K > PRECIS_DEFAULT_SEEDS_MIN
                                    ? p->k * PRECIS_DEFAULT_SEEDS_PER_K
                                    : PRECIS_DEFAULT_SEEDS_MIN);
  if (nseeds > most) nseeds = most;
  if (cap) *cap = most;
  return nseeds;
}

static int retrieve_once(coll *c, const engine_retrieve_params *p, groups_memo *memo,
                         engine_retrieve_result **out, precis_error *err);

int retrieve__run(coll *c, const engine_retrieve_params *p, engine_retrieve_result **out,
                  precis_error *err);

/* The hops a request can walk in c: p->hops, or 0 when it may follow no
 * edge the collection has (follow_knn off, and links off or none stored),
 * so that hops on a collection without links changes nothing rather than
 * switching to the selection defaults of a walk that adds no point. */
static uint32_t walkable_hops(coll *c, const engine_retrieve_params *p) {
  if (p->hops == 0 || p->follow_knn) return p->hops;
  if (!p->follow_links) return 0;
  pthread_rwlock_rdlock(&c->lock);
  uint64_t links = c->links;
  pthread_rwlock_unlock(&c->lock);
  return links ? p->hops : 0;
}

/* One retrieve. With group_by and automatic seeds, a result short of k
 * (the seeds held too few groups) is run again with twice the seeds, up to
 * the pool (half of it with hops), while the ANN search still finds as
 * many seeds as it is asked for: at most log2(pool / seeds) more runs, each
 * bounded by the pool as any retrieve is. */
int retrieve__run(coll *c, const engine_retrieve_params *p, engine_retrieve_result **out,
                  precis_error *err) {
  uint64_t t0 = now_us();
  int rc = engine_retrieve_params_check(p, err);
  if (rc) return rc;
  engine_retrieve_params eff = *p;
  eff.hops = walkable_hops(c, p);
  p = &eff;
  bool grouped = p->group_by && *p->group_by;
  groups_memo *memo = NULL;
  if (grouped && !(memo = groups_memo_create()))
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "group_by");
  engine_retrieve_result *R = NULL;
  if ((rc = retrieve_once(c, p, memo, &R, err))) goto out;
  engine_retrieve_params wide = *p;
  uint32_t cap, nseeds = seed_count(p, &cap);
  while (grouped && !p->seeds && !p->token_budget && R->n < p->k && R->seed_count == nseeds &&
         nseeds < cap) {
    nseeds = nseeds > cap / 2 ? cap : 2 * nseeds;
    wide.seeds = nseeds;
    engine_retrieve_result *R2 = NULL;
    if ((rc = retrieve_once(c, &wide, memo, &R2, err))) {
      engine_retrieve_result_free(R);
      goto out;
    }
    engine_retrieve_result_free(R);
    R = R2;
  }
  R->t_total_us = now_us() - t0;
  *out = R;
out:
  groups_memo_destroy(memo);
  return rc;
}

static int retrieve_once(coll *c, const engine_retrieve_params *p, groups_memo *memo,
                         engine_retrieve_result **out, precis_error *err) {
  uint64_t t0 = now_us();
  int rc;
  size_t dim = c->cfg.dim;
  float *q = malloc((p->dim ? p->dim : 1) * sizeof(float));
  if (!q) return precis_error_set(err, PRECIS_E_NO_MEMORY, "retrieve");
  if ((rc = coll__prepare_vector(c, p->query, p->dim, q, "query", err))) {
    free(q);
    return rc;
  }
  uint32_t poolcap = p->pool;
  uint32_t nseeds = seed_count(p, NULL);
  uint32_t nexp = p->expand_from ? p->expand_from : PRECIS_DEFAULT_EXPAND_FROM(p->k);
  if (nexp > nseeds) nexp = nseeds;

  pool_t P = {0};
  idmap_init(&P.pos);
  coll_fctx fx; /* filter hook: verdicts of this request */
  engine_filter_report frep = {0};
  coll__fctx_init(&fx, c, p->filter);
#define FILTER_FAILS(id) (p->filter && !coll__fctx_pass(&fx, (id)))
  engine_hit *hits = malloc(nseeds * sizeof *hits);
  nbr_t *nb = malloc((PRECIS_MAX_FANOUT > PRECIS_MAX_KNN_K ? PRECIS_MAX_FANOUT : PRECIS_MAX_KNN_K) *
                     sizeof *nb);
  uint8_t *allow = NULL;
  float *vecs = NULL, *rel = NULL, *sim = NULL, *nsim = NULL, *qual = NULL, *own = NULL;
  float *qa = NULL; /* the query for the analogy, and its scratch (2 x dim) */
  uint32_t *tokens = NULL, *off = NULL, *nidx = NULL, *order = NULL, *set_off = NULL;
  uint64_t *set_ids = NULL;
  unsigned char *keep = NULL;
  engine_retrieve_result *R = NULL;
  select_result sr = {0};
  P.cap = poolcap;
  P.id = malloc(poolcap * sizeof *P.id);
  P.via = malloc(poolcap * sizeof *P.via);
  P.end = malloc(poolcap * sizeof *P.end);
  P.hops = malloc(poolcap * sizeof *P.hops);
  P.g = malloc(poolcap * sizeof *P.g);
  P.ev = malloc(poolcap * sizeof *P.ev);
  order = malloc(poolcap * sizeof *order);
  if (!hits || !nb || !P.id || !P.via || !P.end || !P.hops || !P.g || !P.ev || !order) {
    free(q);
    q = NULL;
    rc = PRECIS_E_NO_MEMORY;
    goto out_nolock;
  }

  pthread_rwlock_rdlock(&c->lock);
  if (p->hops > 0 || p->coverage == ENGINE_COVERAGE_SPARSE) {
    if (!gmem_usable(c->gm)) {
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "retrieve: the graph in memory is incomplete");
      goto out;
    }
    if (!(allow = kind_mask(c, p))) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
  }
  /* 1. seeds (sorted by similarity, best first) */
  size_t nh = 0;
  engine_search_params sp = {
      .exact = p->exact_seeds, .ef_search = p->ef_search, .nprobe = p->nprobe};
  /* filter hook (coll_filter.h): filtered seeds; FILTER_FAILS gates the pool */
  if (p->filter) {
    rc = coll__search_filtered_locked(&fx, q, nseeds, &sp, hits, &nh, &frep, err);
    if (rc) goto out;
  } else if ((rc = coll__search_locked(c, q, nseeds, &sp, hits, &nh, err)))
    goto out;
  uint64_t t1 = now_us();
  /* the relevance scale: the best seed and the E-th */
  if (nexp > nh) nexp = (uint32_t)nh;
  float s_top = nh ? hits[0].score : 0, s_ref = nexp ? hits[nexp - 1].score : 0;
  float span = s_top - s_ref;
#define OWN(x) (span > 0 ? ((x)-s_ref) / span : 1.0f)
  for (size_t i = 0; i < nh; i++)
    if (pool_seed(&P, hits[i].id, fmaxf(0.0f, OWN(hits[i].score))) < 0) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
  /* 2. expansion, hop by hop: hop 1 from the nexp best seeds, later hops
   * from what the previous hop added, strongest graph score first. Hop 1
   * credits each knowledge link to its analogue (analogue()) and weighs it
   * by its specificity (specificity()) when the vectors are in memory. */
  const float *base = p->hops > 0 && (p->analogy || p->specificity > 0.0f) && p->follow_links
                          ? ann_vectors(c->ann)
                          : NULL;
  if (base) {
    if (!(qa = malloc(2 * dim * sizeof *qa))) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
    double qq = c->cfg.metric == ENGINE_METRIC_COSINE ? vec_dot(q, q, dim) : 1.0;
    float inv = qq > 0 ? (float)(1.0 / sqrt(qq)) : 0.0f;
    for (size_t d = 0; d < dim; d++) qa[d] = q[d] * inv;
  }
  size_t nfront = nexp, seeds_in = P.n;
  for (size_t i = 0; i < nfront; i++) order[i] = (uint32_t)i;
  for (uint32_t h = 1; h <= p->hops && nfront > 0; h++) {
    size_t room = seeds_in + (size_t)(P.cap - seeds_in) * h / p->hops;
    size_t added_from = P.n;
    for (size_t f = 0; f < nfront; f++) {
      size_t u = order[f];
      size_t nn;
      neighbours(c, allow, P.id[u], nb, p->fanout, &nn);
      for (size_t j = 0; j < nn; j++) {
        if (!idmap_get(&c->live, nb[j].other, NULL)) continue;
        if (FILTER_FAILS(nb[j].other)) { /* never enters the pool: no path through it */
          if (fx.rc) {
            rc = fx.rc;
            if (err) *err = fx.err;
            goto out;
          }
          continue;
        }
        float path = P.g[u] * nb[j].w * (h > 1 ? p->decay : 1.0f);
        uint64_t to = nb[j].other;
        if (base && h == 1 && nb[j].link) {
          if (p->analogy) {
            to = analogue(c, base, qa, P.id[u], to, qa + dim, &fx, p->filter != NULL);
            if (fx.rc) {
              rc = fx.rc;
              if (err) *err = fx.err;
              goto out;
            }
          }
          path *= specificity(c, base, qa, P.id[u], to, span, p->specificity);
        }
        if (pool_reach(&P, to, P.id[u], nb[j].other, h, path, room) < 0) {
          rc = PRECIS_E_NO_MEMORY;
          goto out;
        }
      }
    }
    /* the next frontier: this hop's additions, by graph score */
    nfront = P.n - added_from;
    for (size_t i = 0; i < nfront; i++) order[i] = (uint32_t)(added_from + i);
    if (pool__sort_by_g(&P, order, nfront)) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
  }
  uint64_t t2 = now_us();
  /* 3. exact similarity, relevance and quality of every pool point */
  size_t n = P.n;
  vecs = malloc((n ? n : 1) * dim * sizeof(float));
  rel = malloc((n ? n : 1) * sizeof(float));
  sim = malloc((n ? n : 1) * sizeof(float));
  qual = malloc((n ? n : 1) * sizeof(float));
  own = malloc((n ? n : 1) * sizeof(float));
  if (!vecs || !rel || !sim || !qual || !own) {
    rc = PRECIS_E_NO_MEMORY;
    goto out;
  }
  /* anchors: the nanch most similar seeds (pool positions 0.. in
   * similarity order) carry at least the strongest evidence in the pool */
  size_t nanch = 0;
  float evmax = 0;
  if (p->hops > 0) {
    nanch = p->anchors == PRECIS_ANCHORS_AUTO ? PRECIS_DEFAULT_ANCHORS(p->k) : (size_t)p->anchors;
    if (nanch > seeds_in) nanch = seeds_in;
    for (size_t i = 0; i < n; i++) evmax = fmaxf(evmax, P.ev[i]);
  }
  double qn = vec_dot(q, q, dim);
  float qinv = qn > 0 ? (float)(1.0 / sqrt(qn)) : 0.0f;
  float cmin = INFINITY, cmax = -INFINITY, rmin = INFINITY, rmax = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    float *v = vecs + i * dim;
    if ((rc = coll__vector(c, P.id[i], v, err))) goto out;
    double dot, nrm, l2;
    vec_dot_norm_l2(v, q, dim, &dot, &nrm, &l2);
    sim[i] = c->cfg.metric == ENGINE_METRIC_L2 ? (float)-l2 : (float)dot;
    float r = OWN(sim[i]);
    own[i] = r;
    rel[i] = r + p->graph_weight * (i < nanch ? fmaxf(P.ev[i], evmax) : P.ev[i]);
    if (rel[i] < rmin) rmin = rel[i];
    if (rel[i] > rmax) rmax = rel[i];
    float cosv = 0;
    if (nrm > 0) { /* selection compares directions */
      float inv = (float)(1.0 / sqrt(nrm));
      for (size_t d = 0; d < dim; d++) v[d] *= inv;
      cosv = (float)dot * inv * qinv;
    }
    qual[i] = cosv;
    if (P.hops[i] == 0 && i < nexp) { /* the cosine spread of the top seeds */
      if (cosv < cmin) cmin = cosv;
      if (cosv > cmax) cmax = cosv;
    }
  }
#undef OWN
  float cspan = cmax > cmin ? cmax - cmin : 0.0f;
  for (size_t i = 0; i < n; i++) {
    qual[i] =
        fminf(SELECT_MAX_QUALITY, fmaxf(-SELECT_MAX_QUALITY, qual[i] + cspan * (rel[i] - own[i])));
    rel[i] = rmax > rmin ? (rel[i] - rmin) / (rmax - rmin) : 1.0f;
  }
  /* group_by: each value keeps its group_limit most relevant points
   * (groups.h); the rest leave the pool before anything else reads it */
  if (p->group_by && *p->group_by && n > 0) {
    size_t ngroups;
    if (!(keep = malloc(n))) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
    if ((rc = groups_keep(c, P.id, rel, n, p->group_by, p->group_limit, memo, keep, &ngroups, err)))
      goto out;
    if ((n = pool_keep(&P, keep, vecs, dim, rel, sim, qual)) == (size_t)-1) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
  }
  if (p->token_budget) {
    tokens = malloc((n ? n : 1) * sizeof *tokens);
    if (!tokens) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
    for (size_t i = 0; i < n; i++)
      if ((rc = coll__tokens(c, P.id[i], &tokens[i], err))) goto out;
  }
  /* sparse coverage: the kNN edges inside the pool. Only on request: AUTO
   * gets no lists and so resolves to EXACT or SAMPLE, because reading the
   * lists (one RocksDB scan per pool point) costs more than EXACT itself
   * (figures: docs/RETRIEVAL.md). */
  if (p->coverage == ENGINE_COVERAGE_SPARSE) {
    off = malloc((n + 1) * sizeof *off);
    nidx = malloc((n * PRECIS_MAX_KNN_K + 1) * sizeof *nidx);
    nsim = malloc((n * PRECIS_MAX_KNN_K + 1) * sizeof *nsim);
    if (!off || !nidx || !nsim) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
    for (uint32_t k = 0; k < gmem_nkinds(c->gm); k++) allow[k] = k == 0; /* kNN only */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      off[i] = (uint32_t)m;
      size_t nn;
      neighbours(c, allow, P.id[i], nb, PRECIS_MAX_KNN_K, &nn);
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
  /* the neighbourhoods of the pool points for COMPRESS's log-det
   * similarity and MMR's redundancy: kNN out-neighbours and the point
   * itself, sorted ids */
  float shared = p->shared_neighbours != PRECIS_SHARED_NEIGHBOURS_AUTO ? p->shared_neighbours
                 : p->hops > 0                                         ? 0.0f
                               : PRECIS_DEFAULT_SHARED_NEIGHBOURS;
  bool mixes = (p->mode == ENGINE_MODE_COMPRESS && p->c > 0.0f) || p->mode == ENGINE_MODE_MMR;
  if (mixes && shared > 0.0f && gmem_usable(c->gm) && n > 0) {
    if ((rc = pool_sets(c, &P, n, &set_off, &set_ids))) goto out;
  }
  /* 4. selection */
  R = calloc(1, sizeof *R);
  if (!R) {
    rc = PRECIS_E_NO_MEMORY;
    goto out;
  }
  R->pool_size = (uint32_t)n;
  R->seed_count = (uint32_t)nh;
  /* what select_run resolves to; set from its result below (an empty pool
   * runs no selection) */
  R->coverage_used =
      (int)select_coverage_resolve((select_coverage)p->coverage, n, dim, off != NULL);
  if (n > 0) {
    select_pool sp2 = {n, dim, vecs, rel, qual, tokens, off, nidx, nsim, set_off, set_ids};
    select_params sel;
    select_params_default(&sel);
    sel.mode = (select_mode)p->mode;
    sel.k = p->k;
    sel.token_budget = p->token_budget;
    sel.lambda = p->lambda;
    sel.a = p->a;
    sel.b = p->b;
    sel.c = p->c;
    sel.theta = p->theta;
    float div = p->diversity != PRECIS_DIVERSITY_AUTO ? p->diversity
                : p->hops > 0                         ? PRECIS_DEFAULT_DIVERSITY_EXPANDED
                                                      : PRECIS_DEFAULT_DIVERSITY;
    /* diversity sets theta (unless given) and the floor (unless given):
     * COMPRESS's from diversity, MMR's from 1 - lambda */
    if (sel.mode == SELECT_COMPRESS && p->theta == PRECIS_THETA_AUTO) {
      select_params_set_diversity(&sel, div);
    } else {
      if (p->theta == PRECIS_THETA_AUTO) sel.theta = PRECIS_DEFAULT_THETA;
      if (sel.mode == SELECT_COMPRESS) sel.floor = select_floor_for_diversity(div);
    }
    if (sel.mode == SELECT_MMR) sel.floor = select_floor_for_diversity(1.0f - p->lambda);
    if (p->similarity_floor != PRECIS_SIMILARITY_FLOOR_AUTO) sel.floor = p->similarity_floor;
    sel.shared = shared;
    sel.coverage = (select_coverage)p->coverage;
    if ((rc = select_run(&sp2, &sel, &sr, err))) goto out;
  }
  uint64_t t3 = now_us();
  /* 5. items */
  R->items = calloc(sr.n ? sr.n : 1, sizeof *R->items);
  if (!R->items) {
    rc = PRECIS_E_NO_MEMORY;
    goto out;
  }
  uint64_t result_bytes = 0;
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
    it->link_end = P.end[i];
    it->represents = sr.represents[t];
    uint32_t cap = p->max_represented_ids;
    if (cap) {
      it->represented_ids = malloc(cap * sizeof(uint64_t));
      if (!it->represented_ids) {
        rc = PRECIS_E_NO_MEMORY;
        goto out;
      }
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
    /* bound what the items hold (engine_options.max_result_bytes) */
    result_bytes += vl;
    if (c->eopts && c->eopts->max_result_bytes && result_bytes > c->eopts->max_result_bytes) {
      rc = precis_error_set(err, PRECIS_E_FRAME_TOO_LARGE,
                            "retrieve: the texts and metadata of the first %zu items "
                            "exceed %llu bytes; ask for fewer items (k)",
                            t + 1, (unsigned long long)c->eopts->max_result_bytes);
      goto out;
    }
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
  if (p->filter) {
    frep.checked = fx.checked;
    R->filter_report = frep;
  }
out:
  pthread_rwlock_unlock(&c->lock);
out_nolock:
  if (rc == PRECIS_E_NO_MEMORY) precis_error_set(err, rc, "retrieve");
  select_result_free(&sr);
  free(q);
  free(hits);
  free(nb);
  free(allow);
  free(P.id);
  free(P.via);
  free(P.end);
  free(P.hops);
  free(P.g);
  free(P.ev);
  idmap_free(&P.pos);
  coll__fctx_free(&fx);
#undef FILTER_FAILS
  free(vecs);
  free(rel);
  free(sim);
  free(qual);
  free(own);
  free(qa);
  free(order);
  free(tokens);
  free(keep);
  free(off);
  free(nidx);
  free(set_off);
  free(set_ids);
  free(nsim);
  if (rc) {
    engine_retrieve_result_free(R);
    return rc;
  }
  *out = R;
  return PRECIS_OK;
}
