/* srv_loop_int.h: the event loop's state and the functions its files share.
 * Internal to the loop (server/loop*.c, server/job.c); see srv_loop.h.
 *
 *   loop.c       the ring, completions, jobs coming back, shutdown, run
 *   loop_conn.c  connection life cycle, accept and its limits, deadlines
 *   loop_io.c    reading and framing requests (fairness), writing responses
 *   job.c        what a worker does with a request
 *
 * Threads: everything here runs on the loop thread, except loop_run_job()
 * (a worker) which reads only its job and the connection's `congested`. */
#ifndef PRECIS_SERVER_SRV_LOOP_INT_H
#define PRECIS_SERVER_SRV_LOOP_INT_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "srv.h"
#include "srv_conn.h"
#include "srv_workq.h"

#define SRV_RING_ENTRIES  1024
#define SRV_TICK_MS       250
#define SRV_LINGER_MS     2000
#define SRV_MAX_REJECTING 64 /* connections being told BUSY at once */

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
  srv_conn *conns; /* every live connection struct */
  size_t nopen;    /* counted (served) connections */
  size_t nrejecting;
  srv_conn *stall_head, *stall_tail;
  bool stopping;
  uint64_t stop_deadline_ms;
  uint64_t serial;
  /* ---- bounds (issue 11) ---- */
  uint64_t mem;                                   /* decoded requests in flight + unsent output */
  srv_conn *closing;                              /* closed, freed at the end of the iteration */
  size_t ops;                                     /* ring operations in flight (cancels excluded) */
  uint64_t auth_log_ms;                           /* last "authentication failed" line */
  uint64_t auth_log_dropped;                      /* lines suppressed since */
  uint64_t deadline_log_ms, deadline_log_dropped; /* the same for deadlines */
  uint64_t reject_log_ms, reject_log_dropped;     /* and for refused connections */
  /* ---- wake-ups (issue 13), logged at shutdown ---- */
  uint64_t n_wait;         /* io_uring_submit_and_wait calls */
  bool io_seen;            /* this iteration handled I/O or a completion */
  uint64_t poll_until_us;  /* poll the ring until then (--poll-us); 0 = sleep */
  uint64_t n_efd;          /* completions of the workers' eventfd */
  uint64_t n_jobs, n_sent; /* jobs back; of those, answered by the worker */
} loop;

/* ---- loop.c: ring operations ---- */
struct io_uring_sqe *loop_get_sqe(loop *L);
void loop_arm_accept(loop *L);
void loop_arm_recv(loop *L, srv_conn *c);
void loop_arm_send(loop *L, srv_conn *c);
void loop_cancel_op(loop *L, srv_op *op);

/* ---- loop_conn.c: life cycle, accept, deadlines ---- */
void loop_stall_add(loop *L, srv_conn *c);
void loop_stall_remove(loop *L, srv_conn *c);
/* Every change of c->out_bytes goes through here (L->mem is the sum). */
void loop_out_account(loop *L, size_t before, size_t after);
void loop_close_now(loop *L, srv_conn *c);
void loop_start_drain(loop *L, srv_conn *c);
void loop_advance_close(loop *L, srv_conn *c);
void loop_run_closing(loop *L);
bool loop_log_allowed(uint64_t *last_ms, uint64_t *dropped);
void loop_on_accept(loop *L, int res);
void loop_on_tick(loop *L);

/* ---- loop_io.c: requests in, responses out ---- */
void loop_queue_frame(loop *L, srv_conn *c, uint8_t *frame, size_t len);
void loop_reply_status(loop *L, srv_conn *c, uint64_t id, int code, const char *msg);
/* A finished response for request id: queued, or replaced by BUSY when it
 * is large and would exceed the connection's or the server's budget. */
void loop_deliver(loop *L, srv_conn *c, uint64_t id, uint8_t *frame, size_t len);
void loop_conn_pump(loop *L, srv_conn *c);
/* Stop workers writing to c and put a worker's partially sent frame at the
 * head of its output queue; call before queueing or sending. false when c
 * was closed (out of memory). */
bool loop_hold_output(loop *L, srv_conn *c);
void loop_resume_stalled(loop *L);
void loop_on_recv(loop *L, srv_conn *c, int res);
void loop_on_send(loop *L, srv_conn *c, int res);
/* Refill c's read bucket (--max-read-rate) up to now. */
void loop_read_refill(loop *L, srv_conn *c, uint64_t now);

/* ---- job.c: a worker runs a job (srv_job_fn; ctx is the srv_server) ---- */
void loop_run_job(void *ctx, srv_job *job);
/* Group commit on the work queue (srv_workq.h; job.c): which queued
 * upserts join a lead one, and running them together. */
bool loop_job_join(void *ctx, const srv_job *lead, const srv_job *other, size_t *budget);
void loop_run_group(void *ctx, srv_job **jobs, size_t n);

#endif
