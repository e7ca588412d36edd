/* coll.c: collection lifecycle: descriptor, open/close, saving and loading
 * the ANN index (see coll.h); building and replaying it is coll_build.c. */
#include "coll.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coll_internal.h"
#include "crc32c.h"
#include "file.h"
#include "graph_snap.h"
#include "payload_index.h"
#include "payload.h"
#include "upkeep.h"

/* Slot file (docs/STORAGE.md): magic | id, seq, nslots, count (u64 LE) |
 * nslots slot ids (u64 LE) | nslots live bytes | CRC-32C of all before (u32 LE).
 * "PRSLOTS1" was the same with native order and an FNV-1a sum: such a file
 * is refused and the index rebuilt. */
#define SLOTS_MAGIC "PRSLOTS2"

static const char *metric_name(engine_metric m) {
  return m == ENGINE_METRIC_IP ? "ip" : m == ENGINE_METRIC_L2 ? "l2" : "cosine";
}

int coll_config_check(engine_collection_config *cfg, precis_error *err) {
  if (cfg->dim < 1 || cfg->dim > PRECIS_MAX_DIM)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "dimension %u outside 1..%d", cfg->dim,
                            PRECIS_MAX_DIM);
  if ((int)cfg->metric < 0 || cfg->metric > ENGINE_METRIC_L2)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "unknown metric %d", (int)cfg->metric);
  if (memchr(cfg->index_spec, 0, sizeof cfg->index_spec) == NULL)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "index spec too long");
  if (cfg->knn_k == 0) cfg->knn_k = 16;
  if (cfg->knn_k > PRECIS_MAX_KNN_K)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "knn_k %u outside 1..%d", cfg->knn_k,
                            PRECIS_MAX_KNN_K);
  if (cfg->hnsw_ef_construction == 0) cfg->hnsw_ef_construction = 200;
  if (cfg->hnsw_ef_search == 0) cfg->hnsw_ef_search = 200;
  if (cfg->ivf_nprobe == 0) cfg->ivf_nprobe = 16;
  if (cfg->hnsw_ef_construction > 4096 || cfg->hnsw_ef_search > 4096 || cfg->ivf_nprobe > 65536)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "efConstruction/efSearch at most 4096, nprobe at "
                            "most 65536");
  return PRECIS_OK;
}

char *coll_descriptor_json(const char *name, uint32_t id, const engine_collection_config *cfg) {
  json_t *j = json_pack(
      "{s:s, s:i, s:i, s:s, s:s, s:i, s:i, s:i, s:i}", "name", name, "id", (json_int_t)id, "dim",
      (json_int_t)cfg->dim, "metric", metric_name(cfg->metric), "index", cfg->index_spec, "knn_k",
      (json_int_t)cfg->knn_k, "ef_construction", (json_int_t)cfg->hnsw_ef_construction, "ef_search",
      (json_int_t)cfg->hnsw_ef_search, "nprobe", (json_int_t)cfg->ivf_nprobe);
  if (!j) return NULL;
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(j);
  return s;
}

static int parse_descriptor(coll *c, const char *desc, size_t len, precis_error *err) {
  json_error_t je;
  json_t *j = json_loadb(desc, len, 0, &je);
  if (!j) return precis_error_set(err, PRECIS_E_CORRUPTION, "descriptor: %s", je.text);
  const char *name = NULL, *metric = NULL, *index = NULL;
  json_int_t id = 0, dim = 0, knn = 0, efc = 0, efs = 0, np = 0;
  int rc = json_unpack_ex(j, &je, 0, "{s:s, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I}", "name", &name,
                          "id", &id, "dim", &dim, "metric", &metric, "index", &index, "knn_k", &knn,
                          "ef_construction", &efc, "ef_search", &efs, "nprobe", &np);
  if (rc != 0 || strlen(name) > PRECIS_MAX_NAME_LEN || strlen(index) >= PRECIS_MAX_INDEX_SPEC_LEN) {
    json_decref(j);
    return precis_error_set(err, PRECIS_E_CORRUPTION, "descriptor fields");
  }
  snprintf(c->name, sizeof c->name, "%s", name);
  c->id = (uint32_t)id;
  memset(&c->cfg, 0, sizeof c->cfg);
  c->cfg.dim = (uint32_t)dim;
  c->cfg.metric = !strcmp(metric, "ip")   ? ENGINE_METRIC_IP
                  : !strcmp(metric, "l2") ? ENGINE_METRIC_L2
                                          : ENGINE_METRIC_COSINE;
  snprintf(c->cfg.index_spec, sizeof c->cfg.index_spec, "%s", index);
  c->cfg.knn_k = (uint32_t)knn;
  c->cfg.hnsw_ef_construction = (uint32_t)efc;
  c->cfg.hnsw_ef_search = (uint32_t)efs;
  c->cfg.ivf_nprobe = (uint32_t)np;
  c->auto_spec = c->cfg.index_spec[0] == 0;
  json_decref(j);
  return PRECIS_OK;
}

