/*
 * What inbound events are judged by: the X-Hub-Signature check, against the
 * test vector GitHub documents for the same header scheme ("Validating
 * webhook deliveries": secret "It's a Secret to Everybody", payload
 * "Hello, World!"), and the times Jira and ServiceNow send.
 */
#include "inbound.h"
#include "signature.h"
#include "tests.h"

#include <string.h>

#define VECTOR "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

START_TEST(hub_signature_matches_the_documented_vector)
{
    const char *secret = "It's a Secret to Everybody";
    const uint8_t *body = (const uint8_t *)"Hello, World!";
    size_t len = strlen("Hello, World!");
    ck_assert(bw_hub_signature_valid(secret, body, len, "sha256=" VECTOR));
    /* Hex digits in either case; the prefix too. */
    ck_assert(bw_hub_signature_valid(secret, body, len,
                                     "SHA256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F43"
                                     "79C8B043E17"));
    /* Every byte counts: the body, the secret, the signature. */
    ck_assert(
        !bw_hub_signature_valid(secret, (const uint8_t *)"Hello, World?", len, "sha256=" VECTOR));
    ck_assert(!bw_hub_signature_valid("It's a Secret to everybody", body, len, "sha256=" VECTOR));
    ck_assert(!bw_hub_signature_valid(
        secret, body, len,
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18"));
    /* Malformed or missing: no. */
    ck_assert(!bw_hub_signature_valid(secret, body, len, "sha1=" VECTOR));
    ck_assert(!bw_hub_signature_valid(secret, body, len, "sha256=" VECTOR "00"));
    ck_assert(!bw_hub_signature_valid(secret, body, len, "sha256="));
    ck_assert(!bw_hub_signature_valid(secret, body, len, NULL));
}
END_TEST

START_TEST(ticket_times)
{
    long long sec;
    int nanos;
    /* Jira: an offset without its colon, milliseconds. 2025-06-10T07:15:00Z
     * is 1749539700. */
    ck_assert_int_eq(bw_inbound_parse_time("2025-06-10T09:15:00.000+0200", &sec, &nanos), 0);
    ck_assert_int_eq(sec, 1749539700);
    ck_assert_int_eq(nanos, 0);
    ck_assert_int_eq(bw_inbound_parse_time("2025-06-10T01:15:00.250-06:00", &sec, &nanos), 0);
    ck_assert_int_eq(sec, 1749539700);
    ck_assert_int_eq(nanos, 250000000);
    ck_assert_int_eq(bw_inbound_parse_time("2025-06-10T07:15:00Z", &sec, &nanos), 0);
    ck_assert_int_eq(sec, 1749539700);
    /* ServiceNow: UTC, a space between date and time. */
    ck_assert_int_eq(bw_inbound_parse_time("2025-06-10 07:15:00", &sec, &nanos), 0);
    ck_assert_int_eq(sec, 1749539700);
    /* Across a day and a year. */
    ck_assert_int_eq(bw_inbound_parse_time("2025-01-01T00:30:00+0100", &sec, &nanos), 0);
    ck_assert_int_eq(sec, 1735687800);
    ck_assert_int_eq(bw_inbound_parse_time("2024-02-29 12:00:00", &sec, &nanos), 0);
    /* Not times. */
    const char *bad[] = {"",
                         "2025-06-10",
                         "2025-04-31T10:00:00Z",
                         "2025-02-29 12:00:00",
                         "2025-13-01T10:00:00Z",
                         "2025-06-10T24:00:00Z",
                         "2025-06-10T09:15:00+2400",
                         "2025-06-10T09:15:00+02",
                         "2025-06-10T09:15:00.+0200",
                         "2025-06-10T09:15:00 garbage",
                         "2025-06-10 07:15:00Zx",
                         "20a5-06-10T09:15:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(bw_inbound_parse_time(bad[i], &sec, &nanos) != 0, "accepted %s", bad[i]);
}
END_TEST

Suite *suite_inbound(void)
{
    Suite *s = suite_create("inbound");
    TCase *tc = tcase_create("inbound");
    tcase_add_test(tc, hub_signature_matches_the_documented_vector);
    tcase_add_test(tc, ticket_times);
    suite_add_tcase(s, tc);
    return s;
}
