/* ann_rpc.c: the RPC routes of `precis-bench ann` (study_ann.c has the
 * method): one connection with one query in flight, several connections,
 * one connection pipelined; and the one-in-flight route again for each
 * further precisd --poll-us value, against the same directory. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ann.h"
#include "bench.h"
#include "bench_util.h"
#include "precis/precis.h"
#include "srvproc.h"

double ab_recall(const ab_data *d, size_t qi, const uint64_t *ids, size_t n) {
  const int32_t *g = d->gt + qi * 100;
  size_t hit = 0;
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < AB_K; j++)
      if ((int64_t)ids[i] == g[j]) {
        hit++;
        break;
      }
  return (double)hit / AB_K;
}

typedef struct {
  const ab_data *d;
  int port;
  uint32_t ef;
  size_t from, to;
  double recall;
  double *lat; /* may be NULL */
  int rc;
} ab_job;

static void *ab_rpc_worker(void *arg) {
  ab_job *j = arg;
  precis_conn *c = NULL;
  precis_error err;
  j->rc = -1;
  if (precis_connect("127.0.0.1", (uint16_t)j->port, NULL, 60000, &c, &err)) {
    fprintf(stderr, "precis-bench ann: connect: %s\n", err.msg);
    return NULL;
  }
  precis_search_opts o = {.exact = j->ef == 0, .ef_search = j->ef};
  precis_hit hits[AB_K];
  uint64_t ids[AB_K];
  size_t nh;
  j->recall = 0;
  for (size_t i = j->from; i < j->to; i++) {
    uint64_t a = bench_now_ns();
    if (precis_search(c, AB_COLL, j->d->q + i * AB_DIM, AB_DIM, AB_K, &o, hits, &nh, &err)) {
      fprintf(stderr, "precis-bench ann: rpc search: %s\n", err.msg);
      precis_close(c);
      return NULL;
    }
    if (j->lat) j->lat[i - j->from] = (double)(bench_now_ns() - a) / 1e6;
    for (size_t k = 0; k < nh; k++) ids[k] = hits[k].id;
    j->recall += ab_recall(j->d, i, ids, nh);
  }
  precis_close(c);
  j->rc = 0;
  return NULL;
}

/* All queries over `conns` connections (threads); QPS and mean recall. */
static int ab_rpc_run(const ab_data *d, int port, uint32_t ef, size_t nq, int conns, double *qps,
                      double *recall, double *lat) {
  ab_job jobs[64];
  pthread_t th[64];
  if (conns > 64) conns = 64;
  /* warm-up on one connection */
  ab_job w = {.d = d, .port = port, .ef = ef, .from = 0, .to = nq < AB_WARM ? nq : AB_WARM};
  ab_rpc_worker(&w);
  if (w.rc) return -1;
  uint64_t t0 = bench_now_ns();
  for (int i = 0; i < conns; i++) {
    jobs[i] = (ab_job){.d = d,
                       .port = port,
                       .ef = ef,
                       .from = nq * (size_t)i / (size_t)conns,
                       .to = nq * (size_t)(i + 1) / (size_t)conns,
                       .lat = conns == 1 ? lat : NULL};
    if (pthread_create(&th[i], NULL, ab_rpc_worker, &jobs[i])) return -1;
  }
  int rc = 0;
  double rec = 0;
  for (int i = 0; i < conns; i++) {
    pthread_join(th[i], NULL);
    rc |= jobs[i].rc;
    rec += jobs[i].recall;
  }
  uint64_t t1 = bench_now_ns();
  *qps = (double)nq / ((double)(t1 - t0) / 1e9);
  *recall = rec / (double)nq;
  return rc;
}

/* All queries pipelined on one connection (precis_search_batch). */
static int ab_rpc_pipelined(const ab_data *d, int port, uint32_t ef, size_t nq, double *qps,
                            double *recall) {
  precis_conn *c = NULL;
  precis_error err;
  if (precis_connect("127.0.0.1", (uint16_t)port, NULL, 60000, &c, &err)) {
    fprintf(stderr, "precis-bench ann: connect: %s\n", err.msg);
    return -1;
  }
  precis_search_opts o = {.exact = ef == 0, .ef_search = ef};
  precis_hit *hits = malloc(nq * AB_K * sizeof *hits);
  size_t *nh = malloc(nq * sizeof *nh);
  int *st = malloc(nq * sizeof *st);
  int rc = -1;
  if (!hits || !nh || !st) goto out;
  size_t warm = nq < AB_WARM ? nq : AB_WARM;
  if (precis_search_batch(c, AB_COLL, d->q, warm, AB_DIM, AB_K, &o, hits, nh, st, &err)) goto fail;
  uint64_t t0 = bench_now_ns();
  if (precis_search_batch(c, AB_COLL, d->q, nq, AB_DIM, AB_K, &o, hits, nh, st, &err)) goto fail;
  *qps = (double)nq / ((double)(bench_now_ns() - t0) / 1e9);
  double rec = 0;
  uint64_t ids[AB_K];
  for (size_t i = 0; i < nq; i++) {
    for (size_t j = 0; j < nh[i]; j++) ids[j] = hits[i * AB_K + j].id;
    rec += ab_recall(d, i, ids, nh[i]);
  }
  *recall = rec / (double)nq;
  rc = 0;
  goto out;
fail:
  fprintf(stderr, "precis-bench ann: pipelined search: %s\n", err.msg);
out:
  free(hits);
  free(nh);
  free(st);
  precis_close(c);
  return rc;
}

