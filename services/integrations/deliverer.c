/*
 * The deliverer; see deliverer.h. libcurl's multi interface tells the loop
 * which sockets to watch (on_socket) and when to wake it (on_timer_change);
 * the loop hands readiness back with curl_multi_socket_action, after which
 * finished transfers are collected (collect) and recorded. Database work
 * runs on the loop's thread. An attempt that disables its endpoint is
 * recorded at once, in a transaction with the disabling; the others wait up
 * to RECORD_DELAY_MS, or until RECORD_BATCH have ended, and are recorded
 * together, a statement per tenant, which keeps the deliveries and their
 * attempts consistent without a queue outside the process.
 */
#include "deliverer.h"

#include "endpoints.h"
#include "ids.h"
#include "log.h"
#include "pgarray.h"
#include "random.h"
#include "seal.h"
#include "signature.h"
#include "status.h"
#include "store.h"
#include "times.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>

#define USER_AGENT "User-Agent: Bulwark-Webhooks/1.0"
/* A receiver's answer is read and dropped; more than this is not read. */
#define MAX_RESPONSE_BODY (64 * 1024)
/* Seconds a lease outlives an attempt's timeout. */
#define LEASE_MARGIN_SEC 60
/* A claim leases up to this many times what may be in flight, per endpoint
 * and in all; what cannot start at once waits in memory, leased, and starts
 * as attempts end, so that a claim serves several rounds of completions
 * instead of one (docs/DESIGN.md, "The cost of announcing a write"). */
#define PREFETCH 4
/* What the relay may hand over, per endpoint, in rounds of the endpoint's
 * attempts: a relay batch (200 events) for one endpoint at its default
 * concurrency of 4 fits. The total stays that of a claim (PREFETCH times
 * BULWARK_WEBHOOK_CONCURRENCY), which bounds the memory queued events hold. */
#define HANDOFF_ROUNDS 64
#define ERROR_MAX 900
/* Attempts that ended wait this long, or until this many have ended, to be
 * recorded together: a round trip to the database and a statement for
 * several, where each took its own (docs/DESIGN.md, "The cost of
 * announcing a write"). Their rows stay leased meanwhile, so nothing else
 * takes them; what the record frees (a resource's next delivery) is claimed
 * right after it. */
#define RECORD_DELAY_MS 10
#define RECORD_BATCH 64
/* The longest an unreachable endpoint is left alone (hold()). */
#define HOLD_MAX_MS 60000

static const bw_db_stmt_t stmt_claim = {
    "deliverer_claim",
    "SELECT tenant_id::text, delivery_id::text, lease_id::text, endpoint_id::text, url, secret, "
    "previous_secret, event_id::text, type, occur_time, data, cycle_attempts, at::text "
    "FROM integrations.claim_deliveries($1::int, $2::int, $3::int, $4::uuid[], $5::int[])"};
/* Records attempts of the transaction's tenant and what follows from each,
 * where the lease is still ours: $7 is SUCCEEDED, FAILED or RETRY (then $8
 * the wait in milliseconds), $9 the row's address the claim returned; the
 * rows found there are updated together, the others at the address their
 * key gives now (integrations migrations 0008 and 0018 say why the
 * record is a function that finds each row by its address). Returns how
 * many of them finished a delivery whose resource has a later one pending. */
static const bw_db_stmt_t stmt_record = {
    "deliverer_record",
    "SELECT integrations.record_attempts($1::uuid[], $2::uuid[], $3::double precision[], "
    "$4::int[], $5::int[], $6::text[], $7::text[], $8::double precision[], $9::tid[])"};
static const bw_db_stmt_t stmt_release = {
    "deliverer_release", "UPDATE integrations.deliveries SET lease_id = NULL, lease_until = NULL "
                         "WHERE delivery_id = $1 AND lease_id = $2"};

const bw_db_stmt_t *const bw_deliverer_stmts[] = {&stmt_claim, &stmt_record, &stmt_release};
const size_t bw_deliverer_n_stmts = sizeof(bw_deliverer_stmts) / sizeof(bw_deliverer_stmts[0]);

enum {
    CL_TENANT,
    CL_DELIVERY,
    CL_LEASE,
    CL_ENDPOINT,
    CL_URL,
    CL_SECRET,
    CL_PREVIOUS,
    CL_EVENT,
    CL_TYPE,
    CL_TIME,
    CL_DATA,
    CL_CYCLE,
    CL_AT
};

typedef struct transfer transfer_t;
typedef struct endpoint_slot endpoint_slot_t;

/* Of one endpoint: the attempts in flight here and its claimed ones
 * waiting, oldest first, so that neither a start nor a claim walks more
 * than it takes. Shared by its transfers (refs), in a hash table by
 * endpoint id and a list of all; in the ready list while it has waiting
 * transfers and a free slot. */
struct endpoint_slot {
    char id[BW_UUID_STR_LEN + 1];
    int in_flight, queued, refs;
    transfer_t *queue, *queue_tail;           /* waiting, oldest first */
    endpoint_slot_t *chain;                   /* next in its bucket */
    endpoint_slot_t *prev, *next;             /* in dv->endpoints */
    endpoint_slot_t *ready_prev, *ready_next; /* in dv->ready */
    int ready;
    /* Held: the endpoint could not be reached, and nothing more is started
     * or claimed for it until hold_until_us (hold()); a hold keeps one
     * reference, so that the slot outlives its transfers. */
    int held;
    long long hold_until_us;
};

/* What CURLOPT_PRIVATE points at starts with one of these. */
enum { KIND_DELIVERY = 1, KIND_REQUEST = 2 };

/* One socket libcurl asked the loop to watch. */
typedef struct watch {
    struct event *ev;
    struct watch *prev, *next;
} watch_t;

struct bw_deliverer {
    struct event_base *base;
    bw_db_t *db;
    const bw_integrations_t *svc;
    bw_deliverer_stats_t *stats; /* in_flight, queued and the holds mirrored */
    CURLM *multi;
    struct event *timer;
    struct event *refill;            /* claims again once the loop is done with a round */
    struct event *record;            /* records what ended, RECORD_DELAY_MS after the first */
    transfer_t *ended[RECORD_BATCH]; /* ended, decided, not yet recorded */
    int n_ended;
    bw_arena_t *scratch;       /* per database operation */
    transfer_t *head;          /* transfers in flight */
    endpoint_slot_t **buckets; /* the endpoints' slots by id (n_buckets, a power of 2) */
    size_t n_buckets;
    endpoint_slot_t *endpoints;          /* every slot */
    endpoint_slot_t *ready, *ready_tail; /* slots that may start one now, in turn */
    bw_deliverer_request_t *requests;    /* other requests in flight */
    watch_t *watches;                    /* sockets watched */
    int in_flight;
    int queued;
    int collecting; /* inside collect(): no refill from there */
    /* The last claim found nothing while no endpoint had its share here,
     * and nothing since may have made a delivery due: claims after
     * attempts end wait for the next tick. */
    int dry;
    int closing;
};

