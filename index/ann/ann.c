/*
 * ann.c: the ANN adapter of ann.h over FAISS's C API (<faiss/c_api/...>)
 * plus Precis's small extension (faiss_ext.h). FAISS errors are translated
 * into precis_status here, once (faiss_fail).
 *
 * On-disk format (ann_save / ann_load): the FAISS index exactly as
 * faiss_write_index writes it, followed by a 20-byte trailer
 *     "PRCSANN1" | payload length (u64 LE) | CRC-32C of the payload (u32 LE)
 * FAISS ignores trailing bytes, so the file stays readable by FAISS tools.
 * ann_load checks the trailer before FAISS parses a byte: FAISS validates
 * little of what it reads, so a flipped bit in an HNSW graph would load
 * fine and crash the first search, and a corrupt size field could make it
 * allocate (and touch) gigabytes.
 */
#include "ann.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include "byteorder.h"
#include "crc32c.h"
#include "faiss_ext.h"
#include "file.h"
#include "precis/limits.h"

struct ann {
  FaissIndex *idx;
  uint32_t dim;
  ann_metric metric;
  ann_cost cost;   /* estimate from the spec (zero when loaded from disk) */
  uint64_t budget; /* 0 = none */
};

/* ---- errors ---- */

/* FAISS messages read "Error in <function> at <file>:<line>: <message>";
 * keep <message>. */
static const char *faiss_msg(void) {
  const char *m = faiss_get_last_error();
  if (!m || !*m) return "unknown FAISS error";
  if (strncmp(m, "Error in ", 9) == 0) {
    const char *at = strstr(m, " at ");
    const char *colon = at ? strstr(at + 4, ": ") : NULL;
    if (colon && colon[2]) return colon + 2;
  }
  return m;
}

/* A FAISS call failed: `code` unless it ran out of memory. */
static int faiss_fail(precis_error *err, int code, const char *what) {
  if (faissx_last_error_is_oom()) code = PRECIS_E_NO_MEMORY;
  return precis_error_set(err, code, "%s: %s", what, faiss_msg());
}

static int sys_fail(precis_error *err, const char *what, const char *path, int errnum) {
  char buf[128];
  return precis_error_set(err, PRECIS_E_IO, "%s %s: %s", what, path,
                          strerror_r(errnum, buf, sizeof buf));
}

/* ---- checksum (crc32c.h) ---- */

/* CRC-32C of bytes [0, len) of fd. Returns 0, or an errno (EPIPE when the
 * file ends early). */
static int crc_fd(int fd, uint64_t len, uint32_t *out) {
  enum { CHUNK = 1 << 20 };
  unsigned char *buf = malloc(CHUNK);
  if (!buf) return ENOMEM;
  uint32_t c = 0;
  uint64_t off = 0;
  int rc = 0;
  while (off < len) {
    size_t want = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
    ssize_t got = pread(fd, buf, want, (off_t)off);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      rc = got < 0 ? errno : EPIPE;
      break;
    }
    c = crc32c_update(c, buf, (size_t)got);
    off += (uint64_t)got;
  }
  free(buf);
  *out = c;
  return rc;
}

/* ---- file trailer ---- */

#define TRAILER_MAGIC "PRCSANN1"
enum { TRAILER_BYTES = 20 };

/* ---- index specs (issue 11) ---- */

/* Read a decimal number at *p; -1 when none; numbers of more than 9
 * digits read as 1e9 (out of every range). */
static long spec_num(const char **p) {
  const char *s = *p;
  long v = 0;
  int nd = 0;
  while (*s >= '0' && *s <= '9') {
    if (++nd <= 9)
      v = v * 10 + (*s - '0');
    else
      v = 1000000000L;
    s++;
  }
  if (nd == 0) return -1;
  *p = s;
  return v;
}

static int spec_bad(precis_error *err, const char *spec) {
  return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                          "index spec \"%s\" is not supported: use Flat, HNSW<M>[,Flat], "
                          "IVF<nlist>,{Flat|PQ<m>[x<bits>]|SQ<4|6|8|fp16>}, PQ<m>[x<bits>] or "
                          "SQ<4|6|8|fp16> (docs/FAISS.md)",
                          spec);
}

