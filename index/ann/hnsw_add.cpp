/*
 * hnsw_add.cpp: HNSW insertion over FAISS's graph (faiss::HNSW) and the
 * FastFlat storage (faiss_fast.h), on every OpenMP thread, returning each new
 * point's nearest neighbours among the points indexed before it
 * (faissx_hnsw_add_knn, faiss_ext.h).
 *
 * The graph is FAISS's own and is built by FAISS's rules (IndexHNSW::add:
 * levels from prepare_level_tab, points added from the highest level down,
 * the neighbour-selection heuristic of HNSW::shrink_neighbor_list, reverse
 * links shrunk the same way), so a saved index is a plain IndexHNSWFlat. What
 * differs from FAISS 1.7.3's hnsw_add_vertices:
 *   - the layer search keeps binary heaps in reused buffers and prefetches
 *     the neighbours' vectors (FAISS: std::priority_queue per call);
 *   - the next layer starts from the nearest point the last one found
 *     (hnswlib's rule; FAISS restarts from the greedy descent's point);
 *   - node locks are one byte each (FAISS initialises an omp_lock_t for
 *     every point of the index on every add);
 *   - neighbour lists are read and written with relaxed atomics: a search
 *     may read a list another thread is rewriting (as in FAISS and hnswlib)
 *     and sees old or new ids, never torn ones;
 *   - the level-0 candidates (efConstruction of them, exact distances) are
 *     kept: their best k are the point's kNN list, which the kNN graph
 *     otherwise needs a second search for.
 */
#include "faiss_ext.h"

#include <faiss/IndexHNSW.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/HNSW.h>
#include <faiss/utils/random.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "faiss_fast.h"

