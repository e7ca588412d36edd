/*
 * test_cli.c: the `precis` admin CLI run as a subprocess (build/precis)
 * against a real precisd: collection commands, ingest of .fvecs / .npy /
 * .jsonl files written here (including bad lines with and without
 * --skip-bad), query --json (retrieve, --compare, --search), the small
 * commands, and the exit codes 0 / 1 / 2 / 3 / 4.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srvproc.h"
#include "testutil.h"

#ifndef PRECIS_BUILD_DIR
#define PRECIS_BUILD_DIR "build"
#endif

static char *g_dir;   /* server data dir */
static char *g_files; /* input files */
static srvproc g_srv;
static char g_port[16];
static char *g_out, *g_err; /* last run's stdout / stderr */

static void setup(void) {
  g_dir = tu_tmpdir("cli");
  g_files = tu_tmpdir("cli-files");
  int port = srvproc_start(g_dir, NULL, &g_srv);
  cr_assert_gt(port, 0, "precisd did not start");
  snprintf(g_port, sizeof g_port, "%d", port);
}

static void teardown(void) {
  if (g_srv.pid) srvproc_stop(&g_srv);
  srvproc_cleanup(&g_srv);
  tu_rmrf_free(g_dir);
  tu_rmrf_free(g_files);
  free(g_out);
  free(g_err);
  g_out = g_err = NULL;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return strdup("");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

/* Run build/precis --port PORT args... (NULL-terminated); returns the exit
 * code, stdout / stderr in g_out / g_err. */
static int run_argv(const char *const *args) {
  const char *argv[64];
  int n = 0;
  argv[n++] = PRECIS_BUILD_DIR "/precis";
  argv[n++] = "--port";
  argv[n++] = g_port;
  for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
  argv[n] = NULL;
  char outp[600], errp[600];
  snprintf(outp, sizeof outp, "%s/stdout", g_files);
  snprintf(errp, sizeof errp, "%s/stderr", g_files);
  fflush(NULL);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  free(g_out);
  free(g_err);
  g_out = slurp(outp);
  g_err = slurp(errp);
  cr_assert(WIFEXITED(st), "precis died by a signal");
  cr_assert_neq(WEXITSTATUS(st), 127, "cannot run %s", argv[0]);
  return WEXITSTATUS(st);
}

static int run(const char *first, ...) {
  const char *args[48];
  int n = 0;
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a && n < 47; a = va_arg(ap, const char *)) args[n++] = a;
  va_end(ap);
  args[n] = NULL;
  return run_argv(args);
}

#define RUN_OK(...)                                                             \
  do {                                                                          \
    int rc_ = run(__VA_ARGS__, NULL);                                           \
    cr_assert_eq(rc_, 0, "exit %d\nstdout: %s\nstderr: %s", rc_, g_out, g_err); \
  } while (0)

static json_t *out_json(void) {
  json_error_t je;
  json_t *j = json_loads(g_out, 0, &je);
  cr_assert_not_null(j, "stdout is not JSON (%s): %s", je.text, g_out);
  return j;
}

static json_int_t coll_count(const char *name) {
  RUN_OK("--json", "collection", "describe", name);
  json_t *j = out_json();
  json_int_t n = json_integer_value(json_object_get(j, "count"));
  json_decref(j);
  return n;
}

static char *path(const char *name) {
  static char buf[4][600];
  static int i;
  char *p = buf[i++ % 4];
  snprintf(p, sizeof buf[0], "%s/%s", g_files, name);
  return p;
}

