/* filtergen.c: see filtergen.h. */
#include "filtergen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

static const char *CATS[10] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
static const char *TAGS[8] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"};
static const char *NESTED[4] = {"x0", "x1", "x2", "x3"};
#define TS_BASE 1704067200LL /* 2024-01-01T00:00:00Z */

void fg_attrs_of(uint64_t seed, size_t i, fg_attrs *a) {
  uint64_t r = seed * 0x9E3779B97F4A7C15ULL + i * 0xD1B54A32D192ED03ULL + 1;
  tu_rand(&r);
  /* skewed categories: c0 is frequent, c9 rare */
  uint64_t x = tu_rand(&r) % 1000;
  a->cat = x < 400   ? 0
           : x < 600 ? 1
           : x < 750 ? 2
           : x < 850 ? 3
           : x < 920 ? 4
           : x < 960 ? 5
           : x < 980 ? 6
           : x < 990 ? 7
           : x < 998 ? 8
                     : 9;
  a->n = (int)(tu_rand(&r) % 1000);
  a->f = (float)(tu_rand(&r) % 100000) / 100000.0f;
  a->flag = tu_rand(&r) & 1;
  a->tags_mask = 0;
  int nt = (int)(tu_rand(&r) % 4);
  for (int t = 0; t < nt; t++) a->tags_mask |= 1 << (tu_rand(&r) % 8);
  a->ts = TS_BASE + (int64_t)(tu_rand(&r) % (366 * 24)) * 3600;
  a->opt = (int)(tu_rand(&r) % 3);
  a->nested = (int)(tu_rand(&r) % 4);
}

static void fmt_ts(int64_t t, int offset_h, char *buf, size_t cap) {
  time_t tt = (time_t)(t + offset_h * 3600);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  if (offset_h == 0)
    snprintf(buf, cap, "%sZ", base);
  else
    snprintf(buf, cap, "%s%c%02d:00", base, offset_h < 0 ? '-' : '+', abs(offset_h));
}

size_t fg_meta_json(const fg_attrs *a, char *buf, size_t cap) {
  char tags[64] = "", ts[48];
  size_t tl = 0;
  for (int t = 0; t < 8; t++)
    if (a->tags_mask & (1 << t))
      tl += (size_t)snprintf(tags + tl, sizeof tags - tl, "%s\"%s\"", tl ? "," : "", TAGS[t]);
  fmt_ts(a->ts, 0, ts, sizeof ts);
  const char *opt = a->opt == 0 ? "" : a->opt == 1 ? ",\"opt\":null" : ",\"opt\":1";
  int n = snprintf(buf, cap,
                   "{\"cat\":\"%s\",\"n\":%d,\"f\":%.5f,\"flag\":%s,\"tags\":[%s],"
                   "\"ts\":\"%s\"%s,\"nested\":{\"a\":\"%s\"}}",
                   CATS[a->cat], a->n, (double)a->f, a->flag ? "true" : "false", tags, ts, opt,
                   NESTED[a->nested]);
  return (size_t)n;
}

/* ---- random filters ---- */
static uint64_t rnd(uint64_t *r, uint64_t n) { return tu_rand(r) % n; }

static void random_cond(fg_filter *F, uint64_t *r, engine_filter_cond *c, fg_cond_store *s,
                        int depth);

static size_t new_group(fg_filter *F, uint64_t *r, int depth) {
  size_t gi = F->ng++;
  fg_group_store *gs = &F->gs[gi];
  engine_filter_group *g = &F->g[gi];
  size_t n[3] = {1 + rnd(r, 2), rnd(r, 3), rnd(r, 2)};
  if (rnd(r, 4) == 0) n[0] = 0; /* sometimes should-only */
  if (n[0] + n[1] == 0) n[1] = 2;
  for (int l = 0; l < 3; l++)
    for (size_t j = 0; j < n[l]; j++) random_cond(F, r, &gs->c[l][j], &gs->s[l][j], depth);
  g->must = gs->c[0], g->n_must = n[0];
  g->should = gs->c[1], g->n_should = n[1];
  g->must_not = gs->c[2], g->n_must_not = n[2];
  return gi;
}

