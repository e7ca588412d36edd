/*
 * engine.h: the Precis engine, in-process. The server, the benchmarks and the
 * tests call this; it knows nothing of sockets or protobuf.
 *
 * Conventions:
 *   - Every fallible function returns a precis_status (0 = PRECIS_OK) and, on
 *     failure, fills the caller-owned `precis_error *err` (may be NULL).
 *     A failed call changes nothing.
 *   - Pointers passed in are borrowed for the duration of the call only.
 *   - Results the engine allocates are owned by the caller and freed with the
 *     matching *_free function named next to each call.
 *   - Thread-safety: an engine handle may be used from many threads at once.
 *     Reads of a collection run concurrently; writes to one collection are
 *     serialised by a per-collection lock. engine_close() must not race with
 *     any other call.
 *   - Durability: a write that returned PRECIS_OK is in the RocksDB WAL and
 *     synced to disk, unless the engine was opened with sync_writes = 0.
 */
#ifndef PRECIS_INDEX_ENGINE_H
#define PRECIS_INDEX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/limits.h"
#include "precis/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct engine engine;

typedef enum {
  ENGINE_METRIC_COSINE = 0, /* vectors L2-normalised on write; score = cos */
  ENGINE_METRIC_IP = 1,     /* score = inner product */
  ENGINE_METRIC_L2 = 2      /* score = -squared L2 distance */
} engine_metric;

typedef struct {
  int sync_writes;          /* 1 (default): fsync the WAL on every write */
  int create_if_missing;    /* 1 (default) */
  size_t block_cache_bytes; /* 0 = RocksDB default */
  double rebuild_tombstone_fraction; /* rebuild ANN past this share; 0.2 */
  uint64_t save_every_ops;  /* save an index after this many changes; 0 = only on close */
  void (*log)(void *ctx, int level, const char *msg); /* optional sink */
  void *log_ctx;
} engine_options;

/* Defaults as documented above. */
void engine_options_default(engine_options *o);

/* Open (or create) the data directory `dir`. `opts` may be NULL for defaults.
 * On success *out is a handle the caller closes with engine_close(). */
int engine_open(const char *dir, const engine_options *opts, engine **out,
                precis_error *err);
/* Save every loaded ANN index, close RocksDB, free the handle. NULL is a no-op. */
void engine_close(engine *e);
/* Save every ANN index that changed since its last save. */
int engine_save_indexes(engine *e, precis_error *err);
/* RocksDB checkpoint of the whole database into the new directory `dir`. */
int engine_snapshot(engine *e, const char *dir, precis_error *err);

/* ---- collections ---- */
typedef struct {
  uint32_t dim;                 /* 1..PRECIS_MAX_DIM, required */
  engine_metric metric;         /* default COSINE */
  char index_spec[PRECIS_MAX_INDEX_SPEC_LEN]; /* FAISS factory string; "" = default */
  uint32_t knn_k;               /* kNN-graph degree, 0 = default 16 */
  uint32_t hnsw_ef_construction;/* 0 = default 200 */
  uint32_t hnsw_ef_search;      /* 0 = default 200 (recall@10 >= 0.95 on GloVe) */
  uint32_t ivf_nprobe;          /* 0 = default 16 */
} engine_collection_config;

typedef struct {
  char name[PRECIS_MAX_NAME_LEN + 1];
  uint32_t id;
  engine_collection_config config; /* with defaults filled in */
  uint64_t count;        /* live points */
  uint64_t ann_total;    /* vectors in the ANN index, live or not */
  uint64_t tombstones;   /* dead entries still in the ANN index */
  uint64_t knn_edges;    /* stored kNN edges */
  uint64_t links;        /* stored knowledge links */
  uint64_t disk_bytes;   /* approximate bytes on disk (RocksDB + index file) */
  uint64_t seq;          /* the collection's write sequence */
  uint64_t index_seq;    /* the sequence the saved index file reflects */
} engine_collection_info;

int engine_collection_create(engine *e, const char *name,
                             const engine_collection_config *cfg,
                             precis_error *err);
int engine_collection_drop(engine *e, const char *name, precis_error *err);
int engine_collection_describe(engine *e, const char *name,
                               engine_collection_info *out, precis_error *err);
/* *out is a malloc'd array of *n entries, ordered by name; free() it. */
int engine_collection_list(engine *e, engine_collection_info **out, size_t *n,
                           precis_error *err);

/* ---- points ---- */
typedef struct {
  uint64_t id;
  const float *vector;  /* dim floats, required, finite */
  uint32_t dim;         /* number of floats in vector; must equal the
                           collection's dimension (DIMENSION_MISMATCH) */
  const char *text;     /* UTF-8, may be NULL */
  size_t text_len;
  const char *meta;     /* JSON object text, may be NULL (stored as "{}") */
  size_t meta_len;
  int64_t tokens;       /* < 0: computed from text */
} engine_point_in;

