-- Webhook endpoints and the delivery of the outbox's events to them.
--
-- The relay (relay.c) claims events from bulwark.outbox and, for each event
-- with at least one subscribed endpoint, copies it into integrations.events
-- and makes one delivery per endpoint. The deliverer (deliverer.c) claims
-- due deliveries, POSTs them, and records every attempt. Nothing is ever
-- dropped: a delivery ends SUCCEEDED or FAILED (its schedule exhausted) and
-- stays, replayable, until its endpoint is deleted.
CREATE SCHEMA integrations;

CREATE TABLE integrations.webhook_endpoints (
    tenant_id                   uuid NOT NULL,
    endpoint_id                 uuid NOT NULL,
    url                         text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    event_types                 text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 64),
    description                 text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    disabled                    boolean NOT NULL DEFAULT false,
    disabled_reason             text NOT NULL DEFAULT '' CHECK (length(disabled_reason) <= 1000),
    -- The signing key, sealed with AES-256-GCM under BULWARK_SECRETS_KEY
    -- (common/seal.c) for the context
    -- 'integrations.webhook_endpoints/<tenant_id>/<endpoint_id>'.
    secret                      bytea NOT NULL,
    -- The key before the last rotation, valid until the expiry.
    previous_secret             bytea,
    previous_secret_expire_time timestamptz,
    create_time                 timestamptz NOT NULL DEFAULT now(),
    update_time                 timestamptz NOT NULL DEFAULT now(),
    revision                    bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, endpoint_id)
);

-- The events fanned out to at least one endpoint, as the outbox held them.
CREATE TABLE integrations.events (
    tenant_id  uuid NOT NULL,
    event_id   uuid NOT NULL,
    seq        bigint NOT NULL,
    type       text NOT NULL,
    resource   text NOT NULL,
    origin     text NOT NULL,
    occur_time timestamptz NOT NULL,
    data       text NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);

CREATE TABLE integrations.deliveries (
    tenant_id         uuid NOT NULL,
    delivery_id       uuid NOT NULL,
    endpoint_id       uuid NOT NULL,
    event_id          uuid NOT NULL,
    -- The event's outbox seq and resource: the order of a resource's
    -- deliveries to one endpoint.
    seq               bigint NOT NULL,
    resource          text NOT NULL,
    -- PENDING: waiting for its next attempt; SUCCEEDED, FAILED: done;
    -- PAUSED: its endpoint is disabled.
    state             text NOT NULL CHECK (state IN ('PENDING', 'SUCCEEDED', 'FAILED', 'PAUSED')),
    attempt_count     integer NOT NULL DEFAULT 0,
    -- Attempts since the schedule last started (a replay starts it again).
    cycle_attempts    integer NOT NULL DEFAULT 0,
    next_attempt_time timestamptz,
    -- Set while an attempt is in flight; another deliverer leaves the
    -- delivery alone until lease_until.
    lease_id          uuid,
    lease_until       timestamptz,
    create_time       timestamptz NOT NULL DEFAULT now(),
    update_time       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, delivery_id),
    FOREIGN KEY (tenant_id, endpoint_id)
        REFERENCES integrations.webhook_endpoints (tenant_id, endpoint_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, event_id) REFERENCES integrations.events (tenant_id, event_id),
    CHECK ((state = 'PENDING') = (next_attempt_time IS NOT NULL) OR state = 'PAUSED')
);
-- The delivery log: GET /v1/webhook-endpoints/{id}/deliveries, newest first.
CREATE INDEX deliveries_by_endpoint ON integrations.deliveries (tenant_id, endpoint_id, delivery_id);
-- What the deliverer scans: only deliveries waiting for an attempt, per
-- endpoint, soonest first; its leading columns also list the endpoints
-- that have any.
CREATE INDEX deliveries_due ON integrations.deliveries (tenant_id, endpoint_id, next_attempt_time, seq)
    WHERE state = 'PENDING';
-- "Is an earlier delivery of this resource to this endpoint still waiting?"
-- No index mentions the lease columns, so that taking and giving back a
-- lease is a HOT update, which touches no index.
CREATE INDEX deliveries_pending_by_resource
    ON integrations.deliveries (tenant_id, endpoint_id, resource, seq) WHERE state = 'PENDING';

