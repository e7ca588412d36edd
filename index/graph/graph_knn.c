/* graph_knn.c: the kNN graph Precis keeps itself: incremental maintenance on
 * upsert (out-edges of the new point, and insertion into the lists of the
 * points whose weakest edge it beats) and a bulk rebuild from the ANN
 * index. In a Flat collection one exact scan of the vectors in memory
 * finds both (exact_scan), so the lists stay exact. Otherwise a new
 * point's candidates among the points already indexed are the best of
 * those its HNSW insertion found (efConstruction of them, hnsw_add.cpp),
 * or come from one batched search at a modest efSearch, and the reverse
 * insertion looks at GRAPH_REVERSE_FACTOR x knn_k of them, all proposals of
 * a batch for one list weighed together (reverse_insert). Neighbours within
 * the batch from one sgemm. Edge weight = similarity mapped into (0, 1]
 * (see knn_weight). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll_internal.h"
#include "graph_internal.h"
#include "upkeep.h"
#include "vec.h"

/* cosine/ip: the similarity clamped to [1e-6, 1]; l2: 1 / (1 + d^2). */
static float knn_weight(const coll *c, float score) {
  float w = c->cfg.metric == ENGINE_METRIC_L2 ? 1.0f / (1.0f - score) : score;
  if (!(w > 1e-6f)) w = 1e-6f;
  if (w > 1) w = 1;
  return w;
}

typedef struct {
  uint64_t dst;
  float w;
} knn_edge;

static int cmp_dst(const void *a, const void *b) {
  uint64_t x = ((const knn_edge *)a)->dst, y = ((const knn_edge *)b)->dst;
  return x < y ? -1 : x > y;
}

/* The kNN out-list of `id` (at most cap entries, by destination id as the
 * keys sort), from the edges in memory. */
static void read_knn(coll *c, uint64_t id, knn_edge *out, size_t cap, size_t *n) {
  size_t ne;
  const gmem_edge *e = gmem_out(c->gm, id, &ne);
  *n = 0;
  for (size_t i = 0; i < ne; i++)
    if (e[i].kind == 0) {
      if (*n == cap) { /* more than cap: keep the lowest ids, like a key scan */
        size_t hi = 0;
        for (size_t j = 1; j < cap; j++)
          if (out[j].dst > out[hi].dst) hi = j;
        uint64_t d = gmem_node_id(c->gm, e[i].node);
        if (d < out[hi].dst) out[hi] = (knn_edge){d, e[i].w};
        continue;
      }
      out[(*n)++] = (knn_edge){gmem_node_id(c->gm, e[i].node), e[i].w};
    }
  qsort(out, *n, sizeof *out, cmp_dst);
}

/* Similarities of the batch's points to each other (n x n, row-major), as
 * the ANN scores them: inner product, or minus the squared L2 distance. */
static void batch_scores(const coll *c, const float *vecs, size_t n, float *S) {
  size_t dim = c->cfg.dim;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)dim, 1.0f, vecs,
              (int)dim, vecs, (int)dim, 0.0f, S, (int)n);
  if (c->cfg.metric != ENGINE_METRIC_L2) return;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      if (j != i) S[i * n + j] = 2 * S[i * n + j] - S[i * n + i] - S[j * n + j];
  for (size_t i = 0; i < n; i++) S[i * n + i] = 0;
}

/* Merge the batch's own points into a candidate list (best first, at most
 * cap): the ANN sees only points written before this batch. row: the
 * scores of point i against the batch (batch_scores). was_live (NULL: none)
 * marks the batch's points that were live before it: only they can be in
 * the ANN's candidates, with the old vector's score. */
static size_t merge_batch(const uint64_t *ids, const unsigned char *was_live, const float *row,
                          size_t n, size_t i, engine_hit *hits, size_t nh, size_t cap) {
  for (size_t j = 0; j < n; j++) {
    if (j == i || ids[j] == ids[i]) continue;
    float sc = row[j];
    /* drop a stale ANN entry for the same id (an overwritten point) */
    size_t at = nh;
    for (size_t h = 0; was_live && was_live[j] && h < nh; h++)
      if (hits[h].id == ids[j]) {
        at = h;
        break;
      }
    if (at < nh) {
      memmove(hits + at, hits + at + 1, (nh - at - 1) * sizeof *hits);
      nh--;
    }
    if (nh == cap && hits[nh - 1].score >= sc) continue;
    size_t pos = nh < cap ? nh : cap - 1;
    while (pos > 0 && hits[pos - 1].score < sc) {
      hits[pos] = hits[pos - 1];
      pos--;
    }
    hits[pos].id = ids[j];
    hits[pos].score = sc;
    if (nh < cap) nh++;
  }
  return nh;
}

