/*
 * Connections to Jira and ServiceNow, stored in integrations.connections;
 * see connections.h. The REST credentials are kept as a small JSON object
 * and the inbound secret as its text, each sealed (common/seal.c) for a
 * context naming the tenant, the connection and which secret it is; neither
 * is ever returned. The inbound secret is made here and shown once, in the
 * reply to create (the method carries BW_RPC_SECRET_REPLY).
 */
#include "connections.h"

#include "google/protobuf/empty.pb-c.h"

#include "ids.h"
#include "log.h"
#include "seal.h"
#include "service.h"
#include "status.h"
#include "store.h"
#include "utf8.h"

#include <jansson.h>

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define LIST_SCOPE "integration-connections"
#define LOG_SCOPE "integration-connection-log"
#define MAX_CONNECTIONS_PER_TENANT "50"
#define NAME_MAX_CHARS 200
#define KEY_MAX 100
#define SECRET_MAX 1000
#define TEST_BODY_MAX (64 * 1024)
/* The longest a connection test may take (the webhooks' timeout if
 * shorter): below the gateway's default deadline for a backend call
 * (BULWARK_BACKEND_TIMEOUT_MS, 10 s), so that the admin sees the test's
 * answer, not a 504. */
#define TEST_TIMEOUT_MS 8000L

typedef Bulwark__Integrations__V1__Connection__Credentials credentials_pb_t;
typedef Bulwark__Integrations__V1__Connection__StateMapping mapping_pb_t;
typedef Bulwark__Integrations__V1__Connection__FieldMapping field_mapping_pb_t;

#define SYSTEM_JIRA BULWARK__INTEGRATIONS__V1__CONNECTION__SYSTEM__JIRA
#define SYSTEM_SERVICENOW BULWARK__INTEGRATIONS__V1__CONNECTION__SYSTEM__SERVICENOW

#define US(col) "bulwark.epoch_us(" col ")"
#define CONNECTION_COLUMNS                                                                         \
    "connection_id::text, system, name, base_url, entity_id::text, project_key, issue_type, "      \
    "create_issues, state_open, state_closed, " US("create_time") ", " US(                         \
        "update_time") ", revision, aware_at_field"

enum {
    COL_ID,
    COL_SYSTEM,
    COL_NAME,
    COL_BASE_URL,
    COL_ENTITY,
    COL_PROJECT,
    COL_ISSUE_TYPE,
    COL_CREATE_ISSUES,
    COL_STATE_OPEN,
    COL_STATE_CLOSED,
    COL_CREATE,
    COL_UPDATE,
    COL_REVISION,
    COL_AWARE_AT_FIELD,
    COL_CREDENTIALS /* only where a statement asks for it */
};

static const bw_db_stmt_t stmt_insert = {
    "connections_insert",
    "INSERT INTO integrations.connections (tenant_id, connection_id, system, name, base_url, "
    "entity_id, project_key, issue_type, credentials, inbound_secret, create_issues, state_open, "
    "state_closed, aware_at_field) "
    "SELECT current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4, $5::uuid, $6, $7, $8, "
    "$9, $10, $11, $12, $13 WHERE (SELECT count(*) FROM integrations.connections) "
    "< " MAX_CONNECTIONS_PER_TENANT " RETURNING " CONNECTION_COLUMNS};
static const bw_db_stmt_t stmt_get = {
    "connections_get", "SELECT " CONNECTION_COLUMNS ", credentials FROM integrations.connections "
                       "WHERE connection_id = $1"};
static const bw_db_stmt_t stmt_exists = {
    "connections_exists", "SELECT 1 FROM integrations.connections WHERE connection_id = $1"};
static const bw_db_stmt_t stmt_get_for_update = {"connections_get_for_update",
                                                 "SELECT " CONNECTION_COLUMNS
                                                 ", credentials FROM integrations.connections "
                                                 "WHERE connection_id = $1 FOR UPDATE"};
static const bw_db_stmt_t stmt_list = {
    "connections_list",
    "SELECT " CONNECTION_COLUMNS " FROM integrations.connections "
    "WHERE connection_id > COALESCE(NULLIF($1, '')::uuid, '00000000-0000-0000-0000-000000000000') "
    "ORDER BY connection_id LIMIT $2::int"};
static const bw_db_stmt_t stmt_update = {
    "connections_update",
    "UPDATE integrations.connections SET name = $2, base_url = $3, entity_id = $4::uuid, "
    "project_key = $5, issue_type = $6, credentials = COALESCE($7::bytea, credentials), "
    "create_issues = $8, state_open = $9, state_closed = $10, aware_at_field = $11, "
    "update_time = now(), "
    "revision = revision + 1 WHERE connection_id = $1 RETURNING " CONNECTION_COLUMNS};
/* With its log, receipts, links and jobs, in one statement (the foreign
 * keys do not cascade; see migration 0002). */
