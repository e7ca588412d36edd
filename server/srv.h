/* srv.h: what the parts of precisd share: the configuration, the server
 * context and its counters. Internal to server/. */
#ifndef PRECIS_SERVER_SRV_H
#define PRECIS_SERVER_SRV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#ifndef PRECIS_VERSION
#define PRECIS_VERSION "0.1.0"
#endif

#define SRV_DEFAULT_PORT           7878
#define SRV_DEFAULT_WORKERS        2
#define SRV_MAX_WORKERS            256
#define SRV_DEFAULT_QUEUE_DEPTH    4096 /* requests queued for the workers */
#define SRV_DEFAULT_SHUTDOWN_GRACE 10   /* seconds to finish in-flight work */

typedef struct srv_config {
  char *listen;    /* address to bind, default 127.0.0.1 */
  int port;        /* 0 = ephemeral */
  char *port_file; /* write the bound port here (optional) */
  char *data_dir;  /* required */
  int workers;
  uint32_t max_frame; /* <= PRECIS_HARD_MAX_FRAME */
  int max_connections;
  int idle_timeout_s; /* 0 = never */
  int log_level;
  char *auth_token_file; /* optional */
  int queue_depth;
  int shutdown_grace_s;
  int sync_writes; /* engine option, default 1 */
  /* ---- hardening (issue 11; defaults in srv_limits.h, docs/SECURITY.md) ---- */
  int auth_timeout_s;           /* close unauthenticated connections after */
  int frame_timeout_s;          /* to complete a frame once it started */
  int send_timeout_s;           /* close a connection whose output stalls */
  int max_auth_failures;        /* failed auths before the connection closes */
  uint64_t max_conn_output;     /* unsent response bytes per connection */
  uint64_t max_inflight_memory; /* all queued requests + unsent responses */
  uint64_t max_index_memory;    /* estimated ANN bytes per collection */
  /* fairness and the remaining gaps (issue 11, second pass) */
  uint64_t max_read_rate;    /* bytes/s one connection may send; 0 = off */
  int bulk_workers;          /* workers that may decode large requests at
                                 * once; 0 = workers - 1 (at least 1) */
  int max_conns_per_address; /* open connections per peer IP; 0 = off */
  int max_snapshots;         /* snapshots in the snapshot dir; 0 = off */
  int worker_send;           /* workers send small responses (issue 13) */
  int poll_us;               /* busy-poll the ring after activity (loop.c) */
  int group_commit;          /* queued upserts to one collection written together (job.c) */
  /* metrics and snapshots (docs/OPERATIONS.md) */
  char *metrics_listen;    /* HOST:PORT of the Prometheus endpoint; NULL = off */
  char *metrics_port_file; /* write the metrics port here (optional) */
  char *snapshot_dir;      /* where snapshots go; NULL = <data-dir>/snapshots */
  char *restore_from;      /* a snapshot to restore into data_dir at startup */
  /* index upkeep (index/core/upkeep.h, docs/OPERATIONS.md) */
  uint64_t index_save_ops;     /* save an index after this many changes; 0 = off;
                                  UINT64_MAX = engine default */
  uint64_t index_save_seconds; /* ... or this long after its first unsaved change */
} srv_config;

/* Initialise with defaults; srv_config_free() releases the strings. */
void srv_config_init(srv_config *c);
void srv_config_free(srv_config *c);
/* Parse argv (flags override the --config file). Returns 0, 1 when the
 * program should exit successfully (--help, --version), -1 on error
 * (already reported on stderr). */
int srv_config_parse(srv_config *c, int argc, char **argv);

typedef struct srv_stats {
  atomic_uint_fast64_t connections;       /* open now */
  atomic_uint_fast64_t connections_total; /* accepted since start */
  atomic_uint_fast64_t requests;
  atomic_uint_fast64_t errors;   /* responses with status != OK */
  atomic_uint_fast64_t inflight; /* requests queued or running */
  atomic_uint_fast64_t bytes_in;
  atomic_uint_fast64_t bytes_out;
  atomic_uint_fast64_t group_commits;    /* upsert groups written together (job.c) */
  atomic_uint_fast64_t group_requests;   /* the upserts in them */
  atomic_uint_fast64_t loop_sleeps;      /* times the loop blocked for a completion */
  atomic_uint_fast64_t loop_poll_hits;   /* a completion came while polling */
  atomic_uint_fast64_t loop_poll_misses; /* polled --poll-us in vain, then slept */
} srv_stats;

typedef struct srv_server {
  srv_config cfg;
  engine *eng;
  char *token; /* auth token, NULL = auth off; never logged */
  size_t token_len;
  uint64_t start_ms; /* monotonic */
  srv_stats st;
  struct srv_metrics *metrics; /* NULL unless --metrics-listen (srv_metrics.h) */
} srv_server;

/* Monotonic milliseconds. */
uint64_t srv_now_ms(void);

#endif
