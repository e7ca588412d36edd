/* status.c: names and descriptions of the Precis status codes, and the
 * precis_error helpers. The codes travel on the wire, but every part uses
 * them, so this file is in common/ (the engine does not link the wire
 * library for it). */
#include "precis/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *precis_strerror(int code) {
  switch (code) {
#define PRECIS__STATUS_DESC(name, c, desc) \
  case c:                                  \
    return desc;
    PRECIS_STATUS_MAP(PRECIS__STATUS_DESC)
#undef PRECIS__STATUS_DESC
    default:
      return "unknown status";
  }
}

const char *precis_status_name(int code) {
  switch (code) {
#define PRECIS__STATUS_NAME(name, c, desc) \
  case c:                                  \
    return #name;
    PRECIS_STATUS_MAP(PRECIS__STATUS_NAME)
#undef PRECIS__STATUS_NAME
    default:
      return "UNKNOWN";
  }
}

int precis_error_set(precis_error *err, int code, const char *fmt, ...) {
  if (err) {
    err->code = code;
    if (fmt) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err->msg, sizeof err->msg, fmt, ap);
      va_end(ap);
    } else {
      snprintf(err->msg, sizeof err->msg, "%s", precis_strerror(code));
    }
  }
  return code;
}

void precis_error_clear(precis_error *err) {
  if (err) {
    err->code = PRECIS_OK;
    err->msg[0] = '\0';
  }
}
