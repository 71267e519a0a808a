/*
 * OIDC token verification. The test plays the identity provider: it makes
 * RSA 2048 and P-256 keys with OpenSSL, publishes them as a JWKS (inline, in
 * a file, or over HTTP from an evhttp server on 127.0.0.1), signs tokens with
 * EVP_DigestSign, and checks what the gateway would accept or refuse.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "idp.h"
#include "jwt.h"
#include "route.h"
#include "status.h"

#define NOW 1750000000LL
#define ISS "https://idp.example.com/realms/bulwark"
#define AUD "bulwark-api"
#define TENANT_UPPER "0193A2B4-1111-7000-8000-00000000ABCD"
#define TENANT "0193a2b4-1111-7000-8000-00000000abcd"
#define MEMBER "0193a2b4-2222-7000-8000-000000000001"

static EVP_PKEY *rsa_a, *rsa_b, *ec_a, *ec_b;
static bw_jwt_claims_t got;

static json_t *claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:[s,s,s], s:s}", "iss", ISS, "aud", AUD,
                     "sub", "alice", "exp", (json_int_t)(NOW + 600), "iat", (json_int_t)(NOW - 5),
                     "nbf", (json_int_t)(NOW - 5), "bulwark_tenant", TENANT_UPPER, "bulwark_roles",
                     "editor", "viewer", "nonsense", "bulwark_board_member", MEMBER);
}

/* An access token with a {"alg","typ":"at+jwt","kid"} header (kid NULL:
 * none) and payload (consumed), signed by key. */
static char *tok(const char *alg, const char *kid, EVP_PKEY *key, json_t *payload)
{
    json_t *h = json_pack("{s:s, s:s}", "alg", alg, "typ", "at+jwt");
    if (kid != NULL)
        json_object_set_new(h, "kid", json_string(kid));
    int as = EVP_PKEY_is_a(key, "EC") ? IDP_ES : IDP_RS;
    return idp_jws(idp_dump(h), idp_dump(payload), key, as);
}

/* The default token, with one claim changed (value consumed; NULL removes). */
static char *tok_with(const char *claim, json_t *value)
{
    json_t *c = claims();
    if (value != NULL)
        json_object_set_new(c, claim, value);
    else
        json_object_del(c, claim);
    return tok("RS256", "rsa-a", rsa_a, c);
}

static bw_jwt_verifier_t *verifier_cfg(bw_jwt_config_t *cfg)
{
    bw_jwt_verifier_t *v = NULL;
    char err[256] = "";
    int rc = bw_jwt_verifier_create(cfg, &v, err, sizeof(err));
    ck_assert_msg(rc == 0, "create: %d %s", rc, err);
    return v;
}

/* Tokens without typ are accepted too, so that the hand-written headers of
 * the tests below reach the check each one is about. */
static bw_jwt_verifier_t *verifier_for(const char *jwks_text)
{
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_json = jwks_text;
    cfg.token_types = "at+jwt, none";
    return verifier_cfg(&cfg);
}

/* The usual set: one RSA and one EC key. */
static bw_jwt_verifier_t *verifier(void)
{
    return verifier_for(idp_jwks(rsa_a, "rsa-a", ec_a, "ec-a", NULL, NULL));
}

static const char *refused(bw_jwt_verifier_t *v, const char *token)
{
    const char *why = NULL;
    ck_assert_int_eq(bw_jwt_verify(v, token, NOW, &got, &why), BW_EAUTH);
    ck_assert_ptr_nonnull(why);
    /* Claims of a refused token are never left half filled. */
    ck_assert_str_eq(got.tenant_id, "");
    ck_assert_uint_eq(got.roles, 0);
    return why;
}

static void accepted(bw_jwt_verifier_t *v, const char *token)
{
    const char *why = "unset";
    int rc = bw_jwt_verify(v, token, NOW, &got, &why);
    ck_assert_msg(rc == 0, "refused: %s", why ? why : "(null)");
    ck_assert_ptr_null(why);
}

static void setup(void)
{
    idp_keys(&rsa_a, &rsa_b, &ec_a, &ec_b);
}

/* ---- accepted tokens ---------------------------------------------------- */

