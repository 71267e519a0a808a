-- Records, campaigns and chain heads stay append-only (a head only moves
-- forward) for everyone but bulwark_tenant_eraser, the role of
-- bulwark.erase_tenant_rows (common/migrations/0005), which deletes every
-- row of a tenant that is deleted as a whole; docs/DESIGN.md ("Tenant
-- lifecycle") gives the legal reasoning. Signing keys are no tenant's data
-- and stay as they are. TRUNCATE is refused to everyone, as before.
CREATE OR REPLACE FUNCTION attestations.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = 'bulwark_tenant_eraser'
       AND TG_TABLE_NAME <> 'signing_keys' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'attestations.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Attestation evidence is never changed or removed.';
END
$$;

CREATE OR REPLACE FUNCTION attestations.head_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = 'bulwark_tenant_eraser' THEN
        RETURN OLD;
    END IF;
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