CREATE TABLE integrations.attempts (
    tenant_id    uuid NOT NULL,
    delivery_id  uuid NOT NULL,
    attempt_no   integer NOT NULL CHECK (attempt_no >= 1),
    attempt_time timestamptz NOT NULL,
    status_code  integer NOT NULL DEFAULT 0,
    latency_ms   integer NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
    PRIMARY KEY (tenant_id, delivery_id, attempt_no),
    FOREIGN KEY (tenant_id, delivery_id)
        REFERENCES integrations.deliveries (tenant_id, delivery_id) ON DELETE CASCADE
);

ALTER TABLE integrations.webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.webhook_endpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.webhook_endpoints
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
ALTER TABLE integrations.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.events
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
ALTER TABLE integrations.deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.deliveries
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
ALTER TABLE integrations.attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.attempts
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

-- The deliverer works across tenants: it claims due deliveries of every
-- tenant through the function below, which runs as
-- bulwark_webhook_dispatcher, a role that cannot log in, has no members and
-- bypasses nothing. Its policies let it see pending deliveries, the
-- endpoints and events they need, and set their lease; everything else
-- (recording an attempt, disabling an endpoint) the service does per
-- tenant, under the tenant's row-level security.
--
-- Roles are cluster-wide: an existing role is checked and fixed as in
-- common/migrations/0003_service_roles.sql.
DO $$
DECLARE
    bad record;
BEGIN
    SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
      INTO bad FROM pg_roles WHERE rolname = 'bulwark_webhook_dispatcher';
    IF NOT FOUND THEN
        CREATE ROLE bulwark_webhook_dispatcher NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION
            NOCREATEDB NOCREATEROLE;
        RETURN;
    END IF;
    IF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'role bulwark_webhook_dispatcher is a superuser, a replication role or bypasses row-level security'
                USING HINT = 'As a superuser: ALTER ROLE bulwark_webhook_dispatcher NOSUPERUSER NOBYPASSRLS NOREPLICATION';
        END IF;
        ALTER ROLE bulwark_webhook_dispatcher NOSUPERUSER NOBYPASSRLS NOREPLICATION;
    END IF;
    IF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
        ALTER ROLE bulwark_webhook_dispatcher NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA integrations TO bulwark_webhook_dispatcher;
GRANT SELECT (tenant_id, delivery_id, endpoint_id, event_id, seq, resource, state,
              cycle_attempts, next_attempt_time, lease_id, lease_until),
      UPDATE (lease_id, lease_until)
    ON integrations.deliveries TO bulwark_webhook_dispatcher;
GRANT SELECT (tenant_id, endpoint_id, url, disabled, secret, previous_secret,
              previous_secret_expire_time)
    ON integrations.webhook_endpoints TO bulwark_webhook_dispatcher;
GRANT SELECT (tenant_id, event_id, type, occur_time, data)
    ON integrations.events TO bulwark_webhook_dispatcher;
CREATE POLICY dispatcher_read ON integrations.deliveries FOR SELECT
    TO bulwark_webhook_dispatcher USING (state = 'PENDING');
CREATE POLICY dispatcher_lease ON integrations.deliveries FOR UPDATE
    TO bulwark_webhook_dispatcher USING (state = 'PENDING') WITH CHECK (state = 'PENDING');
CREATE POLICY dispatcher_read ON integrations.webhook_endpoints FOR SELECT
    TO bulwark_webhook_dispatcher USING (true);
CREATE POLICY dispatcher_read ON integrations.events FOR SELECT
    TO bulwark_webhook_dispatcher USING (true);

