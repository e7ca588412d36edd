/* dataset.c: loaders for the prepared data sets (see dataset.h). */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* fileno */
#endif
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the data files are little-endian"
#endif

const char *ds_data_dir(void) {
  const char *d = getenv("PRECIS_DATA_DIR");
  return d && *d ? d : "data";
}

int ds_path(char *buf, size_t cap, const char *name, const char *file) {
  int r = snprintf(buf, cap, "%s/%s/%s", ds_data_dir(), name, file);
  if (r < 0 || (size_t)r >= cap) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

int ds_available(const char *name) {
  char p[4096];
  struct stat st;
  return ds_path(p, sizeof p, name, "info.json") == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* read a whole file whose size is a multiple of `row` bytes */
static int load_rows(const char *path, size_t row, void **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (row == 0) {
    errno = EINVAL;
    return -1;
  }
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  struct stat st;
  if (fstat(fileno(f), &st) != 0) goto fail;
  size_t size = (size_t)st.st_size;
  if (st.st_size < 0 || size % row != 0) {
    errno = EINVAL;
    goto fail;
  }
  void *p = malloc(size ? size : 1);
  if (!p) goto fail;
  if (fread(p, 1, size, f) != size) {
    if (!ferror(f)) errno = EIO;
    free(p);
    goto fail;
  }
  fclose(f);
  *out = p;
  *n = size / row;
  return 0;
fail:;
  int e = errno;
  fclose(f);
  errno = e;
  return -1;
}

int ds_load_f32(const char *path, size_t dim, float **out, size_t *n) {
  void *p;
  if (dim > SIZE_MAX / sizeof(float)) {
    errno = EINVAL;
    return -1;
  }
  int r = load_rows(path, dim * sizeof(float), &p, n);
  *out = p;
  return r;
}

int ds_load_i32(const char *path, size_t dim, int32_t **out, size_t *n) {
  void *p;
  if (dim > SIZE_MAX / sizeof(int32_t)) {
    errno = EINVAL;
    return -1;
  }
  int r = load_rows(path, dim * sizeof(int32_t), &p, n);
  *out = p;
  return r;
}

int ds_load_u64(const char *path, uint64_t **out, size_t *n) {
  void *p;
  int r = load_rows(path, sizeof(uint64_t), &p, n);
  *out = p;
  return r;
}

void ds_wn_meta_free(ds_wn_meta *m) {
  free(m->id);
  free(m->category);
  free(m->pos);
  memset(m, 0, sizeof *m);
}

int ds_load_wn_meta(const char *path, ds_wn_meta *m) {
  memset(m, 0, sizeof *m);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t cap = 0;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    unsigned long long id;
    unsigned cat;
    char pos;
    if (sscanf(line, "%llu\t%u\t%c", &id, &cat, &pos) != 3 || cat > 255) {
      errno = EINVAL;
      goto fail;
    }
    if (m->n == cap) {
      cap = cap ? 2 * cap : 1024;
      uint64_t *ids = realloc(m->id, cap * sizeof *ids);
      if (ids) m->id = ids;
      uint8_t *cats = realloc(m->category, cap);
      if (cats) m->category = cats;
      char *poss = realloc(m->pos, cap);
      if (poss) m->pos = poss;
      if (!ids || !cats || !poss) goto fail;
    }
    m->id[m->n] = (uint64_t)id;
    m->category[m->n] = (uint8_t)cat;
    m->pos[m->n] = pos;
    m->n++;
  }
  if (ferror(f)) {
    errno = EIO;
    goto fail;
  }
  fclose(f);
  return 0;
fail:;
  int e = errno;
  fclose(f);
  ds_wn_meta_free(m);
  errno = e;
  return -1;
}

/* ---- study corpora ---- */

static int corpus_fail(const char *name, const char *what) {
  fprintf(stderr, "dataset %s: %s\n", name, what);
  return -1;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_pair(const void *a, const void *b) {
  const uint64_t *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0];
}

long ds_corpus_row(const ds_corpus *c, uint64_t id) {
  size_t lo = 0, hi = c->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->by_id[2 * mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < c->n && c->by_id[2 * lo] == id ? (long)c->by_id[2 * lo + 1] : -1;
}

static uint32_t label_index(const ds_corpus *c, const char *s) {
  char *const *hit =
      s ? bsearch(&s, c->label_names, c->nlabels, sizeof *c->label_names, cmp_str) : NULL;
  return hit ? (uint32_t)(hit - c->label_names) : UINT32_MAX;
}

/* metadata.label, or the older WordNet files' metadata.category */
static const char *entry_label(json_t *o) {
  json_t *m = json_object_get(o, "metadata");
  const char *s = json_string_value(json_object_get(m, "label"));
  return s ? s : json_string_value(json_object_get(m, "category"));
}

/* Calls fn(o, line index, ctx) for every line of <name>/<file>. */
static int each_json_line(const char *name, const char *file, int (*fn)(json_t *, size_t, void *),
                          void *ctx) {
  char p[4096];
  FILE *f = ds_path(p, sizeof p, name, file) ? NULL : fopen(p, "r");
  if (!f) return corpus_fail(name, file);
  char *line = NULL;
  size_t cap = 0, i = 0;
  ssize_t len;
  int rc = 0;
  while (!rc && (len = getline(&line, &cap, f)) > 0) {
    json_error_t je;
    json_t *o = json_loadb(line, (size_t)len, 0, &je);
    if (!o || !json_is_object(o)) {
      fprintf(stderr, "dataset %s: %s line %zu: %s\n", name, file, i + 1,
              o ? "not an object" : je.text);
      rc = -1;
    } else {
      rc = fn(o, i++, ctx);
    }
    json_decref(o);
  }
  free(line);
  fclose(f);
  return rc;
}

typedef struct {
  ds_corpus *c;
  const char *name;
  int with_text, pass;
  size_t cap_links;
} corpus_ctx;

/* pass 0: label names; pass 1: label per row, texts, links */
static int corpus_line(json_t *o, size_t i, void *vctx) {
  corpus_ctx *x = vctx;
  ds_corpus *c = x->c;
  json_int_t id = json_integer_value(json_object_get(o, "id"));
  if (i >= c->n || (uint64_t)id != c->ids[i])
    return corpus_fail(x->name, "corpus.jsonl does not match ids.u64");
  const char *lab = entry_label(o);
  if (!lab) return corpus_fail(x->name, "an entry without metadata.label");
  if (x->pass == 0) {
    if (!(c->label_names[i] = strdup(lab))) return -1;
    return 0;
  }
  c->label[i] = label_index(c, lab);
  if (x->with_text) {
    const char *t = json_string_value(json_object_get(o, "text"));
    if (!(c->text[i] = strdup(t ? t : ""))) return -1;
  }
  json_t *l;
  size_t j;
  json_array_foreach(json_object_get(o, "links"), j, l) {
    json_int_t dst = json_integer_value(json_object_get(l, "dst"));
    const char *kind = json_string_value(json_object_get(l, "kind"));
    double w = json_number_value(json_object_get(l, "weight"));
    if (ds_corpus_row(c, (uint64_t)dst) < 0) continue;
    if (c->nlinks == x->cap_links) {
      size_t nc = x->cap_links ? 2 * x->cap_links : 1024;
      ds_link *nl = realloc(c->links, nc * sizeof *nl);
      if (!nl) return -1;
      c->links = nl;
      x->cap_links = nc;
    }
    ds_link *e = &c->links[c->nlinks++];
    memset(e, 0, sizeof *e);
    e->src = (uint64_t)id;
    e->dst = (uint64_t)dst;
    snprintf(e->kind, sizeof e->kind, "%s", kind ? kind : "link");
    e->weight = w > 0 && w <= 1 ? (float)w : 1.0f;
  }
  return 0;
}

/* queries.jsonl: label and linked entries (or the older hypernyms_in_corpus) */
static int query_line(json_t *o, size_t i, void *vctx) {
  corpus_ctx *x = vctx;
  ds_corpus *c = x->c;
  if (i >= c->nq) return 0;
  json_int_t id = json_integer_value(json_object_get(o, "id"));
  if ((uint64_t)id != c->qids[i])
    return corpus_fail(x->name, "queries.jsonl does not match query_ids.u64");
  c->qlabel[i] = label_index(c, entry_label(o));
  json_t *ln = json_object_get(o, "linked");
  if (!ln) ln = json_object_get(o, "hypernyms_in_corpus");
  size_t m = json_array_size(ln);
  c->qlinked[i] = malloc((m ? m : 1) * sizeof **c->qlinked);
  if (!c->qlinked[i]) return -1;
  for (size_t j = 0; j < m; j++) {
    uint64_t d = (uint64_t)json_integer_value(json_array_get(ln, j));
    if (ds_corpus_row(c, d) >= 0) c->qlinked[i][c->nqlinked[i]++] = d;
  }
  return 0;
}

int ds_corpus_load(const char *name, size_t max_queries, int with_text, ds_corpus *c) {
  memset(c, 0, sizeof *c);
  char p[4096];
  if (ds_path(p, sizeof p, name, "info.json")) return corpus_fail(name, "path too long");
  json_error_t je;
  json_t *info = json_load_file(p, 0, &je);
  json_int_t dim = json_integer_value(json_object_get(info, "dim"));
  json_decref(info);
  if (dim <= 0 || dim > 65536)
    return corpus_fail(name, "info.json: no dim (run scripts/fetch-data.sh quality)");
  c->dim = (size_t)dim;
  size_t n2, nq2;
  if (ds_path(p, sizeof p, name, "vectors.f32") || ds_load_f32(p, c->dim, &c->vec, &c->n) ||
      ds_path(p, sizeof p, name, "ids.u64") || ds_load_u64(p, &c->ids, &n2) ||
      ds_path(p, sizeof p, name, "queries.f32") || ds_load_f32(p, c->dim, &c->qvec, &c->nq) ||
      ds_path(p, sizeof p, name, "query_ids.u64") || ds_load_u64(p, &c->qids, &nq2)) {
    perror(p);
    goto fail;
  }
  if (n2 != c->n || nq2 != c->nq || c->n == 0) {
    corpus_fail(name, "inconsistent file sizes");
    goto fail;
  }
  if (max_queries && max_queries < c->nq) c->nq = max_queries;
  c->by_id = malloc(2 * c->n * sizeof *c->by_id);
  c->label = malloc(c->n * sizeof *c->label);
  c->label_names = calloc(c->n, sizeof *c->label_names);
  c->text = with_text ? calloc(c->n, sizeof *c->text) : NULL;
  c->qlabel = malloc(c->nq * sizeof *c->qlabel);
  c->qlinked = calloc(c->nq, sizeof *c->qlinked);
  c->nqlinked = calloc(c->nq, sizeof *c->nqlinked);
  if (!c->by_id || !c->label || !c->label_names || (with_text && !c->text) || !c->qlabel ||
      !c->qlinked || !c->nqlinked)
    goto fail;
  for (size_t i = 0; i < c->n; i++) {
    c->by_id[2 * i] = c->ids[i];
    c->by_id[2 * i + 1] = i;
  }
  qsort(c->by_id, c->n, 2 * sizeof *c->by_id, cmp_pair);
  corpus_ctx x = {.c = c, .name = name, .with_text = with_text};
  /* pass 0 collects every row's label, then they are sorted and made unique */
  if (each_json_line(name, "corpus.jsonl", corpus_line, &x)) goto fail;
  qsort(c->label_names, c->n, sizeof *c->label_names, cmp_str);
  size_t u = 0;
  for (size_t i = 0; i < c->n; i++) {
    char *lab = c->label_names[i];
    c->label_names[i] = NULL;
    if (u && !strcmp(c->label_names[u - 1], lab))
      free(lab);
    else
      c->label_names[u++] = lab;
  }
  c->nlabels = u;
  x.pass = 1;
  if (each_json_line(name, "corpus.jsonl", corpus_line, &x)) goto fail;
  if (each_json_line(name, "queries.jsonl", query_line, &x)) goto fail;
  for (size_t i = 0; i < c->nq; i++)
    if (!c->qlinked[i]) {
      corpus_fail(name, "queries.jsonl has fewer lines than query_ids.u64");
      goto fail;
    }
  return 0;
fail:
  ds_corpus_free(c);
  return -1;
}

void ds_corpus_free(ds_corpus *c) {
  free(c->vec);
  free(c->ids);
  free(c->label);
  for (size_t i = 0; c->label_names && i < c->n; i++) free(c->label_names[i]);
  free(c->label_names);
  for (size_t i = 0; c->text && i < c->n; i++) free(c->text[i]);
  free(c->text);
  free(c->links);
  free(c->qvec);
  free(c->qids);
  free(c->qlabel);
  for (size_t i = 0; c->qlinked && i < c->nq; i++) free(c->qlinked[i]);
  free(c->qlinked);
  free(c->nqlinked);
  free(c->by_id);
  memset(c, 0, sizeof *c);
}