static const bw_db_stmt_t stmt_delete = {
    "connections_delete",
    "WITH log AS (DELETE FROM integrations.connection_log WHERE connection_id = $1), "
    "receipts AS (DELETE FROM integrations.inbound_receipts WHERE connection_id = $1), "
    "links AS (DELETE FROM integrations.ticket_links WHERE connection_id = $1), "
    "jobs AS (DELETE FROM integrations.ticket_jobs WHERE connection_id = $1) "
    "DELETE FROM integrations.connections WHERE connection_id = $1 RETURNING revision"};
static const bw_db_stmt_t stmt_log = {
    "connections_log",
    "INSERT INTO integrations.connection_log (tenant_id, connection_id, entry_id, direction, "
    "kind, status_code, ticket, incident_id, detail) "
    "VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, left($4, 100), $5::int, "
    "left($6, 100), NULLIF($7, '')::uuid, left($8, 1000))"};
static const bw_db_stmt_t stmt_log_list = {
    "connections_log_list",
    "SELECT entry_id::text, " US(
        "entry_time") ", direction, kind, status_code, ticket, "
                      "COALESCE(incident_id::text, ''), detail FROM integrations.connection_log "
                      "WHERE connection_id = $1 AND entry_id < COALESCE(NULLIF($2, '')::uuid, "
                      "'ffffffff-ffff-ffff-ffff-ffffffffffff') ORDER BY entry_id DESC LIMIT "
                      "$3::int"};

const bw_db_stmt_t *const bw_connections_stmts[] = {
    &stmt_insert, &stmt_get,    &stmt_exists, &stmt_get_for_update, &stmt_list,
    &stmt_update, &stmt_delete, &stmt_log,    &stmt_log_list,
};
const size_t bw_connections_n_stmts =
    sizeof(bw_connections_stmts) / sizeof(bw_connections_stmts[0]);

void bw_connections_seal_context(const char *tenant_id, const char *connection_id, const char *what,
                                 char out[BW_CONNECTION_SEAL_CONTEXT_LEN])
{
    snprintf(out, BW_CONNECTION_SEAL_CONTEXT_LEN, "integrations.connections/%s/%s/%s", tenant_id,
             connection_id, what);
}

/* Seals text for the connection as a bytea parameter on arena. */
static int seal_param(const bw_integrations_t *svc, bw_arena_t *arena, const char *tenant_id,
                      const char *connection_id, const char *what, const char *text,
                      const char **param)
{
    char context[BW_CONNECTION_SEAL_CONTEXT_LEN];
    size_t len = strlen(text), out_len;
    uint8_t *sealed = bw_arena_alloc(arena, len + BW_SEAL_OVERHEAD);
    if (sealed == NULL)
        return BW_ENOMEM;
    bw_connections_seal_context(tenant_id, connection_id, what, context);
    int err =
        bw_seal(&svc->seal_keys.current, context, (const uint8_t *)text, len, sealed, &out_len);
    if (err != 0)
        return err;
    *param = bw_store_bytea_param(arena, sealed, out_len);
    return *param != NULL ? 0 : BW_ENOMEM;
}

int bw_connections_unseal(const bw_integrations_t *svc, bw_arena_t *arena, const char *tenant_id,
                          const char *connection_id, const char *what, const PGresult *res, int row,
                          int col, char **out)
{
    uint8_t *sealed;
    size_t len, plain_len;
    char context[BW_CONNECTION_SEAL_CONTEXT_LEN];
    int err = bw_store_bytea(arena, res, row, col, &sealed, &len);
    if (err != 0)
        return err;
    if (len < BW_SEAL_OVERHEAD)
        return BW_EINVAL;
    char *plain = bw_arena_alloc(arena, len - BW_SEAL_OVERHEAD + 1);
    if (plain == NULL)
        return BW_ENOMEM;
    bw_connections_seal_context(tenant_id, connection_id, what, context);
    err = bw_unseal_ring(&svc->seal_keys, context, sealed, len, (uint8_t *)plain,
                         len - BW_SEAL_OVERHEAD, &plain_len);
    if (err != 0)
        return err;
    plain[plain_len] = '\0';
    *out = plain;
    return 0;
}

int bw_connections_credentials(const bw_integrations_t *svc, bw_arena_t *arena,
                               const char *tenant_id, const char *connection_id, int jira,
                               const PGresult *res, int row, int col, char **user, char **password)
{
    char *text, *u = NULL, *p = NULL;
    *user = *password = NULL;
    int err = bw_connections_unseal(svc, arena, tenant_id, connection_id, "credentials", res, row,
                                    col, &text);
    if (err != 0)
        return err;
    json_t *doc = json_loads(text, 0, NULL);
    OPENSSL_cleanse(text, strlen(text));
    const char *du = json_string_value(json_object_get(doc, jira ? "email" : "username"));
    const char *dp = json_string_value(json_object_get(doc, jira ? "apiToken" : "password"));
    if (du == NULL || dp == NULL)
        err = BW_EINVAL;
    else if ((u = bw_arena_strdup(arena, du)) == NULL || (p = bw_arena_strdup(arena, dp)) == NULL)
        err = BW_ENOMEM;
    json_decref(doc);
    if (err != 0) {
        if (u != NULL)
            OPENSSL_cleanse(u, strlen(u));
        return err;
    }
    *user = u;
    *password = p;
    return 0;
}

