/*
 * The dispatcher thread; see dispatcher.h.
 */
#include "dispatcher.h"

#include "deliverer.h"
#include "endpoints.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "relay.h"
#include "reseal.h"
#include "retention.h"
#include "tickets.h"
#include "connections.h"
#include "status.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RELAY_BATCH 200
/* Batches relayed in one tick at most, so that attempts in flight are
 * served in between. */
#define RELAY_BATCHES_PER_TICK 10
#define PRUNE_PERIOD_SEC 3600
/* How often the outbox's lag is measured for /metrics. */
#define LAG_PERIOD_SEC 1

struct bw_dispatcher {
    const bw_integrations_t *svc;
    pthread_t thread;
    int running;
    struct event_base *base;
    struct event *tick, *stop;
    bw_db_t *db;
    char *conninfo; /* the services' URL, with asynchronous commits */
    const bw_db_stmt_t **stmts;
    bw_arena_t *scratch;
    bw_deliverer_t *deliverer;
    bw_deliverer_stats_t delivery_stats; /* read by /metrics from another thread */
    bw_tickets_t *tickets;
    bw_attempt_counts_t ticket_attempts; /* read by /metrics from another thread */
    int failing;                         /* the last database operation failed: log recovery once */
    time_t next_prune;
    time_t next_history_prune;
    bw_retention_cursor_t history_cursor; /* where the sweep of events stopped */
    time_t next_reseal;                   /* with a previous secrets key only */
    bw_reseal_cursor_t reseal_cursor;
    bw_reseal_counts_t resealed; /* of the sweep under way */
    int reseal_sweeps;           /* sweeps ended */
    time_t next_lag;
    /* The last measurement, read by /metrics from another thread; the age
     * in microseconds. */
    atomic_llong lag_unrelayed;
    atomic_llong lag_oldest_us;
};

/* Logs a failure once, not once per tick, and its end. */
static void note(bw_dispatcher_t *d, int err, const char *what)
{
    if (err != 0 && !d->failing)
        bw_log(BW_LOG_ERROR, NULL, "dispatcher: could not %s: %s; retrying every %ld ms", what,
               bw_strerror(err), d->svc->poll_ms);
    else if (err == 0 && d->failing)
        bw_log(BW_LOG_INFO, NULL, "dispatcher: the database answers again");
    d->failing = err != 0;
}

/* A batch of the sweep that seals again under BULWARK_SECRETS_KEY what
 * BULWARK_SECRETS_KEY_PREVIOUS sealed (reseal.h): at the next tick while
 * the sweep goes on, then again in an hour. */
static void reseal_step(bw_dispatcher_t *d, time_t now)
{
    bw_arena_reset(d->scratch);
    int err = bw_reseal_run(d->db, d->scratch, &d->svc->seal_keys, BW_RESEAL_BATCH,
                            &d->reseal_cursor, &d->resealed);
    if (err != 0) {
        bw_log(BW_LOG_WARN, NULL, "could not seal secrets again under the new key: %s",
               bw_strerror(err));
        d->next_reseal = now + 60;
        return;
    }
    if (d->reseal_cursor.table < 2) {
        d->next_reseal = now;
        return;
    }
    memset(&d->reseal_cursor, 0, sizeof(d->reseal_cursor));
    if (d->resealed.changed > 0) {
        /* A secret rotated or credentials set while the sweep ran: once
         * more, to see what that left. */
        d->resealed.changed = 0;
        d->next_reseal = now;
        return;
    }
    /* The first sweep says how it ended, so that an operator knows when the
     * previous key may go; later ones only when they found something. */
    if (d->reseal_sweeps++ == 0 || d->resealed.resealed + d->resealed.failed > 0) {
        if (d->resealed.failed == 0)
            bw_log(BW_LOG_INFO, NULL,
                   "sealed %ld secrets again under BULWARK_SECRETS_KEY; none is left under "
                   "BULWARK_SECRETS_KEY_PREVIOUS (it may go once every replica has the new key)",
                   d->resealed.resealed);
        else
            bw_log(BW_LOG_WARN, NULL,
                   "sealed %ld secrets again under BULWARK_SECRETS_KEY; %ld marked as sealed "
                   "under BULWARK_SECRETS_KEY_PREVIOUS do not open and are left as they are",
                   d->resealed.resealed, d->resealed.failed);
    }
    memset(&d->resealed, 0, sizeof(d->resealed));
    d->next_reseal = now + PRUNE_PERIOD_SEC;
}

