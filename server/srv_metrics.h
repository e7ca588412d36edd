/* srv_metrics.h: Prometheus metrics of precisd (docs/OPERATIONS.md).
 *
 * Counters and histograms are relaxed atomics updated by two hooks: one per
 * dispatched request (srv_dispatch, any thread) and one per retrieve (its
 * stage timings and set figures). Everything else is read at scrape time
 * from what the server already keeps (srv_stats) and from the engine
 * (storage properties, collection descriptions). The HTTP endpoint
 * (--metrics-listen ADDR:PORT, libmicrohttpd with its own thread) serves
 * GET /metrics in the Prometheus text format 0.0.4.
 *
 * Ownership: srv_metrics_create() returns a handle that srv_metrics_destroy()
 * frees; it must outlive every hook call (create before the workers start,
 * destroy after they stop). srv_metrics_serve() starts the endpoint;
 * srv_metrics_destroy() stops it, and must run before the engine closes.
 * The hooks accept NULL (metrics off) and do nothing. */
#ifndef PRECIS_SERVER_SRV_METRICS_H
#define PRECIS_SERVER_SRV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct srv_server;
typedef struct srv_metrics srv_metrics;

/* NULL on allocation failure. `s` is borrowed for the handle's lifetime. */
srv_metrics *srv_metrics_create(struct srv_server *s);
/* Listen on `addr` ("HOST:PORT", "[V6]:PORT"; port 0 = ephemeral) and serve
 * /metrics from a thread of its own. *port_out receives the bound port.
 * Returns 0, or -1 after logging why. */
int srv_metrics_serve(srv_metrics *m, const char *addr, int *port_out);
void srv_metrics_destroy(srv_metrics *m);

/* A request finished: `op` is its Request.op case (field number), `code` its
 * status, `us` the time from dispatch to encoded response. */
void srv_metrics_request(srv_metrics *m, int op, int code, uint64_t us);
/* Dispatches in progress (for the queue-depth gauge): +1 / -1. */
void srv_metrics_busy(srv_metrics *m, int delta);
/* A retrieve succeeded: stage timings, pool and selected-set figures. */
void srv_metrics_retrieve(srv_metrics *m, const engine_retrieve_result *r);

/* Render the whole exposition into a malloc'd NUL-terminated buffer (the
 * caller frees it); NULL on allocation failure. Used by the endpoint and
 * by tests. */
char *srv_metrics_render(srv_metrics *m, size_t *len);

/* Monotonic microseconds. */
uint64_t srv_now_us(void);

/* Resident set size of this process in bytes (/proc/self/statm); 0 when
 * unknown. */
uint64_t srv_rss_bytes(void);

#endif
