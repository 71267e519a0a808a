-- record_attempts (0014) records a batch of attempts with one UPDATE of all
-- their rows instead of one UPDATE per row in a PL/pgSQL loop. Each row is
-- still found by the address the claim returned, and only there: the
-- UPDATE joins the batch's arrays with the deliveries by a TID scan per
-- attempt (index scans, bitmap scans and every join but the nested loop
-- off for that statement), so that whatever the statistics when the
-- session plans it, it reads one tuple per attempt. (Planned generically
-- with index scans allowed, the same UPDATE read the tenant's deliveries
-- by the primary key and filtered them by address: the trap 0008 closed.)
-- In psql, 2,000 leased deliveries recorded at once (prepared, generic
-- plan, as the integrations role, rolled back, vacuumed between, three
-- sessions of five rounds): 102-142 ms with 0014's loop, 60-93 ms as one
-- UPDATE, about 20 us an attempt less.
--
-- The rest is as in 0014: a later attempt's row in integrations.attempts;
-- the count returned is of the finished deliveries (SUCCEEDED or FAILED)
-- whose resource has a later delivery pending to their endpoint, probed by
-- the whole key of deliveries_pending_by_resource; a row not found at its
-- address (it moved, or the lease is gone) goes to record_attempt, which
-- looks for it by key and records nothing when the lease is gone, and
-- counts as one that may have freed a delivery. The batch's arrays are
-- read by unnest, never by subscript, but for the rows not found.
CREATE OR REPLACE FUNCTION integrations.record_attempts(p_delivery uuid[], p_lease uuid[],
                                                        p_started_us double precision[],
                                                        p_status integer[], p_latency integer[],
                                                        p_error text[], p_outcome text[],
                                                        p_wait_ms double precision[], p_at tid[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_sort = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_indexscan = on
SET enable_bitmapscan = on
SET jit = off
AS $$
DECLARE
    v_n integer := coalesce(array_length(p_delivery, 1), 0);
    v_found boolean[];
    v_i integer[];
    v_delivery uuid[];
    v_tenant uuid[];
    v_endpoint uuid[];
    v_resource text[];
    v_seq bigint[];
    v_attempt integer[];
    v_state text[];
    v_time timestamptz[];
    v_status integer[];
    v_latency integer[];
    v_error text[];
    v_freed integer;
    v_i1 integer;
BEGIN
    IF v_n = 0 THEN
        RETURN 0;
    END IF;
    -- Only the TID scan left for the UPDATE; the settings are the
    -- function's own (its SET clauses), so they end with the call.
    PERFORM set_config('enable_indexscan', 'off', true);
    PERFORM set_config('enable_bitmapscan', 'off', true);
    WITH done AS (
        UPDATE integrations.deliveries d
           SET attempt_count = d.attempt_count + 1,
               cycle_attempts = d.cycle_attempts + 1,
               state = CASE WHEN x.outcome <> 'RETRY' THEN x.outcome
                            WHEN d.state = 'PAUSED' THEN 'PAUSED' ELSE 'PENDING' END,
               next_attempt_time = CASE WHEN x.outcome = 'RETRY'
                                        THEN now() + make_interval(secs => x.wait_ms / 1000)
                                   END,
               lease_id = NULL, lease_until = NULL, update_time = now(),
               first_attempt_time = CASE WHEN d.attempt_count = 0
                                         THEN to_timestamp(x.started_us / 1000000)
                                         ELSE d.first_attempt_time END,
               first_status_code = CASE WHEN d.attempt_count = 0 THEN x.status
                                        ELSE d.first_status_code END,
               first_latency_ms = CASE WHEN d.attempt_count = 0 THEN x.latency
                                       ELSE d.first_latency_ms END,
               first_error = CASE WHEN d.attempt_count = 0 THEN x.error
                                  ELSE d.first_error END
          FROM unnest(p_delivery, p_lease, p_started_us, p_status, p_latency, p_error,
                      p_outcome, p_wait_ms, p_at) WITH ORDINALITY
               AS x(delivery, lease, started_us, status, latency, error, outcome, wait_ms, at, i)
         WHERE d.ctid = x.at AND d.delivery_id = x.delivery AND d.lease_id = x.lease
        RETURNING x.i::integer AS i, d.delivery_id, d.tenant_id, d.endpoint_id, d.resource,
                  d.seq, d.attempt_count, d.state,
                  to_timestamp(x.started_us / 1000000) AS attempt_time, x.status, x.latency,
                  x.error)
    SELECT array_agg(i), array_agg(delivery_id), array_agg(tenant_id), array_agg(endpoint_id),
           array_agg(resource),
           array_agg(seq), array_agg(attempt_count), array_agg(state), array_agg(attempt_time),
           array_agg(status), array_agg(latency), array_agg(error)
      INTO v_i, v_delivery, v_tenant, v_endpoint, v_resource, v_seq, v_attempt, v_state,
           v_time, v_status, v_latency, v_error
      FROM done;
    PERFORM set_config('enable_indexscan', 'on', true);
    PERFORM set_config('enable_bitmapscan', 'on', true);

    INSERT INTO integrations.attempts (tenant_id, delivery_id, attempt_no, attempt_time,
                                       status_code, latency_ms, error)
    SELECT a.tenant_id, a.delivery_id, a.attempt_no, a.attempt_time, a.status, a.latency, a.error
      FROM unnest(v_tenant, v_delivery, v_attempt, v_time, v_status, v_latency, v_error)
           AS a(tenant_id, delivery_id, attempt_no, attempt_time, status, latency, error)
     WHERE a.attempt_no > 1;

    SELECT count(*)::integer INTO v_freed
      FROM unnest(v_tenant, v_endpoint, v_resource, v_seq, v_state) AS f(t, e, r, s, st)
     WHERE f.st IN ('SUCCEEDED', 'FAILED')
       AND (SELECT p.seq FROM integrations.deliveries p
             WHERE p.tenant_id = f.t AND p.endpoint_id = f.e AND p.resource = f.r
               AND p.state = 'PENDING' AND p.seq > f.s
             ORDER BY p.seq LIMIT 1) IS NOT NULL;

    -- The rows not found at their address, by key.
    v_found := array_fill(false, ARRAY[v_n]);
    FOREACH v_i1 IN ARRAY coalesce(v_i, '{}') LOOP
        v_found[v_i1] := true;
    END LOOP;
    FOR i IN 1 .. v_n LOOP
        IF NOT v_found[i] THEN
            PERFORM integrations.record_attempt(p_delivery[i], p_lease[i], p_started_us[i],
                                                p_status[i], p_latency[i], p_error[i],
                                                p_outcome[i], p_wait_ms[i], p_at[i]);
            v_freed := v_freed + 1;
        END IF;
    END LOOP;
    RETURN v_freed;
END
$$;
