/*
 * bench.h: the studies of precis-bench and the small helpers they share.
 *
 * `precis-bench <study> [options]` dispatches through the table in main.c to
 * `int bench_<study>(int argc, char **argv)`, called with argv[0] = the study
 * name and its options after it; it returns a process exit status. Studies
 * print a Markdown report to stdout and, given `--out DIR`, also write
 * DIR/<study>.md and DIR/<study>.json (the data-set studies also write
 * DIR/<study>.tsv and DIR/<study>.png through bench/plot.sh).
 */
#ifndef PRECIS_BENCH_H
#define PRECIS_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* ---- studies ---- */
int bench_select(int argc, char **argv);          /* study_select.c */
int bench_quality(int argc, char **argv);         /* study_quality.c */
int bench_ingest(int argc, char **argv);          /* study_ingest.c */
int bench_ann(int argc, char **argv);             /* study_ann.c */
int bench_load(int argc, char **argv);            /* study_load.c */
int bench_quality_wordnet(int argc, char **argv); /* study_quality_wordnet.c */
int bench_hostile(int argc, char **argv);         /* study_hostile.c */
int bench_client(int argc, char **argv);          /* study_client.c */
int bench_filter(int argc, char **argv);          /* study_filter.c */
int bench_pingpong(int argc, char **argv);        /* study_pingpong.c */

/* ---- helpers (bench_util.c) ---- */

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);
/* CPU time of the calling thread in nanoseconds (robust to other load on
 * a shared machine for single-threaded work). */
uint64_t bench_thread_cpu_ns(void);

/* Nearest-rank quantile q in [0,1] of x[0..n) (sorts x in place). */
double bench_quantile(double *x, size_t n, double q);

/* Limit BLAS to one thread for single-core timings: calls OpenBLAS's
 * openblas_set_num_threads(1) when the BLAS in use has it (looked up at run
 * time, so any libblas links). Returns 1 if done, 0 if unknown BLAS; setting
 * OPENBLAS_NUM_THREADS=1 in the environment has the same effect. */
int bench_blas_single_thread(void);

/* Creates DIR if missing (one level). 0 on success, -1 with errno. */
int bench_mkdir(const char *dir);

/* Parses "a,b,c" of unsigned integers into out[0..max); returns the count,
 * -1 on a malformed list. */
int bench_parse_list(const char *s, uint32_t *out, int max);

#endif /* PRECIS_BENCH_H */
