/**
 * A short case number for people (办件编号, `420303-20261206-0001`): the origin region, the day in China
 * Standard Time and a sequence per (origin region, day), allocated atomically by `case_numbers` (one upsert
 * per submission, before the intake statement; a submission that is then not written leaves a gap, never a
 * duplicate). A bundle's children carry their parent's number and a suffix (`…-0001-2`). The index makes the
 * number unique and searchable. Existing top-level cases are numbered here in creation order.
 */
export const migration0029 = {
  version: 29,
  name: 'case-numbers',
  sql: /* sql */ `
CREATE TABLE case_numbers (
  origin_region text NOT NULL,
  day           date NOT NULL,
  last          int NOT NULL,
  PRIMARY KEY (origin_region, day)
);

ALTER TABLE cases ADD COLUMN number text COLLATE "C";

WITH ranked AS (
  SELECT id, origin_region,
         ((created_at AT TIME ZONE 'UTC') + interval '8 hours')::date AS day,
         row_number() OVER (PARTITION BY origin_region, ((created_at AT TIME ZONE 'UTC') + interval '8 hours')::date
                            ORDER BY id) AS n
    FROM cases
   WHERE parent_id IS NULL
)
UPDATE cases c
   SET number = r.origin_region || '-' || to_char(r.day, 'YYYYMMDD') || '-' ||
                CASE WHEN r.n < 10000 THEN lpad(r.n::text, 4, '0') ELSE r.n::text END
  FROM ranked r
 WHERE c.id = r.id;

WITH kids AS (
  SELECT k.id, p.number || '-' || row_number() OVER (PARTITION BY k.parent_id ORDER BY k.id) AS number
    FROM cases k JOIN cases p ON p.id = k.parent_id
)
UPDATE cases c SET number = kids.number FROM kids WHERE c.id = kids.id;

INSERT INTO case_numbers (origin_region, day, last)
SELECT origin_region, ((created_at AT TIME ZONE 'UTC') + interval '8 hours')::date, count(*)
  FROM cases WHERE parent_id IS NULL
 GROUP BY 1, 2;

CREATE UNIQUE INDEX cases_number_key ON cases (number);
`,
}
