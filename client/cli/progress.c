/*
 * progress.c: progress line for long ingests (see progress.h).
 */
#include "progress.h"

#include <string.h>
#include <time.h>

double progress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void progress_init(progress *p, FILE *out, int tty, const char *label, int64_t total, double now) {
  memset(p, 0, sizeof *p);
  p->out = out;
  p->tty = tty;
  p->label = label ? label : "progress";
  p->total = total;
  p->start = now;
  p->last = now;
  p->interval = 2.0;
}

static void fmt_duration(char *buf, size_t len, double s) {
  if (s < 0) s = 0;
  unsigned long t = (unsigned long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
  else
    snprintf(buf, len, "%lu:%02lu", t / 60, t % 60);
}

void progress_format(const progress *p, uint64_t count, double now, char *buf, size_t len) {
  double el = now - p->start;
  double rate = el > 0 ? (double)count / el : 0;
  char eta[32] = "";
  char bar[48] = "";
  char pct[16] = "";
  if (p->total > 0) {
    double f = (double)count / (double)p->total;
    if (f > 1) f = 1;
    snprintf(pct, sizeof pct, " %5.1f%%", f * 100);
    if (p->tty) {
      int w = 24, fill = (int)(f * w);
      bar[0] = ' ';
      bar[1] = '[';
      for (int i = 0; i < w; i++) bar[2 + i] = i < fill ? '#' : '.';
      bar[2 + w] = ']';
      bar[3 + w] = '\0';
    }
    if (rate > 0 && (uint64_t)p->total > count) {
      char d[24];
      fmt_duration(d, sizeof d, (double)((uint64_t)p->total - count) / rate);
      snprintf(eta, sizeof eta, " ETA %s", d);
    }
    snprintf(buf, len, "%s: %llu/%lld%s%s %.0f/s%s", p->label, (unsigned long long)count,
             (long long)p->total, pct, bar, rate, eta);
  } else {
    char d[24];
    fmt_duration(d, sizeof d, el);
    snprintf(buf, len, "%s: %llu %.0f/s elapsed %s", p->label, (unsigned long long)count, rate, d);
  }
}

void progress_update(progress *p, uint64_t count, double now) {
  if (!p->out) return;
  double gap = p->tty ? 0.1 : p->interval;
  if (now - p->last < gap) return;
  char line[160];
  progress_format(p, count, now, line, sizeof line);
  if (p->tty) {
    fprintf(p->out, "\r%s\033[K", line);
    p->drawn = 1;
  } else {
    fprintf(p->out, "%s\n", line);
  }
  fflush(p->out);
  p->last = now;
}

void progress_finish(progress *p, uint64_t count, double now) {
  if (!p->out) return;
  char line[160];
  progress_format(p, count, now, line, sizeof line);
  if (p->tty)
    fprintf(p->out, "\r%s\033[K\n", line);
  else
    fprintf(p->out, "%s\n", line);
  fflush(p->out);
  p->drawn = 0;
  p->last = now;
}
