/*
 * OIDC bearer-token verification; see jwt.h for what a token must satisfy.
 * The key set is parsed once per load into EVP_PKEYs (OpenSSL 3 provider
 * keys built with EVP_PKEY_fromdata) and published as an immutable,
 * reference-counted keyset_t: a verification takes a reference under a mutex
 * held for a pointer copy, a reload builds a whole new set off the lock and
 * swaps the pointer, and the last reference frees the old one. The signature
 * is checked before the payload is parsed, so claims of a forged token are
 * never even read. A verification allocates only what jansson needs for two
 * small objects and what OpenSSL needs for one signature check.
 */
#include "jwt.h"

#include "ids.h"
#include "log.h"
#include "route.h"
#include "status.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <ctype.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_JWKS_BYTES (1024 * 1024)
#define MAX_KEYS 64
#define MAX_KID 255
#define MAX_LEEWAY_SEC 3600
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define P256_COORD 32
#define ECDSA_DER_MAX 80
/* Decoded parts of a token never exceed three quarters of its text. */
#define DECODED_MAX (BW_JWT_MAX_TOKEN / 4 * 3 + 3)

enum { KTY_RSA = 1, KTY_EC };
enum { ALG_ANY = 0, ALG_RS256, ALG_ES256 };

typedef struct jwk {
    char *kid; /* NULL when the key has none */
    int kty;
    int alg; /* ALG_ANY unless the key pins one */
    EVP_PKEY *pkey;
} jwk_t;

typedef struct keyset {
    atomic_long refs;
    size_t n;
    jwk_t keys[MAX_KEYS];
} keyset_t;

struct bw_jwt_verifier {
    char *issuer;
    char *audience;
    char *jwks_file;
    char *jwks_url;
    char *jwks_json;
    char *tenant_claim;
    char *roles_claim;
    char *board_member_claim;
    /* Accepted typ values, lower case, without "application/"; "none" is a
     * token without typ. */
    char token_types[BW_JWT_MAX_TOKEN_TYPES][32];
    size_t n_token_types;
    long leeway;
    long refresh_sec;
    long min_gap;
    long fetch_timeout;
    int sync_ready;     /* lock and wake initialised */
    int curl_ready;     /* curl_global_init called */
    int thread_started; /* thread to be joined */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    /* Under lock: */
    keyset_t *keys;      /* the current set; this pointer holds one reference */
    int stop;            /* the thread is to exit */
    int wanted;          /* a reload was asked for by an unknown kid */
    long long last_load; /* monotonic seconds of the last load attempt */
};

static const struct {
    const char *name;
    unsigned bit;
} roles[] = {
    {"admin", BW_ROLE_ADMIN},
    {"editor", BW_ROLE_EDITOR},
    {"auditor", BW_ROLE_AUDITOR},
    {"viewer", BW_ROLE_VIEWER},
    {"board_member", BW_ROLE_BOARD_MEMBER},
};

static long long mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

int bw_jwt_is_jws(const char *token)
{
    size_t dots = 0, run = 0;
    if (token == NULL)
        return 0;
    for (const char *p = token; *p != '\0'; p++) {
        if (*p == '.') {
            if (run == 0 || ++dots > 2)
                return 0;
            run = 0;
        } else if (bw_base64url_value((unsigned char)*p) < 0) {
            return 0;
        } else {
            run++;
        }
    }
    return dots == 2 && run > 0;
}

/* ---- key sets ---------------------------------------------------------- */

static void keyset_free(keyset_t *ks)
{
    if (ks == NULL)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        EVP_PKEY_free(ks->keys[i].pkey);
        free(ks->keys[i].kid);
    }
    free(ks);
}

static void keyset_release(keyset_t *ks)
{
    if (ks != NULL && atomic_fetch_sub(&ks->refs, 1) == 1)
        keyset_free(ks);
}

static keyset_t *keyset_acquire(bw_jwt_verifier_t *v)
{
    pthread_mutex_lock(&v->lock);
    keyset_t *ks = v->keys;
    atomic_fetch_add(&ks->refs, 1);
    pthread_mutex_unlock(&v->lock);
    return ks;
}

static void keyset_swap(bw_jwt_verifier_t *v, keyset_t *ks)
{
    pthread_mutex_lock(&v->lock);
    keyset_t *old = v->keys;
    v->keys = ks;
    pthread_mutex_unlock(&v->lock);
    keyset_release(old);
}

/* Decodes a base64url JWK member into buf; the decoded length, or -1. */
static long jwk_bytes(json_t *jwk, const char *name, uint8_t *buf, size_t cap)
{
    json_t *s = json_object_get(jwk, name);
    size_t n;
    if (!json_is_string(s) ||
        bw_base64url_decode(json_string_value(s), json_string_length(s), buf, cap, &n) != 0 || n == 0)
        return -1;
    return (long)n;
}

