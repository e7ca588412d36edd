/*
 * study_load.c: `precis-bench load`, precisd under many concurrent clients.
 *
 *   precis-bench load [--connections 64] [--seconds 20] [--set glove-small]
 *                     [--workers 2] [--preload N] [--port P [--host H]]
 *                     [--no-limits] [--out DIR]
 *
 * Starts precisd (build/precisd, or $PRECISD) on a fresh data directory, or
 * connects to a running one with --port. Preloads a cosine collection with
 * the set's base vectors (each with text and metadata), then runs
 * --connections client threads, each with its own precis_conn, for
 * --seconds. Each thread draws its next operation: retrieve (40%, COMPRESS,
 * k 10, server defaults, a query vector of the set), search (40%, ANN top
 * 10) or upsert (20%, one point, durable: half new ids, half replacing a
 * preloaded point with its own vector and new text). Reported: throughput,
 * per operation p50 / p99 / p99.9 latency, errors (any error is reported
 * and makes the exit status 1), the server's RSS (stats rss_bytes) before
 * and after the load.
 *
 * Then, unless --no-limits or --port: a second precisd with
 * --max-connections 4 --idle-timeout 1 checks that the 5th connection is
 * refused cleanly (its first call answers BUSY), that a slot frees when a
 * client leaves, that an idle connection is closed after the timeout
 * (the next call fails with CONNECTION) and that a busy one is not.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_util.h"
#include "dataset.h"
#include "precis/precis.h"
#include "srvproc.h"

#define LD_COLL "load"
enum { LD_RETRIEVE, LD_SEARCH, LD_UPSERT, LD_NOPS };
static const char *LD_NAMES[LD_NOPS] = {"retrieve", "search", "upsert"};

typedef struct {
  const char *host;
  uint16_t port;
  int conns, seconds, workers, limits;
  size_t preload;
  const char *set, *out;
} ld_opts;

typedef struct {
  /* shared, read-only */
  const ld_opts *o;
  const float *base, *queries;
  size_t nbase, nq;
  uint32_t dim;
  uint64_t t_end;
  atomic_int *go;
  /* per thread */
  int idx;
  double *lat[LD_NOPS]; /* microseconds */
  size_t n[LD_NOPS], cap[LD_NOPS];
  uint64_t errors[LD_NOPS];
  char first_err[256];
  int connect_failed;
} ld_thread;

static uint64_t ld_rand(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static void ld_record(ld_thread *t, int op, double us) {
  if (t->n[op] == t->cap[op]) {
    size_t nc = t->cap[op] ? t->cap[op] * 2 : 4096;
    double *nb = realloc(t->lat[op], nc * sizeof *nb);
    if (!nb) return;
    t->lat[op] = nb;
    t->cap[op] = nc;
  }
  t->lat[op][t->n[op]++] = us;
}

static void *ld_worker(void *arg) {
  ld_thread *t = arg;
  precis_conn *c = NULL;
  precis_error err;
  if (precis_connect(t->o->host, t->o->port, NULL, 30000, &c, &err)) {
    t->connect_failed = 1;
    snprintf(t->first_err, sizeof t->first_err, "connect: %.200s", err.msg);
    return NULL;
  }
  uint64_t rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(t->idx + 1);
  precis_hit hits[10];
  size_t nh;
  char text[64], meta[64];
  uint64_t seq = 0;
  while (!atomic_load(t->go)) usleep(1000);
  while (bench_now_ns() < t->t_end) {
    uint64_t r = ld_rand(&rng) % 100;
    int op = r < 40 ? LD_RETRIEVE : r < 80 ? LD_SEARCH : LD_UPSERT;
    const float *q = t->queries + (ld_rand(&rng) % t->nq) * t->dim;
    int rc;
    uint64_t t0 = bench_now_ns();
    if (op == LD_RETRIEVE) {
      precis_retrieve_params p;
      precis_retrieve_params_init(&p);
      p.vector = q;
      p.dim = t->dim;
      p.k = 10;
      precis_retrieve_result *res = NULL;
      rc = precis_retrieve(c, LD_COLL, &p, &res, &err);
      precis_retrieve_result_free(res);
    } else if (op == LD_SEARCH) {
      rc = precis_search(c, LD_COLL, q, t->dim, 10, NULL, hits, &nh, &err);
    } else {
      precis_point pt;
      uint64_t id;
      const float *v;
      if (ld_rand(&rng) & 1) {
        id = 1000000000ULL + (uint64_t)t->idx * 10000000ULL + seq++;
        v = q;
      } else {
        id = ld_rand(&rng) % t->o->preload;
        v = t->base + id * t->dim;
      }
      snprintf(text, sizeof text, "load thread %d op %llu", t->idx, (unsigned long long)seq);
      snprintf(meta, sizeof meta, "{\"thread\": %d}", t->idx);
      pt = (precis_point){id, v, t->dim, text, meta, -1};
      rc = precis_upsert(c, LD_COLL, &pt, 1, NULL, &err);
    }
    double us = (double)(bench_now_ns() - t0) / 1e3;
    if (rc) {
      if (!t->errors[0] && !t->errors[1] && !t->errors[2])
        snprintf(t->first_err, sizeof t->first_err, "%s: %s: %.200s", LD_NAMES[op],
                 precis_status_name(rc), err.msg);
      t->errors[op]++;
      if (rc == PRECIS_E_CONNECTION) break;
    } else {
      ld_record(t, op, us);
    }
  }
  precis_close(c);
  return NULL;
}

/* ---- limit checks on a second server ---- */

typedef struct {
  int busy_status; /* status of the 5th connection's first call */
  char busy_msg[160];
  int slot_after_close; /* status of a call on a new connection after one left */
  int idle_status;      /* status after idling past the timeout */
  int active_status;    /* status of a connection kept busy for as long */
  int ok;
} ld_limits;

static void ld_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
}

