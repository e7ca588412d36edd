/*
 * conn.c: the transport of libprecis. One non-blocking TCP socket per
 * precis_conn, poll(2) for every wait (so that one deadline covers a whole
 * call), the frame codec of proto/frame.h for length-prefixed envelopes,
 * and request ids to match responses (late answers to calls that timed out
 * are discarded). Also the connection's error record.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn_internal.h"

/* ---- error record ---- */

static void record(precis_conn *c, precis_error *err, int code, const char *msg) {
  if (c) {
    c->last_code = code;
    precis__strlcpy(c->last_msg, msg, sizeof c->last_msg);
  }
  if (err) {
    err->code = code;
    precis__strlcpy(err->msg, msg, sizeof err->msg);
  }
}

int precis__fail(precis_conn *c, precis_error *err, int code, const char *fmt, ...) {
  char msg[PRECIS_ERROR_MSG_MAX];
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  } else {
    snprintf(msg, sizeof msg, "%s", precis_strerror(code));
  }
  record(c, err, code, msg);
  return code;
}

int precis__ok(precis_conn *c, precis_error *err) {
  record(c, err, PRECIS_OK, "");
  return PRECIS_OK;
}

const char *precis_conn_last_error(const precis_conn *c) {
  return c ? c->last_msg : "no connection";
}

int precis_conn_last_status(const precis_conn *c) {
  return c ? c->last_code : PRECIS_E_INVALID_ARGUMENT;
}

int precis__check_conn(precis_conn *c, precis_error *err) {
  if (!c) return precis__fail(NULL, err, PRECIS_E_INVALID_ARGUMENT, "connection is NULL");
  if (c->broken)
    return precis__fail(c, err, PRECIS_E_CONNECTION,
                        "connection is broken by an earlier error; reconnect");
  return PRECIS_OK;
}

char *precis__strdup(const char *s) { return strdup(s ? s : ""); }

void precis__strlcpy(char *dst, const char *s, size_t cap) {
  if (!cap) return;
  if (!s) s = "";
  size_t n = strlen(s);
  if (n >= cap) n = cap - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

/* ---- time ---- */

int64_t precis__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t precis__deadline(const precis_conn *c) {
  return c->timeout_ms > 0 ? precis__now_ms() + c->timeout_ms : INT64_MAX;
}

/* Milliseconds left for poll(): -1 = infinite, 0 = expired. */
static int remaining(int64_t deadline) {
  if (deadline == INT64_MAX) return -1;
  int64_t left = deadline - precis__now_ms();
  if (left <= 0) return 0;
  return left > 1000000 ? 1000000 : (int)left;
}

/* Wait for `events` on the socket. OK, TIMEOUT, or CONNECTION. */
static int wait_fd(precis_conn *c, short events, int64_t deadline, precis_error *err) {
  for (;;) {
    struct pollfd p = {.fd = c->fd, .events = events};
    int ms = remaining(deadline);
    if (ms == 0)
      return precis__fail(c, err, PRECIS_E_TIMEOUT, "timed out after %d ms", c->timeout_ms);
    int r = poll(&p, 1, ms);
    if (r > 0) return PRECIS_OK; /* errors surface in the following read / write */
    if (r == 0) continue;        /* re-check the deadline */
    if (errno != EINTR)
      return precis__fail(c, err, PRECIS_E_CONNECTION, "poll: %s", strerror(errno));
  }
}

/* ---- connect / close ---- */

static int try_connect(const struct addrinfo *ai, int64_t deadline, int *fd_out, char *why,
                       size_t whylen) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) {
    snprintf(why, whylen, "socket: %s", strerror(errno));
    return PRECIS_E_CONNECTION;
  }
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    if (errno != EINPROGRESS) {
      snprintf(why, whylen, "%s", strerror(errno));
      close(fd);
      return PRECIS_E_CONNECTION;
    }
    for (;;) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int ms = remaining(deadline);
      if (ms == 0) {
        snprintf(why, whylen, "connect timed out");
        close(fd);
        return PRECIS_E_TIMEOUT;
      }
      int r = poll(&p, 1, ms);
      if (r > 0) break;
      if (r < 0 && errno != EINTR) {
        snprintf(why, whylen, "poll: %s", strerror(errno));
        close(fd);
        return PRECIS_E_CONNECTION;
      }
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) soerr = errno;
    if (soerr) {
      snprintf(why, whylen, "%s", strerror(soerr));
      close(fd);
      return PRECIS_E_CONNECTION;
    }
  }
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *fd_out = fd;
  return PRECIS_OK;
}

