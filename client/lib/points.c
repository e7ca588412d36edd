/*
 * points.c: upsert / get / delete. Requests borrow the caller's arrays
 * (protobuf-c packs straight from them); get results are deep-copied into
 * precis_points so that the caller never sees protobuf-c memory.
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

static int check_args(precis_conn *c, const char *coll, const void *arr, size_t n,
                      precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!coll) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "collection name is NULL");
  if (n > 0 && !arr)
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "array is NULL with n = %zu", n);
  if (n > PRECIS_MAX_BATCH)
    return precis__fail(c, err, PRECIS_E_OUT_OF_RANGE, "batch of %zu exceeds PRECIS_MAX_BATCH (%d)",
                        n, PRECIS_MAX_BATCH);
  return PRECIS_OK;
}

int precis_upsert(precis_conn *c, const char *collection, const precis_point *points, size_t n,
                  uint64_t *upserted, precis_error *err) {
  return precis_upsert_flags(c, collection, points, n, 0, upserted, err);
}

int precis_upsert_flags(precis_conn *c, const char *collection, const precis_point *points,
                        size_t n, unsigned flags, uint64_t *upserted, precis_error *err) {
  int rc = check_args(c, collection, points, n, err);
  if (rc != PRECIS_OK) return rc;
  Precis__V1__Point *pb = calloc(n ? n : 1, sizeof *pb);
  Precis__V1__Point **pp = calloc(n ? n : 1, sizeof *pp);
  if (!pb || !pp) {
    free(pb);
    free(pp);
    return precis__fail(c, err, PRECIS_E_NO_MEMORY, NULL);
  }
  for (size_t i = 0; i < n; i++) {
    const precis_point *s = &points[i];
    Precis__V1__Point init = PRECIS__V1__POINT__INIT;
    pb[i] = init;
    pb[i].id = s->id;
    pb[i].n_vector = s->vector ? s->dim : 0;
    pb[i].vector = (float *)s->vector;
    pb[i].text = (char *)(s->text ? s->text : "");
    pb[i].metadata = (char *)(s->metadata ? s->metadata : "");
    if (s->tokens >= 0) {
      pb[i].tokens = s->tokens;
      pb[i].has_tokens = 1;
    } else {
      pb[i].tokens = -1;
    }
    pp[i] = &pb[i];
  }
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__UpsertRequest ur = PRECIS__V1__UPSERT_REQUEST__INIT;
  ur.collection = (char *)collection;
  ur.n_points = n;
  ur.points = pp;
  ur.defer_graph = (flags & PRECIS_UPSERT_DEFER_GRAPH) != 0;
  req.op_case = PRECIS__V1__REQUEST__OP_UPSERT;
  req.upsert = &ur;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  free(pb);
  free(pp);
  if (rc != PRECIS_OK) return rc;
  if (upserted)
    *upserted = (resp->result_case == PRECIS__V1__RESPONSE__RESULT_UPSERT && resp->upsert)
                    ? resp->upsert->upserted
                    : n;
  precis__response_free(resp);
  return precis__ok(c, err);
}

void precis_points_free(precis_points *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) {
    free(p->points[i].vector);
    free(p->points[i].text);
    free(p->points[i].metadata);
  }
  free(p->points);
  free(p->missing);
  free(p);
}

int precis__copy_point(precis_stored_point *d, const Precis__V1__Point *s) {
  d->id = s->id;
  d->tokens = s->tokens;
  d->text = precis__strdup(s->text);
  d->metadata = precis__strdup(s->metadata && *s->metadata ? s->metadata : "{}");
  if (!d->text || !d->metadata) return PRECIS_E_NO_MEMORY;
  if (s->n_vector) {
    d->vector = malloc(s->n_vector * sizeof(float));
    if (!d->vector) return PRECIS_E_NO_MEMORY;
    memcpy(d->vector, s->vector, s->n_vector * sizeof(float));
    d->dim = (uint32_t)s->n_vector;
  }
  return PRECIS_OK;
}

int precis_get(precis_conn *c, const char *collection, const uint64_t *ids, size_t n,
               int with_vectors, precis_points **out, precis_error *err) {
  int rc = check_args(c, collection, ids, n, err);
  if (rc != PRECIS_OK) return rc;
  if (!out) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "out is NULL");
  *out = NULL;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__GetRequest gr = PRECIS__V1__GET_REQUEST__INIT;
  gr.collection = (char *)collection;
  gr.n_ids = n;
  gr.ids = (uint64_t *)ids;
  gr.with_vectors = with_vectors ? 1 : 0;
  req.op_case = PRECIS__V1__REQUEST__OP_GET;
  req.get = &gr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_GET, &resp, err);
  if (rc != PRECIS_OK) return rc;
  const Precis__V1__GetResult *g = resp->get;
  precis_points *p = calloc(1, sizeof *p);
  rc = p ? PRECIS_OK : PRECIS_E_NO_MEMORY;
  size_t np = g ? g->n_points : 0, nm = g ? g->n_missing : 0;
  if (rc == PRECIS_OK && np) {
    p->points = calloc(np, sizeof *p->points);
    if (!p->points) rc = PRECIS_E_NO_MEMORY;
    for (size_t i = 0; rc == PRECIS_OK && i < np; i++) {
      p->n = i + 1;
      rc = precis__copy_point(&p->points[i], g->points[i]);
    }
  }
  if (rc == PRECIS_OK && nm) {
    p->missing = malloc(nm * sizeof *p->missing);
    if (!p->missing)
      rc = PRECIS_E_NO_MEMORY;
    else {
      memcpy(p->missing, g->missing, nm * sizeof *p->missing);
      p->n_missing = nm;
    }
  }
  precis__response_free(resp);
  if (rc != PRECIS_OK) {
    precis_points_free(p);
    return precis__fail(c, err, rc, NULL);
  }
  *out = p;
  return precis__ok(c, err);
}

int precis_delete(precis_conn *c, const char *collection, const uint64_t *ids, size_t n,
                  uint64_t *deleted, precis_error *err) {
  int rc = check_args(c, collection, ids, n, err);
  if (rc != PRECIS_OK) return rc;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DeleteRequest dr = PRECIS__V1__DELETE_REQUEST__INIT;
  dr.collection = (char *)collection;
  dr.n_ids = n;
  dr.ids = (uint64_t *)ids;
  req.op_case = PRECIS__V1__REQUEST__OP_DELETE;
  req.delete_ = &dr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  if (rc != PRECIS_OK) return rc;
  if (deleted)
    *deleted = (resp->result_case == PRECIS__V1__RESPONSE__RESULT_DELETE && resp->delete_)
                   ? resp->delete_->deleted
                   : 0;
  precis__response_free(resp);
  return precis__ok(c, err);
}