namespace {

using faissx::FastFlat;
using faissx::FastFlatDistance;
using Idx = faiss::Index::idx_t;
using Sid = faiss::HNSW::storage_idx_t;
using Cand = std::pair<float, Sid>; /* (distance HNSW minimises, node) */

inline Sid load_nb(const Sid *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
inline void store_nb(Sid *p, Sid v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

/* One byte per node; held while a node's lists are rewritten. */
class NodeLocks {
 public:
  explicit NodeLocks(size_t n) : f_(new std::atomic<uint8_t>[n]()) {}
  void lock(size_t i) {
    while (f_[i].exchange(1, std::memory_order_acquire))
      while (f_[i].load(std::memory_order_relaxed)) _mm_pause();
  }
  void unlock(size_t i) { f_[i].store(0, std::memory_order_release); }

 private:
  std::unique_ptr<std::atomic<uint8_t>[]> f_;
};

/* Shared by the threads of one add. */
struct AddCtx {
  faiss::HNSW &g;
  const FastFlat &st;
  NodeLocks locks;
  std::mutex entry_mu; /* entry_point and max_level */
  Sid n0;              /* first new node */
  Idx k;               /* kNN entries kept per new point */
  Idx *labels;         /* n x k, -1 padded */
  float *dist;         /* n x k, FAISS's convention for the storage's metric */
  bool ip;
};

/* Per thread. */
struct Worker {
  AddCtx &cx;
  FastFlatDistance dc;
  faiss::VisitedTable vt;
  std::vector<Cand> cand, res, sel, tmp;
  std::vector<Sid> nb;
  Worker(AddCtx &c, size_t ntotal) : cx(c), dc(c.st, c.ip), vt(static_cast<int>(ntotal)) {}

  const float *vec(Sid v) const { return dc.xb + static_cast<size_t>(v) * dc.d; }
  float dist(Sid v) { return dc.distance_to_code(reinterpret_cast<const uint8_t *>(vec(v))); }
  float sdist(Sid a, Sid b) { return dc.symmetric_dis(a, b); }

  void greedy(int level, Sid &ep, float &dep) {
    faissx::hnsw_greedy(cx.g, level, ep, dep, [this](Sid v) { return dist(v); });
  }

  /* FAISS's search_neighbors_to_add: res = the efConstruction nearest found
   * from ep at this level, ascending. */
  void search_layer(int level, Sid ep, float dep) {
    const std::greater<Cand> farther;
    const size_t ef = static_cast<size_t>(std::max(cx.g.efConstruction, 1));
    cand.assign(1, {dep, ep});
    res.assign(1, {dep, ep});
    vt.set(ep);
    while (!cand.empty()) {
      std::pop_heap(cand.begin(), cand.end(), farther);
      const Cand c = cand.back();
      cand.pop_back();
      if (c.first > res.front().first) break;
      if (!cand.empty()) { /* the likely next candidate's list, while this one's runs */
        size_t nb0, ne0;
        cx.g.neighbor_range(cand.front().second, level, &nb0, &ne0);
        const char *nl = reinterpret_cast<const char *>(cx.g.neighbors.data() + nb0);
        _mm_prefetch(nl, _MM_HINT_T0);
        _mm_prefetch(nl + 64, _MM_HINT_T0);
      }
      size_t b, e;
      cx.g.neighbor_range(c.second, level, &b, &e);
      nb.clear();
      for (size_t j = b; j < e; j++) {
        Sid v = load_nb(&cx.g.neighbors[j]);
        if (v < 0) break;
        if (vt.get(v)) continue;
        vt.set(v);
        nb.push_back(v);
        _mm_prefetch(reinterpret_cast<const char *>(vec(v)), _MM_HINT_T0);
      }
      for (Sid v : nb) {
        float dv = dist(v);
        if (res.size() < ef || dv < res.front().first) {
          cand.emplace_back(dv, v);
          std::push_heap(cand.begin(), cand.end(), farther);
          res.emplace_back(dv, v);
          std::push_heap(res.begin(), res.end());
          if (res.size() > ef) {
            std::pop_heap(res.begin(), res.end());
            res.pop_back();
          }
        }
      }
    }
    vt.advance();
    std::sort_heap(res.begin(), res.end());
  }

  /* HNSW::shrink_neighbor_list over `in` (ascending by distance to the
   * node the list is for): keep a candidate unless a kept one is nearer to
   * it than the node is; at most max. FAISS keeps everything when there are
   * fewer than max. */
  void shrink(const std::vector<Cand> &in, size_t max, std::vector<Cand> &out) {
    out.clear();
    if (in.size() < max) {
      out = in;
      return;
    }
    for (const Cand &c : in) {
      bool good = true;
      for (const Cand &o : out)
        if (sdist(o.second, c.second) < c.first) {
          good = false;
          break;
        }
      if (good) {
        out.push_back(c);
        if (out.size() >= max) return;
      }
    }
  }

  /* FAISS's add_link: src's list at this level gets dest, in a free slot or
   * by shrinking the list with dest among the candidates. src is locked. */
  void add_link(Sid src, Sid dest, int level) {
    size_t b, e;
    cx.g.neighbor_range(src, level, &b, &e);
    Sid *L = cx.g.neighbors.data();
    if (load_nb(&L[e - 1]) == -1) {
      size_t i = e;
      while (i > b && load_nb(&L[i - 1]) == -1) i--;
      store_nb(&L[i], dest);
      return;
    }
    tmp.clear();
    tmp.emplace_back(sdist(src, dest), dest);
    for (size_t i = b; i < e; i++) {
      Sid v = load_nb(&L[i]);
      tmp.emplace_back(sdist(src, v), v);
    }
    std::sort(tmp.begin(), tmp.end());
    std::vector<Cand> kept;
    kept.reserve(e - b);
    shrink(tmp, e - b, kept);
    size_t i = b;
    for (const Cand &c : kept) store_nb(&L[i++], c.second);
    while (i < e) store_nb(&L[i++], -1);
  }

  /* The k best of the level-0 candidates among the nodes indexed before this
   * add, into row pt - n0 of the output. */
  void keep_knn(Sid pt) {
    Idx *lab = cx.labels + static_cast<size_t>(pt - cx.n0) * cx.k;
    float *dis = cx.dist + static_cast<size_t>(pt - cx.n0) * cx.k;
    Idx got = 0;
    for (const Cand &c : res) {
      if (got == cx.k) break;
      if (c.second >= cx.n0) continue; /* this batch: the caller's own */
      lab[got] = c.second;
      dis[got] = cx.ip ? -c.first : c.first;
      got++;
    }
  }

  /* HNSW::add_with_locks for node pt of level pt_level (levels[pt] - 1). */
  void add(Sid pt, int pt_level, const float *x) {
    dc.set_query(x);
    Sid nearest;
    int level;
    {
      std::lock_guard<std::mutex> l(cx.entry_mu);
      nearest = cx.g.entry_point;
      level = cx.g.max_level;
      if (nearest < 0) {
        cx.g.max_level = pt_level;
        cx.g.entry_point = pt;
        return;
      }
    }
    cx.locks.lock(static_cast<size_t>(pt));
    float dn = dist(nearest);
    for (; level > pt_level; level--) greedy(level, nearest, dn);
    for (; level >= 0; level--) {
      search_layer(level, nearest, dn);
      if (level == 0 && cx.k > 0) keep_knn(pt);
      nearest = res.front().second; /* where the next layer starts */
      dn = res.front().first;
      shrink(res, static_cast<size_t>(cx.g.nb_neighbors(level)), sel);
      for (const Cand &c : sel) add_link(pt, c.second, level);
      cx.locks.unlock(static_cast<size_t>(pt));
      for (const Cand &c : sel) {
        cx.locks.lock(static_cast<size_t>(c.second));
        add_link(c.second, pt, level);
        cx.locks.unlock(static_cast<size_t>(c.second));
      }
      cx.locks.lock(static_cast<size_t>(pt));
    }
    cx.locks.unlock(static_cast<size_t>(pt));
    std::lock_guard<std::mutex> l(cx.entry_mu);
    if (pt_level > cx.g.max_level) {
      cx.g.max_level = pt_level;
      cx.g.entry_point = pt;
    }
  }
};

/* Off with PRECIS_HNSW_ADD=faiss: FAISS's own insertion then, and the kNN
 * lists from a search (for measuring one against the other). */
bool own_add_enabled() {
  static const bool on = [] {
    const char *e = std::getenv("PRECIS_HNSW_ADD");
    return !(e && !std::strcmp(e, "faiss"));
  }();
  return on;
}

} // namespace

extern "C" int faissx_hnsw_add_knn(FaissIndex *index, idx_t n, const float *x, idx_t k,
                                   idx_t *labels, float *distances) {
  try {
    auto *h = dynamic_cast<faiss::IndexHNSW *>(reinterpret_cast<faiss::Index *>(index));
    auto *fast = h ? dynamic_cast<FastFlat *>(h->storage) : nullptr;
    if (!fast || !own_add_enabled() || !h->is_trained || k < 0) return 1;
    for (Idx i = 0; i < n * k; i++) {
      labels[i] = -1;
      distances[i] = 0;
    }
    if (n <= 0) return 0;
    faiss::HNSW &g = h->hnsw;
    const Idx n0 = h->ntotal;
    FAISS_THROW_IF_NOT_MSG(g.levels.size() == static_cast<size_t>(n0),
                           "faissx_hnsw_add_knn: levels already assigned");
    fast->add(n, x);
    h->ntotal = fast->ntotal;
    g.prepare_level_tab(static_cast<size_t>(n), false);
    const size_t ntotal = static_cast<size_t>(h->ntotal);
    AddCtx cx{g,
              *fast,
              NodeLocks(ntotal),
              {},
              static_cast<Sid>(n0),
              k,
              labels,
              distances,
              fast->metric_type == faiss::METRIC_INNER_PRODUCT};
    /* the new nodes by level, highest first, each level in random order
     * (FAISS's bucket sort and its permutation) */
    int top = 0;
    for (Idx i = 0; i < n; i++) top = std::max(top, g.levels[static_cast<size_t>(n0 + i)] - 1);
    std::vector<std::vector<Sid>> by_level(static_cast<size_t>(top) + 1);
    for (Idx i = 0; i < n; i++)
      by_level[static_cast<size_t>(g.levels[static_cast<size_t>(n0 + i)] - 1)].push_back(
          static_cast<Sid>(n0 + i));
    faiss::RandomGenerator rng(789);
    for (int lv = top; lv >= 0; lv--) {
      std::vector<Sid> &o = by_level[static_cast<size_t>(lv)];
      const int cnt = static_cast<int>(o.size());
      for (int j = 0; j < cnt; j++) std::swap(o[j], o[j + rng.rand_int(cnt - j)]);
      std::exception_ptr failed;
      std::atomic<bool> stop{false};
#pragma omp parallel if (cnt > 100)
      {
        std::unique_ptr<Worker> w;
        try {
          w.reset(new Worker(cx, ntotal));
        } catch (...) {
#pragma omp critical(faissx_hnsw_add_error)
          if (!failed) failed = std::current_exception();
          stop = true;
        }
        /* every thread meets the loop (and its barrier), failed or not */
#pragma omp for schedule(dynamic, 8)
        for (int j = 0; j < cnt; j++) {
          if (!w || stop.load(std::memory_order_relaxed)) continue;
          try {
            w->add(o[j], lv, x + static_cast<size_t>(o[j] - n0) * static_cast<size_t>(h->d));
          } catch (...) {
#pragma omp critical(faissx_hnsw_add_error)
            if (!failed) failed = std::current_exception();
            stop = true;
          }
        }
      }
      if (failed) std::rethrow_exception(failed);
    }
    return 0;
  } catch (...) {
    return faissx_store_current_exception();
  }
}
