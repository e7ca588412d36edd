/* dispatch.c: Request -> engine -> Response (see srv_dispatch.h).
 *
 * Each call owns a small arena for the protobuf-c structs of its response;
 * engine results are borrowed by the response until it is encoded, then
 * freed with their engine functions. Engine status codes and messages are
 * passed to Response.status unchanged. */
#include "srv_dispatch.h"
#include "srv_dispatch_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
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
#include "srv_limits.h"
#include "srv_filter.h"
#include "srv_log.h"
#include "valid.h"
#include "srv_metrics.h"
#include "srv_snapshot.h"

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

int srv_valid_name(const char *name) { return name && valid_name(name, strlen(name)); }

/* ---- pre-decode check (issue 11) ---- */
static uint32_t request_field_limit(const ProtobufCMessageDescriptor *d,
                                    const ProtobufCFieldDescriptor *f) {
  (void)d;
  if (!strcmp(f->name, "vector")) return PRECIS_MAX_DIM;
  if (!strcmp(f->name, "link_kinds")) return PRECIS_MAX_LINK_KINDS;
  return 0; /* PRECIS_MAX_BATCH */
}

int srv_check_request(const uint8_t *p, size_t n, wirecheck_result *res, precis_error *err) {
  wirecheck_rules rules = {
      .default_max_repeated = PRECIS_MAX_BATCH,
      .max_repeated = request_field_limit,
      .max_depth = 16,
      .max_decoded = 2 * (uint64_t)n + SRV_DECODE_SLACK,
  };
  return wirecheck_message(&precis__v1__request__descriptor, p, n, &rules, res, err);
}

/* ---- conversions ---- */

static Precis__V1__CollectionInfo *info_to_pb(dctx *x, const engine_collection_info *in) {
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

static int op_stats(dctx *x) {
  Precis__V1__StatsResult *r = ANEW(x, Precis__V1__StatsResult, 1);
  if (!r) return nomem(x);
  precis__v1__stats_result__init(r);
  srv_stats *st = &x->s->st;
  r->connections = atomic_load(&st->connections);
  r->requests = atomic_load(&st->requests);
  r->errors = atomic_load(&st->errors);
  r->inflight = atomic_load(&st->inflight);
  r->rss_bytes = srv_rss_bytes();
  r->workers = (uint32_t)x->s->cfg.workers;
  r->uptime_s = (srv_now_ms() - x->s->start_ms) / 1000;
  r->bytes_in = atomic_load(&st->bytes_in);
  r->bytes_out = atomic_load(&st->bytes_out);
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_STATS;
  x->resp->stats = r;
  return PRECIS_OK;
}

static int op_snapshot(dctx *x, const Precis__V1__SnapshotRequest *r) {
  int rc = srv_snapshot_create(x->s, r->name, &x->ok_msg, &x->err);
  if (rc) return rc;
  return set_empty(x);
}

static int op_list_snapshots(dctx *x) {
  srv_snapshot_info *v;
  size_t n;
  int rc = srv_snapshot_list(x->s, &v, &n, &x->err);
  if (rc) return rc;
  Precis__V1__ListSnapshotsResult *r = ANEW(x, Precis__V1__ListSnapshotsResult, 1);
  Precis__V1__SnapshotInfo **arr = ANEW(x, Precis__V1__SnapshotInfo *, n);
  Precis__V1__SnapshotInfo *pb = ANEW(x, Precis__V1__SnapshotInfo, n);
  char *names = ANEW(x, char, n *(PRECIS_MAX_NAME_LEN + 1));
  size_t plen = 0;
  for (size_t i = 0; i < n; i++) plen += strlen(v[i].path) + 1;
  char *paths = ANEW(x, char, plen);
  if (!r || !arr || !pb || !names || !paths) {
    srv_snapshot_list_free(v, n);
    return nomem(x);
  }
  precis__v1__list_snapshots_result__init(r);
  for (size_t i = 0; i < n; i++) {
    precis__v1__snapshot_info__init(&pb[i]);
    pb[i].name = memcpy(names + i * (PRECIS_MAX_NAME_LEN + 1), v[i].name, sizeof v[i].name);
    size_t l = strlen(v[i].path) + 1;
    pb[i].path = memcpy(paths, v[i].path, l);
    paths += l;
    pb[i].bytes = v[i].bytes;
    pb[i].created_unix_s = v[i].created_unix_s;
    arr[i] = &pb[i];
  }
  srv_snapshot_list_free(v, n);
  r->snapshots = arr;
  r->n_snapshots = n;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_SNAPSHOTS;
  x->resp->snapshots = r;
  return PRECIS_OK;
}

static int op_delete_snapshot(dctx *x, const Precis__V1__DeleteSnapshotRequest *r) {
  int rc = srv_snapshot_delete(x->s, r->name, &x->err);
  if (rc) return rc;
  return set_empty(x);
}

/* ---- collections ---- */

/* The CollectionResult of create and describe: what the collection is now. */
static int collection_result(dctx *x, const char *name) {
  engine_collection_info *info;
  int rc = describe(x, name, &info);
  if (rc) return rc;
  Precis__V1__CollectionResult *cr = ANEW(x, Precis__V1__CollectionResult, 1);
  if (!cr) return nomem(x);
  precis__v1__collection_result__init(cr);
  if (!(cr->info = info_to_pb(x, info))) return nomem(x);
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_COLLECTION;
  x->resp->collection = cr;
  return PRECIS_OK;
}

static int op_create(dctx *x, const Precis__V1__CreateCollectionRequest *r) {
  const Precis__V1__CollectionConfig *c = r->config;
  if (!c) return fail(x, PRECIS_E_INVALID_ARGUMENT, "config is required");
  if ((unsigned)c->metric > (unsigned)PRECIS__V1__METRIC__METRIC_L2)
    return fail(x, PRECIS_E_INVALID_ARGUMENT, "unknown metric %d", (int)c->metric);
  engine_collection_config ec;
  memset(&ec, 0, sizeof ec);
  ec.dim = c->dim;
  ec.metric = (engine_metric)c->metric;
  if (strlen(c->index_spec) >= sizeof ec.index_spec)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "index_spec longer than %d bytes",
                PRECIS_MAX_INDEX_SPEC_LEN - 1);
  strcpy(ec.index_spec, c->index_spec);
  ec.knn_k = c->knn_k;
  ec.hnsw_ef_construction = c->hnsw_ef_construction;
  ec.hnsw_ef_search = c->hnsw_ef_search;
  ec.ivf_nprobe = c->ivf_nprobe;
  int rc = engine_collection_create(x->s->eng, r->name, &ec, &x->err);
  if (rc) return rc;
  return collection_result(x, r->name);
}