int bw_connections_log(bw_db_t *db, bw_arena_t *arena, const bw_connection_log_entry_t *e)
{
    char id[BW_UUID_STR_LEN + 1], status[16];
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    snprintf(status, sizeof(status), "%d", e->status_code);
    const char *values[] = {e->connection_id,
                            id,
                            e->direction,
                            e->kind,
                            status,
                            e->ticket != NULL ? e->ticket : "",
                            e->incident != NULL ? e->incident : "",
                            e->detail != NULL ? e->detail : ""};
    return bw_db_exec(db, arena, &stmt_log, 8, values, NULL);
}

static int not_found(bw_call_t *call, const char *id)
{
    return bw_call_fail(call, BW_ENOTFOUND, "CONNECTION_NOT_FOUND", "connection %s not found", id);
}

static int check_id(bw_call_t *call, const char *id)
{
    return bw_uuid_valid(id) ? 0 : not_found(call, id);
}

static int system_of(const char *text)
{
    return strcmp(text, "JIRA") == 0 ? SYSTEM_JIRA : SYSTEM_SERVICENOW;
}

static const char *system_name(int system)
{
    return system == SYSTEM_JIRA ? "JIRA" : "SERVICENOW";
}

/* The connection of a row, without secrets, on arena, into *(bw_connection_pb_t **)out
 * (a bw_store_row_fn). */
static int from_row(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    bw_connection_pb_t *c = bw_arena_alloc(arena, sizeof(*c));
    mapping_pb_t *m = bw_arena_alloc(arena, sizeof(*m));
    field_mapping_pb_t *f = bw_arena_alloc(arena, sizeof(*f));
    if (c == NULL || m == NULL || f == NULL)
        return BW_ENOMEM;
    bulwark__integrations__v1__connection__init(c);
    bulwark__integrations__v1__connection__state_mapping__init(m);
    bulwark__integrations__v1__connection__field_mapping__init(f);
    c->field_mapping = f;
    c->system = system_of(bw_store_text(res, row, COL_SYSTEM));
    c->create_issues = strcmp(bw_store_text(res, row, COL_CREATE_ISSUES), "t") == 0;
    c->state_mapping = m;
    c->etag = bw_arena_alloc(arena, 17);
    if (BW_STORE_COLUMNS(arena, res, row, {COL_ID, &c->id}, {COL_NAME, &c->name},
                         {COL_BASE_URL, &c->base_url}, {COL_ENTITY, &c->entity},
                         {COL_PROJECT, &c->project_key}, {COL_ISSUE_TYPE, &c->issue_type},
                         {COL_STATE_OPEN, &m->open}, {COL_STATE_CLOSED, &m->closed},
                         {COL_AWARE_AT_FIELD, &f->aware_at}, {COL_CREATE, .time = &c->create_time},
                         {COL_UPDATE, .time = &c->update_time}) != 0 ||
        c->etag == NULL)
        return BW_ENOMEM;
    c->inbound_path = bw_arena_printf(arena, "/v1/integrations/%s/%s/events",
                                      c->system == SYSTEM_JIRA ? "jira" : "servicenow", c->id);
    if (c->inbound_path == NULL)
        return BW_ENOMEM;
    bw_etag(c->id, bw_store_int(res, row, COL_REVISION), c->etag);
    *(bw_connection_pb_t **)out = c;
    return 0;
}

/* A Jira project key: an upper-case letter, then upper-case letters,
 * digits or underscores. */
static int project_key_valid(const char *key)
{
    if (!isupper((unsigned char)key[0]) || strlen(key) > KEY_MAX)
        return 0;
    for (const char *p = key; *p; p++)
        if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
            return 0;
    return 1;
}

/* A Jira field id or a ServiceNow column name (or none): letters, digits
 * and underscores, as the column's CHECK (migration 0016) says. */
static int field_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n > KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_')
            return 0;
    return 1;
}

static int check_text(bw_call_t *call, const char *field, const char *value, size_t max,
                      int required)
{
    if (required && value[0] == '\0')
        return bw_call_violation(call, field, "is required") != 0;
    if (bw_utf8_count(value) > max)
        return bw_call_violation(call, field, "must be at most %zu characters", max) != 0;
    return 0;
}

/* The credentials of a create or an update that sets them: the system's
 * pair, both given, and nothing of the other system's. */
