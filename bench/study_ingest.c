/*
 * study_ingest.c: `precis-bench ingest`, how fast points get in and how
 * fast a data directory comes back, on GloVe (base.f32, 100-d, unit length).
 *
 * In-process (engine.h), each run on a fresh data directory in $TMPDIR, one
 * cosine collection with the default configuration (auto index: Flat, then
 * HNSW32 past 10,000 points; kNN degree 16), ids = row numbers, no text:
 *   1. sync_writes 0: upserts in batches of --batch (1000); points/s.
 *      Resident memory (/proc/self/statm) before opening the engine and
 *      after the ingest, after the graph rebuild; per point.
 *      engine_graph_rebuild (nproc threads): seconds.
 *      engine_close (saves the index) then engine_open + describe twice:
 *      the first reopen also recovers RocksDB's WAL, the second is the
 *      reopen time with a saved index; ann_total must not change.
 *      Size of the data directory (du) after the close.
 *      engine_close, remove <dir>/ann/<id>.faiss and .slots, engine_open +
 *      describe: the reopen time that rebuilds the index from RocksDB
 *      (= the pure ANN build rate, without the kNN-edge maintenance that
 *      upserts do).
 *   2. sync_writes 1 (every batch fsynced to the WAL): points/s.
 *   3. sync_writes 1, bulk: upserts with ENGINE_UPSERT_DEFER_GRAPH, then one
 *      engine_graph_rebuild (what `precis ingest --bulk` does): points/s
 *      over both.
 * Over RPC (when build/precisd and build/precis run): the base vectors are
 * written as .fvecs, precisd is started on a fresh directory on an ephemeral
 * port (--sync-writes 1, then 0), the collection is created with
 * `precis collection create`, and `precis ingest --batch N --quiet` is
 * timed as a whole process; the count is then checked with describe.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_util.h"
#include "dataset.h"
#include "engine.h"
#include "precis/precis.h"
#include "srvproc.h"

#define IB_DIM  100
#define IB_COLL "glove"

typedef struct {
  double up_s_nosync, up_s_sync, rebuild_s, close_s, reopen_first_s, reopen_saved_s,
      reopen_rebuild_s;
  double bulk_up_s, bulk_graph_s; /* deferred kNN upkeep, then one rebuild */
  uint64_t ann_before, ann_saved, ann_rebuilt, knn_edges, disk_bytes, du_bytes;
  uint64_t rss0, rss_ingest, rss_graph;
  /* after the graph rebuild: the engine's own accounting */
  uint64_t index_bytes, graph_bytes, maps_bytes, memtable_bytes, cache_bytes;
  int only_nosync; /* --only-nosync: runs 2 and 3 skipped */
  char spec_used[PRECIS_MAX_INDEX_SPEC_LEN + 1];
  int rpc_ok;
  char rpc_note[512];
  double rpc_s[2]; /* sync 1, sync 0 */
  uint64_t rpc_count[2];
} ib_res;

static int ib_upsert_all(engine *e, const float *base, size_t n, size_t batch, unsigned flags,
                         double *secs, precis_error *err) {
  engine_point_in *pts = calloc(batch, sizeof *pts);
  if (!pts) return -1;
  uint64_t t0 = bench_now_ns();
  for (size_t at = 0; at < n; at += batch) {
    size_t m = n - at < batch ? n - at : batch;
    for (size_t j = 0; j < m; j++)
      pts[j] = (engine_point_in){
          .id = at + j, .vector = base + (at + j) * IB_DIM, .dim = IB_DIM, .tokens = 0};
    if (engine_upsert_flags(e, IB_COLL, pts, m, flags, err)) {
      free(pts);
      return -1;
    }
    if ((at / batch) % 50 == 49) fprintf(stderr, "\ringest: %zu / %zu", at + m, n);
  }
  *secs = (double)(bench_now_ns() - t0) / 1e9;
  fprintf(stderr, "\n");
  free(pts);
  return 0;
}