/* Start precisd on dir; --poll-us poll when poll >= 0. Port, or <= 0. */
static int ab_start(const char *dir, int poll, srvproc *sp) {
  char pv[16];
  snprintf(pv, sizeof pv, "%d", poll);
  const char *extra[] = {"--log-level", "warn", poll >= 0 ? "--poll-us" : NULL, pv, NULL};
  return srvproc_start(dir, extra, sp);
}

/* The one-in-flight route for every row at each --poll-us value, in
 * alternating rounds; each value keeps its best QPS. */
static int ab_rpc_poll(const char *dir, const ab_data *d, size_t nq, const int *poll_us, int npoll,
                       ab_row *rows, size_t nrows) {
  for (int round = 0; round < AB_POLL_ROUNDS; round++)
    for (int v = 0; v < npoll; v++) {
      srvproc sp = {0};
      int port = ab_start(dir, poll_us[v], &sp);
      if (port <= 0) return -1;
      int rc = 0;
      for (size_t i = 0; i < nrows && !rc; i++) {
        ab_row *r = &rows[i];
        if (!r->ef) continue;
        fprintf(stderr, "ann: RPC --poll-us %d round %d M=%u ef=%u\n", poll_us[v], round + 1, r->m,
                r->ef);
        double qps, rec;
        rc = ab_rpc_run(d, port, r->ef, nq, 1, &qps, &rec, NULL);
        if (!rc && qps > r->rpc1_poll_qps[v]) {
          r->rpc1_poll_qps[v] = qps;
          r->rpc1_poll_recall[v] = rec;
        }
      }
      srvproc_stop(&sp);
      srvproc_cleanup(&sp);
      if (rc) return -1;
    }
  return 0;
}

int ab_rpc(const char *dir, const ab_data *d, size_t nq, int conns, const int *poll_us, int npoll,
           ab_row *rows, size_t nrows, double *lat, char *note, size_t notelen) {
  const char *bin = getenv("PRECISD"); /* as srvproc_start chooses it */
  if (!bin || !*bin) bin = PRECIS_BUILD_DIR "/precisd";
  if (access(bin, X_OK)) {
    snprintf(note, notelen, "%s missing: RPC sweep skipped", bin);
    return 1;
  }
  srvproc sp = {0};
  int port = ab_start(dir, npoll > 0 ? poll_us[0] : -1, &sp);
  if (port <= 0) {
    snprintf(note, notelen, "precisd did not start: RPC sweep skipped");
    return 1;
  }
  int rc = 0;
  for (size_t i = 0; i < nrows && !rc; i++) {
    ab_row *r = &rows[i];
    fprintf(stderr, "ann: RPC M=%u ef=%u\n", r->m, r->ef);
    size_t n = r->ef == 0 ? (nq < 100 ? nq : 100) : nq;
    if (ab_rpc_run(d, port, r->ef, n, 1, &r->rpc1_qps, &r->rpc1_recall, lat) ||
        ab_rpc_run(d, port, r->ef, n, conns, &r->rpcN_qps, &r->rpcN_recall, NULL) ||
        ab_rpc_pipelined(d, port, r->ef, n, &r->rpcP_qps, &r->rpcP_recall)) {
      snprintf(note, notelen, "RPC search failed (see stderr)");
      rc = -1;
      break;
    }
    r->rpc1_p50_ms = bench_quantile(lat, n, 0.5);
    r->has_rpc = 1;
  }
  srvproc_stop(&sp);
  srvproc_cleanup(&sp);
  if (!rc && npoll > 1 && ab_rpc_poll(dir, d, nq, poll_us, npoll, rows, nrows)) {
    snprintf(note, notelen, "RPC --poll-us comparison failed (see stderr)");
    rc = -1;
  }
  return rc;
}
