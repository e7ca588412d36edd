/* fuzz_readers.c: libFuzzer target for the CLI input readers
 * (client/cli/readers.c: .fvecs, .npy, .jsonl, vector text).
 *
 * Byte 0 picks the format (bits 0-1: fvecs, npy, jsonl, and 3 = the
 * buffer-level parsers rd_npy_parse / rd_jsonl_parse /
 * rd_parse_vector_text) and expect_dim (bits 2-3: 0 = any, 1, 3, 100). The
 * rest is the file, read through fmemopen() until EOF or RD_FATAL (at most
 * 10,000 records). Invariants: every record has a vector of exactly the
 * fixed dimension with finite components, 1 <= dim <= PRECIS_MAX_DIM; an
 * error always comes with a message; RD_FATAL ends the stream. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readers.h"

static void check_record(const rd_record *rec, uint32_t fixed) {
  assert(rec->vector != NULL);
  assert(rec->dim >= 1 && rec->dim <= PRECIS_MAX_DIM);
  if (fixed) assert(rec->dim == fixed);
  for (uint32_t i = 0; i < rec->dim; i++) assert(isfinite(rec->vector[i]));
  if (rec->n_links) assert(rec->links != NULL);
  for (size_t i = 0; i < rec->n_links; i++)
    assert(strlen(rec->links[i].kind) <= PRECIS_MAX_LINK_KIND_LEN);
  if (rec->text) (void)strlen(rec->text);
  if (rec->metadata) assert(rec->metadata[0] == '{');
}

static void buffer_parsers(const uint8_t *data, size_t size, uint32_t dim) {
  char err[256];
  rd_npy_info info;
  size_t need = 0;
  err[0] = 0;
  int rc = rd_npy_parse(data, size, &info, &need, err, sizeof err);
  assert(rc == 0 || rc == 1 || rc == -1);
  if (rc == 1) assert(need > size);
  if (rc == -1) assert(err[0]);
  if (rc == 0) assert(info.data_offset <= size);

  rd_record rec = {0};
  err[0] = 0;
  rc = rd_jsonl_parse((const char *)data, size, dim, &rec, err, sizeof err);
  assert(rc == 0 || rc == 1 || rc == -1);
  if (rc == 0) check_record(&rec, dim);
  if (rc == -1) assert(err[0]);
  rd_record_clear(&rec);

  char *s = malloc(size + 1);
  if (!s) return;
  memcpy(s, data, size);
  s[size] = 0;
  float *v = NULL;
  uint32_t n = 0;
  err[0] = 0;
  rc = rd_parse_vector_text(s, &v, &n, err, sizeof err);
  if (rc == 0) {
    assert(v && n >= 1 && n <= PRECIS_MAX_DIM);
    for (uint32_t i = 0; i < n; i++) assert(isfinite(v[i]));
  } else {
    assert(rc == -1 && err[0]);
  }
  free(v);
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const uint32_t dims[4] = {0, 1, 3, 100};
  unsigned fmt = data[0] & 3;
  uint32_t expect = dims[(data[0] >> 2) & 3];
  data++;
  size--;
  if (fmt == 3) {
    buffer_parsers(data, size, expect);
    return 0;
  }
  /* an exact-size heap copy so that ASan sees reads past the end */
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  FILE *f = fmemopen(copy, size ? size : 1, "rb");
  if (!f) {
    free(copy);
    return 0;
  }
  if (size == 0) fgetc(f); /* an empty stream */
  char err[256];
  rd_reader *r = NULL;
  err[0] = 0;
  if (rd_open(f, (rd_format)fmt, expect, &r, err, sizeof err) == 0) {
    rd_record rec = {0};
    for (int i = 0; i < 10000; i++) {
      err[0] = 0;
      int rc = rd_next(r, &rec, err, sizeof err);
      if (rc == RD_RECORD) {
        uint32_t fixed = rd_dim(r);
        assert(fixed != 0);
        check_record(&rec, fixed);
        continue;
      }
      if (rc == RD_EOF) break;
      assert(err[0]);
      if (rc == RD_FATAL) break;
      assert(rc == RD_BAD);
    }
    rd_record_clear(&rec);
    rd_close(r);
  } else {
    assert(err[0]);
  }
  fclose(f);
  free(copy);
  return 0;
}