static int check_credentials(bw_call_t *call, int system, const credentials_pb_t *cr)
{
    int bad = 0;
    if (cr == NULL)
        return bw_call_violation(call, "credentials",
                                 system == SYSTEM_JIRA
                                     ? "is required: {\"email\", \"apiToken\"} of a Jira user"
                                     : "is required: {\"username\", \"password\"} of a "
                                       "ServiceNow user") != 0;
    if (system == SYSTEM_JIRA) {
        bad |= check_text(call, "credentials.email", cr->email, 254, 1);
        if (cr->email[0] != '\0' && strchr(cr->email, '@') == NULL)
            bad |= bw_call_violation(call, "credentials.email", "is not an e-mail address") != 0;
        bad |= check_text(call, "credentials.apiToken", cr->api_token, SECRET_MAX, 1);
        if (cr->username[0] != '\0' || cr->password[0] != '\0')
            bad |= bw_call_violation(
                       call, cr->username[0] ? "credentials.username" : "credentials.password",
                       "is for ServiceNow; Jira takes email and apiToken") != 0;
    } else {
        bad |= check_text(call, "credentials.username", cr->username, NAME_MAX_CHARS, 1);
        bad |= check_text(call, "credentials.password", cr->password, SECRET_MAX, 1);
        if (cr->email[0] != '\0' || cr->api_token[0] != '\0')
            bad |=
                bw_call_violation(call, cr->email[0] ? "credentials.email" : "credentials.apiToken",
                                  "is for Jira; ServiceNow takes username and password") != 0;
    }
    return bad;
}

/* Checks what a client sets; with_credentials when the request sets them. */
static int validate(bw_call_t *call, const bw_integrations_t *svc, const bw_connection_pb_t *c,
                    int with_credentials)
{
    int bad = 0, https;
    char why[256];
    if (c->system != SYSTEM_JIRA && c->system != SYSTEM_SERVICENOW)
        return bw_call_violation(call, "system", "is required: JIRA or SERVICENOW");
    bad |= check_text(call, "name", c->name, NAME_MAX_CHARS, 1);
    if (c->base_url[0] == '\0')
        bad |=
            bw_call_violation(call, "baseUrl", "is required: the https URL of the %s",
                              c->system == SYSTEM_JIRA ? "Jira site" : "ServiceNow instance") != 0;
    else if (bw_netpolicy_check_url(&svc->netpolicy, c->base_url, &https, why, sizeof(why)) != 0)
        bad |= bw_call_violation(call, "baseUrl", "%s", why) != 0;
    else if (strchr(c->base_url, '?') != NULL)
        bad |= bw_call_violation(call, "baseUrl", "must not have a query") != 0;
    if (!bw_uuid_valid(c->entity))
        bad |= bw_call_violation(call, "entity",
                                 c->entity[0] ? "is not an entity id"
                                              : "is required: the entity of the incidents made "
                                                "from tickets") != 0;
    if (c->system == SYSTEM_JIRA) {
        if (c->project_key[0] == '\0')
            bad |= bw_call_violation(call, "projectKey", "is required for Jira") != 0;
        else if (!project_key_valid(c->project_key))
            bad |= bw_call_violation(call, "projectKey",
                                     "must be a Jira project key: an upper-case letter, then "
                                     "upper-case letters, digits or underscores") != 0;
        bad |= check_text(call, "issueType", c->issue_type, KEY_MAX, 0);
    } else {
        if (c->project_key[0] != '\0')
            bad |= bw_call_violation(call, "projectKey", "is for Jira only") != 0;
        if (c->issue_type[0] != '\0')
            bad |= bw_call_violation(call, "issueType", "is for Jira only") != 0;
    }
    if (c->state_mapping != NULL) {
        bad |= check_text(call, "stateMapping.open", c->state_mapping->open, KEY_MAX, 0);
        bad |= check_text(call, "stateMapping.closed", c->state_mapping->closed, KEY_MAX, 0);
    }
    if (c->field_mapping != NULL && !field_name_valid(c->field_mapping->aware_at))
        bad |= bw_call_violation(call, "fieldMapping.awareAt",
                                 "must name a %s: at most %d letters, digits or underscores",
                                 c->system == SYSTEM_JIRA ? "Jira field (customfield_10042)"
                                                          : "ServiceNow column (u_aware_at)",
                                 KEY_MAX) != 0;
    if (with_credentials)
        bad |= check_credentials(call, c->system, c->credentials);
    if (c->inbound_secret[0] != '\0')
        bad |= bw_call_violation(call, "inboundSecret", "is made by the service") != 0;
    if (c->inbound_token[0] != '\0')
        bad |= bw_call_violation(call, "inboundToken", "is made by the service") != 0;
    return bad ? BW_EINVAL : 0;
}

