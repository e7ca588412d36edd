/*
 * test_crash_server.c: crash safety of precisd as a client sees it.
 *
 * A driver starts precisd (tests/support/srvproc) on one data directory and
 * streams batches through libprecis: upserts (new points and new versions of
 * live ones), deletes, link additions and link removals. A second thread
 * kills the server with SIGKILL after a random delay; the driver restarts it
 * on the same directory and checks, after every restart:
 *   - every acknowledged write is there: each live point with the identical
 *     vector (metric l2, so the stored bytes are the sent bytes), text,
 *     metadata, and exactly its knowledge links (kind and weight); each
 *     deleted point is missing;
 *   - the batch in flight when the server died (sent, never acknowledged) is
 *     wholly applied or wholly absent: the state equals the model either
 *     after or before that batch, never a mix;
 *   - describe's count and links equal the model's;
 *   - an exact search (k = 1) on a live point's vector finds that point, and
 *     the ANN index (HNSW, rebuilt or replayed after the crash) finds it in
 *     its top 10 for all but a few sampled points.
 *
 * Cycles: PRECIS_CRASH_CYCLES (default 20, about a minute); `make
 * crash-long` runs 200. PRECIS_CRASH_SEED fixes the random stream.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "precis/precis.h"
#include "srvproc.h"
#include "testutil.h"

#define DIM   8
#define MAXID 32768u /* ids 1..MAXID-1 */
#define MAXL  4096   /* links in the model */
#define COLL  "crash"

static const char *KINDS[3] = {"cites", "next", "see"};
static const float WEIGHTS[4] = {0.25f, 0.5f, 0.75f, 1.0f};

typedef struct {
  uint64_t src, dst;
  uint8_t kind, w;
} mlink;

typedef struct {
  uint32_t ver[MAXID]; /* 0 = absent, else the live version */
  uint64_t next_id;    /* ids below have been used */
  uint64_t live;
  mlink links[MAXL];
  size_t nlinks;
} model;

static model g_cur, g_next;
static unsigned char g_ever_src[MAXID]; /* ids that were ever a link source */
static uint32_t g_last_ver[MAXID];      /* highest version ever sent per id */
static uint64_t g_rng;

/* ---- deterministic point contents ---- */

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static void vec_of(uint64_t id, uint32_t ver, float *v) {
  for (int j = 0; j < DIM; j++) {
    uint64_t h = mix(id * 1000003u + ver * 7919u + (uint64_t)j);
    v[j] = (float)((double)(h >> 11) / (double)(1ULL << 53) * 2.0 - 1.0);
  }
}
static void text_of(uint64_t id, uint32_t ver, char *b, size_t n) {
  snprintf(b, n, "point %" PRIu64 " version %u", id, ver);
}
static void meta_of(uint64_t id, uint32_t ver, char *b, size_t n) {
  snprintf(b, n, "{\"id\": %" PRIu64 ", \"v\": %u, \"tags\": [\"x%u\", null]}", id, ver, ver % 7);
}

static uint64_t rnd(uint64_t n) { return tu_rand(&g_rng) % n; }

static uint64_t pick_live(const model *m) {
  if (!m->live) return 0;
  for (;;) {
    uint64_t id = 1 + rnd(m->next_id - 1);
    if (m->ver[id]) return id;
  }
}

static int link_index(const model *m, uint64_t s, uint64_t d, int kind) {
  for (size_t i = 0; i < m->nlinks; i++)
    if (m->links[i].src == s && m->links[i].dst == d && m->links[i].kind == kind) return (int)i;
  return -1;
}

static void drop_links_of(model *m, uint64_t id) {
  size_t o = 0;
  for (size_t i = 0; i < m->nlinks; i++)
    if (m->links[i].src != id && m->links[i].dst != id) m->links[o++] = m->links[i];
  m->nlinks = o;
}

/* ---- one batch: build it on g_next, send it ---- */

enum { OP_UPSERT, OP_DELETE, OP_LINK_ADD, OP_LINK_REMOVE };
static uint64_t g_touched[64];
static size_t g_ntouched;
static uint64_t g_ops[4], g_items;

static int touched(uint64_t id) {
  for (size_t k = 0; k < g_ntouched; k++)
    if (g_touched[k] == id) return 1;
  return 0;
}

/* Returns the libprecis status of the call (g_next holds the model after
 * the batch; g_cur is unchanged). */
