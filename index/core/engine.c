/* engine.c: the engine handle: data directory, RocksDB, the registry of open
 * collections, and the public entry points of engine.h (which delegate to the
 * collection, graph and retrieve modules). */
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coll.h"
#include "coll_filter.h"
#include "file.h"
#include "format.h"
#include "payload_index.h"
#include "graph_internal.h"
#include "store.h"
#include "log.h"
#include "upkeep.h"
#include "valid.h"

struct engine {
  char *dir, *ann_dir;
  store *st;
  engine_options opts;
  /* registry: shared to look a collection up, exclusive to add or remove
   * one; held only for that, never across an operation (see acquire) */
  pthread_rwlock_t lock;
  pthread_mutex_t ref_mu;    /* coll refs and dropping */
  pthread_mutex_t create_mu; /* serialises creates; guards next_cid */
  pthread_cond_t ref_cv;     /* signalled when a dropping collection's refs reach 0 */
  coll **colls;
  size_t ncolls, cap;
  uint32_t next_cid;
};

void engine_options_default(engine_options *o) {
  memset(o, 0, sizeof *o);
  o->sync_writes = 1;
  o->create_if_missing = 1;
  o->rebuild_tombstone_fraction = 0.2;
  o->save_every_ops = UPKEEP_DEFAULT_SAVE_OPS;
  o->save_every_ms = UPKEEP_DEFAULT_SAVE_MS;
}

static void engine__log(void *ctx, int level, const char *fmt, ...) {
  engine *e = ctx;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (e->opts.log) {
    e->opts.log(e->opts.log_ctx, level, msg);
    return;
  }
  plog_msg(level, msg); /* the one log (log.h): INFO and above by default */
}

static int check_name(const char *name, precis_error *err) {
  if (!name || !valid_name(name, strlen(name)))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "collection name must match [A-Za-z0-9_.-]{1,%d} "
                            "and be neither \".\" nor \"..\"",
                            PRECIS_MAX_NAME_LEN);
  return PRECIS_OK;
}

/* Registry lock held (either way). A dropping collection is still listed
 * (so that its name cannot be created again before its data is gone) but
 * cannot be acquired. */
static coll *find(engine *e, const char *name) {
  for (size_t i = 0; i < e->ncolls; i++)
    if (!strcmp(e->colls[i]->name, name)) return e->colls[i];
  return NULL;
}

/* Reference handling: every call on a collection holds a reference for its
 * duration; the registry lock is held only while looking the name up. */
static bool ref_usable(engine *e, coll *c) {
  pthread_mutex_lock(&e->ref_mu);
  bool ok = !c->dropping;
  if (ok) c->refs++;
  pthread_mutex_unlock(&e->ref_mu);
  return ok;
}

/* Look a collection up and take a reference; on success the caller calls
 * release(e, c) when done. */
static int acquire(engine *e, const char *name, coll **out, precis_error *err) {
  if (!e) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no engine");
  if (!name) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no collection name");
  pthread_rwlock_rdlock(&e->lock);
  coll *c = find(e, name);
  bool ok = c && ref_usable(e, c);
  pthread_rwlock_unlock(&e->lock);
  if (!ok) return precis_error_set(err, PRECIS_E_NOT_FOUND, "unknown collection \"%.64s\"", name);
  *out = c;
  return PRECIS_OK;
}

static void release(engine *e, coll *c) {
  pthread_mutex_lock(&e->ref_mu);
  if (--c->refs == 0 && c->dropping) pthread_cond_broadcast(&e->ref_cv);
  pthread_mutex_unlock(&e->ref_mu);
}

/* References to every usable collection: *out malloc'd (free() it after
 * release_all). */
static int acquire_all(engine *e, coll ***out, size_t *n, precis_error *err) {
  pthread_rwlock_rdlock(&e->lock);
  coll **v = malloc((e->ncolls ? e->ncolls : 1) * sizeof *v);
  size_t m = 0;
  for (size_t i = 0; v && i < e->ncolls; i++)
    if (ref_usable(e, e->colls[i])) v[m++] = e->colls[i];
  pthread_rwlock_unlock(&e->lock);
  if (!v) return precis_error_set(err, PRECIS_E_NO_MEMORY, "collections");
  *out = v;
  *n = m;
  return PRECIS_OK;
}

static void release_all(engine *e, coll **v, size_t n) {
  for (size_t i = 0; i < n; i++) release(e, v[i]);
  free(v);
}