/* One attempt in flight; everything it needs lives in its arena. */
struct transfer {
    int kind; /* KIND_DELIVERY */
    bw_deliverer_t *dv;
    transfer_t *prev, *next;
    bw_arena_t *arena;
    CURL *easy;
    struct curl_slist *headers;
    char *tenant, *delivery, *lease, *endpoint, *event_id;
    char *at; /* the leased row's address, "(page,item)" */
    char *url, *body;
    uint8_t *secret, *previous; /* sealed; previous NULL when none is valid */
    size_t secret_len, previous_len;
    endpoint_slot_t *slot;
    bw_netpolicy_guard_t guard; /* every address libcurl connects to passes it */
    int cycle_attempts;
    long long started_us;
    bw_log_ctx_t log;
    size_t received;
    int body_capped;
    char errbuf[CURL_ERROR_SIZE];
    /* What the attempt came to, decided when it ends (decide()). */
    bw_attempt_outcome_t outcome;
    long status, latency_ms;
    long long wait_ms;
    char error[ERROR_MAX + 1];
    char retry_after[64]; /* the receiver's Retry-After */
    char location[200];   /* the receiver's Location */
};

static long long now_us(void)
{
    return bw_time_now_us();
}

bw_attempt_outcome_t bw_deliverer_outcome(const bw_retry_schedule_t *schedule, long status,
                                          int attempts_made, long retry_after_sec, uint32_t random,
                                          long long *wait_ms)
{
    if (status >= 200 && status <= 299)
        return BW_ATTEMPT_SUCCEEDED;
    if (status == 410)
        return BW_ATTEMPT_GONE;
    long floor_sec = status == 429 || status == 503 ? retry_after_sec : 0;
    *wait_ms = bw_retry_next_ms(schedule, attempts_made, random, floor_sec);
    return *wait_ms < 0 ? BW_ATTEMPT_FAILED : BW_ATTEMPT_RETRY;
}

/* ---- libcurl callbacks ---------------------------------------------------- */

static size_t discard_body(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    transfer_t *t = arg;
    t->received += size * n;
    if (t->received > MAX_RESPONSE_BODY) {
        t->body_capped = 1;
        return 0;
    }
    return size * n;
}

/* Keeps the headers that matter: Retry-After and Location. */
static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    transfer_t *t = arg;
    size_t len = size * n;
    static const struct {
        const char *name;
        size_t offset, cap;
    } wanted[] = {{"retry-after:", offsetof(transfer_t, retry_after), sizeof(t->retry_after)},
                  {"location:", offsetof(transfer_t, location), sizeof(t->location)}};
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        size_t nl = strlen(wanted[i].name);
        if (len < nl || strncasecmp(line, wanted[i].name, nl) != 0)
            continue;
        const char *v = line + nl;
        size_t vl = len - nl;
        while (vl > 0 && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        char *dst = (char *)t + wanted[i].offset;
        snprintf(dst, wanted[i].cap, "%.*s", (int)vl, v);
        /* Only printable text goes into logs and the delivery log. */
        for (char *c = dst; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                *c = '?';
    }
    return len;
}

static void collect(bw_deliverer_t *dv);
static void hold(bw_deliverer_t *dv, endpoint_slot_t *e, long long ms);

