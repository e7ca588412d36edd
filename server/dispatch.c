/* dispatch.c: Request -> engine -> Response (see srv_dispatch.h).
 *
 * Each call owns a small arena for the protobuf-c structs of its response;
 * engine results are borrowed by the response until it is encoded, then
 * freed with their engine functions. Engine status codes and messages are
 * passed to Response.status unchanged. */
#include "srv_dispatch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "precis/limits.h"
#include "srv_log.h"

typedef struct arena_blk {
  struct arena_blk *next;
  max_align_t data[];
} arena_blk;

typedef struct dctx {
  srv_server *s;
  arena_blk *arena;
  precis_error err;
  Precis__V1__Response *resp;
  char *ok_msg;                /* optional message on success */
  /* engine results borrowed by the response */
  engine_point *pts;
  size_t npts;
  engine_collection_info *infos;
  engine_edge *edges;
  engine_retrieve_result *rr;
} dctx;

static void *aalloc(dctx *x, size_t n) {
  arena_blk *b = calloc(1, sizeof *b + (n ? n : 1));
  if (!b) return NULL;
  b->next = x->arena;
  x->arena = b;
  return b->data;
}

#define ANEW(x, T, n) ((T *)aalloc((x), sizeof(T) * (size_t)(n)))

static int fail(dctx *x, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(dctx *x, int code, const char *fmt, ...) {
  x->err.code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->err.msg, sizeof x->err.msg, fmt, ap);
  va_end(ap);
  return code;
}

static int nomem(dctx *x) { return fail(x, PRECIS_E_NO_MEMORY, "out of memory"); }

static void cleanup(dctx *x) {
  arena_blk *b = x->arena;
  while (b) {
    arena_blk *n = b->next;
    free(b);
    b = n;
  }
  x->arena = NULL;
  if (x->pts) engine_points_free(x->pts, x->npts);
  free(x->infos);
  free(x->edges);
  if (x->rr) engine_retrieve_result_free(x->rr);
  free(x->ok_msg);
}

int srv_valid_name(const char *name) {
  size_t n = strlen(name);
  if (n < 1 || n > PRECIS_MAX_NAME_LEN) return 0;
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
          (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
      return 0;
  }
  return 1;
}

/* ---- conversions ---- */

static Precis__V1__CollectionInfo *info_to_pb(dctx *x,
                                              const engine_collection_info *in) {
  Precis__V1__CollectionInfo *ci = ANEW(x, Precis__V1__CollectionInfo, 1);
  Precis__V1__CollectionConfig *cc = ANEW(x, Precis__V1__CollectionConfig, 1);
  if (!ci || !cc) return NULL;
  precis__v1__collection_info__init(ci);
  precis__v1__collection_config__init(cc);
  cc->dim = in->config.dim;
  cc->metric = (Precis__V1__Metric)in->config.metric;
  cc->index_spec = (char *)in->config.index_spec;
  cc->knn_k = in->config.knn_k;
  cc->hnsw_ef_construction = in->config.hnsw_ef_construction;
  cc->hnsw_ef_search = in->config.hnsw_ef_search;
  cc->ivf_nprobe = in->config.ivf_nprobe;
  ci->name = (char *)in->name;
  ci->config = cc;
  ci->count = in->count;
  ci->ann_total = in->ann_total;
  ci->tombstones = in->tombstones;
  ci->knn_edges = in->knn_edges;
  ci->links = in->links;
  ci->disk_bytes = in->disk_bytes;
  ci->seq = in->seq;
  ci->index_seq = in->index_seq;
  return ci;
}

static int set_empty(dctx *x) {
  Precis__V1__Empty *e = ANEW(x, Precis__V1__Empty, 1);
  if (!e) return nomem(x);
  precis__v1__empty__init(e);
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_EMPTY;
  x->resp->empty = e;
  return PRECIS_OK;
}

/* The collection's info (for its dimension); the engine reports NOT_FOUND. */
static int describe(dctx *x, const char *coll, engine_collection_info **out) {
  engine_collection_info *info = ANEW(x, engine_collection_info, 1);
  if (!info) return nomem(x);
  int rc = engine_collection_describe(x->s->eng, coll, info, &x->err);
  if (rc) return rc;
  *out = info;
  return PRECIS_OK;
}

