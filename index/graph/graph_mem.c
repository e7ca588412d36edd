/* graph_mem.c: the in-memory copy of a collection's edges (graph_mem.h). */
#include "graph_mem.h"

#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"
#include "idmap.h"
#include "precis/limits.h"

typedef struct {
  gmem_edge *e;
  uint32_t n, cap;
} gm_list;

typedef struct {
  uint64_t src, dst;
  uint32_t kind;
  float w;
  bool del;
} gm_op;

typedef char gm_kind[PRECIS_MAX_LINK_KIND_LEN + 1];

struct gmem {
  store *st;
  uint32_t cid;
  idmap node;    /* point id -> node */
  uint64_t *ids; /* node -> point id */
  gm_list *out, *in;
  size_t nnodes, ncap;
  gm_kind *kinds;
  uint32_t nkinds, kcap;
  idmap kind_of; /* hash of a kind name -> kind (collisions: linear) */
  gm_op *pend;
  size_t npend, pcap;
  bool pend_oom; /* staging lost an op: reload at commit */
  bool broken;   /* the copy is incomplete until a reload succeeds */
};

static uint64_t kind_hash(const char *k, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 0x100000001b3ULL;
  return h;
}

static void clear(gmem *g) {
  for (size_t i = 0; i < g->nnodes; i++) {
    free(g->out[i].e);
    free(g->in[i].e);
  }
  free(g->out);
  free(g->in);
  free(g->ids);
  g->out = g->in = NULL;
  g->ids = NULL;
  g->nnodes = g->ncap = 0;
  idmap_free(&g->node);
  idmap_init(&g->node);
}

gmem *gmem_create(store *st, uint32_t cid) {
  gmem *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->st = st;
  g->cid = cid;
  idmap_init(&g->node);
  idmap_init(&g->kind_of);
  g->kinds = calloc(8, sizeof *g->kinds);
  if (!g->kinds) {
    free(g);
    return NULL;
  }
  g->kcap = 8;
  g->nkinds = 1; /* kind 0: kNN, the empty name */
  return g;
}

void gmem_destroy(gmem *g) {
  if (!g) return;
  clear(g);
  idmap_free(&g->node);
  idmap_free(&g->kind_of);
  free(g->kinds);
  free(g->pend);
  free(g);
}

/* Intern a kind; UINT32_MAX when out of memory. */
static uint32_t intern(gmem *g, const char *k, size_t n) {
  if (n == 0) return 0;
  uint64_t h = kind_hash(k, n), at;
  if (idmap_get(&g->kind_of, h, &at) && strlen(g->kinds[at]) == n && !memcmp(g->kinds[at], k, n))
    return (uint32_t)at;
  for (uint32_t i = 1; i < g->nkinds; i++) /* a hash collision */
    if (strlen(g->kinds[i]) == n && !memcmp(g->kinds[i], k, n)) return i;
  if (g->nkinds == g->kcap) {
    gm_kind *p = realloc(g->kinds, 2 * (size_t)g->kcap * sizeof *p);
    if (!p) return UINT32_MAX;
    g->kinds = p;
    g->kcap *= 2;
  }
  memcpy(g->kinds[g->nkinds], k, n);
  g->kinds[g->nkinds][n] = 0;
  if (!idmap_get(&g->kind_of, h, NULL) && idmap_put(&g->kind_of, h, g->nkinds)) return UINT32_MAX;
  return g->nkinds++;
}

