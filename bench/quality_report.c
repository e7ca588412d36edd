/*
 * quality_report.c: statistics (means, bootstrap intervals, the front check)
 * and output (TSV, markdown, headline) of `precis-bench quality`; the runs
 * live in study_quality.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "study_quality.h"

/* ---- statistics ---- */

static uint64_t qs_rng(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* mean of x over idx (NAN entries skipped); NAN when none */
static double qs_mean(const double *x, const size_t *idx, size_t n) {
  double s = 0;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    double v = x[idx ? idx[i] : i];
    if (isnan(v)) continue;
    s += v;
    m++;
  }
  return m ? s / (double)m : NAN;
}

static double qs_ratio(double a, double b) { return b > 0 ? a / b : NAN; }

/* COMPRESS's labels at sim % s: the best linear interpolation over the
 * curve families at hops 0 (each family's points sorted by sim %, s between
 * two neighbours or equal to a point). Above a family's highest sim % its
 * labels there count (flat, generous to COMPRESS: *ext = 1); below every
 * range NAN. */
static double qs_curve_at(const qs_result *R, const double *spct, const double *lab, double s,
                          int *ext) {
  double best = NAN, flat = NAN;
  for (size_t i = 0; i < R->nrows; i++) {
    const qs_family *f = R->rows[i].f;
    if (f->curve != 1 || R->rows[i].g->hops) continue;
    size_t first = i;
    while (first > 0 && R->rows[first - 1].f == f && !R->rows[first - 1].g->hops) first--;
    if (first != i) continue; /* each family once, from its first row */
    size_t pts[QS_MAX_GRID], n = 0;
    for (size_t j = i; j < R->nrows && R->rows[j].f == f && !R->rows[j].g->hops && n < QS_MAX_GRID;
         j++) {
      size_t m = n++;
      while (m > 0 && spct[pts[m - 1]] > spct[j]) { /* insertion sort by sim % */
        pts[m] = pts[m - 1];
        m--;
      }
      pts[m] = j;
    }
    for (size_t m = 0; m < n; m++) {
      size_t a = pts[m];
      double v = NAN;
      if (spct[a] == s)
        v = lab[a];
      else if (m + 1 < n && spct[a] < s && s < spct[pts[m + 1]]) {
        size_t b = pts[m + 1];
        v = lab[a] + (lab[b] - lab[a]) * (s - spct[a]) / (spct[b] - spct[a]);
      }
      if (!isnan(v) && (isnan(best) || v > best)) best = v;
    }
    if (n && s > spct[pts[n - 1]] && (isnan(flat) || lab[pts[n - 1]] > flat))
      flat = lab[pts[n - 1]];
  }
  if (ext) *ext = isnan(best) && !isnan(flat);
  return isnan(best) ? flat : best;
}

static int qs_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* 2.5 / 97.5 % quantiles of x[0..n) (NAN skipped; sorts x) */
static void qs_ci(double *x, size_t n, double out[2]) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(x[i])) x[m++] = x[i];
  if (!m) {
    out[0] = out[1] = NAN;
    return;
  }
  qsort(x, m, sizeof *x, qs_cmp_double);
  out[0] = x[(size_t)(0.025 * (double)(m - 1) + 0.5)];
  out[1] = x[(size_t)(0.975 * (double)(m - 1) + 0.5)];
}

/* Is F a compared point: one the front's verdict counts (below, on or above)? */
static int qs_front_compared(const qs_front *F) {
  return !isnan(F->c_lab) && (!F->ext || F->hi < 0);
}

/* Holm's step-down test over the corpus's compared points at
 * QS_FRONT_ALPHA: with 23-31 operating points per corpus, a 2.5 % tail per
 * point flags about one point in forty where COMPRESS and the compared
 * family tie, so "below beyond noise" is decided for the family
 * (fw_below); each point's own interval stays in the output. */
static int qs_front_holm(qs_result *R) {
  size_t m = 0, *ord = malloc((R->nfront ? R->nfront : 1) * sizeof *ord);
  if (!ord) return -1;
  for (size_t f = 0; f < R->nfront; f++) {
    R->front[f].fw_below = 0;
    if (qs_front_compared(&R->front[f]) && !isnan(R->front[f].p_below)) ord[m++] = f;
  }
  for (size_t i = 1; i < m; i++) /* insertion sort by p, ascending */
    for (size_t j = i; j > 0 && R->front[ord[j]].p_below < R->front[ord[j - 1]].p_below; j--) {
      size_t t = ord[j];
      ord[j] = ord[j - 1];
      ord[j - 1] = t;
    }
  for (size_t i = 0; i < m; i++) {
    qs_front *F = &R->front[ord[i]];
    if (F->p_below > QS_FRONT_ALPHA / (double)(m - i) || !(F->hi < 0)) break;
    F->fw_below = 1;
  }
  free(ord);
  return 0;
}

