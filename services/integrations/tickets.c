/*
 * Outbound ticket jobs; see tickets.h. A job in flight is a small state
 * machine: each step is one HTTP request on the deliverer's multi handle,
 * and its answer decides the next step, the end of the job, or a retry.
 * What a job learns that must survive (the ticket it opened) is written at
 * once, so that a retry continues rather than starts again.
 */
#include "tickets.h"

#include "bulwark/incidents/v1/incidents.pb-c.h"
#include "connections.h"
#include "inbound.h"
#include "incidents_client.h"
#include "log.h"
#include "netpolicy.h"
#include "random.h"
#include "retry.h"
#include "status.h"
#include "store.h"
#include "utf8.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

/* Jobs in flight in this process at most. */
#define MAX_IN_FLIGHT 16
#define MAX_RESPONSE (256 * 1024)
#define LEASE_MARGIN_SEC 60
#define DETAIL_MAX 900
/* The longest ticket id or key kept (ticket_links' CHECKs). */
#define TICKET_REF_MAX 100

static const bw_db_stmt_t stmt_claim = {
    "tickets_claim",
    "SELECT tenant_id::text, job_id::text, lease_id::text, connection_id::text, system, "
    "base_url, project_key, issue_type, credentials, state_open, state_closed, type, data, "
    "attempt_count, incident_id::text, ticket_id, ticket_key "
    "FROM integrations.claim_ticket_jobs($1::int, $2::int)"};
enum {
    CL_TENANT,
    CL_JOB,
    CL_LEASE,
    CL_CONNECTION,
    CL_SYSTEM,
    CL_BASE_URL,
    CL_PROJECT,
    CL_ISSUE_TYPE,
    CL_CREDENTIALS,
    CL_STATE_OPEN,
    CL_STATE_CLOSED,
    CL_TYPE,
    CL_DATA,
    CL_ATTEMPTS,
    CL_INCIDENT,
    CL_TICKET_ID,
    CL_TICKET_KEY
};
/* $3: SUCCEEDED, FAILED or RETRY (then $4 the wait in milliseconds). */
static const bw_db_stmt_t stmt_complete = {
    "tickets_complete",
    "UPDATE integrations.ticket_jobs SET attempt_count = attempt_count + 1, "
    "state = CASE WHEN $3 = 'RETRY' THEN 'PENDING' ELSE $3 END, "
    "next_attempt_time = CASE WHEN $3 = 'RETRY' "
    "THEN now() + make_interval(secs => $4::double precision / 1000) END, "
    "lease_id = NULL, lease_until = NULL, last_error = left($5, 1000), update_time = now() "
    "WHERE job_id = $1 AND lease_id = $2"};
static const bw_db_stmt_t stmt_release = {
    "tickets_release", "UPDATE integrations.ticket_jobs SET lease_id = NULL, lease_until = NULL "
                       "WHERE job_id = $1 AND lease_id = $2"};
static const bw_db_stmt_t stmt_link = {
    "tickets_link",
    "INSERT INTO integrations.ticket_links (tenant_id, connection_id, ticket_id, ticket_key, "
    "incident_id) VALUES (current_setting('bulwark.tenant_id')::uuid, $1, $2, $3, $4::uuid) "
    "ON CONFLICT (tenant_id, connection_id, ticket_id) DO UPDATE SET ticket_key = "
    "EXCLUDED.ticket_key, incident_id = EXCLUDED.incident_id, update_time = now()"};

/* The echo of a ServiceNow write, expected: inbound.c's receipt. */
static const bw_db_stmt_t stmt_echo = {"tickets_echo", BW_INBOUND_RECEIPT_SQL};

const bw_db_stmt_t *const bw_tickets_stmts[] = {&stmt_claim, &stmt_complete, &stmt_release,
                                                &stmt_link, &stmt_echo};
const size_t bw_tickets_n_stmts = sizeof(bw_tickets_stmts) / sizeof(bw_tickets_stmts[0]);

typedef enum step {
    STEP_JIRA_CREATE,
    STEP_JIRA_TRANSITIONS,
    STEP_JIRA_TRANSITION,
    STEP_SN_CREATE,
    STEP_SN_UPDATE
} step_t;

static const char *const step_names[] = {"create issue", "get transitions", "transition",
                                         "create incident", "update incident"};

typedef struct job job_t;

struct bw_tickets {
    bw_db_t *db;
    const bw_integrations_t *svc;
    bw_deliverer_t *dv;
    bw_attempt_counts_t *counts;
    bw_incidents_async_t *incidents; /* SetExternalRef, on the loop */
    int stopping;
    bw_arena_t *scratch;
    job_t *head;
    int in_flight;
};

