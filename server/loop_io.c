/* loop_io.c: requests in (recv, framing, checking, decoding or handing to a
 * worker, per-connection fairness) and responses out (queueing, BUSY
 * substitutes, sendmsg) (see srv_loop_int.h and loop.c's header comment). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precis/limits.h"
#include "srv_dispatch.h"
#include "srv_limits.h"
#include "srv_log.h"
#include "srv_loop_int.h"
#include "wirecheck.h"

/* ---- responses a worker sent itself (issue 13; srv_conn.h) ---- */

bool loop_hold_output(loop *L, srv_conn *c) {
  bool broken = false;
  pthread_mutex_lock(&c->wmu);
  c->direct_ok = false;
  size_t before = c->out_bytes;
  size_t added = srv_conn_absorb_partial(c, &broken);
  pthread_mutex_unlock(&c->wmu);
  /* the send deadline runs from when output starts to wait */
  if (added && before == 0) c->send_wait_ms = srv_now_ms();
  loop_out_account(L, before, c->out_bytes);
  if (broken) {
    srv_error("connection %" PRIu64 ": out of memory queueing a response", c->serial);
    loop_close_now(L, c);
  }
  return !broken;
}

/* Let workers write to c again when nothing of ours waits to be sent. */
static void allow_direct(loop *L, srv_conn *c) {
  if (!L->s->cfg.worker_send || c->send_armed || c->out_head ||
      (c->state != SRV_CONN_OPEN && c->state != SRV_CONN_DRAINING))
    return;
  pthread_mutex_lock(&c->wmu);
  c->direct_ok = c->partial == NULL;
  pthread_mutex_unlock(&c->wmu);
}

/* Queue a frame produced for c (ownership taken). */
void loop_queue_frame(loop *L, srv_conn *c, uint8_t *frame, size_t len) {
  if (c->state != SRV_CONN_OPEN && c->state != SRV_CONN_DRAINING) {
    free(frame);
    return;
  }
  if (!loop_hold_output(L, c)) {
    free(frame);
    return;
  }
  size_t before = c->out_bytes;
  if (!frame || !srv_conn_queue(c, frame, len)) {
    srv_error("connection %" PRIu64 ": out of memory queueing a response", c->serial);
    loop_close_now(L, c);
    return;
  }
  if (before == 0) c->send_wait_ms = srv_now_ms();
  loop_out_account(L, before, c->out_bytes);
}

void loop_reply_status(loop *L, srv_conn *c, uint64_t id, int code, const char *msg) {
  uint8_t *out = NULL;
  size_t len = 0;
  if (code) atomic_fetch_add(&L->s->st.errors, 1);
  if (srv_encode_status(id, code, msg, &out, &len)) out = NULL;
  loop_queue_frame(L, c, out, len);
}

/* A finished response: queued, or replaced by BUSY when it is large and
 * would push this connection's unsent output past max_conn_output or all
 * output past max_inflight_memory. An empty queue always takes it. */
void loop_deliver(loop *L, srv_conn *c, uint64_t id, uint8_t *frame, size_t len) {
  const srv_config *cfg = &L->s->cfg;
  if (frame && len > SRV_SMALL_RESPONSE && c->out_bytes > 0 &&
      (c->out_bytes + len > cfg->max_conn_output || L->mem + len > cfg->max_inflight_memory)) {
    char msg[200];
    snprintf(msg, sizeof msg,
             "response of %zu bytes dropped: %zu bytes of earlier responses "
             "are unread on this connection (limit %" PRIu64
             "); read them "
             "and retry",
             len, c->out_bytes, cfg->max_conn_output);
    free(frame);
    loop_reply_status(L, c, id, PRECIS_E_BUSY, msg);
    return;
  }
  loop_queue_frame(L, c, frame, len);
}

static void log_auth_failure(loop *L, srv_conn *c, bool closing) {
  if (!loop_log_allowed(&L->auth_log_ms, &L->auth_log_dropped)) return;
  srv_warn("connection %" PRIu64 " from %s: authentication failed%s (%" PRIu64
           " similar lines suppressed)",
           c->serial, c->peer, closing ? "; too many attempts, closing" : "", L->auth_log_dropped);
  L->auth_log_dropped = 0;
}

