-- Connections to Jira and ServiceNow, both ways (issue 11 items 4-8).
--
-- A connection holds the ticket system's address and credentials (sealed,
-- never returned) and the secret its inbound events are authenticated by
-- (sealed too). Tickets and incidents are linked one to one per connection:
-- the link is what makes a replayed event update rather than duplicate, and
-- what tells the outbound side which ticket an incident has. Every event
-- received and every call made is written to the connection's log.
--
-- The foreign keys to connections do not cascade: deleting a connection
-- deletes its rows in one statement (connections.c), and the erasure of a
-- tenant (bulwark.erase_tenant_rows) orders its deletes by the violations
-- of foreign keys, which a cascade would hide from its counts.
CREATE TABLE integrations.connections (
    tenant_id      uuid NOT NULL,
    connection_id  uuid NOT NULL,
    system         text NOT NULL CHECK (system IN ('JIRA', 'SERVICENOW')),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    base_url       text NOT NULL CHECK (length(base_url) BETWEEN 1 AND 2048),
    entity_id      uuid NOT NULL,
    project_key    text NOT NULL DEFAULT '' CHECK (length(project_key) <= 100),
    issue_type     text NOT NULL DEFAULT '' CHECK (length(issue_type) <= 100),
    -- JSON {"email","apiToken"} or {"username","password"}, sealed under
    -- BULWARK_SECRETS_KEY for 'integrations.connections/<tenant>/<id>/credentials'.
    credentials    bytea NOT NULL,
    -- The inbound secret (Jira) or token (ServiceNow), sealed for
    -- 'integrations.connections/<tenant>/<id>/inbound'.
    inbound_secret bytea NOT NULL,
    create_issues  boolean NOT NULL DEFAULT false,
    state_open     text NOT NULL DEFAULT '' CHECK (length(state_open) <= 100),
    state_closed   text NOT NULL DEFAULT '' CHECK (length(state_closed) <= 100),
    create_time    timestamptz NOT NULL DEFAULT now(),
    update_time    timestamptz NOT NULL DEFAULT now(),
    revision       bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, connection_id)
);

-- One ticket, one incident, per connection. ticket_id is Jira's issue id
-- (stable when the key changes on a move) or ServiceNow's sys_id;
-- ticket_key the issue key or the incident number, for people.
CREATE TABLE integrations.ticket_links (
    tenant_id     uuid NOT NULL,
    connection_id uuid NOT NULL,
    ticket_id     text NOT NULL CHECK (length(ticket_id) BETWEEN 1 AND 100),
    ticket_key    text NOT NULL DEFAULT '' CHECK (length(ticket_key) <= 100),
    -- NULL only inside the transaction that creates the incident.
    incident_id   uuid,
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id, ticket_id),
    UNIQUE (tenant_id, connection_id, incident_id),
    FOREIGN KEY (tenant_id, connection_id)
        REFERENCES integrations.connections (tenant_id, connection_id)
);

-- Inbound deliveries already taken: Jira's X-Atlassian-Webhook-Identifier
-- (the same on its retries), ServiceNow's sys_id and sys_mod_count.
CREATE TABLE integrations.inbound_receipts (
    tenant_id     uuid NOT NULL,
    connection_id uuid NOT NULL,
    delivery_key  text NOT NULL CHECK (length(delivery_key) BETWEEN 1 AND 200),
    receive_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id, delivery_key),
    FOREIGN KEY (tenant_id, connection_id)
        REFERENCES integrations.connections (tenant_id, connection_id)
);

CREATE TABLE integrations.connection_log (
    tenant_id     uuid NOT NULL,
    connection_id uuid NOT NULL,
    entry_id      uuid NOT NULL,
    entry_time    timestamptz NOT NULL DEFAULT clock_timestamp(),
    direction     text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    kind          text NOT NULL CHECK (length(kind) <= 100),
    status_code   integer NOT NULL DEFAULT 0,
    ticket        text NOT NULL DEFAULT '' CHECK (length(ticket) <= 100),
    incident_id   uuid,
    detail        text NOT NULL DEFAULT '' CHECK (length(detail) <= 1000),
    PRIMARY KEY (tenant_id, connection_id, entry_id),
    FOREIGN KEY (tenant_id, connection_id)
        REFERENCES integrations.connections (tenant_id, connection_id)
);

