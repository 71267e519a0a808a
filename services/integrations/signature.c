/*
 * Standard Webhooks signing; see signature.h.
 */
#include "signature.h"

#include "ids.h"
#include "status.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

int bw_webhook_secret_new(uint8_t key[BW_WEBHOOK_KEY_LEN], char text[BW_WEBHOOK_SECRET_TEXT])
{
    int err = bw_random_bytes(key, BW_WEBHOOK_KEY_LEN);
    if (err == 0)
        bw_webhook_secret_text(key, text);
    return err;
}

void bw_webhook_secret_text(const uint8_t key[BW_WEBHOOK_KEY_LEN],
                            char text[BW_WEBHOOK_SECRET_TEXT])
{
    memcpy(text, "whsec_", 6);
    /* Standard base64 with padding: 32 bytes are 44 characters. */
    EVP_EncodeBlock((unsigned char *)text + 6, key, BW_WEBHOOK_KEY_LEN);
}

/* OpenSSL 3 looks an algorithm up on every fetch, and HMAC's "digest"
 * parameter fetches SHA-256 again at every init: a context with its digest
 * set is made once, and each signature starts from a copy of it. */
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

/* A context for HMAC-SHA256 under key (caller frees), NULL on failure. */
static EVP_MAC_CTX *hmac_start(const uint8_t *key, size_t key_len)
{
    pthread_once(&hmac_once, hmac_fetch);
    EVP_MAC_CTX *ctx = hmac_sha256 != NULL ? EVP_MAC_CTX_dup(hmac_sha256) : NULL;
    if (ctx != NULL && EVP_MAC_init(ctx, key, key_len, NULL) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

void bw_webhook_sign(const uint8_t *key, size_t key_len, const char *id, long long timestamp,
                     const char *body, size_t body_len, char out[BW_WEBHOOK_SIGNATURE_LEN])
{
    char ts[24];
    int ts_len = snprintf(ts, sizeof(ts), "%lld", timestamp);
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    EVP_MAC_CTX *ctx = hmac_start(key, key_len);
    /* One pass over the three parts: the body is never copied. */
    int ok = ctx != NULL && EVP_MAC_update(ctx, (const uint8_t *)id, strlen(id)) == 1 &&
             EVP_MAC_update(ctx, (const uint8_t *)".", 1) == 1 &&
             EVP_MAC_update(ctx, (const uint8_t *)ts, (size_t)ts_len) == 1 &&
             EVP_MAC_update(ctx, (const uint8_t *)".", 1) == 1 &&
             EVP_MAC_update(ctx, (const uint8_t *)body, body_len) == 1 &&
             EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1;
    EVP_MAC_CTX_free(ctx);
    memcpy(out, "v1,", 3);
    if (!ok || mac_len != 32) {
        /* Never a signature that could verify: an empty one. */
        out[3] = '\0';
        return;
    }
    EVP_EncodeBlock((unsigned char *)out + 3, mac, 32);
}

int bw_hub_signature_valid(const char *secret, const uint8_t *body, size_t body_len,
                           const char *header)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    char expected[65], given[65];
    if (header == NULL || strncasecmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        given[i] = (char)tolower((unsigned char)header[7 + i]);
    given[64] = '\0';
    EVP_MAC_CTX *ctx = hmac_start((const uint8_t *)secret, strlen(secret));
    int ok = ctx != NULL && EVP_MAC_update(ctx, body, body_len) == 1 &&
             EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1 && mac_len == 32;
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        return 0;
    bw_hex(mac, 32, expected);
    return bw_ct_equal(expected, given, 64);
}

/* Whether s can stand in a JSON string without escaping. */
static int plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

char *bw_webhook_body(bw_arena_t *arena, const char *type, const char *timestamp, const char *data)
{
    if (!plain(type) || !plain(timestamp))
        return NULL;
    return bw_arena_printf(arena, "{\"type\":\"%s\",\"timestamp\":\"%s\",\"data\":%s}", type,
                           timestamp, data);
}
