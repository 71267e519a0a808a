/*
 * Standard Webhooks signing (https://www.standardwebhooks.com/, version
 * 1.0.0): the signing secret, the signature header and the body of a
 * delivery.
 *
 *   secret     "whsec_" + base64 of the key (32 random bytes)
 *   signed     "<webhook-id>.<webhook-timestamp>.<body>"
 *   signature  "v1," + base64 of HMAC-SHA256(key, signed); during a secret
 *              rotation one such signature per valid secret, separated by
 *              a space
 *   body       {"type":"<event type>","timestamp":"<when it happened>",
 *               "data":<the resource as the API returns it>}
 *
 * The body is built once from what the outbox stored, so every attempt of
 * a delivery sends the same bytes; only webhook-timestamp changes.
 */
#ifndef BW_SIGNATURE_H
#define BW_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define BW_WEBHOOK_KEY_LEN 32
/* "whsec_" + 44 base64 characters + NUL. */
#define BW_WEBHOOK_SECRET_TEXT 51
/* "v1," + 44 base64 characters + NUL. */
#define BW_WEBHOOK_SIGNATURE_LEN 48

/* A new random key and its text form. */
int bw_webhook_secret_new(uint8_t key[BW_WEBHOOK_KEY_LEN], char text[BW_WEBHOOK_SECRET_TEXT]);
/* The text form of a key. */
void bw_webhook_secret_text(const uint8_t key[BW_WEBHOOK_KEY_LEN],
                            char text[BW_WEBHOOK_SECRET_TEXT]);

/* "v1,<base64>" for one key (of any length) over id.timestamp.body. */
void bw_webhook_sign(const uint8_t *key, size_t key_len, const char *id, long long timestamp,
                     const char *body, size_t body_len, char out[BW_WEBHOOK_SIGNATURE_LEN]);

/* Whether header (X-Hub-Signature, as Jira and GitHub send it) is
 * "sha256=" and the hex HMAC-SHA256 of body keyed with the bytes of secret;
 * hex digits in either case, compared in constant time. 1 or 0. */
int bw_hub_signature_valid(const char *secret, const uint8_t *body, size_t body_len,
                           const char *header);

/* The delivery body on arena, or NULL (OOM, or a type or timestamp with
 * characters that would need escaping, which the outbox never stores).
 * data is JSON text, embedded as it is. */
char *bw_webhook_body(bw_arena_t *arena, const char *type, const char *timestamp, const char *data);

#endif
