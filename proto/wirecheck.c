/* wirecheck.c: the pre-decode walk of an encoded message (see wirecheck.h).
 *
 * The decoded-size estimate follows what protobuf-c 1.4's unpack does: one
 * allocation per message struct, per string (len + 1), per non-empty bytes
 * field, per repeated array (count * element size) and per unknown field
 * (a 24-byte record plus a copy of its bytes), and a scan slab of about 32
 * bytes per field occurrence while a message is parsed. Each allocation is
 * charged glibc's granularity (16 bytes, at least 32). */
#include "wirecheck.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "valid.h"

#define WC_DEFAULT_DEPTH 32
#define WC_SCAN_BYTES    32u /* protobuf-c ScannedMember per field occurrence */
#define WC_UNKNOWN_BYTES 24u /* ProtobufCMessageUnknownField */
#define WC_PATH_MAX      192
#define WC_MAX_PATH      40

typedef struct wc {
  const wirecheck_rules *r;
  wirecheck_result *res;
  precis_error *err;
  uint32_t max_depth;
  /* the field path, formatted only when a message needs it (a walk over
   * 100,000 points must not format 100,000 paths) */
  const char *name[WC_MAX_PATH];
  int64_t idx[WC_MAX_PATH];
  size_t depth;
  char path[WC_PATH_MAX];
} wc;

static uint64_t chunk(uint64_t n) {
  uint64_t c = (n + 8 + 15) & ~(uint64_t)15;
  return c < 32 ? 32 : c;
}

/* Enter field `name` (element idx of a repeated field, or -1). */
static size_t push(wc *w, const char *name, int64_t idx) {
  size_t old = w->depth;
  if (w->depth < WC_MAX_PATH) {
    w->name[w->depth] = name;
    w->idx[w->depth] = idx;
  }
  w->depth++;
  return old;
}

static void pop(wc *w, size_t old) { w->depth = old; }

/* The current path, e.g. "upsert.points[3].text" ("" at the root). */
static const char *path(wc *w) {
  size_t n = 0;
  w->path[0] = 0;
  for (size_t i = 0; i < w->depth && i < WC_MAX_PATH && n < WC_PATH_MAX; i++) {
    int k = w->idx[i] >= 0
                ? snprintf(w->path + n, WC_PATH_MAX - n, "%s%s[%lld]", i ? "." : "", w->name[i],
                           (long long)w->idx[i])
                : snprintf(w->path + n, WC_PATH_MAX - n, "%s%s", i ? "." : "", w->name[i]);
    if (k < 0) break;
    n += (size_t)k;
  }
  return w->path;
}

static int malformed(wc *w, const char *what) {
  return precis_error_set(w->err, PRECIS_E_PROTOCOL, "malformed request%s%s: %s",
                          w->depth ? " at " : "", path(w), what);
}

static bool varint(const uint8_t *p, size_t n, size_t *i, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64 && *i < n; shift += 7) {
    uint8_t b = p[(*i)++];
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/* Wire type a non-packed value of this type uses. */
static int native_wt(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
      return 5;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 1;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
      return 2;
    default:
      return 0;
  }
}

static size_t elem_size(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    default:
      return 4;
  }
}

static int charge(wc *w, uint64_t bytes) {
  w->res->decoded += bytes;
  if (w->r->max_decoded && w->res->decoded > w->r->max_decoded)
    return precis_error_set(w->err, PRECIS_E_OUT_OF_RANGE,
                            "request would decode to more than %llu MiB (limit %llu MiB)%s%s",
                            (unsigned long long)(w->res->decoded >> 20),
                            (unsigned long long)(w->r->max_decoded >> 20), w->depth ? "; at " : "",
                            path(w));
  return 0;
}

static uint32_t limit_for(wc *w, const ProtobufCMessageDescriptor *d,
                          const ProtobufCFieldDescriptor *f) {
  uint32_t m = w->r->max_repeated ? w->r->max_repeated(d, f) : 0;
  return m ? m : w->r->default_max_repeated;
}

