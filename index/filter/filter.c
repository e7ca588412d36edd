/* filter.c: compiling and evaluating metadata filters (see engine.h,
 * "filters", for the semantics and filter.h for the internal API). */
#include "filter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  engine_filter_kind kind;
  char *key;  /* as given */
  char **seg; /* dotted path split at '.', NUL-terminated parts */
  uint32_t nseg;
  char *segbuf; /* storage of the parts */
  engine_filter_value_type vtype;
  char *keyword;
  int64_t integer;
  bool flag;
  char **keywords; /* sorted (strcmp) */
  size_t n_keywords;
  int64_t *integers; /* sorted */
  size_t n_integers;
  bool has_gt, has_gte, has_lt, has_lte;
  double gt, gte, lt, lte;
  int64_t dgt, dgte, dlt, dlte; /* DATE_RANGE bounds, microseconds */
  uint64_t *ids;                /* sorted */
  size_t n_ids;
  uint32_t group;
} fcond;

typedef struct {
  fcond *must, *should, *must_not;
  size_t n_must, n_should, n_must_not;
} fgroup;

struct engine_filter {
  fgroup *g;
  size_t ng;
  bool needs_meta;
};

/* ---- RFC 3339 ---- */
static bool digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dm[m - 1];
}

bool filter_parse_datetime(const char *s, size_t len, int64_t *us) {
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
      !digits(s + 8, 2, &d))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return false;
  int64_t frac_us = 0, off_s = 0;
  size_t i = 10;
  if (len > 10) {
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 20 || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
      return false;
    if (h > 23 || mi > 59 || se > 60) return false; /* 60: leap second */
    i = 19;
    if (i < len && s[i] == '.') {
      size_t nd = 0;
      int64_t scale = 100000;
      for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
        frac_us += (s[i] - '0') * scale;
        scale /= 10;
      }
      if (nd == 0) return false;
    }
    if (i >= len) return false; /* RFC 3339 requires an offset */
    if (s[i] == 'Z' || s[i] == 'z') {
      i++;
    } else if (s[i] == '+' || s[i] == '-') {
      int oh, om;
      if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
          !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
        return false;
      off_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
      i += 6;
    } else {
      return false;
    }
    if (i != len) return false;
  }
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_s;
  *us = secs * 1000000 + frac_us;
  return true;
}

/* ---- compile ---- */
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}
static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void cond_free(fcond *c) {
  free(c->key);
  free(c->seg);
  free(c->segbuf);
  free(c->keyword);
  for (size_t i = 0; i < c->n_keywords; i++) free(c->keywords[i]);
  free(c->keywords);
  free(c->integers);
  free(c->ids);
}

void engine_filter_destroy(engine_filter *f) {
  if (!f) return;
  for (size_t i = 0; i < f->ng; i++) {
    fgroup *g = &f->g[i];
    for (size_t j = 0; j < g->n_must; j++) cond_free(&g->must[j]);
    for (size_t j = 0; j < g->n_should; j++) cond_free(&g->should[j]);
    for (size_t j = 0; j < g->n_must_not; j++) cond_free(&g->must_not[j]);
    free(g->must);
    free(g->should);
    free(g->must_not);
  }
  free(f->g);
  free(f);
}

static bool has_key(engine_filter_kind k) {
  return k != ENGINE_FILTER_HAS_ID && k != ENGINE_FILTER_GROUP;
}

#define NOMEM() precis_error_set(err, PRECIS_E_NO_MEMORY, "filter")

static int split_key(fcond *c, const char *key, const char *what, precis_error *err);

int filter_check_key(const char *key, const char *what, precis_error *err) {
  fcond c = {0};
  int rc = split_key(&c, key, what, err);
  cond_free(&c);
  return rc;
}

