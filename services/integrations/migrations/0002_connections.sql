-- Connections to Jira and ServiceNow, both ways (issue 11 items 4-8).
--
-- A connection holds the ticket system's address and credentials (sealed,
-- never returned) and the secret its inbound events are authenticated by
-- (sealed too). Tickets and incidents are linked one to one per connection:
-- the link is what makes a replayed event update rather than duplicate, and
-- what tells the outbound side which ticket an incident has. Every event
-- received and every call made is written to the connection's log.
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
        REFERENCES integrations.connections (tenant_id, connection_id) ON DELETE CASCADE
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
        REFERENCES integrations.connections (tenant_id, connection_id) ON DELETE CASCADE
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
        REFERENCES integrations.connections (tenant_id, connection_id) ON DELETE CASCADE
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
GRANT SELECT, INSERT ON integrations.inbound_receipts TO bulwark_integrations;
GRANT SELECT, INSERT ON integrations.connection_log TO bulwark_integrations;
REVOKE ALL ON FUNCTION integrations.inbound_connection(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.inbound_connection(uuid) TO bulwark_integrations;

GRANT CREATE ON SCHEMA integrations TO bulwark_ticket_inbound;
GRANT bulwark_ticket_inbound TO CURRENT_USER;
ALTER FUNCTION integrations.inbound_connection(uuid) OWNER TO bulwark_ticket_inbound;
REVOKE bulwark_ticket_inbound FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA integrations FROM bulwark_ticket_inbound;
