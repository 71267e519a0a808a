-- Deliveries that wait in a deliverer's queue, leased, hold a copy of their
-- endpoint's URL and secrets, taken when they were claimed or handed over
-- by the relay (0011), and a queue may hold up to 64 rounds of an
-- endpoint's attempts. An endpoint that is changed (its URL, its types, a
-- rotation), disabled or deleted must not keep receiving what waited for
-- it: every change of a row notifies 'bulwark_webhook_endpoints' with the
-- endpoint's id when its transaction commits, and each deliverer, which
-- listens on its connection, gives back the leases of that endpoint's
-- waiting deliveries (deliverer.c); they are claimed again as the endpoint
-- now is, or not at all. Attempts already in flight finish.
CREATE FUNCTION integrations.notify_endpoint_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('bulwark_webhook_endpoints', OLD.endpoint_id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_endpoints_changed
    AFTER UPDATE OR DELETE ON integrations.webhook_endpoints
    FOR EACH ROW EXECUTE FUNCTION integrations.notify_endpoint_change();
