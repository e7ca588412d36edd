/*
 * precis/params.h: the retrieval and search parameters of Precis, in one
 * table each (the one home of every knob: its name, type, default, range,
 * wire field, command-line flag and documentation).
 *
 * Conventions:
 *   - A row is X(name, KIND, default, min, max, field, flag, doc):
 *       name    the member of precis_retrieve_params / engine_retrieve_params
 *               (or of the search options) and the RetrieveRequest /
 *               SearchRequest field of the same name;
 *       KIND    U32, U64, F32, F32P (min excluded), F32A (also -1 =
 *               automatic), BOOL, ENUM (choices: PRECIS_PARAM_CHOICES_name,
 *               "|"-separated, in wire order);
 *       default the value a field that is not sent takes;
 *       min/max the inclusive range (F32P: min excluded); a value outside it
 *               is PRECIS_E_OUT_OF_RANGE (ENUM: PRECIS_E_INVALID_ARGUMENT);
 *       field   the proto field number; every field is a one-field oneof on
 *               the wire, so "not sent" and "sent as 0" differ: a field
 *               that is not sent takes its default, always;
 *       flag    the `precis query` long option (BOOL: a flag without a
 *               value that sets the opposite of the default);
 *       doc     one line of documentation (docs/PROTOCOL.md's parameter
 *               tables are generated from it: `make params-doc`).
 *   - Generated from the rows: the members of precis_retrieve_params,
 *     precis_search_opts, engine_retrieve_params and engine_search_params;
 *     the defaults (precis_retrieve_params_init, the engine's _default);
 *     the validation (precis_param_check_*, used by the engine); the proto
 *     mapping on both sides (client/lib, server/dispatch_retrieve.c); the
 *     CLI options (client/cli/cmd_query.c); docs/PROTOCOL.md's tables.
 *   - Adding a knob is one row here, one field in proto/precis.proto (a
 *     one-field oneof; tests/unit/test_params.c checks that they agree) and
 *     the engine code that uses it.
 *   - Parameters that are not scalar (the query vector, link_kinds, the
 *     filter, group_by) are not in the tables.
 *
 * Only standard headers and precis/limits.h; no protobuf, no engine types,
 * so that the engine, the server and the client library all include it.
 */
#ifndef PRECIS_PARAMS_H
#define PRECIS_PARAMS_H

#include <float.h>
#include <stdint.h>

#include "precis/limits.h"

/* (the tables keep one row per line: clang-format is off for them) */
/* clang-format off */
/* ---- concepts shared by search and retrieve (one definition each) ---- */
#define PRECIS_PARAM_K(X, field)                                              \
  X(k, U32, PRECIS_DEFAULT_K, 1, PRECIS_MAX_K, field, "k",                   \
    "items (hits) to return")
#define PRECIS_PARAM_EF_SEARCH(X, field)                                      \
  X(ef_search, U32, 0, 0, PRECIS_MAX_EF_SEARCH, field, "ef-search",           \
    "HNSW search breadth (efSearch) of the ANN search; 0 = the collection's")
#define PRECIS_PARAM_NPROBE(X, field)                                         \
  X(nprobe, U32, 0, 0, PRECIS_MAX_NPROBE, field, "nprobe",                    \
    "IVF cells probed by the ANN search; 0 = the collection's")

/* ---- retrieve (RetrieveRequest) ---- */
#define PRECIS_PARAM_CHOICES_mode "compress|topk|mmr"
#define PRECIS_PARAM_CHOICES_coverage "exact|sparse|sample|auto"

