/*
 * filter_ops.c: count, scroll, delete by filter and set payload (the
 * operations over points selected by a filter, or by ids without vectors).
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

static int check_coll(precis_conn *c, const char *coll, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!coll) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "collection is NULL");
  return PRECIS_OK;
}

int precis_count(precis_conn *c, const char *collection, const precis_filter *filter,
                 uint64_t *count, precis_error *err) {
  int rc = check_coll(c, collection, err);
  if (rc != PRECIS_OK) return rc;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__CountRequest r = PRECIS__V1__COUNT_REQUEST__INIT;
  r.collection = (char *)collection;
  r.filter = precis__filter_pb(filter);
  req.op_case = PRECIS__V1__REQUEST__OP_COUNT;
  req.count = &r;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_COUNT, &resp, err);
  if (rc != PRECIS_OK) return rc;
  if (count) *count = resp->count ? resp->count->count : 0;
  precis__response_free(resp);
  return precis__ok(c, err);
}

int precis_scroll(precis_conn *c, const char *collection, const precis_filter *filter,
                  uint64_t cursor, uint32_t limit, int with_vectors, precis_points **out,
                  uint64_t *next_cursor, int *more, precis_error *err) {
  int rc = check_coll(c, collection, err);
  if (rc != PRECIS_OK) return rc;
  if (!out || !next_cursor || !more)
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "out, next_cursor or more is NULL");
  *out = NULL;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__ScrollRequest r = PRECIS__V1__SCROLL_REQUEST__INIT;
  r.collection = (char *)collection;
  r.filter = precis__filter_pb(filter);
  r.cursor = cursor;
  r.limit = limit;
  r.with_vectors = with_vectors ? 1 : 0;
  req.op_case = PRECIS__V1__REQUEST__OP_SCROLL;
  req.scroll = &r;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_SCROLL, &resp, err);
  if (rc != PRECIS_OK) return rc;
  const Precis__V1__ScrollResult *s = resp->scroll;
  precis_points *p = calloc(1, sizeof *p);
  size_t np = s ? s->n_points : 0;
  rc = p ? PRECIS_OK : PRECIS_E_NO_MEMORY;
  if (rc == PRECIS_OK && np && !(p->points = calloc(np, sizeof *p->points)))
    rc = PRECIS_E_NO_MEMORY;
  for (size_t i = 0; rc == PRECIS_OK && i < np; i++) {
    p->n = i + 1;
    rc = precis__copy_point(&p->points[i], s->points[i]);
  }
  *next_cursor = s ? s->next_cursor : cursor;
  *more = s && s->more ? 1 : 0;
  precis__response_free(resp);
  if (rc != PRECIS_OK) {
    precis_points_free(p);
    return precis__fail(c, err, rc, NULL);
  }
  *out = p;
  return precis__ok(c, err);
}

int precis_delete_by_filter(precis_conn *c, const char *collection, const precis_filter *filter,
                            uint64_t *deleted, precis_error *err) {
  int rc = check_coll(c, collection, err);
  if (rc != PRECIS_OK) return rc;
  if (!filter)
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "delete by filter needs a filter");
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DeleteByFilterRequest r = PRECIS__V1__DELETE_BY_FILTER_REQUEST__INIT;
  r.collection = (char *)collection;
  r.filter = precis__filter_pb(filter);
  req.op_case = PRECIS__V1__REQUEST__OP_DELETE_BY_FILTER;
  req.delete_by_filter = &r;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_DELETE, &resp, err);
  if (rc != PRECIS_OK) return rc;
  if (deleted) *deleted = resp->delete_ ? resp->delete_->deleted : 0;
  precis__response_free(resp);
  return precis__ok(c, err);
}

int precis_set_payload(precis_conn *c, const char *collection, const uint64_t *ids, size_t n,
                       const char *metadata, int merge, uint64_t *updated, precis_error *err) {
  int rc = check_coll(c, collection, err);
  if (rc != PRECIS_OK) return rc;
  if (!ids || !n) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "no ids");
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__SetPayloadRequest r = PRECIS__V1__SET_PAYLOAD_REQUEST__INIT;
  r.collection = (char *)collection;
  r.ids = (uint64_t *)ids;
  r.n_ids = n;
  r.metadata = (char *)(metadata ? metadata : "{}");
  r.merge = merge ? 1 : 0;
  req.op_case = PRECIS__V1__REQUEST__OP_SET_PAYLOAD;
  req.set_payload = &r;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_SET_PAYLOAD, &resp, err);
  if (rc != PRECIS_OK) return rc;
  if (updated) *updated = resp->set_payload ? resp->set_payload->updated : 0;
  precis__response_free(resp);
  return precis__ok(c, err);
}
