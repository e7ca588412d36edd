/* test_wirecheck.c: common/valid.c (text and name rules), proto/wirecheck.c
 * (the pre-decode walk) and index/ann/ann.c's spec bounds, without a server. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ann.h"
#include "frame.h"
#include "precis.pb-c.h"
#include "precis/limits.h"
#include "valid.h"
#include "wirecheck.h"

Test(valid, text_utf8_and_nul) {
  size_t at;
  cr_assert_eq(valid_text("", 0, &at), VALID_OK);
  cr_assert_eq(valid_text("plain ascii text, longer than eight", 35, &at), VALID_OK);
  cr_assert_eq(valid_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, &at), VALID_OK);
  cr_assert_eq(valid_text("\xef\xbf\xbd\xf4\x8f\xbf\xbf", 7, &at), VALID_OK); /* U+FFFD, U+10FFFF */
  cr_assert_eq(valid_text("abcdefgh\0ijk", 12, &at), VALID_NUL);
  cr_assert_eq(at, 8);
  cr_assert_eq(valid_text("a\0", 2, &at), VALID_NUL);
  cr_assert_eq(at, 1);
  struct {
    const char *s;
    size_t at;
  } bad[] = {
      {"\xff", 0},
      {"ab\xfe", 2},
      {"\xc0\xaf", 0}, /* overlong */
      {"\xe0\x80\xaf", 0},
      {"\xed\xa0\x80", 0}, /* surrogate */
      {"\xf4\x90\x80\x80", 0},
      {"\xf5\x80\x80\x80", 0}, /* > U+10FFFF */
      {"12345678\xe2\x82", 8},
      {"\xc3", 0}, /* truncated */
      {"\x80", 0},
      {"\xe2\x28\xa1", 0},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(valid_text(bad[i].s, strlen(bad[i].s), &at), VALID_UTF8, "case %zu", i);
    cr_assert_eq(at, bad[i].at, "case %zu: at %zu", i, at);
  }
}

Test(valid, names) {
  cr_assert(valid_name("a", 1));
  cr_assert(valid_name("a.b-c_D9", 8));
  cr_assert(valid_name("...", 3));
  cr_assert_not(valid_name(".", 1));
  cr_assert_not(valid_name("..", 2));
  cr_assert_not(valid_name("", 0));
  cr_assert_not(valid_name("a\0b", 3));
  cr_assert_not(valid_name("a/b", 3));
  char n65[66];
  memset(n65, 'x', 65);
  cr_assert(valid_name(n65, 64));
  cr_assert_not(valid_name(n65, 65));
}

/* ---- wirecheck over real encodings ---- */

static uint8_t *pack_request(Precis__V1__Request *q, size_t *n) {
  *n = protobuf_c_message_get_packed_size(&q->base);
  uint8_t *b = malloc(*n ? *n : 1);
  protobuf_c_message_pack(&q->base, b);
  return b;
}

static uint32_t kinds_limit(const ProtobufCMessageDescriptor *d,
                            const ProtobufCFieldDescriptor *f) {
  (void)d;
  return strcmp(f->name, "link_kinds") == 0 ? 3 : 0;
}

Test(wirecheck, valid_request_passes_with_id_op_and_estimate) {
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__UpsertRequest up = PRECIS__V1__UPSERT_REQUEST__INIT;
  Precis__V1__Point p = PRECIS__V1__POINT__INIT, *pp = &p;
  float v[4] = {1, 2, 3, 4};
  p.id = 5;
  p.vector = v;
  p.n_vector = 4;
  p.text = "caf\xc3\xa9";
  up.collection = "c";
  up.points = &pp;
  up.n_points = 1;
  q.id = 77;
  q.op_case = PRECIS__V1__REQUEST__OP_UPSERT;
  q.upsert = &up;
  size_t n;
  uint8_t *b = pack_request(&q, &n);
  wirecheck_result res;
  precis_error err = {0};
  cr_assert_eq(wirecheck_message(&precis__v1__request__descriptor, b, n, NULL, &res, &err), 0, "%s",
               err.msg);
  cr_assert_eq(res.id, 77);
  cr_assert_eq(res.oneof_field, PRECIS__V1__REQUEST__OP_UPSERT);
  cr_assert_gt(res.decoded, sizeof(Precis__V1__Request) + sizeof(Precis__V1__Point));
  cr_assert_lt(res.decoded, 4096);
  free(b);
}

