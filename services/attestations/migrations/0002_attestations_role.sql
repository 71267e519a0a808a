-- The attestations schema belongs to bulwark_attestations alone (see
-- common/migrations/0003_service_roles.sql): the same privileges
-- bulwark_service had here, and no one else keeps them. Records, campaigns
-- and signing keys stay append-only: no UPDATE or DELETE on them.
REVOKE ALL ON SCHEMA attestations FROM bulwark_service;
REVOKE ALL ON ALL TABLES IN SCHEMA attestations FROM bulwark_service;
GRANT USAGE ON SCHEMA attestations TO bulwark_attestations;
GRANT SELECT, INSERT, UPDATE ON attestations.board_members TO bulwark_attestations;
GRANT SELECT, INSERT ON attestations.campaigns TO bulwark_attestations;
GRANT SELECT, INSERT ON attestations.records TO bulwark_attestations;
GRANT SELECT, INSERT, UPDATE ON attestations.chain_heads TO bulwark_attestations;
GRANT SELECT, INSERT ON attestations.signing_keys TO bulwark_attestations;
GRANT SELECT ON attestations.campaign_tallies TO bulwark_attestations;
