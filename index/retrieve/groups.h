/*
 * groups.h: group_by for retrieve (engine.h, engine_retrieve_params): which
 * pool points enter the selection when at most `limit` items may share one
 * value of a metadata field. Internal to index/retrieve.
 *
 * Rule (docs/RETRIEVAL.md, "Groups"): a point's group is the value at the
 * dotted path `key` in its metadata: a string, a number (a whole number
 * equal to an integer is that integer, so 3 and 3.0 are one group) or a
 * boolean. Points without the field, or with null, an array or an object
 * there, are in no group and always kept. Of each group the `limit` most
 * relevant points are kept (ties: lower pool index, TOPK's order), so no
 * selection mode can take more than `limit` of one group, and TOPK over the
 * kept points is exactly the top-k with at most `limit` per group.
 *
 * Values are compared by type, length, their first GROUPS_PREFIX bytes and
 * the CRC-32C of the whole, so the work and memory per point are bounded
 * whatever the metadata holds (two values longer than the prefix that
 * agree on all of these would be one group).
 *
 * The caller holds the collection lock (shared) throughout a call. A memo
 * lives across the runs of one request, between which the lock is
 * released: a point written in between keeps the group it was read with.
 */
#ifndef PRECIS_INDEX_GROUPS_H
#define PRECIS_INDEX_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "coll.h"

#define GROUPS_PREFIX 64

/* The groups of the points one request has read, so that a request run
 * again with more seeds (retrieve.c) reads each point's metadata once: a
 * point keeps the group it was first seen with for the whole request.
 * Grows with the distinct points read, which the pools of the runs bound. */
typedef struct groups_memo groups_memo;

/* NULL on NO_MEMORY. Owned by the caller: groups_memo_destroy. */
groups_memo *groups_memo_create(void);
/* NULL is a no-op. */
void groups_memo_destroy(groups_memo *m);

/* keep[i] = 1 for the pool points (ids[i], relevance rel[i]) to keep, 0 for
 * the rest; *groups = the distinct values seen. memo (may be NULL: no
 * memo) answers for the points it holds and learns the rest; it must only
 * ever be used with one collection and one key. CORRUPTION when a point's
 * payload is missing or does not parse, NO_MEMORY. keep has n entries. */
int groups_keep(coll *c, const uint64_t *ids, const float *rel, size_t n, const char *key,
                uint32_t limit, groups_memo *memo, unsigned char *keep, size_t *groups,
                precis_error *err);

#endif /* PRECIS_INDEX_GROUPS_H */
