/* loop.c: the io_uring event loop (see srv_loop.h and srv_conn.h).
 *
 * Back-pressure: a connection is read only while (a) it has fewer than
 * SRV_CONN_MAX_INFLIGHT requests with the workers, (b) fewer than
 * SRV_OUT_HIGH bytes of responses wait to be sent to it, (c) the decoded
 * size of its requests in flight is under SRV_CONN_INFLIGHT_HIGH, and (d)
 * the work queue has room, and (e) it is within --max-read-rate (a token
 * bucket, loop_io.c; refilled on each tick). Otherwise its recv is not
 * re-armed and its buffered frames stay undecoded; a connection blocked by
 * (d) waits on the stall list and is resumed when workers complete jobs.
 * Frames over SRV_DECODE_INLINE go to the workers' bulk lane (srv_workq.h).
 *
 * Responses: a worker sends a small one itself when the connection's socket
 * is free (job.c, srv_conn.h direct_ok); otherwise, or when it is large,
 * the loop queues it and sends it with sendmsg.
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
 * send progress, idle; see loop_on_tick().
 *
 * Safety: a connection is never freed where it is closed. loop_close_now() marks
 * it CLOSED and puts it on the closing list, which the loop walks once per
 * iteration after every completion has been handled (as libuv's
 * uv__run_closing_handles); it is freed there once no ring operation and no
 * job refers to it. At shutdown every ring operation still in flight is
 * cancelled and reaped before any buffer is freed. */
#include "srv_loop.h"
#include "srv_loop_int.h"
#include "srv_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
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

/* Fault-injection builds (tests/support/fault_alloc.c) define this to start
 * failing allocations once the server is up; a no-op otherwise. */
__attribute__((weak)) void srv_fault_arm(void) {}

/* ---- ring helpers ---- */

