/* loop.c: the io_uring event loop (see srv_loop.h and srv_conn.h).
 *
 * Back-pressure: a connection is read only while (a) it has fewer than
 * SRV_CONN_MAX_INFLIGHT requests with the workers, (b) fewer than
 * SRV_OUT_HIGH bytes of responses wait to be sent to it, (c) the decoded
 * size of its requests in flight is under SRV_CONN_INFLIGHT_HIGH, and (d)
 * the work queue has room. Otherwise its recv is not re-armed and its
 * buffered frames stay undecoded; a connection blocked by (d) waits on the
 * stall list and is resumed when workers complete jobs.
 *
 * Memory bounds (docs/SECURITY.md has the arithmetic):
 *   - a request is checked before it is decoded (wirecheck.h: strings,
 *     repeated-field counts, decoded size <= 2 * frame + SRV_DECODE_SLACK);
 *     one over SRV_DECODE_INLINE is checked and decoded on a worker (the
 *     loop reads only its envelope and copies its bytes; it is charged
 *     2 * frame until then), a smaller one here;
 *   - a connection holds at most one frame being received (max_frame;
 *     SRV_PREAUTH_MAX_FRAME before authentication) plus one receive chunk,
 *     requests in flight whose decoded estimates total under
 *     SRV_CONN_INFLIGHT_HIGH plus the one that crossed it, and unsent
 *     responses up to max_conn_output (a response that would exceed it is
 *     replaced by a BUSY status; one always fits into an empty queue);
 *   - over all connections, decoded requests in flight plus unsent
 *     responses stay under max_inflight_memory: requests beyond it are
 *     answered BUSY without being decoded, and large responses beyond it are
 *     replaced by BUSY (L->mem counts both).
 *
 * Deadlines (checked every SRV_TICK_MS): authentication, completing a frame,
 * send progress, idle; see on_tick().
 *
 * Safety: a connection is never freed where it is closed. close_now() marks
 * it CLOSED and puts it on the closing list, which the loop walks once per
 * iteration after every completion has been handled (as libuv's
 * uv__run_closing_handles); it is freed there once no ring operation and no
 * job refers to it. At shutdown every ring operation still in flight is
 * cancelled and reaped before any buffer is freed. */
#include "srv_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "precis/limits.h"
#include "srv_conn.h"
#include "srv_dispatch.h"
#include "srv_limits.h"
#include "srv_log.h"
#include "srv_workq.h"
#include "wirecheck.h"

#define SRV_RING_ENTRIES 1024
#define SRV_TICK_MS 250
#define SRV_LINGER_MS 2000
#define SRV_MAX_REJECTING 64    /* connections being told BUSY at once */

/* Fault-injection builds (tests/support/fault_alloc.c) define this to start
 * failing allocations once the server is up; a no-op otherwise. */
__attribute__((weak)) void srv_fault_arm(void) {}

typedef struct loop {
  srv_server *s;
  struct io_uring ring;
  int lfd, efd, sfd;
  srv_workq *wq;
  srv_op accept_op, efd_op, sig_op, timer_op, ignore_op;
  bool accept_armed, timer_armed;
  uint64_t accept_retry_ms; /* re-arm accept at this time (0 = no) */
  struct sockaddr_storage acc_addr;
  socklen_t acc_len;
  uint64_t efd_buf;
  unsigned char sig_buf[16]; /* signal numbers from the self-pipe */
  struct __kernel_timespec tick;
  srv_conn *conns;          /* every live connection struct */
  size_t nopen;             /* counted (served) connections */
  size_t nrejecting;
  srv_conn *stall_head, *stall_tail;
  bool stopping;
  uint64_t stop_deadline_ms;
  uint64_t serial;
  /* ---- bounds (issue 11) ---- */
  uint64_t mem;              /* decoded requests in flight + unsent output */
  srv_conn *closing;         /* closed, freed at the end of the iteration */
  size_t ops;                /* ring operations in flight (cancels excluded) */
  uint64_t auth_log_ms;      /* last "authentication failed" line */
  uint64_t auth_log_dropped; /* lines suppressed since */
  uint64_t deadline_log_ms, deadline_log_dropped; /* the same for deadlines */
} loop;

static void conn_pump(loop *L, srv_conn *c);

/* ---- ring helpers ---- */

static struct io_uring_sqe *get_sqe(loop *L) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&L->ring);
  while (!sqe) {
    int rc = io_uring_submit(&L->ring);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      srv_error("io_uring_submit: %s", strerror(-rc));
      abort(); /* the loop cannot continue without a ring */
    }
    sqe = io_uring_get_sqe(&L->ring);
  }
  return sqe;
}

static void arm_accept(loop *L) {
  if (L->accept_armed || L->lfd < 0 || L->stopping) return;
  struct io_uring_sqe *sqe = get_sqe(L);
  L->acc_len = sizeof L->acc_addr;
  io_uring_prep_accept(sqe, L->lfd, (struct sockaddr *)&L->acc_addr,
                       &L->acc_len, SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, &L->accept_op);
  L->accept_armed = true;
  L->ops++;
}

