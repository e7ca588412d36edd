/*
 * readers.c: fvecs / npy / jsonl readers of the precis CLI (see readers.h).
 * Sizes read from a file are checked against precis/limits.h before any
 * allocation; short reads are truncation, reported with the record index.
 */
#include "readers.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "byteorder.h"

struct rd_reader {
  FILE *f;
  rd_format fmt;
  uint32_t dim;       /* fixed dimension, 0 = not yet known */
  int dim_fixed;      /* dim came from the caller or the npy header */
  uint64_t index;     /* next record index */
  uint64_t line;      /* lines consumed (jsonl) */
  int64_t total;      /* -1 unknown */
  uint64_t npy_rows;
  float *buf;         /* fvecs / npy row buffer */
  uint32_t bufcap;    /* floats in buf */
  char *linebuf;      /* jsonl */
  size_t linecap;
};

static void msg(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void msg(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

void rd_record_clear(rd_record *rec) {
  if (!rec)
    return;
  free(rec->vector);
  free(rec->text);
  free(rec->metadata);
  free(rec->links);
  memset(rec, 0, sizeof *rec);
  rec->tokens = -1;
}

int rd_format_parse(const char *name, rd_format *out) {
  if (!name)
    return -1;
  if (!strcasecmp(name, "fvecs"))
    *out = RD_FMT_FVECS;
  else if (!strcasecmp(name, "npy"))
    *out = RD_FMT_NPY;
  else if (!strcasecmp(name, "jsonl") || !strcasecmp(name, "ndjson"))
    *out = RD_FMT_JSONL;
  else
    return -1;
  return 0;
}

int rd_format_guess(const char *path, rd_format *out) {
  const char *dot = path ? strrchr(path, '.') : NULL;
  if (!dot)
    return -1;
  if (!strcasecmp(dot, ".json"))
    return rd_format_parse("jsonl", out);
  return rd_format_parse(dot + 1, out);
}

const char *rd_format_name(rd_format f) {
  switch (f) {
  case RD_FMT_FVECS: return "fvecs";
  case RD_FMT_NPY: return "npy";
  case RD_FMT_JSONL: return "jsonl";
  }
  return "?";
}

/* Little-endian float32 array in place (no-op on little-endian hosts). */
static void fix_endian(float *v, uint32_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (uint32_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &v[i], 4);
    u = byte_get_le32((const uint8_t *)&u);
    memcpy(&v[i], &u, 4);
  }
#else
  (void)v;
  (void)n;
#endif
}

static int first_nonfinite(const float *v, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return (int)i;
  return -1;
}

/* Size of a seekable file from the current position, or -1. */
static int64_t remaining_bytes(FILE *f) {
  long here = ftell(f);
  if (here < 0)
    return -1;
  if (fseek(f, 0, SEEK_END) != 0)
    return -1;
  long end = ftell(f);
  if (fseek(f, here, SEEK_SET) != 0 || end < here)
    return -1;
  return (int64_t)(end - here);
}

/* ------------------------------------------------------------------ */
/* npy header                                                          */
/* ------------------------------------------------------------------ */

typedef struct {
  const char *p, *end;
} lex;

static void skip_ws(lex *l) {
  while (l->p < l->end && isspace((unsigned char)*l->p))
    l->p++;
}

static int eat(lex *l, char c) {
  skip_ws(l);
  if (l->p < l->end && *l->p == c) {
    l->p++;
    return 1;
  }
  return 0;
}

/* Python string literal '...' or "..." (no escapes needed for npy keys and
 * dtypes; a backslash escape is copied through). */
static int lex_string(lex *l, char *out, size_t cap) {
  skip_ws(l);
  if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
    return -1;
  char q = *l->p++;
  size_t n = 0;
  while (l->p < l->end && *l->p != q) {
    if (*l->p == '\\' && l->p + 1 < l->end)
      l->p++;
    if (n + 1 < cap)
      out[n++] = *l->p;
    l->p++;
  }
  if (l->p >= l->end)
    return -1;
  l->p++;
  out[n] = '\0';
  return 0;
}

static int lex_word(lex *l, const char *w) {
  skip_ws(l);
  size_t n = strlen(w);
  if ((size_t)(l->end - l->p) >= n && !memcmp(l->p, w, n)) {
    l->p += n;
    return 1;
  }
  return 0;
}

static int lex_uint(lex *l, uint64_t *v) {
  skip_ws(l);
  if (l->p >= l->end || !isdigit((unsigned char)*l->p))
    return -1;
  uint64_t x = 0;
  while (l->p < l->end && isdigit((unsigned char)*l->p)) {
    unsigned d = (unsigned)(*l->p - '0');
    if (x > (UINT64_MAX - d) / 10)
      return -1;
    x = x * 10 + d;
    l->p++;
  }
  if (l->p < l->end && (*l->p == 'L' || *l->p == 'l'))
    l->p++; /* Python 2 long suffix */
  *v = x;
  return 0;
}

/* Skip any other value: string, word, number or (nested) tuple/list. */
static int lex_skip_value(lex *l, int depth) {
  skip_ws(l);
  if (l->p >= l->end || depth > 8)
    return -1;
  char c = *l->p;
  if (c == '\'' || c == '"') {
    char tmp[8];
    return lex_string(l, tmp, sizeof tmp);
  }
  if (c == '(' || c == '[') {
    char close = c == '(' ? ')' : ']';
    l->p++;
    for (;;) {
      if (eat(l, close))
        return 0;
      if (lex_skip_value(l, depth + 1) < 0)
        return -1;
      if (!eat(l, ',') && !(skip_ws(l), l->p < l->end && *l->p == close))
        return -1;
    }
  }
  const char *start = l->p;
  while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '.' ||
                           *l->p == '-' || *l->p == '+' || *l->p == '_'))
    l->p++;
  return l->p > start ? 0 : -1;
}

