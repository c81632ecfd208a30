/**
 * Dispatch: which adapter serves which region (bindings), the other side's reference of a delivered
 * case, and the dead letters of deliveries that gave up.
 */
export const migration0003 = {
  version: 3,
  name: 'dispatch',
  sql: /* sql */ `
-- One adapter per region subtree; region '*' is the default for regions no other binding covers.
CREATE TABLE bindings (
  region     text PRIMARY KEY,
  adapter    text NOT NULL CHECK (adapter IN ('peer', 'rest', 'manual', 'sim')),
  doc        jsonb NOT NULL,
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_by text NOT NULL
);

ALTER TABLE cases ADD COLUMN remote_ref text;

CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  case_id     text NOT NULL REFERENCES cases(id),
  kind        text NOT NULL CHECK (kind IN ('dispatch', 'event')),
  region      text NOT NULL,
  adapter     text NOT NULL,
  reason      text NOT NULL,
  attempts    int NOT NULL,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  redriven_at timestamptz(3),
  redriven_by text
);
CREATE INDEX dead_letters_open_idx ON dead_letters (created_at) WHERE redriven_at IS NULL;
CREATE INDEX dead_letters_case_idx ON dead_letters (case_id);
`,
}
