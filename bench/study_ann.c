/*
 * study_ann.c: `precis-bench ann`, recall@10 against exact ground truth
 * versus queries per second on GloVe, sweeping efSearch, per HNSW M.
 *
 * For each M: a fresh data directory in $TMPDIR, engine opened with
 * sync_writes 0, one cosine collection with index_spec "HNSW<M>" and
 * efConstruction --efc (200), ids = row numbers of base.f32. Timed:
 *   - the upserts (batches of 1000; they also maintain the kNN edges):
 *     points/s;
 *   - the pure index build: engine_close, remove the saved index files,
 *     engine_open rebuilds the index from the stored vectors: points/s
 *     (skipped with --no-rebuild).
 * Then, one query at a time on one thread, k = 10, for each efSearch:
 * engine_search with ef_search set per call, after 20 warm-up queries.
 * recall@10 = |returned ids & first 10 of gt100.i32| / 10, averaged; QPS =
 * queries / wall seconds; also the thread-CPU QPS (steadier on a shared
 * machine) and the p50/p99 latency. An exact (brute force) search row gives
 * the reference.
 * Over RPC (when build/precisd runs): the engine is closed and precisd
 * (--workers 2 default) serves the same directory on an ephemeral port;
 * the sweep repeats with precis_search, one connection on one thread, then
 * --conns (4) threads each with its own connection splitting the queries
 * (QPS = all queries / wall). Reported with the ratio RPC / in-process.
 * A third RPC run sends all queries pipelined on one connection
 * (precis_search_batch: up to 1024 requests in flight; the server's workers
 * run them in parallel): QPS = queries / wall.
 * The RPC sweep runs for the largest M only (--rpc-all-m for every M).
 * Baseline in the same run (unless --no-hnswlib, or precis-bench was built
 * without Debian's libhnswlib-dev): hnswlib with the same M and
 * efConstruction over the same vectors (insert rate timed), searched one
 * query at a time on one thread at every efSearch, like the in-process
 * sweep. The report ends with the comparison at equal recall: every curve
 * (in-process, RPC one connection, RPC pipelined, hnswlib) interpolated at
 * recall@10 = 0.95 between the efSearch rows around it, per M. (Taking each
 * side's first row at recall >= 0.95 compares different recalls when the
 * efSearch grid is coarse.)
 * --pause-us N adds an in-process route that sleeps N microseconds before
 * each query and times the searches alone: the cost of one search after an
 * idle gap as long as an RPC round trip's, against back-to-back searches.
 * Over RPC with one query in flight every search follows such a gap.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_util.h"
#include "dataset.h"
#include "engine.h"
#include "hnswlib_baseline.h"
#include "precis/precis.h"
#include "srvproc.h"

#include "ann.h"

static int ab_sweep_inproc(engine *e, const ab_data *d, uint32_t ef, size_t nq, ab_row *row,
                           double *lat) {
  precis_error err;
  engine_search_params sp = {.exact = ef == 0, .ef_search = ef};
  engine_hit hits[AB_K];
  uint64_t ids[AB_K];
  size_t nh;
  for (size_t i = 0; i < AB_WARM && i < nq; i++)
    if (engine_search(e, AB_COLL, d->q + i * AB_DIM, AB_DIM, AB_K, &sp, hits, &nh, &err)) goto fail;
  double rec = 0;
  uint64_t c0 = bench_thread_cpu_ns(), t0 = bench_now_ns();
  for (size_t i = 0; i < nq; i++) {
    uint64_t a = bench_now_ns();
    if (engine_search(e, AB_COLL, d->q + i * AB_DIM, AB_DIM, AB_K, &sp, hits, &nh, &err)) goto fail;
    lat[i] = (double)(bench_now_ns() - a) / 1e6;
    for (size_t j = 0; j < nh; j++) ids[j] = hits[j].id;
    rec += ab_recall(d, i, ids, nh);
  }
  uint64_t t1 = bench_now_ns(), c1 = bench_thread_cpu_ns();
  row->recall = rec / (double)nq;
  row->qps = (double)nq / ((double)(t1 - t0) / 1e9);
  row->cpu_qps = (double)nq / ((double)(c1 - c0) / 1e9);
  row->p50_ms = bench_quantile(lat, nq, 0.5);
  row->p99_ms = bench_quantile(lat, nq, 0.99);
  return 0;
fail:
  fprintf(stderr, "precis-bench ann: search: %s\n", err.msg);
  return -1;
}

/* The in-process route with a pause before each query (--pause-us): QPS
 * over the summed search times, so that only the searches' own slowdown
 * after the gap shows. `spin`: busy-wait through the gap (--pause-spin)
 * instead of sleeping. */
