-- The ticket jobs' claim (0009) shaped for any plan, as the deliveries'
-- claim is (0007): what it reads grows with what it leases, not with the
-- backlog.
--
-- 0009's claim asked "is an earlier job of this incident for this
-- connection still pending?" with NOT EXISTS over ticket_jobs. Planned
-- once, generically, with one-row estimates and the dispatcher's policies
-- OR'ed in (tenant_isolation OR dispatcher_read: "tenant_id = <the
-- transaction's tenant> OR state = 'PENDING'"), the probe became a bitmap
-- scan of every pending job, filtered, for each candidate: a backlog of
-- 2,000 jobs read 2,000 rows per candidate (a Jira back after an outage, a
-- burst of incidents). Now the probe takes the incident's first pending
-- job by the whole key of ticket_jobs_pending_by_incident (ORDER BY seq
-- LIMIT 1, which only that index gives without a sort), the chosen rows
-- are locked and leased by their address (a TID scan per row), and
-- bitmap scans and sorts are off, so no plan can scan the backlog. The
-- row's address needs SELECT on the whole table for the dispatcher's role
-- (last_error and the two times more; the same policy: pending jobs only).
GRANT SELECT ON integrations.ticket_jobs TO bulwark_webhook_dispatcher;

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
SET enable_bitmapscan = off
SET enable_sort = off
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT j.ctid AS at FROM integrations.ticket_jobs j
         WHERE j.state = 'PENDING' AND j.next_attempt_time <= now()
           AND (j.lease_until IS NULL OR j.lease_until <= now())
           AND j.seq = (
               SELECT p.seq FROM integrations.ticket_jobs p
                WHERE p.tenant_id = j.tenant_id AND p.connection_id = j.connection_id
                  AND p.incident_id = j.incident_id AND p.state = 'PENDING'
                ORDER BY p.seq LIMIT 1)
         ORDER BY j.next_attempt_time LIMIT greatest(p_limit, 0)
           FOR UPDATE OF j SKIP LOCKED),
    leased AS (
        UPDATE integrations.ticket_jobs j
           SET lease_id = gen_random_uuid(),
               lease_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
          FROM due d
         WHERE j.ctid = d.at
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