-- Leases up to p_limit due deliveries (1-1000) for p_lease_seconds, at most
-- p_per_endpoint in flight per endpoint (the caller's attempts in flight
-- are p_busy_counts for the endpoints p_busy_endpoints), and returns what
-- each attempt needs. A delivery is due
-- when it is PENDING, its time has come, no lease is running, its endpoint
-- is enabled, and no earlier delivery of the same resource to the same
-- endpoint is still PENDING: a resource's events reach an endpoint in order,
-- each waiting for the one before to succeed or exhaust its schedule.
--
-- Endpoints are served side by side: the endpoints with pending deliveries
-- are listed first (a loose scan of deliveries_due, one probe each), and
-- each contributes at most its free slots, soonest first; the soonest of
-- those are leased. So an endpoint with a large backlog, or one that is
-- down, never holds the others up, and the work per claim grows with the
-- endpoints that have pending deliveries, not with the backlog. Rows
-- another deliverer is claiming are skipped (FOR UPDATE SKIP LOCKED).
--
-- PL/pgSQL rather than SQL, with a generic plan, so that it is planned once
-- per session (planning costs ten times what running it does). A generic
-- plan does not know p_limit; every row here is reached by key, so joins by
-- index lookups are right whatever the estimates, and the settings keep the
-- plan to them (a hash join over the whole table, picked on a wrong guess,
-- would be cached for good). The
-- deliverer calls it whenever attempts finish.
CREATE FUNCTION integrations.claim_deliveries(p_limit integer, p_per_endpoint integer,
                                              p_lease_seconds integer, p_busy_endpoints uuid[],
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
        SELECT c.tenant_id, c.delivery_id, c.next_attempt_time, c.seq
          FROM pending_endpoints pe
          JOIN integrations.webhook_endpoints e
            ON e.tenant_id = pe.tenant_id AND e.endpoint_id = pe.endpoint_id AND NOT e.disabled
          LEFT JOIN in_flight f ON f.endpoint_id = pe.endpoint_id
         CROSS JOIN LATERAL (
               SELECT d.tenant_id, d.delivery_id, d.next_attempt_time, d.seq
                 FROM integrations.deliveries d
                WHERE d.tenant_id = pe.tenant_id AND d.endpoint_id = pe.endpoint_id
                  AND d.state = 'PENDING' AND d.next_attempt_time <= now()
                  AND (d.lease_until IS NULL OR d.lease_until <= now())
                  AND NOT EXISTS (
                      SELECT 1 FROM integrations.deliveries p
                       WHERE p.tenant_id = d.tenant_id AND p.endpoint_id = d.endpoint_id
                         AND p.resource = d.resource AND p.state = 'PENDING' AND p.seq < d.seq)
                ORDER BY d.next_attempt_time, d.seq
                LIMIT greatest(p_per_endpoint - coalesce(f.n, 0), 0)) c),
    chosen AS (
        SELECT c.tenant_id, c.delivery_id FROM candidates c
         ORDER BY c.next_attempt_time, c.seq
         LIMIT least(greatest(p_limit, 1), 1000)),
    locked AS (
        SELECT d.tenant_id, d.delivery_id
          FROM integrations.deliveries d
          JOIN chosen c ON c.tenant_id = d.tenant_id AND c.delivery_id = d.delivery_id
         WHERE d.state = 'PENDING' AND (d.lease_until IS NULL OR d.lease_until <= now())
           FOR UPDATE OF d SKIP LOCKED),
    leased AS (
        UPDATE integrations.deliveries d
           SET lease_id = gen_random_uuid(),
               lease_until = now() + make_interval(secs => greatest(p_lease_seconds, 1))
          FROM locked l
         WHERE d.tenant_id = l.tenant_id AND d.delivery_id = l.delivery_id
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
-- ---------------------------------------------------------------- grants
-- The one place this file grants to the processes' roles: the schema
-- belongs to the integrations process's role alone (created with the
-- outbox, common/migrations/0006_outbox.sql). Granted before the function
-- changes owner: afterwards only its owner may grant on it.
GRANT USAGE ON SCHEMA integrations TO bulwark_integrations;
GRANT SELECT, INSERT, UPDATE, DELETE ON integrations.webhook_endpoints TO bulwark_integrations;
GRANT SELECT, INSERT ON integrations.events TO bulwark_integrations;
GRANT SELECT, INSERT, UPDATE ON integrations.deliveries TO bulwark_integrations;
GRANT SELECT, INSERT ON integrations.attempts TO bulwark_integrations;
REVOKE ALL ON FUNCTION integrations.claim_deliveries(integer, integer, integer, uuid[], integer[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.claim_deliveries(integer, integer, integer, uuid[], integer[])
    TO bulwark_integrations;

-- The function goes to its owner (its grants go with it). That needs
-- membership in the new owner and its CREATE privilege on the schema: both
-- only for as long as it takes.
GRANT CREATE ON SCHEMA integrations TO bulwark_webhook_dispatcher;
GRANT bulwark_webhook_dispatcher TO CURRENT_USER;
ALTER FUNCTION integrations.claim_deliveries(integer, integer, integer, uuid[], integer[])
    OWNER TO bulwark_webhook_dispatcher;
REVOKE bulwark_webhook_dispatcher FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_webhook_dispatcher;
