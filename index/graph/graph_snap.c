/* graph_snap.c: the graph snapshot file and its replay log (graph_snap.h). */
#include "graph_snap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coll_internal.h"
#include "crc32c.h"
#include "file.h"

/* magic | version u32 | cid u32 | seq u64 | body length u64 */
#define GSNAP_HDR 32

void gsnap_path(const char *dir, uint32_t id, char *out, size_t n) {
  snprintf(out, n, "%s/%u.graph", dir, id);
}

int gsnap_take(coll *c, uint64_t seq, gsnap_image *im, precis_error *err) {
  im->buf = NULL;
  im->len = 0;
  if (!gmem_usable(c->gm))
    return precis_error_set(err, PRECIS_E_UNIMPLEMENTED, "graph in memory is incomplete");
  size_t body = gmem_encoded_size(c->gm), len = GSNAP_HDR + body + 4;
  unsigned char *p = malloc(len);
  if (!p) return precis_error_set(err, PRECIS_E_NO_MEMORY, "graph snapshot");
  memcpy(p, GSNAP_MAGIC, 8);
  byte_put_le32(p + 8, GSNAP_VERSION);
  byte_put_le32(p + 12, c->id);
  byte_put_le64(p + 16, seq);
  byte_put_le64(p + 24, body);
  gmem_encode(c->gm, p + GSNAP_HDR);
  byte_put_le32(p + GSNAP_HDR + body, crc32c(p, GSNAP_HDR + body));
  im->buf = p;
  im->len = len;
  return PRECIS_OK;
}

int gsnap_write(const gsnap_image *im, const char *path, precis_error *err) {
  return file_write_atomic(path, im->buf, im->len, err);
}

void gsnap_image_free(gsnap_image *im) {
  free(im->buf);
  im->buf = NULL;
  im->len = 0;
}

void gsnap_stage_log(coll *c, store_batch *b, uint64_t seq) {
  uint64_t *ids;
  size_t n;
  unsigned char k[13], lost = 0xff;
  store_put_be32(k, c->id);
  store_put_be64(k + 4, seq);
  k[12] = GSNAP_LOG_TAG;
  if (gmem_staged_ids(c->gm, &ids, &n)) { /* replay past this write is impossible */
    store_batch_put(b, STORE_CF_LOG, k, 13, &lost, 1);
    return;
  }
  if (!n) return;
  unsigned char *v = (unsigned char *)ids; /* in place: 8 bytes each */
  for (size_t i = 0; i < n; i++) byte_put_le64(v + 8 * i, ids[i]);
  store_batch_put(b, STORE_CF_LOG, k, 13, v, 8 * n);
  free(ids);
}

/* Read the whole file; *why says what went wrong. */
static int read_file(const char *path, unsigned char **out, size_t *len, char *why, size_t wl) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, wl, "%s", errno == ENOENT ? "no graph snapshot" : strerror(errno));
    return errno == ENOENT ? PRECIS_E_NOT_FOUND : PRECIS_E_IO;
  }
  struct stat sb;
  unsigned char *p = NULL;
  int rc = PRECIS_E_IO;
  if (fstat(fileno(f), &sb) != 0) {
    snprintf(why, wl, "graph snapshot: %s", strerror(errno));
  } else if ((uint64_t)sb.st_size < GSNAP_HDR + 4 || (uint64_t)sb.st_size > SIZE_MAX / 2) {
    snprintf(why, wl, "graph snapshot of %lld bytes is truncated", (long long)sb.st_size);
    rc = PRECIS_E_CORRUPTION;
  } else if (!(p = malloc((size_t)sb.st_size))) {
    snprintf(why, wl, "graph snapshot: out of memory");
    rc = PRECIS_E_NO_MEMORY;
  } else if (fread(p, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
    snprintf(why, wl, "graph snapshot: short read");
  } else {
    rc = PRECIS_OK;
    *out = p;
    *len = (size_t)sb.st_size;
    p = NULL;
  }
  free(p);
  fclose(f);
  return rc;
}

