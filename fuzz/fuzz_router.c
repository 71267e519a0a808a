/*
 * Fuzzes the router over the generated route table: the first input byte
 * is the method (including values no request has), the rest the raw path.
 * A match must be a route of that method whose bound values are decoded
 * segments (non-empty, no '/'); a miss may only list other methods.
 */
#include "route.h"
#include "router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
    fprintf(stderr, "fuzz_router: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[1024];
    if (size == 0)
        return 0;
    int method = data[0] % 7;
    size_t n = size - 1 < sizeof(path) - 1 ? size - 1 : sizeof(path) - 1;
    memcpy(path, data + 1, n);
    path[n] = '\0';

    bw_arena_t *arena = bw_arena_create(256);
    if (arena == NULL)
        die("no arena");
    bw_route_match_t m;
    if (bw_router_match(bw_routes, bw_n_routes, method, path, arena, &m) != 0)
        die("bw_router_match failed");
    if (m.route != NULL) {
        if (m.route->method != method || m.allowed_methods != 0 ||
            m.n_params > BW_ROUTER_MAX_PARAMS)
            die("a match of another method");
        for (size_t i = 0; i < m.n_params; i++)
            if (m.params[i].field == NULL || m.params[i].value == NULL ||
                m.params[i].value[0] == '\0' || strchr(m.params[i].value, '/') != NULL)
                die("a bound value that is not one decoded segment");
    } else {
        if (m.n_params != 0 || (m.allowed_methods & (1u << method)) != 0)
            die("a miss that allows its own method");
        char allow[64];
        bw_router_allow_header(m.allowed_methods, allow, sizeof(allow));
    }
    bw_arena_destroy(arena);
    (void)bw_router_method(path);
    return 0;
}
