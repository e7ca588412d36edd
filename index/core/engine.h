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
 *     Every call on a collection holds a counted reference to it for its
 *     duration; the registry lock is held only to look a name up or to add
 *     or remove an entry (writer-preferring, so create and drop are not
 *     starved by lookups). engine_collection_drop() makes later calls get
 *     NOT_FOUND (and a create of the name ALREADY_EXISTS), waits for the
 *     calls in flight on the collection to end, then deletes it: a call in
 *     flight never sees a freed collection, and a drop waits for a long one
 *     (a graph rebuild). Reads of a collection run concurrently; writes to
 *     one collection are serialised by its own writer-preferring lock; slow
 *     upkeep (index rebuilds and saves, index/core/upkeep.h; the kNN graph
 *     rebuild) holds that lock only briefly (index/core/coll.h, Locking).
 *     engine_close() must not race with any other call.
 *   - Durability: a write that returned PRECIS_OK is in the RocksDB WAL and
 *     synced to disk, unless the engine was opened with sync_writes = 0.
 */
#ifndef PRECIS_INDEX_ENGINE_H
#define PRECIS_INDEX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/limits.h"
#include "precis/params.h"
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
  int sync_writes;                   /* 1 (default): fsync the WAL on every write */
  int create_if_missing;             /* 1 (default) */
  size_t block_cache_bytes;          /* 0 = RocksDB default */
  double rebuild_tombstone_fraction; /* rebuild ANN past this share; 0.2 */
  uint64_t save_every_ops;           /* save an index after this many changes
                               (default 100000; 0 = not by count) */
  uint64_t save_every_ms;            /* save an index this long after its first
                               unsaved change (default 300000 = 5 min; 0 =
                               not by time). Both checked after each write
                               (index/core/upkeep.h); every index is also saved
                               on close */
  void (*log)(void *ctx, int level, const char *msg); /* optional sink */
  void *log_ctx;
  /* estimated ANN memory per collection (ann_spec_check): a create whose
   * index could not hold one full batch (PRECIS_MAX_BATCH vectors), and an
   * upsert past it, get OUT_OF_RANGE; 0 (default) = no limit */
  uint64_t max_index_bytes;
  /* stored payload bytes (text, metadata) one retrieve may load for its
   * items: past it the call fails with FRAME_TOO_LARGE before it holds more
   * (precisd passes --max-frame); 0 (default) = no limit */
  uint64_t max_result_bytes;
} engine_options;

/* Defaults as documented above. */
void engine_options_default(engine_options *o);

/* Open (or create) the data directory `dir`. `opts` may be NULL for defaults.
 * On success *out is a handle the caller closes with engine_close(). */
int engine_open(const char *dir, const engine_options *opts, engine **out, precis_error *err);
/* Save every loaded ANN index, close RocksDB, free the handle. NULL is a no-op. */
void engine_close(engine *e);
/* Save every ANN index that changed since its last save. */
int engine_save_indexes(engine *e, precis_error *err);
/* A consistent snapshot of the whole data directory into the new directory
 * `dir`: a RocksDB checkpoint (hard links where possible) and, in `dir`/ann,
 * each loaded ANN index and graph snapshot at its collection's write
 * sequence. Writes go on meanwhile; a collection's writers wait while its
 * index file is written. */
int engine_snapshot(engine *e, const char *dir, precis_error *err);

/* Make `data_dir` a data directory holding exactly the state of the
 * snapshot `snapshot_dir` (a directory written by engine_snapshot, possibly
 * on another disk). `data_dir` may exist but must hold no database yet
 * (ALREADY_EXISTS otherwise; index files there without a database are
 * removed). The snapshot's database files go to `data_dir`/db and its index
 * files to `data_dir`/ann (SST files, which RocksDB never modifies, are
 * hard-linked when both are on one filesystem; everything else is copied),
 * synced; the database is renamed into place last, so an interrupted restore
 * leaves no half database. engine_open() then loads each saved index and
 * replays the writes logged after it (or rebuilds it from the stored vectors
 * when the snapshot has no index file for it). The snapshot is not modified.
 * INVALID_ARGUMENT when `snapshot_dir` is not a snapshot, IO on copy errors. */
