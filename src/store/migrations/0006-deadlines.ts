/**
 * Deadlines and evaluation (考评): the deadline clock of each case (durable, so a sweep can fire what a
 * lost Redis job did not), the facts the performance report groups and sums (acceptance, completion,
 * working-day handling time, rating, supplement rounds, the item's department), and their indexes.
 */
export const migration0006 = {
  version: 6,
  name: 'deadlines',
  sql: /* sql */ `
ALTER TABLE cases
  ADD COLUMN department        text,
  ADD COLUMN accepted_at       timestamptz(3),
  ADD COLUMN clock_budget_days double precision,
  ADD COLUMN clock_used_days   double precision NOT NULL DEFAULT 0,
  ADD COLUMN clock_running_since timestamptz(3),
  ADD COLUMN warn_percent      smallint NOT NULL DEFAULT 80,
  ADD COLUMN warn_at           timestamptz(3),
  ADD COLUMN warned_at         timestamptz(3),
  ADD COLUMN overdue_at        timestamptz(3),
  ADD COLUMN completed_at      timestamptz(3),
  ADD COLUMN rejected_at       timestamptz(3),
  ADD COLUMN handling_days     double precision,
  ADD COLUMN on_time           boolean,
  ADD COLUMN supplement_rounds int NOT NULL DEFAULT 0,
  ADD COLUMN rating            smallint CHECK (rating BETWEEN 1 AND 5),
  ADD COLUMN rating_comment    text,
  ADD COLUMN rated_at          timestamptz(3);

-- The item's department, denormalised at insert so the report groups without a join (intake unchanged).
CREATE FUNCTION cases_department() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.department IS NULL AND NEW.item IS NOT NULL THEN
    NEW.department := (SELECT doc->>'department' FROM items WHERE code = NEW.item);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER cases_department_on_insert BEFORE INSERT ON cases
  FOR EACH ROW EXECUTE FUNCTION cases_department();
UPDATE cases c SET department = i.doc->>'department' FROM items i WHERE i.code = c.item AND c.department IS NULL;

-- The report's period filters (submitted, completed, rejected in the period) and the overdue snapshot.
CREATE INDEX cases_created_at_idx ON cases (created_at);
CREATE INDEX cases_completed_at_idx ON cases (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX cases_rejected_at_idx ON cases (rejected_at) WHERE rejected_at IS NOT NULL;
CREATE INDEX cases_rated_at_idx ON cases (rated_at) WHERE rated_at IS NOT NULL;
CREATE INDEX cases_overdue_open_idx ON cases (overdue_at)
  WHERE overdue_at IS NOT NULL AND completed_at IS NULL AND rejected_at IS NULL AND status <> 'withdrawn';
-- The sweep: running clocks by their next instant.
CREATE INDEX cases_clock_warn_idx ON cases (warn_at) WHERE clock_running_since IS NOT NULL AND warn_at IS NOT NULL;
CREATE INDEX cases_clock_due_idx ON cases (due_at) WHERE clock_running_since IS NOT NULL AND overdue_at IS NULL;
`,
}