Test(wirecheck, nul_and_utf8_named_by_path) {
  /* Request{id 1, drop_collection{name "a\0zzz"}} */
  const uint8_t drop[] = {0x08, 0x01, 0x72, 0x07, 0x0a, 0x05, 'a', 0, 'z', 'z', 'z'};
  precis_error err = {0};
  wirecheck_result res;
  cr_assert_eq(
      wirecheck_message(&precis__v1__request__descriptor, drop, sizeof drop, NULL, &res, &err),
      PRECIS_E_INVALID_ARGUMENT);
  cr_assert_str_eq(err.msg, "drop_collection.name contains a NUL byte at offset 1");
  cr_assert_eq(res.id, 1);
  /* upsert{points[1].text = ff} */
  const uint8_t up[] = {0x8a, 0x01, 0x09, 0x12, 0x00, 0x12, 0x03, 0x1a, 0x01, 0xff, 0x0a, 0x00};
  cr_assert_eq(wirecheck_message(&precis__v1__request__descriptor, up, sizeof up, NULL, NULL, &err),
               PRECIS_E_INVALID_ARGUMENT);
  cr_assert_str_eq(err.msg, "upsert.points[1].text is not valid UTF-8 at offset 0");
  /* protobuf-c alone accepts both and truncates the first */
  Precis__V1__Request *r = precis__v1__request__unpack(NULL, sizeof drop, drop);
  cr_assert_not_null(r);
  cr_assert_str_eq(r->drop_collection->name, "a");
  precis__v1__request__free_unpacked(r, NULL);
}