/* ---- meta counters ---- */
void coll__meta_key(unsigned char *k, char tag, uint32_t cid) {
  k[0] = (unsigned char)tag;
  store_put_be32(k + 1, cid);
}

static int read_meta_u64(store *st, char tag, uint32_t cid, uint64_t *v, precis_error *err) {
  unsigned char k[5];
  coll__meta_key(k, tag, cid);
  char *val;
  size_t vl;
  int rc = store_get(st, STORE_CF_META, k, 5, &val, &vl, err);
  if (rc == PRECIS_E_NOT_FOUND) {
    *v = 0;
    precis_error_clear(err);
    return PRECIS_OK;
  }
  if (rc) return rc;
  if (vl != 8) {
    store_free(val);
    return precis_error_set(err, PRECIS_E_CORRUPTION, "meta counter");
  }
  *v = byte_get_le64((const unsigned char *)val);
  store_free(val);
  return PRECIS_OK;
}

void coll__batch_counters(coll *c, store_batch *b, uint64_t seq, uint64_t count) {
  unsigned char k[5], v[8];
  coll__meta_key(k, 's', c->id);
  byte_put_le64(v, seq);
  store_batch_put(b, STORE_CF_META, k, 5, v, 8);
  coll__meta_key(k, 'n', c->id);
  byte_put_le64(v, count);
  store_batch_put(b, STORE_CF_META, k, 5, v, 8);
}

/* ---- slot file ---- */

/* The index and slot file paths of collection `id` in `dir`. */
static void index_paths_in(const char *dir, uint32_t id, char *faiss, char *slots, size_t n) {
  snprintf(faiss, n, "%s/%u.faiss", dir, id);
  snprintf(slots, n, "%s/%u.slots", dir, id);
}

static void index_paths(const coll *c, char *faiss, char *slots, size_t n) {
  index_paths_in(c->ann_dir, c->id, faiss, slots, n);
}

/* Append n bytes to the slot file being written, and to its checksum. */
static int slots_put(int fd, uint32_t *crc, const void *p, size_t n) {
  *crc = crc32c_update(*crc, p, n);
  return file_write_all(fd, p, n);
}

/* The slot map of a collection at one write sequence, copied out under the
 * lock so that the file is written without it. */
typedef struct {
  uint64_t hdr[4]; /* id, seq, nslots, count */
  uint64_t *slot_id;
  unsigned char *liveb; /* one byte per slot */
} slots_image;

static void slots_image_free(slots_image *im) {
  free(im->slot_id);
  free(im->liveb);
  memset(im, 0, sizeof *im);
}

/* Lock held (shared is enough). */
static int slots_image_take(const coll *c, uint64_t seq, slots_image *im, precis_error *err) {
  size_t n = c->nslots;
  im->hdr[0] = c->id;
  im->hdr[1] = seq;
  im->hdr[2] = n;
  im->hdr[3] = c->count;
  im->slot_id = malloc((n ? n : 1) * sizeof *im->slot_id);
  im->liveb = malloc(n ? n : 1);
  if (!im->slot_id || !im->liveb) {
    slots_image_free(im);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "save");
  }
  if (n) memcpy(im->slot_id, c->slot_id, n * sizeof *im->slot_id);
  for (size_t s = 0; s < n; s++) {
    uint64_t v;
    im->liveb[s] = idmap_get(&c->live, c->slot_id[s], &v) && v == s;
  }
  return PRECIS_OK;
}

