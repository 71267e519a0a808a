-- The tenant lifecycle and the rest of the API keys' life (issue 15):
-- suspension, usage, the certificates of deleted tenants, key expiry,
-- rotation and last use. docs/DESIGN.md, "Tenant lifecycle", says why.

-- A suspended tenant's credentials are refused; its data stays.
ALTER TABLE tenancy.tenants
    ADD COLUMN state text NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'SUSPENDED')),
    ADD COLUMN suspend_time timestamptz,
    ADD COLUMN suspend_reason text NOT NULL DEFAULT '' CHECK (length(suspend_reason) <= 500),
    ADD CONSTRAINT tenants_suspended_since CHECK ((state = 'SUSPENDED') = (suspend_time IS NOT NULL));

-- expire_time: refused after (401 API_KEY_EXPIRED). A rotation keeps the
-- secret it replaced as previous_secret_sha256 until
-- previous_secret_expire_time. last_use_time is written by the gateways at
-- most once a minute per key (services/gateway/usage.c), not per request.
ALTER TABLE tenancy.api_keys
    ADD COLUMN expire_time timestamptz,
    ADD COLUMN previous_secret_sha256 bytea CHECK (length(previous_secret_sha256) = 32),
    ADD COLUMN previous_secret_expire_time timestamptz,
    ADD COLUMN last_use_time timestamptz,
    ADD CONSTRAINT api_keys_previous_secret_check
        CHECK ((previous_secret_sha256 IS NULL) = (previous_secret_expire_time IS NULL));

-- Authenticated requests per tenant and hour, added up by every gateway
-- from its counters in memory once a minute; hours older than two days go
-- at the next flush of the tenant.
CREATE TABLE tenancy.request_counts (
    tenant_id uuid NOT NULL,
    hour      timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour)),
    requests  bigint NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (tenant_id, hour)
);
ALTER TABLE tenancy.request_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.request_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenancy.request_counts
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON tenancy.request_counts TO bulwark_tenancy;

-- The record of each deleted tenant, in the operator's scope (tenant_id is
-- the nil UUID), never changed: what was deleted, when, by whom, and the
-- hash of the certificate returned (its canonical text is kept beside it).
CREATE TABLE tenancy.deletion_certificates (
    tenant_id      uuid NOT NULL,
    deleted_tenant uuid NOT NULL,
    tenant_name    text NOT NULL,
    delete_time    timestamptz NOT NULL,
    deleted_by     text NOT NULL,
    request_id     text NOT NULL,
    canonical      text NOT NULL,
    sha256         text NOT NULL,
    PRIMARY KEY (tenant_id, deleted_tenant),
    CONSTRAINT deletion_certificates_operator_scope
        CHECK (tenant_id = '00000000-0000-0000-0000-000000000000'),
    CONSTRAINT deletion_certificates_sha256_check
        CHECK (sha256 = encode(sha256(convert_to(canonical, 'UTF8')), 'hex'))
);
ALTER TABLE tenancy.deletion_certificates ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenancy.deletion_certificates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenancy.deletion_certificates
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
CREATE TRIGGER deletion_certificates_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON tenancy.deletion_certificates FOR EACH STATEMENT EXECUTE FUNCTION bulwark.refuse_change();
GRANT SELECT, INSERT ON tenancy.deletion_certificates TO bulwark_tenancy;