struct job {
    bw_deliverer_request_t req; /* first: the deliverer hands it back */
    bw_tickets_t *tk;
    job_t *prev, *next;
    bw_arena_t *arena;
    char *tenant, *id, *lease, *connection, *base_url, *project_key, *issue_type, *incident_id;
    const char *ticket_id, *ticket_key;
    const char *target;    /* the mapped state, or NULL */
    const char *state;     /* the incident's state */
    int ref_opened;        /* SetExternalRef in flight for a ticket this job opened */
    int ref_first;         /* ... for one an earlier try opened: then the job begins */
    char *user, *password; /* opened credentials (on arena), cleansed when the job ends */
    json_t *incident;      /* the event's data */
    int jira, attempts;
    step_t step;
    struct curl_slist *headers;
    char *body;
    bw_netpolicy_guard_t guard;
    char errbuf[CURL_ERROR_SIZE];
    char retry_after[64];
    char *response;
    size_t response_len;
    bw_log_ctx_t log;
};

/* ---- bookkeeping ---------------------------------------------------------- */

static void free_job(job_t *j)
{
    if (j->req.easy != NULL)
        curl_easy_cleanup(j->req.easy);
    curl_slist_free_all(j->headers);
    free(j->body);
    free(j->response);
    json_decref(j->incident);
    if (j->user != NULL)
        OPENSSL_cleanse(j->user, strlen(j->user));
    if (j->password != NULL)
        OPENSSL_cleanse(j->password, strlen(j->password));
    bw_arena_destroy(j->arena);
    free(j);
}

static void unlink_job(job_t *j)
{
    bw_tickets_t *tk = j->tk;
    if (j->prev != NULL)
        j->prev->next = j->next;
    else
        tk->head = j->next;
    if (j->next != NULL)
        j->next->prev = j->prev;
    tk->in_flight--;
}

/* Writes an entry of the connection's log, in a transaction of its own. */
static void log_call(job_t *j, int status, const char *detail)
{
    bw_tickets_t *tk = j->tk;
    bw_arena_reset(tk->scratch);
    bw_connection_log_entry_t entry = {
        j->connection,  "outbound", step_names[j->step], status, j->ticket_key ? j->ticket_key : "",
        j->incident_id, detail};
    int err = bw_db_begin(tk->db, j->tenant);
    if (err == 0 && (err = bw_connections_log(tk->db, tk->scratch, &entry)) == 0)
        err = bw_db_commit(tk->db);
    if (err != 0) {
        bw_db_rollback(tk->db);
        bw_log(BW_LOG_WARN, &j->log, "could not write the log of connection %s: %s", j->connection,
               bw_strerror(err));
    }
}

/* Ends the job's attempt: outcome BW_ATTEMPT_SUCCEEDED, _FAILED or _RETRY. */
static void complete(job_t *j, bw_attempt_outcome_t outcome, long long wait_ms, const char *error)
{
    bw_tickets_t *tk = j->tk;
    char wait[32];
    snprintf(wait, sizeof(wait), "%lld", wait_ms);
    const char *state = bw_attempt_outcome_state(outcome);
    const char *values[] = {j->id, j->lease, state, wait, error};
    bw_attempt_counts_add(tk->counts, outcome);
    bw_arena_reset(tk->scratch);
    int err = bw_db_exec1(tk->db, tk->scratch, j->tenant, &stmt_complete, 5, values, NULL);
    if (err != 0)
        bw_log(BW_LOG_WARN, &j->log,
               "could not record ticket job %s: %s; it runs again when its lease runs out", j->id,
               bw_strerror(err));
    else
        bw_log(BW_LOG_DEBUG, &j->log, "ticket job %s: %s %s", j->id, state, error);
    unlink_job(j);
    free_job(j);
}

/* ---- requests ------------------------------------------------------------- */

