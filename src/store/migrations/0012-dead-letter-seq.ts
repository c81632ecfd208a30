/**
 * The event a dead letter of kind `event` is about (its `seq` in the case's events), so that a re-drive
 * queues that event again; null for dead letters of kind `dispatch`. Existing event letters get it from
 * their reason (`event <seq>: …`). And an index for the newest dead letter of a region.
 */
export const migration0012 = {
  version: 12,
  name: 'dead-letter-seq',
  sql: /* sql */ `
ALTER TABLE dead_letters ADD COLUMN seq int;
UPDATE dead_letters SET seq = substring(reason from '^event ([0-9]+):')::int WHERE kind = 'event';
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_seq_kind CHECK (kind = 'event' OR seq IS NULL);
-- The newest dead letter of a region (the bindings page's last delivery).
CREATE INDEX dead_letters_region_id_idx ON dead_letters (region, id);
`,
}