/* An EVP_PKEY from provider parameters; 0, 1 (refused) or BW_ENOMEM.
 * check runs OpenSSL's public key validation: for EC it rejects points off
 * the curve; for RSA it would only test n for primality, at a cost of tens
 * of milliseconds per key and no gain against a key set we trust anyway. */
static int pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, int check_key, EVP_PKEY **out)
{
    int rc = BW_ENOMEM;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY_CTX *check = NULL;
    if (params == NULL || ctx == NULL)
        goto out;
    rc = 1;
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto out;
    if (!check_key) {
        rc = 0;
        goto out;
    }
    check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
    if (check != NULL && EVP_PKEY_public_check(check) == 1) {
        rc = 0;
    } else {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
out:
    ERR_clear_error();
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rc;
}

static int rsa_key(json_t *jwk, EVP_PKEY **out, const char **why)
{
    uint8_t nb[RSA_MAX_BITS / 8 + 1], eb[16];
    long nl = jwk_bytes(jwk, "n", nb, sizeof(nb));
    long el = jwk_bytes(jwk, "e", eb, sizeof(eb));
    int rc = BW_ENOMEM;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    if (nl < 0 || el < 0) {
        *why = "malformed RSA parameters";
        return 1;
    }
    n = BN_bin2bn(nb, (int)nl, NULL);
    e = BN_bin2bn(eb, (int)el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (n == NULL || e == NULL || bld == NULL)
        goto out;
    if (BN_num_bits(n) < RSA_MIN_BITS || BN_num_bits(n) > RSA_MAX_BITS || !BN_is_odd(n)) {
        *why = "RSA modulus shorter than 2048 bits or malformed";
        rc = 1;
        goto out;
    }
    if (!BN_is_odd(e) || BN_is_one(e)) {
        *why = "malformed RSA exponent";
        rc = 1;
        goto out;
    }
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
        goto out;
    rc = pkey_from_params("RSA", bld, 0, out);
    if (rc == 1)
        *why = "OpenSSL refused the RSA key";
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

static int ec_key(json_t *jwk, EVP_PKEY **out, const char **why)
{
    uint8_t point[1 + 2 * P256_COORD];
    json_t *crv = json_object_get(jwk, "crv");
    if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0) {
        *why = "curve not supported";
        return 1;
    }
    point[0] = 0x04; /* uncompressed: x then y */
    if (jwk_bytes(jwk, "x", point + 1, P256_COORD) != P256_COORD ||
        jwk_bytes(jwk, "y", point + 1 + P256_COORD, P256_COORD) != P256_COORD) {
        *why = "malformed EC coordinates";
        return 1;
    }
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL)
        return BW_ENOMEM;
    int rc = BW_ENOMEM;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) == 1)
        rc = pkey_from_params("EC", bld, 1, out);
    if (rc == 1)
        *why = "EC point not on P-256";
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

static int alg_of(const char *name)
{
    if (strcmp(name, "RS256") == 0)
        return ALG_RS256;
    if (strcmp(name, "ES256") == 0)
        return ALG_ES256;
    return -1;
}

/* Fills *k from one JWK: 0; 1 when the key is skipped (another use, type or
 * algorithm, or malformed), with *why; BW_ENOMEM. */
static int parse_jwk(json_t *jwk, jwk_t *k, const char **why)
{
    json_t *kty = json_object_get(jwk, "kty");
    json_t *use = json_object_get(jwk, "use");
    json_t *ops = json_object_get(jwk, "key_ops");
    json_t *alg = json_object_get(jwk, "alg");
    json_t *kid = json_object_get(jwk, "kid");
    memset(k, 0, sizeof(*k));
    if (!json_is_object(jwk) || !json_is_string(kty)) {
        *why = "not a JWK";
        return 1;
    }
    if (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
        *why = "not a signing key";
        return 1;
    }
    if (ops != NULL) {
        int verify = 0;
        size_t i;
        json_t *op;
        json_array_foreach(ops, i, op)
        {
            verify |= json_is_string(op) && strcmp(json_string_value(op), "verify") == 0;
        }
        if (!verify) {
            *why = "not a verification key";
            return 1;
        }
    }
    if (alg != NULL) {
        k->alg = json_is_string(alg) ? alg_of(json_string_value(alg)) : -1;
        if (k->alg < 0) {
            *why = "algorithm not supported";
            return 1;
        }
    }
    if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) > MAX_KID ||
                        strlen(json_string_value(kid)) != json_string_length(kid))) {
        *why = "malformed kid";
        return 1;
    }
    int rc;
    if (strcmp(json_string_value(kty), "RSA") == 0) {
        k->kty = KTY_RSA;
        if (k->alg == ALG_ES256) {
            *why = "alg does not match kty";
            return 1;
        }
        rc = rsa_key(jwk, &k->pkey, why);
    } else if (strcmp(json_string_value(kty), "EC") == 0) {
        k->kty = KTY_EC;
        if (k->alg == ALG_RS256) {
            *why = "alg does not match kty";
            return 1;
        }
        rc = ec_key(jwk, &k->pkey, why);
    } else {
        *why = "key type not supported";
        return 1;
    }
    if (rc != 0)
        return rc;
    if (kid != NULL && (k->kid = strdup(json_string_value(kid))) == NULL) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        return BW_ENOMEM;
    }
    return 0;
}

