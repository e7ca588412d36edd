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

/* false when every condition is on point ids only (no metadata to read). */
bool filter_needs_meta(const engine_filter *f);

/* Parse an RFC 3339 date-time ("2024-05-01T12:00:00Z", fractional seconds
 * and a numeric offset allowed) or full-date ("2024-05-01", midnight UTC)
 * into microseconds since the Unix epoch. false when malformed. */
bool filter_parse_datetime(const char *s, size_t len, int64_t *us);

#endif /* PRECIS_INDEX_FILTER_H */
