/*
 * select_langchain.c: runs bench/langchain_mmr.cjs under node on the pools
 * of `precis-bench select` (select_langchain.h). Writes the pools to a
 * temporary file, spawns node with posix_spawnp (no shell), reads its
 * per-pool ids and timings from a pipe, and reduces the timings to a median
 * and p99 over all pools x reps, as study_select.c does for Precis.
 */
#include "select_langchain.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

#define LCJS_MAGIC 0x4a434c50u /* "PLCJ" */

static int lcjs_fail(lcjs_result *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->why, sizeof out->why, fmt, ap);
  va_end(ap);
  return -1;
}

/* $env, else rel under the working directory, else under the directory
 * above the running binary (build/precis-bench -> the repository). */
static void lcjs_locate(const char *env, const char *rel, char *buf, size_t len) {
  const char *e = getenv(env);
  if (e && *e) {
    snprintf(buf, len, "%s", e);
    return;
  }
  snprintf(buf, len, "%s", rel);
  struct stat st;
  if (stat(rel, &st) == 0) return;
  char exe[PATH_MAX];
  ssize_t got = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (got <= 0) return;
  exe[got] = 0;
  for (int up = 0; up < 2; up++) {
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0;
  }
  char alt[PATH_MAX];
  if (snprintf(alt, sizeof alt, "%.3000s/%.1000s", exe, rel) >= (int)sizeof alt) return;
  if (stat(alt, &st) == 0 && strlen(alt) < len) memcpy(buf, alt, strlen(alt) + 1);
}

static int lcjs_put_u32(FILE *f, uint32_t x) {
  unsigned char b[4] = {(unsigned char)x, (unsigned char)(x >> 8), (unsigned char)(x >> 16),
                        (unsigned char)(x >> 24)};
  return fwrite(b, 1, 4, f) == 4 ? 0 : -1;
}

/* float32 little-endian (the machines this bench runs on are little-endian;
 * the header's magic makes node refuse anything else) */
static int lcjs_put_f32(FILE *f, const float *x, size_t cnt) {
  return fwrite(x, sizeof *x, cnt, f) == cnt ? 0 : -1;
}

static int lcjs_write(const char *path, const float *const *queries, const float *const *vecs,
                      int pools, size_t n, size_t dim, uint32_t k, float lambda, int warmup,
                      int reps) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int rc = 0;
  uint32_t hdr[8] = {LCJS_MAGIC,    1, (uint32_t)pools,  (uint32_t)n,
                     (uint32_t)dim, k, (uint32_t)warmup, (uint32_t)reps};
  for (int i = 0; i < 8 && !rc; i++) rc = lcjs_put_u32(f, hdr[i]);
  if (!rc) rc = lcjs_put_f32(f, &lambda, 1);
  for (int p = 0; p < pools && !rc; p++) {
    rc = lcjs_put_f32(f, queries[p], dim);
    if (!rc) rc = lcjs_put_f32(f, vecs[p], n * dim);
  }
  if (fclose(f) != 0) rc = -1;
  return rc;
}

/* Spawns argv[0] (PATH search) with stdout to a pipe; *text receives all of
 * it (NUL-terminated, caller frees), *status the wait status. */
static int lcjs_spawn(char *const argv[], char **text, int *status) {
  int fd[2];
  if (pipe(fd)) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
  posix_spawn_file_actions_addclose(&fa, fd[0]);
  pid_t pid;
  int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd[1]);
  if (err) {
    close(fd[0]);
    errno = err;
    return -1;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf && len + 4096 + 1 > cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
      } else {
        buf = nb;
        cap *= 2;
      }
    }
    char sink[4096];
    ssize_t got = read(fd[0], buf ? buf + len : sink, 4096);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (buf) len += (size_t)got;
  }
  close(fd[0]);
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
  if (!buf) return -1;
  buf[len] = 0;
  *text = buf;
  return 0;
}