static int split_key(fcond *c, const char *key, const char *what, precis_error *err) {
  size_t len = key ? strnlen(key, PRECIS_MAX_FILTER_KEY_LEN + 1) : 0;
  if (len == 0) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "%s is empty", what);
  if (len > PRECIS_MAX_FILTER_KEY_LEN)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "%s longer than %d bytes", what,
                            PRECIS_MAX_FILTER_KEY_LEN);
  c->segbuf = malloc(len + 1);
  c->key = malloc(len + 1);
  c->seg = malloc(PRECIS_MAX_FILTER_KEY_PARTS * sizeof *c->seg);
  if (!c->segbuf || !c->seg || !c->key) return NOMEM();
  memcpy(c->segbuf, key, len + 1);
  memcpy(c->key, key, len + 1);
  char *p = c->segbuf;
  for (;;) {
    char *dot = strchr(p, '.');
    if (dot) *dot = 0;
    if (!*p)
      return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "%s \"%s\" has an empty part", what,
                              key);
    if (c->nseg == PRECIS_MAX_FILTER_KEY_PARTS)
      return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "%s \"%s\" has more than %d parts", what,
                              key, PRECIS_MAX_FILTER_KEY_PARTS);
    c->seg[c->nseg++] = p;
    if (!dot) break;
    p = dot + 1;
  }
  return PRECIS_OK;
}

static int copy_keyword(const char *s, char **out, precis_error *err) {
  if (!s) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "filter keyword missing");
  size_t n = strnlen(s, PRECIS_MAX_FILTER_KEYWORD_LEN + 1);
  if (n > PRECIS_MAX_FILTER_KEYWORD_LEN)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "filter keyword longer than %d bytes",
                            PRECIS_MAX_FILTER_KEYWORD_LEN);
  *out = malloc(n + 1);
  if (!*out) return NOMEM();
  memcpy(*out, s, n + 1);
  return PRECIS_OK;
}

static int date_bound(const char *s, const char *name, bool *has, int64_t *v, precis_error *err) {
  *has = s != NULL;
  if (!s) return PRECIS_OK;
  size_t n = strnlen(s, 64);
  if (!filter_parse_datetime(s, n, v))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "date-time range %s \"%.64s\" is not RFC 3339", name, s);
  return PRECIS_OK;
}

static int compile_cond(fcond *c, const engine_filter_cond *in, size_t *values, precis_error *err) {
  c->kind = in->kind;
  if (in->kind < ENGINE_FILTER_MATCH || in->kind > ENGINE_FILTER_GROUP)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "unknown filter condition %d",
                            (int)in->kind);
  int rc;
  if (has_key(in->kind) && (rc = split_key(c, in->key, "filter key", err))) return rc;
  c->flag = in->flag;
  switch (in->kind) {
    case ENGINE_FILTER_MATCH:
      c->vtype = in->vtype;
      c->integer = in->integer;
      if (in->vtype == ENGINE_FVAL_KEYWORD) return copy_keyword(in->keyword, &c->keyword, err);
      if (in->vtype != ENGINE_FVAL_INTEGER && in->vtype != ENGINE_FVAL_BOOL)
        return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "unknown match value type %d",
                                (int)in->vtype);
      return PRECIS_OK;
    case ENGINE_FILTER_ANY:
    case ENGINE_FILTER_NONE:
      if (in->n_keywords + in->n_integers == 0)
        return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "any-of/none-of without values");
      *values += in->n_keywords + in->n_integers;
      if (*values > PRECIS_MAX_FILTER_VALUES) return PRECIS_E_OUT_OF_RANGE;
      if (in->n_keywords) {
        c->keywords = calloc(in->n_keywords, sizeof *c->keywords);
        if (!c->keywords) return NOMEM();
        for (size_t i = 0; i < in->n_keywords; i++, c->n_keywords++)
          if ((rc = copy_keyword(in->keywords[i], &c->keywords[i], err))) return rc;
        qsort(c->keywords, c->n_keywords, sizeof *c->keywords, cmp_str);
      }
      if (in->n_integers) {
        c->integers = malloc(in->n_integers * sizeof *c->integers);
        if (!c->integers) return NOMEM();
        memcpy(c->integers, in->integers, in->n_integers * sizeof *c->integers);
        c->n_integers = in->n_integers;
        qsort(c->integers, c->n_integers, sizeof *c->integers, cmp_i64);
      }
      return PRECIS_OK;
    case ENGINE_FILTER_RANGE:
      c->has_gt = in->has_gt, c->has_gte = in->has_gte, c->has_lt = in->has_lt,
      c->has_lte = in->has_lte;
      c->gt = in->gt, c->gte = in->gte, c->lt = in->lt, c->lte = in->lte;
      if (!c->has_gt && !c->has_gte && !c->has_lt && !c->has_lte)
        return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "range without bounds");
      if ((c->has_gt && isnan(c->gt)) || (c->has_gte && isnan(c->gte)) ||
          (c->has_lt && isnan(c->lt)) || (c->has_lte && isnan(c->lte)))
        return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "range bound is NaN");
      return PRECIS_OK;
    case ENGINE_FILTER_DATE_RANGE:
      if ((rc = date_bound(in->dt_gt, "gt", &c->has_gt, &c->dgt, err)) ||
          (rc = date_bound(in->dt_gte, "gte", &c->has_gte, &c->dgte, err)) ||
          (rc = date_bound(in->dt_lt, "lt", &c->has_lt, &c->dlt, err)) ||
          (rc = date_bound(in->dt_lte, "lte", &c->has_lte, &c->dlte, err)))
        return rc;
      if (!c->has_gt && !c->has_gte && !c->has_lt && !c->has_lte)
        return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "date-time range without bounds");
      return PRECIS_OK;
    case ENGINE_FILTER_HAS_ID:
      *values += in->n_ids;
      if (*values > PRECIS_MAX_FILTER_VALUES) return PRECIS_E_OUT_OF_RANGE;
      if (in->n_ids && !in->ids)
        return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "has_id without ids");
      c->ids = malloc((in->n_ids ? in->n_ids : 1) * sizeof *c->ids);
      if (!c->ids) return NOMEM();
      if (in->n_ids) memcpy(c->ids, in->ids, in->n_ids * sizeof *c->ids);
      c->n_ids = in->n_ids;
      qsort(c->ids, c->n_ids, sizeof *c->ids, cmp_u64);
      return PRECIS_OK;
    case ENGINE_FILTER_GROUP:
      c->group = in->group;
      return PRECIS_OK;
    default:
      return PRECIS_OK; /* EXISTS, IS_NULL: key and flag only */
  }
}

