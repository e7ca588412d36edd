/*
 * graph_mem.h: the in-memory copy of a collection's edges (EDGE, see
 * graph.h), read by expansion instead of RocksDB scans, and the only index
 * of in-edges.
 *
 * Conventions:
 *   - RocksDB stays the source of truth. Every edge change of a write batch
 *     is staged here (gmem_stage) while the batch is built, applied after
 *     the batch is durable (gmem_commit) and dropped when it is not
 *     (gmem_discard), so the copy equals RocksDB between writes. On open the
 *     copy is loaded from the graph snapshot and brought up to date with
 *     the ids logged since (gmem_decode, gmem_reload_ids; graph_snap.h), or
 *     built from the EDGE family (gmem_load).
 *   - Nodes: a point id that ever had an edge gets a dense node number;
 *     every node has an out-list (its EDGE keys) and an in-list (the EDGE
 *     keys that end at it), each a compact array of {node, kind, weight}, in no
 *     particular order. Kinds are interned: kind 0 is kNN (""), links get
 *     1, 2, ... in order of first use.
 *   - Locking: none inside; the collection lock guards it (readers shared,
 *     gmem_stage/commit/discard/load exclusive).
 *   - Out of memory while staging or applying: the copy reloads itself from
 *     RocksDB at the next commit; if that fails too it is marked unusable
 *     (gmem_usable) until a later commit reloads it.
 */
#ifndef PRECIS_INDEX_GRAPH_MEM_H
#define PRECIS_INDEX_GRAPH_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/status.h"
#include "store.h"

typedef struct gmem gmem;

typedef struct {
  uint32_t node; /* the other end (gmem_node_id) */
  uint32_t kind; /* interned kind, 0 = kNN */
  float w;
} gmem_edge;

/* NULL when out of memory. cid: the collection's key prefix. */
gmem *gmem_create(store *st, uint32_t cid);
void gmem_destroy(gmem *g);

/* Replace the copy by the edges stored in RocksDB. */
int gmem_load(gmem *g, precis_error *err);

/* Stage one put (weight w) or delete of src -[kind]-> dst; klen 0 = kNN. */
void gmem_stage(gmem *g, uint64_t src, uint64_t dst, const char *kind, size_t klen, float w,
                bool del);
/* Apply the staged changes (the batch is durable) / drop them. */
void gmem_commit(gmem *g);
void gmem_discard(gmem *g);
bool gmem_usable(const gmem *g);

/* Borrowed until the next exclusive call; *n = 0 (and NULL) for an id
 * without edges. */
const gmem_edge *gmem_out(const gmem *g, uint64_t id, size_t *n);
const gmem_edge *gmem_in(const gmem *g, uint64_t id, size_t *n);
/* Whether src -[kind]-> dst exists (klen 0 = kNN). */
bool gmem_has(const gmem *g, uint64_t src, uint64_t dst, const char *kind, size_t klen);
uint64_t gmem_node_id(const gmem *g, uint32_t node);
/* The node number of point id; false for an id without edges. */
bool gmem_node(const gmem *g, uint64_t id, uint32_t *node);
uint32_t gmem_nkinds(const gmem *g);
/* NUL-terminated kind name ("" for kNN). */
const char *gmem_kind_name(const gmem *g, uint32_t kind);

/* Compare the copy (out- and in-lists) with the edges in RocksDB: OK when
 * equal, CORRUPTION naming the first difference. */
int gmem_check(gmem *g, precis_error *err);
/* Bytes held by the copy (arrays and maps). */
size_t gmem_bytes(const gmem *g);

/* For every point whose kNN out-list the staged changes touch, the list
 * after them: fn(ctx, src, entries sorted by dst, n; n 0 = emptied),
 * which returns nonzero to stop. -1 when staging lost a change, the copy is
 * unusable, or out of memory (the lists are then unknown); else fn's
 * nonzero value or 0. */
typedef struct {
  uint64_t dst;
  float w;
} gmem_knn;
int gmem_staged_knn(const gmem *g, int (*fn)(void *ctx, uint64_t src, const gmem_knn *e, size_t n),
                    void *ctx);

/* ---- snapshot (graph_snap.h, docs/STORAGE.md "Graph snapshot") ---- */
/* The distinct point ids the staged changes touch (both ends of every
 * staged edge), malloc'd into *ids (NULL when none); -1 when staging lost a
 * change or out of memory (the set is then unknown). */
int gmem_staged_ids(const gmem *g, uint64_t **ids, size_t *n);
/* The snapshot body: kinds table, nodes and their out-lists, little-endian.
 * gmem_encode writes exactly gmem_encoded_size(g) bytes. */
size_t gmem_encoded_size(const gmem *g);
void gmem_encode(const gmem *g, unsigned char *p);
/* Replace the copy by a body (in-lists derived); CORRUPTION when malformed,
 * the copy is then unusable until gmem_load. */
int gmem_decode(gmem *g, const unsigned char *p, size_t n, precis_error *err);
/* Reload the out-list of each id from RocksDB (EDGE) and move its entries
 * in the targets' in-lists to match. Replaying the ids of every change
 * after a snapshot makes the copy equal RocksDB: an edge that changed has
 * both ends among them, so every other in-list entry is current. */
int gmem_reload_ids(gmem *g, const uint64_t *ids, size_t n, precis_error *err);

#endif /* PRECIS_INDEX_GRAPH_MEM_H */
