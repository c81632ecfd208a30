/**
 * Signed checkpoints ( tamper evidence): each checkpoint is a JWS by the gateway's key over the Merkle
 * root of the chain heads (one leaf per event) appended since the checkpoint before, linked to that one by
 * the hash of its JWS. The leaves are kept so that inclusion proofs can be built later. Peer gateways witness
 * the checkpoints: what they answered (countersignatures) is kept here, and what this gateway holds as a
 * witness of others is kept in `witnessed_checkpoints`. All four tables are append-only: a trigger refuses
 * UPDATE, DELETE and TRUNCATE (a superuser can disable it; the signatures and the witnesses' copies are what
 * then shows the rewrite).
 */
export const migration0017 = {
  version: 17,
  name: 'checkpoints',
  sql: /* sql */ `
CREATE TABLE checkpoints (
  seq        bigint PRIMARY KEY CHECK (seq >= 1),
  jws        text NOT NULL,
  root       text NOT NULL,
  size       int NOT NULL CHECK (size >= 1),
  prev       text NOT NULL,
  hash       text NOT NULL UNIQUE,
  created_at timestamptz(3) NOT NULL
);

CREATE TABLE checkpoint_leaves (
  checkpoint_seq bigint NOT NULL REFERENCES checkpoints (seq),
  idx            int NOT NULL CHECK (idx >= 0),
  case_id        text COLLATE "C" NOT NULL,
  event_seq      int NOT NULL,
  head           text NOT NULL,
  PRIMARY KEY (checkpoint_seq, idx)
);
CREATE UNIQUE INDEX checkpoint_leaves_case_idx ON checkpoint_leaves (case_id, event_seq);

-- A witness's answer to one of our checkpoints.
CREATE TABLE checkpoint_countersignatures (
  checkpoint_seq   bigint NOT NULL REFERENCES checkpoints (seq),
  witness          text NOT NULL,
  countersignature text NOT NULL,
  received_at      timestamptz(3) NOT NULL,
  PRIMARY KEY (checkpoint_seq, witness)
);

-- Another gateway's checkpoints that this gateway witnessed.
CREATE TABLE witnessed_checkpoints (
  origin           text NOT NULL,
  seq              bigint NOT NULL CHECK (seq >= 1),
  jws              text NOT NULL,
  root             text NOT NULL,
  size             int NOT NULL,
  prev             text NOT NULL,
  hash             text NOT NULL,
  countersignature text NOT NULL,
  received_at      timestamptz(3) NOT NULL,
  PRIMARY KEY (origin, seq)
);

CREATE FUNCTION checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON checkpoints
  FOR EACH ROW EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER checkpoint_leaves_no_update_delete BEFORE UPDATE OR DELETE ON checkpoint_leaves
  FOR EACH ROW EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER checkpoint_leaves_no_truncate BEFORE TRUNCATE ON checkpoint_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER checkpoint_countersignatures_no_update_delete BEFORE UPDATE OR DELETE ON checkpoint_countersignatures
  FOR EACH ROW EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER checkpoint_countersignatures_no_truncate BEFORE TRUNCATE ON checkpoint_countersignatures
  FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER witnessed_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON witnessed_checkpoints
  FOR EACH ROW EXECUTE FUNCTION checkpoints_append_only();
CREATE TRIGGER witnessed_checkpoints_no_truncate BEFORE TRUNCATE ON witnessed_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_append_only();
`,
}
