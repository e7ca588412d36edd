/* readers_internal.h: helpers shared by readers.c and readers_jsonl.c. */
#ifndef PRECIS_CLI_READERS_INTERNAL_H
#define PRECIS_CLI_READERS_INTERNAL_H

#include <stddef.h>

/* Format a message into err[0..errlen) (nothing when err is NULL). */
void rd__msg(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif /* PRECIS_CLI_READERS_INTERNAL_H */
