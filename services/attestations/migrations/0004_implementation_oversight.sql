-- NIS2 Art 20(1) has the management body approve the cybersecurity
-- risk-management measures and oversee their implementation: campaigns of
-- kind IMPLEMENTATION_OVERSIGHT record the body's reviews of how far the
-- measures are implemented, approved by majority like an approval.
--
-- Dropping and re-adding a CHECK constraint changes no row and fires no
-- trigger: campaigns and records stay untouched.
ALTER TABLE attestations.campaigns DROP CONSTRAINT campaigns_kind_check;
ALTER TABLE attestations.campaigns ADD CONSTRAINT campaigns_kind_check
    CHECK (kind IN ('RISK_MEASURES_APPROVAL', 'MANAGEMENT_TRAINING', 'POLICY_APPROVAL',
                    'IMPLEMENTATION_OVERSIGHT'));

-- Grants: none needed. The service's role creates and reads campaigns
-- through the table-level grants of 0002_attestations_role.sql.
