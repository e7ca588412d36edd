/*
 * cmd_query.c: `precis query COLLECTION`: run a retrieve (compress, topk or
 * mmr), or --compare TOPK against COMPRESS side by side with their set
 * metrics, or --search for the plain ANN top-k. The query is a literal
 * --vector, the first record of --vector-file, or a stored --point.
 */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "readers.h"

static const char usage[] =
    "usage: precis query COLLECTION (--vector \"0.1,0.2,...\" | --vector-file F\n"
    "                    | --point ID) [--compare | --search] [--links KIND,...]\n"
    "                    [--show-field FIELD] [--filter JSON] [--group-by KEY]\n"
    "                    [PARAMETER...]\n"
    "  --filter       only points passing this filter (JSON form, see\n"
    "                 docs/PROTOCOL.md \"Filter\"), e.g.\n"
    "                 '{\"must\":[{\"key\":\"lang\",\"match\":\"en\"}]}'\n"
    "  --compare      run TOPK and COMPRESS and print them side by side with\n"
    "                 coverage ratio, redundancy, mean relevance and the\n"
    "                 number of distinct --show-field values of each set;\n"
    "                 with --hops, TOPK stays plain top-k (hops 0) and the\n"
    "                 COMPRESS items top-k missed are marked '+' (TOPK is\n"
    "                 also plain: without --group-by)\n"
    "  --search       plain ANN top-k (no graph, no selection; uses -k,\n"
    "                 --exact, --ef-search, --nprobe)\n"
    "  --links        follow only knowledge links of these labels\n"
    "  --group-by     at most --group-limit items (default 1) share one value\n"
    "                 of this metadata field (dotted path, as in filters)\n"
    "  --vector-file  text of numbers (comma/space separated), or the first\n"
    "                 record of an .fvecs / .npy / .jsonl file\n"
    "parameters (precis/params.h; docs/PROTOCOL.md \"Parameters\"):\n";

typedef struct {
  const char *field; /* --show-field */
} view;

static json_t *json_filter_report(const precis_filter_report *r);

/* ---- query vector ---- */

static int vector_from_file(cli *c, const char *path, float **v, uint32_t *dim) {
  char m[256];
  FILE *f = fopen(path, "rb");
  if (!f) return cli_error(c, CLI_EXIT_INPUT, "cannot open %s: %s", path, strerror(errno));
  rd_format fmt;
  int rc = 0;
  if (rd_format_guess(path, &fmt) == 0) {
    rd_reader *r;
    rd_record rec = {0};
    if (rd_open(f, fmt, 0, &r, m, sizeof m) < 0) {
      rc = cli_error(c, CLI_EXIT_INPUT, "%s: %s", path, m);
    } else {
      int st = rd_next(r, &rec, m, sizeof m);
      if (st == RD_RECORD) {
        *v = rec.vector;
        *dim = rec.dim;
        rec.vector = NULL;
      } else {
        rc = cli_error(c, CLI_EXIT_INPUT, "%s: %s", path, st == RD_EOF ? "no vector in file" : m);
      }
      rd_record_clear(&rec);
      rd_close(r);
    }
  } else {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
      n += got;
      if (n == cap) {
        if (cap >= (1u << 24)) break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
          free(buf);
          buf = NULL;
          break;
        }
        buf = nb;
        cap *= 2;
      }
    }
    if (!buf) {
      rc = cli_error(c, CLI_EXIT_SERVER, "out of memory");
    } else {
      buf[n] = '\0';
      if (rd_parse_vector_text(buf, v, dim, m, sizeof m) < 0)
        rc = cli_error(c, CLI_EXIT_INPUT, "%s: %s", path, m);
      free(buf);
    }
  }
  fclose(f);
  return rc;
}

/* ---- printing ---- */

/* Copy at most `chars` UTF-8 characters of s, control characters as
 * spaces; returns the characters written (for padding). */
static int clip(char *dst, size_t cap, const char *s, int chars) {
  size_t o = 0;
  int n = 0;
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p && n < chars && o + 5 < cap) {
    size_t len = 1;
    if (*p >= 0xF0)
      len = 4;
    else if (*p >= 0xE0)
      len = 3;
    else if (*p >= 0xC0)
      len = 2;
    size_t k = 0;
    while (k < len && p[k]) k++;
    if (k < len) break; /* truncated sequence */
    if (len == 1 && (*p < 0x20 || *p == 0x7f))
      dst[o++] = ' ';
    else
      for (size_t i = 0; i < len; i++) dst[o++] = (char)p[i];
    p += len;
    n++;
  }
  dst[o] = '\0';
  return n;
}