static void arm_efd(loop *L) {
  struct io_uring_sqe *sqe = get_sqe(L);
  io_uring_prep_read(sqe, L->efd, &L->efd_buf, sizeof L->efd_buf, 0);
  io_uring_sqe_set_data(sqe, &L->efd_op);
  L->ops++;
}

static void arm_sig(loop *L) {
  struct io_uring_sqe *sqe = get_sqe(L);
  io_uring_prep_read(sqe, L->sfd, &L->sig_buf, sizeof L->sig_buf, 0);
  io_uring_sqe_set_data(sqe, &L->sig_op);
  L->ops++;
}

static void arm_timer(loop *L) {
  struct io_uring_sqe *sqe = get_sqe(L);
  io_uring_prep_timeout(sqe, &L->tick, 0, 0);
  io_uring_sqe_set_data(sqe, &L->timer_op);
  L->timer_armed = true;
  L->ops++;
}

static void cancel_op(loop *L, srv_op *op) {
  struct io_uring_sqe *sqe = get_sqe(L);
  io_uring_prep_cancel(sqe, op, 0);
  io_uring_sqe_set_data(sqe, &L->ignore_op);
}

static void arm_recv(loop *L, srv_conn *c) {
  if (c->recv_armed) return;
  struct io_uring_sqe *sqe = get_sqe(L);
  io_uring_prep_recv(sqe, c->fd, c->rbuf, SRV_RECV_CHUNK, 0);
  io_uring_sqe_set_data(sqe, &c->rop);
  c->recv_armed = true;
  L->ops++;
}

static void arm_send(loop *L, srv_conn *c) {
  if (c->send_armed || !c->out_head) return;
  if (srv_conn_prepare_send(c) == 0) return;
  struct io_uring_sqe *sqe = get_sqe(L);
  io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data(sqe, &c->sop);
  c->send_armed = true;
  L->ops++;
}

/* ---- connection life cycle ---- */

static void stall_remove(loop *L, srv_conn *c) {
  if (!c->on_stall_list) return;
  srv_conn **pp = &L->stall_head, *prev = NULL;
  while (*pp && *pp != c) {
    prev = *pp;
    pp = &(*pp)->stall_next;
  }
  if (*pp) {
    *pp = c->stall_next;
    if (L->stall_tail == c) L->stall_tail = prev;
  }
  c->stall_next = NULL;
  c->on_stall_list = false;
}

static void stall_add(loop *L, srv_conn *c) {
  if (c->on_stall_list) return;
  c->on_stall_list = true;
  c->stall_next = NULL;
  if (L->stall_tail) L->stall_tail->stall_next = c;
  else L->stall_head = c;
  L->stall_tail = c;
}

/* Output accounting: every change of c->out_bytes goes through here so that
 * L->mem stays the sum over connections. */
static void out_account(loop *L, size_t before, size_t after) {
  L->mem += after;
  L->mem -= before <= L->mem ? before : L->mem;
}

static void closing_add(loop *L, srv_conn *c) {
  if (c->on_closing_list) return;
  c->on_closing_list = true;
  c->closing_next = L->closing;
  L->closing = c;
}

/* Free the closed connections nothing refers to any more. Called once per
 * loop iteration, after all completions were handled. */
static void run_closing(loop *L) {
  srv_conn **pp = &L->closing;
  while (*pp) {
    srv_conn *c = *pp;
    if (c->recv_armed || c->send_armed || c->inflight > 0) {
      pp = &c->closing_next;
      continue;
    }
    *pp = c->closing_next;
    stall_remove(L, c);
    if (c->prev) c->prev->next = c->next;
    else L->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->counted) {
      L->nopen--;
      atomic_fetch_sub(&L->s->st.connections, 1);
    }
    if (c->rejected) L->nrejecting--;
    out_account(L, c->out_bytes, 0);
    srv_debug("connection %" PRIu64 " closed", c->serial);
    srv_conn_free(c);
  }
}

/* Close now: pending output is dropped, ring ops are woken; the struct is
 * freed by run_closing() once they are reaped and no job refers to it. */
static void close_now(loop *L, srv_conn *c) {
  if (c->state != SRV_CONN_CLOSED) {
    c->state = SRV_CONN_CLOSED;
    size_t before = c->out_bytes;
    srv_conn_discard_output(c);
    out_account(L, before, c->out_bytes);
    stall_remove(L, c);
    /* wakes a pending recv (returns 0) and send (fails) */
    if (c->recv_armed || c->send_armed) shutdown(c->fd, SHUT_RDWR);
  }
  closing_add(L, c);
}

/* Stop reading requests; close once everything in flight is answered. */
static void start_drain(loop *L, srv_conn *c) {
  (void)L;
  if (c->state == SRV_CONN_OPEN) c->state = SRV_CONN_DRAINING;
}

