/* log.c: the stderr log (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = PLOG_INFO;
static const char *const g_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void plog_set_level(int level) { atomic_store(&g_level, level); }
int plog_level(void) { return atomic_load(&g_level); }

int plog_parse_level(const char *s) {
  static const char *const lower[] = {"debug", "info", "warn", "error"};
  for (int i = 0; i < 4; i++)
    if (strcasecmp(s, lower[i]) == 0) return i;
  if (strcasecmp(s, "warning") == 0) return PLOG_WARN;
  return -1;
}

static void vlog(int level, const char *fmt, va_list ap) {
  if (level < atomic_load(&g_level)) return;
  if (level < PLOG_DEBUG) level = PLOG_DEBUG;
  if (level > PLOG_ERROR) level = PLOG_ERROR;
  char line[1024];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
  n += (size_t)snprintf(line + n, sizeof line - n, "%s ", g_names[level]);
  int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
  if (m < 0) m = 0;
  n += (size_t)m;
  if (n > sizeof line - 2) n = sizeof line - 2; /* truncated */
  /* one event, one line: fold embedded newlines */
  for (size_t i = 0; i < n; i++)
    if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
  line[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, n);
  (void)w;
}

void plog(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(level, fmt, ap);
  va_end(ap);
}

void plog_msg(int level, const char *msg) { plog(level, "%s", msg); }
