/*
 * bulwark-integrations: the gRPC server of the integrations service (webhook
 * endpoints and their delivery log, Jira and ServiceNow connections and
 * their inbound events), and its dispatcher thread, which
 * relays the outbox and delivers webhooks. Besides the settings every
 * service has, it reads the key that seals secrets at rest and the
 * webhooks' delivery settings.
 */
#include "bulwark/integrations/v1/integrations.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "bw_services.h"
#include "connections.h"
#include "deliveries.h"
#include "dispatcher.h"
#include "endpoints.h"
#include "inbound.h"
#include "incidents_client.h"
#include "inlimit.h"
#include "retention.h"
#include "integrations.h"
#include "log.h"
#include "service.h"
#include "status.h"

#include <curl/curl.h>
#include <event2/thread.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static const bw_rpc_handler_t handlers[] = {
    {"CreateWebhookEndpoint", bw_endpoints_create, BW_RPC_WRITE | BW_RPC_SECRET_REPLY},
    {"GetWebhookEndpoint", bw_endpoints_get},
    {"ListWebhookEndpoints", bw_endpoints_list},
    {"UpdateWebhookEndpoint", bw_endpoints_update, BW_RPC_WRITE},
    {"DeleteWebhookEndpoint", bw_endpoints_delete, BW_RPC_WRITE},
    {"RotateWebhookEndpointSecret", bw_endpoints_rotate_secret, BW_RPC_WRITE | BW_RPC_SECRET_REPLY},
    {"ListWebhookDeliveries", bw_deliveries_list},
    {"ReplayWebhookDelivery", bw_deliveries_replay, BW_RPC_WRITE},
    {"CreateConnection", bw_connections_create, BW_RPC_WRITE | BW_RPC_SECRET_REPLY},
    {"GetConnection", bw_connections_get},
    {"ListConnections", bw_connections_list},
    {"UpdateConnection", bw_connections_update, BW_RPC_WRITE},
    {"DeleteConnection", bw_connections_delete, BW_RPC_WRITE},
    /* Not writes of the request path: each writes its log entry itself (the
     * inbound ones once they know the tenant, which no header gives). */
    {"TestConnection", bw_connections_test},
    {"ListConnectionLog", bw_connections_log_list},
    {"ReceiveJiraEvent", bw_inbound_jira},
    {"ReceiveServiceNowEvent", bw_inbound_servicenow},
};

typedef struct integrations_config {
    const char *secrets_key;
    const char *secrets_key_previous;
    const char *retry_seconds;
    const char *allowed_cidrs;
    long timeout_ms;
    long concurrency;
    long endpoint_concurrency;
    long poll_ms;
    long outbox_retention_days;
    const char *incidents_addr;
    long incidents_timeout_ms;
    long inbound_per_min;
    long inbound_burst;
    long retention_days;
    long test_concurrency;
} integrations_config_t;

static integrations_config_t extra;