START_TEST(rs256_token_accepted_with_its_claims)
{
    bw_jwt_verifier_t *v = verifier();
    accepted(v, tok("RS256", "rsa-a", rsa_a, claims()));
    ck_assert_str_eq(got.tenant_id, TENANT);
    ck_assert_uint_eq(got.roles, BW_ROLE_EDITOR | BW_ROLE_VIEWER);
    ck_assert_str_eq(got.role_names, "editor,viewer");
    ck_assert_str_eq(got.principal, "jwt:" ISS ":alice");
    ck_assert_str_eq(got.board_member, MEMBER);
    ck_assert_int_eq(got.expires_at, NOW + 600);
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(es256_token_accepted_with_its_claims)
{
    bw_jwt_verifier_t *v = verifier();
    json_t *c = claims();
    json_object_set_new(c, "bulwark_roles", json_string("admin"));
    json_object_del(c, "bulwark_board_member");
    accepted(v, tok("ES256", "ec-a", ec_a, c));
    ck_assert_str_eq(got.tenant_id, TENANT);
    ck_assert_uint_eq(got.roles, BW_ROLE_ADMIN);
    ck_assert_str_eq(got.role_names, "admin");
    ck_assert_str_eq(got.board_member, "");
    bw_jwt_verifier_destroy(v);
}
END_TEST

/* ---- algorithms and keys ------------------------------------------------ */

START_TEST(alg_none_refused)
{
    bw_jwt_verifier_t *v = verifier();
    const char *h = idp_b64url_str("{\"alg\":\"none\",\"kid\":\"rsa-a\"}");
    const char *p = idp_b64url_str(idp_dump(claims()));
    char t[4096];
    /* The unsecured form, with an empty signature part. */
    snprintf(t, sizeof(t), "%s.%s.", h, p);
    refused(v, t);
    /* And with a signature part that is there but means nothing. */
    snprintf(t, sizeof(t), "%s.%s.AAAA", h, p);
    ck_assert_str_eq(refused(v, t), "unsupported algorithm");
    /* "None" and "NONE" are not special either. */
    ck_assert_str_eq(refused(v, idp_jws("{\"alg\":\"None\"}", idp_dump(claims()), rsa_a, IDP_RS)),
                     "unsupported algorithm");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(hs256_with_the_public_key_as_secret_refused)
{
    /* The classic confusion: an HMAC keyed with the RSA public key. */
    bw_jwt_verifier_t *v = verifier();
    const char *h = idp_b64url_str("{\"alg\":\"HS256\",\"kid\":\"rsa-a\"}");
    const char *p = idp_b64url_str(idp_dump(claims()));
    char input[4096], t[4200];
    snprintf(input, sizeof(input), "%s.%s", h, p);
    const char *secret = idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL);
    uint8_t mac[32];
    unsigned ml = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)input, strlen(input), mac,
         &ml);
    snprintf(t, sizeof(t), "%s.%s", input, idp_b64url(mac, ml));
    ck_assert_str_eq(refused(v, t), "unsupported algorithm");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(other_algorithms_refused)
{
    bw_jwt_verifier_t *v = verifier();
    static const char *const algs[] = {"RS512", "PS256", "ES384", "EdDSA", "rs256", "HS512", ""};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        ck_assert_str_eq(refused(v, tok(algs[i], "rsa-a", rsa_a, claims())),
                         "unsupported algorithm");
    /* alg missing or not a string */
    ck_assert_str_eq(refused(v, idp_jws("{\"kid\":\"rsa-a\"}", idp_dump(claims()), rsa_a, IDP_RS)),
                     "malformed token header");
    ck_assert_str_eq(refused(v, idp_jws("{\"alg\":256}", idp_dump(claims()), rsa_a, IDP_RS)),
                     "malformed token header");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(alg_and_key_type_must_agree)
{
    bw_jwt_verifier_t *v = verifier();
    /* ES256 naming the RSA key, and RS256 naming the EC key. */
    ck_assert_str_eq(refused(v, tok("ES256", "rsa-a", ec_a, claims())),
                     "the algorithm does not match the key");
    ck_assert_str_eq(refused(v, tok("RS256", "ec-a", rsa_a, claims())),
                     "the algorithm does not match the key");
    bw_jwt_verifier_destroy(v);

    /* A key that pins its alg is used for that alg only. */
    json_t *doc = json_pack("{s:[o]}", "keys", idp_jwk(rsa_a, "pinned"));
    json_object_set_new(json_array_get(json_object_get(doc, "keys"), 0), "alg",
                        json_string("RS256"));
    v = verifier_for(idp_dump(doc));
    accepted(v, tok("RS256", "pinned", rsa_a, claims()));
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(unknown_kid_refused)
{
    bw_jwt_verifier_t *v = verifier();
    ck_assert_str_eq(refused(v, tok("RS256", "rsa-b", rsa_b, claims())), "unknown key id");
    ck_assert_str_eq(refused(v, tok("RS256", "", rsa_a, claims())), "unknown key id");
    ck_assert_str_eq(
        refused(v, idp_jws("{\"alg\":\"RS256\",\"kid\":7}", idp_dump(claims()), rsa_a, IDP_RS)),
        "malformed token header");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(kid_selects_the_key)
{
    bw_jwt_verifier_t *v = verifier_for(idp_jwks(rsa_a, "rsa-a", rsa_b, "rsa-b", ec_a, "ec-a"));
    ck_assert_uint_eq(bw_jwt_verifier_key_count(v), 3);
    accepted(v, tok("RS256", "rsa-a", rsa_a, claims()));
    accepted(v, tok("RS256", "rsa-b", rsa_b, claims()));
    /* The right kid with the other key's signature. */
    ck_assert_str_eq(refused(v, tok("RS256", "rsa-a", rsa_b, claims())), "bad signature");
    /* Without a kid: the only EC key is used, two RSA keys are ambiguous. */
    accepted(v, tok("ES256", NULL, ec_a, claims()));
    ck_assert_str_eq(refused(v, tok("RS256", NULL, rsa_a, claims())), "the token names no key id");
    bw_jwt_verifier_destroy(v);

    v = verifier_for(idp_jwks(rsa_a, "rsa-a", ec_a, NULL, NULL, NULL));
    accepted(v, tok("RS256", NULL, rsa_a, claims()));
    accepted(v, tok("ES256", NULL, ec_a, claims()));
    /* A key without a kid is never the one a kid names. */
    ck_assert_str_eq(refused(v, tok("ES256", "ec-a", ec_a, claims())), "unknown key id");
    bw_jwt_verifier_destroy(v);

    v = verifier_for(idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    ck_assert_str_eq(refused(v, tok("ES256", NULL, ec_a, claims())),
                     "no key for the token's algorithm");
    bw_jwt_verifier_destroy(v);
}
END_TEST

/* ---- malformed tokens --------------------------------------------------- */

START_TEST(malformed_tokens_refused)
{
    bw_jwt_verifier_t *v = verifier();
    char *good = tok("RS256", "rsa-a", rsa_a, claims());
    const char *dot1 = strchr(good, '.');
    char t[8192];
    static const char *const bad[] = {
        "",          "abc",     "a.b",         "a.b.c.d",       "..",
        ".a.b",      "a..b",    "a.b.",        "eyJ=.eyJ.AAAA", "e+J.eyJ.AAAA",
        "bwk_x.y.z", "a b.c.d", "\xff.\xfe.x", "A.eyJ.AAAA",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_str_eq(refused(v, bad[i]), "malformed token");

    /* The good token with a fourth part, with padding, with a standard
     * base64 character, with whitespace. */
    snprintf(t, sizeof(t), "%s.AAAA", good);
    ck_assert_str_eq(refused(v, t), "malformed token");
    snprintf(t, sizeof(t), "%s==", good);
    ck_assert_str_eq(refused(v, t), "malformed token");
    snprintf(t, sizeof(t), "%s", good);
    t[dot1 - good + 3] = '/';
    ck_assert_str_eq(refused(v, t), "malformed token");
    snprintf(t, sizeof(t), " %s", good);
    ck_assert_str_eq(refused(v, t), "malformed token");
    /* A last base64url character with bits that do not decode (non-canonical). */
    size_t hl = (size_t)(dot1 - good);
    if (hl % 4 != 0) {
        snprintf(t, sizeof(t), "%s", good);
        t[hl - 1] = t[hl - 1] == 'z' ? 'y' : 'z';
        refused(v, t);
    }

    /* Headers that are not a JSON object, or repeat a member. */
    ck_assert_str_eq(refused(v, idp_jws("[\"RS256\"]", idp_dump(claims()), rsa_a, IDP_RS)),
                     "malformed token header");
    ck_assert_str_eq(refused(v, idp_jws("hello", idp_dump(claims()), rsa_a, IDP_RS)),
                     "malformed token header");
    ck_assert_str_eq(refused(v, idp_jws("{\"alg\":\"RS256\",\"alg\":\"none\"}", idp_dump(claims()),
                                        rsa_a, IDP_RS)),
                     "malformed token header");
    ck_assert_str_eq(refused(v, idp_jws("{\"alg\":\"RS256\",\"kid\":\"rsa-a\",\"crit\":[\"exp\"]}",
                                        idp_dump(claims()), rsa_a, IDP_RS)),
                     "unsupported critical header");
    /* A correctly signed payload that is not a JSON object. */
    ck_assert_str_eq(
        refused(v, idp_jws("{\"alg\":\"RS256\",\"kid\":\"rsa-a\"}", "\"alice\"", rsa_a, IDP_RS)),
        "malformed token payload");
    ck_assert_str_eq(
        refused(v, idp_jws("{\"alg\":\"RS256\",\"kid\":\"rsa-a\"}", "{\"iss\":", rsa_a, IDP_RS)),
        "malformed token payload");
    ck_assert_str_eq(refused(v, idp_jws("{\"alg\":\"RS256\",\"kid\":\"rsa-a\"}",
                                        "{\"iss\":\"a\",\"iss\":\"b\"}", rsa_a, IDP_RS)),
                     "malformed token payload");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(oversize_token_refused)
{
    bw_jwt_verifier_t *v = verifier();
    char pad[6200];
    /* A token just under the limit passes; one just over does not. */
    size_t fill = 6000;
    char *t;
    memset(pad, 'x', sizeof(pad));
    for (;;) {
        pad[fill] = '\0';
        t = tok_with("padding", json_string(pad));
        if (strlen(t) <= BW_JWT_MAX_TOKEN)
            break;
        pad[fill] = 'x';
        fill -= (strlen(t) - BW_JWT_MAX_TOKEN) * 3 / 4 + 1;
    }
    ck_assert_uint_gt(strlen(t), BW_JWT_MAX_TOKEN - 8);
    accepted(v, t);
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    ck_assert_str_eq(refused(v, tok_with("padding", json_string(pad))), "token too large");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(tampered_token_refused)
{
    bw_jwt_verifier_t *v = verifier();
    char *good = tok("RS256", "rsa-a", rsa_a, claims());
    char *good_ec = tok("ES256", "ec-a", ec_a, claims());
    char t[8192];

    /* Another payload under the original signature. */
    json_t *c = claims();
    json_object_set_new(c, "bulwark_roles", json_string("admin"));
    const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    snprintf(t, sizeof(t), "%.*s.%s%s", (int)(dot1 - good), good, idp_b64url_str(idp_dump(c)),
             dot2);
    ck_assert_str_eq(refused(v, t), "bad signature");

    /* One signature character changed, for each algorithm. */
    snprintf(t, sizeof(t), "%s", good);
    char *mid = t + (dot2 - good) + 10;
    *mid = *mid == 'A' ? 'B' : 'A';
    ck_assert_str_eq(refused(v, t), "bad signature");
    const char *edot = strrchr(good_ec, '.');
    snprintf(t, sizeof(t), "%s", good_ec);
    mid = t + (edot - good_ec) + 10;
    *mid = *mid == 'A' ? 'B' : 'A';
    ck_assert_str_eq(refused(v, t), "bad signature");

    /* Signatures of the wrong length. */
    snprintf(t, sizeof(t), "%.*sAAAA", (int)(edot - good_ec + 1), good_ec);
    ck_assert_str_eq(refused(v, t), "bad signature");
    snprintf(t, sizeof(t), "%.*sAAAA", (int)(dot2 - good + 1), good);
    ck_assert_str_eq(refused(v, t), "bad signature");
    /* An ES256 signature in DER form, as OpenSSL writes it, is not JWS. */
    uint8_t der[128];
    size_t dl = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ck_assert(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, ec_a, NULL) == 1);
    ck_assert(EVP_DigestSign(ctx, der, &dl, (const uint8_t *)good_ec, (size_t)(edot - good_ec)) ==
              1);
    EVP_MD_CTX_free(ctx);
    snprintf(t, sizeof(t), "%.*s%s", (int)(edot - good_ec + 1), good_ec, idp_b64url(der, dl));
    ck_assert_str_eq(refused(v, t), "bad signature");
    /* The originals still pass. */
    accepted(v, good);
    accepted(v, good_ec);
    bw_jwt_verifier_destroy(v);
}
END_TEST

/* ---- claims ------------------------------------------------------------- */

START_TEST(issuer_must_match)
{
    bw_jwt_verifier_t *v = verifier();
    ck_assert_str_eq(refused(v, tok_with("iss", json_string("https://evil.example.com"))),
                     "wrong issuer");
    ck_assert_str_eq(refused(v, tok_with("iss", json_string(ISS "/"))), "wrong issuer");
    ck_assert_str_eq(refused(v, tok_with("iss", NULL)), "wrong issuer");
    ck_assert_str_eq(refused(v, tok_with("iss", json_integer(1))), "wrong issuer");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(audience_must_contain_ours)
{
    bw_jwt_verifier_t *v = verifier();
    accepted(v, tok_with("aud", json_pack("[s,s]", "account", AUD)));
    ck_assert_str_eq(refused(v, tok_with("aud", json_string("account"))), "wrong audience");
    ck_assert_str_eq(refused(v, tok_with("aud", json_pack("[s,s]", "account", "bulwark"))),
                     "wrong audience");
    ck_assert_str_eq(refused(v, tok_with("aud", json_array())), "wrong audience");
    ck_assert_str_eq(refused(v, tok_with("aud", NULL)), "the token has no audience");
    ck_assert_str_eq(refused(v, tok_with("aud", json_integer(5))), "malformed aud claim");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(expiry_checked_with_leeway)
{
    bw_jwt_verifier_t *v = verifier();
    ck_assert_str_eq(refused(v, tok_with("exp", json_integer(NOW - 61))), "token expired");
    ck_assert_str_eq(refused(v, tok_with("exp", json_integer(NOW - 60))), "token expired");
    accepted(v, tok_with("exp", json_integer(NOW - 59)));
    accepted(v, tok_with("exp", json_real((double)NOW + 0.5)));
    ck_assert_str_eq(refused(v, tok_with("exp", NULL)), "the token has no expiry");
    ck_assert_str_eq(refused(v, tok_with("exp", json_string("1750000600"))),
                     "malformed time claim");
    ck_assert_str_eq(refused(v, tok_with("exp", json_real(1e300))), "malformed time claim");
    ck_assert_str_eq(refused(v, tok_with("exp", json_null())), "malformed time claim");
    /* Extreme values neither overflow nor pass. */
    accepted(v, tok_with("exp", json_integer(INT64_MAX)));
    ck_assert_str_eq(refused(v, tok_with("exp", json_integer(INT64_MIN))), "token expired");
    bw_jwt_verifier_destroy(v);

    /* Without leeway, a token is dead at its exp second. */
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_json = idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL);
    cfg.leeway_sec = 0;
    v = verifier_cfg(&cfg);
    ck_assert_str_eq(refused(v, tok_with("exp", json_integer(NOW))), "token expired");
    accepted(v, tok_with("exp", json_integer(NOW + 1)));
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(not_before_and_issued_at_checked)
{
    bw_jwt_verifier_t *v = verifier();
    ck_assert_str_eq(refused(v, tok_with("nbf", json_integer(NOW + 61))), "token not yet valid");
    accepted(v, tok_with("nbf", json_integer(NOW + 60)));
    accepted(v, tok_with("nbf", NULL));
    ck_assert_str_eq(refused(v, tok_with("nbf", json_string("soon"))), "malformed time claim");
    ck_assert_str_eq(refused(v, tok_with("iat", json_integer(NOW + 3600))),
                     "token issued in the future");
    accepted(v, tok_with("iat", json_integer(NOW + 30)));
    accepted(v, tok_with("iat", NULL));
    ck_assert_str_eq(refused(v, tok_with("iat", json_real(-1e300))), "malformed time claim");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(subject_makes_the_principal)
{
    bw_jwt_verifier_t *v = verifier();
    accepted(v, tok_with("sub", json_string("f:3c2a:user@example.com")));
    ck_assert_str_eq(got.principal, "jwt:" ISS ":f:3c2a:user@example.com");
    ck_assert_str_eq(refused(v, tok_with("sub", NULL)), "missing or malformed sub claim");
    ck_assert_str_eq(refused(v, tok_with("sub", json_string(""))),
                     "missing or malformed sub claim");
    ck_assert_str_eq(refused(v, tok_with("sub", json_integer(42))),
                     "missing or malformed sub claim");
    /* It travels in gRPC metadata and logs: printable ASCII only. */
    ck_assert_str_eq(refused(v, tok_with("sub", json_string("alice\nINFO forged"))),
                     "missing or malformed sub claim");
    ck_assert_str_eq(refused(v, tok_with("sub", json_string("j\xc3\xb6rg"))),
                     "missing or malformed sub claim");
    char longsub[BW_JWT_MAX_CLAIM + 2];
    memset(longsub, 's', sizeof(longsub) - 1);
    longsub[sizeof(longsub) - 1] = '\0';
    ck_assert_str_eq(refused(v, tok_with("sub", json_string(longsub))),
                     "missing or malformed sub claim");
    longsub[BW_JWT_MAX_CLAIM] = '\0';
    accepted(v, tok_with("sub", json_string(longsub)));
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(tenant_claim_must_be_a_uuid)
{
    bw_jwt_verifier_t *v = verifier();
    ck_assert_str_eq(refused(v, tok_with("bulwark_tenant", NULL)), "the token names no tenant");
    ck_assert_str_eq(refused(v, tok_with("bulwark_tenant", json_string("acme"))),
                     "malformed tenant claim");
    ck_assert_str_eq(refused(v, tok_with("bulwark_tenant", json_string(TENANT "0"))),
                     "malformed tenant claim");
    ck_assert_str_eq(refused(v, tok_with("bulwark_tenant", json_integer(7))),
                     "malformed tenant claim");
    ck_assert_str_eq(refused(v, tok_with("bulwark_tenant", json_pack("[s]", TENANT))),
                     "malformed tenant claim");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(claim_names_configurable)
{
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_json = idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL);
    cfg.tenant_claim = "https://bulwark.example/tenant";
    cfg.roles_claim = "realm_access.roles";
    cfg.board_member_claim = "ext.member";
    bw_jwt_verifier_t *v = verifier_cfg(&cfg);

    json_t *c =
        json_pack("{s:s, s:s, s:s, s:I, s:s, s:{s:[s,s]}, s:{s:s}}", "iss", ISS, "aud", AUD, "sub",
                  "bob", "exp", (json_int_t)(NOW + 60), "https://bulwark.example/tenant", TENANT,
                  "realm_access", "roles", "auditor", "offline_access", "ext", "member", MEMBER);
    accepted(v, tok("RS256", "rsa-a", rsa_a, c));
    ck_assert_str_eq(got.tenant_id, TENANT);
    ck_assert_uint_eq(got.roles, BW_ROLE_AUDITOR);
    ck_assert_str_eq(got.board_member, MEMBER);
    /* The default names mean nothing now. */
    ck_assert_str_eq(refused(v, tok("RS256", "rsa-a", rsa_a, claims())),
                     "the token names no tenant");
    /* A path through something that is not an object finds nothing. */
    c = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "iss", ISS, "aud", AUD, "sub", "bob", "exp",
                  (json_int_t)(NOW + 60), "https://bulwark.example/tenant", TENANT, "realm_access",
                  "roles");
    ck_assert_str_eq(refused(v, tok("RS256", "rsa-a", rsa_a, c)), "the token grants no role");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(roles_parsed)
{
    bw_jwt_verifier_t *v = verifier();
    accepted(v, tok_with("bulwark_roles", json_string("viewer  auditor")));
    ck_assert_uint_eq(got.roles, BW_ROLE_VIEWER | BW_ROLE_AUDITOR);
    ck_assert_str_eq(got.role_names, "auditor,viewer");
    accepted(v, tok_with("bulwark_roles", json_pack("[s,s,s,s,s,s]", "board_member", "viewer",
                                                    "editor", "auditor", "admin", "admin")));
    ck_assert_uint_eq(got.roles, 0x1f);
    ck_assert_str_eq(got.role_names, "admin,editor,auditor,viewer,board_member");
    accepted(v, tok_with("bulwark_roles", json_string(" board_member ")));
    ck_assert_uint_eq(got.roles, BW_ROLE_BOARD_MEMBER);

    /* Unknown names grant nothing; names are exact. */
    ck_assert_str_eq(refused(v, tok_with("bulwark_roles", json_pack("[s,s]", "Admin", "root"))),
                     "the token grants no role");
    ck_assert_str_eq(refused(v, tok_with("bulwark_roles", json_string("admins viewer,editor"))),
                     "the token grants no role");
    ck_assert_str_eq(refused(v, tok_with("bulwark_roles", json_array())),
                     "the token grants no role");
    ck_assert_str_eq(refused(v, tok_with("bulwark_roles", json_string(""))),
                     "the token grants no role");
    ck_assert_str_eq(refused(v, tok_with("bulwark_roles", NULL)), "the token grants no role");
    ck_assert_str_eq(refused(v, tok_with("bulwark_roles", json_pack("[s,i]", "admin", 1))),
                     "malformed roles claim");
    ck_assert_str_eq(refused(v, tok_with("bulwark_roles", json_pack("{s:b}", "admin", 1))),
                     "malformed roles claim");
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(board_member_claim_optional_but_checked)
{
    bw_jwt_verifier_t *v = verifier();
    accepted(v, tok_with("bulwark_board_member", NULL));
    ck_assert_str_eq(got.board_member, "");
    accepted(v, tok_with("bulwark_board_member", json_null()));
    ck_assert_str_eq(got.board_member, "");
    accepted(v,
             tok_with("bulwark_board_member", json_string("0193A2B4-2222-7000-8000-000000000001")));
    ck_assert_str_eq(got.board_member, MEMBER);
    ck_assert_str_eq(refused(v, tok_with("bulwark_board_member", json_string("bob"))),
                     "malformed board member claim");
    bw_jwt_verifier_destroy(v);
}
END_TEST

/* ---- the key set -------------------------------------------------------- */

static int create_fails(bw_jwt_config_t *cfg, char *err, size_t errlen)
{
    bw_jwt_verifier_t *v = (bw_jwt_verifier_t *)&v;
    int rc = bw_jwt_verifier_create(cfg, &v, err, errlen);
    ck_assert_ptr_null(v);
    return rc;
}

static int jwks_fails(const char *text, char *err, size_t errlen)
{
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_json = text;
    return create_fails(&cfg, err, errlen);
}

START_TEST(jwks_keys_skipped_or_refused)
{
    char err[256];
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    ck_assert(small && p384);

    ck_assert_int_eq(jwks_fails("{\"keys\":[", err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "malformed JWKS"));
    ck_assert_int_eq(jwks_fails("[]", err, sizeof(err)), BW_EINVAL);
    ck_assert_int_eq(jwks_fails("{\"keys\":[]}", err, sizeof(err)), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS has no keys");

    /* Keys that cannot verify RS256 or ES256 tokens are skipped. */
    json_t *keys = json_array();
    json_t *k = idp_jwk(rsa_b, "enc");
    json_object_set_new(k, "use", json_string("enc"));
    json_array_append_new(keys, k);
    json_array_append_new(
        keys, json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", "hmac", "k", "c2VjcmV0"));
    json_array_append_new(keys, idp_jwk(small, "small"));
    json_array_append_new(keys, idp_jwk(p384, "p384"));
    k = idp_jwk(ec_b, "pinned-wrong");
    json_object_set_new(k, "alg", json_string("RS256"));
    json_array_append_new(keys, k);
    k = idp_jwk(rsa_b, "rs512");
    json_object_set_new(k, "alg", json_string("RS512"));
    json_array_append_new(keys, k);
    k = idp_jwk(rsa_b, "sign-only");
    json_object_set_new(k, "key_ops", json_pack("[s]", "sign"));
    json_array_append_new(keys, k);
    /* A point off the curve: y of another key. */
    k = idp_jwk(ec_b, "off-curve");
    json_t *other = idp_jwk(ec_a, NULL);
    json_object_set(k, "y", json_object_get(other, "x"));
    json_decref(other);
    json_array_append_new(keys, k);
    json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x",
                                          "AAAA", "y", "AAAA"));
    json_array_append_new(keys,
                          json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", "AQAB=", "e", "AQAB"));
    json_array_append_new(keys, json_string("not a key"));
    char *unusable = idp_dump(json_pack("{s:O}", "keys", keys));
    ck_assert_int_eq(jwks_fails(unusable, err, sizeof(err)), BW_EINVAL);
    ck_assert_str_eq(err, "the JWKS has no usable RS256 or ES256 key (key 0: not a signing key)");

    /* With one usable key among them, that one key is loaded. */
    json_array_append_new(keys, idp_jwk(ec_a, "ec-a"));
    bw_jwt_verifier_t *v = verifier_for(idp_dump(json_pack("{s:o}", "keys", keys)));
    ck_assert_uint_eq(bw_jwt_verifier_key_count(v), 1);
    accepted(v, tok("ES256", "ec-a", ec_a, claims()));
    ck_assert_str_eq(refused(v, tok("RS256", "enc", rsa_b, claims())), "unknown key id");
    ck_assert_str_eq(refused(v, tok("ES256", "p384", p384, claims())), "unknown key id");
    bw_jwt_verifier_destroy(v);
    EVP_PKEY_free(small);
    EVP_PKEY_free(p384);
}
END_TEST

START_TEST(config_checked)
{
    char err[256];
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    const char *doc = idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL);
    cfg.audience = AUD;
    cfg.jwks_json = doc;
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "issuer"));
    cfg.issuer = ISS;
    cfg.audience = "";
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "audience"));
    cfg.audience = AUD;
    cfg.jwks_file = "/nonexistent";
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "exactly one"));
    cfg.jwks_json = NULL;
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EINVAL);
    ck_assert_str_eq(err, "could not open JWKS file \"/nonexistent\": No such file or directory");
    cfg.jwks_file = NULL;
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EINVAL);
    cfg.jwks_url = "http://idp.example.com/jwks";
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "https"));
    cfg.jwks_url = "not a url";
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EINVAL);
    cfg.jwks_url = NULL;
    cfg.jwks_json = doc;
    cfg.leeway_sec = -1;
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "leeway"));
    bw_jwt_verifier_destroy(NULL);
}
END_TEST

