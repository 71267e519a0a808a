-- record_attempts (0014) records a batch of attempts with one UPDATE of all
-- their rows instead of one UPDATE per row in a PL/pgSQL loop, and it is
-- now the one function that records attempts: record_attempt (0013), which
-- carried its own copy of the UPDATE, is dropped, and the deliverer records
-- a single attempt as a batch of one.
--
-- Each row is found by the address the claim returned, and only there:
-- the UPDATE joins the batch's arrays with the deliveries by a TID scan per
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
-- A row not found at its address (it moved since the claim: its endpoint
-- paused, a replay) is taken by a second pass of the same statements, at
-- the address its key gives now, locked as it is read so that the address
-- holds until the UPDATE. A row whose lease is no longer held is not found
-- by its key either, and nothing is recorded for it.
--
-- The rest is as in 0014: a later attempt's row in integrations.attempts;
-- the count returned is of the finished deliveries (SUCCEEDED or FAILED)
-- whose resource has a later delivery pending to their endpoint, probed by
-- the whole key of deliveries_pending_by_resource, now for the rows found
-- by key too (0014 counted each of them as one that may have freed a
-- delivery, since record_attempt did not say what it had recorded).
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
    -- The attempts of this pass, and their rows' addresses.
    v_delivery uuid[] := p_delivery;
    v_lease uuid[] := p_lease;
    v_started_us double precision[] := p_started_us;
    v_status integer[] := p_status;
    v_latency integer[] := p_latency;
    v_error text[] := p_error;
    v_outcome text[] := p_outcome;
    v_wait_ms double precision[] := p_wait_ms;
    v_at tid[] := p_at;
    -- What the UPDATE recorded: each attempt's place in this pass, its
    -- delivery and what follows from it. The arrays are read by unnest,
    -- never by a subscript (one of text walks from the array's start).
    v_i integer[];
    v_done uuid[];
    v_tenant uuid[];
    v_endpoint uuid[];
    v_resource text[];
    v_seq bigint[];
    v_attempt integer[];
    v_state text[];
    v_time timestamptz[];
    v_done_status integer[];
    v_done_latency integer[];
    v_done_error text[];
    v_found boolean[];
    v_i1 integer;
    v_freed integer := 0;
BEGIN
    FOR v_pass IN 1 .. 2 LOOP
        EXIT WHEN coalesce(cardinality(v_delivery), 0) = 0;
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
              FROM unnest(v_delivery, v_lease, v_started_us, v_status, v_latency, v_error,
                          v_outcome, v_wait_ms, v_at) WITH ORDINALITY
                   AS x(delivery, lease, started_us, status, latency, error, outcome, wait_ms,
                        at, i)
             WHERE d.ctid = x.at AND d.delivery_id = x.delivery AND d.lease_id = x.lease
            RETURNING x.i::integer AS i, d.delivery_id, d.tenant_id, d.endpoint_id,
                      d.resource, d.seq, d.attempt_count, d.state,
                      to_timestamp(x.started_us / 1000000) AS attempt_time, x.status,
                      x.latency, x.error)
        SELECT array_agg(i), array_agg(delivery_id), array_agg(tenant_id),
               array_agg(endpoint_id), array_agg(resource), array_agg(seq),
               array_agg(attempt_count), array_agg(state), array_agg(attempt_time),
               array_agg(status), array_agg(latency), array_agg(error)
          INTO v_i, v_done, v_tenant, v_endpoint, v_resource, v_seq, v_attempt, v_state,
               v_time, v_done_status, v_done_latency, v_done_error
          FROM done;
        PERFORM set_config('enable_indexscan', 'on', true);
        PERFORM set_config('enable_bitmapscan', 'on', true);

        -- Attempts after the first are rows of their own (0013).
        INSERT INTO integrations.attempts (tenant_id, delivery_id, attempt_no, attempt_time,
                                           status_code, latency_ms, error)
        SELECT a.tenant_id, a.delivery_id, a.attempt_no, a.attempt_time, a.status,
               a.latency, a.error
          FROM unnest(v_tenant, v_done, v_attempt, v_time, v_done_status, v_done_latency,
                      v_done_error)
               AS a(tenant_id, delivery_id, attempt_no, attempt_time, status, latency, error)
         WHERE a.attempt_no > 1;

        v_freed := v_freed + (
            SELECT count(*)::integer
              FROM unnest(v_tenant, v_endpoint, v_resource, v_seq, v_state)
                   AS f(t, e, r, s, st)
             WHERE f.st IN ('SUCCEEDED', 'FAILED')
               AND (SELECT p.seq FROM integrations.deliveries p
                     WHERE p.tenant_id = f.t AND p.endpoint_id = f.e AND p.resource = f.r
                       AND p.state = 'PENDING' AND p.seq > f.s
                     ORDER BY p.seq LIMIT 1) IS NOT NULL);

        EXIT WHEN v_pass = 2 OR coalesce(cardinality(v_i), 0) = cardinality(v_delivery);
        -- The rows not found at their address: where their keys find them
        -- now, locked, for the second pass. Each is looked up by its own
        -- key, through the primary key and nothing else: written as an
        -- equality, a generic plan made while the table's statistics showed
        -- it empty read the tenant's deliveries by another index of theirs
        -- (any that starts with tenant_id ties then) and filtered them by
        -- key, once per row (and so did 0013's record_attempt). As a range
        -- of one key in the key's order, with sorts off, only the primary
        -- key (tenant_id, delivery_id) gives that order.
        v_found := array_fill(false, ARRAY[cardinality(v_delivery)]);
        FOREACH v_i1 IN ARRAY coalesce(v_i, '{}') LOOP
            v_found[v_i1] := true;
        END LOOP;
        WITH moved AS (
            SELECT x.*, d.at
              FROM unnest(v_delivery, v_lease, v_started_us, v_status, v_latency, v_error,
                          v_outcome, v_wait_ms) WITH ORDINALITY
                   AS x(delivery, lease, started_us, status, latency, error, outcome, wait_ms,
                        i)
             CROSS JOIN LATERAL (
                   SELECT d.ctid AS at FROM integrations.deliveries d
                    WHERE d.delivery_id >= x.delivery AND d.delivery_id <= x.delivery
                      AND d.lease_id = x.lease
                    ORDER BY d.delivery_id LIMIT 1
                      FOR UPDATE) d
             WHERE NOT v_found[x.i])
        SELECT array_agg(delivery), array_agg(lease), array_agg(started_us), array_agg(status),
               array_agg(latency), array_agg(error), array_agg(outcome), array_agg(wait_ms),
               array_agg(at)
          INTO v_delivery, v_lease, v_started_us, v_status, v_latency, v_error, v_outcome,
               v_wait_ms, v_at
          FROM moved;
    END LOOP;
    RETURN v_freed;
END
$$;

DROP FUNCTION integrations.record_attempt(uuid, uuid, double precision, integer, integer, text,
                                          text, double precision, tid);
