-- The scoping schema belongs to bulwark_scoping alone (see
-- common/migrations/0003_service_roles.sql); other services ask the scoping
-- service over gRPC instead of reading its tables.
REVOKE ALL ON SCHEMA scoping FROM bulwark_service;
REVOKE ALL ON ALL TABLES IN SCHEMA scoping FROM bulwark_service;
GRANT USAGE ON SCHEMA scoping TO bulwark_scoping;
GRANT SELECT, INSERT, UPDATE, DELETE ON scoping.entities TO bulwark_scoping;
