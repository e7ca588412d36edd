/* coll_filter.c: filtered search over a collection (see coll_filter.h for
 * the plan it follows). */
#include "coll_filter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coll_internal.h"
#include "payload.h"
#include "payload_index.h"

void coll__fctx_init(coll_fctx *x, coll *c, const engine_filter *f) {
  memset(x, 0, sizeof *x);
  x->c = c;
  x->f = f;
  idmap_init(&x->memo);
}

void coll__fctx_free(coll_fctx *x) { idmap_free(&x->memo); }

static bool fail(coll_fctx *x, int rc, const precis_error *e, const char *what) {
  if (!x->rc) {
    x->rc = rc;
    if (e)
      x->err = *e;
    else
      precis_error_set(&x->err, rc, "filter: %s", what);
  }
  return false;
}

/* Evaluate one stored payload record. */
static bool eval_record(coll_fctx *x, uint64_t id, const char *rec, size_t len) {
  const char *meta;
  size_t ml;
  precis_error e;
  int rc = payload_meta_view(rec, len, &meta, &ml, &e);
  if (rc) return fail(x, rc, &e, NULL);
  json_error_t je;
  json_t *j = json_loadb(meta, ml, 0, &je);
  if (!j) return fail(x, PRECIS_E_CORRUPTION, NULL, "stored metadata does not parse");
  bool pass = filter_eval(x->f, id, j);
  json_decref(j);
  x->checked++;
  return pass;
}

bool coll__fctx_pass(coll_fctx *x, uint64_t id) {
  if (!filter_needs_meta(x->f)) return filter_eval(x->f, id, NULL);
  uint64_t v;
  if (idmap_get(&x->memo, id, &v)) return v == 1;
  unsigned char k[12];
  coll__point_key(k, x->c->id, id);
  char *rec;
  size_t rl;
  precis_error e;
  int rc = store_get(x->c->st, STORE_CF_PAY, k, 12, &rec, &rl, &e);
  if (rc == PRECIS_E_NOT_FOUND) return false;
  if (rc) return fail(x, rc, &e, NULL);
  bool pass = eval_record(x, id, rec, rl);
  store_free(rec);
  if (x->rc) return false;
  if (idmap_put(&x->memo, id, pass ? 1 : 2))
    return fail(x, PRECIS_E_NO_MEMORY, NULL, "out of memory");
  return pass;
}

/* Estimated live points passing: all of them evaluated up to
 * COLL_FILTER_SAMPLE live points, else that many spread over the id map. */
static double estimate(coll_fctx *x, bool *exact) {
  const idmap *m = &x->c->live;
  size_t tried = 0, passed = 0;
  *exact = m->len <= COLL_FILTER_SAMPLE;
  if (*exact) {
    for (size_t i = 0; i < m->cap && !x->rc; i++)
      if (m->used[i] == 1) passed += coll__fctx_pass(x, m->keys[i]);
    return (double)passed;
  }
  size_t step = m->cap / COLL_FILTER_SAMPLE;
  for (size_t s = 0; s < COLL_FILTER_SAMPLE && !x->rc; s++) {
    /* the first full bucket at or after s*step (wrapping) */
    for (size_t j = 0; j < m->cap; j++) {
      size_t i = (s * step + j) & (m->cap - 1);
      if (m->used[i] != 1) continue;
      passed += coll__fctx_pass(x, m->keys[i]);
      tried++;
      break;
    }
  }
  return tried ? (double)passed * (double)m->len / (double)tried : 0;
}

