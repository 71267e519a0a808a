/*
 * bulwark-attestations: the gRPC server of the attestations service (NIS2
 * Art 20 evidence). Its own settings: BULWARK_SIGNING_KEY_FILE (required)
 * and BULWARK_SCOPING_ADDR.
 */
#include "bulwark/attestations/v1/attestations.pb-c.h"

#include "attest.h"
#include "campaigns.h"
#include "governance.h"
#include "members.h"
#include "records.h"
#include "service.h"

#define RPC(name) "/bulwark.attestations.v1.AttestationService/" name
#define MSG(name) &bulwark__attestations__v1__##name##__descriptor

static const bw_rpc_method_t methods[] = {
    {RPC("CreateBoardMember"), MSG(create_board_member_request), MSG(board_member),
     bw_members_create, BW_RPC_WRITE},
    {RPC("ListBoardMembers"), MSG(list_board_members_request), MSG(list_board_members_response),
     bw_members_list},
    {RPC("UpdateBoardMember"), MSG(update_board_member_request), MSG(board_member),
     bw_members_update, BW_RPC_WRITE},
    {RPC("GetBoardMember"), MSG(get_board_member_request), MSG(board_member), bw_members_get},
    {RPC("CreateCampaign"), MSG(create_campaign_request), MSG(campaign), bw_campaigns_create,
     BW_RPC_WRITE},
    {RPC("GetCampaign"), MSG(get_campaign_request), MSG(campaign), bw_campaigns_get},
    {RPC("ListCampaigns"), MSG(list_campaigns_request), MSG(list_campaigns_response),
     bw_campaigns_list},
    {RPC("CreateAttestation"), MSG(create_attestation_request), MSG(attestation),
     bw_records_create, BW_RPC_WRITE},
    {RPC("GetGovernance"), MSG(get_governance_request), MSG(governance), bw_governance_get},
    {RPC("VerifyChain"), MSG(verify_chain_request), MSG(chain_verification), bw_records_verify},
    {RPC("ExportChain"), MSG(export_chain_request), MSG(chain_export), bw_records_export},
    {RPC("GetPublicKeys"), MSG(get_public_keys_request), MSG(public_keys), bw_records_public_keys},
};

int main(int argc, char **argv)
{
    /* Every module's statements, prepared on each worker connection. */
    const bw_db_stmt_list_t stmts[] = {
        {bw_attest_stmts, bw_attest_n_stmts},     {bw_members_stmts, bw_members_n_stmts},
        {bw_campaigns_stmts, bw_campaigns_n_stmts}, {bw_records_stmts, bw_records_n_stmts},
        {bw_governance_stmts, bw_governance_n_stmts},
    };
    const bw_service_def_t def = {
        .name = "attestations",
        .summary = "the governance attestations service (NIS2 Art 20 approvals and training, "
                   "signed hash chains)",
        .addr_env = "BULWARK_ATTESTATIONS_ADDR",
        .addr_default = "127.0.0.1:50054",
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
        .stmt_lists = stmts,
        .n_stmt_lists = sizeof(stmts) / sizeof(stmts[0]),
        .extra_items = bw_attest_config_items,
        .n_extra_items = bw_attest_n_config_items,
        .extra_config = &bw_attest_config,
        .init = bw_attest_init,
        .fini = bw_attest_fini,
    };
    return bw_service_main(&def, argc, argv);
}