/* mkdir that accepts an existing directory: 0 or -1 (errno set). */
int engine__mkdir_p(const char *p) {
  if (mkdir(p, 0755) == 0 || errno == EEXIST) return 0;
  return -1;
}

static int load_collections(engine *e, precis_error *err) {
  store_iter *it = store_iter_create(e->st, STORE_CF_COLL, "", 0);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "open");
  int rc = PRECIS_OK;
  for (; store_iter_valid(it) && !rc; store_iter_next(it)) {
    size_t vl;
    const char *v = store_iter_value(it, &vl);
    coll *c;
    if ((rc = coll_open(e->st, e->ann_dir, v, vl, &e->opts, engine__log, e, &c, err))) break;
    if (e->ncolls == e->cap) {
      size_t cap = e->cap ? e->cap * 2 : 8;
      coll **p = realloc(e->colls, cap * sizeof *p);
      if (!p) {
        coll_close(c, false);
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "open");
        break;
      }
      e->colls = p;
      e->cap = cap;
    }
    e->colls[e->ncolls++] = c;
  }
  if (!rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  return rc;
}

/* The engine's part of a format migration (format.h): from format 2 or 1,
 * the kNN edges become one list per point (graph.h). */
static int engine__migrate_stage(store *st, store_batch *b, long from, precis_error *err) {
  return from < 3 ? graph__migrate_knn_lists(st, b, err) : PRECIS_OK;
}

int engine_open(const char *dir, const engine_options *opts, engine **out, precis_error *err) {
  if (!dir || !*dir) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no data directory");
  engine *e = calloc(1, sizeof *e);
  if (!e) return precis_error_set(err, PRECIS_E_NO_MEMORY, "engine");
  if (opts)
    e->opts = *opts;
  else
    engine_options_default(&e->opts);
  pthread_rwlockattr_t la;
  pthread_rwlockattr_init(&la);
  /* create and drop must not starve behind a stream of lookups */
  pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&e->lock, &la);
  pthread_rwlockattr_destroy(&la);
  pthread_mutex_init(&e->ref_mu, NULL);
  pthread_mutex_init(&e->create_mu, NULL);
  pthread_cond_init(&e->ref_cv, NULL);
  int rc;
  size_t dl = strlen(dir);
  e->dir = strdup(dir);
  e->ann_dir = malloc(dl + 8);
  if (!e->dir || !e->ann_dir) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "engine");
    goto fail;
  }
  snprintf(e->ann_dir, dl + 8, "%s/ann", dir);
  if (e->opts.create_if_missing && (engine__mkdir_p(dir) || engine__mkdir_p(e->ann_dir))) {
    rc = precis_error_set(err, PRECIS_E_IO, "%s: %s", dir, strerror(errno));
    goto fail;
  }
  char dbp[4200];
  snprintf(dbp, sizeof dbp, "%s/db", dir);
  store_options so = {e->opts.sync_writes != 0, e->opts.create_if_missing != 0,
                      e->opts.block_cache_bytes};
  if ((rc = store_open(dbp, &so, &e->st, err))) goto fail;
  /* format marker (format.h), then the collection-id counter */
  int migrated;
  if ((rc = format_check(e->st, dir, engine__migrate_stage, &migrated, err))) goto fail;
  if (migrated)
    engine__log(e, COLL_LOG_INFO, "%s: data format %d migrated to %d", dir, migrated,
                FORMAT_VERSION);
  char *v;
  size_t vl;
  /* the collection-id counter: absent in a new database; unreadable or
   * malformed would let a create reuse the id (and data) of another */
  e->next_cid = 1;
  rc = store_get(e->st, STORE_CF_META, "next_cid", 8, &v, &vl, err);
  if (rc == PRECIS_E_NOT_FOUND) {
    precis_error_clear(err);
  } else if (rc) {
    goto fail;
  } else {
    bool ok = vl == 4;
    if (ok) e->next_cid = byte_get_le32((const unsigned char *)v);
    store_free(v);
    if (!ok) {
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "%s: collection-id counter of %zu bytes", dir,
                            vl);
      goto fail;
    }
  }
  if ((rc = load_collections(e, err))) goto fail;
  *out = e;
  return PRECIS_OK;
fail:
  for (size_t i = 0; i < e->ncolls; i++) coll_close(e->colls[i], false);
  e->ncolls = 0;
  engine_close(e);
  return rc;
}

