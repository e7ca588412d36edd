/* graph.c: edge storage, knowledge links, and the hooks that keep edges
 * consistent with point writes (see graph.h). */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll_internal.h"
#include "graph_internal.h"
#include "graph_snap.h"
#include "upkeep.h"
#include "valid.h"

size_t graph__edge_key(unsigned char *k, uint32_t cid, uint64_t a, const char *kind, size_t klen,
                       uint64_t b) {
  store_put_be32(k, cid);
  store_put_be64(k + 4, a);
  k[12] = (unsigned char)klen;
  memcpy(k + 13, kind, klen);
  store_put_be64(k + 13 + klen, b);
  return 21 + klen;
}

int graph__parse_key(const unsigned char *k, size_t kl, uint64_t *a, char *kind, uint64_t *b) {
  if (kl < 21 || k[12] > PRECIS_MAX_LINK_KIND_LEN || kl != 21u + k[12]) return -1;
  *a = store_get_be64(k + 4);
  memcpy(kind, k + 13, k[12]);
  kind[k[12]] = 0;
  *b = store_get_be64(k + 13 + k[12]);
  return 0;
}

/* kNN list entry: dst u64 LE | weight f32 LE */
#define KNN_ENTRY 12

static void knn_key(unsigned char *k, uint32_t cid, uint64_t src) {
  store_put_be32(k, cid);
  store_put_be64(k + 4, src);
  k[12] = 0;
}

int graph__entry_edges(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                       graph_edge_fn fn, void *ctx) {
  if (kl == 13 && k[12] == 0) { /* a kNN out-list */
    if (!vl || vl % KNN_ENTRY) return GRAPH_ENTRY_BAD;
    uint64_t src = store_get_be64(k + 4);
    for (size_t i = 0; i < vl; i += KNN_ENTRY) {
      float w;
      memcpy(&w, v + i + 8, 4);
      int r = fn(ctx, src, "", byte_get_le64(v + i), w);
      if (r) return r;
    }
    return 0;
  }
  uint64_t a, b;
  char kind[PRECIS_MAX_LINK_KIND_LEN + 1];
  if (graph__parse_key(k, kl, &a, kind, &b) || !kind[0] || vl != 4) return GRAPH_ENTRY_BAD;
  float w;
  memcpy(&w, v, 4);
  return fn(ctx, a, kind, b, w);
}

int graph__scan(store *st, const unsigned char *prefix, size_t pl, bool strict, graph_edge_fn fn,
                void *ctx, const char *what, precis_error *err) {
  store_iter *it = store_iter_create(st, STORE_CF_EDGE, prefix, pl);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "%s", what);
  int rc = PRECIS_OK;
  for (; store_iter_valid(it) && !rc; store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    const unsigned char *v = (const unsigned char *)store_iter_value(it, &vl);
    int r = graph__entry_edges(k, kl, v, vl, fn, ctx);
    if (r < 0)
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "%s", what);
    else if (r == GRAPH_ENTRY_BAD && strict)
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "%s: malformed edge entry", what);
    else if (r > GRAPH_ENTRY_BAD && strict)
      rc = PRECIS_E_CORRUPTION; /* fn set err */
  }
  if (!rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  return rc;
}

void graph__stage_counters(coll *c, store_batch *b) {
  unsigned char k[5], v[8];
  coll__meta_key(k, 'k', c->id);
  byte_put_le64(v, (uint64_t)((int64_t)c->knn_edges + c->pend_knn));
  store_batch_put(b, STORE_CF_META, k, 5, v, 8);
  coll__meta_key(k, 'l', c->id);
  byte_put_le64(v, (uint64_t)((int64_t)c->links + c->pend_links));
  store_batch_put(b, STORE_CF_META, k, 5, v, 8);
}

void graph__after_write(coll *c) {
  c->knn_edges = (uint64_t)((int64_t)c->knn_edges + c->pend_knn);
  c->links = (uint64_t)((int64_t)c->links + c->pend_links);
  c->pend_knn = c->pend_links = 0;
  gmem_commit(c->gm);
}

void graph__abort(coll *c) {
  c->pend_knn = c->pend_links = 0;
  gmem_discard(c->gm);
}