int rd_npy_parse(const uint8_t *buf, size_t len, rd_npy_info *info,
                 size_t *need, char *err, size_t errlen) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (len < 10) {
    if (memcmp(buf, magic, len < 6 ? len : 6) != 0) {
      msg(err, errlen, "not an .npy file (bad magic)");
      return -1;
    }
    *need = 10;
    return 1;
  }
  if (memcmp(buf, magic, 6) != 0) {
    msg(err, errlen, "not an .npy file (bad magic)");
    return -1;
  }
  unsigned major = buf[6];
  size_t pre, hlen;
  if (major == 1) {
    pre = 10;
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
  } else if (major == 2 || major == 3) {
    if (len < 12) {
      *need = 12;
      return 1;
    }
    pre = 12;
    hlen = byte_get_le32(buf + 8);
    if (hlen > (1u << 20)) {
      msg(err, errlen, ".npy header of %zu bytes is implausibly large", hlen);
      return -1;
    }
  } else {
    msg(err, errlen, "unsupported .npy format version %u", major);
    return -1;
  }
  if (len < pre + hlen) {
    *need = pre + hlen;
    return 1;
  }
  lex l = {(const char *)buf + pre, (const char *)buf + pre + hlen};
  char descr[32] = "";
  int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
  uint64_t shape[3] = {0, 0, 0};
  int ndim = 0;
  if (!eat(&l, '{')) {
    msg(err, errlen, ".npy header is not a dict");
    return -1;
  }
  while (!eat(&l, '}')) {
    char key[32];
    if (lex_string(&l, key, sizeof key) < 0 || !eat(&l, ':')) {
      msg(err, errlen, ".npy header: malformed dict");
      return -1;
    }
    if (!strcmp(key, "descr")) {
      if (lex_string(&l, descr, sizeof descr) < 0) {
        msg(err, errlen, ".npy header: descr is not a simple dtype string "
                         "(structured arrays are not supported)");
        return -1;
      }
      have_descr = 1;
    } else if (!strcmp(key, "fortran_order")) {
      if (lex_word(&l, "True"))
        fortran = 1;
      else if (!lex_word(&l, "False")) {
        msg(err, errlen, ".npy header: fortran_order is not True/False");
        return -1;
      }
      have_order = 1;
    } else if (!strcmp(key, "shape")) {
      if (!eat(&l, '(')) {
        msg(err, errlen, ".npy header: shape is not a tuple");
        return -1;
      }
      ndim = 0;
      while (!eat(&l, ')')) {
        uint64_t v;
        if (lex_uint(&l, &v) < 0) {
          msg(err, errlen, ".npy header: bad shape entry");
          return -1;
        }
        if (ndim < 3)
          shape[ndim] = v;
        ndim++;
        if (!eat(&l, ',')) {
          if (!eat(&l, ')')) {
            msg(err, errlen, ".npy header: malformed shape tuple");
            return -1;
          }
          break;
        }
      }
      have_shape = 1;
    } else if (lex_skip_value(&l, 0) < 0) {
      msg(err, errlen, ".npy header: bad value for key '%s'", key);
      return -1;
    }
    if (!eat(&l, ',')) {
      if (!eat(&l, '}')) {
        msg(err, errlen, ".npy header: malformed dict");
        return -1;
      }
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape) {
    msg(err, errlen, ".npy header lacks descr, fortran_order or shape");
    return -1;
  }
  if (strcmp(descr, "<f4") != 0) {
    msg(err, errlen,
        "unsupported .npy dtype '%s': need little-endian float32 '<f4' "
        "(convert with arr.astype('<f4'))",
        descr);
    return -1;
  }
  if (fortran) {
    msg(err, errlen,
        ".npy array is in Fortran order; need C order "
        "(save np.ascontiguousarray(arr))");
    return -1;
  }
  if (ndim != 2) {
    msg(err, errlen, ".npy array has %d dimension%s; need a 2-D array "
                     "(rows x dim)",
        ndim, ndim == 1 ? "" : "s");
    return -1;
  }
  if (shape[1] == 0 || shape[1] > PRECIS_MAX_DIM) {
    msg(err, errlen, ".npy vector dimension %llu outside 1..%d",
        (unsigned long long)shape[1], PRECIS_MAX_DIM);
    return -1;
  }
  if (shape[0] > (UINT64_MAX / 4) / shape[1]) {
    msg(err, errlen, ".npy shape too large");
    return -1;
  }
  info->rows = shape[0];
  info->cols = (uint32_t)shape[1];
  info->data_offset = pre + hlen;
  return 0;
}

