/*
 * Address and URL checks for outbound webhooks; see netpolicy.h. The
 * special-purpose ranges are those of the IANA IPv4 and IPv6
 * Special-Purpose Address Registries (RFC 6890 and its updates), plus
 * multicast; everything in IPv6 outside 2000::/3 (global unicast) is
 * refused as reserved.
 */
#include "netpolicy.h"

#include "status.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

typedef struct range {
    uint8_t prefix[16];
    int bits;
    const char *reason;
} range_t;

static const range_t v4_ranges[] = {
    {{0}, 8, "unspecified"},
    {{10}, 8, "private"},
    {{100, 64}, 10, "private"}, /* shared address space (carrier-grade NAT) */
    {{127}, 8, "loopback"},
    {{169, 254}, 16, "link-local"}, /* the cloud metadata service lives here */
    {{172, 16}, 12, "private"},
    {{192, 0, 0}, 24, "reserved"},
    {{192, 0, 2}, 24, "reserved"},
    {{192, 88, 99}, 24, "reserved"},
    {{192, 168}, 16, "private"},
    {{198, 18}, 15, "reserved"},
    {{198, 51, 100}, 24, "reserved"},
    {{203, 0, 113}, 24, "reserved"},
    {{224}, 4, "multicast"},
    {{240}, 4, "reserved"}, /* and the broadcast address */
};

static const range_t v6_ranges[] = {
    {{0}, 128, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback"},
    {{0x00, 0x64, 0xff, 0x9b, 0, 1}, 48, "private"}, /* local-use NAT64 */
    {{0x01, 0x00}, 64, "reserved"},                  /* discard-only */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "reserved"},      /* documentation */
    {{0x20, 0x01, 0x00, 0x00}, 23, "reserved"},      /* IETF protocol assignments, Teredo */
    {{0x3f, 0xff}, 20, "reserved"},                  /* documentation */
    {{0x5f, 0x00}, 16, "reserved"},                  /* segment routing */
    {{0xfc}, 7, "private"},                          /* unique local */
    {{0xfe, 0x80}, 10, "link-local"},
    {{0xfe, 0xc0}, 10, "private"}, /* site-local, deprecated */
    {{0xff}, 8, "multicast"},
};

static int in_prefix(const uint8_t *addr, const uint8_t *prefix, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(addr, prefix, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[whole] & mask) == (prefix[whole] & mask);
}

/* The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64 well-known
 * prefix, 6to4), or NULL. */
static const uint8_t *embedded_v4(const uint8_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return a + 12;
    if (a[0] == 0x20 && a[1] == 0x02)
        return a + 2;
    return NULL;
}

static const char *special_v4(const uint8_t *a)
{
    for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++)
        if (in_prefix(a, v4_ranges[i].prefix, v4_ranges[i].bits))
            return v4_ranges[i].reason;
    return NULL;
}

const char *bw_netpolicy_special(int family, const uint8_t *addr)
{
    if (family == AF_INET)
        return special_v4(addr);
    if (family != AF_INET6)
        return "reserved";
    const uint8_t *v4 = embedded_v4(addr);
    if (v4 != NULL)
        return special_v4(v4);
    for (size_t i = 0; i < sizeof(v6_ranges) / sizeof(v6_ranges[0]); i++)
        if (in_prefix(addr, v6_ranges[i].prefix, v6_ranges[i].bits))
            return v6_ranges[i].reason;
    /* Only 2000::/3 is global unicast; the rest is unassigned or special
     * (the IPv4-compatible ::/96 included). */
    return (addr[0] & 0xe0) == 0x20 ? NULL : "reserved";
}

static int allowed(const bw_netpolicy_t *p, int family, const uint8_t *addr)
{
    for (size_t i = 0; i < p->n_allowed; i++)
        if (p->allowed[i].family == family &&
            in_prefix(addr, p->allowed[i].addr, p->allowed[i].prefix))
            return 1;
    /* An IPv4-mapped address is that IPv4 address. */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET6 && memcmp(addr, mapped, 12) == 0)
        return allowed(p, AF_INET, addr + 12);
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

