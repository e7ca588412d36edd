/* srv_dispatch_internal.h: what the dispatch files share (dispatch.c:
 * admin, collections, points, graph edits, payload indexes, the entry
 * points; dispatch_retrieve.c: search, retrieve and graph rebuild, mapped
 * through the parameter tables of precis/params.h).
 *
 * A dctx lives for one request: an arena for the protobuf-c structs of the
 * response (freed in one go by dispatch.c's cleanup()), the error, and
 * engine results the response borrows until it is encoded. The helpers are
 * static inline so that each file keeps its short names. */
#ifndef PRECIS_SERVER_SRV_DISPATCH_INTERNAL_H
#define PRECIS_SERVER_SRV_DISPATCH_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "precis.pb-c.h"
#include "srv.h"

typedef struct arena_blk {
  struct arena_blk *next;
  max_align_t data[];
} arena_blk;

typedef struct dctx {
  srv_server *s;
  arena_blk *arena;
  precis_error err;
  Precis__V1__Response *resp;
  char *ok_msg; /* optional message on success */
  /* engine results borrowed by the response */
  engine_point *pts;
  size_t npts;
  engine_collection_info *infos;
  engine_edge *edges;
  engine_retrieve_result *rr;
} dctx;

static inline void *aalloc(dctx *x, size_t n) {
  arena_blk *b = calloc(1, sizeof *b + (n ? n : 1));
  if (!b) return NULL;
  b->next = x->arena;
  x->arena = b;
  return b->data;
}

#define ANEW(x, T, n) ((T *)aalloc((x), sizeof(T) * (size_t)(n)))

static inline int fail(dctx *x, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline int fail(dctx *x, int code, const char *fmt, ...) {
  x->err.code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->err.msg, sizeof x->err.msg, fmt, ap);
  va_end(ap);
  return code;
}

static inline int nomem(dctx *x) { return fail(x, PRECIS_E_NO_MEMORY, "out of memory"); }

static inline int set_empty(dctx *x) {
  Precis__V1__Empty *e = ANEW(x, Precis__V1__Empty, 1);
  if (!e) return nomem(x);
  precis__v1__empty__init(e);
  x->resp->result_case = PRECIS__V1__RESPONSE__RESULT_EMPTY;
  x->resp->empty = e;
  return PRECIS_OK;
}

/* The collection's info (for its dimension); the engine reports NOT_FOUND. */
static inline int describe(dctx *x, const char *coll, engine_collection_info **out) {
  *out = NULL;
  engine_collection_info *info = ANEW(x, engine_collection_info, 1);
  if (!info) return nomem(x);
  int rc = engine_collection_describe(x->s->eng, coll, info, &x->err);
  if (rc) return rc;
  *out = info;
  return PRECIS_OK;
}

/* ---- dispatch_retrieve.c ---- */
int dsp__search(dctx *x, const Precis__V1__SearchRequest *r);
int dsp__retrieve(dctx *x, const Precis__V1__RetrieveRequest *r);
int dsp__graph_rebuild(dctx *x, const Precis__V1__GraphRebuildRequest *r);

#endif
