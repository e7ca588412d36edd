/* srv_snapshot.h: the snapshots of precisd (docs/OPERATIONS.md, "Backup and
 * restore"): created, listed and deleted by name in the snapshot directory,
 * --snapshot-dir (another disk, say) or <data-dir>/snapshots by default.
 * Each snapshot is a RocksDB checkpoint with the ANN index files in its ann/
 * (engine_snapshot); restoring one is engine_restore(), run by
 * `precisd --restore-from`.
 *
 * Names are checked with srv_valid_name ([A-Za-z0-9_.-]{1,64}, not . or ..)
 * before any path is built, so no request reaches outside the directory.
 * Errors fill the caller's precis_error; nothing is printed. */
#ifndef PRECIS_SERVER_SRV_SNAPSHOT_H
#define PRECIS_SERVER_SRV_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "precis/limits.h"
#include "srv.h"

typedef struct {
  char name[PRECIS_MAX_NAME_LEN + 1];
  char *path;              /* malloc'd */
  uint64_t bytes;          /* sum of its files' sizes (SST files may be hard
                              links shared with the database) */
  uint64_t created_unix_s; /* modification time of its directory */
} srv_snapshot_info;

/* Write the snapshot `name`; *path_out (malloc'd, caller frees) is where. */
int srv_snapshot_create(srv_server *s, const char *name, char **path_out, precis_error *err);
/* The snapshots, ordered by name, at most SRV_MAX_SNAPSHOTS_LISTED; free
 * with srv_snapshot_list_free(). An absent directory lists nothing. */
int srv_snapshot_list(srv_server *s, srv_snapshot_info **out, size_t *n, precis_error *err);
void srv_snapshot_list_free(srv_snapshot_info *v, size_t n);
/* Remove the snapshot `name` (NOT_FOUND when there is none). */
int srv_snapshot_delete(srv_server *s, const char *name, precis_error *err);

#endif