/* Batches larger than GRAPH_BATCH_BRUTE_MAX (graph.h) get no within-batch
 * candidates (O(n^2 dim)) and knn_k + 1 candidates a point; follow a bulk
 * load with engine_graph_rebuild. */

size_t graph__knn_candidates(const coll *c, size_t n) {
  size_t k = c->cfg.knn_k;
  if (n > GRAPH_BATCH_BRUTE_MAX) return k + 1; /* a bulk load: bounded memory */
  return k * GRAPH_REVERSE_FACTOR > k + 1 ? k * GRAPH_REVERSE_FACTOR : k + 1;
}

/* A proposed reverse edge: `to` -> `from`, weight w (from is new). */
typedef struct {
  uint64_t to, from;
  float w;
} knn_prop;

/* by `to`, then the edge order of a list: weight descending, lower id first */
static int cmp_prop(const void *a, const void *b) {
  const knn_prop *x = a, *y = b;
  if (x->to != y->to) return x->to < y->to ? -1 : 1;
  if (x->w != y->w) return x->w > y->w ? -1 : 1;
  return x->from < y->from ? -1 : x->from > y->from;
}

/* edge order: weight descending, lower id first */
static int cmp_strength(const void *a, const void *b) {
  const knn_edge *x = a, *y = b;
  if (x->w != y->w) return x->w > y->w ? -1 : 1;
  return x->dst < y->dst ? -1 : x->dst > y->dst;
}

/* What a new edge into id's kNN list must beat: its weakest edge, or -inf
 * while the list is shorter than knn_k. From the edges in memory. */
static float knn_floor(coll *c, uint64_t id) {
  size_t ne, len = 0;
  const gmem_edge *e = gmem_out(c->gm, id, &ne);
  float w = INFINITY;
  for (size_t i = 0; i < ne; i++)
    if (e[i].kind == 0) {
      len++;
      w = fminf(w, e[i].w);
    }
  return len < c->cfg.knn_k ? -INFINITY : w;
}

static bool dst_in(const knn_edge *sorted, size_t n, uint64_t dst) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sorted[mid].dst == dst) return true;
    if (sorted[mid].dst < dst)
      lo = mid + 1;
    else
      hi = mid;
  }
  return false;
}

/* The reverse insertion into `to`'s list (`to` not a batch member) of the
 * proposals p[0..np) (one `to`): the list becomes its knn_k strongest
 * edges among its own and the proposals (a list already longer keeps its
 * length), an edge to a point the list already holds keeping its weight.
 * old, list: scratch of PRECIS_MAX_KNN_K + 1 and of that + np edges. */
static void reverse_insert(coll *c, store_batch *b, const knn_prop *p, size_t np, knn_edge *old,
                           knn_edge *list) {
  uint64_t to = p[0].to;
  { /* most proposals lose to a full list's weakest edge: tell without a sort */
    float best = 0;
    for (size_t i = 0; i < np; i++) best = fmaxf(best, p[i].w);
    if (best < knn_floor(c, to)) return;
  }
  size_t nold;
  read_knn(c, to, old, PRECIS_MAX_KNN_K + 1, &nold); /* by dst */
  memcpy(list, old, nold * sizeof *list);
  size_t m = nold;
  for (size_t i = 0; i < np; i++)
    if (!dst_in(old, nold, p[i].from)) list[m++] = (knn_edge){p[i].from, p[i].w};
  if (m == nold) return;
  qsort(list, m, sizeof *list, cmp_strength);
  size_t keep = nold > c->cfg.knn_k ? nold : c->cfg.knn_k;
  if (keep > m) keep = m;
  for (size_t j = 0; j < m; j++) {
    bool was = dst_in(old, nold, list[j].dst);
    if (j < keep && !was) {
      graph__batch_put_edge(c, b, to, list[j].dst, "", 0, list[j].w);
      c->pend_knn++;
    } else if (j >= keep && was) {
      graph__batch_del_edge(c, b, to, list[j].dst, "", 0);
    }
  }
}