static int ab_sweep_paused(engine *e, const ab_data *d, uint32_t ef, size_t nq, uint32_t pause_us,
                           int spin, ab_row *row) {
  precis_error err;
  engine_search_params sp = {.exact = ef == 0, .ef_search = ef};
  engine_hit hits[AB_K];
  size_t nh;
  uint64_t spent = 0;
  struct timespec ts = {.tv_sec = pause_us / 1000000, .tv_nsec = (long)(pause_us % 1000000) * 1000};
  for (size_t i = 0; i < nq; i++) {
    if (spin) { /* busy through the gap: the vCPU never idles */
      uint64_t until = bench_now_ns() + (uint64_t)pause_us * 1000;
      while (bench_now_ns() < until) {}
    } else {
      nanosleep(&ts, NULL);
    }
    uint64_t a = bench_now_ns();
    if (engine_search(e, AB_COLL, d->q + i * AB_DIM, AB_DIM, AB_K, &sp, hits, &nh, &err)) {
      fprintf(stderr, "precis-bench ann: search: %s\n", err.msg);
      return -1;
    }
    spent += bench_now_ns() - a;
  }
  row->pause_qps = spent ? (double)nq / ((double)spent / 1e9) : 0;
  return 0;
}

/* ---- hnswlib baseline ---- */

/* Builds hnswlib over the base vectors with the same M and efConstruction,
 * then searches every query at each row's efSearch, one at a time on this
 * thread. Returns 1 when hnswlib is not compiled in. */
static int ab_hnswlib(const ab_data *d, uint32_t m, uint32_t efc, ab_build *b, ab_row *rows,
                      size_t nrows, size_t nq) {
  if (!hnswb_available()) return 1;
  hnswb *h = hnswb_create(AB_DIM, m, efc, d->n);
  if (!h) return -1;
  fprintf(stderr, "ann: hnswlib M=%u: inserting %zu points ...\n", m, d->n);
  uint64_t t0 = bench_now_ns();
  if (hnswb_add(h, d->n, d->base)) {
    hnswb_destroy(h);
    return -1;
  }
  b->hn_build_s = (double)(bench_now_ns() - t0) / 1e9;
  int64_t lab[AB_K];
  float sc[AB_K];
  uint64_t ids[AB_K];
  for (size_t r = 0; r < nrows; r++) {
    ab_row *row = &rows[r];
    if (!row->ef) continue;
    for (size_t i = 0; i < AB_WARM && i < nq; i++)
      hnswb_search(h, d->q + i * AB_DIM, AB_K, row->ef, lab, sc);
    double rec = 0;
    uint64_t c0 = bench_thread_cpu_ns();
    t0 = bench_now_ns();
    for (size_t i = 0; i < nq; i++) {
      int got = hnswb_search(h, d->q + i * AB_DIM, AB_K, row->ef, lab, sc);
      for (int j = 0; j < got; j++) ids[j] = (uint64_t)lab[j];
      rec += ab_recall(d, i, ids, got > 0 ? (size_t)got : 0);
    }
    row->hn_qps = (double)nq / ((double)(bench_now_ns() - t0) / 1e9);
    row->hn_cpu_qps = (double)nq / ((double)(bench_thread_cpu_ns() - c0) / 1e9);
    row->hn_recall = rec / (double)nq;
    row->has_hn = 1;
  }
  hnswb_destroy(h);
  return 0;
}

/* ---- one M ---- */

