/* store.c: RocksDB adapter (see store.h). Translates errptr once, here. */
#include "store.h"

#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const store__cf_names[STORE_CF_COUNT] = {
    "default", "collections", "vectors", "payloads", "edges", "redges", "log", "pindex"};

struct store {
  rocksdb_t *db;
  rocksdb_options_t *opts;
  rocksdb_column_family_handle_t *cf[STORE_CF_COUNT];
  rocksdb_writeoptions_t *wopts;
  rocksdb_readoptions_t *ropts;
  rocksdb_cache_t *cache;
  rocksdb_block_based_table_options_t *topts;
  atomic_long fail_after;
};

/* A batch keeps its operations in its own buffer and hands them to RocksDB
 * in store_write, sorted by (family, key) between range deletes: a
 * memtable's skip list inserts keys that follow each other at little cost
 * (its splice is reused), where the random order in which a batch's edges
 * are made costs a full search per key. The sort is stable, so operations
 * on one key keep their order; a range delete is a barrier nothing crosses.
 * Out of memory while buffering marks the batch failed (store_write says
 * NO_MEMORY), since the put/delete calls return nothing. */
typedef struct {
  uint8_t cf, kind; /* kind: 0 put, 1 delete, 2 delete range (val = end) */
  uint32_t kl, vl;
  size_t off; /* key at data + off, value (or range end) right after */
  size_t seq; /* insertion order: ties keep it */
} store_op;

struct store_batch {
  store *s;
  store_op *ops;
  size_t nops, cap;
  char *data;
  size_t len, dcap;
  bool oom;
};

struct store_iter {
  rocksdb_iterator_t *it;
  rocksdb_readoptions_t *ropts;
  char *upper; /* exclusive upper bound: prefix incremented */
  size_t upper_len;
  char *prefix;
  size_t plen;
};

/* Translate a RocksDB error string; frees it. */
static int store__err(char *rerr, precis_error *err, const char *what) {
  int code = PRECIS_E_IO;
  if (strstr(rerr, "Corruption"))
    code = PRECIS_E_CORRUPTION;
  else if (strstr(rerr, "NotFound"))
    code = PRECIS_E_NOT_FOUND;
  else if (strstr(rerr, "Invalid argument"))
    code = PRECIS_E_INVALID_ARGUMENT;
  precis_error_set(err, code, "%s: %s", what, rerr);
  rocksdb_free(rerr);
  return code;
}

#define STORE_MEMTABLE_BYTES (32u << 20)

int store_open(const char *path, const store_options *o, store **out, precis_error *err) {
  store *s = calloc(1, sizeof *s);
  if (!s) return precis_error_set(err, PRECIS_E_NO_MEMORY, "store_open");
  atomic_init(&s->fail_after, -1);
  s->opts = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(s->opts, o && !o->create_if_missing ? 0 : 1);
  rocksdb_options_set_create_missing_column_families(s->opts, 1);
  rocksdb_options_increase_parallelism(s->opts, 2);
  rocksdb_options_set_max_open_files(s->opts, 512);
  /* RocksDB's info LOG lives in the data directory. Once an append to it
   * fails (disk full), RocksDB 7.8 as Debian builds it (with assertions)
   * aborts the process on the next log line, which its error handler writes
   * right after the failed write: a full disk killed precisd instead of
   * failing the write with IO (tests/integration/test_faults.c). Log only
   * the header and fatal messages; Precis reports write errors itself. */
  rocksdb_options_set_info_log_level(s->opts, 4 /* FATAL_LEVEL */);
  /* Memtables: RocksDB's default is 64 MiB per column family, two each,
   * so seven families may hold ~900 MiB of memtables before a flush; the
   * create/load/drop cycle of issue 11 grew RSS by ~7 MB per round until
   * then. One budget for all families bounds it (STORE_MEMTABLE_BYTES). */
  rocksdb_options_set_db_write_buffer_size(s->opts, STORE_MEMTABLE_BYTES);
  rocksdb_options_set_write_buffer_size(s->opts, STORE_MEMTABLE_BYTES / 2);
  s->topts = rocksdb_block_based_options_create();
  if (o && o->block_cache_bytes) {
    s->cache = rocksdb_cache_create_lru(o->block_cache_bytes);
    rocksdb_block_based_options_set_block_cache(s->topts, s->cache);
  }
  rocksdb_options_set_block_based_table_factory(s->opts, s->topts);

  const rocksdb_options_t *cfopts[STORE_CF_COUNT];
  for (int i = 0; i < STORE_CF_COUNT; i++) cfopts[i] = s->opts;
  char *rerr = NULL;
  s->db = rocksdb_open_column_families(s->opts, path, STORE_CF_COUNT, store__cf_names, cfopts,
                                       s->cf, &rerr);
  if (rerr) {
    int rc = store__err(rerr, err, "open RocksDB");
    s->db = NULL;
    store_close(s);
    return rc;
  }
  s->wopts = rocksdb_writeoptions_create();
  rocksdb_writeoptions_set_sync(s->wopts, o ? o->sync : 1);
  s->ropts = rocksdb_readoptions_create();
  *out = s;
  return PRECIS_OK;
}

