-- A delivery's two foreign keys are dropped: to its endpoint (with its
-- ON DELETE CASCADE) and to its event. Both were checked for every delivery
-- the relay makes, after its fan-out statement. Side by side under
-- POST /v1/incidents with one endpoint subscribed (the constraints dropped
-- and added again in place between alternating 10 s rounds, six pairs),
-- the integrations process's PostgreSQL sessions took 22 us a delivery
-- less without both (-24 to +52; less in five pairs of six), and 34 and 38
-- us less without either alone in runs of their own (docs/DESIGN.md, "The
-- cost of announcing a write"). What they guaranteed is kept otherwise:
--
-- * Its endpoint. The relay is the only process that makes deliveries, and
--   its fan-out locks the endpoints first (FOR KEY SHARE): one deleted
--   since the relay listed it is not found and gets no delivery, and a
--   delete that comes while the fan-out's transaction is open waits for
--   it. The cascade is now the trigger below, which deletes the endpoint's
--   deliveries after its row, as the cascade did: its DELETE is a statement
--   of a volatile function, with a snapshot of its own taken after that
--   wait, so it sees what the relay committed meanwhile. It runs as the
--   session that deletes the endpoint, under the same row-level security:
--   whoever sees the endpoint's row sees its deliveries (both tables are
--   the tenant's alone). So the integrations process's role may now delete
--   deliveries, which it does only here; it could already remove them all
--   by deleting their endpoint, and change any of them (UPDATE), so the
--   grant gives it nothing it could not do. Their attempts still go with
--   them (the attempts' foreign key).
-- * Its event. The relay copies an event into integrations.events in the
--   statement that makes its deliveries, and copies an event once, when it
--   is new; prune_events deletes only events no delivery or ticket job
--   refers to (through deliveries_by_event, which stays for it), and only
--   events older than three days, which the relay no longer copies.
ALTER TABLE integrations.deliveries
    DROP CONSTRAINT deliveries_tenant_id_endpoint_id_fkey,
    DROP CONSTRAINT deliveries_tenant_id_event_id_fkey;

CREATE FUNCTION integrations.delete_endpoint_deliveries()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A tenant's erasure deletes every table's rows itself, and its role
    -- may delete but not read (bulwark.erase_tenant_rows).
    IF current_user = 'bulwark_tenant_eraser' THEN
        RETURN NULL;
    END IF;
    DELETE FROM integrations.deliveries
     WHERE tenant_id = OLD.tenant_id AND endpoint_id = OLD.endpoint_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_endpoints_deleted
    AFTER DELETE ON integrations.webhook_endpoints
    FOR EACH ROW EXECUTE FUNCTION integrations.delete_endpoint_deliveries();

-- ---------------------------------------------------------------- grants
GRANT DELETE ON integrations.deliveries TO bulwark_integrations;
