/*
 * frame.h: the Precis frame codec. Pure functions of bytes, no I/O, so it is
 * unit-tested and fuzzed without sockets (as hiredis's reader is).
 *
 * A frame is a 4-byte big-endian unsigned length N followed by N bytes of a
 * protobuf-encoded precis.v1.Request or precis.v1.Response. N = 0 is a valid
 * (empty) envelope. N > max_frame is refused: the reader enters the error
 * state PRECIS_E_FRAME_TOO_LARGE and stays there (the connection must close).
 *
 * Ownership: frame_reader is a caller-owned struct; frame_reader_init()
 * prepares it, frame_reader_free() releases its buffer. A payload returned by
 * frame_reader_next() is borrowed: valid until the next call of
 * frame_reader_feed(), frame_reader_next() or frame_reader_free().
 */
#ifndef PRECIS_PROTO_FRAME_H
#define PRECIS_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "precis/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FRAME_HEADER_BYTES 4

typedef struct frame_reader {
  uint8_t *buf; /* buffered bytes [start, end) */
  size_t cap, start, end;
  uint32_t max_frame; /* largest accepted payload */
  int err;            /* sticky error status, 0 while healthy */
} frame_reader;

void frame_reader_init(frame_reader *r, uint32_t max_frame);
void frame_reader_free(frame_reader *r);
/* Append len bytes. Returns 0, NO_MEMORY, or the sticky error. */
int frame_reader_feed(frame_reader *r, const void *data, size_t len);
/* The next frame: PRECIS_OK with *payload non-NULL (also for an empty
 * frame) and *len set when one is complete, PRECIS_OK with *payload NULL
 * when more bytes are needed; PRECIS_E_FRAME_TOO_LARGE on an oversized
 * header, and the sticky error on every later call. */
int frame_reader_next(frame_reader *r, const uint8_t **payload, uint32_t *len);
/* Hand the buffer holding `payload` (the frame frame_reader_next returned
 * last) to the caller, who frees it with free(); payload stays valid inside
 * it. The reader keeps a copy of the bytes buffered after that frame (at
 * most what the last feeds added past it). NULL (nothing changed) when
 * payload is not in the buffer or memory runs out. Lets a server hand a
 * large request to a worker without copying it. */
uint8_t *frame_reader_take(frame_reader *r, const uint8_t *payload);
/* Bytes buffered but not yet returned as frames. */
size_t frame_reader_pending(const frame_reader *r);
/* 1 when the buffered bytes start a frame that is not complete yet (the
 * server's frame deadline runs while this holds). */
int frame_reader_partial(const frame_reader *r);
/* Payload length announced by the buffered header; 0 while fewer than
 * FRAME_HEADER_BYTES are buffered. */
uint32_t frame_reader_announced(const frame_reader *r);

/* Write the 4-byte header for a payload of len bytes. */
void frame_put_header(uint8_t out[FRAME_HEADER_BYTES], uint32_t len);
/* Read a 4-byte header. */
uint32_t frame_get_header(const uint8_t in[FRAME_HEADER_BYTES]);

/* Encode a protobuf-c message (Request or Response) into one malloc'd frame
 * (header + payload). *out is owned by the caller (free()). Returns 0,
 * FRAME_TOO_LARGE when the payload exceeds max_frame, or NO_MEMORY. */
struct ProtobufCMessage;
int frame_encode(const struct ProtobufCMessage *msg, uint32_t max_frame, uint8_t **out,
                 size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_PROTO_FRAME_H */
