/**
 * `postEvent`: a status event from one side of the case (PROTOCOL §4). The side is checked first
 * (processing events only from the processing side, origin events only from the origin side), then
 * the status machine under the case's row lock, then the event is appended to the hash chain.
 */
import { allowedEvents, applyEvent, eventSide, type PartyEvent } from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import type { CaseRecord } from '../../ports/case-store.js'
import { isAdmin } from '../authz.js'
import type { VerbContext } from '../context.js'
import { loadVisibleCase } from './read.js'
import { actorOf, toEventView } from './view.js'

export async function postEvent(ctx: VerbContext, id: string, event: PartyEvent) {
  const { caller, deps } = ctx
  const { sides } = await loadVisibleCase(ctx, id)
  const side = eventSide[event.type]
  if (isAdmin(caller) || (side === 'origin' && !sides.origin) || (side === 'processing' && !sides.processing)) {
    throw new AppError('forbidden', `${event.type} is posted by the ${side} side of the case, and you are not on it`)
  }
  const now = deps.clock.now()
  const appended = await deps.cases.transaction(async (tx) => {
    const current = (await tx.lockCase(id)) as CaseRecord
    const next = applyEvent(
      { status: current.status, mode: current.mode, suspended: current.suspended, rated: current.rated },
      event.type,
    )
    if (!next.ok) {
      throw new AppError('invalid_transition', next.reason, {
        expose: {
          currentStatus: current.status,
          allowedEvents: allowedEvents({
            status: current.status,
            mode: current.mode,
            suspended: current.suspended,
            rated: current.rated,
          }).filter((t) => eventSide[t] !== 'gateway'),
        },
      })
    }
    await tx.updateCase(
      id,
      { status: next.state.status, suspended: next.state.suspended, rated: next.state.rated },
      now,
    )
    const data: Record<string, unknown> = { ...event.data }
    // A window operator's events record their window.
    if (caller.kind === 'person' && caller.window) data.window = caller.window
    const e = await tx.appendEvent(id, { type: event.type, at: now, actor: actorOf(caller), data })
    // The other side learns of it through the queue (delivered by the dispatch workers).
    await tx.addOutbox('case.event', `${id}-${e.seq}`, { caseId: id, seq: e.seq })
    return { e, status: next.state.status }
  })
  deps.afterCommit?.()
  return { event: toEventView(appended.e), status: appended.status }
}
