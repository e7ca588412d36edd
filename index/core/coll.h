/*
 * coll.h: one open collection: its descriptor, its ANN index and the map from
 * ANN labels ("slots") to point ids, and the write paths that keep RocksDB
 * (the source of truth) and the index in step. Internal to index/.
 *
 * Slots: every vector added to the ANN index gets the next slot (label).
 * slot_id[s] is the point id of slot s; the slot is live iff live[id] == s.
 * Overwritten or deleted points leave dead slots (tombstones) that searches
 * filter out; past a tombstone fraction the index is rebuilt.
 *
 * Index persistence: <dir>/ann/<cid>.faiss (FAISS) and <cid>.slots (slot map,
 * live bits, the write sequence it reflects, checksum). Every write batch
 * also records the ids it touched under LOG cid|seq; on open the saved index
 * is loaded and only the logged changes after its sequence are replayed.
 * The graph snapshot <cid>.graph is saved with them at the same sequence and
 * replayed from the LOG cid|seq|'g' entries (index/graph/graph_snap.h).
 *
 * Locking: `lock` is a writer-preferring rwlock; readers (get, search,
 * describe, retrieve) take it shared, writers exclusive; it is never taken
 * twice by one thread (a waiting writer would deadlock a nested read).
 * `save_mu` is taken before `lock`, never after: it serialises saves,
 * snapshots and rebuilds built aside. Slow work holds `lock` only briefly
 * (index/core/upkeep.h): a save serialises under the shared lock and syncs
 * without it; a rebuild reads a RocksDB iterator without the lock and
 * swaps in, replaying the writes logged meanwhile, under a short exclusive
 * lock; the kNN graph rebuild takes the exclusive lock per chunk of points.
 * State a save or describe reads (seq, index_seq, dirty, ops_since_save)
 * changes only under the exclusive lock.
 *
 * Registry (engine.c): `refs` counts the calls using the collection; it and
 * `dropping` are guarded by the engine's reference mutex. A collection is
 * freed only once it is out of the registry and `refs` is 0.
 */
#ifndef PRECIS_INDEX_COLL_H
#define PRECIS_INDEX_COLL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ann.h"
#include "engine.h"
#include "graph_mem.h"
#include "idmap.h"
#include "store.h"

typedef void (*coll_log_fn)(void *ctx, int level, const char *fmt, ...);

#define COLL_LOG_DEBUG 0
#define COLL_LOG_INFO  1
#define COLL_LOG_WARN  2
#define COLL_LOG_ERROR 3

typedef struct coll {
  uint32_t id;
  char name[PRECIS_MAX_NAME_LEN + 1];
  engine_collection_config cfg; /* defaults filled in */
  bool auto_spec;               /* index_spec was "" (auto by size) */
  store *st;
  char *ann_dir;
  pthread_rwlock_t lock;
  pthread_mutex_t save_mu;

  ann *ann; /* NULL while untrained (IVF with too few points) */
  char cur_spec[PRECIS_MAX_INDEX_SPEC_LEN];
  uint64_t *slot_id;
  size_t nslots, slot_cap;
  idmap live;     /* point id -> slot */
  uint64_t count; /* live points (== live.len when ann is ready) */

  uint64_t seq;       /* last write sequence of this collection */
  uint64_t index_seq; /* sequence the in-memory index reflects on disk */
  bool dirty;         /* index changed since saved */
  uint64_t ops_since_save;
  uint64_t dirty_since_ms; /* monotonic ms of the first unsaved change; 0 = none */
  /* upkeep (upkeep.h) */
  uint64_t train_at; /* count at which an index-less collection next builds
                          one; 0 = UPKEEP_TRAIN_FIRST */
  bool rebuild_due, rebuilding, save_due;
  uint64_t rebuild_hold_seq; /* no rebuild attempt before this sequence */
  char rebuild_why[160];
  /* registry (engine.c) */
  unsigned refs;
  bool dropping;
  uint64_t knn_edges, links;    /* edge counters (graph module) */
  int64_t pend_knn, pend_links; /* deltas staged for the batch in flight */
  gmem *gm;                     /* the edges in memory (graph_mem.h) */
  idmap tokens;                 /* point id -> token count; an absent id is read
                          from its payload */

  struct pidx_set *pidx; /* payload indexes (payload_index.c), never NULL once open */

  const engine_options *eopts;
  coll_log_fn log;
  void *log_ctx;
} coll;

