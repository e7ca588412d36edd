/*
 * upkeep.h: index upkeep of a collection, in one place. It decides
 *   - which index an automatic collection (index_spec "") gets: Flat up to
 *     UPKEEP_HNSW_UP points, HNSW32 past it, and back to Flat only below
 *     UPKEEP_HNSW_DOWN (hysteresis: a collection hovering near the switch
 *     does not rebuild on every write);
 *   - when an index that needs training (IVF, PQ) is trained: at the first
 *     write that brings the count to UPKEEP_TRAIN_FIRST (or the spec's own
 *     minimum) or more, then, while training fails for too few points, at
 *     each doubling of the count reached (batches need not hit an exact
 *     power of two);
 *   - when tombstones call for a rebuild (engine_options
 *     rebuild_tombstone_fraction of at least UPKEEP_MIN_REBUILD_SLOTS slots);
 *   - the FAISS parameters of a new or loaded index (efConstruction,
 *     efSearch, nprobe from the collection config);
 *   - when the index is saved: every engine_options.save_every_ops changes
 *     or save_every_ms milliseconds after the first unsaved change,
 *     whichever comes first, so replay after a crash stays short.
 *
 * Locking (coll.h): upkeep_note_write runs with the collection write lock
 * held and only records what is due; upkeep_run runs with no collection
 * lock held and does the slow work: a rebuild is built aside and swapped in
 * under a short write lock (coll__rebuild_aside), a save serialises the
 * index under the shared lock and syncs it with no lock (coll_save_index).
 * Errors of that background upkeep are logged, never dropped silently: the
 * write that triggered it has already succeeded.
 */
#ifndef PRECIS_INDEX_UPKEEP_H
#define PRECIS_INDEX_UPKEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "coll.h"

#define UPKEEP_HNSW_UP           10000
#define UPKEEP_HNSW_DOWN         8000
#define UPKEEP_AUTO_SMALL        "Flat"
#define UPKEEP_AUTO_LARGE        "HNSW32"
#define UPKEEP_TRAIN_FIRST       256
#define UPKEEP_MIN_REBUILD_SLOTS 1000
#define UPKEEP_RETRY_WRITES      100 /* writes before a failed rebuild is retried */
/* engine_options defaults (engine_options_default) */
#define UPKEEP_DEFAULT_SAVE_OPS 100000
#define UPKEEP_DEFAULT_SAVE_MS  300000

/* The spec the collection's index should have at n live points. For an
 * automatic collection this depends on the current spec (hysteresis). */
const char *upkeep_spec_for(const coll *c, uint64_t n);
/* An empty index of `spec` with the collection's budget and parameters. */
int upkeep_new_ann(const coll *c, const char *spec, ann **out, precis_error *err);
/* Apply the collection's efConstruction/efSearch (HNSW) or nprobe (IVF) to
 * an index of `spec` (new, rebuilt or loaded); other specs take none. */
int upkeep_set_params(const coll *c, ann *a, const char *spec, precis_error *err);
/* An index loaded from disk, built from `spec`: its parameters, its cost
 * estimate and the memory budget (engine_options.max_index_bytes), as a
 * new index gets them. */
int upkeep_adopt_loaded(const coll *c, ann *a, const char *spec, precis_error *err);
/* The count at which an untrained collection next tries to train. */
uint64_t upkeep_train_at(const coll *c);

/* Write lock held, after a durable write of `ops` changes: count them and
 * note whether a rebuild (c->rebuild_due) or a save is due. */
void upkeep_note_write(coll *c, size_t ops);
/* No collection lock held: run the rebuild or save that is due, if any. */
void upkeep_run(coll *c);

#endif /* PRECIS_INDEX_UPKEEP_H */