static void advance_close(loop *L, srv_conn *c) {
  if (c->state == SRV_CONN_DRAINING && c->inflight == 0 && !c->out_head &&
      !c->send_armed) {
    if (c->peer_eof) {
      close_now(L, c);
      return;
    }
    /* Shut our side, then discard input for a moment so that the peer reads
     * our last response rather than a reset caused by unread data. */
    shutdown(c->fd, SHUT_WR);
    c->state = SRV_CONN_LINGER;
    uint64_t now = srv_now_ms();
    c->linger_until_ms = now + (L->stopping ? SRV_LINGER_MS / 4 : SRV_LINGER_MS);
    arm_recv(L, c);
  }
}

/* Queue a frame produced for c (ownership taken). */
static void queue_frame(loop *L, srv_conn *c, uint8_t *frame, size_t len) {
  if (c->state != SRV_CONN_OPEN && c->state != SRV_CONN_DRAINING) {
    free(frame);
    return;
  }
  size_t before = c->out_bytes;
  if (!frame || !srv_conn_queue(c, frame, len)) {
    srv_error("connection %" PRIu64 ": out of memory queueing a response",
              c->serial);
    close_now(L, c);
    return;
  }
  if (before == 0) c->send_wait_ms = srv_now_ms();
  out_account(L, before, c->out_bytes);
}

static void reply_status(loop *L, srv_conn *c, uint64_t id, int code,
                         const char *msg) {
  uint8_t *out = NULL;
  size_t len = 0;
  if (code) atomic_fetch_add(&L->s->st.errors, 1);
  if (srv_encode_status(id, code, msg, &out, &len)) out = NULL;
  queue_frame(L, c, out, len);
}

/* A finished response: queued, or replaced by BUSY when it is large and
 * would push this connection's unsent output past max_conn_output or all
 * output past max_inflight_memory. An empty queue always takes it. */
static void deliver(loop *L, srv_conn *c, uint64_t id, uint8_t *frame,
                    size_t len) {
  const srv_config *cfg = &L->s->cfg;
  if (frame && len > SRV_SMALL_RESPONSE && c->out_bytes > 0 &&
      (c->out_bytes + len > cfg->max_conn_output ||
       L->mem + len > cfg->max_inflight_memory)) {
    char msg[200];
    snprintf(msg, sizeof msg,
             "response of %zu bytes dropped: %zu bytes of earlier responses "
             "are unread on this connection (limit %" PRIu64 "); read them "
             "and retry",
             len, c->out_bytes, cfg->max_conn_output);
    free(frame);
    reply_status(L, c, id, PRECIS_E_BUSY, msg);
    return;
  }
  queue_frame(L, c, frame, len);
}

/* Rate limit for lines one client can provoke at will (failed auths,
 * deadline closes): true when a line may be written now; *dropped counts
 * the lines suppressed since the last one (reported and reset by it). */
static bool log_allowed(uint64_t *last_ms, uint64_t *dropped) {
  uint64_t now = srv_now_ms();
  if (*last_ms && now - *last_ms < SRV_AUTH_LOG_INTERVAL_MS) {
    (*dropped)++;
    return false;
  }
  *last_ms = now;
  return true;
}