static int ab_remove_index(const char *dir) {
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -f '%s'/ann/*", dir);
  int st;
  bu_time_cmd(cmd, &st);
  return st;
}

static int ab_one_m(const ab_data *d, uint32_t m, uint32_t efc, const uint32_t *efs, int nef,
                    size_t nq, int rebuild, int rpc, int conns, const int *poll_us, int npoll,
                    uint32_t pause_us, int pause_spin, int hnswlib, ab_build *b, ab_row *rows,
                    double *lat, char *note, size_t notelen) {
  precis_error err;
  engine *e = NULL;
  engine_options eo;
  engine_options_default(&eo);
  eo.sync_writes = 0;
  engine_collection_config cfg = {
      .dim = AB_DIM, .metric = ENGINE_METRIC_COSINE, .hnsw_ef_construction = efc};
  snprintf(cfg.index_spec, sizeof cfg.index_spec, "HNSW%u", m);
  char *dir = bu_tmpdir("ann");
  int rc = -1;
  engine_point_in *pts = calloc(1000, sizeof *pts);
  if (!dir || !pts) goto out;
  if (engine_open(dir, &eo, &e, &err) || engine_collection_create(e, AB_COLL, &cfg, &err))
    goto fail;
  fprintf(stderr, "ann: M=%u: upserting %zu points ...\n", m, d->n);
  uint64_t t0 = bench_now_ns();
  for (size_t at = 0; at < d->n; at += 1000) {
    size_t k = d->n - at < 1000 ? d->n - at : 1000;
    for (size_t j = 0; j < k; j++)
      pts[j] = (engine_point_in){
          .id = at + j, .vector = d->base + (at + j) * AB_DIM, .dim = AB_DIM, .tokens = 0};
    if (engine_upsert(e, AB_COLL, pts, k, &err)) goto fail;
    if ((at / 1000) % 50 == 49) fprintf(stderr, "\rann: %zu / %zu", at + k, d->n);
  }
  fprintf(stderr, "\n");
  b->m = m;
  b->upsert_s = (double)(bench_now_ns() - t0) / 1e9;
  if (rebuild) {
    engine_close(e);
    e = NULL;
    ab_remove_index(dir);
    fprintf(stderr, "ann: M=%u: rebuilding the index on open ...\n", m);
    t0 = bench_now_ns();
    if (engine_open(dir, &eo, &e, &err)) goto fail;
    engine_collection_info info;
    if (engine_collection_describe(e, AB_COLL, &info, &err)) goto fail;
    b->rebuild_s = (double)(bench_now_ns() - t0) / 1e9;
    b->ann_total = info.ann_total;
  }
  for (int i = 0; i <= nef; i++) {
    ab_row *r = &rows[i];
    r->m = m;
    r->ef = i == 0 ? 0 : efs[i - 1];
    size_t n = r->ef == 0 ? (nq < 100 ? nq : 100) : nq; /* exact: first 100 queries */
    fprintf(stderr, "ann: M=%u ef=%u (%zu queries)\n", m, r->ef, n);
    if (ab_sweep_inproc(e, d, r->ef, n, r, lat)) goto out;
    if (pause_us && r->ef) {
      fprintf(stderr, "ann: M=%u ef=%u, %u us before each query\n", m, r->ef, pause_us);
      if (ab_sweep_paused(e, d, r->ef, n, pause_us, pause_spin, r)) goto out;
    }
  }
  rc = 0;
  if (hnswlib && ab_hnswlib(d, m, efc, b, rows, (size_t)nef + 1, nq) < 0) {
    fprintf(stderr, "precis-bench ann: hnswlib baseline failed\n");
    rc = -1;
  }
  if (rpc) {
    engine_close(e); /* saves the index for the server */
    e = NULL;
    if (ab_rpc(dir, d, nq, conns, poll_us, npoll, rows, (size_t)nef + 1, lat, note, notelen) < 0)
      rc = -1;
  }
  goto out;
fail:
  fprintf(stderr, "precis-bench ann: %s\n", err.msg);
out:
  engine_close(e);
  bu_rmrf_free(dir);
  free(pts);
  return rc;
}

/* ---- output ---- */

#define AB_TARGET 0.95

typedef struct {
  double qps;
  int lower_bound; /* the first row already exceeds the target */
} ab_at;

/* Recall and QPS of one series of a row: 0 in-process, 1 RPC one
 * connection, 2 RPC pipelined, 3 hnswlib, 4 in-process per thread-CPU
 * second, 5 hnswlib per thread-CPU second, AB_SERIES_PAUSE in-process
 * after --pause-us, AB_SERIES_POLL + v RPC one connection at the vth
 * --poll-us; 0 when the row lacks it. */
#define AB_SERIES_PAUSE 6
#define AB_SERIES_POLL  7
static int ab_series(const ab_row *r, int s, double *rec, double *qps) {
  if (!r->ef) return 0;
  if (s == AB_SERIES_PAUSE) {
    if (r->pause_qps <= 0) return 0;
    *rec = r->recall;
    *qps = r->pause_qps;
    return 1;
  }
  if (s >= AB_SERIES_POLL) { /* one in flight at the (s - AB_SERIES_POLL)th --poll-us */
    if (r->rpc1_poll_qps[s - AB_SERIES_POLL] <= 0) return 0;
    *rec = r->rpc1_poll_recall[s - AB_SERIES_POLL];
    *qps = r->rpc1_poll_qps[s - AB_SERIES_POLL];
    return 1;
  }
  switch (s) {
    case 4:
      *rec = r->recall;
      *qps = r->cpu_qps;
      return 1;
    case 5:
      if (!r->has_hn) return 0;
      *rec = r->hn_recall;
      *qps = r->hn_cpu_qps;
      return 1;
    case 0:
      *rec = r->recall;
      *qps = r->qps;
      return 1;
    case 1:
      if (!r->has_rpc) return 0;
      *rec = r->rpc1_recall;
      *qps = r->rpc1_qps;
      return 1;
    case 2:
      if (!r->has_rpc) return 0;
      *rec = r->rpcP_recall;
      *qps = r->rpcP_qps;
      return 1;
    default:
      if (!r->has_hn) return 0;
      *rec = r->hn_recall;
      *qps = r->hn_qps;
      return 1;
  }
}

