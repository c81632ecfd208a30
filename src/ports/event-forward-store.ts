/**
 * Which of a case's events were forwarded to the other side (services/dispatch/forward.ts): the order marks
 * an event's successor going the same way waits for, kept in PostgreSQL beside the events themselves.
 */
import type { EventType } from '../domain/lifecycle.js'

export type ForwardDirection = 'to_processing' | 'to_origin'

/** An event the sweeper looks at: not forwarded, not an open dead letter. */
export interface UnforwardedEvent {
  caseId: string
  seq: number
  type: EventType
  at: Date
  /** The newest re-driven dead letter of this event (its job id names it), or null. */
  redriveOf: number | null
}

/** Which events `unforwarded` looks at (see there). */
export interface UnforwardedQuery {
  since: Date
  before: Date
  toProcessing: readonly string[]
  toOrigin: readonly string[]
  after: { at: Date; caseId: string; seq: number } | null
  limit: number
}

export interface EventForwardStore {
  /** Whether the event `seq` of the case was forwarded. */
  isForwarded(caseId: string, seq: number): Promise<boolean>
  /** Marks it forwarded; idempotent (a second mark of the same event keeps the first). */
  markForwarded(caseId: string, seq: number, direction: ForwardDirection, at: Date): Promise<void>
  /**
   * Events recorded in [`since`, `before`) that may go to the other side and are not forwarded: of a type in
   * `toProcessing` on a case delivered there (`remote_ref`), or of a type in `toOrigin` on a case with an
   * `external_ref`; not of a parent case; without an open (not re-driven) dead letter. Oldest first, after
   * `after` (keyset paging), at most `limit`.
   */
  unforwarded(q: UnforwardedQuery): Promise<UnforwardedEvent[]>
}