static int parse_jwks(const char *text, size_t len, keyset_t **out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    json_t *keys = json_object_get(doc, "keys");
    keyset_t *ks = NULL;
    const char *first_why = NULL;
    size_t first_skipped = 0, i;
    json_t *jwk;
    int rc = BW_EINVAL;
    if (doc == NULL) {
        snprintf(err, errlen, "malformed JWKS: %s at line %d, column %d", je.text, je.line,
                 je.column);
        goto out;
    }
    if (!json_is_array(keys)) {
        snprintf(err, errlen, "malformed JWKS: expected an object with a \"keys\" array");
        goto out;
    }
    if (json_array_size(keys) > MAX_KEYS) {
        snprintf(err, errlen, "the JWKS holds %zu keys, more than %d", json_array_size(keys),
                 MAX_KEYS);
        goto out;
    }
    rc = BW_ENOMEM;
    ks = calloc(1, sizeof(*ks));
    if (ks == NULL)
        goto out;
    atomic_init(&ks->refs, 1);
    json_array_foreach(keys, i, jwk)
    {
        const char *why = NULL;
        int r = parse_jwk(jwk, &ks->keys[ks->n], &why);
        if (r < 0)
            goto out;
        if (r == 0) {
            ks->n++;
        } else if (first_why == NULL) {
            first_why = why;
            first_skipped = i;
        }
    }
    if (ks->n == 0) {
        if (first_why != NULL)
            snprintf(err, errlen, "the JWKS has no usable RS256 or ES256 key (key %zu: %s)",
                     first_skipped, first_why);
        else
            snprintf(err, errlen, "the JWKS has no keys");
        rc = BW_EINVAL;
        goto out;
    }
    *out = ks;
    ks = NULL;
    rc = 0;
out:
    if (rc == BW_ENOMEM)
        snprintf(err, errlen, "out of memory");
    keyset_free(ks);
    json_decref(doc);
    return rc;
}

/* ---- loading ----------------------------------------------------------- */

static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    char msg[128];
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "could not open JWKS file \"%s\": %s", path,
                 strerror_r(errno, msg, sizeof(msg)));
        return BW_EINVAL;
    }
    int rc = BW_ENOMEM;
    char *buf = malloc(MAX_JWKS_BYTES + 1);
    size_t n = 0;
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    n = fread(buf, 1, MAX_JWKS_BYTES + 1, fp);
    rc = BW_EINVAL;
    if (ferror(fp)) {
        snprintf(err, errlen, "could not read JWKS file \"%s\"", path);
        goto out;
    }
    if (n > MAX_JWKS_BYTES) {
        snprintf(err, errlen, "JWKS file \"%s\" is larger than %d bytes", path, MAX_JWKS_BYTES);
        goto out;
    }
    *text = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(fp);
    return rc;
}

typedef struct fetch_buf {
    char *data;
    size_t len;
    int too_big;
} fetch_buf_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    fetch_buf_t *b = arg;
    size_t n = size * nmemb;
    if (n > MAX_JWKS_BYTES - b->len) {
        b->too_big = 1;
        return 0;
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    return n;
}

