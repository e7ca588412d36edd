/*
 * collections.c: collection create / describe / list / drop over the wire,
 * and the conversion of CollectionInfo into the self-contained public
 * precis_collection_info.
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

void precis_collection_config_init(precis_collection_config *cfg, uint32_t dim) {
  memset(cfg, 0, sizeof *cfg);
  cfg->dim = dim;
  cfg->metric = PRECIS_METRIC_COSINE;
}

static void info_from_pb(precis_collection_info *out, const Precis__V1__CollectionInfo *in) {
  memset(out, 0, sizeof *out);
  precis__strlcpy(out->name, in->name, sizeof out->name);
  if (in->config) {
    out->dim = in->config->dim;
    out->metric = (precis_metric)in->config->metric;
    precis__strlcpy(out->index_spec, in->config->index_spec, sizeof out->index_spec);
    out->knn_k = in->config->knn_k;
    out->hnsw_ef_construction = in->config->hnsw_ef_construction;
    out->hnsw_ef_search = in->config->hnsw_ef_search;
    out->ivf_nprobe = in->config->ivf_nprobe;
  }
  out->count = in->count;
  out->ann_total = in->ann_total;
  out->tombstones = in->tombstones;
  out->knn_edges = in->knn_edges;
  out->links = in->links;
  out->disk_bytes = in->disk_bytes;
  out->seq = in->seq;
  out->index_seq = in->index_seq;
}

static int check_name(precis_conn *c, const char *name, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!name) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "collection name is NULL");
  return PRECIS_OK;
}

int precis_collection_create(precis_conn *c, const char *name, const precis_collection_config *cfg,
                             precis_collection_info *info, precis_error *err) {
  int rc = check_name(c, name, err);
  if (rc != PRECIS_OK) return rc;
  if (!cfg) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "config is NULL");
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__CreateCollectionRequest cr = PRECIS__V1__CREATE_COLLECTION_REQUEST__INIT;
  Precis__V1__CollectionConfig pc = PRECIS__V1__COLLECTION_CONFIG__INIT;
  pc.dim = cfg->dim;
  pc.metric = (Precis__V1__Metric)cfg->metric;
  pc.index_spec = (char *)(cfg->index_spec ? cfg->index_spec : "");
  pc.knn_k = cfg->knn_k;
  pc.hnsw_ef_construction = cfg->hnsw_ef_construction;
  pc.hnsw_ef_search = cfg->hnsw_ef_search;
  pc.ivf_nprobe = cfg->ivf_nprobe;
  cr.name = (char *)name;
  cr.config = &pc;
  req.op_case = PRECIS__V1__REQUEST__OP_CREATE_COLLECTION;
  req.create_collection = &cr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  if (rc != PRECIS_OK) return rc;
  int have = resp->result_case == PRECIS__V1__RESPONSE__RESULT_COLLECTION && resp->collection &&
             resp->collection->info;
  if (info && have) info_from_pb(info, resp->collection->info);
  precis__response_free(resp);
  if (info && !have) /* server answered without a description: ask */
    return precis_collection_describe(c, name, info, err);
  return precis__ok(c, err);
}

int precis_collection_describe(precis_conn *c, const char *name, precis_collection_info *info,
                               precis_error *err) {
  int rc = check_name(c, name, err);
  if (rc != PRECIS_OK) return rc;
  if (!info) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "info is NULL");
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DescribeCollectionRequest dr = PRECIS__V1__DESCRIBE_COLLECTION_REQUEST__INIT;
  dr.name = (char *)name;
  req.op_case = PRECIS__V1__REQUEST__OP_DESCRIBE_COLLECTION;
  req.describe_collection = &dr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_COLLECTION, &resp, err);
  if (rc != PRECIS_OK) return rc;
  if (!resp->collection || !resp->collection->info) {
    precis__response_free(resp);
    return precis__fail(c, err, PRECIS_E_PROTOCOL, "describe: response without collection info");
  }
  info_from_pb(info, resp->collection->info);
  precis__response_free(resp);
  return precis__ok(c, err);
}

int precis_collection_list(precis_conn *c, precis_collection_info **out, size_t *n,
                           precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!out || !n) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "out or n is NULL");
  *out = NULL;
  *n = 0;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__ListCollectionsRequest lr = PRECIS__V1__LIST_COLLECTIONS_REQUEST__INIT;
  req.op_case = PRECIS__V1__REQUEST__OP_LIST_COLLECTIONS;
  req.list_collections = &lr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_COLLECTIONS, &resp, err);
  if (rc != PRECIS_OK) return rc;
  size_t cnt = resp->collections ? resp->collections->n_collections : 0;
  precis_collection_info *arr = NULL;
  if (cnt) {
    arr = calloc(cnt, sizeof *arr);
    if (!arr) {
      precis__response_free(resp);
      return precis__fail(c, err, PRECIS_E_NO_MEMORY, NULL);
    }
    for (size_t i = 0; i < cnt; i++) info_from_pb(&arr[i], resp->collections->collections[i]);
  }
  precis__response_free(resp);
  *out = arr;
  *n = cnt;
  return precis__ok(c, err);
}

void precis_collection_infos_free(precis_collection_info *infos) { free(infos); }

int precis_collection_drop(precis_conn *c, const char *name, precis_error *err) {
  int rc = check_name(c, name, err);
  if (rc != PRECIS_OK) return rc;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DropCollectionRequest dr = PRECIS__V1__DROP_COLLECTION_REQUEST__INIT;
  dr.name = (char *)name;
  req.op_case = PRECIS__V1__REQUEST__OP_DROP_COLLECTION;
  req.drop_collection = &dr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  if (rc != PRECIS_OK) return rc;
  precis__response_free(resp);
  return precis__ok(c, err);
}
