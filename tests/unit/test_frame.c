/* test_frame.c: the frame codec (proto/frame.h), bytes only. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "precis.pb-c.h"
#include "precis/limits.h"

/* Build a stream of `n` frames; frame i carries i % 7 * 13 bytes of value i. */
static uint8_t *make_stream(int n, size_t *len) {
  size_t cap = 0;
  for (int i = 0; i < n; i++) cap += FRAME_HEADER_BYTES + (size_t)(i % 7) * 13;
  uint8_t *s = malloc(cap ? cap : 1);
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    uint32_t pl = (uint32_t)(i % 7) * 13;
    frame_put_header(s + off, pl);
    off += FRAME_HEADER_BYTES;
    memset(s + off, (uint8_t)i, pl);
    off += pl;
  }
  *len = off;
  return s;
}

/* frame_reader_next on a healthy reader: true when a frame is ready
 * (*p then non-NULL), false when more bytes are needed (*p NULL). */
static bool next_ready(frame_reader *r, const uint8_t **p, uint32_t *pl) {
  cr_assert_eq(frame_reader_next(r, p, pl), PRECIS_OK);
  return *p != NULL;
}

static void check_frame(int i, const uint8_t *p, uint32_t len) {
  cr_assert_eq(len, (uint32_t)(i % 7) * 13, "frame %d length %u", i, len);
  for (uint32_t j = 0; j < len; j++) cr_assert_eq(p[j], (uint8_t)i, "frame %d byte %u", i, j);
}

Test(frame, header_roundtrip) {
  uint8_t h[4];
  uint32_t vals[] = {0, 1, 255, 256, 0x01020304u, 0xffffffffu};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    frame_put_header(h, vals[i]);
    cr_assert_eq(frame_get_header(h), vals[i]);
  }
  frame_put_header(h, 0x01020304u);
  cr_assert(h[0] == 1 && h[1] == 2 && h[2] == 3 && h[3] == 4, "big-endian");
}

Test(frame, byte_at_a_time) {
  size_t len;
  uint8_t *s = make_stream(50, &len);
  frame_reader r;
  frame_reader_init(&r, 1024);
  int got = 0;
  for (size_t i = 0; i < len; i++) {
    cr_assert_eq(frame_reader_feed(&r, s + i, 1), 0);
    const uint8_t *p;
    uint32_t pl;
    while (next_ready(&r, &p, &pl)) check_frame(got++, p, pl);
  }
  cr_assert_eq(got, 50);
  cr_assert_eq(frame_reader_pending(&r), 0);
  frame_reader_free(&r);
  free(s);
}

Test(frame, all_at_once_many_frames) {
  size_t len;
  uint8_t *s = make_stream(1000, &len);
  frame_reader r;
  frame_reader_init(&r, 1024);
  cr_assert_eq(frame_reader_feed(&r, s, len), 0);
  cr_assert_eq(frame_reader_pending(&r), len);
  const uint8_t *p;
  uint32_t pl;
  int got = 0;
  while (next_ready(&r, &p, &pl)) check_frame(got++, p, pl);
  cr_assert_eq(got, 1000);
  cr_assert_eq(frame_reader_pending(&r), 0);
  frame_reader_free(&r);
  free(s);
}

Test(frame, odd_chunks) {
  size_t len;
  uint8_t *s = make_stream(300, &len);
  frame_reader r;
  frame_reader_init(&r, 1024);
  int got = 0;
  size_t off = 0, step = 1;
  while (off < len) {
    size_t n = step < len - off ? step : len - off;
    cr_assert_eq(frame_reader_feed(&r, s + off, n), 0);
    off += n;
    step = step * 3 % 101 + 1;
    const uint8_t *p;
    uint32_t pl;
    while (next_ready(&r, &p, &pl)) check_frame(got++, p, pl);
  }
  cr_assert_eq(got, 300);
  frame_reader_free(&r);
  free(s);
}

Test(frame, zero_length_frames) {
  uint8_t s[12] = {0};
  frame_reader r;
  frame_reader_init(&r, 16);
  const uint8_t *p;
  uint32_t pl = 99;
  cr_assert(!next_ready(&r, &p, &pl), "empty reader");
  cr_assert_eq(frame_reader_feed(&r, s, 2), 0);
  cr_assert(!next_ready(&r, &p, &pl), "partial header");
  cr_assert_eq(frame_reader_feed(&r, s + 2, 10), 0);
  for (int i = 0; i < 3; i++) {
    cr_assert(next_ready(&r, &p, &pl));
    cr_assert_eq(pl, 0);
  }
  cr_assert(!next_ready(&r, &p, &pl));
  frame_reader_free(&r);
}

