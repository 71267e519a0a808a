-- "Is an earlier delivery of this resource to this endpoint still
-- pending?", asked by the relay for each delivery it makes and would hand
-- straight to the deliverer, leased (relay.c). The relay's fan-out is a
-- statement of the process, planned once per session, generically; asked
-- there, the probe took deliveries_by_event by tenant only (every index
-- leading with tenant_id estimated at one row, the smallest wins), and as
-- NOT EXISTS it became a hash of every delivery of the tenant, read at
-- each fan-out: time growing with the table. Here the probe takes the
-- resource's first pending delivery by the whole key of
-- deliveries_pending_by_resource (ORDER BY seq LIMIT 1, which only that
-- index gives without a sort; sorts off, so any other path, a sequential
-- or bitmap scan or another index, would need a disabled sort), so it reads one
-- index page whatever the statistics say. (As EXISTS, PostgreSQL drops the
-- ORDER BY and the LIMIT, and the probe scanned the endpoint's pending
-- deliveries in deliveries_due, filtering by resource: 240 us a call with
-- a relay batch pending.) Run as the caller: its policies apply (the
-- transaction's tenant).
CREATE FUNCTION integrations.resource_waiting(p_endpoint uuid, p_resource text)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET enable_sort = off
SET jit = off
AS $$
BEGIN
    RETURN (SELECT p.seq FROM integrations.deliveries p
             WHERE p.tenant_id = current_setting('bulwark.tenant_id')::uuid
               AND p.endpoint_id = p_endpoint AND p.resource = p_resource
               AND p.state = 'PENDING'
             ORDER BY p.seq LIMIT 1) IS NOT NULL;
END
$$;

-- Grants to the services' role.
REVOKE ALL ON FUNCTION integrations.resource_waiting(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION integrations.resource_waiting(uuid, text) TO bulwark_integrations;
