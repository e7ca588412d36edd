/*
 * file.h: the one way Precis replaces a file: write "<path>.tmp", fsync it,
 * rename it over <path>, fsync the directory. A crash leaves either the old
 * file or the new one, never a mix; after file_atomic_commit returns 0 the
 * new file survives a power loss.
 *
 * Conventions: functions return PRECIS_OK or a PRECIS_E_* status and fill
 * the caller's precis_error (may be NULL) with a message naming the path.
 * A file_atomic is caller-owned; after _open succeeds exactly one of
 * _commit or _abort must be called (both release it, and _commit releases it
 * on failure too, removing the temporary file).
 */
#ifndef PRECIS_COMMON_FILE_H
#define PRECIS_COMMON_FILE_H

#include <stddef.h>

#include "precis/status.h"

typedef struct file_atomic {
  int fd;     /* the temporary file, open read-write; write to it */
  char *tmp;  /* "<path>.tmp" */
  char *path; /* the final name */
} file_atomic;

/* Create (truncate) "<path>.tmp" for writing. */
int file_atomic_open(file_atomic *fa, const char *path, precis_error *err);
/* fsync and close the temporary file, rename it to the final name, fsync
 * the directory. */
int file_atomic_commit(file_atomic *fa, precis_error *err);
/* Close and remove the temporary file. */
void file_atomic_abort(file_atomic *fa);

/* Write all n bytes (retrying short writes and EINTR): 0 or an errno. */
int file_write_all(int fd, const void *buf, size_t n);

/* fsync the directory holding `path`, so that a rename in it is durable. */
int file_fsync_parent(const char *path, precis_error *err);
/* fsync the directory `dir` itself (after renames or creations in it). */
int file_fsync_dir(const char *dir, precis_error *err);

/* The whole file in one call: buf[0..n) atomically to `path`. */
int file_write_atomic(const char *path, const void *buf, size_t n, precis_error *err);

#endif /* PRECIS_COMMON_FILE_H */