/* The credentials as the JSON text that is sealed. */
static char *credentials_text(bw_arena_t *arena, int system, const credentials_pb_t *cr)
{
    json_t *doc = system == SYSTEM_JIRA
                      ? json_pack("{s:s, s:s}", "email", cr->email, "apiToken", cr->api_token)
                      : json_pack("{s:s, s:s}", "username", cr->username, "password", cr->password);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    char *copy = text != NULL ? bw_arena_strdup(arena, text) : NULL;
    if (text != NULL) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    return copy;
}

/* A new inbound secret: for Jira 32 random bytes in hex (its webhook form
 * takes any text as the secret), for ServiceNow "bwsn_" and 32 random
 * bytes in base64url (a bearer token). */
static int new_inbound_secret(int system, char out[80])
{
    uint8_t bytes[32];
    if (system == SYSTEM_JIRA) {
        if (bw_random_bytes(bytes, sizeof(bytes)) != 0)
            return BW_EINTERNAL;
        bw_hex(bytes, sizeof(bytes), out);
        OPENSSL_cleanse(bytes, sizeof(bytes));
        return 0;
    }
    memcpy(out, "bwsn_", 5);
    return bw_random_token(out + 5, 80 - 5, 32) == 0 ? 0 : BW_EINTERNAL;
}

int bw_connections_create(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__CreateConnectionRequest *req = (const void *)request;
    static const bw_connection_pb_t empty = BULWARK__INTEGRATIONS__V1__CONNECTION__INIT;
    const bw_connection_pb_t *in = req->connection != NULL ? req->connection : &empty;
    const bw_integrations_t *svc = bw_service_data(call);
    char id[BW_UUID_STR_LEN + 1], secret[80] = "";
    const char *sealed_credentials, *sealed_secret;
    bw_connection_pb_t *c = NULL;
    PGresult *res;
    int err = validate(call, svc, in, 1);
    if (err != 0)
        return err;
    if (bw_uuid_v7(id) != 0)
        return BW_EINTERNAL;
    char *creds = credentials_text(call->arena, in->system, in->credentials);
    if (creds == NULL)
        return BW_ENOMEM;
    if ((err = new_inbound_secret(in->system, secret)) != 0 ||
        (err = seal_param(svc, call->arena, call->tenant_id, id, "credentials", creds,
                          &sealed_credentials)) != 0 ||
        (err = seal_param(svc, call->arena, call->tenant_id, id, "inbound", secret,
                          &sealed_secret)) != 0)
        goto out;
    const char *values[] = {id,
                            system_name(in->system),
                            in->name,
                            in->base_url,
                            in->entity,
                            in->project_key,
                            in->issue_type,
                            sealed_credentials,
                            sealed_secret,
                            in->create_issues ? "t" : "f",
                            in->state_mapping != NULL ? in->state_mapping->open : "",
                            in->state_mapping != NULL ? in->state_mapping->closed : "",
                            in->field_mapping != NULL ? in->field_mapping->aware_at : ""};
    err = bw_integrations_insert_capped(call, "connections", &stmt_insert, 13, values, &res);
    if (err != 0)
        goto out;
    if (PQntuples(res) == 0) {
        err = bw_call_fail(call, BW_EPRECOND, "TOO_MANY_CONNECTIONS",
                           "a tenant has at most " MAX_CONNECTIONS_PER_TENANT
                           " connections; delete one first");
        goto out;
    }
    if ((err = from_row(call->arena, res, 0, &c)) != 0)
        goto out;
    char *shown = bw_arena_strdup(call->arena, secret);
    if (shown == NULL) {
        err = BW_ENOMEM;
        goto out;
    }
    if (in->system == SYSTEM_JIRA)
        c->inbound_secret = shown;
    else
        c->inbound_token = shown;
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(creds, strlen(creds));
    if (err == 0)
        *resp = &c->base;
    return err;
}

int bw_connections_get(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__GetConnectionRequest *req = (const void *)request;
    bw_connection_pb_t *c;
    int err = bw_store_uuid_get(call, &stmt_get, call->tenant_id, req->id, from_row, &c);
    if (err == 0)
        *resp = &c->base;
    return err == BW_ENOTFOUND ? not_found(call, req->id) : err;
}

int bw_connections_list(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__ListConnectionsRequest *req = (const void *)request;
    return bw_store_uuid_list(call, LIST_SCOPE, req->page_size, req->page_token, &stmt_list,
                              call->tenant_id,
                              &bulwark__integrations__v1__list_connections_response__descriptor,
                              "connections", from_row, resp);
}

/* Copies the fields named by the mask from patch into c; *with_credentials
 * tells whether the patch sets them. */