int graph__mem_ready(coll *c, precis_error *err) {
  if (gmem_usable(c->gm)) return PRECIS_OK;
  return gmem_load(c->gm, err);
}

int graph__write(coll *c, store_batch *b, size_t ops, precis_error *err) {
  graph__stage_counters(c, b);
  int rc = graph__stage_knn_lists(c, b, err);
  if (rc) return rc;
  gsnap_stage_log(c, b, c->seq + 1);
  coll__batch_counters(c, b, c->seq + 1, c->count);
  rc = store_write(c->st, b, err);
  if (rc) return rc;
  c->seq++;
  graph__after_write(c);
  upkeep_note_write(c, ops ? ops : 1);
  return PRECIS_OK;
}

/* Delete one edge in the batch and stage the counter. A kNN edge is only
 * staged: its list is written whole by graph__stage_knn_lists. */
void graph__batch_del_edge(coll *c, store_batch *b, uint64_t src, uint64_t dst, const char *kind,
                           size_t klen) {
  if (klen) {
    unsigned char k[64];
    size_t kl = graph__edge_key(k, c->id, src, kind, klen, dst);
    store_batch_delete(b, STORE_CF_EDGE, k, kl);
  }
  gmem_stage(c->gm, src, dst, kind, klen, 0, true);
  if (klen)
    c->pend_links--;
  else
    c->pend_knn--;
}

void graph__batch_put_edge(coll *c, store_batch *b, uint64_t src, uint64_t dst, const char *kind,
                           size_t klen, float w) {
  if (klen) { /* a kNN edge: as in graph__batch_del_edge */
    unsigned char k[64];
    size_t kl = graph__edge_key(k, c->id, src, kind, klen, dst);
    store_batch_put(b, STORE_CF_EDGE, k, kl, &w, sizeof w);
  }
  gmem_stage(c->gm, src, dst, kind, klen, w, false);
}

typedef struct {
  coll *c;
  store_batch *b;
  unsigned char *buf;
  size_t cap;
} knn_flush;

static int put_list(void *ctx, uint64_t src, const gmem_knn *e, size_t n) {
  knn_flush *f = ctx;
  unsigned char k[13];
  knn_key(k, f->c->id, src);
  if (!n) {
    store_batch_delete(f->b, STORE_CF_EDGE, k, 13);
    return 0;
  }
  if (n * KNN_ENTRY > f->cap) {
    unsigned char *p = realloc(f->buf, n * KNN_ENTRY);
    if (!p) return -1;
    f->buf = p;
    f->cap = n * KNN_ENTRY;
  }
  for (size_t i = 0; i < n; i++) {
    byte_put_le64(f->buf + i * KNN_ENTRY, e[i].dst);
    memcpy(f->buf + i * KNN_ENTRY + 8, &e[i].w, 4);
  }
  store_batch_put(f->b, STORE_CF_EDGE, k, 13, f->buf, n * KNN_ENTRY);
  return 0;
}

int graph__stage_knn_lists(coll *c, store_batch *b, precis_error *err) {
  knn_flush f = {c, b, NULL, 0};
  int r = gmem_staged_knn(c->gm, put_list, &f);
  free(f.buf);
  return r ? precis_error_set(err, PRECIS_E_NO_MEMORY, "kNN lists") : PRECIS_OK;
}

int graph__migrate_knn_lists(store *st, store_batch *b, precis_error *err) {
  store_iter *it = store_iter_create(st, STORE_CF_EDGE, "", 0);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "format migration");
  unsigned char *buf = NULL, cur[12];
  size_t len = 0, cap = 0;
  int rc = PRECIS_OK;
  for (bool more = true; more && !rc;) {
    more = store_iter_valid(it);
    size_t kl = 0, vl = 0;
    const unsigned char *k = more ? (const unsigned char *)store_iter_key(it, &kl) : NULL;
    const unsigned char *v = more ? (const unsigned char *)store_iter_value(it, &vl) : NULL;
    bool knn = more && kl == 21 && k[12] == 0; /* format 2: cid|src|0|dst -> weight */
    if (knn && vl != 4) {
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "format migration: malformed kNN edge");
      break;
    }
    if (len && (!knn || memcmp(k, cur, 12))) { /* the previous point's list is complete */
      unsigned char lk[13];
      memcpy(lk, cur, 12);
      lk[12] = 0;
      store_batch_put(b, STORE_CF_EDGE, lk, 13, buf, len);
      len = 0;
    }
    if (!knn) {
      if (more) store_iter_next(it);
      continue;
    }
    if (len + KNN_ENTRY > cap) {
      size_t nc = cap ? 2 * cap : 64 * KNN_ENTRY;
      unsigned char *p = realloc(buf, nc);
      if (!p) {
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "format migration");
        break;
      }
      buf = p;
      cap = nc;
    }
    memcpy(cur, k, 12);
    uint64_t dst = store_get_be64(k + 13);
    byte_put_le64(buf + len, dst);
    memcpy(buf + len + 8, v, 4);
    len += KNN_ENTRY;
    store_batch_delete(b, STORE_CF_EDGE, k, kl);
    store_iter_next(it);
  }
  if (!rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  free(buf);
  return rc;
}