static void on_socket_event(evutil_socket_t fd, short kind, void *arg)
{
    bw_deliverer_t *dv = arg;
    int action = (kind & EV_READ ? CURL_CSELECT_IN : 0) | (kind & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(dv->multi, fd, action, &running);
    collect(dv);
}

static void on_timer(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    bw_deliverer_t *dv = arg;
    int running;
    curl_multi_socket_action(dv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect(dv);
}

static void unwatch(bw_deliverer_t *dv, watch_t *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        dv->watches = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    event_free(w->ev);
    free(w);
}

/* libcurl says which events of a socket to watch. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    bw_deliverer_t *dv = userp;
    watch_t *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL)
            unwatch(dv, w);
        return 0;
    }
    short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) |
                         (what & CURL_POLL_OUT ? EV_WRITE : 0) | EV_PERSIST);
    if (w == NULL) {
        if ((w = calloc(1, sizeof(*w))) == NULL)
            return -1;
        if ((w->ev = event_new(dv->base, s, kind, on_socket_event, dv)) == NULL) {
            free(w);
            return -1;
        }
        w->next = dv->watches;
        if (dv->watches != NULL)
            dv->watches->prev = w;
        dv->watches = w;
        curl_multi_assign(dv->multi, s, w);
    } else {
        event_del(w->ev);
        event_assign(w->ev, dv->base, s, kind, on_socket_event, dv);
    }
    return event_add(w->ev, NULL) == 0 ? 0 : -1;
}

/* libcurl says when to call it back without socket activity. */
static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    bw_deliverer_t *dv = userp;
    if (timeout_ms < 0)
        return event_del(dv->timer) == 0 ? 0 : -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    return evtimer_add(dv->timer, &tv) == 0 ? 0 : -1;
}

/* ---- recording ------------------------------------------------------------ */

static void ready_update(bw_deliverer_t *dv, endpoint_slot_t *e);

static void unlink_transfer(transfer_t *t)
{
    bw_deliverer_t *dv = t->dv;
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        dv->head = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    dv->in_flight--;
    atomic_store_explicit(&dv->stats->in_flight, dv->in_flight, memory_order_relaxed);
    t->slot->in_flight--;
    ready_update(dv, t->slot);
}

static void slot_release(bw_deliverer_t *dv, endpoint_slot_t *e);

static void free_transfer(transfer_t *t)
{
    if (t->slot != NULL)
        slot_release(t->dv, t->slot);
    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    bw_arena_destroy(t->arena);
    free(t);
}

/* Decides what the attempt of t came to. */
static void decide(bw_deliverer_t *dv, transfer_t *t, long status, long latency_ms,
                   const char *error)
{
    uint32_t random = (uint32_t)bw_random_u64();
    long retry_after = bw_retry_after_parse(t->retry_after, (long long)time(NULL));
    t->status = status;
    t->latency_ms = latency_ms;
    t->wait_ms = 0;
    snprintf(t->error, sizeof(t->error), "%s", error);
    t->outcome = bw_deliverer_outcome(&dv->svc->retry, status, t->cycle_attempts + 1, retry_after,
                                      random, &t->wait_ms);
    bw_attempt_counts_add(&dv->stats->attempts, t->outcome);
    bw_metrics_hist_observe(&dv->stats->latency, (double)latency_ms / 1000);
}

const char *bw_attempt_outcome_state(bw_attempt_outcome_t outcome)
{
    static const char *const states[] = {
        [BW_ATTEMPT_SUCCEEDED] = "SUCCEEDED",
        [BW_ATTEMPT_RETRY] = "RETRY",
        [BW_ATTEMPT_FAILED] = "FAILED",
        [BW_ATTEMPT_GONE] = "FAILED",
    };
    return (unsigned)outcome < sizeof(states) / sizeof(states[0]) ? states[outcome] : "FAILED";
}

static void log_outcome(const transfer_t *t, int err)
{
    if (err != 0)
        bw_log(BW_LOG_ERROR, &t->log,
               "could not record the attempt of delivery %s (%s): %s; it is attempted again "
               "when its lease runs out",
               t->delivery, t->error[0] ? t->error : "succeeded", bw_strerror(err));
    else if (t->outcome == BW_ATTEMPT_RETRY)
        bw_log(BW_LOG_INFO, &t->log,
               "delivery %s of event %s to endpoint %s failed (attempt %d): %s; next in %lld ms",
               t->delivery, t->event_id, t->endpoint, t->cycle_attempts + 1, t->error, t->wait_ms);
    else if (t->outcome == BW_ATTEMPT_SUCCEEDED)
        bw_log(BW_LOG_DEBUG, &t->log, "delivery %s of event %s to endpoint %s succeeded in %ld ms",
               t->delivery, t->event_id, t->endpoint, t->latency_ms);
}

/* The parameters of an attempt's record, in the order of stmt_record. */
enum { M_DELIVERY, M_LEASE, M_STARTED, M_STATUS, M_LATENCY, M_ERROR, M_OUTCOME, M_WAIT, M_AT, N_M };

/* The arrays of stmt_record for the attempts of tenant among done[0..n),
 * in arrays (reset first) and values. A transfer that failed before its
 * row's address was read records "(0,0)", no row's address, and so is
 * found by its key. */
static int attempt_arrays(transfer_t *const *done, int n, const char *tenant,
                          bw_pgarray_t arrays[N_M], const char *values[N_M])
{
    int err = 0;
    for (int c = 0; c < N_M; c++)
        bw_pgarray_reset(&arrays[c]);
    for (int i = 0; i < n && err == 0; i++) {
        const transfer_t *t = done[i];
        if (strcmp(t->tenant, tenant) != 0)
            continue;
        char started[24], code[24], latency[24], wait[24];
        snprintf(started, sizeof(started), "%lld", t->started_us);
        snprintf(code, sizeof(code), "%ld", t->status);
        snprintf(latency, sizeof(latency), "%ld", t->latency_ms);
        snprintf(wait, sizeof(wait), "%lld", t->wait_ms);
        const char *row[N_M] = {[M_DELIVERY] = t->delivery,
                                [M_LEASE] = t->lease,
                                [M_STARTED] = started,
                                [M_STATUS] = code,
                                [M_LATENCY] = latency,
                                [M_ERROR] = t->error,
                                [M_OUTCOME] = bw_attempt_outcome_state(t->outcome),
                                [M_WAIT] = wait,
                                [M_AT] = t->at != NULL ? t->at : "(0,0)"};
        for (int c = 0; c < N_M && err == 0; c++)
            err = bw_pgarray_add(&arrays[c], row[c]);
    }
    for (int c = 0; c < N_M && err == 0; c++)
        if ((values[c] = bw_pgarray_close(&arrays[c])) == NULL)
            err = BW_ENOMEM;
    return err;
}

/* Records the attempt of t alone; disables the endpoint when the delivery
 * failed for good. A failure is logged: the lease then runs out and the
 * delivery is attempted again. */
static void record_one(bw_deliverer_t *dv, transfer_t *t)
{
    bw_pgarray_t arrays[N_M];
    memset(arrays, 0, sizeof(arrays));
    const char *values[N_M];
    int err = attempt_arrays(&t, 1, t->tenant, arrays, values);
    bw_arena_reset(dv->scratch);
    bw_db_set_log_ctx(dv->db, &t->log);
    if (err == 0 && (t->outcome == BW_ATTEMPT_FAILED || t->outcome == BW_ATTEMPT_GONE)) {
        const char *reason =
            t->outcome == BW_ATTEMPT_GONE
                ? "the endpoint answered 410 Gone"
                : bw_arena_printf(dv->scratch,
                                  "the delivery of event %s failed %d times in a row; the last "
                                  "attempt: %s",
                                  t->event_id, t->cycle_attempts + 1, t->error);
        int disabled = 0;
        if (reason == NULL) {
            err = BW_ENOMEM;
        } else if ((err = bw_db_begin(dv->db, t->tenant)) == 0) {
            if ((err = bw_db_exec(dv->db, dv->scratch, &stmt_record, N_M, values, NULL)) == 0 &&
                (err = bw_endpoints_disable(dv->db, dv->scratch, &t->log, t->endpoint, reason,
                                            &disabled)) == 0)
                err = bw_db_commit(dv->db);
            else
                bw_db_rollback(dv->db);
        }
        if (err == BW_ENOTFOUND)
            err = 0; /* the endpoint was deleted meanwhile, and its deliveries with it */
        if (err == 0 && disabled)
            bw_log(BW_LOG_WARN, &t->log, "webhook endpoint %s disabled: %s", t->endpoint, reason);
    } else if (err == 0) {
        err = bw_db_exec1(dv->db, dv->scratch, t->tenant, &stmt_record, N_M, values, NULL);
    }
    for (int c = 0; c < N_M; c++)
        bw_pgarray_free(&arrays[c]);
    dv->dry = 0; /* it may have freed a later delivery of its resource */
    log_outcome(t, err);
    bw_db_set_log_ctx(dv->db, NULL);
}

/* Records the attempts of tenant among done[0..n), none of which disables
 * its endpoint, in one statement of its own transaction, one round trip;
 * if that fails, each is tried alone. */
static void record_tenant(bw_deliverer_t *dv, transfer_t **done, int n, const char *tenant,
                          bw_pgarray_t *arrays)
{
    const char *values[N_M];
    int err = attempt_arrays(done, n, tenant, arrays, values);
    bw_arena_reset(dv->scratch);
    PGresult *res = NULL;
    if (err == 0)
        err = bw_db_exec1(dv->db, dv->scratch, tenant, &stmt_record, N_M, values, &res);
    if (err == 0 && (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "0") != 0))
        dv->dry = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(done[i]->tenant, tenant) != 0)
            continue;
        if (err != 0)
            record_one(dv, done[i]);
        else
            log_outcome(done[i], 0);
    }
}

