/* testutil.c: see testutil.h */
#include "testutil.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_tmpdir(const char *tag) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  size_t n = strlen(base) + strlen(tag) + 32;
  char *p = malloc(n);
  if (!p) return NULL;
  snprintf(p, n, "%s/precis-%s-XXXXXX", base, tag);
  if (!mkdtemp(p)) {
    free(p);
    return NULL;
  }
  return p;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *f) {
  (void)sb;
  (void)flag;
  (void)f;
  return remove(path);
}

void tu_rmrf_free(char *path) {
  if (!path) return;
  nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  free(path);
}

uint64_t tu_rand(uint64_t *s) {
  uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dULL;
}

float tu_randf(uint64_t *s) {
  return (float)((double)(tu_rand(s) >> 11) / (double)(1ULL << 53) * 2.0 - 1.0);
}

float *tu_random_vectors(size_t n, size_t dim, uint64_t seed, int normalise) {
  float *v = malloc(n * dim * sizeof *v);
  if (!v) return NULL;
  uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < n; i++) {
    double norm = 0;
    for (size_t d = 0; d < dim; d++) {
      v[i * dim + d] = tu_randf(&s);
      norm += (double)v[i * dim + d] * v[i * dim + d];
    }
    if (normalise && norm > 0)
      for (size_t d = 0; d < dim; d++) v[i * dim + d] /= (float)sqrt(norm);
  }
  return v;
}

void tu_topk_dot(const float *base, size_t n, size_t dim, const float *q, size_t k, size_t *out) {
  float *best = malloc(k * sizeof *best);
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t d = 0; d < dim; d++) s += (double)base[i * dim + d] * q[d];
    size_t pos = len;
    while (pos > 0 && best[pos - 1] < (float)s) pos--;
    if (pos >= k) continue;
    size_t last = len < k ? len : k - 1;
    for (size_t j = last; j > pos; j--) {
      best[j] = best[j - 1];
      out[j] = out[j - 1];
    }
    best[pos] = (float)s;
    out[pos] = i;
    if (len < k) len++;
  }
  free(best);
}

pid_t tu_fork_child(int fds[2]) {
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) close(fds[0]);
  return pid;
}

int tu_kill_child_when_done(int fds[2], pid_t pid, int *status) {
  close(fds[1]);
  char done = 0;
  ssize_t got = read(fds[0], &done, 1);
  close(fds[0]);
  kill(pid, SIGKILL);
  *status = 0;
  if (waitpid(pid, status, 0) != pid) return 0;
  return got == 1 && done == 1;
}