/* Node of id, created when absent; UINT32_MAX when out of memory. */
static uint32_t node_of(gmem *g, uint64_t id) {
  uint64_t at;
  if (idmap_get(&g->node, id, &at)) return (uint32_t)at;
  if (g->nnodes >= UINT32_MAX - 1) return UINT32_MAX;
  if (g->nnodes == g->ncap) {
    size_t cap = g->ncap ? 2 * g->ncap : 1024;
    uint64_t *ids = realloc(g->ids, cap * sizeof *ids);
    if (!ids) return UINT32_MAX;
    g->ids = ids;
    gm_list *o = realloc(g->out, cap * sizeof *o);
    if (!o) return UINT32_MAX;
    g->out = o;
    gm_list *i = realloc(g->in, cap * sizeof *i);
    if (!i) return UINT32_MAX;
    g->in = i;
    g->ncap = cap;
  }
  if (idmap_put(&g->node, id, g->nnodes)) return UINT32_MAX;
  g->ids[g->nnodes] = id;
  g->out[g->nnodes] = (gm_list){0};
  g->in[g->nnodes] = (gm_list){0};
  return (uint32_t)g->nnodes++;
}

static int list_append(gm_list *l, uint32_t node, uint32_t kind, float w) {
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? 2 * l->cap : 4;
    gmem_edge *p = realloc(l->e, cap * sizeof *p);
    if (!p) return -1;
    l->e = p;
    l->cap = cap;
  }
  l->e[l->n++] = (gmem_edge){node, kind, w};
  return 0;
}

/* Put: re-weight the entry when present, else append. */
static int list_put(gm_list *l, uint32_t node, uint32_t kind, float w) {
  for (uint32_t i = 0; i < l->n; i++)
    if (l->e[i].node == node && l->e[i].kind == kind) {
      l->e[i].w = w;
      return 0;
    }
  return list_append(l, node, kind, w);
}

static void list_del(gm_list *l, uint32_t node, uint32_t kind) {
  for (uint32_t i = 0; i < l->n; i++)
    if (l->e[i].node == node && l->e[i].kind == kind) {
      l->e[i] = l->e[--l->n];
      return;
    }
}

static int apply(gmem *g, const gm_op *op) {
  if (op->del) {
    uint64_t s, d;
    if (!idmap_get(&g->node, op->src, &s) || !idmap_get(&g->node, op->dst, &d)) return 0;
    list_del(&g->out[s], (uint32_t)d, op->kind);
    list_del(&g->in[d], (uint32_t)s, op->kind);
    return 0;
  }
  uint32_t s = node_of(g, op->src);
  if (s == UINT32_MAX) return -1;
  uint32_t d = node_of(g, op->dst);
  if (d == UINT32_MAX) return -1;
  if (list_put(&g->out[s], d, op->kind, op->w)) return -1;
  return list_put(&g->in[d], s, op->kind, op->w);
}

/* Edges of one EDGE entry into the lists (a graph__entry_edges callback).
 * put_in: re-weight an in-list entry when present (a reload) instead of
 * appending (a load: every edge is stored once). -1 when out of memory. */
typedef struct {
  gmem *g;
  bool put_in;
} load_ctx;

static int load_one(void *ctx, uint64_t src, const char *kind, uint64_t dst, float w) {
  load_ctx *lc = ctx;
  gmem *g = lc->g;
  uint32_t kd = intern(g, kind, strlen(kind));
  if (kd == UINT32_MAX) return -1;
  uint32_t s = node_of(g, src);
  if (s == UINT32_MAX) return -1;
  uint32_t d = node_of(g, dst);
  if (d == UINT32_MAX) return -1;
  /* node_of may move the lists: take the addresses after it */
  if (list_append(&g->out[s], d, kd, w)) return -1;
  return (lc->put_in ? list_put(&g->in[d], s, kd, w) : list_append(&g->in[d], s, kd, w)) ? -1 : 0;
}

/* Every entry under `prefix` of EDGE into the lists; malformed entries are
 * skipped (gmem_check reports them). */
static int load_prefix(gmem *g, const unsigned char *prefix, size_t pl, bool put_in,
                       precis_error *err) {
  load_ctx lc = {g, put_in};
  return graph__scan(g->st, prefix, pl, false, load_one, &lc, "graph in memory", err);
}

int gmem_load(gmem *g, precis_error *err) {
  clear(g);
  g->broken = true;
  unsigned char prefix[4];
  store_put_be32(prefix, g->cid);
  int rc = load_prefix(g, prefix, 4, false, err);
  if (!rc) g->broken = false;
  return rc;
}

