-- The outbox: every write that changes a resource appends its event here, in
-- the same request transaction as the change and its audit row
-- (common/outbox.c, bw_outbox_emit), so an event exists if and only if the
-- change committed. The integrations service's relay reads it across tenants
-- and fans each event out to the webhook endpoints subscribed to its type.
-- The contract is in docs/DESIGN.md ("The outbox").
--
-- It also creates the integrations process's group role,
-- bulwark_integrations, with what every process's role has in the bulwark
-- schema (0003, 0004), since the shared write path runs in it too.
DO $$
DECLARE
    r text;
    bad record;
BEGIN
    FOREACH r IN ARRAY ARRAY['bulwark_integrations', 'bulwark_outbox_relay'] LOOP
        SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
          INTO bad FROM pg_roles WHERE rolname = r;
        IF NOT FOUND THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION '
                           'NOCREATEDB NOCREATEROLE', r);
            CONTINUE;
        END IF;
        IF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                RAISE EXCEPTION 'role % is a superuser, a replication role or bypasses row-level security', r
                    USING HINT = format('As a superuser: ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOREPLICATION', r);
            END IF;
            EXECUTE format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOREPLICATION', r);
        END IF;
        IF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
            EXECUTE format('ALTER ROLE %I NOLOGIN NOCREATEDB NOCREATEROLE', r);
        END IF;
    END LOOP;
END
$$;

-- The shared write path (common/request.c) and the idempotency purge, for
-- the integrations process as for every other (0003, 0004). The purge
-- function belongs to bulwark_idempotency_purger: granting on it needs that
-- role's rights, for as long as it takes.
GRANT USAGE ON SCHEMA bulwark TO bulwark_integrations;
GRANT INSERT ON bulwark.audit_events TO bulwark_integrations;
GRANT SELECT, INSERT, UPDATE ON bulwark.idempotency_keys TO bulwark_integrations;
GRANT bulwark_idempotency_purger TO CURRENT_USER;
GRANT EXECUTE ON FUNCTION bulwark.purge_idempotency_keys() TO bulwark_integrations;
REVOKE bulwark_idempotency_purger FROM CURRENT_USER;

CREATE TABLE bulwark.outbox (
    tenant_id  uuid NOT NULL,
    -- Commit order for one resource: a later write of the same resource
    -- waits on the earlier one's row lock, so it draws its seq after the
    -- earlier one committed. Across resources seq is only roughly ordered.
    seq        bigserial NOT NULL,
    -- UUIDv7, made by the producer; it becomes the webhook-id.
    event_id   uuid NOT NULL,
    -- 'incident.created', ...: the catalogue is bulwark_outbox_event_types
    -- in common/outbox.c.
    type       text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'
                                    AND length(type) <= 100),
    -- The ordering key: 'incidents/<id>', 'webhook-endpoints/<id>'.
    resource   text NOT NULL CHECK (length(resource) BETWEEN 1 AND 300),
    -- Where the change came from when not from Bulwark's own API
    -- ('jira:<connection id>'), so that it is not sent back there.
    origin     text NOT NULL DEFAULT '' CHECK (length(origin) <= 300),
    occur_time timestamptz NOT NULL DEFAULT now(),
    -- The resource as the REST API returns it (proto3 JSON as the gateway
    -- renders it). Checked to be JSON here, so that a broken producer fails
    -- its own write rather than every delivery later.
    data       text NOT NULL CHECK (length(data) <= 1048576 AND (data::json) IS NOT NULL),
    -- Set by the relay in the transaction that fans the event out.
    relay_time timestamptz,
    PRIMARY KEY (tenant_id, seq)
);
CREATE UNIQUE INDEX outbox_event_id ON bulwark.outbox (tenant_id, event_id);
-- What the relay scans: only rows not yet relayed, in seq order.
CREATE INDEX outbox_unrelayed ON bulwark.outbox (seq) WHERE relay_time IS NULL;
-- Pruning relayed rows by age.
CREATE INDEX outbox_relayed ON bulwark.outbox (relay_time) WHERE relay_time IS NOT NULL;

ALTER TABLE bulwark.outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE bulwark.outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bulwark.outbox
    USING (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid);

-- The relay must see every tenant's events. Row-level security is forced, so
-- it applies to the table's owner too, and the owner is neither a superuser
-- nor BYPASSRLS. The two functions below run as bulwark_outbox_relay
-- instead: a role that cannot log in and has no members, may read the
-- outbox and set relay_time on rows not yet relayed, and delete rows relayed
-- long ago, through policies of its own.
GRANT USAGE ON SCHEMA bulwark TO bulwark_outbox_relay;
GRANT SELECT, UPDATE (relay_time), DELETE ON bulwark.outbox TO bulwark_outbox_relay;
CREATE POLICY relay_read ON bulwark.outbox FOR SELECT TO bulwark_outbox_relay USING (true);
CREATE POLICY relay_claim ON bulwark.outbox FOR UPDATE TO bulwark_outbox_relay
    USING (relay_time IS NULL) WITH CHECK (relay_time IS NOT NULL);
