/*
 * faiss_ext.cpp: Precis's extension of FAISS's C API (see faiss_ext.h):
 * per-call search parameters, out-of-memory classification of the last
 * error, build description. Compiled in every build mode; relies only on
 * FaissIndex* being a faiss::Index* and on FAISS's thread-local
 * faiss_last_exception (defined by libfaiss_c or by faiss_compat.cpp).
 */
#include "faiss_ext.h"
#include "faiss_fast.h"

#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/c_api/error_impl.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <utility>
#include <typeinfo>
#include <exception>
#include <memory>
#include <new>
#include <vector>

#ifndef PRECIS_FAISS_DESC
#define PRECIS_FAISS_DESC "unknown FAISS build"
#endif

#define FAISSX_STR_(x) #x
#define FAISSX_STR(x)  FAISSX_STR_(x)

/* FAISS < 1.8 sizes the HNSW candidate queue from the index's own efSearch
 * and ignores SearchParametersHNSW::efSearch there (fixed upstream in
 * facebookresearch/faiss#3233), so a per-call efSearch above the default
 * only changes the stopping rule. Asking for max(k, efSearch) results gives
 * the queue the right size; the first k of them are then exactly what an
 * index whose efSearch was set to that value returns. */
#if FAISS_VERSION_MAJOR == 1 && FAISS_VERSION_MINOR < 8
#define FAISSX_WIDEN_HNSW_K 1
#else
#define FAISSX_WIDEN_HNSW_K 0
#endif

using faissx::fast_kernels;
using faissx::FastFlat;
using faissx::FastFlatDistance;
using faissx::ip_avx2;
using faissx::l2_avx2;

namespace {

/* Caps this thread's OpenMP team at the number of queries for the scope:
 * FAISS opens a parallel region per search call, and for one query every
 * extra thread only allocates its own visited table. nthreads-var is
 * per-thread state, so this does not affect other threads. */
class OmpCap {
 public:
  explicit OmpCap(idx_t nq) : saved_(omp_get_max_threads()) {
    if (nq < saved_) omp_set_num_threads(nq < 1 ? 1 : static_cast<int>(nq));
  }
  ~OmpCap() { omp_set_num_threads(saved_); }
  OmpCap(const OmpCap &) = delete;
  OmpCap &operator=(const OmpCap &) = delete;