/* Delete every edge of `id` in both directions. `skip` (may be NULL) holds
 * ids whose edges are deleted by the same batch already (no double count).
 * Staging only queues changes, so the lists read here stay as they are. */
static void delete_edges_of(coll *c, store_batch *b, uint64_t id, const idmap *skip) {
  for (int dir = 0; dir < 2; dir++) {
    size_t n;
    const gmem_edge *e = dir ? gmem_in(c->gm, id, &n) : gmem_out(c->gm, id, &n);
    for (size_t i = 0; i < n; i++) {
      uint64_t other = gmem_node_id(c->gm, e[i].node);
      char kind[PRECIS_MAX_LINK_KIND_LEN + 1];
      snprintf(kind, sizeof kind, "%s", gmem_kind_name(c->gm, e[i].kind));
      /* an edge between two deleted points is seen from both; count it once */
      if (skip && idmap_get(skip, other, NULL) && (other < id || (other == id && dir))) continue;
      if (dir)
        graph__batch_del_edge(c, b, other, id, kind, strlen(kind));
      else
        graph__batch_del_edge(c, b, id, other, kind, strlen(kind));
    }
  }
}

int graph__on_delete(coll *c, store_batch *b, const uint64_t *ids, size_t n, precis_error *err) {
  idmap set;
  idmap_init(&set);
  int rc = graph__mem_ready(c, err);
  for (size_t i = 0; i < n && !rc; i++)
    if (idmap_put(&set, ids[i], 1)) rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "delete");
  for (size_t i = 0; i < n && !rc; i++) delete_edges_of(c, b, ids[i], &set);
  idmap_free(&set);
  if (!rc) rc = graph__stage_knn_lists(c, b, err);
  if (!rc)
    graph__stage_counters(c, b);
  else
    graph__abort(c);
  return rc;
}

int graph_check_kind(const char *kind, precis_error *err) {
  size_t n = kind ? strlen(kind) : 0;
  if (n < 1 || n > PRECIS_MAX_LINK_KIND_LEN)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "link kind must be 1..%d characters",
                            PRECIS_MAX_LINK_KIND_LEN);
  if (!valid_name_chars(kind, n, true))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "link kind may hold only [A-Za-z0-9_.:-]");
  if (!strcmp(kind, "knn"))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "link kind \"knn\" is reserved");
  return PRECIS_OK;
}

static int edge_exists(coll *c, uint64_t src, uint64_t dst, const char *kind, size_t klen,
                       bool *exists, precis_error *err) {
  int rc = graph__mem_ready(c, err);
  if (!rc) *exists = gmem_has(c->gm, src, dst, kind, klen);
  return rc;
}

/* In-batch duplicates: order of links by (src, dst, kind), then position. */
static _Thread_local const engine_edge *g_sort_links;
static int cmp_link_pos(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  const engine_edge *x = &g_sort_links[i], *y = &g_sort_links[j];
  if (x->src != y->src) return x->src < y->src ? -1 : 1;
  if (x->dst != y->dst) return x->dst < y->dst ? -1 : 1;
  int k = strcmp(x->kind, y->kind);
  if (k) return k;
  return i < j ? -1 : i > j;
}

