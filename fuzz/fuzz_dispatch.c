/* fuzz_dispatch.c: libFuzzer target for a whole request: protobuf decoding,
 * server/dispatch.c and the engine behind it.
 *
 * LLVMFuzzerInitialize opens one engine in a temporary directory (WAL sync
 * off, for speed) with two small collections the seed corpus names: "c"
 * (dim 4, ip, Flat) and "h" (dim 4, cosine, HNSW16), 32 points each with
 * text, metadata and links. Each input is decoded as a precis.v1.Request
 * (inputs over 16 KiB are ignored) after the loop's pre-decode check
 * srv_check_request() (refused inputs stop there), dispatched with
 * srv_dispatch() and the
 * response frame is checked: present, decodable, same id, and a status code
 * the protocol defines. Snapshots are skipped (each would add a RocksDB
 * checkpoint to the disk) and graph rebuilds run with one thread. Every
 * 4096 inputs, all collections are dropped and the two recreated, so the
 * state the fuzzer builds up stays small. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "frame.h"
#include "precis.pb-c.h"
#include "srv.h"
#include "srv_dispatch.h"
#include "srv_log.h"

#define FUZZ_MAX_INPUT (16u << 10)
#define RESET_EVERY    4096

/* server/main.c defines this for precisd; the harness does not link main.c */
uint64_t srv_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static srv_server S;
static char dir_tmpl[] = "/tmp/precis-fuzz-dispatch-XXXXXX";
static unsigned long n_inputs;

static void seed_collection(const char *name, engine_metric m, const char *spec) {
  precis_error err;
  engine_collection_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.dim = 4;
  cfg.metric = m;
  snprintf(cfg.index_spec, sizeof cfg.index_spec, "%s", spec);
  if (engine_collection_create(S.eng, name, &cfg, &err)) {
    fprintf(stderr, "fuzz_dispatch: create %s: %s\n", name, err.msg);
    abort();
  }
  float v[32][4];
  char text[32][24];
  engine_point_in pts[32];
  for (int i = 0; i < 32; i++) {
    for (int j = 0; j < 4; j++) v[i][j] = (float)((i * 7 + j * 3) % 11) - 5.0f;
    v[i][i % 4] += 0.5f;
    snprintf(text[i], sizeof text[i], "point %d", i);
    pts[i] =
        (engine_point_in){(uint64_t)i + 1, v[i], 4, text[i], strlen(text[i]), "{\"i\":1}", 7, -1};
  }
  if (engine_upsert(S.eng, name, pts, 32, &err)) abort();
  engine_edge links[8];
  for (int i = 0; i < 8; i++) {
    links[i].src = (uint64_t)i + 1;
    links[i].dst = (uint64_t)i + 2;
    snprintf(links[i].kind, sizeof links[i].kind, "next");
    links[i].weight = 0.5f;
  }
  if (engine_links_change(S.eng, name, links, 8, true, NULL, &err)) abort();
}

static void reset_state(void) {
  precis_error err;
  engine_collection_info *infos = NULL;
  size_t n = 0;
  if (engine_collection_list(S.eng, &infos, &n, &err) == 0) {
    for (size_t i = 0; i < n; i++) engine_collection_drop(S.eng, infos[i].name, &err);
    free(infos);
  }
  seed_collection("c", ENGINE_METRIC_IP, "Flat");
  seed_collection("h", ENGINE_METRIC_COSINE, "HNSW16");
}

static void cleanup_dir(void) {
  if (S.eng) engine_close(S.eng);
  S.eng = NULL;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir_tmpl);
  if (system(cmd)) {}
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  srv_log_set_level(SRV_LOG_ERROR + 1);
  if (!mkdtemp(dir_tmpl)) abort();
  srv_config_init(&S.cfg);
  S.cfg.data_dir = strdup(dir_tmpl);
  S.cfg.max_frame = PRECIS_DEFAULT_MAX_FRAME;
  S.cfg.workers = 1;
  S.start_ms = srv_now_ms();
  engine_options eo;
  engine_options_default(&eo);
  eo.sync_writes = 0;
  precis_error err;
  if (engine_open(dir_tmpl, &eo, &S.eng, &err)) {
    fprintf(stderr, "fuzz_dispatch: engine_open: %s\n", err.msg);
    abort();
  }
  reset_state();
  atexit(cleanup_dir);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX_INPUT) return 0;
  if (++n_inputs % RESET_EVERY == 0) reset_state();
  /* the loop's pre-decode check (wirecheck.h): what it refuses is never
   * decoded; what it passes must decode and hold only valid strings */
  wirecheck_result chk;
  precis_error cerr = {0};
  int crc = srv_check_request(data, size, &chk, &cerr);
  Precis__V1__Request *req = precis__v1__request__unpack(NULL, size, data);
  if (crc) {
    assert(cerr.msg[0] != 0);
    if (req) precis__v1__request__free_unpacked(req, NULL);
    return 0;
  }
  if (!req) return 0;
  /* what the loop answers itself, never dispatching */
  if (req->op_case == PRECIS__V1__REQUEST__OP__NOT_SET ||
      req->op_case == PRECIS__V1__REQUEST__OP_SNAPSHOT) {
    precis__v1__request__free_unpacked(req, NULL);
    return 0;
  }
  uint8_t *out = NULL;
  size_t out_len = 0;
  int code = srv_dispatch(&S, req, &out, &out_len);
  assert(out != NULL);
  assert(out_len >= FRAME_HEADER_BYTES);
  assert(frame_get_header(out) == out_len - FRAME_HEADER_BYTES);
  Precis__V1__Response *resp =
      precis__v1__response__unpack(NULL, out_len - FRAME_HEADER_BYTES, out + FRAME_HEADER_BYTES);
  assert(resp != NULL);
  assert(resp->id == req->id);
  assert(resp->status != NULL);
  assert((int)resp->status->code == code);
  assert(code >= 0 && code < PRECIS__STATUS_COUNT);
  /* hostile input must be refused with a client error, never reach an
   * internal error or look like stored-data corruption */
  assert(code != PRECIS_E_INTERNAL && code != PRECIS_E_CORRUPTION);
  if (code == 0)
    assert(resp->result_case != PRECIS__V1__RESPONSE__RESULT__NOT_SET);
  else
    assert(resp->result_case == PRECIS__V1__RESPONSE__RESULT__NOT_SET);
  precis__v1__response__free_unpacked(resp, NULL);
  free(out);
  precis__v1__request__free_unpacked(req, NULL);
  return 0;
}
