/*
 * Matching a request's method and path against the generated route table.
 */
#ifndef BW_GW_ROUTER_H
#define BW_GW_ROUTER_H

#include "arena.h"
#include "route.h"

#define BW_ROUTER_MAX_PARAMS 8
#define BW_ROUTER_MAX_SEGS 16

/* One bound path variable: the field and its percent-decoded value (on the
 * arena given to bw_router_match). */
typedef struct bw_route_param {
    const char *field;
    char *value;
} bw_route_param_t;

typedef struct bw_route_match {
    const bw_route_t *route; /* NULL when nothing matched */
    bw_route_param_t params[BW_ROUTER_MAX_PARAMS];
    size_t n_params;
    unsigned allowed_methods; /* when the path matched other methods only: 1 << BW_HTTP_* */
} bw_route_match_t;

/* Matches path (raw, percent-encoded, without query) for method (BW_HTTP_*)
 * in table, decoding the bound values onto arena (the request's: no malloc
 * and free per request). Returns 0 and fills m; m->route is NULL when no
 * route matched, with allowed_methods set when the path exists for other
 * methods. */
int bw_router_match(const bw_route_t *table, size_t n, int method, const char *path,
                    bw_arena_t *arena, bw_route_match_t *m);
/* "GET, POST" for an allowed_methods mask, into buf. */
void bw_router_allow_header(unsigned allowed, char *buf, size_t len);
/* The BW_HTTP_* for a method name, 0 if unknown. */
int bw_router_method(const char *name);
/* The name of a BW_HTTP_* method, "OTHER" if unknown. */
const char *bw_router_method_name(int method);

#endif
