/*
 * The request parser of httpparse.h. Finding the end of a head is one
 * memchr per line, resumable; parsing the head walks it once, checking every
 * byte against the RFC 9112/9110 grammar and NUL-terminating the strings it
 * hands out. The chunked decoder is a byte-wise state machine over the
 * framing that returns chunk data in whole spans.
 */
#include "httpparse.h"

#include "hex.h"
#include "status.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

/* Empty lines tolerated before a request line (RFC 9112 section 2.2). */
#define MAX_LEADING_EMPTY_LINES 4
/* A request line is the method, the target, the version and two spaces. */
#define REQUEST_LINE_EXTRA (BW_HTTPPARSE_MAX_METHOD + sizeof(" HTTP/1.1"))

static int fail(bw_httpparse_error_t *err, int status, const char *reason, const char *detail)
{
    err->status = status;
    err->reason = reason;
    err->detail = detail;
    return BW_EINVAL;
}

static int malformed(bw_httpparse_error_t *err, const char *detail)
{
    return fail(err, 400, "MALFORMED_REQUEST", detail);
}

/* tchar of RFC 9110 section 5.6.2. */
static int is_tchar(unsigned char ch)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != '\0' && memchr(extra, ch, sizeof(extra) - 1) != NULL;
}

static int is_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A field value byte: VCHAR, SP, HTAB or obs-text; no other control. */
static int is_value_char(unsigned char ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* unreserved / sub-delims / ":" / "@" of RFC 3986 (pchar without
 * pct-encoded, which is checked apart). */
static int is_pchar(unsigned char ch)
{
    static const char extra[] = "-._~!$&'()*+,;=:@";
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != '\0' && memchr(extra, ch, sizeof(extra) - 1) != NULL;
}

/* Whether s[0..n) is made of pchar, pct-encoded and the characters of
 * also (a string, may be empty). */
static int uri_chars_ok(const char *s, size_t n, const char *also)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '%') {
            if (i + 2 >= n || bw_hex_digit((unsigned char)s[i + 1]) < 0 ||
                bw_hex_digit((unsigned char)s[i + 2]) < 0)
                return 0;
            i += 2;
        } else if (!is_pchar(ch) && (ch == '\0' || strchr(also, ch) == NULL)) {
            return 0;
        }
    }
    return 1;
}

int bw_httpparse_find_head(const char *buf, size_t len, const bw_httpparse_limits_t *limits,
                           bw_httpparse_scan_t *scan, bw_httpparse_error_t *err)
{
    /* A request line may hold max_line bytes, and its CR. The limits are
     * checked on the bytes before each LF first, exactly as a call that
     * saw them without the LF would have, so that the answer never depends
     * on how the bytes arrived. */
    size_t max_line = limits->max_target + REQUEST_LINE_EXTRA + 1;
    while (scan->scanned < len) {
        const char *nl = memchr(buf + scan->scanned, '\n', len - scan->scanned);
        if (nl == NULL) {
            scan->scanned = len;
            break;
        }
        size_t i = (size_t)(nl - buf);
        scan->scanned = i + 1;
        if (scan->lines == 0 && i - scan->line_start > max_line)
            return fail(err, 414, "URI_TOO_LONG", "the request-target is too long");
        if (scan->lines > 0 && i - scan->fields_start > limits->max_head)
            return fail(err, 431, "HEADERS_TOO_LARGE", "the request's header section is too large");
        if (i == scan->line_start || buf[i - 1] != '\r')
            return malformed(err, "lines must end in CRLF");
        if (i - 1 == scan->line_start) {
            if (scan->lines > 0) {
                scan->head_len = i + 1;
                return BW_HTTPPARSE_DONE;
            }
            if (i + 1 > 2 * MAX_LEADING_EMPTY_LINES)
                return malformed(err, "too many empty lines before the request line");
            scan->line_start = scan->head_start = i + 1;
            continue;
        }
        scan->lines++;
        scan->line_start = i + 1;
        if (scan->lines == 1)
            scan->fields_start = i + 1;
        else if (scan->lines - 1 > limits->max_fields)
            return fail(err, 431, "HEADERS_TOO_LARGE", "the request has too many header fields");
        else if (i + 1 - scan->fields_start > limits->max_head)
            return fail(err, 431, "HEADERS_TOO_LARGE", "the request's header section is too large");
    }
    /* What arrived of the line being read already counts against its limit. */
    if (scan->lines == 0) {
        if (len - scan->line_start > max_line)
            return fail(err, 414, "URI_TOO_LONG", "the request-target is too long");
    } else if (len - scan->fields_start > limits->max_head) {
        return fail(err, 431, "HEADERS_TOO_LARGE", "the request's header section is too large");
    }
    return BW_HTTPPARSE_AGAIN;
}

