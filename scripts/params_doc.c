/*
 * params_doc.c: docs/PROTOCOL.md's parameter tables, generated from the
 * tables of include/precis/params.h, so that the documentation cannot
 * drift from the code.
 *
 *   params_doc FILE          exit 0 when FILE holds the current tables
 *                            between their markers, 1 (with a diff hint)
 *                            when not
 *   params_doc --write FILE  rewrite the tables in FILE (`make params-doc`)
 *   params_doc               print the tables
 *
 * tests/unit/test_params.c includes this file (PARAMS_DOC_NO_MAIN) and
 * runs the check in `make test-only`.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precis/params.h"

#define PD_BEGIN(t) "<!-- params:" t " begin (generated: make params-doc) -->\n"
#define PD_END(t)   "<!-- params:" t " end -->\n"

typedef struct {
  char *s;
  size_t n, cap;
} pd_buf;

static void pd_put(pd_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#include <stdarg.h>
static void pd_put(pd_buf *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int w = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    if (b->s && b->n + (size_t)w < b->cap) {
      b->n += (size_t)w;
      return;
    }
    size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)w;
    char *s = realloc(b->s, cap);
    if (!s) abort();
    b->s = s;
    b->cap = cap;
  }
}

/* "a|b|c" -> "`a`, `b`, `c`"; the i-th name when i >= 0. */
static void pd_choices(pd_buf *b, const char *choices, int i) {
  int k = 0;
  for (const char *p = choices; *p; k++) {
    size_t len = strcspn(p, "|");
    if (i < 0)
      pd_put(b, "%s`%.*s`", k ? ", " : "", (int)len, p);
    else if (k == i)
      pd_put(b, "`%.*s`", (int)len, p);
    p += len;
    if (*p == '|') p++;
  }
}

static void pd_row(pd_buf *b, const char *name, const char *kind, double d, double lo, double hi,
                   int field, const char *flag, const char *doc, const char *choices) {
  const char *type = !strcmp(kind, "U32")    ? "uint32"
                     : !strcmp(kind, "U64")  ? "uint64"
                     : !strcmp(kind, "BOOL") ? "bool"
                     : !strcmp(kind, "ENUM") ? "enum"
                                             : "float";
  pd_put(b, "| `%s` (%d) | %s | ", name, field, type);
  if (choices)
    pd_choices(b, choices, (int)d);
  else if (!strcmp(kind, "BOOL"))
    pd_put(b, "%s", d ? "true" : "false");
  else
    pd_put(b, "%g", d);
  pd_put(b, " | ");
  if (choices)
    pd_choices(b, choices, -1);
  else if (!strcmp(kind, "BOOL"))
    pd_put(b, "true, false");
  else if (hi >= FLT_MAX)
    pd_put(b, "≥ %g", lo);
  else if (!strcmp(kind, "F32P"))
    pd_put(b, "(%g, %g]", lo, hi);
  else
    pd_put(b, "%.0f..%.0f%s", lo, hi, !strcmp(kind, "F32A") ? " or −1" : "");
  pd_put(b, " | `--%s` | %s |\n", flag, doc);
}

#define PD_CHOICES_U32(name)  NULL
#define PD_CHOICES_U64(name)  NULL
#define PD_CHOICES_F32(name)  NULL
#define PD_CHOICES_F32P(name) NULL
#define PD_CHOICES_F32A(name) NULL
#define PD_CHOICES_BOOL(name) NULL
#define PD_CHOICES_ENUM(name) PRECIS_PARAM_CHOICES_##name
#define PD_ROW(name, KIND, d, lo, hi, field, flag, doc)                              \
  pd_row(b, #name, #KIND, (double)(d), (double)(lo), (double)(hi), field, flag, doc, \
         PD_CHOICES_##KIND(name));
#define PD_HEAD                                                              \
  "| field (number) | type | default | range | `precis query` | meaning |\n" \
  "|---|---|---|---|---|---|\n"

/* The generated text of table `t` ("retrieve" or "search"), markers
 * included; malloc'd. */
static char *params_doc_table(const char *t) {
  pd_buf buf = {0}, *b = &buf;
  if (!strcmp(t, "retrieve")) {
    pd_put(b, PD_BEGIN("retrieve") PD_HEAD);
    PRECIS_RETRIEVE_PARAM_MAP(PD_ROW)
    pd_put(b, PD_END("retrieve"));
  } else {
    pd_put(b, PD_BEGIN("search") PD_HEAD);
    PRECIS_SEARCH_PARAM_MAP(PD_ROW)
    pd_put(b, PD_END("search"));
  }
  return buf.s;
}

static char *pd_read(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  pd_buf b = {0};
  char chunk[4096];
  size_t n;
  pd_put(&b, "%s", "");
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) pd_put(&b, "%.*s", (int)n, chunk);
  fclose(f);
  return b.s;
}

/* doc with table t replaced by its generated text; NULL when its markers
 * are missing. malloc'd. */
static char *pd_replace(const char *doc, const char *t) {
  char begin[128], end[128];
  snprintf(begin, sizeof begin, "<!-- params:%s begin", t);
  snprintf(end, sizeof end, "<!-- params:%s end -->\n", t);
  const char *i = strstr(doc, begin), *j = i ? strstr(i, end) : NULL;
  if (!i || !j) return NULL;
  j += strlen(end);
  char *tab = params_doc_table(t);
  pd_buf b = {0};
  pd_put(&b, "%.*s%s%s", (int)(i - doc), doc, tab, j);
  free(tab);
  return b.s;
}

/* 0: the file holds the current tables; 1: stale; 2: unreadable or no
 * markers. With write, the file is rewritten instead (0 or 2). */
static int params_doc_sync(const char *path, int write) {
  char *doc = pd_read(path);
  if (!doc) return 2;
  char *a = pd_replace(doc, "retrieve"), *c = a ? pd_replace(a, "search") : NULL;
  int rc = c ? (strcmp(doc, c) != 0) : 2;
  if (c && write && rc == 1) {
    FILE *f = fopen(path, "wb");
    rc = (f && fputs(c, f) >= 0 && fclose(f) == 0) ? 0 : 2;
  } else if (c && write) {
    rc = 0;
  }
  free(doc);
  free(a);
  free(c);
  return rc;
}

#ifndef PARAMS_DOC_NO_MAIN
int main(int argc, char **argv) {
  if (argc == 1) {
    char *r = params_doc_table("retrieve"), *s = params_doc_table("search");
    fputs(r, stdout);
    fputs(s, stdout);
    free(r);
    free(s);
    return 0;
  }
  int write = argc == 3 && !strcmp(argv[1], "--write");
  const char *path = argv[argc - 1];
  int rc = params_doc_sync(path, write);
  if (rc == 1)
    fprintf(stderr, "%s: the parameter tables are stale; run `make params-doc`\n", path);
  else if (rc == 2)
    fprintf(stderr, "%s: unreadable, or the params markers are missing\n", path);
  return rc;
}
#endif