/* Rows and slots per block of the exact scan (a block of scores: 1 MiB),
 * and the smallest batch it runs for: it reads every point's list floor
 * once per batch, which cost single-point upserts into 8,158 points 2.8x
 * their time (1,130 against 3,200 a second). */
#define GRAPH_SCAN_MIN_BATCH 16
#define SCAN_ROWS            128
#define SCAN_SLOTS           2048

/* Keep the K strongest proposals to one point in buf (strongest first, *m
 * of them). */
static void prop_keep(knn_prop *buf, size_t *m, size_t K, knn_prop x) {
  if (*m == K && cmp_prop(&buf[K - 1], &x) <= 0) return;
  size_t at = *m < K ? (*m)++ : K - 1;
  while (at > 0 && cmp_prop(&buf[at - 1], &x) > 0) {
    buf[at] = buf[at - 1];
    at--;
  }
  buf[at] = x;
}

/* A Flat index holds every vector in memory, and its search is a full scan
 * anyway: one scan of its vectors, a block of slots at a time, gives each
 * new point its exact K + 1 best candidates among the live points that
 * are not in the batch (rows of `all`, stride KC, as the search gives
 * them), and
 * each such point the K strongest new points that beat its weakest edge
 * (or fill a short list), inserted into its list when its block is done
 * (reverse_insert). Scores as the index gives them (batch_scores). Memory:
 * a block of scores and K proposals per slot of a block. */
static int exact_scan(coll *c, store_batch *b, const uint64_t *ids, const float *vecs, size_t n,
                      const idmap *members, size_t KC, engine_hit *all, size_t *alln, knn_edge *old,
                      knn_edge *list) {
  const float *base = ann_vectors(c->ann);
  size_t dim = c->cfg.dim, N = c->nslots < ann_ntotal(c->ann) ? c->nslots : ann_ntotal(c->ann);
  size_t K = c->cfg.knn_k, kr = K + 1 < KC ? K + 1 : KC;
  bool l2 = c->cfg.metric == ENGINE_METRIC_L2;
  float *S = malloc(SCAN_ROWS * SCAN_SLOTS * sizeof *S);
  float *wk = malloc(SCAN_SLOTS * sizeof *wk); /* weakest edge to beat */
  float *yn = malloc(SCAN_SLOTS * sizeof *yn); /* |y|^2 (l2) */
  float *xn = malloc(n * sizeof *xn);          /* |x|^2 (l2) */
  unsigned char *use = malloc(SCAN_SLOTS);     /* live, not in the batch */
  knn_prop *pb = malloc(SCAN_SLOTS * K * sizeof *pb);
  size_t *pm = malloc(SCAN_SLOTS * sizeof *pm);
  int rc = S && wk && yn && xn && use && pb && pm ? 0 : -1;
  for (size_t i = 0; !rc && i < n; i++) {
    alln[i] = 0;
    xn[i] = l2 ? (float)vec_dot(vecs + i * dim, vecs + i * dim, dim) : 0;
  }
  for (size_t s0 = 0; !rc && s0 < N; s0 += SCAN_SLOTS) {
    size_t ns = N - s0 < SCAN_SLOTS ? N - s0 : SCAN_SLOTS;
    for (size_t j = 0; j < ns; j++) {
      uint64_t id = c->slot_id[s0 + j], sl;
      pm[j] = 0;
      use[j] = idmap_get(&c->live, id, &sl) && sl == s0 + j && !idmap_get(members, id, NULL);
      if (!use[j]) continue;
      wk[j] = knn_floor(c, id);
      yn[j] = l2 ? (float)vec_dot(base + (s0 + j) * dim, base + (s0 + j) * dim, dim) : 0;
    }
    for (size_t r0 = 0; r0 < n; r0 += SCAN_ROWS) {
      size_t nr = n - r0 < SCAN_ROWS ? n - r0 : SCAN_ROWS;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)ns, (int)dim, 1.0f,
                  vecs + r0 * dim, (int)dim, base + s0 * dim, (int)dim, 0.0f, S, (int)ns);
      for (size_t r = 0; r < nr; r++) {
        size_t i = r0 + r;
        engine_hit *h = all + i * KC; /* the K + 1 best: the out-list's */
        for (size_t j = 0; j < ns; j++) {
          if (!use[j]) continue;
          float sc = S[r * ns + j];
          if (l2) sc = 2 * sc - xn[i] - yn[j];
          uint64_t y = c->slot_id[s0 + j];
          float w = knn_weight(c, sc);
          if (w > wk[j]) prop_keep(pb + j * K, &pm[j], K, (knn_prop){y, ids[i], w});
          size_t m = alln[i];
          if (m == kr && h[m - 1].score >= sc) continue;
          size_t at = m < kr ? m : kr - 1;
          while (at > 0 && h[at - 1].score < sc) {
            h[at] = h[at - 1];
            at--;
          }
          h[at] = (engine_hit){y, sc};
          if (m < kr) alln[i]++;
        }
      }
    }
    for (size_t j = 0; j < ns; j++)
      if (pm[j]) reverse_insert(c, b, pb + j * K, pm[j], old, list);
  }
  free(S);
  free(wk);
  free(yn);
  free(xn);
  free(use);
  free(pb);
  free(pm);
  return rc;
}

