-- Expired idempotency records of every tenant, removed periodically.
-- Idempotency records live 24 hours (common/request.c). The services'
-- periodic job (common/service.c) removes the expired ones of every tenant
-- through this function. It runs as bulwark_idempotency_purger, whose only
-- rights are to see and delete expired records: its policies match nothing
-- younger than 24 hours, whoever calls it.
CREATE FUNCTION bulwark.purge_idempotency_keys() RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM bulwark.idempotency_keys
         WHERE create_time <= now() - interval '24 hours'
        RETURNING 1)
    SELECT count(*) FROM purged
$$;

GRANT USAGE ON SCHEMA bulwark TO bulwark_idempotency_purger;
GRANT SELECT (create_time), DELETE ON bulwark.idempotency_keys TO bulwark_idempotency_purger;
-- DELETE with a WHERE clause needs the rows to be visible (SELECT policy) and
-- deletable (DELETE policy).
CREATE POLICY purge_expired_visible ON bulwark.idempotency_keys
    FOR SELECT TO bulwark_idempotency_purger
    USING (create_time <= now() - interval '24 hours');
CREATE POLICY purge_expired ON bulwark.idempotency_keys
    FOR DELETE TO bulwark_idempotency_purger
    USING (create_time <= now() - interval '24 hours');

REVOKE ALL ON FUNCTION bulwark.purge_idempotency_keys() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bulwark.purge_idempotency_keys()
    TO bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations;

-- Then the function goes to its owner (its grants go with it). That needs
-- membership in the new owner and its CREATE privilege on the schema: both
-- only for as long as it takes.
GRANT CREATE ON SCHEMA bulwark TO bulwark_idempotency_purger;
GRANT bulwark_idempotency_purger TO CURRENT_USER;
ALTER FUNCTION bulwark.purge_idempotency_keys() OWNER TO bulwark_idempotency_purger;
REVOKE bulwark_idempotency_purger FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA bulwark FROM bulwark_idempotency_purger;
