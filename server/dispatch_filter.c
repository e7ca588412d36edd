/* dispatch_filter.c: the wire Filter (flat list of groups, see
 * proto/precis.proto) mapped onto engine_filter_group / engine_filter_cond
 * and compiled; the arrays built here are borrowed by the compiler, which
 * copies what it keeps. */
#include <stdlib.h>
#include <string.h>

#include "precis/limits.h"
#include "srv_filter.h"

static int map_cond(const Precis__V1__FilterCondition *in, engine_filter_cond *c,
                    precis_error *err) {
  memset(c, 0, sizeof *c);
  c->key = in->key;
  switch (in->test_case) {
    case PRECIS__V1__FILTER_CONDITION__TEST_MATCH: {
      const Precis__V1__FilterValue *v = in->match;
      c->kind = ENGINE_FILTER_MATCH;
      switch (v->value_case) {
        case PRECIS__V1__FILTER_VALUE__VALUE_KEYWORD:
          c->vtype = ENGINE_FVAL_KEYWORD, c->keyword = v->keyword;
          break;
        case PRECIS__V1__FILTER_VALUE__VALUE_INTEGER:
          c->vtype = ENGINE_FVAL_INTEGER, c->integer = v->integer;
          break;
        case PRECIS__V1__FILTER_VALUE__VALUE_BOOLEAN:
          c->vtype = ENGINE_FVAL_BOOL, c->flag = v->boolean;
          break;
        default:
          return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "filter match without a value");
      }
      return PRECIS_OK;
    }
    case PRECIS__V1__FILTER_CONDITION__TEST_ANY:
    case PRECIS__V1__FILTER_CONDITION__TEST_NONE: {
      bool any = in->test_case == PRECIS__V1__FILTER_CONDITION__TEST_ANY;
      const Precis__V1__FilterValues *v = any ? in->any : in->none;
      c->kind = any ? ENGINE_FILTER_ANY : ENGINE_FILTER_NONE;
      c->keywords = (const char *const *)v->keywords;
      c->n_keywords = v->n_keywords;
      c->integers = v->integers;
      c->n_integers = v->n_integers;
      return PRECIS_OK;
    }
    case PRECIS__V1__FILTER_CONDITION__TEST_RANGE: {
      const Precis__V1__FilterRange *r = in->range;
      c->kind = ENGINE_FILTER_RANGE;
      c->has_gt = r->gt_opt_case == PRECIS__V1__FILTER_RANGE__GT_OPT_GT, c->gt = r->gt;
      c->has_gte = r->gte_opt_case == PRECIS__V1__FILTER_RANGE__GTE_OPT_GTE, c->gte = r->gte;
      c->has_lt = r->lt_opt_case == PRECIS__V1__FILTER_RANGE__LT_OPT_LT, c->lt = r->lt;
      c->has_lte = r->lte_opt_case == PRECIS__V1__FILTER_RANGE__LTE_OPT_LTE, c->lte = r->lte;
      return PRECIS_OK;
    }
    case PRECIS__V1__FILTER_CONDITION__TEST_DATE_RANGE: {
      const Precis__V1__FilterDateRange *r = in->date_range;
      c->kind = ENGINE_FILTER_DATE_RANGE;
      c->dt_gt = r->gt && r->gt[0] ? r->gt : NULL;
      c->dt_gte = r->gte && r->gte[0] ? r->gte : NULL;
      c->dt_lt = r->lt && r->lt[0] ? r->lt : NULL;
      c->dt_lte = r->lte && r->lte[0] ? r->lte : NULL;
      return PRECIS_OK;
    }
    case PRECIS__V1__FILTER_CONDITION__TEST_EXISTS:
      c->kind = ENGINE_FILTER_EXISTS, c->flag = in->exists;
      return PRECIS_OK;
    case PRECIS__V1__FILTER_CONDITION__TEST_IS_NULL:
      c->kind = ENGINE_FILTER_IS_NULL, c->flag = in->is_null;
      return PRECIS_OK;
    case PRECIS__V1__FILTER_CONDITION__TEST_HAS_ID:
      c->kind = ENGINE_FILTER_HAS_ID, c->ids = in->has_id->ids, c->n_ids = in->has_id->n_ids;
      return PRECIS_OK;
    case PRECIS__V1__FILTER_CONDITION__TEST_GROUP:
      c->kind = ENGINE_FILTER_GROUP, c->group = in->group;
      return PRECIS_OK;
    default:
      return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "filter condition without a test");
  }
}

static int map_list(Precis__V1__FilterCondition *const *in, size_t n, engine_filter_cond *out,
                    precis_error *err) {
  for (size_t i = 0; i < n; i++) {
    int rc = map_cond(in[i], &out[i], err);
    if (rc) return rc;
  }
  return PRECIS_OK;
}

int srv_filter_compile(const Precis__V1__Filter *pb, engine_filter **out, precis_error *err) {
  *out = NULL;
  if (!pb || pb->n_groups == 0) return PRECIS_OK;
  if (pb->n_groups > PRECIS_MAX_FILTER_GROUPS)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "filter of %zu groups (limit %d)",
                            pb->n_groups, PRECIS_MAX_FILTER_GROUPS);
  size_t nc = 0;
  for (size_t i = 0; i < pb->n_groups; i++) {
    const Precis__V1__FilterGroup *g = pb->groups[i];
    nc += g->n_must + g->n_should + g->n_must_not; /* each <= frame size: no overflow */
  }
  if (nc > PRECIS_MAX_FILTER_CONDITIONS)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "filter of %zu conditions (limit %d)", nc,
                            PRECIS_MAX_FILTER_CONDITIONS);
  engine_filter_group *groups = calloc(pb->n_groups, sizeof *groups);
  engine_filter_cond *conds = calloc(nc ? nc : 1, sizeof *conds);
  int rc = PRECIS_OK;
  if (!groups || !conds) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "filter");
    goto out;
  }
  engine_filter_cond *at = conds;
  for (size_t i = 0; i < pb->n_groups && !rc; i++) {
    const Precis__V1__FilterGroup *g = pb->groups[i];
    engine_filter_group *eg = &groups[i];
    eg->must = at, eg->n_must = g->n_must;
    if ((rc = map_list(g->must, g->n_must, at, err))) break;
    at += g->n_must;
    eg->should = at, eg->n_should = g->n_should;
    if ((rc = map_list(g->should, g->n_should, at, err))) break;
    at += g->n_should;
    eg->must_not = at, eg->n_must_not = g->n_must_not;
    if ((rc = map_list(g->must_not, g->n_must_not, at, err))) break;
    at += g->n_must_not;
  }
  if (!rc) rc = engine_filter_compile(groups, pb->n_groups, out, err);
out:
  free(groups);
  free(conds);
  return rc;
}

_Static_assert((int)PRECIS__V1__FILTER_PLAN__FILTER_PLAN_SCAN == ENGINE_FPLAN_SCAN &&
                   (int)PRECIS__V1__FILTER_PLAN__FILTER_PLAN_ANN == ENGINE_FPLAN_ANN &&
                   (int)PRECIS__V1__FILTER_PLAN__FILTER_PLAN_NONE == ENGINE_FPLAN_NONE,
               "wire FilterPlan and engine_filter_plan share their numbers");

void srv_filter_report(const engine_filter_report *in, Precis__V1__FilterReport *out) {
  precis__v1__filter_report__init(out);
  out->plan = (Precis__V1__FilterPlan)in->plan;
  out->estimate = in->estimate;
  out->checked = in->checked;
  out->ef_search = in->ef_search;
  out->unindexed = in->unindexed;
}
