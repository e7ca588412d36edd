/* engine_restore.c: engine_restore (a snapshot copied into a new data
 * directory, made durable, then renamed into place) and engine_remove_tree. */
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

int engine__mkdir_p(const char *p); /* engine.c */

/* ---- restore (engine_restore) ---- */

/* Copy `src` to the new file `dst` and fsync it. */
static int restore__copy(const char *src, const char *dst, precis_error *err) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) return precis_error_set(err, PRECIS_E_IO, "%s: %s", src, strerror(errno));
  int outfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (outfd < 0) {
    int e = errno;
    close(in);
    return precis_error_set(err, PRECIS_E_IO, "%s: %s", dst, strerror(e));
  }
  enum { BUFSZ = 1 << 16 };
  char *buf = malloc(BUFSZ);
  int rc = buf ? PRECIS_OK : precis_error_set(err, PRECIS_E_NO_MEMORY, "restore");
  while (!rc) {
    ssize_t r = read(in, buf, BUFSZ);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = precis_error_set(err, PRECIS_E_IO, "%s: %s", src, strerror(errno));
      break;
    }
    if (r == 0) break;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = write(outfd, buf + off, (size_t)(r - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        rc = precis_error_set(err, PRECIS_E_IO, "%s: %s", dst, strerror(errno));
        break;
      }
      off += w;
    }
    if (rc) break;
  }
  free(buf);
  if (!rc && fsync(outfd) != 0)
    rc = precis_error_set(err, PRECIS_E_IO, "%s: %s", dst, strerror(errno));
  close(in);
  if (close(outfd) != 0 && !rc)
    rc = precis_error_set(err, PRECIS_E_IO, "%s: %s", dst, strerror(errno));
  return rc;
}

static int restore__rm_tree_entry(const char *path, const struct stat *sb, int flag,
                                  struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

int engine_remove_tree(const char *dir) {
  return nftw(dir, restore__rm_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Copy the regular files of `src` into the new directory `dst` (SST files,
 * which RocksDB never modifies, hard-linked when possible), sync them and
 * `dst`. *files counts them. */
static int restore__copy_dir(const char *src, const char *dst, size_t *files, precis_error *err) {
  if (mkdir(dst, 0755) != 0)
    return precis_error_set(err, PRECIS_E_IO, "%s: %s", dst, strerror(errno));
  DIR *d = opendir(src);
  if (!d) return precis_error_set(err, PRECIS_E_IO, "%s: %s", src, strerror(errno));
  char from[8400], to[8400];
  int rc = PRECIS_OK;
  struct dirent *de;
  while (!rc && (de = readdir(d))) {
    snprintf(from, sizeof from, "%s/%s", src, de->d_name);
    snprintf(to, sizeof to, "%s/%s", dst, de->d_name);
    struct stat sb;
    if (lstat(from, &sb) != 0) {
      rc = precis_error_set(err, PRECIS_E_IO, "%s: %s", from, strerror(errno));
      break;
    }
    if (!S_ISREG(sb.st_mode)) continue; /* ".", "..", the ann/ directory */
    size_t nl = strlen(de->d_name);
    bool sst = nl > 4 && !strcmp(de->d_name + nl - 4, ".sst");
    if (!(sst && link(from, to) == 0)) rc = restore__copy(from, to, err);
    (*files)++;
  }
  closedir(d);
  if (!rc) rc = file_fsync_dir(dst, err);
  return rc;
}

int engine_restore(const char *snapshot_dir, const char *data_dir, precis_error *err) {
  if (!snapshot_dir || !*snapshot_dir || !data_dir || !*data_dir)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "restore needs a snapshot and a data directory");
  if (strlen(snapshot_dir) > 4000 || strlen(data_dir) > 4000)
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "path too long");
  char path[4200], db[4200], dbtmp[4200], ann[4200], anntmp[4200], snapann[4200];
  snprintf(path, sizeof path, "%s/CURRENT", snapshot_dir);
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "%s is not a snapshot (no RocksDB CURRENT file)", snapshot_dir);
  snprintf(db, sizeof db, "%s/db", data_dir);
  snprintf(dbtmp, sizeof dbtmp, "%s/db.restoring", data_dir);
  snprintf(ann, sizeof ann, "%s/ann", data_dir);
  snprintf(anntmp, sizeof anntmp, "%s/ann.restoring", data_dir);
  snprintf(snapann, sizeof snapann, "%s/ann", snapshot_dir);
  if (lstat(db, &sb) == 0)
    return precis_error_set(err, PRECIS_E_ALREADY_EXISTS,
                            "%s already holds a database: restore into a new data directory",
                            data_dir);
  if (engine__mkdir_p(data_dir))
    return precis_error_set(err, PRECIS_E_IO, "%s: %s", data_dir, strerror(errno));
  /* leftovers of an interrupted restore; index files without a database
   * belong to nothing and must not be matched against the restored one */
  const char *stale[3] = {dbtmp, anntmp, ann};
  for (int i = 0; i < 3; i++)
    if (lstat(stale[i], &sb) == 0 && engine_remove_tree(stale[i]) != 0)
      return precis_error_set(err, PRECIS_E_IO, "%s: %s", stale[i], strerror(errno));
  size_t files = 0, ann_files = 0;
  int rc = PRECIS_OK;
  /* the indexes first, the database last: a data directory with a db is a
   * complete restore */
  if (stat(snapann, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    rc = restore__copy_dir(snapann, anntmp, &ann_files, err);
    if (!rc && rename(anntmp, ann) != 0)
      rc = precis_error_set(err, PRECIS_E_IO, "rename %s: %s", anntmp, strerror(errno));
  }
  if (!rc) rc = restore__copy_dir(snapshot_dir, dbtmp, &files, err);
  if (!rc && files == 0)
    rc = precis_error_set(err, PRECIS_E_INVALID_ARGUMENT, "%s is empty", snapshot_dir);
  if (!rc && rename(dbtmp, db) != 0)
    rc = precis_error_set(err, PRECIS_E_IO, "rename %s: %s", dbtmp, strerror(errno));
  if (!rc) rc = file_fsync_dir(data_dir, err);
  if (rc) {
    engine_remove_tree(dbtmp);
    engine_remove_tree(anntmp);
    engine_remove_tree(ann);
  }
  return rc;
}