static void write_file(const char *p, const void *data, size_t len) {
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* n vectors of dim 8: vector i = e_(i % 8) * (1 + i/100) plus a small tag */
static void vec(int i, float *v) {
  for (int j = 0; j < 8; j++) v[j] = 0.01f * (float)((i * 7 + j) % 5);
  v[i % 8] += 1.0f;
}

static void write_fvecs(const char *p, int n) {
  FILE *f = fopen(p, "wb");
  for (int i = 0; i < n; i++) {
    int32_t d = 8;
    float v[8];
    vec(i, v);
    fwrite(&d, 4, 1, f);
    fwrite(v, 4, 8, f);
  }
  fclose(f);
}

static void write_npy(const char *p, int n, const char *dict) {
  FILE *f = fopen(p, "wb");
  size_t dl = strlen(dict), total = 10 + dl + 1, pad = (64 - total % 64) % 64;
  size_t hlen = dl + pad + 1;
  unsigned char h[10] = {0x93,
                         'N',
                         'U',
                         'M',
                         'P',
                         'Y',
                         1,
                         0,
                         (unsigned char)(hlen & 0xff),
                         (unsigned char)(hlen >> 8)};
  fwrite(h, 1, 10, f);
  fwrite(dict, 1, dl, f);
  for (size_t i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  for (int i = 0; i < n; i++) {
    float v[8];
    vec(i, v);
    fwrite(v, 4, 8, f);
  }
  fclose(f);
}

static void jsonl_line(FILE *f, int id, const char *topic, const char *links) {
  float v[8];
  vec(id, v);
  fprintf(f, "{\"id\": %d, \"vector\": [", id);
  for (int j = 0; j < 8; j++) fprintf(f, "%s%g", j ? ", " : "", v[j]);
  fprintf(f,
          "], \"text\": \"document %d about %s\", \"metadata\": {\"topic\": "
          "\"%s\"}, \"tokens\": 4%s%s}\n",
          id, topic, topic, links ? ", \"links\": " : "", links ? links : "");
}

static void create8(const char *name) {
  RUN_OK("collection", "create", name, "--dim", "8", "--metric", "cosine");
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

Test(cli, usage_errors_exit_2) {
  cr_assert_eq(run(NULL, NULL), 2);
  cr_assert_eq(run("frobnicate", NULL), 2);
  cr_assert_eq(run("collection", "create", "x", NULL), 2); /* no --dim */
  cr_assert(strstr(g_err, "--dim"), "%s", g_err);
  cr_assert_eq(run("collection", "create", "x", "--dim", "zero", NULL), 2);
  cr_assert_eq(run("collection", "create", "x", "--dim", "4", "--bogus", NULL), 2);
  cr_assert(strstr(g_err, "--bogus"), "%s", g_err);
  cr_assert_eq(run("query", "x", NULL), 2);
  cr_assert_eq(run("query", "x", "--vector", "1,2", "--point", "3", NULL), 2);
  cr_assert_eq(run("query", "x", "--vector", "1,abc", NULL), 2);
  cr_assert_eq(run("ingest", "x", NULL), 2);
  cr_assert_eq(run("ingest", "x", "file.unknown", NULL), 2);
  cr_assert_eq(run("link", "add", "x", "1", "2", NULL), 2); /* no --kind */
  cr_assert_eq(run("get", "x", "notanid", NULL), 2);
  cr_assert_eq(run("--timeout", "-1", "health", NULL), 2);
  cr_assert_eq(run("health", "--port", "99999", NULL), 2);
  /* help is not an error */
  RUN_OK("--help");
  cr_assert(strstr(g_out, "usage"), "%s", g_out);
  RUN_OK("ingest", "--help");
  cr_assert(strstr(g_out, "--skip-bad"), "%s", g_out);
  RUN_OK("query", "--help");
  cr_assert(strstr(g_out, "--compare"), "%s", g_out);
  RUN_OK("collection", "create", "--help");
}

Test(cli, no_server_exit_3) {
  srvproc_stop(&g_srv);
  cr_assert_eq(run("health", NULL), 3);
  cr_assert(strstr(g_err, "CONNECTION"), "%s", g_err);
  cr_assert_eq(run("collection", "list", NULL), 3);
  cr_assert_eq(run("--host", "127.0.0.1", "--port", "1", "stats", NULL), 3);
}

Test(cli, collections_and_server_errors) {
  create8("docs");
  cr_assert(strstr(g_out, "docs"), "%s", g_out);
  cr_assert_eq(run("collection", "create", "docs", "--dim", "8", NULL), 1);
  cr_assert(strstr(g_err, "ALREADY_EXISTS"), "%s", g_err);
  RUN_OK("collection", "create", "l2c", "--dim", "3", "--metric", "l2", "--knn-k", "8");
  RUN_OK("collection", "list", "--json");
  json_t *j = out_json();
  cr_assert(json_is_array(j));
  cr_assert_eq(json_array_size(j), 2);
  json_decref(j);
  RUN_OK("collection", "describe", "l2c", "--json");
  j = out_json();
  cr_assert_str_eq(json_string_value(json_object_get(j, "metric")), "l2");
  cr_assert_eq(json_integer_value(json_object_get(j, "dim")), 3);
  json_decref(j);
  RUN_OK("collection", "describe", "l2c"); /* human form */
  cr_assert(strstr(g_out, "metric"), "%s", g_out);
  RUN_OK("collection", "drop", "l2c");
  cr_assert_eq(run("collection", "describe", "l2c", NULL), 1);
  cr_assert(strstr(g_err, "NOT_FOUND"), "%s", g_err);
  cr_assert_eq(run("ingest", "nope", path("x.jsonl"), NULL), 4); /* no file */
}

Test(cli, ingest_fvecs_and_npy) {
  create8("vecs");
  write_fvecs(path("a.fvecs"), 50);
  RUN_OK("ingest", "vecs", path("a.fvecs"), "--batch", "16");
  cr_assert(strstr(g_err, "50"), "%s", g_err); /* progress / summary */
  cr_assert_eq(coll_count("vecs"), 50);
  write_npy(path("b.npy"), 30, "{'descr': '<f4', 'fortran_order': False, 'shape': (30, 8), }");
  RUN_OK("ingest", "vecs", path("b.npy"), "--start-id", "1000", "--json");
  json_t *j = out_json();
  cr_assert_eq(json_integer_value(json_object_get(j, "points")), 30);
  json_decref(j);
  cr_assert_eq(coll_count("vecs"), 80);
  RUN_OK("get", "vecs", "1029", "--vectors", "--json");
  j = out_json();
  json_t *pts = json_object_get(j, "points");
  cr_assert_eq(json_array_size(pts), 1);
  cr_assert_eq(json_array_size(json_object_get(json_array_get(pts, 0), "vector")), 8);
  json_decref(j);

  /* refused npy variants and a truncated fvecs */
  write_npy(path("f.npy"), 2, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 8), }");
  cr_assert_eq(run("ingest", "vecs", path("f.npy"), NULL), 4);
  cr_assert(strstr(g_err, "Fortran"), "%s", g_err);
  write_npy(path("d.npy"), 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 8), }");
  cr_assert_eq(run("ingest", "vecs", path("d.npy"), NULL), 4);
  cr_assert(strstr(g_err, "<f8"), "%s", g_err);
  write_npy(path("w.npy"), 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }");
  cr_assert_eq(run("ingest", "vecs", path("w.npy"), NULL), 4);
  FILE *f = fopen(path("a.fvecs"), "r+b");
  cr_assert_eq(ftruncate(fileno(f), 36 * 10 + 20), 0);
  fclose(f);
  cr_assert_eq(run("ingest", "vecs", path("a.fvecs"), "--start-id", "5000", NULL), 4);
  cr_assert(strstr(g_err, "record 10"), "%s", g_err);
  cr_assert_eq(coll_count("vecs"), 90); /* the 10 whole records went in */
  /* --format overrides the extension */
  write_fvecs(path("c.dat"), 5);
  RUN_OK("ingest", "vecs", path("c.dat"), "--format", "fvecs", "--start-id", "7000");
  cr_assert_eq(coll_count("vecs"), 95);
}

static json_int_t coll_field(const char *name, const char *field) {
  RUN_OK("--json", "collection", "describe", name);
  json_t *j = out_json();
  json_int_t n = json_integer_value(json_object_get(j, field));
  json_decref(j);
  return n;
}

/* --bulk: the batches carry no kNN upkeep, one graph rebuild follows; the
 * graph ends as complete as the one kept up to date batch by batch. */
Test(cli, ingest_bulk_rebuilds_the_graph_once) {
  create8("bulk");
  create8("inc");
  write_fvecs(path("a.fvecs"), 50);
  RUN_OK("ingest", "bulk", path("a.fvecs"), "--batch", "16", "--bulk");
  RUN_OK("ingest", "inc", path("a.fvecs"), "--batch", "16");
  cr_assert_eq(coll_count("bulk"), 50);
  json_int_t k = coll_field("bulk", "knn_k");
  cr_assert(k > 0);
  cr_assert_eq(coll_field("bulk", "knn_edges"), 50 * (k < 49 ? k : 49));
  cr_assert_eq(coll_field("bulk", "knn_edges"), coll_field("inc", "knn_edges"));
}

Test(cli, ingest_jsonl_links_and_bad_lines) {
  create8("kb");
  FILE *f = fopen(path("good.jsonl"), "w");
  for (int i = 0; i < 20; i++)
    jsonl_line(f, i, i < 10 ? "alpha" : "beta",
               i == 3 ? "[{\"dst\": 4, \"kind\": \"cites\", \"weight\": 0.5}]" : NULL);
  fclose(f);
  RUN_OK("ingest", "kb", path("good.jsonl"), "--batch", "7");
  cr_assert_eq(coll_count("kb"), 20);
  RUN_OK("link", "list", "kb", "3", "--out", "--json");
  json_t *j = out_json();
  cr_assert_eq(json_array_size(j), 1);
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(j, 0), "dst")), 4);
  json_decref(j);

  /* line 3 is broken: lines 1-2 are ingested, exit 4, line number shown */
  f = fopen(path("bad.jsonl"), "w");
  jsonl_line(f, 100, "gamma", NULL);
  jsonl_line(f, 101, "gamma", NULL);
  fputs("{\"id\": 102, \"vector\": [1, 2, oops]}\n", f);
  jsonl_line(f, 103, "gamma", NULL);
  fputs("{\"id\": 104, \"vector\": [1, 2, 3]}\n", f); /* wrong dim */
  jsonl_line(f, 105, "gamma", NULL);
  fclose(f);
  int rc = run("ingest", "kb", path("bad.jsonl"), NULL);
  cr_assert_eq(rc, 4, "exit %d: %s", rc, g_err);
  cr_assert(strstr(g_err, "line 3"), "%s", g_err);
  cr_assert_eq(coll_count("kb"), 22);

  RUN_OK("ingest", "kb", path("bad.jsonl"), "--skip-bad", "--json");
  cr_assert(strstr(g_err, "line 3"), "%s", g_err);
  cr_assert(strstr(g_err, "line 5"), "%s", g_err);
  cr_assert(strstr(g_err, "skipped"), "%s", g_err);
  j = out_json();
  cr_assert_eq(json_integer_value(json_object_get(j, "points")), 4);
  cr_assert_eq(json_integer_value(json_object_get(j, "skipped")), 2);
  json_decref(j);
  cr_assert_eq(coll_count("kb"), 24);

  /* a link to a point that does not exist: named by line, skippable */
  f = fopen(path("dangling.jsonl"), "w");
  jsonl_line(f, 200, "delta", "[{\"dst\": 123456, \"kind\": \"cites\"}]");
  fclose(f);
  rc = run("ingest", "kb", path("dangling.jsonl"), NULL);
  if (rc != 0) { /* servers may accept dangling links; if not, say where */
    cr_assert_eq(rc, 1, "exit %d: %s", rc, g_err);
    cr_assert(strstr(g_err, "line 1"), "%s", g_err);
    RUN_OK("ingest", "kb", path("dangling.jsonl"), "--skip-bad");
  }
}

