/*
 * faiss_vs_hnswlib.cc: a standalone harness comparing FAISS's HNSW
 * (IndexHNSWFlat, inner product) with hnswlib's (bench/hnswlib_baseline.h)
 * on a data set in Precis's raw layout (base.f32, queries.f32, gt100.i32;
 * scripts/README-data.md), single-threaded, one query at a time:
 *
 *   - insert rate: vectors/s while building the whole index
 *     (efConstruction fixed, FAISS gets all vectors in one add() call,
 *     hnswlib one addPoint() each; both on one thread);
 *   - for each efSearch: recall@k against gt100 and queries/s, each query
 *     a separate search call of k results.
 *
 * Times are CPU time of the process (robust to other load on a shared
 * machine; with one thread it equals wall time on an idle one); wall-clock
 * QPS is printed as well. Each efSearch runs --reps rounds, each repeating
 * the query set until --min-time seconds of CPU time have passed, and
 * reports the best round (the least disturbed by other load); recall is
 * from the first pass (search is deterministic).
 *
 * It is deliberately not part of the Makefile (the `.cc` suffix keeps it
 * out of the wildcard that collects precis-bench's C++ sources): the same
 * source is linked once against Debian's libfaiss.a and once against the
 * faiss-fast build, so the FAISS under test is chosen at link time.
 * `scripts/faiss-fast.sh bench` builds and runs all variants; by hand (from
 * the repository root):
 *
 *   g++ -std=c++17 -O2 -mavx2 -mfma -c bench/hnswlib_baseline.cpp -o /tmp/hnswb.o
 *   g++ -std=c++17 -O2 -fopenmp -DFVH_FAISS_DESC='"Debian libfaiss.a"' \
 *       bench/faiss_vs_hnswlib.cc /tmp/hnswb.o -o /tmp/fvh-debian \
 *       -lfaiss -lblas -llapack
 *   P=$PWD/.deps/faiss
 *   g++ -std=c++17 -O2 -fopenmp -DFVH_FAISS_DESC='"faiss-fast"' -isystem $P/include \
 *       bench/faiss_vs_hnswlib.cc /tmp/hnswb.o -o /tmp/fvh-fast \
 *       -L$P/lib -Wl,-rpath,$P/lib -lfaiss -lblas -llapack
 *   OMP_NUM_THREADS=1 /tmp/fvh-fast --data data/glove-small --lib faiss,hnswlib
 *
 * Options: --data DIR  --dim 100  --lib faiss,hnswlib  --M 16,32
 *          --efc 200  --ef 16,32,64,128,256,512  --k 10  --nq N (0 = all)
 *          --nb N (0 = all base vectors)  --min-time 0.5  --reps 3
 * Output: one Markdown table row per (library, M, efSearch) on stdout,
 * progress on stderr.
 */
#include <faiss/IndexHNSW.h>
#include <faiss/index_factory.h>
#include <omp.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "hnswlib_baseline.h"

#ifndef FVH_FAISS_DESC
#define FVH_FAISS_DESC "faiss"
#endif
#define FVH_STR_(x) #x
#define FVH_STR(x)  FVH_STR_(x)

namespace {

double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double wall_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

template <class T>
std::vector<T> load(const std::string &path, size_t row, size_t *nrows) {
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) {
    fprintf(stderr, "fvh: %s: %s\n", path.c_str(), strerror(errno));
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (bytes < 0 || bytes % (long)(row * sizeof(T)) != 0) {
    fprintf(stderr, "fvh: %s: size %ld is not a multiple of %zu\n", path.c_str(), bytes,
            row * sizeof(T));
    exit(2);
  }
  std::vector<T> v(bytes / sizeof(T));
  if (fread(v.data(), sizeof(T), v.size(), f) != v.size()) {
    fprintf(stderr, "fvh: %s: short read\n", path.c_str());
    exit(2);
  }
  fclose(f);
  *nrows = v.size() / row;
  return v;
}

std::vector<uint32_t> parse_list(const char *s) {
  std::vector<uint32_t> out;
  while (*s) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s) {
      fprintf(stderr, "fvh: bad list '%s'\n", s);
      exit(2);
    }
    out.push_back((uint32_t)v);
    s = *end == ',' ? end + 1 : end;
  }
  return out;
}

