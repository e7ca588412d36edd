/* coll_write.c: the write paths of a collection: upsert and delete. Each
 * write is one RocksDB batch (points, payloads, replay-log entry, counters,
 * and graph edges), synced before the in-memory index is touched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll_internal.h"
#include "graph.h"
#include "graph_snap.h"
#include "payload.h"
#include "payload_index.h"
#include "upkeep.h"

int coll__prepare_vector(const coll *c, const float *v, uint32_t dim, float *out, const char *what,
                         precis_error *err) {
  if (!v || dim != c->cfg.dim)
    return precis_error_set(err, PRECIS_E_DIMENSION_MISMATCH,
                            "%s has %u components, collection %s has dimension %u", what,
                            v ? dim : 0, c->name, c->cfg.dim);
  double norm = 0;
  for (uint32_t i = 0; i < dim; i++) {
    if (!isfinite(v[i]))
      return precis_error_set(err, PRECIS_E_INVALID_VECTOR, "%s: component %u is %s", what, i,
                              isnan(v[i]) ? "NaN" : "infinite");
    norm += (double)v[i] * v[i];
  }
  if (c->cfg.metric == ENGINE_METRIC_COSINE) {
    if (norm == 0)
      return precis_error_set(err, PRECIS_E_INVALID_VECTOR,
                              "%s: zero vector has no cosine similarity", what);
    float inv = (float)(1.0 / sqrt(norm));
    for (uint32_t i = 0; i < dim; i++) out[i] = v[i] * inv;
  } else {
    memcpy(out, v, dim * sizeof(float));
  }
  return PRECIS_OK;
}

/* The in-memory index could not follow a durable write: rebuild it from
 * the store, or drop it (coll__rebuild_or_drop) so that `count` and the
 * live map agree; the write itself succeeded, so the error is logged. */
static void resync_index(coll *c, const char *why) {
  precis_error e;
  if (coll__rebuild_or_drop(c, why, &e) && c->log)
    c->log(c->log_ctx, COLL_LOG_ERROR,
           "collection %s: rebuild after \"%s\" failed (%s); searches scan the store until the "
           "index is rebuilt",
           c->name, why, e.msg);
}

/* Batches of at least this many points write RocksDB on a second thread
 * while the index takes the vectors. */
#define COLL_SIDE_WRITE_MIN 128

typedef struct {
  store *st;
  store_batch *b;
  int rc;
  precis_error err;
} store_job;

static void *store_job_run(void *arg) {
  store_job *j = arg;
  j->rc = store_write(j->st, j->b, &j->err);
  return NULL;
}

static int check_point(const coll *c, const engine_point_in *p, float *vec, size_t i,
                       precis_error *err) {
  char what[64];
  snprintf(what, sizeof what, "point %llu (#%zu)", (unsigned long long)p->id, i);
  int rc = coll__prepare_vector(c, p->vector, p->dim, vec, what, err);
  if (rc) return rc;
  if (p->text_len > PRECIS_MAX_TEXT_BYTES || (!p->text && p->text_len))
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "%s: text of %zu bytes (limit %u)", what,
                            p->text_len, PRECIS_MAX_TEXT_BYTES);
  if (p->meta && p->meta_len) {
    rc = payload_validate_meta(p->meta, p->meta_len, err);
    if (rc) {
      char m[PRECIS_ERROR_MSG_MAX];
      snprintf(m, sizeof m, "%s", err ? err->msg : "");
      return precis_error_set(err, rc, "%s: %s", what, m);
    }
  }
  return PRECIS_OK;
}

/* Payload-index postings of point id (index/filter/payload_index.c), from its
 * stored metadata (if any) to new_meta (NULL: deleted), into batch b. */
int coll__stage_pidx(coll *c, store_batch *b, uint64_t id, const char *new_meta, size_t new_len,
                     precis_error *err) {
  unsigned char k[12];
  coll__point_key(k, c->id, id);
  char *rec = NULL;
  size_t rl = 0, ol = 0;
  const char *old = NULL;
  int rc = store_get(c->st, STORE_CF_PAY, k, 12, &rec, &rl, err);
  if (rc == PRECIS_E_NOT_FOUND) {
    precis_error_clear(err);
    rec = NULL;
  } else if (rc) {
    return rc;
  } else if ((rc = payload_meta_view(rec, rl, &old, &ol, err))) {
    store_free(rec);
    return rc;
  }
  rc = pidx__stage(c, b, id, old, ol, new_meta, new_len, err);
  store_free(rec);
  return rc;
}