static void random_cond(fg_filter *F, uint64_t *r, engine_filter_cond *c, fg_cond_store *s,
                        int depth) {
  memset(c, 0, sizeof *c);
  int kind = (int)rnd(r, 15);
  if (kind == 14 && (depth >= 3 || F->ng + 1 >= FG_MAX_GROUPS)) kind = 0;
  switch (kind) {
    case 0:
    case 1: /* match keyword on cat (skewed) */
      c->kind = ENGINE_FILTER_MATCH, c->key = "cat", c->vtype = ENGINE_FVAL_KEYWORD;
      c->keyword = CATS[rnd(r, 10)];
      break;
    case 2: /* match integer */
      c->kind = ENGINE_FILTER_MATCH, c->key = "n", c->vtype = ENGINE_FVAL_INTEGER;
      c->integer = (int64_t)rnd(r, 1000);
      break;
    case 3: /* match bool */
      c->kind = ENGINE_FILTER_MATCH, c->key = "flag", c->vtype = ENGINE_FVAL_BOOL;
      c->flag = rnd(r, 2);
      break;
    case 4:
    case 5: { /* any-of / none-of keywords on tags or cat */
      c->kind = kind == 4 ? ENGINE_FILTER_ANY : ENGINE_FILTER_NONE;
      bool tags = rnd(r, 2);
      c->key = tags ? "tags" : "cat";
      size_t m = 1 + rnd(r, 3);
      for (size_t i = 0; i < m; i++) s->kws[i] = tags ? TAGS[rnd(r, 8)] : CATS[rnd(r, 10)];
      c->keywords = s->kws, c->n_keywords = m;
      break;
    }
    case 6: { /* any-of integers */
      c->kind = ENGINE_FILTER_ANY, c->key = "n";
      size_t m = 1 + rnd(r, FG_MAX_VALS);
      for (size_t i = 0; i < m; i++) s->ints[i] = (int64_t)rnd(r, 1000);
      c->integers = s->ints, c->n_integers = m;
      break;
    }
    case 7:
    case 8: { /* numeric range on n or f */
      c->kind = ENGINE_FILTER_RANGE;
      bool on_n = kind == 7;
      c->key = on_n ? "n" : "f";
      double lo = on_n ? (double)rnd(r, 1000) : (double)rnd(r, 1000) / 1000.0;
      double w = (on_n ? 1000.0 : 1.0) * (rnd(r, 2) ? 0.5 : 0.05);
      if (rnd(r, 2))
        c->has_gte = true, c->gte = lo;
      else
        c->has_gt = true, c->gt = lo;
      if (rnd(r, 3)) {
        if (rnd(r, 2))
          c->has_lt = true, c->lt = lo + w;
        else
          c->has_lte = true, c->lte = lo + w;
      }
      break;
    }
    case 9: { /* date-time range, bounds written with an offset sometimes */
      c->kind = ENGINE_FILTER_DATE_RANGE, c->key = "ts";
      int64_t lo = TS_BASE + (int64_t)rnd(r, 366 * 24) * 3600;
      int64_t hi = lo + (int64_t)(1 + rnd(r, 90)) * 86400;
      int off = (int)rnd(r, 3) - 1;
      fmt_ts(lo, off * 2, s->dt[0], sizeof s->dt[0]);
      fmt_ts(hi, off * 2, s->dt[1], sizeof s->dt[1]);
      if (rnd(r, 2))
        c->dt_gte = s->dt[0];
      else
        c->dt_gt = s->dt[0];
      if (rnd(r, 2))
        c->dt_lt = s->dt[1];
      else
        c->dt_lte = s->dt[1];
      break;
    }
    case 10:
      c->kind = ENGINE_FILTER_EXISTS, c->key = "opt", c->flag = rnd(r, 2);
      break;
    case 11:
      c->kind = ENGINE_FILTER_IS_NULL, c->key = "opt", c->flag = rnd(r, 2);
      break;
    case 12: { /* has_id: a few random ids */
      c->kind = ENGINE_FILTER_HAS_ID;
      size_t m = 1 + rnd(r, FG_MAX_VALS * 2);
      for (size_t i = 0; i < m; i++) s->ids[i] = F->point_ids[rnd(r, F->npoints)];
      c->ids = s->ids, c->n_ids = m;
      break;
    }
    case 13:
      c->kind = ENGINE_FILTER_MATCH, c->key = "nested.a", c->vtype = ENGINE_FVAL_KEYWORD;
      c->keyword = NESTED[rnd(r, 4)];
      break;
    default:
      c->kind = ENGINE_FILTER_GROUP;
      c->group = (uint32_t)new_group(F, r, depth + 1);
      break;
  }
}