int graph__on_upsert(coll *c, store_batch *b, const uint64_t *ids, const float *vecs, size_t n,
                     const engine_hit *pre, const size_t *pren, precis_error *err) {
  uint32_t K = c->cfg.knn_k;
  size_t KC = graph__knn_candidates(c, n);
  engine_hit *hits = malloc((KC + 1) * sizeof *hits);
  knn_edge *list = malloc((PRECIS_MAX_KNN_K + 1 + n) * sizeof *list);
  knn_edge *old = malloc((PRECIS_MAX_KNN_K + 1) * sizeof *old);
  engine_hit *all = pre ? NULL : malloc(n * KC * sizeof *all);
  size_t *alln = pre ? NULL : malloc(n * sizeof *alln);
  /* Flat: candidates and reverse insertions from one exact scan, for
   * batches that pay for its per-point overhead (a look at every point's
   * list); a smaller batch takes the candidate path */
  bool scan =
      !pre && n >= GRAPH_SCAN_MIN_BATCH && c->ann && ann_is_flat(c->ann) && ann_vectors(c->ann);
  size_t nprops = 0;
  knn_prop *props = scan ? NULL : malloc(n * KC * sizeof *props);
  bool within = n > 1 && n <= GRAPH_BATCH_BRUTE_MAX;
  float *S = within ? malloc(n * n * sizeof *S) : NULL;
  unsigned char *was_live = within ? malloc(n) : NULL;
  idmap members;
  idmap_init(&members);
  int rc = graph__mem_ready(c, err);
  if (rc) goto out;
  if (!hits || !list || !old || (!scan && !props) || (!pre && (!all || !alln)) ||
      (within && (!S || !was_live))) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "knn");
    goto out;
  }
  bool any_live = false;
  if (within) {
    batch_scores(c, vecs, n, S);
    for (size_t j = 0; j < n; j++) any_live |= was_live[j] = idmap_get(&c->live, ids[j], NULL);
  }
  /* candidates among the points already written, for the whole batch in
   * one ANN call; a modest efSearch suffices for graph edges (documented
   * slack) */
  engine_search_params ksp = {false, KC + 1 > 48 ? KC + 1 : 48, 0};
  for (size_t i = 0; i < n && !rc; i++)
    if (idmap_put(&members, ids[i], 1)) rc = PRECIS_E_NO_MEMORY;
  if (rc) goto nomem;
  if (scan) {
    if (exact_scan(c, b, ids, vecs, n, &members, KC, all, alln, old, list)) {
      rc = PRECIS_E_NO_MEMORY;
      goto nomem;
    }
  } else if (!pre && (rc = coll__search_batch_locked(c, vecs, n, KC, &ksp, all, alln, err))) {
    goto out;
  }
  const engine_hit *rows = pre ? pre : all;
  const size_t *rown = pre ? pren : alln;
  for (size_t i = 0; i < n && !rc; i++) {
    uint64_t id = ids[i];
    /* an updated point: drop its old out-edges */
    if (idmap_get(&c->live, id, NULL)) {
      size_t m;
      read_knn(c, id, list, PRECIS_MAX_KNN_K + 1, &m);
      for (size_t j = 0; j < m; j++) graph__batch_del_edge(c, b, id, list[j].dst, "", 0);
    }
    size_t nh = rown[i];
    memcpy(hits, rows + i * KC, nh * sizeof *hits);
    if (within) nh = merge_batch(ids, any_live ? was_live : NULL, S + i * n, n, i, hits, nh, KC);
    size_t added = 0;
    for (size_t h = 0; h < nh; h++) {
      uint64_t nb = hits[h].id;
      if (nb == id) continue;
      float w = knn_weight(c, hits[h].score);
      if (added < K) {
        graph__batch_put_edge(c, b, id, nb, "", 0, w);
        c->pend_knn++;
        added++;
      }
      /* batch members get their lists from their own candidates; the
         exact scan has proposed to every other point already */
      if (!scan && !idmap_get(&members, nb, NULL)) props[nprops++] = (knn_prop){nb, id, w};
    }
  }
  /* reverse insertion: each candidate's list once, with every proposal */
  if (!rc && nprops) {
    qsort(props, nprops, sizeof *props, cmp_prop);
    for (size_t at = 0; at < nprops;) {
      size_t end = at + 1;
      while (end < nprops && props[end].to == props[at].to) end++;
      reverse_insert(c, b, props + at, end - at, old, list);
      at = end;
    }
  }
