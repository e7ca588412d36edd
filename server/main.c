/* main.c: precisd startup and shutdown: configuration, auth token, signals,
 * engine, listening socket, port file, then the event loop (loop.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "srv.h"
#include "srv_log.h"
#include "srv_net.h"
#include "srv_loop.h"
#include "srv_metrics.h"

/* ---- hardening (issue 11): bound glibc's malloc arenas ----
 * Each worker thread otherwise gets its own arena (up to 8 per core) whose
 * freed pages stay mapped: the create/load/drop cycle of issue 11 grew RSS
 * by ~15 MB per round. Two arenas per worker plus the loop's, and freed
 * memory returned after a collection is dropped (dispatch.c). */
static void srv_malloc_tune(void) { mallopt(M_ARENA_MAX, 4); }

uint64_t srv_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Read the token: the file's content without trailing whitespace. The token
 * is never logged. */
static int load_token(srv_server *s, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    srv_error("cannot read auth token file %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat sb;
  if (fstat(fd, &sb) == 0 && (sb.st_mode & 0077))
    srv_warn("auth token file %s is readable by group/others", path);
  char buf[4097];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
    if (n == sizeof buf - 1) break;
  }
  close(fd);
  while (n > 0 &&
         (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    n--;
  if (n == 0 || n >= sizeof buf - 1) {
    srv_error("auth token file %s must hold a token of 1..4095 bytes", path);
    return -1;
  }
  s->token = malloc(n + 1);
  if (!s->token) return -1;
  memcpy(s->token, buf, n);
  s->token[n] = 0;
  s->token_len = n;
  memset(buf, 0, sizeof buf);
  return 0;
}

static int open_listener(const srv_config *cfg, int *port_out) {
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", cfg->port);
  int fd = srv_listen_tcp("listen address", cfg->listen, portstr, 1024);
  if (fd < 0) return -1;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char host[INET6_ADDRSTRLEN] = "?";
  int port = cfg->port;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port = ntohs(a->sin6_port);
    }
  }
  if (ss.ss_family == AF_INET6)
    srv_info("listening on [%s]:%d", host, port);
  else
    srv_info("listening on %s:%d", host, port);
  *port_out = port;
  return fd;
}

/* Write the port atomically (file.h) so a reader never sees half. */
static int write_port_file(const char *path, int port) {
  char buf[16];
  int n = snprintf(buf, sizeof buf, "%d\n", port);
  precis_error err;
  if (file_write_atomic(path, buf, (size_t)n, &err) != PRECIS_OK) {
    srv_error("cannot write port file: %s", err.msg);
    return -1;
  }
  return 0;
}

static int g_sig_wfd = -1;

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t w = write(g_sig_wfd, &b, 1);
  (void)w;
  errno = saved;
}

static void engine_log(void *ctx, int level, const char *msg) {
  (void)ctx;
  srv_log(level, "engine: %s", msg);
}

int main(int argc, char **argv) {
  srv_server s;
  memset(&s, 0, sizeof s);
  srv_config_init(&s.cfg);
  int rc = srv_config_parse(&s.cfg, argc, argv);
  if (rc) {
    srv_config_free(&s.cfg);
    return rc > 0 ? 0 : 2;
  }
  srv_log_set_level(s.cfg.log_level);
  s.start_ms = srv_now_ms();
  int status = 1;
  int sfd = -1, lfd = -1;

  if (s.cfg.auth_token_file && load_token(&s, s.cfg.auth_token_file)) goto out;

  /* Signals: a handler writes the signal number to a pipe that the loop
   * reads. (A signalfd is not enough: libraries start threads before main,
   * e.g. OpenBLAS, and a signal delivered to one of those would kill us.) */
  int sp[2];
  /* only the handler's end is non-blocking; the ring waits on the other */
  if (pipe2(sp, O_CLOEXEC) != 0 || fcntl(sp[1], F_SETFL, fcntl(sp[1], F_GETFL) | O_NONBLOCK) != 0) {
    srv_error("pipe: %s", strerror(errno));
    goto out;
  }
  sfd = sp[0];
  g_sig_wfd = sp[1];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (s.cfg.restore_from) { /* docs/OPERATIONS.md, "Backup and restore" */
    precis_error rerr = {0};
    if (engine_restore(s.cfg.restore_from, s.cfg.data_dir, &rerr)) {
      srv_error("cannot restore %s into %s: %s (%s)", s.cfg.restore_from, s.cfg.data_dir, rerr.msg,
                precis_status_name(rerr.code));
      goto out;
    }
    srv_info("restored snapshot %s into %s", s.cfg.restore_from, s.cfg.data_dir);
  }

  engine_options eo;
  engine_options_default(&eo);
  eo.sync_writes = s.cfg.sync_writes;
  eo.log = engine_log;
  eo.log_ctx = NULL;
  /* hardening (issue 11): ANN memory per collection, malloc arenas */
  eo.max_index_bytes = s.cfg.max_index_memory;
  /* index upkeep: periodic saves keep replay after a crash short */
  if (s.cfg.index_save_ops != UINT64_MAX) eo.save_every_ops = s.cfg.index_save_ops;
  if (s.cfg.index_save_seconds != UINT64_MAX) eo.save_every_ms = s.cfg.index_save_seconds * 1000;
  eo.max_result_bytes = s.cfg.max_frame; /* retrieve: issue 11 */
  srv_malloc_tune();
  precis_error err = {0};
  if (engine_open(s.cfg.data_dir, &eo, &s.eng, &err)) {
    srv_error("cannot open data directory %s: %s (%s)", s.cfg.data_dir, err.msg,
              precis_status_name(err.code));
    goto out;
  }
  srv_info("precisd %s: data %s, %d workers, max frame %u bytes, %s, auth %s", PRECIS_VERSION,
           s.cfg.data_dir, s.cfg.workers, s.cfg.max_frame, engine_faiss_build(),
           s.token ? "on" : "off");

  int port = 0;
  lfd = open_listener(&s.cfg, &port);
  if (lfd < 0) goto out;
  if (s.cfg.metrics_listen) { /* before the workers start (the hooks use it)
                              and before the port file says we are up */
    int mport = 0;
    s.metrics = srv_metrics_create(&s);
    if (!s.metrics || srv_metrics_serve(s.metrics, s.cfg.metrics_listen, &mport)) goto out;
    if (s.cfg.metrics_port_file && write_port_file(s.cfg.metrics_port_file, mport)) goto out;
  }

  if (s.cfg.port_file && write_port_file(s.cfg.port_file, port)) goto out;

  int lr = srv_loop_run(&s, lfd, sfd);
  lfd = -1; /* closed by the loop */
  if (lr == 0) status = 0;

out:
  if (lfd >= 0) close(lfd);
  srv_metrics_destroy(s.metrics); /* the loop has stopped the workers */
  if (s.eng) {
    srv_info("closing engine (saving indexes)");
    engine_close(s.eng);
  }
  if (sfd >= 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    close(sfd);
    close(g_sig_wfd);
  }
  if (s.token) {
    memset(s.token, 0, s.token_len);
    free(s.token);
  }
  srv_info("stopped (%s)", status == 0 ? "clean" : "error");
  srv_config_free(&s.cfg);
  return status;
}