static int ib_open(const char *dir, int sync, engine **e, precis_error *err) {
  engine_options eo;
  engine_options_default(&eo);
  eo.sync_writes = sync;
  return engine_open(dir, &eo, e, err);
}

/* Remove the saved index files of every collection (<dir>/ann/ *). */
static int ib_remove_index(const char *dir) {
  char p[4096];
  snprintf(p, sizeof p, "%s/ann", dir);
  DIR *d = opendir(p);
  if (!d) return -1;
  struct dirent *de;
  int n = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char f[8192];
    snprintf(f, sizeof f, "%s/%s", p, de->d_name);
    if (unlink(f) == 0) n++;
  }
  closedir(d);
  return n;
}

static int ib_inproc(const float *base, size_t n, size_t batch, ib_res *r) {
  precis_error err;
  engine *e = NULL;
  engine_collection_info info;
  engine_collection_config cfg = {.dim = IB_DIM, .metric = ENGINE_METRIC_COSINE};
  int rc = -1;
  char *dir = bu_tmpdir("ingest");
  if (!dir) return -1;
  /* run 1: sync_writes 0, then graph / reopen / memory */
  r->rss0 = bu_rss_bytes();
  if (ib_open(dir, 0, &e, &err) || engine_collection_create(e, IB_COLL, &cfg, &err)) goto fail;
  fprintf(stderr, "ingest: sync_writes 0 ...\n");
  if (ib_upsert_all(e, base, n, batch, 0, &r->up_s_nosync, &err)) goto fail;
  r->rss_ingest = bu_rss_bytes();
  fprintf(stderr, "ingest: graph rebuild ...\n");
  uint64_t t0 = bench_now_ns();
  if (engine_graph_rebuild(e, IB_COLL, &err)) goto fail;
  r->rebuild_s = (double)(bench_now_ns() - t0) / 1e9;
  r->rss_graph = bu_rss_bytes();
  if (engine_collection_describe(e, IB_COLL, &info, &err)) goto fail;
  r->ann_before = info.ann_total;
  r->knn_edges = info.knn_edges;
  r->disk_bytes = info.disk_bytes;
  r->index_bytes = info.index_bytes;
  r->graph_bytes = info.graph_bytes;
  r->maps_bytes = info.maps_bytes;
  engine_storage_stats ss;
  engine_storage_stats_get(e, &ss);
  r->memtable_bytes = ss.memtable_bytes;
  r->cache_bytes = ss.block_cache_bytes;
  snprintf(r->spec_used, sizeof r->spec_used, "%s",
           info.config.index_spec[0] ? info.config.index_spec : "auto");
  fprintf(stderr, "ingest: close / reopen ...\n");
  t0 = bench_now_ns();
  engine_close(e);
  e = NULL;
  r->close_s = (double)(bench_now_ns() - t0) / 1e9;
  r->du_bytes = bu_du_bytes(dir);
  t0 = bench_now_ns();
  if (ib_open(dir, 0, &e, &err) || engine_collection_describe(e, IB_COLL, &info, &err)) goto fail;
  r->reopen_first_s = (double)(bench_now_ns() - t0) / 1e9;
  engine_close(e);
  e = NULL;
  /* again: RocksDB has no WAL left to recover now, like the rebuild below */
  t0 = bench_now_ns();
  if (ib_open(dir, 0, &e, &err) || engine_collection_describe(e, IB_COLL, &info, &err)) goto fail;
  r->reopen_saved_s = (double)(bench_now_ns() - t0) / 1e9;
  r->ann_saved = info.ann_total;
  engine_close(e);
  e = NULL;
  if (ib_remove_index(dir) <= 0) fprintf(stderr, "ingest: no index files found to remove\n");
  t0 = bench_now_ns();
  if (ib_open(dir, 0, &e, &err) || engine_collection_describe(e, IB_COLL, &info, &err)) goto fail;
  r->reopen_rebuild_s = (double)(bench_now_ns() - t0) / 1e9;
  r->ann_rebuilt = info.ann_total;
  engine_close(e);
  e = NULL;
  bu_rmrf_free(dir);
  dir = NULL;
  if (r->only_nosync) return 0;
  /* run 2: sync_writes 1 */
  dir = bu_tmpdir("ingest");
  if (!dir) return -1;
  fprintf(stderr, "ingest: sync_writes 1 ...\n");
  if (ib_open(dir, 1, &e, &err) || engine_collection_create(e, IB_COLL, &cfg, &err)) goto fail;
  if (ib_upsert_all(e, base, n, batch, 0, &r->up_s_sync, &err)) goto fail;
  engine_close(e);
  e = NULL;
  bu_rmrf_free(dir);
  /* run 3: sync_writes 1, bulk: no kNN upkeep, then one graph rebuild */
  dir = bu_tmpdir("ingest");
  if (!dir) return -1;
  fprintf(stderr, "ingest: bulk (deferred graph), sync_writes 1 ...\n");
  if (ib_open(dir, 1, &e, &err) || engine_collection_create(e, IB_COLL, &cfg, &err)) goto fail;
  if (ib_upsert_all(e, base, n, batch, ENGINE_UPSERT_DEFER_GRAPH, &r->bulk_up_s, &err)) goto fail;
  t0 = bench_now_ns();
  if (engine_graph_rebuild(e, IB_COLL, &err)) goto fail;
  r->bulk_graph_s = (double)(bench_now_ns() - t0) / 1e9;
  rc = 0;
  goto out;
fail:
  fprintf(stderr, "precis-bench ingest: %s\n", err.msg);
out:
  engine_close(e);
  bu_rmrf_free(dir);
  return rc;
}

