-- NIS2 Art 20 evidence: board members, campaigns, and the signed,
-- append-only attestation records of each entity's hash chain (see
-- services/attestations/README.md for the encoding and the chain).
--
-- Records, campaigns and signing keys are never changed once written, and
-- the database refuses it, not only the service: the service's role has no
-- UPDATE or DELETE privilege on them, and a trigger raises on UPDATE, DELETE
-- and TRUNCATE whoever runs them. Each entity's chain head may only move
-- forward one record at a time.
CREATE SCHEMA attestations;
GRANT USAGE ON SCHEMA attestations TO bulwark_service;

-- Raised by the triggers below; shared by every append-only table.
CREATE FUNCTION attestations.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'attestations.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Attestation evidence is never changed or removed.';
END
$$;

-- Members of an entity's management body. The entity lives in the scoping
-- service's schema, which this service never reads: it is checked over gRPC
-- when a member or a campaign is created.
CREATE TABLE attestations.board_members (
    tenant_id   uuid NOT NULL,
    member_id   uuid NOT NULL,
    entity_id   uuid NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email       text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    role        text NOT NULL DEFAULT '' CHECK (length(role) <= 200),
    since       timestamptz NOT NULL,
    until       timestamptz,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    revision    bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, member_id),
    CONSTRAINT board_members_tenure_check CHECK (until IS NULL OR until > since)
);
CREATE INDEX board_members_entity ON attestations.board_members (tenant_id, entity_id, member_id);

-- A statement put to the management body. The statement is frozen: its
-- SHA-256 is checked by the database and the row never changes.
CREATE TABLE attestations.campaigns (
    tenant_id        uuid NOT NULL,
    campaign_id      uuid NOT NULL,
    entity_id        uuid NOT NULL,
    kind             text NOT NULL
                     CHECK (kind IN ('RISK_MEASURES_APPROVAL', 'MANAGEMENT_TRAINING', 'POLICY_APPROVAL')),
    statement        text NOT NULL CHECK (length(statement) BETWEEN 1 AND 65536),
    statement_sha256 text NOT NULL,
    due_at           timestamptz NOT NULL,
    valid_for_days   int NOT NULL CHECK (valid_for_days BETWEEN 1 AND 3660),
    created_by       text NOT NULL DEFAULT '',
    create_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_id),
    CONSTRAINT campaigns_statement_sha256_check
        CHECK (statement_sha256 = encode(sha256(convert_to(statement, 'UTF8')), 'hex'))
);
CREATE INDEX campaigns_entity ON attestations.campaigns (tenant_id, entity_id, campaign_id);

-- One attestation: a record of an entity's chain. hash is the SHA-256 of
-- the record's canonical encoding, which includes previous_hash; signature
-- is the Ed25519 signature of that encoding by key key_id. The service
-- rebuilds the encoding from these columns to verify, so a changed column
-- shows as a hash mismatch.
CREATE TABLE attestations.records (
    tenant_id        uuid NOT NULL,
    entity_id        uuid NOT NULL,
    sequence         bigint NOT NULL CHECK (sequence >= 1),
    record_id        uuid NOT NULL,
    campaign_id      uuid NOT NULL,
    kind             text NOT NULL,
    member_id        uuid NOT NULL,
    member_name      text NOT NULL,
    decision         text NOT NULL CHECK (decision IN ('APPROVE', 'REJECT', 'ABSTAIN')),
    comment          text NOT NULL DEFAULT '',
    statement_sha256 text NOT NULL,
    recorded_at      timestamptz NOT NULL,
    recorded_by      text NOT NULL,
    on_behalf        boolean NOT NULL,
    key_id           text NOT NULL,
    previous_hash    text NOT NULL,
    hash             text NOT NULL,
    signature        bytea NOT NULL,
    PRIMARY KEY (tenant_id, entity_id, sequence),
    CONSTRAINT records_member_once UNIQUE (tenant_id, campaign_id, member_id),
    CONSTRAINT records_id UNIQUE (tenant_id, record_id),
    CONSTRAINT records_campaign_fkey FOREIGN KEY (tenant_id, campaign_id)
        REFERENCES attestations.campaigns (tenant_id, campaign_id),
    CONSTRAINT records_member_fkey FOREIGN KEY (tenant_id, member_id)
        REFERENCES attestations.board_members (tenant_id, member_id)
);
CREATE INDEX records_member ON attestations.records (tenant_id, member_id);

-- The last record of each entity's chain, signed, so that records removed
-- from the end are noticed too. Appending locks this row: that serialises
-- the appends of one entity and keeps its sequence without gaps.
CREATE TABLE attestations.chain_heads (
    tenant_id   uuid NOT NULL,
    entity_id   uuid NOT NULL,
    sequence    bigint NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    hash        text NOT NULL DEFAULT repeat('0', 64),
    key_id      text NOT NULL DEFAULT '',
    signature   bytea,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity_id)
);