void engine_close(engine *e) {
  if (!e) return;
  for (size_t i = 0; i < e->ncolls; i++) coll_close(e->colls[i], true);
  free(e->colls);
  store_close(e->st);
  pthread_rwlock_destroy(&e->lock);
  pthread_mutex_destroy(&e->ref_mu);
  pthread_mutex_destroy(&e->create_mu);
  pthread_cond_destroy(&e->ref_cv);
  free(e->dir);
  free(e->ann_dir);
  free(e);
}

int engine_save_indexes(engine *e, precis_error *err) {
  coll **v;
  size_t n;
  int rc = acquire_all(e, &v, &n, err);
  if (rc) return rc;
  for (size_t i = 0; i < n && !rc; i++) rc = coll_save_index(v[i], err);
  release_all(e, v, n);
  return rc;
}

/* A snapshot is the RocksDB checkpoint in `dir` plus `dir`/ann/ with every
 * loaded index as it stands at its collection's current write sequence.
 * While the indexes are written and the checkpoint is taken, no collection
 * saves its live index, so the replay log in the checkpoint still holds every
 * write after the sequence each copied index reflects: engine_open() of the
 * restored directory loads those indexes and replays the rest. Writers of a
 * collection wait only while its own index is written. */
int engine_snapshot(engine *e, const char *dir, precis_error *err) {
  if (!dir || !*dir)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no snapshot directory");
  if (strlen(dir) > 4000)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "snapshot path too long");
  struct stat sb;
  if (stat(dir, &sb) == 0) return precis_error_set(err, PRECIS_E_ALREADY_EXISTS, "%s exists", dir);
  char ann[4200], final_ann[4200];
  snprintf(ann, sizeof ann, "%s.ann.tmp", dir);
  snprintf(final_ann, sizeof final_ann, "%s/ann", dir);
  if (lstat(ann, &sb) == 0) engine_remove_tree(ann); /* a failed earlier attempt */
  if (mkdir(ann, 0755) != 0)
    return precis_error_set(err, PRECIS_E_IO, "%s: %s", ann, strerror(errno));
  coll **v;
  size_t n;
  int rc = acquire_all(e, &v, &n, err);
  if (rc) {
    engine_remove_tree(ann);
    return rc;
  }
  for (size_t i = 0; i < n; i++) coll_save_block(v[i], true);
  for (size_t i = 0; i < n && !rc; i++) rc = coll_save_index_copy(v[i], ann, err);
  if (!rc) rc = store_checkpoint(e->st, dir, err);
  for (size_t i = 0; i < n; i++) coll_save_block(v[i], false);
  release_all(e, v, n);
  if (!rc && rename(ann, final_ann) != 0)
    rc = precis_error_set(err, PRECIS_E_IO, "rename %s: %s", ann, strerror(errno));
  if (!rc) rc = file_fsync_dir(dir, err);
  if (rc) {
    engine_remove_tree(ann);
    if (lstat(dir, &sb) == 0) engine_remove_tree(dir);
  }
  return rc;
}

void engine_storage_stats_get(engine *e, engine_storage_stats *o) {
  memset(o, 0, sizeof *o);
  o->live_sst_bytes = store_property(e->st, "rocksdb.live-sst-files-size", true);
  o->total_sst_bytes = store_property(e->st, "rocksdb.total-sst-files-size", true);
  o->pending_compaction_bytes =
      store_property(e->st, "rocksdb.estimate-pending-compaction-bytes", true);
  o->memtable_bytes = store_property(e->st, "rocksdb.cur-size-all-mem-tables", true);
  /* database-wide; every family shares one block cache */
  o->running_compactions = store_property(e->st, "rocksdb.num-running-compactions", false);
  o->running_flushes = store_property(e->st, "rocksdb.num-running-flushes", false);
  o->block_cache_bytes = store_property(e->st, "rocksdb.block-cache-usage", false);
}

const char *engine_faiss_build(void) { return ann_faiss_build(); }

void engine_debug_fail_index_adds_after(long countdown) { ann_debug_fail_adds_after(countdown); }

void engine_debug_fail_writes_after(engine *e, long countdown) {
  store_debug_fail_writes_after(e->st, countdown);
}

