/**
 * Appending an event to a case: the one mechanism behind the parties' events (`postEvent`), the
 * gateway's own (dispatched, delivery_failed, polled statuses …) and re-drives. Under the case's row
 * lock: the status machine, the case's new state, the next link of the hash chain, and an outbox row so
 * that the other side learns of it; all in one transaction.
 *
 * Families (a one-thing bundle or a `multi_site` case): the parent's row is locked first, then the
 * child's. A child's change re-derives the parent's status, outcome and due date (domain/bundle.ts), and
 * the parent records `completed`, `rejected` or `withdrawn` itself when its last child settles. An origin
 * event on the parent that issues or ends the bundle (`result_delivered`, `closed`, `withdrawn`) applies to
 * every child in the same transaction: the results of a bundle are issued together, never one by one.
 */

import { type ChildState, cascadingEvents, deriveParent, isParentCase } from '../../domain/bundle.js'
import type { DeadlineClock } from '../../domain/deadline.js'
import { travels } from '../../domain/forwarding.js'
import {
  allowedEvents,
  applyEvent,
  type CaseStatus,
  type EventType,
  eventSide,
  type LifecycleState,
} from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import type { CaseEvent, CaseRecord, CaseTx, LockedAppendPlan, RequestProof } from '../../ports/case-store.js'
import type { CaseDeps } from '../context.js'
import type { DirectorySnapshot } from '../directory/snapshot.js'
import { advanceClock, planClock } from './deadline-hook.js'

export interface AppendEvent {
  type: EventType
  actor: string
  data?: Record<string, unknown>
  /** Case fields the event sets besides its state; a function gets the case as locked. */
  patch?: CasePatch | ((current: CaseRecord) => CasePatch)
  /** The client request that carried the event, kept as its proof (also on the children it cascades to). */
  request?: RequestProof | undefined
  /** (1.1) A corrected result replacing one the origin refused: `completed` again on a completed case. */
  resultRefused?: boolean
  /** More outbox rows in the same transaction (a re-drive queues the dispatch again). */
  outbox?: { topic: string; key: string; payload: Record<string, unknown> }[]
}

type CasePatch = Partial<
  Pick<
    CaseRecord,
    'outcome' | 'dueDate' | 'dueAt' | 'remoteRef' | 'dispatchRoute' | 'outstandingMaterials' | 'supplyBy' | 'materials'
  >
>

const stateOf = (c: CaseRecord): LifecycleState => ({
  status: c.status,
  mode: c.mode,
  suspended: c.suspended,
  rated: c.rated,
  outstanding: c.outstandingMaterials.length > 0,
})

const refusal = (reason: string, state: LifecycleState, more: Record<string, unknown> = {}, caseId?: string) =>
  new AppError('invalid_transition', reason, {
    ...(caseId ? { context: { caseId } } : {}),
    expose: {
      currentStatus: state.status,
      allowedEvents: allowedEvents(state).filter((t) => eventSide[t] !== 'gateway'),
      ...more,
    },
  })

/** Applies one event to one locked case: status machine, row, chain link, outbox row. */
async function applyTo(
  tx: CaseTx,
  c: CaseRecord,
  e: AppendEvent,
  now: Date,
  snapshot: DirectorySnapshot,
): Promise<{ event: CaseEvent; record: CaseRecord }> {
  const state = { ...stateOf(c), ...(e.resultRefused ? { resultRefused: true } : {}) }
  const next = applyEvent(state, e.type)
  if (!next.ok) throw refusal(next.reason, state, {}, c.id)
  const own = typeof e.patch === 'function' ? e.patch(c) : e.patch
  const patch = { status: next.state.status, suspended: next.state.suspended, rated: next.state.rated, ...own }
  await tx.updateCase(c.id, patch, now)
  // Deadline clock and evaluation facts: may refuse a stale timer; plans timers in the outbox.
  const clock = await advanceClock(tx, c, { type: e.type, data: e.data ?? {} }, next.state, snapshot, now)
  const due = clock ? { dueAt: clock.dueAt, dueDate: clock.dueDate } : {}
  const event = await tx.appendEvent(c.id, {
    type: e.type,
    at: now,
    actor: e.actor,
    data: e.data ?? {},
    request: e.request,
  })
  if (travels(e.type)) await tx.addOutbox('case.event', `${c.id}-${event.seq}`, { caseId: c.id, seq: event.seq })
  for (const row of e.outbox ?? []) await tx.addOutbox(row.topic, row.key, row.payload)
  return { event, record: { ...c, ...patch, ...due } }
}

const childSummary = (c: CaseRecord) => ({
  id: c.id,
  item: c.item,
  processingRegion: c.processingRegion,
  status: c.status,
  outcome: c.outcome,
})