static size_t keep_response(char *data, size_t size, size_t n, void *arg)
{
    job_t *j = arg;
    size_t len = size * n;
    if (j->response_len + len > MAX_RESPONSE)
        return 0;
    char *grown = realloc(j->response, j->response_len + len + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + j->response_len, data, len);
    j->response = grown;
    j->response_len += len;
    j->response[j->response_len] = '\0';
    return len;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    job_t *j = arg;
    size_t len = size * n;
    if (len > 12 && strncasecmp(line, "retry-after:", 12) == 0) {
        const char *v = line + 12;
        size_t vl = len - 12;
        while (vl > 0 && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        snprintf(j->retry_after, sizeof(j->retry_after), "%.*s", (int)vl, v);
    }
    return len;
}

static void on_done(bw_deliverer_request_t *req, CURLcode code);

/* Sends method path with body (consumed JSON, or NULL) as the job's next
 * step. */
static int send_step(job_t *j, step_t step, const char *method, const char *path, json_t *body)
{
    bw_tickets_t *tk = j->tk;
    j->step = step;
    free(j->body);
    j->body = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    free(j->response);
    j->response = NULL;
    j->response_len = 0;
    j->retry_after[0] = '\0';
    j->errbuf[0] = '\0';
    curl_slist_free_all(j->headers);
    j->headers = curl_slist_append(NULL, "Accept: application/json");
    if (j->headers != NULL && j->body != NULL)
        j->headers = curl_slist_append(j->headers, "Content-Type: application/json");
    if (j->headers != NULL)
        j->headers = curl_slist_append(j->headers, "Expect:");
    if (j->req.easy != NULL)
        curl_easy_cleanup(j->req.easy);
    j->req.easy = curl_easy_init();
    j->req.done = on_done;
    const char *url = bw_connections_api_url(j->arena, j->base_url, path);
    j->guard.policy = &tk->svc->netpolicy;
    if (j->req.easy == NULL || j->headers == NULL || url == NULL ||
        (body != NULL && j->body == NULL))
        return BW_ENOMEM;
    CURL *e = j->req.easy;
    int ok = bw_netpolicy_curl_setup(e, &j->guard, url, tk->svc->timeout_ms) == 0 &&
             curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_USERNAME, j->user) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_PASSWORD, j->password) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_USERAGENT, "Bulwark-Integrations/1.0") == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_response) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_WRITEDATA, j) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_HEADERDATA, j) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf) == CURLE_OK;
    if (ok && j->body != NULL)
        ok = curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(j->body)) ==
                 CURLE_OK;
    if (!ok)
        return BW_EINTERNAL;
    return bw_deliverer_add_request(tk->dv, &j->req);
}

/* ---- what is sent --------------------------------------------------------- */

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

/* The incident's deadlines, one line each: "INCIDENT_NOTIFICATION (NIS2 Art
 * 23(4)(b)): due 2025-06-13T09:15:00+02:00, PENDING". */
static json_t *deadline_lines(json_t *incident)
{
    json_t *lines = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(incident, "deadlines"), i, d)
    {
        const char *due = str(d, "dueAtLocal")[0] ? str(d, "dueAtLocal") : str(d, "dueAt");
        char line[400];
        snprintf(line, sizeof(line), "%s (%s): %s%s, %s", str(d, "kind"), str(d, "basis"),
                 due[0] ? "due " : "due time not known yet", due, str(d, "status"));
        json_array_append_new(lines, json_string(line));
    }
    return lines;
}

static char *plain_description(job_t *j)
{
    json_t *lines = deadline_lines(j->incident);
    size_t cap = 512 + 420 * json_array_size(lines), o = 0;
    char *text = bw_arena_alloc(j->arena, cap);
    if (text != NULL) {
        o += (size_t)snprintf(text, cap,
                              "Bulwark incident %s, aware at %s. Deadlines:", j->incident_id,
                              str(j->incident, "awareAt"));
        size_t i;
        json_t *line;
        json_array_foreach(lines, i, line)
        {
            if (o < cap)
                o += (size_t)snprintf(text + o, cap - o, "\n- %s", json_string_value(line));
        }
    }
    json_decref(lines);
    return text;
}

/* The description in Atlassian Document Format: a paragraph naming the
 * incident (inbound events find the incident by it), then the deadlines
 * as a bullet list. */
static json_t *adf_description(job_t *j)
{
    char intro[256];
    snprintf(intro, sizeof(intro), "Bulwark incident %s, aware at %s.", j->incident_id,
             str(j->incident, "awareAt"));
    json_t *items = json_array();
    json_t *lines = deadline_lines(j->incident);
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line)
    {
        json_array_append_new(items, json_pack("{s:s, s:[{s:s, s:[{s:s, s:O}]}]}", "type",
                                               "listItem", "content", "type", "paragraph",
                                               "content", "type", "text", "text", line));
    }
    json_decref(lines);
    json_t *content = json_pack("[{s:s, s:[{s:s, s:s}]}]", "type", "paragraph", "content", "type",
                                "text", "text", intro);
    if (json_array_size(items) > 0)
        json_array_append_new(content,
                              json_pack("{s:s, s:o}", "type", "bulletList", "content", items));
    else
        json_decref(items);
    return json_pack("{s:s, s:i, s:o}", "type", "doc", "version", 1, "content", content);
}