/* One HNSW implementation behind a tiny interface. */
struct Engine {
  virtual ~Engine() = default;
  virtual void add(size_t n, const float *x) = 0;
  virtual void search(const float *q, size_t k, size_t ef, int64_t *labels, float *scores) = 0;
};

struct FaissEngine : Engine {
  faiss::IndexHNSWFlat index;
  FaissEngine(int d, int M, int efc) : index(d, M, faiss::METRIC_INNER_PRODUCT) {
    index.hnsw.efConstruction = efc;
  }
  void add(size_t n, const float *x) override { index.add(n, x); }
  void search(const float *q, size_t k, size_t ef, int64_t *labels, float *scores) override {
    index.hnsw.efSearch = (int)ef; /* the index's own, as one thread uses it */
    index.search(1, q, k, scores, labels);
  }
};

struct HnswlibEngine : Engine {
  hnswb *h;
  HnswlibEngine(int d, int M, int efc, size_t cap) : h(hnswb_create(d, M, efc, cap)) {
    if (!h) {
      fprintf(stderr, "fvh: hnswb_create failed (%s)\n", hnswb_desc());
      exit(2);
    }
  }
  ~HnswlibEngine() override { hnswb_destroy(h); }
  void add(size_t n, const float *x) override {
    if (hnswb_add(h, n, x) != 0) {
      fprintf(stderr, "fvh: hnswb_add failed\n");
      exit(2);
    }
  }
  void search(const float *q, size_t k, size_t ef, int64_t *labels, float *scores) override {
    if (hnswb_search(h, q, k, ef, labels, scores) < 0) {
      fprintf(stderr, "fvh: hnswb_search failed\n");
      exit(2);
    }
  }
};

} // namespace