-- Key resolution learns the key's expiry, the secret a rotation replaced,
-- and whether the tenant is suspended. The return type changes, so the
-- function is made again (the schema's owner may drop it) and handed to
-- bulwark_key_resolver as in 0002, which may now read those columns and,
-- through its own policy, the tenants' state.
DROP FUNCTION tenancy.resolve_api_key(uuid);
CREATE FUNCTION tenancy.resolve_api_key(p_key_id uuid)
RETURNS TABLE (tenant_id uuid, role text, secret_sha256 bytea, board_member uuid,
               expire_time timestamptz, previous_secret_sha256 bytea,
               previous_secret_expire_time timestamptz, tenant_state text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.tenant_id, k.role, k.secret_sha256, k.board_member, k.expire_time,
           k.previous_secret_sha256, k.previous_secret_expire_time, t.state
      FROM tenancy.api_keys k
      JOIN tenancy.tenants t ON t.tenant_id = k.tenant_id
     WHERE k.key_id = p_key_id AND k.revoke_time IS NULL
$$;
GRANT SELECT (expire_time, previous_secret_sha256, previous_secret_expire_time)
    ON tenancy.api_keys TO bulwark_key_resolver;
GRANT SELECT (tenant_id, state) ON tenancy.tenants TO bulwark_key_resolver;
CREATE POLICY key_resolution ON tenancy.tenants
    FOR SELECT TO bulwark_key_resolver
    USING (true);
REVOKE ALL ON FUNCTION tenancy.resolve_api_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.resolve_api_key(uuid) TO bulwark_tenancy;
GRANT CREATE ON SCHEMA tenancy TO bulwark_key_resolver;
GRANT bulwark_key_resolver TO CURRENT_USER;
ALTER FUNCTION tenancy.resolve_api_key(uuid) OWNER TO bulwark_key_resolver;
REVOKE bulwark_key_resolver FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA tenancy FROM bulwark_key_resolver;

-- The operator's list crosses tenants: one function, owned by a role of its
-- own that cannot log in and has no members, whose policies show it every
-- tenant and every request count, and whose grants are the columns listed.
DO $$
DECLARE
    bad record;
BEGIN
    SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
      INTO bad FROM pg_roles WHERE rolname = 'bulwark_tenant_lister';
    IF NOT FOUND THEN
        CREATE ROLE bulwark_tenant_lister NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION
            NOCREATEDB NOCREATEROLE;
    ELSIF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
        RAISE EXCEPTION 'role bulwark_tenant_lister is a superuser, a replication role or bypasses row-level security'
            USING HINT = 'As a superuser: ALTER ROLE bulwark_tenant_lister NOSUPERUSER NOBYPASSRLS NOREPLICATION';
    ELSIF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
        ALTER ROLE bulwark_tenant_lister NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

-- Newest first, after p_after (NULL: from the newest), at most p_limit.
CREATE FUNCTION tenancy.list_tenants(p_after uuid, p_limit int)
RETURNS TABLE (tenant_id uuid, name text, state text, suspend_time timestamptz,
               suspend_reason text, create_time timestamptz, update_time timestamptz,
               revision bigint, requests_last_24h bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.tenant_id, t.name, t.state, t.suspend_time, t.suspend_reason, t.create_time,
           t.update_time, t.revision,
           coalesce((SELECT sum(r.requests) FROM tenancy.request_counts r
                      WHERE r.tenant_id = t.tenant_id
                        AND r.hour >= date_trunc('hour', now()) - interval '23 hours'), 0)::bigint
      FROM tenancy.tenants t
     WHERE p_after IS NULL OR t.tenant_id < p_after
     ORDER BY t.tenant_id DESC
     LIMIT p_limit
$$;
GRANT USAGE ON SCHEMA tenancy TO bulwark_tenant_lister;
GRANT SELECT (tenant_id, name, state, suspend_time, suspend_reason, create_time, update_time,
              revision) ON tenancy.tenants TO bulwark_tenant_lister;
GRANT SELECT (tenant_id, hour, requests) ON tenancy.request_counts TO bulwark_tenant_lister;
CREATE POLICY tenant_list ON tenancy.tenants FOR SELECT TO bulwark_tenant_lister USING (true);
CREATE POLICY tenant_list ON tenancy.request_counts FOR SELECT TO bulwark_tenant_lister USING (true);
REVOKE ALL ON FUNCTION tenancy.list_tenants(uuid, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.list_tenants(uuid, int) TO bulwark_tenancy;
GRANT CREATE ON SCHEMA tenancy TO bulwark_tenant_lister;
GRANT bulwark_tenant_lister TO CURRENT_USER;
ALTER FUNCTION tenancy.list_tenants(uuid, int) OWNER TO bulwark_tenant_lister;
REVOKE bulwark_tenant_lister FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA tenancy FROM bulwark_tenant_lister;