static int jira_create(job_t *j)
{
    json_t *fields =
        json_pack("{s:{s:s}, s:s, s:{s:s}, s:o}", "project", "key", j->project_key, "summary",
                  str(j->incident, "title"), "issuetype", "name",
                  j->issue_type[0] ? j->issue_type : "Task", "description", adf_description(j));
    return send_step(j, STEP_JIRA_CREATE, "POST", "/rest/api/3/issue",
                     json_pack("{s:o}", "fields", fields));
}

static int jira_transitions(job_t *j)
{
    char *path = bw_arena_printf(j->arena, "/rest/api/3/issue/%s/transitions", j->ticket_key);
    return path != NULL ? send_step(j, STEP_JIRA_TRANSITIONS, "GET", path, NULL) : BW_ENOMEM;
}

/* ServiceNow's impact and urgency (1 high, 2 medium, 3 low): a significant
 * incident is high on both, another medium. */
static json_t *servicenow_record(job_t *j, int create)
{
    int significant = json_is_true(json_object_get(j->incident, "significant"));
    const char *level = significant ? "1" : "2";
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s}", "short_description", str(j->incident, "title"),
                            "description", plain_description(j), "impact", level, "urgency", level);
    if (create)
        json_object_set_new(rec, "correlation_id", json_string(j->incident_id));
    if (j->target != NULL)
        json_object_set_new(rec, "state", json_string(j->target));
    return rec;
}

/* The first step of a claimed job. */
static int begin(job_t *j)
{
    if (j->jira)
        return j->ticket_key == NULL ? jira_create(j) : jira_transitions(j);
    if (j->ticket_id == NULL)
        return send_step(j, STEP_SN_CREATE, "POST", "/api/now/table/incident",
                         servicenow_record(j, 1));
    char *path = bw_arena_printf(j->arena, "/api/now/table/incident/%s", j->ticket_id);
    return path != NULL ? send_step(j, STEP_SN_UPDATE, "PATCH", path, servicenow_record(j, 0))
                        : BW_ENOMEM;
}

/* ---- answers -------------------------------------------------------------- */

/* Links the ticket just opened to the incident, at once. */
static int link_ticket(job_t *j, const char *ticket_id, const char *ticket_key)
{
    bw_tickets_t *tk = j->tk;
    j->ticket_id = bw_arena_strdup(j->arena, ticket_id);
    j->ticket_key = bw_arena_strdup(j->arena, ticket_key);
    if (j->ticket_id == NULL || j->ticket_key == NULL)
        return BW_ENOMEM;
    const char *values[] = {j->connection, j->ticket_id, j->ticket_key, j->incident_id};
    bw_arena_reset(tk->scratch);
    return bw_db_exec1(tk->db, tk->scratch, j->tenant, &stmt_link, 4, values, NULL);
}

/* ServiceNow answers a write with the record as it now is, sys_mod_count
 * included, and a business rule on the Incident table (README.md) sends
 * that same version back to the inbound route: the echo of Bulwark's own
 * write, which would become a NOTE on the incident. Recorded as received
 * under the key inbound.c gives that version, it is answered "duplicate"
 * and changes nothing. An echo that arrives before this is recorded is
 * taken as an update, as before; a failure here is logged and costs only
 * that. */
static void expect_echo(job_t *j, const char *sys_id, json_t *record)
{
    const char *version = bw_inbound_text(record, "sys_mod_count");
    if (version == NULL || version[0] == '\0' || sys_id == NULL || sys_id[0] == '\0')
        return;
    bw_tickets_t *tk = j->tk;
    bw_arena_reset(tk->scratch);
    const char *values[] = {j->connection, bw_inbound_servicenow_key(tk->scratch, sys_id, version)};
    int err = values[1] != NULL
                  ? bw_db_exec1(tk->db, tk->scratch, j->tenant, &stmt_echo, 2, values, NULL)
                  : BW_ENOMEM;
    if (err != 0)
        bw_log(BW_LOG_WARN, &j->log, "ticket job %s: could not record the echo of %s: %s", j->id,
               sys_id, bw_strerror(err));
}

static void on_ref(void *arg, const bw_rpc_reply_t *reply);

