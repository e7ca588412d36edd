/*
 * cmd_admin.c: the small commands of the precis CLI: link add|remove|list,
 * get, delete, graph rebuild, snapshot, stats, health.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* Scan options that are only --help; returns 0 to go on, -1 after help,
 * or an exit code. */
static int only_help(cli *c, int argc, char **argv, const char *usage) {
  static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(c, argc, argv, "h", lo)) != -1) {
    if (o == 'h') {
      fputs(usage, stdout);
      return -1;
    }
    return CLI_EXIT_USAGE;
  }
  return 0;
}

static int parse_ids(cli *c, int n, char **s, uint64_t **out) {
  uint64_t *ids = calloc((size_t)n, sizeof *ids);
  if (!ids) return cli_error(c, CLI_EXIT_SERVER, "out of memory");
  for (int i = 0; i < n; i++)
    if (cli_parse_u64(s[i], &ids[i]) < 0) {
      free(ids);
      return cli_usage(c, "bad id '%s' (need an integer >= 0)", s[i]);
    }
  *out = ids;
  return 0;
}

/* ---- link ---- */

static const char link_usage[] =
    "usage: precis link add COLLECTION SRC DST --kind K [--weight W]\n"
    "       precis link remove COLLECTION SRC DST --kind K\n"
    "       precis link list COLLECTION ID [--kind K] [--in|--out] [--knn]\n"
    "  list shows knowledge links in both directions by default; --knn adds\n"
    "  the kNN-graph edges.\n";

int cmd_link(cli *c, int argc, char **argv) {
  if (argc < 2) return cli_usage(c, "missing subcommand (add, remove, list)");
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
    fputs(link_usage, stdout);
    return 0;
  }
  int list = !strcmp(sub, "list");
  if (!list && strcmp(sub, "add") && strcmp(sub, "remove"))
    return cli_usage(c, "unknown subcommand '%s'", sub);
  argc--;
  argv++;
  static const struct option lo[] = {{"kind", required_argument, NULL, 'k'},
                                     {"weight", required_argument, NULL, 'w'},
                                     {"in", no_argument, NULL, 'I'},
                                     {"out", no_argument, NULL, 'O'},
                                     {"knn", no_argument, NULL, 'K'},
                                     {"help", no_argument, NULL, 'h'},
                                     {0, 0, 0, 0}};
  const char *kind = NULL;
  float weight = 1.0f;
  unsigned flags = PRECIS_EDGES_LINKS;
  int o;
  optind = 0;
  while ((o = cli_getopt(c, argc, argv, "k:w:h", lo)) != -1) {
    switch (o) {
      case 'k':
        if (!*optarg || strlen(optarg) > PRECIS_MAX_LINK_KIND_LEN)
          return cli_usage(c, "--kind must be 1..%d bytes", PRECIS_MAX_LINK_KIND_LEN);
        kind = optarg;
        break;
      case 'w':
        if (cli_parse_float(optarg, &weight) < 0) return cli_usage(c, "bad --weight '%s'", optarg);
        break;
      case 'I':
        flags |= PRECIS_EDGES_IN;
        break;
      case 'O':
        flags |= PRECIS_EDGES_OUT;
        break;
      case 'K':
        flags |= PRECIS_EDGES_KNN;
        break;
      case 'h':
        fputs(link_usage, stdout);
        return 0;
      default:
        return CLI_EXIT_USAGE;
    }
  }
  char **pos = cli_pos(argv);
  int npos = cli_npos(argc);
  uint64_t a = 0, b = 0;
  if (list) {
    if (npos != 2 || cli_parse_u64(pos[1], &a) < 0)
      return cli_usage(c, "link list takes COLLECTION ID");
  } else {
    if (npos != 3 || cli_parse_u64(pos[1], &a) < 0 || cli_parse_u64(pos[2], &b) < 0)
      return cli_usage(c, "link %s takes COLLECTION SRC DST", sub);
    if (!kind) return cli_usage(c, "--kind is required");
  }
  int rc = cli_connect(c);
  if (rc) return rc;
  precis_error err;
  if (list) {
    precis_edge *edges;
    size_t n;
    rc = precis_edges_list(c->conn, pos[0], a, flags, kind, &edges, &n, &err);
    if (rc) return cli_fail(c, rc, &err);
    if (c->json) {
      json_t *arr = json_array();
      for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:I, s:I, s:s, s:f}", "src", (json_int_t)edges[i].src, "dst",
                           (json_int_t)edges[i].dst, "kind", edges[i].kind, "weight",
                           (double)edges[i].weight));
      cli_json_out(arr);
    } else {
      for (size_t i = 0; i < n; i++)
        printf("%llu -> %llu  %-16s %.4g\n", (unsigned long long)edges[i].src,
               (unsigned long long)edges[i].dst, edges[i].kind, edges[i].weight);
      if (n == 0) printf("(no edges)\n");
    }
    precis_edges_free(edges);
    return 0;
  }
  precis_edge e;
  precis_edge_set(&e, a, b, kind, weight);
  uint64_t changed = 0;
  rc = !strcmp(sub, "add") ? precis_link_add(c->conn, pos[0], &e, 1, &changed, &err)
                           : precis_link_remove(c->conn, pos[0], &e, 1, &changed, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json)
    cli_json_out(json_pack("{s:I}", "changed", (json_int_t)changed));
  else
    printf("%s: %llu link%s changed\n", sub, (unsigned long long)changed, changed == 1 ? "" : "s");
  return 0;
}