int engine_restore(const char *snapshot_dir, const char *data_dir, precis_error *err);
/* Remove the directory tree `dir` (symbolic links are removed, not
 * followed). Returns 0, or -1 with errno set. For snapshot deletion. */
int engine_remove_tree(const char *dir);

/* Storage figures for monitoring (RocksDB properties summed over the
 * column families). Cheap: no I/O. */
typedef struct {
  uint64_t live_sst_bytes;           /* SST files of the current version */
  uint64_t total_sst_bytes;          /* all SST files, obsolete ones included */
  uint64_t pending_compaction_bytes; /* estimated bytes compaction must rewrite */
  uint64_t memtable_bytes;           /* active and immutable memtables */
  uint64_t running_compactions;
  uint64_t running_flushes;
  uint64_t block_cache_bytes; /* block cache usage */
} engine_storage_stats;
void engine_storage_stats_get(engine *e, engine_storage_stats *out);

/* ---- collections ---- */
typedef struct {
  uint32_t dim;                               /* 1..PRECIS_MAX_DIM, required */
  engine_metric metric;                       /* default COSINE */
  char index_spec[PRECIS_MAX_INDEX_SPEC_LEN]; /* FAISS factory string; "" = default */
  uint32_t knn_k;                             /* kNN-graph degree, 0 = default 16 */
  uint32_t hnsw_ef_construction;              /* 0 = default 200 */
  uint32_t hnsw_ef_search;                    /* 0 = default 200 (recall@10 >= 0.95 on GloVe) */
  uint32_t ivf_nprobe;                        /* 0 = default 16 */
} engine_collection_config;

typedef struct {
  char name[PRECIS_MAX_NAME_LEN + 1];
  uint32_t id;
  engine_collection_config config; /* with defaults filled in */
  uint64_t count;                  /* live points */
  uint64_t ann_total;              /* vectors in the ANN index, live or not */
  uint64_t tombstones;             /* dead entries still in the ANN index */
  uint64_t knn_edges;              /* stored kNN edges */
  uint64_t links;                  /* stored knowledge links */
  uint64_t disk_bytes;             /* approximate bytes on disk (RocksDB + index files) */
  uint64_t seq;                    /* the collection's write sequence */
  uint64_t index_seq;              /* the sequence the saved index file reflects */
  /* memory held in this process (estimates; docs/OPERATIONS.md) */
  uint64_t index_bytes; /* the ANN index: its vectors, codes and graph links */
  uint64_t graph_bytes; /* the kNN and link edges in memory (graph_mem.h) */
  uint64_t maps_bytes;  /* id maps: live points, slots, token counts */
} engine_collection_info;

int engine_collection_create(engine *e, const char *name, const engine_collection_config *cfg,
                             precis_error *err);
int engine_collection_drop(engine *e, const char *name, precis_error *err);
int engine_collection_describe(engine *e, const char *name, engine_collection_info *out,
                               precis_error *err);
/* *out is a malloc'd array of *n entries, ordered by name; free() it. */
int engine_collection_list(engine *e, engine_collection_info **out, size_t *n, precis_error *err);

/* ---- points ---- */
typedef struct {
  uint64_t id;
  const float *vector; /* dim floats, required, finite */
  uint32_t dim;        /* number of floats in vector; must equal the
                           collection's dimension (DIMENSION_MISMATCH) */
  const char *text;    /* UTF-8, may be NULL */
  size_t text_len;
  const char *meta; /* JSON object text, may be NULL (stored as "{}") */
  size_t meta_len;
  int64_t tokens; /* < 0: computed from text */
} engine_point_in;

typedef struct {
  uint64_t id;
  bool found;
  float *vector; /* NULL unless requested; dim floats */
  char *text;    /* NUL-terminated; "" when none */
  char *meta;    /* NUL-terminated JSON object */
  uint32_t tokens;
} engine_point;

/* Atomic per batch: all points are written in one RocksDB batch or none.
 * Duplicate ids inside one batch: the last one wins. n in 1..PRECIS_MAX_BATCH */
int engine_upsert(engine *e, const char *coll, const engine_point_in *pts, size_t n,
                  precis_error *err);