static int compile_list(fcond **out, size_t *nout, const engine_filter_cond *in, size_t n,
                        size_t *values, precis_error *err) {
  if (n && !in)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "filter group without its conditions");
  if (!n) return PRECIS_OK;
  *out = calloc(n, sizeof **out);
  if (!*out) return NOMEM();
  for (size_t i = 0; i < n; i++) {
    *nout = i + 1;
    int rc = compile_cond(&(*out)[i], &in[i], values, err);
    if (rc == PRECIS_E_OUT_OF_RANGE && values && *values > PRECIS_MAX_FILTER_VALUES)
      return precis_error_set(err, rc, "filter holds more than %d values",
                              PRECIS_MAX_FILTER_VALUES);
    if (rc) return rc;
  }
  return PRECIS_OK;
}

/* Tree shape: each group i > 0 is named by exactly one GROUP condition of an
 * earlier group, nesting at most PRECIS_MAX_FILTER_DEPTH deep. */
static int check_tree(const engine_filter *f, precis_error *err) {
  uint32_t *depth = calloc(f->ng, sizeof *depth);
  if (!depth) return NOMEM();
  depth[0] = 1;
  int rc = PRECIS_OK;
  for (size_t gi = 0; gi < f->ng && !rc; gi++) {
    const fgroup *g = &f->g[gi];
    if (depth[gi] == 0) {
      rc = precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "filter group %zu is not used by an earlier group", gi);
      break;
    }
    const fcond *lists[3] = {g->must, g->should, g->must_not};
    size_t ns[3] = {g->n_must, g->n_should, g->n_must_not};
    for (int l = 0; l < 3 && !rc; l++)
      for (size_t j = 0; j < ns[l] && !rc; j++) {
        if (lists[l][j].kind != ENGINE_FILTER_GROUP) continue;
        uint32_t t = lists[l][j].group;
        if (t <= gi || t >= f->ng)
          rc = precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                                "filter group %zu names group %u (must be a later one of %zu)", gi,
                                t, f->ng);
        else if (depth[t])
          rc = precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "filter group %u is used twice", t);
        else if (depth[gi] + 1 > PRECIS_MAX_FILTER_DEPTH)
          rc = precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "filter nests deeper than %d groups",
                                PRECIS_MAX_FILTER_DEPTH);
        else
          depth[t] = depth[gi] + 1;
      }
  }
  free(depth);
  return rc;
}

