/* fuzz_frame.c: libFuzzer target for the frame codec (proto/frame.c).
 *
 * Input layout: byte 0 picks max_frame (small limits exercise the
 * FRAME_TOO_LARGE path), byte 1 seeds the chunk-size stream; the rest is
 * fed to a frame_reader in pseudo-random chunks (1..64 bytes, sometimes 0).
 * Every complete frame is decoded as a precis.v1.Request; a decoded request
 * is re-encoded with frame_encode() and must decode again and re-encode to
 * the same bytes (packing is canonical). Checked invariants: the reader
 * never returns a payload larger than max_frame, its error state is sticky,
 * pending() never exceeds what was fed, and the bytes returned as frames
 * plus headers plus pending equal the bytes fed. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "precis.pb-c.h"
#include "precis/limits.h"

/* 1 when `m` or any message inside it kept unknown fields. protobuf-c
 * (1.4) accepts a field number 0 written as a two-byte tag (0x82 0x00) and
 * keeps it as an unknown field, but re-encodes it as the one-byte tag 0x02,
 * which it then refuses to decode: a message with unknown fields need not
 * survive a round trip. Precis never re-encodes a request, so this is a
 * property of the library, not a server bug. */
static int has_unknown(const ProtobufCMessage *m) {
  if (!m) return 0;
  if (m->n_unknown_fields) return 1;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    const char *base = (const char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(base + f->quantifier_offset);
      ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
      for (size_t j = 0; j < n; j++)
        if (has_unknown(arr[j])) return 1;
    } else {
      if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
          *(const uint32_t *)(base + f->quantifier_offset) != f->id)
        continue;
      if (has_unknown(*(ProtobufCMessage *const *)(base + f->offset))) return 1;
    }
  }
  return 0;
}

static void roundtrip(const uint8_t *p, uint32_t n) {
  Precis__V1__Request *req = precis__v1__request__unpack(NULL, n, p);
  if (!req) return;
  uint8_t *f1 = NULL, *f2 = NULL;
  size_t l1 = 0, l2 = 0;
  int rc = frame_encode(&req->base, PRECIS_HARD_MAX_FRAME, &f1, &l1);
  if (rc == 0) {
    assert(l1 >= FRAME_HEADER_BYTES);
    assert(frame_get_header(f1) == l1 - FRAME_HEADER_BYTES);
    Precis__V1__Request *r2 =
        precis__v1__request__unpack(NULL, l1 - FRAME_HEADER_BYTES, f1 + FRAME_HEADER_BYTES);
    if (!r2) {
      assert(has_unknown(&req->base));
      free(f1);
      precis__v1__request__free_unpacked(req, NULL);
      return;
    }
    assert(r2->id == req->id && r2->op_case == req->op_case);
    rc = frame_encode(&r2->base, PRECIS_HARD_MAX_FRAME, &f2, &l2);
    assert(rc == 0);
    assert(l1 == l2 && memcmp(f1, f2, l1) == 0);
    precis__v1__request__free_unpacked(r2, NULL);
  }
  free(f1);
  free(f2);
  precis__v1__request__free_unpacked(req, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  static const uint32_t limits[8] = {0, 1, 4, 16, 100, 4096, 65536, 1u << 20};
  uint32_t max_frame = limits[data[0] & 7];
  uint32_t eff_max = max_frame ? max_frame : PRECIS_DEFAULT_MAX_FRAME;
  uint32_t rng = (uint32_t)data[1] * 2654435761u + 1u;
  data += 2;
  size -= 2;

  frame_reader r;
  frame_reader_init(&r, max_frame);
  size_t off = 0, fed = 0, consumed = 0;
  int err = 0;
  while (off < size || off == size) {
    rng = rng * 1103515245u + 12345u;
    size_t chunk = (rng >> 16) % 65; /* 0..64 */
    if (chunk > size - off) chunk = size - off;
    int rc = frame_reader_feed(&r, data + off, chunk);
    if (rc) {
      assert(rc == PRECIS_E_FRAME_TOO_LARGE || rc == PRECIS_E_NO_MEMORY);
      if (err) assert(rc == err);
      err = rc;
    } else {
      assert(!err); /* sticky */
      off += chunk;
      fed += chunk;
    }
    for (;;) {
      const uint8_t *p = NULL;
      uint32_t n = 0;
      int nx = frame_reader_next(&r, &p, &n);
      if (nx == PRECIS_OK && p) {
        assert(!err);
        assert(n <= eff_max);
        consumed += FRAME_HEADER_BYTES + (size_t)n;
        roundtrip(p, n);
        if (n % 3 == 1) { /* the server hands large frames over this way */
          size_t before = frame_reader_pending(&r);
          uint8_t *own = frame_reader_take(&r, p);
          if (own) {
            assert(frame_reader_pending(&r) == before);
            roundtrip(p, n); /* still valid inside `own` */
            free(own);
          }
        }
        continue;
      }
      if (nx != PRECIS_OK) {
        assert(nx == PRECIS_E_FRAME_TOO_LARGE);
        err = nx;
      } else {
        assert(n == 0);
      }
      break;
    }
    assert(frame_reader_pending(&r) <= fed);
    if (!err) assert(consumed + frame_reader_pending(&r) == fed);
    if (err || off == size) break;
  }
  frame_reader_free(&r);
  return 0;
}
