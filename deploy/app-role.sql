-- Creates, or brings up to date, the login role of each process:
--
--   bulwark_app_gateway       member of bulwark_tenancy
--   bulwark_app_scoping       member of bulwark_scoping
--   bulwark_app_crosswalk     member of bulwark_crosswalk
--   bulwark_app_incidents     member of bulwark_incidents
--   bulwark_app_attestations  member of bulwark_attestations
--   bulwark_app_integrations  member of bulwark_integrations (made only when
--                             BULWARK_APP_PASSWORD_INTEGRATIONS is set, so
--                             that a deployment without the integrations
--                             service needs no password for it)
--
-- Each belongs to its process's group role (common/migrations/
-- 0003_service_roles.sql) and to nothing else, and is neither a superuser nor
-- BYPASSRLS, so row-level security applies to every query it makes and it
-- reaches no other service's schema. Run by deploy/migrate.sh after the
-- migrations, as the database owner (a CREATEROLE role is enough); each
-- password comes from the environment (BULWARK_APP_PASSWORD_GATEWAY,
-- BULWARK_APP_PASSWORD_SCOPING, ...), never from a file.
--
-- It also retires what came before: bulwark_app, the login role every
-- process shared, and bulwark_service, its group role, once the migrations
-- have taken every grant from it.
\set ON_ERROR_STOP on
\getenv pw_gateway BULWARK_APP_PASSWORD_GATEWAY
\getenv pw_scoping BULWARK_APP_PASSWORD_SCOPING
\getenv pw_crosswalk BULWARK_APP_PASSWORD_CROSSWALK
\getenv pw_incidents BULWARK_APP_PASSWORD_INCIDENTS
\getenv pw_attestations BULWARK_APP_PASSWORD_ATTESTATIONS
\getenv pw_integrations BULWARK_APP_PASSWORD_INTEGRATIONS
\if :{?pw_integrations}
\else
\set pw_integrations ''
\endif
SET client_min_messages = notice;

BEGIN;
-- The passwords reach the block below as settings of this transaction only.
SELECT set_config('bulwark.pw_gateway', :'pw_gateway', true),
       set_config('bulwark.pw_scoping', :'pw_scoping', true),
       set_config('bulwark.pw_crosswalk', :'pw_crosswalk', true),
       set_config('bulwark.pw_incidents', :'pw_incidents', true),
       set_config('bulwark.pw_attestations', :'pw_attestations', true),
       set_config('bulwark.pw_integrations', :'pw_integrations', true)
\g /dev/null

DO $$
DECLARE
    app record;
    login text;
    found_role record;
    other text;
    is_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    FOR app IN SELECT * FROM (VALUES ('gateway', 'bulwark_tenancy'),
                                     ('scoping', 'bulwark_scoping'),
                                     ('crosswalk', 'bulwark_crosswalk'),
                                     ('incidents', 'bulwark_incidents'),
                                     ('attestations', 'bulwark_attestations'),
                                     ('integrations', 'bulwark_integrations')) v(process, grp) LOOP
        login := 'bulwark_app_' || app.process;
        IF app.process = 'integrations' AND current_setting('bulwark.pw_integrations') = '' THEN
            RAISE NOTICE 'BULWARK_APP_PASSWORD_INTEGRATIONS is not set: % left as it is', login;
            CONTINUE;
        END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app.grp) THEN
            RAISE EXCEPTION 'role % is missing: apply the migrations first', app.grp;
        END IF;
        SELECT rolsuper, rolbypassrls, rolreplication INTO found_role
          FROM pg_roles WHERE rolname = login;
        IF NOT FOUND THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION', login);
        ELSIF found_role.rolsuper OR found_role.rolbypassrls OR found_role.rolreplication THEN
            -- Only a superuser may change these attributes.
            IF NOT is_super THEN
                RAISE EXCEPTION 'role % is a superuser, a replication role or bypasses row-level security', login
                    USING HINT = format('As a superuser: ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOREPLICATION', login);
            END IF;
            EXECUTE format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOREPLICATION', login);
        END IF;
        -- Every run resets the password and the other attributes, so a
        -- changed password or a role altered by hand is brought back.
        EXECUTE format('ALTER ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT PASSWORD %L',
                       login, current_setting('bulwark.pw_' || app.process));
        IF NOT pg_has_role(login, app.grp, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', app.grp, login);
        END IF;
        -- Membership in any other role would widen what the process reaches.
        FOR other IN SELECT g.rolname FROM pg_auth_members m
                       JOIN pg_roles g ON g.oid = m.roleid
                       JOIN pg_roles u ON u.oid = m.member
                      WHERE u.rolname = login AND g.rolname <> app.grp LOOP
            EXECUTE format('REVOKE %I FROM %I', other, login);
        END LOOP;
    END LOOP;

    -- The role all processes shared before: dropped, or, if something in
    -- some database still depends on it, kept without the right to log in.
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bulwark_app') THEN
        BEGIN
            DROP ROLE bulwark_app;
            RAISE NOTICE 'dropped role bulwark_app: each process now has a login role of its own';
        EXCEPTION WHEN dependent_objects_still_exist THEN
            ALTER ROLE bulwark_app NOLOGIN;
            RAISE WARNING 'role bulwark_app still owns or is granted something; it can no longer log in';
        END;
    END IF;
    -- Its group role, once the migrations have revoked every grant. Roles are
    -- cluster-wide: another database of the cluster that is not migrated yet
    -- still grants it privileges, and then it stays until that one is.
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bulwark_service') THEN
        BEGIN
            DROP ROLE bulwark_service;
            RAISE NOTICE 'dropped role bulwark_service: each process has a group role of its own';
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE WARNING 'role bulwark_service is still granted privileges (in another database?); kept';
        END;
    END IF;
END
$$;
COMMIT;