/* Write the slot file atomically (file.h). No lock needed. */
static int save_slots(const slots_image *im, const char *path, precis_error *err) {
  file_atomic fa;
  int rc = file_atomic_open(&fa, path, err);
  if (rc) return rc;
  unsigned char buf[4096];
  uint32_t crc = 0;
  size_t n = (size_t)im->hdr[2];
  memcpy(buf, SLOTS_MAGIC, 8);
  for (int i = 0; i < 4; i++) byte_put_le64(buf + 8 + 8 * i, im->hdr[i]);
  int bad = slots_put(fa.fd, &crc, buf, 40);
  for (size_t s = 0; s < n && !bad;) {
    size_t m = 0;
    for (; m + 8 <= sizeof buf && s < n; m += 8, s++) byte_put_le64(buf + m, im->slot_id[s]);
    bad = slots_put(fa.fd, &crc, buf, m);
  }
  if (!bad && n) bad = slots_put(fa.fd, &crc, im->liveb, n);
  byte_put_le32(buf, crc);
  if (!bad) bad = file_write_all(fa.fd, buf, 4);
  if (bad) {
    rc = precis_error_set(err, PRECIS_E_IO, "write %s: %s", fa.tmp, strerror(bad));
    file_atomic_abort(&fa);
    return rc;
  }
  return file_atomic_commit(&fa, err);
}

/* Load the slot file: fills slot_id/nslots/live and *seq. */
static int load_slots(coll *c, const char *path, uint64_t *seq, precis_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return precis_error_set(err, PRECIS_E_NOT_FOUND, "%s missing", path);
  unsigned char hdr[40], tail[4];
  int rc = PRECIS_E_CORRUPTION;
  uint64_t *ids = NULL;
  unsigned char *liveb = NULL;
  if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr || memcmp(hdr, SLOTS_MAGIC, 8) ||
      byte_get_le64(hdr + 8) != c->id || byte_get_le64(hdr + 24) > (1ULL << 40))
    goto out;
  size_t n = (size_t)byte_get_le64(hdr + 24);
  ids = malloc((n ? n : 1) * sizeof *ids);
  liveb = malloc(n ? n : 1);
  if (!ids || !liveb) {
    rc = PRECIS_E_NO_MEMORY;
    goto out;
  }
  if (fread(ids, sizeof *ids, n, f) != n || fread(liveb, 1, n, f) != n || fread(tail, 1, 4, f) != 4)
    goto out;
  uint32_t crc = crc32c_update(0, hdr, sizeof hdr);
  crc = crc32c_update(crc, ids, n * sizeof *ids);
  crc = crc32c_update(crc, liveb, n);
  if (crc != byte_get_le32(tail)) goto out;
  for (size_t s = 0; s < n; s++) ids[s] = byte_get_le64((const unsigned char *)&ids[s]);
  uint64_t count = byte_get_le64(hdr + 32);
  idmap_free(&c->live);
  if (idmap_reserve(&c->live, (size_t)count)) {
    rc = PRECIS_E_NO_MEMORY;
    goto out;
  }
  for (size_t s = 0; s < n; s++)
    if (liveb[s] && idmap_put(&c->live, ids[s], s)) {
      rc = PRECIS_E_NO_MEMORY;
      goto out;
    }
  free(c->slot_id);
  c->slot_id = ids;
  ids = NULL;
  c->nslots = c->slot_cap = n;
  *seq = byte_get_le64(hdr + 16);
  rc = PRECIS_OK;
out:
  fclose(f);
  free(ids);
  free(liveb);
  if (rc) precis_error_set(err, rc, "slot file %s is unusable", path);
  return rc;
}

/* The graph snapshot beside the index (graph_snap.h), taken with the slot
 * image under the same lock: an incomplete in-memory graph takes none. */
static int graph_image_take(coll *c, uint64_t seq, gsnap_image *gi, precis_error *err) {
  int rc = gsnap_take(c, seq, gi, err);
  if (rc == PRECIS_E_UNIMPLEMENTED) precis_error_clear(err);
  return rc == PRECIS_E_UNIMPLEMENTED ? PRECIS_OK : rc;
}

/* Write it into dir; with no image the old snapshot of dir goes (it would
 * be older than the trimmed log, and is refused on open anyway). */
static int graph_image_write(const coll *c, const char *dir, const gsnap_image *gi,
                             precis_error *err) {
  char gp[4300];
  gsnap_path(dir, c->id, gp, sizeof gp);
  if (gi->buf) return gsnap_write(gi, gp, err);
  unlink(gp);
  return PRECIS_OK;
}

