/**
 * Each event records the digest its chain link was made with (`HASH_ALG`: `sha256` or `sm3`), so that a case
 * whose chain spans a change of the setting still verifies link by link. Outside the hashed content; every
 * event written before it was chained with SHA-256, which the default says.
 */
export const migration0023 = {
  version: 23,
  name: 'event-hash-alg',
  sql: /* sql */ `
ALTER TABLE case_events
  ADD COLUMN hash_alg text NOT NULL DEFAULT 'sha256' CONSTRAINT case_events_hash_alg_check CHECK (hash_alg IN ('sha256', 'sm3'));
`,
}