static int op_drop(dctx *x, const Precis__V1__DropCollectionRequest *r) {
  int rc = engine_collection_drop(x->s->eng, r->name, &x->err);
  if (rc) return rc;
  malloc_trim(0); /* give the dropped collection's pages back (issue 11) */
  return set_empty(x);
}

static int op_describe(dctx *x, const Precis__V1__DescribeCollectionRequest *r) {
  return collection_result(x, r->name);
}

static int op_list(dctx *x) {
  size_t n = 0;
  int rc = engine_collection_list(x->s->eng, &x->infos, &n, &x->err);
  if (rc) return rc;
  Precis__V1__ListCollectionsResult *lr = ANEW(x, Precis__V1__ListCollectionsResult, 1);
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

/* The engine's view of an upsert's points into in[0..n_points); 0 or the
 * refusal of the first bad point (x->err). */
static int upsert_points(dctx *x, const Precis__V1__UpsertRequest *r, engine_point_in *in) {
  size_t n = r->n_points;
  if (n == 0) return fail(x, PRECIS_E_INVALID_ARGUMENT, "no points to upsert");
  if (n > PRECIS_MAX_BATCH)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "%zu points exceed the batch limit %d", n,
                PRECIS_MAX_BATCH);
  for (size_t i = 0; i < n; i++) {
    const Precis__V1__Point *p = r->points[i];
    if (p->n_vector == 0)
      return fail(x, PRECIS_E_INVALID_ARGUMENT, "point %" PRIu64 " has no vector", p->id);
    if (p->n_vector > PRECIS_MAX_DIM) /* a limit: OUT_OF_RANGE (limits.h) */
      return fail(x, PRECIS_E_OUT_OF_RANGE, "point %" PRIu64 " has %zu components (limit %d)",
                  p->id, p->n_vector, PRECIS_MAX_DIM);
    in[i].id = p->id;
    in[i].vector = p->vector;
    in[i].dim = (uint32_t)p->n_vector;
    in[i].text = p->text;
    in[i].text_len = strlen(p->text);
    in[i].meta = p->metadata[0] ? p->metadata : NULL;
    in[i].meta_len = strlen(p->metadata);
    in[i].tokens = (p->has_tokens && p->tokens >= 0) ? p->tokens : -1;
  }
  return PRECIS_OK;
}

