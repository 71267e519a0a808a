-- One tenant's rows, every table of a schema: export, erasure, counts.
--
-- A tenant that leaves, or a GDPR Art 17 request, needs every row of the
-- tenant in every schema exported and then deleted; the operator's list
-- counts some of them. Each process does this for the schemas it owns, over
-- the internal calls of common/lifecycle.c, through three functions that
-- find the tables themselves: every table of the schema with a tenant_id
-- column, so that a table added later is covered without a change here.
-- All three work on the tenant set in bulwark.tenant_id (row-level security
-- shows them that tenant's rows and no other's), refuse the nil UUID (the
-- operator's scope) and an unset tenant, and serve a caller only the
-- schemas of its own process: session_user must belong to bulwark_<schema>
-- (the shared schema bulwark goes with bulwark_tenancy, the gateway's).
--
--   bulwark.export_tenant_rows   one page of rows as JSON lines, keyset on
--                                each table's primary key; runs as the caller
--   bulwark.count_tenant_rows    rows of one table for each of a list of
--                                tenants; runs as the caller
--   bulwark.erase_tenant_rows    deletes every row of the tenant in the
--                                schema, append-only tables included; runs as
--                                bulwark_tenant_eraser
--
-- Erasure is the one narrowly privileged path past the append-only rules
-- (audit events, incident events, attestations, chain heads). Its role,
-- bulwark_tenant_eraser, cannot log in and has no members, so only its
-- function acts as it; the tables' triggers let exactly that role delete,
-- and raise for everyone else as before. It may delete in every table (its
-- grants below, and by default on every table the owner creates later), but
-- its function deletes only the rows row-level security shows it: those of
-- the tenant the caller set. docs/DESIGN.md ("Tenant lifecycle") gives the
-- legal reasoning for erasing evidence with the tenant.
DO $$
DECLARE
    bad record;
BEGIN
    SELECT rolsuper, rolbypassrls, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb
      INTO bad FROM pg_roles WHERE rolname = 'bulwark_tenant_eraser';
    IF NOT FOUND THEN
        CREATE ROLE bulwark_tenant_eraser NOLOGIN NOSUPERUSER NOBYPASSRLS NOREPLICATION
            NOCREATEDB NOCREATEROLE;
    ELSIF bad.rolsuper OR bad.rolbypassrls OR bad.rolreplication THEN
        RAISE EXCEPTION 'role bulwark_tenant_eraser is a superuser, a replication role or bypasses row-level security'
            USING HINT = 'As a superuser: ALTER ROLE bulwark_tenant_eraser NOSUPERUSER NOBYPASSRLS NOREPLICATION';
    ELSIF bad.rolcanlogin OR bad.rolcreaterole OR bad.rolcreatedb THEN
        ALTER ROLE bulwark_tenant_eraser NOLOGIN NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

-- Whether the caller may work on p_schema's tenant rows, and which tenant:
-- raises unless a tenant other than the operator's scope is set and
-- session_user belongs to the schema's process. Runs as its caller (the
-- definer of erase_tenant_rows included: session_user is still the login).
CREATE FUNCTION bulwark.tenant_data_tenant(p_schema text) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant uuid := NULLIF(current_setting('bulwark.tenant_id', true), '')::uuid;
    v_group text := CASE WHEN p_schema = 'bulwark' THEN 'bulwark_tenancy'
                         ELSE 'bulwark_' || p_schema END;
BEGIN
    IF v_tenant IS NULL OR v_tenant = '00000000-0000-0000-0000-000000000000' THEN
        RAISE EXCEPTION 'no tenant is set'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Set bulwark.tenant_id to the tenant whose rows are meant.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = p_schema)
       OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = v_group)
       OR NOT pg_has_role(session_user, v_group, 'MEMBER') THEN
        RAISE EXCEPTION 'schema % is not one of this process''s schemas', p_schema
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN v_tenant;
END
$$;

-- The tables of p_schema that hold tenant rows, by name.
CREATE FUNCTION bulwark.tenant_tables(p_schema text) RETURNS SETOF name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE n.nspname = p_schema AND c.relkind IN ('r', 'p')
     ORDER BY c.relname
$$;

