/* filtergen.h: random points with typed attributes and random filters over
 * them, for the filter tests: each filter comes as the engine's spec
 * (engine_filter_group list), as the JSON form of libprecis and the CLI,
 * and with an oracle that evaluates it on the attributes directly (not on
 * the JSON, so the engine's evaluator is checked against an independent
 * one).
 *
 * Attributes of point i (metadata JSON built by fg_meta_json):
 *   cat      keyword "c0".."c9"
 *   n        integer 0..999
 *   f        float in [0, 1)
 *   flag     bool
 *   tags     array of 0..3 keywords "t0".."t7"
 *   ts       RFC 3339 date-time in 2024 (whole hours, UTC)
 *   opt      absent, null or the integer 1 (one third each)
 *   nested.a keyword "x0".."x3"
 */
#ifndef PRECIS_TESTS_FILTERGEN_H
#define PRECIS_TESTS_FILTERGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef struct {
  int cat, n, tags_mask, opt, nested;
  float f;
  bool flag;
  int64_t ts; /* seconds since the epoch */
} fg_attrs;

/* Deterministic attributes of point i. */
void fg_attrs_of(uint64_t seed, size_t i, fg_attrs *a);
/* Its metadata JSON into buf (returns the length). */
size_t fg_meta_json(const fg_attrs *a, char *buf, size_t cap);

#define FG_MAX_GROUPS 8
#define FG_MAX_CONDS  4
#define FG_MAX_VALS   8

typedef struct {
  const char *kws[FG_MAX_VALS];
  int64_t ints[FG_MAX_VALS];
  uint64_t ids[FG_MAX_VALS * 2];
  char dt[4][48];
} fg_cond_store;

typedef struct {
  engine_filter_cond c[3][FG_MAX_CONDS]; /* must, should, must_not */
  fg_cond_store s[3][FG_MAX_CONDS];
} fg_group_store;

typedef struct {
  engine_filter_group g[FG_MAX_GROUPS];
  fg_group_store gs[FG_MAX_GROUPS];
  size_t ng;
  const uint64_t *point_ids; /* ids of the points, for has_id */
  size_t npoints;
} fg_filter;

/* A random filter (heap-allocated, free()). ids[] are the points' ids (has_id
 * draws from them). */
fg_filter *fg_random(uint64_t *rng, const uint64_t *ids, size_t npoints);
/* Oracle: does point (id, a) pass? */
bool fg_eval(const fg_filter *f, uint64_t id, const fg_attrs *a);
/* Brute force: the k points (of n, with these ids, attributes and dim-d
 * vectors) passing f (NULL: all of them) with the largest inner product
 * with q, best first: their indices in out[] and products in score[].
 * Returns how many pass. */
size_t fg_brute_topk(const fg_filter *f, const uint64_t *ids, const fg_attrs *attrs,
                     const float *vecs, size_t n, size_t dim, const float *q, size_t k, size_t *out,
                     double *score);
/* Create collection `coll` (dim, cosine, FAISS `spec`, knn_k 8) in e and
 * upsert n points: ids[i] = 1000 + 3i, attributes from fg_attrs_of(seed, i)
 * into attrs, random unit vectors (returned, malloc'd), plus 200 "rel"
 * links. Returns NULL on failure with err filled. */
float *fg_engine_load(engine *e, const char *coll, const char *spec, size_t n, size_t dim,
                      uint64_t seed, uint64_t *ids, fg_attrs *attrs, precis_error *err);
/* Wait (up to 60 s) until every payload index of coll is ready; false if
 * listing fails or time runs out. */
bool fg_wait_indexes_ready(engine *e, const char *coll);
/* The JSON form (malloc'd, free()). */
char *fg_json(const fg_filter *f);

#endif