static int npy_open(rd_reader *r, char *err, size_t errlen) {
  size_t cap = 64, have = 0, need = 10;
  uint8_t *buf = malloc(cap);
  if (!buf) {
    msg(err, errlen, "out of memory");
    return -1;
  }
  rd_npy_info info;
  for (;;) {
    if (need > cap) {
      uint8_t *nb = realloc(buf, need);
      if (!nb) {
        free(buf);
        msg(err, errlen, "out of memory");
        return -1;
      }
      buf = nb;
      cap = need;
    }
    size_t got = fread(buf + have, 1, need - have, r->f);
    have += got;
    if (have < need) {
      /* parse what we have for a precise message (bad magic) */
      size_t n2;
      if (have == 0 || rd_npy_parse(buf, have, &info, &n2, err, errlen) != -1)
        msg(err, errlen, ".npy file truncated in its header (%zu bytes)", have);
      free(buf);
      return -1;
    }
    int rc = rd_npy_parse(buf, have, &info, &need, err, errlen);
    if (rc < 0) {
      free(buf);
      return -1;
    }
    if (rc == 0)
      break;
  }
  free(buf);
  if (r->dim && r->dim != info.cols) {
    msg(err, errlen, ".npy vectors have dim %u, expected %u", info.cols,
        r->dim);
    return -1;
  }
  r->dim = info.cols;
  r->dim_fixed = 1;
  r->npy_rows = info.rows;
  r->total = (int64_t)info.rows;
  return 0;
}

/* ------------------------------------------------------------------ */
/* open / next / close                                                 */
/* ------------------------------------------------------------------ */

int rd_open(FILE *f, rd_format fmt, uint32_t expect_dim, rd_reader **out,
            char *err, size_t errlen) {
  *out = NULL;
  if (expect_dim > PRECIS_MAX_DIM) {
    msg(err, errlen, "expected dim %u exceeds %d", expect_dim, PRECIS_MAX_DIM);
    return -1;
  }
  rd_reader *r = calloc(1, sizeof *r);
  if (!r) {
    msg(err, errlen, "out of memory");
    return -1;
  }
  r->f = f;
  r->fmt = fmt;
  r->dim = expect_dim;
  r->dim_fixed = expect_dim != 0;
  r->total = -1;
  if (fmt == RD_FMT_NPY && npy_open(r, err, errlen) < 0) {
    free(r);
    return -1;
  }
  if (fmt == RD_FMT_FVECS) {
    /* total from the size of a seekable file and its first dim */
    int64_t bytes = remaining_bytes(f);
    uint8_t hdr[4];
    long here = ftell(f);
    if (bytes > 0 && here >= 0 && fread(hdr, 1, 4, f) == 4) {
      uint32_t d = byte_get_le32(hdr);
      if (d > 0 && d <= PRECIS_MAX_DIM && bytes % (4 + 4 * (int64_t)d) == 0)
        r->total = bytes / (4 + 4 * (int64_t)d);
    }
    if (here >= 0 && fseek(f, here, SEEK_SET) != 0) {
      msg(err, errlen, "cannot rewind input: %s", strerror(errno));
      free(r);
      return -1;
    }
    clearerr(f);
  }
  if (r->dim) {
    r->buf = malloc((size_t)r->dim * sizeof(float));
    r->bufcap = r->dim;
    if (!r->buf) {
      msg(err, errlen, "out of memory");
      free(r);
      return -1;
    }
  }
  *out = r;
  return 0;
}

