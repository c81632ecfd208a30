/**
 * Forwarding a case's events to the other side (the `case.event` worker's verb).
 *
 * - An origin-side event (materials_shipped, supplement_provided, withdrawn, …) goes to the processing
 *   region's system, once the case was delivered there (it has a `remoteRef`).
 * - A processing-side event (accepted, rejected, supplement_requested, …) goes back to the origin only when
 *   the origin is another gateway: the origin region is bound to a `peer` adapter, and the case's
 *   `externalRef` is the origin gateway's case id. On the origin gateway itself nothing goes anywhere.
 * - The result (`completed`) goes back to such an origin too, as the result JWS itself (PROTOCOL §5).
 * - Deadline notices (`deadline_warning`, `overdue`, `materials_overdue`) go to the processing system unless it
 *   is a peer gateway.
 * - Other gateway events stay local.
 *
 * An event to the processing side goes the way the case went: through the binding recorded at dispatch
 * (`dispatchRoute`), unless the binding in force for the region still leads to the same system (then its
 * current settings apply). Re-binding a region therefore moves only cases dispatched after the change.
 *
 * Per case and direction, events go out in order: an event waits (retryably) until the previous
 * forwardable event in the same direction was delivered. The marks are kept in PostgreSQL
 * (`event_forwards`), beside the events: a Redis that lost its data, or a case whose previous event is
 * months old, does not leave later events waiting for a mark that will never come.
 */
import { isParentCase } from '../../domain/bundle.js'
import { travels } from '../../domain/forwarding.js'
import { type EventType, eventSide } from '../../domain/lifecycle.js'
import { AppError, isAppError } from '../../errors.js'
import type { CaseEvent, CaseRecord } from '../../ports/case-store.js'
import type { EventForwardStore, ForwardDirection } from '../../ports/event-forward-store.js'
import type { AdapterResolver } from '../../ports/region-adapter.js'
import type { ResultStore } from '../../ports/result-store.js'
import type { CaseDeps } from '../context.js'

export interface ForwardDeps {
  cases: CaseDeps
  adapters: AdapterResolver
  results: ResultStore
  /** The forwarded marks (order per case and direction). */
  forwards: EventForwardStore
}

type Direction = ForwardDirection

export type ForwardOutcome =
  | { kind: 'forwarded'; direction: Direction; adapter: string }
  | { kind: 'local'; reason: string }
  | { kind: 'retry'; error: AppError }
  | { kind: 'dead'; reason: string }

/**
 * Where an event of the case goes: to the processing side, back to the origin, or nowhere (null). The
 * sweeper asks it too (services/dispatch/sweep.ts).
 */
export async function directionOf(
  deps: { adapters: AdapterResolver },
  c: CaseRecord,
  type: EventType,
): Promise<Direction | null> {
  // A parent exists on its origin gateway only: its children are what travels.
  if (isParentCase(c)) return null
  const side = eventSide[type]
  if (side === 'origin') return c.processingRegion && c.remoteRef ? 'to_processing' : null
  // (1.1) A result refused here goes back to the peer gateway that relayed it, so that its issuer can correct
  // it; a system posting here directly had the refusal as its answer.
  if (type === 'recognition_failed') {
    if (!c.processingRegion || !c.remoteRef) return null
    return (await deps.adapters.resolve(c.processingRegion))?.kind === 'peer' ? 'to_processing' : null
  }
  // Deadline notices (催办) go to the processing system, the one running late; a peer gateway runs
  // its own deadline clock for the case, so it is not told.
  if (type === 'deadline_warning' || type === 'overdue' || type === 'materials_overdue') {
    if (!c.processingRegion || !c.remoteRef) return null
    const processing = c.dispatchRoute
      ? await deps.adapters.resolveRoute(c.processingRegion, c.dispatchRoute)
      : await deps.adapters.resolve(c.processingRegion)
    return processing?.kind === 'peer' ? null : 'to_processing'
  }
  // The result (recorded with `completed`) goes back like the processing side's events.
  if (side === 'processing' || type === 'completed') {
    if (!c.externalRef) return null
    const origin = await deps.adapters.resolve(c.originRegion)
    return origin?.kind === 'peer' ? 'to_origin' : null
  }
  return null
}