/* The index insertion that also finds each new point's kNN candidates
 * (ann_add_knn, HNSW over the fast storage): it runs before the batch is
 * built, because the edges go into the batch, and so before the write; a
 * write that then fails leaves the vectors as tombstones (stranded()).
 * Returns whether it ran (false: another index kind, or no memory for the
 * buffers; nothing was added). *add_rc is its result; *pre and *pren are the
 * candidates in graph__on_upsert's form (live points only, batch members
 * excluded), NULL when the insertion failed. */
static bool add_with_knn(coll *c, const uint64_t *ids, const float *vecs, size_t m,
                         engine_hit **pre, size_t **pren, int *add_rc, precis_error *e2) {
  size_t kk = graph__knn_candidates(c, m);
  int64_t *lab = malloc(m * kk * sizeof *lab);
  float *dist = malloc(m * kk * sizeof *dist);
  *pre = malloc(m * kk * sizeof **pre);
  *pren = malloc(m * sizeof **pren);
  bool done = false;
  size_t nslots0 = c->nslots;
  *add_rc = PRECIS_OK;
  if (lab && dist && *pre && *pren)
    *add_rc = ann_add_knn(c->ann, m, vecs, kk, lab, dist, &done, e2);
  bool ran = done || *add_rc;
  if (done) {
    for (size_t i = 0; i < m; i++) {
      size_t got = 0;
      for (size_t j = 0; j < kk; j++) {
        int64_t l = lab[i * kk + j];
        uint64_t slot;
        if (l < 0 || (size_t)l >= nslots0) continue;
        uint64_t id = c->slot_id[l];
        if (id == ids[i] || !idmap_get(&c->live, id, &slot) || slot != (uint64_t)l) continue;
        (*pre)[i * kk + got++] = (engine_hit){id, coll__score(c, dist[i * kk + j])};
      }
      (*pren)[i] = got;
    }
  } else {
    free(*pre);
    free(*pren);
    *pre = NULL;
    *pren = NULL;
  }
  free(lab);
  free(dist);
  return ran;
}

/* Vectors are in the index but their write failed: they stay there as
 * tombstones, the slot map keeping step (or the index is rebuilt). */
static void stranded(coll *c, const uint64_t *ids, size_t m, int add_rc) {
  c->dirty = true;
  bool ok = !add_rc && ann_ntotal(c->ann) == c->nslots + m;
  for (size_t j = 0; j < m && ok; j++) ok = !coll__slots_push(c, ids[j]);
  if (!ok) resync_index(c, "in-memory index out of step after a failed write");
}

static int reserve_slots(coll *c, size_t n) {
  if (n < c->slot_cap * 2) n = c->slot_cap * 2;
  uint64_t *p = realloc(c->slot_id, n * sizeof *p);
  if (!p) return -1;
  c->slot_id = p;
  c->slot_cap = n;
  return 0;
}