START_TEST(jws_shape)
{
    ck_assert(bw_jwt_is_jws("eyJh.eyJi.c2ln"));
    ck_assert(bw_jwt_is_jws("a-_.b.c"));
    ck_assert(!bw_jwt_is_jws("bwk_0123456789abcdef0123456789abcdef_secret"));
    ck_assert(!bw_jwt_is_jws("a.b"));
    ck_assert(!bw_jwt_is_jws("a.b."));
    ck_assert(!bw_jwt_is_jws(".b.c"));
    ck_assert(!bw_jwt_is_jws("a.b.c.d"));
    ck_assert(!bw_jwt_is_jws("a.b=.c"));
    ck_assert(!bw_jwt_is_jws(""));
    ck_assert(!bw_jwt_is_jws(NULL));
}
END_TEST

/* ---- reloading ---------------------------------------------------------- */

/* Polls until token verifies, for up to 5 s; the last result. */
static int eventually_accepted(bw_jwt_verifier_t *v, const char *token)
{
    int rc = -1;
    for (int i = 0; i < 250 && rc != 0; i++) {
        rc = bw_jwt_verify(v, token, NOW, &got, NULL);
        if (rc != 0) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return rc;
}

START_TEST(jwks_file_reloaded)
{
    char err[256];
    char *path = idp_temp_path();
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_file = path;
    cfg.refresh_sec = 0;
    cfg.refresh_min_gap_sec = -1;
    bw_jwt_verifier_t *v = verifier_cfg(&cfg);
    char *token_a = tok("RS256", "rsa-a", rsa_a, claims());
    char *token_b = tok("RS256", "rsa-b", rsa_b, claims());
    accepted(v, token_a);
    ck_assert_str_eq(refused(v, token_b), "unknown key id");

    /* The provider rotates: b is added, later a is retired. */
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", rsa_b, "rsa-b", NULL, NULL));
    ck_assert_str_eq(refused(v, token_b), "unknown key id");
    ck_assert_int_eq(bw_jwt_verifier_reload(v, err, sizeof(err)), 0);
    accepted(v, token_a);
    accepted(v, token_b);
    idp_write_file(path, idp_jwks(rsa_b, "rsa-b", NULL, NULL, NULL, NULL));
    ck_assert_int_eq(bw_jwt_verifier_reload(v, err, sizeof(err)), 0);
    ck_assert_str_eq(refused(v, token_a), "unknown key id");
    accepted(v, token_b);

    /* A broken file does not take the working keys away. */
    idp_write_file(path, "{\"keys\": [");
    ck_assert_int_eq(bw_jwt_verifier_reload(v, err, sizeof(err)), BW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "malformed JWKS"));
    accepted(v, token_b);
    unlink(path);
    ck_assert_int_eq(bw_jwt_verifier_reload(v, err, sizeof(err)), BW_EINVAL);
    accepted(v, token_b);
    bw_jwt_verifier_destroy(v);
}
END_TEST

