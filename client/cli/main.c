/*
 * main.c: entry point of the `precis` admin CLI: global flags (accepted
 * anywhere on the command line), command dispatch, exit codes (cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: precis [global flags] COMMAND [args] [--help]\n"
    "\n"
    "Global flags (accepted anywhere):\n"
    "  --host HOST        server address (default 127.0.0.1)\n"
    "  --port PORT        server port (default 7878)\n"
    "  --token-file FILE  authenticate with the token in FILE\n"
    "  --timeout SECONDS  per-request timeout (default 60, none for ingest,\n"
    "                     graph and snapshot; 0 = none)\n"
    "  --json             machine-readable output on stdout\n"
    "\n"
    "Commands:\n"
    "  collection create|list|describe|drop   manage collections\n"
    "  ingest COLLECTION FILE                 load .fvecs/.npy/.jsonl\n"
    "  query COLLECTION ...                   retrieve / compare / search\n"
    "  link add|remove|list                   knowledge links\n"
    "  get COLLECTION ID...                   fetch points\n"
    "  delete COLLECTION ID...                delete points\n"
    "  graph rebuild COLLECTION               recompute the kNN graph\n"
    "  snapshot NAME                          snapshot the data directory\n"
    "  snapshots | snapshot-delete NAME       list / delete snapshots\n"
    "  stats | health                         server state\n"
    "  index create|drop|list COLLECTION ...  payload indexes (for --filter)\n"
    "  count | scroll | delete-where COLLECTION [--filter JSON]\n"
    "  set-payload COLLECTION --ids .. --metadata JSON  metadata without vectors\n"
    "\n"
    "Exit codes: 0 ok, 1 server error, 2 usage error, 3 connection error,\n"
    "4 bad input data.\n";

typedef struct {
  const char *name;
  int (*fn)(cli *c, int argc, char **argv);
} command;

static const command commands[] = {
    {"collection", cmd_collection},
    {"ingest", cmd_ingest},
    {"query", cmd_query},
    {"link", cmd_link},
    {"get", cmd_get},
    {"delete", cmd_delete},
    {"graph", cmd_graph},
    {"snapshot", cmd_snapshot},
    {"stats", cmd_stats},
    {"health", cmd_health},
    {"snapshots", cmd_snapshots},
    {"snapshot-delete", cmd_snapshot_delete},
    {"index", cmd_index},
    {"count", cmd_points},
    {"scroll", cmd_points},
    {"delete-where", cmd_points},
    {"set-payload", cmd_points},
};

/* Remove the global flags from argv (anywhere before "--"). Returns 0 or
 * an exit code. */
static int take_globals(cli *c, int *argc, char **argv) {
  int out = 1;
  int i = 1;
  for (; i < *argc; i++) {
    char *a = argv[i];
    if (!strcmp(a, "--")) {
      break;
    }
    static const char *const with_value[] = {"--host", "--port", "--token-file", "--timeout"};
    const char *val = NULL;
    int which = -1;
    for (int k = 0; k < 4; k++) {
      size_t n = strlen(with_value[k]);
      if (!strncmp(a, with_value[k], n) && (a[n] == '\0' || a[n] == '=')) {
        which = k;
        if (a[n] == '=')
          val = a + n + 1;
        else if (i + 1 < *argc)
          val = argv[++i];
        else
          return cli_usage(c, "option %s needs a value", a);
        break;
      }
    }
    if (which < 0 && !strcmp(a, "--json")) {
      c->json = 1;
      continue;
    }
    if (which < 0) {
      argv[out++] = a;
      continue;
    }
    if (which == 0) {
      c->host = val;
    } else if (which == 1) {
      uint32_t p;
      if (cli_parse_u32(val, 65535, &p) < 0 || p == 0) return cli_usage(c, "bad --port '%s'", val);
      c->port = (uint16_t)p;
    } else if (which == 2) {
      c->token_file = val;
    } else {
      float s;
      if (cli_parse_float(val, &s) < 0 || s < 0 || s > 86400 * 7)
        return cli_usage(c, "bad --timeout '%s' (seconds)", val);
      c->timeout_ms = s > 0 && s * 1000 < 1 ? 1 : (int)(s * 1000);
    }
  }
  for (; i < *argc; i++) argv[out++] = argv[i];
  argv[out] = NULL;
  *argc = out;
  return 0;
}

int main(int argc, char **argv) {
  cli c = {.host = "127.0.0.1", .port = PRECIS_DEFAULT_PORT, .timeout_ms = -1};
  int rc = take_globals(&c, &argc, argv);
  if (rc) return rc;
  /* default: 60 s, but none for the long-running bulk operations */
  if (c.timeout_ms < 0)
    c.timeout_ms = argc > 1 && (!strcmp(argv[1], "ingest") || !strcmp(argv[1], "graph") ||
                                !strcmp(argv[1], "snapshot"))
                       ? 0
                       : 60000;
  if (argc < 2) {
    fputs(usage_text, stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
    fputs(usage_text, stdout);
    return CLI_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (!strcmp(name, commands[i].name)) {
      c.cmd = commands[i].name;
      rc = commands[i].fn(&c, argc - 1, argv + 1);
      precis_close(c.conn);
      fflush(stdout);
      return rc;
    }
  }
  fprintf(stderr, "precis: unknown command '%s'\n\n%s", name, usage_text);
  return CLI_EXIT_USAGE;
}