/* The UpsertResult of a written upsert. */
static int upsert_result(dctx *x, size_t upserted) {
  Precis__V1__UpsertResult *ur = ANEW(x, Precis__V1__UpsertResult, 1);
  if (!ur) return nomem(x);
  precis__v1__upsert_result__init(ur);
  ur->upserted = upserted;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_UPSERT;
  x->resp->upsert = ur;
  return PRECIS_OK;
}

static int op_upsert(dctx *x, const Precis__V1__UpsertRequest *r) {
  engine_point_in *in = ANEW(x, engine_point_in, r->n_points ? r->n_points : 1);
  if (!in) return nomem(x);
  int rc = upsert_points(x, r, in);
  if (rc) return rc;
  size_t upserted = 0; /* distinct ids: a repeated id counts once */
  rc = engine_upsert_counted(x->s->eng, r->collection, in, r->n_points,
                             r->defer_graph ? ENGINE_UPSERT_DEFER_GRAPH : 0, &upserted, &x->err);
  if (rc) return rc;
  return upsert_result(x, upserted);
}

/* engine_get in chunks, stopping as soon as what was read exceeds the
 * frame limit: a get of 100,000 ids of 1 MiB texts must not read 100 GB
 * before finding out that the response cannot be sent (issue 11). */
#define GET_CHUNK 256
static int get_bounded(dctx *x, const Precis__V1__GetRequest *r, size_t n, uint32_t dim) {
  engine_point *all = calloc(n, sizeof *all);
  if (!all) return nomem(x);
  x->pts = all; /* freed by cleanup(), also when partly filled */
  x->npts = 0;
  uint64_t bytes = 0, limit = x->s->cfg.max_frame;
  for (size_t off = 0; off < n; off += GET_CHUNK) {
    size_t m = n - off < GET_CHUNK ? n - off : GET_CHUNK;
    engine_point *part = NULL;
    int rc = engine_get(x->s->eng, r->collection, r->ids + off, m, r->with_vectors, &part, &x->err);
    if (rc) return rc;
    memcpy(all + off, part, m * sizeof *part);
    free(part); /* the points' buffers now belong to `all` */
    x->npts = off + m;
    for (size_t i = off; i < off + m; i++) {
      if (!all[i].found) continue;
      bytes += 16 + (all[i].text ? strlen(all[i].text) : 0) +
               (all[i].meta ? strlen(all[i].meta) : 0) +
               (all[i].vector ? (uint64_t)dim * sizeof(float) : 0);
    }
    if (bytes > limit)
      return fail(x, PRECIS_E_FRAME_TOO_LARGE,
                  "response would exceed the frame limit of %" PRIu64
                  " bytes after %zu of %zu points; ask for fewer ids",
                  limit, off + m, n);
  }
  return PRECIS_OK;
}

/* A found engine point as a wire Point (borrowing its strings and vector;
 * dim 0: without the vector). */
static void point_to_pb(Precis__V1__Point *p, const engine_point *ep, uint32_t dim) {
  precis__v1__point__init(p);
  p->id = ep->id;
  if (dim && ep->vector) {
    p->vector = ep->vector;
    p->n_vector = dim;
  }
  p->text = ep->text ? ep->text : (char *)"";
  p->metadata = ep->meta ? ep->meta : (char *)"{}";
  p->tokens = ep->tokens;
  p->has_tokens = 1;
}

static int op_get(dctx *x, const Precis__V1__GetRequest *r) {
  size_t n = r->n_ids;
  if (n > PRECIS_MAX_BATCH)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "%zu ids exceed the batch limit %d", n, PRECIS_MAX_BATCH);
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
  if ((rc = get_bounded(x, r, n, info ? info->config.dim : 0))) return rc;
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
    point_to_pb(&pb[nf], ep, r->with_vectors && info ? info->config.dim : 0);
    arr[nf] = &pb[nf];
    nf++;
  }
  gr->points = arr;
  gr->n_points = nf;
  gr->missing = missing;
  gr->n_missing = nm;
  return PRECIS_OK;
}

