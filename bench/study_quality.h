/* study_quality.h: types shared by study_quality.c (the driver and the
 * runs) and quality_report.c (statistics and output) of `precis-bench
 * quality`. Internal to bench/. */
#ifndef PRECIS_BENCH_STUDY_QUALITY_H
#define PRECIS_BENCH_STUDY_QUALITY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "quality_transport.h"

#define QS_K_DEFAULT    10 /* k of every retrieve unless --k (a bare number: usage prints it) */
#define QS_K_MAX        50
#define QS_MAX_GRID     24
#define QS_BOOT_DEFAULT 4000 /* resamples: enough for the family-wise front test at 31 points */
/* the front's "below beyond noise": one-sided level of a point's interval
 * (2.5 % tail of the 95 % interval) and of the family-wise (Holm) test */
#define QS_FRONT_ALPHA 0.025
#define QS_TARGET_SIM  0.97 /* issue 10's similarity target: 97 % of TOPK's */
/* the label oracle chooses among the 3k nearest, at least 30 (30 at k 10;
 * a fixed 30 left it no room at k 20) */
#define QS_ORACLE_PER_K 3
#define QS_ORACLE_POOL  30
#define QS_MAX_FAM      16
#define QS_MAX_CORPORA  32

typedef enum { QS_PRECIS, QS_COSMMR, QS_LOGDET } qs_kind;

typedef struct {
  char name[32];
  qs_kind kind;
  int curve;
  qt_req fixed;
  int knob; /* swept knob, -1 when none */
  double grid[QS_MAX_GRID];
  int ngrid;
} qs_family;

typedef struct {
  const char *name;
  uint32_t hops;
  int edges; /* QT_EDGES_* */
} qs_graph;

typedef struct {
  const qs_family *f;
  const qs_graph *g;
  double param; /* swept value (NAN: none) */
  /* per query */
  double *sim, *labels, *red, *rec, *lat, *gshare;
  double *items, *tokens; /* items returned and their tokens (NAN: not known) */
  /* summary */
  double m_sim, m_labels, m_red, m_rec, m_gshare, m_items, m_tokens, pool, p50, p99;
  double sim_pct, labr, recr; /* vs TOPK h0 */
  double ci[3][2];            /* sim %, labels ratio, recall ratio */
} qs_row;

typedef struct {
  size_t row;    /* compared point */
  double s, lab; /* its sim % and labels */
  double c_lab;  /* COMPRESS's labels at s, NAN when out of range */
  int ext;       /* s above COMPRESS's range: c_lab is its highest-sim point's */
  double gap, lo, hi;
  double p_below; /* one-sided bootstrap p of gap >= 0 over comparable resamples */
  int fw_below;   /* below at the family-wise level (Holm over the corpus's points) */
} qs_front;

typedef struct {
  const char *corpus, *transport;
  const ds_corpus *c;
  uint32_t k; /* results per query */
  size_t nq, nq_linked;
  double reach;  /* hops-1 bound: mean share of linked entries the walk's pool can hold */
  double oracle; /* labels x exact top-k that a label oracle gets (qs_oracle) */
  qt_setup st;
  qs_row *rows;
  size_t nrows, ref;
  qs_front *front;
  size_t nfront;
} qs_result;

typedef struct {
  qs_family fam[QS_MAX_FAM];
  int nfam;
  unsigned graphs; /* bit per qs_graphs entry */
  size_t maxq;
  uint32_t k; /* results per query, 1..QS_K_MAX */
  int boot;
  uint32_t bpool;   /* baselines' pool size; 0: the DEFAULT row's, per query */
  int no_rebuild;   /* keep the kNN graph the upserts built (no graph_rebuild) */
  uint64_t shuffle; /* ingest in a random order with this seed; 0: corpus order */
  uint32_t batch;   /* points per upsert, 1..QT_BATCH */
  uint32_t budget;  /* token_budget of every Precis row that sets none; 0: none */
  const char *out;
} qs_opts;

/* quality_report.c */
/* Allocates r's per-query columns for nq queries (0 or -1); qs_row_free
 * releases them (r itself is the caller's). */
int qs_row_alloc(qs_row *r, size_t nq);
void qs_row_free(qs_row *r);
int qs_summarise(qs_result *R, int boot);
void qs_row_name(const qs_row *r, char *buf, size_t cap);
void qs_tsv(FILE *f, const qs_result *R);
void qs_front_tsv(FILE *f, const qs_result *R, int header);
void qs_markdown(FILE *f, const qs_result *R);
void qs_headline(char *buf, size_t cap, const qs_result *R);

#endif /* PRECIS_BENCH_STUDY_QUALITY_H */
