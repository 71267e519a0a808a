-- Legal entities of a tenant. The scoping facts (activities, size, public
-- administration, Member State) are kept as one serialized
-- bulwark.scoping.v1.Entity message holding only those fields: they are read
-- and written whole, and the rules evaluate them in the service.
CREATE SCHEMA scoping;
GRANT USAGE ON SCHEMA scoping TO bulwark_service;

CREATE TABLE scoping.entities (
    tenant_id     uuid NOT NULL,
    entity_id     uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    time_zone     text NOT NULL,
    parent_entity uuid,
    facts         bytea NOT NULL,
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    revision      bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, entity_id),
    CHECK (parent_entity IS DISTINCT FROM entity_id),
    CONSTRAINT entities_parent_fkey FOREIGN KEY (tenant_id, parent_entity)
        REFERENCES scoping.entities (tenant_id, entity_id) ON DELETE SET NULL (parent_entity)
);
CREATE INDEX entities_parent ON scoping.entities (tenant_id, parent_entity)
    WHERE parent_entity IS NOT NULL;

ALTER TABLE scoping.entities ENABLE ROW LEVEL SECURITY;
ALTER TABLE scoping.entities FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON scoping.entities
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON scoping.entities TO bulwark_service;
