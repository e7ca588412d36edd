/* coll.c: collection lifecycle: descriptor, open/close, saving, loading,
 * replaying and rebuilding the ANN index (see coll.h). */
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
#include "payload_index.h"
#include "payload.h"

#define COLL_AUTO_HNSW_THRESHOLD 10000
#define SLOTS_MAGIC "PRSLOTS1"

static const char *metric_name(engine_metric m) {
  return m == ENGINE_METRIC_IP ? "ip" : m == ENGINE_METRIC_L2 ? "l2" : "cosine";
}

int coll_config_check(engine_collection_config *cfg, precis_error *err) {
  if (cfg->dim < 1 || cfg->dim > PRECIS_MAX_DIM)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "dimension %u outside 1..%d", cfg->dim,
                            PRECIS_MAX_DIM);
  if ((int)cfg->metric < 0 || cfg->metric > ENGINE_METRIC_L2)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "unknown metric %d",
                            (int)cfg->metric);
  if (memchr(cfg->index_spec, 0, sizeof cfg->index_spec) == NULL)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "index spec too long");
  if (cfg->knn_k == 0) cfg->knn_k = 16;
  if (cfg->knn_k > PRECIS_MAX_KNN_K)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "knn_k %u outside 1..%d", cfg->knn_k,
                            PRECIS_MAX_KNN_K);
  if (cfg->hnsw_ef_construction == 0) cfg->hnsw_ef_construction = 200;
  if (cfg->hnsw_ef_search == 0) cfg->hnsw_ef_search = 200;
  if (cfg->ivf_nprobe == 0) cfg->ivf_nprobe = 16;
  if (cfg->hnsw_ef_construction > 4096 || cfg->hnsw_ef_search > 4096 ||
      cfg->ivf_nprobe > 65536)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "efConstruction/efSearch at most 4096, nprobe at "
                            "most 65536");
  return PRECIS_OK;
}

char *coll_descriptor_json(const char *name, uint32_t id,
                           const engine_collection_config *cfg) {
  json_t *j = json_pack("{s:s, s:i, s:i, s:s, s:s, s:i, s:i, s:i, s:i}",
                        "name", name, "id", (json_int_t)id, "dim",
                        (json_int_t)cfg->dim, "metric", metric_name(cfg->metric),
                        "index", cfg->index_spec, "knn_k",
                        (json_int_t)cfg->knn_k, "ef_construction",
                        (json_int_t)cfg->hnsw_ef_construction, "ef_search",
                        (json_int_t)cfg->hnsw_ef_search, "nprobe",
                        (json_int_t)cfg->ivf_nprobe);
  if (!j) return NULL;
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(j);
  return s;
}

