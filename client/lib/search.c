/*
 * search.c: plain ANN top-k, one query (precis_search) or many pipelined
 * on one connection (precis_search_batch): requests are written while
 * responses are read, at most PRECIS_SEARCH_BATCH_WINDOW outstanding, and
 * responses (in any order) are matched to queries by request id.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "pbparam.h"

/* The request, every parameter sent (precis/params.h, the search rows):
 * k from the argument, the options from opts or their defaults. */
static void fill_search(Precis__V1__SearchRequest *sr, const char *coll, const float *vec,
                        uint32_t dim, uint32_t k, const precis_search_opts *opts) {
  Precis__V1__SearchRequest init = PRECIS__V1__SEARCH_REQUEST__INIT;
  *sr = init;
  sr->collection = (char *)coll;
  sr->n_vector = dim;
  sr->vector = (float *)vec;
  struct {
    PRECIS_SEARCH_PARAM_MAP(PRECIS_PARAM_MEMBER)
  } v, *p = &v;
  memset(&v, 0, sizeof v);
  PRECIS_SEARCH_PARAM_MAP(PRECIS_PARAM_SET_DEFAULT)
  v.k = k;
#define COPY(name, KIND, d, lo, hi, field, flag, doc) v.name = opts->name;
  if (opts) {
    PRECIS_SEARCH_OPTS_MAP(COPY)
  }
#undef COPY
  Precis__V1__SearchRequest *msg = sr;
  PRECIS_SEARCH_PARAM_MAP(PBPARAM_TO_WIRE)
}

static int check_search(precis_conn *c, const char *coll, const void *vec, uint32_t dim, uint32_t k,
                        const void *hits, const void *nhits, precis_error *err) {
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  if (!coll || !vec || !hits || !nhits)
    return precis__fail(c, err, PRECIS_E_INVALID_ARGUMENT,
                        "collection, vector, hits or nhits is NULL");
  if (dim == 0 || dim > PRECIS_MAX_DIM)
    return precis__fail(c, err, PRECIS_E_OUT_OF_RANGE, "dim %u outside 1..%d", dim, PRECIS_MAX_DIM);
  if (k == 0 || k > PRECIS_MAX_K)
    return precis__fail(c, err, PRECIS_E_OUT_OF_RANGE, "k %u outside 1..%d", k, PRECIS_MAX_K);
  return PRECIS_OK;
}

static size_t copy_hits(const Precis__V1__Response *resp, uint32_t k, precis_hit *hits) {
  size_t n = resp->search ? resp->search->n_hits : 0;
  if (n > k) n = k;
  for (size_t i = 0; i < n; i++) {
    hits[i].id = resp->search->hits[i]->id;
    hits[i].score = resp->search->hits[i]->score;
  }
  return n;
}

int precis_search(precis_conn *c, const char *collection, const float *vector, uint32_t dim,
                  uint32_t k, const precis_search_opts *opts, precis_hit *hits, size_t *nhits,
                  precis_error *err) {
  return precis_search_filtered(c, collection, vector, dim, k, opts, NULL, hits, nhits, NULL, err);
}

int precis_search_filtered(precis_conn *c, const char *collection, const float *vector,
                           uint32_t dim, uint32_t k, const precis_search_opts *opts,
                           const precis_filter *filter, precis_hit *hits, size_t *nhits,
                           precis_filter_report *report, precis_error *err) {
  int rc = check_search(c, collection, vector, dim, k, hits, nhits, err);
  if (rc != PRECIS_OK) return rc;
  *nhits = 0;
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__SearchRequest sr;
  fill_search(&sr, collection, vector, dim, k, opts);
  sr.filter = precis__filter_pb(filter);
  req.op_case = PRECIS__V1__REQUEST__OP_SEARCH;
  req.search = &sr;
  Precis__V1__Response *resp = NULL;
  rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT_SEARCH, &resp, err);
  if (rc != PRECIS_OK) return rc;
  *nhits = copy_hits(resp, k, hits);
  if (report) precis__filter_report(resp->search ? resp->search->filter_report : NULL, report);
  precis__response_free(resp);
  return precis__ok(c, err);
}

/* State of one pipelined batch. */
typedef struct {
  precis_conn *c;
  const char *coll;
  const float *queries;
  size_t n;
  uint32_t dim, k;
  const precis_search_opts *opts;
  precis_hit *hits;
  size_t *nhits;
  int *statuses; /* caller's or ours */
  unsigned char *done;
  uint64_t base_id;
  size_t queued; /* requests fully written */
  size_t answered;
  uint8_t *frame; /* request being written */
  size_t flen, foff;
  size_t first_fail; /* smallest failing index, n = none */
  int fail_code;
  char fail_msg[PRECIS_ERROR_MSG_MAX];
} batch;

static int batch_encode_next(batch *b, precis_error *err) {
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__SearchRequest sr;
  fill_search(&sr, b->coll, b->queries + b->queued * b->dim, b->dim, b->k, b->opts);
  req.id = b->base_id + b->queued;
  req.op_case = PRECIS__V1__REQUEST__OP_SEARCH;
  req.search = &sr;
  int rc =
      frame_encode((const ProtobufCMessage *)&req, PRECIS_DEFAULT_MAX_FRAME, &b->frame, &b->flen);
  if (rc != PRECIS_OK)
    return precis__fail(b->c, err, rc, "encoding search %zu: %s", b->queued, precis_strerror(rc));
  b->foff = 0;
  return PRECIS_OK;
}

