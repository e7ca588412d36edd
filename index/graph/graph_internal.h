/* graph_internal.h: edge-key helpers and graph entry points used by the
 * engine, the kNN module and retrieve. Internal to index/. */
#ifndef PRECIS_INDEX_GRAPH_INTERNAL_H
#define PRECIS_INDEX_GRAPH_INTERNAL_H

#include "graph.h"

/* Encode cid|a|klen|kind|b into k (>= 21 + 32 bytes); returns its length. */
size_t graph__edge_key(unsigned char *k, uint32_t cid, uint64_t a, const char *kind, size_t klen,
                       uint64_t b);
/* Decode; kind receives klen bytes + NUL. -1 on a malformed key. */
int graph__parse_key(const unsigned char *k, size_t kl, uint64_t *a, char *kind, uint64_t *b);
/* One EDGE entry's edges: a link (its key names both ends) or a point's kNN
 * out-list (one key cid|src|0, the list in the value; graph.h). fn gets
 * each edge (kind "" for kNN) and returns nonzero to stop; the result is
 * fn's nonzero value, 0, or GRAPH_ENTRY_BAD for a malformed entry. */
#define GRAPH_ENTRY_BAD 1
typedef int (*graph_edge_fn)(void *ctx, uint64_t src, const char *kind, uint64_t dst, float w);
int graph__entry_edges(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                       graph_edge_fn fn, void *ctx);
/* Every EDGE entry under prefix through graph__entry_edges. fn's negative
 * value stops with NO_MEMORY (`what` names it). strict: a malformed entry
 * is CORRUPTION, and fn's positive value stops with CORRUPTION (fn set
 * err); otherwise malformed entries are skipped. */
int graph__scan(store *st, const unsigned char *prefix, size_t pl, bool strict, graph_edge_fn fn,
                void *ctx, const char *what, precis_error *err);
/* Put the kNN out-lists the staged changes touch into b, each whole (or
 * delete the key of an emptied one); every write that changes kNN edges
 * calls it before the write. NO_MEMORY when staging lost changes (nothing
 * may then be written). Write lock held. */
int graph__stage_knn_lists(coll *c, store_batch *b, precis_error *err);
/* Data format 3 (index/store/format.h): rewrite the kNN edges of format 2
 * (one key cid|src|0|dst per edge) as one list per point into b. */
int graph__migrate_knn_lists(store *st, store_batch *b, precis_error *err);
void graph__batch_put_edge(coll *c, store_batch *b, uint64_t src, uint64_t dst, const char *kind,
                           size_t klen, float w);
void graph__batch_del_edge(coll *c, store_batch *b, uint64_t src, uint64_t dst, const char *kind,
                           size_t klen);
void graph__stage_counters(coll *c, store_batch *b);
/* Write a batch of edge changes only (links, kNN rebuild) as a write of
 * its own: edge counters, graph log entry, the next sequence; on success
 * the staged edges are committed and `ops` noted for upkeep (upkeep.h).
 * Write lock held; on failure the caller aborts (graph__abort). */
int graph__write(coll *c, store_batch *b, size_t ops, precis_error *err);
/* Make sure the in-memory edges are usable (reload them when an earlier
 * allocation failure left them incomplete); write lock held. */
int graph__mem_ready(coll *c, precis_error *err);

int graph_check_kind(const char *kind, precis_error *err);
/* Add (or re-weight) / remove n knowledge links in one batch
 * (engine_links_change); takes the write lock. */
int graph_links_change(coll *c, const engine_edge *links, size_t n, bool add, size_t *changed,
                       precis_error *err);
int graph_edges_list(coll *c, uint64_t id, unsigned kinds, const char *kind, unsigned dirs,
                     engine_edge **out, size_t *n, precis_error *err);
/* kNN graph (graph_knn.c). */
int graph_knn_rebuild(coll *c, precis_error *err);

#endif
