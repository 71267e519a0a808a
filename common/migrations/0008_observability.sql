-- Observability (docs/DESIGN.md, "Observability").
--
-- Every audit row records the W3C trace id of the request that made it (the
-- trace the client sent in traceparent, or the one the gateway started), so
-- that an audit event leads to every log line of its request in every
-- process. Rows written before this migration have ''.
ALTER TABLE bulwark.audit_events
    ADD COLUMN trace_id text NOT NULL DEFAULT ''
        CHECK (trace_id = '' OR trace_id ~ '^[0-9a-f]{32}$');

-- The integrations service's /metrics shows how far the relay is behind:
-- how many events wait in the outbox and how old the oldest is. That looks
-- across tenants, so it runs as bulwark_outbox_relay, whose policy reads
-- every row, like bulwark.outbox_claim. The count stops at a million, so a
-- scrape of a huge backlog costs a bounded index scan.
CREATE FUNCTION bulwark.outbox_lag(OUT unrelayed bigint, OUT oldest_age_seconds double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT count(*) FROM (SELECT 1 FROM bulwark.outbox
                                   WHERE relay_time IS NULL LIMIT 1000000) AS waiting),
           coalesce((SELECT extract(epoch FROM now() - min(o.occur_time))::double precision
                       FROM bulwark.outbox o WHERE o.relay_time IS NULL), 0)
$$;
REVOKE ALL ON FUNCTION bulwark.outbox_lag() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bulwark.outbox_lag() TO bulwark_integrations;

GRANT CREATE ON SCHEMA bulwark TO bulwark_outbox_relay;
GRANT bulwark_outbox_relay TO CURRENT_USER;
ALTER FUNCTION bulwark.outbox_lag() OWNER TO bulwark_outbox_relay;
REVOKE bulwark_outbox_relay FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA bulwark FROM bulwark_outbox_relay;
