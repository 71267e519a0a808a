-- Retention of the integrations' history (docs/DESIGN.md, "Retention of
-- the integrations' history"): the connection log, the inbound receipts
-- (the ids that de-duplicate Jira's and ServiceNow's deliveries), finished
-- webhook deliveries with their attempts, and finished ticket jobs are
-- deleted BULWARK_INTEGRATIONS_RETENTION_DAYS (30, at least 3) after their
-- last change, in batches, by the dispatcher of each integrations process.
-- Pending and paused deliveries and pending ticket jobs are never pruned:
-- nothing that is still to be sent goes.
--
-- Each kind has an index on its time, partial where only finished rows
-- qualify, so that a batch reads only what it deletes.
CREATE INDEX connection_log_by_time ON integrations.connection_log (entry_time);
CREATE INDEX inbound_receipts_by_time ON integrations.inbound_receipts (receive_time);
CREATE INDEX deliveries_finished ON integrations.deliveries (update_time)
    WHERE state IN ('SUCCEEDED', 'FAILED');
CREATE INDEX ticket_jobs_finished ON integrations.ticket_jobs (update_time)
    WHERE state IN ('SUCCEEDED', 'FAILED');

-- The pruning works across tenants, so it runs as bulwark_history_pruner: a
-- role that cannot log in, has no members and bypasses nothing, whose
-- policies let it see and delete exactly the rows the function may delete.
-- Roles are cluster-wide: an existing role is checked and fixed as in
-- common/migrations/0003_service_roles.sql.
DO $$
DECLARE
    bad record;
BEGIN
    SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
      INTO bad FROM pg_roles WHERE rolname = 'bulwark_history_pruner';
    IF NOT FOUND THEN
        CREATE ROLE bulwark_history_pruner NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION
            NOCREATEDB NOCREATEROLE;
        RETURN;
    END IF;
    IF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'role bulwark_history_pruner is a superuser, a replication role or bypasses row-level security'
                USING HINT = 'As a superuser: ALTER ROLE bulwark_history_pruner NOSUPERUSER NOBYPASSRLS NOREPLICATION';
        END IF;
        ALTER ROLE bulwark_history_pruner NOSUPERUSER NOBYPASSRLS NOREPLICATION;
    END IF;
    IF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
        ALTER ROLE bulwark_history_pruner NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA integrations TO bulwark_history_pruner;
GRANT SELECT (tenant_id, connection_id, entry_id, entry_time), DELETE
    ON integrations.connection_log TO bulwark_history_pruner;
GRANT SELECT (tenant_id, connection_id, delivery_key, receive_time), DELETE
    ON integrations.inbound_receipts TO bulwark_history_pruner;
GRANT SELECT (tenant_id, delivery_id, state, update_time), DELETE
    ON integrations.deliveries TO bulwark_history_pruner;
GRANT SELECT (tenant_id, job_id, state, update_time), DELETE
    ON integrations.ticket_jobs TO bulwark_history_pruner;
CREATE POLICY history_pruner ON integrations.connection_log FOR ALL
    TO bulwark_history_pruner USING (true);
CREATE POLICY history_pruner ON integrations.inbound_receipts FOR ALL
    TO bulwark_history_pruner USING (true);
CREATE POLICY history_pruner ON integrations.deliveries FOR ALL
    TO bulwark_history_pruner USING (state IN ('SUCCEEDED', 'FAILED'));
CREATE POLICY history_pruner ON integrations.ticket_jobs FOR ALL
    TO bulwark_history_pruner USING (state IN ('SUCCEEDED', 'FAILED'));

-- Deletes up to p_limit rows of each kind whose time is more than p_days
-- (at least 3) before p_now, oldest first, and returns how many of each.
-- Replicas take turns: a call first takes a transaction-level advisory
-- lock, and one that finds it taken prunes nothing this time (all zeros),
-- so two replicas never wait on each other's deletes. Rows that old are
-- not written any more, except a finished delivery replayed meanwhile: its
-- delete waits for the replay's commit, sees it PENDING and leaves it. A
-- delivery's attempts go with it (ON DELETE CASCADE). p_now is now() in
-- the service; the tests pass a later time, and their tenant as p_tenant
-- (the service passes NULL: every tenant).
CREATE FUNCTION integrations.prune_history(p_now timestamptz, p_days integer, p_limit integer,
                                           p_tenant uuid)
