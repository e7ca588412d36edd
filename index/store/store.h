/*
 * store.h: the RocksDB adapter. The only file that includes <rocksdb/c.h> is
 * store.c; RocksDB's `char **errptr` convention is translated there, once,
 * into precis_status + message (IO, CORRUPTION, NO_MEMORY, NOT_FOUND).
 *
 * Layout: one RocksDB database per data directory, one column family per kind
 * of record (store_cf). Keys within a family start with the 4-byte big-endian
 * collection id, so a collection is a contiguous key range everywhere and
 * dropping it is one range delete per family. See docs/STORAGE.md.
 *
 * Ownership: values returned by store_get() are malloc'd for the caller, who
 * releases them with store_free(). Iterator keys and values are borrowed
 * until the iterator moves or is destroyed. A store_batch is caller-owned
 * (store_batch_create / store_batch_destroy).
 *
 * Thread-safety: a store may be used from many threads; a batch or an
 * iterator by one thread at a time.
 */
#ifndef PRECIS_INDEX_STORE_H
#define PRECIS_INDEX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byteorder.h"
#include "precis/status.h"

typedef enum {
  STORE_CF_META = 0, /* "default": format version, id counters, seqs */
  STORE_CF_COLL,     /* name -> collection descriptor (JSON) */
  STORE_CF_VEC,      /* cid|id -> float32[dim] */
  STORE_CF_PAY,      /* cid|id -> payload (tokens, text, metadata) */
  STORE_CF_EDGE,     /* cid|src|kind|dst -> weight (out-edges) */
  STORE_CF_REDGE,    /* unused since data format 3 (the reverse index of
                        format 2, emptied by its migration); RocksDB opens
                        every family a database has, so it stays */
  STORE_CF_LOG,      /* cid|seq -> ids changed by that write (index replay);
                        cid|seq|'g' -> ends of its changed edges (graph_snap.h) */
  STORE_CF_PIDX,     /* payload indexes: cid|'D'|key -> declaration,
                        cid|'P'|field|value|id -> "" (index/filter/payload_index.c) */
  STORE_CF_COUNT
} store_cf;

typedef struct store store;
typedef struct store_batch store_batch;
typedef struct store_iter store_iter;

typedef struct {
  bool sync; /* fsync the WAL on every write */
  bool create_if_missing;
  size_t block_cache_bytes; /* 0 = RocksDB default */
} store_options;

int store_open(const char *path, const store_options *o, store **out, precis_error *err);
void store_close(store *s);

/* NOT_FOUND when absent. *val (malloc'd, not NUL-terminated) -> store_free. */
int store_get(store *s, store_cf cf, const void *key, size_t klen, char **val, size_t *vlen,
              precis_error *err);
void store_free(void *p);

/* A batch for the store `s`; NULL on allocation failure. */
store_batch *store_batch_create(store *s);
void store_batch_destroy(store_batch *b);
void store_batch_put(store_batch *b, store_cf cf, const void *k, size_t kl, const void *v,
                     size_t vl);
void store_batch_delete(store_batch *b, store_cf cf, const void *k, size_t kl);
/* Deletes [begin, end). */
void store_batch_delete_range(store_batch *b, store_cf cf, const void *begin, size_t bl,
                              const void *end, size_t el);
size_t store_batch_count(const store_batch *b);
/* Atomic: all or nothing. Durable on return when the store syncs. */
int store_write(store *s, store_batch *b, precis_error *err);

/* Iterates the keys of `cf` that start with prefix[0..plen). */
store_iter *store_iter_create(store *s, store_cf cf, const void *prefix, size_t plen);
/* Position at the first key >= key (within the prefix). */
void store_iter_seek(store_iter *it, const void *key, size_t klen);
bool store_iter_valid(const store_iter *it);
void store_iter_next(store_iter *it);
const char *store_iter_key(const store_iter *it, size_t *len);
const char *store_iter_value(const store_iter *it, size_t *len);
/* Status of the iteration so far (0, IO or CORRUPTION). */
int store_iter_status(const store_iter *it, precis_error *err);
void store_iter_destroy(store_iter *it);

/* Approximate on-disk bytes of the keys with this prefix, over all families. */
uint64_t store_approx_size(store *s, const void *prefix, size_t plen);
/* RocksDB checkpoint (hard links where possible) into a new directory. */
int store_checkpoint(store *s, const char *dir, precis_error *err);
/* The integer RocksDB property `name` (e.g. "rocksdb.live-sst-files-size"):
 * summed over every column family when `all_families`, else that of the
 * default family (for database-wide properties); 0 when not reported. */
uint64_t store_property(store *s, const char *name, bool all_families);

/* Test hook: when set, store_write fails with PRECIS_E_IO before touching
 * RocksDB once the countdown reaches 0 (-1 disables). For fault-injection
 * tests of the layers above; never set in production. */
void store_debug_fail_writes_after(store *s, long countdown);

/* ---- key encoding: big-endian so iteration follows numeric order ----
 * Keys only; values are little-endian. Both come from byteorder.h. */
static inline void store_put_be32(unsigned char *p, uint32_t v) { byte_put_be32(p, v); }
static inline void store_put_be64(unsigned char *p, uint64_t v) { byte_put_be64(p, v); }
static inline uint32_t store_get_be32(const unsigned char *p) { return byte_get_be32(p); }
static inline uint64_t store_get_be64(const unsigned char *p) { return byte_get_be64(p); }

#endif /* PRECIS_INDEX_STORE_H */
