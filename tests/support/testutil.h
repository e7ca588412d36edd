/* testutil.h: small helpers shared by the Criterion tests: temporary
 * directories, deterministic random vectors, brute-force neighbours. */
#ifndef PRECIS_TESTS_TESTUTIL_H
#define PRECIS_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mkdtemp under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tu_tmpdir(const char *tag);
/* rm -rf path (best effort) and free it. */
void tu_rmrf_free(char *path);
/* xorshift64* stream */
uint64_t tu_rand(uint64_t *state);
float tu_randf(uint64_t *state); /* uniform in [-1, 1) */
/* n x dim vectors, uniform, optionally L2-normalised. malloc'd. */
float *tu_random_vectors(size_t n, size_t dim, uint64_t seed, int normalise);
/* Indices of the k largest dot products of q against base (brute force). */
void tu_topk_dot(const float *base, size_t n, size_t dim, const float *q, size_t k, size_t *out);

/* The start of a crash test: a pipe (fds) and a fork. Returns the child's
 * pid in the parent, 0 in the child (whose read end fds[0] is closed), -1
 * when the pipe or the fork failed. */
pid_t tu_fork_child(int fds[2]);
/* The parent's side of a crash test: close fds[1], wait for the forked
 * child to write its one "done" byte (1) on fds[0], SIGKILL it (a crash:
 * no close, no save) and reap it. Returns 1 when the child said done, else
 * 0; *status gets its wait status. */
int tu_kill_child_when_done(int fds[2], pid_t pid, int *status);

#endif
