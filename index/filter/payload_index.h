/*
 * payload_index.h: payload indexes of a collection (declared in engine.h):
 * their declarations and postings in RocksDB (STORE_CF_PIDX), maintenance
 * in the write batch of every upsert and delete, the background build of a
 * new index, and lookups for the filter planner. Internal to index/.
 *
 * Keys (STORE_CF_PIDX):
 *   cid | 'D' | key                   -> type u8 | state u8 ('b'|'r') | field be16
 *   cid | 'P' | field be16 | value | id be64 -> ""
 * Values are encoded so that byte order is value order: keywords as be16
 * length + bytes, integers and date-times (microseconds) as int64 with the
 * sign bit flipped, floats as IEEE-754 with the usual order-preserving
 * flip, bools as one byte. An array posts each distinct element.
 *
 * Locking: the declarations live in coll.pidx and change under the
 * collection's write lock; lookups run under the read lock. The builder
 * thread takes the write lock for each chunk of PIDX_BUILD_CHUNK records,
 * so points it has passed are kept current by the writers and points ahead
 * of it are indexed from their current metadata.
 */
#ifndef PRECIS_INDEX_PAYLOAD_INDEX_H
#define PRECIS_INDEX_PAYLOAD_INDEX_H

#include <roaring/roaring.h>
#include <stdbool.h>

#include "coll.h"
#include "filter.h"

#define PIDX_BUILD_CHUNK 512

typedef struct pidx_set pidx_set;

/* Load the declarations of c (at open) and resume unfinished builds. */
int pidx_open(coll *c, precis_error *err);
/* Stop the builder and free everything (NULL-safe on c->pidx). */
void pidx_close(coll *c);
/* Stop the builder (unfinished indexes resume at the next open or create). */
void pidx_stop_builder(coll *c);

int pidx_create(coll *c, const char *key, engine_pindex_type type, precis_error *err);
int pidx_drop(coll *c, const char *key, precis_error *err);
int pidx_list(coll *c, engine_pindex_info **out, size_t *n, precis_error *err);

/* Write paths (write lock held): stage the posting changes of point id
 * whose metadata goes from old_meta (NULL: new point) to new_meta (NULL:
 * deleted). No-op without indexes. */
bool pidx_active(const coll *c);
int pidx__stage(coll *c, store_batch *b, uint64_t id, const char *old_meta, size_t old_len,
                const char *new_meta, size_t new_len, precis_error *err);

/* In memory: every ready or building index also keeps its postings as one
 * CRoaring bitmap of ANN slots per distinct value (sorted, so ranges are a
 * union over a span), built from RocksDB at open and after the slots are
 * reassigned, and changed only after the RocksDB write it mirrors is
 * durable. Memory: about 2 bytes per posting in array containers (at most
 * 8 KiB per 65,536 slots in bitmap ones) plus ~100 bytes per distinct value
 * (entry, value, bitmap header, first container); pidx_list reports it. Collections without ANN slots (an
 * untrained IVF) keep them on disk only.
 *
 * pidx_commit (write lock held): apply the changes staged by pidx__stage
 * since the last call once their batch is durable (`durable`), else drop
 * them; every write path that stages calls it after its write, with the
 * new slots already in c->live. pidx_reslot: the slots were reassigned
 * (rebuild): reload the maps from RocksDB and drop what is staged. */
void pidx_commit(coll *c, bool durable);
void pidx_reslot(coll *c);

/* Lookup (read lock held): the live slots of the points a ready index says
 * may pass term t, into `out` (a superset of those that do). *usable is
 * false when no ready index answers t. Stops past `cap` postings with
 * *capped set (out is then incomplete). */
int pidx_lookup(coll *c, const filter_term *t, uint64_t cap, roaring_bitmap_t *out, bool *usable,
                bool *capped, precis_error *err);

#endif /* PRECIS_INDEX_PAYLOAD_INDEX_H */