static int fetch_url(const bw_jwt_verifier_t *v, char **text, size_t *len, char *err, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    fetch_buf_t b = {NULL, 0, 0};
    long status = 0;
    int rc = BW_ENOMEM;
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return BW_ENOMEM;
    }
    curl_easy_setopt(c, CURLOPT_URL, v->jwks_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* A redirect must not downgrade to plain HTTP. */
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, v->fetch_timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, v->fetch_timeout < 5 ? v->fetch_timeout : 5L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "bulwark-gateway");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (b.too_big) {
        snprintf(err, errlen, "the JWKS is larger than %d bytes", MAX_JWKS_BYTES);
        rc = BW_EINVAL;
    } else if (cc != CURLE_OK) {
        snprintf(err, errlen, "could not fetch the JWKS: %s",
                 curl_err[0] != '\0' ? curl_err : curl_easy_strerror(cc));
        rc = cc == CURLE_WRITE_ERROR ? BW_ENOMEM : BW_EUNAVAIL;
    } else if (status != 200) {
        snprintf(err, errlen, "could not fetch the JWKS: HTTP status %ld", status);
        rc = BW_EUNAVAIL;
    } else {
        *text = b.data;
        *len = b.len;
        b.data = NULL;
        rc = 0;
    }
    free(b.data);
    curl_easy_cleanup(c);
    return rc;
}

static int load_keyset(const bw_jwt_verifier_t *v, keyset_t **out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (v->jwks_file != NULL) {
        rc = read_file(v->jwks_file, &text, &len, err, errlen);
    } else if (v->jwks_url != NULL) {
        rc = fetch_url(v, &text, &len, err, errlen);
    } else {
        len = strlen(v->jwks_json);
        text = malloc(len + 1);
        rc = text != NULL ? 0 : BW_ENOMEM;
        if (text != NULL)
            memcpy(text, v->jwks_json, len + 1);
    }
    if (rc == 0)
        rc = parse_jwks(text != NULL ? text : "", len, out, err, errlen);
    free(text);
    return rc;
}

/* The background reloader: periodically, and when verify asks for it. */
static void *refresh_main(void *arg)
{
    bw_jwt_verifier_t *v = arg;
    pthread_mutex_lock(&v->lock);
    while (!v->stop) {
        long long now = mono_now();
        long long due = v->refresh_sec > 0 ? v->last_load + v->refresh_sec : LLONG_MAX;
        if (!v->wanted && now < due) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            /* Wake at least hourly; the loop re-checks everything anyway. */
            ts.tv_sec += (time_t)(due - now < 3600 ? due - now : 3600);
            pthread_cond_timedwait(&v->wake, &v->lock, &ts);
            continue;
        }
        v->wanted = 0;
        v->last_load = now;
        pthread_mutex_unlock(&v->lock);
        char err[256];
        keyset_t *ks = NULL;
        if (load_keyset(v, &ks, err, sizeof(err)) == 0)
            keyset_swap(v, ks);
        else
            bw_log(BW_LOG_WARN, NULL, "could not reload the OIDC key set, keeping the old one: %s",
                   err);
        pthread_mutex_lock(&v->lock);
    }
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

/* Wakes the reloader for an unknown kid, at most once per min_gap. */
static void request_reload(bw_jwt_verifier_t *v)
{
    if (!v->thread_started || v->min_gap < 0)
        return;
    long long now = mono_now();
    pthread_mutex_lock(&v->lock);
    if (!v->wanted && now - v->last_load >= v->min_gap) {
        v->wanted = 1;
        pthread_cond_signal(&v->wake);
    }
    pthread_mutex_unlock(&v->lock);
}

int bw_jwt_verifier_reload(bw_jwt_verifier_t *v, char *err, size_t errlen)
{
    keyset_t *ks = NULL;
    pthread_mutex_lock(&v->lock);
    v->last_load = mono_now();
    pthread_mutex_unlock(&v->lock);
    int rc = load_keyset(v, &ks, err, errlen);
    if (rc == 0)
        keyset_swap(v, ks);
    return rc;
}

size_t bw_jwt_verifier_key_count(bw_jwt_verifier_t *v)
{
    keyset_t *ks = keyset_acquire(v);
    size_t n = ks->n;
    keyset_release(ks);
    return n;
}

/* ---- creation ---------------------------------------------------------- */

static int dup_setting(const char *value, const char *def, char **out)
{
    if (value == NULL || *value == '\0')
        value = def;
    if (value == NULL) {
        *out = NULL;
        return 0;
    }
    *out = strdup(value);
    return *out != NULL ? 0 : BW_ENOMEM;
}

/* Only https, or http to this machine: a key set fetched in clear text
 * from elsewhere would let anyone on the path mint tokens. */
