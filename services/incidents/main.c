/*
 * bulwark-incidents: the gRPC server of the incidents service. Besides the
 * settings every service has, it reads where the scoping service listens,
 * which it asks for an incident's entity.
 */
#include "bulwark/incidents/v1/incidents.pb-c.h"

#include "bw_services.h"
#include "handlers.h"
#include "log.h"
#include "records.h"
#include "scheduler.h"
#include "render.h"
#include "service.h"
#include "settings.h"
#include "significance.h"
#include "status.h"
#include "tz.h"

#include <stddef.h>
#include <stdlib.h>

static const bw_rpc_handler_t handlers[] = {
    {"CreateIncident", bw_incidents_create, BW_RPC_WRITE},
    {"GetIncident", bw_incidents_get, 0, bw_incidents_get_ahead},
    {"ListIncidents", bw_incidents_list},
    {"AppendEvent", bw_incidents_append_event, BW_RPC_WRITE},
    {"SetExternalRef", bw_incidents_set_external_ref, BW_RPC_WRITE | BW_RPC_NAMED_PEERS},
    {"GetTimeline", bw_incidents_timeline},
    {"ListDeadlines", bw_incidents_list_deadlines},
    {"AssessSignificance", bw_significance_handle},
    {"GetIncidentSettings", bw_settings_get},
    {"UpdateIncidentSettings", bw_settings_update, BW_RPC_WRITE},
    {"RenderIncidentRegister", bw_incidents_render_register},
    {"GetTimelinePicture", bw_incidents_render_timeline},
};

#define RPC(name) "/bulwark.incidents.v1.IncidentsService/" name

/* The integrations service records and updates incidents for the ticket
 * systems it connects (Jira, ServiceNow), declaring where each change came
 * from (x-bulwark-origin, rpc.h), and records the ticket it opened for an
 * incident (SetExternalRef, which only it may call). */
static const char *const integrations_calls[] = {RPC("CreateIncident"), RPC("AppendEvent"),
                                                 RPC("GetIncident"), RPC("SetExternalRef"), NULL};
static const bw_rpc_peer_t peers[] = {{"integrations", integrations_calls}};

typedef struct incidents_config {
    const char *scoping_addr;
    long scoping_timeout_ms;
    long scheduler_interval_ms;
} incidents_config_t;

static incidents_config_t extra;

static const bw_config_item_t extra_items[] = {
    BW_SCOPING_CLIENT_CONFIG_ITEMS(incidents_config_t),
    {"BULWARK_SCHEDULER_INTERVAL_MS", BW_CFG_INT, "5000", 0, 3600000,
     offsetof(incidents_config_t, scheduler_interval_ms), 0,
     "how often the deadline scheduler looks for due alerts (incident.deadline.approaching, "
     "incident.deadline.missed), in milliseconds; 0: no scheduler in this process"},
};

static int init(const bw_service_config_t *config, void **service_data)
{
    bw_incidents_service_t *svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return BW_ENOMEM;
    int err = bw_scoping_client_open(config->tls, extra.scoping_addr, (int)config->workers,
                                     (int)extra.scoping_timeout_ms, &svc->scoping);
    if (err != 0) {
        free(svc);
        return err;
    }
    bw_log(BW_LOG_INFO, NULL, "scoping service at %s; time zone data %s (ICU)", extra.scoping_addr,
           bw_tz_data_version());
    if (extra.scheduler_interval_ms > 0 &&
        (err = bw_scheduler_start(config->database_url, extra.scheduler_interval_ms,
                                  &svc->scheduler)) != 0) {
        bw_scoping_client_close(svc->scoping);
        free(svc);
        return err;
    }
    *service_data = svc;
    return 0;
}

static void fini(void *service_data)
{
    bw_incidents_service_t *svc = service_data;
    bw_scheduler_stop(svc->scheduler);
    bw_scoping_client_close(svc->scoping);
    free(svc);
}

int main(int argc, char **argv)
{
    /* Every module's statements, prepared on each worker connection. */
    const bw_db_stmt_list_t stmts[] = {
        {bw_records_stmts, bw_records_n_stmts},
        {bw_settings_stmts, bw_settings_n_stmts},
    };
    const bw_service_def_t def = {
        BW_SERVICE_PROCESS(incidents, INCIDENTS),
        .summary = "the incidents service (NIS2 Art 23 reporting clock, significance criteria)",
        .contract = &bulwark__incidents__v1__incidents_service__descriptor,
        BW_SERVICE_ARRAY(handlers, handlers),
        BW_SERVICE_ARRAY(peers, peers),
        BW_SERVICE_ARRAY(stmt_lists, stmts),
        BW_SERVICE_SETTINGS(extra_items, &extra),
        .init = init,
        .fini = fini,
    };
    return bw_service_main(&def, argc, argv);
}