/* ---- over RPC ---- */

static int ib_write_fvecs(const char *path, const float *base, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int32_t d = IB_DIM;
  for (size_t i = 0; i < n; i++)
    if (fwrite(&d, 4, 1, f) != 1 || fwrite(base + i * IB_DIM, 4, IB_DIM, f) != IB_DIM) {
      fclose(f);
      return -1;
    }
  return fclose(f);
}

static int ib_rpc_one(const char *fvecs, size_t n, size_t batch, int sync, double *secs,
                      uint64_t *count, char *note, size_t notelen) {
  char *dir = bu_tmpdir("ingest-rpc");
  if (!dir) return -1;
  const char *extra[] = {"--sync-writes", sync ? "1" : "0", "--log-level", "warn", NULL};
  srvproc sp = {0};
  int port = srvproc_start(dir, extra, &sp), rc = -1;
  if (port <= 0) {
    snprintf(note, notelen, "precisd did not start");
    bu_rmrf_free(dir);
    return -1;
  }
  char cmd[8192];
  int st;
  snprintf(cmd, sizeof cmd, "build/precis --port %d collection create %s --dim %d >/dev/null", port,
           IB_COLL, IB_DIM);
  bu_time_cmd(cmd, &st);
  if (st) {
    snprintf(note, notelen, "`precis collection create` failed (exit %d)", st);
    goto out;
  }
  snprintf(cmd, sizeof cmd,
           "build/precis --port %d --timeout 600 ingest %s '%s' --batch %zu --quiet", port, IB_COLL,
           fvecs, batch);
  fprintf(stderr, "ingest: %s (server --sync-writes %d)\n", cmd, sync);
  *secs = bu_time_cmd(cmd, &st);
  if (st) {
    snprintf(note, notelen, "`precis ingest` failed (exit %d)", st);
    goto out;
  }
  precis_conn *c = NULL;
  precis_collection_info info;
  if (precis_connect("127.0.0.1", (uint16_t)port, NULL, 10000, &c, NULL) ||
      precis_collection_describe(c, IB_COLL, &info, NULL)) {
    snprintf(note, notelen, "describe over RPC failed");
    precis_close(c);
    goto out;
  }
  precis_close(c);
  *count = info.count;
  if (info.count != n)
    snprintf(note, notelen, "count %llu after ingest, expected %zu", (unsigned long long)info.count,
             n);
  rc = 0;
out:
  srvproc_stop(&sp);
  srvproc_cleanup(&sp);
  bu_rmrf_free(dir);
  return rc;
}