static int check_url(const char *url, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = BW_EINVAL;
    if (u == NULL) {
        snprintf(err, errlen, "out of memory");
        return BW_ENOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, errlen, "the JWKS URL is malformed");
    } else if (strcasecmp(scheme, "https") == 0 ||
               (strcasecmp(scheme, "http") == 0 &&
                (strcmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
                 strcmp(host, "[::1]") == 0))) {
        rc = 0;
    } else {
        snprintf(err, errlen, "the JWKS URL must use https (http only to a loopback address)");
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static int check_config(const bw_jwt_config_t *cfg, char *err, size_t errlen)
{
    int sources = (cfg->jwks_file != NULL && *cfg->jwks_file != '\0') +
                  (cfg->jwks_url != NULL && *cfg->jwks_url != '\0') +
                  (cfg->jwks_json != NULL && *cfg->jwks_json != '\0');
    if (cfg->issuer == NULL || *cfg->issuer == '\0' || strlen(cfg->issuer) > BW_JWT_MAX_CLAIM)
        snprintf(err, errlen, "the OIDC issuer must be 1 to %d characters", BW_JWT_MAX_CLAIM);
    else if (cfg->audience == NULL || *cfg->audience == '\0')
        snprintf(err, errlen, "the OIDC audience is missing");
    else if (sources != 1)
        snprintf(err, errlen, "give exactly one of a JWKS file, URL or document");
    else if (cfg->leeway_sec < 0 || cfg->leeway_sec > MAX_LEEWAY_SEC)
        snprintf(err, errlen, "the clock leeway must be 0 to %d seconds", MAX_LEEWAY_SEC);
    else if (cfg->refresh_sec < 0)
        snprintf(err, errlen, "the JWKS refresh period must not be negative");
    else if (cfg->jwks_url != NULL && *cfg->jwks_url != '\0' && cfg->fetch_timeout_sec < 1)
        snprintf(err, errlen, "the JWKS fetch timeout must be at least one second");
    else
        return 0;
    return BW_EINVAL;
}

/* The media type of a typ value as compared: lower case, without the
 * "application/" prefix that RFC 7515 allows to omit. 0, or -1 when it does
 * not fit out. */
static int typ_normalise(const char *typ, size_t len, char *out, size_t outlen)
{
    if (len >= 12 && strncasecmp(typ, "application/", 12) == 0) {
        typ += 12;
        len -= 12;
    }
    if (len == 0 || len >= outlen)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)typ[i];
        if (ch <= ' ' || ch >= 0x7f)
            return -1;
        out[i] = (char)tolower(ch);
    }
    out[len] = '\0';
    return 0;
}

/* Fills v's accepted token types from a comma-separated list. */
static int token_types_parse(bw_jwt_verifier_t *v, const char *list, char *err, size_t errlen)
{
    if (list == NULL || list[0] == '\0')
        list = BW_JWT_DEFAULT_TOKEN_TYPES;
    for (const char *p = list; *p != '\0';) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0) {
            if (v->n_token_types == BW_JWT_MAX_TOKEN_TYPES ||
                typ_normalise(p, len, v->token_types[v->n_token_types],
                              sizeof(v->token_types[0])) != 0) {
                snprintf(err, errlen, "the token types must be at most %d media types",
                         BW_JWT_MAX_TOKEN_TYPES);
                return BW_EINVAL;
            }
            v->n_token_types++;
        }
        p += strcspn(p, ",");
    }
    if (v->n_token_types == 0) {
        snprintf(err, errlen, "no token type is accepted");
        return BW_EINVAL;
    }
    return 0;
}

/* Whether the header's typ (NULL when absent) is an accepted token type. */
static int typ_accepted(const bw_jwt_verifier_t *v, json_t *typ)
{
    char want[32];
    if (typ == NULL)
        snprintf(want, sizeof(want), "none");
    else if (!json_is_string(typ) ||
             typ_normalise(json_string_value(typ), json_string_length(typ), want,
                           sizeof(want)) != 0 ||
             strcmp(want, "none") == 0)
        return 0;
    for (size_t i = 0; i < v->n_token_types; i++)
        if (strcmp(v->token_types[i], want) == 0)
            return 1;
    return 0;
}

