/*
 * valid.h: the one home of Precis's byte-level input rules: UTF-8 text and
 * names (collections, snapshots, link kinds). Pure functions of bytes (no
 * allocation, no I/O), shared by the wire check (proto/wirecheck.h), the
 * server, the engine and later features (filters).
 *
 * Conventions: every function takes a pointer and a length and never reads
 * past it; nothing is NUL-terminated by assumption. Results are plain ints.
 */
#ifndef PRECIS_COMMON_VALID_H
#define PRECIS_COMMON_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  VALID_OK = 0,
  VALID_NUL = 1, /* a NUL byte */
  VALID_UTF8 = 2 /* not well-formed UTF-8 (RFC 3629: no overlong forms, no
                   * surrogates, nothing above U+10FFFF, no truncated tail) */
};

/* Check text s[0..n): VALID_OK, VALID_NUL or VALID_UTF8; *bad_at (may be
 * NULL) gets the offset of the first offending byte. */
int valid_text(const void *s, size_t n, size_t *bad_at);

/* A name of a collection or snapshot: [A-Za-z0-9_.-]{1,PRECIS_MAX_NAME_LEN},
 * and neither "." nor "..". */
bool valid_name(const char *s, size_t n);

/* The characters of a name: s[0..n) is non-empty and every byte is in
 * [A-Za-z0-9_.-], or ':' when `colon` (link kinds). No length limit. */
bool valid_name_chars(const char *s, size_t n, bool colon);

/* "contains a NUL byte" / "is not valid UTF-8" for a valid_text() result. */
const char *valid_text_problem(int code);

#ifdef __cplusplus
}
#endif
#endif /* PRECIS_COMMON_VALID_H */
