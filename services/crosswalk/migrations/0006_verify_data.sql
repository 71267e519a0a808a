-- Checks the reference data loaded by 0002-0005 against facts the service
-- relies on. A failed check rolls this migration back and stops the run, so
-- a bad data file never reaches a running service.
DO $$
DECLARE
    n int;
    themes text;
BEGIN
    SELECT count(*) INTO n FROM crosswalk.requirements
     WHERE framework_id = 'iso27001-2022' AND kind = 'annex_a_control';
    IF n <> 93 THEN
        RAISE EXCEPTION 'expected 93 Annex A controls, found %', n;
    END IF;
    SELECT string_agg(theme || '=' || c, ',' ORDER BY theme) INTO themes
      FROM (SELECT theme, count(*) AS c FROM crosswalk.requirements
             WHERE framework_id = 'iso27001-2022' AND kind = 'annex_a_control'
             GROUP BY theme) t;
    IF themes <> 'organizational=37,people=8,physical=14,technological=34' THEN
        RAISE EXCEPTION 'unexpected Annex A themes: %', themes;
    END IF;
    SELECT count(*) INTO n FROM crosswalk.requirements
     WHERE framework_id = 'nis2' AND parent_ref = '21.2' AND assessable;
    IF n <> 10 THEN
        RAISE EXCEPTION 'expected the 10 points of Art 21(2), found %', n;
    END IF;
    SELECT count(*) INTO n FROM crosswalk.mappings WHERE source_id = 'enisa-tig-mapping';
    IF n <> 926 THEN
        RAISE EXCEPTION 'expected the 926 ENISA mapping rows, found %', n;
    END IF;
    -- Every Annex requirement belongs to an Art 21(2) point.
    SELECT count(*) INTO n FROM crosswalk.requirements r
     WHERE r.framework_id = 'nis2-ir-2024-2690' AND r.assessable AND r.kind = 'requirement'
       AND NOT EXISTS (SELECT FROM crosswalk.mappings m
                        WHERE m.source_framework = r.framework_id AND m.source_ref = r.ref
                          AND m.target_framework = 'nis2' AND m.target_ref LIKE '21.2.%');
    IF n <> 0 THEN
        RAISE EXCEPTION '% Annex requirements belong to no Art 21(2) point', n;
    END IF;
    -- Mappings join requirements that are recorded or rated, never headings.
    SELECT count(*) INTO n FROM crosswalk.mappings m
      JOIN crosswalk.requirements s ON s.framework_id = m.source_framework AND s.ref = m.source_ref
      JOIN crosswalk.requirements t ON t.framework_id = m.target_framework AND t.ref = m.target_ref
     WHERE NOT (s.assessable AND t.assessable);
    IF n <> 0 THEN
        RAISE EXCEPTION '% mappings name a heading instead of a requirement', n;
    END IF;
END
$$;
