/* fault_alloc.c: allocation-failure injection for precisd-faultinj (issue
 * 11), in the spirit of SQLite's OOM tests. Linked into precisd with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup, so every
 * allocation made by Precis's own code (server, engine, wire; protobuf-c's
 * through srv_pb_alloc) passes here; allocations inside RocksDB, FAISS and
 * libc are not affected. Under ASan the __real_ functions are ASan's.
 *
 * Nothing fails until the event loop calls srv_fault_arm() (startup is not
 * under test). Then, counting allocations from 1:
 *   PRECIS_FAULT_NTH=N     fail allocation N only
 *   PRECIS_FAULT_EVERY=P   fail every P-th allocation (after PRECIS_FAULT_SKIP)
 *   PRECIS_FAULT_LIMIT=K   stop after K failures (default: unlimited for
 *                          EVERY; NTH fails once)
 * Each failure returns NULL with errno ENOMEM.
 *
 * Linked into a test instead (tests/unit/test_oom_engine.c, the same wrap
 * flags), fault_alloc_fail_nth() arms it from the test itself: counting
 * restarts at every call, so a test can fail each allocation of one engine
 * call in turn (fault_alloc.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fault_alloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
void srv_fault_arm(void);

static atomic_bool armed;
static atomic_long count, failures;
static long nth, every, skip, limit;

static long env_long(const char *name) {
  const char *v = getenv(name);
  return v ? strtol(v, NULL, 10) : 0;
}

void srv_fault_arm(void) {
  nth = env_long("PRECIS_FAULT_NTH");
  every = env_long("PRECIS_FAULT_EVERY");
  skip = env_long("PRECIS_FAULT_SKIP");
  limit = env_long("PRECIS_FAULT_LIMIT");
  atomic_store(&armed, nth > 0 || every > 0);
}

void fault_alloc_fail_nth(long n) {
  atomic_store(&armed, false);
  nth = n;
  every = skip = limit = 0;
  atomic_store(&count, 0);
  atomic_store(&failures, 0);
  atomic_store(&armed, n > 0);
}

long fault_alloc_failures(void) { return atomic_load(&failures); }

static bool fail_now(void) {
  if (!atomic_load_explicit(&armed, memory_order_relaxed)) return false;
  long n = atomic_fetch_add(&count, 1) + 1;
  bool fail = false;
  if (nth > 0)
    fail = n == nth;
  else if (every > 0)
    fail = n > skip && (n - skip) % every == 0;
  if (!fail) return false;
  long f = atomic_fetch_add(&failures, 1) + 1;
  if (limit > 0 && f >= limit) atomic_store(&armed, false);
  if (nth > 0) atomic_store(&armed, false);
  errno = ENOMEM;
  return true;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return fail_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) {
  /* realloc(p, 0) frees: never fail it */
  return n && fail_now() ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }
