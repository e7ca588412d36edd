/* payload_index.c: payload indexes (see payload_index.h). */
#include "payload_index.h"

#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "postings.h"

typedef struct {
  char key[PRECIS_MAX_FILTER_KEY_LEN + 1];
  engine_pindex_type type;
  uint16_t fno;
  bool ready;
  uint64_t cursor; /* builder: next point id to index */
  bool cursor_done;
  pm_map pm;
} pidx_field;

struct pidx_set {
  pidx_field f[PRECIS_MAX_PAYLOAD_INDEXES];
  size_t n;
  pthread_t thr;
  bool thr_joinable, thr_running;
  atomic_bool stop;
  /* the maps mirror RocksDB's postings (false: no ANN slots to key them
   * by, or memory ran out; lookups then read RocksDB) */
  bool mem;
  /* posting changes staged with the write batch under way, applied by
   * pidx_commit once it is durable: records of key u64 (the old slot for a
   * removal, the point id for an addition) | fno be16 | add u8 | len be16 |
   * value */
  unsigned char *pend;
  size_t plen, pcap;
  bool pend_oom;
};

#define VAL_MAX  (2 + PRECIS_MAX_FILTER_KEYWORD_LEN)
#define PKEY_MAX (4 + 1 + 2 + VAL_MAX + 8)

/* ---- encodings ---- */
static void put_i64(unsigned char *p, int64_t v) { store_put_be64(p, (uint64_t)v ^ (1ULL << 63)); }

static void put_f64(unsigned char *p, double d) {
  if (d == 0) d = 0; /* -0 == 0 */
  uint64_t u;
  memcpy(&u, &d, 8);
  u = (u & (1ULL << 63)) ? ~u : u | (1ULL << 63);
  store_put_be64(p, u);
}

/* Encoded value of one scalar for a field type; 0 when it posts nothing. */
static size_t encode(engine_pindex_type t, const json_t *v, unsigned char *out) {
  switch (t) {
    case ENGINE_PINDEX_KEYWORD: {
      if (!json_is_string(v)) return 0;
      size_t n = json_string_length(v);
      if (n > PRECIS_MAX_FILTER_KEYWORD_LEN) return 0; /* no condition can equal it */
      out[0] = (unsigned char)(n >> 8), out[1] = (unsigned char)n;
      memcpy(out + 2, json_string_value(v), n);
      return 2 + n;
    }
    case ENGINE_PINDEX_INTEGER:
      if (json_is_integer(v)) {
        put_i64(out, json_integer_value(v));
        return 8;
      }
      if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || fabs(d) > 9.0e18) return 0;
        put_i64(out, (int64_t)d);
        return 8;
      }
      return 0;
    case ENGINE_PINDEX_FLOAT:
      if (!json_is_number(v)) return 0;
      put_f64(out, json_number_value(v));
      return 8;
    case ENGINE_PINDEX_BOOL:
      if (!json_is_boolean(v)) return 0;
      out[0] = json_is_true(v) ? 1 : 0;
      return 1;
    case ENGINE_PINDEX_DATETIME: {
      int64_t us;
      if (!json_is_string(v) ||
          !filter_parse_datetime(json_string_value(v), json_string_length(v), &us))
        return 0;
      put_i64(out, us);
      return 8;
    }
  }
  return 0;
}

static size_t decl_key(unsigned char *k, uint32_t cid, const char *key) {
  size_t n = strlen(key);
  store_put_be32(k, cid);
  k[4] = 'D';
  memcpy(k + 5, key, n);
  return 5 + n;
}

static void field_prefix(unsigned char *k, uint32_t cid, uint16_t fno) {
  store_put_be32(k, cid);
  k[4] = 'P';
  k[5] = (unsigned char)(fno >> 8), k[6] = (unsigned char)fno;
}

static void mem_drop(pidx_set *s) {
  for (size_t i = 0; i < s->n; i++) pm_free(&s->f[i].pm);
  s->mem = false;
}

