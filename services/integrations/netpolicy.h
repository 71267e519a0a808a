/*
 * Where webhooks may go (server-side request forgery protection). A tenant
 * chooses the URL, so every address is hostile until checked:
 *
 *   - a URL must be https; http only to addresses an operator allows
 *     (BULWARK_WEBHOOK_ALLOWED_CIDRS), for receivers on private networks
 *     and for tests;
 *   - no address that is loopback, private, shared (CGNAT), link-local (the
 *     cloud metadata service 169.254.169.254), multicast, unspecified,
 *     reserved or documentation-only, in IPv4 or IPv6 (IPv4-mapped, NAT64
 *     and 6to4 addresses are judged by the IPv4 address inside), unless an
 *     allowed CIDR contains it.
 *
 * URLs are checked when an endpoint is created or changed, on the host as
 * libcurl parses it (so that the check and the connection read the URL the
 * same way): a literal address is judged there. Names are judged when they
 * resolve: bw_netpolicy_check_address runs on every address libcurl is
 * about to connect to (CURLOPT_OPENSOCKETFUNCTION), which also defeats DNS
 * rebinding. Pure functions; no allocation after parsing.
 */
#ifndef BW_NETPOLICY_H
#define BW_NETPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct sockaddr;

#define BW_NETPOLICY_MAX_CIDRS 64
#define BW_NETPOLICY_MAX_URL 2048

typedef struct bw_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int prefix;
} bw_cidr_t;

typedef struct bw_netpolicy {
    bw_cidr_t allowed[BW_NETPOLICY_MAX_CIDRS];
    size_t n_allowed;
} bw_netpolicy_t;

/* Parses a comma-separated list of CIDRs or single addresses ("10.0.0.0/8,
 * 127.0.0.2, fd00::/8"; blanks around items ignored, "" for none). Host bits
 * below the prefix are ignored. BW_EINVAL with a message in err. */
int bw_netpolicy_parse(const char *text, bw_netpolicy_t *out, char *err, size_t errlen);

/* Why an address is off limits by default ("loopback", "private",
 * "link-local", "multicast", "unspecified", "reserved"), or NULL for a
 * public address. family is AF_INET (4 bytes) or AF_INET6 (16 bytes). */
const char *bw_netpolicy_special(int family, const uint8_t *addr);

/* Whether the policy lets a request of the given kind (https or not) connect
 * to sa. 0 when allowed; BW_EPERM with the reason in why ("address
 * 169.254.169.254 refused (link-local)") otherwise. */
int bw_netpolicy_check_address(const bw_netpolicy_t *policy, int https, const struct sockaddr *sa,
                               char *why, size_t whylen);

/* The connect-time check as libcurl's CURLOPT_OPENSOCKETFUNCTION, with a
 * guard as CURLOPT_OPENSOCKETDATA: an address the policy refuses gets no
 * socket (libcurl tries the next address, then fails the transfer with
 * CURLE_COULDNT_CONNECT), and the first refusal's reason is kept in
 * refused ("" while none). */
typedef struct bw_netpolicy_guard {
    const bw_netpolicy_t *policy; /* borrowed */
    int https;
    char refused[160];
} bw_netpolicy_guard_t;
curl_socket_t bw_netpolicy_open_socket(void *guard, curlsocktype purpose,
                                       struct curl_sockaddr *address);

/* Sets up a libcurl easy handle for a request to url the way every request
 * to a tenant's URL is made (webhooks, Jira, ServiceNow): http and https
 * only, no redirects followed, no proxy from the environment, a timeout of
 * timeout_ms (connection included), and the connect-time address check with
 * guard (whose policy the caller set; https is set here from url). 0, or
 * BW_EINTERNAL when libcurl refused an option. */
int bw_netpolicy_curl_setup(CURL *easy, bw_netpolicy_guard_t *guard, const char *url,
                            long timeout_ms);

/* Checks an endpoint URL. 0 when acceptable, with *https set; BW_EINVAL with
 * the message for the client in why ("must use https"). */
int bw_netpolicy_check_url(const bw_netpolicy_t *policy, const char *url, int *https, char *why,
                           size_t whylen);

#endif