ALTER TABLE integrations.connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.connections FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.connections
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
ALTER TABLE integrations.ticket_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.ticket_links FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.ticket_links
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
ALTER TABLE integrations.inbound_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.inbound_receipts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.inbound_receipts
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
ALTER TABLE integrations.connection_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.connection_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.connection_log
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

-- An inbound event names its connection in its path and nothing else: no
-- API key, so no tenant. The function below finds the connection's tenant
-- and sealed inbound secret, and nothing more, across tenants; it runs as
-- bulwark_ticket_inbound, a role that cannot log in, has no members and
-- bypasses nothing, whose one policy lets it read those columns. The
-- service checks the signature or token against the secret, and only then
-- works under the tenant's row-level security.
DO $$
DECLARE
    bad record;
BEGIN
    SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
      INTO bad FROM pg_roles WHERE rolname = 'bulwark_ticket_inbound';
    IF NOT FOUND THEN
        CREATE ROLE bulwark_ticket_inbound NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION
            NOCREATEDB NOCREATEROLE;
        RETURN;
    END IF;
    IF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            RAISE EXCEPTION 'role bulwark_ticket_inbound is a superuser, a replication role or bypasses row-level security'
                USING HINT = 'As a superuser: ALTER ROLE bulwark_ticket_inbound NOSUPERUSER NOBYPASSRLS NOREPLICATION';
        END IF;
        ALTER ROLE bulwark_ticket_inbound NOSUPERUSER NOBYPASSRLS NOREPLICATION;
    END IF;
    IF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
        ALTER ROLE bulwark_ticket_inbound NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA integrations TO bulwark_ticket_inbound;
GRANT SELECT (tenant_id, connection_id, system, inbound_secret)
    ON integrations.connections TO bulwark_ticket_inbound;
CREATE POLICY inbound_read ON integrations.connections FOR SELECT
    TO bulwark_ticket_inbound USING (true);