static void on_tick(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    bw_dispatcher_t *d = arg;
    int err = 0, claimed = RELAY_BATCH, made;
    if (d->deliverer == NULL)
        return; /* stopping */
    for (int i = 0; i < RELAY_BATCHES_PER_TICK && claimed == RELAY_BATCH && err == 0; i++) {
        bw_arena_reset(d->scratch);
        err = bw_relay_run(d->db, d->scratch, d->deliverer, RELAY_BATCH, &claimed, &made);
        if (err == 0 && claimed > 0)
            bw_log(BW_LOG_DEBUG, NULL, "relayed %d events into %d deliveries", claimed, made);
    }
    note(d, err, "relay the outbox");
    if (err != 0)
        return;
    int started = bw_deliverer_fill(d->deliverer);
    note(d, started < 0 ? started : 0, "claim due deliveries");
    if (started >= 0) {
        started = bw_tickets_fill(d->tickets);
        note(d, started < 0 ? started : 0, "claim due ticket jobs");
    }
    time_t now = time(NULL);
    if (now >= d->next_lag) {
        long long unrelayed = 0;
        double age = 0;
        bw_arena_reset(d->scratch);
        if (bw_relay_lag(d->db, d->scratch, &unrelayed, &age) == 0) {
            atomic_store_explicit(&d->lag_unrelayed, unrelayed, memory_order_relaxed);
            atomic_store_explicit(&d->lag_oldest_us, (long long)(age * 1e6), memory_order_relaxed);
        }
        d->next_lag = now + LAG_PERIOD_SEC;
    }
    if (now >= d->next_prune) {
        long pruned = 0;
        bw_arena_reset(d->scratch);
        err = bw_relay_prune(d->db, d->scratch, d->svc->outbox_retention_days, &pruned);
        if (err != 0)
            bw_log(BW_LOG_WARN, NULL, "could not prune the outbox: %s", bw_strerror(err));
        else if (pruned > 0)
            bw_log(BW_LOG_INFO, NULL, "pruned %ld relayed events from the outbox", pruned);
        d->next_prune = now + PRUNE_PERIOD_SEC;
    }
    if (now >= d->next_history_prune) {
        bw_retention_counts_t c = {0};
        bw_arena_reset(d->scratch);
        err = bw_retention_prune(d->db, d->scratch, 0, d->svc->retention_days, BW_RETENTION_BATCH,
                                 NULL, &d->history_cursor, &c);
        if (err != 0)
            bw_log(BW_LOG_WARN, NULL, "could not prune the integrations' history: %s",
                   bw_strerror(err));
        else if (c.log_entries + c.receipts + c.deliveries + c.ticket_jobs + c.events > 0)
            bw_log(BW_LOG_INFO, NULL,
                   "pruned %ld log entries, %ld receipts, %ld deliveries, %ld ticket jobs, %ld "
                   "events older than %ld days",
                   c.log_entries, c.receipts, c.deliveries, c.ticket_jobs, c.events,
                   d->svc->retention_days);
        /* A full batch, or a sweep of the events not at its end: more is
         * due, at the next tick, between deliveries. */
        d->next_history_prune = c.more && err == 0 ? now : now + PRUNE_PERIOD_SEC;
    }
    if (d->svc->seal_keys.has_previous && now >= d->next_reseal)
        reseal_step(d, now);
}

static void on_stop(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    bw_dispatcher_t *d = arg;
    /* On the loop's thread: abort what is in flight while the loop lives. */
    bw_tickets_destroy(d->tickets);
    d->tickets = NULL;
    bw_deliverer_destroy(d->deliverer);
    d->deliverer = NULL;
    event_base_loopbreak(d->base);
}

static void *run(void *arg)
{
    bw_dispatcher_t *d = arg;
    bw_log(BW_LOG_INFO, NULL,
           "dispatcher: relaying the outbox every %ld ms, at most %ld deliveries in flight (%ld "
           "per endpoint)",
           d->svc->poll_ms, d->svc->concurrency, d->svc->endpoint_concurrency);
    event_base_dispatch(d->base);
    return NULL;
}

static void free_dispatcher(bw_dispatcher_t *d)
{
    bw_tickets_destroy(d->tickets);
    bw_deliverer_destroy(d->deliverer);
    if (d->tick != NULL)
        event_free(d->tick);
    if (d->stop != NULL)
        event_free(d->stop);
    if (d->base != NULL)
        event_base_free(d->base);
    bw_db_close(d->db);
    free(d->conninfo);
    free(d->stmts);
    bw_arena_destroy(d->scratch);
    free(d);
}

/*
 * The dispatcher's connection commits without waiting for the WAL flush
 * (synchronous_commit off): it writes several times per delivery, on one
 * thread, and waiting for every flush would make disk latency the
 * deliveries' pace. Nothing can be lost that way: a crash can only undo its
 * last few commits, each whole. A relay undone leaves its events unrelayed,
 * so they are relayed again; an attempt's record undone leaves the delivery
 * leased, so it is attempted again when the lease runs out (the receiver
 * deduplicates by webhook-id, as Standard Webhooks asks). Writes made for
 * clients, on the workers' connections, keep synchronous commits. A
 * connection string that sets options itself is left as it is.
 */
