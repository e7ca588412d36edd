/*
 * readers.c: fvecs / npy / jsonl readers of the precis CLI (see readers.h).
 * Sizes read from a file are checked against precis/limits.h before any
 * allocation; short reads are truncation, reported with the record index.
 */
#include "readers.h"
#include "readers_internal.h"

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
  uint32_t dim;   /* fixed dimension, 0 = not yet known */
  int dim_fixed;  /* dim came from the caller or the npy header */
  uint64_t index; /* next record index */
  uint64_t line;  /* lines consumed (jsonl) */
  int64_t total;  /* -1 unknown */
  uint64_t npy_rows;
  float *buf;      /* fvecs / npy row buffer */
  uint32_t bufcap; /* floats in buf */
  char *linebuf;   /* jsonl */
  size_t linecap;
};

void rd__msg(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

void rd_record_clear(rd_record *rec) {
  if (!rec) return;
  free(rec->vector);
  free(rec->text);
  free(rec->metadata);
  free(rec->links);
  memset(rec, 0, sizeof *rec);
  rec->tokens = -1;
}

int rd_format_parse(const char *name, rd_format *out) {
  if (!name) return -1;
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
  if (!dot) return -1;
  if (!strcasecmp(dot, ".json")) return rd_format_parse("jsonl", out);
  return rd_format_parse(dot + 1, out);
}

const char *rd_format_name(rd_format f) {
  switch (f) {
    case RD_FMT_FVECS:
      return "fvecs";
    case RD_FMT_NPY:
      return "npy";
    case RD_FMT_JSONL:
      return "jsonl";
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
    if (!isfinite(v[i])) return (int)i;
  return -1;
}

/* Size of a seekable file from the current position, or -1. */
static int64_t remaining_bytes(FILE *f) {
  long here = ftell(f);
  if (here < 0) return -1;
  if (fseek(f, 0, SEEK_END) != 0) return -1;
  long end = ftell(f);
  if (fseek(f, here, SEEK_SET) != 0 || end < here) return -1;
  return (int64_t)(end - here);
}

/* ------------------------------------------------------------------ */
/* npy header                                                          */
/* ------------------------------------------------------------------ */

typedef struct {
  const char *p, *end;
} lex;

static void skip_ws(lex *l) {
  while (l->p < l->end && isspace((unsigned char)*l->p)) l->p++;
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
  if (l->p >= l->end || (*l->p != '\'' && *l->p != '"')) return -1;
  char q = *l->p++;
  size_t n = 0;
  while (l->p < l->end && *l->p != q) {
    if (*l->p == '\\' && l->p + 1 < l->end) l->p++;
    if (n + 1 < cap) out[n++] = *l->p;
    l->p++;
  }
  if (l->p >= l->end) return -1;
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
  if (l->p >= l->end || !isdigit((unsigned char)*l->p)) return -1;
  uint64_t x = 0;
  while (l->p < l->end && isdigit((unsigned char)*l->p)) {
    unsigned d = (unsigned)(*l->p - '0');
    if (x > (UINT64_MAX - d) / 10) return -1;
    x = x * 10 + d;
    l->p++;
  }
  if (l->p < l->end && (*l->p == 'L' || *l->p == 'l')) l->p++; /* Python 2 long suffix */
  *v = x;
  return 0;
}

/* Skip any other value: string, word, number or (nested) tuple/list. */
static int lex_skip_value(lex *l, int depth) {
  skip_ws(l);
  if (l->p >= l->end || depth > 8) return -1;
  char c = *l->p;
  if (c == '\'' || c == '"') {
    char tmp[8];
    return lex_string(l, tmp, sizeof tmp);
  }
  if (c == '(' || c == '[') {
    char close = c == '(' ? ')' : ']';
    l->p++;
    for (;;) {
      if (eat(l, close)) return 0;
      if (lex_skip_value(l, depth + 1) < 0) return -1;
      if (!eat(l, ',') && !(skip_ws(l), l->p < l->end && *l->p == close)) return -1;
    }
  }
  const char *start = l->p;
  while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '.' || *l->p == '-' ||
                           *l->p == '+' || *l->p == '_'))
    l->p++;
  return l->p > start ? 0 : -1;
}

