/* frame.c: the Precis frame codec (see frame.h). Pure byte handling, no I/O.
 *
 * The reader keeps one growable buffer holding the bytes not yet returned as
 * frames, [start, end). A returned payload points into that buffer; it stays
 * valid until the next feed/next/free, which may move or reuse the bytes.
 *
 * max_frame == 0 given to frame_reader_init() or frame_encode() means
 * PRECIS_DEFAULT_MAX_FRAME. */
#include "frame.h"

#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "precis/limits.h"

#define FRAME_MIN_CAP 4096u
/* An empty reader holding more than this returns it, so that one large
 * frame does not pin its buffer for the life of a connection. */
#define FRAME_SHRINK_CAP (1u << 20)

void frame_reader_init(frame_reader *r, uint32_t max_frame) {
  memset(r, 0, sizeof *r);
  r->max_frame = max_frame ? max_frame : PRECIS_DEFAULT_MAX_FRAME;
}

void frame_reader_free(frame_reader *r) {
  if (!r) return;
  free(r->buf);
  r->buf = NULL;
  r->cap = r->start = r->end = 0;
}

size_t frame_reader_pending(const frame_reader *r) { return r->end - r->start; }

int frame_reader_partial(const frame_reader *r) {
  size_t pending = r->end - r->start;
  if (pending == 0) return 0;
  if (pending < FRAME_HEADER_BYTES) return 1;
  return pending - FRAME_HEADER_BYTES < frame_get_header(r->buf + r->start);
}

uint32_t frame_reader_announced(const frame_reader *r) {
  if (r->end - r->start < FRAME_HEADER_BYTES) return 0;
  return frame_get_header(r->buf + r->start);
}

/* the length prefix is big-endian (network order; docs/PROTOCOL.md) */
void frame_put_header(uint8_t out[FRAME_HEADER_BYTES], uint32_t len) { byte_put_be32(out, len); }

uint32_t frame_get_header(const uint8_t in[FRAME_HEADER_BYTES]) { return byte_get_be32(in); }

/* Enter the sticky error state if a complete header is buffered and too big. */
static int check_header(frame_reader *r) {
  if (r->err == 0 && r->end - r->start >= FRAME_HEADER_BYTES &&
      frame_get_header(r->buf + r->start) > r->max_frame)
    r->err = PRECIS_E_FRAME_TOO_LARGE;
  return r->err;
}

int frame_reader_feed(frame_reader *r, const void *data, size_t len) {
  if (r->err) return r->err;
  /* Refuse to buffer past an oversized header we already hold. */
  if (check_header(r)) return r->err;
  if (len == 0) return 0;
  size_t pending = r->end - r->start;
  if (pending == 0) r->start = r->end = 0;
  if (r->cap - r->end < len) {
    /* Compact first; grow only when compaction is not enough. */
    if (r->start > 0) {
      memmove(r->buf, r->buf + r->start, pending);
      r->start = 0;
      r->end = pending;
    }
    if (len > SIZE_MAX - pending) return PRECIS_E_NO_MEMORY;
    size_t need = pending + len;
    /* a frame larger than what arrived so far: make room for all of it at
     * once instead of doubling (each doubling copies what is buffered) */
    if (pending >= FRAME_HEADER_BYTES) {
      size_t whole = FRAME_HEADER_BYTES + (size_t)frame_get_header(r->buf + r->start);
      if (whole > need && whole - need > FRAME_MIN_CAP) need = whole;
    }
    if (r->cap < need) {
      size_t ncap = r->cap ? r->cap : FRAME_MIN_CAP;
      while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
          ncap = need;
          break;
        }
        ncap *= 2;
      }
      uint8_t *nb = realloc(r->buf, ncap);
      if (!nb) return PRECIS_E_NO_MEMORY;
      r->buf = nb;
      r->cap = ncap;
    }
  }
  memcpy(r->buf + r->end, data, len);
  r->end += len;
  return 0;
}

int frame_reader_next(frame_reader *r, const uint8_t **payload, uint32_t *len) {
  *payload = NULL;
  *len = 0;
  if (r->err) return r->err;
  size_t pending = r->end - r->start;
  if (pending == 0) {
    r->start = r->end = 0; /* the previous payload is invalidated now */
    if (r->cap > FRAME_SHRINK_CAP) {
      free(r->buf);
      r->buf = NULL;
      r->cap = 0;
    }
    return PRECIS_OK;
  }
  if (pending < FRAME_HEADER_BYTES) return PRECIS_OK;
  uint32_t n = frame_get_header(r->buf + r->start);
  if (n > r->max_frame) {
    r->err = PRECIS_E_FRAME_TOO_LARGE;
    return r->err;
  }
  if (pending - FRAME_HEADER_BYTES < n) return PRECIS_OK;
  *payload = r->buf + r->start + FRAME_HEADER_BYTES; /* never NULL: the header precedes it */
  *len = n;
  r->start += FRAME_HEADER_BYTES + (size_t)n;
  return PRECIS_OK;
}

uint8_t *frame_reader_take(frame_reader *r, const uint8_t *payload) {
  uintptr_t at = (uintptr_t)payload, lo = (uintptr_t)r->buf;
  if (!r->buf || at < lo || at > lo + r->start) return NULL; /* not this buffer's */
  size_t left = r->end - r->start;
  uint8_t *nb = NULL;
  if (left) {
    nb = malloc(left);
    if (!nb) return NULL;
    memcpy(nb, r->buf + r->start, left);
  }
  uint8_t *old = r->buf;
  r->buf = nb;
  r->cap = left;
  r->start = 0;
  r->end = left;
  return old;
}

int frame_encode(const struct ProtobufCMessage *msg, uint32_t max_frame, uint8_t **out,
                 size_t *out_len) {
  if (!max_frame) max_frame = PRECIS_DEFAULT_MAX_FRAME;
  *out = NULL;
  *out_len = 0;
  size_t n = protobuf_c_message_get_packed_size(msg);
  if (n > max_frame) return PRECIS_E_FRAME_TOO_LARGE;
  uint8_t *b = malloc(FRAME_HEADER_BYTES + n);
  if (!b) return PRECIS_E_NO_MEMORY;
  frame_put_header(b, (uint32_t)n);
  if (n) protobuf_c_message_pack(msg, b + FRAME_HEADER_BYTES);
  *out = b;
  *out_len = FRAME_HEADER_BYTES + n;
  return 0;
}
