/* conn.c: connection buffers and the auth comparison (see srv_conn.h). */
#include "srv_conn.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

srv_conn *srv_conn_new(int fd, uint32_t max_frame, bool authed) {
  srv_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->rbuf = malloc(SRV_RECV_CHUNK);
  if (!c->rbuf) {
    free(c);
    return NULL;
  }
  c->fd = fd;
  c->authed = authed;
  c->state = SRV_CONN_OPEN;
  c->rop.type = SRV_OP_RECV;
  c->rop.conn = c;
  c->sop.type = SRV_OP_SEND;
  c->sop.conn = c;
  frame_reader_init(&c->rd, max_frame);
  pthread_mutex_init(&c->wmu, NULL);
  return c;
}

void srv_conn_discard_output(srv_conn *c) {
  srv_outbuf *b = c->out_head;
  while (b) {
    srv_outbuf *n = b->next;
    free(b->data);
    free(b);
    b = n;
  }
  c->out_head = c->out_tail = NULL;
  c->out_bytes = 0;
}

void srv_conn_free(srv_conn *c) {
  if (!c) return;
  if (c->fd >= 0) close(c->fd);
  srv_conn_discard_output(c);
  frame_reader_free(&c->rd);
  free(c->partial);
  pthread_mutex_destroy(&c->wmu);
  free(c->rbuf);
  free(c);
}

bool srv_conn_queue(srv_conn *c, uint8_t *buf, size_t len) {
  srv_outbuf *b = malloc(sizeof *b);
  if (!b) {
    free(buf);
    return false;
  }
  b->next = NULL;
  b->data = buf;
  b->len = len;
  b->off = 0;
  if (c->out_tail)
    c->out_tail->next = b;
  else
    c->out_head = b;
  c->out_tail = b;
  c->out_bytes += len;
  return true;
}

size_t srv_conn_absorb_partial(srv_conn *c, bool *broken) {
  if (!c->partial) return 0;
  srv_outbuf *b = malloc(sizeof *b);
  if (!b) {
    free(c->partial);
    c->partial = NULL;
    *broken = true;
    return 0;
  }
  b->data = c->partial;
  b->len = c->partial_len;
  b->off = c->partial_off;
  b->next = c->out_head;
  c->out_head = b;
  if (!c->out_tail) c->out_tail = b;
  c->partial = NULL;
  size_t left = b->len - b->off;
  c->out_bytes += left;
  return left;
}

int srv_conn_prepare_send(srv_conn *c) {
  int n = 0;
  for (srv_outbuf *b = c->out_head; b && n < SRV_IOV_MAX; b = b->next) {
    c->iov[n].iov_base = b->data + b->off;
    c->iov[n].iov_len = b->len - b->off;
    n++;
  }
  memset(&c->msg, 0, sizeof c->msg);
  c->msg.msg_iov = c->iov;
  c->msg.msg_iovlen = (size_t)n;
  return n;
}

void srv_conn_sent(srv_conn *c, size_t n) {
  c->out_bytes -= n < c->out_bytes ? n : c->out_bytes;
  while (n > 0 && c->out_head) {
    srv_outbuf *b = c->out_head;
    size_t left = b->len - b->off;
    if (n < left) {
      b->off += n;
      return;
    }
    n -= left;
    c->out_head = b->next;
    if (!c->out_head) c->out_tail = NULL;
    free(b->data);
    free(b);
  }
}

bool srv_token_equal(const char *want, size_t want_len, const char *got, size_t got_len) {
  volatile unsigned char diff = (unsigned char)(want_len != got_len);
  for (size_t i = 0; i < want_len; i++) {
    unsigned char g = i < got_len ? (unsigned char)got[i] : 0;
    diff |= (unsigned char)(want[i] ^ g);
  }
  return diff == 0;
}
