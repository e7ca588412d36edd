/* coll_internal.h: helpers shared by coll*.c and the graph module only. */
#ifndef PRECIS_INDEX_COLL_INTERNAL_H
#define PRECIS_INDEX_COLL_INTERNAL_H

#include "coll.h"

/* META key: tag byte + cid ('s' sequence, 'n' count, 'k' kNN edges, 'l' links). */
void coll__meta_key(unsigned char *k, char tag, uint32_t cid);
/* Put the sequence and count counters into a batch. */
void coll__batch_counters(coll *c, store_batch *b, uint64_t seq, uint64_t count);
const char *coll__spec_for(const coll *c, uint64_t n);
int coll__new_ann(coll *c, const char *spec, ann **out, precis_error *err);
int coll__slots_push(coll *c, uint64_t id);
int coll__rebuild(coll *c, const char *why, precis_error *err);
/* Check a query/point vector: dimension, finiteness, cosine non-zero.
 * Writes the prepared copy (normalised for cosine) into out. */
int coll__prepare_vector(const coll *c, const float *v, uint32_t dim, float *out,
                         const char *what, precis_error *err);

#endif