/* Fill f's map from its postings in RocksDB (write lock held, or not yet
 * shared). Values come in key order, so entries are appended sorted. */
static int field_load(coll *c, pidx_field *f, precis_error *err) {
  pm_free(&f->pm);
  unsigned char pre[7];
  field_prefix(pre, c->id, f->fno);
  store_iter *it = store_iter_create(c->st, STORE_CF_PIDX, pre, 7);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index");
  int rc = PRECIS_OK;
  pm_ent *cur = NULL;
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    if (kl < 7 + 8) continue;
    uint64_t slot;
    if (!idmap_get(&c->live, store_get_be64(k + kl - 8), &slot) || slot >= UINT32_MAX) continue;
    const unsigned char *v = k + 7;
    size_t vl = kl - 15;
    if (!cur || pm_vcmp(cur->v, cur->len, v, vl)) {
      if (!(cur = pm_get(&f->pm, v, vl, true))) {
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index in memory");
        break;
      }
    }
    roaring_bitmap_add(cur->bm, (uint32_t)slot);
  }
  if (!rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  for (size_t i = 0; !rc && i < f->pm.n; i++) {
    roaring_bitmap_run_optimize(f->pm.e[i].bm);
    roaring_bitmap_shrink_to_fit(f->pm.e[i].bm);
  }
  return rc;
}

/* (Re)build every map (write lock held): at open and whenever the slots
 * were reassigned. Without ANN slots, or on failure, lookups read RocksDB. */
static int mem_load(coll *c, precis_error *err) {
  pidx_set *s = c->pidx;
  s->plen = 0;
  s->pend_oom = false;
  mem_drop(s);
  if (!c->ann) return PRECIS_OK;
  int rc = PRECIS_OK;
  for (size_t i = 0; i < s->n && !rc; i++) rc = field_load(c, &s->f[i], err);
  if (rc) {
    mem_drop(s);
    if (c->log)
      c->log(c->log_ctx, COLL_LOG_WARN, "collection %s: payload indexes stay on disk: %s", c->name,
             err ? err->msg : "");
    return rc;
  }
  s->mem = true;
  return PRECIS_OK;
}

void pidx_reslot(coll *c) {
  if (!c->pidx) return;
  precis_error e;
  mem_load(c, &e); /* a failure leaves the maps off; lookups read RocksDB */
}

static void pend_push(pidx_set *s, uint64_t key, uint16_t fno, bool add, const unsigned char *v,
                      size_t len) {
  size_t need = 8 + 2 + 1 + 2 + len;
  if (s->pend_oom) return;
  if (s->plen + need > s->pcap) {
    size_t cap = s->pcap ? s->pcap : 4096;
    while (cap < s->plen + need) cap *= 2;
    unsigned char *p = realloc(s->pend, cap);
    if (!p) {
      s->pend_oom = true;
      return;
    }
    s->pend = p;
    s->pcap = cap;
  }
  unsigned char *p = s->pend + s->plen;
  store_put_be64(p, key);
  p[8] = (unsigned char)(fno >> 8), p[9] = (unsigned char)fno;
  p[10] = add;
  p[11] = (unsigned char)(len >> 8), p[12] = (unsigned char)len;
  memcpy(p + 13, v, len);
  s->plen += need;
}

static pidx_field *find_fno(pidx_set *s, uint16_t fno) {
  for (size_t i = 0; i < s->n; i++)
    if (s->f[i].fno == fno) return &s->f[i];
  return NULL;
}