static int method_of(const char *s, size_t n)
{
    static const struct {
        const char *name;
        int method;
    } methods[] = {
        {"GET", BW_HTTPPARSE_GET},         {"HEAD", BW_HTTPPARSE_HEAD},
        {"POST", BW_HTTPPARSE_POST},       {"PUT", BW_HTTPPARSE_PUT},
        {"PATCH", BW_HTTPPARSE_PATCH},     {"DELETE", BW_HTTPPARSE_DELETE},
        {"OPTIONS", BW_HTTPPARSE_OPTIONS},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strlen(methods[i].name) == n && memcmp(methods[i].name, s, n) == 0)
            return methods[i].method;
    return BW_HTTPPARSE_OTHER;
}

/* Splits the request-target t[0..n) (NUL-terminated by the caller) into
 * path and query: origin-form "/p?q", absolute-form "http://host/p?q", or
 * "*" for OPTIONS. */
static int parse_target(char *t, size_t n, bw_httpparse_head_t *h, bw_httpparse_error_t *err)
{
    if (n == 1 && t[0] == '*') {
        if (h->method != BW_HTTPPARSE_OPTIONS)
            return malformed(err, "the request-target * is for OPTIONS only");
        h->path = t;
        h->path_len = 1;
        return 0;
    }
    char *path = t;
    if (t[0] != '/') {
        size_t scheme = strncasecmp(t, "http://", 7) == 0    ? 7
                        : strncasecmp(t, "https://", 8) == 0 ? 8
                                                             : 0;
        if (scheme == 0)
            return malformed(err, "the request-target must be a path or an http(s) URI");
        char *authority = t + scheme;
        size_t alen = strcspn(authority, "/?");
        if (alen == 0 || !uri_chars_ok(authority, alen, "[]"))
            return malformed(err, "the request-target has a malformed authority");
        path = authority + alen;
    }
    size_t rest = n - (size_t)(path - t);
    if (!uri_chars_ok(path, rest, "/?"))
        return malformed(err, "the request-target holds a character that must be percent-encoded");
    char *q = memchr(path, '?', rest);
    if (q != NULL) {
        *q = '\0';
        h->query = q + 1;
    }
    if (path[0] != '/') {
        /* An absolute-form URI without a path: its path is "/". */
        h->path = "/";
        h->path_len = 1;
    } else {
        h->path = path;
        h->path_len = q != NULL ? (size_t)(q - path) : rest;
    }
    return 0;
}

static int parse_request_line(char *line, size_t len, const bw_httpparse_limits_t *limits,
                              bw_httpparse_head_t *h, bw_httpparse_error_t *err)
{
    char *sp1 = memchr(line, ' ', len);
    if (sp1 == NULL)
        return malformed(err, "the request line must be: method, target and version");
    size_t mlen = (size_t)(sp1 - line);
    if (!is_token(line, mlen))
        return malformed(err, "the method is not a token");
    if (mlen > BW_HTTPPARSE_MAX_METHOD)
        return fail(err, 501, "METHOD_NOT_IMPLEMENTED", "the method is not implemented");
    char *target = sp1 + 1;
    char *end = line + len;
    char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (sp2 == NULL || sp2 == target)
        return malformed(err, "the request line must be: method, target and version");
    size_t tlen = (size_t)(sp2 - target);
    if (tlen > limits->max_target)
        return fail(err, 414, "URI_TOO_LONG", "the request-target is too long");
    const char *v = sp2 + 1;
    size_t vlen = (size_t)(end - v);
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return malformed(err, "the request line must end in HTTP/1.1 or HTTP/1.0");
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return fail(err, 505, "HTTP_VERSION_NOT_SUPPORTED", "this server speaks HTTP/1.1 and 1.0");
    h->version = v[7] == '1' ? 11 : 10;
    *sp1 = '\0';
    *sp2 = '\0';
    h->method_name = line;
    h->method = method_of(line, mlen);
    return parse_target(target, tlen, h, err);
}

