/*
 * A quick reader of JSON text into a jansson tree (jsontext.h): one pass
 * with a pointer, strings without escapes copied in one go. Every "not
 * sure" is NULL, and the caller asks jansson.
 */
#include "jsontext.h"

#include "hex.h"
#include "utf8.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Nesting past this is left to jansson (which allows 2048). */
#define QUICK_MAX_DEPTH 512

typedef struct reader {
    const unsigned char *p;
    const unsigned char *end;
    int depth;
    char *scratch; /* decoded escaped strings */
    size_t scratch_cap;
} reader_t;

static void skip_space(reader_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* The four hex digits at p (end bounds them) as a number, or -1. */
static long hex4(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = bw_hex_digit(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escaped string from r->p (just after its opening quote) to
 * its closing quote into r->scratch: *s and *len, or false. */
static bool read_escaped(reader_t *r, const char **s, size_t *len)
{
    size_t need = (size_t)(r->end - r->p) + 1; /* decoded text is never longer */
    if (need > r->scratch_cap) {
        char *grown = realloc(r->scratch, need);
        if (grown == NULL)
            return false;
        r->scratch = grown;
        r->scratch_cap = need;
    }
    char *out = r->scratch;
    size_t o = 0;
    const unsigned char *p = r->p;
    while (p < r->end) {
        unsigned char c = *p;
        if (c == '"') {
            r->p = p + 1;
            *s = r->scratch;
            *len = o;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c >= 0x80) {
            size_t n = bw_utf8_char_len(p, (size_t)(r->end - p));
            if (n == 0)
                return false;
            memcpy(out + o, p, n);
            o += n;
            p += n;
            continue;
        }
        if (c != '\\') {
            out[o++] = (char)c;
            p++;
            continue;
        }
        if (p + 1 >= r->end)
            return false;
        static const char simple[0x80] = {['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
                                          ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};
        unsigned char e = p[1];
        if (e < 0x80 && simple[e] != 0) {
            out[o++] = simple[e];
            p += 2;
            continue;
        }
        if (e != 'u')
            return false;
        long cp = hex4(p + 2, r->end);
        p += 6;
        if (cp <= 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return false; /* \u0000, a bad escape, a lone low surrogate */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (r->end - p < 2 || p[0] != '\\' || p[1] != 'u')
                return false;
            long low = hex4(p + 2, r->end);
            if (low < 0xDC00 || low > 0xDFFF)
                return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
        }
        o += put_utf8(out + o, (unsigned long)cp);
    }
    return false;
}

/* The string from r->p (at its opening quote): *s and *len point into the
 * text when it has no escapes, else into r->scratch. */
static bool read_string(reader_t *r, const char **s, size_t *len)
{
    const unsigned char *start = ++r->p;
    const unsigned char *p = start;
    while (p < r->end) {
        unsigned char c = *p;
        if (c == '"') {
            *s = (const char *)start;
            *len = (size_t)(p - start);
            r->p = p + 1;
            return true;
        }
        if (c == '\\')
            return read_escaped(r, s, len);
        if (c < 0x20)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n = bw_utf8_char_len(p, (size_t)(r->end - p));
        if (n == 0)
            return false;
        p += n;
    }
    return false;
}

static bool is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* A number as jansson lexes it: an integer of at most 18 digits here (more
 * may overflow: jansson says so), anything with a fraction or an exponent
 * a real through strtod. */
static json_t *read_number(reader_t *r)
{
    const unsigned char *start = r->p, *p = r->p, *end = r->end;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    if (!is_digit(p, end))
        return NULL;
    const unsigned char *digits = p;
    if (*p == '0') {
        p++;
        if (is_digit(p, end))
            return NULL; /* a leading zero */
    } else {
        while (is_digit(p, end))
            p++;
    }
    size_t n_digits = (size_t)(p - digits);
    bool real = false;
    if (p < end && *p == '.') {
        p++;
        if (!is_digit(p, end))
            return NULL;
        while (is_digit(p, end))
            p++;
        real = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, end))
            return NULL;
        while (is_digit(p, end))
            p++;
        real = true;
    }
    r->p = p;
    if (!real) {
        if (n_digits > 18)
            return NULL;
        json_int_t v = 0;
        for (const unsigned char *d = digits; d < p; d++)
            v = v * 10 + (*d - '0');
        return json_integer(neg ? -v : v);
    }
    char buf[64];
    size_t n = (size_t)(p - start);
    if (n >= sizeof(buf))
        return NULL;
    memcpy(buf, start, n);
    buf[n] = '\0';
    errno = 0;
    double d = strtod(buf, NULL);
    if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
        return NULL; /* jansson: real number overflow */
    return json_real(d);
}

/* true, false or null: the letters run as jansson lexes a word. */
static json_t *read_word(reader_t *r)
{
    const unsigned char *p = r->p;
    while (p < r->end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        p++;
    size_t n = (size_t)(p - r->p);
    json_t *v = NULL;
    if (n == 4 && memcmp(r->p, "true", 4) == 0)
        v = json_true();
    else if (n == 5 && memcmp(r->p, "false", 5) == 0)
        v = json_false();
    else if (n == 4 && memcmp(r->p, "null", 4) == 0)
        v = json_null();
    r->p = p;
    return v;
}

static json_t *read_value(reader_t *r);

/* After a member of an object or an element of an array: 1 when close
 * ends the container (consumed), 0 after a comma, -1 for anything else. */
static int after_item(reader_t *r, unsigned char close)
{
    skip_space(r);
    if (r->p >= r->end)
        return -1;
    if (*r->p == close) {
        r->p++;
        return 1;
    }
    if (*r->p != ',')
        return -1;
    r->p++;
    return 0;
}

static json_t *read_object(reader_t *r)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return obj;
    }
    for (;;) {
        const char *key;
        size_t key_len;
        if (r->p >= r->end || *r->p != '"' || !read_string(r, &key, &key_len))
            break;
        /* A key decoded into the scratch must outlive the value's reading,
         * which may use the scratch again. */
        char small[64];
        char *copy = (char *)key;
        if (key == r->scratch) {
            copy = key_len < sizeof(small) ? small : malloc(key_len);
            if (copy == NULL)
                break;
            memcpy(copy, key, key_len);
        }
        skip_space(r);
        json_t *value = NULL;
        if (r->p < r->end && *r->p == ':') {
            r->p++;
            value = read_value(r);
        }
        int rc = -1;
        if (value != NULL && json_object_getn(obj, copy, key_len) == NULL)
            rc = json_object_setn_new_nocheck(obj, copy, key_len, value);
        else
            json_decref(value);
        if (copy != key && copy != small)
            free(copy);
        int next = rc == 0 ? after_item(r, '}') : -1;
        if (next == 1)
            return obj;
        if (next < 0)
            break;
        skip_space(r);
    }
    json_decref(obj);
    return NULL;
}

static json_t *read_array(reader_t *r)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return arr;
    }
    for (;;) {
        json_t *value = read_value(r);
        int next =
            value != NULL && json_array_append_new(arr, value) == 0 ? after_item(r, ']') : -1;
        if (next == 1)
            return arr;
        if (next < 0)
            break;
    }
    json_decref(arr);
    return NULL;
}

