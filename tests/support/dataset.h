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

/* $PRECIS_DATA_DIR if set and non-empty, else "data" (relative to the cwd). */
const char *ds_data_dir(void);
/* buf = "<data dir>/<name>/<file>"; -1 (ENAMETOOLONG) if it does not fit. */
int ds_path(char *buf, size_t cap, const char *name, const char *file);
/* 1 when data set `name` (fiori, glove, glove-small, wordnet, wordnet-small)
 * is complete, i.e. <data dir>/<name>/info.json exists; else 0. */
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

#endif
