/* gt.c: number crunching for scripts/fetch-data.sh (built into data/_build/gt).
 *
 *   gt normalize IN.f32 OUT.f32 DIM
 *       L2-normalise each row (rows of norm 0 are copied as zeros); prints the
 *       number of zero rows on stdout.
 *   gt knn BASE.f32 QUERIES.f32 DIM K OUT.i32 OUT.f32
 *       exact top-K by inner product (== cosine when both inputs are
 *       L2-normalised) of every query over every base row. OUT.i32: nq x K
 *       row indices into BASE, best first; OUT.f32: nq x K scores. Ties go to
 *       the lower base row. Dot products are accumulated in double, in
 *       dimension order, so the result does not depend on the SIMD width.
 *
 * Files are raw little-endian row-major float32 / int32 without header.
 * Build: cc -O3 -march=native -fopenmp -o gt gt.c -lm
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QB 16 /* queries per block */

static void die(const char *what, const char *path) {
  fprintf(stderr, "gt: %s %s: %s\n", what, path, errno ? strerror(errno) : "bad input");
  exit(1);
}

static float *load(const char *path, size_t dim, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) die("open", path);
  if (fseek(f, 0, SEEK_END) != 0) die("seek", path);
  long sz = ftell(f);
  rewind(f);
  errno = 0;
  if (sz < 0 || (size_t)sz % (dim * sizeof(float)) != 0) die("size not a multiple of dim*4:", path);
  *n = (size_t)sz / (dim * sizeof(float));
  float *p = malloc((size_t)sz ? (size_t)sz : 1);
  if (!p) die("malloc for", path);
  if (fread(p, 1, (size_t)sz, f) != (size_t)sz) die("read", path);
  fclose(f);
  return p;
}

static void store(const char *path, const void *p, size_t bytes) {
  FILE *f = fopen(path, "wb");
  if (!f) die("create", path);
  if (fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0) die("write", path);
}

typedef struct {
  float s;
  int32_t i;
} hit;

/* a worse than b: lower score, or equal score and higher index */
static int worse(hit a, hit b) { return a.s < b.s || (a.s == b.s && a.i > b.i); }

/* min-heap on "worse" of size k: h[0] is the worst kept hit */
static void sift_down(hit *h, size_t k, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < k && worse(h[l], h[m])) m = l;
    if (r < k && worse(h[r], h[m])) m = r;
    if (m == i) return;
    hit t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

static int cmp_best_first(const void *pa, const void *pb) {
  hit a = *(const hit *)pa, b = *(const hit *)pb;
  return worse(a, b) ? 1 : worse(b, a) ? -1 : 0;
}

static int knn(char **av) {
  size_t dim = strtoul(av[2], NULL, 10), k = strtoul(av[3], NULL, 10), nb, nq;
  if (!dim || !k) {
    fprintf(stderr, "gt: bad DIM or K\n");
    return 2;
  }
  float *base = load(av[0], dim, &nb), *q = load(av[1], dim, &nq);
  if (k > nb) {
    fprintf(stderr, "gt: K=%zu > %zu base rows\n", k, nb);
    return 2;
  }
  int32_t *oi = malloc(nq * k * sizeof *oi);
  float *os = malloc(nq * k * sizeof *os);
  if (!oi || !os) die("malloc", "output");
  size_t nblk = (nq + QB - 1) / QB;
#pragma omp parallel
  {
    hit *heaps = malloc(QB * k * sizeof *heaps);
    double *qt = malloc(dim * QB * sizeof *qt);
    if (!heaps || !qt) die("malloc", "heap");
#pragma omp for schedule(dynamic, 1)
    for (size_t blk = 0; blk < nblk; blk++) {
      size_t q0 = blk * QB, nqb = nq - q0 < QB ? nq - q0 : QB;
      for (size_t j = 0; j < dim; j++)
        for (size_t b = 0; b < QB; b++) qt[j * QB + b] = b < nqb ? q[(q0 + b) * dim + j] : 0.0;
      size_t fill = 0;
      for (size_t r = 0; r < nb; r++) {
        const float *x = base + r * dim;
        double acc[QB] = {0};
        for (size_t j = 0; j < dim; j++) {
          double xj = x[j];
          for (size_t b = 0; b < QB; b++) acc[b] += xj * qt[j * QB + b];
        }
        for (size_t b = 0; b < nqb; b++) {
          hit c = {(float)acc[b], (int32_t)r}, *h = heaps + b * k;
          if (fill < k) {
            /* sift up */
            size_t i = fill;
            h[i] = c;
            while (i > 0 && worse(h[i], h[(i - 1) / 2])) {
              hit t = h[i];
              h[i] = h[(i - 1) / 2];
              h[(i - 1) / 2] = t;
              i = (i - 1) / 2;
            }
          } else if (worse(h[0], c)) {
            h[0] = c;
            sift_down(h, k, 0);
          }
        }
        if (fill < k) fill++;
      }
      for (size_t b = 0; b < nqb; b++) {
        hit *h = heaps + b * k;
        qsort(h, k, sizeof *h, cmp_best_first);
        for (size_t i = 0; i < k; i++) {
          oi[(q0 + b) * k + i] = h[i].i;
          os[(q0 + b) * k + i] = h[i].s;
        }
      }
    }
    free(heaps);
    free(qt);
  }
  store(av[4], oi, nq * k * sizeof *oi);
  store(av[5], os, nq * k * sizeof *os);
  fprintf(stderr, "gt: top-%zu of %zu queries over %zu x %zu\n", k, nq, nb, dim);
  free(base);
  free(q);
  free(oi);
  free(os);
  return 0;
}

static int normalize(char **av) {
  size_t dim = strtoul(av[2], NULL, 10), n, zero = 0;
  if (!dim) {
    fprintf(stderr, "gt: bad DIM\n");
    return 2;
  }
  float *v = load(av[0], dim, &n);
  for (size_t r = 0; r < n; r++) {
    float *x = v + r * dim;
    double s = 0;
    for (size_t j = 0; j < dim; j++) s += (double)x[j] * x[j];
    if (s == 0) {
      zero++;
      continue;
    }
    double inv = 1.0 / sqrt(s);
    for (size_t j = 0; j < dim; j++) x[j] = (float)(x[j] * inv);
  }
  store(av[1], v, n * dim * sizeof *v);
  printf("%zu\n", zero);
  free(v);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "normalize")) return normalize(argv + 2);
  if (argc == 8 && !strcmp(argv[1], "knn")) return knn(argv + 2);
  fprintf(stderr, "usage: gt normalize IN OUT DIM | gt knn BASE QUERIES DIM K OUT.i32 OUT.f32\n");
  return 2;
}
