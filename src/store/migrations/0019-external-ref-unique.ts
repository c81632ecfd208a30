/**
 * PROTOCOL 1.1 §4: a system client's `externalRef` names one case for ever. A unique index on
 * (created_by, external_ref) over the top-level cases that system clients submitted (a bundle's children
 * carry their parent's reference and are left out; operators' references are not unique, see
 * docs/delivery.md). Rows that already break the rule are kept, not deleted (their timelines are
 * append-only evidence): the oldest of each (client, reference) stays the one the reference names, the
 * later ones are marked `external_ref_duplicate` and listed in `external_ref_duplicates` for an operator
 * (`tongban doctor` reports them).
 */
export const migration0019 = {
  version: 19,
  name: 'external-ref-unique',
  sql: /* sql */ `
ALTER TABLE cases ADD COLUMN external_ref_duplicate boolean NOT NULL DEFAULT false;

CREATE TABLE external_ref_duplicates (
  case_id      text COLLATE "C" PRIMARY KEY REFERENCES cases (id),
  kept_case_id text COLLATE "C" NOT NULL REFERENCES cases (id),
  created_by   text NOT NULL,
  external_ref text NOT NULL,
  found_at     timestamptz(3) NOT NULL DEFAULT now()
);

WITH ranked AS (
  SELECT id, created_by, external_ref,
         first_value(id) OVER w AS kept,
         row_number() OVER w AS n
    FROM cases
   WHERE created_by_kind = 'client' AND parent_id IS NULL AND external_ref IS NOT NULL
  WINDOW w AS (PARTITION BY created_by, external_ref ORDER BY created_at, id)
)
INSERT INTO external_ref_duplicates (case_id, kept_case_id, created_by, external_ref)
SELECT id, kept, created_by, external_ref FROM ranked WHERE n > 1;

UPDATE cases SET external_ref_duplicate = true WHERE id IN (SELECT case_id FROM external_ref_duplicates);

CREATE UNIQUE INDEX cases_client_external_ref_key ON cases (created_by, external_ref)
  WHERE created_by_kind = 'client' AND parent_id IS NULL AND external_ref IS NOT NULL AND NOT external_ref_duplicate;
`,
}
