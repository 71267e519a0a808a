/*
 * Connections per client address: which addresses share a count, the cap
 * per address, the table's own bound, and counts that stay right through
 * any order of connects and closes.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "peers.h"
#include "status.h"

/* The key of an address given as text, IPv4 or IPv6. */
static void key_of(const char *text, uint8_t key[BW_PEER_KEY_LEN])
{
    struct sockaddr_storage ss = test_addr(text);
    ck_assert_int_eq(bw_peer_key((struct sockaddr *)&ss, key), 0);
}

static int same_key(const char *a, const char *b)
{
    uint8_t ka[BW_PEER_KEY_LEN], kb[BW_PEER_KEY_LEN];
    key_of(a, ka);
    key_of(b, kb);
    return memcmp(ka, kb, BW_PEER_KEY_LEN) == 0;
}

/* What the HTTP server does for a newcomer of key under a cap per
 * address: refused at the cap, else counted. */
static int admit(bw_peers_t *p, const uint8_t key[BW_PEER_KEY_LEN], unsigned cap)
{
    return bw_peers_count(p, key) >= cap ? BW_ELIMIT : bw_peers_take(p, key);
}

START_TEST(addresses_that_share_a_key)
{
    ck_assert(same_key("192.0.2.1", "::ffff:192.0.2.1"));
    ck_assert(!same_key("192.0.2.1", "192.0.2.2"));
    ck_assert(same_key("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"));
    ck_assert(!same_key("2001:db8:1:2::1", "2001:db8:1:3::1"));
    ck_assert(!same_key("::ffff:192.0.2.1", "::ffff:192.0.2.2"));
    struct sockaddr unix_addr = {.sa_family = AF_UNIX};
    uint8_t key[BW_PEER_KEY_LEN];
    ck_assert_int_eq(bw_peer_key(&unix_addr, key), -1);
}
END_TEST

START_TEST(an_address_at_its_cap_is_refused_and_others_are_not)
{
    bw_peers_t *p = NULL;
    ck_assert_int_eq(bw_peers_create(64, &p), 0);
    uint8_t a[BW_PEER_KEY_LEN], b[BW_PEER_KEY_LEN];
    key_of("198.51.100.7", a);
    key_of("198.51.100.8", b);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(admit(p, a, 3), 0);
    ck_assert_int_eq(admit(p, a, 3), BW_ELIMIT);
    ck_assert_uint_eq(bw_peers_count(p, a), 3);
    ck_assert_int_eq(admit(p, b, 3), 0);
    /* A closed connection makes room for one more, and no more. */
    bw_peers_give(p, a);
    ck_assert_int_eq(admit(p, a, 3), 0);
    ck_assert_int_eq(admit(p, a, 3), BW_ELIMIT);
    for (int i = 0; i < 3; i++)
        bw_peers_give(p, a);
    ck_assert_uint_eq(bw_peers_count(p, a), 0);
    ck_assert_uint_eq(bw_peers_count(p, b), 1);
    /* Giving back what was never taken changes nothing. */
    bw_peers_give(p, a);
    ck_assert_uint_eq(bw_peers_count(p, a), 0);
    bw_peers_free(p);
}
END_TEST

START_TEST(no_more_addresses_than_it_was_made_for)
{
    bw_peers_t *p = NULL;
    ck_assert_int_eq(bw_peers_create(8, &p), 0);
    uint8_t key[BW_PEER_KEY_LEN];
    char text[32];
    for (int i = 0; i < 8; i++) {
        snprintf(text, sizeof(text), "203.0.113.%d", i);
        key_of(text, key);
        ck_assert_int_eq(admit(p, key, 10), 0);
    }
    key_of("203.0.113.200", key);
    ck_assert_int_eq(admit(p, key, 10), BW_ELIMIT);
    /* An address already counted still gets up to its cap. */
    key_of("203.0.113.3", key);
    ck_assert_int_eq(admit(p, key, 10), 0);
    key_of("203.0.113.0", key);
    bw_peers_give(p, key);
    key_of("203.0.113.200", key);
    ck_assert_int_eq(admit(p, key, 10), 0);
    bw_peers_free(p);
    ck_assert_int_eq(bw_peers_create(0, &p), BW_EINVAL);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(counts_survive_any_order_of_connects_and_closes)
{
    /* 2,000 addresses in a table made for 1,000 at once, a million
     * connects and closes in a random order, against a plain count. Each
     * removal moves entries back in the table: every count must still be
     * found where it is looked for. */
    enum { ADDRESSES = 2000, AT_ONCE = 1000, LIMIT = 5, STEPS = 1000000 };
    bw_peers_t *p = NULL;
    ck_assert_int_eq(bw_peers_create(AT_ONCE, &p), 0);
    unsigned *want = calloc(ADDRESSES, sizeof(*want));
    ck_assert_ptr_nonnull(want);
    unsigned live = 0;
    unsigned seed = 12345;
    for (int step = 0; step < STEPS; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned i = (seed >> 8) % ADDRESSES;
        uint8_t key[BW_PEER_KEY_LEN] = {0x20, 0x01, 0x0d, 0xb8};
        memcpy(key + 4, &i, sizeof(i)); /* the /64 2001:db8:<i>::/64 */
        if ((seed >> 4) & 1) {
            int err = admit(p, key, LIMIT);
            int room = want[i] < LIMIT && (want[i] > 0 || live < AT_ONCE);
            ck_assert_int_eq(err, room ? 0 : BW_ELIMIT);
            if (room) {
                live += want[i] == 0;
                want[i]++;
            }
        } else {
            bw_peers_give(p, key);
            if (want[i] > 0) {
                want[i]--;
                live -= want[i] == 0;
            }
        }
        if (step % 50000 == 0)
            for (unsigned j = 0; j < ADDRESSES; j++) {
                uint8_t k[BW_PEER_KEY_LEN] = {0x20, 0x01, 0x0d, 0xb8};
                memcpy(k + 4, &j, sizeof(j));
                ck_assert_uint_eq(bw_peers_count(p, k), want[j]);
            }
    }
    free(want);
    bw_peers_free(p);
}
END_TEST

Suite *suite_peers(void)
{
    Suite *s = suite_create("peers");
    TCase *tc = tcase_create("count");
    tcase_add_test(tc, addresses_that_share_a_key);
    tcase_add_test(tc, an_address_at_its_cap_is_refused_and_others_are_not);
    tcase_add_test(tc, no_more_addresses_than_it_was_made_for);
    tcase_add_test(tc, counts_survive_any_order_of_connects_and_closes);
    suite_add_tcase(s, tc);
    return s;
}
