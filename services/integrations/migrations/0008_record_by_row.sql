-- The record of an attempt by the row's address, as the claim leases
-- (0007). The record (the attempt's row and the delivery's new state) was a
-- statement prepared by the integrations process, planned once per session,
-- generically: made while deliveries was empty or had the statistics of an
-- empty table, as on a new deployment or after the retention emptied it,
-- its plan read deliveries whole, twice (once for the attempt, once for the
-- update), and kept doing so as the table filled, until the next analyze.
-- (With enable_seqscan off alone, the index it took instead,
-- deliveries_by_event, was searched by tenant only: no better.)
--
-- Now the claim returns each leased row's address (ctid: the lease is an
-- update, and RETURNING gives the new version's), and the record finds the
-- row by it: record_attempt, run as the caller (its policies apply), with
-- enable_seqscan = off so that the TID scan is the plan whatever the
-- statistics say (with the statistics of an empty table a sequential scan
-- costs nothing and wins). A row that moved meanwhile (its endpoint paused,
-- a replay) is found by its key instead, as before. record_attempts does
-- the same for many attempts of the transaction's tenant.
-- docs/DESIGN.md, "The cost of announcing a write", has the figures.

-- The claim of 0007, which also returns the leased row's address. Its
-- result changes, so it is dropped and created again, and its owner and
-- grants set again as 0001 set them.
DROP FUNCTION integrations.claim_deliveries(integer, integer, integer, uuid[], integer[]);

GRANT bulwark_webhook_dispatcher TO CURRENT_USER;
CREATE FUNCTION integrations.claim_deliveries(p_limit integer, p_per_endpoint integer,
                                                         p_lease_seconds integer,
                                                         p_busy_endpoints uuid[],
                                                         p_busy_counts integer[])
RETURNS TABLE (tenant_id uuid, delivery_id uuid, lease_id uuid, endpoint_id uuid, url text,
               secret bytea, previous_secret bytea, event_id uuid, type text,
               occur_time text, data text, cycle_attempts integer, at tid)
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
                  d.cycle_attempts, d.next_attempt_time, d.seq, d.ctid AS at)
    SELECT l.tenant_id, l.delivery_id, l.lease_id, l.endpoint_id, e.url, e.secret,
           CASE WHEN e.previous_secret_expire_time > now() THEN e.previous_secret END,
           l.event_id, v.type,
           to_char(v.occur_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           v.data, l.cycle_attempts, l.at
      FROM leased l
      JOIN integrations.webhook_endpoints e
        ON e.tenant_id = l.tenant_id AND e.endpoint_id = l.endpoint_id
      JOIN integrations.events v ON v.tenant_id = l.tenant_id AND v.event_id = l.event_id
     ORDER BY l.next_attempt_time, l.seq;
END
$$;
REVOKE bulwark_webhook_dispatcher FROM CURRENT_USER;
REVOKE ALL ON FUNCTION integrations.claim_deliveries(integer, integer, integer, uuid[], integer[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.claim_deliveries(integer, integer, integer, uuid[], integer[])
    TO bulwark_integrations;
GRANT CREATE ON SCHEMA integrations TO bulwark_webhook_dispatcher;
GRANT bulwark_webhook_dispatcher TO CURRENT_USER;
ALTER FUNCTION integrations.claim_deliveries(integer, integer, integer, uuid[], integer[])
    OWNER TO bulwark_webhook_dispatcher;
REVOKE bulwark_webhook_dispatcher FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_webhook_dispatcher;

-- Records an attempt of a delivery the caller leased (p_lease) and what
-- follows from it: p_outcome is SUCCEEDED, FAILED or RETRY (then p_wait_ms
-- until the next attempt). Returns the delivery's new state, or NULL when
-- the lease is no longer the caller's (nothing is written then).
CREATE FUNCTION integrations.record_attempt(p_delivery uuid, p_lease uuid,
                                            p_started_us double precision, p_status integer,
                                            p_latency integer, p_error text, p_outcome text,
                                            p_wait_ms double precision, p_at tid)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $$
DECLARE
    v_tenant uuid;
    v_attempt integer;
    v_state text;
BEGIN
    UPDATE integrations.deliveries d
       SET attempt_count = d.attempt_count + 1,
           cycle_attempts = d.cycle_attempts + 1,
           state = CASE WHEN p_outcome <> 'RETRY' THEN p_outcome
                        WHEN d.state = 'PAUSED' THEN 'PAUSED' ELSE 'PENDING' END,
           next_attempt_time = CASE WHEN p_outcome = 'RETRY'
                                    THEN now() + make_interval(secs => p_wait_ms / 1000) END,
           lease_id = NULL, lease_until = NULL, update_time = now()
     WHERE d.ctid = p_at AND d.delivery_id = p_delivery AND d.lease_id = p_lease
    RETURNING d.tenant_id, d.attempt_count, d.state INTO v_tenant, v_attempt, v_state;
    IF NOT FOUND THEN
        UPDATE integrations.deliveries d
           SET attempt_count = d.attempt_count + 1,
               cycle_attempts = d.cycle_attempts + 1,
               state = CASE WHEN p_outcome <> 'RETRY' THEN p_outcome
                            WHEN d.state = 'PAUSED' THEN 'PAUSED' ELSE 'PENDING' END,
               next_attempt_time = CASE WHEN p_outcome = 'RETRY'
                                        THEN now() + make_interval(secs => p_wait_ms / 1000) END,
               lease_id = NULL, lease_until = NULL, update_time = now()
         WHERE d.delivery_id = p_delivery AND d.lease_id = p_lease
        RETURNING d.tenant_id, d.attempt_count, d.state INTO v_tenant, v_attempt, v_state;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO integrations.attempts (tenant_id, delivery_id, attempt_no, attempt_time,
                                       status_code, latency_ms, error)
    VALUES (v_tenant, p_delivery, v_attempt, to_timestamp(p_started_us / 1000000), p_status,
            p_latency, p_error);
    RETURN v_state;
END
$$;

-- record_attempt for each index of the arrays.
CREATE FUNCTION integrations.record_attempts(p_delivery uuid[], p_lease uuid[],
                                             p_started_us double precision[], p_status integer[],
                                             p_latency integer[], p_error text[],
                                             p_outcome text[], p_wait_ms double precision[],
                                             p_at tid[])
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_delivery, 1), 0) LOOP
        PERFORM integrations.record_attempt(p_delivery[i], p_lease[i], p_started_us[i],
                                            p_status[i], p_latency[i], p_error[i],
                                            p_outcome[i], p_wait_ms[i], p_at[i]);
    END LOOP;
END
$$;

-- Grants to the services' role.
REVOKE ALL ON FUNCTION integrations.record_attempt(uuid, uuid, double precision, integer, integer,
                                                   text, text, double precision, tid) FROM PUBLIC;
REVOKE ALL ON FUNCTION integrations.record_attempts(uuid[], uuid[], double precision[],
                                                    integer[], integer[], text[], text[],
                                                    double precision[], tid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.record_attempt(uuid, uuid, double precision, integer,
                                                      integer, text, text, double precision, tid)
    TO bulwark_integrations;
GRANT EXECUTE ON FUNCTION integrations.record_attempts(uuid[], uuid[], double precision[],
                                                       integer[], integer[], text[], text[],
                                                       double precision[], tid[])
    TO bulwark_integrations;