Test(cli, query_json) {
  create8("kb");
  FILE *f = fopen(path("kb.jsonl"), "w");
  for (int i = 0; i < 40; i++) jsonl_line(f, i, i % 2 ? "odd" : "even", NULL);
  fclose(f);
  RUN_OK("ingest", "kb", path("kb.jsonl"));

  /* plain ANN search: vector 0 is e_0-ish; ids 0, 8, 16, ... share it */
  RUN_OK("query", "kb", "--vector", "1,0,0,0,0,0,0,0", "-k", "3", "--search", "--json");
  json_t *j = out_json();
  json_t *hits = json_object_get(j, "hits");
  cr_assert_eq(json_array_size(hits), 3);
  json_int_t top = json_integer_value(json_object_get(json_array_get(hits, 0), "id"));
  cr_assert_eq(top % 8, 0, "top hit %lld", (long long)top);
  json_decref(j);

  int rc = run("query", "kb", "--vector", "1,0.2,0,0,0,0,0,0", "-k", "4", "--mode", "topk",
               "--json", NULL);
  if (rc == 1 && strstr(g_err, "UNIMPLEMENTED"))
    cr_skip_test("retrieve not implemented by this server");
  cr_assert_eq(rc, 0, "%s", g_err);
  j = out_json();
  cr_assert_str_eq(json_string_value(json_object_get(j, "mode")), "topk");
  json_t *items = json_object_get(j, "items");
  cr_assert_eq(json_array_size(items), 4);
  json_t *it0 = json_array_get(items, 0);
  cr_assert(json_is_object(json_object_get(it0, "metadata")));
  cr_assert(json_is_string(json_object_get(it0, "text")));
  json_t *m = json_object_get(j, "metrics");
  cr_assert(json_is_number(json_object_get(m, "coverage_ratio")));
  cr_assert(json_is_number(json_object_get(m, "redundancy")));
  json_decref(j);

  RUN_OK("query", "kb", "--point", "5", "-k", "5", "--compare", "--seeds", "40", "--show-field",
         "topic", "--json");
  j = out_json();
  json_t *t = json_object_get(j, "topk"), *c = json_object_get(j, "compress");
  cr_assert_not_null(t);
  cr_assert_not_null(c);
  cr_assert_eq(json_array_size(json_object_get(t, "items")), 5);
  cr_assert(json_is_integer(json_object_get(json_object_get(c, "metrics"), "distinct")));
  json_decref(j);

  /* the human side-by-side form */
  RUN_OK("query", "kb", "--point", "5", "-k", "5", "--compare", "--show-field", "topic");
  cr_assert(strstr(g_out, "TOPK"), "%s", g_out);
  cr_assert(strstr(g_out, "COMPRESS"), "%s", g_out);
  cr_assert(strstr(g_out, "coverage_ratio"), "%s", g_out);
  cr_assert(strstr(g_out, "distinct topic"), "%s", g_out);

  /* the coverage form that ran: AUTO on this small pool is exact */
  RUN_OK("query", "kb", "--point", "5", "-k", "3");
  cr_assert(strstr(g_out, "coverage: exact"), "%s", g_out);
  RUN_OK("query", "kb", "--point", "5", "-k", "3", "--coverage", "sample", "--json");
  j = out_json();
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "metrics"), "coverage")),
                   "sample");
  json_decref(j);
  RUN_OK("query", "kb", "--point", "5", "-k", "3", "--coverage", "auto", "--json");
  j = out_json();
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "metrics"), "coverage")),
                   "exact");
  json_decref(j);
  cr_assert_eq(run("query", "kb", "--point", "5", "--coverage", "dense", NULL), 2);
  cr_assert(strstr(g_err, "--coverage"), "%s", g_err);

  /* vector file (text) and wrong dimension (server error) */
  write_file(path("q.txt"), "0 1 0 0 0 0 0 0\n", 16);
  RUN_OK("query", "kb", "--vector-file", path("q.txt"), "--mode", "mmr", "--lambda", "0.7",
         "--json");
  cr_assert_eq(run("query", "kb", "--vector", "1,2,3", NULL), 1);
  cr_assert(strstr(g_err, "DIMENSION_MISMATCH"), "%s", g_err);
}