/* QPS of series s at recall AB_TARGET over rows of one M (by efSearch):
 * between the last row below the target and the next row at or above it,
 * log(QPS) linear in recall. */
static ab_at ab_interp(const ab_row *rows, size_t n, int s) {
  ab_at a = {0, 0};
  double pr = 0, pq = 0;
  int have_prev = 0;
  for (size_t i = 0; i < n; i++) {
    double r, q;
    if (!ab_series(&rows[i], s, &r, &q) || q <= 0) continue;
    if (r >= AB_TARGET) {
      if (!have_prev) {
        a.qps = q;
        a.lower_bound = 1;
      } else {
        double t = r > pr ? (AB_TARGET - pr) / (r - pr) : 1.0;
        a.qps = exp(log(pq) + t * (log(q) - log(pq)));
      }
      return a;
    }
    pr = r;
    pq = q;
    have_prev = 1;
  }
  return a;
}

/* The end of the run of rows with rows[i]'s M (rows are grouped by M). */
static size_t ab_m_end(const ab_row *rows, size_t nrows, size_t i) {
  size_t j = i;
  while (j < nrows && rows[j].m == rows[i].m) j++;
  return j;
}

typedef struct {
  const char *set;
  size_t n, nq;
  uint32_t efc;
  int conns, blas1;
  const char *rpc_note;
  const int *poll_us;
  int npoll;
  uint32_t pause_us;
  int pause_spin;
} ab_ctx;

/* In-process after a pause (--pause-us) beside back to back and RPC. */
static void ab_pause_md(FILE *f, const ab_ctx *c, const ab_row *rows, size_t nrows) {
  if (!c->pause_us) return;
  fprintf(f,
          "In-process with a %u us pause (%s) before each query (QPS over the search "
          "time alone), against back-to-back searches and RPC with one query in flight:\n\n"
          "| M | efSearch | recall@10 | back-to-back QPS | after a pause QPS | ratio "
          "| RPC 1 conn QPS | RPC / after a pause |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n",
          c->pause_us, c->pause_spin ? "busy-waiting" : "sleeping");
  for (size_t i = 0; i < nrows; i++) {
    const ab_row *r = &rows[i];
    if (!r->ef || r->pause_qps <= 0) continue;
    fprintf(f, "| %u | %u | %.4f | %.0f | %.0f | %.2f |", r->m, r->ef, r->recall, r->qps,
            r->pause_qps, r->pause_qps / r->qps);
    if (r->has_rpc)
      fprintf(f, " %.0f | %.2f |\n", r->rpc1_qps, r->rpc1_qps / r->pause_qps);
    else
      fprintf(f, " - | - |\n");
  }
  fprintf(f,
          "\nAt recall@10 = %.2f (interpolated as above):\n\n| M | back-to-back QPS "
          "| after a pause QPS | ratio | RPC 1 conn QPS | RPC / after a pause |\n"
          "|---:|---:|---:|---:|---:|---:|\n",
          AB_TARGET);
  for (size_t i = 0, j; i < nrows; i = j) {
    j = ab_m_end(rows, nrows, i);
    ab_at in = ab_interp(rows + i, j - i, 0), pa = ab_interp(rows + i, j - i, AB_SERIES_PAUSE),
          r1 = ab_interp(rows + i, j - i, 1);
    if (in.qps > 0 && pa.qps > 0) {
      fprintf(f, "| %u | %.0f | %.0f | %.2f |", rows[i].m, in.qps, pa.qps, pa.qps / in.qps);
      if (r1.qps > 0)
        fprintf(f, " %.0f | %.2f |\n", r1.qps, r1.qps / pa.qps);
      else
        fprintf(f, " - | - |\n");
    } else {
      fprintf(f, "| %u | - | - | - | - | - |\n", rows[i].m); /* no row reaches the target */
    }
  }
  fprintf(f, "\n");
}