static int authenticate(precis_conn *c, const char *token, precis_error *err) {
  Precis__V1__Request req = PRECIS__V1__REQUEST__INIT;
  Precis__V1__AuthRequest auth = PRECIS__V1__AUTH_REQUEST__INIT;
  auth.token = (char *)token;
  req.op_case = PRECIS__V1__REQUEST__OP_AUTH;
  req.auth = &auth;
  Precis__V1__Response *resp = NULL;
  int rc = precis__call(c, &req, PRECIS__V1__RESPONSE__RESULT__NOT_SET, &resp, err);
  precis__response_free(resp);
  return rc;
}

int precis_connect(const char *host, uint16_t port, const char *token, int timeout_ms,
                   precis_conn **out, precis_error *err) {
  if (out) *out = NULL;
  if (!out) return precis__fail(NULL, err, PRECIS_E_INVALID_ARGUMENT, "out is NULL");
  if (!host || !*host) host = "127.0.0.1";
  if (port == 0) return precis__fail(NULL, err, PRECIS_E_INVALID_ARGUMENT, "port is 0");

  int64_t deadline = timeout_ms > 0 ? precis__now_ms() + timeout_ms : INT64_MAX;
  char portstr[8];
  snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int gai = getaddrinfo(host, portstr, &hints, &res);
  if (gai != 0)
    return precis__fail(NULL, err, PRECIS_E_CONNECTION, "cannot resolve %s: %s", host,
                        gai_strerror(gai));
  int fd = -1, rc = PRECIS_E_CONNECTION;
  char why[160] = "no address";
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    rc = try_connect(ai, deadline, &fd, why, sizeof why);
    if (rc == PRECIS_OK || rc == PRECIS_E_TIMEOUT) break;
  }
  freeaddrinfo(res);
  if (rc != PRECIS_OK)
    return precis__fail(NULL, err, rc, "connect to %s:%u: %s", host, (unsigned)port, why);

  precis_conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return precis__fail(NULL, err, PRECIS_E_NO_MEMORY, NULL);
  }
  c->fd = fd;
  c->timeout_ms = timeout_ms;
  c->next_id = 1;
  frame_reader_init(&c->rd, PRECIS_HARD_MAX_FRAME);
  if (token) {
    rc = authenticate(c, token, err);
    if (rc != PRECIS_OK) {
      precis_close(c);
      return rc;
    }
  }
  *out = c;
  return precis__ok(c, err);
}

void precis_close(precis_conn *c) {
  if (!c) return;
  if (c->fd >= 0) close(c->fd);
  frame_reader_free(&c->rd);
  free(c);
}

void precis_conn_set_timeout(precis_conn *c, int timeout_ms) {
  if (c) c->timeout_ms = timeout_ms;
}

/* ---- bytes ---- */

static int broken(precis_conn *c, precis_error *err, const char *fmt, const char *detail) {
  c->broken = 1;
  return precis__fail(c, err, PRECIS_E_CONNECTION, fmt, detail);
}

