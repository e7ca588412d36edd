/*
 * conn_internal.h: private seam of libprecis between the transport
 * (conn.c: socket, frames, ids, timeouts) and the operation files
 * (collections.c, points.c, graph.c, search.c, admin.c), which build
 * protobuf-c requests and copy responses into the public structs.
 *
 * Nothing here is installed; protobuf-c types never reach precis.h.
 */
#ifndef PRECIS_CLIENT_CONN_INTERNAL_H
#define PRECIS_CLIENT_CONN_INTERNAL_H

#include <stdint.h>

#include "frame.h"
#include "precis.pb-c.h"
#include "precis/precis.h"

/* Internal functions stay out of libprecis.so's dynamic symbol table. */
#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

struct precis_conn {
  int fd;
  int timeout_ms;   /* <= 0: none */
  int broken;       /* transport failed: every call fails fast */
  uint64_t next_id; /* request ids, starting at 1 */
  frame_reader rd;
  int last_code;
  char last_msg[PRECIS_ERROR_MSG_MAX];
};

/* Record a failure on the connection (when c != NULL) and in err. Returns
 * code. fmt == NULL uses precis_strerror(code). */
int precis__fail(precis_conn *c, precis_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Record success on the connection and clear err. Returns PRECIS_OK. */
int precis__ok(precis_conn *c, precis_error *err);

/* Check the common arguments of an operation: c not NULL and usable. */
int precis__check_conn(precis_conn *c, precis_error *err);

/* Send `req` (its id is assigned here), wait for the response with the same
 * id and decode it. When the server's status is not OK, that status and
 * message are returned (and recorded) and *resp is NULL. On PRECIS_OK *resp
 * is the response, freed by the caller with precis__response_free(); when
 * `expect` is not NOT_SET, the result case is checked (PROTOCOL otherwise).
 * Does not record success: the caller calls precis__ok() when done. */
int precis__call(precis_conn *c, Precis__V1__Request *req, Precis__V1__Response__ResultCase expect,
                 Precis__V1__Response **resp, precis_error *err);

void precis__response_free(Precis__V1__Response *resp);

/* Pipelining primitives (used by precis_search_batch). */
/* Monotonic milliseconds. */
int64_t precis__now_ms(void);
/* Deadline for a call started now (INT64_MAX without timeout). */
int64_t precis__deadline(const precis_conn *c);
/* Write all of buf[0..len) before the deadline. */
int precis__write_all(precis_conn *c, const uint8_t *buf, size_t len, int64_t deadline,
                      precis_error *err);
/* Write as much of buf as the socket takes now (non-blocking); *written is
 * advanced. Returns OK or CONNECTION. */
int precis__write_some(precis_conn *c, const uint8_t *buf, size_t len, size_t *written,
                       precis_error *err);
/* Read what the socket has now into the frame reader. Returns OK (possibly
 * having read nothing), or CONNECTION on EOF / error. */
int precis__read_some(precis_conn *c, precis_error *err);
/* Decode the next complete buffered frame into *resp: PRECIS_OK with *resp
 * set (caller frees), PRECIS_OK with *resp NULL when none is buffered, or
 * the status of a frame / decode error (recorded; the connection broken). */
int precis__next_response(precis_conn *c, Precis__V1__Response **resp, precis_error *err);
/* Record the server status of `resp` as an error; returns its code. */
int precis__status_error(precis_conn *c, const Precis__V1__Response *resp, precis_error *err);

/* strdup that maps NULL to "" and returns NULL only on allocation failure. */
char *precis__strdup(const char *s);
/* Copy s into dst[cap] with truncation. */
void precis__strlcpy(char *dst, const char *s, size_t cap);

/* points.c: deep copy of a wire Point (NO_MEMORY; d's fields then partly
 * set, freed with the precis_points holding it). */
int precis__copy_point(precis_stored_point *d, const Precis__V1__Point *s);

/* filter.c: the wire Filter of a parsed filter (NULL for NULL; borrowed),
 * and a wire FilterReport (may be NULL: plan NONE) into the public one. */
Precis__V1__Filter *precis__filter_pb(const precis_filter *f);
void precis__filter_report(const Precis__V1__FilterReport *in, precis_filter_report *out);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif /* PRECIS_CLIENT_CONN_INTERNAL_H */
