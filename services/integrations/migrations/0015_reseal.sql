-- Rotating BULWARK_SECRETS_KEY: the values sealed under the previous key
-- (webhook endpoints' signing secrets, connections' credentials and
-- inbound secrets) are sealed again under the new one, a batch at a time,
-- by the dispatcher of a process that has both keys
-- (BULWARK_SECRETS_KEY_PREVIOUS; services/integrations/reseal.c). The keys
-- never reach the database: it shows the sealed bytes and takes new ones;
-- the process opens and seals.
--
-- A sealed value starts with a version byte and the key's 4-byte id
-- (common/seal.h), so a value under a given key is one whose bytes 2-5 are
-- that id. The sweep walks each table by its primary key from a cursor,
-- at most p_limit rows a call, so a batch reads about what it returns
-- however many rows there are.
--
-- Both functions work across tenants, so they run as
-- bulwark_secrets_resealer: a role that cannot log in, has no members and
-- bypasses nothing, whose policies and column grants let it read and
-- replace the sealed columns and nothing else. Roles are cluster-wide: an
-- existing role is checked and fixed as in common/migrations/0003_service_roles.sql.
DO $$
DECLARE
    bad record;
BEGIN
    SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
      INTO bad FROM pg_roles WHERE rolname = 'bulwark_secrets_resealer';
    IF NOT FOUND THEN
        CREATE ROLE bulwark_secrets_resealer NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION
            NOCREATEDB NOCREATEROLE;
        RETURN;
    END IF;
    IF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'role bulwark_secrets_resealer is a superuser, a replication role or bypasses row-level security'
                USING HINT = 'As a superuser: ALTER ROLE bulwark_secrets_resealer NOSUPERUSER NOBYPASSRLS NOREPLICATION';
        END IF;
        ALTER ROLE bulwark_secrets_resealer NOSUPERUSER NOBYPASSRLS NOREPLICATION;
    END IF;
    IF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
        ALTER ROLE bulwark_secrets_resealer NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA integrations TO bulwark_secrets_resealer;
GRANT SELECT (tenant_id, endpoint_id, secret, previous_secret), UPDATE (secret, previous_secret)
    ON integrations.webhook_endpoints TO bulwark_secrets_resealer;
GRANT SELECT (tenant_id, connection_id, credentials, inbound_secret),
    UPDATE (credentials, inbound_secret) ON integrations.connections TO bulwark_secrets_resealer;
CREATE POLICY secrets_resealer ON integrations.webhook_endpoints FOR ALL
    TO bulwark_secrets_resealer USING (true);
CREATE POLICY secrets_resealer ON integrations.connections FOR ALL
    TO bulwark_secrets_resealer USING (true);

-- The next rows of p_kind ('endpoints' or 'connections') after (p_tenant,
-- p_id) in key order (NULLs: from the first), at most p_limit (1 to 1000),
-- every one of them: first and second are its two sealed columns (an
-- endpoint's secret and previous secret, a connection's credentials and
-- inbound secret), each NULL unless sealed under p_key_id. Fewer rows than
-- p_limit: the table's end.
CREATE FUNCTION integrations.sealed_under(p_kind text, p_key_id bytea, p_limit integer,
                                          p_tenant uuid, p_id uuid)
