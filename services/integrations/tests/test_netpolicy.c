/*
 * Where webhooks may go: the allowed CIDRs setting, which addresses are off
 * limits (IPv4, IPv6, and IPv4 hidden inside IPv6), endpoint URLs as a
 * client writes them (the 400s of create), and the connect-time check on
 * real libcurl connections to a socket listening on loopback: refused
 * without the allowance, whether the URL names the address or a name that
 * resolves to it, and let through with it.
 */
#include "netpolicy.h"
#include "status.h"
#include "tests.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bw_netpolicy_t policy(const char *cidrs)
{
    bw_netpolicy_t p;
    char err[128];
    ck_assert_msg(bw_netpolicy_parse(cidrs, &p, err, sizeof(err)) == 0, "%s: %s", cidrs, err);
    return p;
}

static const char *special(const char *text)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, text, a) == 1)
        return bw_netpolicy_special(AF_INET, a);
    ck_assert_int_eq(inet_pton(AF_INET6, text, a), 1);
    return bw_netpolicy_special(AF_INET6, a);
}

START_TEST(allowed_cidrs_setting)
{
    bw_netpolicy_t p = policy(" 127.0.0.2/32, 10.0.0.0/8,fd00::/8 ,192.168.1.5");
    ck_assert_uint_eq(p.n_allowed, 4);
    ck_assert_int_eq(p.allowed[3].prefix, 32);
    ck_assert_uint_eq(policy("").n_allowed, 0);
    ck_assert_uint_eq(policy(" , ").n_allowed, 0);
    const char *bad[] = {"10.0.0.0/33", "fd00::/129", "10.0.0.0/",  "10.0.0.0/x",
                         "example.com", "10.0.0.256", "10.0.0.0/-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bw_netpolicy_t q;
        char err[128] = "";
        ck_assert_msg(bw_netpolicy_parse(bad[i], &q, err, sizeof(err)) == BW_EINVAL, "%s", bad[i]);
        ck_assert_msg(err[0] != '\0', "no message for %s", bad[i]);
    }
}
END_TEST

START_TEST(addresses_off_limits)
{
    static const struct {
        const char *addr, *reason;
    } cases[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.0.9", "loopback"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"192.168.0.10", "private"},
        {"100.64.0.1", "private"},
        {"169.254.169.254", "link-local"},
        {"0.0.0.0", "unspecified"},
        {"224.0.0.251", "multicast"},
        {"239.255.255.250", "multicast"},
        {"255.255.255.255", "reserved"},
        {"192.0.2.1", "reserved"},
        {"198.18.0.1", "reserved"},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"fe80::1", "link-local"},
        {"fd12:3456::1", "private"},
        {"fc00::1", "private"},
        {"ff02::1", "multicast"},
        {"2001:db8::1", "reserved"},
        {"::127.0.0.1", "reserved"},
        /* IPv4 inside IPv6 is judged as that IPv4 address. */
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:169.254.169.254", "link-local"},
        {"64:ff9b::10.0.0.1", "private"},
        {"2002:a9fe:a9fe::1", "link-local"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = special(cases[i].addr);
        ck_assert_msg(got != NULL && strcmp(got, cases[i].reason) == 0, "%s: %s, want %s",
                      cases[i].addr, got ? got : "public", cases[i].reason);
    }
    const char *public[] = {"8.8.8.8",          "1.1.1.1",         "172.32.0.1",
                            "100.128.0.1",      "2606:4700::1111", "::ffff:8.8.8.8",
                            "64:ff9b::8.8.8.8", "2a00:1450::1"};
    for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
        ck_assert_msg(special(public[i]) == NULL, "%s is public", public[i]);
}
END_TEST

static struct sockaddr_storage sockaddr_of(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
        in->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
    else
        ck_abort_msg("%s", text);
    return ss;
}

static int check(const bw_netpolicy_t *p, int https, const char *addr, char *why, size_t len)
{
    struct sockaddr_storage ss = sockaddr_of(addr);
    why[0] = '\0';
    return bw_netpolicy_check_address(p, https, (struct sockaddr *)&ss, why, len);
}

