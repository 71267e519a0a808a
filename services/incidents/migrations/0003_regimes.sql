-- Incident regimes in one timeline (issue 12 item 4): the entity's reporting
-- regime as scoping decided it when the incident was recorded (NIS2 Art 23,
-- DORA Art 19 instead for a financial entity under DORA, NONE when neither
-- binds it), the classification as major that starts the DORA clock, and the
-- personal data breach that adds GDPR Art 33's notification. Incidents
-- recorded before ran the NIS2 clock: they keep it.
ALTER TABLE incidents.incidents
    ADD COLUMN incident_regime text NOT NULL DEFAULT 'NIS2'
        CHECK (incident_regime IN ('NIS2', 'DORA', 'NONE')),
    ADD COLUMN classified_major_at timestamptz,
    ADD COLUMN personal_data_breach boolean NOT NULL DEFAULT false,
    ADD CHECK (classified_major_at IS NULL OR incident_regime = 'DORA'),
    ADD CHECK (classified_major_at IS NULL OR classified_major_at >= aware_at);

-- The events of DORA Art 19(4) and GDPR Art 33.
ALTER TABLE incidents.events DROP CONSTRAINT events_type_check;
ALTER TABLE incidents.events ADD CONSTRAINT events_type_check CHECK (type IN (
    'EARLY_WARNING_SUBMITTED', 'INCIDENT_NOTIFICATION_SUBMITTED',
    'INTERMEDIATE_REPORT_REQUESTED', 'INTERMEDIATE_REPORT_SUBMITTED',
    'PROGRESS_REPORT_SUBMITTED', 'FINAL_REPORT_SUBMITTED', 'HANDLING_ENDED', 'RECLASSIFIED',
    'NOTE', 'DORA_INITIAL_NOTIFICATION_SUBMITTED', 'DORA_INTERMEDIATE_REPORT_SUBMITTED',
    'DORA_FINAL_REPORT_SUBMITTED', 'GDPR_NOTIFICATION_SUBMITTED',
    'GDPR_NOTIFICATION_NOT_REQUIRED'));

-- Every deadline says whose rules it follows, and what else the rule says.
ALTER TABLE incidents.deadlines DROP CONSTRAINT deadlines_kind_check;
ALTER TABLE incidents.deadlines ADD CONSTRAINT deadlines_kind_check CHECK (kind IN (
    'EARLY_WARNING', 'INCIDENT_NOTIFICATION', 'INTERMEDIATE_REPORT', 'PROGRESS_REPORT',
    'FINAL_REPORT', 'INITIAL_NOTIFICATION', 'PERSONAL_DATA_BREACH_NOTIFICATION'));
ALTER TABLE incidents.deadlines
    ADD COLUMN regime text NOT NULL DEFAULT 'NIS2' CHECK (regime IN ('NIS2', 'DORA', 'GDPR')),
    ADD COLUMN note text NOT NULL DEFAULT '';

-- GET /v1/deadlines?regime=: the open deadlines of one regime by due time,
-- one range scan as for deadlines_open_by_due.
CREATE INDEX deadlines_open_by_regime
    ON incidents.deadlines (tenant_id, regime, due_at, incident_id, ordinal)
    WHERE status = 'PENDING' AND due_at IS NOT NULL;

-- The new columns are covered by the table grants of 0002; stated again so
-- that this file says who may use them: the service's own role, no one else.
GRANT SELECT, INSERT, UPDATE ON incidents.incidents TO bulwark_incidents;
GRANT SELECT, INSERT ON incidents.events TO bulwark_incidents;
GRANT SELECT, INSERT, UPDATE, DELETE ON incidents.deadlines TO bulwark_incidents;
