/*
 * quality_transport.c: in-process and precisd transports of the quality
 * study (see quality_transport.h).
 */
#include "quality_transport.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_util.h"
#include "engine.h"
#include "precis/precis.h"
#include "srvproc.h"

#define QT_MAX_COLLS 32

struct qt {
  char name[128];
  engine *e;         /* in-process */
  precis_conn *conn; /* precisd */
  srvproc sp;        /* spawned precisd (pid 0 when --server) */
  char *dir;         /* temporary data directory */
  char colls[QT_MAX_COLLS][PRECIS_MAX_NAME_LEN + 1];
  int ncolls;
};

static const char *const qt_knob_names[] = {
#define QT_NAME(n) #n,
    QT_KNOBS(QT_NAME)
#undef QT_NAME
};

int qt_knob_find(const char *name) {
  for (int i = 0; i < QK_COUNT; i++)
    if (!strcmp(name, qt_knob_names[i])) return i;
  return -1;
}

const char *qt_knob_name(int knob) {
  return knob >= 0 && knob < QK_COUNT ? qt_knob_names[knob] : "?";
}

void qt_req_set(qt_req *r, int knob, double v) {
  r->set |= 1u << knob;
  r->v[knob] = v;
}

const char *qt_name(const qt *t) { return t->name; }

static qt *qt_new(const char *tag) {
  qt *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->dir = bu_tmpdir(tag);
  if (!t->dir) {
    perror("mkdtemp");
    free(t);
    return NULL;
  }
  return t;
}

int qt_open_engine(qt **out) {
  qt *t = qt_new("quality");
  if (!t) return -1;
  engine_options eo;
  engine_options_default(&eo);
  eo.sync_writes = 0;
  eo.log = NULL;
  precis_error err;
  if (engine_open(t->dir, &eo, &t->e, &err)) {
    fprintf(stderr, "precis-bench quality: engine_open: %s\n", err.msg);
    qt_close(t);
    return -1;
  }
  snprintf(t->name, sizeof t->name, "in-process");
  *out = t;
  return 0;
}

int qt_open_server(const char *server, qt **out) {
  qt *t = qt_new("quality-srv");
  if (!t) return -1;
  char host[256] = "127.0.0.1";
  int port;
  if (server) {
    const char *colon = strrchr(server, ':');
    port = colon ? atoi(colon + 1) : 0;
    if (!colon || port <= 0 || port > 65535 || (size_t)(colon - server) >= sizeof host) {
      fprintf(stderr, "precis-bench quality: --server wants HOST:PORT, not '%s'\n", server);
      qt_close(t);
      return -1;
    }
    memcpy(host, server, (size_t)(colon - server));
    host[colon - server] = 0;
  } else {
    static const char *args[] = {"--sync-writes", "0", NULL};
    port = srvproc_start(t->dir, args, &t->sp);
    if (port < 0) {
      qt_close(t);
      return -1;
    }
  }
  precis_error err;
  if (precis_connect(host, (uint16_t)port, NULL, 600000, &t->conn, &err)) {
    fprintf(stderr, "precis-bench quality: connect %s:%d: %s\n", host, port, err.msg);
    qt_close(t);
    return -1;
  }
  snprintf(t->name, sizeof t->name, "precisd %s:%d%s", host, port, server ? "" : " (spawned)");
  *out = t;
  return 0;
}

void qt_close(qt *t) {
  if (!t) return;
  for (int i = 0; i < t->ncolls; i++) {
    precis_error err;
    if (t->conn && !t->sp.pid) precis_collection_drop(t->conn, t->colls[i], &err);
  }
  precis_close(t->conn);
  if (t->sp.pid) {
    srvproc_stop(&t->sp);
    srvproc_cleanup(&t->sp);
  }
  engine_close(t->e);
  bu_rmrf_free(t->dir);
  free(t);
}

