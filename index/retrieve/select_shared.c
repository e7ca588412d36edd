/*
 * select_shared.c: shared neighbours in COMPRESS's log-det similarity and
 * MMR's redundancy (select.h, select_pool.set_ids / params.shared):
 *   shared(i, j) = |A_i & A_j| / sqrt(|A_i| |A_j|),
 * the cosine of the two neighbourhoods' indicator vectors (positive
 * semidefinite, 1 on the diagonal).
 *
 * Design: a selection asks for shared(j, v) of every pool point v once per
 * pick, so the sets are turned into bitsets over the keys that occur in at
 * least two sets (the only keys an intersection can count), found with one
 * open-addressing hash table per call. shared(j, v) is then a popcount over
 * a few words. When the bitsets would exceed SELECT_SETS_MAX_WORDS (large
 * pools), intersections merge the sorted sets instead.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "select_internal.h"

/* bitset budget: 2 MiB per call */
#define SELECT_SETS_MAX_WORDS (1u << 18)

int select_sets_validate(const select_pool *pool, precis_error *err) {
  const uint32_t *off = pool->set_off;
  if (off[0] != 0)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "select: set_off[0] must be 0");
  for (size_t v = 0; v < pool->n; v++) {
    if (off[v + 1] < off[v])
      return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                              "select: set_off must be non-decreasing");
    for (uint32_t e = off[v] + 1; e < off[v + 1]; e++)
      if (pool->set_ids[e - 1] >= pool->set_ids[e])
        return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                                "select: the neighbourhood of pool point %zu is not sorted", v);
  }
  return PRECIS_OK;
}

static inline uint64_t select_mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

int select_sets_build(select_work *w) {
  const select_pool *pool = w->pool;
  select_sets *S = &w->sets;
  memset(S, 0, sizeof *S);
  if (!select_mixes(pool, w->p)) return PRECIS_OK;
  size_t n = pool->n, total = pool->set_off[n];
  size_t cap = 16;
  while (cap < 2 * total) cap <<= 1;
  uint64_t *key = malloc(cap * sizeof *key);
  uint32_t *cnt = calloc(cap, sizeof *cnt); /* 0 = empty slot */
  uint32_t *slot = malloc((total ? total : 1) * sizeof *slot);
  if (!key || !cnt || !slot) goto oom;
  for (size_t e = 0; e < total; e++) { /* count each key's sets */
    uint64_t k = pool->set_ids[e];
    size_t h = select_mix64(k) & (cap - 1);
    while (cnt[h] && key[h] != k) h = (h + 1) & (cap - 1);
    key[h] = k;
    cnt[h]++;
    slot[e] = (uint32_t)h;
  }
  uint32_t U = 0; /* compact numbers for keys in >= 2 sets, in cnt[] */
  for (size_t h = 0; h < cap; h++) cnt[h] = cnt[h] >= 2 ? ++U : 0;
  size_t words = (U + 63) / 64;
  if (words == 0) words = 1;
  if (n * words > SELECT_SETS_MAX_WORDS) { /* merge instead */
    free(key);
    free(cnt);
    free(slot);
    return PRECIS_OK;
  }
  S->bits = calloc(n * words, sizeof *S->bits);
  if (!S->bits) goto oom;
  S->words = words;
  for (size_t v = 0; v < n; v++)
    for (uint32_t e = pool->set_off[v]; e < pool->set_off[v + 1]; e++) {
      uint32_t b = cnt[slot[e]];
      if (b) S->bits[v * words + (b - 1) / 64] |= 1ull << ((b - 1) % 64);
    }
  free(key);
  free(cnt);
  free(slot);
  return PRECIS_OK;
oom:
  free(key);
  free(cnt);
  free(slot);
  return PRECIS_E_NO_MEMORY;
}

void select_sets_free(select_work *w) {
  free(w->sets.bits);
  memset(&w->sets, 0, sizeof w->sets);
}

double select_shared_sim(const select_work *w, uint32_t i, uint32_t j) {
  if (i == j) return 1.0; /* |A & A| / |A|, and 1 for an empty set too */
  const select_pool *pool = w->pool;
  size_t na = pool->set_off[i + 1] - pool->set_off[i], nb = pool->set_off[j + 1] - pool->set_off[j];
  if (!na || !nb) return 0.0;
  size_t both = 0;
  if (w->sets.bits) {
    const uint64_t *a = w->sets.bits + i * w->sets.words, *b = w->sets.bits + j * w->sets.words;
    for (size_t t = 0; t < w->sets.words; t++) both += (size_t)__builtin_popcountll(a[t] & b[t]);
  } else {
    const uint64_t *a = pool->set_ids + pool->set_off[i], *b = pool->set_ids + pool->set_off[j];
    size_t x = 0, y = 0;
    while (x < na && y < nb) { /* branch-free merge: the keys are random */
      uint64_t u = a[x], v = b[y];
      both += u == v;
      x += u <= v;
      y += v <= u;
    }
  }
  return (double)both / sqrt((double)na * (double)nb);
}

void select_mix_row(const select_work *w, uint32_t j, const float *krow, float *out) {
  double s = w->p->shared;
  for (size_t v = 0; v < w->pool->n; v++)
    out[v] = (float)((1.0 - s) * krow[v] + s * select_shared_sim(w, j, (uint32_t)v));
}
