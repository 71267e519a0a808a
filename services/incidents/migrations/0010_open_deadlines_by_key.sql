-- The open deadlines' list (0009) looks each deadline's incident up by its
-- key, whatever the tenant the session's plan was made for. 0009's plan,
-- made once per session, took its estimates from the tenant of the
-- session's first call (PostgreSQL evaluates current_setting() when it
-- estimates): for a small tenant, in a table that a large one fills, the
-- incident looked like the only row of its tenant, and the plan read
-- incidents_pkey by tenant alone and filtered on the incident; the same
-- plan then served the large tenant, reading its incidents for every
-- deadline (a page of 5 read 6,318 rows of a 3,000-incident tenant,
-- tests/integration/test_lists.c). A subquery with LIMIT 1 is planned on
-- its own, with the deadline's tenant and incident as the index's keys, so
-- no estimate can leave the incident out. The rest is 0009's; the grants
-- stay with the function.
CREATE OR REPLACE FUNCTION incidents.open_deadlines(p_before timestamptz,
                                                    p_after_due timestamptz,
                                                    p_after_incident uuid,
                                                    p_after_ordinal integer, p_limit integer,
                                                    p_now timestamptz, p_regime text)
RETURNS TABLE (incident_id uuid, entity_id uuid, title text, ordinal integer, kind text,
               due_at timestamptz, due_at_local text, provisional boolean, status text,
               met_at timestamptz, basis text, shown_from timestamptz, shown_until timestamptz,
               regime text, note text)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET max_parallel_workers_per_gather = 0
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    IF p_regime IS NULL THEN
        RETURN QUERY
        SELECT d.incident_id, i.entity_id, i.title, d.ordinal, d.kind, d.due_at, d.due_at_local,
               d.provisional, d.status, d.met_at, d.basis, d.shown_from, d.shown_until,
               d.regime, d.note
          FROM incidents.deadlines d
         CROSS JOIN LATERAL (
               SELECT i.entity_id, i.title FROM incidents.incidents i
                WHERE i.tenant_id = d.tenant_id AND i.incident_id = d.incident_id
                LIMIT 1) i
         WHERE d.status = 'PENDING' AND d.due_at IS NOT NULL AND d.due_at < p_before
           AND (d.due_at, d.incident_id, d.ordinal) > (p_after_due, p_after_incident,
                                                       p_after_ordinal)
           AND (d.shown_from IS NULL OR d.shown_from <= p_now)
           AND (d.shown_until IS NULL OR d.shown_until > p_now)
         ORDER BY d.due_at, d.incident_id, d.ordinal
         LIMIT greatest(p_limit, 0);
    ELSE
        RETURN QUERY
        SELECT d.incident_id, i.entity_id, i.title, d.ordinal, d.kind, d.due_at, d.due_at_local,
               d.provisional, d.status, d.met_at, d.basis, d.shown_from, d.shown_until,
               d.regime, d.note
          FROM incidents.deadlines d
         CROSS JOIN LATERAL (
               SELECT i.entity_id, i.title FROM incidents.incidents i
                WHERE i.tenant_id = d.tenant_id AND i.incident_id = d.incident_id
                LIMIT 1) i
         WHERE d.status = 'PENDING' AND d.due_at IS NOT NULL AND d.regime = p_regime
           AND d.due_at < p_before
           AND (d.due_at, d.incident_id, d.ordinal) > (p_after_due, p_after_incident,
                                                       p_after_ordinal)
           AND (d.shown_from IS NULL OR d.shown_from <= p_now)
           AND (d.shown_until IS NULL OR d.shown_until > p_now)
         ORDER BY d.due_at, d.incident_id, d.ordinal
         LIMIT greatest(p_limit, 0);
    END IF;
END
$$;