void pidx_commit(coll *c, bool durable) {
  pidx_set *s = c->pidx;
  if (!s) return;
  if (durable && s->mem && s->pend_oom) {
    pidx_reslot(c);
  } else if (durable && s->mem) {
    for (size_t o = 0; o < s->plen;) {
      const unsigned char *p = s->pend + o;
      uint64_t key = store_get_be64(p), slot = key;
      uint16_t fno = (uint16_t)(p[8] << 8 | p[9]);
      bool add = p[10];
      size_t len = (size_t)(p[11] << 8 | p[12]);
      o += 13 + len;
      pidx_field *f = find_fno(s, fno);
      if (!f) continue;
      if (!add) {
        pm_ent *e = pm_find(&f->pm, p + 13, len);
        if (e) roaring_bitmap_remove(e->bm, (uint32_t)slot);
        continue;
      }
      if (!idmap_get(&c->live, key, &slot) || slot >= UINT32_MAX) continue;
      pm_ent *e = pm_get(&f->pm, p + 13, len, false);
      if (!e) { /* out of memory: rebuild from RocksDB, else read it */
        pidx_reslot(c);
        break;
      }
      roaring_bitmap_add(e->bm, (uint32_t)slot);
    }
  }
  s->plen = 0;
  s->pend_oom = false;
}

/* Stage puts (put = true) or deletes of every posting of `meta` for field f,
 * and record them for the maps (a removal by the point's current slot). */
static void stage_field(coll *c, store_batch *b, const pidx_field *f, uint64_t id,
                        const json_t *meta, bool put) {
  const json_t *v = filter_path_get(meta, f->key);
  if (!v) return;
  uint64_t key = id;
  bool rec = c->pidx->mem && (put || (idmap_get(&c->live, id, &key) && key < UINT32_MAX));
  size_t n = json_is_array(v) ? json_array_size(v) : 1;
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
    unsigned char k[PKEY_MAX];
    field_prefix(k, c->id, f->fno);
    size_t vl = encode(f->type, e, k + 7);
    if (!vl) continue;
    store_put_be64(k + 7 + vl, id);
    if (put)
      store_batch_put(b, STORE_CF_PIDX, k, 7 + vl + 8, "", 0);
    else
      store_batch_delete(b, STORE_CF_PIDX, k, 7 + vl + 8);
    if (rec) pend_push(c->pidx, key, f->fno, put, k + 7, vl);
  }
}

bool pidx_active(const coll *c) { return c->pidx && c->pidx->n > 0; }

static json_t *parse_meta(const char *m, size_t len) {
  return m ? json_loadb(m, len, 0, NULL) : NULL;
}

int pidx__stage(coll *c, store_batch *b, uint64_t id, const char *old_meta, size_t old_len,
                const char *new_meta, size_t new_len, precis_error *err) {
  if (!pidx_active(c)) return PRECIS_OK;
  json_t *o = parse_meta(old_meta, old_len), *nw = parse_meta(new_meta, new_len);
  if ((old_meta && !o) || (new_meta && !nw)) {
    json_decref(o);
    json_decref(nw);
    return precis_error_set(err, PRECIS_E_CORRUPTION,
                            "payload index: metadata of %llu does not parse",
                            (unsigned long long)id);
  }
  /* deletes first: a posting both old and new is put again after */
  for (size_t i = 0; i < c->pidx->n; i++) {
    if (o) stage_field(c, b, &c->pidx->f[i], id, o, false);
    if (nw) stage_field(c, b, &c->pidx->f[i], id, nw, true);
  }
  json_decref(o);
  json_decref(nw);
  return PRECIS_OK;
}

/* ---- declarations ---- */
static int write_decl(coll *c, store_batch *b, const pidx_field *f) {
  unsigned char k[5 + PRECIS_MAX_FILTER_KEY_LEN],
      v[4] = {(unsigned char)f->type, f->ready ? 'r' : 'b', (unsigned char)f->fno,
              (unsigned char)(f->fno >> 8)};
  store_batch_put(b, STORE_CF_PIDX, k, decl_key(k, c->id, f->key), v, 4);
  return PRECIS_OK;
}

static void *builder(void *arg);

/* Start the builder unless it runs (write lock held). */
static int start_builder(coll *c, precis_error *err) {
  pidx_set *s = c->pidx;
  if (s->thr_running) return PRECIS_OK;
  if (s->thr_joinable) pthread_join(s->thr, NULL); /* it has left the lock for good */
  s->thr_joinable = false;
  atomic_store(&s->stop, false);
  if (pthread_create(&s->thr, NULL, builder, c) != 0)
    return precis_error_set(err, PRECIS_E_INTERNAL, "payload index: cannot start the builder");
  s->thr_joinable = s->thr_running = true;
  return PRECIS_OK;
}

