/* snapshot.c: snapshots by name in the snapshot directory (srv_snapshot.h). */
#include "srv_snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "srv_dispatch.h"
#include "srv_limits.h"
#include "srv_log.h"

/* The snapshot directory (malloc'd; NULL when out of memory). */
static char *snap_dir(const srv_server *s) {
  if (s->cfg.snapshot_dir) return strdup(s->cfg.snapshot_dir);
  size_t n = strlen(s->cfg.data_dir) + sizeof "/snapshots";
  char *d = malloc(n);
  if (d) snprintf(d, n, "%s/snapshots", s->cfg.data_dir);
  return d;
}

/* dir/name, malloc'd. */
static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static int check_name(const char *name, precis_error *err) {
  if (!name || !srv_valid_name(name))
    return precis_error_set(err, PRECIS_E_INVALID_ARGUMENT,
                            "snapshot name must match [A-Za-z0-9_.-]{1,64}");
  return PRECIS_OK;
}

/* ---- the snapshot count limit (--max-snapshots, docs/SECURITY.md) ---- */

/* Snapshots in dir: entries with a snapshot name (what list shows). */
static size_t count_snapshots(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (srv_valid_name(de->d_name)) n++;
  closedir(d);
  return n;
}

/* Serialises count-then-create, so concurrent snapshots cannot pass the
 * limit together. */
static pthread_mutex_t snap_mu = PTHREAD_MUTEX_INITIALIZER;

static int snapshot_create_locked(srv_server *s, const char *name, char **path_out,
                                  precis_error *err);

int srv_snapshot_create(srv_server *s, const char *name, char **path_out, precis_error *err) {
  int rc = check_name(name, err);
  if (rc) return rc;
  pthread_mutex_lock(&snap_mu);
  int max = s->cfg.max_snapshots;
  char *dir = max > 0 ? snap_dir(s) : NULL;
  size_t have = dir ? count_snapshots(dir) : 0;
  free(dir);
  if (max > 0 && have >= (size_t)max)
    rc = precis_error_set(err, PRECIS_E_OUT_OF_RANGE,
                          "%zu snapshots exist (limit %d, --max-snapshots); "
                          "delete one first",
                          have, max);
  else
    rc = snapshot_create_locked(s, name, path_out, err);
  pthread_mutex_unlock(&snap_mu);
  return rc;
}

static int snapshot_create_locked(srv_server *s, const char *name, char **path_out,
                                  precis_error *err) {
  int rc = PRECIS_OK;
  char *dir = snap_dir(s), *path = dir ? join(dir, name) : NULL;
  if (!path) {
    rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "snapshot");
  } else if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    rc = precis_error_set(err, PRECIS_E_IO, "cannot create %s: %s", dir, strerror(errno));
  } else {
    struct stat sb;
    if (lstat(path, &sb) == 0)
      rc = precis_error_set(err, PRECIS_E_ALREADY_EXISTS, "snapshot '%s' already exists", name);
    else
      rc = engine_snapshot(s->eng, path, err);
  }
  free(dir);
  if (rc) {
    free(path);
    return rc;
  }
  srv_info("snapshot written to %s", path);
  *path_out = path;
  return PRECIS_OK;
}

/* Sum of the sizes of the regular files in `dir` and, one level down, in
 * its ann/ (a snapshot's layout, engine_snapshot). */
static uint64_t dir_bytes(const char *dir, int depth) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  uint64_t total = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    struct stat sb;
    if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISREG(sb.st_mode)) {
      total += (uint64_t)sb.st_size;
    } else if (S_ISDIR(sb.st_mode) && depth == 0 && !strcmp(de->d_name, "ann")) {
      char *sub = join(dir, de->d_name);
      if (sub) total += dir_bytes(sub, 1);
      free(sub);
    }
  }
  closedir(d);
  return total;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const srv_snapshot_info *)a)->name, ((const srv_snapshot_info *)b)->name);
}

void srv_snapshot_list_free(srv_snapshot_info *v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) free(v[i].path);
  free(v);
}

int srv_snapshot_list(srv_server *s, srv_snapshot_info **out, size_t *n, precis_error *err) {
  *out = NULL;
  *n = 0;
  char *dir = snap_dir(s);
  if (!dir) return precis_error_set(err, PRECIS_E_NO_MEMORY, "snapshots");
  DIR *d = opendir(dir);
  if (!d) {
    int e = errno;
    int rc =
        e == ENOENT ? PRECIS_OK : precis_error_set(err, PRECIS_E_IO, "%s: %s", dir, strerror(e));
    free(dir);
    return rc;
  }
  srv_snapshot_info *v = NULL;
  size_t cnt = 0, cap = 0;
  int rc = PRECIS_OK;
  struct dirent *de;
  while ((de = readdir(d)) && cnt < SRV_MAX_SNAPSHOTS_LISTED) {
    size_t nl = strlen(de->d_name);
    /* snapshots only: valid names, a RocksDB CURRENT file, not the
     * ".tmp" directory of a checkpoint being written */
    if (!srv_valid_name(de->d_name) || (nl > 4 && !strcmp(de->d_name + nl - 4, ".tmp"))) continue;
    char *path = join(dir, de->d_name), *cur = path ? join(path, "CURRENT") : NULL;
    struct stat sb, cb;
    if (!cur) {
      free(path);
      rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "snapshots");
      break;
    }
    int ok = lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && stat(cur, &cb) == 0;
    free(cur);
    if (!ok) {
      free(path);
      continue;
    }
    if (cnt == cap) {
      size_t nc = cap ? cap * 2 : 16;
      srv_snapshot_info *nv = realloc(v, nc * sizeof *nv);
      if (!nv) {
        free(path);
        rc = precis_error_set(err, PRECIS_E_NO_MEMORY, "snapshots");
        break;
      }
      v = nv;
      cap = nc;
    }
    srv_snapshot_info *si = &v[cnt++];
    snprintf(si->name, sizeof si->name, "%s", de->d_name);
    si->path = path;
    si->bytes = dir_bytes(path, 0);
    si->created_unix_s = (uint64_t)sb.st_mtime;
  }
  closedir(d);
  free(dir);
  if (rc) {
    srv_snapshot_list_free(v, cnt);
    return rc;
  }
  if (cnt) qsort(v, cnt, sizeof *v, by_name);
  *out = v;
  *n = cnt;
  return PRECIS_OK;
}

int srv_snapshot_delete(srv_server *s, const char *name, precis_error *err) {
  int rc = check_name(name, err);
  if (rc) return rc;
  char *dir = snap_dir(s), *path = dir ? join(dir, name) : NULL;
  free(dir);
  if (!path) return precis_error_set(err, PRECIS_E_NO_MEMORY, "snapshot");
  struct stat sb;
  if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    rc = precis_error_set(err, PRECIS_E_NOT_FOUND, "no snapshot '%s'", name);
  } else if (engine_remove_tree(path) != 0) {
    rc = precis_error_set(err, PRECIS_E_IO, "cannot remove %s: %s", path, strerror(errno));
  } else {
    srv_info("snapshot %s deleted", path);
  }
  free(path);
  return rc;
}
