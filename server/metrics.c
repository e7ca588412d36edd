/* metrics.c: the Prometheus endpoint of precisd (see srv_metrics.h and
 * docs/OPERATIONS.md for every metric). */
#include "srv_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "precis.pb-c.h"
#include "srv.h"
#include "srv_log.h"
#include "srv_net.h"

#define M_MAX_OPS          128                        /* Request.op field numbers below this */
#define M_STATUS_SLOTS     (PRECIS__STATUS_COUNT + 1) /* the last one: unknown codes */
#define M_MAX_SCRAPERS     8                          /* concurrent scrape connections */
#define M_SCRAPE_TIMEOUT_S 10

typedef atomic_uint_fast64_t m_ctr;

/* Upper bounds of the histogram buckets (+Inf is implicit). */
static const double lat_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                    0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                    0.5,     1,      2.5,     5,      10};
#define LAT_N (sizeof lat_bounds / sizeof lat_bounds[0])
static const double pool_bounds[] = {10, 25, 50, 100, 200, 300, 500, 1000, 2000, 5000};
#define POOL_N (sizeof pool_bounds / sizeof pool_bounds[0])
static const double items_bounds[] = {1, 2, 3, 5, 8, 10, 15, 20, 50, 100, 1000};
#define ITEMS_N (sizeof items_bounds / sizeof items_bounds[0])
static const double ratio_bounds[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1};
#define RATIO_N (sizeof ratio_bounds / sizeof ratio_bounds[0])
static const double tok_bounds[] = {100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 100000};
#define TOK_N      (sizeof tok_bounds / sizeof tok_bounds[0])
#define MAX_BOUNDS 17

/* A histogram: per-bucket (not cumulative) counts and the sum, scaled. */
typedef struct {
  m_ctr bucket[MAX_BOUNDS + 1];
  m_ctr sum; /* in units of 1/scale */
} m_hist;

enum { ST_SEED, ST_EXPAND, ST_SELECT, ST_TOTAL, ST_N };
static const char *const stage_names[ST_N] = {"seed", "expand", "select", "total"};

struct srv_metrics {
  srv_server *s;
  struct MHD_Daemon *mhd;
  const char *op_name[M_MAX_OPS];
  m_ctr requests[M_MAX_OPS][M_STATUS_SLOTS];
  m_hist latency[M_MAX_OPS];                        /* microseconds */
  m_hist stage[ST_N];                               /* microseconds */
  m_hist pool, items, tokens, coverage, redundancy; /* ratios in 1e-6 */
  m_ctr busy;                                       /* dispatches in progress */
  m_ctr scrapes;
  m_ctr scrape_us;
};

static void hist_add(m_hist *h, const double *bounds, size_t nb, double v, uint64_t scaled) {
  size_t i = 0;
  while (i < nb && v > bounds[i]) i++;
  atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->sum, scaled, memory_order_relaxed);
}

uint64_t srv_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t srv_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  if (n != 2) return 0;
  long page = sysconf(_SC_PAGESIZE);
  return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

srv_metrics *srv_metrics_create(srv_server *s) {
  srv_metrics *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->s = s;
  /* operation names from the schema: every field of Request but `id` */
  const ProtobufCMessageDescriptor *d = &precis__v1__request__descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->id < M_MAX_OPS && strcmp(f->name, "id") != 0) m->op_name[f->id] = f->name;
  }
  return m;
}

void srv_metrics_request(srv_metrics *m, int op, int code, uint64_t us) {
  if (!m) return;
  if (op < 0 || op >= M_MAX_OPS || !m->op_name[op]) op = 0;
  int sc = code >= 0 && code < PRECIS__STATUS_COUNT ? code : M_STATUS_SLOTS - 1;
  atomic_fetch_add_explicit(&m->requests[op][sc], 1, memory_order_relaxed);
  hist_add(&m->latency[op], lat_bounds, LAT_N, (double)us / 1e6, us);
}

