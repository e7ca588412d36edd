/* postings.h: the in-memory postings of one payload-index field: encoded
 * value -> CRoaring bitmap of the ANN slots of the live points posting it
 * (payload_index.c keeps one map per ready index and mirrors RocksDB's
 * postings into it).
 *
 * Conventions: a pm_map is owned by its caller (zero-initialised = empty;
 * pm_free releases it); entries and their bitmaps are owned by the map.
 * No locking: the caller's collection lock covers the map. Values compare
 * as bytes, as RocksDB orders the encoded keys. */
#ifndef PRECIS_INDEX_POSTINGS_H
#define PRECIS_INDEX_POSTINGS_H

#include <roaring/roaring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/status.h"

/* In-memory postings of one field: encoded value -> bitmap of the ANN slots
 * of the live points posting it. e[0, nsorted) is sorted by value (byte
 * order, as in RocksDB); the tail after it, at most PM_TAIL entries, is in
 * insertion order and merged in when full (entries whose bitmap emptied are
 * dropped then). Every distinct value appears once. */
typedef struct {
  unsigned char *v;
  uint32_t len;
  roaring_bitmap_t *bm;
} pm_ent;

typedef struct {
  pm_ent *e;
  size_t n, cap, nsorted;
} pm_map;

#define PM_TAIL 128

/* Byte order of two encoded values (memcmp, then the shorter first). */
int pm_vcmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl);
/* First sorted entry not below v. */
size_t pm_lower(const pm_map *m, const unsigned char *v, size_t len);
/* The entry of v, or NULL. */
pm_ent *pm_find(const pm_map *m, const unsigned char *v, size_t len);
void pm_free(pm_map *m);
/* Sort the tail into the sorted part, dropping emptied entries: 0 or -1
 * (out of memory; the map is unchanged). */
int pm_merge(pm_map *m);
/* The entry of v, created empty when missing (appended when `sorted_end`:
 * the caller adds values in ascending order). NULL when out of memory. */
pm_ent *pm_get(pm_map *m, const unsigned char *v, size_t len, bool sorted_end);
/* Bytes the map holds; *values: its distinct non-empty values. */
uint64_t pm_bytes(const pm_map *m, uint64_t *values);
/* OR into out the bitmaps of the values in [lo, hi] (strict bounds
 * exclude; prefix_only: exactly lo; hi NULL: no upper bound; lol 0: no
 * lower). */
int pm_range(const pm_map *m, const unsigned char *lo, size_t lol, bool lo_strict,
             const unsigned char *hi, size_t hil, bool hi_strict, bool prefix_only,
             roaring_bitmap_t *out, precis_error *err);

#endif /* PRECIS_INDEX_POSTINGS_H */
