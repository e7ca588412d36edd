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
  srv_job *head, *tail;   /* queued, small requests */
  srv_job *bhead, *btail; /* queued, bulk lane */
  size_t queued, running, cap;
  int bulk_running, bulk_max;
  bool stopping;
  srv_job_fn fn;
  srv_job_join_fn join; /* group commit; NULL = off */
  srv_job_group_fn group;
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

void srv_job_free_frame(srv_job *job) {
  free(job->frame_buf ? job->frame_buf : job->frame);
  job->frame = job->frame_buf = NULL;
}

void srv_job_free(srv_job *job) {
  if (!job) return;
  if (job->req) precis__v1__request__free_unpacked(job->req, &srv_pb_alloc);
  srv_job_free_frame(job);
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

/* The next job this worker may run (q->mu held): a bulk job while fewer
 * than bulk_max run, else a small one. NULL when none. */
static srv_job *take_job(srv_workq *q) {
  srv_job *job = NULL;
  if (q->bhead && q->bulk_running < q->bulk_max) {
    job = q->bhead;
    q->bhead = job->next;
    if (!q->bhead) q->btail = NULL;
  } else if (q->head) {
    job = q->head;
    q->head = job->next;
    if (!q->head) q->tail = NULL;
  }
  return job;
}

/* Group commit (srv_workq.h): the queued small jobs that may join `lead`,
 * unlinked into g[1..] (q->mu held). Returns the group's size. */
static size_t take_group(srv_workq *q, srv_job *lead, srv_job **g) {
  size_t n = 1, budget = 0;
  g[0] = lead;
  if (!q->join || lead->bulk || !q->join(q->ctx, lead, NULL, &budget)) return 1;
  srv_job *prev = NULL;
  for (srv_job *o = q->head, *next; o && n < SRV_GROUP_MAX; o = next) {
    next = o->next;
    if (!q->join(q->ctx, lead, o, &budget)) {
      prev = o;
      continue;
    }
    if (prev)
      prev->next = next;
    else
      q->head = next;
    if (q->tail == o) q->tail = prev;
    o->next = NULL;
    g[n++] = o;
  }
  return n;
}

static void *worker_main(void *arg) {
  srv_workq *q = arg;
  srv_job *g[SRV_GROUP_MAX];
  for (;;) {
    pthread_mutex_lock(&q->mu);
    srv_job *job = NULL;
    while (!q->stopping && !(job = take_job(q))) pthread_cond_wait(&q->cv, &q->mu);
    if (q->stopping) {
      pthread_mutex_unlock(&q->mu);
      return NULL;
    }
    job->next = NULL;
    size_t n = take_group(q, job, g);
    q->queued -= n;
    q->running += n;
    bool bulk = job->bulk; /* job is the loop's once on the done list */
    if (bulk) q->bulk_running++;
    pthread_mutex_unlock(&q->mu);

    if (n == 1)
      q->fn(q->ctx, job);
    else
      q->group(q->ctx, g, n);

    pthread_mutex_lock(&q->done_mu);
    bool was_empty = q->done_head == NULL;
    for (size_t i = 0; i < n; i++) {
      if (q->done_tail)
        q->done_tail->next = g[i];
      else
        q->done_head = g[i];
      q->done_tail = g[i];
    }
    pthread_mutex_unlock(&q->done_mu);
    /* running-- after the job is visible on the done list, so that
     * pending()==0 implies every completion can be taken. */
    pthread_mutex_lock(&q->mu);
    q->running -= n;
    if (bulk) {
      q->bulk_running--;
      /* a bulk job may wait for this slot while others sleep */
      if (q->bhead) pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    if (was_empty) signal_loop(q);
  }
}

srv_workq *srv_workq_create(int nworkers, int bulk_workers, size_t cap, srv_job_fn fn, void *ctx,
                            int efd) {
  srv_workq *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  pthread_mutex_init(&q->done_mu, NULL);
  q->cap = cap ? cap : 1;
  q->bulk_max = bulk_workers > 0 ? bulk_workers : nworkers - 1;
  if (q->bulk_max < 1) q->bulk_max = 1;
  if (q->bulk_max > nworkers) q->bulk_max = nworkers;
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

void srv_workq_set_group(srv_workq *q, srv_job_join_fn join, srv_job_group_fn group) {
  pthread_mutex_lock(&q->mu); /* the workers read them under it */
  q->join = join;
  q->group = group;
  pthread_mutex_unlock(&q->mu);
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
  srv_job **head = job->bulk ? &q->bhead : &q->head;
  srv_job **tail = job->bulk ? &q->btail : &q->tail;
  if (*tail)
    (*tail)->next = job;
  else
    *head = job;
  *tail = job;
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

srv_job *srv_workq_stop(srv_workq *q) {
  pthread_mutex_lock(&q->mu);
  q->stopping = true;
  srv_job *left = q->head;
  if (q->tail)
    q->tail->next = q->bhead;
  else
    left = q->bhead;
  q->head = q->tail = q->bhead = q->btail = NULL;
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
