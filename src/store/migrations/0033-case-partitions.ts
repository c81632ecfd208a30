/**
 * Ten years of cases: `cases` and `case_events` partitioned by month with PostgreSQL's native
 * range partitioning, on the case id. Case ids are UUIDv7 strings (`domain/case-id.ts`, COLLATE "C"), whose
 * canonical form sorts by creation time, so the UUIDv7 string of a month's first millisecond (China Standard
 * Time) bounds that month: the primary keys stay (they contain the partition key), the foreign keys to
 * `cases (id)` stay (PostgreSQL 12+ allows them to partitioned tables), and a look-up by id reads one
 * partition. A DEFAULT partition of each table holds ids that are not of a month with a partition (none
 * today: every case id, a peer's case received here included, is minted by `newCaseId`; ids older than
 * UUIDv7 and cases written under a clock set to a month without a partition land there).
 *
 * Two unique indexes did not contain the partition key, which a partitioned table cannot keep:
 * - a system client's `externalRef` (migration 0019) is now unique in `case_external_refs`, a plain table
 *   that a trigger fills in the same statement as the case (a second case with the same reference fails the
 *   intake statement as the unique index did);
 * - the case number (0029) is unique by allocation (`case_numbers`), and keeps a plain index to be found.
 *
 * `cases.parent_id` keeps no foreign key (a self-reference would stop any month from being detached).
 *
 * The conversion of a populated database: new partitioned tables, the partitions of every month that holds a
 * case (and the next), the rows copied month by month, the old tables dropped, indexes, triggers and
 * foreign keys recreated under their old names. `tongban_ensure_case_partitions` creates further months
 * (the scheduler calls it, `queue/schedules.ts`): a SECURITY DEFINER function, so the runtime role, which
 * owns no table, can add partitions but nothing else.
 */
