/* srvproc.h: start and stop a precisd child process for integration tests
 * (shared by the server and the client tests).
 *
 * The binary is $PRECISD when set, else PRECIS_BUILD_DIR "/precisd" (the
 * Makefile's build directory, relative to the repository root, where
 * scripts/run-tests.sh runs the tests). The server listens on 127.0.0.1 on an
 * ephemeral port that it reports through --port-file; its stderr goes to a
 * log file (srvproc.log) so test output stays readable. The child gets
 * SIGKILL if the test process dies. */
#ifndef PRECIS_TESTS_SRVPROC_H
#define PRECIS_TESTS_SRVPROC_H

#include <limits.h>
#include <sys/types.h>

typedef struct srvproc {
  pid_t pid; /* 0 when not running */
  int port;
  char log[PATH_MAX]; /* the server's stderr */
  char port_file[PATH_MAX + 16];
} srvproc;

/* Start precisd on `datadir` with extra flags (NULL-terminated array, may be
 * NULL; they come last, so they override the defaults). Waits until the
 * server listens (at most 60 s). Returns the port (> 0), or -1 when the
 * server could not start (its log is copied to stderr). */
int srvproc_start(const char *datadir, const char *extra_args[], srvproc *out);
/* SIGTERM, then wait (SIGKILL after 60 s). Returns the exit status (0..255),
 * 128 + signal when killed by a signal, -1 on error. */
int srvproc_stop(srvproc *p);
/* SIGKILL and reap. Returns 0 or -1. */
int srvproc_kill9(srvproc *p);
/* Copy the server log to stderr (for failing tests). */
void srvproc_dump_log(const srvproc *p);
/* Remove the log and port files. */
void srvproc_cleanup(srvproc *p);

#endif