/* ---- get / delete ---- */

static const char get_usage[] = "usage: precis get COLLECTION ID... [--vectors]\n";

int cmd_get(cli *c, int argc, char **argv) {
  static const struct option lo[] = {
      {"vectors", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  int vectors = 0, o;
  optind = 0;
  while ((o = cli_getopt(c, argc, argv, "h", lo)) != -1) {
    if (o == 'v')
      vectors = 1;
    else if (o == 'h') {
      fputs(get_usage, stdout);
      return 0;
    } else
      return CLI_EXIT_USAGE;
  }
  int npos = cli_npos(argc);
  char **pos = cli_pos(argv);
  if (npos < 2) return cli_usage(c, "get takes COLLECTION ID...");
  uint64_t *ids;
  int rc = parse_ids(c, npos - 1, pos + 1, &ids);
  if (rc) return rc;
  if ((rc = cli_connect(c))) {
    free(ids);
    return rc;
  }
  precis_points *pts;
  precis_error err;
  rc = precis_get(c->conn, pos[0], ids, (size_t)npos - 1, vectors, &pts, &err);
  free(ids);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < pts->n; i++) {
      const precis_stored_point *p = &pts->points[i];
      json_t *o2 =
          json_pack("{s:I, s:s, s:o, s:I}", "id", (json_int_t)p->id, "text", p->text, "metadata",
                    cli_json_meta(p->metadata), "tokens", (json_int_t)p->tokens);
      if (p->vector) {
        json_t *v = json_array();
        for (uint32_t j = 0; j < p->dim; j++) json_array_append_new(v, json_real(p->vector[j]));
        json_object_set_new(o2, "vector", v);
      }
      json_array_append_new(arr, o2);
    }
    json_t *miss = json_array();
    for (size_t i = 0; i < pts->n_missing; i++)
      json_array_append_new(miss, json_integer((json_int_t)pts->missing[i]));
    cli_json_out(json_pack("{s:o, s:o}", "points", arr, "missing", miss));
  } else {
    for (size_t i = 0; i < pts->n; i++) {
      const precis_stored_point *p = &pts->points[i];
      printf("id %llu  tokens %lld\n", (unsigned long long)p->id, (long long)p->tokens);
      if (p->text[0]) printf("  text: %s\n", p->text);
      printf("  metadata: %s\n", p->metadata);
      if (p->vector) {
        printf("  vector (%u):", p->dim);
        for (uint32_t j = 0; j < p->dim; j++) printf("%s%g", j ? "," : " ", p->vector[j]);
        printf("\n");
      }
    }
    for (size_t i = 0; i < pts->n_missing; i++)
      printf("id %llu  (missing)\n", (unsigned long long)pts->missing[i]);
  }
  precis_points_free(pts);
  return 0;
}