fg_filter *fg_random(uint64_t *rng, const uint64_t *ids, size_t npoints) {
  fg_filter *F = calloc(1, sizeof *F);
  if (!F) abort();
  F->point_ids = ids;
  F->npoints = npoints;
  new_group(F, rng, 1);
  return F;
}

/* ---- oracle ---- */
static int kw_index(const char *const *tab, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(tab[i], s)) return (int)i;
  return -1;
}

static bool in_kws(const engine_filter_cond *c, const char *s) {
  for (size_t i = 0; i < c->n_keywords; i++)
    if (!strcmp(c->keywords[i], s)) return true;
  return false;
}

static int64_t parse_ts(const char *s) {
  struct tm tm = {0};
  int off_h = 0;
  sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
         &tm.tm_sec);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const char *z = s + 19;
  if (*z == '+' || *z == '-') off_h = atoi(z + 1) * (*z == '-' ? -1 : 1);
  return (int64_t)timegm(&tm) - off_h * 3600;
}

static bool group_eval(const fg_filter *f, size_t gi, uint64_t id, const fg_attrs *a);

static bool cond_eval(const fg_filter *f, const engine_filter_cond *c, uint64_t id,
                      const fg_attrs *a) {
  switch (c->kind) {
    case ENGINE_FILTER_GROUP:
      return group_eval(f, c->group, id, a);
    case ENGINE_FILTER_HAS_ID:
      for (size_t i = 0; i < c->n_ids; i++)
        if (c->ids[i] == id) return true;
      return false;
    case ENGINE_FILTER_MATCH:
      if (!strcmp(c->key, "cat")) return kw_index(CATS, 10, c->keyword) == a->cat;
      if (!strcmp(c->key, "nested.a")) return kw_index(NESTED, 4, c->keyword) == a->nested;
      if (!strcmp(c->key, "n")) return c->integer == a->n;
      return c->flag == a->flag;
    case ENGINE_FILTER_ANY:
    case ENGINE_FILTER_NONE: {
      bool hit = false;
      if (!strcmp(c->key, "cat"))
        hit = in_kws(c, CATS[a->cat]);
      else if (!strcmp(c->key, "tags")) {
        for (int t = 0; t < 8; t++)
          if ((a->tags_mask & (1 << t)) && in_kws(c, TAGS[t])) hit = true;
      } else {
        for (size_t i = 0; i < c->n_integers; i++)
          if (c->integers[i] == a->n) hit = true;
      }
      return c->kind == ENGINE_FILTER_ANY ? hit : !hit;
    }
    case ENGINE_FILTER_RANGE: {
      double x = a->n;
      if (strcmp(c->key, "n")) { /* f is stored with 5 decimals: what the JSON holds */
        char b[32];
        snprintf(b, sizeof b, "%.5f", (double)a->f);
        x = strtod(b, NULL);
      }
      return (!c->has_gt || x > c->gt) && (!c->has_gte || x >= c->gte) &&
             (!c->has_lt || x < c->lt) && (!c->has_lte || x <= c->lte);
    }
    case ENGINE_FILTER_DATE_RANGE: {
      int64_t t = a->ts;
      return (!c->dt_gt || t > parse_ts(c->dt_gt)) && (!c->dt_gte || t >= parse_ts(c->dt_gte)) &&
             (!c->dt_lt || t < parse_ts(c->dt_lt)) && (!c->dt_lte || t <= parse_ts(c->dt_lte));
    }
    case ENGINE_FILTER_EXISTS:
      return (a->opt == 2) == c->flag;
    case ENGINE_FILTER_IS_NULL:
      return (a->opt == 1) == c->flag;
  }
  return false;
}