/* ---- requests ---- */

static void handle_auth(loop *L, srv_conn *c, const Precis__V1__Request *req) {
  srv_server *s = L->s;
  uint64_t id = req->id;
  if (!s->token) {
    c->authed = true;
  } else {
    /* wirecheck refused NULs, so strlen is the token's full length */
    const char *tok = req->auth->token;
    c->authed = srv_token_equal(s->token, s->token_len, tok, strlen(tok));
  }
  if (c->authed) {
    c->rd.max_frame = s->cfg.max_frame;
    uint8_t *out = NULL;
    size_t len = 0;
    if (srv_encode_empty_ok(id, &out, &len)) out = NULL;
    loop_queue_frame(L, c, out, len);
    return;
  }
  c->auth_failures++;
  bool enough = c->auth_failures >= (uint32_t)s->cfg.max_auth_failures;
  log_auth_failure(L, c, enough);
  if (enough) {
    char msg[96];
    snprintf(msg, sizeof msg, "%u failed authentication attempts: closing", c->auth_failures);
    loop_reply_status(L, c, id, PRECIS_E_UNAUTHENTICATED, msg);
    loop_start_drain(L, c);
  } else {
    loop_reply_status(L, c, id, PRECIS_E_UNAUTHENTICATED, NULL);
  }
}

/* Hand job to the workers on behalf of c, charging its memory. */
static bool push_job(loop *L, srv_conn *c, srv_job *job) {
  job->conn = c;
  if (!srv_workq_push(L->wq, job)) return false;
  c->inflight++;
  c->inflight_mem += job->mem;
  L->mem += job->mem;
  atomic_fetch_add(&L->s->st.inflight, 1);
  return true;
}

static bool s_preauth(const loop *L, const srv_conn *c) { return L->s->token && !c->authed; }

