/* test_store.c: the RocksDB adapter's batches (index/store/store.c). A batch
 * is handed to RocksDB sorted by (family, key) between range deletes; these
 * tests check that the result is what the operations in their given order
 * mean: against a model over random batches, and on the orderings that a
 * wrong sort would break (put/delete of one key, a range delete between
 * puts, families). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "testutil.h"

static char *dir;
static store *st;

static void setup(void) {
  dir = tu_tmpdir("store");
  char p[4200];
  snprintf(p, sizeof p, "%s/db", dir);
  store_options so = {false, true, 0};
  precis_error err;
  cr_assert_eq(store_open(p, &so, &st, &err), PRECIS_OK, "%s", err.msg);
}
static void teardown(void) {
  store_close(st);
  tu_rmrf_free(dir);
}
TestSuite(store, .init = setup, .fini = teardown);

/* The value of key k in cf, or -1 when absent. */
static int get_val(store_cf cf, unsigned char k) {
  char *v;
  size_t vl;
  precis_error err;
  int rc = store_get(st, cf, &k, 1, &v, &vl, &err);
  if (rc == PRECIS_E_NOT_FOUND) return -1;
  cr_assert_eq(rc, PRECIS_OK, "%s", err.msg);
  cr_assert_eq(vl, 1);
  int x = (unsigned char)v[0];
  store_free(v);
  return x;
}

static void write_ok(store_batch *b) {
  precis_error err;
  cr_assert_eq(store_write(st, b, &err), PRECIS_OK, "%s", err.msg);
  store_batch_destroy(b);
}

Test(store, operations_on_one_key_keep_their_order) {
  store_batch *b = store_batch_create(st);
  unsigned char k = 7, v1 = 1, v2 = 2, v3 = 3;
  store_batch_put(b, STORE_CF_EDGE, &k, 1, &v1, 1);
  store_batch_delete(b, STORE_CF_EDGE, &k, 1);
  store_batch_put(b, STORE_CF_EDGE, &k, 1, &v2, 1);
  unsigned char k2 = 3; /* sorts before k */
  store_batch_put(b, STORE_CF_EDGE, &k2, 1, &v3, 1);
  store_batch_put(b, STORE_CF_EDGE, &k2, 1, &v1, 1);
  store_batch_delete(b, STORE_CF_EDGE, &k2, 1);
  cr_assert_eq(store_batch_count(b), 6);
  write_ok(b);
  cr_assert_eq(get_val(STORE_CF_EDGE, 7), 2);
  cr_assert_eq(get_val(STORE_CF_EDGE, 3), -1);
}

Test(store, range_delete_is_a_barrier) {
  store_batch *b = store_batch_create(st);
  unsigned char v = 9, lo = 10, hi = 20;
  for (unsigned char k = 5; k < 25; k++) store_batch_put(b, STORE_CF_REDGE, &k, 1, &v, 1);
  store_batch_delete_range(b, STORE_CF_REDGE, &lo, 1, &hi, 1);
  unsigned char in = 15, w = 4; /* put after the range delete: survives */
  store_batch_put(b, STORE_CF_REDGE, &in, 1, &w, 1);
  write_ok(b);
  for (int k = 5; k < 25; k++) {
    int want = k == 15 ? 4 : (k >= 10 && k < 20) ? -1 : 9;
    cr_assert_eq(get_val(STORE_CF_REDGE, (unsigned char)k), want, "key %d", k);
  }
}

Test(store, families_are_separate) {
  store_batch *b = store_batch_create(st);
  unsigned char k = 1, a = 10, c = 20;
  store_batch_put(b, STORE_CF_REDGE, &k, 1, &c, 1);
  store_batch_put(b, STORE_CF_EDGE, &k, 1, &a, 1);
  store_batch_delete(b, STORE_CF_VEC, &k, 1);
  write_ok(b);
  cr_assert_eq(get_val(STORE_CF_EDGE, 1), 10);
  cr_assert_eq(get_val(STORE_CF_REDGE, 1), 20);
  cr_assert_eq(get_val(STORE_CF_VEC, 1), -1);
}

/* Random batches of puts, deletes and range deletes over 3 families x 32
 * keys, each checked against a model that applies them in order. */
Test(store, random_batches_match_a_model) {
  static const store_cf cfs[3] = {STORE_CF_VEC, STORE_CF_EDGE, STORE_CF_REDGE};
  int model[3][32];
  memset(model, -1, sizeof model);
  uint64_t seed = 42;
  for (int round = 0; round < 200; round++) {
    store_batch *b = store_batch_create(st);
    int nops = 1 + (int)(tu_rand(&seed) % 64);
    for (int i = 0; i < nops; i++) {
      int f = (int)(tu_rand(&seed) % 3);
      unsigned char k = (unsigned char)(tu_rand(&seed) % 32);
      unsigned char v = (unsigned char)(tu_rand(&seed) % 200);
      int what = (int)(tu_rand(&seed) % 16);
      if (what < 10) {
        store_batch_put(b, cfs[f], &k, 1, &v, 1);
        model[f][k] = v;
      } else if (what < 15) {
        store_batch_delete(b, cfs[f], &k, 1);
        model[f][k] = -1;
      } else {
        unsigned char e = (unsigned char)(k + tu_rand(&seed) % 8);
        store_batch_delete_range(b, cfs[f], &k, 1, &e, 1);
        for (int j = k; j < e && j < 32; j++) model[f][j] = -1;
      }
    }
    cr_assert_eq(store_batch_count(b), (size_t)nops);
    write_ok(b);
    for (int f = 0; f < 3; f++)
      for (int k = 0; k < 32; k++)
        cr_assert_eq(get_val(cfs[f], (unsigned char)k), model[f][k], "round %d cf %d key %d", round,
                     f, k);
  }
}

Test(store, empty_batch_writes_nothing) {
  store_batch *b = store_batch_create(st);
  cr_assert_eq(store_batch_count(b), 0);
  write_ok(b);
  cr_assert_eq(get_val(STORE_CF_EDGE, 1), -1);
}