/* ---- admin ---- */

static int op_health(dctx *x) {
  Precis__V1__HealthResult *h = ANEW(x, Precis__V1__HealthResult, 1);
  if (!h) return nomem(x);
  precis__v1__health_result__init(h);
  h->version = (char *)PRECIS_VERSION;
  h->uptime_s = (srv_now_ms() - x->s->start_ms) / 1000;
  h->faiss = (char *)engine_faiss_build();
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_HEALTH;
  x->resp->health = h;
  return PRECIS_OK;
}

static uint64_t rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  if (n != 2) return 0;
  long page = sysconf(_SC_PAGESIZE);
  return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

static int op_stats(dctx *x) {
  Precis__V1__StatsResult *r = ANEW(x, Precis__V1__StatsResult, 1);
  if (!r) return nomem(x);
  precis__v1__stats_result__init(r);
  srv_stats *st = &x->s->st;
  r->connections = atomic_load(&st->connections);
  r->requests = atomic_load(&st->requests);
  r->errors = atomic_load(&st->errors);
  r->inflight = atomic_load(&st->inflight);
  r->rss_bytes = rss_bytes();
  r->workers = (uint32_t)x->s->cfg.workers;
  r->uptime_s = (srv_now_ms() - x->s->start_ms) / 1000;
  r->bytes_in = atomic_load(&st->bytes_in);
  r->bytes_out = atomic_load(&st->bytes_out);
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_STATS;
  x->resp->stats = r;
  return PRECIS_OK;
}

static int op_snapshot(dctx *x, const Precis__V1__SnapshotRequest *r) {
  if (!srv_valid_name(r->name))
    return fail(x, PRECIS_E_INVALID_ARGUMENT,
                "snapshot name must match [A-Za-z0-9_.-]{1,64}");
  size_t n = strlen(x->s->cfg.data_dir) + sizeof "/snapshots/" +
             strlen(r->name) + 1;
  char *dir = ANEW(x, char, n);
  if (!dir) return nomem(x);
  snprintf(dir, n, "%s/snapshots", x->s->cfg.data_dir);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return fail(x, PRECIS_E_IO, "cannot create %s: %s", dir, strerror(errno));
  snprintf(dir, n, "%s/snapshots/%s", x->s->cfg.data_dir, r->name);
  struct stat sb;
  if (lstat(dir, &sb) == 0)
    return fail(x, PRECIS_E_ALREADY_EXISTS, "snapshot '%s' already exists",
                r->name);
  int rc = engine_snapshot(x->s->eng, dir, &x->err);
  if (rc) return rc;
  srv_info("snapshot written to %s", dir);
  x->ok_msg = strdup(dir);
  return set_empty(x);
}

/* ---- collections ---- */

static int op_create(dctx *x, const Precis__V1__CreateCollectionRequest *r) {
  const Precis__V1__CollectionConfig *c = r->config;
  if (!c) return fail(x, PRECIS_E_INVALID_ARGUMENT, "config is required");
  if ((unsigned)c->metric > (unsigned)PRECIS__V1__METRIC__METRIC_L2)
    return fail(x, PRECIS_E_INVALID_ARGUMENT, "unknown metric %d",
                (int)c->metric);
  engine_collection_config ec;
  memset(&ec, 0, sizeof ec);
  ec.dim = c->dim;
  ec.metric = (engine_metric)c->metric;
  if (strlen(c->index_spec) >= sizeof ec.index_spec)
    return fail(x, PRECIS_E_OUT_OF_RANGE,
                "index_spec longer than %d bytes", PRECIS_MAX_INDEX_SPEC_LEN - 1);
  strcpy(ec.index_spec, c->index_spec);
  ec.knn_k = c->knn_k;
  ec.hnsw_ef_construction = c->hnsw_ef_construction;
  ec.hnsw_ef_search = c->hnsw_ef_search;
  ec.ivf_nprobe = c->ivf_nprobe;
  int rc = engine_collection_create(x->s->eng, r->name, &ec, &x->err);
  if (rc) return rc;
  engine_collection_info *info;
  if ((rc = describe(x, r->name, &info))) return rc;
  Precis__V1__CollectionResult *cr = ANEW(x, Precis__V1__CollectionResult, 1);
  if (!cr) return nomem(x);
  precis__v1__collection_result__init(cr);
  if (!(cr->info = info_to_pb(x, info))) return nomem(x);
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_COLLECTION;
  x->resp->collection = cr;
  return PRECIS_OK;
}