void gmem_stage(gmem *g, uint64_t src, uint64_t dst, const char *kind, size_t klen, float w,
                bool del) {
  if (g->pend_oom) return;
  uint32_t kd = intern(g, kind, klen);
  if (kd == UINT32_MAX) {
    g->pend_oom = true;
    return;
  }
  if (g->npend == g->pcap) {
    size_t cap = g->pcap ? 2 * g->pcap : 256;
    gm_op *p = realloc(g->pend, cap * sizeof *p);
    if (!p) {
      g->pend_oom = true;
      return;
    }
    g->pend = p;
    g->pcap = cap;
  }
  g->pend[g->npend++] = (gm_op){src, dst, kd, w, del};
}

void gmem_discard(gmem *g) {
  g->npend = 0;
  g->pend_oom = false;
}

void gmem_commit(gmem *g) {
  bool reload = g->pend_oom || g->broken;
  for (size_t i = 0; i < g->npend && !reload; i++)
    if (apply(g, &g->pend[i])) reload = true;
  gmem_discard(g);
  if (g->pcap > 65536) { /* a bulk batch: do not keep its staging area */
    free(g->pend);
    g->pend = NULL;
    g->pcap = 0;
  }
  if (reload) gmem_load(g, NULL);
}

bool gmem_usable(const gmem *g) { return !g->broken; }

const gmem_edge *gmem_out(const gmem *g, uint64_t id, size_t *n) {
  uint64_t at;
  if (!idmap_get(&g->node, id, &at)) {
    *n = 0;
    return NULL;
  }
  *n = g->out[at].n;
  return g->out[at].e;
}

const gmem_edge *gmem_in(const gmem *g, uint64_t id, size_t *n) {
  uint64_t at;
  if (!idmap_get(&g->node, id, &at)) {
    *n = 0;
    return NULL;
  }
  *n = g->in[at].n;
  return g->in[at].e;
}

bool gmem_has(const gmem *g, uint64_t src, uint64_t dst, const char *kind, size_t klen) {
  uint64_t s, d;
  if (!idmap_get(&g->node, src, &s) || !idmap_get(&g->node, dst, &d)) return false;
  const gm_list *l = &g->out[s];
  for (uint32_t i = 0; i < l->n; i++) {
    if (l->e[i].node != d) continue;
    const char *k = g->kinds[l->e[i].kind];
    if (strlen(k) == klen && !memcmp(k, kind, klen)) return true;
  }
  return false;
}

uint64_t gmem_node_id(const gmem *g, uint32_t node) { return g->ids[node]; }
bool gmem_node(const gmem *g, uint64_t id, uint32_t *node) {
  uint64_t at;
  if (!idmap_get(&g->node, id, &at)) return false;
  *node = (uint32_t)at;
  return true;
}
uint32_t gmem_nkinds(const gmem *g) { return g->nkinds; }
const char *gmem_kind_name(const gmem *g, uint32_t kind) { return g->kinds[kind]; }

size_t gmem_bytes(const gmem *g) {
  size_t b = sizeof *g + g->ncap * (sizeof(uint64_t) + 2 * sizeof(gm_list)) +
             g->node.cap * (2 * sizeof(uint64_t) + 1) + g->kcap * sizeof(gm_kind) +
             g->pcap * sizeof(gm_op);
  for (size_t i = 0; i < g->nnodes; i++)
    b += ((size_t)g->out[i].cap + g->in[i].cap) * sizeof(gmem_edge);
  return b;
}

/* Find (node, kind) in a list and compare its weight. */
static bool list_has(const gm_list *l, uint32_t node, uint32_t kind, float w) {
  for (uint32_t i = 0; i < l->n; i++)
    if (l->e[i].node == node && l->e[i].kind == kind) return memcmp(&l->e[i].w, &w, 4) == 0;
  return false;
}

