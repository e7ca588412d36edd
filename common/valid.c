/* valid.c: text and name rules (see valid.h). */
#include "valid.h"

#include <string.h>

#include "precis/limits.h"

int valid_text(const void *sv, size_t n, size_t *bad_at) {
  const uint8_t *s = sv;
  size_t i = 0;
  int code = VALID_OK;
  while (i < n) {
    /* ASCII fast path: eight bytes at a time without a high bit or a NUL */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ull) || ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull))
        break;
      i += 8;
    }
    if (i >= n) break;
    uint8_t c = s[i];
    if (c == 0) {
      code = VALID_NUL;
      break;
    }
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0)
        lo = 0xA0; /* overlong */
      else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0)
        lo = 0x90; /* overlong */
      else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    } else {
      code = VALID_UTF8;
      break;
    }
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) {
      code = VALID_UTF8;
      break;
    }
    size_t k = 2;
    for (; k < len; k++)
      if ((s[i + k] & 0xC0) != 0x80) break;
    if (k < len) {
      code = VALID_UTF8;
      break;
    }
    i += len;
  }
  if (bad_at) *bad_at = code ? i : n;
  return code;
}

const char *valid_text_problem(int code) {
  return code == VALID_NUL    ? "contains a NUL byte"
         : code == VALID_UTF8 ? "is not valid UTF-8"
                              : "is valid";
}

bool valid_name_chars(const char *s, size_t n, bool colon) {
  if (!s || n < 1) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '.' || ch == '-' || (colon && ch == ':')))
      return false;
  }
  return true;
}

bool valid_name(const char *s, size_t n) {
  if (!s || n < 1 || n > PRECIS_MAX_NAME_LEN) return false;
  if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
  return valid_name_chars(s, n, false);
}