int bw_netpolicy_parse(const char *text, bw_netpolicy_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *p = text != NULL ? text : "";
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        const char *item = p;
        trim(&item, &n);
        if (n > 0) {
            char buf[64];
            if (n >= sizeof(buf) || out->n_allowed == BW_NETPOLICY_MAX_CIDRS) {
                snprintf(err, errlen, "%s",
                         n >= sizeof(buf) ? "an item is too long" : "more than 64 CIDRs");
                return BW_EINVAL;
            }
            memcpy(buf, item, n);
            buf[n] = '\0';
            char *slash = strchr(buf, '/');
            if (slash != NULL)
                *slash = '\0';
            bw_cidr_t *c = &out->allowed[out->n_allowed];
            if (inet_pton(AF_INET, buf, c->addr) == 1)
                c->family = AF_INET, c->prefix = 32;
            else if (inet_pton(AF_INET6, buf, c->addr) == 1)
                c->family = AF_INET6, c->prefix = 128;
            else {
                snprintf(err, errlen, "\"%.*s\" is not an IP address or CIDR", (int)n, item);
                return BW_EINVAL;
            }
            if (slash != NULL) {
                char *end;
                long bits = strtol(slash + 1, &end, 10);
                if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > c->prefix) {
                    snprintf(err, errlen, "\"%.*s\" has a bad prefix length", (int)n, item);
                    return BW_EINVAL;
                }
                c->prefix = (int)bits;
            }
            out->n_allowed++;
        }
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

/* The family, bytes and text of a socket address; 0 or BW_EINVAL. */
static int address_of(const struct sockaddr *sa, int *family, const uint8_t **bytes, char *text,
                      size_t textlen)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        *family = AF_INET;
        *bytes = (const uint8_t *)&in->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        *family = AF_INET6;
        *bytes = (const uint8_t *)&in6->sin6_addr;
    } else {
        return BW_EINVAL;
    }
    if (inet_ntop(*family, *bytes, text, (socklen_t)textlen) == NULL)
        snprintf(text, textlen, "?");
    return 0;
}

int bw_netpolicy_check_address(const bw_netpolicy_t *policy, int https, const struct sockaddr *sa,
                               char *why, size_t whylen)
{
    int family;
    const uint8_t *bytes;
    char text[INET6_ADDRSTRLEN];
    if (address_of(sa, &family, &bytes, text, sizeof(text)) != 0) {
        snprintf(why, whylen, "address family %d refused", sa->sa_family);
        return BW_EPERM;
    }
    if (allowed(policy, family, bytes))
        return 0;
    if (!https) {
        snprintf(why, whylen,
                 "address %s refused: http only to addresses in BULWARK_WEBHOOK_ALLOWED_CIDRS",
                 text);
        return BW_EPERM;
    }
    const char *reason = bw_netpolicy_special(family, bytes);
    if (reason == NULL)
        return 0;
    snprintf(why, whylen, "address %s refused (%s)", text, reason);
    return BW_EPERM;
}

