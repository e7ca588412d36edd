/*
 * precis/precis.h: libprecis, the C client of the Precis retrieval server.
 *
 * Conventions (read these first; every function below follows them):
 *   - Opaque handles only. A connection is a `precis_conn *` made by
 *     precis_connect() and released by precis_close(). Result sets are plain
 *     structs that the library allocates and the caller releases with the
 *     named free function (precis_points_free(), precis_edges_free(),
 *     precis_collection_infos_free(), precis_retrieve_result_free()). Every
 *     free function accepts NULL. Structs the caller fills (precis_point,
 *     precis_edge, precis_retrieve_params, ...) are caller-owned; the library
 *     only reads them during the call and keeps no pointer to them.
 *   - Every function that can fail returns an int status from
 *     precis/status.h: PRECIS_OK (0) or a positive PRECIS_E_* code. A status
 *     reported by the server (NOT_FOUND, DIMENSION_MISMATCH, ...) is passed
 *     through unchanged with the server's message. Transport problems are
 *     PRECIS_E_CONNECTION (refused, reset, closed) or PRECIS_E_TIMEOUT; a
 *     malformed response is PRECIS_E_PROTOCOL.
 *   - The last parameter is an optional caller-owned `precis_error *` (may
 *     be NULL) filled with the code and a message on failure. The connection
 *     also remembers the outcome of its most recent call:
 *     precis_conn_last_error() / precis_conn_last_status() (like hiredis's
 *     errstr), cleared by the next successful call.
 *   - Out-parameters are written only on success (on failure they are left
 *     NULL / 0 where they are pointers or counts).
 *   - Timeouts: `timeout_ms` bounds connect and each call (send + receive).
 *     0 or negative means wait forever. After a timeout while *sending*, or
 *     after any PRECIS_E_CONNECTION, the connection is finished: every later
 *     call fails with PRECIS_E_CONNECTION; close it and connect again. After
 *     a timeout while *waiting for the response* the connection stays
 *     usable; the late response is recognised by its id and discarded.
 *   - Threads: a precis_conn is NOT thread-safe. Use one connection per
 *     thread (or serialise access yourself). Different connections are
 *     independent. The library has no global state and installs no signal
 *     handlers (it writes with MSG_NOSIGNAL, so a closed peer never raises
 *     SIGPIPE).
 *   - Strings are NUL-terminated UTF-8. Metadata is a JSON object as text
 *     (NULL or "" = {}). Vectors are float32 arrays of `dim` components.
 *   - Limits are those of precis/limits.h; exceeding one yields
 *     PRECIS_E_OUT_OF_RANGE (from the server) or PRECIS_E_FRAME_TOO_LARGE
 *     (a request larger than PRECIS_DEFAULT_MAX_FRAME, checked locally).
 *   - Identifiers are prefixed precis_ / PRECIS_. This header includes only
 *     standard headers and the other public Precis headers.
 *
 * Caveats: no automatic reconnect, no retries, no TLS. Pipelining is offered
 * only for search (precis_search_batch).
 */
#ifndef PRECIS_PRECIS_H
#define PRECIS_PRECIS_H

#include <stddef.h>
#include <stdint.h>

#include "precis/limits.h"
#include "precis/params.h"
#include "precis/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PRECIS_DEFAULT_PORT 7878

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

typedef struct precis_conn precis_conn;

/* Connect to host:port (host: name or numeric address). When `token` is not
 * NULL an AuthRequest is sent and must succeed (PRECIS_E_UNAUTHENTICATED
 * otherwise). On success *out is a new connection the caller releases with
 * precis_close(). */
int precis_connect(const char *host, uint16_t port, const char *token, int timeout_ms,
                   precis_conn **out, precis_error *err);

/* Close the socket and free the connection. NULL is allowed. */
void precis_close(precis_conn *c);

/* Change the per-call timeout (milliseconds, <= 0 = none). */
void precis_conn_set_timeout(precis_conn *c, int timeout_ms);

/* Message and status of the connection's most recent call: "" and PRECIS_OK
 * after a success. The string is borrowed: valid until the next call on `c`
 * or precis_close(). */
const char *precis_conn_last_error(const precis_conn *c);
int precis_conn_last_status(const precis_conn *c);