void srv_metrics_busy(srv_metrics *m, int delta) {
  if (!m) return;
  if (delta > 0)
    atomic_fetch_add_explicit(&m->busy, 1, memory_order_relaxed);
  else
    atomic_fetch_sub_explicit(&m->busy, 1, memory_order_relaxed);
}

void srv_metrics_retrieve(srv_metrics *m, const engine_retrieve_result *r) {
  if (!m || !r) return;
  const uint64_t t[ST_N] = {r->t_seed_us, r->t_expand_us, r->t_select_us, r->t_total_us};
  for (int i = 0; i < ST_N; i++)
    hist_add(&m->stage[i], lat_bounds, LAT_N, (double)t[i] / 1e6, t[i]);
  hist_add(&m->pool, pool_bounds, POOL_N, r->pool_size, r->pool_size);
  hist_add(&m->items, items_bounds, ITEMS_N, (double)r->n, r->n);
  uint64_t tok = 0;
  for (size_t i = 0; i < r->n; i++) tok += r->items[i].tokens;
  hist_add(&m->tokens, tok_bounds, TOK_N, (double)tok, tok);
  double cov = r->coverage_ratio < 0 ? 0 : r->coverage_ratio;
  double red = r->redundancy < 0 ? 0 : r->redundancy;
  hist_add(&m->coverage, ratio_bounds, RATIO_N, cov, (uint64_t)(cov * 1e6));
  hist_add(&m->redundancy, ratio_bounds, RATIO_N, red, (uint64_t)(red * 1e6));
}

/* ---- rendering ---- */

typedef struct {
  char *p;
  size_t n, cap;
  int oom;
} mbuf;