/* The value at r->p, after any space; NULL: ask jansson. */
static json_t *read_value(reader_t *r)
{
    skip_space(r);
    if (r->p >= r->end)
        return NULL;
    unsigned char c = *r->p;
    if (c == '"') {
        const char *s;
        size_t len;
        return read_string(r, &s, &len) ? json_stringn_nocheck(s, len) : NULL;
    }
    if (c == '{' || c == '[') {
        if (r->depth >= QUICK_MAX_DEPTH)
            return NULL;
        r->depth++;
        json_t *v = c == '{' ? read_object(r) : read_array(r);
        r->depth--;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return read_number(r);
    return read_word(r);
}

json_t *bw_json_read_quick(const char *text, size_t len)
{
    reader_t r = {(const unsigned char *)text, (const unsigned char *)text + len, 0, NULL, 0};
    json_t *v = text != NULL ? read_value(&r) : NULL;
    free(r.scratch);
    if (v == NULL)
        return NULL;
    skip_space(&r);
    if (r.p != r.end) { /* more after the value: jansson's error */
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Containers open at once that bw_json_values_over follows: jansson's own
 * limit, past which its parser refuses the text anyway. */
#define COUNT_MAX_DEPTH 2048

int bw_json_values_over(const char *text, size_t len, size_t max)
{
    if (len <= max)
        return 0;
    /* Every value is the top one, a member's (after its ':') or an array's
     * element (the first, then one after each comma of the array): the
     * text's own structure, whatever it holds, counted in one pass. */
    unsigned char in_array[COUNT_MAX_DEPTH / 8] = {0};
    size_t n = 1, depth = 0;
    int in_string = 0, first = 0;
    for (const char *p = text, *end = text + len; p < end; p++) {
        char c = *p;
        if (in_string) {
            if (c == '\\')
                p++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (first && c != ']')
            n++; /* an array's first element */
        first = 0;
        if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (depth == COUNT_MAX_DEPTH)
                return 0;
            if (c == '[')
                in_array[depth / 8] |= (unsigned char)(1u << (depth % 8));
            else
                in_array[depth / 8] &= (unsigned char)~(1u << (depth % 8));
            depth++;
            first = c == '[';
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        } else if (c == ':' || (c == ',' && depth > 0 &&
                                (in_array[(depth - 1) / 8] >> ((depth - 1) % 8) & 1))) {
            n++;
        }
        if (n > max)
            return 1;
    }
    return 0;
}
