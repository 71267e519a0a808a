/*
 * webhook_receiver: a stand-in for a customer's webhook endpoint, for the
 * end-to-end suites and make bench. It listens on two ports:
 *
 *   hooks    any POST is a delivery: it is recorded (path, the three
 *            Standard Webhooks headers, body, time) with the verdict of the
 *            signature check, and answered as the path is configured;
 *   control  JSON, for the test driving it:
 *              POST /config {"path", "secrets": ["whsec_..."], "status",
 *                            "retryAfter", "location", "delayMs", "times"}
 *                   how deliveries to path are answered (status 204 by
 *                   default; "times": only the next n, then 204 again) and
 *                   which secrets verify them
 *              POST /down   stop listening and drop every connection
 *              POST /up     listen again on the same port
 *              GET  /deliveries?path=/x  what arrived at /x, in order
 *              GET  /count?path=/x       how many arrived at /x, how
 *                   many of those were answered 2xx, and, for a path
 *                   with delayMs, the most replies held back at once
 *                   ("maxHeld": the sender's concurrency towards it)
 *
 * Signatures are checked as the Standard Webhooks specification tells a
 * receiver to, written here independently of the sender's code: each
 * "v1,<base64>" of webhook-signature is compared, in constant time, with
 * the base64 of HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>"
 * keyed with the bytes of each configured secret after "whsec_"; a
 * delivery is valid when one matches and its timestamp is within 5 minutes.
 *
 *   webhook_receiver [--host 127.0.0.2] [--port 0] [--control-port 0]
 *
 * prints "hooks=<port> control=<port>" on its first line once listening
 * (the control port is on 127.0.0.1), and runs until SIGTERM or SIGINT.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_PATHS 256
#define MAX_SECRETS 4
#define MAX_RECORDS 200000
#define TOLERANCE_SEC 300

typedef struct path_config {
    char path[256];
    uint8_t keys[MAX_SECRETS][64];
    size_t key_len[MAX_SECRETS];
    int n_keys;
    int status; /* 0: 204 */
    char retry_after[64];
    char location[256];
    long delay_ms;
    long times;         /* > 0: the answer above applies this many more times */
    int held, max_held; /* replies held back by delay_ms now, and at most */
} path_config_t;

typedef struct record {
    char *path, *id, *timestamp, *signature, *body;
    int valid, fresh, matched; /* matched: bit i for configured secret i */
    int status;
    double received;
} record_t;

/* A reply held back by delayMs. */
typedef struct delayed {
    struct evhttp_request *req;
    struct event *timer;
    int status;
    path_config_t *c;
    struct delayed *next;
} delayed_t;

static struct event_base *base;
static struct evhttp *hooks; /* NULL while down */
static const char *hooks_host = "127.0.0.2";
static int hooks_port;
static path_config_t paths[MAX_PATHS];
static int n_paths;
static record_t *records;
static size_t n_records;
static delayed_t *delayed_head;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static path_config_t *config_of(const char *path, int create)
{
    for (int i = 0; i < n_paths; i++)
        if (strcmp(paths[i].path, path) == 0)
            return &paths[i];
    if (!create || n_paths == MAX_PATHS || strlen(path) >= sizeof(paths[0].path))
        return NULL;
    path_config_t *c = &paths[n_paths++];
    memset(c, 0, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "%s", path);
    return c;
}

static void reply_text(struct evhttp_request *req, int status, const char *text)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "%s", text);
    evhttp_send_reply(req, status, status < 300 ? "OK" : "Error", b);
    evbuffer_free(b);
}

static void reply_json(struct evhttp_request *req, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    reply_text(req, 200, text != NULL ? text : "{}");
    free(text);
}

/* The bytes of a "whsec_<base64>" secret; 0 or -1. */
static int decode_secret(const char *text, uint8_t *out, size_t *len)
{
    if (strncmp(text, "whsec_", 6) != 0)
        return -1;
    const char *b64 = text + 6;
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > 64)
        return -1;
    int got = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    if (got < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    size_t pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
    *len = (size_t)got - pad;
    return 0;
}

