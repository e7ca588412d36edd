/* bench_util.c: see bench_util.h */
#include "bench_util.h"

#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "dataset.h"
#include "engine.h"
#include "testutil.h"

int bu_nproc(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

const char *bu_cpu_model(void) {
  static char model[256];
  if (model[0]) return model;
  snprintf(model, sizeof model, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return model;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10)) continue;
    char *c = strchr(line, ':');
    if (!c) continue;
    c++;
    while (*c == ' ' || *c == '\t') c++;
    c[strcspn(c, "\n")] = 0;
    snprintf(model, sizeof model, "%s", c);
    break;
  }
  fclose(f);
  return model;
}

uint64_t bu_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, res = 0;
  int n = fscanf(f, "%lu %lu", &size, &res);
  fclose(f);
  if (n != 2) return 0;
  return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t du_total;
static int du_cb(const char *p, const struct stat *sb, int flag, struct FTW *f) {
  (void)p;
  (void)f;
  if (flag == FTW_F) du_total += (uint64_t)sb->st_size;
  return 0;
}

uint64_t bu_du_bytes(const char *path) {
  du_total = 0;
  nftw(path, du_cb, 16, FTW_PHYS);
  return du_total;
}

static void bu_date(char *buf, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

void bu_env_md(FILE *f) {
  char d[64];
  bu_date(d, sizeof d);
  fprintf(f, "- machine: %d CPUs (nproc), %s\n", bu_nproc(), bu_cpu_model());
  fprintf(f, "- FAISS: %s\n", engine_faiss_build());
  fprintf(f, "- date: %s\n\n", d);
}

void bu_env_json(FILE *f) {
  char d[64];
  bu_date(d, sizeof d);
  fprintf(f, "\"env\":{\"nproc\":%d,\"cpu\":", bu_nproc());
  bu_json_str(f, bu_cpu_model());
  fprintf(f, ",\"faiss\":");
  bu_json_str(f, engine_faiss_build());
  fprintf(f, ",\"date\":");
  bu_json_str(f, d);
  fprintf(f, "}");
}

void bu_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

FILE *bu_open_out(const char *dir, const char *name) {
  if (bench_mkdir(dir)) {
    perror(dir);
    return NULL;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) perror(path);
  return f;
}

int bu_plot(const char *study, const char *dir) {
  const char *script = getenv("PRECIS_BENCH_PLOT");
  if (!script || !*script) script = "bench/plot.sh";
  if (access(script, X_OK)) {
    fprintf(stderr, "precis-bench %s: %s not found (run from the repository root); no plot\n",
            study, script);
    return 0;
  }
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", script, study, dir);
  int st = system(cmd);
  if (st == -1 || !WIFEXITED(st)) return 1;
  int rc = WEXITSTATUS(st);
  if (rc == 3) {
    fprintf(stderr, "precis-bench %s: gnuplot missing (apt-get install -y gnuplot-nox); no plot\n",
            study);
    return 0;
  }
  return rc;
}

char *bu_tmpdir(const char *tag) {
  char t[128];
  snprintf(t, sizeof t, "bench-%s", tag);
  return tu_tmpdir(t);
}

void bu_rmrf_free(char *path) { tu_rmrf_free(path); }

int bu_parse_flist(const char *s, double *out, int max) {
  int n = 0;
  while (*s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || n == max) return -1;
    out[n++] = v;
    if (*end == ',')
      end++;
    else if (*end)
      return -1;
    s = end;
  }
  return n;
}

int bu_parse_range(const char *study, const char *opt, const char *s, uint32_t lo, uint32_t hi,
                   uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (end == s || *end || errno || *s == '-' || v < lo || v > hi) {
    fprintf(stderr, "%s: %s must be %u..%u\n", study, opt, (unsigned)lo, (unsigned)hi);
    return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

double bu_time_cmd(const char *cmd, int *status) {
  uint64_t t0 = bench_now_ns();
  int st = system(cmd);
  uint64_t t1 = bench_now_ns();
  *status = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
  return (double)(t1 - t0) / 1e9;
}

int bu_need_set(const char *study, const char *set) {
  if (ds_available(set)) return 0;
  fprintf(stderr,
          "precis-bench %s: data set '%s' missing under %s/ (run scripts/fetch-data.sh all)\n",
          study, set, ds_data_dir());
  return -1;
}

/* ---- the helpers bench.h declares ---- */

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : (x > y);
}

double bench_quantile(double *x, size_t n, double q) {
  if (n == 0) return 0.0;
  qsort(x, n, sizeof *x, bench_cmp_double);
  size_t rank = (size_t)(q * (double)n + 0.999999); /* nearest rank, 1-based */
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return x[rank - 1];
}

int bench_blas_single_thread(void) {
  setenv("OPENBLAS_NUM_THREADS", "1", 0); /* for anything loaded later */
  void (*set)(int);
  void *sym = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (!sym) return 0;
  memcpy(&set, &sym, sizeof set);
  set(1);
  return 1;
}

int bench_mkdir(const char *dir) {
  if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
  return -1;
}

int bench_parse_list(const char *s, uint32_t *out, int max) {
  double *v = malloc((size_t)(max > 0 ? max : 1) * sizeof *v);
  if (!v) return -1;
  int n = bu_parse_flist(s, v, max);
  for (int i = 0; i < n; i++) {
    if (v[i] != floor(v[i]) || v[i] > UINT32_MAX) { /* whole numbers only */
      n = -1;
      break;
    }
    out[i] = (uint32_t)v[i];
  }
  free(v);
  return n;
}
