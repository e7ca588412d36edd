/* test_params.c: the parameter tables (include/precis/params.h) against
 * everything generated from them or written beside them: the proto
 * messages (every row a one-field oneof of the same name, number and type;
 * every parameter field of the messages a row), the defaults of both
 * sides, the wire mapping in both directions (an explicit 0 survives), and
 * docs/PROTOCOL.md's tables (scripts/params_doc.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "engine.h"
#include "pbparam.h"
#include "precis.pb-c.h"
#include "precis/precis.h"

#define PARAMS_DOC_NO_MAIN
#include "../../scripts/params_doc.c"

static ProtobufCType pb_type(const char *kind) {
  if (!strcmp(kind, "U32")) return PROTOBUF_C_TYPE_UINT32;
  if (!strcmp(kind, "U64")) return PROTOBUF_C_TYPE_UINT64;
  if (!strcmp(kind, "BOOL")) return PROTOBUF_C_TYPE_BOOL;
  if (!strcmp(kind, "ENUM")) return PROTOBUF_C_TYPE_ENUM;
  return PROTOBUF_C_TYPE_FLOAT;
}

static void check_row(const ProtobufCMessageDescriptor *d, const char *name, const char *kind,
                      unsigned field) {
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, field);
  cr_assert(f, "%s: no field %u for row %s", d->name, field, name);
  cr_assert_str_eq(f->name, name, "%s field %u", d->name, field);
  cr_assert_eq(f->type, pb_type(kind), "%s.%s: type", d->name, name);
  cr_assert(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF, "%s.%s is not a one-field oneof (no presence)",
            d->name, name);
  cr_assert_eq(f->label, PROTOBUF_C_LABEL_NONE, "%s.%s", d->name, name);
}

/* Every field of d is a row or named in `other`. */
static void check_covered(const ProtobufCMessageDescriptor *d, const char *rows,
                          const char *other) {
  for (unsigned i = 0; i < d->n_fields; i++) {
    char key[80];
    snprintf(key, sizeof key, " %s ", d->fields[i].name);
    cr_assert(strstr(rows, key) || strstr(other, key),
              "%s.%s is neither a table row nor a known non-parameter", d->name, d->fields[i].name);
  }
}