int coll_upsert(coll *c, const engine_point_in *pts, size_t n, bool defer_graph, size_t *upserted,
                precis_error *err) {
  if (upserted) *upserted = 0;
  if (n == 0 || n > PRECIS_MAX_BATCH)
    return precis_error_set(err, n ? PRECIS_E_OUT_OF_RANGE : PRECIS_E_INVALID_ARGUMENT,
                            "a batch holds 1..%d points, got %zu", PRECIS_MAX_BATCH, n);
  size_t dim = c->cfg.dim;
  float *vecs = malloc(n * dim * sizeof(float));
  size_t *uniq = malloc(n * sizeof(size_t));
  uint64_t *ids = malloc(n * sizeof(uint64_t));
  uint32_t *toks = malloc(n * sizeof(uint32_t));
  idmap seen;
  idmap_init(&seen);
  store_batch *b = store_batch_create(c->st);
  unsigned char *pay = NULL;
  int rc = PRECIS_OK;
  bool upkeep = false;
  engine_hit *pre = NULL; /* kNN candidates from the insertion (add_with_knn) */
  size_t *pren = NULL;
  int add_rc = PRECIS_OK;
  precis_error e2;
  if (!vecs || !uniq || !ids || !toks || !b) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "upsert");
    goto out;
  }
  /* validate everything first: a bad point fails the batch untouched */
  for (size_t i = 0; i < n; i++)
    if ((rc = check_point(c, &pts[i], vecs + i * dim, i, err))) goto out;
  /* duplicate ids: the last occurrence wins */
  size_t m = 0;
  for (size_t i = n; i-- > 0;) {
    if (idmap_get(&seen, pts[i].id, NULL)) continue;
    if (idmap_put(&seen, pts[i].id, i)) {
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "upsert");
      goto out;
    }
    uniq[m++] = i;
  }
  /* restore input order of the survivors */
  for (size_t i = 0; i < m / 2; i++) {
    size_t t = uniq[i];
    uniq[i] = uniq[m - 1 - i];
    uniq[m - 1 - i] = t;
  }
  pthread_rwlock_wrlock(&c->lock);
  if (c->ann && (rc = ann_check_room(c->ann, m, err))) goto unlock;
  /* room first, so that once the write is durable the maps cannot fail */
  if (idmap_reserve(&c->live, c->live.len + m) ||
      (c->ann && c->slot_cap < c->nslots + m && reserve_slots(c, c->nslots + m))) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "upsert");
    goto unlock;
  }
  uint64_t added = 0;
  for (size_t j = 0; j < m; j++) {
    const engine_point_in *p = &pts[uniq[j]];
    unsigned char k[12];
    coll__point_key(k, c->id, p->id);
    ids[j] = p->id;
    if (!idmap_get(&c->live, p->id, NULL)) added++;
    store_batch_put(b, STORE_CF_VEC, k, 12, vecs + uniq[j] * dim, dim * sizeof(float));
    const char *meta = p->meta && p->meta_len ? p->meta : "{}";
    size_t ml = p->meta && p->meta_len ? p->meta_len : 2;
    uint32_t tokens = p->tokens >= 0 ? (uint32_t)(p->tokens > UINT32_MAX ? UINT32_MAX : p->tokens)
                                     : payload_count_tokens(p->text, p->text_len);
    toks[j] = tokens;
    size_t pl = payload_encoded_size(p->text_len, ml);
    unsigned char *np = realloc(pay, pl);
    if (!np) {
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "upsert");
      goto unlock;
    }
    pay = np;
    payload_encode(pay, tokens, p->text, p->text_len, meta, ml);
    store_batch_put(b, STORE_CF_PAY, k, 12, pay, pl);
    if (pidx_active(c) && (rc = coll__stage_pidx(c, b, p->id, meta, ml, err))) goto unlock;
  }
  /* compact the prepared vectors of the survivors, in order */
  for (size_t j = 0; j < m; j++)
    if (uniq[j] != j) memmove(vecs + j * dim, vecs + uniq[j] * dim, dim * sizeof(float));
  bool fused = !defer_graph && c->ann && add_with_knn(c, ids, vecs, m, &pre, &pren, &add_rc, &e2);
  if (!defer_graph && (rc = graph__on_upsert(c, b, ids, vecs, m, pre, pren, err))) {
    if (fused) stranded(c, ids, m, add_rc);
    goto unlock;
  }
  gsnap_stage_log(c, b, c->seq + 1);
  unsigned char lk[12];
  store_put_be32(lk, c->id);
  store_put_be64(lk + 4, c->seq + 1);
  unsigned char *lv = (unsigned char *)uniq; /* reuse: m*8 bytes fit in n*sizeof(size_t) */
  for (size_t j = 0; j < m; j++) byte_put_le64(lv + 8 * j, ids[j]);
  store_batch_put(b, STORE_CF_LOG, lk, 12, lv, 8 * m);
  coll__batch_counters(c, b, c->seq + 1, c->count + added);
  /* unless the insertion ran already (fused), the RocksDB write and the
   * index insertion run side by side (the collection stays locked until
   * both are done); a write that fails leaves its vectors in the index as
   * tombstones */
  store_job job = {c->st, b, PRECIS_OK, {0}};
  pthread_t writer;
  bool side = !fused && c->ann && m >= COLL_SIDE_WRITE_MIN &&
              pthread_create(&writer, NULL, store_job_run, &job) == 0;
  if (!side) store_job_run(&job);
  if (!fused && c->ann && (side || !job.rc)) add_rc = ann_add(c->ann, m, vecs, &e2);
  if (side) pthread_join(writer, NULL);
  if (job.rc) {
    graph__abort(c);
    rc = job.rc;
    if (err) *err = job.err;
    if ((side || fused) && c->ann) stranded(c, ids, m, add_rc);
    goto unlock;
  }
  /* durable: now the in-memory state */
  c->seq++;
  c->count += added;
  graph__after_write(c);
  for (size_t j = 0; j < m; j++) /* no room: the count is read from the payload */
    if (idmap_put(&c->tokens, ids[j], toks[j])) idmap_del(&c->tokens, ids[j]);
  if (c->ann) {
    if (add_rc == PRECIS_OK) {
      for (size_t j = 0; j < m; j++)
        if (coll__slots_push(c, ids[j]) || idmap_put(&c->live, ids[j], c->nslots - 1)) {
          add_rc = PRECIS_E_NO_MEMORY;
          break;
        }
    }
    if (add_rc) { /* the write is durable; rebuild the index from the store */
      if (c->log)
        c->log(c->log_ctx, COLL_LOG_WARN, "collection %s: index update failed: %s", c->name,
               add_rc == PRECIS_E_NO_MEMORY ? "out of memory" : e2.msg);
      resync_index(c, "in-memory index update failed");
    }
  } else {
    for (size_t j = 0; j < m; j++) idmap_put(&c->live, ids[j], UINT64_MAX); /* reserved above */
  }
  upkeep_note_write(c, m);
  upkeep = c->rebuild_due || c->save_due;
  if (upserted) *upserted = m;
