-- What every service records about the requests that change state: the
-- audit trail, and the replies stored for Idempotency-Key retries. Both are
-- written in the same transaction as the change itself, by the shared
-- service runtime (common/request.c), so they live in a schema of their own
-- that every service may write.
CREATE SCHEMA bulwark;
GRANT USAGE ON SCHEMA bulwark TO bulwark_service;

CREATE TABLE bulwark.audit_events (
    tenant_id   uuid NOT NULL,
    event_id    uuid NOT NULL,
    occur_time  timestamptz NOT NULL DEFAULT now(),
    service     text NOT NULL,
    action      text NOT NULL,
    resource    text NOT NULL,
    principal   text NOT NULL,
    request_id  text NOT NULL,
    outcome     text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX audit_events_time ON bulwark.audit_events (tenant_id, occur_time, event_id);

ALTER TABLE bulwark.audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE bulwark.audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bulwark.audit_events
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON bulwark.audit_events TO bulwark_service;

-- Append-only, enforced by the database and not only by the grants.
CREATE FUNCTION bulwark.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON bulwark.audit_events FOR EACH STATEMENT EXECUTE FUNCTION bulwark.refuse_change();

CREATE TABLE bulwark.idempotency_keys (
    tenant_id   uuid NOT NULL,
    idem_key    text NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
    method      text NOT NULL,
    fingerprint bytea NOT NULL,
    response    bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idem_key)
);
ALTER TABLE bulwark.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE bulwark.idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bulwark.idempotency_keys
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON bulwark.idempotency_keys TO bulwark_service;
