-- Microseconds since the Unix epoch of a timestamptz, the form the services
-- read times in (common/store.c, bw_store_timestamp). One definition instead
-- of "(extract(epoch FROM t) * 1000000)::bigint" written into each statement.
--
-- Exact: t - 'epoch' is an interval of whole microseconds, and EXTRACT of an
-- interval is numeric (PostgreSQL 14 and later), so nothing passes through a
-- double. It is written on the interval rather than as EXTRACT(epoch FROM t)
-- because EXTRACT of a timestamptz is only STABLE (other fields depend on
-- the session's zone); every function here is IMMUTABLE, so the planner
-- inlines the call into the statement and the plans stay as they were.
CREATE FUNCTION bulwark.epoch_us(t timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (extract(epoch FROM t - TIMESTAMPTZ '1970-01-01 00:00:00+00') * 1000000)::bigint;

COMMENT ON FUNCTION bulwark.epoch_us(timestamptz) IS
    'microseconds since 1970-01-01T00:00:00Z, exactly';

-- Every process reads times through it. PUBLIC keeps EXECUTE (the
-- PostgreSQL default for functions; the function reads no table), and each
-- group role has it by name too, so revoking PUBLIC's cannot break a service.
GRANT EXECUTE ON FUNCTION bulwark.epoch_us(timestamptz)
    TO bulwark_tenancy, bulwark_scoping, bulwark_crosswalk, bulwark_incidents,
       bulwark_attestations, bulwark_integrations;
