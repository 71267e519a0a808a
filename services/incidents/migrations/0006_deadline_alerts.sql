-- Deadline alerts (docs/DESIGN.md, "Deadline alerts"): the events
-- incident.deadline.approaching and incident.deadline.missed, planned when
-- an incident's deadlines are written and fired by the service's scheduler,
-- each exactly once however many replicas run it.
--
-- incidents.deadline_alerts holds one row per alert to fire: for every
-- PENDING deadline with a due time, MISSED at the due time and APPROACHING
-- at the due time less each of the tenant's lead times. The handler that
-- writes an incident's deadlines re-plans its alerts in the same
-- transaction: unfired alerts no longer planned go (a deadline met, no
-- longer required, or moved), new ones come, and fired ones stay, so a
-- deadline that keeps its due time never alerts twice (the key includes the
-- due time: a deadline that moves alerts again for its new time).
CREATE TABLE incidents.deadline_alerts (
    tenant_id    uuid NOT NULL,
    incident_id  uuid NOT NULL,
    ordinal      integer NOT NULL, -- incidents.deadlines.ordinal
    alert        text NOT NULL CHECK (alert IN ('APPROACHING', 'MISSED')),
    lead_seconds integer NOT NULL CHECK (lead_seconds >= 0),
    due_at       timestamptz NOT NULL,
    fire_at      timestamptz NOT NULL,
    fired_at     timestamptz,
    PRIMARY KEY (tenant_id, incident_id, ordinal, alert, lead_seconds, due_at),
    CHECK ((alert = 'MISSED') = (lead_seconds = 0))
);
-- The scheduler's one query: the unfired alerts due by now, oldest first.
-- Partial, so it holds only what is still to fire (a handful per open
-- incident), however many incidents and fired alerts the table holds.
CREATE INDEX deadline_alerts_due ON incidents.deadline_alerts (fire_at) WHERE fired_at IS NULL;

ALTER TABLE incidents.deadline_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents.deadline_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON incidents.deadline_alerts
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

-- A tenant's settings of the incidents service: the lead times of
-- incident.deadline.approaching, in seconds, largest first (none: no
-- approaching alerts). A tenant without a row has the defaults, 6 h and
-- 1 h (the statements say them too: records.c).
CREATE TABLE incidents.settings (
    tenant_id           uuid NOT NULL PRIMARY KEY,
    alert_lead_seconds  integer[] NOT NULL
        CHECK (cardinality(alert_lead_seconds) <= 5
               AND 0 < ALL (alert_lead_seconds) AND 2592000 >= ALL (alert_lead_seconds)),
    update_time         timestamptz NOT NULL DEFAULT now(),
    revision            bigint NOT NULL DEFAULT 1
);
ALTER TABLE incidents.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents.settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON incidents.settings
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

-- The scheduler must find due alerts across tenants. Row-level security is
-- forced and no process role bypasses it, so the claim runs as
-- bulwark_deadline_scheduler: a role that cannot log in and has no members,
-- whose policies let it read every alert and mark unfired ones fired, and
-- nothing else. Roles are cluster-wide: an existing role is checked and
-- fixed as in common/migrations/0003_service_roles.sql.
DO $$
DECLARE
    bad record;
BEGIN
    SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
      INTO bad FROM pg_roles WHERE rolname = 'bulwark_deadline_scheduler';
    IF NOT FOUND THEN
        CREATE ROLE bulwark_deadline_scheduler NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION
            NOCREATEDB NOCREATEROLE;
        RETURN;
    END IF;
    IF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'role bulwark_deadline_scheduler is a superuser, a replication role or bypasses row-level security'
                USING HINT = 'As a superuser: ALTER ROLE bulwark_deadline_scheduler NOSUPERUSER NOBYPASSRLS NOREPLICATION';
        END IF;
        ALTER ROLE bulwark_deadline_scheduler NOSUPERUSER NOBYPASSRLS NOREPLICATION;
    END IF;
    IF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
        ALTER ROLE bulwark_deadline_scheduler NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA incidents TO bulwark_deadline_scheduler;
GRANT SELECT, UPDATE (fired_at) ON incidents.deadline_alerts TO bulwark_deadline_scheduler;
CREATE POLICY scheduler_read ON incidents.deadline_alerts FOR SELECT
    TO bulwark_deadline_scheduler USING (true);
