/*
 * cmd_ingest.c: `precis ingest COLLECTION FILE`: stream an .fvecs, .npy or
 * .jsonl file into a collection in batches (upsert, then the batch's links),
 * with a progress display. A bad record stops the ingest (after upserting
 * the records before it) unless --skip-bad; when the server rejects a whole
 * batch for a per-record reason the batch is retried point by point so
 * that the offending line can be named. --bulk (first loads): the batches
 * ask the server for no kNN upkeep and one graph rebuild follows the load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "readers.h"

static const char usage[] =
    "usage: precis ingest COLLECTION FILE [--batch N] [--skip-bad] [--bulk]\n"
    "                     [--format fvecs|npy|jsonl] [--start-id N] "
    "[--quiet]\n"
    "  FILE '-' reads stdin (give --format). The format is guessed from the\n"
    "  extension otherwise. fvecs/npy ids are start-id + row (default 0);\n"
    "  jsonl lines: {\"id\", \"vector\", \"text\", \"metadata\": {...},\n"
    "  \"tokens\", \"links\": [{\"dst\", \"kind\", \"weight\"}]} (a missing id\n"
    "  is start-id + record index). Links are added after their batch.\n"
    "  Bad records exit 4 with their line (record) number, unless\n"
    "  --skip-bad reports and skips them.\n"
    "  --bulk (first loads): no kNN-graph upkeep per batch; the graph is\n"
    "  rebuilt once after the load (points are searchable as they land).\n";

typedef struct {
  cli *c;
  const char *coll, *path;
  int skip_bad;
  unsigned flags; /* PRECIS_UPSERT_DEFER_GRAPH with --bulk */
  uint64_t start_id;
  rd_record *recs;
  size_t n, cap;
  uint64_t points, links, skipped;
  /* links wait until every point is in: a link may name a later point */
  precis_edge *pend;
  rd_record *pend_where; /* line / index of the record that named it */
  size_t npend, cappend;
} ingest;

static void where(const rd_record *r, char *buf, size_t len) {
  if (r->line)
    snprintf(buf, len, "line %llu", (unsigned long long)r->line);
  else
    snprintf(buf, len, "record %llu", (unsigned long long)r->index);
}

/* Statuses that blame one record rather than the batch or the server. */
static int per_record_code(int rc) {
  return rc == PRECIS_E_INVALID_ARGUMENT || rc == PRECIS_E_DIMENSION_MISMATCH ||
         rc == PRECIS_E_INVALID_VECTOR || rc == PRECIS_E_INVALID_JSON ||
         rc == PRECIS_E_OUT_OF_RANGE;
}

/* For links also NOT_FOUND (an endpoint that does not exist). */
static int per_link_code(int rc) { return per_record_code(rc) || rc == PRECIS_E_NOT_FOUND; }

static int is_transport(int rc) { return rc == PRECIS_E_CONNECTION || rc == PRECIS_E_TIMEOUT; }

static void to_point(const rd_record *r, precis_point *p) {
  p->id = r->id;
  p->vector = r->vector;
  p->dim = r->dim;
  p->text = r->text;
  p->metadata = r->metadata;
  p->tokens = r->tokens;
}

/* A rejected record: report; returns 0 to go on (skip), else exit code. */
static int reject(ingest *g, const rd_record *r, int rc, const char *m) {
  char w[48];
  where(r, w, sizeof w);
  fprintf(stderr, "precis: ingest: %s: %s: id %llu rejected: %s: %s%s\n", g->path, w,
          (unsigned long long)r->id, precis_status_name(rc), m, g->skip_bad ? " (skipped)" : "");
  if (g->skip_bad) {
    g->skipped++;
    return 0;
  }
  return CLI_EXIT_SERVER;
}

static int upsert_batch(ingest *g, unsigned char *ok) {
  precis_point *pts = calloc(g->n, sizeof *pts);
  if (!pts) return cli_error(g->c, CLI_EXIT_SERVER, "out of memory");
  for (size_t i = 0; i < g->n; i++) {
    to_point(&g->recs[i], &pts[i]);
    ok[i] = 1;
  }
  precis_error err;
  int rc = precis_upsert_flags(g->c->conn, g->coll, pts, g->n, g->flags, NULL, &err);
  if (rc == PRECIS_OK) {
    g->points += g->n;
    free(pts);
    return 0;
  }
  if (is_transport(rc) || !per_record_code(rc)) {
    free(pts);
    return cli_fail(g->c, rc, &err);
  }
  /* find the culprit(s) one point at a time */
  for (size_t i = 0; i < g->n; i++) {
    rc = precis_upsert_flags(g->c->conn, g->coll, &pts[i], 1, g->flags, NULL, &err);
    if (rc == PRECIS_OK) {
      g->points++;
      continue;
    }
    ok[i] = 0;
    if (is_transport(rc) || !per_record_code(rc)) {
      free(pts);
      return cli_fail(g->c, rc, &err);
    }
    int x = reject(g, &g->recs[i], rc, err.msg);
    if (x) {
      free(pts);
      return x;
    }
  }
  free(pts);
  return 0;
}