/* ------------------------------------------------------------------ */
/* Collections                                                         */
/* ------------------------------------------------------------------ */

typedef enum { PRECIS_METRIC_COSINE = 0, PRECIS_METRIC_IP = 1, PRECIS_METRIC_L2 = 2 } precis_metric;

/* Caller-filled configuration of a new collection. */
typedef struct precis_collection_config {
  uint32_t dim;                  /* 1..PRECIS_MAX_DIM */
  precis_metric metric;          /* default COSINE */
  const char *index_spec;        /* FAISS factory string; NULL or "" = default */
  uint32_t knn_k;                /* kNN-graph degree; 0 = server default (16) */
  uint32_t hnsw_ef_construction; /* 0 = default */
  uint32_t hnsw_ef_search;       /* 0 = default */
  uint32_t ivf_nprobe;           /* 0 = default */
} precis_collection_config;

/* Fill `cfg` with defaults for vectors of `dim` components. */
void precis_collection_config_init(precis_collection_config *cfg, uint32_t dim);

/* Description of a collection as the server reports it (self-contained: no
 * pointers, nothing to free when returned by value). */
typedef struct precis_collection_info {
  char name[PRECIS_MAX_NAME_LEN + 1];
  uint32_t dim;
  precis_metric metric;
  char index_spec[PRECIS_MAX_INDEX_SPEC_LEN + 1];
  uint32_t knn_k, hnsw_ef_construction, hnsw_ef_search, ivf_nprobe;
  uint64_t count;     /* live points */
  uint64_t ann_total; /* vectors in the ANN index, live or not */
  uint64_t tombstones;
  uint64_t knn_edges;
  uint64_t links;
  uint64_t disk_bytes;
  uint64_t seq;       /* last applied write */
  uint64_t index_seq; /* write reflected by the saved index */
} precis_collection_info;

/* Create collection `name`. `info` (may be NULL) receives its description. */
int precis_collection_create(precis_conn *c, const char *name, const precis_collection_config *cfg,
                             precis_collection_info *info, precis_error *err);
/* Describe collection `name` into caller-owned *info. */
int precis_collection_describe(precis_conn *c, const char *name, precis_collection_info *info,
                               precis_error *err);
/* All collections. *out (n entries, NULL when n = 0) is allocated by the
 * library; the caller frees it with precis_collection_infos_free(). */
int precis_collection_list(precis_conn *c, precis_collection_info **out, size_t *n,
                           precis_error *err);
void precis_collection_infos_free(precis_collection_info *infos);
/* Drop collection `name` and all its points and edges. */
int precis_collection_drop(precis_conn *c, const char *name, precis_error *err);

/* ------------------------------------------------------------------ */
/* Points                                                              */
/* ------------------------------------------------------------------ */

/* A point to upsert. Every pointer is borrowed for the call only. */
typedef struct precis_point {
  uint64_t id;
  const float *vector; /* dim components */
  uint32_t dim;
  const char *text;     /* NULL = "" */
  const char *metadata; /* JSON object text; NULL or "" = {} */
  int64_t tokens;       /* token count; < 0 = let the server compute it */
} precis_point;

/* Insert or replace n points (1..PRECIS_MAX_BATCH) atomically.
 * *upserted (may be NULL) receives the server's count. */
int precis_upsert(precis_conn *c, const char *collection, const precis_point *points, size_t n,
                  uint64_t *upserted, precis_error *err);
/* precis_upsert with flags. PRECIS_UPSERT_DEFER_GRAPH (first loads): the
 * points get no kNN edges until precis_graph_rebuild, which the caller
 * sends once after the load (existing edges stay as they are). */
#define PRECIS_UPSERT_DEFER_GRAPH 1u
int precis_upsert_flags(precis_conn *c, const char *collection, const precis_point *points,
                        size_t n, unsigned flags, uint64_t *upserted, precis_error *err);

/* A stored point returned by precis_get(); owned by its precis_points. */
typedef struct precis_stored_point {
  uint64_t id;
  float *vector;  /* dim components, NULL when fetched without vectors */
  uint32_t dim;   /* 0 without vectors */
  char *text;     /* never NULL ("" when empty) */
  char *metadata; /* JSON object text, never NULL */
  int64_t tokens;
} precis_stored_point;