typedef struct {
  gmem *g;
  size_t seen;
  precis_error *err;
} check_ctx;

/* Every stored edge is in its source's out-list and its target's in-list. */
static int check_one(void *ctx, uint64_t a, const char *kind, uint64_t b, float w) {
  check_ctx *cc = ctx;
  gmem *g = cc->g;
  uint32_t kd = UINT32_MAX;
  for (uint32_t i = 0; i < g->nkinds; i++)
    if (!strcmp(g->kinds[i], kind)) {
      kd = i;
      break;
    }
  uint64_t na, nb;
  bool ok = kd != UINT32_MAX && idmap_get(&g->node, a, &na) && idmap_get(&g->node, b, &nb);
  const char *where = "the out-list";
  if (ok && !list_has(&g->out[na], (uint32_t)nb, kd, w))
    ok = false;
  else if (ok && !list_has(&g->in[nb], (uint32_t)na, kd, w))
    ok = false, where = "the in-list";
  cc->seen++;
  if (ok) return 0;
  precis_error_set(cc->err, PRECIS_E_CORRUPTION,
                   "graph check: edge %llu -[%s]-> %llu (weight %g) missing in %s in memory",
                   (unsigned long long)a, kind[0] ? kind : "knn", (unsigned long long)b, (double)w,
                   where);
  return 2;
}

int gmem_check(gmem *g, precis_error *err) {
  if (g->broken) return precis_error_set(err, PRECIS_E_CORRUPTION, "graph in memory: unusable");
  unsigned char prefix[4];
  store_put_be32(prefix, g->cid);
  check_ctx cc = {g, 0, err};
  int rc = graph__scan(g->st, prefix, 4, true, check_one, &cc, "graph check", err);
  if (rc) return rc;
  size_t nout = 0, nin = 0;
  for (size_t i = 0; i < g->nnodes; i++) {
    nout += g->out[i].n;
    nin += g->in[i].n;
  }
  if (nout != cc.seen || nin != cc.seen)
    return precis_error_set(err, PRECIS_E_CORRUPTION,
                            "graph check: memory holds %zu out- and %zu in-edges, RocksDB %zu "
                            "edges",
                            nout, nin, cc.seen);
  return PRECIS_OK;
}

/* ---- staged kNN lists (graph__stage_knn_lists) ---- */

static int knn_by_dst(const void *a, const void *b) {
  uint64_t x = ((const gmem_knn *)a)->dst, y = ((const gmem_knn *)b)->dst;
  return x < y ? -1 : x > y;
}

/* A staged kNN op: its source and its place in staging order. */
typedef struct {
  uint64_t src;
  size_t i;
} op_ref;