/* Save the index if it changed. The index is serialised under the shared
 * lock (readers go on; writers wait while FAISS writes it into the page
 * cache); the files are synced and renamed with no collection lock, and
 * the state (index_seq, dirty, ops_since_save) changes under a short
 * exclusive lock once both files are durable. `wait`: false returns at once
 * when another save or a rebuild holds save_mu (periodic saves). */
int coll__save_index(coll *c, bool wait, precis_error *err) {
  if (wait)
    pthread_mutex_lock(&c->save_mu);
  else if (pthread_mutex_trylock(&c->save_mu) != 0)
    return PRECIS_OK;
  char fp[4200], sp[4200];
  index_paths(c, fp, sp, sizeof fp);
  slots_image im = {{0}, NULL, NULL};
  gsnap_image gi = {NULL, 0};
  ann_pending *pend = NULL;
  pthread_rwlock_rdlock(&c->lock);
  bool todo = c->dirty && c->ann;
  uint64_t seq = c->seq, ops = c->ops_since_save;
  int rc = PRECIS_OK;
  if (todo && !(rc = slots_image_take(c, seq, &im, err)) &&
      !(rc = graph_image_take(c, seq, &gi, err)))
    rc = ann_save_begin(c->ann, fp, &pend, err);
  pthread_rwlock_unlock(&c->lock);
  if (!todo || rc) goto out;
  if ((rc = ann_save_finish(pend, err))) {
    pend = NULL;
    goto out;
  }
  pend = NULL;
  if ((rc = save_slots(&im, sp, err))) goto out;
  if ((rc = graph_image_write(c, c->ann_dir, &gi, err))) goto out;
  pthread_rwlock_wrlock(&c->lock);
  c->index_seq = seq;
  if (c->seq == seq) c->dirty = false;
  c->ops_since_save = c->ops_since_save > ops ? c->ops_since_save - ops : 0;
  c->dirty_since_ms = 0;
  pthread_rwlock_unlock(&c->lock);
  /* trim the replay log up to and including seq */
  store_batch *b = store_batch_create(c->st);
  precis_error e2;
  int trc = b ? PRECIS_OK : precis_error_set(&e2, PRECIS_E_NO_MEMORY, "log trim");
  if (b) {
    unsigned char lo[12], hi[12];
    store_put_be32(lo, c->id);
    store_put_be64(lo + 4, 0);
    store_put_be32(hi, c->id);
    store_put_be64(hi + 4, seq + 1);
    store_batch_delete_range(b, STORE_CF_LOG, lo, 12, hi, 12);
    trc = store_write(c->st, b, &e2);
    store_batch_destroy(b);
  }
  /* not fatal: the log after seq is intact and older entries are skipped */
  if (trc && c->log)
    c->log(c->log_ctx, COLL_LOG_WARN, "collection %s: log trim failed: %s", c->name, e2.msg);
  if (c->log)
    c->log(c->log_ctx, COLL_LOG_DEBUG, "collection %s: index saved at seq %llu", c->name,
           (unsigned long long)seq);
out:
  ann_save_abort(pend);
  slots_image_free(&im);
  gsnap_image_free(&gi);
  pthread_mutex_unlock(&c->save_mu);
  return rc;
}

int coll_save_index(coll *c, precis_error *err) { return coll__save_index(c, true, err); }

void coll_save_block(coll *c, bool block) {
  if (block)
    pthread_mutex_lock(&c->save_mu);
  else
    pthread_mutex_unlock(&c->save_mu);
}

int coll_save_index_copy(coll *c, const char *dir, precis_error *err) {
  char fp[4300], sp[4300];
  index_paths_in(dir, c->id, fp, sp, sizeof fp);
  slots_image im = {{0}, NULL, NULL};
  gsnap_image gi = {NULL, 0};
  ann_pending *pend = NULL;
  pthread_rwlock_rdlock(&c->lock); /* serialised under the lock, synced without */
  bool has = c->ann != NULL;
  int rc = graph_image_take(c, c->seq, &gi, err);
  if (has && !rc) rc = slots_image_take(c, c->seq, &im, err);
  if (has && !rc) rc = ann_save_begin(c->ann, fp, &pend, err);
  pthread_rwlock_unlock(&c->lock);
  if (has && !rc) {
    rc = ann_save_finish(pend, err);
    if (!rc) rc = save_slots(&im, sp, err);
  } else {
    ann_save_abort(pend);
  }
  if (!rc) rc = graph_image_write(c, dir, &gi, err);
  slots_image_free(&im);
  gsnap_image_free(&gi);
  return rc;
}