/* Verifies one delivery against the path's secrets. */
static void verify(const path_config_t *c, record_t *r, size_t body_len)
{
    r->valid = 0;
    r->matched = 0;
    char *end = NULL;
    long long ts = r->timestamp != NULL ? strtoll(r->timestamp, &end, 10) : 0;
    r->fresh = end != NULL && *end == '\0' && end != r->timestamp &&
               (double)ts > now() - TOLERANCE_SEC && (double)ts < now() + TOLERANCE_SEC;
    if (c == NULL || r->id == NULL || r->timestamp == NULL || r->signature == NULL)
        return;
    size_t id_len = strlen(r->id), ts_len = strlen(r->timestamp);
    size_t msg_len = id_len + 1 + ts_len + 1 + body_len;
    unsigned char *msg = malloc(msg_len);
    if (msg == NULL)
        return;
    memcpy(msg, r->id, id_len);
    msg[id_len] = '.';
    memcpy(msg + id_len + 1, r->timestamp, ts_len);
    msg[id_len + 1 + ts_len] = '.';
    memcpy(msg + id_len + ts_len + 2, r->body, body_len);
    for (int k = 0; k < c->n_keys; k++) {
        unsigned char mac[32];
        unsigned mac_len = 0;
        HMAC(EVP_sha256(), c->keys[k], (int)c->key_len[k], msg, msg_len, mac, &mac_len);
        char expected[64];
        EVP_EncodeBlock((unsigned char *)expected, mac, 32);
        /* Each space-separated "v1,<signature>" of the header. */
        for (const char *p = r->signature; *p != '\0';) {
            size_t n = strcspn(p, " ");
            if (n > 3 && strncmp(p, "v1,", 3) == 0 && n - 3 == strlen(expected) &&
                CRYPTO_memcmp(p + 3, expected, n - 3) == 0)
                r->matched |= 1 << k;
            p += n;
            while (*p == ' ')
                p++;
        }
    }
    free(msg);
    r->valid = r->matched != 0 && r->fresh;
}

static char *header_copy(struct evhttp_request *req, const char *name)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    return v != NULL ? strdup(v) : NULL;
}

static void send_delayed(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    delayed_t *d = arg;
    for (delayed_t **p = &delayed_head; *p != NULL; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    reply_text(d->req, d->status, "");
    d->c->held--;
    event_free(d->timer);
    free(d);
}

static void on_hook(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        reply_text(req, 405, "POST only");
        return;
    }
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    path_config_t *c = config_of(path != NULL ? path : "/", 0);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (n_records == MAX_RECORDS) {
        reply_text(req, 507, "full");
        return;
    }
    record_t *r = &records[n_records++];
    memset(r, 0, sizeof(*r));
    r->path = strdup(path != NULL ? path : "/");
    r->id = header_copy(req, "webhook-id");
    r->timestamp = header_copy(req, "webhook-timestamp");
    r->signature = header_copy(req, "webhook-signature");
    r->body = malloc(len + 1);
    if (r->body != NULL) {
        evbuffer_copyout(in, r->body, len);
        r->body[len] = '\0';
    }
    r->received = now();
    verify(c, r, len);

    int status = 204;
    if (c != NULL && c->status != 0 && c->times != 0) {
        status = c->status;
        if (c->times > 0 && --c->times == 0)
            c->status = 0;
        struct evkeyvalq *out = evhttp_request_get_output_headers(req);
        if (c->retry_after[0] != '\0')
            evhttp_add_header(out, "Retry-After", c->retry_after);
        if (c->location[0] != '\0')
            evhttp_add_header(out, "Location", c->location);
    }
    r->status = status;
    if (c != NULL && c->delay_ms > 0) {
        delayed_t *d = calloc(1, sizeof(*d));
        d->req = req;
        d->status = status;
        d->c = c;
        if (++c->held > c->max_held)
            c->max_held = c->held;
        d->timer = evtimer_new(base, send_delayed, d);
        struct timeval tv = {c->delay_ms / 1000, (c->delay_ms % 1000) * 1000};
        evtimer_add(d->timer, &tv);
        d->next = delayed_head;
        delayed_head = d;
        return;
    }
    reply_text(req, status, "");
}

static int hooks_up(void)
{
    if (hooks != NULL)
        return 0;
    hooks = evhttp_new(base);
    if (hooks == NULL)
        return -1;
    evhttp_set_allowed_methods(hooks, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
    evhttp_set_gencb(hooks, on_hook, NULL);
    struct evhttp_bound_socket *s =
        evhttp_bind_socket_with_handle(hooks, hooks_host, (ev_uint16_t)hooks_port);
    if (s == NULL) {
        evhttp_free(hooks);
        hooks = NULL;
        return -1;
    }
    if (hooks_port == 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len);
        hooks_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return 0;
}

/* Drops every connection: what a crashed receiver looks like. */
static void hooks_down(void)
{
    while (delayed_head != NULL) {
        delayed_t *d = delayed_head;
        delayed_head = d->next;
        d->c->held--;
        event_free(d->timer);
        free(d);
    }
    if (hooks != NULL)
        evhttp_free(hooks);
    hooks = NULL;
}

static json_t *read_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char *text = malloc(len + 1);
    if (text == NULL)
        return NULL;
    evbuffer_copyout(in, text, len);
    json_t *doc = json_loadb(text, len, 0, NULL);
    free(text);
    return doc;
}

