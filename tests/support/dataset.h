/* dataset.h: load the prepared real data sets (scripts/fetch-data.sh, see
 * scripts/README-data.md) in tests and benchmarks. Files are raw
 * little-endian arrays without header: *.f32 float32 rows, *.i32 int32 rows,
 * *.u64 uint64. All loaders return 0 on success, -1 on failure with errno set
 * (EINVAL: size not a whole number of rows); buffers are malloc'd, the caller
 * frees them. */
#ifndef PRECIS_TESTS_DATASET_H
#define PRECIS_TESTS_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "precis/limits.h"

/* $PRECIS_DATA_DIR if set and non-empty, else "data" (relative to the cwd). */
const char *ds_data_dir(void);
/* buf = "<data dir>/<name>/<file>"; -1 (ENAMETOOLONG) if it does not fit. */
int ds_path(char *buf, size_t cap, const char *name, const char *file);
/* 1 when data set `name` (fiori, glove, glove-small, wordnet, wordnet-small,
 * or a study corpus: manpages-small, wordnet-rel-small, ...) is complete, i.e. <data dir>/<name>/info.json exists; else 0. */
int ds_available(const char *name);

/* n rows of dim float32 / int32 (dim >= 1) */
int ds_load_f32(const char *path, size_t dim, float **out, size_t *n);
int ds_load_i32(const char *path, size_t dim, int32_t **out, size_t *n);
/* n uint64 values */
int ds_load_u64(const char *path, uint64_t **out, size_t *n);

/* wordnet meta.tsv / query_meta.tsv: per row the synset id, its category
 * (lex_filenum 0..44, names in categories.txt) and pos (n v a s r). */
typedef struct {
  size_t n;
  uint64_t *id;
  uint8_t *category;
  char *pos;
} ds_wn_meta;
int ds_load_wn_meta(const char *path, ds_wn_meta *m);
void ds_wn_meta_free(ds_wn_meta *m);

/* ---- study corpora (scripts/README-data.md, "Corpus format") ----
 * ds_corpus_load() reads <data dir>/<name>/: info.json (dim), vectors.f32,
 * ids.u64, corpus.jsonl (labels, links, optionally texts), queries.f32,
 * query_ids.u64 and queries.jsonl (label, linked entries). Labels are
 * numbered in byte order of their names (label_names). The older WordNet
 * files (metadata.category, hypernyms_in_corpus) are read too. Returns 0,
 * or -1 with a message on stderr. */
typedef struct {
  uint64_t src, dst;
  char kind[PRECIS_MAX_LINK_KIND_LEN + 1];
  float weight;
} ds_link;

typedef struct {
  size_t n, dim, nq, nlabels, nlinks;
  float *vec;         /* n x dim, unit length */
  uint64_t *ids;      /* row -> id */
  uint32_t *label;    /* row -> label index */
  char **label_names; /* nlabels, sorted */
  char **text;        /* row -> text, NULL unless asked for */
  ds_link *links;     /* both ends in the corpus */
  float *qvec;        /* nq x dim */
  uint64_t *qids;
  uint32_t *qlabel;   /* UINT32_MAX: a label no corpus entry has */
  uint64_t **qlinked; /* per query: ids of its linked corpus entries */
  size_t *nqlinked;
  uint64_t *by_id; /* internal: (id, row) pairs sorted by id */
} ds_corpus;

/* max_queries 0 = all; with_text 1 also keeps the entries' texts. */
int ds_corpus_load(const char *name, size_t max_queries, int with_text, ds_corpus *c);
/* Row of entry `id`, -1 when it is not in the corpus. */
long ds_corpus_row(const ds_corpus *c, uint64_t id);
void ds_corpus_free(ds_corpus *c);

#endif
