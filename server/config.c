/* config.c: precisd flags and the optional config file.
 *
 * Every option is a flag `--name VALUE` (or `--name=VALUE`) and a config
 * file line `name = VALUE` (`#` starts a comment, `_` may replace `-` in
 * names). The file named by --config is read first; flags override it. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precis/limits.h"
#include "srv.h"
#include "srv_limits.h"
#include "srv_log.h"

static const char usage[] =
    "usage: precisd --data-dir DIR [options]\n"
    "  --config FILE            read `key = value` lines (flags override)\n"
    "  --listen ADDR            address to bind (default 127.0.0.1)\n"
    "  --port N                 TCP port (default 7878; 0 = ephemeral)\n"
    "  --port-file FILE         write the bound port to FILE once listening\n"
    "  --data-dir DIR           data directory (required)\n"
    "  --workers N              engine worker threads (default 2)\n"
    "  --max-frame BYTES        largest request/response frame (default 64M,\n"
    "                           at most 256M; suffixes K, M accepted)\n"
    "  --max-connections N      concurrent connections (default 1024)\n"
    "  --idle-timeout SECONDS   close idle connections (default 300; 0 = never)\n"
    "  --log-level LEVEL        debug|info|warn|error (default info)\n"
    "  --auth-token-file FILE   require the `auth` op with this token\n"
    "  --queue-depth N          requests queued for the workers (default 4096)\n"
    "  --shutdown-grace SECONDS time to finish in-flight work (default 10)\n"
    "  --sync-writes 0|1        fsync the WAL on every write (default 1)\n"
    "  --metrics-listen HOST:PORT  serve Prometheus metrics at /metrics (off by\n"
    "                           default; port 0 = ephemeral)\n"
    "  --metrics-port-file FILE write the metrics port to FILE once listening\n"
    "  --snapshot-dir DIR       where `snapshot` writes (default DATA-DIR/snapshots)\n"
    "  --restore-from SNAPSHOT  first restore this snapshot into --data-dir, which\n"
    "                           must hold no database yet (docs/OPERATIONS.md)\n"
    "  --help, --version\n";

void srv_config_init(srv_config *c) {
  memset(c, 0, sizeof *c);
  c->listen = strdup("127.0.0.1");
  c->port = SRV_DEFAULT_PORT;
  c->workers = SRV_DEFAULT_WORKERS;
  c->max_frame = PRECIS_DEFAULT_MAX_FRAME;
  c->max_connections = SRV_DEFAULT_MAX_CONNECTIONS;
  c->idle_timeout_s = SRV_DEFAULT_IDLE_TIMEOUT;
  c->log_level = SRV_LOG_INFO;
  c->queue_depth = SRV_DEFAULT_QUEUE_DEPTH;
  c->shutdown_grace_s = SRV_DEFAULT_SHUTDOWN_GRACE;
  c->sync_writes = 1;
  /* hardening (issue 11) */
  c->auth_timeout_s = SRV_DEFAULT_AUTH_TIMEOUT;
  c->frame_timeout_s = SRV_DEFAULT_FRAME_TIMEOUT;
  c->send_timeout_s = SRV_DEFAULT_SEND_TIMEOUT;
  c->max_auth_failures = SRV_DEFAULT_MAX_AUTH_FAILURES;
  c->max_conn_output = SRV_DEFAULT_MAX_CONN_OUTPUT;
  c->max_inflight_memory = SRV_DEFAULT_MAX_INFLIGHT_MEMORY;
  c->max_index_memory = SRV_DEFAULT_MAX_INDEX_MEMORY;
  /* index upkeep: UINT64_MAX = the engine's default (engine_options) */
  c->index_save_ops = UINT64_MAX;
  c->index_save_seconds = UINT64_MAX;
  c->max_read_rate = SRV_DEFAULT_MAX_READ_RATE;
  c->max_snapshots = SRV_DEFAULT_MAX_SNAPSHOTS;
  c->worker_send = 1;
  c->poll_us = SRV_DEFAULT_POLL_US;
  c->group_commit = 1;
  c->max_conns_per_address = SRV_DEFAULT_MAX_CONNS_PER_ADDRESS;
}

void srv_config_free(srv_config *c) {
  free(c->listen);
  free(c->port_file);
  free(c->data_dir);
  free(c->auth_token_file);
  free(c->metrics_listen);
  free(c->metrics_port_file);
  free(c->snapshot_dir);
  free(c->restore_from);
  memset(c, 0, sizeof *c);
}

