-- incidents.next_alert_at (0007) as PL/pgSQL, the same answers. As a SQL
-- function its body holds a subquery (the largest lead not yet fired, from
-- unnest), so PostgreSQL cannot inline it: every statement that calls it
-- read the body back from its stored node tree and planned it again
-- (fmgr_sql), once per execution. The deadlines' upsert of every incident
-- write calls it: 12-13 % of the CPU of the incidents service's
-- PostgreSQL sessions under POST /v1/incidents (perf, call graphs). A
-- PL/pgSQL body is compiled once per session and this one runs no query.
-- docs/DESIGN.md, "The write path".
CREATE OR REPLACE FUNCTION incidents.next_alert_at(p_status text, p_due timestamptz,
                                                   p_alerted integer, p_leads integer[])
RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v_lead integer;
    v_largest integer;
BEGIN
    IF p_status <> 'PENDING' OR p_due IS NULL OR p_alerted = 0 THEN
        RETURN NULL;
    END IF;
    IF p_leads IS NOT NULL THEN
        FOREACH v_lead IN ARRAY p_leads LOOP
            IF v_lead IS NOT NULL AND (p_alerted IS NULL OR v_lead < p_alerted)
               AND (v_largest IS NULL OR v_lead > v_largest) THEN
                v_largest := v_lead;
            END IF;
        END LOOP;
    END IF;
    RETURN p_due - make_interval(secs => COALESCE(v_largest, 0));
END
$$;
