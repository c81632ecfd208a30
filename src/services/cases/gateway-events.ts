/**
 * Events the gateway records itself (dispatched, delivery_failed, completed, deadline warnings …):
 * the same status machine and hash chain as the parties' events, with actor `gateway`.
 * The dispatch and deadline workers call this verb.
 */
import { applyEvent, type EventType } from '../../domain/lifecycle.js'
import { AppError } from '../../errors.js'
import type { CaseEvent, CaseRecord } from '../../ports/case-store.js'
import type { CaseDeps } from '../context.js'

export async function recordGatewayEvent(
  deps: CaseDeps,
  caseId: string,
  type: EventType,
  data: Record<string, unknown> = {},
  patch: Partial<Pick<CaseRecord, 'outcome' | 'dueDate' | 'dueAt' | 'remoteRef'>> = {},
  actor = 'gateway',
): Promise<CaseEvent> {
  const now = deps.clock.now()
  const event = await deps.cases.transaction(async (tx) => {
    const current = await tx.lockCase(caseId)
    if (!current) throw new AppError('not_found', `no case ${caseId}`)
    const next = applyEvent(
      { status: current.status, mode: current.mode, suspended: current.suspended, rated: current.rated },
      type,
    )
    if (!next.ok) throw new AppError('invalid_transition', next.reason, { expose: { currentStatus: current.status } })
    await tx.updateCase(
      caseId,
      { status: next.state.status, suspended: next.state.suspended, rated: next.state.rated, ...patch },
      now,
    )
    const e = await tx.appendEvent(caseId, { type, at: now, actor, data })
    await tx.addOutbox('case.event', `${caseId}-${e.seq}`, { caseId, seq: e.seq })
    return e
  })
  deps.afterCommit?.()
  return event
}