static const bw_config_item_t extra_items[] = {
    {"BULWARK_SECRETS_KEY", BW_CFG_STRING, NULL, 0, 0, offsetof(integrations_config_t, secrets_key),
     1, "key that seals secrets at rest (AES-256-GCM): 32 bytes as 64 hex digits or base64"},
    {"BULWARK_SECRETS_KEY_PREVIOUS", BW_CFG_STRING, "", 0, 0,
     offsetof(integrations_config_t, secrets_key_previous), 0,
     "while BULWARK_SECRETS_KEY is rotated, the key before it: what it sealed still opens, and "
     "is sealed again under the new key in the background"},
    {"BULWARK_WEBHOOK_RETRY_SECONDS", BW_CFG_STRING, BW_RETRY_DEFAULT, 0, 0,
     offsetof(integrations_config_t, retry_seconds), 0,
     "waits before each retry of a failed delivery, in seconds, comma-separated (each "
     "jittered by up to a fifth); when the last retry fails the endpoint is disabled"},
    {"BULWARK_WEBHOOK_ALLOWED_CIDRS", BW_CFG_STRING, "", 0, 0,
     offsetof(integrations_config_t, allowed_cidrs), 0,
     "comma-separated CIDRs webhooks may reach although private, loopback or link-local, and "
     "the only ones they may reach over plain http"},
    {"BULWARK_WEBHOOK_TIMEOUT_MS", BW_CFG_INT, "15000", 1000, 120000,
     offsetof(integrations_config_t, timeout_ms), 0,
     "how long one delivery attempt may take, connection included, in milliseconds"},
    {"BULWARK_WEBHOOK_CONCURRENCY", BW_CFG_INT, "64", 1, 10000,
     offsetof(integrations_config_t, concurrency), 0,
     "delivery attempts in flight in this process"},
    {"BULWARK_WEBHOOK_ENDPOINT_CONCURRENCY", BW_CFG_INT, "4", 1, 1000,
     offsetof(integrations_config_t, endpoint_concurrency), 0,
     "delivery attempts in flight to one endpoint from this process"},
    {"BULWARK_WEBHOOK_POLL_MS", BW_CFG_INT, "200", 10, 60000,
     offsetof(integrations_config_t, poll_ms), 0,
     "how often the outbox and the due deliveries are looked at, in milliseconds"},
    {"BULWARK_OUTBOX_RETENTION_DAYS", BW_CFG_INT, "7", 1, 3650,
     offsetof(integrations_config_t, outbox_retention_days), 0,
     "days relayed events stay in bulwark.outbox (deliveries keep their own copy)"},
    {"BULWARK_INTEGRATIONS_RETENTION_DAYS", BW_CFG_INT, BW_RETENTION_DEFAULT_DAYS,
     BW_RETENTION_MIN_DAYS, 3650, offsetof(integrations_config_t, retention_days), 0,
     "days the connection log, the inbound receipts (which de-duplicate Jira's and "
     "ServiceNow's redeliveries), finished webhook deliveries and finished ticket jobs are "
     "kept"},
    {"BULWARK_INCIDENTS_ADDR", BW_CFG_ADDR, BW_INCIDENTS_ADDR_DEFAULT, 0, 0,
     offsetof(integrations_config_t, incidents_addr), 0,
     "the incidents service, where Jira issues and ServiceNow incidents become incidents"},
    {"BULWARK_INCIDENTS_TIMEOUT_MS", BW_CFG_INT, "5000", 100, 60000,
     offsetof(integrations_config_t, incidents_timeout_ms), 0,
     "deadline of each call to the incidents service, in milliseconds"},
    {"BULWARK_INBOUND_RATE_PER_MIN", BW_CFG_INT, "600", 0, 1000000,
     offsetof(integrations_config_t, inbound_per_min), 0,
     "events a connection may send to its inbound route per minute, per integrations process "
     "(429 with Retry-After beyond it); 0: no limit"},
    {"BULWARK_INBOUND_BURST", BW_CFG_INT, "100", 1, 1000000,
     offsetof(integrations_config_t, inbound_burst), 0,
     "events a connection may send at once above its rate"},
    {"BULWARK_CONNECTION_TEST_CONCURRENCY", BW_CFG_INT, "1", 1, 64,
     offsetof(integrations_config_t, test_concurrency), 0,
     "connection tests (:test) in flight in this process at most (below BULWARK_WORKERS), "
     "each holding a worker for up to 8 s; beyond it 429 with Retry-After"},
};

