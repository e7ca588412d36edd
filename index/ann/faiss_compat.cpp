/*
 * faiss_compat.cpp: Precis's stand-in for libfaiss_c, compiled only when no
 * real libfaiss_c is found (scripts/faiss-config.sh mode "compat"; Debian's
 * libfaiss-dev ships the C API headers but not their code).
 *
 * It implements exactly the C API functions Precis calls (ann.c), with the
 * signatures of the real headers (included below, so the compiler checks
 * them) and FAISS's error convention: 0 on success, a negative
 * FaissErrorCode on an exception, whose message faiss_get_last_error()
 * then returns (thread-local). Add a function here when ann.c starts using
 * one; with a real libfaiss_c this file is not built at all.
 */
#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/error_impl.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include <exception>

#include "faiss_ext.h"

/* The C API's last exception, declared in error_impl.h (libfaiss_c defines
 * it in error_impl.cpp). */
thread_local std::exception_ptr faiss_last_exception;

namespace {
faiss::Index *cpp(FaissIndex *i) { return reinterpret_cast<faiss::Index *>(i); }
const faiss::Index *cpp(const FaissIndex *i) { return reinterpret_cast<const faiss::Index *>(i); }
const faiss::ParameterSpace *cpp(const FaissParameterSpace *p) {
  return reinterpret_cast<const faiss::ParameterSpace *>(p);
}
} // namespace

#define COMPAT_TRY try {
#define COMPAT_CATCH                         \
  }                                          \
  catch (...) {                              \
    return faissx_store_current_exception(); \
  }                                          \
  return 0;

extern "C" {

/* ---- error_c.h ---- */

const char *faiss_get_last_error() {
  if (faiss_last_exception) {
    try {
      std::rethrow_exception(faiss_last_exception);
    } catch (const std::exception &e) {
      return e.what();
    } catch (...) {
      return "Unknown error";
    }
  }
  return nullptr;
}

/* ---- Index_c.h ---- */

void faiss_Index_free(FaissIndex *obj) { delete cpp(obj); }

int faiss_Index_d(const FaissIndex *obj) { return cpp(obj)->d; }

int faiss_Index_is_trained(const FaissIndex *obj) { return cpp(obj)->is_trained; }

idx_t faiss_Index_ntotal(const FaissIndex *obj) { return cpp(obj)->ntotal; }

FaissMetricType faiss_Index_metric_type(const FaissIndex *obj) {
  return static_cast<FaissMetricType>(cpp(obj)->metric_type);
}

int faiss_Index_train(FaissIndex *index, idx_t n, const float *x) {
  COMPAT_TRY
  cpp(index)->train(n, x);
  COMPAT_CATCH
}

int faiss_Index_add(FaissIndex *index, idx_t n, const float *x) {
  COMPAT_TRY
  cpp(index)->add(n, x);
  COMPAT_CATCH
}

/* ---- index_factory_c.h ---- */

int faiss_index_factory(FaissIndex **p_index, int d, const char *description,
                        FaissMetricType metric) {
  COMPAT_TRY
  *p_index = reinterpret_cast<FaissIndex *>(
      faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric)));
  COMPAT_CATCH
}

/* ---- AutoTune_c.h ---- */

int faiss_ParameterSpace_new(FaissParameterSpace **space) {
  COMPAT_TRY
  *space = reinterpret_cast<FaissParameterSpace *>(new faiss::ParameterSpace());
  COMPAT_CATCH
}

void faiss_ParameterSpace_free(FaissParameterSpace *obj) {
  delete reinterpret_cast<faiss::ParameterSpace *>(obj);
}

int faiss_ParameterSpace_set_index_parameter(const FaissParameterSpace *space, FaissIndex *index,
                                             const char *name, double value) {
  COMPAT_TRY
  cpp(space)->set_index_parameter(cpp(index), name, value);
  COMPAT_CATCH
}

/* ---- index_io_c.h ---- */

int faiss_write_index(const FaissIndex *idx, FILE *f) {
  COMPAT_TRY
  faiss::write_index(cpp(idx), f);
  COMPAT_CATCH
}

int faiss_read_index(FILE *f, int io_flags, FaissIndex **p_out) {
  COMPAT_TRY
  *p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(f, io_flags));
  COMPAT_CATCH
}

} /* extern "C" */