START_TEST(unknown_kid_prompts_a_background_reload)
{
    char *path = idp_temp_path();
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_file = path;
    cfg.refresh_sec = 0;
    cfg.refresh_min_gap_sec = 0;
    bw_jwt_verifier_t *v = verifier_cfg(&cfg);
    char *token_ec = tok("ES256", "ec-b", ec_b, claims());
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", ec_b, "ec-b", NULL, NULL));
    ck_assert_int_eq(eventually_accepted(v, token_ec), 0);
    ck_assert_uint_eq(bw_jwt_verifier_key_count(v), 2);
    bw_jwt_verifier_destroy(v);
    unlink(path);

    /* With a gap, a flood of unknown kids does not reload again and again. */
    path = idp_temp_path();
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    cfg.jwks_file = path;
    cfg.refresh_min_gap_sec = 3600;
    v = verifier_cfg(&cfg);
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", ec_b, "ec-b", NULL, NULL));
    for (int i = 0; i < 20; i++)
        ck_assert_str_eq(refused(v, token_ec), "unknown key id");
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    ck_assert_str_eq(refused(v, token_ec), "unknown key id");
    bw_jwt_verifier_destroy(v);
    unlink(path);
}
END_TEST

START_TEST(periodic_refresh)
{
    char *path = idp_temp_path();
    idp_write_file(path, idp_jwks(ec_a, "ec-a", NULL, NULL, NULL, NULL));
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_file = path;
    cfg.refresh_sec = 1;
    cfg.refresh_min_gap_sec = -1;
    bw_jwt_verifier_t *v = verifier_cfg(&cfg);
    char *token_b = tok("ES256", "ec-b", ec_b, claims());
    ck_assert_str_eq(refused(v, token_b), "unknown key id");
    idp_write_file(path, idp_jwks(ec_b, "ec-b", NULL, NULL, NULL, NULL));
    ck_assert_int_eq(eventually_accepted(v, token_b), 0);
    bw_jwt_verifier_destroy(v);
    unlink(path);
}
END_TEST

