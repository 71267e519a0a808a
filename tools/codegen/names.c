/*
 * Names and text for bw_codegen: the proto3 JSON name of a field (which the
 * gateway's transcoder derives the same way at run time), the C symbols and
 * headers protoc-c generates for a type (so that routes.c links against
 * bw::proto), C string literal escaping, and tidying of protoc comments.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

char *bw_cg_printf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int len = vasprintf(&s, fmt, ap); /* glibc's (_GNU_SOURCE): the tool runs at build time */
    va_end(ap);
    return len < 0 ? NULL : s;
}

/* protoc's ToJsonName: each '_' is dropped and upper-cases the next
 * character; nothing else changes (so "foo_1" is "foo1" and "_x" is "X"). */
char *bw_cg_json_name(const char *proto_name)
{
    char *out = malloc(strlen(proto_name) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    int capitalize = 0;
    for (const char *p = proto_name; *p; p++) {
        if (*p == '_') {
            capitalize = 1;
        } else if (capitalize) {
            out[n++] = (char)toupper((unsigned char)*p);
            capitalize = 0;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return out;
}

/* protoc-c's CamelToLower: an upper-case letter following a character that
 * is not upper case gets a '_' before it, and every letter is lowered. Runs
 * of capitals therefore stay together ("HTTPRule" -> "httprule", "Inner2X"
 * -> "inner2_x", "ResolveApiKeyRequest" -> "resolve_api_key_request"). */
static size_t camel_to_lower(const char *name, size_t len, char *out)
{
    size_t n = 0;
    int was_upper = 1;
    for (size_t i = 0; i < len; i++) {
        int is_upper = isupper((unsigned char)name[i]) != 0;
        if (is_upper && !was_upper)
            out[n++] = '_';
        out[n++] = (char)tolower((unsigned char)name[i]);
        was_upper = is_upper;
    }
    return n;
}

/* protoc-c's FullNameToLower, each dotted component lowered on its own and
 * joined by "__", plus the "__descriptor" suffix. */
char *bw_cg_c_descriptor(const char *full_name)
{
    static const char suffix[] = "__descriptor";
    /* A character yields at most two ('_' and the letter), a '.' two. */
    char *out = malloc(2 * strlen(full_name) + sizeof suffix);
    if (!out)
        return NULL;
    size_t n = 0;
    const char *p = full_name;
    while (*p) {
        size_t len = strcspn(p, ".");
        if (len > 0) {
            if (n > 0) {
                memcpy(out + n, "__", 2);
                n += 2;
            }
            n += camel_to_lower(p, len, out + n);
        }
        p += len;
        if (*p == '.')
            p++;
    }
    memcpy(out + n, suffix, sizeof suffix);
    return out;
}

char *bw_cg_c_header(const char *proto_file)
{
    size_t len = strlen(proto_file);
    if (len > 6 && strcmp(proto_file + len - 6, ".proto") == 0)
        len -= 6;
    return bw_cg_printf("%.*s.pb-c.h", (int)len, proto_file);
}

void bw_cg_put_c_string(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '?':
            /* -std=c11 turns "??(" and friends into trigraphs. */
            fputs("\\?", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            /* Always three octal digits, so a following digit is never
             * taken as part of the escape (hex escapes have no limit). */
            if (c < 0x20 || c >= 0x7f)
                fprintf(out, "\\%03o", c);
            else
                fputc(c, out);
        }
    }
}

char *bw_cg_tidy_comment(const char *raw)
{
    size_t len = strlen(raw);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    const char *line = raw;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) : strlen(line);
        const char *text = line;
        /* protoc keeps the space that follows "//"; the text starts after it. */
        if (line_len > 0 && text[0] == ' ') {
            text++;
            line_len--;
        }
        while (line_len > 0 && isspace((unsigned char)text[line_len - 1]))
            line_len--;
        if (n > 0 || line_len > 0) {
            memcpy(out + n, text, line_len);
            n += line_len;
            out[n++] = '\n';
        }
        line = end ? end + 1 : line + strlen(line);
    }
    while (n > 0 && out[n - 1] == '\n')
        n--;
    out[n] = '\0';
    return out;
}