/* PQ<m>[x<bits>] at *p: code bytes per vector and codebook bytes. */
static int spec_pq(const char **p, uint32_t dim, const char *spec, uint64_t *code, uint64_t *book,
                   precis_error *err) {
  *p += 2;
  long m = spec_num(p), bits = 8;
  if (m == -1) return spec_bad(err, spec);
  if (**p == 'x') {
    (*p)++;
    bits = spec_num(p);
    if (bits == -1) return spec_bad(err, spec);
  }
  if (m < 1 || m > (long)dim || dim % (uint32_t)m)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                            "index spec \"%s\": PQ needs m in 1..%u dividing "
                            "the dimension %u",
                            spec, dim, dim);
  if (bits < 1 || bits > ANN_MAX_PQ_BITS)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "index spec \"%s\": PQ bits must be 1..%d",
                            spec, ANN_MAX_PQ_BITS);
  *code = ((uint64_t)m * (uint64_t)bits + 7) / 8;
  *book = ((uint64_t)1 << bits) * dim * sizeof(float);
  return PRECIS_OK;
}

/* SQ<4|6|8|fp16> at *p: code bytes per vector. */
static int spec_sq(const char **p, uint32_t dim, const char *spec, uint64_t *code,
                   precis_error *err) {
  *p += 2;
  long bits;
  if (!strncmp(*p, "fp16", 4)) {
    bits = 16;
    *p += 4;
  } else {
    bits = spec_num(p);
  }
  if (bits != 4 && bits != 6 && bits != 8 && bits != 16) return spec_bad(err, spec);
  *code = ((uint64_t)dim * (uint64_t)bits + 7) / 8;
  return PRECIS_OK;
}

int ann_spec_check(uint32_t dim, const char *spec, ann_cost *cost, precis_error *err) {
  ann_cost local;
  if (!cost) cost = &local;
  memset(cost, 0, sizeof *cost);
  if (dim == 0 || dim > PRECIS_MAX_DIM)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "dimension %u outside 1..%d", dim,
                            PRECIS_MAX_DIM);
  if (!spec || !*spec || strlen(spec) >= PRECIS_MAX_INDEX_SPEC_LEN)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "index spec must be 1..%d characters",
                            PRECIS_MAX_INDEX_SPEC_LEN - 1);
  const uint64_t flat = (uint64_t)dim * sizeof(float);
  const char *p = spec;
  int rc = PRECIS_OK;
  if (!strcmp(p, "Flat")) {
    cost->per_vector_bytes = flat;
    return PRECIS_OK;
  }
  if (!strncmp(p, "HNSW", 4)) {
    p += 4;
    long m = spec_num(&p);
    if (m == -1 || (*p && strcmp(p, ",Flat"))) return spec_bad(err, spec);
    if (m < 2 || m > ANN_MAX_HNSW_M)
      return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "index spec \"%s\": HNSW M must be 2..%d",
                              spec, ANN_MAX_HNSW_M);
    /* vector + 2M links at level 0 + about M/(M-1) links above + level
     * bookkeeping (offsets, levels) */
    cost->per_vector_bytes = flat + (uint64_t)m * 2 * 4 + (uint64_t)m * 4 + 16;
    return PRECIS_OK;
  }
  if (!strncmp(p, "IVF", 3)) {
    p += 3;
    long nlist = spec_num(&p);
    if (nlist == -1 || *p != ',') return spec_bad(err, spec);
    if (nlist < 1 || nlist > ANN_MAX_IVF_NLIST)
      return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                              "index spec \"%s\": IVF nlist must be 1..%d", spec,
                              ANN_MAX_IVF_NLIST);
    p++;
    uint64_t code = 0, book = 0;
    if (!strcmp(p, "Flat")) {
      code = flat;
      p += 4;
    } else if (!strncmp(p, "PQ", 2)) {
      rc = spec_pq(&p, dim, spec, &code, &book, err);
    } else if (!strncmp(p, "SQ", 2)) {
      rc = spec_sq(&p, dim, spec, &code, err);
    } else {
      return spec_bad(err, spec);
    }
    if (rc) return rc;
    if (*p) return spec_bad(err, spec);
    /* centroids + per-list id arrays; each vector: code + 8-byte id */
    cost->fixed_bytes = (uint64_t)nlist * (flat + 64) + book;
    cost->per_vector_bytes = code + 8;
    return PRECIS_OK;
  }
  if (!strncmp(p, "PQ", 2)) {
    uint64_t code = 0, book = 0;
    if ((rc = spec_pq(&p, dim, spec, &code, &book, err))) return rc;
    if (*p) return spec_bad(err, spec);
    cost->fixed_bytes = book;
    cost->per_vector_bytes = code;
    return PRECIS_OK;
  }
  if (!strncmp(p, "SQ", 2)) {
    uint64_t code = 0;
    if ((rc = spec_sq(&p, dim, spec, &code, err))) return rc;
    if (*p) return spec_bad(err, spec);
    cost->fixed_bytes = flat * 2;
    cost->per_vector_bytes = code;
    return PRECIS_OK;
  }
  return spec_bad(err, spec);
}