/* ---- collections ---- */
int engine_collection_create(engine *e, const char *name, const engine_collection_config *cfg0,
                             precis_error *err) {
  int rc = check_name(name, err);
  if (rc) return rc;
  if (!cfg0) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no collection config");
  engine_collection_config cfg = *cfg0;
  if ((rc = coll_config_check(&cfg, err))) return rc;
  if (!strncmp(cfg.index_spec, "auto", 4)) cfg.index_spec[0] = 0; /* as described */
  pthread_rwlock_rdlock(&e->lock);
  bool exists = find(e, name) != NULL;
  pthread_rwlock_unlock(&e->lock);
  if (exists)
    return precis_error_set(err, PRECIS_E_ALREADY_EXISTS, "collection \"%s\" exists", name);
  if (cfg.index_spec[0]) { /* check the spec now rather than at first write */
    ann_cost cost;
    if ((rc = ann_spec_check(cfg.dim, cfg.index_spec, &cost, err))) return rc;
    uint64_t need = cost.fixed_bytes + (uint64_t)PRECIS_MAX_BATCH * cost.per_vector_bytes;
    if (e->opts.max_index_bytes && need > e->opts.max_index_bytes)
      return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                              "index spec \"%s\" at dimension %u needs about %llu MiB "
                              "for %d vectors, over the budget of %llu MiB",
                              cfg.index_spec, cfg.dim, (unsigned long long)(need >> 20),
                              PRECIS_MAX_BATCH,
                              (unsigned long long)(e->opts.max_index_bytes >> 20));
    ann *probe;
    if ((rc = ann_create(cfg.dim, ANN_METRIC_IP, cfg.index_spec, &probe, err))) return rc;
    ann_destroy(probe);
  }
  /* creates are serialised by create_mu (next_cid, the name check); the
   * registry lock is taken only to look and to insert */
  pthread_mutex_lock(&e->create_mu);
  char *desc = NULL;
  store_batch *b = NULL;
  pthread_rwlock_rdlock(&e->lock);
  bool taken = find(e, name) != NULL;
  size_t ncolls = e->ncolls;
  pthread_rwlock_unlock(&e->lock);
  if (taken) {
    rc = precis_error_set(err, PRECIS_E_ALREADY_EXISTS, "collection \"%s\" exists", name);
    goto out;
  }
  if (ncolls >= PRECIS_MAX_COLLECTIONS) {
    rc = precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "at most %d collections",
                          PRECIS_MAX_COLLECTIONS);
    goto out;
  }
  uint32_t cid = e->next_cid;
  desc = coll_descriptor_json(name, cid, &cfg);
  b = store_batch_create(e->st);
  if (!desc || !b) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "create");
    goto out;
  }
  unsigned char nc[4];
  byte_put_le32(nc, cid + 1);
  store_batch_put(b, STORE_CF_META, "next_cid", 8, nc, 4);
  store_batch_put(b, STORE_CF_COLL, name, strlen(name), desc, strlen(desc));
  pthread_rwlock_wrlock(&e->lock); /* room for the entry before the write */
  if (e->ncolls == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 8;
    coll **p = realloc(e->colls, cap * sizeof *p);
    if (p) {
      e->colls = p;
      e->cap = cap;
    }
  }
  bool room = e->ncolls < e->cap;
  pthread_rwlock_unlock(&e->lock);
  if (!room) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "create");
    goto out;
  }
  coll_remove_files(e->ann_dir, cid); /* leftovers of a crash, if any */
  coll *c;
  if ((rc = coll_open(e->st, e->ann_dir, desc, strlen(desc), &e->opts, engine__log, e, &c, err)))
    goto out;
  if ((rc = store_write(e->st, b, err))) {
    coll_close(c, false);
    goto out;
  }
  e->next_cid = cid + 1;
  pthread_rwlock_wrlock(&e->lock);
  e->colls[e->ncolls++] = c; /* only creates add entries: the room is still there */
  pthread_rwlock_unlock(&e->lock);
  engine__log(e, COLL_LOG_INFO, "collection %s created (id %u, dim %u)", name, cid, cfg.dim);
out:
  pthread_mutex_unlock(&e->create_mu);
  free(desc);
  store_batch_destroy(b);
  return rc;
}

/* Drop: mark the collection dropping (lookups fail from then on, a create
 * of the name gets ALREADY_EXISTS), wait for the calls holding it to end,
 * then delete its data; on failure it is usable again. */
