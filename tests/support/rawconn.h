/* rawconn.h: a raw precisd connection for Criterion tests: frames from
 * proto/frame.h and the generated protobuf-c code, no client library.
 * Shared by test_server.c and test_hostile.c (static inline: each test
 * binary takes what it uses; failures are Criterion assertions). */
#ifndef PRECIS_TESTS_RAWCONN_H
#define PRECIS_TESTS_RAWCONN_H

#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "precis.pb-c.h"
#include "precis/limits.h"
#include "precis/status.h"

typedef struct {
  int fd;
  frame_reader rd;
} rconn;

static inline void rc_open(rconn *c, int port) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(c->fd, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
  struct timeval tv = {30, 0}; /* a hang guard, not an assertion */
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  frame_reader_init(&c->rd, PRECIS_HARD_MAX_FRAME);
}

static inline void rc_close(rconn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  frame_reader_free(&c->rd);
}

static inline int write_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static inline void rc_send(rconn *c, Precis__V1__Request *req) {
  uint8_t *buf;
  size_t len;
  cr_assert_eq(frame_encode(&req->base, PRECIS_DEFAULT_MAX_FRAME, &buf, &len), 0);
  cr_assert_eq(write_all(c->fd, buf, len), 0, "send: %s", strerror(errno));
  free(buf);
}

/* Next response, or NULL at EOF / error. */
static inline Precis__V1__Response *rc_recv(rconn *c) {
  for (;;) {
    const uint8_t *p;
    uint32_t n;
    int r = frame_reader_next(&c->rd, &p, &n);
    cr_assert_eq(r, PRECIS_OK);
    if (p) {
      Precis__V1__Response *resp = precis__v1__response__unpack(NULL, n, p);
      cr_assert_not_null(resp, "undecodable response");
      return resp;
    }
    uint8_t buf[65536];
    ssize_t got = recv(c->fd, buf, sizeof buf, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return NULL;
    cr_assert_eq(frame_reader_feed(&c->rd, buf, (size_t)got), 0);
  }
}

/* True when the server closed the connection (EOF or reset). */
static inline bool rc_eof(rconn *c) {
  uint8_t b[256];
  for (;;) {
    ssize_t got = recv(c->fd, b, sizeof b, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) return true;
    if (got < 0) return errno == ECONNRESET || errno == EPIPE;
    /* ignore anything else the server still sends */
  }
}

static inline Precis__V1__Response *rc_call(rconn *c, Precis__V1__Request *req) {
  rc_send(c, req);
  Precis__V1__Response *r = rc_recv(c);
  cr_assert_not_null(r, "connection closed while waiting for a response");
  cr_assert_eq(r->id, req->id, "response id %lu for request %lu", (unsigned long)r->id,
               (unsigned long)req->id);
  return r;
}

static inline int code_of(const Precis__V1__Response *r) {
  return r->status ? (int)r->status->code : 0;
}
static inline const char *msg_of(const Precis__V1__Response *r) {
  return r->status && r->status->message ? r->status->message : "";
}

#define assert_status(r, want)                                                                  \
  cr_assert_eq(code_of(r), (want), "status %s (%s), wanted %s", precis_status_name(code_of(r)), \
               msg_of(r), precis_status_name(want))

/* Send raw bytes (a hand-made frame). */
static inline void rc_send_raw(rconn *c, const void *buf, size_t len) {
  cr_assert_eq(write_all(c->fd, buf, len), 0, "send: %s", strerror(errno));
}

/* Send payload p[0..n) as one frame. */
static inline void rc_send_payload(rconn *c, const void *p, size_t n) {
  uint8_t h[FRAME_HEADER_BYTES];
  frame_put_header(h, (uint32_t)n);
  rc_send_raw(c, h, sizeof h);
  if (n) rc_send_raw(c, p, n);
}

#endif
