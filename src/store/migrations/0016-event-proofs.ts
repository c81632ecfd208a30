/**
 * Every event carries its proof (docs/trust.md): the gateway's signature over the event's hash, and for an
 * event a system client posted, the request assertion that carried it and the raw body that assertion binds
 * (`bsh`). Outside the hash chain, so that earlier rows keep their hashes; events written before this
 * migration have none ("unproven (before proofs)").
 */
export const migration0016 = {
  version: 16,
  name: 'event-proofs',
  sql: /* sql */ `
ALTER TABLE case_events
  ADD COLUMN proof text,
  ADD COLUMN assertion text,
  ADD COLUMN body text;
`,
}
