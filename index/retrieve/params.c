/*
 * params.c: the engine side of the parameter tables (precis/params.h):
 * retrieve defaults, and the range checks of retrieve and search. Every
 * rule here is generated from a table row; only the rules that join
 * several parameters (a, b, c not all 0; seeds within the pool) live with
 * the code they govern (index/retrieve/select.c, index/retrieve/retrieve.c).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "filter.h"
#include "graph_internal.h"

void engine_retrieve_params_default(engine_retrieve_params *p) {
  memset(p, 0, sizeof *p);
  PRECIS_RETRIEVE_PARAM_MAP(PRECIS_PARAM_SET_DEFAULT)
}

/* "k = 0 outside 1..1000", in the row's own terms. */
static int bad(precis_error *err, int code, const char *name, const char *kind, double v, double lo,
               double hi) {
  if (!strcmp(kind, "ENUM") || !strcmp(kind, "BOOL"))
    return precis_error_set(err, code, "unknown %s %g (%g..%g)", name, v, lo, hi);
  const char *open = !strcmp(kind, "F32P") ? "(" : "";
  const char *aut = !strcmp(kind, "F32A") ? ", or -1 (automatic)" : "";
  if (hi >= FLT_MAX)
    return precis_error_set(err, code, "%s = %g must be finite and >= %g", name, v, lo);
  return precis_error_set(err, code, "%s = %g outside %s%g..%g%s", name, v, open, lo, hi, aut);
}

#define PARAM_CHECK(s, name, KIND, lo, hi)                                                  \
  if (!precis_param_ok_##KIND((s)->name, lo, hi))                                           \
    return bad(err, PRECIS_PARAM_BAD_##KIND, #name, #KIND, (double)(s)->name, (double)(lo), \
               (double)(hi));
#define RETRIEVE_CHECK(name, KIND, d, lo, hi, field, flag, doc) PARAM_CHECK(p, name, KIND, lo, hi)
#define SEARCH_CHECK(name, KIND, d, lo, hi, field, flag, doc)   PARAM_CHECK(&v, name, KIND, lo, hi)
#define SEARCH_COPY(name, KIND, d, lo, hi, field, flag, doc)    v.name = sp->name;

int engine_retrieve_params_check(const engine_retrieve_params *p, precis_error *err) {
  PRECIS_RETRIEVE_PARAM_MAP(RETRIEVE_CHECK)
  if (p->anchors != PRECIS_ANCHORS_AUTO && p->anchors != floorf(p->anchors))
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "anchors %g is not a whole number",
                            (double)p->anchors);
  for (size_t i = 0; i < p->n_link_kinds; i++) {
    int rc = graph_check_kind(p->link_kinds[i], err);
    if (rc) return rc;
  }
  if (p->group_by && *p->group_by) {
    int rc = filter_check_key(p->group_by, "group_by path", err);
    if (rc) return rc;
  }
  return PRECIS_OK;
}

int engine_search_params_check(uint32_t k, const engine_search_params *sp, precis_error *err) {
  struct {
    PRECIS_SEARCH_PARAM_MAP(PRECIS_PARAM_MEMBER)
  } v;
  memset(&v, 0, sizeof v);
  v.k = k;
  if (sp) {
    PRECIS_SEARCH_OPTS_MAP(SEARCH_COPY)
  }
  PRECIS_SEARCH_PARAM_MAP(SEARCH_CHECK)
  return PRECIS_OK;
}
