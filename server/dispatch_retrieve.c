/* dispatch_retrieve.c: search, retrieve and graph rebuild: the wire
 * request -> engine parameters through the tables of precis/params.h (a
 * field that was not sent keeps the engine default; one that was sent is
 * taken as sent, 0 included, and the engine checks every range), and the
 * engine result -> the wire result. */
#include <inttypes.h>
#include <string.h>

#include "pbparam.h"
#include "precis/limits.h"
#include "precis/params.h"
#include "srv_dispatch_internal.h"
#include "srv_filter.h"
#include "srv_metrics.h"

_Static_assert((int)PRECIS__V1__COVERAGE__COVERAGE_EXACT == ENGINE_COVERAGE_EXACT &&
                   (int)PRECIS__V1__COVERAGE__COVERAGE_SPARSE == ENGINE_COVERAGE_SPARSE &&
                   (int)PRECIS__V1__COVERAGE__COVERAGE_SAMPLE == ENGINE_COVERAGE_SAMPLE &&
                   (int)PRECIS__V1__COVERAGE__COVERAGE_AUTO == ENGINE_COVERAGE_AUTO,
               "wire Coverage and engine_coverage share their numbers");
_Static_assert((int)PRECIS__V1__MODE__MODE_COMPRESS == ENGINE_MODE_COMPRESS &&
                   (int)PRECIS__V1__MODE__MODE_TOPK == ENGINE_MODE_TOPK &&
                   (int)PRECIS__V1__MODE__MODE_MMR == ENGINE_MODE_MMR,
               "wire Mode and engine_mode share their numbers");

int dsp__graph_rebuild(dctx *x, const Precis__V1__GraphRebuildRequest *r) {
  int rc = engine_graph_rebuild(x->s->eng, r->collection, &x->err);
  if (rc) return rc;
  return set_empty(x);
}

/* A query vector on the wire: present, and within PRECIS_MAX_DIM
 * (OUT_OF_RANGE, as every limit of limits.h and as libprecis says; a
 * vector within it that does not match the collection is the engine's
 * DIMENSION_MISMATCH). */
static int check_query(dctx *x, size_t n) {
  if (n == 0) return fail(x, PRECIS_E_INVALID_ARGUMENT, "query vector is empty");
  if (n > PRECIS_MAX_DIM)
    return fail(x, PRECIS_E_OUT_OF_RANGE, "query has %zu components (limit %d)", n, PRECIS_MAX_DIM);
  return PRECIS_OK;
}

#define SEARCH_TO_ENGINE(name, KIND, d, lo, hi, field, flag, doc) sp.name = v.name;

int dsp__search(dctx *x, const Precis__V1__SearchRequest *r) {
  int rc = check_query(x, r->n_vector);
  if (rc) return rc;
  struct {
    PRECIS_SEARCH_PARAM_MAP(PRECIS_PARAM_MEMBER)
  } v, *p = &v;
  memset(&v, 0, sizeof v);
  PRECIS_SEARCH_PARAM_MAP(PRECIS_PARAM_SET_DEFAULT)
  const Precis__V1__SearchRequest *msg = r;
  PRECIS_SEARCH_PARAM_MAP(PBPARAM_FROM_WIRE)
  engine_search_params sp;
  memset(&sp, 0, sizeof sp);
  PRECIS_SEARCH_OPTS_MAP(SEARCH_TO_ENGINE)
  /* k sizes the hits array: checked before it is allocated */
  if ((rc = engine_search_params_check(v.k, &sp, &x->err))) return rc;
  uint32_t k = v.k;
  engine_hit *hits = ANEW(x, engine_hit, k);
  if (!hits) return nomem(x);
  size_t nh = 0;
  engine_filter *f = NULL; /* filter (dispatch_filter.c) */
  engine_filter_report frep;
  if ((rc = srv_filter_compile(r->filter, &f, &x->err))) return rc;
  rc = engine_search_filtered(x->s->eng, r->collection, r->vector, (uint32_t)r->n_vector, k, &sp, f,
                              hits, &nh, &frep, &x->err);
  engine_filter_destroy(f);
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
  if (r->filter && r->filter->n_groups) {
    if (!(sr->filter_report = ANEW(x, Precis__V1__FilterReport, 1))) return nomem(x);
    srv_filter_report(&frep, sr->filter_report);
  }
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_SEARCH;
  x->resp->search = sr;
  return PRECIS_OK;
}

/* RetrieveRequest -> engine_retrieve_params: the engine defaults, then
 * every parameter that was sent (docs/PROTOCOL.md, "Parameters"). Field 26
 * (the former `defaults` flag) is ignored: without a value a field takes
 * its default, which is what `defaults: true` asked for. */
static void map_retrieve(const Precis__V1__RetrieveRequest *r, engine_retrieve_params *p) {
  engine_retrieve_params_default(p);
  const Precis__V1__RetrieveRequest *msg = r;
  PRECIS_RETRIEVE_PARAM_MAP(PBPARAM_FROM_WIRE)
  p->link_kinds = (const char *const *)r->link_kinds;
  p->n_link_kinds = r->n_link_kinds;
  p->group_by = r->group_by;
}

int dsp__retrieve(dctx *x, const Precis__V1__RetrieveRequest *r) {
  engine_retrieve_params p;
  map_retrieve(r, &p);
  int rc;
  if (r->use_query_point) {
    if (r->n_vector)
      return fail(x, PRECIS_E_INVALID_ARGUMENT,
                  "give either a vector or use_query_point, not both");
    engine_collection_info *info;
    if ((rc = describe(x, r->collection, &info))) return rc;
    engine_point *qp = NULL;
    rc = engine_get(x->s->eng, r->collection, &r->query_point, 1, true, &qp, &x->err);
    if (rc) return rc;
    /* keep it for the duration of the call: freed by cleanup() */
    x->pts = qp;
    x->npts = 1;
    if (!qp[0].found || !qp[0].vector)
      return fail(x, PRECIS_E_NOT_FOUND, "query point %" PRIu64 " not found", r->query_point);
    p.query = qp[0].vector;
    p.dim = info->config.dim;
  } else {
    if ((rc = check_query(x, r->n_vector))) return rc;
    p.query = r->vector;
    p.dim = (uint32_t)r->n_vector;
  }
  engine_filter *f = NULL; /* filter (dispatch_filter.c) */
  if ((rc = srv_filter_compile(r->filter, &f, &x->err))) return rc;
  p.filter = f;
  rc = engine_retrieve(x->s->eng, r->collection, &p, &x->rr, &x->err);
  engine_filter_destroy(f);
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
    o->link_end = it->link_end;
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
  srv_metrics_retrieve(x->s->metrics, er);
  if (f) {
    if (!(rr->filter_report = ANEW(x, Precis__V1__FilterReport, 1))) return nomem(x);
    srv_filter_report(&er->filter_report, rr->filter_report);
  }
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_RETRIEVE;
  x->resp->retrieve = rr;
  return PRECIS_OK;
}
