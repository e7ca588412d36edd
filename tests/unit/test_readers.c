/*
 * test_readers.c: unit tests of the precis CLI input readers (fvecs, npy,
 * jsonl, vector text) and the progress formatter, on in-memory data. Also
 * feeds every prefix of valid files and random garbage to each reader:
 * they must report errors, never crash (run under SANITIZE=address too).
 *
 * The readers live in client/cli/ (not in a library the test rule links),
 * so their sources are compiled into this test directly.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/cli/progress.c"
#include "../../client/cli/readers.c"
#include "../../client/cli/readers_jsonl.c"

/* ---- helpers ---- */

static FILE *memfile(const void *buf, size_t len) {
  FILE *f = tmpfile();
  cr_assert_not_null(f);
  if (len) cr_assert_eq(fwrite(buf, 1, len, f), len);
  rewind(f);
  return f;
}

typedef struct {
  uint8_t *p;
  size_t n, cap;
} bytes;

static void put(bytes *b, const void *d, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}

static void put_fvec(bytes *b, int32_t dim, const float *v, int n) {
  put(b, &dim, 4); /* test host is little-endian (x86-64 / arm64) */
  put(b, v, (size_t)n * 4);
}

static void put_npy(bytes *b, const char *dict, int version) {
  size_t dl = strlen(dict);
  size_t pre = version == 1 ? 10 : 12;
  size_t total = pre + dl + 1;
  size_t pad = (64 - total % 64) % 64;
  size_t hlen = dl + pad + 1;
  uint8_t h[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)version, 0};
  if (version == 1) {
    h[8] = (uint8_t)(hlen & 0xff);
    h[9] = (uint8_t)(hlen >> 8);
  } else {
    uint32_t l = (uint32_t)hlen;
    memcpy(h + 8, &l, 4);
  }
  put(b, h, pre);
  put(b, dict, dl);
  for (size_t i = 0; i < pad; i++) put(b, " ", 1);
  put(b, "\n", 1);
}

/* Read all records; returns counts of each outcome. */
typedef struct {
  int records, bad, fatal, open_failed;
  char last_err[256];
} tally;

static tally drain(const void *buf, size_t len, rd_format fmt, uint32_t dim) {
  tally t = {0};
  FILE *f = memfile(buf, len);
  rd_reader *r;
  if (rd_open(f, fmt, dim, &r, t.last_err, sizeof t.last_err) < 0) {
    t.open_failed = 1;
    fclose(f);
    return t;
  }
  rd_record rec = {0};
  for (int guard = 0; guard < 100000; guard++) {
    char m[256];
    int st = rd_next(r, &rec, m, sizeof m);
    if (st == RD_EOF) break;
    if (st == RD_RECORD)
      t.records++;
    else {
      snprintf(t.last_err, sizeof t.last_err, "%s", m);
      if (st == RD_BAD)
        t.bad++;
      else {
        t.fatal++;
        break;
      }
    }
  }
  rd_record_clear(&rec);
  rd_close(r);
  fclose(f);
  return t;
}

/* ---- fvecs ---- */

Test(fvecs, reads_records_and_total) {
  bytes b = {0};
  float v[3][4] = {{1, 2, 3, 4}, {5, 6, 7, 8}, {-1, 0.5f, 0, 2}};
  for (int i = 0; i < 3; i++) put_fvec(&b, 4, v[i], 4);
  FILE *f = memfile(b.p, b.n);
  rd_reader *r;
  char m[256];
  cr_assert_eq(rd_open(f, RD_FMT_FVECS, 0, &r, m, sizeof m), 0, "%s", m);
  cr_assert_eq(rd_total(r), 3);
  rd_record rec = {0};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_RECORD, "%s", m);
    cr_assert_eq(rec.dim, 4);
    cr_assert_eq(rec.index, (uint64_t)i);
    cr_assert_eq(rec.has_id, 0);
    cr_assert_eq(memcmp(rec.vector, v[i], sizeof v[i]), 0);
  }
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_EOF);
  rd_record_clear(&rec);
  rd_close(r);
  fclose(f);
  free(b.p);
}

