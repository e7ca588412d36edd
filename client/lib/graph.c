/*
 * graph.c: knowledge links (add / remove), edge listing and kNN-graph
 * rebuild. Edges are converted to the self-contained precis_edge.
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

void precis_edge_set(precis_edge *e, uint64_t src, uint64_t dst, const char *kind, float weight) {
  memset(e, 0, sizeof *e);
  e->src = src;
  e->dst = dst;
  precis__strlcpy(e->kind, kind, sizeof e->kind);
  e->weight = weight;
}

static int links_op(precis_conn *c, const char *collection, const precis_edge *links, size_t n,
                    uint64_t *changed, int add, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!collection || (n && !links))
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "collection or links is NULL");
  if (n > PRECIS_MAX_BATCH)
    return precis__fail(c, err, PRECIS_E_OUT_OF_RANGE, "%zu links exceed PRECIS_MAX_BATCH", n);
  Precis__V1__Edge *pb = calloc(n ? n : 1, sizeof *pb);
  Precis__V1__Edge **pp = calloc(n ? n : 1, sizeof *pp);
  if (!pb || !pp) {
    free(pb);
    free(pp);
    return precis__fail(c, err, PRECIS_E_NO_MEMORY, NULL);
  }
  for (size_t i = 0; i < n; i++) {
    Precis__V1__Edge init = PRECIS__V1__EDGE__INIT;
    pb[i] = init;
    pb[i].src = links[i].src;
    pb[i].dst = links[i].dst;
    pb[i].kind = (char *)links[i].kind;
    pb[i].weight = links[i].weight;
    pp[i] = &pb[i];
  }
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__AddLinksRequest ar = PRECIS__V1__ADD_LINKS_REQUEST__INIT;
  Precis__V1__RemoveLinksRequest rr = PRECIS__V1__REMOVE_LINKS_REQUEST__INIT;
  if (add) {
    ar.collection = (char *)collection;
    ar.n_links = n;
    ar.links = pp;
    req.op_case = PRECIS__V1__REQUEST__OP_ADD_LINKS;
    req.add_links = &ar;
  } else {
    rr.collection = (char *)collection;
    rr.n_links = n;
    rr.links = pp;
    req.op_case = PRECIS__V1__REQUEST__OP_REMOVE_LINKS;
    req.remove_links = &rr;
  }
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  free(pb);
  free(pp);
  if (rc != PRECIS_OK) return rc;
  if (changed)
    *changed = (resp->result_case == PRECIS__V1__RESPONSE__RESULT_LINKS && resp->links)
                   ? resp->links->changed
                   : 0;
  precis__response_free(resp);
  return precis__ok(c, err);
}

int precis_link_add(precis_conn *c, const char *collection, const precis_edge *links, size_t n,
                    uint64_t *changed, precis_error *err) {
  return links_op(c, collection, links, n, changed, 1, err);
}

int precis_link_remove(precis_conn *c, const char *collection, const precis_edge *links, size_t n,
                       uint64_t *changed, precis_error *err) {
  return links_op(c, collection, links, n, changed, 0, err);
}

int precis_edges_list(precis_conn *c, const char *collection, uint64_t id, unsigned flags,
                      const char *kind, precis_edge **out, size_t *n, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!collection || !out || !n)
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "collection, out or n is NULL");
  *out = NULL;
  *n = 0;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__ListEdgesRequest lr = PRECIS__V1__LIST_EDGES_REQUEST__INIT;
  unsigned types = flags & (PRECIS_EDGES_KNN | PRECIS_EDGES_LINKS);
  unsigned dirs = flags & (PRECIS_EDGES_OUT | PRECIS_EDGES_IN);
  if (!types) types = PRECIS_EDGES_KNN | PRECIS_EDGES_LINKS;
  if (!dirs) dirs = PRECIS_EDGES_OUT | PRECIS_EDGES_IN;
  lr.collection = (char *)collection;
  lr.id = id;
  lr.knn = (types & PRECIS_EDGES_KNN) != 0;
  lr.links = (types & PRECIS_EDGES_LINKS) != 0;
  lr.kind = (char *)(kind ? kind : "");
  lr.outgoing = (dirs & PRECIS_EDGES_OUT) != 0;
  lr.incoming = (dirs & PRECIS_EDGES_IN) != 0;
  req.op_case = PRECIS__V1__REQUEST__OP_LIST_EDGES;
  req.list_edges = &lr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_EDGES, &resp, err);
  if (rc != PRECIS_OK) return rc;
  size_t cnt = resp->edges ? resp->edges->n_edges : 0;
  precis_edge *arr = NULL;
  if (cnt) {
    arr = calloc(cnt, sizeof *arr);
    if (!arr) {
      precis__response_free(resp);
      return precis__fail(c, err, PRECIS_E_NO_MEMORY, NULL);
    }
    for (size_t i = 0; i < cnt; i++) {
      const Precis__V1__Edge *e = resp->edges->edges[i];
      precis_edge_set(&arr[i], e->src, e->dst, e->kind, e->weight);
    }
  }
  precis__response_free(resp);
  *out = arr;
  *n = cnt;
  return precis__ok(c, err);
}

void precis_edges_free(precis_edge *edges) { free(edges); }

int precis_graph_rebuild(precis_conn *c, const char *collection, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!collection)
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "collection name is NULL");
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__GraphRebuildRequest gr = PRECIS__V1__GRAPH_REBUILD_REQUEST__INIT;
  gr.collection = (char *)collection;
  req.op_case = PRECIS__V1__REQUEST__OP_GRAPH_REBUILD;
  req.graph_rebuild = &gr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  if (rc != PRECIS_OK) return rc;
  precis__response_free(resp);
  return precis__ok(c, err);
}
