/*
 * pbparam.h: the wire side of the parameter tables (precis/params.h):
 * reading and writing a RetrieveRequest / SearchRequest parameter by its
 * field number, with presence. Every parameter field is a one-field oneof,
 * so "sent" is "its oneof case names it".
 *
 * Conventions: `m` is a protobuf-c message whose descriptor has a field
 * `field` of the row's type (tests/unit/test_params.c checks every row);
 * a field the descriptor lacks is a programming error (assert) and reads
 * as absent. Nothing is allocated. The KIND suffixes are the table's, so
 * the X-macros can paste them: pbparam_set_##KIND, pbparam_get_##KIND.
 */
#ifndef PRECIS_PROTO_PBPARAM_H
#define PRECIS_PROTO_PBPARAM_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

/* 1 when the field was sent (its oneof case is set; a plain field: != 0). */
int pbparam_present(const ProtobufCMessage *m, unsigned field);

/* Store v and mark the field sent. */
void pbparam_set_U32(ProtobufCMessage *m, unsigned field, uint32_t v);
void pbparam_set_U64(ProtobufCMessage *m, unsigned field, uint64_t v);
void pbparam_set_F32(ProtobufCMessage *m, unsigned field, float v);
void pbparam_set_BOOL(ProtobufCMessage *m, unsigned field, int v);
void pbparam_set_ENUM(ProtobufCMessage *m, unsigned field, int v);
#define pbparam_set_F32P pbparam_set_F32
#define pbparam_set_F32A pbparam_set_F32

/* The stored value (0 when absent). */
uint32_t pbparam_get_U32(const ProtobufCMessage *m, unsigned field);
uint64_t pbparam_get_U64(const ProtobufCMessage *m, unsigned field);
float pbparam_get_F32(const ProtobufCMessage *m, unsigned field);
int pbparam_get_BOOL(const ProtobufCMessage *m, unsigned field);
int pbparam_get_ENUM(const ProtobufCMessage *m, unsigned field);
#define pbparam_get_F32P pbparam_get_F32
#define pbparam_get_F32A pbparam_get_F32

/* Tables -> messages: for X-macro rows over a params struct `p` and a
 * message pointer `msg` in scope.
 *   PBPARAM_TO_WIRE: set every row's field from p->name (sent, always);
 *   PBPARAM_FROM_WIRE: p->name = the field's value where it was sent, so
 *   that what was not sent keeps the default already in p. */
#define PBPARAM_TO_WIRE(name, KIND, d, lo, hi, field, flag, doc) \
  pbparam_set_##KIND(&(msg)->base, field, p->name);
#define PBPARAM_FROM_WIRE(name, KIND, d, lo, hi, field, flag, doc) \
  if (pbparam_present(&(msg)->base, field)) p->name = pbparam_get_##KIND(&(msg)->base, field);

#endif /* PRECIS_PROTO_PBPARAM_H */
