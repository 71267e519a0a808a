-- The relay's claim starts where the claims before it left off, instead of
-- at the head of outbox_unrelayed.
--
-- A claimed event leaves outbox_unrelayed (its relay_time is set), but the
-- index entry of its old row version stays until the outbox is vacuumed,
-- and every claim scanning the index from its head stepped over all of
-- them. Autovacuum comes after a fifth of the table's rows have changed,
-- and the outbox keeps its events for BULWARK_OUTBOX_RETENTION_DAYS (7), so
-- a claim's cost grew with the events relayed since the last vacuum: on a
-- database that had relayed about five million events, an idle relay's
-- claims (several a second) took 1.8 ms each on average and up to 17 ms
-- (1,184 index pages for nothing), every scrape of outbox_lag 2.2 ms; from
-- the cursor, 0.1-0.25 and 0.4 ms. (Under load, where a claim takes about
-- eighty events, the claim's 70-84 us of PostgreSQL a write is mostly the
-- rewriting of each claimed row, which this does not change.)
--
-- bulwark.outbox_cursor keeps from_seq: no event with a smaller seq is left
-- to relay, now or later. A claim scans from it. Moving it forward is the
-- subtle part, because seqs are drawn before commit: a transaction may draw
-- seq 10, a later one seq 11 and commit first, and a claim that then moved
-- past 11 would never see 10. So the cursor moves in two steps:
--   1. A claim in a transaction without an id of its own reads the
--      sequence's last value V, and then takes an id X (the ids are handed
--      out in order). Every event with seq <= V was drawn before that, by
--      a transaction that already had its id (next_outbox_seq below takes
--      the id first): an id smaller than X. The pair (V, X) waits in
--      pending_seq and pending_xid.
--   2. A later claim first reads the oldest transaction still running
--      (pg_snapshot_xmin). Once that is past X, every transaction that drew
--      a seq <= V has ended, so the claim, whose scan starts after that
--      moment, sees each such event that committed. After the scan no event
--      <= V is left but those the claim could not take because its batch
--      was full: from_seq moves to V + 1, or to the first event left when
--      the batch was full. Then the next pair may wait.
-- The pair is proved within the longest write transaction running at the
-- time, and the cursor trails the claims by about that much: a claim steps
-- over the entries of what was claimed since, not over everything relayed
-- since the last vacuum. The cursor changes in the claim's transaction, so
-- a claim rolled back leaves it where it was; claims take turns (the
-- advisory lock), so replicas share one cursor.
CREATE TABLE bulwark.outbox_cursor (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    -- Every event with a smaller seq is relayed or will never exist.
    from_seq    bigint NOT NULL,
    -- Every event with seq <= pending_seq was drawn by a transaction whose
    -- id is smaller than pending_xid. Both NULL or neither.
    pending_seq bigint,
    pending_xid xid8,
    CHECK ((pending_seq IS NULL) = (pending_xid IS NULL))
);
INSERT INTO bulwark.outbox_cursor (from_seq) VALUES (0);

-- A transaction takes its id before it draws a seq, whatever it wrote before
-- (a producer's first write may be the event itself, as in a script's
-- INSERT): step 1 above depends on it. CASE evaluates its condition first.
-- SQL, so that it is inlined into the INSERT.
CREATE FUNCTION bulwark.next_outbox_seq()
RETURNS bigint
LANGUAGE sql VOLATILE
AS $$
    SELECT CASE WHEN pg_catalog.pg_current_xact_id() IS NOT NULL
                THEN pg_catalog.nextval('bulwark.outbox_seq_seq'::pg_catalog.regclass) END
$$;
ALTER TABLE bulwark.outbox ALTER COLUMN seq SET DEFAULT bulwark.next_outbox_seq();
-- The last value must be the highest seq drawn: no backend keeps a range.
ALTER SEQUENCE bulwark.outbox_seq_seq CACHE 1;

-- Producers may name only the event's own columns: a seq of their choosing
-- would escape step 1 (and could sit behind the cursor for good), and a
-- relay_time would mark an event relayed that never was.
REVOKE INSERT ON bulwark.outbox
    FROM bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations,
         bulwark_integrations;
GRANT INSERT (tenant_id, event_id, type, resource, origin, occur_time, data) ON bulwark.outbox
    TO bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations,
       bulwark_integrations;

GRANT SELECT, UPDATE ON bulwark.outbox_cursor TO bulwark_outbox_relay;
GRANT SELECT ON SEQUENCE bulwark.outbox_seq_seq TO bulwark_outbox_relay;