curl_socket_t bw_netpolicy_open_socket(void *guard, curlsocktype purpose,
                                       struct curl_sockaddr *address)
{
    bw_netpolicy_guard_t *g = guard;
    char why[sizeof(g->refused)];
    if (purpose != CURLSOCKTYPE_IPCXN) {
        snprintf(g->refused, sizeof(g->refused), "a connection of an unexpected kind refused");
        return CURL_SOCKET_BAD;
    }
    if (bw_netpolicy_check_address(g->policy, g->https, &address->addr, why, sizeof(why)) != 0) {
        if (g->refused[0] == '\0')
            snprintf(g->refused, sizeof(g->refused), "%s", why);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* The URL's host as a literal address, if it is one: 1 with family and
 * bytes set, else 0. A bracketed IPv6 host may carry a zone ("%eth0"). */
static int literal_host(const char *host, int *family, uint8_t bytes[16])
{
    char buf[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        n -= 2;
        host++;
        size_t zone = strcspn(host, "%");
        if (zone < n)
            n = zone;
    }
    if (n == 0 || n >= sizeof(buf))
        return 0;
    memcpy(buf, host, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, bytes) == 1) {
        *family = AF_INET;
        return 1;
    }
    if (inet_pton(AF_INET6, buf, bytes) == 1) {
        *family = AF_INET6;
        return 1;
    }
    return 0;
}

/* Why host, a name (not a literal address), cannot be looked up, or NULL:
 * labels of 1 to 63 bytes between dots (one final dot allowed), 253 bytes
 * in all, letters, digits, '-' and '_' (bytes past ASCII too: an
 * internationalised name, which libcurl converts), no label beginning or
 * ending with '-' (RFC 1123). Such a name would be accepted and then fail
 * every attempt for three days. *loopback is set when its last label is
 * "localhost", in any case: RFC 6761 (section 6.3) has resolvers answer
 * such names with the loopback address and never ask DNS, so they are
 * judged as that address at once. */
static const char *host_name_fault(const char *host, int *loopback)
{
    static const char local[] = "localhost";
    size_t n = strlen(host);
    if (n > 0 && host[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return n == 0 ? "has no host name" : "has a host name longer than 253 characters";
    for (size_t start = 0; start <= n;) {
        size_t len = 0;
        while (start + len < n && host[start + len] != '.')
            len++;
        if (len == 0)
            return "has an empty label in its host name (two dots in a row, or a dot first)";
        if (len > 63)
            return "has a label of more than 63 characters in its host name";
        if (host[start] == '-' || host[start + len - 1] == '-')
            return "has a label beginning or ending with '-' in its host name";
        for (size_t i = start; i < start + len; i++) {
            unsigned char ch = (unsigned char)host[i];
            if (ch < 0x80 && !isalnum(ch) && ch != '-' && ch != '_')
                return "has a character a host name cannot have";
        }
        *loopback = len == sizeof(local) - 1 && strncasecmp(host + start, local, len) == 0;
        start += len + 1;
    }
    return NULL;
}

/* Whether the URL has the part (a user, a password, a fragment). */
static int has_part(CURLU *u, CURLUPart part)
{
    char *value = NULL;
    CURLUcode rc = curl_url_get(u, part, &value, 0);
    int has = rc == CURLUE_OK && value != NULL;
    curl_free(value);
    return has;
}

int bw_netpolicy_check_url(const bw_netpolicy_t *policy, const char *url, int *https, char *why,
                           size_t whylen)
{
    int err = BW_EINVAL;
    char *scheme = NULL, *host = NULL;
    CURLU *u = NULL;
    if (url == NULL || url[0] == '\0') {
        snprintf(why, whylen, "is required");
        return BW_EINVAL;
    }
    if (strlen(url) > BW_NETPOLICY_MAX_URL) {
        snprintf(why, whylen, "must be at most %d characters", BW_NETPOLICY_MAX_URL);
        return BW_EINVAL;
    }
    if ((u = curl_url()) == NULL)
        return BW_ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
        snprintf(why, whylen, "is not an absolute URL such as https://hooks.example.com/bulwark");
        goto out;
    }
    *https = strcmp(scheme, "https") == 0;
    if (!*https && strcmp(scheme, "http") != 0) {
        snprintf(why, whylen, "must use https");
        goto out;
    }
    if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD)) {
        snprintf(why, whylen, "must not contain credentials: a delivery is signed instead");
        goto out;
    }
    if (has_part(u, CURLUPART_FRAGMENT)) {
        snprintf(why, whylen, "must not contain a fragment");
        goto out;
    }
    char *port = NULL;
    int port_zero = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port != NULL &&
                    strtol(port, NULL, 10) == 0;
    curl_free(port);
    if (port_zero) {
        snprintf(why, whylen, "must have a port from 1 to 65535");
        goto out;
    }
    int family, loopback = 0;
    uint8_t bytes[16];
    int literal = literal_host(host, &family, bytes);
    const char *fault = literal ? NULL : host_name_fault(host, &loopback);
    if (fault != NULL) {
        snprintf(why, whylen, "%s", fault);
        goto out;
    }
    if (loopback) {
        /* Judged as 127.0.0.1, or as ::1 where only that is allowed. */
        static const uint8_t v4[4] = {127, 0, 0, 1}, v6[16] = {[15] = 1};
        literal = 1;
        family = allowed(policy, AF_INET6, v6) ? AF_INET6 : AF_INET;
        if (family == AF_INET6)
            memcpy(bytes, v6, sizeof(v6));
        else
            memcpy(bytes, v4, sizeof(v4));
    }
    if (literal && allowed(policy, family, bytes)) {
        err = 0;
        goto out;
    }
    if (!*https) {
        /* A name may resolve into an allowed network: judged at connect. */
        if (!literal && policy->n_allowed > 0) {
            err = 0;
            goto out;
        }
        snprintf(why, whylen,
                 "must use https (http is allowed only to addresses in "
                 "BULWARK_WEBHOOK_ALLOWED_CIDRS)");
        goto out;
    }
    const char *reason = literal ? bw_netpolicy_special(family, bytes) : NULL;
    if (reason != NULL) {
        snprintf(why, whylen, "points at a %s address (%s), which Bulwark may not call", reason,
                 host);
        goto out;
    }
    err = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return err;
}

int bw_netpolicy_curl_setup(CURL *e, bw_netpolicy_guard_t *guard, const char *url, long timeout_ms)
{
    guard->https = strncasecmp(url, "https:", 6) == 0;
    guard->refused[0] = '\0';
    int ok =
        curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L) ==
            CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, bw_netpolicy_open_socket) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, guard) == CURLE_OK;
    return ok ? 0 : BW_EINTERNAL;
}
