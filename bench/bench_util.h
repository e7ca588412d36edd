/*
 * bench_util.h: helpers shared by the data-set studies (quality, ingest,
 * ann): machine and FAISS description, resident memory, temporary data
 * directories, report files and plots, a few string and JSON utilities.
 */
#ifndef PRECIS_BENCH_UTIL_H
#define PRECIS_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Online processors (sysconf). */
int bu_nproc(void);
/* "model name" of /proc/cpuinfo (static string, "unknown" when absent). */
const char *bu_cpu_model(void);
/* Resident set size of this process in bytes (/proc/self/statm), 0 on error. */
uint64_t bu_rss_bytes(void);
/* Bytes under `path` (files, recursively); 0 when missing. */
uint64_t bu_du_bytes(const char *path);

/* The environment block of every report: machine, FAISS build, date.
 * Markdown: a few "- key: value" lines. JSON: `"env":{...}` (no comma). */
void bu_env_md(FILE *f);
void bu_env_json(FILE *f);

/* JSON string literal of s (quotes included). */
void bu_json_str(FILE *f, const char *s);

/* Opens DIR/NAME for writing (creating DIR); NULL with a message on error. */
FILE *bu_open_out(const char *dir, const char *name);
/* Runs `bench/plot.sh STUDY DIR` (or $PRECIS_BENCH_PLOT) to make
 * DIR/STUDY.png from DIR/STUDY.json. Returns the script's exit status;
 * a missing gnuplot is reported, not fatal (returns 0). */
int bu_plot(const char *study, const char *dir);

/* Temporary directory $TMPDIR/precis-bench-TAG-XXXXXX (malloc'd) and its
 * recursive removal (also frees the path). */
char *bu_tmpdir(const char *tag);
void bu_rmrf_free(char *path);

/* "a,b,c" of non-negative floats into out[0..max); count or -1. */
int bu_parse_flist(const char *s, double *out, int max);

/* Option `opt` of `study` with value s: a whole decimal number in lo..hi
 * into *out and 0; else a message on stderr ("STUDY: OPT must be LO..HI")
 * and -1. */
int bu_parse_range(const char *study, const char *opt, const char *s, uint32_t lo, uint32_t hi,
                   uint32_t *out);

/* Wall seconds of a child command (sh -c), its exit status in *status. */
double bu_time_cmd(const char *cmd, int *status);

/* Everything a data-set study reads: "<data dir>/<set>/<file>", complaining
 * with a hint when the set is missing. Returns 0 or -1. */
int bu_need_set(const char *study, const char *set);

#endif /* PRECIS_BENCH_UTIL_H */
