/*
 * cli.h: shared context of the `precis` admin CLI: global flags, the
 * connection, exit codes, error reporting, option helpers, and the entry
 * point of every command (one file per command family: cmd_*.c).
 *
 * Exit codes: 0 success, 1 the server reported an error, 2 usage error,
 * 3 connection error (refused, closed, timed out), 4 bad input data (a bad
 * record in an ingest file without --skip-bad, an unreadable file).
 * Human output goes to stdout, diagnostics and progress to stderr; with
 * --json stdout carries exactly one JSON document.
 */
#ifndef PRECIS_CLI_CLI_H
#define PRECIS_CLI_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>

#include "precis/precis.h"

enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_SERVER = 1,
  CLI_EXIT_USAGE = 2,
  CLI_EXIT_CONN = 3,
  CLI_EXIT_INPUT = 4
};

typedef struct cli {
  const char *host;
  uint16_t port;
  const char *token_file;
  int timeout_ms;
  int json;
  const char *cmd;   /* command name for messages, e.g. "ingest" */
  precis_conn *conn; /* after cli_connect() */
} cli;

/* Connect with the global flags. Returns 0 or an exit code (reported). */
int cli_connect(cli *c);

/* Report a failed libprecis call ("precis: CMD: NOT_FOUND: msg") and map
 * its status to an exit code (3 for CONNECTION/TIMEOUT, else 1). */
int cli_fail(cli *c, int status, const precis_error *err);

/* Print "precis: CMD: message" + a hint to run --help; returns 2. */
int cli_usage(cli *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Print "precis: CMD: message"; returns `code`. */
int cli_error(cli *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Strict number parsers: whole string, range-checked. 0 ok, -1 bad. */
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_u32(const char *s, uint32_t max, uint32_t *out);
int cli_parse_float(const char *s, float *out);

/* getopt_long over argv[0..argc) (argv[0] = command word) with GNU
 * permutation and quiet errors. Returns getopt_long's value; on an unknown
 * option or a missing argument prints a usage error and returns -2. */
int cli_getopt(cli *c, int argc, char **argv, const char *shortopts, const struct option *longopts);
/* Positional arguments left after the getopt loop. */
int cli_npos(int argc);
char **cli_pos(char **argv);

/* Print a JSON document to stdout (newline-terminated) and release it. */
void cli_json_out(json_t *doc);
/* A metadata string as JSON (the parsed object, or the raw string). New
 * reference. */
json_t *cli_json_meta(const char *meta);
json_t *cli_json_info(const precis_collection_info *info);
const char *cli_metric_name(precis_metric m);

/* Commands: argv[0] is the command word. Return an exit code. */
int cmd_collection(cli *c, int argc, char **argv);
int cmd_ingest(cli *c, int argc, char **argv);
int cmd_query(cli *c, int argc, char **argv);
int cmd_link(cli *c, int argc, char **argv);
int cmd_get(cli *c, int argc, char **argv);
int cmd_delete(cli *c, int argc, char **argv);
int cmd_graph(cli *c, int argc, char **argv);
int cmd_snapshot(cli *c, int argc, char **argv);
int cmd_snapshots(cli *c, int argc, char **argv);
int cmd_snapshot_delete(cli *c, int argc, char **argv);
int cmd_stats(cli *c, int argc, char **argv);
int cmd_index(cli *c, int argc, char **argv);
int cmd_points(cli *c, int argc, char **argv);
int cmd_health(cli *c, int argc, char **argv);

#endif /* PRECIS_CLI_CLI_H */