static bool group_eval(const fg_filter *f, size_t gi, uint64_t id, const fg_attrs *a) {
  const engine_filter_group *g = &f->g[gi];
  for (size_t i = 0; i < g->n_must; i++)
    if (!cond_eval(f, &g->must[i], id, a)) return false;
  for (size_t i = 0; i < g->n_must_not; i++)
    if (cond_eval(f, &g->must_not[i], id, a)) return false;
  if (!g->n_should) return true;
  for (size_t i = 0; i < g->n_should; i++)
    if (cond_eval(f, &g->should[i], id, a)) return true;
  return false;
}

bool fg_eval(const fg_filter *f, uint64_t id, const fg_attrs *a) { return group_eval(f, 0, id, a); }

size_t fg_brute_topk(const fg_filter *f, const uint64_t *ids, const fg_attrs *attrs,
                     const float *vecs, size_t n, size_t dim, const float *q, size_t k, size_t *out,
                     double *score) {
  size_t pass = 0, len = 0;
  for (size_t i = 0; i < n; i++) {
    if (f && !fg_eval(f, ids[i], &attrs[i])) continue;
    pass++;
    double s = 0;
    for (size_t d = 0; d < dim; d++) s += (double)vecs[i * dim + d] * q[d];
    size_t at;
    if (len < k) {
      at = len++;
    } else {
      if (s <= score[k - 1]) continue;
      at = k - 1;
    }
    for (; at > 0 && score[at - 1] < s; at--) {
      score[at] = score[at - 1];
      out[at] = out[at - 1];
    }
    score[at] = s;
    out[at] = i;
  }
  return pass;
}

float *fg_engine_load(engine *e, const char *coll, const char *spec, size_t n, size_t dim,
                      uint64_t seed, uint64_t *ids, fg_attrs *attrs, precis_error *err) {
  engine_collection_config cfg = {0};
  cfg.dim = (uint32_t)dim;
  cfg.metric = ENGINE_METRIC_COSINE;
  cfg.knn_k = 8;
  snprintf(cfg.index_spec, sizeof cfg.index_spec, "%s", spec);
  if (engine_collection_create(e, coll, &cfg, err)) return NULL;
  float *vecs = tu_random_vectors(n, dim, seed, 1);
  engine_point_in *p = calloc(n, sizeof *p);
  char(*meta)[256] = calloc(n, 256);
  engine_edge *links = calloc(200, sizeof *links);
  int rc = !vecs || !p || !meta || !links;
  for (size_t i = 0; !rc && i < n; i++) {
    ids[i] = 1000 + i * 3;
    fg_attrs_of(seed, i, &attrs[i]);
    size_t ml = fg_meta_json(&attrs[i], meta[i], 256);
    p[i] = (engine_point_in){ids[i], vecs + i * dim, (uint32_t)dim, "t", 1, meta[i], ml, -1};
  }
  if (!rc) rc = engine_upsert(e, coll, p, n, err);
  /* a few knowledge links, so that expansion also walks links */
  for (size_t i = 0; i < 200; i++)
    links[i] = (engine_edge){ids[i * 7 % n], ids[(i * 13 + 5) % n], "rel", 0.8f};
  if (!rc && n > 200) rc = engine_links_change(e, coll, links, 200, true, NULL, err);
  free(p);
  free(meta);
  free(links);
  if (rc) {
    free(vecs);
    return NULL;
  }
  return vecs;
}

