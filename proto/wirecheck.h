/*
 * wirecheck.h: check an encoded protobuf message against its descriptor
 * BEFORE protobuf-c decodes it. Pure function of bytes (hiredis-style: no
 * I/O), unit-tested and fuzzed without sockets.
 *
 * Why: protobuf-c hands proto3 `string` fields over as NUL-terminated char*,
 * so after decoding nobody can see that "a\0zzz" was five bytes (the NUL
 * truncation of issue 11: drop "a\0zzz" dropped "a", a token "<t>\0x"
 * authenticated). And decoding allocates up to ~70x the frame's bytes
 * (a 2-byte empty sub-message becomes a struct of 80+ bytes plus malloc
 * overhead). This walk sees every field with its real length, so it:
 *   - refuses any `string` field holding a NUL byte or invalid UTF-8
 *     (INVALID_ARGUMENT, the message names the field: "upsert.points[3].text
 *     contains a NUL byte at offset 3"); `bytes` fields are not checked;
 *   - counts the elements of every repeated field (packed or not) and
 *     refuses a count over its limit (OUT_OF_RANGE, naming the field);
 *   - estimates what protobuf-c will allocate (structs, arrays, strings,
 *     unknown fields, its scan slab) and refuses an estimate over
 *     max_decoded (OUT_OF_RANGE);
 *   - refuses malformed wire data and nesting deeper than max_depth
 *     (PROTOCOL).
 * Every string field of every message is covered, including fields added
 * to precis.proto later; the wire format (string vs bytes) is unchanged, so
 * every client stays compatible.
 *
 * The walk stops at the first problem: its cost is linear in the bytes it
 * reads and a refused frame is never decoded.
 */
#ifndef PRECIS_PROTO_WIRECHECK_H
#define PRECIS_PROTO_WIRECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "precis/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ProtobufCMessageDescriptor;
struct ProtobufCFieldDescriptor;

typedef struct wirecheck_rules {
  /* elements allowed in a repeated field (and unknown fields per message)
   * unless max_repeated() says otherwise; 0 = unlimited */
  uint32_t default_max_repeated;
  /* optional per-field limit; return 0 to use default_max_repeated */
  uint32_t (*max_repeated)(const struct ProtobufCMessageDescriptor *msg,
                           const struct ProtobufCFieldDescriptor *field);
  uint32_t max_depth;   /* nested messages; 0 = 32 */
  uint64_t max_decoded; /* estimated decoded bytes; 0 = unlimited */
} wirecheck_rules;

typedef struct wirecheck_result {
  uint64_t id;          /* top-level field 1 when it is a varint (the
                         * Request/Response id), else 0 */
  uint32_t oneof_field; /* number of the last top-level message field seen
                         * (the Request's operation), 0 when none */
  uint64_t decoded;     /* estimate of the bytes protobuf-c will allocate */
} wirecheck_result;

/* Check p[0..n) as an encoded `desc` message. Returns 0, PROTOCOL,
 * INVALID_ARGUMENT or OUT_OF_RANGE with a message in err. `res` (may be
 * NULL) is filled as far as the walk got (id included on failure, so that a
 * refusal can echo it). */
int wirecheck_message(const struct ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
                      const wirecheck_rules *rules, wirecheck_result *res, precis_error *err);

/* The top level only: the id (field 1) and the number of the last
 * length-delimited field (the operation), each field's extent checked but
 * nothing inside it (decoded stays 0). O(top-level fields), whatever n is:
 * the event loop reads a large frame's envelope with it and leaves the full
 * wirecheck_message walk to a worker. Returns 0, PROTOCOL or
 * INVALID_ARGUMENT. */
int wirecheck_envelope(const uint8_t *p, size_t n, wirecheck_result *res, precis_error *err);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_PROTO_WIRECHECK_H */