/* One connection, one query in flight, per precisd --poll-us value. */
static void ab_poll_md(FILE *f, const ab_ctx *c, const ab_row *rows, size_t nrows) {
  if (c->npoll < 2) return;
  fprintf(f,
          "One connection, one query in flight, per precisd `--poll-us` (best of %d "
          "alternating rounds; ratio to in-process):\n\n| M | efSearch | recall@10 | "
          "in-process QPS |",
          AB_POLL_ROUNDS);
  for (int v = 0; v < c->npoll; v++) fprintf(f, " poll %d us QPS | ratio |", c->poll_us[v]);
  fprintf(f, "\n|---:|---:|---:|---:|");
  for (int v = 0; v < c->npoll; v++) fprintf(f, "---:|---:|");
  fprintf(f, "\n");
  for (size_t i = 0; i < nrows; i++) {
    const ab_row *r = &rows[i];
    if (!r->ef || r->rpc1_poll_qps[0] <= 0) continue;
    fprintf(f, "| %u | %u | %.4f | %.0f |", r->m, r->ef, r->recall, r->qps);
    for (int v = 0; v < c->npoll; v++)
      fprintf(f, " %.0f | %.2f |", r->rpc1_poll_qps[v], r->rpc1_poll_qps[v] / r->qps);
    fprintf(f, "\n");
  }
  fprintf(f, "\nAt recall@10 = %.2f (interpolated as above):\n\n| M | in-process QPS |", AB_TARGET);
  for (int v = 0; v < c->npoll; v++) fprintf(f, " poll %d us QPS | ratio |", c->poll_us[v]);
  fprintf(f, "\n|---:|---:|");
  for (int v = 0; v < c->npoll; v++) fprintf(f, "---:|---:|");
  fprintf(f, "\n");
  for (size_t i = 0, j; i < nrows; i = j) {
    j = ab_m_end(rows, nrows, i);
    ab_at in = ab_interp(rows + i, j - i, 0);
    fprintf(f, "| %u | %.0f |", rows[i].m, in.qps);
    for (int v = 0; v < c->npoll; v++) {
      ab_at a = ab_interp(rows + i, j - i, AB_SERIES_POLL + v);
      if (a.qps > 0 && in.qps > 0)
        fprintf(f, " %.0f | %.2f |", a.qps, a.qps / in.qps);
      else
        fprintf(f, " - | - |");
    }
    fprintf(f, "\n");
  }
  fprintf(f, "\n");
}

static void ab_markdown(FILE *f, const ab_ctx *c, const ab_build *b, size_t nb, const ab_row *rows,
                        size_t nrows) {
  fprintf(f, "## ann: recall@10 vs queries/s on %s (%zu points x %d, %zu queries)\n\n", c->set,
          c->n, AB_DIM, c->nq);
  bu_env_md(f);
  fprintf(f,
          "index HNSW<M>, efConstruction %u, cosine; one query at a time, k %d, one "
          "client thread (in-process: engine_search; RPC: precis_search against precisd "
          "with its default 2 workers, on the same machine); exact rows use the first 100 "
          "queries.\n\n",
          c->efc, AB_K);
  fprintf(f, "FAISS: %s. hnswlib: %s.\n\n", engine_faiss_build(),
          hnswb_available() ? hnswb_desc() : "not built (no libhnswlib-dev) or --no-hnswlib");
  fprintf(f,
          "| M | upsert points/s (incl. kNN edges) | index build points/s (rebuild on open) "
          "| hnswlib inserts/s |\n");
  fprintf(f, "|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < nb; i++) {
    fprintf(f, "| %u | %.0f (%.1f s) |", b[i].m, (double)c->n / b[i].upsert_s, b[i].upsert_s);
    if (b[i].rebuild_s > 0)
      fprintf(f, " %.0f (%.1f s, ann_total %llu) |", (double)c->n / b[i].rebuild_s, b[i].rebuild_s,
              (unsigned long long)b[i].ann_total);
    else
      fprintf(f, " - |");
    if (b[i].hn_build_s > 0)
      fprintf(f, " %.0f (%.1f s) |\n", (double)c->n / b[i].hn_build_s, b[i].hn_build_s);
    else
      fprintf(f, " - |\n");
  }
  fprintf(f, "\n");
  fprintf(f,
          "| M | efSearch | recall@10 | QPS | CPU QPS | p50 ms | p99 ms | RPC 1 conn QPS "
          "| RPC/in-proc | RPC %d conns QPS | RPC 1 conn pipelined QPS | RPC recall "
          "| hnswlib recall | hnswlib QPS |\n",
          c->conns);
  fprintf(f, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < nrows; i++) {
    const ab_row *r = &rows[i];
    char ef[16];
    snprintf(ef, sizeof ef, r->ef ? "%u" : "exact", r->ef);
    fprintf(f, "| %u | %s | %.4f | %.0f | %.0f | %.3f | %.3f |", r->m, ef, r->recall, r->qps,
            r->cpu_qps, r->p50_ms, r->p99_ms);
    if (r->has_rpc)
      fprintf(f, " %.0f | %.2f | %.0f | %.0f | %.4f |", r->rpc1_qps, r->rpc1_qps / r->qps,
              r->rpcN_qps, r->rpcP_qps, r->rpc1_recall);
    else
      fprintf(f, " - | - | - | - | - |");
    if (r->has_hn)
      fprintf(f, " %.4f | %.0f |\n", r->hn_recall, r->hn_qps);
    else
      fprintf(f, " - | - |\n");
  }
  fprintf(f, "\n");
  /* the target, at equal recall: each curve interpolated at AB_TARGET */
  fprintf(f,
          "At recall@10 = %.2f, each curve interpolated between the two efSearch rows "
          "around it (QPS log-linear in recall; '>=' where the smallest efSearch already "
          "exceeds it, '-' where no row reaches it):\n\n",
          AB_TARGET);
  fprintf(f,
          "| M | in-process QPS | hnswlib QPS | in-process / hnswlib | RPC 1 conn QPS "
          "| RPC 1 conn / hnswlib | RPC pipelined QPS | pipelined / hnswlib |\n");
  fprintf(f, "|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0, j; i < nrows; i = j) {
    j = ab_m_end(rows, nrows, i);
    ab_at at[4];
    for (int s = 0; s < 4; s++) at[s] = ab_interp(rows + i, j - i, s);
    fprintf(f, "| %u |", rows[i].m);
    const int order[4] = {0, 3, 1, 2}; /* the columns: in-process, hnswlib, RPC 1, pipelined */
    for (int o = 0; o < 4; o++) {
      const ab_at *a = &at[order[o]];
      if (a->qps > 0)
        fprintf(f, " %s%.0f |", a->lower_bound ? ">=" : "", a->qps);
      else
        fprintf(f, " - |");
      if (o == 0) continue; /* its ratio follows the hnswlib column */
      const ab_at *x = o == 1 ? &at[0] : a;
      if (x->qps > 0 && at[3].qps > 0)
        fprintf(f, " %.2f |", x->qps / at[3].qps);
      else
        fprintf(f, " - |");
    }
    fprintf(f, "\n");
  }
  fprintf(f, "\n");
  /* the same per thread-CPU second: steadier when the machine is shared */
  fprintf(f,
          "Per thread-CPU second at recall@10 = %.2f (both in-process, one thread):\n\n"
          "| M | Precis CPU QPS | hnswlib CPU QPS | Precis / hnswlib |\n|---:|---:|---:|---:|\n",
          AB_TARGET);
  for (size_t i = 0, j; i < nrows; i = j) {
    j = ab_m_end(rows, nrows, i);
    ab_at p = ab_interp(rows + i, j - i, 4), h = ab_interp(rows + i, j - i, 5);
    fprintf(f, "| %u | %s%.0f | %s%.0f |", rows[i].m, p.lower_bound ? ">=" : "", p.qps,
            h.lower_bound ? ">=" : "", h.qps);
    if (p.qps > 0 && h.qps > 0)
      fprintf(f, " %.2f |\n", p.qps / h.qps);
    else
      fprintf(f, " - |\n");
  }
  fprintf(f, "\n");
  ab_poll_md(f, c, rows, nrows);
  ab_pause_md(f, c, rows, nrows);
  if (c->rpc_note && c->rpc_note[0]) fprintf(f, "RPC: %s\n\n", c->rpc_note);
}