typedef struct {
  uint64_t id;
  bool found;
  float *vector;        /* NULL unless requested; dim floats */
  char *text;           /* NUL-terminated; "" when none */
  char *meta;           /* NUL-terminated JSON object */
  uint32_t tokens;
} engine_point;

/* Atomic per batch: all points are written in one RocksDB batch or none.
 * Duplicate ids inside one batch: the last one wins. n in 1..PRECIS_MAX_BATCH */
int engine_upsert(engine *e, const char *coll, const engine_point_in *pts,
                  size_t n, precis_error *err);
/* engine_upsert with flags. ENGINE_UPSERT_DEFER_GRAPH (first loads): no
 * kNN upkeep for these points; existing edges stay as they are (an
 * overwritten point keeps its old kNN edges) until engine_graph_rebuild,
 * which the caller runs once after the load. */
#define ENGINE_UPSERT_DEFER_GRAPH 1u
int engine_upsert_flags(engine *e, const char *coll, const engine_point_in *pts,
                        size_t n, unsigned flags, precis_error *err);
/* *out: malloc'd array of n entries in the order of ids, each with `found`.
 * Free with engine_points_free(*out, n). */
int engine_get(engine *e, const char *coll, const uint64_t *ids, size_t n,
               bool with_vectors, engine_point **out, precis_error *err);
void engine_points_free(engine_point *pts, size_t n);
/* Deletes the ids that exist (with their edges); *deleted may be NULL. */
int engine_delete(engine *e, const char *coll, const uint64_t *ids, size_t n,
                  size_t *deleted, precis_error *err);
int engine_count(engine *e, const char *coll, uint64_t *out, precis_error *err);

/* ---- search ---- */
typedef struct {
  uint64_t id;
  float score;    /* higher is better: cos, ip, or -squared L2 */
} engine_hit;

typedef struct {
  bool exact;          /* brute force over the stored vectors */
  uint32_t ef_search;  /* 0 = collection default */
  uint32_t nprobe;     /* 0 = collection default */
} engine_search_params;

/* Top-k of the live points. `hits` is a caller array of k entries; *nhits
 * receives min(k, live points). `sp` may be NULL. */
int engine_search(engine *e, const char *coll, const float *query,
                  uint32_t dim, uint32_t k, const engine_search_params *sp,
                  engine_hit *hits, size_t *nhits, precis_error *err);

/* ---- graph (kNN edges and knowledge links) ---- */
#define ENGINE_EDGE_KNN 1u
#define ENGINE_EDGE_LINKS 2u
#define ENGINE_DIR_OUT 1u
#define ENGINE_DIR_IN 2u

typedef struct {
  uint64_t src, dst;
  char kind[PRECIS_MAX_LINK_KIND_LEN + 1]; /* "knn" for kNN edges */
  float weight;
} engine_edge;

int engine_link_add(engine *e, const char *coll, uint64_t src, uint64_t dst,
                    const char *kind, float weight, precis_error *err);
int engine_link_remove(engine *e, const char *coll, uint64_t src, uint64_t dst,
                       const char *kind, precis_error *err);
/* Add (add = true; weights in (0,1], both ends must exist) or remove
 * (add = false; absent links are skipped) n knowledge links in one atomic,
 * durable batch. *changed (may be NULL) counts links created or removed. A bad
 * link fails the whole batch. n in 1..PRECIS_MAX_BATCH. */
int engine_links_change(engine *e, const char *coll, const engine_edge *links,
                        size_t n, bool add, size_t *changed, precis_error *err);
/* Edges of `id`: kinds = ENGINE_EDGE_* mask, `kind` (may be NULL) narrows
 * links to one label, dirs = ENGINE_DIR_* mask. *out malloc'd; free(). */
int engine_edges_list(engine *e, const char *coll, uint64_t id, unsigned kinds,
                      const char *kind, unsigned dirs, engine_edge **out,
                      size_t *n, precis_error *err);
/* Recompute every kNN edge from the ANN index using `threads` workers. */
int engine_graph_rebuild(engine *e, const char *coll, unsigned threads,
                         precis_error *err);
/* Compare the collection's edges in memory with those in RocksDB: OK when
 * equal, CORRUPTION naming the first difference (tests, diagnostics). */
int engine_graph_check(engine *e, const char *coll, precis_error *err);

/* ---- retrieve: seeds -> expansion -> selection ---- */
typedef enum {
  ENGINE_MODE_COMPRESS = 0,
  ENGINE_MODE_TOPK = 1,
  ENGINE_MODE_MMR = 2
} engine_mode;