/* Check the header and checksum against the collection. */
static int check_header(coll *c, const unsigned char *p, size_t len, uint64_t *seq, char *why,
                        size_t wl) {
  if (memcmp(p, GSNAP_MAGIC, 8)) {
    snprintf(why, wl, "graph snapshot: not a graph snapshot (bad magic)");
    return PRECIS_E_CORRUPTION;
  }
  uint32_t ver = byte_get_le32(p + 8);
  if (ver != GSNAP_VERSION) {
    snprintf(why, wl, "graph snapshot: format version %u, this build reads %u", ver, GSNAP_VERSION);
    return PRECIS_E_CORRUPTION;
  }
  uint64_t body = byte_get_le64(p + 24);
  if (body != len - GSNAP_HDR - 4) {
    snprintf(why, wl, "graph snapshot: %zu bytes, its header says %llu", len,
             (unsigned long long)(body + GSNAP_HDR + 4));
    return PRECIS_E_CORRUPTION;
  }
  if (crc32c(p, len - 4) != byte_get_le32(p + len - 4)) {
    snprintf(why, wl, "graph snapshot: checksum mismatch");
    return PRECIS_E_CORRUPTION;
  }
  uint32_t cid = byte_get_le32(p + 12);
  *seq = byte_get_le64(p + 16);
  if (cid != c->id) {
    snprintf(why, wl, "graph snapshot belongs to collection id %u, not %u", cid, c->id);
    return PRECIS_E_CORRUPTION;
  }
  if (*seq > c->seq) {
    snprintf(why, wl, "graph snapshot (seq %llu) is newer than the data (seq %llu)",
             (unsigned long long)*seq, (unsigned long long)c->seq);
    return PRECIS_E_CORRUPTION;
  }
  uint64_t first = 0;
  precis_error e;
  if (coll__first_log_seq(c, &first, &e)) {
    snprintf(why, wl, "replay log: %s", e.msg);
    return e.code;
  }
  if (*seq < c->seq && (first == 0 || first > *seq + 1)) {
    snprintf(why, wl, "graph snapshot (seq %llu) is older than the replay log",
             (unsigned long long)*seq);
    return PRECIS_E_CORRUPTION;
  }
  return PRECIS_OK;
}

/* The ids of the graph log entries after `from`, into *set. */
static int logged_ids(coll *c, uint64_t from, idmap *set, char *why, size_t wl) {
  unsigned char prefix[4], start[12];
  store_put_be32(prefix, c->id);
  store_put_be32(start, c->id);
  store_put_be64(start + 4, from + 1);
  store_iter *it = store_iter_create(c->st, STORE_CF_LOG, prefix, 4);
  if (!it) {
    snprintf(why, wl, "graph replay: out of memory");
    return PRECIS_E_NO_MEMORY;
  }
  store_iter_seek(it, start, 12);
  int rc = PRECIS_OK;
  for (; store_iter_valid(it) && !rc; store_iter_next(it)) {
    size_t kl, vl;
    const unsigned char *k = (const unsigned char *)store_iter_key(it, &kl);
    const unsigned char *v = (const unsigned char *)store_iter_value(it, &vl);
    if (kl != 13 || k[12] != GSNAP_LOG_TAG) continue; /* a point entry (index replay) */
    if (vl % 8) {
      snprintf(why, wl, "graph replay: the write at seq %llu did not log its ids",
               (unsigned long long)store_get_be64(k + 4));
      rc = PRECIS_E_CORRUPTION;
    }
    for (size_t i = 0; i + 8 <= vl && !rc; i += 8)
      if (idmap_put(set, byte_get_le64(v + i), 1)) {
        snprintf(why, wl, "graph replay: out of memory");
        rc = PRECIS_E_NO_MEMORY;
      }
  }
  precis_error e;
  if (!rc && (rc = store_iter_status(it, &e))) snprintf(why, wl, "graph replay: %s", e.msg);
  store_iter_destroy(it);
  return rc;
}

int gsnap_load(coll *c, const char *path, uint64_t *snap_seq, uint64_t *replayed, char *why,
               size_t whylen) {
  unsigned char *p = NULL;
  size_t len = 0;
  uint64_t seq = 0;
  *replayed = 0;
  int rc = read_file(path, &p, &len, why, whylen);
  if (!rc) rc = check_header(c, p, len, &seq, why, whylen);
  precis_error e;
  if (!rc && (rc = gmem_decode(c->gm, p + GSNAP_HDR, len - GSNAP_HDR - 4, &e)))
    snprintf(why, whylen, "%s", e.msg);
  free(p);
  if (rc || seq == c->seq) {
    *snap_seq = seq;
    return rc;
  }
  idmap set;
  idmap_init(&set);
  uint64_t *ids = NULL;
  size_t n = 0;
  rc = logged_ids(c, seq, &set, why, whylen);
  if (!rc && set.len && !(ids = malloc(set.len * sizeof *ids))) {
    snprintf(why, whylen, "graph replay: out of memory");
    rc = PRECIS_E_NO_MEMORY;
  }
  for (size_t i = 0; !rc && i < set.cap; i++)
    if (set.used[i] == 1) ids[n++] = set.keys[i];
  idmap_free(&set);
  if (!rc && (rc = gmem_reload_ids(c->gm, ids, n, &e)))
    snprintf(why, whylen, "graph replay: %s", e.msg);
  free(ids);
  *snap_seq = seq;
  *replayed = n;
  return rc;
}
