/* crc32c.c: CRC-32C (see crc32c.h). */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t crc_table[256];
static int crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int j = 0; j < 8; j++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    crc_table[i] = c;
  }
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t crc_update_hw(uint32_t c, const unsigned char *p,
                                                                size_t n) {
  uint64_t c64 = c;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    c64 = __builtin_ia32_crc32di(c64, v);
  }
  c = (uint32_t)c64;
  for (; n; p++, n--) c = __builtin_ia32_crc32qi(c, *p);
  return c;
}
#endif

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t n) {
  const unsigned char *p = buf;
  uint32_t c = ~crc;
  pthread_once(&crc_once, crc_init);
#if defined(__x86_64__) && defined(__GNUC__)
  if (crc_hw) return ~crc_update_hw(c, p, n);
#endif
  for (; n; p++, n--) c = crc_table[(c ^ *p) & 0xff] ^ (c >> 8);
  return ~c;
}