static int merge(bw_call_t *call, bw_connection_pb_t *c, const bw_connection_pb_t *patch,
                 const Google__Protobuf__FieldMask *mask, int *with_credentials)
{
    static mapping_pb_t no_mapping = BULWARK__INTEGRATIONS__V1__CONNECTION__STATE_MAPPING__INIT;
    static field_mapping_pb_t no_fields =
        BULWARK__INTEGRATIONS__V1__CONNECTION__FIELD_MAPPING__INIT;
    *with_credentials = 0;
    for (size_t i = 0; mask != NULL && i < mask->n_paths; i++) {
        const char *p = mask->paths[i];
        if (strcmp(p, "system") == 0) {
            if (patch->system != c->system)
                return bw_call_violation(call, "system",
                                         "cannot change: delete the connection and create "
                                         "another");
        } else if (strcmp(p, "name") == 0)
            c->name = patch->name;
        else if (strcmp(p, "base_url") == 0)
            c->base_url = patch->base_url;
        else if (strcmp(p, "entity") == 0)
            c->entity = patch->entity;
        else if (strcmp(p, "project_key") == 0)
            c->project_key = patch->project_key;
        else if (strcmp(p, "issue_type") == 0)
            c->issue_type = patch->issue_type;
        else if (strcmp(p, "credentials") == 0) {
            c->credentials = patch->credentials;
            *with_credentials = 1;
        } else if (strcmp(p, "create_issues") == 0)
            c->create_issues = patch->create_issues;
        else if (strcmp(p, "state_mapping") == 0)
            c->state_mapping = patch->state_mapping != NULL ? patch->state_mapping : &no_mapping;
        else if (strcmp(p, "field_mapping") == 0)
            c->field_mapping = patch->field_mapping != NULL ? patch->field_mapping : &no_fields;
        else if (strcmp(p, "inbound_secret") == 0)
            c->inbound_secret = patch->inbound_secret;
        else if (strcmp(p, "inbound_token") == 0)
            c->inbound_token = patch->inbound_token;
        /* Output-only fields in a body are ignored (docs/DESIGN.md). */
        else if (strcmp(p, "id") != 0 && strcmp(p, "create_time") != 0 &&
                 strcmp(p, "update_time") != 0 && strcmp(p, "etag") != 0 &&
                 strcmp(p, "inbound_path") != 0)
            return bw_call_violation(call, p, "cannot be changed");
    }
    return 0;
}

int bw_connections_update(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__UpdateConnectionRequest *req = (const void *)request;
    const bw_integrations_t *svc = bw_service_data(call);
    static const bw_connection_pb_t empty = BULWARK__INTEGRATIONS__V1__CONNECTION__INIT;
    int err = check_id(call, req->id), with_credentials;
    if (err != 0)
        return err;
    bw_db_t *db = bw_service_db(call);
    const char *id = req->id, *sealed = NULL;
    char *creds = NULL;
    PGresult *res;
    bw_connection_pb_t *c = NULL;
    if ((err = bw_store_begin_row(call, db, &stmt_get_for_update, 1, &id, id, COL_REVISION,
                                  &res)) != 0)
        return err == BW_ENOTFOUND ? not_found(call, id) : err;
    if ((err = from_row(call->arena, res, 0, &c)) != 0 ||
        (err = merge(call, c, req->connection != NULL ? req->connection : &empty, req->update_mask,
                     &with_credentials)) != 0 ||
        (err = validate(call, svc, c, with_credentials)) != 0)
        goto out;
    if (with_credentials) {
        if ((creds = credentials_text(call->arena, c->system, c->credentials)) == NULL) {
            err = BW_ENOMEM;
            goto out;
        }
        if ((err = seal_param(svc, call->arena, call->tenant_id, id, "credentials", creds,
                              &sealed)) != 0)
            goto out;
    }
    const char *values[] = {id,
                            c->name,
                            c->base_url,
                            c->entity,
                            c->project_key,
                            c->issue_type,
                            sealed,
                            c->create_issues ? "t" : "f",
                            c->state_mapping->open,
                            c->state_mapping->closed,
                            c->field_mapping->aware_at};
    if ((err = bw_db_exec(db, call->arena, &stmt_update, 11, values, &res)) == 0)
        err = from_row(call->arena, res, 0, &c);
out:
    if (creds != NULL)
        OPENSSL_cleanse(creds, strlen(creds));
    if ((err = bw_store_end(db, err)) == 0)
        *resp = &c->base;
    return err;
}

int bw_connections_delete(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__DeleteConnectionRequest *req = (const void *)request;
    int err = bw_store_uuid_delete(call, &stmt_delete, call->tenant_id, req->id, resp);
    return err == BW_ENOTFOUND ? not_found(call, req->id) : err;
}

/* ---- :test ------------------------------------------------------------- */

typedef struct test_body {
    char data[TEST_BODY_MAX + 1];
    size_t len;
} test_body_t;

