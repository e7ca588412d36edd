/*
 * crc32c.h: the one checksum of Precis files, CRC-32C (Castagnoli, the
 * polynomial of iSCSI, ext4 and RocksDB), with SSE4.2 where the CPU has it.
 * Every file Precis writes ends in (or carries) a CRC-32C of its bytes,
 * stored little-endian (docs/STORAGE.md). Thread-safe; no allocation.
 */
#ifndef PRECIS_COMMON_CRC32C_H
#define PRECIS_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Running form: start with crc32c_update(0, ...), feed the result back in;
 * the value after the last call is the CRC-32C of the concatenation. */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t n);

/* The CRC-32C of buf[0..n) ("123456789" -> 0xE3069283). */
static inline uint32_t crc32c(const void *buf, size_t n) { return crc32c_update(0, buf, n); }

#endif /* PRECIS_COMMON_CRC32C_H */
