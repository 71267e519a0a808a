-- A tick's cost in proportion to its batch, not to the backlog (docs/DESIGN.md,
-- "Deadline alerts", "Catching up"). Migration 0007's claim advanced the
-- deadlines it had locked through a join on their key, which the planner,
-- estimating the batch at a tenth of the due deadlines (the plan is
-- generic), ran as a hash of every due deadline: with 1.6 million due
-- after a downtime, 2 s a tick of 200. The locked rows are now advanced by
-- their row address (ctid: the rows stay locked until the tick ends, so
-- none moves), a TID scan of just them, and JIT is off: the plan is cheap
-- to run but estimated costly enough to be compiled, which took longer
-- than the tick. Otherwise the function is 0007's, owner and grants kept.
--
-- And each tick's look for a tenant to re-plan (replan_deadline_alerts)
-- read every tenant's settings row: 4 ms a tick with 20,000 tenants and
-- none waiting. A partial index holds only the tenants waiting.
CREATE INDEX settings_replan_pending ON incidents.settings (tenant_id) WHERE replan_pending;

GRANT bulwark_deadline_scheduler TO CURRENT_USER;
CREATE OR REPLACE FUNCTION incidents.claim_deadline_alerts(p_now timestamptz, p_limit integer,
                                                           p_tenant uuid, p_default_leads integer[])
RETURNS TABLE (tenant_id uuid, incident_id uuid, ordinal integer, alert text,
               lead_seconds integer, due_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH locked AS (
        SELECT d.ctid AS row_at, d.tenant_id, d.due_at, d.alerted_lead
          FROM incidents.deadlines d
         WHERE d.next_alert_at <= p_now
           AND (p_tenant IS NULL OR d.tenant_id = p_tenant)
         ORDER BY d.next_alert_at
         LIMIT least(greatest(p_limit, 1), 1000)
           FOR NO KEY UPDATE SKIP LOCKED),
    with_leads AS (
        SELECT l.*, COALESCE((SELECT s.alert_lead_seconds FROM incidents.settings s
                               WHERE s.tenant_id = l.tenant_id), p_default_leads) AS leads
          FROM locked l),
    decided AS (
        SELECT x.*, CASE WHEN x.due_at <= p_now THEN 0
                         ELSE (SELECT min(v) FROM unnest(x.leads) AS v
                                WHERE x.due_at - make_interval(secs => v) <= p_now
                                  AND (x.alerted_lead IS NULL OR v < x.alerted_lead)) END AS lead
          FROM with_leads x),
    claimed AS (
        UPDATE incidents.deadlines d
           SET alerted_lead = COALESCE(c.lead, d.alerted_lead),
               next_alert_at = incidents.next_alert_at(d.status, d.due_at,
                                                       COALESCE(c.lead, d.alerted_lead), c.leads)
          FROM decided c
         WHERE d.ctid = c.row_at AND d.next_alert_at <= p_now
        RETURNING d.tenant_id, d.incident_id, d.ordinal, c.lead, d.due_at)
    SELECT c.tenant_id, c.incident_id, c.ordinal,
           CASE WHEN c.lead = 0 THEN 'MISSED' WHEN c.lead > 0 THEN 'APPROACHING' END,
           c.lead, c.due_at
      FROM claimed c ORDER BY c.due_at, c.tenant_id, c.incident_id, c.ordinal;
END
$$;
REVOKE bulwark_deadline_scheduler FROM CURRENT_USER;