/* engine_upsert with flags. ENGINE_UPSERT_DEFER_GRAPH (first loads): no
 * kNN upkeep for these points; existing edges stay as they are (an
 * overwritten point keeps its old kNN edges) until engine_graph_rebuild,
 * which the caller runs once after the load. */
#define ENGINE_UPSERT_DEFER_GRAPH 1u
int engine_upsert_flags(engine *e, const char *coll, const engine_point_in *pts, size_t n,
                        unsigned flags, precis_error *err);
/* engine_upsert_flags; *upserted (may be NULL) receives the number of
 * distinct ids written (a duplicate id in the batch counts once). */
int engine_upsert_counted(engine *e, const char *coll, const engine_point_in *pts, size_t n,
                          unsigned flags, size_t *upserted, precis_error *err);
/* *out: malloc'd array of n entries in the order of ids, each with `found`.
 * Free with engine_points_free(*out, n). */
int engine_get(engine *e, const char *coll, const uint64_t *ids, size_t n, bool with_vectors,
               engine_point **out, precis_error *err);
void engine_points_free(engine_point *pts, size_t n);
/* Deletes the ids that exist (with their edges); *deleted may be NULL. */
int engine_delete(engine *e, const char *coll, const uint64_t *ids, size_t n, size_t *deleted,
                  precis_error *err);
int engine_count(engine *e, const char *coll, uint64_t *out, precis_error *err);

/* ---- search ---- */
typedef struct {
  uint64_t id;
  float score; /* higher is better: cos, ip, or -squared L2 */
} engine_hit;

/* exact, ef_search, nprobe: the rows of PRECIS_SEARCH_OPTS_MAP
 * (precis/params.h), which give their defaults (all 0: the ANN index with
 * the collection's settings), ranges and documentation. */
typedef struct {
  PRECIS_SEARCH_OPTS_MAP(PRECIS_PARAM_MEMBER)
} engine_search_params;

/* Validate sp (may be NULL) and k against the table's ranges. */
int engine_search_params_check(uint32_t k, const engine_search_params *sp, precis_error *err);

/* Top-k of the live points. `hits` is a caller array of k entries; *nhits
 * receives min(k, live points). `sp` may be NULL. */
int engine_search(engine *e, const char *coll, const float *query, uint32_t dim, uint32_t k,
                  const engine_search_params *sp, engine_hit *hits, size_t *nhits,
                  precis_error *err);

/* ---- filters (index/filter/filter.c; docs/PROTOCOL.md, Filter) ----
 * A filter is a tree of groups written as a list: groups[0] is the top
 * level, and a GROUP condition of group j names a later group i > j; every
 * group but the first is named exactly once. A group passes when all its
 * `must` conditions pass, at least one `should` passes (or it has none),
 * and no `must_not` passes; the empty filter passes every point.
 * Conditions test the point's metadata JSON at a dotted path ("a.b.c"
 * walks nested objects); when the value there is an array, MATCH, ANY and
 * the ranges pass if one element does. Absent fields fail MATCH, ANY and
 * the ranges, and pass NONE. */
typedef enum {
  ENGINE_FILTER_MATCH = 1,      /* equals `value` (keyword, integer or bool) */
  ENGINE_FILTER_ANY = 2,        /* equals one of keywords/integers */
  ENGINE_FILTER_NONE = 3,       /* equals none of keywords/integers */
  ENGINE_FILTER_RANGE = 4,      /* number in the range (has_* bounds) */
  ENGINE_FILTER_DATE_RANGE = 5, /* RFC 3339 string in the range (dt_* bounds) */
  ENGINE_FILTER_EXISTS = 6,     /* flag: present and not null / absent or null */
  ENGINE_FILTER_IS_NULL = 7,    /* flag: present and null / not so */
  ENGINE_FILTER_HAS_ID = 8,     /* the point's id is one of `ids`; no key */
  ENGINE_FILTER_GROUP = 9       /* groups[group] passes; no key */
} engine_filter_kind;

typedef enum {
  ENGINE_FVAL_KEYWORD = 0,
  ENGINE_FVAL_INTEGER = 1,
  ENGINE_FVAL_BOOL = 2
} engine_filter_value_type;

