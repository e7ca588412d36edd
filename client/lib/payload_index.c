/*
 * payload_index.c: create, drop and list the payload indexes of a
 * collection (CreatePayloadIndex, DropPayloadIndex, ListPayloadIndexes).
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

static int check_args(precis_conn *c, const char *coll, const char *key, int need_key,
                      precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!coll || (need_key && !key))
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "collection or key is NULL");
  return PRECIS_OK;
}

/* Send req (any result accepted, none kept). */
static int call_simple(precis_conn *c, Precis__V1__Request *req, precis_error *err) {
  Precis__V1__Response *resp = NULL;
  int rc = precis__call(c, req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  if (rc != PRECIS_OK) return rc;
  precis__response_free(resp);
  return precis__ok(c, err);
}

int precis_payload_index_create(precis_conn *c, const char *collection, const char *key,
                                precis_pindex_type type, precis_error *err) {
  int rc = check_args(c, collection, key, 1, err);
  if (rc != PRECIS_OK) return rc;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__CreatePayloadIndexRequest r = PRECIS__V1__CREATE_PAYLOAD_INDEX_REQUEST__INIT;
  r.collection = (char *)collection;
  r.key = (char *)key;
  r.type = (Precis__V1__PayloadIndexType)type;
  req.op_case = PRECIS__V1__REQUEST__OP_CREATE_PAYLOAD_INDEX;
  req.create_payload_index = &r;
  return call_simple(c, &req, err);
}

int precis_payload_index_drop(precis_conn *c, const char *collection, const char *key,
                              precis_error *err) {
  int rc = check_args(c, collection, key, 1, err);
  if (rc != PRECIS_OK) return rc;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DropPayloadIndexRequest r = PRECIS__V1__DROP_PAYLOAD_INDEX_REQUEST__INIT;
  r.collection = (char *)collection;
  r.key = (char *)key;
  req.op_case = PRECIS__V1__REQUEST__OP_DROP_PAYLOAD_INDEX;
  req.drop_payload_index = &r;
  return call_simple(c, &req, err);
}

int precis_payload_index_list(precis_conn *c, const char *collection, precis_pindex_info **out,
                              size_t *n, precis_error *err) {
  int rc = check_args(c, collection, NULL, 0, err);
  if (rc != PRECIS_OK) return rc;
  if (!out || !n) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "out or n is NULL");
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__ListPayloadIndexesRequest r = PRECIS__V1__LIST_PAYLOAD_INDEXES_REQUEST__INIT;
  r.collection = (char *)collection;
  req.op_case = PRECIS__V1__REQUEST__OP_LIST_PAYLOAD_INDEXES;
  req.list_payload_indexes = &r;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_PAYLOAD_INDEXES, &resp, err);
  if (rc != PRECIS_OK) return rc;
  size_t m = resp->payload_indexes ? resp->payload_indexes->n_indexes : 0;
  precis_pindex_info *o = calloc(m ? m : 1, sizeof *o);
  if (!o) {
    precis__response_free(resp);
    return precis__fail(c, err, PRECIS_E_NO_MEMORY, NULL);
  }
  for (size_t i = 0; i < m; i++) {
    const Precis__V1__PayloadIndexInfo *in = resp->payload_indexes->indexes[i];
    precis__strlcpy(o[i].key, in->key, sizeof o[i].key);
    o[i].type = (precis_pindex_type)in->type;
    o[i].ready = in->ready ? 1 : 0;
    o[i].in_memory = in->in_memory ? 1 : 0;
    o[i].memory_bytes = in->memory_bytes;
    o[i].values = in->values;
  }
  precis__response_free(resp);
  *out = o;
  *n = m;
  return precis__ok(c, err);
}
