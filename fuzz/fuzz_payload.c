/* fuzz_payload.c: libFuzzer target for index/store/payload.c.
 *
 * The input is used three ways: (1) as metadata text for
 * payload_validate_meta() (it must accept exactly the single JSON objects
 * jansson accepts, without trailing bytes); (2) as a stored payload record
 * for payload_decode() (a corrupt record must yield CORRUPTION, never a read
 * past the buffer); (3) split in two as text + metadata, encoded with
 * payload_encode() and decoded again, which must give the same bytes back.
 * payload_count_tokens() runs over the whole input. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  precis_error err;
  const char *s = (const char *)data;

  /* (1) metadata validation over an exact-size heap copy (no NUL), so ASan
   * sees any read past `size`. */
  char *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  int rc = payload_validate_meta(copy, size, &err);
  assert(rc == PRECIS_OK || rc == PRECIS_E_INVALID_JSON || rc == PRECIS_E_OUT_OF_RANGE);
  (void)payload_count_tokens(copy, size);

  /* (2) decode the input as a stored record */
  uint32_t tokens = 0;
  char *text = NULL, *meta = NULL;
  rc = payload_decode(copy, size, &tokens, &text, &meta, &err);
  assert(rc == PRECIS_OK || rc == PRECIS_E_CORRUPTION || rc == PRECIS_E_NO_MEMORY);
  if (rc == PRECIS_OK) {
    assert(text && meta);
    free(text);
    free(meta);
  }
  free(copy);

  /* (3) encode/decode round trip: first byte splits text | meta */
  if (size >= 1) {
    size_t split = size > 1 ? (size_t)data[0] * (size - 1) / 255 : 0;
    const char *t = s + 1;
    size_t tl = split, ml = size - 1 - split;
    const char *m = t + tl;
    size_t n = payload_encoded_size(tl, ml);
    unsigned char *buf = malloc(n);
    if (!buf) return 0;
    uint32_t tok_in = size > 1 ? (uint32_t)data[1] * 977u : 7u;
    payload_encode(buf, tok_in, t, tl, m, ml);
    text = meta = NULL;
    rc = payload_decode((const char *)buf, n, &tokens, &text, &meta, &err);
    assert(rc == PRECIS_OK);
    assert(tokens == tok_in);
    assert(memcmp(text, t, tl) == 0 && text[tl] == 0);
    assert(memcmp(meta, m, ml) == 0 && meta[ml] == 0);
    free(text);
    free(meta);
    /* every strict prefix of a valid record is corrupt */
    if (n > 0) {
      size_t cut = (size_t)data[size - 1] % n;
      unsigned char *pre = malloc(cut ? cut : 1);
      if (pre) {
        memcpy(pre, buf, cut);
        text = meta = NULL;
        rc = payload_decode((const char *)pre, cut, &tokens, &text, &meta, &err);
        assert(rc == PRECIS_E_CORRUPTION);
        free(pre);
      }
    }
    free(buf);
  }
  return 0;
}