static int set_deleted(dctx *x, uint64_t deleted) {
  Precis__V1__DeleteResult *dr = ANEW(x, Precis__V1__DeleteResult, 1);
  if (!dr) return nomem(x);
  precis__v1__delete_result__init(dr);
  dr->deleted = deleted;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_DELETE;
  x->resp->delete_ = dr;
  return PRECIS_OK;
}

static int op_delete(dctx *x, const Precis__V1__DeleteRequest *r) {
  size_t n = r->n_ids, deleted = 0;
  if (n > PRECIS_MAX_BATCH)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "%zu ids exceed the batch limit %d", n, PRECIS_MAX_BATCH);
  int rc;
  if (n == 0) {
    engine_collection_info *info;
    if ((rc = describe(x, r->collection, &info))) return rc;
  } else {
    rc = engine_delete(x->s->eng, r->collection, r->ids, n, &deleted, &x->err);
    if (rc) return rc;
  }
  return set_deleted(x, deleted);
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
static int op_links(dctx *x, const char *coll, Precis__V1__Edge **edges, size_t n, int add) {
  if (n > PRECIS_MAX_BATCH)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "%zu links exceed the batch limit %d", n,
                PRECIS_MAX_BATCH);
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
      return fail(x, PRECIS_E_INVALID_ARGUMENT, "links[%zu]: kind longer than %d bytes", i,
                  PRECIS_MAX_LINK_KIND_LEN);
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
  int rc = engine_edges_list(x->s->eng, r->collection, r->id, kinds, r->kind[0] ? r->kind : NULL,
                             dirs, &x->edges, &n, &x->err);
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

/* ---- payload indexes (issue 14; docs/PROTOCOL.md) ---- */

_Static_assert((int)PRECIS__V1__PAYLOAD_INDEX_TYPE__PAYLOAD_INDEX_KEYWORD ==
                       ENGINE_PINDEX_KEYWORD &&
                   (int)PRECIS__V1__PAYLOAD_INDEX_TYPE__PAYLOAD_INDEX_DATETIME ==
                       ENGINE_PINDEX_DATETIME,
               "wire PayloadIndexType and engine_pindex_type share their numbers");

static int op_create_pindex(dctx *x, const Precis__V1__CreatePayloadIndexRequest *r) {
  if ((unsigned)r->type > (unsigned)ENGINE_PINDEX_DATETIME)
    return fail(x, PRECIS_E_INVALID_ARGUMENT, "unknown payload index type %d", (int)r->type);
  int rc = engine_payload_index_create(x->s->eng, r->collection, r->key,
                                       (engine_pindex_type)r->type, &x->err);
  return rc ? rc : set_empty(x);
}

static int op_drop_pindex(dctx *x, const Precis__V1__DropPayloadIndexRequest *r) {
  int rc = engine_payload_index_drop(x->s->eng, r->collection, r->key, &x->err);
  return rc ? rc : set_empty(x);
}

static int op_list_pindex(dctx *x, const Precis__V1__ListPayloadIndexesRequest *r) {
  engine_pindex_info *inf;
  size_t n;
  int rc = engine_payload_index_list(x->s->eng, r->collection, &inf, &n, &x->err);
  if (rc) return rc;
  Precis__V1__PayloadIndexesResult *res = ANEW(x, Precis__V1__PayloadIndexesResult, 1);
  Precis__V1__PayloadIndexInfo **arr = ANEW(x, Precis__V1__PayloadIndexInfo *, n);
  Precis__V1__PayloadIndexInfo *pb = ANEW(x, Precis__V1__PayloadIndexInfo, n);
  char *keys = ANEW(x, char, n * sizeof inf->key);
  if (!res || !arr || !pb || !keys) {
    free(inf);
    return nomem(x);
  }
  precis__v1__payload_indexes_result__init(res);
  for (size_t i = 0; i < n; i++) {
    precis__v1__payload_index_info__init(&pb[i]);
    memcpy(keys + i * sizeof inf->key, inf[i].key, sizeof inf->key);
    pb[i].key = keys + i * sizeof inf->key;
    pb[i].type = (Precis__V1__PayloadIndexType)inf[i].type;
    pb[i].ready = inf[i].ready;
    pb[i].in_memory = inf[i].in_memory;
    pb[i].memory_bytes = inf[i].mem_bytes;
    pb[i].values = inf[i].values;
    arr[i] = &pb[i];
  }
  free(inf);
  res->indexes = arr;
  res->n_indexes = n;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_PAYLOAD_INDEXES;
  x->resp->payload_indexes = res;
  return PRECIS_OK;
}