#define PRECIS_RETRIEVE_PARAM_MAP(X)                                          \
  PRECIS_PARAM_K(X, 5)                                                        \
  X(token_budget, U64, 0, 0, PRECIS_MAX_TOKEN_BUDGET, 6, "token-budget",      \
    "max total tokens of the items; 0 = none")                                \
  X(mode, ENUM, 0, 0, 2, 7, "mode",                                           \
    "COMPRESS (greedy on a monotone submodular objective: relevance, "        \
    "coverage, log-det diversity), TOPK or MMR")                              \
  X(seeds, U32, 0, 0, PRECIS_MAX_SEEDS, 8, "seeds",                           \
    "ANN seeds in the pool; 0 = max(10k, 50); with hops > 0 at most half "    \
    "the pool (the rest is room for the walk)")                               \
  X(expand_from, U32, 0, 0, PRECIS_MAX_SEEDS, 31, "expand-from",              \
    "hop 1 walks from this many of the most similar seeds, which also set "   \
    "the relevance scale; 0 = 4k")                                            \
  X(hops, U32, 0, 0, PRECIS_MAX_HOPS, 9, "hops", "graph hops")                \
  X(fanout, U32, PRECIS_DEFAULT_FANOUT, 1, PRECIS_MAX_FANOUT, 10, "fanout",   \
    "edges followed per node")                                                \
  X(pool, U32, PRECIS_DEFAULT_POOL, 1, PRECIS_MAX_POOL, 11, "pool",           \
    "candidate pool cap")                                                     \
  X(follow_knn, BOOL, 0, 0, 1, 12, "knn",                                     \
    "expand over kNN-graph edges (outwards) too")                             \
  X(follow_links, BOOL, 1, 0, 1, 13, "no-links",                              \
    "expand over knowledge links (both directions)")                          \
  X(analogy, BOOL, 1, 0, 1, 35, "no-analogy",                               \
    "hop 1 credits a link u -> v to the point among v and its kNN "           \
    "neighbours nearest to query + v - u (RETRIEVAL.md, Analogy)")            \
  X(specificity, F32, PRECIS_DEFAULT_SPECIFICITY, 0, PRECIS_MAX_SPECIFICITY,  \
    37, "specificity",                                                        \
    "hop 1 weighs a link u -> x by exp(specificity (1 - d)), d = (sim(u, x) " \
    "- sim(query, x)) / the seeds' span, clamped to [-3, 3]: ends that "      \
    "resemble the query count more than the source's own (RETRIEVAL.md, "    \
    "Specificity); 0 = off")                                                  \
  X(graph_weight, F32, PRECIS_DEFAULT_GRAPH_WEIGHT, 0,                        \
    PRECIS_MAX_GRAPH_WEIGHT, 15, "graph-weight",                              \
    "weight of the graph evidence (the sum of the path scores into a "        \
    "point) in its relevance (RETRIEVAL.md)")                                 \
  X(decay, F32P, PRECIS_DEFAULT_DECAY, 0, 1, 16, "decay",                     \
    "factor on every path score walked after hop 1")                         \
  X(anchors, F32A, PRECIS_ANCHORS_AUTO, 0, PRECIS_MAX_K, 36, "anchors",      \
    "with hops: this many of the most similar seeds carry at least the "      \
    "pool's strongest graph evidence, so the walk adds to them rather than "  \
    "displace them (whole number); 0 = none; -1 = automatic: ceil(k/4)")     \
  X(lambda, F32, PRECIS_DEFAULT_LAMBDA, 0, 1, 17, "lambda",                   \
    "MMR trade-off, relevance and redundancy on one scale (redundancy: "     \
    "cosine mixed with shared neighbours, see shared_neighbours): 1 = "      \
    "TOPK, 0 = most diverse")                                                 \
  X(diversity, F32A, PRECIS_DIVERSITY_AUTO, 0, 1, 30, "diversity",            \
    "COMPRESS's one knob, 0 (= TOPK) .. 1 (most diverse); sets theta when "   \
    "theta is automatic, and the automatic similarity floor; -1 = "           \
    "automatic: 0.5 at hops 0, 0.1 with hops")                                \
  X(similarity_floor, F32A, PRECIS_SIMILARITY_FLOOR_AUTO, 0, 1, 33,           \
    "similarity-floor",                                                       \
    "MMR and COMPRESS keep the set's mean similarity (graph evidence "        \
    "included) >= this x TOPK's; 0 = off; -1 = automatic: 1 - 0.05 "          \
    "diversity (COMPRESS), 1 - 0.05 (1 - lambda) (MMR)")                      \
  X(shared_neighbours, F32A, PRECIS_SHARED_NEIGHBOURS_AUTO, 0, 1, 34,        \
    "shared-neighbours",                                                      \
    "COMPRESS's log-det similarity and MMR's redundancy: weight of shared "   \
    "kNN-graph neighbours beside the cosine (experts; 0 = the cosine "        \
    "alone); -1 = automatic: 0.5 at hops 0, 0 with hops")                    \
  X(a, F32, PRECIS_DEFAULT_A, 0, FLT_MAX, 18, "a",                            \
    "COMPRESS weight of relevance (experts)")                                 \
  X(b, F32, PRECIS_DEFAULT_B, 0, FLT_MAX, 19, "b",                            \
    "COMPRESS weight of coverage (experts)")                                  \
  X(c, F32, PRECIS_DEFAULT_C, 0, FLT_MAX, 20, "c",                            \
    "COMPRESS weight of log-det diversity (experts); a, b, c not all 0")      \
  X(theta, F32A, PRECIS_THETA_AUTO, 0, PRECIS_MAX_THETA, 21, "theta",         \
    "log-det quality exponent (quality = 30 exp(theta (relevance - the "      \
    "pool's best))); -1 = automatic, from diversity")                         \
  X(coverage, ENUM, 3, 0, 3, 22, "coverage",                                  \
    "COMPRESS coverage form: EXACT (full pool x pool), SPARSE (kNN edges), "  \
    "SAMPLE, AUTO (EXACT while pool*pool*(dim+100) <= 2.6e8, else SAMPLE)")  \
  X(exact_seeds, BOOL, 0, 0, 1, 23, "exact",                                  \
    "brute-force seeds instead of the ANN index")                             \
  PRECIS_PARAM_EF_SEARCH(X, 24)                                               \
  PRECIS_PARAM_NPROBE(X, 32)                                                  \
  X(group_limit, U32, 1, 1, PRECIS_MAX_K, 41, "group-limit",                 \
    "with group_by: at most this many items share one value of that "        \
    "metadata field (the most relevant of each value enter the selection)")  \
  X(max_represented_ids, U32, PRECIS_DEFAULT_MAX_REPRESENTED, 0,              \
    PRECIS_MAX_REPRESENTED, 25, "max-represented",                            \
    "ids listed per item in represented_ids")