static int walk(wc *w, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                uint32_t depth);

static int check_string(wc *w, const ProtobufCFieldDescriptor *f, int64_t idx, const uint8_t *v,
                        size_t len) {
  size_t at;
  int code = valid_text(v, len, &at);
  if (code == VALID_OK) return charge(w, chunk(len + 1));
  size_t old = push(w, f->name, idx);
  int rc = precis_error_set(w->err, PRECIS_E_INVALID_ARGUMENT, "%s %s at offset %zu", path(w),
                            valid_text_problem(code), at);
  pop(w, old);
  return rc;
}

static int walk(wc *w, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                uint32_t depth) {
  if (depth > w->max_depth) return malformed(w, "messages nested too deeply");
  int rc = charge(w, chunk(d->sizeof_message));
  if (rc) return rc;
  uint32_t stack_counts[64];
  uint32_t *cnt = stack_counts;
  if (d->n_fields > 64) {
    cnt = calloc(d->n_fields, sizeof *cnt);
    if (!cnt) return precis_error_set(w->err, PRECIS_E_NO_MEMORY, "wirecheck");
  } else {
    memset(stack_counts, 0, sizeof stack_counts);
  }
  uint64_t unknown = 0, occurrences = 0;
  size_t i = 0;
  while (i < n && !rc) {
    uint64_t key;
    if (!varint(p, n, &i, &key)) {
      rc = malformed(w, "truncated field key");
      break;
    }
    uint64_t num = key >> 3;
    int wt = (int)(key & 7);
    if (num == 0 || num > 0x1FFFFFFF) {
      rc = malformed(w, "bad field number");
      break;
    }
    const uint8_t *v = p + i;
    size_t vlen = 0;
    uint64_t ival = 0;
    switch (wt) {
      case 0:
        if (!varint(p, n, &i, &ival)) rc = malformed(w, "truncated varint");
        break;
      case 1:
      case 5:
        vlen = wt == 1 ? 8 : 4;
        if (n - i < vlen)
          rc = malformed(w, "truncated fixed-size value");
        else
          i += vlen;
        break;
      case 2: {
        uint64_t l;
        if (!varint(p, n, &i, &l) || l > n - i) {
          rc = malformed(w, "length-delimited field runs past its message");
          break;
        }
        v = p + i;
        vlen = (size_t)l;
        i += vlen;
        break;
      }
      default:
        rc = malformed(w, "unsupported wire type (groups)");
        break;
    }
    if (rc) break;
    occurrences++;
    if (depth == 0 && num == 1 && wt == 0) w->res->id = ival;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)num);
    if (!f) {
      unknown++;
      uint32_t lim = w->r->default_max_repeated;
      if (lim && unknown > lim) {
        rc = precis_error_set(w->err, PRECIS_E_OUT_OF_RANGE, "%s%smore than %u unknown fields",
                              path(w), w->depth ? ": " : "", lim);
        break;
      }
      rc = charge(w, chunk(wt == 2 ? vlen : 8));
      continue;
    }
    bool packed = f->label == PROTOBUF_C_LABEL_REPEATED && wt == 2 && native_wt(f->type) != 2;
    if (!packed && wt != native_wt(f->type)) {
      size_t old = push(w, f->name, -1);
      rc = malformed(w, "wrong wire type");
      pop(w, old);
      break;
    }
    int64_t idx = -1;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t fi = (size_t)(f - d->fields);
      uint64_t add = 1;
      if (packed) {
        int nwt = native_wt(f->type);
        if (nwt == 0) {
          add = 0;
          for (size_t k = 0; k < vlen; k++) add += !(v[k] & 0x80);
          if (vlen && (v[vlen - 1] & 0x80)) {
            size_t old = push(w, f->name, -1);
            rc = malformed(w, "truncated packed varint");
            pop(w, old);
            break;
          }
        } else {
          size_t es = nwt == 5 ? 4 : 8;
          if (vlen % es) {
            size_t old = push(w, f->name, -1);
            rc = malformed(w, "packed array of a partial element");
            pop(w, old);
            break;
          }
          add = vlen / es;
        }
      }
      idx = cnt[fi];
      uint32_t lim = limit_for(w, d, f);
      if (lim && (uint64_t)cnt[fi] + add > lim) {
        size_t old = push(w, f->name, -1);
        rc = precis_error_set(w->err, PRECIS_E_OUT_OF_RANGE, "%s: more than %u elements (limit %u)",
                              path(w), lim, lim);
        pop(w, old);
        break;
      }
      cnt[fi] += (uint32_t)add;
    } else if (depth == 0 && f->type == PROTOBUF_C_TYPE_MESSAGE) {
      w->res->oneof_field = (uint32_t)num;
    }
    if (f->type == PROTOBUF_C_TYPE_STRING) {
      rc = check_string(w, f, idx, v, vlen);
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
      if (vlen) rc = charge(w, chunk(vlen));
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      size_t old = push(w, f->name, idx);
      rc = walk(w, f->descriptor, v, vlen, depth + 1);
      if (!rc) pop(w, old);
    }
  }
  if (!rc) {
    uint64_t extra = occurrences * WC_SCAN_BYTES;
    if (unknown) extra += chunk(unknown * WC_UNKNOWN_BYTES);
    for (unsigned k = 0; k < d->n_fields; k++)
      if (cnt[k]) extra += chunk((uint64_t)cnt[k] * elem_size(d->fields[k].type));
    rc = charge(w, extra);
  }
  if (cnt != stack_counts) free(cnt);
  return rc;
}