-- One page of the tenant's rows in p_schema: tables in name order, each in
-- primary-key order (tenant_id left out: it is the same for every row). The
-- page starts after row p_after_key of table p_after_table (both NULL: at
-- the start) and ends with the row that reaches p_max_rows rows or
-- p_max_bytes bytes of lines. Each table begun on this page first yields a
-- row with only table_name set, so that an empty table is named too.
-- row_key is the row's primary key as a JSON array, what p_after_key takes.
CREATE FUNCTION bulwark.export_tenant_rows(p_schema text, p_after_table text, p_after_key text,
                                           p_max_rows int, p_max_bytes bigint)
RETURNS TABLE (table_name text, row_key text, line text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table name;
    v_keys text;
    v_cols text;
    v_after text;
    v_sql text;
    v_rows int := 0;
    v_bytes bigint := 0;
    v_row record;
    v_continue boolean;
BEGIN
    PERFORM bulwark.tenant_data_tenant(p_schema);
    IF p_max_rows < 1 OR p_max_bytes < 1 THEN
        RAISE EXCEPTION 'a page holds at least one row' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_table IN SELECT t FROM bulwark.tenant_tables(p_schema) t
                    WHERE p_after_table IS NULL OR t >= p_after_table LOOP
        v_continue := p_after_table IS NOT NULL AND v_table = p_after_table;
        -- The primary key but tenant_id: the order, and the keyset.
        SELECT string_agg(format('t.%I', c.attname), ', ' ORDER BY c.n),
               string_agg(format('($1->>%s)::%s', c.n - 1, c.typ), ', ' ORDER BY c.n)
          INTO v_cols, v_after
          FROM (SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS typ,
                       row_number() OVER (ORDER BY k.pos) AS n
                  FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE i.indrelid = format('%I.%I', p_schema, v_table)::regclass
                   AND i.indisprimary AND a.attname <> 'tenant_id') c;
        IF NOT EXISTS (SELECT FROM pg_index
                        WHERE indrelid = format('%I.%I', p_schema, v_table)::regclass
                          AND indisprimary) THEN
            RAISE EXCEPTION 'table %.% has no primary key', p_schema, v_table
                USING HINT = 'A tenant table leads its primary key with tenant_id.';
        END IF;
        -- A key of tenant_id alone holds one row per tenant: once begun,
        -- the table is done.
        CONTINUE WHEN v_continue AND v_cols IS NULL;
        IF NOT v_continue THEN
            table_name := p_schema || '.' || v_table;
            row_key := NULL;
            line := NULL;
            RETURN NEXT;
        END IF;
        v_sql := format('SELECT json_build_array(%s)::text AS k, row_to_json(t)::text AS l '
                        'FROM %I.%I t %s %s LIMIT %s',
                        coalesce(v_cols, ''), p_schema, v_table,
                        CASE WHEN v_continue THEN format('WHERE (%s) > (%s)', v_cols, v_after) END,
                        CASE WHEN v_cols IS NOT NULL THEN 'ORDER BY ' || v_cols END,
                        p_max_rows - v_rows);
        FOR v_row IN EXECUTE v_sql USING (CASE WHEN v_continue THEN p_after_key::json END) LOOP
            table_name := p_schema || '.' || v_table;
            row_key := v_row.k;
            line := v_row.l;
            RETURN NEXT;
            v_rows := v_rows + 1;
            v_bytes := v_bytes + octet_length(v_row.l) + 1;
            IF v_rows >= p_max_rows OR v_bytes >= p_max_bytes THEN
                RETURN;
            END IF;
        END LOOP;
    END LOOP;
END
$$;

-- Rows of p_schema.p_table for each tenant of p_tenants, counted under each
-- tenant's own setting (an index-only scan of the primary key each); the
-- caller's setting is restored after.
CREATE FUNCTION bulwark.count_tenant_rows(p_schema text, p_table text, p_tenants uuid[])
RETURNS TABLE (tenant_id uuid, rows bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_saved text := current_setting('bulwark.tenant_id', true);
    v_tenant uuid;
BEGIN
    IF cardinality(p_tenants) > 500 THEN
        RAISE EXCEPTION 'at most 500 tenants at once' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM bulwark.tenant_tables(p_schema) t WHERE t = p_table) THEN
        RAISE EXCEPTION 'table %.% holds no tenant rows', p_schema, p_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH v_tenant IN ARRAY coalesce(p_tenants, '{}') LOOP
        PERFORM set_config('bulwark.tenant_id', v_tenant::text, true);
        PERFORM bulwark.tenant_data_tenant(p_schema);
        tenant_id := v_tenant;
        EXECUTE format('SELECT count(*) FROM %I.%I', p_schema, p_table) INTO rows;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('bulwark.tenant_id', coalesce(v_saved, ''), true);
END
$$;

-- Every row of the tenant in p_schema, deleted; how many per table. Tables
-- that other tables of the schema still refer to are retried once those
-- are empty, so the order needs no knowledge of the foreign keys.
CREATE FUNCTION bulwark.erase_tenant_rows(p_schema text)
RETURNS TABLE (table_name text, rows bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pending name[];
    v_left name[];
    v_table name;
    v_counts jsonb := '{}';
    v_n bigint;
BEGIN
    PERFORM bulwark.tenant_data_tenant(p_schema);
    v_pending := ARRAY(SELECT bulwark.tenant_tables(p_schema));
    WHILE cardinality(v_pending) > 0 LOOP
        v_left := '{}';
        FOREACH v_table IN ARRAY v_pending LOOP
            BEGIN
                EXECUTE format('DELETE FROM %I.%I', p_schema, v_table);
                GET DIAGNOSTICS v_n = ROW_COUNT;
                v_counts := v_counts || jsonb_build_object(v_table, v_n);
            EXCEPTION WHEN foreign_key_violation THEN
                v_left := v_left || v_table;
            END;
        END LOOP;
        IF cardinality(v_left) = cardinality(v_pending) THEN
            RAISE EXCEPTION 'the tables % of schema % refer to each other', v_left, p_schema
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        v_pending := v_left;
    END LOOP;
    RETURN QUERY SELECT p_schema || '.' || c.key, c.value::bigint
                   FROM jsonb_each_text(v_counts) c ORDER BY c.key;
END
$$;

-- The audit trail stays append-only for everyone but the eraser.
CREATE OR REPLACE FUNCTION bulwark.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = 'bulwark_tenant_eraser' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- What the eraser may delete: every table that holds tenant rows now, and
-- every table the owner creates from now on (a new service's included).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT DISTINCT n.nspname, c.relname FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
                AND NOT a.attisdropped
              WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_'
                AND n.nspname NOT IN ('information_schema', 'public') LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO bulwark_tenant_eraser', t.nspname);
        EXECUTE format('GRANT DELETE ON %I.%I TO bulwark_tenant_eraser', t.nspname, t.relname);
    END LOOP;
END
$$;
ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO bulwark_tenant_eraser;
ALTER DEFAULT PRIVILEGES GRANT DELETE ON TABLES TO bulwark_tenant_eraser;
GRANT USAGE ON SCHEMA bulwark TO bulwark_tenant_eraser;

-- The gateway's role exports the shared schema, the outbox included: it
-- reads a tenant's events there, under row-level security like everything
-- else (the services only append to it).
GRANT SELECT ON bulwark.outbox TO bulwark_tenancy;

-- Each process's role calls them; the function checks the schema itself.
-- A new service's role migration grants EXECUTE on the three to its role.
REVOKE ALL ON FUNCTION bulwark.export_tenant_rows(text, text, text, int, bigint),
    bulwark.count_tenant_rows(text, text, uuid[]), bulwark.erase_tenant_rows(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bulwark.export_tenant_rows(text, text, text, int, bigint),
    bulwark.count_tenant_rows(text, text, uuid[]), bulwark.erase_tenant_rows(text)
    TO bulwark_tenancy, bulwark_scoping, bulwark_crosswalk, bulwark_incidents, bulwark_attestations,
       bulwark_integrations;

-- Then the erasure goes to its owner (its grants go with it), as in 0004.
GRANT CREATE ON SCHEMA bulwark TO bulwark_tenant_eraser;
GRANT bulwark_tenant_eraser TO CURRENT_USER;
ALTER FUNCTION bulwark.erase_tenant_rows(text) OWNER TO bulwark_tenant_eraser;
REVOKE bulwark_tenant_eraser FROM CURRENT_USER;
REVOKE CREATE ON SCHEMA bulwark FROM bulwark_tenant_eraser;