static int parse_descriptor(coll *c, const char *desc, size_t len,
                            precis_error *err) {
  json_error_t je;
  json_t *j = json_loadb(desc, len, 0, &je);
  if (!j) return precis_error_set(err, PRECIS_E_CORRUPTION, "descriptor: %s", je.text);
  const char *name = NULL, *metric = NULL, *index = NULL;
  json_int_t id = 0, dim = 0, knn = 0, efc = 0, efs = 0, np = 0;
  int rc = json_unpack_ex(j, &je, 0, "{s:s, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I}",
                          "name", &name, "id", &id, "dim", &dim, "metric",
                          &metric, "index", &index, "knn_k", &knn,
                          "ef_construction", &efc, "ef_search", &efs, "nprobe",
                          &np);
  if (rc != 0 || strlen(name) > PRECIS_MAX_NAME_LEN ||
      strlen(index) >= PRECIS_MAX_INDEX_SPEC_LEN) {
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

static int read_meta_u64(store *st, char tag, uint32_t cid, uint64_t *v,
                         precis_error *err) {
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
  *v = store_get_be64((const unsigned char *)val);
  store_free(val);
  return PRECIS_OK;
}

void coll__batch_counters(coll *c, store_batch *b, uint64_t seq, uint64_t count) {
  unsigned char k[5], v[8];
  coll__meta_key(k, 's', c->id);
  store_put_be64(v, seq);
  store_batch_put(b, STORE_CF_META, k, 5, v, 8);
  coll__meta_key(k, 'n', c->id);
  store_put_be64(v, count);
  store_batch_put(b, STORE_CF_META, k, 5, v, 8);
}

/* ---- index construction ---- */
const char *coll__spec_for(const coll *c, uint64_t n) {
  if (!c->auto_spec) return c->cfg.index_spec;
  return n > COLL_AUTO_HNSW_THRESHOLD ? "HNSW32" : "Flat";
}

int coll__new_ann(coll *c, const char *spec, ann **out, precis_error *err) {
  ann_metric m = c->cfg.metric == ENGINE_METRIC_L2 ? ANN_METRIC_L2 : ANN_METRIC_IP;
  int rc = ann_create(c->cfg.dim, m, spec, out, err);
  if (rc) return rc;
  ann_set_budget(*out, c->eopts ? c->eopts->max_index_bytes : 0);
  if (strstr(spec, "HNSW")) {
    ann_set_param(*out, "efConstruction", c->cfg.hnsw_ef_construction, NULL);
    ann_set_param(*out, "efSearch", c->cfg.hnsw_ef_search, NULL);
  }
  if (strstr(spec, "IVF")) ann_set_param(*out, "nprobe", c->cfg.ivf_nprobe, NULL);
  return PRECIS_OK;
}

int coll__slots_push(coll *c, uint64_t id) {
  if (c->nslots == c->slot_cap) {
    size_t cap = c->slot_cap ? c->slot_cap * 2 : 1024;
    uint64_t *p = realloc(c->slot_id, cap * sizeof *p);
    if (!p) return -1;
    c->slot_id = p;
    c->slot_cap = cap;
  }
  c->slot_id[c->nslots++] = id;
  return 0;
}

/* Add a chunk of vectors to the index being rebuilt and record their slots. */
static int rebuild_flush(ann *a, const float *buf, const uint64_t *ids, size_t nb,
                         idmap *live, uint64_t **slot_id, size_t *nslots,
                         size_t *scap, precis_error *err) {
  int rc = ann_add(a, nb, buf, err);
  if (rc) return rc;
  for (size_t i = 0; i < nb; i++) {
    if (*nslots == *scap) {
      size_t cap = *scap ? *scap * 2 : 4096;
      uint64_t *p = realloc(*slot_id, cap * sizeof *p);
      if (!p) return precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
      *slot_id = p;
      *scap = cap;
    }
    if (idmap_put(live, ids[i], *nslots)) return precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
    (*slot_id)[(*nslots)++] = ids[i];
  }
  return PRECIS_OK;
}

/* Rebuild the index from every stored vector (exclusive lock held). */
int coll__rebuild(coll *c, const char *why, precis_error *err) {
  if (c->log) c->log(c->log_ctx, COLL_LOG_INFO, "collection %s: rebuilding ANN index (%s)", c->name, why);
  ann *a = NULL;
  const char *spec = coll__spec_for(c, c->count);
  int rc = coll__new_ann(c, spec, &a, err);
  if (rc) return rc;
  unsigned char prefix[4];
  store_put_be32(prefix, c->id);
  size_t dim = c->cfg.dim, chunk = 4096, nb = 0;
  float *buf = malloc(chunk * dim * sizeof(float));
  uint64_t *ids = malloc(chunk * sizeof(uint64_t));
  idmap live;
  idmap_init(&live);
  uint64_t *slot_id = NULL;
  size_t nslots = 0, scap = 0;
  store_iter *it = store_iter_create(c->st, STORE_CF_VEC, prefix, 4);
  if (!buf || !ids || !it) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
    goto out;
  }
  /* untrained indexes (IVF) are trained on everything first */
  if (!ann_is_trained(a)) {
    size_t n = 0, cap = 0;
    float *all = NULL;
    for (; store_iter_valid(it); store_iter_next(it)) {
      size_t vl;
      const char *v = store_iter_value(it, &vl);
      if (vl != dim * sizeof(float)) continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 4096;
        float *p = realloc(all, cap * dim * sizeof(float));
        if (!p) { free(all); rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "train"); goto out; }
        all = p;
      }
      memcpy(all + n * dim, v, vl);
      n++;
    }
    rc = n ? ann_train(a, n, all, err) : PRECIS_E_INVALID_ARGUMENT;
    free(all);
    if (rc) {
      /* too few points to train: stay without an index, searches scan */
      if (c->log) c->log(c->log_ctx, COLL_LOG_INFO, "collection %s: index not trained yet (%llu points)", c->name, (unsigned long long)n);
      ann_destroy(a);
      a = NULL;
      precis_error_clear(err);
      rc = PRECIS_OK;
    }
    store_iter_destroy(it);
    it = store_iter_create(c->st, STORE_CF_VEC, prefix, 4);
    if (!it) { rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild"); goto out; }
  }
  uint64_t count = 0;
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    const char *v = store_iter_value(it, &vl);
    if (kl != 12 || vl != dim * sizeof(float)) {
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "vector record of %zu bytes", vl);
      goto out;
    }
    uint64_t id = store_get_be64(k + 4);
    count++;
    if (!a) { if (idmap_put(&live, id, UINT64_MAX)) goto oom; continue; }
    memcpy(buf + nb * dim, v, vl);
    ids[nb++] = id;
    if (nb == chunk) {
      if ((rc = rebuild_flush(a, buf, ids, nb, &live, &slot_id, &nslots, &scap, err))) goto out;
      nb = 0;
    }
  }
  if ((rc = store_iter_status(it, err))) goto out;
  if (a && nb) {
    if ((rc = rebuild_flush(a, buf, ids, nb, &live, &slot_id, &nslots, &scap, err))) goto out;
  }
  /* swap in */
  ann_destroy(c->ann);
  c->ann = a;
  a = NULL;
  snprintf(c->cur_spec, sizeof c->cur_spec, "%s", spec);
  free(c->slot_id);
  c->slot_id = slot_id;
  slot_id = NULL;
  c->nslots = nslots;
  c->slot_cap = scap;
  idmap_free(&c->live);
  c->live = live;
  idmap_init(&live);
  c->count = count;
  c->dirty = true;
  pidx_reslot(c); /* payload-index bitmaps are keyed by slot */
  rc = PRECIS_OK;
  goto out;