/* The --show-field value of a metadata object, as text ("-" if absent). */
static void field_value(const char *meta, const char *field, char *buf, size_t len) {
  snprintf(buf, len, "-");
  if (!field) return;
  json_t *o = json_loads(meta ? meta : "{}", 0, NULL);
  json_t *v = json_is_object(o) ? json_object_get(o, field) : NULL;
  if (json_is_string(v))
    snprintf(buf, len, "%s", json_string_value(v));
  else if (json_is_integer(v))
    snprintf(buf, len, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    snprintf(buf, len, "%g", json_real_value(v));
  else if (json_is_boolean(v))
    snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
  else if (v && !json_is_null(v)) {
    char *d = json_dumps(v, JSON_COMPACT);
    snprintf(buf, len, "%s", d ? d : "?");
    free(d);
  }
  json_decref(o);
}

static size_t distinct_values(const precis_retrieve_result *r, const char *field) {
  if (!field || !r->n) return 0;
  char(*vals)[128] = calloc(r->n, sizeof *vals);
  if (!vals) return 0;
  size_t nd = 0;
  for (size_t i = 0; i < r->n; i++) {
    char v[128];
    field_value(r->items[i].metadata, field, v, sizeof v);
    if (!strcmp(v, "-")) continue;
    size_t j = 0;
    while (j < nd && strcmp(vals[j], v)) j++;
    if (j == nd) memcpy(vals[nd++], v, sizeof v);
  }
  free(vals);
  return nd;
}

/* One cell of a result row: "id rel hop rep text field", fixed width. */
static void cell(const precis_retrieved_item *it, const view *vw, char *buf, size_t len) {
  char text[200], tf[64], fv[128];
  int tn = clip(text, sizeof text, it->text, 40);
  field_value(it->metadata, vw->field, fv, sizeof fv);
  int fn = clip(tf, sizeof tf, fv, 14);
  snprintf(buf, len, "%8llu %6.3f %3u %4u  %s%*s %s%*s", (unsigned long long)it->id, it->relevance,
           it->hops, it->represents, text, 40 - tn, "", vw->field ? tf : "",
           vw->field ? 14 - fn : 0, "");
}

static void header(const view *vw, char *buf, size_t len) {
  snprintf(buf, len, "%8s %6s %3s %4s  %-40s %-14s", "ID", "REL", "HOP", "REP", "TEXT",
           vw->field ? vw->field : "");
}

/* The i-th name of a "|"-separated choice list of precis/params.h. */
static const char *choice(const char *choices, int i, char *buf, size_t n) {
  const char *p = choices;
  for (; i > 0 && p; i--)
    if ((p = strchr(p, '|'))) p++;
  if (!p || i < 0) return "unknown";
  size_t len = strcspn(p, "|");
  snprintf(buf, n, "%.*s", (int)len, p);
  return buf;
}

static char name_buf[32];
#define coverage_name(c) choice(PRECIS_PARAM_CHOICES_coverage, (int)(c), name_buf, sizeof name_buf)
#define mode_name(m)     choice(PRECIS_PARAM_CHOICES_mode, (int)(m), name_buf, sizeof name_buf)

static void print_result(const char *mode, const precis_retrieve_result *r, const view *vw) {
  char h[256], row[512];
  header(vw, h, sizeof h);
  printf("%s: %zu items  pool %u  seeds %u  objective %.4f  %.1f ms\n", mode, r->n, r->pool_size,
         r->seed_count, r->objective, (double)r->t_total_us / 1000.0);
  printf("%3s %s\n", "#", h);
  for (size_t i = 0; i < r->n; i++) {
    cell(&r->items[i], vw, row, sizeof row);
    printf("%3zu %s\n", i + 1, row);
  }
  printf("coverage_ratio %.4f  redundancy %.4f  mean_relevance %.4f", r->coverage_ratio,
         r->redundancy, r->mean_relevance);
  if (!strcmp(mode, "compress")) printf("  coverage: %s", coverage_name(r->coverage_used));
  if (vw->field) printf("  distinct %s %zu", vw->field, distinct_values(r, vw->field));
  printf("\n");
}

static int in_result(const precis_retrieve_result *r, uint64_t id) {
  for (size_t i = 0; i < r->n; i++)
    if (r->items[i].id == id) return 1;
  return 0;
}

static void print_compare(const precis_retrieve_result *t, const precis_retrieve_result *c,
                          const view *vw) {
  char h[256], l[512], r[512];
  header(vw, h, sizeof h);
  int w = (int)strlen(h);
  printf("%-*s | %s\n", w + 4, "TOPK", "COMPRESS");
  printf("%3s %s | %3s %s\n", "#", h, "#", h);
  size_t n = t->n > c->n ? t->n : c->n;
  for (size_t i = 0; i < n; i++) {
    if (i < t->n)
      cell(&t->items[i], vw, l, sizeof l);
    else
      snprintf(l, sizeof l, "%*s", w, "");
    char rank[24] = "";
    r[0] = '\0';
    if (i < c->n) {
      cell(&c->items[i], vw, r, sizeof r);
      snprintf(rank, sizeof rank, "%s%zu", in_result(t, c->items[i].id) ? "" : "+", i + 1);
    }
    if (i < t->n)
      printf("%3zu %s | %3s %s\n", i + 1, l, rank, r);
    else
      printf("%3s %s | %3s %s\n", "", l, rank, r);
  }
  printf("\n%-22s %12s %12s\n", "metric", "TOPK", "COMPRESS");
  printf("%-22s %12zu %12zu\n", "items", t->n, c->n);
  printf("%-22s %12.4f %12.4f\n", "coverage_ratio", t->coverage_ratio, c->coverage_ratio);
  printf("%-22s %12.4f %12.4f\n", "redundancy", t->redundancy, c->redundancy);
  printf("%-22s %12.4f %12.4f\n", "mean_relevance", t->mean_relevance, c->mean_relevance);
  printf("%-22s %12.4f %12.4f\n", "objective", t->objective, c->objective);
  printf("%-22s %12s %12s\n", "coverage", "-", coverage_name(c->coverage_used));
  uint64_t tt = 0, ct = 0;
  for (size_t i = 0; i < t->n; i++) tt += t->items[i].tokens;
  for (size_t i = 0; i < c->n; i++) ct += c->items[i].tokens;
  printf("%-22s %12llu %12llu\n", "tokens", (unsigned long long)tt, (unsigned long long)ct);
  if (vw->field) {
    char name[40];
    snprintf(name, sizeof name, "distinct %.24s", vw->field);
    printf("%-22s %12zu %12zu\n", name, distinct_values(t, vw->field),
           distinct_values(c, vw->field));
  }
  size_t fresh = 0, linked = 0;
  for (size_t i = 0; i < c->n; i++)
    if (!in_result(t, c->items[i].id)) {
      fresh++;
      linked += c->items[i].hops > 0;
    }
  printf("%-22s %12s %7zu (%zu)\n", "not in TOPK (graph)", "-", fresh, linked);
  printf("%-22s %12.2f %12.2f\n", "time_ms", (double)t->t_total_us / 1000.0,
         (double)c->t_total_us / 1000.0);
}

static json_t *json_result(const precis_retrieve_result *r, const char *mode, const view *vw) {
  json_t *items = json_array();
  for (size_t i = 0; i < r->n; i++) {
    const precis_retrieved_item *it = &r->items[i];
    json_t *rep = json_array();
    for (size_t j = 0; j < it->n_represented_ids; j++)
      json_array_append_new(rep, json_integer((json_int_t)it->represented_ids[j]));
    json_array_append_new(
        items, json_pack("{s:I, s:s, s:o, s:I, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:o}", "id",
                         (json_int_t)it->id, "text", it->text, "metadata",
                         cli_json_meta(it->metadata), "tokens", (json_int_t)it->tokens, "relevance",
                         (double)it->relevance, "similarity", (double)it->similarity, "gain",
                         (double)it->gain, "hops", (json_int_t)it->hops, "via", (json_int_t)it->via,
                         "link_end", (json_int_t)it->link_end, "represents",
                         (json_int_t)it->represents, "represented_ids", rep));
  }
  json_t *m =
      json_pack("{s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I}", "objective", r->objective,
                "coverage_ratio", r->coverage_ratio, "redundancy", r->redundancy, "mean_relevance",
                r->mean_relevance, "pool_size", (json_int_t)r->pool_size, "seed_count",
                (json_int_t)r->seed_count, "t_seed_us", (json_int_t)r->t_seed_us, "t_expand_us",
                (json_int_t)r->t_expand_us, "t_select_us", (json_int_t)r->t_select_us, "t_total_us",
                (json_int_t)r->t_total_us);
  if (!strcmp(mode, "compress"))
    json_object_set_new(m, "coverage", json_string(coverage_name(r->coverage_used)));
  json_t *fr = json_filter_report(&r->filter_report);
  if (fr) json_object_set_new(m, "filter", fr);
  if (vw->field)
    json_object_set_new(m, "distinct", json_integer((json_int_t)distinct_values(r, vw->field)));
  return json_pack("{s:s, s:o, s:o}", "mode", mode, "items", items, "metrics", m);
}

/* ---- plain search ---- */

static int do_search(cli *c, const char *coll, precis_retrieve_params *p) {
  precis_error err;
  float *owned = NULL;
  const float *vec = p->vector;
  uint32_t dim = p->dim;
  int rc;
  if (p->use_query_point) {
    precis_points *pts;
    rc = precis_get(c->conn, coll, &p->query_point, 1, 1, &pts, &err);
    if (rc) return cli_fail(c, rc, &err);
    if (pts->n == 0 || !pts->points[0].vector) {
      precis_points_free(pts);
      return cli_error(c, CLI_EXIT_SERVER, "NOT_FOUND: point %llu",
                       (unsigned long long)p->query_point);
    }
    owned = pts->points[0].vector;
    dim = pts->points[0].dim;
    pts->points[0].vector = NULL;
    precis_points_free(pts);
    vec = owned;
  }
  precis_hit *hits = calloc(p->k, sizeof *hits);
  size_t n = 0;
  precis_filter_report frep;
  precis_search_opts so = {.exact = p->exact_seeds, .ef_search = p->ef_search, .nprobe = p->nprobe};
  rc = hits ? precis_search_filtered(c->conn, coll, vec, dim, p->k, &so, p->filter, hits, &n, &frep,
                                     &err)
            : PRECIS_E_NO_MEMORY;
  free(owned);
  if (rc) {
    free(hits);
    return cli_fail(c, rc, &err);
  }
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, json_pack("{s:I, s:f}", "id", (json_int_t)hits[i].id, "score",
                                           (double)hits[i].score));
    json_t *o = json_pack("{s:s, s:o}", "mode", "search", "hits", arr);
    json_t *fr = json_filter_report(&frep);
    if (fr) json_object_set_new(o, "filter", fr);
    cli_json_out(o);
  } else {
    printf("%3s %10s %10s\n", "#", "ID", "SCORE");
    for (size_t i = 0; i < n; i++)
      printf("%3zu %10llu %10.4f\n", i + 1, (unsigned long long)hits[i].id, hits[i].score);
  }
  free(hits);
  return 0;
}