static void out(mbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void out(mbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = 1;
      return;
    }
    if ((size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    size_t cap = b->cap * 2 + (size_t)k;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
}

static void head(mbuf *b, const char *name, const char *type, const char *help) {
  out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(mbuf *b, const char *name, const char *help, uint64_t v) {
  head(b, name, "gauge", help);
  out(b, "%s %llu\n", name, (unsigned long long)v);
}

static void counter(mbuf *b, const char *name, const char *help, uint64_t v) {
  head(b, name, "counter", help);
  out(b, "%s %llu\n", name, (unsigned long long)v);
}

/* One histogram series; `labels` is "" or `k="v",` (with the comma). */
static void hist_series(mbuf *b, const char *name, const char *labels, m_hist *h,
                        const double *bounds, size_t nb, double scale) {
  uint64_t cum = 0;
  for (size_t i = 0; i <= nb; i++) {
    cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
    if (i < nb)
      out(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bounds[i], (unsigned long long)cum);
    else
      out(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
  }
  size_t ll = strlen(labels);
  double sum = (double)atomic_load_explicit(&h->sum, memory_order_relaxed) / scale;
  if (ll) {
    /* labels without the trailing comma */
    out(b, "%s_sum{%.*s} %.9g\n%s_count{%.*s} %llu\n", name, (int)ll - 1, labels, sum, name,
        (int)ll - 1, labels, (unsigned long long)cum);
  } else {
    out(b, "%s_sum %.9g\n%s_count %llu\n", name, sum, name, (unsigned long long)cum);
  }
}

static uint64_t hist_count(m_hist *h, size_t nb) {
  uint64_t c = 0;
  for (size_t i = 0; i <= nb; i++) c += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
  return c;
}

static const char *op_label(const srv_metrics *m, int op) {
  return op ? m->op_name[op] : "unknown";
}

static void render_requests(srv_metrics *m, mbuf *b) {
  head(b, "precis_requests_total", "counter",
       "Requests answered by the dispatcher, by operation and status.");
  for (int op = 0; op < M_MAX_OPS; op++) {
    if (op && !m->op_name[op]) continue;
    for (int sc = 0; sc < M_STATUS_SLOTS; sc++) {
      uint64_t v = atomic_load_explicit(&m->requests[op][sc], memory_order_relaxed);
      if (!v) continue;
      out(b, "precis_requests_total{op=\"%s\",status=\"%s\"} %llu\n", op_label(m, op),
          sc < PRECIS__STATUS_COUNT ? precis_status_name(sc) : "UNKNOWN", (unsigned long long)v);
    }
  }
  head(b, "precis_request_duration_seconds", "histogram",
       "Time from dispatch to encoded response, by operation (excludes time queued).");
  for (int op = 0; op < M_MAX_OPS; op++) {
    if ((op && !m->op_name[op]) || !hist_count(&m->latency[op], LAT_N)) continue;
    char lab[96];
    snprintf(lab, sizeof lab, "op=\"%s\",", op_label(m, op));
    hist_series(b, "precis_request_duration_seconds", lab, &m->latency[op], lat_bounds, LAT_N, 1e6);
  }
}

static void render_retrieve(srv_metrics *m, mbuf *b) {
  head(b, "precis_retrieve_stage_seconds", "histogram",
       "Retrieve time per stage: seed (ANN), expand (graph), select (set selection), total.");
  for (int i = 0; i < ST_N; i++) {
    char lab[48];
    snprintf(lab, sizeof lab, "stage=\"%s\",", stage_names[i]);
    hist_series(b, "precis_retrieve_stage_seconds", lab, &m->stage[i], lat_bounds, LAT_N, 1e6);
  }
  head(b, "precis_retrieve_pool_size", "histogram", "Candidates in the pool selection chose from.");
  hist_series(b, "precis_retrieve_pool_size", "", &m->pool, pool_bounds, POOL_N, 1);
  head(b, "precis_retrieve_selected_items", "histogram", "Items in the selected set.");
  hist_series(b, "precis_retrieve_selected_items", "", &m->items, items_bounds, ITEMS_N, 1);
  head(b, "precis_retrieve_selected_tokens", "histogram", "Total tokens of the selected set.");
  hist_series(b, "precis_retrieve_selected_tokens", "", &m->tokens, tok_bounds, TOK_N, 1);
  head(b, "precis_retrieve_coverage_ratio", "histogram",
       "Share of the pool's relevance mass the selected set covers.");
  hist_series(b, "precis_retrieve_coverage_ratio", "", &m->coverage, ratio_bounds, RATIO_N, 1e6);
  head(b, "precis_retrieve_redundancy", "histogram",
       "Mean pairwise similarity within the selected set.");
  hist_series(b, "precis_retrieve_redundancy", "", &m->redundancy, ratio_bounds, RATIO_N, 1e6);
}

static void render_server(srv_metrics *m, mbuf *b) {
  srv_server *s = m->s;
  srv_stats *st = &s->st;
  out(b,
      "# HELP precis_build_info Version and FAISS build of this server.\n"
      "# TYPE precis_build_info gauge\nprecis_build_info{version=\"%s\"} 1\n",
      PRECIS_VERSION);
  head(b, "precis_uptime_seconds", "gauge", "Seconds since the server started.");
  out(b, "precis_uptime_seconds %.3f\n", (double)(srv_now_ms() - s->start_ms) / 1000.0);
  gauge(b, "precis_resident_memory_bytes", "Resident set size of precisd.", srv_rss_bytes());
  gauge(b, "precis_connections", "Client connections open now.", atomic_load(&st->connections));
  counter(b, "precis_connections_total", "Client connections accepted since start.",
          atomic_load(&st->connections_total));
  counter(b, "precis_requests_decoded_total",
          "Requests decoded by the network loop (including those answered without dispatch).",
          atomic_load(&st->requests));
  counter(b, "precis_errors_total", "Responses with a status other than OK.",
          atomic_load(&st->errors));
  uint64_t inflight = atomic_load(&st->inflight);
  uint64_t busy = atomic_load_explicit(&m->busy, memory_order_relaxed);
  gauge(b, "precis_inflight_requests", "Requests queued for or running on the workers.", inflight);
  gauge(b, "precis_queue_depth", "Requests waiting for a worker.",
        inflight > busy ? inflight - busy : 0);
  gauge(b, "precis_queue_capacity", "Capacity of the work queue (--queue-depth).",
        (uint64_t)s->cfg.queue_depth);
  gauge(b, "precis_workers", "Engine worker threads.", (uint64_t)s->cfg.workers);
  counter(b, "precis_received_bytes_total", "Bytes read from client connections.",
          atomic_load(&st->bytes_in));
  counter(b, "precis_sent_bytes_total", "Bytes written to client connections.",
          atomic_load(&st->bytes_out));
  counter(b, "precis_group_commits_total",
          "Groups of queued upserts to one collection written together (--group-commit).",
          atomic_load(&st->group_commits));
  counter(b, "precis_group_commit_requests_total", "Upsert requests written in those groups.",
          atomic_load(&st->group_requests));
  counter(b, "precis_loop_sleeps_total", "Times the event loop blocked waiting for I/O.",
          atomic_load(&st->loop_sleeps));
  counter(b, "precis_loop_poll_hits_total",
          "Completions the event loop found while polling (--poll-us), each a wake-up saved.",
          atomic_load(&st->loop_poll_hits));
  counter(b, "precis_loop_poll_misses_total",
          "Polls (--poll-us) that found nothing and ended in a sleep.",
          atomic_load(&st->loop_poll_misses));
}

static void render_engine(srv_metrics *m, mbuf *b) {
  engine_storage_stats ss;
  engine_storage_stats_get(m->s->eng, &ss);
  gauge(b, "precis_rocksdb_live_sst_bytes",
        "Bytes of the SST files of the current RocksDB version.", ss.live_sst_bytes);
  gauge(b, "precis_rocksdb_sst_bytes",
        "Bytes of all SST files, including obsolete ones not yet deleted.", ss.total_sst_bytes);
  gauge(b, "precis_rocksdb_pending_compaction_bytes",
        "Estimated bytes compaction still has to rewrite.", ss.pending_compaction_bytes);
  gauge(b, "precis_rocksdb_memtable_bytes", "Bytes in RocksDB memtables (active and immutable).",
        ss.memtable_bytes);
  gauge(b, "precis_rocksdb_running_compactions", "Compactions running now.",
        ss.running_compactions);
  gauge(b, "precis_rocksdb_running_flushes", "Memtable flushes running now.", ss.running_flushes);
  gauge(b, "precis_rocksdb_block_cache_bytes", "Bytes in the RocksDB block cache.",
        ss.block_cache_bytes);

  engine_collection_info *infos = NULL;
  size_t n = 0;
  if (engine_collection_list(m->s->eng, &infos, &n, NULL)) n = 0;
  gauge(b, "precis_collections", "Collections.", n);
  static const struct {
    const char *name, *help;
    size_t off;
  } cols[] = {
      {"precis_collection_points", "Live points.", offsetof(engine_collection_info, count)},
      {"precis_collection_knn_edges", "Stored kNN-graph edges.",
       offsetof(engine_collection_info, knn_edges)},
      {"precis_collection_links", "Stored knowledge links.",
       offsetof(engine_collection_info, links)},
      {"precis_collection_index_vectors", "Vectors in the ANN index, live or deleted.",
       offsetof(engine_collection_info, ann_total)},
      {"precis_collection_index_tombstones", "Deleted vectors still in the ANN index.",
       offsetof(engine_collection_info, tombstones)},
      {"precis_collection_disk_bytes", "Approximate bytes on disk (RocksDB and index file).",
       offsetof(engine_collection_info, disk_bytes)},
      {"precis_collection_seq", "The collection's write sequence.",
       offsetof(engine_collection_info, seq)},
      {"precis_collection_index_seq", "The write sequence the saved index file reflects.",
       offsetof(engine_collection_info, index_seq)},
      {"precis_collection_index_memory_bytes", "Estimated memory of the ANN index.",
       offsetof(engine_collection_info, index_bytes)},
      {"precis_collection_graph_memory_bytes", "Memory of the kNN and link edges held in memory.",
       offsetof(engine_collection_info, graph_bytes)},
      {"precis_collection_maps_memory_bytes", "Memory of the id maps (live points, slots, tokens).",
       offsetof(engine_collection_info, maps_bytes)},
  };
  for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
    head(b, cols[c].name, "gauge", cols[c].help);
    for (size_t i = 0; i < n; i++) {
      uint64_t v;
      memcpy(&v, (const char *)&infos[i] + cols[c].off, sizeof v);
      /* names match [A-Za-z0-9_.-]: nothing to escape */
      out(b, "%s{collection=\"%s\"} %llu\n", cols[c].name, infos[i].name, (unsigned long long)v);
    }
  }
  free(infos);
}

char *srv_metrics_render(srv_metrics *m, size_t *len) {
  uint64_t t0 = srv_now_us();
  mbuf b = {malloc(16384), 0, 16384, 0};
  if (!b.p) return NULL;
  b.p[0] = 0;
  render_server(m, &b);
  render_requests(m, &b);
  render_retrieve(m, &b);
  render_engine(m, &b);
  uint64_t done = atomic_fetch_add_explicit(&m->scrapes, 1, memory_order_relaxed);
  counter(&b, "precis_scrapes_total", "Scrapes of this endpoint, this one excluded.", done);
  uint64_t spent =
      atomic_fetch_add_explicit(&m->scrape_us, srv_now_us() - t0, memory_order_relaxed);
  head(&b, "precis_scrape_seconds_total", "counter",
       "Time spent rendering scrapes before this one.");
  out(&b, "precis_scrape_seconds_total %.6f\n", (double)spent / 1e6);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  *len = b.n;
  return b.p;
}

/* ---- HTTP ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  (void)version;
  (void)upload;
  (void)upload_size;
  (void)con_cls;
  srv_metrics *m = cls;
  struct MHD_Response *r;
  unsigned status = MHD_HTTP_OK;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    static const char msg[] = "only GET\n";
    r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    status = MHD_HTTP_METHOD_NOT_ALLOWED;
  } else if (strcmp(url, "/metrics") != 0) {
    static const char msg[] = "precisd: metrics are at /metrics\n";
    r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    status = MHD_HTTP_NOT_FOUND;
  } else {
    size_t n = 0;
    char *text = srv_metrics_render(m, &n);
    if (!text) return MHD_NO;
    r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!r)
      free(text);
    else
      MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  }
  if (!r) return MHD_NO;
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* Split "HOST:PORT" / "[V6]:PORT" and bind a listening socket. */
static int open_socket(const char *addr, int *port_out) {
  char host[256];
  const char *port;
  if (addr[0] == '[') {
    const char *e = strchr(addr, ']');
    if (!e || e[1] != ':' || (size_t)(e - addr - 1) >= sizeof host) goto bad;
    memcpy(host, addr + 1, (size_t)(e - addr - 1));
    host[e - addr - 1] = 0;
    port = e + 2;
  } else {
    const char *c = strrchr(addr, ':');
    if (!c || (size_t)(c - addr) >= sizeof host) goto bad;
    memcpy(host, addr, (size_t)(c - addr));
    host[c - addr] = 0;
    port = c + 1;
  }
  if (!*host || !*port) goto bad;
  int fd = srv_listen_tcp("metrics", host, port, 64);
  if (fd < 0) return -1;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  *port_out = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
bad:
  srv_error("metrics: --metrics-listen wants HOST:PORT or [V6]:PORT, got '%s'", addr);
  return -1;
}

int srv_metrics_serve(srv_metrics *m, const char *addr, int *port_out) {
  int fd = open_socket(addr, port_out);
  if (fd < 0) return -1;
  m->mhd = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, on_request, m,
      MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)M_MAX_SCRAPERS,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)M_SCRAPE_TIMEOUT_S, MHD_OPTION_END);
  if (!m->mhd) {
    srv_error("metrics: cannot start the HTTP server on %s", addr);
    close(fd);
    return -1;
  }
  srv_info("metrics: serving /metrics on %s (port %d)", addr, *port_out);
  return 0;
}

void srv_metrics_destroy(srv_metrics *m) {
  if (!m) return;
  if (m->mhd) MHD_stop_daemon(m->mhd); /* closes the listening socket too */
  free(m);
}