#define ROW_CHECK_R(name, KIND, dflt, lo, hi, field, flag, doc)                \
  check_row(&precis__v1__retrieve_request__descriptor, #name, #KIND, field);   \
  cr_assert(precis_param_ok_##KIND((PRECIS_PARAM_CTYPE_##KIND)(dflt), lo, hi), \
            "default of %s outside its range", #name);
#define ROW_CHECK_S(name, KIND, dflt, lo, hi, field, flag, doc)                \
  check_row(&precis__v1__search_request__descriptor, #name, #KIND, field);     \
  cr_assert(precis_param_ok_##KIND((PRECIS_PARAM_CTYPE_##KIND)(dflt), lo, hi), \
            "default of %s outside its range", #name);
#define ROW_NAME(name, KIND, dflt, lo, hi, field, flag, doc) " " #name " "

Test(params, tables_match_the_proto_messages) {
  PRECIS_RETRIEVE_PARAM_MAP(ROW_CHECK_R)
  PRECIS_SEARCH_PARAM_MAP(ROW_CHECK_S)
  check_covered(&precis__v1__retrieve_request__descriptor, PRECIS_RETRIEVE_PARAM_MAP(ROW_NAME),
                " collection  vector  query_point  use_query_point  link_kinds  filter  group_by ");
  check_covered(&precis__v1__search_request__descriptor, PRECIS_SEARCH_PARAM_MAP(ROW_NAME),
                " collection  vector  filter ");
  /* the retired fields stay retired */
  cr_assert_null(
      protobuf_c_message_descriptor_get_field(&precis__v1__retrieve_request__descriptor, 26));
  cr_assert_null(
      protobuf_c_message_descriptor_get_field(&precis__v1__graph_rebuild_request__descriptor, 2));
}

#define SAME_DEFAULT(name, KIND, dflt, lo, hi, field, flag, doc)                              \
  cr_assert(c.name == e.name && e.name == (PRECIS_PARAM_CTYPE_##KIND)(dflt), "default of %s", \
            #name);

Test(params, client_and_engine_defaults_are_the_table) {
  precis_retrieve_params c;
  engine_retrieve_params e;
  precis_retrieve_params_init(&c);
  engine_retrieve_params_default(&e);
  PRECIS_RETRIEVE_PARAM_MAP(SAME_DEFAULT)
  cr_assert_eq(e.coverage, ENGINE_COVERAGE_AUTO);
  cr_assert_eq(e.mode, ENGINE_MODE_COMPRESS);
  cr_assert_eq(c.coverage, PRECIS_COVERAGE_AUTO);
  cr_assert_eq(c.mode, PRECIS_MODE_COMPRESS);
  cr_assert_eq(engine_retrieve_params_check(&e, NULL), PRECIS_OK);
}

#define SET_LO(name, KIND, dflt, lo, hi, field, flag, doc) \
  p->name = (PRECIS_PARAM_CTYPE_##KIND)(lo);
#define SAME_AS_SENT(name, KIND, dflt, lo, hi, field, flag, doc) \
  cr_assert(e.name == (PRECIS_PARAM_CTYPE_##KIND)(lo), "%s did not survive the wire", #name);
#define IS_DEFAULT(name, KIND, dflt, lo, hi, field, flag, doc) \
  cr_assert(e.name == (PRECIS_PARAM_CTYPE_##KIND)(dflt), "%s: not sent, not the default", #name);

/* libprecis's mapping -> encoded bytes -> the server's mapping: every row
 * set to its minimum (mostly 0) arrives as sent; nothing sent = defaults. */
Test(params, wire_mapping_keeps_explicit_zeros) {
  precis_retrieve_params c, *p = &c;
  precis_retrieve_params_init(p);
  PRECIS_RETRIEVE_PARAM_MAP(SET_LO)
  Precis__V1__RetrieveRequest rr = PRECIS__V1__RETRIEVE_REQUEST__INIT, *msg = &rr;
  PRECIS_RETRIEVE_PARAM_MAP(PBPARAM_TO_WIRE)
  uint8_t buf[1024];
  size_t n = protobuf_c_message_pack(&rr.base, buf);
  Precis__V1__RetrieveRequest *back = precis__v1__retrieve_request__unpack(NULL, n, buf);
  cr_assert(back);
  engine_retrieve_params e;
  {
    engine_retrieve_params *p = &e;
    const Precis__V1__RetrieveRequest *msg = back;
    engine_retrieve_params_default(p);
    PRECIS_RETRIEVE_PARAM_MAP(PBPARAM_FROM_WIRE)
  }
  PRECIS_RETRIEVE_PARAM_MAP(SAME_AS_SENT)
  precis__v1__retrieve_request__free_unpacked(back, NULL);

  /* nothing sent */
  Precis__V1__RetrieveRequest empty = PRECIS__V1__RETRIEVE_REQUEST__INIT;
  n = protobuf_c_message_pack(&empty.base, buf);
  back = precis__v1__retrieve_request__unpack(NULL, n, buf);
  cr_assert(back);
  {
    engine_retrieve_params *p = &e;
    const Precis__V1__RetrieveRequest *msg = back;
    engine_retrieve_params_default(p);
    PRECIS_RETRIEVE_PARAM_MAP(PBPARAM_FROM_WIRE)
  }
  PRECIS_RETRIEVE_PARAM_MAP(IS_DEFAULT)
  precis__v1__retrieve_request__free_unpacked(back, NULL);
}

Test(params, engine_checks_every_range) {
  engine_retrieve_params e;
  precis_error err;
  engine_retrieve_params_default(&e);
  e.decay = 0; /* F32P: the minimum is excluded */
  cr_assert_eq(engine_retrieve_params_check(&e, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert(strstr(err.msg, "decay"), "%s", err.msg);
  engine_retrieve_params_default(&e);
  e.theta = -1; /* F32A: automatic */
  cr_assert_eq(engine_retrieve_params_check(&e, &err), PRECIS_OK);
  e.theta = -2;
  cr_assert_eq(engine_retrieve_params_check(&e, &err), PRECIS_E_OUT_OF_RANGE);
  engine_retrieve_params_default(&e);
  e.a = NAN;
  cr_assert_eq(engine_retrieve_params_check(&e, &err), PRECIS_E_OUT_OF_RANGE);
  engine_retrieve_params_default(&e);
  e.nprobe = PRECIS_MAX_NPROBE + 1;
  cr_assert_eq(engine_retrieve_params_check(&e, &err), PRECIS_E_OUT_OF_RANGE);
  engine_retrieve_params_default(&e);
  e.mode = 3;
  cr_assert_eq(engine_retrieve_params_check(&e, &err), PRECIS_E_INVALID_ARGUMENT);
  engine_search_params sp = {.ef_search = PRECIS_MAX_EF_SEARCH + 1};
  cr_assert_eq(engine_search_params_check(10, &sp, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert(strstr(err.msg, "ef_search"), "%s", err.msg);
  cr_assert_eq(engine_search_params_check(0, NULL, &err), PRECIS_E_OUT_OF_RANGE);
  cr_assert_eq(engine_search_params_check(10, NULL, &err), PRECIS_OK);
}

Test(params, protocol_md_tables_are_generated_from_the_table) {
  int rc = params_doc_sync("docs/PROTOCOL.md", 0);
  cr_assert_eq(rc, 0, "docs/PROTOCOL.md: %s",
               rc == 1 ? "stale tables: run `make params-doc`" : "unreadable or markers missing");
}
