/* payload.c: metadata validation, token counting, payload encoding. */
#include "payload.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "precis/limits.h"

int payload_validate_meta(const char *meta, size_t len, precis_error *err) {
  if (len > PRECIS_MAX_META_BYTES)
    return precis_error_set(err, PRECIS_E_OUT_OF_RANGE, "metadata is %zu bytes, limit %u", len,
                            PRECIS_MAX_META_BYTES);
  json_error_t jerr;
  json_t *j = json_loadb(meta, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!j)
    return precis_error_set(err, PRECIS_E_INVALID_JSON, "metadata: %s at line %d column %d",
                            jerr.text, jerr.line, jerr.column);
  int ok = json_is_object(j);
  json_decref(j);
  if (!ok) return precis_error_set(err, PRECIS_E_INVALID_JSON, "metadata must be a JSON object");
  return PRECIS_OK;
}

uint32_t payload_count_tokens(const char *text, size_t len) {
  uint64_t t = 0;
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (isalnum(c) || c >= 0x80) {
      run++;
      continue;
    }
    if (run) t += (run + 3) / 4;
    run = 0;
    if (!isspace(c)) t++;
  }
  if (run) t += (run + 3) / 4;
  return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

size_t payload_encoded_size(size_t text_len, size_t meta_len) { return 12 + text_len + meta_len; }

void payload_encode(unsigned char *buf, uint32_t tokens, const char *text, size_t text_len,
                    const char *meta, size_t meta_len) {
  byte_put_le32(buf, tokens);
  byte_put_le32(buf + 4, (uint32_t)text_len);
  if (text_len) memcpy(buf + 8, text, text_len);
  byte_put_le32(buf + 8 + text_len, (uint32_t)meta_len);
  if (meta_len) memcpy(buf + 12 + text_len, meta, meta_len);
}

/* Offsets of text and metadata in a record; false when it is corrupt. */
static bool record_layout(const unsigned char *p, size_t len, uint32_t *tl, uint32_t *ml) {
  if (len < 12) return false;
  *tl = byte_get_le32(p + 4);
  if ((size_t)*tl > len - 12) return false;
  *ml = byte_get_le32(p + 8 + *tl);
  return (size_t)*ml == len - 12 - *tl;
}

int payload_meta_view(const char *buf, size_t len, const char **meta, size_t *meta_len,
                      precis_error *err) {
  uint32_t tl, ml;
  if (!record_layout((const unsigned char *)buf, len, &tl, &ml))
    return precis_error_set(err, PRECIS_E_CORRUPTION, "payload record is corrupt");
  *meta = buf + 12 + tl;
  *meta_len = ml;
  return PRECIS_OK;
}

int payload_decode(const char *buf, size_t len, uint32_t *tokens, char **text, char **meta,
                   precis_error *err) {
  const unsigned char *p = (const unsigned char *)buf;
  uint32_t tl, ml;
  if (!record_layout(p, len, &tl, &ml)) goto corrupt;
  if (!text && !meta) {
    *tokens = byte_get_le32(p);
    return PRECIS_OK;
  }
  char *t = malloc((size_t)tl + 1), *m = malloc((size_t)ml + 1);
  if (!t || !m) {
    free(t);
    free(m);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "payload");
  }
  memcpy(t, p + 8, tl);
  t[tl] = 0;
  memcpy(m, p + 12 + tl, ml);
  m[ml] = 0;
  *tokens = byte_get_le32(p);
  *text = t;
  *meta = m;
  return PRECIS_OK;
corrupt:
  return precis_error_set(err, PRECIS_E_CORRUPTION, "payload record is corrupt");
}
