/**
 * The event a dead letter of kind `event` is about (its `seq` in the case's events), so that a re-drive
 * queues that event again; null for dead letters of kind `dispatch`. Existing event letters get it from
 * their reason (`event <seq>: …`).
 */
export const migration0012 = {
  version: 12,
  name: 'dead-letter-seq',
  sql: /* sql */ `
ALTER TABLE dead_letters ADD COLUMN seq int;
UPDATE dead_letters SET seq = substring(reason from '^event ([0-9]+):')::int WHERE kind = 'event';
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_seq_kind CHECK (kind = 'event' OR seq IS NULL);
`,
}
