-- The crosswalk schema belongs to bulwark_crosswalk alone (see
-- common/migrations/0003_service_roles.sql): the same privileges
-- bulwark_service had here, and no one else keeps them.
REVOKE ALL ON SCHEMA crosswalk FROM bulwark_service;
REVOKE ALL ON ALL TABLES IN SCHEMA crosswalk FROM bulwark_service;
GRANT USAGE ON SCHEMA crosswalk TO bulwark_crosswalk;
-- Reference data: read, never written.
GRANT SELECT ON crosswalk.sources, crosswalk.frameworks, crosswalk.requirements,
    crosswalk.mappings TO bulwark_crosswalk;
GRANT SELECT, INSERT, DELETE ON crosswalk.mapping_overrides TO bulwark_crosswalk;
GRANT SELECT, INSERT, UPDATE ON crosswalk.soa_controls TO bulwark_crosswalk;
GRANT SELECT, INSERT ON crosswalk.soa_history TO bulwark_crosswalk;
