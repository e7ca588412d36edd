/* test_hostile.c: one regression test per row of issue 11 (a hostile client
 * against precisd), mostly with hand-made protobuf bytes because that is
 * how the rows were found: a standard client cannot send a NUL inside a
 * string or invalid UTF-8. Each test checks that the reproduction ends in a
 * clear status or a closed connection and that the server stays up (every
 * test ends with a clean SIGTERM exit). Memory rows read the server's
 * VmRSS from /proc; bounds are generous multiples of what docs/SECURITY.md
 * states, so that they catch the unbounded behaviour (gigabytes), not noise.
 * No timing assertions: deadlines are set to 1-2 s and the tests wait for
 * the close with a 30 s guard. */
#include "hostfix.h"

/* ---- row 1: index specs ---- */

Test(hostile, row1_index_spec_bounded, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  Precis__V1__Response *r = create(&c, "h", 4, "HNSW999999999,Flat");
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  expect_msg(r, "HNSW M must be 2..128");
  FREE(r);
  r = create(&c, "h", 4, "HNSW100000");
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  FREE(r);
  r = create(&c, "h", 4, "IVF1000000,Flat");
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  FREE(r);
  r = create(&c, "h", 4, "PQ3");
  assert_status(r, PRECIS_E_OUT_OF_RANGE); /* m must divide the dimension */
  FREE(r);
  const char *bad[] = {"LSH",   "IDMap,Flat", "HNSW32,PQ999", "Flat,Flat",
                       "IVF16", "PCA2,Flat",  "HNSW",         "SQ7"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = create(&c, "h", 4, bad[i]);
    assert_status(r, PRECIS_E_INVALID_ARGUMENT);
    expect_msg(r, "not supported");
    FREE(r);
  }
  const char *good[] = {"Flat",  "HNSW16", "HNSW32,Flat", "IVF4,Flat",
                        "PQ2x4", "SQ8",    "IVF4,SQfp16", "IVF4,PQ2"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    char name[16];
    snprintf(name, sizeof name, "g%zu", i);
    r = create(&c, name, 4, good[i]);
    assert_status(r, PRECIS_OK);
    FREE(r);
  }
  /* the original reproduction, 300 points into a small HNSW: fine now */
  for (uint64_t i = 0; i < 300; i++) {
    r = upsert_one(&c, "g1", i + 1, 4, "t", 1, NULL, 0);
    assert_status(r, PRECIS_OK);
    FREE(r);
  }
  rc_close(&c);
  expect_healthy();
}

static void start_small_index_budget(void) {
  const char *args[] = {"--max-index-memory", "8M", NULL};
  start_with(args);
}

Test(hostile, row1_index_memory_budget, .init = start_small_index_budget) {
  rconn c;
  rc_open(&c, g_srv.port);
  /* 100,000 vectors of 64 floats need ~25 MiB: over 8 MiB at create */
  Precis__V1__Response *r = create(&c, "big", 64, "Flat");
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  expect_msg(r, "over the budget");
  FREE(r);
  /* IVF centroids alone: 65536 x 64 floats = 16 MiB */
  r = create(&c, "ivf", 64, "IVF65536,Flat");
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  FREE(r);
  r = create(&c, "small", 4, "Flat"); /* 1.6 MB for a full batch */
  assert_status(r, PRECIS_OK);
  FREE(r);
  rc_close(&c);
}

/* ---- row 2: unread responses ---- */

