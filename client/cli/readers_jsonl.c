/*
 * readers_jsonl.c: the jsonl record parser and the vector-text parser of the
 * precis CLI (see readers.h). Every size is checked against precis/limits.h.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "readers.h"
#include "readers_internal.h"

/* ------------------------------------------------------------------ */
/* jsonl                                                               */
/* ------------------------------------------------------------------ */

static int json_to_u64(json_t *v, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static int parse_links(json_t *links, rd_record *rec, char *err, size_t errlen) {
  if (json_is_null(links)) return 0;
  if (!json_is_array(links)) {
    rd__msg(err, errlen, "\"links\" is not an array");
    return -1;
  }
  size_t n = json_array_size(links);
  if (n == 0) return 0;
  if (n > PRECIS_MAX_BATCH) {
    rd__msg(err, errlen, "%zu links exceed %d", n, PRECIS_MAX_BATCH);
    return -1;
  }
  rec->links = calloc(n, sizeof *rec->links);
  if (!rec->links) {
    rd__msg(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *l = json_array_get(links, i);
    rd_link *d = &rec->links[i];
    if (!json_is_object(l)) {
      rd__msg(err, errlen, "links[%zu] is not an object", i);
      return -1;
    }
    if (json_to_u64(json_object_get(l, "dst"), &d->dst) < 0) {
      rd__msg(err, errlen, "links[%zu].dst is not an integer >= 0", i);
      return -1;
    }
    json_t *k = json_object_get(l, "kind");
    const char *ks = json_string_value(k);
    if (!ks || !*ks || strlen(ks) > PRECIS_MAX_LINK_KIND_LEN) {
      rd__msg(err, errlen, "links[%zu].kind must be a string of 1..%d bytes", i,
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
      rd__msg(err, errlen, "links[%zu].weight is not a finite number", i);
      return -1;
    }
    rec->n_links = i + 1;
  }
  return 0;
}

int rd_jsonl_parse(const char *line, size_t len, uint32_t expect_dim, rd_record *rec, char *err,
                   size_t errlen) {
  rd_record_clear(rec);
  size_t i = 0;
  while (i < len && isspace((unsigned char)line[i])) i++;
  if (i == len) return 1;
  json_error_t je;
  json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
  if (!o) {
    rd__msg(err, errlen, "invalid JSON at column %d: %s", je.column, je.text);
    return -1;
  }
  int rc = -1;
  if (!json_is_object(o)) {
    rd__msg(err, errlen, "expected a JSON object");
    goto out;
  }
  json_t *id = json_object_get(o, "id");
  if (id && !json_is_null(id)) {
    if (json_to_u64(id, &rec->id) < 0) {
      rd__msg(err, errlen, "\"id\" is not an integer >= 0");
      goto out;
    }
    rec->has_id = 1;
  }
  json_t *vec = json_object_get(o, "vector");
  if (!json_is_array(vec) || json_array_size(vec) == 0) {
    rd__msg(err, errlen, "\"vector\" is missing or not a non-empty array");
    goto out;
  }
  size_t d = json_array_size(vec);
  if (d > PRECIS_MAX_DIM) {
    rd__msg(err, errlen, "vector has %zu components, more than %d", d, PRECIS_MAX_DIM);
    goto out;
  }
  if (expect_dim && d != expect_dim) {
    rd__msg(err, errlen, "vector has %zu components, expected %u", d, expect_dim);
    goto out;
  }
  rec->vector = malloc(d * sizeof(float));
  if (!rec->vector) {
    rd__msg(err, errlen, "out of memory");
    goto out;
  }
  for (size_t j = 0; j < d; j++) {
    json_t *x = json_array_get(vec, j);
    double v = json_is_number(x) ? json_number_value(x) : NAN;
    float fv = (float)v;
    if (!json_is_number(x) || !isfinite(fv)) {
      rd__msg(err, errlen, "vector[%zu] is not a finite number", j);
      goto out;
    }
    rec->vector[j] = fv;
  }
  rec->dim = (uint32_t)d;
  json_t *text = json_object_get(o, "text");
  if (text && !json_is_null(text)) {
    if (!json_is_string(text)) {
      rd__msg(err, errlen, "\"text\" is not a string");
      goto out;
    }
    if (json_string_length(text) > PRECIS_MAX_TEXT_BYTES) {
      rd__msg(err, errlen, "\"text\" exceeds %u bytes", PRECIS_MAX_TEXT_BYTES);
      goto out;
    }
    if (strlen(json_string_value(text)) != json_string_length(text)) {
      rd__msg(err, errlen, "\"text\" contains a NUL character");
      goto out;
    }
    rec->text = strdup(json_string_value(text));
    if (!rec->text) {
      rd__msg(err, errlen, "out of memory");
      goto out;
    }
  }
  json_t *meta = json_object_get(o, "metadata");
  if (meta && !json_is_null(meta)) {
    if (!json_is_object(meta)) {
      rd__msg(err, errlen, "\"metadata\" is not a JSON object");
      goto out;
    }
    rec->metadata = json_dumps(meta, JSON_COMPACT);
    if (!rec->metadata) {
      rd__msg(err, errlen, "cannot serialise \"metadata\"");
      goto out;
    }
    if (strlen(rec->metadata) > PRECIS_MAX_META_BYTES) {
      rd__msg(err, errlen, "\"metadata\" exceeds %u bytes", PRECIS_MAX_META_BYTES);
      goto out;
    }
  }
  json_t *tok = json_object_get(o, "tokens");
  if (tok && !json_is_null(tok)) {
    if (!json_is_integer(tok) || json_integer_value(tok) < 0) {
      rd__msg(err, errlen, "\"tokens\" is not an integer >= 0");
      goto out;
    }
    rec->tokens = json_integer_value(tok);
  }
  json_t *links = json_object_get(o, "links");
  if (links && parse_links(links, rec, err, errlen) < 0) goto out;
  rc = 0;
out:
  json_decref(o);
  if (rc != 0) rd_record_clear(rec);
  return rc;
}

int rd_parse_vector_text(const char *s, float **out, uint32_t *dim, char *err, size_t errlen) {
  *out = NULL;
  *dim = 0;
  size_t cap = 16, n = 0;
  float *v = malloc(cap * sizeof *v);
  if (!v) {
    rd__msg(err, errlen, "out of memory");
    return -1;
  }
  const char *p = s ? s : "";
  for (;;) {
    while (*p && (isspace((unsigned char)*p) || *p == ',' || *p == '[' || *p == ']')) p++;
    if (!*p) break;
    char *end;
    errno = 0;
    float x = strtof(p, &end);
    if (end == p || !isfinite(x)) {
      rd__msg(err, errlen, "component %zu is not a finite number near \"%.20s\"", n, p);
      free(v);
      return -1;
    }
    if (n == PRECIS_MAX_DIM) {
      rd__msg(err, errlen, "vector has more than %d components", PRECIS_MAX_DIM);
      free(v);
      return -1;
    }
    if (n == cap) {
      cap *= 2;
      float *nv = realloc(v, cap * sizeof *nv);
      if (!nv) {
        free(v);
        rd__msg(err, errlen, "out of memory");
        return -1;
      }
      v = nv;
    }
    v[n++] = x;
    p = end;
    if (*p && !isspace((unsigned char)*p) && *p != ',' && *p != ']') {
      rd__msg(err, errlen, "unexpected character '%c' after component %zu", *p, n - 1);
      free(v);
      return -1;
    }
  }
  if (n == 0) {
    rd__msg(err, errlen, "empty vector");
    free(v);
    return -1;
  }
  *out = v;
  *dim = (uint32_t)n;
  return 0;
}
