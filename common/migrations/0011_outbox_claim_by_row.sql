-- The relay's claim (0006) marks the rows it locked by their address, so
-- that a claim costs the same whatever the backlog.
--
-- 0006's claim found each locked row again by its key, under the row-level
-- security of bulwark_outbox_relay, whose policies for UPDATE are
-- tenant_isolation OR relay_claim: "tenant_id = <the transaction's tenant>
-- OR relay_time IS NULL". Planned once, generically, with one-row
-- estimates, that condition became a bitmap scan of every row not yet
-- relayed, joined to the locked rows by a filter: the claim of 200 events
-- out of a backlog of 6,000 compared 1,200,000 pairs and took 342 ms
-- (auto_explain), so draining a backlog took time in its square (a
-- receiver or relay back after an outage; `make bench`'s webhook step).
-- Now the locked rows are updated by their address, a TID scan per row, as
-- integrations 0007 leases deliveries (a join on ctid, which the planner
-- cannot turn into a scan of the table). docs/DESIGN.md, "The cost of
-- announcing a write", has the figures.
GRANT bulwark_outbox_relay TO CURRENT_USER;
CREATE OR REPLACE FUNCTION bulwark.outbox_claim(p_limit integer)
RETURNS TABLE (tenant_id uuid, seq bigint, event_id uuid, type text, resource text,
               origin text, occur_time timestamptz, data text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
#variable_conflict use_column
BEGIN
    -- 'bulwark.outbox relay' as a key of its own.
    IF NOT pg_try_advisory_xact_lock(hashtextextended('bulwark.outbox relay', 0)) THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH locked AS (
        SELECT o.ctid AS at
          FROM bulwark.outbox o
         WHERE o.relay_time IS NULL
         ORDER BY o.seq
         LIMIT least(greatest(p_limit, 1), 1000)
           FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE bulwark.outbox o SET relay_time = now()
          FROM locked l
         WHERE o.ctid = l.at AND o.relay_time IS NULL
        RETURNING o.tenant_id, o.seq, o.event_id, o.type, o.resource, o.origin, o.occur_time,
                  o.data)
    SELECT c.tenant_id, c.seq, c.event_id, c.type, c.resource, c.origin, c.occur_time, c.data
      FROM claimed c ORDER BY c.seq;
END
$$;
REVOKE bulwark_outbox_relay FROM CURRENT_USER;