static int op_drop(dctx *x, const Precis__V1__DropCollectionRequest *r) {
  int rc = engine_collection_drop(x->s->eng, r->name, &x->err);
  if (rc) return rc;
  return set_empty(x);
}

static int op_describe(dctx *x, const Precis__V1__DescribeCollectionRequest *r) {
  engine_collection_info *info;
  int rc = describe(x, r->name, &info);
  if (rc) return rc;
  Precis__V1__CollectionResult *cr = ANEW(x, Precis__V1__CollectionResult, 1);
  if (!cr) return nomem(x);
  precis__v1__collection_result__init(cr);
  if (!(cr->info = info_to_pb(x, info))) return nomem(x);
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_COLLECTION;
  x->resp->collection = cr;
  return PRECIS_OK;
}

static int op_list(dctx *x) {
  size_t n = 0;
  int rc = engine_collection_list(x->s->eng, &x->infos, &n, &x->err);
  if (rc) return rc;
  Precis__V1__ListCollectionsResult *lr =
      ANEW(x, Precis__V1__ListCollectionsResult, 1);
  Precis__V1__CollectionInfo **arr = ANEW(x, Precis__V1__CollectionInfo *, n);
  if (!lr || !arr) return nomem(x);
  precis__v1__list_collections_result__init(lr);
  for (size_t i = 0; i < n; i++)
    if (!(arr[i] = info_to_pb(x, &x->infos[i]))) return nomem(x);
  lr->collections = arr;
  lr->n_collections = n;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_COLLECTIONS;
  x->resp->collections = lr;
  return PRECIS_OK;
}

/* ---- points ---- */

static int op_upsert(dctx *x, const Precis__V1__UpsertRequest *r) {
  size_t n = r->n_points;
  if (n == 0) return fail(x, PRECIS_E_INVALID_ARGUMENT, "no points to upsert");
  if (n > PRECIS_MAX_BATCH)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "%zu points exceed the batch limit %d",
                n, PRECIS_MAX_BATCH);
  engine_point_in *in = ANEW(x, engine_point_in, n);
  if (!in) return nomem(x);
  for (size_t i = 0; i < n; i++) {
    const Precis__V1__Point *p = r->points[i];
    if (p->n_vector == 0)
      return fail(x, PRECIS_E_INVALID_ARGUMENT, "point %" PRIu64 " has no vector",
                  p->id);
    if (p->n_vector > PRECIS_MAX_DIM)
      return fail(x, PRECIS_E_DIMENSION_MISMATCH,
                  "point %" PRIu64 " has %zu components (limit %d)", p->id,
                  p->n_vector, PRECIS_MAX_DIM);
    in[i].id = p->id;
    in[i].vector = p->vector;
    in[i].dim = (uint32_t)p->n_vector;
    in[i].text = p->text;
    in[i].text_len = strlen(p->text);
    in[i].meta = p->metadata[0] ? p->metadata : NULL;
    in[i].meta_len = strlen(p->metadata);
    in[i].tokens = (p->has_tokens && p->tokens >= 0) ? p->tokens : -1;
  }
  int rc = engine_upsert_flags(x->s->eng, r->collection, in, n,
                               r->defer_graph ? ENGINE_UPSERT_DEFER_GRAPH : 0, &x->err);
  if (rc) return rc;
  Precis__V1__UpsertResult *ur = ANEW(x, Precis__V1__UpsertResult, 1);
  if (!ur) return nomem(x);
  precis__v1__upsert_result__init(ur);
  ur->upserted = n;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_UPSERT;
  x->resp->upsert = ur;
  return PRECIS_OK;
}

