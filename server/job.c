/* job.c: what a worker does with a request (srv_job_fn of the loop's work
 * queue): check and decode a large frame, refuse reads for a congested
 * connection, run the operation, log failures. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "srv_dispatch.h"
#include "srv_limits.h"
#include "srv_log.h"
#include "srv_loop_int.h"
#include "wirecheck.h"

/* Operations whose responses can be large (reads): skipped while their
 * connection's unread output is over SRV_OUT_HIGH. */
static bool large_result(const Precis__V1__Request *req) {
  switch (req->op_case) {
    case PRECIS__V1__REQUEST__OP_GET:
    case PRECIS__V1__REQUEST__OP_SEARCH:
    case PRECIS__V1__REQUEST__OP_RETRIEVE:
    case PRECIS__V1__REQUEST__OP_LIST_EDGES:
    case PRECIS__V1__REQUEST__OP_LIST_COLLECTIONS:
      return true;
    default:
      return false;
  }
}

/* Log a failure (or everything at debug) and free the request. */
static void finish(srv_job *job, uint64_t t0) {
  if (job->code == PRECIS_E_INTERNAL || job->code == PRECIS_E_IO ||
      job->code == PRECIS_E_CORRUPTION || job->code == PRECIS_E_NO_MEMORY ||
      srv_log_level() <= SRV_LOG_DEBUG) {
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
        &precis__v1__request__descriptor, (unsigned)job->req->op_case);
    srv_log(job->code == PRECIS_E_OK || job->code < PRECIS_E_IO ? SRV_LOG_DEBUG : SRV_LOG_ERROR,
            "request %" PRIu64 " %s: %s (%" PRIu64 " ms)", job->req->id, f ? f->name : "?",
            precis_status_name(job->code), srv_now_ms() - t0);
  }
  precis__v1__request__free_unpacked(job->req, &srv_pb_alloc);
  job->req = NULL;
}

static void run(void *ctx, srv_job *job) {
  srv_server *s = ctx;
  uint64_t t0 = srv_now_ms();
  if (!job->req) { /* a large request: the loop read only its envelope */
    wirecheck_result chk;
    precis_error err = {0};
    int crc = srv_check_request(job->frame, job->frame_len, &chk, &err);
    if (crc) {
      srv_job_free_frame(job);
      job->code = crc;
      if (srv_encode_status(job->id, crc, err.msg, &job->out, &job->out_len)) job->out = NULL;
      return;
    }
    job->req = precis__v1__request__unpack(&srv_pb_alloc, job->frame_len, job->frame);
    srv_job_free_frame(job);
    if (!job->req) {
      job->code = PRECIS_E_PROTOCOL;
      if (srv_encode_status(job->id, job->code,
                            "request could not be decoded (malformed, or out "
                            "of memory)",
                            &job->out, &job->out_len))
        job->out = NULL;
      return;
    }
  }
  if (large_result(job->req) && atomic_load_explicit(&job->conn->congested, memory_order_relaxed)) {
    job->code = PRECIS_E_BUSY;
    if (srv_encode_status(job->id, PRECIS_E_BUSY,
                          "not run: earlier responses are unread on this "
                          "connection; read them and retry",
                          &job->out, &job->out_len))
      job->out = NULL;
    precis__v1__request__free_unpacked(job->req, &srv_pb_alloc);
    job->req = NULL;
    return;
  }
  job->code = srv_dispatch(s, job->req, &job->out, &job->out_len);
  finish(job, t0);
}

/* Send a small response from the worker when the connection's socket is
 * free (srv_conn.h, direct_ok): the client has its answer without waiting
 * for the loop to wake up. The loop still gets the job back (accounting). */
static void send_direct(srv_server *s, srv_job *job) {
  srv_conn *c = job->conn;
  if (!s->cfg.worker_send || !job->out || job->out_len > SRV_DIRECT_SEND_MAX) return;
  pthread_mutex_lock(&c->wmu);
  if (c->direct_ok) {
    ssize_t n = send(c->fd, job->out, job->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == (ssize_t)job->out_len) {
      free(job->out);
      job->sent = true;
    } else if (n > 0) { /* the loop sends the rest before anything else */
      c->partial = job->out;
      c->partial_len = job->out_len;
      c->partial_off = (size_t)n;
      c->direct_ok = false;
      job->sent = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      free(job->out); /* the connection is gone; its recv will say so */
      job->sent = true;
    }
    if (job->sent) {
      job->out = NULL;
      if (n > 0) atomic_fetch_add(&s->st.bytes_out, (uint64_t)n);
    }
  }
  pthread_mutex_unlock(&c->wmu);
}

void loop_run_job(void *ctx, srv_job *job) {
  run(ctx, job);
  send_direct(ctx, job);
}

/* Group commit (--group-commit; srv_workq.h): upserts to one collection
 * with the same flags, decoded already, together at most PRECIS_MAX_BATCH
 * points, are written by one engine call: one RocksDB write, one WAL sync
 * (srv_dispatch_upsert_group). The protocol promises no order between
 * requests in flight (docs/PROTOCOL.md section 4), so taking them out of
 * queue order is allowed. */
static const Precis__V1__UpsertRequest *upsert_of(const srv_job *j) {
  return j->req && j->req->op_case == PRECIS__V1__REQUEST__OP_UPSERT ? j->req->upsert : NULL;
}

bool loop_job_join(void *ctx, const srv_job *lead, const srv_job *other, size_t *budget) {
  srv_server *s = ctx;
  const Precis__V1__UpsertRequest *a = upsert_of(lead);
  if (!s->cfg.group_commit || !a) return false;
  if (!other) {
    if (a->n_points == 0 || a->n_points >= PRECIS_MAX_BATCH) return false;
    *budget = PRECIS_MAX_BATCH - a->n_points;
    return true;
  }
  const Precis__V1__UpsertRequest *b = upsert_of(other);
  if (other->bulk || !b || b->n_points == 0 || b->n_points > *budget ||
      b->defer_graph != a->defer_graph || strcmp(a->collection, b->collection))
    return false;
  *budget -= b->n_points;
  return true;
}

void loop_run_group(void *ctx, srv_job **jobs, size_t n) {
  srv_server *s = ctx;
  uint64_t t0 = srv_now_ms();
  const Precis__V1__Request *reqs[SRV_GROUP_MAX];
  int codes[SRV_GROUP_MAX];
  uint8_t *outs[SRV_GROUP_MAX];
  size_t lens[SRV_GROUP_MAX];
  for (size_t i = 0; i < n; i++) reqs[i] = jobs[i]->req;
  atomic_fetch_add_explicit(&s->st.group_commits, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->st.group_requests, n, memory_order_relaxed);
  srv_dispatch_upsert_group(s, reqs, n, codes, outs, lens);
  for (size_t i = 0; i < n; i++) {
    srv_job *j = jobs[i];
    j->code = codes[i];
    j->out = outs[i];
    j->out_len = lens[i];
    finish(j, t0);
    send_direct(ctx, j);
  }
}