typedef struct {
  engine_filter_kind kind;
  const char *key;                /* dotted path; unused by HAS_ID, GROUP */
  engine_filter_value_type vtype; /* MATCH */
  const char *keyword;            /* MATCH keyword */
  int64_t integer;                /* MATCH integer */
  bool flag;                      /* MATCH bool; EXISTS, IS_NULL sense */
  const char *const *keywords;    /* ANY, NONE */
  size_t n_keywords;
  const int64_t *integers; /* ANY, NONE */
  size_t n_integers;
  bool has_gt, has_gte, has_lt, has_lte; /* RANGE bounds present */
  double gt, gte, lt, lte;
  const char *dt_gt, *dt_gte, *dt_lt, *dt_lte; /* DATE_RANGE; NULL = none */
  const uint64_t *ids;                         /* HAS_ID */
  size_t n_ids;
  uint32_t group; /* GROUP */
} engine_filter_cond;

typedef struct {
  const engine_filter_cond *must, *should, *must_not;
  size_t n_must, n_should, n_must_not;
} engine_filter_group;

typedef struct engine_filter engine_filter; /* compiled, immutable */

/* Check a filter against precis/limits.h (PRECIS_MAX_FILTER_*) and compile
 * it. INVALID_ARGUMENT for a malformed tree or an unparseable date,
 * OUT_OF_RANGE past a limit. The compiled filter copies everything it needs;
 * free with engine_filter_destroy() (NULL is a no-op). It may be shared by
 * concurrent calls. */
int engine_filter_compile(const engine_filter_group *groups, size_t n_groups, engine_filter **out,
                          precis_error *err);
void engine_filter_destroy(engine_filter *f);

/* How a filtered search or retrieval ran (the response carries it). */
typedef enum {
  ENGINE_FPLAN_NONE = 0, /* no filter */
  ENGINE_FPLAN_SCAN = 1, /* exact scan of the points that pass */
  ENGINE_FPLAN_ANN = 2   /* ANN search restricted to points that pass */
} engine_filter_plan;

typedef struct {
  engine_filter_plan plan;
  uint64_t estimate;  /* estimated points passing the filter */
  uint64_t checked;   /* points whose metadata the filter was tested on */
  uint32_t ef_search; /* efSearch of a filtered ANN search (0 otherwise) */
  bool unindexed;     /* some condition was tested on candidates' stored
                            metadata rather than answered by an index */
} engine_filter_report;

/* engine_search restricted to points passing `f` (NULL: no filter, as
 * engine_search); exact results at every selectivity where `sp->exact`,
 * else ANN over the passing points (see docs/PROTOCOL.md, Filter). `rep`
 * (may be NULL) receives how it ran. */
int engine_search_filtered(engine *e, const char *coll, const float *query, uint32_t dim,
                           uint32_t k, const engine_search_params *sp, const engine_filter *f,
                           engine_hit *hits, size_t *nhits, engine_filter_report *rep,
                           precis_error *err);
/* Payload indexes (index/filter/payload_index.c): declared per collection and
 * metadata key (dotted path), kept in RocksDB in the same write batch as the
 * points they index. A new index is built in the background from the
 * stored metadata and used by filters once ready (survives restarts; a
 * build cut short resumes on open). What each type answers:
 *   KEYWORD  match/any/none of keywords (string values)
 *   INTEGER  match/any/none of integers (whole numbers)
 *   FLOAT    range (every number)
 *   BOOL     match of a bool
 *   DATETIME date_range (RFC 3339 strings)
 * Array values index each element. */
typedef enum {
  ENGINE_PINDEX_KEYWORD = 0,
  ENGINE_PINDEX_INTEGER = 1,
  ENGINE_PINDEX_FLOAT = 2,
  ENGINE_PINDEX_BOOL = 3,
  ENGINE_PINDEX_DATETIME = 4
} engine_pindex_type;

typedef struct {
  char key[PRECIS_MAX_FILTER_KEY_LEN + 1];
  engine_pindex_type type;
  bool ready;         /* false while the background build runs */
  bool in_memory;     /* its postings are also held as in-memory bitmaps */
  uint64_t mem_bytes; /* bytes those bitmaps hold (0 when not in memory) */
  uint64_t values;    /* distinct values held in memory */
} engine_pindex_info;