/* Coverage form of COMPRESS (same numbers as select_coverage and the wire
 * enum Coverage). AUTO: EXACT while pool*pool*dim <= SELECT_AUTO_EXACT_WORK
 * (index/select.h), else SAMPLE; retrieve never hands AUTO the kNN lists,
 * since reading them from RocksDB costs more than EXACT (docs/RETRIEVAL.md). */
typedef enum {
  ENGINE_COVERAGE_EXACT = 0,
  ENGINE_COVERAGE_SPARSE = 1, /* kNN edges inside the pool */
  ENGINE_COVERAGE_SAMPLE = 2,
  ENGINE_COVERAGE_AUTO = 3
} engine_coverage;

typedef struct {
  const float *query;
  uint32_t dim;
  uint32_t k;              /* 1..PRECIS_MAX_K, default 10 */
  uint64_t token_budget;   /* 0 = none */
  engine_mode mode;        /* default COMPRESS */
  uint32_t seeds;          /* ANN seeds in the pool; 0 = default
                            * max(3k, 30); at most pool, and with hops > 0 at
                            * most half of it (the rest is expansion room) */
  uint32_t expand_from;    /* hop 1 walks from this many of the most similar
                            * seeds, which also set the relevance scale;
                            * 0 = k */
  uint32_t hops;           /* 0..PRECIS_MAX_HOPS, default 0 */
  uint32_t fanout;         /* default 16 */
  uint32_t pool;           /* default 300 */
  unsigned edge_kinds;     /* ENGINE_EDGE_* mask, default KNN|LINKS */
  const char *const *link_kinds; /* restrict links to these labels */
  size_t n_link_kinds;
  float graph_weight;      /* weight of graph evidence (sum of path scores)
                            * in relevance, 0..PRECIS_MAX_GRAPH_WEIGHT,
                            * default 2 */
  float decay;             /* per-hop decay in (0,1], default 0.9 */
  float lambda;            /* MMR, 0..1, default 0.5 */
  float a, b, c;           /* COMPRESS weights >= 0 */
  float diversity;         /* COMPRESS's knob, 0 (TOPK) .. 1 (most diverse);
                            * PRECIS_DIVERSITY_AUTO = default 0.5 at hops 0,
                            * 0.25 with hops > 0. Sets theta
                            * unless theta is given */
  float theta;             /* volume quality exponent, 0..PRECIS_MAX_THETA;
                            * PRECIS_THETA_AUTO (default): from diversity */
  int coverage;            /* engine_coverage, default AUTO */
  bool exact_seeds;
  uint32_t ef_search;
  uint32_t max_represented_ids; /* cap on ids listed per item, default 16 */
} engine_retrieve_params;

void engine_retrieve_params_default(engine_retrieve_params *p);

typedef struct {
  uint64_t id;
  char *text;
  char *meta;
  uint32_t tokens;
  float relevance;   /* blended, rescaled relevance used by selection */
  float similarity;  /* exact similarity to the query */
  float gain;        /* marginal gain when chosen */
  uint32_t hops;     /* 0 for seeds */
  uint64_t via;      /* point it was reached from (== id for seeds) */
  uint32_t represents;       /* pool points it stands for */
  uint64_t *represented_ids; /* capped list */
  uint32_t n_represented_ids;
} engine_retrieved;

typedef struct {
  engine_retrieved *items;
  size_t n;
  double objective, coverage_ratio, redundancy, mean_relevance;
  int coverage_used;       /* engine_coverage that ran (never AUTO); TOPK and
                              MMR optimise no coverage and report what AUTO
                              or the requested form resolved to */
  uint32_t pool_size, seed_count;
  uint64_t t_seed_us, t_expand_us, t_select_us, t_total_us;
} engine_retrieve_result;

/* *out allocated by the engine; free with engine_retrieve_result_free(). */
int engine_retrieve(engine *e, const char *coll,
                    const engine_retrieve_params *p,
                    engine_retrieve_result **out, precis_error *err);
void engine_retrieve_result_free(engine_retrieve_result *r);

/* Which FAISS the engine was linked against, e.g. "faiss 1.7.3 (compat C API
 * over Debian libfaiss.a)". Static string. */
const char *engine_faiss_build(void);

/* Test hook (fault injection): after `countdown` more successful RocksDB
 * writes, every write of this engine fails with PRECIS_E_IO before touching
 * the database (store_debug_fail_writes_after); -1 disables. Never set in
 * production. */
void engine_debug_fail_writes_after(engine *e, long countdown);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_INDEX_ENGINE_H */