static atomic_long ann_fail_adds = -1;

void ann_debug_fail_adds_after(long countdown) { atomic_store(&ann_fail_adds, countdown); }

int ann_set_cost_spec(ann *a, const char *spec, precis_error *err) {
  ann_cost cost;
  int rc = ann_spec_check(ann_dim(a), spec, &cost, err);
  if (rc == PRECIS_OK) a->cost = cost;
  return rc;
}

void ann_set_budget(ann *a, uint64_t bytes) {
  if (a) a->budget = bytes;
}

uint64_t ann_memory_estimate(const ann *a) {
  if (!a || !a->cost.per_vector_bytes) return 0;
  return a->cost.fixed_bytes + (uint64_t)faiss_Index_ntotal(a->idx) * a->cost.per_vector_bytes;
}

int ann_check_room(const ann *a, size_t n, precis_error *err) {
  if (!a || !a->budget || !a->cost.per_vector_bytes) return PRECIS_OK;
  uint64_t total = (uint64_t)faiss_Index_ntotal(a->idx) + n;
  uint64_t need = a->cost.fixed_bytes + total * a->cost.per_vector_bytes;
  if (need <= a->budget) return PRECIS_OK;
  return precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                          "the index would need about %llu MiB for %llu "
                          "vectors, over its budget of %llu MiB "
                          "(--max-index-memory)",
                          (unsigned long long)(need >> 20), (unsigned long long)total,
                          (unsigned long long)(a->budget >> 20));
}

/* ---- create / destroy / accessors ---- */

static int metric_from_faiss(FaissMetricType m, ann_metric *out) {
  if (m == METRIC_INNER_PRODUCT)
    *out = ANN_METRIC_IP;
  else if (m == METRIC_L2)
    *out = ANN_METRIC_L2;
  else
    return -1;
  return 0;
}

static int wrap(FaissIndex *idx, ann **out, precis_error *err) {
  ann *a = malloc(sizeof *a);
  if (!a) {
    faiss_Index_free(idx);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "ann: out of memory");
  }
  memset(a, 0, sizeof *a);
  faissx_accelerate(idx); /* best effort: FAISS's kernels otherwise */
  a->idx = idx;
  a->dim = (uint32_t)faiss_Index_d(idx);
  if (metric_from_faiss(faiss_Index_metric_type(idx), &a->metric) != 0)
    a->metric = ANN_METRIC_L2; /* callers check the metric before wrapping */
  *out = a;
  return PRECIS_OK;
}

int ann_create(uint32_t dim, ann_metric metric, const char *spec, ann **out, precis_error *err) {
  if (!out) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "ann_create: out is NULL");
  *out = NULL;
  if (dim == 0 || dim > PRECIS_MAX_DIM)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "dimension %u outside 1..%d", dim,
                            PRECIS_MAX_DIM);
  if (metric != ANN_METRIC_IP && metric != ANN_METRIC_L2)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "unknown metric %d", (int)metric);
  ann_cost cost;
  int rc = ann_spec_check(dim, spec, &cost, err);
  if (rc) return rc;
  FaissIndex *idx = NULL;
  FaissMetricType fm = metric == ANN_METRIC_IP ? METRIC_INNER_PRODUCT : METRIC_L2;
  if (faiss_index_factory(&idx, (int)dim, spec, fm) != 0 || !idx)
    return faiss_fail(err, PRECIS_E_INVALID_ARGUMENT, "bad index spec");
  if ((rc = wrap(idx, out, err))) return rc;
  (*out)->cost = cost;
  return PRECIS_OK;
}

void ann_destroy(ann *a) {
  if (!a) return;
  faiss_Index_free(a->idx);
  free(a);
}

uint32_t ann_dim(const ann *a) { return a->dim; }

size_t ann_ntotal(const ann *a) { return (size_t)faiss_Index_ntotal(a->idx); }

int ann_is_trained(const ann *a) { return faiss_Index_is_trained(a->idx) != 0; }