/* Write as much as the socket takes; *progress set when bytes moved. */
static int batch_write(batch *b, int *progress, precis_error *err) {
  for (;;) {
    if (!b->frame) {
      if (b->queued >= b->n || b->queued - b->answered >= PRECIS_SEARCH_BATCH_WINDOW)
        return PRECIS_OK;
      int rc = batch_encode_next(b, err);
      if (rc != PRECIS_OK) return rc;
    }
    size_t before = b->foff;
    int rc = precis__write_some(b->c, b->frame, b->flen, &b->foff, err);
    if (rc != PRECIS_OK) return rc;
    if (b->foff != before) *progress = 1;
    if (b->foff < b->flen) return PRECIS_OK; /* socket full */
    free(b->frame);
    b->frame = NULL;
    b->queued++;
  }
}

static void batch_record(batch *b, size_t i, const Precis__V1__Response *resp) {
  precis_error e;
  int code = precis__status_error(b->c, resp, &e);
  if (code == PRECIS_OK && resp->result_case != PRECIS__V1__RESPONSE__RESULT_SEARCH) {
    code = PRECIS_E_PROTOCOL;
    snprintf(e.msg, sizeof e.msg, "unexpected response type %d", (int)resp->result_case);
  }
  b->statuses[i] = code;
  if (code == PRECIS_OK) {
    b->nhits[i] = copy_hits(resp, b->k, b->hits + i * b->k);
  } else {
    b->nhits[i] = 0;
    if (i < b->first_fail) {
      b->first_fail = i;
      b->fail_code = code;
      snprintf(b->fail_msg, sizeof b->fail_msg, "query %zu: %.200s", i, e.msg);
    }
  }
}

/* Consume every buffered response. Returns OK or a transport status. */
static int batch_drain(batch *b, int *progress, precis_error *err) {
  for (;;) {
    Precis__V1__Response *m = NULL;
    int rc = precis__next_response(b->c, &m, err);
    if (rc != PRECIS_OK) return rc;
    if (!m) return PRECIS_OK;
    if (m->id == 0) { /* the server could not parse one of our requests */
      int code = precis__status_error(b->c, m, err);
      precis__response_free(m);
      return code ? code : precis__fail(b->c, err, PRECIS_E_PROTOCOL, "response without id");
    }
    if (m->id >= b->base_id && m->id < b->base_id + b->n) {
      size_t i = (size_t)(m->id - b->base_id);
      if (!b->done[i]) {
        b->done[i] = 1;
        b->answered++;
        batch_record(b, i, m);
        *progress = 1;
      }
    } /* else: a late answer to an earlier call */
    precis__response_free(m);
  }
}

static int batch_run(batch *b, precis_error *err) {
  int64_t deadline = precis__deadline(b->c);
  while (b->answered < b->n) {
    int progress = 0;
    int rc = batch_write(b, &progress, err);
    if (rc == PRECIS_OK) rc = batch_drain(b, &progress, err);
    if (rc != PRECIS_OK) return rc;
    if (b->answered == b->n) break;
    if (progress) {
      deadline = precis__deadline(b->c);
      continue;
    }
    struct pollfd p = {.fd = b->c->fd, .events = POLLIN};
    if (b->frame || (b->queued < b->n && b->queued - b->answered < PRECIS_SEARCH_BATCH_WINDOW))
      p.events |= POLLOUT;
    int64_t left = deadline == INT64_MAX ? -1 : deadline - precis__now_ms();
    if (left == 0 || left < -1) {
      if (b->frame && b->foff > 0) b->c->broken = 1; /* half-written request */
      return precis__fail(b->c, err, PRECIS_E_TIMEOUT,
                          "search batch: no progress for %d ms (%zu of %zu "
                          "answered)",
                          b->c->timeout_ms, b->answered, b->n);
    }
    int r = poll(&p, 1, left < 0 ? -1 : (int)(left > 1000000 ? 1000000 : left));
    if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      rc = precis__read_some(b->c, err);
      if (rc != PRECIS_OK) return rc;
    }
  }
  return PRECIS_OK;
}

int precis_search_batch(precis_conn *c, const char *collection, const float *queries, size_t n,
                        uint32_t dim, uint32_t k, const precis_search_opts *opts, precis_hit *hits,
                        size_t *nhits, int *statuses, precis_error *err) {
  if (n == 0) {
    int rc = precis__check_conn(c, err);
    return rc ? rc : precis__ok(c, err);
  }
  int rc = check_search(c, collection, queries, dim, k, hits, nhits, err);
  if (rc != PRECIS_OK) return rc;
  batch b;
  memset(&b, 0, sizeof b);
  b.c = c;
  b.coll = collection;
  b.queries = queries;
  b.n = n;
  b.dim = dim;
  b.k = k;
  b.opts = opts;
  b.hits = hits;
  b.nhits = nhits;
  b.first_fail = n;
  b.done = calloc(n, 1);
  b.statuses = statuses ? statuses : calloc(n, sizeof(int));
  if (!b.done || !b.statuses) {
    free(b.done);
    if (!statuses) free(b.statuses);
    return precis__fail(c, err, PRECIS_E_NO_MEMORY, NULL);
  }
  for (size_t i = 0; i < n; i++) {
    nhits[i] = 0;
    b.statuses[i] = PRECIS_E_CONNECTION; /* until answered */
  }
  b.base_id = c->next_id;
  c->next_id += n;
  rc = batch_run(&b, err);
  free(b.frame);
  free(b.done);
  if (!statuses) free(b.statuses);
  if (rc != PRECIS_OK) return rc;
  if (b.first_fail < n) return precis__fail(c, err, b.fail_code, "%s", b.fail_msg);
  return precis__ok(c, err);
}