static int op_get(dctx *x, const Precis__V1__GetRequest *r) {
  size_t n = r->n_ids;
  if (n > PRECIS_MAX_BATCH)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "%zu ids exceed the batch limit %d", n,
                PRECIS_MAX_BATCH);
  engine_collection_info *info = NULL;
  int rc;
  if (r->with_vectors || n == 0) {
    /* the vector length, and the collection check when nothing is asked */
    if ((rc = describe(x, r->collection, &info))) return rc;
  }
  Precis__V1__GetResult *gr = ANEW(x, Precis__V1__GetResult, 1);
  if (!gr) return nomem(x);
  precis__v1__get_result__init(gr);
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_GET;
  x->resp->get = gr;
  if (n == 0) return PRECIS_OK;
  rc = engine_get(x->s->eng, r->collection, r->ids, n, r->with_vectors,
                  &x->pts, &x->err);
  if (rc) return rc;
  x->npts = n;
  size_t found = 0;
  for (size_t i = 0; i < n; i++) found += x->pts[i].found;
  Precis__V1__Point **arr = ANEW(x, Precis__V1__Point *, found);
  Precis__V1__Point *pb = ANEW(x, Precis__V1__Point, found);
  uint64_t *missing = ANEW(x, uint64_t, n - found);
  if (!arr || !pb || !missing) return nomem(x);
  size_t nf = 0, nm = 0;
  for (size_t i = 0; i < n; i++) {
    engine_point *ep = &x->pts[i];
    if (!ep->found) {
      missing[nm++] = ep->id;
      continue;
    }
    Precis__V1__Point *p = &pb[nf];
    precis__v1__point__init(p);
    p->id = ep->id;
    if (r->with_vectors && ep->vector && info) {
      p->vector = ep->vector;
      p->n_vector = info->config.dim;
    }
    p->text = ep->text ? ep->text : (char *)"";
    p->metadata = ep->meta ? ep->meta : (char *)"{}";
    p->tokens = ep->tokens;
    p->has_tokens = 1;
    arr[nf++] = p;
  }
  gr->points = arr;
  gr->n_points = nf;
  gr->missing = missing;
  gr->n_missing = nm;
  return PRECIS_OK;
}

static int op_delete(dctx *x, const Precis__V1__DeleteRequest *r) {
  size_t n = r->n_ids, deleted = 0;
  if (n > PRECIS_MAX_BATCH)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "%zu ids exceed the batch limit %d", n,
                PRECIS_MAX_BATCH);
  int rc;
  if (n == 0) {
    engine_collection_info *info;
    if ((rc = describe(x, r->collection, &info))) return rc;
  } else {
    rc = engine_delete(x->s->eng, r->collection, r->ids, n, &deleted, &x->err);
    if (rc) return rc;
  }
  Precis__V1__DeleteResult *dr = ANEW(x, Precis__V1__DeleteResult, 1);
  if (!dr) return nomem(x);
  precis__v1__delete_result__init(dr);
  dr->deleted = deleted;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_DELETE;
  x->resp->delete_ = dr;
  return PRECIS_OK;
}

/* ---- graph ---- */

static int links_result(dctx *x, uint64_t changed) {
  Precis__V1__LinksResult *lr = ANEW(x, Precis__V1__LinksResult, 1);
  if (!lr) return nomem(x);
  precis__v1__links_result__init(lr);
  lr->changed = changed;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_LINKS;
  x->resp->links = lr;
  return PRECIS_OK;
}

/* One atomic, durable batch (engine_links_change): a bad link fails the
 * whole request and changes nothing; removing absent links is not an error. */
static int op_links(dctx *x, const char *coll, Precis__V1__Edge **edges,
                    size_t n, int add) {
  if (n > PRECIS_MAX_BATCH)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "%zu links exceed the batch limit %d",
                n, PRECIS_MAX_BATCH);
  int rc;
  if (n == 0) {
    engine_collection_info *info;
    if ((rc = describe(x, coll, &info))) return rc;
    return links_result(x, 0);
  }
  engine_edge *el = ANEW(x, engine_edge, n);
  if (!el) return nomem(x);
  for (size_t i = 0; i < n; i++) {
    const Precis__V1__Edge *e = edges[i];
    if (strlen(e->kind) > PRECIS_MAX_LINK_KIND_LEN)
      return fail(x, PRECIS_E_INVALID_ARGUMENT, "links[%zu]: kind longer than %d bytes",
                  i, PRECIS_MAX_LINK_KIND_LEN);
    el[i].src = e->src;
    el[i].dst = e->dst;
    snprintf(el[i].kind, sizeof el[i].kind, "%s", e->kind);
    el[i].weight = e->weight;
  }
  size_t changed = 0;
  precis_error err = {0};
  rc = engine_links_change(x->s->eng, coll, el, n, add != 0, &changed, &err);
  if (rc) return fail(x, rc, "%s", err.msg);
  return links_result(x, changed);
}

