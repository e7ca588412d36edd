/* job.c: what a worker does with a request (srv_job_fn of the loop's work
 * queue): check and decode a large frame, refuse reads for a congested
 * connection, run the operation, log failures. */
#include <inttypes.h>
#include <stdlib.h>

#include "srv_dispatch.h"
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
  case PRECIS__V1__REQUEST__OP_LIST_COLLECTIONS: return true;
  default: return false;
  }
}

void loop_run_job(void *ctx, srv_job *job) {
  srv_server *s = ctx;
  uint64_t t0 = srv_now_ms();
  if (!job->req) { /* a large request: the loop read only its envelope */
    wirecheck_result chk;
    precis_error err = {0};
    int crc = srv_check_request(job->frame, job->frame_len, &chk, &err);
    if (crc) {
      free(job->frame);
      job->frame = NULL;
      job->code = crc;
      if (srv_encode_status(job->id, crc, err.msg, &job->out, &job->out_len)) job->out = NULL;
      return;
    }
    job->req = precis__v1__request__unpack(&srv_pb_alloc, job->frame_len, job->frame);
    free(job->frame);
    job->frame = NULL;
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
  if (large_result(job->req) &&
      atomic_load_explicit(&job->conn->congested, memory_order_relaxed)) {
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
  if (job->code == PRECIS_E_INTERNAL || job->code == PRECIS_E_IO ||
      job->code == PRECIS_E_CORRUPTION || job->code == PRECIS_E_NO_MEMORY ||
      srv_log_level() <= SRV_LOG_DEBUG) {
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
        &precis__v1__request__descriptor, (unsigned)job->req->op_case);
    srv_log(job->code == PRECIS_E_OK || job->code < PRECIS_E_IO ? SRV_LOG_DEBUG
                                                                : SRV_LOG_ERROR,
            "request %" PRIu64 " %s: %s (%" PRIu64 " ms)", job->req->id,
            f ? f->name : "?", precis_status_name(job->code),
            srv_now_ms() - t0);
  }
  precis__v1__request__free_unpacked(job->req, &srv_pb_alloc);
  job->req = NULL;
}