static void log_auth_failure(loop *L, srv_conn *c, bool closing) {
  if (!log_allowed(&L->auth_log_ms, &L->auth_log_dropped)) return;
  srv_warn("connection %" PRIu64 " from %s: authentication failed%s (%" PRIu64
           " similar lines suppressed)",
           c->serial, c->peer, closing ? "; too many attempts, closing" : "",
           L->auth_log_dropped);
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
    queue_frame(L, c, out, len);
    return;
  }
  c->auth_failures++;
  bool enough = c->auth_failures >= (uint32_t)s->cfg.max_auth_failures;
  log_auth_failure(L, c, enough);
  if (enough) {
    char msg[96];
    snprintf(msg, sizeof msg, "%u failed authentication attempts: closing",
             c->auth_failures);
    reply_status(L, c, id, PRECIS_E_UNAUTHENTICATED, msg);
    start_drain(L, c);
  } else {
    reply_status(L, c, id, PRECIS_E_UNAUTHENTICATED, NULL);
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

static bool s_preauth(const loop *L, const srv_conn *c) {
  return L->s->token && !c->authed;
}

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
  if (big && !crc && (chk.oneof_field == 0 || chk.oneof_field == PRECIS__V1__REQUEST__OP_AUTH ||
                      chk.oneof_field == PRECIS__V1__REQUEST__OP_HEALTH ||
                      chk.oneof_field == PRECIS__V1__REQUEST__OP_STATS)) {
    big = false; /* answered on the loop: checked there */
    crc = srv_check_request(p, n, &chk, &err);
  }
  if (big && !crc) chk.decoded = 2 * (uint64_t)n; /* the worker's walk bounds it */
  if (crc == PRECIS_E_PROTOCOL) {
    srv_debug("connection %" PRIu64 ": %s", c->serial, err.msg);
    atomic_fetch_add(&s->st.requests, 1);
    reply_status(L, c, chk.id, PRECIS_E_PROTOCOL, err.msg);
    start_drain(L, c);
    return;
  }
  if (crc) {
    atomic_fetch_add(&s->st.requests, 1);
    /* before authentication, only say so */
    if (s->token && !c->authed &&
        chk.oneof_field != PRECIS__V1__REQUEST__OP_AUTH)
      reply_status(L, c, chk.id, PRECIS_E_UNAUTHENTICATED, NULL);
    else
      reply_status(L, c, chk.id, crc, err.msg);
    return;
  }
  bool to_worker = chk.oneof_field != PRECIS__V1__REQUEST__OP_AUTH &&
                   chk.oneof_field != PRECIS__V1__REQUEST__OP_HEALTH &&
                   chk.oneof_field != PRECIS__V1__REQUEST__OP_STATS &&
                   !L->stopping && (c->authed || !s->token);
  if (to_worker && L->mem + chk.decoded > s->cfg.max_inflight_memory) {
    atomic_fetch_add(&s->st.requests, 1);
    char msg[160];
    snprintf(msg, sizeof msg,
             "server memory budget for requests in flight is spent "
             "(%" PRIu64 " MiB); retry later",
             s->cfg.max_inflight_memory >> 20);
    reply_status(L, c, chk.id, PRECIS_E_BUSY, msg);
    return;
  }
  if (to_worker && chk.oneof_field != 0 && n > SRV_DECODE_INLINE) {
    /* decode on a worker: the loop only copies the bytes, so a large batch
     * does not stall the other connections while protobuf-c allocates */
    atomic_fetch_add(&s->st.requests, 1);
    uint8_t *copy = malloc(n);
    srv_job *job = copy ? calloc(1, sizeof *job) : NULL;
    if (job) {
      memcpy(copy, p, n);
      job->frame = copy;
      job->frame_len = n;
      job->id = chk.id;
      job->mem = chk.decoded + n;
      if (push_job(L, c, job)) return;
      free(job);
    }
    free(copy);
    reply_status(L, c, chk.id, PRECIS_E_BUSY, NULL);
    return;
  }
  Precis__V1__Request *req = precis__v1__request__unpack(&srv_pb_alloc, n, p);
  if (!req) {
    srv_debug("connection %" PRIu64 ": undecodable request of %u bytes",
              c->serial, n);
    atomic_fetch_add(&s->st.requests, 1);
    reply_status(L, c, chk.id, PRECIS_E_PROTOCOL,
                 "frame is not a valid precis.v1.Request");
    start_drain(L, c);
    return;
  }
  atomic_fetch_add(&s->st.requests, 1);
  uint64_t id = req->id;
  if (L->stopping) {
    reply_status(L, c, id, PRECIS_E_SHUTTING_DOWN, NULL);
  } else if (req->op_case == PRECIS__V1__REQUEST__OP_AUTH) {
    handle_auth(L, c, req);
  } else if (s->token && !c->authed) {
    reply_status(L, c, id, PRECIS_E_UNAUTHENTICATED, NULL);
  } else if (req->op_case == PRECIS__V1__REQUEST__OP__NOT_SET) {
    uint32_t unknown = 0;
    for (size_t i = 0; i < req->base.n_unknown_fields; i++)
      if (req->base.unknown_fields[i].tag >= 10) unknown = req->base.unknown_fields[i].tag;
    if (unknown) {
      char msg[64];
      snprintf(msg, sizeof msg, "unknown operation (field %u)", unknown);
      reply_status(L, c, id, PRECIS_E_UNIMPLEMENTED, msg);
    } else {
      reply_status(L, c, id, PRECIS_E_INVALID_ARGUMENT,
                   "request has no operation");
    }
  } else if (req->op_case == PRECIS__V1__REQUEST__OP_HEALTH ||
             req->op_case == PRECIS__V1__REQUEST__OP_STATS) {
    uint8_t *out = NULL;
    size_t len = 0;
    int code = srv_dispatch(s, req, &out, &len);
    if (code) atomic_fetch_add(&s->st.errors, 1);
    queue_frame(L, c, out, len);
  } else {
    srv_job *job = calloc(1, sizeof *job);
    if (job) {
      job->req = req;
      job->id = id;
      job->mem = chk.decoded;
      if (push_job(L, c, job)) return; /* the worker frees req */
      free(job);
    }
    reply_status(L, c, id, PRECIS_E_BUSY, NULL);
  }
  precis__v1__request__free_unpacked(req, &srv_pb_alloc);
}