/* ---- options ---- */

enum {
  O_VECTOR = 256,
  O_VFILE,
  O_POINT,
  O_COMPARE,
  O_SEARCH,
  O_LINKS,
  O_FIELD,
  O_FILTER,
  O_GROUP_BY,
  O_NO_KNN,      /* the flag of follow_knn's former default: accepted, and a no-op */
  O_PARAM = 512, /* one option per row of PRECIS_RETRIEVE_PARAM_MAP */
#define PARAM_ENUM(name, KIND, d, lo, hi, field, flag, doc) O_P_##name,
  O_PARAM_FIRST = O_PARAM - 1,
  PRECIS_RETRIEVE_PARAM_MAP(PARAM_ENUM)
#undef PARAM_ENUM
      O_PARAM_END
};

/* ---- parameters from the table (precis/params.h) ---- */
#define HAS_ARG_U32        required_argument
#define HAS_ARG_U64        required_argument
#define HAS_ARG_F32        required_argument
#define HAS_ARG_F32P       required_argument
#define HAS_ARG_F32A       required_argument
#define HAS_ARG_ENUM       required_argument
#define HAS_ARG_BOOL       no_argument
#define CHOICES_U32(name)  NULL
#define CHOICES_U64(name)  NULL
#define CHOICES_F32(name)  NULL
#define CHOICES_F32P(name) NULL
#define CHOICES_F32A(name) NULL
#define CHOICES_BOOL(name) NULL
#define CHOICES_ENUM(name) PRECIS_PARAM_CHOICES_##name

