/* coll_query.c: filtered operations over whole collections: count, scroll
 * (pages in id order, resumable by cursor), delete by filter, and set
 * payload (new metadata without re-sending the vector); engine.c wraps
 * them as engine_count_filtered, engine_scroll, engine_delete_filtered and
 * engine_set_payload (engine.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "coll_filter.h"
#include "coll_internal.h"
#include "payload.h"
#include "payload_index.h"

/* Visit the live points passing x's filter (all with f NULL) in id order
 * from `from`, stopping after `budget` stored records or when fn returns
 * false. *last: the last id examined (*examined: whether any). Lock held. */
typedef bool (*visit_fn)(void *ctx, uint64_t id);

static int scan_ids(coll_fctx *x, uint64_t from, uint64_t budget, visit_fn fn, void *ctx,
                    uint64_t *last, bool *examined, bool *at_end, precis_error *err) {
  coll *c = x->c;
  unsigned char prefix[4], start[12];
  store_put_be32(prefix, c->id);
  coll__point_key(start, c->id, from);
  store_iter *it = store_iter_create(c->st, STORE_CF_PAY, prefix, 4);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "scan");
  store_iter_seek(it, start, 12);
  *examined = false;
  *at_end = false;
  uint64_t seen = 0;
  bool go = true;
  for (; go && seen < budget && store_iter_valid(it); store_iter_next(it), seen++) {
    size_t kl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    if (kl != 12) continue;
    uint64_t id = store_get_be64(k + 4);
    *last = id;
    *examined = true;
    if (x->f && !coll__fctx_pass(x, id)) {
      if (x->rc) break;
      continue;
    }
    go = fn(ctx, id);
  }
  if (!x->rc && store_iter_valid(it) == 0) *at_end = true;
  int rc = store_iter_status(it, err);
  store_iter_destroy(it);
  if (x->rc) {
    if (err) *err = x->err;
    return x->rc;
  }
  return rc;
}

/* ---- count ---- */
static bool count_one(void *ctx, uint64_t id) {
  (void)id;
  ++*(uint64_t *)ctx;
  return true;
}

static int count_locked(coll_fctx *x, uint64_t *out, precis_error *err) {
  *out = 0;
  if (!x->f) {
    *out = x->c->count;
    return PRECIS_OK;
  }
  roaring_bitmap_t *cand;
  bool decided;
  int rc = coll__filter_candidates(x, 0, &cand, &decided, err);
  if (rc) return rc;
  if (cand) {
    roaring_uint32_iterator_t *it = roaring_create_iterator(cand);
    if (!it) rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "count");
    for (bool more = it && it->has_value; more; more = roaring_advance_uint32_iterator(it)) {
      uint64_t id;
      if (coll__slot_passes(x, it->current_value, decided, &id))
        ++*out;
      else if (x->rc)
        break;
    }
    roaring_free_uint32_iterator(it);
    roaring_bitmap_free(cand);
    if (x->rc) {
      if (err) *err = x->err;
      return x->rc;
    }
    return rc;
  }
  uint64_t last;
  bool examined, at_end;
  return scan_ids(x, 0, UINT64_MAX, count_one, out, &last, &examined, &at_end, err);
}

/* ---- scroll ---- */
typedef struct {
  uint64_t *ids;
  size_t n, limit;
} page;

static bool page_add(void *ctx, uint64_t id) {
  page *p = ctx;
  p->ids[p->n++] = id;
  return p->n < p->limit;
}

/* ---- delete by filter ---- */
typedef struct {
  uint64_t *ids;
  size_t n, cap;
  bool oom;
} idlist;

static bool list_add(void *ctx, uint64_t id) {
  idlist *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 1024;
    uint64_t *p = realloc(l->ids, cap * sizeof *p);
    if (!p) {
      l->oom = true;
      return false;
    }
    l->ids = p;
    l->cap = cap;
  }
  l->ids[l->n++] = id;
  return true;
}

