/*
 * admin.c: health, stats and snapshot: the server-wide operations.
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

int precis_health_check(precis_conn *c, precis_health *out, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__HealthRequest hr = PRECIS__V1__HEALTH_REQUEST__INIT;
  req.op_case = PRECIS__V1__REQUEST__OP_HEALTH;
  req.health = &hr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_HEALTH, &resp, err);
  if (rc != PRECIS_OK) return rc;
  if (out) {
    memset(out, 0, sizeof *out);
    if (resp->health) {
      precis__strlcpy(out->version, resp->health->version, sizeof out->version);
      precis__strlcpy(out->faiss, resp->health->faiss, sizeof out->faiss);
      out->uptime_s = resp->health->uptime_s;
    }
  }
  precis__response_free(resp);
  return precis__ok(c, err);
}

int precis_stats_get(precis_conn *c, precis_stats *out, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!out) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "out is NULL");
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__StatsRequest sr = PRECIS__V1__STATS_REQUEST__INIT;
  req.op_case = PRECIS__V1__REQUEST__OP_STATS;
  req.stats = &sr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_STATS, &resp, err);
  if (rc != PRECIS_OK) return rc;
  memset(out, 0, sizeof *out);
  const Precis__V1__StatsResult *s = resp->stats;
  if (s) {
    out->connections = s->connections;
    out->requests = s->requests;
    out->errors = s->errors;
    out->inflight = s->inflight;
    out->rss_bytes = s->rss_bytes;
    out->workers = s->workers;
    out->uptime_s = s->uptime_s;
    out->bytes_in = s->bytes_in;
    out->bytes_out = s->bytes_out;
  }
  precis__response_free(resp);
  return precis__ok(c, err);
}

/* Send `req`, a snapshot operation on `name` that answers `empty`. */
static int snapshot_named_call(precis_conn *c, const char *name, Precis__V1__Request *req,
                               precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!name) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "snapshot name is NULL");
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  if (rc != PRECIS_OK) return rc;
  precis__response_free(resp);
  return precis__ok(c, err);
}

int precis_snapshot(precis_conn *c, const char *name, precis_error *err) {
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__SnapshotRequest sr = PRECIS__V1__SNAPSHOT_REQUEST__INIT;
  sr.name = (char *)name;
  req.op_case = PRECIS__V1__REQUEST__OP_SNAPSHOT;
  req.snapshot = &sr;
  return snapshot_named_call(c, name, &req, err);
}

int precis_snapshot_list(precis_conn *c, precis_snapshot_info **out, size_t *n, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!out || !n) return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT, "out or n is NULL");
  *out = NULL;
  *n = 0;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__ListSnapshotsRequest lr = PRECIS__V1__LIST_SNAPSHOTS_REQUEST__INIT;
  req.op_case = PRECIS__V1__REQUEST__OP_LIST_SNAPSHOTS;
  req.list_snapshots = &lr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_SNAPSHOTS, &resp, err);
  if (rc != PRECIS_OK) return rc;
  const Precis__V1__ListSnapshotsResult *r = resp->snapshots;
  size_t cnt = r ? r->n_snapshots : 0;
  if (cnt) {
    precis_snapshot_info *v = calloc(cnt, sizeof *v);
    if (!v) {
      precis__response_free(resp);
      return precis__fail(c, err, PRECIS_E_NO_MEMORY, "snapshot list");
    }
    for (size_t i = 0; i < cnt; i++) {
      const Precis__V1__SnapshotInfo *s = r->snapshots[i];
      precis__strlcpy(v[i].name, s->name, sizeof v[i].name);
      precis__strlcpy(v[i].path, s->path, sizeof v[i].path);
      v[i].bytes = s->bytes;
      v[i].created_unix_s = s->created_unix_s;
    }
    *out = v;
    *n = cnt;
  }
  precis__response_free(resp);
  return precis__ok(c, err);
}

int precis_snapshot_delete(precis_conn *c, const char *name, precis_error *err) {
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__DeleteSnapshotRequest dr = PRECIS__V1__DELETE_SNAPSHOT_REQUEST__INIT;
  dr.name = (char *)name;
  req.op_case = PRECIS__V1__REQUEST__OP_DELETE_SNAPSHOT;
  req.delete_snapshot = &dr;
  return snapshot_named_call(c, name, &req, err);
}