static int bad_value(cli *c, const char *flag, const char *arg, const char *kind, double lo,
                     double hi, const char *choices) {
  if (choices) return cli_usage(c, "--%s must be one of %s, got '%s'", flag, choices, arg);
  if (hi >= FLT_MAX) return cli_usage(c, "--%s needs a number >= %g, got '%s'", flag, lo, arg);
  if (!strcmp(kind, "F32P"))
    return cli_usage(c, "--%s needs a number in (%g, %g], got '%s'", flag, lo, hi, arg);
  return cli_usage(c, "--%s must be %g..%g%s, got '%s'", flag, lo, hi,
                   !strcmp(kind, "F32A") ? " (or -1: automatic)" : "", arg);
}

#define BAD() bad_value(c, flag, arg, kind, (double)lo, (double)hi, choices)
static int parse_U64(cli *c, const char *flag, const char *kind, const char *arg,
                     const char *choices, uint64_t lo, uint64_t hi, uint64_t *v) {
  return cli_parse_u64(arg, v) < 0 || !precis_param_ok_U64(*v, lo, hi) ? BAD() : 0;
}
static int parse_U32(cli *c, const char *flag, const char *kind, const char *arg,
                     const char *choices, uint64_t lo, uint64_t hi, uint32_t *v) {
  return cli_parse_u32(arg, UINT32_MAX, v) < 0 || !precis_param_ok_U32(*v, lo, hi) ? BAD() : 0;
}
static int parse_F32(cli *c, const char *flag, const char *kind, const char *arg,
                     const char *choices, double lo, double hi, float *v) {
  if (cli_parse_float(arg, v) < 0) return BAD();
  int ok = !strcmp(kind, "F32P")   ? precis_param_ok_F32P(*v, lo, hi)
           : !strcmp(kind, "F32A") ? precis_param_ok_F32A(*v, lo, hi)
                                   : precis_param_ok_F32(*v, lo, hi);
  return ok ? 0 : BAD();
}
static int parse_ENUM(cli *c, const char *flag, const char *kind, const char *arg,
                      const char *choices, int lo, int hi, int *v) {
  char buf[32];
  for (int i = lo; i <= hi; i++)
    if (!strcmp(choice(choices, i, buf, sizeof buf), arg)) {
      *v = i;
      return 0;
    }
  return BAD();
}
#undef BAD
#define parse_F32P parse_F32
#define parse_F32A parse_F32

