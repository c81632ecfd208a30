/**
 * The audit trail of administrative and security actions (docs/audit.md): one hash-chained record per
 * action, append-only like the case timelines (a trigger refuses UPDATE, DELETE and TRUNCATE; the runtime
 * role is granted only SELECT and INSERT). Old records leave only through `tongban_prune_audit`, a SECURITY
 * DEFINER function owned by the tables' owner: it deletes a prefix of the chain older than the retention
 * (never less than 180 days, whatever it is asked) and already covered by a signed checkpoint, and keeps an
 * anchor (the last pruned record's seq and hash) from which verification goes on. The people's tokens gain
 * the separated duties `security` and `auditor` (三员分立).
 */
export const migration0025 = {
  version: 25,
  name: 'audit-trail',
  sql: /* sql */ `
ALTER TABLE person_tokens DROP CONSTRAINT IF EXISTS person_tokens_role_check;
ALTER TABLE person_tokens ADD CONSTRAINT person_tokens_role_check
  CHECK (role IN ('admin', 'operator', 'security', 'auditor'));

CREATE TABLE audit_records (
  seq        bigint PRIMARY KEY CHECK (seq >= 1),
  at         timestamptz(3) NOT NULL,
  actor_kind text NOT NULL CHECK (actor_kind IN ('person', 'client', 'cli', 'system', 'anonymous')),
  actor_id   text,
  actor_name text,
  actor_role text,
  via        text NOT NULL CHECK (via IN ('api', 'console', 'cli', 'system')),
  source     text,
  user_agent text,
  action     text NOT NULL,
  target     text,
  outcome    text NOT NULL CHECK (outcome IN ('done', 'refused', 'failed')),
  reason     text,
  change     jsonb,
  count      int NOT NULL DEFAULT 1 CHECK (count >= 1),
  prev_hash  text NOT NULL,
  hash       text NOT NULL UNIQUE
);
CREATE INDEX audit_records_at_idx ON audit_records (at);
CREATE INDEX audit_records_action_idx ON audit_records (action, seq);
CREATE INDEX audit_records_actor_idx ON audit_records (actor_id, seq);

-- What each prune removed: the chain goes on from through_hash.
CREATE TABLE audit_prunes (
  through_seq  bigint PRIMARY KEY,
  through_hash text NOT NULL,
  records      int NOT NULL,
  older_than   timestamptz(3) NOT NULL,
  at           timestamptz(3) NOT NULL
);

CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_records'
     AND current_setting('tongban.audit_prune', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER audit_records_no_update_delete BEFORE UPDATE OR DELETE ON audit_records
  FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
  FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();
CREATE TRIGGER audit_prunes_no_update_delete BEFORE UPDATE OR DELETE ON audit_prunes
  FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
CREATE TRIGGER audit_prunes_no_truncate BEFORE TRUNCATE ON audit_prunes
  FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();

-- Deletes the records older than keep_days (at least 180) that a checkpoint already covers, from the start
-- of the chain, and records the anchor. Runs as the owner (SECURITY DEFINER): the runtime role has no DELETE.
CREATE FUNCTION tongban_prune_audit(keep_days int)
  RETURNS TABLE (through_seq bigint, through_hash text, records int)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  cutoff  timestamptz := now() - make_interval(days => greatest(coalesce(keep_days, 180), 180));
  covered bigint;
  done    bigint;
  k       bigint;
  h       text;
  n       int;
BEGIN
  PERFORM pg_advisory_xact_lock(1635083380, 0);
  SELECT coalesce(max(l.event_seq), 0) INTO covered FROM checkpoint_leaves l WHERE l.case_id = 'audit:trail';
  SELECT coalesce(max(p.through_seq), 0) INTO done FROM audit_prunes p;
  SELECT coalesce(min(a.seq) - 1, (SELECT coalesce(max(b.seq), 0) FROM audit_records b)) INTO k
    FROM audit_records a WHERE a.at >= cutoff;
  k := least(k, covered);
  IF k <= done THEN
    RETURN;
  END IF;
  SELECT a.hash INTO h FROM audit_records a WHERE a.seq = k;
  PERFORM set_config('tongban.audit_prune', 'on', true);
  DELETE FROM audit_records a WHERE a.seq <= k;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM set_config('tongban.audit_prune', 'off', true);
  INSERT INTO audit_prunes (through_seq, through_hash, records, older_than, at) VALUES (k, h, n, cutoff, now());
  RETURN QUERY SELECT k, h, n;
END
$$;
`,
}
