/*
 * cmd_collection.c: `precis collection create|list|describe|drop`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: precis collection create NAME --dim N [--metric cosine|ip|l2]\n"
    "                         [--index SPEC] [--knn-k K]\n"
    "                         [--ef-construction N] [--ef-search N] "
    "[--nprobe N]\n"
    "       precis collection list\n"
    "       precis collection describe NAME\n"
    "       precis collection drop NAME\n";

static void print_info(const precis_collection_info *i) {
  printf("%s\n", i->name);
  printf("  dim          %u\n", i->dim);
  printf("  metric       %s\n", cli_metric_name(i->metric));
  printf("  index        %s\n", i->index_spec[0] ? i->index_spec : "(default)");
  printf("  knn_k        %u\n", i->knn_k);
  printf("  count        %llu\n", (unsigned long long)i->count);
  printf("  ann_total    %llu\n", (unsigned long long)i->ann_total);
  printf("  tombstones   %llu\n", (unsigned long long)i->tombstones);
  printf("  knn_edges    %llu\n", (unsigned long long)i->knn_edges);
  printf("  links        %llu\n", (unsigned long long)i->links);
  printf("  disk_bytes   %llu\n", (unsigned long long)i->disk_bytes);
  printf("  seq          %llu (index at %llu)\n", (unsigned long long)i->seq,
         (unsigned long long)i->index_seq);
}

static int do_create(cli *c, int argc, char **argv) {
  static const struct option lo[] = {{"dim", required_argument, NULL, 'd'},
                                     {"metric", required_argument, NULL, 'm'},
                                     {"index", required_argument, NULL, 'i'},
                                     {"knn-k", required_argument, NULL, 'k'},
                                     {"ef-construction", required_argument, NULL, 'E'},
                                     {"ef-search", required_argument, NULL, 'e'},
                                     {"nprobe", required_argument, NULL, 'n'},
                                     {"help", no_argument, NULL, 'h'},
                                     {0, 0, 0, 0}};
  precis_collection_config cfg;
  precis_collection_config_init(&cfg, 0);
  int o;
  while ((o = cli_getopt(c, argc, argv, "d:m:i:k:h", lo)) != -1) {
    switch (o) {
      case 'd':
        if (cli_parse_u32(optarg, PRECIS_MAX_DIM, &cfg.dim) < 0 || !cfg.dim)
          return cli_usage(c, "--dim must be 1..%d", PRECIS_MAX_DIM);
        break;
      case 'm':
        if (!strcmp(optarg, "cosine"))
          cfg.metric = PRECIS_METRIC_COSINE;
        else if (!strcmp(optarg, "ip"))
          cfg.metric = PRECIS_METRIC_IP;
        else if (!strcmp(optarg, "l2"))
          cfg.metric = PRECIS_METRIC_L2;
        else
          return cli_usage(c, "--metric must be cosine, ip or l2");
        break;
      case 'i':
        if (strlen(optarg) > PRECIS_MAX_INDEX_SPEC_LEN)
          return cli_usage(c, "--index longer than %d", PRECIS_MAX_INDEX_SPEC_LEN);
        cfg.index_spec = optarg;
        break;
      case 'k':
        if (cli_parse_u32(optarg, PRECIS_MAX_KNN_K, &cfg.knn_k) < 0)
          return cli_usage(c, "--knn-k must be 0..%d", PRECIS_MAX_KNN_K);
        break;
      case 'E':
        if (cli_parse_u32(optarg, 1u << 20, &cfg.hnsw_ef_construction) < 0)
          return cli_usage(c, "bad --ef-construction");
        break;
      case 'e':
        if (cli_parse_u32(optarg, 1u << 20, &cfg.hnsw_ef_search) < 0)
          return cli_usage(c, "bad --ef-search");
        break;
      case 'n':
        if (cli_parse_u32(optarg, 1u << 20, &cfg.ivf_nprobe) < 0)
          return cli_usage(c, "bad --nprobe");
        break;
      case 'h':
        fputs(usage, stdout);
        return 0;
      default:
        return CLI_EXIT_USAGE;
    }
  }
  if (cli_npos(argc) != 1) return cli_usage(c, "collection create takes one NAME");
  if (!cfg.dim) return cli_usage(c, "--dim is required");
  const char *name = cli_pos(argv)[0];
  int rc = cli_connect(c);
  if (rc) return rc;
  precis_collection_info info;
  precis_error err;
  rc = precis_collection_create(c->conn, name, &cfg, &info, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json)
    cli_json_out(cli_json_info(&info));
  else
    printf("created collection %s (dim %u, %s)\n", info.name, info.dim,
           cli_metric_name(info.metric));
  return 0;
}

/* list / describe / drop: only --help as option. */
static int simple_args(cli *c, int argc, char **argv, int want) {
  static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
  int o;
  while ((o = cli_getopt(c, argc, argv, "h", lo)) != -1) {
    if (o == 'h') {
      fputs(usage, stdout);
      return -1;
    }
    return CLI_EXIT_USAGE;
  }
  if (cli_npos(argc) != want)
    return cli_usage(c, "collection %s takes %s", argv[0], want ? "one NAME" : "no arguments");
  return 0;
}

int cmd_collection(cli *c, int argc, char **argv) {
  optind = 0;
  if (argc < 2) return cli_usage(c, "missing subcommand (create, list, describe, drop)");
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
    fputs(usage, stdout);
    return 0;
  }
  argc--;
  argv++;
  if (!strcmp(sub, "create")) return do_create(c, argc, argv);
  int want;
  if (!strcmp(sub, "list"))
    want = 0;
  else if (!strcmp(sub, "describe") || !strcmp(sub, "drop"))
    want = 1;
  else
    return cli_usage(c, "unknown subcommand '%s'", sub);
  int rc = simple_args(c, argc, argv, want);
  if (rc) return rc < 0 ? 0 : rc;
  if ((rc = cli_connect(c))) return rc;
  precis_error err;
  if (!strcmp(sub, "list")) {
    precis_collection_info *infos;
    size_t n;
    rc = precis_collection_list(c->conn, &infos, &n, &err);
    if (rc) return cli_fail(c, rc, &err);
    if (c->json) {
      json_t *arr = json_array();
      for (size_t i = 0; i < n; i++) json_array_append_new(arr, cli_json_info(&infos[i]));
      cli_json_out(arr);
    } else {
      printf("%-32s %6s %-7s %12s %10s\n", "NAME", "DIM", "METRIC", "COUNT", "LINKS");
      for (size_t i = 0; i < n; i++)
        printf("%-32s %6u %-7s %12llu %10llu\n", infos[i].name, infos[i].dim,
               cli_metric_name(infos[i].metric), (unsigned long long)infos[i].count,
               (unsigned long long)infos[i].links);
    }
    precis_collection_infos_free(infos);
    return 0;
  }
  const char *name = cli_pos(argv)[0];
  if (!strcmp(sub, "describe")) {
    precis_collection_info info;
    rc = precis_collection_describe(c->conn, name, &info, &err);
    if (rc) return cli_fail(c, rc, &err);
    if (c->json)
      cli_json_out(cli_json_info(&info));
    else
      print_info(&info);
    return 0;
  }
  rc = precis_collection_drop(c->conn, name, &err);
  if (rc) return cli_fail(c, rc, &err);
  if (c->json)
    cli_json_out(json_pack("{s:s, s:b}", "dropped", name, "ok", 1));
  else
    printf("dropped collection %s\n", name);
  return 0;
}