int64_t rd_total(const rd_reader *r) { return r->total; }
uint32_t rd_dim(const rd_reader *r) { return r->dim; }

void rd_close(rd_reader *r) {
  if (!r)
    return;
  free(r->buf);
  free(r->linebuf);
  free(r);
}

static int io_or_trunc(rd_reader *r, uint64_t idx, const char *what,
                       char *err, size_t errlen) {
  if (ferror(r->f))
    msg(err, errlen, "record %llu: read error: %s", (unsigned long long)idx,
        strerror(errno));
  else
    msg(err, errlen, "record %llu: file truncated in the %s",
        (unsigned long long)idx, what);
  return RD_FATAL;
}

/* Hand the row buffer to the record (a copy, so the buffer is reused). */
static int emit_vector(rd_reader *r, rd_record *rec, uint32_t dim,
                       char *err, size_t errlen) {
  rec->vector = malloc((size_t)dim * sizeof(float));
  if (!rec->vector) {
    msg(err, errlen, "out of memory");
    return RD_FATAL;
  }
  memcpy(rec->vector, r->buf, (size_t)dim * sizeof(float));
  rec->dim = dim;
  return RD_RECORD;
}

static int next_fvecs(rd_reader *r, rd_record *rec, char *err,
                      size_t errlen) {
  uint64_t idx = r->index;
  uint8_t hdr[4];
  size_t got = fread(hdr, 1, 4, r->f);
  if (got == 0 && !ferror(r->f))
    return RD_EOF;
  if (got < 4)
    return io_or_trunc(r, idx, "dimension header", err, errlen);
  uint32_t d = byte_get_le32(hdr);
  if (d == 0 || d > PRECIS_MAX_DIM) {
    msg(err, errlen,
        "record %llu: dimension %d outside 1..%d (not an .fvecs file, or "
        "corrupt)",
        (unsigned long long)idx, (int32_t)d, PRECIS_MAX_DIM);
    return RD_FATAL;
  }
  if (d > r->bufcap) {
    float *nb = realloc(r->buf, (size_t)d * sizeof(float));
    if (!nb) {
      msg(err, errlen, "out of memory");
      return RD_FATAL;
    }
    r->buf = nb;
    r->bufcap = d;
  }
  if (!r->dim)
    r->dim = d;
  if (fread(r->buf, sizeof(float), d, r->f) != d)
    return io_or_trunc(r, idx, "vector data", err, errlen);
  r->index++;
  rec->index = idx;
  rec->id = idx;
  if (d != r->dim) {
    msg(err, errlen, "record %llu: dimension %u, expected %u",
        (unsigned long long)idx, d, r->dim);
    return RD_BAD;
  }
  fix_endian(r->buf, d);
  int bad = first_nonfinite(r->buf, d);
  if (bad >= 0) {
    msg(err, errlen, "record %llu: component %d is NaN or infinite",
        (unsigned long long)idx, bad);
    return RD_BAD;
  }
  return emit_vector(r, rec, d, err, errlen);
}

static int next_npy(rd_reader *r, rd_record *rec, char *err, size_t errlen) {
  uint64_t idx = r->index;
  if (idx >= r->npy_rows)
    return RD_EOF;
  if (fread(r->buf, sizeof(float), r->dim, r->f) != r->dim)
    return io_or_trunc(r, idx, "array data", err, errlen);
  r->index++;
  rec->index = idx;
  rec->id = idx;
  fix_endian(r->buf, r->dim);
  int bad = first_nonfinite(r->buf, r->dim);
  if (bad >= 0) {
    msg(err, errlen, "record %llu: component %d is NaN or infinite",
        (unsigned long long)idx, bad);
    return RD_BAD;
  }
  return emit_vector(r, rec, r->dim, err, errlen);
}

