-- Creates, or brings up to date, bulwark_owner: the role that owns the
-- database and every Bulwark schema, and runs the migrations. It is what a
-- managed PostgreSQL gives you: it can log in and create roles (CREATEROLE),
-- but is neither a superuser nor able to bypass row-level security, so
-- `make test` and `make run` migrate exactly as a production install does.
--
-- Run as a superuser, before the migrations, by deploy/migrate.sh when
-- BULWARK_SUPERUSER_DATABASE_URL is set (the local scripts set it; on a
-- managed service, create the role with the provider's admin role instead, as
-- deploy/README.md says). The password comes from the environment
-- (BULWARK_OWNER_PASSWORD), never from a file.
--
-- It also upgrades an installation whose schemas a superuser migrated: every
-- object of the database that a superuser owns (outside the system schemas)
-- goes to bulwark_owner, so that the owner can carry on migrating it. Grants
-- move with ownership (PostgreSQL rewrites the grantor), so the migrations
-- can revoke what the superuser granted.
\set ON_ERROR_STOP on
\getenv owner_password BULWARK_OWNER_PASSWORD
SET client_min_messages = warning;

SELECT 'CREATE ROLE bulwark_owner LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bulwark_owner')
\gexec

SELECT format('ALTER ROLE bulwark_owner WITH LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE '
              'NOCREATEDB NOREPLICATION PASSWORD %L', :'owner_password')
\gexec

SELECT format('ALTER DATABASE %I OWNER TO bulwark_owner', current_database())
\gexec

DO $$
DECLARE
    obj record;
BEGIN
    -- Schemas, then relations, routines and standalone types in them.
    -- Indexes, owned sequences and row types follow their table.
    FOR obj IN
        SELECT format('ALTER SCHEMA %I OWNER TO bulwark_owner', n.nspname) AS stmt
          FROM pg_namespace n JOIN pg_roles o ON o.oid = n.nspowner
         WHERE o.rolsuper AND n.nspname NOT IN ('public', 'information_schema')
           AND n.nspname !~ '^pg_'
        UNION ALL
        SELECT format('ALTER %s %s OWNER TO bulwark_owner',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                     WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                     ELSE 'TABLE' END,
                      c.oid::regclass)
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_roles o ON o.oid = c.relowner
         WHERE o.rolsuper AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           AND (n.nspname NOT IN ('public', 'information_schema') AND n.nspname !~ '^pg_'
                OR c.oid = to_regclass('public.bulwark_migrations'))
           AND NOT EXISTS (SELECT FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype IN ('a', 'i'))
        UNION ALL
        SELECT format('ALTER ROUTINE %s OWNER TO bulwark_owner', p.oid::regprocedure)
          FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_roles o ON o.oid = p.proowner
         WHERE o.rolsuper AND n.nspname NOT IN ('public', 'information_schema')
           AND n.nspname !~ '^pg_'
        UNION ALL
        SELECT format('ALTER TYPE %s OWNER TO bulwark_owner', t.oid::regtype)
          FROM pg_type t
          JOIN pg_namespace n ON n.oid = t.typnamespace
          JOIN pg_roles o ON o.oid = t.typowner
         WHERE o.rolsuper AND t.typtype IN ('d', 'e')
           AND n.nspname NOT IN ('public', 'information_schema') AND n.nspname !~ '^pg_'
    LOOP
        EXECUTE obj.stmt;
    END LOOP;
END
$$;