/* Records attempts that disable no endpoint, done[0..n), with a statement
 * per tenant. */
static void record_many(bw_deliverer_t *dv, transfer_t **done, int n)
{
    bw_pgarray_t arrays[N_M];
    memset(arrays, 0, sizeof(arrays));
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(done[j]->tenant, done[i]->tenant) == 0;
        if (!seen)
            record_tenant(dv, done, n, done[i]->tenant, arrays);
    }
    for (int c = 0; c < N_M; c++)
        bw_pgarray_free(&arrays[c]);
}

/* What went wrong with a finished transfer, "" when nothing did. */
static void describe(const transfer_t *t, CURLcode code, long status, char *out, size_t len)
{
    if (code == CURLE_WRITE_ERROR && t->body_capped)
        code = CURLE_OK; /* we stopped reading: the status stands */
    if (code != CURLE_OK) {
        if (t->guard.refused[0] != '\0')
            snprintf(out, len, "%s", t->guard.refused);
        else if (code == CURLE_OPERATION_TIMEDOUT)
            snprintf(out, len, "no answer within %ld ms", t->dv->svc->timeout_ms);
        else
            snprintf(out, len, "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
    } else if (status >= 300 && status <= 399) {
        snprintf(out, len, "HTTP %ld: redirects are not followed%s%s%s", status,
                 t->location[0] ? " (Location: " : "", t->location, t->location[0] ? ")" : "");
    } else if (status < 200 || status > 299) {
        snprintf(out, len, "HTTP %ld", status);
    } else {
        out[0] = '\0';
    }
    /* The error column holds printable text; libcurl's may carry anything. */
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
}

static void finish(bw_deliverer_t *dv, transfer_t *t, CURLcode code)
{
    long status = 0;
    curl_off_t total_us = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    char error[ERROR_MAX + 1];
    describe(t, code, status, error, sizeof(error));
    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && t->body_capped))
        status = 0;
    long latency_ms = (long)(total_us / 1000);
    if (latency_ms == 0 && code != CURLE_OK)
        latency_ms = (long)((now_us() - t->started_us) / 1000);
    decide(dv, t, status, latency_ms, error);
}

/* Records the attempts that ended and waited (dv->ended), frees them, and
 * claims again for what the record freed. */
static void record_ended(bw_deliverer_t *dv)
{
    if (dv->n_ended == 0)
        return;
    int n = dv->n_ended;
    dv->n_ended = 0;
    event_del(dv->record);
    record_many(dv, dv->ended, n);
    for (int i = 0; i < n; i++)
        free_transfer(dv->ended[i]);
    if (!dv->closing)
        event_active(dv->refill, 0, 0);
}

static void on_record(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    record_ended(arg);
}

/* Collects finished transfers: one that disables its endpoint is recorded
 * at once, the others wait for record_ended. Then refills what they freed. */
static void collect(bw_deliverer_t *dv)
{
    CURLMsg *msg;
    int left, finished = 0;
    dv->collecting = 1;
    while ((msg = curl_multi_info_read(dv->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *private = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private);
        CURLcode code = msg->data.result;
        if (*(int *)(void *)private == KIND_REQUEST) {
            bw_deliverer_request_t *req = (bw_deliverer_request_t *)(void *)private;
            bw_deliverer_cancel_request(dv, req);
            req->done(req, code);
            continue;
        }
        transfer_t *t = (transfer_t *)(void *)private;
        curl_multi_remove_handle(dv->multi, t->easy);
        unlink_transfer(t);
        finish(dv, t, code);
        finished++;
        if (t->outcome == BW_ATTEMPT_RETRY && bw_deliverer_unreachable(t->status))
            hold(dv, t->slot, t->wait_ms);
        if (t->outcome == BW_ATTEMPT_FAILED || t->outcome == BW_ATTEMPT_GONE) {
            record_ended(dv); /* in the order they ended */
            record_one(dv, t);
            free_transfer(t);
            continue;
        }
        if (dv->n_ended == RECORD_BATCH)
            record_ended(dv);
        dv->ended[dv->n_ended++] = t;
        if (dv->n_ended == 1) {
            struct timeval delay = {0, RECORD_DELAY_MS * 1000};
            evtimer_add(dv->record, &delay);
        }
    }
    dv->collecting = 0;
    /* Attempts that end in the same round of the loop share one claim,
     * made once the round is over. */
    if (finished > 0 && !dv->closing)
        event_active(dv->refill, 0, 0);
}

static int fill(bw_deliverer_t *dv, int when_short);

static void on_refill(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    fill(arg, 1);
}

/* ---- endpoints' slots ------------------------------------------------------ */

static size_t bucket_of(const bw_deliverer_t *dv, const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)id; *c; c++)
        h = (h ^ *c) * 16777619u;
    return h & (dv->n_buckets - 1);
}

/* The slot of endpoint id, or NULL. */
static endpoint_slot_t *slot_find(const bw_deliverer_t *dv, const char *id)
{
    endpoint_slot_t *e = dv->buckets[bucket_of(dv, id)];
    while (e != NULL && strcmp(e->id, id) != 0)
        e = e->chain;
    return e;
}

/* The slot of endpoint id, made if there is none, with one more reference;
 * NULL when out of memory. */
static endpoint_slot_t *slot_hold(bw_deliverer_t *dv, const char *id)
{
    endpoint_slot_t *e = slot_find(dv, id);
    if (e == NULL) {
        size_t b = bucket_of(dv, id);
        if ((e = calloc(1, sizeof(*e))) == NULL)
            return NULL;
        snprintf(e->id, sizeof(e->id), "%s", id);
        e->chain = dv->buckets[b];
        dv->buckets[b] = e;
        e->next = dv->endpoints;
        if (dv->endpoints != NULL)
            dv->endpoints->prev = e;
        dv->endpoints = e;
    }
    e->refs++;
    return e;
}

/* Drops a reference to e; the last frees it. */
static void slot_release(bw_deliverer_t *dv, endpoint_slot_t *e)
{
    if (--e->refs > 0)
        return;
    endpoint_slot_t **at = &dv->buckets[bucket_of(dv, e->id)];
    while (*at != e)
        at = &(*at)->chain;
    *at = e->chain;
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        dv->endpoints = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    free(e);
}

