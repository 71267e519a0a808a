-- Roles and privileges every component relies on.
--
-- bulwark_service is the group role granted to the services' login role
-- (bulwark_app locally). It cannot log in and can never bypass row-level
-- security: each service's migrations GRANT their tables to it, and its
-- members see only the rows of the tenant set in bulwark.tenant_id.
-- Roles are cluster-wide, so an existing role is fixed rather than recreated.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bulwark_service') THEN
        CREATE ROLE bulwark_service NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    ELSIF EXISTS (SELECT FROM pg_roles
                  WHERE rolname = 'bulwark_service' AND (rolsuper OR rolbypassrls OR rolcanlogin)) THEN
        ALTER ROLE bulwark_service NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;

-- Only schema owners create objects; PostgreSQL 15 already ships this way,
-- clusters upgraded from older versions do not.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