/* Exact top-k over every stored record that passes. */
static int scan(coll_fctx *x, const float *q, uint32_t k, engine_hit *hits, size_t *nhits,
                precis_error *err) {
  coll *c = x->c;
  unsigned char prefix[4];
  store_put_be32(prefix, c->id);
  store_iter *it = store_iter_create(c->st, STORE_CF_PAY, prefix, 4);
  float *v = malloc(c->cfg.dim * sizeof(float));
  if (!it || !v) {
    store_iter_destroy(it);
    free(v);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
  }
  size_t len = 0;
  int rc = PRECIS_OK;
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *key = (const unsigned char *)store_iter_key(it, &kl);
    if (kl != 12) continue;
    uint64_t id = store_get_be64(key + 4), memo;
    bool pass;
    if (!filter_needs_meta(x->f))
      pass = filter_eval(x->f, id, NULL);
    else if (idmap_get(&x->memo, id, &memo))
      pass = memo == 1;
    else {
      const char *rec = store_iter_value(it, &vl);
      pass = eval_record(x, id, rec, vl);
    }
    if (x->rc) break;
    if (!pass) continue;
    if ((rc = coll__read_vector(c, id, v, err))) break;
    engine_hit h = {id, coll__exact_score(c, v, q)};
    coll__heap_push(hits, &len, k, h);
  }
  if (!rc && !x->rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  free(v);
  if (rc) return rc;
  coll__hits_sort(hits, len);
  *nhits = len;
  return PRECIS_OK;
}

static int keep_slot(void *ctx, int64_t label) {
  coll_fctx *x = ctx;
  coll *c = x->c;
  if (label < 0 || (size_t)label >= c->nslots) return 0;
  /* the candidate bitmap holds live slots only, and decided: all pass */
  if (x->allow && x->allow_decided) return roaring_bitmap_contains(x->allow, (uint32_t)label);
  if (x->allow && !roaring_bitmap_contains(x->allow, (uint32_t)label)) return 0;
  uint64_t id = c->slot_id[label], slot;
  if (!idmap_get(&c->live, id, &slot) || slot != (uint64_t)label) return 0;
  return x->allow_decided || coll__fctx_pass(x, id);
}

static int ann_filtered(coll_fctx *x, const float *q, uint32_t k, uint32_t ef, uint32_t nprobe,
                        engine_hit *hits, size_t *nhits, precis_error *err) {
  coll *c = x->c;
  float *d = malloc(k * sizeof *d);
  int64_t *l = malloc(k * sizeof *l);
  if (!d || !l) {
    free(d);
    free(l);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
  }
  ann_search_params ap = {ef, nprobe, 0};
  int rc = ann_search_sel(c->ann, q, k, &ap, keep_slot, x, d, l, err);
  size_t got = 0;
  for (size_t i = 0; !rc && i < k; i++) {
    if (l[i] < 0 || !keep_slot(x, l[i])) continue;
    hits[got].id = c->slot_id[l[i]];
    hits[got].score = coll__score(c, d[i]);
    got++;
  }
  free(d);
  free(l);
  *nhits = got;
  return rc;
}

/* Exact top-k over the live slots in `slots` (each checked against the
 * whole filter unless `decided`), scored on the index's in-memory vectors. */
static int score_slots(coll_fctx *x, const roaring_bitmap_t *slots, bool decided, const float *q,
                       uint32_t k, engine_hit *hits, size_t *nhits, precis_error *err) {
  coll *c = x->c;
  enum { CHUNK = 256 };
  int64_t lab[CHUNK];
  float dist[CHUNK];
  size_t len = 0, m = 0;
  int rc = PRECIS_OK;
  roaring_uint32_iterator_t *it = roaring_create_iterator(slots);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
  for (bool more = it->has_value; !rc && (more || m);) {
    if (more) {
      uint32_t s = it->current_value;
      uint64_t id;
      more = roaring_advance_uint32_iterator(it);
      if (!coll__slot_passes(x, s, decided, &id)) {
        if (x->rc) break;
        continue;
      }
      lab[m++] = s;
      if (m < CHUNK && more) continue;
    }
    if ((rc = ann_exact_distances(c->ann, q, m, lab, dist, err))) break;
    for (size_t i = 0; i < m; i++) {
      engine_hit h = {c->slot_id[lab[i]], coll__score(c, dist[i])};
      coll__heap_push(hits, &len, k, h);
    }
    m = 0;
  }
  roaring_free_uint32_iterator(it);
  if (x->rc) return x->rc;
  if (rc) return rc;
  coll__hits_sort(hits, len);
  *nhits = len;
  return PRECIS_OK;
}