/* ALREADY_EXISTS when `key` has an index (of any type); OUT_OF_RANGE past
 * PRECIS_MAX_PAYLOAD_INDEXES. Returns once declared; the build runs on. */
int engine_payload_index_create(engine *e, const char *coll, const char *key,
                                engine_pindex_type type, precis_error *err);
int engine_payload_index_drop(engine *e, const char *coll, const char *key, precis_error *err);
/* *out malloc'd (free()), ordered by key. */
int engine_payload_index_list(engine *e, const char *coll, engine_pindex_info **out, size_t *n,
                              precis_error *err);
/* Live points passing f (NULL: all). */
int engine_count_filtered(engine *e, const char *coll, const engine_filter *f, uint64_t *out,
                          precis_error *err);
/* One page of the points passing f (NULL: all) in ascending id order, from
 * id `cursor` on: at most `limit` (1..PRECIS_MAX_SCROLL_LIMIT) points, after
 * examining at most PRECIS_SCROLL_SCAN_BUDGET stored ones. *out as
 * engine_get's (all found; free with engine_points_free(*out, *n)).
 * *next_cursor resumes after the page; *more false when the collection has
 * no ids past it. A page may hold fewer than `limit` points (even none)
 * with *more true. */
int engine_scroll(engine *e, const char *coll, const engine_filter *f, uint64_t cursor,
                  uint32_t limit, bool with_vectors, engine_point **out, size_t *n,
                  uint64_t *next_cursor, bool *more, precis_error *err);
/* Delete every point passing f (required) under one hold of the write
 * lock, in atomic batches of PRECIS_MAX_BATCH; *deleted may be NULL. */
int engine_delete_filtered(engine *e, const char *coll, const engine_filter *f, uint64_t *deleted,
                           precis_error *err);
/* Set the metadata of the existing ids among ids[0..n) to `meta` (a JSON
 * object; merge = false) or to their metadata with meta's top-level keys
 * set (merge = true; a null value is kept as null), without touching
 * vectors or text; one atomic batch, payload indexes updated with it.
 * *updated (may be NULL) counts the points changed. */
int engine_set_payload(engine *e, const char *coll, const uint64_t *ids, size_t n, const char *meta,
                       size_t meta_len, bool merge, size_t *updated, precis_error *err);
/* ---- end filters ---- */

/* ---- graph (kNN edges and knowledge links) ---- */
#define ENGINE_EDGE_KNN   1u
#define ENGINE_EDGE_LINKS 2u
#define ENGINE_DIR_OUT    1u
#define ENGINE_DIR_IN     2u

typedef struct {
  uint64_t src, dst;
  char kind[PRECIS_MAX_LINK_KIND_LEN + 1]; /* "knn" for kNN edges */
  float weight;
} engine_edge;

/* Add (add = true; weights in (0,1], both ends must exist) or remove
 * (add = false; absent links are skipped) n knowledge links in one atomic,
 * durable batch. *changed (may be NULL) counts links created or removed. A bad
 * link fails the whole batch. n in 1..PRECIS_MAX_BATCH. */
int engine_links_change(engine *e, const char *coll, const engine_edge *links, size_t n, bool add,
                        size_t *changed, precis_error *err);
/* Edges of `id`: kinds = ENGINE_EDGE_* mask, `kind` (may be NULL) narrows
 * links to one label, dirs = ENGINE_DIR_* mask (0 = both, as on the wire).
 * *out malloc'd; free(). */
int engine_edges_list(engine *e, const char *coll, uint64_t id, unsigned kinds, const char *kind,
                      unsigned dirs, engine_edge **out, size_t *n, precis_error *err);
/* Recompute every kNN edge from the ANN index (FAISS parallelises the
 * batched searches over its OpenMP threads). Runs in steps of 1,024 points,
 * each one atomic batch with the edge counter and one hold of the
 * collection's write lock: a failure or crash midway leaves every point
 * with its old or its new kNN list. */