static const char delete_usage[] = "usage: precis delete COLLECTION ID...\n";

int cmd_delete(cli *c, int argc, char **argv) {
  int rc = only_help(c, argc, argv, delete_usage);
  if (rc) return rc < 0 ? 0 : rc;
  int npos = cli_npos(argc);
  char **pos = cli_pos(argv);
  if (npos < 2) return cli_usage(c, "delete takes COLLECTION ID...");
  uint64_t *ids;
  if ((rc = parse_ids(c, npos - 1, pos + 1, &ids))) return rc;
  if ((rc = cli_connect(c))) {
    free(ids);
    return rc;
  }
  uint64_t deleted = 0;
  precis_error err;
  rc = precis_delete(c->conn, pos[0], ids, (size_t)npos - 1, &deleted, &err);
  free(ids);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json)
    cli_json_out(json_pack("{s:I}", "deleted", (json_int_t)deleted));
  else
    printf("deleted %llu point%s\n", (unsigned long long)deleted, deleted == 1 ? "" : "s");
  return 0;
}

/* ---- graph rebuild ---- */

static const char graph_usage[] = "usage: precis graph rebuild COLLECTION\n";

int cmd_graph(cli *c, int argc, char **argv) {
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(graph_usage, stdout);
    return 0;
  }
  if (argc < 2 || strcmp(argv[1], "rebuild"))
    return cli_usage(c, "the only subcommand is 'rebuild'");
  argc--;
  argv++;
  static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(c, argc, argv, "h", lo)) != -1) {
    if (o == 'h') {
      fputs(graph_usage, stdout);
      return 0;
    } else
      return CLI_EXIT_USAGE;
  }
  if (cli_npos(argc) != 1) return cli_usage(c, "graph rebuild takes one COLLECTION");
  const char *coll = cli_pos(argv)[0];
  int rc = cli_connect(c);
  if (rc) return rc;
  precis_error err;
  rc = precis_graph_rebuild(c->conn, coll, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json)
    cli_json_out(json_pack("{s:s, s:b}", "rebuilt", coll, "ok", 1));
  else
    printf("rebuilt the kNN graph of %s\n", coll);
  return 0;
}

/* ---- snapshot, stats, health ---- */

static const char snapshot_usage[] = "usage: precis snapshot NAME\n";

int cmd_snapshot(cli *c, int argc, char **argv) {
  int rc = only_help(c, argc, argv, snapshot_usage);
  if (rc) return rc < 0 ? 0 : rc;
  if (cli_npos(argc) != 1) return cli_usage(c, "snapshot takes one NAME");
  const char *name = cli_pos(argv)[0];
  if ((rc = cli_connect(c))) return rc;
  precis_error err;
  rc = precis_snapshot(c->conn, name, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json)
    cli_json_out(json_pack("{s:s, s:b}", "snapshot", name, "ok", 1));
  else
    printf("snapshot %s written\n", name);
  return 0;
}

static const char snapshots_usage[] =
    "usage: precis snapshots\n"
    "List the server's snapshots (name, size, creation time, path).\n";