static int op_list_edges(dctx *x, const Precis__V1__ListEdgesRequest *r) {
  unsigned kinds = (r->knn ? ENGINE_EDGE_KNN : 0) | (r->links ? ENGINE_EDGE_LINKS : 0);
  if (!kinds) kinds = ENGINE_EDGE_KNN | ENGINE_EDGE_LINKS;
  unsigned dirs = (r->outgoing ? ENGINE_DIR_OUT : 0) | (r->incoming ? ENGINE_DIR_IN : 0);
  if (!dirs) dirs = ENGINE_DIR_OUT | ENGINE_DIR_IN;
  size_t n = 0;
  int rc = engine_edges_list(x->s->eng, r->collection, r->id, kinds,
                             r->kind[0] ? r->kind : NULL, dirs, &x->edges, &n,
                             &x->err);
  if (rc) return rc;
  Precis__V1__ListEdgesResult *lr = ANEW(x, Precis__V1__ListEdgesResult, 1);
  Precis__V1__Edge **arr = ANEW(x, Precis__V1__Edge *, n);
  Precis__V1__Edge *pb = ANEW(x, Precis__V1__Edge, n);
  if (!lr || !arr || !pb) return nomem(x);
  precis__v1__list_edges_result__init(lr);
  for (size_t i = 0; i < n; i++) {
    precis__v1__edge__init(&pb[i]);
    pb[i].src = x->edges[i].src;
    pb[i].dst = x->edges[i].dst;
    pb[i].kind = x->edges[i].kind;
    pb[i].weight = x->edges[i].weight;
    arr[i] = &pb[i];
  }
  lr->edges = arr;
  lr->n_edges = n;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_EDGES;
  x->resp->edges = lr;
  return PRECIS_OK;
}

static int op_graph_rebuild(dctx *x, const Precis__V1__GraphRebuildRequest *r) {
  unsigned threads = r->threads;
  if (threads == 0) {
    long np = sysconf(_SC_NPROCESSORS_ONLN);
    threads = np > 0 ? (unsigned)np : 1;
  }
  if (threads > 64) threads = 64;
  int rc = engine_graph_rebuild(x->s->eng, r->collection, threads, &x->err);
  if (rc) return rc;
  return set_empty(x);
}

/* ---- search / retrieve ---- */

static int check_query(dctx *x, size_t n) {
  if (n == 0) return fail(x, PRECIS_E_INVALID_ARGUMENT, "query vector is empty");
  if (n > PRECIS_MAX_DIM)
    return fail(x, PRECIS_E_DIMENSION_MISMATCH,
                "query has %zu components (limit %d)", n, PRECIS_MAX_DIM);
  return PRECIS_OK;
}

static int op_search(dctx *x, const Precis__V1__SearchRequest *r) {
  int rc = check_query(x, r->n_vector);
  if (rc) return rc;
  uint32_t k = r->k ? r->k : 10;
  if (k > PRECIS_MAX_K)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "k = %u exceeds the limit %d", k,
                PRECIS_MAX_K);
  engine_search_params sp = {.exact = r->exact, .ef_search = r->ef_search,
                             .nprobe = r->nprobe};
  engine_hit *hits = ANEW(x, engine_hit, k);
  if (!hits) return nomem(x);
  size_t nh = 0;
  rc = engine_search(x->s->eng, r->collection, r->vector, (uint32_t)r->n_vector,
                     k, &sp, hits, &nh, &x->err);
  if (rc) return rc;
  Precis__V1__SearchResult *sr = ANEW(x, Precis__V1__SearchResult, 1);
  Precis__V1__Hit **arr = ANEW(x, Precis__V1__Hit *, nh);
  Precis__V1__Hit *pb = ANEW(x, Precis__V1__Hit, nh);
  if (!sr || !arr || !pb) return nomem(x);
  precis__v1__search_result__init(sr);
  for (size_t i = 0; i < nh; i++) {
    precis__v1__hit__init(&pb[i]);
    pb[i].id = hits[i].id;
    pb[i].score = hits[i].score;
    arr[i] = &pb[i];
  }
  sr->hits = arr;
  sr->n_hits = nh;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_SEARCH;
  x->resp->search = sr;
  return PRECIS_OK;
}

