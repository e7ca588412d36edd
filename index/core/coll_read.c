/* coll_read.c: the read paths of a collection: get and top-k search (ANN
 * with tombstone filtering, or an exact scan of the stored vectors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll_internal.h"
#include "payload.h"
#include "vec.h"

int coll_get(coll *c, const uint64_t *ids, size_t n, bool with_vectors, engine_point **out,
             precis_error *err) {
  if (n == 0 || n > PRECIS_MAX_BATCH)
    return precis_error_set(err, n ? PRECIS_E_OUT_OF_RANGE : PRECIS_E_INVALID_ARGUMENT,
                            "a get holds 1..%d ids, got %zu", PRECIS_MAX_BATCH, n);
  engine_point *pts = calloc(n, sizeof *pts);
  if (!pts) return precis_error_set(err, PRECIS_E_NO_MEMORY, "get");
  int rc = PRECIS_OK;
  pthread_rwlock_rdlock(&c->lock);
  for (size_t i = 0; i < n && !rc; i++) {
    engine_point *p = &pts[i];
    p->id = ids[i];
    unsigned char k[12];
    coll__point_key(k, c->id, ids[i]);
    char *v;
    size_t vl;
    rc = store_get(c->st, STORE_CF_PAY, k, 12, &v, &vl, err);
    if (rc == PRECIS_E_NOT_FOUND) {
      precis_error_clear(err);
      rc = PRECIS_OK;
      continue;
    }
    if (rc) break;
    rc = payload_decode(v, vl, &p->tokens, &p->text, &p->meta, err);
    store_free(v);
    if (rc) break;
    p->found = true;
    if (with_vectors) {
      p->vector = malloc(c->cfg.dim * sizeof(float));
      if (!p->vector)
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "get");
      else
        rc = coll__read_vector(c, ids[i], p->vector, err);
    }
  }
  pthread_rwlock_unlock(&c->lock);
  if (rc) {
    engine_points_free(pts, n);
    return rc;
  }
  *out = pts;
  return PRECIS_OK;
}

/* ---- exact scan: a bounded min-heap of the k best ---- */
static bool hit_worse(const engine_hit *a, const engine_hit *b) {
  return a->score < b->score || (a->score == b->score && a->id > b->id);
}

void coll__heap_push(engine_hit *h, size_t *len, size_t cap, engine_hit x) {
  if (*len == cap) {
    if (!hit_worse(&h[0], &x)) return;
    h[0] = x;
    size_t i = 0;
    for (;;) {
      size_t l = 2 * i + 1, r = l + 1, m = i;
      if (l < cap && hit_worse(&h[l], &h[m])) m = l;
      if (r < cap && hit_worse(&h[r], &h[m])) m = r;
      if (m == i) break;
      engine_hit t = h[i];
      h[i] = h[m];
      h[m] = t;
      i = m;
    }
    return;
  }
  size_t i = (*len)++;
  h[i] = x;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!hit_worse(&h[i], &h[p])) break;
    engine_hit t = h[i];
    h[i] = h[p];
    h[p] = t;
    i = p;
  }
}

static int cmp_hit_desc(const void *a, const void *b) {
  const engine_hit *x = a, *y = b;
  if (hit_worse(x, y)) return 1;
  if (hit_worse(y, x)) return -1;
  return 0;
}

void coll__hits_sort(engine_hit *hits, size_t n) { qsort(hits, n, sizeof *hits, cmp_hit_desc); }

float coll__exact_score(const coll *c, const float *v, const float *q) {
  size_t dim = c->cfg.dim;
  return c->cfg.metric == ENGINE_METRIC_L2 ? (float)-vec_l2sq(v, q, dim)
                                           : (float)vec_dot(v, q, dim);
}

static int exact_search(coll *c, const float *q, uint32_t k, engine_hit *hits, size_t *nhits,
                        precis_error *err) {
  unsigned char prefix[4];
  store_put_be32(prefix, c->id);
  store_iter *it = store_iter_create(c->st, STORE_CF_VEC, prefix, 4);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
  size_t len = 0, dim = c->cfg.dim;
  float *v = malloc(dim * sizeof(float));
  if (!v) {
    store_iter_destroy(it);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
  }
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *key = (const unsigned char *)store_iter_key(it, &kl);
    const char *val = store_iter_value(it, &vl);
    if (kl != 12 || vl != dim * sizeof(float)) continue;
    memcpy(v, val, vl);
    engine_hit h = {store_get_be64(key + 4), coll__exact_score(c, v, q)};
    coll__heap_push(hits, &len, k, h);
  }
  free(v);
  int rc = store_iter_status(it, err);
  store_iter_destroy(it);
  if (rc) return rc;
  coll__hits_sort(hits, len);
  *nhits = len;
  return PRECIS_OK;
}