static int run_batch(precis_conn *c) {
  g_next = g_cur;
  g_ntouched = 0;
  uint64_t r = rnd(100);
  int op = r < 50 ? OP_UPSERT : r < 68 ? OP_DELETE : r < 88 ? OP_LINK_ADD : OP_LINK_REMOVE;
  if (g_cur.live < 20) op = OP_UPSERT;
  if (op == OP_LINK_REMOVE && g_cur.nlinks == 0) op = OP_LINK_ADD;
  if (op == OP_LINK_ADD && g_cur.nlinks > MAXL - 64) op = OP_LINK_REMOVE;
  /* keep the id space and the live set bounded */
  if (op == OP_UPSERT && g_cur.live > 3000) op = OP_DELETE;
  g_ops[op]++;
  precis_error err;
  memset(&err, 0, sizeof err);
  int rc = PRECIS_OK;
  if (op == OP_UPSERT) {
    size_t n = 1 + rnd(30);
    static float vecs[32][DIM];
    static char texts[32][64], metas[32][96];
    precis_point pts[32];
    for (size_t i = 0; i < n; i++) {
      uint64_t id = 0;
      int fresh = rnd(3) != 0 || g_next.live < 50;
      if (fresh && g_next.next_id < MAXID - 1) {
        id = g_next.next_id++;
      } else if (fresh) {
        /* the id space is used up: bring back a deleted id (a new version) */
        for (int tries = 0; tries < 1000 && !id; tries++) {
          uint64_t x = 1 + rnd(g_next.next_id - 1);
          if (!g_next.ver[x] && !touched(x)) id = x;
        }
      }
      if (!id) {
        if (g_ntouched >= g_next.live) { /* every live point is in this batch */
          n = i;
          break;
        }
        do id = pick_live(&g_next);
        while (touched(id));
      }
      if (!g_next.ver[id]) g_next.live++;
      /* versions only grow, also across deletes, so that (id, version)
       * names one vector, text and metadata for the whole run */
      g_next.ver[id] = g_last_ver[id] + 1 + (uint32_t)rnd(3);
      g_last_ver[id] = g_next.ver[id];
      g_touched[g_ntouched++] = id;
      vec_of(id, g_next.ver[id], vecs[i]);
      text_of(id, g_next.ver[id], texts[i], sizeof texts[i]);
      meta_of(id, g_next.ver[id], metas[i], sizeof metas[i]);
      pts[i] = (precis_point){id, vecs[i], DIM, texts[i], metas[i], -1};
    }
    if (n == 0) return PRECIS_OK;
    uint64_t up = 0;
    rc = precis_upsert(c, COLL, pts, n, &up, &err);
    if (rc == PRECIS_OK) cr_assert_eq(up, n);
  } else if (op == OP_DELETE) {
    size_t n = 1 + rnd(g_cur.live > 2500 ? 40 : 8);
    uint64_t ids[48];
    for (size_t i = 0; i < n; i++) {
      /* mostly live ids, sometimes an absent one (not an error) */
      uint64_t id = rnd(8) ? pick_live(&g_next) : 1 + rnd(g_next.next_id);
      if (!id || id >= MAXID) id = 1;
      if (touched(id)) { /* one id once per batch */
        n--;
        i--;
        continue;
      }
      ids[i] = id;
      if (g_next.ver[id]) {
        g_next.ver[id] = 0;
        g_next.live--;
        drop_links_of(&g_next, id);
      }
      g_touched[g_ntouched++] = id;
    }
    if (n == 0) return PRECIS_OK;
    uint64_t deleted = 0;
    rc = precis_delete(c, COLL, ids, n, &deleted, &err);
    if (rc == PRECIS_OK) cr_assert_eq(deleted, g_cur.live - g_next.live);
  } else if (op == OP_LINK_ADD) {
    size_t n = 1 + rnd(10), k = 0;
    precis_edge e[10];
    for (size_t i = 0; i < n; i++) {
      uint64_t s = pick_live(&g_next), d = pick_live(&g_next);
      int kind = (int)rnd(3), w = (int)rnd(4);
      if (s == d || link_index(&g_next, s, d, kind) >= 0) continue;
      g_next.links[g_next.nlinks++] = (mlink){s, d, (uint8_t)kind, (uint8_t)w};
      g_ever_src[s] = 1;
      precis_edge_set(&e[k++], s, d, KINDS[kind], WEIGHTS[w]);
    }
    if (k == 0) return PRECIS_OK; /* nothing new to add */
    uint64_t changed = 0;
    rc = precis_link_add(c, COLL, e, k, &changed, &err);
    if (rc == PRECIS_OK) cr_assert_eq(changed, k);
  } else {
    size_t n = 1 + rnd(5), k = 0;
    precis_edge e[5];
    for (size_t i = 0; i < n && g_next.nlinks; i++) {
      size_t at = (size_t)rnd(g_next.nlinks);
      mlink l = g_next.links[at];
      g_next.links[at] = g_next.links[--g_next.nlinks];
      precis_edge_set(&e[k++], l.src, l.dst, KINDS[l.kind], WEIGHTS[l.w]);
    }
    uint64_t changed = 0;
    rc = precis_link_remove(c, COLL, e, k, &changed, &err);
    if (rc == PRECIS_OK) cr_assert_eq(changed, k);
  }
  if (rc == PRECIS_OK)
    g_items += g_ntouched;
  else if (rc != PRECIS_E_CONNECTION && rc != PRECIS_E_TIMEOUT)
    cr_assert_fail("batch (op %d) failed with %s: %s", op, precis_status_name(rc), err.msg);
  return rc;
}

