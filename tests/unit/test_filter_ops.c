/* test_filter_ops.c: count, scroll, delete by filter and set payload,
 * with random filters against brute force, with and without payload
 * indexes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "filtergen.h"
#include "testutil.h"

#define N    2000
#define DIM  8
#define SEED 21

static char *dir;
static engine *E;
static float *vecs;
static uint64_t ids[N];
static fg_attrs attrs[N];
static bool gone[N]; /* deleted by a test */

static void setup(void) {
  dir = tu_tmpdir("fops");
  precis_error err;
  cr_assert_eq(engine_open(dir, NULL, &E, &err), PRECIS_OK, "%s", err.msg);
  vecs = fg_engine_load(E, "o", "HNSW16", N, DIM, SEED, ids, attrs, &err);
  cr_assert_not_null(vecs, "%s", err.msg);
  memset(gone, 0, sizeof gone);
}
static void teardown(void) {
  engine_close(E);
  tu_rmrf_free(dir);
  free(vecs);
}
TestSuite(fops, .init = setup, .fini = teardown, .timeout = 120);

static void with_indexes(void) {
  precis_error err;
  cr_assert_eq(engine_payload_index_create(E, "o", "cat", ENGINE_PINDEX_KEYWORD, &err), PRECIS_OK);
  cr_assert_eq(engine_payload_index_create(E, "o", "n", ENGINE_PINDEX_INTEGER, &err), PRECIS_OK);
  cr_assert_eq(engine_payload_index_create(E, "o", "f", ENGINE_PINDEX_FLOAT, &err), PRECIS_OK);
  cr_assert(fg_wait_indexes_ready(E, "o"));
}

static bool passes(const fg_filter *F, size_t i) {
  return !gone[i] && fg_eval(F, ids[i], &attrs[i]);
}

static engine_filter *compile_fg(const fg_filter *F) {
  engine_filter *f;
  precis_error err;
  cr_assert_eq(engine_filter_compile(F->g, F->ng, &f, &err), PRECIS_OK, "%s", err.msg);
  return f;
}