/* ---- count, scroll, delete by filter, set payload (issue 14) ---- */

static int op_count(dctx *x, const Precis__V1__CountRequest *r) {
  engine_filter *f;
  int rc = srv_filter_compile(r->filter, &f, &x->err);
  if (rc) return rc;
  uint64_t n = 0;
  rc = engine_count_filtered(x->s->eng, r->collection, f, &n, &x->err);
  engine_filter_destroy(f);
  if (rc) return rc;
  Precis__V1__CountResult *cr = ANEW(x, Precis__V1__CountResult, 1);
  if (!cr) return nomem(x);
  precis__v1__count_result__init(cr);
  cr->count = n;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_COUNT;
  x->resp->count = cr;
  return PRECIS_OK;
}

static int op_scroll(dctx *x, const Precis__V1__ScrollRequest *r) {
  engine_collection_info *info = NULL;
  int rc;
  if (r->with_vectors && (rc = describe(x, r->collection, &info))) return rc;
  engine_filter *f;
  if ((rc = srv_filter_compile(r->filter, &f, &x->err))) return rc;
  uint64_t next = 0;
  bool more = false;
  size_t n = 0;
  rc = engine_scroll(x->s->eng, r->collection, f, r->cursor, r->limit ? r->limit : 100,
                     r->with_vectors, &x->pts, &n, &next, &more, &x->err);
  engine_filter_destroy(f);
  if (rc) return rc;
  x->npts = n;
  Precis__V1__ScrollResult *sr = ANEW(x, Precis__V1__ScrollResult, 1);
  Precis__V1__Point **arr = ANEW(x, Precis__V1__Point *, n);
  Precis__V1__Point *pb = ANEW(x, Precis__V1__Point, n);
  if (!sr || !arr || !pb) return nomem(x);
  precis__v1__scroll_result__init(sr);
  for (size_t i = 0; i < n; i++) {
    point_to_pb(&pb[i], &x->pts[i], info ? info->config.dim : 0);
    arr[i] = &pb[i];
  }
  sr->points = arr;
  sr->n_points = n;
  sr->next_cursor = next;
  sr->more = more;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_SCROLL;
  x->resp->scroll = sr;
  return PRECIS_OK;
}

static int op_delete_by_filter(dctx *x, const Precis__V1__DeleteByFilterRequest *r) {
  engine_filter *f;
  int rc = srv_filter_compile(r->filter, &f, &x->err);
  if (rc) return rc;
  if (!f) return fail(x, PRECIS_E_INVALID_ARGUMENT, "delete_by_filter needs a filter with groups");
  uint64_t deleted = 0;
  rc = engine_delete_filtered(x->s->eng, r->collection, f, &deleted, &x->err);
  engine_filter_destroy(f);
  if (rc) return rc;
  return set_deleted(x, deleted);
}

static int op_set_payload(dctx *x, const Precis__V1__SetPayloadRequest *r) {
  size_t updated = 0;
  int rc = engine_set_payload(x->s->eng, r->collection, r->ids, r->n_ids, r->metadata,
                              r->metadata ? strlen(r->metadata) : 0, r->merge, &updated, &x->err);
  if (rc) return rc;
  Precis__V1__SetPayloadResult *sr = ANEW(x, Precis__V1__SetPayloadResult, 1);
  if (!sr) return nomem(x);
  precis__v1__set_payload_result__init(sr);
  sr->updated = updated;
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_SET_PAYLOAD;
  x->resp->set_payload = sr;
  return PRECIS_OK;
}

/* ---- entry points ---- */