int coll__filter_candidates(coll_fctx *x, uint64_t cap, roaring_bitmap_t **out, bool *decided,
                            precis_error *err) {
  coll *c = x->c;
  *out = NULL;
  *decided = false;
  if (!c->ann || !pidx_active(c) || !filter_needs_meta(x->f)) return PRECIS_OK;
  filter_term T[16];
  bool only;
  size_t nt = filter_terms(x->f, T, 16, &only);
  if (nt > 16) nt = 16;
  if (!cap)
    cap = (uint64_t)fmax(4.0 * COLL_FILTER_SAMPLE, COLL_FILTER_SCAN_SHARE * (double)c->count);
  roaring_bitmap_t *acc = NULL;
  bool dec = only; /* every term answered exactly by an index */
  int rc = PRECIS_OK;
  for (size_t i = 0; i < nt && !rc; i++) {
    roaring_bitmap_t *bm = roaring_bitmap_create();
    if (!bm) {
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "filter");
      break;
    }
    bool usable, capped;
    rc = pidx_lookup(c, &T[i], cap, bm, &usable, &capped, err);
    if (rc || !usable || capped) {
      dec = false;
      roaring_bitmap_free(bm);
      continue;
    }
    if (acc) {
      roaring_bitmap_and_inplace(acc, bm);
      roaring_bitmap_free(bm);
    } else {
      acc = bm;
    }
  }
  if (rc) {
    if (acc) roaring_bitmap_free(acc);
    return rc;
  }
  *out = acc;
  *decided = acc && dec;
  return PRECIS_OK;
}

bool coll__slot_passes(coll_fctx *x, uint32_t s, bool decided, uint64_t *id) {
  coll *c = x->c;
  uint64_t live;
  if (s >= c->nslots) return false;
  *id = c->slot_id[s];
  if (!idmap_get(&c->live, *id, &live) || live != s) return false;
  return decided || coll__fctx_pass(x, *id);
}

/* Filtered ANN: FAISS with the filter as its IDSelector (restricted to
 * `allow` when the indexes gave it) and efSearch raised for the share. */
static int ann_plan(coll_fctx *x, const float *q, uint32_t k, const engine_search_params *sp,
                    double share, engine_hit *hits, size_t *nhits, engine_filter_report *r,
                    precis_error *err) {
  coll *c = x->c;
  uint32_t ef0 = sp && sp->ef_search ? sp->ef_search : c->cfg.hnsw_ef_search;
  /* a walk whose stop rule counts kept points only needs no boost */
  double boost = ann_sel_adaptive(c->ann) ? 1.0 : fmin(16.0, fmax(1.0, 0.5 / fmax(share, 1e-9)));
  double ef = fmin(4096.0, fmax((double)k, ef0 * boost));
  r->plan = ENGINE_FPLAN_ANN;
  r->ef_search = (uint32_t)ef;
  return ann_filtered(x, q, k, r->ef_search, sp ? sp->nprobe : 0, hits, nhits, err);
}

