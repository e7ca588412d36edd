/* loop_conn.c: connection life cycle (closing, draining, the stall list),
 * accepting connections and their limits, and the deadlines checked every
 * tick (see srv_loop_int.h; the rules are in loop.c's header comment). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srv_limits.h"
#include "srv_log.h"
#include "srv_loop_int.h"

/* ---- connection life cycle ---- */

void loop_stall_remove(loop *L, srv_conn *c) {
  if (!c->on_stall_list) return;
  srv_conn **pp = &L->stall_head, *prev = NULL;
  while (*pp && *pp != c) {
    prev = *pp;
    pp = &(*pp)->stall_next;
  }
  if (*pp) {
    *pp = c->stall_next;
    if (L->stall_tail == c) L->stall_tail = prev;
  }
  c->stall_next = NULL;
  c->on_stall_list = false;
}

void loop_stall_add(loop *L, srv_conn *c) {
  if (c->on_stall_list) return;
  c->on_stall_list = true;
  c->stall_next = NULL;
  if (L->stall_tail)
    L->stall_tail->stall_next = c;
  else
    L->stall_head = c;
  L->stall_tail = c;
}

/* Output accounting: every change of c->out_bytes goes through here so that
 * L->mem stays the sum over connections. */
void loop_out_account(loop *L, size_t before, size_t after) {
  L->mem += after;
  L->mem -= before <= L->mem ? before : L->mem;
}

static void closing_add(loop *L, srv_conn *c) {
  if (c->on_closing_list) return;
  c->on_closing_list = true;
  c->closing_next = L->closing;
  L->closing = c;
}

/* Free the closed connections nothing refers to any more. Called once per
 * loop iteration, after all completions were handled. */
void loop_run_closing(loop *L) {
  srv_conn **pp = &L->closing;
  while (*pp) {
    srv_conn *c = *pp;
    if (c->recv_armed || c->send_armed || c->inflight > 0) {
      pp = &c->closing_next;
      continue;
    }
    *pp = c->closing_next;
    loop_stall_remove(L, c);
    if (c->prev)
      c->prev->next = c->next;
    else
      L->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->counted) {
      L->nopen--;
      atomic_fetch_sub(&L->s->st.connections, 1);
    }
    if (c->rejected) L->nrejecting--;
    loop_out_account(L, c->out_bytes, 0);
    srv_debug("connection %" PRIu64 " closed", c->serial);
    srv_conn_free(c);
  }
}

/* Close now: pending output is dropped, ring ops are woken; the struct is
 * freed by loop_run_closing() once they are reaped and no job refers to it. */
void loop_close_now(loop *L, srv_conn *c) {
  if (c->state != SRV_CONN_CLOSED) {
    c->state = SRV_CONN_CLOSED;
    pthread_mutex_lock(&c->wmu); /* no worker writes to it any more */
    c->direct_ok = false;
    free(c->partial);
    c->partial = NULL;
    pthread_mutex_unlock(&c->wmu);
    size_t before = c->out_bytes;
    srv_conn_discard_output(c);
    loop_out_account(L, before, c->out_bytes);
    loop_stall_remove(L, c);
    /* wakes a pending recv (returns 0) and send (fails) */
    if (c->recv_armed || c->send_armed) shutdown(c->fd, SHUT_RDWR);
  }
  closing_add(L, c);
}

/* Stop reading requests; close once everything in flight is answered. */
void loop_start_drain(loop *L, srv_conn *c) {
  (void)L;
  if (c->state == SRV_CONN_OPEN) c->state = SRV_CONN_DRAINING;
}

void loop_advance_close(loop *L, srv_conn *c) {
  if (c->state == SRV_CONN_DRAINING && c->inflight == 0 && !c->out_head && !c->send_armed) {
    if (c->peer_eof) {
      loop_close_now(L, c);
      return;
    }
    /* Shut our side, then discard input for a moment so that the peer reads
     * our last response rather than a reset caused by unread data. */
    shutdown(c->fd, SHUT_WR);
    c->state = SRV_CONN_LINGER;
    uint64_t now = srv_now_ms();
    c->linger_until_ms = now + (L->stopping ? SRV_LINGER_MS / 4 : SRV_LINGER_MS);
    loop_arm_recv(L, c);
  }
}