Test(cli, small_commands) {
  create8("kb");
  write_fvecs(path("a.fvecs"), 10);
  RUN_OK("ingest", "kb", path("a.fvecs"), "--quiet");
  RUN_OK("link", "add", "kb", "1", "2", "--kind", "cites", "--weight", "0.5");
  RUN_OK("link", "list", "kb", "2", "--in");
  cr_assert(strstr(g_out, "cites"), "%s", g_out);
  RUN_OK("link", "remove", "kb", "1", "2", "--kind", "cites", "--json");
  json_t *j = out_json();
  cr_assert_eq(json_integer_value(json_object_get(j, "changed")), 1);
  json_decref(j);
  RUN_OK("delete", "kb", "3", "4", "--json");
  j = out_json();
  cr_assert_eq(json_integer_value(json_object_get(j, "deleted")), 2);
  json_decref(j);
  RUN_OK("get", "kb", "3", "5");
  cr_assert(strstr(g_out, "3  (missing)"), "%s", g_out);
  RUN_OK("graph", "rebuild", "kb");
  /* --threads was clamped and ignored; it is gone (issue 12) */
  cr_assert_eq(run("graph", "rebuild", "kb", "--threads", "2", NULL), 2);
  RUN_OK("snapshot", "s1");
  RUN_OK("snapshot", "s2");
  RUN_OK("snapshots", "--json");
  j = out_json();
  json_t *sn = json_object_get(j, "snapshots");
  cr_assert_eq(json_array_size(sn), 2, "%s", g_out);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(sn, 0), "name")), "s1");
  cr_assert_gt(json_integer_value(json_object_get(json_array_get(sn, 1), "bytes")), 0);
  json_decref(j);
  RUN_OK("snapshot-delete", "s1");
  RUN_OK("snapshots");
  cr_assert(!strstr(g_out, "s1") && strstr(g_out, "s2"), "%s", g_out);
  cr_assert_eq(run("snapshot-delete", "s1", NULL), 1, "deleting it twice: NOT_FOUND");
  RUN_OK("stats", "--json");
  j = out_json();
  cr_assert_gt(json_integer_value(json_object_get(j, "requests")), 0);
  json_decref(j);
  RUN_OK("health", "--json");
  j = out_json();
  cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
  json_decref(j);
}

