/*
 * idmap.h: an open-addressing hash map from uint64 point ids to uint64
 * values (ANN labels). Caller-owned struct; idmap_free releases its arrays.
 * Not thread-safe: the collection lock guards it.
 */
#ifndef PRECIS_INDEX_IDMAP_H
#define PRECIS_INDEX_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t *keys;
  uint64_t *vals;
  uint8_t *used; /* 0 empty, 1 full, 2 deleted */
  size_t cap;    /* power of two, or 0 */
  size_t len;    /* live entries */
  size_t dead;   /* deleted markers */
} idmap;

void idmap_init(idmap *m);
void idmap_free(idmap *m);
/* false when absent. */
bool idmap_get(const idmap *m, uint64_t key, uint64_t *val);
/* Insert or replace; -1 on allocation failure. */
int idmap_put(idmap *m, uint64_t key, uint64_t val);
/* true when it was present. */
bool idmap_del(idmap *m, uint64_t key);
/* Bytes of its arrays. */
size_t idmap_bytes(const idmap *m);
/* Make room for n entries without rehashing; -1 on allocation failure. */
int idmap_reserve(idmap *m, size_t n);

#endif /* PRECIS_INDEX_IDMAP_H */
