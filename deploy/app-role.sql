-- Creates, or brings up to date, the login role the services connect as:
-- a member of bulwark_service (the NOLOGIN role that common/migrations grants
-- the table privileges to), neither superuser nor BYPASSRLS, so that
-- row-level security applies to every query it makes. Run by
-- deploy/migrate.sh after the migrations, as the database owner; the password
-- comes from the environment (BULWARK_APP_PASSWORD), never from a file.
\set ON_ERROR_STOP on
\getenv app_password BULWARK_APP_PASSWORD
SET client_min_messages = warning;

SELECT 'CREATE ROLE bulwark_app LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bulwark_app')
\gexec

-- Every run resets the attributes and the password, so a changed password or
-- a role altered by hand is brought back to what the services expect.
SELECT format('ALTER ROLE bulwark_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB '
              'NOCREATEROLE NOREPLICATION PASSWORD %L', :'app_password')
\gexec

GRANT bulwark_service TO bulwark_app;