int main(int argc, char **argv) {
  std::string data = "data/glove-small";
  size_t dim = 100, k = 10, nq_max = 0, nb_max = 0;
  std::string libs = "faiss,hnswlib";
  std::vector<uint32_t> Ms = {16, 32};
  std::vector<uint32_t> efs = {16, 32, 64, 128, 256, 512};
  uint32_t efc = 200;
  double min_time = 0.5;
  int reps = 3;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto need = [&]() {
      if (!v) {
        fprintf(stderr, "fvh: %s needs a value\n", a.c_str());
        exit(2);
      }
      i++;
      return v;
    };
    if (a == "--data")
      data = need();
    else if (a == "--dim")
      dim = strtoul(need(), nullptr, 10);
    else if (a == "--lib")
      libs = need();
    else if (a == "--M")
      Ms = parse_list(need());
    else if (a == "--efc")
      efc = strtoul(need(), nullptr, 10);
    else if (a == "--ef")
      efs = parse_list(need());
    else if (a == "--k")
      k = strtoul(need(), nullptr, 10);
    else if (a == "--nq")
      nq_max = strtoul(need(), nullptr, 10);
    else if (a == "--nb")
      nb_max = strtoul(need(), nullptr, 10);
    else if (a == "--min-time")
      min_time = strtod(need(), nullptr);
    else if (a == "--reps")
      reps = std::max(1, atoi(need()));
    else {
      fprintf(stderr,
              "fvh: unknown option %s (see the header of "
              "bench/faiss_vs_hnswlib.cc)\n",
              a.c_str());
      return 2;
    }
  }
  if (k == 0 || k > 100) {
    fprintf(stderr, "fvh: --k must be 1..100 (gt100)\n");
    return 2;
  }
  omp_set_num_threads(1);
  setenv("OPENBLAS_NUM_THREADS", "1", 0);

  size_t nb, nq, ngt;
  std::vector<float> base = load<float>(data + "/base.f32", dim, &nb);
  std::vector<float> qs = load<float>(data + "/queries.f32", dim, &nq);
  std::vector<int32_t> gt = load<int32_t>(data + "/gt100.i32", 100, &ngt);
  if (ngt != nq) {
    fprintf(stderr, "fvh: %zu queries but %zu gt rows\n", nq, ngt);
    return 2;
  }
  if (nb_max && nb_max < nb) {
    nb = nb_max; /* gt is over the full base: recall is then meaningless */
    fprintf(stderr, "fvh: warning: --nb %zu < base size, recall is not valid\n", nb);
  }
  if (nq_max && nq_max < nq) nq = nq_max;

  const std::string faiss_desc = std::string("faiss " FVH_STR(FAISS_VERSION_MAJOR) "." FVH_STR(
                                     FAISS_VERSION_MINOR) "." FVH_STR(FAISS_VERSION_PATCH) " (") +
                                 FVH_FAISS_DESC + ")";
  fprintf(stderr, "fvh: %s: %zu base x %zu, %zu queries, k=%zu, efC=%u, 1 thread\n", data.c_str(),
          nb, dim, nq, k, efc);
  printf(
      "| library | M | build s | insert/s | efSearch | recall@%zu | QPS (cpu) | QPS (wall) | mean "
      "us |\n",
      k);
  printf("|---|---|---|---|---|---|---|---|---|\n");
  fflush(stdout);

  std::vector<int64_t> labels(k);
  std::vector<float> scores(k);
  for (const std::string &lib : {std::string("faiss"), std::string("hnswlib")}) {
    if (libs.find(lib) == std::string::npos) continue;
    const std::string desc = lib == "faiss" ? faiss_desc : hnswb_desc();
    for (uint32_t M : Ms) {
      std::unique_ptr<Engine> e;
      if (lib == "faiss")
        e.reset(new FaissEngine((int)dim, (int)M, (int)efc));
      else
        e.reset(new HnswlibEngine((int)dim, (int)M, (int)efc, nb));
      fprintf(stderr, "fvh: %s M=%u: building...\n", desc.c_str(), M);
      double c0 = cpu_s();
      e->add(nb, base.data());
      double build = cpu_s() - c0;
      fprintf(stderr, "fvh: %s M=%u: built in %.1f s (%.0f/s)\n", desc.c_str(), M, build,
              nb / build);
      for (uint32_t ef : efs) {
        size_t hits = 0;
        double best_cpu_q = 0, best_wall_q = 0; /* queries per second */
        for (int rep = 0; rep < reps; rep++) {
          size_t done = 0;
          double c1 = cpu_s(), w1 = wall_s();
          for (int pass = 0;; pass++) {
            for (size_t i = 0; i < nq; i++) {
              e->search(qs.data() + i * dim, k, ef, labels.data(), scores.data());
              if (rep == 0 && pass == 0) {
                const int32_t *g = gt.data() + i * 100;
                for (size_t j = 0; j < k; j++)
                  if (labels[j] >= 0 && std::find(g, g + k, (int32_t)labels[j]) != g + k) hits++;
              }
            }
            done += nq;
            if (cpu_s() - c1 >= min_time) break;
          }
          best_cpu_q = std::max(best_cpu_q, done / (cpu_s() - c1));
          best_wall_q = std::max(best_wall_q, done / (wall_s() - w1));
        }
        printf("| %s | %u | %.1f | %.0f | %u | %.4f | %.0f | %.0f | %.1f |\n", desc.c_str(), M,
               build, nb / build, ef, (double)hits / (nq * k), best_cpu_q, best_wall_q,
               1e6 / best_cpu_q);
        fflush(stdout);
      }
    }
  }
  return 0;
}
