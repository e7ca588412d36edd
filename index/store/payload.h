/*
 * payload.h: a point's non-vector data (text, metadata JSON, token count):
 * validation and its stored encoding.
 *
 * Encoding (little-endian): u32 tokens | u32 text_len | text | u32 meta_len |
 * meta. Metadata is kept byte for byte as the client gave it, after jansson
 * has checked that it is one JSON object.
 */
#ifndef PRECIS_INDEX_PAYLOAD_H
#define PRECIS_INDEX_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "precis/status.h"

/* OK, or INVALID_JSON (not JSON, not an object, or trailing bytes) with the
 * parser's line/column, or OUT_OF_RANGE past PRECIS_MAX_META_BYTES. */
int payload_validate_meta(const char *meta, size_t len, precis_error *err);

/* Approximate LLM tokens of a UTF-8 text: each run of letters/digits counts
 * one token per started 4 bytes, each other non-space byte one token (a rule
 * of thumb close to BPE tokenizers for English; clients that know their
 * tokenizer send exact counts). */
uint32_t payload_count_tokens(const char *text, size_t len);

/* Encoded size, and encode into buf (which has that size). */
size_t payload_encoded_size(size_t text_len, size_t meta_len);
void payload_encode(unsigned char *buf, uint32_t tokens, const char *text, size_t text_len,
                    const char *meta, size_t meta_len);
/* Decode into NUL-terminated malloc'd copies (free()); text and meta both
 * NULL: the token count only. CORRUPTION on a bad record, NO_MEMORY. */
int payload_decode(const char *buf, size_t len, uint32_t *tokens, char **text, char **meta,
                   precis_error *err);

/* The metadata JSON inside an encoded record, without copying: *meta points
 * into buf (not NUL-terminated). CORRUPTION on a bad record. */
int payload_meta_view(const char *buf, size_t len, const char **meta, size_t *meta_len,
                      precis_error *err);

#endif /* PRECIS_INDEX_PAYLOAD_H */
