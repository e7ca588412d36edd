/* log.c: the server's stderr log (see srv_log.h). */
#include "srv_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = SRV_LOG_INFO;
static const char *const g_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void srv_log_set_level(int level) { atomic_store(&g_level, level); }
int srv_log_level(void) { return atomic_load(&g_level); }

int srv_log_parse_level(const char *s) {
  static const char *const lower[] = {"debug", "info", "warn", "error"};
  for (int i = 0; i < 4; i++)
    if (strcasecmp(s, lower[i]) == 0) return i;
  if (strcasecmp(s, "warning") == 0) return SRV_LOG_WARN;
  return -1;
}

void srv_log(int level, const char *fmt, ...) {
  if (level < atomic_load(&g_level)) return;
  if (level < SRV_LOG_DEBUG) level = SRV_LOG_DEBUG;
  if (level > SRV_LOG_ERROR) level = SRV_LOG_ERROR;
  char line[1024];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
  n += (size_t)snprintf(line + n, sizeof line - n, "%s ", g_names[level]);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
  va_end(ap);
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
