/*
 * Where the key set comes from (jwks_source.h): a JWKS file written here,
 * loaded, replaced and reloaded; reloads prompted by an unknown kid; the
 * current set handed out by reference while reloads swap it; and the
 * settings refused. The URL source is tested over HTTP in test_jwt.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "idp.h"
#include "jwks.h"
#include "jwks_source.h"
#include "status.h"

static EVP_PKEY *rsa_a, *rsa_b, *ec_a, *ec_b;
static char err[256];

static void make_keys(void)
{
    idp_keys(&rsa_a, &rsa_b, &ec_a, &ec_b);
}

/* A source of the JWKS file at path, reloaded only when asked to (gap:
 * refresh_min_gap_sec; negative, not even for an unknown kid). */
static bw_jwks_source_t *file_source(const char *path, long gap)
{
    bw_jwks_source_config_t cfg = {.file = path, .refresh_min_gap_sec = gap};
    bw_jwks_source_t *s = NULL;
    int rc = bw_jwks_source_create(&cfg, &s, err, sizeof(err));
    ck_assert_msg(rc == 0, "create: %d %s", rc, err);
    return s;
}

static int create_fails(const bw_jwks_source_config_t *cfg)
{
    bw_jwks_source_t *s = (bw_jwks_source_t *)&s;
    int rc = bw_jwks_source_create(cfg, &s, err, sizeof(err));
    ck_assert_ptr_null(s);
    ck_assert_int_ne(rc, 0);
    return rc;
}

/* Polls the key count until it is want, for up to 5 s; the last count. */
static size_t eventual_count(bw_jwks_source_t *s, size_t want)
{
    size_t n = bw_jwks_source_key_count(s);
    for (int i = 0; i < 250 && n != want; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = bw_jwks_source_key_count(s);
    }
    return n;
}

START_TEST(file_loaded_replaced_and_reloaded)
{
    char *path = idp_temp_path();
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    bw_jwks_source_t *s = file_source(path, -1);
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 1);

    /* A new file counts from the next reload on. */
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", rsa_b, "rsa-b", ec_a, "ec-a"));
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 1);
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), 0);
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 3);
    idp_write_file(path, idp_jwks(ec_b, "ec-b", NULL, NULL, NULL, NULL));
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), 0);
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 1);

    /* A file that is broken, keyless, too large or gone keeps the set. */
    idp_write_file(path, "{\"keys\": [");
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "malformed JWKS"));
    idp_write_file(path, "{\"keys\": []}");
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS has no keys");
    char *big = idp_keep(malloc(BW_JWKS_MAX_BYTES + 2));
    memset(big, ' ', BW_JWKS_MAX_BYTES + 1);
    big[BW_JWKS_MAX_BYTES + 1] = '\0';
    idp_write_file(path, big);
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "is larger than 1048576 bytes"));
    unlink(path);
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "could not open JWKS file"));
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 1);
    bw_jwks_source_destroy(s);
}
END_TEST

START_TEST(a_held_set_survives_reloads)
{
    char *path = idp_temp_path();
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    bw_jwks_source_t *s = file_source(path, -1);
    bw_jwks_t *held = bw_jwks_source_acquire(s);
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", ec_a, "ec-a", NULL, NULL));
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), 0);
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), 0);
    /* The reader's set is the one it took, whole; the source's the new one. */
    ck_assert_uint_eq(bw_jwks_count(held), 1);
    bw_jwks_t *now = bw_jwks_source_acquire(s);
    ck_assert_ptr_ne(now, held);
    ck_assert_uint_eq(bw_jwks_count(now), 2);
    /* And outlives the source. */
    bw_jwks_source_destroy(s);
    ck_assert_uint_eq(bw_jwks_count(held), 1);
    bw_jwks_release(held);
    bw_jwks_release(now);
    unlink(path);
}
END_TEST