/* Queue the links of the records that were upserted. */
static int defer_links(ingest *g, const unsigned char *ok) {
  for (size_t i = 0; i < g->n; i++) {
    if (!ok[i]) continue;
    for (size_t j = 0; j < g->recs[i].n_links; j++) {
      if (g->npend == g->cappend) {
        size_t cap = g->cappend ? g->cappend * 2 : 4096;
        precis_edge *e = realloc(g->pend, cap * sizeof *e);
        if (!e) return cli_error(g->c, CLI_EXIT_SERVER, "out of memory");
        g->pend = e;
        rd_record *w = realloc(g->pend_where, cap * sizeof *w);
        if (!w) return cli_error(g->c, CLI_EXIT_SERVER, "out of memory");
        g->pend_where = w;
        g->cappend = cap;
      }
      const rd_link *l = &g->recs[i].links[j];
      precis_edge_set(&g->pend[g->npend], g->recs[i].id, l->dst, l->kind, l->weight);
      memset(&g->pend_where[g->npend], 0, sizeof *g->pend_where);
      g->pend_where[g->npend].line = g->recs[i].line;
      g->pend_where[g->npend].index = g->recs[i].index;
      g->npend++;
    }
  }
  return 0;
}

/* Send the queued links in batches; a refused batch is retried link by link
 * so that the record that named a bad link can be reported. */
static int send_links(ingest *g) {
  const size_t B = 10000;
  int out = 0;
  for (size_t s = 0; s < g->npend && !out; s += B) {
    size_t m = g->npend - s < B ? g->npend - s : B;
    precis_edge *edges = g->pend + s;
    precis_error err;
    int rc = precis_link_add(g->c->conn, g->coll, edges, m, NULL, &err);
    if (rc == PRECIS_OK) {
      g->links += m;
      continue;
    }
    if (is_transport(rc) || !per_link_code(rc)) return cli_fail(g->c, rc, &err);
    for (size_t k = 0; k < m && !out; k++) {
      rc = precis_link_add(g->c->conn, g->coll, &edges[k], 1, NULL, &err);
      if (rc == PRECIS_OK) {
        g->links++;
        continue;
      }
      if (is_transport(rc) || !per_link_code(rc)) return cli_fail(g->c, rc, &err);
      char w[48];
      where(&g->pend_where[s + k], w, sizeof w);
      fprintf(stderr,
              "precis: ingest: %s: %s: link %llu -> %llu (%s) rejected: "
              "%s: %s%s\n",
              g->path, w, (unsigned long long)edges[k].src, (unsigned long long)edges[k].dst,
              edges[k].kind, precis_status_name(rc), err.msg, g->skip_bad ? " (skipped)" : "");
      if (!g->skip_bad) out = CLI_EXIT_SERVER;
    }
  }
  return out;
}

static int flush(ingest *g) {
  if (!g->n) return 0;
  unsigned char *ok = calloc(g->n, 1);
  if (!ok) return cli_error(g->c, CLI_EXIT_SERVER, "out of memory");
  int rc = upsert_batch(g, ok);
  if (!rc) rc = defer_links(g, ok);
  free(ok);
  for (size_t i = 0; i < g->n; i++) rd_record_clear(&g->recs[i]);
  g->n = 0;
  return rc;
}

/* Lines of a regular file (for the progress total of jsonl), or -1. */
static int64_t count_lines(FILE *f) {
  struct stat st;
  if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) return -1;
  char buf[65536];
  int64_t lines = 0;
  size_t n;
  int last = '\n';
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    for (size_t i = 0; i < n; i++) lines += buf[i] == '\n';
    last = buf[n - 1];
  }
  if (last != '\n') lines++;
  if (ferror(f) || fseek(f, 0, SEEK_SET) != 0) return -1;
  clearerr(f);
  return lines;
}

