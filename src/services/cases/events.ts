/**
 * `postEvent`: a status event from one side of the case (PROTOCOL §4). The side is checked first
 * (processing events only from the processing side, origin events only from the origin side), then
 * the status machine under the case's row lock, then the event is appended to the hash chain.
 */
import { type PartyEvent, postingSide } from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import { isAdmin } from '../authz.js'
import type { VerbContext } from '../context.js'
import { ensureMaterialFiles } from '../files/files.js'
import { type AppendEvent, appendCaseEvent } from './gateway-events.js'
import { afterSupplement, checkOutstanding } from './outstanding.js'
import { loadVisibleCase } from './read.js'
import { actorOf, toEventView } from './view.js'

export async function postEvent(ctx: VerbContext, { id, event }: { id: string; event: PartyEvent }) {
  const { caller, deps } = ctx
  const { sides, record, snap } = await loadVisibleCase(ctx, id)
  const side = postingSide(event.type)
  if (isAdmin(caller) || (side === 'origin' && !sides.origin) || (side === 'processing' && !sides.processing)) {
    throw new AppError('forbidden', `${event.type} is posted by the ${side} side of the case, and you are not on it`)
  }
  const data: Record<string, unknown> = { ...event.data }
  // A window operator's events record their window.
  if (caller.kind === 'person' && caller.window) data.window = caller.window
  // 容缺受理: the case keeps the outstanding list until the origin supplies them.
  let patch: AppendEvent['patch']
  if (event.type === 'accepted' && event.data.outstanding && event.data.supplyBy) {
    checkOutstanding(snap, record, event.data.outstanding, event.data.supplyBy, deps.clock.now())
    patch = { outstandingMaterials: event.data.outstanding, supplyBy: event.data.supplyBy }
  }
  if (event.type === 'supplement_provided') {
    // Files submitted with a supplement are required like those at intake (fetched from a peer origin).
    if (deps.files)
      await ensureMaterialFiles(
        { caller, deps: deps.files },
        { originRegion: record.originRegion, materials: event.data.materials },
      )
    const supplied = event.data.materials
    patch = (current) => afterSupplement(current, supplied)
  }
  // The other side learns of it through the queue (case.event, forwarded by the workers).
  const appended = await appendCaseEvent(deps, id, {
    type: event.type,
    actor: actorOf(caller),
    data,
    request: caller.kind === 'client' ? ctx.request : undefined,
    ...(patch ? { patch } : {}),
  })
  return { event: toEventView(appended.event), status: appended.status }
}
