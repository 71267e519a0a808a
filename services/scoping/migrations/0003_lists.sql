-- ListEntities for sync and screens (docs/DESIGN.md, "Ids and lists"): an
-- index behind every order it offers, update_time moved by every change, and
-- tombstones of deleted entities for updatedSince readers.

-- orderBy createTime, updateTime (and updatedSince), name; ties by id. A page
-- is one range scan of one of these, wherever it starts.
CREATE INDEX entities_by_create ON scoping.entities (tenant_id, create_time, entity_id);
CREATE INDEX entities_by_update ON scoping.entities (tenant_id, update_time, entity_id);
CREATE INDEX entities_by_name ON scoping.entities (tenant_id, name, entity_id);

-- The service's statements stamp every change they make (update_time,
-- revision). One change is not theirs: deleting a parent sets its children's
-- parent_entity to NULL (ON DELETE SET NULL). This stamps such a change too,
-- so that an updatedSince reader sees the child change and its etag moves.
CREATE FUNCTION scoping.stamp_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.revision = OLD.revision AND NEW IS DISTINCT FROM OLD THEN
        NEW.revision := OLD.revision + 1;
        NEW.update_time := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER entities_stamp_change BEFORE UPDATE ON scoping.entities
    FOR EACH ROW EXECUTE FUNCTION scoping.stamp_change();

-- A deleted entity leaves its id and the time of its deletion, so that a
-- client syncing with updatedSince learns of the deletion. Written by a
-- trigger, so every way of deleting leaves one; kept 30 days (the purge
-- below, run by the service's periodic job).
CREATE TABLE scoping.entity_tombstones (
    tenant_id   uuid NOT NULL,
    entity_id   uuid NOT NULL,
    delete_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity_id)
);
CREATE INDEX entity_tombstones_by_time
    ON scoping.entity_tombstones (tenant_id, delete_time, entity_id);

ALTER TABLE scoping.entity_tombstones ENABLE ROW LEVEL SECURITY;
ALTER TABLE scoping.entity_tombstones FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON scoping.entity_tombstones
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
-- The service writes tombstones (through the trigger, as itself) and reads
-- them; only the purge removes them.
GRANT SELECT, INSERT ON scoping.entity_tombstones TO bulwark_scoping;

CREATE FUNCTION scoping.record_tombstone() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO scoping.entity_tombstones (tenant_id, entity_id)
    VALUES (OLD.tenant_id, OLD.entity_id);
    RETURN OLD;
END
$$;
CREATE TRIGGER entities_tombstone AFTER DELETE ON scoping.entities
    FOR EACH ROW EXECUTE FUNCTION scoping.record_tombstone();

-- Tombstones older than 30 days, of every tenant, go. The function runs as
-- bulwark_tombstone_purger (common migration 0005), whose policies show and
-- delete nothing younger, whoever calls it.
CREATE FUNCTION scoping.purge_tombstones() RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH purged AS (
        DELETE FROM scoping.entity_tombstones
         WHERE delete_time <= now() - interval '30 days'
        RETURNING 1)
    SELECT count(*) FROM purged
$$;

GRANT USAGE ON SCHEMA scoping TO bulwark_tombstone_purger;
GRANT SELECT (delete_time), DELETE ON scoping.entity_tombstones TO bulwark_tombstone_purger;
CREATE POLICY purge_expired_visible ON scoping.entity_tombstones
    FOR SELECT TO bulwark_tombstone_purger
    USING (delete_time <= now() - interval '30 days');
CREATE POLICY purge_expired ON scoping.entity_tombstones
    FOR DELETE TO bulwark_tombstone_purger
    USING (delete_time <= now() - interval '30 days');

REVOKE ALL ON FUNCTION scoping.purge_tombstones() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scoping.purge_tombstones() TO bulwark_scoping;

-- The function goes to its owner (its grants go with it), as in common
-- migration 0004.
GRANT CREATE ON SCHEMA scoping TO bulwark_tombstone_purger;
GRANT bulwark_tombstone_purger TO CURRENT_USER;
ALTER FUNCTION scoping.purge_tombstones() OWNER TO bulwark_tombstone_purger;
REVOKE bulwark_tombstone_purger FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA scoping FROM bulwark_tombstone_purger;