/**
 * Re-derives a locked parent from its children (one of which, `changed`, was just updated in this
 * transaction); records the parent's own `completed` / `rejected` / `withdrawn` when its last child settles.
 */
async function deriveFamily(tx: CaseTx, parent: CaseRecord, changed: CaseRecord, now: Date): Promise<void> {
  const children = (await tx.lockChildren(parent.id)).map((c) => (c.id === changed.id ? changed : c))
  const derived = deriveParent(children as ChildState[])
  const same =
    derived.status === parent.status &&
    derived.outcome === parent.outcome &&
    derived.dueDate === parent.dueDate &&
    derived.dueAt?.getTime() === parent.dueAt?.getTime()
  if (same) return
  await tx.updateCase(
    parent.id,
    {
      status: derived.status,
      outcome: derived.outcome,
      ...(derived.dueAt ? { dueAt: derived.dueAt, dueDate: derived.dueDate } : {}),
      ...(settledEvent(derived.status) ? { suspended: false } : {}),
    },
    now,
  )
  const type = settledEvent(derived.status)
  if (type && parent.status !== derived.status) {
    const event = await tx.appendEvent(parent.id, {
      type,
      at: now,
      actor: 'gateway',
      data: { outcome: derived.outcome, children: children.map(childSummary) },
    })
    if (travels(type))
      await tx.addOutbox('case.event', `${parent.id}-${event.seq}`, { caseId: parent.id, seq: event.seq })
  }
}

/** The event a parent records of its own when its children settle it in this status. */
function settledEvent(status: CaseStatus): 'completed' | 'rejected' | 'withdrawn' | null {
  return status === 'completed' || status === 'rejected' || status === 'withdrawn' ? status : null
}

/**
 * An issuing or ending origin event posted on a parent, applied to every child that can take it. All
 * children or none: a withdrawal refused by one child (already decided) refuses the whole.
 */
async function cascade(
  tx: CaseTx,
  parent: CaseRecord,
  e: AppendEvent,
  now: Date,
  snapshot: DirectorySnapshot,
): Promise<CaseRecord[]> {
  const children = await tx.lockChildren(parent.id)
  const type = e.type
  const takes = (c: CaseRecord) => applyEvent(stateOf(c), type).ok
  // Children already where the event would take them (or past it) are left as they are.
  const skip = (c: CaseRecord) =>
    c.status === 'withdrawn' || (type !== 'withdrawn' && (c.status === 'rejected' || c.status === 'closed'))
  const blocking = children.filter((c) => !skip(c) && !takes(c))
  const targets = children.filter((c) => !skip(c) && takes(c))
  if (type === 'withdrawn' ? blocking.length > 0 : targets.length === 0 || blocking.length > 0) {
    throw refusal(
      `${type} applies to every child case of the bundle together, and ${
        blocking.length > 0
          ? `child ${blocking.map((c) => `${c.id} (${c.status})`).join(', ')} cannot take it now`
          : 'no child can take it now'
      }`,
      stateOf(parent),
      { children: children.map(childSummary) },
    )
  }
  const updated: CaseRecord[] = []
  for (const child of targets) {
    const data = { ...e.data, parent: parent.id }
    const request = e.request
    updated.push((await applyTo(tx, child, { type, actor: e.actor, data, request }, now, snapshot)).record)
  }
  return children.map((c) => updated.find((u) => u.id === c.id) ?? c)
}

/**
 * Appends one event inside the caller's transaction `tx`, with everything `appendCaseEvent` does (the
 * family's parent locked first, the status machine, the chain, the outbox, the parent re-derived). A verb
 * that changes several cases at once (a joint inspection) runs it for each child in one transaction, in
 * id order: parent first, then children by id, as everywhere, so two such verbs never deadlock.
 * @throws AppError as `appendCaseEvent`.
 */
export async function appendCaseEventInTx(
  tx: CaseTx,
  caseId: string,
  e: AppendEvent,
  now: Date,
  snapshot: DirectorySnapshot,
): Promise<{ event: CaseEvent; status: CaseRecord['status'] }> {
  const parentId = await tx.parentOf(caseId)
  const parent = parentId === null ? null : await tx.lockCase(parentId)
  const current = await tx.lockCase(caseId)
  if (!current) throw new AppError('not_found', `no case ${caseId}`)

  if (parent && cascadingEvents.has(e.type as never) && eventSide[e.type] === 'origin') {
    throw refusal(
      `${e.type} is posted on the bundle's parent case ${parent.id}: its children's results are issued together`,
      stateOf(current),
      { parent: parent.id },
    )
  }
  if (isParentCase(current) && cascadingEvents.has(e.type as never)) {
    // The parent's own transition first (its status machine decides), then every child.
    const own = applyEvent(stateOf(current), e.type)
    if (!own.ok) throw refusal(own.reason, stateOf(current))
    await cascade(tx, current, e, now, snapshot)
    const { event, record } = await applyTo(tx, current, e, now, snapshot)
    return { event, status: record.status }
  }

  const { event, record } = await applyTo(tx, current, e, now, snapshot)
  const moved =
    record.status !== current.status ||
    record.outcome !== current.outcome ||
    record.dueAt?.getTime() !== current.dueAt?.getTime()
  if (parent && moved) await deriveFamily(tx, parent, record, now)
  return { event, status: record.status }
}

