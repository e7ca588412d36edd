/*
 * hnswlib_baseline.cpp: see hnswlib_baseline.h. hnswlib 0.6.2's headers
 * define non-inline functions (cpuid, AVXCapable, ...), so this must stay
 * the only translation unit of a program that includes them.
 */
#include "hnswlib_baseline.h"

#include <cmath>

/* -DHNSWB_NO_HNSWLIB forces the stubs */
#if defined(__has_include) && !defined(HNSWB_NO_HNSWLIB)
#if __has_include(<hnswlib/hnswlib.h>)
#define HNSWB_HAVE_HNSWLIB 1
#endif
#endif

#ifdef HNSWB_HAVE_HNSWLIB

#include <hnswlib/hnswlib.h>

#include <exception>
#include <new>

#if defined(USE_AVX512)
#define HNSWB_SIMD "AVX512"
#elif defined(USE_AVX)
#define HNSWB_SIMD "AVX"
#elif defined(USE_SSE)
#define HNSWB_SIMD "SSE"
#else
#define HNSWB_SIMD "scalar"
#endif

struct hnswb {
  hnswlib::InnerProductSpace space;
  hnswlib::HierarchicalNSW<float> index;
  uint32_t dim;
  hnswb(uint32_t d, uint32_t M, uint32_t efc, size_t max_elements)
      : space(d), index(&space, max_elements, M, efc), dim(d) {}
};

extern "C" int hnswb_available(void) { return 1; }

extern "C" const char *hnswb_desc(void) { return "hnswlib 0.6.2 (" HNSWB_SIMD ")"; }

extern "C" hnswb *hnswb_create(uint32_t dim, uint32_t M, uint32_t ef_construction,
                               size_t max_elements) {
  if (dim == 0 || M < 2 || ef_construction == 0 || max_elements == 0) return nullptr;
  try {
    return new hnswb(dim, M, ef_construction, max_elements);
  } catch (...) {
    return nullptr;
  }
}

extern "C" void hnswb_destroy(hnswb *h) { delete h; }

extern "C" int hnswb_add(hnswb *h, size_t n, const float *x) {
  if (!h || (n && !x)) return -1;
  const size_t have = h->index.cur_element_count;
  if (n > h->index.max_elements_ - have) return -1;
  try {
    for (size_t i = 0; i < n; i++)
      h->index.addPoint(x + i * h->dim, static_cast<hnswlib::labeltype>(have + i));
  } catch (...) {
    return -1;
  }
  return 0;
}

extern "C" size_t hnswb_size(const hnswb *h) {
  return h ? static_cast<size_t>(h->index.cur_element_count) : 0;
}

extern "C" int hnswb_search(hnswb *h, const float *q, size_t k, size_t ef, int64_t *labels,
                            float *scores) {
  if (!h || !q || k == 0 || !labels || !scores) return -1;
  try {
    h->index.setEf(ef ? ef : 10);
    /* a max-heap on distance (1 - ip): worst on top */
    auto top = h->index.searchKnn(q, k);
    const size_t found = top.size();
    for (size_t i = found; i < k; i++) {
      labels[i] = -1;
      scores[i] = -INFINITY;
    }
    for (size_t i = found; i-- > 0; top.pop()) {
      labels[i] = static_cast<int64_t>(top.top().second);
      scores[i] = 1.0f - top.top().first;
    }
    return static_cast<int>(found);
  } catch (...) {
    return -1;
  }
}

#else /* no hnswlib: stubs, so the default build never depends on it */

extern "C" int hnswb_available(void) { return 0; }
extern "C" const char *hnswb_desc(void) {
  return "hnswlib not available (apt-get install libhnswlib-dev)";
}
extern "C" hnswb *hnswb_create(uint32_t, uint32_t, uint32_t, size_t) { return nullptr; }
extern "C" void hnswb_destroy(hnswb *) {}
extern "C" int hnswb_add(hnswb *, size_t, const float *) { return -1; }
extern "C" size_t hnswb_size(const hnswb *) { return 0; }
extern "C" int hnswb_search(hnswb *, const float *, size_t, size_t, int64_t *, float *) {
  return -1;
}

#endif
