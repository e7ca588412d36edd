/* gen_seeds.c: writes the seed corpora of the fuzz targets into
 * fuzz/corpus/<target>/ (run by scripts/fuzz.sh --seeds; the output is
 * checked in). Valid inputs only: the fuzzer mutates from there.
 *   frame     2 control bytes + framed Requests (several per file)
 *   dispatch  one encoded Request per file, naming the harness's
 *             collections "c" (dim 4, ip) and "h" (dim 4, cosine)
 *   readers   1 control byte + a small .fvecs / .npy / .jsonl file
 *   payload   metadata JSON and encoded payload records */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frame.h"
#include "precis.pb-c.h"

static const char *root = "fuzz/corpus";

static void put(const char *target, const char *name, const void *a, size_t na, const void *b,
                size_t nb) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, target);
  mkdir(root, 0755);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  if (na) fwrite(a, 1, na, f);
  if (nb) fwrite(b, 1, nb, f);
  fclose(f);
}

static size_t pack(const Precis__V1__Request *r, uint8_t **out) {
  size_t n = protobuf_c_message_get_packed_size(&r->base);
  *out = malloc(n ? n : 1);
  protobuf_c_message_pack(&r->base, *out);
  return n;
}

static float V[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0.5f, 0.5f, 0, 0}, {-1, 2, 0.25f, 3}};

