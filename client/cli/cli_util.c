/*
 * cli_util.c: connection setup, error reporting, number parsing, option
 * scanning and JSON helpers shared by the precis CLI commands.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int read_token(cli *c, char *buf, size_t cap) {
  FILE *f = fopen(c->token_file, "r");
  if (!f)
    return cli_error(c, CLI_EXIT_USAGE, "cannot read token file %s: %s", c->token_file,
                     strerror(errno));
  size_t n = fread(buf, 1, cap - 1, f);
  int bad = ferror(f);
  fclose(f);
  if (bad) return cli_error(c, CLI_EXIT_USAGE, "cannot read token file %s", c->token_file);
  buf[n] = '\0';
  while (n > 0 && isspace((unsigned char)buf[n - 1])) buf[--n] = '\0';
  return 0;
}

int cli_connect(cli *c) {
  char token[4096];
  const char *tok = NULL;
  if (c->token_file) {
    int rc = read_token(c, token, sizeof token);
    if (rc) return rc;
    tok = token;
  }
  precis_error err;
  int rc = precis_connect(c->host, c->port, tok, c->timeout_ms, &c->conn, &err);
  memset(token, 0, sizeof token);
  if (rc != PRECIS_OK) return cli_fail(c, rc, &err);
  return 0;
}

int cli_fail(cli *c, int status, const precis_error *err) {
  fprintf(stderr, "precis: %s: %s: %s\n", c->cmd ? c->cmd : "error", precis_status_name(status),
          err && err->msg[0] ? err->msg : precis_strerror(status));
  if (status == PRECIS_E_CONNECTION || status == PRECIS_E_TIMEOUT) return CLI_EXIT_CONN;
  return CLI_EXIT_SERVER;
}

int cli_usage(cli *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "precis: %s: ", c->cmd ? c->cmd : "usage");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(run 'precis %s --help' for usage)\n", c->cmd ? c->cmd : "");
  return CLI_EXIT_USAGE;
}

int cli_error(cli *c, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "precis: %s: ", c->cmd ? c->cmd : "error");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return code;
}

int cli_parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || !isdigit((unsigned char)*s)) return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return -1;
  *out = v;
  return 0;
}

int cli_parse_u32(const char *s, uint32_t max, uint32_t *out) {
  uint64_t v;
  if (cli_parse_u64(s, &v) < 0 || v > max) return -1;
  *out = (uint32_t)v;
  return 0;
}

int cli_parse_float(const char *s, float *out) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  float v = strtof(s, &end);
  if (errno || *end || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

int cli_getopt(cli *c, int argc, char **argv, const char *shortopts,
               const struct option *longopts) {
  char so[64];
  snprintf(so, sizeof so, ":%s", shortopts);
  opterr = 0;
  int prev = optind;
  int o = getopt_long(argc, argv, so, longopts, NULL);
  if (o == '?' || o == ':') {
    const char *arg = optind - 1 < argc && optind - 1 >= 1 ? argv[optind - 1] : "?";
    if (prev < argc && optind == prev) arg = argv[prev];
    if (o == ':')
      cli_usage(c, "option %s needs a value", arg);
    else if (optopt && optopt != '?' && isprint(optopt))
      cli_usage(c, "unknown option -%c", optopt);
    else
      cli_usage(c, "unknown option %s", arg);
    return -2;
  }
  return o;
}

int cli_npos(int argc) { return argc - optind; }
char **cli_pos(char **argv) { return argv + optind; }

void cli_json_out(json_t *doc) {
  if (!doc) return;
  json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
  fputc('\n', stdout);
  json_decref(doc);
}

json_t *cli_json_meta(const char *meta) {
  if (!meta || !*meta) return json_object();
  json_t *j = json_loads(meta, 0, NULL);
  return j ? j : json_string(meta);
}

const char *cli_metric_name(precis_metric m) {
  switch (m) {
    case PRECIS_METRIC_COSINE:
      return "cosine";
    case PRECIS_METRIC_IP:
      return "ip";
    case PRECIS_METRIC_L2:
      return "l2";
  }
  return "?";
}

json_t *cli_json_info(const precis_collection_info *i) {
  return json_pack(
      "{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
      "s:I, s:I, s:I}",
      "name", i->name, "dim", (json_int_t)i->dim, "metric", cli_metric_name(i->metric),
      "index_spec", i->index_spec, "knn_k", (json_int_t)i->knn_k, "hnsw_ef_construction",
      (json_int_t)i->hnsw_ef_construction, "hnsw_ef_search", (json_int_t)i->hnsw_ef_search,
      "ivf_nprobe", (json_int_t)i->ivf_nprobe, "count", (json_int_t)i->count, "ann_total",
      (json_int_t)i->ann_total, "tombstones", (json_int_t)i->tombstones, "knn_edges",
      (json_int_t)i->knn_edges, "links", (json_int_t)i->links, "disk_bytes",
      (json_int_t)i->disk_bytes, "seq", (json_int_t)i->seq, "index_seq", (json_int_t)i->index_seq);
}
