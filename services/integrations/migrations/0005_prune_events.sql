-- Retention of integrations.events (docs/DESIGN.md, "Retention of the
-- integrations' history"): an event fanned out to webhooks and ticket
-- connections is kept while a delivery or a ticket job of it remains, and
-- goes in the first batch after its last one was pruned (0003), once it is
-- older than the retention itself.
--
-- Finding an event's deliveries and jobs needs an index on their foreign
-- keys: for the check below and for the foreign-key check of the delete,
-- which would otherwise read the whole table per event. Each delivery and
-- ticket job pays one index entry more for it; events one more for their
-- time, by which a batch takes the oldest first.
CREATE INDEX deliveries_by_event ON integrations.deliveries (tenant_id, event_id);
CREATE INDEX ticket_jobs_by_event ON integrations.ticket_jobs (tenant_id, event_id);
CREATE INDEX events_by_time ON integrations.events (occur_time);

-- bulwark_history_pruner (0003) may delete events, and must see every
-- delivery and job that still refers to one (not only the finished ones
-- it may delete): read-only policies, which widen what it reads, not what
-- it deletes (a delete needs the FOR ALL policies of 0003 too).
GRANT SELECT (tenant_id, event_id, occur_time), DELETE ON integrations.events
    TO bulwark_history_pruner;
GRANT SELECT (event_id) ON integrations.deliveries TO bulwark_history_pruner;
GRANT SELECT (event_id) ON integrations.ticket_jobs TO bulwark_history_pruner;
CREATE POLICY history_pruner ON integrations.events FOR ALL
    TO bulwark_history_pruner USING (true);
CREATE POLICY history_pruner_refs ON integrations.deliveries FOR SELECT
    TO bulwark_history_pruner USING (true);
CREATE POLICY history_pruner_refs ON integrations.ticket_jobs FOR SELECT
    TO bulwark_history_pruner USING (true);

-- Deletes up to p_limit events older than p_days (at least 3) before p_now
-- of which no delivery and no ticket job remains, oldest first; how many.
-- The same turn as prune_history: a replica that finds the advisory lock
-- taken prunes nothing this time. An event that old is not written any
-- more (the relay copies an event once, when it is new; the outbox keeps
-- relayed events for BULWARK_OUTBOX_RETENTION_DAYS only), so nothing makes
-- a delivery of it meanwhile.
CREATE FUNCTION integrations.prune_events(p_now timestamptz, p_days integer, p_limit integer,
                                          p_tenant uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $$
DECLARE
    v_before timestamptz := p_now - make_interval(days => greatest(p_days, 3));
    v_limit integer := least(greatest(p_limit, 1), 100000);
    v_n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('integrations.prune_history', 0)) THEN
        RETURN 0;
    END IF;
    WITH doomed AS (
        SELECT e.tenant_id, e.event_id FROM integrations.events e
         WHERE e.occur_time < v_before AND (p_tenant IS NULL OR e.tenant_id = p_tenant)
           AND NOT EXISTS (SELECT 1 FROM integrations.deliveries x
                            WHERE x.tenant_id = e.tenant_id AND x.event_id = e.event_id)
           AND NOT EXISTS (SELECT 1 FROM integrations.ticket_jobs j
                            WHERE j.tenant_id = e.tenant_id AND j.event_id = e.event_id)
         ORDER BY e.occur_time LIMIT v_limit
),
    gone AS (
        DELETE FROM integrations.events e USING doomed d
         WHERE e.tenant_id = d.tenant_id AND e.event_id = d.event_id
        RETURNING 1)
    SELECT count(*) INTO v_n FROM gone;
    RETURN v_n;
END
$$;

-- ---------------------------------------------------------------- grants
REVOKE ALL ON FUNCTION integrations.prune_events(timestamptz, integer, integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.prune_events(timestamptz, integer, integer, uuid)
    TO bulwark_integrations;

-- The function goes to its owner (its grants go with it), as in 0003.
GRANT CREATE ON SCHEMA integrations TO bulwark_history_pruner;
GRANT bulwark_history_pruner TO CURRENT_USER;
ALTER FUNCTION integrations.prune_events(timestamptz, integer, integer, uuid)
    OWNER TO bulwark_history_pruner;
REVOKE bulwark_history_pruner FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_history_pruner;