int coll__search_locked(coll *c, const float *q, uint32_t k, const engine_search_params *sp,
                        engine_hit *hits, size_t *nhits, precis_error *err) {
  *nhits = 0;
  if (c->count == 0) return PRECIS_OK;
  /* exact: brute force in memory over the index's own full-precision
   * vectors when it has them (Flat, HNSW<M>), else a scan of RocksDB */
  const int exact = sp && sp->exact;
  if (!c->ann || (exact && !ann_can_exact(c->ann))) return exact_search(c, q, k, hits, nhits, err);
  size_t want = k < c->count ? k : (size_t)c->count;
  size_t dead = c->nslots - c->live.len;
  size_t kk = k + dead;
  if (kk > c->nslots) kk = c->nslots;
  ann_search_params ap = {sp ? sp->ef_search : 0, sp ? sp->nprobe : 0, exact};
  for (;;) {
    float *d = malloc(kk * sizeof *d);
    int64_t *l = malloc(kk * sizeof *l);
    if (!d || !l) {
      free(d);
      free(l);
      return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
    }
    int rc = ann_search(c->ann, 1, q, kk, &ap, d, l, err);
    size_t got = 0;
    for (size_t i = 0; !rc && i < kk && got < want; i++) {
      if (l[i] < 0 || (size_t)l[i] >= c->nslots) continue;
      uint64_t id = c->slot_id[l[i]], slot;
      if (!idmap_get(&c->live, id, &slot) || slot != (uint64_t)l[i]) continue;
      hits[got].id = id;
      hits[got].score = coll__score(c, d[i]);
      got++;
    }
    free(d);
    free(l);
    if (rc) return rc;
    *nhits = got;
    if (got >= want || kk >= c->nslots) return PRECIS_OK;
    kk = kk * 2 > c->nslots ? c->nslots : kk * 2;
  }
}

int coll__search_batch_locked(coll *c, const float *q, size_t nq, uint32_t k,
                              const engine_search_params *sp, engine_hit *hits, size_t *nhits,
                              precis_error *err) {
  size_t dim = c->cfg.dim;
  for (size_t i = 0; i < nq; i++) nhits[i] = 0;
  if (c->count == 0 || nq == 0) return PRECIS_OK;
  const int exact = sp && sp->exact;
  if (!c->ann || (exact && !ann_can_exact(c->ann))) {
    for (size_t i = 0; i < nq; i++) {
      int rc = coll__search_locked(c, q + i * dim, k, sp, hits + i * k, &nhits[i], err);
      if (rc) return rc;
    }
    return PRECIS_OK;
  }
  size_t want = k < c->count ? k : (size_t)c->count;
  size_t kk = k + (c->nslots - c->live.len);
  if (kk > c->nslots) kk = c->nslots;
  float *d = malloc(nq * kk * sizeof *d);
  int64_t *l = malloc(nq * kk * sizeof *l);
  if (!d || !l) {
    free(d);
    free(l);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
  }
  ann_search_params ap = {sp ? sp->ef_search : 0, sp ? sp->nprobe : 0, exact};
  int rc = ann_search(c->ann, nq, q, kk, &ap, d, l, err);
  for (size_t i = 0; !rc && i < nq; i++) {
    size_t got = 0;
    for (size_t j = 0; j < kk && got < want; j++) {
      int64_t lab = l[i * kk + j];
      if (lab < 0 || (size_t)lab >= c->nslots) continue;
      uint64_t id = c->slot_id[lab], slot;
      if (!idmap_get(&c->live, id, &slot) || slot != (uint64_t)lab) continue;
      hits[i * k + got].id = id;
      hits[i * k + got].score = coll__score(c, d[i * kk + j]);
      got++;
    }
    nhits[i] = got;
    if (got < want) /* too many tombstones in the way: widen for this one */
      rc = coll__search_locked(c, q + i * dim, k, sp, hits + i * k, &nhits[i], err);
  }
  free(d);
  free(l);
  return rc;
}

int coll__search_check(uint32_t k, const engine_search_params *sp, precis_error *err) {
  return engine_search_params_check(k, sp, err); /* precis/params.h */
}

int coll_search(coll *c, const float *q, uint32_t dim, uint32_t k, const engine_search_params *sp,
                engine_hit *hits, size_t *nhits, precis_error *err) {
  *nhits = 0;
  int rc = coll__search_check(k, sp, err);
  if (rc) return rc;
  float *qq = malloc((dim ? dim : 1) * sizeof(float));
  if (!qq) return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
  rc = coll__prepare_vector(c, q, dim, qq, "query", err);
  if (!rc) {
    pthread_rwlock_rdlock(&c->lock);
    rc = coll__search_locked(c, qq, k, sp, hits, nhits, err);
    pthread_rwlock_unlock(&c->lock);
  }
  free(qq);
  return rc;
}
