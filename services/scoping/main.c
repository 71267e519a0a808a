/*
 * bulwark-scoping: the gRPC server of the scoping service.
 */
#include "bulwark/scoping/v1/scoping.pb-c.h"
#include "google/protobuf/empty.pb-c.h"

#include "assess.h"
#include "entities.h"
#include "service.h"

#define RPC(name) "/bulwark.scoping.v1.ScopingService/" name

static const bw_rpc_method_t methods[] = {
    {RPC("CreateEntity"), &bulwark__scoping__v1__create_entity_request__descriptor,
     &bulwark__scoping__v1__entity__descriptor, bw_entities_create, BW_RPC_WRITE},
    {RPC("GetEntity"), &bulwark__scoping__v1__get_entity_request__descriptor,
     &bulwark__scoping__v1__entity__descriptor, bw_entities_get},
    {RPC("ListEntities"), &bulwark__scoping__v1__list_entities_request__descriptor,
     &bulwark__scoping__v1__list_entities_response__descriptor, bw_entities_list},
    {RPC("UpdateEntity"), &bulwark__scoping__v1__update_entity_request__descriptor,
     &bulwark__scoping__v1__entity__descriptor, bw_entities_update, BW_RPC_WRITE},
    {RPC("DeleteEntity"), &bulwark__scoping__v1__delete_entity_request__descriptor,
     &google__protobuf__empty__descriptor, bw_entities_delete, BW_RPC_WRITE},
    {RPC("ListEntityTypes"), &bulwark__scoping__v1__list_entity_types_request__descriptor,
     &bulwark__scoping__v1__list_entity_types_response__descriptor, bw_assess_list_entity_types},
    {RPC("Assess"), &bulwark__scoping__v1__assess_request__descriptor,
     &bulwark__scoping__v1__assessment__descriptor, bw_assess_assess},
    {RPC("GetEntityClassification"),
     &bulwark__scoping__v1__get_entity_classification_request__descriptor,
     &bulwark__scoping__v1__assessment__descriptor, bw_assess_get_entity_classification},
};

/* The services that ask scoping about an entity may ask only that. */
static const char *const entity_lookup[] = {RPC("GetEntity"), NULL};
static const bw_rpc_peer_t peers[] = {
    {"crosswalk", entity_lookup},
    {"incidents", entity_lookup},
    {"attestations", entity_lookup},
};

int main(int argc, char **argv)
{
    const bw_service_def_t def = {
        .name = "scoping",
        .summary = "the NIS2 scoping service (legal entities, scope classification)",
        .addr_env = "BULWARK_SCOPING_ADDR",
        .addr_default = "127.0.0.1:50051",
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .peers = peers,
        .n_peers = sizeof(peers) / sizeof(peers[0]),
        .stmts = bw_entities_stmts,
        .n_stmts = bw_entities_n_stmts,
    };
    return bw_service_main(&def, argc, argv);
}
