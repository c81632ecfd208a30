/**
 * Appending an event to a case: the one mechanism behind the parties' events (`postEvent`), the
 * gateway's own (dispatched, delivery_failed, polled statuses …) and re-drives. Under the case's row
 * lock: the status machine, the case's new state, the next link of the hash chain, and an outbox row so
 * that the other side learns of it; all in one transaction.
 */
import { allowedEvents, applyEvent, type EventType, eventSide } from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import type { CaseEvent, CaseRecord } from '../../ports/case-store.js'
import type { CaseDeps } from '../context.js'
import { advanceClock } from './deadline-hook.js'

export interface AppendEvent {
  type: EventType
  actor: string
  data?: Record<string, unknown>
  /** Case fields the event sets besides its state. */
  patch?: Partial<Pick<CaseRecord, 'outcome' | 'dueDate' | 'dueAt' | 'remoteRef'>>
  /** More outbox rows in the same transaction (a re-drive queues the dispatch again). */
  outbox?: { topic: string; key: string; payload: Record<string, unknown> }[]
}

/**
 * @throws AppError `not_found` for an unknown case; `invalid_transition` (409) with `currentStatus` and the
 *   events the parties may post now, when the status does not allow the event.
 */
export async function appendCaseEvent(
  deps: CaseDeps,
  caseId: string,
  e: AppendEvent,
): Promise<{ event: CaseEvent; status: CaseRecord['status'] }> {
  const now = deps.clock.now()
  // Read before the transaction: a directory reload queries the database (one connection on PGlite).
  const snapshot = await deps.directory.snapshot()
  const result = await deps.cases.transaction(async (tx) => {
    const current = await tx.lockCase(caseId)
    if (!current) throw new AppError('not_found', `no case ${caseId}`)
    const state = { status: current.status, mode: current.mode, suspended: current.suspended, rated: current.rated }
    const next = applyEvent(state, e.type)
    if (!next.ok) {
      throw new AppError('invalid_transition', next.reason, {
        expose: {
          currentStatus: current.status,
          allowedEvents: allowedEvents(state).filter((t) => eventSide[t] !== 'gateway'),
        },
      })
    }
    await tx.updateCase(
      caseId,
      { status: next.state.status, suspended: next.state.suspended, rated: next.state.rated, ...e.patch },
      now,
    )
    // Deadline clock and evaluation facts (#7): may refuse a stale timer; plans timers in the outbox.
    await advanceClock(tx, current, { type: e.type, data: e.data ?? {} }, next.state, snapshot, now)
    const event = await tx.appendEvent(caseId, { type: e.type, at: now, actor: e.actor, data: e.data ?? {} })
    await tx.addOutbox('case.event', `${caseId}-${event.seq}`, { caseId, seq: event.seq })
    for (const row of e.outbox ?? []) await tx.addOutbox(row.topic, row.key, row.payload)
    return { event, status: next.state.status }
  })
  deps.afterCommit?.()
  return result
}

/** An event the gateway records itself (actor `gateway` unless told otherwise). */
export async function recordGatewayEvent(
  deps: CaseDeps,
  caseId: string,
  type: EventType,
  data: Record<string, unknown> = {},
  patch: AppendEvent['patch'] = {},
  actor = 'gateway',
): Promise<CaseEvent> {
  return (await appendCaseEvent(deps, caseId, { type, actor, data, patch })).event
}
