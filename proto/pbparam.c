/* pbparam.c: parameter fields by number, with presence (see pbparam.h). */
#include "pbparam.h"

#include <assert.h>
#include <string.h>

static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessage *m, unsigned field) {
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(m->descriptor, field);
  assert(f && "parameter field missing from the message");
  return f;
}

int pbparam_present(const ProtobufCMessage *m, unsigned field) {
  const ProtobufCFieldDescriptor *f = field_of(m, field);
  if (!f) return 0;
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t c;
    memcpy(&c, (const char *)m + f->quantifier_offset, sizeof c);
    return c == f->id;
  }
  /* a plain proto3 field: only a value other than 0 is on the wire */
  uint64_t z = 0;
  size_t n = f->type == PROTOBUF_C_TYPE_UINT64 ? 8 : 4;
  return memcmp((const char *)m + f->offset, &z, n) != 0;
}

static void put(ProtobufCMessage *m, unsigned field, const void *v, size_t n) {
  const ProtobufCFieldDescriptor *f = field_of(m, field);
  if (!f) return;
  memcpy((char *)m + f->offset, v, n);
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t c = f->id;
    memcpy((char *)m + f->quantifier_offset, &c, sizeof c);
  }
}

static void take(const ProtobufCMessage *m, unsigned field, void *v, size_t n) {
  const ProtobufCFieldDescriptor *f = field_of(m, field);
  memset(v, 0, n);
  if (f) memcpy(v, (const char *)m + f->offset, n);
}

void pbparam_set_U32(ProtobufCMessage *m, unsigned field, uint32_t v) {
  put(m, field, &v, sizeof v);
}
void pbparam_set_U64(ProtobufCMessage *m, unsigned field, uint64_t v) {
  put(m, field, &v, sizeof v);
}
void pbparam_set_F32(ProtobufCMessage *m, unsigned field, float v) { put(m, field, &v, sizeof v); }
void pbparam_set_BOOL(ProtobufCMessage *m, unsigned field, int v) {
  protobuf_c_boolean b = v != 0;
  put(m, field, &b, sizeof b);
}
void pbparam_set_ENUM(ProtobufCMessage *m, unsigned field, int v) { put(m, field, &v, sizeof v); }

#define GETTER(KIND, T)                                             \
  T pbparam_get_##KIND(const ProtobufCMessage *m, unsigned field) { \
    T v;                                                            \
    take(m, field, &v, sizeof v);                                   \
    return v;                                                       \
  }
GETTER(U32, uint32_t)
GETTER(U64, uint64_t)
GETTER(F32, float)
GETTER(ENUM, int)
int pbparam_get_BOOL(const ProtobufCMessage *m, unsigned field) {
  protobuf_c_boolean v;
  take(m, field, &v, sizeof v);
  return v != 0;
}
