-- Deadline alerts without a row per alert (docs/DESIGN.md, "Deadline
-- alerts"). Migration 0006 planned about a dozen rows of
-- incidents.deadline_alerts per incident on every write of its deadlines,
-- which made a write 15-40 % slower. Now each deadline row carries its own
-- alert state, written by the statement that writes the deadline:
--
--   next_alert_at  when the scheduler must next look at the deadline: the
--                  due time less the largest of the tenant's lead times not
--                  yet fired, or the due time itself (missed); NULL when
--                  nothing is left to fire (not PENDING, no due time, or
--                  missed already fired)
--   alerted_lead   what fired for the current due time: NULL nothing, the
--                  shortest lead (seconds) of the approaching alerts fired,
--                  0 the missed alert. A write that moves the due time
--                  resets it, so a deadline that moves alerts again.
--
-- The scheduler claims due deadlines (next_alert_at <= now) FOR NO KEY
-- UPDATE SKIP LOCKED, decides with the tenant's lead times as they are then
-- which alert fires (the nearest lead passed, or missed when due), and
-- advances both columns in the same statement: still exactly once across
-- replicas, still catching up after a downtime. A change of the lead times
-- marks the tenant for re-planning; the scheduler re-plans its pending
-- deadlines in batches (incidents.replan_deadline_alerts), so the PATCH does
-- a constant amount of work however many deadlines the tenant has.

-- The next time to look at a deadline, given its status, due time, what has
-- fired (alerted_lead) and the tenant's lead times.
CREATE FUNCTION incidents.next_alert_at(p_status text, p_due timestamptz, p_alerted integer,
                                        p_leads integer[])
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN p_status <> 'PENDING' OR p_due IS NULL OR p_alerted = 0 THEN NULL
            ELSE p_due - make_interval(secs => COALESCE(
                (SELECT max(l) FROM unnest(p_leads) AS l
                  WHERE p_alerted IS NULL OR l < p_alerted), 0)) END;

ALTER TABLE incidents.deadlines
    ADD COLUMN next_alert_at timestamptz,
    ADD COLUMN alerted_lead integer CHECK (alerted_lead >= 0);
-- The scheduler's claim: the deadlines due a look by now, soonest first.
-- Partial: only what still has an alert to fire (none for a met, missed or
-- closed deadline), however many deadlines the table holds.
CREATE INDEX deadlines_alert_due ON incidents.deadlines (next_alert_at)
    WHERE next_alert_at IS NOT NULL;

-- A change of lead times leaves the tenant to be re-planned from the key
-- (replan_incident, replan_ordinal) on: NULL, from the start.
ALTER TABLE incidents.settings
    ADD COLUMN replan_pending boolean NOT NULL DEFAULT false,
    ADD COLUMN replan_incident uuid,
    ADD COLUMN replan_ordinal integer;

-- The alerts planned before this migration: what fired for a deadline's
-- current due time, and its soonest unfired alert. Row-level security is
-- forced, so the owner running this sees no tenant's rows; it is lifted for
-- this transaction only (the ALTERs lock the tables until it commits) and
-- forced again below.
ALTER TABLE incidents.deadlines NO FORCE ROW LEVEL SECURITY;
ALTER TABLE incidents.deadline_alerts NO FORCE ROW LEVEL SECURITY;
UPDATE incidents.deadlines d
   SET alerted_lead = f.lead
  FROM (SELECT a.tenant_id, a.incident_id, a.ordinal, a.due_at, min(a.lead_seconds) AS lead
          FROM incidents.deadline_alerts a WHERE a.fired_at IS NOT NULL
         GROUP BY 1, 2, 3, 4) f
 WHERE d.tenant_id = f.tenant_id AND d.incident_id = f.incident_id AND d.ordinal = f.ordinal
   AND d.due_at = f.due_at;
UPDATE incidents.deadlines d
   SET next_alert_at = p.fire_at
  FROM (SELECT a.tenant_id, a.incident_id, a.ordinal, a.due_at, min(a.fire_at) AS fire_at
          FROM incidents.deadline_alerts a WHERE a.fired_at IS NULL
         GROUP BY 1, 2, 3, 4) p
 WHERE d.tenant_id = p.tenant_id AND d.incident_id = p.incident_id AND d.ordinal = p.ordinal
   AND d.due_at = p.due_at AND d.status = 'PENDING';
ALTER TABLE incidents.deadlines FORCE ROW LEVEL SECURITY;

-- The old table and its claim go. The function belongs to
-- bulwark_deadline_scheduler: dropping it needs membership, for as long as
-- it takes.
GRANT bulwark_deadline_scheduler TO CURRENT_USER;
DROP FUNCTION incidents.claim_deadline_alerts(timestamptz, integer, uuid);
REVOKE bulwark_deadline_scheduler FROM CURRENT_USER;
DROP TABLE incidents.deadline_alerts;

-- The scheduler's role reads every deadline and setting, and changes only
-- the alert columns of deadlines with an alert to fire and the re-planning
-- columns of tenants marked for it.
GRANT SELECT, UPDATE (next_alert_at, alerted_lead) ON incidents.deadlines
    TO bulwark_deadline_scheduler;
GRANT SELECT, UPDATE (replan_pending, replan_incident, replan_ordinal) ON incidents.settings
    TO bulwark_deadline_scheduler;
CREATE POLICY scheduler_read ON incidents.deadlines FOR SELECT
    TO bulwark_deadline_scheduler USING (true);
CREATE POLICY scheduler_advance ON incidents.deadlines FOR UPDATE
    TO bulwark_deadline_scheduler USING (true) WITH CHECK (true);
CREATE POLICY scheduler_read ON incidents.settings FOR SELECT
    TO bulwark_deadline_scheduler USING (true);
CREATE POLICY scheduler_replan ON incidents.settings FOR UPDATE
    TO bulwark_deadline_scheduler USING (replan_pending) WITH CHECK (true);

-- Claims up to p_limit (1-1000) deadlines due a look at p_now, soonest
-- first, decides the alert each fires and advances its state, and returns
-- them: alert 'MISSED' (due by p_now), 'APPROACHING' with the nearest lead
-- whose time has passed (after a downtime only that one fires), or NULL
-- (woken early: the lead times changed; nothing fires, the next look is
-- set). p_default_leads are the lead times of a tenant without settings.
-- The caller emits the events in the same transaction: a rollback
-- un-claims them, a commit fires them for good. Rows are locked FOR NO KEY
-- UPDATE SKIP LOCKED and re-checked once locked, so two schedulers never
-- claim the same alert. p_tenant, when not NULL, limits the claim to one
-- tenant (the integration tests; the service passes NULL).
CREATE FUNCTION incidents.claim_deadline_alerts(p_now timestamptz, p_limit integer,
                                                p_tenant uuid, p_default_leads integer[])
RETURNS TABLE (tenant_id uuid, incident_id uuid, ordinal integer, alert text,
               lead_seconds integer, due_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH locked AS (
        SELECT d.tenant_id, d.incident_id, d.ordinal, d.due_at, d.alerted_lead
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
         WHERE d.tenant_id = c.tenant_id AND d.incident_id = c.incident_id
           AND d.ordinal = c.ordinal AND d.next_alert_at <= p_now
        RETURNING d.tenant_id, d.incident_id, d.ordinal, c.lead, d.due_at)
    SELECT c.tenant_id, c.incident_id, c.ordinal,
           CASE WHEN c.lead = 0 THEN 'MISSED' WHEN c.lead > 0 THEN 'APPROACHING' END,
           c.lead, c.due_at
      FROM claimed c ORDER BY c.due_at, c.tenant_id, c.incident_id, c.ordinal;
END
$$;

-- Re-plans, after a change of one tenant's lead times, up to p_limit of its
-- deadlines from where the previous batch stopped, in key order (the order
-- in which a write locks an incident's deadlines, so the two never
-- deadlock); returns how many it looked at, 0 when no tenant waits. The
-- tenant is taken FOR UPDATE SKIP LOCKED, so replicas re-plan different
-- tenants. The last batch clears the mark. p_tenant as for the claim.
CREATE FUNCTION incidents.replan_deadline_alerts(p_limit integer, p_tenant uuid,
                                                 p_default_leads integer[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant uuid;
    v_leads integer[];
    v_after_incident uuid;
    v_after_ordinal integer;
    v_seen integer;
    v_last_incident uuid;
    v_last_ordinal integer;
BEGIN
    SELECT s.tenant_id, s.alert_lead_seconds, s.replan_incident, s.replan_ordinal
      INTO v_tenant, v_leads, v_after_incident, v_after_ordinal
      FROM incidents.settings s
     WHERE s.replan_pending AND (p_tenant IS NULL OR s.tenant_id = p_tenant)
     LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    v_leads := COALESCE(v_leads, p_default_leads);
    WITH batch AS (
        SELECT d.incident_id, d.ordinal, d.status, d.due_at, d.alerted_lead
          FROM incidents.deadlines d
         WHERE d.tenant_id = v_tenant
           AND (v_after_incident IS NULL
                OR (d.incident_id, d.ordinal) > (v_after_incident, v_after_ordinal))
         ORDER BY d.incident_id, d.ordinal
         LIMIT least(greatest(p_limit, 1), 10000)
           FOR NO KEY UPDATE),
    replanned AS (
        UPDATE incidents.deadlines d
           SET next_alert_at = incidents.next_alert_at(b.status, b.due_at, b.alerted_lead, v_leads)
          FROM batch b
         WHERE d.tenant_id = v_tenant AND d.incident_id = b.incident_id AND d.ordinal = b.ordinal
           AND d.next_alert_at IS DISTINCT FROM
               incidents.next_alert_at(b.status, b.due_at, b.alerted_lead, v_leads)
        RETURNING 1),
    last AS (
        SELECT b.incident_id, b.ordinal FROM batch b
         ORDER BY b.incident_id DESC, b.ordinal DESC LIMIT 1)
    SELECT (SELECT count(*) FROM batch), l.incident_id, l.ordinal
      INTO v_seen, v_last_incident, v_last_ordinal
      FROM (SELECT 1) AS one LEFT JOIN last l ON true;
    IF v_seen < least(greatest(p_limit, 1), 10000) THEN
        UPDATE incidents.settings s
           SET replan_pending = false, replan_incident = NULL, replan_ordinal = NULL
         WHERE s.tenant_id = v_tenant;
    ELSE
        UPDATE incidents.settings s
           SET replan_incident = v_last_incident, replan_ordinal = v_last_ordinal
         WHERE s.tenant_id = v_tenant;
    END IF;
    RETURN greatest(v_seen, 1);
END
$$;

REVOKE ALL ON FUNCTION incidents.claim_deadline_alerts(timestamptz, integer, uuid, integer[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION incidents.claim_deadline_alerts(timestamptz, integer, uuid, integer[])
    TO bulwark_incidents;
REVOKE ALL ON FUNCTION incidents.replan_deadline_alerts(integer, uuid, integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION incidents.replan_deadline_alerts(integer, uuid, integer[])
    TO bulwark_incidents;

-- The functions go to their owner, as in 0006.
GRANT CREATE ON SCHEMA incidents TO bulwark_deadline_scheduler;
GRANT bulwark_deadline_scheduler TO CURRENT_USER;
ALTER FUNCTION incidents.claim_deadline_alerts(timestamptz, integer, uuid, integer[])
    OWNER TO bulwark_deadline_scheduler;
ALTER FUNCTION incidents.replan_deadline_alerts(integer, uuid, integer[])
    OWNER TO bulwark_deadline_scheduler;
REVOKE bulwark_deadline_scheduler FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA incidents FROM bulwark_deadline_scheduler;
