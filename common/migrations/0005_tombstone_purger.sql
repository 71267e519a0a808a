-- The role that owns each service's purge of expired tombstones (a deleted
-- resource stays visible to updatedSince readers for 30 days; docs/DESIGN.md,
-- "Ids and lists"). Like bulwark_idempotency_purger it cannot log in and has
-- no members: a service's migration gives it a policy that shows and deletes
-- only tombstones older than 30 days and hands it the SECURITY DEFINER
-- function that deletes them (scoping.purge_tombstones(), ...), which the
-- service's own role may call from its periodic job (common/service.c).
--
-- Roles are cluster-wide: an existing role is checked and fixed as in 0003.
DO $$
DECLARE
    bad record;
BEGIN
    SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
      INTO bad FROM pg_roles WHERE rolname = 'bulwark_tombstone_purger';
    IF NOT FOUND THEN
        CREATE ROLE bulwark_tombstone_purger NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION
            NOCREATEDB NOCREATEROLE;
        RETURN;
    END IF;
    IF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'role bulwark_tombstone_purger is a superuser, a replication role or bypasses row-level security'
                USING HINT = 'As a superuser: ALTER ROLE bulwark_tombstone_purger NOSUPERUSER NOBYPASSRLS NOREPLICATION';
        END IF;
        ALTER ROLE bulwark_tombstone_purger NOSUPERUSER NOBYPASSRLS NOREPLICATION;
    END IF;
    IF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
        ALTER ROLE bulwark_tombstone_purger NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