typedef struct verify_load {
    bw_jwt_verifier_t *v;
    const char *tokens[2];
    int failures;
} verify_load_t;

static void *verify_many(void *arg)
{
    verify_load_t *l = arg;
    bw_jwt_claims_t c;
    for (int i = 0; i < 150; i++)
        if (bw_jwt_verify(l->v, l->tokens[i % 2], NOW, &c, NULL) != 0 ||
            strcmp(c.tenant_id, TENANT) != 0)
            l->failures++;
    return NULL;
}

START_TEST(concurrent_verify_during_reloads)
{
    char err[256];
    char *path = idp_temp_path();
    idp_write_file(path, idp_jwks(rsa_a, "rsa-a", ec_a, "ec-a", NULL, NULL));
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_file = path;
    cfg.refresh_sec = 0;
    cfg.refresh_min_gap_sec = -1;
    bw_jwt_verifier_t *v = verifier_cfg(&cfg);
    verify_load_t loads[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        loads[i] = (verify_load_t){
            v, {tok("RS256", "rsa-a", rsa_a, claims()), tok("ES256", "ec-a", ec_a, claims())}, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, verify_many, &loads[i]), 0);
    }
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(bw_jwt_verifier_reload(v, err, sizeof(err)), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(loads[i].failures, 0);
    }
    bw_jwt_verifier_destroy(v);
    unlink(path);
}
END_TEST