START_TEST(unknown_kid_prompts_a_reload)
{
    char *path = idp_temp_path();
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    bw_jwks_source_t *s = file_source(path, 0);
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", ec_b, "ec-b", NULL, NULL));
    bw_jwks_source_unknown_kid(s);
    ck_assert_uint_eq(eventual_count(s, 2), 2);
    bw_jwks_source_destroy(s);

    /* Within the gap since the last load, unknown kids prompt nothing. */
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    s = file_source(path, 3600);
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", ec_b, "ec-b", NULL, NULL));
    for (int i = 0; i < 20; i++)
        bw_jwks_source_unknown_kid(s);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 1);
    bw_jwks_source_destroy(s);

    /* Nor does anything with a negative gap. */
    s = file_source(path, -1);
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    bw_jwks_source_unknown_kid(s);
    nanosleep(&ts, NULL);
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 2);
    bw_jwks_source_destroy(s);
    unlink(path);
}
END_TEST

START_TEST(inline_document)
{
    bw_jwks_source_config_t cfg = {
        .json = idp_jwks(rsa_a, "rsa-a", ec_a, "ec-a", NULL, NULL),
        .refresh_sec = 1,
        .refresh_min_gap_sec = 0,
    };
    bw_jwks_source_t *s = NULL;
    ck_assert_int_eq(bw_jwks_source_create(&cfg, &s, err, sizeof(err)), 0);
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 2);
    bw_jwks_source_unknown_kid(s);
    ck_assert_int_eq(bw_jwks_source_reload(s, err, sizeof(err)), 0);
    ck_assert_uint_eq(bw_jwks_source_key_count(s), 2);
    bw_jwks_source_destroy(s);

    cfg.json = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}";
    ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
    ck_assert_str_eq(err,
                     "the JWKS has no usable RS256 or ES256 key (key 0: key type not supported)");
}
END_TEST

START_TEST(settings_checked)
{
    bw_jwks_source_config_t cfg = {.fetch_timeout_sec = 10};
    ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
    ck_assert_str_eq(err, "give exactly one of a JWKS file, URL or document");
    cfg.file = "";
    cfg.json = "";
    ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
    ck_assert_str_eq(err, "give exactly one of a JWKS file, URL or document");
    cfg.file = "/nonexistent";
    cfg.url = "https://idp.example.com/jwks";
    ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
    ck_assert_str_eq(err, "give exactly one of a JWKS file, URL or document");
    cfg.url = NULL;
    ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
    ck_assert_str_eq(err, "could not open JWKS file \"/nonexistent\": No such file or directory");
    cfg.refresh_sec = -1;
    ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS refresh period must not be negative");
    cfg.refresh_sec = 0;

    cfg.file = NULL;
    static const char *const refused_urls[] = {
        "http://idp.example.com/jwks",
        "http://127.0.0.2/jwks",
        "ftp://localhost/jwks",
    };
    for (size_t i = 0; i < sizeof(refused_urls) / sizeof(refused_urls[0]); i++) {
        cfg.url = refused_urls[i];
        ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
        ck_assert_str_eq(err, "the JWKS URL must use https (http only to a loopback address)");
    }
    cfg.url = "not a url";
    ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS URL is malformed");
    cfg.url = "https://idp.example.com/jwks";
    cfg.fetch_timeout_sec = 0;
    ck_assert_int_eq(create_fails(&cfg), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS fetch timeout must be at least one second");
    bw_jwks_source_destroy(NULL);
}
END_TEST

Suite *suite_jwks_source(void)
{
    Suite *s = suite_create("jwks_source");
    TCase *tc = idp_tcase("file", make_keys, 30);
    tcase_add_test(tc, file_loaded_replaced_and_reloaded);
    tcase_add_test(tc, a_held_set_survives_reloads);
    tcase_add_test(tc, unknown_kid_prompts_a_reload);
    tcase_add_test(tc, inline_document);
    tcase_add_test(tc, settings_checked);
    suite_add_tcase(s, tc);
    return s;
}
