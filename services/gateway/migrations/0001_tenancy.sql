-- Tenants and their API keys. Owned by the gateway, which serves the tenancy
-- RPCs. Every table leads its primary key with tenant_id and forces
-- row-level security keyed on the transaction's bulwark.tenant_id setting.
CREATE SCHEMA tenancy;
GRANT USAGE ON SCHEMA tenancy TO bulwark_service;

CREATE TABLE tenancy.tenants (
    tenant_id   uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    revision    bigint NOT NULL DEFAULT 1
);

CREATE TABLE tenancy.api_keys (
    tenant_id     uuid NOT NULL REFERENCES tenancy.tenants (tenant_id),
    key_id        uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role          text NOT NULL
                  CHECK (role IN ('admin', 'editor', 'auditor', 'viewer', 'board_member')),
    -- SHA-256 of the whole token; the token itself is never stored.
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    board_member  uuid,
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    revoke_time   timestamptz,
    revision      bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, key_id)
);
CREATE UNIQUE INDEX api_keys_key_id ON tenancy.api_keys (key_id);

ALTER TABLE tenancy.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenancy.tenants
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

ALTER TABLE tenancy.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenancy.api_keys
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON tenancy.tenants TO bulwark_service;
GRANT SELECT, INSERT, UPDATE ON tenancy.api_keys TO bulwark_service;

-- A presented key arrives before its tenant is known, so resolving it is the
-- one lookup that must cross tenants. This function does only that, for one
-- key id, and runs with its owner's rights (the migrating role, which owns
-- the tables and bypasses row-level security).
CREATE FUNCTION tenancy.resolve_api_key(p_key_id uuid)
RETURNS TABLE (tenant_id uuid, role text, secret_sha256 bytea, board_member uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.tenant_id, k.role, k.secret_sha256, k.board_member
      FROM tenancy.api_keys k
     WHERE k.key_id = p_key_id AND k.revoke_time IS NULL
$$;
REVOKE ALL ON FUNCTION tenancy.resolve_api_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.resolve_api_key(uuid) TO bulwark_service;