int main(int argc, char **argv) {
  if (argc > 1) root = argv[1];
  Precis__V1__Request reqs[24];
  int nr = 0;
  const char *names[24];

  /* create collection */
  static Precis__V1__CreateCollectionRequest cc = PRECIS__V1__CREATE_COLLECTION_REQUEST__INIT;
  static Precis__V1__CollectionConfig cfg = PRECIS__V1__COLLECTION_CONFIG__INIT;
  cfg.dim = 4;
  cfg.metric = PRECIS__V1__METRIC__METRIC_L2;
  cfg.index_spec = "Flat";
  cfg.knn_k = 4;
  cc.name = "n1";
  cc.config = &cfg;
  Precis__V1__Request r = PRECIS__V1__REQUEST__INIT;
  r.id = 1;
  r.op_case = PRECIS__V1__REQUEST__OP_CREATE_COLLECTION;
  r.create_collection = &cc;
  reqs[nr] = r;
  names[nr++] = "create";

  /* upsert 3 points into c */
  static Precis__V1__Point pts[3], *pp[3];
  for (int i = 0; i < 3; i++) {
    precis__v1__point__init(&pts[i]);
    pts[i].id = 100 + (uint64_t)i;
    pts[i].vector = V[i];
    pts[i].n_vector = 4;
    pts[i].text = i ? "some text" : "";
    pts[i].metadata = i == 1 ? "{\"a\":[1,2,{\"b\":null}]}" : "";
    pts[i].has_tokens = i == 2;
    pts[i].tokens = 5;
    pp[i] = &pts[i];
  }
  static Precis__V1__UpsertRequest up = PRECIS__V1__UPSERT_REQUEST__INIT;
  up.collection = "c";
  up.points = pp;
  up.n_points = 3;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 2;
  r.op_case = PRECIS__V1__REQUEST__OP_UPSERT;
  r.upsert = &up;
  reqs[nr] = r;
  names[nr++] = "upsert";

  /* search c and h */
  static Precis__V1__SearchRequest se = PRECIS__V1__SEARCH_REQUEST__INIT;
  se.collection = "c";
  se.vector = V[3];
  se.n_vector = 4;
  se.k = 5;
  se.k_opt_case = PRECIS__V1__SEARCH_REQUEST__K_OPT_K;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 3;
  r.op_case = PRECIS__V1__REQUEST__OP_SEARCH;
  r.search = &se;
  reqs[nr] = r;
  names[nr++] = "search";
  static Precis__V1__SearchRequest se2 = PRECIS__V1__SEARCH_REQUEST__INIT;
  se2.collection = "h";
  se2.vector = V[1];
  se2.n_vector = 4;
  se2.k = 3;
  se2.exact = 1;
  se2.ef_search = 16;
  se2.k_opt_case = PRECIS__V1__SEARCH_REQUEST__K_OPT_K;
  se2.exact_opt_case = PRECIS__V1__SEARCH_REQUEST__EXACT_OPT_EXACT;
  se2.ef_search_opt_case = PRECIS__V1__SEARCH_REQUEST__EF_SEARCH_OPT_EF_SEARCH;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 4;
  r.op_case = PRECIS__V1__REQUEST__OP_SEARCH;
  r.search = &se2;
  reqs[nr] = r;
  names[nr++] = "search_exact";

  /* retrieve: COMPRESS with hops, and MMR from a query point */
  static char *kinds[] = {"next"};
  static Precis__V1__RetrieveRequest rt = PRECIS__V1__RETRIEVE_REQUEST__INIT;
  rt.collection = "h";
  rt.vector = V[2];
  rt.n_vector = 4;
  rt.link_kinds = kinds;
  rt.n_link_kinds = 1;
  rt.k = 4;
  rt.k_opt_case = PRECIS__V1__RETRIEVE_REQUEST__K_OPT_K;
  rt.hops = 2;
  rt.hops_opt_case = PRECIS__V1__RETRIEVE_REQUEST__HOPS_OPT_HOPS;
  rt.token_budget = 20;
  rt.token_budget_opt_case = PRECIS__V1__RETRIEVE_REQUEST__TOKEN_BUDGET_OPT_TOKEN_BUDGET;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 5;
  r.op_case = PRECIS__V1__REQUEST__OP_RETRIEVE;
  r.retrieve = &rt;
  reqs[nr] = r;
  names[nr++] = "retrieve";
  static Precis__V1__RetrieveRequest rt2 = PRECIS__V1__RETRIEVE_REQUEST__INIT;
  rt2.collection = "c";
  rt2.use_query_point = 1;
  rt2.query_point = 3;
  rt2.k = 3;
  rt2.k_opt_case = PRECIS__V1__RETRIEVE_REQUEST__K_OPT_K;
  rt2.mode = PRECIS__V1__MODE__MODE_MMR;
  rt2.mode_opt_case = PRECIS__V1__RETRIEVE_REQUEST__MODE_OPT_MODE;
  rt2.lambda = 0.3f;
  rt2.lambda_opt_case = PRECIS__V1__RETRIEVE_REQUEST__LAMBDA_OPT_LAMBDA;
  rt2.pool = 20;
  rt2.pool_opt_case = PRECIS__V1__RETRIEVE_REQUEST__POOL_OPT_POOL;
  rt2.seeds = 10;
  rt2.seeds_opt_case = PRECIS__V1__RETRIEVE_REQUEST__SEEDS_OPT_SEEDS;
  rt2.coverage_opt_case = PRECIS__V1__RETRIEVE_REQUEST__COVERAGE_OPT_COVERAGE;
  rt2.coverage = PRECIS__V1__COVERAGE__COVERAGE_SPARSE;
  rt2.max_represented_ids = 2;
  rt2.max_represented_ids_opt_case =
      PRECIS__V1__RETRIEVE_REQUEST__MAX_REPRESENTED_IDS_OPT_MAX_REPRESENTED_IDS;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 6;
  r.op_case = PRECIS__V1__REQUEST__OP_RETRIEVE;
  r.retrieve = &rt2;
  reqs[nr] = r;
  names[nr++] = "retrieve_mmr";
  static Precis__V1__RetrieveRequest rt3 = PRECIS__V1__RETRIEVE_REQUEST__INIT;
  rt3.collection = "c";
  rt3.vector = V[0];
  rt3.n_vector = 4;
  rt3.k = 5;
  rt3.k_opt_case = PRECIS__V1__RETRIEVE_REQUEST__K_OPT_K;
  rt3.group_by = "doc.section";
  rt3.group_limit = 2;
  rt3.group_limit_opt_case = PRECIS__V1__RETRIEVE_REQUEST__GROUP_LIMIT_OPT_GROUP_LIMIT;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 6;
  r.op_case = PRECIS__V1__REQUEST__OP_RETRIEVE;
  r.retrieve = &rt3;
  reqs[nr] = r;
  names[nr++] = "retrieve_group";

  /* get, delete */
  static uint64_t ids[] = {1, 2, 3, 999};
  static Precis__V1__GetRequest ge = PRECIS__V1__GET_REQUEST__INIT;
  ge.collection = "c";
  ge.ids = ids;
  ge.n_ids = 4;
  ge.with_vectors = 1;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 7;
  r.op_case = PRECIS__V1__REQUEST__OP_GET;
  r.get = &ge;
  reqs[nr] = r;
  names[nr++] = "get";
  static Precis__V1__DeleteRequest de = PRECIS__V1__DELETE_REQUEST__INIT;
  de.collection = "h";
  de.ids = ids + 1;
  de.n_ids = 2;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 8;
  r.op_case = PRECIS__V1__REQUEST__OP_DELETE;
  r.delete_ = &de;
  reqs[nr] = r;
  names[nr++] = "delete";

  /* links, edges */
  static Precis__V1__Edge ed[2], *ep[2];
  for (int i = 0; i < 2; i++) {
    precis__v1__edge__init(&ed[i]);
    ed[i].src = 4 + (uint64_t)i;
    ed[i].dst = 10;
    ed[i].kind = "cites";
    ed[i].weight = 0.75f;
    ep[i] = &ed[i];
  }
  static Precis__V1__AddLinksRequest al = PRECIS__V1__ADD_LINKS_REQUEST__INIT;
  al.collection = "c";
  al.links = ep;
  al.n_links = 2;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 9;
  r.op_case = PRECIS__V1__REQUEST__OP_ADD_LINKS;
  r.add_links = &al;
  reqs[nr] = r;
  names[nr++] = "add_links";
  static Precis__V1__RemoveLinksRequest rl = PRECIS__V1__REMOVE_LINKS_REQUEST__INIT;
  rl.collection = "c";
  rl.links = ep;
  rl.n_links = 1;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 10;
  r.op_case = PRECIS__V1__REQUEST__OP_REMOVE_LINKS;
  r.remove_links = &rl;
  reqs[nr] = r;
  names[nr++] = "remove_links";
  static Precis__V1__ListEdgesRequest le = PRECIS__V1__LIST_EDGES_REQUEST__INIT;
  le.collection = "c";
  le.id = 1;
  le.links = 1;
  le.kind = "next";
  le.outgoing = 1;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 11;
  r.op_case = PRECIS__V1__REQUEST__OP_LIST_EDGES;
  r.list_edges = &le;
  reqs[nr] = r;
  names[nr++] = "list_edges";

  /* describe, list, rebuild, drop, health, stats */
  static Precis__V1__DescribeCollectionRequest ds = PRECIS__V1__DESCRIBE_COLLECTION_REQUEST__INIT;
  ds.name = "h";
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 12;
  r.op_case = PRECIS__V1__REQUEST__OP_DESCRIBE_COLLECTION;
  r.describe_collection = &ds;
  reqs[nr] = r;
  names[nr++] = "describe";
  static Precis__V1__ListCollectionsRequest lc = PRECIS__V1__LIST_COLLECTIONS_REQUEST__INIT;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 13;
  r.op_case = PRECIS__V1__REQUEST__OP_LIST_COLLECTIONS;
  r.list_collections = &lc;
  reqs[nr] = r;
  names[nr++] = "list";
  static Precis__V1__GraphRebuildRequest gr = PRECIS__V1__GRAPH_REBUILD_REQUEST__INIT;
  gr.collection = "c";
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 14;
  r.op_case = PRECIS__V1__REQUEST__OP_GRAPH_REBUILD;
  r.graph_rebuild = &gr;
  reqs[nr] = r;
  names[nr++] = "rebuild";
  static Precis__V1__DropCollectionRequest dr = PRECIS__V1__DROP_COLLECTION_REQUEST__INIT;
  dr.name = "n1";
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 15;
  r.op_case = PRECIS__V1__REQUEST__OP_DROP_COLLECTION;
  r.drop_collection = &dr;
  reqs[nr] = r;
  names[nr++] = "drop";
  static Precis__V1__StatsRequest st = PRECIS__V1__STATS_REQUEST__INIT;
  r = (Precis__V1__Request)PRECIS__V1__REQUEST__INIT;
  r.id = 16;
  r.op_case = PRECIS__V1__REQUEST__OP_STATS;
  r.stats = &st;
  reqs[nr] = r;
  names[nr++] = "stats";

  /* dispatch: one request a file; frame: framed requests, 4 a file */
  uint8_t ctl[2] = {5, 17}; /* max_frame 4096, chunk seed */
  for (int i = 0; i < nr; i++) {
    uint8_t *b;
    size_t n = pack(&reqs[i], &b);
    put("dispatch", names[i], b, n, NULL, 0);
    free(b);
  }
  for (int i = 0; i < nr; i += 4) {
    size_t total = 2;
    uint8_t buf[8192];
    memcpy(buf, ctl, 2);
    ctl[1] = (uint8_t)(ctl[1] + 31);
    for (int j = i; j < i + 4 && j < nr; j++) {
      uint8_t *f;
      size_t fl;
      if (frame_encode(&reqs[j].base, 0, &f, &fl)) return 1;
      if (total + fl > sizeof buf) {
        free(f);
        break;
      }
      memcpy(buf + total, f, fl);
      total += fl;
      free(f);
    }
    char name[32];
    snprintf(name, sizeof name, "frames%d", i / 4);
    put("frame", name, buf, total, NULL, 0);
  }
  /* an oversized header and an empty frame */
  static const uint8_t big[] = {3, 1, 0, 0, 0, 17, 1, 2, 3};
  put("frame", "too_large", big, sizeof big, NULL, 0);
  static const uint8_t empty[] = {0, 9, 0, 0, 0, 0, 0, 0, 0, 2, 8, 1};
  put("frame", "empty_then_id", empty, sizeof empty, NULL, 0);

  /* readers: control byte = format | expect_dim << 2 */
  {
    uint8_t fv[1 + 3 * (4 + 12)];
    size_t o = 0;
    fv[o++] = 0; /* fvecs, any dim */
    for (int i = 0; i < 3; i++) {
      int32_t d = 3;
      memcpy(fv + o, &d, 4);
      o += 4;
      memcpy(fv + o, V[i], 12);
      o += 12;
    }
    put("readers", "fvecs", fv, o, NULL, 0);
  }
  {
    const char *hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    uint8_t buf[256];
    size_t o = 0;
    buf[o++] = 1 | (2 << 2); /* npy, expect dim 3 */
    memcpy(buf + o, "\x93NUMPY\x01\x00", 8);
    o += 8;
    size_t hl = strlen(hdr);
    size_t padded = ((10 + hl + 1 + 63) / 64) * 64 - 10;
    buf[o++] = (uint8_t)(padded & 0xff);
    buf[o++] = (uint8_t)(padded >> 8);
    memcpy(buf + o, hdr, hl);
    o += hl;
    while (o - 1 < 10 + padded - 1) buf[o++] = ' ';
    buf[o++] = '\n';
    memcpy(buf + o, V[0], 12);
    o += 12;
    memcpy(buf + o, V[3], 12);
    o += 12;
    put("readers", "npy", buf, o, NULL, 0);
  }
  {
    const char *j =
        "{\"id\": 1, \"vector\": [0.1, 0.2, 0.3], \"text\": \"hello\", \"metadata\": {\"k\": "
        "\"v\"}, \"tokens\": 3}\n"
        "\n"
        "{\"vector\": [1, 2, 3e-2], \"links\": [{\"dst\": 1, \"kind\": \"cites\", \"weight\": "
        "0.5}]}\n"
        "{\"id\": 3, \"vector\": [1, 2]}\n";
    uint8_t c = 2;
    put("readers", "jsonl", &c, 1, j, strlen(j));
    c = 3; /* buffer parsers */
    const char *line = "{\"id\": 7, \"vector\": [1, 0.5, -2], \"text\": \"t\"}";
    put("readers", "jsonl_line", &c, 1, line, strlen(line));
    const char *vt = "[0.1, 0.2 0.3,4e3]";
    put("readers", "vector_text", &c, 1, vt, strlen(vt));
  }

  /* payload */
  {
    const char *m1 = "{\"a\": 1, \"b\": [true, false, null], \"c\": {\"d\": \"\\u00e9\"}}";
    put("payload", "meta_object", m1, strlen(m1), NULL, 0);
    const char *m2 = "{\"a\": 1, \"a\": 2}";
    put("payload", "meta_dup", m2, strlen(m2), NULL, 0);
    uint8_t rec[12 + 5 + 2] = {3,   0,   0,   0, 5, 0, 0, 0,   'h', 'e',
                               'l', 'l', 'o', 2, 0, 0, 0, '{', '}'};
    put("payload", "record", rec, sizeof rec, NULL, 0);
  }
  return 0;
}
