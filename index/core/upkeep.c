/* upkeep.c: index upkeep of a collection: automatic index choice, training,
 * tombstone rebuilds, FAISS parameters and periodic saves (see upkeep.h). */
#include "upkeep.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coll_internal.h"

const char *upkeep_spec_for(const coll *c, uint64_t n) {
  if (!c->auto_spec) return c->cfg.index_spec;
  if (!strcmp(c->cur_spec, UPKEEP_AUTO_LARGE))
    return n < UPKEEP_HNSW_DOWN ? UPKEEP_AUTO_SMALL : UPKEEP_AUTO_LARGE;
  return n > UPKEEP_HNSW_UP ? UPKEEP_AUTO_LARGE : UPKEEP_AUTO_SMALL;
}

int upkeep_set_params(const coll *c, ann *a, const char *spec, precis_error *err) {
  int rc = PRECIS_OK;
  if (strstr(spec, "HNSW")) {
    rc = ann_set_param(a, "efConstruction", c->cfg.hnsw_ef_construction, err);
    if (!rc) rc = ann_set_param(a, "efSearch", c->cfg.hnsw_ef_search, err);
  }
  if (!rc && strstr(spec, "IVF")) rc = ann_set_param(a, "nprobe", c->cfg.ivf_nprobe, err);
  return rc;
}

int upkeep_new_ann(const coll *c, const char *spec, ann **out, precis_error *err) {
  ann_metric m = c->cfg.metric == ENGINE_METRIC_L2 ? ANN_METRIC_L2 : ANN_METRIC_IP;
  int rc = ann_create(c->cfg.dim, m, spec, out, err);
  if (rc) return rc;
  ann_set_budget(*out, c->eopts ? c->eopts->max_index_bytes : 0);
  if ((rc = upkeep_set_params(c, *out, spec, err))) {
    ann_destroy(*out);
    *out = NULL;
  }
  return rc;
}

int upkeep_adopt_loaded(const coll *c, ann *a, const char *spec, precis_error *err) {
  int rc = ann_set_cost_spec(a, spec, err);
  if (rc == PRECIS_OK) rc = upkeep_set_params(c, a, spec, err);
  if (rc == PRECIS_OK) ann_set_budget(a, c->eopts ? c->eopts->max_index_bytes : 0);
  if (rc == PRECIS_OK && ann_check_room(a, 0, NULL) != PRECIS_OK && c->log)
    c->log(c->log_ctx, COLL_LOG_WARN,
           "collection %s: its index (%llu vectors) is over the index memory budget; writes "
           "that grow it are refused",
           c->name, (unsigned long long)ann_ntotal(a));
  return rc;
}

uint64_t upkeep_train_at(const coll *c) { return c->train_at ? c->train_at : UPKEEP_TRAIN_FIRST; }

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Whether the index needs rebuilding; the reason goes to c->rebuild_why. */
static bool rebuild_due(coll *c) {
  double frac = c->eopts ? c->eopts->rebuild_tombstone_fraction : 0.2;
  char *why = c->rebuild_why;
  size_t wl = sizeof c->rebuild_why;
  if (c->ann && c->nslots >= UPKEEP_MIN_REBUILD_SLOTS &&
      (double)(c->nslots - c->live.len) > frac * (double)c->nslots) {
    snprintf(why, wl, "%zu of %zu slots are tombstones", c->nslots - c->live.len, c->nslots);
    return true;
  }
  const char *want = upkeep_spec_for(c, c->count);
  if (c->auto_spec && c->ann && strcmp(want, c->cur_spec) != 0) {
    snprintf(why, wl, "auto index: %llu points call for %s", (unsigned long long)c->count, want);
    return true;
  }
  if (!c->ann && c->count > 0 && c->count >= upkeep_train_at(c)) {
    snprintf(why, wl, "building the index (%llu points)", (unsigned long long)c->count);
    return true;
  }
  return false;
}

void upkeep_note_write(coll *c, size_t ops) {
  c->ops_since_save += ops;
  if (!c->dirty_since_ms) c->dirty_since_ms = now_ms();
  c->dirty = true;
  if (!c->rebuilding && c->seq >= c->rebuild_hold_seq && rebuild_due(c)) c->rebuild_due = true;
  uint64_t every = c->eopts ? c->eopts->save_every_ops : 0;
  uint64_t ms = c->eopts ? c->eopts->save_every_ms : 0;
  if ((every && c->ops_since_save >= every) || (ms && now_ms() - c->dirty_since_ms >= ms))
    c->save_due = true;
}

void upkeep_run(coll *c) {
  pthread_rwlock_wrlock(&c->lock);
  bool rebuild = c->rebuild_due && !c->rebuilding;
  bool save = c->save_due;
  if (rebuild) c->rebuilding = true;
  c->rebuild_due = false;
  c->save_due = false;
  char why[sizeof c->rebuild_why];
  snprintf(why, sizeof why, "%s", c->rebuild_why);
  pthread_rwlock_unlock(&c->lock);
  precis_error e;
  if (rebuild) {
    int rc = coll__rebuild_aside(c, why, &e);
    if (rc && c->log)
      c->log(c->log_ctx, COLL_LOG_ERROR, "collection %s: rebuild (%s) failed: %s", c->name, why,
             e.msg);
    pthread_rwlock_wrlock(&c->lock);
    c->rebuilding = false;
    /* a failed rebuild is retried only after UPKEEP_RETRY_WRITES more writes */
    if (rc) c->rebuild_hold_seq = c->seq + UPKEEP_RETRY_WRITES;
    pthread_rwlock_unlock(&c->lock);
  }
  if (save) {
    int rc = coll__save_index(c, false, &e);
    if (rc && c->log)
      c->log(c->log_ctx, COLL_LOG_WARN, "collection %s: periodic save failed: %s", c->name, e.msg);
  }
}
