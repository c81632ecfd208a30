/**
 * Appending an event to a case: the one mechanism behind the parties' events (`postEvent`), the
 * gateway's own (dispatched, delivery_failed, polled statuses …) and re-drives. Under the case's row
 * lock: the status machine, the case's new state, the next link of the hash chain, and an outbox row so
 * that the other side learns of it; all in one transaction.
 */
import { allowedEvents, applyEvent, type EventType, eventSide } from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import type { CaseEvent, CaseRecord, CaseTx } from '../../ports/case-store.js'
import type { CaseDeps } from '../context.js'

export interface AppendEvent {
  type: EventType
  actor: string
  data?: Record<string, unknown>
  /** Case fields the event sets besides its state; a function gets the case as locked. */
  patch?: CasePatch | ((current: CaseRecord) => CasePatch)
  /** More outbox rows in the same transaction (a re-drive queues the dispatch again). */
  outbox?: { topic: string; key: string; payload: Record<string, unknown> }[]
}

type CasePatch = Partial<
  Pick<CaseRecord, 'outcome' | 'dueDate' | 'dueAt' | 'remoteRef' | 'outstandingMaterials' | 'supplyBy' | 'materials'>
>

/**
 * Appends one event inside the caller's transaction `tx`: locks the case, applies the status machine,
 * updates the case, appends to the chain and adds the outbox rows. `appendCaseEvent` runs it in a
 * transaction of its own; a verb that changes several cases at once (a joint inspection) runs it for
 * each, in one transaction, in a fixed order of ids so that two such verbs never deadlock.
 * @throws AppError as `appendCaseEvent`.
 */
export async function appendCaseEventInTx(
  tx: CaseTx,
  caseId: string,
  e: AppendEvent,
  now: Date,
): Promise<{ event: CaseEvent; status: CaseRecord['status'] }> {
  const current = await tx.lockCase(caseId)
  if (!current) throw new AppError('not_found', `no case ${caseId}`)
  const state = {
    status: current.status,
    mode: current.mode,
    suspended: current.suspended,
    rated: current.rated,
    outstanding: current.outstandingMaterials.length > 0,
  }
  const next = applyEvent(state, e.type)
  if (!next.ok) {
    throw new AppError('invalid_transition', next.reason, {
      context: { caseId },
      expose: {
        currentStatus: current.status,
        allowedEvents: allowedEvents(state).filter((t) => eventSide[t] !== 'gateway'),
      },
    })
  }
  const patch = typeof e.patch === 'function' ? e.patch(current) : e.patch
  await tx.updateCase(
    caseId,
    { status: next.state.status, suspended: next.state.suspended, rated: next.state.rated, ...patch },
    now,
  )
  const event = await tx.appendEvent(caseId, { type: e.type, at: now, actor: e.actor, data: e.data ?? {} })
  await tx.addOutbox('case.event', `${caseId}-${event.seq}`, { caseId, seq: event.seq })
  for (const row of e.outbox ?? []) await tx.addOutbox(row.topic, row.key, row.payload)
  return { event, status: next.state.status }
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
  const result = await deps.cases.transaction((tx) => appendCaseEventInTx(tx, caseId, e, now))
  deps.afterCommit?.()
  return result
}

/** An event the gateway records itself (actor `gateway` unless told otherwise). */
export async function recordGatewayEvent(
  deps: CaseDeps,
  caseId: string,
  type: EventType,
  data: Record<string, unknown> = {},
  patch: CasePatch = {},
  actor = 'gateway',
): Promise<CaseEvent> {
  return (await appendCaseEvent(deps, caseId, { type, actor, data, patch })).event
}