-- The public half of every key that ever signed. Not tenant data: one key
-- signs for every tenant, and an old key must stay available for as long as
-- its records exist.
CREATE TABLE attestations.signing_keys (
    key_id      text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    algorithm   text NOT NULL CHECK (algorithm = 'Ed25519'),
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER campaigns_append_only BEFORE UPDATE OR DELETE ON attestations.campaigns
    FOR EACH ROW EXECUTE FUNCTION attestations.refuse_change();
CREATE TRIGGER campaigns_no_truncate BEFORE TRUNCATE ON attestations.campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION attestations.refuse_change();
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON attestations.records
    FOR EACH ROW EXECUTE FUNCTION attestations.refuse_change();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON attestations.records
    FOR EACH STATEMENT EXECUTE FUNCTION attestations.refuse_change();
CREATE TRIGGER signing_keys_append_only BEFORE UPDATE OR DELETE ON attestations.signing_keys
    FOR EACH ROW EXECUTE FUNCTION attestations.refuse_change();
CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON attestations.signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION attestations.refuse_change();

-- A head moves forward by exactly one record, or stays as it is (the
-- no-op update that locks it); it is never removed.
CREATE FUNCTION attestations.head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'attestations.chain_heads: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.tenant_id <> OLD.tenant_id OR NEW.entity_id <> OLD.entity_id
       OR NOT (NEW.sequence = OLD.sequence + 1
               OR (NEW.sequence = OLD.sequence AND NEW.hash = OLD.hash
                   AND NEW.signature IS NOT DISTINCT FROM OLD.signature)) THEN
        RAISE EXCEPTION 'attestations.chain_heads may only move forward by one record'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER chain_heads_forward_only BEFORE UPDATE OR DELETE ON attestations.chain_heads
    FOR EACH ROW EXECUTE FUNCTION attestations.head_forward_only();
CREATE TRIGGER chain_heads_no_truncate BEFORE TRUNCATE ON attestations.chain_heads
    FOR EACH STATEMENT EXECUTE FUNCTION attestations.refuse_change();

-- Where each campaign stands. Expected members: those in office at the end
-- of the campaign's window (now, or its due date once past), plus everyone
-- who attested. approved_at: the approval that made a majority of the
-- expected members, in chain order; NULL while there is none.
-- security_invoker: the caller's row-level security applies, not the owner's.
CREATE VIEW attestations.campaign_tallies WITH (security_invoker = true) AS
SELECT c.tenant_id, c.campaign_id, c.entity_id, c.kind, c.statement_sha256, c.due_at,
       c.valid_for_days, c.created_by, c.create_time,
       t.expected, t.approvals, t.rejections, t.abstentions,
       (SELECT r.recorded_at FROM attestations.records r
         WHERE r.tenant_id = c.tenant_id AND r.campaign_id = c.campaign_id
           AND r.decision = 'APPROVE'
         ORDER BY r.sequence OFFSET t.expected / 2 LIMIT 1) AS approved_at
  FROM attestations.campaigns c
 CROSS JOIN LATERAL (
       SELECT count(*)::int AS expected,
              (count(*) FILTER (WHERE r.decision = 'APPROVE'))::int AS approvals,
              (count(*) FILTER (WHERE r.decision = 'REJECT'))::int AS rejections,
              (count(*) FILTER (WHERE r.decision = 'ABSTAIN'))::int AS abstentions
         FROM attestations.board_members m
         LEFT JOIN attestations.records r
                ON r.tenant_id = m.tenant_id AND r.campaign_id = c.campaign_id
               AND r.member_id = m.member_id
        WHERE m.tenant_id = c.tenant_id AND m.entity_id = c.entity_id
          AND (r.member_id IS NOT NULL
               OR (m.since <= LEAST(now(), c.due_at)
                   AND (m.until IS NULL OR m.until > LEAST(now(), c.due_at))))) t;

ALTER TABLE attestations.board_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE attestations.board_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attestations.board_members
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

ALTER TABLE attestations.campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE attestations.campaigns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attestations.campaigns
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

ALTER TABLE attestations.records ENABLE ROW LEVEL SECURITY;
ALTER TABLE attestations.records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attestations.records
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

ALTER TABLE attestations.chain_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE attestations.chain_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attestations.chain_heads
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE ON attestations.board_members TO bulwark_service;
GRANT SELECT, INSERT ON attestations.campaigns TO bulwark_service;
GRANT SELECT, INSERT ON attestations.records TO bulwark_service;
GRANT SELECT, INSERT, UPDATE ON attestations.chain_heads TO bulwark_service;
GRANT SELECT, INSERT ON attestations.signing_keys TO bulwark_service;
GRANT SELECT ON attestations.campaign_tallies TO bulwark_service;