/* metadata JSON {"label": "..."} of row i (malloc'd) */
static char *qt_meta(const ds_corpus *c, size_t i) {
  json_t *o = json_pack("{s:s}", "label", c->label_names[c->label[i]]);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

/* rows row[0..m) of c as one upsert; meta[j]: the rows' metadata */
static int qt_put_points(qt *t, const char *coll, const ds_corpus *c, const size_t *row, size_t m,
                         char **meta, precis_error *err) {
  if (t->e) {
    engine_point_in pts[QT_BATCH];
    for (size_t j = 0; j < m; j++) {
      const char *tx = c->text ? c->text[row[j]] : "";
      pts[j] = (engine_point_in){.id = c->ids[row[j]],
                                 .vector = c->vec + row[j] * c->dim,
                                 .dim = (uint32_t)c->dim,
                                 .text = tx,
                                 .text_len = strlen(tx),
                                 .meta = meta[j],
                                 .meta_len = strlen(meta[j]),
                                 .tokens = -1};
    }
    return engine_upsert(t->e, coll, pts, m, err) ? -1 : 0;
  }
  precis_point pts[QT_BATCH];
  for (size_t j = 0; j < m; j++)
    pts[j] = (precis_point){.id = c->ids[row[j]],
                            .vector = c->vec + row[j] * c->dim,
                            .dim = (uint32_t)c->dim,
                            .text = c->text ? c->text[row[j]] : NULL,
                            .metadata = meta[j],
                            .tokens = -1};
  return precis_upsert(t->conn, coll, pts, m, NULL, err) ? -1 : 0;
}

/* links [at, at+m) of c as one atomic batch */
static int qt_put_links(qt *t, const char *coll, const ds_corpus *c, size_t at, size_t m,
                        precis_error *err) {
  if (t->e) {
    engine_edge ed[QT_BATCH];
    for (size_t j = 0; j < m; j++) {
      const ds_link *l = &c->links[at + j];
      memset(&ed[j], 0, sizeof ed[j]);
      ed[j].src = l->src;
      ed[j].dst = l->dst;
      memcpy(ed[j].kind, l->kind, sizeof ed[j].kind);
      ed[j].weight = l->weight;
    }
    return engine_links_change(t->e, coll, ed, m, true, NULL, err) ? -1 : 0;
  }
  precis_edge ed[QT_BATCH];
  for (size_t j = 0; j < m; j++) {
    const ds_link *l = &c->links[at + j];
    precis_edge_set(&ed[j], l->src, l->dst, l->kind, l->weight);
  }
  return precis_link_add(t->conn, coll, ed, m, NULL, err) ? -1 : 0;
}

static int qt_create(qt *t, const char *coll, uint32_t dim, precis_error *err) {
  if (t->e) {
    engine_collection_config cfg = {.dim = dim, .metric = ENGINE_METRIC_COSINE};
    return engine_collection_create(t->e, coll, &cfg, err) ? -1 : 0;
  }
  precis_collection_config cfg;
  precis_collection_config_init(&cfg, dim);
  precis_collection_drop(t->conn, coll, NULL); /* a leftover of an earlier run */
  if (precis_collection_create(t->conn, coll, &cfg, NULL, err)) return -1;
  if (t->ncolls < QT_MAX_COLLS) snprintf(t->colls[t->ncolls++], sizeof t->colls[0], "%s", coll);
  return 0;
}

static int qt_rebuild_describe(qt *t, const char *coll, int rebuild, qt_setup *st,
                               precis_error *err) {
  if (t->e) {
    engine_collection_info info;
    if ((rebuild && engine_graph_rebuild(t->e, coll, err)) ||
        engine_collection_describe(t->e, coll, &info, err))
      return -1;
    st->knn_edges = info.knn_edges;
    st->links = info.links;
    return 0;
  }
  precis_collection_info info;
  if ((rebuild && precis_graph_rebuild(t->conn, coll, err)) ||
      precis_collection_describe(t->conn, coll, &info, err))
    return -1;
  st->knn_edges = info.knn_edges;
  st->links = info.links;
  return 0;
}

/* The kNN list of the point with id `id` (ids into out, at most cap);
 * -1 on error. */
static long qt_knn_list(qt *t, const char *coll, uint64_t id, uint64_t *out, size_t cap) {
  precis_error err;
  size_t n = 0, m = 0;
  if (t->e) {
    engine_edge *e = NULL;
    if (engine_edges_list(t->e, coll, id, ENGINE_EDGE_KNN, NULL, ENGINE_DIR_OUT, &e, &n, &err))
      return -1;
    for (size_t i = 0; i < n && m < cap; i++) out[m++] = e[i].dst;
    free(e);
    return (long)m;
  }
  precis_edge *e = NULL;
  if (precis_edges_list(t->conn, coll, id, PRECIS_EDGES_KNN | PRECIS_EDGES_OUT, NULL, &e, &n, &err))
    return -1;
  for (size_t i = 0; i < n && m < cap; i++) out[m++] = e[i].dst;
  precis_edges_free(e);
  return (long)m;
}

/* How many of the exact K nearest (brute force, K = the list's length at
 * most QT_KNN_MAX) the kNN lists of every (n / QT_KNN_SAMPLE)-th entry
 * hold, over all of them. */
#define QT_KNN_SAMPLE 300
#define QT_KNN_MAX    64
static double qt_knn_exact(qt *t, const char *coll, const ds_corpus *c) {
  size_t step = c->n > QT_KNN_SAMPLE ? c->n / QT_KNN_SAMPLE : 1, hit = 0, all = 0;
  float *sc = malloc((c->n ? c->n : 1) * sizeof *sc);
  for (size_t r = 0; sc && r < c->n; r += step) {
    uint64_t got[QT_KNN_MAX];
    long ng = qt_knn_list(t, coll, c->ids[r], got, QT_KNN_MAX);
    if (ng <= 0) continue;
    const float *q = c->vec + r * c->dim;
    for (size_t j = 0; j < c->n; j++) {
      double d = 0;
      for (size_t k = 0; k < c->dim; k++) d += (double)q[k] * c->vec[j * c->dim + k];
      sc[j] = j == r ? -INFINITY : (float)d;
    }
    /* the ng-th largest score: what an exact list of ng holds at least */
    for (long g = 0; g < ng; g++) {
      long row = ds_corpus_row(c, got[g]);
      if (row < 0) continue;
      size_t above = 0;
      for (size_t j = 0; j < c->n; j++) above += sc[j] > sc[row];
      hit += above < (size_t)ng;
    }
    all += (size_t)ng;
  }
  free(sc);
  return all ? (double)hit / (double)all : NAN;
}

int qt_ingest(qt *t, const char *coll, const ds_corpus *c, int rebuild, uint64_t shuffle,
              uint32_t batch, qt_setup *st) {
  memset(st, 0, sizeof *st);
  precis_error err = {0};
  char **meta = calloc(QT_BATCH, sizeof *meta);
  size_t *order = malloc((c->n ? c->n : 1) * sizeof *order);
  int rc = meta && order ? qt_create(t, coll, (uint32_t)c->dim, &err) : -1;
  for (size_t i = 0; order && i < c->n; i++) order[i] = i;
  if (shuffle && order) { /* Fisher-Yates with a fixed seed */
    uint64_t s = shuffle;
    for (size_t i = c->n; i > 1; i--) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      size_t j = (size_t)((s >> 33) % i), x = order[i - 1];
      order[i - 1] = order[j];
      order[j] = x;
    }
  }
  uint64_t t0 = bench_now_ns();
  size_t nb = batch >= 1 && batch <= QT_BATCH ? batch : QT_BATCH;
  for (size_t at = 0; !rc && at < c->n; at += nb) {
    size_t m = c->n - at < nb ? c->n - at : nb;
    for (size_t j = 0; j < m && !rc; j++) {
      free(meta[j]);
      if (!(meta[j] = qt_meta(c, order[at + j]))) rc = -1;
    }
    if (!rc) rc = qt_put_points(t, coll, c, order + at, m, meta, &err);
  }
  for (size_t j = 0; meta && j < QT_BATCH; j++) free(meta[j]);
  free(meta);
  free(order);
  uint64_t t1 = bench_now_ns();
  for (size_t at = 0; !rc && at < c->nlinks; at += QT_BATCH)
    rc = qt_put_links(t, coll, c, at, c->nlinks - at < QT_BATCH ? c->nlinks - at : QT_BATCH, &err);
  uint64_t t2 = bench_now_ns();
  if (!rc) rc = qt_rebuild_describe(t, coll, rebuild, st, &err);
  uint64_t t3 = bench_now_ns();
  if (!rc) st->knn_exact = qt_knn_exact(t, coll, c);
  st->upsert_s = (double)(t1 - t0) / 1e9;
  st->links_s = (double)(t2 - t1) / 1e9;
  st->rebuild_s = (double)(t3 - t2) / 1e9;
  if (rc)
    fprintf(stderr, "precis-bench quality: ingest %s (%s): %s\n", coll, t->name,
            err.msg[0] ? err.msg : "out of memory");
  return rc;
}

