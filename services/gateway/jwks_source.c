/*
 * A JWKS from a file, a URL or inline text, and the background thread that
 * keeps it fresh; see jwks_source.h. The thread sleeps on a condition
 * variable on the monotonic clock until a periodic reload is due or a
 * reader reports an unknown kid, loads with the lock released, and swaps
 * the new set in under the lock.
 */
#include "jwks_source.h"

#include "buf.h"
#include "log.h"
#include "status.h"

#include <curl/curl.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef enum { FROM_FILE, FROM_URL, FROM_JSON } kind_t;

struct bw_jwks_source {
    kind_t kind;
    char *where; /* the path, the URL or the document */
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
    bw_jwks_t *keys;     /* the current set; this pointer holds one reference */
    int stop;            /* the thread is to exit */
    int wanted;          /* a reload was asked for by an unknown kid */
    long long last_load; /* monotonic seconds of the last load attempt */
};

static long long mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

/* ---- the current set --------------------------------------------------- */

bw_jwks_t *bw_jwks_source_acquire(bw_jwks_source_t *s)
{
    pthread_mutex_lock(&s->lock);
    bw_jwks_t *ks = bw_jwks_hold(s->keys);
    pthread_mutex_unlock(&s->lock);
    return ks;
}

/* Publishes ks (consumed) and drops the reference to the set it replaces. */
static void swap(bw_jwks_source_t *s, bw_jwks_t *ks)
{
    pthread_mutex_lock(&s->lock);
    bw_jwks_t *old = s->keys;
    s->keys = ks;
    pthread_mutex_unlock(&s->lock);
    bw_jwks_release(old);
}

size_t bw_jwks_source_key_count(bw_jwks_source_t *s)
{
    bw_jwks_t *ks = bw_jwks_source_acquire(s);
    size_t n = bw_jwks_count(ks);
    bw_jwks_release(ks);
    return n;
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
    char *buf = malloc(BW_JWKS_MAX_BYTES + 1);
    size_t n = 0;
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    n = fread(buf, 1, BW_JWKS_MAX_BYTES + 1, fp);
    rc = BW_EINVAL;
    if (ferror(fp)) {
        snprintf(err, errlen, "could not read JWKS file \"%s\"", path);
        goto out;
    }
    if (n > BW_JWKS_MAX_BYTES) {
        snprintf(err, errlen, "JWKS file \"%s\" is larger than %d bytes", path, BW_JWKS_MAX_BYTES);
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

typedef struct body {
    bw_buf_t buf; /* at most BW_JWKS_MAX_BYTES */
    int rc;       /* why an append failed */
} body_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    body_t *b = arg;
    size_t n = size * nmemb;
    b->rc = bw_buf_add(&b->buf, ptr, n);
    return b->rc == 0 ? n : 0;
}

static int fetch_url(const bw_jwks_source_t *s, char **text, size_t *len, char *err, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    body_t b = {.rc = 0};
    long status = 0;
    int rc;
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return BW_ENOMEM;
    }
    bw_buf_init(&b.buf, BW_JWKS_MAX_BYTES);
    curl_easy_setopt(c, CURLOPT_URL, s->where);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* A redirect must not downgrade to plain HTTP. */
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, s->fetch_timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->fetch_timeout < 5 ? s->fetch_timeout : 5L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "bulwark-gateway");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (b.rc == BW_ETOOBIG) {
        snprintf(err, errlen, "the JWKS is larger than %d bytes", BW_JWKS_MAX_BYTES);
        rc = BW_EINVAL;
    } else if (cc != CURLE_OK) {
        snprintf(err, errlen, "could not fetch the JWKS: %s",
                 curl_err[0] != '\0' ? curl_err : curl_easy_strerror(cc));
        rc = cc == CURLE_WRITE_ERROR ? BW_ENOMEM : BW_EUNAVAIL;
    } else if (status != 200) {
        snprintf(err, errlen, "could not fetch the JWKS: HTTP status %ld", status);
        rc = BW_EUNAVAIL;
    } else {
        *text = b.buf.data;
        *len = b.buf.len;
        b.buf.data = NULL;
        rc = 0;
    }
    bw_buf_free(&b.buf);
    curl_easy_cleanup(c);
    return rc;
}

/* A new set from the source, with one reference for the caller. */
static int load(const bw_jwks_source_t *s, bw_jwks_t **out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = 0;
    if (s->kind == FROM_FILE)
        rc = read_file(s->where, &text, &len, err, errlen);
    else if (s->kind == FROM_URL)
        rc = fetch_url(s, &text, &len, err, errlen);
    if (rc != 0)
        return rc;
    if (s->kind == FROM_JSON)
        rc = bw_jwks_parse(s->where, strlen(s->where), out, err, errlen);
    else
        rc = bw_jwks_parse(text != NULL ? text : "", len, out, err, errlen);
    free(text);
    return rc;
}