int engine_filter_compile(const engine_filter_group *groups, size_t n_groups, engine_filter **out,
                          precis_error *err) {
  *out = NULL;
  if (n_groups == 0 || !groups)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "filter without groups");
  if (n_groups > PRECIS_MAX_FILTER_GROUPS)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "filter of %zu groups (limit %d)", n_groups,
                            PRECIS_MAX_FILTER_GROUPS);
  size_t nc = 0;
  for (size_t i = 0; i < n_groups; i++) {
    const engine_filter_group *g = &groups[i];
    if (g->n_must > PRECIS_MAX_FILTER_CONDITIONS || g->n_should > PRECIS_MAX_FILTER_CONDITIONS ||
        g->n_must_not > PRECIS_MAX_FILTER_CONDITIONS)
      nc = SIZE_MAX;
    else
      nc += g->n_must + g->n_should + g->n_must_not;
    if (nc > PRECIS_MAX_FILTER_CONDITIONS)
      return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "filter of more than %d conditions",
                              PRECIS_MAX_FILTER_CONDITIONS);
  }
  engine_filter *f = calloc(1, sizeof *f);
  if (!f || !(f->g = calloc(n_groups, sizeof *f->g))) {
    free(f);
    return NOMEM();
  }
  f->ng = n_groups;
  size_t values = 0;
  int rc = PRECIS_OK;
  for (size_t i = 0; i < n_groups && !rc; i++) {
    fgroup *g = &f->g[i];
    const engine_filter_group *in = &groups[i];
    if ((rc = compile_list(&g->must, &g->n_must, in->must, in->n_must, &values, err)) ||
        (rc = compile_list(&g->should, &g->n_should, in->should, in->n_should, &values, err)))
      break;
    rc = compile_list(&g->must_not, &g->n_must_not, in->must_not, in->n_must_not, &values, err);
  }
  if (!rc) rc = check_tree(f, err);
  if (rc) {
    engine_filter_destroy(f);
    return rc;
  }
  for (size_t i = 0; i < f->ng; i++) {
    const fgroup *g = &f->g[i];
    for (size_t j = 0; j < g->n_must; j++) f->needs_meta |= has_key(g->must[j].kind);
    for (size_t j = 0; j < g->n_should; j++) f->needs_meta |= has_key(g->should[j].kind);
    for (size_t j = 0; j < g->n_must_not; j++) f->needs_meta |= has_key(g->must_not[j].kind);
  }
  *out = f;
  return PRECIS_OK;
}

bool filter_needs_meta(const engine_filter *f) { return f->needs_meta; }

size_t filter_terms(const engine_filter *f, filter_term *out, size_t cap, bool *only) {
  const fgroup *g = &f->g[0];
  size_t n = 0;
  bool all = g->n_should == 0 && g->n_must_not == 0;
  for (size_t i = 0; i < g->n_must; i++) {
    const fcond *c = &g->must[i];
    if (c->kind != ENGINE_FILTER_MATCH && c->kind != ENGINE_FILTER_ANY &&
        c->kind != ENGINE_FILTER_RANGE && c->kind != ENGINE_FILTER_DATE_RANGE) {
      all = false;
      continue;
    }
    if (n < cap) {
      filter_term *t = &out[n];
      memset(t, 0, sizeof *t);
      t->kind = c->kind, t->key = c->key, t->vtype = c->vtype;
      t->keyword = c->keyword, t->integer = c->integer, t->flag = c->flag;
      t->keywords = (const char *const *)c->keywords, t->n_keywords = c->n_keywords;
      t->integers = c->integers, t->n_integers = c->n_integers;
      t->has_gt = c->has_gt, t->has_gte = c->has_gte, t->has_lt = c->has_lt,
      t->has_lte = c->has_lte;
      t->gt = c->gt, t->gte = c->gte, t->lt = c->lt, t->lte = c->lte;
      t->dgt = c->dgt, t->dgte = c->dgte, t->dlt = c->dlt, t->dlte = c->dlte;
    }
    n++;
  }
  if (only) *only = all && n <= cap;
  return n;
}

/* ---- evaluation ---- */
const json_t *filter_path_get(const json_t *meta, const char *key) {
  char part[PRECIS_MAX_FILTER_KEY_LEN + 1];
  const json_t *v = meta;
  while (v && *key) {
    const char *dot = strchr(key, '.');
    size_t n = dot ? (size_t)(dot - key) : strlen(key);
    if (n > PRECIS_MAX_FILTER_KEY_LEN) return NULL;
    memcpy(part, key, n);
    part[n] = 0;
    v = json_is_object(v) ? json_object_get(v, part) : NULL;
    key += n + (dot != NULL);
  }
  return v;
}

