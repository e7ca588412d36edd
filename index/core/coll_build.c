/* coll_build.c: building a collection's ANN index from the stored vectors
 * (with the lock held, or aside and swapped in under a short lock), and
 * replaying the logged writes after a sequence into an index (coll.h,
 * index/core/upkeep.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll_internal.h"
#include "payload_index.h"
#include "upkeep.h"

int coll__slots_push(coll *c, uint64_t id) {
  if (c->nslots == c->slot_cap) {
    size_t cap = c->slot_cap ? c->slot_cap * 2 : 1024;
    uint64_t *p = realloc(c->slot_id, cap * sizeof *p);
    if (!p) return -1;
    c->slot_id = p;
    c->slot_cap = cap;
  }
  c->slot_id[c->nslots++] = id;
  return 0;
}

/* The in-memory index of a collection, as one movable unit. */
typedef struct {
  ann *a; /* NULL: no index (untrained), live maps to UINT64_MAX */
  char spec[PRECIS_MAX_INDEX_SPEC_LEN];
  uint64_t *slot_id;
  size_t nslots, scap;
  idmap live;
  uint64_t count; /* vectors read while building */
  bool untrained; /* training failed: too few points */
} ixparts;

static void parts_free(ixparts *p) {
  ann_destroy(p->a);
  free(p->slot_id);
  idmap_free(&p->live);
  memset(p, 0, sizeof *p);
}

/* Move the collection's index into *p / *p into the collection. */
static void parts_take(coll *c, ixparts *p) {
  memset(p, 0, sizeof *p);
  p->a = c->ann;
  snprintf(p->spec, sizeof p->spec, "%s", c->cur_spec);
  p->slot_id = c->slot_id;
  p->nslots = c->nslots;
  p->scap = c->slot_cap;
  p->live = c->live;
  c->ann = NULL;
  c->slot_id = NULL;
  c->nslots = c->slot_cap = 0;
  idmap_init(&c->live);
}

static void parts_put(coll *c, ixparts *p) {
  c->ann = p->a;
  snprintf(c->cur_spec, sizeof c->cur_spec, "%s", p->spec);
  c->slot_id = p->slot_id;
  c->nslots = p->nslots;
  c->slot_cap = p->scap;
  c->live = p->live;
  memset(p, 0, sizeof *p);
  idmap_init(&p->live);
}

/* Add a chunk of vectors to the index being built and record their slots. */
static int build_flush(ixparts *p, const float *buf, const uint64_t *ids, size_t nb,
                       precis_error *err) {
  int rc = ann_add(p->a, nb, buf, err);
  if (rc) return rc;
  for (size_t i = 0; i < nb; i++) {
    if (p->nslots == p->scap) {
      size_t cap = p->scap ? p->scap * 2 : 4096;
      uint64_t *q = realloc(p->slot_id, cap * sizeof *q);
      if (!q) return precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
      p->slot_id = q;
      p->scap = cap;
    }
    if (idmap_put(&p->live, ids[i], p->nslots))
      return precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
    p->slot_id[p->nslots++] = ids[i];
  }
  return PRECIS_OK;
}

/* Train p->a (when it needs it) on every vector `train` yields: too few
 * points leave p->a NULL and p->untrained set. */
static int build_train(coll *c, ixparts *p, store_iter *train, precis_error *err) {
  size_t dim = c->cfg.dim, n = 0, cap = 0;
  float *all = NULL;
  for (; store_iter_valid(train); store_iter_next(train)) {
    size_t vl;
    const char *v = store_iter_value(train, &vl);
    if (vl != dim * sizeof(float)) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      float *q = realloc(all, cap * dim * sizeof(float));
      if (!q) {
        free(all);
        return precis_error_set(err, PRECIS_E_NO_MEMORY, "train");
      }
      all = q;
    }
    memcpy(all + n * dim, v, vl);
    n++;
  }
  int rc = store_iter_status(train, err);
  if (!rc && n) {
    precis_error te;
    if (ann_train(p->a, n, all, &te)) {
      if (te.code == PRECIS_E_NO_MEMORY) {
        rc = precis_error_set(err, te.code, "train: %s", te.msg);
      } else { /* too few points to train: stay without an index, searches scan */
        if (c->log)
          c->log(c->log_ctx, COLL_LOG_INFO, "collection %s: index not trained yet (%zu points): %s",
                 c->name, n, te.msg);
        p->untrained = true;
      }
    }
  } else if (!rc) {
    p->untrained = true;
  }
  free(all);
  if (p->untrained) {
    ann_destroy(p->a);
    p->a = NULL;
  }
  return rc;
}