int precis__write_some(precis_conn *c, const uint8_t *buf, size_t len, size_t *written,
                       precis_error *err) {
  while (*written < len) {
    ssize_t w = send(c->fd, buf + *written, len - *written, MSG_NOSIGNAL);
    if (w > 0) {
      *written += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return PRECIS_OK;
    return broken(c, err, "send: %s", w < 0 ? strerror(errno) : "closed");
  }
  return PRECIS_OK;
}

int precis__write_all(precis_conn *c, const uint8_t *buf, size_t len, int64_t deadline,
                      precis_error *err) {
  size_t done = 0;
  for (;;) {
    int rc = precis__write_some(c, buf, len, &done, err);
    if (rc != PRECIS_OK) return rc;
    if (done == len) return PRECIS_OK;
    rc = wait_fd(c, POLLOUT, deadline, err);
    if (rc != PRECIS_OK) {
      /* a partly written frame leaves the stream unusable */
      if (done > 0) c->broken = 1;
      return rc;
    }
  }
}

int precis__read_some(precis_conn *c, precis_error *err) {
  uint8_t buf[65536];
  for (;;) {
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
    if (r > 0) {
      int rc = frame_reader_feed(&c->rd, buf, (size_t)r);
      if (rc != PRECIS_OK) {
        c->broken = 1;
        return precis__fail(c, err, rc, "reading response: %s", precis_strerror(rc));
      }
      if ((size_t)r < sizeof buf) return PRECIS_OK;
      continue;
    }
    if (r == 0) return broken(c, err, "%s", "server closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return PRECIS_OK;
    return broken(c, err, "recv: %s", strerror(errno));
  }
}

int precis__next_response(precis_conn *c, Precis__V1__Response **resp, precis_error *err) {
  const uint8_t *payload = NULL;
  uint32_t len = 0;
  *resp = NULL;
  int r = frame_reader_next(&c->rd, &payload, &len);
  if (r != PRECIS_OK) {
    c->broken = 1;
    return precis__fail(c, err, r, "bad response frame: %s", precis_strerror(r));
  }
  if (!payload) return PRECIS_OK;
  Precis__V1__Response *m = precis__v1__response__unpack(NULL, len, payload);
  if (!m) {
    c->broken = 1;
    return precis__fail(c, err, PRECIS_E_PROTOCOL, "cannot decode a response of %u bytes", len);
  }
  *resp = m;
  return PRECIS_OK;
}

int precis__status_error(precis_conn *c, const Precis__V1__Response *resp, precis_error *err) {
  int code = resp->status ? (int)resp->status->code : PRECIS_OK;
  if (code == PRECIS_OK) return PRECIS_OK;
  const char *m = resp->status->message;
  if (!m || !*m) m = precis_strerror(code);
  return precis__fail(c, err, code, "%s", m);
}

void precis__response_free(Precis__V1__Response *resp) {
  if (resp) precis__v1__response__free_unpacked(resp, NULL);
}

/* ---- one call ---- */

int precis__call(precis_conn *c, Precis__V1__Request *req, Precis__V1__Response__ResultCase expect,
                 Precis__V1__Response **resp, precis_error *err) {
  *resp = NULL;
  int rc = precis__check_conn(c, err);
  if (rc != PRECIS_OK) return rc;
  int64_t deadline = precis__deadline(c);
  uint64_t id = c->next_id++;
  req->id = id;
  uint8_t *frame = NULL;
  size_t flen = 0;
  rc = frame_encode((const ProtobufCMessage *)req, PRECIS_DEFAULT_MAX_FRAME, &frame, &flen);
  if (rc != PRECIS_OK) return precis__fail(c, err, rc, "encoding request: %s", precis_strerror(rc));
  rc = precis__write_all(c, frame, flen, deadline, err);
  free(frame);
  if (rc != PRECIS_OK) return rc;

  for (;;) {
    Precis__V1__Response *m = NULL;
    rc = precis__next_response(c, &m, err);
    if (rc != PRECIS_OK) return rc;
    if (!m) {
      rc = wait_fd(c, POLLIN, deadline, err);
      if (rc != PRECIS_OK) return rc;
      rc = precis__read_some(c, err);
      if (rc != PRECIS_OK) return rc;
      continue;
    }
    /* id 0: the server could not read our request's id; it is ours. */
    if (m->id != id && m->id != 0) {
      precis__response_free(m); /* a late answer to a timed-out call */
      continue;
    }
    rc = precis__status_error(c, m, err);
    if (rc != PRECIS_OK) {
      precis__response_free(m);
      return rc;
    }
    if (expect != PRECIS__V1__RESPONSE__RESULT__NOT_SET && m->result_case != expect) {
      int got_case = (int)m->result_case;
      precis__response_free(m);
      return precis__fail(c, err, PRECIS_E_PROTOCOL, "unexpected response type %d (wanted %d)",
                          got_case, (int)expect);
    }
    *resp = m;
    return PRECIS_OK;
  }
}
