/*
 * AES-256-GCM sealing of secrets at rest; see seal.h. The additional
 * authenticated data is the header (version and key id) followed by the
 * caller's context, so neither can be changed without the tag failing.
 */
#include "seal.h"

#include "base64.h"
#include "ids.h"
#include "status.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define SEAL_VERSION 1
#define SEAL_HEADER 5 /* version and key id */
#define SEAL_NONCE 12
#define SEAL_TAG 16

/* A value of the standard base64 alphabet, or -1. */
static int b64_value(unsigned char c)
{
    return bw_base64_digit(c, '+', '/');
}

/* Decodes exactly 32 bytes of base64 (43 characters, or 44 ending in one
 * '='); the unused low bits of the last character must be zero. */
static int parse_base64_key(const char *text, size_t n, uint8_t out[BW_SEAL_KEY_LEN])
{
    if (n == 44 && text[43] == '=')
        n = 43;
    if (n != 43)
        return BW_EINVAL;
    size_t o;
    unsigned spare;
    /* 43 characters carry 258 bits: two are left over and must be zero. */
    if (bw_base64_decode(text, n, b64_value, out, BW_SEAL_KEY_LEN, &o, &spare) != 0)
        return BW_EINVAL;
    return o == BW_SEAL_KEY_LEN && spare == 0 ? 0 : BW_EINVAL;
}

int bw_seal_key_parse(const char *text, bw_seal_key_t *out)
{
    size_t n = text != NULL ? strlen(text) : 0;
    int err = BW_EINVAL;
    if (n == 2 * BW_SEAL_KEY_LEN) {
        err = 0;
        for (size_t i = 0; i < BW_SEAL_KEY_LEN && err == 0; i++) {
            int hi = bw_hex_digit((unsigned char)text[2 * i]);
            int lo = bw_hex_digit((unsigned char)text[2 * i + 1]);
            if (hi < 0 || lo < 0)
                err = BW_EINVAL;
            else
                out->bytes[i] = (uint8_t)(hi << 4 | lo);
        }
    } else if (n > 0) {
        err = parse_base64_key(text, n, out->bytes);
    }
    if (err != 0) {
        OPENSSL_cleanse(out->bytes, sizeof(out->bytes));
        return err;
    }
    /* The id names the key without revealing it: a domain-separated hash. */
    static const char label[] = "bulwark seal key id\n";
    uint8_t buf[sizeof(label) - 1 + BW_SEAL_KEY_LEN], digest[BW_SHA256_LEN];
    memcpy(buf, label, sizeof(label) - 1);
    memcpy(buf + sizeof(label) - 1, out->bytes, BW_SEAL_KEY_LEN);
    bw_sha256(buf, sizeof(buf), digest);
    memcpy(out->id, digest, sizeof(out->id));
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

/* OpenSSL 3 fetches EVP_aes_256_gcm()'s implementation again at every
 * init: it is fetched once. */
static EVP_CIPHER *aes_gcm;
static pthread_once_t aes_gcm_once = PTHREAD_ONCE_INIT;

static void aes_gcm_fetch(void)
{
    aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* Runs GCM in either direction over [in, in+len) into out; the header and
 * the context are the additional data. On encryption tag is written, on
 * decryption it is checked. */
static int gcm(int encrypt, const bw_seal_key_t *key, const uint8_t header[SEAL_HEADER],
               const char *context, const uint8_t nonce[SEAL_NONCE], const uint8_t *in, size_t len,
               uint8_t *out, uint8_t tag[SEAL_TAG])
{
    pthread_once(&aes_gcm_once, aes_gcm_fetch);
    EVP_CIPHER_CTX *ctx = aes_gcm != NULL ? EVP_CIPHER_CTX_new() : NULL;
    int n = 0, produced = 0, ok = ctx != NULL;
    ok = ok && EVP_CipherInit_ex(ctx, aes_gcm, NULL, NULL, NULL, encrypt) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key->bytes, nonce, encrypt) == 1;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &n, header, SEAL_HEADER) == 1;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)context, (int)strlen(context)) == 1;
    if (ok && len > 0)
        ok = EVP_CipherUpdate(ctx, out, &produced, in, (int)len) == 1;
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) == 1;
    /* GCM writes nothing more here; it computes or checks the tag. */
    int final_ok = ok && EVP_CipherFinal_ex(ctx, out + produced, &n) == 1;
    if (final_ok && encrypt)
        final_ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return BW_EINTERNAL;
    /* A failed final step on decryption is a tag mismatch. */
    return final_ok ? 0 : encrypt ? BW_EINTERNAL : BW_EINVAL;
}

int bw_seal(const bw_seal_key_t *key, const char *context, const uint8_t *plain, size_t len,
            uint8_t *out, size_t *out_len)
{
    if (len > BW_SEAL_MAX_PLAINTEXT)
        return BW_EINVAL;
    out[0] = SEAL_VERSION;
    memcpy(out + 1, key->id, 4);
    uint8_t *nonce = out + SEAL_HEADER;
    /* Random 96-bit nonces: far fewer than 2^32 values are ever sealed
     * under one key, which keeps a repeat out of reach. */
    int err = bw_random_bytes(nonce, SEAL_NONCE);
    if (err != 0)
        return err;
    uint8_t *ct = nonce + SEAL_NONCE;
    err = gcm(1, key, out, context, nonce, plain, len, ct, ct + len);
    if (err != 0)
        return err;
    *out_len = len + BW_SEAL_OVERHEAD;
    return 0;
}

int bw_unseal(const bw_seal_key_t *key, const char *context, const uint8_t *sealed, size_t len,
              uint8_t *out, size_t cap, size_t *out_len)
{
    if (len < BW_SEAL_OVERHEAD || sealed[0] != SEAL_VERSION)
        return BW_EINVAL;
    if (CRYPTO_memcmp(sealed + 1, key->id, 4) != 0)
        return BW_EPERM;
    size_t n = len - BW_SEAL_OVERHEAD;
    if (n > cap)
        return BW_ETOOBIG;
    const uint8_t *nonce = sealed + SEAL_HEADER;
    uint8_t tag[SEAL_TAG];
    memcpy(tag, sealed + len - SEAL_TAG, SEAL_TAG);
    int err = gcm(0, key, sealed, context, nonce, nonce + SEAL_NONCE, n, out, tag);
    if (err != 0) {
        OPENSSL_cleanse(out, n);
        return err;
    }
    *out_len = n;
    return 0;
}

int bw_unseal_ring(const bw_seal_keyring_t *ring, const char *context, const uint8_t *sealed,
                   size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    const bw_seal_key_t *key = &ring->current;
    if (ring->has_previous && len >= SEAL_HEADER &&
        CRYPTO_memcmp(sealed + 1, ring->current.id, 4) != 0 &&
        CRYPTO_memcmp(sealed + 1, ring->previous.id, 4) == 0)
        key = &ring->previous;
    return bw_unseal(key, context, sealed, len, out, cap, out_len);
}