/* Takes e out of the ready list, if it is in it. */
static void ready_remove(bw_deliverer_t *dv, endpoint_slot_t *e)
{
    if (!e->ready)
        return;
    e->ready = 0;
    if (e->ready_prev != NULL)
        e->ready_prev->ready_next = e->ready_next;
    else
        dv->ready = e->ready_next;
    if (e->ready_next != NULL)
        e->ready_next->ready_prev = e->ready_prev;
    else
        dv->ready_tail = e->ready_prev;
    e->ready_prev = e->ready_next = NULL;
}

/* Puts e at the end of the ready list when it has a waiting transfer and a
 * free slot, takes it out when not. */
static void ready_update(bw_deliverer_t *dv, endpoint_slot_t *e)
{
    int ready = e->queue != NULL && !e->held && e->in_flight < dv->svc->endpoint_concurrency;
    if (!ready) {
        ready_remove(dv, e);
        return;
    }
    if (e->ready)
        return;
    e->ready = 1;
    e->ready_next = NULL;
    e->ready_prev = dv->ready_tail;
    if (dv->ready_tail != NULL)
        dv->ready_tail->ready_next = e;
    else
        dv->ready = e;
    dv->ready_tail = e;
}

/* ---- starting attempts ------------------------------------------------------ */

/* Opens a sealed key into key; 0, or BW_E* (a wrong BULWARK_SECRETS_KEY
 * shows as BW_EPERM). */
static int open_key(bw_deliverer_t *dv, const uint8_t *sealed, size_t len, const char *context,
                    uint8_t key[BW_WEBHOOK_KEY_LEN])
{
    size_t n = 0;
    int err =
        bw_unseal_ring(&dv->svc->seal_keys, context, sealed, len, key, BW_WEBHOOK_KEY_LEN, &n);
    if (err == 0 && n != BW_WEBHOOK_KEY_LEN)
        err = BW_EINVAL;
    return err;
}

/* The webhook-signature header: a signature per valid secret. */
static char *signature_header(bw_deliverer_t *dv, transfer_t *t, long long timestamp, int *err)
{
    char context[BW_ENDPOINT_SEAL_CONTEXT_LEN];
    bw_integrations_seal_context(t->tenant, t->endpoint, context);
    uint8_t key[BW_WEBHOOK_KEY_LEN];
    char current[BW_WEBHOOK_SIGNATURE_LEN], previous[BW_WEBHOOK_SIGNATURE_LEN] = "";
    size_t body_len = strlen(t->body);
    if ((*err = open_key(dv, t->secret, t->secret_len, context, key)) != 0)
        return NULL;
    bw_webhook_sign(key, sizeof(key), t->event_id, timestamp, t->body, body_len, current);
    if (t->previous != NULL) {
        if ((*err = open_key(dv, t->previous, t->previous_len, context, key)) != 0) {
            OPENSSL_cleanse(key, sizeof(key));
            return NULL;
        }
        bw_webhook_sign(key, sizeof(key), t->event_id, timestamp, t->body, body_len, previous);
    }
    OPENSSL_cleanse(key, sizeof(key));
    char *header = bw_arena_printf(t->arena, "webhook-signature: %s%s%s", current,
                                   previous[0] ? " " : "", previous);
    *err = header != NULL ? 0 : BW_ENOMEM;
    return header;
}

/* Appends a header line; 0 or BW_ENOMEM. */
static int add_header(transfer_t *t, const char *line)
{
    struct curl_slist *grown = line != NULL ? curl_slist_append(t->headers, line) : NULL;
    if (grown == NULL)
        return BW_ENOMEM;
    t->headers = grown;
    return 0;
}

/* Takes what the attempt of one claimed row needs into t's arena: the row
 * goes when the claim's rows have been taken. 0 or BW_ENOMEM. */
static int take(bw_deliverer_t *dv, transfer_t *t, const PGresult *res, int row,
                const bw_deliverer_event_t *event)
{
    bw_arena_t *a = t->arena;
    t->cycle_attempts = (int)bw_store_int(res, row, CL_CYCLE);
    t->guard.policy = &dv->svc->netpolicy;
    t->body = event != NULL ? bw_webhook_body(a, event->type, event->time, event->data)
                            : bw_webhook_body(a, bw_store_text(res, row, CL_TYPE),
                                              bw_store_text(res, row, CL_TIME),
                                              bw_store_text(res, row, CL_DATA));
    if (BW_STORE_COLUMNS(a, res, row, {CL_TENANT, &t->tenant}, {CL_DELIVERY, &t->delivery},
                         {CL_LEASE, &t->lease}, {CL_ENDPOINT, &t->endpoint},
                         {CL_EVENT, &t->event_id}, {CL_AT, &t->at}, {CL_URL, &t->url}) != 0 ||
        t->body == NULL ||
        bw_store_bytea(a, res, row, CL_SECRET, &t->secret, &t->secret_len) != 0 ||
        (!PQgetisnull(res, row, CL_PREVIOUS) &&
         bw_store_bytea(a, res, row, CL_PREVIOUS, &t->previous, &t->previous_len) != 0))
        return BW_ENOMEM;
    t->log.tenant_id = t->tenant;
    return 0;
}

/* Signs the attempt as of now and sets up its transfer. On failure the
 * caller records the reason (why) as a failed attempt. */
static int begin(bw_deliverer_t *dv, transfer_t *t, char *why, size_t whylen)
{
    bw_arena_t *a = t->arena;
    t->started_us = now_us();
    long long timestamp = t->started_us / 1000000;
    int err;
    char *signature = signature_header(dv, t, timestamp, &err);
    if (signature == NULL) {
        snprintf(why, whylen, "%s",
                 err == BW_EPERM ? "the endpoint's signing secret was sealed under another "
                                   "BULWARK_SECRETS_KEY"
                                 : "the endpoint's signing secret cannot be opened");
        return err;
    }
    if ((err = add_header(t, "Content-Type: application/json")) != 0 ||
        (err = add_header(t, USER_AGENT)) != 0 || (err = add_header(t, "Expect:")) != 0 ||
        (err = add_header(t, bw_arena_printf(a, "webhook-id: %s", t->event_id))) != 0 ||
        (err = add_header(t, bw_arena_printf(a, "webhook-timestamp: %lld", timestamp))) != 0 ||
        (err = add_header(t, signature)) != 0) {
        snprintf(why, whylen, "the delivery could not be prepared (out of memory)");
        return err;
    }
    if ((t->easy = curl_easy_init()) == NULL) {
        snprintf(why, whylen, "the delivery could not be prepared (libcurl)");
        return BW_ENOMEM;
    }
    CURL *e = t->easy;
    long timeout = dv->svc->timeout_ms;
    int ok =
        bw_netpolicy_curl_setup(e, &t->guard, t->url, timeout) == 0 &&
        curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body)) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_WRITEDATA, t) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_HEADERDATA, t) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t) == CURLE_OK;
    if (!ok) {
        snprintf(why, whylen, "the delivery could not be prepared (libcurl refused an option)");
        return BW_EINTERNAL;
    }
    if (curl_multi_add_handle(dv->multi, e) != CURLM_OK) {
        snprintf(why, whylen, "the delivery could not be started (libcurl)");
        return BW_EINTERNAL;
    }
    return 0;
}

