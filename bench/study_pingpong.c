/*
 * study_pingpong.c: `precis-bench pingpong`, what one round trip between two
 * threads over loopback TCP costs on this machine, with no server at all:
 * the floor under any RPC figure (issue 13, "RPC with one request in flight
 * >= 0.9x in-process").
 *
 * A client thread sends 64 bytes and waits for 64 back; an echo thread
 * receives and sends them back; --rounds (20,000) round trips after 500
 * warm-up ones, microseconds per round trip reported for:
 *   - both threads blocking in recv (what every RPC pays: each message wakes
 *     a sleeping thread; on a VM whose idle CPUs halt that wake-up is the
 *     expensive part);
 *   - both threads on one CPU (sched_setaffinity: a wake-up is a context
 *     switch on the same CPU);
 *   - the client polling with MSG_DONTWAIT instead of blocking (its CPU
 *     never idles);
 *   - a third thread in the path: the echo thread hands each message to a
 *     worker over a condition variable and the worker answers (the shape of
 *     precisd's loop -> worker -> client path).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bench_util.h"

enum { PP_MSG = 64, PP_WARM = 500 };
enum { PP_BLOCK, PP_ONE_CPU, PP_CLIENT_POLLS, PP_HANDOFF, PP_MODES };
static const char *const pp_names[PP_MODES] = {
    "both threads block in recv", "both threads on one CPU", "the client polls (MSG_DONTWAIT)",
    "echo thread hands off to a worker (condition variable)"};

typedef struct {
  int fd, mode;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int pending, stop;
} pp_srv;

static int pp_recv_all(int fd, char *b, int poll) {
  size_t got = 0;
  while (got < PP_MSG) {
    ssize_t r = recv(fd, b + got, PP_MSG - got, poll ? MSG_DONTWAIT : 0);
    if (r > 0)
      got += (size_t)r;
    else if (r == 0 || !poll)
      return -1;
  }
  return 0;
}

static void pp_pin0(void) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(0, &s);
  sched_setaffinity(0, sizeof s, &s);
}

static void *pp_worker(void *arg) {
  pp_srv *p = arg;
  char b[PP_MSG] = {0};
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while (!p->pending && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
    int stop = p->stop;
    p->pending = 0;
    pthread_mutex_unlock(&p->mu);
    if (stop) return NULL;
    if (send(p->fd, b, PP_MSG, MSG_NOSIGNAL) != PP_MSG) return NULL;
  }
}

static void *pp_echo(void *arg) {
  pp_srv *p = arg;
  char b[PP_MSG];
  if (p->mode == PP_ONE_CPU) pp_pin0();
  while (pp_recv_all(p->fd, b, 0) == 0) {
    if (p->mode != PP_HANDOFF) {
      if (send(p->fd, b, PP_MSG, MSG_NOSIGNAL) != PP_MSG) break;
      continue;
    }
    pthread_mutex_lock(&p->mu);
    p->pending = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  return NULL;
}

/* Microseconds per round trip in `mode`, or < 0 on failure. */
static double pp_run(int mode, int rounds) {
  int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  pp_srv p = {.fd = -1, .mode = mode};
  double us = -1;
  if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
      getsockname(l, (struct sockaddr *)&a, &al) || connect(c, (struct sockaddr *)&a, sizeof a) ||
      (p.fd = accept(l, NULL, NULL)) < 0)
    goto out;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(p.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cv, NULL);
  pthread_t te, tw;
  int have_w = mode == PP_HANDOFF && pthread_create(&tw, NULL, pp_worker, &p) == 0;
  if (mode == PP_HANDOFF && !have_w) goto out;
  if (pthread_create(&te, NULL, pp_echo, &p)) goto out;
  cpu_set_t saved;
  sched_getaffinity(0, sizeof saved, &saved);
  if (mode == PP_ONE_CPU) pp_pin0();
  char b[PP_MSG] = {0};
  int ok = 1, poll = mode == PP_CLIENT_POLLS;
  uint64_t t0 = 0;
  for (int i = 0; i < PP_WARM + rounds && ok; i++) {
    if (i == PP_WARM) t0 = bench_now_ns();
    ok = send(c, b, PP_MSG, MSG_NOSIGNAL) == PP_MSG && pp_recv_all(c, b, poll) == 0;
  }
  if (ok) us = (double)(bench_now_ns() - t0) / 1e3 / rounds;
  sched_setaffinity(0, sizeof saved, &saved);
  shutdown(c, SHUT_RDWR);
  shutdown(p.fd, SHUT_RDWR);
  pthread_join(te, NULL);
  if (have_w) {
    pthread_mutex_lock(&p.mu);
    p.stop = 1;
    pthread_cond_signal(&p.cv);
    pthread_mutex_unlock(&p.mu);
    pthread_join(tw, NULL);
  }
  pthread_mutex_destroy(&p.mu);
  pthread_cond_destroy(&p.cv);
out:
  if (p.fd >= 0) close(p.fd);
  if (c >= 0) close(c);
  if (l >= 0) close(l);
  return us;
}

int bench_pingpong(int argc, char **argv) {
  int rounds = 20000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
      rounds = atoi(argv[++i]);
    } else {
      fprintf(!strcmp(argv[i], "--help") ? stdout : stderr,
              "usage: precis-bench pingpong [--rounds 20000]\n");
      return strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (rounds < 1) return 2;
  printf("## pingpong: one 64-byte round trip over loopback TCP, %d rounds\n\n", rounds);
  bu_env_md(stdout);
  printf("| threads | µs per round trip |\n|---|---:|\n");
  for (int m = 0; m < PP_MODES; m++) {
    double us = pp_run(m, rounds);
    if (us < 0) {
      fprintf(stderr, "precis-bench pingpong: %s: socket setup failed\n", pp_names[m]);
      return 1;
    }
    printf("| %s | %.1f |\n", pp_names[m], us);
  }
  return 0;
}