Test(fvecs, truncated_is_fatal_with_record_index) {
  bytes b = {0};
  float v[4] = {1, 2, 3, 4};
  put_fvec(&b, 4, v, 4);
  put_fvec(&b, 4, v, 4);
  put_fvec(&b, 4, v, 2); /* short */
  tally t = drain(b.p, b.n, RD_FMT_FVECS, 0);
  cr_assert_eq(t.records, 2);
  cr_assert_eq(t.fatal, 1);
  cr_assert(strstr(t.last_err, "record 2"), "%s", t.last_err);
  cr_assert(strstr(t.last_err, "truncated"), "%s", t.last_err);
  free(b.p);
}

Test(fvecs, dim_mismatch_is_bad_and_skippable) {
  bytes b = {0};
  float v[5] = {1, 2, 3, 4, 5};
  put_fvec(&b, 4, v, 4);
  put_fvec(&b, 5, v, 5);
  put_fvec(&b, 4, v, 4);
  tally t = drain(b.p, b.n, RD_FMT_FVECS, 4);
  cr_assert_eq(t.records, 2);
  cr_assert_eq(t.bad, 1);
  cr_assert(strstr(t.last_err, "record 1"), "%s", t.last_err);
  free(b.p);
}

Test(fvecs, garbage_dim_and_nan) {
  bytes b = {0};
  float v[2] = {NAN, 1};
  put_fvec(&b, 2, v, 2);
  tally t = drain(b.p, b.n, RD_FMT_FVECS, 0);
  cr_assert_eq(t.bad, 1);
  cr_assert(strstr(t.last_err, "NaN"), "%s", t.last_err);
  b.n = 0;
  put_fvec(&b, 0x7fffffff, v, 2);
  t = drain(b.p, b.n, RD_FMT_FVECS, 0);
  cr_assert_eq(t.fatal, 1);
  b.n = 0;
  put_fvec(&b, -3, v, 2);
  t = drain(b.p, b.n, RD_FMT_FVECS, 0);
  cr_assert_eq(t.fatal, 1);
  t = drain("", 0, RD_FMT_FVECS, 0);
  cr_assert_eq(t.records + t.bad + t.fatal, 0);
  free(b.p);
}

/* ---- npy ---- */

static bytes npy_matrix(const char *dict, int version, int rows, int cols) {
  bytes b = {0};
  put_npy(&b, dict, version);
  for (int i = 0; i < rows * cols; i++) {
    float x = (float)i;
    put(&b, &x, 4);
  }
  return b;
}

Test(npy, reads_c_order_float32) {
  bytes b = npy_matrix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", 1, 3, 2);
  FILE *f = memfile(b.p, b.n);
  rd_reader *r;
  char m[256];
  cr_assert_eq(rd_open(f, RD_FMT_NPY, 2, &r, m, sizeof m), 0, "%s", m);
  cr_assert_eq(rd_total(r), 3);
  rd_record rec = {0};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_RECORD, "%s", m);
    cr_assert_eq(rec.dim, 2);
    cr_assert_float_eq(rec.vector[0], (float)(2 * i), 0);
    cr_assert_float_eq(rec.vector[1], (float)(2 * i + 1), 0);
  }
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_EOF);
  rd_record_clear(&rec);
  rd_close(r);
  fclose(f);
  free(b.p);
}

Test(npy, version2_and_key_order) {
  bytes b =
      npy_matrix("{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"<f4\"}", 2, 2, 3);
  tally t = drain(b.p, b.n, RD_FMT_NPY, 0);
  cr_assert_eq(t.open_failed, 0, "%s", t.last_err);
  cr_assert_eq(t.records, 2);
  free(b.p);
}

Test(npy, refuses_fortran_other_dtypes_and_ranks) {
  struct {
    const char *dict, *expect;
  } cases[] = {
      {"{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", "Fortran"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", "<f8"},
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2), }", ">f4"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }", "<i4"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", "2-D"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", "2-D"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0), }", "dimension"},
      {"{'descr': '<f4', 'shape': (3, 2), }", "lacks"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", "structured"},
      {"not a dict", "dict"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bytes b = npy_matrix(cases[i].dict, 1, 0, 0);
    tally t = drain(b.p, b.n, RD_FMT_NPY, 0);
    cr_assert_eq(t.open_failed, 1, "case %zu accepted", i);
    cr_assert(strstr(t.last_err, cases[i].expect), "case %zu: %s", i, t.last_err);
    free(b.p);
  }
}

