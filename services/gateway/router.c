/*
 * Route matching. The table is small (one entry per RPC), so a linear scan
 * comparing segments costs well under a microsecond and needs no index.
 * A variable matches exactly one non-empty segment (with a custom method,
 * the non-empty part before ":verb"); its value is percent-decoded and must
 * not contain '/' after decoding.
 */
#include "router.h"

#include "hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[] = {
    [BW_HTTP_GET] = "GET",     [BW_HTTP_POST] = "POST",     [BW_HTTP_PUT] = "PUT",
    [BW_HTTP_PATCH] = "PATCH", [BW_HTTP_DELETE] = "DELETE",
};

int bw_router_method(const char *name)
{
    for (int i = BW_HTTP_GET; i <= BW_HTTP_DELETE; i++)
        if (strcmp(name, method_names[i]) == 0)
            return i;
    return 0;
}

const char *bw_router_method_name(int method)
{
    return method >= BW_HTTP_GET && method <= BW_HTTP_DELETE ? method_names[method] : "OTHER";
}

void bw_router_allow_header(unsigned allowed, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = BW_HTTP_GET; i <= BW_HTTP_DELETE; i++)
        if (allowed & (1u << i)) {
            int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", method_names[i]);
            if (n < 0 || (size_t)n >= len - o)
                break;
            o += (size_t)n;
        }
}

/* Percent-decodes [s, s+n) into a new string on arena; NULL when malformed
 * or when it decodes to a NUL or a '/'. */
static char *decode_segment(bw_arena_t *arena, const char *s, size_t n)
{
    char *out = bw_arena_alloc(arena, n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n || bw_hex_digit(s[i + 1]) < 0 || bw_hex_digit(s[i + 2]) < 0)
                return NULL;
            c = (char)(bw_hex_digit(s[i + 1]) * 16 + bw_hex_digit(s[i + 2]));
            i += 2;
            if (c == '\0' || c == '/')
                return NULL;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

/* Splits path into segments (pointers into path with lengths). */
static int split(const char *path, const char **seg, size_t *len, size_t max)
{
    if (path[0] != '/')
        return -1;
    size_t n = 0;
    const char *p = path + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (n == max)
            return -1;
        seg[n] = p;
        len[n] = l;
        n++;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return (int)n;
}

/* The length of the variable's value in a segment of len bytes: all of it,
 * or what precedes ":verb"; 0 when the segment does not fit. */
static size_t value_len(const bw_route_seg_t *s, const char *seg, size_t len)
{
    if (s->verb == NULL)
        return len;
    size_t v = strlen(s->verb);
    if (len < v + 2 || seg[len - v - 1] != ':' || memcmp(seg + len - v, s->verb, v) != 0)
        return 0;
    return len - v - 1;
}

static int segs_match(const bw_route_t *r, const char *const *seg, const size_t *len, int n)
{
    if ((size_t)n != r->n_segs)
        return 0;
    for (int i = 0; i < n; i++) {
        const bw_route_seg_t *s = &r->segs[i];
        if (s->literal != NULL) {
            if (strlen(s->literal) != len[i] || memcmp(s->literal, seg[i], len[i]) != 0)
                return 0;
        } else if (value_len(s, seg[i], len[i]) == 0) {
            return 0;
        }
    }
    return 1;
}

int bw_router_match(const bw_route_t *table, size_t n, int method, const char *path,
                    bw_arena_t *arena, bw_route_match_t *m)
{
    const char *seg[BW_ROUTER_MAX_SEGS];
    size_t len[BW_ROUTER_MAX_SEGS];
    memset(m, 0, sizeof(*m));
    int n_segs = split(path, seg, len, BW_ROUTER_MAX_SEGS);
    if (n_segs < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const bw_route_t *r = &table[i];
        if (!segs_match(r, seg, len, n_segs))
            continue;
        if (r->method != method) {
            m->allowed_methods |= 1u << r->method;
            continue;
        }
        for (int s = 0; s < n_segs; s++) {
            if (r->segs[s].literal != NULL)
                continue;
            char *value = decode_segment(arena, seg[s], value_len(&r->segs[s], seg[s], len[s]));
            if (value == NULL || m->n_params == BW_ROUTER_MAX_PARAMS) {
                m->n_params = 0;
                return 0;
            }
            m->params[m->n_params].field = r->segs[s].field;
            m->params[m->n_params].value = value;
            m->n_params++;
        }
        m->route = r;
        m->allowed_methods = 0;
        return 0;
    }
    return 0;
}