START_TEST(connect_time_decisions)
{
    bw_netpolicy_t none = policy(""), allow = policy("127.0.0.2/32,10.9.0.0/16");
    char why[200];
    ck_assert_int_eq(check(&none, 1, "8.8.8.8", why, sizeof(why)), 0);
    ck_assert_int_eq(check(&none, 1, "169.254.169.254", why, sizeof(why)), BW_EPERM);
    ck_assert_str_eq(why, "address 169.254.169.254 refused (link-local)");
    ck_assert_int_eq(check(&none, 1, "::ffff:127.0.0.1", why, sizeof(why)), BW_EPERM);
    ck_assert_ptr_nonnull(strstr(why, "loopback"));
    /* Plain http goes nowhere without the allowance, public or not. */
    ck_assert_int_eq(check(&none, 0, "8.8.8.8", why, sizeof(why)), BW_EPERM);
    ck_assert_ptr_nonnull(strstr(why, "BULWARK_WEBHOOK_ALLOWED_CIDRS"));
    /* The allowance opens exactly its networks, for http and https. */
    ck_assert_int_eq(check(&allow, 0, "127.0.0.2", why, sizeof(why)), 0);
    ck_assert_int_eq(check(&allow, 1, "10.9.200.1", why, sizeof(why)), 0);
    ck_assert_int_eq(check(&allow, 0, "::ffff:127.0.0.2", why, sizeof(why)), 0);
    ck_assert_int_eq(check(&allow, 0, "127.0.0.1", why, sizeof(why)), BW_EPERM);
    ck_assert_int_eq(check(&allow, 1, "127.0.0.1", why, sizeof(why)), BW_EPERM);
    ck_assert_int_eq(check(&allow, 1, "10.10.0.1", why, sizeof(why)), BW_EPERM);
}
END_TEST

/* The message for a URL, "" when accepted. */
static const char *url_verdict(const bw_netpolicy_t *p, const char *url)
{
    static char why[256];
    int https = -1;
    why[0] = '\0';
    int err = bw_netpolicy_check_url(p, url, &https, why, sizeof(why));
    if (err == 0) {
        ck_assert_int_eq(https, strncmp(url, "https", 5) == 0 || strncmp(url, "HTTPS", 5) == 0);
        return "";
    }
    ck_assert_int_eq(err, BW_EINVAL);
    ck_assert_msg(why[0] != '\0', "no message for %s", url);
    return why;
}

START_TEST(endpoint_urls)
{
    bw_netpolicy_t none = policy(""), allow = policy("127.0.0.2/32");
    ck_assert_str_eq(url_verdict(&none, "https://hooks.example.com/bulwark?x=1"), "");
    ck_assert_str_eq(url_verdict(&none, "HTTPS://Hooks.Example.com:8443/b"), "");
    ck_assert_str_eq(url_verdict(&none, "https://8.8.8.8/b"), "");
    ck_assert_str_eq(url_verdict(&none, ""), "is required");
    ck_assert_str_eq(url_verdict(&none, "ftp://hooks.example.com/"), "must use https");
    ck_assert_str_eq(url_verdict(&none, "gopher://hooks.example.com/"), "must use https");
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "javascript:alert(1)"), "absolute URL"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "hooks.example.com/x"), "absolute URL"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://a b/"), "absolute URL"));
    ck_assert_ptr_nonnull(
        strstr(url_verdict(&none, "https://user:pw@hooks.example.com/"), "credentials"));
    ck_assert_ptr_nonnull(
        strstr(url_verdict(&none, "https://hooks.example.com/#frag"), "fragment"));
    /* Literal addresses are judged at once, however they are written. */
    ck_assert_str_eq(
        url_verdict(&none, "https://169.254.169.254/latest/meta-data/"),
        "points at a link-local address (169.254.169.254), which Bulwark may not call");
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://127.0.0.1:8080/"), "loopback"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://2130706433/"), "loopback"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://0x7f.1/"), "loopback"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://[::1]/"), "loopback"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://[::ffff:10.0.0.1]/"), "private"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://[fe80::1%25eth0]/"), "link-local"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://10.0.0.7/"), "private"));
    /* Plain http: only into the allowance. */
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "http://hooks.example.com/"), "https"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "http://8.8.8.8/"), "https"));
    ck_assert_str_eq(url_verdict(&allow, "http://127.0.0.2:8080/hooks"), "");
    ck_assert_ptr_nonnull(strstr(url_verdict(&allow, "http://127.0.0.1:8080/hooks"),
                                 "BULWARK_WEBHOOK_ALLOWED_CIDRS"));
    /* localhost and the names under it are the loopback address (RFC 6761),
     * judged at once; names that only look like it are names. */
    ck_assert_str_eq(url_verdict(&none, "https://localhost/x"),
                     "points at a loopback address (localhost), which Bulwark may not call");
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://LocalHost.:8443/x"), "loopback"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://api.localhost/x"), "loopback"));
    ck_assert_str_eq(url_verdict(&none, "https://notlocalhost/x"), "");
    ck_assert_str_eq(url_verdict(&none, "https://localhost.example.com/x"), "");
    ck_assert_ptr_nonnull(
        strstr(url_verdict(&allow, "http://localhost:9000/x"), "BULWARK_WEBHOOK_ALLOWED_CIDRS"));
    bw_netpolicy_t lo4 = policy("127.0.0.0/8"), lo6 = policy("::1/128");
    ck_assert_str_eq(url_verdict(&lo4, "http://localhost:9000/x"), "");
    ck_assert_str_eq(url_verdict(&lo6, "http://localhost:9000/x"), "");
    /* A name that cannot be looked up, or port 0, would fail every attempt. */
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://.../x"), "empty label"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://a..b/x"), "empty label"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://./x"), "no host name"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://-bad-.example/x"), "'-'"));
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://a~b.example/x"), "character"));
    ck_assert_ptr_nonnull(
        strstr(url_verdict(&none, "https://hooks.example.com:0/x"), "1 to 65535"));
    char label[65], longname[400];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(longname, sizeof(longname), "https://%s.example/x", label);
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, longname), "63"));
    label[63] = '\0';
    snprintf(longname, sizeof(longname), "https://%s.%s.%s.%s/x", label, label, label, label);
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, longname), "253"));
    snprintf(longname, sizeof(longname), "https://%s.%s.%s.example/x", label, label, label);
    ck_assert_str_eq(url_verdict(&none, longname), "");
    ck_assert_str_eq(url_verdict(&none, "https://hooks.example.com.:8443/x"), "");
    ck_assert_str_eq(url_verdict(&none, "https://b\xc3\xbc"
                                        "cher.example/x"),
                     "");
    ck_assert_str_eq(url_verdict(&none, "https://xn--bcher-kva.example/x"), "");
    ck_assert_str_eq(url_verdict(&none, "https://my_host.example/x"), "");
    ck_assert_str_eq(url_verdict(&none, "https://hooks.example.com:65535/x"), "");
    /* Percent-encoding is decoded before any of this: still localhost. */
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, "https://%6cocalhost/x"), "loopback"));
    /* A name may resolve into the allowance: judged when connecting. */
    ck_assert_str_eq(url_verdict(&allow, "http://receiver.internal/hooks"), "");
    char longer[BW_NETPOLICY_MAX_URL + 16];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    memcpy(longer, "https://hooks.example.com/", 26);
    ck_assert_ptr_nonnull(strstr(url_verdict(&none, longer), "at most"));
}
END_TEST