 private:
  int saved_;
};

/* The index that interprets search parameters (IndexPreTransform forwards
 * them to its sub-index). */
const faiss::Index *param_target(const faiss::Index *ix) {
  while (auto pt = dynamic_cast<const faiss::IndexPreTransform *>(ix)) ix = pt->index;
  return ix;
}

/* Search asking FAISS for kw >= k results per query, keeping the first k;
 * queries go in chunks so the scratch stays around 12 MiB. */
void search_widened(const faiss::Index *ix, idx_t n, const float *x, idx_t k, idx_t kw,
                    const faiss::SearchParameters *params, float *distances, idx_t *labels) {
  const idx_t chunk = std::max<idx_t>(1, (idx_t{1} << 20) / kw);
  std::vector<float> dis;
  std::vector<idx_t> lab; /* the C API's idx_t: int64_t, like FAISS's */
  for (idx_t i0 = 0; i0 < n; i0 += chunk) {
    const idx_t m = std::min(chunk, n - i0);
    dis.resize(static_cast<size_t>(m * kw));
    lab.resize(static_cast<size_t>(m * kw));
    ix->search(m, x + i0 * ix->d, kw, dis.data(), lab.data(), params);
    for (idx_t q = 0; q < m; q++) {
      std::copy_n(dis.data() + q * kw, k, distances + (i0 + q) * k);
      std::copy_n(lab.data() + q * kw, k, labels + (i0 + q) * k);
    }
  }
}

/* Turns similarities into the distances HNSW minimises (what FAISS's own
 * IndexHNSW does for inner-product storage). */
struct NegatedDistance : faiss::DistanceComputer {
  explicit NegatedDistance(faiss::DistanceComputer *b) : base(b) {}
  void set_query(const float *x) override { base->set_query(x); }
  float operator()(idx_t i) override { return -(*base)(i); }
  float symmetric_dis(idx_t i, idx_t j) override { return -base->symmetric_dis(i, j); }
  std::unique_ptr<faiss::DistanceComputer> base;
};

/* HNSW search of one query over FastFlat storage: greedy descent through
 * the upper levels, then the level-0 beam search of Malkov & Yashunin
 * (stop when the nearest open candidate is farther than the worst of the
 * ef best), with binary heaps and the neighbours' vectors prefetched before
 * their distances are computed. Same graph and distances as FAISS's
 * HNSW::search; FAISS 1.7.3's own loop keeps a linearly scanned candidate
 * queue sized by the index's efSearch. Writes the k best (ascending
 * distance; label -1 and +inf where fewer were found) and leaves vt
 * advanced. */
struct BeamScratch {
  std::vector<std::pair<float, int>> cand, res;
  std::vector<int> nb;
};

/* With a selector (filtered search, after hnswlib's filter): every node
 * the walk reaches may be expanded, but only members enter the ef best, and
 * the stop rule compares with the worst of those, so the walk goes on until
 * ef members are found or the graph is exhausted; at a low kept share it
 * visits about ef / share nodes (the caller plans exact scans there). */
__attribute__((target("avx2,fma"))) void beam_search(const faiss::HNSW &g, FastFlatDistance &dc,
                                                     idx_t k, int ef, idx_t *I, float *D,
                                                     faiss::VisitedTable &vt, BeamScratch &s,
                                                     const faiss::IDSelector *sel = nullptr) {
  auto vec = [&](int v) { return dc.xb + static_cast<size_t>(v) * dc.d; };
  auto dist = [&](int v) { return dc.distance_to_code(reinterpret_cast<const uint8_t *>(vec(v))); };
  for (idx_t j = 0; j < k; j++) {
    I[j] = -1;
    D[j] = std::numeric_limits<float>::infinity();
  }
  int ep = g.entry_point;
  if (ep < 0) return;
  float dep = dist(ep);
  for (int level = g.max_level; level >= 1; level--) faissx::hnsw_greedy(g, level, ep, dep, dist);
  auto &C = s.cand; /* min-heap: open candidates */
  auto &R = s.res;  /* max-heap: the ef best so far */
  const std::greater<std::pair<float, int>> farther;
  C.assign(1, {dep, ep});
  R.clear();
  if (!sel || sel->is_member(ep)) R.emplace_back(dep, ep);
  vt.set(ep);
  while (!C.empty()) {
    std::pop_heap(C.begin(), C.end(), farther);
    const std::pair<float, int> c = C.back();
    C.pop_back();
    if (static_cast<int>(R.size()) >= ef && c.first > R.front().first) break;
    if (!C.empty()) { /* the likely next candidate's list, while this one's runs */
      const char *nl =
          reinterpret_cast<const char *>(g.neighbors.data() + g.offsets[C.front().second]);
      _mm_prefetch(nl, _MM_HINT_T0);
      _mm_prefetch(nl + 64, _MM_HINT_T0);
    }
    size_t b, e;
    g.neighbor_range(c.second, 0, &b, &e);
    s.nb.clear();
    for (size_t j = b; j < e; j++) {
      int v = g.neighbors[j];
      if (v < 0) break;
      if (vt.get(v)) continue;
      vt.set(v);
      s.nb.push_back(v);
      _mm_prefetch(reinterpret_cast<const char *>(vec(v)), _MM_HINT_T0);
    }
    for (int v : s.nb) {
      float dv = dist(v);
      if (static_cast<int>(R.size()) < ef || dv < R.front().first) {
        C.emplace_back(dv, v);
        std::push_heap(C.begin(), C.end(), farther);
        if (sel && !sel->is_member(v)) continue;
        R.emplace_back(dv, v);
        std::push_heap(R.begin(), R.end());
        if (static_cast<int>(R.size()) > ef) {
          std::pop_heap(R.begin(), R.end());
          R.pop_back();
        }
      }
    }
  }
  vt.advance();
  std::sort_heap(R.begin(), R.end());
  for (idx_t j = 0; j < k && j < static_cast<idx_t>(R.size()); j++) {
    D[j] = R[static_cast<size_t>(j)].first;
    I[j] = R[static_cast<size_t>(j)].second;
  }
}

/* The own beam search, on unless PRECIS_HNSW_SEARCH=faiss: a different
 * level-0 loop than FAISS's (its stop rule and result heap differ), so the
 * two can return other neighbours for the same query at a small efSearch.
 * Every unfiltered search over the fast storage, single or batched, uses
 * the same one, so a query's answer never depends on how it was sent
 * (test_ann concurrent_search). */
bool beam_enabled() {
  static const bool on = [] {
    const char *e = std::getenv("PRECIS_HNSW_SEARCH");
    return !(e && !std::strcmp(e, "faiss"));
  }();
  return on;
}

/* Per-thread scratch of the single-thread HNSW path, kept across calls: the
 * visited table (one byte per vector, grown to the largest index this
 * thread has searched; FAISS's own search allocates and zeroes ntotal bytes
 * per call) and the widened result buffers. A VisitedTable is valid for any
 * index as long as it is large enough: every search ends with advance(), so
 * no entry equals the current mark when the next search starts. */
struct HnswScratch {
  faiss::VisitedTable vt{0};
  BeamScratch beam;
  std::vector<float> dis;
  std::vector<idx_t> lab;
};
thread_local HnswScratch hnsw_scratch;

/* HNSW search of n queries one after another on the calling thread, with no
 * OpenMP region and no per-call allocation once the scratch has grown:
 * what FAISS's IndexHNSW::search does per query (heapify, HNSW::search,
 * reorder, negate back for similarities), minus the parallel region. kw >= k
 * results are computed per query and the first k kept (see
 * FAISSX_WIDEN_HNSW_K). */
void hnsw_search_serial(const faiss::IndexHNSW *h, idx_t n, const float *x, idx_t k, idx_t kw,
                        const faiss::SearchParametersHNSW *params, float *distances,
                        idx_t *labels) {
  FAISS_THROW_IF_NOT_MSG(h->storage, "faissx_search: HNSW index without storage");
  HnswScratch &s = hnsw_scratch;
  if (s.vt.visited.size() < static_cast<size_t>(h->ntotal))
    s.vt.visited.resize(static_cast<size_t>(h->ntotal), 0);
  s.dis.resize(static_cast<size_t>(kw));
  s.lab.resize(static_cast<size_t>(kw));
  const bool sim = h->metric_type == faiss::METRIC_INNER_PRODUCT;
  /* the own beam search, filtered or not; FAISS's loop below (over the
   * same fast distance computer) when it is off or the storage is other */
  auto fast = dynamic_cast<const FastFlat *>(h->storage);
  if (fast && beam_enabled()) {
    FastFlatDistance fd(*fast, sim); /* negated in place */
    const int ef =
        static_cast<int>(std::max<idx_t>(params ? params->efSearch : h->hnsw.efSearch, k));
    for (idx_t i = 0; i < n; i++) {
      fd.set_query(x + i * h->d);
      beam_search(h->hnsw, fd, k, ef, labels + i * k, distances + i * k, s.vt, s.beam,
                  params ? params->sel : nullptr);
      if (sim)
        for (idx_t j = 0; j < k; j++) distances[i * k + j] = -distances[i * k + j];
    }
    return;
  }
  std::unique_ptr<faiss::DistanceComputer> dc;
  if (sim)
    dc.reset(new NegatedDistance(h->storage->get_distance_computer()));
  else
    dc.reset(h->storage->get_distance_computer());
  for (idx_t i = 0; i < n; i++) {
    dc->set_query(x + i * h->d);
    faiss::maxheap_heapify(kw, s.dis.data(), s.lab.data());
    h->hnsw.search(*dc, static_cast<int>(kw), s.lab.data(), s.dis.data(), s.vt, params);
    faiss::maxheap_reorder(kw, s.dis.data(), s.lab.data());
    for (idx_t j = 0; j < k; j++) {
      distances[i * k + j] = sim ? -s.dis[j] : s.dis[j];
      labels[i * k + j] = s.lab[j];
    }
  }
}

/* Below this many queries a search runs on the calling thread (the server's
 * workers already run searches in parallel); from it on, FAISS's OpenMP
 * search. */
constexpr idx_t kSerialBelow = 8;

/* Flat storage that flat_scan may search: FAISS's plain flat indexes and
 * FastFlat (not IndexFlat1D and the like, which search differently), with a
 * metric the AVX2 kernels compute. */
const faiss::IndexFlat *scannable_flat(const faiss::Index *ix) {
  const std::type_info &t = typeid(*ix);
  if (t != typeid(faiss::IndexFlat) && t != typeid(faiss::IndexFlatIP) &&
      t != typeid(faiss::IndexFlatL2) && t != typeid(FastFlat))
    return nullptr;
  auto f = static_cast<const faiss::IndexFlat *>(ix);
  return f->metric_type == faiss::METRIC_INNER_PRODUCT || f->metric_type == faiss::METRIC_L2
             ? f
             : nullptr;
}

/* Exact search of each query over flat storage with the AVX2 kernels: what
 * FAISS does for fewer queries than distance_compute_blas_threshold (a
 * sequential scan into a heap, FAISS's own heap functions, so ties resolve
 * as there), but FAISS's generic build computes each distance one float at
 * a time. More queries go to FAISS, which then multiplies matrices (BLAS).
 * C: CMin for inner product (keep the largest), CMax for L2. */
template <class C>
void flat_scan(const faiss::IndexFlat &f, idx_t n, const float *x, idx_t k,
               const faiss::IDSelector *sel, float *distances, idx_t *labels) {
  const size_t d = static_cast<size_t>(f.d);
  const float *xb = f.get_xb();
  const bool ip = f.metric_type == faiss::METRIC_INNER_PRODUCT;
  for (idx_t q = 0; q < n; q++) {
    float *hd = distances + q * k;
    idx_t *hi = labels + q * k;
    faiss::heap_heapify<C>(static_cast<size_t>(k), hd, hi);
    const float *xq = x + static_cast<size_t>(q) * d;
    float thr = hd[0];
    for (idx_t j = 0; j < f.ntotal; j++) {
      if (sel && !sel->is_member(j)) continue;
      const float *y = xb + static_cast<size_t>(j) * d;
      const float v = ip ? ip_avx2(xq, y, d) : l2_avx2(xq, y, d);
      if (C::cmp(thr, v)) {
        faiss::heap_replace_top<C>(static_cast<size_t>(k), hd, hi, v, j);
        thr = hd[0];
      }
    }
    faiss::heap_reorder<C>(static_cast<size_t>(k), hd, hi);
  }
}

} // namespace