int qs_row_alloc(qs_row *r, size_t nq) {
  double **a[] = {&r->sim, &r->labels, &r->red,   &r->rec,
                  &r->lat, &r->gshare, &r->items, &r->tokens};
  for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
    if (!(*a[i] = calloc(nq ? nq : 1, sizeof(double)))) return -1;
  return 0;
}

void qs_row_free(qs_row *r) {
  free(r->sim);
  free(r->labels);
  free(r->red);
  free(r->rec);
  free(r->lat);
  free(r->gshare);
  free(r->items);
  free(r->tokens);
}

int qs_summarise(qs_result *R, int boot) {
  size_t nq = R->nq, nr = R->nrows;
  for (size_t i = 0; i < nr; i++) {
    qs_row *r = &R->rows[i];
    r->m_sim = qs_mean(r->sim, NULL, nq);
    r->m_labels = qs_mean(r->labels, NULL, nq);
    r->m_red = qs_mean(r->red, NULL, nq);
    r->m_rec = qs_mean(r->rec, NULL, nq);
    r->m_gshare = qs_mean(r->gshare, NULL, nq);
    r->m_items = qs_mean(r->items, NULL, nq);
    r->m_tokens = qs_mean(r->tokens, NULL, nq);
    double *lat = malloc(nq * sizeof *lat);
    if (!lat) return -1;
    memcpy(lat, r->lat, nq * sizeof *lat);
    r->p50 = bench_quantile(lat, nq, 0.5);
    r->p99 = bench_quantile(lat, nq, 0.99);
    free(lat);
  }
  const qs_row *ref = &R->rows[R->ref];
  for (size_t i = 0; i < nr; i++) {
    qs_row *r = &R->rows[i];
    r->sim_pct = 100 * qs_ratio(r->m_sim, ref->m_sim);
    r->labr = qs_ratio(r->m_labels, ref->m_labels);
    r->recr = qs_ratio(r->m_rec, ref->m_rec);
  }
  /* front points: compared families at hops 0 */
  R->front = calloc(nr, sizeof *R->front);
  if (!R->front) return -1;
  double *spct = malloc(nr * sizeof *spct), *lab = malloc(nr * sizeof *lab);
  if (!spct || !lab) return -1;
  for (size_t i = 0; i < nr; i++) {
    spct[i] = R->rows[i].sim_pct;
    lab[i] = R->rows[i].m_labels;
  }
  for (size_t i = 0; i < nr; i++) {
    const qs_row *r = &R->rows[i];
    if (r->f->curve != 2 || r->g->hops) continue;
    qs_front *F = &R->front[R->nfront++];
    F->row = i;
    F->s = r->sim_pct;
    F->lab = r->m_labels;
    F->c_lab = qs_curve_at(R, spct, lab, r->sim_pct, &F->ext);
    F->gap = F->c_lab - F->lab;
  }
  /* paired bootstrap */
  size_t B = boot > 0 ? (size_t)boot : 0;
  double *bs = malloc((B ? B : 1) * nr * 3 * sizeof *bs);
  double *bg = malloc((B ? B : 1) * (R->nfront ? R->nfront : 1) * sizeof *bg);
  size_t *idx = malloc((nq ? nq : 1) * sizeof *idx);
  if (!bs || !bg || !idx) return -1;
  uint64_t seed = 20240601;
  for (size_t b = 0; b < B; b++) {
    for (size_t i = 0; i < nq; i++) idx[i] = qs_rng(&seed) % nq;
    double rs = qs_mean(ref->sim, idx, nq), rl = qs_mean(ref->labels, idx, nq),
           rr = qs_mean(ref->rec, idx, nq);
    for (size_t i = 0; i < nr; i++) {
      const qs_row *r = &R->rows[i];
      double ms = qs_mean(r->sim, idx, nq), ml = qs_mean(r->labels, idx, nq);
      spct[i] = 100 * qs_ratio(ms, rs);
      lab[i] = ml;
      bs[(i * 3 + 0) * B + b] = spct[i];
      bs[(i * 3 + 1) * B + b] = qs_ratio(ml, rl);
      bs[(i * 3 + 2) * B + b] = qs_ratio(qs_mean(r->rec, idx, nq), rr);
    }
    for (size_t f = 0; f < R->nfront; f++) {
      size_t i = R->front[f].row;
      bg[f * B + b] = qs_curve_at(R, spct, lab, spct[i], NULL) - lab[i];
    }
  }
  for (size_t i = 0; i < nr && B; i++)
    for (int m = 0; m < 3; m++) qs_ci(bs + (i * 3 + (size_t)m) * B, B, R->rows[i].ci[m]);
  for (size_t f = 0; f < R->nfront && B; f++) {
    /* over the resamples in which the point is comparable, as its interval */
    size_t ge = 0, nb = 0;
    for (size_t b = 0; b < B; b++)
      if (!isnan(bg[f * B + b])) {
        nb++;
        ge += bg[f * B + b] >= 0;
      }
    R->front[f].p_below = (double)(1 + ge) / (double)(1 + nb);
    double ci[2];
    qs_ci(bg + f * B, B, ci);
    R->front[f].lo = ci[0];
    R->front[f].hi = ci[1];
  }
  if (!B)
    for (size_t f = 0; f < R->nfront; f++)
      R->front[f].lo = R->front[f].hi = R->front[f].p_below = NAN;
  free(bs);
  free(bg);
  free(idx);
  free(spct);
  free(lab);
  return qs_front_holm(R);
}