nomem:
  if (rc == PRECIS_E_NO_MEMORY) precis_error_set(err, rc, "knn");
out:
  free(hits);
  free(list);
  free(old);
  free(all);
  free(alln);
  free(props);
  free(S);
  free(was_live);
  idmap_free(&members);
  if (!rc) rc = graph__stage_knn_lists(c, b, err);
  if (!rc)
    graph__stage_counters(c, b);
  else
    graph__abort(c);
  return rc;
}

/* Points per step of graph_knn_rebuild: one durable batch each. */
#define GRAPH_REBUILD_CHUNK 1024

typedef struct {
  float *q;         /* chunk x dim */
  uint64_t *qid;    /* chunk */
  engine_hit *hits; /* chunk x (K + 1) */
  size_t *nh;       /* chunk */
  float *dist;      /* chunk x (K + 1) */
  int64_t *lab;     /* chunk x (K + 1) */
  size_t nq;
  uint64_t next; /* first id of the next step */
  bool more;     /* points remain after this step */
} knn_step;

/* Read the points with ids from `from` on (at most GRAPH_REBUILD_CHUNK) and
 * their K + 1 nearest; reads only (shared lock is enough). */
static int step_search(coll *c, uint64_t from, knn_step *s, precis_error *err) {
  uint32_t K = c->cfg.knn_k;
  size_t dim = c->cfg.dim;
  s->nq = 0;
  s->more = false;
  unsigned char prefix[4], start[12];
  store_put_be32(prefix, c->id);
  coll__point_key(start, c->id, from);
  store_iter *it = store_iter_create(c->st, STORE_CF_VEC, prefix, 4);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "knn");
  store_iter_seek(it, start, 12);
  for (; s->nq < GRAPH_REBUILD_CHUNK && store_iter_valid(it); store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    const char *v = store_iter_value(it, &vl);
    if (kl != 12 || vl != dim * sizeof(float)) continue;
    s->qid[s->nq] = store_get_be64(k + 4);
    memcpy(s->q + s->nq * dim, v, vl);
    s->nq++;
  }
  int rc = store_iter_status(it, err);
  if (!rc && s->nq && store_iter_valid(it) && s->qid[s->nq - 1] != UINT64_MAX) {
    s->more = true;
    s->next = s->qid[s->nq - 1] + 1;
  }
  store_iter_destroy(it);
  bool batched = c->ann && c->nslots == c->live.len; /* no tombstones */
  ann_search_params gp = {.ef_search = 64};          /* graph edges need no higher efSearch */
  if (!rc && s->nq && batched)
    rc = ann_search(c->ann, s->nq, s->q, K + 1, &gp, s->dist, s->lab, err);
  for (size_t i = 0; i < s->nq && !rc; i++) {
    engine_hit *hits = s->hits + i * (K + 1);
    size_t nh = 0;
    if (batched) {
      for (size_t h = 0; h <= K; h++) {
        int64_t l = s->lab[i * (K + 1) + h];
        if (l < 0 || (size_t)l >= c->nslots) continue;
        hits[nh].id = c->slot_id[l];
        hits[nh].score = coll__score(c, s->dist[i * (K + 1) + h]);
        nh++;
      }
    } else {
      rc = coll__search_locked(c, s->q + i * dim, K + 1, NULL, hits, &nh, err);
    }
    s->nh[i] = nh;
  }
  return rc;
}