int bw_jwt_verifier_create(const bw_jwt_config_t *cfg, bw_jwt_verifier_t **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    int rc = check_config(cfg, err, errlen);
    if (rc != 0)
        return rc;
    bw_jwt_verifier_t *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return BW_ENOMEM;
    }
    v->leeway = cfg->leeway_sec;
    v->refresh_sec = cfg->refresh_sec;
    v->min_gap = cfg->refresh_min_gap_sec;
    v->fetch_timeout = cfg->fetch_timeout_sec;
    rc = BW_ENOMEM;
    if (dup_setting(cfg->issuer, NULL, &v->issuer) != 0 ||
        dup_setting(cfg->audience, NULL, &v->audience) != 0 ||
        dup_setting(cfg->jwks_file, NULL, &v->jwks_file) != 0 ||
        dup_setting(cfg->jwks_url, NULL, &v->jwks_url) != 0 ||
        dup_setting(cfg->jwks_json, NULL, &v->jwks_json) != 0 ||
        dup_setting(cfg->tenant_claim, BW_JWT_DEFAULT_TENANT_CLAIM, &v->tenant_claim) != 0 ||
        dup_setting(cfg->roles_claim, BW_JWT_DEFAULT_ROLES_CLAIM, &v->roles_claim) != 0 ||
        dup_setting(cfg->board_member_claim, BW_JWT_DEFAULT_BOARD_MEMBER_CLAIM,
                    &v->board_member_claim) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int sync_rc = pthread_cond_init(&v->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (sync_rc != 0 || pthread_mutex_init(&v->lock, NULL) != 0) {
        if (sync_rc == 0)
            pthread_cond_destroy(&v->wake);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    v->sync_ready = 1;
    rc = token_types_parse(v, cfg->token_types, err, errlen);
    if (rc != 0)
        goto out;
    rc = BW_ENOMEM;
    if (v->jwks_url != NULL) {
        rc = check_url(v->jwks_url, err, errlen);
        if (rc != 0)
            goto out;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "could not initialise libcurl");
            rc = BW_EINTERNAL;
            goto out;
        }
        v->curl_ready = 1;
    }
    rc = load_keyset(v, &v->keys, err, errlen);
    if (rc != 0)
        goto out;
    v->last_load = mono_now();
    if (v->jwks_json == NULL && (v->refresh_sec > 0 || v->min_gap >= 0)) {
        if (pthread_create(&v->thread, NULL, refresh_main, v) != 0) {
            snprintf(err, errlen, "could not start the JWKS refresh thread");
            rc = BW_ENOMEM;
            goto out;
        }
        v->thread_started = 1;
    }
    *out = v;
    v = NULL;
    rc = 0;
out:
    bw_jwt_verifier_destroy(v);
    return rc;
}

void bw_jwt_verifier_destroy(bw_jwt_verifier_t *v)
{
    if (v == NULL)
        return;
    if (v->thread_started) {
        pthread_mutex_lock(&v->lock);
        v->stop = 1;
        pthread_cond_signal(&v->wake);
        pthread_mutex_unlock(&v->lock);
        pthread_join(v->thread, NULL);
    }
    if (v->sync_ready) {
        pthread_mutex_destroy(&v->lock);
        pthread_cond_destroy(&v->wake);
    }
    keyset_release(v->keys);
    if (v->curl_ready)
        curl_global_cleanup();
    free(v->issuer);
    free(v->audience);
    free(v->jwks_file);
    free(v->jwks_url);
    free(v->jwks_json);
    free(v->tenant_claim);
    free(v->roles_claim);
    free(v->board_member_claim);
    free(v);
}

/* ---- verification ------------------------------------------------------ */

/* The key for alg and kid (NULL: none named); NULL with *why otherwise. */
static const jwk_t *select_key(const keyset_t *ks, int alg, const char *kid, const char **why,
                               int *unknown_kid)
{
    int kty = alg == ALG_RS256 ? KTY_RSA : KTY_EC;
    const jwk_t *found = NULL;
    size_t count = 0;
    for (size_t i = 0; i < ks->n; i++) {
        const jwk_t *k = &ks->keys[i];
        if (kid != NULL && (k->kid == NULL || strcmp(k->kid, kid) != 0))
            continue;
        if (kid != NULL)
            *why = "the algorithm does not match the key";
        if (k->kty != kty || (k->alg != ALG_ANY && k->alg != alg))
            continue;
        if (kid != NULL)
            return k;
        found = k;
        count++;
    }
    if (kid != NULL) {
        if (*why == NULL) {
            *why = "unknown key id";
            *unknown_kid = 1;
        }
        return NULL;
    }
    if (count == 1)
        return found;
    *why = count == 0 ? "no key for the token's algorithm" : "the token names no key id";
    return NULL;
}

/* JWS ES256 signatures are r||s; OpenSSL verifies DER. */
static int es256_der(const uint8_t *sig, uint8_t *der, size_t cap, size_t *der_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, P256_COORD, NULL);
    BIGNUM *s = BN_bin2bn(sig + P256_COORD, P256_COORD, NULL);
    int rc = BW_ENOMEM;
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    int n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0 || (size_t)n > cap)
        goto out;
    uint8_t *p = der;
    i2d_ECDSA_SIG(es, &p);
    *der_len = (size_t)n;
    rc = 0;
out:
    ECDSA_SIG_free(es);
    return rc;
}

