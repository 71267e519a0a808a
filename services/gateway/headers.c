/*
 * The header checks of headers.h: each header has one small reader that
 * either accepts the value or says what is wrong with it, in the words the
 * client sees in the problem's errors[].message.
 */
#include "headers.h"

#include "status.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int refuse(bw_headers_error_t *err, const char *header, const char *message)
{
    err->header = header;
    err->message = message;
    return BW_EINVAL;
}

/* The value of a header that may appear once; *twice when it is repeated. */
static const char *single(const bw_httpparse_field_t *fields, size_t n, const char *name,
                          int *twice)
{
    size_t count = 0;
    const char *v = bw_httpparse_field(fields, n, name, &count);
    *twice = count > 1;
    return v;
}

static int request_id_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > BW_HEADERS_REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && strchr("-_.:", v[i]) == NULL)
            return 0;
    return 1;
}

static const char *idempotency_key_problem(const char *v)
{
    size_t n = strlen(v);
    if (n == 0)
        return "must not be empty";
    if (n > BW_HEADERS_IDEMPOTENCY_KEY_MAX)
        return "must be at most 255 characters";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return "must be printable ASCII characters";
    return NULL;
}

/* etagc of RFC 9110 section 8.8.3 without obs-text. */
static int is_etagc(unsigned char ch)
{
    return ch == 0x21 || (ch >= 0x23 && ch <= 0x7e);
}

/* Reads one entity-tag at s: its opaque part (between the quotes) through
 * *opaque and *len; returns the bytes read, 0 when there is none. */
static size_t read_etag(const char *s, const char **opaque, size_t *len)
{
    size_t i = 0;
    if (s[0] == 'W' && s[1] == '/')
        i = 2;
    if (s[i] != '"')
        return 0;
    size_t start = ++i;
    while (is_etagc((unsigned char)s[i]))
        i++;
    if (s[i] != '"')
        return 0;
    *opaque = s + start;
    *len = i - start;
    return i + 1;
}

/* Calls fn(opaque, len, ctx) for each entity-tag of the list v ("*" is
 * not a list); 1 when v is a well-formed non-empty list, 0 otherwise.
 * fn returning non-zero stops the walk (and the list counts as
 * well-formed). */
static int walk_etags(const char *v, int (*fn)(const char *, size_t, void *), void *ctx)
{
    size_t i = 0, tags = 0;
    for (;;) {
        while (v[i] == ' ' || v[i] == '\t' || v[i] == ',')
            i++;
        if (v[i] == '\0')
            return tags > 0;
        const char *opaque;
        size_t len;
        size_t used = read_etag(v + i, &opaque, &len);
        if (used == 0)
            return 0;
        tags++;
        if (fn != NULL && fn(opaque, len, ctx) != 0)
            return 1;
        i += used;
        while (v[i] == ' ' || v[i] == '\t')
            i++;
        if (v[i] != ',' && v[i] != '\0')
            return 0;
    }
}

int bw_headers_read(const bw_httpparse_field_t *fields, size_t n, bw_headers_t *out,
                    bw_headers_error_t *err)
{
    int twice;
    memset(out, 0, sizeof(*out));
    err->header = NULL;
    err->message = NULL;

    const char *v = single(fields, n, "X-Request-Id", &twice);
    if (v != NULL && !twice && request_id_ok(v))
        out->request_id = v;

    /* Checked where it is used (trace.h); a repeated one is no trace. */
    v = single(fields, n, "traceparent", &twice);
    if (v != NULL && !twice)
        out->traceparent = v;

    v = single(fields, n, "Idempotency-Key", &twice);
    if (twice)
        return refuse(err, "Idempotency-Key", "must be sent once");
    if (v != NULL) {
        const char *why = idempotency_key_problem(v);
        if (why != NULL)
            return refuse(err, "Idempotency-Key", why);
        out->idempotency_key = v;
    }

    v = single(fields, n, "If-Match", &twice);
    if (twice)
        return refuse(err, "If-Match", "must be sent once");
    if (v != NULL) {
        if (strcmp(v, "*") == 0) {
            out->if_match = v;
            out->if_match_len = 1;
        } else {
            size_t used = read_etag(v, &out->if_match, &out->if_match_len);
            if (used == 0)
                return refuse(err, "If-Match", "must be \"*\" or an entity-tag such as \"abc\"");
            if (v[used] != '\0')
                return refuse(err, "If-Match", "must be \"*\" or one entity-tag");
        }
    }

    v = single(fields, n, "If-None-Match", &twice);
    if (twice)
        return refuse(err, "If-None-Match", "must be sent once");
    if (v != NULL) {
        if (strcmp(v, "*") != 0 && !walk_etags(v, NULL, NULL))
            return refuse(err, "If-None-Match",
                          "must be \"*\" or a list of entity-tags such as \"abc\"");
        out->if_none_match = v;
    }

    v = single(fields, n, "Authorization", &twice);
    if (twice)
        return refuse(err, "Authorization", "must be sent once");
    out->authorization = v;
    if (v != NULL && strncasecmp(v, "Bearer ", 7) == 0) {
        const char *t = v + 7;
        while (*t == ' ')
            t++;
        /* token68 of RFC 9110 section 11.2 */
        size_t len = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789-._~+/");
        while (t[len] == '=')
            len++;
        if (len > 0 && t[len] == '\0')
            out->bearer = t;
    }

    v = single(fields, n, "Content-Type", &twice);
    if (twice)
        return refuse(err, "Content-Type", "must be sent once");
    out->content_type = v;

    out->origin = bw_httpparse_field(fields, n, "Origin", NULL);
    return 0;
}