Test(frame, partial_payload_waits) {
  uint8_t s[4 + 10];
  frame_put_header(s, 10);
  memset(s + 4, 'x', 10);
  frame_reader r;
  frame_reader_init(&r, 16);
  const uint8_t *p;
  uint32_t pl;
  cr_assert_eq(frame_reader_feed(&r, s, 13), 0);
  cr_assert(!next_ready(&r, &p, &pl));
  cr_assert_eq(frame_reader_pending(&r), 13);
  cr_assert_eq(frame_reader_feed(&r, s + 13, 1), 0);
  cr_assert(next_ready(&r, &p, &pl));
  cr_assert_eq(pl, 10);
  cr_assert_eq(memcmp(p, s + 4, 10), 0);
  frame_reader_free(&r);
}

Test(frame, exact_limit_accepted) {
  uint8_t s[4 + 16];
  frame_put_header(s, 16);
  memset(s + 4, 7, 16);
  frame_reader r;
  frame_reader_init(&r, 16);
  const uint8_t *p;
  uint32_t pl;
  cr_assert_eq(frame_reader_feed(&r, s, sizeof s), 0);
  cr_assert(next_ready(&r, &p, &pl));
  cr_assert_eq(pl, 16);
  frame_reader_free(&r);
}

Test(frame, oversized_is_sticky) {
  uint8_t s[8];
  frame_put_header(s, 17);
  frame_put_header(s + 4, 0);
  frame_reader r;
  frame_reader_init(&r, 16);
  const uint8_t *p;
  uint32_t pl;
  /* header arrives in two parts: no verdict before it is complete */
  cr_assert_eq(frame_reader_feed(&r, s, 3), 0);
  cr_assert(!next_ready(&r, &p, &pl));
  cr_assert_eq(frame_reader_feed(&r, s + 3, 5), 0);
  cr_assert_eq(frame_reader_next(&r, &p, &pl), PRECIS_E_FRAME_TOO_LARGE);
  cr_assert_null(p);
  cr_assert_eq(r.err, PRECIS_E_FRAME_TOO_LARGE);
  /* sticky: more bytes and more calls keep failing */
  cr_assert_eq(frame_reader_feed(&r, s + 4, 4), PRECIS_E_FRAME_TOO_LARGE);
  cr_assert_eq(frame_reader_next(&r, &p, &pl), PRECIS_E_FRAME_TOO_LARGE);
  cr_assert_null(p);
  cr_assert_eq(frame_reader_next(&r, &p, &pl), PRECIS_E_FRAME_TOO_LARGE);
  cr_assert_null(p);
  frame_reader_free(&r);
}

Test(frame, oversized_huge_header_no_alloc) {
  uint8_t s[4] = {0xff, 0xff, 0xff, 0xff};
  frame_reader r;
  frame_reader_init(&r, PRECIS_DEFAULT_MAX_FRAME);
  const uint8_t *p;
  uint32_t pl;
  cr_assert_eq(frame_reader_feed(&r, s, 4), 0);
  /* a second feed refuses to buffer behind the oversized header */
  cr_assert_eq(frame_reader_feed(&r, s, 4), PRECIS_E_FRAME_TOO_LARGE);
  cr_assert_eq(frame_reader_next(&r, &p, &pl), PRECIS_E_FRAME_TOO_LARGE);
  cr_assert_null(p);
  cr_assert_leq(r.cap, 4096);
  frame_reader_free(&r);
}

Test(frame, frames_after_good_then_oversized) {
  uint8_t s[4 + 2 + 4];
  frame_put_header(s, 2);
  s[4] = 'o';
  s[5] = 'k';
  frame_put_header(s + 6, 1000);
  frame_reader r;
  frame_reader_init(&r, 100);
  const uint8_t *p;
  uint32_t pl;
  cr_assert_eq(frame_reader_feed(&r, s, sizeof s), 0);
  cr_assert(next_ready(&r, &p, &pl), "good frame first");
  cr_assert_eq(pl, 2);
  cr_assert_eq(frame_reader_next(&r, &p, &pl), PRECIS_E_FRAME_TOO_LARGE);
  cr_assert_null(p);
  frame_reader_free(&r);
}

Test(frame, zero_max_means_default) {
  frame_reader r;
  frame_reader_init(&r, 0);
  cr_assert_eq(r.max_frame, PRECIS_DEFAULT_MAX_FRAME);
  frame_reader_free(&r);
}