/* ---- verification ---- */

static int cmp_link(const void *a, const void *b) {
  const mlink *x = a, *y = b;
  if (x->src != y->src) return x->src < y->src ? -1 : 1;
  if (x->dst != y->dst) return x->dst < y->dst ? -1 : 1;
  if (x->kind != y->kind) return x->kind - y->kind;
  return x->w - y->w;
}

static int kind_index(const char *k) {
  for (int i = 0; i < 3; i++)
    if (!strcmp(k, KINDS[i])) return i;
  return -1;
}
static int weight_index(float w) {
  for (int i = 0; i < 4; i++)
    if (w == WEIGHTS[i]) return i;
  return -1;
}

/* Compare the server's state with model m; 0 when equal, else -1 with a
 * reason in why. */
static int check_state(precis_conn *c, const model *m, char *why, size_t wn) {
  precis_error err;
  precis_collection_info info;
  int rc = precis_collection_describe(c, COLL, &info, &err);
  cr_assert_eq(rc, PRECIS_OK, "describe: %s", err.msg);
  if (info.count != m->live) {
    snprintf(why, wn, "describe count %" PRIu64 ", model %" PRIu64, info.count, m->live);
    return -1;
  }
  if (info.links != m->nlinks) {
    snprintf(why, wn, "describe links %" PRIu64 ", model %zu", info.links, m->nlinks);
    return -1;
  }
  /* every id ever used: present with identical contents, or missing */
  static uint64_t ids[1000];
  for (uint64_t lo = 1; lo < m->next_id; lo += 1000) {
    size_t n = 0;
    for (uint64_t id = lo; id < m->next_id && n < 1000; id++) ids[n++] = id;
    precis_points *p = NULL;
    rc = precis_get(c, COLL, ids, n, 1, &p, &err);
    cr_assert_eq(rc, PRECIS_OK, "get: %s", err.msg);
    for (size_t i = 0; i < p->n_missing; i++)
      if (m->ver[p->missing[i]]) {
        snprintf(why, wn, "point %" PRIu64 " (version %u) is missing", p->missing[i],
                 m->ver[p->missing[i]]);
        precis_points_free(p);
        return -1;
      }
    for (size_t i = 0; i < p->n; i++) {
      const precis_stored_point *sp = &p->points[i];
      uint32_t ver = m->ver[sp->id];
      float v[DIM];
      char t[64], mt[96];
      if (!ver) {
        snprintf(why, wn, "point %" PRIu64 " exists but should not", sp->id);
      } else {
        vec_of(sp->id, ver, v);
        text_of(sp->id, ver, t, sizeof t);
        meta_of(sp->id, ver, mt, sizeof mt);
        if (sp->dim != DIM || !sp->vector || memcmp(sp->vector, v, sizeof v))
          snprintf(why, wn, "point %" PRIu64 ": vector differs from version %u", sp->id, ver);
        else if (strcmp(sp->text, t))
          snprintf(why, wn, "point %" PRIu64 ": text '%s', expected '%s'", sp->id, sp->text, t);
        else if (strcmp(sp->metadata, mt))
          snprintf(why, wn, "point %" PRIu64 ": metadata '%s', expected '%s'", sp->id, sp->metadata,
                   mt);
        else
          continue;
      }
      precis_points_free(p);
      return -1;
    }
    if (p->n + p->n_missing != n) {
      snprintf(why, wn, "get returned %zu + %zu of %zu", p->n, p->n_missing, n);
      precis_points_free(p);
      return -1;
    }
    precis_points_free(p);
  }
  /* links: the out-links of every live point that ever had one */
  static mlink want[MAXL], got[MAXL];
  for (uint64_t id = 1; id < m->next_id; id++) {
    if (!g_ever_src[id] || !m->ver[id]) continue;
    size_t nw = 0, ng = 0;
    for (size_t i = 0; i < m->nlinks; i++)
      if (m->links[i].src == id) want[nw++] = m->links[i];
    precis_edge *e = NULL;
    size_t ne = 0;
    rc = precis_edges_list(c, COLL, id, PRECIS_EDGES_LINKS | PRECIS_EDGES_OUT, NULL, &e, &ne, &err);
    cr_assert_eq(rc, PRECIS_OK, "edges of %" PRIu64 ": %s", id, err.msg);
    int bad = 0;
    for (size_t i = 0; i < ne && ng < MAXL; i++) {
      int k = kind_index(e[i].kind), w = weight_index(e[i].weight);
      if (e[i].src != id || k < 0 || w < 0) bad = 1;
      got[ng++] = (mlink){e[i].src, e[i].dst, (uint8_t)(k < 0 ? 0 : k), (uint8_t)(w < 0 ? 0 : w)};
    }
    precis_edges_free(e);
    qsort(want, nw, sizeof *want, cmp_link);
    qsort(got, ng, sizeof *got, cmp_link);
    if (bad || nw != ng || memcmp(want, got, nw * sizeof *want)) {
      snprintf(why, wn, "point %" PRIu64 ": %zu out-links, model has %zu%s", id, ng, nw,
               bad ? " (unknown kind or weight)" : " (or they differ)");
      return -1;
    }
  }
  return 0;
}