int coll__first_log_seq(coll *c, uint64_t *first, precis_error *err) {
  unsigned char prefix[4];
  store_put_be32(prefix, c->id);
  store_iter *it = store_iter_create(c->st, STORE_CF_LOG, prefix, 4);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "log");
  *first = 0;
  if (store_iter_valid(it)) {
    size_t kl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    if (kl >= 12) *first = store_get_be64(k + 4); /* cid|seq, graph entries cid|seq|'g' */
  }
  int rc = store_iter_status(it, err);
  store_iter_destroy(it);
  return rc;
}

/* Try the saved index; on any problem say why in *why and return nonzero. */
static int load_saved(coll *c, char *why, size_t whylen) {
  char fp[4200], sp[4200];
  index_paths(c, fp, sp, sizeof fp);
  precis_error e;
  uint64_t saved = 0, first = 0, replayed = 0;
  ann *a = NULL;
  int rc = load_slots(c, sp, &saved, &e);
  if (rc) {
    snprintf(why, whylen, "%s", rc == PRECIS_E_NOT_FOUND ? "no saved index" : e.msg);
    return rc;
  }
  if ((rc = ann_load(fp, &a, &e))) {
    snprintf(why, whylen, "index file: %s", e.msg);
    return rc;
  }
  if (ann_dim(a) != c->cfg.dim || ann_ntotal(a) != c->nslots) {
    snprintf(why, whylen, "index file does not match its slot map");
    ann_destroy(a);
    return PRECIS_E_CORRUPTION;
  }
  if (saved > c->seq) {
    snprintf(why, whylen, "saved index (seq %llu) is newer than the data (seq %llu)",
             (unsigned long long)saved, (unsigned long long)c->seq);
    ann_destroy(a);
    return PRECIS_E_CORRUPTION;
  }
  if ((rc = coll__first_log_seq(c, &first, &e))) {
    snprintf(why, whylen, "%s", e.msg);
    ann_destroy(a);
    return rc;
  }
  if (saved < c->seq && (first == 0 || first > saved + 1)) {
    snprintf(why, whylen, "saved index (seq %llu) is older than the replay log",
             (unsigned long long)saved);
    ann_destroy(a);
    return PRECIS_E_CORRUPTION;
  }
  /* the spec of the index loaded, not of the count: an automatic
   * collection's index is Flat or HNSW32 (upkeep.h) */
  const char *spec = !c->auto_spec    ? c->cfg.index_spec
                     : ann_is_flat(a) ? UPKEEP_AUTO_SMALL
                                      : UPKEEP_AUTO_LARGE;
  if ((rc = upkeep_adopt_loaded(c, a, spec, &e))) {
    snprintf(why, whylen, "index parameters: %s", e.msg);
    ann_destroy(a);
    return rc;
  }
  c->ann = a;
  snprintf(c->cur_spec, sizeof c->cur_spec, "%s", spec);
  if ((rc = coll__replay_log(c, saved, &replayed, &e))) {
    snprintf(why, whylen, "replay: %s", e.msg);
    return rc;
  }
  if (c->live.len != c->count) {
    snprintf(why, whylen, "index holds %zu live points, the store %llu", c->live.len,
             (unsigned long long)c->count);
    return PRECIS_E_CORRUPTION;
  }
  c->index_seq = saved;
  c->dirty = replayed > 0;
  if (c->log)
    c->log(c->log_ctx, COLL_LOG_INFO,
           "collection %s: loaded saved index (seq %llu, %zu slots), replayed %llu changed points",
           c->name, (unsigned long long)saved, c->nslots, (unsigned long long)replayed);
  return PRECIS_OK;
}

static void load_tokens(coll *c);

/* The in-memory graph: from its snapshot and the log after it, else (with
 * the reason logged) from the EDGE family. */