/* Option o (O_P_*) with its argument into p; 0 or the usage exit code. */
static int parse_param(cli *c, int o, const char *arg, precis_retrieve_params *p) {
  switch (o) {
#define PARAM_PARSE_BOOL_(name, d, flag) \
  case O_P_##name:                       \
    p->name = !(d);                      \
    return 0;
#define PARAM_PARSE_VALUE(name, KIND, lo, hi, flag) \
  case O_P_##name:                                  \
    return parse_##KIND(c, flag, #KIND, arg, CHOICES_##KIND(name), lo, hi, &p->name);
#define PARAM_PARSE(name, KIND, d, lo, hi, field, flag, doc) \
  PARAM_PARSE_##KIND(name, KIND, d, lo, hi, flag)

#define PARAM_PARSE_U32(name, KIND, d, lo, hi, flag)  PARAM_PARSE_VALUE(name, KIND, lo, hi, flag)
#define PARAM_PARSE_U64(name, KIND, d, lo, hi, flag)  PARAM_PARSE_VALUE(name, KIND, lo, hi, flag)
#define PARAM_PARSE_F32(name, KIND, d, lo, hi, flag)  PARAM_PARSE_VALUE(name, KIND, lo, hi, flag)
#define PARAM_PARSE_F32P(name, KIND, d, lo, hi, flag) PARAM_PARSE_VALUE(name, KIND, lo, hi, flag)
#define PARAM_PARSE_F32A(name, KIND, d, lo, hi, flag) PARAM_PARSE_VALUE(name, KIND, lo, hi, flag)
#define PARAM_PARSE_ENUM(name, KIND, d, lo, hi, flag) PARAM_PARSE_VALUE(name, KIND, lo, hi, flag)
#define PARAM_PARSE_BOOL(name, KIND, d, lo, hi, flag) PARAM_PARSE_BOOL_(name, d, flag)
    PRECIS_RETRIEVE_PARAM_MAP(PARAM_PARSE)
  }
  return CLI_EXIT_USAGE;
}

