/*
 * quality_transport.h: the two ways `precis-bench quality` reaches Precis,
 * behind one interface, so that the study has one code path apart from the
 * transport: in-process (the engine on a temporary data directory) or
 * through precisd with libprecis (a precisd the bench spawns on a temporary
 * directory, or one given with --server HOST:PORT).
 *
 * A request names only the knobs it sets (qt_req); everything else takes
 * the defaults of precis/params.h, the same in-process (the engine's) and
 * over the wire (libprecis's). The knobs are the X-macro list
 * QT_KNOBS: a field of both engine_retrieve_params and
 * precis_retrieve_params with the same name; adding one is one line there.
 */
#ifndef PRECIS_BENCH_QUALITY_TRANSPORT_H
#define PRECIS_BENCH_QUALITY_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

#define QT_KNOBS(X)    \
  X(mode)              \
  X(seeds)             \
  X(hops)              \
  X(pool)              \
  X(fanout)            \
  X(lambda)            \
  X(theta)             \
  X(a)                 \
  X(b)                 \
  X(c)                 \
  X(graph_weight)      \
  X(decay)             \
  X(diversity)         \
  X(expand_from)       \
  X(similarity_floor)  \
  X(shared_neighbours) \
  X(analogy)           \
  X(anchors)           \
  X(specificity)       \
  X(token_budget)

enum {
#define QT_ENUM(n) QK_##n,
  QT_KNOBS(QT_ENUM)
#undef QT_ENUM
      QK_COUNT
};

/* The edges a walk follows, sent explicitly unless DEFAULT (the server's
 * defaults: knowledge links only since follow_knn's default became false):
 * knowledge links only, kNN edges only, or both. */
enum { QT_EDGES_DEFAULT = 0, QT_EDGES_LINKS = 1, QT_EDGES_KNN = 2, QT_EDGES_ALL = 3 };

typedef struct {
  unsigned set; /* bit QK_x: knob x is sent */
  double v[QK_COUNT];
  int edges; /* QT_EDGES_*: which edges a walk follows */
} qt_req;

/* Knob index of `name` ("theta", ...), -1 when unknown. */
int qt_knob_find(const char *name);
const char *qt_knob_name(int knob);
void qt_req_set(qt_req *r, int knob, double v);

typedef struct {
  uint64_t id;
  uint32_t hops;   /* 0 for seeds */
  uint32_t tokens; /* the item's token count, as the server counts it */
} qt_item;

typedef struct {
  double upsert_s, links_s, rebuild_s;
  uint64_t knn_edges, links;
  double knn_exact; /* share of a sample's kNN lists that are the exact ones */
} qt_setup;

typedef struct qt qt;

/* In-process engine on a fresh temporary directory (sync_writes 0). */
int qt_open_engine(qt **out);
/* Through precisd: `server` "HOST:PORT", or NULL to spawn precisd
 * ($PRECISD or the build's precisd) on a temporary directory with
 * --sync-writes 0. */
int qt_open_server(const char *server, qt **out);
/* "in-process" or "precisd HOST:PORT" */
const char *qt_name(const qt *t);
/* Drops what was made, stops a spawned server, removes temporary data. */
void qt_close(qt *t);

/* A collection for corpus c (cosine, dim, defaults), every entry upserted
 * (vector, text when loaded, metadata {"label": ...}), the links added,
 * the kNN graph rebuilt when `rebuild` (else as the upserts kept it); the
 * entries in corpus order, or shuffled with seed `shuffle` when not 0,
 * `batch` (1..QT_BATCH) points per upsert. */
#define QT_BATCH 1000
int qt_ingest(qt *t, const char *coll, const ds_corpus *c, int rebuild, uint64_t shuffle,
              uint32_t batch, qt_setup *st);
/* One retrieve of k items; items has room for cap. *pool_size: as reported. */
int qt_retrieve(qt *t, const char *coll, const float *q, uint32_t dim, uint32_t k, const qt_req *r,
                qt_item *items, size_t cap, size_t *n, uint32_t *pool_size);
/* The ANN top-n of q (the default search) with their vectors (fetched with
 * get/with_vectors over the wire): ids[n], vecs[n*dim]; *got <= n. */
int qt_pool(qt *t, const char *coll, const float *q, uint32_t dim, uint32_t n, uint64_t *ids,
            float *vecs, size_t *got);

#endif