/* Build an index of p->spec (p->a created, empty) from the vectors `it`
 * yields (and `train` for an index that needs training). */
static int build_index(coll *c, ixparts *p, store_iter *train, store_iter *it, precis_error *err) {
  size_t dim = c->cfg.dim, chunk = 4096, nb = 0;
  int rc = PRECIS_OK;
  if (!ann_is_trained(p->a) && (rc = build_train(c, p, train, err))) return rc;
  float *buf = malloc(chunk * dim * sizeof(float));
  uint64_t *ids = malloc(chunk * sizeof(uint64_t));
  if (!buf || !ids) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
    goto out;
  }
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    const char *v = store_iter_value(it, &vl);
    if (kl != 12 || vl != dim * sizeof(float)) {
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "vector record of %zu bytes", vl);
      goto out;
    }
    uint64_t id = store_get_be64(k + 4);
    p->count++;
    if (!p->a) {
      if (idmap_put(&p->live, id, UINT64_MAX)) {
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
        goto out;
      }
      continue;
    }
    memcpy(buf + nb * dim, v, vl);
    ids[nb++] = id;
    if (nb == chunk) {
      if ((rc = build_flush(p, buf, ids, nb, err))) goto out;
      nb = 0;
    }
  }
  if ((rc = store_iter_status(it, err))) goto out;
  if (p->a && nb) rc = build_flush(p, buf, ids, nb, err);
out:
  free(buf);
  free(ids);
  return rc;
}

/* Prepare a build: the spec, an empty index and iterators over the stored
 * vectors as they are now (caller holds the collection lock, shared or
 * exclusive; RocksDB iterators read the state of their creation). */
static int build_begin(coll *c, ixparts *p, store_iter **train, store_iter **it,
                       precis_error *err) {
  memset(p, 0, sizeof *p);
  idmap_init(&p->live);
  *train = *it = NULL;
  snprintf(p->spec, sizeof p->spec, "%s", upkeep_spec_for(c, c->count));
  int rc = upkeep_new_ann(c, p->spec, &p->a, err);
  if (rc) return rc;
  unsigned char prefix[4];
  store_put_be32(prefix, c->id);
  *it = store_iter_create(c->st, STORE_CF_VEC, prefix, 4);
  if (*it && !ann_is_trained(p->a)) *train = store_iter_create(c->st, STORE_CF_VEC, prefix, 4);
  if (!*it || (!ann_is_trained(p->a) && !*train)) {
    store_iter_destroy(*it);
    store_iter_destroy(*train);
    *train = *it = NULL;
    parts_free(p);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
  }
  return PRECIS_OK;
}

/* The collection after a build of p: untrained builds try again at twice
 * the count. */
static void build_installed(coll *c, bool untrained) {
  if (untrained)
    c->train_at = (c->count > UPKEEP_TRAIN_FIRST / 2 ? c->count : UPKEEP_TRAIN_FIRST / 2) * 2;
  c->dirty = true;
  pidx_reslot(c); /* payload-index bitmaps are keyed by slot */
}

/* Rebuild the index from every stored vector (exclusive lock held). On
 * failure the collection keeps its index; if that index is known to be out
 * of step (`must`), it is dropped instead: searches then scan RocksDB and
 * `count` still equals the live map, until a later rebuild succeeds. */
static int rebuild_locked(coll *c, const char *why, bool must, precis_error *err) {
  if (c->log)
    c->log(c->log_ctx, COLL_LOG_INFO, "collection %s: rebuilding ANN index (%s)", c->name, why);
  ixparts p, old;
  store_iter *train, *it;
  int rc = build_begin(c, &p, &train, &it, err);
  if (!rc) rc = build_index(c, &p, train, it, err);
  store_iter_destroy(train);
  store_iter_destroy(it);
  if (!rc) {
    uint64_t count = p.count;
    bool untrained = p.untrained;
    parts_take(c, &old);
    parts_put(c, &p);
    parts_free(&old);
    c->count = count;
    build_installed(c, untrained);
    return PRECIS_OK;
  }
  parts_free(&p);
  if (must) coll__drop_index(c);
  return rc;
}

int coll__rebuild(coll *c, const char *why, precis_error *err) {
  return rebuild_locked(c, why, false, err);
}

