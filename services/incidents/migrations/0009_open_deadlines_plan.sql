-- The list of open deadlines (ListDeadlines, GET /v1/deadlines) planned once
-- per session instead of at every call (docs/DESIGN.md, "Performance as
-- measured"). As a prepared statement its generic plan, with the page size
-- ($5 of LIMIT) unknown, was estimated at a tenth of the tenant's open
-- deadlines and with a parallel Gather Merge (80,000 against 62 for a plan
-- made with the values), so PostgreSQL planned every call with its values:
-- with a million incidents in the tenant the planning took 0.35 ms and the
-- run 0.26 ms of each call (log_min_duration_statement, 11,329 calls).
--
-- Here each query is planned once per session, generically, and no step is
-- left a costly choice: one range scan of deadlines_open_by_due (or
-- deadlines_open_by_regime) in its own order, from the page's key up to
-- p_before, and each row's incident by its primary key. Sorting, hashing,
-- merging, a sequential scan, parallel workers and JIT are off, so that a
-- plan made on an empty table (a new deployment) is this one too. The
-- function runs as its caller: row-level security applies as to the
-- statement it replaces.
CREATE FUNCTION incidents.open_deadlines(p_before timestamptz, p_after_due timestamptz,
                                         p_after_incident uuid, p_after_ordinal integer,
                                         p_limit integer, p_now timestamptz, p_regime text)
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
          JOIN incidents.incidents i
            ON i.tenant_id = d.tenant_id AND i.incident_id = d.incident_id
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
          JOIN incidents.incidents i
            ON i.tenant_id = d.tenant_id AND i.incident_id = d.incident_id
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

REVOKE ALL ON FUNCTION incidents.open_deadlines(timestamptz, timestamptz, uuid, integer, integer,
                                                timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION incidents.open_deadlines(timestamptz, timestamptz, uuid, integer,
                                                   integer, timestamptz, text)
    TO bulwark_incidents;