Test(frame, encode_roundtrip_request) {
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__SearchRequest sr = PRECIS__V1__SEARCH_REQUEST__INIT;
  float v[3] = {1.0f, -2.5f, 3.25f};
  req.id = 123456789012345ull;
  req.op_case = PRECIS__V1__REQUEST__OP_SEARCH;
  req.search = &sr;
  sr.collection = "docs";
  sr.vector = v;
  sr.n_vector = 3;
  sr.k_opt_case = PRECIS__V1__SEARCH_REQUEST__K_OPT_K;
  sr.k = 7;

  uint8_t *buf;
  size_t blen;
  cr_assert_eq(frame_encode(&req.base, 1024, &buf, &blen), 0);
  cr_assert_eq(blen, FRAME_HEADER_BYTES + frame_get_header(buf));

  /* through the reader, in two pieces */
  frame_reader r;
  frame_reader_init(&r, 1024);
  cr_assert_eq(frame_reader_feed(&r, buf, 5), 0);
  cr_assert_eq(frame_reader_feed(&r, buf + 5, blen - 5), 0);
  const uint8_t *p;
  uint32_t pl;
  cr_assert(next_ready(&r, &p, &pl));
  Precis__V1__Request *d = precis__v1__request__unpack(NULL, pl, p);
  cr_assert_not_null(d);
  cr_assert_eq(d->id, req.id);
  cr_assert_eq(d->op_case, PRECIS__V1__REQUEST__OP_SEARCH);
  cr_assert_str_eq(d->search->collection, "docs");
  cr_assert_eq(d->search->n_vector, 3);
  cr_assert_float_eq(d->search->vector[1], -2.5f, 0);
  cr_assert_eq(d->search->k, 7);
  precis__v1__request__free_unpacked(d, NULL);
  frame_reader_free(&r);
  free(buf);
}

Test(frame, encode_empty_message) {
  Precis__V1__Response resp = PRECIS__V1__RESPONSE__INIT;
  uint8_t *buf;
  size_t blen;
  cr_assert_eq(frame_encode(&resp.base, 16, &buf, &blen), 0);
  cr_assert_eq(blen, FRAME_HEADER_BYTES);
  cr_assert_eq(frame_get_header(buf), 0);
  Precis__V1__Response *d = precis__v1__response__unpack(NULL, 0, buf + 4);
  cr_assert_not_null(d, "an empty envelope decodes");
  cr_assert_eq(d->id, 0);
  precis__v1__response__free_unpacked(d, NULL);
  free(buf);
}

Test(frame, encode_too_large) {
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__UpsertRequest up = PRECIS__V1__UPSERT_REQUEST__INIT;
  char big[200];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  up.collection = big;
  req.op_case = PRECIS__V1__REQUEST__OP_UPSERT;
  req.upsert = &up;
  uint8_t *buf = (uint8_t *)1;
  size_t blen = 1;
  cr_assert_eq(frame_encode(&req.base, 100, &buf, &blen), PRECIS_E_FRAME_TOO_LARGE);
  cr_assert_null(buf);
  cr_assert_eq(blen, 0);
}

Test(frame, large_buffer_released_when_empty) {
  size_t n = 3u << 20;
  uint8_t *s = calloc(1, FRAME_HEADER_BYTES + n);
  frame_put_header(s, (uint32_t)n);
  frame_reader r;
  frame_reader_init(&r, 4u << 20);
  cr_assert_eq(frame_reader_feed(&r, s, FRAME_HEADER_BYTES + n), 0);
  const uint8_t *p;
  uint32_t pl;
  cr_assert(next_ready(&r, &p, &pl));
  cr_assert_eq(pl, n);
  cr_assert_geq(r.cap, n);
  cr_assert(!next_ready(&r, &p, &pl));
  cr_assert_eq(r.cap, 0, "the big buffer is released once drained");
  /* and the reader still works */
  uint8_t z[4] = {0};
  cr_assert_eq(frame_reader_feed(&r, z, 4), 0);
  cr_assert(next_ready(&r, &p, &pl));
  cr_assert_eq(pl, 0);
  frame_reader_free(&r);
  free(s);
}

/* frame_reader_take hands the buffer of the frame just returned to the
 * caller (the payload stays valid in it) and keeps the bytes after that
 * frame: taking every other frame of a stream fed in odd-sized chunks still
 * yields every frame intact, in order. A pointer outside the buffer is
 * refused. */
Test(frame, take_hands_over_the_buffer_and_keeps_the_rest) {
  size_t len;
  uint8_t *s = make_stream(300, &len);
  frame_reader r;
  frame_reader_init(&r, 1024);
  const uint8_t *p;
  uint32_t pl;
  int got = 0, taken = 0;
  for (size_t off = 0; off < len;) {
    size_t chunk = len - off < 37 ? len - off : 37;
    cr_assert_eq(frame_reader_feed(&r, s + off, chunk), PRECIS_OK);
    off += chunk;
    while (next_ready(&r, &p, &pl)) {
      if (got % 2 == 0) {
        uint8_t *own = frame_reader_take(&r, p);
        cr_assert_not_null(own);
        check_frame(got, p, pl); /* still valid: it lives in `own` */
        free(own);
        taken++;
      } else {
        check_frame(got, p, pl);
      }
      got++;
    }
  }
  cr_assert_eq(got, 300);
  cr_assert_eq(taken, 150);
  cr_assert_eq(frame_reader_pending(&r), 0);
  uint8_t other = 0;
  cr_assert_null(frame_reader_take(&r, &other));
  frame_reader_free(&r);
  free(s);
}