static int load_graph(coll *c, precis_error *err) {
  char gp[4300], why[512];
  uint64_t snap = 0, replayed = 0;
  gsnap_path(c->ann_dir, c->id, gp, sizeof gp);
  int rc = gsnap_load(c, gp, &snap, &replayed, why, sizeof why);
  if (rc == PRECIS_OK) {
    if (c->log)
      c->log(c->log_ctx, COLL_LOG_INFO,
             "collection %s: loaded graph snapshot (seq %llu), reloaded the edges of %llu points",
             c->name, (unsigned long long)snap, (unsigned long long)replayed);
    return PRECIS_OK;
  }
  if (c->log && (rc != PRECIS_E_NOT_FOUND || c->seq > 0))
    c->log(c->log_ctx, rc == PRECIS_E_NOT_FOUND ? COLL_LOG_INFO : COLL_LOG_WARN,
           "collection %s: %s; loading the graph from the store", c->name, why);
  gmem_destroy(c->gm); /* nothing of a refused snapshot stays, not even its kinds */
  if (!(c->gm = gmem_create(c->st, c->id)))
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "collection");
  return gmem_load(c->gm, err);
}

int coll_open(store *st, const char *ann_dir, const char *desc, size_t desc_len,
              const engine_options *eo, coll_log_fn log, void *log_ctx, coll **out,
              precis_error *err) {
  coll *c = calloc(1, sizeof *c);
  if (!c) return precis_error_set(err, PRECIS_E_NO_MEMORY, "collection");
  c->st = st;
  c->eopts = eo;
  c->log = log;
  c->log_ctx = log_ctx;
  idmap_init(&c->live);
  idmap_init(&c->tokens);
  pthread_rwlockattr_t la;
  pthread_rwlockattr_init(&la);
  /* writers first: glibc's default lets a stream of readers starve them */
  pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&c->lock, &la);
  pthread_rwlockattr_destroy(&la);
  pthread_mutex_init(&c->save_mu, NULL);
  int rc;
  c->ann_dir = strdup(ann_dir);
  if (!c->ann_dir) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "collection");
    goto fail;
  }
  if ((rc = parse_descriptor(c, desc, desc_len, err))) goto fail;
  if ((rc = read_meta_u64(st, 's', c->id, &c->seq, err))) goto fail;
  if ((rc = read_meta_u64(st, 'n', c->id, &c->count, err))) goto fail;
  if ((rc = read_meta_u64(st, 'k', c->id, &c->knn_edges, err))) goto fail;
  if ((rc = read_meta_u64(st, 'l', c->id, &c->links, err))) goto fail;
  if (!(c->gm = gmem_create(st, c->id))) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "collection");
    goto fail;
  }
  if ((rc = load_graph(c, err))) goto fail;
  char why[512];
  if (load_saved(c, why, sizeof why) != PRECIS_OK) {
    ann_destroy(c->ann);
    c->ann = NULL;
    free(c->slot_id);
    c->slot_id = NULL;
    c->nslots = c->slot_cap = 0;
    idmap_free(&c->live);
    if (c->count > 0 || c->seq > 0) {
      if (c->log) c->log(c->log_ctx, COLL_LOG_WARN, "collection %s: %s", c->name, why);
      if ((rc = coll__rebuild(c, why, err))) goto fail;
    } else {
      const char *spec = upkeep_spec_for(c, 0);
      rc = upkeep_new_ann(c, spec, &c->ann, err);
      if (rc) goto fail;
      snprintf(c->cur_spec, sizeof c->cur_spec, "%s", spec);
      if (!ann_is_trained(c->ann)) {
        ann_destroy(c->ann);
        c->ann = NULL;
      }
    }
  }
  if ((rc = pidx_open(c, err))) goto fail;
  load_tokens(c);
  *out = c;
  return PRECIS_OK;
fail:
  coll_close(c, false);
  return rc;
}

void coll_close(coll *c, bool save) {
  if (!c) return;
  pidx_close(c);
  if (save && c->dirty) {
    precis_error e;
    if (coll_save_index(c, &e) && c->log)
      c->log(c->log_ctx, COLL_LOG_ERROR, "collection %s: saving index failed: %s", c->name, e.msg);
  }
  ann_destroy(c->ann);
  gmem_destroy(c->gm);
  free(c->slot_id);
  idmap_free(&c->live);
  idmap_free(&c->tokens);
  free(c->ann_dir);
  pthread_rwlock_destroy(&c->lock);
  pthread_mutex_destroy(&c->save_mu);
  free(c);
}

void coll_remove_files(const char *ann_dir, uint32_t id) {
  char fp[4200], sp[4200];
  index_paths_in(ann_dir, id, fp, sp, sizeof fp);
  unlink(fp);
  unlink(sp);
  gsnap_path(ann_dir, id, fp, sizeof fp);
  unlink(fp);
}