/* --filter (issue 14): the JSON form on search and retrieve, and its errors */
Test(cli, query_filter) {
  create8("kf");
  FILE *f = fopen(path("kf.jsonl"), "w");
  for (int i = 0; i < 40; i++) jsonl_line(f, i, i % 2 ? "odd" : "even", NULL);
  fclose(f);
  RUN_OK("ingest", "kf", path("kf.jsonl"));
  const char *odd = "{\"must\":[{\"key\":\"topic\",\"match\":\"odd\"}]}";
  RUN_OK("query", "kf", "--vector", "1,0,0,0,0,0,0,0", "-k", "5", "--search", "--filter", odd,
         "--json");
  json_t *j = out_json();
  json_t *hits = json_object_get(j, "hits");
  cr_assert_eq(json_array_size(hits), 5);
  for (size_t i = 0; i < 5; i++)
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(hits, i), "id")) % 2, 1);
  json_t *fr = json_object_get(j, "filter");
  cr_assert_str_eq(json_string_value(json_object_get(fr, "plan")), "scan");
  cr_assert(json_is_true(json_object_get(fr, "unindexed")));
  json_decref(j);
  for (int mode = 0; mode < 3; mode++) {
    const char *modes[] = {"topk", "mmr", "compress"};
    RUN_OK("query", "kf", "--point", "4", "-k", "6", "--mode", modes[mode], "--hops", "1",
           "--filter",
           "{\"must_not\":[{\"key\":\"topic\",\"match\":\"odd\"}],"
           "\"should\":[{\"has_id\":[2,4,6,8,10,12,14]}]}",
           "--json");
    j = out_json();
    json_t *items = json_object_get(j, "items");
    cr_assert_gt(json_array_size(items), 0);
    for (size_t i = 0; i < json_array_size(items); i++) {
      json_int_t id = json_integer_value(json_object_get(json_array_get(items, i), "id"));
      cr_assert(id % 2 == 0 && id <= 14, "%s: item %lld", modes[mode], (long long)id);
    }
    json_decref(j);
  }
  /* a payload index answers the same filter, once ready */
  RUN_OK("index", "create", "kf", "topic", "keyword");
  cr_assert_eq(run("index", "create", "kf", "topic", "sometimes", NULL), 2);
  cr_assert_eq(run("index", "create", "kf", "topic", "integer", NULL), 1);
  cr_assert(strstr(g_err, "ALREADY_EXISTS"), "%s", g_err);
  for (int t = 0; t < 500; t++) {
    RUN_OK("--json", "index", "list", "kf");
    j = out_json();
    int ready = json_is_true(json_object_get(json_array_get(j, 0), "ready"));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "key")), "topic");
    json_decref(j);
    if (ready) break;
    usleep(20000);
  }
  RUN_OK("query", "kf", "--vector", "1,0,0,0,0,0,0,0", "-k", "5", "--search", "--filter", odd,
         "--json");
  j = out_json();
  cr_assert(json_is_false(json_object_get(json_object_get(j, "filter"), "unindexed")), "%s", g_out);
  json_decref(j);
  RUN_OK("index", "list", "kf");
  cr_assert(strstr(g_out, "ready"), "%s", g_out);
  RUN_OK("index", "drop", "kf", "topic");
  /* count, scroll, set-payload, delete-where */
  RUN_OK("--json", "count", "kf", "--filter", odd);
  j = out_json();
  cr_assert_eq(json_integer_value(json_object_get(j, "count")), 20);
  json_decref(j);
  RUN_OK("--json", "scroll", "kf", "--filter", odd, "--limit", "15");
  j = out_json();
  cr_assert_eq(json_array_size(json_object_get(j, "points")), 15);
  cr_assert(json_is_true(json_object_get(j, "more")));
  cr_assert_eq(json_integer_value(json_object_get(j, "next_cursor")), 30);
  json_decref(j);
  RUN_OK("--json", "scroll", "kf", "--filter", odd, "--cursor", "30");
  j = out_json();
  cr_assert_eq(json_array_size(json_object_get(j, "points")), 5);
  cr_assert(json_is_false(json_object_get(j, "more")));
  json_decref(j);
  RUN_OK("set-payload", "kf", "--ids", "1,3,5", "--metadata", "{\"topic\":\"gone\"}");
  cr_assert(strstr(g_out, "updated 3"), "%s", g_out);
  RUN_OK("--json", "delete-where", "kf", "--filter",
         "{\"must\":[{\"key\":\"topic\",\"match\":\"gone\"}]}");
  j = out_json();
  cr_assert_eq(json_integer_value(json_object_get(j, "deleted")), 3);
  json_decref(j);
  RUN_OK("count", "kf");
  cr_assert(strstr(g_out, "37"), "%s", g_out);
  cr_assert_eq(run("delete-where", "kf", NULL), 2);
  cr_assert_eq(run("set-payload", "kf", "--ids", "1,x", "--metadata", "{}", NULL), 2);
  cr_assert_eq(run("query", "kf", "--point", "4", "--filter", "{\"must\":[{\"key\":1}]}", NULL), 2);
  cr_assert(strstr(g_err, "--filter"), "%s", g_err);
  cr_assert_eq(run("query", "kf", "--point", "4", "--filter", "{\"must\":", NULL), 2);
  cr_assert_eq(run("query", "kf", "--point", "4", "--filter",
                   "{\"must\":[{\"key\":\"d\",\"date_range\":{\"gte\":\"yesterday\"}}]}", NULL),
               1);
  cr_assert(strstr(g_err, "INVALID_ARGUMENT") && strstr(g_err, "RFC 3339"), "%s", g_err);
}

