/* srvproc.c: see srvproc.h */
#include "srvproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PRECIS_BUILD_DIR
#define PRECIS_BUILD_DIR "build"
#endif

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int read_port(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int port = -1;
  if (fscanf(f, "%d", &port) != 1) port = -1;
  fclose(f);
  return port;
}

void srvproc_dump_log(const srvproc *p) {
  FILE *f = fopen(p->log, "r");
  if (!f) return;
  fprintf(stderr, "---- precisd log %s ----\n", p->log);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stderr);
  fprintf(stderr, "---- end of log ----\n");
  fclose(f);
}

void srvproc_cleanup(srvproc *p) {
  if (p->log[0]) unlink(p->log);
  if (p->port_file[0]) unlink(p->port_file);
  p->log[0] = p->port_file[0] = 0;
}

static int reap(srvproc *p, int timeout_ms) {
  int st = 0;
  for (int waited = 0;; waited += 10) {
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) break;
    if (r < 0 && errno != EINTR) {
      p->pid = 0;
      return -1;
    }
    if (waited >= timeout_ms) {
      kill(p->pid, SIGKILL);
      timeout_ms = INT_MAX; /* now wait for the kill */
    }
    sleep_ms(10);
  }
  p->pid = 0;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

int srvproc_start(const char *datadir, const char *extra_args[], srvproc *out) {
  memset(out, 0, sizeof *out);
  const char *bin = getenv("PRECISD");
  if (!bin || !*bin) bin = PRECIS_BUILD_DIR "/precisd";
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  snprintf(out->log, sizeof out->log, "%s/precisd-log-XXXXXX", tmp);
  int lfd = mkstemp(out->log);
  if (lfd < 0) return -1;
  snprintf(out->port_file, sizeof out->port_file, "%s.port", out->log);
  unlink(out->port_file);

  const char *argv[64];
  int n = 0;
  argv[n++] = bin;
  argv[n++] = "--data-dir";
  argv[n++] = datadir;
  argv[n++] = "--listen";
  argv[n++] = "127.0.0.1";
  argv[n++] = "--port";
  argv[n++] = "0";
  argv[n++] = "--port-file";
  argv[n++] = out->port_file;
  for (int i = 0; extra_args && extra_args[i] && n < 63; i++) argv[n++] = extra_args[i];
  argv[n] = NULL;

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(lfd);
    return -1;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(lfd, STDOUT_FILENO);
    dup2(lfd, STDERR_FILENO);
    /* an unblocked, default-handled SIGTERM/SIGINT for the server */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    execv(bin, (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
    _exit(127);
  }
  close(lfd);
  out->pid = pid;
  for (int waited = 0; waited < 60000; waited += 10) {
    int port = read_port(out->port_file);
    if (port > 0) {
      out->port = port;
      return port;
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      out->pid = 0;
      fprintf(stderr, "precisd exited during startup (status %d)\n",
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
      srvproc_dump_log(out);
      return -1;
    }
    sleep_ms(10);
  }
  fprintf(stderr, "precisd did not start listening within 60 s\n");
  srvproc_dump_log(out);
  srvproc_kill9(out);
  return -1;
}

int srvproc_stop(srvproc *p) {
  if (p->pid <= 0) return -1;
  if (kill(p->pid, SIGTERM) != 0) return -1;
  return reap(p, 60000);
}

int srvproc_kill9(srvproc *p) {
  if (p->pid <= 0) return -1;
  kill(p->pid, SIGKILL);
  return reap(p, INT_MAX) < 0 ? -1 : 0;
}