RETURNS TABLE (n_log_entries bigint, n_receipts bigint, n_deliveries bigint, n_ticket_jobs bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $$
DECLARE
    v_before timestamptz := p_now - make_interval(days => greatest(p_days, 3));
    v_limit integer := least(greatest(p_limit, 1), 100000);
BEGIN
    n_log_entries := 0;
    n_receipts := 0;
    n_deliveries := 0;
    n_ticket_jobs := 0;
    IF NOT pg_try_advisory_xact_lock(hashtextextended('integrations.prune_history', 0)) THEN
        RETURN NEXT;
        RETURN;
    END IF;
    WITH doomed AS (
        SELECT l.tenant_id, l.connection_id, l.entry_id FROM integrations.connection_log l
         WHERE l.entry_time < v_before AND (p_tenant IS NULL OR l.tenant_id = p_tenant)
         ORDER BY l.entry_time LIMIT v_limit
),
    gone AS (
        DELETE FROM integrations.connection_log l USING doomed d
         WHERE l.tenant_id = d.tenant_id AND l.connection_id = d.connection_id
           AND l.entry_id = d.entry_id
        RETURNING 1)
    SELECT count(*) INTO n_log_entries FROM gone;

    WITH doomed AS (
        SELECT r.tenant_id, r.connection_id, r.delivery_key FROM integrations.inbound_receipts r
         WHERE r.receive_time < v_before AND (p_tenant IS NULL OR r.tenant_id = p_tenant)
         ORDER BY r.receive_time LIMIT v_limit
),
    gone AS (
        DELETE FROM integrations.inbound_receipts r USING doomed d
         WHERE r.tenant_id = d.tenant_id AND r.connection_id = d.connection_id
           AND r.delivery_key = d.delivery_key
        RETURNING 1)
    SELECT count(*) INTO n_receipts FROM gone;

    WITH doomed AS (
        SELECT x.tenant_id, x.delivery_id FROM integrations.deliveries x
         WHERE x.state IN ('SUCCEEDED', 'FAILED') AND x.update_time < v_before
           AND (p_tenant IS NULL OR x.tenant_id = p_tenant)
         ORDER BY x.update_time LIMIT v_limit
),
    gone AS (
        DELETE FROM integrations.deliveries x USING doomed d
         WHERE x.tenant_id = d.tenant_id AND x.delivery_id = d.delivery_id
           AND x.state IN ('SUCCEEDED', 'FAILED')
        RETURNING 1)
    SELECT count(*) INTO n_deliveries FROM gone;

    WITH doomed AS (
        SELECT j.tenant_id, j.job_id FROM integrations.ticket_jobs j
         WHERE j.state IN ('SUCCEEDED', 'FAILED') AND j.update_time < v_before
           AND (p_tenant IS NULL OR j.tenant_id = p_tenant)
         ORDER BY j.update_time LIMIT v_limit
),
    gone AS (
        DELETE FROM integrations.ticket_jobs j USING doomed d
         WHERE j.tenant_id = d.tenant_id AND j.job_id = d.job_id
           AND j.state IN ('SUCCEEDED', 'FAILED')
        RETURNING 1)
    SELECT count(*) INTO n_ticket_jobs FROM gone;
    RETURN NEXT;
END
$$;

-- ---------------------------------------------------------------- grants
-- The one place this file grants to the processes' roles. Granted before
-- the function changes owner: afterwards only its owner may grant on it.
REVOKE ALL ON FUNCTION integrations.prune_history(timestamptz, integer, integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.prune_history(timestamptz, integer, integer, uuid)
    TO bulwark_integrations;

-- The function goes to its owner (its grants go with it), as in 0001.
GRANT CREATE ON SCHEMA integrations TO bulwark_history_pruner;
GRANT bulwark_history_pruner TO CURRENT_USER;
ALTER FUNCTION integrations.prune_history(timestamptz, integer, integer, uuid)
    OWNER TO bulwark_history_pruner;
REVOKE bulwark_history_pruner FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_history_pruner;