Test(hostile, row2_unread_responses_bounded, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  big_point(&c);
  Precis__V1__Response *r;
  uint64_t base = server_rss();

  /* 150 pipelined get{ids:[1]*10} (10 MiB each) that are not read */
  rconn h;
  rc_open(&h, g_srv.port);
  int one = 1 << 16; /* small receive buffer: the server must hold the rest */
  setsockopt(h.fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof one);
  send_big_gets(&h, 150, 1000);
  /* let the workers answer what they will; the peak is sampled meanwhile */
  uint64_t peak = base;
  for (int t = 0; t < 40; t++) {
    sleep_ms(100);
    uint64_t now = server_rss();
    if (now > peak) peak = now;
  }
  expect_healthy(); /* another client is served meanwhile */
  uint64_t grew = peak > base ? peak - base : 0;
  cr_log_info("row 2: RSS %lu MiB -> peak %lu MiB", (unsigned long)(base >> 20),
              (unsigned long)(peak >> 20));
  /* unbounded it was 1.5 GB; the bound is max-conn-output (64 MiB) plus the
   * workers' transient responses (2 x 10 MiB) */
  rss_assert_lt(grew, 256ull << 20, "RSS grew by %lu MiB", (unsigned long)(grew >> 20));

  /* every request is answered: OK, or BUSY naming the unread output */
  int ok = 0, busy = 0;
  for (int i = 0; i < 150; i++) {
    r = rc_recv(&h);
    cr_assert_not_null(r, "response %d missing", i);
    if (code_of(r) == PRECIS_OK)
      ok++;
    else {
      assert_status(r, PRECIS_E_BUSY);
      expect_msg(r, "unread");
      busy++;
    }
    FREE(r);
  }
  /* how many are BUSY depends on timing (how much the socket buffers took
   * before the 64 MiB queue filled); every request got an answer */
  cr_log_info("row 2: %d OK, %d BUSY", ok, busy);
  cr_assert_gt(ok, 0);
  rc_close(&h);
  rc_close(&c);
}

/* ---- row 3: decoded-size amplification ---- */

Test(hostile, row3_empty_points_refused_before_decoding, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  create_ok(&c, "c", 4, "Flat");
  Precis__V1__Response *r;
  uint64_t base = server_rss();
  /* 16 MiB of "12 00": 8 million empty points */
  size_t n = 8u << 20;
  pbw up = {0};
  pw_bytes(&up, 1, "c", 1);
  uint8_t *body = malloc(2 * n);
  for (size_t i = 0; i < n; i++) {
    body[2 * i] = 0x12;
    body[2 * i + 1] = 0x00;
  }
  pw_put(&up, body, 2 * n);
  free(body);
  r = call_op(&c, 77, OP_UPSERT, &up);
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  expect_msg(r, "upsert.points");
  FREE(r);
  uint64_t grew = server_rss() > base ? server_rss() - base : 0;
  cr_log_info("row 3: RSS grew by %lu MiB", (unsigned long)(grew >> 20));
  rss_assert_lt(grew, 128ull << 20, "RSS grew by %lu MiB", /* the frame (16 MiB), slack */
                (unsigned long)(grew >> 20));
  /* the connection stays usable */
  r = health(&c);
  assert_status(r, PRECIS_OK);
  FREE(r);
  /* 100,000 empty points (the batch limit) decode: each is refused by the
   * engine for having no vector */
  pbw up2 = {0};
  pw_bytes(&up2, 1, "c", 1);
  for (size_t i = 0; i < PRECIS_MAX_BATCH; i++) pw_put(&up2, "\x12\x00", 2);
  r = call_op(&c, 78, OP_UPSERT, &up2);
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  FREE(r);
  rc_close(&c);
}

/* ---- rows 4 and 5: NUL bytes and invalid UTF-8 ---- */

Test(hostile, row4_nul_in_names_refused, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  create_ok(&c, "a", 4, "Flat");
  Precis__V1__Response *r;
  /* drop "a\0zzz" must not drop "a" */
  pbw d = {0};
  pw_bytes(&d, 1, "a\0zzz", 5);
  r = call_op(&c, 20, OP_DROP, &d);
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  expect_msg(r, "drop_collection.name contains a NUL byte at offset 1");
  FREE(r);
  pbw ds = {0};
  pw_bytes(&ds, 1, "a", 1);
  r = call_op(&c, 21, OP_DESCRIBE, &ds);
  assert_status(r, PRECIS_OK); /* still there */
  FREE(r);
  /* create "ok\0/../../etc" creates nothing */
  r = create_raw(&c, "ok\0/../../etc", 13, 4, "Flat");
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  expect_msg(r, "create_collection.name");
  FREE(r);
  pbw dk = {0};
  pw_bytes(&dk, 1, "ok", 2);
  r = call_op(&c, 22, OP_DESCRIBE, &dk);
  assert_status(r, PRECIS_E_NOT_FOUND);
  FREE(r);
  /* snapshot "s2\0/../../x" */
  pbw sn = {0};
  pw_bytes(&sn, 1, "s2\0/../../x", 11);
  r = call_op(&c, 23, OP_SNAPSHOT, &sn);
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  expect_msg(r, "snapshot.name");
  FREE(r);
  rc_close(&c);
}

