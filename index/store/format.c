/* format.c: the format marker of a data directory and the migrations from
 * older formats (see format.h). */
#include "format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "precis/limits.h"

/* the range migrate() deletes covers every edge key */
_Static_assert(21 + PRECIS_MAX_LINK_KIND_LEN < 64, "edge keys fit under the range bound");

/* The version in a marker value, or -1 when it is not "precis-<N>". */
static long parse_marker(const char *v, size_t vl) {
  size_t pl = strlen(FORMAT_PREFIX);
  if (vl <= pl || vl > pl + 6 || memcmp(v, FORMAT_PREFIX, pl)) return -1;
  long n = 0;
  for (size_t i = pl; i < vl; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    n = n * 10 + (v[i] - '0');
  }
  return n;
}

static void put_marker(store_batch *b) {
  char m[32];
  int n = snprintf(m, sizeof m, FORMAT_PREFIX "%d", FORMAT_VERSION);
  store_batch_put(b, STORE_CF_META, FORMAT_KEY, strlen(FORMAT_KEY), m, (size_t)n);
}

/* Rewrite every value of family `cf` whose key and value `fix` accepts;
 * fix turns the value in place and returns 1 to write it, 0 to skip it,
 * -1 when it is malformed. */
typedef int (*fix_fn)(const char *k, size_t kl, unsigned char *v, size_t vl);

static int migrate_cf(store *st, store_batch *b, store_cf cf, fix_fn fix, const char *what,
                      precis_error *err) {
  store_iter *it = store_iter_create(st, cf, "", 0);
  if (!it) return precis_error_set(err, PRECIS_E_NO_MEMORY, "format migration");
  int rc = PRECIS_OK;
  unsigned char *buf = NULL;
  size_t cap = 0;
  for (; store_iter_valid(it) && !rc; store_iter_next(it)) {
    size_t kl, vl;
    const char *k = store_iter_key(it, &kl);
    const char *v = store_iter_value(it, &vl);
    if (vl > cap) {
      unsigned char *p = realloc(buf, vl);
      if (!p) {
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "format migration");
        break;
      }
      buf = p, cap = vl;
    }
    if (vl) memcpy(buf, v, vl);
    int r = fix(k, kl, buf, vl);
    if (r < 0)
      rc = precis_error_set(err, PRECIS_E_CORRUPTION, "format migration: malformed %s", what);
    else if (r)
      store_batch_put(b, cf, k, kl, buf, vl);
  }
  if (!rc) rc = store_iter_status(it, err);
  store_iter_destroy(it);
  free(buf);
  return rc;
}

/* v1 -> v2: big-endian integers to little-endian. */
static void swap_be_le(unsigned char *p, size_t n) {
  for (size_t i = 0; i < n / 2; i++) {
    unsigned char t = p[i];
    p[i] = p[n - 1 - i], p[n - 1 - i] = t;
  }
}

/* META: "next_cid" (u32), s/n/k/l + cid (u64 counters). */
static int fix_meta(const char *k, size_t kl, unsigned char *v, size_t vl) {
  if (kl == 8 && !memcmp(k, "next_cid", 8)) {
    if (vl != 4) return -1;
    swap_be_le(v, 4);
    return 1;
  }
  if (kl == 5 && strchr("snkl", k[0])) {
    if (vl != 8) return -1;
    swap_be_le(v, 8);
    return 1;
  }
  return 0;
}

/* log: a list of u64 ids. */
static int fix_log(const char *k, size_t kl, unsigned char *v, size_t vl) {
  (void)k;
  if (kl != 12 || vl % 8) return -1;
  for (size_t i = 0; i < vl; i += 8) swap_be_le(v + i, 8);
  return 1;
}

/* payload index declarations (cid | 'D' | key): type, state, field number u16. */
static int fix_pidx(const char *k, size_t kl, unsigned char *v, size_t vl) {
  if (kl < 5 || k[4] != 'D') return 0;
  if (vl != 4) return -1;
  swap_be_le(v + 2, 2);
  return 1;
}

/* From version `ver` to the current one, in one write with the marker:
 * v1 -> v2 the values above; v2 -> v3 the reverse edge index goes (the
 * in-memory graph derives in-edges from the out-edges) and `stage` adds
 * the layers above (kNN edges as one list per point). */
static int migrate(store *st, long ver, format_stage_fn stage, precis_error *err) {
  store_batch *b = store_batch_create(st);
  if (!b) return precis_error_set(err, PRECIS_E_NO_MEMORY, "format migration");
  int rc = PRECIS_OK;
  if (ver < 2) {
    rc = migrate_cf(st, b, STORE_CF_META, fix_meta, "counter", err);
    if (!rc) rc = migrate_cf(st, b, STORE_CF_LOG, fix_log, "replay-log entry", err);
    if (!rc) rc = migrate_cf(st, b, STORE_CF_PIDX, fix_pidx, "payload-index declaration", err);
  }
  if (!rc) {
    /* every key of the family: keys are at most 21 + 32 bytes and none is
     * all 0xff */
    unsigned char hi[64];
    memset(hi, 0xff, sizeof hi);
    store_batch_delete_range(b, STORE_CF_REDGE, "\0", 1, hi, sizeof hi);
    if (stage) rc = stage(st, b, ver, err);
  }
  if (!rc) {
    put_marker(b);
    rc = store_write(st, b, err);
  }
  store_batch_destroy(b);
  return rc;
}

int format_check(store *st, const char *dir, format_stage_fn stage, int *migrated_from,
                 precis_error *err) {
  if (migrated_from) *migrated_from = 0;
  char *v;
  size_t vl;
  int rc = store_get(st, STORE_CF_META, FORMAT_KEY, strlen(FORMAT_KEY), &v, &vl, err);
  if (rc == PRECIS_E_NOT_FOUND) {
    precis_error_clear(err);
    store_batch *b = store_batch_create(st);
    if (!b) return precis_error_set(err, PRECIS_E_NO_MEMORY, "format marker");
    put_marker(b);
    rc = store_write(st, b, err);
    store_batch_destroy(b);
    return rc;
  }
  if (rc) return rc;
  long ver = parse_marker(v, vl);
  char shown[24];
  snprintf(shown, sizeof shown, "%.*s", (int)(vl < 16 ? vl : 16), v);
  store_free(v);
  if (ver == FORMAT_VERSION) return PRECIS_OK;
  if (ver < 1)
    return precis_error_set(err, PRECIS_E_CORRUPTION,
                            "%s: unknown data format marker \"%s\" (not written by Precis?)", dir,
                            shown);
  if (ver > FORMAT_VERSION)
    return precis_error_set(err, PRECIS_E_UNIMPLEMENTED,
                            "%s: data format version %ld was written by a newer Precis; this "
                            "build reads versions 1..%d (upgrade Precis, or restore a snapshot "
                            "of this version)",
                            dir, ver, FORMAT_VERSION);
  if ((rc = migrate(st, ver, stage, err))) return rc;
  if (migrated_from) *migrated_from = (int)ver;
  return PRECIS_OK;
}
