-- The incidents schema belongs to bulwark_incidents alone (see
-- common/migrations/0003_service_roles.sql): the same privileges
-- bulwark_service had here, and no one else keeps them.
REVOKE ALL ON SCHEMA incidents FROM bulwark_service;
REVOKE ALL ON ALL TABLES IN SCHEMA incidents FROM bulwark_service;
GRANT USAGE ON SCHEMA incidents TO bulwark_incidents;
-- Incidents are records: updated (derived columns), never deleted; events
-- are append-only.
GRANT SELECT, INSERT, UPDATE ON incidents.incidents TO bulwark_incidents;
GRANT SELECT, INSERT ON incidents.events TO bulwark_incidents;
GRANT SELECT, INSERT, UPDATE, DELETE ON incidents.deadlines TO bulwark_incidents;
