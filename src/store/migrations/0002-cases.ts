/**
 * Cases and their hash-chained timeline, the transactional outbox, idempotency answers, registered
 * system clients and person tokens. Timestamps are `timestamptz(3)`: JavaScript dates carry
 * milliseconds, and the hash chain hashes `at.toISOString()`, so what is read back must equal what
 * was hashed, including the values `now()` fills in.
 */
export const migration0002 = {
  version: 2,
  name: 'cases',
  sql: /* sql */ `
CREATE TABLE clients (
  id         text PRIMARY KEY,
  name       text,
  regions    text[] NOT NULL,
  jwks       jsonb,
  jwks_url   text,
  status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  revoked_at timestamptz(3),
  CONSTRAINT clients_keys_present CHECK (jwks IS NOT NULL OR jwks_url IS NOT NULL)
);

-- A person's bearer token: only the SHA-256 of its secret is stored.
CREATE TABLE person_tokens (
  id          text PRIMARY KEY,
  secret_hash bytea NOT NULL UNIQUE,
  role        text NOT NULL CHECK (role IN ('admin', 'operator')),
  region      text,
  window_id   text,
  name        text,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  revoked_at  timestamptz(3)
);

-- Ids are UUIDv7 strings, time-ordered byte-wise: COLLATE "C" keeps ORDER BY id (and keyset
-- pagination) in creation order whatever the database's locale, and compares faster.
CREATE TABLE cases (
  id                 text COLLATE "C" PRIMARY KEY,
  external_ref       text,
  parent_id          text COLLATE "C" REFERENCES cases (id),
  created_by         text NOT NULL,
  created_by_kind    text NOT NULL CHECK (created_by_kind IN ('client', 'person')),
  item               text,
  thing              text,
  mode               text NOT NULL,
  scope              text NOT NULL,
  origin_region      text NOT NULL,
  processing_region  text,
  agreement_id       text,
  agreement_version  int,
  status             text NOT NULL,
  outcome            text CHECK (outcome IN ('approved', 'denied')),
  suspended          boolean NOT NULL DEFAULT false,
  rated              boolean NOT NULL DEFAULT false,
  applicant_kind     text NOT NULL,
  applicant_name     text NOT NULL,
  applicant_id_type  text NOT NULL,
  applicant_id_enc   bytea NOT NULL,
  applicant_id_hmac  bytea NOT NULL,
  applicant_id_masked text NOT NULL,
  applicant_phone    text,
  agent_window       text,
  agent_operator     text,
  form               jsonb NOT NULL,
  materials          jsonb NOT NULL,
  delivery           jsonb,
  time_limit         jsonb,
  due_date           date,
  due_at             timestamptz(3),
  body_hash          text NOT NULL,
  assertion          text,
  receipt            text NOT NULL,
  last_seq           int NOT NULL DEFAULT 0,
  created_at         timestamptz(3) NOT NULL,
  updated_at         timestamptz(3) NOT NULL
);

-- Visibility (origin or processing region) with keyset pagination on id, which is time-ordered.
CREATE INDEX cases_origin_region_id_idx ON cases (origin_region, id);
CREATE INDEX cases_processing_region_id_idx ON cases (processing_region, id);
CREATE INDEX cases_parent_id_idx ON cases (parent_id);
CREATE INDEX cases_status_id_idx ON cases (status, id);
CREATE INDEX cases_updated_at_idx ON cases (updated_at);
CREATE INDEX cases_applicant_id_hmac_idx ON cases (applicant_id_hmac);
CREATE INDEX cases_created_by_external_ref_idx ON cases (created_by, external_ref);

-- The timeline of a case, one hash chain per case. Rows are never changed: the triggers below refuse
-- UPDATE, DELETE and TRUNCATE to everyone the triggers bind (a superuser can still disable them,
-- which is what audit verification is there to detect).
CREATE TABLE case_events (
  case_id   text COLLATE "C" NOT NULL REFERENCES cases (id),
  seq       int NOT NULL CHECK (seq >= 1),
  type      text NOT NULL,
  at        timestamptz(3) NOT NULL,
  actor     text NOT NULL,
  data      jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash      text NOT NULL,
  PRIMARY KEY (case_id, seq)
);

CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'case_events is append-only' USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER case_events_no_update_delete
  BEFORE UPDATE OR DELETE ON case_events
  FOR EACH ROW EXECUTE FUNCTION case_events_append_only();

CREATE TRIGGER case_events_no_truncate
  BEFORE TRUNCATE ON case_events
  FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

-- Messages committed with the state change that causes them; a relay moves them to the queue.
CREATE TABLE outbox (
  id         bigserial PRIMARY KEY,
  topic      text NOT NULL,
  key        text NOT NULL,
  payload    jsonb NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

-- The first answer to a request with an Idempotency-Key, replayed to retries.
CREATE TABLE idempotency_keys (
  caller_id  text NOT NULL,
  key        text NOT NULL,
  body_hash  text NOT NULL,
  status     int NOT NULL,
  headers    jsonb NOT NULL,
  body       jsonb NOT NULL,
  created_at timestamptz(3) NOT NULL,
  PRIMARY KEY (caller_id, key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
`,
}