int cmd_snapshots(cli *c, int argc, char **argv) {
  int rc = only_help(c, argc, argv, snapshots_usage);
  if (rc) return rc < 0 ? 0 : rc;
  if (cli_npos(argc) != 0) return cli_usage(c, "snapshots takes no arguments");
  if ((rc = cli_connect(c))) return rc;
  precis_error err;
  precis_snapshot_info *v;
  size_t n;
  rc = precis_snapshot_list(c->conn, &v, &n, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "name", v[i].name, "path",
                                           v[i].path, "bytes", (json_int_t)v[i].bytes,
                                           "created_unix_s", (json_int_t)v[i].created_unix_s));
    cli_json_out(json_pack("{s:o}", "snapshots", arr));
  } else {
    for (size_t i = 0; i < n; i++) {
      char when[32] = "?";
      time_t t = (time_t)v[i].created_unix_s;
      struct tm tm;
      if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
      printf("%-24s %12llu bytes  %s  %s\n", v[i].name, (unsigned long long)v[i].bytes, when,
             v[i].path);
    }
  }
  free(v);
  return 0;
}

static const char snapshot_delete_usage[] = "usage: precis snapshot-delete NAME\n";

int cmd_snapshot_delete(cli *c, int argc, char **argv) {
  int rc = only_help(c, argc, argv, snapshot_delete_usage);
  if (rc) return rc < 0 ? 0 : rc;
  if (cli_npos(argc) != 1) return cli_usage(c, "snapshot-delete takes one NAME");
  const char *name = cli_pos(argv)[0];
  if ((rc = cli_connect(c))) return rc;
  precis_error err;
  rc = precis_snapshot_delete(c->conn, name, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json)
    cli_json_out(json_pack("{s:s, s:b}", "deleted", name, "ok", 1));
  else
    printf("snapshot %s deleted\n", name);
  return 0;
}

static const char stats_usage[] = "usage: precis stats\n";

int cmd_stats(cli *c, int argc, char **argv) {
  int rc = only_help(c, argc, argv, stats_usage);
  if (rc) return rc < 0 ? 0 : rc;
  if (cli_npos(argc) != 0) return cli_usage(c, "stats takes no arguments");
  if ((rc = cli_connect(c))) return rc;
  precis_stats s;
  precis_error err;
  rc = precis_stats_get(c->conn, &s, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json) {
    cli_json_out(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "connections",
                           (json_int_t)s.connections, "requests", (json_int_t)s.requests, "errors",
                           (json_int_t)s.errors, "inflight", (json_int_t)s.inflight, "rss_bytes",
                           (json_int_t)s.rss_bytes, "workers", (json_int_t)s.workers, "uptime_s",
                           (json_int_t)s.uptime_s, "bytes_in", (json_int_t)s.bytes_in, "bytes_out",
                           (json_int_t)s.bytes_out));
  } else {
    printf(
        "connections %llu\nrequests    %llu\nerrors      %llu\n"
        "inflight    %llu\nrss_bytes   %llu\nworkers     %u\n"
        "uptime_s    %llu\nbytes_in    %llu\nbytes_out   %llu\n",
        (unsigned long long)s.connections, (unsigned long long)s.requests,
        (unsigned long long)s.errors, (unsigned long long)s.inflight,
        (unsigned long long)s.rss_bytes, s.workers, (unsigned long long)s.uptime_s,
        (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out);
  }
  return 0;
}

static const char health_usage[] = "usage: precis health\n";

int cmd_health(cli *c, int argc, char **argv) {
  int rc = only_help(c, argc, argv, health_usage);
  if (rc) return rc < 0 ? 0 : rc;
  if (cli_npos(argc) != 0) return cli_usage(c, "health takes no arguments");
  if ((rc = cli_connect(c))) return rc;
  precis_health h;
  precis_error err;
  rc = precis_health_check(c->conn, &h, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json)
    cli_json_out(json_pack("{s:s, s:s, s:I, s:s}", "status", "ok", "version", h.version, "uptime_s",
                           (json_int_t)h.uptime_s, "faiss", h.faiss));
  else
    printf("ok  version %s  uptime %llus  faiss %s\n", h.version, (unsigned long long)h.uptime_s,
           h.faiss);
  return 0;
}
