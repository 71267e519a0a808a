-- No parallel query in Bulwark's database (docs/DESIGN.md, "Performance as
-- measured"). Every statement of the services reads or writes a page of
-- rows by an index; a parallel plan never pays for its workers there, and
-- the planner picks one wherever a branch of a statement looks like a scan
-- of a large table. ListIncidents has two branches, one per entity filter,
-- of which only one returns rows; with a million incidents in the tenant
-- the other was planned as a Gather over a parallel sequential scan behind
-- a one-time filter that is false, and PostgreSQL started its two workers
-- anyway: 44 ms of a 45 ms page of 20 incidents (EXPLAIN ANALYZE).
--
-- Set on the database, so that it holds for every role and connection
-- (poolers included) from the next session on; a person's session may set
-- it back. ALTER DATABASE needs the database's owner (bulwark_owner, as the
-- deployment's README sets it up); where the migrations run as another
-- role it is skipped with a notice, and the operator sets it instead.
DO $$
BEGIN
    IF pg_has_role(current_user, (SELECT datdba FROM pg_database
                                   WHERE datname = current_database()), 'MEMBER') THEN
        EXECUTE format('ALTER DATABASE %I SET max_parallel_workers_per_gather = 0',
                       current_database());
    ELSE
        RAISE NOTICE 'not the owner of database %: set max_parallel_workers_per_gather = 0 '
                     'on it by hand', current_database();
    END IF;
END
$$;
