/* groups.c: group_by for retrieve (groups.h). */
#include "groups.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "filter.h"
#include "idmap.h"
#include "payload.h"

/* One pool point's group: type tag, value length, prefix, checksum. */
typedef struct {
  uint32_t i;   /* pool index */
  float rel;    /* its relevance */
  char tag;     /* 's' string, 'i' whole number, 'r' other number, 'b' bool */
  uint32_t len; /* bytes of the value */
  uint32_t crc; /* CRC-32C of the value */
  unsigned char pre[GROUPS_PREFIX];
} gent;

static void gent_set(gent *g, char tag, const void *v, size_t len) {
  g->tag = tag;
  g->len = (uint32_t)len;
  g->crc = crc32c(v, len);
  memset(g->pre, 0, sizeof g->pre);
  memcpy(g->pre, v, len < GROUPS_PREFIX ? len : GROUPS_PREFIX);
}

/* The group of one metadata value; false: none. */
static bool gent_of(gent *g, const json_t *v) {
  char buf[32];
  if (json_is_string(v)) {
    gent_set(g, 's', json_string_value(v), json_string_length(v));
  } else if (json_is_integer(v)) {
    gent_set(g, 'i', buf,
             (size_t)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v)));
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d == floor(d) && d >= -9.2e18 && d <= 9.2e18)
      gent_set(g, 'i', buf, (size_t)snprintf(buf, sizeof buf, "%lld", (long long)d));
    else
      gent_set(g, 'r', buf, (size_t)snprintf(buf, sizeof buf, "%.17g", d));
  } else if (json_is_boolean(v)) {
    gent_set(g, 'b', json_is_true(v) ? "1" : "0", 1);
  } else {
    return false;
  }
  return true;
}

static int gent_same(const gent *a, const gent *b) {
  if (a->tag != b->tag) return a->tag < b->tag ? -1 : 1;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  if (a->crc != b->crc) return a->crc < b->crc ? -1 : 1;
  return memcmp(a->pre, b->pre, sizeof a->pre);
}

/* by group, then relevance descending, then pool index */
static int gent_cmp(const void *x, const void *y) {
  const gent *a = x, *b = y;
  int c = gent_same(a, b);
  if (c) return c;
  if (a->rel != b->rel) return a->rel > b->rel ? -1 : 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

struct groups_memo {
  idmap at; /* point id -> index into e */
  gent *e;  /* tag 0: in no group */
  size_t n, cap;
};

groups_memo *groups_memo_create(void) {
  groups_memo *m = calloc(1, sizeof *m);
  if (m) idmap_init(&m->at);
  return m;
}

void groups_memo_destroy(groups_memo *m) {
  if (!m) return;
  idmap_free(&m->at);
  free(m->e);
  free(m);
}

static int memo_put(groups_memo *m, uint64_t id, const gent *g) {
  if (m->n == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 256;
    gent *e = realloc(m->e, cap * sizeof *e);
    if (!e) return -1;
    m->e = e;
    m->cap = cap;
  }
  if (idmap_put(&m->at, id, m->n)) return -1;
  m->e[m->n++] = *g;
  return 0;
}

/* The group of point id into *g (tag 0: none), from its metadata. */
static int group_read(coll *c, uint64_t id, const char *key, gent *g, precis_error *err) {
  memset(g, 0, sizeof *g);
  unsigned char k[12];
  coll__point_key(k, c->id, id);
  char *rec;
  size_t rl;
  int rc = store_get(c->st, STORE_CF_PAY, k, 12, &rec, &rl, err);
  if (rc) {
    if (rc == PRECIS_E_NOT_FOUND)
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "group_by: point %llu has no payload",
                            (unsigned long long)id);
    return rc;
  }
  const char *meta;
  size_t ml;
  rc = payload_meta_view(rec, rl, &meta, &ml, err);
  json_t *j = rc ? NULL : json_loadb(meta, ml, 0, NULL);
  store_free(rec);
  if (rc) return rc;
  if (!j)
    return precis_error_set(err, PRECIS_E_CORRUPTION,
                            "group_by: the metadata of %llu does not parse",
                            (unsigned long long)id);
  if (!gent_of(g, filter_path_get(j, key))) g->tag = 0;
  json_decref(j);
  return PRECIS_OK;
}

int groups_keep(coll *c, const uint64_t *ids, const float *rel, size_t n, const char *key,
                uint32_t limit, groups_memo *memo, unsigned char *keep, size_t *groups,
                precis_error *err) {
  *groups = 0;
  gent *g = malloc((n ? n : 1) * sizeof *g);
  if (!g) return precis_error_set(err, PRECIS_E_NO_MEMORY, "group_by");
  size_t m = 0;
  int rc = PRECIS_OK;
  for (size_t i = 0; i < n; i++) {
    keep[i] = 1;
    uint64_t at;
    if (memo && idmap_get(&memo->at, ids[i], &at)) {
      g[m] = memo->e[at];
    } else {
      if ((rc = group_read(c, ids[i], key, &g[m], err))) goto out;
      if (memo && memo_put(memo, ids[i], &g[m])) {
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "group_by");
        goto out;
      }
    }
    g[m].i = (uint32_t)i;
    g[m].rel = rel[i];
    if (g[m].tag) m++;
  }
  qsort(g, m, sizeof *g, gent_cmp);
  for (size_t t = 0, run = 0; t < m; t++) {
    if (t == 0 || gent_same(&g[t - 1], &g[t])) {
      run = 0;
      ++*groups;
    }
    if (++run > limit) keep[g[t].i] = 0;
  }
out:
  free(g);
  return rc;
}
