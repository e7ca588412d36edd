/* tu_params.h: test helpers around the parameter tables and the graph:
 * set a request parameter by name with presence (as a client does), and
 * add or remove one knowledge link through engine_links_change (the one
 * link-editing path of the engine). */
#ifndef PRECIS_TESTS_TU_PARAMS_H
#define PRECIS_TESTS_TU_PARAMS_H

#include <protobuf-c/protobuf-c.h>

#include "engine.h"

/* msg.field = v, marked as sent (its one-field oneof case set). */
void tu_pb_set(ProtobufCMessage *m, const char *field, double v);
#define TU_PB_SET(msg, field, v) tu_pb_set(&(msg).base, #field, (double)(v))

/* One link, added (weight w) or removed: engine_links_change's status;
 * removing an absent link is NOT_FOUND here (the batch call counts it
 * as 0 changed). */
int tu_link(engine *e, const char *coll, uint64_t src, uint64_t dst, const char *kind, float w,
            bool add, precis_error *err);

#endif
