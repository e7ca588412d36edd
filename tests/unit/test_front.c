/* test_front.c: the front check of `precis-bench quality`
 * (bench/quality_report.c), the statistic behind issue 10's "COMPRESS
 * never below MMR or log-det beyond noise", on synthetic per-query results:
 * a point counts as below for the corpus only when Holm's test over all
 * compared points rejects; a point whose own interval dips under 0 by
 * chance does not; a real shift is caught at every point. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "study_quality.h"

#define NQ   200
#define NCMP 20 /* compared points, as many as a corpus has */

static const qs_graph h0 = {"h0", 0, 0};
static qs_family topk, curve, cmp;
static qs_row rows[2 + 2 + NCMP];
static qs_result R;

static uint64_t rng_state;
static double unif(void) { /* xorshift64*, in [0, 1) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void row_init(qs_row *r, const qs_family *f, double param) {
  memset(r, 0, sizeof *r);
  r->f = f;
  r->g = &h0;
  r->param = param;
  cr_assert_eq(qs_row_alloc(r, NQ), 0);
  for (size_t q = 0; q < NQ; q++) r->rec[q] = NAN;
}

/* TOPK at sim 1.0; COMPRESS's curve through (sim 0.97, 5 labels) and
 * (0.99, 4 labels); NCMP compared points at sims between, each with
 * COMPRESS's interpolated labels + shift[i] + per-query noise. */
static void build(const double *shift, double noise) {
  memset(&R, 0, sizeof R);
  snprintf(topk.name, sizeof topk.name, "TOPK");
  snprintf(curve.name, sizeof curve.name, "COMPRESS");
  curve.curve = 1;
  snprintf(cmp.name, sizeof cmp.name, "MMR");
  cmp.curve = 2;
  topk.knob = curve.knob = cmp.knob = -1;
  size_t n = 0;
  row_init(&rows[n++], &topk, NAN);
  row_init(&rows[n++], &curve, 1);
  row_init(&rows[n++], &curve, 2);
  for (size_t q = 0; q < NQ; q++) {
    rows[0].sim[q] = 1.0;
    rows[0].labels[q] = 3;
    rows[1].sim[q] = 0.97;
    rows[1].labels[q] = 5;
    rows[2].sim[q] = 0.99;
    rows[2].labels[q] = 4;
  }
  for (size_t i = 0; i < NCMP; i++) {
    qs_row *r = &rows[n++];
    row_init(r, &cmp, (double)i);
    double s = 0.971 + 0.018 * (double)i / (NCMP - 1), base = 5 - (s - 0.97) / 0.02;
    double e[NQ], mean = 0, var = 0;
    for (size_t q = 0; q < NQ; q++) mean += (e[q] = unif()) / NQ;
    for (size_t q = 0; q < NQ; q++) var += (e[q] - mean) * (e[q] - mean) / NQ;
    for (size_t q = 0; q < NQ; q++) { /* noise of mean 0 and sd `noise` exactly */
      r->sim[q] = s;
      r->labels[q] = base - shift[i] + noise * (e[q] - mean) / sqrt(var);
    }
  }
  R.corpus = "synthetic";
  R.transport = "engine";
  R.rows = rows;
  R.nrows = n;
  R.ref = 0;
  R.nq = NQ;
}

static void teardown_rows(void) {
  for (size_t i = 0; i < R.nrows; i++) qs_row_free(&rows[i]);
  free(R.front);
  R.front = NULL;
}

TestSuite(front, .fini = teardown_rows);

Test(front, shift_is_below_everywhere) {
  double shift[NCMP];
  for (size_t i = 0; i < NCMP; i++) shift[i] = -0.5; /* the compared family: half a label more */
  rng_state = 1;
  build(shift, 1.0);
  cr_assert_eq(qs_summarise(&R, QS_BOOT_DEFAULT), 0);
  cr_assert_eq(R.nfront, NCMP);
  for (size_t i = 0; i < R.nfront; i++) {
    cr_expect(R.front[i].hi < 0, "point %zu: interval [%g, %g]", i, R.front[i].lo, R.front[i].hi);
    cr_expect(R.front[i].p_below <= 1.0 / (QS_BOOT_DEFAULT + 1) + 1e-12, "point %zu: p %g", i,
              R.front[i].p_below);
    cr_expect(R.front[i].fw_below, "point %zu not below for the corpus", i);
  }
}

Test(front, tie_is_not_below) {
  double shift[NCMP] = {0};
  rng_state = 7;
  build(shift, 1.0);
  cr_assert_eq(qs_summarise(&R, QS_BOOT_DEFAULT), 0);
  for (size_t i = 0; i < R.nfront; i++) {
    cr_expect(!R.front[i].fw_below, "point %zu: gap %g p %g", i, R.front[i].gap,
              R.front[i].p_below);
    cr_expect(R.front[i].p_below > 0 && R.front[i].p_below <= 1);
  }
}

/* one point a little below (about 2.5 standard errors: its own 95 %
 * interval excludes 0), nineteen above: below for that point, not beyond
 * noise for a corpus of twenty points (Holm's first threshold is
 * 0.025 / 20) */
Test(front, one_marginal_point_is_not_below_for_the_corpus) {
  double shift[NCMP];
  for (size_t i = 0; i < NCMP; i++) shift[i] = 0.5;
  shift[7] = -2.5 / sqrt(NQ); /* noise sd 1 per query: 2.5 standard errors */
  rng_state = 3;
  build(shift, 1.0);
  cr_assert_eq(qs_summarise(&R, QS_BOOT_DEFAULT), 0);
  const qs_front *F = &R.front[7];
  cr_assert(F->hi < 0, "interval [%g, %g]", F->lo, F->hi);
  cr_assert(F->p_below < 0.025 && F->p_below > QS_FRONT_ALPHA / NCMP, "p %g", F->p_below);
  cr_assert(!F->fw_below);
  for (size_t i = 0; i < R.nfront; i++) cr_expect(!R.front[i].fw_below);
}

/* without resamples there is no interval and no family-wise verdict */
Test(front, no_resamples) {
  double shift[NCMP];
  for (size_t i = 0; i < NCMP; i++) shift[i] = -0.5;
  rng_state = 5;
  build(shift, 1.0);
  cr_assert_eq(qs_summarise(&R, 0), 0);
  for (size_t i = 0; i < R.nfront; i++) {
    cr_expect(isnan(R.front[i].p_below));
    cr_expect(!R.front[i].fw_below);
  }
}