/* dup[i]: links[i] repeats an earlier link of the batch (exact keys). */
static int mark_duplicates(const engine_edge *links, size_t n, bool *dup) {
  size_t *ord = malloc(n * sizeof *ord);
  if (!ord) return -1;
  for (size_t i = 0; i < n; i++) ord[i] = i;
  /* qsort has no context argument: the links go through a thread-local */
  g_sort_links = links;
  qsort(ord, n, sizeof *ord, cmp_link_pos);
  for (size_t r = 0; r < n; r++) {
    dup[ord[r]] = false;
    if (r > 0) {
      const engine_edge *x = &links[ord[r - 1]], *y = &links[ord[r]];
      dup[ord[r]] = x->src == y->src && x->dst == y->dst && !strcmp(x->kind, y->kind);
    }
  }
  free(ord);
  return 0;
}

int graph_links_change(coll *c, const engine_edge *links, size_t n, bool add, size_t *changed,
                       precis_error *err) {
  if (changed) *changed = 0;
  if (n == 0 || n > PRECIS_MAX_BATCH)
    return precis_error_set(err, n ? PRECIS_E_OUT_OF_RANGE : PRECIS_E_INVALID_ARGUMENT,
                            "a link batch holds 1..%d links, got %zu", PRECIS_MAX_BATCH, n);
  for (size_t i = 0; i < n; i++) {
    int rc = graph_check_kind(links[i].kind, err);
    if (rc) return rc;
    if (add && (!isfinite(links[i].weight) || links[i].weight <= 0 || links[i].weight > 1))
      return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "link #%zu: weight must be in (0, 1]", i);
  }
  store_batch *b = store_batch_create(c->st);
  bool *dups = malloc(n * sizeof *dups); /* duplicates inside the batch count once */
  if (!b || !dups || mark_duplicates(links, n, dups)) {
    store_batch_destroy(b);
    free(dups);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "links");
  }
  int rc = PRECIS_OK;
  size_t done = 0;
  pthread_rwlock_wrlock(&c->lock);
  for (size_t i = 0; i < n && !rc; i++) {
    const engine_edge *l = &links[i];
    size_t klen = strlen(l->kind);
    if (add && (!idmap_get(&c->live, l->src, NULL) || !idmap_get(&c->live, l->dst, NULL))) {
      rc = precis_error_set(
          err, PRECIS_E_NOT_FOUND, "link #%zu %llu -> %llu: %llu is not a point", i,
          (unsigned long long)l->src, (unsigned long long)l->dst,
          (unsigned long long)(idmap_get(&c->live, l->src, NULL) ? l->dst : l->src));
      break;
    }
    bool exists = false;
    if ((rc = edge_exists(c, l->src, l->dst, l->kind, klen, &exists, err))) break;
    bool dup = dups[i];
    if (add) {
      graph__batch_put_edge(c, b, l->src, l->dst, l->kind, klen, l->weight);
      if (!exists && !dup) {
        c->pend_links++;
        done++;
      }
    } else if (exists && !dup) {
      graph__batch_del_edge(c, b, l->src, l->dst, l->kind, klen);
      done++;
    }
  }
  bool write = !rc && (done || add); /* add with nothing new: re-weighting only */
  if (write) rc = graph__write(c, b, done, err);
  if (rc) graph__abort(c);
  bool upkeep = write && !rc && (c->rebuild_due || c->save_due);
  pthread_rwlock_unlock(&c->lock);
  if (upkeep) upkeep_run(c);
  store_batch_destroy(b);
  free(dups);
  if (!rc && changed) *changed = done;
  return rc;
}

/* The edges graph_edges_list returns, with its kind filter. */
typedef struct {
  engine_edge *e;
  size_t len, cap;
  unsigned kinds;
  const char *kind;
} edge_out;

/* Append src -[kd]-> dst when the filter takes it; -1: out of memory. */
static int edge_out_add(edge_out *o, uint64_t src, uint64_t dst, const char *kd, float w) {
  bool is_knn = kd[0] == 0;
  if (is_knn ? !(o->kinds & ENGINE_EDGE_KNN) : !(o->kinds & ENGINE_EDGE_LINKS)) return 0;
  if (!is_knn && o->kind && *o->kind && strcmp(o->kind, kd)) return 0;
  if (o->len == o->cap) {
    size_t cap = 2 * o->cap;
    engine_edge *p = realloc(o->e, cap * sizeof *p);
    if (!p) return -1;
    o->e = p;
    o->cap = cap;
  }
  engine_edge *x = &o->e[o->len++];
  x->src = src;
  x->dst = dst;
  snprintf(x->kind, sizeof x->kind, "%s", is_knn ? "knn" : kd);
  x->weight = w;
  return 0;
}

