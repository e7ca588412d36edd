/*
 * precis/status.h: the one error space of Precis.
 *
 * Conventions (every public Precis header follows them):
 *   - Functions that can fail return an int status: 0 (PRECIS_OK) on success,
 *     a positive PRECIS_E* code otherwise. The same codes travel on the wire
 *     (Response.status.code) and are returned by libprecis.
 *   - Where a human-readable message is useful, the caller passes a
 *     caller-owned `precis_error *` (may be NULL). On failure it is filled with
 *     the code and a NUL-terminated message; nothing is allocated, nothing is
 *     printed.
 *   - precis_strerror() and precis_status_name() return static strings that
 *     the caller must not free.
 *
 * The status codes are generated from PRECIS_STATUS_MAP so that the enum,
 * the names and the descriptions never drift apart. Codes are stable: new
 * ones are appended, none is renumbered.
 */
#ifndef PRECIS_STATUS_H
#define PRECIS_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* (the tables keep one row per line: clang-format is off for them) */
/* clang-format off */
/* X(NAME, code, description) */
#define PRECIS_STATUS_MAP(X)                                                   \
  X(OK, 0, "success")                                                          \
  X(INVALID_ARGUMENT, 1, "invalid argument")                                   \
  X(NOT_FOUND, 2, "not found")                                                 \
  X(ALREADY_EXISTS, 3, "already exists")                                       \
  X(DIMENSION_MISMATCH, 4, "vector dimension does not match the collection")   \
  X(INVALID_VECTOR, 5, "vector has a NaN or infinite component")               \
  X(INVALID_JSON, 6, "metadata is not a valid JSON object")                    \
  X(OUT_OF_RANGE, 7, "parameter outside its documented limit")                 \
  X(IO, 8, "storage I/O error")                                                \
  X(CORRUPTION, 9, "stored data is corrupt")                                   \
  X(NO_MEMORY, 10, "out of memory")                                            \
  X(INTERNAL, 11, "internal error")                                            \
  X(UNAUTHENTICATED, 12, "unauthenticated")                                    \
  X(BUSY, 13, "server busy, retry later")                                      \
  X(PROTOCOL, 14, "protocol error")                                            \
  X(FRAME_TOO_LARGE, 15, "frame exceeds the size limit")                       \
  X(CONNECTION, 16, "connection error")                                        \
  X(TIMEOUT, 17, "timed out")                                                  \
  X(SHUTTING_DOWN, 18, "server is shutting down")                              \
  X(UNIMPLEMENTED, 19, "operation not supported")
/* clang-format on */

typedef enum {
#define PRECIS__STATUS_ENUM(name, code, desc) PRECIS_E_##name = code,
  PRECIS_STATUS_MAP(PRECIS__STATUS_ENUM)
#undef PRECIS__STATUS_ENUM
      PRECIS__STATUS_COUNT
} precis_status;

#define PRECIS_OK PRECIS_E_OK

#define PRECIS_ERROR_MSG_MAX 256

/* Caller-owned error record. `code` mirrors the returned status. */
typedef struct precis_error {
  int code;
  char msg[PRECIS_ERROR_MSG_MAX];
} precis_error;

/* Static description of a status code ("unknown status" for others). */
const char *precis_strerror(int code);
/* Static upper-case name without prefix, e.g. "NOT_FOUND". */
const char *precis_status_name(int code);

/* Fill `err` (if not NULL) with `code` and a printf-style message; returns
 * `code` so that callers can write `return precis_error_set(err, ...)`. */
int precis_error_set(precis_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Reset `err` to PRECIS_OK with an empty message (NULL allowed). */
void precis_error_clear(precis_error *err);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_STATUS_H */