GRANT bulwark_outbox_relay TO CURRENT_USER;
CREATE OR REPLACE FUNCTION bulwark.outbox_claim(p_limit integer)
RETURNS TABLE (tenant_id uuid, seq bigint, event_id uuid, type text, resource text,
               origin text, occur_time timestamptz, data text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
#variable_conflict use_column
DECLARE
    v_limit integer := least(greatest(p_limit, 1), 1000);
    -- Step 1 needs a transaction that has no id yet.
    v_fresh boolean := pg_current_xact_id_if_assigned() IS NULL;
    v_xmin xid8;
    v_last bigint;
    v_cursor bulwark.outbox_cursor;
    v_from bigint;
    v_next bigint;
    v_n integer;
    v_changed boolean := false;
BEGIN
    -- 'bulwark.outbox relay' as a key of its own.
    IF NOT pg_try_advisory_xact_lock(hashtextextended('bulwark.outbox relay', 0)) THEN
        RETURN;
    END IF;
    -- In this order: the transactions that have ended, the highest seq
    -- drawn, then the scan (a statement of its own, so a later snapshot).
    v_xmin := pg_snapshot_xmin(pg_current_snapshot());
    IF v_fresh THEN
        v_last := pg_sequence_last_value('bulwark.outbox_seq_seq');
    END IF;
    SELECT * INTO STRICT v_cursor FROM bulwark.outbox_cursor;
    v_from := v_cursor.from_seq;

    RETURN QUERY
    WITH locked AS (
        SELECT o.ctid AS at
          FROM bulwark.outbox o
         WHERE o.relay_time IS NULL AND o.seq >= v_from
         ORDER BY o.seq
         LIMIT v_limit
           FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE bulwark.outbox o SET relay_time = now()
          FROM locked l
         WHERE o.ctid = l.at AND o.relay_time IS NULL
        RETURNING o.tenant_id, o.seq, o.event_id, o.type, o.resource, o.origin, o.occur_time,
                  o.data)
    SELECT c.tenant_id, c.seq, c.event_id, c.type, c.resource, c.origin, c.occur_time, c.data
      FROM claimed c ORDER BY c.seq;
    GET DIAGNOSTICS v_n = ROW_COUNT;

    -- Step 2: the waiting pair proved.
    IF v_cursor.pending_xid IS NOT NULL AND v_cursor.pending_xid < v_xmin THEN
        v_next := v_cursor.pending_seq + 1;
        IF v_n >= v_limit THEN
            -- A full batch: what it left starts at the first event not
            -- relayed (this transaction sees its own claims as relayed).
            v_next := least(v_next, (SELECT o.seq FROM bulwark.outbox o
                                      WHERE o.relay_time IS NULL AND o.seq >= v_from
                                      ORDER BY o.seq LIMIT 1));
        END IF;
        v_cursor.from_seq := greatest(v_from, v_next);
        v_cursor.pending_seq := NULL;
        v_cursor.pending_xid := NULL;
        v_changed := true;
    END IF;
    -- Step 1: the next pair, when there is something past the cursor. The
    -- id comes after the last value was read (it is taken here, or it was
    -- by the scan's first row lock).
    IF v_cursor.pending_xid IS NULL AND v_fresh AND v_last >= v_cursor.from_seq THEN
        v_cursor.pending_seq := v_last;
        v_cursor.pending_xid := pg_current_xact_id();
        v_changed := true;
    END IF;
    IF v_changed THEN
        UPDATE bulwark.outbox_cursor c
           SET from_seq = v_cursor.from_seq, pending_seq = v_cursor.pending_seq,
               pending_xid = v_cursor.pending_xid
         WHERE c.only_row;
    END IF;
END
$$;

-- The backlog from the cursor on: nothing before it is waiting.
CREATE OR REPLACE FUNCTION bulwark.outbox_lag(OUT unrelayed bigint,
                                              OUT oldest_age_seconds double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT count(*) FROM (SELECT 1 FROM bulwark.outbox o
                                   WHERE o.relay_time IS NULL AND o.seq >= c.from_seq
                                   LIMIT 1000000) AS waiting),
           coalesce((SELECT extract(epoch FROM now() - min(o.occur_time))::double precision
                       FROM bulwark.outbox o
                      WHERE o.relay_time IS NULL AND o.seq >= c.from_seq), 0)
      FROM bulwark.outbox_cursor c
$$;
REVOKE bulwark_outbox_relay FROM CURRENT_USER;