static int run(ingest *g, FILE *f, rd_format fmt, uint32_t dim, size_t batch, int quiet) {
  cli *c = g->c;
  char msgbuf[256];
  int64_t lines = fmt == RD_FMT_JSONL ? count_lines(f) : -1;
  rd_reader *r;
  if (rd_open(f, fmt, dim, &r, msgbuf, sizeof msgbuf) < 0)
    return cli_error(c, CLI_EXIT_INPUT, "%s: %s", g->path, msgbuf);
  int64_t total = rd_total(r) >= 0 ? rd_total(r) : lines;
  progress pg;
  progress_init(&pg, quiet ? NULL : stderr, isatty(STDERR_FILENO), "ingest", total, progress_now());
  g->cap = batch;
  g->recs = calloc(batch, sizeof *g->recs);
  if (!g->recs) {
    rd_close(r);
    return cli_error(c, CLI_EXIT_SERVER, "out of memory");
  }
  uint64_t seen = 0;
  int rc = 0;
  rd_record rec = {0};
  for (;;) {
    int st = rd_next(r, &rec, msgbuf, sizeof msgbuf);
    if (st == RD_EOF) break;
    if (st == RD_RECORD) {
      seen++;
      if (!rec.has_id) rec.id = g->start_id + rec.index;
      g->recs[g->n++] = rec;
      memset(&rec, 0, sizeof rec);
      if (g->n == g->cap && (rc = flush(g))) break;
    } else if (st == RD_BAD) {
      seen++;
      fprintf(stderr, "precis: ingest: %s: %s%s\n", g->path, msgbuf,
              g->skip_bad ? " (skipped)" : "");
      if (g->skip_bad) {
        g->skipped++;
      } else {
        rc = flush(g);
        if (!rc) rc = CLI_EXIT_INPUT;
        break;
      }
    } else { /* RD_FATAL */
      fprintf(stderr, "precis: ingest: %s: %s\n", g->path, msgbuf);
      rc = flush(g);
      if (!rc) rc = CLI_EXIT_INPUT;
      break;
    }
    progress_update(&pg, seen, progress_now());
  }
  rd_record_clear(&rec);
  if (!rc) rc = flush(g);
  if (!rc) rc = send_links(g);
  if (g->flags & PRECIS_UPSERT_DEFER_GRAPH) {
    precis_error err;
    int grc = g->points ? precis_graph_rebuild(c->conn, g->coll, &err) : PRECIS_OK;
    if (grc) {
      fprintf(stderr,
              "precis: ingest: %s: the kNN graph was not rebuilt; run "
              "`precis graph rebuild %s`\n",
              g->coll, g->coll);
      if (!rc) rc = cli_fail(c, grc, &err);
    } else if (rc && g->points) {
      fprintf(stderr, "precis: ingest: the kNN graph covers the %llu points loaded\n",
              (unsigned long long)g->points);
    }
  }
  free(g->pend);
  free(g->pend_where);
  for (size_t i = 0; i < g->n; i++) rd_record_clear(&g->recs[i]);
  free(g->recs);
  rd_close(r);
  double el = progress_now() - pg.start;
  progress_finish(&pg, seen, progress_now());
  if (!quiet || c->json)
    fprintf(stderr,
            "ingest: %llu points, %llu links into %s in %.1fs; %llu bad "
            "record%s skipped\n",
            (unsigned long long)g->points, (unsigned long long)g->links, g->coll, el,
            (unsigned long long)g->skipped, g->skipped == 1 ? "" : "s");
  if (c->json)
    cli_json_out(json_pack("{s:s, s:I, s:I, s:I, s:f, s:b}", "collection", g->coll, "points",
                           (json_int_t)g->points, "links", (json_int_t)g->links, "skipped",
                           (json_int_t)g->skipped, "seconds", el, "ok", rc == 0));
  return rc;
}

int cmd_ingest(cli *c, int argc, char **argv) {
  static const struct option lo[] = {
      {"batch", required_argument, NULL, 'b'},    {"skip-bad", no_argument, NULL, 's'},
      {"bulk", no_argument, NULL, 'B'},           {"format", required_argument, NULL, 'f'},
      {"start-id", required_argument, NULL, 'S'}, {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},           {0, 0, 0, 0}};
  ingest g = {.c = c};
  uint32_t batch = 1000;
  int have_fmt = 0, quiet = 0, o;
  rd_format fmt = RD_FMT_JSONL;
  optind = 0;
  while ((o = cli_getopt(c, argc, argv, "b:f:qh", lo)) != -1) {
    switch (o) {
      case 'b':
        if (cli_parse_u32(optarg, PRECIS_MAX_BATCH, &batch) < 0 || !batch)
          return cli_usage(c, "--batch must be 1..%d", PRECIS_MAX_BATCH);
        break;
      case 's':
        g.skip_bad = 1;
        break;
      case 'B':
        g.flags |= PRECIS_UPSERT_DEFER_GRAPH;
        break;
      case 'f':
        if (rd_format_parse(optarg, &fmt) < 0)
          return cli_usage(c, "--format must be fvecs, npy or jsonl");
        have_fmt = 1;
        break;
      case 'S':
        if (cli_parse_u64(optarg, &g.start_id) < 0)
          return cli_usage(c, "bad --start-id '%s'", optarg);
        break;
      case 'q':
        quiet = 1;
        break;
      case 'h':
        fputs(usage, stdout);
        return 0;
      default:
        return CLI_EXIT_USAGE;
    }
  }
  if (cli_npos(argc) != 2) return cli_usage(c, "ingest takes COLLECTION FILE");
  g.coll = cli_pos(argv)[0];
  g.path = cli_pos(argv)[1];
  int is_stdin = !strcmp(g.path, "-");
  if (!have_fmt && (is_stdin || rd_format_guess(g.path, &fmt) < 0))
    return cli_usage(c, "cannot tell the format of '%s'; give --format", g.path);
  FILE *f = is_stdin ? stdin : fopen(g.path, "rb");
  if (!f) return cli_error(c, CLI_EXIT_INPUT, "cannot open %s: %s", g.path, strerror(errno));
  int rc = cli_connect(c);
  if (!rc) {
    precis_collection_info info;
    precis_error err;
    rc = precis_collection_describe(c->conn, g.coll, &info, &err);
    if (rc)
      rc = cli_fail(c, rc, &err);
    else
      rc = run(&g, f, fmt, info.dim, batch, quiet);
  }
  if (!is_stdin) fclose(f);
  return rc;
}