Test(npy, truncated_data_and_header) {
  bytes b = npy_matrix("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", 1, 4, 2);
  tally t = drain(b.p, b.n - 5, RD_FMT_NPY, 0);
  cr_assert_eq(t.records, 3);
  cr_assert_eq(t.fatal, 1);
  cr_assert(strstr(t.last_err, "record 3"), "%s", t.last_err);
  t = drain(b.p, 20, RD_FMT_NPY, 0);
  cr_assert_eq(t.open_failed, 1);
  cr_assert(strstr(t.last_err, "truncated"), "%s", t.last_err);
  t = drain("GARBAGE!!!!!!", 13, RD_FMT_NPY, 0);
  cr_assert_eq(t.open_failed, 1);
  cr_assert(strstr(t.last_err, "magic"), "%s", t.last_err);
  t = drain(b.p, b.n, RD_FMT_NPY, 7); /* wrong expected dim */
  cr_assert_eq(t.open_failed, 1);
  free(b.p);
}

/* ---- jsonl ---- */

static const char good_jsonl[] =
    "{\"id\": 7, \"vector\": [1, 2, 3], \"text\": \"hello\", "
    "\"metadata\": {\"lang\": \"en\"}, \"tokens\": 3, "
    "\"links\": [{\"dst\": 8, \"kind\": \"cites\", \"weight\": 0.5}, "
    "{\"dst\": 9, \"kind\": \"see\"}]}\n"
    "\n"
    "{\"id\": 8, \"vector\": [0.5, 0.25, -1]}\n"
    "{\"vector\": [0, 0, 1]}";

Test(jsonl, fields_links_blank_lines) {
  FILE *f = memfile(good_jsonl, strlen(good_jsonl));
  rd_reader *r;
  char m[256];
  cr_assert_eq(rd_open(f, RD_FMT_JSONL, 3, &r, m, sizeof m), 0);
  rd_record rec = {0};
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_RECORD, "%s", m);
  cr_assert_eq(rec.id, 7);
  cr_assert(rec.has_id);
  cr_assert_eq(rec.line, 1);
  cr_assert_str_eq(rec.text, "hello");
  cr_assert_str_eq(rec.metadata, "{\"lang\":\"en\"}");
  cr_assert_eq(rec.tokens, 3);
  cr_assert_eq(rec.n_links, 2);
  cr_assert_eq(rec.links[0].dst, 8);
  cr_assert_str_eq(rec.links[0].kind, "cites");
  cr_assert_float_eq(rec.links[0].weight, 0.5f, 1e-6);
  cr_assert_float_eq(rec.links[1].weight, 1.0f, 1e-6);
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_RECORD, "%s", m);
  cr_assert_eq(rec.id, 8);
  cr_assert_eq(rec.line, 3); /* the blank line counts */
  cr_assert_null(rec.text);
  cr_assert_eq(rec.tokens, -1);
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_RECORD, "%s", m);
  cr_assert_eq(rec.has_id, 0);
  cr_assert_eq(rec.index, 2);
  cr_assert_eq(rec.line, 4);
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_EOF);
  rd_record_clear(&rec);
  rd_close(r);
  fclose(f);
}

Test(jsonl, bad_lines_name_their_line_and_reader_continues) {
  const char *in =
      "{\"id\": 1, \"vector\": [1, 2]}\n"
      "{\"id\": 2, \"vector\": [1, 2]\n"     /* broken JSON */
      "{\"id\": 3, \"vector\": [1, 2, 3]}\n" /* wrong dim */
      "{\"id\": 4, \"vector\": [1, \"x\"]}\n"
      "{\"id\": -5, \"vector\": [1, 2]}\n"
      "{\"id\": 6, \"vector\": [1, 2], \"metadata\": [1]}\n"
      "{\"id\": 7, \"vector\": [1, 2], \"links\": [{\"dst\": 1}]}\n"
      "[1, 2]\n"
      "{\"id\": 9, \"vector\": [3, 4]}\n";
  FILE *f = memfile(in, strlen(in));
  rd_reader *r;
  char m[256];
  cr_assert_eq(rd_open(f, RD_FMT_JSONL, 0, &r, m, sizeof m), 0);
  rd_record rec = {0};
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_RECORD);
  cr_assert_eq(rd_dim(r), 2);
  for (int line = 2; line <= 8; line++) {
    cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_BAD, "line %d", line);
    char want[32];
    snprintf(want, sizeof want, "line %d:", line);
    cr_assert(strstr(m, want), "expected '%s' in '%s'", want, m);
  }
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_RECORD);
  cr_assert_eq(rec.id, 9);
  cr_assert_eq(rd_next(r, &rec, m, sizeof m), RD_EOF);
  rd_record_clear(&rec);
  rd_close(r);
  fclose(f);
}