static void handle_frame(loop *L, srv_conn *c, const uint8_t *p, uint32_t n) {
  srv_server *s = L->s;
  c->last_active_ms = srv_now_ms();
  wirecheck_result chk;
  precis_error err = {0};
  /* a large frame bound for a worker: the loop reads only its envelope and
   * the worker runs the full check (wirecheck walks every field: tens of
   * milliseconds for 16 MiB of tiny repeated messages, time the loop owes
   * every other connection) */
  bool big = n > SRV_DECODE_INLINE && !L->stopping && (c->authed || !s->token);
  int crc = big ? wirecheck_envelope(p, n, &chk, &err) : srv_check_request(p, n, &chk, &err);
  if (big && !crc &&
      (chk.oneof_field == 0 || chk.oneof_field == PRECIS__V1__REQUEST__OP_AUTH ||
       chk.oneof_field == PRECIS__V1__REQUEST__OP_HEALTH ||
       chk.oneof_field == PRECIS__V1__REQUEST__OP_STATS)) {
    big = false; /* answered on the loop: checked there */
    crc = srv_check_request(p, n, &chk, &err);
  }
  if (big && !crc) chk.decoded = 2 * (uint64_t)n; /* the worker's walk bounds it */
  if (crc == PRECIS_E_PROTOCOL) {
    srv_debug("connection %" PRIu64 ": %s", c->serial, err.msg);
    atomic_fetch_add(&s->st.requests, 1);
    loop_reply_status(L, c, chk.id, PRECIS_E_PROTOCOL, err.msg);
    loop_start_drain(L, c);
    return;
  }
  if (crc) {
    atomic_fetch_add(&s->st.requests, 1);
    /* before authentication, only say so */
    if (s->token && !c->authed && chk.oneof_field != PRECIS__V1__REQUEST__OP_AUTH)
      loop_reply_status(L, c, chk.id, PRECIS_E_UNAUTHENTICATED, NULL);
    else
      loop_reply_status(L, c, chk.id, crc, err.msg);
    return;
  }
  bool to_worker = chk.oneof_field != PRECIS__V1__REQUEST__OP_AUTH &&
                   chk.oneof_field != PRECIS__V1__REQUEST__OP_HEALTH &&
                   chk.oneof_field != PRECIS__V1__REQUEST__OP_STATS && !L->stopping &&
                   (c->authed || !s->token);
  if (to_worker && L->mem + chk.decoded > s->cfg.max_inflight_memory) {
    atomic_fetch_add(&s->st.requests, 1);
    char msg[160];
    snprintf(msg, sizeof msg,
             "server memory budget for requests in flight is spent "
             "(%" PRIu64 " MiB); retry later",
             s->cfg.max_inflight_memory >> 20);
    loop_reply_status(L, c, chk.id, PRECIS_E_BUSY, msg);
    return;
  }
  if (to_worker && chk.oneof_field != 0 && n > SRV_DECODE_INLINE) {
    /* decode on a worker: the loop hands over the frame reader's buffer
     * (or, failing that, copies the bytes), so a large batch stalls the
     * other connections neither while protobuf-c allocates nor while
     * megabytes are copied into fresh pages */
    atomic_fetch_add(&s->st.requests, 1);
    srv_job *job = calloc(1, sizeof *job);
    if (job) {
      job->frame_buf = frame_reader_take(&c->rd, p);
      if (job->frame_buf) {
        job->frame = (uint8_t *)p;
      } else if ((job->frame = malloc(n))) {
        memcpy(job->frame, p, n);
      }
    }
    if (job && job->frame) {
      job->frame_len = n;
      job->id = chk.id;
      job->mem = chk.decoded + n;
      job->bulk = true;
      if (push_job(L, c, job)) return;
    }
    if (job) srv_job_free_frame(job);
    free(job);
    loop_reply_status(L, c, chk.id, PRECIS_E_BUSY, NULL);
    return;
  }
  Precis__V1__Request *req = precis__v1__request__unpack(&srv_pb_alloc, n, p);
  if (!req) {
    srv_debug("connection %" PRIu64 ": undecodable request of %u bytes", c->serial, n);
    atomic_fetch_add(&s->st.requests, 1);
    loop_reply_status(L, c, chk.id, PRECIS_E_PROTOCOL, "frame is not a valid precis.v1.Request");
    loop_start_drain(L, c);
    return;
  }
  atomic_fetch_add(&s->st.requests, 1);
  uint64_t id = req->id;
  if (L->stopping) {
    loop_reply_status(L, c, id, PRECIS_E_SHUTTING_DOWN, NULL);
  } else if (req->op_case == PRECIS__V1__REQUEST__OP_AUTH) {
    handle_auth(L, c, req);
  } else if (s->token && !c->authed) {
    loop_reply_status(L, c, id, PRECIS_E_UNAUTHENTICATED, NULL);
  } else if (req->op_case == PRECIS__V1__REQUEST__OP__NOT_SET) {
    uint32_t unknown = 0;
    for (size_t i = 0; i < req->base.n_unknown_fields; i++)
      if (req->base.unknown_fields[i].tag >= 10) unknown = req->base.unknown_fields[i].tag;
    if (unknown) {
      char msg[64];
      snprintf(msg, sizeof msg, "unknown operation (field %u)", unknown);
      loop_reply_status(L, c, id, PRECIS_E_UNIMPLEMENTED, msg);
    } else {
      loop_reply_status(L, c, id, PRECIS_E_INVALID_ARGUMENT, "request has no operation");
    }
  } else if (req->op_case == PRECIS__V1__REQUEST__OP_HEALTH ||
             req->op_case == PRECIS__V1__REQUEST__OP_STATS) {
    uint8_t *out = NULL;
    size_t len = 0;
    int code = srv_dispatch(s, req, &out, &len);
    if (code) atomic_fetch_add(&s->st.errors, 1);
    loop_queue_frame(L, c, out, len);
  } else {
    srv_job *job = calloc(1, sizeof *job);
    if (job) {
      job->req = req;
      job->id = id;
      job->mem = chk.decoded;
      if (push_job(L, c, job)) return; /* the worker frees req */
      free(job);
    }
    loop_reply_status(L, c, id, PRECIS_E_BUSY, NULL);
  }
  precis__v1__request__free_unpacked(req, &srv_pb_alloc);
}

