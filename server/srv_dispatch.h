/* srv_dispatch.h: one decoded Request -> engine calls -> one encoded
 * Response frame. Runs on worker threads (health and stats also on the loop
 * thread); it only touches the engine and atomic counters. */
#ifndef PRECIS_SERVER_SRV_DISPATCH_H
#define PRECIS_SERVER_SRV_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "precis.pb-c.h"
#include "srv.h"

/* Run `req` and encode its response (header included) into the malloc'd
 * *out. Returns the response's status code. A response larger than the
 * frame limit is replaced by a FRAME_TOO_LARGE status for the same id.
 * *out is NULL only when even a status frame could not be allocated. */
int srv_dispatch(srv_server *s, const Precis__V1__Request *req, uint8_t **out, size_t *out_len);

/* Group commit (job.c): n >= 1 upserts to one collection with the same
 * flags, together at most PRECIS_MAX_BATCH points, written by one engine
 * call (one RocksDB write and WAL sync); each gets the response and status
 * srv_dispatch would give it alone (outs[i], lens[i], codes[i]). When the
 * combined write fails, nothing of it was written and each request is run
 * alone, so that each gets its own error and the good ones are written. */
void srv_dispatch_upsert_group(srv_server *s, const Precis__V1__Request *const *reqs, size_t n,
                               int *codes, uint8_t **outs, size_t *lens);

/* Encode a status-only Response (no result). Returns 0 or NO_MEMORY. */
int srv_encode_status(uint64_t id, int code, const char *msg, uint8_t **out, size_t *out_len);

/* Encode an OK Response with an Empty result. */
int srv_encode_empty_ok(uint64_t id, uint8_t **out, size_t *out_len);

/* 1 when `name` matches [A-Za-z0-9_.-]{1,64} and is not "." or ".."
 * (valid_name() of common/valid.h, for a NUL-terminated name). */
int srv_valid_name(const char *name);

/* ---- pre-decode check (issue 11) ---- */
#include "wirecheck.h"
/* Check an encoded Request before protobuf-c decodes it (wirecheck.h):
 * strings are UTF-8 without NUL, repeated fields within limits.h
 * (vector: PRECIS_MAX_DIM, link_kinds: PRECIS_MAX_LINK_KINDS, every other:
 * PRECIS_MAX_BATCH), decoded size at most 2 * n + SRV_DECODE_SLACK.
 * Returns 0 or the status for the refusal (PROTOCOL: malformed). */
int srv_check_request(const uint8_t *p, size_t n, wirecheck_result *res, precis_error *err);

#endif