static void ib_rpc(const float *base, size_t n, size_t batch, ib_res *r) {
  if (access("build/precisd", X_OK) || access("build/precis", X_OK)) {
    snprintf(r->rpc_note, sizeof r->rpc_note,
             "build/precisd or build/precis missing: RPC ingest skipped");
    return;
  }
  char *tmp = bu_tmpdir("ingest-fvecs");
  if (!tmp) return;
  char path[4200];
  snprintf(path, sizeof path, "%s/base.fvecs", tmp);
  if (ib_write_fvecs(path, base, n)) {
    snprintf(r->rpc_note, sizeof r->rpc_note, "could not write %.400s", path);
    bu_rmrf_free(tmp);
    return;
  }
  r->rpc_ok = 1;
  for (int s = 0; s < 2 && r->rpc_ok; s++)
    if (ib_rpc_one(path, n, batch, s == 0, &r->rpc_s[s], &r->rpc_count[s], r->rpc_note,
                   sizeof r->rpc_note))
      r->rpc_ok = 0;
  bu_rmrf_free(tmp);
}

/* ---- output ---- */

typedef struct {
  const char *set;
  size_t n, batch;
} ib_ctx;

static void ib_markdown(FILE *f, const ib_ctx *c, const ib_res *r) {
  double n = (double)c->n, MiB = 1024.0 * 1024.0;
  fprintf(f, "## ingest: %s, %zu points x %d, batches of %zu\n\n", c->set, c->n, IB_DIM, c->batch);
  bu_env_md(f);
  fprintf(f,
          "collection defaults (index %s, knn_k 16): upserts also maintain the kNN "
          "edges.\n\n",
          r->spec_used);
  fprintf(f, "| measurement | value |\n|---|---:|\n");
  if (!r->only_nosync)
    fprintf(f, "| upsert, sync_writes 1 (durable) | %.0f points/s (%.1f s) |\n", n / r->up_s_sync,
            r->up_s_sync);
  fprintf(f, "| upsert, sync_writes 0 | %.0f points/s (%.1f s) |\n", n / r->up_s_nosync,
          r->up_s_nosync);
  if (!r->only_nosync)
    fprintf(f,
            "| bulk (`precis ingest --bulk`), sync_writes 1: upserts without kNN upkeep, "
            "then one graph rebuild | %.0f points/s (%.1f s + %.1f s) |\n",
            n / (r->bulk_up_s + r->bulk_graph_s), r->bulk_up_s, r->bulk_graph_s);
  fprintf(f, "| graph rebuild (%d threads) | %.2f s (%llu kNN edges) |\n", bu_nproc(), r->rebuild_s,
          (unsigned long long)r->knn_edges);
  fprintf(f, "| close (saves the index) | %.2f s |\n", r->close_s);
  fprintf(f, "| first reopen, saved index (incl. RocksDB WAL recovery) | %.2f s |\n",
          r->reopen_first_s);
  fprintf(f, "| reopen, saved index | %.2f s (ann_total %llu -> %llu: %s) |\n", r->reopen_saved_s,
          (unsigned long long)r->ann_before, (unsigned long long)r->ann_saved,
          r->ann_saved == r->ann_before ? "unchanged" : "CHANGED");
  fprintf(f,
          "| reopen, index files removed (rebuild) | %.2f s = %.0f points/s (ann_total %llu) |\n",
          r->reopen_rebuild_s, n / r->reopen_rebuild_s, (unsigned long long)r->ann_rebuilt);
  fprintf(f, "| resident memory after ingest | %.1f MiB = %.0f bytes/point |\n",
          (double)(r->rss_ingest - r->rss0) / MiB, (double)(r->rss_ingest - r->rss0) / n);
  fprintf(f, "| resident memory after graph rebuild | %.1f MiB = %.0f bytes/point |\n",
          (double)(r->rss_graph - r->rss0) / MiB, (double)(r->rss_graph - r->rss0) / n);
  fprintf(f, "| data directory after close (du) | %.1f MiB = %.0f bytes/point |\n",
          (double)r->du_bytes / MiB, (double)r->du_bytes / n);
  const struct {
    const char *what;
    uint64_t bytes;
  } parts[] = {
      {"ANN index (vectors, graph links; the engine's estimate)", r->index_bytes},
      {"kNN and link edges in memory", r->graph_bytes},
      {"id maps (live points, slots, token counts)", r->maps_bytes},
      {"RocksDB memtables", r->memtable_bytes},
      {"RocksDB block cache", r->cache_bytes},
  };
  uint64_t sum = 0;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    fprintf(f, "| memory: %s | %.1f MiB = %.0f bytes/point |\n", parts[i].what,
            (double)parts[i].bytes / MiB, (double)parts[i].bytes / n);
    sum += parts[i].bytes;
  }
  fprintf(f,
          "| memory: sum of the above (against the RSS growth: the rest is allocator and FAISS "
          "overhead) | %.1f MiB = %.0f bytes/point |\n",
          (double)sum / MiB, (double)sum / n);
  if (r->rpc_ok) {
    fprintf(f, "| `precis ingest` over RPC, server sync_writes 1 | %.0f points/s (%.1f s) |\n",
            n / r->rpc_s[0], r->rpc_s[0]);
    fprintf(f, "| `precis ingest` over RPC, server sync_writes 0 | %.0f points/s (%.1f s) |\n",
            n / r->rpc_s[1], r->rpc_s[1]);
  }
  fprintf(f, "\n");
  if (r->rpc_note[0]) fprintf(f, "RPC: %s\n\n", r->rpc_note);
  fprintf(f,
          "Memory is the growth of this process's RSS from before engine_open (data set "
          "already loaded), so it includes RocksDB memtables and block cache besides the "
          "index (raw vectors: %d bytes/point).\n",
          IB_DIM * 4);
}

