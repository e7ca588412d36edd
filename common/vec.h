/*
 * vec.h: the scalar dot-product and squared-L2 kernels of Precis, summed in
 * double so that exact scores (brute-force search, retrieval's rescoring)
 * do not depend on the order of a float sum (the _f variants: float, for
 * comparisons only). The ANN hot path keeps its
 * AVX2/FMA kernels in index/ann/faiss_ext.cpp (float sums, chosen at run time);
 * everything else computes similarities here.
 */
#ifndef PRECIS_COMMON_VEC_H
#define PRECIS_COMMON_VEC_H

#include <stddef.h>

static inline double vec_dot(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

static inline double vec_l2sq(const float *a, const float *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)a[i] - b[i];
    s += d * d;
  }
  return s;
}

/* a.b and |a - b|^2 in float, eight partial sums (which the compiler keeps
 * in vector registers), for comparisons that need no exact score: which of
 * a few points lies nearest a target (retrieval's analogy). Deterministic:
 * the order of the sum is fixed. */
static inline float vec_dot_f(const float *a, const float *b, size_t n) {
  float s[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
  float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) r += a[i] * b[i];
  return r;
}

static inline float vec_l2sq_f(const float *a, const float *b, size_t n) {
  float s[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; j++) {
      float d = a[i + j] - b[i + j];
      s[j] += d * d;
    }
  float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) {
    float d = a[i] - b[i];
    r += d * d;
  }
  return r;
}

/* One pass for retrieval's rescoring: a.b, a.a and |a - b|^2 together (about
 * 2.5 times faster than three calls at dim 100..384). */
static inline void vec_dot_norm_l2(const float *a, const float *b, size_t n, double *dot,
                                   double *norm, double *l2) {
  double s = 0, aa = 0, d2 = 0;
  for (size_t i = 0; i < n; i++) {
    s += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    double d = (double)a[i] - b[i];
    d2 += d * d;
  }
  *dot = s, *norm = aa, *l2 = d2;
}

#endif /* PRECIS_COMMON_VEC_H */
