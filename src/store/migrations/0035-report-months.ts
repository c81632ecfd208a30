/**
 * The performance report's figures per closed month (store/report-months.ts): a year's report adds up twelve
 * months of stored figures instead of reading a million case rows.
 *
 * - `report_months`: per CST month, report dimension and group, the figures that add up exactly over months
 *   (counts and sums), and the handling times of the month's completions (for an exact p90 over several months).
 * - `report_month_state`: the months computed, and when.
 * - `report_month_changes`: one row per change to a case that counts in a closed month, written by a trigger in
 *   the same transaction as the change; a month with such a row is read from the case rows until the
 *   `report-months` schedule has computed it again (and deleted the rows it has taken into account).
 *
 * A case counts in the months of its submission, completion, rejection, rating and going overdue; a change to a
 * row touches the months of its old and new values. The trigger's WHEN clause keeps the common path free: a row
 * whose dates all fall in the current month (every intake, nearly every update) runs no function.
 */
const eventColumns = ['created_at', 'completed_at', 'rejected_at', 'rated_at', 'overdue_at'] as const

/** The first instant of the current CST month, as of the transaction's start. */
const monthStart = `tongban_month_start(((now() AT TIME ZONE 'UTC') + interval '8 hours')::date)`
const anyBefore = (row: 'OLD' | 'NEW') => eventColumns.map((c) => `${row}.${c} < ${monthStart}`).join(' OR ')
const monthsOf = (row: 'OLD' | 'NEW') => eventColumns.map((c) => `tongban_cst_month(${row}.${c})`).join(', ')

export const migration0035 = {
  version: 35,
  name: 'report-months',
  sql: /* sql */ `
-- The CST month (its first day) of an instant; null for null.
CREATE FUNCTION tongban_cst_month(at timestamptz) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_trunc('month', (at AT TIME ZONE 'UTC') + interval '8 hours')::date
$$;

CREATE TABLE report_months (
  month date NOT NULL,
  -- region, department, item, scope, mode, window (key: the window, region: its region), or origin (the
  -- cases collected at windows of the key's region for processing elsewhere: 代收).
  dimension text NOT NULL,
  key text,
  region text,
  volume int NOT NULL,
  completed int NOT NULL,
  on_time int NOT NULL,
  timed int NOT NULL,
  late int NOT NULL,
  -- Sums in numeric: exact in any order, so months add up to what one reading of the period gives.
  late_days_sum numeric,
  late_days_n int NOT NULL,
  handling_sum numeric,
  -- The handling times (working days) of the month's completions, ascending, each an 8-byte big-endian double
  -- (float8send): a p90 over any months is exact.
  handling bytea NOT NULL,
  went_overdue int NOT NULL,
  rejections int NOT NULL,
  supplement_rounds int NOT NULL,
  ratings int NOT NULL,
  rating_sum bigint NOT NULL,
  collected int NOT NULL
);
CREATE INDEX report_months_dimension_month_idx ON report_months (dimension, month);

-- The open overdue cases, which every report counts whenever they were submitted, read from their partial index
-- alone (an index-only scan): it carries every column the report groups by and the clock's.
DROP INDEX cases_overdue_open_idx;
CREATE INDEX cases_overdue_open_idx ON cases (overdue_at)
  INCLUDE (processing_region, department, item, scope, mode, agent_window, origin_region, clock_budget_days,
           clock_used_days, clock_running_since)
  WHERE overdue_at IS NOT NULL AND completed_at IS NULL AND rejected_at IS NULL AND status <> 'withdrawn';

CREATE TABLE report_month_state (
  month date PRIMARY KEY,
  computed_at timestamptz NOT NULL
);

CREATE TABLE report_month_changes (
  month date NOT NULL
);
CREATE INDEX report_month_changes_month_idx ON report_month_changes (month);

CREATE FUNCTION cases_report_months_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  months date[] := '{}';
BEGIN
  IF TG_OP <> 'INSERT' THEN months := months || ARRAY[${monthsOf('OLD')}]; END IF;
  IF TG_OP <> 'DELETE' THEN months := months || ARRAY[${monthsOf('NEW')}]; END IF;
  INSERT INTO report_month_changes (month)
    SELECT DISTINCT m FROM unnest(months) m WHERE m < tongban_cst_month(now());
  RETURN NULL;
END $$;

CREATE TRIGGER cases_report_months_on_insert AFTER INSERT ON cases
  FOR EACH ROW WHEN (${anyBefore('NEW')}) EXECUTE FUNCTION cases_report_months_changed();
CREATE TRIGGER cases_report_months_on_update AFTER UPDATE ON cases
  FOR EACH ROW WHEN (${anyBefore('OLD')} OR ${anyBefore('NEW')}) EXECUTE FUNCTION cases_report_months_changed();
CREATE TRIGGER cases_report_months_on_delete AFTER DELETE ON cases
  FOR EACH ROW WHEN (${anyBefore('OLD')}) EXECUTE FUNCTION cases_report_months_changed();
`,
}