static void ab_json(FILE *f, const ab_ctx *c, const ab_build *b, size_t nb, const ab_row *rows,
                    size_t nrows) {
  fprintf(f, "{\"study\":\"ann\",");
  bu_env_json(f);
  fprintf(f, ",\"faiss\":");
  bu_json_str(f, engine_faiss_build());
  fprintf(f, ",\"hnswlib\":");
  bu_json_str(f, hnswb_available() ? hnswb_desc() : "");
  fprintf(f,
          ",\"set\":\"%s\",\"n\":%zu,\"queries\":%zu,\"k\":%d,\"ef_construction\":%u,"
          "\"rpc_conns\":%d,\"rpc_note\":",
          c->set, c->n, c->nq, AB_K, c->efc, c->conns);
  bu_json_str(f, c->rpc_note ? c->rpc_note : "");
  fprintf(f, ",\"build\":[");
  for (size_t i = 0; i < nb; i++)
    fprintf(f,
            "%s{\"m\":%u,\"upsert_s\":%.3f,\"upsert_pps\":%.1f,\"rebuild_s\":%.3f,"
            "\"rebuild_pps\":%.1f,\"ann_total\":%llu,\"hnswlib_build_s\":%.3f}",
            i ? "," : "", b[i].m, b[i].upsert_s, (double)c->n / b[i].upsert_s, b[i].rebuild_s,
            b[i].rebuild_s > 0 ? (double)c->n / b[i].rebuild_s : 0.0,
            (unsigned long long)b[i].ann_total, b[i].hn_build_s);
  fprintf(f, "],\"rows\":[");
  for (size_t i = 0; i < nrows; i++) {
    const ab_row *r = &rows[i];
    fprintf(f,
            "%s\n{\"m\":%u,\"ef\":%u,\"exact\":%s,\"recall\":%.5f,\"qps\":%.1f,"
            "\"cpu_qps\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f",
            i ? "," : "", r->m, r->ef, r->ef ? "false" : "true", r->recall, r->qps, r->cpu_qps,
            r->p50_ms, r->p99_ms);
    if (r->has_rpc)
      fprintf(f,
              ",\"rpc1_qps\":%.1f,\"rpc1_recall\":%.5f,\"rpc1_p50_ms\":%.4f,"
              "\"rpcN_qps\":%.1f,\"rpcN_recall\":%.5f,\"rpc_ratio\":%.4f",
              r->rpc1_qps, r->rpc1_recall, r->rpc1_p50_ms, r->rpcN_qps, r->rpcN_recall,
              r->rpc1_qps / r->qps);
    if (r->has_rpc)
      fprintf(f, ",\"rpc_pipelined_qps\":%.1f,\"rpc_pipelined_recall\":%.5f", r->rpcP_qps,
              r->rpcP_recall);
    if (r->pause_qps > 0)
      fprintf(f, ",\"pause_us\":%u,\"pause_qps\":%.1f", c->pause_us, r->pause_qps);
    if (r->has_hn)
      fprintf(f, ",\"hnswlib_qps\":%.1f,\"hnswlib_cpu_qps\":%.1f,\"hnswlib_recall\":%.5f",
              r->hn_qps, r->hn_cpu_qps, r->hn_recall);
    fprintf(f, "}");
  }
  fprintf(f, "\n]}\n");
}

