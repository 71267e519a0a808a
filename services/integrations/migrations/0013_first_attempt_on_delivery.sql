-- A delivery's first attempt is kept on the delivery's own row, not in a
-- row of integrations.attempts. Most deliveries are attempted once: the
-- record of that attempt was an UPDATE of the delivery and an INSERT of
-- the attempt with its foreign key check (about 60 and 15 us of the 220 us
-- a record cost, docs/DESIGN.md, "The cost of announcing a write"); now it
-- is the UPDATE alone. Attempts after the first are rows of
-- integrations.attempts as before, and so is every attempt recorded before
-- this migration: a delivery attempted before it keeps its first attempt
-- there (first_attempt_time NULL), one attempted first after it has it
-- here. The delivery log reads both (deliveries.c).
--
-- The columns are nullable and have no default, so adding them rewrites
-- nothing.
ALTER TABLE integrations.deliveries
    ADD COLUMN first_attempt_time timestamptz,
    ADD COLUMN first_status_code  integer,
    ADD COLUMN first_latency_ms   integer,
    ADD COLUMN first_error        text CHECK (length(first_error) <= 1000);

-- 0008's record_attempt, but for where the first attempt goes. Its
-- signature, owner and grants stay. 0008 wrote the UPDATE twice, by the
-- row's address and by its key; here it is written once, by address: a
-- row that moved since the claim (its endpoint paused, a replay) is found
-- by its key and locked, so that its address holds until the UPDATE.
CREATE OR REPLACE FUNCTION integrations.record_attempt(p_delivery uuid, p_lease uuid,
                                                       p_started_us double precision,
                                                       p_status integer, p_latency integer,
                                                       p_error text, p_outcome text,
                                                       p_wait_ms double precision, p_at tid)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $$
DECLARE
    v_time timestamptz := to_timestamp(p_started_us / 1000000);
    v_at tid := p_at;
    v_by_key boolean := false;
    v_tenant uuid;
    v_attempt integer;
    v_state text;
BEGIN
    LOOP
        UPDATE integrations.deliveries d
           SET attempt_count = d.attempt_count + 1,
               cycle_attempts = d.cycle_attempts + 1,
               state = CASE WHEN p_outcome <> 'RETRY' THEN p_outcome
                            WHEN d.state = 'PAUSED' THEN 'PAUSED' ELSE 'PENDING' END,
               next_attempt_time = CASE WHEN p_outcome = 'RETRY'
                                        THEN now() + make_interval(secs => p_wait_ms / 1000) END,
               lease_id = NULL, lease_until = NULL, update_time = now(),
               first_attempt_time = CASE WHEN d.attempt_count = 0 THEN v_time
                                         ELSE d.first_attempt_time END,
               first_status_code = CASE WHEN d.attempt_count = 0 THEN p_status
                                        ELSE d.first_status_code END,
               first_latency_ms = CASE WHEN d.attempt_count = 0 THEN p_latency
                                       ELSE d.first_latency_ms END,
               first_error = CASE WHEN d.attempt_count = 0 THEN p_error ELSE d.first_error END
         WHERE d.ctid = v_at AND d.delivery_id = p_delivery AND d.lease_id = p_lease
        RETURNING d.tenant_id, d.attempt_count, d.state INTO v_tenant, v_attempt, v_state;
        EXIT WHEN FOUND;
        IF v_by_key THEN
            RETURN NULL; -- not reached: the row found by its key is locked
        END IF;
        v_by_key := true;
        SELECT d.ctid INTO v_at FROM integrations.deliveries d
         WHERE d.delivery_id = p_delivery AND d.lease_id = p_lease
           FOR UPDATE;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END LOOP;
    IF v_attempt > 1 THEN
        INSERT INTO integrations.attempts (tenant_id, delivery_id, attempt_no, attempt_time,
                                           status_code, latency_ms, error)
        VALUES (v_tenant, p_delivery, v_attempt, v_time, p_status, p_latency, p_error);
    END IF;
    RETURN v_state;
END
$$;