oom:
  rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "rebuild");
out:
  store_iter_destroy(it);
  free(buf);
  free(ids);
  free(slot_id);
  idmap_free(&live);
  ann_destroy(a);
  return rc;
}

/* ---- slot file ---- */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/* The index and slot file paths of collection `id` in `dir`. */
static void index_paths_in(const char *dir, uint32_t id, char *faiss, char *slots, size_t n) {
  snprintf(faiss, n, "%s/%u.faiss", dir, id);
  snprintf(slots, n, "%s/%u.slots", dir, id);
}

static void index_paths(const coll *c, char *faiss, char *slots, size_t n) {
  index_paths_in(c->ann_dir, c->id, faiss, slots, n);
}

static int write_all(int fd, const void *p, size_t n) {
  const char *b = p;
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The slot file of `c` reflecting write sequence `seq` (caller holds the lock). */
static int save_slots(const coll *c, const char *path, uint64_t seq, precis_error *err) {
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return precis_error_set(err, PRECIS_E_IO, "%s: %s", tmp, strerror(errno));
  uint64_t hdr[4] = {c->id, seq, c->nslots, c->count};
  uint64_t h = fnv1a(0xcbf29ce484222325ULL, SLOTS_MAGIC, 8);
  int bad = write_all(fd, SLOTS_MAGIC, 8);
  h = fnv1a(h, hdr, sizeof hdr);
  bad |= write_all(fd, hdr, sizeof hdr);
  h = fnv1a(h, c->slot_id, c->nslots * sizeof(uint64_t));
  bad |= write_all(fd, c->slot_id, c->nslots * sizeof(uint64_t));
  /* live bits: one byte per slot keeps it simple */
  unsigned char buf[4096];
  for (size_t s = 0; s < c->nslots && !bad;) {
    size_t m = 0;
    for (; m < sizeof buf && s < c->nslots; m++, s++) {
      uint64_t v;
      buf[m] = idmap_get(&c->live, c->slot_id[s], &v) && v == s;
    }
    h = fnv1a(h, buf, m);
    bad |= write_all(fd, buf, m);
  }
  bad |= write_all(fd, &h, 8);
  if (bad || fsync(fd) != 0) {
    close(fd);
    unlink(tmp);
    return precis_error_set(err, PRECIS_E_IO, "write %s: %s", tmp, strerror(errno));
  }
  close(fd);
  if (rename(tmp, path) != 0)
    return precis_error_set(err, PRECIS_E_IO, "rename %s: %s", tmp, strerror(errno));
  char dir[4300];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return PRECIS_OK;
}

/* Load the slot file: fills slot_id/nslots/live and *seq. */
static int load_slots(coll *c, const char *path, uint64_t *seq, precis_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return precis_error_set(err, PRECIS_E_NOT_FOUND, "%s missing", path);
  char magic[8];
  uint64_t hdr[4];
  int rc = PRECIS_E_CORRUPTION;
  uint64_t *ids = NULL;
  unsigned char *liveb = NULL;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, SLOTS_MAGIC, 8) ||
      fread(hdr, sizeof hdr, 1, f) != 1 || hdr[0] != c->id || hdr[2] > (1ULL << 40))
    goto out;
  size_t n = (size_t)hdr[2];
  ids = malloc((n ? n : 1) * sizeof *ids);
  liveb = malloc(n ? n : 1);
  if (!ids || !liveb) { rc = PRECIS_E_NO_MEMORY; goto out; }
  uint64_t sum;
  if (fread(ids, sizeof *ids, n, f) != n || fread(liveb, 1, n, f) != n ||
      fread(&sum, 8, 1, f) != 1)
    goto out;
  uint64_t h = fnv1a(0xcbf29ce484222325ULL, SLOTS_MAGIC, 8);
  h = fnv1a(h, hdr, sizeof hdr);
  h = fnv1a(h, ids, n * sizeof *ids);
  h = fnv1a(h, liveb, n);
  if (h != sum) goto out;
  idmap_free(&c->live);
  if (idmap_reserve(&c->live, (size_t)hdr[3])) { rc = PRECIS_E_NO_MEMORY; goto out; }
  for (size_t s = 0; s < n; s++)
    if (liveb[s] && idmap_put(&c->live, ids[s], s)) { rc = PRECIS_E_NO_MEMORY; goto out; }
  free(c->slot_id);
  c->slot_id = ids;
  ids = NULL;
  c->nslots = c->slot_cap = n;
  *seq = hdr[1];
  rc = PRECIS_OK;