static int ld_check_limits(ld_limits *L) {
  memset(L, 0, sizeof *L);
  char *dir = NULL;
  {
    const char *tmp = getenv("TMPDIR");
    size_t n = strlen(tmp && *tmp ? tmp : "/tmp") + 40;
    dir = malloc(n);
    snprintf(dir, n, "%s/precis-bench-limits-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return -1;
  }
  const char *extra[] = {"--max-connections", "4", "--idle-timeout", "1", NULL};
  srvproc srv;
  int port = srvproc_start(dir, extra, &srv);
  if (port <= 0) return -1;
  precis_conn *c[5] = {0};
  precis_error err;
  precis_health h;
  int good = 1;
  for (int i = 0; i < 4; i++) {
    if (precis_connect("127.0.0.1", (uint16_t)port, NULL, 5000, &c[i], &err) ||
        precis_health_check(c[i], &h, &err))
      good = 0;
  }
  /* the 5th: accepted by TCP, answered BUSY (id 0) and closed */
  if (precis_connect("127.0.0.1", (uint16_t)port, NULL, 5000, &c[4], &err) == 0) {
    memset(&err, 0, sizeof err);
    L->busy_status = precis_health_check(c[4], &h, &err);
    snprintf(L->busy_msg, sizeof L->busy_msg, "%.120s", err.msg);
    precis_close(c[4]);
  } else {
    L->busy_status = err.code;
    snprintf(L->busy_msg, sizeof L->busy_msg, "connect: %.100s", err.msg);
  }
  /* one leaves: a new client gets its slot */
  precis_close(c[3]);
  c[3] = NULL;
  ld_sleep_ms(200);
  precis_conn *n = NULL;
  L->slot_after_close = precis_connect("127.0.0.1", (uint16_t)port, NULL, 5000, &n, &err);
  if (!L->slot_after_close) L->slot_after_close = precis_health_check(n, &h, &err);
  precis_close(n);
  /* c[0] idles 2.5 s (timeout 1 s); c[1] stays busy meanwhile */
  for (int i = 0; i < 10; i++) {
    ld_sleep_ms(250);
    if (precis_health_check(c[1], &h, &err)) L->active_status = err.code;
  }
  L->idle_status = precis_health_check(c[0], &h, &err);
  for (int i = 0; i < 4; i++) precis_close(c[i]);
  srvproc_stop(&srv);
  srvproc_cleanup(&srv);
  bu_rmrf_free(dir);
  L->ok = good && L->busy_status == PRECIS_E_BUSY && L->slot_after_close == 0 &&
          L->idle_status == PRECIS_E_CONNECTION && L->active_status == 0;
  return 0;
}

/* ---- main ---- */

static void ld_usage(void) {
  fprintf(stderr,
          "usage: precis-bench load [--connections 64] [--seconds 20] [--set glove-small]\n"
          "                         [--workers 2] [--preload N] [--port P [--host H]]\n"
          "                         [--no-limits] [--out DIR]\n");
}

static int ld_stats(precis_conn *c, uint64_t *rss) {
  precis_stats st;
  precis_error err;
  if (precis_stats_get(c, &st, &err)) return -1;
  *rss = st.rss_bytes;
  return 0;
}

int bench_load(int argc, char **argv) {
  ld_opts o = {"127.0.0.1", 0, 64, 20, 2, 1, 0, "glove-small", NULL};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--connections") && v)
      o.conns = atoi(v), i++;
    else if (!strcmp(a, "--seconds") && v)
      o.seconds = atoi(v), i++;
    else if (!strcmp(a, "--set") && v)
      o.set = v, i++;
    else if (!strcmp(a, "--workers") && v)
      o.workers = atoi(v), i++;
    else if (!strcmp(a, "--preload") && v)
      o.preload = (size_t)atoll(v), i++;
    else if (!strcmp(a, "--port") && v)
      o.port = (uint16_t)atoi(v), i++;
    else if (!strcmp(a, "--host") && v)
      o.host = v, i++;
    else if (!strcmp(a, "--out") && v)
      o.out = v, i++;
    else if (!strcmp(a, "--no-limits"))
      o.limits = 0;
    else {
      ld_usage();
      return !strcmp(a, "--help") ? 0 : 2;
    }
  }
  if (o.conns < 1 || o.conns > 4096 || o.seconds < 1) {
    ld_usage();
    return 2;
  }
  /* data */
  char path[1024];
  if (!ds_available(o.set)) {
    fprintf(stderr, "precis-bench load: data set %s missing (make data, scripts/fetch-data.sh)\n",
            o.set);
    return 1;
  }
  float *base = NULL, *queries = NULL;
  size_t nbase = 0, nq = 0;
  const uint32_t dim = 100;
  ds_path(path, sizeof path, o.set, "base.f32");
  if (ds_load_f32(path, dim, &base, &nbase)) return 1;
  ds_path(path, sizeof path, o.set, "queries.f32");
  if (ds_load_f32(path, dim, &queries, &nq)) return 1;
  if (!o.preload || o.preload > nbase) o.preload = nbase;

  /* server */
  srvproc srv = {0};
  char *dir = NULL;
  int own = o.port == 0;
  if (own) {
    const char *tmp = getenv("TMPDIR");
    size_t n = strlen(tmp && *tmp ? tmp : "/tmp") + 40;
    dir = malloc(n);
    snprintf(dir, n, "%s/precis-bench-load-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return 1;
    char workers[16];
    snprintf(workers, sizeof workers, "%d", o.workers);
    const char *extra[] = {"--workers", workers, NULL};
    int port = srvproc_start(dir, extra, &srv);
    if (port <= 0) return 1;
    o.port = (uint16_t)port;
  }
  precis_conn *adm = NULL;
  precis_error err;
  if (precis_connect(o.host, o.port, NULL, 60000, &adm, &err)) {
    fprintf(stderr, "precis-bench load: connect: %s\n", err.msg);
    return 1;
  }
  uint64_t rss_empty = 0, rss_before = 0, rss_after = 0;
  ld_stats(adm, &rss_empty);
  precis_collection_config cfg;
  precis_collection_config_init(&cfg, dim);
  precis_collection_drop(adm, LD_COLL, NULL); /* an external server may have one */
  if (precis_collection_create(adm, LD_COLL, &cfg, NULL, &err)) {
    fprintf(stderr, "precis-bench load: create: %s\n", err.msg);
    return 1;
  }
  fprintf(stderr, "load: preloading %zu points of %s\n", o.preload, o.set);
  uint64_t tp = bench_now_ns();
  {
    enum { B = 1000 };
    static precis_point pts[B];
    static char texts[B][48], metas[B][48];
    for (size_t at = 0; at < o.preload; at += B) {
      size_t m = o.preload - at < B ? o.preload - at : B;
      for (size_t j = 0; j < m; j++) {
        snprintf(texts[j], sizeof texts[j], "row %zu", at + j);
        snprintf(metas[j], sizeof metas[j], "{\"row\": %zu}", at + j);
        pts[j] = (precis_point){at + j, base + (at + j) * dim, dim, texts[j], metas[j], -1};
      }
      if (precis_upsert(adm, LD_COLL, pts, m, NULL, &err)) {
        fprintf(stderr, "precis-bench load: preload: %s\n", err.msg);
        return 1;
      }
    }
  }
  double preload_s = (double)(bench_now_ns() - tp) / 1e9;
  ld_stats(adm, &rss_before);

  /* load */
  atomic_int go = 0;
  ld_thread *th = calloc((size_t)o.conns, sizeof *th);
  pthread_t *tid = calloc((size_t)o.conns, sizeof *tid);
  for (int i = 0; i < o.conns; i++) {
    th[i] = (ld_thread){.o = &o,
                        .base = base,
                        .queries = queries,
                        .nbase = nbase,
                        .nq = nq,
                        .dim = dim,
                        .go = &go,
                        .idx = i};
    pthread_create(&tid[i], NULL, ld_worker, &th[i]);
  }
  usleep(200000); /* let every thread connect */
  uint64_t t0 = bench_now_ns();
  for (int i = 0; i < o.conns; i++) th[i].t_end = t0 + (uint64_t)o.seconds * 1000000000ULL;
  atomic_store(&go, 1);
  for (int i = 0; i < o.conns; i++) pthread_join(tid[i], NULL);
  double wall = (double)(bench_now_ns() - t0) / 1e9;
  ld_stats(adm, &rss_after);
  precis_collection_info info;
  memset(&info, 0, sizeof info);
  precis_collection_describe(adm, LD_COLL, &info, &err);

  /* merge */
  size_t tot[LD_NOPS] = {0};
  uint64_t errs[LD_NOPS] = {0}, all_ops = 0, all_errs = 0;
  int conn_fail = 0;
  const char *first_err = NULL;
  for (int i = 0; i < o.conns; i++) {
    conn_fail += th[i].connect_failed;
    if (th[i].first_err[0] && !first_err) first_err = th[i].first_err;
    for (int k = 0; k < LD_NOPS; k++) {
      tot[k] += th[i].n[k];
      errs[k] += th[i].errors[k];
    }
  }
  double *lat[LD_NOPS], q[LD_NOPS][4];
  for (int k = 0; k < LD_NOPS; k++) {
    lat[k] = malloc((tot[k] ? tot[k] : 1) * sizeof(double));
    size_t at = 0;
    for (int i = 0; i < o.conns; i++) {
      if (th[i].n[k]) memcpy(lat[k] + at, th[i].lat[k], th[i].n[k] * sizeof(double));
      at += th[i].n[k];
    }
    q[k][0] = tot[k] ? bench_quantile(lat[k], tot[k], 0.5) : 0;
    q[k][1] = tot[k] ? bench_quantile(lat[k], tot[k], 0.99) : 0;
    q[k][2] = tot[k] ? bench_quantile(lat[k], tot[k], 0.999) : 0;
    q[k][3] = tot[k] ? bench_quantile(lat[k], tot[k], 1.0) : 0;
    all_ops += tot[k];
    all_errs += errs[k];
  }
  precis_close(adm);
  if (own) {
    srvproc_stop(&srv);
    srvproc_cleanup(&srv);
    bu_rmrf_free(dir);
  }

  ld_limits L;
  int limits_ran = own && o.limits && ld_check_limits(&L) == 0;

  /* report */
  FILE *outs[2] = {stdout, NULL};
  if (o.out) {
    if (bench_mkdir(o.out) == 0) {
      snprintf(path, sizeof path, "%s/load.md", o.out);
      outs[1] = fopen(path, "w");
    }
  }
  for (int f = 0; f < 2; f++) {
    FILE *F = outs[f];
    if (!F) continue;
    fprintf(F, "# precis-bench load\n\n");
    fprintf(F, "- set %s, %zu preloaded points (dim %u, cosine, default index), preload %.1f s\n",
            o.set, o.preload, dim, preload_s);
    fprintf(F, "- %d connections (one thread each), %d s, server workers %d%s, %d CPUs online\n",
            o.conns, o.seconds, o.workers, own ? "" : " (external server)",
            (int)sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(F,
            "- mix: retrieve 40%% (COMPRESS k 10), search 40%% (ANN k 10), upsert 20%% (1 point, "
            "fsynced)\n\n");
    fprintf(F, "| op | count | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | errors |\n");
    fprintf(F, "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < LD_NOPS; k++)
      fprintf(F, "| %s | %zu | %.0f | %.2f | %.2f | %.2f | %.2f | %llu |\n", LD_NAMES[k], tot[k],
              (double)tot[k] / wall, q[k][0] / 1e3, q[k][1] / 1e3, q[k][2] / 1e3, q[k][3] / 1e3,
              (unsigned long long)errs[k]);
    fprintf(F, "| **all** | %llu | %.0f | | | | | %llu |\n\n", (unsigned long long)all_ops,
            (double)all_ops / wall, (unsigned long long)all_errs);
    fprintf(F, "- connect failures: %d%s%s\n", conn_fail, first_err ? "; first error: " : "",
            first_err ? first_err : "");
    fprintf(
        F,
        "- server RSS: empty %.1f MiB, after preload %.1f MiB, after load %.1f MiB (%+.1f MiB)\n",
        rss_empty / 1048576.0, rss_before / 1048576.0, rss_after / 1048576.0,
        ((double)rss_after - (double)rss_before) / 1048576.0);
    fprintf(F, "- collection after: %llu points, %llu kNN edges\n", (unsigned long long)info.count,
            (unsigned long long)info.knn_edges);
    if (limits_ran) {
      fprintf(F, "\nLimits (second server, --max-connections 4 --idle-timeout 1):\n\n");
      fprintf(F, "- 5th connection: first call answered %s (%s)%s\n",
              precis_status_name(L.busy_status), L.busy_msg,
              L.busy_status == PRECIS_E_BUSY ? ": refused cleanly" : ": NOT BUSY");
      fprintf(F, "- after one client left, a new connection: %s\n",
              precis_status_name(L.slot_after_close));
      fprintf(F, "- idle 2.5 s: next call %s; busy connection meanwhile: %s\n",
              precis_status_name(L.idle_status), precis_status_name(L.active_status));
      fprintf(F, "- limits check: %s\n", L.ok ? "PASS" : "FAIL");
    }
  }
  if (outs[1]) fclose(outs[1]);
  if (o.out) {
    snprintf(path, sizeof path, "%s/load.json", o.out);
    FILE *J = fopen(path, "w");
    if (J) {
      fprintf(J,
              "{\"study\":\"load\",\"set\":\"%s\",\"connections\":%d,\"seconds\":%d,"
              "\"workers\":%d,\"preload\":%zu,\"wall_s\":%.3f,\"ops\":{",
              o.set, o.conns, o.seconds, o.workers, o.preload, wall);
      for (int k = 0; k < LD_NOPS; k++)
        fprintf(J,
                "%s\"%s\":{\"count\":%zu,\"per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
                "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%llu}",
                k ? "," : "", LD_NAMES[k], tot[k], (double)tot[k] / wall, q[k][0] / 1e3,
                q[k][1] / 1e3, q[k][2] / 1e3, q[k][3] / 1e3, (unsigned long long)errs[k]);
      fprintf(J, "},\"rss_bytes\":{\"empty\":%llu,\"before\":%llu,\"after\":%llu}",
              (unsigned long long)rss_empty, (unsigned long long)rss_before,
              (unsigned long long)rss_after);
      if (limits_ran)
        fprintf(J,
                ",\"limits\":{\"busy\":\"%s\",\"slot_after_close\":\"%s\",\"idle\":\"%s\","
                "\"active\":\"%s\",\"ok\":%s}",
                precis_status_name(L.busy_status), precis_status_name(L.slot_after_close),
                precis_status_name(L.idle_status), precis_status_name(L.active_status),
                L.ok ? "true" : "false");
      fprintf(J, "}\n");
      fclose(J);
    }
  }
  for (int i = 0; i < o.conns; i++)
    for (int k = 0; k < LD_NOPS; k++) free(th[i].lat[k]);
  for (int k = 0; k < LD_NOPS; k++) free(lat[k]);
  free(th);
  free(tid);
  free(base);
  free(queries);
  return (all_errs || conn_fail || (limits_ran && !L.ok)) ? 1 : 0;
}