/* Rate limit for lines one client can provoke at will (failed auths,
 * deadline closes): true when a line may be written now; *dropped counts
 * the lines suppressed since the last one (reported and reset by it). */
bool loop_log_allowed(uint64_t *last_ms, uint64_t *dropped) {
  uint64_t now = srv_now_ms();
  if (*last_ms && now - *last_ms < SRV_AUTH_LOG_INTERVAL_MS) {
    (*dropped)++;
    return false;
  }
  *last_ms = now;
  return true;
}

/* The peer's IP address as a key (4 or 16 bytes; 0 when not IP). */
static uint8_t peer_key(const struct sockaddr_storage *ss, uint8_t out[16]) {
  if (ss->ss_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    return 4;
  }
  if (ss->ss_family == AF_INET6) {
    memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    return 16;
  }
  return 0;
}

/* ---- completions ---- */

void loop_on_accept(loop *L, int res) {
  srv_server *s = L->s;
  L->accept_armed = false;
  if (L->stopping) { /* cancelled (or raced with the cancel) */
    if (res >= 0) close(res);
    if (L->lfd >= 0) close(L->lfd);
    L->lfd = -1;
    return;
  }
  if (res >= 0) {
    int fd = res;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t addr[16];
    uint8_t alen = peer_key(&L->acc_addr, addr);
    size_t same = 0;
    int per = s->cfg.max_conns_per_address;
    if (per > 0 && alen)
      for (srv_conn *o = L->conns; o; o = o->next)
        if (o->counted && o->state != SRV_CONN_CLOSED && o->addr_len == alen &&
            !memcmp(o->addr, addr, alen))
          same++;
    bool reject_addr = per > 0 && same >= (size_t)per;
    bool reject = reject_addr || L->nopen >= (size_t)s->cfg.max_connections;
    if (reject && L->nrejecting >= SRV_MAX_REJECTING) {
      close(fd);
    } else {
      uint32_t first_frame = s->cfg.max_frame;
      if (s->token && first_frame > SRV_PREAUTH_MAX_FRAME)
        first_frame = SRV_PREAUTH_MAX_FRAME; /* raised by a good auth */
      srv_conn *c = srv_conn_new(fd, first_frame, s->token == NULL);
      if (!c) {
        srv_error("out of memory accepting a connection");
        close(fd);
      } else {
        c->serial = ++L->serial;
        memcpy(c->addr, addr, alen);
        c->addr_len = alen;
        c->last_active_ms = c->accepted_ms = srv_now_ms();
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (L->acc_addr.ss_family == AF_INET) {
          struct sockaddr_in *a = (struct sockaddr_in *)&L->acc_addr;
          inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
          port = ntohs(a->sin_port);
        } else if (L->acc_addr.ss_family == AF_INET6) {
          struct sockaddr_in6 *a = (struct sockaddr_in6 *)&L->acc_addr;
          inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
          port = ntohs(a->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
        c->next = L->conns;
        if (L->conns) L->conns->prev = c;
        L->conns = c;
        if (reject) {
          c->rejected = true;
          L->nrejecting++;
          char msg[96];
          if (reject_addr)
            snprintf(msg, sizeof msg, "too many connections from this address (limit %d)", per);
          else
            snprintf(msg, sizeof msg, "too many connections (limit %d)", s->cfg.max_connections);
          if (loop_log_allowed(&L->reject_log_ms, &L->reject_log_dropped)) {
            srv_warn("connection from %s refused: %s (%" PRIu64 " similar lines suppressed)",
                     c->peer, msg, L->reject_log_dropped);
            L->reject_log_dropped = 0;
          }
          loop_reply_status(L, c, 0, PRECIS_E_BUSY, msg);
          loop_start_drain(L, c);
        } else {
          c->counted = true;
          L->nopen++;
          atomic_fetch_add(&s->st.connections, 1);
          atomic_fetch_add(&s->st.connections_total, 1);
          srv_debug("connection %" PRIu64 " from %s", c->serial, c->peer);
        }
        loop_conn_pump(L, c);
      }
    }
  } else if (res != -EINTR && res != -EAGAIN && res != -ECONNABORTED && res != -EPROTO &&
             res != -ENETDOWN && res != -EHOSTUNREACH) {
    /* EMFILE, ENFILE, ENOBUFS, ...: retry on a later tick */
    srv_warn("accept: %s; retrying shortly", strerror(-res));
    L->accept_retry_ms = srv_now_ms() + 1000;
    return;
  }
  loop_arm_accept(L);
}

static void log_deadline(loop *L, srv_conn *c, const char *what, int secs) {
  if (!loop_log_allowed(&L->deadline_log_ms, &L->deadline_log_dropped)) return;
  srv_info("connection %" PRIu64 " from %s: %s for %d s: closing (%" PRIu64
           " similar lines suppressed)",
           c->serial, c->peer, what, secs, L->deadline_log_dropped);
  L->deadline_log_dropped = 0;
}

void loop_on_tick(loop *L) {
  uint64_t now = srv_now_ms();
  const srv_config *cfg = &L->s->cfg;
  if (L->accept_retry_ms && now >= L->accept_retry_ms) {
    L->accept_retry_ms = 0;
    loop_arm_accept(L);
  }
  uint64_t idle_ms = (uint64_t)cfg->idle_timeout_s * 1000u;
  uint64_t auth_ms = (uint64_t)cfg->auth_timeout_s * 1000u;
  uint64_t frame_ms = (uint64_t)cfg->frame_timeout_s * 1000u;
  uint64_t send_ms = (uint64_t)cfg->send_timeout_s * 1000u;
  for (srv_conn *c = L->conns, *n; c; c = n) {
    n = c->next;
    if (c->state == SRV_CONN_CLOSED) continue;
    if (c->state == SRV_CONN_LINGER) {
      if (now >= c->linger_until_ms) loop_close_now(L, c);
      continue;
    }
    if (send_ms && c->out_head && now - c->send_wait_ms >= send_ms) {
      /* the client does not read its responses */
      log_deadline(L, c, "no send progress", cfg->send_timeout_s);
      loop_close_now(L, c);
    } else if (auth_ms && L->s->token && !c->authed && !c->rejected &&
               now - c->accepted_ms >= auth_ms) {
      log_deadline(L, c, "not authenticated", cfg->auth_timeout_s);
      loop_close_now(L, c);
    } else if (frame_ms && c->state == SRV_CONN_OPEN && c->recv_armed &&
               frame_reader_partial(&c->rd) && now - c->frame_start_ms >= frame_ms) {
      log_deadline(L, c, "frame incomplete", cfg->frame_timeout_s);
      char msg[96];
      snprintf(msg, sizeof msg, "frame not completed within %d s", cfg->frame_timeout_s);
      loop_reply_status(L, c, 0, PRECIS_E_TIMEOUT, msg);
      loop_start_drain(L, c);
      loop_conn_pump(L, c);
    } else if (idle_ms && c->state == SRV_CONN_OPEN && c->inflight == 0 && !c->out_head &&
               !c->on_stall_list && !frame_reader_partial(&c->rd) &&
               now - c->last_active_ms >= idle_ms) {
      log_deadline(L, c, "idle", cfg->idle_timeout_s);
      loop_close_now(L, c);
    } else if (c->throttled && c->state == SRV_CONN_OPEN) {
      /* over --max-read-rate: read again once the bucket has refilled */
      loop_read_refill(L, c, now);
      if (c->read_tokens > 0) {
        c->throttled = false;
        loop_conn_pump(L, c);
      }
    }
  }
}