static void ib_json(FILE *f, const ib_ctx *c, const ib_res *r) {
  double n = (double)c->n;
  fprintf(f, "{\"study\":\"ingest\",");
  bu_env_json(f);
  fprintf(f,
          ",\"set\":\"%s\",\"n\":%zu,\"dim\":%d,\"batch\":%zu,\"index\":\"%s\","
          "\"upsert_sync_pps\":%.1f,\"upsert_sync_s\":%.3f,"
          "\"upsert_nosync_pps\":%.1f,\"upsert_nosync_s\":%.3f,"
          "\"graph_rebuild_s\":%.3f,\"knn_edges\":%llu,\"close_s\":%.3f,"
          "\"reopen_first_s\":%.3f,\"reopen_saved_s\":%.3f,\"reopen_rebuild_s\":%.3f,\"ann_total_"
          "before\":%llu,"
          "\"ann_total_saved\":%llu,\"ann_total_rebuilt\":%llu,"
          "\"rss_ingest_bytes_per_point\":%.1f,\"rss_graph_bytes_per_point\":%.1f,"
          "\"dir_bytes_per_point\":%.1f,\"bulk_upsert_s\":%.3f,\"bulk_graph_s\":%.3f,"
          "\"bulk_pps\":%.1f,\"rpc\":",
          c->set, c->n, IB_DIM, c->batch, r->spec_used, n / r->up_s_sync, r->up_s_sync,
          n / r->up_s_nosync, r->up_s_nosync, r->rebuild_s, (unsigned long long)r->knn_edges,
          r->close_s, r->reopen_first_s, r->reopen_saved_s, r->reopen_rebuild_s,
          (unsigned long long)r->ann_before, (unsigned long long)r->ann_saved,
          (unsigned long long)r->ann_rebuilt, (double)(r->rss_ingest - r->rss0) / n,
          (double)(r->rss_graph - r->rss0) / n, (double)r->du_bytes / n, r->bulk_up_s,
          r->bulk_graph_s, n / (r->bulk_up_s + r->bulk_graph_s));
  if (r->rpc_ok)
    fprintf(f, "{\"sync_pps\":%.1f,\"sync_s\":%.3f,\"nosync_pps\":%.1f,\"nosync_s\":%.3f}",
            n / r->rpc_s[0], r->rpc_s[0], n / r->rpc_s[1], r->rpc_s[1]);
  else
    fprintf(f, "null");
  fprintf(f, ",\"rpc_note\":");
  bu_json_str(f, r->rpc_note);
  fprintf(f, "}\n");
}