typedef struct precis_points {
  precis_stored_point *points; /* n found points, in the order of the ids */
  size_t n;
  uint64_t *missing; /* ids that do not exist */
  size_t n_missing;
} precis_points;

/* Fetch points by id. *out is allocated by the library and freed by the
 * caller with precis_points_free() (which frees everything inside). */
int precis_get(precis_conn *c, const char *collection, const uint64_t *ids, size_t n,
               int with_vectors, precis_points **out, precis_error *err);
void precis_points_free(precis_points *p);

/* Delete points (and their edges). *deleted (may be NULL) receives how many
 * existed. Unknown ids are not an error. */
int precis_delete(precis_conn *c, const char *collection, const uint64_t *ids, size_t n,
                  uint64_t *deleted, precis_error *err);

/* ------------------------------------------------------------------ */
/* Graph: knowledge links and kNN edges                                */
/* ------------------------------------------------------------------ */

/* One edge; self-contained (the kind is stored inline). */
typedef struct precis_edge {
  uint64_t src, dst;
  char kind[PRECIS_MAX_LINK_KIND_LEN + 1]; /* link label; kNN edges: as the server names them */
  float weight;
} precis_edge;

/* Fill `e` (kind truncated to PRECIS_MAX_LINK_KIND_LEN bytes). */
void precis_edge_set(precis_edge *e, uint64_t src, uint64_t dst, const char *kind, float weight);

/* Add or remove n knowledge links (src -> dst, labelled `kind`, weight in
 * (0, 1]; the server answers OUT_OF_RANGE otherwise). *changed (may be
 * NULL) receives the server's count of links actually added / removed. */
int precis_link_add(precis_conn *c, const char *collection, const precis_edge *links, size_t n,
                    uint64_t *changed, precis_error *err);
int precis_link_remove(precis_conn *c, const char *collection, const precis_edge *links, size_t n,
                       uint64_t *changed, precis_error *err);

/* Flags of precis_edges_list(). With neither KNN nor LINKS both are listed;
 * with neither OUT nor IN both directions are listed. */
#define PRECIS_EDGES_KNN   1u
#define PRECIS_EDGES_LINKS 2u
#define PRECIS_EDGES_OUT   4u
#define PRECIS_EDGES_IN    8u

/* Edges touching point `id`. `kind` (may be NULL) narrows links to one
 * label. *out (n entries) is allocated by the library and freed by the
 * caller with precis_edges_free(). */
int precis_edges_list(precis_conn *c, const char *collection, uint64_t id, unsigned flags,
                      const char *kind, precis_edge **out, size_t *n, precis_error *err);
void precis_edges_free(precis_edge *edges);

/* Recompute every kNN edge of the collection. */
int precis_graph_rebuild(precis_conn *c, const char *collection, precis_error *err);

/* ------------------------------------------------------------------ */
/* Search (plain ANN top-k)                                            */
/* ------------------------------------------------------------------ */

typedef struct precis_hit {
  uint64_t id;
  float score; /* similarity (cosine/ip) or distance (l2) as the server reports it */
} precis_hit;

/* ------------------------------------------------------------------ */
/* Filters (docs/PROTOCOL.md, "Filter")                                */
/* ------------------------------------------------------------------ */

/* A parsed filter, reusable across calls and connections (read-only once
 * parsed). Its JSON form, also that of the CLI's --filter:
 *   {"must": [C...], "should": [C...], "must_not": [C...]}
 * where each condition C is one of
 *   {"key": "a.b", "match": "kw" | 12 | true}
 *   {"key": "a.b", "any": ["kw", 12, ...]}    {"key": ..., "none": [...]}
 *   {"key": "a.b", "range": {"gt"|"gte"|"lt"|"lte": number, ...}}
 *   {"key": "a.b", "date_range": {"gte": "2024-01-01T00:00:00Z", ...}}
 *   {"key": "a.b", "exists": true|false}     {"key": ..., "is_null": true|false}
 *   {"has_id": [1, 2, 3]}
 *   a nested {"must": ..., "should": ..., "must_not": ...}
 * Malformed JSON or an unknown field: PRECIS_E_INVALID_ARGUMENT with the
 * place; nesting deeper than PRECIS_MAX_FILTER_DEPTH or more than
 * PRECIS_MAX_FILTER_GROUPS groups: PRECIS_E_OUT_OF_RANGE. The server checks
 * the remaining limits. *out is freed with precis_filter_free(). */