int engine_collection_drop(engine *e, const char *name, precis_error *err) {
  int rc = check_name(name, err);
  if (rc) return rc;
  pthread_rwlock_wrlock(&e->lock);
  coll *c = find(e, name);
  if (c) {
    pthread_mutex_lock(&e->ref_mu);
    if (c->dropping)
      c = NULL; /* another drop runs */
    else
      c->dropping = true;
    pthread_mutex_unlock(&e->ref_mu);
  }
  pthread_rwlock_unlock(&e->lock);
  if (!c) return precis_error_set(err, PRECIS_E_NOT_FOUND, "unknown collection \"%s\"", name);
  pthread_mutex_lock(&e->ref_mu);
  while (c->refs > 0) pthread_cond_wait(&e->ref_cv, &e->ref_mu);
  pthread_mutex_unlock(&e->ref_mu);
  pidx_stop_builder(c); /* writes no postings after the range deletes below */
  store_batch *b = store_batch_create(e->st);
  if (!b) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "drop");
  } else {
    unsigned char lo[5], hi[5];
    store_put_be32(lo, c->id);
    store_put_be32(hi, c->id + 1);
    for (int cf = STORE_CF_VEC; cf < STORE_CF_COUNT; cf++)
      store_batch_delete_range(b, (store_cf)cf, lo, 4, hi, 4);
    const char tags[] = {'s', 'n', 'k', 'l'};
    for (size_t t = 0; t < sizeof tags; t++) {
      unsigned char mk[5];
      mk[0] = (unsigned char)tags[t];
      store_put_be32(mk + 1, c->id);
      store_batch_delete(b, STORE_CF_META, mk, 5);
    }
    store_batch_delete(b, STORE_CF_COLL, name, strlen(name));
    rc = store_write(e->st, b, err);
    store_batch_destroy(b);
  }
  if (rc) {
    pthread_mutex_lock(&e->ref_mu);
    c->dropping = false;
    pthread_mutex_unlock(&e->ref_mu);
    return rc;
  }
  pthread_rwlock_wrlock(&e->lock);
  for (size_t i = 0; i < e->ncolls; i++)
    if (e->colls[i] == c) {
      e->colls[i] = e->colls[--e->ncolls];
      break;
    }
  pthread_rwlock_unlock(&e->lock);
  uint32_t cid = c->id;
  coll_close(c, false);
  coll_remove_files(e->ann_dir, cid);
  engine__log(e, COLL_LOG_INFO, "collection %s dropped", name);
  return PRECIS_OK;
}

int engine_collection_describe(engine *e, const char *name, engine_collection_info *out,
                               precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  coll_describe(c, out);
  release(e, c);
  return PRECIS_OK;
}

static int cmp_info(const void *a, const void *b) {
  return strcmp(((const engine_collection_info *)a)->name,
                ((const engine_collection_info *)b)->name);
}

int engine_collection_list(engine *e, engine_collection_info **out, size_t *n, precis_error *err) {
  coll **cs;
  size_t m;
  int rc = acquire_all(e, &cs, &m, err);
  if (rc) return rc;
  engine_collection_info *v = calloc(m ? m : 1, sizeof *v);
  for (size_t i = 0; v && i < m; i++) coll_describe(cs[i], &v[i]);
  release_all(e, cs, m);
  if (!v) return precis_error_set(err, PRECIS_E_NO_MEMORY, "list");
  qsort(v, m, sizeof *v, cmp_info);
  *n = m;
  *out = v;
  return PRECIS_OK;
}

/* ---- points ---- */
int engine_upsert_counted(engine *e, const char *name, const engine_point_in *pts, size_t n,
                          unsigned flags, size_t *upserted, precis_error *err) {
  if (upserted) *upserted = 0;
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = (!pts && n)
           ? precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no points")
           : coll_upsert(c, pts, n, (flags & ENGINE_UPSERT_DEFER_GRAPH) != 0, upserted, err);
  release(e, c);
  return rc;
}

int engine_upsert_flags(engine *e, const char *name, const engine_point_in *pts, size_t n,
                        unsigned flags, precis_error *err) {
  return engine_upsert_counted(e, name, pts, n, flags, NULL, err);
}

int engine_upsert(engine *e, const char *name, const engine_point_in *pts, size_t n,
                  precis_error *err) {
  return engine_upsert_flags(e, name, pts, n, 0, err);
}

int engine_get(engine *e, const char *name, const uint64_t *ids, size_t n, bool with_vectors,
               engine_point **out, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = (!ids && n) ? precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no ids")
                   : coll_get(c, ids, n, with_vectors, out, err);
  release(e, c);
  return rc;
}