/* ---- train / add / parameters ---- */

int ann_train(ann *a, size_t n, const float *x, precis_error *err) {
  if (!a) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "ann_train: NULL index");
  if (faiss_Index_is_trained(a->idx)) return PRECIS_OK;
  if (n == 0 || !x || n > (size_t)INT64_MAX)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "training needs vectors");
  if (faiss_Index_train(a->idx, (idx_t)n, x) != 0)
    return faiss_fail(err, PRECIS_E_INTERNAL, "train");
  return PRECIS_OK;
}

/* What every add checks first (and the fault-injection hook). */
static int add_check(ann *a, size_t n, const float *x, precis_error *err) {
  if (!a || (n && !x))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "ann_add: NULL argument");
  if (n == 0) return PRECIS_OK;
  long f = atomic_load(&ann_fail_adds);
  if (f >= 0) {
    if (f == 0) return precis_error_set(err, PRECIS_E_INTERNAL, "ann_add: injected failure");
    atomic_fetch_sub(&ann_fail_adds, 1);
  }
  if (!faiss_Index_is_trained(a->idx))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "index must be trained before adding");
  /* HNSW stores labels as int; keep every index type to that range. */
  uint64_t total = (uint64_t)faiss_Index_ntotal(a->idx);
  if (n > (uint64_t)INT32_MAX - total)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "index would exceed %d vectors", INT32_MAX);
  return PRECIS_OK;
}

int ann_add(ann *a, size_t n, const float *x, precis_error *err) {
  int rc = add_check(a, n, x, err);
  if (rc || n == 0) return rc;
  /* HNSW over the fast storage: the own parallel insertion (hnsw_add.cpp) */
  int r = faissx_hnsw_add_knn(a->idx, (idx_t)n, x, 0, NULL, NULL);
  if (r == 1) r = faiss_Index_add(a->idx, (idx_t)n, x);
  if (r != 0) return faiss_fail(err, PRECIS_E_INTERNAL, "add");
  return PRECIS_OK;
}

int ann_add_knn(ann *a, size_t n, const float *x, size_t k, int64_t *labels, float *distances,
                bool *done, precis_error *err) {
  *done = false;
  int rc = add_check(a, n, x, err);
  if (rc || n == 0) return rc;
  int r = faissx_hnsw_add_knn(a->idx, (idx_t)n, x, (idx_t)k, labels, distances);
  if (r == 1) return PRECIS_OK; /* another kind of index: the caller adds and searches */
  if (r != 0) return faiss_fail(err, PRECIS_E_INTERNAL, "add");
  *done = true;
  return PRECIS_OK;
}

int ann_set_param(ann *a, const char *name, double value, precis_error *err) {
  if (!a || !name)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "ann_set_param: NULL argument");
  if (strcmp(name, "efSearch") != 0 && strcmp(name, "efConstruction") != 0 &&
      strcmp(name, "nprobe") != 0)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "unknown index parameter \"%s\"", name);
  if (!isfinite(value) || value != trunc(value))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "%s must be an integer", name);
  if (value < 1 || value > INT_MAX)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "%s=%g outside 1..%d", name, value,
                            INT_MAX);

  /* FAISS 1.7.3's ParameterSpace handles all three names (efConstruction
   * included) and throws only "could not set parameter": a parameter that
   * does not apply to this index type. */
  FaissParameterSpace *ps = NULL;
  if (faiss_ParameterSpace_new(&ps) != 0 || !ps)
    return faiss_fail(err, PRECIS_E_INTERNAL, "parameter space");
  int rc = faiss_ParameterSpace_set_index_parameter(ps, a->idx, name, value);
  faiss_ParameterSpace_free(ps);
  if (rc != 0) return faiss_fail(err, PRECIS_E_INVALID_ARGUMENT, name);
  return PRECIS_OK;
}

/* ---- search ---- */