/* Sets the knobs of r on a params struct p of either transport. */
#define QT_APPLY(p, r)     \
  do {                     \
    QT_KNOBS(QT_APPLY_ONE) \
  } while (0)
#define QT_APPLY_ONE(n) \
  if (r->set & (1u << QK_##n)) p.n = (__typeof__(p.n))r->v[QK_##n];

int qt_retrieve(qt *t, const char *coll, const float *q, uint32_t dim, uint32_t k, const qt_req *r,
                qt_item *items, size_t cap, size_t *n, uint32_t *pool_size) {
  precis_error err = {0};
  *n = 0;
  if (t->e) {
    engine_retrieve_params p;
    engine_retrieve_params_default(&p);
    p.query = q;
    p.dim = dim;
    p.k = k;
    QT_APPLY(p, r);
    if (r->edges) {
      p.follow_knn = r->edges != QT_EDGES_LINKS;
      p.follow_links = r->edges != QT_EDGES_KNN;
    }
    engine_retrieve_result *res = NULL;
    if (engine_retrieve(t->e, coll, &p, &res, &err)) goto fail;
    for (size_t i = 0; i < res->n && i < cap; i++)
      items[(*n)++] = (qt_item){res->items[i].id, res->items[i].hops, res->items[i].tokens};
    *pool_size = res->pool_size;
    engine_retrieve_result_free(res);
    return 0;
  }
  /* Over the wire: the same table defaults (precis/params.h) and the set
   * knobs, each sent with presence, so both transports run one request. */
  precis_retrieve_params p;
  precis_retrieve_params_init(&p);
  p.vector = q;
  p.dim = dim;
  p.k = k;
  QT_APPLY(p, r);
  if (r->edges) {
    p.follow_knn = r->edges != QT_EDGES_LINKS;
    p.follow_links = r->edges != QT_EDGES_KNN;
  }
  precis_retrieve_result *res = NULL;
  if (precis_retrieve(t->conn, coll, &p, &res, &err)) goto fail;
  for (size_t i = 0; i < res->n && i < cap; i++)
    items[(*n)++] = (qt_item){res->items[i].id, res->items[i].hops, res->items[i].tokens};
  *pool_size = res->pool_size;
  precis_retrieve_result_free(res);
  return 0;
fail:
  fprintf(stderr, "precis-bench quality: retrieve (%s): %s\n", t->name, err.msg);
  return -1;
}

int qt_pool(qt *t, const char *coll, const float *q, uint32_t dim, uint32_t n, uint64_t *ids,
            float *vecs, size_t *got) {
  precis_error err = {0};
  size_t nh = 0;
  *got = 0;
  if (t->e) {
    engine_hit *h = malloc(n * sizeof *h);
    engine_point *pts = NULL;
    if (!h || engine_search(t->e, coll, q, dim, n, NULL, h, &nh, &err)) {
      free(h);
      goto fail;
    }
    for (size_t i = 0; i < nh; i++) ids[i] = h[i].id;
    free(h);
    if (nh && engine_get(t->e, coll, ids, nh, true, &pts, &err)) goto fail;
    for (size_t i = 0; i < nh; i++) {
      if (!pts[i].found || !pts[i].vector) {
        engine_points_free(pts, nh);
        snprintf(err.msg, sizeof err.msg, "point %llu vanished", (unsigned long long)ids[i]);
        goto fail;
      }
      memcpy(vecs + i * dim, pts[i].vector, dim * sizeof *vecs);
    }
    if (nh) engine_points_free(pts, nh);
    *got = nh;
    return 0;
  }
  precis_hit *h = malloc(n * sizeof *h);
  if (!h || precis_search(t->conn, coll, q, dim, n, NULL, h, &nh, &err)) {
    free(h);
    goto fail;
  }
  for (size_t i = 0; i < nh; i++) ids[i] = h[i].id;
  free(h);
  precis_points *pts = NULL;
  if (nh && precis_get(t->conn, coll, ids, nh, 1, &pts, &err)) goto fail;
  if (nh && (pts->n != nh || pts->n_missing)) {
    snprintf(err.msg, sizeof err.msg, "get returned %zu of %zu points", pts->n, nh);
    precis_points_free(pts);
    goto fail;
  }
  for (size_t i = 0; i < nh; i++) {
    if (pts->points[i].dim != dim) {
      precis_points_free(pts);
      snprintf(err.msg, sizeof err.msg, "get returned no vector");
      goto fail;
    }
    memcpy(vecs + i * dim, pts->points[i].vector, dim * sizeof *vecs);
  }
  precis_points_free(pts);
  *got = nh;
  return 0;
fail:
  fprintf(stderr, "precis-bench quality: pool (%s): %s\n", t->name, err.msg);
  return -1;
}
