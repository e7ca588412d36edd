/* srv_log.h: one line per event on stderr, `2026-11-28T18:00:00Z INFO msg`.
 * Thread-safe (each line is one write(2)). Never pass secrets. */
#ifndef PRECIS_SERVER_SRV_LOG_H
#define PRECIS_SERVER_SRV_LOG_H

enum { SRV_LOG_DEBUG = 0, SRV_LOG_INFO = 1, SRV_LOG_WARN = 2, SRV_LOG_ERROR = 3 };

/* Lines below `level` are dropped. Default INFO. */
void srv_log_set_level(int level);
int srv_log_level(void);
/* "debug" | "info" | "warn" | "error" -> level, -1 when unknown. */
int srv_log_parse_level(const char *s);

void srv_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#define srv_debug(...) srv_log(SRV_LOG_DEBUG, __VA_ARGS__)
#define srv_info(...) srv_log(SRV_LOG_INFO, __VA_ARGS__)
#define srv_warn(...) srv_log(SRV_LOG_WARN, __VA_ARGS__)
#define srv_error(...) srv_log(SRV_LOG_ERROR, __VA_ARGS__)

#endif