static int parse_long(const char *v, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || x < lo || x > hi) return -1;
  *out = x;
  return 0;
}

static int parse_bytes(const char *v, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || end == v || v[0] == '-') return -1;
  uint64_t mul = 1;
  if (*end == 'k' || *end == 'K')
    mul = 1u << 10, end++;
  else if (*end == 'm' || *end == 'M')
    mul = 1u << 20, end++;
  else if (*end == 'g' || *end == 'G')
    mul = 1u << 30, end++;
  if (*end == 'i' && mul > 1) end++; /* KiB, MiB */
  if (*end == 'b' || *end == 'B') end++;
  if (*end) return -1;
  if (x > UINT64_MAX / mul) return -1;
  *out = (uint64_t)x * mul;
  return 0;
}

static void set_str(char **dst, const char *v) {
  free(*dst);
  *dst = strdup(v);
}

/* ---- hardening options (issue 11; docs/SECURITY.md) ---- */
static const char usage_hardening[] =
    "resource bounds (docs/SECURITY.md):\n"
    "  --auth-timeout SECONDS   close connections not authenticated by then\n"
    "                           (default 10; 0 = never)\n"
    "  --frame-timeout SECONDS  time to complete a frame once its first byte\n"
    "                           arrived (default 30; 0 = never)\n"
    "  --send-timeout SECONDS   close a connection whose responses make no\n"
    "                           progress for this long (default 30; 0 = never)\n"
    "  --max-auth-failures N    failed auths before closing (default 5)\n"
    "  --max-conn-output BYTES  unsent responses per connection (default 64M)\n"
    "  --max-inflight-memory BYTES  decoded requests and unsent responses of\n"
    "                           all connections (default 1G)\n"
    "  --max-index-memory BYTES estimated ANN index size per collection\n"
    "                           (default 8G)\n"
    "  --max-read-rate BYTES    bytes per second one connection may send\n"
    "                           (default 64M; 0 = unlimited)\n"
    "  --bulk-workers N         workers that may decode large requests at once\n"
    "                           (default: workers - 1, at least 1)\n"
    "  --max-connections-per-address N  open connections per peer address\n"
    "                           (default 0 = unlimited)\n"
    "  --max-snapshots N        snapshots kept in the snapshot directory\n"
    "                           (default 64; 0 = unlimited)\n"
    "  --worker-send 0|1        a worker sends a small response itself when\n"
    "                           nothing else waits for the socket (default 1)\n"
    "  --poll-us N              after handling I/O the loop polls for the next\n"
    "                           completion this long before it sleeps (default 0:\n"
    "                           never poll)\n"
    "  --group-commit 0|1       upserts queued for one collection are written\n"
    "                           together, one WAL sync for all (default 1)\n";

/* 1 when key is not a hardening option, else 0 or -1 (reported). */
static int apply_hardening(srv_config *c, const char *key, const char *v, const char *where) {
  long x;
  uint64_t b;
  int *secs = !strcmp(key, "auth-timeout")    ? &c->auth_timeout_s
              : !strcmp(key, "frame-timeout") ? &c->frame_timeout_s
              : !strcmp(key, "send-timeout")  ? &c->send_timeout_s
                                              : NULL;
  uint64_t *bytes = !strcmp(key, "max-conn-output")       ? &c->max_conn_output
                    : !strcmp(key, "max-inflight-memory") ? &c->max_inflight_memory
                    : !strcmp(key, "max-index-memory")    ? &c->max_index_memory
                                                          : NULL;
  if (secs) {
    if (parse_long(v, 0, 86400L * 365, &x)) goto bad;
    *secs = (int)x;
  } else if (bytes) {
    if (parse_bytes(v, &b) || b < 4096) goto bad;
    *bytes = b;
  } else if (!strcmp(key, "max-read-rate")) {
    if (parse_bytes(v, &b) || (b && b < 4096)) goto bad;
    c->max_read_rate = b;
  } else if (!strcmp(key, "bulk-workers")) {
    if (parse_long(v, 0, SRV_MAX_WORKERS, &x)) goto bad;
    c->bulk_workers = (int)x;
  } else if (!strcmp(key, "max-connections-per-address")) {
    if (parse_long(v, 0, SRV_DEFAULT_MAX_CONNECTIONS * 64L, &x)) goto bad;
    c->max_conns_per_address = (int)x;
  } else if (!strcmp(key, "worker-send")) {
    if (parse_long(v, 0, 1, &x)) goto bad;
    c->worker_send = (int)x;
  } else if (!strcmp(key, "group-commit")) {
    if (parse_long(v, 0, 1, &x)) goto bad;
    c->group_commit = (int)x;
  } else if (!strcmp(key, "poll-us")) {
    if (parse_long(v, 0, SRV_MAX_POLL_US, &x)) goto bad;
    c->poll_us = (int)x;
  } else if (!strcmp(key, "max-snapshots")) {
    if (parse_long(v, 0, 1000000, &x)) goto bad;
    c->max_snapshots = (int)x;
  } else if (!strcmp(key, "max-auth-failures")) {
    if (parse_long(v, 1, 1000000, &x)) goto bad;
    c->max_auth_failures = (int)x;
  } else {
    return 1;
  }
  return 0;
bad:
  fprintf(stderr, "precisd: %s: invalid value '%s' for %s\n", where, v, key);
  return -1;
}