void engine_points_free(engine_point *pts, size_t n) {
  if (!pts) return;
  for (size_t i = 0; i < n; i++) {
    free(pts[i].vector);
    free(pts[i].text);
    free(pts[i].meta);
  }
  free(pts);
}

int engine_delete(engine *e, const char *name, const uint64_t *ids, size_t n, size_t *deleted,
                  precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = (!ids && n) ? precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no ids")
                   : coll_delete(c, ids, n, deleted, err);
  release(e, c);
  return rc;
}

int engine_count(engine *e, const char *name, uint64_t *out, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  pthread_rwlock_rdlock(&c->lock);
  *out = c->count;
  pthread_rwlock_unlock(&c->lock);
  release(e, c);
  return PRECIS_OK;
}

int engine_search(engine *e, const char *name, const float *query, uint32_t dim, uint32_t k,
                  const engine_search_params *sp, engine_hit *hits, size_t *nhits,
                  precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = coll_search(c, query, dim, k, sp, hits, nhits, err);
  release(e, c);
  return rc;
}

int engine_search_filtered(engine *e, const char *name, const float *query, uint32_t dim,
                           uint32_t k, const engine_search_params *sp, const engine_filter *f,
                           engine_hit *hits, size_t *nhits, engine_filter_report *rep,
                           precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = coll_search_filtered(c, query, dim, k, sp, f, hits, nhits, rep, err);
  release(e, c);
  return rc;
}

int engine_payload_index_create(engine *e, const char *name, const char *key,
                                engine_pindex_type type, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = pidx_create(c, key, type, err);
  release(e, c);
  return rc;
}

int engine_payload_index_drop(engine *e, const char *name, const char *key, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = key ? pidx_drop(c, key, err) : precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no key");
  release(e, c);
  return rc;
}

int engine_payload_index_list(engine *e, const char *name, engine_pindex_info **out, size_t *n,
                              precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = pidx_list(c, out, n, err);
  release(e, c);
  return rc;
}

int engine_count_filtered(engine *e, const char *name, const engine_filter *f, uint64_t *out,
                          precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = coll_count_filtered(c, f, out, err);
  release(e, c);
  return rc;
}

int engine_scroll(engine *e, const char *name, const engine_filter *f, uint64_t cursor,
                  uint32_t limit, bool with_vectors, engine_point **out, size_t *n,
                  uint64_t *next_cursor, bool *more, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = coll_scroll(c, f, cursor, limit, with_vectors, out, n, next_cursor, more, err);
  release(e, c);
  return rc;
}

int engine_delete_filtered(engine *e, const char *name, const engine_filter *f, uint64_t *deleted,
                           precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = coll_delete_filtered(c, f, deleted, err);
  release(e, c);
  return rc;
}

int engine_set_payload(engine *e, const char *name, const uint64_t *ids, size_t n, const char *meta,
                       size_t meta_len, bool merge, size_t *updated, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = coll_set_payload(c, ids, n, meta, meta_len, merge, updated, err);
  release(e, c);
  return rc;
}

/* ---- graph ---- */
int engine_links_change(engine *e, const char *name, const engine_edge *links, size_t n, bool add,
                        size_t *changed, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = (!links && n) ? precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no links")
                     : graph_links_change(c, links, n, add, changed, err);
  release(e, c);
  return rc;
}

int engine_edges_list(engine *e, const char *name, uint64_t id, unsigned kinds, const char *kind,
                      unsigned dirs, engine_edge **out, size_t *n, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = graph_edges_list(c, id, kinds, kind, dirs, out, n, err);
  release(e, c);
  return rc;
}

int engine_graph_rebuild(engine *e, const char *name, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = graph_knn_rebuild(c, err);
  release(e, c);
  return rc;
}

int engine_graph_check(engine *e, const char *name, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  pthread_rwlock_rdlock(&c->lock);
  rc = gmem_check(c->gm, err);
  pthread_rwlock_unlock(&c->lock);
  release(e, c);
  return rc;
}

/* retrieve lives in retrieve.c; it needs the collection from the registry */
int retrieve__run(coll *c, const engine_retrieve_params *p, engine_retrieve_result **out,
                  precis_error *err);

int engine_retrieve(engine *e, const char *name, const engine_retrieve_params *p,
                    engine_retrieve_result **out, precis_error *err) {
  coll *c;
  int rc = acquire(e, name, &c, err);
  if (rc) return rc;
  rc = p ? retrieve__run(c, p, out, err)
         : precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "no retrieve parameters");
  release(e, c);
  return rc;
}