int faissx_store_current_exception() noexcept {
  std::exception_ptr e = std::current_exception();
  faiss_last_exception = e;
  try {
    if (e) std::rethrow_exception(e);
  } catch (const faiss::FaissException &) {
    return -2;
  } catch (const std::exception &) {
    return -4;
  } catch (...) {}
  return -1;
}

namespace {
/* IDSelector over a C callback (faissx_search_sel). */
struct CallbackSelector : faiss::IDSelector {
  CallbackSelector(faissx_keep_fn f, void *c) : fn(f), ctx(c) {}
  bool is_member(idx_t id) const override { return fn(ctx, id) != 0; }
  faissx_keep_fn fn;
  void *ctx;
};

int search_impl(const FaissIndex *index, idx_t n, const float *x, idx_t k, int ef_search,
                size_t nprobe, const faiss::IDSelector *sel, float *distances, idx_t *labels) {
  try {
    const auto *ix = reinterpret_cast<const faiss::Index *>(index);
    FAISS_THROW_IF_NOT_MSG(n >= 0 && k > 0, "faissx_search: bad n or k");
    const faiss::Index *target = param_target(ix);

    faiss::SearchParametersHNSW hnsw_params;
    faiss::SearchParametersIVF ivf_params;
    const faiss::SearchParameters *params = nullptr;
    idx_t kw = k;

    faiss::SearchParameters plain_params;
    if (sel) { /* every index type below gets the selector */
      plain_params.sel = hnsw_params.sel = ivf_params.sel = const_cast<faiss::IDSelector *>(sel);
      params = &plain_params;
    }
    if (auto h = dynamic_cast<const faiss::IndexHNSW *>(target)) {
      if (sel && ef_search <= 0) {
        hnsw_params.efSearch = h->hnsw.efSearch;
        hnsw_params.check_relative_distance = h->hnsw.check_relative_distance;
        params = &hnsw_params;
      }
      if (ef_search > 0) {
        hnsw_params.efSearch = ef_search;
        hnsw_params.check_relative_distance = h->hnsw.check_relative_distance;
        params = &hnsw_params;
        if (FAISSX_WIDEN_HNSW_K && ef_search > h->hnsw.efSearch) kw = std::max<idx_t>(k, ef_search);
      }
    } else if (auto ivf = dynamic_cast<const faiss::IndexIVF *>(target)) {
      auto hq = dynamic_cast<const faiss::IndexHNSW *>(ivf->quantizer);
      if (sel || nprobe > 0 || (ef_search > 0 && hq)) {
        ivf_params.nprobe = nprobe > 0 ? nprobe : ivf->nprobe;
        ivf_params.max_codes = ivf->max_codes;
        if (ef_search > 0 && hq) {
          hnsw_params.efSearch = ef_search;
          hnsw_params.check_relative_distance = hq->hnsw.check_relative_distance;
          ivf_params.quantizer_params = &hnsw_params;
        }
        params = &ivf_params;
      }
    }

    if (const faiss::IndexFlat *f = fast_kernels() && n < faiss::distance_compute_blas_threshold
                                        ? scannable_flat(ix)
                                        : nullptr) {
      if (f->metric_type == faiss::METRIC_INNER_PRODUCT)
        flat_scan<faiss::CMin<float, idx_t>>(*f, n, x, k, sel, distances, labels);
      else
        flat_scan<faiss::CMax<float, idx_t>>(*f, n, x, k, sel, distances, labels);
      return 0;
    }
    const auto *hnsw = dynamic_cast<const faiss::IndexHNSW *>(ix);
    const bool plain = hnsw && (hnsw->metric_type == faiss::METRIC_INNER_PRODUCT ||
                                hnsw->metric_type == faiss::METRIC_L2);
    const faiss::SearchParametersHNSW *hp = params == &hnsw_params ? &hnsw_params : nullptr;
    if (plain && n < kSerialBelow) {
      hnsw_search_serial(hnsw, n, x, k, kw, hp, distances, labels);
      return 0;
    }
    if (plain && !sel && beam_enabled() && dynamic_cast<const FastFlat *>(hnsw->storage)) {
      /* a batch over the fast storage runs the same beam search per query
       * (one query per OpenMP iteration, each thread its own scratch), so
       * that a query's answer does not depend on how it was sent */
      OmpCap cap(n);
      std::exception_ptr failed;
#pragma omp parallel for schedule(dynamic)
      for (idx_t i = 0; i < n; i++) {
        try {
          hnsw_search_serial(hnsw, 1, x + i * hnsw->d, k, kw, hp, distances + i * k,
                             labels + i * k);
        } catch (...) {
#pragma omp critical
          failed = std::current_exception();
        }
      }
      if (failed) std::rethrow_exception(failed);
      return 0;
    }
    OmpCap cap(n);
    if (kw == k)
      ix->search(n, x, k, distances, labels, params);
    else
      search_widened(ix, n, x, k, kw, params, distances, labels);
  } catch (...) {
    return faissx_store_current_exception();
  }
  return 0;
}
} // namespace