typedef struct precis_filter precis_filter;
int precis_filter_parse(const char *json, precis_filter **out, precis_error *err);
void precis_filter_free(precis_filter *f);

typedef enum {
  PRECIS_FILTER_PLAN_NONE = 0, /* no filter */
  PRECIS_FILTER_PLAN_SCAN = 1, /* exact scan of the points that pass */
  PRECIS_FILTER_PLAN_ANN = 2   /* ANN restricted to the points that pass */
} precis_filter_plan;

/* How the server ran a filtered call. */
typedef struct precis_filter_report {
  precis_filter_plan plan;
  uint64_t estimate;  /* estimated points passing */
  uint64_t checked;   /* points whose stored metadata was tested */
  uint32_t ef_search; /* efSearch of a filtered ANN search */
  int unindexed;      /* 1: a condition was checked on candidates' metadata */
} precis_filter_report;

/* Payload indexes (docs/PROTOCOL.md, "Payload indexes"): declared per
 * collection and metadata key, built in the background on a live
 * collection and used by filters once ready. */
typedef enum {
  PRECIS_PINDEX_KEYWORD = 0, /* match/any of strings */
  PRECIS_PINDEX_INTEGER = 1, /* match/any of whole numbers */
  PRECIS_PINDEX_FLOAT = 2,   /* range */
  PRECIS_PINDEX_BOOL = 3,    /* match of a bool */
  PRECIS_PINDEX_DATETIME = 4 /* date_range */
} precis_pindex_type;

typedef struct precis_pindex_info {
  char key[PRECIS_MAX_FILTER_KEY_LEN + 1];
  precis_pindex_type type;
  int ready;             /* 0 while it is being built */
  int in_memory;         /* its postings are also in-memory bitmaps */
  uint64_t memory_bytes; /* bytes those bitmaps hold */
  uint64_t values;       /* distinct values held in memory */
} precis_pindex_info;

int precis_payload_index_create(precis_conn *c, const char *collection, const char *key,
                                precis_pindex_type type, precis_error *err);
int precis_payload_index_drop(precis_conn *c, const char *collection, const char *key,
                              precis_error *err);
/* *out (n entries, ordered by key) is freed with free(). */
int precis_payload_index_list(precis_conn *c, const char *collection, precis_pindex_info **out,
                              size_t *n, precis_error *err);

/* Live points passing `filter` (NULL: all). */
int precis_count(precis_conn *c, const char *collection, const precis_filter *filter,
                 uint64_t *count, precis_error *err);
/* One page of the points passing `filter` (NULL: all), ascending by id,
 * from id `cursor` on (0: the start): at most `limit` (1..10000; 0 = 100).
 * *out (free with precis_points_free; `missing` empty) may hold fewer than
 * `limit` points, even none, while *more is 1: the server examines at most
 * PRECIS_SCROLL_SCAN_BUDGET stored points per page. Continue with
 * *next_cursor while *more. */
int precis_scroll(precis_conn *c, const char *collection, const precis_filter *filter,
                  uint64_t cursor, uint32_t limit, int with_vectors, precis_points **out,
                  uint64_t *next_cursor, int *more, precis_error *err);
/* Delete every point passing `filter` (required). */
int precis_delete_by_filter(precis_conn *c, const char *collection, const precis_filter *filter,
                            uint64_t *deleted, precis_error *err);
/* New metadata (a JSON object) for the existing ids among ids[0..n):
 * merge = 1 sets its top-level keys in each point's metadata, merge = 0
 * replaces it. Vectors and text are untouched; one atomic write. */
int precis_set_payload(precis_conn *c, const char *collection, const uint64_t *ids, size_t n,
                       const char *metadata, int merge, uint64_t *updated, precis_error *err);