static int init(const bw_service_config_t *config, void **service_data)
{
    bw_integrations_t *svc = calloc(1, sizeof(*svc));
    char err[256];
    if (svc == NULL)
        return BW_ENOMEM;
    if (bw_seal_key_parse(extra.secrets_key, &svc->seal_keys.current) != 0) {
        bw_log(BW_LOG_ERROR, NULL,
               "invalid value for BULWARK_SECRETS_KEY: needs 32 bytes, as 64 "
               "hex digits or in base64");
        free(svc);
        return BW_EINVAL;
    }
    if (extra.secrets_key_previous != NULL && extra.secrets_key_previous[0] != '\0') {
        if (bw_seal_key_parse(extra.secrets_key_previous, &svc->seal_keys.previous) != 0) {
            bw_log(BW_LOG_ERROR, NULL,
                   "invalid value for BULWARK_SECRETS_KEY_PREVIOUS: needs 32 bytes, as 64 "
                   "hex digits or in base64");
            OPENSSL_cleanse(&svc->seal_keys, sizeof(svc->seal_keys));
            free(svc);
            return BW_EINVAL;
        }
        /* The same key twice is no rotation: nothing to seal again. */
        svc->seal_keys.has_previous =
            memcmp(svc->seal_keys.previous.id, svc->seal_keys.current.id, 4) != 0;
    }
    if (bw_retry_parse(extra.retry_seconds, &svc->retry, err, sizeof(err)) != 0) {
        bw_log(BW_LOG_ERROR, NULL, "invalid value for BULWARK_WEBHOOK_RETRY_SECONDS: %s", err);
        free(svc);
        return BW_EINVAL;
    }
    if (bw_netpolicy_parse(extra.allowed_cidrs, &svc->netpolicy, err, sizeof(err)) != 0) {
        bw_log(BW_LOG_ERROR, NULL, "invalid value for BULWARK_WEBHOOK_ALLOWED_CIDRS: %s", err);
        free(svc);
        return BW_EINVAL;
    }
    svc->timeout_ms = extra.timeout_ms;
    svc->concurrency = extra.concurrency;
    svc->endpoint_concurrency = extra.endpoint_concurrency;
    svc->poll_ms = extra.poll_ms;
    svc->outbox_retention_days = extra.outbox_retention_days;
    /* A worker is always left for the other calls. */
    svc->test_concurrency = extra.test_concurrency;
    if (config->workers > 1 && svc->test_concurrency >= config->workers) {
        svc->test_concurrency = config->workers - 1;
        bw_log(BW_LOG_WARN, NULL,
               "BULWARK_CONNECTION_TEST_CONCURRENCY %ld leaves no worker free of BULWARK_WORKERS "
               "%ld: %ld connection tests at once",
               extra.test_concurrency, (long)config->workers, svc->test_concurrency);
    }
    svc->retention_days = extra.retention_days;
    svc->database_url = config->database_url;
    svc->inbound_per_min = extra.inbound_per_min;
    /* Buckets for up to 100,000 connections at once: a few MiB. */
    if (bw_inlimit_create((double)extra.inbound_per_min / 60.0, (double)extra.inbound_burst, 100000,
                          &svc->inbound_limit) != 0) {
        free(svc);
        return BW_ENOMEM;
    }
    /* Before any thread: libcurl's global state, and libevent's locking
     * (the dispatcher's loop is stopped from this thread). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || evthread_use_pthreads() != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not initialise libcurl or libevent's threads");
        bw_inlimit_destroy(svc->inbound_limit);
        free(svc);
        return BW_EINTERNAL;
    }
    int rc = bw_incidents_client_open(config->tls, extra.incidents_addr, (int)config->workers,
                                      (int)extra.incidents_timeout_ms, &svc->incidents);
    if (rc == 0)
        rc = bw_dispatcher_start(svc, &svc->dispatcher);
    if (rc != 0) {
        bw_incidents_client_close(svc->incidents);
        bw_inlimit_destroy(svc->inbound_limit);
        curl_global_cleanup();
        OPENSSL_cleanse(&svc->seal_keys, sizeof(svc->seal_keys));
        free(svc);
        return rc;
    }
    bw_log(BW_LOG_INFO, NULL, "webhooks: %zu retries, %zu CIDRs allowed, %ld ms per attempt",
           svc->retry.n_waits, svc->netpolicy.n_allowed, svc->timeout_ms);
    *service_data = svc;
    return 0;
}

static void fini(void *service_data)
{
    bw_integrations_t *svc = service_data;
    bw_dispatcher_stop(svc->dispatcher);
    bw_incidents_client_close(svc->incidents);
    bw_inlimit_destroy(svc->inbound_limit);
    curl_global_cleanup();
    OPENSSL_cleanse(&svc->seal_keys, sizeof(svc->seal_keys));
    free(svc);
}

static void metrics(void *service_data, bw_metrics_text_t *text)
{
    const bw_integrations_t *svc = service_data;
    if (svc != NULL)
        bw_dispatcher_metrics(svc->dispatcher, text);
}

int main(int argc, char **argv)
{
    /* The statements of the handlers, prepared on every worker connection. */
    const bw_db_stmt_list_t stmts[] = {
        {bw_endpoints_stmts, bw_endpoints_n_stmts},
        {bw_deliveries_stmts, bw_deliveries_n_stmts},
        {bw_connections_stmts, bw_connections_n_stmts},
        {bw_inbound_stmts, bw_inbound_n_stmts},
    };
    const bw_service_def_t def = {
        BW_SERVICE_PROCESS(integrations, INTEGRATIONS),
        .summary = "the integrations service (webhook endpoints, the outbox relay, deliveries, "
                   "Jira and ServiceNow connections)",
        .contract = &bulwark__integrations__v1__integrations_service__descriptor,
        BW_SERVICE_ARRAY(handlers, handlers),
        BW_SERVICE_ARRAY(stmt_lists, stmts),
        BW_SERVICE_SETTINGS(extra_items, &extra),
        .init = init,
        .fini = fini,
        .metrics = metrics,
    };
    return bw_service_main(&def, argc, argv);
}
