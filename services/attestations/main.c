/*
 * bulwark-attestations: the gRPC server of the attestations service (NIS2
 * Art 20 evidence). Its own settings: BULWARK_SIGNING_KEY_FILE (required)
 * and BULWARK_SCOPING_ADDR.
 */
#include "bulwark/attestations/v1/attestations.pb-c.h"

#include "attest.h"
#include "bw_services.h"
#include "campaigns.h"
#include "governance.h"
#include "members.h"
#include "records.h"
#include "service.h"

static const bw_rpc_handler_t handlers[] = {
    {"CreateBoardMember", bw_members_create, BW_RPC_WRITE},
    {"ListBoardMembers", bw_members_list},
    {"UpdateBoardMember", bw_members_update, BW_RPC_WRITE},
    {"GetBoardMember", bw_members_get},
    {"CreateCampaign", bw_campaigns_create, BW_RPC_WRITE},
    {"GetCampaign", bw_campaigns_get},
    {"ListCampaigns", bw_campaigns_list},
    {"CreateAttestation", bw_records_create, BW_RPC_WRITE},
    {"GetGovernance", bw_governance_get},
    {"VerifyChain", bw_records_verify},
    {"ExportChain", bw_records_export},
    {"GetPublicKeys", bw_records_public_keys},
};

int main(int argc, char **argv)
{
    /* Every module's statements, prepared on each worker connection. */
    const bw_db_stmt_list_t stmts[] = {
        {bw_attest_stmts, bw_attest_n_stmts},         {bw_members_stmts, bw_members_n_stmts},
        {bw_campaigns_stmts, bw_campaigns_n_stmts},   {bw_records_stmts, bw_records_n_stmts},
        {bw_governance_stmts, bw_governance_n_stmts},
    };
    const bw_service_def_t def = {
        BW_SERVICE_PROCESS(attestations, ATTESTATIONS),
        .summary = "the governance attestations service (NIS2 Art 20 approvals and training, "
                   "signed hash chains)",
        .contract = &bulwark__attestations__v1__attestation_service__descriptor,
        BW_SERVICE_ARRAY(handlers, handlers),
        BW_SERVICE_ARRAY(stmt_lists, stmts),
        .extra_items = bw_attest_config_items,
        .n_extra_items = bw_attest_n_config_items,
        .extra_config = &bw_attest_config,
        .init = bw_attest_init,
        .fini = bw_attest_fini,
    };
    return bw_service_main(&def, argc, argv);
}
