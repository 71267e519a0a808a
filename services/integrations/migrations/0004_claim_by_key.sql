-- The claim of due deliveries, reached by key whatever the statistics say.
--
-- claim_deliveries (0001) runs with a generic plan, made at its first call
-- in a session, often while the deliveries table is nearly empty: every
-- estimate is then one row. Two of its steps came out as scans of every
-- pending delivery: the check for an earlier pending delivery of the same
-- resource (an anti-join filtering the endpoint's whole backlog, once per
-- candidate) and the lock and lease of the chosen rows (a scan of the
-- pending deliveries joined to the chosen ones; the dispatcher's policies
-- make the row filter "tenant OR pending", which no index answers), so a
-- claim cost time in proportion to the backlog: about 5 ms with 600
-- deliveries pending, once per batch of attempts (docs/DESIGN.md, "The
-- cost of announcing a write").
--
-- Now every scan is a cursor, planned for its first rows (a fresh cluster's
-- generic plan otherwise sorted every pending delivery to find the first
-- endpoint): it walks the endpoints with pending deliveries (the same loose
-- scan, one probe each) and reads each one's due deliveries only as far as the endpoint's free slots; the earlier-delivery
-- check is a correlated subquery (OFFSET 0 keeps the planner from turning it
-- into a join), a probe of deliveries_pending_by_resource; the chosen rows
-- are locked and leased one at a time by primary key. What is chosen, and in
-- which order, is unchanged. tests/integration/test_claim.c counts the rows a
-- claim reads over a backlog.
--
-- CREATE OR REPLACE keeps the owner (bulwark_webhook_dispatcher) and the
-- grants; replacing needs membership in the owner, only for as long as it
-- takes.
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
SET cursor_tuple_fraction = 0.001
AS $$
#variable_conflict use_column
DECLARE
    -- An endpoint's due deliveries, soonest first, read only as far as its
    -- free slots: a cursor, planned for its first rows (so never a sort of
    -- the whole backlog), and the earlier-delivery check a correlated
    -- subquery (OFFSET 0 keeps it from becoming a join).
    due CURSOR (k_tenant uuid, k_endpoint uuid) FOR
        SELECT d.delivery_id, d.next_attempt_time, d.seq
          FROM integrations.deliveries d
         WHERE d.tenant_id = k_tenant AND d.endpoint_id = k_endpoint
           AND d.state = 'PENDING' AND d.next_attempt_time <= now()
           AND (d.lease_until IS NULL OR d.lease_until <= now())
           AND NOT EXISTS (
               SELECT 1 FROM integrations.deliveries p
                WHERE p.tenant_id = d.tenant_id AND p.endpoint_id = d.endpoint_id
                  AND p.resource = d.resource AND p.state = 'PENDING' AND p.seq < d.seq
               OFFSET 0)
         ORDER BY d.next_attempt_time, d.seq;
    -- The next endpoint, in key order, that has a pending delivery.
    next_endpoint CURSOR (k_tenant uuid, k_endpoint uuid) FOR
        SELECT d.tenant_id, d.endpoint_id FROM integrations.deliveries d
         WHERE d.state = 'PENDING' AND (d.tenant_id, d.endpoint_id) > (k_tenant, k_endpoint)
         ORDER BY d.tenant_id, d.endpoint_id;
    ep_tenant uuid := '00000000-0000-0000-0000-000000000000';
    ep_endpoint uuid := '00000000-0000-0000-0000-000000000000';
    found_one boolean;
    slots integer;
    r record;
    taken integer;
    all_tenants uuid[] := '{}';
    all_ids uuid[] := '{}';
    all_times timestamptz[] := '{}';
    all_seqs bigint[] := '{}';
    chosen_tenants uuid[];
    chosen_ids uuid[];
    c_tenant uuid;
    c_delivery uuid;
    l_lease uuid;
    l_endpoint uuid;
    l_event uuid;
    l_cycle integer;
    l_state text;
    l_until timestamptz;
BEGIN
    -- The endpoints with pending deliveries, one probe each (a loose scan).
    LOOP
        OPEN next_endpoint(ep_tenant, ep_endpoint);
        FETCH next_endpoint INTO ep_tenant, ep_endpoint;
        found_one := FOUND;
        CLOSE next_endpoint;
        EXIT WHEN NOT found_one;
        CONTINUE WHEN NOT EXISTS (
            SELECT 1 FROM integrations.webhook_endpoints e
             WHERE e.tenant_id = ep_tenant AND e.endpoint_id = ep_endpoint AND NOT e.disabled);
        slots := greatest(p_per_endpoint - coalesce(
            (SELECT sum(b.n) FROM unnest(p_busy_endpoints, p_busy_counts) AS b(endpoint_id, n)
              WHERE b.endpoint_id = ep_endpoint), 0), 0);
        CONTINUE WHEN slots = 0;
        taken := 0;
        OPEN due(ep_tenant, ep_endpoint);
        LOOP
            FETCH due INTO r;
            EXIT WHEN NOT FOUND;
            all_tenants := all_tenants || ep_tenant;
            all_ids := all_ids || r.delivery_id;
            all_times := all_times || r.next_attempt_time;
            all_seqs := all_seqs || r.seq;
            taken := taken + 1;
            EXIT WHEN taken >= slots;
        END LOOP;
        CLOSE due;
    END LOOP;

    -- The soonest of them, across endpoints.
    SELECT array_agg(x.t ORDER BY x.tm, x.sq), array_agg(x.i ORDER BY x.tm, x.sq)
      INTO chosen_tenants, chosen_ids
      FROM (SELECT * FROM unnest(all_tenants, all_ids, all_times, all_seqs) AS u(t, i, tm, sq)
             ORDER BY u.tm, u.sq LIMIT least(greatest(p_limit, 1), 1000)) x;

    FOR i IN 1 .. coalesce(cardinality(chosen_ids), 0) LOOP
        c_tenant := chosen_tenants[i];
        c_delivery := chosen_ids[i];
        -- Another deliverer may be claiming it: skip it rather than wait.
        -- The state is checked once the row is locked, not in the WHERE
        -- clause, where it would steer the generic plan to a partial
        -- index that the primary key beats.
        SELECT d.state, d.lease_until INTO l_state, l_until
          FROM integrations.deliveries d
         WHERE d.tenant_id = c_tenant AND d.delivery_id = c_delivery
           FOR UPDATE OF d SKIP LOCKED;
        CONTINUE WHEN NOT FOUND OR l_state <> 'PENDING' OR l_until > now();
        UPDATE integrations.deliveries d
           SET lease_id = gen_random_uuid(),
               lease_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
         WHERE d.tenant_id = c_tenant AND d.delivery_id = c_delivery
        RETURNING d.lease_id, d.endpoint_id, d.event_id, d.cycle_attempts
             INTO l_lease, l_endpoint, l_event, l_cycle;
        RETURN QUERY
        SELECT c_tenant, c_delivery, l_lease, l_endpoint, e.url, e.secret,
               CASE WHEN e.previous_secret_expire_time > now() THEN e.previous_secret END,
               l_event, v.type,
               to_char(v.occur_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               v.data, l_cycle
          FROM integrations.webhook_endpoints e, integrations.events v
         WHERE e.tenant_id = c_tenant AND e.endpoint_id = l_endpoint
           AND v.tenant_id = c_tenant AND v.event_id = l_event;
    END LOOP;
END
$$;

REVOKE bulwark_webhook_dispatcher FROM CURRENT_USER;