unlock:
  pidx_commit(c, !rc); /* payload-index bitmaps follow the durable write */
  pthread_rwlock_unlock(&c->lock);
  if (upkeep) upkeep_run(c);
out:
  free(vecs);
  free(uniq);
  free(ids);
  free(toks);
  free(pay);
  free(pre);
  free(pren);
  idmap_free(&seen);
  store_batch_destroy(b);
  return rc;
}

int coll__delete(coll *c, const uint64_t *ids, size_t n, size_t *deleted, bool locked,
                 precis_error *err) {
  if (deleted) *deleted = 0;
  if (n == 0 || n > PRECIS_MAX_BATCH)
    return precis_error_set(err, n ? PRECIS_E_OUT_OF_RANGE : PRECIS_E_INVALID_ARGUMENT,
                            "a delete holds 1..%d ids, got %zu", PRECIS_MAX_BATCH, n);
  uint64_t *gone = malloc(n * sizeof *gone);
  unsigned char *lv = malloc(n * 8);
  store_batch *b = store_batch_create(c->st);
  idmap seen;
  idmap_init(&seen);
  int rc = PRECIS_OK;
  bool upkeep = false;
  if (!gone || !lv || !b) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "delete");
    goto out;
  }
  if (!locked) pthread_rwlock_wrlock(&c->lock);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (!idmap_get(&c->live, ids[i], NULL) || idmap_get(&seen, ids[i], NULL)) continue;
    if (idmap_put(&seen, ids[i], 1)) {
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "delete");
      goto unlock;
    }
    gone[m] = ids[i];
    unsigned char k[12];
    coll__point_key(k, c->id, ids[i]);
    store_batch_delete(b, STORE_CF_VEC, k, 12);
    store_batch_delete(b, STORE_CF_PAY, k, 12);
    if (pidx_active(c) && (rc = coll__stage_pidx(c, b, ids[i], NULL, 0, err))) goto unlock;
    byte_put_le64(lv + 8 * m, ids[i]);
    m++;
  }
  if (m == 0) goto unlock;
  if ((rc = graph__on_delete(c, b, gone, m, err))) goto unlock;
  gsnap_stage_log(c, b, c->seq + 1);
  unsigned char lk[12];
  store_put_be32(lk, c->id);
  store_put_be64(lk + 4, c->seq + 1);
  store_batch_put(b, STORE_CF_LOG, lk, 12, lv, 8 * m);
  coll__batch_counters(c, b, c->seq + 1, c->count - m);
  if ((rc = store_write(c->st, b, err))) {
    graph__abort(c);
    goto unlock;
  }
  c->seq++;
  c->count -= m;
  graph__after_write(c);
  for (size_t j = 0; j < m; j++) {
    idmap_del(&c->live, gone[j]);
    idmap_del(&c->tokens, gone[j]);
  }
  if (deleted) *deleted = m;
  upkeep_note_write(c, m);
  upkeep = !locked && (c->rebuild_due || c->save_due);
unlock:
  pidx_commit(c, !rc); /* payload-index bitmaps follow the durable write */
  if (!locked) pthread_rwlock_unlock(&c->lock);
  if (upkeep) upkeep_run(c);
out:
  free(gone);
  free(lv);
  store_batch_destroy(b);
  idmap_free(&seen);
  return rc;
}

int coll_delete(coll *c, const uint64_t *ids, size_t n, size_t *deleted, precis_error *err) {
  return coll__delete(c, ids, n, deleted, false, err);
}