/* Decode what can be decoded, re-arm reads and sends, advance closing. */
static void conn_pump(loop *L, srv_conn *c) {
  /* read by workers: a read request of a connection that does not read its
   * responses is answered BUSY without being run (run_job) */
  atomic_store_explicit(&c->congested, c->out_bytes >= SRV_OUT_HIGH,
                        memory_order_relaxed);
  if (c->state == SRV_CONN_OPEN) {
    bool need_bytes = false;
    while (c->state == SRV_CONN_OPEN) {
      if (c->inflight >= SRV_CONN_MAX_INFLIGHT ||
          c->out_bytes >= SRV_OUT_HIGH ||
          c->inflight_mem >= SRV_CONN_INFLIGHT_HIGH)
        break; /* resumed by a job completion or a send completion */
      if (!L->stopping && srv_workq_full(L->wq)) {
        stall_add(L, c);
        break;
      }
      const uint8_t *p;
      uint32_t n;
      int rc = frame_reader_next(&c->rd, &p, &n);
      if (rc == 0) {
        need_bytes = true;
        break;
      }
      if (rc < 0) {
        char msg[128];
        uint32_t want = frame_reader_announced(&c->rd);
        if (s_preauth(L, c))
          snprintf(msg, sizeof msg,
                   "frame of %u bytes before authentication exceeds the limit "
                   "of %u bytes", want, c->rd.max_frame);
        else
          snprintf(msg, sizeof msg,
                   "frame of %u bytes exceeds the limit of %u bytes", want,
                   c->rd.max_frame);
        srv_info("connection %" PRIu64 " from %s: %s", c->serial, c->peer, msg);
        reply_status(L, c, 0, PRECIS_E_FRAME_TOO_LARGE, msg);
        start_drain(L, c);
        break;
      }
      handle_frame(L, c, p, n);
    }
    if (c->state == SRV_CONN_OPEN && need_bytes) {
      if (c->peer_eof) start_drain(L, c);
      else if (!L->stopping) arm_recv(L, c);
    }
  }
  if (c->state == SRV_CONN_OPEN || c->state == SRV_CONN_DRAINING) arm_send(L, c);
  advance_close(L, c);
}

static void resume_stalled(loop *L) {
  while (L->stall_head && !srv_workq_full(L->wq)) {
    srv_conn *c = L->stall_head;
    L->stall_head = c->stall_next;
    if (!L->stall_head) L->stall_tail = NULL;
    c->stall_next = NULL;
    c->on_stall_list = false;
    conn_pump(L, c);
  }
}

/* ---- completions ---- */

