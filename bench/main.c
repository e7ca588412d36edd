/*
 * main.c: precis-bench, the benchmark runner. `precis-bench <study> [opts]`
 * looks the study up in the table below and runs it; the helpers declared
 * in bench.h (clock, quantiles, BLAS threads, output directory) live in
 * bench_util.c.
 * To add a study: write bench_<name> in bench/study_<name>.c, declare it in
 * bench.h and add a row to `studies`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *what;
} bench_study;

static const bench_study studies[] = {
    {"select", bench_select,
     "selection latency and quality (TOPK, MMR, COMPRESS exact/sparse/sample)"},
    {"quality", bench_quality,
     "every study corpus: similarity, labels, redundancy, link recall per mode, hops, "
     "baseline; in-process or through precisd"},
    {"ingest", bench_ingest,
     "GloVe: durable upsert rate, graph rebuild, reopen, memory; precis ingest over RPC"},
    {"ann", bench_ann,
     "GloVe: recall@10 vs queries/s over efSearch and M, in-process and over RPC"},
    {"load", bench_load,
     "precisd under 64 concurrent clients: throughput, p50/p99/p99.9, RSS, limits"},
    {"quality-wordnet", bench_quality_wordnet,
     "WordNet: relevance, diversity, coverage, hypernym recall per mode and graph hops"},
    {"hostile", bench_hostile,
     "a client's p99 and the server's RSS next to one hostile client (issue 11)"},
    {"client", bench_client,
     "the C client's upsert rate and retrieve round trip (bench/python_client.py)"},
    {"filter", bench_filter,
     "GloVe + WordNet: filtered recall@10 and QPS at 50/10/1/0.1 %, search and retrieve, with and "
     "without payload indexes"},
    {"pingpong", bench_pingpong,
     "one round trip between two threads over loopback TCP: the floor under every RPC figure"},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: precis-bench <study> [options]   (precis-bench <study> --help)\n"
          "studies:\n");
  for (size_t i = 0; i < sizeof studies / sizeof studies[0]; i++)
    fprintf(f, "  %-10s %s\n", studies[i].name, studies[i].what);
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (size_t i = 0; i < sizeof studies / sizeof studies[0]; i++)
    if (!strcmp(argv[1], studies[i].name)) return studies[i].run(argc - 1, argv + 1);
  fprintf(stderr, "precis-bench: unknown study '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