extern "C" int faissx_search(const FaissIndex *index, idx_t n, const float *x, idx_t k,
                             int ef_search, size_t nprobe, float *distances, idx_t *labels) {
  return search_impl(index, n, x, k, ef_search, nprobe, nullptr, distances, labels);
}

extern "C" int faissx_search_sel(const FaissIndex *index, idx_t n, const float *x, idx_t k,
                                 int ef_search, size_t nprobe, faissx_keep_fn keep, void *ctx,
                                 float *distances, idx_t *labels) {
  CallbackSelector sel(keep, ctx);
  return search_impl(index, n, x, k, ef_search, nprobe, &sel, distances, labels);
}

extern "C" int faissx_sel_adaptive(const FaissIndex *index) {
  auto h = dynamic_cast<const faiss::IndexHNSW *>(reinterpret_cast<const faiss::Index *>(index));
  return h && beam_enabled() && dynamic_cast<const FastFlat *>(h->storage) &&
         (h->metric_type == faiss::METRIC_INNER_PRODUCT || h->metric_type == faiss::METRIC_L2);
}

extern "C" const FaissIndex *faissx_exact_view(const FaissIndex *index) {
  const auto *ix = reinterpret_cast<const faiss::Index *>(index);
  if (dynamic_cast<const faiss::IndexFlat *>(ix)) return index;
  if (auto h = dynamic_cast<const faiss::IndexHNSW *>(ix))
    if (h->storage && h->storage->ntotal == h->ntotal &&
        dynamic_cast<const faiss::IndexFlat *>(h->storage))
      return reinterpret_cast<const FaissIndex *>(h->storage);
  return nullptr;
}

