/* srv_workq.h: the bounded request queue and its worker threads.
 *
 * Only the event loop pushes jobs (so "not full" checked by the loop stays
 * true until its own push). Workers run the job function, then append the
 * job to a locked completion list and signal the loop's eventfd. The loop
 * collects completions with srv_workq_take_done(). Memory is bounded by the
 * queue capacity: the loop stops decoding requests while it is full.
 *
 * Two lanes: bulk jobs (large frames, decoded by the worker) and the rest.
 * At most `bulk_workers` workers run bulk jobs at once, so with two or more
 * workers at least one is always free for small requests (a fast lane): a
 * client streaming huge frames cannot make every worker busy decoding. Bulk
 * jobs go first among the workers they may use, so they never starve. */
#ifndef PRECIS_SERVER_SRV_WORKQ_H
#define PRECIS_SERVER_SRV_WORKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis.pb-c.h"

struct srv_conn;

typedef struct srv_job {
  struct srv_job *next;
  struct srv_conn *conn;    /* owner; kept alive while the job exists */
  Precis__V1__Request *req; /* owned; freed by the worker after use */
  uint8_t *frame;           /* or the undecoded request, malloc'd: the
                                 * worker decodes it (large frames) */
  size_t frame_len;
  uint8_t *frame_buf; /* the allocation holding `frame` when it is not
                       * frame itself (taken from the frame reader) */
  uint8_t *out;       /* encoded response frame, malloc'd */
  size_t out_len;
  int code;     /* response status code */
  uint64_t id;  /* the request id (for a BUSY substitute) */
  uint64_t mem; /* decoded-size estimate charged to budgets */
  bool bulk;    /* the bulk lane (see above) */
  bool sent;    /* the worker sent (or dropped) `out` */
} srv_job;

/* The allocator every request is decoded and freed with: malloc/free of
 * the server's own objects, so that fault injection (tests/support/
 * fault_alloc.c) reaches protobuf-c's allocations too. */
extern ProtobufCAllocator srv_pb_alloc;

typedef void (*srv_job_fn)(void *ctx, srv_job *job);

/* Group commit (job.c): a worker that takes a small job for which
 * join(ctx, job, NULL, &budget) is true also takes the queued small jobs
 * for which join(ctx, job, other, &budget) is true, in queue order, up to
 * SRV_GROUP_MAX in all, and runs them together with group(ctx, jobs, n);
 * each is then completed as if run alone. join keeps its own budget (set
 * by the first call, spent by the others). */
#define SRV_GROUP_MAX 64
typedef bool (*srv_job_join_fn)(void *ctx, const srv_job *lead, const srv_job *other,
                                size_t *budget);
typedef void (*srv_job_group_fn)(void *ctx, srv_job **jobs, size_t n);

typedef struct srv_workq srv_workq;

/* Start n worker threads, of which at most bulk_workers (0: n - 1, at least
 * 1; clamped to n) run bulk jobs at once. `efd` is written (8 bytes) when
 * completions become available. Returns NULL on failure. */
srv_workq *srv_workq_create(int nworkers, int bulk_workers, size_t cap, srv_job_fn fn, void *ctx,
                            int efd);
/* Turn group commit on (see above); before any job is pushed. */
void srv_workq_set_group(srv_workq *q, srv_job_join_fn join, srv_job_group_fn group);
/* True when a push would fail. Loop thread only. */
bool srv_workq_full(srv_workq *q);
/* Queue a job; false when full or stopped. Loop thread only. */
bool srv_workq_push(srv_workq *q, srv_job *job);
/* Detach the list of completed jobs (NULL when none), oldest first. */
srv_job *srv_workq_take_done(srv_workq *q);
/* Jobs queued or running (not yet on the completion list). */
size_t srv_workq_pending(srv_workq *q);
/* Stop the workers: each finishes the job it runs; jobs still queued are
 * returned (not run) as a list for the caller to free. Joins the threads. */
srv_job *srv_workq_stop(srv_workq *q);
/* Free the queue (after srv_workq_stop). */
void srv_workq_destroy(srv_workq *q);

/* Free the job's undecoded request (frame, frame_buf). */
void srv_job_free_frame(srv_job *job);
/* Free a job and what it owns. */
void srv_job_free(srv_job *job);

#endif