/* Optional search knobs; pass NULL for defaults. One member per row of
 * PRECIS_SEARCH_OPTS_MAP (precis/params.h: type, default, range, meaning):
 * exact (1: brute force instead of the ANN index), ef_search, nprobe (0:
 * the collection's). A zeroed struct is the defaults. */
typedef struct precis_search_opts {
  PRECIS_SEARCH_OPTS_MAP(PRECIS_PARAM_MEMBER)
} precis_search_opts;

/* The k (1..PRECIS_MAX_K) nearest live points to `vector`. `hits` is a
 * caller array of at least k entries; *nhits receives how many were filled
 * (fewer than k when the collection is small). */
int precis_search(precis_conn *c, const char *collection, const float *vector, uint32_t dim,
                  uint32_t k, const precis_search_opts *opts, precis_hit *hits, size_t *nhits,
                  precis_error *err);

/* precis_search restricted to the points passing `filter` (NULL: exactly
 * precis_search). `report` (may be NULL) receives how the server ran it. */
int precis_search_filtered(precis_conn *c, const char *collection, const float *vector,
                           uint32_t dim, uint32_t k, const precis_search_opts *opts,
                           const precis_filter *filter, precis_hit *hits, size_t *nhits,
                           precis_filter_report *report, precis_error *err);

/* Pipelined search: n queries (row-major n*dim floats) are written without
 * waiting for answers (at most PRECIS_SEARCH_BATCH_WINDOW in flight) and the
 * responses, which may arrive in any order, are matched by request id.
 * `hits` is a caller array of n*k entries (query i owns hits[i*k ..]);
 * nhits[i] receives the count for query i. `statuses` (n entries, may be
 * NULL) receives each query's status. Returns PRECIS_OK when every query
 * succeeded; otherwise the status of the first failing query (by index),
 * with `err` describing it. A transport error fails the whole batch. */
#define PRECIS_SEARCH_BATCH_WINDOW 1024
int precis_search_batch(precis_conn *c, const char *collection, const float *queries, size_t n,
                        uint32_t dim, uint32_t k, const precis_search_opts *opts, precis_hit *hits,
                        size_t *nhits, int *statuses, precis_error *err);

/* ------------------------------------------------------------------ */
/* Retrieve: seeds -> graph expansion -> set selection                 */
/* ------------------------------------------------------------------ */

typedef enum {
  PRECIS_MODE_COMPRESS = 0, /* submodular coverage/diversity selection */
  PRECIS_MODE_TOPK = 1,     /* the k most relevant */
  PRECIS_MODE_MMR = 2       /* maximal marginal relevance */
} precis_mode;

/* Coverage form of COMPRESS. AUTO (the default): EXACT while
 * pool*pool*(dim + 100) <= 2.6e8 (pool 732 at 384-d, pool 1,140 at 100-d),
 * else SAMPLE; see docs/RETRIEVAL.md. */
typedef enum {
  PRECIS_COVERAGE_EXACT = 0,  /* full pool x pool similarities */
  PRECIS_COVERAGE_SPARSE = 1, /* kNN edges inside the pool */
  PRECIS_COVERAGE_SAMPLE = 2, /* a deterministic sample of the pool */
  PRECIS_COVERAGE_AUTO = 3    /* EXACT while cheap, else SAMPLE */
} precis_coverage;

/* Mirrors precis.proto RetrieveRequest. Fill with
 * precis_retrieve_params_init() (every row's default), then change what you
 * need; every parameter is sent with presence, so 0 means 0. Pointers are
 * borrowed for the call. */
typedef struct precis_retrieve_params {
  const float *vector; /* query vector (dim components), or NULL with */
  uint32_t dim;
  int use_query_point; /* 1: use the stored vector of query_point */
  uint64_t query_point;
  /* The scalar parameters: one member per row of PRECIS_RETRIEVE_PARAM_MAP
   * (precis/params.h), which gives its type, default, range and meaning:
   * k, token_budget, mode (precis_mode), seeds, expand_from, hops, fanout,
   * pool, follow_knn, follow_links, graph_weight, decay, lambda, diversity
   * (PRECIS_DIVERSITY_AUTO: the server's), a, b, c, theta
   * (PRECIS_THETA_AUTO: from diversity), coverage (precis_coverage),
   * exact_seeds, ef_search, nprobe, max_represented_ids. */
  PRECIS_RETRIEVE_PARAM_MAP(PRECIS_PARAM_MEMBER)
  const char *const *link_kinds; /* restrict links to these labels; NULL = all */
  size_t n_link_kinds;
  const precis_filter *filter; /* only points passing it; NULL = none */
  /* at most group_limit items share one value of this metadata field (a
   * dotted path, as in filters); NULL or "" = none. Borrowed. */
  const char *group_by;
} precis_retrieve_params;