/* Calls fn(element, length, ctx) for each non-empty element of a
 * comma-separated list, blanks trimmed; stops at the first non-zero. */
static int for_each_element(const char *v, size_t n, int (*fn)(const char *, size_t, void *),
                            void *ctx)
{
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t s = start, e = i;
        while (s < e && (v[s] == ' ' || v[s] == '\t'))
            s++;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s) {
            int rc = fn(v + s, e - s, ctx);
            if (rc != 0)
                return rc;
        }
        i++;
    }
    return 0;
}

static int is_word(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* What the special fields said, checked together once all are read. */
typedef struct framing {
    int content_lengths;
    int te_fields;
    int te_chunked;  /* chunked seen */
    int te_last;     /* the last coding is chunked */
    int te_other;    /* another coding seen */
    int te_repeated; /* chunked twice */
    int conn_close;
    int conn_keep_alive;
    int expect_continue;
    int expect_other;
    int hosts;
} framing_t;

static int te_element(const char *s, size_t n, void *ctx)
{
    framing_t *f = ctx;
    if (is_word(s, n, "chunked")) {
        f->te_repeated |= f->te_chunked;
        f->te_chunked = 1;
        f->te_last = 1;
    } else {
        f->te_other = 1;
        f->te_last = 0;
    }
    return 0;
}

static int connection_element(const char *s, size_t n, void *ctx)
{
    framing_t *f = ctx;
    if (is_word(s, n, "close"))
        f->conn_close = 1;
    else if (is_word(s, n, "keep-alive"))
        f->conn_keep_alive = 1;
    return 0;
}

static int expect_element(const char *s, size_t n, void *ctx)
{
    framing_t *f = ctx;
    if (is_word(s, n, "100-continue"))
        f->expect_continue = 1;
    else
        f->expect_other = 1;
    return 0;
}

static int special_field(const bw_httpparse_field_t *fld, framing_t *f, bw_httpparse_head_t *h,
                         bw_httpparse_error_t *err)
{
    const char *v = fld->value;
    size_t n = fld->value_len;
    if (is_word(fld->name, fld->name_len, "content-length")) {
        if (++f->content_lengths > 1)
            return malformed(err, "the request has more than one Content-Length");
        if (n == 0)
            return malformed(err, "Content-Length must be a decimal number");
        long long value = 0;
        for (size_t i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9')
                return malformed(err, "Content-Length must be a decimal number");
            if (value > (LLONG_MAX - 9) / 10)
                value = LLONG_MAX; /* far over any limit; the server refuses it */
            else
                value = value * 10 + (v[i] - '0');
        }
        h->content_length = value;
    } else if (is_word(fld->name, fld->name_len, "transfer-encoding")) {
        f->te_fields++;
        for_each_element(v, n, te_element, f);
    } else if (is_word(fld->name, fld->name_len, "connection")) {
        for_each_element(v, n, connection_element, f);
    } else if (is_word(fld->name, fld->name_len, "expect")) {
        for_each_element(v, n, expect_element, f);
    } else if (is_word(fld->name, fld->name_len, "host")) {
        f->hosts++;
        if (!uri_chars_ok(v, n, "[]"))
            return malformed(err, "the Host field is malformed");
    }
    return 0;
}

static int check_framing(const framing_t *f, bw_httpparse_head_t *h, bw_httpparse_error_t *err)
{
    if (f->te_fields > 0) {
        if (h->version == 10)
            return malformed(err, "Transfer-Encoding needs HTTP/1.1");
        if (f->content_lengths > 0)
            return malformed(err, "the request has both Content-Length and Transfer-Encoding");
        if (!f->te_last || f->te_repeated)
            return malformed(err, "the request's transfer coding must end in chunked, once");
        if (f->te_other)
            return fail(err, 501, "TRANSFER_CODING_NOT_IMPLEMENTED",
                        "chunked is the only transfer coding this server accepts");
        h->chunked = 1;
    }
    if (f->hosts > 1 || (h->version == 11 && f->hosts == 0))
        return malformed(err, "an HTTP/1.1 request needs exactly one Host field");
    if (f->expect_other)
        return fail(err, 417, "EXPECTATION_FAILED", "the only expectation met is 100-continue");
    h->expect_continue = h->version == 11 && f->expect_continue;
    h->keep_alive = !f->conn_close && (h->version == 11 || f->conn_keep_alive);
    return 0;
}

int bw_httpparse_head(char *buf, const bw_httpparse_scan_t *scan,
                      const bw_httpparse_limits_t *limits, bw_httpparse_field_t *fields,
                      size_t max_fields, bw_httpparse_head_t *head, bw_httpparse_error_t *err)
{
    memset(head, 0, sizeof(*head));
    head->content_length = -1;
    head->fields = fields;
    char *p = buf + scan->head_start;
    char *end = buf + scan->head_len;

    /* Lines end in CRLF: find_head checked it. */
    char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = (size_t)(nl - 1 - p);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return malformed(err, "the request line holds a control character");
    int rc = parse_request_line(p, len, limits, head, err);
    if (rc != 0)
        return rc;

    framing_t f = {0};
    for (p = nl + 1; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        len = (size_t)(nl - 1 - p);
        if (len == 0)
            break;
        if (p[0] == ' ' || p[0] == '\t')
            return malformed(err, "obsolete line folding is not accepted");
        char *colon = memchr(p, ':', len);
        if (colon == NULL || !is_token(p, (size_t)(colon - p)))
            return malformed(err, "a header field name is not a token followed by a colon");
        char *v = colon + 1, *ve = p + len;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *c = v; c < ve; c++)
            if (!is_value_char((unsigned char)*c))
                return malformed(err, "a header field value holds a control character");
        if (head->n_fields == max_fields || head->n_fields == limits->max_fields)
            return fail(err, 431, "HEADERS_TOO_LARGE", "the request has too many header fields");
        bw_httpparse_field_t *fld = &fields[head->n_fields++];
        fld->name = p;
        fld->name_len = (size_t)(colon - p);
        fld->value = v;
        fld->value_len = (size_t)(ve - v);
        *colon = '\0';
        *ve = '\0';
        rc = special_field(fld, &f, head, err);
        if (rc != 0)
            return rc;
    }
    return check_framing(&f, head, err);
}