/* ---- search (SearchRequest): k, then the options ---- */
#define PRECIS_SEARCH_OPTS_MAP(X)                                             \
  X(exact, BOOL, 0, 0, 1, 4, "exact",                                         \
    "brute force instead of the ANN index")                                   \
  PRECIS_PARAM_EF_SEARCH(X, 5)                                                \
  PRECIS_PARAM_NPROBE(X, 6)
#define PRECIS_SEARCH_PARAM_MAP(X)                                            \
  PRECIS_PARAM_K(X, 3)                                                        \
  PRECIS_SEARCH_OPTS_MAP(X)
/* clang-format on */

/* ---- generated C types and checks ---- */
#define PRECIS_PARAM_CTYPE_U32  uint32_t
#define PRECIS_PARAM_CTYPE_U64  uint64_t
#define PRECIS_PARAM_CTYPE_F32  float
#define PRECIS_PARAM_CTYPE_F32P float
#define PRECIS_PARAM_CTYPE_F32A float
#define PRECIS_PARAM_CTYPE_BOOL int
#define PRECIS_PARAM_CTYPE_ENUM int

/* struct members: PRECIS_RETRIEVE_PARAM_MAP(PRECIS_PARAM_MEMBER) */
#define PRECIS_PARAM_MEMBER(name, KIND, d, lo, hi, field, flag, doc) PRECIS_PARAM_CTYPE_##KIND name;
/* defaults: p->name = default for every row (p in scope) */
#define PRECIS_PARAM_SET_DEFAULT(name, KIND, d, lo, hi, field, flag, doc) \
  p->name = (PRECIS_PARAM_CTYPE_##KIND)(d);

/* 1 when v is a valid value of a row of that KIND and range:
 * precis_param_ok_##KIND(value, min, max). */
static inline int precis_param_ok_U64(uint64_t v, uint64_t lo, uint64_t hi) {
  return v >= lo && v <= hi;
}
static inline int precis_param_ok_U32(uint64_t v, uint64_t lo, uint64_t hi) {
  return v >= lo && v <= hi;
}
static inline int precis_param_ok_F32(float v, double lo, double hi) {
  return v >= lo && v <= hi; /* false for NaN */
}
static inline int precis_param_ok_F32P(float v, double lo, double hi) { return v > lo && v <= hi; }
static inline int precis_param_ok_F32A(float v, double lo, double hi) {
  return v == -1.0f || (v >= lo && v <= hi);
}
static inline int precis_param_ok_BOOL(int v, int lo, int hi) { return v >= lo && v <= hi; }
static inline int precis_param_ok_ENUM(int v, int lo, int hi) { return v >= lo && v <= hi; }

/* The status of a value outside its row: PRECIS_PARAM_BAD_##KIND. */
#define PRECIS_PARAM_BAD_U32  PRECIS_E_OUT_OF_RANGE
#define PRECIS_PARAM_BAD_U64  PRECIS_E_OUT_OF_RANGE
#define PRECIS_PARAM_BAD_F32  PRECIS_E_OUT_OF_RANGE
#define PRECIS_PARAM_BAD_F32P PRECIS_E_OUT_OF_RANGE
#define PRECIS_PARAM_BAD_F32A PRECIS_E_OUT_OF_RANGE
#define PRECIS_PARAM_BAD_BOOL PRECIS_E_INVALID_ARGUMENT
#define PRECIS_PARAM_BAD_ENUM PRECIS_E_INVALID_ARGUMENT

#endif /* PRECIS_PARAMS_H */
