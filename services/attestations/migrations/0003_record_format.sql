-- The version of each record's canonical encoding (services/attestations/
-- README.md): "bulwark.attestation.v1" for every record signed before
-- version 2, which adds the record id to what is signed. Verification
-- rebuilds each record in its own version, so older records keep verifying;
-- a changed format shows as a hash mismatch like any other changed column.
--
-- Adding a column with a constant default rewrites no row and fires no
-- trigger: the append-only records stay untouched. The default then goes,
-- so that every new record says which version it was signed in.
ALTER TABLE attestations.records
    ADD COLUMN format text NOT NULL DEFAULT 'bulwark.attestation.v1'
        CONSTRAINT records_format_check
        CHECK (format IN ('bulwark.attestation.v1', 'bulwark.attestation.v2'));
ALTER TABLE attestations.records ALTER COLUMN format DROP DEFAULT;

-- Grants: none needed. The service's role inserts and reads records through
-- the table-level grants of 0002_attestations_role.sql, which cover new
-- columns.
