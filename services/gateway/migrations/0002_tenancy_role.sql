-- The tenancy schema belongs to bulwark_tenancy alone (the gateway process's
-- group role, see common/migrations/0003_service_roles.sql): no other
-- process can read or write tenants or API keys, so only the gateway can
-- issue a key.
REVOKE ALL ON SCHEMA tenancy FROM bulwark_service;
REVOKE ALL ON ALL TABLES IN SCHEMA tenancy FROM bulwark_service;
REVOKE ALL ON FUNCTION tenancy.resolve_api_key(uuid) FROM bulwark_service;
GRANT USAGE ON SCHEMA tenancy TO bulwark_tenancy;
GRANT SELECT, INSERT, UPDATE ON tenancy.tenants, tenancy.api_keys TO bulwark_tenancy;

-- resolve_api_key crosses tenants. It used to rely on its owner bypassing
-- row-level security, which only a superuser does: row-level security is
-- forced, so it applies to the tables' owner as well, and on managed
-- PostgreSQL the owner is no superuser. The function now belongs to
-- bulwark_key_resolver, a role that cannot log in and has no members, whose
-- one policy shows it the keys not revoked, and whose one privilege is to
-- read the columns the function returns.
GRANT USAGE ON SCHEMA tenancy TO bulwark_key_resolver;
GRANT SELECT (key_id, tenant_id, role, secret_sha256, board_member, revoke_time)
    ON tenancy.api_keys TO bulwark_key_resolver;
CREATE POLICY key_resolution ON tenancy.api_keys
    FOR SELECT TO bulwark_key_resolver
    USING (revoke_time IS NULL);

REVOKE ALL ON FUNCTION tenancy.resolve_api_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.resolve_api_key(uuid) TO bulwark_tenancy;

-- Then the function goes to its owner (its grants go with it). That needs
-- membership in the new owner and its CREATE privilege on the schema: both
-- only for as long as it takes.
GRANT CREATE ON SCHEMA tenancy TO bulwark_key_resolver;
GRANT bulwark_key_resolver TO CURRENT_USER;
ALTER FUNCTION tenancy.resolve_api_key(uuid) OWNER TO bulwark_key_resolver;
REVOKE bulwark_key_resolver FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA tenancy FROM bulwark_key_resolver;