_Static_assert((int)PRECIS__V1__COVERAGE__COVERAGE_EXACT == ENGINE_COVERAGE_EXACT &&
                   (int)PRECIS__V1__COVERAGE__COVERAGE_SPARSE == ENGINE_COVERAGE_SPARSE &&
                   (int)PRECIS__V1__COVERAGE__COVERAGE_SAMPLE == ENGINE_COVERAGE_SAMPLE &&
                   (int)PRECIS__V1__COVERAGE__COVERAGE_AUTO == ENGINE_COVERAGE_AUTO,
               "wire Coverage and engine_coverage share their numbers");

/* RetrieveRequest -> engine_retrieve_params.
 * Fields where 0 is never valid (k, seeds, fanout, pool, decay) take the
 * engine default when 0. With `defaults` set, every other numeric field
 * (graph_weight, lambda, a, b, c, theta, max_represented_ids) also takes
 * the default when 0; without it those are taken as sent, so a client can
 * ask for e.g. graph_weight 0 explicitly. hops, token_budget, mode and
 * ef_search have 0 as their default anyway. coverage has presence (a
 * one-field oneof): when sent it is used as sent, EXACT (0) included; when
 * absent it is the engine default (AUTO) with `defaults` and EXACT without,
 * as before AUTO existed (a client that sent EXACT then left it off the
 * wire, proto3 does not encode 0). */
static void map_retrieve(const Precis__V1__RetrieveRequest *r,
                         engine_retrieve_params *p) {
  engine_retrieve_params_default(p);
  const engine_retrieve_params d = *p;
  bool dflt = r->defaults;
#define SETNZ(field, val) p->field = (val) ? (val) : d.field
#define SETOPT(field, val) p->field = (dflt && !(val)) ? d.field : (val)
  SETNZ(k, r->k);
  SETNZ(seeds, r->seeds);
  SETNZ(fanout, r->fanout);
  SETNZ(pool, r->pool);
  SETNZ(decay, r->decay);
  SETOPT(token_budget, r->token_budget);
  SETOPT(hops, r->hops);
  SETOPT(graph_weight, r->graph_weight);
  SETOPT(lambda, r->lambda);
  SETOPT(a, r->a);
  SETOPT(b, r->b);
  SETOPT(c, r->c);
  SETOPT(theta, r->theta);
  if (r->coverage_opt_case == PRECIS__V1__RETRIEVE_REQUEST__COVERAGE_OPT_COVERAGE)
    p->coverage = (int)r->coverage;
  else
    p->coverage = dflt ? d.coverage : ENGINE_COVERAGE_EXACT;
  SETOPT(max_represented_ids, r->max_represented_ids);
  SETOPT(ef_search, r->ef_search);
  SETOPT(mode, (engine_mode)r->mode);
  SETNZ(expand_from, r->expand_from);
  if (r->diversity_opt_case == PRECIS__V1__RETRIEVE_REQUEST__DIVERSITY_OPT_DIVERSITY)
    p->diversity = r->diversity;
#undef SETNZ
#undef SETOPT
  unsigned kinds = (r->follow_knn ? ENGINE_EDGE_KNN : 0) |
                   (r->follow_links ? ENGINE_EDGE_LINKS : 0);
  p->edge_kinds = kinds ? kinds : d.edge_kinds;
  p->link_kinds = (const char *const *)r->link_kinds;
  p->n_link_kinds = r->n_link_kinds;
  p->exact_seeds = r->exact_seeds;
}