Test(hostile, row4_nul_in_text_metadata_kind_refused, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  create_ok(&c, "t", 4, "Flat");
  Precis__V1__Response *r;
  r = upsert_one(&c, "t", 1, 4, "abc\0def", 7, NULL, 0);
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  expect_msg(r, "upsert.points[0].text contains a NUL byte at offset 3");
  FREE(r);
  r = upsert_one(&c, "t", 1, 4, "abc", 3, "{\"k\":1}\0garbage", 15);
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  expect_msg(r, "upsert.points[0].metadata");
  FREE(r);
  r = upsert_one(&c, "t", 1, 4, "abc", 3, "{\"k\":1}", 7);
  assert_status(r, PRECIS_OK);
  FREE(r);
  r = upsert_one(&c, "t", 2, 4, "def", 3, NULL, 0);
  assert_status(r, PRECIS_OK);
  FREE(r);
  pbw e = {0}, al = {0};
  pw_uint(&e, 1, 1);
  pw_uint(&e, 2, 2);
  pw_bytes(&e, 3, "ab\0cd", 5);
  pw_bytes(&al, 1, "t", 1);
  pw_sub(&al, 2, &e);
  r = call_op(&c, 30, OP_ADD_LINKS, &al);
  assert_status(r, PRECIS_E_INVALID_ARGUMENT);
  expect_msg(r, "add_links.links[0].kind");
  FREE(r);
  rc_close(&c);
}

Test(hostile, row5_invalid_utf8_refused, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  create_ok(&c, "u", 4, "Flat");
  Precis__V1__Response *r;
  const char *bad[] = {"\xff\xfe", "ok\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "abc\xe2\x82"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = upsert_one(&c, "u", 1, 4, bad[i], strlen(bad[i]), NULL, 0);
    assert_status(r, PRECIS_E_INVALID_ARGUMENT);
    expect_msg(r, "upsert.points[0].text is not valid UTF-8");
    FREE(r);
  }
  const char *good = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  r = upsert_one(&c, "u", 1, 4, good, strlen(good), NULL, 0);
  assert_status(r, PRECIS_OK);
  FREE(r);
  /* what comes back parses in any client */
  Precis__V1__Request q = PRECIS__V1__REQUEST__INIT;
  Precis__V1__GetRequest g = PRECIS__V1__GET_REQUEST__INIT;
  uint64_t id = 1;
  g.collection = "u";
  g.ids = &id;
  g.n_ids = 1;
  q.id = 40;
  q.op_case = PRECIS__V1__REQUEST__OP_GET;
  q.get = &g;
  r = rc_call(&c, &q);
  assert_status(r, PRECIS_OK);
  cr_assert_str_eq(r->get->points[0]->text, good);
  FREE(r);
  rc_close(&c);
}

/* ---- row 4: auth token with a NUL ---- */

Test(hostile, row4_token_with_nul_does_not_authenticate, .init = start_auth) {
  rconn c;
  rc_open(&c, g_srv.port);
  pbw a = {0};
  pw_bytes(&a, 1, TOKEN "\0anything", sizeof TOKEN - 1 + 9);
  Precis__V1__Response *r = call_op(&c, 50, OP_AUTH, &a);
  cr_assert_neq(code_of(r), PRECIS_OK, "a token with a NUL suffix authenticated");
  FREE(r);
  r = health(&c);
  assert_status(r, PRECIS_E_UNAUTHENTICATED);
  FREE(r);
  pbw ok = {0};
  pw_bytes(&ok, 1, TOKEN, sizeof TOKEN - 1);
  r = call_op(&c, 51, OP_AUTH, &ok);
  assert_status(r, PRECIS_OK);
  FREE(r);
  r = health(&c);
  assert_status(r, PRECIS_OK);
  FREE(r);
  rc_close(&c);
}