int engine_graph_rebuild(engine *e, const char *coll, precis_error *err);
/* Compare the collection's edges in memory with those in RocksDB: OK when
 * equal, CORRUPTION naming the first difference (tests, diagnostics). */
int engine_graph_check(engine *e, const char *coll, precis_error *err);

/* ---- retrieve: seeds -> expansion -> selection ---- */
typedef enum { ENGINE_MODE_COMPRESS = 0, ENGINE_MODE_TOPK = 1, ENGINE_MODE_MMR = 2 } engine_mode;

/* Coverage form of COMPRESS (same numbers as select_coverage and the wire
 * enum Coverage). AUTO: EXACT while pool*pool*(dim + SELECT_AUTO_ROW_COST)
 * <= SELECT_AUTO_EXACT_WORK
 * (index/retrieve/select.h), else SAMPLE; retrieve never hands AUTO the kNN lists,
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
  /* The scalar parameters: one member per row of PRECIS_RETRIEVE_PARAM_MAP
   * (precis/params.h), which gives its type, default, range and meaning:
   * k, token_budget, mode (engine_mode), seeds, expand_from, hops, fanout,
   * pool, follow_knn, follow_links, graph_weight, decay, lambda, diversity,
   * a, b, c, theta, coverage (engine_coverage), exact_seeds, ef_search,
   * nprobe, max_represented_ids. */
  PRECIS_RETRIEVE_PARAM_MAP(PRECIS_PARAM_MEMBER)
  const char *const *link_kinds; /* restrict links to these labels */
  size_t n_link_kinds;
  /* filter (index/filter/filter.c): only points passing it are seeds, enter the
   * pool, are selected or counted as represented; NULL = none. Borrowed. */
  const engine_filter *filter;
  /* group_by: a dotted metadata path (filter_check_key's rules); NULL or
   * "" = none. Before the selection, each value of that field keeps only
   * its group_limit most relevant pool points, so at most group_limit items
   * share a value; points without the field (or with null, an array or an
   * object there) are in no group. Borrowed. */
  const char *group_by;
} engine_retrieve_params;

/* Every row's default (query NULL, no link kinds, no filter). */
void engine_retrieve_params_default(engine_retrieve_params *p);
/* Every row's range (PRECIS_E_OUT_OF_RANGE; an unknown mode or coverage
 * PRECIS_E_INVALID_ARGUMENT) and the link kinds; engine_retrieve checks. */
int engine_retrieve_params_check(const engine_retrieve_params *p, precis_error *err);

typedef struct {
  uint64_t id;
  char *text;
  char *meta;
  uint32_t tokens;
  float relevance;           /* blended, rescaled relevance used by selection */
  float similarity;          /* exact similarity to the query */
  float gain;                /* marginal gain when chosen */
  uint32_t hops;             /* 0 for seeds */
  uint64_t via;              /* point it was reached from (== id for seeds) */
  uint64_t link_end;         /* end of the link on its strongest path: == id,
                                or the point it is the analogue of */
  uint32_t represents;       /* pool points it stands for */
  uint64_t *represented_ids; /* capped list */
  uint32_t n_represented_ids;
} engine_retrieved;

typedef struct {
  engine_retrieved *items;
  size_t n;
  double objective, coverage_ratio, redundancy, mean_relevance;
  int coverage_used; /* engine_coverage that ran (never AUTO); TOPK and
                              MMR optimise no coverage and report what AUTO
                              or the requested form resolved to */
  uint32_t pool_size, seed_count;
  uint64_t t_seed_us, t_expand_us, t_select_us, t_total_us;
  engine_filter_report filter_report; /* plan NONE without a filter */
} engine_retrieve_result;

/* *out allocated by the engine; free with engine_retrieve_result_free(). */
int engine_retrieve(engine *e, const char *coll, const engine_retrieve_params *p,
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
/* Test hook (fault injection), process-wide: after `countdown` more
 * successful insertions into an ANN index, every insertion fails (the
 * RocksDB writes still succeed; ann_debug_fail_adds_after); -1 disables.
 * Never set in production. */
void engine_debug_fail_index_adds_after(long countdown);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_INDEX_ENGINE_H */