int rd_npy_parse(const uint8_t *buf, size_t len, rd_npy_info *info, size_t *need, char *err,
                 size_t errlen) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (len < 10) {
    if (memcmp(buf, magic, len < 6 ? len : 6) != 0) {
      rd__msg(err, errlen, "not an .npy file (bad magic)");
      return -1;
    }
    *need = 10;
    return 1;
  }
  if (memcmp(buf, magic, 6) != 0) {
    rd__msg(err, errlen, "not an .npy file (bad magic)");
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
      rd__msg(err, errlen, ".npy header of %zu bytes is implausibly large", hlen);
      return -1;
    }
  } else {
    rd__msg(err, errlen, "unsupported .npy format version %u", major);
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
    rd__msg(err, errlen, ".npy header is not a dict");
    return -1;
  }
  while (!eat(&l, '}')) {
    char key[32];
    if (lex_string(&l, key, sizeof key) < 0 || !eat(&l, ':')) {
      rd__msg(err, errlen, ".npy header: malformed dict");
      return -1;
    }
    if (!strcmp(key, "descr")) {
      if (lex_string(&l, descr, sizeof descr) < 0) {
        rd__msg(err, errlen,
                ".npy header: descr is not a simple dtype string "
                "(structured arrays are not supported)");
        return -1;
      }
      have_descr = 1;
    } else if (!strcmp(key, "fortran_order")) {
      if (lex_word(&l, "True"))
        fortran = 1;
      else if (!lex_word(&l, "False")) {
        rd__msg(err, errlen, ".npy header: fortran_order is not True/False");
        return -1;
      }
      have_order = 1;
    } else if (!strcmp(key, "shape")) {
      if (!eat(&l, '(')) {
        rd__msg(err, errlen, ".npy header: shape is not a tuple");
        return -1;
      }
      ndim = 0;
      while (!eat(&l, ')')) {
        uint64_t v;
        if (lex_uint(&l, &v) < 0) {
          rd__msg(err, errlen, ".npy header: bad shape entry");
          return -1;
        }
        if (ndim < 3) shape[ndim] = v;
        ndim++;
        if (!eat(&l, ',')) {
          if (!eat(&l, ')')) {
            rd__msg(err, errlen, ".npy header: malformed shape tuple");
            return -1;
          }
          break;
        }
      }
      have_shape = 1;
    } else if (lex_skip_value(&l, 0) < 0) {
      rd__msg(err, errlen, ".npy header: bad value for key '%s'", key);
      return -1;
    }
    if (!eat(&l, ',')) {
      if (!eat(&l, '}')) {
        rd__msg(err, errlen, ".npy header: malformed dict");
        return -1;
      }
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape) {
    rd__msg(err, errlen, ".npy header lacks descr, fortran_order or shape");
    return -1;
  }
  if (strcmp(descr, "<f4") != 0) {
    rd__msg(err, errlen,
            "unsupported .npy dtype '%s': need little-endian float32 '<f4' "
            "(convert with arr.astype('<f4'))",
            descr);
    return -1;
  }
  if (fortran) {
    rd__msg(err, errlen,
            ".npy array is in Fortran order; need C order "
            "(save np.ascontiguousarray(arr))");
    return -1;
  }
  if (ndim != 2) {
    rd__msg(err, errlen,
            ".npy array has %d dimension%s; need a 2-D array "
            "(rows x dim)",
            ndim, ndim == 1 ? "" : "s");
    return -1;
  }
  if (shape[1] == 0 || shape[1] > PRECIS_MAX_DIM) {
    rd__msg(err, errlen, ".npy vector dimension %llu outside 1..%d", (unsigned long long)shape[1],
            PRECIS_MAX_DIM);
    return -1;
  }
  if (shape[0] > (UINT64_MAX / 4) / shape[1]) {
    rd__msg(err, errlen, ".npy shape too large");
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
    rd__msg(err, errlen, "out of memory");
    return -1;
  }
  rd_npy_info info;
  for (;;) {
    if (need > cap) {
      uint8_t *nb = realloc(buf, need);
      if (!nb) {
        free(buf);
        rd__msg(err, errlen, "out of memory");
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
        rd__msg(err, errlen, ".npy file truncated in its header (%zu bytes)", have);
      free(buf);
      return -1;
    }
    int rc = rd_npy_parse(buf, have, &info, &need, err, errlen);
    if (rc < 0) {
      free(buf);
      return -1;
    }
    if (rc == 0) break;
  }
  free(buf);
  if (r->dim && r->dim != info.cols) {
    rd__msg(err, errlen, ".npy vectors have dim %u, expected %u", info.cols, r->dim);
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

int rd_open(FILE *f, rd_format fmt, uint32_t expect_dim, rd_reader **out, char *err,
            size_t errlen) {
  *out = NULL;
  if (expect_dim > PRECIS_MAX_DIM) {
    rd__msg(err, errlen, "expected dim %u exceeds %d", expect_dim, PRECIS_MAX_DIM);
    return -1;
  }
  rd_reader *r = calloc(1, sizeof *r);
  if (!r) {
    rd__msg(err, errlen, "out of memory");
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
      rd__msg(err, errlen, "cannot rewind input: %s", strerror(errno));
      free(r);
      return -1;
    }
    clearerr(f);
  }
  if (r->dim) {
    r->buf = malloc((size_t)r->dim * sizeof(float));
    r->bufcap = r->dim;
    if (!r->buf) {
      rd__msg(err, errlen, "out of memory");
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
  if (!r) return;
  free(r->buf);
  free(r->linebuf);
  free(r);
}

static int io_or_trunc(rd_reader *r, uint64_t idx, const char *what, char *err, size_t errlen) {
  if (ferror(r->f))
    rd__msg(err, errlen, "record %llu: read error: %s", (unsigned long long)idx, strerror(errno));
  else
    rd__msg(err, errlen, "record %llu: file truncated in the %s", (unsigned long long)idx, what);
  return RD_FATAL;
}

/* Hand the row buffer to the record (a copy, so the buffer is reused). */
static int emit_vector(rd_reader *r, rd_record *rec, uint32_t dim, char *err, size_t errlen) {
  rec->vector = malloc((size_t)dim * sizeof(float));
  if (!rec->vector) {
    rd__msg(err, errlen, "out of memory");
    return RD_FATAL;
  }
  memcpy(rec->vector, r->buf, (size_t)dim * sizeof(float));
  rec->dim = dim;
  return RD_RECORD;
}

static int next_fvecs(rd_reader *r, rd_record *rec, char *err, size_t errlen) {
  uint64_t idx = r->index;
  uint8_t hdr[4];
  size_t got = fread(hdr, 1, 4, r->f);
  if (got == 0 && !ferror(r->f)) return RD_EOF;
  if (got < 4) return io_or_trunc(r, idx, "dimension header", err, errlen);
  uint32_t d = byte_get_le32(hdr);
  if (d == 0 || d > PRECIS_MAX_DIM) {
    rd__msg(err, errlen,
            "record %llu: dimension %d outside 1..%d (not an .fvecs file, or "
            "corrupt)",
            (unsigned long long)idx, (int32_t)d, PRECIS_MAX_DIM);
    return RD_FATAL;
  }
  if (d > r->bufcap) {
    float *nb = realloc(r->buf, (size_t)d * sizeof(float));
    if (!nb) {
      rd__msg(err, errlen, "out of memory");
      return RD_FATAL;
    }
    r->buf = nb;
    r->bufcap = d;
  }
  if (!r->dim) r->dim = d;
  if (fread(r->buf, sizeof(float), d, r->f) != d)
    return io_or_trunc(r, idx, "vector data", err, errlen);
  r->index++;
  rec->index = idx;
  rec->id = idx;
  if (d != r->dim) {
    rd__msg(err, errlen, "record %llu: dimension %u, expected %u", (unsigned long long)idx, d,
            r->dim);
    return RD_BAD;
  }
  fix_endian(r->buf, d);
  int bad = first_nonfinite(r->buf, d);
  if (bad >= 0) {
    rd__msg(err, errlen, "record %llu: component %d is NaN or infinite", (unsigned long long)idx,
            bad);
    return RD_BAD;
  }
  return emit_vector(r, rec, d, err, errlen);
}

static int next_npy(rd_reader *r, rd_record *rec, char *err, size_t errlen) {
  uint64_t idx = r->index;
  if (idx >= r->npy_rows) return RD_EOF;
  if (fread(r->buf, sizeof(float), r->dim, r->f) != r->dim)
    return io_or_trunc(r, idx, "array data", err, errlen);
  r->index++;
  rec->index = idx;
  rec->id = idx;
  fix_endian(r->buf, r->dim);
  int bad = first_nonfinite(r->buf, r->dim);
  if (bad >= 0) {
    rd__msg(err, errlen, "record %llu: component %d is NaN or infinite", (unsigned long long)idx,
            bad);
    return RD_BAD;
  }
  return emit_vector(r, rec, r->dim, err, errlen);
}

static int next_jsonl(rd_reader *r, rd_record *rec, char *err, size_t errlen) {
  for (;;) {
    errno = 0;
    ssize_t n = getline(&r->linebuf, &r->linecap, r->f);
    if (n < 0) {
      if (ferror(r->f)) {
        rd__msg(err, errlen, "line %llu: read error: %s", (unsigned long long)(r->line + 1),
                strerror(errno));
        return RD_FATAL;
      }
      return RD_EOF;
    }
    r->line++;
    char sub[224];
    int rc = rd_jsonl_parse(r->linebuf, (size_t)n, r->dim, rec, sub, sizeof sub);
    if (rc == 1) continue; /* blank */
    uint64_t idx = r->index++;
    rec->index = idx;
    rec->line = r->line;
    if (rc < 0) {
      rd_record_clear(rec);
      rd__msg(err, errlen, "line %llu: %s", (unsigned long long)r->line, sub);
      return RD_BAD;
    }
    if (!rec->has_id) rec->id = idx;
    rec->index = idx;
    rec->line = r->line;
    if (!r->dim) r->dim = rec->dim;
    return RD_RECORD;
  }
}

int rd_next(rd_reader *r, rd_record *rec, char *err, size_t errlen) {
  rd_record_clear(rec);
  switch (r->fmt) {
    case RD_FMT_FVECS:
      return next_fvecs(r, rec, err, errlen);
    case RD_FMT_NPY:
      return next_npy(r, rec, err, errlen);
    case RD_FMT_JSONL:
      return next_jsonl(r, rec, err, errlen);
  }
  rd__msg(err, errlen, "unknown format");
  return RD_FATAL;
}
