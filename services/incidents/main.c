/*
 * bulwark-incidents: the gRPC server of the incidents service. Besides the
 * settings every service has, it reads where the scoping service listens,
 * which it asks for an incident's entity.
 */
#include "bulwark/incidents/v1/incidents.pb-c.h"

#include "handlers.h"
#include "log.h"
#include "records.h"
#include "service.h"
#include "significance.h"
#include "status.h"
#include "tz.h"

#include <stddef.h>
#include <stdlib.h>

#define RPC(name) "/bulwark.incidents.v1.IncidentsService/" name

static const bw_rpc_method_t methods[] = {
    {RPC("CreateIncident"), &bulwark__incidents__v1__create_incident_request__descriptor,
     &bulwark__incidents__v1__incident__descriptor, bw_incidents_create, BW_RPC_WRITE},
    {RPC("GetIncident"), &bulwark__incidents__v1__get_incident_request__descriptor,
     &bulwark__incidents__v1__incident__descriptor, bw_incidents_get},
    {RPC("ListIncidents"), &bulwark__incidents__v1__list_incidents_request__descriptor,
     &bulwark__incidents__v1__list_incidents_response__descriptor, bw_incidents_list},
    {RPC("AppendEvent"), &bulwark__incidents__v1__append_event_request__descriptor,
     &bulwark__incidents__v1__append_event_response__descriptor, bw_incidents_append_event, BW_RPC_WRITE},
    {RPC("GetTimeline"), &bulwark__incidents__v1__get_timeline_request__descriptor,
     &bulwark__incidents__v1__timeline__descriptor, bw_incidents_timeline},
    {RPC("ListDeadlines"), &bulwark__incidents__v1__list_deadlines_request__descriptor,
     &bulwark__incidents__v1__list_deadlines_response__descriptor, bw_incidents_list_deadlines},
    {RPC("AssessSignificance"), &bulwark__incidents__v1__assess_significance_request__descriptor,
     &bulwark__incidents__v1__significance_assessment__descriptor, bw_significance_handle},
};

typedef struct incidents_config {
    const char *scoping_addr;
    long scoping_timeout_ms;
} incidents_config_t;

static incidents_config_t extra;

static const bw_config_item_t extra_items[] = {
    {"BULWARK_SCOPING_ADDR", BW_CFG_ADDR, "127.0.0.1:50051", 0, 0,
     offsetof(incidents_config_t, scoping_addr), 0,
     "the scoping service (an incident's entity, time zone and trust services)"},
    {"BULWARK_SCOPING_TIMEOUT_MS", BW_CFG_INT, "3000", 100, 60000,
     offsetof(incidents_config_t, scoping_timeout_ms), 0,
     "deadline of each call to the scoping service, in milliseconds"},
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
    *service_data = svc;
    return 0;
}

static void fini(void *service_data)
{
    bw_incidents_service_t *svc = service_data;
    if (svc == NULL)
        return;
    bw_scoping_client_close(svc->scoping);
    free(svc);
}

/* The integrations service turns Jira issues and ServiceNow incidents into
 * incidents and their timeline events (services/integrations/inbound.c). */
static const char *const integrations_methods[] = {RPC("CreateIncident"), RPC("AppendEvent"),
                                                   NULL};
static const bw_rpc_peer_t peers[] = {{"integrations", integrations_methods}};

int main(int argc, char **argv)
{
    const bw_service_def_t def = {
        .name = "incidents",
        .summary = "the incidents service (NIS2 Art 23 reporting clock, significance criteria)",
        .addr_env = "BULWARK_INCIDENTS_ADDR",
        .addr_default = "127.0.0.1:50053",
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .peers = peers,
        .n_peers = sizeof(peers) / sizeof(peers[0]),
        .stmts = bw_records_stmts,
        .n_stmts = bw_records_n_stmts,
        .extra_items = extra_items,
        .n_extra_items = sizeof(extra_items) / sizeof(extra_items[0]),
        .extra_config = &extra,
        .init = init,
        .fini = fini,
    };
    return bw_service_main(&def, argc, argv);
}