CREATE FUNCTION integrations.inbound_connection(p_connection uuid)
RETURNS TABLE (tenant_id uuid, system text, inbound_secret bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.tenant_id, c.system, c.inbound_secret FROM integrations.connections c
     WHERE c.connection_id = p_connection
$$;
CREATE INDEX connections_by_id ON integrations.connections (connection_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON integrations.connections TO bulwark_integrations;
GRANT SELECT, INSERT, UPDATE, DELETE ON integrations.ticket_links TO bulwark_integrations;
GRANT SELECT, INSERT, DELETE ON integrations.inbound_receipts TO bulwark_integrations;
GRANT SELECT, INSERT, DELETE ON integrations.connection_log TO bulwark_integrations;
REVOKE ALL ON FUNCTION integrations.inbound_connection(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.inbound_connection(uuid) TO bulwark_integrations;

GRANT CREATE ON SCHEMA integrations TO bulwark_ticket_inbound;
GRANT bulwark_ticket_inbound TO CURRENT_USER;
ALTER FUNCTION integrations.inbound_connection(uuid) OWNER TO bulwark_ticket_inbound;
REVOKE bulwark_ticket_inbound FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_ticket_inbound;

-- --------------------------------------------------------- outbound jobs
-- What a connection owes the ticket system: one job per incident.created
-- or incident.updated event of the outbox, per connection with
-- create_issues, made by the relay in the transaction that fans the event
-- out, except for the connection the change came from (the event's origin
-- names it: no loops). A job opens the ticket when the incident has none
-- yet (Jira: an issue; ServiceNow: an incident record), or brings it up to
-- date (Jira: the transition to the mapped status; ServiceNow: a PATCH).
-- Jobs of one incident for one connection run in seq order, like a
-- resource's deliveries to an endpoint; they are retried on the webhooks'
-- schedule on 429 (after Retry-After) and 5xx.
CREATE TABLE integrations.ticket_jobs (
    tenant_id         uuid NOT NULL,
    job_id            uuid NOT NULL,
    connection_id     uuid NOT NULL,
    event_id          uuid NOT NULL,
    seq               bigint NOT NULL,
    incident_id       uuid NOT NULL,
    state             text NOT NULL CHECK (state IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    attempt_count     integer NOT NULL DEFAULT 0,
    next_attempt_time timestamptz,
    lease_id          uuid,
    lease_until       timestamptz,
    last_error        text NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
    create_time       timestamptz NOT NULL DEFAULT now(),
    update_time       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, job_id),
    FOREIGN KEY (tenant_id, connection_id)
        REFERENCES integrations.connections (tenant_id, connection_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES integrations.events (tenant_id, event_id),
    CHECK ((state = 'PENDING') = (next_attempt_time IS NOT NULL))
);
CREATE INDEX ticket_jobs_due ON integrations.ticket_jobs (next_attempt_time)
    WHERE state = 'PENDING';
CREATE INDEX ticket_jobs_pending_by_incident
    ON integrations.ticket_jobs (tenant_id, connection_id, incident_id, seq)
    WHERE state = 'PENDING';
ALTER TABLE integrations.ticket_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations.ticket_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations.ticket_jobs
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON integrations.ticket_jobs TO bulwark_integrations;

-- The dispatcher claims due jobs of every tenant through the function
-- below, as bulwark_webhook_dispatcher (migration 0001): it sees pending
-- jobs and sets their lease, and reads what a job needs (the connection,
-- the event, the ticket already linked). Everything else it does per
-- tenant, under the tenant's row-level security.
GRANT SELECT (tenant_id, job_id, connection_id, event_id, seq, incident_id, state,
              attempt_count, next_attempt_time, lease_id, lease_until),
      UPDATE (lease_id, lease_until)
    ON integrations.ticket_jobs TO bulwark_webhook_dispatcher;
GRANT SELECT (tenant_id, connection_id, system, base_url, project_key, issue_type, credentials,
              state_open, state_closed)
    ON integrations.connections TO bulwark_webhook_dispatcher;
GRANT SELECT (tenant_id, connection_id, ticket_id, ticket_key, incident_id)
    ON integrations.ticket_links TO bulwark_webhook_dispatcher;
CREATE POLICY dispatcher_read ON integrations.ticket_jobs FOR SELECT
    TO bulwark_webhook_dispatcher USING (state = 'PENDING');
CREATE POLICY dispatcher_lease ON integrations.ticket_jobs FOR UPDATE
    TO bulwark_webhook_dispatcher USING (state = 'PENDING') WITH CHECK (state = 'PENDING');
CREATE POLICY dispatcher_read ON integrations.connections FOR SELECT
    TO bulwark_webhook_dispatcher USING (true);
CREATE POLICY dispatcher_read ON integrations.ticket_links FOR SELECT
    TO bulwark_webhook_dispatcher USING (true);

-- Leases up to p_limit due jobs for p_lease_seconds: PENDING, due, no lease
-- running, and no earlier job (by seq) of the same incident for the same
-- connection still PENDING.
CREATE FUNCTION integrations.claim_ticket_jobs(p_limit integer, p_lease_seconds integer)
RETURNS TABLE (tenant_id uuid, job_id uuid, lease_id uuid, connection_id uuid, system text,
               base_url text, project_key text, issue_type text, credentials bytea,
               state_open text, state_closed text, type text, data text, attempt_count integer,
               incident_id uuid, ticket_id text, ticket_key text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
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
     ORDER BY l.next_attempt_time
$$;
REVOKE ALL ON FUNCTION integrations.claim_ticket_jobs(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.claim_ticket_jobs(integer, integer) TO bulwark_integrations;
GRANT CREATE ON SCHEMA integrations TO bulwark_webhook_dispatcher;
GRANT bulwark_webhook_dispatcher TO CURRENT_USER;
ALTER FUNCTION integrations.claim_ticket_jobs(integer, integer) OWNER TO bulwark_webhook_dispatcher;
REVOKE bulwark_webhook_dispatcher FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_webhook_dispatcher;
