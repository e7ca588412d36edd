/* idmap.c: linear-probing hash map uint64 -> uint64 (see idmap.h). */
#include "idmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t idmap__hash(uint64_t x) { /* splitmix64 finaliser */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

void idmap_init(idmap *m) { memset(m, 0, sizeof *m); }

size_t idmap_bytes(const idmap *m) { return m->cap * (2 * sizeof(uint64_t) + sizeof(uint8_t)); }

void idmap_free(idmap *m) {
  free(m->keys);
  free(m->vals);
  free(m->used);
  idmap_init(m);
}

static int idmap__rehash(idmap *m, size_t cap) {
  idmap n;
  idmap_init(&n);
  n.keys = malloc(cap * sizeof *n.keys);
  n.vals = malloc(cap * sizeof *n.vals);
  n.used = calloc(cap, 1);
  if (!n.keys || !n.vals || !n.used) {
    idmap_free(&n);
    return -1;
  }
  n.cap = cap;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->used[i] != 1) continue;
    size_t j = idmap__hash(m->keys[i]) & (cap - 1);
    while (n.used[j]) j = (j + 1) & (cap - 1);
    n.used[j] = 1;
    n.keys[j] = m->keys[i];
    n.vals[j] = m->vals[i];
    n.len++;
  }
  idmap_free(m);
  *m = n;
  return 0;
}

int idmap_reserve(idmap *m, size_t n) {
  size_t need = (n + m->dead) * 10 / 7 + 16;
  if (need <= m->cap) return 0;
  size_t cap = 16;
  while (cap < need) cap <<= 1;
  return idmap__rehash(m, cap);
}

bool idmap_get(const idmap *m, uint64_t key, uint64_t *val) {
  if (!m->cap) return false;
  size_t j = idmap__hash(key) & (m->cap - 1);
  while (m->used[j]) {
    if (m->used[j] == 1 && m->keys[j] == key) {
      if (val) *val = m->vals[j];
      return true;
    }
    j = (j + 1) & (m->cap - 1);
  }
  return false;
}

int idmap_put(idmap *m, uint64_t key, uint64_t val) {
  if (idmap_reserve(m, m->len + 1) != 0) return -1;
  size_t j = idmap__hash(key) & (m->cap - 1);
  size_t tomb = SIZE_MAX;
  while (m->used[j]) {
    if (m->used[j] == 1 && m->keys[j] == key) {
      m->vals[j] = val;
      return 0;
    }
    if (m->used[j] == 2 && tomb == SIZE_MAX) tomb = j;
    j = (j + 1) & (m->cap - 1);
  }
  if (tomb != SIZE_MAX) {
    j = tomb;
    m->dead--;
  }
  m->used[j] = 1;
  m->keys[j] = key;
  m->vals[j] = val;
  m->len++;
  return 0;
}

bool idmap_del(idmap *m, uint64_t key) {
  if (!m->cap) return false;
  size_t j = idmap__hash(key) & (m->cap - 1);
  while (m->used[j]) {
    if (m->used[j] == 1 && m->keys[j] == key) {
      m->used[j] = 2;
      m->len--;
      m->dead++;
      return true;
    }
    j = (j + 1) & (m->cap - 1);
  }
  return false;
}