Test(vector_text, parses_and_rejects) {
  float *v;
  uint32_t d;
  char m[256];
  cr_assert_eq(rd_parse_vector_text("0.1,0.2, 0.3  -4e-1", &v, &d, m, sizeof m), 0, "%s", m);
  cr_assert_eq(d, 4);
  cr_assert_float_eq(v[3], -0.4f, 1e-6);
  free(v);
  cr_assert_eq(rd_parse_vector_text("[1, 2]", &v, &d, m, sizeof m), 0);
  cr_assert_eq(d, 2);
  free(v);
  cr_assert_eq(rd_parse_vector_text("1,x", &v, &d, m, sizeof m), -1);
  cr_assert_eq(rd_parse_vector_text("", &v, &d, m, sizeof m), -1);
  cr_assert_eq(rd_parse_vector_text("1,nan", &v, &d, m, sizeof m), -1);
  cr_assert_eq(rd_parse_vector_text("1;2", &v, &d, m, sizeof m), -1);
}

/* ---- robustness: prefixes and garbage ---- */

Test(robust, every_prefix_of_valid_files) {
  bytes fv = {0};
  float v[3] = {1, 2, 3};
  for (int i = 0; i < 4; i++) put_fvec(&fv, 3, v, 3);
  bytes np = npy_matrix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", 1, 3, 3);
  for (size_t n = 0; n <= fv.n; n++) (void)drain(fv.p, n, RD_FMT_FVECS, 0);
  for (size_t n = 0; n <= np.n; n++) (void)drain(np.p, n, RD_FMT_NPY, 0);
  for (size_t n = 0; n <= strlen(good_jsonl); n++) (void)drain(good_jsonl, n, RD_FMT_JSONL, 0);
  free(fv.p);
  free(np.p);
}

Test(robust, random_garbage) {
  srand(12345);
  uint8_t buf[600];
  for (int iter = 0; iter < 3000; iter++) {
    size_t n = (size_t)(rand() % (int)sizeof buf);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rand();
    if (iter % 3 == 1 && n > 10) /* plausible npy preamble */
      memcpy(buf, "\x93NUMPY\x01\x00\x40\x00", 10);
    (void)drain(buf, n, (rd_format)(iter % 3), 0);
    size_t need;
    rd_npy_info info;
    char m[128];
    (void)rd_npy_parse(buf, n, &info, &need, m, sizeof m);
    rd_record rec = {0};
    (void)rd_jsonl_parse((const char *)buf, n, 0, &rec, m, sizeof m);
    rd_record_clear(&rec);
  }
}

/* ---- progress ---- */

Test(progress, format_with_and_without_total) {
  progress p;
  char line[160];
  progress_init(&p, NULL, 0, "ingest", 1000, 100.0);
  progress_format(&p, 500, 110.0, line, sizeof line);
  cr_assert(strstr(line, "500/1000"), "%s", line);
  cr_assert(strstr(line, "50.0%"), "%s", line);
  cr_assert(strstr(line, "50/s"), "%s", line);
  cr_assert(strstr(line, "ETA 0:10"), "%s", line);
  progress_init(&p, NULL, 1, "ingest", -1, 0.0);
  progress_format(&p, 42, 2.0, line, sizeof line);
  cr_assert(strstr(line, "42"), "%s", line);
  cr_assert(strstr(line, "21/s"), "%s", line);
  cr_assert_null(strstr(line, "ETA"));
}
