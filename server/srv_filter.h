/* srv_filter.h: the wire Filter message -> a compiled engine_filter, and the
 * engine's filter report -> the wire FilterReport (dispatch_filter.c). */
#ifndef PRECIS_SERVER_SRV_FILTER_H
#define PRECIS_SERVER_SRV_FILTER_H

#include "engine.h"
#include "precis.pb-c.h"

/* *out = NULL when `pb` is NULL or has no groups (no filter). Counts are
 * checked against precis/limits.h before anything is allocated for them;
 * engine_filter_compile checks the rest. Free with engine_filter_destroy. */
int srv_filter_compile(const Precis__V1__Filter *pb, engine_filter **out, precis_error *err);

/* Fill a wire report (initialised here) from the engine's. */
void srv_filter_report(const engine_filter_report *in, Precis__V1__FilterReport *out);

#endif
