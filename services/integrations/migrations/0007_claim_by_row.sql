-- A claim whose cost follows the deliveries it leases, whatever the plan
-- was made on (docs/DESIGN.md, "The cost of announcing a write"). 0001's
-- claim is planned once per session, a generic plan, made at the first
-- call: on a new deployment, while deliveries was empty or had statistics
-- of an empty table. Every estimate was then one row, the index paths tied,
-- and the cheaper by a hair won: the check "an earlier delivery of this
-- resource is pending" searched deliveries_pending_by_resource by tenant and
-- endpoint only, reading the endpoint's whole backlog per candidate, and
-- the lock of each chosen delivery searched it by tenant only, reading the
-- tenant's whole backlog per row. With 2,000 pending deliveries a claim of
-- 16 took 35-100 ms, and the plan stayed until an analyze of the table.
--
-- Now no step leaves the planner a choice between a good and a bad index:
--   - the check takes the resource's first pending delivery (ORDER BY seq
--     LIMIT 1): only deliveries_pending_by_resource searched by tenant,
--     endpoint and resource gives that order without a sort; the delivery
--     is due only if it is that one (seq is unique per endpoint, and the
--     delivery itself is pending, so "none earlier" is "it is the first");
--   - the chosen deliveries are locked and leased by their row address
--     (ctid, taken with them from deliveries_due), joined on it, so a TID
--     scan per row, as incidents 0008 does with deadlines (ctid = ANY of an
--     array lost to an index scan once the table had statistics): a row
--     another deliverer leased meanwhile has moved to a new address and is
--     skipped, as the recheck of its lease skipped it before;
--   - enable_sort = off keeps the candidates of an endpoint on
--     deliveries_due, in its order, up to the endpoint's free slots: with a
--     one-row estimate a sort of another index's rows looked free, and the
--     resource check then ran for every pending delivery of the endpoint;
--   - jit = off: the disabled sorts that remain (no index gives their
--     order) make the plan look costly enough to be compiled, which took
--     longer (1.8 s) than any claim.
-- The rest is 0001's, and so are the owner and grants.
-- docs/DESIGN.md, "The cost of announcing a write", has the figures.
--
-- Reading ctid takes SELECT on the table, not on columns: the dispatcher's
-- role gains the three columns it was not granted (attempt_count,
-- create_time, update_time), under the same policy (pending deliveries
-- only).
GRANT SELECT ON integrations.deliveries TO bulwark_webhook_dispatcher;

GRANT bulwark_webhook_dispatcher TO CURRENT_USER;
CREATE OR REPLACE FUNCTION integrations.claim_deliveries(p_limit integer, p_per_endpoint integer,
                                                         p_lease_seconds integer,
                                                         p_busy_endpoints uuid[],
                                                         p_busy_counts integer[])
RETURNS TABLE (tenant_id uuid, delivery_id uuid, lease_id uuid, endpoint_id uuid, url text,
               secret bytea, previous_secret bytea, event_id uuid, type text,
               occur_time text, data text, cycle_attempts integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_seqscan = off
SET enable_sort = off
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH RECURSIVE pending_endpoints AS (
        (SELECT d.tenant_id, d.endpoint_id FROM integrations.deliveries d
          WHERE d.state = 'PENDING'
          ORDER BY d.tenant_id, d.endpoint_id LIMIT 1)
        UNION ALL
        SELECT n.tenant_id, n.endpoint_id
          FROM pending_endpoints p
         CROSS JOIN LATERAL (
               SELECT d.tenant_id, d.endpoint_id FROM integrations.deliveries d
                WHERE d.state = 'PENDING'
                  AND (d.tenant_id, d.endpoint_id) > (p.tenant_id, p.endpoint_id)
                ORDER BY d.tenant_id, d.endpoint_id LIMIT 1) n),
    in_flight AS (
        SELECT b.endpoint_id, b.n FROM unnest(p_busy_endpoints, p_busy_counts) AS b(endpoint_id, n)),
    candidates AS (
        SELECT c.at, c.next_attempt_time, c.seq
          FROM pending_endpoints pe
          JOIN integrations.webhook_endpoints e
            ON e.tenant_id = pe.tenant_id AND e.endpoint_id = pe.endpoint_id AND NOT e.disabled
          LEFT JOIN in_flight f ON f.endpoint_id = pe.endpoint_id
         CROSS JOIN LATERAL (
               SELECT d.ctid AS at, d.next_attempt_time, d.seq
                 FROM integrations.deliveries d
                WHERE d.tenant_id = pe.tenant_id AND d.endpoint_id = pe.endpoint_id
                  AND d.state = 'PENDING' AND d.next_attempt_time <= now()
                  AND (d.lease_until IS NULL OR d.lease_until <= now())
                  AND d.seq = (
                      SELECT p.seq FROM integrations.deliveries p
                       WHERE p.tenant_id = d.tenant_id AND p.endpoint_id = d.endpoint_id
                         AND p.resource = d.resource AND p.state = 'PENDING'
                       ORDER BY p.seq LIMIT 1)
                ORDER BY d.next_attempt_time, d.seq
                LIMIT greatest(p_per_endpoint - coalesce(f.n, 0), 0)) c),
    chosen AS (
        SELECT c.at FROM candidates c
         ORDER BY c.next_attempt_time, c.seq
         LIMIT least(greatest(p_limit, 1), 1000)),
    locked AS (
        SELECT d.ctid AS at
          FROM chosen c
          JOIN integrations.deliveries d ON d.ctid = c.at
         WHERE d.state = 'PENDING' AND (d.lease_until IS NULL OR d.lease_until <= now())
           FOR UPDATE OF d SKIP LOCKED),
    leased AS (
        UPDATE integrations.deliveries d
           SET lease_id = gen_random_uuid(),
               lease_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
          FROM locked l
         WHERE d.ctid = l.at
        RETURNING d.tenant_id, d.delivery_id, d.lease_id, d.endpoint_id, d.event_id,
                  d.cycle_attempts, d.next_attempt_time, d.seq)
    SELECT l.tenant_id, l.delivery_id, l.lease_id, l.endpoint_id, e.url, e.secret,
           CASE WHEN e.previous_secret_expire_time > now() THEN e.previous_secret END,
           l.event_id, v.type,
           to_char(v.occur_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           v.data, l.cycle_attempts
      FROM leased l
      JOIN integrations.webhook_endpoints e
        ON e.tenant_id = l.tenant_id AND e.endpoint_id = l.endpoint_id
      JOIN integrations.events v ON v.tenant_id = l.tenant_id AND v.event_id = l.event_id
     ORDER BY l.next_attempt_time, l.seq;
END
$$;
REVOKE bulwark_webhook_dispatcher FROM CURRENT_USER;
