-- A tenant's erasure (bulwark.erase_tenant_rows, run as
-- bulwark_tenant_eraser) deletes its entities like everything else it has;
-- those deletions must not leave tombstones behind, which would keep the
-- erased tenant's ids for 30 days (and the eraser may not insert them).
-- An entity deleted through the API still leaves its tombstone.
CREATE OR REPLACE FUNCTION scoping.record_tombstone() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_user = 'bulwark_tenant_eraser' THEN
        RETURN OLD;
    END IF;
    INSERT INTO scoping.entity_tombstones (tenant_id, entity_id)
    VALUES (OLD.tenant_id, OLD.entity_id);
    RETURN OLD;
END
$$;