/* --hops walks the knowledge links only unless --knn: with no link stored,
 * --hops 1 is hops 0 (same items, pool = seeds); --knn walks the kNN
 * edges; --no-knn (the flag of the former default) is accepted */
static json_t *query_json(const char *coll, const char *a, const char *b) {
  if (!a)
    RUN_OK("query", coll, "--point", "4", "-k", "6", "--json");
  else if (!b)
    RUN_OK("query", coll, "--point", "4", "-k", "6", a, "--json");
  else
    RUN_OK("query", coll, "--point", "4", "-k", "6", a, b, "--json");
  return out_json();
}

/* a metric of a query's --json output; fails when absent */
static json_int_t jint(json_t *j, const char *k) {
  json_t *v = json_object_get(json_object_get(j, "metrics"), k);
  cr_assert(json_is_integer(v), "no metric %s", k);
  return json_integer_value(v);
}

Test(cli, query_hops_follow_links_unless_knn) {
  create8("kh");
  FILE *f = fopen(path("kh.jsonl"), "w");
  for (int i = 0; i < 40; i++) jsonl_line(f, i, "t", NULL);
  fclose(f);
  RUN_OK("ingest", "kh", path("kh.jsonl"));
  json_t *h0 = query_json("kh", NULL, NULL);
  json_t *h1 = query_json("kh", "--hops", "1");
  json_t *nk = query_json("kh", "--no-knn", NULL);
  cr_assert(json_equal(json_object_get(h0, "items"), json_object_get(h1, "items")),
            "hops 1 without links differs from hops 0");
  cr_assert_eq(jint(h1, "pool_size"), jint(h1, "seed_count"));
  cr_assert(json_equal(json_object_get(h0, "items"), json_object_get(nk, "items")));
  RUN_OK("query", "kh", "--point", "4", "-k", "6", "--seeds", "6", "--hops", "1", "--knn",
         "--json");
  json_t *kn = out_json();
  cr_assert_gt(jint(kn, "pool_size"), jint(kn, "seed_count"), "--knn walked nothing: %s", g_out);
  json_decref(h0);
  json_decref(h1);
  json_decref(nk);
  json_decref(kn);
}