void store_close(store *s) {
  if (!s) return;
  if (s->db) {
    for (int i = 0; i < STORE_CF_COUNT; i++)
      if (s->cf[i]) rocksdb_column_family_handle_destroy(s->cf[i]);
    rocksdb_close(s->db);
  }
  if (s->wopts) rocksdb_writeoptions_destroy(s->wopts);
  if (s->ropts) rocksdb_readoptions_destroy(s->ropts);
  if (s->opts) rocksdb_options_destroy(s->opts);
  if (s->topts) rocksdb_block_based_options_destroy(s->topts);
  if (s->cache) rocksdb_cache_destroy(s->cache);
  free(s);
}

int store_get(store *s, store_cf cf, const void *key, size_t klen, char **val, size_t *vlen,
              precis_error *err) {
  char *rerr = NULL;
  size_t len = 0;
  char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[cf], key, klen, &len, &rerr);
  if (rerr) return store__err(rerr, err, "read");
  if (!v) return precis_error_set(err, PRECIS_E_NOT_FOUND, "key not found");
  *val = v;
  *vlen = len;
  return PRECIS_OK;
}

void store_free(void *p) { rocksdb_free(p); }

store_batch *store_batch_create(store *s) {
  store_batch *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->s = s;
  return b;
}

void store_batch_destroy(store_batch *b) {
  if (!b) return;
  free(b->ops);
  free(b->data);
  free(b);
}

static void batch_add(store_batch *b, store_cf cf, int kind, const void *k, size_t kl,
                      const void *v, size_t vl) {
  if (b->oom) return;
  if (kl > UINT32_MAX || vl > UINT32_MAX) {
    b->oom = true;
    return;
  }
  if (b->nops == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 64;
    store_op *o = realloc(b->ops, cap * sizeof *o);
    if (!o) {
      b->oom = true;
      return;
    }
    b->ops = o;
    b->cap = cap;
  }
  if (b->dcap - b->len < kl + vl) {
    size_t cap = b->dcap ? 2 * b->dcap : 4096;
    while (cap - b->len < kl + vl) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
      b->oom = true;
      return;
    }
    b->data = d;
    b->dcap = cap;
  }
  if (kl) memcpy(b->data + b->len, k, kl);
  if (vl) memcpy(b->data + b->len + kl, v, vl);
  b->ops[b->nops] =
      (store_op){(uint8_t)cf, (uint8_t)kind, (uint32_t)kl, (uint32_t)vl, b->len, b->nops};
  b->nops++;
  b->len += kl + vl;
}

void store_batch_put(store_batch *b, store_cf cf, const void *k, size_t kl, const void *v,
                     size_t vl) {
  batch_add(b, cf, 0, k, kl, v, vl);
}
void store_batch_delete(store_batch *b, store_cf cf, const void *k, size_t kl) {
  batch_add(b, cf, 1, k, kl, NULL, 0);
}
void store_batch_delete_range(store_batch *b, store_cf cf, const void *begin, size_t bl,
                              const void *end, size_t el) {
  batch_add(b, cf, 2, begin, bl, end, el);
}
size_t store_batch_count(const store_batch *b) { return b->nops; }

static int op_cmp(const void *pa, const void *pb, void *data) {
  const store_op *a = pa, *b = pb;
  const char *d = data;
  if (a->cf != b->cf) return a->cf < b->cf ? -1 : 1;
  size_t n = a->kl < b->kl ? a->kl : b->kl;
  int c = memcmp(d + a->off, d + b->off, n);
  if (c) return c;
  if (a->kl != b->kl) return a->kl < b->kl ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The RocksDB batch of b's operations, sorted between range deletes; NULL
 * when out of memory. */
static rocksdb_writebatch_t *batch_build(store *s, store_batch *b) {
  size_t from = 0;
  for (size_t i = 0; i <= b->nops; i++) {
    if (i < b->nops && b->ops[i].kind != 2) continue;
    if (i - from > 1) qsort_r(b->ops + from, i - from, sizeof *b->ops, op_cmp, b->data);
    from = i + 1;
  }
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  if (!wb) return NULL;
  for (size_t i = 0; i < b->nops; i++) {
    const store_op *o = &b->ops[i];
    const char *k = b->data + o->off;
    if (o->kind == 0)
      rocksdb_writebatch_put_cf(wb, s->cf[o->cf], k, o->kl, k + o->kl, o->vl);
    else if (o->kind == 1)
      rocksdb_writebatch_delete_cf(wb, s->cf[o->cf], k, o->kl);
    else
      rocksdb_writebatch_delete_range_cf(wb, s->cf[o->cf], k, o->kl, k + o->kl, o->vl);
  }
  return wb;
}

void store_debug_fail_writes_after(store *s, long countdown) {
  atomic_store(&s->fail_after, countdown);
}

int store_write(store *s, store_batch *b, precis_error *err) {
  long f = atomic_load(&s->fail_after);
  if (f >= 0) {
    if (f == 0) return precis_error_set(err, PRECIS_E_IO, "write: injected I/O error");
    atomic_fetch_sub(&s->fail_after, 1);
  }
  if (b->oom)
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "write: batch of %zu operations", b->nops);
  rocksdb_writebatch_t *wb = batch_build(s, b);
  if (!wb) return precis_error_set(err, PRECIS_E_NO_MEMORY, "write");
  char *rerr = NULL;
  rocksdb_write(s->db, s->wopts, wb, &rerr);
  rocksdb_writebatch_destroy(wb);
  if (rerr) return store__err(rerr, err, "write");
  return PRECIS_OK;
}