static int by_src(const void *pa, const void *pb) {
  const op_ref *a = pa, *b = pb;
  if (a->src != b->src) return a->src < b->src ? -1 : 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

int gmem_staged_knn(const gmem *g, int (*fn)(void *ctx, uint64_t src, const gmem_knn *e, size_t n),
                    void *ctx) {
  if (g->pend_oom || g->broken) return -1;
  size_t m = 0;
  for (size_t i = 0; i < g->npend; i++) m += g->pend[i].kind == 0;
  if (!m) return 0;
  op_ref *ix = malloc(m * sizeof *ix);
  gmem_knn *l = NULL;
  size_t cap = 0;
  int rc = ix ? 0 : -1;
  if (!rc) {
    m = 0;
    for (size_t i = 0; i < g->npend; i++)
      if (g->pend[i].kind == 0) ix[m++] = (op_ref){g->pend[i].src, i};
    qsort(ix, m, sizeof *ix, by_src);
  }
  for (size_t a = 0; a < m && !rc;) {
    uint64_t src = ix[a].src;
    size_t z = a;
    while (z < m && ix[z].src == src) z++;
    /* the list now: its kNN out-edges in memory */
    size_t n = 0, ne = 0;
    const gmem_edge *e = gmem_out(g, src, &ne);
    size_t need = ne + (z - a);
    if (need > cap) {
      gmem_knn *p = realloc(l, need * sizeof *p);
      if (!p) {
        rc = -1;
        break;
      }
      l = p;
      cap = need;
    }
    for (size_t i = 0; i < ne; i++)
      if (e[i].kind == 0) l[n++] = (gmem_knn){g->ids[e[i].node], e[i].w};
    /* then its staged changes, in order */
    for (size_t t = a; t < z; t++) {
      const gm_op *op = &g->pend[ix[t].i];
      size_t at = n;
      for (size_t i = 0; i < n; i++)
        if (l[i].dst == op->dst) {
          at = i;
          break;
        }
      if (op->del) {
        if (at < n) l[at] = l[--n];
      } else if (at < n) {
        l[at].w = op->w;
      } else {
        l[n++] = (gmem_knn){op->dst, op->w};
      }
    }
    qsort(l, n, sizeof *l, knn_by_dst);
    rc = fn(ctx, src, l, n);
    a = z;
  }
  free(ix);
  free(l);
  return rc;
}

/* ---- snapshot body and replay (graph_snap.c, docs/STORAGE.md) ---- */

int gmem_staged_ids(const gmem *g, uint64_t **ids, size_t *n) {
  *ids = NULL;
  *n = 0;
  if (g->pend_oom) return -1;
  if (!g->npend) return 0;
  idmap seen;
  idmap_init(&seen);
  uint64_t *v = malloc(2 * g->npend * sizeof *v);
  int rc = v ? 0 : -1;
  size_t m = 0;
  for (size_t i = 0; i < g->npend && !rc; i++) {
    uint64_t end[2] = {g->pend[i].src, g->pend[i].dst};
    for (int j = 0; j < 2 && !rc; j++) {
      if (idmap_get(&seen, end[j], NULL)) continue;
      if (idmap_put(&seen, end[j], 1)) rc = -1;
      v[m++] = end[j];
    }
  }
  idmap_free(&seen);
  if (rc) {
    free(v);
    return -1;
  }
  *ids = v;
  *n = m;
  return 0;
}

size_t gmem_encoded_size(const gmem *g) {
  size_t b = 4 + 16;
  for (uint32_t k = 0; k < g->nkinds; k++) b += 1 + strlen(g->kinds[k]);
  for (size_t i = 0; i < g->nnodes; i++) b += 12 + 12 * (size_t)g->out[i].n;
  return b;
}

void gmem_encode(const gmem *g, unsigned char *p) {
  byte_put_le32(p, g->nkinds);
  p += 4;
  for (uint32_t k = 0; k < g->nkinds; k++) {
    size_t n = strlen(g->kinds[k]);
    *p++ = (unsigned char)n;
    memcpy(p, g->kinds[k], n);
    p += n;
  }
  uint64_t nedges = 0;
  for (size_t i = 0; i < g->nnodes; i++) nedges += g->out[i].n;
  byte_put_le64(p, g->nnodes);
  byte_put_le64(p + 8, nedges);
  p += 16;
  for (size_t i = 0; i < g->nnodes; i++) {
    const gm_list *l = &g->out[i];
    byte_put_le64(p, g->ids[i]);
    byte_put_le32(p + 8, l->n);
    p += 12;
    for (uint32_t j = 0; j < l->n; j++, p += 12) {
      byte_put_le32(p, l->e[j].node);
      byte_put_le32(p + 4, l->e[j].kind);
      byte_put_lef32(p + 8, l->e[j].w);
    }
  }
}

/* Decode into the (cleared) copy; -1 with *what set when malformed. */
static int decode(gmem *g, const unsigned char *p, size_t n, const char **what) {
  const unsigned char *end = p + n;
  *what = "truncated";
  if (n < 4) return -1;
  uint32_t nk = byte_get_le32(p);
  p += 4;
  if (nk < 1 || nk > (size_t)(end - p)) return -1;
  for (uint32_t k = 0; k < nk; k++) {
    if (p >= end) return -1;
    size_t kl = *p++;
    if (kl > PRECIS_MAX_LINK_KIND_LEN || kl > (size_t)(end - p)) return -1;
    *what = "bad kinds table";
    if ((k == 0) != (kl == 0) || memchr(p, 0, kl)) return -1;
    uint32_t got = intern(g, (const char *)p, kl);
    *what = "out of memory";
    if (got == UINT32_MAX) return -1;
    *what = "duplicate kind";
    if (got != k) return -1;
    p += kl;
    *what = "truncated";
  }
  if ((size_t)(end - p) < 16) return -1;
  uint64_t nn = byte_get_le64(p), ne = byte_get_le64(p + 8), seen = 0;
  p += 16;
  if (nn > (size_t)(end - p) / 12 || nn >= UINT32_MAX - 1) return -1;
  /* first pass: the nodes, so that edges may point forward */
  const unsigned char *q = p;
  for (uint64_t i = 0; i < nn; i++) {
    *what = "truncated";
    if ((size_t)(end - q) < 12) return -1;
    uint64_t id = byte_get_le64(q);
    uint32_t no = byte_get_le32(q + 8);
    q += 12;
    if (no > (size_t)(end - q) / 12) return -1;
    q += 12 * (size_t)no;
    *what = "duplicate node";
    if (idmap_get(&g->node, id, NULL)) return -1;
    *what = "out of memory";
    if (node_of(g, id) != i) return -1;
    seen += no;
  }
  *what = "edge count or length does not match";
  if (q != end || seen != ne) return -1;
  for (uint64_t i = 0; i < nn; i++) {
    uint32_t no = byte_get_le32(p + 8);
    p += 12;
    gm_list *l = &g->out[i];
    *what = "out of memory";
    if (no && !(l->e = malloc(no * sizeof *l->e))) return -1;
    l->cap = no;
    for (uint32_t j = 0; j < no; j++, p += 12) {
      gmem_edge e = {byte_get_le32(p), byte_get_le32(p + 4), byte_get_lef32(p + 8)};
      *what = "edge out of range";
      if (e.node >= nn || e.kind >= nk) return -1;
      l->e[l->n++] = e;
      *what = "out of memory";
      if (list_append(&g->in[e.node], (uint32_t)i, e.kind, e.w)) return -1;
    }
  }
  return 0;
}

int gmem_decode(gmem *g, const unsigned char *p, size_t n, precis_error *err) {
  clear(g);
  for (uint32_t k = 1; k < g->nkinds; k++) g->kinds[k][0] = 0;
  g->nkinds = 1;
  idmap_free(&g->kind_of);
  idmap_init(&g->kind_of);
  const char *what;
  int rc = decode(g, p, n, &what);
  g->broken = rc != 0;
  if (rc) return precis_error_set(err, PRECIS_E_CORRUPTION, "graph snapshot body: %s", what);
  return PRECIS_OK;
}

int gmem_reload_ids(gmem *g, const uint64_t *ids, size_t n, precis_error *err) {
  /* Every edge changed since the snapshot has both ends among ids (the
   * replay log records them), so an in-list entry from a point outside ids
   * is current. For each id: drop its old out-edges from their targets'
   * in-lists, then read its out-edges from RocksDB and enter each in its
   * target's in-list. In-lists are never read from RocksDB (there is no
   * reverse index since format 3). */
  int rc = PRECIS_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    uint32_t x = node_of(g, ids[i]);
    if (x == UINT32_MAX) {
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "graph in memory");
      break;
    }
    gm_list *l = &g->out[x];
    for (uint32_t j = 0; j < l->n; j++) list_del(&g->in[l->e[j].node], x, l->e[j].kind);
    l->n = 0;
    unsigned char prefix[12];
    store_put_be32(prefix, g->cid);
    store_put_be64(prefix + 4, ids[i]);
    rc = load_prefix(g, prefix, 12, true, err);
  }
  if (rc) g->broken = true;
  return rc;
}