/* Records the ticket's key (Jira) or number (ServiceNow) as the incident's
 * externalRef through the incidents service (SetExternalRef), with the
 * connection as origin, so that the change goes to webhooks and other
 * connections but never back to this one. The call is asynchronous: the
 * loop serves deliveries and other jobs while the incidents service
 * answers (or does not, for up to BULWARK_INCIDENTS_TIMEOUT_MS), and the
 * job goes on in on_ref. opened: the ticket was opened by this job (it was
 * linked first, so a crash meanwhile loses nothing: the job's lease runs
 * out and its next try records the ref). Otherwise the job is a retry
 * whose earlier try opened the ticket, and the call is made only while
 * the event's incident has no externalRef. 1 when the call was started, 0
 * when none is needed, BW_E* when it could not start. */
static int record_ref(job_t *j, int opened)
{
    if (!opened && str(j->incident, "externalRef")[0] != '\0')
        return 0;
    Bulwark__Incidents__V1__SetExternalRefRequest req =
        BULWARK__INCIDENTS__V1__SET_EXTERNAL_REF_REQUEST__INIT;
    req.incident = (char *)j->incident_id;
    req.external_ref = (char *)j->ticket_key;
    const char *origin =
        bw_arena_printf(j->arena, "%s:%s", j->jira ? "jira" : "servicenow", j->connection);
    if (origin == NULL)
        return BW_ENOMEM;
    bw_incidents_caller_t who = {j->tenant, origin, origin, NULL, NULL};
    int err =
        bw_incidents_async_call(j->tk->incidents, "SetExternalRef", &req.base, &who, on_ref, j);
    if (err != 0)
        return err;
    j->ref_opened = opened;
    j->ref_first = !opened;
    return 1;
}

/* The transition to the mapped state: by its name or its target status. */
static const char *find_transition(job_t *j, json_t *doc)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "transitions"), i, t)
    {
        if (strcasecmp(str(t, "name"), j->target) == 0 ||
            strcasecmp(str(json_object_get(t, "to"), "name"), j->target) == 0)
            return bw_arena_strdup(j->arena, str(t, "id"));
    }
    return NULL;
}

/* The job again on the webhooks' schedule (status 0: no answer, or our own
 * failure to record one), or failed once the schedule is over. */
static void again(job_t *j, long status, const char *detail)
{
    uint32_t random = (uint32_t)bw_random_u64();
    long retry_after = bw_retry_after_parse(j->retry_after, (long long)time(NULL));
    long long wait_ms;
    bw_attempt_outcome_t outcome = bw_deliverer_outcome(&j->tk->svc->retry, status, j->attempts + 1,
                                                        retry_after, random, &wait_ms);
    if (outcome == BW_ATTEMPT_RETRY) {
        complete(j, BW_ATTEMPT_RETRY, wait_ms, detail);
        return;
    }
    const char *why = bw_arena_printf(j->arena, "retries exhausted; last: %s", detail);
    complete(j, BW_ATTEMPT_FAILED, 0, why != NULL ? why : detail);
}

/* Whether a ticket's id and key fit where they are kept (ticket_links:
 * at most TICKET_REF_MAX bytes each). One that does not is a ticket made
 * there that Bulwark cannot link: asking again would make another. */
static int ticket_ref_fits(const char *id, const char *key)
{
    return strlen(id) <= TICKET_REF_MAX && strlen(key) <= TICKET_REF_MAX;
}

