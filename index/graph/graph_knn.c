/* graph_knn.c: the kNN graph Precis keeps itself: incremental maintenance on
 * upsert (out-edges of the new point, and insertion into its neighbours'
 * lists where it beats their weakest edge) and a bulk rebuild from the ANN
 * index. A new point's neighbours among the points already indexed are the
 * best of the candidates its HNSW insertion found (efConstruction of them,
 * hnsw_add.cpp), or, for other index kinds, come from one batched search at
 * a modest efSearch; neighbours within the batch from one sgemm. Edge
 * weight = similarity mapped into (0, 1] (see knn_weight). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll_internal.h"
#include "graph_internal.h"
#include "upkeep.h"

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

/* What the reverse insertion needs of nb's kNN out-list, without building
 * it: its length *m, whether it holds `id`, and its weakest edge (the
 * lowest id among equal weights, as read_knn's order would give). Falls
 * back to read_knn when the list is longer than read_knn's cap. */
static void knn_weakest(coll *c, uint64_t nb, uint64_t id, knn_edge *list, size_t cap, size_t *m,
                        bool *present, knn_edge *weakest) {
  size_t ne;
  const gmem_edge *e = gmem_out(c->gm, nb, &ne);
  uint32_t self;
  bool has_self = gmem_node(c->gm, id, &self);
  size_t n = 0, wi = SIZE_MAX;
  *present = false;
  for (size_t i = 0; i < ne; i++) {
    if (e[i].kind) continue;
    n++;
    if (has_self && e[i].node == self) *present = true;
    if (wi == SIZE_MAX || e[i].w < e[wi].w ||
        (e[i].w == e[wi].w && gmem_node_id(c->gm, e[i].node) < gmem_node_id(c->gm, e[wi].node)))
      wi = i;
  }
  if (n > cap) {
    read_knn(c, nb, list, cap, m);
    *present = false;
    size_t w = 0;
    for (size_t j = 0; j < *m; j++) {
      if (list[j].dst == id) *present = true;
      if (list[j].w < list[w].w) w = j;
    }
    *weakest = list[w];
    return;
  }
  *m = n;
  if (n) *weakest = (knn_edge){gmem_node_id(c->gm, e[wi].node), e[wi].w};
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

/* Batches larger than this get no within-batch candidates (O(n^2 dim));
 * follow a bulk load with engine_graph_rebuild. */
#define GRAPH_BATCH_BRUTE_MAX 2048

int graph__on_upsert(coll *c, store_batch *b, const uint64_t *ids, const float *vecs, size_t n,
                     const engine_hit *pre, const size_t *pren, precis_error *err) {
  uint32_t K = c->cfg.knn_k;
  engine_hit *hits = malloc((K + 2) * sizeof *hits);
  knn_edge *list = malloc((PRECIS_MAX_KNN_K + 1) * sizeof *list);
  engine_hit *all = pre ? NULL : malloc(n * (K + 1) * sizeof *all);
  size_t *alln = pre ? NULL : malloc(n * sizeof *alln);
  bool within = n > 1 && n <= GRAPH_BATCH_BRUTE_MAX;
  float *S = within ? malloc(n * n * sizeof *S) : NULL;
  unsigned char *was_live = within ? malloc(n) : NULL;
  idmap touched;
  idmap_init(&touched);
  int rc = graph__mem_ready(c, err);
  if (rc) goto out;
  if (!hits || !list || (!pre && (!all || !alln)) || (within && (!S || !was_live))) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "knn");
    goto out;
  }
  bool any_live = false;
  if (within) {
    batch_scores(c, vecs, n, S);
    for (size_t j = 0; j < n; j++) any_live |= was_live[j] = idmap_get(&c->live, ids[j], NULL);
  }
  /* neighbours among the points already written, for the whole batch in one
   * ANN call; a modest efSearch suffices for graph edges (documented slack) */
  engine_search_params ksp = {false, 2 * (K + 1) > 48 ? 2 * (K + 1) : 48, 0};
  if (!pre && (rc = coll__search_batch_locked(c, vecs, n, K + 1, &ksp, all, alln, err))) goto out;
  const engine_hit *rows = pre ? pre : all;
  const size_t *rown = pre ? pren : alln;
  for (size_t i = 0; i < n && !rc; i++)
    if (idmap_put(&touched, ids[i], 1)) rc = PRECIS_E_NO_MEMORY;
  for (size_t i = 0; i < n && !rc; i++) {
    uint64_t id = ids[i];
    /* an updated point: drop its old out-edges */
    if (idmap_get(&c->live, id, NULL)) {
      size_t m;
      read_knn(c, id, list, PRECIS_MAX_KNN_K + 1, &m);
      for (size_t j = 0; j < m; j++) graph__batch_del_edge(c, b, id, list[j].dst, "", 0);
    }
    size_t nh = rown[i];
    memcpy(hits, rows + i * (K + 1), nh * sizeof *hits);
    if (within) nh = merge_batch(ids, any_live ? was_live : NULL, S + i * n, n, i, hits, nh, K + 1);
    size_t added = 0;
    for (size_t h = 0; h < nh && added < K; h++) {
      uint64_t nb = hits[h].id;
      if (nb == id) continue;
      float w = knn_weight(c, hits[h].score);
      graph__batch_put_edge(c, b, id, nb, "", 0, w);
      c->pend_knn++;
      added++;
      /* reverse insertion, once per neighbour per batch */
      if (idmap_get(&touched, nb, NULL)) continue; /* also: batch members */
      if (idmap_put(&touched, nb, 1)) {
        rc = PRECIS_E_NO_MEMORY;
        break;
      }
      size_t m;
      bool present;
      knn_edge weakest = {0, 0};
      knn_weakest(c, nb, id, list, PRECIS_MAX_KNN_K + 1, &m, &present, &weakest);
      if (present) continue;
      if (m < K) {
        graph__batch_put_edge(c, b, nb, id, "", 0, w);
        c->pend_knn++;
      } else if (weakest.w < w) {
        graph__batch_del_edge(c, b, nb, weakest.dst, "", 0);
        graph__batch_put_edge(c, b, nb, id, "", 0, w);
        c->pend_knn++;
      }
    }
  }
  if (rc == PRECIS_E_NO_MEMORY) precis_error_set(err, rc, "knn");
out:
  free(hits);
  free(list);
  free(all);
  free(alln);
  free(S);
  free(was_live);
  idmap_free(&touched);
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
