/*
 * bulwark-scoping: the gRPC server of the scoping service. At start-up it
 * loads the Member State profiles (those built in, or the directory
 * BULWARK_SCOPING_PROFILES_DIR names) and refuses to start if any fails its
 * checks; the workers then share them read-only.
 */
#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "assess.h"
#include "bw_services.h"
#include "entities.h"
#include "log.h"
#include "profiles.h"
#include "service.h"

#include <stddef.h>

#define RPC(name) "/bulwark.scoping.v1.ScopingService/" name

static const bw_rpc_handler_t handlers[] = {
    {"CreateEntity", bw_entities_create, BW_RPC_WRITE},
    {"GetEntity", bw_entities_get, 0, bw_entities_get_ahead},
    {"ListEntities", bw_entities_list},
    {"UpdateEntity", bw_entities_update, BW_RPC_WRITE},
    {"DeleteEntity", bw_entities_delete, BW_RPC_WRITE},
    {"ListEntityTypes", bw_assess_list_entity_types},
    {"Assess", bw_assess_assess},
    {"ListMemberStateProfiles", bw_assess_list_member_state_profiles},
    {"GetMemberStateProfile", bw_assess_get_member_state_profile},
    {"GetEntityClassification", bw_assess_get_entity_classification},
};

/* The services that ask scoping about an entity may ask only that (with its
 * applicability: GetEntity with view FULL); incidents also reads the
 * entity-type catalogue, for the Implementing Regulation's types. */
static const char *const entity_lookup[] = {RPC("GetEntity"), NULL};
static const char *const incidents_lookup[] = {RPC("GetEntity"), RPC("ListEntityTypes"), NULL};
static const bw_rpc_peer_t peers[] = {
    {"crosswalk", entity_lookup},
    {"incidents", incidents_lookup},
    {"attestations", entity_lookup},
};

typedef struct scoping_config {
    const char *profiles_dir;
} scoping_config_t;

static scoping_config_t extra;

static const bw_config_item_t extra_items[] = {
    {"BULWARK_SCOPING_PROFILES_DIR", BW_CFG_STRING, "", 0, 0,
     offsetof(scoping_config_t, profiles_dir), 0,
     "directory of Member State profiles (XX.json) to load instead of those built in; empty: "
     "the built-in ones"},
};

static int init(const bw_service_config_t *config, void **service_data)
{
    (void)config;
    char err[512] = "";
    bw_profiles_t *profiles = NULL;
    int rc = extra.profiles_dir[0] != '\0'
                 ? bw_profiles_load_dir(extra.profiles_dir, &profiles, err, sizeof(err))
                 : bw_profiles_load_builtin(&profiles, err, sizeof(err));
    if (rc != 0) {
        bw_log(BW_LOG_ERROR, NULL, "could not load the Member State profiles: %s",
               err[0] != '\0' ? err : "out of memory");
        return rc;
    }
    bw_log(BW_LOG_INFO, NULL, "Member State profiles: %s (%s)", bw_profiles_codes(profiles),
           extra.profiles_dir[0] != '\0' ? extra.profiles_dir : "built in");
    *service_data = profiles;
    return 0;
}

static void fini(void *service_data)
{
    bw_profiles_free(service_data);
}

int main(int argc, char **argv)
{
    const bw_service_def_t def = {
        BW_SERVICE_PROCESS(scoping, SCOPING),
        .summary = "the NIS2 scoping service (legal entities, scope classification)",
        .contract = &bulwark__scoping__v1__scoping_service__descriptor,
        BW_SERVICE_ARRAY(handlers, handlers),
        BW_SERVICE_ARRAY(peers, peers),
        .stmt_lists = &(const bw_db_stmt_list_t){bw_entities_stmts, bw_entities_n_stmts},
        .n_stmt_lists = 1,
        .purges = bw_entities_purges,
        .n_purges = bw_entities_n_purges,
        BW_SERVICE_SETTINGS(extra_items, &extra),
        .init = init,
        .fini = fini,
    };
    return bw_service_main(&def, argc, argv);
}