CREATE POLICY scheduler_claim ON incidents.deadline_alerts FOR UPDATE
    TO bulwark_deadline_scheduler USING (fired_at IS NULL) WITH CHECK (fired_at IS NOT NULL);

-- Claims up to p_limit (1-1000) unfired alerts due at p_now, oldest first,
-- marks them fired and returns them. The caller emits their events in the
-- same transaction: a rollback un-claims them, a commit fires them for
-- good. Rows are locked FOR UPDATE SKIP LOCKED and re-checked once locked,
-- so two schedulers never claim the same alert: the second skips what the
-- first holds, and finds it fired once the first commits.
--
-- p_tenant, when not NULL, limits the claim to one tenant's alerts (the
-- integration tests tick for their own tenant; the service passes NULL).
--
-- superseded says that the alert is claimed only to be dropped: an
-- APPROACHING alert whose deadline is already due (the MISSED alert says
-- it), or one with a shorter lead of the same deadline also due (after a
-- downtime only the nearest lead fires).
CREATE FUNCTION incidents.claim_deadline_alerts(p_now timestamptz, p_limit integer,
                                                p_tenant uuid)
RETURNS TABLE (tenant_id uuid, incident_id uuid, ordinal integer, alert text,
               lead_seconds integer, due_at timestamptz, fire_at timestamptz,
               superseded boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH locked AS (
        SELECT a.tenant_id, a.incident_id, a.ordinal, a.alert, a.lead_seconds, a.due_at
          FROM incidents.deadline_alerts a
         WHERE a.fired_at IS NULL AND a.fire_at <= p_now
           AND (p_tenant IS NULL OR a.tenant_id = p_tenant)
         ORDER BY a.fire_at
         LIMIT least(greatest(p_limit, 1), 1000)
           FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE incidents.deadline_alerts a SET fired_at = now()
          FROM locked l
         WHERE a.tenant_id = l.tenant_id AND a.incident_id = l.incident_id
           AND a.ordinal = l.ordinal AND a.alert = l.alert
           AND a.lead_seconds = l.lead_seconds AND a.due_at = l.due_at
           AND a.fired_at IS NULL
        RETURNING a.tenant_id, a.incident_id, a.ordinal, a.alert, a.lead_seconds, a.due_at,
                  a.fire_at)
    SELECT c.tenant_id, c.incident_id, c.ordinal, c.alert, c.lead_seconds, c.due_at, c.fire_at,
           c.alert = 'APPROACHING' AND (c.due_at <= p_now OR EXISTS (
               SELECT 1 FROM incidents.deadline_alerts s
                WHERE s.tenant_id = c.tenant_id AND s.incident_id = c.incident_id
                  AND s.ordinal = c.ordinal AND s.alert = 'APPROACHING' AND s.due_at = c.due_at
                  AND s.lead_seconds < c.lead_seconds AND s.fire_at <= p_now))
      FROM claimed c ORDER BY c.fire_at, c.tenant_id, c.incident_id, c.ordinal;
END
$$;

-- The one place this file grants to the processes' roles: the incidents
-- process's own. Granted before the function changes owner: afterwards only
-- its owner may grant on it.
GRANT SELECT, INSERT, DELETE ON incidents.deadline_alerts TO bulwark_incidents;
GRANT SELECT, INSERT, UPDATE ON incidents.settings TO bulwark_incidents;
REVOKE ALL ON FUNCTION incidents.claim_deadline_alerts(timestamptz, integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION incidents.claim_deadline_alerts(timestamptz, integer, uuid)
    TO bulwark_incidents;

-- The function goes to its owner (its grants go with it). That needs
-- membership in the new owner and its CREATE privilege on the schema: both
-- only for as long as it takes.
GRANT CREATE ON SCHEMA incidents TO bulwark_deadline_scheduler;
GRANT bulwark_deadline_scheduler TO CURRENT_USER;
ALTER FUNCTION incidents.claim_deadline_alerts(timestamptz, integer, uuid)
    OWNER TO bulwark_deadline_scheduler;
REVOKE bulwark_deadline_scheduler FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA incidents FROM bulwark_deadline_scheduler;
