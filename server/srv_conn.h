/* srv_conn.h: one client connection's state, owned by the event loop.
 *
 * A connection holds at most one recv and one send in flight on the ring;
 * each is a srv_op embedded in the connection (its address is the
 * user_data). Responses wait in an output queue of encoded frames, sent
 * with sendmsg over up to SRV_IOV_MAX of them at a time.
 *
 * Life cycle: OPEN (reading, decoding, answering) -> DRAINING (no more
 * requests are read; wait until every in-flight request is answered and the
 * output is flushed) -> LINGER (write side shut; discard input briefly so
 * that the peer reads our last response instead of a reset) -> CLOSED
 * (freed once no ring op and no job refers to it). */
#ifndef PRECIS_SERVER_SRV_CONN_H
#define PRECIS_SERVER_SRV_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "frame.h"

#define SRV_IOV_MAX    64
#define SRV_RECV_CHUNK (64u << 10)

enum srv_op_type {
  SRV_OP_ACCEPT = 1,
  SRV_OP_RECV,
  SRV_OP_SEND,
  SRV_OP_EVENTFD,
  SRV_OP_SIGNAL,
  SRV_OP_TIMER,
  SRV_OP_IGNORE /* cancels and other fire-and-forget requests */
};

struct srv_conn;

/* One in-flight ring operation; its address is the SQE's user_data. */
typedef struct srv_op {
  int type;
  struct srv_conn *conn; /* NULL for the loop's own operations */
} srv_op;

typedef struct srv_outbuf {
  struct srv_outbuf *next;
  uint8_t *data; /* the frame, malloc'd */
  size_t len, off;
} srv_outbuf;

typedef enum {
  SRV_CONN_OPEN = 0,
  SRV_CONN_DRAINING,
  SRV_CONN_LINGER,
  SRV_CONN_CLOSED
} srv_conn_state;

typedef struct srv_conn {
  int fd;
  uint64_t serial; /* for logs */
  char peer[64];
  srv_conn_state state;
  bool authed;
  bool peer_eof;      /* the client shut its write side */
  bool rejected;      /* over max-connections: BUSY then close */
  bool counted;       /* included in the connection count */
  bool on_stall_list; /* waiting for room in the work queue */
  bool recv_armed, send_armed, cancel_sent;
  srv_op rop, sop;
  frame_reader rd;
  uint8_t *rbuf; /* SRV_RECV_CHUNK bytes */
  srv_outbuf *out_head, *out_tail;
  size_t out_bytes; /* queued, not yet sent */
  struct iovec iov[SRV_IOV_MAX];
  struct msghdr msg;
  uint32_t inflight;       /* requests handed to the workers */
  uint64_t last_active_ms; /* last complete request or send progress */
  uint64_t linger_until_ms;
  struct srv_conn *prev, *next; /* all connections */
  struct srv_conn *stall_next;
  /* ---- bounds and deadlines (issue 11, docs/SECURITY.md) ---- */
  uint64_t accepted_ms;    /* auth deadline runs from here */
  uint64_t frame_start_ms; /* first byte of the frame being received */
  uint64_t send_wait_ms;   /* output waiting without progress since */
  uint64_t inflight_mem;   /* decoded-size estimates of requests in flight */
  uint32_t auth_failures;
  bool on_closing_list;  /* freed at the end of the loop iteration */
  atomic_bool congested; /* unread output over SRV_OUT_HIGH (workers read) */
  struct srv_conn *closing_next;
  /* ---- fairness and per-address limits (issue 11, loop_io.c) ---- */
  int64_t read_tokens;     /* bytes this connection may still read now */
  uint64_t read_refill_ms; /* when read_tokens was last refilled */
  bool throttled;          /* recv held back until tokens are refilled */
  uint8_t addr[16];        /* peer address (4 or 16 bytes) */
  uint8_t addr_len;        /* 0: not an IP peer */
  /* ---- responses sent by the worker (issue 13, job.c) ----
   * A worker may write its small response to the socket itself while
   * direct_ok holds (nothing queued, no send in flight, connection open),
   * which takes the worker -> eventfd -> loop hop off the response's path.
   * The loop clears direct_ok before it queues anything. If the worker's
   * send is partial, the rest waits in `partial` (and direct_ok is cleared)
   * until the loop puts it at the head of the output queue. All four fields
   * are guarded by wmu. */
  pthread_mutex_t wmu;
  bool direct_ok;
  uint8_t *partial; /* malloc'd frame, sent up to partial_off */
  size_t partial_len, partial_off;
} srv_conn;

/* A new OPEN connection on fd (taken over). NULL on allocation failure. */
srv_conn *srv_conn_new(int fd, uint32_t max_frame, bool authed);
/* Close the fd and free everything (the caller unlinked it). */
void srv_conn_free(srv_conn *c);
/* Queue the malloc'd frame buf[0..len) for sending; takes ownership (freed
 * even on failure). false on NO_MEMORY. */
bool srv_conn_queue(srv_conn *c, uint8_t *buf, size_t len);
/* Prepare c->msg over the queued output; returns the iovec count (0 when
 * nothing is queued). */
int srv_conn_prepare_send(srv_conn *c);
/* Account for n bytes sent: drops fully sent frames. */
void srv_conn_sent(srv_conn *c, size_t n);
/* With c->wmu held: move a worker's partially sent frame to the head of
 * the output queue. Returns the bytes added to out_bytes (0 when none, or
 * when out of memory: then the frame is dropped and *broken is set, since
 * the stream cannot continue). */
size_t srv_conn_absorb_partial(srv_conn *c, bool *broken);
/* Drop every queued frame. */
void srv_conn_discard_output(srv_conn *c);

/* Constant-time comparison of a presented token with the configured one:
 * the time depends only on the configured token's length. */
bool srv_token_equal(const char *want, size_t want_len, const char *got, size_t got_len);

#endif
