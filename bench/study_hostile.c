/*
 * study_hostile.c: `precis-bench hostile`, a well-behaved client's latency
 * and the server's memory while one hostile client runs (issue 11).
 *
 *   precis-bench hostile [--seconds 5] [--phases LIST] [--before]
 *                        [--before-arg FLAG]...
 *                        [--server-arg FLAG]... [--out DIR]
 *
 * Starts precisd (build/precisd, or $PRECISD) with default flags on a fresh
 * data directory; loads "good" (2,000 random unit vectors of 32 floats,
 * Flat) and "big" (one point with 1 MiB of text). Then, for each phase of
 * --seconds, one client thread runs searches (k 10) on "good" back to back
 * while one hostile client does its thing; the phases are:
 *   quiet      nothing else
 *   unread     150 pipelined get{ids:[1]*10} on "big" (10 MiB responses),
 *              never read (issue 11 row 2), on 4 connections in turn
 *   amplify    16 MiB upsert frames of empty points, back to back (row 3)
 *   kinds      retrieve with 200,000 link_kinds, back to back (row 6)
 *   idle       500 connections that never send a byte (row 7a)
 *   trickle    50 connections sending a frame one byte per 100 ms (row 7b)
 * --phases picks some (quiet always runs first); --before first runs them
 * against a precisd with the per-connection fairness off (--max-read-rate 0,
 * every worker may decode large frames), so the rows compare in one run;
 * --server-arg passes a flag to the (second) precisd, e.g. to try a rate;
 * --before-arg FLAG (implies --before) gives the first precisd these flags
 * instead, e.g. `--before-arg --worker-send --before-arg 0` for issue 13.
 * Reported per phase: the good client's p50 / p99 latency and its ratio to
 * the quiet p99, requests done, and the server's peak RSS over its RSS
 * before the phase (VmRSS sampled every 20 ms).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_util.h"
#include "frame.h"
#include "precis/precis.h"
#include "srvproc.h"

#define HS_DIM 32
#define HS_N   2000

typedef struct {
  int port;
  pid_t pid;
  atomic_int stop;
  const char *kind;
} hs_ctx;

static void hs_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static uint64_t hs_rss(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lu kB", &kb) == 1) break;
  fclose(f);
  return (uint64_t)kb << 10;
}

static int hs_socket(int port, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int hs_write(int fd, const void *b, size_t n) {
  const uint8_t *p = b;
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Read and drop one response frame; -1 on EOF/error. */
static int hs_read_frame(int fd) {
  uint8_t h[4];
  size_t got = 0;
  while (got < 4) {
    ssize_t r = recv(fd, h + got, 4 - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  size_t n = frame_get_header(h);
  uint8_t buf[65536];
  while (n) {
    ssize_t r = recv(fd, buf, n < sizeof buf ? n : sizeof buf, 0);
    if (r <= 0) return -1;
    n -= (size_t)r;
  }
  return 0;
}

/* A frame holding Request{id 1, <op> = body}. */
static uint8_t *hs_request(uint32_t op, const uint8_t *body, size_t blen, size_t *len) {
  uint8_t *f = malloc(blen + 32);
  size_t k = 4;
  f[k++] = 0x08;
  f[k++] = 0x01;
  uint32_t key = op << 3 | 2;
  while (key >= 0x80) {
    f[k++] = (uint8_t)(key | 0x80);
    key >>= 7;
  }
  f[k++] = (uint8_t)key;
  size_t l = blen;
  while (l >= 0x80) {
    f[k++] = (uint8_t)(l | 0x80);
    l >>= 7;
  }
  f[k++] = (uint8_t)l;
  memcpy(f + k, body, blen);
  k += blen;
  frame_put_header(f, (uint32_t)(k - 4));
  *len = k;
  return f;
}

static void *hs_hostile(void *arg) {
  hs_ctx *x = arg;
  const char *k = x->kind;
  if (!strcmp(k, "unread")) {
    uint8_t body[] = {0x0a, 3, 'b', 'i', 'g', 0x12, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    size_t len;
    uint8_t *f = hs_request(18, body, sizeof body, &len);
    int fds[4];
    for (int c = 0; c < 4; c++) {
      fds[c] = hs_socket(x->port, 1 << 16);
      for (int i = 0; i < 150 && fds[c] >= 0; i++)
        if (hs_write(fds[c], f, len)) break;
    }
    while (!atomic_load(&x->stop)) hs_sleep_ms(20);
    for (int c = 0; c < 4; c++)
      if (fds[c] >= 0) close(fds[c]);
    free(f);
  } else if (!strcmp(k, "amplify") || !strcmp(k, "kinds")) {
    size_t blen;
    uint8_t *body;
    uint32_t op;
    if (!strcmp(k, "amplify")) {
      blen = 3 + (16u << 20);
      body = malloc(blen);
      body[0] = 0x0a;
      body[1] = 1;
      body[2] = 'g';
      for (size_t i = 3; i + 1 < blen; i += 2) {
        body[i] = 0x12;
        body[i + 1] = 0;
      }
      op = 17;
    } else {
      size_t n = 200000;
      blen = 6 * n + 256; /* name, a 32-float vector, n kinds */
      body = malloc(blen);
      size_t j = 0;
      body[j++] = 0x0a;
      body[j++] = 1;
      body[j++] = 'g';
      body[j++] = 0x12;
      body[j++] = 128; /* 32 floats: 128 bytes */
      body[j++] = 1;
      memset(body + j, 0, 128);
      j += 128;
      for (size_t i = 0; i < n; i++) {
        body[j++] = 0x72;
        body[j++] = 4;
        memcpy(body + j, "kind", 4);
        j += 4;
      }
      blen = j;
      op = 24;
    }
    size_t len;
    uint8_t *f = hs_request(op, body, blen, &len);
    free(body);
    while (!atomic_load(&x->stop)) {
      int fd = hs_socket(x->port, 0);
      if (fd < 0) {
        hs_sleep_ms(10);
        continue;
      }
      while (!atomic_load(&x->stop) && hs_write(fd, f, len) == 0 && hs_read_frame(fd) == 0) {}
      close(fd);
    }
    free(f);
  } else if (!strcmp(k, "idle") || !strcmp(k, "trickle")) {
    int n = !strcmp(k, "idle") ? 500 : 50;
    int *fds = calloc((size_t)n, sizeof *fds);
    for (int i = 0; i < n; i++) fds[i] = hs_socket(x->port, 0);
    if (!strcmp(k, "trickle")) {
      uint8_t h[4];
      frame_put_header(h, 1000);
      for (int i = 0; i < n; i++)
        if (fds[i] >= 0) hs_write(fds[i], h, 4);
    }
    while (!atomic_load(&x->stop)) {
      hs_sleep_ms(100);
      if (!strcmp(k, "trickle"))
        for (int i = 0; i < n; i++)
          if (fds[i] >= 0 && hs_write(fds[i], "\x08", 1)) {
            close(fds[i]);
            fds[i] = -1;
          }
    }
    for (int i = 0; i < n; i++)
      if (fds[i] >= 0) close(fds[i]);
    free(fds);
  }
  return NULL;
}

typedef struct {
  const char *name;
  double p50, p99, ratio;
  size_t n, errors;
  uint64_t rss0, peak;
} hs_row;

static void hs_phase(hs_ctx *x, precis_conn *good, const float *q, int secs, hs_row *row) {
  pthread_t th;
  atomic_store(&x->stop, 0);
  row->rss0 = hs_rss(x->pid);
  row->peak = row->rss0;
  int hostile = strcmp(x->kind, "quiet") != 0;
  if (hostile) pthread_create(&th, NULL, hs_hostile, x);
  size_t cap = 1 << 16;
  double *lat = malloc(cap * sizeof *lat);
  uint64_t t_end = bench_now_ns() + (uint64_t)secs * 1000000000ull, next_sample = 0;
  precis_hit hits[10];
  row->n = row->errors = 0;
  while (bench_now_ns() < t_end) {
    uint64_t t0 = bench_now_ns();
    size_t nh;
    precis_error err;
    if (precis_search(good, "good", q + (row->n % 100) * HS_DIM, HS_DIM, 10, NULL, hits, &nh, &err))
      row->errors++;
    uint64_t t1 = bench_now_ns();
    if (row->n < cap) lat[row->n] = (double)(t1 - t0) / 1000.0;
    row->n++;
    if (t1 >= next_sample) {
      uint64_t r = hs_rss(x->pid);
      if (r > row->peak) row->peak = r;
      next_sample = t1 + 20000000ull;
    }
  }
  atomic_store(&x->stop, 1);
  if (hostile) pthread_join(th, NULL);
  size_t m = row->n < cap ? row->n : cap;
  row->p50 = bench_quantile(lat, m, 0.5);
  row->p99 = bench_quantile(lat, m, 0.99);
  free(lat);
  hs_sleep_ms(500); /* let the server close what the phase left */
}

/* Create and load "good" and "big" on the server at port; 0 on success. */
static int hs_load(int port, const float *base, precis_conn **good, precis_error *err) {
  if (precis_connect("127.0.0.1", (uint16_t)port, NULL, 30000, good, err)) return -1;
  precis_collection_config cfg;
  precis_collection_config_init(&cfg, HS_DIM);
  cfg.index_spec = "Flat";
  if (precis_collection_create(*good, "good", &cfg, NULL, err)) return -1;
  precis_point *pts = calloc(HS_N, sizeof *pts);
  for (size_t i = 0; i < HS_N; i++)
    pts[i] = (precis_point){i + 1, base + i * HS_DIM, HS_DIM, "a point", NULL, -1};
  int up = precis_upsert(*good, "good", pts, HS_N, NULL, err);
  free(pts);
  if (up) return -1;
  precis_collection_config_init(&cfg, 4);
  cfg.index_spec = "Flat";
  if (precis_collection_create(*good, "big", &cfg, NULL, err)) return -1;
  char *text = malloc((1u << 20) + 1);
  memset(text, 'x', 1u << 20);
  text[1u << 20] = 0;
  float v4[4] = {1, 0, 0, 0};
  precis_point bp = {1, v4, 4, text, NULL, -1};
  up = precis_upsert(*good, "big", &bp, 1, NULL, err);
  free(text);
  return up ? -1 : 0;
}

/* Run `phases` (comma-separated) against a fresh precisd started with
 * `extra` flags; rows named "<phase><suffix>", ratios to its own quiet. */
static int hs_server(const char *phases, const char *extra[], const char *suffix, const float *base,
                     int secs, hs_row *rows, char names[][48], int *nrows) {
  char *dir = bu_tmpdir("hostile");
  srvproc sp;
  if (srvproc_start(dir, extra, &sp) <= 0) {
    bu_rmrf_free(dir);
    return 1;
  }
  hs_ctx x = {.port = sp.port, .pid = sp.pid};
  precis_conn *good = NULL;
  precis_error err;
  int rc = 1;
  if (hs_load(sp.port, base, &good, &err)) {
    fprintf(stderr, "hostile: %s\n", err.msg);
    goto done;
  }
  char list[256];
  snprintf(list, sizeof list, "quiet,%s", phases);
  int first = *nrows;
  for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
    if (*nrows > first && !strcmp(p, "quiet")) continue;
    hs_row *r = &rows[*nrows];
    snprintf(names[*nrows], 48, "%s%s", p, suffix);
    x.kind = p;
    r->name = names[*nrows];
    hs_phase(&x, good, base, secs, r);
    r->ratio = rows[first].p99 > 0 ? r->p99 / rows[first].p99 : 0;
    fprintf(stderr, "hostile: %s done\n", r->name);
    (*nrows)++;
  }
  rc = 0;
done:
  precis_close(good);
  srvproc_stop(&sp);
  /* the loop's wake-up counts (issue 13), logged at shutdown */
  FILE *lf = fopen(sp.log, "r");
  char line[512];
  while (lf && fgets(line, sizeof line, lf))
    if (strstr(line, "INFO loop: "))
      fprintf(stderr, "hostile%s: %s", suffix, strstr(line, "loop: "));
  if (lf) fclose(lf);
  srvproc_cleanup(&sp);
  bu_rmrf_free(dir);
  return rc;
}

int bench_hostile(int argc, char **argv) {
  int secs = 5, before = 0, nextra = 0;
  const char *extra[16] = {NULL}, *bargs[16] = {NULL};
  int nbefore = 0;
  const char *out = NULL;
  const char *phases = "unread,amplify,kinds,idle,trickle";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      secs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--phases") && i + 1 < argc)
      phases = argv[++i];
    else if (!strcmp(argv[i], "--before"))
      before = 1;
    else if (!strcmp(argv[i], "--server-arg") && i + 1 < argc && nextra < 15)
      extra[nextra++] = argv[++i];
    else if (!strcmp(argv[i], "--before-arg") && i + 1 < argc && nbefore < 15)
      bargs[nbefore++] = argv[++i], before = 1;
    else {
      fprintf(stderr,
              "usage: precis-bench hostile [--seconds 5] [--phases LIST] "
              "[--before] [--before-arg FLAG]... [--server-arg FLAG]... [--out DIR]\n");
      return 2;
    }
  }
  float *base = malloc(sizeof(float) * HS_N * HS_DIM);
  uint64_t s = 88172645463325252ull;
  for (size_t i = 0; i < (size_t)HS_N * HS_DIM; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    base[i] = (float)((double)(s >> 11) / 9007199254740992.0) - 0.5f;
  }
  hs_row rows[32];
  char names[32][48];
  int nrows = 0, rc = 0;
  if (before) {
    /* the same phases with the fairness of issue 11's second pass off: no
     * per-connection read rate, every worker may decode large frames */
    const char *off[] = {"--max-read-rate", "0", "--bulk-workers", "64", NULL};
    rc = hs_server(phases, nbefore ? bargs : off, nbefore ? " (before)" : " (fairness off)", base,
                   secs, rows, names, &nrows);
  }
  if (!rc) rc = hs_server(phases, nextra ? extra : NULL, "", base, secs, rows, names, &nrows);
  FILE *files[2] = {stdout, NULL};
  char path[4096];
  if (out) {
    snprintf(path, sizeof path, "%s/hostile.md", out);
    files[1] = fopen(path, "w");
  }
  for (int fi = 0; fi < 2 && files[fi]; fi++) {
    FILE *f = files[fi];
    fprintf(f, "# hostile: a well-behaved client next to one hostile client\n\n");
    fprintf(f,
            "precisd with default flags; search k 10 over 2,000 x 32 floats (Flat), "
            "%d s per phase.\n\n",
            secs);
    fprintf(f,
            "| phase | searches | errors | p50 us | p99 us | p99 / quiet p99 | "
            "server peak RSS over phase start |\n|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < nrows; i++)
      fprintf(f, "| %s | %zu | %zu | %.0f | %.0f | %.2f | %.1f MiB |\n", rows[i].name, rows[i].n,
              rows[i].errors, rows[i].p50, rows[i].p99, rows[i].ratio,
              (double)(rows[i].peak - rows[i].rss0) / 1048576.0);
    fprintf(f, "\n");
  }
  if (files[1]) fclose(files[1]);
  free(base);
  return rc;
}
