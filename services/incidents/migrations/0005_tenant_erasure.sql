-- Incident events stay append-only for everyone but bulwark_tenant_eraser,
-- the role of bulwark.erase_tenant_rows (common/migrations/0005), which
-- deletes every row of a tenant that is deleted as a whole. docs/DESIGN.md
-- ("Tenant lifecycle") says why evidence goes with its tenant.
CREATE OR REPLACE FUNCTION incidents.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = 'bulwark_tenant_eraser' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'incident events are append-only'
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('%s on incidents.events is not allowed.', TG_OP);
END
$$;
