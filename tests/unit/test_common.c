/* test_common.c: common/: byte order, CRC-32C against a bitwise reference
 * and the standard check value, the atomic file write, the log's level
 * names and the name rules shared by collections and link kinds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byteorder.h"
#include "crc32c.h"
#include "file.h"
#include "log.h"
#include "testutil.h"
#include "valid.h"
#include "vec.h"

Test(common, byteorder) {
  unsigned char b[8];
  byte_put_be32(b, 0x01020304u);
  cr_assert(b[0] == 1 && b[3] == 4);
  cr_assert_eq(byte_get_be32(b), 0x01020304u);
  byte_put_le32(b, 0x01020304u);
  cr_assert(b[0] == 4 && b[3] == 1);
  cr_assert_eq(byte_get_le32(b), 0x01020304u);
  byte_put_be64(b, 0x0102030405060708ull);
  cr_assert(b[0] == 1 && b[7] == 8);
  cr_assert_eq(byte_get_be64(b), 0x0102030405060708ull);
  byte_put_le64(b, 0x0102030405060708ull);
  cr_assert(b[0] == 8 && b[7] == 1);
  cr_assert_eq(byte_get_le64(b), 0x0102030405060708ull);
  byte_put_lef32(b, -1.5f);
  cr_assert(b[3] == 0xBF && b[2] == 0xC0 && b[0] == 0);
  cr_assert_eq(byte_get_lef32(b), -1.5f);
}

static uint32_t crc_ref(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return ~c;
}

Test(common, crc32c) {
  cr_assert_eq(crc32c("123456789", 9), 0xE3069283u);
  cr_assert_eq(crc32c("", 0), 0);
  unsigned char buf[1000];
  uint64_t st = 3;
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)tu_rand(&st);
  for (size_t n = 0; n <= sizeof buf; n += 37) {
    uint32_t want = crc_ref(buf, n);
    cr_assert_eq(crc32c(buf, n), want, "n %zu", n);
    /* the running form over any split equals the one-shot value */
    size_t cut = n / 3;
    cr_assert_eq(crc32c_update(crc32c_update(0, buf, cut), buf + cut, n - cut), want);
  }
}

Test(common, file_write_atomic) {
  char *dir = tu_tmpdir("common");
  char path[4200], tmp[4300];
  snprintf(path, sizeof path, "%s/f", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  precis_error err;
  cr_assert_eq(file_write_atomic(path, "one", 3, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(file_write_atomic(path, "second", 6, &err), PRECIS_OK, "%s", err.msg);
  char got[16] = {0};
  FILE *f = fopen(path, "rb");
  cr_assert(f);
  cr_assert_eq(fread(got, 1, sizeof got, f), 6);
  fclose(f);
  cr_assert_str_eq(got, "second");
  cr_assert_neq(access(tmp, F_OK), 0, "no temporary file is left");
  /* abort leaves the old file alone */
  file_atomic fa;
  cr_assert_eq(file_atomic_open(&fa, path, &err), PRECIS_OK, "%s", err.msg);
  cr_assert_eq(file_write_all(fa.fd, "xxxxxxxxxx", 10), 0);
  file_atomic_abort(&fa);
  struct stat sb;
  cr_assert_eq(stat(path, &sb), 0);
  cr_assert_eq(sb.st_size, 6);
  cr_assert_neq(access(tmp, F_OK), 0);
  /* a directory that does not exist: IO naming the path */
  snprintf(path, sizeof path, "%s/missing/f", dir);
  cr_assert_eq(file_write_atomic(path, "x", 1, &err), PRECIS_E_IO);
  cr_assert(strstr(err.msg, "missing/f.tmp"), "%s", err.msg);
  tu_rmrf_free(dir);
}

Test(common, log_levels) {
  cr_assert_eq(plog_parse_level("debug"), PLOG_DEBUG);
  cr_assert_eq(plog_parse_level("WARNING"), PLOG_WARN);
  cr_assert_eq(plog_parse_level("error"), PLOG_ERROR);
  cr_assert_eq(plog_parse_level("loud"), -1);
  int old = plog_level();
  plog_set_level(PLOG_ERROR);
  cr_assert_eq(plog_level(), PLOG_ERROR);
  plog(PLOG_INFO, "dropped below the threshold");
  plog_set_level(old);
}

Test(common, names) {
  cr_assert(valid_name_chars("a.b-c_D9", 8, false));
  cr_assert_not(valid_name_chars("a:b", 3, false));
  cr_assert(valid_name_chars("a:b", 3, true));
  cr_assert_not(valid_name_chars("a b", 3, true));
  cr_assert_not(valid_name_chars("", 0, true));
  cr_assert(valid_name("x", 1));
  cr_assert_not(valid_name("a:b", 3));
}

Test(common, vec) {
  float a[5] = {1, 2, 3, 4, 5}, b[5] = {5, 4, 3, 2, 1};
  cr_assert_eq(vec_dot(a, b, 5), 35.0);
  cr_assert_eq(vec_l2sq(a, b, 5), 40.0);
  cr_assert_eq(vec_dot(a, b, 0), 0.0);
  double dot, norm, l2;
  vec_dot_norm_l2(a, b, 5, &dot, &norm, &l2);
  cr_assert(dot == 35.0 && norm == 55.0 && l2 == 40.0, "%g %g %g", dot, norm, l2);
}