static char *dispatcher_conninfo(const char *url)
{
    const char *setting = "synchronous_commit=off";
    size_t n = strlen(url) + 64;
    char *out = malloc(n);
    if (out == NULL)
        return NULL;
    if (strstr(url, "options") != NULL)
        snprintf(out, n, "%s", url);
    else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        snprintf(out, n, "%s%soptions=-c%%20%s", url, strchr(url, '?') != NULL ? "&" : "?",
                 "synchronous_commit%3Doff");
    else
        snprintf(out, n, "%s options='-c %s'", url, setting);
    return out;
}

int bw_dispatcher_start(const bw_integrations_t *svc, bw_dispatcher_t **out)
{
    bw_dispatcher_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return BW_ENOMEM;
    d->svc = svc;
    /* The statements of everything the loop runs. */
    const struct {
        const bw_db_stmt_t *const *stmts;
        size_t n;
    } tables[] = {{bw_relay_stmts, bw_relay_n_stmts},
                  {bw_deliverer_stmts, bw_deliverer_n_stmts},
                  {bw_endpoints_stmts, bw_endpoints_n_stmts},
                  {bw_tickets_stmts, bw_tickets_n_stmts},
                  {bw_connections_stmts, bw_connections_n_stmts},
                  {bw_outbox_stmts, bw_outbox_n_stmts},
                  {bw_retention_stmts, bw_retention_n_stmts},
                  {bw_reseal_stmts, bw_reseal_n_stmts}};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        n += tables[i].n;
    d->stmts = calloc(n, sizeof(*d->stmts));
    if (d->stmts == NULL) {
        free_dispatcher(d);
        return BW_ENOMEM;
    }
    n = 0;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        for (size_t j = 0; j < tables[i].n; j++)
            d->stmts[n++] = tables[i].stmts[j];
    d->conninfo = dispatcher_conninfo(svc->database_url);
    int err = d->conninfo != NULL ? bw_db_open(d->conninfo, d->stmts, n, 0, &d->db) : BW_ENOMEM;
    if (err != 0) {
        bw_log(BW_LOG_ERROR, NULL, "dispatcher: could not connect to the database: %s",
               bw_strerror(err));
        free_dispatcher(d);
        return err;
    }
    struct timeval period = {svc->poll_ms / 1000, (svc->poll_ms % 1000) * 1000};
    d->scratch = bw_arena_create(0);
    d->base = event_base_new();
    err = d->scratch != NULL && d->base != NULL ? 0 : BW_ENOMEM;
    if (err == 0)
        err = bw_deliverer_create(d->base, d->db, svc, &d->delivery_stats, &d->deliverer);
    if (err == 0)
        err =
            bw_tickets_create(d->db, svc, d->deliverer, d->base, &d->ticket_attempts, &d->tickets);
    if (err == 0) {
        d->tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
        d->stop = event_new(d->base, -1, 0, on_stop, d);
        if (d->tick == NULL || d->stop == NULL || event_add(d->tick, &period) != 0)
            err = BW_ENOMEM;
    }
    if (err == 0 && pthread_create(&d->thread, NULL, run, d) != 0)
        err = BW_EINTERNAL;
    if (err != 0) {
        free_dispatcher(d);
        return err;
    }
    d->running = 1;
    *out = d;
    return 0;
}

void bw_dispatcher_stop(bw_dispatcher_t *d)
{
    if (d == NULL)
        return;
    if (d->running) {
        /* Thread-safe: the base was made after evthread_use_pthreads. */
        event_active(d->stop, 0, 0);
        pthread_join(d->thread, NULL);
    }
    free_dispatcher(d);
}

void bw_dispatcher_metrics(const bw_dispatcher_t *d, bw_metrics_text_t *text)
{
    if (d == NULL)
        return;
    long long unrelayed = atomic_load_explicit(&d->lag_unrelayed, memory_order_relaxed);
    long long oldest_us = atomic_load_explicit(&d->lag_oldest_us, memory_order_relaxed);
    bw_metrics_family(text, "bulwark_outbox_unrelayed_events", "gauge",
                      "Events in the outbox not yet relayed (counted up to a million).");
    bw_metrics_printf(text, "bulwark_outbox_unrelayed_events %lld\n", unrelayed);
    bw_metrics_family(text, "bulwark_outbox_oldest_unrelayed_age_seconds", "gauge",
                      "Age of the oldest event not yet relayed; 0 when none waits.");
    bw_metrics_printf(text, "bulwark_outbox_oldest_unrelayed_age_seconds %lld.%06lld\n",
                      oldest_us / 1000000, oldest_us % 1000000);
    bw_deliverer_stats_render(&d->delivery_stats, text);
    bw_attempt_counts_render(&d->ticket_attempts, "bulwark_ticket_jobs_total",
                             "Attempts of Jira and ServiceNow jobs (open, move, update a ticket) "
                             "by what they came to: succeeded, retrying (429, 5xx, no answer), "
                             "failed.",
                             text);
}
