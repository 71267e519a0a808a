/*
 * Ed25519 through OpenSSL 3's EVP interface; see keys.h. Every failure path
 * clears OpenSSL's per-thread error queue, so that a later, unrelated call
 * on the same worker thread does not read a stale error.
 */
#include "keys.h"

#include "ids.h"
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct bw_key {
    EVP_PKEY *pkey;
    int can_sign;
    uint8_t raw[BW_KEYS_RAW_LEN];
    char id[BW_KEYS_ID_LEN + 1];
};

void bw_keys_id_of(const uint8_t raw[BW_KEYS_RAW_LEN], char out[BW_KEYS_ID_LEN + 1])
{
    uint8_t digest[BW_SHA256_LEN];
    char hex[2 * BW_SHA256_LEN + 1];
    bw_sha256(raw, BW_KEYS_RAW_LEN, digest);
    bw_hex(digest, BW_SHA256_LEN, hex);
    memcpy(out, hex, BW_KEYS_ID_LEN);
    out[BW_KEYS_ID_LEN] = '\0';
}

/* Takes ownership of pkey: on failure it is freed. */
static int wrap(EVP_PKEY *pkey, int can_sign, bw_key_t **out)
{
    *out = NULL;
    if (pkey == NULL) {
        ERR_clear_error();
        return BW_EINVAL;
    }
    size_t len = BW_KEYS_RAW_LEN;
    bw_key_t *key = calloc(1, sizeof(*key));
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return BW_ENOMEM;
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(pkey, key->raw, &len) != 1 || len != BW_KEYS_RAW_LEN) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        free(key);
        return BW_EINVAL;
    }
    key->pkey = pkey;
    key->can_sign = can_sign;
    bw_keys_id_of(key->raw, key->id);
    *out = key;
    return 0;
}

int bw_keys_load_private(const char *path, bw_key_t **out, char *err, size_t errlen)
{
    *out = NULL;
    /* The mode is that of the file actually read (fstat after open), so a
     * file swapped in between cannot slip past the check. */
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "could not open signing key file \"%s\": %s", path, strerror(errno));
        return BW_EINVAL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        snprintf(err, errlen, "signing key file \"%s\" is not a regular file", path);
        return BW_EINVAL;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        fclose(f);
        snprintf(err, errlen,
                 "signing key file \"%s\" is accessible to its group or to others (mode %03o); "
                 "a key others can read signs in anyone's name: make it private to the "
                 "service's user (chmod 600 \"%s\")",
                 path, (unsigned)(st.st_mode & 0777), path);
        return BW_EINVAL;
    }
    BIO *bio = BIO_new_fp(f, BIO_CLOSE);
    if (bio == NULL) {
        ERR_clear_error();
        fclose(f);
        return BW_ENOMEM;
    }
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey == NULL) {
        ERR_clear_error();
        snprintf(err, errlen, "signing key file \"%s\" holds no PEM private key", path);
        return BW_EINVAL;
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "signing key in \"%s\" is not an Ed25519 key", path);
        return BW_EINVAL;
    }
    int rc = wrap(pkey, 1, out);
    if (rc != 0)
        snprintf(err, errlen, "could not use the signing key in \"%s\"", path);
    return rc;
}

int bw_keys_from_seed(const uint8_t seed[BW_KEYS_RAW_LEN], bw_key_t **out)
{
    return wrap(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, BW_KEYS_RAW_LEN), 1,
                out);
}

int bw_keys_from_public(const uint8_t *raw, size_t len, bw_key_t **out)
{
    *out = NULL;
    if (raw == NULL || len != BW_KEYS_RAW_LEN)
        return BW_EINVAL;
    return wrap(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len), 0, out);
}

void bw_keys_free(bw_key_t *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

const char *bw_keys_id(const bw_key_t *key)
{
    return key->id;
}

const uint8_t *bw_keys_public(const bw_key_t *key)
{
    return key->raw;
}

int bw_keys_can_sign(const bw_key_t *key)
{
    return key->can_sign;
}

int bw_keys_public_pem(const bw_key_t *key, bw_arena_t *arena, char **out)
{
    *out = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return BW_ENOMEM;
    int rc = BW_EINTERNAL;
    char *data = NULL;
    if (PEM_write_bio_PUBKEY(bio, key->pkey) == 1) {
        long len = BIO_get_mem_data(bio, &data);
        if (len > 0) {
            *out = bw_arena_strndup(arena, data, (size_t)len);
            rc = *out != NULL ? 0 : BW_ENOMEM;
        }
    }
    ERR_clear_error();
    BIO_free(bio);
    return rc;
}

int bw_keys_sign(const bw_key_t *key, const void *msg, size_t len, uint8_t sig[BW_KEYS_SIG_LEN])
{
    if (!key->can_sign)
        return BW_EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return BW_ENOMEM;
    size_t sig_len = BW_KEYS_SIG_LEN;
    int rc = 0;
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &sig_len, msg, len) != 1 || sig_len != BW_KEYS_SIG_LEN) {
        ERR_clear_error();
        rc = BW_EINTERNAL;
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

int bw_keys_verify(const bw_key_t *key, const void *msg, size_t len, const uint8_t *sig,
                   size_t sig_len)
{
    if (sig == NULL || sig_len != BW_KEYS_SIG_LEN)
        return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return 0;
    int ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    return ok;
}