/* A 2xx answer: the next step, or the job's end. */
static void advance(job_t *j, long status)
{
    json_t *doc = j->response != NULL ? json_loads(j->response, 0, NULL) : NULL;
    const char *detail = NULL;
    int err = 0, next = 0;
    switch (j->step) {
    case STEP_JIRA_CREATE: {
        const char *id = str(doc, "id"), *key = str(doc, "key");
        if (!id[0] || !key[0]) {
            detail = "Jira's answer has no issue id or key";
            break;
        }
        if (!ticket_ref_fits(id, key)) {
            detail = "Jira's answer has an issue id or key over 100 bytes: the issue cannot "
                     "be linked";
            break;
        }
        if ((err = link_ticket(j, id, key)) != 0)
            break;
        log_call(j, (int)status, bw_arena_printf(j->arena, "issue %s opened", key));
        err = record_ref(j, 1); /* then on_ref */
        next = err > 0;
        err = err < 0 ? err : 0;
        break;
    }
    case STEP_JIRA_TRANSITIONS: {
        const char *id = find_transition(j, doc);
        if (id == NULL) {
            log_call(j, (int)status,
                     bw_arena_printf(j->arena,
                                     "no transition to \"%s\" from the issue's status: "
                                     "left as it is",
                                     j->target));
            break;
        }
        char *path = bw_arena_printf(j->arena, "/rest/api/3/issue/%s/transitions", j->ticket_key);
        err = path != NULL ? send_step(j, STEP_JIRA_TRANSITION, "POST", path,
                                       json_pack("{s:{s:s}}", "transition", "id", id))
                           : BW_ENOMEM;
        next = err == 0;
        break;
    }
    case STEP_JIRA_TRANSITION:
        log_call(j, (int)status, bw_arena_printf(j->arena, "moved to \"%s\"", j->target));
        break;
    case STEP_SN_CREATE: {
        json_t *result = json_object_get(doc, "result");
        const char *sys_id = str(result, "sys_id"), *number = str(result, "number");
        if (!sys_id[0]) {
            detail = "ServiceNow's answer has no sys_id";
            break;
        }
        if (!ticket_ref_fits(sys_id, number)) {
            detail = "ServiceNow's answer has a sys_id or number over 100 bytes: the record "
                     "cannot be linked";
            break;
        }
        err = link_ticket(j, sys_id, number[0] ? number : sys_id);
        if (err == 0) {
            expect_echo(j, sys_id, result);
            log_call(j, (int)status,
                     bw_arena_printf(j->arena, "incident %s opened", j->ticket_key));
        }
        if (err == 0) {
            err = record_ref(j, 1); /* then on_ref */
            next = err > 0;
            err = err < 0 ? err : 0;
        }
        break;
    }
    case STEP_SN_UPDATE:
        expect_echo(j, j->ticket_id, json_object_get(doc, "result"));
        log_call(j, (int)status, "updated");
        break;
    }
    json_decref(doc);
    if (next)
        return;
    if (err != 0) {
        detail = bw_arena_printf(j->arena, "%s failed: %s", step_names[j->step], bw_strerror(err));
        again(j, 0, detail != NULL ? detail : "");
        return;
    }
    if (detail != NULL) {
        log_call(j, (int)status, detail);
        complete(j, BW_ATTEMPT_FAILED, 0, detail);
        return;
    }
    complete(j, BW_ATTEMPT_SUCCEEDED, 0, "");
}

/* What the answer says, for the log: Jira's errorMessages and errors,
 * ServiceNow's error.message, else the start of the body. */
static const char *answer_detail(job_t *j, long status)
{
    json_t *doc = j->response != NULL ? json_loads(j->response, 0, NULL) : NULL;
    char *dumped = NULL;
    const char *said = "";
    json_t *sn = json_object_get(json_object_get(doc, "error"), "message");
    if (json_is_string(sn)) {
        said = json_string_value(sn);
    } else if (json_object_get(doc, "errorMessages") != NULL) {
        json_t *both = json_pack(
            "{s:O, s:O}", "errorMessages", json_object_get(doc, "errorMessages"), "errors",
            json_object_get(doc, "errors") ? json_object_get(doc, "errors") : json_null());
        said = dumped = json_dumps(both, JSON_COMPACT);
        json_decref(both);
    } else if (j->response != NULL) {
        said = j->response;
    }
    char *out = bw_arena_printf(j->arena, "HTTP %ld%s%.300s", status, said && said[0] ? ": " : "",
                                said ? said : "");
    free(dumped);
    json_decref(doc);
    /* The log keeps text: a body in another encoding, or cut inside a
     * character, would fail the log's and the job's writes, and the job
     * would run again and again. */
    for (char *p = out; p != NULL && *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    if (out != NULL)
        bw_utf8_scrub(out);
    return out != NULL ? out : "";
}

static void on_done(bw_deliverer_request_t *req, CURLcode code)
{
    job_t *j = (job_t *)(void *)req;
    long status = 0;
    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK && status >= 200 && status <= 299) {
        advance(j, status);
        return;
    }
    const char *detail;
    if (code != CURLE_OK) {
        status = 0;
        detail = bw_arena_printf(j->arena, "no answer: %s",
                                 j->guard.refused[0]                ? j->guard.refused
                                 : code == CURLE_OPERATION_TIMEDOUT ? "timed out"
                                 : j->errbuf[0]                     ? j->errbuf
                                                                    : curl_easy_strerror(code));
    } else {
        detail = answer_detail(j, status);
    }
    if (detail == NULL)
        detail = "";
    log_call(j, (int)status, detail);
    if (status == 0 || status == 429 || status >= 500) {
        again(j, status, detail);
        return;
    }
    /* Another answer will not change by asking again: the job fails. */
    complete(j, BW_ATTEMPT_FAILED, 0, detail);
}