static int check_signature(const jwk_t *key, int alg, const char *input, size_t input_len,
                           const uint8_t *sig, size_t sig_len)
{
    uint8_t der[ECDSA_DER_MAX];
    if (alg == ALG_ES256) {
        if (sig_len != 2 * P256_COORD)
            return BW_EAUTH;
        int rc = es256_der(sig, der, sizeof(der), &sig_len);
        if (rc != 0)
            return rc;
        sig = der;
    } else if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey)) {
        return BW_EAUTH;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return BW_ENOMEM;
    int ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, key->pkey, NULL) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    /* A failed check leaves errors on this thread's queue. */
    ERR_clear_error();
    return ok ? 0 : BW_EAUTH;
}

/* A claim by its full name, or else by a dotted path into nested objects. */
static json_t *claim_get(json_t *obj, const char *name)
{
    json_t *value = json_object_get(obj, name);
    const char *p = name;
    if (value != NULL || strchr(name, '.') == NULL)
        return value;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(obj))
            return NULL;
        obj = json_object_getn(obj, p, n);
        if (dot == NULL || obj == NULL)
            return obj;
        p = dot + 1;
    }
}

/* A NumericDate claim: 0 absent, 1 present in *out, -1 malformed. */
static int numeric_date(json_t *payload, const char *name, long long *out)
{
    json_t *value = json_object_get(payload, name);
    if (value == NULL)
        return 0;
    if (json_is_integer(value)) {
        *out = json_integer_value(value);
        return 1;
    }
    if (json_is_real(value)) {
        double d = json_real_value(value);
        /* Anything beyond +-2^62 is not a date, and would not convert. */
        if (!(d > -4.6e18 && d < 4.6e18))
            return -1;
        *out = (long long)d;
        return 1;
    }
    return -1;
}

static int audience_ok(json_t *aud, const char *audience)
{
    size_t i;
    json_t *one;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), audience) == 0;
    json_array_foreach(aud, i, one)
    {
        if (json_is_string(one) && strcmp(json_string_value(one), audience) == 0)
            return 1;
    }
    return 0;
}

static unsigned role_bit(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strlen(roles[i].name) == n && memcmp(roles[i].name, name, n) == 0)
            return roles[i].bit;
    return 0;
}

/* The role bits of a roles claim; -1 when it is neither a string nor an
 * array of strings. Unknown role names grant nothing. */
static int parse_roles(json_t *claim, unsigned *mask)
{
    *mask = 0;
    if (json_is_string(claim)) {
        const char *s = json_string_value(claim);
        size_t n = json_string_length(claim), i = 0;
        while (i < n) {
            size_t start = i;
            while (i < n && s[i] != ' ')
                i++;
            *mask |= role_bit(s + start, i - start);
            i++;
        }
        return 0;
    }
    if (!json_is_array(claim))
        return -1;
    size_t i;
    json_t *one;
    json_array_foreach(claim, i, one)
    {
        if (!json_is_string(one))
            return -1;
        *mask |= role_bit(json_string_value(one), json_string_length(one));
    }
    return 0;
}

static void role_names(unsigned mask, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if ((mask & roles[i].bit) == 0)
            continue;
        int n = snprintf(buf + o, len - o, "%s%s", o ? "," : "", roles[i].name);
        if (n < 0 || (size_t)n >= len - o)
            break;
        o += (size_t)n;
    }
}

