/*
 * study_client.c: `precis-bench client`: the C client's side of the
 * Python-client comparison (bench/python_client.py runs both against one
 * precisd and prints the table of bench/README.md, "Python client").
 *
 * Against a running server: upsert --n random --dim vectors with a short
 * text each, in batches of --batch (one synchronous precis_upsert per
 * batch), then --queries retrieves (k 10, COMPRESS, server defaults) with
 * per-call round-trip times. --index is the collection's FAISS spec
 * (default HNSW32). Prints one JSON object on stdout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "precis/precis.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

int bench_client(int argc, char **argv) {
  const char *host = "127.0.0.1", *coll = "bench_c", *index = "HNSW32";
  int port = 0;
  uint32_t n = 20000, dim = 128, batch = 1000, queries = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port"))
      port = atoi(v);
    else if (!strcmp(k, "--host"))
      host = v;
    else if (!strcmp(k, "--collection"))
      coll = v;
    else if (!strcmp(k, "--index"))
      index = v;
    else if (!strcmp(k, "--n"))
      n = (uint32_t)atol(v);
    else if (!strcmp(k, "--dim"))
      dim = (uint32_t)atol(v);
    else if (!strcmp(k, "--batch"))
      batch = (uint32_t)atol(v);
    else if (!strcmp(k, "--queries"))
      queries = (uint32_t)atol(v);
    else {
      fprintf(stderr,
              "usage: precis-bench client --port P [--host H] [--collection C] [--n N]"
              " [--dim D] [--batch B] [--queries Q] [--index SPEC]\n");
      return 2;
    }
  }
  if (port <= 0 || !n || !dim || !batch) {
    fprintf(stderr, "precis-bench client: --port is required; n, dim, batch > 0\n");
    return 2;
  }
  precis_conn *c;
  precis_error err;
  if (precis_connect(host, (uint16_t)port, NULL, 0, &c, &err)) {
    fprintf(stderr, "connect: %s\n", err.msg);
    return 1;
  }
  precis_collection_config cfg;
  precis_collection_config_init(&cfg, dim);
  cfg.index_spec = index;
  precis_collection_drop(c, coll, NULL);
  if (precis_collection_create(c, coll, &cfg, NULL, &err)) {
    fprintf(stderr, "create: %s\n", err.msg);
    precis_close(c);
    return 1;
  }
  float *vec = malloc((size_t)n * dim * sizeof *vec);
  precis_point *pts = calloc(batch, sizeof *pts);
  char(*txt)[32] = calloc(batch, 32);
  if (!vec || !pts || !txt) return 1;
  for (size_t i = 0; i < (size_t)n * dim; i++) vec[i] = frand();
  int rc = 0;
  struct timespec c0, c1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  uint64_t t0 = bench_now_ns();
  for (uint32_t lo = 0; lo < n && !rc; lo += batch) {
    uint32_t m = n - lo < batch ? n - lo : batch;
    for (uint32_t j = 0; j < m; j++) {
      snprintf(txt[j], 32, "doc %u", lo + j);
      pts[j] = (precis_point){.id = lo + j + 1,
                              .vector = vec + (size_t)(lo + j) * dim,
                              .dim = dim,
                              .text = txt[j],
                              .tokens = -1};
    }
    if (precis_upsert(c, coll, pts, m, NULL, &err)) {
      fprintf(stderr, "upsert: %s\n", err.msg);
      rc = 1;
    }
  }
  double up_s = (double)(bench_now_ns() - t0) / 1e9;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  double cpu_s = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
  double *rtt = calloc(queries ? queries : 1, sizeof *rtt);
  precis_retrieve_params p;
  precis_retrieve_params_init(&p);
  p.dim = dim;
  p.k = 10;
  for (uint32_t q = 0; q < queries && !rc; q++) {
    p.vector = vec + (size_t)(q * 7 % n) * dim;
    precis_retrieve_result *r;
    uint64_t a = bench_now_ns();
    if (precis_retrieve(c, coll, &p, &r, &err)) {
      fprintf(stderr, "retrieve: %s\n", err.msg);
      rc = 1;
      break;
    }
    rtt[q] = (double)(bench_now_ns() - a) / 1e3;
    precis_retrieve_result_free(r);
  }
  if (!rc) {
    double p50 = bench_quantile(rtt, queries, 0.5), p99 = bench_quantile(rtt, queries, 0.99);
    double mean = 0;
    for (uint32_t q = 0; q < queries; q++) mean += rtt[q];
    mean /= queries ? queries : 1;
    printf(
        "{\"client\": \"c\", \"n\": %u, \"dim\": %u, \"batch\": %u, \"upsert_s\": %.4f, "
        "\"upsert_points_per_s\": %.1f, \"upsert_cpu_us_per_point\": %.3f, \"queries\": %u, "
        "\"retrieve_us_mean\": %.1f, "
        "\"retrieve_us_p50\": %.1f, \"retrieve_us_p99\": %.1f}\n",
        n, dim, batch, up_s, n / up_s, cpu_s * 1e6 / n, queries, mean, p50, p99);
  }
  free(rtt);
  free(vec);
  free(pts);
  free(txt);
  precis_close(c);
  return rc;
}
