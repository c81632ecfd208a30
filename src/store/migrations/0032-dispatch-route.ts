/**
 * The delivery route a case was dispatched on: the binding (adapter and settings, which never hold
 * secrets) as it was when the case was delivered. A case's later events follow it, so that re-binding a
 * region does not send them to a system that never received the case (services/dispatch/forward.ts).
 * Cases dispatched before this migration have none: their events follow the binding in force, as before.
 */
export const migration0032 = {
  version: 32,
  name: 'dispatch-route',
  sql: /* sql */ `
ALTER TABLE cases ADD COLUMN dispatch_route jsonb;
`,
}