/* ---- a JWKS URL --------------------------------------------------------- */

typedef struct jwks_server {
    struct event_base *base;
    struct evhttp *http;
    pthread_t thread;
    int port;
    pthread_mutex_t lock;
    const char *body; /* under lock */
    int status;       /* under lock */
    int hits;         /* under lock */
} jwks_server_t;

static void serve_jwks(struct evhttp_request *req, void *arg)
{
    jwks_server_t *s = arg;
    struct evbuffer *out = evbuffer_new();
    pthread_mutex_lock(&s->lock);
    evbuffer_add(out, s->body, strlen(s->body));
    int status = s->status;
    s->hits++;
    pthread_mutex_unlock(&s->lock);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", out);
    evbuffer_free(out);
}

static void *server_main(void *arg)
{
    jwks_server_t *s = arg;
    event_base_dispatch(s->base);
    return NULL;
}

static void server_start(jwks_server_t *s, const char *body)
{
    memset(s, 0, sizeof(*s));
    ck_assert_int_eq(evthread_use_pthreads(), 0);
    pthread_mutex_init(&s->lock, NULL);
    s->body = body;
    s->status = 200;
    s->base = event_base_new();
    s->http = evhttp_new(s->base);
    evhttp_set_gencb(s->http, serve_jwks, s);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    ck_assert_ptr_nonnull(sock);
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&addr, &len),
                     0);
    s->port = ntohs(addr.sin_port);
    ck_assert_int_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_set(jwks_server_t *s, const char *body, int status)
{
    pthread_mutex_lock(&s->lock);
    s->body = body;
    s->status = status;
    pthread_mutex_unlock(&s->lock);
}

