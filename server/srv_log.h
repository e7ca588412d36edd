/* srv_log.h: the server's names for the one Precis log (common/log.h):
 * one line per event on stderr, `2026-11-28T18:00:00Z INFO msg`.
 * Thread-safe (each line is one write(2)). Never pass secrets. */
#ifndef PRECIS_SERVER_SRV_LOG_H
#define PRECIS_SERVER_SRV_LOG_H

#include "log.h"

enum {
  SRV_LOG_DEBUG = PLOG_DEBUG,
  SRV_LOG_INFO = PLOG_INFO,
  SRV_LOG_WARN = PLOG_WARN,
  SRV_LOG_ERROR = PLOG_ERROR
};

/* Lines below `level` are dropped. Default INFO. */
#define srv_log_set_level plog_set_level
#define srv_log_level     plog_level
/* "debug" | "info" | "warn" | "error" -> level, -1 when unknown. */
#define srv_log_parse_level plog_parse_level
#define srv_log             plog

#define srv_debug(...) plog(PLOG_DEBUG, __VA_ARGS__)
#define srv_info(...)  plog(PLOG_INFO, __VA_ARGS__)
#define srv_warn(...)  plog(PLOG_WARN, __VA_ARGS__)
#define srv_error(...) plog(PLOG_ERROR, __VA_ARGS__)

#endif
