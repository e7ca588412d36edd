/* postings.c: the in-memory postings of one payload-index field (postings.h). */
#include "postings.h"

#include <stdlib.h>
#include <string.h>

int pm_vcmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl) {
  int r = memcmp(a, b, al < bl ? al : bl);
  return r ? r : (al > bl) - (al < bl);
}

static int ent_cmp(const void *a, const void *b) {
  const pm_ent *x = a, *y = b;
  return pm_vcmp(x->v, x->len, y->v, y->len);
}

/* First sorted entry not below v. */
size_t pm_lower(const pm_map *m, const unsigned char *v, size_t len) {
  size_t lo = 0, hi = m->nsorted;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (pm_vcmp(m->e[mid].v, m->e[mid].len, v, len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

pm_ent *pm_find(const pm_map *m, const unsigned char *v, size_t len) {
  size_t i = pm_lower(m, v, len);
  if (i < m->nsorted && !pm_vcmp(m->e[i].v, m->e[i].len, v, len)) return &m->e[i];
  for (i = m->nsorted; i < m->n; i++)
    if (!pm_vcmp(m->e[i].v, m->e[i].len, v, len)) return &m->e[i];
  return NULL;
}

static void ent_free(pm_ent *e) {
  free(e->v);
  if (e->bm) roaring_bitmap_free(e->bm);
}

void pm_free(pm_map *m) {
  for (size_t i = 0; i < m->n; i++) ent_free(&m->e[i]);
  free(m->e);
  memset(m, 0, sizeof *m);
}

/* Sort the tail into the sorted part, dropping emptied entries. */
int pm_merge(pm_map *m) {
  qsort(m->e + m->nsorted, m->n - m->nsorted, sizeof *m->e, ent_cmp);
  pm_ent *o = malloc((m->n ? m->n : 1) * sizeof *o);
  if (!o) return -1;
  size_t i = 0, j = m->nsorted, n = 0;
  while (i < m->nsorted || j < m->n) {
    pm_ent *x;
    if (j >= m->n || (i < m->nsorted && ent_cmp(&m->e[i], &m->e[j]) < 0))
      x = &m->e[i++];
    else
      x = &m->e[j++];
    if (roaring_bitmap_is_empty(x->bm))
      ent_free(x);
    else
      o[n++] = *x;
  }
  free(m->e);
  m->e = o;
  m->n = m->nsorted = n;
  m->cap = m->n ? m->n : 1;
  return 0;
}

/* The entry of v, created empty when missing (appended when `sorted_end`:
 * the caller adds values in ascending order). NULL when out of memory. */
pm_ent *pm_get(pm_map *m, const unsigned char *v, size_t len, bool sorted_end) {
  pm_ent *e = sorted_end ? NULL : pm_find(m, v, len);
  if (e) return e;
  if (!sorted_end && m->n - m->nsorted >= PM_TAIL && pm_merge(m)) return NULL;
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    pm_ent *p = realloc(m->e, cap * sizeof *p);
    if (!p) return NULL;
    m->e = p;
    m->cap = cap;
  }
  e = &m->e[m->n];
  e->v = malloc(len ? len : 1);
  e->bm = roaring_bitmap_create();
  if (!e->v || !e->bm) {
    ent_free(e);
    return NULL;
  }
  memcpy(e->v, v, len);
  e->len = (uint32_t)len;
  m->n++;
  if (sorted_end) m->nsorted = m->n;
  return e;
}

/* Bytes the map holds (entries, values, bitmaps' containers and their
 * per-container headers); *values: its distinct values. */
uint64_t pm_bytes(const pm_map *m, uint64_t *values) {
  uint64_t b = sizeof *m + m->cap * sizeof *m->e;
  *values = 0;
  for (size_t i = 0; i < m->n; i++) {
    roaring_statistics_t st;
    roaring_bitmap_statistics(m->e[i].bm, &st);
    b += m->e[i].len + sizeof(roaring_bitmap_t) + st.n_bytes_array_containers +
         st.n_bytes_run_containers + st.n_bytes_bitset_containers +
         (uint64_t)st.n_containers * (sizeof(void *) + sizeof(uint16_t) + 1);
    *values += !roaring_bitmap_is_empty(m->e[i].bm);
  }
  return b;
}

static bool in_range(const pm_ent *e, const unsigned char *lo, size_t lol, bool lo_strict,
                     const unsigned char *hi, size_t hil, bool hi_strict) {
  if (lol) {
    int r = pm_vcmp(e->v, e->len, lo, lol);
    if (r < 0 || (r == 0 && lo_strict)) return false;
  }
  if (hi) {
    int r = pm_vcmp(e->v, e->len, hi, hil);
    if (r > 0 || (r == 0 && hi_strict)) return false;
  }
  return true;
}

/* The maps' answer: OR into out the bitmaps of the values in [lo, hi]
 * (prefix_only: exactly lo; hi NULL: no upper bound; lol 0: no lower). */
int pm_range(const pm_map *m, const unsigned char *lo, size_t lol, bool lo_strict,
             const unsigned char *hi, size_t hil, bool hi_strict, bool prefix_only,
             roaring_bitmap_t *out, precis_error *err) {
  if (prefix_only) {
    const pm_ent *e = pm_find(m, lo, lol);
    if (e) roaring_bitmap_or_inplace(out, e->bm);
    return PRECIS_OK;
  }
  const roaring_bitmap_t **v = malloc((m->n ? m->n : 1) * sizeof *v);
  if (!v) return precis_error_set(err, PRECIS_E_NO_MEMORY, "filter");
  size_t n = 0;
  for (size_t i = lol ? pm_lower(m, lo, lol) : 0; i < m->nsorted; i++) {
    if (hi && !in_range(&m->e[i], NULL, 0, false, hi, hil, hi_strict)) break;
    if (in_range(&m->e[i], lo, lol, lo_strict, hi, hil, hi_strict)) v[n++] = m->e[i].bm;
  }
  for (size_t i = m->nsorted; i < m->n; i++)
    if (in_range(&m->e[i], lo, lol, lo_strict, hi, hil, hi_strict)) v[n++] = m->e[i].bm;
  int rc = PRECIS_OK;
  if (n) {
    roaring_bitmap_t *u = roaring_bitmap_or_many(n, v);
    if (!u) {
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "filter");
    } else {
      roaring_bitmap_or_inplace(out, u);
      roaring_bitmap_free(u);
    }
  }
  free(v);
  return rc;
}