out:
  fclose(f);
  free(ids);
  free(liveb);
  if (rc) precis_error_set(err, rc, "slot file %s is unusable", path);
  return rc;
}

int coll_save_index(coll *c, precis_error *err) {
  pthread_mutex_lock(&c->save_mu);
  pthread_rwlock_rdlock(&c->lock);
  int rc = PRECIS_OK;
  if (!c->dirty || !c->ann) goto out;
  char fp[4200], sp[4200];
  index_paths(c, fp, sp, sizeof fp);
  uint64_t seq = c->seq;
  c->index_seq = seq;
  if ((rc = ann_save(c->ann, fp, err))) goto out;
  if ((rc = save_slots(c, sp, seq, err))) goto out;
  c->dirty = false;
  c->ops_since_save = 0;
  /* trim the replay log up to and including seq */
  store_batch *b = store_batch_create(c->st);
  if (b) {
    unsigned char lo[12], hi[12];
    store_put_be32(lo, c->id);
    store_put_be64(lo + 4, 0);
    store_put_be32(hi, c->id);
    store_put_be64(hi + 4, seq + 1);
    store_batch_delete_range(b, STORE_CF_LOG, lo, 12, hi, 12);
    precis_error e2;
    if (store_write(c->st, b, &e2) && c->log)
      c->log(c->log_ctx, COLL_LOG_WARN, "collection %s: log trim failed: %s", c->name, e2.msg);
    store_batch_destroy(b);
  }
  if (c->log) c->log(c->log_ctx, COLL_LOG_DEBUG, "collection %s: index saved at seq %llu", c->name, (unsigned long long)seq);
out:
  pthread_rwlock_unlock(&c->lock);
  pthread_mutex_unlock(&c->save_mu);
  return rc;
}

