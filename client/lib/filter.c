/*
 * filter.c: the JSON form of a filter (precis.h, "Filters") parsed with
 * jansson into the wire Filter: nested groups become the flat list of
 * FilterGroup, a nested group appended after the group that names it. All
 * wire structs are malloc'd, so protobuf-c's free_unpacked releases them.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

struct precis_filter {
  Precis__V1__Filter *pb;
};

typedef struct {
  Precis__V1__Filter *pb;
  precis_error *err;
} parser;

__attribute__((format(printf, 3, 4))) static int bad(parser *P, int code, const char *fmt, ...) {
  char msg[PRECIS_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return precis_error_set(P->err, code, "filter: %s", msg);
}

#define NOMEM(P) bad((P), PRECIS_E_NO_MEMORY, "out of memory")

static char *dup_str(const char *s) {
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

static int parse_group(parser *P, const json_t *obj, size_t gi, int depth);

/* Appends a new empty group; *gi its index. */
static int add_group(parser *P, size_t *gi) {
  Precis__V1__Filter *pb = P->pb;
  if (pb->n_groups >= PRECIS_MAX_FILTER_GROUPS)
    return bad(P, PRECIS_E_OUT_OF_RANGE, "more than %d groups", PRECIS_MAX_FILTER_GROUPS);
  Precis__V1__FilterGroup **g = realloc(pb->groups, (pb->n_groups + 1) * sizeof *g);
  if (!g) return NOMEM(P);
  pb->groups = g;
  if (!(g[pb->n_groups] = malloc(sizeof **g))) return NOMEM(P);
  precis__v1__filter_group__init(g[pb->n_groups]);
  *gi = pb->n_groups++;
  return PRECIS_OK;
}

static bool is_group(const json_t *o) {
  return !json_object_get(o, "key") && !json_object_get(o, "has_id") &&
         (json_object_get(o, "must") || json_object_get(o, "should") ||
          json_object_get(o, "must_not"));
}

static int parse_values(parser *P, const json_t *arr, const char *key,
                        Precis__V1__FilterValues **out) {
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": any/none takes a non-empty array", key);
  Precis__V1__FilterValues *v = malloc(sizeof *v);
  if (!v) return NOMEM(P);
  precis__v1__filter_values__init(v);
  *out = v;
  size_t n = json_array_size(arr);
  if (n > PRECIS_MAX_FILTER_VALUES)
    return bad(P, PRECIS_E_OUT_OF_RANGE, "\"%s\": more than %d values", key,
               PRECIS_MAX_FILTER_VALUES);
  v->keywords = calloc(n, sizeof *v->keywords);
  v->integers = calloc(n, sizeof *v->integers);
  if (!v->keywords || !v->integers) return NOMEM(P);
  size_t i;
  const json_t *e;
  json_array_foreach(arr, i, e) {
    if (json_is_string(e)) {
      if (!(v->keywords[v->n_keywords] = dup_str(json_string_value(e)))) return NOMEM(P);
      v->n_keywords++;
    } else if (json_is_integer(e)) {
      v->integers[v->n_integers++] = json_integer_value(e);
    } else {
      return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": values are strings or integers", key);
    }
  }
  return PRECIS_OK;
}

static int parse_range(parser *P, const json_t *o, const char *key, Precis__V1__FilterCondition *c,
                       bool dates) {
  if (!json_is_object(o) || json_object_size(o) == 0)
    return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": a range is an object of gt/gte/lt/lte", key);
  Precis__V1__FilterRange *r = NULL;
  Precis__V1__FilterDateRange *d = NULL;
  if (dates) {
    if (!(d = malloc(sizeof *d))) return NOMEM(P);
    precis__v1__filter_date_range__init(d);
    c->test_case = PRECIS__V1__FILTER_CONDITION__TEST_DATE_RANGE, c->date_range = d;
  } else {
    if (!(r = malloc(sizeof *r))) return NOMEM(P);
    precis__v1__filter_range__init(r);
    c->test_case = PRECIS__V1__FILTER_CONDITION__TEST_RANGE, c->range = r;
  }
  const char *bk;
  const json_t *bv;
  json_object_foreach((json_t *)o, bk, bv) {
    int which = !strcmp(bk, "gt")    ? 0
                : !strcmp(bk, "gte") ? 1
                : !strcmp(bk, "lt")  ? 2
                : !strcmp(bk, "lte") ? 3
                                     : -1;
    if (which < 0)
      return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": unknown range bound \"%s\"", key, bk);
    if (dates) {
      if (!json_is_string(bv))
        return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": date_range bounds are RFC 3339 strings",
                   key);
      char *s = dup_str(json_string_value(bv));
      if (!s) return NOMEM(P);
      char **slot[4] = {&d->gt, &d->gte, &d->lt, &d->lte};
      *slot[which] = s;
      continue;
    }
    if (!json_is_number(bv))
      return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": range bounds are numbers", key);
    double x = json_number_value(bv);
    switch (which) {
      case 0:
        r->gt_opt_case = PRECIS__V1__FILTER_RANGE__GT_OPT_GT, r->gt = x;
        break;
      case 1:
        r->gte_opt_case = PRECIS__V1__FILTER_RANGE__GTE_OPT_GTE, r->gte = x;
        break;
      case 2:
        r->lt_opt_case = PRECIS__V1__FILTER_RANGE__LT_OPT_LT, r->lt = x;
        break;
      default:
        r->lte_opt_case = PRECIS__V1__FILTER_RANGE__LTE_OPT_LTE, r->lte = x;
        break;
    }
  }
  return PRECIS_OK;
}

