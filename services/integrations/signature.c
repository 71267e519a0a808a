/*
 * Standard Webhooks signing; see signature.h.
 */
#include "signature.h"

#include "ids.h"
#include "status.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

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

void bw_webhook_sign(const uint8_t *key, size_t key_len, const char *id, long long timestamp,
                     const char *body, size_t body_len, char out[BW_WEBHOOK_SIGNATURE_LEN])
{
    char ts[24];
    int ts_len = snprintf(ts, sizeof(ts), "%lld", timestamp);
    uint8_t mac[BW_SHA256_LEN];
    /* One pass over the three parts: the body is never copied. */
    const bw_mac_part_t parts[] = {
        {id, strlen(id)}, {".", 1}, {ts, (size_t)ts_len}, {".", 1}, {body, body_len}};
    int err = bw_hmac_sha256(key, key_len, parts, 5, mac);
    memcpy(out, "v1,", 3);
    if (err != 0) {
        /* Never a signature that could verify: an empty one. */
        out[3] = '\0';
        return;
    }
    EVP_EncodeBlock((unsigned char *)out + 3, mac, 32);
}

int bw_hub_signature_valid(const char *secret, const uint8_t *body, size_t body_len,
                           const char *header)
{
    uint8_t mac[BW_SHA256_LEN];
    char expected[65], given[65];
    if (header == NULL || strncasecmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        given[i] = (char)tolower((unsigned char)header[7 + i]);
    given[64] = '\0';
    const bw_mac_part_t part = {body, body_len};
    if (bw_hmac_sha256(secret, strlen(secret), &part, 1, mac) != 0)
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
