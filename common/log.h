/*
 * log.h: the one log of Precis: one line per event on stderr,
 * `2026-11-28T18:00:00Z INFO message`. The server logs through it
 * (server/srv_log.h names), and the engine's default sink is it.
 *
 * Conventions: thread-safe (each line is one write(2)); embedded newlines
 * are folded into spaces; lines longer than about 1 KiB are truncated.
 * Never pass secrets. Levels below the threshold (default INFO) are dropped.
 */
#ifndef PRECIS_COMMON_LOG_H
#define PRECIS_COMMON_LOG_H

enum { PLOG_DEBUG = 0, PLOG_INFO = 1, PLOG_WARN = 2, PLOG_ERROR = 3 };

void plog_set_level(int level);
int plog_level(void);
/* "debug" | "info" | "warn" (or "warning") | "error" -> level, -1 when unknown. */
int plog_parse_level(const char *s);

void plog(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A message already formatted (as the engine's log sink hands it over). */
void plog_msg(int level, const char *msg);

#endif /* PRECIS_COMMON_LOG_H */