int coll__rebuild_or_drop(coll *c, const char *why, precis_error *err) {
  return rebuild_locked(c, why, true, err);
}

void coll__drop_index(coll *c) {
  ann_destroy(c->ann);
  c->ann = NULL;
  free(c->slot_id);
  c->slot_id = NULL;
  c->nslots = c->slot_cap = 0;
  /* without an index every live id maps to UINT64_MAX */
  for (size_t i = 0; i < c->live.cap; i++)
    if (c->live.used[i] == 1) c->live.vals[i] = UINT64_MAX;
  c->train_at = c->count + 1; /* the next write tries again */
  c->dirty = true;
  pidx_reslot(c); /* payload-index bitmaps are keyed by slot */
}

int coll__rebuild_aside(coll *c, const char *why, precis_error *err) {
  if (c->log)
    c->log(c->log_ctx, COLL_LOG_INFO, "collection %s: rebuilding ANN index aside (%s)", c->name,
           why);
  /* no save (and so no trimming of the replay log) while this runs: the
   * writes made meanwhile are replayed from the log into the new index */
  pthread_mutex_lock(&c->save_mu);
  ixparts p, old;
  store_iter *train, *it;
  pthread_rwlock_rdlock(&c->lock);
  uint64_t from = c->seq;
  int rc = build_begin(c, &p, &train, &it, err);
  pthread_rwlock_unlock(&c->lock);
  if (!rc) rc = build_index(c, &p, train, it, err);
  store_iter_destroy(train);
  store_iter_destroy(it);
  if (rc) {
    parts_free(&p);
    pthread_mutex_unlock(&c->save_mu);
    return rc;
  }
  bool untrained = p.untrained;
  pthread_rwlock_wrlock(&c->lock);
  parts_take(c, &old);
  parts_put(c, &p);
  uint64_t replayed = 0;
  rc = coll__replay_log(c, from, &replayed, err);
  if (!rc && c->live.len != c->count)
    rc = precis_error_set(err, PRECIS_E_INTERNAL,
                          "rebuilt index holds %zu live points, the store %llu", c->live.len,
                          (unsigned long long)c->count);
  if (rc) { /* keep the old index */
    parts_take(c, &p);
    parts_put(c, &old);
  } else {
    build_installed(c, untrained);
  }
  pthread_rwlock_unlock(&c->lock);
  parts_free(&old);
  parts_free(&p);
  pthread_mutex_unlock(&c->save_mu);
  return rc;
}

/* Replay logged writes after `from` into the loaded index. */
int coll__replay_log(coll *c, uint64_t from, uint64_t *replayed, precis_error *err) {
  unsigned char prefix[4], start[12];
  store_put_be32(prefix, c->id);
  store_put_be32(start, c->id);
  store_put_be64(start + 4, from + 1);
  idmap touched;
  idmap_init(&touched);
  store_iter *it = store_iter_create(c->st, STORE_CF_LOG, prefix, 4);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
  store_iter_seek(it, start, 12);
  int rc = PRECIS_OK;
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl, vl;
    store_iter_key(it, &kl);
    if (kl != 12) continue; /* a graph entry (graph_snap.h) */
    const unsigned char *v = (const unsigned char *)store_iter_value(it, &vl);
    for (size_t i = 0; i + 8 <= vl; i += 8)
      if (idmap_put(&touched, byte_get_le64(v + i), 1)) {
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
        break;
      }
  }
  if (!rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  *replayed = touched.len;
  float *vec = malloc(c->cfg.dim * sizeof(float));
  if (!vec && !rc) rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
  for (size_t i = 0; !rc && i < touched.cap; i++) {
    if (touched.used[i] != 1) continue;
    uint64_t id = touched.keys[i];
    idmap_del(&c->live, id);
    int r = coll__read_vector(c, id, vec, err);
    if (r == PRECIS_E_NOT_FOUND) {
      precis_error_clear(err);
      continue;
    }
    if (r) {
      rc = r;
      break;
    }
    if (!c->ann) { /* no index: the live map lists the ids */
      if (idmap_put(&c->live, id, UINT64_MAX))
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
      continue;
    }
    if ((rc = ann_add(c->ann, 1, vec, err))) break;
    if (coll__slots_push(c, id) || idmap_put(&c->live, id, c->nslots - 1))
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
  }
  free(vec);
  idmap_free(&touched);
  return rc;
}