static const json_t *lookup(const json_t *meta, const fcond *c) {
  const json_t *v = meta;
  for (uint32_t i = 0; i < c->nseg && v; i++)
    v = json_is_object(v) ? json_object_get(v, c->seg[i]) : NULL;
  return v;
}

/* The value is a whole number equal to x. */
static bool num_is(const json_t *v, int64_t x) {
  if (json_is_integer(v)) return json_integer_value(v) == x;
  return json_is_real(v) && json_real_value(v) == (double)x;
}

static bool in_set(const json_t *v, const fcond *c) {
  if (json_is_string(v) && c->n_keywords) {
    const char *s = json_string_value(v);
    return bsearch(&s, c->keywords, c->n_keywords, sizeof *c->keywords, cmp_str) != NULL;
  }
  if (json_is_number(v) && c->n_integers) {
    double d = json_number_value(v);
    int64_t x = json_is_integer(v) ? json_integer_value(v) : (int64_t)d;
    if (!json_is_integer(v) && (d != floor(d) || fabs(d) > 9.0e18)) return false;
    return bsearch(&x, c->integers, c->n_integers, sizeof x, cmp_i64) != NULL;
  }
  return false;
}

static bool scalar_pass(const json_t *v, const fcond *c) {
  switch (c->kind) {
    case ENGINE_FILTER_MATCH:
      if (c->vtype == ENGINE_FVAL_KEYWORD)
        return json_is_string(v) && !strcmp(json_string_value(v), c->keyword);
      if (c->vtype == ENGINE_FVAL_INTEGER) return num_is(v, c->integer);
      return json_is_boolean(v) && json_is_true(v) == c->flag;
    case ENGINE_FILTER_ANY:
    case ENGINE_FILTER_NONE:
      return in_set(v, c);
    case ENGINE_FILTER_RANGE: {
      if (!json_is_number(v)) return false;
      double x = json_number_value(v);
      return (!c->has_gt || x > c->gt) && (!c->has_gte || x >= c->gte) &&
             (!c->has_lt || x < c->lt) && (!c->has_lte || x <= c->lte);
    }
    case ENGINE_FILTER_DATE_RANGE: {
      int64_t t;
      if (!json_is_string(v) ||
          !filter_parse_datetime(json_string_value(v), json_string_length(v), &t))
        return false;
      return (!c->has_gt || t > c->dgt) && (!c->has_gte || t >= c->dgte) &&
             (!c->has_lt || t < c->dlt) && (!c->has_lte || t <= c->dlte);
    }
    default:
      return false;
  }
}

static bool eval_group(const engine_filter *f, size_t gi, uint64_t id, const json_t *meta);

static bool cond_pass(const engine_filter *f, const fcond *c, uint64_t id, const json_t *meta) {
  if (c->kind == ENGINE_FILTER_GROUP) return eval_group(f, c->group, id, meta);
  if (c->kind == ENGINE_FILTER_HAS_ID)
    return bsearch(&id, c->ids, c->n_ids, sizeof id, cmp_u64) != NULL;
  const json_t *v = lookup(meta, c);
  if (c->kind == ENGINE_FILTER_EXISTS) return (v && !json_is_null(v)) == c->flag;
  if (c->kind == ENGINE_FILTER_IS_NULL) return (v && json_is_null(v)) == c->flag;
  bool hit = false;
  if (v && json_is_array(v)) {
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) if ((hit = scalar_pass(e, c))) break;
  } else if (v) {
    hit = scalar_pass(v, c);
  }
  return c->kind == ENGINE_FILTER_NONE ? !hit : hit;
}

static bool eval_group(const engine_filter *f, size_t gi, uint64_t id, const json_t *meta) {
  const fgroup *g = &f->g[gi];
  for (size_t i = 0; i < g->n_must; i++)
    if (!cond_pass(f, &g->must[i], id, meta)) return false;
  for (size_t i = 0; i < g->n_must_not; i++)
    if (cond_pass(f, &g->must_not[i], id, meta)) return false;
  if (!g->n_should) return true;
  for (size_t i = 0; i < g->n_should; i++)
    if (cond_pass(f, &g->should[i], id, meta)) return true;
  return false;
}

bool filter_eval(const engine_filter *f, uint64_t id, const json_t *meta) {
  return eval_group(f, 0, id, meta);
}