static int parse_cond(parser *P, const json_t *o, Precis__V1__FilterCondition *c, int depth) {
  if (!json_is_object(o)) return bad(P, PRECIS_E_INVALID_ARGUMENT, "a condition is an object");
  if (is_group(o)) {
    if (depth + 1 > PRECIS_MAX_FILTER_DEPTH)
      return bad(P, PRECIS_E_OUT_OF_RANGE, "nested deeper than %d groups", PRECIS_MAX_FILTER_DEPTH);
    size_t gi;
    int rc = add_group(P, &gi);
    if (rc) return rc;
    c->test_case = PRECIS__V1__FILTER_CONDITION__TEST_GROUP;
    c->group = (uint32_t)gi;
    return parse_group(P, o, gi, depth + 1);
  }
  const json_t *ids = json_object_get(o, "has_id");
  if (ids) {
    if (json_object_size(o) != 1 || !json_is_array(ids))
      return bad(P, PRECIS_E_INVALID_ARGUMENT, "has_id takes an array of ids and nothing else");
    Precis__V1__FilterIds *h = malloc(sizeof *h);
    if (!h) return NOMEM(P);
    precis__v1__filter_ids__init(h);
    c->test_case = PRECIS__V1__FILTER_CONDITION__TEST_HAS_ID, c->has_id = h;
    size_t n = json_array_size(ids);
    if (n > PRECIS_MAX_FILTER_VALUES)
      return bad(P, PRECIS_E_OUT_OF_RANGE, "has_id of more than %d ids", PRECIS_MAX_FILTER_VALUES);
    if (!(h->ids = calloc(n ? n : 1, sizeof *h->ids))) return NOMEM(P);
    size_t i;
    const json_t *e;
    json_array_foreach(ids, i, e) {
      if (!json_is_integer(e) || json_integer_value(e) < 0)
        return bad(P, PRECIS_E_INVALID_ARGUMENT, "has_id: ids are non-negative integers");
      h->ids[h->n_ids++] = (uint64_t)json_integer_value(e);
    }
    return PRECIS_OK;
  }
  const json_t *key = json_object_get(o, "key");
  if (!json_is_string(key))
    return bad(P, PRECIS_E_INVALID_ARGUMENT, "a condition needs a \"key\" string");
  const char *k = json_string_value(key);
  if (json_object_size(o) != 2)
    return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": a condition has a key and exactly one test",
               k);
  if (!(c->key = dup_str(k))) return NOMEM(P);
  const char *t;
  const json_t *v;
  json_object_foreach((json_t *)o, t, v) {
    if (!strcmp(t, "key")) continue;
    if (!strcmp(t, "match")) {
      Precis__V1__FilterValue *m = malloc(sizeof *m);
      if (!m) return NOMEM(P);
      precis__v1__filter_value__init(m);
      c->test_case = PRECIS__V1__FILTER_CONDITION__TEST_MATCH, c->match = m;
      if (json_is_string(v)) {
        m->value_case = PRECIS__V1__FILTER_VALUE__VALUE_KEYWORD;
        if (!(m->keyword = dup_str(json_string_value(v)))) return NOMEM(P);
      } else if (json_is_integer(v)) {
        m->value_case = PRECIS__V1__FILTER_VALUE__VALUE_INTEGER, m->integer = json_integer_value(v);
      } else if (json_is_boolean(v)) {
        m->value_case = PRECIS__V1__FILTER_VALUE__VALUE_BOOLEAN, m->boolean = json_is_true(v);
      } else {
        return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": match takes a string, integer or bool",
                   k);
      }
      return PRECIS_OK;
    }
    if (!strcmp(t, "any") || !strcmp(t, "none")) {
      bool any = t[0] == 'a';
      c->test_case =
          any ? PRECIS__V1__FILTER_CONDITION__TEST_ANY : PRECIS__V1__FILTER_CONDITION__TEST_NONE;
      return parse_values(P, v, k, any ? &c->any : &c->none);
    }
    if (!strcmp(t, "range")) return parse_range(P, v, k, c, false);
    if (!strcmp(t, "date_range")) return parse_range(P, v, k, c, true);
    if (!strcmp(t, "exists") || !strcmp(t, "is_null")) {
      if (!json_is_boolean(v))
        return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": %s takes true or false", k, t);
      if (t[0] == 'e')
        c->test_case = PRECIS__V1__FILTER_CONDITION__TEST_EXISTS, c->exists = json_is_true(v);
      else
        c->test_case = PRECIS__V1__FILTER_CONDITION__TEST_IS_NULL, c->is_null = json_is_true(v);
      return PRECIS_OK;
    }
    return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": unknown test \"%s\"", k, t);
  }
  return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\": no test", k);
}