export const migration0033 = {
  version: 33,
  name: 'case-partitions',
  sql: /* sql */ `
-- The smallest UUIDv7 string of the millisecond at 'at': every id minted at or after it sorts at or after it.
CREATE FUNCTION tongban_case_id_floor(at timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-0000-0000-000000000000'
    FROM (SELECT lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') AS h) x
$$;

-- The first instant of the CST month of 'day' (UTC+8 has no daylight saving: a fixed offset).
CREATE FUNCTION tongban_month_start(day date) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (make_date(extract(year FROM day)::int, extract(month FROM day)::int, 1)::timestamp - interval '8 hours')
         AT TIME ZONE 'UTC'
$$;

-- The CST month of a UUIDv7 case id (null for an id that is not UUIDv7).
CREATE FUNCTION tongban_case_id_month(id text) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-7' THEN
    date_trunc('month', (to_timestamp(('x' || substr(replace(id, '-', ''), 1, 12))::bit(48)::bigint / 1000.0)
      AT TIME ZONE 'UTC') + interval '8 hours')::date END
$$;

-- Creates the monthly partitions of cases and case_events for every month from first_month to last_month
-- that has none, each as a standalone table with its bound as a CHECK (so ATTACH need not scan it), then
-- attached. A month whose ids already sit in the DEFAULT partition is skipped and reported. Returns what it
-- created and skipped.
-- Locks: attaching takes the parents, their DEFAULT partitions and the tables whose foreign keys point at
-- cases. Taken one by one as the DDL goes, they would meet an intake that holds some of them in the other
-- order (a deadlock, seen in tests). So, before the first month it creates, it takes all of them at once, in
-- the order a writer does (parents, then partitions, then the referencing tables), waiting at most
-- lock_wait: writers then wait the few milliseconds the DDL of empty tables takes, and a busy moment makes
-- the call fail with lock_not_available (55P03), which the caller retries, instead of a writer's deadlock.
CREATE FUNCTION tongban_ensure_case_partitions(first_month date, last_month date, lock_wait text DEFAULT '200ms')
  RETURNS TABLE (month date, created boolean)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  m date := make_date(extract(year FROM first_month)::int, extract(month FROM first_month)::int, 1);
  lo text;
  hi text;
  suffix text;
  locked boolean := false;
  saved text := current_setting('lock_timeout');
  referencing text;
BEGIN
  IF last_month > first_month + interval '240 months' THEN
    RAISE EXCEPTION 'at most 240 months at once' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  WHILE m <= last_month LOOP
    suffix := to_char(m, '"y"YYYY"m"MM');
    IF to_regclass('cases_' || suffix) IS NULL THEN
      IF NOT locked THEN
        PERFORM set_config('lock_timeout', lock_wait, true);
        LOCK TABLE cases, case_events IN SHARE ROW EXCLUSIVE MODE;
        LOCK TABLE cases_default, case_events_default IN ACCESS EXCLUSIVE MODE;
        SELECT string_agg(format('%I', t), ', ' ORDER BY o) INTO referencing
          FROM unnest(ARRAY['results', 'dead_letters', 'inspections', 'external_ref_duplicates', 'case_external_refs'])
               WITH ORDINALITY AS r(t, o)
         WHERE to_regclass(t) IS NOT NULL;
        IF referencing IS NOT NULL THEN
          EXECUTE 'LOCK TABLE ' || referencing || ' IN SHARE ROW EXCLUSIVE MODE';
        END IF;
        PERFORM set_config('lock_timeout', saved, true);
        locked := true;
      END IF;
      lo := tongban_case_id_floor(tongban_month_start(m));
      hi := tongban_case_id_floor(tongban_month_start((m + interval '1 month')::date));
      IF EXISTS (SELECT 1 FROM cases_default WHERE id >= lo AND id < hi)
         OR EXISTS (SELECT 1 FROM case_events_default WHERE case_id >= lo AND case_id < hi) THEN
        month := m; created := false; RETURN NEXT;
      ELSE
        EXECUTE format('CREATE TABLE %I (LIKE cases INCLUDING DEFAULTS INCLUDING CONSTRAINTS, '
          'CONSTRAINT %I CHECK (id >= %L AND id < %L))', 'cases_' || suffix, 'cases_' || suffix || '_bound', lo, hi);
        EXECUTE format('ALTER TABLE cases ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', 'cases_' || suffix, lo, hi);
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', 'cases_' || suffix, 'cases_' || suffix || '_bound');
        EXECUTE format('CREATE TABLE %I (LIKE case_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS, '
          'CONSTRAINT %I CHECK (case_id >= %L AND case_id < %L))',
          'case_events_' || suffix, 'case_events_' || suffix || '_bound', lo, hi);
        EXECUTE format('ALTER TABLE case_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
          'case_events_' || suffix, lo, hi);
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', 'case_events_' || suffix, 'case_events_' || suffix || '_bound');
        month := m; created := true; RETURN NEXT;
      END IF;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION tongban_ensure_case_partitions(date, date, text) FROM PUBLIC;

-- cases.parent_id loses its foreign key: PostgreSQL checks a self-reference against the rows of the partition
-- being detached too, so no month could ever be detached. A bundle's children are minted in their parent's
-- millisecond (services/cases/create.ts), hence in its partition, and written in one statement with it.
-- The old tables step aside with everything that points at them.
ALTER TABLE case_events DROP CONSTRAINT case_events_case_id_fkey;
ALTER TABLE cases DROP CONSTRAINT cases_parent_id_fkey;
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_case_id_fkey;
ALTER TABLE external_ref_duplicates DROP CONSTRAINT external_ref_duplicates_case_id_fkey;
ALTER TABLE external_ref_duplicates DROP CONSTRAINT external_ref_duplicates_kept_case_id_fkey;
ALTER TABLE inspections DROP CONSTRAINT inspections_parent_id_fkey;
ALTER TABLE results DROP CONSTRAINT results_case_id_fkey;
ALTER TABLE cases RENAME TO cases_unpartitioned;
ALTER TABLE case_events RENAME TO case_events_unpartitioned;

CREATE TABLE cases (LIKE cases_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)
  PARTITION BY RANGE (id);
CREATE TABLE cases_default PARTITION OF cases DEFAULT;
CREATE TABLE case_events (LIKE case_events_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)
  PARTITION BY RANGE (case_id);
CREATE TABLE case_events_default PARTITION OF case_events DEFAULT;

-- Every month that holds a case, and the next one (the partitions schedule adds CASE_PARTITIONS_AHEAD at start).
SELECT count(*) FROM tongban_ensure_case_partitions(
  coalesce((SELECT min(tongban_case_id_month(id)) FROM cases_unpartitioned), ((now() AT TIME ZONE 'UTC') + interval '8 hours')::date),
  greatest(((now() AT TIME ZONE 'UTC') + interval '8 hours')::date + interval '1 month',
           coalesce((SELECT max(tongban_case_id_month(id)) FROM cases_unpartitioned), '-infinity'))::date);

-- The rows, month by month (each statement fills one partition of each table).
DO $$
DECLARE
  m date;
BEGIN
  FOR m IN SELECT DISTINCT tongban_case_id_month(id) FROM cases_unpartitioned ORDER BY 1 LOOP
    IF m IS NULL THEN
      INSERT INTO cases SELECT * FROM cases_unpartitioned WHERE tongban_case_id_month(id) IS NULL ORDER BY id;
      INSERT INTO case_events SELECT * FROM case_events_unpartitioned
        WHERE tongban_case_id_month(case_id) IS NULL ORDER BY case_id, seq;
    ELSE
      INSERT INTO cases SELECT * FROM cases_unpartitioned
        WHERE id >= tongban_case_id_floor(tongban_month_start(m))
          AND id < tongban_case_id_floor(tongban_month_start((m + interval '1 month')::date)) ORDER BY id;
      INSERT INTO case_events SELECT * FROM case_events_unpartitioned
        WHERE case_id >= tongban_case_id_floor(tongban_month_start(m))
          AND case_id < tongban_case_id_floor(tongban_month_start((m + interval '1 month')::date))
        ORDER BY case_id, seq;
    END IF;
  END LOOP;
END
$$;
DO $$
BEGIN
  IF (SELECT count(*) FROM cases) <> (SELECT count(*) FROM cases_unpartitioned)
     OR (SELECT count(*) FROM case_events) <> (SELECT count(*) FROM case_events_unpartitioned) THEN
    RAISE EXCEPTION 'case partitions: rows were lost in the copy';
  END IF;
END
$$;

-- A system client's externalRef names one case for ever (0019), kept unique outside the partitions.
CREATE TABLE case_external_refs (
  created_by   text NOT NULL,
  external_ref text NOT NULL,
  case_id      text COLLATE "C" NOT NULL,
  PRIMARY KEY (created_by, external_ref)
);
INSERT INTO case_external_refs (created_by, external_ref, case_id)
SELECT created_by, external_ref, id FROM cases
 WHERE created_by_kind = 'client' AND parent_id IS NULL AND external_ref IS NOT NULL AND NOT external_ref_duplicate;

CREATE FUNCTION cases_external_ref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    DELETE FROM case_external_refs WHERE case_id = OLD.id;
  END IF;
  IF NEW.created_by_kind = 'client' AND NEW.parent_id IS NULL AND NEW.external_ref IS NOT NULL
     AND NOT NEW.external_ref_duplicate THEN
    INSERT INTO case_external_refs (created_by, external_ref, case_id) VALUES (NEW.created_by, NEW.external_ref, NEW.id);
  END IF;
  RETURN NULL;
END
$$;

DROP TABLE case_events_unpartitioned;
DROP TABLE cases_unpartitioned;

ALTER TABLE cases ADD CONSTRAINT cases_pkey PRIMARY KEY (id);
ALTER TABLE case_events ADD CONSTRAINT case_events_pkey PRIMARY KEY (case_id, seq);

CREATE INDEX case_events_at_idx ON case_events (at);
CREATE INDEX cases_agent_window_id_idx ON cases (agent_window, id) WHERE agent_window IS NOT NULL;
CREATE INDEX cases_applicant_id_hmac_idx ON cases (applicant_id_hmac);
CREATE INDEX cases_clear_phone_idx ON cases (id) WHERE applicant_phone IS NOT NULL;
CREATE INDEX cases_clock_due_idx ON cases (due_at) WHERE clock_running_since IS NOT NULL AND overdue_at IS NULL;
CREATE INDEX cases_clock_warn_idx ON cases (warn_at) WHERE clock_running_since IS NOT NULL AND warn_at IS NOT NULL;
CREATE INDEX cases_completed_at_idx ON cases (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX cases_created_at_idx ON cases (created_at);
CREATE INDEX cases_created_by_external_ref_idx ON cases (created_by, external_ref);
CREATE INDEX cases_materials_idx ON cases USING gin (materials jsonb_path_ops);
CREATE INDEX cases_number_idx ON cases (number);
CREATE INDEX cases_origin_region_id_idx ON cases (origin_region, id);
CREATE INDEX cases_overdue_at_idx ON cases (overdue_at) WHERE overdue_at IS NOT NULL;
CREATE INDEX cases_overdue_open_idx ON cases (overdue_at)
  WHERE overdue_at IS NOT NULL AND completed_at IS NULL AND rejected_at IS NULL AND status <> 'withdrawn';
CREATE INDEX cases_parent_id_idx ON cases (parent_id);
CREATE INDEX cases_processing_region_id_idx ON cases (processing_region, id);
CREATE INDEX cases_rated_at_idx ON cases (rated_at) WHERE rated_at IS NOT NULL;
CREATE INDEX cases_rejected_at_idx ON cases (rejected_at) WHERE rejected_at IS NOT NULL;
CREATE INDEX cases_status_id_idx ON cases (status, id);
CREATE INDEX cases_supply_by_idx ON cases (supply_by) WHERE supply_by IS NOT NULL;
CREATE INDEX cases_updated_at_idx ON cases (updated_at);

CREATE TRIGGER cases_department_on_insert BEFORE INSERT ON cases
  FOR EACH ROW EXECUTE FUNCTION cases_department();
CREATE TRIGGER cases_external_ref_on_insert AFTER INSERT ON cases
  FOR EACH ROW EXECUTE FUNCTION cases_external_ref();
-- Only an UPDATE that names one of these columns fires it: the gateway's own updates never do.
CREATE TRIGGER cases_external_ref_on_update
  AFTER UPDATE OF created_by, created_by_kind, parent_id, external_ref, external_ref_duplicate ON cases
  FOR EACH ROW EXECUTE FUNCTION cases_external_ref();
CREATE TRIGGER case_events_no_update_delete BEFORE UPDATE OR DELETE ON case_events
  FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
  FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

ALTER TABLE case_events ADD CONSTRAINT case_events_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id);
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id);
ALTER TABLE external_ref_duplicates
  ADD CONSTRAINT external_ref_duplicates_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id),
  ADD CONSTRAINT external_ref_duplicates_kept_case_id_fkey FOREIGN KEY (kept_case_id) REFERENCES cases (id);
ALTER TABLE inspections ADD CONSTRAINT inspections_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES cases (id);
ALTER TABLE results ADD CONSTRAINT results_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id);
ALTER TABLE case_external_refs ADD CONSTRAINT case_external_refs_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id);
`,
}