/* ---- output ---- */

void qs_row_name(const qs_row *r, char *buf, size_t cap) {
  if (isnan(r->param))
    snprintf(buf, cap, "%s", r->f->name);
  else
    snprintf(buf, cap, "%s %s=%g", r->f->name, qt_knob_name(r->f->knob), r->param);
}

static const char *qs_verdict(const qs_front *F) {
  if (isnan(F->c_lab)) return "not comparable";
  if (F->ext)
    return F->hi < 0 ? "below (above COMPRESS's sim range)" : "above COMPRESS's sim range";
  if (F->hi < 0) return "below";
  if (F->lo > 0) return "above";
  return isnan(F->lo) ? (F->gap < 0 ? "below?" : "on/above?") : "on";
}

void qs_tsv(FILE *f, const qs_result *R) {
  fprintf(f,
          "# corpus %s, transport %s, %zu entries, %zu labels, %zu links, %zu queries (%zu with "
          "links), k %d\n",
          R->corpus, R->transport, R->c->n, R->c->nlabels, R->c->nlinks, R->nq, R->nq_linked,
          (int)R->k);
  fprintf(
      f,
      "corpus\ttransport\tgraph\thops\tfamily\tknob\tvalue\tsim\tsim_pct\tsim_pct_lo\tsim_pct_hi"
      "\tlabels\tlabels_ratio\tlabels_ratio_lo\tlabels_ratio_hi\tredundancy\trecall\trecall_ratio"
      "\trecall_ratio_lo\trecall_ratio_hi\tgraph_share\tpool\tp50_ms\tp99_ms\titems\ttokens\n");
  for (size_t i = 0; i < R->nrows; i++) {
    const qs_row *r = &R->rows[i];
    fprintf(f,
            "%s\t%s\t%s\t%u\t%s\t%s\t%g\t%.5f\t%.3f\t%.3f\t%.3f\t%.4f\t%.4f\t%.4f\t%.4f\t%.5f\t%.4f"
            "\t%.4f\t%.4f\t%.4f\t%.4f\t%.1f\t%.3f\t%.3f\t%.2f\t%.1f\n",
            R->corpus, R->transport, r->g->name, r->g->hops, r->f->name,
            r->f->knob >= 0 ? qt_knob_name(r->f->knob) : "-", isnan(r->param) ? 0 : r->param,
            r->m_sim, r->sim_pct, r->ci[0][0], r->ci[0][1], r->m_labels, r->labr, r->ci[1][0],
            r->ci[1][1], r->m_red, r->m_rec, r->recr, r->ci[2][0], r->ci[2][1], r->m_gshare,
            r->pool, r->p50, r->p99, r->m_items, r->m_tokens);
  }
}

