/** Dead letters for admins: list them, and re-drive one (the case goes back to `submitted` and is queued again). */
import { z } from 'zod'
import { applyEvent } from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import type { Caller } from '../../ports/callers.js'
import type { DeadLetter, DeadLetterStore } from '../../ports/dead-letter-store.js'
import { requireAdmin } from '../authz.js'
import { actorOf } from '../cases/view.js'
import type { CaseDeps } from '../context.js'

export const DeadLetterView = z
  .object({
    id: z.number().int(),
    caseId: z.string(),
    kind: z.enum(['dispatch', 'event']),
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

export async function listDeadLetters(
  caller: Caller,
  store: DeadLetterStore,
  q: { open: boolean; limit: number; before?: number },
) {
  requireAdmin(caller)
  return store.list(q)
}

/**
 * Re-drives a dead letter: in one transaction the case gets a `redriven` event (back to `submitted`) and
 * a new outbox row for `case.dispatch` (a new job id, since the failed job keeps its own).
 */
export async function redriveDeadLetter(caller: Caller, deps: CaseDeps, store: DeadLetterStore, id: number) {
  requireAdmin(caller)
  const letter = await store.get(id)
  if (!letter) throw new AppError('not_found', `no dead letter ${id}`)
  if (letter.redrivenAt)
    throw new AppError('conflict', `dead letter ${id} was already re-driven at ${letter.redrivenAt.toISOString()}`)
  const now = deps.clock.now()
  await deps.cases.transaction(async (tx) => {
    const c = await tx.lockCase(letter.caseId)
    if (!c) throw new AppError('not_found', `no case ${letter.caseId}`)
    const next = applyEvent({ status: c.status, mode: c.mode, suspended: c.suspended, rated: c.rated }, 'redriven')
    if (!next.ok) throw new AppError('invalid_transition', next.reason, { expose: { currentStatus: c.status } })
    await tx.updateCase(c.id, { status: next.state.status }, now)
    const e = await tx.appendEvent(c.id, {
      type: 'redriven',
      at: now,
      actor: actorOf(caller),
      data: { deadLetter: id },
    })
    await tx.addOutbox('case.dispatch', `${c.id}-redrive-${id}`, { caseId: c.id })
    await tx.addOutbox('case.event', `${c.id}-${e.seq}`, { caseId: c.id, seq: e.seq })
  })
  if (!(await store.markRedriven(id, actorOf(caller), now))) {
    throw new AppError('conflict', `dead letter ${id} was re-driven by someone else meanwhile`)
  }
  deps.afterCommit?.()
  return (await store.get(id)) as DeadLetter
}
