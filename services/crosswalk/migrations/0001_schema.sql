-- The crosswalk schema. Two kinds of tables:
--
-- Reference data shared by every tenant (sources, frameworks, requirements,
-- mappings): no tenant_id, loaded by the data migrations that follow this
-- file (NNNN_crosswalk.<table>.csv, derived by ../data/derive.py), readable
-- by bulwark_service and never writable by it.
--
-- Tenant data (mapping overrides, the Statement of Applicability and its
-- history): tenant_id first in the primary key, row-level security forced.
-- The SoA belongs to an entity of the scoping service; this schema holds its
-- id without a foreign key (another service's table), and the service checks
-- the entity with scoping's GetEntity before touching its rows.
CREATE SCHEMA crosswalk;
GRANT USAGE ON SCHEMA crosswalk TO bulwark_service;

CREATE TABLE crosswalk.sources (
    source_id text PRIMARY KEY CHECK (source_id ~ '^[a-z0-9][a-z0-9-]*$'),
    title     text NOT NULL,
    publisher text NOT NULL,
    version   text NOT NULL,
    locator   text NOT NULL,
    licence   text NOT NULL
);

CREATE TABLE crosswalk.frameworks (
    framework_id text PRIMARY KEY CHECK (framework_id ~ '^[a-z0-9][a-z0-9-]*$'),
    position     int NOT NULL UNIQUE,
    title        text NOT NULL,
    version      text NOT NULL,
    source_id    text NOT NULL REFERENCES crosswalk.sources,
    note         text
);

-- One requirement (clause, control, article point, Annex requirement) or a
-- heading that groups them. position orders a framework's tree for display;
-- assessable marks what a SoA records (ISO) or a gap analysis rates (others).
-- iso_coverable false: a duty no ISO/IEC 27001 control can discharge, with
-- the obligation saying what the entity must do instead.
CREATE TABLE crosswalk.requirements (
    framework_id  text NOT NULL REFERENCES crosswalk.frameworks,
    ref           text NOT NULL CHECK (ref ~ '^[A-Za-z0-9][A-Za-z0-9._-]*$' AND length(ref) <= 40),
    position      int NOT NULL,
    parent_ref    text,
    kind          text NOT NULL,
    title         text NOT NULL,
    theme         text,
    assessable    boolean NOT NULL,
    iso_coverable boolean NOT NULL,
    obligation    text,
    source_id     text NOT NULL REFERENCES crosswalk.sources,
    PRIMARY KEY (framework_id, ref),
    UNIQUE (framework_id, position),
    CHECK (iso_coverable OR length(obligation) > 0),
    FOREIGN KEY (framework_id, parent_ref) REFERENCES crosswalk.requirements (framework_id, ref)
        DEFERRABLE INITIALLY DEFERRED
);

-- Shipped mappings, NIST OLIR-style: how the source requirement relates to
-- the target one as sets of what they ask for.
CREATE TABLE crosswalk.mappings (
    source_framework text NOT NULL,
    source_ref       text NOT NULL,
    target_framework text NOT NULL,
    target_ref       text NOT NULL,
    relationship     text NOT NULL
        CHECK (relationship IN ('EQUAL', 'SUBSET', 'SUPERSET', 'INTERSECT', 'NOT_RELATED')),
    rationale        text NOT NULL,
    source_id        text NOT NULL REFERENCES crosswalk.sources,
    PRIMARY KEY (source_framework, source_ref, target_framework, target_ref),
    CHECK (source_framework <> target_framework),
    FOREIGN KEY (source_framework, source_ref) REFERENCES crosswalk.requirements (framework_id, ref),
    FOREIGN KEY (target_framework, target_ref) REFERENCES crosswalk.requirements (framework_id, ref)
);

GRANT SELECT ON crosswalk.sources, crosswalk.frameworks, crosswalk.requirements,
    crosswalk.mappings TO bulwark_service;

-- A tenant's own mapping rows: they replace the shipped row of the same
-- (source, target) pair, or add one, for that tenant only.
CREATE TABLE crosswalk.mapping_overrides (
    tenant_id        uuid NOT NULL,
    override_id      uuid NOT NULL,
    source_framework text NOT NULL,
    source_ref       text NOT NULL,
    target_framework text NOT NULL,
    target_ref       text NOT NULL,
    relationship     text NOT NULL
        CHECK (relationship IN ('EQUAL', 'SUBSET', 'SUPERSET', 'INTERSECT', 'NOT_RELATED')),
    rationale        text NOT NULL CHECK (length(rationale) BETWEEN 1 AND 2000),
    author           text NOT NULL DEFAULT '',
    create_time      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, override_id),
    CONSTRAINT mapping_overrides_pair_key
        UNIQUE (tenant_id, source_framework, source_ref, target_framework, target_ref),
    CHECK (source_framework <> target_framework),
    FOREIGN KEY (source_framework, source_ref) REFERENCES crosswalk.requirements (framework_id, ref),
    FOREIGN KEY (target_framework, target_ref) REFERENCES crosswalk.requirements (framework_id, ref)
);

-- The Statement of Applicability: one row per entity and ISO/IEC 27001
-- clause or Annex A control it records.
CREATE TABLE crosswalk.soa_controls (
    tenant_id     uuid NOT NULL,
    entity_id     uuid NOT NULL,
    ref           text NOT NULL,
    applicable    boolean NOT NULL,
    status        text NOT NULL
        CHECK (status IN ('IMPLEMENTED', 'PARTIAL', 'PLANNED', 'NOT_IMPLEMENTED')),
    justification text NOT NULL DEFAULT '' CHECK (length(justification) <= 4000),
    evidence      text[] NOT NULL DEFAULT '{}',
    owner         text NOT NULL DEFAULT '' CHECK (length(owner) <= 200),
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    revision      bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, entity_id, ref),
    CONSTRAINT soa_controls_excluded_justified CHECK (applicable OR length(justification) > 0)
);

-- Every change of a SoA row, as the state it left; written by the same
-- statement as the change. Append-only for the services' role.
CREATE TABLE crosswalk.soa_history (
    tenant_id     uuid NOT NULL,
    entity_id     uuid NOT NULL,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    ref           text NOT NULL,
    change        text NOT NULL CHECK (change IN ('CREATED', 'UPDATED')),
    via           text NOT NULL CHECK (via IN ('PUT', 'IMPORT')),
    applicable    boolean NOT NULL,
    status        text NOT NULL,
    justification text NOT NULL,
    evidence      text[] NOT NULL,
    owner         text NOT NULL,
    principal     text NOT NULL DEFAULT '',
    request_id    text NOT NULL DEFAULT '',
    change_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity_id, seq)
);

ALTER TABLE crosswalk.mapping_overrides ENABLE ROW LEVEL SECURITY;
ALTER TABLE crosswalk.mapping_overrides FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON crosswalk.mapping_overrides
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

ALTER TABLE crosswalk.soa_controls ENABLE ROW LEVEL SECURITY;
ALTER TABLE crosswalk.soa_controls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON crosswalk.soa_controls
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

ALTER TABLE crosswalk.soa_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE crosswalk.soa_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON crosswalk.soa_history
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, DELETE ON crosswalk.mapping_overrides TO bulwark_service;
GRANT SELECT, INSERT, UPDATE ON crosswalk.soa_controls TO bulwark_service;
GRANT SELECT, INSERT ON crosswalk.soa_history TO bulwark_service;