/* The job's first request, or its end when there is nothing to send. */
static void proceed(job_t *j)
{
    if (j->target == NULL && j->ticket_key != NULL && j->jira) {
        /* Nothing to send to an issue that exists: say so, guess nothing. */
        const char *why =
            bw_arena_printf(j->arena, "state %s is not mapped: no transition", j->state);
        log_call(j, 0, why ? why : "");
        complete(j, BW_ATTEMPT_SUCCEEDED, 0, why ? why : "");
        return;
    }
    int err = begin(j);
    if (err != 0) {
        const char *why = bw_arena_printf(j->arena, "could not start %s: %s", step_names[j->step],
                                          bw_strerror(err));
        complete(j, BW_ATTEMPT_RETRY, 1000, why ? why : "");
    }
}

/* SetExternalRef answered (on the loop's thread). No answer, or one that
 * may change (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 * ABORTED): the job is tried again, and its next try records the ref
 * first. A refusal (the incident already refers to something else, or is
 * gone) keeps what the incident has, and the connection's log says so
 * once, when the ticket is opened. */
static void on_ref(void *arg, const bw_rpc_reply_t *reply)
{
    job_t *j = arg;
    if (j->tk->stopping)
        return; /* bw_tickets_destroy gives its lease back */
    int s = reply->status;
    if (s == BW_GRPC_UNAVAILABLE || s == BW_GRPC_DEADLINE_EXCEEDED ||
        s == BW_GRPC_RESOURCE_EXHAUSTED || s == BW_GRPC_ABORTED || s == BW_GRPC_CANCELLED) {
        const char *why = bw_arena_printf(j->arena, "externalRef %s not recorded: %s (gRPC %d)",
                                          j->ticket_key, reply->message, s);
        bw_log(BW_LOG_WARN, &j->log, "incidents service unavailable: %s", why ? why : "");
        complete(j, BW_ATTEMPT_RETRY, 1000, why ? why : "the incidents service is unavailable");
        return;
    }
    if (s != BW_GRPC_OK && j->ref_opened)
        log_call(j, 0,
                 bw_arena_printf(j->arena, "externalRef not set to %s: %s", j->ticket_key,
                                 reply->message[0] ? reply->message : "refused"));
    if (j->ref_first) {
        proceed(j);
        return;
    }
    /* The ticket was opened by this job: Jira's issue is moved next. */
    if (j->step == STEP_JIRA_CREATE && j->target != NULL) {
        int err = jira_transitions(j);
        if (err != 0) {
            const char *why = bw_arena_printf(j->arena, "%s failed: %s",
                                              step_names[STEP_JIRA_TRANSITIONS], bw_strerror(err));
            complete(j, BW_ATTEMPT_RETRY, 1000, why ? why : "");
        }
        return;
    }
    complete(j, BW_ATTEMPT_SUCCEEDED, 0, "");
}

/* ---- claiming ------------------------------------------------------------- */

static const char *opt_strdup(bw_arena_t *arena, const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : bw_store_strdup(arena, res, row, col);
}

