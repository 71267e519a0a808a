/*
 * Ids, secrets and page tokens: secrets from OpenSSL's CSPRNG, the random
 * bits of ids from the kernel's through random.c; SHA-256 and HMAC.
 */
#include "ids.h"

#include "base64.h"
#include "random.h"
#include "status.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static const char *page_secret = "";

int bw_random_bytes(uint8_t *buf, size_t n)
{
    return RAND_bytes(buf, (int)n) == 1 ? 0 : BW_EINTERNAL;
}

/* The last (milliseconds << 12 | counter) handed out: ids of one process
 * are strictly increasing even within a millisecond (RFC 9562 section
 * 6.2, method 1, with the 12 bits of rand_a as the counter). */
static _Atomic uint64_t uuid_last;

/* The 48-bit millisecond time and 12 bits of sub-millisecond counter of a
 * UUIDv7, strictly increasing across the process. */
static uint64_t uuid_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) << 12;
    uint64_t last = atomic_load(&uuid_last), next;
    do
        next = now > last ? now : last + 1;
    while (!atomic_compare_exchange_weak(&uuid_last, &last, next));
    return next;
}

/* Writes the UUIDv7 of clock and 8 random bytes (b[8..15]) as text. */
static void uuid_format(uint64_t clock, uint8_t b[16], char out[BW_UUID_STR_LEN + 1])
{
    uint64_t ms = clock >> 12;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (8 * (5 - i)));
    b[6] = (uint8_t)(0x70 | ((clock >> 8) & 0x0f));
    b[7] = (uint8_t)(clock & 0xff);
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

int bw_uuid_v7(char out[BW_UUID_STR_LEN + 1])
{
    uint8_t b[16];
    uint64_t clock = uuid_clock();
    if (bw_random_pooled(b + 8, 8) != 0)
        return BW_EINTERNAL;
    uuid_format(clock, b, out);
    return 0;
}

int bw_uuid_valid(const char *s)
{
    for (int i = 0; i < BW_UUID_STR_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[BW_UUID_STR_LEN] == '\0';
}

int bw_random_token(char *out, size_t outlen, size_t n_bytes)
{
    uint8_t buf[64];
    if (n_bytes > sizeof(buf) || outlen < (n_bytes * 4 + 2) / 3 + 1)
        return BW_EINVAL;
    if (bw_random_bytes(buf, n_bytes) != 0)
        return BW_EINTERNAL;
    bw_base64url_encode(buf, n_bytes, out);
    return 0;
}

/* OpenSSL 3 looks an algorithm up on every use of EVP_sha256(); fetching it
 * once saves that search on the request path. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void bw_sha256(const void *data, size_t len, uint8_t out[BW_SHA256_LEN])
{
    unsigned int n = BW_SHA256_LEN;
    pthread_once(&sha256_once, sha256_fetch);
    EVP_Digest(data, len, out, &n, sha256_md != NULL ? sha256_md : EVP_sha256(), NULL);
}

/* OpenSSL 3 looks an algorithm up at every fetch, and its one-shot HMAC()
 * fetches HMAC and SHA-256 and makes and frees a context at every call (5 %
 * of the incidents service's samples on a page of deadlines, for the page
 * token): a context with its digest set is made once, and each MAC starts
 * from a copy of it. */
static EVP_MAC_CTX *hmac_sha256;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) == 1)
        hmac_sha256 = ctx;
    else
        EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac); /* the context holds its own reference */
}

int bw_hmac_sha256(const void *key, size_t key_len, const bw_mac_part_t *parts, size_t n,
                   uint8_t mac[BW_SHA256_LEN])
{
    pthread_once(&hmac_once, hmac_fetch);
    EVP_MAC_CTX *ctx = hmac_sha256 != NULL ? EVP_MAC_CTX_dup(hmac_sha256) : NULL;
    int ok = ctx != NULL && EVP_MAC_init(ctx, key, key_len, NULL) == 1;
    for (size_t i = 0; i < n && ok; i++)
        ok = EVP_MAC_update(ctx, parts[i].data, parts[i].len) == 1;
    size_t len = 0;
    ok = ok && EVP_MAC_final(ctx, mac, &len, BW_SHA256_LEN) == 1 && len == BW_SHA256_LEN;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : BW_EINTERNAL;
}

int bw_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int bw_ct_streq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

void bw_etag(const char *id, long long revision, char out[17])
{
    char buf[128];
    uint8_t digest[BW_SHA256_LEN];
    int n = snprintf(buf, sizeof(buf), "%s/%lld", id, revision);
    bw_sha256(buf, (size_t)n, digest);
    bw_hex(digest, 8, out);
}

void bw_page_token_set_secret(const char *secret)
{
    page_secret = secret;
}

#define PT_MAC_LEN 16

static int page_mac(const char *scope, const char *key, uint8_t mac[32])
{
    size_t ls = strlen(scope), lk = strlen(key);
    if (ls > BW_PAGE_SCOPE_MAX || lk > BW_PAGE_KEY_MAX || page_secret == NULL)
        return BW_EINVAL;
    /* The scope and key are joined with a NUL so "a"+"bc" differs from "ab"+"c". */
    const bw_mac_part_t parts[] = {{scope, ls}, {"", 1}, {key, lk}};
    return bw_hmac_sha256(page_secret, strlen(page_secret), parts, 3, mac);
}

int bw_page_token_encode(const char *scope, const char *key, char *out, size_t outlen)
{
    size_t lk = strlen(key);
    uint8_t raw[PT_MAC_LEN + BW_PAGE_KEY_MAX], mac[32];
    if (lk > BW_PAGE_KEY_MAX || outlen < BW_PAGE_TOKEN_MAX || page_mac(scope, key, mac) != 0)
        return BW_EINVAL;
    memcpy(raw, mac, PT_MAC_LEN);
    memcpy(raw + PT_MAC_LEN, key, lk);
    bw_base64url_encode(raw, PT_MAC_LEN + lk, out);
    return 0;
}

int bw_page_token_decode(const char *scope, const char *token, char *key, size_t keylen)
{
    uint8_t raw[PT_MAC_LEN + BW_PAGE_KEY_MAX], mac[32];
    size_t lt = strlen(token), n = 0;
    if (lt >= BW_PAGE_TOKEN_MAX)
        return BW_EINVAL;
    if (bw_base64url_decode(token, lt, raw, sizeof(raw), &n) != 0 || n <= PT_MAC_LEN ||
        n - PT_MAC_LEN >= keylen)
        return BW_EINVAL;
    memcpy(key, raw + PT_MAC_LEN, n - PT_MAC_LEN);
    key[n - PT_MAC_LEN] = '\0';
    if (strlen(key) != n - PT_MAC_LEN)
        return BW_EINVAL;
    if (page_mac(scope, key, mac) != 0 || !bw_ct_equal(mac, raw, PT_MAC_LEN))
        return BW_EINVAL;
    return 0;
}

unsigned bw_fnv1a(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}