CREATE POLICY relay_prune ON bulwark.outbox FOR DELETE TO bulwark_outbox_relay
    USING (relay_time < now() - interval '1 day');

-- Claims up to p_limit (1-1000) events not yet relayed, oldest seq first,
-- marks them relayed and returns them in seq order. The caller fans them out
-- in the same transaction: a rollback un-claims them.
--
-- Relays take turns: the first thing a claim does is take a
-- transaction-level advisory lock, and a relay that finds it taken gets
-- nothing this time (another relay is at work and will be done in a
-- moment). One relay at a time is what keeps a resource's events in order
-- across replicas: a claim always takes the oldest events left, after the
-- previous relay's fan-out committed, so a later event of a resource is
-- never fanned out while an earlier one is still on its way. The rows are
-- also claimed FOR UPDATE SKIP LOCKED, and re-checked once locked, so that
-- an event is never fanned out twice even by a relay that did not take its
-- turn. Fanning out is database work only, thousands of events a second;
-- the deliveries themselves spread over every replica.
--
-- PL/pgSQL rather than SQL, with a generic plan, so that it is planned once
-- per session (planning costs ten times what running it does). A generic
-- plan does not know p_limit; every row here is reached by key, so joins by
-- index lookups are right whatever the estimates, and the settings keep the
-- plan to them (a hash join over the whole table, picked on a wrong guess,
-- would be cached for good). The
-- relay calls it several times a second.
CREATE FUNCTION bulwark.outbox_claim(p_limit integer)
RETURNS TABLE (tenant_id uuid, seq bigint, event_id uuid, type text, resource text,
               origin text, occur_time timestamptz, data text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_seqscan = off
AS $$
#variable_conflict use_column
BEGIN
    -- 'bulwark.outbox relay' as a key of its own.
    IF NOT pg_try_advisory_xact_lock(hashtextextended('bulwark.outbox relay', 0)) THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH locked AS (
        SELECT o.tenant_id, o.seq
          FROM bulwark.outbox o
         WHERE o.relay_time IS NULL
         ORDER BY o.seq
         LIMIT least(greatest(p_limit, 1), 1000)
           FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE bulwark.outbox o SET relay_time = now()
          FROM locked l
         WHERE o.tenant_id = l.tenant_id AND o.seq = l.seq
        RETURNING o.tenant_id, o.seq, o.event_id, o.type, o.resource, o.origin, o.occur_time,
                  o.data)
    SELECT c.tenant_id, c.seq, c.event_id, c.type, c.resource, c.origin, c.occur_time, c.data
      FROM claimed c ORDER BY c.seq;
END
$$;

-- Deletes up to 10 000 events relayed more than p_days (at least 1) days ago;
-- returns how many. What was fanned out lives on in the consumers' own
-- tables (integrations.events for webhooks).
CREATE FUNCTION bulwark.outbox_prune(p_days integer)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH doomed AS (
        SELECT o.tenant_id, o.seq FROM bulwark.outbox o
         WHERE o.relay_time < now() - make_interval(days => greatest(p_days, 1))
         ORDER BY o.relay_time
         LIMIT 10000),
    pruned AS (
        DELETE FROM bulwark.outbox o USING doomed d
         WHERE o.tenant_id = d.tenant_id AND o.seq = d.seq
        RETURNING 1)
    SELECT count(*) FROM pruned
$$;

-- ---------------------------------------------------------------- grants
-- The one place this file grants to the processes' roles: every process
-- that writes resources appends events (the gateway's tenancy RPCs emit
-- none); only the integrations process, whose relay is the outbox's
-- reader, may claim and prune. Granted before the functions change owner:
-- afterwards only their owner may grant on them.
GRANT INSERT ON bulwark.outbox
    TO bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations,
       bulwark_integrations;
GRANT USAGE ON SEQUENCE bulwark.outbox_seq_seq
    TO bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations,
       bulwark_integrations;
REVOKE ALL ON FUNCTION bulwark.outbox_claim(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION bulwark.outbox_prune(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bulwark.outbox_claim(integer) TO bulwark_integrations;
GRANT EXECUTE ON FUNCTION bulwark.outbox_prune(integer) TO bulwark_integrations;

-- The functions go to their owner (their grants go with them). That needs
-- membership in the new owner and its CREATE privilege on the schema: both
-- only for as long as it takes.
GRANT CREATE ON SCHEMA bulwark TO bulwark_outbox_relay;
GRANT bulwark_outbox_relay TO CURRENT_USER;
ALTER FUNCTION bulwark.outbox_claim(integer) OWNER TO bulwark_outbox_relay;
ALTER FUNCTION bulwark.outbox_prune(integer) OWNER TO bulwark_outbox_relay;
REVOKE bulwark_outbox_relay FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA bulwark FROM bulwark_outbox_relay;
