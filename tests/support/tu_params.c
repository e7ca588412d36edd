/* tu_params.c: see tu_params.h. */
#include "tu_params.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

void tu_pb_set(ProtobufCMessage *m, const char *field, double v) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(m->descriptor, field);
  assert(f);
  char *at = (char *)m + f->offset;
  switch (f->type) {
    case PROTOBUF_C_TYPE_UINT32:
      *(uint32_t *)at = (uint32_t)v;
      break;
    case PROTOBUF_C_TYPE_UINT64:
      *(uint64_t *)at = (uint64_t)v;
      break;
    case PROTOBUF_C_TYPE_FLOAT:
      *(float *)at = (float)v;
      break;
    case PROTOBUF_C_TYPE_BOOL:
      *(protobuf_c_boolean *)at = v != 0;
      break;
    case PROTOBUF_C_TYPE_ENUM:
      *(int *)at = (int)v;
      break;
    default:
      assert(!"tu_pb_set: not a parameter type");
  }
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    *(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
}

int tu_link(engine *e, const char *coll, uint64_t src, uint64_t dst, const char *kind, float w,
            bool add, precis_error *err) {
  engine_edge l = {.src = src, .dst = dst, .weight = w};
  snprintf(l.kind, sizeof l.kind, "%s", kind);
  size_t changed = 0;
  int rc = engine_links_change(e, coll, &l, 1, add, &changed, err);
  if (!rc && !add && !changed) return precis_error_set(err, PRECIS_E_NOT_FOUND, "no such link");
  return rc;
}