int pidx_open(coll *c, precis_error *err) {
  c->pidx = calloc(1, sizeof *c->pidx);
  if (!c->pidx) return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index");
  unsigned char prefix[5];
  store_put_be32(prefix, c->id);
  prefix[4] = 'D';
  store_iter *it = store_iter_create(c->st, STORE_CF_PIDX, prefix, 5);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index");
  bool todo = false;
  int rc = PRECIS_OK;
  for (; store_iter_valid(it) && c->pidx->n < PRECIS_MAX_PAYLOAD_INDEXES; store_iter_next(it)) {
    size_t kl, vl;
    const char *k = store_iter_key(it, &kl);
    const unsigned char *v = (const unsigned char *)store_iter_value(it, &vl);
    if (vl != 4 || kl <= 5 || kl - 5 > PRECIS_MAX_FILTER_KEY_LEN || v[0] > ENGINE_PINDEX_DATETIME) {
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "payload index declaration");
      break;
    }
    pidx_field *f = &c->pidx->f[c->pidx->n++];
    memcpy(f->key, k + 5, kl - 5);
    f->key[kl - 5] = 0;
    f->type = (engine_pindex_type)v[0];
    f->ready = v[1] == 'r';
    f->fno = (uint16_t)(v[3] << 8 | v[2]); /* little-endian, as every value */
    todo |= !f->ready;
  }
  if (!rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  if (!rc) {
    pthread_rwlock_wrlock(&c->lock);
    precis_error e;
    mem_load(c, &e); /* a failure is logged; lookups then read RocksDB */
    if (todo) rc = start_builder(c, err);
    pthread_rwlock_unlock(&c->lock);
  }
  return rc;
}

void pidx_stop_builder(coll *c) {
  if (!c->pidx) return;
  atomic_store(&c->pidx->stop, true);
  if (c->pidx->thr_joinable) pthread_join(c->pidx->thr, NULL);
  c->pidx->thr_joinable = c->pidx->thr_running = false;
}

void pidx_close(coll *c) {
  if (!c->pidx) return;
  pidx_stop_builder(c);
  mem_drop(c->pidx);
  free(c->pidx->pend);
  free(c->pidx);
  c->pidx = NULL;
}

static pidx_field *find(pidx_set *s, const char *key) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->f[i].key, key)) return &s->f[i];
  return NULL;
}

int pidx_create(coll *c, const char *key, engine_pindex_type type, precis_error *err) {
  int rc = filter_check_key(key, "payload index key", err);
  if (rc) return rc;
  if ((int)type < 0 || type > ENGINE_PINDEX_DATETIME)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "unknown payload index type %d",
                            (int)type);
  store_batch *b = store_batch_create(c->st);
  if (!b) return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index");
  pthread_rwlock_wrlock(&c->lock);
  pidx_set *s = c->pidx;
  if (find(s, key)) {
    rc = precis_error_set(err, PRECIS_E_ALREADY_EXISTS, "payload index on \"%s\" exists", key);
  } else if (s->n >= PRECIS_MAX_PAYLOAD_INDEXES) {
    rc = precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "more than %d payload indexes",
                          PRECIS_MAX_PAYLOAD_INDEXES);
  } else {
    pidx_field f = {0};
    snprintf(f.key, sizeof f.key, "%s", key);
    f.type = type;
    for (size_t i = 0; i < s->n; i++)
      if (s->f[i].fno >= f.fno) f.fno = (uint16_t)(s->f[i].fno + 1);
    write_decl(c, b, &f);
    if (!(rc = store_write(c->st, b, err))) {
      s->f[s->n++] = f;
      rc = start_builder(c, err);
      if (c->log)
        c->log(c->log_ctx, COLL_LOG_INFO, "collection %s: payload index on %s declared, building",
               c->name, key);
    }
  }
  pthread_rwlock_unlock(&c->lock);
  store_batch_destroy(b);
  return rc;
}

