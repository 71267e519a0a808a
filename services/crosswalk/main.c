/*
 * bulwark-crosswalk: the gRPC server of the crosswalk service. At start-up
 * it reads the reference catalogue from the crosswalk schema (through one
 * connection of its own, closed again) and opens the scoping client; the
 * workers then share both.
 */
#include "bulwark/crosswalk/v1/crosswalk.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "bw_services.h"
#include "crosswalk.h"
#include "log.h"
#include "service.h"
#include "status.h"

#include <stddef.h>
#include <stdlib.h>

static const bw_rpc_handler_t handlers[] = {
    {"ListFrameworks", bw_cw_list_frameworks},
    {"ListRequirements", bw_cw_list_requirements},
    {"ListMappings", bw_cw_list_mappings},
    {"CreateMappingOverride", bw_cw_create_override, BW_RPC_WRITE},
    {"ListMappingOverrides", bw_cw_list_overrides},
    {"DeleteMappingOverride", bw_cw_delete_override, BW_RPC_WRITE},
    {"ListControls", bw_cw_list_controls},
    {"GetControl", bw_cw_get_control},
    {"PutControl", bw_cw_put_control, BW_RPC_WRITE},
    {"ImportControls", bw_cw_import_controls, BW_RPC_WRITE},
    {"ExportControls", bw_cw_export_controls},
    {"ListControlHistory", bw_cw_list_history},
    {"GetGapAnalysis", bw_cw_gap_analysis},
    {"RenderControls", bw_cw_render_controls},
    {"RenderGapAnalysis", bw_cw_render_gap_analysis},
    {"GetGapAnalysisPicture", bw_cw_render_gap_analysis},
};

typedef struct crosswalk_config {
    const char *scoping_addr;
    long scoping_timeout_ms;
} crosswalk_config_t;

static crosswalk_config_t extra;

static const bw_config_item_t extra_items[] = {
    BW_SCOPING_CLIENT_CONFIG_ITEMS(crosswalk_config_t),
};

static int init(const bw_service_config_t *config, void **service_data)
{
    char err[512] = "";
    bw_db_t *db = NULL;
    bw_cw_service_t *svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return BW_ENOMEM;
    int rc =
        bw_db_open(config->database_url, bw_cw_catalogue_stmts, bw_cw_catalogue_n_stmts, 0, &db);
    if (rc != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not connect to the database: %s", bw_strerror(rc));
        goto out;
    }
    rc = bw_cw_catalogue_load(db, &svc->cat, err, sizeof(err));
    if (rc != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not load the crosswalk catalogue: %s", err);
        goto out;
    }
    rc = bw_scoping_client_open(config->tls, extra.scoping_addr, (int)config->workers,
                                (int)extra.scoping_timeout_ms, &svc->scoping);
    if (rc != 0)
        goto out;
    bw_log(BW_LOG_INFO, NULL, "catalogue: %zu frameworks, %zu requirements, %zu mappings",
           svc->cat->n_frameworks, svc->cat->n_reqs, svc->cat->n_maps);
out:
    bw_db_close(db);
    if (rc != 0) {
        bw_cw_catalogue_free(svc->cat);
        free(svc);
        return rc;
    }
    *service_data = svc;
    return 0;
}

static void fini(void *service_data)
{
    bw_cw_service_t *svc = service_data;
    bw_scoping_client_close(svc->scoping);
    bw_cw_catalogue_free(svc->cat);
    free(svc);
}

bw_cw_service_t *bw_cw_service(bw_call_t *call)
{
    return bw_service_data(call);
}

int main(int argc, char **argv)
{
    const bw_db_stmt_list_t stmts[] = {
        {bw_cw_mappings_stmts, bw_cw_mappings_n_stmts},
        {bw_cw_soa_stmts, bw_cw_soa_n_stmts},
        {bw_cw_gap_stmts, bw_cw_gap_n_stmts},
    };
    const bw_service_def_t def = {
        BW_SERVICE_PROCESS(crosswalk, CROSSWALK),
        .summary = "the crosswalk service (ISO 27001 to NIS2, Statement of Applicability, gaps)",
        .contract = &bulwark__crosswalk__v1__crosswalk_service__descriptor,
        BW_SERVICE_ARRAY(handlers, handlers),
        BW_SERVICE_ARRAY(stmt_lists, stmts),
        BW_SERVICE_SETTINGS(extra_items, &extra),
        .init = init,
        .fini = fini,
    };
    return bw_service_main(&def, argc, argv);
}