/* Parses node's output into out (ids) and t (pools * reps times). */
static int lcjs_parse(char *text, int pools, int reps, lcjs_result *out, double *t) {
  int seen = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (!strncmp(line, "version ", 8)) {
      snprintf(out->version, sizeof out->version, "%s", line + 8);
      continue;
    }
    int p, at = 0;
    if (sscanf(line, "pool %d ids%n", &p, &at) != 1 || p < 0 || p >= pools || at == 0)
      return lcjs_fail(out, "unexpected line from node: %.80s", line);
    char *s = line + at, *end;
    for (size_t i = 0; i < out->per_pool; i++) {
      unsigned long v = strtoul(s, &end, 10);
      if (end == s) return lcjs_fail(out, "pool %d: too few ids", p);
      out->ids[(size_t)p * out->per_pool + i] = (uint32_t)v;
      s = end;
    }
    while (*s == ' ') s++;
    if (strncmp(s, "ms", 2)) return lcjs_fail(out, "pool %d: expected timings", p);
    s += 2;
    for (int r = 0; r < reps; r++) {
      double v = strtod(s, &end);
      if (end == s) return lcjs_fail(out, "pool %d: too few timings", p);
      t[(size_t)p * (size_t)reps + (size_t)r] = v;
      s = end;
    }
    seen++;
  }
  return seen == pools ? 0 : lcjs_fail(out, "node reported %d of %d pools", seen, pools);
}

int lcjs_run(const float *const *queries, const float *const *vecs, int pools, size_t n, size_t dim,
             uint32_t k, float lambda, int warmup, int reps, lcjs_result *out) {
  memset(out, 0, sizeof *out);
  if (pools < 1 || n < 1 || dim < 1 || k < 1 || reps < 1 || warmup < 0)
    return lcjs_fail(out, "bad arguments");
  char node[PATH_MAX], script[PATH_MAX], dir[PATH_MAX];
  const char *e = getenv("PRECIS_NODE");
  snprintf(node, sizeof node, "%s", e && *e ? e : "node");
  lcjs_locate("PRECIS_LANGCHAIN_SCRIPT", "bench/langchain_mmr.cjs", script, sizeof script);
  lcjs_locate("PRECIS_LANGCHAIN_DIR", ".deps/langchain", dir, sizeof dir);

  out->per_pool = k < n ? k : n;
  out->ids = calloc((size_t)pools * out->per_pool, sizeof *out->ids);
  double *t = malloc((size_t)pools * (size_t)reps * sizeof *t);
  const char *tmpdir = getenv("TMPDIR");
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/precis-lcjs.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  int fd = -1, rc = -1;
  char *text = NULL;
  if (!out->ids || !t) {
    lcjs_fail(out, "out of memory");
    goto done;
  }
  fd = mkstemp(path);
  if (fd < 0) {
    lcjs_fail(out, "temporary file %s: %s", path, strerror(errno));
    goto done;
  }
  close(fd);
  if (lcjs_write(path, queries, vecs, pools, n, dim, k, lambda, warmup, reps)) {
    lcjs_fail(out, "writing %s: %s", path, strerror(errno));
    goto done;
  }
  char *argv[] = {node, script, path, dir, NULL};
  int status = 0;
  if (lcjs_spawn(argv, &text, &status)) {
    lcjs_fail(out, "cannot run %s: %s (apt-get install nodejs)", node, strerror(errno));
    goto done;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    lcjs_fail(out, "%s not found (apt-get install nodejs)", node);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
    lcjs_fail(out, "@langchain/core missing under %s (run scripts/fetch-langchain.sh)", dir);
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    lcjs_fail(out, "node %s failed (status %d)", script, status);
  } else if (lcjs_parse(text, pools, reps, out, t) == 0) {
    size_t nt = (size_t)pools * (size_t)reps;
    out->med_ms = bench_quantile(t, nt, 0.5);
    out->p99_ms = bench_quantile(t, nt, 0.99);
    rc = 0;
  }
done:
  if (fd >= 0) unlink(path);
  free(text);
  free(t);
  if (rc) {
    free(out->ids);
    out->ids = NULL;
  }
  return rc;
}

void lcjs_result_free(lcjs_result *r) {
  if (!r) return;
  free(r->ids);
  r->ids = NULL;
}