/* --group-by / --group-limit: at most that many items per metadata value */
Test(cli, query_group_by) {
  create8("kg");
  FILE *f = fopen(path("kg.jsonl"), "w");
  for (int i = 0; i < 40; i++) jsonl_line(f, i, i % 3 ? (i % 3 == 1 ? "a" : "b") : "c", NULL);
  fclose(f);
  RUN_OK("ingest", "kg", path("kg.jsonl"));
  for (int limit = 1; limit <= 2; limit++) {
    char lim[4];
    snprintf(lim, sizeof lim, "%d", limit);
    RUN_OK("query", "kg", "--point", "4", "-k", "8", "--group-by", "topic", "--group-limit", lim,
           "--json");
    json_t *j = out_json();
    json_t *items = json_object_get(j, "items");
    cr_assert_eq(json_array_size(items), (size_t)(3 * limit), "%s", g_out);
    int per[3] = {0};
    for (size_t i = 0; i < json_array_size(items); i++) {
      json_int_t id = json_integer_value(json_object_get(json_array_get(items, i), "id"));
      cr_assert_leq(++per[id % 3], limit, "%s", g_out);
    }
    json_decref(j);
  }
  cr_assert_eq(run("query", "kg", "--point", "4", "--group-by", "a..b", NULL), 1);
  cr_assert(strstr(g_err, "INVALID_ARGUMENT") && strstr(g_err, "group_by"), "%s", g_err);
  cr_assert_eq(
      run("query", "kg", "--point", "4", "--group-by", "topic", "--group-limit", "0", NULL), 2);
}