static int delete_locked(coll_fctx *x, uint64_t *deleted, precis_error *err) {
  idlist l = {0};
  uint64_t last;
  bool examined, at_end;
  int rc;
  roaring_bitmap_t *cand;
  bool decided;
  if ((rc = coll__filter_candidates(x, 0, &cand, &decided, err))) return rc;
  if (cand) {
    roaring_uint32_iterator_t *it = roaring_create_iterator(cand);
    if (!it) rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "delete");
    for (bool more = it && it->has_value; more && !l.oom;
         more = roaring_advance_uint32_iterator(it)) {
      uint64_t id;
      if (coll__slot_passes(x, it->current_value, decided, &id))
        list_add(&l, id);
      else if (x->rc)
        break;
    }
    roaring_free_uint32_iterator(it);
    roaring_bitmap_free(cand);
    if (x->rc) {
      if (err) *err = x->err;
      rc = x->rc;
    }
  } else {
    rc = scan_ids(x, 0, UINT64_MAX, list_add, &l, &last, &examined, &at_end, err);
  }
  if (!rc && l.oom) rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "delete");
  *deleted = 0;
  for (size_t i = 0; !rc && i < l.n; i += PRECIS_MAX_BATCH) {
    size_t m = l.n - i < PRECIS_MAX_BATCH ? l.n - i : PRECIS_MAX_BATCH, d = 0;
    rc = coll__delete(x->c, l.ids + i, m, &d, true, err);
    *deleted += d;
  }
  free(l.ids);
  return rc;
}

/* ---- set payload ---- */
static int set_payload_locked(coll *c, const uint64_t *ids, size_t n, const json_t *patch,
                              const char *meta, size_t meta_len, bool merge, size_t *updated,
                              precis_error *err) {
  store_batch *b = store_batch_create(c->st);
  if (!b) return precis_error_set(err, PRECIS_E_NO_MEMORY, "set payload");
  idmap seen;
  idmap_init(&seen);
  int rc = PRECIS_OK;
  size_t m = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    if (!idmap_get(&c->live, ids[i], NULL) || idmap_get(&seen, ids[i], NULL)) continue;
    if (idmap_put(&seen, ids[i], 1)) {
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "set payload");
      break;
    }
    unsigned char k[12];
    coll__point_key(k, c->id, ids[i]);
    char *rec, *text = NULL, *old = NULL, *nm = NULL;
    size_t rl;
    uint32_t tokens;
    if ((rc = store_get(c->st, STORE_CF_PAY, k, 12, &rec, &rl, err))) break;
    rc = payload_decode(rec, rl, &tokens, &text, &old, err);
    store_free(rec);
    const char *newm = meta;
    size_t nl = meta_len;
    if (!rc && merge) {
      json_t *o = json_loads(old, 0, NULL);
      if (!o || json_object_update(o, (json_t *)patch) || !(nm = json_dumps(o, JSON_COMPACT)))
        rc = precis_error_set(err, o ? PRECIS_E_NO_MEMORY : PRECIS_E_CORRUPTION,
                              "set payload: merge");
      json_decref(o);
      newm = nm;
      nl = nm ? strlen(nm) : 0;
      if (!rc && nl > PRECIS_MAX_META_BYTES)
        rc = precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                              "point %llu: merged metadata is %zu bytes, limit %u",
                              (unsigned long long)ids[i], nl, PRECIS_MAX_META_BYTES);
    }
    if (!rc) rc = coll__stage_pidx(c, b, ids[i], newm, nl, err);
    if (!rc) {
      size_t tl = strlen(text), pl = payload_encoded_size(tl, nl);
      unsigned char *pay = malloc(pl);
      if (!pay) {
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "set payload");
      } else {
        payload_encode(pay, tokens, text, tl, newm, nl);
        store_batch_put(b, STORE_CF_PAY, k, 12, pay, pl);
        free(pay);
        m++;
      }
    }
    free(text);
    free(old);
    free(nm);
  }
  if (!rc && m) rc = store_write(c->st, b, err);
  pidx_commit(c, !rc && m);
  if (!rc && updated) *updated = m;
  store_batch_destroy(b);
  idmap_free(&seen);
  return rc;
}

