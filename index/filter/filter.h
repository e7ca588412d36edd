/*
 * filter.h: compiled metadata filters (engine_filter, declared in engine.h):
 * evaluation of one point, and the RFC 3339 date-time parser the filter and
 * its callers share. Internal to index/.
 *
 * Conventions: a compiled filter is immutable, so evaluation is thread-safe;
 * evaluation recurses at most PRECIS_MAX_FILTER_DEPTH groups deep (checked
 * at compile time) and never allocates.
 */
#ifndef PRECIS_INDEX_FILTER_H
#define PRECIS_INDEX_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* true when point `id`, whose metadata object is `meta`, passes `f`.
 * `meta` may be NULL when filter_needs_meta(f) is false (it is then never
 * read), and otherwise reads as {}. */
bool filter_eval(const engine_filter *f, uint64_t id, const json_t *meta);

/* The value at dotted path `key` ("a.b": member b of object a) inside
 * `meta`, borrowed from it; NULL when a part is missing or not an object.
 * `key` as filter_check_key accepts it (a longer part finds nothing). */
const json_t *filter_path_get(const json_t *meta, const char *key);
/* false when every condition is on point ids only (no metadata to read). */
bool filter_needs_meta(const engine_filter *f);

/* A `must` condition of the top group, as a payload index may answer it
 * (MATCH, ANY, RANGE, DATE_RANGE); pointers borrowed from the filter. */
typedef struct {
  engine_filter_kind kind;
  const char *key;                /* dotted path as given */
  engine_filter_value_type vtype; /* MATCH */
  const char *keyword;
  int64_t integer;
  bool flag;
  const char *const *keywords; /* ANY, sorted */
  size_t n_keywords;
  const int64_t *integers; /* ANY, sorted */
  size_t n_integers;
  bool has_gt, has_gte, has_lt, has_lte;
  double gt, gte, lt, lte;      /* RANGE */
  int64_t dgt, dgte, dlt, dlte; /* DATE_RANGE, microseconds */
} filter_term;

/* The top group's must conditions of those kinds, at most cap of them, into
 * out; returns how many there are. *only (may be NULL) is set when the
 * filter is nothing else (then the terms decide it alone). */
size_t filter_terms(const engine_filter *f, filter_term *out, size_t cap, bool *only);

/* A metadata key as filters and payload indexes accept it: 1..256 bytes,
 * 1..16 non-empty dot-separated parts. INVALID_ARGUMENT / OUT_OF_RANGE,
 * the message naming the key as `what` ("filter key", "group_by path"). */
int filter_check_key(const char *key, const char *what, precis_error *err);

/* Parse an RFC 3339 date-time ("2024-05-01T12:00:00Z", fractional seconds
 * and a numeric offset allowed) or full-date ("2024-05-01", midnight UTC)
 * into microseconds since the Unix epoch. false when malformed. */
bool filter_parse_datetime(const char *s, size_t len, int64_t *us);

#endif /* PRECIS_INDEX_FILTER_H */