static int op_retrieve(dctx *x, const Precis__V1__RetrieveRequest *r) {
  engine_retrieve_params p;
  map_retrieve(r, &p);
  if ((unsigned)r->mode > (unsigned)PRECIS__V1__MODE__MODE_MMR)
    return fail(x, PRECIS_E_INVALID_ARGUMENT, "unknown mode %d", (int)r->mode);
  if ((unsigned)p.coverage > (unsigned)PRECIS__V1__COVERAGE__COVERAGE_AUTO)
    return fail(x, PRECIS_E_INVALID_ARGUMENT,
                "unknown coverage %d (EXACT 0, SPARSE 1, SAMPLE 2, AUTO 3)",
                p.coverage);
  int rc;
  if (r->use_query_point) {
    if (r->n_vector)
      return fail(x, PRECIS_E_INVALID_ARGUMENT,
                  "give either a vector or use_query_point, not both");
    engine_collection_info *info;
    if ((rc = describe(x, r->collection, &info))) return rc;
    engine_point *qp = NULL;
    rc = engine_get(x->s->eng, r->collection, &r->query_point, 1, true, &qp,
                    &x->err);
    if (rc) return rc;
    /* keep it for the duration of the call: freed by cleanup() */
    x->pts = qp;
    x->npts = 1;
    if (!qp[0].found || !qp[0].vector)
      return fail(x, PRECIS_E_NOT_FOUND, "query point %" PRIu64 " not found",
                  r->query_point);
    p.query = qp[0].vector;
    p.dim = info->config.dim;
  } else {
    if ((rc = check_query(x, r->n_vector))) return rc;
    p.query = r->vector;
    p.dim = (uint32_t)r->n_vector;
  }
  if (p.k > PRECIS_MAX_K)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "k = %u exceeds the limit %d", p.k,
                PRECIS_MAX_K);
  rc = engine_retrieve(x->s->eng, r->collection, &p, &x->rr, &x->err);
  if (rc) return rc;
  engine_retrieve_result *er = x->rr;
  Precis__V1__RetrieveResult *rr = ANEW(x, Precis__V1__RetrieveResult, 1);
  Precis__V1__RetrievedItem **arr = ANEW(x, Precis__V1__RetrievedItem *, er->n);
  Precis__V1__RetrievedItem *pb = ANEW(x, Precis__V1__RetrievedItem, er->n);
  if (!rr || !arr || !pb) return nomem(x);
  precis__v1__retrieve_result__init(rr);
  for (size_t i = 0; i < er->n; i++) {
    const engine_retrieved *it = &er->items[i];
    Precis__V1__RetrievedItem *o = &pb[i];
    precis__v1__retrieved_item__init(o);
    o->id = it->id;
    o->text = it->text ? it->text : (char *)"";
    o->metadata = it->meta ? it->meta : (char *)"{}";
    o->tokens = it->tokens;
    o->relevance = it->relevance;
    o->similarity = it->similarity;
    o->gain = it->gain;
    o->hops = it->hops;
    o->via = it->via;
    o->represents = it->represents;
    o->represented_ids = it->represented_ids;
    o->n_represented_ids = it->represented_ids ? it->n_represented_ids : 0;
    arr[i] = o;
  }
  rr->items = arr;
  rr->n_items = er->n;
  rr->objective = er->objective;
  rr->coverage_ratio = er->coverage_ratio;
  rr->redundancy = er->redundancy;
  rr->mean_relevance = er->mean_relevance;
  rr->coverage_used = (Precis__V1__Coverage)er->coverage_used;
  rr->pool_size = er->pool_size;
  rr->seed_count = er->seed_count;
  rr->t_seed_us = er->t_seed_us;
  rr->t_expand_us = er->t_expand_us;
  rr->t_select_us = er->t_select_us;
  rr->t_total_us = er->t_total_us;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_RETRIEVE;
  x->resp->retrieve = rr;
  return PRECIS_OK;
}

/* ---- entry points ---- */

