/* test_ann.c: the FAISS adapter (index/ann/ann.h) on seeded random data:
 * exactness of Flat, HNSW recall, per-call parameters, persistence and its
 * failure modes, error translation, training, concurrent search. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ann.h"

enum { DIM = 32, NB = 5000, NQ = 100, K = 10 };

/* ---- data ---- */

static uint64_t rng_state;
static float frand(void) { /* xorshift64*, uniform in [-1, 1) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (float)((rng_state * 0x2545F4914F6CDD1DULL) >> 40) / (float)(1 << 23) - 1.0f;
}
static float *rand_vecs(size_t n, uint64_t seed) {
  rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
  float *v = malloc(n * DIM * sizeof *v);
  cr_assert_not_null(v);
  for (size_t i = 0; i < n * DIM; i++) v[i] = frand();
  return v;
}

static float dist_of(ann_metric m, const float *a, const float *b) {
  float s = 0;
  for (int j = 0; j < DIM; j++)
    s += m == ANN_METRIC_IP ? a[j] * b[j] : (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

/* Brute-force top-k (best first) of one query. */
static void brute_topk(ann_metric m, const float *xb, size_t nb, const float *q, size_t k, float *d,
                       int64_t *l) {
  for (size_t j = 0; j < k; j++) d[j] = m == ANN_METRIC_IP ? -FLT_MAX : FLT_MAX, l[j] = -1;
  for (size_t i = 0; i < nb; i++) {
    float s = dist_of(m, q, xb + i * DIM);
    size_t p = k;
    while (p > 0 && (m == ANN_METRIC_IP ? s > d[p - 1] : s < d[p - 1])) p--;
    if (p == k) continue;
    memmove(d + p + 1, d + p, (k - p - 1) * sizeof *d);
    memmove(l + p + 1, l + p, (k - p - 1) * sizeof *l);
    d[p] = s, l[p] = (int64_t)i;
  }
}

static ann *build(const char *spec, ann_metric m, const float *xb, size_t nb) {
  ann *a = NULL;
  precis_error err = {0};
  cr_assert_eq(ann_create(DIM, m, spec, &a, &err), PRECIS_OK, "%s: %s", spec, err.msg);
  cr_assert_eq(ann_train(a, nb, xb, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(ann_add(a, nb, xb, &err), PRECIS_OK, "%s", err.msg);
  return a;
}

typedef struct {
  float d[NQ * K];
  int64_t l[NQ * K];
} results;

static void search(const ann *a, const float *xq, uint32_t ef, uint32_t nprobe, results *r) {
  precis_error err = {0};
  ann_search_params p = {.ef_search = ef, .nprobe = nprobe};
  cr_assert_eq(ann_search(a, NQ, xq, K, &p, r->d, r->l, &err), PRECIS_OK, "%s", err.msg);
}

static int same(const results *a, const results *b) {
  return memcmp(a->l, b->l, sizeof a->l) == 0 && memcmp(a->d, b->d, sizeof a->d) == 0;
}

static double recall(const results *r, const results *truth) {
  size_t hit = 0;
  for (int q = 0; q < NQ; q++)
    for (int i = 0; i < K; i++)
      for (int j = 0; j < K; j++) hit += r->l[q * K + i] == truth->l[q * K + j];
  return (double)hit / (NQ * K);
}

/* ---- files ---- */

static char dir[64];
static void mkdir_tmp(void) {
  strcpy(dir, "/tmp/precis-test-ann-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void rm_tmp(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}
static char *file_in_dir(const char *name) {
  static char p[128];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}
static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  unsigned char *b = malloc(*len);
  cr_assert_eq(fread(b, 1, *len, f), *len);
  fclose(f);
  return b;
}
static void spit(const char *path, const void *b, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(b, 1, len, f), len);
  fclose(f);
}
static void expect_load_fails(const char *path, int code) {
  ann *a = (ann *)1;
  precis_error err = {0};
  cr_assert_eq(ann_load(path, &a, &err), code, "got %d (%s)", err.code, err.msg);
  cr_assert_eq(err.code, code);
  cr_assert_null(a);
  cr_assert_gt(strlen(err.msg), 0);
}

/* The file trailer, written independently of ann.c as a check of the format:
 * "PRCSANN1" | payload length u64 LE | CRC-32C u32 LE. */
static uint32_t crc32c_bitwise(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) {
    c ^= *p++;
    for (int j = 0; j < 8; j++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return ~c;
}
static void append_trailer(unsigned char *buf, size_t len) {
  uint32_t crc = crc32c_bitwise(buf, len);
  memcpy(buf + len, "PRCSANN1", 8);
  for (int i = 0; i < 8; i++) buf[len + 8 + i] = (unsigned char)((uint64_t)len >> (8 * i));
  for (int i = 0; i < 4; i++) buf[len + 16 + i] = (unsigned char)(crc >> (8 * i));
}

/* ---- tests ---- */

Test(ann, create_and_add) {
  float *xb = rand_vecs(1000, 1);
  const char *specs[] = {"Flat", "HNSW32"};
  for (int s = 0; s < 2; s++) {
    ann *a = NULL;
    precis_error err = {0};
    cr_assert_eq(ann_create(DIM, ANN_METRIC_L2, specs[s], &a, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_eq(ann_dim(a), DIM);
    cr_assert_eq(ann_ntotal(a), 0);
    cr_assert(ann_is_trained(a));
    cr_assert_eq(ann_add(a, 600, xb, &err), PRECIS_OK);
    cr_assert_eq(ann_add(a, 400, xb + 600 * DIM, &err), PRECIS_OK);
    cr_assert_eq(ann_add(a, 0, NULL, &err), PRECIS_OK);
    cr_assert_eq(ann_ntotal(a), 1000);
    /* labels are dense: stored vector 777 is its own nearest neighbour */
    ann_search_params p = {.ef_search = 64};
    float d[3];
    int64_t l[3];
    cr_assert_eq(ann_search(a, 1, xb + 777 * DIM, 3, &p, d, l, &err), PRECIS_OK);
    cr_assert_eq(l[0], 777, "%s: got label %ld", specs[s], (long)l[0]);
    cr_assert_float_eq(d[0], 0.0f, 1e-5);
    ann_destroy(a);
  }
  free(xb);
}

/* r (NQ queries) against the brute-force top-K over xb: same ranking, a
 * label differing only between exact ties */
static void check_brute(ann_metric m, const float *xb, size_t n, const float *xq, const results *r,
                        const char *what) {
  for (int q = 0; q < NQ; q++) {
    float d[K];
    int64_t l[K];
    brute_topk(m, xb, n, xq + q * DIM, K, d, l);
    for (int i = 0; i < K; i++) {
      float got = r->d[q * K + i], tol = 1e-4f * (1 + fabsf(d[i]));
      cr_assert_float_eq(got, d[i], tol, "%s q%d rank %d: %g vs %g", what, q, i, got, d[i]);
      int64_t gl = r->l[q * K + i];
      cr_assert(gl >= 0 && (size_t)gl < n, "%s", what);
      cr_assert_float_eq(dist_of(m, xq + q * DIM, xb + gl * DIM), got, tol, "%s", what);
      if (gl != l[i]) cr_assert_float_eq(d[i], dist_of(m, xq + q * DIM, xb + gl * DIM), tol);
    }
  }
}

/* spec searched plainly (Flat) or with `exact` (any index with
 * full-precision vectors): the brute-force top-K, for NQ queries at once
 * (FAISS multiplies matrices) and one at a time (a scan per query: the
 * AVX2 kernels where the CPU has them, faiss_ext.cpp) */
static void check_exact(const char *spec, ann_metric m, int exact) {
  enum { N = 2000 };
  float *xb = rand_vecs(N, 2), *xq = rand_vecs(NQ, 3);
  ann *a = build(spec, m, xb, N);
  cr_assert_eq(ann_can_exact(a), 1, "%s", spec);
  static results r, one;
  precis_error err = {0};
  ann_search_params p = {.ef_search = 16, .exact = exact};
  cr_assert_eq(ann_search(a, NQ, xq, K, &p, r.d, r.l, &err), PRECIS_OK, "%s", err.msg);
  check_brute(m, xb, N, xq, &r, "batch");
  for (int q = 0; q < NQ; q++)
    cr_assert_eq(ann_search(a, 1, xq + q * DIM, K, &p, one.d + q * K, one.l + q * K, &err),
                 PRECIS_OK, "%s", err.msg);
  check_brute(m, xb, N, xq, &one, "one query");
  ann_destroy(a);
  free(xb);
  free(xq);
}

static int keep_even(void *ctx, int64_t label) {
  (void)ctx;
  return label % 2 == 0;
}

/* Flat with a selector, one query at a time: the brute-force top-K of the
 * kept labels; and K beyond the points: every point, then label -1 at the
 * metric's worst distance */
Test(ann, flat_selector_and_short_results) {
  enum { N = 1000, FEW = 6 };
  ann_metric metrics[] = {ANN_METRIC_L2, ANN_METRIC_IP};
  float *xb = rand_vecs(N, 21), *xq = rand_vecs(NQ, 22);
  float *even = malloc(N / 2 * DIM * sizeof *even);
  cr_assert_not_null(even);
  for (size_t i = 0; i < N / 2; i++) memcpy(even + i * DIM, xb + 2 * i * DIM, DIM * sizeof *even);
  for (int mi = 0; mi < 2; mi++) {
    ann_metric m = metrics[mi];
    ann *a = build("Flat", m, xb, N);
    static results r;
    precis_error err = {0};
    for (int q = 0; q < NQ; q++)
      cr_assert_eq(
          ann_search_sel(a, xq + q * DIM, K, NULL, keep_even, NULL, r.d + q * K, r.l + q * K, &err),
          PRECIS_OK, "%s", err.msg);
    for (int i = 0; i < NQ * K; i++) {
      cr_assert_eq(r.l[i] % 2, 0, "label %lld kept", (long long)r.l[i]);
      r.l[i] /= 2; /* rows of `even` */
    }
    check_brute(m, even, N / 2, xq, &r, "selector");
    ann_destroy(a);

    ann *few = build("Flat", m, xb, FEW);
    float d[K];
    int64_t l[K];
    cr_assert_eq(ann_search(few, 1, xq, K, NULL, d, l, &err), PRECIS_OK, "%s", err.msg);
    int seen[FEW] = {0};
    for (int i = 0; i < K; i++) {
      if (i < FEW) {
        cr_assert(l[i] >= 0 && l[i] < FEW && !seen[l[i]]++, "rank %d: %lld", i, (long long)l[i]);
        if (i) cr_assert(m == ANN_METRIC_IP ? d[i] <= d[i - 1] : d[i] >= d[i - 1]);
      } else {
        cr_assert_eq(l[i], -1);
        cr_assert_eq(d[i], m == ANN_METRIC_IP ? -FLT_MAX : FLT_MAX);
      }
    }
    ann_destroy(few);
  }
  free(even);
  free(xb);
  free(xq);
}
Test(ann, flat_l2_matches_brute_force) { check_exact("Flat", ANN_METRIC_L2, 0); }
Test(ann, flat_ip_matches_brute_force) { check_exact("Flat", ANN_METRIC_IP, 0); }
Test(ann, hnsw_exact_search_matches_brute_force) {
  check_exact("HNSW16", ANN_METRIC_L2, 1);
  check_exact("HNSW16", ANN_METRIC_IP, 1);
}

Test(ann, exact_search_needs_full_precision_vectors) {
  enum { N = 2000 };
  float *xb = rand_vecs(N, 2), *xq = rand_vecs(NQ, 3);
  ann *a = build("PQ4x4", ANN_METRIC_L2, xb, N);
  cr_assert_eq(ann_can_exact(a), 0);
  results r;
  precis_error err = {0};
  ann_search_params p = {.exact = 1};
  cr_assert_eq(ann_search(a, NQ, xq, K, &p, r.d, r.l, &err), PRECIS_E_UNIMPLEMENTED);
  cr_assert(strstr(err.msg, "exact"), "%s", err.msg);
  ann_destroy(a);
  free(xb);
  free(xq);
}

Test(ann, hnsw_recall) {
  float *xb = rand_vecs(NB, 4), *xq = rand_vecs(NQ, 5);
  ann_metric metrics[] = {ANN_METRIC_L2, ANN_METRIC_IP};
  for (int mi = 0; mi < 2; mi++) {
    ann *flat = build("Flat", metrics[mi], xb, NB), *h = build("HNSW32", metrics[mi], xb, NB);
    results truth, r;
    search(flat, xq, 0, 0, &truth);
    search(h, xq, 64, 0, &r);
    double rc = recall(&r, &truth);
    cr_assert_geq(rc, 0.95, "metric %d: recall@10 %.3f at efSearch 64", (int)metrics[mi], rc);
    ann_destroy(flat);
    ann_destroy(h);
  }
  free(xb);
  free(xq);
}

Test(ann, per_call_ef_search) {
  float *xb = rand_vecs(NB, 6), *xq = rand_vecs(NQ, 7);
  ann *h = build("HNSW32", ANN_METRIC_L2, xb, NB);
  ann *flat = build("Flat", ANN_METRIC_L2, xb, NB);
  static results truth, def0, def1, lo, hi, set64, call64;
  search(flat, xq, 0, 0, &truth);
  search(h, xq, 0, 0, &def0); /* FAISS default efSearch 16 */
  search(h, xq, 1, 0, &lo);
  search(h, xq, 256, 0, &hi);
  search(h, xq, 64, 0, &call64);
  search(h, xq, 0, 0, &def1);
  cr_assert(same(&def0, &def1), "a per-call efSearch changed the index default");
  cr_assert(!same(&lo, &hi), "efSearch 1 and 256 gave identical results");
  cr_assert_gt(recall(&hi, &truth), recall(&def0, &truth), "efSearch 256 not above default");
  /* per-call efSearch above the default is exactly the index set to it
   * (FAISS 1.7.x needs the extension's workaround for this) */
  precis_error err = {0};
  cr_assert_eq(ann_set_param(h, "efSearch", 64, &err), PRECIS_OK, "%s", err.msg);
  search(h, xq, 0, 0, &set64);
  cr_assert(same(&set64, &call64), "per-call efSearch 64 differs from efSearch set to 64");
  ann_destroy(h);
  ann_destroy(flat);
  free(xb);
  free(xq);
}

Test(ann, set_param_errors) {
  float *xb = rand_vecs(100, 8);
  ann *flat = build("Flat", ANN_METRIC_L2, xb, 100);
  ann *h = NULL;
  precis_error err = {0};
  cr_assert_eq(ann_create(DIM, ANN_METRIC_L2, "HNSW16", &h, &err), PRECIS_OK);
  cr_assert_eq(ann_set_param(h, "efConstruction", 80, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(ann_set_param(h, "efSearch", 32, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(ann_set_param(h, "bogus", 1, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(ann_set_param(h, "efSearch", 0, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert_eq(ann_set_param(h, "efSearch", 1.5, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(ann_set_param(h, "nprobe", 4, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_gt(strlen(err.msg), 0);
  cr_assert_eq(ann_set_param(flat, "efSearch", 64, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_not_null(strstr(err.msg, "efSearch"), "%s", err.msg);
  ann_destroy(flat);
  ann_destroy(h);
  free(xb);
}

Test(ann, bad_spec_and_arguments) {
  ann *a = (ann *)1;
  precis_error err = {0};
  cr_assert_eq(ann_create(DIM, ANN_METRIC_L2, "NoSuchIndex42", &a, &err),
               PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(err.code, PRECIS_E_INVALID_ARGUMENT);
  cr_assert_null(a);
  /* the message comes from FAISS through faiss_get_last_error() */
  cr_assert_gt(strlen(err.msg), strlen("bad index spec: "), "empty message: %s", err.msg);
  cr_assert_not_null(strstr(err.msg, "NoSuchIndex42"), "%s", err.msg);
  cr_assert_eq(ann_create(DIM, ANN_METRIC_L2, "IDMap,HNSW32", &a, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(ann_create(DIM, ANN_METRIC_L2, "", &a, &err), PRECIS_E_INVALID_ARGUMENT);
  cr_assert_eq(ann_create(0, ANN_METRIC_L2, "Flat", &a, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert_eq(ann_create(DIM, (ann_metric)7, "Flat", &a, &err), PRECIS_E_INVALID_ARGUMENT);

  cr_assert_eq(ann_create(DIM, ANN_METRIC_L2, "Flat", &a, &err), PRECIS_OK);
  float q[DIM] = {0}, d[1];
  int64_t l[1];
  cr_assert_eq(ann_search(a, 1, q, 0, NULL, d, l, &err), PRECIS_E_INVALID_ARGUMENT);
  ann_destroy(a);
  ann_destroy(NULL);
}

Test(ann, empty_index_and_short_results) {
  ann *a = NULL;
  precis_error err = {0};
  cr_assert_eq(ann_create(DIM, ANN_METRIC_IP, "HNSW32", &a, &err), PRECIS_OK);
  float *xq = rand_vecs(2, 9), d[2 * 5];
  int64_t l[2 * 5];
  ann_search_params p = {.ef_search = 50};
  cr_assert_eq(ann_search(a, 2, xq, 5, &p, d, l, &err), PRECIS_OK, "%s", err.msg);
  for (int i = 0; i < 10; i++) cr_assert_eq(l[i], -1);
  /* fewer vectors than k: padded with -1 and the worst distance */
  float *xb = rand_vecs(3, 10);
  cr_assert_eq(ann_add(a, 3, xb, &err), PRECIS_OK);
  cr_assert_eq(ann_search(a, 2, xq, 5, NULL, d, l, &err), PRECIS_OK);
  for (int q = 0; q < 2; q++) {
    for (int i = 0; i < 3; i++) cr_assert(l[q * 5 + i] >= 0 && l[q * 5 + i] < 3);
    for (int i = 3; i < 5; i++) cr_assert(l[q * 5 + i] == -1 && d[q * 5 + i] == -FLT_MAX);
  }
  ann_destroy(a);
  free(xq);
  free(xb);
}

Test(ann, ivf_needs_training) {
  enum { N = 3000 };
  float *xb = rand_vecs(N, 11), *xq = rand_vecs(NQ, 12);
  ann *a = NULL;
  precis_error err = {0};
  cr_assert_eq(ann_create(DIM, ANN_METRIC_L2, "IVF16,Flat", &a, &err), PRECIS_OK, "%s", err.msg);
  cr_assert(!ann_is_trained(a));
  cr_assert_eq(ann_add(a, N, xb, &err), PRECIS_E_INVALID_ARGUMENT);
  results r, truth;
  search(a, xq, 0, 0, &r); /* empty and untrained: all -1 */
  for (int i = 0; i < NQ * K; i++) cr_assert_eq(r.l[i], -1);
  cr_assert_eq(ann_train(a, N, xb, &err), PRECIS_OK, "%s", err.msg);
  cr_assert(ann_is_trained(a));
  cr_assert_eq(ann_train(a, N, xb, &err), PRECIS_OK); /* no-op once trained */
  cr_assert_eq(ann_add(a, N, xb, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(ann_ntotal(a), N);
  ann *flat = build("Flat", ANN_METRIC_L2, xb, N);
  search(flat, xq, 0, 0, &truth);
  search(a, xq, 0, 16, &r); /* every list probed: exact */
  cr_assert_geq(recall(&r, &truth), 0.999);
  results one, def;
  search(a, xq, 0, 1, &one);
  search(a, xq, 0, 0, &def);
  cr_assert_lt(recall(&one, &truth), 0.999, "nprobe 1 as good as exhaustive?");
  cr_assert(same(&one, &def), "index default nprobe is 1");
  cr_assert_eq(ann_set_param(a, "nprobe", 16, &err), PRECIS_OK, "%s", err.msg);
  search(a, xq, 0, 0, &def);
  cr_assert_geq(recall(&def, &truth), 0.999);
  ann_destroy(a);
  ann_destroy(flat);
  free(xb);
  free(xq);
}

Test(ann, save_load_roundtrip, .init = mkdir_tmp, .fini = rm_tmp) {
  float *xb = rand_vecs(NB, 13), *xq = rand_vecs(NQ, 14);
  const char *specs[] = {"HNSW32", "IVF32,Flat", "Flat"};
  for (int s = 0; s < 3; s++) {
    ann *a = build(specs[s], ANN_METRIC_IP, xb, NB);
    precis_error err = {0};
    const char *param = s == 0 ? "efSearch" : s == 1 ? "nprobe" : NULL;
    if (param) cr_assert_eq(ann_set_param(a, param, 8, &err), PRECIS_OK, "%s", err.msg);
    char path[128];
    strcpy(path, file_in_dir("index.faiss"));
    cr_assert_eq(ann_save(a, path, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_neq(access(file_in_dir("index.faiss.tmp"), F_OK), 0, "temp file left behind");
    ann *b = NULL;
    cr_assert_eq(ann_load(path, &b, &err), PRECIS_OK, "%s: %s", specs[s], err.msg);
    cr_assert_eq(ann_dim(b), DIM);
    cr_assert_eq(ann_ntotal(b), NB);
    cr_assert_eq(ann_is_trained(b), 1);
    static results ra, rb;
    search(a, xq, 0, 0, &ra); /* the saved defaults came back too */
    search(b, xq, 0, 0, &rb);
    cr_assert(same(&ra, &rb), "%s: default search differs after load", specs[s]);
    search(a, xq, 40, 4, &ra);
    search(b, xq, 40, 4, &rb);
    cr_assert(same(&ra, &rb), "%s: search differs after load", specs[s]);
    /* a loaded index keeps growing with the next labels */
    cr_assert_eq(ann_add(b, 1, xq, &err), PRECIS_OK);
    cr_assert_eq(ann_ntotal(b), NB + 1);
    ann_destroy(a);
    ann_destroy(b);
  }
  free(xb);
  free(xq);
}

Test(ann, load_missing_and_corrupt, .init = mkdir_tmp, .fini = rm_tmp) {
  expect_load_fails(file_in_dir("nope.faiss"), PRECIS_E_NOT_FOUND);

  float *xb = rand_vecs(500, 15);
  ann *a = build("HNSW16", ANN_METRIC_L2, xb, 500);
  precis_error err = {0};
  char good[128];
  strcpy(good, file_in_dir("good.faiss"));
  cr_assert_eq(ann_save(a, good, &err), PRECIS_OK, "%s", err.msg);
  size_t len;
  unsigned char *b = slurp(good, &len);
  char *bad = file_in_dir("bad.faiss");

  size_t cuts[] = {0, 1, 19, 20, 100, len / 2, len - 21, len - 20, len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    spit(bad, b, cuts[i]);
    expect_load_fails(bad, PRECIS_E_CORRUPTION);
  }
  size_t flips[] = {0, 7, len / 3, len / 2, len - 30, len - 10};
  for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
    b[flips[i]] ^= 0x10;
    spit(bad, b, len);
    expect_load_fails(bad, PRECIS_E_CORRUPTION);
    b[flips[i]] ^= 0x10;
  }
  spit(bad, b, len); /* sanity: the untouched bytes load */
  ann *c = NULL;
  cr_assert_eq(ann_load(bad, &c, &err), PRECIS_OK, "%s", err.msg);
  ann_destroy(c);

  /* Payloads with a valid trailer reach FAISS, which throws: the compat
   * layer must catch it and ann.c report CORRUPTION, not crash. */
  unsigned char *g = malloc(len + 20);
  rng_state = 99;
  for (size_t i = 0; i < len; i++) g[i] = (unsigned char)(frand() * 127 + 128);
  append_trailer(g, len); /* garbage */
  spit(bad, g, len + 20);
  expect_load_fails(bad, PRECIS_E_CORRUPTION);
  size_t half = (len - 20) / 2; /* a truncated FAISS payload */
  memcpy(g, b, half);
  append_trailer(g, half);
  spit(bad, g, half + 20);
  expect_load_fails(bad, PRECIS_E_CORRUPTION);
  memcpy(g, "IxF2", 4); /* a FAISS fourcc it cannot read as a whole */
  append_trailer(g, 4);
  spit(bad, g, 24);
  expect_load_fails(bad, PRECIS_E_CORRUPTION);

  mkdir(file_in_dir("adir"), 0700); /* a directory is not an index */
  ann *d = NULL;
  cr_assert_neq(ann_load(file_in_dir("adir"), &d, &err), PRECIS_OK);
  cr_assert_null(d);

  ann_destroy(a);
  free(b);
  free(g);
  free(xb);
}

typedef struct {
  const ann *a;
  const float *xq;
  uint32_t ef;
  const results *expect;
  int mismatches;
} worker;

static void *search_loop(void *arg) {
  worker *w = arg;
  results *r = malloc(sizeof *r);
  for (int it = 0; it < 20; it++) {
    ann_search_params p = {.ef_search = w->ef};
    if (ann_search(w->a, NQ, w->xq, K, &p, r->d, r->l, NULL) != PRECIS_OK || !same(r, w->expect))
      w->mismatches++;
    /* single-query calls too: the server's common case */
    for (int q = 0; q < NQ; q += 7) {
      float d[K];
      int64_t l[K];
      if (ann_search(w->a, 1, w->xq + q * DIM, K, &p, d, l, NULL) != PRECIS_OK ||
          memcmp(l, w->expect->l + q * K, sizeof l) != 0)
        w->mismatches++;
    }
  }
  free(r);
  return NULL;
}

Test(ann, concurrent_search) {
  float *xb = rand_vecs(NB, 16), *xq = rand_vecs(NQ, 17);
  ann *h = build("HNSW32", ANN_METRIC_L2, xb, NB);
  static results lo, hi;
  search(h, xq, 12, 0, &lo);
  search(h, xq, 128, 0, &hi);
  cr_assert(!same(&lo, &hi));
  worker w[2] = {{h, xq, 12, &lo, 0}, {h, xq, 128, &hi, 0}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&t[i], NULL, search_loop, &w[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  cr_assert_eq(w[0].mismatches, 0);
  cr_assert_eq(w[1].mismatches, 0);
  ann_destroy(h);
  free(xb);
  free(xq);
}

Test(ann, build_description) {
  const char *s = ann_faiss_build();
  cr_assert_not_null(s);
  cr_assert_eq(strncmp(s, "faiss 1.", 8), 0, "%s", s);
  cr_assert_not_null(strstr(s, PRECIS_FAISS_DESC), "%s", s);
}

/* HNSW distances (AVX2/FMA kernels where the CPU has them, FAISS's own
 * otherwise) equal the distances of the returned labels computed here, for
 * dimensions that exercise every tail of the vector loops, both metrics,
 * before and after a save/load; recall against brute force stays high. */
Test(ann, hnsw_distances_match_for_every_dimension) {
  const uint32_t dims[] = {1, 7, 8, 15, 16, 17, 100, 131};
  const size_t nb = 600, nq = 5, k = 5;
  mkdir_tmp();
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
    uint32_t d = dims[di];
    rng_state = 77 + d;
    float *xb = malloc(nb * d * sizeof *xb), *xq = malloc(nq * d * sizeof *xq);
    for (size_t i = 0; i < nb * d; i++) xb[i] = frand();
    for (size_t i = 0; i < nq * d; i++) xq[i] = frand();
    for (int mi = 0; mi < 2; mi++) {
      ann_metric m = mi ? ANN_METRIC_IP : ANN_METRIC_L2;
      ann *a = NULL;
      precis_error err = {0};
      cr_assert_eq(ann_create(d, m, "HNSW16", &a, &err), PRECIS_OK, "%s", err.msg);
      cr_assert_eq(ann_add(a, nb, xb, &err), PRECIS_OK, "%s", err.msg);
      const char *path = file_in_dir("k.faiss");
      cr_assert_eq(ann_save(a, path, &err), PRECIS_OK, "%s", err.msg);
      ann *b = NULL;
      cr_assert_eq(ann_load(path, &b, &err), PRECIS_OK, "%s", err.msg);
      ann *both[2] = {a, b};
      for (int w = 0; w < 2; w++) {
        float dist[5 * 5];
        int64_t lab[5 * 5];
        ann_search_params p = {.ef_search = 128};
        cr_assert_eq(ann_search(both[w], nq, xq, k, &p, dist, lab, &err), PRECIS_OK, "%s", err.msg);
        size_t hit = 0;
        for (size_t q = 0; q < nq; q++) {
          /* brute force top-k of this query */
          float bd[5];
          int64_t bl[5];
          for (size_t j = 0; j < k; j++) bd[j] = mi ? -FLT_MAX : FLT_MAX, bl[j] = -1;
          for (size_t i = 0; i < nb; i++) {
            float s = 0;
            for (uint32_t j = 0; j < d; j++) {
              float x = xq[q * d + j], y = xb[i * d + j];
              s += mi ? x * y : (x - y) * (x - y);
            }
            size_t at = k;
            while (at > 0 && (mi ? s > bd[at - 1] : s < bd[at - 1])) at--;
            if (at == k) continue;
            memmove(bd + at + 1, bd + at, (k - at - 1) * sizeof *bd);
            memmove(bl + at + 1, bl + at, (k - at - 1) * sizeof *bl);
            bd[at] = s, bl[at] = (int64_t)i;
          }
          for (size_t j = 0; j < k; j++) {
            int64_t l = lab[q * k + j];
            cr_assert(l >= 0 && l < (int64_t)nb, "dim %u: label %lld", d, (long long)l);
            float s = 0;
            for (uint32_t t = 0; t < d; t++) {
              float x = xq[q * d + t], y = xb[(size_t)l * d + t];
              s += mi ? x * y : (x - y) * (x - y);
            }
            cr_assert_float_eq(dist[q * k + j], s, 1e-4f * (1 + fabsf(s)),
                               "dim %u metric %d: %g vs %g", d, mi, (double)dist[q * k + j],
                               (double)s);
            for (size_t t = 0; t < k; t++) hit += l == bl[t];
          }
        }
        cr_assert_geq((double)hit / (double)(nq * k), 0.9, "dim %u metric %d: recall %zu/%zu", d,
                      mi, hit, nq * k);
      }
      ann_destroy(a);
      ann_destroy(b);
    }
    free(xb);
    free(xq);
  }
  rm_tmp();
}

/* Searches of a few queries run on the calling thread (with the AVX2
 * kernels: Precis's own beam search over FAISS's graph); larger batches run
 * FAISS's own search. At the same efSearch both find the same neighbours
 * up to a few per cent, for both metrics. */
Test(ann, serial_and_batched_hnsw_search_agree) {
  float *xb = rand_vecs(NB, 11), *xq = rand_vecs(NQ, 12);
  ann_metric metrics[] = {ANN_METRIC_L2, ANN_METRIC_IP};
  for (int mi = 0; mi < 2; mi++) {
    ann *flat = build("Flat", metrics[mi], xb, NB), *h = build("HNSW32", metrics[mi], xb, NB);
    static results truth, batched, serial;
    search(flat, xq, 0, 0, &truth);
    search(h, xq, 64, 0, &batched); /* NQ queries at once */
    precis_error err = {0};
    ann_search_params p = {.ef_search = 64};
    for (int q = 0; q < NQ; q += 4) /* 4 at a time: the serial path */
      cr_assert_eq(ann_search(h, 4, xq + q * DIM, K, &p, serial.d + q * K, serial.l + q * K, &err),
                   PRECIS_OK, "%s", err.msg);
    double rb = recall(&batched, &truth), rs = recall(&serial, &truth);
    cr_assert_geq(rs, 0.9, "metric %d: serial recall %.3f", mi, rs);
    cr_assert_geq(rb, 0.9, "metric %d: batched recall %.3f", mi, rb);
    cr_assert_leq(fabs(rs - rb), 0.05, "metric %d: serial %.3f vs batched %.3f", mi, rs, rb);
    for (int i = 0; i < NQ * K; i++) /* distances are those of the labels, best first */
      if (i % K)
        cr_assert(metrics[mi] == ANN_METRIC_IP ? serial.d[i] <= serial.d[i - 1]
                                               : serial.d[i] >= serial.d[i - 1]);
    ann_destroy(flat);
    ann_destroy(h);
  }
  free(xb);
  free(xq);
}

/* ann_add_knn (hnsw_add.cpp): the insertion's own kNN lists against brute
 * force over the vectors indexed before the call, batch members never
 * listed, and the index it builds searched as well as FAISS's own add. */
Test(ann, add_knn_lists_match_brute_force) {
  enum { N1 = 3000, N2 = NB - N1 };
  float *xb = rand_vecs(NB, 11), *xq = rand_vecs(NQ, 12);
  ann_metric metrics[] = {ANN_METRIC_L2, ANN_METRIC_IP};
  int64_t *lab = malloc((size_t)N1 * K * sizeof *lab); /* N1 >= N2 */
  float *dis = malloc((size_t)N1 * K * sizeof *dis);
  cr_assert(lab && dis);
  for (int mi = 0; mi < 2; mi++) {
    ann_metric m = metrics[mi];
    ann *a = NULL;
    precis_error err = {0};
    bool done = false;
    cr_assert_eq(ann_create(DIM, m, "HNSW32", &a, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_eq(ann_set_param(a, "efConstruction", 200, &err), PRECIS_OK, "%s", err.msg);
    /* first batch: nothing indexed before it, so no lists */
    cr_assert_eq(ann_add_knn(a, N1, xb, K, lab, dis, &done, &err), PRECIS_OK, "%s", err.msg);
    cr_assert(done, "HNSW over the fast storage takes the own insertion");
    for (size_t i = 0; i < (size_t)N1 * K; i++) cr_assert_eq(lab[i], -1);
    cr_assert_eq(ann_add_knn(a, N2, xb + (size_t)N1 * DIM, K, lab, dis, &done, &err), PRECIS_OK,
                 "%s", err.msg);
    cr_assert(done);
    cr_assert_eq(ann_ntotal(a), NB);
    size_t hit = 0;
    for (size_t i = 0; i < N2; i++) {
      const float *x = xb + (N1 + i) * DIM;
      float td[K];
      int64_t tl[K];
      brute_topk(m, xb, N1, x, K, td, tl);
      for (int j = 0; j < K; j++) {
        int64_t l = lab[i * K + j];
        cr_assert(l >= 0 && l < N1, "row %zu: label %lld is not an earlier vector", i,
                  (long long)l);
        cr_assert_float_eq(dis[i * K + j], dist_of(m, x, xb + l * DIM), 1e-3);
        if (j) /* best first */
          cr_assert(m == ANN_METRIC_IP ? dis[i * K + j] <= dis[i * K + j - 1]
                                       : dis[i * K + j] >= dis[i * K + j - 1]);
        for (int t = 0; t < j; t++)
          cr_assert_neq(lab[i * K + t], l, "row %zu lists %lld twice", i, (long long)l);
        for (int t = 0; t < K; t++) hit += tl[t] == l;
      }
    }
    double knn_recall = (double)hit / ((double)N2 * K);
    cr_assert_geq(knn_recall, 0.97, "metric %d: kNN lists recall %.3f", (int)m, knn_recall);
    /* the graph it built: as the FAISS-built one in hnsw_recall */
    ann *flat = build("Flat", m, xb, NB);
    results truth, r;
    search(flat, xq, 0, 0, &truth);
    search(a, xq, 64, 0, &r);
    double rc = recall(&r, &truth);
    cr_assert_geq(rc, 0.95, "metric %d: recall@10 %.3f at efSearch 64", (int)m, rc);
    ann_destroy(flat);
    ann_destroy(a);
  }
  /* other index kinds: nothing added, the caller adds and searches */
  ann *f = NULL;
  precis_error err = {0};
  bool done = true;
  cr_assert_eq(ann_create(DIM, ANN_METRIC_L2, "Flat", &f, &err), PRECIS_OK);
  cr_assert_eq(ann_add_knn(f, 10, xb, K, lab, dis, &done, &err), PRECIS_OK);
  cr_assert(!done);
  cr_assert_eq(ann_ntotal(f), 0);
  ann_destroy(f);
  free(lab);
  free(dis);
  free(xb);
  free(xq);
}
