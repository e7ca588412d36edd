/*
 * progress.h: the ingest progress display of the precis CLI.
 *
 * On a terminal: one line redrawn in place (count, percent and bar when the
 * total is known, rate/s, ETA), at most ten times a second. Otherwise
 * (pipes, logs, tests): a plain line every `interval` seconds and one at
 * the end. Time is passed in by the caller (progress_now() for the wall
 * clock), so progress_format() is a pure function and testable.
 *
 * Ownership: a progress is a caller-owned struct; the FILE is borrowed.
 */
#ifndef PRECIS_CLI_PROGRESS_H
#define PRECIS_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct progress {
  FILE *out; /* NULL: silent */
  int tty;   /* redraw in place */
  const char *label;
  int64_t total;   /* -1 unknown */
  double start;    /* seconds */
  double last;     /* last print */
  double interval; /* seconds between plain lines (default 2) */
  int drawn;       /* a TTY line is on screen */
} progress;

/* Monotonic seconds. */
double progress_now(void);

void progress_init(progress *p, FILE *out, int tty, const char *label, int64_t total, double now);
/* Print if due. */
void progress_update(progress *p, uint64_t count, double now);
/* Final line (always printed when out != NULL); ends the TTY line. */
void progress_finish(progress *p, uint64_t count, double now);

/* Format the status text for `count` at `now` into buf (no newline). */
void progress_format(const progress *p, uint64_t count, double now, char *buf, size_t len);

#endif /* PRECIS_CLI_PROGRESS_H */