RETURNS TABLE (tenant_id uuid, id uuid, first bytea, second bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $$
DECLARE
    v_limit integer := least(greatest(p_limit, 1), 1000);
    -- From the first row, or from the cursor (itself excluded below): the
    -- row comparison is the index's range, whatever the plan.
    v_tenant uuid := coalesce(p_tenant, '00000000-0000-0000-0000-000000000000');
    v_id uuid := CASE WHEN p_tenant IS NULL THEN '00000000-0000-0000-0000-000000000000'
                      ELSE coalesce(p_id, '00000000-0000-0000-0000-000000000000') END;
BEGIN
    IF p_kind = 'endpoints' THEN
        RETURN QUERY
        SELECT e.tenant_id, e.endpoint_id,
               CASE WHEN substring(e.secret FROM 2 FOR 4) = p_key_id THEN e.secret END,
               CASE WHEN substring(e.previous_secret FROM 2 FOR 4) = p_key_id
                    THEN e.previous_secret END
          FROM integrations.webhook_endpoints e
         WHERE (e.tenant_id, e.endpoint_id) >= (v_tenant, v_id)
           AND (e.tenant_id, e.endpoint_id) IS DISTINCT FROM (p_tenant, p_id)
         ORDER BY e.tenant_id, e.endpoint_id LIMIT v_limit;
    ELSIF p_kind = 'connections' THEN
        RETURN QUERY
        SELECT c.tenant_id, c.connection_id,
               CASE WHEN substring(c.credentials FROM 2 FOR 4) = p_key_id THEN c.credentials END,
               CASE WHEN substring(c.inbound_secret FROM 2 FOR 4) = p_key_id
                    THEN c.inbound_secret END
          FROM integrations.connections c
         WHERE (c.tenant_id, c.connection_id) >= (v_tenant, v_id)
           AND (c.tenant_id, c.connection_id) IS DISTINCT FROM (p_tenant, p_id)
         ORDER BY c.tenant_id, c.connection_id LIMIT v_limit;
    ELSE
        RAISE EXCEPTION 'unknown kind %', p_kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- Replaces a row's sealed columns where they still hold what the sweep
-- read: first with p_first_new where it is p_first_old, second likewise (a
-- NULL new value leaves that column). A value changed since (the secret
-- rotated, the credentials set again) is left as it now is, sealed under
-- whichever key the change used; the next sweep looks at it again. Returns
-- how many of the two columns were replaced.
CREATE FUNCTION integrations.reseal(p_kind text, p_tenant uuid, p_id uuid, p_first_old bytea,
                                    p_first_new bytea, p_second_old bytea, p_second_new bytea)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_first boolean;
    v_second boolean;
BEGIN
    IF p_kind = 'endpoints' THEN
        UPDATE integrations.webhook_endpoints e
           SET secret = CASE WHEN p_first_new IS NOT NULL AND e.secret = p_first_old
                             THEN p_first_new ELSE e.secret END,
               previous_secret = CASE WHEN p_second_new IS NOT NULL
                                           AND e.previous_secret = p_second_old
                                      THEN p_second_new ELSE e.previous_secret END
         WHERE e.tenant_id = p_tenant AND e.endpoint_id = p_id
           AND ((p_first_new IS NOT NULL AND e.secret = p_first_old)
                OR (p_second_new IS NOT NULL AND e.previous_secret = p_second_old))
        RETURNING e.secret = p_first_new, e.previous_secret = p_second_new
             INTO v_first, v_second;
    ELSIF p_kind = 'connections' THEN
        UPDATE integrations.connections c
           SET credentials = CASE WHEN p_first_new IS NOT NULL AND c.credentials = p_first_old
                                  THEN p_first_new ELSE c.credentials END,
               inbound_secret = CASE WHEN p_second_new IS NOT NULL
                                          AND c.inbound_secret = p_second_old
                                     THEN p_second_new ELSE c.inbound_secret END
         WHERE c.tenant_id = p_tenant AND c.connection_id = p_id
           AND ((p_first_new IS NOT NULL AND c.credentials = p_first_old)
                OR (p_second_new IS NOT NULL AND c.inbound_secret = p_second_old))
        RETURNING c.credentials = p_first_new, c.inbound_secret = p_second_new
             INTO v_first, v_second;
    ELSE
        RAISE EXCEPTION 'unknown kind %', p_kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN coalesce(v_first::integer, 0) + coalesce(v_second::integer, 0);
END
$$;

-- ---------------------------------------------------------------- grants
-- The one place this file grants to the processes' roles. Granted before
-- the functions change owner: afterwards only their owner may grant on them.
REVOKE ALL ON FUNCTION integrations.sealed_under(text, bytea, integer, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.sealed_under(text, bytea, integer, uuid, uuid)
    TO bulwark_integrations;
REVOKE ALL ON FUNCTION integrations.reseal(text, uuid, uuid, bytea, bytea, bytea, bytea)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.reseal(text, uuid, uuid, bytea, bytea, bytea, bytea)
    TO bulwark_integrations;

-- The functions go to their owner (their grants go with them), as in 0001.
GRANT CREATE ON SCHEMA integrations TO bulwark_secrets_resealer;
GRANT bulwark_secrets_resealer TO CURRENT_USER;
ALTER FUNCTION integrations.sealed_under(text, bytea, integer, uuid, uuid)
    OWNER TO bulwark_secrets_resealer;
ALTER FUNCTION integrations.reseal(text, uuid, uuid, bytea, bytea, bytea, bytea)
    OWNER TO bulwark_secrets_resealer;
REVOKE bulwark_secrets_resealer FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_secrets_resealer;