void qs_front_tsv(FILE *f, const qs_result *R, int header) {
  if (header)
    fprintf(f,
            "corpus\ttransport\tfamily\tknob\tvalue\tsim_pct\tlabels\tcompress_labels\tgap\tgap_lo"
            "\tgap_hi\tp_below\tverdict\tfamily_wise\n");
  for (size_t i = 0; i < R->nfront; i++) {
    const qs_front *F = &R->front[i];
    const qs_row *r = &R->rows[F->row];
    fprintf(f, "%s\t%s\t%s\t%s\t%g\t%.3f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.5f\t%s\t%s\n", R->corpus,
            R->transport, r->f->name, r->f->knob >= 0 ? qt_knob_name(r->f->knob) : "-", r->param,
            F->s, F->lab, F->c_lab, F->gap, F->lo, F->hi, F->p_below, qs_verdict(F),
            F->fw_below ? "below" : "-");
  }
}

static const qs_row *qs_find(const qs_result *R, const char *fam, const char *graph, double param) {
  for (size_t i = 0; i < R->nrows; i++) {
    const qs_row *r = &R->rows[i];
    if (!strcmp(r->f->name, fam) && !strcmp(r->g->name, graph) &&
        (isnan(param) || fabs(r->param - param) < 1e-9))
      return r;
  }
  return NULL;
}

typedef struct {
  size_t below, on, above, nc;
  size_t fw_below;       /* below at the family-wise level */
  const qs_front *worst; /* lowest gap among the compared points */
} qs_front_count;

static void qs_front_counts(const qs_result *R, qs_front_count *fc) {
  memset(fc, 0, sizeof *fc);
  for (size_t i = 0; i < R->nfront; i++) {
    const qs_front *F = &R->front[i];
    const char *v = qs_verdict(F);
    if (!qs_front_compared(F)) {
      fc->nc++;
      continue;
    }
    fc->fw_below += (size_t)F->fw_below;
    if (!strncmp(v, "below", 5))
      fc->below++;
    else if (!strcmp(v, "above"))
      fc->above++;
    else
      fc->on++;
    if (!fc->worst || F->gap < fc->worst->gap) fc->worst = F;
  }
}

static void qs_md_row(FILE *f, const qs_row *r) {
  if (!r) return;
  char name[96];
  qs_row_name(r, name, sizeof name);
  fprintf(f, "| %s | %s | %.1f [%.1f, %.1f] | %.2f | %.3f [%.3f, %.3f] | %.3f |", r->g->name, name,
          r->sim_pct, r->ci[0][0], r->ci[0][1], r->m_labels, r->labr, r->ci[1][0], r->ci[1][1],
          r->m_red);
  if (isnan(r->m_rec))
    fprintf(f, " - | - |");
  else
    fprintf(f, " %.3f | %.2f [%.2f, %.2f] |", r->m_rec, r->recr, r->ci[2][0], r->ci[2][1]);
  fprintf(f, " %.0f | %.2f | %.2f |\n", r->pool, r->p50, r->p99);
}

void qs_markdown(FILE *f, const qs_result *R) {
  const ds_corpus *c = R->c;
  fprintf(f, "### %s (%s)\n\n", R->corpus, R->transport);
  fprintf(
      f,
      "%zu entries, dim %zu, %zu labels, %zu links, %zu queries (%zu with linked entries), k %d; "
      "setup: upsert %.1f s, links %.1f s, kNN graph %.1f s (%llu edges; a sample's lists hold "
      "%.3f of the exact neighbours)\n\n",
      c->n, c->dim, c->nlabels, c->nlinks, R->nq, R->nq_linked, (int)R->k, R->st.upsert_s,
      R->st.links_s, R->st.rebuild_s, (unsigned long long)R->st.knn_edges, R->st.knn_exact);
  fprintf(f,
          "| graph | row | sim %% of TOPK | labels | labels / TOPK | redund. | recall | recall / "
          "TOPK h0 | pool | p50 ms | p99 ms "
          "|\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  static const char *const head_graphs[] = {"h0",      "h1",    "h2",    "links-1",
                                            "links-2", "all-1", "all-2", "knn-1"};
  for (size_t g = 0; g < sizeof head_graphs / sizeof *head_graphs; g++) {
    qs_md_row(f, qs_find(R, "TOPK", head_graphs[g], NAN));
    qs_md_row(f, qs_find(R, "DEFAULT", head_graphs[g], NAN));
  }
  qs_md_row(f, qs_find(R, "MMR", "h0", 0.5));
  qs_md_row(f, qs_find(R, "cosMMR", "h0", 0.5));
  /* best label ratio at >= 97 % of TOPK's similarity, per family (hops 0) */
  fprintf(f, "\nbest labels / TOPK at sim >= 97 %% (hops 0):");
  for (size_t i = 0; i < R->nrows; i++) {
    const qs_row *r = &R->rows[i];
    if (r->g->hops || isnan(r->param)) continue;
    int first = 1;
    for (size_t j = 0; j < i; j++) first &= R->rows[j].f != r->f || R->rows[j].g->hops;
    if (!first) continue;
    const qs_row *best = NULL;
    for (size_t j = i; j < R->nrows; j++) {
      const qs_row *s = &R->rows[j];
      if (s->f == r->f && !s->g->hops && s->sim_pct >= 97 && (!best || s->labr > best->labr))
        best = s;
    }
    if (best)
      fprintf(f, " %s %.3f (%s=%g, sim %.1f %%);", r->f->name, best->labr, qt_knob_name(r->f->knob),
              best->param, best->sim_pct);
    else
      fprintf(f, " %s none;", r->f->name);
  }
  qs_front_count fc;
  qs_front_counts(R, &fc);
  fprintf(
      f,
      "\n\nfront (COMPRESS labels - compared point's labels at equal sim %%, hops 0): %zu points "
      "below, %zu on, %zu above, %zu not comparable (outside COMPRESS's sim range)",
      fc.below, fc.on, fc.above, fc.nc);
  if (fc.worst) {
    char name[96];
    qs_row_name(&R->rows[fc.worst->row], name, sizeof name);
    fprintf(f, "; lowest gap: %s at sim %.1f %%: %+.3f [%+.3f, %+.3f]", name, fc.worst->s,
            fc.worst->gap, fc.worst->lo, fc.worst->hi);
  }
  fprintf(f,
          "; below beyond noise for the corpus (Holm, one-sided %g %% over the %zu compared "
          "points): %zu; verdict: %s\n\n",
          100 * QS_FRONT_ALPHA, fc.below + fc.on + fc.above, fc.fw_below,
          fc.fw_below ? "COMPRESS is BELOW the front" : "COMPRESS on or above the front");
}

