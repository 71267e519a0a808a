-- One group role per process instead of bulwark_service, which every
-- service's login role shared and which had grants on every schema: a
-- process broken into could read and write every other service's tables.
--
--   bulwark_tenancy       the gateway process (tenancy RPCs, schema tenancy)
--   bulwark_scoping       schema scoping
--   bulwark_crosswalk     schema crosswalk
--   bulwark_incidents     schema incidents
--   bulwark_attestations  schema attestations
--
-- None can log in, be a superuser or bypass row-level security; the login
-- roles that belong to them (bulwark_app_<process>) are made by
-- deploy/app-role.sql. This file grants what every one of them writes in the
-- shared bulwark schema (its audit rows, its idempotency records); each
-- component's own migrations grant its schema to its role and take it away
-- from bulwark_service, which deploy/app-role.sql drops once nothing is left
-- granted to it.
--
-- Two more NOLOGIN roles, with no members, own the SECURITY DEFINER
-- functions that must cross tenants: bulwark_key_resolver
-- (tenancy.resolve_api_key, see the tenancy migrations) and
-- bulwark_idempotency_purger (bulwark.purge_idempotency_keys, 0004).
-- Row-level security is forced, so it applies to the tables' owner too; these
-- roles get a policy of their own, which is what lets their function see
-- across tenants, and nothing else.
--
-- Roles are cluster-wide: an existing role is checked and fixed, not
-- recreated. A role that is a superuser, or bypasses row-level security, can
-- only be fixed by a superuser; the migration stops and says so.
DO $$
DECLARE
    r text;
    bad record;
BEGIN
    FOREACH r IN ARRAY ARRAY['bulwark_tenancy', 'bulwark_scoping', 'bulwark_crosswalk',
                             'bulwark_incidents', 'bulwark_attestations',
                             'bulwark_key_resolver', 'bulwark_idempotency_purger'] LOOP
        SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
          INTO bad FROM pg_roles WHERE rolname = r;
        IF NOT FOUND THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION '
                           'NOCREATEDB NOCREATEROLE', r);
            CONTINUE;
        END IF;
        IF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                RAISE EXCEPTION 'role % is a superuser, a replication role or bypasses row-level security', r
                    USING HINT = format('As a superuser: ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOREPLICATION', r);
            END IF;
            EXECUTE format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOREPLICATION', r);
        END IF;
        IF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
            EXECUTE format('ALTER ROLE %I NOLOGIN NOCREATEDB NOCREATEROLE', r);
        END IF;
    END LOOP;
END
$$;

-- What the shared write path (common/request.c) does for every process: it
-- appends audit rows and keeps idempotency records. Only the tenancy role
-- reads the audit trail (GET /v1/audit-events). No process deletes a record:
-- the purge (0004) does, for expired records only.
REVOKE ALL ON SCHEMA bulwark FROM bulwark_service;
REVOKE ALL ON bulwark.audit_events, bulwark.idempotency_keys FROM bulwark_service;
GRANT USAGE ON SCHEMA bulwark
    TO bulwark_tenancy, bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations;
GRANT INSERT ON bulwark.audit_events
    TO bulwark_tenancy, bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations;
GRANT SELECT ON bulwark.audit_events TO bulwark_tenancy;
GRANT SELECT, INSERT, UPDATE ON bulwark.idempotency_keys
    TO bulwark_tenancy, bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations;