/* ---- index upkeep (index/core/upkeep.h; docs/OPERATIONS.md) ---- */
static const char usage_upkeep[] =
    "index upkeep (docs/OPERATIONS.md):\n"
    "  --index-save-ops N       save a collection's index after N changes\n"
    "                           (default 100000; 0 = not by count)\n"
    "  --index-save-seconds S   save it S seconds after its first unsaved\n"
    "                           change (default 300; 0 = not by time)\n";

/* 1 when key is not an upkeep option, else 0 or -1 (reported). */
static int apply_upkeep(srv_config *c, const char *key, const char *v, const char *where) {
  long x;
  if (!strcmp(key, "index-save-ops")) {
    if (parse_long(v, 0, 1L << 40, &x)) goto bad;
    c->index_save_ops = (uint64_t)x;
  } else if (!strcmp(key, "index-save-seconds")) {
    if (parse_long(v, 0, 86400L * 365, &x)) goto bad;
    c->index_save_seconds = (uint64_t)x;
  } else {
    return 1;
  }
  return 0;
bad:
  fprintf(stderr, "precisd: %s: invalid value '%s' for %s\n", where, v, key);
  return -1;
}

/* Apply one option; `where` names its origin for messages. */
static int apply(srv_config *c, const char *key, const char *v, const char *where) {
  long x;
  uint64_t b;
  int hr = apply_hardening(c, key, v, where);
  if (hr <= 0) return hr;
  hr = apply_upkeep(c, key, v, where);
  if (hr <= 0) return hr;
  if (!strcmp(key, "listen")) {
    set_str(&c->listen, v);
  } else if (!strcmp(key, "port")) {
    if (parse_long(v, 0, 65535, &x)) goto bad;
    c->port = (int)x;
  } else if (!strcmp(key, "port-file")) {
    set_str(&c->port_file, v);
  } else if (!strcmp(key, "data-dir")) {
    set_str(&c->data_dir, v);
  } else if (!strcmp(key, "workers")) {
    if (parse_long(v, 1, SRV_MAX_WORKERS, &x)) goto bad;
    c->workers = (int)x;
  } else if (!strcmp(key, "max-frame")) {
    if (parse_bytes(v, &b) || b < 16 || b > PRECIS_HARD_MAX_FRAME) {
      fprintf(stderr, "precisd: %s: max-frame must be 16..%u bytes\n", where,
              PRECIS_HARD_MAX_FRAME);
      return -1;
    }
    c->max_frame = (uint32_t)b;
  } else if (!strcmp(key, "max-connections")) {
    if (parse_long(v, 1, SRV_DEFAULT_MAX_CONNECTIONS * 64L, &x)) goto bad;
    c->max_connections = (int)x;
  } else if (!strcmp(key, "idle-timeout")) {
    if (parse_long(v, 0, 86400L * 365, &x)) goto bad;
    c->idle_timeout_s = (int)x;
  } else if (!strcmp(key, "log-level")) {
    int l = srv_log_parse_level(v);
    if (l < 0) goto bad;
    c->log_level = l;
  } else if (!strcmp(key, "auth-token-file")) {
    set_str(&c->auth_token_file, v);
  } else if (!strcmp(key, "queue-depth")) {
    if (parse_long(v, 1, 1L << 20, &x)) goto bad;
    c->queue_depth = (int)x;
  } else if (!strcmp(key, "shutdown-grace")) {
    if (parse_long(v, 0, 3600, &x)) goto bad;
    c->shutdown_grace_s = (int)x;
  } else if (!strcmp(key, "sync-writes")) {
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
      c->sync_writes = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
      c->sync_writes = 0;
    else
      goto bad;
  } else if (!strcmp(key, "metrics-listen")) {
    set_str(&c->metrics_listen, v);
  } else if (!strcmp(key, "metrics-port-file")) {
    set_str(&c->metrics_port_file, v);
  } else if (!strcmp(key, "snapshot-dir")) {
    set_str(&c->snapshot_dir, v);
  } else if (!strcmp(key, "restore-from")) {
    set_str(&c->restore_from, v);
  } else {
    fprintf(stderr, "precisd: %s: unknown option '%s'\n%s", where, key, usage);
    return -1;
  }
  return 0;
bad:
  fprintf(stderr, "precisd: %s: invalid value '%s' for %s\n", where, v, key);
  return -1;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
  return s;
}