/* In-edges in the order of their former reverse keys: kind length, kind,
 * source. */
static int in_edge_cmp(const void *pa, const void *pb) {
  const engine_edge *a = pa, *b = pb;
  bool ka = !strcmp(a->kind, "knn"), kb = !strcmp(b->kind, "knn");
  size_t la = ka ? 0 : strlen(a->kind), lb = kb ? 0 : strlen(b->kind);
  if (la != lb) return la < lb ? -1 : 1;
  int c = ka ? 0 : strcmp(a->kind, b->kind);
  if (c) return c;
  return a->src < b->src ? -1 : a->src > b->src;
}

typedef struct {
  edge_out *o;
  bool dst_any;
  uint64_t dst;
} scan_ctx;

static int scan_one(void *ctx, uint64_t src, const char *kind, uint64_t dst, float w) {
  scan_ctx *s = ctx;
  if (!s->dst_any && dst != s->dst) return 0;
  return edge_out_add(s->o, src, dst, kind, w) ? -1 : 0;
}

/* Edges under `prefix` of EDGE (the collection's 4 bytes: all of them, or
 * with a source id: its out-edges); only those into `dst` unless dst_any.
 * Malformed entries are skipped (the graph check reports them). */
static int scan_edges(coll *c, const unsigned char *prefix, size_t pl, bool dst_any, uint64_t dst,
                      edge_out *o, precis_error *err) {
  scan_ctx sc = {o, dst_any, dst};
  return graph__scan(c->st, prefix, pl, false, scan_one, &sc, "edges", err);
}

int graph_edges_list(coll *c, uint64_t id, unsigned kinds, const char *kind, unsigned dirs,
                     engine_edge **out, size_t *n, precis_error *err) {
  if (kind && *kind && graph_check_kind(kind, err))
    return err ? err->code : PRECIS_E_INVALID_ARGUMENT;
  if (!kinds) kinds = ENGINE_EDGE_KNN | ENGINE_EDGE_LINKS;
  if (!dirs) dirs = ENGINE_DIR_OUT | ENGINE_DIR_IN; /* as on the wire */
  edge_out o = {malloc(16 * sizeof(engine_edge)), 0, 16, kinds, kind};
  if (!o.e) return precis_error_set(err, PRECIS_E_NO_MEMORY, "edges");
  int rc = PRECIS_OK;
  pthread_rwlock_rdlock(&c->lock);
  if (!idmap_get(&c->live, id, NULL)) {
    rc = precis_error_set(err, PRECIS_E_NOT_FOUND, "point %llu not found", (unsigned long long)id);
    goto out;
  }
  unsigned char prefix[12];
  store_put_be32(prefix, c->id);
  store_put_be64(prefix + 4, id);
  if (dirs & ENGINE_DIR_OUT) rc = scan_edges(c, prefix, 12, true, 0, &o, err);
  if (!rc && (dirs & ENGINE_DIR_IN)) {
    size_t first = o.len;
    if (gmem_usable(c->gm)) { /* the in-list of the copy in memory */
      size_t ne;
      const gmem_edge *e = gmem_in(c->gm, id, &ne);
      for (size_t i = 0; i < ne && !rc; i++)
        if (edge_out_add(&o, gmem_node_id(c->gm, e[i].node), id, gmem_kind_name(c->gm, e[i].kind),
                         e[i].w))
          rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "edges");
    } else { /* the copy could not be loaded (out of memory): scan the store */
      rc = scan_edges(c, prefix, 4, false, id, &o, err);
    }
    if (!rc) qsort(o.e + first, o.len - first, sizeof *o.e, in_edge_cmp);
  }
out:
  pthread_rwlock_unlock(&c->lock);
  if (rc) {
    free(o.e);
    return rc;
  }
  *out = o.e;
  *n = o.len;
  return PRECIS_OK;
}