static size_t keep_body(char *data, size_t size, size_t n, void *arg)
{
    test_body_t *b = arg;
    size_t len = size * n, room = TEST_BODY_MAX - b->len;
    if (len > room)
        return 0;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

char *bw_connections_api_url(bw_arena_t *arena, const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return bw_arena_printf(arena, "%.*s%s", (int)n, base, path);
}

/* How long a test may take: TEST_TIMEOUT_MS, or the webhooks' timeout if
 * that is shorter. */
static long test_timeout_ms(const bw_integrations_t *svc)
{
    return svc->timeout_ms < TEST_TIMEOUT_MS ? svc->timeout_ms : TEST_TIMEOUT_MS;
}

/* The user the ticket system says the credentials belong to, or "". */
static const char *who(bw_arena_t *arena, int system, const test_body_t *body)
{
    json_t *doc = json_loadb(body->data, body->len, 0, NULL);
    const char *name = NULL;
    if (system == SYSTEM_JIRA) {
        name = json_string_value(json_object_get(doc, "displayName"));
    } else {
        json_t *first = json_array_get(json_object_get(doc, "result"), 0);
        name = json_string_value(json_object_get(first, "user_name"));
    }
    char *copy = bw_arena_strdup(arena, name != NULL ? name : "");
    json_decref(doc);
    return copy != NULL ? copy : "";
}

/* Connection tests in flight in this process (each holds a worker). */
static atomic_long tests_in_flight;

static int test_run(bw_call_t *call, const Bulwark__Integrations__V1__TestConnectionRequest *req,
                    ProtobufCMessage **resp);

/* One blocking GET on the worker thread, with the same client set-up as
 * every delivery: an admin's rare call, so it is capped rather than made
 * asynchronous (docs/DESIGN.md, "Connection tests hold a worker, a few at
 * a time"). At most BULWARK_CONNECTION_TEST_CONCURRENCY run at once in the
 * process, each for TEST_TIMEOUT_MS at most (or the webhook timeout if
 * shorter); beyond that the call fails at once with RESOURCE_EXHAUSTED
 * (the gateway's 429, Retry-After the time a test may take), so that tests
 * against a ticket system that does not answer cannot take every worker. */
int bw_connections_test(bw_call_t *call, const ProtobufCMessage *request, ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__TestConnectionRequest *req = (const void *)request;
    const bw_integrations_t *svc = bw_service_data(call);
    int err = check_id(call, req->id);
    if (err != 0)
        return err;
    if (atomic_fetch_add(&tests_in_flight, 1) >= svc->test_concurrency) {
        atomic_fetch_sub(&tests_in_flight, 1);
        call->retry_after_sec = (int)((test_timeout_ms(svc) + 999) / 1000);
        return bw_call_fail(call, BW_ELIMIT, "CONNECTION_TESTS_BUSY",
                            "%ld connection tests are running in this process, the most it "
                            "runs at once; retry in %d s",
                            svc->test_concurrency, call->retry_after_sec);
    }
    err = test_run(call, req, resp);
    atomic_fetch_sub(&tests_in_flight, 1);
    return err;
}

static int test_run(bw_call_t *call, const Bulwark__Integrations__V1__TestConnectionRequest *req,
                    ProtobufCMessage **resp)
{
    const bw_integrations_t *svc = bw_service_data(call);
    int err;
    const char *id = req->id;
    PGresult *res;
    bw_connection_pb_t *c;
    char *user, *password;
    bw_db_t *db = bw_service_db(call);
    err = bw_db_exec1(db, call->arena, call->tenant_id, &stmt_get, 1, &id, &res);
    if (err != 0)
        return err;
    if (PQntuples(res) == 0)
        return not_found(call, id);
    if ((err = from_row(call->arena, res, 0, &c)) != 0)
        return err;
    err =
        bw_connections_credentials(svc, call->arena, call->tenant_id, id, c->system == SYSTEM_JIRA,
                                   res, 0, COL_CREDENTIALS, &user, &password);
    if (err == BW_ENOMEM)
        return err;
    if (err != 0)
        return bw_call_fail(call, BW_EPRECOND, "CREDENTIALS_UNREADABLE",
                            "the stored credentials cannot be opened%s; set them again",
                            err == BW_EPERM ? " (sealed under another BULWARK_SECRETS_KEY)" : "");
    const char *url = bw_connections_api_url(call->arena, c->base_url,
                                             c->system == SYSTEM_JIRA
                                                 ? "/rest/api/3/myself"
                                                 : "/api/now/table/sys_user?sysparm_limit=1");
    test_body_t *body = bw_arena_alloc(call->arena, sizeof(*body));
    bw_netpolicy_guard_t guard = {.policy = &svc->netpolicy};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *e = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    long status = 0;
    CURLcode code = CURLE_FAILED_INIT;
    if (body != NULL && e != NULL && headers != NULL && url != NULL &&
        bw_netpolicy_curl_setup(e, &guard, url, test_timeout_ms(svc)) == 0 &&
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_USERNAME, user) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_PASSWORD, password) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_USERAGENT, "Bulwark-Integrations/1.0") == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_body) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_WRITEDATA, body) == CURLE_OK &&
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK) {
        body->len = 0;
        body->data[0] = '\0';
        code = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    OPENSSL_cleanse(user, strlen(user));
    OPENSSL_cleanse(password, strlen(password));

    Bulwark__Integrations__V1__TestConnectionResponse *out =
        bw_arena_alloc(call->arena, sizeof(*out));
    if (out == NULL)
        return BW_ENOMEM;
    bulwark__integrations__v1__test_connection_response__init(out);
    if (code != CURLE_OK && code != CURLE_WRITE_ERROR) {
        status = 0;
        out->detail = bw_arena_printf(call->arena, "no answer: %s",
                                      guard.refused[0]                   ? guard.refused
                                      : code == CURLE_OPERATION_TIMEDOUT ? "timed out"
                                      : errbuf[0]                        ? errbuf
                                                  : curl_easy_strerror(code));
    } else if (status == 200) {
        const char *name = who(call->arena, c->system, body);
        out->ok = 1;
        out->detail =
            bw_arena_printf(call->arena, "credentials accepted%s%s", name[0] ? ": " : "", name);
    } else if (status == 401 || status == 403) {
        out->detail =
            bw_arena_printf(call->arena, "HTTP %ld: the credentials were refused", status);
    } else {
        out->detail = bw_arena_printf(call->arena, "HTTP %ld", status);
    }
    if (out->detail == NULL)
        return BW_ENOMEM;
    for (char *p = out->detail; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
    out->status_code = (int32_t)status;
    bw_connection_log_entry_t entry = {id, "outbound", "test", (int)status, "", "", out->detail};
    if ((err = bw_db_begin(db, call->tenant_id)) != 0)
        return err;
    if ((err = bw_connections_log(db, call->arena, &entry)) != 0 || (err = bw_db_commit(db)) != 0) {
        bw_db_rollback(db);
        return err;
    }
    *resp = &out->base;
    return 0;
}

/* ---- the log ----------------------------------------------------------- */

/* An entry of the log (a bw_store_row_fn), from stmt_log_list's row. */
static int log_entry_from_row(bw_arena_t *arena, const PGresult *res, int row, void *out)
{
    Bulwark__Integrations__V1__ConnectionLogEntry *e = bw_arena_alloc(arena, sizeof(*e));
    if (e == NULL)
        return BW_ENOMEM;
    bulwark__integrations__v1__connection_log_entry__init(e);
    int err = bw_store_timestamp(arena, res, row, 1, &e->time);
    if (err != 0)
        return err;
    e->id = bw_store_strdup(arena, res, row, 0);
    e->direction = bw_store_strdup(arena, res, row, 2);
    e->kind = bw_store_strdup(arena, res, row, 3);
    e->status_code = (int32_t)bw_store_int(res, row, 4);
    e->ticket = bw_store_strdup(arena, res, row, 5);
    e->incident = bw_store_strdup(arena, res, row, 6);
    e->detail = bw_store_strdup(arena, res, row, 7);
    if (e->id == NULL || e->direction == NULL || e->kind == NULL || e->ticket == NULL ||
        e->incident == NULL || e->detail == NULL)
        return BW_ENOMEM;
    *(Bulwark__Integrations__V1__ConnectionLogEntry **)out = e;
    return 0;
}

/* A page of the log, newest first, in one transaction with the check that
 * the connection exists (an unknown one is a 404, not an empty log). */
int bw_connections_log_list(bw_call_t *call, const ProtobufCMessage *request,
                            ProtobufCMessage **resp)
{
    const Bulwark__Integrations__V1__ListConnectionLogRequest *req = (const void *)request;
    int err = check_id(call, req->id);
    if (err != 0)
        return err;
    bw_page_t page;
    if ((err = bw_store_page(call, LOG_SCOPE, req->page_size, req->page_token, &page)) != 0)
        return err;
    if (page.after[0] != '\0' && !bw_uuid_valid(page.after))
        return bw_call_violation(call, "pageToken", "is not a token this list returned");
    bw_db_t *db = bw_service_db(call);
    PGresult *res;
    ProtobufCMessage *out = NULL;
    const char *id = req->id;
    if ((err = bw_store_begin_row(call, db, &stmt_exists, 1, &id, NULL, -1, &res)) != 0)
        return err == BW_ENOTFOUND ? not_found(call, id) : err;
    const char *values[] = {id, page.after, page.size_param};
    if ((err = bw_db_exec(db, call->arena, &stmt_log_list, 3, values, &res)) == 0)
        err = bw_store_list_response(
            call, LOG_SCOPE, &page, res, PQntuples(res),
            &bulwark__integrations__v1__list_connection_log_response__descriptor, "entries",
            log_entry_from_row, NULL, &out);
    if ((err = bw_store_end(db, err)) == 0)
        *resp = out;
    return err;
}