/* ---- fairness: a byte rate per connection ---- */

static int64_t read_burst(const loop *L) {
  uint64_t b = L->s->cfg.max_read_rate / (1000u / SRV_TICK_MS);
  return (int64_t)(b > SRV_READ_BURST_MIN ? b : SRV_READ_BURST_MIN);
}

void loop_read_refill(loop *L, srv_conn *c, uint64_t now) {
  uint64_t rate = L->s->cfg.max_read_rate;
  if (!rate) return;
  if (!c->read_refill_ms) { /* a new connection starts with a full burst */
    c->read_tokens = read_burst(L);
  } else if (now > c->read_refill_ms) {
    uint64_t add = rate * (now - c->read_refill_ms) / 1000u;
    int64_t cap = read_burst(L);
    c->read_tokens = add >= (uint64_t)cap                  ? cap
                     : c->read_tokens + (int64_t)add > cap ? cap
                                                           : c->read_tokens + (int64_t)add;
  }
  c->read_refill_ms = now;
}

/* True when c may read now; else it is marked throttled and on_tick()
 * re-arms its recv once the bucket has refilled. A connection that sends
 * faster than --max-read-rate is thus simply not read for a while: TCP's
 * flow control stops the sender, so its flood costs the server (and the
 * machine) no more than the rate. */
static bool read_allowed(loop *L, srv_conn *c) {
  if (!L->s->cfg.max_read_rate) return true;
  loop_read_refill(L, c, srv_now_ms());
  c->throttled = c->read_tokens <= 0;
  return !c->throttled;
}

/* Decode what can be decoded, re-arm reads and sends, advance closing. */
void loop_conn_pump(loop *L, srv_conn *c) {
  /* read by workers: a read request of a connection that does not read its
   * responses is answered BUSY without being run (loop_run_job) */
  atomic_store_explicit(&c->congested, c->out_bytes >= SRV_OUT_HIGH, memory_order_relaxed);
  if (c->state == SRV_CONN_OPEN) {
    bool need_bytes = false;
    while (c->state == SRV_CONN_OPEN) {
      if (c->inflight >= SRV_CONN_MAX_INFLIGHT || c->out_bytes >= SRV_OUT_HIGH ||
          c->inflight_mem >= SRV_CONN_INFLIGHT_HIGH)
        break; /* resumed by a job completion or a send completion */
      if (!L->stopping && srv_workq_full(L->wq)) {
        loop_stall_add(L, c);
        break;
      }
      const uint8_t *p;
      uint32_t n;
      int rc = frame_reader_next(&c->rd, &p, &n);
      if (rc == PRECIS_OK && !p) {
        need_bytes = true;
        break;
      }
      if (rc != PRECIS_OK) {
        char msg[128];
        uint32_t want = frame_reader_announced(&c->rd);
        if (s_preauth(L, c))
          snprintf(msg, sizeof msg,
                   "frame of %u bytes before authentication exceeds the limit "
                   "of %u bytes",
                   want, c->rd.max_frame);
        else
          snprintf(msg, sizeof msg, "frame of %u bytes exceeds the limit of %u bytes", want,
                   c->rd.max_frame);
        srv_info("connection %" PRIu64 " from %s: %s", c->serial, c->peer, msg);
        loop_reply_status(L, c, 0, PRECIS_E_FRAME_TOO_LARGE, msg);
        loop_start_drain(L, c);
        break;
      }
      handle_frame(L, c, p, n);
    }
    if (c->state == SRV_CONN_OPEN && need_bytes) {
      if (c->peer_eof)
        loop_start_drain(L, c);
      else if (!L->stopping && read_allowed(L, c))
        loop_arm_recv(L, c);
    }
  }
  if (c->state == SRV_CONN_OPEN || c->state == SRV_CONN_DRAINING) {
    loop_arm_send(L, c);
    allow_direct(L, c);
  }
  loop_advance_close(L, c);
}

