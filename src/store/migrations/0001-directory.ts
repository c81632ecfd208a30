/** The configuration directory: regions, items, things, calendars and versioned agreements. */
export const migration0001 = {
  version: 1,
  name: 'directory',
  sql: /* sql */ `
CREATE TABLE regions (
  code       text PRIMARY KEY,
  name       text NOT NULL,
  level      text NOT NULL,
  parent     text,
  province   text NOT NULL,
  status     text NOT NULL,
  successors text[] NOT NULL DEFAULT '{}',
  tags       text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE items (
  code       text PRIMARY KEY,
  doc        jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE things (
  id         text PRIMARY KEY,
  doc        jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE calendars (
  year int PRIMARY KEY,
  doc  jsonb NOT NULL
);

-- One row per agreement version; a version is immutable except for its status.
CREATE TABLE agreements (
  id         text NOT NULL,
  version    int NOT NULL,
  status     text NOT NULL,
  doc        jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  PRIMARY KEY (id, version)
);

CREATE INDEX agreements_id_version_idx ON agreements (id, version DESC);
`,
}
