/*
 * faiss_fast.h: the AVX2/FMA flat storage shared by the FAISS adapter's C++
 * files (faiss_ext.cpp: searches; hnsw_add.cpp: HNSW insertion). Internal
 * to index/ann; C++ only.
 */
#ifndef PRECIS_INDEX_ANN_FAISS_FAST_H
#define PRECIS_INDEX_ANN_FAISS_FAST_H

#include <faiss/IndexFlat.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/DistanceComputer.h>
#include <immintrin.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace faissx {

/* ---- AVX2/FMA distance kernels, chosen at run time ----
 * A generic FAISS build (Debian's libfaiss.a targets baseline x86-64)
 * computes HNSW distances one float at a time. HNSW storage is swapped for
 * FastFlat, an IndexFlat whose distance computer uses these kernels when
 * the CPU has AVX2 and FMA; everything else about the storage (codes,
 * search, serialisation as a plain IndexFlat) is FAISS's own. */
__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) inline float ip_avx2(const float *x, const float *y, size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
  }
  if (i + 8 <= d) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    i += 8;
  }
  float s = hsum256(_mm256_add_ps(a0, a1));
  for (; i < d; i++) s += x[i] * y[i];
  return s;
}

__attribute__((target("avx2,fma"))) inline float l2_avx2(const float *x, const float *y, size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8));
    a0 = _mm256_fmadd_ps(t0, t0, a0);
    a1 = _mm256_fmadd_ps(t1, t1, a1);
  }
  if (i + 8 <= d) {
    __m256 t = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    a0 = _mm256_fmadd_ps(t, t, a0);
    i += 8;
  }
  float s = hsum256(_mm256_add_ps(a0, a1));
  for (; i < d; i++) {
    float t = x[i] - y[i];
    s += t * t;
  }
  return s;
}

/* AVX2 and FMA present, and not switched off with PRECIS_FAISS_KERNELS=generic
 * (for measuring against FAISS's own kernels in the same build). */
inline bool fast_kernels() {
  static const bool on = [] {
    const char *e = std::getenv("PRECIS_FAISS_KERNELS");
    if (e && !std::strcmp(e, "generic")) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return on;
}

/* Distances to the rows of a flat float array, as FAISS's flat computers
 * define them: inner product (a similarity) or squared L2. */
struct FastFlatDistance final : faiss::FlatCodesDistanceComputer {
  /* negate: return minus the inner product (what HNSW minimises), so that
   * the serial search needs no NegatedDistance wrapper around it */
  FastFlatDistance(const faiss::IndexFlat &s, bool negate = false)
      : faiss::FlatCodesDistanceComputer(s.codes.data(), s.code_size),
        d(static_cast<size_t>(s.d)),
        ip(s.metric_type == faiss::METRIC_INNER_PRODUCT),
        sign(negate ? -1.0f : 1.0f),
        xb(s.get_xb()) {}
  void set_query(const float *x) override { q = x; }
  float distance_to_code(const uint8_t *code) override {
    const float *y = reinterpret_cast<const float *>(code);
    return ip ? sign * ip_avx2(q, y, d) : l2_avx2(q, y, d);
  }
  float symmetric_dis(faiss::Index::idx_t i, faiss::Index::idx_t j) override {
    const float *x = xb + i * d, *y = xb + j * d;
    return ip ? sign * ip_avx2(x, y, d) : l2_avx2(x, y, d);
  }
  size_t d;
  bool ip;
  float sign;
  const float *xb;
  const float *q = nullptr;
};

struct FastFlat : faiss::IndexFlat {
  FastFlat(faiss::Index::idx_t d, faiss::MetricType m) : faiss::IndexFlat(d, m) {}
  faiss::FlatCodesDistanceComputer *get_FlatCodesDistanceComputer() const override {
    return new FastFlatDistance(*this);
  }
};

/* One upper level of an HNSW descent: move to a nearer neighbour while
 * there is one (FAISS's greedy_update_nearest). Neighbour ids are read with
 * relaxed atomics, since an insertion may rewrite a list meanwhile
 * (hnsw_add.cpp); for a search that costs nothing. */
template <class Dist>
inline void hnsw_greedy(const faiss::HNSW &g, int level, faiss::HNSW::storage_idx_t &ep, float &dep,
                        Dist dist) {
  for (bool moved = true; moved;) {
    moved = false;
    size_t b, e;
    g.neighbor_range(ep, level, &b, &e);
    for (size_t j = b; j < e; j++) {
      faiss::HNSW::storage_idx_t v = __atomic_load_n(&g.neighbors[j], __ATOMIC_RELAXED);
      if (v < 0) break;
      float dv = dist(v);
      if (dv < dep) {
        dep = dv;
        ep = v;
        moved = true;
      }
    }
  }
}

} // namespace faissx

#endif
