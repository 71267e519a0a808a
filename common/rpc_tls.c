/*
 * Mutual TLS for every internal gRPC channel; see rpc.h. The files are
 * checked once with OpenSSL at start-up, so that a wrong path, a key that
 * does not match its certificate or a certificate from another CA stops the
 * process with a clear message instead of failing every handshake later.
 * gRPC's file-watcher certificate provider then reads them and re-reads them
 * every refresh_sec seconds: a rotated certificate serves the next
 * handshake, and connections already open (with their calls) carry on.
 */
#include "rpc_internal.h"
#include "status.h"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define TLS_IDENTITY_MAX 64

struct bw_rpc_tls {
    grpc_tls_certificate_provider *provider;
    /* A channel that never connects, made at once so that the provider's
     * certificates reach its distributor before any real channel: a channel
     * made on another thread at the same time as the first one could
     * otherwise find no certificate yet, fail its handshake and back off. */
    grpc_channel *primer;
    char identity[TLS_IDENTITY_MAX + 1];
};

static int tls_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int tls_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err != NULL && errlen > 0)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return BW_EINVAL;
}

/* Reads every certificate of a PEM file into a new stack (caller owns). */
static STACK_OF(X509) * read_certs(const char *path)
{
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL)
        return NULL;
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *x;
    while (certs != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        if (sk_X509_push(certs, x) == 0)
            X509_free(x);
    BIO_free(bio);
    ERR_clear_error(); /* the end of the file reads as an error */
    if (certs != NULL && sk_X509_num(certs) == 0) {
        sk_X509_free(certs);
        certs = NULL;
    }
    return certs;
}

/* Checks that the three files belong together and copies the certificate's
 * common name into identity. */
static int tls_check_files(const char *ca_file, const char *cert_file, const char *key_file,
                           char *identity, char *err, size_t errlen)
{
    STACK_OF(X509) *ca = NULL, *chain = NULL;
    EVP_PKEY *key = NULL;
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    int rc = 0;

    if ((ca = read_certs(ca_file)) == NULL) {
        rc = tls_error(err, errlen, "cannot read a PEM certificate from %s", ca_file);
        goto out;
    }
    if ((chain = read_certs(cert_file)) == NULL) {
        rc = tls_error(err, errlen, "cannot read a PEM certificate from %s", cert_file);
        goto out;
    }
    BIO *bio = BIO_new_file(key_file, "r");
    if (bio != NULL) {
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    if (key == NULL) {
        rc = tls_error(err, errlen, "cannot read a PEM private key from %s", key_file);
        goto out;
    }
    X509 *leaf = sk_X509_value(chain, 0);
    if (X509_check_private_key(leaf, key) != 1) {
        rc = tls_error(err, errlen, "the key in %s does not belong to the certificate in %s",
                       key_file, cert_file);
        goto out;
    }
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    if (store == NULL || ctx == NULL) {
        rc = BW_ENOMEM;
        goto out;
    }
    for (int i = 0; i < sk_X509_num(ca); i++)
        X509_STORE_add_cert(store, sk_X509_value(ca, i));
    if (X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) {
        rc = BW_ENOMEM;
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        rc = tls_error(err, errlen, "the certificate in %s is not valid under the CA in %s: %s",
                       cert_file, ca_file,
                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, identity,
                                      TLS_IDENTITY_MAX + 1);
    if (n <= 0 || n > TLS_IDENTITY_MAX || strlen(identity) != (size_t)n) {
        rc = tls_error(err, errlen,
                       "the certificate in %s has no usable common name (the process name)",
                       cert_file);
        goto out;
    }
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(ca, X509_free);
    ERR_clear_error();
    return rc;
}

int bw_rpc_tls_open(const char *ca_file, const char *cert_file, const char *key_file,
                    unsigned refresh_sec, char *err, size_t errlen, bw_rpc_tls_t **out)
{
    *out = NULL;
    if (ca_file == NULL || cert_file == NULL || key_file == NULL || ca_file[0] == '\0' ||
        cert_file[0] == '\0' || key_file[0] == '\0')
        return tls_error(err, errlen, "internal TLS needs a CA, a certificate and a key file");
    bw_rpc_tls_t *tls = calloc(1, sizeof(*tls));
    if (tls == NULL)
        return BW_ENOMEM;
    int rc = tls_check_files(ca_file, cert_file, key_file, tls->identity, err, errlen);
    if (rc != 0) {
        free(tls);
        return rc;
    }
    bw_rpc_grpc_init();
    tls->provider = grpc_tls_certificate_provider_file_watcher_create(
        key_file, cert_file, ca_file, refresh_sec > 0 ? refresh_sec : 1);
    if (tls->provider == NULL) {
        bw_rpc_tls_close(tls);
        return tls_error(err, errlen, "gRPC could not load the TLS files");
    }
    grpc_channel_credentials *creds = bw_rpc_tls_channel_creds(tls);
    tls->primer = grpc_channel_create("127.0.0.1:1", creds, NULL);
    grpc_channel_credentials_release(creds);
    *out = tls;
    return 0;
}

void bw_rpc_tls_close(bw_rpc_tls_t *tls)
{
    if (tls == NULL)
        return;
    if (tls->primer != NULL)
        grpc_channel_destroy(tls->primer);
    if (tls->provider != NULL)
        grpc_tls_certificate_provider_release(tls->provider);
    free(tls);
    grpc_shutdown();
}

const char *bw_rpc_tls_identity(const bw_rpc_tls_t *tls)
{
    return tls != NULL ? tls->identity : NULL;
}

/*
 * Two library defaults that cost every request, set once per process before
 * gRPC starts its threads (every Bulwark process opens its TLS, and so comes
 * here, before it serves).
 *
 * Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock
 * detection on: every lock and unlock inside gRPC updates a global lock
 * graph, about 5 % of the CPU of a request in the gateway and in a service
 * (measured with perf; docs/DESIGN.md, "Performance as measured"). Release
 * builds of abseil and gRPC turn it off; so do we, through the one C-callable
 * way there is: the function's symbol, looked up at run time. Where the
 * symbol is not there (another abseil), nothing changes.
 *
 * glibc's malloc gives the free top of each thread's heap back to the
 * kernel as soon as it exceeds 128 KiB (madvise, then a page fault for each
 * page used again, and a TLB shoot-down that interrupts the other CPU too):
 * in a process whose threads allocate and free a request's buffers all the
 * time, that is every few requests, 5-8 % of the gateway's CPU in the
 * profile. A fixed threshold of 1 MiB keeps a request's worth of pages
 * mapped (peak RSS unchanged) and still returns what a burst leaves behind.
 * Setting it also fixes the mmap threshold, which glibc would otherwise
 * raise on its own: it is set to the same 1 MiB, so that only the rare
 * large buffer (an export page) is mapped for itself. At most two heaps
 * (glibc's default is eight per core), so that the megabyte kept per heap
 * does not add up: with both, peak RSS stays where it was (29.3 against
 * 29.5 MiB in the gateway) and the CPU is lower still (a second gateway
 * beside make run's, wrk -t2 -c64, quiet machine: assess 98 against 161 us
 * of gateway CPU per request, the read 63 against 84 us). The 1 MiB alone
 * had the gateway's peak RSS at 32.2-32.9 MiB in make bench.
 */
#define BW_MALLOC_TRIM_BYTES (1024 * 1024)
#define BW_MALLOC_ARENAS 2
static void runtime_tune(void)
{
    /* absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore) */
    void (*set_mode)(int) = (void (*)(int))dlsym(
        RTLD_DEFAULT, "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE");
    if (set_mode != NULL)
        set_mode(0);
    mallopt(M_TRIM_THRESHOLD, BW_MALLOC_TRIM_BYTES);
    mallopt(M_MMAP_THRESHOLD, BW_MALLOC_TRIM_BYTES);
    mallopt(M_ARENA_MAX, BW_MALLOC_ARENAS);
}

void bw_rpc_grpc_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, runtime_tune);
    grpc_init();
}