/**
 * @throws AppError `not_found` for an unknown case; `invalid_transition` (409) with `currentStatus` and the
 *   events the parties may post now, when the status does not allow the event (for a bundle's child, also
 *   an issuing event that must be posted on the parent).
 */
export async function appendCaseEvent(
  deps: CaseDeps,
  caseId: string,
  e: AppendEvent,
): Promise<{ event: CaseEvent; status: CaseRecord['status'] }> {
  const now = deps.clock.now()
  // Read before the transaction: a directory reload queries the database (one connection on PGlite).
  const snapshot = await deps.directory.snapshot()
  const result = await deps.cases.transaction((tx) => appendCaseEventInTx(tx, caseId, e, now, snapshot))
  deps.afterCommit?.()
  return result
}

/** The patch fields a group-committed event may set besides its state (`LockedAppendPlan.set`). */
const lockedPatchFields = new Set<string>(['remoteRef', 'dispatchRoute'])

/**
 * The plan of a gateway event on a case outside a family, under its row lock (`CaseStore.appendLocked`):
 * what `applyTo` does, without I/O. Null, for the transactional path, when the case is in a family (its
 * parent is locked first and re-derived) or the event moves the deadline clock (its columns are written there).
 */
function planAlone(
  c: CaseRecord,
  clock: DeadlineClock,
  e: { type: EventType; actor: string; data: Record<string, unknown>; patch: CasePatch },
  now: Date,
  snapshot: DirectorySnapshot,
): LockedAppendPlan | null {
  if (c.parentId !== null || (isParentCase(c) && cascadingEvents.has(e.type as never))) return null
  const state = stateOf(c)
  const next = applyEvent(state, e.type)
  if (!next.ok) throw refusal(next.reason, state, {}, c.id)
  const step = planClock(clock, c, { type: e.type, data: e.data }, next.state, snapshot, now)
  if (step.clock !== null) return null
  return {
    event: { type: e.type, at: now, actor: e.actor, data: e.data },
    set: {
      status: next.state.status,
      suspended: next.state.suspended,
      rated: next.state.rated,
      remoteRef: e.patch.remoteRef !== undefined ? e.patch.remoteRef : c.remoteRef,
      dispatchRoute: e.patch.dispatchRoute !== undefined ? e.patch.dispatchRoute : c.dispatchRoute,
    },
    // In the transactional path's order: the clock's timers, then the event's own row (if it may travel).
    outbox: (event) => [
      ...step.timers,
      ...(travels(e.type)
        ? [{ topic: 'case.event' as const, key: `${c.id}-${event.seq}`, payload: { caseId: c.id, seq: event.seq } }]
        : []),
    ],
  }
}

/**
 * An event the gateway records itself (actor `gateway` unless told otherwise). On a case outside a family,
 * when the deadline clock stays as it is (a delivery's `dispatched`), it is group-committed with the events
 * recorded at the same time (`CaseStore.appendLocked`: two statements for the group instead of about eleven
 * each); otherwise, and for whatever the group leaves, it goes through `appendCaseEvent`.
 * @throws AppError as `appendCaseEvent`.
 */
export async function recordGatewayEvent(
  deps: CaseDeps,
  caseId: string,
  type: EventType,
  data: Record<string, unknown> = {},
  patch: CasePatch = {},
  actor = 'gateway',
): Promise<CaseEvent> {
  const fits = Object.entries(patch).every(([k, v]) => v === undefined || lockedPatchFields.has(k))
  if (fits) {
    const now = deps.clock.now()
    const snapshot = await deps.directory.snapshot()
    const e = { type, actor, data, patch }
    const event = await deps.cases.appendLocked({ caseId, plan: (c, clock) => planAlone(c, clock, e, now, snapshot) })
    if (event !== null) {
      deps.afterCommit?.()
      return event
    }
  }
  return (await appendCaseEvent(deps, caseId, { type, actor, data, patch })).event
}