static int parse_list(parser *P, const json_t *arr, const char *name, size_t gi,
                      Precis__V1__FilterCondition ***out, size_t *n, int depth) {
  if (!json_is_array(arr))
    return bad(P, PRECIS_E_INVALID_ARGUMENT, "\"%s\" is an array of conditions", name);
  size_t m = json_array_size(arr);
  if (m > PRECIS_MAX_FILTER_CONDITIONS)
    return bad(P, PRECIS_E_OUT_OF_RANGE, "\"%s\" of more than %d conditions", name,
               PRECIS_MAX_FILTER_CONDITIONS);
  /* the group's arrays are set before recursing: nested groups realloc
   * P->pb->groups, never the group structs themselves */
  Precis__V1__FilterCondition **cs = calloc(m ? m : 1, sizeof *cs);
  if (!cs) return NOMEM(P);
  *out = cs;
  (void)gi;
  for (size_t i = 0; i < m; i++) {
    if (!(cs[i] = malloc(sizeof *cs[i]))) return NOMEM(P);
    precis__v1__filter_condition__init(cs[i]);
    *n = i + 1;
    int rc = parse_cond(P, json_array_get(arr, i), cs[i], depth);
    if (rc) return rc;
  }
  return PRECIS_OK;
}

static int parse_group(parser *P, const json_t *obj, size_t gi, int depth) {
  if (!json_is_object(obj)) return bad(P, PRECIS_E_INVALID_ARGUMENT, "a filter is a JSON object");
  const char *name;
  const json_t *v;
  json_object_foreach((json_t *)obj, name, v) {
    Precis__V1__FilterGroup *g = P->pb->groups[gi];
    int rc;
    if (!strcmp(name, "must"))
      rc = parse_list(P, v, name, gi, &g->must, &g->n_must, depth);
    else if (!strcmp(name, "should"))
      rc = parse_list(P, v, name, gi, &g->should, &g->n_should, depth);
    else if (!strcmp(name, "must_not"))
      rc = parse_list(P, v, name, gi, &g->must_not, &g->n_must_not, depth);
    else
      rc = bad(P, PRECIS_E_INVALID_ARGUMENT, "unknown field \"%s\" (must, should, must_not)", name);
    if (rc) return rc;
  }
  return PRECIS_OK;
}

int precis_filter_parse(const char *json, precis_filter **out, precis_error *err) {
  if (!json || !out)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "filter: NULL argument");
  *out = NULL;
  json_error_t je;
  json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "filter: %s (line %d, column %d)",
                            je.text, je.line, je.column);
  parser P = {malloc(sizeof *P.pb), err};
  precis_filter *f = calloc(1, sizeof *f);
  int rc = PRECIS_OK;
  size_t gi;
  if (!P.pb || !f) {
    rc = NOMEM(&P);
  } else {
    precis__v1__filter__init(P.pb);
    if (!(rc = add_group(&P, &gi))) rc = parse_group(&P, root, gi, 1);
  }
  json_decref(root);
  if (rc) {
    if (P.pb) precis__v1__filter__free_unpacked(P.pb, NULL);
    free(f);
    return rc;
  }
  f->pb = P.pb;
  *out = f;
  return PRECIS_OK;
}

void precis_filter_free(precis_filter *f) {
  if (!f) return;
  precis__v1__filter__free_unpacked(f->pb, NULL);
  free(f);
}

Precis__V1__Filter *precis__filter_pb(const precis_filter *f) { return f ? f->pb : NULL; }

void precis__filter_report(const Precis__V1__FilterReport *in, precis_filter_report *out) {
  memset(out, 0, sizeof *out);
  if (!in) return;
  out->plan = (precis_filter_plan)in->plan;
  out->estimate = in->estimate;
  out->checked = in->checked;
  out->ef_search = in->ef_search;
  out->unindexed = in->unindexed ? 1 : 0;
}