/* A socket listening on 127.0.0.1; its port in *port. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    socklen_t len = sizeof(in);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&in, &len), 0);
    *port = ntohs(in.sin_port);
    return fd;
}

/* Connects to url through the guard (connection only, no request). */
static CURLcode connect_through(bw_netpolicy_guard_t *guard, const char *url)
{
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, bw_netpolicy_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, guard);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    return rc;
}

START_TEST(connect_time_check_on_real_connections)
{
    int port;
    int fd = listener(&port);
    char by_address[64], by_name[64];
    snprintf(by_address, sizeof(by_address), "http://127.0.0.1:%d/hooks", port);
    snprintf(by_name, sizeof(by_name), "https://localhost:%d/hooks", port);
    bw_netpolicy_t none = policy(""), allow = policy("127.0.0.1/32");

    bw_netpolicy_guard_t g = {&none, 0, ""};
    ck_assert_int_eq(connect_through(&g, by_address), CURLE_COULDNT_CONNECT);
    ck_assert_str_eq(g.refused, "address 127.0.0.1 refused: http only to addresses in "
                                "BULWARK_WEBHOOK_ALLOWED_CIDRS");
    /* A name that resolves to loopback is refused the same, whatever the
     * URL looked like when it was accepted. */
    bw_netpolicy_guard_t h = {&none, 1, ""};
    ck_assert_int_eq(connect_through(&h, by_name), CURLE_COULDNT_CONNECT);
    ck_assert_msg(strstr(h.refused, "refused (loopback)") != NULL, "%s", h.refused);
    /* With the allowance the connection is made. */
    bw_netpolicy_guard_t a = {&allow, 0, ""};
    ck_assert_int_eq(connect_through(&a, by_address), CURLE_OK);
    ck_assert_str_eq(a.refused, "");
    close(fd);
}
END_TEST

Suite *suite_netpolicy(void)
{
    Suite *s = suite_create("netpolicy");
    TCase *tc = tcase_create("netpolicy");
    tcase_add_test(tc, allowed_cidrs_setting);
    tcase_add_test(tc, addresses_off_limits);
    tcase_add_test(tc, connect_time_decisions);
    tcase_add_test(tc, endpoint_urls);
    tcase_add_test(tc, connect_time_check_on_real_connections);
    suite_add_tcase(s, tc);
    return s;
}