bool fg_wait_indexes_ready(engine *e, const char *coll) {
  for (int t = 0; t < 6000; t++) {
    engine_pindex_info *inf;
    size_t n;
    precis_error err;
    if (engine_payload_index_list(e, coll, &inf, &n, &err)) return false;
    bool ready = true;
    for (size_t i = 0; i < n; i++) ready &= inf[i].ready;
    free(inf);
    if (ready) return true;
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  return false;
}

/* ---- JSON form ---- */
typedef struct {
  char *b;
  size_t n, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static void put(sbuf *s, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(s->b + s->n, s->cap - s->n, fmt, ap);
    va_end(ap);
    if ((size_t)w < s->cap - s->n) {
      s->n += (size_t)w;
      return;
    }
    s->cap = s->cap * 2 + (size_t)w + 64;
    s->b = realloc(s->b, s->cap);
    if (!s->b) abort();
  }
}

static void json_group(const fg_filter *f, size_t gi, sbuf *s);

static void json_cond(const fg_filter *f, const engine_filter_cond *c, sbuf *s) {
  if (c->kind == ENGINE_FILTER_GROUP) {
    json_group(f, c->group, s);
    return;
  }
  if (c->kind == ENGINE_FILTER_HAS_ID) {
    put(s, "{\"has_id\":[");
    for (size_t i = 0; i < c->n_ids; i++)
      put(s, "%s%llu", i ? "," : "", (unsigned long long)c->ids[i]);
    put(s, "]}");
    return;
  }
  put(s, "{\"key\":\"%s\",", c->key);
  switch (c->kind) {
    case ENGINE_FILTER_MATCH:
      if (c->vtype == ENGINE_FVAL_KEYWORD)
        put(s, "\"match\":\"%s\"", c->keyword);
      else if (c->vtype == ENGINE_FVAL_INTEGER)
        put(s, "\"match\":%lld", (long long)c->integer);
      else
        put(s, "\"match\":%s", c->flag ? "true" : "false");
      break;
    case ENGINE_FILTER_ANY:
    case ENGINE_FILTER_NONE:
      put(s, "\"%s\":[", c->kind == ENGINE_FILTER_ANY ? "any" : "none");
      for (size_t i = 0; i < c->n_keywords; i++) put(s, "%s\"%s\"", i ? "," : "", c->keywords[i]);
      for (size_t i = 0; i < c->n_integers; i++)
        put(s, "%s%lld", i || c->n_keywords ? "," : "", (long long)c->integers[i]);
      put(s, "]");
      break;
    case ENGINE_FILTER_RANGE: {
      put(s, "\"range\":{");
      const char *sep = "";
      if (c->has_gt) put(s, "%s\"gt\":%.17g", sep, c->gt), sep = ",";
      if (c->has_gte) put(s, "%s\"gte\":%.17g", sep, c->gte), sep = ",";
      if (c->has_lt) put(s, "%s\"lt\":%.17g", sep, c->lt), sep = ",";
      if (c->has_lte) put(s, "%s\"lte\":%.17g", sep, c->lte);
      put(s, "}");
      break;
    }
    case ENGINE_FILTER_DATE_RANGE: {
      put(s, "\"date_range\":{");
      const char *sep = "";
      if (c->dt_gt) put(s, "%s\"gt\":\"%s\"", sep, c->dt_gt), sep = ",";
      if (c->dt_gte) put(s, "%s\"gte\":\"%s\"", sep, c->dt_gte), sep = ",";
      if (c->dt_lt) put(s, "%s\"lt\":\"%s\"", sep, c->dt_lt), sep = ",";
      if (c->dt_lte) put(s, "%s\"lte\":\"%s\"", sep, c->dt_lte);
      put(s, "}");
      break;
    }
    case ENGINE_FILTER_EXISTS:
      put(s, "\"exists\":%s", c->flag ? "true" : "false");
      break;
    case ENGINE_FILTER_IS_NULL:
      put(s, "\"is_null\":%s", c->flag ? "true" : "false");
      break;
    default:
      break;
  }
  put(s, "}");
}

static void json_group(const fg_filter *f, size_t gi, sbuf *s) {
  const engine_filter_group *g = &f->g[gi];
  const engine_filter_cond *lists[3] = {g->must, g->should, g->must_not};
  size_t ns[3] = {g->n_must, g->n_should, g->n_must_not};
  const char *names[3] = {"must", "should", "must_not"};
  put(s, "{");
  const char *sep = "";
  for (int l = 0; l < 3; l++) {
    if (!ns[l]) continue;
    put(s, "%s\"%s\":[", sep, names[l]);
    for (size_t j = 0; j < ns[l]; j++) {
      if (j) put(s, ",");
      json_cond(f, &lists[l][j], s);
    }
    put(s, "]");
    sep = ",";
  }
  put(s, "}");
}

char *fg_json(const fg_filter *f) {
  sbuf s = {malloc(256), 0, 256};
  if (!s.b) abort();
  json_group(f, 0, &s);
  return s.b;
}