static void print_param_line(const char *flag, const char *kind, const char *doc, double d,
                             double lo, double hi, const char *choices, char *buf, size_t n) {
  char head[96], dflt[64];
  if (!strcmp(kind, "BOOL"))
    snprintf(head, sizeof head, "--%s", flag);
  else if (choices)
    snprintf(head, sizeof head, "--%s %s", flag, choices);
  else if (hi >= FLT_MAX)
    snprintf(head, sizeof head, "--%s N (>= %g)", flag, lo);
  else if (!strcmp(kind, "F32P"))
    snprintf(head, sizeof head, "--%s N (%.10g < N <= %.10g)", flag, lo, hi);
  else
    snprintf(head, sizeof head, "--%s N (%.10g..%.10g%s)", flag, lo, hi,
             !strcmp(kind, "F32A") ? ", or -1" : "");
  if (choices)
    snprintf(dflt, sizeof dflt, "default %s", choice(choices, (int)d, buf, n));
  else if (!strcmp(kind, "BOOL"))
    snprintf(dflt, sizeof dflt, "%s", d ? "on unless the flag is given" : "off");
  else
    snprintf(dflt, sizeof dflt, "default %g", d);
  printf("  %s\n      %s (%s)\n", head, doc, dflt);
}

/* The usage lines of the parameters: flag, meaning, default. */
static void print_param_usage(void) {
  char buf[32];
#define PARAM_USAGE(name, KIND, d, lo, hi, field, flag, doc)                  \
  print_param_line(flag, #KIND, doc, (double)(d), (double)(lo), (double)(hi), \
                   CHOICES_##KIND(name), buf, sizeof buf);
  PRECIS_RETRIEVE_PARAM_MAP(PARAM_USAGE)
#undef PARAM_USAGE
}

/* How a filtered call ran, for --json output (NULL without a filter). */
static json_t *json_filter_report(const precis_filter_report *r) {
  if (r->plan == PRECIS_FILTER_PLAN_NONE) return NULL;
  return json_pack("{s:s, s:I, s:I, s:I, s:b}", "plan",
                   r->plan == PRECIS_FILTER_PLAN_ANN ? "ann" : "scan", "estimate",
                   (json_int_t)r->estimate, "checked", (json_int_t)r->checked, "ef_search",
                   (json_int_t)r->ef_search, "unindexed", r->unindexed);
}

static int split_kinds(cli *c, char *s, const char ***out, size_t *n) {
  size_t cap = 1;
  for (char *p = s; *p; p++) cap += *p == ',';
  const char **k = calloc(cap, sizeof *k);
  if (!k) return cli_error(c, CLI_EXIT_SERVER, "out of memory");
  size_t m = 0;
  for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
    if (strlen(tok) > PRECIS_MAX_LINK_KIND_LEN) {
      free(k);
      return cli_usage(c, "link kind '%s' longer than %d", tok, PRECIS_MAX_LINK_KIND_LEN);
    }
    k[m++] = tok;
  }
  *out = k;
  *n = m;
  return 0;
}

