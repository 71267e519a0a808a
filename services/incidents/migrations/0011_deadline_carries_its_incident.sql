-- A deadline row carries its incident's entity and title, so that the list
-- of open deadlines (open_deadlines, GET /v1/deadlines) reads no incident
-- row per deadline. Both are fixed when the incident is created: no
-- statement of the service changes them afterwards. Looking each
-- deadline's incident up by its key (0010) cost 3-4 us a row, a rescan of
-- the subquery's nodes and a descent of incidents_pkey: about half of
-- PostgreSQL's time for a page of 50 in a tenant of a million incidents.
-- (Looking the page's incidents up at once, incident_id = ANY (array),
-- costs a third of that, but its plan, made once per session with the
-- estimates of the session's first tenant, reads a small first tenant's
-- incidents by tenant alone and filters: three seconds a page for the
-- large tenant after it.) docs/DESIGN.md, "Performance as measured".
--
-- Rows written before this migration keep NULL there and are completed
-- from their incident by key as before; for a row that carries them the
-- lookup stops at its first step (d.title IS NULL is false), so a page of
-- 50 costs about what it costs without any lookup (0.11 against 0.10 ms
-- in psql, 0.28-0.30 ms with 0010's). A change of such a deadline fills
-- them in. Nothing is backfilled
-- here: adding two columns without a default rewrites nothing, where an
-- UPDATE of every deadline would rewrite the table (13.5 million rows and
-- about six minutes on the bench's data).
ALTER TABLE incidents.deadlines ADD COLUMN entity_id uuid, ADD COLUMN title text;

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
        SELECT d.incident_id, COALESCE(d.entity_id, i.entity_id), COALESCE(d.title, i.title),
               d.ordinal, d.kind, d.due_at, d.due_at_local, d.provisional, d.status, d.met_at,
               d.basis, d.shown_from, d.shown_until, d.regime, d.note
          FROM incidents.deadlines d
          LEFT JOIN LATERAL (
               SELECT i.entity_id, i.title FROM incidents.incidents i
                WHERE d.title IS NULL
                  AND i.tenant_id = d.tenant_id AND i.incident_id = d.incident_id
                LIMIT 1) i ON true
         WHERE d.status = 'PENDING' AND d.due_at IS NOT NULL AND d.due_at < p_before
           AND (d.due_at, d.incident_id, d.ordinal) > (p_after_due, p_after_incident,
                                                       p_after_ordinal)
           AND (d.shown_from IS NULL OR d.shown_from <= p_now)
           AND (d.shown_until IS NULL OR d.shown_until > p_now)
         ORDER BY d.due_at, d.incident_id, d.ordinal
         LIMIT greatest(p_limit, 0);
    ELSE
        RETURN QUERY
        SELECT d.incident_id, COALESCE(d.entity_id, i.entity_id), COALESCE(d.title, i.title),
               d.ordinal, d.kind, d.due_at, d.due_at_local, d.provisional, d.status, d.met_at,
               d.basis, d.shown_from, d.shown_until, d.regime, d.note
          FROM incidents.deadlines d
          LEFT JOIN LATERAL (
               SELECT i.entity_id, i.title FROM incidents.incidents i
                WHERE d.title IS NULL
                  AND i.tenant_id = d.tenant_id AND i.incident_id = d.incident_id
                LIMIT 1) i ON true
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