/* The background reloader: periodically, and when a reader asks for it. */
static void *refresh_main(void *arg)
{
    bw_jwks_source_t *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        long long now = mono_now();
        long long due = s->refresh_sec > 0 ? s->last_load + s->refresh_sec : LLONG_MAX;
        if (!s->wanted && now < due) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            /* Wake at least hourly; the loop re-checks everything anyway. */
            ts.tv_sec += (time_t)(due - now < 3600 ? due - now : 3600);
            pthread_cond_timedwait(&s->wake, &s->lock, &ts);
            continue;
        }
        s->wanted = 0;
        s->last_load = now;
        pthread_mutex_unlock(&s->lock);
        char err[256];
        bw_jwks_t *ks = NULL;
        if (load(s, &ks, err, sizeof(err)) == 0)
            swap(s, ks);
        else
            bw_log(BW_LOG_WARN, NULL, "could not reload the OIDC key set, keeping the old one: %s",
                   err);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

void bw_jwks_source_unknown_kid(bw_jwks_source_t *s)
{
    if (!s->thread_started || s->min_gap < 0)
        return;
    long long now = mono_now();
    pthread_mutex_lock(&s->lock);
    if (!s->wanted && now - s->last_load >= s->min_gap) {
        s->wanted = 1;
        pthread_cond_signal(&s->wake);
    }
    pthread_mutex_unlock(&s->lock);
}

int bw_jwks_source_reload(bw_jwks_source_t *s, char *err, size_t errlen)
{
    bw_jwks_t *ks = NULL;
    pthread_mutex_lock(&s->lock);
    s->last_load = mono_now();
    pthread_mutex_unlock(&s->lock);
    int rc = load(s, &ks, err, errlen);
    if (rc == 0)
        swap(s, ks);
    return rc;
}

/* ---- creation ---------------------------------------------------------- */

static int given(const char *setting)
{
    return setting != NULL && *setting != '\0';
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

static int check_config(const bw_jwks_source_config_t *cfg, char *err, size_t errlen)
{
    if (given(cfg->file) + given(cfg->url) + given(cfg->json) != 1)
        snprintf(err, errlen, "give exactly one of a JWKS file, URL or document");
    else if (cfg->refresh_sec < 0)
        snprintf(err, errlen, "the JWKS refresh period must not be negative");
    else if (given(cfg->url) && cfg->fetch_timeout_sec < 1)
        snprintf(err, errlen, "the JWKS fetch timeout must be at least one second");
    else if (given(cfg->url))
        return check_url(cfg->url, err, errlen);
    else
        return 0;
    return BW_EINVAL;
}

/* The lock, and the condition variable on the monotonic clock. */
static int sync_init(bw_jwks_source_t *s)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return BW_ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return BW_ENOMEM;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        pthread_cond_destroy(&s->wake);
        return BW_ENOMEM;
    }
    s->sync_ready = 1;
    return 0;
}

int bw_jwks_source_create(const bw_jwks_source_config_t *cfg, bw_jwks_source_t **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    int rc = check_config(cfg, err, errlen);
    if (rc != 0)
        return rc;
    const char *where = given(cfg->file) ? cfg->file : given(cfg->url) ? cfg->url : cfg->json;
    bw_jwks_source_t *s = calloc(1, sizeof(*s));
    rc = BW_ENOMEM;
    if (s == NULL || sync_init(s) != 0 || (s->where = strdup(where)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    s->kind = where == cfg->file ? FROM_FILE : where == cfg->url ? FROM_URL : FROM_JSON;
    s->refresh_sec = cfg->refresh_sec;
    s->min_gap = cfg->refresh_min_gap_sec;
    s->fetch_timeout = cfg->fetch_timeout_sec;
    if (s->kind == FROM_URL) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "could not initialise libcurl");
            rc = BW_EINTERNAL;
            goto out;
        }
        s->curl_ready = 1;
    }
    rc = load(s, &s->keys, err, errlen);
    if (rc != 0)
        goto out;
    s->last_load = mono_now();
    if (s->kind != FROM_JSON && (s->refresh_sec > 0 || s->min_gap >= 0)) {
        if (pthread_create(&s->thread, NULL, refresh_main, s) != 0) {
            snprintf(err, errlen, "could not start the JWKS refresh thread");
            rc = BW_ENOMEM;
            goto out;
        }
        s->thread_started = 1;
    }
    *out = s;
    s = NULL;
out:
    bw_jwks_source_destroy(s);
    return rc;
}

void bw_jwks_source_destroy(bw_jwks_source_t *s)
{
    if (s == NULL)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    if (s->sync_ready) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
    }
    bw_jwks_release(s->keys);
    if (s->curl_ready)
        curl_global_cleanup();
    free(s->where);
    free(s);
}
