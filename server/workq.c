/* workq.c: bounded job queue + worker threads (see srv_workq.h). */
#include "srv_workq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv_log.h"

struct srv_workq {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  srv_job *head, *tail; /* queued */
  size_t queued, running, cap;
  bool stopping;
  srv_job_fn fn;
  void *ctx;
  int efd;
  pthread_mutex_t done_mu;
  srv_job *done_head, *done_tail;
  pthread_t *threads;
  int nthreads;
};

static void *pb_alloc(void *ctx, size_t n) {
  (void)ctx;
  return malloc(n);
}
static void pb_free(void *ctx, void *p) {
  (void)ctx;
  free(p);
}
ProtobufCAllocator srv_pb_alloc = {pb_alloc, pb_free, NULL};

void srv_job_free(srv_job *job) {
  if (!job) return;
  if (job->req) precis__v1__request__free_unpacked(job->req, &srv_pb_alloc);
  free(job->frame);
  free(job->out);
  free(job);
}

static void signal_loop(srv_workq *q) {
  uint64_t one = 1;
  for (;;) {
    ssize_t w = write(q->efd, &one, sizeof one);
    if (w == (ssize_t)sizeof one || errno != EINTR) break;
  }
}

static void *worker_main(void *arg) {
  srv_workq *q = arg;
  for (;;) {
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
    if (q->stopping) {
      pthread_mutex_unlock(&q->mu);
      return NULL;
    }
    srv_job *job = q->head;
    q->head = job->next;
    if (!q->head) q->tail = NULL;
    q->queued--;
    q->running++;
    pthread_mutex_unlock(&q->mu);

    job->next = NULL;
    q->fn(q->ctx, job);

    pthread_mutex_lock(&q->done_mu);
    bool was_empty = q->done_head == NULL;
    if (q->done_tail) q->done_tail->next = job;
    else q->done_head = job;
    q->done_tail = job;
    pthread_mutex_unlock(&q->done_mu);
    /* running-- after the job is visible on the done list, so that
     * pending()==0 implies every completion can be taken. */
    pthread_mutex_lock(&q->mu);
    q->running--;
    pthread_mutex_unlock(&q->mu);
    if (was_empty) signal_loop(q);
  }
}

srv_workq *srv_workq_create(int nworkers, size_t cap, srv_job_fn fn, void *ctx,
                            int efd) {
  srv_workq *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  pthread_mutex_init(&q->done_mu, NULL);
  q->cap = cap ? cap : 1;
  q->fn = fn;
  q->ctx = ctx;
  q->efd = efd;
  q->threads = calloc((size_t)nworkers, sizeof *q->threads);
  if (!q->threads) {
    free(q);
    return NULL;
  }
  for (int i = 0; i < nworkers; i++) {
    int rc = pthread_create(&q->threads[i], NULL, worker_main, q);
    if (rc != 0) {
      srv_error("cannot start worker thread: %s", strerror(rc));
      srv_job_free(srv_workq_stop(q)); /* none queued yet */
      srv_workq_destroy(q);
      return NULL;
    }
    q->nthreads++;
  }
  return q;
}

bool srv_workq_full(srv_workq *q) {
  pthread_mutex_lock(&q->mu);
  bool full = q->queued >= q->cap;
  pthread_mutex_unlock(&q->mu);
  return full;
}

bool srv_workq_push(srv_workq *q, srv_job *job) {
  job->next = NULL;
  pthread_mutex_lock(&q->mu);
  if (q->stopping || q->queued >= q->cap) {
    pthread_mutex_unlock(&q->mu);
    return false;
  }
  if (q->tail) q->tail->next = job;
  else q->head = job;
  q->tail = job;
  q->queued++;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  return true;
}

srv_job *srv_workq_take_done(srv_workq *q) {
  pthread_mutex_lock(&q->done_mu);
  srv_job *list = q->done_head;
  q->done_head = q->done_tail = NULL;
  pthread_mutex_unlock(&q->done_mu);
  return list;
}

size_t srv_workq_pending(srv_workq *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->queued + q->running;
  pthread_mutex_unlock(&q->mu);
  return n;
}

int srv_workq_workers(const srv_workq *q) { return q->nthreads; }

srv_job *srv_workq_stop(srv_workq *q) {
  pthread_mutex_lock(&q->mu);
  q->stopping = true;
  srv_job *left = q->head;
  q->head = q->tail = NULL;
  q->queued = 0;
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
  for (int i = 0; i < q->nthreads; i++) pthread_join(q->threads[i], NULL);
  q->nthreads = 0;
  return left;
}

void srv_workq_destroy(srv_workq *q) {
  if (!q) return;
  srv_job *j = srv_workq_take_done(q);
  while (j) {
    srv_job *n = j->next;
    srv_job_free(j);
    j = n;
  }
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->done_mu);
  free(q->threads);
  free(q);
}
