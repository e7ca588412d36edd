/* quality_baselines.c: cosine MMR and greedy log-det (see quality_baselines.h). */
#include "quality_baselines.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int qbl_pool_init(qbl_pool *p, const float *q, const float *vecs, size_t n, size_t dim) {
  p->n = n;
  p->rel = malloc((n ? n : 1) * sizeof *p->rel);
  p->gram = malloc((n ? n * n : 1) * sizeof *p->gram);
  if (!p->rel || !p->gram) {
    qbl_pool_free(p);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    const float *a = vecs + i * dim;
    double s = 0;
    for (size_t d = 0; d < dim; d++) s += (double)q[d] * a[d];
    p->rel[i] = s;
    for (size_t j = 0; j <= i; j++) {
      const float *b = vecs + j * dim;
      double g = 0;
      for (size_t d = 0; d < dim; d++) g += (double)a[d] * b[d];
      p->gram[i * n + j] = p->gram[j * n + i] = g;
    }
  }
  return 0;
}

void qbl_pool_free(qbl_pool *p) {
  free(p->rel);
  free(p->gram);
  memset(p, 0, sizeof *p);
}

size_t qbl_cos_mmr(const qbl_pool *p, double lambda, size_t k, size_t *sel) {
  size_t n = p->n, m = 0;
  if (k > n) k = n;
  double *maxsim = malloc((n ? n : 1) * sizeof *maxsim);
  char *used = calloc(n ? n : 1, 1);
  if (!maxsim || !used) {
    free(maxsim);
    free(used);
    return 0;
  }
  for (size_t i = 0; i < n; i++) maxsim[i] = 0;
  while (m < k) {
    size_t best = n;
    double bs = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      if (used[i]) continue;
      double s = m ? lambda * p->rel[i] - (1 - lambda) * maxsim[i] : p->rel[i];
      if (s > bs) {
        bs = s;
        best = i;
      }
    }
    if (best == n) break;
    used[best] = 1;
    sel[m++] = best;
    for (size_t i = 0; i < n; i++) {
      double g = p->gram[best * n + i];
      if (m == 1 || g > maxsim[i]) maxsim[i] = g;
    }
  }
  free(maxsim);
  free(used);
  return m;
}

size_t qbl_logdet(const qbl_pool *p, double theta, size_t k, size_t *sel) {
  size_t n = p->n, m = 0;
  if (k > n) k = n;
  double top = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (p->rel[i] > top) top = p->rel[i];
  double *w = malloc((n ? n : 1) * sizeof *w), *d2 = malloc((n ? n : 1) * sizeof *d2);
  double *cc = calloc((n ? n : 1) * (k ? k : 1), sizeof *cc); /* row i: c_i[0..m) */
  char *used = calloc(n ? n : 1, 1);
  if (!w || !d2 || !cc || !used) goto done;
  /* scaling every quality by one constant leaves the argmax unchanged */
  for (size_t i = 0; i < n; i++) {
    w[i] = exp(theta * (p->rel[i] - top));
    d2[i] = w[i] * w[i] * p->gram[i * n + i];
  }
  while (m < k) {
    size_t j = n;
    double bd = 0;
    for (size_t i = 0; i < n; i++)
      if (!used[i] && d2[i] > bd) {
        bd = d2[i];
        j = i;
      }
    if (j == n || bd <= 1e-12 * w[j] * w[j]) break; /* no volume left */
    used[j] = 1;
    sel[m] = j;
    double dj = sqrt(bd);
    for (size_t i = 0; i < n; i++) {
      if (used[i]) continue;
      double dot = 0;
      for (size_t t = 0; t < m; t++) dot += cc[j * k + t] * cc[i * k + t];
      double e = (w[j] * p->gram[j * n + i] * w[i] - dot) / dj;
      cc[i * k + m] = e;
      d2[i] -= e * e;
    }
    m++;
  }
  while (m < k) { /* fill by similarity */
    size_t best = n;
    for (size_t i = 0; i < n; i++)
      if (!used[i] && (best == n || p->rel[i] > p->rel[best])) best = i;
    if (best == n) break;
    used[best] = 1;
    sel[m++] = best;
  }
done:
  free(w);
  free(d2);
  free(cc);
  free(used);
  return m;
}
