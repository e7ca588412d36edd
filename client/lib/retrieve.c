/*
 * retrieve.c: the retrieve operation (seeds -> graph expansion -> set
 * selection). Maps precis_retrieve_params onto RetrieveRequest and deep-
 * copies RetrieveResult into precis_retrieve_result.
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "pbparam.h"

void precis_retrieve_params_init(precis_retrieve_params *p) {
  memset(p, 0, sizeof *p);
  PRECIS_RETRIEVE_PARAM_MAP(PRECIS_PARAM_SET_DEFAULT)
}

void precis_retrieve_result_free(precis_retrieve_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) {
    free(r->items[i].text);
    free(r->items[i].metadata);
    free(r->items[i].represented_ids);
  }
  free(r->items);
  free(r);
}

static int copy_item(precis_retrieved_item *d, const Precis__V1__RetrievedItem *s) {
  d->id = s->id;
  d->tokens = s->tokens;
  d->relevance = s->relevance;
  d->similarity = s->similarity;
  d->gain = s->gain;
  d->hops = s->hops;
  d->via = s->via;
  d->link_end = s->link_end;
  d->represents = s->represents;
  d->text = precis__strdup(s->text);
  d->metadata = precis__strdup(s->metadata && *s->metadata ? s->metadata : "{}");
  if (!d->text || !d->metadata) return PRECIS_E_NO_MEMORY;
  if (s->n_represented_ids) {
    d->represented_ids = malloc(s->n_represented_ids * sizeof(uint64_t));
    if (!d->represented_ids) return PRECIS_E_NO_MEMORY;
    memcpy(d->represented_ids, s->represented_ids, s->n_represented_ids * sizeof(uint64_t));
    d->n_represented_ids = s->n_represented_ids;
  }
  return PRECIS_OK;
}

int precis_retrieve(precis_conn *c, const char *collection, const precis_retrieve_params *p,
                    precis_retrieve_result **out, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!collection || !p || !out)
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "collection, params or out is NULL");
  *out = NULL;
  if (!p->use_query_point && (!p->vector || !p->dim))
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT,
                        "retrieve needs a query vector or use_query_point");
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__RetrieveRequest rr = PRECIS__V1__RETRIEVE_REQUEST__INIT;
  rr.collection = (char *)collection;
  if (!p->use_query_point) {
    rr.n_vector = p->dim;
    rr.vector = (float *)p->vector;
  }
  rr.query_point = p->query_point;
  rr.use_query_point = p->use_query_point ? 1 : 0;
  rr.n_link_kinds = p->link_kinds ? p->n_link_kinds : 0;
  rr.link_kinds = (char **)p->link_kinds;
  if (p->group_by) rr.group_by = (char *)p->group_by;
  /* every parameter, with presence: the request means exactly what p says */
  Precis__V1__RetrieveRequest *msg = &rr;
  PRECIS_RETRIEVE_PARAM_MAP(PBPARAM_TO_WIRE)
  rr.filter = precis__filter_pb(p->filter);
  req.op_case = PRECIS__V1__REQUEST__OP_RETRIEVE;
  req.retrieve = &rr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_RETRIEVE, &resp, err);
  if (rc != PRECIS_OK) return rc;
  const Precis__V1__RetrieveResult *s = resp->retrieve;
  precis_retrieve_result *r = calloc(1, sizeof *r);
  rc = r ? PRECIS_OK : PRECIS_E_NO_MEMORY;
  if (rc == PRECIS_OK && s) {
    r->objective = s->objective;
    r->coverage_ratio = s->coverage_ratio;
    r->redundancy = s->redundancy;
    r->mean_relevance = s->mean_relevance;
    r->coverage_used = (precis_coverage)s->coverage_used;
    r->pool_size = s->pool_size;
    r->seed_count = s->seed_count;
    r->t_seed_us = s->t_seed_us;
    r->t_expand_us = s->t_expand_us;
    r->t_select_us = s->t_select_us;
    r->t_total_us = s->t_total_us;
    precis__filter_report(s->filter_report, &r->filter_report);
    if (s->n_items) {
      r->items = calloc(s->n_items, sizeof *r->items);
      if (!r->items) rc = PRECIS_E_NO_MEMORY;
      for (size_t i = 0; rc == PRECIS_OK && i < s->n_items; i++) {
        r->n = i + 1;
        rc = copy_item(&r->items[i], s->items[i]);
      }
    }
  }
  precis__response_free(resp);
  if (rc != PRECIS_OK) {
    precis_retrieve_result_free(r);
    return precis__fail(c, err, rc, NULL);
  }
  *out = r;
  return precis__ok(c, err);
}