/* one line of the cross-corpus table, with the targets */
void qs_headline(char *buf, size_t cap, const qs_result *R) {
  const qs_row *d0 = qs_find(R, "DEFAULT", "h0", NAN), *m5 = qs_find(R, "MMR", "h0", 0.5),
               *t0 = &R->rows[R->ref], *d1 = qs_find(R, "DEFAULT", "h1", NAN),
               *d2 = qs_find(R, "DEFAULT", "h2", NAN);
  /* the hops columns: the server's own edges (h1, h2) when they ran, else
   * the links alone, which are the default edges since the thirteenth pass */
  if (!d1) d1 = qs_find(R, "DEFAULT", "links-1", NAN);
  if (!d2) d2 = qs_find(R, "DEFAULT", "links-2", NAN);
  qs_front_count fc;
  qs_front_counts(R, &fc);
  int n = snprintf(buf, cap, "| %s | %.1f %% / %.2fx [%.2f, %.2f] %s; oracle %.2fx |", R->corpus,
                   d0->sim_pct, d0->labr, d0->ci[1][0], d0->ci[1][1],
                   d0->sim_pct >= 100 * QS_TARGET_SIM && d0->labr >= 1.3 ? "met" : "NOT met",
                   R->oracle);
  if (m5)
    n += snprintf(buf + n, cap - (size_t)n, " %.1f %% / %.2fx %s |", m5->sim_pct, m5->labr,
                  m5->sim_pct >= 97 && m5->labr >= 1.1 ? "met" : "NOT met");
  else
    n += snprintf(buf + n, cap - (size_t)n, " - |");
  if (d1 && !isnan(t0->m_rec))
    n += snprintf(buf + n, cap - (size_t)n,
                  " %.3f | %.2fx [%.2f, %.2f] at %.1f %% %s; reach %.2fx |", t0->m_rec, d1->recr,
                  d1->ci[2][0], d1->ci[2][1], d1->sim_pct,
                  d1->recr >= 1.5 && d1->sim_pct >= 90 ? "met" : "NOT met",
                  t0->m_rec > 0 ? R->reach / t0->m_rec : NAN);
  else
    n += snprintf(buf + n, cap - (size_t)n, " - | - |");
  if (d2 && !isnan(t0->m_rec))
    n += snprintf(buf + n, cap - (size_t)n, " %.2fx at %.1f %% |", d2->recr, d2->sim_pct);
  else
    n += snprintf(buf + n, cap - (size_t)n, " - |");
  snprintf(buf + n, cap - (size_t)n, " %zu of %zu below, %zu for the corpus %s |", fc.below,
           fc.below + fc.on + fc.above, fc.fw_below, fc.fw_below ? "NOT met" : "met");
}