/* ---- entry points ---- */
int coll_count_filtered(coll *c, const engine_filter *f, uint64_t *out, precis_error *err) {
  coll_fctx x;
  coll__fctx_init(&x, c, f);
  pthread_rwlock_rdlock(&c->lock);
  int rc = count_locked(&x, out, err);
  pthread_rwlock_unlock(&c->lock);
  coll__fctx_free(&x);
  return rc;
}

int coll_scroll(coll *c, const engine_filter *f, uint64_t cursor, uint32_t limit, bool with_vectors,
                engine_point **out, size_t *n, uint64_t *next_cursor, bool *more,
                precis_error *err) {
  *out = NULL;
  *n = 0;
  if (limit < 1 || limit > PRECIS_MAX_SCROLL_LIMIT)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "scroll limit %u outside 1..%d", limit,
                            PRECIS_MAX_SCROLL_LIMIT);
  int rc = PRECIS_OK;
  page p = {malloc(limit * sizeof *p.ids), 0, limit};
  coll_fctx x;
  coll__fctx_init(&x, c, f);
  uint64_t last = cursor;
  bool examined = false, at_end = true;
  if (!p.ids) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "scroll");
  } else {
    pthread_rwlock_rdlock(&c->lock);
    rc = scan_ids(&x, cursor, PRECIS_SCROLL_SCAN_BUDGET, page_add, &p, &last, &examined, &at_end,
                  err);
    pthread_rwlock_unlock(&c->lock);
  }
  coll__fctx_free(&x);
  /* the page's points, read after the scan (one that went meanwhile is
   * left out) */
  if (!rc && p.n) {
    engine_point *pts;
    if (!(rc = coll_get(c, p.ids, p.n, with_vectors, &pts, err))) {
      size_t m = 0; /* points not found own no memory */
      for (size_t i = 0; i < p.n; i++)
        if (pts[i].found) pts[m++] = pts[i];
      *out = pts;
      *n = m;
    }
  }
  if (!rc) { /* the iterator stops past the last id examined */
    *more = !at_end && !(examined && last == UINT64_MAX);
    *next_cursor = examined && last < UINT64_MAX ? last + 1 : examined ? last : cursor;
  }
  free(p.ids);
  return rc;
}

int coll_delete_filtered(coll *c, const engine_filter *f, uint64_t *deleted, precis_error *err) {
  uint64_t d = 0;
  if (!f)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "delete by filter needs a filter");
  int rc;
  coll_fctx x;
  coll__fctx_init(&x, c, f);
  pthread_rwlock_wrlock(&c->lock);
  rc = delete_locked(&x, &d, err);
  pthread_rwlock_unlock(&c->lock);
  coll__fctx_free(&x);
  if (deleted) *deleted = d;
  return rc;
}

int coll_set_payload(coll *c, const uint64_t *ids, size_t n, const char *meta, size_t meta_len,
                     bool merge, size_t *updated, precis_error *err) {
  if (updated) *updated = 0;
  if (n == 0 || n > PRECIS_MAX_BATCH || !ids)
    return precis_error_set(err, n ? PRECIS_E_OUT_OF_RANGE : PRECIS_E_INVALID_ARGUMENT,
                            "set payload holds 1..%d ids, got %zu", PRECIS_MAX_BATCH, n);
  if (!meta || !meta_len) meta = "{}", meta_len = 2;
  int rc = payload_validate_meta(meta, meta_len, err);
  if (rc) return rc;
  json_t *patch = json_loadb(meta, meta_len, 0, NULL);
  if (!patch) return precis_error_set(err, PRECIS_E_NO_MEMORY, "set payload");
  pthread_rwlock_wrlock(&c->lock);
  rc = set_payload_locked(c, ids, n, patch, meta, meta_len, merge, updated, err);
  pthread_rwlock_unlock(&c->lock);
  json_decref(patch);
  return rc;
}