int pidx_drop(coll *c, const char *key, precis_error *err) {
  store_batch *b = store_batch_create(c->st);
  if (!b) return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index");
  int rc;
  pthread_rwlock_wrlock(&c->lock);
  pidx_field *f = find(c->pidx, key);
  if (!f) {
    rc = precis_error_set(err, PRECIS_E_NOT_FOUND, "no payload index on \"%s\"", key);
  } else {
    unsigned char k[5 + PRECIS_MAX_FILTER_KEY_LEN], lo[7], hi[7];
    store_batch_delete(b, STORE_CF_PIDX, k, decl_key(k, c->id, key));
    field_prefix(lo, c->id, f->fno);
    field_prefix(hi, c->id, (uint16_t)(f->fno + 1));
    if (f->fno == UINT16_MAX) store_put_be32(hi, c->id + 1), hi[4] = 0, hi[5] = hi[6] = 0;
    store_batch_delete_range(b, STORE_CF_PIDX, lo, 7, hi, 7);
    if (!(rc = store_write(c->st, b, err))) {
      pm_free(&f->pm);
      *f = c->pidx->f[--c->pidx->n];
    }
  }
  pthread_rwlock_unlock(&c->lock);
  store_batch_destroy(b);
  return rc;
}

static int cmp_info(const void *a, const void *b) {
  return strcmp(((const engine_pindex_info *)a)->key, ((const engine_pindex_info *)b)->key);
}

int pidx_list(coll *c, engine_pindex_info **out, size_t *n, precis_error *err) {
  pthread_rwlock_rdlock(&c->lock);
  size_t m = c->pidx->n;
  engine_pindex_info *o = calloc(m ? m : 1, sizeof *o);
  for (size_t i = 0; o && i < m; i++) {
    const pidx_field *f = &c->pidx->f[i];
    snprintf(o[i].key, sizeof o[i].key, "%s", f->key);
    o[i].type = f->type;
    o[i].ready = f->ready;
    o[i].in_memory = c->pidx->mem;
    o[i].mem_bytes = c->pidx->mem ? pm_bytes(&f->pm, &o[i].values) : 0;
  }
  pthread_rwlock_unlock(&c->lock);
  if (!o) return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index");
  qsort(o, m, sizeof *o, cmp_info);
  *out = o;
  *n = m;
  return PRECIS_OK;
}

/* ---- background build ---- */
/* One chunk for field f from its cursor (write lock held). */
static int build_chunk(coll *c, pidx_field *f, precis_error *err) {
  unsigned char prefix[4], from[12];
  store_put_be32(prefix, c->id);
  coll__point_key(from, c->id, f->cursor);
  store_batch *b = store_batch_create(c->st);
  store_iter *it = store_iter_create(c->st, STORE_CF_PAY, prefix, 4);
  if (!b || !it) {
    store_batch_destroy(b);
    store_iter_destroy(it);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index build");
  }
  store_iter_seek(it, from, 12);
  int rc = PRECIS_OK;
  size_t done = 0;
  for (; store_iter_valid(it) && done < PIDX_BUILD_CHUNK; store_iter_next(it), done++) {
    size_t kl, vl, ml;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    const char *v = store_iter_value(it, &vl), *m;
    if (kl != 12) continue;
    uint64_t id = store_get_be64(k + 4);
    if ((rc = payload_meta_view(v, vl, &m, &ml, err))) break;
    json_t *j = json_loadb(m, ml, 0, NULL);
    if (!j) {
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "payload index build: metadata");
      break;
    }
    stage_field(c, b, f, id, j, true);
    json_decref(j);
    f->cursor = id + 1;
    if (id == UINT64_MAX) {
      f->cursor_done = true;
      break;
    }
  }
  if (!rc) rc = store_iter_status(it, err);
  if (!rc && (done < PIDX_BUILD_CHUNK || f->cursor_done) && !store_iter_valid(it))
    f->cursor_done = true;
  if (!rc && f->cursor_done) { /* ready: published with the last chunk */
    f->ready = true;
    write_decl(c, b, f);
  }
  store_iter_destroy(it);
  if (!rc) rc = store_write(c->st, b, err);
  pidx_commit(c, !rc);
  if (rc) f->ready = false;
  store_batch_destroy(b);
  return rc;
}