/* ann_search and ann_search_sel: keep == NULL searches every label. */
static int search_common(const ann *a, size_t nq, const float *q, size_t k,
                         const ann_search_params *p, ann_keep_fn keep, void *ctx, float *dist,
                         int64_t *labels, precis_error *err) {
  if (!a || (nq && (!q || !dist || !labels)))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "ann_search: NULL argument");
  if (k == 0) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "k must be positive");
  if (nq == 0) return PRECIS_OK;
  if (k > (size_t)INT32_MAX || nq > SIZE_MAX / sizeof(float) / k || nq > (size_t)INT64_MAX)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "search of %zu x %zu too large", nq, k);
  uint32_t ef = p ? p->ef_search : 0, nprobe = p ? p->nprobe : 0;
  if (ef > INT_MAX)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "ef_search %u too large", ef);

  /* Missing results: label -1 and the worst distance of the metric. */
  const float worst = a->metric == ANN_METRIC_IP ? -FLT_MAX : FLT_MAX;
  const size_t total = nq * k;
  if (faiss_Index_ntotal(a->idx) == 0) { /* also covers an untrained IVF */
    for (size_t i = 0; i < total; i++) labels[i] = -1, dist[i] = worst;
    return PRECIS_OK;
  }
  const FaissIndex *ix = a->idx;
  if (p && p->exact) {
    if (!(ix = faissx_exact_view(a->idx)))
      return precis_error_set(err, PRECIS_E_UNIMPLEMENTED,
                              "exact search: the index keeps no full-precision vectors");
    ef = nprobe = 0;
  }
  int frc =
      keep ? faissx_search_sel(ix, (idx_t)nq, q, (idx_t)k, (int)ef, nprobe, keep, ctx, dist, labels)
           : faissx_search(ix, (idx_t)nq, q, (idx_t)k, (int)ef, nprobe, dist, labels);
  if (frc != 0) return faiss_fail(err, PRECIS_E_INTERNAL, "search");
  for (size_t i = 0; i < total; i++)
    if (labels[i] < 0) dist[i] = worst;
  return PRECIS_OK;
}

int ann_search(const ann *a, size_t nq, const float *q, size_t k, const ann_search_params *p,
               float *dist, int64_t *labels, precis_error *err) {
  return search_common(a, nq, q, k, p, NULL, NULL, dist, labels, err);
}

int ann_search_sel(const ann *a, const float *q, size_t k, const ann_search_params *p,
                   ann_keep_fn keep, void *ctx, float *dist, int64_t *labels, precis_error *err) {
  if (!keep) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "ann_search_sel: no selector");
  return search_common(a, 1, q, k, p, keep, ctx, dist, labels, err);
}

int ann_sel_adaptive(const ann *a) { return a && faissx_sel_adaptive(a->idx); }

int ann_exact_distances(const ann *a, const float *q, size_t n, const int64_t *labels, float *dist,
                        precis_error *err) {
  if (faissx_exact_distances(a->idx, q, (idx_t)n, labels, dist) != 0)
    return precis_error_set(err, PRECIS_E_UNIMPLEMENTED,
                            "exact distances: no full-precision vectors for these labels");
  return PRECIS_OK;
}

int ann_can_exact(const ann *a) { return a && faissx_exact_view(a->idx) != NULL; }

const float *ann_vectors(const ann *a) { return a ? faissx_flat_vectors(a->idx) : NULL; }

/* ---- save / load ---- */

/* ann_save in two steps (ann.h): the index and its trailer go to
 * "<path>.tmp" under the owner's lock; file_atomic_commit (file.h) then
 * syncs it, renames it over `path` and syncs the directory without it. */
struct ann_pending {
  file_atomic fa;
};

void ann_save_abort(ann_pending *p) {
  if (!p) return;
  file_atomic_abort(&p->fa);
  free(p);
}

int ann_save_begin(const ann *a, const char *path, ann_pending **out, precis_error *err) {
  *out = NULL;
  if (!a || !path || !*path)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "ann_save: NULL argument");
  ann_pending *p = calloc(1, sizeof *p);
  if (!p) return precis_error_set(err, PRECIS_E_NO_MEMORY, "ann_save: out of memory");
  int rc = file_atomic_open(&p->fa, path, err);
  if (rc) {
    free(p);
    return rc;
  }
  /* FAISS writes through a FILE of its own descriptor; fa.fd stays ours */
  int fd = dup(p->fa.fd);
  FILE *f = fd >= 0 ? fdopen(fd, "w+b") : NULL;
  if (!f) {
    rc = sys_fail(err, "cannot open", p->fa.tmp, errno);
    if (fd >= 0) close(fd);
    goto out;
  }
  if (faiss_write_index(a->idx, f) != 0) {
    rc = faiss_fail(err, PRECIS_E_IO, "write index");
    goto out;
  }
  if (fflush(f) != 0) {
    rc = sys_fail(err, "cannot write", p->fa.tmp, errno);
    goto out;
  }
  off_t len = ftello(f);
  uint32_t crc;
  int e = len < 0 ? errno : crc_fd(fd, (uint64_t)len, &crc);
  if (e) {
    rc = sys_fail(err, "cannot read back", p->fa.tmp, e);
    goto out;
  }
  unsigned char tr[TRAILER_BYTES];
  memcpy(tr, TRAILER_MAGIC, 8);
  byte_put_le64(tr + 8, (uint64_t)len);
  byte_put_le32(tr + 16, crc);
  if (fwrite(tr, 1, sizeof tr, f) != sizeof tr || fflush(f) != 0) {
    rc = sys_fail(err, "cannot write", p->fa.tmp, errno);
    goto out;
  }
  int closed = fclose(f);
  f = NULL;
  if (closed != 0) rc = sys_fail(err, "cannot close", p->fa.tmp, errno);