static void count_and_scroll(uint64_t seed) {
  uint64_t rng = seed;
  precis_error err;
  for (int t = 0; t < 40; t++) {
    fg_filter *F = fg_random(&rng, ids, N);
    engine_filter *f = compile_fg(F);
    size_t want = 0;
    for (size_t i = 0; i < N; i++) want += passes(F, i);
    uint64_t got;
    cr_assert_eq(engine_count_filtered(E, "o", f, &got, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_eq(got, want, "count %llu, want %zu: %s", (unsigned long long)got, want, fg_json(F));
    /* scroll in pages of 37: every passing point once, in id order */
    uint64_t cursor = 0;
    size_t seen = 0, pages = 0;
    bool more = true;
    size_t next_i = 0; /* next passing index expected */
    while (more) {
      engine_point *p;
      size_t n;
      cr_assert_eq(engine_scroll(E, "o", f, cursor, 37, false, &p, &n, &cursor, &more, &err),
                   PRECIS_OK, "%s", err.msg);
      cr_assert_leq(n, 37);
      for (size_t j = 0; j < n; j++) {
        while (next_i < N && !passes(F, next_i)) next_i++;
        cr_assert_lt(next_i, N, "scroll returned more than pass");
        cr_assert_eq(p[j].id, ids[next_i], "page %zu item %zu: %s", pages, j, fg_json(F));
        cr_assert(p[j].found && p[j].meta && p[j].meta[0] == '{');
        next_i++;
        seen++;
      }
      engine_points_free(p, n);
      cr_assert_lt(++pages, 1000);
    }
    cr_assert_eq(seen, want, "scroll saw %zu of %zu", seen, want);
    engine_filter_destroy(f);
    free(F);
  }
  /* no filter: count and scroll everything */
  uint64_t all;
  cr_assert_eq(engine_count_filtered(E, "o", NULL, &all, &err), PRECIS_OK);
  size_t live = 0;
  for (size_t i = 0; i < N; i++) live += !gone[i];
  cr_assert_eq(all, live);
}

Test(fops, count_and_scroll_match_brute_force) { count_and_scroll(3); }

Test(fops, count_and_scroll_with_indexes) {
  with_indexes();
  count_and_scroll(4);
}

Test(fops, scroll_limits_and_cursor) {
  precis_error err;
  engine_point *p;
  size_t n;
  uint64_t next;
  bool more;
  cr_assert_eq(engine_scroll(E, "o", NULL, 0, 0, false, &p, &n, &next, &more, &err),
               PRECIS_E_OUT_OF_RANGE);
  cr_assert_eq(engine_scroll(E, "o", NULL, 0, PRECIS_MAX_SCROLL_LIMIT + 1, false, &p, &n, &next,
                             &more, &err),
               PRECIS_E_OUT_OF_RANGE);
  cr_assert_eq(engine_scroll(E, "nope", NULL, 0, 5, false, &p, &n, &next, &more, &err),
               PRECIS_E_NOT_FOUND);
  /* resume from the middle, with vectors */
  cr_assert_eq(engine_scroll(E, "o", NULL, ids[100], 5, true, &p, &n, &next, &more, &err),
               PRECIS_OK);
  cr_assert_eq(n, 5);
  cr_assert_eq(p[0].id, ids[100]);
  cr_assert_not_null(p[0].vector);
  cr_assert_eq(next, ids[104] + 1);
  cr_assert(more);
  engine_points_free(p, n);
  /* the last page says there is no more */
  cr_assert_eq(engine_scroll(E, "o", NULL, ids[N - 3], 10, false, &p, &n, &next, &more, &err),
               PRECIS_OK);
  cr_assert_eq(n, 3);
  cr_assert(!more);
  engine_points_free(p, n);
}

static void delete_by_filter(void) {
  uint64_t rng = 9;
  precis_error err;
  cr_assert_eq(engine_delete_filtered(E, "o", NULL, NULL, &err), PRECIS_E_INVALID_ARGUMENT);
  for (int t = 0; t < 6; t++) {
    fg_filter *F = fg_random(&rng, ids, N);
    engine_filter *f = compile_fg(F);
    size_t want = 0;
    for (size_t i = 0; i < N; i++) want += passes(F, i);
    if (want > N / 4) { /* keep enough points for the next rounds */
      engine_filter_destroy(f);
      free(F);
      continue;
    }
    uint64_t d;
    cr_assert_eq(engine_delete_filtered(E, "o", f, &d, &err), PRECIS_OK, "%s", err.msg);
    cr_assert_eq(d, want, "deleted %llu, want %zu: %s", (unsigned long long)d, want, fg_json(F));
    for (size_t i = 0; i < N; i++)
      if (passes(F, i)) gone[i] = true;
    uint64_t c;
    cr_assert_eq(engine_count_filtered(E, "o", f, &c, &err), PRECIS_OK);
    cr_assert_eq(c, 0);
    /* the survivors are intact, the deleted gone, also for search */
    engine_point *p;
    cr_assert_eq(engine_get(E, "o", ids, 1000, false, &p, &err), PRECIS_OK);
    for (size_t i = 0; i < 1000; i++) cr_assert_eq(p[i].found, !gone[i]);
    engine_points_free(p, 1000);
    engine_hit h[20];
    size_t nh;
    cr_assert_eq(engine_search(E, "o", vecs, DIM, 20, NULL, h, &nh, &err), PRECIS_OK);
    for (size_t i = 0; i < nh; i++) cr_assert(!gone[(h[i].id - 1000) / 3]);
    engine_filter_destroy(f);
    free(F);
  }
  uint64_t all;
  cr_assert_eq(engine_count_filtered(E, "o", NULL, &all, &err), PRECIS_OK);
  size_t live = 0;
  for (size_t i = 0; i < N; i++) live += !gone[i];
  cr_assert_eq(all, live);
  count_and_scroll(10);
}

Test(fops, delete_by_filter_matches_brute_force) { delete_by_filter(); }

Test(fops, delete_by_filter_with_indexes) {
  with_indexes();
  delete_by_filter();
}

Test(fops, set_payload_merge_and_replace) {
  with_indexes();
  precis_error err;
  uint64_t some[40];
  for (int i = 0; i < 40; i++) some[i] = ids[i * 17];
  size_t upd;
  /* merge: move them to c9 (rare), keep everything else */
  const char *patch = "{\"cat\":\"c9\",\"extra\":[1,2]}";
  cr_assert_eq(engine_set_payload(E, "o", some, 40, patch, strlen(patch), true, &upd, &err),
               PRECIS_OK, "%s", err.msg);
  cr_assert_eq(upd, 40);
  for (int i = 0; i < 40; i++) attrs[i * 17].cat = 9;
  fg_filter F = {0};
  engine_filter_cond c = {
      .kind = ENGINE_FILTER_MATCH, .key = "cat", .vtype = ENGINE_FVAL_KEYWORD, .keyword = "c9"};
  F.g[0] = (engine_filter_group){&c, NULL, NULL, 1, 0, 0};
  F.ng = 1;
  engine_filter *f = compile_fg(&F);
  size_t want = 0;
  for (size_t i = 0; i < N; i++) want += passes(&F, i);
  uint64_t got;
  cr_assert_eq(engine_count_filtered(E, "o", f, &got, &err), PRECIS_OK);
  cr_assert_eq(got, want, "the index follows set_payload");
  engine_point *p;
  cr_assert_eq(engine_get(E, "o", some, 1, true, &p, &err), PRECIS_OK);
  cr_assert(strstr(p[0].meta, "\"extra\":[1,2]") && strstr(p[0].meta, "\"n\":"), "%s", p[0].meta);
  cr_assert_str_eq(p[0].text, "t");
  for (int d = 0; d < DIM; d++)
    cr_assert_float_eq(p[0].vector[d], vecs[d], 1e-6, "vector untouched");
  engine_points_free(p, 1);
  /* replace: only the new object remains */
  cr_assert_eq(engine_set_payload(E, "o", some, 2, "{\"x\":1}", 7, false, &upd, &err), PRECIS_OK);
  cr_assert_eq(engine_get(E, "o", some, 1, false, &p, &err), PRECIS_OK);
  cr_assert_str_eq(p[0].meta, "{\"x\":1}");
  engine_points_free(p, 1);
  cr_assert_eq(engine_count_filtered(E, "o", f, &got, &err), PRECIS_OK);
  cr_assert_eq(got, want - 2, "replaced points left c9");
  engine_filter_destroy(f);
  /* errors; unknown ids are skipped */
  uint64_t none = 7;
  cr_assert_eq(engine_set_payload(E, "o", &none, 1, "{}", 2, true, &upd, &err), PRECIS_OK);
  cr_assert_eq(upd, 0);
  cr_assert_eq(engine_set_payload(E, "o", some, 1, "[1]", 3, true, &upd, &err),
               PRECIS_E_INVALID_JSON);
  cr_assert_eq(engine_set_payload(E, "o", some, 0, "{}", 2, true, &upd, &err),
               PRECIS_E_INVALID_ARGUMENT);
}