static int run_op(dctx *x, const Precis__V1__Request *q) {
  switch (q->op_case) {
    case PRECIS__V1__REQUEST__OP_AUTH:
      return set_empty(x); /* loop handles it */
    case PRECIS__V1__REQUEST__OP_HEALTH:
      return op_health(x);
    case PRECIS__V1__REQUEST__OP_STATS:
      return op_stats(x);
    case PRECIS__V1__REQUEST__OP_CREATE_COLLECTION:
      return op_create(x, q->create_collection);
    case PRECIS__V1__REQUEST__OP_DROP_COLLECTION:
      return op_drop(x, q->drop_collection);
    case PRECIS__V1__REQUEST__OP_DESCRIBE_COLLECTION:
      return op_describe(x, q->describe_collection);
    case PRECIS__V1__REQUEST__OP_LIST_COLLECTIONS:
      return op_list(x);
    case PRECIS__V1__REQUEST__OP_UPSERT:
      return op_upsert(x, q->upsert);
    case PRECIS__V1__REQUEST__OP_GET:
      return op_get(x, q->get);
    case PRECIS__V1__REQUEST__OP_DELETE:
      return op_delete(x, q->delete_);
    case PRECIS__V1__REQUEST__OP_ADD_LINKS:
      return op_links(x, q->add_links->collection, q->add_links->links, q->add_links->n_links, 1);
    case PRECIS__V1__REQUEST__OP_REMOVE_LINKS:
      return op_links(x, q->remove_links->collection, q->remove_links->links,
                      q->remove_links->n_links, 0);
    case PRECIS__V1__REQUEST__OP_LIST_EDGES:
      return op_list_edges(x, q->list_edges);
    case PRECIS__V1__REQUEST__OP_SEARCH:
      return dsp__search(x, q->search);
    case PRECIS__V1__REQUEST__OP_RETRIEVE:
      return dsp__retrieve(x, q->retrieve);
    case PRECIS__V1__REQUEST__OP_GRAPH_REBUILD:
      return dsp__graph_rebuild(x, q->graph_rebuild);
    case PRECIS__V1__REQUEST__OP_SNAPSHOT:
      return op_snapshot(x, q->snapshot);
    case PRECIS__V1__REQUEST__OP_LIST_SNAPSHOTS:
      return op_list_snapshots(x);
    case PRECIS__V1__REQUEST__OP_DELETE_SNAPSHOT:
      return op_delete_snapshot(x, q->delete_snapshot);
    case PRECIS__V1__REQUEST__OP_CREATE_PAYLOAD_INDEX:
      return op_create_pindex(x, q->create_payload_index);
    case PRECIS__V1__REQUEST__OP_DROP_PAYLOAD_INDEX:
      return op_drop_pindex(x, q->drop_payload_index);
    case PRECIS__V1__REQUEST__OP_LIST_PAYLOAD_INDEXES:
      return op_list_pindex(x, q->list_payload_indexes);
    case PRECIS__V1__REQUEST__OP_COUNT:
      return op_count(x, q->count);
    case PRECIS__V1__REQUEST__OP_SCROLL:
      return op_scroll(x, q->scroll);
    case PRECIS__V1__REQUEST__OP_DELETE_BY_FILTER:
      return op_delete_by_filter(x, q->delete_by_filter);
    case PRECIS__V1__REQUEST__OP_SET_PAYLOAD:
      return op_set_payload(x, q->set_payload);
    default:
      return fail(x, PRECIS_E_UNIMPLEMENTED, "unknown operation %d", (int)q->op_case);
  }
}