const char *bw_httpparse_field(const bw_httpparse_field_t *fields, size_t n, const char *name,
                               size_t *count)
{
    size_t len = strlen(name), found = 0;
    const char *first = NULL;
    for (size_t i = 0; i < n; i++)
        if (fields[i].name_len == len && strncasecmp(fields[i].name, name, len) == 0) {
            if (found++ == 0)
                first = fields[i].value;
        }
    if (count != NULL)
        *count = found;
    return first;
}

/* ---- chunked ---- */

enum chunk_state {
    CH_SIZE = 0, /* hex digits of the chunk size */
    CH_SIZE_WS,  /* blanks after the size, before ';' */
    CH_EXT,      /* chunk extensions, skipped */
    CH_SIZE_LF,  /* the LF after the size line's CR */
    CH_DATA,     /* chunk data */
    CH_DATA_CR,  /* the CRLF after the data */
    CH_DATA_LF,
    CH_TRAILER, /* the start of a trailer line, or of the final CRLF */
    CH_TRAILER_LINE,
    CH_TRAILER_LF,
    CH_END_LF, /* the final LF */
    CH_DONE,
};

int bw_httpparse_chunked(bw_httpparse_chunked_t *c, const char *in, size_t len, uint64_t max_body,
                         size_t *consumed, const char **data, size_t *data_len,
                         bw_httpparse_error_t *err)
{
    size_t i = 0;
    *data = NULL;
    *data_len = 0;
    *consumed = 0;
    while (i < len && c->state != CH_DONE) {
        unsigned char ch = (unsigned char)in[i];
        if (c->state == CH_DATA) {
            size_t n = len - i < c->size ? len - i : (size_t)c->size;
            *data = in + i;
            *data_len = n;
            c->size -= n;
            c->total += n;
            if (c->size == 0)
                c->state = CH_DATA_CR;
            *consumed = i + n;
            return BW_HTTPPARSE_AGAIN;
        }
        if (c->state <= CH_SIZE_LF && ++c->line_len > BW_HTTPPARSE_MAX_CHUNK_LINE)
            return malformed(err, "a chunk size line is too long");
        if (c->state >= CH_TRAILER && ++c->trailer_len > BW_HTTPPARSE_MAX_TRAILER)
            return fail(err, 431, "HEADERS_TOO_LARGE",
                        "the request's trailer section is too large");
        switch (c->state) {
        case CH_SIZE: {
            int v = bw_hex_digit(ch);
            if (v >= 0) {
                if (c->size > (UINT64_MAX >> 4))
                    return fail(err, 413, "BODY_TOO_LARGE", "the body exceeds the limit");
                c->size = c->size * 16 + (uint64_t)v;
                c->digits++;
                if (c->size > max_body - c->total)
                    return fail(err, 413, "BODY_TOO_LARGE", "the body exceeds the limit");
            } else if (c->digits == 0) {
                return malformed(err, "a chunk size must be hexadecimal digits");
            } else if (ch == ';') {
                c->state = CH_EXT;
            } else if (ch == ' ' || ch == '\t') {
                c->state = CH_SIZE_WS;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else {
                return malformed(err, "a chunk size must be hexadecimal digits");
            }
            break;
        }
        case CH_SIZE_WS:
            if (ch == ';')
                c->state = CH_EXT;
            else if (ch != ' ' && ch != '\t')
                return malformed(err, "a chunk size must be followed by an extension or CRLF");
            break;
        case CH_EXT:
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (!is_value_char(ch))
                return malformed(err, "a chunk extension holds a control character");
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                return malformed(err, "lines must end in CRLF");
            c->state = c->size == 0 ? CH_TRAILER : CH_DATA;
            c->line_len = 0;
            c->digits = 0;
            break;
        case CH_DATA_CR:
            if (ch != '\r')
                return malformed(err, "chunk data must be followed by CRLF");
            c->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                return malformed(err, "chunk data must be followed by CRLF");
            c->state = CH_SIZE;
            c->size = 0;
            break;
        case CH_TRAILER:
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (ch == ':' || !is_tchar(ch)) {
                return malformed(err, "a trailer field name is not a token followed by a colon");
            } else {
                c->colon = 0;
                c->state = CH_TRAILER_LINE;
            }
            break;
        case CH_TRAILER_LINE:
            if (ch == '\r') {
                if (!c->colon)
                    return malformed(err, "a trailer field has no colon");
                c->state = CH_TRAILER_LF;
            } else if (!c->colon) {
                if (ch == ':')
                    c->colon = 1;
                else if (!is_tchar(ch))
                    return malformed(err,
                                     "a trailer field name is not a token followed by a colon");
            } else if (!is_value_char(ch)) {
                return malformed(err, "a trailer field value holds a control character");
            }
            break;
        case CH_TRAILER_LF:
            if (ch != '\n')
                return malformed(err, "lines must end in CRLF");
            c->state = CH_TRAILER;
            break;
        case CH_END_LF:
            if (ch != '\n')
                return malformed(err, "lines must end in CRLF");
            c->state = CH_DONE;
            break;
        default:
            break;
        }
        i++;
    }
    *consumed = i;
    return c->state == CH_DONE ? BW_HTTPPARSE_DONE : BW_HTTPPARSE_AGAIN;
}