static void ib_tsv(FILE *f, const ib_ctx *c, const ib_res *r) {
  double n = (double)c->n;
  fprintf(f, "# title: %s, %zu points, batches of %zu\n# what\tpoints_per_s\n", c->set, c->n,
          c->batch);
  fprintf(f, "\"upsert sync 1\"\t%.1f\n", n / r->up_s_sync);
  fprintf(f, "\"upsert sync 0\"\t%.1f\n", n / r->up_s_nosync);
  fprintf(f, "\"bulk sync 1\"\t%.1f\n", n / (r->bulk_up_s + r->bulk_graph_s));
  if (r->rpc_ok) {
    fprintf(f, "\"RPC sync 1\"\t%.1f\n", n / r->rpc_s[0]);
    fprintf(f, "\"RPC sync 0\"\t%.1f\n", n / r->rpc_s[1]);
  }
  fprintf(f, "\"index rebuild (reopen)\"\t%.1f\n", n / r->reopen_rebuild_s);
}

static void ib_usage(FILE *f) {
  fprintf(f,
          "usage: precis-bench ingest [--set glove-small|glove] [--n N] [--batch 1000]\n"
          "                           [--no-rpc] [--only-nosync] [--out DIR]\n"
          "  --only-nosync: the sync_writes 0 run (rate, reopen, memory) only\n");
}

int bench_ingest(int argc, char **argv) {
  const char *set = "glove-small", *out = NULL;
  size_t nmax = 0, batch = 1000;
  int rpc = 1, only_nosync = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      ib_usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--no-rpc")) {
      rpc = 0;
      continue;
    }
    if (!strcmp(a, "--only-nosync")) {
      only_nosync = 1;
      continue;
    }
    if (!v) {
      ib_usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--set"))
      set = v;
    else if (!strcmp(a, "--n"))
      nmax = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--batch"))
      batch = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--out"))
      out = v;
    else {
      ib_usage(stderr);
      return 2;
    }
  }
  if (batch < 1 || batch > PRECIS_MAX_BATCH || strncmp(set, "glove", 5)) {
    ib_usage(stderr);
    return 2;
  }
  if (bu_need_set("ingest", set)) return 1;
  char p[4096];
  float *base = NULL;
  size_t n;
  ds_path(p, sizeof p, set, "base.f32");
  if (ds_load_f32(p, IB_DIM, &base, &n)) {
    perror(p);
    return 1;
  }
  if (nmax && nmax < n) n = nmax;
  ib_res r;
  memset(&r, 0, sizeof r);
  r.only_nosync = only_nosync;
  ib_ctx c = {.set = set, .n = n, .batch = batch};
  int rc = 1;
  if (ib_inproc(base, n, batch, &r)) goto done;
  if (rpc)
    ib_rpc(base, n, batch, &r);
  else
    snprintf(r.rpc_note, sizeof r.rpc_note, "skipped (--no-rpc)");
  ib_markdown(stdout, &c, &r);
  rc = 0;
  if (out) {
    FILE *f;
    if ((f = bu_open_out(out, "ingest.md"))) {
      ib_markdown(f, &c, &r);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if ((f = bu_open_out(out, "ingest.json"))) {
      ib_json(f, &c, &r);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if ((f = bu_open_out(out, "ingest.tsv"))) {
      ib_tsv(f, &c, &r);
      rc |= fclose(f) != 0;
    } else
      rc = 1;
    if (!rc) rc = bu_plot("ingest", out) ? 1 : 0;
  }
done:
  free(base);
  return rc;
}
