-- The claim of due ticket jobs (0002) as PL/pgSQL, so that its statement is
-- planned once per session. As a SQL function that is not inlined (it
-- writes), its body was parsed and planned again at every call: about
-- 1.8 ms a claim with no ticket job at all, and the dispatcher claims after
-- every round of the relay, about 40 times a second under a steady stream
-- of writes (docs/DESIGN.md, "The cost of announcing a write"). The
-- statement, the result and the owner are 0002's; a plan made once must not
-- depend on the statistics of the day, so the settings are those of the
-- deliveries' claim (0007): no sequential scans, hash or merge joins.
GRANT bulwark_webhook_dispatcher TO CURRENT_USER;
CREATE OR REPLACE FUNCTION integrations.claim_ticket_jobs(p_limit integer, p_lease_seconds integer)
RETURNS TABLE (tenant_id uuid, job_id uuid, lease_id uuid, connection_id uuid, system text,
               base_url text, project_key text, issue_type text, credentials bytea,
               state_open text, state_closed text, type text, data text, attempt_count integer,
               incident_id uuid, ticket_id text, ticket_key text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_seqscan = off
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT j.tenant_id, j.job_id FROM integrations.ticket_jobs j
         WHERE j.state = 'PENDING' AND j.next_attempt_time <= now()
           AND (j.lease_until IS NULL OR j.lease_until <= now())
           AND NOT EXISTS (SELECT 1 FROM integrations.ticket_jobs e
                            WHERE e.tenant_id = j.tenant_id AND e.connection_id = j.connection_id
                              AND e.incident_id = j.incident_id AND e.state = 'PENDING'
                              AND e.seq < j.seq)
         ORDER BY j.next_attempt_time LIMIT greatest(p_limit, 0)
           FOR UPDATE OF j SKIP LOCKED),
    leased AS (
        UPDATE integrations.ticket_jobs j
           SET lease_id = gen_random_uuid(),
               lease_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
          FROM due d
         WHERE j.tenant_id = d.tenant_id AND j.job_id = d.job_id
        RETURNING j.tenant_id, j.job_id, j.lease_id, j.connection_id, j.event_id,
                  j.attempt_count, j.incident_id, j.next_attempt_time)
    SELECT l.tenant_id, l.job_id, l.lease_id, l.connection_id, c.system, c.base_url,
           c.project_key, c.issue_type, c.credentials, c.state_open, c.state_closed, v.type,
           v.data, l.attempt_count, l.incident_id, k.ticket_id, k.ticket_key
      FROM leased l
      JOIN integrations.connections c
        ON c.tenant_id = l.tenant_id AND c.connection_id = l.connection_id
      JOIN integrations.events v ON v.tenant_id = l.tenant_id AND v.event_id = l.event_id
      LEFT JOIN integrations.ticket_links k
        ON k.tenant_id = l.tenant_id AND k.connection_id = l.connection_id
       AND k.incident_id = l.incident_id
     ORDER BY l.next_attempt_time;
END
$$;
REVOKE bulwark_webhook_dispatcher FROM CURRENT_USER;