static void *builder(void *arg) {
  coll *c = arg;
  pidx_set *s = c->pidx;
  for (;;) {
    pthread_rwlock_wrlock(&c->lock);
    pidx_field *f = NULL;
    for (size_t i = 0; i < s->n && !f; i++)
      if (!s->f[i].ready) f = &s->f[i];
    if (!f || atomic_load(&s->stop)) {
      s->thr_running = false;
      pthread_rwlock_unlock(&c->lock);
      return NULL;
    }
    precis_error e;
    int rc = build_chunk(c, f, &e);
    if (!rc && f->ready && c->log)
      c->log(c->log_ctx, COLL_LOG_INFO, "collection %s: payload index on %s ready", c->name,
             f->key);
    if (rc) {
      if (c->log)
        c->log(c->log_ctx, COLL_LOG_ERROR, "collection %s: payload index build: %s", c->name,
               e.msg);
      s->thr_running = false; /* retried at the next open or create */
      pthread_rwlock_unlock(&c->lock);
      return NULL;
    }
    pthread_rwlock_unlock(&c->lock);
  }
}

/* ---- lookup ---- */
/* Scan [lo, hi] (encoded values, inclusive; hi NULL = to the end of the
 * field) adding live slots. */
static int scan_range(coll *c, const pidx_field *f, const unsigned char *lo, size_t lol,
                      bool lo_strict, const unsigned char *hi, size_t hil, bool hi_strict,
                      bool prefix_only, uint64_t cap, uint64_t *seen, roaring_bitmap_t *out,
                      bool *capped, precis_error *err) {
  unsigned char pre[7 + VAL_MAX];
  field_prefix(pre, c->id, f->fno);
  size_t plen = 7;
  if (prefix_only) {
    memcpy(pre + 7, lo, lol);
    plen += lol;
  }
  store_iter *it = store_iter_create(c->st, STORE_CF_PIDX, pre, plen);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload index");
  if (!prefix_only && lol) {
    unsigned char from[7 + VAL_MAX];
    memcpy(from, pre, 7);
    memcpy(from + 7, lo, lol);
    store_iter_seek(it, from, 7 + lol);
  }
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    if (kl < 7 + 8) continue;
    size_t vl = kl - 15;
    if (lo_strict && vl == lol && !memcmp(k + 7, lo, lol)) continue;
    if (hi) {
      int cmp = memcmp(k + 7, hi, hil < vl ? hil : vl);
      if (cmp > 0 || (hi_strict && cmp == 0)) break;
    }
    if (++*seen > cap) {
      *capped = true;
      break;
    }
    uint64_t id = store_get_be64(k + kl - 8), slot;
    if (idmap_get(&c->live, id, &slot) && slot < UINT32_MAX)
      roaring_bitmap_add(out, (uint32_t)slot);
  }
  int rc = store_iter_status(it, err);
  store_iter_destroy(it);
  return rc;
}

static const pidx_field *ready_field(coll *c, const char *key, engine_pindex_type t) {
  const pidx_field *f = find(c->pidx, key);
  return f && f->ready && f->type == t ? f : NULL;
}