static int run_op(dctx *x, const Precis__V1__Request *q) {
  switch (q->op_case) {
  case PRECIS__V1__REQUEST__OP_AUTH: return set_empty(x); /* loop handles it */
  case PRECIS__V1__REQUEST__OP_HEALTH: return op_health(x);
  case PRECIS__V1__REQUEST__OP_STATS: return op_stats(x);
  case PRECIS__V1__REQUEST__OP_CREATE_COLLECTION: return op_create(x, q->create_collection);
  case PRECIS__V1__REQUEST__OP_DROP_COLLECTION: return op_drop(x, q->drop_collection);
  case PRECIS__V1__REQUEST__OP_DESCRIBE_COLLECTION: return op_describe(x, q->describe_collection);
  case PRECIS__V1__REQUEST__OP_LIST_COLLECTIONS: return op_list(x);
  case PRECIS__V1__REQUEST__OP_UPSERT: return op_upsert(x, q->upsert);
  case PRECIS__V1__REQUEST__OP_GET: return op_get(x, q->get);
  case PRECIS__V1__REQUEST__OP_DELETE: return op_delete(x, q->delete_);
  case PRECIS__V1__REQUEST__OP_ADD_LINKS:
    return op_links(x, q->add_links->collection, q->add_links->links,
                    q->add_links->n_links, 1);
  case PRECIS__V1__REQUEST__OP_REMOVE_LINKS:
    return op_links(x, q->remove_links->collection, q->remove_links->links,
                    q->remove_links->n_links, 0);
  case PRECIS__V1__REQUEST__OP_LIST_EDGES: return op_list_edges(x, q->list_edges);
  case PRECIS__V1__REQUEST__OP_SEARCH: return op_search(x, q->search);
  case PRECIS__V1__REQUEST__OP_RETRIEVE: return op_retrieve(x, q->retrieve);
  case PRECIS__V1__REQUEST__OP_GRAPH_REBUILD: return op_graph_rebuild(x, q->graph_rebuild);
  case PRECIS__V1__REQUEST__OP_SNAPSHOT: return op_snapshot(x, q->snapshot);
  default:
    return fail(x, PRECIS_E_UNIMPLEMENTED, "unknown operation %d",
                (int)q->op_case);
  }
}

int srv_encode_status(uint64_t id, int code, const char *msg, uint8_t **out,
                      size_t *out_len) {
  Precis__V1__Response resp = PRECIS__V1__RESPONSE__INIT;
  Precis__V1__Status st = PRECIS__V1__STATUS__INIT;
  resp.id = id;
  resp.status = &st;
  st.code = (uint32_t)code;
  st.message = (char *)(msg ? msg : precis_strerror(code));
  int rc = frame_encode(&resp.base, PRECIS_HARD_MAX_FRAME, out, out_len);
  return rc ? PRECIS_E_NO_MEMORY : 0;
}

int srv_encode_empty_ok(uint64_t id, uint8_t **out, size_t *out_len) {
  Precis__V1__Response resp = PRECIS__V1__RESPONSE__INIT;
  Precis__V1__Status st = PRECIS__V1__STATUS__INIT;
  Precis__V1__Empty e = PRECIS__V1__EMPTY__INIT;
  resp.id = id;
  resp.status = &st;
  resp.result_case = PRECIS__V1__RESPONSE__RESULT_EMPTY;
  resp.empty = &e;
  int rc = frame_encode(&resp.base, PRECIS_HARD_MAX_FRAME, out, out_len);
  return rc ? PRECIS_E_NO_MEMORY : 0;
}

int srv_dispatch(srv_server *s, const Precis__V1__Request *req, uint8_t **out,
                 size_t *out_len) {
  dctx x;
  memset(&x, 0, sizeof x);
  x.s = s;
  Precis__V1__Response resp = PRECIS__V1__RESPONSE__INIT;
  Precis__V1__Status st = PRECIS__V1__STATUS__INIT;
  resp.id = req->id;
  resp.status = &st;
  x.resp = &resp;

  int code = run_op(&x, req);
  if (code) {
    resp.result_case = PRECIS__V1__RESPONSE__RESULT__NOT_SET;
    st.code = (uint32_t)code;
    st.message = x.err.msg[0] ? x.err.msg : (char *)precis_strerror(code);
  } else if (x.ok_msg) {
    st.message = x.ok_msg;
  }
  int rc = frame_encode(&resp.base, s->cfg.max_frame, out, out_len);
  if (rc == PRECIS_E_FRAME_TOO_LARGE) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "response of %zu bytes exceeds the frame limit of %u bytes",
             protobuf_c_message_get_packed_size(&resp.base), s->cfg.max_frame);
    code = PRECIS_E_FRAME_TOO_LARGE;
    if (srv_encode_status(req->id, code, msg, out, out_len)) *out = NULL;
  } else if (rc) {
    code = PRECIS_E_NO_MEMORY;
    if (srv_encode_status(req->id, code, NULL, out, out_len)) *out = NULL;
  }
  cleanup(&x);
  return code;
}
