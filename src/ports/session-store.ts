import type { PersonToken } from './callers.js'

/** A live web console session, with the person's token it was opened with. */
export interface ConsoleSession {
  tokenId: string
  csrf: string
  createdAt: Date
  lastSeenAt: Date
  expiresAt: Date
  person: PersonToken
}

/**
 * Web console sessions, keyed by the SHA-256 of the cookie's secret (the secret itself is never stored).
 *
 * Contract:
 * - `touch` returns the session only while it is live: not ended, seen within `idleMs` of `now`, before its
 *   absolute `expiresAt`, and its token not revoked; it then records `now` as the last request. A dead
 *   session stays dead (a later `touch` never revives it).
 * - `end` ends it (sign-out); ending an unknown or ended session is not an error.
 */
export interface SessionStore {
  create(session: { secretHash: Buffer; tokenId: string; csrf: string; now: Date; expiresAt: Date }): Promise<void>
  touch(secretHash: Buffer, now: Date, idleMs: number): Promise<ConsoleSession | null>
  end(secretHash: Buffer, now: Date): Promise<void>
}