/* Searches on the chosen model: exact top-1 on each sampled point's own
 * vector (and on every point of the last batch) is that point; the ANN
 * top-10 contains it for all but a few. */
static void check_search(precis_conn *c, const model *m) {
  precis_error err;
  uint64_t sample[160];
  size_t n = 0;
  for (size_t i = 0; i < g_ntouched && n < 64; i++)
    if (m->ver[g_touched[i]]) sample[n++] = g_touched[i];
  for (int i = 0; i < 96 && m->live; i++) sample[n++] = pick_live(m);
  size_t ann_miss = 0;
  precis_search_opts exact = {1, 0, 0};
  for (size_t i = 0; i < n; i++) {
    float v[DIM];
    vec_of(sample[i], m->ver[sample[i]], v);
    precis_hit h[10];
    size_t nh = 0;
    int rc = precis_search(c, COLL, v, DIM, 1, &exact, h, &nh, &err);
    cr_assert_eq(rc, PRECIS_OK, "exact search: %s", err.msg);
    cr_assert(nh == 1 && h[0].id == sample[i],
              "exact search for point %" PRIu64 " found %" PRIu64 " (score %g)", sample[i],
              nh ? h[0].id : 0, nh ? h[0].score : 0.0);
    rc = precis_search(c, COLL, v, DIM, 10, NULL, h, &nh, &err);
    cr_assert_eq(rc, PRECIS_OK, "search: %s", err.msg);
    int found = 0;
    for (size_t j = 0; j < nh; j++) found |= h[j].id == sample[i];
    ann_miss += !found;
  }
  cr_assert_leq(ann_miss, 1 + n / 50, "ANN search missed %zu of %zu live points", ann_miss, n);
}

/* ---- the killer ---- */

typedef struct {
  pid_t pid;
  int delay_ms;
} killer_arg;

