/**
 * Dead letters for admins: list them, and re-drive one. A delivery (`dispatch`) goes back to `submitted`
 * and is queued again; an event (`event`) is queued again for forwarding, the case left as it is.
 */
import { z } from 'zod'
import { AppError } from '../../errors.js'
import type { Caller } from '../../ports/callers.js'
import type { DeadLetter, DeadLetterStore } from '../../ports/dead-letter-store.js'
import { type AuditTrail, auditedBy } from '../audit-trail/trail.js'
import { requireAdmin } from '../authz.js'
import { appendCaseEvent } from '../cases/gateway-events.js'
import { actorOf } from '../cases/view.js'
import type { CaseDeps, Ctx } from '../context.js'

export const DeadLetterView = z
  .object({
    id: z.number().int(),
    caseId: z.string(),
    kind: z.enum(['dispatch', 'event']),
    seq: z.number().int().nullable().meta({ description: 'Kind `event`: the case event that was not forwarded' }),
    region: z.string(),
    adapter: z.string(),
    reason: z.string(),
    attempts: z.number().int(),
    createdAt: z.string(),
    redrivenAt: z.string().nullable(),
    redrivenBy: z.string().nullable(),
  })
  .meta({ id: 'DeadLetter' })

export function toDeadLetterView(d: DeadLetter): z.infer<typeof DeadLetterView> {
  return { ...d, createdAt: d.createdAt.toISOString(), redrivenAt: d.redrivenAt?.toISOString() ?? null }
}

/** What the dead-letter verbs work with: the case verbs' dependencies (a re-drive appends an event) and the store. */
export interface DeadLetterDeps {
  cases: CaseDeps
  deadLetters: DeadLetterStore
  /** The audit trail a re-drive is recorded in. */
  trail?: AuditTrail | undefined
}

export async function listDeadLetters(
  { caller, deps }: Ctx<Pick<DeadLetterDeps, 'deadLetters'>>,
  q: { open: boolean; limit: number; before?: number },
) {
  requireAdmin(caller)
  return deps.deadLetters.list(q)
}

/**
 * Re-drives a dead letter.
 * - `dispatch`: in one transaction the case gets a `redriven` event (back to `submitted`) and a new outbox
 *   row for `case.dispatch` (a new job id, since the failed job keeps its own).
 * - `event`: a new outbox row for `case.event` of that event (job id `<caseId>-<seq>-redrive-<id>`); no case
 *   event is written and the status stays (the case may have moved on: accepted, in review …). The
 *   forwarder's order marks still hold: later events going the same way waited for this one.
 */
export async function redriveDeadLetter(ctx: Ctx<DeadLetterDeps>, id: number) {
  const { caller } = ctx
  const { cases: deps, deadLetters: store, trail } = ctx.deps
  return auditedBy(trail, caller, 'dead_letter.redrive', `dead_letter:${id}`, async () => {
    const before = await store.get(id)
    const after = await redriveUnaudited(caller, deps, store, id)
    return {
      value: after,
      change: {
        case: after.caseId,
        kind: after.kind,
        before: { redrivenAt: before?.redrivenAt ?? null },
        after: { redrivenAt: after.redrivenAt },
      },
    }
  })
}

async function redriveUnaudited(caller: Caller, deps: CaseDeps, store: DeadLetterStore, id: number) {
  requireAdmin(caller)
  const letter = await store.get(id)
  if (!letter) throw new AppError('not_found', `no dead letter ${id}`)
  if (letter.redrivenAt)
    throw new AppError('conflict', `dead letter ${id} was already re-driven at ${letter.redrivenAt.toISOString()}`)
  const now = deps.clock.now()
  if (letter.kind === 'event') {
    if (letter.seq === null) throw new AppError('conflict', `dead letter ${id} does not name the event to forward`)
    const seq = letter.seq
    // Queued before the mark: two admins at once add the same job id, which the queue takes once.
    await deps.cases.transaction((tx) =>
      tx.addOutbox('case.event', `${letter.caseId}-${seq}-redrive-${id}`, { caseId: letter.caseId, seq }),
    )
    deps.afterCommit?.()
  } else {
    await appendCaseEvent(deps, letter.caseId, {
      type: 'redriven',
      actor: actorOf(caller),
      data: { deadLetter: id },
      // A new job id: the failed job keeps its own.
      outbox: [{ topic: 'case.dispatch', key: `${letter.caseId}-redrive-${id}`, payload: { caseId: letter.caseId } }],
    })
  }
  if (!(await store.markRedriven(id, actorOf(caller), now))) {
    throw new AppError('conflict', `dead letter ${id} was re-driven by someone else meanwhile`)
  }
  return (await store.get(id)) as DeadLetter
}