static void normalise_key(char *k) {
  for (; *k; k++)
    if (*k == '_') *k = '-';
}

static int load_file(srv_config *c, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "precisd: cannot read config %s: %s\n", path, strerror(errno));
    return -1;
  }
  char line[4096];
  int lineno = 0, rc = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *s = trim(line);
    if (!*s) continue;
    char *eq = strchr(s, '=');
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "%s:%d", path, lineno);
    if (!eq) {
      fprintf(stderr, "precisd: %s: expected `key = value`\n", where);
      rc = -1;
      break;
    }
    *eq = 0;
    char *key = trim(s), *val = trim(eq + 1);
    size_t vl = strlen(val);
    if (vl >= 2 &&
        ((val[0] == '"' && val[vl - 1] == '"') || (val[0] == '\'' && val[vl - 1] == '\''))) {
      val[vl - 1] = 0;
      val++;
    }
    normalise_key(key);
    if (!strcmp(key, "config") || apply(c, key, val, where)) {
      if (!strcmp(key, "config")) fprintf(stderr, "precisd: %s: config files do not nest\n", where);
      rc = -1;
      break;
    }
  }
  fclose(f);
  return rc;
}

/* Split argv[i] into a flag name and value; advances *i past a separate
 * value. Returns 0, 1 for a non-option argument, -1 on a missing value. */
static int flag_at(int argc, char **argv, int *i, char *name, size_t cap, const char **val) {
  const char *a = argv[*i];
  if (strncmp(a, "--", 2) != 0) return 1;
  a += 2;
  const char *eq = strchr(a, '=');
  size_t n = eq ? (size_t)(eq - a) : strlen(a);
  if (n >= cap) n = cap - 1;
  memcpy(name, a, n);
  name[n] = 0;
  normalise_key(name);
  if (!strcmp(name, "help") || !strcmp(name, "version")) {
    *val = NULL;
    return 0;
  }
  if (eq) {
    *val = eq + 1;
  } else {
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
  }
  return 0;
}

int srv_config_parse(srv_config *c, int argc, char **argv) {
  char name[64];
  const char *val;
  /* pass 1: --help, --version, --config */
  const char *config = NULL;
  for (int i = 1; i < argc; i++) {
    int r = flag_at(argc, argv, &i, name, sizeof name, &val);
    if (r == 1) {
      fprintf(stderr, "precisd: unexpected argument '%s'\n%s", argv[i], usage);
      return -1;
    }
    if (r < 0) {
      fprintf(stderr, "precisd: --%s needs a value\n", name);
      return -1;
    }
    if (!strcmp(name, "help")) {
      fputs(usage, stdout);
      fputs(usage_hardening, stdout);
      fputs(usage_upkeep, stdout);
      return 1;
    }
    if (!strcmp(name, "version")) {
      printf("precisd %s\n", PRECIS_VERSION);
      return 1;
    }
    if (!strcmp(name, "config")) config = val;
  }
  if (config && load_file(c, config)) return -1;
  /* pass 2: flags override the file */
  for (int i = 1; i < argc; i++) {
    flag_at(argc, argv, &i, name, sizeof name, &val);
    if (!strcmp(name, "config")) continue;
    if (apply(c, name, val, "command line")) return -1;
  }
  if (!c->data_dir || !*c->data_dir) {
    fprintf(stderr, "precisd: --data-dir is required\n%s", usage);
    return -1;
  }
  return 0;
}
