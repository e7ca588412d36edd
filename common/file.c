/* file.c: atomic file replacement (see file.h). */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sys_fail(precis_error *err, const char *what, const char *path, int errnum) {
  char buf[128];
  return precis_error_set(err, PRECIS_E_IO, "%s %s: %s", what, path,
                          strerror_r(errnum, buf, sizeof buf));
}

static void release(file_atomic *fa) {
  free(fa->tmp);
  free(fa->path);
  fa->tmp = fa->path = NULL;
  fa->fd = -1;
}

int file_write_all(int fd, const void *buf, size_t n) {
  const char *b = buf;
  while (n) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

int file_fsync_dir(const char *dir, precis_error *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    int rc = sys_fail(err, "cannot sync directory", dir, errno);
    if (fd >= 0) close(fd);
    return rc;
  }
  close(fd);
  return PRECIS_OK;
}

int file_fsync_parent(const char *path, precis_error *err) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir) return precis_error_set(err, PRECIS_E_NO_MEMORY, "sync directory of %s", path);
  int rc = file_fsync_dir(dir, err);
  free(dir);
  return rc;
}

int file_atomic_open(file_atomic *fa, const char *path, precis_error *err) {
  fa->fd = -1;
  fa->path = strdup(path);
  size_t n = strlen(path) + 5;
  fa->tmp = malloc(n);
  if (!fa->path || !fa->tmp) {
    release(fa);
    return precis_error_set(err, PRECIS_E_NO_MEMORY, "write %s", path);
  }
  snprintf(fa->tmp, n, "%s.tmp", path);
  fa->fd = open(fa->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fa->fd < 0) {
    int rc = sys_fail(err, "cannot create", fa->tmp, errno);
    release(fa);
    return rc;
  }
  return PRECIS_OK;
}

void file_atomic_abort(file_atomic *fa) {
  if (fa->fd >= 0) close(fa->fd);
  if (fa->tmp) unlink(fa->tmp);
  release(fa);
}

int file_atomic_commit(file_atomic *fa, precis_error *err) {
  int rc = PRECIS_OK;
  if (fsync(fa->fd) != 0) rc = sys_fail(err, "cannot sync", fa->tmp, errno);
  int closed = close(fa->fd);
  fa->fd = -1;
  if (!rc && closed != 0) rc = sys_fail(err, "cannot close", fa->tmp, errno);
  if (!rc && rename(fa->tmp, fa->path) != 0)
    rc = sys_fail(err, "cannot rename to", fa->path, errno);
  if (rc) {
    file_atomic_abort(fa);
    return rc;
  }
  rc = file_fsync_parent(fa->path, err);
  release(fa);
  return rc;
}

int file_write_atomic(const char *path, const void *buf, size_t n, precis_error *err) {
  file_atomic fa;
  int rc = file_atomic_open(&fa, path, err);
  if (rc) return rc;
  int e = file_write_all(fa.fd, buf, n);
  if (e) {
    rc = sys_fail(err, "cannot write", fa.tmp, e);
    file_atomic_abort(&fa);
    return rc;
  }
  return file_atomic_commit(&fa, err);
}