static int next_jsonl(rd_reader *r, rd_record *rec, char *err,
                      size_t errlen) {
  for (;;) {
    errno = 0;
    ssize_t n = getline(&r->linebuf, &r->linecap, r->f);
    if (n < 0) {
      if (ferror(r->f)) {
        msg(err, errlen, "line %llu: read error: %s",
            (unsigned long long)(r->line + 1), strerror(errno));
        return RD_FATAL;
      }
      return RD_EOF;
    }
    r->line++;
    char sub[224];
    int rc = rd_jsonl_parse(r->linebuf, (size_t)n, r->dim, rec, sub,
                            sizeof sub);
    if (rc == 1)
      continue; /* blank */
    uint64_t idx = r->index++;
    rec->index = idx;
    rec->line = r->line;
    if (rc < 0) {
      rd_record_clear(rec);
      msg(err, errlen, "line %llu: %s", (unsigned long long)r->line, sub);
      return RD_BAD;
    }
    if (!rec->has_id)
      rec->id = idx;
    rec->index = idx;
    rec->line = r->line;
    if (!r->dim)
      r->dim = rec->dim;
    return RD_RECORD;
  }
}

int rd_next(rd_reader *r, rd_record *rec, char *err, size_t errlen) {
  rd_record_clear(rec);
  switch (r->fmt) {
  case RD_FMT_FVECS: return next_fvecs(r, rec, err, errlen);
  case RD_FMT_NPY: return next_npy(r, rec, err, errlen);
  case RD_FMT_JSONL: return next_jsonl(r, rec, err, errlen);
  }
  msg(err, errlen, "unknown format");
  return RD_FATAL;
}

/* ------------------------------------------------------------------ */
/* jsonl                                                               */
/* ------------------------------------------------------------------ */