static void ab_tsv(FILE *f, const ab_ctx *c, const ab_row *rows, size_t nrows) {
  fprintf(f, "# title: %s, %zu points\n# series\tef\trecall\tqps\n", c->set, c->n);
  for (int pass = 0; pass < 5; pass++)
    for (size_t i = 0; i < nrows; i++) {
      const ab_row *r = &rows[i];
      if (!r->ef) continue;
      if (pass == 0)
        fprintf(f, "in-process M=%u\t%u\t%.5f\t%.1f\n", r->m, r->ef, r->recall, r->qps);
      else if (pass == 1 && r->has_rpc)
        fprintf(f, "RPC 1 conn M=%u\t%u\t%.5f\t%.1f\n", r->m, r->ef, r->rpc1_recall, r->rpc1_qps);
      else if (pass == 2 && r->has_rpc)
        fprintf(f, "RPC %d conns M=%u\t%u\t%.5f\t%.1f\n", c->conns, r->m, r->ef, r->rpcN_recall,
                r->rpcN_qps);
      else if (pass == 3 && r->has_rpc)
        fprintf(f, "RPC 1 conn pipelined M=%u\t%u\t%.5f\t%.1f\n", r->m, r->ef, r->rpcP_recall,
                r->rpcP_qps);
      else if (pass == 4 && r->has_hn)
        fprintf(f, "hnswlib M=%u\t%u\t%.5f\t%.1f\n", r->m, r->ef, r->hn_recall, r->hn_qps);
    }
}

static void ab_usage(FILE *f) {
  fprintf(f,
          "usage: precis-bench ann [--set glove-small|glove]\n"
          "                        [--ef 16,24,32,48,64,96,128,192,256,384,512]\n"
          "                        [--m 16,32] [--efc 200] [--queries N] [--conns 4]\n"
          "                        [--no-rpc] [--rpc-all-m] [--no-rebuild] [--no-hnswlib]\n"
          "                        [--poll-us 0,50] [--pause-us N] [--pause-spin] [--out DIR]\n"
          "  --poll-us: precisd's --poll-us for the RPC routes; with several values the\n"
          "  one-in-flight route is repeated for each, %d alternating rounds, best kept\n"
          "  --pause-us: also search in-process with an N us pause before each query\n"
          "  (QPS over the search time alone); --pause-spin: busy-wait through it\n",
          AB_POLL_ROUNDS);
}

