-- record_attempts records each attempt of its batch with the UPDATE of
-- record_attempt written inline, instead of a call of record_attempt per
-- attempt. The deliverer now gathers the attempts that end within 10 ms and
-- records them together (deliverer.c), so this is its usual record; a call
-- of a function with settings of its own cost about 17 us more per
-- attempt than its statement (docs/DESIGN.md, "The cost of announcing a
-- write"). One UPDATE for the whole batch, joined with the arrays, was
-- tried and is not used: planned generically, with the tenant's policy
-- estimated at one row, it read the tenant's deliveries for each batch
-- (800 us an attempt) instead of each row by its address.
--
-- Each row is found by the address the claim returned, as record_attempt
-- finds it, with the same lease condition; a row not found there (it moved
-- since the claim: its endpoint paused, a replay; or the lease is no longer
-- held) goes to record_attempt, which looks for it by its key and records
-- nothing when the lease is gone. The attempts after a delivery's first
-- are rows of integrations.attempts, as in 0013.
--
-- It now returns how many of the deliveries it finished (SUCCEEDED or
-- FAILED) have a later delivery of their resource to their endpoint still
-- pending, found as resource_waiting finds one (0011: by the whole key of
-- deliveries_pending_by_resource, sorts off): the deliverer claims again
-- after a record only then (or when its last claim found something),
-- instead of after every record, which found nothing most of the time. A
-- record by key counts as one that may have freed a delivery.
-- The result changes, so the function is dropped and created again, and
-- its grants set again as 0008 set them.

DROP FUNCTION integrations.record_attempts(uuid[], uuid[], double precision[], integer[],
                                           integer[], text[], text[], double precision[], tid[]);

CREATE FUNCTION integrations.record_attempts(p_delivery uuid[], p_lease uuid[],
                                             p_started_us double precision[],
                                             p_status integer[], p_latency integer[],
                                             p_error text[], p_outcome text[],
                                             p_wait_ms double precision[], p_at tid[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_sort = off
SET jit = off
AS $$
DECLARE
    v_freed integer := 0;
    v_time timestamptz;
    v_tenant uuid;
    v_endpoint uuid;
    v_resource text;
    v_seq bigint;
    v_attempt integer;
    v_state text;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_delivery, 1), 0) LOOP
        v_time := to_timestamp(p_started_us[i] / 1000000);
        UPDATE integrations.deliveries d
           SET attempt_count = d.attempt_count + 1,
               cycle_attempts = d.cycle_attempts + 1,
               state = CASE WHEN p_outcome[i] <> 'RETRY' THEN p_outcome[i]
                            WHEN d.state = 'PAUSED' THEN 'PAUSED' ELSE 'PENDING' END,
               next_attempt_time = CASE WHEN p_outcome[i] = 'RETRY'
                                        THEN now() + make_interval(secs => p_wait_ms[i] / 1000)
                                   END,
               lease_id = NULL, lease_until = NULL, update_time = now(),
               first_attempt_time = CASE WHEN d.attempt_count = 0 THEN v_time
                                         ELSE d.first_attempt_time END,
               first_status_code = CASE WHEN d.attempt_count = 0 THEN p_status[i]
                                        ELSE d.first_status_code END,
               first_latency_ms = CASE WHEN d.attempt_count = 0 THEN p_latency[i]
                                       ELSE d.first_latency_ms END,
               first_error = CASE WHEN d.attempt_count = 0 THEN p_error[i]
                                  ELSE d.first_error END
         WHERE d.ctid = p_at[i] AND d.delivery_id = p_delivery[i] AND d.lease_id = p_lease[i]
        RETURNING d.tenant_id, d.endpoint_id, d.resource, d.seq, d.attempt_count, d.state
             INTO v_tenant, v_endpoint, v_resource, v_seq, v_attempt, v_state;
        IF NOT FOUND THEN
            PERFORM integrations.record_attempt(p_delivery[i], p_lease[i], p_started_us[i],
                                                p_status[i], p_latency[i], p_error[i],
                                                p_outcome[i], p_wait_ms[i], p_at[i]);
            v_freed := v_freed + 1;
            CONTINUE;
        END IF;
        IF v_attempt > 1 THEN
            INSERT INTO integrations.attempts (tenant_id, delivery_id, attempt_no, attempt_time,
                                               status_code, latency_ms, error)
            VALUES (v_tenant, p_delivery[i], v_attempt, v_time, p_status[i], p_latency[i],
                    p_error[i]);
        END IF;
        IF v_state IN ('SUCCEEDED', 'FAILED')
           AND (SELECT p.seq FROM integrations.deliveries p
                 WHERE p.tenant_id = v_tenant AND p.endpoint_id = v_endpoint
                   AND p.resource = v_resource AND p.state = 'PENDING' AND p.seq > v_seq
                 ORDER BY p.seq LIMIT 1) IS NOT NULL THEN
            v_freed := v_freed + 1;
        END IF;
    END LOOP;
    RETURN v_freed;
END
$$;

-- Grants to the services' role.
REVOKE ALL ON FUNCTION integrations.record_attempts(uuid[], uuid[], double precision[],
                                                    integer[], integer[], text[], text[],
                                                    double precision[], tid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.record_attempts(uuid[], uuid[], double precision[],
                                                       integer[], integer[], text[], text[],
                                                       double precision[], tid[])
    TO bulwark_integrations;