static int json_to_u64(json_t *v, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return -1;
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static int parse_links(json_t *links, rd_record *rec, char *err,
                       size_t errlen) {
  if (json_is_null(links))
    return 0;
  if (!json_is_array(links)) {
    msg(err, errlen, "\"links\" is not an array");
    return -1;
  }
  size_t n = json_array_size(links);
  if (n == 0)
    return 0;
  if (n > PRECIS_MAX_BATCH) {
    msg(err, errlen, "%zu links exceed %d", n, PRECIS_MAX_BATCH);
    return -1;
  }
  rec->links = calloc(n, sizeof *rec->links);
  if (!rec->links) {
    msg(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *l = json_array_get(links, i);
    rd_link *d = &rec->links[i];
    if (!json_is_object(l)) {
      msg(err, errlen, "links[%zu] is not an object", i);
      return -1;
    }
    if (json_to_u64(json_object_get(l, "dst"), &d->dst) < 0) {
      msg(err, errlen, "links[%zu].dst is not an integer >= 0", i);
      return -1;
    }
    json_t *k = json_object_get(l, "kind");
    const char *ks = json_string_value(k);
    if (!ks || !*ks || strlen(ks) > PRECIS_MAX_LINK_KIND_LEN) {
      msg(err, errlen, "links[%zu].kind must be a string of 1..%d bytes", i,
          PRECIS_MAX_LINK_KIND_LEN);
      return -1;
    }
    strcpy(d->kind, ks);
    json_t *w = json_object_get(l, "weight");
    if (!w || json_is_null(w))
      d->weight = 1.0f;
    else if (json_is_number(w) && isfinite(json_number_value(w)))
      d->weight = (float)json_number_value(w);
    else {
      msg(err, errlen, "links[%zu].weight is not a finite number", i);
      return -1;
    }
    rec->n_links = i + 1;
  }
  return 0;
}

int rd_jsonl_parse(const char *line, size_t len, uint32_t expect_dim,
                   rd_record *rec, char *err, size_t errlen) {
  rd_record_clear(rec);
  size_t i = 0;
  while (i < len && isspace((unsigned char)line[i]))
    i++;
  if (i == len)
    return 1;
  json_error_t je;
  json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
  if (!o) {
    msg(err, errlen, "invalid JSON at column %d: %s", je.column, je.text);
    return -1;
  }
  int rc = -1;
  if (!json_is_object(o)) {
    msg(err, errlen, "expected a JSON object");
    goto out;
  }
  json_t *id = json_object_get(o, "id");
  if (id && !json_is_null(id)) {
    if (json_to_u64(id, &rec->id) < 0) {
      msg(err, errlen, "\"id\" is not an integer >= 0");
      goto out;
    }
    rec->has_id = 1;
  }
  json_t *vec = json_object_get(o, "vector");
  if (!json_is_array(vec) || json_array_size(vec) == 0) {
    msg(err, errlen, "\"vector\" is missing or not a non-empty array");
    goto out;
  }
  size_t d = json_array_size(vec);
  if (d > PRECIS_MAX_DIM) {
    msg(err, errlen, "vector has %zu components, more than %d", d,
        PRECIS_MAX_DIM);
    goto out;
  }
  if (expect_dim && d != expect_dim) {
    msg(err, errlen, "vector has %zu components, expected %u", d, expect_dim);
    goto out;
  }
  rec->vector = malloc(d * sizeof(float));
  if (!rec->vector) {
    msg(err, errlen, "out of memory");
    goto out;
  }
  for (size_t j = 0; j < d; j++) {
    json_t *x = json_array_get(vec, j);
    double v = json_is_number(x) ? json_number_value(x) : NAN;
    float fv = (float)v;
    if (!json_is_number(x) || !isfinite(fv)) {
      msg(err, errlen, "vector[%zu] is not a finite number", j);
      goto out;
    }
    rec->vector[j] = fv;
  }
  rec->dim = (uint32_t)d;
  json_t *text = json_object_get(o, "text");
  if (text && !json_is_null(text)) {
    if (!json_is_string(text)) {
      msg(err, errlen, "\"text\" is not a string");
      goto out;
    }
    if (json_string_length(text) > PRECIS_MAX_TEXT_BYTES) {
      msg(err, errlen, "\"text\" exceeds %u bytes", PRECIS_MAX_TEXT_BYTES);
      goto out;
    }
    if (strlen(json_string_value(text)) != json_string_length(text)) {
      msg(err, errlen, "\"text\" contains a NUL character");
      goto out;
    }
    rec->text = strdup(json_string_value(text));
    if (!rec->text) {
      msg(err, errlen, "out of memory");
      goto out;
    }
  }
  json_t *meta = json_object_get(o, "metadata");
  if (meta && !json_is_null(meta)) {
    if (!json_is_object(meta)) {
      msg(err, errlen, "\"metadata\" is not a JSON object");
      goto out;
    }
    rec->metadata = json_dumps(meta, JSON_COMPACT);
    if (!rec->metadata) {
      msg(err, errlen, "cannot serialise \"metadata\"");
      goto out;
    }
    if (strlen(rec->metadata) > PRECIS_MAX_META_BYTES) {
      msg(err, errlen, "\"metadata\" exceeds %u bytes", PRECIS_MAX_META_BYTES);
      goto out;
    }
  }
  json_t *tok = json_object_get(o, "tokens");
  if (tok && !json_is_null(tok)) {
    if (!json_is_integer(tok) || json_integer_value(tok) < 0) {
      msg(err, errlen, "\"tokens\" is not an integer >= 0");
      goto out;
    }
    rec->tokens = json_integer_value(tok);
  }
  json_t *links = json_object_get(o, "links");
  if (links && parse_links(links, rec, err, errlen) < 0)
    goto out;
  rc = 0;
out:
  json_decref(o);
  if (rc != 0)
    rd_record_clear(rec);
  return rc;
}

int rd_parse_vector_text(const char *s, float **out, uint32_t *dim, char *err,
                         size_t errlen) {
  *out = NULL;
  *dim = 0;
  size_t cap = 16, n = 0;
  float *v = malloc(cap * sizeof *v);
  if (!v) {
    msg(err, errlen, "out of memory");
    return -1;
  }
  const char *p = s ? s : "";
  for (;;) {
    while (*p && (isspace((unsigned char)*p) || *p == ',' || *p == '[' ||
                  *p == ']'))
      p++;
    if (!*p)
      break;
    char *end;
    errno = 0;
    float x = strtof(p, &end);
    if (end == p || !isfinite(x)) {
      msg(err, errlen, "component %zu is not a finite number near \"%.20s\"",
          n, p);
      free(v);
      return -1;
    }
    if (n == PRECIS_MAX_DIM) {
      msg(err, errlen, "vector has more than %d components", PRECIS_MAX_DIM);
      free(v);
      return -1;
    }
    if (n == cap) {
      cap *= 2;
      float *nv = realloc(v, cap * sizeof *nv);
      if (!nv) {
        free(v);
        msg(err, errlen, "out of memory");
        return -1;
      }
      v = nv;
    }
    v[n++] = x;
    p = end;
    if (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ']') {
      msg(err, errlen, "unexpected character '%c' after component %zu", *p,
          n - 1);
      free(v);
      return -1;
    }
  }
  if (n == 0) {
    msg(err, errlen, "empty vector");
    free(v);
    return -1;
  }
  *out = v;
  *dim = (uint32_t)n;
  return 0;
}