/* Records an attempt that could not start (why), and frees t. */
static void give_up(bw_deliverer_t *dv, transfer_t *t, const char *why)
{
    if (t->delivery != NULL && t->lease != NULL) {
        t->started_us = now_us();
        decide(dv, t, 0, 0, why);
        record_one(dv, t);
    }
    free_transfer(t);
}

/* Takes one claimed row into the queue, or records why it could not. */
static void queue_row(bw_deliverer_t *dv, const PGresult *res, int row,
                      const bw_deliverer_event_t *event)
{
    transfer_t *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->arena = bw_arena_create(4096)) == NULL) {
        free(t);
        bw_log(BW_LOG_ERROR, NULL,
               "out of memory starting a delivery; it is attempted again "
               "when its lease runs out");
        return;
    }
    t->kind = KIND_DELIVERY;
    t->dv = dv;
    if (take(dv, t, res, row, event) != 0 || (t->slot = slot_hold(dv, t->endpoint)) == NULL) {
        give_up(dv, t, "the delivery could not be prepared (out of memory)");
        return;
    }
    endpoint_slot_t *e = t->slot;
    t->prev = e->queue_tail;
    t->next = NULL;
    if (e->queue_tail != NULL)
        e->queue_tail->next = t;
    else
        e->queue = t;
    e->queue_tail = t;
    dv->queued++;
    atomic_store_explicit(&dv->stats->queued, dv->queued, memory_order_relaxed);
    e->queued++;
    ready_update(dv, e);
}

/* Takes t off its endpoint's queue. */
static void dequeue(bw_deliverer_t *dv, transfer_t *t)
{
    endpoint_slot_t *e = t->slot;
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        e->queue = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    else
        e->queue_tail = t->prev;
    t->prev = t->next = NULL;
    dv->queued--;
    atomic_store_explicit(&dv->stats->queued, dv->queued, memory_order_relaxed);
    e->queued--;
    ready_update(dv, e);
}

/* Gives back the lease of t, which did not start or was aborted (not an
 * attempt: its delivery is due again), and frees t. */
static void release(bw_deliverer_t *dv, transfer_t *t)
{
    const char *values[] = {t->delivery, t->lease};
    bw_arena_reset(dv->scratch);
    dv->dry = 0; /* due again */
    if (bw_db_exec1(dv->db, dv->scratch, t->tenant, &stmt_release, 2, values, NULL) != 0)
        bw_log(BW_LOG_WARN, &t->log,
               "could not give back the lease of delivery %s; it is attempted again when "
               "the lease runs out",
               t->delivery);
    free_transfer(t);
}

/* Gives back the leases of what waits for e. */
static void release_queued(bw_deliverer_t *dv, endpoint_slot_t *e)
{
    e->refs++; /* e outlives its last transfer here */
    while (e->queue != NULL) {
        transfer_t *t = e->queue;
        dequeue(dv, t);
        release(dv, t);
    }
    slot_release(dv, e);
}

/* Gives back the leases of everything waiting. */
static void release_all_queued(bw_deliverer_t *dv)
{
    endpoint_slot_t *e = dv->endpoints;
    while (e != NULL) {
        /* Giving back e's frees no other slot. */
        endpoint_slot_t *next = e->next;
        release_queued(dv, e);
        e = next;
    }
}

/* An attempt that got no answer (it could not connect, or timed out), or
 * one that says the receiver is overloaded or down (429, 502, 503, 504),
 * speaks for every delivery to its endpoint, not only its own. */