int wirecheck_message(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
                      const wirecheck_rules *rules, wirecheck_result *res, precis_error *err) {
  wirecheck_result local;
  wirecheck_rules none;
  if (!res) res = &local;
  if (!rules) {
    memset(&none, 0, sizeof none);
    rules = &none;
  }
  memset(res, 0, sizeof *res);
  wc w;
  memset(&w, 0, sizeof w);
  w.r = rules;
  w.res = res;
  w.err = err;
  w.max_depth = rules->max_depth ? rules->max_depth : WC_DEFAULT_DEPTH;
  if (!desc || (n && !p))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "wirecheck: NULL argument");
  return walk(&w, desc, p, n, 0);
}

int wirecheck_envelope(const uint8_t *p, size_t n, wirecheck_result *res, precis_error *err) {
  wirecheck_result local;
  if (!res) res = &local;
  memset(res, 0, sizeof *res);
  if (n && !p) return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "wirecheck: NULL argument");
  size_t i = 0;
  while (i < n) {
    uint64_t tag, v;
    if (!varint(p, n, &i, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
      return precis_error_set(err, PRECIS_E_PROTOCOL, "malformed field tag at offset %zu", i);
    uint32_t field = (uint32_t)(tag >> 3);
    switch (tag & 7) {
      case 0:
        if (!varint(p, n, &i, &v))
          return precis_error_set(err, PRECIS_E_PROTOCOL, "truncated varint at offset %zu", i);
        if (field == 1) res->id = v;
        break;
      case 1:
        if (n - i < 8) return precis_error_set(err, PRECIS_E_PROTOCOL, "truncated fixed64");
        i += 8;
        break;
      case 5:
        if (n - i < 4) return precis_error_set(err, PRECIS_E_PROTOCOL, "truncated fixed32");
        i += 4;
        break;
      case 2:
        if (!varint(p, n, &i, &v) || v > n - i)
          return precis_error_set(err, PRECIS_E_PROTOCOL, "field %u: length past the end", field);
        i += (size_t)v;
        res->oneof_field = field;
        break;
      default:
        return precis_error_set(err, PRECIS_E_PROTOCOL, "field %u: unsupported wire type %u", field,
                                (unsigned)(tag & 7));
    }
  }
  return PRECIS_OK;
}