/* A UUID claim copied in lower case; 0 or -1. */
static int uuid_claim(json_t *claim, char out[BW_UUID_STR_LEN + 1])
{
    if (!json_is_string(claim) || !bw_uuid_valid(json_string_value(claim)))
        return -1;
    const char *s = json_string_value(claim);
    for (size_t i = 0; i <= BW_UUID_STR_LEN; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    return 0;
}

static int printable_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static const char *check_claims(const bw_jwt_verifier_t *v, json_t *payload, long long now,
                                bw_jwt_claims_t *c)
{
    json_t *iss = json_object_get(payload, "iss");
    json_t *aud = json_object_get(payload, "aud");
    json_t *sub = json_object_get(payload, "sub");
    long long exp = 0, nbf = 0, iat = 0;
    int has_exp, has_nbf, has_iat;

    if (!json_is_string(iss) || strcmp(json_string_value(iss), v->issuer) != 0)
        return "wrong issuer";
    if (aud == NULL)
        return "the token has no audience";
    if (!json_is_string(aud) && !json_is_array(aud))
        return "malformed aud claim";
    if (!audience_ok(aud, v->audience))
        return "wrong audience";
    has_exp = numeric_date(payload, "exp", &exp);
    has_nbf = numeric_date(payload, "nbf", &nbf);
    has_iat = numeric_date(payload, "iat", &iat);
    if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
        return "malformed time claim";
    if (has_exp == 0)
        return "the token has no expiry";
    /* Arithmetic on now only: claims may be anywhere in range. */
    if (exp <= now - v->leeway)
        return "token expired";
    if (has_nbf && nbf > now + v->leeway)
        return "token not yet valid";
    if (has_iat && iat > now + v->leeway)
        return "token issued in the future";
    if (!json_is_string(sub) || json_string_length(sub) == 0 ||
        json_string_length(sub) > BW_JWT_MAX_CLAIM ||
        !printable_ascii(json_string_value(sub), json_string_length(sub)))
        return "missing or malformed sub claim";
    snprintf(c->principal, sizeof(c->principal), "jwt:%s:%s", v->issuer, json_string_value(sub));

    json_t *tenant = claim_get(payload, v->tenant_claim);
    if (tenant == NULL)
        return "the token names no tenant";
    if (uuid_claim(tenant, c->tenant_id) != 0)
        return "malformed tenant claim";
    if (strcmp(c->tenant_id, "00000000-0000-0000-0000-000000000000") == 0)
        return "the tenant claim names no tenant";

    json_t *granted = claim_get(payload, v->roles_claim);
    if (granted == NULL)
        return "the token grants no role";
    if (parse_roles(granted, &c->roles) != 0)
        return "malformed roles claim";
    if (c->roles == 0)
        return "the token grants no role";
    role_names(c->roles, c->role_names, sizeof(c->role_names));

    json_t *member = claim_get(payload, v->board_member_claim);
    if (member != NULL && !json_is_null(member) && uuid_claim(member, c->board_member) != 0)
        return "malformed board member claim";
    c->expires_at = exp;
    return NULL;
}

int bw_jwt_verify(bw_jwt_verifier_t *v, const char *token, long long now, bw_jwt_claims_t *claims,
                  const char **reason)
{
    uint8_t buf[DECODED_MAX];
    const char *why = "malformed token";
    json_t *header = NULL, *payload = NULL;
    keyset_t *ks = NULL;
    int rc = BW_EAUTH;
    memset(claims, 0, sizeof(*claims));

    size_t len = strnlen(token, BW_JWT_MAX_TOKEN + 1);
    if (len > BW_JWT_MAX_TOKEN) {
        why = "token too large";
        goto out;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 =
        dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
        goto out;
    size_t hl, pl, sl;
    uint8_t *hbuf = buf;
    if (bw_base64url_decode(token, (size_t)(dot1 - token), hbuf, sizeof(buf), &hl) != 0 || hl == 0)
        goto out;
    uint8_t *pbuf = hbuf + hl;
    if (bw_base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), pbuf, sizeof(buf) - hl, &pl) != 0 ||
        pl == 0)
        goto out;
    uint8_t *sbuf = pbuf + pl;
    if (bw_base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sbuf, sizeof(buf) - hl - pl,
                      &sl) != 0 ||
        sl == 0)
        goto out;

    why = "malformed token header";
    header = json_loadb((const char *)hbuf, hl, JSON_REJECT_DUPLICATES, NULL);
    json_t *alg_name = json_object_get(header, "alg");
    json_t *kid = json_object_get(header, "kid");
    if (!json_is_object(header) || !json_is_string(alg_name) ||
        (kid != NULL && !json_is_string(kid)))
        goto out;
    int alg = alg_of(json_string_value(alg_name));
    if (alg < 0) {
        why = "unsupported algorithm";
        goto out;
    }
    /* No extension is understood, so none that must be may be present. */
    if (json_object_get(header, "crit") != NULL) {
        why = "unsupported critical header";
        goto out;
    }
    if (!typ_accepted(v, json_object_get(header, "typ"))) {
        why = "not an access token (typ)";
        goto out;
    }
    why = NULL;
    int unknown_kid = 0;
    ks = keyset_acquire(v);
    const jwk_t *key =
        select_key(ks, alg, kid != NULL ? json_string_value(kid) : NULL, &why, &unknown_kid);
    if (key == NULL) {
        if (unknown_kid)
            request_reload(v);
        goto out;
    }
    rc = check_signature(key, alg, token, (size_t)(dot2 - token), sbuf, sl);
    if (rc != 0) {
        why = rc == BW_EAUTH ? "bad signature" : "out of memory";
        goto out;
    }
    rc = BW_EAUTH;
    why = "malformed token payload";
    payload = json_loadb((const char *)pbuf, pl, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(payload))
        goto out;
    why = check_claims(v, payload, now, claims);
    if (why == NULL)
        rc = 0;
out:
    if (rc != 0)
        memset(claims, 0, sizeof(*claims));
    if (reason != NULL)
        *reason = rc == 0 ? NULL : why;
    json_decref(header);
    json_decref(payload);
    keyset_release(ks);
    return rc;
}