out:
  if (f) fclose(f);
  if (rc != PRECIS_OK)
    ann_save_abort(p);
  else
    *out = p;
  return rc;
}

int ann_save_finish(ann_pending *p, precis_error *err) {
  int rc = file_atomic_commit(&p->fa, err); /* releases fa on failure too */
  free(p);
  return rc;
}

int ann_save(const ann *a, const char *path, precis_error *err) {
  ann_pending *p;
  int rc = ann_save_begin(a, path, &p, err);
  return rc ? rc : ann_save_finish(p, err);
}

/* faissx_exact_view returns an IndexFlat itself, an HNSW index its storage */
int ann_is_flat(const ann *a) { return a && faissx_exact_view(a->idx) == a->idx; }

/* Check the trailer and the CRC of the payload. */
static int check_file(int fd, const char *path, precis_error *err) {
  struct stat st;
  if (fstat(fd, &st) != 0) return sys_fail(err, "cannot stat", path, errno);
  if (st.st_size < TRAILER_BYTES)
    return precis_error_set(err, PRECIS_E_CORRUPTION, "%s: too short for an index", path);
  uint64_t len = (uint64_t)st.st_size - TRAILER_BYTES;
  unsigned char tr[TRAILER_BYTES];
  ssize_t got;
  do got = pread(fd, tr, sizeof tr, (off_t)len);
  while (got < 0 && errno == EINTR);
  if (got < 0) return sys_fail(err, "cannot read", path, errno);
  if (got != (ssize_t)sizeof tr || memcmp(tr, TRAILER_MAGIC, 8) != 0 ||
      byte_get_le64(tr + 8) != len)
    return precis_error_set(err, PRECIS_E_CORRUPTION, "%s: missing or damaged trailer", path);
  uint32_t crc;
  int e = crc_fd(fd, len, &crc);
  if (e == EPIPE)
    return precis_error_set(err, PRECIS_E_CORRUPTION, "%s: truncated while reading", path);
  if (e) return sys_fail(err, "cannot read", path, e);
  if (crc != byte_get_le32(tr + 16))
    return precis_error_set(err, PRECIS_E_CORRUPTION, "%s: checksum mismatch", path);
  return PRECIS_OK;
}

int ann_load(const char *path, ann **out, precis_error *err) {
  if (!path || !out)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "ann_load: NULL argument");
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return precis_error_set(err, PRECIS_E_NOT_FOUND, "%s: no such index file", path);
    return sys_fail(err, "cannot open", path, errno);
  }
  int rc = check_file(fd, path, err);
  if (rc != PRECIS_OK) {
    close(fd);
    return rc;
  }
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    rc = sys_fail(err, "cannot open", path, errno);
    close(fd);
    return rc;
  }
  FaissIndex *idx = NULL;
  rc = faiss_read_index(f, 0, &idx);
  fclose(f);
  if (rc != 0 || !idx) {
    char what[PRECIS_ERROR_MSG_MAX];
    snprintf(what, sizeof what, "%s: unreadable index", path);
    return faiss_fail(err, PRECIS_E_CORRUPTION, what);
  }
  ann_metric m;
  int d = faiss_Index_d(idx);
  if (d < 1 || d > PRECIS_MAX_DIM || metric_from_faiss(faiss_Index_metric_type(idx), &m) != 0) {
    faiss_Index_free(idx);
    return precis_error_set(err, PRECIS_E_CORRUPTION, "%s: unsupported dimension or metric", path);
  }
  return wrap(idx, out, err);
}

const char *ann_faiss_build(void) { return faissx_build_desc(); }