static void on_config(struct evhttp_request *req)
{
    json_t *doc = read_json(req);
    const char *path = json_string_value(json_object_get(doc, "path"));
    path_config_t *c = path != NULL ? config_of(path, 1) : NULL;
    if (c == NULL) {
        json_decref(doc);
        reply_text(req, 400, "need a path");
        return;
    }
    json_t *secrets = json_object_get(doc, "secrets");
    if (json_is_array(secrets)) {
        c->n_keys = 0;
        for (size_t i = 0; i < json_array_size(secrets) && c->n_keys < MAX_SECRETS; i++) {
            const char *s = json_string_value(json_array_get(secrets, i));
            if (s == NULL || decode_secret(s, c->keys[c->n_keys], &c->key_len[c->n_keys]) != 0) {
                json_decref(doc);
                reply_text(req, 400, "bad secret");
                return;
            }
            c->n_keys++;
        }
    }
    if (json_object_get(doc, "status") != NULL) {
        c->status = (int)json_integer_value(json_object_get(doc, "status"));
        json_t *times = json_object_get(doc, "times");
        c->times = times != NULL ? (long)json_integer_value(times) : -1;
    }
    const char *ra = json_string_value(json_object_get(doc, "retryAfter"));
    snprintf(c->retry_after, sizeof(c->retry_after), "%s", ra != NULL ? ra : "");
    const char *loc = json_string_value(json_object_get(doc, "location"));
    snprintf(c->location, sizeof(c->location), "%s", loc != NULL ? loc : "");
    c->delay_ms = (long)json_integer_value(json_object_get(doc, "delayMs"));
    json_decref(doc);
    reply_json(req, json_pack("{s:b}", "ok", 1));
}

static const char *query_path(struct evhttp_request *req, struct evkeyvalq *q)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (query == NULL || evhttp_parse_query_str(query, q) != 0)
        return NULL;
    return evhttp_find_header(q, "path");
}

static void on_list(struct evhttp_request *req, int counts_only)
{
    struct evkeyvalq q = {0};
    const char *path = query_path(req, &q);
    json_t *list = json_array();
    size_t total = 0, ok = 0;
    for (size_t i = 0; i < n_records; i++) {
        record_t *r = &records[i];
        if (path != NULL && strcmp(r->path, path) != 0)
            continue;
        total++;
        ok += r->status >= 200 && r->status <= 299;
        if (counts_only)
            continue;
        json_array_append_new(
            list, json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:b, s:b, s:i, s:i, s:f}", "path",
                            r->path, "id", r->id, "timestamp", r->timestamp, "signature",
                            r->signature, "body", r->body, "valid", r->valid, "fresh", r->fresh,
                            "matched", r->matched, "status", r->status, "received", r->received));
    }
    const path_config_t *c = path != NULL ? config_of(path, 0) : NULL;
    evhttp_clear_headers(&q);
    if (counts_only) {
        json_decref(list);
        reply_json(req, json_pack("{s:I, s:I, s:i}", "received", (json_int_t)total, "succeeded",
                                  (json_int_t)ok, "maxHeld", c != NULL ? c->max_held : 0));
        return;
    }
    reply_json(req, json_pack("{s:o}", "deliveries", list));
}

static void on_control(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
    if (path == NULL)
        reply_text(req, 404, "");
    else if (post && strcmp(path, "/config") == 0)
        on_config(req);
    else if (post && strcmp(path, "/down") == 0) {
        hooks_down();
        reply_json(req, json_pack("{s:b}", "up", 0));
    } else if (post && strcmp(path, "/up") == 0) {
        int rc = hooks_up();
        reply_json(req, json_pack("{s:b}", "up", rc == 0));
    } else if (!post && strcmp(path, "/deliveries") == 0)
        on_list(req, 0);
    else if (!post && strcmp(path, "/count") == 0)
        on_list(req, 1);
    else
        reply_text(req, 404, "");
}

static void on_signal(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    (void)arg;
    event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
    int control_port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0)
            hooks_host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            hooks_port = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--control-port") == 0)
            control_port = (int)strtol(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--host H] [--port P] [--control-port P]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    records = calloc(MAX_RECORDS, sizeof(*records));
    base = event_base_new();
    struct evhttp *control = base != NULL ? evhttp_new(base) : NULL;
    if (records == NULL || control == NULL || hooks_up() != 0) {
        fprintf(stderr, "webhook_receiver: cannot listen on %s:%d\n", hooks_host, hooks_port);
        return 1;
    }
    evhttp_set_allowed_methods(control, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
    evhttp_set_gencb(control, on_control, NULL);
    struct evhttp_bound_socket *cs =
        evhttp_bind_socket_with_handle(control, "127.0.0.1", (ev_uint16_t)control_port);
    if (cs == NULL) {
        fprintf(stderr, "webhook_receiver: cannot listen on 127.0.0.1:%d\n", control_port);
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(cs), (struct sockaddr *)&ss, &len);
    printf("hooks=%d control=%d\n", hooks_port, ntohs(((struct sockaddr_in *)&ss)->sin_port));
    fflush(stdout);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, NULL);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, NULL);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    hooks_down();
    evhttp_free(control);
    event_free(term);
    event_free(intr);
    event_base_free(base);
    for (size_t i = 0; i < n_records; i++) {
        free(records[i].path);
        free(records[i].id);
        free(records[i].timestamp);
        free(records[i].signature);
        free(records[i].body);
    }
    free(records);
    return 0;
}