/* ---- row 6: link_kinds ---- */

Test(hostile, row6_link_kinds_bounded, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  create_ok(&c, "g", 4, "Flat");
  Precis__V1__Response *r;
  r = upsert_one(&c, "g", 1, 4, "t", 1, NULL, 0);
  assert_status(r, PRECIS_OK);
  FREE(r);
  float v[4] = {1, 0, 0, 0};
  pbw rq = {0};
  pw_bytes(&rq, 1, "g", 1);
  pw_bytes(&rq, 2, v, sizeof v);
  pw_uint(&rq, 9, 3);  /* hops */
  pw_uint(&rq, 13, 1); /* follow_links */
  for (int i = 0; i < 200000; i++) pw_bytes(&rq, 14, "kind", 4);
  r = call_op(&c, 60, OP_RETRIEVE, &rq);
  assert_status(r, PRECIS_E_OUT_OF_RANGE);
  expect_msg(r, "retrieve.link_kinds");
  FREE(r);
  /* at the limit it runs */
  pbw ok = {0};
  pw_bytes(&ok, 1, "g", 1);
  pw_bytes(&ok, 2, v, sizeof v);
  pw_uint(&ok, 13, 1);
  for (int i = 0; i < PRECIS_MAX_LINK_KINDS; i++) pw_bytes(&ok, 14, "kind", 4);
  pw_uint(&ok, 26, 1); /* defaults */
  r = call_op(&c, 61, OP_RETRIEVE, &ok);
  assert_status(r, PRECIS_OK);
  FREE(r);
  rc_close(&c);
}

/* ---- group_by: a NUL byte, a bad path and an overlong path, on the wire ---- */

Test(hostile, group_by_checked, .init = start_default) {
  rconn c;
  rc_open(&c, g_srv.port);
  create_ok(&c, "gb", 4, "Flat");
  Precis__V1__Response *r;
  for (uint64_t id = 1; id <= 3; id++) {
    r = upsert_one(&c, "gb", id, 4, "t", 1, "{\"k\":\"a\"}", 9);
    assert_status(r, PRECIS_OK);
    FREE(r);
  }
  float v[4] = {1, 0, 0, 0};
  char longkey[PRECIS_MAX_FILTER_KEY_LEN + 1];
  memset(longkey, 'k', sizeof longkey);
  const struct {
    const char *key;
    size_t len;
    int status;
    const char *msg;
  } bad[] = {
      {"k\0zzz", 5, PRECIS_E_INVALID_ARGUMENT, "retrieve.group_by contains a NUL byte at offset 1"},
      {"k..x", 4, PRECIS_E_INVALID_ARGUMENT, "group_by path \"k..x\" has an empty part"},
      {longkey, sizeof longkey, PRECIS_E_OUT_OF_RANGE, "group_by path longer than"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    pbw rq = {0};
    pw_bytes(&rq, 1, "gb", 2);
    pw_bytes(&rq, 2, v, sizeof v);
    pw_bytes(&rq, 42, bad[i].key, bad[i].len);
    r = call_op(&c, 70 + (int)i, OP_RETRIEVE, &rq);
    assert_status(r, bad[i].status);
    expect_msg(r, bad[i].msg);
    FREE(r);
  }
  /* a good one runs: three points of one value, limit 1 -> one item */
  pbw ok = {0};
  pw_bytes(&ok, 1, "gb", 2);
  pw_bytes(&ok, 2, v, sizeof v);
  pw_bytes(&ok, 42, "k", 1);
  r = call_op(&c, 79, OP_RETRIEVE, &ok);
  assert_status(r, PRECIS_OK);
  cr_assert_eq(r->retrieve->n_items, 1);
  FREE(r);
  rc_close(&c);
}
