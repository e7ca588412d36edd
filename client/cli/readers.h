/*
 * readers.h: the input-file readers of the precis CLI (ingest, query
 * --vector-file). Pure functions over a FILE* (use fmemopen() for memory)
 * or over a buffer: no sockets, no printing, no exit(), so they can be unit
 * tested and fuzzed. Every malformed, truncated or hostile input yields an
 * error message, never a crash or an unbounded allocation driven by a
 * header field.
 *
 * Formats:
 *   fvecs  ANN-benchmarks: per vector an int32 dim then dim float32, all
 *          little-endian. Ids are the 0-based record index (has_id = 0).
 *   npy    NumPy .npy v1/v2/v3, dtype '<f4', 2-D, C order. The header dict
 *          is parsed as a Python literal; fortran_order True, other dtypes
 *          and other ranks are refused with a clear message. Ids are the
 *          0-based row (has_id = 0).
 *   jsonl  one JSON object a line: id (integer >= 0, optional: row index
 *          otherwise), vector (array of numbers, required), text (string),
 *          metadata (object), tokens (integer >= 0), links (array of
 *          {dst, kind, weight}). Blank lines are skipped; line numbers are
 *          1-based and count every line.
 *
 * Results of rd_next(): RD_RECORD (a record was read), RD_EOF, RD_BAD (this
 * record is invalid but the stream is intact: the caller may skip it and
 * continue), RD_FATAL (the stream cannot be read further: truncation, I/O
 * error, a corrupt fvecs length). Messages name the place: "line 7: ..."
 * (jsonl) or "record 12: ..." (fvecs, npy; 0-based).
 *
 * Ownership: rd_reader is created by rd_open() and released by rd_close()
 * (which does not fclose the FILE). rd_record members are owned by the
 * record: start from a zeroed record (rd_record r = {0}); rd_next() and
 * rd_jsonl_parse() clear the record they are given first, and the caller
 * releases the last one with rd_record_clear().
 */
#ifndef PRECIS_CLI_READERS_H
#define PRECIS_CLI_READERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "precis/limits.h"

typedef enum { RD_FMT_FVECS = 0, RD_FMT_NPY = 1, RD_FMT_JSONL = 2 } rd_format;

enum { RD_RECORD = 1, RD_EOF = 0, RD_BAD = -1, RD_FATAL = -2 };

typedef struct rd_link {
  uint64_t dst;
  char kind[PRECIS_MAX_LINK_KIND_LEN + 1];
  float weight;
} rd_link;

typedef struct rd_record {
  uint64_t id; /* valid when has_id */
  int has_id;
  uint64_t index; /* 0-based record index in the file */
  uint64_t line;  /* 1-based line (jsonl), 0 otherwise */
  float *vector;
  uint32_t dim;
  char *text;     /* NULL when absent */
  char *metadata; /* compact JSON object text, NULL when absent */
  int64_t tokens; /* -1 when absent */
  rd_link *links;
  size_t n_links;
} rd_record;

void rd_record_clear(rd_record *rec);

/* "fvecs" / "npy" / "jsonl" -> format; 0 ok, -1 unknown. */
int rd_format_parse(const char *name, rd_format *out);
/* Guess from a path's extension (.fvecs, .npy, .jsonl / .ndjson / .json);
 * 0 ok, -1 unknown. */
int rd_format_guess(const char *path, rd_format *out);
const char *rd_format_name(rd_format f);

typedef struct rd_reader rd_reader;

/* Start reading `f` (borrowed; must stay open until rd_close). For npy the
 * header is read and checked here. expect_dim: 0 = any (the first record
 * fixes it for the rest), otherwise every record must have it (RD_BAD).
 * Returns 0, or -1 with a message (allocation or header error). */
int rd_open(FILE *f, rd_format fmt, uint32_t expect_dim, rd_reader **out, char *err, size_t errlen);
int rd_next(rd_reader *r, rd_record *rec, char *err, size_t errlen);
/* Records in the file when known from its header or size, else -1. */
int64_t rd_total(const rd_reader *r);
/* The dimension fixed so far (0 before the first record). */
uint32_t rd_dim(const rd_reader *r);
void rd_close(rd_reader *r);

/* ---- buffer-level parsers (used by the readers, exposed for tests) ---- */

typedef struct rd_npy_info {
  uint64_t rows;
  uint32_t cols;
  size_t data_offset; /* bytes before the array data */
} rd_npy_info;

/* Parse an .npy preamble + header held in buf[0..len). Returns 0 (info
 * filled), 1 (need at least *need bytes; *need set), or -1 (invalid). */
int rd_npy_parse(const uint8_t *buf, size_t len, rd_npy_info *info, size_t *need, char *err,
                 size_t errlen);

/* Parse one jsonl line (not NUL-terminated necessarily). Returns 0 (record
 * filled), 1 (blank line), -1 (invalid, message without the line prefix).
 * expect_dim 0 = any. */
int rd_jsonl_parse(const char *line, size_t len, uint32_t expect_dim, rd_record *rec, char *err,
                   size_t errlen);

/* Parse "0.1, 0.2 0.3" (commas and/or whitespace; optional [ ]). *out is
 * malloc'd (caller frees). Returns 0 or -1 with a message. */
int rd_parse_vector_text(const char *s, float **out, uint32_t *dim, char *err, size_t errlen);

#endif /* PRECIS_CLI_READERS_H */