extern "C" int faissx_exact_distances(const FaissIndex *index, const float *x, idx_t n,
                                      const idx_t *labels, float *distances) {
  auto flat = reinterpret_cast<const faiss::IndexFlat *>(faissx_exact_view(index));
  if (!flat) return -1;
  const size_t d = static_cast<size_t>(flat->d);
  const float *xb = flat->get_xb();
  const bool ip = flat->metric_type == faiss::METRIC_INNER_PRODUCT;
  const bool fast = fast_kernels(); /* FAISS's generic build: one float at a time */
  for (idx_t i = 0; i < n; i++) {
    if (labels[i] < 0 || labels[i] >= flat->ntotal) return -1;
    const float *v = xb + static_cast<size_t>(labels[i]) * d;
    if (i + 1 < n && labels[i + 1] >= 0 && labels[i + 1] < flat->ntotal)
      _mm_prefetch(reinterpret_cast<const char *>(xb + static_cast<size_t>(labels[i + 1]) * d),
                   _MM_HINT_T0);
    if (fast)
      distances[i] = ip ? ip_avx2(x, v, d) : l2_avx2(x, v, d);
    else
      distances[i] = ip ? faiss::fvec_inner_product(x, v, d) : faiss::fvec_L2sqr(x, v, d);
  }
  return 0;
}

