/*
 * cmd_index.c: `precis index create|drop|list` (payload indexes).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: precis index create COLLECTION KEY keyword|integer|float|bool|datetime\n"
    "       precis index drop COLLECTION KEY\n"
    "       precis index list COLLECTION\n"
    "  A payload index on the metadata KEY (dotted path) is built in the\n"
    "  background and used by --filter once ready.\n";

static const char *const type_names[] = {"keyword", "integer", "float", "bool", "datetime"};

int cmd_index(cli *c, int argc, char **argv) {
  static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  optind = 0;
  int o;
  while ((o = cli_getopt(c, argc, argv, "h", lo)) != -1) {
    if (o == 'h') {
      fputs(usage, stdout);
      return 0;
    }
    return CLI_EXIT_USAGE;
  }
  int npos = cli_npos(argc);
  char **pos = cli_pos(argv);
  if (npos < 1) return cli_usage(c, "missing subcommand (create, drop, list)");
  const char *sub = pos[0];
  int want = !strcmp(sub, "create") ? 4 : !strcmp(sub, "drop") ? 3 : !strcmp(sub, "list") ? 2 : -1;
  if (want < 0) return cli_usage(c, "unknown subcommand '%s'", sub);
  if (npos != want) return cli_usage(c, "index %s takes %d arguments", sub, want - 1);
  int type = -1;
  if (want == 4) {
    for (int t = 0; t < 5; t++)
      if (!strcmp(pos[3], type_names[t])) type = t;
    if (type < 0)
      return cli_usage(c, "index type must be keyword, integer, float, bool or datetime");
  }
  int rc = cli_connect(c);
  if (rc) return rc;
  precis_error err;
  if (want == 4)
    rc = precis_payload_index_create(c->conn, pos[1], pos[2], (precis_pindex_type)type, &err);
  else if (want == 3)
    rc = precis_payload_index_drop(c->conn, pos[1], pos[2], &err);
  if (rc) return cli_fail(c, rc, &err);
  if (want != 2) {
    if (c->json)
      cli_json_out(json_pack("{s:s, s:s, s:b}", want == 4 ? "created" : "dropped", pos[2],
                             "collection", pos[1], "ok", 1));
    else
      printf("%s payload index on %s\n", want == 4 ? "declared" : "dropped", pos[2]);
    return 0;
  }
  precis_pindex_info *inf;
  size_t n;
  if ((rc = precis_payload_index_list(c->conn, pos[1], &inf, &n, &err)))
    return cli_fail(c, rc, &err);
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:b, s:b, s:I, s:I}", "key", inf[i].key, "type",
                         type_names[inf[i].type % 5], "ready", inf[i].ready, "in_memory",
                         inf[i].in_memory, "memory_bytes", (json_int_t)inf[i].memory_bytes,
                         "values", (json_int_t)inf[i].values));
    cli_json_out(arr);
  } else {
    printf("%-40s %-9s %-9s %10s %12s\n", "KEY", "TYPE", "STATE", "VALUES", "MEMORY");
    for (size_t i = 0; i < n; i++) {
      char mem[32] = "on disk";
      if (inf[i].in_memory)
        snprintf(mem, sizeof mem, "%.1f KiB", (double)inf[i].memory_bytes / 1024);
      printf("%-40s %-9s %-9s %10llu %12s\n", inf[i].key, type_names[inf[i].type % 5],
             inf[i].ready ? "ready" : "building", (unsigned long long)inf[i].values, mem);
    }
  }
  free(inf);
  return 0;
}