/* Options shared by both ends: our certificate and the CA, both watched. */
static grpc_tls_credentials_options *tls_options(const bw_rpc_tls_t *tls)
{
    grpc_tls_credentials_options *o = grpc_tls_credentials_options_create();
    grpc_tls_credentials_options_set_certificate_provider(o, tls->provider);
    grpc_tls_credentials_options_watch_root_certs(o);
    grpc_tls_credentials_options_watch_identity_key_cert_pairs(o);
    return o;
}

grpc_server_credentials *bw_rpc_tls_server_creds(const bw_rpc_tls_t *tls)
{
    grpc_tls_credentials_options *o = tls_options(tls);
    grpc_tls_credentials_options_set_cert_request_type(
        o, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    return grpc_tls_server_credentials_create(o);
}

grpc_channel_credentials *bw_rpc_tls_channel_creds(const bw_rpc_tls_t *tls)
{
    grpc_tls_credentials_options *o = tls_options(tls);
    /* The chain and the host name: the channel sets the expected name (the
     * peer's process name) as the target name override. */
    grpc_tls_credentials_options_set_verify_server_cert(o, 1);
    /* The handshake checks that name; calls set no host of their own, so
     * gRPC's check of each call's host against the certificate again (1.5 %
     * of the gateway's CPU per request) would repeat it. test_rpc's
     * test_peer_certificates shows a server of another name still refused. */
    grpc_tls_credentials_options_set_check_call_host(o, 0);
    return grpc_tls_credentials_create(o);
}

int bw_rpc_peer_identity(grpc_call *call, char *buf, size_t len)
{
    grpc_auth_context *ctx = grpc_call_auth_context(call);
    int rc = BW_EAUTH;
    if (ctx == NULL)
        return rc;
    if (grpc_auth_context_peer_is_authenticated(ctx)) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_CN_PROPERTY_NAME);
        const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
        if (p != NULL && p->value_length > 0 && p->value_length < len &&
            memchr(p->value, '\0', p->value_length) == NULL) {
            memcpy(buf, p->value, p->value_length);
            buf[p->value_length] = '\0';
            rc = 0;
        }
    }
    grpc_auth_context_release(ctx);
    return rc;
}