int srv_encode_status(uint64_t id, int code, const char *msg, uint8_t **out, size_t *out_len) {
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

/* Encode x's response to req (status `code`), free x, count it in the
 * metrics (its time from t0). */
static int respond(srv_server *s, dctx *x, const Precis__V1__Request *req, int code, uint64_t t0,
                   uint8_t **out, size_t *out_len) {
  Precis__V1__Response resp = PRECIS__V1__RESPONSE__INIT;
  Precis__V1__Status st = PRECIS__V1__STATUS__INIT;
  if (x->resp) resp = *x->resp;
  resp.id = req->id;
  resp.status = &st;
  if (code) {
    resp.result_case = PRECIS__V1__RESPONSE__RESULT__NOT_SET;
    st.code = (uint32_t)code;
    st.message = x->err.msg[0] ? x->err.msg : (char *)precis_strerror(code);
  } else if (x->ok_msg) {
    st.message = x->ok_msg;
  }
  int rc = frame_encode(&resp.base, s->cfg.max_frame, out, out_len);
  if (rc == PRECIS_E_FRAME_TOO_LARGE) {
    char msg[160];
    snprintf(msg, sizeof msg, "response of %zu bytes exceeds the frame limit of %u bytes",
             protobuf_c_message_get_packed_size(&resp.base), s->cfg.max_frame);
    code = PRECIS_E_FRAME_TOO_LARGE;
    if (srv_encode_status(req->id, code, msg, out, out_len)) *out = NULL;
  } else if (rc) {
    code = PRECIS_E_NO_MEMORY;
    if (srv_encode_status(req->id, code, NULL, out, out_len)) *out = NULL;
  }
  cleanup(x);
  if (s->metrics) {
    srv_metrics_busy(s->metrics, -1);
    srv_metrics_request(s->metrics, (int)req->op_case, code, srv_now_us() - t0);
  }
  return code;
}

int srv_dispatch(srv_server *s, const Precis__V1__Request *req, uint8_t **out, size_t *out_len) {
  dctx x;
  memset(&x, 0, sizeof x);
  x.s = s;
  Precis__V1__Response resp = PRECIS__V1__RESPONSE__INIT;
  x.resp = &resp;
  uint64_t t0 = s->metrics ? srv_now_us() : 0;
  srv_metrics_busy(s->metrics, 1);
  int code = run_op(&x, req);
  return respond(s, &x, req, code, t0, out, out_len);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Distinct ids of one upsert (what its response counts). */
static size_t distinct_ids(const Precis__V1__UpsertRequest *r, uint64_t *scratch) {
  for (size_t i = 0; i < r->n_points; i++) scratch[i] = r->points[i]->id;
  qsort(scratch, r->n_points, sizeof *scratch, cmp_u64);
  size_t d = 0;
  for (size_t i = 0; i < r->n_points; i++) d += i == 0 || scratch[i] != scratch[i - 1];
  return d;
}

void srv_dispatch_upsert_group(srv_server *s, const Precis__V1__Request *const *reqs, size_t n,
                               int *codes, uint8_t **outs, size_t *lens) {
  uint64_t t0 = s->metrics ? srv_now_us() : 0;
  const Precis__V1__UpsertRequest *r0 = reqs[0]->upsert;
  size_t total = 0, most = 0;
  for (size_t i = 0; i < n; i++) {
    total += reqs[i]->upsert->n_points;
    if (reqs[i]->upsert->n_points > most) most = reqs[i]->upsert->n_points;
  }
  dctx g;
  memset(&g, 0, sizeof g);
  g.s = s;
  engine_point_in *in = ANEW(&g, engine_point_in, total ? total : 1);
  uint64_t *scratch = ANEW(&g, uint64_t, most ? most : 1);
  int rc = in && scratch ? PRECIS_OK : PRECIS_E_NO_MEMORY;
  for (size_t i = 0, at = 0; i < n && !rc; at += reqs[i]->upsert->n_points, i++)
    rc = upsert_points(&g, reqs[i]->upsert, in + at);
  size_t upserted = 0;
  if (!rc) {
    for (size_t i = 0; i < n; i++) srv_metrics_busy(s->metrics, 1);
    rc = engine_upsert_counted(s->eng, r0->collection, in, total,
                               r0->defer_graph ? ENGINE_UPSERT_DEFER_GRAPH : 0, &upserted, &g.err);
    if (rc)
      for (size_t i = 0; i < n; i++) srv_metrics_busy(s->metrics, -1);
  }
  if (!rc) { /* written: each its own result */
    for (size_t i = 0; i < n; i++) {
      dctx x;
      memset(&x, 0, sizeof x);
      x.s = s;
      Precis__V1__Response resp = PRECIS__V1__RESPONSE__INIT;
      x.resp = &resp;
      int code = upsert_result(&x, distinct_ids(reqs[i]->upsert, scratch));
      codes[i] = respond(s, &x, reqs[i], code, t0, &outs[i], &lens[i]);
    }
  } else { /* nothing written: each alone, for its own error (or success) */
    for (size_t i = 0; i < n; i++) codes[i] = srv_dispatch(s, reqs[i], &outs[i], &lens[i]);
  }
  cleanup(&g);
}