void precis_retrieve_params_init(precis_retrieve_params *p);

/* One selected point; owned by its precis_retrieve_result. */
typedef struct precis_retrieved_item {
  uint64_t id;
  char *text;     /* never NULL */
  char *metadata; /* JSON object text, never NULL */
  uint32_t tokens;
  float relevance;           /* blended relevance used by the selection */
  float similarity;          /* exact similarity to the query */
  float gain;                /* marginal gain when chosen */
  uint32_t hops;             /* 0 for seeds */
  uint64_t via;              /* point it was reached from (== id for seeds) */
  uint64_t link_end;         /* end of the link on its strongest path: == id,
                                or the linked point it is the analogue of */
  uint32_t represents;       /* pool points it stands for */
  uint64_t *represented_ids; /* capped list (max_represented_ids) */
  size_t n_represented_ids;
} precis_retrieved_item;

typedef struct precis_retrieve_result {
  precis_retrieved_item *items; /* n items in selection order */
  size_t n;
  double objective;      /* F(S) of the selected set */
  double coverage_ratio; /* share of the pool's relevance mass covered */
  double redundancy;     /* mean pairwise similarity within the set */
  double mean_relevance;
  precis_coverage coverage_used; /* the form that ran: EXACT, SPARSE or SAMPLE
                                    (never AUTO; EXACT from servers that
                                    predate AUTO). TOPK/MMR optimise no
                                    coverage: the form AUTO resolved to. */
  uint32_t pool_size, seed_count;
  uint64_t t_seed_us, t_expand_us, t_select_us, t_total_us;
  precis_filter_report filter_report; /* plan NONE without a filter */
} precis_retrieve_result;

/* Run a retrieve. *out is allocated by the library and freed by the caller
 * with precis_retrieve_result_free() (which frees every item). */
int precis_retrieve(precis_conn *c, const char *collection, const precis_retrieve_params *p,
                    precis_retrieve_result **out, precis_error *err);
void precis_retrieve_result_free(precis_retrieve_result *r);

/* ------------------------------------------------------------------ */
/* Server administration                                               */
/* ------------------------------------------------------------------ */

typedef struct precis_health {
  char version[64];
  uint64_t uptime_s;
  char faiss[256]; /* FAISS build the server runs */
} precis_health;

typedef struct precis_stats {
  uint64_t connections, requests, errors, inflight, rss_bytes;
  uint32_t workers;
  uint64_t uptime_s, bytes_in, bytes_out;
} precis_stats;

/* Caller-owned out structs (nothing to free). */
int precis_health_check(precis_conn *c, precis_health *out, precis_error *err);
int precis_stats_get(precis_conn *c, precis_stats *out, precis_error *err);

/* Write a consistent snapshot of the whole data directory under `name`
 * (server-side location). */
int precis_snapshot(precis_conn *c, const char *name, precis_error *err);

/* A snapshot in the server's snapshot directory (docs/OPERATIONS.md). */
typedef struct precis_snapshot_info {
  char name[PRECIS_MAX_NAME_LEN + 1];
  char path[4096]; /* on the server (truncated if longer) */
  uint64_t bytes;  /* sum of its files' sizes */
  uint64_t created_unix_s;
} precis_snapshot_info;

/* The server's snapshots, ordered by name: *out is a malloc'd array of *n
 * entries (NULL when none) that the caller frees with free(). */
int precis_snapshot_list(precis_conn *c, precis_snapshot_info **out, size_t *n, precis_error *err);
/* Delete the snapshot `name` on the server (NOT_FOUND when absent). */
int precis_snapshot_delete(precis_conn *c, const char *name, precis_error *err);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_PRECIS_H */
