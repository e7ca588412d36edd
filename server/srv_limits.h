/* srv_limits.h: precisd's resource bounds that are server tuning rather than
 * protocol (the protocol's limits are in include/precis/limits.h). Each
 * configurable one has a flag and a --config key (server/config.c); every
 * one is listed with its purpose in docs/SECURITY.md. Internal to server/. */
#ifndef PRECIS_SERVER_SRV_LIMITS_H
#define PRECIS_SERVER_SRV_LIMITS_H

/* ---- deadlines (seconds; flags of the same name) ---- */
#define SRV_DEFAULT_IDLE_TIMEOUT      300 /* --idle-timeout: no request, nothing owed */
#define SRV_DEFAULT_AUTH_TIMEOUT      10  /* --auth-timeout: to authenticate */
#define SRV_DEFAULT_FRAME_TIMEOUT     30  /* --frame-timeout: to finish a frame */
#define SRV_DEFAULT_SEND_TIMEOUT      30  /* --send-timeout: without send progress */
#define SRV_DEFAULT_MAX_AUTH_FAILURES 5   /* --max-auth-failures per connection */

/* ---- memory ---- */
/* --max-conn-output: unsent response bytes one connection may hold; a larger
 * response beyond it is replaced by BUSY (a response always fits when
 * nothing else waits). */
#define SRV_DEFAULT_MAX_CONN_OUTPUT (64ull << 20)
/* --max-inflight-memory: decoded requests queued or running plus unsent
 * responses, over all connections; requests beyond it get BUSY. */
#define SRV_DEFAULT_MAX_INFLIGHT_MEMORY (1ull << 30)
/* --max-index-memory: estimated ANN index size of one collection. */
#define SRV_DEFAULT_MAX_INDEX_MEMORY (8ull << 30)

/* ---- connections (moved from include/precis/limits.h: server tuning is
 * not part of the installed API) ---- */
#define SRV_DEFAULT_MAX_CONNECTIONS 1024 /* --max-connections */
/* list_snapshots returns at most this many (server/snapshot.c). */
#define SRV_MAX_SNAPSHOTS_LISTED 4096
/* --max-read-rate: bytes per second one connection may send once its burst
 * (a quarter second of the rate, at least SRV_READ_BURST_MIN) is spent; a
 * faster sender is not read until its bucket refills (TCP then slows it
 * down), so one client streaming huge frames cannot take the loop, the
 * workers and the CPU from the others. 0 = unlimited. */
#define SRV_DEFAULT_MAX_READ_RATE (64ull << 20)
#define SRV_READ_BURST_MIN        (1u << 20)
/* --max-snapshots: snapshots kept in the snapshot directory. */
#define SRV_DEFAULT_MAX_SNAPSHOTS 64
/* --max-connections-per-address: off by default (every loopback client
 * shares one address); set it when --listen reaches beyond loopback. */
#define SRV_DEFAULT_MAX_CONNS_PER_ADDRESS 0

/* Requests of one connection with the workers at once (queued or running;
 * the rest wait undecoded in its buffer): the shared FIFO work queue then
 * holds at most this many jobs of any one client ahead of another's, which
 * bounds how long one pipelining client can delay the others
 * (docs/PROTOCOL.md, flow control). */
#define SRV_CONN_MAX_INFLIGHT 8

/* Responses up to this size may be sent by the worker that made them when
 * the connection's socket is free (--worker-send; issue 13). */
#define SRV_DIRECT_SEND_MAX (64u << 10)

/* --poll-us: after the loop handled a receive, send, accept or worker
 * completion it busy-polls its ring this long (yielding the CPU to any
 * runnable thread) before it sleeps, so that the next request or completion
 * of a busy connection does not pay a sleeping thread's wake-up (loop.c).
 * An idle server does not poll. */
#define SRV_DEFAULT_POLL_US 0 /* off: no gain measured for worker requests */
#define SRV_MAX_POLL_US     10000

/* Reads pause while a connection's unsent output or decoded in-flight
 * requests exceed these (resumed when drained). */
#define SRV_OUT_HIGH           (8u << 20)
#define SRV_CONN_INFLIGHT_HIGH (64u << 20)
/* Responses up to this size are never replaced by BUSY (writes, statuses). */
#define SRV_SMALL_RESPONSE 4096u
/* Largest frame accepted before authentication (when auth is on). */
#define SRV_PREAUTH_MAX_FRAME (64u << 10)
/* Decoded-size bound of one request: twice its frame plus this. */
#define SRV_DECODE_SLACK (32u << 20)
/* Requests larger than this are decoded on a worker (the loop copies the
 * bytes), smaller ones on the loop. */
#define SRV_DECODE_INLINE (64u << 10)
/* A frame above this size is refused (BUSY) while the global in-flight
 * budget is spent, before it is buffered. */
#define SRV_BIG_FRAME (1u << 20)
/* At most one "authentication failed" line per this many ms. */
#define SRV_AUTH_LOG_INTERVAL_MS 1000u
/* Shutdown: how long to wait for cancelled ring operations. */
#define SRV_REAP_MS 2000u

#endif