static int server_hits(jwks_server_t *s)
{
    pthread_mutex_lock(&s->lock);
    int hits = s->hits;
    pthread_mutex_unlock(&s->lock);
    return hits;
}

static void server_stop(jwks_server_t *s)
{
    event_base_loopexit(s->base, NULL);
    pthread_join(s->thread, NULL);
    evhttp_free(s->http);
    event_base_free(s->base);
    pthread_mutex_destroy(&s->lock);
}

START_TEST(jwks_fetched_from_a_url)
{
    char err[256], url[128];
    jwks_server_t s;
    server_start(&s, idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/.well-known/jwks.json", s.port);
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_url = url;
    cfg.refresh_sec = 0;
    cfg.refresh_min_gap_sec = 0;
    bw_jwt_verifier_t *v = verifier_cfg(&cfg);
    ck_assert_int_eq(server_hits(&s), 1);
    accepted(v, tok("RS256", "rsa-a", rsa_a, claims()));

    /* A new key at the provider is fetched when a token first names it. */
    server_set(&s, idp_jwks(rsa_a, "rsa-a", ec_a, "ec-a", NULL, NULL), 200);
    ck_assert_int_eq(eventually_accepted(v, tok("ES256", "ec-a", ec_a, claims())), 0);
    ck_assert_int_ge(server_hits(&s), 2);

    /* A failing provider leaves the keys as they were. */
    server_set(&s, "oops", 500);
    ck_assert_int_eq(bw_jwt_verifier_reload(v, err, sizeof(err)), BW_EUNAVAIL);
    ck_assert_str_eq(err, "could not fetch the JWKS: HTTP status 500");
    server_set(&s, "<html>", 200);
    ck_assert_int_eq(bw_jwt_verifier_reload(v, err, sizeof(err)), BW_EINVAL);
    accepted(v, tok("ES256", "ec-a", ec_a, claims()));
    bw_jwt_verifier_destroy(v);

    /* No verifier starts without its keys. */
    server_set(&s, "not found", 404);
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EUNAVAIL);
    server_stop(&s);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks", s.port);
    ck_assert_int_eq(create_fails(&cfg, err, sizeof(err)), BW_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(err, "could not fetch the JWKS"));
}
END_TEST

