/*
 * format.h: the on-disk format version of a data directory (docs/STORAGE.md,
 * "Format version"). The version is stored in the store itself (META key
 * "format", value "precis-<N>") and checked when the engine opens it:
 *   - no marker (a new store): the current version is written;
 *   - the current version: nothing to do;
 *   - an older version this build knows: migrated in place, in one atomic
 *     RocksDB write (the marker is part of it), before anything else runs;
 *   - a newer version: refused with PRECIS_E_UNIMPLEMENTED, naming both;
 *   - anything else: refused with PRECIS_E_CORRUPTION.
 * Internal to the engine; the store is opened and not yet used.
 */
#ifndef PRECIS_INDEX_FORMAT_H
#define PRECIS_INDEX_FORMAT_H

#include <stdbool.h>

#include "precis/status.h"
#include "store.h"

/* 1: META counters, log values and payload-index declarations big-endian;
 *    slot files in native order with an FNV-1a sum ("PRSLOTS1").
 * 2: every value little-endian, keys big-endian; slot files "PRSLOTS2"
 *    with CRC-32C.
 * 3: no reverse edge index (the REDGE family is empty; in-edges live in
 *    the in-memory graph only); a point's kNN out-edges are one EDGE entry
 *    (graph.h) instead of one per edge. */
#define FORMAT_VERSION 3
#define FORMAT_KEY     "format"
#define FORMAT_PREFIX  "precis-"

/* A higher layer's part of a migration from version `from`, staged into b,
 * the write that also sets the marker (the graph's kNN lists, engine.c). */
typedef int (*format_stage_fn)(store *st, store_batch *b, long from, precis_error *err);

/* Check (and write or migrate) the format marker of `st`. `dir` names the
 * data directory in messages; stage (may be NULL) adds the other layers'
 * changes to a migration. *migrated_from (may be NULL) gets the version
 * migrated from, or 0. */
int format_check(store *st, const char *dir, format_stage_fn stage, int *migrated_from,
                 precis_error *err);

#endif /* PRECIS_INDEX_FORMAT_H */
