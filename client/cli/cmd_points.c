/*
 * cmd_points.c: `precis count | scroll | delete-where | set-payload`: the
 * operations over the points a --filter selects, and metadata updates
 * without vectors.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: precis count COLLECTION [--filter JSON]\n"
    "       precis scroll COLLECTION [--filter JSON] [--cursor ID] [--limit N]\n"
    "                     [--vectors]   (one page; --json prints next_cursor)\n"
    "       precis delete-where COLLECTION --filter JSON\n"
    "       precis set-payload COLLECTION --ids ID,ID,... --metadata JSON [--replace]\n"
    "  --filter    the JSON form of docs/PROTOCOL.md \"Filter\"\n"
    "  --replace   replace the metadata (default: merge its top-level keys)\n";

enum { O_FILTER = 256, O_CURSOR, O_LIMIT, O_VECTORS, O_IDS, O_META, O_REPLACE };

/* "1,2,3" -> malloc'd ids */
static int parse_ids(cli *c, const char *s, uint64_t **out, size_t *n) {
  size_t cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ',';
  uint64_t *ids = calloc(cap, sizeof *ids);
  char *dup = strdup(s);
  if (!ids || !dup) {
    free(ids);
    free(dup);
    return cli_error(c, CLI_EXIT_SERVER, "out of memory");
  }
  size_t m = 0;
  for (char *tok = strtok(dup, ","); tok; tok = strtok(NULL, ","))
    if (cli_parse_u64(tok, &ids[m++]) < 0) {
      int rc = cli_usage(c, "bad id '%s' in --ids", tok);
      free(ids);
      free(dup);
      return rc;
    }
  free(dup);
  *out = ids;
  *n = m;
  return 0;
}

static void print_points(cli *c, const precis_points *p, uint64_t next, int more) {
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < p->n; i++)
      json_array_append_new(
          arr, json_pack("{s:I, s:s, s:o}", "id", (json_int_t)p->points[i].id, "text",
                         p->points[i].text, "metadata", cli_json_meta(p->points[i].metadata)));
    cli_json_out(
        json_pack("{s:o, s:I, s:b}", "points", arr, "next_cursor", (json_int_t)next, "more", more));
    return;
  }
  for (size_t i = 0; i < p->n; i++)
    printf("%llu\t%s\n", (unsigned long long)p->points[i].id, p->points[i].metadata);
  printf("# next cursor %llu%s\n", (unsigned long long)next, more ? "" : " (end)");
}

int cmd_points(cli *c, int argc, char **argv) {
  static const struct option lo[] = {{"filter", required_argument, NULL, O_FILTER},
                                     {"cursor", required_argument, NULL, O_CURSOR},
                                     {"limit", required_argument, NULL, O_LIMIT},
                                     {"vectors", no_argument, NULL, O_VECTORS},
                                     {"ids", required_argument, NULL, O_IDS},
                                     {"metadata", required_argument, NULL, O_META},
                                     {"replace", no_argument, NULL, O_REPLACE},
                                     {"help", no_argument, NULL, 'h'},
                                     {0, 0, 0, 0}};
  const char *op = argv[0], *ftext = NULL, *ids_text = NULL, *meta = NULL;
  uint64_t cursor = 0;
  uint32_t limit = 100;
  int vectors = 0, replace = 0, o;
  optind = 0;
  while ((o = cli_getopt(c, argc, argv, "h", lo)) != -1) {
    switch (o) {
      case O_FILTER:
        ftext = optarg;
        break;
      case O_CURSOR:
        if (cli_parse_u64(optarg, &cursor) < 0) return cli_usage(c, "bad --cursor");
        break;
      case O_LIMIT:
        if (cli_parse_u32(optarg, PRECIS_MAX_SCROLL_LIMIT, &limit) < 0 || !limit)
          return cli_usage(c, "--limit must be 1..%d", PRECIS_MAX_SCROLL_LIMIT);
        break;
      case O_VECTORS:
        vectors = 1;
        break;
      case O_IDS:
        ids_text = optarg;
        break;
      case O_META:
        meta = optarg;
        break;
      case O_REPLACE:
        replace = 1;
        break;
      case 'h':
        fputs(usage, stdout);
        return 0;
      default:
        return CLI_EXIT_USAGE;
    }
  }
  if (cli_npos(argc) != 1) return cli_usage(c, "%s takes one COLLECTION", op);
  const char *coll = cli_pos(argv)[0];
  bool set = !strcmp(op, "set-payload"), del = !strcmp(op, "delete-where");
  if (del && !ftext) return cli_usage(c, "delete-where needs --filter");
  if (set && (!ids_text || !meta)) return cli_usage(c, "set-payload needs --ids and --metadata");
  precis_filter *f = NULL;
  uint64_t *ids = NULL;
  size_t nids = 0;
  precis_error err;
  int rc = 0;
  if (ftext && precis_filter_parse(ftext, &f, &err)) return cli_usage(c, "--filter: %s", err.msg);
  if (ids_text && (rc = parse_ids(c, ids_text, &ids, &nids))) goto out;
  if ((rc = cli_connect(c))) goto out;
  uint64_t n = 0;
  if (!strcmp(op, "count")) {
    if ((rc = precis_count(c->conn, coll, f, &n, &err))) goto fail;
    if (c->json)
      cli_json_out(json_pack("{s:I}", "count", (json_int_t)n));
    else
      printf("%llu\n", (unsigned long long)n);
  } else if (!strcmp(op, "scroll")) {
    precis_points *p;
    uint64_t next;
    int more;
    if ((rc = precis_scroll(c->conn, coll, f, cursor, limit, vectors, &p, &next, &more, &err)))
      goto fail;
    print_points(c, p, next, more);
    precis_points_free(p);
  } else if (del) {
    if ((rc = precis_delete_by_filter(c->conn, coll, f, &n, &err))) goto fail;
    if (c->json)
      cli_json_out(json_pack("{s:I}", "deleted", (json_int_t)n));
    else
      printf("deleted %llu points\n", (unsigned long long)n);
  } else {
    if ((rc = precis_set_payload(c->conn, coll, ids, nids, meta, !replace, &n, &err))) goto fail;
    if (c->json)
      cli_json_out(json_pack("{s:I}", "updated", (json_int_t)n));
    else
      printf("updated %llu points\n", (unsigned long long)n);
  }
  goto out;
fail:
  rc = cli_fail(c, rc, &err);
out:
  precis_filter_free(f);
  free(ids);
  return rc;
}