extern "C" int faissx_accelerate(FaissIndex *index) {
  try {
    auto *h = dynamic_cast<faiss::IndexHNSW *>(reinterpret_cast<faiss::Index *>(index));
    if (!h || !h->storage || !fast_kernels()) return 0;
    const std::type_info &t = typeid(*h->storage);
    if (t != typeid(faiss::IndexFlat) && t != typeid(faiss::IndexFlatIP) &&
        t != typeid(faiss::IndexFlatL2))
      return 0;
    auto *old = static_cast<faiss::IndexFlat *>(h->storage);
    if (old->metric_type != faiss::METRIC_INNER_PRODUCT && old->metric_type != faiss::METRIC_L2)
      return 0;
    auto *fast = new FastFlat(old->d, old->metric_type);
    fast->codes.swap(old->codes);
    fast->ntotal = old->ntotal;
    fast->is_trained = old->is_trained;
    old->ntotal = 0;
    if (h->own_fields) delete old;
    h->storage = fast;
    h->own_fields = true;
    return 1;
  } catch (...) {
    return faissx_store_current_exception();
  }
}

extern "C" const float *faissx_flat_vectors(const FaissIndex *index) {
  const auto *v = reinterpret_cast<const faiss::IndexFlat *>(faissx_exact_view(index));
  return v ? v->get_xb() : nullptr;
}

extern "C" int faissx_last_error_is_oom(void) {
  if (!faiss_last_exception) return 0;
  try {
    std::rethrow_exception(faiss_last_exception);
  } catch (const std::bad_alloc &) {
    return 1;
  } catch (...) {}
  return 0;
}

extern "C" const char *faissx_build_desc(void) {
  return "faiss " FAISSX_STR(FAISS_VERSION_MAJOR) "." FAISSX_STR(
      FAISS_VERSION_MINOR) "." FAISSX_STR(FAISS_VERSION_PATCH) " "
                           "(" PRECIS_FAISS_DESC ")";
}
