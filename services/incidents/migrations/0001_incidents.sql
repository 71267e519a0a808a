-- Incidents, their append-only timelines and their reporting deadlines.
--
-- incidents.deadlines is derived data: the service computes every deadline of
-- an incident from the incident and its events (clock.c) and rewrites the
-- incident's rows in the transaction that records the incident or appends an
-- event, so that the tenant-wide list of open deadlines is one index range
-- scan. The columns significant, state, clock_start and handling_ended_at of
-- incidents.incidents are derived the same way, for lists and filters.
CREATE SCHEMA incidents;
GRANT USAGE ON SCHEMA incidents TO bulwark_service;

CREATE TABLE incidents.incidents (
    tenant_id               uuid NOT NULL,
    incident_id             uuid NOT NULL,
    entity_id               uuid NOT NULL, -- scoping.entities, checked over gRPC
    title                   text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    aware_at                timestamptz NOT NULL,
    detected_at             timestamptz,
    time_zone               text NOT NULL,
    significant_at_creation boolean NOT NULL,
    trust_service_impact    boolean NOT NULL,
    trust_service_provider  boolean NOT NULL, -- what scoping said at creation
    external_ref            text NOT NULL DEFAULT '' CHECK (length(external_ref) <= 200),
    significant             boolean NOT NULL,
    state                   text NOT NULL CHECK (state IN ('OPEN', 'CLOSED')),
    clock_start             timestamptz,
    handling_ended_at       timestamptz,
    event_count             integer NOT NULL DEFAULT 0,
    create_time             timestamptz NOT NULL DEFAULT now(),
    update_time             timestamptz NOT NULL DEFAULT now(),
    revision                bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, incident_id),
    CHECK (detected_at IS NULL OR detected_at <= aware_at),
    CHECK (NOT trust_service_impact OR trust_service_provider)
);
-- GET /v1/incidents?entity= and ?state=: keyset pages on incident_id.
CREATE INDEX incidents_by_entity ON incidents.incidents (tenant_id, entity_id, incident_id);
CREATE INDEX incidents_by_state ON incidents.incidents (tenant_id, state, incident_id);

CREATE TABLE incidents.events (
    tenant_id    uuid NOT NULL,
    incident_id  uuid NOT NULL,
    sequence     integer NOT NULL CHECK (sequence >= 1),
    event_id     uuid NOT NULL,
    type         text NOT NULL CHECK (type IN ('EARLY_WARNING_SUBMITTED',
                     'INCIDENT_NOTIFICATION_SUBMITTED', 'INTERMEDIATE_REPORT_REQUESTED',
                     'INTERMEDIATE_REPORT_SUBMITTED', 'PROGRESS_REPORT_SUBMITTED',
                     'FINAL_REPORT_SUBMITTED', 'HANDLING_ENDED', 'RECLASSIFIED', 'NOTE')),
    occurred_at  timestamptz NOT NULL,
    due_at       timestamptz,
    significance text CHECK (significance IN ('SIGNIFICANT', 'NOT_SIGNIFICANT')),
    note         text NOT NULL DEFAULT '' CHECK (length(note) <= 10000),
    recorded_by  text NOT NULL DEFAULT '',
    request_id   text NOT NULL DEFAULT '',
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, incident_id, sequence),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents.incidents (tenant_id, incident_id),
    CHECK ((type = 'INTERMEDIATE_REPORT_REQUESTED') = (due_at IS NOT NULL)),
    CHECK ((type = 'RECLASSIFIED') = (significance IS NOT NULL))
);

-- Append-only, whoever asks: the services' role has no UPDATE or DELETE
-- grant, and these triggers refuse the table owner too (only a superuser
-- disabling triggers gets around them).
CREATE FUNCTION incidents.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'incident events are append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('%s on incidents.events is not allowed.', TG_OP);
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON incidents.events
    FOR EACH ROW EXECUTE FUNCTION incidents.refuse_event_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON incidents.events
    FOR EACH STATEMENT EXECUTE FUNCTION incidents.refuse_event_change();

CREATE TABLE incidents.deadlines (
    tenant_id    uuid NOT NULL,
    incident_id  uuid NOT NULL,
    ordinal      integer NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('EARLY_WARNING', 'INCIDENT_NOTIFICATION',
                     'INTERMEDIATE_REPORT', 'PROGRESS_REPORT', 'FINAL_REPORT')),
    due_at       timestamptz,
    due_at_local text NOT NULL DEFAULT '',
    provisional  boolean NOT NULL,
    -- OVERDUE is never stored: it is PENDING with due_at in the past, decided
    -- when read.
    status       text NOT NULL CHECK (status IN ('PENDING', 'MET', 'MISSED', 'NOT_REQUIRED')),
    met_at       timestamptz,
    basis        text NOT NULL,
    -- While it is open whether handling will have ended when the final
    -- report falls due (at F), both alternatives are stored: the final
    -- report due at F shown until F, and the progress report due at F and
    -- the final report after handling shown from F on. Readers show a row
    -- when shown_from <= now < shown_until (a NULL bound is no bound).
    shown_from   timestamptz,
    shown_until  timestamptz,
    PRIMARY KEY (tenant_id, incident_id, ordinal),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents.incidents (tenant_id, incident_id)
);
-- GET /v1/deadlines: the tenant's open deadlines by due time. Partial, so it
-- holds only what is still owed (a closed incident's rows leave it), and
-- keyed (tenant, due_at, incident_id, ordinal) so a page is one range scan
-- that starts after the page token's key and stops after pageSize + 1 rows.
CREATE INDEX deadlines_open_by_due ON incidents.deadlines (tenant_id, due_at, incident_id, ordinal)
    WHERE status = 'PENDING' AND due_at IS NOT NULL;

ALTER TABLE incidents.incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents.incidents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON incidents.incidents
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

ALTER TABLE incidents.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents.events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON incidents.events
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

ALTER TABLE incidents.deadlines ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents.deadlines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON incidents.deadlines
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

-- Incidents are records: updated (derived columns), never deleted.
GRANT SELECT, INSERT, UPDATE ON incidents.incidents TO bulwark_service;
GRANT SELECT, INSERT ON incidents.events TO bulwark_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON incidents.deadlines TO bulwark_service;
