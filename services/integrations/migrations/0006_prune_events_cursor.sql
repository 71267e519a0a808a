-- Pruning integrations.events at a cost bounded by the batch (docs/DESIGN.md,
-- "Retention of the integrations' history"). 0005's prune_events walked the
-- events older than the retention oldest first and skipped those a delivery
-- or a ticket job still refers to (a disabled endpoint's paused backlog, a
-- pending delivery or job): it read them again at every batch, so a batch
-- cost as much as their number, not its limit, and a backlog behind them
-- was pruned at that cost per batch. It also set enable_seqscan = off to
-- keep its plan on the indexes.
--
-- Now the caller keeps a cursor, the last event looked at (time, tenant,
-- id): a call looks at up to p_limit events after it, oldest first,
-- deletes those of which nothing remains, and returns where it stopped, or
-- NULLs when it came to the end (the next call starts again from the
-- oldest). An event still referred to is read once per sweep, not once per
-- batch. For that the events' time index carries their key, so that the
-- cursor is a range of it.
CREATE INDEX events_by_time_key ON integrations.events (occur_time, tenant_id, event_id);
DROP INDEX integrations.events_by_time;

-- The function of 0005 goes: it belongs to bulwark_history_pruner, so
-- dropping it needs membership, for as long as it takes (as in incidents
-- 0007).
GRANT bulwark_history_pruner TO CURRENT_USER;
DROP FUNCTION integrations.prune_events(timestamptz, integer, integer, uuid);
REVOKE bulwark_history_pruner FROM CURRENT_USER;

-- Looks at up to p_limit (1-100000) events older than p_days (at least 3)
-- before p_now that come after the cursor (p_after_time, p_after_tenant,
-- p_after_event; NULLs: from the oldest), in the order of
-- events_by_time_key, and deletes those of which no delivery and no ticket
-- job remains. Returns how many it deleted and the last event it looked
-- at, or NULLs once it saw fewer than p_limit: the end of the sweep. The
-- same turn as prune_history: a replica that finds the advisory lock taken
-- prunes nothing and gets its cursor back. p_tenant, when not NULL, limits
-- it to one tenant (the tests; the service passes NULL).
--
-- The bound is in the statement's shape, not in planner settings:
--   - the events come from one range of events_by_time_key, after the
--     cursor, up to the limit. The statement is run by EXECUTE, so it is
--     planned at each call with the limit and the times it has (a cached
--     generic plan would estimate the limit at a tenth of the table);
--   - an event's deliveries and jobs are probed by key, at most one row
--     each: scalar subqueries with LIMIT 1, which the planner keeps as a
--     lookup per event (NOT EXISTS could become a hash join reading every
--     delivery);
--   - a free event is deleted by its key, one statement each.
-- An event that old is not written any more (the relay copies an event
-- once, when it is new), so nothing makes a delivery of it meanwhile; the
-- foreign keys would refuse the delete if something did.
CREATE FUNCTION integrations.prune_events(p_now timestamptz, p_days integer, p_limit integer,
                                          p_tenant uuid, p_after_time timestamptz,
                                          p_after_tenant uuid, p_after_event uuid)
RETURNS TABLE (n_events bigint, next_time timestamptz, next_tenant uuid, next_event uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_before timestamptz := p_now - make_interval(days => greatest(p_days, 3));
    v_limit integer := least(greatest(p_limit, 1), 100000);
    v_seen integer := 0;
    r record;
BEGIN
    n_events := 0;
    next_time := p_after_time;
    next_tenant := p_after_tenant;
    next_event := p_after_event;
    IF NOT pg_try_advisory_xact_lock(hashtextextended('integrations.prune_history', 0)) THEN
        RETURN NEXT;
        RETURN;
    END IF;
    FOR r IN EXECUTE
        'SELECT e.occur_time, e.tenant_id, e.event_id,'
        '       (SELECT 1 FROM integrations.deliveries x'
        '         WHERE x.tenant_id = e.tenant_id AND x.event_id = e.event_id LIMIT 1) IS NULL'
        '       AND (SELECT 1 FROM integrations.ticket_jobs j'
        '             WHERE j.tenant_id = e.tenant_id AND j.event_id = e.event_id LIMIT 1) IS NULL'
        '       AS free'
        '  FROM integrations.events e'
        ' WHERE (e.occur_time, e.tenant_id, e.event_id) > ($1, $2, $3) AND e.occur_time < $4'
        '   AND ($5::uuid IS NULL OR e.tenant_id = $5)'
        ' ORDER BY e.occur_time, e.tenant_id, e.event_id'
        ' LIMIT $6'
        USING COALESCE(p_after_time, '-infinity'::timestamptz),
              COALESCE(p_after_tenant, '00000000-0000-0000-0000-000000000000'::uuid),
              COALESCE(p_after_event, '00000000-0000-0000-0000-000000000000'::uuid),
              v_before, p_tenant, v_limit
    LOOP
        IF r.free THEN
            DELETE FROM integrations.events e
             WHERE e.tenant_id = r.tenant_id AND e.event_id = r.event_id;
            IF FOUND THEN
                n_events := n_events + 1;
            END IF;
        END IF;
        v_seen := v_seen + 1;
        next_time := r.occur_time;
        next_tenant := r.tenant_id;
        next_event := r.event_id;
    END LOOP;
    IF v_seen < v_limit THEN
        next_time := NULL;
        next_tenant := NULL;
        next_event := NULL;
    END IF;
    RETURN NEXT;
END
$$;

-- ---------------------------------------------------------------- grants
REVOKE ALL ON FUNCTION integrations.prune_events(timestamptz, integer, integer, uuid, timestamptz,
                                                 uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.prune_events(timestamptz, integer, integer, uuid,
                                                    timestamptz, uuid, uuid)
    TO bulwark_integrations;

-- The function goes to its owner (its grants go with it), as in 0003.
GRANT CREATE ON SCHEMA integrations TO bulwark_history_pruner;
GRANT bulwark_history_pruner TO CURRENT_USER;
ALTER FUNCTION integrations.prune_events(timestamptz, integer, integer, uuid, timestamptz, uuid,
                                         uuid)
    OWNER TO bulwark_history_pruner;
REVOKE bulwark_history_pruner FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_history_pruner;