static void *killer(void *p) {
  killer_arg *k = p;
  struct timespec ts = {k->delay_ms / 1000, (long)(k->delay_ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
  kill(k->pid, SIGKILL);
  return NULL;
}

static int env_int(const char *name, int dflt) {
  const char *s = getenv(name);
  return s && *s ? atoi(s) : dflt;
}

Test(crash_server, sigkill_during_writes, .timeout = 3600) {
  int cycles = env_int("PRECIS_CRASH_CYCLES", 20);
  g_rng = (uint64_t)env_int("PRECIS_CRASH_SEED", (int)time(NULL));
  cr_log_info("crash_server: %d cycles, seed %" PRIu64, cycles, g_rng);
  uint64_t seed = g_rng;
  char *dir = tu_tmpdir("crash-server");
  cr_assert(dir);
  memset(&g_cur, 0, sizeof g_cur);
  g_cur.next_id = 1;
  int pending = 0;
  uint64_t applied = 0, not_applied = 0, acked = 0;
  char why[512], why2[512];
  for (int cycle = 0; cycle < cycles; cycle++) {
    srvproc srv;
    const char *extra[] = {"--workers", "2", NULL};
    int port = srvproc_start(dir, extra, &srv);
    cr_assert_gt(port, 0, "cycle %d: precisd did not restart", cycle);
    precis_conn *c = NULL;
    precis_error err;
    int rc = precis_connect("127.0.0.1", (uint16_t)port, NULL, 20000, &c, &err);
    cr_assert_eq(rc, PRECIS_OK, "connect: %s", err.msg);
    if (cycle == 0) {
      precis_collection_config cfg;
      precis_collection_config_init(&cfg, DIM);
      cfg.metric = PRECIS_METRIC_L2;
      cfg.index_spec = "HNSW16";
      cfg.knn_k = 4;
      rc = precis_collection_create(c, COLL, &cfg, NULL, &err);
      cr_assert_eq(rc, PRECIS_OK, "create: %s", err.msg);
    } else {
      /* the state is the model after the batch in flight, or before it */
      const model *chosen = &g_cur;
      if (!pending) {
        if (check_state(c, &g_cur, why, sizeof why)) {
          srvproc_dump_log(&srv);
          cr_assert_fail("cycle %d (seed %" PRIu64 "): %s", cycle, seed, why);
        }
      } else if (check_state(c, &g_next, why, sizeof why) == 0) {
        applied++;
        chosen = &g_next;
        g_cur = g_next;
      } else if (check_state(c, &g_cur, why2, sizeof why2) == 0) {
        not_applied++;
      } else {
        srvproc_dump_log(&srv);
        cr_assert_fail("cycle %d (seed %" PRIu64
                       "): the unacknowledged batch is half "
                       "visible or an acknowledged write is lost:\n  vs after: %s\n"
                       "  vs before: %s",
                       cycle, seed, why, why2);
      }
      check_search(c, chosen);
      if (cycle == 1) {
        /* the checker is not vacuous: a model with one wrong version, or
         * one link too many, is rejected */
        static model bad;
        bad = *chosen;
        uint64_t id = pick_live(&bad);
        bad.ver[id]++;
        cr_assert_neq(check_state(c, &bad, why, sizeof why), 0, "checker missed a wrong version");
        bad = *chosen;
        uint64_t s = pick_live(&bad), d = pick_live(&bad);
        bad.links[bad.nlinks++] = (mlink){s, d, 0, 0};
        g_ever_src[s] = 1;
        cr_assert_neq(check_state(c, &bad, why, sizeof why), 0, "checker missed a lost link");
      }
    }
    pending = 0;
    /* stream batches until the killer strikes */
    killer_arg ka = {srv.pid, 50 + (int)rnd(500)};
    pthread_t kt;
    cr_assert_eq(pthread_create(&kt, NULL, killer, &ka), 0);
    for (;;) {
      rc = run_batch(c);
      if (rc != PRECIS_OK) {
        pending = 1;
        break;
      }
      g_cur = g_next;
      acked++;
    }
    pthread_join(kt, NULL);
    precis_close(c);
    srvproc_kill9(&srv);
    srvproc_cleanup(&srv);
  }
  /* a final restart and check, then a clean stop */
  srvproc srv;
  int port = srvproc_start(dir, NULL, &srv);
  cr_assert_gt(port, 0);
  precis_conn *c = NULL;
  precis_error err;
  cr_assert_eq(precis_connect("127.0.0.1", (uint16_t)port, NULL, 20000, &c, &err), PRECIS_OK);
  if (check_state(c, &g_next, why, sizeof why) == 0) {
    applied++;
    g_cur = g_next;
  } else if (check_state(c, &g_cur, why2, sizeof why2) == 0) {
    not_applied++;
  } else {
    cr_assert_fail("final (seed %" PRIu64 "): %s / %s", seed, why, why2);
  }
  check_search(c, &g_cur);
  precis_close(c);
  cr_assert_eq(srvproc_stop(&srv), 0, "precisd did not stop cleanly");
  srvproc_cleanup(&srv);
  cr_log_info("crash_server: %d kills, %" PRIu64 " acknowledged batches (%" PRIu64
              " upserts, %" PRIu64 " deletes, %" PRIu64 " link adds, %" PRIu64
              " link removes; %" PRIu64 " items), in-flight batches applied %" PRIu64
              " / not applied %" PRIu64 ", final %" PRIu64 " live points, %zu links",
              cycles, acked, g_ops[0], g_ops[1], g_ops[2], g_ops[3], g_items, applied, not_applied,
              g_cur.live, g_cur.nlinks);
  tu_rmrf_free(dir);
}