int cmd_query(cli *c, int argc, char **argv) {
#define PARAM_OPTION(name, KIND, d, lo, hi, field, flag, doc) \
  {flag, HAS_ARG_##KIND, NULL, O_P_##name},
  static const struct option lo[] = {
      {"vector", required_argument, NULL, O_VECTOR},
      {"vector-file", required_argument, NULL, O_VFILE},
      {"point", required_argument, NULL, O_POINT},
      {"compare", no_argument, NULL, O_COMPARE},
      {"search", no_argument, NULL, O_SEARCH},
      {"links", required_argument, NULL, O_LINKS},
      {"show-field", required_argument, NULL, O_FIELD},
      {"filter", required_argument, NULL, O_FILTER},
      {"group-by", required_argument, NULL, O_GROUP_BY},
      {"no-knn", no_argument, NULL, O_NO_KNN},
      PRECIS_RETRIEVE_PARAM_MAP(PARAM_OPTION){"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0}};
#undef PARAM_OPTION
  precis_retrieve_params p;
  precis_retrieve_params_init(&p);
  view vw = {0};
  const char *vtext = NULL, *vfile = NULL;
  char *kinds_arg = NULL;
  const char *filter_text = NULL;
  precis_filter *filter = NULL;
  int have_point = 0, compare = 0, search = 0, o, prc;
  optind = 0;
  while ((o = cli_getopt(c, argc, argv, "k:h", lo)) != -1) {
    switch (o) {
      case O_VECTOR:
        vtext = optarg;
        break;
      case O_VFILE:
        vfile = optarg;
        break;
      case O_POINT:
        if (cli_parse_u64(optarg, &p.query_point) < 0)
          return cli_usage(c, "bad --point '%s'", optarg);
        have_point = 1;
        break;
      case O_COMPARE:
        compare = 1;
        break;
      case O_SEARCH:
        search = 1;
        break;
      case O_LINKS:
        kinds_arg = optarg;
        break;
      case O_FIELD:
        vw.field = optarg;
        break;
      case O_FILTER:
        filter_text = optarg;
        break;
      case O_GROUP_BY:
        p.group_by = optarg;
        break;
      case O_NO_KNN: /* scripts written when kNN edges were walked by default */
        p.follow_knn = 0;
        break;
      case 'h':
        fputs(usage, stdout);
        print_param_usage();
        return 0;
      case 'k':
        o = O_P_k; /* -k N is --k N */
        /* fall through */
      default:
        if (o <= O_PARAM_FIRST || o >= O_PARAM_END) return CLI_EXIT_USAGE;
        if ((prc = parse_param(c, o, optarg, &p))) return prc;
    }
  }
  if (cli_npos(argc) != 1) return cli_usage(c, "query takes one COLLECTION");
  const char *coll = cli_pos(argv)[0];
  if ((vtext != NULL) + (vfile != NULL) + have_point != 1)
    return cli_usage(c, "give exactly one of --vector, --vector-file, --point");
  if (compare && search) return cli_usage(c, "--compare and --search exclude each other");
  float *vec = NULL;
  uint32_t dim = 0;
  char m[256];
  int rc = 0;
  if (filter_text) {
    precis_error ferr;
    if (precis_filter_parse(filter_text, &filter, &ferr))
      return cli_usage(c, "--filter: %s", ferr.msg);
    p.filter = filter;
  }
  if (vtext && rd_parse_vector_text(vtext, &vec, &dim, m, sizeof m) < 0) {
    precis_filter_free(filter);
    return cli_usage(c, "--vector: %s", m);
  }
  if (vfile && (rc = vector_from_file(c, vfile, &vec, &dim))) {
    precis_filter_free(filter);
    return rc;
  }
  p.vector = vec;
  p.dim = dim;
  p.use_query_point = have_point;
  const char **kinds = NULL;
  if (kinds_arg) {
    if ((rc = split_kinds(c, kinds_arg, &kinds, &p.n_link_kinds))) {
      free(vec);
      precis_filter_free(filter);
      return rc;
    }
    p.link_kinds = kinds;
  }
  rc = cli_connect(c);
  if (rc) goto out;
  if (search) {
    rc = do_search(c, coll, &p);
    goto out;
  }
  precis_error err;
  if (compare) {
    precis_retrieve_result *t = NULL, *r = NULL;
    uint32_t hops = p.hops;
    const char *group_by = p.group_by;
    p.mode = PRECIS_MODE_TOPK;
    p.hops = 0; /* the baseline: what plain top-k returns */
    p.group_by = NULL;
    rc = precis_retrieve(c->conn, coll, &p, &t, &err);
    if (!rc) {
      p.hops = hops;
      p.group_by = group_by;
      p.mode = PRECIS_MODE_COMPRESS;
      rc = precis_retrieve(c->conn, coll, &p, &r, &err);
    }
    if (rc) {
      rc = cli_fail(c, rc, &err);
    } else if (c->json) {
      cli_json_out(json_pack("{s:o, s:o}", "topk", json_result(t, "topk", &vw), "compress",
                             json_result(r, "compress", &vw)));
    } else {
      print_compare(t, r, &vw);
    }
    precis_retrieve_result_free(t);
    precis_retrieve_result_free(r);
    goto out;
  }
  precis_retrieve_result *r = NULL;
  rc = precis_retrieve(c->conn, coll, &p, &r, &err);
  if (rc)
    rc = cli_fail(c, rc, &err);
  else if (c->json)
    cli_json_out(json_result(r, mode_name(p.mode), &vw));
  else
    print_result(mode_name(p.mode), r, &vw);
  precis_retrieve_result_free(r);
out:
  free(vec);
  free(kinds);
  precis_filter_free(filter);
  return rc;
}