void loop_resume_stalled(loop *L) {
  while (L->stall_head && !srv_workq_full(L->wq)) {
    srv_conn *c = L->stall_head;
    L->stall_head = c->stall_next;
    if (!L->stall_head) L->stall_tail = NULL;
    c->stall_next = NULL;
    c->on_stall_list = false;
    loop_conn_pump(L, c);
  }
}

void loop_on_recv(loop *L, srv_conn *c, int res) {
  c->recv_armed = false;
  if (c->state == SRV_CONN_CLOSED) return; /* freed by loop_run_closing() */
  if (res == -ECANCELED) {                 /* shutdown cancelled the read */
    if (c->state == SRV_CONN_LINGER)
      loop_close_now(L, c);
    else
      loop_conn_pump(L, c);
    return;
  }
  if (res == -EAGAIN || res == -EINTR) {
    if (c->state == SRV_CONN_LINGER)
      loop_arm_recv(L, c);
    else
      loop_conn_pump(L, c);
    return;
  }
  if (res <= 0) {
    if (res < 0) srv_debug("connection %" PRIu64 ": recv: %s", c->serial, strerror(-res));
    c->peer_eof = true;
    if (res < 0 || c->state == SRV_CONN_LINGER) {
      loop_close_now(L, c);
      return;
    }
    loop_conn_pump(L, c); /* answer what is buffered, then close */
    return;
  }
  atomic_fetch_add(&L->s->st.bytes_in, (uint64_t)res);
  c->read_tokens -= res;
  if (c->state == SRV_CONN_LINGER) {
    loop_arm_recv(L, c); /* discard */
    return;
  }
  if (c->state != SRV_CONN_OPEN) {
    loop_advance_close(L, c); /* draining: input is ignored */
    return;
  }
  /* the frame deadline runs from the first byte of a frame */
  if (!frame_reader_partial(&c->rd)) c->frame_start_ms = srv_now_ms();
  int rc = frame_reader_feed(&c->rd, c->rbuf, (size_t)res);
  if (rc == PRECIS_E_NO_MEMORY) {
    srv_error("connection %" PRIu64 ": out of memory buffering a request", c->serial);
    loop_reply_status(L, c, 0, PRECIS_E_NO_MEMORY, NULL);
    loop_start_drain(L, c);
  } else if (rc == 0 && frame_reader_partial(&c->rd) &&
             frame_reader_announced(&c->rd) > SRV_BIG_FRAME &&
             frame_reader_announced(&c->rd) <= c->rd.max_frame &&
             L->mem + frame_reader_announced(&c->rd) > L->s->cfg.max_inflight_memory) {
    /* do not buffer a large frame while the memory budget is spent */
    char msg[160];
    snprintf(msg, sizeof msg,
             "server memory budget for requests in flight is spent "
             "(%" PRIu64 " MiB); frame of %u bytes refused, retry later",
             L->s->cfg.max_inflight_memory >> 20, frame_reader_announced(&c->rd));
    loop_reply_status(L, c, 0, PRECIS_E_BUSY, msg);
    loop_start_drain(L, c);
  }
  loop_conn_pump(L, c); /* a sticky FRAME_TOO_LARGE is reported by the reader */
}

void loop_on_send(loop *L, srv_conn *c, int res) {
  c->send_armed = false;
  if (c->state == SRV_CONN_CLOSED) return; /* freed by loop_run_closing() */
  if (res == -EAGAIN || res == -EINTR || res == 0) {
    loop_conn_pump(L, c);
    return;
  }
  if (res < 0) {
    srv_debug("connection %" PRIu64 ": send: %s", c->serial, strerror(-res));
    loop_close_now(L, c);
    return;
  }
  atomic_fetch_add(&L->s->st.bytes_out, (uint64_t)res);
  uint64_t now = srv_now_ms();
  c->last_active_ms = now;
  c->send_wait_ms = now;
  size_t before = c->out_bytes;
  srv_conn_sent(c, (size_t)res);
  loop_out_account(L, before, c->out_bytes);
  loop_conn_pump(L, c);
}