struct io_uring_sqe *loop_get_sqe(loop *L) {
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

void loop_arm_accept(loop *L) {
  if (L->accept_armed || L->lfd < 0 || L->stopping) return;
  struct io_uring_sqe *sqe = loop_get_sqe(L);
  L->acc_len = sizeof L->acc_addr;
  io_uring_prep_accept(sqe, L->lfd, (struct sockaddr *)&L->acc_addr, &L->acc_len, SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, &L->accept_op);
  L->accept_armed = true;
  L->ops++;
}

static void arm_efd(loop *L) {
  struct io_uring_sqe *sqe = loop_get_sqe(L);
  io_uring_prep_read(sqe, L->efd, &L->efd_buf, sizeof L->efd_buf, 0);
  io_uring_sqe_set_data(sqe, &L->efd_op);
  L->ops++;
}

static void arm_sig(loop *L) {
  struct io_uring_sqe *sqe = loop_get_sqe(L);
  io_uring_prep_read(sqe, L->sfd, &L->sig_buf, sizeof L->sig_buf, 0);
  io_uring_sqe_set_data(sqe, &L->sig_op);
  L->ops++;
}

static void arm_timer(loop *L) {
  struct io_uring_sqe *sqe = loop_get_sqe(L);
  io_uring_prep_timeout(sqe, &L->tick, 0, 0);
  io_uring_sqe_set_data(sqe, &L->timer_op);
  L->timer_armed = true;
  L->ops++;
}

void loop_cancel_op(loop *L, srv_op *op) {
  struct io_uring_sqe *sqe = loop_get_sqe(L);
  io_uring_prep_cancel(sqe, op, 0);
  io_uring_sqe_set_data(sqe, &L->ignore_op);
}

void loop_arm_recv(loop *L, srv_conn *c) {
  if (c->recv_armed) return;
  struct io_uring_sqe *sqe = loop_get_sqe(L);
  io_uring_prep_recv(sqe, c->fd, c->rbuf, SRV_RECV_CHUNK, 0);
  io_uring_sqe_set_data(sqe, &c->rop);
  c->recv_armed = true;
  L->ops++;
}

void loop_arm_send(loop *L, srv_conn *c) {
  if (c->send_armed) return;
  if (!loop_hold_output(L, c)) return; /* a worker's unsent rest goes first */
  if (!c->out_head) return;
  if (srv_conn_prepare_send(c) == 0) return;
  struct io_uring_sqe *sqe = loop_get_sqe(L);
  io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data(sqe, &c->sop);
  c->send_armed = true;
  L->ops++;
}

static void on_jobs(loop *L) {
  srv_job *j = srv_workq_take_done(L->wq);
  while (j) {
    srv_job *next = j->next;
    srv_conn *c = j->conn;
    L->n_jobs++;
    c->inflight--;
    c->inflight_mem -= j->mem <= c->inflight_mem ? j->mem : c->inflight_mem;
    L->mem -= j->mem <= L->mem ? j->mem : L->mem;
    atomic_fetch_sub(&L->s->st.inflight, 1);
    if (j->code) atomic_fetch_add(&L->s->st.errors, 1);
    if (c->state == SRV_CONN_CLOSED) {
      srv_job_free(j);    /* c is freed by loop_run_closing() */
    } else if (j->sent) { /* the worker sent it (srv_conn.h, direct_ok) */
      L->n_sent++;
      c->last_active_ms = srv_now_ms();
      srv_job_free(j);
      loop_conn_pump(L, c);
    } else {
      loop_deliver(L, c, j->id, j->out, j->out_len);
      j->out = NULL;
      srv_job_free(j);
      loop_conn_pump(L, c);
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
  srv_info("%s: shutting down (%zu connections, %" PRIu64 " requests in flight)", why, L->nopen,
           (uint64_t)atomic_load(&L->s->st.inflight));
  if (L->accept_armed) {
    loop_cancel_op(L, &L->accept_op);
  } else if (L->lfd >= 0) {
    close(L->lfd);
    L->lfd = -1;
  }
  for (srv_conn *c = L->conns, *n; c; c = n) {
    n = c->next;
    if (c->state != SRV_CONN_OPEN) continue;
    loop_conn_pump(L, c); /* buffered requests are answered SHUTTING_DOWN */
    if (c->state == SRV_CONN_OPEN) {
      if (c->recv_armed && !c->cancel_sent) {
        loop_cancel_op(L, &c->rop);
        c->cancel_sent = true;
      }
      loop_start_drain(L, c);
      loop_advance_close(L, c);
    }
  }
}

static void handle_cqe(loop *L, srv_op *op, int res) {
  if (!op) return;
  if (op->type != SRV_OP_IGNORE) L->ops--;
  if (op->type == SRV_OP_ACCEPT || op->type == SRV_OP_RECV || op->type == SRV_OP_SEND ||
      op->type == SRV_OP_EVENTFD)
    L->io_seen = true;
  switch (op->type) {
    case SRV_OP_ACCEPT:
      loop_on_accept(L, res);
      break;
    case SRV_OP_RECV:
      loop_on_recv(L, op->conn, res);
      break;
    case SRV_OP_SEND:
      loop_on_send(L, op->conn, res);
      break;
    case SRV_OP_EVENTFD:
      if (res < 0 && res != -EAGAIN && res != -EINTR) srv_error("eventfd read: %s", strerror(-res));
      L->n_efd++;
      arm_efd(L);
      on_jobs(L);
      break;
    case SRV_OP_SIGNAL:
      for (int i = 0; i < res && i < (int)sizeof L->sig_buf; i++) {
        int sig = L->sig_buf[i];
        begin_shutdown(L, sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal");
      }
      if (res > 0 || res == -EAGAIN || res == -EINTR)
        arm_sig(L);
      else
        srv_error("signal pipe read: %s", res ? strerror(-res) : "EOF");
      break;
    case SRV_OP_TIMER:
      L->timer_armed = false;
      loop_on_tick(L);
      arm_timer(L);
      break;
    default:
      break;
  }
}

/* --poll-us (srv_limits.h): for poll_us after the last iteration that
 * handled I/O, look for a completion before sleeping, yielding the CPU to
 * any runnable thread (a worker, the client) between looks. On a machine
 * whose idle CPUs halt, waking a sleeping thread costs tens of
 * microseconds; a request in flight on a busy connection then finds the
 * loop awake. An idle server never polls. */
static void poll_ring(loop *L) {
  uint64_t now = srv_now_us();
  if (L->io_seen) {
    L->io_seen = false;
    L->poll_until_us = L->s->cfg.poll_us > 0 ? now + (uint64_t)L->s->cfg.poll_us : 0;
  }
  if (!L->poll_until_us || L->stopping) return;
  struct io_uring_cqe *cqe;
  io_uring_submit(&L->ring);
  while (now < L->poll_until_us) {
    if (io_uring_peek_cqe(&L->ring, &cqe) == 0) {
      atomic_fetch_add_explicit(&L->s->st.loop_poll_hits, 1, memory_order_relaxed);
      return;
    }
    sched_yield();
    now = srv_now_us();
  }
  L->poll_until_us = 0;
  atomic_fetch_add_explicit(&L->s->st.loop_poll_misses, 1, memory_order_relaxed);
}

/* Shutdown: cancel every ring operation still in flight and reap the
 * completions, so that no recv, send or read can write into a buffer after
 * it is freed. Returns true when nothing is left in flight. */
static bool cancel_and_reap(loop *L) {
  for (srv_conn *c = L->conns; c; c = c->next) {
    if (c->recv_armed) loop_cancel_op(L, &c->rop);
    if (c->send_armed) loop_cancel_op(L, &c->sop);
    if (c->recv_armed || c->send_armed) shutdown(c->fd, SHUT_RDWR);
  }
  if (L->accept_armed) loop_cancel_op(L, &L->accept_op);
  loop_cancel_op(L, &L->efd_op);
  loop_cancel_op(L, &L->sig_op);
  if (L->timer_armed) loop_cancel_op(L, &L->timer_op);
  uint64_t deadline = srv_now_ms() + SRV_REAP_MS;
  while (L->ops > 0 && srv_now_ms() < deadline) {
    struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000LL};
    struct io_uring_cqe *cqe = NULL;
    int rc = io_uring_submit_and_wait_timeout(&L->ring, &cqe, 1, &ts, NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) break;
    while (io_uring_peek_cqe(&L->ring, &cqe) == 0) {
      srv_op *op = io_uring_cqe_get_data(cqe);
      int res = cqe->res;
      io_uring_cqe_seen(&L->ring, cqe);
      if (!op || op->type == SRV_OP_IGNORE) continue;
      L->ops--;
      switch (op->type) {
        case SRV_OP_RECV:
          op->conn->recv_armed = false;
          break;
        case SRV_OP_SEND:
          op->conn->send_armed = false;
          break;
        case SRV_OP_ACCEPT:
          L->accept_armed = false;
          if (res >= 0) close(res);
          break;
        case SRV_OP_TIMER:
          L->timer_armed = false;
          break;
        default:
          break;
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
  L->wq = srv_workq_create(s->cfg.workers, s->cfg.bulk_workers, (size_t)s->cfg.queue_depth,
                           loop_run_job, s, L->efd);
  if (!L->wq) {
    srv_error("cannot start %d workers", s->cfg.workers);
    io_uring_queue_exit(&L->ring);
    close(listen_fd);
    close(L->efd);
    free(L);
    return -1;
  }
  srv_workq_set_group(L->wq, loop_job_join, loop_run_group);

  loop_arm_accept(L);
  arm_efd(L);
  arm_sig(L);
  arm_timer(L);
  srv_fault_arm();

  int result = 0;
  for (;;) {
    if (L->stopping) {
      if (!L->conns && srv_workq_pending(L->wq) == 0 && !L->accept_armed) break;
      if (srv_now_ms() >= L->stop_deadline_ms) {
        srv_warn("shutdown grace period over: closing %zu connections", L->nopen + L->nrejecting);
        break;
      }
    }
    poll_ring(L);
    L->n_wait++;
    {
      struct io_uring_cqe *ready;
      if (io_uring_peek_cqe(&L->ring, &ready) != 0)
        atomic_fetch_add_explicit(&L->s->st.loop_sleeps, 1, memory_order_relaxed);
    }
    rc = io_uring_submit_and_wait(&L->ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) {
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
    loop_resume_stalled(L);
    loop_run_closing(L);
  }

  srv_info("loop: %" PRIu64 " waits, %" PRIu64 " eventfd wake-ups for %" PRIu64
           " requests to workers, %" PRIu64 " of them answered by the worker",
           L->n_wait, L->n_efd, L->n_jobs, L->n_sent);
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
    srv_error(
        "%zu ring operations did not complete after cancellation; "
        "leaving their buffers allocated",
        L->ops);
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