int pidx_lookup(coll *c, const filter_term *t, uint64_t cap, roaring_bitmap_t *out, bool *usable,
                bool *capped, precis_error *err) {
  *usable = *capped = false;
  if (!pidx_active(c)) return PRECIS_OK;
  const pidx_field *f = NULL;
  uint64_t seen = 0;
  unsigned char lo[VAL_MAX], hi[VAL_MAX];
  int rc = PRECIS_OK;
  if (t->kind == ENGINE_FILTER_MATCH || t->kind == ENGINE_FILTER_ANY) {
    bool kw = t->kind == ENGINE_FILTER_MATCH ? t->vtype == ENGINE_FVAL_KEYWORD : t->n_keywords > 0;
    bool in = t->kind == ENGINE_FILTER_MATCH ? t->vtype == ENGINE_FVAL_INTEGER : t->n_integers > 0;
    if (kw && in) return PRECIS_OK; /* mixed any-of: two indexes, not planned */
    engine_pindex_type ty = kw   ? ENGINE_PINDEX_KEYWORD
                            : in ? ENGINE_PINDEX_INTEGER
                                 : ENGINE_PINDEX_BOOL;
    if (!(f = ready_field(c, t->key, ty))) return PRECIS_OK;
    size_t nv = t->kind == ENGINE_FILTER_MATCH ? 1 : kw ? t->n_keywords : t->n_integers;
    for (size_t i = 0; i < nv && !rc && !*capped; i++) {
      size_t l;
      if (ty == ENGINE_PINDEX_KEYWORD) {
        const char *s = t->kind == ENGINE_FILTER_MATCH ? t->keyword : t->keywords[i];
        size_t n = strlen(s);
        lo[0] = (unsigned char)(n >> 8), lo[1] = (unsigned char)n;
        memcpy(lo + 2, s, n);
        l = 2 + n;
      } else if (ty == ENGINE_PINDEX_INTEGER) {
        put_i64(lo, t->kind == ENGINE_FILTER_MATCH ? t->integer : t->integers[i]);
        l = 8;
      } else {
        lo[0] = t->flag ? 1 : 0;
        l = 1;
      }
      rc = c->pidx->mem
               ? pm_range(&f->pm, lo, l, false, NULL, 0, false, true, out, err)
               : scan_range(c, f, lo, l, false, NULL, 0, false, true, cap, &seen, out, capped, err);
    }
  } else if (t->kind == ENGINE_FILTER_RANGE || t->kind == ENGINE_FILTER_DATE_RANGE) {
    bool dates = t->kind == ENGINE_FILTER_DATE_RANGE;
    if (!(f = ready_field(c, t->key, dates ? ENGINE_PINDEX_DATETIME : ENGINE_PINDEX_FLOAT)))
      return PRECIS_OK;
    /* the tighter of each pair of bounds, strict when the strict one is
     * (the encodings order values exactly, so the answer is exact) */
    bool has_lo = t->has_gt || t->has_gte, has_hi = t->has_lt || t->has_lte;
    bool lo_strict, hi_strict;
    if (dates) {
      int64_t a = t->has_gt ? t->dgt : INT64_MIN, b = t->has_gte ? t->dgte : INT64_MIN;
      int64_t x = t->has_lt ? t->dlt : INT64_MAX, y = t->has_lte ? t->dlte : INT64_MAX;
      lo_strict = t->has_gt && (!t->has_gte || a >= b);
      hi_strict = t->has_lt && (!t->has_lte || x <= y);
      put_i64(lo, a > b ? a : b);
      put_i64(hi, x < y ? x : y);
    } else {
      double a = t->has_gt ? t->gt : -INFINITY, b = t->has_gte ? t->gte : -INFINITY;
      double x = t->has_lt ? t->lt : INFINITY, y = t->has_lte ? t->lte : INFINITY;
      lo_strict = t->has_gt && (!t->has_gte || a >= b);
      hi_strict = t->has_lt && (!t->has_lte || x <= y);
      put_f64(lo, a > b ? a : b);
      put_f64(hi, x < y ? x : y);
    }
    if (c->pidx->mem)
      rc = pm_range(&f->pm, lo, has_lo ? 8 : 0, has_lo && lo_strict, has_hi ? hi : NULL, 8,
                    hi_strict, false, out, err);
    else
      rc = scan_range(c, f, lo, has_lo ? 8 : 0, has_lo && lo_strict, has_hi ? hi : NULL, 8,
                      hi_strict, false, cap, &seen, out, capped, err);
  } else {
    return PRECIS_OK;
  }
  *usable = true;
  return rc;
}