static void on_accept(loop *L, int res) {
  srv_server *s = L->s;
  L->accept_armed = false;
  if (L->stopping) { /* cancelled (or raced with the cancel) */
    if (res >= 0) close(res);
    if (L->lfd >= 0) close(L->lfd);
    L->lfd = -1;
    return;
  }
  if (res >= 0) {
    int fd = res;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bool reject = L->nopen >= (size_t)s->cfg.max_connections;
    if (reject && L->nrejecting >= SRV_MAX_REJECTING) {
      close(fd);
    } else {
      uint32_t first_frame = s->cfg.max_frame;
      if (s->token && first_frame > SRV_PREAUTH_MAX_FRAME)
        first_frame = SRV_PREAUTH_MAX_FRAME; /* raised by a good auth */
      srv_conn *c = srv_conn_new(fd, first_frame, s->token == NULL);
      if (!c) {
        srv_error("out of memory accepting a connection");
        close(fd);
      } else {
        c->serial = ++L->serial;
        c->last_active_ms = c->accepted_ms = srv_now_ms();
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (L->acc_addr.ss_family == AF_INET) {
          struct sockaddr_in *a = (struct sockaddr_in *)&L->acc_addr;
          inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
          port = ntohs(a->sin_port);
        } else if (L->acc_addr.ss_family == AF_INET6) {
          struct sockaddr_in6 *a = (struct sockaddr_in6 *)&L->acc_addr;
          inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
          port = ntohs(a->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
        c->next = L->conns;
        if (L->conns) L->conns->prev = c;
        L->conns = c;
        if (reject) {
          c->rejected = true;
          L->nrejecting++;
          srv_warn("connection from %s refused: %d connections open (limit)",
                   c->peer, s->cfg.max_connections);
          char msg[96];
          snprintf(msg, sizeof msg, "too many connections (limit %d)",
                   s->cfg.max_connections);
          reply_status(L, c, 0, PRECIS_E_BUSY, msg);
          start_drain(L, c);
        } else {
          c->counted = true;
          L->nopen++;
          atomic_fetch_add(&s->st.connections, 1);
          atomic_fetch_add(&s->st.connections_total, 1);
          srv_debug("connection %" PRIu64 " from %s", c->serial, c->peer);
        }
        conn_pump(L, c);
      }
    }
  } else if (res != -EINTR && res != -EAGAIN && res != -ECONNABORTED &&
             res != -EPROTO && res != -ENETDOWN && res != -EHOSTUNREACH) {
    /* EMFILE, ENFILE, ENOBUFS, ...: retry on a later tick */
    srv_warn("accept: %s; retrying shortly", strerror(-res));
    L->accept_retry_ms = srv_now_ms() + 1000;
    return;
  }
  arm_accept(L);
}

static void on_recv(loop *L, srv_conn *c, int res) {
  c->recv_armed = false;
  if (c->state == SRV_CONN_CLOSED) return; /* freed by run_closing() */
  if (res == -ECANCELED) { /* shutdown cancelled the read */
    if (c->state == SRV_CONN_LINGER) close_now(L, c);
    else conn_pump(L, c);
    return;
  }
  if (res == -EAGAIN || res == -EINTR) {
    if (c->state == SRV_CONN_LINGER) arm_recv(L, c);
    else conn_pump(L, c);
    return;
  }
  if (res <= 0) {
    if (res < 0)
      srv_debug("connection %" PRIu64 ": recv: %s", c->serial, strerror(-res));
    c->peer_eof = true;
    if (res < 0 || c->state == SRV_CONN_LINGER) {
      close_now(L, c);
      return;
    }
    conn_pump(L, c); /* answer what is buffered, then close */
    return;
  }
  atomic_fetch_add(&L->s->st.bytes_in, (uint64_t)res);
  if (c->state == SRV_CONN_LINGER) {
    arm_recv(L, c); /* discard */
    return;
  }
  if (c->state != SRV_CONN_OPEN) {
    advance_close(L, c); /* draining: input is ignored */
    return;
  }
  /* the frame deadline runs from the first byte of a frame */
  if (!frame_reader_partial(&c->rd)) c->frame_start_ms = srv_now_ms();
  int rc = frame_reader_feed(&c->rd, c->rbuf, (size_t)res);
  if (rc == PRECIS_E_NO_MEMORY) {
    srv_error("connection %" PRIu64 ": out of memory buffering a request",
              c->serial);
    reply_status(L, c, 0, PRECIS_E_NO_MEMORY, NULL);
    start_drain(L, c);
  } else if (rc == 0 && frame_reader_partial(&c->rd) &&
             frame_reader_announced(&c->rd) > SRV_BIG_FRAME &&
             frame_reader_announced(&c->rd) <= c->rd.max_frame &&
             L->mem + frame_reader_announced(&c->rd) >
                 L->s->cfg.max_inflight_memory) {
    /* do not buffer a large frame while the memory budget is spent */
    char msg[160];
    snprintf(msg, sizeof msg,
             "server memory budget for requests in flight is spent "
             "(%" PRIu64 " MiB); frame of %u bytes refused, retry later",
             L->s->cfg.max_inflight_memory >> 20,
             frame_reader_announced(&c->rd));
    reply_status(L, c, 0, PRECIS_E_BUSY, msg);
    start_drain(L, c);
  }
  conn_pump(L, c); /* a sticky FRAME_TOO_LARGE is reported by the reader */
}

static void on_send(loop *L, srv_conn *c, int res) {
  c->send_armed = false;
  if (c->state == SRV_CONN_CLOSED) return; /* freed by run_closing() */
  if (res == -EAGAIN || res == -EINTR || res == 0) {
    conn_pump(L, c);
    return;
  }
  if (res < 0) {
    srv_debug("connection %" PRIu64 ": send: %s", c->serial, strerror(-res));
    close_now(L, c);
    return;
  }
  atomic_fetch_add(&L->s->st.bytes_out, (uint64_t)res);
  uint64_t now = srv_now_ms();
  c->last_active_ms = now;
  c->send_wait_ms = now;
  size_t before = c->out_bytes;
  srv_conn_sent(c, (size_t)res);
  out_account(L, before, c->out_bytes);
  conn_pump(L, c);
}

static void on_jobs(loop *L) {
  srv_job *j = srv_workq_take_done(L->wq);
  while (j) {
    srv_job *next = j->next;
    srv_conn *c = j->conn;
    c->inflight--;
    c->inflight_mem -= j->mem <= c->inflight_mem ? j->mem : c->inflight_mem;
    L->mem -= j->mem <= L->mem ? j->mem : L->mem;
    atomic_fetch_sub(&L->s->st.inflight, 1);
    if (j->code) atomic_fetch_add(&L->s->st.errors, 1);
    if (c->state == SRV_CONN_CLOSED) {
      srv_job_free(j); /* c is freed by run_closing() */
    } else {
      deliver(L, c, j->id, j->out, j->out_len);
      j->out = NULL;
      srv_job_free(j);
      conn_pump(L, c);
    }
    j = next;
  }
}

static void begin_shutdown(loop *L, const char *why) {
  uint64_t now = srv_now_ms();
  if (L->stopping) {
    srv_info("%s again: stopping now", why);
    L->stop_deadline_ms = now;
    return;
  }
  L->stopping = true;
  L->stop_deadline_ms = now + (uint64_t)L->s->cfg.shutdown_grace_s * 1000u;
  srv_info("%s: shutting down (%zu connections, %" PRIu64 " requests in flight)",
           why, L->nopen, (uint64_t)atomic_load(&L->s->st.inflight));
  if (L->accept_armed) {
    cancel_op(L, &L->accept_op);
  } else if (L->lfd >= 0) {
    close(L->lfd);
    L->lfd = -1;
  }
  for (srv_conn *c = L->conns, *n; c; c = n) {
    n = c->next;
    if (c->state != SRV_CONN_OPEN) continue;
    conn_pump(L, c); /* buffered requests are answered SHUTTING_DOWN */
    if (c->state == SRV_CONN_OPEN) {
      if (c->recv_armed && !c->cancel_sent) {
        cancel_op(L, &c->rop);
        c->cancel_sent = true;
      }
      start_drain(L, c);
      advance_close(L, c);
    }
  }
}

static void log_deadline(loop *L, srv_conn *c, const char *what, int secs) {
  if (!log_allowed(&L->deadline_log_ms, &L->deadline_log_dropped)) return;
  srv_info("connection %" PRIu64 " from %s: %s for %d s: closing (%" PRIu64
           " similar lines suppressed)",
           c->serial, c->peer, what, secs, L->deadline_log_dropped);
  L->deadline_log_dropped = 0;
}

static void on_tick(loop *L) {
  uint64_t now = srv_now_ms();
  const srv_config *cfg = &L->s->cfg;
  if (L->accept_retry_ms && now >= L->accept_retry_ms) {
    L->accept_retry_ms = 0;
    arm_accept(L);
  }
  uint64_t idle_ms = (uint64_t)cfg->idle_timeout_s * 1000u;
  uint64_t auth_ms = (uint64_t)cfg->auth_timeout_s * 1000u;
  uint64_t frame_ms = (uint64_t)cfg->frame_timeout_s * 1000u;
  uint64_t send_ms = (uint64_t)cfg->send_timeout_s * 1000u;
  for (srv_conn *c = L->conns, *n; c; c = n) {
    n = c->next;
    if (c->state == SRV_CONN_CLOSED) continue;
    if (c->state == SRV_CONN_LINGER) {
      if (now >= c->linger_until_ms) close_now(L, c);
      continue;
    }
    if (send_ms && c->out_head && now - c->send_wait_ms >= send_ms) {
      /* the client does not read its responses */
      log_deadline(L, c, "no send progress", cfg->send_timeout_s);
      close_now(L, c);
    } else if (auth_ms && L->s->token && !c->authed && !c->rejected &&
               now - c->accepted_ms >= auth_ms) {
      log_deadline(L, c, "not authenticated", cfg->auth_timeout_s);
      close_now(L, c);
    } else if (frame_ms && c->state == SRV_CONN_OPEN && c->recv_armed &&
               frame_reader_partial(&c->rd) &&
               now - c->frame_start_ms >= frame_ms) {
      log_deadline(L, c, "frame incomplete", cfg->frame_timeout_s);
      char msg[96];
      snprintf(msg, sizeof msg, "frame not completed within %d s",
               cfg->frame_timeout_s);
      reply_status(L, c, 0, PRECIS_E_TIMEOUT, msg);
      start_drain(L, c);
      conn_pump(L, c);
    } else if (idle_ms && c->state == SRV_CONN_OPEN && c->inflight == 0 &&
               !c->out_head && !c->on_stall_list &&
               !frame_reader_partial(&c->rd) &&
               now - c->last_active_ms >= idle_ms) {
      log_deadline(L, c, "idle", cfg->idle_timeout_s);
      close_now(L, c);
    }
  }
}

static void handle_cqe(loop *L, srv_op *op, int res) {
  if (!op) return;
  if (op->type != SRV_OP_IGNORE) L->ops--;
  switch (op->type) {
  case SRV_OP_ACCEPT: on_accept(L, res); break;
  case SRV_OP_RECV: on_recv(L, op->conn, res); break;
  case SRV_OP_SEND: on_send(L, op->conn, res); break;
  case SRV_OP_EVENTFD:
    if (res < 0 && res != -EAGAIN && res != -EINTR)
      srv_error("eventfd read: %s", strerror(-res));
    arm_efd(L);
    on_jobs(L);
    break;
  case SRV_OP_SIGNAL:
    for (int i = 0; i < res && i < (int)sizeof L->sig_buf; i++) {
      int sig = L->sig_buf[i];
      begin_shutdown(L, sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM"
                                                                  : "signal");
    }
    if (res > 0 || res == -EAGAIN || res == -EINTR) arm_sig(L);
    else srv_error("signal pipe read: %s", res ? strerror(-res) : "EOF");
    break;
  case SRV_OP_TIMER:
    L->timer_armed = false;
    on_tick(L);
    arm_timer(L);
    break;
  default: break;
  }
}

/* ---- run ---- */

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

static void run_job(void *ctx, srv_job *job) {
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

/* Shutdown: cancel every ring operation still in flight and reap the
 * completions, so that no recv, send or read can write into a buffer after
 * it is freed. Returns true when nothing is left in flight. */
static bool cancel_and_reap(loop *L) {
  for (srv_conn *c = L->conns; c; c = c->next) {
    if (c->recv_armed) cancel_op(L, &c->rop);
    if (c->send_armed) cancel_op(L, &c->sop);
    if (c->recv_armed || c->send_armed) shutdown(c->fd, SHUT_RDWR);
  }
  if (L->accept_armed) cancel_op(L, &L->accept_op);
  cancel_op(L, &L->efd_op);
  cancel_op(L, &L->sig_op);
  if (L->timer_armed) cancel_op(L, &L->timer_op);
  uint64_t deadline = srv_now_ms() + SRV_REAP_MS;
  while (L->ops > 0 && srv_now_ms() < deadline) {
    struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000LL};
    struct io_uring_cqe *cqe = NULL;
    int rc = io_uring_submit_and_wait_timeout(&L->ring, &cqe, 1, &ts, NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN &&
        rc != -EBUSY)
      break;
    while (io_uring_peek_cqe(&L->ring, &cqe) == 0) {
      srv_op *op = io_uring_cqe_get_data(cqe);
      int res = cqe->res;
      io_uring_cqe_seen(&L->ring, cqe);
      if (!op || op->type == SRV_OP_IGNORE) continue;
      L->ops--;
      switch (op->type) {
      case SRV_OP_RECV: op->conn->recv_armed = false; break;
      case SRV_OP_SEND: op->conn->send_armed = false; break;
      case SRV_OP_ACCEPT:
        L->accept_armed = false;
        if (res >= 0) close(res);
        break;
      case SRV_OP_TIMER: L->timer_armed = false; break;
      default: break;
      }
    }
  }
  return L->ops == 0;
}

int srv_loop_run(srv_server *s, int listen_fd, int sig_fd) {
  loop *L = calloc(1, sizeof *L);
  if (!L) return -1;
  L->s = s;
  L->lfd = listen_fd;
  L->sfd = sig_fd;
  L->accept_op.type = SRV_OP_ACCEPT;
  L->efd_op.type = SRV_OP_EVENTFD;
  L->sig_op.type = SRV_OP_SIGNAL;
  L->timer_op.type = SRV_OP_TIMER;
  L->ignore_op.type = SRV_OP_IGNORE;
  L->tick.tv_sec = SRV_TICK_MS / 1000;
  L->tick.tv_nsec = (long long)(SRV_TICK_MS % 1000) * 1000000LL;

  L->efd = eventfd(0, EFD_CLOEXEC);
  if (L->efd < 0) {
    srv_error("eventfd: %s", strerror(errno));
    close(listen_fd);
    free(L);
    return -1;
  }
  int rc = io_uring_queue_init(SRV_RING_ENTRIES, &L->ring, 0);
  if (rc < 0) {
    srv_error("io_uring_queue_init: %s", strerror(-rc));
    close(listen_fd);
    close(L->efd);
    free(L);
    return -1;
  }
  L->wq = srv_workq_create(s->cfg.workers, (size_t)s->cfg.queue_depth, run_job,
                           s, L->efd);
  if (!L->wq) {
    srv_error("cannot start %d workers", s->cfg.workers);
    io_uring_queue_exit(&L->ring);
    close(listen_fd);
    close(L->efd);
    free(L);
    return -1;
  }

  arm_accept(L);
  arm_efd(L);
  arm_sig(L);
  arm_timer(L);
  srv_fault_arm();

  int result = 0;
  for (;;) {
    if (L->stopping) {
      if (!L->conns && srv_workq_pending(L->wq) == 0 && !L->accept_armed)
        break;
      if (srv_now_ms() >= L->stop_deadline_ms) {
        srv_warn("shutdown grace period over: closing %zu connections",
                 L->nopen + L->nrejecting);
        break;
      }
    }
    rc = io_uring_submit_and_wait(&L->ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY &&
        rc != -ETIME) {
      srv_error("io_uring_submit_and_wait: %s", strerror(-rc));
      result = -1;
      break;
    }
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(&L->ring, &cqe) == 0) {
      srv_op *op = io_uring_cqe_get_data(cqe);
      int res = cqe->res;
      io_uring_cqe_seen(&L->ring, cqe);
      handle_cqe(L, op, res);
    }
    resume_stalled(L);
    run_closing(L);
  }

  /* Workers finish the job they run; what is still queued is dropped. */
  srv_job *left = srv_workq_stop(L->wq);
  while (left) {
    srv_job *n = left->next;
    srv_job_free(left);
    left = n;
  }
  srv_job *done = srv_workq_take_done(L->wq);
  while (done) {
    srv_job *n = done->next;
    srv_job_free(done);
    done = n;
  }
  srv_workq_destroy(L->wq);
  bool reaped = cancel_and_reap(L);
  if (!reaped) {
    /* a buffer the kernel may still write must not be freed: leave the
     * connections and the loop to the process exit */
    srv_error("%zu ring operations did not complete after cancellation; "
              "leaving their buffers allocated", L->ops);
    io_uring_queue_exit(&L->ring);
    if (L->lfd >= 0) close(L->lfd);
    close(L->efd);
    return -1;
  }
  while (L->conns) {
    srv_conn *c = L->conns;
    L->conns = c->next;
    srv_conn_free(c);
  }
  if (L->lfd >= 0) close(L->lfd);
  io_uring_queue_exit(&L->ring);
  close(L->efd);
  free(L);
  return result;
}