typedef struct match_ctx {
    const char *etag;
    size_t len;
    int found;
} match_ctx_t;

static int match_one(const char *opaque, size_t len, void *arg)
{
    match_ctx_t *m = arg;
    m->found = len == m->len && memcmp(opaque, m->etag, len) == 0;
    return m->found;
}

int bw_headers_none_match(const char *if_none_match, const char *etag)
{
    if (if_none_match == NULL || etag == NULL)
        return 0;
    if (strcmp(if_none_match, "*") == 0)
        return 1;
    match_ctx_t m = {etag, strlen(etag), 0};
    walk_etags(if_none_match, match_one, &m);
    return m.found;
}

/* The length of a Content-Type's media type: up to its parameters, blanks cut. */
static size_t media_type_len(const char *ct)
{
    size_t n = strcspn(ct, ";");
    while (n > 0 && isspace((unsigned char)ct[n - 1]))
        n--;
    return n;
}

int bw_headers_is_json(const char *ct)
{
    if (ct == NULL)
        return 0;
    size_t n = media_type_len(ct);
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* A qvalue of RFC 9110 section 12.4.2 that is zero: "0" with up to three
 * zeros after a point. */
static int zero_weight(const char *v, size_t len)
{
    if (len == 0 || v[0] != '0')
        return 0;
    if (len == 1)
        return 1;
    if (v[1] != '.' || len > 5)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (v[i] != '0')
            return 0;
    return 1;
}

/* One element of a comma-separated list of Accept or Accept-Encoding: its
 * name (a media range or a coding) and its q parameter's value, trailing
 * blanks cut (q NULL when it has none; the last one counts). */
typedef struct list_element {
    const char *name;
    size_t name_len;
    const char *q;
    size_t q_len;
} list_element_t;

/* Reads the element at *p into e and moves *p past it; 0 at the end. */
static int next_element(const char **p, list_element_t *e)
{
    const char *s = *p + strspn(*p, " \t,");
    if (*s == '\0')
        return 0;
    const char *end = s + strcspn(s, ",");
    *e = (list_element_t){s, strcspn(s, ";, \t"), NULL, 0};
    for (const char *v = s + e->name_len; v < end;) {
        v += strspn(v, " \t;");
        size_t plen = strcspn(v, ";,");
        if (v + plen > end)
            plen = (size_t)(end - v);
        if (plen >= 2 && (v[0] == 'q' || v[0] == 'Q') && v[1] == '=') {
            e->q = v + 2;
            e->q_len = plen - 2;
            while (e->q_len > 0 && (e->q[e->q_len - 1] == ' ' || e->q[e->q_len - 1] == '\t'))
                e->q_len--;
        }
        v += plen;
    }
    *p = end;
    return 1;
}

int bw_headers_accepts_gzip(const char *ae)
{
    if (ae == NULL)
        return 0;
    int gzip = -1, any = -1; /* -1 not listed, else whether its weight is above 0 */
    list_element_t e;
    for (const char *p = ae; next_element(&p, &e);) {
        int allowed = e.q == NULL || !zero_weight(e.q, e.q_len);
        if ((e.name_len == 4 && strncasecmp(e.name, "gzip", 4) == 0) ||
            (e.name_len == 6 && strncasecmp(e.name, "x-gzip", 6) == 0))
            gzip = allowed;
        else if (e.name_len == 1 && e.name[0] == '*')
            any = allowed;
    }
    return gzip >= 0 ? gzip : any > 0;
}

int bw_headers_is_type(const char *ct, const char *type)
{
    if (ct == NULL)
        return 0;
    size_t n = media_type_len(ct);
    return n == strlen(type) && strncasecmp(ct, type, n) == 0;
}

/* A qvalue in thousandths (RFC 9110 section 12.4.2); 1000 when malformed,
 * as a weight that cannot be read does not exclude. */
static int weight(const char *v, size_t len)
{
    if (len == 0 || (v[0] != '0' && v[0] != '1'))
        return 1000;
    int q = (v[0] - '0') * 1000;
    if (len > 1 && v[1] != '.')
        return 1000;
    int scale = 100;
    for (size_t i = 2; i < len && i < 5; i++, scale /= 10) {
        if (v[i] < '0' || v[i] > '9')
            return 1000;
        q += (v[i] - '0') * scale;
    }
    return q > 1000 ? 1000 : q;
}

/* How specifically the range of len bytes at p matches type: 3 exact, 2
 * type/star, 1 star/star, 0 not at all. */
static int range_match(const char *p, size_t len, const char *type)
{
    size_t tlen = strlen(type);
    const char *slash = strchr(type, '/');
    if (len == 3 && strncmp(p, "*/*", 3) == 0)
        return 1;
    size_t major = (size_t)(slash - type) + 1;
    if (len == major + 1 && p[len - 1] == '*' && strncasecmp(p, type, major) == 0)
        return 2;
    return len == tlen && strncasecmp(p, type, tlen) == 0 ? 3 : 0;
}

int bw_headers_negotiate(const char *accept, const char *const *types, size_t n)
{
    if (accept == NULL || accept[strspn(accept, " \t,")] == '\0')
        return n > 0 ? 0 : -1;
    int best = -1, best_q = 0;
    for (size_t t = 0; t < n; t++) {
        int specific = 0, q = 0;
        list_element_t e;
        for (const char *p = accept; next_element(&p, &e);) {
            int level = range_match(e.name, e.name_len, types[t]);
            if (level > specific) {
                specific = level;
                q = e.q != NULL ? weight(e.q, e.q_len) : 1000;
            }
        }
        if (q > best_q) {
            best_q = q;
            best = (int)t;
        }
    }
    return best;
}