Test(wirecheck, repeated_limits_and_decoded_bound) {
  wirecheck_rules rules = {.default_max_repeated = 10, .max_repeated = kinds_limit};
  precis_error err = {0};
  /* retrieve{link_kinds x4} */
  uint8_t rq[64];
  size_t n = 0;
  rq[n++] = 0xc2;
  rq[n++] = 0x01;
  rq[n++] = 4 * 3;
  for (int i = 0; i < 4; i++) {
    rq[n++] = 0x72;
    rq[n++] = 1;
    rq[n++] = 'k';
  }
  cr_assert_eq(wirecheck_message(&precis__v1__request__descriptor, rq, n, &rules, NULL, &err),
               PRECIS_E_OUT_OF_RANGE);
  cr_assert_str_eq(err.msg, "retrieve.link_kinds: more than 3 elements (limit 3)");
  rq[2] = 3 * 3; /* three kinds: fine */
  cr_assert_eq(wirecheck_message(&precis__v1__request__descriptor, rq, n - 3, &rules, NULL, &err),
               0, "%s", err.msg);
  /* packed ids: 11 one-byte varints exceed the default 10 */
  uint8_t get[] = {0x92, 0x01, 0x0d, 0x12, 0x0b, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  cr_assert_eq(
      wirecheck_message(&precis__v1__request__descriptor, get, sizeof get, &rules, NULL, &err),
      PRECIS_E_OUT_OF_RANGE);
  cr_assert_str_eq(err.msg, "get.ids: more than 10 elements (limit 10)");
  /* 1000 empty points: each a whole Point struct once decoded */
  size_t np = 1000;
  uint8_t *b = malloc(4 + 2 * np);
  size_t k = 0;
  b[k++] = 0x8a;
  b[k++] = 0x01;
  b[k++] = (uint8_t)((2 * np) | 0x80);
  b[k++] = (uint8_t)((2 * np) >> 7);
  for (size_t i = 0; i < np; i++) {
    b[k++] = 0x12;
    b[k++] = 0x00;
  }
  wirecheck_result res;
  cr_assert_eq(wirecheck_message(&precis__v1__request__descriptor, b, k, NULL, &res, &err), 0);
  cr_assert_gt(res.decoded, np * sizeof(Precis__V1__Point), "estimate %lu",
               (unsigned long)res.decoded);
  wirecheck_rules tight = {.max_decoded = 20 * k};
  cr_assert_eq(wirecheck_message(&precis__v1__request__descriptor, b, k, &tight, NULL, &err),
               PRECIS_E_OUT_OF_RANGE);
  cr_assert_not_null(strstr(err.msg, "would decode to more than"));
  free(b);
}

Test(wirecheck, malformed_is_protocol) {
  const struct {
    const char *b;
    size_t n;
  } cases[] = {
      {"\x08", 1},                     /* truncated varint */
      {"\x72\x05\x0a", 3},             /* length past the end */
      {"\x0b", 1},                     /* group */
      {"\x0d\x01\x02\x03\x04", 5},     /* id (varint) as fixed32 */
      {"\x92\x01\x03\x12\x01\x80", 6}, /* truncated packed varint */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    precis_error err = {0};
    cr_assert_eq(wirecheck_message(&precis__v1__request__descriptor, (const uint8_t *)cases[i].b,
                                   cases[i].n, NULL, NULL, &err),
                 PRECIS_E_PROTOCOL, "case %zu: %s", i, err.msg);
  }
  /* nesting: a chain of retrieve messages is cut at max_depth */
  wirecheck_rules r = {.max_depth = 2};
  const uint8_t deep[] = {0x8a, 0x01, 0x04, 0x12, 0x02, 0x1a, 0x00};
  precis_error err = {0};
  cr_assert_eq(
      wirecheck_message(&precis__v1__request__descriptor, deep, sizeof deep, &r, NULL, &err), 0,
      "%s", err.msg);
  r.max_depth = 1;
  cr_assert_eq(
      wirecheck_message(&precis__v1__request__descriptor, deep, sizeof deep, &r, NULL, &err),
      PRECIS_E_PROTOCOL);
}

/* ---- index specs ---- */

Test(ann_spec, families_and_bounds) {
  precis_error err = {0};
  ann_cost c;
  const char *ok[] = {"Flat",      "HNSW2",         "HNSW128",   "HNSW32,Flat",
                      "IVF1,Flat", "IVF65536,Flat", "IVF16,PQ8", "IVF16,PQ8x4",
                      "IVF16,SQ8", "IVF16,SQfp16",  "PQ4",       "PQ4x12",
                      "SQ4",       "SQ6",           "SQ8",       "SQfp16"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    cr_assert_eq(ann_spec_check(64, ok[i], &c, &err), 0, "%s: %s", ok[i], err.msg);
  const char *range[] = {"HNSW1",     "HNSW129",       "HNSW999999999", "HNSW9999999999,Flat",
                         "IVF0,Flat", "IVF65537,Flat", "PQ3",           "PQ128",
                         "PQ4x13",    "PQ4x0"};
  for (size_t i = 0; i < sizeof range / sizeof range[0]; i++)
    cr_assert_eq(ann_spec_check(64, range[i], &c, &err), PRECIS_E_OUT_OF_RANGE, "%s: %s", range[i],
                 err.msg);
  const char *bad[] = {"",          "LSH",   "IDMap,Flat", "HNSW32,PQ8",
                       "Flat,Flat", "IVF16", "IVF16,LSH",  "PCA32,Flat",
                       "SQ7",       "HNSW",  "flat",       "HNSW32 "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(ann_spec_check(64, bad[i], &c, &err), PRECIS_E_INVALID_ARGUMENT, "%s: %s", bad[i],
                 err.msg);
  /* estimates: Flat stores the floats; HNSW adds links; IVF has centroids */
  cr_assert_eq(ann_spec_check(64, "Flat", &c, &err), 0);
  cr_assert_eq(c.per_vector_bytes, 256);
  cr_assert_eq(c.fixed_bytes, 0);
  cr_assert_eq(ann_spec_check(64, "HNSW32", &c, &err), 0);
  cr_assert_gt(c.per_vector_bytes, 256 + 2 * 32 * 4);
  cr_assert_eq(ann_spec_check(64, "IVF1024,PQ8", &c, &err), 0);
  cr_assert_geq(c.fixed_bytes, 1024ull * 256);
  cr_assert_eq(c.per_vector_bytes, 8 + 8);
}

Test(ann_spec, budget_refuses_adds) {
  ann *a = NULL;
  precis_error err = {0};
  cr_assert_eq(ann_create(4, ANN_METRIC_L2, "Flat", &a, &err), 0, "%s", err.msg);
  ann_set_budget(a, 10 * 16); /* ten vectors of 16 bytes */
  float x[11 * 4] = {0};
  cr_assert_eq(ann_check_room(a, 10, &err), 0);
  cr_assert_eq(ann_add(a, 10, x, &err), 0);
  cr_assert_eq(ann_check_room(a, 1, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert_not_null(strstr(err.msg, "--max-index-memory"));
  ann_destroy(a);
  /* a spec FAISS would take but Precis bounds never reaches FAISS */
  cr_assert_eq(ann_create(4, ANN_METRIC_L2, "HNSW999999999,Flat", &a, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert_null(a);
}

/* The envelope scan the event loop runs on large frames: the id and the
 * operation, each top-level field's extent, nothing inside (the worker runs
 * wirecheck_message). */
Test(wirecheck, envelope_reads_the_top_level_only) {
  precis_error err = {0};
  wirecheck_result res;
  /* Request{id 1, drop_collection{name "a\0zzz"}}: the envelope is sound;
   * the NUL inside is the full walk's business */
  const uint8_t drop[] = {0x08, 0x01, 0x72, 0x07, 0x0a, 0x05, 'a', 0, 'z', 'z', 'z'};
  cr_assert_eq(wirecheck_envelope(drop, sizeof drop, &res, &err), PRECIS_OK);
  cr_assert_eq(res.id, 1);
  cr_assert_eq(res.oneof_field, PRECIS__V1__REQUEST__OP_DROP_COLLECTION);
  cr_assert_eq(res.decoded, 0);
  cr_assert_eq(
      wirecheck_message(&precis__v1__request__descriptor, drop, sizeof drop, NULL, NULL, &err),
      PRECIS_E_INVALID_ARGUMENT);
  /* a length past the end, a truncated varint, field number 0, a group */
  const uint8_t past[] = {0x08, 0x01, 0x72, 0x09, 0x0a, 0x05, 'a'};
  const uint8_t trunc[] = {0x08, 0xff};
  const uint8_t zero[] = {0x00, 0x01};
  const uint8_t group[] = {0x0b, 0x0c};
  const struct {
    const uint8_t *p;
    size_t n;
  } bad[] = {
      {past, sizeof past}, {trunc, sizeof trunc}, {zero, sizeof zero}, {group, sizeof group}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(wirecheck_envelope(bad[i].p, bad[i].n, &res, &err), PRECIS_E_PROTOCOL, "case %zu",
                 i);
  /* a real upsert of many points: the last message field is the op */
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__UpsertRequest up = PRECIS__V1__UPSERT_REQUEST__INIT;
  Precis__V1__Point pts[50], *pp[50];
  for (int i = 0; i < 50; i++) {
    precis__v1__point__init(&pts[i]);
    pts[i].id = (uint64_t)i;
    pp[i] = &pts[i];
  }
  up.collection = "c";
  up.points = pp;
  up.n_points = 50;
  q.id = 77;
  q.op_case = PRECIS__V1__REQUEST__OP_UPSERT;
  q.upsert = &up;
  size_t n;
  uint8_t *b = pack_request(&q, &n);
  cr_assert_eq(wirecheck_envelope(b, n, &res, &err), PRECIS_OK);
  cr_assert_eq(res.id, 77);
  cr_assert_eq(res.oneof_field, PRECIS__V1__REQUEST__OP_UPSERT);
  free(b);
}