int bench_ann(int argc, char **argv) {
  const char *set = "glove-small", *out = NULL;
  uint32_t efs[AB_MAX_LIST] = {16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512},
           ms[AB_MAX_LIST] = {16, 32};
  int nef = 11, nm = 2, rpc = 1, rpc_all = 0, rebuild = 1, conns = 4, hnswlib = 1;
  int poll_us[AB_MAX_POLL], npoll = 0, pause_spin = 0;
  uint32_t efc = 200, pause_us = 0;
  size_t maxq = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      ab_usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--no-rpc")) {
      rpc = 0;
      continue;
    }
    if (!strcmp(a, "--rpc-all-m")) {
      rpc_all = 1;
      continue;
    }
    if (!strcmp(a, "--no-rebuild")) {
      rebuild = 0;
      continue;
    }
    if (!strcmp(a, "--no-hnswlib")) {
      hnswlib = 0;
      continue;
    }
    if (!strcmp(a, "--pause-spin")) {
      pause_spin = 1;
      continue;
    }
    if (!v) {
      ab_usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--set"))
      set = v;
    else if (!strcmp(a, "--ef"))
      nef = bench_parse_list(v, efs, AB_MAX_LIST);
    else if (!strcmp(a, "--m"))
      nm = bench_parse_list(v, ms, AB_MAX_LIST);
    else if (!strcmp(a, "--efc"))
      efc = (uint32_t)strtoul(v, NULL, 10);
    else if (!strcmp(a, "--queries"))
      maxq = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--conns"))
      conns = atoi(v);
    else if (!strcmp(a, "--pause-us")) {
      unsigned long pv = strtoul(v, NULL, 10);
      pause_us = (uint32_t)(pv > 1000000 ? 1000000 : pv);
    } else if (!strcmp(a, "--poll-us")) {
      uint32_t pv[AB_MAX_POLL];
      npoll = bench_parse_list(v, pv, AB_MAX_POLL);
      for (int k = 0; k < npoll; k++) poll_us[k] = (int)(pv[k] > 10000 ? 10000 : pv[k]);
      if (npoll < 1) {
        ab_usage(stderr);
        return 2;
      }
    } else if (!strcmp(a, "--out"))
      out = v;
    else {
      ab_usage(stderr);
      return 2;
    }
  }
  if (nef < 1 || nm < 1 || conns < 1 || conns > 64 || strncmp(set, "glove", 5)) {
    ab_usage(stderr);
    return 2;
  }
  for (int i = 0; i < nef; i++)
    if (efs[i] < 1) {
      fprintf(stderr, "precis-bench ann: efSearch must be >= 1\n");
      return 2;
    }
  if (bu_need_set("ann", set)) return 1;
  int blas1 = bench_blas_single_thread();
  ab_data d = {0};
  char p[4096];
  size_t nq2, ngt;
  int rc = 1;
  ab_row *rows = NULL;
  ab_build *b = NULL;
  double *lat = NULL;
  char note[512] = "";
  ds_path(p, sizeof p, set, "base.f32");
  if (ds_load_f32(p, AB_DIM, &d.base, &d.n)) goto io;
  ds_path(p, sizeof p, set, "queries.f32");
  if (ds_load_f32(p, AB_DIM, &d.q, &d.nq)) goto io;
  ds_path(p, sizeof p, set, "gt100.i32");
  if (ds_load_i32(p, 100, &d.gt, &ngt)) goto io;
  nq2 = d.nq < ngt ? d.nq : ngt;
  if (maxq && maxq < nq2) nq2 = maxq;
  d.nq = nq2;
  rows = calloc((size_t)nm * (size_t)(nef + 1), sizeof *rows);
  b = calloc((size_t)nm, sizeof *b);
  lat = malloc(d.nq * sizeof *lat);
  if (!rows || !b || !lat) goto done;
  uint32_t mmax = 0;
  for (int i = 0; i < nm; i++) mmax = ms[i] > mmax ? ms[i] : mmax;
  for (int i = 0; i < nm; i++) {
    int do_rpc = rpc && (rpc_all || ms[i] == mmax);
    if (ab_one_m(&d, ms[i], efc, efs, nef, d.nq, rebuild, do_rpc, conns, poll_us, npoll, pause_us,
                 pause_spin, hnswlib, &b[i], rows + (size_t)i * (size_t)(nef + 1), lat, note,
                 sizeof note))
      goto done;
  }
  if (!rpc) snprintf(note, sizeof note, "skipped (--no-rpc)");
  ab_ctx c = {.set = set,
              .n = d.n,
              .nq = d.nq,
              .efc = efc,
              .conns = conns,
              .blas1 = blas1,
              .rpc_note = note,
              .poll_us = poll_us,
              .npoll = npoll,
              .pause_us = pause_us,
              .pause_spin = pause_spin};
  size_t nrows = (size_t)nm * (size_t)(nef + 1);
  ab_markdown(stdout, &c, b, (size_t)nm, rows, nrows);
  rc = 0;
  if (out) {
    FILE *f;
    if ((f = bu_open_out(out, "ann.md"))) {
      ab_markdown(f, &c, b, (size_t)nm, rows, nrows);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if ((f = bu_open_out(out, "ann.json"))) {
      ab_json(f, &c, b, (size_t)nm, rows, nrows);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if ((f = bu_open_out(out, "ann.tsv"))) {
      ab_tsv(f, &c, rows, nrows);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if (!rc) rc = bu_plot("ann", out) ? 1 : 0;
  }
  goto done;
io:
  perror(p);
done:
  free(d.base);
  free(d.q);
  free(d.gt);
  free(rows);
  free(b);
  free(lat);
  return rc;
}