void coll_save_block(coll *c, bool block) {
  if (block) pthread_mutex_lock(&c->save_mu);
  else pthread_mutex_unlock(&c->save_mu);
}

int coll_save_index_copy(coll *c, const char *dir, precis_error *err) {
  pthread_rwlock_rdlock(&c->lock);
  int rc = PRECIS_OK;
  if (c->ann) {
    char fp[4300], sp[4300];
    index_paths_in(dir, c->id, fp, sp, sizeof fp);
    if (!(rc = ann_save(c->ann, fp, err))) rc = save_slots(c, sp, c->seq, err);
  }
  pthread_rwlock_unlock(&c->lock);
  return rc;
}

/* Replay logged writes after `from` into the loaded index. */
static int replay_log(coll *c, uint64_t from, uint64_t *replayed, precis_error *err) {
  unsigned char prefix[4], start[12];
  store_put_be32(prefix, c->id);
  store_put_be32(start, c->id);
  store_put_be64(start + 4, from + 1);
  idmap touched;
  idmap_init(&touched);
  store_iter *it = store_iter_create(c->st, STORE_CF_LOG, prefix, 4);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
  store_iter_seek(it, start, 12);
  int rc = PRECIS_OK;
  for (; store_iter_valid(it); store_iter_next(it)) {
    size_t vl;
    const unsigned char *v = (const unsigned char *)store_iter_value(it, &vl);
    for (size_t i = 0; i + 8 <= vl; i += 8)
      if (idmap_put(&touched, store_get_be64(v + i), 1)) {
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
        break;
      }
  }
  if (!rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  *replayed = touched.len;
  float *vec = malloc(c->cfg.dim * sizeof(float));
  if (!vec && !rc) rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
  for (size_t i = 0; !rc && i < touched.cap; i++) {
    if (touched.used[i] != 1) continue;
    uint64_t id = touched.keys[i];
    idmap_del(&c->live, id);
    int r = coll__read_vector(c, id, vec, err);
    if (r == PRECIS_E_NOT_FOUND) { precis_error_clear(err); continue; }
    if (r) { rc = r; break; }
    if ((rc = ann_add(c->ann, 1, vec, err))) break;
    if (coll__slots_push(c, id) || idmap_put(&c->live, id, c->nslots - 1))
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "replay");
  }
  free(vec);
  idmap_free(&touched);
  return rc;
}