/* Signs header (JSON text) over the default claims with the RSA key. */
static char *tok_header(const char *header)
{
    return idp_jws(header, idp_dump(claims()), rsa_a, IDP_RS);
}

START_TEST(only_access_tokens)
{
    /* RFC 9068: an access token says so in its header; an ID token or any
     * other JWT of the same issuer is not one. */
    bw_jwt_config_t cfg = BW_JWT_CONFIG_INIT;
    cfg.issuer = ISS;
    cfg.audience = AUD;
    cfg.jwks_json = idp_jwks(rsa_a, "rsa-a", NULL, NULL, NULL, NULL);
    bw_jwt_verifier_t *v = verifier_cfg(&cfg);
    bw_jwt_claims_t c;
    ck_assert_int_eq(bw_jwt_verify(v, tok_with("x", NULL), NOW, &c, NULL), 0);
    ck_assert_int_eq(bw_jwt_verify(v,
                                   tok_header("{\"alg\":\"RS256\",\"typ\":\"application/AT+JWT\"}"),
                                   NOW, &c, NULL),
                     0);
    const char *not_access = "not an access token (typ)";
    ck_assert_str_eq(refused(v, tok_header("{\"alg\":\"RS256\",\"typ\":\"JWT\"}")), not_access);
    ck_assert_str_eq(refused(v, tok_header("{\"alg\":\"RS256\"}")), not_access);
    ck_assert_str_eq(refused(v, tok_header("{\"alg\":\"RS256\",\"typ\":\"none\"}")), not_access);
    ck_assert_str_eq(refused(v, tok_header("{\"alg\":\"RS256\",\"typ\":7}")), not_access);
    ck_assert_str_eq(refused(v, tok_header("{\"alg\":\"RS256\",\"typ\":\"at+jwt \"}")), not_access);
    bw_jwt_verifier_destroy(v);

    /* An issuer whose access tokens say "JWT", or nothing, is configured so. */
    cfg.token_types = "JWT,none";
    v = verifier_cfg(&cfg);
    ck_assert_int_eq(
        bw_jwt_verify(v, tok_header("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"), NOW, &c, NULL), 0);
    ck_assert_int_eq(bw_jwt_verify(v, tok_header("{\"alg\":\"RS256\"}"), NOW, &c, NULL), 0);
    ck_assert_str_eq(refused(v, tok_with("x", NULL)), not_access);
    bw_jwt_verifier_destroy(v);

    char err[256];
    cfg.token_types = " , ";
    ck_assert_int_eq(bw_jwt_verifier_create(&cfg, &v, err, sizeof(err)), BW_EINVAL);
    cfg.token_types = "a,b,c,d,e,f,g,h,i";
    ck_assert_int_eq(bw_jwt_verifier_create(&cfg, &v, err, sizeof(err)), BW_EINVAL);
}
END_TEST

START_TEST(the_nil_tenant_is_no_tenant)
{
    bw_jwt_verifier_t *v = verifier();
    ck_assert_str_eq(
        refused(v, tok_with("bulwark_tenant", json_string("00000000-0000-0000-0000-000000000000"))),
        "the tenant claim names no tenant");
    bw_jwt_verifier_destroy(v);
}
END_TEST

Suite *suite_jwt(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = idp_tcase("verify", setup, 0);
    tcase_add_test(tc, rs256_token_accepted_with_its_claims);
    tcase_add_test(tc, es256_token_accepted_with_its_claims);
    tcase_add_test(tc, alg_none_refused);
    tcase_add_test(tc, hs256_with_the_public_key_as_secret_refused);
    tcase_add_test(tc, other_algorithms_refused);
    tcase_add_test(tc, alg_and_key_type_must_agree);
    tcase_add_test(tc, only_access_tokens);
    tcase_add_test(tc, the_nil_tenant_is_no_tenant);
    tcase_add_test(tc, unknown_kid_refused);
    tcase_add_test(tc, kid_selects_the_key);
    tcase_add_test(tc, malformed_tokens_refused);
    tcase_add_test(tc, oversize_token_refused);
    tcase_add_test(tc, tampered_token_refused);
    tcase_add_test(tc, issuer_must_match);
    tcase_add_test(tc, audience_must_contain_ours);
    tcase_add_test(tc, expiry_checked_with_leeway);
    tcase_add_test(tc, not_before_and_issued_at_checked);
    tcase_add_test(tc, subject_makes_the_principal);
    tcase_add_test(tc, tenant_claim_must_be_a_uuid);
    tcase_add_test(tc, claim_names_configurable);
    tcase_add_test(tc, roles_parsed);
    tcase_add_test(tc, board_member_claim_optional_but_checked);
    tcase_add_test(tc, jwks_keys_skipped_or_refused);
    tcase_add_test(tc, config_checked);
    tcase_add_test(tc, jws_shape);
    suite_add_tcase(s, tc);

    TCase *reload = idp_tcase("reload", setup, 60);
    tcase_add_test(reload, jwks_file_reloaded);
    tcase_add_test(reload, unknown_kid_prompts_a_background_reload);
    tcase_add_test(reload, periodic_refresh);
    tcase_add_test(reload, concurrent_verify_during_reloads);
    tcase_add_test(reload, jwks_fetched_from_a_url);
    suite_add_tcase(s, reload);
    return s;
}