/* Descriptor JSON of a new collection (malloc'd, free()). */
char *coll_descriptor_json(const char *name, uint32_t id, const engine_collection_config *cfg);
/* Fill defaults and check a config; OUT_OF_RANGE / INVALID_ARGUMENT. */
int coll_config_check(engine_collection_config *cfg, precis_error *err);

/* Open from its descriptor; loads or rebuilds the index. */
int coll_open(store *st, const char *ann_dir, const char *desc, size_t desc_len,
              const engine_options *eo, coll_log_fn log, void *log_ctx, coll **out,
              precis_error *err);
/* Saves the index when dirty (if save), frees everything. */
void coll_close(coll *c, bool save);
/* Removes the index files of collection id (after its data was dropped). */
void coll_remove_files(const char *ann_dir, uint32_t id);
/* Saves the index if it changed, then trims the replay log. Takes locks
 * (see Locking above). */
int coll_save_index(coll *c, precis_error *err);
/* Snapshots: coll_save_block(c, true) holds off coll_save_index (and so the
 * trimming of the replay log) until coll_save_block(c, false).
 * coll_save_index_copy writes the index and slot files, reflecting the
 * current write sequence, into `dir` (the live files and the replay log are
 * untouched; writers wait while the index is serialised, not while it is
 * synced; nothing is written while the collection has no index yet). The caller holds the save block. */
void coll_save_block(coll *c, bool block);
int coll_save_index_copy(coll *c, const char *dir, precis_error *err);

/* The entry points below take the collection lock themselves. */
/* defer_graph: no kNN upkeep (ENGINE_UPSERT_DEFER_GRAPH); *upserted (may
 * be NULL) receives the number of distinct ids written. */
int coll_upsert(coll *c, const engine_point_in *pts, size_t n, bool defer_graph, size_t *upserted,
                precis_error *err);
int coll_get(coll *c, const uint64_t *ids, size_t n, bool with_vectors, engine_point **out,
             precis_error *err);
int coll_delete(coll *c, const uint64_t *ids, size_t n, size_t *deleted, precis_error *err);
int coll_search(coll *c, const float *q, uint32_t dim, uint32_t k, const engine_search_params *sp,
                engine_hit *hits, size_t *nhits, precis_error *err);
void coll_describe(coll *c, engine_collection_info *out);

/* Helpers shared with the graph and retrieve modules (lock held by caller). */
/* Read the stored vector of id into out (dim floats); NOT_FOUND if absent. */
int coll__read_vector(coll *c, uint64_t id, float *out, precis_error *err);
/* The same from the index's full-precision storage when it has one
 * (ann_vectors), else from RocksDB. */
int coll__vector(coll *c, uint64_t id, float *out, precis_error *err);
/* Token count of a live point: from memory, else from its payload. */
int coll__tokens(coll *c, uint64_t id, uint32_t *tokens, precis_error *err);
/* ANN/exact top-k of a prepared (normalised for cosine) query; no locking. */
int coll__search_locked(coll *c, const float *q, uint32_t k, const engine_search_params *sp,
                        engine_hit *hits, size_t *nhits, precis_error *err);
/* The same for nq queries at once (FAISS parallelises over them); hits is
 * nq*k, nhits nq. */
int coll__search_batch_locked(coll *c, const float *q, size_t nq, uint32_t k,
                              const engine_search_params *sp, engine_hit *hits, size_t *nhits,
                              precis_error *err);
/* Key of a point in VEC/PAY: cid|id (12 bytes). */
static inline void coll__point_key(unsigned char k[12], uint32_t cid, uint64_t id) {
  store_put_be32(k, cid);
  store_put_be64(k + 4, id);
}
/* Convert a raw ANN distance into a Precis score (higher is better). */
float coll__score(const coll *c, float dist);

#endif /* PRECIS_INDEX_COLL_H */