/* Replace the kNN out-lists of the step's points, with the counter, in one
 * batch (write lock held). */
static int step_commit(coll *c, const knn_step *s, uint64_t *added_total, precis_error *err) {
  uint32_t K = c->cfg.knn_k;
  int rc = graph__mem_ready(c, err);
  if (rc) return rc;
  store_batch *b = store_batch_create(c->st);
  if (!b) return precis_error_set(err, PRECIS_E_NO_MEMORY, "knn");
  uint64_t total = 0;
  for (size_t i = 0; i < s->nq; i++) {
    /* the old out-list goes in the same batch as the new one */
    size_t ne;
    const gmem_edge *e = gmem_out(c->gm, s->qid[i], &ne);
    for (size_t j = 0; j < ne; j++)
      if (e[j].kind == 0)
        graph__batch_del_edge(c, b, s->qid[i], gmem_node_id(c->gm, e[j].node), "", 0);
    const engine_hit *hits = s->hits + i * (K + 1);
    size_t added = 0;
    for (size_t h = 0; h < s->nh[i] && added < K; h++) {
      if (hits[h].id == s->qid[i]) continue;
      graph__batch_put_edge(c, b, s->qid[i], hits[h].id, "", 0, knn_weight(c, hits[h].score));
      c->pend_knn++;
      added++;
    }
    total += added;
  }
  rc = graph__write(c, b, s->nq, err);
  if (rc) graph__abort(c);
  store_batch_destroy(b);
  if (!rc) *added_total += total;
  return rc;
}

/* Crash-safe by construction: each step replaces whole out-lists and the
 * edge counter in one atomic batch, so a crash (or a failed write) midway
 * leaves every point with either its old or its new kNN list and a counter
 * equal to the edges stored. Each step searches under the shared lock
 * (readers go on) and writes under the exclusive lock; a step whose
 * collection changed in between searches again under the exclusive lock.
 * Writes between steps keep their own kNN upkeep. */
int graph_knn_rebuild(coll *c, precis_error *err) {
  uint32_t K = c->cfg.knn_k;
  size_t dim = c->cfg.dim, chunk = GRAPH_REBUILD_CHUNK;
  int rc = PRECIS_OK;
  knn_step s = {0};
  s.q = malloc(chunk * dim * sizeof(float));
  s.qid = malloc(chunk * sizeof(uint64_t));
  s.hits = malloc(chunk * (K + 1) * sizeof *s.hits);
  s.nh = malloc(chunk * sizeof *s.nh);
  s.dist = malloc(chunk * (K + 1) * sizeof(float));
  s.lab = malloc(chunk * (K + 1) * sizeof(int64_t));
  if (!s.q || !s.qid || !s.hits || !s.nh || !s.dist || !s.lab)
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "knn");
  uint64_t from = 0, total = 0;
  bool more = true;
  while (!rc && more) {
    pthread_rwlock_rdlock(&c->lock);
    uint64_t seq = c->seq;
    rc = step_search(c, from, &s, err);
    pthread_rwlock_unlock(&c->lock);
    if (rc) break;
    pthread_rwlock_wrlock(&c->lock);
    if (c->seq != seq) rc = step_search(c, from, &s, err); /* written meanwhile */
    if (!rc) rc = step_commit(c, &s, &total, err);
    bool upkeep = !rc && (c->rebuild_due || c->save_due);
    pthread_rwlock_unlock(&c->lock);
    if (upkeep) upkeep_run(c);
    more = s.more;
    from = s.next;
  }
  if (!rc && c->log)
    c->log(c->log_ctx, COLL_LOG_INFO, "collection %s: kNN graph rebuilt, %llu edges", c->name,
           (unsigned long long)total);
  free(s.q);
  free(s.qid);
  free(s.hits);
  free(s.nh);
  free(s.dist);
  free(s.lab);
  return rc;
}