int bw_deliverer_unreachable(long status)
{
    return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

/* Leaves e alone for ms (at most HOLD_MAX_MS): what waits here for it is
 * given back, and nothing more is started, claimed or handed over for it
 * until then; attempts in flight go on. Each of its deliveries keeps its
 * own schedule: those given back were not attempted, and are due again
 * once the hold ends, when the next claim's first round of attempts shows
 * whether the endpoint answers again (docs/DESIGN.md, "Deliveries,
 * retries, disabling"). */
static void hold(bw_deliverer_t *dv, endpoint_slot_t *e, long long ms)
{
    if (ms > HOLD_MAX_MS)
        ms = HOLD_MAX_MS;
    long long until = now_us() + (ms > 0 ? ms : 0) * 1000;
    if (!e->held) {
        e->held = 1;
        e->refs++;
        atomic_fetch_add_explicit(&dv->stats->held_endpoints, 1, memory_order_relaxed);
    }
    if (until > e->hold_until_us)
        e->hold_until_us = until;
    ready_remove(dv, e);
    if (e->queue != NULL)
        release_queued(dv, e);
}

/* Ends e's hold, if it has one; e may be freed. */
static void unhold(bw_deliverer_t *dv, endpoint_slot_t *e)
{
    if (!e->held)
        return;
    e->held = 0;
    e->hold_until_us = 0;
    atomic_fetch_sub_explicit(&dv->stats->held_endpoints, 1, memory_order_relaxed);
    ready_update(dv, e);
    slot_release(dv, e);
}

/* Ends the holds that are over. Run before every claim: the walk is skipped
 * while nothing is held, as almost always. */
static void unhold_expired(bw_deliverer_t *dv)
{
    if (atomic_load_explicit(&dv->stats->held_endpoints, memory_order_relaxed) == 0)
        return;
    long long now = now_us();
    endpoint_slot_t *e = dv->endpoints;
    while (e != NULL) {
        endpoint_slot_t *next = e->next; /* e may be freed */
        if (e->held && e->hold_until_us <= now)
            unhold(dv, e);
        e = next;
    }
}

/* Gives back what waits for endpoints the database says changed (updated,
 * disabled, rotated or deleted: integrations migration 0012), and ends
 * their holds; every waiting delivery when notifications may have been
 * missed: each is claimed again as the endpoint now is, or not at all.
 * What is in flight goes on. A replay of an endpoint's delivery only ends
 * the endpoint's hold: what waits for it is as good as before. */
static void forget_changed(bw_deliverer_t *dv)
{
    static const char replayed[] = BW_DELIVERER_REPLAY_NOTICE;
    char notice[sizeof(replayed) + BW_UUID_STR_LEN];
    int got;
    while ((got = bw_db_notification(dv->db, notice, sizeof(notice))) != 0) {
        if (got < 0) {
            release_all_queued(dv);
            continue;
        }
        int replay = strncmp(notice, replayed, sizeof(replayed) - 1) == 0;
        endpoint_slot_t *e = slot_find(dv, replay ? notice + sizeof(replayed) - 1 : notice);
        if (e == NULL)
            continue;
        /* A hold's reference keeps e through release_queued; without one,
         * e may be gone after it (and after unhold). */
        int held = e->held;
        if (!replay)
            release_queued(dv, e);
        if (held)
            unhold(dv, e); /* a new URL, or a replay, is worth trying at once */
    }
}

/* Starts waiting transfers while there is room in all: the oldest of each
 * endpoint with a free slot, the endpoints in turn. */
static void launch(bw_deliverer_t *dv)
{
    forget_changed(dv);
    while (dv->ready != NULL && dv->in_flight < dv->svc->concurrency) {
        endpoint_slot_t *e = dv->ready;
        transfer_t *t = e->queue;
        /* Its turn is over: dequeue puts it at the end of the list if it
         * stays ready. */
        ready_remove(dv, e);
        dequeue(dv, t);
        char why[200] = "";
        if (begin(dv, t, why, sizeof(why)) != 0) {
            give_up(dv, t, why);
            continue;
        }
        t->next = dv->head;
        if (dv->head != NULL)
            dv->head->prev = t;
        dv->head = t;
        dv->in_flight++;
        atomic_store_explicit(&dv->stats->in_flight, dv->in_flight, memory_order_relaxed);
        e->in_flight++;
        ready_update(dv, e);
    }
}

/* Adds each endpoint with attempts in flight or queued here, and how many,
 * to busy and counts. 0 or BW_ENOMEM. */
static int busy_endpoints(const bw_deliverer_t *dv, bw_pgarray_t *busy, bw_pgarray_t *counts,
                          int cap, int *capped)
{
    *capped = 0;
    for (const endpoint_slot_t *e = dv->endpoints; e != NULL; e = e->next) {
        /* A held endpoint has its share: the claim leaves it out. */
        int n = e->held ? cap : e->in_flight + e->queued;
        if (n >= cap)
            *capped = 1;
        char count[16];
        snprintf(count, sizeof(count), "%d", n);
        if (n > 0 && (bw_pgarray_add(busy, e->id) != 0 || bw_pgarray_add(counts, count) != 0))
            return BW_ENOMEM;
    }
    return 0;
}

/* Claims due deliveries into the queue and starts what may start. With
 * when_short (after attempts end; the dispatcher's tick claims whatever is
 * queued), only if fewer than one endpoint's worth are queued, and not
 * while dry: a claim that found nothing while no endpoint had its share
 * here (so none was left out of it) shows nothing is due, until time
 * passes (the tick), a lease is given back, or a record finishes a
 * delivery whose resource has another waiting. */
static int fill(bw_deliverer_t *dv, int when_short)
{
    if (dv->closing || dv->collecting)
        return 0;
    unhold_expired(dv);
    launch(dv);
    long room = (long)dv->svc->concurrency * PREFETCH - dv->in_flight - dv->queued;
    if (room <= 0 || (when_short && (dv->dry || dv->queued >= dv->svc->endpoint_concurrency)))
        return 0;

    char limit[24], per_endpoint[24], lease[24];
    snprintf(limit, sizeof(limit), "%ld", room);
    snprintf(per_endpoint, sizeof(per_endpoint), "%ld",
             (long)dv->svc->endpoint_concurrency * PREFETCH);
    /* A queued delivery may wait for PREFETCH - 1 rounds of attempts
     * before its own. */
    snprintf(lease, sizeof(lease), "%ld",
             bw_deliverer_lease_seconds(dv, (int)dv->svc->endpoint_concurrency * PREFETCH - 1));
    bw_pgarray_t busy = {0}, counts = {0};
    int capped;
    int err =
        busy_endpoints(dv, &busy, &counts, (int)dv->svc->endpoint_concurrency * PREFETCH, &capped);
    const char *values[] = {limit, per_endpoint, lease, bw_pgarray_close(&busy),
                            bw_pgarray_close(&counts)};
    /* The claimed rows outlive the scratch arena's resets while they are
     * taken. */
    bw_arena_t *claim = bw_arena_create(0);
    PGresult *res;
    if (err == 0 && (claim == NULL || values[3] == NULL || values[4] == NULL))
        err = BW_ENOMEM;
    if (err == 0)
        err = bw_db_exec1(dv->db, claim, NULL, &stmt_claim, 5, values, &res);
    bw_pgarray_free(&busy);
    bw_pgarray_free(&counts);
    if (err != 0) {
        bw_arena_destroy(claim);
        return err;
    }
    int n = PQntuples(res);
    dv->dry = n == 0 && !capped;
    for (int row = 0; row < n; row++)
        queue_row(dv, res, row, NULL);
    bw_arena_destroy(claim);
    launch(dv);
    return n;
}

int bw_deliverer_fill(bw_deliverer_t *dv)
{
    return fill(dv, 0);
}

int bw_deliverer_room(const bw_deliverer_t *dv, const char *endpoint, int *ahead)
{
    if (dv == NULL || dv->closing)
        return 0;
    long total = (long)dv->svc->concurrency * PREFETCH - dv->in_flight - dv->queued;
    if (endpoint == NULL)
        return total > 0 ? (int)(total > INT_MAX ? INT_MAX : total) : 0;
    const endpoint_slot_t *e = slot_find(dv, endpoint);
    *ahead = e != NULL ? e->in_flight + e->queued : 0;
    if (e != NULL && e->held)
        return 0; /* made due, for a claim after the hold */
    /* Half the claim's total stays for claims: handed deliveries of one
     * endpoint that answers slowly, refilled as fast as its attempts end,
     * left no room for any other endpoint's claim (every tenant's
     * deliveries waited for that endpoint's backlog). */
    long room = (long)dv->svc->endpoint_concurrency * HANDOFF_ROUNDS - *ahead;
    long reserve = (long)dv->svc->concurrency * PREFETCH / 2;
    if (room > total - reserve)
        room = total - reserve;
    return room > 0 ? (int)room : 0;
}

long bw_deliverer_lease_seconds(const bw_deliverer_t *dv, int ahead)
{
    return dv->svc->timeout_ms / 1000 * (ahead / dv->svc->endpoint_concurrency + 1) +
           LEASE_MARGIN_SEC;
}

void bw_deliverer_hand(bw_deliverer_t *dv, const PGresult *res, const bw_deliverer_event_t *events)
{
    for (int row = 0; row < PQntuples(res); row++)
        queue_row(dv, res, row, &events[row]);
    launch(dv);
}

int bw_deliverer_add_request(bw_deliverer_t *dv, bw_deliverer_request_t *req)
{
    req->kind = KIND_REQUEST;
    if (curl_easy_setopt(req->easy, CURLOPT_PRIVATE, (char *)req) != CURLE_OK ||
        curl_multi_add_handle(dv->multi, req->easy) != CURLM_OK)
        return BW_EINTERNAL;
    req->prev = NULL;
    req->next = dv->requests;
    if (dv->requests != NULL)
        dv->requests->prev = req;
    dv->requests = req;
    return 0;
}

void bw_deliverer_cancel_request(bw_deliverer_t *dv, bw_deliverer_request_t *req)
{
    int listed = req->prev != NULL || dv->requests == req;
    if (!listed)
        return;
    curl_multi_remove_handle(dv->multi, req->easy);
    if (req->prev != NULL)
        req->prev->next = req->next;
    else
        dv->requests = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

int bw_deliverer_in_flight(const bw_deliverer_t *dv)
{
    return dv->in_flight;
}

int bw_deliverer_create(struct event_base *base, bw_db_t *db, const bw_integrations_t *svc,
                        bw_deliverer_stats_t *stats, bw_deliverer_t **out)
{
    bw_deliverer_t *dv = calloc(1, sizeof(*dv));
    if (dv == NULL)
        return BW_ENOMEM;
    dv->base = base;
    dv->db = db;
    dv->svc = svc;
    dv->stats = stats;
    dv->multi = curl_multi_init();
    dv->timer = evtimer_new(base, on_timer, dv);
    dv->refill = event_new(base, -1, 0, on_refill, dv);
    dv->record = evtimer_new(base, on_record, dv);
    dv->scratch = bw_arena_create(0);
    /* A bucket per claim's worth of endpoints at most. */
    for (dv->n_buckets = 64; dv->n_buckets < (size_t)svc->concurrency * PREFETCH;)
        dv->n_buckets *= 2;
    dv->buckets = calloc(dv->n_buckets, sizeof(*dv->buckets));
    if (dv->multi == NULL || dv->timer == NULL || dv->refill == NULL || dv->record == NULL ||
        dv->scratch == NULL || dv->buckets == NULL ||
        curl_multi_setopt(dv->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(dv->multi, CURLMOPT_SOCKETDATA, dv) != CURLM_OK ||
        curl_multi_setopt(dv->multi, CURLMOPT_TIMERFUNCTION, on_timer_change) != CURLM_OK ||
        curl_multi_setopt(dv->multi, CURLMOPT_TIMERDATA, dv) != CURLM_OK ||
        curl_multi_setopt(dv->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, svc->concurrency) !=
            CURLM_OK) {
        bw_deliverer_destroy(dv);
        return BW_ENOMEM;
    }
    int err = bw_db_listen(db, BW_DELIVERER_ENDPOINTS_CHANNEL);
    if (err != 0) {
        bw_deliverer_destroy(dv);
        return err;
    }
    *out = dv;
    return 0;
}

void bw_deliverer_destroy(bw_deliverer_t *dv)
{
    if (dv == NULL)
        return;
    dv->closing = 1;
    /* Attempts that ended are recorded; aborted attempts are not attempts,
     * and queued ones did not start: their deliveries are due again. */
    record_ended(dv);
    while (dv->head != NULL) {
        transfer_t *t = dv->head;
        curl_multi_remove_handle(dv->multi, t->easy);
        unlink_transfer(t);
        release(dv, t);
    }
    release_all_queued(dv);
    for (endpoint_slot_t *e = dv->endpoints, *next; e != NULL; e = next) {
        next = e->next; /* what remains is held; unhold frees it */
        unhold(dv, e);
    }
    if (dv->multi != NULL)
        curl_multi_cleanup(dv->multi);
    /* Sockets libcurl did not remove itself while cleaning up. */
    while (dv->watches != NULL)
        unwatch(dv, dv->watches);
    if (dv->timer != NULL)
        event_free(dv->timer);
    if (dv->refill != NULL)
        event_free(dv->refill);
    if (dv->record != NULL)
        event_free(dv->record);
    bw_arena_destroy(dv->scratch);
    free(dv->buckets);
    free(dv);
}

void bw_attempt_counts_add(bw_attempt_counts_t *counts, bw_attempt_outcome_t outcome)
{
    bw_metrics_inc(outcome == BW_ATTEMPT_SUCCEEDED ? &counts->succeeded
                   : outcome == BW_ATTEMPT_RETRY   ? &counts->retrying
                                                   : &counts->failed);
}

void bw_attempt_counts_render(const bw_attempt_counts_t *counts, const char *name, const char *help,
                              bw_metrics_text_t *text)
{
    bw_metrics_family(text, name, "counter", help);
    bw_metrics_printf(text,
                      "%s{result=\"succeeded\"} %llu\n%s{result=\"retrying\"} %llu\n"
                      "%s{result=\"failed\"} %llu\n",
                      name, bw_metrics_get(&counts->succeeded), name,
                      bw_metrics_get(&counts->retrying), name, bw_metrics_get(&counts->failed));
}

void bw_deliverer_stats_render(const bw_deliverer_stats_t *stats, bw_metrics_text_t *text)
{
    bw_attempt_counts_render(
        &stats->attempts, "bulwark_webhook_attempts_total",
        "Webhook delivery attempts by what they came to: succeeded (2xx), retrying "
        "(tried again later), failed (schedule exhausted or 410: endpoint disabled).",
        text);
    bw_metrics_family(text, "bulwark_webhook_attempt_duration_seconds", "histogram",
                      "Duration of webhook delivery attempts, answered or not.");
    bw_metrics_put_hist(text, "bulwark_webhook_attempt_duration_seconds", "", &stats->latency);
    const struct {
        const char *name, *help;
        const atomic_int *value;
    } gauges[] = {
        {"bulwark_webhook_attempts_in_flight", "Webhook delivery attempts in flight.",
         &stats->in_flight},
        {"bulwark_webhook_deliveries_queued",
         "Deliveries claimed by this process and waiting for their endpoint's turn.",
         &stats->queued},
        {"bulwark_webhook_endpoints_held",
         "Endpoints this process leaves alone for a while after attempts that got no answer, "
         "429, 502, 503 or 504.",
         &stats->held_endpoints},
    };
    for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++) {
        bw_metrics_family(text, gauges[i].name, "gauge", gauges[i].help);
        bw_metrics_printf(text, "%s %d\n", gauges[i].name,
                          atomic_load_explicit(gauges[i].value, memory_order_relaxed));
    }
}