int coll__search_filtered_locked(coll_fctx *x, const float *q, uint32_t k,
                                 const engine_search_params *sp, engine_hit *hits, size_t *nhits,
                                 engine_filter_report *rep, precis_error *err) {
  coll *c = x->c;
  engine_filter_report r = {ENGINE_FPLAN_SCAN, 0, 0, 0, filter_needs_meta(x->f)};
  *nhits = 0;
  int rc = PRECIS_OK;
  bool use_scan = false;
  if (c->count == 0) goto out;
  /* 1. payload indexes: their candidate set, exact when small, else the
   * ANN selector (checked in memory, not on each visited point's metadata) */
  if (c->ann && ann_can_exact(c->ann) && pidx_active(c)) {
    roaring_bitmap_t *cand = NULL;
    bool decided = false;
    if ((rc = coll__filter_candidates(x, UINT64_MAX, &cand, &decided, err))) goto out;
    if (cand) {
      uint64_t card = roaring_bitmap_get_cardinality(cand);
      double small = fmax(4.0 * COLL_FILTER_SAMPLE, COLL_FILTER_SCAN_SHARE * (double)c->count);
      if (ann_sel_adaptive(c->ann)) { /* cost: card distances vs ~COST ef / share */
        uint32_t ef0 = sp && sp->ef_search ? sp->ef_search : c->cfg.hnsw_ef_search;
        double share = (double)card / (double)c->count;
        double cost = COLL_FILTER_SCAN_COST * fmax(ef0, k) / fmax(share, 1e-9);
        double fits = (double)COLL_FILTER_SCAN_BYTES / (c->cfg.dim * sizeof(float));
        small = fmax(small, fmin(cost, fits));
      }
      r.estimate = card;
      r.unindexed = !decided;
      if ((sp && sp->exact) || (double)card <= small || !decided) {
        r.plan = ENGINE_FPLAN_SCAN;
        rc = score_slots(x, cand, decided, q, k, hits, nhits, err);
      } else {
        x->allow = cand, x->allow_decided = true;
        rc = ann_plan(x, q, k, sp, (double)card / (double)c->count, hits, nhits, &r, err);
        x->allow = NULL;
        if (!rc && !x->rc && *nhits < k) { /* too few found by the walk */
          r.plan = ENGINE_FPLAN_SCAN;
          rc = score_slots(x, cand, true, q, k, hits, nhits, err);
        }
      }
      roaring_bitmap_free(cand);
      if (x->rc) goto failed;
      goto out;
    }
  }
  /* 2. no usable index: a sampled estimate picks scan or filtered ANN */
  bool all;
  double est = estimate(x, &all);
  if (x->rc) goto failed;
  r.estimate = (uint64_t)llround(est);
  double share = est / (double)c->count;
  use_scan = (sp && sp->exact) || !c->ann || all || share < COLL_FILTER_SCAN_SHARE;
  if (!use_scan) {
    rc = ann_plan(x, q, k, sp, share, hits, nhits, &r, err);
    if (x->rc) goto failed;
    if (rc) goto out;
    /* too few found by the walk: the exact scan decides */
    if (*nhits < k) use_scan = true;
  }
  if (use_scan) {
    r.plan = ENGINE_FPLAN_SCAN;
    rc = scan(x, q, k, hits, nhits, err);
    if (x->rc) goto failed;
  }
out:
  r.checked = x->checked;
  if (rep) *rep = r;
  return rc;
failed:
  if (err) *err = x->err;
  return x->rc;
}

int coll_search_filtered(coll *c, const float *q, uint32_t dim, uint32_t k,
                         const engine_search_params *sp, const engine_filter *f, engine_hit *hits,
                         size_t *nhits, engine_filter_report *rep, precis_error *err) {
  if (rep) memset(rep, 0, sizeof *rep);
  if (!f) return coll_search(c, q, dim, k, sp, hits, nhits, err);
  *nhits = 0;
  int rc = coll__search_check(k, sp, err);
  if (rc) return rc;
  float *qq = malloc((dim ? dim : 1) * sizeof(float));
  if (!qq) return precis_error_set(err, PRECIS_E_NO_MEMORY, "search");
  rc = coll__prepare_vector(c, q, dim, qq, "query", err);
  if (!rc) {
    coll_fctx x;
    coll__fctx_init(&x, c, f);
    pthread_rwlock_rdlock(&c->lock);
    rc = coll__search_filtered_locked(&x, qq, k, sp, hits, nhits, rep, err);
    pthread_rwlock_unlock(&c->lock);
    coll__fctx_free(&x);
  }
  free(qq);
  return rc;
}
