/**
 * The follow-up idempotency rule. `POST /v1/cases/{id}/events` has no idempotency key, so a retry of an event
 * that the peer did apply (the answer was lost to a timeout) is refused with 409 `invalid_transition` and the
 * case's `currentStatus`. The retry counts as delivered when that status proves the event was applied:
 *
 * - for an event that changes the status: `currentStatus` is its target status, or a status the lifecycle
 *   reaches from there but cannot reach from the statuses that allowed the event without passing through it
 *   (a retried `accepted` finding `in_review`: yes; a retried `rejected` finding `closed`: no, since a case
 *   also closes after its result is delivered);
 * - for an event that only sets a flag (`suspended`, `resumed`, `rated`): `currentStatus` is one the event is
 *   allowed in, so the refusal can only come from the flag being set already.
 *
 * Any other 409 `invalid_transition` is a non-retryable failure: the two timelines disagree. The table is
 * checked against the lifecycle's own transition function in test/unit/adapters-peer.test.ts.
 */
import type { EventType } from '../_shared/event-types.js'

const afterAccepted = ['accepted', 'supplement_requested', 'in_review', 'completed', 'result_delivered'] as const

const appliedIn: Partial<Record<EventType, ReadonlySet<string>>> = {
  materials_shipped: new Set(['materials_shipped', 'materials_received', 'rejected', 'closed', ...afterAccepted]),
  materials_received: new Set(['materials_received', 'rejected', 'closed', ...afterAccepted]),
  accepted: new Set(afterAccepted),
  rejected: new Set(['rejected']),
  supplement_requested: new Set(['supplement_requested']),
  supplement_provided: new Set(['accepted', 'in_review', 'completed', 'result_delivered', 'closed']),
  in_review: new Set(['in_review']),
  withdrawn: new Set(['withdrawn']),
  result_delivered: new Set(['result_delivered', 'closed']),
  closed: new Set(['closed']),
  suspended: new Set(['accepted', 'supplement_requested', 'in_review']),
  inspection_scheduled: new Set(['accepted', 'supplement_requested', 'in_review']),
  rated: new Set(['result_delivered', 'closed']),
  // Changes nothing but the timeline: a 409 in a status that takes it cannot come from a first delivery.
  recognition_failed: new Set(['accepted', 'in_review', 'completed', 'result_delivered']),
}

/** Whether a 409 `invalid_transition` with `currentStatus` shows that an event of `type` is already applied. */
export function alreadyApplied(type: EventType, currentStatus: string): boolean {
  // `resumed` is allowed in every status: its only refusal is "the case is not suspended".
  if (type === 'resumed' || type === 'inspection_completed') return true
  return appliedIn[type]?.has(currentStatus) ?? false
}