/* First logged sequence (0 when the log is empty). */
static int first_log_seq(coll *c, uint64_t *first, precis_error *err) {
  unsigned char prefix[4];
  store_put_be32(prefix, c->id);
  store_iter *it = store_iter_create(c->st, STORE_CF_LOG, prefix, 4);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "log");
  *first = 0;
  if (store_iter_valid(it)) {
    size_t kl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    if (kl == 12) *first = store_get_be64(k + 4);
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
  if (rc) { snprintf(why, whylen, "%s", rc == PRECIS_E_NOT_FOUND ? "no saved index" : e.msg); return rc; }
  if ((rc = ann_load(fp, &a, &e))) { snprintf(why, whylen, "index file: %s", e.msg); return rc; }
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
  if ((rc = first_log_seq(c, &first, &e))) { snprintf(why, whylen, "%s", e.msg); ann_destroy(a); return rc; }
  if (saved < c->seq && (first == 0 || first > saved + 1)) {
    snprintf(why, whylen, "saved index (seq %llu) is older than the replay log",
             (unsigned long long)saved);
    ann_destroy(a);
    return PRECIS_E_CORRUPTION;
  }
  c->ann = a;
  snprintf(c->cur_spec, sizeof c->cur_spec, "%s", coll__spec_for(c, c->nslots));
  if (strstr(c->cfg.index_spec, "HNSW") || (c->auto_spec && c->nslots > COLL_AUTO_HNSW_THRESHOLD)) {
    ann_set_param(a, "efSearch", c->cfg.hnsw_ef_search, NULL);
    ann_set_param(a, "efConstruction", c->cfg.hnsw_ef_construction, NULL);
  }
  if ((rc = replay_log(c, saved, &replayed, &e))) {
    snprintf(why, whylen, "replay: %s", e.msg);
    return rc;
  }
  if (c->live.len != c->count) {
    snprintf(why, whylen, "index holds %zu live points, the store %llu",
             c->live.len, (unsigned long long)c->count);
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

int coll_open(store *st, const char *ann_dir, const char *desc, size_t desc_len,
              const engine_options *eo, coll_log_fn log, void *log_ctx,
              coll **out, precis_error *err) {
  coll *c = calloc(1, sizeof *c);
  if (!c) return precis_error_set(err, PRECIS_E_NO_MEMORY, "collection");
  c->st = st;
  c->eopts = eo;
  c->log = log;
  c->log_ctx = log_ctx;
  idmap_init(&c->live);
  idmap_init(&c->tokens);
  pthread_rwlock_init(&c->lock, NULL);
  pthread_mutex_init(&c->save_mu, NULL);
  int rc;
  c->ann_dir = strdup(ann_dir);
  if (!c->ann_dir) { rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "collection"); goto fail; }
  if ((rc = parse_descriptor(c, desc, desc_len, err))) goto fail;
  if ((rc = read_meta_u64(st, 's', c->id, &c->seq, err))) goto fail;
  if ((rc = read_meta_u64(st, 'n', c->id, &c->count, err))) goto fail;
  if ((rc = read_meta_u64(st, 'k', c->id, &c->knn_edges, err))) goto fail;
  if ((rc = read_meta_u64(st, 'l', c->id, &c->links, err))) goto fail;
  if (!(c->gm = gmem_create(st, c->id))) { rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "collection"); goto fail; }
  if ((rc = gmem_load(c->gm, err))) goto fail;
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
      rc = coll__new_ann(c, coll__spec_for(c, 0), &c->ann, err);
      if (rc) goto fail;
      snprintf(c->cur_spec, sizeof c->cur_spec, "%s", coll__spec_for(c, 0));
      if (!ann_is_trained(c->ann)) { ann_destroy(c->ann); c->ann = NULL; }
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
  if (idmap_reserve(&c->tokens, (size_t)c->count)) { store_iter_destroy(it); return; }
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
  if (c->auto_spec) snprintf(o->config.index_spec, sizeof o->config.index_spec, "auto:%.100s", c->cur_spec);
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
  o->seq = c->seq;
  o->index_seq = c->index_seq;
  pthread_rwlock_unlock(&c->lock);
}