float coll__score(const coll *c, float dist) {
  return c->cfg.metric == ENGINE_METRIC_L2 ? -dist : dist;
}

int coll__read_vector(coll *c, uint64_t id, float *out, precis_error *err) {
  unsigned char k[12];
  coll__point_key(k, c->id, id);
  char *v;
  size_t vl;
  int rc = store_get(c->st, STORE_CF_VEC, k, 12, &v, &vl, err);
  if (rc) return rc;
  if (vl != c->cfg.dim * sizeof(float)) {
    store_free(v);
    return precis_error_set(err, PRECIS_E_CORRUPTION, "vector of %llu has %zu bytes",
                            (unsigned long long)id, vl);
  }
  memcpy(out, v, vl);
  store_free(v);
  return PRECIS_OK;
}

int coll__vector(coll *c, uint64_t id, float *out, precis_error *err) {
  const float *base = ann_vectors(c->ann);
  uint64_t s;
  if (base && idmap_get(&c->live, id, &s) && s < c->nslots) {
    memcpy(out, base + s * c->cfg.dim, c->cfg.dim * sizeof(float));
    return PRECIS_OK;
  }
  return coll__read_vector(c, id, out, err);
}

int coll__tokens(coll *c, uint64_t id, uint32_t *tokens, precis_error *err) {
  uint64_t t;
  if (idmap_get(&c->tokens, id, &t)) {
    *tokens = (uint32_t)t;
    return PRECIS_OK;
  }
  unsigned char k[12];
  coll__point_key(k, c->id, id);
  char *v;
  size_t vl;
  int rc = store_get(c->st, STORE_CF_PAY, k, 12, &v, &vl, err);
  if (rc) return rc;
  rc = payload_decode(v, vl, tokens, NULL, NULL, err);
  store_free(v);
  return rc;
}

/* Token counts of every point, from the payloads (a missing entry is read
 * again from its payload when asked for). */
static void load_tokens(coll *c) {
  unsigned char prefix[4];
  store_put_be32(prefix, c->id);
  store_iter *it = store_iter_create(c->st, STORE_CF_PAY, prefix, 4);
  if (!it) return;
  if (idmap_reserve(&c->tokens, (size_t)c->count)) {
    store_iter_destroy(it);
    return;
  }
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    const char *v = store_iter_value(it, &vl);
    uint32_t t;
    if (kl != 12 || payload_decode(v, vl, &t, NULL, NULL, NULL)) continue;
    if (idmap_put(&c->tokens, store_get_be64(k + 4), t)) break;
  }
  store_iter_destroy(it);
}

void coll_describe(coll *c, engine_collection_info *o) {
  pthread_rwlock_rdlock(&c->lock);
  memset(o, 0, sizeof *o);
  snprintf(o->name, sizeof o->name, "%s", c->name);
  o->id = c->id;
  o->config = c->cfg;
  if (c->auto_spec)
    snprintf(o->config.index_spec, sizeof o->config.index_spec, "auto:%.100s", c->cur_spec);
  o->count = c->count;
  o->ann_total = c->ann ? ann_ntotal(c->ann) : 0;
  o->tombstones = c->ann ? c->nslots - c->live.len : 0;
  o->knn_edges = c->knn_edges;
  o->links = c->links;
  unsigned char p[4];
  store_put_be32(p, c->id);
  o->disk_bytes = store_approx_size(c->st, p, 4);
  char fp[4200];
  struct stat sb;
  snprintf(fp, sizeof fp, "%s/%u.faiss", c->ann_dir, c->id);
  if (stat(fp, &sb) == 0) o->disk_bytes += (uint64_t)sb.st_size;
  gsnap_path(c->ann_dir, c->id, fp, sizeof fp);
  if (stat(fp, &sb) == 0) o->disk_bytes += (uint64_t)sb.st_size;
  o->seq = c->seq;
  o->index_seq = c->index_seq;
  o->index_bytes = ann_memory_estimate(c->ann);
  o->graph_bytes = gmem_bytes(c->gm);
  o->maps_bytes = idmap_bytes(&c->live) + idmap_bytes(&c->tokens) + c->slot_cap * sizeof(uint64_t);
  pthread_rwlock_unlock(&c->lock);
}