export async function forwardEvent(
  deps: ForwardDeps,
  caseId: string,
  seq: number,
  signal: AbortSignal,
): Promise<ForwardOutcome> {
  const events = await deps.cases.cases.events(caseId)
  const event = events.find((e) => e.seq === seq)
  if (!event) return { kind: 'local', reason: `no event ${seq}` }
  // An event no case sends anywhere (a delivery's own `dispatched`, one per delivery) needs no case read.
  if (!travels(event.type)) return { kind: 'local', reason: `${event.type} stays on this gateway` }
  const c = await deps.cases.cases.get(caseId)
  if (!c) return { kind: 'local', reason: 'no such case' }
  // The direction depends on the case and the event type only: each type is resolved once per call.
  const directions = new Map<EventType, Promise<Direction | null>>()
  const directionFor = (type: EventType) => {
    const known = directions.get(type)
    if (known) return known
    const d = directionOf(deps, c, type)
    directions.set(type, d)
    return d
  }
  const direction = await directionFor(event.type)
  if (!direction) return { kind: 'local', reason: `${event.type} stays on this gateway` }

  // The previous event going the same way must have gone first.
  let previous: CaseEvent | undefined
  for (const e of events) {
    if (e.seq >= seq) break
    if ((await directionFor(e.type)) === direction) previous = e
  }
  if (await deps.forwards.isForwarded(caseId, seq)) return { kind: 'forwarded', direction, adapter: 'already' }
  if (previous && !(await deps.forwards.isForwarded(caseId, previous.seq))) {
    return {
      kind: 'retry',
      error: new AppError('upstream_failed', `waiting for event ${previous.seq} to be forwarded first`, {
        retryable: true,
      }),
    }
  }

  const region = direction === 'to_processing' ? (c.processingRegion as string) : c.originRegion
  const remoteRef = direction === 'to_processing' ? (c.remoteRef as string) : (c.externalRef as string)
  // An event to the processing side follows the route the case was delivered on, not whatever the region
  // is bound to today: a system that never received the case cannot take its withdrawal.
  const target =
    direction === 'to_processing' && c.dispatchRoute
      ? await deps.adapters.resolveRoute(region, c.dispatchRoute)
      : await deps.adapters.resolve(region)
  if (!target) return { kind: 'dead', reason: `no binding covers region ${region}` }
  // What this gateway added for its own records (the window that posted it, the parent case whose
  // bundle-wide event reached this child) is not part of the event the other side accepts (PROTOCOL §4
  // event bodies are strict; a peer refused a bundle's hand-over or withdrawal with 400 otherwise).
  const { window: _window, parent: _parent, ...data } = event.data
  try {
    const ctx = { idempotencyKey: `${caseId}-${seq}`, signal }
    if (event.type === 'completed') {
      const result = await deps.results.get(caseId)
      if (!result)
        return {
          kind: 'retry',
          error: new AppError('upstream_failed', 'the result is not stored yet', { retryable: true }),
        }
      if (!target.adapter.deliverResult)
        return { kind: 'dead', reason: `the ${target.kind} adapter cannot carry results` }
      await target.adapter.deliverResult(remoteRef, result.jws, ctx)
    } else {
      await target.adapter.deliverFollowUp(
        { caseId, remoteRef, seq, type: event.type, at: event.at.toISOString(), data },
        ctx,
      )
    }
  } catch (e) {
    const error = isAppError(e)
      ? e
      : new AppError('upstream_failed', (e as Error).message, { retryable: true, cause: e })
    return error.retryable ? { kind: 'retry', error } : { kind: 'dead', reason: error.message }
  }
  await deps.forwards.markForwarded(caseId, seq, direction, deps.cases.clock.now())
  return { kind: 'forwarded', direction, adapter: target.kind }
}
