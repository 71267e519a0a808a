-- `make bench`: about a million open incidents of the bench tenant, with
-- their reporting deadlines, written as the incidents service writes them
-- (services/incidents/clock.c, records.c) for a significant incident under
-- NIS2 with no event yet:
--   ordinal 1  EARLY_WARNING          aware_at + 24 h         NIS2 Art 23(4)(a)
--   ordinal 2  INCIDENT_NOTIFICATION  aware_at + 72 h         NIS2 Art 23(4)(b)
--   ordinal 90 PROGRESS_REPORT        F, shown from F         NIS2 Art 23(4)(e)
--   ordinal 91 FINAL_REPORT           F, shown until F        NIS2 Art 23(4)(d)
--   ordinal 92 FINAL_REPORT           no due time yet, from F NIS2 Art 23(4)(e)
-- where F is the notification's deadline one calendar month later in the
-- incident's time zone (the day clamped to the month's last). Run by
-- deploy/local/bench.sh as the cluster's superuser (row-level security does
-- not apply), which then asks the service to recompute a sample of them
-- (GET /v1/incidents/{id}/timeline) and compares. The deadlines are loaded
-- without alert state (next_alert_at NULL, incidents migration 0007), as if
-- their alerts had fired, so that the running scheduler does not announce
-- a million deadlines during the measurements.
--
-- psql variables: tenant, entity (an entity of the tenant whose regime is
-- NIS2), zone (its time zone), count, start and step (aware_at of incident
-- g is start + (g - 1) * step seconds after the epoch, whole seconds),
-- only (0: every incident; n > 0: only the n-th incidents, for a sample).
-- Ids are UUIDv7 of aware_at with bits from md5(tenant, g), so a second run
-- makes the same ids and skips the rows already there. Incidents whose
-- final report would fall in the small hours of a day on which the clocks
-- change are left out: local times in a gap or overlap are where two
-- calendars may disagree, and this file is not the place to find out.
\set ON_ERROR_STOP 1
SET TIME ZONE :'zone';
BEGIN;
CREATE TEMP TABLE bench_gen ON COMMIT DROP AS
SELECT g, a, n, f,
       substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-' ||
       substr('89ab', 1 + get_byte(decode(substr(r, 4, 2), 'hex'), 0) % 4, 1) ||
       substr(r, 6, 3) || '-' || substr(r, 9, 12) AS id
FROM (
    SELECT g, a, a + interval '72 hours' AS n,
           ((a + interval '72 hours') AT TIME ZONE :'zone' + interval '1 month') AT TIME ZONE :'zone' AS f,
           ((a + interval '72 hours') AT TIME ZONE :'zone' + interval '1 month') AS f_local,
           lpad(to_hex((extract(epoch FROM a) * 1000)::bigint), 12, '0') AS h,
           md5(:'tenant' || ':' || g) AS r
    FROM (SELECT g, to_timestamp(:start::bigint + (g - 1) * :step::bigint) AS a
          FROM generate_series(1, :count::int) AS g) AS t
) AS t
WHERE (:only::int = 0 OR g % :only::int = 0)
  AND NOT (extract(hour FROM f_local) < 4
           AND ((f_local::date + 1)::timestamp AT TIME ZONE :'zone')
               - (f_local::date::timestamp AT TIME ZONE :'zone') <> interval '24 hours');

INSERT INTO incidents.incidents (tenant_id, incident_id, entity_id, title, aware_at, detected_at,
    time_zone, significant_at_creation, trust_service_impact, trust_service_provider,
    external_ref, significant, state, clock_start, handling_ended_at, event_count, create_time,
    update_time, revision, incident_regime, classified_major_at, personal_data_breach)
SELECT :'tenant'::uuid, id::uuid, :'entity'::uuid, 'Bench incident ' || g, a, NULL,
       :'zone', true, false, false,
       'bench-load', true, 'OPEN', a, NULL, 0, a + interval '5 minutes',
       a + interval '5 minutes', 1, 'NIS2', NULL, false
FROM bench_gen
ON CONFLICT DO NOTHING;

INSERT INTO incidents.deadlines (tenant_id, incident_id, ordinal, kind, due_at, due_at_local,
    provisional, status, met_at, basis, shown_from, shown_until, regime, note, entity_id, title)
SELECT :'tenant'::uuid, b.id::uuid, d.ordinal, d.kind, d.due,
       COALESCE(to_char(d.due, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'), ''),
       d.provisional, 'PENDING', NULL, d.basis, d.shown_from, d.shown_until, 'NIS2', '',
       :'entity'::uuid, 'Bench incident ' || b.g
FROM bench_gen b
CROSS JOIN LATERAL (VALUES
    (1, 'EARLY_WARNING', b.a + interval '24 hours', false, 'NIS2 Art 23(4)(a)',
        NULL::timestamptz, NULL::timestamptz),
    (2, 'INCIDENT_NOTIFICATION', b.n, false, 'NIS2 Art 23(4)(b)', NULL, NULL),
    (90, 'PROGRESS_REPORT', b.f, true, 'NIS2 Art 23(4)(e)', b.f, NULL),
    (91, 'FINAL_REPORT', b.f, true, 'NIS2 Art 23(4)(d)', NULL, b.f),
    (92, 'FINAL_REPORT', NULL, true, 'NIS2 Art 23(4)(e)', b.f, NULL)
) AS d(ordinal, kind, due, provisional, basis, shown_from, shown_until)
ON CONFLICT DO NOTHING;

SELECT count(*) AS incidents FROM bench_gen \gset bench_
COMMIT;
\echo :bench_incidents