/* Smallest key greater than every key with this prefix; 0 length = none. */
static size_t store__prefix_end(const void *prefix, size_t plen, char *out) {
  memcpy(out, prefix, plen);
  for (size_t i = plen; i > 0; i--) {
    unsigned char c = (unsigned char)out[i - 1];
    if (c != 0xff) {
      out[i - 1] = (char)(c + 1);
      return i;
    }
  }
  return 0;
}

store_iter *store_iter_create(store *s, store_cf cf, const void *prefix, size_t plen) {
  store_iter *it = calloc(1, sizeof *it);
  if (!it) return NULL;
  it->ropts = rocksdb_readoptions_create();
  it->prefix = malloc(plen ? plen : 1);
  it->upper = malloc(plen ? plen : 1);
  if (!it->prefix || !it->upper) {
    rocksdb_readoptions_destroy(it->ropts);
    free(it->prefix);
    free(it->upper);
    free(it);
    return NULL;
  }
  memcpy(it->prefix, prefix, plen);
  it->plen = plen;
  it->upper_len = plen ? store__prefix_end(prefix, plen, it->upper) : 0;
  if (it->upper_len)
    rocksdb_readoptions_set_iterate_upper_bound(it->ropts, it->upper, it->upper_len);
  it->it = rocksdb_create_iterator_cf(s->db, it->ropts, s->cf[cf]);
  rocksdb_iter_seek(it->it, prefix, plen);
  return it;
}

void store_iter_seek(store_iter *it, const void *key, size_t klen) {
  rocksdb_iter_seek(it->it, key, klen);
}

bool store_iter_valid(const store_iter *it) {
  if (!rocksdb_iter_valid(it->it)) return false;
  size_t kl;
  const char *k = rocksdb_iter_key(it->it, &kl);
  return kl >= it->plen && memcmp(k, it->prefix, it->plen) == 0;
}

void store_iter_next(store_iter *it) { rocksdb_iter_next(it->it); }

const char *store_iter_key(const store_iter *it, size_t *len) {
  return rocksdb_iter_key(it->it, len);
}

const char *store_iter_value(const store_iter *it, size_t *len) {
  return rocksdb_iter_value(it->it, len);
}

int store_iter_status(const store_iter *it, precis_error *err) {
  char *rerr = NULL;
  rocksdb_iter_get_error(it->it, &rerr);
  if (rerr) return store__err(rerr, err, "iterate");
  return PRECIS_OK;
}

void store_iter_destroy(store_iter *it) {
  if (!it) return;
  rocksdb_iter_destroy(it->it);
  rocksdb_readoptions_destroy(it->ropts);
  free(it->prefix);
  free(it->upper);
  free(it);
}

uint64_t store_approx_size(store *s, const void *prefix, size_t plen) {
  char end[64];
  if (plen > sizeof end) return 0;
  size_t el = store__prefix_end(prefix, plen, end);
  if (!el) return 0;
  uint64_t total = 0;
  for (int i = 0; i < STORE_CF_COUNT; i++) {
    const char *starts[1] = {prefix};
    const char *ends[1] = {end};
    size_t sl[1] = {plen}, ell[1] = {el};
    uint64_t sz[1] = {0};
    char *rerr = NULL;
    rocksdb_approximate_sizes_cf(s->db, s->cf[i], 1, starts, sl, ends, ell, sz, &rerr);
    if (rerr) {
      rocksdb_free(rerr);
      continue;
    }
    total += sz[0];
  }
  return total;
}

int store_checkpoint(store *s, const char *dir, precis_error *err) {
  char *rerr = NULL;
  rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(s->db, &rerr);
  if (rerr) return store__err(rerr, err, "checkpoint");
  rocksdb_checkpoint_create(cp, dir, 0, &rerr);
  rocksdb_checkpoint_object_destroy(cp);
  if (rerr) return store__err(rerr, err, "checkpoint");
  return PRECIS_OK;
}

uint64_t store_property(store *s, const char *name, bool all_families) {
  uint64_t total = 0;
  for (int i = 0; i < (all_families ? STORE_CF_COUNT : 1); i++) {
    uint64_t v = 0;
    if (rocksdb_property_int_cf(s->db, s->cf[i], name, &v) == 0) total += v;
  }
  return total;
}