/* Starts one claimed row, or records why it could not start. */
static void start(bw_tickets_t *tk, const PGresult *res, int row)
{
    job_t *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->arena = bw_arena_create(4096)) == NULL) {
        free(j);
        return; /* its lease runs out; it is tried again */
    }
    bw_arena_t *a = j->arena;
    j->tk = tk;
    int oom =
        BW_STORE_COLUMNS(a, res, row, {CL_TENANT, &j->tenant}, {CL_JOB, &j->id},
                         {CL_LEASE, &j->lease}, {CL_CONNECTION, &j->connection},
                         {CL_BASE_URL, &j->base_url}, {CL_PROJECT, &j->project_key},
                         {CL_ISSUE_TYPE, &j->issue_type}, {CL_INCIDENT, &j->incident_id}) != 0;
    j->jira = strcmp(PQgetvalue(res, row, CL_SYSTEM), "JIRA") == 0;
    j->ticket_id = opt_strdup(a, res, row, CL_TICKET_ID);
    j->ticket_key = opt_strdup(a, res, row, CL_TICKET_KEY);
    j->attempts = (int)bw_store_int(res, row, CL_ATTEMPTS);
    j->log.tenant_id = j->tenant;
    j->incident = json_loads(PQgetvalue(res, row, CL_DATA), 0, NULL);
    j->next = tk->head;
    if (tk->head != NULL)
        tk->head->prev = j;
    tk->head = j;
    tk->in_flight++;
    if (oom) {
        complete(j, BW_ATTEMPT_RETRY, 1000, "out of memory");
        return;
    }
    if (!json_is_object(j->incident)) {
        log_call(j, 0, "the event's incident cannot be read");
        complete(j, BW_ATTEMPT_FAILED, 0, "the event's incident cannot be read");
        return;
    }
    int err = bw_connections_credentials(tk->svc, a, j->tenant, j->connection, j->jira, res, row,
                                         CL_CREDENTIALS, &j->user, &j->password);
    if (err == BW_ENOMEM) {
        complete(j, BW_ATTEMPT_RETRY, 1000, "out of memory");
        return;
    }
    if (err != 0) {
        const char *why = err == BW_EPERM ? "the credentials were sealed under another "
                                            "BULWARK_SECRETS_KEY: set them again"
                                          : "the credentials cannot be opened: set them again";
        log_call(j, 0, why);
        complete(j, BW_ATTEMPT_FAILED, 0, why);
        return;
    }
    j->state = bw_arena_strdup(a, str(j->incident, "state"));
    const char *mapped = strcmp(j->state, "CLOSED") == 0 ? PQgetvalue(res, row, CL_STATE_CLOSED)
                                                         : PQgetvalue(res, row, CL_STATE_OPEN);
    j->target = mapped[0] != '\0' ? bw_arena_strdup(a, mapped) : NULL;
    /* A ticket opened by an earlier try whose externalRef was not recorded:
     * first that, then the job (on_ref). */
    if (j->ticket_key != NULL && (err = record_ref(j, 0)) != 0) {
        if (err < 0)
            complete(j, BW_ATTEMPT_RETRY, 1000, "the incidents service is unavailable");
        return;
    }
    proceed(j);
}

int bw_tickets_fill(bw_tickets_t *tk)
{
    int room = MAX_IN_FLIGHT - tk->in_flight;
    if (room <= 0)
        return 0;
    char limit[16], lease[24];
    snprintf(limit, sizeof(limit), "%d", room);
    /* A job makes up to three calls. */
    snprintf(lease, sizeof(lease), "%ld", 3 * (tk->svc->timeout_ms / 1000) + LEASE_MARGIN_SEC);
    const char *values[] = {limit, lease};
    bw_arena_t *claim = bw_arena_create(0);
    if (claim == NULL)
        return BW_ENOMEM;
    PGresult *res;
    int err = bw_db_exec1(tk->db, claim, NULL, &stmt_claim, 2, values, &res);
    if (err != 0) {
        bw_arena_destroy(claim);
        return err;
    }
    int n = PQntuples(res);
    for (int row = 0; row < n; row++)
        start(tk, res, row);
    bw_arena_destroy(claim);
    return n;
}

int bw_tickets_create(bw_db_t *db, const bw_integrations_t *svc, bw_deliverer_t *dv,
                      struct event_base *base, bw_attempt_counts_t *counts, bw_tickets_t **out)
{
    bw_tickets_t *tk = calloc(1, sizeof(*tk));
    if (tk == NULL || (tk->scratch = bw_arena_create(0)) == NULL) {
        free(tk);
        return BW_ENOMEM;
    }
    tk->counts = counts;
    int err = bw_incidents_async_open(svc->incidents, base, &tk->incidents);
    if (err != 0) {
        bw_arena_destroy(tk->scratch);
        free(tk);
        return err;
    }
    tk->db = db;
    tk->svc = svc;
    tk->dv = dv;
    *out = tk;
    return 0;
}

void bw_tickets_destroy(bw_tickets_t *tk)
{
    if (tk == NULL)
        return;
    /* Calls in flight are cancelled; their on_ref returns at once. */
    tk->stopping = 1;
    bw_incidents_async_close(tk->incidents);
    while (tk->head != NULL) {
        job_t *j = tk->head;
        bw_deliverer_cancel_request(tk->dv, &j->req);
        const char *values[] = {j->id, j->lease};
        bw_arena_reset(tk->scratch);
        if (bw_db_exec1(tk->db, tk->scratch, j->tenant, &stmt_release, 2, values, NULL) != 0)
            bw_log(BW_LOG_WARN, &j->log,
                   "could not give back the lease of ticket job %s; it runs again when the "
                   "lease runs out",
                   j->id);
        unlink_job(j);
        free_job(j);
    }
    bw_arena_destroy(tk->scratch);
    free(tk);
}
