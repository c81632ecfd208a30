/**
 * 一事联办 (one-thing bundles): files submitted once, 容缺受理 (materials accepted as outstanding), and joint
 * site inspections (联合踏勘) shared by several child cases.
 *
 * Files live in PostgreSQL (bytea), keyed by their SHA-256: every gateway instance shares the one database
 * (the data directory is per instance), a file is written in the same transaction as its metadata, and a
 * backup of the database is a backup of the files. Content-addressed, so the same bytes are stored once.
 */
export const migration0007 = {
  version: 7,
  name: 'one-thing',
  sql: /* sql */ `
CREATE TABLE files (
  sha256     text COLLATE "C" PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  media_type text NOT NULL,
  size       int NOT NULL CHECK (size >= 0),
  content    bytea NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

-- Who submitted a file (each uploader once, however often they sent it); 'peer' when fetched from the origin.
CREATE TABLE file_uploads (
  sha256      text COLLATE "C" NOT NULL REFERENCES files (sha256),
  uploaded_by text NOT NULL,
  source      text NOT NULL CHECK (source IN ('upload', 'peer')),
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (sha256, uploaded_by)
);

-- Which cases reference a file: materials @> '[{"sha256": "…"}]'.
CREATE INDEX cases_materials_idx ON cases USING gin (materials jsonb_path_ops);

-- 容缺受理: non-essential materials accepted as missing, to be supplied by supply_by.
ALTER TABLE cases ADD COLUMN outstanding_materials text[] NOT NULL DEFAULT '{}';
ALTER TABLE cases ADD COLUMN supply_by date;
CREATE INDEX cases_supply_by_idx ON cases (supply_by) WHERE supply_by IS NOT NULL;

-- 联合踏勘: one inspection suspends several children of a parent together, and resumes them together.
CREATE TABLE inspections (
  id           text COLLATE "C" PRIMARY KEY,
  parent_id    text COLLATE "C" NOT NULL REFERENCES cases (id),
  children     text[] NOT NULL,
  date         date NOT NULL,
  place        text NOT NULL,
  status       text NOT NULL CHECK (status IN ('scheduled', 'completed')),
  created_by   text NOT NULL,
  created_at   timestamptz(3) NOT NULL,
  completed_by text,
  completed_at timestamptz(3)
);
CREATE INDEX inspections_parent_idx ON inspections (parent_id);
`,
}
