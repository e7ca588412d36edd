/*
 * byteorder.h: the one home of Precis's byte order helpers.
 *
 * The on-disk rule (docs/STORAGE.md, "Byte order"): RocksDB keys are
 * big-endian, so that byte-wise key order is numeric order; every value and
 * every file Precis writes is little-endian. Floats are IEEE-754 binary32,
 * little-endian. These helpers are the only code that turns integers into
 * bytes for storage or the wire; they never read or write past p[0..n).
 */
#ifndef PRECIS_COMMON_BYTEORDER_H
#define PRECIS_COMMON_BYTEORDER_H

#include <stdint.h>
#include <string.h>

/* Precis stores float arrays (vectors, edge weights) with memcpy and reads
 * them in place: that is the little-endian rule only on a little-endian host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "Precis stores floats little-endian in place and needs a little-endian host"
#endif

static inline void byte_put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}
static inline void byte_put_be64(unsigned char *p, uint64_t v) {
  byte_put_be32(p, (uint32_t)(v >> 32));
  byte_put_be32(p + 4, (uint32_t)v);
}
static inline uint32_t byte_get_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t byte_get_be64(const unsigned char *p) {
  return (uint64_t)byte_get_be32(p) << 32 | byte_get_be32(p + 4);
}

static inline void byte_put_le32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}
static inline void byte_put_le64(unsigned char *p, uint64_t v) {
  byte_put_le32(p, (uint32_t)v);
  byte_put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t byte_get_le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t byte_get_le64(const unsigned char *p) {
  return (uint64_t)byte_get_le32(p) | (uint64_t)byte_get_le32(p + 4) << 32;
}

/* Floats: binary32 bits, little-endian. */
static inline void byte_put_lef32(unsigned char *p, float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  byte_put_le32(p, u);
}
static inline float byte_get_lef32(const unsigned char *p) {
  uint32_t u = byte_get_le32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

#endif /* PRECIS_COMMON_BYTEORDER_H */
